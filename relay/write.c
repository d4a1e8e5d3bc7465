/*
 * write.c - the writer: parser events to text 0.0.4 or OpenMetrics 1.0
 * text, one family block at a time, with the conversions between the two
 * formats (docs/cli.md lists them).
 *
 * A family is "open" from its first event until an event of another family
 * (or PREX_EV_EOF) closes it. Its HELP, TYPE and UNIT are held until its
 * first sample, so that the block always starts HELP, TYPE, UNIT whatever
 * order the input used. Only a gauge histogram written as text keeps
 * sample lines back (its _sum and _count lines, which become families of
 * their own after the bucket family); everything else goes straight out.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "write.h"

/* MARK: output primitives */

/* Appends p[0..n) to dst; on allocation failure sets the sticky _oom flag
 * (checked once per event) and appends nothing more. */
static inline void put(prex_writer *w, prex_buf *dst, const char *p, size_t n)
{
    if (w->_oom)
        return;
    if (dst->cap - dst->len >= n && dst->cap) {
        /* the common case, inline: the bytes and the NUL fit (the
         * allocation holds cap + 1 bytes) */
        memcpy(dst->ptr + dst->len, p, n);
        dst->len += n;
        dst->ptr[dst->len] = '\0';
        return;
    }
    if (prex_buf_append(dst, p, n) != 0)
        w->_oom = 1;
}

#define PUTS(w, dst, lit) put((w), (dst), "" lit, sizeof(lit) - 1)

static inline void put_char(prex_writer *w, prex_buf *dst, char c)
{
    if (!w->_oom && dst->cap - dst->len >= 1) {
        dst->ptr[dst->len++] = c;
        dst->ptr[dst->len] = '\0';
        return;
    }
    put(w, dst, &c, 1);
}

static void put_slice(prex_writer *w, prex_buf *dst, prex_slice s)
{
    put(w, dst, s.ptr, s.len);
}

/* Escaping modes: quoted strings (label values, quoted names, OpenMetrics
 * HELP) escape \ " and LF; text 0.0.4 HELP escapes only \ and LF. */
enum { ESC_STRING, ESC_TEXT_HELP };

/* Bytes that need an escape: 1 in both modes, 2 only in quoted strings. */
static const unsigned char esc_class[256] = { ['\\'] = 1, ['\n'] = 1, ['"'] = 2 };

/* Nonzero when one of the 8 bytes of v is zero (exact for "any"). */
static uint64_t has_zero_byte(uint64_t v)
{
    return (v - 0x0101010101010101ull) & ~v & 0x8080808080808080ull;
}

/* Nonzero when a byte of v may need an escape: a backslash, a newline or
 * a quote (exact for "none": zero means the 8 bytes are plain). */
static uint64_t may_escape(uint64_t v)
{
    return has_zero_byte(v ^ 0x5c5c5c5c5c5c5c5cull) |  /* '\\' */
           has_zero_byte(v ^ 0x0a0a0a0a0a0a0a0aull) |  /* '\n' */
           has_zero_byte(v ^ 0x2222222222222222ull);   /* '"' */
}

/* next_special() for fewer than 16 bytes p[i..n): from 4 bytes on, two
 * overlapping loads show that all of them are plain (the common case);
 * otherwise byte by byte. */
static size_t next_special_short(const char *p, size_t i, size_t n)
{
    size_t r = n - i;

    if (r >= 8) {
        uint64_t a, b;

        memcpy(&a, p + i, 8);
        memcpy(&b, p + n - 8, 8);
        if (!may_escape(a) && !may_escape(b))
            return n;
    } else if (r >= 4) {
        uint32_t a, b;

        memcpy(&a, p + i, 4);
        memcpy(&b, p + n - 4, 4);
        if (!may_escape(a | (uint64_t)b << 32))
            return n;
    }
    while (i < n && !esc_class[(unsigned char)p[i]])
        i++;
    return i;
}

#ifdef PREX_SIMD_SSE2
/* One bit per byte of v that is a backslash, a newline or a quote. */
static inline unsigned special_bits(__m128i v)
{
    return (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')),
                                  _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))),
                     _mm_cmpeq_epi8(v, _mm_set1_epi8('"'))));
}

/* special_bits() of the 16 bytes at p. */
static inline unsigned special_mask(const char *p)
{
    return special_bits(_mm_loadu_si128((const __m128i *)(const void *)p));
}

/* The index of the first byte of p[i..n) that is a backslash, a newline
 * or a quote, or n: 16 bytes per step, the tail in one load that overlaps
 * bytes already seen (inputs shorter than 16 bytes in words). */
static size_t next_special(const char *p, size_t i, size_t n)
{
    unsigned m;

    for (; n - i >= 16; i += 16)
        if ((m = special_mask(p + i)) != 0)
            return i + (size_t)__builtin_ctz(m);
    if (i == n)
        return n;
    if (n >= 16) {
        m = special_mask(p + n - 16) >> (16 - (n - i)); /* the bytes from i on */
        return m ? i + (size_t)__builtin_ctz(m) : n;
    }
    return next_special_short(p, i, n);
}
#else
/* The scalar twin: words of 8 plain bytes skipped, then the rest. */
static size_t next_special(const char *p, size_t i, size_t n)
{
    for (; n - i >= 16; i += 8) {
        uint64_t v;

        memcpy(&v, p + i, 8);
        if (may_escape(v)) /* among these 8 bytes, which the next call */
            break;         /* looks at first */
    }
    return next_special_short(p, i, n);
}
#endif

/*
 * Room escape_to() and copy_short() may write past the bytes they return:
 * they store whole 16-byte words.
 */
#define OVERSHOOT 16

#ifdef PREX_SIMD_SSE2
/*
 * The word loads of copy_short(), copy_plain() and legacy_label_name()
 * may read past a string's end, never past its page (page_safe16()), and
 * ignore those bytes. The address sanitizer would report such a read, so
 * it leaves these three functions out (the fuzz targets run them).
 */
#if defined(__GNUC__)
#define IN_PAGE_READ __attribute__((no_sanitize_address))
#else
#define IN_PAGE_READ
#endif

/* Nonzero when the 16 bytes from p lie in p's 4 KiB page: loading them
 * cannot fault, even where fewer of them belong to the string. */
static inline int page_safe16(const char *p)
{
    return ((uintptr_t)p & 4095) <= 4096 - 16;
}

/* Copies n bytes to o, which has room for n + OVERSHOOT: a string of at
 * most 16 bytes (most names) in one load and one store. */
static inline IN_PAGE_READ char *copy_short(char *o, const char *p, size_t n)
{
    if (n <= 16 && page_safe16(p))
        _mm_storeu_si128((__m128i *)(void *)o, _mm_loadu_si128((const __m128i *)(const void *)p));
    else
        memcpy(o, p, n);
    return o + n;
}

/* The length of the leading run of p[0..n) copied to o in 16-byte words
 * free of a backslash, a newline and a quote: all of n (the common case)
 * unless such a byte is found, or the last word would cross into the next
 * page. o has room for n + OVERSHOOT. */
static inline IN_PAGE_READ size_t copy_plain(char *o, const char *p, size_t n)
{
    size_t i = 0;

    for (; n - i >= 16; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));

        if (special_bits(v))
            return i;
        _mm_storeu_si128((__m128i *)(void *)(o + i), v);
    }
    if (i < n && page_safe16(p + i)) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));

        if (special_bits(v) & ((1u << (n - i)) - 1))
            return i;
        _mm_storeu_si128((__m128i *)(void *)(o + i), v);
        return n;
    }
    return i;
}

/* prex_is_legacy_label_name() for the common name of 1 to 16 bytes in
 * one load: every byte [A-Za-z0-9_], the first not a digit. Longer names
 * and names at a page's end go to the library's check. */
static inline IN_PAGE_READ int legacy_label_name(prex_slice name)
{
    unsigned ok, digits, colons, want;

    if (name.len - 1 >= 16 || !page_safe16(name.ptr))
        return prex_is_legacy_label_name(name);
    ok = prex__name_class16(_mm_loadu_si128((const __m128i *)(const void *)name.ptr), &digits,
                            &colons);
    want = (2u << (name.len - 1)) - 1;
    return (ok & want) == want && !(digits & 1);
}
#else
/* The scalar twins: plain copies, no run taken before the scan, and the
 * library's name check. */
static inline char *copy_short(char *o, const char *p, size_t n)
{
    memcpy(o, p, n);
    return o + n;
}

static inline size_t copy_plain(char *o, const char *p, size_t n)
{
    (void)o, (void)p, (void)n;
    return 0;
}

static inline int legacy_label_name(prex_slice name)
{
    return prex_is_legacy_label_name(name);
}
#endif

/* escape_to() from p[i], where the plain run copied to o ends: the rest
 * of the value, escaped, after the run. Returns the end. */
static PREX_NOINLINE char *escape_rest(char *o, const char *p, size_t i, size_t n, int mode)
{
    const unsigned mask = mode == ESC_STRING ? 3 : 1;
    size_t start = i;

    o += i;
    while ((i = next_special(p, i, n)) < n) {
        unsigned char c = (unsigned char)p[i];

        if (!(esc_class[c] & mask)) {
            i++;
            continue;
        }
        memcpy(o, p + start, i - start);
        o += i - start;
        *o++ = '\\';
        *o++ = c == '\n' ? 'n' : (char)c;
        start = ++i;
    }
    memcpy(o, p + start, n - start);
    return o + (n - start);
}

/* Escapes decoded bytes p[0..n) per mode into o, which has room for
 * 2n + OVERSHOOT bytes, and returns the end. A value without a byte to
 * escape is copied in 16-byte words, inline; otherwise runs without one
 * are copied in one piece (a quote in text HELP is such a byte). */
static PREX_INLINE char *escape_to(char *o, const char *p, size_t n, int mode)
{
    size_t i = copy_plain(o, p, n);

    if (i == n)
        return o + n;
    return escape_rest(o, p, i, n, mode);
}

/* Makes room for n more bytes of dst (and its NUL), as put() does;
 * on failure sets the sticky _oom flag. Returns where they go, or NULL. */
static inline char *reserve(prex_writer *w, prex_buf *dst, size_t n)
{
    if (w->_oom)
        return NULL;
    if (!(dst->cap - dst->len >= n && dst->cap) && prex_buf_make_room(dst, n) != 0) {
        w->_oom = 1;
        return NULL;
    }
    return dst->ptr + dst->len;
}

/* Ends a write into room reserve() gave: the data now ends at end. */
static inline void commit(prex_buf *dst, char *end)
{
    dst->len = (size_t)(end - dst->ptr);
    dst->ptr[dst->len] = '\0';
}

/* Appends decoded bytes p[0..n) escaped per mode. */
static void put_escaped(prex_writer *w, prex_buf *dst, const char *p, size_t n,
                        int mode)
{
    char *o = n <= ((size_t)-1 - OVERSHOOT) / 2 ? reserve(w, dst, 2 * n + OVERSHOOT) : NULL;

    if (o)
        commit(dst, escape_to(o, p, n, mode));
    else
        w->_oom = 1;
}

static void put_quoted(prex_writer *w, prex_buf *dst, prex_slice s)
{
    put_char(w, dst, '"');
    put_escaped(w, dst, s.ptr, s.len, ESC_STRING);
    put_char(w, dst, '"');
}

/* A family or metric name (decoded): as it is when it is a legacy metric
 * name, else quoted. */
static void put_metric_name(prex_writer *w, prex_buf *dst, prex_slice name)
{
    if (prex_is_legacy_metric_name(name))
        put_slice(w, dst, name);
    else
        put_quoted(w, dst, name);
}

static void put_int64(prex_writer *w, prex_buf *dst, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof b, "%" PRId64, v);

    put(w, dst, b, (size_t)n);
}

/* Milliseconds as exact decimal seconds: 1500 -> "1.5", -1000 -> "-1",
 * 1520879607789 -> "1520879607.789". */
static void put_ms_as_seconds(prex_writer *w, prex_buf *dst, int64_t ms)
{
    uint64_t mag = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    unsigned frac = (unsigned)(mag % 1000);
    char b[32];
    int n = snprintf(b, sizeof b, "%s%" PRIu64, ms < 0 ? "-" : "", mag / 1000);

    put(w, dst, b, (size_t)n);
    if (frac != 0) {
        char f[5];
        int k = 4;

        f[0] = '.';
        f[1] = (char)('0' + frac / 100);
        f[2] = (char)('0' + frac / 10 % 10);
        f[3] = (char)('0' + frac % 10);
        while (f[k - 1] == '0')
            k--;
        put(w, dst, f, (size_t)k);
    }
}

/*
 * Whether ms, written as decimal seconds, reads back (as the parser and
 * Prometheus read it: float seconds times 1000) within int64: values near
 * the int64 limits do not.
 */
static int ms_fits_seconds(int64_t ms)
{
    uint64_t mag = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    char b[40];
    double v;

    snprintf(b, sizeof b, "%s%" PRIu64 ".%03u", ms < 0 ? "-" : "", mag / 1000,
             (unsigned)(mag % 1000));
    v = strtod(b, NULL) * 1000.0;
    return v > -9223372036854775808.0 && v < 9223372036854775808.0;
}

/* A sample or exemplar value: the special values in their one canonical
 * spelling (text accepts "inf", "Infinity", "nan"; OpenMetrics wants
 * "+Inf", "-Inf", "NaN"), every other number as written. */
static void put_value(prex_writer *w, prex_buf *dst, prex_slice raw, double v)
{
    if (isnan(v))
        PUTS(w, dst, "NaN");
    else if (isinf(v))
        put(w, dst, v > 0 ? "+Inf" : "-Inf", 4);
    else
        put_slice(w, dst, raw);
}

/* MARK: decoding */

/* decode() of a slice with escapes: prex_unescape() into scratch. */
static prex_slice decode_escaped(prex_writer *w, prex_buf *scratch, prex_slice raw)
{
    prex_slice s = raw;

    prex_buf_clear(scratch);
    if (prex_buf_make_room(scratch, raw.len) != 0) {
        w->_oom = 1;
        s.len = 0;
        return s;
    }
    prex_buf_incr_len(scratch, prex_unescape(raw, prex_buf_space(scratch)));
    s.ptr = scratch->ptr;
    s.len = scratch->len;
    return s;
}

/*
 * Returns the decoded bytes of a raw slice: raw itself when esc is 0 (no
 * escapes; inline, the common case), else the prex_unescape() result in
 * scratch, valid until scratch is used again. On allocation failure sets
 * _oom and returns an empty slice.
 */
static inline prex_slice decode(prex_writer *w, prex_buf *scratch, prex_slice raw, int esc)
{
    return esc ? decode_escaped(w, scratch, raw) : raw;
}

/* Replaces dst's contents with the decoded bytes of raw. */
static void decode_into(prex_writer *w, prex_buf *dst, prex_slice raw, int esc)
{
    prex_buf_clear(dst);
    if (!esc) {
        put_slice(w, dst, raw);
        return;
    }
    if (prex_buf_make_room(dst, raw.len) != 0) {
        w->_oom = 1;
        return;
    }
    prex_buf_incr_len(dst, prex_unescape(raw, prex_buf_space(dst)));
}

static prex_slice buf_slice(const prex_buf *b)
{
    prex_slice s;

    s.ptr = b->ptr;
    s.len = b->len;
    return s;
}

static int slice_eq(prex_slice a, const char *p, size_t n)
{
    return a.len == n && (n == 0 || memcmp(a.ptr, p, n) == 0);
}

/* MARK: errors */


/* Records error code at input line with a printf-formatted detail and
 * returns code. Errors are sticky: the first one stays. */
static int fail(prex_writer *w, int code, uint64_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(prex_writer *w, int code, uint64_t line, const char *fmt, ...)
{
    va_list ap;

    if (w->_err.code != PREX_E_OK)
        return w->_err.code;
    va_start(ap, fmt);
    vsnprintf(w->_detail, sizeof w->_detail, fmt, ap);
    va_end(ap);
    w->_err.code = code;
    w->_err.line = line;
    w->_err.source = w->_source;
    w->_err.detail = w->_detail;
    return code;
}

static int fail_oom(prex_writer *w, uint64_t line)
{
    return fail(w, PREX_E_NO_MEMORY, line, "%s", "");
}

/* MARK: output family names */

/* Doubles the open-addressing table (16 slots at first) and re-inserts
 * every entry. Returns 0, or -1 when out of memory (table unchanged). */
static int grow_names(prex_writer *w)
{
    const prex_alloc *alc = w->_out->alc;
    size_t ncap = w->_tabcap ? w->_tabcap * 2 : 16, i;
    prex__write_name *t;

    if (ncap > (size_t)-1 / sizeof *t)
        return -1;
    t = alc->malloc(alc->ctx, ncap * sizeof *t);
    if (t == NULL)
        return -1;
    memset(t, 0, ncap * sizeof *t);
    for (i = 0; i < w->_tabcap; i++) {
        size_t j;

        if (!w->_tab[i]._used)
            continue;
        j = (size_t)w->_tab[i]._hash & (ncap - 1);
        while (t[j]._used)
            j = (j + 1) & (ncap - 1);
        t[j] = w->_tab[i];
    }
    if (w->_tab)
        alc->free(alc->ctx, w->_tab);
    w->_tab = t;
    w->_tabcap = ncap;
    return 0;
}

/* Nonzero when output family name was already written. */
static int name_taken(const prex_writer *w, prex_slice name)
{
    uint64_t h = prex__fnv1a(name.ptr, name.len);
    size_t i, mask;

    if (w->_tabcap == 0)
        return 0;
    mask = w->_tabcap - 1;
    for (i = (size_t)h & mask; w->_tab[i]._used; i = (i + 1) & mask) {
        const prex__write_name *e = &w->_tab[i];

        if (e->_hash == h && slice_eq(name, w->_names.ptr + e->_off, e->_len))
            return 1;
    }
    return 0;
}

/*
 * Records that output family name[0..n) is being written for the current
 * family (input line _line, current source). renamed: the output name is
 * not the input family's name. Returns 0, or an error when the name was
 * written before: PREX_E_NOT_CONTIGUOUS when the same input family comes
 * back, PREX_E_NAME_CLASH when two families (or two sources) meet in one
 * output name.
 */
static int register_name(prex_writer *w, prex_slice name, int renamed)
{
    uint64_t h = prex__fnv1a(name.ptr, name.len);
    size_t i, mask;
    prex__write_name *e;
    char shown[72];

    if ((w->_tabcount + 1) * 2 > w->_tabcap && grow_names(w) != 0)
        return fail_oom(w, w->_line);
    mask = w->_tabcap - 1;
    for (i = (size_t)h & mask; w->_tab[i]._used; i = (i + 1) & mask) {
        e = &w->_tab[i];
        if (e->_hash != h || !slice_eq(name, w->_names.ptr + e->_off, e->_len))
            continue;
        prex__show_name(shown, sizeof shown, name.ptr, name.len, 64);
        memcpy(w->_errname, shown, strlen(shown) + 1);
        w->_err.prev_source = e->_source;
        w->_err.prev_line = e->_line;
        if (e->_source != w->_source)
            return fail(w, PREX_E_NAME_CLASH, w->_line,
                        "output family \"%s\" is also written from source %u, line %" PRIu64,
                        shown, e->_source, e->_line);
        if (!renamed && !e->_renamed)
            return fail(w, PREX_E_NOT_CONTIGUOUS, w->_line,
                        "family \"%s\" comes back after other families (first at line %" PRIu64
                        "); the writer cannot make it one block",
                        shown, e->_line);
        return fail(w, PREX_E_NAME_CLASH, w->_line,
                    "output family \"%s\" is already written for the family at line %" PRIu64,
                    shown, e->_line);
    }
    e = &w->_tab[i];
    e->_hash = h;
    e->_off = w->_names.len;
    e->_len = name.len;
    e->_line = w->_line;
    e->_source = w->_source;
    e->_renamed = (unsigned char)(renamed != 0);
    put(w, &w->_names, name.ptr, name.len);
    if (w->_oom)
        return fail_oom(w, w->_line);
    e->_used = 1;
    w->_tabcount++;
    return 0;
}

/* MARK: family blocks */

static int ends_with(prex_slice s, const char *suffix, size_t n)
{
    return s.len > n && memcmp(s.ptr + s.len - n, suffix, n) == 0;
}

/*
 * Fixes how the current family is written, once its type is known (first
 * sample, or close for a family without samples): the main block's output
 * name and whether a gauge histogram is split into gauges (text output).
 *
 * A text counter x_total becomes OpenMetrics family x, unless x is already
 * written (Go exporters have a gauge go_memstats_alloc_bytes right before
 * the counter go_memstats_alloc_bytes_total): it is then written as an
 * unknown family x_total, which keeps its series names and stays valid.
 */
static void plan_family(prex_writer *w)
{
    prex_slice fam = buf_slice(&w->_fam);
    int om_in = w->_infmt == PREX_FORMAT_OPENMETRICS;

    prex_buf_clear(&w->_outfam);
    w->_split = 0;
    if (w->_format == PREX_FORMAT_TEXT) {
        put_slice(w, &w->_outfam, fam);
        if (w->_type == PREX_TYPE_GAUGEHISTOGRAM) {
            w->_split = 1;
            PUTS(w, &w->_outfam, "_bucket");
        } else if (om_in && w->_type == PREX_TYPE_COUNTER) {
            PUTS(w, &w->_outfam, "_total");
        } else if (om_in && w->_type == PREX_TYPE_INFO) {
            PUTS(w, &w->_outfam, "_info");
        }
    } else if (!om_in && w->_type == PREX_TYPE_COUNTER && ends_with(fam, "_total", 6)) {
        prex_slice base = fam;

        base.len -= 6;
        if (name_taken(w, base)) {
            w->_type = PREX_TYPE_UNTYPED;
            w->stats.untyped_counters++;
            put_slice(w, &w->_outfam, fam);
        } else {
            put_slice(w, &w->_outfam, base);
        }
    } else {
        put_slice(w, &w->_outfam, fam);
    }
    w->_planned = 1;
}

/* The text 0.0.4 type of a family of type t: text has the five 0.0.4
 * types only, so info, stateset and (split) gauge histograms are gauges
 * there. */
prex_type prex_write_text_type(prex_type t)
{
    switch (t) {
    case PREX_TYPE_COUNTER:
    case PREX_TYPE_GAUGE:
    case PREX_TYPE_HISTOGRAM:
    case PREX_TYPE_SUMMARY:
        return t;
    case PREX_TYPE_INFO:
    case PREX_TYPE_STATESET:
    case PREX_TYPE_GAUGEHISTOGRAM:
        return PREX_TYPE_GAUGE;
    default:
        return PREX_TYPE_UNTYPED;
    }
}

/* The TYPE token of the current family in the output format. */
static const char *out_type_name(const prex_writer *w)
{
    if (w->_format == PREX_FORMAT_OPENMETRICS)
        return prex_type_name((prex_type)w->_type, PREX_FORMAT_OPENMETRICS);
    return prex_type_name(prex_write_text_type((prex_type)w->_type), PREX_FORMAT_TEXT);
}

/* "# HELP name text\n" for the held help, when it is not empty. */
static void put_help_line(prex_writer *w, prex_buf *dst, prex_slice name)
{
    if (!w->_has_help || w->_help.len == 0)
        return;
    PUTS(w, dst, "# HELP ");
    put_metric_name(w, dst, name);
    put_char(w, dst, ' ');
    put_escaped(w, dst, w->_help.ptr, w->_help.len,
                w->_format == PREX_FORMAT_TEXT ? ESC_TEXT_HELP : ESC_STRING);
    put_char(w, dst, '\n');
}

/* "# TYPE name type\n". */
static void put_type_line(prex_writer *w, prex_buf *dst, prex_slice name,
                          const char *type)
{
    PUTS(w, dst, "# TYPE ");
    put_metric_name(w, dst, name);
    put_char(w, dst, ' ');
    put(w, dst, type, strlen(type));
    put_char(w, dst, '\n');
}

/* Writes the main block's metadata (HELP, TYPE, and UNIT for OpenMetrics)
 * after registering its output name. Precondition: planned. */
static int write_header(prex_writer *w)
{
    prex_slice name = buf_slice(&w->_outfam);
    int renamed = !slice_eq(name, w->_fam.ptr, w->_fam.len);
    int rc = register_name(w, name, renamed);

    if (rc != 0)
        return rc;
    put_help_line(w, w->_out, name);
    put_type_line(w, w->_out, name, out_type_name(w));
    if (w->_format == PREX_FORMAT_OPENMETRICS && w->_has_unit && w->_unit.len > 0) {
        PUTS(w, w->_out, "# UNIT ");
        put_metric_name(w, w->_out, name);
        put_char(w, w->_out, ' ');
        put(w, w->_out, w->_unit.ptr, w->_unit.len);
        put_char(w, w->_out, '\n');
    }
    w->_header = 1;
    w->stats.families++;
    return 0;
}

/* Name suffixes of the split-off gauge families: [0] sum, [1] count. */
static const char *side_suffix(const prex_writer *w, int k)
{
    if (w->_infmt == PREX_FORMAT_OPENMETRICS)
        return k == 0 ? "_gsum" : "_gcount";
    return k == 0 ? "_sum" : "_count";
}

/*
 * Ends the current family: writes the metadata of a family that had no
 * sample written to the main block (unless its samples all went to split
 * blocks), then the split-off _sum and _count gauge families. Uses _tmp2
 * for names, never _tmp.
 */
static int close_family(prex_writer *w)
{
    int k, rc;

    if (!w->_open)
        return 0;
    if (!w->_planned)
        plan_family(w);
    if (!w->_header && w->_side[0].len == 0 && w->_side[1].len == 0) {
        rc = write_header(w);
        if (rc != 0)
            return rc;
    }
    for (k = 0; k < 2; k++) {
        const char *suf = side_suffix(w, k);
        prex_slice name;

        if (w->_side[k].len == 0)
            continue;
        prex_buf_clear(&w->_tmp2);
        put(w, &w->_tmp2, w->_fam.ptr, w->_fam.len);
        put(w, &w->_tmp2, suf, strlen(suf));
        if (w->_oom)
            return fail_oom(w, w->_line);
        name = buf_slice(&w->_tmp2);
        rc = register_name(w, name, 1);
        if (rc != 0)
            return rc;
        put_help_line(w, w->_out, name);
        put_type_line(w, w->_out, name, "gauge");
        put(w, w->_out, w->_side[k].ptr, w->_side[k].len);
        w->stats.families++;
        prex_buf_clear(&w->_side[k]);
    }
    w->_open = 0;
    return 0;
}

/* Starts a family named by the raw slice name (decoded here) with the
 * defaults of a family that has seen no metadata yet. */
static void open_family(prex_writer *w, prex_slice name, int esc, int infmt,
                        uint64_t line)
{
    decode_into(w, &w->_fam, name, esc);
    w->_open = 1;
    w->_infmt = infmt;
    w->_type = PREX_TYPE_UNTYPED;
    w->_planned = 0;
    w->_split = 0;
    w->_header = 0;
    w->_has_help = 0;
    w->_has_unit = 0;
    w->_line = line;
    w->_nsamples = 0;
    prex_buf_clear(&w->_help);
    prex_buf_clear(&w->_unit);
}

/* MARK: samples */

/* Writes labels as name="value" pairs joined by ',' (no braces), names
 * quoted when they are not legacy label names. */
static void put_labels(prex_writer *w, prex_buf *dst, const prex_label *l, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        prex_slice s;
        char *o;

        if (!l[i].name_esc && legacy_label_name(l[i].name)) {
            /* the common case: ,name="value" in one piece of room */
            s = decode(w, &w->_tmp, l[i].value, l[i].value_esc);
            if (s.len > ((size_t)-1 - 4 - OVERSHOOT) / 2 - l[i].name.len ||
                !(o = reserve(w, dst, l[i].name.len + 2 * s.len + 4 + OVERSHOOT))) {
                w->_oom = 1;
                return;
            }
            if (i > 0)
                *o++ = ',';
            o = copy_short(o, l[i].name.ptr, l[i].name.len);
            *o++ = '=';
            *o++ = '"';
            o = escape_to(o, s.ptr, s.len, ESC_STRING);
            *o++ = '"';
            commit(dst, o);
            continue;
        }
        if (i > 0)
            put_char(w, dst, ',');
        s = decode(w, &w->_tmp, l[i].name, l[i].name_esc);
        if (prex_is_legacy_label_name(s))
            put_slice(w, dst, s);
        else
            put_quoted(w, dst, s);
        put_char(w, dst, '=');
        s = decode(w, &w->_tmp, l[i].value, l[i].value_esc);
        put_quoted(w, dst, s);
    }
}

/* name{labels}, or {"quoted name",labels} for a name that is not a legacy
 * metric name. */
static void put_series(prex_writer *w, prex_buf *dst, prex_slice name,
                       const prex_label *l, size_t n)
{
    if (prex_is_legacy_metric_name(name)) {
        put_slice(w, dst, name);
        if (n == 0)
            return;
        put_char(w, dst, '{');
    } else {
        put_char(w, dst, '{');
        put_quoted(w, dst, name);
        if (n > 0)
            put_char(w, dst, ',');
    }
    put_labels(w, dst, l, n);
    put_char(w, dst, '}');
}

/*
 * Builds the output name of a sample in _tmp2: its decoded name, with the
 * renames the output format needs (OpenMetrics from text: a counter's
 * sample gets "_total", a gauge histogram's _sum/_count become
 * _gsum/_gcount).
 */
static prex_slice sample_out_name(prex_writer *w, const prex_event *ev)
{
    prex_slice name = decode(w, &w->_tmp, ev->name, ev->name_esc);

    prex_buf_clear(&w->_tmp2);
    if (w->_format == PREX_FORMAT_OPENMETRICS && w->_infmt == PREX_FORMAT_TEXT) {
        if (w->_type == PREX_TYPE_COUNTER && ev->suffix == PREX_SUFFIX_NONE &&
            !ends_with(buf_slice(&w->_fam), "_total", 6)) {
            put_slice(w, &w->_tmp2, name);
            PUTS(w, &w->_tmp2, "_total");
            return buf_slice(&w->_tmp2);
        }
        if (w->_type == PREX_TYPE_GAUGEHISTOGRAM &&
            (ev->suffix == PREX_SUFFIX_SUM || ev->suffix == PREX_SUFFIX_COUNT)) {
            put(w, &w->_tmp2, w->_fam.ptr, w->_fam.len);
            if (ev->suffix == PREX_SUFFIX_SUM)
                PUTS(w, &w->_tmp2, "_gsum");
            else
                PUTS(w, &w->_tmp2, "_gcount");
            return buf_slice(&w->_tmp2);
        }
    }
    put_slice(w, &w->_tmp2, name);
    return buf_slice(&w->_tmp2);
}

/* Writes one sample line to the main block, or to a split-off block. */
static int write_sample(prex_writer *w, const prex_event *ev)
{
    prex_buf *dst = w->_out;
    prex_slice name;
    int rc;

    w->_nsamples++;
    if (!w->_planned) {
        w->_type = ev->type;
        plan_family(w);
    }
    if (w->_format == PREX_FORMAT_TEXT && w->_infmt == PREX_FORMAT_OPENMETRICS &&
        ev->suffix == PREX_SUFFIX_CREATED) {
        w->stats.dropped_created++;
        return 0;
    }
    if (w->_split && (ev->suffix == PREX_SUFFIX_SUM || ev->suffix == PREX_SUFFIX_GSUM)) {
        dst = &w->_side[0];
    } else if (w->_split &&
               (ev->suffix == PREX_SUFFIX_COUNT || ev->suffix == PREX_SUFFIX_GCOUNT)) {
        dst = &w->_side[1];
    } else if (!w->_header) {
        rc = write_header(w);
        if (rc != 0)
            return rc;
    }

    if (ev->has_timestamp && (w->_opts & PREX_WRITE_STRIP_TIMESTAMPS)) {
        uint32_t v = 0;
        int r = prex__set_get_or_put(&w->_stripped, w->_out->alc, prex__series_key(ev), &v);
        if (r < 0)
            return fail_oom(w, ev->line);
        if (r == 1)
            return fail(w, PREX_E_DUP_SERIES, ev->line, "%s",
                        "several timestamped points of this series would be one series "
                        "repeated once the timestamps are stripped");
    }
    if (w->_format == PREX_FORMAT_OPENMETRICS && w->_infmt == PREX_FORMAT_TEXT &&
        !(w->_opts & PREX_WRITE_STRIP_TIMESTAMPS) &&
        ((ev->has_timestamp && !ms_fits_seconds(ev->timestamp_ms)) ||
         (ev->has_exemplar && ev->exemplar.has_timestamp &&
          !ms_fits_seconds(ev->exemplar.timestamp_ms))))
        return fail(w, PREX_E_TIMESTAMP_RANGE, ev->line, "%s",
                    "the timestamp cannot be written as OpenMetrics seconds that read "
                    "back within int64 milliseconds");
    name = sample_out_name(w, ev);
    put_series(w, dst, name, ev->labels, ev->nlabels);
    put_char(w, dst, ' ');
    put_value(w, dst, ev->value_raw, ev->value);
    if (ev->has_timestamp) {
        if (w->_opts & PREX_WRITE_STRIP_TIMESTAMPS) {
            w->stats.stripped_timestamps++;
        } else if (w->_format == PREX_FORMAT_TEXT) {
            put_char(w, dst, ' ');
            put_int64(w, dst, ev->timestamp_ms);
        } else if (w->_infmt == PREX_FORMAT_OPENMETRICS) {
            put_char(w, dst, ' ');
            put_slice(w, dst, ev->timestamp_raw);
        } else {
            put_char(w, dst, ' ');
            put_ms_as_seconds(w, dst, ev->timestamp_ms);
        }
    }
    if (ev->has_exemplar) {
        const prex_exemplar *ex = &ev->exemplar;
        /* OpenMetrics allows exemplars only on counters and (gauge)
         * histogram buckets; a counter written as an unknown family (its
         * base name was taken) loses them */
        int allowed = w->_type == PREX_TYPE_COUNTER ||
                      ((w->_type == PREX_TYPE_HISTOGRAM || w->_type == PREX_TYPE_GAUGEHISTOGRAM) &&
                       ev->suffix == PREX_SUFFIX_BUCKET);

        if (w->_format == PREX_FORMAT_TEXT || !allowed) {
            w->stats.dropped_exemplars++;
        } else {
            PUTS(w, dst, " # {");
            put_labels(w, dst, ex->labels, ex->nlabels);
            PUTS(w, dst, "} ");
            put_value(w, dst, ex->value_raw, ex->value);
            if (ex->has_timestamp) {
                put_char(w, dst, ' ');
                if (w->_infmt == PREX_FORMAT_OPENMETRICS)
                    put_slice(w, dst, ex->timestamp_raw);
                else
                    put_ms_as_seconds(w, dst, ex->timestamp_ms);
            }
        }
    }
    put_char(w, dst, '\n');
    w->stats.samples++;
    return 0;
}

/* MARK: metadata */

/* Holds a HELP text (decoded, blanks and CRs trimmed). A HELP after the
 * family's samples (text input) is written where it stands for text
 * output and dropped for OpenMetrics, which forbids it. */
static void take_help(prex_writer *w, const prex_event *ev)
{
    size_t n;

    decode_into(w, &w->_help, ev->text, ev->text_esc);
    n = w->_help.len;
    /* no blank or CR at the end (a CR before the line's LF would make it
     * a CRLF line end); for text output no blank at the start either,
     * since the text format skips blanks after the name */
    while (n > 0 && (w->_help.ptr[n - 1] == ' ' || w->_help.ptr[n - 1] == '\t' ||
                     w->_help.ptr[n - 1] == '\r'))
        n--;
    prex_buf_truncate(&w->_help, n);
    if (w->_format == PREX_FORMAT_TEXT) {
        size_t k = 0;
        while (k < n && (w->_help.ptr[k] == ' ' || w->_help.ptr[k] == '\t'))
            k++;
        if (k) {
            memmove(w->_help.ptr, w->_help.ptr + k, n - k);
            prex_buf_truncate(&w->_help, n - k);
        }
    }
    w->_has_help = 1;
    if (!w->_header)
        return;
    if (w->_format == PREX_FORMAT_TEXT)
        put_help_line(w, w->_out, buf_slice(&w->_outfam));
    else if (w->_help.len > 0)
        w->stats.dropped_help++;
}

/* MARK: public functions */

void prex_writer_init(prex_writer *w, prex_buf *out, prex_format format,
                      unsigned options)
{
    const prex_alloc *alc = out->alc;
    int k;

    memset(w, 0, sizeof *w);
    w->_out = out;
    w->_format = format;
    w->_opts = options;
    w->_err.code = PREX_E_OK;
    w->_err.detail = w->_detail;
    w->_err.name = w->_errname;
    prex_buf_init(&w->_fam, alc);
    prex_buf_init(&w->_outfam, alc);
    prex_buf_init(&w->_help, alc);
    prex_buf_init(&w->_unit, alc);
    for (k = 0; k < 2; k++)
        prex_buf_init(&w->_side[k], alc);
    prex_buf_init(&w->_tmp, alc);
    prex_buf_init(&w->_tmp2, alc);
    prex_buf_init(&w->_names, alc);
}

void prex_writer_set_source(prex_writer *w, unsigned source)
{
    w->_source = source;
}

/*
 * Dispatches one event: a new family name closes the open family and
 * opens the next; HELP, TYPE and UNIT are held until the first sample;
 * samples are written; EOF closes the family; comments are counted and
 * dropped.
 */
int prex_write_event(prex_writer *w, const prex_event *ev, prex_format input_format)
{
    prex_slice fam;
    int rc = 0;

    if (w->_err.code != PREX_E_OK)
        return w->_err.code;
    if (w->_finished)
        return fail(w, PREX_E_USAGE, ev->line, "event after prex_writer_finish()");
    switch (ev->kind) {
    case PREX_EV_COMMENT:
        w->stats.dropped_comments++;
        return 0;
    case PREX_EV_EOF:
        rc = close_family(w);
        goto done;
    case PREX_EV_HELP:
    case PREX_EV_TYPE:
    case PREX_EV_UNIT:
        fam = ev->name;
        break;
    case PREX_EV_SAMPLE:
        fam = ev->family;
        break;
    default:
        return fail(w, PREX_E_USAGE, ev->line, "unknown event kind %d", ev->kind);
    }

    {
        prex_slice key = decode(w, &w->_tmp, fam, ev->name_esc);

        if (!w->_open || w->_infmt != (int)input_format ||
            !slice_eq(key, w->_fam.ptr, w->_fam.len)) {
            rc = close_family(w);
            if (rc != 0)
                return rc;
            open_family(w, fam, ev->name_esc, (int)input_format, ev->line);
        }
    }

    switch (ev->kind) {
    case PREX_EV_HELP:
        take_help(w, ev);
        break;
    case PREX_EV_TYPE:
        if (w->_nsamples > 0)
            return fail(w, PREX_E_META_AFTER_SAMPLES, ev->line,
                        "TYPE after the family's samples");
        w->_type = ev->type;
        break;
    case PREX_EV_UNIT:
        if (w->_nsamples > 0)
            return fail(w, PREX_E_META_AFTER_SAMPLES, ev->line,
                        "UNIT after the family's samples");
        if (w->_format == PREX_FORMAT_TEXT) {
            if (ev->text.len > 0)
                w->stats.dropped_units++;
            break;
        }
        prex_buf_clear(&w->_unit);
        put_slice(w, &w->_unit, ev->text);
        w->_has_unit = 1;
        break;
    default:
        rc = write_sample(w, ev);
        break;
    }
done:
    if (rc != 0)
        return rc;
    if (w->_oom)
        return fail_oom(w, ev->line);
    return 0;
}

int prex_writer_finish(prex_writer *w)
{
    int rc;

    if (w->_err.code != PREX_E_OK)
        return w->_err.code;
    if (w->_finished)
        return fail(w, PREX_E_USAGE, 0, "prex_writer_finish() called twice");
    rc = close_family(w);
    if (rc != 0)
        return rc;
    if (w->_format == PREX_FORMAT_OPENMETRICS)
        PUTS(w, w->_out, "# EOF\n");
    w->_finished = 1;
    if (w->_oom)
        return fail_oom(w, 0);
    return 0;
}

const prex_write_error *prex_writer_error(const prex_writer *w)
{
    return &w->_err;
}

void prex_writer_free(prex_writer *w)
{
    const prex_alloc *alc = w->_out->alc;
    int k;

    prex_buf_free(&w->_fam);
    prex_buf_free(&w->_outfam);
    prex_buf_free(&w->_help);
    prex_buf_free(&w->_unit);
    for (k = 0; k < 2; k++)
        prex_buf_free(&w->_side[k]);
    prex_buf_free(&w->_tmp);
    prex_buf_free(&w->_tmp2);
    prex_buf_free(&w->_names);
    prex__set_free(&w->_stripped, alc);
    if (w->_tab)
        alc->free(alc->ctx, w->_tab);
    w->_tab = NULL;
    w->_tabcap = 0;
    w->_tabcount = 0;
}
