/*
 * arena.c - the per-batch bump allocator: blocks from a prex_alloc, bump
 * allocation inside them, reset and restore without freeing.
 */
#include <stdalign.h>
#include <stddef.h>
#include <string.h>

#include "arena.h"

#define ALIGN_MAX (alignof(max_align_t))

/* The block header rounded up so that block data is maximally aligned. */
#define HDR (((sizeof(prex__arena_block)) + ALIGN_MAX - 1) & ~(ALIGN_MAX - 1))

static char *block_data(prex__arena_block *b)
{
    return (char *)b + HDR;
}

void prex_arena_init(prex_arena *a, const prex_alloc *alc, size_t block)
{
    a->_alc = alc ? alc : &prex_alloc_libc;
    a->_first = NULL;
    a->_cur = NULL;
    a->_block = block ? block : PREX_ARENA_BLOCK;
    a->_reserved = 0;
}

/*
 * Finds room for size bytes at alignment align (a power of two) in the
 * current block, a spare block after it, or a new block inserted after
 * it. Returns the address or NULL when out of memory.
 */
static void *take(prex_arena *a, size_t size, size_t align)
{
    prex__arena_block *b = a->_cur, *nb;
    size_t off, cap;

    if (b) {
        off = (b->_used + align - 1) & ~(align - 1);
        if (off >= b->_used && off <= b->_cap && b->_cap - off >= size) {
            b->_used = off + size;
            return block_data(b) + off;
        }
        /* Spare blocks come from an earlier reset or restore. */
        nb = b->_next;
        if (nb && nb->_cap >= size) {
            nb->_used = size;
            a->_cur = nb;
            return block_data(nb);
        }
    }
    cap = size > a->_block ? size : a->_block;
    if (cap > SIZE_MAX - HDR)
        return NULL;
    nb = a->_alc->malloc(a->_alc->ctx, HDR + cap);
    if (!nb)
        return NULL;
    nb->_cap = cap;
    nb->_used = size;
    if (b) {
        nb->_next = b->_next;
        b->_next = nb;
    } else {
        /* No current block: the arena is empty or was reset to nothing
         * used; the new block goes first and the old list follows. */
        nb->_next = a->_first;
        a->_first = nb;
    }
    a->_cur = nb;
    a->_reserved += cap;
    return block_data(nb);
}

void *prex_arena_alloc(prex_arena *a, size_t size)
{
    return take(a, size, ALIGN_MAX);
}

char *prex_arena_alloc_bytes(prex_arena *a, size_t size)
{
    return take(a, size, 1);
}

char *prex_arena_copy(prex_arena *a, const void *p, size_t len)
{
    char *d = take(a, len, 1);

    if (d && len)
        memcpy(d, p, len);
    return d;
}

prex_arena_mark prex_arena_save(const prex_arena *a)
{
    prex_arena_mark m;

    m._blk = a->_cur;
    m._used = a->_cur ? a->_cur->_used : 0;
    return m;
}

/* Makes m's block current again with m's fill; the blocks after it
 * become spare. A mark without a block (taken on an empty arena) resets. */
void prex_arena_restore(prex_arena *a, prex_arena_mark m)
{
    if (!m._blk) {
        prex_arena_reset(a);
        return;
    }
    a->_cur = m._blk;
    a->_cur->_used = m._used;
}

/* Every block becomes free; the first is current (or none exists). */
void prex_arena_reset(prex_arena *a)
{
    if (a->_first)
        a->_first->_used = 0;
    a->_cur = a->_first;
}

size_t prex_arena_reserved(const prex_arena *a)
{
    return a->_reserved;
}

/* Returns every block, used or spare, to the allocator. */
void prex_arena_free(prex_arena *a)
{
    prex__arena_block *b = a->_first, *next;

    while (b) {
        next = b->_next;
        a->_alc->free(a->_alc->ctx, b);
        b = next;
    }
    a->_first = NULL;
    a->_cur = NULL;
    a->_reserved = 0;
}
