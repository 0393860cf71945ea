/* The channels' option checks and the small helpers they share with the
 * rest of the exposure subsystem (expose_chan.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <string.h>
#include <sys/stat.h>
#include "src/daemon/expose_chan.h"
#include "src/body_json.h"

static int path_check(const char *name, const char *val, char *msg, size_t cap)
{
	if (!torcfg_dir_ok(val) || !strcmp(val, "/")) {
		snprintf(msg, cap, "%s: an absolute path of [A-Za-z0-9._+-/], no '.' or '..' parts, no final '/', "
			 "at most %d bytes", name, TORCFG_DIR_MAX);
		return -EINVAL;
	}
	return 0;
}

int expose_chan_check_tor_dir(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	return path_check("expose_tor_dir", val, msg, cap);
}

int expose_chan_check_tor_bin(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	return path_check("expose_tor_bin", val, msg, cap);
}

int expose_chan_check_mdns_dir(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	return path_check("expose_mdns_dir", val, msg, cap);
}

int expose_mkdirs(const char *path, unsigned mode)
{
	char p[TORCFG_DIR_MAX + 64];
	struct stat st;

	if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p)
		return -ENAMETOOLONG;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	if (stat(p, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if ((st.st_mode & 07777 & ~mode) && chmod(p, mode) < 0)
		return -errno;
	return 0;
}

pid_t expose_pid_named(const char *pidfile, const char *comm)
{
	char stat[64], buf[256], want[32];
	long pid = 0;
	FILE *f;

	/* HAProxy's master rewrites its pid file at each reload (truncate, then
	 * write): an empty read is that moment, not a dead proxy — read again
	 * (at most 10 × 5 ms), or a caller would start a second instance */
	for (int tries = 0; tries < 10; tries++) {
		if (!(f = fopen(pidfile, "r")))
			return 0;
		int got = fscanf(f, "%ld", &pid);
		fclose(f);
		if (got == 1)
			break;
		pid = 0;
		nanosleep(&(struct timespec){ .tv_nsec = 5000000 }, NULL);
	}
	if (pid <= 1 || kill((pid_t)pid, 0) != 0)
		return 0;
	/* a live process of that name, not a zombie nobody reaped nor a reused pid */
	snprintf(stat, sizeof stat, "/proc/%ld/stat", pid);
	if (!(f = fopen(stat, "r")))
		return (pid_t)pid;   /* no /proc: trust the signal */
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	snprintf(want, sizeof want, "(%s)", comm);
	char *close = strrchr(buf, ')');
	if (!strstr(buf, want) || !close || close[1] != ' ' || close[2] == 'Z' || close[2] == 'X')
		return 0;
	return (pid_t)pid;
}

void expose_log_line(const char *path, const char *const *marks, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	char line[512];

	out[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		bool marked = false;
		line[strcspn(line, "\n")] = 0;
		for (const char *const *m = marks; *m && !marked; m++)
			marked = strstr(line, *m) != NULL;
		if (line[0] && (marked || !out[0]))
			snprintf(out, cap, "%.*s", (int)(cap - 1), line);
	}
	fclose(f);
}

void expose_json_counts(struct json_object *j, const struct expose_count *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_put_int(j, rows[i].key, rows[i].n);
}

void expose_json_text(struct json_object *j, const char *key, const char *s)
{
	if (s[0])
		json_put_str(j, key, s);
}
