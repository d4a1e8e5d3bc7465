/*
 * buf.h - the relay's growable byte buffer (sds-like): a length, a
 * capacity, and a NUL that is always kept at ptr[len].
 *
 * The trailing NUL is the parser's sentinel (prex_parser_init() and
 * prex_parser_refill() require buf[len] == '\0'), so a prex_buf can be
 * handed to the parser at any moment without copying.
 *
 * Usage recipe (streaming a file descriptor into the parser):
 *
 *     prex_buf b;
 *     prex_buf_init(&b, NULL);                    // libc allocator
 *     n = prex_buf_read(&b, fd, 65536);           // make room, read(), bump len
 *     prex_parser_init(&p, b.ptr, b.len, fmt, 0); // b.ptr[b.len] == '\0'
 *     ... prex_next() until PREX_NEED_MORE ...
 *     prex_buf_consume(&b, prex_parser_consumed(&p)); // tail moves to the front
 *     n = prex_buf_read(&b, fd, 65536);
 *     prex_parser_refill(&p, b.ptr, b.len);
 *     ...
 *     prex_buf_free(&b);
 *
 * The same steps by hand are prex_buf_make_room() -> write into
 * prex_buf_space() (at most prex_buf_avail() bytes) -> prex_buf_incr_len().
 * Any call that may grow the buffer may move ptr: pointers into the old
 * bytes (parser slices included) are invalid afterwards.
 */
#ifndef PREX_BUF_H
#define PREX_BUF_H

#include <stddef.h>
#include <sys/types.h>

#include "prex.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A growable byte buffer. ptr[0..len) are the data and ptr[len] == '\0'
 * always holds (also right after prex_buf_init(), when ptr points at a
 * shared one-byte empty string and cap is 0). cap counts the bytes usable
 * for data: the allocation is cap + 1 bytes. Fields are readable; change
 * them only through the functions below. */
typedef struct prex_buf {
    char *ptr;
    size_t len;
    size_t cap;
    const prex_alloc *alc; /* never NULL after prex_buf_init() */
} prex_buf;

/* Makes b an empty buffer that allocates through alc (NULL: the libc
 * allocator prex_alloc_libc). Allocates nothing; never fails. */
void prex_buf_init(prex_buf *b, const prex_alloc *alc);

/*
 * Ensures at least add more bytes fit after the data (len + add <= cap),
 * growing the allocation (doubling) when needed. The data and the NUL are
 * kept; ptr may move. Returns 0, or -1 when the allocator fails or the size
 * would overflow (b is then unchanged).
 */
int prex_buf_make_room(prex_buf *b, size_t add);

/* The free space after the data, and how many bytes it holds. Writing
 * there does not change len until prex_buf_incr_len() is called. */
char *prex_buf_space(prex_buf *b);
size_t prex_buf_avail(const prex_buf *b);

/* Declares n bytes written into the free space as data: len += n and the
 * NUL is written after them. Requires n <= prex_buf_avail(b) (asserted). */
void prex_buf_incr_len(prex_buf *b, size_t n);

/*
 * Reads once from fd into the free space: makes room for chunk bytes,
 * calls read() (retrying on EINTR) and bumps len by what arrived.
 * Returns the bytes read, 0 at end of file, or -1 on a read error (errno
 * set by read()) or when memory runs out (errno = ENOMEM).
 */
ssize_t prex_buf_read(prex_buf *b, int fd, size_t chunk);

/* Writes all of p[0..n) to fd, retrying after EINTR and short writes.
 * Returns 0, or -1 (errno set by write()). */
int prex_write_all(int fd, const char *p, size_t n);

/*
 * Drops the first n bytes: moves the tail [n, len) to the front (memmove),
 * len -= n, and writes the NUL. Requires n <= len (asserted). The
 * capacity is kept, so the buffer never shrinks by consuming.
 */
void prex_buf_consume(prex_buf *b, size_t n);

/* Appends p[0..n) (may contain NUL bytes), one byte, or the bytes of a
 * NUL-terminated string the program owns. Return 0, or -1 when out of
 * memory (b is then unchanged). */
int prex_buf_append(prex_buf *b, const char *p, size_t n);
int prex_buf_putc(prex_buf *b, char c);
int prex_buf_puts(prex_buf *b, const char *z);

/* Shortens the data to its first n bytes and writes the NUL after them.
 * Requires n <= len (asserted). */
void prex_buf_truncate(prex_buf *b, size_t n);

/* Empties the buffer, keeping its memory (len = 0, ptr[0] == '\0'). */
void prex_buf_clear(prex_buf *b);

/* Releases the memory; b is an empty buffer again (as after
 * prex_buf_init() with the same allocator). */
void prex_buf_free(prex_buf *b);

#ifdef __cplusplus
}
#endif

#endif /* PREX_BUF_H */
