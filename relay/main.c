/*
 * main.c - the prex-relay command line: options, sources (stdin, files,
 * HTTP scrapes), the read-parse loop that validates each source as it
 * arrives, diagnostics and logs, building one body from every source, and
 * handing it to the sinks (stdout, the Pushgateway, a textfile), once or
 * every --interval in agent mode.
 *
 * A run is all or nothing: every source is read completely and validated
 * before anything is written or pushed, so an invalid source, or sources
 * that cannot be combined, leave the previous output (the group on the
 * Pushgateway, the textfile) as it was.
 *
 * Data flow of a run: each source is read into its own buffer and parsed
 * as its chunks arrive (validation, line by line); once every source is
 * in, each kept buffer is parsed again and its events go, through the
 * relabel rules (-r), into the merge table, which keeps pointers into the
 * buffers (zero copy) until the body is written; the relay's own families
 * join as one more source; the table resolves the families and renders
 * one body per sink, checked by parsing it as it is rendered: the push's
 * or stdout's into memory and sent from there (rendered again instead
 * when it would take more than twice the input: struct held), the
 * textfile's in pieces written to its temporary file as they are checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "arena.h"
#include "buf.h"
#include "http.h"
#include "merge.h"
#include "prex.h"
#include "push.h"
#include "relabel.h"
#include "selfmetrics.h"
#include "textfile.h"
#include "write.h"

/* Exit statuses (the CLI contract). */
enum {
    EXIT_VALID = 0,   /* every source valid (and the output delivered) */
    EXIT_INVALID = 1, /* invalid input, or sources that cannot be combined */
    EXIT_USAGE = 2,   /* usage or configuration error */
    EXIT_READ = 3,    /* a source could not be read (or stdout not written) */
    EXIT_PUSH = 4     /* the push (or the textfile write) failed */
};

/* Bytes asked of each read(). */
#define READ_CHUNK ((size_t)64 * 1024)

/* The parser's documented default limits, which the options override. */
#define DEFAULT_MAX_LINE ((size_t)1 << 20)
#define DEFAULT_MAX_LABEL_VALUE ((size_t)64 << 10)

/* Defaults of the HTTP options. */
#define DEFAULT_TIMEOUT_MS 10000LL
#define DEFAULT_RETRIES 3u

#define PROG "prex-relay"

/* Set by the SIGINT/SIGTERM handler in agent mode. */
static volatile sig_atomic_t stop_requested = 0;
static volatile sig_atomic_t stop_signal = 0;

/* MARK: logging */

enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

static const char *const level_names[] = { "debug", "info", "warn", "error" };

static int log_level = LOG_WARN;
static int log_json = 0;

/*
 * Appends v quoted, with \" \\ \n \r \t escaped and any other control
 * byte as \xHH (logfmt) or \u00hh (JSON).
 */
static void quoted_value(prex_buf *b, const char *v, int json)
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
            snprintf(esc, sizeof esc, json ? "\\u%04x" : "\\x%02X", *s);
            prex_buf_puts(b, esc);
        } else {
            prex_buf_putc(b, (char)*s);
        }
    }
    prex_buf_putc(b, '"');
}

/* Appends v as a logfmt value: bare when it has no blank, quote, '=' or
 * control byte (and is not empty), else quoted. */
static void logfmt_value(prex_buf *b, const char *v)
{
    const unsigned char *s = (const unsigned char *)v;
    int bare = *s != '\0';

    for (; *s; s++)
        if (*s <= ' ' || *s == '"' || *s == '=' || *s == 0x7f)
            bare = 0;
    if (bare)
        prex_buf_puts(b, v);
    else
        quoted_value(b, v, 0);
}

/* Appends v as a JSON string (quotes included). */
static void json_value(prex_buf *b, const char *v)
{
    quoted_value(b, v, 1);
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

    /* sinks */
    const char *push_url;      /* --push */
    const char *job;
    prex_group_label *groups;  /* --group, argc slots */
    size_t ngroups;
    prex_push_method method;
    int method_set;
    int delete_group;          /* --delete */
    int gzip;
    unsigned retries;
    int retries_set;
    const char *textfile;
    long long interval_ms;     /* 0: one run */
    int delete_on_exit;
    int partial;

    /* relabeling and merging */
    const char *relabel_file;  /* -r */
    const char *source_label;  /* -s */
    const char **labels;       /* -l NAME=VALUE, argc slots */
    size_t nlabels;
    int conflict_first;        /* --conflict first */
    int escaping;              /* --name-escaping: PREX_ESCAPE_*, or -1 for
                                * allow-utf-8 */

    /* HTTP */
    long long timeout_ms;
    const char **headers;      /* --header, argc slots */
    size_t nheaders;
    const char *bearer_file;
    const char *basic_user;
    const char *basic_password_file;
    const char *cacert;
    const char *cert;
    const char *key;
    int insecure;
};

enum {
    O_CHECK, O_INPUT_FORMAT, O_LENIENT, O_OUTPUT_FORMAT, O_MAX_ERRORS,
    O_MAX_LINE, O_MAX_LABELS, O_MAX_LABEL_VALUE, O_MAX_SOURCE, O_LEGACY_NAMES,
    O_LOG_LEVEL, O_LOG_FORMAT, O_VERSION, O_HELP,
    O_PUSH, O_JOB, O_GROUP, O_METHOD, O_DELETE, O_GZIP, O_RETRIES, O_TEXTFILE,
    O_INTERVAL, O_DELETE_ON_EXIT, O_PARTIAL, O_TIMEOUT, O_HEADER, O_BEARER_FILE,
    O_BASIC_USER, O_BASIC_PASSWORD_FILE, O_CACERT, O_CERT, O_KEY, O_INSECURE,
    O_RELABEL, O_SOURCE_LABEL, O_LABEL, O_CONFLICT, O_NAME_ESCAPING
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
    { "max-source-size", 0, 1, O_MAX_SOURCE },
    { "max-label-value-length", 0, 1, O_MAX_LABEL_VALUE },
    { "legacy-names", 0, 0, O_LEGACY_NAMES },
    { "log-level", 0, 1, O_LOG_LEVEL },
    { "log-format", 0, 1, O_LOG_FORMAT },
    { "version", 0, 0, O_VERSION },
    { "help", 'h', 0, O_HELP },
    { "push", 0, 1, O_PUSH },
    { "job", 0, 1, O_JOB },
    { "group", 0, 1, O_GROUP },
    { "method", 0, 1, O_METHOD },
    { "delete", 0, 0, O_DELETE },
    { "gzip", 0, 0, O_GZIP },
    { "retries", 0, 1, O_RETRIES },
    { "textfile", 0, 1, O_TEXTFILE },
    { "interval", 0, 1, O_INTERVAL },
    { "delete-on-exit", 0, 0, O_DELETE_ON_EXIT },
    { "partial", 0, 0, O_PARTIAL },
    { "timeout", 0, 1, O_TIMEOUT },
    { "header", 0, 1, O_HEADER },
    { "bearer-token-file", 0, 1, O_BEARER_FILE },
    { "basic-auth-user", 0, 1, O_BASIC_USER },
    { "basic-auth-password-file", 0, 1, O_BASIC_PASSWORD_FILE },
    { "cacert", 0, 1, O_CACERT },
    { "cert", 0, 1, O_CERT },
    { "key", 0, 1, O_KEY },
    { "insecure", 0, 0, O_INSECURE },
    { "relabel", 'r', 1, O_RELABEL },
    { "source-label", 's', 1, O_SOURCE_LABEL },
    { "label", 'l', 1, O_LABEL },
    { "conflict", 0, 1, O_CONFLICT },
    { "name-escaping", 0, 1, O_NAME_ESCAPING },
};

#define NOPTDEFS (sizeof optdefs / sizeof optdefs[0])

static const char usage_text[] =
    "Usage: " PROG " [OPTION]... [SOURCE]...\n"
    "Read Prometheus text 0.0.4 / OpenMetrics 1.0 expositions from files,\n"
    "standard input and HTTP scrapes, validate them, and print them, write\n"
    "them to a textfile, or push them to a Pushgateway in one request.\n"
    "\n"
    "SOURCE is '-' (standard input, the default), a file, or an http:// or\n"
    "https:// URL to scrape; NAME=SOURCE names it (default: the file's base\n"
    "name without extension, the URL's host:port, or 'stdin').\n"
    "\n"
    "Input and output:\n"
    "  -c, --check                   validate only; print diagnostics\n"
    "  -f, --input-format FORMAT     auto (default), text or openmetrics\n"
    "      --lenient LIST            tolerate: trailing-space,crlf,missing-newline,all\n"
    "  -o, --output-format FORMAT    text (default) or openmetrics (stdout, textfile)\n"
    "      --max-errors N            errors reported per source (default 20; 0: all)\n"
    "      --max-line-length BYTES   longest line (default 1M)\n"
    "      --max-labels N            labels per series (default and most 128)\n"
    "      --max-label-value-length BYTES  longest label value (default 64K)\n"
    "      --max-source-size BYTES   largest source; reading stops there and the\n"
    "                                source is invalid (default 0: no limit)\n"
    "      --legacy-names            names must match the legacy character sets\n"
    "\n"
    "Relabeling and merging:\n"
    "  -r, --relabel FILE            relabel_config rules (YAML list, or a mapping\n"
    "                                with metric_relabel_configs:) for every series\n"
    "  -s, --source-label NAME       add NAME=\"<source name>\" to every series\n"
    "  -l, --label NAME=VALUE        add a constant label (repeatable)\n"
    "      --conflict error|first    a type conflict or a duplicate series across\n"
    "                                sources fails (default), or keeps the first\n"
    "      --name-escaping SCHEME    names that are not legacy names, on their way\n"
    "                                to a push or a textfile: underscores (default),\n"
    "                                values (U__ encoding), drop (their series),\n"
    "                                allow-utf-8 (sent quoted, for receivers that\n"
    "                                take UTF-8 names)\n"
    "\n"
    ;

/* The second half of --help (C11 guarantees string literals of 4095
 * bytes only). */
static const char usage_text2[] =
    "Sinks (default: standard output):\n"
    "      --push URL                push to the Pushgateway at URL (text 0.0.4)\n"
    "      --job NAME                the group's job (required with --push)\n"
    "      --group NAME=VALUE        another grouping label (repeatable)\n"
    "      --method put|post         PUT replaces the group (default); POST\n"
    "                                replaces the families the body names\n"
    "      --delete                  delete the group instead; reads no source\n"
    "      --gzip                    send the push body gzip-compressed\n"
    "      --retries N               retries after a connection error or a 5xx\n"
    "                                (default 3, at most 10)\n"
    "      --textfile PATH           write PATH atomically (node_exporter textfile)\n"
    "      --partial                 push the readable sources when some cannot be read\n"
    "\n"
    "Agent mode:\n"
    "      --interval DURATION       run every DURATION (15s, 1m, 1m30s) until\n"
    "                                SIGINT or SIGTERM\n"
    "      --delete-on-exit          then delete the group\n"
    "\n"
    "HTTP (scrapes and pushes):\n"
    "      --timeout DURATION        per scrape, and for a whole push with its\n"
    "                                retries (default 10s)\n"
    "      --header 'NAME: VALUE'    extra request header (repeatable)\n"
    "      --bearer-token-file FILE  send 'Authorization: Bearer <token>'\n"
    "      --basic-auth-user USER    basic authentication, with\n"
    "      --basic-auth-password-file FILE\n"
    "      --cacert FILE             CA certificates (PEM) to verify servers with\n"
    "      --cert FILE, --key FILE   client certificate and key (PEM)\n"
    "      --insecure                do not verify server certificates\n"
    "\n"
    "Logs and information:\n"
    "      --log-level LEVEL         debug, info, warn (default) or error\n"
    "      --log-format FORMAT       logfmt (default) or json\n"
    "  -h, --help                    show this help and exit\n"
    "      --version                 show the version and exit\n"
    "\n"
    "Exit status: 0 ok, 1 invalid input or sources that cannot be combined,\n"
    "2 usage or configuration error, 3 a source could not be read (or standard\n"
    "output not written), 4 the push or the textfile write failed.\n";

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

/*
 * Parses a Go-style duration: one or more decimal numbers (with an
 * optional fraction), each followed by a unit, ns, us, µs, ms, s, m or h:
 * "15s", "1m30s", "1.5h", "250ms". "0" alone is zero. The result is in
 * milliseconds, rounded down. Returns 0, or -1 when malformed or larger
 * than about 290 years.
 */
static int parse_duration(const char *s, long long *ms)
{
    static const struct { const char *unit; double ms; } units[] = {
        { "ns", 1e-6 }, { "us", 1e-3 }, { "\xc2\xb5s", 1e-3 }, { "\xce\xbcs", 1e-3 },
        { "ms", 1 }, { "s", 1e3 }, { "m", 60e3 }, { "h", 3600e3 },
    };
    double total = 0;

    if (strcmp(s, "0") == 0) {
        *ms = 0;
        return 0;
    }
    if (*s == '\0')
        return -1;
    while (*s) {
        double v = 0, scale = 1;
        int digits = 0;
        size_t i, best = 0, bestlen = 0;

        for (; *s >= '0' && *s <= '9'; s++, digits++)
            v = v * 10 + (*s - '0');
        if (*s == '.') {
            for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
                scale /= 10;
                v += (*s - '0') * scale;
            }
        }
        if (digits == 0)
            return -1;
        for (i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t n = strlen(units[i].unit);

            if (strncmp(s, units[i].unit, n) == 0 && n > bestlen) {
                best = i;
                bestlen = n;
            }
        }
        if (bestlen == 0)
            return -1;
        total += v * units[best].ms;
        s += bestlen;
    }
    if (total > 9.2e15)
        return -1;
    *ms = (long long)total;
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
    case O_MAX_SOURCE:
        if (parse_size(val, &v) != 0)
            return usage_error("invalid --max-source-size '%s' (expected bytes, optionally "
                               "with K, M or G; 0 for no limit)", val);
        o->limits.max_bytes = v;
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
        fputs(usage_text2, stdout);
        return EXIT_VALID;
    case O_PUSH:
        o->push_url = val;
        break;
    case O_JOB:
        o->job = val;
        break;
    case O_GROUP: {
        const char *eq = strchr(val, '=');
        char *name;

        if (!eq || eq == val)
            return usage_error("invalid --group '%s' (expected NAME=VALUE)", val);
        name = malloc((size_t)(eq - val) + 1);
        if (!name)
            return usage_error("out of memory");
        memcpy(name, val, (size_t)(eq - val));
        name[eq - val] = '\0';
        o->groups[o->ngroups].name = name;
        o->groups[o->ngroups].value = eq + 1;
        o->ngroups++;
        break;
    }
    case O_METHOD:
        if (strcasecmp(val, "put") == 0)
            o->method = PREX_PUSH_PUT;
        else if (strcasecmp(val, "post") == 0)
            o->method = PREX_PUSH_POST;
        else
            return usage_error("invalid --method '%s' (expected put or post)", val);
        o->method_set = 1;
        break;
    case O_DELETE:
        o->delete_group = 1;
        break;
    case O_GZIP:
        o->gzip = 1;
        break;
    case O_RETRIES:
        if (parse_count(val, &v) != 0 || v > PREX_PUSH_MAX_RETRIES)
            return usage_error("invalid --retries '%s' (expected 0 to %d)", val,
                               PREX_PUSH_MAX_RETRIES);
        o->retries = (unsigned)v;
        o->retries_set = 1;
        break;
    case O_TEXTFILE:
        if (*val == '\0')
            return usage_error("--textfile needs a file name");
        o->textfile = val;
        break;
    case O_INTERVAL:
        if (parse_duration(val, &o->interval_ms) != 0 || o->interval_ms < 1)
            return usage_error("invalid --interval '%s' (expected a duration such as 15s, "
                               "1m or 1m30s, at least 1ms)", val);
        break;
    case O_DELETE_ON_EXIT:
        o->delete_on_exit = 1;
        break;
    case O_PARTIAL:
        o->partial = 1;
        break;
    case O_TIMEOUT:
        if (parse_duration(val, &o->timeout_ms) != 0 || o->timeout_ms < 1 ||
            o->timeout_ms > 24LL * 3600 * 1000)
            return usage_error("invalid --timeout '%s' (expected a duration such as 10s or "
                               "500ms, from 1ms to 24h)", val);
        break;
    case O_HEADER: {
        const char *colon = strchr(val, ':');
        const char *p;

        if (!colon || colon == val)
            return usage_error("invalid --header '%s' (expected 'NAME: VALUE')", val);
        for (p = val; p < colon; p++)
            if (*p <= ' ' || *p == 0x7f)
                return usage_error("invalid --header '%s': blank or control byte in the "
                                   "name", val);
        for (p = colon; *p; p++)
            if (*p == '\r' || *p == '\n')
                return usage_error("invalid --header: line break in the value");
        o->headers[o->nheaders++] = val;
        break;
    }
    case O_BEARER_FILE:
        o->bearer_file = val;
        break;
    case O_BASIC_USER:
        o->basic_user = val;
        break;
    case O_BASIC_PASSWORD_FILE:
        o->basic_password_file = val;
        break;
    case O_CACERT:
        o->cacert = val;
        break;
    case O_CERT:
        o->cert = val;
        break;
    case O_KEY:
        o->key = val;
        break;
    case O_INSECURE:
        o->insecure = 1;
        break;
    case O_RELABEL:
        o->relabel_file = val;
        break;
    case O_SOURCE_LABEL:
        o->source_label = val;
        break;
    case O_LABEL:
        if (!strchr(val, '=') || val[0] == '=')
            return usage_error("invalid --label '%s' (expected NAME=VALUE)", val);
        o->labels[o->nlabels++] = val;
        break;
    case O_CONFLICT:
        if (strcmp(val, "error") == 0)
            o->conflict_first = 0;
        else if (strcmp(val, "first") == 0)
            o->conflict_first = 1;
        else
            return usage_error("invalid --conflict '%s' (expected error or first)", val);
        break;
    case O_NAME_ESCAPING:
        if (strcmp(val, "underscores") == 0)
            o->escaping = PREX_ESCAPE_UNDERSCORES;
        else if (strcmp(val, "values") == 0)
            o->escaping = PREX_ESCAPE_VALUES;
        else if (strcmp(val, "drop") == 0)
            o->escaping = PREX_ESCAPE_NONE;
        else if (strcmp(val, "allow-utf-8") == 0)
            o->escaping = -1;
        else
            return usage_error("invalid --name-escaping '%s' (expected underscores, values, "
                               "drop or allow-utf-8)", val);
        break;
    default:
        fprintf(stderr, PROG ": internal error: option --%s has no handler\n", d->name);
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

/*
 * Reads a secret (bearer token, password) from path into a malloc'd
 * string: one trailing "\n" or "\r\n" is dropped; any other line break or
 * a NUL byte is refused (it would corrupt the request headers). Returns
 * the string, or NULL with a message in err (errlen bytes).
 */
static char *read_secret(const char *path, const char *what, char *err, size_t errlen)
{
    prex_buf b;
    ssize_t n;
    int fd;

    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s %s: %s", what, path, strerror(errno));
        return NULL;
    }
    prex_buf_init(&b, NULL);
    while ((n = prex_buf_read(&b, fd, 4096)) > 0 && b.len <= 65536)
        ;
    close(fd);
    if (n < 0 || b.len > 65536) {
        snprintf(err, errlen, "cannot read %s %s: %s", what, path,
                 n < 0 ? strerror(errno) : "larger than 64 KiB");
        prex_buf_free(&b);
        return NULL;
    }
    if (b.len > 0 && b.ptr[b.len - 1] == '\n')
        prex_buf_truncate(&b, b.len - 1);
    if (b.len > 0 && b.ptr[b.len - 1] == '\r')
        prex_buf_truncate(&b, b.len - 1);
    if (memchr(b.ptr, '\n', b.len) || memchr(b.ptr, '\r', b.len) || memchr(b.ptr, '\0', b.len)) {
        snprintf(err, errlen, "%s %s holds a line break or a NUL byte inside", what, path);
        prex_buf_free(&b);
        return NULL;
    }
    if (b.cap == 0) {
        char *empty = malloc(1);

        if (empty)
            empty[0] = '\0';
        return empty;
    }
    return b.ptr;
}

/* Nonzero when path names a file this process can read. */
static int readable(const char *path)
{
    return access(path, R_OK) == 0;
}

/*
 * Checks the combinations of options that cannot work together, and the
 * files they name, before anything is read. Returns -1 to go on, or
 * EXIT_USAGE after a message.
 */
static int check_options(struct options *o, size_t nsrc)
{
    char err[512];
    char *secret;
    size_t i;

    if (!o->push_url) {
        if (o->job || o->ngroups || o->method_set || o->delete_group || o->gzip ||
            o->retries_set || o->delete_on_exit)
            return usage_error("--job, --group, --method, --delete, --gzip, --retries and "
                               "--delete-on-exit need --push URL");
    } else {
        prex_buf url;
        size_t bad;
        prex_push_url_result ur;

        if (!o->job)
            return usage_error("--push needs --job NAME (the group's job)");
        prex_buf_init(&url, NULL);
        ur = prex_push_url(&url, o->push_url, o->job, o->groups, o->ngroups, &bad);
        prex_buf_free(&url);
        if (ur != PREX_PUSH_URL_OK) {
            if (bad < o->ngroups)
                return usage_error("invalid --group %s=%s: %s", o->groups[bad].name,
                                   o->groups[bad].value, prex_push_url_strerror(ur));
            return usage_error("invalid --push %s / --job '%s': %s", o->push_url, o->job,
                               prex_push_url_strerror(ur));
        }
    }
    if (o->delete_group) {
        if (nsrc > 0 || o->textfile || o->interval_ms || o->method_set || o->check)
            return usage_error("--delete deletes the group and reads nothing: it takes no "
                               "SOURCE, --textfile, --interval, --method or --check");
    }
    if (o->check && (o->push_url || o->textfile || o->interval_ms))
        return usage_error("--check only validates: it cannot be combined with --push, "
                           "--textfile or --interval");
    if (o->source_label && o->push_url) {
        if (strcmp(o->source_label, "job") == 0)
            return usage_error("-s job: the Pushgateway replaces job with the grouping key's "
                               "value, and the sources would collide again");
        for (i = 0; i < o->ngroups; i++)
            if (strcmp(o->source_label, o->groups[i].name) == 0)
                return usage_error("-s %s: a grouping label; the Pushgateway replaces it with "
                                   "the URL's value, and the sources would collide again",
                                   o->source_label);
    }
    if (o->delete_on_exit && !o->interval_ms)
        return usage_error("--delete-on-exit needs --interval (agent mode)");
    if (o->bearer_file && o->basic_user)
        return usage_error("give either --bearer-token-file or --basic-auth-user, not both");
    if (!!o->basic_user != !!o->basic_password_file)
        return usage_error("--basic-auth-user and --basic-auth-password-file go together");
    if (o->key && !o->cert)
        return usage_error("--key needs --cert");
    if (o->bearer_file) {
        if (!(secret = read_secret(o->bearer_file, "bearer token file", err, sizeof err)))
            return usage_error("%s", err);
        free(secret);
    }
    if (o->basic_password_file) {
        if (!(secret = read_secret(o->basic_password_file, "password file", err, sizeof err)))
            return usage_error("%s", err);
        free(secret);
    }
    {
        const char *files[3];
        const char *names[3] = { "--cacert", "--cert", "--key" };

        files[0] = o->cacert;
        files[1] = o->cert;
        files[2] = o->key;
        for (i = 0; i < 3; i++)
            if (files[i] && !readable(files[i]))
                return usage_error("%s %s: %s", names[i], files[i], strerror(errno));
    }
    if (o->textfile) {
        size_t n = strlen(o->textfile);

        if (n < 5 || strcmp(o->textfile + n - 5, ".prom") != 0)
            logkv(LOG_WARN, "node_exporter's textfile collector reads only files ending "
                            "in .prom", "textfile", o->textfile, NULL);
    }
    return -1;
}

/* MARK: sources */

enum { SRC_STDIN, SRC_FILE, SRC_URL };

struct source {
    /* from the command line */
    const char *arg;   /* the argument as given */
    const char *path;  /* file path, URL, or "-" for stdin */
    char *name;        /* NAME= or derived; owned */
    const char *label; /* what diagnostics print: the path, the URL, or "stdin" */
    int kind;          /* SRC_* */

    /* one run */
    prex_buf buf;      /* keep mode: the whole input; else the unparsed tail */
    size_t base;       /* keep mode: bytes of buf before the parser's view */
    prex_parser p;
    int fmt;           /* prex_format, or -1 while undecided */
    const char *how;   /* how fmt was chosen, for the debug log */
    int parsing;       /* p is initialised */
    int recovering;    /* skipping the rest of a line after an error */
    int stopped;       /* too many errors, or an unrecoverable one */
    int cut;           /* a scrape aborted because the source was stopped */
    int feeding;       /* its events go to the merge table as they are
                        * parsed (a regular file in a buffer that never
                        * moves): no second parse to build the body */
    int fed;           /* every event of the valid source went in */
    uint64_t nerr, nsamples, bytes;
    int down;          /* could not be read */
    char why[480];     /* why it is down */
    double seconds;    /* reading and validating it */
    int oom;           /* memory ran out while reading it */
    unsigned id;       /* its source number in the merge table */
    struct run *run;   /* the run reading it (for the scrape callback) */
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
 * The default name of a URL source: "host:port", the port being the
 * scheme's default when the URL has none (what Prometheus puts in the
 * instance label). Returns a malloc'd string, or NULL when the URL cannot
 * be parsed (*why then says why, a static string).
 */
static char *url_name(const char *url, const char **why)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *r = NULL;
    CURLUcode rc;

    *why = "out of memory";
    if (!u)
        return NULL;
    rc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (rc == CURLUE_OK)
        rc = curl_url_get(u, CURLUPART_HOST, &host, 0);
    if (rc == CURLUE_OK)
        rc = curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    if (rc == CURLUE_OK) {
        size_t n = strlen(host) + strlen(port) + 2;

        r = malloc(n);
        if (r)
            snprintf(r, n, "%s:%s", host, port);
    } else {
        *why = curl_url_strerror(rc);
    }
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return r;
}

/*
 * Turns the source arguments into sources: NAME=SOURCE when the part
 * before the first '=' is non-empty and has no '/' (and the argument is
 * not itself a URL), "-" for stdin, http(s):// URLs. Names must be
 * distinct and stdin may appear once. Returns -1 to go on, or EXIT_USAGE.
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
        s[i].fmt = -1;
        prex_buf_init(&s[i].buf, NULL);
        if (!is_url(a) && eq && eq != a && memchr(a, '/', (size_t)(eq - a)) == NULL) {
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
        s[i].path = path;
        if (is_url(path)) {
            s[i].kind = SRC_URL;
            s[i].label = path;
            if (!name) {
                const char *why;

                name = url_name(path, &why);
                if (!name)
                    return usage_error("invalid URL %s: %s", path, why);
            }
        } else if (strcmp(path, "-") == 0) {
            s[i].kind = SRC_STDIN;
            if (stdin_seen++) {
                free(name);
                return usage_error("standard input ('-') can be read only once");
            }
            if (!name)
                name = base_name("stdin");
            s[i].label = "stdin";
        } else {
            s[i].kind = SRC_FILE;
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

/* What lives as long as the process: the merge table (configured once
 * with the sources, -s and -l, reset between runs), the relabel rules and
 * the arena their new label bytes come from. */
struct relay {
    const struct options *opt;
    struct source *src;        /* the sources, in command-line order */
    size_t nsrc;
    int merging;               /* m is initialised (a run builds a body) */
    prex_merge m;
    int has_self;              /* the relay's own families are added */
    unsigned self;             /* their source number in m */
    prex_relabel_rules *rules; /* NULL without -r */
    prex_relabel_state rst;
    prex_arena arena;          /* decoded and relabeled label bytes of a run */
    prex_pair *pairs;          /* one series' labels for relabeling */
    size_t pairscap;
};

/* Everything one run needs and produces. */
struct run {
    struct relay *relay;
    const struct options *opt;
    struct source *src;
    size_t nsrc;
    int status;        /* worst exit status so far */
    int keep;          /* keep every source's whole input (not --check) */
    uint64_t relabel_dropped; /* series a relabel rule dropped */
    int table_dirty;   /* the merge table holds events of a source that
                        * stopped feeding it: build it again */
    int agent;         /* agent mode: a down source is logged, not fatal */
    prex_http_config http;
};

static void raise_status(struct run *r, int status)
{
    if (status > r->status)
        r->status = status;
}

/* Seconds on the monotonic clock. */
static double mono_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Prints "LABEL:LINE:COL: error: MESSAGE[: DETAIL]". */
static void diagnostic(const char *label, uint64_t line, uint64_t col, const char *msg,
                       const char *detail)
{
    fprintf(stderr, "%s:%" PRIu64 ":%" PRIu64 ": error: %s%s%s\n", label, line, col, msg,
            detail && *detail ? ": " : "", detail ? detail : "");
}

/* Marks source s as unreadable and keeps the reason for the logs; a
 * one-shot run also prints "LABEL: error: WHY" (agent mode only logs it,
 * every run). */
static void source_down(struct source *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void source_down(struct source *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(s->why, sizeof s->why, fmt, ap);
    va_end(ap);
    s->down = 1;
    s->stopped = 1;
    if (!s->run || !s->run->agent)
        fprintf(stderr, "%s: error: %s\n", s->label, s->why);
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

/* Nonzero when source s has failed (errors, or unreadable): it will
 * never be merged, so its bytes need not be kept or read further. */
static int failed(const struct source *s)
{
    return s->stopped && (s->nerr > 0 || s->down);
}

/* After a limit error, names the option that sets the limit (once per
 * limit and process). */
static void limit_hint(int code)
{
    static unsigned shown;
    const char *opt;

    switch (code) {
    case PREX_E_LIMIT_LINE: opt = "--max-line-length"; break;
    case PREX_E_LIMIT_LABELS: opt = "--max-labels"; break;
    case PREX_E_LIMIT_LABEL_VALUE: opt = "--max-label-value-length"; break;
    case PREX_E_LIMIT_BYTES: opt = "--max-source-size"; break;
    default: return;
    }
    if (shown & (1u << (code - PREX_E_LIMIT_LINE)))
        return;
    shown |= 1u << (code - PREX_E_LIMIT_LINE);
    fprintf(stderr, PROG ": hint: %s sets this limit\n", opt);
}

/*
 * Parses what source s's buffer holds past what was parsed before: the
 * streaming step shared by files, stdin and scrapes. The first call
 * starts the parser (deciding the format from the whole input when it is
 * still undecided: then only at eof); later calls hand it the buffer
 * again with prex_parser_refill(), since appending may have moved it.
 * Every error up to --max-errors is reported (prex_parser_recover() skips
 * the rest of the bad line, and a line over the length limit as it
 * arrives). Afterwards the parsed lines are dropped from the buffer, or,
 * in keep mode, only skipped (base), so that the whole input stays for
 * building the output.
 *   eof: no more data will come (prex_finish() is called).
 */
static int feed_event(struct run *r, struct source *s, int kind, const prex_event *ev);
static void stop_feeding(struct run *r, struct source *s);

static void drain(struct run *r, struct source *s, int eof)
{
    const struct options *o = r->opt;
    prex_event ev;
    char n1[24];

    if (s->stopped) {
        if (!r->keep || failed(s))
            prex_buf_clear(&s->buf);
        return;
    }
    if (!s->parsing) {
        if (s->fmt < 0) {
            if (!eof)
                return;
            s->fmt = (int)prex_detect_format(s->buf.ptr, s->buf.len);
        }
        logkv(LOG_DEBUG, "reading source", "source", s->name, "path", s->label, "format",
              format_name(s->fmt), "format_choice", s->how, NULL);
        prex_parser_init(&s->p, s->buf.ptr, s->buf.len, (prex_format)s->fmt, o->flags);
        prex_parser_set_limits(&s->p, &o->limits);
        s->parsing = 1;
        s->base = 0;
    } else {
        prex_parser_refill(&s->p, s->buf.ptr + s->base, s->buf.len - s->base);
    }
    if (eof)
        prex_finish(&s->p);

    for (;;) {
        int rc;

        if (s->recovering) {
            rc = prex_parser_recover(&s->p);
            if (rc == PREX_ERROR) {
                s->stopped = 1;
                break;
            }
            if (rc == 0) {
                s->recovering = 0;
                continue;
            }
        } else {
            rc = prex_next(&s->p, &ev);
            if (rc == PREX_ERROR) {
                const prex_error *e = prex_parser_error(&s->p);

                diagnostic(s->label, e->line, e->column, prex_strerror(e->code), e->detail);
                limit_hint(e->code);
                s->nerr++;
                stop_feeding(r, s);
                if (o->max_errors && s->nerr >= o->max_errors) {
                    logkv(LOG_WARN, "too many errors; stopped checking the source", "source",
                          s->name, "max_errors", u64s(n1, o->max_errors), NULL);
                    s->stopped = 1;
                    break;
                }
                s->recovering = 1;
                continue;
            }
            if (rc == PREX_EV_EOF) {
                s->stopped = 1;
                break;
            }
            if (rc > 0) {
                if (rc == PREX_EV_SAMPLE)
                    s->nsamples++;
                if (s->feeding && feed_event(r, s, rc, &ev) != 0)
                    stop_feeding(r, s);
                continue;
            }
        }
        /* PREX_NEED_MORE */
        if (eof) {
            fprintf(stderr, "%s: error: internal: parser wants more input after the end\n",
                    s->label);
            s->nerr++;
            s->stopped = 1;
        }
        break;
    }
    if (s->stopped) {
        if (!r->keep || failed(s))
            prex_buf_clear(&s->buf);
        return;
    }
    if (r->keep)
        s->base += prex_parser_consumed(&s->p);
    else
        prex_buf_consume(&s->buf, prex_parser_consumed(&s->p));
}

/*
 * Reads a file or stdin source to its end, parsing each 64 KiB chunk as it
 * arrives (see drain()). With -f auto a regular file's format is probed
 * from its last bytes first; a pipe's is decided once all of it is in.
 */
static void read_fd_source(struct run *r, struct source *s)
{
    const struct options *o = r->opt;
    struct stat st;
    int fd, eof = 0;

    if (s->kind == SRC_STDIN) {
        fd = STDIN_FILENO;
    } else {
        do {
            fd = open(s->path, O_RDONLY | O_CLOEXEC);
        } while (fd < 0 && errno == EINTR);
        if (fd < 0) {
            source_down(s, "cannot open: %s", strerror(errno));
            return;
        }
    }
    s->fmt = o->in_format;
    s->how = "given";
    if (s->fmt < 0) {
        off_t start;

        s->how = "detected after reading the whole input";
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
            (start = lseek(fd, 0, SEEK_CUR)) >= 0) {
            s->fmt = detect_from_tail(fd, start, st.st_size);
            s->how = "detected from the last line";
        }
        if (s->fmt < 0)
            logkv(LOG_DEBUG, "reading the whole input to detect its format", "source",
                  s->name, NULL);
    }
    if (r->keep && r->relay->merging && !r->table_dirty && s->fmt >= 0 &&
        fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
        (uint64_t)st.st_size < SIZE_MAX / 2 &&
        prex_buf_make_room(&s->buf, (size_t)st.st_size + READ_CHUNK) == 0)
        s->feeding = 1; /* the whole file fits: the buffer will not move */
    while (!eof && !failed(s)) { /* a failed source is not read further */
        const char *before = s->buf.ptr;
        ssize_t n = prex_buf_read(&s->buf, fd, READ_CHUNK);

        if (n < 0) {
            source_down(s, "cannot read: %s", strerror(errno));
            break;
        }
        if (s->buf.ptr != before) /* the file grew: fed slices moved */
            stop_feeding(r, s);
        s->bytes += (uint64_t)n;
        eof = n == 0;
        drain(r, s, eof);
    }
    if (s->feeding && !failed(s) && s->nerr == 0)
        s->fed = 1;
    if (s->kind != SRC_STDIN)
        close(fd);
}

/* The format a Content-Type names: OpenMetrics for
 * application/openmetrics-text, text for text/plain, -1 otherwise. */
static int format_of_content_type(const char *ct)
{
    while (*ct == ' ')
        ct++;
    if (strncasecmp(ct, "application/openmetrics-text", 28) == 0 &&
        (ct[28] == '\0' || ct[28] == ';' || ct[28] == ' '))
        return PREX_FORMAT_OPENMETRICS;
    if (strncasecmp(ct, "text/plain", 10) == 0 &&
        (ct[10] == '\0' || ct[10] == ';' || ct[10] == ' '))
        return PREX_FORMAT_TEXT;
    return -1;
}

/* prex_scrape's data callback: appends the chunk to the source's buffer
 * (sc->ctx) and parses it. The first chunk decides the format (-f auto)
 * from the Content-Type. */
static int scrape_data(prex_scrape *sc, const char *data, size_t len)
{
    struct source *s = sc->ctx;

    if (s->bytes == 0 && s->fmt < 0) {
        s->fmt = format_of_content_type(sc->content_type);
        s->how = s->fmt >= 0 ? "from the Content-Type"
                             : "detected after reading the whole input (unknown Content-Type)";
    }
    if (prex_buf_append(&s->buf, data, len) != 0) {
        s->oom = 1;
        return 1;
    }
    s->bytes += len;
    drain(s->run, s, 0);
    if (failed(s) && !s->down) {
        /* invalid (its errors are reported): the rest is not read */
        s->cut = 1;
        return 1;
    }
    return 0;
}

/*
 * Reads every source of the run: stdin and files one after the other,
 * then every URL concurrently (curl's multi interface, each within
 * --timeout, parsed chunk by chunk as the bytes arrive). A source that
 * cannot be read is marked down; one with errors has nerr > 0.
 */
static void read_sources(struct run *r)
{
    size_t i, k, nurl = 0;
    prex_scrape *sc;

    for (i = 0; i < r->nsrc; i++) {
        struct source *s = &r->src[i];
        double t0 = mono_seconds();

        s->run = r;
        if (s->kind == SRC_URL) {
            nurl++;
            continue;
        }
        read_fd_source(r, s);
        s->seconds = mono_seconds() - t0;
    }
    if (nurl == 0)
        return;
    sc = calloc(nurl, sizeof *sc);
    if (!sc) {
        for (i = 0; i < r->nsrc; i++)
            if (r->src[i].kind == SRC_URL)
                source_down(&r->src[i], "out of memory");
        return;
    }
    for (i = 0, k = 0; i < r->nsrc; i++) {
        struct source *s = &r->src[i];

        if (s->kind != SRC_URL)
            continue;
        s->fmt = r->opt->in_format;
        s->how = "given";
        prex_scrape_init(&sc[k++], s->path, scrape_data, s);
    }
    prex_scrape_all(sc, nurl, &r->http, &stop_requested);
    for (k = 0; k < nurl; k++) {
        struct source *s = sc[k].ctx;

        s->seconds = sc[k].seconds;
        if (s->oom)
            source_down(s, "out of memory");
        else if (s->cut)
            ; /* stopped on purpose: invalid, not down */
        else if (sc[k].result != PREX_SCRAPE_OK)
            source_down(s, "scrape failed: %s", sc[k].error);
        else
            drain(r, s, 1);
        prex_scrape_free(&sc[k]);
    }
    free(sc);
}

/* Forgets what a run left in source s (its buffer, its parser, its
 * counts), keeping what the command line gave. */
static void reset_source(struct source *s)
{
    if (s->parsing)
        prex_parser_free(&s->p);
    prex_buf_free(&s->buf);
    s->base = 0;
    s->fmt = -1;
    s->how = "given";
    s->parsing = s->recovering = s->stopped = s->down = s->oom = s->cut = 0;
    s->feeding = s->fed = 0;
    s->nerr = s->nsamples = s->bytes = 0;
    s->why[0] = '\0';
    s->seconds = 0;
}

/* MARK: building the body */

/* The name of merge source id: a source's name, or the relay's own. */
static const char *source_name(const struct run *r, unsigned id)
{
    return id < r->nsrc ? r->src[id].name : PREX_SELFMETRICS_SOURCE;
}

/* Reports a writer error and raises the exit status to 1. */
static void report_write_error(struct run *r, const prex_writer *w)
{
    const prex_write_error *e = prex_writer_error(w);

    if (e->code == PREX_E_NO_MEMORY)
        fprintf(stderr, PROG ": error: out of memory while writing the output\n");
    else
        fprintf(stderr, PROG ": error: cannot write family \"%s\" (source '%s'): %s: %s\n",
                e->name, source_name(r, e->source), prex_strerror(e->code), e->detail);
    raise_status(r, EXIT_INVALID);
}

/* Decodes the escapes of a raw slice into the arena when it has any.
 * Returns the decoded bytes, or a NULL ptr when out of memory. */
static prex_slice decoded(prex_arena *a, prex_slice raw, int esc)
{
    prex_slice out = raw;

    if (esc) {
        char *p = prex_arena_alloc_bytes(a, raw.len ? raw.len : 1);

        out.ptr = p;
        out.len = p ? prex_unescape(raw, p) : 0;
    }
    return out;
}

/* Result of relabel_add() besides the merge calls' codes. */
#define RELABEL_FAILED (-2)

/*
 * Relabels one sample of source s and adds what remains to the merge
 * table: its metric name (as __name__) and labels, decoded into the
 * arena when escaped, go through the rules; a kept series is added with
 * prex_merge_add_pairs(), a dropped one gives its arena bytes back.
 * Returns 0, a PREX_MERGE_E_* code, or RELABEL_FAILED after a diagnostic.
 */
static int relabel_add(struct run *r, struct source *s, const prex_event *ev)
{
    struct relay *R = r->relay;
    prex_arena_mark mark = prex_arena_save(&R->arena);
    size_t n = ev->nlabels + 1, i;
    prex_labelset ls;
    int rc;

    if (R->pairscap < n) {
        size_t cap = n < 64 ? 64 : n * 2;
        prex_pair *p = realloc(R->pairs, cap * sizeof *p);

        if (!p)
            return PREX_MERGE_E_NO_MEMORY;
        R->pairs = p;
        R->pairscap = cap;
    }
    R->pairs[0].name.ptr = "__name__";
    R->pairs[0].name.len = 8;
    R->pairs[0].value = decoded(&R->arena, ev->name, ev->name_esc);
    if (!R->pairs[0].value.ptr)
        return PREX_MERGE_E_NO_MEMORY;
    for (i = 0; i < ev->nlabels; i++) {
        R->pairs[i + 1].name = decoded(&R->arena, ev->labels[i].name, ev->labels[i].name_esc);
        R->pairs[i + 1].value = decoded(&R->arena, ev->labels[i].value, ev->labels[i].value_esc);
        if (!R->pairs[i + 1].name.ptr || !R->pairs[i + 1].value.ptr)
            return PREX_MERGE_E_NO_MEMORY;
    }
    ls.pairs = R->pairs;
    ls.n = n;
    ls.cap = R->pairscap;
    rc = prex_relabel_apply(&R->rst, &ls);
    if (rc == PREX_RELABEL_KEEP)
        return prex_merge_add_pairs(&R->m, s->id, ev, ls.pairs, ls.n);
    prex_arena_restore(&R->arena, mark);
    if (rc == PREX_RELABEL_DROP) {
        r->relabel_dropped++;
        return 0;
    }
    if (prex_relabel_state_error(&R->rst)->code == PREX_RELABEL_E_NO_MEMORY)
        return PREX_MERGE_E_NO_MEMORY;
    fprintf(stderr, "%s:%" PRIu64 ":1: error: relabeling failed: %s\n", s->label, ev->line,
            prex_relabel_state_error(&R->rst)->text);
    return RELABEL_FAILED;
}

/*
 * Hands one event of source s to the merge table: HELP, TYPE and UNIT as
 * metadata, samples as they are or through the relabel rules. The table
 * points into the source's buffer, which therefore stays untouched until
 * the body is written. Returns 0, or -1 after a message (status raised
 * to 1).
 */
static int feed_event(struct run *r, struct source *s, int kind, const prex_event *ev)
{
    struct relay *R = r->relay;
    int rc = 0;

    if (kind == PREX_EV_SAMPLE)
        rc = R->rules ? relabel_add(r, s, ev) : prex_merge_add_event(&R->m, s->id, ev);
    else if (kind == PREX_EV_HELP || kind == PREX_EV_TYPE || kind == PREX_EV_UNIT)
        rc = prex_merge_meta(&R->m, s->id, ev);
    if (rc > 0)
        fprintf(stderr, PROG ": error: %s while merging source '%s'\n", prex_merge_strerror(rc),
                s->name);
    if (rc != 0)
        raise_status(r, EXIT_INVALID);
    return rc == 0 ? 0 : -1;
}

/* Source s stops feeding the merge table as it is parsed. What it fed
 * so far cannot stay (and may point into a buffer that moved), so the
 * table is emptied at once, no source feeds it any more in this run, and
 * merge_all() builds it again from every kept buffer. */
static void stop_feeding(struct run *r, struct source *s)
{
    if (s->feeding) {
        r->table_dirty = 1;
        prex_merge_reset(&r->relay->m);
        prex_arena_reset(&r->relay->arena);
    }
    s->feeding = 0;
}

/* Parses source s's kept buffer again (it was validated while it
 * arrived, so without the set-based checks) and feeds every event to the
 * merge table: for the sources that could not feed it as they were read.
 * Returns 0, or -1 after a message (status raised to 1). */
static int merge_source(struct run *r, struct source *s)
{
    prex_parser p;
    prex_event ev;
    int ev_rc, rc = 0;

    prex_parser_init(&p, s->buf.ptr, s->buf.len, (prex_format)s->fmt, r->opt->flags);
    prex_parser_set_limits(&p, &r->opt->limits);
    /* the source was validated as it arrived, with the same flags and
     * limits: the set-based checks would find nothing again */
    prex_parser_set_alloc(&p, NULL);
    prex_finish(&p);
    while (rc == 0 && (ev_rc = prex_next(&p, &ev)) > 0 && ev_rc != PREX_EV_EOF)
        rc = feed_event(r, s, ev_rc, &ev);
    if (rc == 0 && ev_rc == PREX_ERROR) {
        const prex_error *e = prex_parser_error(&p);

        diagnostic(s->label, e->line, e->column, prex_strerror(e->code), e->detail);
        raise_status(r, EXIT_INVALID);
        rc = -1;
    }
    prex_parser_free(&p);
    return rc;
}

/*
 * Reports the merge table's issues: errors (conflicts under --conflict
 * error) as "LABEL:LINE:1: error: MESSAGE" on stderr in a one-shot run
 * and as error logs in agent mode; warnings as warn logs.
 */
static void report_issues(struct run *r)
{
    const prex_merge *m = &r->relay->m;
    size_t i, n = prex_merge_issue_count(m);
    int dups = 0;
    char a[24];

    for (i = 0; i < n; i++) {
        const prex_merge_issue *is = prex_merge_issue_at(m, i);
        unsigned at = is->other_source != PREX_MERGE_NONE ? is->other_source : is->source;
        uint64_t line = is->other_source != PREX_MERGE_NONE ? is->other_line : is->line;

        if (is->code == PREX_MERGE_E_DUP_SERIES && is->severity == PREX_MERGE_ERROR &&
            is->other_source != PREX_MERGE_NONE && is->other_source != is->source)
            dups = 1;
        if (is->severity == PREX_MERGE_ERROR && !r->agent) {
            if (at < r->nsrc && line > 0)
                fprintf(stderr, "%s:%" PRIu64 ":1: error: %s\n", r->src[at].label, line,
                        is->message);
            else
                fprintf(stderr, PROG ": error: %s\n", is->message);
            continue;
        }
        logkv(is->severity == PREX_MERGE_ERROR ? LOG_ERROR : LOG_WARN, is->message, "issue",
              prex_merge_errname(is->code), "family", is->family, "series",
              u64s(a, is->count), NULL);
    }
    if (dups && !r->opt->source_label && !r->agent)
        fprintf(stderr, PROG ": hint: -s NAME adds NAME=\"<source name>\" to every series, "
                        "which tells the sources apart; --conflict first keeps the first "
                        "source's series instead\n");
}

/*
 * Fills the merge table with every source that was read completely and
 * is valid, adds the relay's own families (every source's up, samples
 * and duration; a source that could not be read is up 0), and resolves
 * the table. Returns 0 when a body can be written, -1 otherwise (status
 * raised to 1).
 */
static int merge_all(struct run *r)
{
    struct relay *R = r->relay;
    prex_source_status *st = NULL;
    size_t i;
    int rc = 0;
    char a[24];

    for (i = 0; i < r->nsrc; i++)
        if (r->src[i].feeding && !r->src[i].fed)
            r->table_dirty = 1; /* fed in part, then down or invalid */
    if (r->table_dirty) {
        prex_merge_reset(&R->m);
        prex_arena_reset(&R->arena);
        r->relabel_dropped = 0;
    }
    for (i = 0; i < r->nsrc && rc == 0; i++)
        if (!r->src[i].down && r->src[i].nerr == 0 && (r->table_dirty || !r->src[i].fed))
            rc = merge_source(r, &r->src[i]);
    if (rc == 0 && R->has_self) {
        struct timespec now;

        st = calloc(r->nsrc ? r->nsrc : 1, sizeof *st);
        if (!st) {
            fprintf(stderr, PROG ": error: out of memory\n");
            raise_status(r, EXIT_INVALID);
            return -1;
        }
        for (i = 0; i < r->nsrc; i++) {
            st[i].source = r->src[i].id;
            st[i].up = !r->src[i].down && r->src[i].nerr == 0;
            st[i].samples = r->src[i].nsamples;
            st[i].duration_seconds = r->src[i].seconds;
        }
        /* The body reaches a reader only if it is delivered, so "now" is
         * the time of the last successful run whenever it is read. */
        clock_gettime(CLOCK_REALTIME, &now);
        if (prex_selfmetrics_add(&R->m, R->self, st, r->nsrc,
                                 (double)now.tv_sec + (double)now.tv_nsec / 1e9) != 0) {
            fprintf(stderr, PROG ": error: cannot add the relay's own metrics\n");
            rc = -1;
        }
        free(st);
    }
    if (rc != 0) {
        raise_status(r, EXIT_INVALID);
        return -1;
    }
    rc = prex_merge_finish(&R->m);
    report_issues(r);
    if (r->relabel_dropped)
        logkv(LOG_DEBUG, "series dropped by relabel rules", "series",
              u64s(a, r->relabel_dropped), NULL);
    if (rc != 0) {
        if (rc == PREX_MERGE_E_NO_MEMORY)
            fprintf(stderr, PROG ": error: out of memory while merging\n");
        raise_status(r, EXIT_INVALID);
        return -1;
    }
    return 0;
}

/*
 * A body rendered from the resolved table chunk by chunk, so that it is
 * never in memory whole (the textfile; a body too large to hold): the
 * relay's memory stays the sources' buffers plus the table. Rendering is
 * deterministic, so the same body can be rendered twice (checked, then
 * sent).
 */
struct render {
    struct run *r;
    prex_format fmt;
    prex_writer w;
    prex_buf out;        /* the current chunk */
    size_t off;          /* bytes of out already taken */
    int started;         /* w is initialised */
    int done;            /* the table is written and the writer finished */
    int failed;          /* a write error was reported */
    uint64_t bytes;      /* bytes rendered since the start */
};

/* Bytes rendered at a time. */
#define RENDER_CHUNK (256 * 1024)

static void render_init(struct render *rd, struct run *r, prex_format fmt)
{
    memset(rd, 0, sizeof *rd);
    rd->r = r;
    rd->fmt = fmt;
    prex_buf_init(&rd->out, NULL);
}

/* Goes back to the body's first byte. Returns 0 or -1. */
static int render_restart(struct render *rd)
{
    if (rd->started)
        prex_writer_free(&rd->w);
    prex_buf_clear(&rd->out);
    rd->off = 0;
    rd->done = 0;
    rd->bytes = 0;
    prex_writer_init(&rd->w, &rd->out, rd->fmt, 0);
    rd->started = 1;
    return prex_merge_write_begin(&rd->r->relay->m) == 0 ? 0 : -1;
}

/*
 * Writes about RENDER_CHUNK more bytes of the table through w, after the
 * bytes out (w's buffer) holds; at the end finishes w and sets *done.
 * Returns 0, or -1 after a message (status raised to 1) when the table
 * cannot be written in the format.
 */
static int render_piece(struct run *r, prex_writer *w, prex_buf *out, int *done)
{
    int rc = prex_merge_write_some(&r->relay->m, w, out, out->len + RENDER_CHUNK);

    if (rc == 0) {
        rc = prex_writer_finish(w);
        *done = 1;
    } else if (rc == 1) {
        rc = 0;
    }
    if (rc != 0) {
        report_write_error(r, w);
        return -1;
    }
    return 0;
}

/*
 * Renders the next chunk into rd->out (cleared first). Returns 1 with
 * bytes in rd->out, 0 at the end, or -1 after a message (status raised
 * to 1) when the table cannot be written in the format.
 */
static int render_next(struct render *rd)
{
    prex_buf_clear(&rd->out);
    rd->off = 0;
    if (rd->failed)
        return -1;
    while (!rd->done && rd->out.len == 0) {
        if (render_piece(rd->r, &rd->w, &rd->out, &rd->done) != 0) {
            rd->failed = 1;
            return -1;
        }
    }
    rd->bytes += rd->out.len;
    return rd->out.len > 0;
}

static void render_free(struct render *rd)
{
    if (rd->started)
        prex_writer_free(&rd->w);
    prex_buf_free(&rd->out);
}

/* prex_push_source over a render. */
static int render_src_restart(void *ctx)
{
    return render_restart(ctx);
}

static ptrdiff_t render_src_read(void *ctx, char *dst, size_t n)
{
    struct render *rd = ctx;

    if (rd->off == rd->out.len) {
        int rc = render_next(rd);

        if (rc <= 0)
            return rc;
    }
    if (n > rd->out.len - rd->off)
        n = rd->out.len - rd->off;
    memcpy(dst, rd->out.ptr + rd->off, n);
    rd->off += n;
    return (ptrdiff_t)n;
}

/*
 * A body parsed again, in its format, as it is rendered and before any
 * of it is delivered: a conversion the target format cannot express (for
 * example text histograms whose series interleave, which OpenMetrics
 * forbids) is reported as "output:LINE:COL: error: ..." instead of being
 * delivered. Memory: one chunk plus the longest line.
 */
struct verify {
    prex_parser p;
    prex_buf pend;       /* bytes not parsed yet (an incomplete line) */
    prex_format fmt;
    unsigned flags;
    int started;
    int failed;
};

static void verify_init(struct verify *v, prex_format fmt, unsigned flags)
{
    memset(v, 0, sizeof *v);
    v->fmt = fmt;
    v->flags = flags & PREX_LEGACY_NAMES;
    prex_buf_init(&v->pend, NULL);
}

/* Parses what can be parsed of buf[0..len) (all of it when eof): the
 * body's bytes not parsed yet, buf[len] == NUL. Returns the bytes parsed
 * (whole lines), or -1 after the diagnostic. */
static ptrdiff_t verify_parse(struct verify *v, const char *buf, size_t len, int eof)
{
    prex_event ev;
    int rc;

    if (v->failed)
        return -1;
    if (!v->started) {
        prex_limits lim;

        memset(&lim, 0, sizeof lim);
        lim.max_labels = PREX_MAX_LABELS;
        prex_parser_init(&v->p, buf, len, v->fmt, v->flags);
        prex_parser_set_limits(&v->p, &lim);
        v->started = 1;
    } else {
        prex_parser_refill(&v->p, buf, len);
    }
    if (eof)
        prex_finish(&v->p);
    while ((rc = prex_next(&v->p, &ev)) > 0 && rc != PREX_EV_EOF)
        ;
    if (rc == PREX_ERROR) {
        const prex_error *e = prex_parser_error(&v->p);

        diagnostic("output", e->line, e->column, prex_strerror(e->code), e->detail);
        fprintf(stderr, PROG ": error: the sources cannot be written as valid %s; "
                        "nothing was written\n", format_name(v->fmt));
        v->failed = 1;
        return -1;
    }
    return (ptrdiff_t)prex_parser_consumed(&v->p);
}

/* verify_parse() over v->pend, whose parsed lines are then dropped. */
static int verify_drain(struct verify *v, int eof)
{
    ptrdiff_t n = verify_parse(v, v->pend.ptr, v->pend.len, eof);

    if (n < 0)
        return -1;
    prex_buf_consume(&v->pend, (size_t)n);
    return 0;
}

/* Adds data[0..n) of the body. Returns 0, or -1 after the diagnostic. */
static int verify_feed(struct verify *v, const char *data, size_t n)
{
    if (v->failed)
        return -1;
    if (prex_buf_append(&v->pend, data, n) != 0) {
        fprintf(stderr, PROG ": error: out of memory while checking the output\n");
        v->failed = 1;
        return -1;
    }
    return verify_drain(v, 0);
}

/* Ends the body. Returns 0 when all of it is valid. */
static int verify_end(struct verify *v)
{
    return verify_drain(v, 1);
}

static void verify_free(struct verify *v)
{
    if (v->started)
        prex_parser_free(&v->p);
    prex_buf_free(&v->pend);
}

/*
 * A checked body kept in memory so that it is delivered without being
 * rendered a second time, as long as it stays within twice the bytes
 * read from the sources (which the relay holds anyway) plus HOLD_SLACK:
 * memory stays proportional to the input. A body that outgrows that is
 * checked again in pieces and rendered again to be delivered.
 */
struct held {
    prex_buf data;
    uint64_t in;         /* bytes read from the sources */
    uint64_t limit;
    int on;              /* holding is still possible, or done */
};

#define HOLD_SLACK (1024 * 1024)

static void held_init(struct held *h, const struct run *r)
{
    uint64_t in = 0;
    size_t i;

    for (i = 0; i < r->nsrc; i++)
        in += r->src[i].bytes;
    prex_buf_init(&h->data, NULL);
    h->in = in;
    h->limit = in <= (UINT64_MAX - HOLD_SLACK) / 2 ? 2 * in + HOLD_SLACK : UINT64_MAX;
    h->on = 1;
}

static void held_free(struct held *h)
{
    prex_buf_free(&h->data);
    h->on = 0;
}

/*
 * check_body() of a body to hold (see struct held): rendered straight
 * into h->data, RENDER_CHUNK bytes at a time, each piece parsed in place.
 * Returns 0 when the body is valid and held, 1 when it grew past
 * h->limit (h let go, nothing reported), or -1 after a message (status
 * raised to 1).
 */
static int check_held(struct run *r, prex_format fmt, struct held *h, uint64_t *bytes,
                      prex_write_stats *stats)
{
    prex_writer w;
    struct verify v;
    size_t off = 0;
    ptrdiff_t n;
    int rc, done = 0;

    /* room for a body as long as the input, so that it seldom moves */
    if (h->in < SIZE_MAX / 2 - RENDER_CHUNK)
        (void)prex_buf_make_room(&h->data, (size_t)h->in + RENDER_CHUNK);
    prex_writer_init(&w, &h->data, fmt, 0);
    verify_init(&v, fmt, r->opt->flags);
    rc = prex_merge_write_begin(&r->relay->m) == 0 ? 0 : -1;
    while (rc == 0 && !done) {
        if (render_piece(r, &w, &h->data, &done) != 0) {
            rc = -1;
        } else if (h->data.len > h->limit) {
            char a[24];

            logkv(LOG_DEBUG, "body not held: it is rendered again to be sent", "limit_bytes",
                  u64s(a, h->limit), NULL);
            rc = 1;
        } else if ((n = verify_parse(&v, h->data.ptr + off, h->data.len - off, done)) < 0) {
            rc = -1;
        } else {
            off += (size_t)n;
        }
    }
    *bytes = h->data.len;
    *stats = w.stats;
    prex_writer_free(&w);
    verify_free(&v);
    if (rc != 0)
        held_free(h);
    if (rc < 0)
        raise_status(r, EXIT_INVALID);
    return rc;
}

/*
 * Renders the body in format fmt and checks it, delivering nothing.
 * *bytes gets its length and *stats what the writer counted; h, when not
 * NULL, keeps the body if it can (see struct held). Returns 0 when it is
 * valid, or -1 after a message (status raised to 1).
 */
static int check_body(struct run *r, prex_format fmt, uint64_t *bytes,
                      prex_write_stats *stats, struct held *h)
{
    struct render rd;
    struct verify v;
    int rc;

    if (h && h->on && (rc = check_held(r, fmt, h, bytes, stats)) != 1)
        return rc;
    render_init(&rd, r, fmt);
    verify_init(&v, fmt, r->opt->flags);
    rc = render_restart(&rd);
    while (rc == 0 && (rc = render_next(&rd)) > 0)
        rc = verify_feed(&v, rd.out.ptr, rd.out.len);
    if (rc == 0)
        rc = verify_end(&v);
    *bytes = rd.bytes;
    *stats = rd.w.stats;
    render_free(&rd);
    verify_free(&v);
    if (rc != 0)
        raise_status(r, EXIT_INVALID);
    return rc;
}

/* Logs what was delivered to sink and what was left out on purpose (the
 * merge table's and the writer's counts). Stripped timestamps get one
 * warning per process (agent mode would repeat it every run), then only
 * the info line. */
static void log_output(const char *sink, const prex_merge_stats *ms, const prex_write_stats *st)
{
    static int warned_timestamps = 0;
    char a[24], b[24], c[24], d[24], e[24], f[24], g[24], h[24];

    logkv(LOG_INFO, "output written", "sink", sink, "families", u64s(a, st->families),
          "samples", u64s(b, st->samples), "dropped_exemplars",
          u64s(c, ms->dropped_exemplars + st->dropped_exemplars), "dropped_created",
          u64s(d, ms->dropped_created + st->dropped_created), "dropped_duplicates",
          u64s(e, ms->dropped_duplicates), "dropped_conflicts", u64s(f, ms->dropped_conflict),
          "stripped_timestamps", u64s(g, ms->stripped_timestamps + st->stripped_timestamps),
          "escaped_names", u64s(h, ms->escaped_names), NULL);
    if (ms->stripped_timestamps + st->stripped_timestamps && !warned_timestamps) {
        warned_timestamps = 1;
        logkv(LOG_WARN, "timestamps stripped: the Pushgateway rejects them and the textfile "
                        "collector skips a file that has any", "sink", sink, "count",
              u64s(a, ms->stripped_timestamps + st->stripped_timestamps), NULL);
    }
    if (st->untyped_counters)
        logkv(LOG_WARN, "counters written as unknown OpenMetrics families: their name "
                        "without _total belongs to another family", "count",
              u64s(a, st->untyped_counters), NULL);
    if (st->dropped_help)
        logkv(LOG_WARN, "HELP lines after their family's samples cannot be written in "
                        "OpenMetrics; dropped", "count", u64s(a, st->dropped_help), NULL);
}

/* MARK: sinks */

/* Logs a retry of a push (prex_push_retry_fn). */
static void log_retry(void *ctx, unsigned attempt, long delay_ms, const char *why)
{
    const char *url = ctx;
    char a[24], d[24];

    snprintf(d, sizeof d, "%ld.%03lds", delay_ms / 1000, delay_ms % 1000);
    logkv(LOG_WARN, "push failed; retrying", "url", url, "attempt", u64s(a, attempt), "err",
          why, "backoff", d, NULL);
}

/*
 * Fills r->http from the options, reading the secret files again (so that
 * a rotated token is picked up by the next run). The secrets are
 * malloc'd into *token and *password; the caller frees them. Returns 0, or
 * -1 after a message (the files were readable at start, so this is a
 * run-time failure).
 */
static int setup_http(struct run *r, char **token, char **password)
{
    const struct options *o = r->opt;
    char err[512];

    *token = *password = NULL;
    prex_http_config_init(&r->http);
    r->http.timeout_ms = (long)o->timeout_ms;
    r->http.cacert = o->cacert;
    r->http.cert = o->cert;
    r->http.key = o->key;
    r->http.insecure = o->insecure;
    r->http.headers = o->headers;
    r->http.nheaders = o->nheaders;
    r->http.basic_user = o->basic_user;
    if (o->bearer_file) {
        *token = read_secret(o->bearer_file, "bearer token file", err, sizeof err);
        if (!*token)
            goto fail;
        r->http.bearer_token = *token;
    }
    if (o->basic_password_file) {
        *password = read_secret(o->basic_password_file, "password file", err, sizeof err);
        if (!*password)
            goto fail;
        r->http.basic_password = *password;
    }
    return 0;
fail:
    fprintf(stderr, PROG ": error: %s\n", err);
    logkv(LOG_ERROR, "cannot read a secret file", "err", err, NULL);
    return -1;
}

/*
 * Sends one request to the group: the body of len bytes (PUT or POST),
 * from src or else from mem, or a DELETE when both are NULL. On failure
 * logs it, prints the server's answer verbatim (a 400 says what it did
 * not accept) and returns -1.
 */
static int push_group(struct run *r, const prex_push_source *src, const char *mem,
                      uint64_t len, volatile sig_atomic_t *stop)
{
    int body = src || mem;
    const struct options *o = r->opt;
    prex_push_request rq;
    prex_push_result res;
    prex_buf url;
    char a[24], b[24], t[32];
    int rc;

    prex_buf_init(&url, NULL);
    if (prex_push_url(&url, o->push_url, o->job, o->groups, o->ngroups, NULL) !=
        PREX_PUSH_URL_OK) {
        fprintf(stderr, PROG ": error: cannot build the push URL\n");
        prex_buf_free(&url);
        return -1;
    }
    memset(&rq, 0, sizeof rq);
    rq.url = url.ptr;
    rq.method = body ? o->method : PREX_PUSH_DELETE;
    rq.source = src;
    rq.body = src ? NULL : mem;
    rq.len = (size_t)len;
    rq.gzip = o->gzip;
    rq.retries = o->retries;
    rq.http = &r->http;
    rq.stop = stop;
    rq.on_retry = log_retry;
    rq.retry_ctx = url.ptr;
    rc = prex_push(&rq, &res);
    snprintf(t, sizeof t, "%.3fs", res.seconds);
    if (rc == 0) {
        logkv(LOG_INFO, body ? "pushed" : "group deleted", "url", url.ptr, "method",
              prex_push_method_name(rq.method), "status", u64s(a, (uint64_t)res.status),
              "bytes", u64s(b, res.sent_bytes), "duration", t, NULL);
    } else {
        logkv(LOG_ERROR, body ? "push failed" : "delete failed", "url", url.ptr, "method",
              prex_push_method_name(rq.method), "err", res.error, "attempts",
              u64s(a, res.attempts), "duration", t, NULL);
        fprintf(stderr, "%s: error: %s failed: %s\n", url.ptr,
                prex_push_method_name(rq.method), res.error);
        if (res.response.len > 0) {
            fprintf(stderr, PROG ": the Pushgateway answered %ld:\n", res.status);
            fwrite(res.response.ptr, 1, res.response.len, stderr);
            if (res.response.ptr[res.response.len - 1] != '\n')
                fputc('\n', stderr);
        }
    }
    prex_push_result_free(&res);
    prex_buf_free(&url);
    return rc;
}

/*
 * Renders the body in format fmt to the textfile: each chunk is checked
 * and appended to a temporary file, which replaces the target only when
 * the whole body is valid and written. Returns 0, -1 when the body is
 * invalid (status raised to 1; nothing written) or -2 when the file could
 * not be written (message printed).
 */
static int deliver_textfile(struct run *r, prex_format fmt, prex_write_stats *stats)
{
    const char *path = r->opt->textfile;
    struct render rd;
    struct verify v;
    prex_textfile tf;
    char err[512];
    int rc, io = 0;

    if (prex_textfile_open(&tf, path, err, sizeof err) != 0) {
        fprintf(stderr, PROG ": error: %s\n", err);
        logkv(LOG_ERROR, "textfile not written", "err", err, NULL);
        return -2;
    }
    render_init(&rd, r, fmt);
    verify_init(&v, fmt, r->opt->flags);
    rc = render_restart(&rd);
    while (rc == 0 && (rc = render_next(&rd)) > 0) {
        rc = verify_feed(&v, rd.out.ptr, rd.out.len);
        if (rc == 0 && prex_textfile_append(&tf, rd.out.ptr, rd.out.len, err, sizeof err) != 0)
            rc = io = -1;
    }
    if (rc == 0)
        rc = verify_end(&v);
    if (rc == 0 && prex_textfile_commit(&tf, err, sizeof err) != 0)
        rc = io = -1;
    else if (rc != 0 && !io)
        prex_textfile_abort(&tf);
    *stats = rd.w.stats;
    render_free(&rd);
    verify_free(&v);
    if (io) {
        fprintf(stderr, PROG ": error: %s\n", err);
        logkv(LOG_ERROR, "textfile not written", "err", err, NULL);
        return -2;
    }
    if (rc != 0)
        raise_status(r, EXIT_INVALID);
    return rc;
}

/* Writes p[0..n) to standard output. Returns 0, or -1 after a message. */
static int put_stdout(const char *p, size_t n)
{
    int rc = prex_write_all(STDOUT_FILENO, p, n);

    if (rc != 0)
        fprintf(stderr, PROG ": error: cannot write to standard output: %s\n", strerror(errno));
    return rc;
}

/* Writes the (checked) body in format fmt to standard output: from h when
 * it holds the body, else rendered again. Returns 0, or -1 after a
 * message when standard output cannot be written. */
static int deliver_stdout(struct run *r, prex_format fmt, const struct held *h)
{
    struct render rd;
    int rc;

    if (h->on)
        return put_stdout(h->data.ptr, h->data.len);
    render_init(&rd, r, fmt);
    rc = render_restart(&rd);
    while (rc == 0 && (rc = render_next(&rd)) > 0)
        rc = put_stdout(rd.out.ptr, rd.out.len);
    render_free(&rd);
    return rc;
}

/*
 * Merges the sources and delivers one body to each sink: the textfile in
 * the output format (checked as it is written to its temporary file), the
 * Pushgateway in text 0.0.4 and standard output (when there is no other
 * sink) in the output format, each rendered once to be checked and then
 * sent from memory, or, for a body larger than struct held allows,
 * rendered again, the same bytes (the table strips timestamps when a
 * textfile or a push is asked for). A table that cannot be resolved or a body that is
 * not valid means nothing is delivered (status 1). A failure to write
 * stdout raises the status to 3, a failed textfile write or push to 4.
 */
static void deliver(struct run *r)
{
    const struct options *o = r->opt;
    prex_format outfmt = (prex_format)o->out_format;
    prex_write_stats st_out, st_file, st_push;
    uint64_t len_out = 0, len_push = 0;
    int want_out = !o->push_url && !o->textfile, ok, rc;
    struct held h;

    held_init(&h, r); /* the push's or standard output's body: one of them */
    ok = merge_all(r) == 0;
    if (ok && o->push_url && check_body(r, PREX_FORMAT_TEXT, &len_push, &st_push, &h) != 0)
        ok = 0;
    if (ok && want_out && check_body(r, outfmt, &len_out, &st_out, &h) != 0)
        ok = 0;
    if (ok && o->textfile) {
        rc = deliver_textfile(r, outfmt, &st_file);
        if (rc == -1)
            ok = 0;
        else if (rc == -2)
            raise_status(r, EXIT_PUSH);
        else
            log_output("textfile", &r->relay->m.stats, &st_file);
    }
    if (!ok) {
        raise_status(r, EXIT_INVALID);
        logkv(r->agent ? LOG_ERROR : LOG_INFO, "nothing written: the sources cannot be combined",
              NULL);
        held_free(&h);
        return;
    }
    if (o->push_url) {
        struct render rd;
        prex_push_source src = { render_src_restart, render_src_read, NULL };

        render_init(&rd, r, PREX_FORMAT_TEXT);
        src.ctx = &rd;
        if (push_group(r, h.on ? NULL : &src, h.data.ptr ? h.data.ptr : "", len_push,
                       &stop_requested) != 0)
            raise_status(r, EXIT_PUSH);
        else
            log_output("push", &r->relay->m.stats, &st_push);
        render_free(&rd);
    }
    if (want_out) {
        if (deliver_stdout(r, outfmt, &h) != 0)
            raise_status(r, EXIT_READ);
        else
            log_output("stdout", &r->relay->m.stats, &st_out);
    }
    held_free(&h);
}

/* MARK: runs */

/*
 * One run: reads and validates every source, then (without --check)
 * builds the body and delivers it. All or nothing: an invalid source
 * means nothing is delivered (status 1); so does an unreadable one
 * (status 3) in a one-shot run without --partial. In agent mode an
 * unreadable source is left out and the rest delivered, and a stop
 * request that arrives while the sources are read delivers nothing.
 * Returns the run's exit status.
 */
static int run_once(struct relay *R, int agent)
{
    const struct options *o = R->opt;
    struct source *src = R->src;
    size_t nsrc = R->nsrc;
    struct run r;
    char *token, *password;
    size_t i, ndown = 0, ninvalid = 0;
    char a[24], b[24], c[24], t[32];

    memset(&r, 0, sizeof r);
    r.relay = R;
    r.opt = o;
    r.src = src;
    r.nsrc = nsrc;
    r.keep = !o->check;
    r.agent = agent;
    if (setup_http(&r, &token, &password) != 0)
        return EXIT_USAGE;
    if (R->merging) { /* regular files feed the table as they are read */
        prex_merge_reset(&R->m);
        prex_arena_reset(&R->arena);
    }
    read_sources(&r);
    for (i = 0; i < nsrc; i++) {
        struct source *s = &src[i];

        snprintf(t, sizeof t, "%.3fs", s->seconds);
        if (s->down) {
            ndown++;
            logkv(agent ? LOG_WARN : LOG_INFO, "source down", "source", s->name, "path",
                  s->label, "err", s->why, "duration", t, NULL);
        } else {
            logkv(LOG_INFO, s->nerr ? "source invalid" : "source valid", "source", s->name,
                  "path", s->label, "format", format_name(s->fmt), "bytes", u64s(a, s->bytes),
                  "samples", u64s(b, s->nsamples), "errors", u64s(c, s->nerr), "duration", t,
                  NULL);
        }
        if (s->nerr)
            ninvalid++;
    }
    if (ninvalid)
        raise_status(&r, EXIT_INVALID);
    if (ndown && !agent)
        raise_status(&r, EXIT_READ);
    if (o->check) {
        /* validation only: the status says it all */
    } else if (agent && stop_requested) {
        logkv(LOG_WARN, "run aborted: the relay is stopping; nothing written", NULL);
    } else if (ninvalid) {
        logkv(agent ? LOG_ERROR : LOG_INFO, "nothing written: not every source is valid",
              "invalid_sources", u64s(a, ninvalid), NULL);
    } else if (ndown && !agent && !o->partial) {
        logkv(LOG_INFO, "nothing written: a source could not be read (--partial writes "
                        "the others)", "down_sources", u64s(a, ndown), NULL);
    } else if (ndown == nsrc && !agent) {
        logkv(LOG_WARN, "nothing written: no source could be read", NULL);
    } else {
        deliver(&r);
    }
    for (i = 0; i < nsrc; i++)
        reset_source(&src[i]);
    free(token);
    free(password);
    return r.status;
}

/* SIGINT/SIGTERM handler of agent mode (installed with SA_RESETHAND, so
 * a second signal ends the process at once). */
static void on_signal(int sig)
{
    stop_signal = sig;
    stop_requested = 1;
}

/* Formats a duration in milliseconds as seconds ("15.000s"). */
static const char *secs(char *buf, size_t n, double s)
{
    snprintf(buf, n, "%.3fs", s);
    return buf;
}

/*
 * Agent mode: a run every --interval, measured from the start of one run
 * to the start of the next; runs never overlap (one that takes longer
 * than the interval is followed at once by the next, with a warning).
 * SIGINT or SIGTERM ends it: a run in progress stops reading (scrapes are
 * aborted, nothing is pushed) or finishes its push without further
 * retries; the wait between runs ends at once (pselect() with the signals
 * unblocked only while waiting, so none is missed). Then, with
 * --delete-on-exit, the group is deleted. Returns 0, or 4 when that
 * delete failed.
 */
static int agent(struct relay *R)
{
    const struct options *o = R->opt;
    struct sigaction sa;
    sigset_t block, orig;
    uint64_t runs = 0, failed = 0;
    char a[24], b[24], t[32];
    int status = EXIT_VALID;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    logkv(LOG_INFO, "agent started", "interval", secs(t, sizeof t, (double)o->interval_ms / 1e3),
          "sources", u64s(a, R->nsrc), NULL);

    while (!stop_requested) {
        double start = mono_seconds(), now, next;
        int st = run_once(R, 1);

        runs++;
        if (st != EXIT_VALID)
            failed++;
        logkv(st == EXIT_VALID ? LOG_INFO : LOG_WARN, "run finished", "status",
              u64s(a, (uint64_t)st), "duration", secs(t, sizeof t, mono_seconds() - start),
              NULL);
        if (stop_requested)
            break;
        now = mono_seconds();
        next = start + (double)o->interval_ms / 1e3;
        if (next <= now) {
            logkv(LOG_WARN, "the run took longer than the interval; the next one starts now",
                  "interval", secs(t, sizeof t, (double)o->interval_ms / 1e3), NULL);
            continue;
        }
        sigprocmask(SIG_BLOCK, &block, &orig);
        if (!stop_requested) {
            struct timespec ts;
            double wait = next - now;

            ts.tv_sec = (time_t)wait;
            ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
            pselect(0, NULL, NULL, NULL, &ts, &orig);
        }
        sigprocmask(SIG_SETMASK, &orig, NULL);
    }
    logkv(LOG_INFO, "stopping", "signal", stop_signal == SIGINT ? "SIGINT" : "SIGTERM", "runs",
          u64s(a, runs), "failed_runs", u64s(b, failed), NULL);
    if (o->delete_on_exit) {
        struct run r;
        char *token, *password;

        memset(&r, 0, sizeof r);
        r.opt = o;
        r.agent = 1;
        if (setup_http(&r, &token, &password) != 0 || push_group(&r, NULL, NULL, 0, NULL) != 0)
            status = EXIT_PUSH;
        free(token);
        free(password);
    }
    return status;
}

/* MARK: main */

/*
 * Sets up what outlives the runs: the relabel rules (-r; loaded also with
 * --check, so that a bad file is found), and, when runs build a body, the
 * merge table with -s, -l, --conflict, the sources in command-line order
 * and the relay's own source (for a push or a textfile). Returns -1 to
 * go on, or EXIT_USAGE after a message.
 */
static int relay_init(struct relay *R, const struct options *o, struct source *src, size_t n)
{
    unsigned mflags = 0, rflags = 0;
    size_t i;
    int rc;

    memset(R, 0, sizeof *R);
    R->opt = o;
    R->src = src;
    R->nsrc = n;
    prex_arena_init(&R->arena, NULL, 0);
    if (o->relabel_file) {
        prex_relabel_error err;

        if (o->push_url || (o->flags & PREX_LEGACY_NAMES))
            rflags |= PREX_RELABEL_LEGACY_NAMES;
        if (prex_relabel_load_file(&R->rules, o->relabel_file, rflags, NULL, &err) != 0) {
            fprintf(stderr, "%s\n", err.text);
            return EXIT_USAGE;
        }
        prex_relabel_state_init(&R->rst, R->rules, &R->arena);
        logkv(LOG_DEBUG, "relabel rules loaded", "file", o->relabel_file, NULL);
    }
    if (o->check || o->delete_group)
        return -1;

    if (o->conflict_first)
        mflags |= PREX_MERGE_FIRST;
    if (o->push_url || o->textfile)
        mflags |= PREX_MERGE_STRIP_TIMESTAMPS;
    if ((o->push_url || o->textfile) && o->escaping >= 0)
        mflags |= PREX_MERGE_LEGACY_NAMES; /* the Pushgateway 1.5.1, node_exporter */
    if (o->out_format == PREX_FORMAT_OPENMETRICS)
        mflags |= PREX_MERGE_EXEMPLARS;
    prex_merge_init(&R->m, NULL, mflags);
    prex_merge_set_escaping(&R->m, o->escaping >= 0 ? (prex_name_escaping)o->escaping
                                                    : PREX_ESCAPE_NONE);
    R->merging = 1;
    if (o->source_label &&
        prex_merge_set_source_label(&R->m, o->source_label, strlen(o->source_label)) != 0)
        return usage_error("invalid -s/--source-label '%s' (a label name, not starting with "
                           "__, not le or quantile)", o->source_label);
    for (i = 0; i < o->nlabels; i++) {
        const char *eq = strchr(o->labels[i], '=');

        if (prex_merge_add_label(&R->m, o->labels[i], (size_t)(eq - o->labels[i]), eq + 1,
                                 strlen(eq + 1)) != 0)
            return usage_error("invalid -l/--label '%s' (a label name, not starting with __, "
                               "not le or quantile, given once, not the -s label)",
                               o->labels[i]);
    }
    for (i = 0; i < n; i++) {
        rc = prex_merge_add_source(&R->m, src[i].name, strlen(src[i].name), 0, &src[i].id);
        if (rc != 0)
            return usage_error("source name '%s' cannot be used: %s", src[i].name,
                               prex_merge_strerror(rc));
    }
    if (o->push_url || o->textfile) {
        if (prex_selfmetrics_source(&R->m, &R->self) != 0)
            return usage_error("out of memory");
        R->has_self = 1;
    }
    return -1;
}

/* Releases what relay_init() set up. */
static void relay_free(struct relay *R)
{
    if (R->merging)
        prex_merge_free(&R->m);
    if (R->rules) {
        prex_relabel_state_free(&R->rst);
        prex_relabel_free(R->rules);
    }
    prex_arena_free(&R->arena);
    free(R->pairs);
}

int main(int argc, char **argv)
{
    struct options opt;
    struct relay R;
    const char **args;
    struct source *srcs;
    size_t nargs = 0, i;
    int rc, need_http;

    memset(&opt, 0, sizeof opt);
    memset(&R, 0, sizeof R);
    opt.in_format = -1;
    opt.out_format = PREX_FORMAT_TEXT;
    opt.max_errors = 20;
    opt.escaping = PREX_ESCAPE_UNDERSCORES;
    opt.limits.max_line = DEFAULT_MAX_LINE;
    opt.limits.max_labels = PREX_MAX_LABELS;
    opt.limits.max_label_value = DEFAULT_MAX_LABEL_VALUE;
    opt.method = PREX_PUSH_PUT;
    opt.retries = DEFAULT_RETRIES;
    opt.timeout_ms = DEFAULT_TIMEOUT_MS;

    args = calloc((size_t)argc + 1, sizeof *args);
    srcs = calloc((size_t)argc + 1, sizeof *srcs);
    opt.groups = calloc((size_t)argc + 1, sizeof *opt.groups);
    opt.headers = calloc((size_t)argc + 1, sizeof *opt.headers);
    opt.labels = calloc((size_t)argc + 1, sizeof *opt.labels);
    if (!args || !srcs || !opt.groups || !opt.headers || !opt.labels) {
        fprintf(stderr, PROG ": error: out of memory\n");
        return EXIT_USAGE;
    }
    rc = parse_args(argc, argv, &opt, args, &nargs);
    if (rc < 0)
        rc = check_options(&opt, nargs);
    if (rc < 0 && !opt.delete_group) {
        if (nargs == 0)
            args[nargs++] = "-";
        rc = make_sources(args, nargs, srcs);
        for (i = 0; rc < 0 && i < nargs; i++)
            if (opt.interval_ms && srcs[i].kind == SRC_STDIN)
                rc = usage_error("agent mode (--interval) reads its sources again every run: "
                                 "standard input cannot be one of them");
    }
    if (rc < 0)
        rc = relay_init(&R, &opt, srcs, opt.delete_group ? 0 : nargs);
    /* libcurl (and the TLS library under it) is set up only when a URL
     * is used: it is most of the start-up of a --check or a pipe stage */
    need_http = opt.delete_group || opt.push_url;
    for (i = 0; !need_http && !opt.delete_group && i < nargs; i++)
        need_http = srcs[i].kind == SRC_URL;
    if (rc < 0 && need_http && prex_http_global_init() != 0) {
        fprintf(stderr, PROG ": error: cannot initialise libcurl\n");
        rc = EXIT_USAGE;
    } else if (rc < 0) {
        if (opt.delete_group) {
            struct run r;
            char *token, *password;

            memset(&r, 0, sizeof r);
            r.opt = &opt;
            rc = setup_http(&r, &token, &password) != 0   ? EXIT_USAGE
                 : push_group(&r, NULL, NULL, 0, NULL) != 0 ? EXIT_PUSH
                                                            : EXIT_VALID;
            free(token);
            free(password);
        } else if (opt.interval_ms) {
            rc = agent(&R);
        } else {
            rc = run_once(&R, 0);
        }
        if (need_http)
            prex_http_global_cleanup();
    }

    relay_free(&R);
    for (i = 0; i < nargs; i++) {
        free(srcs[i].name);
        prex_buf_free(&srcs[i].buf);
    }
    for (i = 0; i < opt.ngroups; i++)
        free((char *)opt.groups[i].name);
    free(opt.groups);
    free(opt.headers);
    free(opt.labels);
    free(srcs);
    free(args);
    return rc;
}
