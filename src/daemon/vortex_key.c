/* Vortex DNS's TSIG key files (vortex_key.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "src/daemon/vortex_key.h"
#include "src/putfile.h"

static int mode_ok(const char *path, const struct stat *st, char *err, size_t errcap)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errcap, "%s: not a regular file", path);
		return -EINVAL;
	}
	if (st->st_mode & 077) {
		snprintf(err, errcap, "%s: a TSIG key readable or writable by others (mode %04o); "
			 "chmod 600 it", path, (unsigned)(st->st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int vortex_key_mode_check(const char *path, char *err, size_t errcap)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return -errno;
	}
	return mode_ok(path, &st, err, errcap);
}

int vortex_key_load(const char *path, const char *make_name, struct tsig_key *k, char *err,
		    size_t errcap)
{
	char line[512];
	struct stat st;
	int rc, fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	memset(k, 0, sizeof *k);
	if (fd < 0 && errno == ENOENT && make_name) {
		uint8_t key[TSIG_SECRET_LEN];
		if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key) {
			snprintf(err, errcap, "%s: no random bytes", path);
			return -EIO;
		}
		int n = tsig_key_line("hmac-sha256", make_name, key, line, sizeof line);
		explicit_bzero(key, sizeof key);
		rc = n < 0 ? n : file_write(path, line, (size_t)n, 0600);
		explicit_bzero(line, sizeof line);
		if (rc < 0) {
			snprintf(err, errcap, "%s: %s", path, strerror(-rc));
			return rc;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	}
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errcap, "%s: %s", path, errno == ELOOP ? "a symlink (refused)" : strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if ((rc = mode_ok(path, &st, err, errcap)) < 0) {
		close(fd);
		return rc;
	}
	ssize_t n = read(fd, line, sizeof line - 1);
	close(fd);
	line[n > 0 ? n : 0] = 0;
	rc = tsig_key_parse(line, k);
	explicit_bzero(line, sizeof line);
	if (rc < 0)
		snprintf(err, errcap, "%s: not a key line (ALGORITHM:NAME:BASE64, ALGORITHM "
			 "hmac-sha256, hmac-sha384 or hmac-sha512, NAME a lower-case DNS name)", path);
	return rc;
}
