/* The ioc subsystem (docs/ioc.md): CrowdSec decisions out to the mesh as
 * signed ioc records, and ioc records of others in to CrowdSec as
 * decisions of origin "mirrornet", under the policy (src/ioc/policy.c).
 *
 * Out: every ioc_poll_ms the bouncer stream (GET /v1/decisions/stream);
 * decisions whose origin is shared (ioc_share, never mirrornet, CAPI or
 * lists) go out in batches of at most ioc_batch indicators, one record per
 * batch under a key of ours ("b<seq>"). The state table remembers which
 * decision is in which batch ("d:<id>" -> "<batch> <value>"), so a deleted
 * decision rewrites its batch (a tombstone when it empties); on a restart
 * the stream's startup answer tells which decisions went while we were
 * down (neither their id nor their value in it: gone_one).
 *
 * In: each indicator of another origin's record goes through the policy;
 * an applied ip/range becomes a LAPI decision (POST /v1/alerts as the
 * watcher, then GET /v1/alerts/{id} for the decisions' ids), an applied
 * domain a line of the DNS Guard file. The state table keeps each applied
 * one ("a:<hash>" -> "<decision id> <origin hex> <batch> <value>"): a
 * tombstone, a rewritten batch, a revoked origin or a restart that finds
 * the record gone deletes the decision by its id.
 *
 * LAPI calls go through one queue, one call at a time; a failure retries
 * the same job after a backoff (1 s doubling to 60 s); a refused login
 * logs once, backs off ioc_auth_backoff_s and shows "auth failed". */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "src/daemon/subsys.h"
#include "src/daemon/config.h"
#include "src/daemon/ioc_sys.h"
#include "src/http/httpc.h"
#include "src/ioc/lapi.h"
#include "src/ioc/lapi_json.h"
#include "src/ioc/policy.h"
#include "src/putfile.h"
#include "src/log.h"
#include "crypto/chain.h"
#include "proto/body.h"
#include "proto/hex.h"
#include "proto/record.h"
#include "src/body_json.h"

#define LAPI_TIMEOUT_MS 10000
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000
#define REFUSED_KEEP 256          /* the last refusals, for list and explain */
#define REFUSED_RING (2 * REFUSED_KEEP)
#define ALERT_MAX 256             /* decisions per POST /v1/alerts (~40 KiB) */
#define JOBS_MAX 20000            /* queued LAPI jobs */
#define RELOAD_TIMEOUT_MS 10000
/* a whole stream answer every 60 polls, at least 30 s apart (2 min at the
 * default 2 s) */
#define RESYNC_POLLS 60
#define RESYNC_MIN_MS 30000

struct ioc_conf {
	char lapi[128];                      /* "" = off */
	char bouncer_key_file[CONFIG_PATH_MAX];
	char machine_id[64];
	char password_file[CONFIG_PATH_MAX];
	char share[128];                     /* origins shared */
	unsigned poll_ms, batch, confidence;
	uint8_t ancestor, member;            /* enum ioc_mode */
	unsigned ancestor_max_s, member_max_s, max_s;
	unsigned min_confidence, rate, max_active, pending_max, prefix4, prefix6;
	unsigned auth_backoff_s;
	char allow[1024];                    /* addresses, prefixes, names */
	char dnsmasq_file[CONFIG_PATH_MAX];
	char dnsmasq_reload[256];
};

enum st { S_APPLIED, S_PENDING, S_REFUSED, S_QUEUED };
static const char *const st_names[] = { "applied", "pending", "refused", "queued" };

/* One indicator of another origin (or a domain of ours). */
/* 10,000 of these is what a mesh may make a node hold (ioc_max_active):
 * the strings live in one block of their own length, not in fixed arrays
 * (a struct ioc is ~600 bytes, mostly a 513-byte value of which an address
 * uses ~15). */
struct entry {
	uint64_t hash;                       /* of origin, batch, value: its id */
	uint8_t origin[32];
	char *s;                             /* value, scenario, batch, detail (e_strs) */
	uint16_t o_scen, o_batch, o_detail;
	uint8_t scope, action, confidence;
	uint8_t cls;
	uint8_t st;
	uint8_t step;
	bool seen;                           /* in a record (restart reconcile) */
	int64_t decision;                    /* the LAPI's id, 0 none (yet) */
	uint64_t valid_until;                /* unix seconds, 0 none */
	uint64_t duration_s;
	uint64_t decided_ms;
};
#define DETAIL_MAX 79

static const char *e_value(const struct entry *e) { return e->s ? e->s : ""; }
static const char *e_scenario(const struct entry *e) { return e->s ? e->s + e->o_scen : ""; }
static const char *e_batch(const struct entry *e) { return e->s ? e->s + e->o_batch : ""; }
static const char *e_detail(const struct entry *e) { return e->s ? e->s + e->o_detail : ""; }

/* Set e's strings in a new block; NULL keeps one (the detail is cut at
 * DETAIL_MAX bytes). 0, or -ENOMEM with e unchanged. */
static int e_strs(struct entry *e, const char *value, const char *scenario, const char *batch,
		  const char *detail)
{
	const char *v[4] = { value ? value : e_value(e), scenario ? scenario : e_scenario(e),
			     batch ? batch : e_batch(e), detail ? detail : e_detail(e) };
	size_t l[4], off = 0;

	for (int i = 0; i < 4; i++)
		l[i] = strlen(v[i]);
	if (l[3] > DETAIL_MAX)
		l[3] = DETAIL_MAX;
	if (e->s && !strcmp(v[0], e_value(e)) && !strcmp(v[1], e_scenario(e)) &&
	    !strcmp(v[2], e_batch(e)) && !strncmp(v[3], e_detail(e), DETAIL_MAX) &&
	    strlen(e_detail(e)) == l[3])
		return 0;   /* a record's new version mostly repeats them: no new block */
	char *b = malloc(l[0] + l[1] + l[2] + l[3] + 4);
	if (!b)
		return -ENOMEM;
	uint16_t o[4];
	for (int i = 0; i < 4; i++) {
		o[i] = (uint16_t)off;
		memcpy(b + off, v[i], l[i]);
		b[off + l[i]] = '\0';
		off += l[i] + 1;
	}
	free(e->s);
	e->s = b;
	e->o_scen = o[1];
	e->o_batch = o[2];
	e->o_detail = o[3];
	return 0;
}

static int e_detail_set(struct entry *e, const char *detail)
{
	return e_strs(e, NULL, NULL, NULL, detail);
}

/* e's indicator as a whole (for the policy), and the other way. */
static void e_ioc(const struct entry *e, struct ioc *c)
{
	memset(c, 0, sizeof *c);
	c->scope = e->scope;
	c->action = e->action;
	c->confidence = e->confidence;
	c->valid_until = e->valid_until;
	snprintf(c->value, sizeof c->value, "%s", e_value(e));
	snprintf(c->scenario, sizeof c->scenario, "%s", e_scenario(e));
}

static int e_set_ioc(struct entry *e, const struct ioc *c, const char *batch)
{
	if (e_strs(e, c->value, c->scenario, batch, NULL) < 0)
		return -ENOMEM;
	e->scope = c->scope;
	e->action = c->action;
	e->confidence = c->confidence;
	e->valid_until = c->valid_until;
	return 0;
}

/* A decision to delete (adds need no job: the entries in S_QUEUED are
 * the queue, decision -1 while their alert is in flight). */
struct job {
	int64_t decision;
	struct job *next;
};

struct bucket {
	uint8_t origin[32];
	struct ioc_bucket b;
};

struct out_item {
	struct ioc c;
	int64_t id;
};

enum health { H_OFF, H_UP, H_DOWN, H_AUTH };
static const char *const health_names[] = { "off", "up", "down", "auth failed" };

struct iocs {
	struct mn_host *h;
	struct lapi *lapi;
	uv_timer_t poll_timer, job_timer;
	bool timers_open;
	/* in: the entries, an index of them by hash (open addressing, linear
	 * probing: slot = entry index + 1, 0 empty), how many are in each
	 * state, the refused ones in the order they were refused (the oldest
	 * go first beyond REFUSED_KEEP), the entries of the alert in flight */
	struct entry *e;
	size_t n, cap;
	uint32_t *slot;
	size_t nslot;
	unsigned nst[4];
	uint64_t ring[REFUSED_RING];
	size_t ring_head, ring_n;
	uint64_t inflight[ALERT_MAX];
	unsigned ninflight;
	struct bucket *buckets;
	size_t nbuckets;
	struct ioc_allow allow;
	bool allow_dirty;
	uint64_t allow_ms;
	struct job *jobs, **jobs_tail;
	unsigned njobs;
	bool job_busy;
	unsigned job_backoff_ms;
	char token[LAPI_MAX_TOKEN];
	/* out */
	bool stream_busy, started;
	bool whole;                 /* the poll in flight asked for the whole list */
	uint64_t resync_at;         /* when a poll asks for the whole list again (ms) */
	unsigned stream_backoff_ms;
	struct out_item *out;
	size_t nout, capout;
	uint64_t seq;
	/* health and counters */
	enum health lapi_health, stream_health;
	char last_error[400];
	bool auth_logged, bouncer_auth_logged;
	uint64_t lapi_calls, lapi_errors, logins, published, tombstones, unpublished_deleted;
	uint64_t resyncs;           /* whole answers asked for after the start */
	uint64_t removed_outside;            /* applied ones deleted in the LAPI by someone else */
	uint64_t applied_total, removed, skipped_decisions, jobs_dropped, lapi_decisions, orphans, alerts;
	uint64_t refused[IOC_STEP_N];
	unsigned dns_entries, dns_writes, reloads, reload_failures;
	char reload_status[64];
	uint64_t first_add_ms, last_applied_ms;
};

static const struct ioc_conf *conf(const struct iocs *x)
{
	return host_conf(x->h);
}

/* ---- identity and state ---- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* A decision's value, for the restart's check (gone_one). */
static int64_t value_hash(const void *v, size_t n)
{
	return (int64_t)fnv(0xcbf29ce484222325ull, v, n);
}

static uint64_t entry_hash(const uint8_t origin[32], const char *batch, const char *value)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, origin, 32);

	h = fnv(h, batch, strlen(batch) + 1);
	return fnv(h, value, strlen(value));
}

/* ---- the entries and their index ---- */

static size_t slot_of(const struct iocs *x, uint64_t hash)
{
	size_t mask = x->nslot - 1, i = (size_t)(hash ^ hash >> 29) & mask;

	while (x->slot[i] && x->e[x->slot[i] - 1].hash != hash)
		i = (i + 1) & mask;
	return i;
}

static struct entry *find(struct iocs *x, uint64_t hash)
{
	if (!x->nslot)
		return NULL;
	uint32_t k = x->slot[slot_of(x, hash)];
	return k ? &x->e[k - 1] : NULL;
}

/* Index size: a power of two at least twice the entries' capacity. */
static int index_fit(struct iocs *x, size_t cap)
{
	size_t ns = 64;

	while (ns < 2 * cap)
		ns *= 2;
	if (ns <= x->nslot)
		return 0;
	uint32_t *q = calloc(ns, sizeof *q);
	if (!q)
		return -ENOMEM;
	free(x->slot);
	x->slot = q;
	x->nslot = ns;
	for (size_t i = 0; i < x->n; i++)
		x->slot[slot_of(x, x->e[i].hash)] = (uint32_t)i + 1;
	return 0;
}

/* Linear probing's deletion: the entries after the hole that would no
 * longer be found move back into it. */
static void index_del(struct iocs *x, uint64_t hash)
{
	size_t mask = x->nslot - 1, i = slot_of(x, hash), j = i;

	if (!x->slot[i])
		return;
	x->slot[i] = 0;
	for (;;) {
		j = (j + 1) & mask;
		if (!x->slot[j])
			return;
		uint64_t hj = x->e[x->slot[j] - 1].hash;
		size_t home = (size_t)(hj ^ hj >> 29) & mask;
		/* j's home is cyclically in (i, j]: it stays */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		x->slot[i] = x->slot[j];
		x->slot[j] = 0;
		i = j;
	}
}

/* A new entry at the end (state S_REFUSED until told otherwise), or NULL
 * when there is no room. hash must not be held. */
static struct entry *entry_new(struct iocs *x, uint64_t hash, size_t limit)
{
	if (x->n == x->cap) {
		size_t nc = x->cap ? 2 * x->cap : 64;
		if (nc > limit)
			nc = limit;
		struct entry *q = nc > x->cap ? realloc(x->e, nc * sizeof *q) : NULL;
		if (!q)
			return NULL;
		x->e = q;
		x->cap = nc;
	}
	if (index_fit(x, x->n + 1) < 0)
		return NULL;
	struct entry *e = &x->e[x->n];
	memset(e, 0, sizeof *e);
	e->hash = hash;
	e->st = S_REFUSED;
	x->nst[S_REFUSED]++;
	x->slot[slot_of(x, hash)] = (uint32_t)++x->n;
	return e;
}

static void set_st(struct iocs *x, struct entry *e, enum st s)
{
	x->nst[e->st]--;
	e->st = (uint8_t)s;
	x->nst[s]++;
}

static unsigned count(const struct iocs *x, enum st s)
{
	return x->nst[s];
}

static void state_save(struct iocs *x, const struct entry *e)
{
	char key[24], val[MN_MAX_IOC_VALUE + MN_MAX_RKEY + 160], hex[65];

	snprintf(key, sizeof key, "a:%016" PRIx64, e->hash);
	hex_encode(e->origin, 32, hex);
	int n = snprintf(val, sizeof val, "%" PRId64 " %s %u %s %s", e->decision, hex, e->scope,
			 e_batch(e), e_value(e));
	if (host_state_put(x->h, key, (const uint8_t *)val, (size_t)n) < 0)
		log_err("ioc: state: %s", host_state_error(x->h));
}

static void state_drop(struct iocs *x, uint64_t hash)
{
	char key[24];

	snprintf(key, sizeof key, "a:%016" PRIx64, hash);
	host_state_del(x->h, key);
}

/* The last entry moves into e's place. */
static void entry_remove(struct iocs *x, struct entry *e)
{
	size_t i = (size_t)(e - x->e);

	x->nst[e->st]--;
	index_del(x, e->hash);
	free(e->s);
	e->s = NULL;
	if (i != --x->n) {
		*e = x->e[x->n];
		x->slot[slot_of(x, e->hash)] = (uint32_t)i + 1;
	}
}

/* The oldest of the ring: its entry goes if it is still a refusal. */
static void ring_pop(struct iocs *x)
{
	uint64_t h = x->ring[x->ring_head];
	struct entry *e = find(x, h);

	x->ring_head = (x->ring_head + 1) % REFUSED_RING;
	x->ring_n--;
	if (e && e->st == S_REFUSED)
		entry_remove(x, e);
}

/* e was just refused: remember it; the oldest refusals go when more than
 * REFUSED_KEEP are held (every refused entry is in the ring: one pushed
 * out of a full ring goes with it). */
static void refused_note(struct iocs *x, const struct entry *e)
{
	uint64_t h = e->hash;

	if (x->ring_n == REFUSED_RING)
		ring_pop(x);
	x->ring[(x->ring_head + x->ring_n++) % REFUSED_RING] = h;
	while (count(x, S_REFUSED) > REFUSED_KEEP && x->ring_n)
		ring_pop(x);
}

/* ---- the allowlist ---- */

static int allow_record(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct iocs *x = ctx;
	union body b;

	(void)id;
	if (record_is_tombstone(r) || body_decode(r->kind, r->body, r->body_len, &b) < 0)
		return 0;
	switch (r->kind) {
	case KIND_NODE:
		if (b.node.mesh_addr[0])
			ioc_allow_addr(&x->allow, b.node.mesh_addr, IOC_STEP_MEMBER, NULL);
		for (unsigned i = 0; i < b.node.n_endpoints; i++)
			ioc_allow_addr(&x->allow, b.node.endpoints[i].addr, IOC_STEP_MEMBER, NULL);
		break;
	case KIND_ENDPOINT:
		for (unsigned i = 0; i < b.endpoint.n_seen; i++)
			ioc_allow_addr(&x->allow, b.endpoint.seen[i].endpoint, IOC_STEP_MEMBER, NULL);
		break;
	case KIND_DNS:
		ioc_allow_name(&x->allow, b.dns.zone, IOC_STEP_MESH_DOMAIN);
		for (unsigned i = 0; i < b.dns.n_ns; i++)
			ioc_allow_addr(&x->allow, b.dns.ns[i].addr, IOC_STEP_MEMBER, NULL);
		break;
	case KIND_EXPOSE:
		if (b.expose.domain[0])
			ioc_allow_name(&x->allow, b.expose.domain, IOC_STEP_EXPOSED_DOMAIN);
		break;
	}
	return 0;
}

static void allow_build(struct iocs *x)
{
	const struct config *cfg = host_config(x->h);
	const struct ioc_conf *c = conf(x);
	char list[sizeof c->allow], *save = NULL;
	uint64_t now = host_now_ms(x->h);

	if (!x->allow_dirty && now - x->allow_ms < 60000)
		return;
	ioc_allow_clear(&x->allow);
	ioc_allow_special(&x->allow);
	if (cfg->mesh_addr[0]) {
		ioc_allow_subnet(&x->allow, cfg->mesh_addr, IOC_STEP_MESH_SUBNET, "mesh");
		ioc_allow_addr(&x->allow, cfg->mesh_addr, IOC_STEP_OWN, NULL);
	}
	if (cfg->wg_endpoint[0])
		ioc_allow_addr(&x->allow, cfg->wg_endpoint, IOC_STEP_OWN, NULL);
	for (size_t i = 0; i < cfg->npeers; i++)
		ioc_allow_addr(&x->allow, cfg->peers[i].addr, IOC_STEP_MEMBER, NULL);
	for (size_t i = 0; i < cfg->nwg_peers; i++) {
		ioc_allow_addr(&x->allow, cfg->wg_peers[i].endpoint, IOC_STEP_MEMBER, NULL);
		ioc_allow_addr(&x->allow, cfg->wg_peers[i].mesh_addr, IOC_STEP_MEMBER, NULL);
	}
	ioc_sys_allow(&x->allow, NULL);
	snprintf(list, sizeof list, "%s", c->allow);
	for (char *t = strtok_r(list, " ,", &save); t; t = strtok_r(NULL, " ,", &save))
		if (ioc_allow_addr(&x->allow, t, IOC_STEP_ALLOWLIST, NULL) == -EINVAL)
			ioc_allow_name(&x->allow, t, IOC_STEP_ALLOWLIST);
	host_each(x->h, KIND_BIT(KIND_NODE) | KIND_BIT(KIND_ENDPOINT) | KIND_BIT(KIND_DNS) | KIND_BIT(KIND_EXPOSE), NULL, allow_record, x);
	x->allow_dirty = false;
	x->allow_ms = now;
}

/* ---- trust class ---- */

static enum ioc_class class_of(struct iocs *x, const uint8_t origin[32])
{
	uint8_t path[MN_MAX_DEPTH + 2][32];
	size_t n = 0;
	struct chain_result res;

	if (!memcmp(origin, host_self(x->h), 32))
		return IOC_CLASS_SELF;
	/* an ancestor: on our own chain, above us */
	if (subsys_chain_path(x->h, host_self(x->h), path, MN_MAX_DEPTH + 2, &n, &res) == 0)
		for (size_t i = 0; i + 1 < n; i++)
			if (!memcmp(path[i], origin, 32))
				return IOC_CLASS_ANCESTOR;
	return IOC_CLASS_MEMBER;
}

static struct ioc_bucket *bucket_of(struct iocs *x, const uint8_t origin[32])
{
	for (size_t i = 0; i < x->nbuckets; i++)
		if (!memcmp(x->buckets[i].origin, origin, 32))
			return &x->buckets[i].b;
	if (x->nbuckets >= 4096)   /* more origins than a mesh has: share the last */
		return &x->buckets[x->nbuckets - 1].b;
	struct bucket *q = realloc(x->buckets, (x->nbuckets + 1) * sizeof *q);
	if (!q)
		return NULL;
	x->buckets = q;
	memset(&q[x->nbuckets], 0, sizeof *q);
	memcpy(q[x->nbuckets].origin, origin, 32);
	return &q[x->nbuckets++].b;
}

static void policy_of(const struct ioc_conf *c, struct ioc_policy *p)
{
	ioc_policy_defaults(p);
	p->mode[IOC_CLASS_ANCESTOR] = c->ancestor;
	p->mode[IOC_CLASS_MEMBER] = c->member;
	p->max_duration_s[IOC_CLASS_ANCESTOR] = c->ancestor_max_s;
	p->max_duration_s[IOC_CLASS_MEMBER] = c->member_max_s;
	p->max_duration_s_all = c->max_s;
	p->min_confidence = c->min_confidence;
	p->rate_per_hour = c->rate;
	p->max_active = c->max_active;
	p->min_prefix4 = c->prefix4;
	p->min_prefix6 = c->prefix6;
}

/* ---- the LAPI job queue ---- */

static void jobs_kick(struct iocs *x);

static void job_push(struct iocs *x, int64_t decision)
{
	struct job *j;

	if (x->njobs >= JOBS_MAX || !(j = calloc(1, sizeof *j))) {
		x->jobs_dropped++;
		return;
	}
	j->decision = decision;
	*x->jobs_tail = j;
	x->jobs_tail = &j->next;
	x->njobs++;
	jobs_kick(x);
}

static void job_pop(struct iocs *x)
{
	struct job *j = x->jobs;

	if (!j)
		return;
	x->jobs = j->next;
	if (!x->jobs)
		x->jobs_tail = &x->jobs;
	x->njobs--;
	free(j);
}

static void job_timer_cb(uv_timer_t *t)
{
	jobs_kick(t->data);
}

static void set_error(struct iocs *x, const char *what, long status, const char *err,
		      const char *body, size_t len)
{
	char msg[120];

	lapi_message_parse(body, len, msg, sizeof msg);
	if (err)
		snprintf(x->last_error, sizeof x->last_error, "%s: %s", what, err);
	else
		snprintf(x->last_error, sizeof x->last_error, "%s: HTTP %ld%s%s", what, status,
			 msg[0] ? ": " : "", msg);
}

/* Retry the head job later (the queue keeps it: nothing is lost). */
static void inflight_reset(struct iocs *x);

static void jobs_retry(struct iocs *x, unsigned ms)
{
	inflight_reset(x);
	x->job_busy = false;
	x->job_backoff_ms = ms;
	if (x->timers_open)
		uv_timer_start(&x->job_timer, job_timer_cb, ms, 0);
}

static unsigned backoff_next(unsigned cur)
{
	if (cur < BACKOFF_MIN_MS)
		return BACKOFF_MIN_MS;
	return cur * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : cur * 2;
}

static bool read_secret(struct iocs *x, const char *path, char *out, size_t cap);

static void login_done(void *ctx, long status, const char *body, size_t len, const char *err)
{
	struct iocs *x = ctx;

	if (status == 200 && lapi_login_parse(body, len, x->token, sizeof x->token) == 0) {
		x->lapi_health = H_UP;
		x->auth_logged = false;
		x->job_busy = false;
		x->job_backoff_ms = 0;
		jobs_kick(x);
		return;
	}
	x->lapi_errors++;
	if (status == 401 || status == 403) {
		x->lapi_health = H_AUTH;
		set_error(x, "login", status, NULL, body, len);
		if (!x->auth_logged)   /* once, not each retry */
			log_err("ioc: the LAPI refused machine '%s' (wrong password in %s?): retrying in %u s",
				conf(x)->machine_id, conf(x)->password_file, conf(x)->auth_backoff_s);
		x->auth_logged = true;
		jobs_retry(x, conf(x)->auth_backoff_s * 1000);
		return;
	}
	x->lapi_health = H_DOWN;
	set_error(x, "login", status, err, body, len);
	jobs_retry(x, backoff_next(x->job_backoff_ms));
}

static int login(struct iocs *x)
{
	char pw[256];
	char *req;

	if (!read_secret(x, conf(x)->password_file, pw, sizeof pw))
		return -EACCES;
	req = lapi_login_json(conf(x)->machine_id, pw);
	memset(pw, 0, sizeof pw);
	if (!req)
		return -EINVAL;
	x->lapi_calls++;
	x->logins++;
	int rc = lapi_request(x->lapi, "POST", "/v1/watchers/login", NULL, req, LAPI_TIMEOUT_MS,
			      login_done, x);
	memset(req, 0, strlen(req));
	free(req);
	return rc;
}

/* A job's answer: 401 → log in again, others → retry or done. Returns
 * true if the caller goes on with the answer. */
static bool job_answer(struct iocs *x, const char *what, long status, const char *body,
		       size_t len, const char *err)
{
	if (status == 401) {
		memset(x->token, 0, sizeof x->token);   /* expired: log in again */
		jobs_retry(x, 0);
		return false;
	}
	if (status == 0 || status >= 500) {
		x->lapi_errors++;
		x->lapi_health = H_DOWN;
		set_error(x, what, status, err, body, len);
		jobs_retry(x, backoff_next(x->job_backoff_ms));
		return false;
	}
	x->lapi_health = H_UP;
	return true;
}

/* A decision of the alert we posted: its entry is applied. One whose entry
 * went while the alert was in flight (a tombstone, a rewritten batch, a
 * revocation) is deleted at once, else it would stay until its duration. */
static int map_ids(void *ctx, bool deleted, const struct lapi_decision *d)
{
	struct iocs *x = ctx;

	(void)deleted;
	if (strcmp(d->origin, "mirrornet"))
		return 0;
	for (unsigned k = 0; k < x->ninflight; k++) {
		struct entry *e = find(x, x->inflight[k]);
		if (e && e->st == S_QUEUED && e->decision == -1 && !strcmp(e_value(e), d->value)) {
			x->inflight[k] = x->inflight[--x->ninflight];
			e->decision = d->id;
			set_st(x, e, S_APPLIED);
			x->applied_total++;
			x->last_applied_ms = host_now_ms(x->h);
			state_save(x, e);
			return 0;
		}
	}
	x->orphans++;
	job_push(x, d->id);
	return 0;
}

static void alert_get_done(void *ctx, long status, const char *body, size_t len, const char *err)
{
	struct iocs *x = ctx;
	unsigned skipped = 0;

	if (!job_answer(x, "alert", status, body, len, err))
		return;
	host_state_begin(x->h);
	if (status == 200)
		lapi_alert_parse(body, len, map_ids, x, &skipped);
	host_state_commit(x->h);
	/* those the LAPI did not show stay queued: sent again */
	inflight_reset(x);
	x->job_busy = false;
	x->job_backoff_ms = 0;
	jobs_kick(x);
}

static void alert_post_done(void *ctx, long status, const char *body, size_t len, const char *err)
{
	struct iocs *x = ctx;
	int64_t id;
	char path[64], auth[LAPI_MAX_TOKEN + 32];

	if (!job_answer(x, "alert", status, body, len, err))
		return;
	if (status != 201 && status != 200) {
		x->lapi_errors++;
		set_error(x, "alert", status, NULL, body, len);
		jobs_retry(x, backoff_next(x->job_backoff_ms));
		return;
	}
	if (lapi_alert_ids_parse(body, len, &id) < 0) {
		x->lapi_errors++;
		jobs_retry(x, backoff_next(x->job_backoff_ms));
		return;
	}
	snprintf(path, sizeof path, "/v1/alerts/%" PRId64, id);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", x->token);
	const char *hdr[] = { auth, NULL };
	x->lapi_calls++;
	if (lapi_request(x->lapi, "GET", path, hdr, NULL, LAPI_TIMEOUT_MS, alert_get_done, x) < 0)
		jobs_retry(x, backoff_next(x->job_backoff_ms));
}

static void delete_done(void *ctx, long status, const char *body, size_t len, const char *err)
{
	struct iocs *x = ctx;

	if (!job_answer(x, "delete", status, body, len, err))
		return;
	if (status == 200 || status == 404)   /* 404: gone already (expired) */
		x->removed++;
	job_pop(x);
	x->job_busy = false;
	x->job_backoff_ms = 0;
	jobs_kick(x);
}

static void inflight_reset(struct iocs *x)
{
	for (unsigned k = 0; k < x->ninflight; k++) {
		struct entry *e = find(x, x->inflight[k]);
		if (e && e->st == S_QUEUED && e->decision == -1)
			e->decision = 0;
	}
	x->ninflight = 0;
}

/* Start the next call: a delete, else the queued entries (up to 32) as one
 * alert. */
static void jobs_kick(struct iocs *x)
{
	char auth[LAPI_MAX_TOKEN + 32];
	struct lapi_new_decision d[ALERT_MAX];
	uint64_t hs[ALERT_MAX];
	static const char *const actions[] = { "ban", "captcha", "ban" };
	size_t n = 0;
	int rc;

	if (x->job_busy || !x->lapi || (x->timers_open && uv_is_active((uv_handle_t *)&x->job_timer)))
		return;
	for (size_t i = 0; i < x->n && n < ALERT_MAX && count(x, S_QUEUED); i++) {
		struct entry *e = &x->e[i];
		if (e->st != S_QUEUED || e->decision != 0)
			continue;
		hs[n] = e->hash;
		d[n].type = actions[e->action <= 2 ? e->action : 0];
		d[n].scope = e->scope == IOC_RANGE ? "Range" : "Ip";
		d[n].value = e_value(e);
		d[n].scenario = e_scenario(e)[0] ? e_scenario(e) : "mirrornet/ioc";
		d[n].duration_s = e->duration_s;
		n++;
	}
	if (!x->jobs && n == 0)
		return;
	x->job_busy = true;
	if (!x->token[0]) {
		if ((rc = login(x)) < 0) {
			snprintf(x->last_error, sizeof x->last_error, "login: %s",
				 rc == -EACCES ? "the password file" :
				 rc == -ELIBACC ? httpc_load_error() : strerror(-rc));
			jobs_retry(x, conf(x)->auth_backoff_s * 1000);
		}
		return;
	}
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", x->token);
	const char *hdr[] = { auth, NULL };
	if (x->jobs) {
		char path[64];
		snprintf(path, sizeof path, "/v1/decisions/%" PRId64, x->jobs->decision);
		x->lapi_calls++;
		rc = lapi_request(x->lapi, "DELETE", path, hdr, NULL, LAPI_TIMEOUT_MS, delete_done, x);
	} else {
		char *body = lapi_alert_json("mirrornet/ioc", "indicators from the MirrorNet mesh", d, n,
					     host_now_ms(x->h) / 1000);
		x->lapi_calls++;
		x->alerts++;
		rc = body ? lapi_request(x->lapi, "POST", "/v1/alerts", hdr, body, LAPI_TIMEOUT_MS,
					 alert_post_done, x) : -ENOMEM;
		free(body);
		if (rc == 0) {   /* in flight */
			for (size_t k = 0; k < n; k++)
				find(x, hs[k])->decision = -1;
			memcpy(x->inflight, hs, n * sizeof *hs);
			x->ninflight = (unsigned)n;
		}
	}
	memset(auth, 0, sizeof auth);
	if (rc < 0)
		jobs_retry(x, backoff_next(x->job_backoff_ms));
}

/* ---- in: an indicator through the policy ---- */

static void withdraw(struct iocs *x, struct entry *e)
{
	if (e->st == S_APPLIED && e->scope != IOC_DOMAIN && e->decision > 0)
		job_push(x, e->decision);
	if (e->scope == IOC_DOMAIN && e->st == S_APPLIED)
		host_dirty(x->h);
	state_drop(x, e->hash);
	entry_remove(x, e);
}

/* The policy on c, an indicator of e's origin and class. */
static void decide(struct iocs *x, const struct entry *e, const struct ioc *c, bool is_new, bool dry,
		   bool approved, struct ioc_decision *d)
{
	struct ioc_policy p;
	struct ioc_input in = { .ioc = c, .cls = (enum ioc_class)e->cls,
				.now_ms = host_now_ms(x->h), .is_new = is_new, .dry = dry,
				.approved = approved };

	allow_build(x);
	policy_of(conf(x), &p);
	in.active = count(x, S_APPLIED) + count(x, S_QUEUED);
	if (e->cls != IOC_CLASS_SELF)
		in.bucket = bucket_of(x, e->origin);
	ioc_policy_decide(&p, &x->allow, &in, d);
}

static void take(struct iocs *x, const uint8_t origin[32], const char *batch, const struct ioc *c,
		 enum ioc_class cls)
{
	uint64_t hash = entry_hash(origin, batch, c->value);
	struct entry *e = find(x, hash);
	struct ioc_decision d;

	if (e) {   /* held: an update keeps its decision (same value: same hash) */
		e->seen = true;
		if (e_set_ioc(e, c, NULL) < 0)
			log_err("ioc: out of memory updating an indicator");
		return;
	}
	size_t limit = (size_t)conf(x)->max_active + conf(x)->pending_max + REFUSED_RING + 64;
	if (!(e = entry_new(x, hash, limit))) {
		x->refused[IOC_STEP_CAP]++;
		return;
	}
	memcpy(e->origin, origin, 32);
	if (e_set_ioc(e, c, batch) < 0) {
		entry_remove(x, e);
		x->refused[IOC_STEP_CAP]++;
		return;
	}
	e->cls = (uint8_t)cls;
	e->seen = true;
	e->decided_ms = host_now_ms(x->h);
	decide(x, e, c, true, false, false, &d);
	e->step = (uint8_t)d.step;
	e->duration_s = d.duration_s;
	e_detail_set(e, d.detail);
	if (d.verdict == IOC_V_REFUSE) {
		x->refused[d.step]++;
		refused_note(x, e);
	} else if (d.verdict == IOC_V_PENDING) {
		if (count(x, S_PENDING) >= conf(x)->pending_max) {   /* the queue is full */
			e->step = IOC_STEP_CAP;
			e_detail_set(e, "pending queue full");
			x->refused[IOC_STEP_CAP]++;
			refused_note(x, e);
		} else {
			set_st(x, e, S_PENDING);
		}
	} else if (c->scope == IOC_DOMAIN) {
		set_st(x, e, S_APPLIED);
		x->applied_total++;
		state_save(x, e);
		host_dirty(x->h);
	} else {
		set_st(x, e, S_QUEUED);   /* the caller kicks the queue once */
	}
}

/* Every indicator of origin's batch not in b (NULL: none) goes. */
static void batch_prune(struct iocs *x, const uint8_t origin[32], const char *batch,
			const struct ioc_body *b)
{
	for (size_t i = x->n; i-- > 0;) {
		struct entry *e = &x->e[i];
		if (memcmp(e->origin, origin, 32) || strcmp(e_batch(e), batch))
			continue;
		bool keep = false;
		for (unsigned k = 0; b && k < b->n_iocs && !keep; k++)
			keep = !strcmp(b->iocs[k].value, e_value(e));
		if (!keep)
			withdraw(x, e);
	}
}

/* ---- out: our decisions to the mesh ---- */

static bool shared_origin(const struct iocs *x, const char *origin)
{
	char list[sizeof conf(x)->share], *save = NULL;

	/* never what came from the mesh or from community lists */
	if (!strcasecmp(origin, "mirrornet") || !strcasecmp(origin, "CAPI") ||
	    !strcasecmp(origin, "lists"))
		return false;
	snprintf(list, sizeof list, "%s", conf(x)->share);
	for (char *t = strtok_r(list, " ,", &save); t; t = strtok_r(NULL, " ,", &save))
		if (!strcmp(t, origin))
			return true;
	return false;
}

static uint64_t ttl_for(const struct ioc_body *b, uint64_t now_s)
{
	uint64_t m = 60;

	for (unsigned i = 0; i < b->n_iocs; i++)
		if (b->iocs[i].valid_until > now_s && b->iocs[i].valid_until - now_s > m)
			m = b->iocs[i].valid_until - now_s;
	return m + 60;
}

static int publish_batch(struct iocs *x, const char *key, const union body *b)
{
	int perr = 0;
	uint64_t ttl = b ? ttl_for(&b->ioc, host_now_ms(x->h) / 1000) : 60;
	int rc = host_publish(x->h, KIND_IOC, key, b, ttl, NULL, &perr);

	if (rc < 0) {
		snprintf(x->last_error, sizeof x->last_error, "publish %s: %s", key, strerror(-rc));
		log_err("ioc: cannot publish batch %s: %s", key, strerror(-rc));
	} else if (b) {
		x->published += b->ioc.n_iocs;
	} else {
		x->tombstones++;
	}
	return rc;
}

/* Our pending shared decisions as new batches. */
static void out_flush(struct iocs *x)
{
	size_t i = 0;
	union body b;
	char key[32], val[MN_MAX_RKEY + MN_MAX_IOC_VALUE + 8], sk[32];

	host_state_begin(x->h);
	while (i < x->nout) {
		memset(&b, 0, sizeof b);
		snprintf(key, sizeof key, "b%" PRIu64, ++x->seq);
		size_t start = i;
		while (i < x->nout && b.ioc.n_iocs < conf(x)->batch)
			b.ioc.iocs[b.ioc.n_iocs++] = x->out[i++].c;
		if (publish_batch(x, key, &b) < 0)
			continue;
		for (size_t k = start; k < i; k++) {
			int n = snprintf(val, sizeof val, "%s %s", key, x->out[k].c.value);
			snprintf(sk, sizeof sk, "d:%" PRId64, x->out[k].id);
			host_state_put(x->h, sk, (const uint8_t *)val, (size_t)n);
		}
	}
	snprintf(val, sizeof val, "%" PRIu64, x->seq);
	host_state_put(x->h, "seq", (const uint8_t *)val, strlen(val));
	host_state_commit(x->h);
	x->nout = 0;
}

struct batch_find {
	const uint8_t *self;
	const char *key;
	union body b;
	bool found;
};

static int find_batch(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct batch_find *f = ctx;

	(void)id;
	if (r->kind != KIND_IOC || memcmp(r->origin, f->self, 32) || strcmp(r->key, f->key) ||
	    record_is_tombstone(r))
		return 0;
	f->found = body_decode(KIND_IOC, r->body, r->body_len, &f->b) == 0;
	return 1;
}

/* A shared decision went: its batch loses it (a tombstone when empty). */
static void out_deleted(struct iocs *x, int64_t id)
{
	char sk[32], val[MN_MAX_RKEY + MN_MAX_IOC_VALUE + 8];
	struct batch_find f = { .self = host_self(x->h) };
	int n;

	snprintf(sk, sizeof sk, "d:%" PRId64, id);
	if ((n = host_state_get(x->h, sk, (uint8_t *)val, sizeof val - 1)) < 0)
		return;   /* not one of ours */
	val[n] = 0;
	host_state_del(x->h, sk);
	char *sp = strchr(val, ' ');
	if (!sp)
		return;
	*sp = 0;
	f.key = val;
	host_each(x->h, KIND_BIT(KIND_IOC), f.self, find_batch, &f);
	if (!f.found)
		return;
	struct ioc_body *b = &f.b.ioc;
	for (unsigned i = 0; i < b->n_iocs; i++)
		if (!strcmp(b->iocs[i].value, sp + 1)) {
			b->iocs[i] = b->iocs[--b->n_iocs];
			break;
		}
	x->unpublished_deleted++;
	publish_batch(x, val, b->n_iocs ? &f.b : NULL);
}

struct stream_ctx {
	struct iocs *x;
	int64_t *seen;                       /* startup: the ids the LAPI holds */
	size_t nseen, capseen;
	int64_t *vals;                       /* ... and its values (value_hash) */
	size_t nvals, capvals;
	int64_t *mdel;                       /* deleted decisions of origin mirrornet */
	size_t nmdel, capmdel;
};

static int ids_push(int64_t **v, size_t *n, size_t *cap, int64_t id)
{
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 256;
		int64_t *q = realloc(*v, nc * sizeof *q);
		if (!q)
			return -ENOMEM;
		*v = q;
		*cap = nc;
	}
	(*v)[(*n)++] = id;
	return 0;
}

static int stream_one(void *ctx, bool deleted, const struct lapi_decision *d)
{
	struct stream_ctx *s = ctx;
	struct iocs *x = s->x;
	char sk[32];
	uint8_t tmp[8];

	if (s->seen && !deleted &&
	    (ids_push(&s->seen, &s->nseen, &s->capseen, d->id) < 0 ||
	     ids_push(&s->vals, &s->nvals, &s->capvals, value_hash(d->value, strlen(d->value))) < 0))
		return -ENOMEM;
	if (!strcmp(d->origin, "mirrornet")) {
		x->lapi_decisions++;   /* ours from the mesh: never echoed */
		/* gone from the LAPI: ours deleted there are no entries any more;
		 * one still applied was deleted by someone else (removed_outside) */
		if (deleted && ids_push(&s->mdel, &s->nmdel, &s->capmdel, d->id) < 0)
			return -ENOMEM;
		return 0;
	}
	if (deleted) {
		out_deleted(x, d->id);
		return 0;
	}
	if (!shared_origin(x, d->origin))
		return 0;
	snprintf(sk, sizeof sk, "d:%" PRId64, d->id);
	if (host_state_get(x->h, sk, tmp, sizeof tmp) != -ENOENT)
		return 0;   /* published already (a restart's startup answer) */
	struct ioc c;
	memset(&c, 0, sizeof c);
	if (!strcasecmp(d->scope, "ip"))
		c.scope = IOC_IP;
	else if (!strcasecmp(d->scope, "range"))
		c.scope = IOC_RANGE;
	else {
		x->skipped_decisions++;
		return 0;
	}
	c.action = !strcmp(d->type, "captcha") ? IOC_CAPTCHA : IOC_BAN;
	snprintf(c.value, sizeof c.value, "%s", d->value);
	snprintf(c.scenario, sizeof c.scenario, "%s", d->scenario);
	c.confidence = (uint8_t)conf(x)->confidence;
	c.valid_until = host_now_ms(x->h) / 1000 + d->duration_s;
	/* the schema's checks, before it is signed */
	if ((c.scope == IOC_IP && !addr_valid(c.value, false)) ||
	    (c.scope == IOC_RANGE && !addr_valid(c.value, true)) || d->duration_s == 0) {
		x->skipped_decisions++;
		return 0;
	}
	if (x->nout == x->capout) {
		size_t nc = x->capout ? 2 * x->capout : 32;
		struct out_item *q = realloc(x->out, nc * sizeof *q);
		if (!q)
			return -ENOMEM;
		x->out = q;
		x->capout = nc;
	}
	x->out[x->nout].c = c;
	x->out[x->nout++].id = d->id;
	if (!x->first_add_ms)
		x->first_add_ms = host_now_ms(x->h);
	return 0;
}

/* A whole answer (a restart's, the periodic one's): the decisions we
 * published ("d:<id>" -> "<batch> <value>") that it no longer lists, by id
 * or by value (seen, vals:
 * sorted). The whole list keeps one decision per value, the longest: one
 * of ours behind a longer one of the same value (anyone's, a mesh
 * member's applied here too) is still active, and stays published; its
 * record ends at its own valid_until all the same. */
struct gone {
	const int64_t *seen, *vals;
	size_t nseen, nvals;
	int64_t *ids;
	size_t n, cap;
	bool failed;
};

static int by_id64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int gone_one(void *ctx, const char *key, const uint8_t *val, size_t len)
{
	struct gone *g = ctx;
	const uint8_t *sp = memchr(val, ' ', len);
	char *end;

	if (strncmp(key, "d:", 2))
		return 0;
	int64_t id = strtoll(key + 2, &end, 10);
	if (bsearch(&id, g->seen, g->nseen, sizeof id, by_id64))
		return 0;
	if (sp && g->nvals) {
		int64_t vh = value_hash(sp + 1, len - (size_t)(sp + 1 - val));
		if (bsearch(&vh, g->vals, g->nvals, sizeof vh, by_id64))
			return 0;
	}
	if (g->n == g->cap) {
		size_t nc = g->cap ? 2 * g->cap : 64;
		int64_t *q = realloc(g->ids, nc * sizeof *q);
		if (!q) {
			g->failed = true;
			return 1;
		}
		g->ids = q;
		g->cap = nc;
	}
	g->ids[g->n++] = id;
	return 0;
}

static void poll_timer_cb(uv_timer_t *t);

static void stream_again(struct iocs *x, unsigned ms)
{
	x->stream_busy = false;
	if (x->timers_open)
		uv_timer_start(&x->poll_timer, poll_timer_cb, ms, 0);
}

/* Decisions of origin mirrornet the LAPI no longer holds although our
 * entry says applied: deleted by an admin (`cscli decisions delete`) or
 * ended by the LAPI. The entry becomes a refusal that names it, so status
 * and `ioc list` tell the truth and an admin's delete is not undone (a
 * held entry is never applied again; a new version of its record is). */
static void removed_outside(struct iocs *x, int64_t *ids, size_t n)
{
	qsort(ids, n, sizeof *ids, by_id64);
	for (size_t i = x->n; i-- > 0;) {
		struct entry *e = &x->e[i];
		if (e->st != S_APPLIED || e->decision <= 0 || !bsearch(&e->decision, ids, n, sizeof *ids, by_id64))
			continue;
		state_drop(x, e->hash);
		e->decision = 0;
		set_st(x, e, S_REFUSED);
		e->step = IOC_STEP_REVIEW;
		e_detail_set(e, "deleted in CrowdSec, not by mirrornetd");
		e->decided_ms = host_now_ms(x->h);
		x->removed_outside++;
		refused_note(x, e);
	}
}

static void stream_done(void *ctx, long status, const char *body, size_t len, const char *err)
{
	struct iocs *x = ctx;
	struct stream_ctx s = { .x = x };
	unsigned skipped = 0;

	if (status != 200) {
		x->lapi_errors++;
		set_error(x, "stream", status, err, body, len);
		if (status == 401 || status == 403) {
			x->stream_health = H_AUTH;
			if (!x->bouncer_auth_logged)
				log_err("ioc: the LAPI refused the bouncer key in %s: retrying in %u s",
					conf(x)->bouncer_key_file, conf(x)->auth_backoff_s);
			x->bouncer_auth_logged = true;
			stream_again(x, conf(x)->auth_backoff_s * 1000);
		} else {
			x->stream_health = H_DOWN;
			x->stream_backoff_ms = backoff_next(x->stream_backoff_ms);
			stream_again(x, x->stream_backoff_ms);
		}
		return;
	}
	/* the LAPI is back after both paths failed: the job waiting out its
	 * backoff goes now (once per outage of the stream, not every poll) */
	if (x->stream_health == H_DOWN && x->lapi_health == H_DOWN && x->timers_open &&
	    uv_is_active((uv_handle_t *)&x->job_timer) && !x->job_busy) {
		uv_timer_stop(&x->job_timer);
		jobs_kick(x);
	}
	x->stream_health = H_UP;
	x->bouncer_auth_logged = false;
	x->stream_backoff_ms = 0;
	if (x->whole)
		s.seen = malloc(sizeof *s.seen);
	int prc = lapi_stream_parse(body, len, stream_one, &s, &skipped);
	x->skipped_decisions += skipped;
	if (s.nmdel)
		removed_outside(x, s.mdel, s.nmdel);
	free(s.mdel);
	/* ours that went unseen — while we were down (a restart), or between
	 * two deltas — only from a whole answer (else every one would look
	 * gone): at the start, else the next poll asks for it again */
	if (s.seen && prc == 0) {
		struct gone g = { .seen = s.seen, .nseen = s.nseen, .vals = s.vals, .nvals = s.nvals };
		qsort(s.seen, s.nseen, sizeof *s.seen, by_id64);
		if (s.nvals)
			qsort(s.vals, s.nvals, sizeof *s.vals, by_id64);
		host_state_each(x->h, gone_one, &g);
		for (size_t i = 0; !g.failed && i < g.n; i++)
			out_deleted(x, g.ids[i]);
		free(g.ids);
		x->started |= !g.failed;
	}
	free(s.seen);
	free(s.vals);
	if (x->nout)
		out_flush(x);
	stream_again(x, conf(x)->poll_ms);
}

static bool read_secret(struct iocs *x, const char *path, char *out, size_t cap)
{
	struct stat sb;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n;

	out[0] = 0;
	if (fd < 0) {
		snprintf(x->last_error, sizeof x->last_error, "%s: %s", path, strerror(errno));
		return false;
	}
	if (fstat(fd, &sb) < 0 || (sb.st_mode & 077)) {
		close(fd);
		snprintf(x->last_error, sizeof x->last_error,
			 "%s: group or others may read it (chmod 600 it)", path);
		return false;
	}
	n = read(fd, out, cap - 1);
	close(fd);
	if (n <= 0) {
		snprintf(x->last_error, sizeof x->last_error, "%s: empty", path);
		return false;
	}
	out[n] = 0;
	out[strcspn(out, "\r\n")] = 0;
	return out[0] != 0;
}

static void poll_timer_cb(uv_timer_t *t)
{
	struct iocs *x = t->data;
	char key[256], hdr[300];

	if (x->stream_busy || !x->lapi)
		return;
	/* now and then the whole list (startup=true): a decision the stream's
	 * delta missed is published then (the LAPI's cursor is its bouncer's
	 * last pull time: a decision written while a pull ran can fall between
	 * two answers, and nothing would ever bring it), and one of ours whose
	 * deletion it missed is withdrawn — neither its id nor its value in
	 * the list (gone_one: the list keeps one decision per value, the
	 * longest). A failed one: deltas go on, the next comes a period later. */
	uint64_t now = host_now_ms(x->h), every = (uint64_t)RESYNC_POLLS * conf(x)->poll_ms;
	every = every > RESYNC_MIN_MS ? every : RESYNC_MIN_MS;
	bool whole = !x->started || (x->resync_at && now >= x->resync_at);
	if (!x->resync_at || (x->started && whole)) {
		x->resync_at = now + every;
		x->resyncs += x->started;
	}
	const char *path = whole ? "/v1/decisions/stream?startup=true" : "/v1/decisions/stream";
	x->whole = whole;
	if (!read_secret(x, conf(x)->bouncer_key_file, key, sizeof key)) {
		x->stream_health = H_AUTH;
		stream_again(x, conf(x)->auth_backoff_s * 1000);
		return;
	}
	snprintf(hdr, sizeof hdr, "X-Api-Key: %s", key);
	memset(key, 0, sizeof key);
	const char *hdrs[] = { hdr, NULL };
	x->stream_busy = true;
	x->lapi_calls++;
	if (lapi_request(x->lapi, "GET", path, hdrs, NULL, LAPI_TIMEOUT_MS, stream_done, x) < 0)
		stream_again(x, BACKOFF_MAX_MS);
	memset(hdr, 0, sizeof hdr);
}

/* ---- DNS Guard ---- */

static void reload_done(void *st, bool ok, const char *status, uint64_t ms)
{
	struct iocs *x = st;

	(void)ms;
	snprintf(x->reload_status, sizeof x->reload_status, "%s", status);
	if (!ok) {
		x->reload_failures++;
		log_err("ioc: the DNS reload command %s", status);
	}
}

static int by_value(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* address=/NAME/ per applied domain: dnsmasq answers NXDOMAIN for the name
 * and everything under it. */
static void generate(void *st)
{
	struct iocs *x = st;
	const struct ioc_conf *c = conf(x);
	const char **v;
	size_t n = 0;
	char *text = NULL;
	size_t len = 0;

	if (!c->dnsmasq_file[0])
		return;
	if (!(v = calloc(x->n + 1, sizeof *v)))
		return;
	for (size_t i = 0; i < x->n; i++)
		if (x->e[i].st == S_APPLIED && x->e[i].scope == IOC_DOMAIN)
			v[n++] = e_value(&x->e[i]);
	qsort(v, n, sizeof *v, by_value);
	FILE *f = open_memstream(&text, &len);
	if (f) {
		fprintf(f, "# mirrornetd: DNS Guard, domains from the mesh's IoCs (do not edit)\n");
		for (size_t i = 0; i < n; i++)
			if (!i || strcmp(v[i], v[i - 1]))
				fprintf(f, "address=/%s/\n", v[i]);
	}
	free(v);
	if (!f || fclose(f) != 0 || !text) {
		free(text);
		return;
	}
	x->dns_entries = (unsigned)n;
	int rc = file_put(c->dnsmasq_file, text, len, 0644);
	free(text);
	if (rc < 0) {
		snprintf(x->last_error, sizeof x->last_error, "%s: %s", c->dnsmasq_file, strerror(-rc));
		return;
	}
	if (rc == 0)
		return;
	x->dns_writes++;
	if (c->dnsmasq_reload[0] && host_run(x->h, c->dnsmasq_reload, RELOAD_TIMEOUT_MS, reload_done) != -EBUSY)
		x->reloads++;
}

/* ---- the subsystem ---- */

static void take_record(struct iocs *x, const struct record *r, const union body *b)
{
	enum ioc_class cls = class_of(x, r->origin);

	if (cls == IOC_CLASS_SELF) {   /* ours: only our domains matter here (DNS Guard) */
		for (unsigned i = 0; i < b->ioc.n_iocs; i++)
			if (b->ioc.iocs[i].scope == IOC_DOMAIN)
				take(x, r->origin, r->key, &b->ioc.iocs[i], cls);
		return;
	}
	for (unsigned i = 0; i < b->ioc.n_iocs; i++)
		take(x, r->origin, r->key, &b->ioc.iocs[i], cls);
	jobs_kick(x);   /* the record's indicators in one alert, not one and the rest */
}

static int start_record(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct iocs *x = ctx;
	union body b;

	(void)id;
	if (r->kind != KIND_IOC || record_is_tombstone(r) ||
	    body_decode(KIND_IOC, r->body, r->body_len, &b) < 0)
		return 0;
	batch_prune(x, r->origin, r->key, &b.ioc);
	take_record(x, r, &b);
	return 0;
}

/* The applied ones the state table holds (a restart). */
static int start_state(void *ctx, const char *key, const uint8_t *val, size_t len)
{
	struct iocs *x = ctx;
	char buf[MN_MAX_IOC_VALUE + MN_MAX_RKEY + 160], hex[65], batch[MN_MAX_RKEY + 1];
	char value[MN_MAX_IOC_VALUE + 1];
	long long id;
	unsigned scope;

	if (strncmp(key, "a:", 2) || len >= sizeof buf)
		return 0;
	memcpy(buf, val, len);
	buf[len] = 0;
	if (sscanf(buf, "%lld %64s %u %64s %512s", &id, hex, &scope, batch, value) != 5 || scope > IOC_DOMAIN)
		return 0;
	uint8_t origin[32];
	if (hex_decode(hex, origin, 32) < 0)
		return 0;
	uint64_t hash = entry_hash(origin, batch, value);
	struct entry *e = find(x, hash) ? NULL : entry_new(x, hash, SIZE_MAX);
	if (!e)
		return 0;
	memcpy(e->origin, origin, 32);
	if (e_strs(e, value, NULL, batch, NULL) < 0) {
		entry_remove(x, e);
		return 0;
	}
	e->scope = (uint8_t)scope;
	e->decision = id;
	set_st(x, e, S_APPLIED);
	return 0;
}

static void *ioc_start(struct mn_host *h, char *err, size_t errcap)
{
	struct iocs *x = calloc(1, sizeof *x);
	uint8_t buf[32];
	int n;

	if (!x) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	x->h = h;
	x->jobs_tail = &x->jobs;
	x->allow_dirty = true;
	ioc_allow_init(&x->allow);
	if ((n = host_state_get(h, "seq", buf, sizeof buf - 1)) > 0) {
		buf[n] = 0;
		x->seq = strtoull((char *)buf, NULL, 10);
	}
	uv_timer_init(host_loop(h), &x->poll_timer);
	uv_timer_init(host_loop(h), &x->job_timer);
	x->poll_timer.data = x->job_timer.data = x;
	x->timers_open = true;
	if (conf(x)->lapi[0]) {
		if (!(x->lapi = lapi_new(host_loop(h), conf(x)->lapi))) {
			snprintf(err, errcap, "ioc: out of memory");
			free(x);
			return NULL;
		}
		x->lapi_health = x->stream_health = H_DOWN;
	}
	/* a restart: what was applied, then the records as they are now */
	host_state_each(h, start_state, x);
	for (size_t i = 0; i < x->n; i++)
		x->e[i].seen = false;
	host_each(h, KIND_BIT(KIND_IOC), NULL, start_record, x);
	for (size_t i = x->n; i-- > 0;)
		if (x->e[i].st == S_APPLIED && !x->e[i].seen)
			withdraw(x, &x->e[i]);
	if (x->lapi)
		uv_timer_start(&x->poll_timer, poll_timer_cb, 0, 0);
	host_dirty(h);
	return x;
}

static void ioc_record(void *st, const struct rec_view *v)
{
	struct iocs *x = st;

	if (v->r->kind != KIND_IOC) {   /* node, endpoint, dns, expose: the allowlist */
		x->allow_dirty = true;
		return;
	}
	batch_prune(x, v->r->origin, v->r->key, v->body ? &v->body->ioc : NULL);
	if (v->body)
		take_record(x, v->r, v->body);
}

static void ioc_trust(void *st, const uint8_t origin[32])
{
	struct iocs *x = st;

	x->allow_dirty = true;
	for (size_t i = x->n; i-- > 0;)
		if (!memcmp(x->e[i].origin, origin, 32))
			withdraw(x, &x->e[i]);
}

static void ioc_tick(void *st, uint64_t now_ms)
{
	struct iocs *x = st;

	/* expired ones: the LAPI ends its decisions by their duration */
	for (size_t i = x->n; i-- > 0;) {
		struct entry *e = &x->e[i];
		if (e->valid_until && e->valid_until <= now_ms / 1000 && e->st != S_REFUSED) {
			if (e->st == S_APPLIED && e->scope == IOC_DOMAIN)
				host_dirty(x->h);
			state_drop(x, e->hash);
			entry_remove(x, e);
		}
	}
}

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_put_int(o, k, (int64_t)v);
}

/* status members straight from struct iocs: name, field */
#define IOC_COUNTERS(X) \
	X(applied_total, applied_total) X(removed, removed) X(removed_outside, removed_outside) \
	X(published, published) X(tombstones, tombstones) X(withdrawn, unpublished_deleted) \
	X(lapi_calls, lapi_calls) X(stream_resyncs, resyncs) X(alerts, alerts) \
	X(lapi_errors, lapi_errors) X(logins, logins) X(jobs_dropped, jobs_dropped) \
	X(orphans, orphans) X(skipped_decisions, skipped_decisions)
#define NAME(n, f) #n "\0"
#define OFF(n, f) offsetof(struct iocs, f),
static const char counter_names[] = IOC_COUNTERS(NAME);
static const uint16_t counter_offs[] = { IOC_COUNTERS(OFF) };
#undef NAME
#undef OFF
_Static_assert(sizeof(struct iocs) <= UINT16_MAX, "counter offsets are 16-bit");

static struct json_object *ioc_status(void *st)
{
	struct iocs *x = st;
	struct json_object *j = json_object_new_object(), *r = json_object_new_object();
	enum health lh = x->lapi_health, sh = x->stream_health;
	enum health hh = lh == H_AUTH || sh == H_AUTH ? H_AUTH : lh == H_DOWN || sh == H_DOWN ? H_DOWN : lh;

	json_put_str(j, "lapi", x->lapi ? health_names[hh] : "off");
	json_put_str(j, "stream", health_names[x->lapi ? sh : H_OFF]);
	json_put_str(j, "machine", health_names[x->lapi ? lh : H_OFF]);
	add_u64(j, "applied", count(x, S_APPLIED));
	add_u64(j, "queued", count(x, S_QUEUED));
	add_u64(j, "pending", count(x, S_PENDING));
	json_put_counters(j, x, counter_names, counter_offs, sizeof counter_offs / sizeof *counter_offs);
	add_u64(j, "jobs", x->njobs);
	add_u64(j, "dns_entries", x->dns_entries);
	add_u64(j, "dns_writes", x->dns_writes);
	add_u64(j, "allowlist", x->allow.nnets + x->allow.nnames);
	uint64_t total = 0;
	for (int s = 1; s < IOC_STEP_N; s++) {
		if (s == IOC_STEP_CONFIDENCE || s == IOC_STEP_REVIEW)
			continue;
		total += x->refused[s];
		add_u64(r, ioc_step_name((enum ioc_step)s), x->refused[s]);
	}
	add_u64(j, "refused_total", total);
	json_object_object_add(j, "refused", r);
	if (x->last_error[0])
		json_put_str(j, "last_error", x->last_error);
	return j;
}

/* ---- API ---- */

static struct json_object *entry_json(const struct entry *e)
{
	struct json_object *o = json_object_new_object();
	char id[20], hex[65];

	snprintf(id, sizeof id, "%016" PRIx64, e->hash);
	hex_encode(e->origin, 32, hex);
	json_put_str(o, "id", id);
	json_put_str(o, "state", st_names[e->st]);
	json_put_str(o, "scope", ioc_scope_names[e->scope]);
	json_put_str(o, "value", e_value(e));
	json_put_str(o, "scenario", e_scenario(e));
	json_put_int(o, "confidence", e->confidence);
	add_u64(o, "valid_until", e->valid_until);
	json_put_str(o, "origin", hex);
	json_put_str(o, "batch", e_batch(e));
	json_put_str(o, "class", ioc_class_name((enum ioc_class)e->cls));
	json_put_str(o, "step", ioc_step_name((enum ioc_step)e->step));
	json_put_str(o, "detail", e_detail(e));
	json_put_int(o, "decision", e->decision > 0 ? e->decision : 0);
	add_u64(o, "duration_s", e->duration_s);
	return o;
}

static int api_list(void *st, struct json_object *req, struct json_object **res, char *err,
		    size_t errcap)
{
	struct iocs *x = st;
	const char *want = json_get_str(req, "state");

	if (want && strcmp(want, "applied") && strcmp(want, "pending") && strcmp(want, "refused") &&
	    strcmp(want, "queued")) {
		snprintf(err, errcap, "state: applied, pending, refused or queued");
		return -EINVAL;
	}
	*res = json_object_new_array();
	for (size_t i = 0; i < x->n; i++)
		if (!want || !strcmp(want, st_names[x->e[i].st]))
			json_object_array_add(*res, entry_json(&x->e[i]));
	return 0;
}

static int api_pending(void *st, struct json_object *req, struct json_object **res, char *err,
		       size_t errcap)
{
	struct json_object *r = json_object_new_object();

	(void)req;
	json_put_str(r, "state", "pending");
	int rc = api_list(st, r, res, err, errcap);
	json_object_put(r);
	return rc;
}

/* The entry named by the request's "ioc" (hex), or NULL. */
static struct entry *by_id(struct iocs *x, struct json_object *req)
{
	const char *id = json_get_str(req, "ioc");
	char *end;

	if (!id || !*id)
		return NULL;
	uint64_t h = strtoull(id, &end, 16);
	if (*end)
		return NULL;
	return find(x, h);
}

static int api_approve(void *st, struct json_object *req, struct json_object **res, char *err,
		       size_t errcap)
{
	struct iocs *x = st;
	struct entry *e = by_id(x, req);
	struct ioc_decision d;
	struct ioc c;

	if (!e || e->st != S_PENDING) {
		snprintf(err, errcap, "no pending IoC with that id");
		return -ENOENT;
	}
	e_ioc(e, &c);
	decide(x, e, &c, true, false, true, &d);
	e->step = (uint8_t)d.step;
	e->duration_s = d.duration_s;
	e_detail_set(e, d.detail);
	if (d.verdict != IOC_V_APPLY) {
		snprintf(err, errcap, "refused now: %s (%s)", ioc_step_name(d.step), d.detail);
		return -EPERM;
	}
	if (e->scope == IOC_DOMAIN) {
		set_st(x, e, S_APPLIED);
		state_save(x, e);
		host_dirty(x->h);
	} else {
		set_st(x, e, S_QUEUED);
		jobs_kick(x);
	}
	*res = entry_json(e);
	return 0;
}

static int api_reject(void *st, struct json_object *req, struct json_object **res, char *err,
		      size_t errcap)
{
	struct iocs *x = st;
	struct entry *e = by_id(x, req);

	if (!e || e->st != S_PENDING) {
		snprintf(err, errcap, "no pending IoC with that id");
		return -ENOENT;
	}
	set_st(x, e, S_REFUSED);
	e->step = IOC_STEP_REVIEW;
	e_detail_set(e, "rejected by an admin");
	e->decided_ms = host_now_ms(x->h);
	*res = entry_json(e);
	refused_note(x, e);
	return 0;
}

static int parse_scope(const char *s)
{
	for (int i = 0; i <= IOC_DOMAIN; i++)
		if (!strcmp(s, ioc_scope_names[i]))
			return i;
	return -1;
}

/* ioc_explain: every held entry with that value, and what the policy says
 * now of it from a member and from an ancestor (no token taken). */
static int api_explain(void *st, struct json_object *req, struct json_object **res, char *err,
		       size_t errcap)
{
	struct iocs *x = st;
	const char *value = json_get_str(req, "value");
	struct json_object *held = json_object_new_array(), *now = json_object_new_object();
	struct entry tmp;
	struct ioc c;

	if (!value || !value[0] || strlen(value) > MN_MAX_IOC_VALUE) {
		json_object_put(held);
		json_object_put(now);
		snprintf(err, errcap, "value: 1 to %d bytes", MN_MAX_IOC_VALUE);
		return -EINVAL;
	}
	for (size_t i = 0; i < x->n; i++)
		if (!strcmp(e_value(&x->e[i]), value))
			json_object_array_add(held, entry_json(&x->e[i]));
	memset(&tmp, 0, sizeof tmp);
	memset(&c, 0, sizeof c);
	snprintf(c.value, sizeof c.value, "%s", value);
	c.scope = strchr(value, '/') ? IOC_RANGE : addr_valid(value, false) ? IOC_IP : IOC_DOMAIN;
	c.confidence = 100;
	for (int cls = IOC_CLASS_ANCESTOR; cls <= IOC_CLASS_MEMBER; cls++) {
		struct ioc_decision d;
		struct json_object *o = json_object_new_object();
		tmp.cls = (uint8_t)cls;
		decide(x, &tmp, &c, true, true, false, &d);
		json_put_str(o, "verdict", ioc_verdict_name(d.verdict));
		json_put_str(o, "step", ioc_step_name(d.step));
		json_put_str(o, "detail", d.detail);
		add_u64(o, "duration_s", d.duration_s);
		json_object_object_add(now, ioc_class_name((enum ioc_class)cls), o);
	}
	*res = json_object_new_object();
	json_put_str(*res, "value", value);
	json_put_str(*res, "scope", ioc_scope_names[c.scope]);
	json_object_object_add(*res, "held", held);
	json_object_object_add(*res, "policy", now);
	return 0;
}

/* ioc_add: publish one of ours (a local detector; DNS Guard). */
static int api_add(void *st, struct json_object *req, struct json_object **res, char *err,
		   size_t errcap)
{
	struct iocs *x = st;
	const char *scope = json_get_str(req, "scope"), *value = json_get_str(req, "value");
	const char *scenario = json_get_str(req, "scenario");
	struct json_object *v;
	union body b;
	char detail[80], key[32];
	int sc;

	memset(&b, 0, sizeof b);
	if (!scope || (sc = parse_scope(scope)) < 0) {
		snprintf(err, errcap, "scope: ip, range or domain");
		return -EINVAL;
	}
	if (!value || strlen(value) > MN_MAX_IOC_VALUE || !value[0]) {
		snprintf(err, errcap, "value: 1 to %d bytes", MN_MAX_IOC_VALUE);
		return -EINVAL;
	}
	struct ioc *c = &b.ioc.iocs[0];
	b.ioc.n_iocs = 1;
	c->scope = (uint8_t)sc;
	snprintf(c->value, sizeof c->value, "%s", value);
	snprintf(c->scenario, sizeof c->scenario, "%s", scenario ? scenario : "mirrornet/manual");
	c->action = IOC_BAN;
	c->confidence = (uint8_t)conf(x)->confidence;
	if (json_object_object_get_ex(req, "confidence", &v)) {
		int64_t k = json_object_get_int64(v);
		if (k < 0 || k > 100) {
			snprintf(err, errcap, "confidence: 0 to 100");
			return -EINVAL;
		}
		c->confidence = (uint8_t)k;
	}
	uint64_t dur = 4 * 3600;
	if (json_object_object_get_ex(req, "duration_s", &v)) {
		int64_t k = json_object_get_int64(v);
		if (k < 1 || k > 365 * 86400) {
			snprintf(err, errcap, "duration_s: 1 to 31536000");
			return -EINVAL;
		}
		dur = (uint64_t)k;
	}
	c->valid_until = host_now_ms(x->h) / 1000 + dur;
	/* what we would refuse from others, we do not publish */
	struct ioc_policy p;
	policy_of(conf(x), &p);
	allow_build(x);
	enum ioc_step s = ioc_policy_allowed(&p, &x->allow, c, detail, sizeof detail);
	if (s != IOC_STEP_APPLY) {
		snprintf(err, errcap, "refused by the allowlist: %s%s%s", ioc_step_name(s),
			 detail[0] ? " " : "", detail);
		return s == IOC_STEP_VALUE || s == IOC_STEP_SCOPE ? -EINVAL : -EPERM;
	}
	snprintf(key, sizeof key, "b%" PRIu64, ++x->seq);
	char seq[24];
	snprintf(seq, sizeof seq, "%" PRIu64, x->seq);
	host_state_put(x->h, "seq", (const uint8_t *)seq, strlen(seq));
	int rc = publish_batch(x, key, &b);
	if (rc < 0) {
		snprintf(err, errcap, "publish: %s", strerror(-rc));
		return rc;
	}
	*res = json_object_new_object();
	json_put_str(*res, "batch", key);
	json_put_str(*res, "scope", scope);
	json_put_str(*res, "value", c->value);
	add_u64(*res, "valid_until", c->valid_until);
	return 0;
}

static void ioc_stop(void *st)
{
	struct iocs *x = st;

	lapi_close(x->lapi);
	x->lapi = NULL;
	if (x->timers_open) {
		uv_close((uv_handle_t *)&x->poll_timer, NULL);
		uv_close((uv_handle_t *)&x->job_timer, NULL);
		x->timers_open = false;
	}
}

static void ioc_free(void *st)
{
	struct iocs *x = st;

	while (x->jobs)
		job_pop(x);
	memset(x->token, 0, sizeof x->token);
	ioc_allow_free(&x->allow);
	for (size_t i = 0; i < x->n; i++)
		free(x->e[i].s);
	free(x->e);
	free(x->slot);
	free(x->buckets);
	free(x->out);
	free(x);
}

/* ---- options ---- */

#define BAD(...) do { snprintf(msg, cap, __VA_ARGS__); return -EINVAL; } while (0)
static int check_path(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!conf_path_ok(val) || !strcmp(val, "/"))
		BAD("an absolute file path of [A-Za-z0-9._+-/], no '.' or '..' parts");
	return 0;
}

static int check_url(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if ((strncmp(val, "http://", 7) && strncmp(val, "https://", 8)) || strchr(val, ' ') ||
	    val[strlen(val) - 1] == '/')
		BAD("ioc_lapi: http://HOST:PORT or https://HOST:PORT, no final '/'");
	return 0;
}

static int check_share(void *sect, char *val, char *msg, size_t cap)
{
	char list[128], *save = NULL;

	(void)sect;
	snprintf(list, sizeof list, "%s", val);
	for (char *t = strtok_r(list, " ,", &save); t; t = strtok_r(NULL, " ,", &save))
		if (!strcasecmp(t, "mirrornet") || !strcasecmp(t, "CAPI") || !strcasecmp(t, "lists"))
			BAD("ioc_share: %s is never shared (it came from the mesh or a community list)", t);
	return 0;
}

static int check_allow(void *sect, char *val, char *msg, size_t cap)
{
	char list[1024], *save = NULL;
	struct ioc_allow a;

	(void)sect;
	ioc_allow_init(&a);
	snprintf(list, sizeof list, "%s", val);
	for (char *t = strtok_r(list, " ,", &save); t; t = strtok_r(NULL, " ,", &save))
		if (ioc_allow_subnet(&a, t, IOC_STEP_ALLOWLIST, NULL) == -EINVAL &&
		    ioc_allow_name(&a, t, IOC_STEP_ALLOWLIST) == -EINVAL) {
			ioc_allow_free(&a);
			BAD("ioc_allow: '%s' is neither an address, a prefix nor a DNS name", t);
		}
	ioc_allow_free(&a);
	return 0;
}

static int check_conf(const void *sect, char *msg, size_t cap)
{
	const struct ioc_conf *c = sect;

	if (c->lapi[0] && (!c->bouncer_key_file[0] || !c->machine_id[0] || !c->password_file[0]))
		BAD("ioc_lapi needs ioc_bouncer_key_file, ioc_machine_id and ioc_password_file");
	return 0;
}
#undef BAD

#define F(f) CONF_FIELD(struct ioc_conf, f)
static const struct conf_opt ioc_opts[] = {
	{ "ioc_lapi", CONF_STR, CONF_RESTART, F(lapi), .parse = check_url, .help = "the LAPI's URL" },
	{ "ioc_bouncer_key_file", CONF_STR, 0, F(bouncer_key_file), .parse = check_path,
	  .help = "an absolute file path" },
	{ "ioc_machine_id", CONF_STR, 0, F(machine_id), .help = "a machine name of at most 63 bytes" },
	{ "ioc_password_file", CONF_STR, 0, F(password_file), .parse = check_path,
	  .help = "an absolute file path" },
	{ "ioc_share", CONF_STR, 0, F(share), .def = "crowdsec,cscli", .parse = check_share,
	  .help = "decision origins, comma-separated" },
	{ "ioc_poll_ms", CONF_UINT, 0, F(poll_ms), .min = 200, .max = 600000, .def = "2000", .help = "200..600000" },
	{ "ioc_batch", CONF_UINT, 0, F(batch), .min = 1, .max = MN_MAX_IOCS, .def = "32", .help = "1..32" },
	{ "ioc_confidence", CONF_UINT, 0, F(confidence), .min = 0, .max = 100, .def = "80", .help = "0..100" },
	{ "ioc_ancestor", CONF_INDEX, 0, F(ancestor), .choices = "auto|review|ignore", .def = "auto",
	  .help = "auto, review or ignore" },
	{ "ioc_member", CONF_INDEX, 0, F(member), .choices = "auto|review|ignore", .def = "auto",
	  .help = "auto, review or ignore" },
	{ "ioc_ancestor_max_s", CONF_UINT, 0, F(ancestor_max_s), .min = 60, .max = 31536000, .def = "604800",
	  .help = "60..31536000" },
	{ "ioc_member_max_s", CONF_UINT, 0, F(member_max_s), .min = 60, .max = 31536000, .def = "302400",
	  .help = "60..31536000" },
	{ "ioc_max_s", CONF_UINT, 0, F(max_s), .min = 60, .max = 31536000, .def = "604800", .help = "60..31536000" },
	{ "ioc_min_confidence", CONF_UINT, 0, F(min_confidence), .min = 0, .max = 100, .def = "50", .help = "0..100" },
	{ "ioc_rate", CONF_UINT, 0, F(rate), .min = 0, .max = 1000000, .def = "1000", .help = "0..1000000 an hour" },
	{ "ioc_max_active", CONF_UINT, 0, F(max_active), .min = 1, .max = 100000, .def = "10000", .help = "1..100000" },
	{ "ioc_pending_max", CONF_UINT, 0, F(pending_max), .min = 0, .max = 10000, .def = "1000", .help = "0..10000" },
	{ "ioc_min_prefix4", CONF_UINT, 0, F(prefix4), .min = 0, .max = 32, .def = "16", .help = "0..32" },
	{ "ioc_min_prefix6", CONF_UINT, 0, F(prefix6), .min = 0, .max = 128, .def = "32", .help = "0..128" },
	{ "ioc_auth_backoff_s", CONF_UINT, 0, F(auth_backoff_s), .min = 1, .max = 86400, .def = "300",
	  .help = "1..86400" },
	{ "ioc_allow", CONF_STR, 0, F(allow), .parse = check_allow,
	  .help = "addresses, prefixes and names, comma-separated" },
	{ "ioc_dnsmasq_file", CONF_STR, 0, F(dnsmasq_file), .parse = check_path,
	  .help = "an absolute file path" },
	{ "ioc_dnsmasq_reload", CONF_STR, 0, F(dnsmasq_reload), .help = "a command of at most 255 bytes" },
};
#undef F

static const struct subsys_call ioc_calls[] = {
	{ "ioc_list", api_list, (const struct subsys_arg[]){ { "state", json_type_string }, { NULL, 0 } } },
	{ "ioc_pending", api_pending, (const struct subsys_arg[]){ { NULL, 0 } } },
	/* "ioc", not "id": a request's "id" is the API's own (api.md) */
	{ "ioc_approve", api_approve, (const struct subsys_arg[]){ { "ioc", json_type_string }, { NULL, 0 } } },
	{ "ioc_reject", api_reject, (const struct subsys_arg[]){ { "ioc", json_type_string }, { NULL, 0 } } },
	{ "ioc_explain", api_explain, (const struct subsys_arg[]){ { "value", json_type_string }, { NULL, 0 } } },
	{ "ioc_add", api_add, (const struct subsys_arg[]){ { "scope", json_type_string }, { "value", json_type_string },
				{ "scenario", json_type_string }, { "confidence", json_type_int },
				{ "duration_s", json_type_int }, { NULL, 0 } } },
};

const struct subsys subsys_ioc = {
	.name = "ioc",
	.kinds = 1u << KIND_IOC | 1u << KIND_NODE | 1u << KIND_ENDPOINT | 1u << KIND_DNS |
		 1u << KIND_EXPOSE,
	.conf = { "ioc", ioc_opts, sizeof ioc_opts / sizeof ioc_opts[0], sizeof(struct ioc_conf), NULL,
		  check_conf },
	.calls = ioc_calls,
	.ncalls = sizeof ioc_calls / sizeof ioc_calls[0],
	.regen = { .fn = generate, .debounce_ms = 200, .max_wait_ms = 2000, .min_interval_ms = 1000 },
	.start = ioc_start,
	.record = ioc_record,
	.trust = ioc_trust,
	.tick = ioc_tick,
	.status = ioc_status,
	.stop = ioc_stop,
	.free = ioc_free,
};
