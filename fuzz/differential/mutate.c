/*
 * mutate.c - the input generator of the differential check: writes COUNT
 * mutants of the given exposition files, deterministically from a seed.
 *
 * Usage: mutate [-s SEED] [-n COUNT] [-d DICT] OUTDIR INPUT...
 *
 * Each mutant is one input file (chosen at random) with one to three
 * mutations applied: a byte replaced (often by a byte that matters to the
 * grammar), a few bytes deleted, a token of the dictionary inserted
 * (fuzz/prex.dict syntax: one "quoted" token per line, \\ \" \xNN
 * escapes), two lines swapped, a line duplicated or deleted, or a line
 * replaced by a line of another input. Mutants are written as
 * OUTDIR/000000.prom, OUTDIR/000001.prom, ... The same seed, count,
 * dictionary and inputs (in the same order) give the same files.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest mutant kept; bigger ones are cut (an exposition of this size
 * already exercises everything a mutation can reach). */
#define MAX_SIZE (256 * 1024)

typedef struct bytes {
    char *ptr;
    size_t len;
} bytes;

static uint64_t rng_state;

/* splitmix64: small, fast, and the same on every platform. */
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A uniform-enough number in [0, n); n > 0. */
static size_t below(size_t n)
{
    return (size_t)(rnd() % n);
}

static void die(const char *what, const char *arg)
{
    fprintf(stderr, "mutate: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
    exit(2);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        die("out of memory", NULL);
    return p;
}

/* Reads a whole file. */
static bytes read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    bytes b = { NULL, 0 };
    size_t cap = 0, n;

    if (!f)
        die(strerror(errno), path);
    for (;;) {
        if (cap - b.len < 4096) {
            cap = cap ? cap * 2 : 8192;
            b.ptr = xrealloc(b.ptr, cap);
        }
        n = fread(b.ptr + b.len, 1, cap - b.len, f);
        b.len += n;
        if (n == 0)
            break;
    }
    if (ferror(f))
        die("read error", path);
    fclose(f);
    return b;
}

/* Decodes one dictionary line ("token" with \\ \" \xNN escapes) into *out.
 * Returns 0, or -1 for a line that holds no token (comment, blank). */
static int dict_token(const char *line, size_t n, bytes *out)
{
    const char *q = memchr(line, '"', n), *end;
    size_t i;

    if (!q || line[0] == '#')
        return -1;
    end = line + n;
    while (end > q + 1 && end[-1] != '"')
        end--;
    if (end <= q + 1)
        return -1;
    out->ptr = xrealloc(NULL, (size_t)(end - q));
    out->len = 0;
    for (i = 1; q + i < end - 1; i++) {
        char c = q[i];

        if (c == '\\' && q + i + 1 < end - 1) {
            char e = q[++i];

            if (e == 'x' && q + i + 2 < end - 1) {
                char hex[3] = { q[i + 1], q[i + 2], 0 };

                c = (char)strtol(hex, NULL, 16);
                i += 2;
            } else {
                c = e;
            }
        }
        out->ptr[out->len++] = c;
    }
    return 0;
}

/* Reads the dictionary file into a token array. */
static bytes *read_dict(const char *path, size_t *count)
{
    bytes f = read_file(path), *toks = NULL;
    size_t at = 0, n = 0;

    while (at < f.len) {
        const char *nl = memchr(f.ptr + at, '\n', f.len - at);
        size_t ll = nl ? (size_t)(nl - (f.ptr + at)) : f.len - at;
        bytes t;

        if (dict_token(f.ptr + at, ll, &t) == 0) {
            toks = xrealloc(toks, (n + 1) * sizeof *toks);
            toks[n++] = t;
        }
        at += ll + 1;
    }
    free(f.ptr);
    *count = n;
    return toks;
}

/* Replaces b[at, at + del) with ins[0, n). */
static void splice(bytes *b, size_t at, size_t del, const char *ins, size_t n)
{
    size_t len = b->len - del + n;

    if (len > MAX_SIZE)
        return;
    b->ptr = xrealloc(b->ptr, len);
    memmove(b->ptr + at + n, b->ptr + at + del, b->len - at - del);
    if (n)
        memcpy(b->ptr + at, ins, n);
    b->len = len;
}

/* Finds the line containing byte at: [*start, *end) with *end past its
 * "\n" (or at the end of the buffer). */
static void line_at(const bytes *b, size_t at, size_t *start, size_t *end)
{
    size_t s = at, e = at;

    while (s > 0 && b->ptr[s - 1] != '\n')
        s--;
    while (e < b->len && b->ptr[e] != '\n')
        e++;
    if (e < b->len)
        e++;
    *start = s;
    *end = e;
}

/* Bytes that matter to the grammar, used for most byte replacements. */
static const char special[] = " \t\n\"\\{},=#0a_.-+e\r\x00\xff\xc3";

/* Applies one random mutation to b. others: the inputs, for splicing. */
static void mutate_once(bytes *b, const bytes *dict, size_t ndict,
                        const bytes *others, size_t nothers)
{
    size_t at = b->len ? below(b->len + 1) : 0, s1, e1, s2, e2;
    bytes tmp;

    switch (below(7)) {
    case 0: /* replace a byte */
        if (b->len == 0)
            break;
        at = below(b->len);
        b->ptr[at] = below(4) ? special[below(sizeof special - 1)] : (char)below(256);
        break;
    case 1: /* delete 1..8 bytes */
        if (b->len == 0)
            break;
        at = below(b->len);
        splice(b, at, 1 + below(b->len - at < 8 ? b->len - at : 8), NULL, 0);
        break;
    case 2: /* insert a dictionary token, often at a line start or end */
        if (ndict == 0)
            break;
        if (b->len && below(2)) {
            line_at(b, below(b->len), &s1, &e1);
            at = below(2) ? s1 : (e1 > s1 && b->ptr[e1 - 1] == '\n' ? e1 - 1 : e1);
        }
        tmp = dict[below(ndict)];
        splice(b, at, 0, tmp.ptr, tmp.len);
        break;
    case 3: /* swap two lines */
        if (b->len == 0)
            break;
        line_at(b, below(b->len), &s1, &e1);
        line_at(b, below(b->len), &s2, &e2);
        if (s2 < s1) {
            size_t t;
            t = s1; s1 = s2; s2 = t;
            t = e1; e1 = e2; e2 = t;
        }
        if (e1 <= s2 && e2 > s2) {
            /* [s1,e1) mid [s2,e2) -> [s2,e2) mid [s1,e1) */
            size_t n1 = e1 - s1, n2 = e2 - s2, nm = s2 - e1;
            char *out = xrealloc(NULL, e2 - s1);

            memcpy(out, b->ptr + s2, n2);
            memcpy(out + n2, b->ptr + e1, nm);
            memcpy(out + n2 + nm, b->ptr + s1, n1);
            memcpy(b->ptr + s1, out, e2 - s1);
            free(out);
        }
        break;
    case 4: /* duplicate a line somewhere */
        if (b->len == 0)
            break;
        line_at(b, below(b->len), &s1, &e1);
        tmp.len = e1 - s1;
        tmp.ptr = xrealloc(NULL, tmp.len);
        memcpy(tmp.ptr, b->ptr + s1, tmp.len);
        line_at(b, below(b->len), &s2, &e2);
        splice(b, below(2) ? s2 : e2, 0, tmp.ptr, tmp.len);
        free(tmp.ptr);
        break;
    case 5: /* delete a line */
        if (b->len == 0)
            break;
        line_at(b, below(b->len), &s1, &e1);
        splice(b, s1, e1 - s1, NULL, 0);
        break;
    default: /* replace a line by a line of another input */
        tmp = others[below(nothers)];
        if (tmp.len == 0 || b->len == 0)
            break;
        line_at(&tmp, below(tmp.len), &s2, &e2);
        line_at(b, below(b->len), &s1, &e1);
        {
            char *copy = xrealloc(NULL, e2 - s2);

            memcpy(copy, tmp.ptr + s2, e2 - s2);
            splice(b, s1, e1 - s1, copy, e2 - s2);
            free(copy);
        }
        break;
    }
}

int main(int argc, char **argv)
{
    uint64_t seed = 1;
    unsigned long count = 20000, i;
    const char *dict_path = NULL, *outdir;
    bytes *inputs, *dict = NULL;
    size_t ninputs, ndict = 0, k;
    int a = 1;

    while (a + 1 < argc && argv[a][0] == '-') {
        if (strcmp(argv[a], "-s") == 0)
            seed = strtoull(argv[a + 1], NULL, 10);
        else if (strcmp(argv[a], "-n") == 0)
            count = strtoul(argv[a + 1], NULL, 10);
        else if (strcmp(argv[a], "-d") == 0)
            dict_path = argv[a + 1];
        else
            die("unknown option", argv[a]);
        a += 2;
    }
    if (argc - a < 2) {
        fprintf(stderr, "usage: mutate [-s SEED] [-n COUNT] [-d DICT] OUTDIR INPUT...\n");
        return 2;
    }
    outdir = argv[a++];
    ninputs = (size_t)(argc - a);
    inputs = xrealloc(NULL, ninputs * sizeof *inputs);
    for (k = 0; k < ninputs; k++)
        inputs[k] = read_file(argv[a + (int)k]);
    if (dict_path)
        dict = read_dict(dict_path, &ndict);
    rng_state = seed;

    for (i = 0; i < count; i++) {
        const bytes *base = &inputs[below(ninputs)];
        bytes m;
        size_t steps = 1 + below(3), dl = strlen(outdir);
        char *path = xrealloc(NULL, dl + 32);
        FILE *f;

        m.len = base->len > MAX_SIZE ? MAX_SIZE : base->len;
        m.ptr = xrealloc(NULL, m.len);
        if (m.len)
            memcpy(m.ptr, base->ptr, m.len);
        while (steps--)
            mutate_once(&m, dict, ndict, inputs, ninputs);
        snprintf(path, dl + 32, "%s/%06lu.prom", outdir, i);
        f = fopen(path, "wb");
        if (!f || (m.len && fwrite(m.ptr, 1, m.len, f) != m.len) || fclose(f) != 0)
            die(strerror(errno), path);
        free(path);
        free(m.ptr);
    }
    for (k = 0; k < ninputs; k++)
        free(inputs[k].ptr);
    free(inputs);
    for (k = 0; k < ndict; k++)
        free(dict[k].ptr);
    free(dict);
    return 0;
}
