/*
 * util.c - small stateless helpers of the public API: position lookup,
 * unescaping, names of types and suffixes, format detection and the
 * legacy name checks.
 */
#include <string.h>

#include "internal.h"

/* Line and column of byte off: counts newlines before it. O(off). */
int prex_locate(const char *buf, size_t len, size_t off,
                uint64_t *line, uint64_t *column)
{
    uint64_t ln = 1;
    size_t start = 0;
    const char *nl;

    if (off > len)
        return -1;
    while ((nl = memchr(buf + start, '\n', off - start)) != NULL) {
        ln++;
        start = (size_t)(nl - buf) + 1;
    }
    if (line)
        *line = ln;
    if (column)
        *column = (uint64_t)(off - start) + 1;
    return 0;
}

/* Decodes \\ \" \n; other pairs and a lone final backslash are copied. */
size_t prex_unescape(prex_slice in, char *out)
{
    size_t i = 0, o = 0;

    while (i < in.len) {
        char c = in.ptr[i];
        if (c == '\\' && i + 1 < in.len) {
            char n = in.ptr[i + 1];
            if (n == '\\' || n == '"') {
                out[o++] = n;
                i += 2;
                continue;
            }
            if (n == 'n') {
                out[o++] = '\n';
                i += 2;
                continue;
            }
        }
        out[o++] = c;
        i++;
    }
    return o;
}

const char *prex_type_name(prex_type type, prex_format format)
{
    switch (type) {
    case PREX_TYPE_COUNTER: return "counter";
    case PREX_TYPE_GAUGE: return "gauge";
    case PREX_TYPE_HISTOGRAM: return "histogram";
    case PREX_TYPE_GAUGEHISTOGRAM: return "gaugehistogram";
    case PREX_TYPE_SUMMARY: return "summary";
    case PREX_TYPE_INFO: return "info";
    case PREX_TYPE_STATESET: return "stateset";
    case PREX_TYPE_UNTYPED: break;
    }
    return format == PREX_FORMAT_OPENMETRICS ? "unknown" : "untyped";
}

size_t prex_suffix_len(prex_suffix suffix)
{
    static const unsigned char lens[] = {
        [PREX_SUFFIX_NONE] = 0, [PREX_SUFFIX_TOTAL] = 6, [PREX_SUFFIX_CREATED] = 8,
        [PREX_SUFFIX_BUCKET] = 7, [PREX_SUFFIX_SUM] = 4, [PREX_SUFFIX_COUNT] = 6,
        [PREX_SUFFIX_GSUM] = 5, [PREX_SUFFIX_GCOUNT] = 7, [PREX_SUFFIX_INFO] = 5,
    };
    if ((unsigned)suffix >= sizeof lens)
        return 0;
    return lens[suffix];
}

/* OpenMetrics when the last line, ignoring one final "\n", is "# EOF". */
prex_format prex_detect_format(const char *buf, size_t len)
{
    if (len && buf[len - 1] == '\n')
        len--;
    if (len >= 5 && memcmp(buf + len - 5, "# EOF", 5) == 0 &&
        (len == 5 || buf[len - 6] == '\n'))
        return PREX_FORMAT_OPENMETRICS;
    return PREX_FORMAT_TEXT;
}

/* name is a legacy name: not empty, its first byte [a-zA-Z_] (or ':' for
 * a metric name), all of it [a-zA-Z0-9_] (and ':' for a metric name). */
static PREX_INLINE int legacy_name(prex_slice name, int metric)
{
    const unsigned char *p = (const unsigned char *)name.ptr, *e = p + name.len;
    unsigned next = metric ? 7 : 3;
    int colons;

    if (name.len == 0 || !(prex__namech[p[0]] & (metric ? 5 : 1)))
        return 0;
    if (name.len >= 16) /* long (metric) names: 16 bytes per step */
        return prex__scan_name(p, e, &colons) == e && (metric || !colons);
    while (++p < e)
        if (!(prex__namech[*p] & next))
            return 0;
    return 1;
}

int prex_is_legacy_metric_name(prex_slice name)
{
    return legacy_name(name, 1);
}

int prex_is_legacy_label_name(prex_slice name)
{
    return legacy_name(name, 0);
}

size_t prex__utf8_next(const unsigned char *s, const unsigned char *e, uint32_t *cp)
{
    uint32_t c = *s, v;
    size_t k;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        k = 1;
        v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        k = 2;
        v = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 3;
        v = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(e - s) <= k)
        return 0;
    for (size_t i = 1; i <= k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if ((k == 2 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
        (k == 3 && (v < 0x10000 || v > 0x10ffff)))
        return 0;
    *cp = v;
    return k + 1;
}

void prex__show_name(char *out, size_t outsz, const char *p, size_t n, size_t max)
{
    size_t i, k = 0, lim = n > max ? max : n;

    for (i = 0; i < lim && k + 4 < outsz; i++) {
        unsigned char c = (unsigned char)p[i];
        out[k++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (lim < n && k + 4 < outsz) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
}

size_t prex__exemplar_chars(const prex_exemplar *ex)
{
    size_t i, j, n = 0;
    for (i = 0; i < ex->nlabels; i++) {
        const prex_slice *sl[2] = { &ex->labels[i].name, &ex->labels[i].value };
        for (j = 0; j < 2; j++) {
            size_t k;
            for (k = 0; k < sl[j]->len; k++) {
                unsigned char ch = (unsigned char)sl[j]->ptr[k];
                if ((ch & 0xc0) == 0x80)
                    continue;
                /* \\ \" \n decode to one character; any other pair
                 * stays two (OpenMetrics keeps it as written) */
                if (ch == '\\' && k + 1 < sl[j]->len &&
                    (sl[j]->ptr[k + 1] == '\\' || sl[j]->ptr[k + 1] == '"' ||
                     sl[j]->ptr[k + 1] == 'n'))
                    k++;
                n++;
            }
        }
    }
    return n;
}

uint64_t prex__fnv1a(const char *p, size_t n)
{
    uint64_t h = 14695981039346656037u;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211u;
    }
    return h;
}
