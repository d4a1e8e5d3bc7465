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

#include "textfile.h"

/* Writes all of buf to fd, retrying on EINTR and short writes.
 * Returns 0 or -1 (errno set). */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

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

/*
 * Writes the file (see textfile.h). The temporary file is made by
 * mkstemp() from "<dir>/.<base>.XXXXXX"; errno is kept from the step that
 * failed.
 */
int prex_textfile_write(const char *path, const char *data, size_t len, char *err,
                        size_t errlen)
{
    const char *slash = strrchr(path, '/');
    size_t plen = strlen(path), dlen = slash ? (size_t)(slash - path) : 0;
    const char *base = slash ? slash + 1 : path;
    char *tmp = NULL, *dir = NULL;
    int fd = -1, saved, created = 0;
    const char *step = "";

    if (*base == '\0') {
        snprintf(err, errlen, "%s: not a file name", path);
        errno = EISDIR;
        return -1;
    }
    tmp = malloc(plen + sizeof "/..XXXXXX");
    dir = malloc(dlen + 2);
    if (!tmp || !dir) {
        step = "out of memory";
        errno = ENOMEM;
        goto fail;
    }
    if (slash) {
        memcpy(dir, path, dlen);
        dir[dlen] = '\0';
        if (dlen == 0)
            strcpy(dir, "/");
        snprintf(tmp, plen + sizeof "/..XXXXXX", "%s/.%s.XXXXXX", dlen ? dir : "", base);
    } else {
        strcpy(dir, ".");
        snprintf(tmp, plen + sizeof "/..XXXXXX", ".%s.XXXXXX", base);
    }
    fd = mkstemp(tmp);
    if (fd < 0) {
        step = "cannot create a temporary file in its directory";
        goto fail;
    }
    created = 1;
    if (write_all(fd, data, len) != 0) {
        step = "cannot write the temporary file";
        goto fail;
    }
    if (fchmod(fd, 0666 & ~current_umask()) != 0) {
        step = "cannot set the temporary file's mode";
        goto fail;
    }
    if (fsync(fd) != 0) {
        step = "cannot fsync the temporary file";
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        step = "cannot close the temporary file";
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        step = "cannot rename the temporary file over it";
        goto fail;
    }
    free(tmp);
    tmp = NULL;
    if (sync_dir(dir) != 0) {
        step = "written, but cannot fsync its directory";
        goto fail;
    }
    free(dir);
    return 0;

fail:
    saved = errno;
    snprintf(err, errlen, "%s: %s: %s", path, step, strerror(saved));
    if (fd >= 0)
        close(fd);
    if (created && tmp)
        unlink(tmp);
    free(tmp);
    free(dir);
    errno = saved;
    return -1;
}
