/* Files that subsystems generate (zone files, server configs, hosts files):
 * written atomically, and only when their content changes, so that a
 * server reading them never sees half a file and a reload is only asked
 * for when something changed. */
#ifndef MN_PUTFILE_H
#define MN_PUTFILE_H
#include <stdbool.h>
#include <stddef.h>

/* Does path (a regular file, not followed if a symlink) hold exactly text? */
bool file_holds(const char *path, const char *text, size_t n);
/* Write text to path (through path.tmp, fsync, rename) with mode, unless
 * it already holds exactly that: 1 written, 0 unchanged, negative errno. */
int file_put(const char *path, const char *text, size_t n, unsigned mode);

#endif
