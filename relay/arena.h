/*
 * arena.h - a per-batch bump allocator on top of prex_alloc: many small
 * allocations, no individual frees, everything released at once.
 *
 * The relay gives each batch (one push, one scrape round) an arena: label
 * values that relabeling creates, unescaped label values, and label arrays
 * that outgrow their first home all live there until the batch is written
 * out. prex_arena_reset() then makes the whole arena reusable without
 * returning its blocks to the allocator, so a relay in steady state
 * allocates nothing per batch.
 *
 * Usage recipe:
 *
 *     prex_arena a;
 *     prex_arena_init(&a, NULL, 0);          // libc allocator, default blocks
 *     for (each batch) {
 *         char *v = prex_arena_copy(&a, ptr, len);   // NULL: out of memory
 *         prex_arena_mark m = prex_arena_save(&a);
 *         ... allocations for one series ...
 *         if (series dropped)
 *             prex_arena_restore(&a, m);     // give those bytes back
 *         ...
 *         prex_arena_reset(&a);              // every pointer is now invalid
 *     }
 *     prex_arena_free(&a);
 *
 * Invariant: memory handed out stays at its address and keeps its bytes
 * until prex_arena_reset(), prex_arena_restore() to an earlier mark, or
 * prex_arena_free(); nothing ever moves.
 */
#ifndef PREX_ARENA_H
#define PREX_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "prex.h"

#ifdef __cplusplus
extern "C" {
#endif

/* MARK: compile-time options */

/* Size of a block when the caller passes 0 to prex_arena_init(). Each
 * block costs one allocation; a request larger than the block size gets a
 * block of its own size. */
#ifndef PREX_ARENA_BLOCK
#define PREX_ARENA_BLOCK 16384
#endif

/* MARK: types */

/* One block (private): its header, then cap bytes of data. */
typedef struct prex__arena_block {
    struct prex__arena_block *_next;
    size_t _cap;
    size_t _used;
} prex__arena_block;

/* Arena state. Transparent so it can live on the stack; every field is
 * private. prex_arena_init() is mandatory. Blocks form one list: _first
 * .. _cur are in use, the blocks after _cur are spare (kept from before a
 * reset or restore) and are reused before anything new is allocated. */
typedef struct prex_arena {
    const prex_alloc *_alc;
    prex__arena_block *_first;
    prex__arena_block *_cur;
    size_t _block;        /* size of a new block */
    size_t _reserved;     /* bytes held in blocks, headers excluded */
} prex_arena;

/* A position in an arena (prex_arena_save()). */
typedef struct prex_arena_mark {
    prex__arena_block *_blk;
    size_t _used;
} prex_arena_mark;

/* MARK: functions */

/*
 * Makes a an empty arena.
 *   alc:   the allocator for its blocks (NULL: prex_alloc_libc); it must
 *          outlive the arena.
 *   block: the block size (0: PREX_ARENA_BLOCK).
 * Allocates nothing; never fails.
 */
void prex_arena_init(prex_arena *a, const prex_alloc *alc, size_t block);

/*
 * Returns size bytes aligned for any object type (max_align_t), or NULL
 * when the allocator fails or the size overflows. size 0 returns a valid
 * unique-enough pointer that must not be written through.
 */
void *prex_arena_alloc(prex_arena *a, size_t size);

/* Returns size bytes with no alignment (for strings), or NULL. */
char *prex_arena_alloc_bytes(prex_arena *a, size_t size);

/* Copies p[0..len) into the arena and returns the copy (not
 * NUL-terminated), or NULL when out of memory. len 0 returns a non-NULL
 * pointer. */
char *prex_arena_copy(prex_arena *a, const void *p, size_t len);

/* The current position: everything allocated after it can be given back
 * with prex_arena_restore(). */
prex_arena_mark prex_arena_save(const prex_arena *a);

/* Gives back everything allocated since m was taken (m must come from
 * this arena, and no reset may have happened since). Blocks are kept. */
void prex_arena_restore(prex_arena *a, prex_arena_mark m);

/* Gives back everything; keeps the blocks for reuse. */
void prex_arena_reset(prex_arena *a);

/* Bytes the arena holds in blocks (used or not). */
size_t prex_arena_reserved(const prex_arena *a);

/* Returns every block to the allocator. The arena is empty afterwards and
 * may be used again. */
void prex_arena_free(prex_arena *a);

#ifdef __cplusplus
}
#endif

#endif /* PREX_ARENA_H */
