/* The Tor channel (docs/expose.md, "Tor"): a v3 hidden service for each of
 * this box's exposures with the tor channel, in a tor instance of
 * MirrorNet's own (its own torrc, data directory, pid file and process —
 * never the box's system tor), and the .onion names tor makes published in
 * the exposures' records (field `onion`, through expose.c's own_body()).
 *
 * Life of a configuration, like the HAProxy one in expose.c: render the
 * torrc (src/expose/torcfg.c) into DIR/tor/torrc.next; if it differs from
 * the live DIR/tor/torrc, run `tor --verify-config` on it; refused: the
 * live one stays, status says why, and that same text is not tried again
 * until it changes or the config is reloaded; accepted: it becomes the
 * live torrc and the running tor re-reads it (SIGHUP) or tor is started
 * (RunAsDaemon: its start command returns once tor runs). Then each
 * service's `hostname` file is read — polled every 100 ms for up to 30 s
 * after a start or reload — and published only once it holds a valid v3
 * name (proto's onion_name_valid()); a malformed one is refused and
 * counted, a missing one counted when the wait ends. No exposure left with
 * the channel, or the channel turned off: tor is stopped (SIGTERM) and the
 * names leave the records.
 *
 * Keys: HiddenServiceDir is <expose_tor_dir>/<service> (persistent storage,
 * directories 0700). Removing an exposure or its tor channel takes the
 * service out of the torrc and its name out of the record, but leaves its
 * keys on disk, so adding it again gives the same .onion name; to retire a
 * name for good, delete its directory. The daemon never reads or logs a
 * key, only the public hostname file. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "src/daemon/expose_chan.h"
#include "src/putfile.h"
#include "src/log.h"
#include "proto/body.h"
#include "src/body_json.h"

#define TOR_MAX 64                   /* hidden services (EXPOSE_MAX_OWN) */
#define TOR_POLL_MS 100
#define TOR_WAIT_MS 30000            /* for tor to write a hostname */
#define TOR_CHECK_TIMEOUT_MS 30000
#define TOR_START_TIMEOUT_MS 60000
#define TOR_RETRY_MS 60000           /* after a failed start, before the next */

enum hs_state { HS_WAITING, HS_OK, HS_BAD, HS_MISSING };

/* A hidden service of the live torrc. */
struct hs {
	char service[MN_MAX_NAME + 1];
	char onion[MN_MAX_ONION + 1];        /* "" until its hostname checked */
	uint8_t state;                       /* enum hs_state */
};

struct expose_tor {
	struct mn_host *h;
	void (*onion_changed)(void *arg);
	void *arg;
	uv_timer_t timer;
	bool timer_open;
	char run_dir[TORCFG_DIR_MAX + 1], keys_dir[TORCFG_DIR_MAX + 1], bin[TORCFG_DIR_MAX + 1];
	struct hs live[TOR_MAX];
	size_t nlive;
	char pending[TOR_MAX][MN_MAX_NAME + 1];   /* the services of the candidate */
	size_t npending;
	char *candidate, *refused;           /* the torrc being checked; the last one refused */
	bool checking, starting, want_start, serving;
	uint64_t wait_until;                 /* uv_now */
	uint64_t retry_at;                   /* uv_now: no start before (after a failure) */
	unsigned checks, check_failures, switches, reloads, starts, start_failures, stops;
	unsigned hostname_refused, hostname_missing, skipped, unserved;
	char last_error[400], skip_reason[200];
};

static const char *const tor_marks[] = { "[err]", "[warn]", NULL };

static void path_in(const struct expose_tor *t, const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", t->run_dir, name);
}

static pid_t tor_pid(const struct expose_tor *t)
{
	char p[TORCFG_DIR_MAX + 32];

	path_in(t, "tor.pid", p, sizeof p);
	return expose_pid_named(p, "tor");
}

/* ---- the hostnames ---- */

/* Read service's hostname file: 1 a valid v3 name (in out), 0 missing,
 * -EINVAL there but not a v3 onion name. */
static int read_hostname(const struct expose_tor *t, const char *service, char *out, size_t cap)
{
	char p[TORCFG_DIR_MAX + MN_MAX_NAME + 16], buf[128];
	int fd;
	ssize_t n;

	snprintf(p, sizeof p, "%s/%s/hostname", t->keys_dir, service);
	if ((fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 0 : -EINVAL;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return n == 0 ? 0 : -EINVAL;   /* (tor writes it whole: empty is not yet) */
	buf[n] = 0;
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = 0;
	if ((size_t)n >= cap || !onion_name_valid(buf))
		return -EINVAL;
	memcpy(out, buf, (size_t)n + 1);
	return 1;
}

/* Read every live service's hostname; true if a published name changed. */
static bool scan(struct expose_tor *t)
{
	bool changed = false;

	if (!t->serving)
		return false;
	for (size_t i = 0; i < t->nlive; i++) {
		struct hs *s = &t->live[i];
		char onion[MN_MAX_ONION + 1] = "";
		int rc = read_hostname(t, s->service, onion, sizeof onion);
		if (rc > 0) {
			changed |= strcmp(s->onion, onion) != 0;
			snprintf(s->onion, sizeof s->onion, "%s", onion);
			s->state = HS_OK;
			continue;
		}
		changed |= s->onion[0] != 0;
		s->onion[0] = 0;
		if (rc < 0 && s->state != HS_BAD) {
			s->state = HS_BAD;
			t->hostname_refused++;
			snprintf(t->last_error, sizeof t->last_error, "tor: the hostname file of %s does not hold "
				 "a v3 onion name: refused, not published", s->service);
			log_err("expose: %s", t->last_error);
		} else if (rc == 0 && s->state != HS_MISSING) {
			s->state = HS_WAITING;
		}
	}
	return changed;
}

/* ---- the poll timer: a start wanted, hostnames awaited ---- */

static void start_tor(struct expose_tor *t);

static void on_tick(uv_timer_t *tm)
{
	struct expose_tor *t = tm->data;
	size_t waiting = 0;

	if (t->want_start)
		start_tor(t);
	if (scan(t) && t->onion_changed)
		t->onion_changed(t->arg);
	for (size_t i = 0; i < t->nlive; i++)
		waiting += t->live[i].state == HS_WAITING;
	if (waiting && uv_now(host_loop(t->h)) >= t->wait_until) {
		for (size_t i = 0; i < t->nlive; i++) {
			if (t->live[i].state != HS_WAITING)
				continue;
			t->live[i].state = HS_MISSING;
			t->hostname_missing++;
			snprintf(t->last_error, sizeof t->last_error, "tor made no hostname for %s within %d s "
				 "(see %s/tor.log)", t->live[i].service, TOR_WAIT_MS / 1000, t->run_dir);
			log_err("expose: %s", t->last_error);
		}
		waiting = 0;
	}
	if (!waiting && !t->want_start && !t->starting)
		uv_timer_stop(&t->timer);
}

/* Poll from now on, for up to TOR_WAIT_MS. */
static void arm(struct expose_tor *t)
{
	if (!t->timer_open)
		return;
	t->wait_until = uv_now(host_loop(t->h)) + TOR_WAIT_MS;
	for (size_t i = 0; i < t->nlive; i++)
		if (t->live[i].state == HS_MISSING)
			t->live[i].state = HS_WAITING;
	if (!uv_is_active((uv_handle_t *)&t->timer))
		uv_timer_start(&t->timer, on_tick, 0, TOR_POLL_MS);
}

/* ---- start, stop ---- */

static void start_done(void *st, bool ok, const char *status, uint64_t ms)
{
	struct expose_tor *t = expose_tor_of(st);
	char p[TORCFG_DIR_MAX + 32], line[300];

	(void)ms;
	t->starting = false;
	if (ok) {
		t->starts++;
		t->serving = true;
		arm(t);
		return;
	}
	t->start_failures++;
	t->retry_at = uv_now(host_loop(t->h)) + TOR_RETRY_MS;
	path_in(t, "start.log", p, sizeof p);
	expose_log_line(p, tor_marks, line, sizeof line);
	snprintf(t->last_error, sizeof t->last_error, "tor did not start (%s): %s", status, line);
	log_err("expose: %s", t->last_error);
}

static void start_tor(struct expose_tor *t)
{
	char cmd[4 * TORCFG_DIR_MAX + 128];

	if (t->starting || t->checking)
		return;
	snprintf(cmd, sizeof cmd, "exec '%s' -f '%s/torrc' --defaults-torrc /dev/null >'%s/start.log' 2>&1",
		 t->bin, t->run_dir, t->run_dir);
	t->want_start = false;
	t->starting = true;
	int rc = host_run(t->h, cmd, TOR_START_TIMEOUT_MS, start_done);
	if (rc < 0) {
		t->starting = false;
		if (rc == -EBUSY) {
			t->want_start = true;   /* the timer (or the next regeneration) tries again */
			arm(t);
			return;
		}
		t->start_failures++;
		snprintf(t->last_error, sizeof t->last_error, "tor: cannot run: %s", strerror(-rc));
	}
}

/* No hidden service wanted: tor stopped, the live torrc gone, the names
 * out of the records. */
static void tor_down(struct expose_tor *t)
{
	char p[TORCFG_DIR_MAX + 32];
	bool had = false;
	pid_t pid = tor_pid(t);

	if (pid && kill(pid, SIGTERM) == 0)
		t->stops++;
	path_in(t, "torrc", p, sizeof p);
	unlink(p);
	for (size_t i = 0; i < t->nlive; i++)
		had |= t->live[i].onion[0] != 0;
	t->nlive = 0;
	t->serving = t->want_start = false;
	if (t->timer_open)
		uv_timer_stop(&t->timer);
	if (had && t->onion_changed)
		t->onion_changed(t->arg);
}

/* ---- check, switch ---- */

/* The services of the live torrc are now names[0..n): the names known for
 * those still there are kept. True if a published name went. */
static bool set_live(struct expose_tor *t, const char (*names)[MN_MAX_NAME + 1], size_t n)
{
	struct hs nl[TOR_MAX];
	bool changed = false;

	for (size_t i = 0; i < n; i++) {
		struct hs *e = &nl[i];
		memset(e, 0, sizeof *e);
		snprintf(e->service, sizeof e->service, "%s", names[i]);
		for (size_t k = 0; k < t->nlive; k++)
			if (!strcmp(t->live[k].service, e->service))
				*e = t->live[k];
	}
	for (size_t k = 0; k < t->nlive; k++) {
		bool kept = false;
		for (size_t i = 0; i < n; i++)
			kept |= !strcmp(nl[i].service, t->live[k].service);
		changed |= !kept && t->live[k].onion[0];
	}
	memcpy(t->live, nl, n * sizeof *nl);
	t->nlive = n;
	return changed;
}

static void verify_done(void *st, bool ok, const char *status, uint64_t ms)
{
	struct expose_tor *t = expose_tor_of(st);
	char next[TORCFG_DIR_MAX + 32], live[TORCFG_DIR_MAX + 32], line[300];
	bool changed = false;

	(void)ms;
	t->checking = false;
	if (!ok) {
		t->check_failures++;
		path_in(t, "verify.log", next, sizeof next);
		expose_log_line(next, tor_marks, line, sizeof line);
		snprintf(t->last_error, sizeof t->last_error,
			 "tor --verify-config refused the new torrc (%s), the running one stays: %s", status, line);
		log_err("expose: %s", t->last_error);
		free(t->refused);
		t->refused = t->candidate;
		t->candidate = NULL;
		return;
	}
	free(t->candidate);
	t->candidate = NULL;
	path_in(t, "torrc.next", next, sizeof next);
	path_in(t, "torrc", live, sizeof live);
	if (rename(next, live) < 0) {
		snprintf(t->last_error, sizeof t->last_error, "%s: %s", live, strerror(errno));
		return;
	}
	t->switches++;
	t->retry_at = 0;
	t->last_error[0] = 0;
	changed = set_live(t, t->pending, t->npending);
	pid_t pid = tor_pid(t);
	if (pid && kill(pid, SIGHUP) == 0) {
		t->reloads++;
		t->serving = true;
	} else {
		t->want_start = true;   /* from the timer: the command slot is still closing */
	}
	arm(t);
	if (changed && t->onion_changed)
		t->onion_changed(t->arg);
}

static void report_skip(void *arg, const char *msg)
{
	struct expose_tor *t = arg;

	snprintf(t->skip_reason, sizeof t->skip_reason, "%s", msg);
}

void expose_tor_regen(struct expose_tor *t, const struct expose_chan_conf *c, const char *expose_dir,
		      const struct expose_svc *svcs, size_t n)
{
	struct torcfg_service ws[TOR_MAX];
	struct torcfg tc;
	char *text = NULL, p[TORCFG_DIR_MAX + MN_MAX_NAME + 16], msg[200];
	size_t len, nw = 0;
	int rc;

	snprintf(t->run_dir, sizeof t->run_dir, "%.*s/tor", TORCFG_DIR_MAX - 4, expose_dir);
	snprintf(t->keys_dir, sizeof t->keys_dir, "%s", c->tor_dir);
	snprintf(t->bin, sizeof t->bin, "%s", c->tor_bin);
	t->unserved = 0;
	for (size_t i = 0; i < n; i++) {
		if (!(svcs[i].channels & CH_TOR))
			continue;
		if (!c->tor || nw == TOR_MAX) {
			t->unserved++;
			continue;
		}
		struct torcfg_service *w = &ws[nw++];
		memset(w, 0, sizeof *w);
		snprintf(w->service, sizeof w->service, "%s", svcs[i].service);
		snprintf(w->backend, sizeof w->backend, "%s", svcs[i].backend);
		w->port = torcfg_port(svcs[i].proto, svcs[i].port);
	}
	if (!nw) {
		tor_down(t);
		return;
	}
	if (t->checking || t->starting)
		return;   /* its done callback goes on */
	memset(&tc, 0, sizeof tc);
	snprintf(tc.run_dir, sizeof tc.run_dir, "%s", t->run_dir);
	snprintf(tc.keys_dir, sizeof tc.keys_dir, "%s", t->keys_dir);
	tc.network = c->tor_network;
	tc.services = ws;
	tc.n = nw;
	t->skip_reason[0] = 0;
	rc = torcfg_render(&tc, &text, &len, &t->skipped, report_skip, t, msg, sizeof msg);
	if (rc < 0) {
		snprintf(t->last_error, sizeof t->last_error, "tor: %s", msg);
		return;
	}
	/* the services the text holds (the others were left out, reported) */
	char names[TOR_MAX][MN_MAX_NAME + 1];
	size_t nn = 0;
	for (size_t i = 0; i < nw; i++)
		if (!torcfg_refusal(&tc, i))
			snprintf(names[nn++], sizeof names[0], "%.*s", MN_MAX_NAME, ws[i].service);
	path_in(t, "torrc", p, sizeof p);
	bool holds = file_holds(p, text, len);
	/* (holds: maybe the live torrc of an earlier run of the daemon: its services) */
	bool gone = holds && set_live(t, names, nn);
	if ((scan(t) || gone) && t->onion_changed)
		t->onion_changed(t->arg);
	if (holds) {
		free(text);
		if (tor_pid(t)) {
			if (!t->serving) {   /* (a tor of an earlier run of the daemon) */
				t->serving = true;
				arm(t);
			}
		} else if (!t->starting && uv_now(host_loop(t->h)) >= t->retry_at) {
			t->want_start = true;   /* first start, or it died (not again at once if it failed) */
		}
		if (t->want_start)
			start_tor(t);
		return;
	}
	if (t->refused && !strcmp(t->refused, text)) {
		free(text);
		return;   /* refused as it is: status says why */
	}
	if ((rc = expose_mkdirs(t->run_dir, 0700)) < 0 || (rc = expose_mkdirs(t->keys_dir, 0700)) < 0) {
		snprintf(t->last_error, sizeof t->last_error, "tor: %s or %s: %s", t->run_dir, t->keys_dir,
			 strerror(-rc));
		free(text);
		return;
	}
	memcpy(t->pending, names, nn * sizeof names[0]);
	t->npending = nn;
	for (size_t i = 0; i < nn; i++) {
		snprintf(p, sizeof p, "%.*s/%.*s", TORCFG_DIR_MAX, t->keys_dir, MN_MAX_NAME, names[i]);
		if ((rc = expose_mkdirs(p, 0700)) < 0)
			snprintf(t->last_error, sizeof t->last_error, "tor: %s: %s", p, strerror(-rc));
	}
	path_in(t, "torrc.next", p, sizeof p);
	if ((rc = file_put(p, text, len, 0600)) < 0) {
		snprintf(t->last_error, sizeof t->last_error, "%s: %s", p, strerror(-rc));
		free(text);
		return;
	}
	free(t->candidate);
	t->candidate = text;
	char cmd[4 * TORCFG_DIR_MAX + 128];
	snprintf(cmd, sizeof cmd, "exec '%s' --verify-config -f '%s' --defaults-torrc /dev/null >'%s/verify.log' 2>&1",
		 t->bin, p, t->run_dir);
	t->checking = true;
	t->checks++;
	rc = host_run(t->h, cmd, TOR_CHECK_TIMEOUT_MS, verify_done);
	if (rc < 0) {
		t->checking = false;
		t->checks--;
		if (rc == -EBUSY) {
			host_dirty(t->h);   /* after the running command */
			return;
		}
		t->check_failures++;
		snprintf(t->last_error, sizeof t->last_error, "tor --verify-config: cannot run: %s", strerror(-rc));
	}
}

void expose_tor_onion(const struct expose_tor *t, const char *service, char *out, size_t cap)
{
	out[0] = 0;
	if (!t || !t->serving)
		return;
	for (size_t i = 0; i < t->nlive; i++)
		if (!strcmp(t->live[i].service, service) && t->live[i].state == HS_OK)
			snprintf(out, cap, "%s", t->live[i].onion);
}

/* ---- life, status ---- */

struct expose_tor *expose_tor_new(struct mn_host *h, void (*onion_changed)(void *arg), void *arg)
{
	struct expose_tor *t = calloc(1, sizeof *t);

	if (!t)
		return NULL;
	t->h = h;
	t->onion_changed = onion_changed;
	t->arg = arg;
	if (uv_timer_init(host_loop(h), &t->timer) == 0) {
		t->timer.data = t;
		t->timer_open = true;
		uv_unref((uv_handle_t *)&t->timer);
	}
	return t;
}

void expose_tor_stop(struct expose_tor *t)
{
	if (t && t->timer_open)
		uv_close((uv_handle_t *)&t->timer, NULL);
	if (t)
		t->timer_open = false;
}

void expose_tor_free(struct expose_tor *t)
{
	if (!t)
		return;
	free(t->candidate);
	free(t->refused);
	free(t);
}

void expose_tor_reload(struct expose_tor *t)
{
	free(t->refused);
	t->refused = NULL;
	t->retry_at = 0;
}

struct json_object *expose_tor_status(const struct expose_tor *t, const struct expose_chan_conf *c)
{
	struct json_object *j = json_object_new_object();
	char p[TORCFG_DIR_MAX + 32];
	unsigned onions = 0, waiting = 0;

	json_put_str(j, "mode", c->tor ? "tor" : "none");
	if (t->unserved)
		json_put_int(j, "unserved", t->unserved);
	if (c->tor) {
		pid_t pid = tor_pid(t);
		for (size_t i = 0; i < t->nlive; i++) {
			onions += t->live[i].state == HS_OK;
			waiting += t->live[i].state == HS_WAITING;
		}
		path_in(t, "torrc", p, sizeof p);
		json_put_bool(j, "running", pid != 0);
		if (pid)
			json_put_int(j, "pid", (int)pid);
		json_put_str(j, "config", t->nlive ? p : "");
		json_put_str(j, "keys", c->tor_dir);
		json_put_bool(j, "network", c->tor_network);
		const struct expose_count n[] = {
			{ "services", (unsigned)t->nlive }, { "onions", t->serving ? onions : 0 },
			{ "waiting", waiting }, { "skipped", t->skipped }, { "checks", t->checks },
			{ "check_failures", t->check_failures }, { "switches", t->switches },
			{ "reloads", t->reloads }, { "starts", t->starts }, { "start_failures", t->start_failures },
			{ "stops", t->stops }, { "hostname_refused", t->hostname_refused },
			{ "hostname_missing", t->hostname_missing },
		};
		expose_json_counts(j, n, sizeof n / sizeof n[0]);
		expose_json_text(j, "last_refusal", t->skip_reason);
	}
	expose_json_text(j, "last_error", t->last_error);
	return j;
}
