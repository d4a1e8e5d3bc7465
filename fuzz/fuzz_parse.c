/*
 * fuzz_parse.c - fuzz target: raw bytes through the parser, one-shot, with
 * error recovery, checking the invariants of every event and error.
 *
 * Input layout:
 *     byte 0   configuration byte (format, flags, allocator, limits;
 *              fuzz/fuzzlib.h)
 *     byte 1   low 4 bits: how many allocations succeed when the
 *              allocator has a failure budget; other bits unused
 *     rest     the exposition text, copied into a heap buffer of exactly
 *              its size plus the sentinel NUL
 */
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"

/* Bytes in front of the exposition text. */
#define HEADER 2

/*
 * Drives one parser to the end of its input: checks each event, and after
 * each error checks it, checks that it is sticky, and calls
 * prex_parser_recover() (at most PREX_FUZZ_MAX_RECOVER times).
 *   p:   a parser over buf[0..len) on which prex_finish() was called.
 *   cfg: its configuration; a: its checking allocator.
 */
static void drive(prex_parser *p, const char *buf, size_t len,
                  const prex_fuzz_config *cfg, const prex_fuzz_alloc *a)
{
    prex_fuzz_track t;
    prex_event ev;
    int recoveries = 0, rc;
    int stuck_check = 0;  /* an error follows a recovery, no event between */
    int last_code = 0;
    uint64_t last_off = 0;

    prex_fuzz_track_init(&t, len, cfg);
    for (;;) {
        rc = prex_next(p, &ev);
        if (rc > 0) {
            prex_fuzz_check_event(&t, buf, len, 0, &ev);
            stuck_check = 0;
            if (rc != ev.kind)
                prex_fuzz_die("prex_next returned %d for an event of kind %d", rc, ev.kind);
            if (rc == PREX_EV_EOF) {
                if (ev.offset != len && cfg->format == PREX_FORMAT_TEXT)
                    prex_fuzz_die("text EOF at %llu, input length %zu",
                                  (unsigned long long)ev.offset, len);
                if (prex_next(p, &ev) != PREX_EV_EOF)
                    prex_fuzz_die("prex_next after EOF did not return EOF again");
                return;
            }
            continue;
        }
        if (rc == PREX_NEED_MORE)
            prex_fuzz_die("PREX_NEED_MORE after prex_finish()");
        if (rc != PREX_ERROR)
            prex_fuzz_die("prex_next returned %d", rc);

        prex_fuzz_check_error(&t, p, buf);
        {
            const prex_error *e = prex_parser_error(p);

            if (e->code == PREX_E_NO_MEMORY &&
                !(cfg->alloc_mode == PREX_FUZZ_ALLOC_FAILING && a->refused > 0))
                prex_fuzz_die("PREX_E_NO_MEMORY without a refused allocation");
            if (stuck_check && e->code == last_code && e->offset == last_off)
                prex_fuzz_die("error %s at %llu again after a successful recovery",
                              prex_errname(e->code), (unsigned long long)e->offset);
            last_code = e->code;
            last_off = e->offset;
        }
        if (prex_next(p, &ev) != PREX_ERROR)
            prex_fuzz_die("the error is not sticky");
        if (recoveries++ >= PREX_FUZZ_MAX_RECOVER)
            return;
        rc = prex_parser_recover(p);
        if (rc == PREX_NEED_MORE)
            prex_fuzz_die("prex_parser_recover wants more input after prex_finish()");
        if (rc == PREX_ERROR) {
            int code = prex_parser_error(p)->code;

            if (code != PREX_E_NO_MEMORY && code != PREX_E_LIMIT_BYTES &&
                code != PREX_E_AFTER_EOF && code != PREX_E_NO_EOF &&
                code != PREX_E_TRUNCATED)
                prex_fuzz_die("prex_parser_recover refused to recover from %s",
                              prex_errname(code));
            return;
        }
        if (rc != 0)
            prex_fuzz_die("prex_parser_recover returned %d", rc);
        if (prex_parser_error(p)->code != PREX_E_OK)
            prex_fuzz_die("error code not cleared by prex_parser_recover");
        stuck_check = 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prex_fuzz_config cfg;
    prex_fuzz_alloc fa;
    prex_parser p;
    char *buf;
    size_t len;

    if (size < HEADER)
        return 0;
    cfg = prex_fuzz_config_decode(data[0]);
    len = size - HEADER;
    buf = prex_fuzz_copy(data + HEADER, len);
    if (!buf)
        return 0;

    prex_fuzz_alloc_init(&fa, cfg.alloc_mode == PREX_FUZZ_ALLOC_FAILING
                                  ? (size_t)(data[1] & 15) : (size_t)-1);
    prex_parser_init(&p, buf, len, cfg.format, cfg.flags);
    prex_fuzz_setup(&p, &cfg, &fa, 1);
    prex_finish(&p);
    drive(&p, buf, len, &cfg, &fa);
    prex_parser_free(&p);
    prex_fuzz_alloc_check_empty(&fa);

    if (prex_detect_format(buf, len) != PREX_FORMAT_TEXT &&
        prex_detect_format(buf, len) != PREX_FORMAT_OPENMETRICS)
        prex_fuzz_die("prex_detect_format returned an unknown format");
    free(buf);
    return 0;
}
