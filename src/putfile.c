/* See putfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "src/putfile.h"

int file_write(const char *path, const void *buf, size_t len, unsigned mode)
{
	char tmp[PATH_MAX];
	int fd, rc = 0;
	size_t off = 0;

	if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, (const char *)buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		off += (size_t)n;
	}
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		rc = -errno;
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		rc = -errno;
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

bool file_holds(const char *path, const char *text, size_t n)
{
	char buf[65536];
	struct stat st;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	bool same;

	if (fd < 0)
		return false;
	same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == n;
	while (same && off < n) {
		ssize_t k = read(fd, buf, sizeof buf);
		same = k > 0 && (size_t)k <= n - off && !memcmp(buf, text + off, (size_t)k);
		off += k > 0 ? (size_t)k : 0;
	}
	close(fd);
	return same;
}

int file_put(const char *path, const char *text, size_t n, unsigned mode)
{
	if (file_holds(path, text, n))
		return 0;
	int rc = file_write(path, text, n, mode);
	return rc < 0 ? rc : 1;
}

int file_mkdirs(const char *path, unsigned mode)
{
	char p[PATH_MAX];

	if (strlen(path) >= sizeof p)
		return -ENAMETOOLONG;
	snprintf(p, sizeof p, "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return mkdir(p, mode) < 0 && errno != EEXIST ? -errno : 0;
}
