/*
 * merge.c - the merge table: series of many sources grouped into text
 * 0.0.4 families by output name, conflicts resolved in source order,
 * duplicates removed, histograms and summaries checked, and the result
 * handed to the writer as events.
 *
 * Layout: a series is a 40-byte record in fixed chunks (never moved) and
 * one arena block holding its labels followed by its timestamp, its le or
 * quantile bound and its exemplar when it has them. A label is 8 bytes
 * (16-bit interned name number, 16-bit value length, 32-bit offset of the
 * value from the sample value's bytes: both lie in the same source line)
 * or, when one of those does not fit (values decoded or made by
 * relabeling live elsewhere), 16 bytes with a full pointer. The metric name is
 * not stored: it is the family name plus the series' role suffix. Each
 * series belongs to a "part": the series of one output family that came
 * from one source family with one type. Types, HELP and conflicts are
 * decided per part in prex_merge_finish(), in source order.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h" /* prex__number: le and quantile read as the parser reads them */
#include "merge.h"

#define NONE32 UINT32_MAX
#define CHUNK_SHIFT 12
#define CHUNK_SIZE ((size_t)1 << CHUNK_SHIFT)
#define DATA_BLOCK (256u * 1024u)
#define LABCACHE (sizeof ((prex_merge *)0)->_labcache / sizeof(uint32_t))
#define MSG_MAX 640

/* MARK: private types */

/* One label of a stored series, wide form. */
typedef struct mlabel {
    const char *value;
    uint32_t vlen;
    uint32_t name;        /* index into _names */
} mlabel;

/* One label, narrow form: the value is at vraw + off. */
typedef struct nlabel {
    uint16_t name;
    uint16_t vlen;
    int32_t off;
} nlabel;

/* Series flags. */
enum { S_TS = 1, S_KEY = 2, S_EX = 4, S_DEAD = 8, S_WIDE = 16 };

struct prex__merge_series {
    const char *vraw;     /* value as written */
    double value;
    void *labels;         /* nlabels labels (nlabel, or mlabel with
                           * S_WIDE), then [ts][key][exemplar] */
    uint32_t vlen;
    uint32_t part;
    uint32_t line;        /* input line, UINT32_MAX when larger */
    uint16_t nlabels;
    uint8_t role;         /* prex_suffix: NONE, BUCKET, SUM, COUNT */
    uint8_t flags;        /* S_* */
};
typedef struct prex__merge_series series;

/* Name flags. */
enum { N_RESERVED = 1, N_INVALID = 2 };

struct prex__merge_name {
    const char *ptr;
    size_t len;
    uint64_t hash;
    uint64_t pfx;         /* first 8 bytes, big-endian, zero-padded */
    uint32_t rank;        /* bytewise order among all names (finish) */
    unsigned char flags;
    unsigned char config; /* interned by the configuration */
};

struct prex__merge_source {
    prex_slice name;
    unsigned flags;
    uint32_t cur_sfam;    /* the source family being read */
    uint32_t last_fam;    /* lookup cache */
    uint32_t last_part;
    uint32_t issue[PREX_MERGE_E__COUNT]; /* aggregated warning index + 1 */
    prex__merge_extra *extra; /* -l labels and the -s label, by name */
    size_t nextra;
};

/* A family as one source wrote it (raw slices into the source). */
struct prex__merge_sfam {
    prex_slice name;
    prex_slice help;
    uint64_t line;
    uint32_t src;
    unsigned char name_esc;
    unsigned char help_esc;
    unsigned char has_help;
};

/* The series of one output family from one source family, one type. */
struct prex__merge_part {
    uint64_t line;        /* first series' line */
    uint64_t nseries;
    uint32_t fam, sfam, src;
    uint32_t next;        /* next part of the family */
    unsigned char type;   /* text type */
    unsigned char dropped;
};

struct prex__merge_family {
    prex_slice name;      /* decoded, in the arena */
    uint64_t hash;
    uint32_t first_part, last_part;
    uint32_t lead;        /* first kept part: source and line shown */
    uint32_t help_part;   /* part whose HELP is written, or NONE32 */
    size_t off, n;        /* its series in _order (finish) */
    unsigned char type;   /* resolved text type */
    unsigned char dropped;
};
typedef struct prex__merge_family family;

/* MARK: issue table */

static const char *const issue_names[] = {
#define PREX_X_NAME(name, num, desc) [num] = #name,
    PREX_MERGE_ISSUES(PREX_X_NAME)
#undef PREX_X_NAME
};

static const char *const issue_descs[] = {
#define PREX_X_DESC(name, num, desc) [num] = desc,
    PREX_MERGE_ISSUES(PREX_X_DESC)
#undef PREX_X_DESC
};

const char *prex_merge_errname(int code)
{
    if (code < 0 || code >= PREX_MERGE_E__COUNT)
        return "UNKNOWN";
    return issue_names[code];
}

const char *prex_merge_strerror(int code)
{
    if (code < 0 || code >= PREX_MERGE_E__COUNT)
        return "unknown merge issue";
    return issue_descs[code];
}

/* MARK: small helpers */

static int slice_eq(prex_slice a, const char *p, size_t n)
{
    return a.len == n && (n == 0 || memcmp(a.ptr, p, n) == 0);
}

/* Bytewise order of two byte strings (memcmp's, then the shorter first),
 * inline, in 8-byte words read big endian (which order as memcmp does):
 * the common prefix word by word, the last word of it overlapping; a
 * prefix under 8 bytes byte by byte. The label sets of a family are
 * sorted and each label's name checked against its position's with it. */
static PREX_INLINE int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn, i;
    uint64_t x, y;

    if (n >= 8) {
        for (i = 0; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y)
                goto differ;
        }
        memcpy(&x, a + n - 8, 8); /* the bytes before it are equal */
        memcpy(&y, b + n - 8, 8);
        if (x != y)
            goto differ;
    } else {
        for (i = 0; i < n; i++)
            if (a[i] != b[i])
                return (unsigned char)a[i] < (unsigned char)b[i] ? -1 : 1;
    }
    return an < bn ? -1 : an > bn;
differ:
    return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1 : 1;
}

/* Nonzero when p[0..n) is valid UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
static int utf8_valid(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p, *e = s + n;
    uint64_t w;

    /* ASCII (nearly every name) 8 bytes per step */
    for (; e - s >= 8; s += 8) {
        memcpy(&w, s, 8);
        if (w & 0x8080808080808080ull)
            break;
    }
    while (s < e) {
        uint32_t cp;
        size_t k;

        if (*s < 0x80) {
            s++;
            continue;
        }
        k = prex__utf8_next(s, e, &cp);
        if (k == 0)
            return 0;
        s += k;
    }
    return 1;
}

/* MARK: name escaping */

/* Nonzero when code point c may stand at byte offset i of a legacy
 * metric name (label: of a legacy label name, where ':' may not). */
static int legacy_rune(uint32_t c, size_t i, int label)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (c == ':' && !label) || (c >= '0' && c <= '9' && i > 0);
}

int prex_escape_name(prex_slice name, int label, prex_name_escaping scheme, prex_buf *out)
{
    const unsigned char *s = (const unsigned char *)name.ptr, *e = s + name.len;
    int legacy = label ? prex_is_legacy_label_name(name) : prex_is_legacy_metric_name(name);
    int rc = 0;

    prex_buf_clear(out);
    if (legacy || scheme == PREX_ESCAPE_NONE || name.len == 0)
        return prex_buf_append(out, name.ptr, name.len);
    if (scheme == PREX_ESCAPE_VALUES)
        rc = prex_buf_append(out, "U__", 3);
    while (s < e && rc == 0) {
        size_t i = (size_t)(s - (const unsigned char *)name.ptr);
        uint32_t cp;
        size_t k = prex__utf8_next(s, e, &cp);

        if (k == 0) { /* not UTF-8: one replacement per byte */
            cp = 0xfffd;
            k = 1;
        }
        s += k;
        if (scheme == PREX_ESCAPE_UNDERSCORES) {
            rc = prex_buf_putc(out, legacy_rune(cp, i, label) ? (char)cp : '_');
        } else if (cp == '_') {
            rc = prex_buf_append(out, "__", 2);
        } else if (legacy_rune(cp, i, label)) {
            rc = prex_buf_putc(out, (char)cp);
        } else {
            char hex[16];
            int n = snprintf(hex, sizeof hex, "_%" PRIx32 "_", cp);

            rc = prex_buf_append(out, hex, (size_t)n);
        }
    }
    return rc;
}

/* Copies a name for a message: at most 96 bytes, control bytes as '?',
 * "..." when cut. out holds at least 104 bytes. */
static void show(char *out, size_t outsz, const char *p, size_t n)
{
    prex__show_name(out, outsz, p, n, 96);
}

/* Grows the array whose pointer is at arrp (elements of size elem, *cap
 * of them) to hold need elements, doubling from 16. The pointer is read
 * and written with memcpy, so any object pointer type works. Returns 0 or
 * -1 (array unchanged). */
static int grow(prex_merge *m, void *arrp, size_t *cap, size_t need, size_t elem)
{
    size_t ncap = *cap ? *cap : 16;
    void *old, *p;

    if (need <= *cap)
        return 0;
    while (ncap < need) {
        if (ncap > ((size_t)-1 / 2) / elem)
            return -1;
        ncap *= 2;
    }
    memcpy(&old, arrp, sizeof old);
    if (old)
        p = m->_alc->realloc(m->_alc->ctx, old, *cap * elem, ncap * elem);
    else
        p = m->_alc->malloc(m->_alc->ctx, ncap * elem);
    if (!p)
        return -1;
    memcpy(arrp, &p, sizeof p);
    *cap = ncap;
    return 0;
}

#define GROW(m, arr, cap, need) grow((m), &(arr), &(cap), (need), sizeof *(arr))

/*
 * Allocates size bytes from the per-push arena at 8-byte alignment with
 * no padding beyond that: every allocation from _arena goes through here
 * and is a multiple of 8, so each one starts 8-aligned (label blocks need
 * no more). Returns NULL when out of memory.
 */
static void *arena8(prex_merge *m, size_t size)
{
    size_t r = (size + 7) & ~(size_t)7;

    if (r < size)
        return NULL;
    return prex_arena_alloc_bytes(&m->_arena, r ? r : 8);
}

/* Copies p[0..n) into the per-push arena (arena8). */
static char *copy8(prex_merge *m, const void *p, size_t n)
{
    char *c = arena8(m, n);

    if (c && n)
        memcpy(c, p, n);
    return c;
}

static void release(prex_merge *m, void *p)
{
    if (p)
        m->_alc->free(m->_alc->ctx, p);
}

static int oom(prex_merge *m)
{
    m->_oom = 1;
    return PREX_MERGE_E_NO_MEMORY;
}

static series *ser(const prex_merge *m, uint32_t i)
{
    return &m->_chunks[i >> CHUNK_SHIFT][i & (CHUNK_SIZE - 1)];
}

/* The tail of a series' label block: timestamp, bound, exemplar. */
static char *s_ext(const series *s)
{
    return (char *)s->labels +
           (size_t)s->nlabels * ((s->flags & S_WIDE) ? sizeof(mlabel) : sizeof(nlabel));
}

/* Label i of series s: its name number, value and value length. */
static void lab_get(const series *s, size_t i, uint32_t *name, const char **v, size_t *vlen)
{
    if (s->flags & S_WIDE) {
        const mlabel *l = (const mlabel *)s->labels + i;

        *name = l->name;
        *v = l->value;
        *vlen = l->vlen;
    } else {
        const nlabel *l = (const nlabel *)s->labels + i;

        *name = l->name;
        *v = s->vraw + l->off;
        *vlen = l->vlen;
    }
}

/* Name number of label i of series s. */
static uint32_t lab_name(const series *s, size_t i)
{
    if (s->flags & S_WIDE)
        return ((const mlabel *)s->labels)[i].name;
    return ((const nlabel *)s->labels)[i].name;
}

static int64_t s_ts(const series *s)
{
    int64_t v;

    memcpy(&v, s_ext(s), sizeof v);
    return v;
}

static double s_key(const series *s)
{
    double v;

    memcpy(&v, s_ext(s) + ((s->flags & S_TS) ? 8 : 0), sizeof v);
    return v;
}

static const prex_exemplar *s_ex(const series *s)
{
    const prex_exemplar *v;
    size_t off = ((s->flags & S_TS) ? 8 : 0) + ((s->flags & S_KEY) ? 8 : 0);

    memcpy(&v, s_ext(s) + off, sizeof v);
    return v;
}

/* The text 0.0.4 suffix string of a role. */
static const char *role_suffix(int role, size_t *len)
{
    switch (role) {
    case PREX_SUFFIX_BUCKET: *len = 7; return "_bucket";
    case PREX_SUFFIX_SUM: *len = 4; return "_sum";
    case PREX_SUFFIX_COUNT: *len = 6; return "_count";
    default: *len = 0; return "";
    }
}

static int is_hs(int type)
{
    return type == PREX_TYPE_HISTOGRAM || type == PREX_TYPE_SUMMARY;
}

/* MARK: interned label names */

/*
 * Builds a linear-probing index of ncap slots (a power of two) over n
 * items whose 64-bit hashes sit at byte offset hashoff of each stride-byte
 * item; a slot holds the item's index + 1, 0 when empty. Replaces *tab
 * and *cap. Returns 0 or -1 (out of memory; the old index stays).
 */
static int grow_index(prex_merge *m, uint32_t **tab, size_t *cap, const void *items,
                      size_t n, size_t stride, size_t hashoff)
{
    size_t ncap = *cap ? *cap * 2 : 64, i;
    uint32_t *t;

    if (ncap > (size_t)-1 / sizeof *t)
        return -1;
    t = m->_alc->malloc(m->_alc->ctx, ncap * sizeof *t);
    if (!t)
        return -1;
    memset(t, 0, ncap * sizeof *t);
    for (i = 0; i < n; i++) {
        uint64_t h;
        size_t j;

        memcpy(&h, (const char *)items + i * stride + hashoff, sizeof h);
        for (j = (size_t)h & (ncap - 1); t[j]; j = (j + 1) & (ncap - 1))
            ;
        t[j] = (uint32_t)i + 1;
    }
    release(m, *tab);
    *tab = t;
    *cap = ncap;
    return 0;
}

/* Doubles the name hash table and re-inserts every name. */
static int grow_nametab(prex_merge *m)
{
    return grow_index(m, &m->_nametab, &m->_nametabcap, m->_names, m->_nnames,
                      sizeof m->_names[0], offsetof(struct prex__merge_name, hash));
}

/*
 * Finds or adds label name p[0..n) and sets *id. A new name is copied into
 * the configuration arena (config) or the per-push arena, and classified:
 * reserved ("__" prefix) or invalid (empty, not UTF-8, or not a legacy
 * name under PREX_MERGE_LEGACY_NAMES). Returns 0 or -1 (out of memory).
 */
static int intern(prex_merge *m, const char *p, size_t n, int config, uint32_t *id)
{
    uint64_t h = prex__fnv1a(p, n);
    struct prex__merge_name *e;
    size_t i, mask;
    prex_slice s;
    char *copy;

    if (m->_nametabcap) {
        mask = m->_nametabcap - 1;
        for (i = (size_t)h & mask; m->_nametab[i]; i = (i + 1) & mask) {
            e = &m->_names[m->_nametab[i] - 1];
            if (e->hash == h && e->len == n && (n == 0 || memcmp(e->ptr, p, n) == 0)) {
                *id = m->_nametab[i] - 1;
                return 0;
            }
        }
    }
    if (m->_nnames >= NONE32 - 1)
        return -1;
    if ((m->_nnames + 1) * 2 > m->_nametabcap && grow_nametab(m) != 0)
        return -1;
    if (GROW(m, m->_names, m->_namescap, m->_nnames + 1) != 0)
        return -1;
    copy = config ? prex_arena_copy(&m->_carena, p, n) : copy8(m, p, n);
    if (!copy)
        return -1;
    e = &m->_names[m->_nnames];
    e->ptr = copy;
    e->len = n;
    e->hash = h;
    e->pfx = 0;
    for (i = 0; i < 8; i++)
        e->pfx = e->pfx << 8 | (i < n ? (unsigned char)p[i] : 0u);
    e->rank = 0;
    e->config = (unsigned char)(config != 0);
    e->flags = 0;
    s.ptr = copy;
    s.len = n;
    if (n >= 2 && p[0] == '_' && p[1] == '_')
        e->flags |= N_RESERVED;
    if (n == 0 || !utf8_valid(p, n) ||
        ((m->_flags & PREX_MERGE_LEGACY_NAMES) && !prex_is_legacy_label_name(s)))
        e->flags |= N_INVALID;
    mask = m->_nametabcap - 1;
    for (i = (size_t)h & mask; m->_nametab[i]; i = (i + 1) & mask)
        ;
    m->_nametab[i] = (uint32_t)m->_nnames + 1;
    *id = (uint32_t)m->_nnames++;
    return 0;
}

/* Rebuilds the name table with only the configuration's names (their
 * numbers stay: configuration closes when data comes in, so they were
 * interned first). */
static void keep_config_names(prex_merge *m)
{
    size_t n = 0;

    while (n < m->_nnames && m->_names[n].config)
        n++;
    m->_nnames = n;
    if (m->_nametabcap)
        memset(m->_nametab, 0, m->_nametabcap * sizeof *m->_nametab);
    for (size_t i = 0; i < n; i++) {
        size_t mask = m->_nametabcap - 1, j = (size_t)m->_names[i].hash & mask;

        while (m->_nametab[j])
            j = (j + 1) & mask;
        m->_nametab[j] = (uint32_t)i + 1;
    }
}

/* MARK: families */

/* Doubles the family hash table and re-inserts every family. Returns 0 or
 * -1 (out of memory; table unchanged). */
static int grow_famtab(prex_merge *m)
{
    return grow_index(m, &m->_famtab, &m->_famtabcap, m->_fams, m->_nfams,
                      sizeof m->_fams[0], offsetof(family, hash));
}

/* The family named name, or NONE32. */
static uint32_t find_family(const prex_merge *m, prex_slice name)
{
    uint64_t h = prex__fnv1a(name.ptr, name.len);
    size_t i, mask;

    if (!m->_famtabcap)
        return NONE32;
    mask = m->_famtabcap - 1;
    for (i = (size_t)h & mask; m->_famtab[i]; i = (i + 1) & mask) {
        const family *f = &m->_fams[m->_famtab[i] - 1];

        if (f->hash == h && slice_eq(name, f->name.ptr, f->name.len))
            return m->_famtab[i] - 1;
    }
    return NONE32;
}

/* Adds an empty family named name (copied). Returns its index, or NONE32
 * when out of memory. Precondition: no family has that name. */
static uint32_t new_family(prex_merge *m, prex_slice name)
{
    family *f;
    char *copy;
    size_t i, mask;

    if (m->_nfams >= NONE32 - 1)
        return NONE32;
    if ((m->_nfams + 1) * 2 > m->_famtabcap && grow_famtab(m) != 0)
        return NONE32;
    if (GROW(m, m->_fams, m->_famscap, m->_nfams + 1) != 0)
        return NONE32;
    copy = copy8(m, name.ptr, name.len);
    if (!copy)
        return NONE32;
    f = &m->_fams[m->_nfams];
    memset(f, 0, sizeof *f);
    f->name.ptr = copy;
    f->name.len = name.len;
    f->hash = prex__fnv1a(name.ptr, name.len);
    f->first_part = f->last_part = f->lead = f->help_part = NONE32;
    mask = m->_famtabcap - 1;
    for (i = (size_t)f->hash & mask; m->_famtab[i]; i = (i + 1) & mask)
        ;
    m->_famtab[i] = (uint32_t)m->_nfams + 1;
    return (uint32_t)m->_nfams++;
}

/* MARK: issues */

/* "source \"NAME\" (line N)" or "source \"NAME\"" into out. */
static void where(const prex_merge *m, char *out, size_t outsz, unsigned src, uint64_t line)
{
    char nm[104];
    prex_slice s = prex_merge_source_name(m, src);

    show(nm, sizeof nm, s.ptr, s.len);
    if (line)
        snprintf(out, outsz, "source \"%s\" (line %" PRIu64 ")", nm, line);
    else
        snprintf(out, outsz, "source \"%s\"", nm);
}

/*
 * Records an issue with a printf-formatted message (copied into the
 * arena, as is the family name). Returns its index, or -1 when out of
 * memory (then _oom is set).
 */
static long add_issue(prex_merge *m, int code, int severity, prex_slice fam,
                      unsigned src, uint64_t line, unsigned osrc, uint64_t oline,
                      uint64_t count, const char *fmt, ...)
    __attribute__((format(printf, 10, 11)));

static long add_issue(prex_merge *m, int code, int severity, prex_slice fam,
                      unsigned src, uint64_t line, unsigned osrc, uint64_t oline,
                      uint64_t count, const char *fmt, ...)
{
    char msg[MSG_MAX], nm[104];
    prex_merge_issue *is;
    va_list ap;
    char *mcopy, *fcopy;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    show(nm, sizeof nm, fam.ptr, fam.len);
    if (GROW(m, m->_issues, m->_issuescap, m->_nissues + 1) != 0)
        return (oom(m), -1);
    mcopy = copy8(m, msg, strlen(msg) + 1);
    fcopy = copy8(m, nm, strlen(nm) + 1);
    if (!mcopy || !fcopy)
        return (oom(m), -1);
    is = &m->_issues[m->_nissues];
    is->code = code;
    is->severity = severity;
    is->family = fcopy;
    is->source = src;
    is->line = line;
    is->other_source = osrc;
    is->other_line = oline;
    is->count = count;
    is->message = mcopy;
    if (severity == PREX_MERGE_ERROR) {
        if (!m->_errors)
            m->_result = code;
        m->_errors = 1;
    }
    return (long)m->_nissues++;
}

/* Severity of a conflict under the table's policy. */
static int conflict_severity(const prex_merge *m)
{
    return (m->_flags & PREX_MERGE_FIRST) ? PREX_MERGE_WARNING : PREX_MERGE_ERROR;
}

/*
 * Counts one occurrence of a per-series warning of source src: the first
 * one records the issue (what names the occurrence: family, label or
 * name), later ones increase its count. Returns 0 or -1 (out of memory).
 */
static int note(prex_merge *m, int code, unsigned src, prex_slice fam, uint64_t line,
                prex_slice what)
{
    struct prex__merge_source *s = &m->_src[src];
    char at[160], w[104];
    long k;

    if (s->issue[code]) {
        m->_issues[s->issue[code] - 1].count++;
        return 0;
    }
    where(m, at, sizeof at, src, line);
    show(w, sizeof w, what.ptr, what.len);
    switch (code) {
    case PREX_MERGE_E_NO_NAME:
        k = add_issue(m, code, PREX_MERGE_WARNING, fam, src, line, PREX_MERGE_NONE, 0, 1,
                      "%s: series without a valid metric name dropped (first: \"%s\")", at, w);
        break;
    case PREX_MERGE_E_RESERVED_LABEL:
        k = add_issue(m, code, PREX_MERGE_WARNING, fam, src, line, PREX_MERGE_NONE, 0, 1,
                      "%s: label \"%s\" removed: names starting with __ are reserved "
                      "(first of its kind in this source)", at, w);
        break;
    case PREX_MERGE_E_BAD_LABEL:
        k = add_issue(m, code, PREX_MERGE_WARNING, fam, src, line, PREX_MERGE_NONE, 0, 1,
                      "%s: series with an invalid or repeated label name \"%s\" dropped", at, w);
        break;
    default:
        k = add_issue(m, code, PREX_MERGE_WARNING, fam, src, line, PREX_MERGE_NONE, 0, 1,
                      "%s: series \"%s\" renamed out of its histogram or summary; "
                      "written as untyped", at, w);
        break;
    }
    if (k < 0)
        return -1;
    s->issue[code] = (uint32_t)k + 1;
    return 0;
}

/* MARK: configuration */

void prex_merge_init(prex_merge *m, const prex_alloc *alc, unsigned flags)
{
    memset(m, 0, sizeof *m);
    m->_alc = alc ? alc : &prex_alloc_libc;
    m->_flags = flags;
    m->_srclabel = NONE32;
    m->_le = m->_quantile = NONE32;
    prex_arena_init(&m->_carena, m->_alc, 4096);
    prex_arena_init(&m->_arena, m->_alc, DATA_BLOCK);
    prex_buf_init(&m->_tmp, m->_alc);
    prex_buf_init(&m->_tmp2, m->_alc);
}

/* Interns "le" and "quantile" once, as configuration names. */
static int config_names(prex_merge *m)
{
    if (m->_le != NONE32)
        return 0;
    if (intern(m, "le", 2, 1, &m->_le) != 0 || intern(m, "quantile", 8, 1, &m->_quantile) != 0)
        return -1;
    return 0;
}

/* Checks a name given for -s or -l and interns it. Returns 0, or a
 * PREX_MERGE_E_* code. */
static int config_label_name(prex_merge *m, const char *name, size_t len, uint32_t *id)
{
    size_t i;

    if (m->_oom)
        return PREX_MERGE_E_NO_MEMORY;
    if (m->_nsfams > 0 || m->_finished || len == 0 || len > PREX_MERGE_MAX_CONFIG)
        return PREX_MERGE_E_USAGE;
    if (config_names(m) != 0 || intern(m, name, len, 1, id) != 0)
        return oom(m);
    if (m->_names[*id].flags || *id == m->_le || *id == m->_quantile || *id == m->_srclabel)
        return PREX_MERGE_E_USAGE;
    for (i = 0; i < m->_nconsts; i++)
        if (m->_consts[i]._name == *id)
            return PREX_MERGE_E_USAGE;
    return 0;
}

void prex_merge_set_escaping(prex_merge *m, prex_name_escaping scheme)
{
    m->_escaping = scheme;
}

int prex_merge_set_source_label(prex_merge *m, const char *name, size_t len)
{
    uint32_t id;
    int rc;

    if (m->_srclabel != NONE32)
        return PREX_MERGE_E_USAGE;
    rc = config_label_name(m, name, len, &id);
    if (rc != 0)
        return rc;
    m->_srclabel = id;
    return 0;
}

int prex_merge_add_label(prex_merge *m, const char *name, size_t name_len,
                         const char *value, size_t value_len)
{
    prex__merge_extra *e;
    uint32_t id;
    char *v;
    int rc;

    if (value_len > PREX_MERGE_MAX_CONFIG || (value_len && !utf8_valid(value, value_len)))
        return PREX_MERGE_E_USAGE;
    rc = config_label_name(m, name, name_len, &id);
    if (rc != 0)
        return rc;
    if (value_len == 0)
        return 0;
    if (GROW(m, m->_consts, m->_constscap, m->_nconsts + 1) != 0)
        return oom(m);
    v = prex_arena_copy(&m->_carena, value, value_len);
    if (!v)
        return oom(m);
    e = &m->_consts[m->_nconsts++];
    e->_name = id;
    e->_value.ptr = v;
    e->_value.len = value_len;
    return 0;
}

int prex_merge_add_source(prex_merge *m, const char *name, size_t len,
                          unsigned flags, unsigned *id)
{
    struct prex__merge_source *s;
    char *copy;

    if (m->_oom)
        return PREX_MERGE_E_NO_MEMORY;
    if (m->_finished || len == 0 || len > PREX_MERGE_MAX_CONFIG || !utf8_valid(name, len) ||
        m->_nsrc >= PREX_MERGE_NONE - 1)
        return PREX_MERGE_E_USAGE;
    for (size_t i = 0; i < m->_nsrc; i++)
        if (slice_eq(m->_src[i].name, name, len))
            return PREX_MERGE_E_USAGE;
    if (config_names(m) != 0 || GROW(m, m->_src, m->_srccap, m->_nsrc + 1) != 0)
        return oom(m);
    copy = prex_arena_copy(&m->_carena, name, len);
    if (!copy)
        return oom(m);
    s = &m->_src[m->_nsrc];
    memset(s, 0, sizeof *s);
    s->name.ptr = copy;
    s->name.len = len;
    s->flags = flags;
    s->cur_sfam = s->last_fam = s->last_part = NONE32;
    *id = (unsigned)m->_nsrc++;
    return 0;
}

prex_slice prex_merge_source_name(const prex_merge *m, unsigned id)
{
    prex_slice s = { "", 0 };

    if (id < m->_nsrc)
        s = m->_src[id].name;
    return s;
}

prex_slice prex_merge_copy(prex_merge *m, const char *p, size_t len)
{
    prex_slice s = { NULL, 0 };
    char *c = copy8(m, p, len);

    if (!c) {
        m->_oom = 1;
        return s;
    }
    s.ptr = c;
    s.len = len;
    return s;
}

/* MARK: source families */

/*
 * The source family of src named by the raw slice name: the current one
 * when the name matches, else a new record (type, line). Returns its
 * index or NONE32 (out of memory).
 */
static uint32_t source_family(prex_merge *m, unsigned src, prex_slice name, int esc,
                              uint64_t line)
{
    struct prex__merge_source *s = &m->_src[src];
    struct prex__merge_sfam *f;

    if (s->cur_sfam != NONE32) {
        f = &m->_sfams[s->cur_sfam];
        if (f->name_esc == (esc != 0) && slice_eq(f->name, name.ptr, name.len))
            return s->cur_sfam;
    }
    if (m->_nsfams >= NONE32 - 1 || GROW(m, m->_sfams, m->_sfamscap, m->_nsfams + 1) != 0)
        return NONE32;
    f = &m->_sfams[m->_nsfams];
    memset(f, 0, sizeof *f);
    f->name = name;
    f->name_esc = (unsigned char)(esc != 0);
    f->src = src;
    f->line = line;
    s->cur_sfam = (uint32_t)m->_nsfams++;
    return s->cur_sfam;
}

/* Common checks of the add calls. Returns 0 or a PREX_MERGE_E_* code. */
static int can_add(const prex_merge *m, unsigned src)
{
    if (m->_oom)
        return PREX_MERGE_E_NO_MEMORY;
    if (m->_finished || src >= m->_nsrc)
        return PREX_MERGE_E_USAGE;
    return 0;
}

int prex_merge_meta(prex_merge *m, unsigned src, const prex_event *ev)
{
    uint32_t k;
    int rc = can_add(m, src);

    if (rc != 0)
        return rc;
    if (ev->kind != PREX_EV_HELP && ev->kind != PREX_EV_TYPE && ev->kind != PREX_EV_UNIT)
        return 0;
    k = source_family(m, src, ev->name, ev->name_esc, ev->line);
    if (k == NONE32)
        return oom(m);
    if (ev->kind == PREX_EV_HELP && !m->_sfams[k].has_help) {
        m->_sfams[k].help = ev->text;
        m->_sfams[k].help_esc = ev->text_esc;
        m->_sfams[k].has_help = 1;
    }
    return 0;
}

/* MARK: adding series */

/* The part of family fam for source family sfam with text type type;
 * made when missing. Returns its index or NONE32 (out of memory). */
static uint32_t get_part(prex_merge *m, unsigned src, uint32_t fam, uint32_t sfam,
                         int type, uint64_t line)
{
    struct prex__merge_source *s = &m->_src[src];
    struct prex__merge_part *p;
    uint32_t k;

    if (s->last_part != NONE32) {
        p = &m->_parts[s->last_part];
        if (p->fam == fam && p->sfam == sfam && p->type == type)
            return s->last_part;
    }
    for (k = m->_fams[fam].first_part; k != NONE32; k = m->_parts[k].next) {
        p = &m->_parts[k];
        if (p->sfam == sfam && p->type == type) {
            s->last_part = k;
            return k;
        }
    }
    if (m->_nparts >= NONE32 - 1 || GROW(m, m->_parts, m->_partscap, m->_nparts + 1) != 0)
        return NONE32;
    k = (uint32_t)m->_nparts++;
    p = &m->_parts[k];
    memset(p, 0, sizeof *p);
    p->line = line;
    p->fam = fam;
    p->sfam = sfam;
    p->src = src;
    p->next = NONE32;
    p->type = (unsigned char)type;
    if (m->_fams[fam].last_part == NONE32)
        m->_fams[fam].first_part = k;
    else
        m->_parts[m->_fams[fam].last_part].next = k;
    m->_fams[fam].last_part = k;
    s->last_part = k;
    return k;
}

/* The family named name for source src (cached per source). Returns its
 * index or NONE32 (out of memory). */
static uint32_t get_family(prex_merge *m, unsigned src, prex_slice name)
{
    struct prex__merge_source *s = &m->_src[src];
    uint32_t k;

    if (s->last_fam != NONE32 &&
        slice_eq(name, m->_fams[s->last_fam].name.ptr, m->_fams[s->last_fam].name.len))
        return s->last_fam;
    k = find_family(m, name);
    if (k == NONE32)
        k = new_family(m, name);
    if (k != NONE32)
        s->last_fam = k;
    return k;
}

/* Sorts a series' labels by name (insertion sort: label sets are small). */
static void sort_labels(const prex_merge *m, mlabel *l, size_t n)
{
    size_t i, j;

    for (i = 1; i < n; i++) {
        mlabel t = l[i];
        const struct prex__merge_name *tn = &m->_names[t.name];

        for (j = i; j > 0; j--) {
            const struct prex__merge_name *pn = &m->_names[l[j - 1].name];

            /* bytewise order: the prefixes decide unless they are equal */
            if (pn->pfx != tn->pfx ? pn->pfx < tn->pfx
                                   : bytes_cmp(pn->ptr, pn->len, tn->ptr, tn->len) <= 0)
                break;
            l[j] = l[j - 1];
        }
        l[j] = t;
    }
}

/* Nonzero when name may be a metric name in the output. */
static int metric_name_ok(const prex_merge *m, prex_slice name)
{
    if (name.len == 0 || name.len > PREX_MAX_NAME || !utf8_valid(name.ptr, name.len))
        return 0;
    if ((m->_flags & PREX_MERGE_LEGACY_NAMES) && m->_escaping == PREX_ESCAPE_NONE &&
        !prex_is_legacy_metric_name(name))
        return 0;
    return 1;
}

/* Nonzero when name must be escaped before it goes into the table. */
static int needs_escape(const prex_merge *m, prex_slice name, int label)
{
    return (m->_flags & PREX_MERGE_LEGACY_NAMES) && m->_escaping != PREX_ESCAPE_NONE &&
           !(label ? prex_is_legacy_label_name(name) : prex_is_legacy_metric_name(name));
}

/* Decodes a raw slice into the per-push arena when it has escapes. */
static int decoded(prex_merge *m, prex_slice raw, int esc, prex_slice *out)
{
    char *p;

    if (!esc) {
        *out = raw;
        return 0;
    }
    p = arena8(m, raw.len);
    if (!p)
        return -1;
    out->ptr = p;
    out->len = prex_unescape(raw, p);
    return 0;
}

/*
 * Copies an exemplar (its label array; slices stay where they point) into
 * the arena as *out. With PREX_MERGE_LEGACY_NAMES a label name that is not
 * a legacy name is escaped (the copy then points at the escaped name), or
 * the exemplar is dropped when names are not escaped, when two names
 * escape alike or when the escaped set passes OpenMetrics' 128 characters:
 * the series keeps its value either way.
 * Returns 0, 1 (dropped) or -1 (out of memory).
 */
static int take_exemplar(prex_merge *m, const prex_exemplar *ex, prex_exemplar **out)
{
    prex_exemplar *c = arena8(m, sizeof *c);
    prex_label *l = NULL;
    size_t i, j;
    int escaped = 0;

    if (!c)
        return -1;
    *c = *ex;
    c->labels = NULL;
    if (ex->nlabels) {
        l = arena8(m, ex->nlabels * sizeof *l);
        if (!l)
            return -1;
        memcpy(l, ex->labels, ex->nlabels * sizeof *l);
        c->labels = l;
    }
    for (i = 0; (m->_flags & PREX_MERGE_LEGACY_NAMES) && i < ex->nlabels; i++) {
        prex_slice name;
        char *copy;

        if (!l[i].name_esc && prex_is_legacy_label_name(l[i].name))
            continue;
        if (m->_escaping == PREX_ESCAPE_NONE)
            return 1;
        if (decoded(m, l[i].name, l[i].name_esc, &name) != 0)
            return -1;
        if (!utf8_valid(name.ptr, name.len))
            return 1;
        if (prex_escape_name(name, 1, m->_escaping, &m->_tmp2) != 0)
            return -1;
        copy = copy8(m, m->_tmp2.ptr, m->_tmp2.len);
        if (!copy)
            return -1;
        l[i].name.ptr = copy;
        l[i].name.len = m->_tmp2.len;
        l[i].name_esc = 0;
        escaped = 1;
        m->stats.escaped_names++;
    }
    if (escaped) {
        for (i = 0; i < ex->nlabels; i++)
            for (j = i + 1; j < ex->nlabels; j++)
                if (slice_eq(l[i].name, l[j].name.ptr, l[j].name.len))
                    return 1;
        if (prex__exemplar_chars(c) > 128)
            return 1;
    }
    *out = c;
    return 0;
}

/*
 * Adds one series.
 *   src:   the source.
 *   ev:    the SAMPLE event (family, type, suffix, value, timestamp,
 *          exemplar, line).
 *   name:  the final metric name, decoded.
 *   pairs: its labels, decoded (a "__name__" pair is skipped).
 * Returns 0 (also when the series is dropped with a warning) or
 * PREX_MERGE_E_NO_MEMORY.
 */
static int add_series(prex_merge *m, unsigned src, const prex_event *ev, prex_slice name,
                      const prex_pair *pairs, size_t n)
{
    int ttype = (int)prex_write_text_type(ev->type);
    int role = PREX_SUFFIX_NONE;
    prex_slice famname = name, none = { "", 0 };
    mlabel *ml;
    size_t nl = 0, i, ext;
    uint32_t sfam, fam, part, idx, keyname = NONE32;
    uint64_t line = ev->line;
    double key = 0;
    int haskey = 0, hasts = 0, wide = 0;
    prex_exemplar *ex = NULL;
    series *s;

    m->stats.series_in++;
    sfam = source_family(m, src, ev->family, ev->name_esc, ev->line);
    if (sfam == NONE32)
        return oom(m);
    if (ev->suffix == PREX_SUFFIX_CREATED) {
        m->stats.dropped_created++;
        return 0;
    }
    if (!metric_name_ok(m, name)) {
        m->stats.dropped_no_name++;
        return note(m, PREX_MERGE_E_NO_NAME, src, none, line, name) ? oom(m) : 0;
    }

    /* the output family and the series' role in it */
    if ((ttype == PREX_TYPE_HISTOGRAM &&
         (ev->suffix == PREX_SUFFIX_BUCKET || ev->suffix == PREX_SUFFIX_SUM ||
          ev->suffix == PREX_SUFFIX_COUNT)) ||
        (ttype == PREX_TYPE_SUMMARY &&
         (ev->suffix == PREX_SUFFIX_SUM || ev->suffix == PREX_SUFFIX_COUNT))) {
        size_t sl;
        const char *sfx = role_suffix(ev->suffix, &sl);

        if (name.len > sl && memcmp(name.ptr + name.len - sl, sfx, sl) == 0) {
            famname.len -= sl;
            role = ev->suffix;
        } else {
            ttype = PREX_TYPE_UNTYPED;
            m->stats.left_family++;
            if (note(m, PREX_MERGE_E_LEFT_FAMILY, src, name, line, name) != 0)
                return oom(m);
        }
    } else if (ttype == PREX_TYPE_HISTOGRAM) {
        ttype = PREX_TYPE_UNTYPED;
    }
    if (needs_escape(m, famname, 0)) {
        /* the family name is escaped, the role suffix appended as it is
         * (as Prometheus escapes a family) */
        char *copy;

        if (prex_escape_name(famname, 0, m->_escaping, &m->_tmp2) != 0)
            return oom(m);
        if (m->_tmp2.len + (name.len - famname.len) > PREX_MAX_NAME) {
            m->stats.dropped_no_name++;
            return note(m, PREX_MERGE_E_NO_NAME, src, none, line, name) ? oom(m) : 0;
        }
        copy = copy8(m, m->_tmp2.ptr, m->_tmp2.len);
        if (!copy)
            return oom(m);
        famname.ptr = copy;
        famname.len = m->_tmp2.len;
        m->stats.escaped_names++;
    }

    /* labels: drop empty values and reserved names, intern, sort */
    if (n > UINT16_MAX) {
        m->stats.dropped_bad_label++;
        return note(m, PREX_MERGE_E_BAD_LABEL, src, famname, line, famname) ? oom(m) : 0;
    }
    if (n > m->_mlabcap) {
        void *p = m->_alc->malloc(m->_alc->ctx, n * sizeof(mlabel));

        if (!p)
            return oom(m);
        release(m, m->_mlab);
        m->_mlab = p;
        m->_mlabcap = n;
    }
    ml = m->_mlab;
    for (i = 0; i < n; i++) {
        uint32_t id;

        if (pairs[i].name.len == 8 && pairs[i].name.ptr[0] == '_' &&
            memcmp(pairs[i].name.ptr, "__name__", 8) == 0)
            continue;
        if (pairs[i].value.len == 0) {
            m->stats.empty_labels++;
            continue;
        }
        if (pairs[i].value.len > UINT32_MAX)
            return PREX_MERGE_E_USAGE;
        if (i < LABCACHE && (id = m->_labcache[i]) < m->_nnames &&
            m->_names[id].len == pairs[i].name.len &&
            bytes_cmp(m->_names[id].ptr, pairs[i].name.len, pairs[i].name.ptr,
                      pairs[i].name.len) == 0) {
            /* the name this position had before, which was not escaped:
             * no escape check, no lookup */
        } else if (needs_escape(m, pairs[i].name, 1) && utf8_valid(pairs[i].name.ptr,
                                                                   pairs[i].name.len)) {
            if (prex_escape_name(pairs[i].name, 1, m->_escaping, &m->_tmp2) != 0 ||
                intern(m, m->_tmp2.ptr, m->_tmp2.len, 0, &id) != 0)
                return oom(m);
            m->stats.escaped_names++;
        } else if (intern(m, pairs[i].name.ptr, pairs[i].name.len, 0, &id) != 0) {
            return oom(m);
        } else if (i < LABCACHE) {
            m->_labcache[i] = id;
        }
        if (m->_names[id].flags & N_RESERVED) {
            m->stats.reserved_labels++;
            if (note(m, PREX_MERGE_E_RESERVED_LABEL, src, famname, line, pairs[i].name) != 0)
                return oom(m);
            continue;
        }
        if (m->_names[id].flags & N_INVALID) {
            m->stats.dropped_bad_label++;
            return note(m, PREX_MERGE_E_BAD_LABEL, src, famname, line, pairs[i].name) ? oom(m) : 0;
        }
        ml[nl].value = pairs[i].value.ptr;
        ml[nl].vlen = (uint32_t)pairs[i].value.len;
        ml[nl].name = id;
        nl++;
    }
    sort_labels(m, ml, nl);
    for (i = 1; i < nl; i++) {
        if (ml[i].name == ml[i - 1].name) {
            const struct prex__merge_name *nm = &m->_names[ml[i].name];
            prex_slice what = { nm->ptr, nm->len };

            m->stats.dropped_bad_label++;
            return note(m, PREX_MERGE_E_BAD_LABEL, src, famname, line, what) ? oom(m) : 0;
        }
    }
    if (ttype == PREX_TYPE_HISTOGRAM && role == PREX_SUFFIX_BUCKET)
        keyname = m->_le;
    else if (ttype == PREX_TYPE_SUMMARY && role == PREX_SUFFIX_NONE)
        keyname = m->_quantile;
    for (i = 0; keyname != NONE32 && i < nl; i++)
        if (ml[i].name == keyname)
            haskey = prex__number(ml[i].value, ml[i].vlen, &key) == 0;

    /* timestamp and exemplar */
    if (ev->has_timestamp) {
        if (m->_flags & PREX_MERGE_STRIP_TIMESTAMPS)
            m->stats.stripped_timestamps++;
        else
            hasts = 1;
    }
    if (ev->has_exemplar) {
        int r = 1;

        if ((m->_flags & PREX_MERGE_EXEMPLARS) &&
            (ttype == PREX_TYPE_COUNTER || (ttype == PREX_TYPE_HISTOGRAM && role == PREX_SUFFIX_BUCKET)))
            r = take_exemplar(m, &ev->exemplar, &ex);
        if (r < 0)
            return oom(m);
        if (r > 0)
            m->stats.dropped_exemplars++;
    }

    /* place it */
    fam = get_family(m, src, famname);
    if (fam == NONE32)
        return oom(m);
    part = get_part(m, src, fam, sfam, ttype, line);
    if (part == NONE32)
        return oom(m);
    if (m->_nseries >= NONE32 - 1)
        return PREX_MERGE_E_USAGE;
    if ((m->_nseries & (CHUNK_SIZE - 1)) == 0) {
        series *c;

        if (GROW(m, m->_chunks, m->_chunkscap, m->_nchunks + 1) != 0)
            return oom(m);
        c = m->_alc->malloc(m->_alc->ctx, CHUNK_SIZE * sizeof *c);
        if (!c)
            return oom(m);
        m->_chunks[m->_nchunks++] = c;
    }
    idx = (uint32_t)m->_nseries;
    s = ser(m, idx);
    memset(s, 0, sizeof *s);
    ext = (hasts ? 8 : 0) + (haskey ? 8 : 0) + (ex ? sizeof(prex_exemplar *) : 0);
    for (i = 0; i < nl && !wide; i++) {
        intptr_t off = (intptr_t)((uintptr_t)ml[i].value - (uintptr_t)ev->value_raw.ptr);

        wide = !ev->value_raw.ptr || ml[i].name > UINT16_MAX || ml[i].vlen > UINT16_MAX ||
               off < INT32_MIN || off > INT32_MAX;
    }
    if (nl + ext > 0) {
        size_t lsz = nl * (wide ? sizeof(mlabel) : sizeof(nlabel));
        char *tail;

        s->labels = arena8(m, lsz + ext);
        if (!s->labels)
            return oom(m);
        if (wide) {
            memcpy(s->labels, ml, nl * sizeof *ml);
        } else {
            nlabel *nla = s->labels;

            for (i = 0; i < nl; i++) {
                nla[i].name = (uint16_t)ml[i].name;
                nla[i].vlen = (uint16_t)ml[i].vlen;
                nla[i].off = (int32_t)(intptr_t)((uintptr_t)ml[i].value -
                                                 (uintptr_t)ev->value_raw.ptr);
            }
        }
        tail = (char *)s->labels + lsz;
        if (hasts) {
            memcpy(tail, &ev->timestamp_ms, 8);
            tail += 8;
        }
        if (haskey) {
            memcpy(tail, &key, 8);
            tail += 8;
        }
        if (ex)
            memcpy(tail, &ex, sizeof ex);
    }
    s->vraw = ev->value_raw.ptr;
    s->vlen = (uint32_t)ev->value_raw.len;
    s->value = ev->value;
    s->part = part;
    s->line = line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
    s->nlabels = (uint16_t)nl;
    s->role = (uint8_t)role;
    s->flags = (uint8_t)((hasts ? S_TS : 0) | (haskey ? S_KEY : 0) | (ex ? S_EX : 0) |
                         (wide ? S_WIDE : 0));
    m->_parts[part].nseries++;
    m->_nseries++;
    return 0;
}

int prex_merge_add_event(prex_merge *m, unsigned src, const prex_event *ev)
{
    prex_slice name;
    size_t i;
    int rc = can_add(m, src);

    if (rc != 0)
        return rc;
    if (ev->kind != PREX_EV_SAMPLE)
        return PREX_MERGE_E_USAGE;
    if (GROW(m, m->_pairs, m->_pairscap, ev->nlabels + 1) != 0)
        return oom(m);
    for (i = 0; i < ev->nlabels; i++) {
        const prex_label *l = &ev->labels[i];

        if (decoded(m, l->name, l->name_esc, &m->_pairs[i].name) != 0 ||
            decoded(m, l->value, l->value_esc, &m->_pairs[i].value) != 0)
            return oom(m);
    }
    if (ev->name_esc) {
        prex_buf_clear(&m->_tmp);
        if (prex_buf_make_room(&m->_tmp, ev->name.len) != 0)
            return oom(m);
        prex_buf_incr_len(&m->_tmp, prex_unescape(ev->name, prex_buf_space(&m->_tmp)));
        name.ptr = m->_tmp.ptr;
        name.len = m->_tmp.len;
    } else {
        name = ev->name;
    }
    return add_series(m, src, ev, name, m->_pairs, ev->nlabels);
}

int prex_merge_add_pairs(prex_merge *m, unsigned src, const prex_event *ev,
                         const prex_pair *pairs, size_t n)
{
    prex_slice name = { "", 0 };
    size_t i;
    int rc = can_add(m, src);

    if (rc != 0)
        return rc;
    if (ev->kind != PREX_EV_SAMPLE)
        return PREX_MERGE_E_USAGE;
    for (i = 0; i < n; i++)
        if (slice_eq(pairs[i].name, "__name__", 8))
            name = pairs[i].value;
    return add_series(m, src, ev, name, pairs, n);
}

/* MARK: sorting */

typedef int (*cmp_fn)(const void *ctx, uint32_t a, uint32_t b);

/*
 * Sorts a[0..n) stably with cmp: insertion-sorted runs of 16, then
 * bottom-up merges through tmp (n elements). Two runs already in order
 * (the last of the first not after the first of the second) are copied
 * without merging: exporters that sort their own output (every Go client
 * does) then cost one compare per series and one per merge.
 */
static void msort(uint32_t *a, uint32_t *tmp, size_t n, cmp_fn cmp, const void *ctx)
{
    size_t run = 16, i, j, w;
    uint32_t *src = a, *dst = tmp;

    for (i = 0; i < n; i += run) {
        size_t end = i + run < n ? i + run : n;

        for (j = i + 1; j < end; j++) {
            uint32_t t = a[j];
            size_t k = j;

            while (k > i && cmp(ctx, a[k - 1], t) > 0) {
                a[k] = a[k - 1];
                k--;
            }
            a[k] = t;
        }
    }
    for (w = run; w < n; w *= 2) {
        for (i = 0; i < n; i += 2 * w) {
            size_t mid = i + w < n ? i + w : n, end = i + 2 * w < n ? i + 2 * w : n;
            size_t l = i, r = mid, k = i;

            if (r < end && cmp(ctx, src[r], src[r - 1]) >= 0) {
                memcpy(dst + i, src + i, (end - i) * sizeof *src);
                continue;
            }
            while (l < mid && r < end)
                dst[k++] = cmp(ctx, src[r], src[l]) < 0 ? src[r++] : src[l++];
            while (l < mid)
                dst[k++] = src[l++];
            while (r < end)
                dst[k++] = src[r++];
        }
        {
            uint32_t *t = src;
            src = dst;
            dst = t;
        }
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

/* The effective labels of a series: its own, merged by name with its
 * source's extras (-l, -s); the series' own label wins a tie. */
typedef struct label_iter {
    const prex_merge *m;
    const series *s;
    size_t i, n;
    const prex__merge_extra *e;
    size_t j, ne;
    uint32_t skip;        /* a name left out (le, quantile), or NONE32 */
} label_iter;

/* Starts iterating the effective labels of s, leaving out name skip. */
static void iter_init(label_iter *it, const prex_merge *m, const series *s, uint32_t skip)
{
    const struct prex__merge_source *src = &m->_src[m->_parts[s->part].src];

    it->m = m;
    it->s = s;
    it->i = 0;
    it->n = s->nlabels;
    it->e = src->extra;
    it->j = 0;
    it->ne = src->nextra;
    it->skip = skip;
}

/* Next label in name order: its name, value and length; an extra label
 * that the series has itself is passed over. Returns 0 at the end. */
static PREX_INLINE int iter_next(label_iter *it, uint32_t *name, const char **v, size_t *vlen)
{
    const struct prex__merge_name *nm = it->m->_names;

    for (;;) {
        if (it->j >= it->ne) {
            /* no extra label left (the common case: none at all) */
            if (it->i >= it->n)
                return 0;
            lab_get(it->s, it->i++, name, v, vlen);
            if (*name != it->skip)
                return 1;
            continue;
        }
        if (it->i < it->n) {
            uint32_t an = lab_name(it->s, it->i);

            if (it->j < it->ne) {
                const prex__merge_extra *b = &it->e[it->j];

                if (b->_name == an) {
                    it->j++;
                    continue;
                }
                if (nm[b->_name].rank < nm[an].rank) {
                    it->j++;
                    *name = b->_name;
                    *v = b->_value.ptr;
                    *vlen = b->_value.len;
                    goto got;
                }
            }
            lab_get(it->s, it->i++, name, v, vlen);
        } else if (it->j < it->ne) {
            const prex__merge_extra *b = &it->e[it->j++];

            *name = b->_name;
            *v = b->_value.ptr;
            *vlen = b->_value.len;
        } else {
            return 0;
        }
    got:
        if (*name != it->skip)
            return 1;
    }
}

/* cmp_labels() of two narrow series whose sources add no labels: their
 * own labels, which are in name order, compared in place. */
static int cmp_own_labels(const prex_merge *m, const series *a, const series *b, uint32_t skip)
{
    const nlabel *la = a->labels, *lb = b->labels;
    size_t i = 0, j = 0, na = a->nlabels, nb = b->nlabels;

    for (;; i++, j++) {
        int r;

        if (i < na && la[i].name == skip)
            i++;
        if (j < nb && lb[j].name == skip)
            j++;
        if (i >= na || j >= nb)
            return (i < na) - (j < nb);
        if (la[i].name != lb[j].name)
            return m->_names[la[i].name].rank < m->_names[lb[j].name].rank ? -1 : 1;
        r = bytes_cmp(a->vraw + la[i].off, la[i].vlen, b->vraw + lb[j].off, lb[j].vlen);
        if (r != 0)
            return r;
    }
}

/* Compares the effective label sets of two series, leaving out skip,
 * the way Prometheus orders label sets: pair by pair (name, then value),
 * a shorter set first. */
static int cmp_labels(const prex_merge *m, const series *a, const series *b, uint32_t skip)
{
    label_iter ia, ib;

    if (!((a->flags | b->flags) & S_WIDE) && !m->_src[m->_parts[a->part].src].nextra &&
        !m->_src[m->_parts[b->part].src].nextra)
        return cmp_own_labels(m, a, b, skip);
    iter_init(&ia, m, a, skip);
    iter_init(&ib, m, b, skip);
    for (;;) {
        uint32_t na = 0, nb = 0;
        const char *va = NULL, *vb = NULL;
        size_t la = 0, lb = 0;
        int ha = iter_next(&ia, &na, &va, &la), hb = iter_next(&ib, &nb, &vb, &lb), r;

        if (!ha || !hb)
            return ha - hb;
        if (na != nb)
            return m->_names[na].rank < m->_names[nb].rank ? -1 : 1;
        r = bytes_cmp(va, la, vb, lb);
        if (r != 0)
            return r;
    }
}

/* Finds a series' own label name: returns 1 and its value, or 0. */
static int own_label(const series *s, uint32_t name, const char **v, size_t *vlen)
{
    size_t i;
    uint32_t nm;

    for (i = 0; i < s->nlabels; i++) {
        if (lab_name(s, i) == name) {
            lab_get(s, i, &nm, v, vlen);
            return 1;
        }
    }
    return 0;
}

static int role_rank(int role)
{
    return role == PREX_SUFFIX_SUM ? 1 : role == PREX_SUFFIX_COUNT ? 2 : 0;
}

/* Sorting context of one family. */
typedef struct fam_ctx {
    const prex_merge *m;
    uint32_t skip;        /* le (histogram), quantile (summary), or NONE32 */
} fam_ctx;

/* Output order of two series of one family: metric label set (without le
 * or quantile), role, bound, the bound as written; then, for identical
 * series, source, timestamp and arrival. */
static int cmp_series(const void *ctx, uint32_t ia, uint32_t ib)
{
    const fam_ctx *c = ctx;
    const prex_merge *m = c->m;
    const series *a = ser(m, ia), *b = ser(m, ib);
    int r = cmp_labels(m, a, b, c->skip);
    uint32_t sa, sb;

    if (r != 0)
        return r;
    r = role_rank(a->role) - role_rank(b->role);
    if (r != 0)
        return r;
    if (c->skip != NONE32) {
        const char *va, *vb;
        size_t la, lb;
        int ha = own_label(a, c->skip, &va, &la), hb = own_label(b, c->skip, &vb, &lb);

        if ((a->flags & S_KEY) != (b->flags & S_KEY))
            return (a->flags & S_KEY) ? 1 : -1;
        if (a->flags & S_KEY) {
            double ka = s_key(a), kb = s_key(b);

            if (ka < kb)
                return -1;
            if (ka > kb)
                return 1;
            if (isnan(ka) != isnan(kb))
                return isnan(ka) ? 1 : -1;
        }
        if (ha != hb)
            return ha ? 1 : -1;
        if (ha) {
            r = bytes_cmp(va, la, vb, lb);
            if (r != 0)
                return r;
        }
    }
    sa = m->_parts[a->part].src;
    sb = m->_parts[b->part].src;
    if (sa != sb)
        return sa < sb ? -1 : 1;
    if ((a->flags & S_TS) != (b->flags & S_TS))
        return (a->flags & S_TS) ? 1 : -1;
    if (a->flags & S_TS) {
        int64_t ta = s_ts(a), tb = s_ts(b);

        if (ta != tb)
            return ta < tb ? -1 : 1;
    }
    return ia < ib ? -1 : ia > ib;
}

/* MARK: finish: types and HELP */

/* Order of two parts: source, then line. */
static int cmp_parts(const void *ctx, uint32_t a, uint32_t b)
{
    const prex_merge *m = ctx;
    const struct prex__merge_part *pa = &m->_parts[a], *pb = &m->_parts[b];

    if (pa->src != pb->src)
        return pa->src < pb->src ? -1 : 1;
    if (pa->line != pb->line)
        return pa->line < pb->line ? -1 : 1;
    return a < b ? -1 : a > b;
}

/* Name order of two families. */
static int cmp_families(const void *ctx, uint32_t a, uint32_t b)
{
    const prex_merge *m = ctx;
    const family *fa = &m->_fams[a], *fb = &m->_fams[b];

    return bytes_cmp(fa->name.ptr, fa->name.len, fb->name.ptr, fb->name.len);
}

/* Name order of two interned names. */
static int cmp_names(const void *ctx, uint32_t a, uint32_t b)
{
    const prex_merge *m = ctx;

    return bytes_cmp(m->_names[a].ptr, m->_names[a].len, m->_names[b].ptr, m->_names[b].len);
}

static const char *tname(int type)
{
    return prex_type_name((prex_type)type, PREX_FORMAT_TEXT);
}

/* The decoded HELP of part k, trailing blanks removed, in dst. */
static int part_help(prex_merge *m, uint32_t k, prex_buf *dst)
{
    const struct prex__merge_sfam *sf = &m->_sfams[m->_parts[k].sfam];
    size_t n;

    prex_buf_clear(dst);
    if (!sf->has_help)
        return 0;
    if (prex_buf_make_room(dst, sf->help.len) != 0)
        return -1;
    if (sf->help_esc) {
        prex_buf_incr_len(dst, prex_unescape(sf->help, prex_buf_space(dst)));
    } else if (sf->help.len) {
        memcpy(prex_buf_space(dst), sf->help.ptr, sf->help.len);
        prex_buf_incr_len(dst, sf->help.len);
    }
    n = dst->len;
    while (n > 0 && (dst->ptr[n - 1] == ' ' || dst->ptr[n - 1] == '\t'))
        n--;
    prex_buf_truncate(dst, n);
    return 0;
}

/*
 * Decides family f's type from its parts in source order: the first part's
 * type, except that untyped parts merge into a counter or gauge (which
 * then becomes the type); any other difference drops the later part
 * (TYPE_CONFLICT). Then picks the HELP: the first kept part with a
 * non-empty one; other differing HELP texts are reported.
 *   ord: scratch for the part numbers (grown as needed).
 */
static int resolve_family(prex_merge *m, uint32_t fi, uint32_t **ord, size_t *ordcap)
{
    family *f = &m->_fams[fi];
    size_t np = 0, i;
    uint32_t k, lead;
    int type;
    char a[200], b[200];

    for (k = f->first_part; k != NONE32; k = m->_parts[k].next)
        np++;
    if (np == 0)
        return 0;
    if (grow(m, ord, ordcap, np * 2, sizeof **ord) != 0)
        return oom(m);
    np = 0;
    for (k = f->first_part; k != NONE32; k = m->_parts[k].next)
        (*ord)[np++] = k;
    msort(*ord, *ord + np, np, cmp_parts, m);

    lead = (*ord)[0];
    type = m->_parts[lead].type;
    for (i = 1; i < np; i++) {
        struct prex__merge_part *p = &m->_parts[(*ord)[i]];
        const struct prex__merge_part *l = &m->_parts[lead];

        if (p->type == type)
            continue;
        if (p->type == PREX_TYPE_UNTYPED && (type == PREX_TYPE_COUNTER || type == PREX_TYPE_GAUGE))
            continue;
        if (type == PREX_TYPE_UNTYPED &&
            (p->type == PREX_TYPE_COUNTER || p->type == PREX_TYPE_GAUGE)) {
            type = p->type;
            lead = (*ord)[i];
            continue;
        }
        p->dropped = 1;
        m->stats.dropped_conflict += p->nseries;
        where(m, a, sizeof a, l->src, l->line);
        where(m, b, sizeof b, p->src, p->line);
        if (add_issue(m, PREX_MERGE_E_TYPE_CONFLICT, conflict_severity(m), f->name,
                      l->src, l->line, p->src, p->line, p->nseries,
                      "family \"%.*s\" is a %s in %s and a %s in %s%s",
                      (int)(f->name.len > 96 ? 96 : f->name.len), f->name.ptr,
                      tname(type), a, tname(p->type), b,
                      (m->_flags & PREX_MERGE_FIRST) ? "; keeping the first, dropping the second" : "") < 0)
            return PREX_MERGE_E_NO_MEMORY;
    }
    f->type = (unsigned char)type;

    /* untyped parts that merged; the first kept part; HELP */
    f->lead = NONE32;
    f->help_part = NONE32;
    for (i = 0; i < np; i++) {
        uint32_t pk = (*ord)[i];
        struct prex__merge_part *p = &m->_parts[pk];

        if (p->dropped)
            continue;
        if (f->lead == NONE32)
            f->lead = pk;
        if (p->type != type) {
            m->stats.untyped_merged += p->nseries;
            where(m, a, sizeof a, p->src, p->line);
            where(m, b, sizeof b, m->_parts[lead].src, m->_parts[lead].line);
            if (add_issue(m, PREX_MERGE_E_UNTYPED_MERGED, PREX_MERGE_WARNING, f->name,
                          p->src, p->line, m->_parts[lead].src, m->_parts[lead].line, p->nseries,
                          "family \"%.*s\": untyped series from %s merged into the %s from %s",
                          (int)(f->name.len > 96 ? 96 : f->name.len), f->name.ptr, a,
                          tname(type), b) < 0)
                return PREX_MERGE_E_NO_MEMORY;
        }
        if (part_help(m, pk, &m->_tmp) != 0)
            return oom(m);
        if (m->_tmp.len == 0)
            continue;
        if (f->help_part == NONE32) {
            f->help_part = pk;
            continue;
        }
        if (part_help(m, f->help_part, &m->_tmp2) != 0)
            return oom(m);
        if (!slice_eq((prex_slice){ m->_tmp.ptr, m->_tmp.len }, m->_tmp2.ptr, m->_tmp2.len)) {
            const struct prex__merge_part *h = &m->_parts[f->help_part];
            char ha[104], hb[104];

            show(hb, sizeof hb, m->_tmp.ptr, m->_tmp.len);
            show(ha, sizeof ha, m->_tmp2.ptr, m->_tmp2.len);
            where(m, a, sizeof a, h->src, h->line);
            where(m, b, sizeof b, p->src, p->line);
            if (add_issue(m, PREX_MERGE_E_HELP_DIFFERS, PREX_MERGE_WARNING, f->name,
                          h->src, h->line, p->src, p->line, 1,
                          "family \"%.*s\": HELP \"%s\" from %s differs from HELP \"%s\" "
                          "from %s; keeping the first",
                          (int)(f->name.len > 96 ? 96 : f->name.len), f->name.ptr,
                          hb, b, ha, a) < 0)
                return PREX_MERGE_E_NO_MEMORY;
        }
    }
    return 0;
}

/* MARK: finish: duplicates */

/* Writes "name{a="1",b="2"}" of series s of family f into out (cut). */
static void show_series(const prex_merge *m, const family *f, const series *s,
                        char *out, size_t outsz)
{
    label_iter it;
    uint32_t nm;
    const char *v;
    size_t vl, k, sl;
    const char *sfx = role_suffix(is_hs(f->type) ? s->role : PREX_SUFFIX_NONE, &sl);
    char part[104];
    int first = 1;

    show(part, sizeof part, f->name.ptr, f->name.len);
    k = (size_t)snprintf(out, outsz, "%s%s", part, sfx);
    iter_init(&it, m, s, NONE32);
    while (k < outsz && iter_next(&it, &nm, &v, &vl)) {
        char n2[104], v2[104];

        show(n2, sizeof n2, m->_names[nm].ptr, m->_names[nm].len);
        show(v2, sizeof v2, v, vl);
        k += (size_t)snprintf(out + k, outsz - k, "%s%s=\"%s\"", first ? "{" : ",", n2, v2);
        first = 0;
    }
    if (k < outsz && !first)
        snprintf(out + k, outsz - k, "}");
}

/* Nonzero when a and b are the same series (full effective labels, role). */
static int same_series(const prex_merge *m, const series *a, const series *b)
{
    return a->role == b->role && cmp_labels(m, a, b, NONE32) == 0;
}

/*
 * Removes duplicates from family f's sorted series: of equal series the
 * first (lowest source, earliest) stays; a later one is dropped and
 * reported, except another timestamped point of the same source's series
 * (kept when timestamps are kept; stripped ones collide). One issue per
 * family.
 */
static int dedupe(prex_merge *m, family *f)
{
    uint32_t *o = m->_order + f->off;
    size_t i, w = 0, head = 0, ndup = 0;
    const series *fa = NULL, *fb = NULL;

    for (i = 0; i < f->n; i++) {
        series *s = ser(m, o[i]);

        if (w > 0) {
            const series *h = ser(m, o[head]), *prev = ser(m, o[w - 1]);

            if (same_series(m, h, s)) {
                /* another point of one source's series: the parser has
                 * checked its timestamps (OpenMetrics allows equal ones) */
                int point = m->_parts[h->part].src == m->_parts[s->part].src &&
                            (prev->flags & S_TS) && (s->flags & S_TS) &&
                            m->_parts[prev->part].src == m->_parts[s->part].src;

                if (!point) {
                    if (ndup++ == 0) {
                        fa = h;
                        fb = s;
                    }
                    s->flags |= S_DEAD;
                    continue;
                }
                o[w++] = o[i];
                continue;
            }
        }
        head = w;
        o[w++] = o[i];
    }
    f->n = w;
    if (ndup) {
        char a[200], b[200], sh[400];
        const struct prex__merge_part *pa = &m->_parts[fa->part], *pb = &m->_parts[fb->part];

        m->stats.dropped_duplicates += ndup;
        show_series(m, f, fa, sh, sizeof sh);
        where(m, a, sizeof a, pa->src, fa->line);
        where(m, b, sizeof b, pb->src, fb->line);
        if (add_issue(m, PREX_MERGE_E_DUP_SERIES, conflict_severity(m), f->name,
                      pa->src, fa->line, pb->src, fb->line, ndup,
                      "series %s from %s appears again from %s (%zu duplicate%s in family "
                      "\"%.*s\")%s",
                      sh, a, b, ndup, ndup == 1 ? "" : "s",
                      (int)(f->name.len > 96 ? 96 : f->name.len), f->name.ptr,
                      (m->_flags & PREX_MERGE_FIRST) ? "; keeping the first" : "") < 0)
            return PREX_MERGE_E_NO_MEMORY;
    }
    return 0;
}

/* MARK: finish: histograms and summaries */

/*
 * Checks family f (histogram or summary, sorted, without duplicates) the
 * way the parser checks a text input. Returns NULL when valid, else what
 * is wrong, and sets *line to where.
 */
static const char *check_family(const prex_merge *m, const family *f, uint64_t *line)
{
    const uint32_t *o = m->_order + f->off;
    uint32_t skip = f->type == PREX_TYPE_HISTOGRAM ? m->_le : m->_quantile;
    size_t i = 0;

    while (i < f->n) {
        const series *g = ser(m, o[i]);
        int has_bucket = 0, has_inf = 0, has_count = 0, any = 0;
        double last_le = 0, last_v = 0, inf_v = 0, count_v = 0;
        const char *why = NULL;
        size_t j;

        for (j = i; j < f->n; j++) {
            const series *s = ser(m, o[j]);
            const char *bv;
            size_t bl;
            int b = own_label(s, skip, &bv, &bl);
            double v = s->value;

            if (j > i && cmp_labels(m, g, s, skip) != 0)
                break;
            if (why)
                continue;
            *line = s->line;
            any = 1;
            if (f->type == PREX_TYPE_SUMMARY) {
                if (s->role == PREX_SUFFIX_NONE && !b)
                    why = "a quantile sample without a quantile label";
                else if (s->role == PREX_SUFFIX_NONE && !(s->flags & S_KEY))
                    why = "a quantile label that is not a number";
                else if (s->role != PREX_SUFFIX_NONE && b)
                    why = "a quantile label on _sum or _count";
                continue;
            }
            if (s->role == PREX_SUFFIX_BUCKET) {
                double le = s_key(s);

                if (!b)
                    why = "a bucket without an le label";
                else if (!(s->flags & S_KEY) || isnan(le))
                    why = "an le label that is not a number";
                else if (isnan(v) || v < 0)
                    why = "a bucket count that is negative or NaN";
                else if (has_bucket && !(le > last_le))
                    why = "buckets not in increasing le order";
                else if (has_bucket && v < last_v)
                    why = "bucket counts that decrease";
                if (why)
                    continue;
                has_bucket = 1;
                last_le = le;
                last_v = v;
                if (isinf(le)) {
                    has_inf = 1;
                    inf_v = v;
                    if (has_count && count_v != v)
                        why = "_count differs from the +Inf bucket";
                }
            } else if (b) {
                why = "an le label on _sum or _count";
            } else if (s->role == PREX_SUFFIX_COUNT) {
                if (v < 0)
                    why = "a negative _count";
                else if (has_inf && inf_v != v)
                    why = "_count differs from the +Inf bucket";
                has_count = 1;
                count_v = v;
            }
        }
        if (!why && f->type == PREX_TYPE_HISTOGRAM && any && !has_inf) {
            why = "no le=\"+Inf\" bucket";
            *line = g->line;
        }
        if (why)
            return why;
        i = j;
    }
    return NULL;
}

/*
 * Writes broken family fi as untyped families, one per role (its own name
 * for a summary's quantile series, name_bucket, name_sum, name_count),
 * each when its name is free; otherwise its series are dropped. Reports
 * what was done. tmp: scratch of at least f->n entries.
 */
static int demote(prex_merge *m, uint32_t fi, const char *why, uint64_t wline, uint32_t *tmp)
{
    family *f = &m->_fams[fi];
    size_t off = f->off, n = f->n, i, k = 0, seg[4] = { 0, 0, 0, 0 }, start;
    uint32_t *o = m->_order + off;
    char a[200], done[400], lost[400];
    size_t dl = 0, ll = 0;
    int r, ftype = f->type;
    prex_slice fname = f->name;
    uint32_t lead = f->lead, help = f->help_part;

    done[0] = lost[0] = '\0';
    for (r = 0; r < 3; r++)
        for (i = 0; i < n; i++)
            if (role_rank(ser(m, o[i])->role) == r)
                tmp[k++] = o[i];
    memcpy(o, tmp, n * sizeof *o);
    for (i = 0; i < n; i++)
        seg[role_rank(ser(m, o[i])->role)]++;
    f->n = 0;
    f->type = PREX_TYPE_UNTYPED;
    start = off;
    for (r = 0; r < 3; r++) {
        static const int roles[2][3] = {
            { PREX_SUFFIX_BUCKET, PREX_SUFFIX_SUM, PREX_SUFFIX_COUNT },
            { PREX_SUFFIX_NONE, PREX_SUFFIX_SUM, PREX_SUFFIX_COUNT },
        };
        int role = roles[ftype == PREX_TYPE_SUMMARY][r];
        size_t sl, cnt = seg[r];
        const char *sfx = role_suffix(role, &sl);
        uint32_t t;
        char shown[104];

        if (cnt == 0)
            continue;
        prex_buf_clear(&m->_tmp);
        if (prex_buf_append(&m->_tmp, fname.ptr, fname.len) != 0 ||
            prex_buf_append(&m->_tmp, sfx, sl) != 0)
            return oom(m);
        show(shown, sizeof shown, m->_tmp.ptr, m->_tmp.len);
        if (role == PREX_SUFFIX_NONE) {
            t = fi;
        } else {
            prex_slice nm = { m->_tmp.ptr, m->_tmp.len };

            t = find_family(m, nm);
            if (t != NONE32 && m->_fams[t].n > 0 && !m->_fams[t].dropped) {
                for (i = 0; i < cnt; i++)
                    ser(m, m->_order[start + i])->flags |= S_DEAD;
                m->stats.dropped_broken += cnt;
                ll += (size_t)snprintf(lost + ll, ll < sizeof lost ? sizeof lost - ll : 0,
                                       "%s\"%s\"", ll ? ", " : "", shown);
                if (ll >= sizeof lost)
                    ll = sizeof lost - 1;
                start += cnt;
                continue;
            }
            if (t == NONE32)
                t = new_family(m, nm);
            if (t == NONE32)
                return oom(m);
            m->_fams[t].first_part = NONE32;
            m->_fams[t].dropped = 0;
        }
        f = &m->_fams[fi];
        m->_fams[t].type = PREX_TYPE_UNTYPED;
        m->_fams[t].off = start;
        m->_fams[t].n = cnt;
        m->_fams[t].lead = lead;
        m->_fams[t].help_part = help;
        m->stats.untyped_broken += cnt;
        {
            fam_ctx c = { m, NONE32 };

            msort(m->_order + start, tmp, cnt, cmp_series, &c);
        }
        dl += (size_t)snprintf(done + dl, dl < sizeof done ? sizeof done - dl : 0,
                               "%s\"%s\"", dl ? ", " : "", shown);
        if (dl >= sizeof done)
            dl = sizeof done - 1;
        start += cnt;
    }
    f = &m->_fams[fi];
    where(m, a, sizeof a, m->_parts[lead].src, wline);
    if (add_issue(m, PREX_MERGE_E_BROKEN_FAMILY, PREX_MERGE_WARNING, fname,
                  m->_parts[lead].src, wline, PREX_MERGE_NONE, 0, n,
                  "%s \"%.*s\" is not valid after relabeling (%s, %s)%s%s%s%s",
                  tname(ftype), (int)(fname.len > 96 ? 96 : fname.len), fname.ptr, why, a,
                  dl ? "; written as untyped " : "", done,
                  ll ? "; dropped, the name is taken: " : "", lost) < 0)
        return PREX_MERGE_E_NO_MEMORY;
    return 0;
}

/* MARK: finish: suffix clashes */

/*
 * Finds the families named like the samples of histogram or summary fi
 * (fi_bucket, fi_sum, fi_count) and drops the later of each pair (source
 * order, then line), reporting a SUFFIX_CLASH.
 */
static int suffix_clashes(prex_merge *m, uint32_t fi)
{
    static const int roles[3] = { PREX_SUFFIX_BUCKET, PREX_SUFFIX_SUM, PREX_SUFFIX_COUNT };
    int r;

    for (r = 0; r < 3; r++) {
        family *f = &m->_fams[fi], *c;
        size_t sl;
        const char *sfx = role_suffix(roles[r], &sl);
        uint32_t ci;
        const struct prex__merge_part *pf, *pc;
        int keep_f;
        char a[200], b[200], h[104], cn[104];

        if (f->dropped || f->n == 0 || !is_hs(f->type))
            return 0;
        if (f->type == PREX_TYPE_SUMMARY && roles[r] == PREX_SUFFIX_BUCKET)
            continue;
        prex_buf_clear(&m->_tmp);
        if (prex_buf_append(&m->_tmp, f->name.ptr, f->name.len) != 0 ||
            prex_buf_append(&m->_tmp, sfx, sl) != 0)
            return oom(m);
        ci = find_family(m, (prex_slice){ m->_tmp.ptr, m->_tmp.len });
        if (ci == NONE32 || m->_fams[ci].dropped || m->_fams[ci].n == 0)
            continue;
        c = &m->_fams[ci];
        pf = &m->_parts[f->lead];
        pc = &m->_parts[c->lead];
        keep_f = pf->src != pc->src ? pf->src < pc->src : pf->line <= pc->line;
        show(h, sizeof h, f->name.ptr, f->name.len);
        show(cn, sizeof cn, c->name.ptr, c->name.len);
        where(m, a, sizeof a, pf->src, pf->line);
        where(m, b, sizeof b, pc->src, pc->line);
        if (add_issue(m, PREX_MERGE_E_SUFFIX_CLASH, conflict_severity(m), c->name,
                      keep_f ? pf->src : pc->src, keep_f ? pf->line : pc->line,
                      keep_f ? pc->src : pf->src, keep_f ? pc->line : pf->line,
                      keep_f ? c->n : f->n,
                      "%s \"%s\" from %s is named like the samples of %s \"%s\" from %s%s%s",
                      tname(c->type), cn, b, tname(f->type), h, a,
                      (m->_flags & PREX_MERGE_FIRST) ? "; keeping the one from " : "",
                      (m->_flags & PREX_MERGE_FIRST) ? (keep_f ? a : b) : "") < 0)
            return PREX_MERGE_E_NO_MEMORY;
        if (keep_f) {
            c->dropped = 1;
            m->stats.dropped_conflict += c->n;
        } else {
            f->dropped = 1;
            m->stats.dropped_conflict += f->n;
            return 0;
        }
    }
    return 0;
}

/* MARK: finish */

/* Builds each source's extra labels (-l, then -s unless the source opts
 * out), sorted by name rank. */
static int build_extras(prex_merge *m)
{
    size_t i, j, k;

    for (i = 0; i < m->_nsrc; i++) {
        struct prex__merge_source *s = &m->_src[i];
        size_t n = m->_nconsts + (m->_srclabel != NONE32 ? 1 : 0);

        s->extra = NULL;
        s->nextra = 0;
        if (n == 0)
            continue;
        s->extra = arena8(m, n * sizeof *s->extra);
        if (!s->extra)
            return oom(m);
        for (j = 0; j < m->_nconsts; j++)
            s->extra[s->nextra++] = m->_consts[j];
        if (m->_srclabel != NONE32 && !(s->flags & PREX_MERGE_SOURCE_NO_LABEL)) {
            s->extra[s->nextra]._name = m->_srclabel;
            s->extra[s->nextra]._value = s->name;
            s->nextra++;
        }
        for (j = 1; j < s->nextra; j++) {
            prex__merge_extra t = s->extra[j];

            for (k = j; k > 0 && m->_names[s->extra[k - 1]._name].rank > m->_names[t._name].rank; k--)
                s->extra[k] = s->extra[k - 1];
            s->extra[k] = t;
        }
    }
    return 0;
}

/* Gives every interned name its rank in bytewise order. */
static int rank_names(prex_merge *m)
{
    uint32_t *o;
    size_t i, n = m->_nnames;

    if (n == 0)
        return 0;
    o = m->_alc->malloc(m->_alc->ctx, 2 * n * sizeof *o);
    if (!o)
        return oom(m);
    for (i = 0; i < n; i++)
        o[i] = (uint32_t)i;
    msort(o, o + n, n, cmp_names, m);
    for (i = 0; i < n; i++)
        m->_names[o[i]].rank = (uint32_t)i;
    release(m, o);
    return 0;
}

/* Counts the -s/-l labels a series' own label of the same name keeps out. */
static uint64_t shadowed(const prex_merge *m, const series *s)
{
    const struct prex__merge_source *src = &m->_src[m->_parts[s->part].src];
    uint64_t n = 0;
    size_t i;

    for (i = 0; i < src->nextra; i++) {
        const char *v;
        size_t vl;

        if (own_label(s, src->extra[i]._name, &v, &vl))
            n++;
    }
    return n;
}

/*
 * The steps, in this order because each needs the previous one's result:
 * name ranks and extra labels (for ordering); types and HELP per family
 * (parts that lose a type conflict are dropped); series grouped by family;
 * per family sorting, duplicates, then the histogram and summary checks
 * (which must see each series once) and demotion of broken ones; suffix
 * clashes among the families that remain; the output order.
 */
int prex_merge_finish(prex_merge *m)
{
    size_t i, nlive = 0, maxn = 0, nfams;
    uint32_t *ord = NULL, *tmp = NULL;
    size_t ordcap = 0;
    int rc = 0;

    if (m->_oom)
        return PREX_MERGE_E_NO_MEMORY;
    if (m->_finished)
        return PREX_MERGE_E_USAGE;
    m->_finished = 1;
    if (rank_names(m) != 0 || build_extras(m) != 0)
        return PREX_MERGE_E_NO_MEMORY;

    /* types and HELP, per family */
    nfams = m->_nfams;
    for (i = 0; i < nfams && rc == 0; i++)
        rc = resolve_family(m, (uint32_t)i, &ord, &ordcap);
    release(m, ord);
    if (rc != 0)
        return oom(m);

    /* series grouped by family (counting sort), in arrival order */
    for (i = 0; i < nfams; i++)
        m->_fams[i].n = 0;
    for (i = 0; i < m->_nseries; i++) {
        const struct prex__merge_part *p = &m->_parts[ser(m, (uint32_t)i)->part];

        if (!p->dropped) {
            m->_fams[p->fam].n++;
            nlive++;
        }
    }
    m->_order = m->_alc->malloc(m->_alc->ctx, (nlive ? nlive : 1) * sizeof *m->_order);
    if (!m->_order)
        return oom(m);
    for (i = 0, nlive = 0; i < nfams; i++) {
        m->_fams[i].off = nlive;
        nlive += m->_fams[i].n;
        if (m->_fams[i].n > maxn)
            maxn = m->_fams[i].n;
        m->_fams[i].n = 0;
    }
    for (i = 0; i < m->_nseries; i++) {
        series *s = ser(m, (uint32_t)i);
        const struct prex__merge_part *p = &m->_parts[s->part];

        if (p->dropped) {
            s->flags |= S_DEAD;
            continue;
        }
        m->_order[m->_fams[p->fam].off + m->_fams[p->fam].n++] = (uint32_t)i;
    }

    /* per family: sort, duplicates, histogram and summary checks */
    tmp = m->_alc->malloc(m->_alc->ctx, (maxn ? maxn : 1) * sizeof *tmp);
    if (!tmp)
        return oom(m);
    for (i = 0; i < nfams && rc == 0; i++) {
        family *f = &m->_fams[i];
        fam_ctx c = { m, NONE32 };
        const char *why;
        uint64_t wline = 0;

        if (f->n == 0)
            continue;
        if (f->type == PREX_TYPE_HISTOGRAM)
            c.skip = m->_le;
        else if (f->type == PREX_TYPE_SUMMARY)
            c.skip = m->_quantile;
        msort(m->_order + f->off, tmp, f->n, cmp_series, &c);
        rc = dedupe(m, f);
        if (rc != 0 || !is_hs(f->type))
            continue;
        why = check_family(m, f, &wline);
        if (why)
            rc = demote(m, (uint32_t)i, why, wline, tmp);
    }
    release(m, tmp);
    if (rc != 0)
        return oom(m);

    /* suffix clashes, then the output order */
    for (i = 0; i < m->_nfams && rc == 0; i++)
        rc = suffix_clashes(m, (uint32_t)i);
    if (rc != 0)
        return oom(m);
    m->_famorder = m->_alc->malloc(m->_alc->ctx, 2 * (m->_nfams ? m->_nfams : 1) * sizeof *m->_famorder);
    if (!m->_famorder)
        return oom(m);
    m->_nfamorder = 0;
    for (i = 0; i < m->_nfams; i++) {
        family *f = &m->_fams[i];
        size_t j;

        if (f->dropped) {
            for (j = 0; j < f->n; j++)
                ser(m, m->_order[f->off + j])->flags |= S_DEAD;
            continue;
        }
        if (f->n == 0)
            continue;
        m->_famorder[m->_nfamorder++] = (uint32_t)i;
        m->stats.series_out += f->n;
        for (j = 0; j < f->n; j++)
            m->stats.labels_kept += shadowed(m, ser(m, m->_order[f->off + j]));
    }
    msort(m->_famorder, m->_famorder + m->_nfamorder, m->_nfamorder, cmp_families, m);
    m->stats.families_out = m->_nfamorder;
    return m->_errors ? m->_result : 0;
}

size_t prex_merge_issue_count(const prex_merge *m)
{
    return m->_nissues;
}

const prex_merge_issue *prex_merge_issue_at(const prex_merge *m, size_t i)
{
    return i < m->_nissues ? &m->_issues[i] : NULL;
}

/* MARK: writing */

/*
 * Builds the writer's labels of series s of family f in _lab: the
 * effective labels in name order, le or quantile moved last (as Prometheus
 * writes them). Returns their number, or (size_t)-1 when out of memory.
 */
static size_t writer_labels(prex_merge *m, const family *f, const series *s)
{
    label_iter it;
    uint32_t nm, last = NONE32;
    const char *v;
    size_t vl, n = 0, cap = (size_t)s->nlabels + m->_src[m->_parts[s->part].src].nextra;
    prex_label keep;

    if (GROW(m, m->_lab, m->_labcap, cap + 1) != 0)
        return (size_t)-1;
    if (f->type == PREX_TYPE_HISTOGRAM && s->role == PREX_SUFFIX_BUCKET)
        last = m->_le;
    else if (f->type == PREX_TYPE_SUMMARY && s->role == PREX_SUFFIX_NONE)
        last = m->_quantile;
    memset(&keep, 0, sizeof keep);
    iter_init(&it, m, s, NONE32);
    while (iter_next(&it, &nm, &v, &vl)) {
        prex_label *l = nm == last ? &keep : &m->_lab[n++];

        memset(l, 0, sizeof *l);
        l->name.ptr = m->_names[nm].ptr;
        l->name.len = m->_names[nm].len;
        l->value.ptr = v;
        l->value.len = vl;
    }
    if (keep.name.ptr)
        m->_lab[n++] = keep;
    return n;
}

/* Writes family f's HELP (if it has one) and TYPE. */
static int write_family_head(prex_merge *m, prex_writer *w, const family *f)
{
    prex_event ev;
    int rc;

    prex_writer_set_source(w, m->_parts[f->lead].src);
    if (f->help_part != NONE32) {
        const struct prex__merge_sfam *sf = &m->_sfams[m->_parts[f->help_part].sfam];

        memset(&ev, 0, sizeof ev);
        ev.kind = PREX_EV_HELP;
        ev.name = f->name;
        ev.text = sf->help;
        ev.text_esc = sf->help_esc;
        ev.line = m->_parts[f->lead].line;
        rc = prex_write_event(w, &ev, PREX_FORMAT_TEXT);
        if (rc != 0)
            return rc;
    }
    memset(&ev, 0, sizeof ev);
    ev.kind = PREX_EV_TYPE;
    ev.name = f->name;
    ev.type = (prex_type)f->type;
    ev.text.ptr = tname(f->type);
    ev.text.len = strlen(ev.text.ptr);
    ev.line = m->_parts[f->lead].line;
    return prex_write_event(w, &ev, PREX_FORMAT_TEXT);
}

/* Writes series s of family f. */
static int write_series(prex_merge *m, prex_writer *w, const family *f, const series *s)
{
    int role = is_hs(f->type) ? s->role : PREX_SUFFIX_NONE;
    size_t sl, nl;
    const char *sfx = role_suffix(role, &sl);
    prex_event ev;

    nl = writer_labels(m, f, s);
    prex_buf_clear(&m->_tmp);
    if (nl == (size_t)-1 || prex_buf_append(&m->_tmp, f->name.ptr, f->name.len) != 0 ||
        prex_buf_append(&m->_tmp, sfx, sl) != 0)
        return PREX_E_NO_MEMORY;
    memset(&ev, 0, sizeof ev);
    ev.kind = PREX_EV_SAMPLE;
    ev.line = s->line;
    ev.name.ptr = m->_tmp.ptr;
    ev.name.len = m->_tmp.len;
    ev.family = f->name;
    ev.suffix = (prex_suffix)role;
    ev.type = (prex_type)f->type;
    ev.labels = m->_lab;
    ev.nlabels = nl;
    ev.value_raw.ptr = s->vraw;
    ev.value_raw.len = s->vlen;
    ev.value = s->value;
    if (s->flags & S_TS) {
        ev.has_timestamp = 1;
        ev.timestamp_ms = s_ts(s);
    }
    if (s->flags & S_EX) {
        ev.has_exemplar = 1;
        ev.exemplar = *s_ex(s);
    }
    return prex_write_event(w, &ev, PREX_FORMAT_TEXT);
}

int prex_merge_write_begin(prex_merge *m)
{
    if (!m->_finished || m->_errors || m->_oom)
        return -1;
    m->_wfam = 0;
    m->_wser = SIZE_MAX;
    return 0;
}

int prex_merge_write_some(prex_merge *m, prex_writer *w, prex_buf *out, size_t want)
{
    int rc;

    if (!m->_finished || m->_errors || m->_oom)
        return -1;
    while (m->_wfam < m->_nfamorder) {
        const family *f = &m->_fams[m->_famorder[m->_wfam]];

        if (out->len >= want)
            return 1;
        if (m->_wser == SIZE_MAX) {
            rc = write_family_head(m, w, f);
            if (rc != 0)
                return rc;
            m->_wser = 0;
        }
        while (m->_wser < f->n && out->len < want) {
            rc = write_series(m, w, f, ser(m, m->_order[f->off + m->_wser]));
            if (rc != 0)
                return rc;
            m->_wser++;
        }
        if (m->_wser < f->n)
            return 1;
        m->_wfam++;
        m->_wser = SIZE_MAX;
    }
    return 0;
}

int prex_merge_write(prex_merge *m, prex_writer *w)
{
    size_t i, j;
    int rc;

    if (!m->_finished || m->_errors || m->_oom)
        return -1;
    for (i = 0; i < m->_nfamorder; i++) {
        const family *f = &m->_fams[m->_famorder[i]];

        rc = write_family_head(m, w, f);
        if (rc != 0)
            return rc;
        for (j = 0; j < f->n; j++) {
            rc = write_series(m, w, f, ser(m, m->_order[f->off + j]));
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* MARK: reading */

size_t prex_merge_family_count(const prex_merge *m)
{
    return m->_finished ? m->_nfamorder : 0;
}

int prex_merge_family_at(const prex_merge *m, size_t i, prex_merge_family_info *out)
{
    const family *f;

    if (!m->_finished || i >= m->_nfamorder)
        return -1;
    f = &m->_fams[m->_famorder[i]];
    memset(out, 0, sizeof *out);
    out->name = f->name;
    out->type = (prex_type)f->type;
    out->help.ptr = "";
    if (f->help_part != NONE32) {
        const struct prex__merge_sfam *sf = &m->_sfams[m->_parts[f->help_part].sfam];

        out->help = sf->help;
        out->help_esc = sf->help_esc;
    }
    out->source = m->_parts[f->lead].src;
    out->nseries = f->n;
    return 0;
}

int prex_merge_series_at(const prex_merge *m, size_t i, size_t j,
                         prex_merge_series_info *out, prex_pair *labels, size_t cap)
{
    const family *f;
    const series *s;
    size_t k;

    if (!m->_finished || i >= m->_nfamorder)
        return -1;
    f = &m->_fams[m->_famorder[i]];
    if (j >= f->n)
        return -1;
    s = ser(m, m->_order[f->off + j]);
    memset(out, 0, sizeof *out);
    out->role = is_hs(f->type) ? (prex_suffix)s->role : PREX_SUFFIX_NONE;
    out->source = m->_parts[s->part].src;
    out->line = s->line;
    out->value_raw.ptr = s->vraw;
    out->value_raw.len = s->vlen;
    out->value = s->value;
    if (s->flags & S_TS) {
        out->has_timestamp = 1;
        out->timestamp_ms = s_ts(s);
    }
    out->nlabels = s->nlabels;
    for (k = 0; labels && k < s->nlabels && k < cap; k++) {
        uint32_t nm;

        lab_get(s, k, &nm, &labels[k].value.ptr, &labels[k].value.len);
        labels[k].name.ptr = m->_names[nm].ptr;
        labels[k].name.len = m->_names[nm].len;
    }
    return 0;
}

/* MARK: lifetime */

/* Frees what a push built, keeping the configuration. */
static void clear_push(prex_merge *m)
{
    size_t i;

    for (i = 0; i < m->_nchunks; i++)
        release(m, m->_chunks[i]);
    m->_nchunks = 0;
    m->_nseries = 0;
    release(m, m->_order);
    m->_order = NULL;
    release(m, m->_famorder);
    m->_famorder = NULL;
    m->_nfamorder = 0;
    m->_nsfams = m->_nparts = m->_nfams = 0;
    if (m->_famtabcap)
        memset(m->_famtab, 0, m->_famtabcap * sizeof *m->_famtab);
    m->_nissues = 0;
    for (i = 0; i < m->_nsrc; i++) {
        struct prex__merge_source *s = &m->_src[i];

        s->cur_sfam = s->last_fam = s->last_part = NONE32;
        memset(s->issue, 0, sizeof s->issue);
        s->extra = NULL;
        s->nextra = 0;
    }
    keep_config_names(m);
    memset(&m->stats, 0, sizeof m->stats);
    m->_finished = 0;
    m->_errors = 0;
    m->_result = 0;
    m->_oom = 0;
}

void prex_merge_reset(prex_merge *m)
{
    clear_push(m);
    prex_arena_reset(&m->_arena);
}

void prex_merge_free(prex_merge *m)
{
    clear_push(m);
    release(m, m->_chunks);
    release(m, m->_src);
    release(m, m->_names);
    release(m, m->_nametab);
    release(m, m->_consts);
    release(m, m->_sfams);
    release(m, m->_parts);
    release(m, m->_fams);
    release(m, m->_famtab);
    release(m, m->_issues);
    release(m, m->_pairs);
    release(m, m->_mlab);
    release(m, m->_lab);
    prex_buf_free(&m->_tmp);
    prex_buf_free(&m->_tmp2);
    prex_arena_free(&m->_arena);
    prex_arena_free(&m->_carena);
    memset(m, 0, sizeof *m);
}
