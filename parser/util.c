/*
 * util.c - small stateless helpers of the public API: position lookup,
 * unescaping, names of types and suffixes, format detection and the
 * legacy name checks.
 */
#include <string.h>

#include "prex.h"

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

static int is_alpha_(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

int prex_is_legacy_metric_name(prex_slice name)
{
    size_t i;

    if (name.len == 0)
        return 0;
    for (i = 0; i < name.len; i++) {
        unsigned char c = (unsigned char)name.ptr[i];
        if (!(is_alpha_(c) || c == ':' || (i > 0 && is_digit(c))))
            return 0;
    }
    return 1;
}

int prex_is_legacy_label_name(prex_slice name)
{
    size_t i;

    if (name.len == 0)
        return 0;
    for (i = 0; i < name.len; i++) {
        unsigned char c = (unsigned char)name.ptr[i];
        if (!(is_alpha_(c) || (i > 0 && is_digit(c))))
            return 0;
    }
    return 1;
}
