/*
 * fuzz_yaml.c - fuzz target: raw bytes as a relabel rules file through the
 * YAML loader (relay/relabel.h). The loader must not crash, leak or hang,
 * must free everything it allocated, and a load error must say where in
 * the file it is (a 1-based line and column) and name a known code.
 *
 * Input layout:
 *     byte 0   bit 0: PREX_RELABEL_LEGACY_NAMES, bit 1: PREX_RELABEL_NO_DOTALL
 *     rest     the YAML text
 *
 * A loaded rule set is also described rule by rule through
 * prex_relabel_rule(), whose fields must be in range.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzzlib.h"
#include "relabel.h"

#define HEADER 1

/* Checks what prex_relabel_rule() reports for every rule of rs. */
static void check_rules(const prex_relabel_rules *rs)
{
    size_t i, n = prex_relabel_count(rs);
    prex_relabel_rule_info info;

    for (i = 0; i < n; i++) {
        if (prex_relabel_rule(rs, i, &info) != 0)
            prex_fuzz_die("prex_relabel_rule(%zu) failed with %zu rules", i, n);
        if ((int)info.action < PREX_RELABEL_ACT_REPLACE ||
            (int)info.action > PREX_RELABEL_ACT_LABELKEEP)
            prex_fuzz_die("rule %zu: action %d out of range", i, (int)info.action);
        if (info.nsource && !info.source)
            prex_fuzz_die("rule %zu: %zu source labels without an array", i, info.nsource);
        if (info.line < 1 || info.column < 1)
            prex_fuzz_die("rule %zu: position %llu:%llu", i,
                          (unsigned long long)info.line, (unsigned long long)info.column);
        if (info.action == PREX_RELABEL_ACT_HASHMOD && info.modulus == 0)
            prex_fuzz_die("rule %zu: hashmod with modulus 0 was accepted", i);
    }
    if (prex_relabel_rule(rs, n, &info) != -1)
        prex_fuzz_die("prex_relabel_rule() accepted index %zu of %zu", n, n);
}

/* Loads one input as a rules file and checks the result, or the error,
 * as the file comment says; the allocator must be empty afterwards. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prex_fuzz_alloc fa;
    prex_relabel_rules *rs = NULL;
    prex_relabel_error err;
    unsigned flags = 0;
    char *buf;
    size_t len;
    int rc;

    if (size < HEADER)
        return 0;
    if (data[0] & 1)
        flags |= PREX_RELABEL_LEGACY_NAMES;
    if (data[0] & 2)
        flags |= PREX_RELABEL_NO_DOTALL;
    len = size - HEADER;
    /* exactly len bytes: the loader takes no NUL */
    buf = malloc(len ? len : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + HEADER, len);

    prex_fuzz_alloc_init(&fa, (size_t)-1);
    memset(&err, 0, sizeof err);
    rc = prex_relabel_load(&rs, "fuzz.yml", buf, len, flags, &fa.alc, &err);
    if (rc == 0) {
        if (!rs)
            prex_fuzz_die("load succeeded without a rule set");
        check_rules(rs);
        prex_relabel_free(rs);
    }
    else {
        if (rs)
            prex_fuzz_die("load failed (%d) but returned a rule set", rc);
        if (rc != err.code)
            prex_fuzz_die("load returned %d, error code %d", rc, err.code);
        if (rc != PREX_RELABEL_E_YAML && rc != PREX_RELABEL_E_CONFIG &&
            rc != PREX_RELABEL_E_REGEX)
            prex_fuzz_die("load failed with unexpected code %s: %s",
                          prex_relabel_errname(rc), err.text);
        if (err.line < 1 || err.column < 1)
            prex_fuzz_die("load error without a position (%llu:%llu): %s",
                          (unsigned long long)err.line, (unsigned long long)err.column,
                          err.text);
        if (!memchr(err.message, '\0', sizeof err.message) || err.message[0] == '\0' ||
            !memchr(err.text, '\0', sizeof err.text) || err.text[0] == '\0')
            prex_fuzz_die("load error without a message");
    }
    prex_fuzz_alloc_check_empty(&fa);
    free(buf);
    return 0;
}
