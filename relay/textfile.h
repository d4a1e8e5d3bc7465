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

#ifdef __cplusplus
}
#endif

#endif /* PREX_TEXTFILE_H */
