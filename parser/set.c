/*
 * set.c - the validator's growable hash sets of 64-bit keys, each with a
 * small integer value (flags). Storage comes only from the prex_alloc the
 * caller configured; the parser never calls malloc itself.
 *
 * Open addressing with linear probing; key 0 marks an empty slot, so keys
 * are forced nonzero. The capacity is a power of two, at most half full.
 */
#include <string.h>

#include "internal.h"

/* Finds the slot of key, or the empty slot where it would go. */
static size_t probe(const prex__set *s, uint64_t key)
{
    size_t mask = s->_cap - 1;
    size_t i = (size_t)(key ^ (key >> 29)) & mask;

    while (s->_slots[i] != 0 && s->_slots[i] != key)
        i = (i + 1) & mask;
    return i;
}

/* Moves the keys into a table of ncap slots (a power of two, more than
 * twice the count). 0 ok, -1 no memory. */
static int grow_to(prex__set *s, const prex_alloc *alc, size_t ncap)
{
    uint64_t *nslots = alc->malloc(alc->ctx, ncap * sizeof *nslots);
    uint32_t *nvals = alc->malloc(alc->ctx, ncap * sizeof *nvals);
    prex__set n;
    size_t i;

    if (!nslots || !nvals) {
        if (nslots)
            alc->free(alc->ctx, nslots);
        if (nvals)
            alc->free(alc->ctx, nvals);
        return -1;
    }
    memset(nslots, 0, ncap * sizeof *nslots);
    n._slots = nslots;
    n._vals = nvals;
    n._cap = ncap;
    n._count = s->_count;
    for (i = 0; i < s->_cap; i++) {
        if (s->_slots[i]) {
            size_t j = probe(&n, s->_slots[i]);
            n._slots[j] = s->_slots[i];
            n._vals[j] = s->_vals[i];
        }
    }
    if (s->_slots) {
        alc->free(alc->ctx, s->_slots);
        alc->free(alc->ctx, s->_vals);
    }
    *s = n;
    return 0;
}

/* Doubles the table (or creates it with 16 slots: the sets of a family's
 * metrics and of a point's series are emptied by a memset of the whole
 * table at every family or point, and most hold a few keys). 0 ok, -1 no
 * memory. */
static int grow(prex__set *s, const prex_alloc *alc)
{
    return grow_to(s, alc, s->_cap ? s->_cap * 2 : 16);
}

/* Makes room for about n keys at once (the capacity a power of two, at
 * least 2n), so that a set whose size is known in advance is not grown
 * step by step. Returns 0, or -1 when out of memory. */
int prex__set_reserve(prex__set *s, const prex_alloc *alc, size_t n)
{
    size_t cap = 64;

    while (cap < 2 * n)
        cap *= 2;
    return cap > s->_cap ? grow_to(s, alc, cap) : 0;
}

/*
 * Looks key up; when absent, inserts it with value *val. On return *val
 * holds the stored value. Returns 1 if the key was present, 0 if it was
 * inserted, -1 when memory ran out.
 */
int prex__set_get_or_put(prex__set *s, const prex_alloc *alc, uint64_t key,
                         uint32_t *val)
{
    size_t i;

    key |= !key;
    if ((s->_count + 1) * 2 > s->_cap && grow(s, alc) < 0)
        return -1;
    i = probe(s, key);
    if (s->_slots[i] == key) {
        *val = s->_vals[i];
        return 1;
    }
    s->_slots[i] = key;
    s->_vals[i] = *val;
    s->_count++;
    return 0;
}

/* Looks key up without inserting. Returns 1 and sets *val if present. */
int prex__set_get(const prex__set *s, uint64_t key, uint32_t *val)
{
    size_t i;

    key |= !key;
    if (!s->_cap)
        return 0;
    i = probe(s, key);
    if (s->_slots[i] != key)
        return 0;
    *val = s->_vals[i];
    return 1;
}

/* Overwrites the value of a present key (no-op when absent). */
void prex__set_update(prex__set *s, uint64_t key, uint32_t val)
{
    size_t i;

    key |= !key;
    if (!s->_cap)
        return;
    i = probe(s, key);
    if (s->_slots[i] == key)
        s->_vals[i] = val;
}

/*
 * Empties the set. Storage is kept for reuse unless it is large and was
 * mostly empty, so that one huge family does not make every later clear
 * cost a huge memset.
 */
void prex__set_clear(prex__set *s, const prex_alloc *alc)
{
    if (!s->_count)
        return;
    if (s->_cap > 4096 && s->_count * 8 < s->_cap) {
        prex__set_free(s, alc);
        return;
    }
    memset(s->_slots, 0, s->_cap * sizeof *s->_slots);
    s->_count = 0;
}

/* Frees the storage. */
void prex__set_free(prex__set *s, const prex_alloc *alc)
{
    if (s->_slots && alc) {
        alc->free(alc->ctx, s->_slots);
        alc->free(alc->ctx, s->_vals);
    }
    memset(s, 0, sizeof *s);
}
