/* Writing files whole: atomically (a temp file in the same directory,
 * fsync, rename), so a reader — a DNS server, a resolver, the daemon at
 * start — never sees half a file. The CLI writes keys, configs and
 * certificates with it; subsystems write generated files only when their
 * content changes (file_put), so a reload is only asked for then. */
#ifndef MN_PUTFILE_H
#define MN_PUTFILE_H
#include <stdbool.h>
#include <stddef.h>

/* Write buf to path with exactly mode (not subject to the umask): 0, or a
 * negative errno (path unchanged). */
int file_write(const char *path, const void *buf, size_t len, unsigned mode);
/* Does path (a regular file, not followed if a symlink) hold exactly text? */
bool file_holds(const char *path, const char *text, size_t n);
/* file_write unless path already holds exactly text: 1 written, 0
 * unchanged, negative errno. */
int file_put(const char *path, const char *text, size_t n, unsigned mode);
/* Make directory path and its missing parents (0755), path itself with
 * mode (subject to the umask) if it is new: 0 or a negative errno. */
int file_mkdirs(const char *path, unsigned mode);

#endif
