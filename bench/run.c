/*
 * run.c - prex-bench-run: times a whole command, for the end-to-end rows
 * of the benchmark table (prex-relay as a process).
 *
 *     prex-bench-run [-n RUNS] [-o OUTFILE] -- COMMAND [ARG...]
 *
 * Runs COMMAND RUNS times (default 5), one after the other, with standard
 * input from /dev/null and standard output to OUTFILE (default /dev/null).
 * Each run's wall-clock time is taken around fork() and waitpid(); the
 * peak resident set size is the largest of the runs, from
 * getrusage(RUSAGE_CHILDREN) (Linux: KiB). Prints one line:
 *
 *     runs=5 min_ns=123456789 max_ns=... max_rss_kib=4321
 *
 * (min_ns is the figure to use: the run least disturbed by other work).
 * Exits 1 when a run fails (non-zero status or a signal), 2 on a usage
 * error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Nanoseconds of the monotonic clock. */
static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Runs argv once with stdout going to outfile.
 *   wall_ns: OUT: the wall-clock time of the run.
 *   rss_kib: OUT: the largest peak resident set size of the children
 *            waited for so far, in KiB.
 * Returns 0 when the command exited with status 0, else -1 (reported on
 * stderr).
 */
static int run_once(char **argv, const char *outfile, uint64_t *wall_ns, long *rss_kib)
{
    struct rusage ru;
    uint64_t t0 = now_ns();
    int status;
    pid_t pid = fork();

    if (pid < 0) {
        fprintf(stderr, "prex-bench-run: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int out = open(outfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);

        if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0) {
            fprintf(stderr, "prex-bench-run: %s: %s\n", outfile, strerror(errno));
            _exit(127);
        }
        close(in);
        close(out);
        execvp(argv[0], argv);
        fprintf(stderr, "prex-bench-run: %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(stderr, "prex-bench-run: waitpid: %s\n", strerror(errno));
            return -1;
        }
    }
    *wall_ns = now_ns() - t0;
    getrusage(RUSAGE_CHILDREN, &ru);
    *rss_kib = ru.ru_maxrss;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        fprintf(stderr, "prex-bench-run: %s exited with status %d\n", argv[0],
                WEXITSTATUS(status));
    else
        fprintf(stderr, "prex-bench-run: %s was killed by signal %d\n", argv[0],
                WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return -1;
}

static int usage(void)
{
    fprintf(stderr, "usage: prex-bench-run [-n RUNS] [-o OUTFILE] -- COMMAND [ARG...]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *outfile = "/dev/null";
    long runs = 5, i, rss, max_rss = 0;
    uint64_t ns, min_ns = UINT64_MAX, max_ns = 0;
    int a;

    for (a = 1; a < argc && strcmp(argv[a], "--") != 0; a++) {
        if (strcmp(argv[a], "-n") == 0 && a + 1 < argc) {
            char *end;

            runs = strtol(argv[++a], &end, 10);
            if (*end != '\0' || runs < 1 || runs > 1000000)
                return usage();
        } else if (strcmp(argv[a], "-o") == 0 && a + 1 < argc) {
            outfile = argv[++a];
        } else {
            return usage();
        }
    }
    if (a + 1 >= argc)
        return usage();
    for (i = 0; i < runs; i++) {
        if (run_once(argv + a + 1, outfile, &ns, &rss) != 0)
            return 1;
        if (ns < min_ns)
            min_ns = ns;
        if (ns > max_ns)
            max_ns = ns;
        if (rss > max_rss)
            max_rss = rss;
    }
    printf("runs=%ld min_ns=%llu max_ns=%llu max_rss_kib=%ld\n", runs,
           (unsigned long long)min_ns, (unsigned long long)max_ns, max_rss);
    return 0;
}
