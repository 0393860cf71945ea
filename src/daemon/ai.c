/* The AI subsystem (docs/ai.md): OpenAI-compatible servers shared by the
 * mesh.
 *
 * A box with a server (ai_local http://IP:PORT) reads its model list
 * (GET /v1/models, libcurl multi on the loop: src/http/httpc.c; the answer
 * bounded to AI_MAX_ANSWER bytes) every ai_refresh_s and
 * publishes svc "ai": endpoint = its certified mesh address, port =
 * ai_mesh_port (where its HAProxy passes peers to the server), one
 * attribute "model" per model. The server gone (AI_GONE_AFTER reads in a
 * row without an answer, or no models): the record is deleted. (A box without ai_local leaves a svc "ai" of its
 * own alone unless it published it in this run.)
 *
 * Every box with ai_listen runs a MirrorNet-owned HAProxy (its own config,
 * pid file and process, as the expose subsystem's; src/ai/aicfg.c renders
 * it): one local endpoint that routes a request by its "model" to the
 * boxes that hold it — our server first, then the peers over the mesh —
 * health-checked with GET /v1/models. A peer's record whose endpoint is
 * not its certified mesh address, or whose models are not plain names, is
 * ignored and counted (status .ai.ignored).
 *
 * Generation: render into DIR/gen.N (the one not live), `haproxy -c`,
 * point DIR/live at it, USR2 to the master (or start it). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "src/daemon/subsys.h"
#include "src/daemon/config.h"
#include "src/daemon/haproc.h"
#include "src/http/httpc.h"
#include "src/daemon/expose_chan.h"
#include "src/ai/aicfg.h"
#include "src/expose/hacfg.h"
#include "src/putfile.h"
#include "src/log.h"
#include "proto/body.h"
#include "proto/proto_err.h"
#include "proto/record.h"
#include "src/body_json.h"

#define AI_MAX_ANSWER (1u << 20)   /* a /v1/models answer */
#define FETCH_TIMEOUT_MS 5000
#define AI_MAX_BOXES 256
#define AI_GONE_AFTER 3            /* failed reads in a row: the server is gone */

struct ai_conf {
	char local[MN_MAX_ENDPOINT + 16];   /* http://IP:PORT, "" none */
	char listen[MN_MAX_ENDPOINT + 1];   /* ip:port, "" no local endpoint */
	unsigned mesh_port;
	char dir[AICFG_DIR_MAX + 1];
	char haproxy[CONFIG_PATH_MAX];
	unsigned refresh_s, check_ms, ttl_s;
};

struct ai {
	struct mn_host *h;
	uv_timer_t timer;
	bool timer_open;
	struct httpc *get;                  /* our server's /v1/models; NULL once stopped */
	char (*models)[AICFG_MODEL_MAX + 1];/* our server's, AICFG_MAX_MODELS */
	size_t nmodels;
	bool local_up;
	bool ours;                          /* this run published our svc "ai" */
	unsigned failed_in_row;
	unsigned fetches, fetch_failures, bad_models, published, publish_failures;
	unsigned ignored[AICFG_NREFUSALS];
	unsigned peers, routed;
	unsigned generations;
	struct haproc proc;                 /* the HAProxy: generations, checks, its last error */
	uint64_t live_hash, pending_hash;   /* of the files of the live / checked generation */
	char fetch_error[600], publish_error[200];
};

static const struct ai_conf *conf(const struct ai *ai)
{
	return host_conf(ai->h);
}

/* ---- our server's models ---- */

static void sync_record(struct ai *ai);

static void fetch_done(void *arg, long status, const char *body, size_t len, const char *err)
{
	struct ai *ai = arg;
	char (*m)[AICFG_MODEL_MAX + 1] = calloc(AICFG_MAX_MODELS, sizeof *m);
	size_t n = 0;
	unsigned bad = 0;

	if (!m)
		return;
	ai->fetches++;
	if (err || status != 200 || aicfg_parse_models(body, len, m, AICFG_MAX_MODELS, &n, &bad) < 0) {
		ai->fetch_failures++;
		snprintf(ai->fetch_error, sizeof ai->fetch_error, "%s/v1/models: %s", conf(ai)->local,
			 err ? err : status != 200 ? "not HTTP 200" : "not a model list");
		/* one failed read is not gone (a restart, a slow answer): the
		 * peers' health checks take it out meanwhile */
		if (++ai->failed_in_row < AI_GONE_AFTER && ai->local_up) {
			free(m);
			return;
		}
		n = 0;
	} else {
		ai->fetch_error[0] = 0;
		ai->failed_in_row = 0;
	}
	ai->bad_models = bad;
	bool up = n > 0;
	bool changed = up != ai->local_up || n != ai->nmodels;
	for (size_t i = 0; !changed && i < n; i++)
		changed = strcmp(m[i], ai->models[i]) != 0;
	memcpy(ai->models, m, AICFG_MAX_MODELS * sizeof *m);
	ai->nmodels = n;
	ai->local_up = up;
	free(m);
	sync_record(ai);
	if (changed)
		host_dirty(ai->h);
}

static void fetch_start(struct ai *ai)
{
	const struct ai_conf *c = conf(ai);
	char url[sizeof c->local + 16];

	if (!c->local[0] || !ai->get || httpc_pending(ai->get))
		return;
	snprintf(url, sizeof url, "%s/v1/models", c->local);
	struct httpc_req q = { .url = url, .max = AI_MAX_ANSWER, .timeout_ms = FETCH_TIMEOUT_MS };
	int rc = httpc_start(ai->get, &q, fetch_done, ai);
	if (rc < 0) {
		ai->fetch_failures++;
		snprintf(ai->fetch_error, sizeof ai->fetch_error, "%s: %s", url,
			 rc == -ELIBACC ? httpc_load_error() : strerror(-rc));
	}
}

/* ---- our svc "ai" record ---- */

/* svc "ai" as our server says: published (renewed past half its life)
 * while it answers with models, deleted when it does not. */
static void sync_record(struct ai *ai)
{
	const struct ai_conf *c = conf(ai);
	struct subsys_svc_held e;
	char addr[MN_MAX_ADDR + 1];
	union body b;
	int perr = 0, rc;

	subsys_mesh_addr(ai->h, host_self(ai->h), addr, sizeof addr);
	if (subsys_svc_held(ai->h, AICFG_SVC, &e) < 0)
		return;
	if (!c->local[0] || !ai->local_up || !addr[0] || !hacfg_addr_ok(addr)) {
		/* a box without a server leaves its svc "ai" alone unless this
		 * run published it (then ai_local was removed by a reload) */
		if (!e.found || e.tomb || (!c->local[0] && !ai->ours))
			return;
		rc = host_publish(ai->h, KIND_SVC, AICFG_SVC, NULL, 60, NULL, &perr);
	} else {
		memset(&b, 0, sizeof b);
		snprintf(b.svc.service, sizeof b.svc.service, "%s", AICFG_SVC);
		snprintf(b.svc.endpoint, sizeof b.svc.endpoint, "%s", addr);
		b.svc.port = (uint16_t)c->mesh_port;
		for (size_t i = 0; i < ai->nmodels && i < MN_MAX_ATTRS; i++) {
			snprintf(b.svc.attrs[i].k, sizeof b.svc.attrs[i].k, AICFG_ATTR);
			snprintf(b.svc.attrs[i].v, sizeof b.svc.attrs[i].v, "%s", ai->models[i]);
			b.svc.n_attrs++;
		}
		if (e.found && !e.tomb && subsys_svc_same(&e.b.svc, &b.svc) &&
		    e.expires > host_now_ms(ai->h) / 1000 + c->ttl_s / 2)
			return;
		rc = host_publish(ai->h, KIND_SVC, AICFG_SVC, &b, c->ttl_s, NULL, &perr);
	}
	if (rc < 0) {
		ai->publish_failures++;
		snprintf(ai->publish_error, sizeof ai->publish_error, "cannot publish: %s",
			 perr ? proto_strerror(perr) : strerror(-rc));
	} else {
		ai->published++;
		ai->publish_error[0] = 0;
		ai->ours = true;
	}
}

/* ---- the boxes that serve models ---- */

struct boxes {
	struct ai *ai;
	struct aicfg_box *b;
	char (*models)[AICFG_MODEL_MAX + 1];   /* AICFG_MAX_MODELS per box */
	uint8_t (*origin)[32];
	size_t n;
	unsigned ignored[AICFG_NREFUSALS];
	uint64_t now_s;
};

static int box_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct boxes *l = ctx;
	union body b;
	char addr[MN_MAX_ADDR + 1];
	size_t nm = 0;

	(void)id;
	if (r->kind != KIND_SVC || strcmp(r->key, AICFG_SVC) || record_is_tombstone(r) ||
	    !memcmp(r->origin, host_self(l->ai->h), 32) || (r->expires && r->expires <= l->now_s) ||
	    l->n >= AI_MAX_BOXES)
		return 0;
	if (body_decode(KIND_SVC, r->body, r->body_len, &b) < 0) {
		l->ignored[AICFG_BAD_SERVICE]++;
		return 0;
	}
	subsys_mesh_addr(l->ai->h, r->origin, addr, sizeof addr);
	char (*m)[AICFG_MODEL_MAX + 1] = l->models + l->n * AICFG_MAX_MODELS;
	enum aicfg_refusal why = aicfg_svc_check(&b.svc, addr, m, &nm);
	if (why != AICFG_OK) {
		l->ignored[why]++;
		return 0;
	}
	struct aicfg_box *x = &l->b[l->n];
	memset(x, 0, sizeof *x);
	snprintf(x->addr, sizeof x->addr, "%s", addr);
	x->port = b.svc.port;
	x->models = m;
	x->nmodels = nm;
	memcpy(l->origin[l->n], r->origin, 32);
	l->n++;
	return 0;
}

static int by_addr(const void *a, const void *b)
{
	return strcmp(((const struct aicfg_box *)a)->addr, ((const struct aicfg_box *)b)->addr);
}

/* Our server (first) and the peers' valid records, by mesh address. */
static int boxes_collect(struct ai *ai, struct boxes *l)
{
	memset(l, 0, sizeof *l);
	l->ai = ai;
	l->now_s = host_now_ms(ai->h) / 1000;
	l->b = calloc(AI_MAX_BOXES + 1, sizeof *l->b);
	l->models = calloc((AI_MAX_BOXES + 1) * AICFG_MAX_MODELS, sizeof *l->models);
	l->origin = calloc(AI_MAX_BOXES + 1, sizeof *l->origin);
	if (!l->b || !l->models || !l->origin)
		return -ENOMEM;
	int rc = host_each(ai->h, KIND_BIT(KIND_SVC), NULL, box_cb, l);
	if (rc < 0)
		return rc;
	qsort(l->b, l->n, sizeof *l->b, by_addr);   /* (origin is only for ai_list: see there) */
	return 0;
}

static void boxes_free(struct boxes *l)
{
	free(l->b);
	free(l->models);
	free(l->origin);
}

/* ---- the proxy ---- */

static void gen_dir(const struct ai *ai, int g, char *out, size_t cap)
{
	haproc_gen_dir(conf(ai)->dir, g, out, cap);
}

static pid_t proxy_pid(const struct ai *ai)
{
	return haproc_pid(conf(ai)->dir);
}

static void start_done(void *st, bool ok, const char *status, uint64_t ms)
{
	struct ai *ai = st;

	(void)ms;
	haproc_start_done(&ai->proc, conf(ai)->dir, ok, status);
}

static void check_done(void *st, bool ok, const char *status, uint64_t ms)
{
	struct ai *ai = st;

	(void)ms;
	if (ok)
		ai->live_hash = ai->pending_hash;
	haproc_check_done(&ai->proc, conf(ai)->dir, ok, status);
}

/* Write the files into dir: 1 if any changed, 0 if all were the same, or a
 * negative errno (msg). */
static int write_gen(const char *dir, const struct aicfg_out *o, char *msg, size_t cap)
{
	char p[AICFG_DIR_MAX + 48];
	int changed = 0, rc;

	if ((rc = file_mkdirs(dir, 0755)) < 0) {
		snprintf(msg, cap, "%s: %s", dir, strerror(-rc));
		return rc;
	}
	for (int i = 0; i < AICFG_NFILES; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, aicfg_file_names[i]);
		if ((rc = file_put(p, o->text[i], o->len[i], 0644)) < 0) {
			snprintf(msg, cap, "%s: %s", p, strerror(-rc));
			return rc;
		}
		changed |= rc;
	}
	return changed;
}

/* FNV-1a over the files, to tell a rendering from the live one. */
static uint64_t out_hash(const struct aicfg_out *o)
{
	uint64_t x = 1469598103934665603ull;

	for (int i = 0; i < AICFG_NFILES; i++)
		for (size_t k = 0; k <= o->len[i]; k++)
			x = (x ^ (k < o->len[i] ? (uint8_t)o->text[i][k] : 0)) * 1099511628211ull;
	return x | 1;
}

/* The config of boxes l, rendered into generation dir g. */
static int render(struct ai *ai, const struct boxes *l, int g, struct aicfg_out *o, char *msg, size_t cap)
{
	const struct ai_conf *c = conf(ai);
	struct aicfg_box *all = calloc(l->n + 1, sizeof *all);
	struct aicfg a;
	char addr[MN_MAX_ADDR + 1];
	size_t n = 0;

	if (!all) {
		snprintf(msg, cap, "out of memory");
		return -ENOMEM;
	}
	memset(&a, 0, sizeof a);
	gen_dir(ai, g, a.gen_dir, sizeof a.gen_dir);
	snprintf(a.listen, sizeof a.listen, "%s", c->listen);
	if (c->local[0]) {
		/* http://IP:PORT: the address HAProxy connects to */
		snprintf(a.local, sizeof a.local, "%.*s", (int)strcspn(c->local + 7, "/"), c->local + 7);
		subsys_mesh_addr(ai->h, host_self(ai->h), addr, sizeof addr);
		if (addr[0] && hacfg_addr_ok(addr))
			snprintf(a.mesh_bind, sizeof a.mesh_bind, strchr(addr, ':') ? "[%s]:%u" : "%s:%u", addr,
				 c->mesh_port);
		if (ai->local_up) {
			struct aicfg_box *x = &all[n++];
			char *colon = strrchr(a.local, ':');
			bool v6 = a.local[0] == '[';   /* [v6]:port */
			snprintf(x->addr, sizeof x->addr, "%.*s", (int)(colon - a.local) - (v6 ? 2 : 0), a.local + v6);
			x->port = (uint16_t)atoi(colon + 1);
			x->models = ai->models;
			x->nmodels = ai->nmodels;
		}
	}
	memcpy(all + n, l->b, l->n * sizeof *all);
	a.boxes = all;
	a.nboxes = n + l->n;
	a.check_ms = c->check_ms;
	int rc = aicfg_render(&a, o, msg, cap);
	free(all);
	return rc;
}

static void generate(void *st)
{
	struct ai *ai = st;
	const struct ai_conf *c = conf(ai);
	struct boxes l;
	struct aicfg_out o;
	char dir[AICFG_DIR_MAX + 16], err[300];

	sync_record(ai);
	if (!c->listen[0] || ai->proc.checking)
		return;
	if (boxes_collect(ai, &l) < 0) {
		boxes_free(&l);
		snprintf(ai->proc.last_error, sizeof ai->proc.last_error, "out of memory");
		return;
	}
	memcpy(ai->ignored, l.ignored, sizeof ai->ignored);
	ai->peers = (unsigned)l.n;
	ai->generations++;
	ai->proc.live = haproc_live(c->dir);
	int g = ai->proc.live == 0 ? 1 : 0;
	/* the live generation rendered again: the same, nothing to do */
	if (ai->proc.live >= 0 && ai->live_hash && render(ai, &l, ai->proc.live, &o, err, sizeof err) == 0) {
		bool same = out_hash(&o) == ai->live_hash;
		ai->routed = (unsigned)o.nmodels;
		aicfg_out_free(&o);
		if (same) {
			boxes_free(&l);
			if (!proxy_pid(ai))
				haproc_start(&ai->proc, c->haproxy, c->dir, start_done);   /* it died */
			return;
		}
	}
	int rc = render(ai, &l, g, &o, err, sizeof err);
	boxes_free(&l);
	if (rc < 0) {
		snprintf(ai->proc.last_error, sizeof ai->proc.last_error, "%s", err);
		return;
	}
	gen_dir(ai, g, dir, sizeof dir);
	ai->routed = (unsigned)o.nmodels;
	rc = write_gen(dir, &o, err, sizeof err);
	ai->pending_hash = out_hash(&o);
	aicfg_out_free(&o);
	if (rc < 0) {
		snprintf(ai->proc.last_error, sizeof ai->proc.last_error, "%s", err);
		return;
	}
	haproc_check(&ai->proc, c->haproxy, c->dir, g, check_done);
}

/* ---- life ---- */

static void on_timer(uv_timer_t *t)
{
	struct ai *ai = t->data;

	fetch_start(ai);
	host_dirty(ai->h);   /* renews our record, restarts a dead proxy */
}

static void arm(struct ai *ai)
{
	uint64_t ms = (uint64_t)conf(ai)->refresh_s * 1000;

	if (ai->timer_open)
		uv_timer_start(&ai->timer, on_timer, 0, ms);
}

static void *ai_start(struct mn_host *h, char *err, size_t errcap)
{
	struct ai *ai = calloc(1, sizeof *ai);

	if (!ai || !(ai->models = calloc(AICFG_MAX_MODELS, sizeof *ai->models))) {
		free(ai);
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	ai->h = h;
	haproc_init(&ai->proc, h, "ai");
	/* http only, a connection per read (one every ai_refresh_s) */
	static const struct httpc_conf get_conf = { .protocols = "http", .max_conns = 1, .no_reuse = true };
	if (!(ai->get = httpc_new(host_loop(h), &get_conf))) {
		free(ai->models);
		free(ai);
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	if (uv_timer_init(host_loop(h), &ai->timer) == 0) {
		ai->timer.data = ai;
		ai->timer_open = true;
		uv_unref((uv_handle_t *)&ai->timer);
		arm(ai);
	}
	if (conf(ai)->listen[0])
		host_dirty(h);
	return ai;
}

static void ai_record(void *st, const struct rec_view *v)
{
	struct ai *ai = st;

	(void)v;
	if (conf(ai)->listen[0] || conf(ai)->local[0])
		host_dirty(ai->h);
}

static void ai_trust(void *st, const uint8_t origin[32])
{
	(void)origin;
	ai_record(st, NULL);
}

static void ai_reload(void *st, const void *old)
{
	struct ai *ai = st;
	const struct ai_conf *o = old;

	/* the endpoint turned off: our HAProxy goes too */
	if (o->listen[0] && !conf(ai)->listen[0]) {
		pid_t pid = haproc_pid(o->dir);
		if (pid && kill(pid, SIGTERM) == 0)
			log_info("ai: ai_listen removed, HAProxy (pid %d) stopped", (int)pid);
	}
	arm(ai);
	host_dirty(ai->h);
}

static void ai_stop(void *st)
{
	struct ai *ai = st;

	if (ai->timer_open)
		uv_close((uv_handle_t *)&ai->timer, NULL);
	ai->timer_open = false;
	haproc_stop(&ai->proc);
	httpc_close(ai->get);   /* (its memory goes with its handles' close callbacks) */
	ai->get = NULL;
}

static void ai_free(void *st)
{
	struct ai *ai = st;

	free(ai->models);
	free(ai);
}

#define JADD(o, k, v) json_object_object_add((o), (k), (v))
static struct json_object *ai_status(void *st)
{
	struct ai *ai = st;
	const struct ai_conf *c = conf(ai);
	struct json_object *j = json_object_new_object(), *ig = json_object_new_object();
	unsigned total = 0;

	json_put_str(j, "local", c->local);
	json_put_str(j, "listen", c->listen);
	json_put_bool(j, "local_up", ai->local_up);
	json_put_int(j, "local_models", (int)ai->nmodels);
	json_put_int(j, "fetches", (int)ai->fetches);
	json_put_int(j, "fetch_failures", (int)ai->fetch_failures);
	json_put_int(j, "bad_local_models", (int)ai->bad_models);
	if (ai->fetch_error[0])
		json_put_str(j, "fetch_error", ai->fetch_error);
	json_put_int(j, "published", (int)ai->published);
	json_put_int(j, "publish_failures", (int)ai->publish_failures);
	if (ai->publish_error[0])
		json_put_str(j, "publish_error", ai->publish_error);
	json_put_int(j, "peers", (int)ai->peers);
	json_put_int(j, "models", (int)ai->routed);
	for (int i = 1; i < AICFG_NREFUSALS; i++) {
		json_put_int(ig, aicfg_refusal_names[i], (int)ai->ignored[i]);
		total += ai->ignored[i];
	}
	json_put_int(ig, "total", (int)total);
	JADD(j, "ignored", ig);
	if (c->listen[0]) {
		pid_t pid = proxy_pid(ai);
		json_put_bool(j, "running", pid != 0);
		const struct expose_count n[] = {
			{ "generations", ai->generations }, { "checks", ai->proc.checks },
			{ "check_failures", ai->proc.check_failures }, { "switches", ai->proc.switches },
			{ "reloads", ai->proc.reloads }, { "starts", ai->proc.starts },
			{ "start_failures", ai->proc.start_failures }, { "retries", ai->proc.retry.fired },
		};
		expose_json_counts(j, n, sizeof n / sizeof n[0]);
	}
	if (ai->proc.last_error[0])
		json_put_str(j, "last_error", ai->proc.last_error);
	return j;
}

static struct json_object *box_json(const char *who, const char *addr, unsigned port,
				    char (*models)[AICFG_MODEL_MAX + 1], size_t n, const char *want, bool *any)
{
	struct json_object *o = json_object_new_object(), *m = json_object_new_array();

	*any = !want;
	for (size_t i = 0; i < n; i++) {
		json_object_array_add(m, json_object_new_string(models[i]));
		if (want && !strcmp(want, models[i]))
			*any = true;
	}
	json_put_str(o, "box", who);
	json_put_str(o, "endpoint", addr);
	json_put_int(o, "port", (int)port);
	JADD(o, "models", m);
	return o;
}

/* ai_list: the boxes that serve models, ours first, with --model M only
 * those that hold M. */
static int ai_list(void *st, struct json_object *req, struct json_object **res, char *err, size_t errcap)
{
	struct ai *ai = st;
	struct json_object *v;
	const char *want = NULL;
	struct boxes l;
	bool any;

	if (json_object_object_get_ex(req, "model", &v)) {
		want = json_object_get_string(v);
		if (!aicfg_model_ok(want)) {
			snprintf(err, errcap, "model: a name of [A-Za-z0-9._:@+/-], at most %d bytes",
				 AICFG_MODEL_MAX);
			return -EINVAL;
		}
	}
	if (boxes_collect(ai, &l) < 0) {
		boxes_free(&l);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	*res = json_object_new_array();
	if (ai->local_up) {
		char addr[MN_MAX_ADDR + 1];
		subsys_mesh_addr(ai->h, host_self(ai->h), addr, sizeof addr);
		struct json_object *o = box_json("self", addr, conf(ai)->mesh_port, ai->models, ai->nmodels, want, &any);
		if (any)
			json_object_array_add(*res, o);
		else
			json_object_put(o);
	}
	for (size_t i = 0; i < l.n; i++) {
		struct json_object *o = box_json("peer", l.b[i].addr, l.b[i].port, l.b[i].models, l.b[i].nmodels,
						 want, &any);
		if (any)
			json_object_array_add(*res, o);
		else
			json_object_put(o);
	}
	boxes_free(&l);
	return 0;
}

#define BAD(...) do { snprintf(msg, cap, __VA_ARGS__); return -EINVAL; } while (0)
static int check_local(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	size_t n = strlen(val);
	if (n && val[n - 1] == '/')
		val[--n] = 0;
	if (n && (strncmp(val, "http://", 7) || !hacfg_backend_ok(val + 7)))
		BAD("ai_local: http://IP:PORT (the OpenAI-compatible server on this box)");
	return 0;
}

static int check_listen(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (val[0] && !hacfg_backend_ok(val))
		BAD("ai_listen: IP:PORT");
	return 0;
}

static int check_dir(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!conf_path_ok(val) || !strcmp(val, "/") || strlen(val) > AICFG_DIR_MAX - 16)
		BAD("ai_dir: an absolute directory path of [A-Za-z0-9._+-/], no '.' or '..' parts");
	return 0;
}
#undef BAD

#define F(f) CONF_FIELD(struct ai_conf, f)
static const struct conf_opt ai_opts[] = {
	{ "ai_local", CONF_STR, 0, F(local), .parse = check_local, .help = "http://IP:PORT" },
	{ "ai_listen", CONF_STR, 0, F(listen), .parse = check_listen, .help = "IP:PORT" },
	{ "ai_mesh_port", CONF_UINT, 0, F(mesh_port), .min = 1, .max = 65535, .def = "8481", .help = "1..65535" },
	{ "ai_dir", CONF_STR, 0, F(dir), .parse = check_dir, .def = "/var/run/mirrornet/ai",
	  .help = "an absolute directory path" },
	{ "ai_haproxy", CONF_STR, 0, F(haproxy), .def = "/usr/sbin/haproxy", .help = "the haproxy program" },
	{ "ai_refresh_s", CONF_UINT, 0, F(refresh_s), .min = 1, .max = 86400, .def = "30", .help = "1..86400" },
	{ "ai_check_ms", CONF_UINT, 0, F(check_ms), .min = 100, .max = 600000, .def = "2000", .help = "100..600000" },
	{ "ai_ttl_s", CONF_UINT, 0, F(ttl_s), .min = 60, .max = 86400 * 7, .def = "600", .help = "60..604800" },
};
#undef F

static const struct subsys_call ai_calls[] = {
	{ "ai_list", ai_list, (const struct subsys_arg[]){ { "model", json_type_string }, { NULL, 0 } } },
};

const struct subsys subsys_ai = {
	.name = "ai",
	.kinds = 1u << KIND_SVC | 1u << KIND_NODE | 1u << KIND_CERT,
	.conf = { "ai", ai_opts, sizeof ai_opts / sizeof ai_opts[0], sizeof(struct ai_conf), NULL, NULL },
	.calls = ai_calls,
	.ncalls = sizeof ai_calls / sizeof ai_calls[0],
	.regen = { .fn = generate, .debounce_ms = 100, .max_wait_ms = 1000, .min_interval_ms = 500 },
	.start = ai_start,
	.record = ai_record,
	.trust = ai_trust,
	.reload = ai_reload,
	.status = ai_status,
	.stop = ai_stop,
	.free = ai_free,
};
