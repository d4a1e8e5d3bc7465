/*
 * buf.c - the relay's growable byte buffer: growth, read() into the free
 * space, compaction by consuming, appends. Every function keeps the
 * invariant ptr[len] == '\0'.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

/* Growth: double up to this size, then grow by this step, so that a huge
 * buffer does not reserve as much again as it holds. */
#define GROW_DOUBLING_MAX ((size_t)64 << 20)

/* The shared sentinel of every empty buffer that owns no memory yet. Only
 * ever written with '\0' (by functions that re-write the sentinel), so
 * sharing it is safe. */
static char empty_sentinel[1];

void prex_buf_init(prex_buf *b, const prex_alloc *alc)
{
    b->ptr = empty_sentinel;
    b->len = 0;
    b->cap = 0;
    b->alc = alc ? alc : &prex_alloc_libc;
}

/*
 * Grows the allocation so that len + add <= cap. New capacity: the need,
 * doubled while small (at least 64 bytes), or the need plus a fixed step
 * once large. The first allocation copies nothing (the data are empty).
 */
int prex_buf_make_room(prex_buf *b, size_t add)
{
    size_t need, newcap;
    char *p;

    if (b->cap - b->len >= add)
        return 0;
    if (add > (size_t)-1 - 1 - b->len)
        return -1;
    need = b->len + add;
    if (need < GROW_DOUBLING_MAX)
        newcap = need * 2 < 64 ? 64 : need * 2;
    else if (need <= (size_t)-1 - 1 - GROW_DOUBLING_MAX)
        newcap = need + GROW_DOUBLING_MAX;
    else
        newcap = need;
    if (b->cap == 0) {
        p = b->alc->malloc(b->alc->ctx, newcap + 1);
        if (p == NULL)
            return -1;
        p[0] = '\0';
    } else {
        p = b->alc->realloc(b->alc->ctx, b->ptr, b->cap + 1, newcap + 1);
        if (p == NULL)
            return -1;
    }
    b->ptr = p;
    b->cap = newcap;
    return 0;
}

char *prex_buf_space(prex_buf *b)
{
    return b->ptr + b->len;
}

size_t prex_buf_avail(const prex_buf *b)
{
    return b->cap - b->len;
}

void prex_buf_incr_len(prex_buf *b, size_t n)
{
    assert(n <= b->cap - b->len);
    b->len += n;
    b->ptr[b->len] = '\0';
}

/* One read() into the free space; see buf.h for the return values. */
ssize_t prex_buf_read(prex_buf *b, int fd, size_t chunk)
{
    ssize_t n;

    if (chunk == 0)
        chunk = 1;
    if (prex_buf_make_room(b, chunk) != 0) {
        errno = ENOMEM;
        return -1;
    }
    do {
        n = read(fd, b->ptr + b->len, chunk);
    } while (n < 0 && errno == EINTR);
    if (n > 0)
        prex_buf_incr_len(b, (size_t)n);
    return n;
}

int prex_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

void prex_buf_consume(prex_buf *b, size_t n)
{
    assert(n <= b->len);
    if (n == 0)
        return;
    memmove(b->ptr, b->ptr + n, b->len - n);
    b->len -= n;
    b->ptr[b->len] = '\0';
}

int prex_buf_append(prex_buf *b, const char *p, size_t n)
{
    if (n == 0)
        return 0;
    if (prex_buf_make_room(b, n) != 0)
        return -1;
    memcpy(b->ptr + b->len, p, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return 0;
}

int prex_buf_putc(prex_buf *b, char c)
{
    if (prex_buf_make_room(b, 1) != 0)
        return -1;
    b->ptr[b->len++] = c;
    b->ptr[b->len] = '\0';
    return 0;
}

int prex_buf_puts(prex_buf *b, const char *z)
{
    return prex_buf_append(b, z, strlen(z));
}

void prex_buf_truncate(prex_buf *b, size_t n)
{
    assert(n <= b->len);
    b->len = n;
    b->ptr[n] = '\0';
}

void prex_buf_clear(prex_buf *b)
{
    b->len = 0;
    b->ptr[0] = '\0';
}

void prex_buf_free(prex_buf *b)
{
    if (b->cap != 0)
        b->alc->free(b->alc->ctx, b->ptr);
    prex_buf_init(b, b->alc);
}
