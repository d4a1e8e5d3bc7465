/*
 * fuzz_split.c - fuzz target: the same input parsed one-shot and streamed
 * in pieces through prex_parser_refill() must give the same event log,
 * errors and recoveries included.
 *
 * Input layout:
 *     byte 0   configuration byte (fuzz/fuzzlib.h); its small limits never
 *              include max_bytes, which a stream reaches at another event,
 *              and a failure budget counts as the plain checking allocator
 *     byte 1   bits 0-1 = n:
 *                0      fixed pieces of (byte 1 >> 2) + 1 bytes (1..64)
 *                1..3   n cut points, given by the next n bytes as
 *                       distances: cut[i] = cut[i-1] + byte + 1
 *     rest     the exposition text
 *
 * The streamed parse does what a streaming caller does: the parser first
 * sees a heap copy of the first piece; after each PREX_NEED_MORE the
 * unconsumed tail and the next piece are copied into a fresh heap buffer
 * of exactly their size (the old one is freed, so a slice or pointer kept
 * across the refill is a use-after-free), and prex_finish() follows the
 * refill that hands over the last piece.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"

/* The most pieces an input is cut into. */
#define MAX_PIECES 4096

/* The input, its cuts and the streaming state. */
typedef struct stream {
    const char *data;     /* the whole exposition text */
    size_t len;
    size_t cuts[MAX_PIECES]; /* piece ends, increasing; the last is len */
    size_t npieces;
    size_t next;          /* index of the next piece to hand over */
    size_t fed;           /* bytes of data handed to the parser so far */
    char *buf;            /* the parser's current buffer */
    size_t buflen;
    uint64_t base;        /* stream offset of buf[0] */
} stream;

/* Fills s->cuts from the header (h[0..hlen)). */
static void make_cuts(stream *s, const uint8_t *h, size_t hlen)
{
    size_t n = h[0] & 3, i, at = 0;

    s->npieces = 0;
    if (n == 0) {
        size_t step = (size_t)(h[0] >> 2) + 1;

        for (at = step; at < s->len && s->npieces < MAX_PIECES - 1; at += step)
            s->cuts[s->npieces++] = at;
    } else {
        for (i = 0; i < n && 1 + i < hlen; i++) {
            at += (size_t)h[1 + i] + 1;
            if (at >= s->len)
                break;
            s->cuts[s->npieces++] = at;
        }
    }
    s->cuts[s->npieces++] = s->len;
}

/* Builds the parser's next buffer in a fresh exact-size allocation: the
 * old buffer from byte consumed on (the unconsumed tail), then the input
 * from s->fed up to to. Frees the old buffer. */
static void feed(stream *s, size_t consumed, size_t to)
{
    size_t keep = s->buflen - consumed, add = to - s->fed;
    char *nb = malloc(keep + add + 1);

    if (!nb)
        prex_fuzz_die("out of memory");
    if (keep)
        memcpy(nb, s->buf + consumed, keep);
    if (add)
        memcpy(nb + keep, s->data + s->fed, add);
    nb[keep + add] = '\0';
    free(s->buf);
    s->buf = nb;
    s->buflen = keep + add;
    s->base += consumed;
    s->fed = to;
}

/* Hands the parser the next piece (after PREX_NEED_MORE). Returns 0, or
 * -1 when every piece was handed over already. */
static int refill(stream *s, prex_parser *p)
{
    if (s->next >= s->npieces)
        return -1;
    feed(s, prex_parser_consumed(p), s->cuts[s->next++]);
    prex_parser_refill(p, s->buf, s->buflen);
    if (s->next == s->npieces)
        prex_finish(p);
    return 0;
}

/*
 * Parses the input and writes the log: every event, every error, and the
 * result of every prex_parser_recover() call (at most
 * PREX_FUZZ_MAX_RECOVER). chunked selects the streamed parse; otherwise
 * the whole input is one piece.
 */
static void run(stream *s, const prex_fuzz_config *cfg, int chunked,
                prex_fuzz_str *log)
{
    prex_fuzz_alloc fa;
    prex_fuzz_track t;
    prex_parser p;
    prex_event ev;
    int rc, recoveries = 0;
    size_t first = chunked ? s->cuts[0] : s->len;

    s->buf = NULL;
    s->buflen = 0;
    s->base = 0;
    s->fed = 0;
    s->next = chunked ? 1 : s->npieces;
    feed(s, 0, first);
    prex_fuzz_alloc_init(&fa, (size_t)-1);
    prex_fuzz_track_init(&t, s->len, cfg);
    prex_parser_init(&p, s->buf, s->buflen, cfg->format, cfg->flags);
    prex_fuzz_setup(&p, cfg, &fa, 0);
    if (s->next == s->npieces)
        prex_finish(&p);

    for (;;) {
        rc = prex_next(&p, &ev);
        if (rc > 0) {
            prex_fuzz_check_event(&t, s->buf, s->buflen, s->base, &ev);
            prex_fuzz_log_event(log, &ev);
            if (rc == PREX_EV_EOF)
                break;
            continue;
        }
        if (rc == PREX_NEED_MORE) {
            if (refill(s, &p) != 0)
                prex_fuzz_die("PREX_NEED_MORE after prex_finish()");
            continue;
        }
        if (rc != PREX_ERROR)
            prex_fuzz_die("prex_next returned %d", rc);
        prex_fuzz_check_error(&t, &p, NULL);
        prex_fuzz_log_error(log, &p);
        if (recoveries++ >= PREX_FUZZ_MAX_RECOVER)
            break;
        while ((rc = prex_parser_recover(&p)) == PREX_NEED_MORE)
            if (refill(s, &p) != 0)
                prex_fuzz_die("prex_parser_recover wants more after prex_finish()");
        prex_fuzz_str_printf(log, "RECOVER %d\n", rc);
        if (rc != 0)
            break;
    }
    prex_parser_free(&p);
    prex_fuzz_alloc_check_empty(&fa);
    free(s->buf);
    s->buf = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static stream s;
    prex_fuzz_config cfg;
    prex_fuzz_str whole = { 0 }, pieces = { 0 };
    size_t hlen;

    if (size < 2)
        return 0;
    cfg = prex_fuzz_config_decode(data[0]);
    if (cfg.alloc_mode == PREX_FUZZ_ALLOC_FAILING)
        cfg.alloc_mode = PREX_FUZZ_ALLOC_CHECKING;
    hlen = 2 + (size_t)(data[1] & 3);
    if (size < hlen)
        return 0;
    s.data = (const char *)data + hlen;
    s.len = size - hlen;
    make_cuts(&s, data + 1, hlen - 1);

    run(&s, &cfg, 0, &whole);
    run(&s, &cfg, 1, &pieces);
    if (whole.len != pieces.len || memcmp(whole.ptr, pieces.ptr, whole.len) != 0) {
        size_t i;

        prex_fuzz_dump("one-shot log", &whole);
        prex_fuzz_dump("streamed log", &pieces);
        fputs("cuts:", stderr);
        for (i = 0; i < s.npieces; i++)
            fprintf(stderr, " %zu", s.cuts[i]);
        fputc('\n', stderr);
        prex_fuzz_die("the streamed parse differs from the one-shot parse");
    }
    prex_fuzz_str_free(&whole);
    prex_fuzz_str_free(&pieces);
    return 0;
}
