/*
 * fuzzlib.c - support shared by the fuzz targets: configuration decoding,
 * the checking allocator, the event log and the event/error invariants.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"

/* MARK: failing loudly */

void prex_fuzz_die(const char *fmt, ...)
{
    va_list ap;

    fputs("prex fuzz: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void prex_fuzz_dump(const char *heading, const prex_fuzz_str *log)
{
    fprintf(stderr, "--- %s ---\n", heading);
    if (log->len)
        fwrite(log->ptr, 1, log->len, stderr);
    fprintf(stderr, "--- end of %s ---\n", heading);
}

/* MARK: configuration */

prex_fuzz_config prex_fuzz_config_decode(unsigned char byte)
{
    prex_fuzz_config c;

    c.format = (byte & 1) ? PREX_FORMAT_OPENMETRICS : PREX_FORMAT_TEXT;
    c.flags = 0;
    if (byte & 2)
        c.flags |= PREX_LENIENT_TRAILING_SPACE;
    if (byte & 4)
        c.flags |= PREX_LENIENT_CRLF;
    if (byte & 8)
        c.flags |= PREX_LENIENT_MISSING_NEWLINE;
    if (byte & 16)
        c.flags |= PREX_LEGACY_NAMES;
    c.alloc_mode = (byte >> 5) & 3;
    c.small_limits = (byte >> 7) & 1;
    return c;
}

/* MARK: checking allocator */

/* Each block is preceded by this header; the data follow it, aligned as
 * malloc() would align them. */
typedef struct block_head {
    size_t size;
    size_t magic;
} block_head;

#define BLOCK_MAGIC ((size_t)0x70726578u)
#define BLOCK_FREED ((size_t)0x64656164u)

/* Returns the header of a block the allocator handed out, aborting if p
 * is not one. */
static block_head *head_of(void *p)
{
    block_head *h = (block_head *)p - 1;

    if (h->magic != BLOCK_MAGIC)
        prex_fuzz_die("allocator: pointer %p was not handed out (or was freed)", p);
    return h;
}

/* Whether one more successful call fits in the budget; counts a refusal. */
static int within_budget(prex_fuzz_alloc *a)
{
    if (a->calls >= a->budget) {
        a->refused++;
        return 0;
    }
    return 1;
}

/* malloc(): size bytes after a header, or NULL past the budget. */
static void *fa_malloc(void *ctx, size_t size)
{
    prex_fuzz_alloc *a = ctx;
    block_head *h;

    if (!within_budget(a))
        return NULL;
    if (size > (size_t)-1 / 2)
        return NULL;
    h = malloc(sizeof *h + size);
    if (!h)
        return NULL;
    h->size = size;
    h->magic = BLOCK_MAGIC;
    a->calls++;
    a->live++;
    return h + 1;
}

/* realloc(): old_size must be the block's size; NULL ptr acts as malloc. */
static void *fa_realloc(void *ctx, void *ptr, size_t old_size, size_t size)
{
    prex_fuzz_alloc *a = ctx;
    block_head *h, *n;

    if (!ptr)
        return fa_malloc(ctx, size);
    h = head_of(ptr);
    if (h->size != old_size)
        prex_fuzz_die("allocator: realloc with old_size %zu, block has %zu",
                      old_size, h->size);
    if (!within_budget(a))
        return NULL;
    if (size > (size_t)-1 / 2)
        return NULL;
    n = realloc(h, sizeof *n + size);
    if (!n)
        return NULL;
    n->size = size;
    a->calls++;
    return n + 1;
}

/* free(): ptr must be a live block or NULL. */
static void fa_free(void *ctx, void *ptr)
{
    prex_fuzz_alloc *a = ctx;
    block_head *h;

    if (!ptr)
        return;
    h = head_of(ptr);
    h->magic = BLOCK_FREED;
    a->live--;
    free(h);
}

void prex_fuzz_alloc_init(prex_fuzz_alloc *a, size_t budget)
{
    a->alc.malloc = fa_malloc;
    a->alc.realloc = fa_realloc;
    a->alc.free = fa_free;
    a->alc.ctx = a;
    a->live = 0;
    a->calls = 0;
    a->budget = budget;
    a->refused = 0;
}

void prex_fuzz_alloc_check_empty(const prex_fuzz_alloc *a)
{
    if (a->live != 0)
        prex_fuzz_die("allocator: %zu blocks still live after prex_parser_free()",
                      a->live);
}

void prex_fuzz_setup(prex_parser *p, const prex_fuzz_config *cfg,
                     prex_fuzz_alloc *a, int with_max_bytes)
{
    if (cfg->small_limits) {
        prex_limits lim;

        lim.max_line = PREX_FUZZ_SMALL_LINE;
        lim.max_labels = PREX_FUZZ_SMALL_LABELS;
        lim.max_label_value = PREX_FUZZ_SMALL_LABEL_VALUE;
        lim.max_bytes = with_max_bytes ? PREX_FUZZ_SMALL_BYTES : 0;
        prex_parser_set_limits(p, &lim);
    }
    switch (cfg->alloc_mode) {
    case PREX_FUZZ_ALLOC_NONE:
        prex_parser_set_alloc(p, NULL);
        break;
    case PREX_FUZZ_ALLOC_LIBC:
        prex_parser_set_alloc(p, &prex_alloc_libc);
        break;
    default:
        prex_parser_set_alloc(p, &a->alc);
        break;
    }
}

/* MARK: growable string */

/* Makes room for n more bytes and the NUL. */
static void str_reserve(prex_fuzz_str *s, size_t n)
{
    size_t need = s->len + n + 1;
    char *np;
    size_t cap;

    if (need <= s->cap)
        return;
    cap = s->cap ? s->cap : 256;
    while (cap < need)
        cap *= 2;
    np = realloc(s->ptr, cap);
    if (!np)
        prex_fuzz_die("out of memory");
    s->ptr = np;
    s->cap = cap;
}

char *prex_fuzz_copy(const uint8_t *p, size_t n)
{
    char *b = malloc(n + 1);

    if (!b)
        return NULL;
    memcpy(b, p, n);
    b[n] = '\0';
    return b;
}

void prex_fuzz_str_append(prex_fuzz_str *s, const char *p, size_t n)
{
    str_reserve(s, n);
    if (n)
        memcpy(s->ptr + s->len, p, n);
    s->len += n;
    s->ptr[s->len] = '\0';
}

void prex_fuzz_str_printf(prex_fuzz_str *s, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        prex_fuzz_die("vsnprintf failed");
    str_reserve(s, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(s->ptr + s->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    s->len += (size_t)n;
}

void prex_fuzz_str_free(prex_fuzz_str *s)
{
    free(s->ptr);
    s->ptr = NULL;
    s->len = 0;
    s->cap = 0;
}

/* MARK: event log */

static const char *const type_names[] = {
    "untyped", "counter", "gauge", "histogram", "gaugehistogram", "summary",
    "info", "stateset"
};

static const char *const suffix_names[] = {
    "none", "total", "created", "bucket", "sum", "count", "gsum", "gcount",
    "info"
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Appends p[0..n) with bytes < 0x20 and 0x7f as \xHH. */
static void put_visible(prex_fuzz_str *s, const char *p, size_t n)
{
    size_t i, start = 0;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c >= 0x20 && c != 0x7f)
            continue;
        prex_fuzz_str_append(s, p + start, i - start);
        prex_fuzz_str_printf(s, "\\x%02X", c);
        start = i + 1;
    }
    prex_fuzz_str_append(s, p + start, n - start);
}

/* Appends a slice in double quotes. */
static void put_quoted(prex_fuzz_str *s, prex_slice sl)
{
    prex_fuzz_str_append(s, "\"", 1);
    put_visible(s, sl.ptr, sl.len);
    prex_fuzz_str_append(s, "\"", 1);
}

/* Appends a double: %.17g, or NaN, +Inf, -Inf. */
void prex_fuzz_put_double(prex_fuzz_str *s, double v)
{
    if (isnan(v))
        prex_fuzz_str_append(s, "NaN", 3);
    else if (isinf(v))
        prex_fuzz_str_append(s, v > 0 ? "+Inf" : "-Inf", 4);
    else
        prex_fuzz_str_printf(s, "%.17g", v);
}

/* Appends "{"n"="v",...}". */
static void put_labels(prex_fuzz_str *s, const prex_label *l, size_t n)
{
    size_t i;

    prex_fuzz_str_append(s, "{", 1);
    for (i = 0; i < n; i++) {
        if (i)
            prex_fuzz_str_append(s, ",", 1);
        put_quoted(s, l[i].name);
        prex_fuzz_str_append(s, "=", 1);
        put_quoted(s, l[i].value);
    }
    prex_fuzz_str_append(s, "}", 1);
}

/* Appends "<raw>=<value> ts=<ms or ->". */
static void put_value_ts(prex_fuzz_str *s, prex_slice raw, double v,
                         int has_ts, int64_t ms)
{
    put_visible(s, raw.ptr, raw.len);
    prex_fuzz_str_append(s, "=", 1);
    prex_fuzz_put_double(s, v);
    if (has_ts)
        prex_fuzz_str_printf(s, " ts=%lld", (long long)ms);
    else
        prex_fuzz_str_append(s, " ts=-", 5);
}

static const char *name_of(const char *const *names, size_t n, int v)
{
    return v >= 0 && (size_t)v < n ? names[v] : "?";
}

void prex_fuzz_log_event(prex_fuzz_str *out, const prex_event *ev)
{
    prex_fuzz_str_printf(out, "@%llu ", (unsigned long long)ev->offset);
    switch (ev->kind) {
    case PREX_EV_HELP:
    case PREX_EV_UNIT:
        prex_fuzz_str_printf(out, "%s ", ev->kind == PREX_EV_HELP ? "HELP" : "UNIT");
        put_quoted(out, ev->name);
        prex_fuzz_str_append(out, " ", 1);
        put_quoted(out, ev->text);
        break;
    case PREX_EV_TYPE:
        prex_fuzz_str_append(out, "TYPE ", 5);
        put_quoted(out, ev->name);
        prex_fuzz_str_printf(out, " %s",
                             name_of(type_names, COUNT_OF(type_names), (int)ev->type));
        break;
    case PREX_EV_COMMENT:
        prex_fuzz_str_append(out, "COMMENT ", 8);
        put_quoted(out, ev->text);
        break;
    case PREX_EV_SAMPLE:
        prex_fuzz_str_append(out, "SAMPLE ", 7);
        put_quoted(out, ev->name);
        prex_fuzz_str_append(out, " fam=", 5);
        put_quoted(out, ev->family);
        prex_fuzz_str_printf(out, " sfx=%s type=%s ",
                             name_of(suffix_names, COUNT_OF(suffix_names), (int)ev->suffix),
                             name_of(type_names, COUNT_OF(type_names), (int)ev->type));
        put_labels(out, ev->labels, ev->nlabels);
        prex_fuzz_str_append(out, " ", 1);
        put_value_ts(out, ev->value_raw, ev->value, ev->has_timestamp, ev->timestamp_ms);
        if (ev->has_exemplar) {
            const prex_exemplar *ex = &ev->exemplar;

            prex_fuzz_str_append(out, " # ", 3);
            put_labels(out, ex->labels, ex->nlabels);
            prex_fuzz_str_append(out, " ", 1);
            put_value_ts(out, ex->value_raw, ex->value, ex->has_timestamp,
                         ex->timestamp_ms);
        }
        break;
    case PREX_EV_EOF:
        prex_fuzz_str_append(out, "EOF", 3);
        break;
    default:
        prex_fuzz_str_printf(out, "KIND%d", ev->kind);
        break;
    }
    prex_fuzz_str_append(out, "\n", 1);
}

void prex_fuzz_log_error(prex_fuzz_str *out, const prex_parser *p)
{
    const prex_error *e = prex_parser_error(p);

    prex_fuzz_str_printf(out, "@%llu ERROR %s %llu:%llu\n",
                         (unsigned long long)e->offset, prex_errname(e->code),
                         (unsigned long long)e->line, (unsigned long long)e->column);
}

/* MARK: invariants */

void prex_fuzz_track_init(prex_fuzz_track *t, uint64_t total,
                          const prex_fuzz_config *cfg)
{
    t->total = total;
    t->have_prev = 0;
    t->prev_offset = 0;
    t->prev_line = 0;
    t->format = cfg->format;
    t->max_labels = cfg->small_limits ? PREX_FUZZ_SMALL_LABELS : PREX_MAX_LABELS;
}

/* Aborts unless sl lies inside [lo, hi]. An empty slice may be NULL. */
static void check_slice(const char *what, prex_slice sl, const char *lo,
                        const char *hi)
{
    if (sl.len == 0 && sl.ptr == NULL)
        return;
    if (sl.ptr == NULL)
        prex_fuzz_die("%s: NULL pointer with length %zu", what, sl.len);
    if (sl.ptr < lo || sl.ptr > hi || sl.len > (size_t)(hi - sl.ptr))
        prex_fuzz_die("%s: slice [%td, +%zu) outside its line [%td, %td)",
                      what, sl.ptr - lo, sl.len, (ptrdiff_t)0, hi - lo);
}

/* Decodes a slice with prex_unescape() into an exact-size heap buffer
 * (so ASan sees any write past in.len) and checks the length. */
static void check_unescape(const char *what, prex_slice sl)
{
    char *out = malloc(sl.len ? sl.len : 1);
    size_t n;

    if (!out)
        prex_fuzz_die("out of memory");
    n = prex_unescape(sl, out);
    if (n > sl.len)
        prex_fuzz_die("%s: prex_unescape wrote %zu bytes for %zu", what, n, sl.len);
    free(out);
}

/* Checks a label array: pointer present, count within the limit, every
 * slice inside the line, escapes decodable. */
static void check_labels(const char *what, const prex_label *l, size_t n,
                         size_t max, const char *lo, const char *hi)
{
    size_t i;

    if (n > max)
        prex_fuzz_die("%s: %zu labels, limit %zu", what, n, max);
    if (n && !l)
        prex_fuzz_die("%s: %zu labels but NULL array", what, n);
    for (i = 0; i < n; i++) {
        check_slice("label name", l[i].name, lo, hi);
        check_slice("label value", l[i].value, lo, hi);
        if (l[i].name.len == 0)
            prex_fuzz_die("%s: label %zu has an empty name", what, i);
        if (l[i].name_esc)
            check_unescape("label name", l[i].name);
        if (l[i].value_esc)
            check_unescape("label value", l[i].value);
    }
}

/*
 * An oracle for the parser's number conversion: a value whose token is a
 * decimal number (digits, a point, an exponent; not Inf, NaN or other
 * words) must hold what the C library's strtod reads from that token, bit
 * for bit. The parser converts most values itself (as it scans them,
 * Clinger's fast path, 128-bit exact arithmetic) and only the rest with
 * strtod. The fuzzers run in the C locale.
 */
static void check_value(const char *what, prex_slice raw, double v)
{
    char tmp[512], *end;
    double want;
    size_t i;

    if (raw.len == 0 || raw.len >= sizeof tmp)
        return;
    for (i = 0; i < raw.len; i++) {
        char c = raw.ptr[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' ||
              c == '-'))
            return;
    }
    memcpy(tmp, raw.ptr, raw.len);
    tmp[raw.len] = 0;
    want = strtod(tmp, &end);
    if (end != tmp + raw.len)
        prex_fuzz_die("%s \"%s\" accepted, but strtod reads only %zu bytes of it", what, tmp,
                      (size_t)(end - tmp));
    if (memcmp(&want, &v, sizeof v) != 0)
        prex_fuzz_die("%s \"%s\": parser %.17g, strtod %.17g", what, tmp, v, want);
}

/* Checks the fields of a sample event. */
static void check_sample(const prex_fuzz_track *t, const prex_event *ev,
                         const char *lo, const char *hi)
{
    size_t sfx;

    if ((int)ev->suffix < 0 || ev->suffix > PREX_SUFFIX_INFO)
        prex_fuzz_die("sample: suffix %d out of range", (int)ev->suffix);
    check_slice("sample name", ev->name, lo, hi);
    check_slice("sample family", ev->family, lo, hi);
    if (ev->name.len == 0)
        prex_fuzz_die("sample: empty name");
    sfx = prex_suffix_len(ev->suffix);
    if (ev->family.ptr != ev->name.ptr || ev->family.len + sfx != ev->name.len)
        prex_fuzz_die("sample: family (%zu bytes) + suffix %d (%zu) is not the name (%zu)",
                      ev->family.len, (int)ev->suffix, sfx, ev->name.len);
    if (ev->name_esc)
        check_unescape("sample name", ev->name);
    check_labels("sample", ev->labels, ev->nlabels, t->max_labels, lo, hi);
    check_slice("sample value", ev->value_raw, lo, hi);
    if (ev->value_raw.len == 0)
        prex_fuzz_die("sample: empty value token");
    check_value("sample value", ev->value_raw, ev->value);
    check_slice("sample timestamp", ev->timestamp_raw, lo, hi);
    if (ev->has_timestamp && ev->timestamp_raw.len == 0)
        prex_fuzz_die("sample: timestamp without its token");
    if (!ev->has_timestamp && (ev->timestamp_raw.len || ev->timestamp_ms))
        prex_fuzz_die("sample: timestamp fields set without has_timestamp");
    if (ev->has_exemplar) {
        const prex_exemplar *ex = &ev->exemplar;

        if (t->format != PREX_FORMAT_OPENMETRICS)
            prex_fuzz_die("sample: exemplar in the text format");
        check_labels("exemplar", ex->labels, ex->nlabels, PREX_MAX_LABELS, lo, hi);
        check_slice("exemplar value", ex->value_raw, lo, hi);
        if (ex->value_raw.len == 0)
            prex_fuzz_die("exemplar: empty value token");
        check_value("exemplar value", ex->value_raw, ex->value);
        check_slice("exemplar timestamp", ex->timestamp_raw, lo, hi);
        if (ex->has_timestamp && ex->timestamp_raw.len == 0)
            prex_fuzz_die("exemplar: timestamp without its token");
    } else if (ev->exemplar.nlabels || ev->exemplar.value_raw.len) {
        prex_fuzz_die("sample: exemplar fields set without has_exemplar");
    }
}

void prex_fuzz_check_event(prex_fuzz_track *t, const char *buf, size_t len,
                           uint64_t base, const prex_event *ev)
{
    const char *lo, *hi, *nl;

    if (ev->kind < PREX_EV_HELP || ev->kind > PREX_EV_EOF)
        prex_fuzz_die("event kind %d out of range", ev->kind);
    if (ev->offset < base || ev->offset > base + len)
        prex_fuzz_die("event offset %llu outside the buffer [%llu, %llu]",
                      (unsigned long long)ev->offset, (unsigned long long)base,
                      (unsigned long long)(base + len));
    if (ev->offset > t->total)
        prex_fuzz_die("event offset %llu past the input length %llu",
                      (unsigned long long)ev->offset, (unsigned long long)t->total);
    if (ev->line == 0)
        prex_fuzz_die("event line number 0");
    /* one event per line; only the text EOF may share the line of the
     * last event (when that line lacks its "\n") */
    if (t->have_prev &&
        (ev->offset <= t->prev_offset || ev->line < t->prev_line ||
         (ev->line == t->prev_line && ev->kind != PREX_EV_EOF)))
        prex_fuzz_die("event @%llu line %llu does not follow @%llu line %llu",
                      (unsigned long long)ev->offset, (unsigned long long)ev->line,
                      (unsigned long long)t->prev_offset,
                      (unsigned long long)t->prev_line);
    t->have_prev = 1;
    t->prev_offset = ev->offset;
    t->prev_line = ev->line;

    /* the event's own line: from its offset to the next '\n' */
    lo = buf + (ev->offset - base);
    nl = memchr(lo, '\n', (size_t)(buf + len - lo));
    hi = nl ? nl : buf + len;

    if ((int)ev->type < 0 || ev->type > PREX_TYPE_STATESET)
        prex_fuzz_die("event type %d out of range", (int)ev->type);
    if (!prex_type_name(ev->type, t->format))
        prex_fuzz_die("prex_type_name returned NULL");

    switch (ev->kind) {
    case PREX_EV_HELP:
    case PREX_EV_TYPE:
    case PREX_EV_UNIT:
        check_slice("metadata name", ev->name, lo, hi);
        check_slice("metadata text", ev->text, lo, hi);
        if (ev->name.len == 0)
            prex_fuzz_die("metadata: empty name");
        if (ev->name_esc)
            check_unescape("metadata name", ev->name);
        if (ev->text_esc)
            check_unescape("metadata text", ev->text);
        if (ev->kind == PREX_EV_UNIT && t->format != PREX_FORMAT_OPENMETRICS)
            prex_fuzz_die("UNIT event in the text format");
        break;
    case PREX_EV_COMMENT:
        check_slice("comment text", ev->text, lo, hi);
        if (t->format != PREX_FORMAT_TEXT)
            prex_fuzz_die("COMMENT event in OpenMetrics");
        break;
    case PREX_EV_SAMPLE:
        check_sample(t, ev, lo, hi);
        break;
    default: /* EOF */
        if (ev->name.len || ev->nlabels || ev->has_exemplar)
            prex_fuzz_die("EOF event with fields set");
        break;
    }
}

void prex_fuzz_check_error(const prex_fuzz_track *t, const prex_parser *p,
                           const char *whole)
{
    const prex_error *e = prex_parser_error(p);
    uint64_t line, column;

    if (e->code <= PREX_E_OK || e->code >= PREX_E__COUNT)
        prex_fuzz_die("error code %d out of range", e->code);
    if (!e->msg || !e->detail)
        prex_fuzz_die("error %s: NULL msg or detail", prex_errname(e->code));
    if (strcmp(e->msg, prex_strerror(e->code)) != 0)
        prex_fuzz_die("error %s: msg is not prex_strerror(code)", prex_errname(e->code));
    if (e->offset > t->total)
        prex_fuzz_die("error %s at offset %llu past the input length %llu",
                      prex_errname(e->code), (unsigned long long)e->offset,
                      (unsigned long long)t->total);
    if (e->line == 0 || e->column == 0)
        prex_fuzz_die("error %s at %llu:%llu: line and column are 1-based",
                      prex_errname(e->code), (unsigned long long)e->line,
                      (unsigned long long)e->column);
    if (whole) {
        if (prex_locate(whole, (size_t)t->total, (size_t)e->offset, &line, &column) != 0)
            prex_fuzz_die("prex_locate refused offset %llu <= %llu",
                          (unsigned long long)e->offset, (unsigned long long)t->total);
        if (line != e->line || column != e->column)
            prex_fuzz_die("error %s at offset %llu reports %llu:%llu, prex_locate says %llu:%llu",
                          prex_errname(e->code), (unsigned long long)e->offset,
                          (unsigned long long)e->line, (unsigned long long)e->column,
                          (unsigned long long)line, (unsigned long long)column);
    }
}

/*
 * Whether a text input's OpenMetrics output may fail its own parse with
 * this code: the rules OpenMetrics has and text does not (docs/cli.md,
 * "Conversions: text input, OpenMetrics output"; docs/format.md,
 * "OpenMetrics 1.0"): NaN and negative counts, integer bucket counts, the
 * "+Inf" spelling and strict order of le, the range of quantile, _sum
 * with _count, interleaving, timestamp order, names that clash once
 * counters get their _total, and UTF-8 in HELP text. Every other code is
 * a writer bug.
 */
int prex_fuzz_om_only_rule(int code)
{
    switch (code) {
    case PREX_E_NEGATIVE:
    case PREX_E_NAN_VALUE:
    case PREX_E_BUCKET_VALUE:
    case PREX_E_COUNT_VALUE:
    case PREX_E_LE:
    case PREX_E_LE_ORDER:
    case PREX_E_QUANTILE:
    case PREX_E_SUM_COUNT:
    case PREX_E_INTERLEAVED:
    case PREX_E_TS_ORDER:
    case PREX_E_NAME_CLASH:
    case PREX_E_UTF8:
        return 1;
    default:
        return 0;
    }
}
