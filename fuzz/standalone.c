/*
 * standalone.c - a main() for the fuzz targets without libFuzzer: feeds
 * every file named on the command line (directories are read one level
 * deep) to LLVMFuzzerTestOneInput(), so stored corpora replay as
 * regression tests in the gcc sanitizer build.
 *
 * Usage: replay_<target> FILE|DIR...
 * Prints "Running: <path>" on stderr before each input, one line per
 * directory and a total on stdout; exits 1 when a file cannot be read. A
 * failing check inside the target aborts the process.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzzlib.h"

/*
 * Reads the whole file at path into an exact-size heap buffer (so that
 * AddressSanitizer sees a read past its end), runs the target on it and
 * frees it. Returns 0, or -1 if the file cannot be read.
 */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    uint8_t *data;
    size_t n;

    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        fclose(f);
        return -1;
    }
    n = (size_t)st.st_size;
    data = malloc(n ? n : 1);
    if (!data || fread(data, 1, n, f) != n) {
        fprintf(stderr, "%s: read failed\n", path);
        free(data);
        fclose(f);
        return -1;
    }
    fclose(f);
    /* named first, so that the last line before a crash names the input */
    fprintf(stderr, "Running: %s\n", path);
    LLVMFuzzerTestOneInput(data, n);
    free(data);
    return 0;
}

/* Runs every regular file directly inside dir. Adds the count to *runs.
 * Returns 0, or -1 when the directory or one of its files cannot be read. */
static int run_dir(const char *dir, size_t *runs)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t count = 0;
    int rc = 0;

    if (!d) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        size_t dl = strlen(dir), nl = strlen(de->d_name);
        struct stat st;
        char *path;

        if (de->d_name[0] == '.')
            continue;
        path = malloc(dl + nl + 2);
        if (!path) {
            rc = -1;
            break;
        }
        memcpy(path, dir, dl);
        path[dl] = '/';
        memcpy(path + dl + 1, de->d_name, nl + 1);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (run_file(path) != 0)
                rc = -1;
            else
                count++;
        }
        free(path);
    }
    closedir(d);
    printf("%s: %zu inputs\n", dir, count);
    *runs += count;
    return rc;
}

int main(int argc, char **argv)
{
    size_t runs = 0;
    int i, rc = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
            rc = 1;
        } else if (S_ISDIR(st.st_mode)) {
            if (run_dir(argv[i], &runs) != 0)
                rc = 1;
        } else if (run_file(argv[i]) != 0) {
            rc = 1;
        } else {
            runs++;
        }
    }
    printf("%zu inputs replayed\n", runs);
    return rc;
}
