/*
 * testlib.c - shared support for the CUnit suites: the growable string,
 * file and directory functions, the event-log writer and its one-shot,
 * chunked and unfinished drivers, guard-page buffers and the message
 * asserts. See testlib.h for the event-log format.
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "prex.h"
#include "testlib.h"

/* MARK: growable string */

/* malloc that aborts: a test binary out of memory cannot report anything
 * meaningful. */
static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "testlib: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

/* strdup that aborts when out of memory. */
static char *xstrdup(const char *z)
{
    size_t n = strlen(z) + 1;
    char *p = xmalloc(n);
    memcpy(p, z, n);
    return p;
}

/* Grows s so that n more bytes and the NUL fit. Capacity doubles, so a
 * sequence of appends is amortised linear. */
void prex_test_str_reserve(prex_test_str *s, size_t n)
{
    size_t need = s->len + n + 1;
    size_t cap;
    char *p;

    if (need <= s->cap)
        return;
    cap = s->cap ? s->cap : 64;
    while (cap < need)
        cap *= 2;
    p = realloc(s->ptr, cap);
    if (!p) {
        fprintf(stderr, "testlib: out of memory (%zu bytes)\n", cap);
        abort();
    }
    s->ptr = p;
    s->cap = cap;
}

void prex_test_str_append(prex_test_str *s, const char *p, size_t n)
{
    prex_test_str_reserve(s, n);
    if (n)
        memcpy(s->ptr + s->len, p, n);
    s->len += n;
    s->ptr[s->len] = '\0';
}

void prex_test_str_puts(prex_test_str *s, const char *z)
{
    prex_test_str_append(s, z, strlen(z));
}

void prex_test_str_putc(prex_test_str *s, char c)
{
    prex_test_str_append(s, &c, 1);
}

/* Formats into the free space, growing once if the first try did not
 * fit. */
void prex_test_str_printf(prex_test_str *s, const char *fmt, ...)
{
    va_list ap;
    int n;

    prex_test_str_reserve(s, 64);
    va_start(ap, fmt);
    n = vsnprintf(s->ptr + s->len, s->cap - s->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        s->ptr[s->len] = '\0';
        return;
    }
    if ((size_t)n >= s->cap - s->len) {
        prex_test_str_reserve(s, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(s->ptr + s->len, s->cap - s->len, fmt, ap);
        va_end(ap);
    }
    s->len += (size_t)n;
}

void prex_test_str_clear(prex_test_str *s)
{
    s->len = 0;
    if (s->ptr)
        s->ptr[0] = '\0';
}

void prex_test_str_free(prex_test_str *s)
{
    free(s->ptr);
    s->ptr = NULL;
    s->len = 0;
    s->cap = 0;
}

void prex_test_str_put_visible(prex_test_str *s, const char *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i;

    prex_test_str_reserve(s, n);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f) {
            char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            prex_test_str_append(s, esc, 4);
        } else {
            prex_test_str_putc(s, (char)c);
        }
    }
}

/* MARK: files and places */

/* Reads with fread in a loop, so that it also works for files whose size
 * stat does not know. */
char *prex_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    prex_test_str s = {0};
    size_t n;

    if (!f)
        return NULL;
    prex_test_str_reserve(&s, 4096);
    for (;;) {
        n = fread(s.ptr + s.len, 1, s.cap - s.len - 1, f);
        s.len += n;
        s.ptr[s.len] = '\0';
        if (n == 0)
            break;
        if (s.cap - s.len - 1 == 0)
            prex_test_str_reserve(&s, s.cap);
    }
    if (ferror(f)) {
        int e = errno;
        fclose(f);
        prex_test_str_free(&s);
        errno = e;
        return NULL;
    }
    fclose(f);
    if (len)
        *len = s.len;
    return s.ptr;
}

const char *prex_test_shared_dir(void)
{
    const char *env = getenv("PREX_SHARED");
    if (env && *env)
        return env;
    return "../shared";
}

int prex_test_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects the names with readdir, then sorts them so that the order of
 * the tests does not depend on the file system. */
char **prex_test_list_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char **list;
    size_t count = 0, cap = 64;

    if (!d)
        return NULL;
    list = xmalloc(cap * sizeof *list);
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (count + 1 >= cap) {
            char **nlist = realloc(list, 2 * cap * sizeof *list);
            if (!nlist) {
                fprintf(stderr, "testlib: out of memory\n");
                abort();
            }
            list = nlist;
            cap *= 2;
        }
        list[count++] = xstrdup(de->d_name);
    }
    closedir(d);
    qsort(list, count, sizeof *list, cmp_names);
    list[count] = NULL;
    if (n)
        *n = count;
    return list;
}

void prex_test_free_list(char **list)
{
    size_t i;
    if (!list)
        return;
    for (i = 0; list[i]; i++)
        free(list[i]);
    free(list);
}

/* MARK: conformance cases */

/* Joins a and b with a "/" into a malloc'd string. */
static char *path_join(const char *a, const char *b)
{
    size_t an = strlen(a), bn = strlen(b);
    char *p = xmalloc(an + bn + 2);
    memcpy(p, a, an);
    p[an] = '/';
    memcpy(p + an + 1, b, bn + 1);
    return p;
}

/* Reads dir/file; NULL (and *len = 0) if it does not exist. */
static char *read_in(const char *dir, const char *file, size_t *len)
{
    char *path = path_join(dir, file);
    char *buf = prex_test_read_file(path, len);
    if (!buf)
        *len = 0;
    free(path);
    return buf;
}

/* Reads a one-word file ("valid", "text", ...) and compares it, ignoring
 * trailing blanks and newlines, with each of the two words. Returns 0 or
 * 1 for the word that matched, -1 if the file is missing or holds another
 * word. */
static int read_word(const char *dir, const char *file, const char *w0,
                     const char *w1)
{
    size_t len;
    char *buf = read_in(dir, file, &len);
    int r = -1;

    if (!buf)
        return -1;
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' ' ||
                   buf[len - 1] == '\r' || buf[len - 1] == '\t'))
        len--;
    if (len == strlen(w0) && memcmp(buf, w0, len) == 0)
        r = 0;
    else if (len == strlen(w1) && memcmp(buf, w1, len) == 0)
        r = 1;
    free(buf);
    return r;
}

/* Formats a malloc'd message. */
static char *msgf(const char *fmt, const char *a, const char *b)
{
    prex_test_str s = {0};
    prex_test_str_printf(&s, fmt, a, b);
    return s.ptr;
}

/* Reads the case files of one directory into c. Returns NULL or a
 * malloc'd message naming what is missing. */
static char *load_case(prex_test_case *c, const char *root, const char *name)
{
    int f, v, lv;

    memset(c, 0, sizeof *c);
    c->name = xstrdup(name);
    c->path = path_join(root, name);
    f = read_word(c->path, "format", "text", "openmetrics");
    v = read_word(c->path, "verdict", "invalid", "valid");
    lv = read_word(c->path, "verdict-legacy", "invalid", "valid");
    if (f < 0)
        return msgf("%s/%s: missing or unknown format", root, name);
    if (v < 0)
        return msgf("%s/%s: missing or unknown verdict", root, name);
    c->format = f ? PREX_FORMAT_OPENMETRICS : PREX_FORMAT_TEXT;
    c->valid = v;
    c->has_legacy = lv >= 0;
    c->legacy_valid = lv >= 0 ? lv : v;
    c->input = read_in(c->path, "input.txt", &c->input_len);
    if (!c->input)
        return msgf("%s/%s: cannot read input.txt", root, name);
    c->refs = read_in(c->path, "reference-verdicts", &c->refs_len);
    c->expected = read_in(c->path, "expected.txt", &c->expected_len);
    c->meta = read_in(c->path, "expected-meta.txt", &c->meta_len);
    return NULL;
}

prex_test_case *prex_test_load_cases(size_t *n, char **why)
{
    char *root = path_join(prex_test_shared_dir(), "conformance");
    prex_test_case *cases;
    size_t count = 0, nnames = 0, i;
    char **names = prex_test_list_dir(root, &nnames);

    *n = 0;
    *why = NULL;
    if (!names) {
        *why = msgf("cannot open %s%s (set PREX_SHARED to the shared folder)",
                    root, "");
        free(root);
        return NULL;
    }
    cases = xmalloc((nnames ? nnames : 1) * sizeof *cases);
    for (i = 0; i < nnames; i++) {
        char *sub = path_join(root, names[i]);
        int isdir = prex_test_is_dir(sub);
        free(sub);
        if (!isdir)
            continue; /* README.md */
        *why = load_case(&cases[count], root, names[i]);
        count++;
        if (*why) {
            prex_test_free_cases(cases, count);
            cases = NULL;
            count = 0;
            break;
        }
    }
    prex_test_free_list(names);
    free(root);
    *n = count;
    return cases;
}

void prex_test_free_cases(prex_test_case *cases, size_t n)
{
    size_t i;
    if (!cases)
        return;
    for (i = 0; i < n; i++) {
        free(cases[i].name);
        free(cases[i].path);
        free(cases[i].input);
        free(cases[i].refs);
        free(cases[i].expected);
        free(cases[i].meta);
    }
    free(cases);
}

/* Each line of reference-verdicts reads
 *     <parser> <repo>@<commit>: valid
 *     <parser> <repo>@<commit>: invalid: <message>
 * Returns the answer of the line at [p, end): 1, 0, or -1 if malformed. */
static int ref_line_answer(const char *p, const char *end)
{
    const char *sep;

    for (sep = p; sep + 1 < end; sep++)
        if (sep[0] == ':' && sep[1] == ' ')
            break;
    if (sep + 1 >= end)
        return -1;
    sep += 2;
    if ((size_t)(end - sep) >= 7 && memcmp(sep, "invalid", 7) == 0)
        return 0;
    if ((size_t)(end - sep) >= 5 && memcmp(sep, "valid", 5) == 0)
        return 1;
    return -1;
}

/* Calls back for each line; stops when fn returns nonzero and returns
 * that value. */
static int each_ref_line(const prex_test_case *c,
                         int (*fn)(const char *p, const char *end, const void *arg),
                         const void *arg)
{
    const char *p = c->refs, *end = c->refs + c->refs_len;

    if (!p)
        return 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        int r = fn(p, le, arg);
        if (r)
            return r;
        p = le + 1;
    }
    return 0;
}

/* each_ref_line callback: the answer (+1, so that 0 means "go on") of the
 * line whose first word is the parser name in arg. */
static int match_parser(const char *p, const char *end, const void *arg)
{
    const char *name = arg;
    size_t n = strlen(name);
    int a;

    if ((size_t)(end - p) <= n || memcmp(p, name, n) != 0 || p[n] != ' ')
        return 0;
    a = ref_line_answer(p, end);
    return a < 0 ? 0 : a + 1;
}

int prex_test_ref_verdict(const prex_test_case *c, const char *parser)
{
    return each_ref_line(c, match_parser, parser) - 1;
}

/* each_ref_line callback: 1 when the line's answer is *(const int *)arg. */
static int match_answer(const char *p, const char *end, const void *arg)
{
    return ref_line_answer(p, end) == *(const int *)arg;
}

int prex_test_ref_any(const prex_test_case *c, int valid)
{
    return each_ref_line(c, match_answer, &valid);
}

/* MARK: event log */

const char *prex_test_type_name(int type)
{
    static const char *const names[] = {
        "untyped", "counter", "gauge", "histogram", "gaugehistogram",
        "summary", "info", "stateset",
    };
    if (type < 0 || (size_t)type >= sizeof names / sizeof names[0])
        return "?";
    return names[type];
}

const char *prex_test_suffix_name(int suffix)
{
    static const char *const names[] = {
        "none", "total", "created", "bucket", "sum", "count", "gsum",
        "gcount", "info",
    };
    if (suffix < 0 || (size_t)suffix >= sizeof names / sizeof names[0])
        return "?";
    return names[suffix];
}

/* Appends a slice as `"` + visible bytes + `"`. */
static void put_quoted(prex_test_str *out, prex_slice s)
{
    prex_test_str_putc(out, '"');
    prex_test_str_put_visible(out, s.ptr, s.len);
    prex_test_str_putc(out, '"');
}

/* Appends a double as %.17g, with NaN, +Inf and -Inf spelled out. */
void prex_test_str_put_double(prex_test_str *out, double v)
{
    if (isnan(v))
        prex_test_str_puts(out, "NaN");
    else if (isinf(v))
        prex_test_str_puts(out, v > 0 ? "+Inf" : "-Inf");
    else
        prex_test_str_printf(out, "%.17g", v);
}

/* Appends "{n=v,...}" with quoted raw names and values. */
static void put_labels(prex_test_str *out, const prex_label *labels, size_t n)
{
    size_t i;

    prex_test_str_putc(out, '{');
    for (i = 0; i < n; i++) {
        if (i)
            prex_test_str_putc(out, ',');
        put_quoted(out, labels[i].name);
        prex_test_str_putc(out, '=');
        put_quoted(out, labels[i].value);
    }
    prex_test_str_putc(out, '}');
}

/* Appends "<raw>=<%.17g> ts=<ms or ->". */
static void put_value_ts(prex_test_str *out, prex_slice raw, double v,
                         int has_ts, int64_t ts)
{
    prex_test_str_put_visible(out, raw.ptr, raw.len);
    prex_test_str_putc(out, '=');
    prex_test_str_put_double(out, v);
    if (has_ts)
        prex_test_str_printf(out, " ts=%" PRId64, ts);
    else
        prex_test_str_puts(out, " ts=-");
}

void prex_test_evlog_event(prex_test_str *out, const prex_event *ev)
{
    prex_test_str_printf(out, "@%" PRIu64 " ", ev->offset);
    switch (ev->kind) {
    case PREX_EV_HELP:
        prex_test_str_puts(out, "HELP ");
        put_quoted(out, ev->name);
        prex_test_str_putc(out, ' ');
        put_quoted(out, ev->text);
        break;
    case PREX_EV_TYPE:
        prex_test_str_puts(out, "TYPE ");
        put_quoted(out, ev->name);
        prex_test_str_putc(out, ' ');
        prex_test_str_puts(out, prex_test_type_name((int)ev->type));
        break;
    case PREX_EV_UNIT:
        prex_test_str_puts(out, "UNIT ");
        put_quoted(out, ev->name);
        prex_test_str_putc(out, ' ');
        put_quoted(out, ev->text);
        break;
    case PREX_EV_COMMENT:
        prex_test_str_puts(out, "COMMENT ");
        put_quoted(out, ev->text);
        break;
    case PREX_EV_SAMPLE:
        prex_test_str_puts(out, "SAMPLE ");
        put_quoted(out, ev->name);
        prex_test_str_puts(out, " fam=");
        put_quoted(out, ev->family);
        prex_test_str_printf(out, " sfx=%s type=%s ",
                             prex_test_suffix_name((int)ev->suffix),
                             prex_test_type_name((int)ev->type));
        put_labels(out, ev->labels, ev->nlabels);
        prex_test_str_putc(out, ' ');
        put_value_ts(out, ev->value_raw, ev->value, ev->has_timestamp,
                     ev->timestamp_ms);
        if (ev->has_exemplar) {
            prex_test_str_puts(out, " # ");
            put_labels(out, ev->exemplar.labels, ev->exemplar.nlabels);
            prex_test_str_putc(out, ' ');
            put_value_ts(out, ev->exemplar.value_raw, ev->exemplar.value,
                         ev->exemplar.has_timestamp, ev->exemplar.timestamp_ms);
        }
        break;
    case PREX_EV_EOF:
        prex_test_str_puts(out, "EOF");
        break;
    default:
        prex_test_str_printf(out, "KIND %d", ev->kind);
        break;
    }
    prex_test_str_putc(out, '\n');
}

void prex_test_evlog_error(prex_test_str *out, const prex_parser *p)
{
    const prex_error *e = prex_parser_error(p);
    prex_test_str_printf(out, "@%" PRIu64 " ERROR %s %" PRIu64 ":%" PRIu64 "\n",
                         e->offset, prex_errname(e->code), e->line, e->column);
}

/* Logs one prex_next() result. Returns nonzero when the parse is over
 * (EOF, error, or a value that is neither an event nor NEED_MORE). */
static int log_result(prex_test_str *out, const prex_parser *p, int rc,
                      const prex_event *ev)
{
    if (rc == PREX_ERROR) {
        prex_test_evlog_error(out, p);
        return 1;
    }
    if (rc >= PREX_EV_HELP && rc <= PREX_EV_EOF) {
        prex_test_evlog_event(out, ev);
        return rc == PREX_EV_EOF;
    }
    if (rc != PREX_NEED_MORE) {
        prex_test_str_printf(out, "RC %d\n", rc);
        return 1;
    }
    return 0;
}

/* A parser that keeps returning events without making progress would
 * hang the suite: no input of len bytes has more than len + 1 lines, so
 * more events than that (plus EOF) ends the loop with a marker line. */
static int too_many(prex_test_str *out, size_t nev, size_t len)
{
    if (nev <= len + 2)
        return 0;
    prex_test_str_puts(out, "LOOP more events than lines\n");
    return 1;
}

int prex_test_evlog(const char *buf, size_t len, prex_format fmt, unsigned flags,
                    prex_test_str *out)
{
    prex_parser p;
    prex_event ev;
    size_t nev = 0;
    int rc;

    prex_parser_init(&p, buf, len, fmt, flags);
    prex_finish(&p);
    for (;;) {
        rc = prex_next(&p, &ev);
        if (rc == PREX_NEED_MORE) {
            prex_test_str_puts(out, "NEED_MORE after prex_finish\n");
            break;
        }
        if (log_result(out, &p, rc, &ev) || too_many(out, ++nev, len))
            break;
    }
    prex_parser_free(&p);
    return rc;
}

int prex_test_evlog_unfinished(const char *buf, size_t len, prex_format fmt,
                               unsigned flags, prex_test_str *out)
{
    prex_parser p;
    prex_event ev;
    size_t nev = 0;
    int rc;

    prex_parser_init(&p, buf, len, fmt, flags);
    for (;;) {
        rc = prex_next(&p, &ev);
        if (rc == PREX_NEED_MORE)
            break;
        if (log_result(out, &p, rc, &ev) || too_many(out, ++nev, len))
            break;
    }
    prex_parser_free(&p);
    return rc;
}

/* Returns a fresh heap buffer holding a[0..an) b[0..bn) '\0'. */
static char *concat(const char *a, size_t an, const char *b, size_t bn)
{
    char *p = xmalloc(an + bn + 1);
    if (an)
        memcpy(p, a, an);
    if (bn)
        memcpy(p + an, b, bn);
    p[an + bn] = '\0';
    return p;
}

int prex_test_evlog_chunked(const char *buf, size_t len, prex_format fmt,
                            unsigned flags, const size_t *cuts, size_t ncuts,
                            prex_test_str *out)
{
    prex_parser p;
    prex_event ev;
    size_t fed = ncuts ? cuts[0] : len; /* input bytes handed over so far */
    size_t next = 1;                    /* index of the next piece */
    size_t curlen = fed, nev = 0;
    char *cur = concat(buf, fed, NULL, 0);
    int rc;

    prex_parser_init(&p, cur, curlen, fmt, flags);
    if (ncuts == 0)
        prex_finish(&p);
    for (;;) {
        rc = prex_next(&p, &ev);
        if (rc == PREX_NEED_MORE) {
            size_t consumed, end;
            char *nb;
            if (next > ncuts) {
                prex_test_str_puts(out, "NEED_MORE after prex_finish\n");
                break;
            }
            consumed = prex_parser_consumed(&p);
            PREX_ASSERT_FATAL(consumed <= curlen);
            end = next < ncuts ? cuts[next] : len;
            PREX_ASSERT_FATAL(end > fed && end <= len);
            nb = concat(cur + consumed, curlen - consumed, buf + fed, end - fed);
            curlen = curlen - consumed + (end - fed);
            prex_parser_refill(&p, nb, curlen);
            free(cur);
            cur = nb;
            fed = end;
            if (next == ncuts)
                prex_finish(&p);
            next++;
            continue;
        }
        if (log_result(out, &p, rc, &ev) || too_many(out, ++nev, len))
            break;
    }
    prex_parser_free(&p);
    free(cur);
    return rc;
}

/* MARK: guard pages */

void prex_test_guard_init(prex_test_guard *g, const char *in, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t need = len + 1;
    size_t data = (need + page - 1) / page;
    char *base;

    g->maplen = (data + 2) * page;
    g->map = mmap(NULL, g->maplen, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g->map == MAP_FAILED) {
        perror("testlib: mmap");
        abort();
    }
    base = g->map;
    if (mprotect(base, page, PROT_NONE) != 0 ||
        mprotect(base + (data + 1) * page, page, PROT_NONE) != 0) {
        perror("testlib: mprotect");
        abort();
    }
    g->buf = base + (data + 1) * page - need;
    g->len = len;
    if (len)
        memcpy(g->buf, in, len);
    g->buf[len] = '\0';
}

void prex_test_guard_free(prex_test_guard *g)
{
    if (g->map && g->map != MAP_FAILED)
        munmap(g->map, g->maplen);
    g->map = NULL;
    g->buf = NULL;
    g->len = 0;
    g->maplen = 0;
}

/* MARK: asserts */

int prex_test_fail(const char *file, unsigned line, const char *fmt, ...)
{
    prex_test_str msg = {0};
    va_list ap;
    int n;

    prex_test_str_reserve(&msg, 256);
    va_start(ap, fmt);
    n = vsnprintf(msg.ptr, msg.cap, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= msg.cap) {
        prex_test_str_reserve(&msg, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(msg.ptr, msg.cap, fmt, ap);
        va_end(ap);
    }
    CU_assertImplementation(CU_FALSE, line, msg.ptr, file, "", CU_FALSE);
    prex_test_str_free(&msg);
    return 0;
}

int prex_test_pass(const char *file, unsigned line)
{
    CU_assertImplementation(CU_TRUE, line, "", file, "", CU_FALSE);
    return 1;
}

void prex_test_abort(const char *file, unsigned line, const char *what)
{
    fprintf(stderr, "%s:%u: fatal assert failed: %s\n", file, line, what);
    abort();
}

int prex_test_slice_eq(const char *file, unsigned line, const char *what,
                       const char *got, size_t got_len,
                       const char *want, size_t want_len, int fatal)
{
    prex_test_str msg = {0};

    if (got_len == want_len && (got_len == 0 || memcmp(got, want, got_len) == 0))
        return prex_test_pass(file, line);
    prex_test_str_printf(&msg, "%s: got \"", what);
    if (got)
        prex_test_str_put_visible(&msg, got, got_len);
    prex_test_str_printf(&msg, "\" (%zu bytes), want \"", got_len);
    prex_test_str_put_visible(&msg, want, want_len);
    prex_test_str_printf(&msg, "\" (%zu bytes)", want_len);
    if (fatal) {
        fprintf(stderr, "%s:%u: fatal assert failed: %s\n", file, line, msg.ptr);
        abort();
    }
    CU_assertImplementation(CU_FALSE, line, msg.ptr, file, "", CU_FALSE);
    prex_test_str_free(&msg);
    return 0;
}

/* Returns the line of s that starts at *pos and advances *pos past it. */
static prex_slice next_line(const prex_test_str *s, size_t *pos)
{
    prex_slice r = {s->ptr ? s->ptr + *pos : "", 0};
    const char *nl;

    if (!s->ptr || *pos >= s->len)
        return r;
    nl = memchr(s->ptr + *pos, '\n', s->len - *pos);
    r.len = nl ? (size_t)(nl - r.ptr) : s->len - *pos;
    *pos += r.len + (nl != NULL);
    return r;
}

int prex_test_log_eq(const char *file, unsigned line, const char *what,
                     const prex_test_str *got, const prex_test_str *want)
{
    size_t gp = 0, wp = 0, ln = 1;
    prex_test_str msg = {0};
    prex_slice g, w;
    int gend, wend;

    if (got->len == want->len &&
        (got->len == 0 || memcmp(got->ptr, want->ptr, got->len) == 0))
        return prex_test_pass(file, line);
    for (;; ln++) {
        gend = gp >= got->len;
        wend = wp >= want->len;
        g = next_line(got, &gp);
        w = next_line(want, &wp);
        if (gend != wend || g.len != w.len || memcmp(g.ptr, w.ptr, g.len) != 0)
            break;
        if (gp >= got->len && wp >= want->len)
            break; /* only the final newline differs */
    }
    prex_test_str_printf(&msg, "%s: logs differ at line %zu\n      got:  ",
                         what, ln);
    prex_test_str_puts(&msg, gend ? "<end of log>" : "");
    prex_test_str_put_visible(&msg, g.ptr, g.len);
    prex_test_str_puts(&msg, "\n      want: ");
    prex_test_str_puts(&msg, wend ? "<end of log>" : "");
    prex_test_str_put_visible(&msg, w.ptr, w.len);
    CU_assertImplementation(CU_FALSE, line, msg.ptr, file, "", CU_FALSE);
    prex_test_str_free(&msg);
    return 0;
}
