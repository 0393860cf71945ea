/* A MirrorNet-owned HAProxy instance in a directory of its own (the expose
 * subsystem's CDN, the ai subsystem's endpoint): two generations
 * DIR/gen.0 and DIR/gen.1, DIR/live pointing at the one running, its pid
 * file, logs and check output. A new generation is rendered into the one
 * not live, checked with `haproxy -c`, then DIR/live is switched to it and
 * the master told (USR2: new workers, the old ones finish their
 * connections), or started when none runs. Commands run through the
 * subsystem's host_run slot, so their done callbacks are the subsystem's:
 * it passes them on to haproc_check_done / haproc_start_done.
 *
 * A check or start that fails — refused, a command that exits non-zero or
 * hangs and is killed at its bound, one that cannot run — is tried again
 * by itself: the subsystem is made dirty after 5 s, then 10, 20 ... up to
 * 5 minutes, until one passes (issue #19: a reload that failed once used to
 * wait for the next record, or for the 10-minute refresh). */
#ifndef MN_HAPROC_H
#define MN_HAPROC_H
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "src/daemon/subsys.h"
#include "src/daemon/retry.h"

#define HAPROC_DIR_MAX 200

struct haproc {
	struct mn_host *h;
	const char *name;                 /* the log prefix: "expose", "ai" */
	int live, pending;                /* gen 0/1, -1 none; the one being checked */
	bool checking;
	unsigned checks, check_failures, switches, reloads, starts, start_failures;
	struct retry retry;               /* a failed check or start tried again (retry.h) */
	char checked_status[128];         /* the last check's outcome */
	char last_error[600];             /* "" none; the subsystem may write it too */
};

typedef void (*haproc_done_fn)(void *st, bool ok, const char *status, uint64_t ms);

/* (Its retry timer on the host's loop: haproc_stop closes it.) */
void haproc_init(struct haproc *p, struct mn_host *h, const char *name);
/* From the subsystem's stop: no more retries; the struct may be freed
 * after the loop ran the close. */
void haproc_stop(struct haproc *p);
/* DIR/gen.G into out. */
void haproc_gen_dir(const char *dir, int g, char *out, size_t cap);
/* Which generation DIR/live points at: 0, 1 or -1. */
int haproc_live(const char *dir);
/* The running master's pid (a live haproxy named in DIR/haproxy.pid), or 0. */
pid_t haproc_pid(const char *dir);
/* Start haproxy on DIR/live (done: the subsystem's, which calls
 * haproc_start_done). -EBUSY: the host runs it again later. */
void haproc_start(struct haproc *p, const char *haproxy, const char *dir, haproc_done_fn done);
void haproc_start_done(struct haproc *p, const char *dir, bool ok, const char *status);
/* Check generation g (written into DIR/gen.G); when done (the
 * subsystem's, which calls haproc_check_done) and it passed, switch to
 * it. 0 started; -EBUSY (asked again later) or another negative errno. */
int haproc_check(struct haproc *p, const char *haproxy, const char *dir, int g, haproc_done_fn done);
void haproc_check_done(struct haproc *p, const char *dir, bool ok, const char *status);

#endif
