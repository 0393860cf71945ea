/* See putfile.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "src/daemon/putfile.h"

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
	char tmp[4096 + 8];
	int fd, rc = 0;

	if (file_holds(path, text, n))
		return 0;
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)) < 0)
		return -errno;
	for (size_t off = 0; off < n && !rc;) {
		ssize_t k = write(fd, text + off, n - off);
		if (k < 0 && errno != EINTR)
			rc = -errno;
		off += k > 0 ? (size_t)k : 0;
	}
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc < 0 ? rc : 1;
}
