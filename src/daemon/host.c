/* The host of the subsystems (subsys.h) on a running daemon: each gets a
 * handle onto the daemon's loop, engine, store and configuration — never
 * the daemon itself — plus a debounced regeneration timer and one command
 * slot. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/daemon/host.h"
#include "src/daemon/host_core.h"
#include "src/daemon/wgsync.h"
#include "src/daemon/config.h"
#include "src/daemon/daemon.h"
#include "src/engine/engine.h"
#include "src/store.h"
#include "src/log.h"
#include "crypto/chain.h"
#include "crypto/key.h"

struct mn_host {
	struct daemon *d;
	uv_loop_t *loop;
	const struct subsys *s;
	size_t conf_off;             /* its section in struct config */
	void *st;                    /* what start returned */
	bool closing;
	/* regeneration (host_dirty) */
	uv_timer_t regen_timer;
	bool pending, started, again;
	uint64_t first_dirty_ms, last_start_ms, last_cost_ms;   /* uv_now */
	/* the command (host_run) */
	uv_process_t proc;
	uv_timer_t run_timer;
	bool running, run_timed_out;
	uint64_t run_start_ns, run_timeout_ms;
	void (*run_done)(void *st, bool ok, const char *status, uint64_t ms);
};

struct hosts {
	struct mn_host *h;
	size_t n;
};

/* ---- for subsystems ---- */

uv_loop_t *host_loop(struct mn_host *h)
{
	return h->loop;
}

const void *host_conf(const struct mn_host *h)
{
	return (const char *)daemon_config(h->d) + h->conf_off;
}

const struct config *host_config(const struct mn_host *h)
{
	return daemon_config(h->d);
}

const uint8_t *host_self(const struct mn_host *h)
{
	return daemon_key(h->d)->pk;
}

uint64_t host_now_ms(const struct mn_host *h)
{
	(void)h;
	return daemon_now_ms();
}

int host_publish(struct mn_host *h, unsigned kind, const char *key, const union body *b,
		 uint64_t ttl_s, uint8_t id[32], int *perr)
{
	return daemon_publish_body(h->d, kind, key, b, ttl_s, id, perr);
}

int host_each(struct mn_host *h, uint32_t kinds, const uint8_t *origin,
	      int (*fn)(void *ctx, const struct record *r, const uint8_t id[32]), void *ctx)
{
	return engine_each_record(daemon_engine(h->d), kinds, origin, fn, ctx);
}

int host_find(struct mn_host *h, const uint8_t id[32],
	      int (*fn)(void *ctx, const struct record *r, const uint8_t id[32]), void *ctx)
{
	return engine_find(daemon_engine(h->d), id, fn, ctx);
}

int host_chain(struct mn_host *h, const uint8_t pk[32], struct chain_result *res)
{
	const uint8_t *wire[MN_MAX_DEPTH + 2];
	size_t len[MN_MAX_DEPTH + 2], n;

	return engine_chain(daemon_engine(h->d), pk, wire, len, MN_MAX_DEPTH + 2, &n, res,
			    daemon_now_ms());
}

int host_chain_records(struct mn_host *h, const uint8_t pk[32], const uint8_t **wire,
		       size_t *len, size_t cap, size_t *n, struct chain_result *res)
{
	return engine_chain(daemon_engine(h->d), pk, wire, len, cap, n, res, daemon_now_ms());
}

bool host_is_revoked(struct mn_host *h, const uint8_t pk[32])
{
	return engine_is_revoked(daemon_engine(h->d), pk);
}

int host_name_owner(struct mn_host *h, const char *name, uint8_t pk[32])
{
	return engine_name_owner(daemon_engine(h->d), name, pk);
}

_Static_assert((int)HOST_PEER_ALIVE == (int)PEER_ALIVE && (int)HOST_PEER_SUSPECT == (int)PEER_SUSPECT &&
		       (int)HOST_PEER_DEAD == (int)PEER_DEAD && (int)HOST_PEER_LEFT == (int)PEER_LEFT,
	       "host_peer_state mirrors enum peer_state");

int host_peer_state(struct mn_host *h, const uint8_t pk[32], enum host_peer_state *st,
		    uint64_t *since_ms)
{
	size_t n;
	struct engine_peer_info *pi = engine_peers_alloc(daemon_engine(h->d), &n);
	int rc = -ENOENT;

	for (size_t i = 0; i < n; i++)
		if (!memcmp(pi[i].pk, pk, 32)) {
			*st = (enum host_peer_state)pi[i].state;
			*since_ms = pi[i].state_since;
			rc = 0;
			break;
		}
	free(pi);
	return rc;
}

static const char *state_ns(const struct mn_host *h)
{
	return h->s->state_ns ? h->s->state_ns : h->s->name;
}

int host_state_get(struct mn_host *h, const char *key, uint8_t *buf, size_t cap)
{
	return store_state_get(daemon_store(h->d), state_ns(h), key, buf, cap);
}

int host_state_put(struct mn_host *h, const char *key, const uint8_t *val, size_t len)
{
	return store_state_put(daemon_store(h->d), state_ns(h), key, val, len);
}

int host_state_del(struct mn_host *h, const char *key)
{
	return store_state_del(daemon_store(h->d), state_ns(h), key);
}

int host_state_each(struct mn_host *h,
		    int (*fn)(void *ctx, const char *key, const uint8_t *val, size_t len), void *ctx)
{
	return store_state_each(daemon_store(h->d), state_ns(h), fn, ctx);
}

const char *host_state_error(struct mn_host *h)
{
	return store_last_error(daemon_store(h->d));
}

int host_state_begin(struct mn_host *h)
{
	return store_begin(daemon_store(h->d));
}

int host_state_commit(struct mn_host *h)
{
	int rc = store_commit(daemon_store(h->d));

	if (rc < 0)
		log_err("%s: state not saved: %s", h->s->name, store_last_error(daemon_store(h->d)));
	return rc;
}

/* -- the core's own (host_core.h) -- */

const struct node_key *host_key(const struct mn_host *h)
{
	return daemon_key(h->d);
}

struct wgsync *host_wg(struct mn_host *h)
{
	return daemon_wg(h->d);
}

int host_wg_apply(struct mn_host *h)
{
	struct wgsync *ws = daemon_wg(h->d);

	return ws ? wgsync_apply(ws, daemon_engine(h->d), daemon_now_ms()) : 0;
}

int host_insert(struct mn_host *h, const uint8_t *wire, size_t len)
{
	return daemon_insert(h->d, wire, len);
}

void host_chain_changed(struct mn_host *h)
{
	daemon_chain_changed(h->d);
}

void host_restart(struct mn_host *h)
{
	daemon_restart(h->d);
}

/* -- regeneration -- */

static unsigned or_default(unsigned v, unsigned def)
{
	return v ? v : def;
}

static void regen_cb(uv_timer_t *t)
{
	struct mn_host *h = t->data;

	if (!h->st)
		return;
	if (h->running) {
		h->again = true;   /* after the command */
		return;
	}
	h->pending = false;
	h->last_start_ms = uv_now(h->loop);
	h->started = true;
	uint64_t t0 = uv_hrtime();
	h->s->regen.fn(h->st);
	h->last_cost_ms = (uv_hrtime() - t0) / 1000000;
}

/* Run regen.fn once things are quiet for debounce_ms, but at most
 * max_wait_ms after the first change not yet handled (a steady stream
 * cannot hold it back), and never sooner than the interval after the start
 * of the last run: min_interval_ms, or cost_factor times what the last run
 * took, up to max_interval_ms (so regeneration uses at most about
 * 1/cost_factor of the CPU). */
void host_dirty(struct mn_host *h)
{
	const struct subsys_regen *p = &h->s->regen;

	if (!p->fn || h->closing)
		return;   /* (from start(), st is not known yet: regen_cb runs later) */
	uint64_t now = uv_now(h->loop);
	if (!h->pending) {
		h->pending = true;
		h->first_dirty_ms = now;
	}
	uint64_t due = now + or_default(p->debounce_ms, 500);
	if (due > h->first_dirty_ms + or_default(p->max_wait_ms, 5000))
		due = h->first_dirty_ms + or_default(p->max_wait_ms, 5000);
	if (h->started) {
		uint64_t iv = h->last_cost_ms * or_default(p->cost_factor, 4);
		uint64_t lo = or_default(p->min_interval_ms, 6000), hi = or_default(p->max_interval_ms, 60000);
		iv = iv < lo ? lo : iv > hi ? hi : iv;
		if (due < h->last_start_ms + iv)
			due = h->last_start_ms + iv;
	}
	uv_timer_start(&h->regen_timer, regen_cb, due > now ? due - now : 0, 0);
}

/* -- the command -- */

static void run_exit(uv_process_t *p, int64_t status, int sig)
{
	struct mn_host *h = p->data;
	char what[64];

	uv_timer_stop(&h->run_timer);
	uint64_t ms = (uv_hrtime() - h->run_start_ns) / 1000000;
	bool ok = status == 0 && sig == 0;
	if (ok)
		snprintf(what, sizeof what, "ok");
	else if (h->run_timed_out)
		snprintf(what, sizeof what, "timed out after %llu s: killed",
			 (unsigned long long)(h->run_timeout_ms / 1000));
	else
		snprintf(what, sizeof what, "failed: %s %d", sig ? "signal" : "exit status",
			 sig ? sig : (int)status);
	uv_close((uv_handle_t *)p, NULL);
	h->running = false;
	if (h->run_done && !h->closing)
		h->run_done(h->st, ok, what, ms);
	if (h->again && !h->closing) {
		h->again = false;
		host_dirty(h);
	}
}

/* The command runs in a process group of its own (UV_PROCESS_DETACHED:
 * setsid), and the whole group is signalled: a hanging command's children
 * (`cmd; sleep 600`, a reload script's `wait`) go with it instead of
 * staying behind, one more at every hang. */
static void run_kill(struct mn_host *h, int sig)
{
	if (h->proc.pid > 0 && kill(-h->proc.pid, sig) == 0)
		return;
	uv_process_kill(&h->proc, sig);
}

static void run_timeout(uv_timer_t *t)
{
	struct mn_host *h = t->data;

	if (h->running) {
		h->run_timed_out = true;
		run_kill(h, SIGKILL);
	}
}

int host_run(struct mn_host *h, const char *cmd, unsigned timeout_ms,
	     void (*done)(void *st, bool ok, const char *status, uint64_t ms))
{
	char sh[] = "/bin/sh", dash_c[] = "-c", *line = strdup(cmd);
	char *args[] = { sh, dash_c, line, NULL };
	uv_process_options_t po;
	uv_stdio_container_t io[3];

	if (!line)
		return -ENOMEM;
	if (h->running || h->closing) {
		free(line);
		return -EBUSY;
	}
	memset(&po, 0, sizeof po);
	io[0].flags = UV_IGNORE;
	io[1].flags = UV_IGNORE;
	io[2].flags = UV_INHERIT_FD;
	io[2].data.fd = 2;
	po.file = args[0];
	po.args = args;
	po.exit_cb = run_exit;
	po.stdio = io;
	po.stdio_count = 3;
	po.flags = UV_PROCESS_DETACHED;   /* its own process group: run_kill */
	h->proc.data = h;
	h->run_timed_out = false;
	h->run_timeout_ms = timeout_ms;
	h->run_done = done;
	h->run_start_ns = uv_hrtime();
	int rc = uv_spawn(h->loop, &h->proc, &po);
	free(line);   /* the child has its copy */
	if (rc < 0) {
		uv_close((uv_handle_t *)&h->proc, NULL);
		return rc;
	}
	h->running = true;
	uv_timer_start(&h->run_timer, run_timeout, timeout_ms, 0);
	return 0;
}

/* ---- for the daemon ---- */

struct hosts *hosts_new(struct daemon *d, uv_loop_t *loop)
{
	struct hosts *hs = calloc(1, sizeof *hs);
	size_t n;
	const struct subsys *const *list = subsys_list(&n);

	if (!hs || !(hs->h = calloc(n + 1, sizeof *hs->h))) {
		free(hs);
		return NULL;
	}
	hs->n = n;
	for (size_t i = 0; i < n; i++) {
		struct mn_host *h = &hs->h[i];
		h->d = d;
		h->loop = loop;
		h->s = list[i];
		h->conf_off = offsetof(struct config, sub) + subsys_conf_off(i);
		uv_timer_init(loop, &h->regen_timer);
		uv_timer_init(loop, &h->run_timer);
		h->regen_timer.data = h->run_timer.data = h;
	}
	return hs;
}

int hosts_start(struct hosts *hs, char *err, size_t errcap)
{
	char msg[256];

	for (size_t i = 0; hs && i < hs->n; i++) {
		struct mn_host *h = &hs->h[i];
		msg[0] = 0;
		if (!(h->st = h->s->start(h, msg, sizeof msg))) {
			snprintf(err, errcap, "%s: %s", h->s->name, msg[0] ? msg : "cannot start");
			return -1;
		}
	}
	return 0;
}

void hosts_record(struct hosts *hs, const struct rec_view *v)
{
	for (size_t i = 0; hs && i < hs->n; i++) {
		struct mn_host *h = &hs->h[i];
		if (h->st && h->s->record && v->r->kind < 32 && (h->s->kinds & (1u << v->r->kind)))
			h->s->record(h->st, v);
	}
}

void hosts_trust(struct hosts *hs, const uint8_t origin[32])
{
	for (size_t i = 0; hs && i < hs->n; i++)
		if (hs->h[i].st && hs->h[i].s->trust)
			hs->h[i].s->trust(hs->h[i].st, origin);
}

void hosts_reload(struct hosts *hs, const struct config *old)
{
	for (size_t i = 0; hs && i < hs->n; i++) {
		struct mn_host *h = &hs->h[i];
		if (h->st && h->s->reload)
			h->s->reload(h->st, (const char *)old + h->conf_off);
	}
}

void hosts_tick(struct hosts *hs, uint64_t now_ms)
{
	for (size_t i = 0; hs && i < hs->n; i++)
		if (hs->h[i].st && hs->h[i].s->tick && !hs->h[i].closing)
			hs->h[i].s->tick(hs->h[i].st, now_ms);
}

void hosts_status(struct hosts *hs, struct json_object *o)
{
	for (size_t i = 0; hs && i < hs->n; i++) {
		struct mn_host *h = &hs->h[i];
		if (h->st && h->s->status)
			json_object_object_add(o, h->s->name, h->s->status(h->st));
	}
}

const struct subsys_call *hosts_call(struct hosts *hs, const char *name, void **st)
{
	for (size_t i = 0; hs && i < hs->n; i++)
		for (size_t k = 0; hs->h[i].st && k < hs->h[i].s->ncalls; k++)
			if (!strcmp(hs->h[i].s->calls[k].name, name)) {
				*st = hs->h[i].st;
				return &hs->h[i].s->calls[k];
			}
	return NULL;
}

void hosts_call_names(const struct hosts *hs, char *buf, size_t cap)
{
	size_t len = 0;

	if (cap)
		buf[0] = 0;
	for (size_t i = 0; hs && i < hs->n; i++)
		for (size_t k = 0; k < hs->h[i].s->ncalls && len < cap; k++)
			len += (size_t)snprintf(buf + len, cap - len, ", %s", hs->h[i].s->calls[k].name);
}

void hosts_stop(struct hosts *hs)
{
	for (size_t i = hs ? hs->n : 0; i-- > 0;) {
		struct mn_host *h = &hs->h[i];
		h->closing = true;
		uv_timer_stop(&h->regen_timer);
		if (h->running)
			run_kill(h, SIGTERM);
		if (h->st && h->s->stop)
			h->s->stop(h->st);
	}
}

void hosts_free(struct hosts *hs)
{
	for (size_t i = hs ? hs->n : 0; i-- > 0;)
		if (hs->h[i].st && hs->h[i].s->free)
			hs->h[i].s->free(hs->h[i].st);
	if (hs)
		free(hs->h);
	free(hs);
}
