/*
 * alloc.c - the default allocator (libc) behind the prex_alloc interface.
 *
 * The parser itself never calls malloc: it grows its hash sets only
 * through the prex_alloc the caller configured, and this is the default.
 */
#include <stdlib.h>

#include "prex.h"

static void *libc_malloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void *libc_realloc(void *ctx, void *ptr, size_t old_size, size_t size)
{
    (void)ctx;
    (void)old_size;
    return realloc(ptr, size);
}

static void libc_free(void *ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

const prex_alloc prex_alloc_libc = { libc_malloc, libc_realloc, libc_free, NULL };
