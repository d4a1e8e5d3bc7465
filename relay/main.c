/*
 * main.c - the prex-relay command line: options, sources, the streaming
 * read-parse loop, diagnostics and logs, and printing the sources back
 * through the writer (all or nothing).
 *
 * What exists so far: validating stdin and files (--check), and printing
 * valid sources back as text 0.0.4 or OpenMetrics when their families do
 * not collide. The contract's other options are recognised, so that their
 * names stay reserved, and refused as not implemented yet.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "prex.h"
#include "write.h"

/* Exit statuses (the CLI contract). */
enum {
    EXIT_VALID = 0,   /* every source valid (and printed) */
    EXIT_INVALID = 1, /* invalid input, or sources that cannot be combined */
    EXIT_USAGE = 2,   /* usage or configuration error */
    EXIT_READ = 3     /* a source could not be read (or stdout not written) */
};

/* Bytes asked of each read(). */
#define READ_CHUNK ((size_t)64 * 1024)

/* The parser's documented default limits, which the options override. */
#define DEFAULT_MAX_LINE ((size_t)1 << 20)
#define DEFAULT_MAX_LABEL_VALUE ((size_t)64 << 10)

#define PROG "prex-relay"

/* MARK: logging */

enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

static const char *const level_names[] = { "debug", "info", "warn", "error" };

static int log_level = LOG_WARN;
static int log_json = 0;

/* Appends v as a logfmt value: bare when it has no blank, quote, '=' or
 * control byte (and is not empty), else quoted with \" \\ \n \r \t and
 * \xHH escapes. */
static void logfmt_value(prex_buf *b, const char *v)
{
    const unsigned char *s = (const unsigned char *)v;
    int bare = *s != '\0';

    for (; *s; s++)
        if (*s <= ' ' || *s == '"' || *s == '=' || *s == 0x7f)
            bare = 0;
    if (bare) {
        prex_buf_puts(b, v);
        return;
    }
    prex_buf_putc(b, '"');
    for (s = (const unsigned char *)v; *s; s++) {
        char esc[8];

        if (*s == '"' || *s == '\\') {
            prex_buf_putc(b, '\\');
            prex_buf_putc(b, (char)*s);
        } else if (*s == '\n') {
            prex_buf_puts(b, "\\n");
        } else if (*s == '\r') {
            prex_buf_puts(b, "\\r");
        } else if (*s == '\t') {
            prex_buf_puts(b, "\\t");
        } else if (*s < 0x20 || *s == 0x7f) {
            snprintf(esc, sizeof esc, "\\x%02X", *s);
            prex_buf_puts(b, esc);
        } else {
            prex_buf_putc(b, (char)*s);
        }
    }
    prex_buf_putc(b, '"');
}

/* Appends v as a JSON string (quotes included). */
static void json_value(prex_buf *b, const char *v)
{
    const unsigned char *s;

    prex_buf_putc(b, '"');
    for (s = (const unsigned char *)v; *s; s++) {
        char esc[8];

        if (*s == '"' || *s == '\\') {
            prex_buf_putc(b, '\\');
            prex_buf_putc(b, (char)*s);
        } else if (*s == '\n') {
            prex_buf_puts(b, "\\n");
        } else if (*s == '\r') {
            prex_buf_puts(b, "\\r");
        } else if (*s == '\t') {
            prex_buf_puts(b, "\\t");
        } else if (*s < 0x20 || *s == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", *s);
            prex_buf_puts(b, esc);
        } else {
            prex_buf_putc(b, (char)*s);
        }
    }
    prex_buf_putc(b, '"');
}

/* Appends one key and value in the selected log format. */
static void log_field(prex_buf *b, const char *key, const char *value, int first)
{
    if (log_json) {
        if (!first)
            prex_buf_putc(b, ',');
        json_value(b, key);
        prex_buf_putc(b, ':');
        json_value(b, value);
    } else {
        if (!first)
            prex_buf_putc(b, ' ');
        prex_buf_puts(b, key);
        prex_buf_putc(b, '=');
        logfmt_value(b, value);
    }
}

/*
 * Writes one operational log line to stderr when level passes
 * --log-level: ts, level and msg, then the key/value pairs given as
 * const char * arguments ending with NULL. logfmt (the default) or JSON.
 */
static void logkv(int level, const char *msg, ...)
{
    prex_buf b;
    va_list ap;
    const char *key;
    char ts[96];
    struct timespec now;
    struct tm tm;

    if (level < log_level)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(now.tv_nsec / 1000000));
    prex_buf_init(&b, NULL);
    if (log_json)
        prex_buf_putc(&b, '{');
    log_field(&b, "ts", ts, 1);
    log_field(&b, "level", level_names[level], 0);
    log_field(&b, "msg", msg, 0);
    va_start(ap, msg);
    while ((key = va_arg(ap, const char *)) != NULL)
        log_field(&b, key, va_arg(ap, const char *), 0);
    va_end(ap);
    if (log_json)
        prex_buf_putc(&b, '}');
    prex_buf_putc(&b, '\n');
    fwrite(b.ptr, 1, b.len, stderr);
    prex_buf_free(&b);
}

/* Decimal text of v in buf (at least 24 bytes); returns buf. */
static const char *u64s(char *buf, uint64_t v)
{
    snprintf(buf, 24, "%" PRIu64, v);
    return buf;
}

/* MARK: options */

struct options {
    int check;
    int in_format;             /* -1: auto, else prex_format */
    int out_format;
    unsigned flags;            /* PREX_LENIENT_*, PREX_LEGACY_NAMES */
    uint64_t max_errors;       /* 0: no limit */
    prex_limits limits;
};

enum {
    O_CHECK, O_INPUT_FORMAT, O_LENIENT, O_OUTPUT_FORMAT, O_MAX_ERRORS,
    O_MAX_LINE, O_MAX_LABELS, O_MAX_LABEL_VALUE, O_LEGACY_NAMES,
    O_LOG_LEVEL, O_LOG_FORMAT, O_VERSION, O_HELP,
    O_LATER /* reserved by the CLI contract, not implemented yet */
};

struct optdef {
    const char *name;
    char short_name;
    int has_arg;
    int id;
};

static const struct optdef optdefs[] = {
    { "check", 'c', 0, O_CHECK },
    { "input-format", 'f', 1, O_INPUT_FORMAT },
    { "lenient", 0, 1, O_LENIENT },
    { "output-format", 'o', 1, O_OUTPUT_FORMAT },
    { "max-errors", 0, 1, O_MAX_ERRORS },
    { "max-line-length", 0, 1, O_MAX_LINE },
    { "max-labels", 0, 1, O_MAX_LABELS },
    { "max-label-value-length", 0, 1, O_MAX_LABEL_VALUE },
    { "legacy-names", 0, 0, O_LEGACY_NAMES },
    { "log-level", 0, 1, O_LOG_LEVEL },
    { "log-format", 0, 1, O_LOG_FORMAT },
    { "version", 0, 0, O_VERSION },
    { "help", 'h', 0, O_HELP },
    { "relabel", 'r', 1, O_LATER },
    { "source-label", 's', 1, O_LATER },
    { "label", 'l', 1, O_LATER },
    { "conflict", 0, 1, O_LATER },
    { "push", 0, 1, O_LATER },
    { "job", 0, 1, O_LATER },
    { "group", 0, 1, O_LATER },
    { "method", 0, 1, O_LATER },
    { "delete", 0, 0, O_LATER },
    { "textfile", 0, 1, O_LATER },
    { "interval", 0, 1, O_LATER },
    { "delete-on-exit", 0, 0, O_LATER },
    { "partial", 0, 0, O_LATER },
    { "timeout", 0, 1, O_LATER },
    { "retries", 0, 1, O_LATER },
    { "gzip", 0, 0, O_LATER },
    { "header", 0, 1, O_LATER },
    { "bearer-token-file", 0, 1, O_LATER },
    { "basic-auth-user", 0, 1, O_LATER },
    { "basic-auth-password-file", 0, 1, O_LATER },
    { "cacert", 0, 1, O_LATER },
    { "cert", 0, 1, O_LATER },
    { "key", 0, 1, O_LATER },
    { "insecure", 0, 0, O_LATER },
};

#define NOPTDEFS (sizeof optdefs / sizeof optdefs[0])

static const char usage_text[] =
    "Usage: " PROG " [OPTION]... [SOURCE]...\n"
    "Validate Prometheus text 0.0.4 / OpenMetrics 1.0 expositions and print\n"
    "them back, normalised, as text 0.0.4 or OpenMetrics.\n"
    "\n"
    "SOURCE is '-' (standard input, the default) or a file; NAME=SOURCE names\n"
    "it (default: the file's base name without extension, or 'stdin').\n"
    "http:// and https:// sources are not supported yet.\n"
    "\n"
    "  -c, --check                   validate only; print diagnostics\n"
    "  -f, --input-format FORMAT     auto (default), text or openmetrics\n"
    "      --lenient LIST            tolerate: trailing-space,crlf,missing-newline,all\n"
    "  -o, --output-format FORMAT    text (default) or openmetrics\n"
    "      --max-errors N            errors reported per source (default 20; 0: all)\n"
    "      --max-line-length BYTES   longest line (default 1M)\n"
    "      --max-labels N            labels per series (default and most 128)\n"
    "      --max-label-value-length BYTES  longest label value (default 64K)\n"
    "      --legacy-names            names must match the legacy character sets\n"
    "      --log-level LEVEL         debug, info, warn (default) or error\n"
    "      --log-format FORMAT       logfmt (default) or json\n"
    "  -h, --help                    show this help and exit\n"
    "      --version                 show the version and exit\n"
    "\n"
    "Reserved, not implemented yet: -r/--relabel, -s/--source-label, -l/--label,\n"
    "--conflict, --push, --job, --group, --method, --delete, --textfile,\n"
    "--interval, --delete-on-exit, --partial, --timeout, --retries, --gzip,\n"
    "--header, --bearer-token-file, --basic-auth-user,\n"
    "--basic-auth-password-file, --cacert, --cert, --key, --insecure.\n"
    "\n"
    "Exit status: 0 valid, 1 invalid input, 2 usage error, 3 a source could\n"
    "not be read (or standard output not written).\n";

/* Prints "prex-relay: MESSAGE" and the --help hint to stderr; returns
 * EXIT_USAGE. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry '" PROG " --help' for more information.\n", stderr);
    return EXIT_USAGE;
}

/* Parses a decimal count into *out (no sign, no suffix). Returns 0 or -1. */
static int parse_count(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* Parses a byte size: decimal digits with an optional K, M or G suffix
 * (powers of 1024, either case). Returns 0 or -1. */
static int parse_size(const char *s, uint64_t *out)
{
    char digits[32];
    size_t n = strlen(s);
    unsigned shift = 0;
    uint64_t v;

    if (n > 0 && strchr("kKmMgG", s[n - 1]) != NULL) {
        char u = s[n - 1];

        shift = (u == 'k' || u == 'K') ? 10 : (u == 'm' || u == 'M') ? 20 : 30;
        n--;
    }
    if (n == 0 || n >= sizeof digits)
        return -1;
    memcpy(digits, s, n);
    digits[n] = '\0';
    if (parse_count(digits, &v) != 0 || v > (UINT64_MAX >> shift))
        return -1;
    *out = v << shift;
    return 0;
}

/* Parses the --lenient list into PREX_LENIENT_* flags. Returns 0 or -1
 * (naming the bad item). */
static int parse_lenient(const char *list, unsigned *flags)
{
    static const struct { const char *name; unsigned flag; } items[] = {
        { "trailing-space", PREX_LENIENT_TRAILING_SPACE },
        { "crlf", PREX_LENIENT_CRLF },
        { "missing-newline", PREX_LENIENT_MISSING_NEWLINE },
        { "all", PREX_LENIENT_ALL },
    };
    const char *p = list;

    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p), i;
        int found = 0;

        for (i = 0; i < sizeof items / sizeof items[0]; i++) {
            if (strlen(items[i].name) == n && memcmp(items[i].name, p, n) == 0) {
                *flags |= items[i].flag;
                found = 1;
            }
        }
        if (!found) {
            usage_error("invalid --lenient item '%.*s' (expected trailing-space, crlf, "
                        "missing-newline or all)", (int)n, p);
            return -1;
        }
        if (!end)
            return 0;
        p = end + 1;
    }
}

/*
 * Applies one option with its value (NULL if it takes none). Returns -1
 * to go on, or an exit status: 0 after --help or --version, EXIT_USAGE on
 * a bad value or an option that is not implemented yet.
 */
static int apply_option(const struct optdef *d, const char *val, struct options *o)
{
    uint64_t v;

    switch (d->id) {
    case O_CHECK:
        o->check = 1;
        break;
    case O_INPUT_FORMAT:
        if (strcmp(val, "auto") == 0)
            o->in_format = -1;
        else if (strcmp(val, "text") == 0)
            o->in_format = PREX_FORMAT_TEXT;
        else if (strcmp(val, "openmetrics") == 0)
            o->in_format = PREX_FORMAT_OPENMETRICS;
        else
            return usage_error("invalid --input-format '%s' (expected auto, text or openmetrics)",
                               val);
        break;
    case O_OUTPUT_FORMAT:
        if (strcmp(val, "text") == 0)
            o->out_format = PREX_FORMAT_TEXT;
        else if (strcmp(val, "openmetrics") == 0)
            o->out_format = PREX_FORMAT_OPENMETRICS;
        else
            return usage_error("invalid --output-format '%s' (expected text or openmetrics)",
                               val);
        break;
    case O_LENIENT:
        if (parse_lenient(val, &o->flags) != 0)
            return EXIT_USAGE;
        break;
    case O_MAX_ERRORS:
        if (parse_count(val, &o->max_errors) != 0)
            return usage_error("invalid --max-errors '%s' (expected a count, 0 for no limit)",
                               val);
        break;
    case O_MAX_LINE:
        if (parse_size(val, &v) != 0 || v == 0 || v > SIZE_MAX / 2)
            return usage_error("invalid --max-line-length '%s' (expected bytes >= 1, "
                               "optionally with K, M or G)", val);
        o->limits.max_line = (size_t)v;
        break;
    case O_MAX_LABELS:
        if (parse_count(val, &v) != 0 || v == 0 || v > PREX_MAX_LABELS)
            return usage_error("invalid --max-labels '%s' (expected 1 to %d)", val,
                               PREX_MAX_LABELS);
        o->limits.max_labels = (size_t)v;
        break;
    case O_MAX_LABEL_VALUE:
        if (parse_size(val, &v) != 0 || v == 0 || v > SIZE_MAX / 2)
            return usage_error("invalid --max-label-value-length '%s' (expected bytes >= 1, "
                               "optionally with K, M or G)", val);
        o->limits.max_label_value = (size_t)v;
        break;
    case O_LEGACY_NAMES:
        o->flags |= PREX_LEGACY_NAMES;
        break;
    case O_LOG_LEVEL: {
        int i, found = -1;

        for (i = 0; i < 4; i++)
            if (strcmp(val, level_names[i]) == 0)
                found = i;
        if (found < 0)
            return usage_error("invalid --log-level '%s' (expected debug, info, warn or error)",
                               val);
        log_level = found;
        break;
    }
    case O_LOG_FORMAT:
        if (strcmp(val, "logfmt") == 0)
            log_json = 0;
        else if (strcmp(val, "json") == 0)
            log_json = 1;
        else
            return usage_error("invalid --log-format '%s' (expected logfmt or json)", val);
        break;
    case O_VERSION:
        printf(PROG " %s\n", PREX_VERSION);
        return EXIT_VALID;
    case O_HELP:
        fputs(usage_text, stdout);
        return EXIT_VALID;
    default:
        fprintf(stderr, PROG ": option --%s is not implemented yet\n", d->name);
        return EXIT_USAGE;
    }
    return -1;
}

/*
 * Parses argv: options (long with "=VALUE" or a separate value, short
 * ones clustered like -cf text, "--" ends the options) into *o, and the
 * remaining arguments into srcs (which must hold argc pointers; *nsrc is
 * set). Returns -1 to go on, or the exit status to end with.
 */
static int parse_args(int argc, char **argv, struct options *o,
                      const char **srcs, size_t *nsrc)
{
    int i, rc, opts_done = 0;

    *nsrc = 0;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct optdef *d = NULL;
        const char *val = NULL;
        size_t k;

        if (opts_done || a[0] != '-' || a[1] == '\0') {
            srcs[(*nsrc)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            opts_done = 1;
            continue;
        }
        if (a[1] == '-') {
            const char *name = a + 2, *eq = strchr(name, '=');
            size_t n = eq ? (size_t)(eq - name) : strlen(name);

            for (k = 0; k < NOPTDEFS; k++)
                if (strlen(optdefs[k].name) == n && memcmp(optdefs[k].name, name, n) == 0)
                    d = &optdefs[k];
            if (!d)
                return usage_error("unknown option --%.*s", (int)n, name);
            if (d->id == O_LATER)
                return apply_option(d, NULL, o);
            if (d->has_arg) {
                if (eq)
                    val = eq + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                else
                    return usage_error("option --%s needs a value", d->name);
            } else if (eq) {
                return usage_error("option --%s takes no value", d->name);
            }
            rc = apply_option(d, val, o);
            if (rc >= 0)
                return rc;
            continue;
        }
        for (a++; *a; a++) {
            d = NULL;
            for (k = 0; k < NOPTDEFS; k++)
                if (optdefs[k].short_name == *a)
                    d = &optdefs[k];
            if (!d)
                return usage_error("unknown option -%c", *a);
            if (d->id == O_LATER)
                return apply_option(d, NULL, o);
            val = NULL;
            if (d->has_arg) {
                if (a[1] != '\0')
                    val = a + 1;
                else if (i + 1 < argc)
                    val = argv[++i];
                else
                    return usage_error("option -%c (--%s) needs a value", *a, d->name);
            }
            rc = apply_option(d, val, o);
            if (rc >= 0)
                return rc;
            if (val)
                break;
        }
    }
    return -1;
}

/* MARK: sources */

struct source {
    const char *arg;   /* the argument as given */
    const char *path;  /* file path, or "-" for stdin */
    char *name;        /* NAME= or derived; owned */
    const char *label; /* what diagnostics print: the path, or "stdin" */
    int is_stdin;
};

/* Nonzero when s starts with http:// or https:// (any case). */
static int is_url(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

/* A copy of path's base name without its extension (the last '.' and
 * what follows, unless the name starts with it). NULL when out of memory. */
static char *base_name(const char *path)
{
    const char *b = strrchr(path, '/'), *dot;
    size_t n;
    char *r;

    b = b ? b + 1 : path;
    dot = strrchr(b, '.');
    n = (dot && dot != b) ? (size_t)(dot - b) : strlen(b);
    if (n == 0) {
        b = path;
        n = strlen(path);
    }
    r = malloc(n + 1);
    if (r) {
        memcpy(r, b, n);
        r[n] = '\0';
    }
    return r;
}

/*
 * Turns the source arguments into sources: NAME=SOURCE when the part
 * before the first '=' is non-empty and has no '/', "-" for stdin, URLs
 * refused (not supported yet). Names must be distinct and stdin may
 * appear once. Returns -1 to go on, or EXIT_USAGE.
 */
static int make_sources(const char **args, size_t nargs, struct source *s)
{
    size_t i, j;
    int stdin_seen = 0;

    for (i = 0; i < nargs; i++) {
        const char *a = args[i], *eq = strchr(a, '=');
        const char *path = a;
        char *name = NULL;

        s[i].arg = a;
        if (eq && eq != a && memchr(a, '/', (size_t)(eq - a)) == NULL) {
            path = eq + 1;
            name = malloc((size_t)(eq - a) + 1);
            if (!name)
                return usage_error("out of memory");
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = '\0';
            if (*path == '\0') {
                free(name);
                return usage_error("source '%s' names nothing after '='", a);
            }
        }
        if (is_url(path)) {
            free(name);
            return usage_error("http(s) URL sources are not supported yet: %s", path);
        }
        s[i].path = path;
        s[i].is_stdin = strcmp(path, "-") == 0;
        if (s[i].is_stdin) {
            if (stdin_seen++) {
                free(name);
                return usage_error("standard input ('-') can be read only once");
            }
            if (!name)
                name = base_name("stdin");
            s[i].label = "stdin";
        } else {
            if (!name)
                name = base_name(path);
            s[i].label = path;
        }
        if (!name)
            return usage_error("out of memory");
        s[i].name = name;
        for (j = 0; j < i; j++)
            if (strcmp(s[j].name, name) == 0)
                return usage_error("two sources are named '%s' (%s and %s); name them with "
                                   "NAME=SOURCE", name, s[j].arg, a);
    }
    return -1;
}

/* MARK: the read-parse loop */

struct run {
    const struct options *opt;
    struct source *src;
    size_t nsrc;
    int status;        /* worst exit status so far */
    int printing;      /* not --check */
    int writing;       /* printing, and nothing has failed yet */
    prex_buf out;      /* the output, written to stdout at the end */
    prex_writer w;
};

static void raise_status(struct run *r, int status)
{
    if (status > r->status)
        r->status = status;
}

/* Prints "LABEL:LINE:COL: error: MESSAGE[: DETAIL]". */
static void diagnostic(const char *label, uint64_t line, uint64_t col, const char *msg,
                       const char *detail)
{
    fprintf(stderr, "%s:%" PRIu64 ":%" PRIu64 ": error: %s%s%s\n", label, line, col, msg,
            detail && *detail ? ": " : "", detail ? detail : "");
}

/* Prints a parser error of source s as a diagnostic. */
static void report_parse_error(const struct source *s, const prex_error *e)
{
    diagnostic(s->label, e->line, e->column, prex_strerror(e->code), e->detail);
}

/*
 * Reports a writer error for source index idx and stops writing. A
 * family that an earlier source already wrote names both sources: until
 * merging exists, such sources cannot be printed together.
 */
static void report_write_error(struct run *r, size_t idx)
{
    const prex_write_error *e = prex_writer_error(&r->w);
    const struct source *s = &r->src[idx];
    char detail[512];

    if (e->code == PREX_E_NAME_CLASH && e->prev_source != e->source &&
        e->prev_source < r->nsrc) {
        const struct source *p = &r->src[e->prev_source];

        snprintf(detail, sizeof detail,
                 "family \"%s\" is in source '%s' (%s:%" PRIu64 ") and in source '%s'; "
                 "merging sources is not implemented yet",
                 e->name, p->name, p->label, e->prev_line, s->name);
        diagnostic(s->label, e->line, 1, prex_strerror(e->code), detail);
    } else if (e->code == PREX_E_NO_MEMORY) {
        fprintf(stderr, PROG ": error: out of memory while writing the output\n");
    } else {
        diagnostic(s->label, e->line, 1, prex_strerror(e->code), e->detail);
    }
    r->writing = 0;
    raise_status(r, EXIT_INVALID);
}

/* Guesses the format of the regular file fd from its last 7 bytes (the
 * most "\n# EOF\n" needs), read with pread() so that nothing else is
 * read twice. start is the current offset. Returns the format, or -1 on a
 * read error. */
static int detect_from_tail(int fd, off_t start, off_t size)
{
    char tail[8];
    off_t from = size - 7 > start ? size - 7 : start;
    ssize_t n;

    if (size <= start)
        return PREX_FORMAT_TEXT;
    do {
        n = pread(fd, tail, (size_t)(size - from), from);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    tail[n] = '\0';
    return (int)prex_detect_format(tail, (size_t)n);
}

static const char *format_name(int fmt)
{
    return fmt == PREX_FORMAT_OPENMETRICS ? "openmetrics" : "text";
}

/*
 * Validates source idx, streaming: read() 64 KiB at a time into a
 * prex_buf, prex_next() until PREX_NEED_MORE, consume the parsed lines,
 * refill; prex_finish() at end of file. Memory stays O(longest line)
 * except for --input-format auto on a pipe, which must see the last line
 * first (the whole input is then read before parsing). Every error up to
 * --max-errors is reported (prex_parser_recover(), which also skips a
 * line over the length limit as it arrives). In print
 * mode the events also go to the writer until anything fails.
 */
static void run_source(struct run *r, size_t idx)
{
    struct source *s = &r->src[idx];
    const struct options *o = r->opt;
    prex_buf b;
    prex_parser p;
    prex_event ev;
    int fd, fmt, eof = 0, recovering = 0;
    uint64_t nerr = 0, nsamples = 0, bytes = 0;
    struct stat st;
    const char *how = "given";
    char n1[24], n2[24], n3[24];

    if (s->is_stdin) {
        fd = STDIN_FILENO;
    } else {
        do {
            fd = open(s->path, O_RDONLY | O_CLOEXEC);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0) {
            fprintf(stderr, "%s: error: cannot open: %s\n", s->label, strerror(errno));
            raise_status(r, EXIT_READ);
            return;
        }
    }
    prex_buf_init(&b, NULL);

    fmt = o->in_format;
    if (fmt < 0) {
        off_t start;

        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
            (start = lseek(fd, 0, SEEK_CUR)) >= 0) {
            fmt = detect_from_tail(fd, start, st.st_size);
            how = "detected from the last line";
        }
        if (fmt < 0) {
            ssize_t n;

            how = "detected after reading the whole input";
            logkv(LOG_DEBUG, "reading the whole input to detect its format", "source",
                  s->name, NULL);
            while ((n = prex_buf_read(&b, fd, READ_CHUNK)) > 0)
                bytes += (uint64_t)n;
            if (n < 0) {
                fprintf(stderr, "%s: error: cannot read: %s\n", s->label, strerror(errno));
                raise_status(r, EXIT_READ);
                goto out;
            }
            eof = 1;
            fmt = (int)prex_detect_format(b.ptr, b.len);
        }
    }
    logkv(LOG_DEBUG, "reading source", "source", s->name, "path", s->label, "format",
          format_name(fmt), "format_choice", how, NULL);

    prex_parser_init(&p, b.ptr, b.len, (prex_format)fmt, o->flags);
    prex_parser_set_limits(&p, &o->limits);
    if (eof)
        prex_finish(&p);
    if (r->writing)
        prex_writer_set_source(&r->w, (unsigned)idx);

    for (;;) {
        int rc;
        ssize_t n;

        if (recovering) {
            rc = prex_parser_recover(&p);
            if (rc == PREX_ERROR)
                break;
            if (rc == 0) {
                recovering = 0;
                continue;
            }
        } else {
            rc = prex_next(&p, &ev);
            if (rc == PREX_ERROR) {
                const prex_error *e = prex_parser_error(&p);

                report_parse_error(s, e);
                nerr++;
                r->writing = 0;
                if (o->max_errors && nerr >= o->max_errors) {
                    logkv(LOG_WARN, "too many errors; stopped checking the source", "source",
                          s->name, "max_errors", u64s(n1, o->max_errors), NULL);
                    break;
                }
                recovering = 1;
                continue;
            }
            if (rc > 0) {
                if (rc == PREX_EV_SAMPLE)
                    nsamples++;
                if (r->writing && prex_write_event(&r->w, &ev, (prex_format)fmt) != 0)
                    report_write_error(r, idx);
                if (rc == PREX_EV_EOF)
                    break;
                continue;
            }
        }
        /* PREX_NEED_MORE: keep the unparsed tail, read the next chunk */
        if (eof) {
            fprintf(stderr, "%s: error: internal: parser wants more input after the end\n",
                    s->label);
            nerr++;
            break;
        }
        prex_buf_consume(&b, prex_parser_consumed(&p));
        n = prex_buf_read(&b, fd, READ_CHUNK);
        if (n < 0) {
            fprintf(stderr, "%s: error: cannot read: %s\n", s->label, strerror(errno));
            raise_status(r, EXIT_READ);
            r->writing = 0;
            prex_parser_free(&p);
            goto out;
        }
        bytes += (uint64_t)n;
        if (n == 0)
            eof = 1;
        prex_parser_refill(&p, b.ptr, b.len);
        if (eof)
            prex_finish(&p);
    }
    prex_parser_free(&p);

    if (nerr > 0)
        raise_status(r, EXIT_INVALID);
    logkv(LOG_INFO, nerr ? "source invalid" : "source valid", "source",
          s->name, "path", s->label, "format", format_name(fmt), "bytes", u64s(n1, bytes),
          "samples", u64s(n2, nsamples), "errors", u64s(n3, nerr), NULL);
out:
    prex_buf_free(&b);
    if (!s->is_stdin)
        close(fd);
}

/* MARK: output */

/*
 * Parses the finished output again, in the output format, before any of
 * it is written: a conversion the target format cannot express (for
 * example text histograms whose series interleave, which OpenMetrics
 * forbids) is reported here as "output:LINE:COL: error: ..." instead of
 * being printed. Returns 0 when the output is valid.
 */
static int verify_output(const struct run *r)
{
    prex_parser p;
    prex_event ev;
    prex_limits lim;
    int rc;

    memset(&lim, 0, sizeof lim);
    lim.max_labels = PREX_MAX_LABELS;
    prex_parser_init(&p, r->out.ptr, r->out.len, (prex_format)r->opt->out_format,
                     r->opt->flags & PREX_LEGACY_NAMES);
    prex_parser_set_limits(&p, &lim);
    prex_finish(&p);
    while ((rc = prex_next(&p, &ev)) > 0 && rc != PREX_EV_EOF)
        ;
    if (rc == PREX_ERROR) {
        diagnostic("output", prex_parser_error(&p)->line, prex_parser_error(&p)->column,
                   prex_strerror(prex_parser_error(&p)->code), prex_parser_error(&p)->detail);
        fprintf(stderr, PROG ": error: the sources cannot be written as valid %s; "
                        "nothing was written\n", format_name(r->opt->out_format));
    }
    prex_parser_free(&p);
    return rc == PREX_ERROR ? -1 : 0;
}

/* Writes all of buf to fd. Returns 0 or -1 (errno set). */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Logs what the conversion left out on purpose. */
static void log_write_stats(const prex_write_stats *st)
{
    char a[24], b[24], c[24], d[24], e[24], f[24], g[24];

    logkv(LOG_INFO, "output written", "families", u64s(a, st->families), "samples",
          u64s(b, st->samples), "dropped_exemplars", u64s(c, st->dropped_exemplars),
          "dropped_created", u64s(d, st->dropped_created), "dropped_units",
          u64s(e, st->dropped_units), "dropped_comments", u64s(f, st->dropped_comments),
          "stripped_timestamps", u64s(g, st->stripped_timestamps), NULL);
    if (st->untyped_counters)
        logkv(LOG_WARN, "counters written as unknown OpenMetrics families: their name "
                        "without _total belongs to another family", "count",
              u64s(a, st->untyped_counters), NULL);
    if (st->dropped_help)
        logkv(LOG_WARN, "HELP lines after their family's samples cannot be written in "
                        "OpenMetrics; dropped", "count", u64s(a, st->dropped_help), NULL);
}

/* MARK: main */

int main(int argc, char **argv)
{
    struct options opt;
    struct run r;
    const char **args;
    struct source *srcs;
    size_t nargs, i;
    int rc;

    memset(&opt, 0, sizeof opt);
    opt.in_format = -1;
    opt.out_format = PREX_FORMAT_TEXT;
    opt.max_errors = 20;
    opt.limits.max_line = DEFAULT_MAX_LINE;
    opt.limits.max_labels = PREX_MAX_LABELS;
    opt.limits.max_label_value = DEFAULT_MAX_LABEL_VALUE;

    args = calloc((size_t)argc + 1, sizeof *args);
    srcs = calloc((size_t)argc + 1, sizeof *srcs);
    if (!args || !srcs) {
        fprintf(stderr, PROG ": error: out of memory\n");
        return EXIT_USAGE;
    }
    rc = parse_args(argc, argv, &opt, args, &nargs);
    if (rc < 0) {
        if (nargs == 0)
            args[nargs++] = "-";
        rc = make_sources(args, nargs, srcs);
    }
    if (rc >= 0) {
        for (i = 0; i < nargs; i++)
            free(srcs[i].name);
        free(srcs);
        free(args);
        return rc;
    }

    memset(&r, 0, sizeof r);
    r.opt = &opt;
    r.src = srcs;
    r.nsrc = nargs;
    r.printing = !opt.check;
    r.writing = r.printing;
    prex_buf_init(&r.out, NULL);
    prex_writer_init(&r.w, &r.out, (prex_format)opt.out_format, 0);

    for (i = 0; i < nargs; i++)
        run_source(&r, i);

    if (r.printing && r.writing && r.status == EXIT_VALID) {
        if (prex_writer_finish(&r.w) != 0) {
            report_write_error(&r, nargs - 1);
        } else if (verify_output(&r) != 0) {
            raise_status(&r, EXIT_INVALID);
        } else {
            log_write_stats(&r.w.stats);
            if (write_all(STDOUT_FILENO, r.out.ptr, r.out.len) != 0) {
                fprintf(stderr, PROG ": error: cannot write to standard output: %s\n",
                        strerror(errno));
                raise_status(&r, EXIT_READ);
            }
        }
    }
    if (r.printing && r.status != EXIT_VALID)
        logkv(LOG_INFO, "nothing written: not every source is valid", NULL);

    prex_writer_free(&r.w);
    prex_buf_free(&r.out);
    for (i = 0; i < nargs; i++)
        free(srcs[i].name);
    free(srcs);
    free(args);
    return r.status;
}
