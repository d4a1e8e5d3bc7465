/*
 * textfile.c - the textfile sink: write a temporary file beside the
 * target, fsync it, rename it over the target, fsync the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "textfile.h"

/* The process's umask, read without changing it for longer than two
 * calls (there is no other portable way). */
static mode_t current_umask(void)
{
    mode_t m = umask(022);

    umask(m);
    return m;
}

/* fsync()s the directory dir, so that a rename in it is durable. */
static int sync_dir(const char *dir)
{
    int fd, rc;

    do {
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    if (rc != 0 && (errno == EINVAL || errno == EROFS))
        rc = 0; /* a file system that cannot sync directories */
    close(fd);
    return rc;
}

/* Frees what t holds and removes its temporary file if it is still
 * there. */
static void cleanup(prex_textfile *t, int remove)
{
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
    if (remove && t->tmp)
        unlink(t->tmp);
    free(t->tmp);
    free(t->dir);
    t->tmp = t->dir = NULL;
}

/* Fills err with "PATH: STEP: ERRNO-TEXT", removes the temporary file and
 * returns -1 with errno kept. */
static int failed(prex_textfile *t, const char *step, char *err, size_t errlen)
{
    int saved = errno;

    snprintf(err, errlen, "%s: %s: %s", t->path, step, strerror(saved));
    cleanup(t, 1);
    errno = saved;
    return -1;
}

/* The temporary file is made by mkstemp() from "<dir>/.<base>.XXXXXX". */
int prex_textfile_open(prex_textfile *t, const char *path, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    size_t plen = strlen(path), dlen = slash ? (size_t)(slash - path) : 0;
    const char *base = slash ? slash + 1 : path;

    t->path = path;
    t->fd = -1;
    t->tmp = t->dir = NULL;
    if (*base == '\0') {
        errno = EISDIR;
        return failed(t, "not a file name", err, errlen);
    }
    t->tmp = malloc(plen + sizeof "/..XXXXXX");
    t->dir = malloc(dlen + 2);
    if (!t->tmp || !t->dir) {
        errno = ENOMEM;
        return failed(t, "out of memory", err, errlen);
    }
    if (slash) {
        memcpy(t->dir, path, dlen);
        t->dir[dlen] = '\0';
        if (dlen == 0)
            strcpy(t->dir, "/");
        snprintf(t->tmp, plen + sizeof "/..XXXXXX", "%s/.%s.XXXXXX", dlen ? t->dir : "",
                 base);
    } else {
        strcpy(t->dir, ".");
        snprintf(t->tmp, plen + sizeof "/..XXXXXX", ".%s.XXXXXX", base);
    }
    t->fd = mkstemp(t->tmp);
    if (t->fd < 0) {
        free(t->tmp); /* nothing was created */
        t->tmp = NULL;
        return failed(t, "cannot create a temporary file in its directory", err, errlen);
    }
    return 0;
}

int prex_textfile_append(prex_textfile *t, const char *data, size_t len, char *err,
                         size_t errlen)
{
    if (prex_write_all(t->fd, data, len) != 0)
        return failed(t, "cannot write the temporary file", err, errlen);
    return 0;
}

int prex_textfile_commit(prex_textfile *t, char *err, size_t errlen)
{
    int fd = t->fd;

    if (fchmod(fd, 0666 & ~current_umask()) != 0)
        return failed(t, "cannot set the temporary file's mode", err, errlen);
    if (fsync(fd) != 0)
        return failed(t, "cannot fsync the temporary file", err, errlen);
    t->fd = -1;
    if (close(fd) != 0)
        return failed(t, "cannot close the temporary file", err, errlen);
    if (rename(t->tmp, t->path) != 0)
        return failed(t, "cannot rename the temporary file over it", err, errlen);
    free(t->tmp);
    t->tmp = NULL;
    if (sync_dir(t->dir) != 0)
        return failed(t, "written, but cannot fsync its directory", err, errlen);
    cleanup(t, 0);
    return 0;
}

void prex_textfile_abort(prex_textfile *t)
{
    int saved = errno;

    cleanup(t, 1);
    errno = saved;
}

int prex_textfile_write(const char *path, const char *data, size_t len, char *err,
                        size_t errlen)
{
    prex_textfile t;

    if (prex_textfile_open(&t, path, err, errlen) != 0 ||
        prex_textfile_append(&t, data, len, err, errlen) != 0)
        return -1;
    return prex_textfile_commit(&t, err, errlen);
}
