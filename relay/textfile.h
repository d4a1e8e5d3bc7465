/*
 * textfile.h - the textfile sink: replaces a file atomically, for
 * node_exporter's textfile collector (which must never read half a file).
 *
 * The bytes go to a hidden temporary file in the same directory (same
 * file system, so that rename() is atomic), which is fsync()ed, given
 * the mode a new file would get (0666 minus the umask), renamed over the
 * target, and then the directory is fsync()ed so that the rename itself
 * survives a crash. A reader sees the old file or the new one, never a
 * mix; on any failure the old file stays and the temporary file is
 * removed.
 *
 * The collector reads only names ending in ".prom"; the temporary name
 * (".NAME.XXXXXX") never does.
 */
#ifndef PREX_TEXTFILE_H
#define PREX_TEXTFILE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Writes data[0..len) to path atomically (see above).
 *   path:   the target file; its directory must exist and be writable.
 *   err:    OUT: on failure, what failed and why (errlen bytes).
 * Returns 0, or -1 (errno set).
 */
int prex_textfile_write(const char *path, const char *data, size_t len, char *err,
                        size_t errlen);

/*
 * The same in steps, for contents produced piece by piece (so that they
 * never have to be in memory whole): open creates the temporary file,
 * append adds bytes to it, commit syncs it and renames it over path,
 * abort removes it and leaves path as it was. After a failed open,
 * append or commit the temporary file is already gone (abort is then
 * harmless); every open must end in a commit or an abort. Each returns 0,
 * or -1 with errno set and err filled.
 */
typedef struct prex_textfile {
    const char *path;
    char *tmp;  /* the temporary file's name */
    char *dir;  /* its directory, synced after the rename */
    int fd;     /* -1 when closed */
} prex_textfile;

int prex_textfile_open(prex_textfile *t, const char *path, char *err, size_t errlen);
int prex_textfile_append(prex_textfile *t, const char *data, size_t len, char *err,
                         size_t errlen);
int prex_textfile_commit(prex_textfile *t, char *err, size_t errlen);
void prex_textfile_abort(prex_textfile *t);

#ifdef __cplusplus
}
#endif

#endif /* PREX_TEXTFILE_H */
