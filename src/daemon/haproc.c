/* A MirrorNet-owned HAProxy instance: generations, check, switch, start
 * (haproc.h). What expose.c did for the CDN, shared with ai.c. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "src/daemon/haproc.h"
#include "src/daemon/expose_chan.h"
#include "src/log.h"

#define CHECK_TIMEOUT_MS 30000
#define START_TIMEOUT_MS 30000

void haproc_init(struct haproc *p, struct mn_host *h, const char *name)
{
	memset(p, 0, sizeof *p);
	p->h = h;
	p->name = name;
	p->live = p->pending = -1;
	retry_init(&p->retry, h, name);
}

void haproc_stop(struct haproc *p)
{
	retry_close(&p->retry);
}

void haproc_gen_dir(const char *dir, int g, char *out, size_t cap)
{
	snprintf(out, cap, "%.*s/gen.%d", HAPROC_DIR_MAX, dir, g);
}

int haproc_live(const char *dir)
{
	char p[HAPROC_DIR_MAX + 16], t[32];
	ssize_t n;

	snprintf(p, sizeof p, "%.*s/live", HAPROC_DIR_MAX, dir);
	n = readlink(p, t, sizeof t - 1);
	if (n < 0)
		return -1;
	t[n] = 0;
	return !strcmp(t, "gen.0") ? 0 : !strcmp(t, "gen.1") ? 1 : -1;
}

pid_t haproc_pid(const char *dir)
{
	char p[HAPROC_DIR_MAX + 32];

	snprintf(p, sizeof p, "%.*s/haproxy.pid", HAPROC_DIR_MAX, dir);
	return expose_pid_named(p, "haproxy");
}

/* The last lines of a command's output, for status. */
static void read_tail(const char *dir, const char *file, char *out, size_t cap)
{
	static const char *const marks[] = { "ALERT", "rror", NULL };
	char p[HAPROC_DIR_MAX + 32];

	snprintf(p, sizeof p, "%.*s/%s", HAPROC_DIR_MAX, dir, file);
	expose_log_line(p, marks, out, cap);
}

void haproc_start_done(struct haproc *p, const char *dir, bool ok, const char *status)
{
	char tail[400];

	if (ok) {
		p->starts++;
		retry_reset(&p->retry);
		return;
	}
	p->start_failures++;
	read_tail(dir, "haproxy.log", tail, sizeof tail);
	snprintf(p->last_error, sizeof p->last_error, "haproxy did not start (%s): %s", status, tail);
	log_err("%s: %s", p->name, p->last_error);
	retry_later(&p->retry);
}

/* Generation g passed the check: point DIR/live at it, then reload the
 * running HAProxy (USR2: the master starts new workers, the old ones
 * finish their connections) or start one. */
static void switch_to(struct haproc *p, const char *dir, int g)
{
	char tmp[HAPROC_DIR_MAX + 32], live[HAPROC_DIR_MAX + 32], target[16];

	snprintf(tmp, sizeof tmp, "%.*s/live.tmp", HAPROC_DIR_MAX, dir);
	snprintf(live, sizeof live, "%.*s/live", HAPROC_DIR_MAX, dir);
	snprintf(target, sizeof target, "gen.%d", g);
	unlink(tmp);
	if (symlink(target, tmp) < 0 || rename(tmp, live) < 0) {
		snprintf(p->last_error, sizeof p->last_error, "%s: %s", live, strerror(errno));
		return;
	}
	p->live = g;
	p->switches++;
	pid_t pid = haproc_pid(dir);
	if (pid) {
		if (kill(pid, SIGUSR2) == 0)
			p->reloads++;
		return;
	}
	/* none runs: the next regeneration starts one (the host's command
	 * slot is still closing when this runs) */
	host_dirty(p->h);
}

void haproc_start(struct haproc *p, const char *haproxy, const char *dir, haproc_done_fn done)
{
	char cmd[1024];

	snprintf(cmd, sizeof cmd, "exec '%s' -W -D -f '%s/live/haproxy.cfg' -p '%s/haproxy.pid' >'%s/haproxy.log' 2>&1",
		 haproxy, dir, dir, dir);
	int rc = host_run(p->h, cmd, START_TIMEOUT_MS, done);
	if (rc == -EBUSY)
		host_dirty(p->h);   /* after the command that runs */
	else if (rc < 0) {
		p->start_failures++;
		snprintf(p->last_error, sizeof p->last_error, "haproxy: cannot run: %s", strerror(-rc));
		retry_later(&p->retry);
	}
}

void haproc_check_done(struct haproc *p, const char *dir, bool ok, const char *status)
{
	char tail[400];

	p->checking = false;
	snprintf(p->checked_status, sizeof p->checked_status, "%s", status);
	if (!ok) {
		p->check_failures++;
		read_tail(dir, "check.log", tail, sizeof tail);
		/* (host_run's status of a command killed at its bound) */
		bool hung = !strncmp(status, "timed out", 9);
		snprintf(p->last_error, sizeof p->last_error, "haproxy -c %s gen.%d (%s), the running config stays: %s",
			 hung ? "did not finish on" : "refused", p->pending, status, tail);
		log_err("%s: %s", p->name, p->last_error);
		retry_later(&p->retry);
		return;
	}
	p->last_error[0] = 0;
	retry_reset(&p->retry);
	switch_to(p, dir, p->pending);
}

int haproc_check(struct haproc *p, const char *haproxy, const char *dir, int g, haproc_done_fn done)
{
	char gdir[HAPROC_DIR_MAX + 16], cmd[1024];

	haproc_gen_dir(dir, g, gdir, sizeof gdir);
	p->pending = g;
	p->checking = true;
	p->checks++;
	snprintf(cmd, sizeof cmd, "exec '%s' -c -f '%s/haproxy.cfg' >'%s/check.log' 2>&1", haproxy, gdir, dir);
	int rc = host_run(p->h, cmd, CHECK_TIMEOUT_MS, done);
	if (rc < 0) {
		p->checking = false;
		if (rc == -EBUSY) {
			host_dirty(p->h);   /* (another command of ours) runs us again after it */
			return rc;
		}
		p->check_failures++;
		snprintf(p->last_error, sizeof p->last_error, "haproxy -c: cannot run: %s", strerror(-rc));
		retry_later(&p->retry);
	}
	return rc;
}
