/* The ioc subsystem (src/daemon/ioc.c) against a fake host and a fake
 * CrowdSec LAPI: a small HTTP server on the same libuv loop (127.0.0.1,
 * an ephemeral port) that answers the calls the subsystem makes — the
 * watcher login, POST /v1/alerts, GET /v1/alerts/{id}, DELETE
 * /v1/decisions/{id}, the bouncer's decisions stream — and keeps the
 * decisions it holds, so each check is on what reached the "LAPI".
 *
 * In: records of members through the policy to applied (a decision of
 * origin mirrornet), pending (low confidence: approve, reject) and refused
 * (the allowlist); a tombstone, a rewritten batch and a revoked origin
 * delete by decision id; expiry drops the entry; a restart keeps the
 * decision ids (no second POST) and deletes what went while it was down.
 * Out: a cscli decision of the stream becomes a batch of ours, its
 * deletion a tombstone, mirrornet/CAPI decisions never go out, and a
 * restart's startup answer finds one deleted meanwhile. The API handlers
 * (add, pending, approve, reject, explain, list). DNS Guard: the file's
 * content (written whole, no temporary left), rewritten only on change,
 * the reload command run then. The LAPI answering 503 (retried, applied
 * when back) and refusing the password (auth failed, one login). */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include "tests/check.h"
#include "tests/unit/fake_host.h"
#include "proto/body.h"
#include "proto/hex.h"
#include "proto/record.h"
#include "src/putfile.h"

extern const struct subsys subsys_ioc;

/* ---- the fake LAPI ---- */

#define FL_MAX 64

struct fl_dec {
	int64_t id;
	char origin[16];
	char value[64];
	bool live;
	bool streamed, del_streamed;   /* told to the bouncer */
	unsigned dur_h;                /* its duration in hours; 0: 3h59m50.5s */
};

static struct fake_lapi {
	uv_tcp_t srv;
	int port;
	struct fl_dec d[FL_MAX];
	size_t n;
	int64_t next_id, next_alert;
	int64_t alert_first[FL_MAX], alert_n[FL_MAX];   /* alert i: decisions from d[first] */
	unsigned logins, posts, gets, deletes, streams, max_per_post;
	bool refuse_login, down;
} fl;

struct conn {
	uv_tcp_t tcp;
	char buf[65536];
	size_t len;
	bool answered;
};

static struct fl_dec *fl_add(const char *origin, const char *value)
{
	struct fl_dec *d = &fl.d[fl.n < FL_MAX - 1 ? fl.n++ : fl.n];

	memset(d, 0, sizeof *d);
	d->id = ++fl.next_id;
	snprintf(d->origin, sizeof d->origin, "%s", origin);
	snprintf(d->value, sizeof d->value, "%s", value);
	d->live = true;
	return d;
}

static struct fl_dec *fl_find(const char *origin, const char *value)
{
	for (size_t i = 0; i < fl.n; i++)
		if (fl.d[i].live && !strcmp(fl.d[i].origin, origin) && !strcmp(fl.d[i].value, value))
			return &fl.d[i];
	return NULL;
}

static unsigned fl_live(const char *origin)
{
	unsigned n = 0;

	for (size_t i = 0; i < fl.n; i++)
		n += fl.d[i].live && !strcmp(fl.d[i].origin, origin);
	return n;
}

static void dec_json(struct json_object *a, const struct fl_dec *d)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(d->id));
	json_object_object_add(o, "origin", json_object_new_string(d->origin));
	json_object_object_add(o, "type", json_object_new_string("ban"));
	json_object_object_add(o, "scope", json_object_new_string(strchr(d->value, '/') ? "Range" : "Ip"));
	json_object_object_add(o, "value", json_object_new_string(d->value));
	char dur[32] = "3h59m50.5s";
	if (d->dur_h)
		snprintf(dur, sizeof dur, "%uh0m0s", d->dur_h);
	json_object_object_add(o, "duration", json_object_new_string(dur));
	json_object_object_add(o, "scenario", json_object_new_string("test/scenario"));
	json_object_array_add(a, o);
}

static void conn_closed(uv_handle_t *h)
{
	free(h);
}

static void written(uv_write_t *w, int status)
{
	(void)status;
	free(w->data);
	uv_close((uv_handle_t *)w->handle, conn_closed);
	free(w);
}

static void reply(struct conn *c, int status, const char *body)
{
	uv_write_t *w = malloc(sizeof *w);
	size_t cap = strlen(body) + 200;
	char *out = malloc(cap);
	int n = snprintf(out, cap, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", status, strlen(body), body);
	uv_buf_t b = uv_buf_init(out, (unsigned)n);

	c->answered = true;
	w->data = out;
	uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, written);
}

static void reply_json(struct conn *c, int status, struct json_object *o)
{
	reply(c, status, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* CrowdSec's whole list keeps one decision per value, the longest: is d
 * behind a longer live one? */
static bool fl_shadowed(const struct fl_dec *d)
{
	double s = d->dur_h ? d->dur_h * 3600.0 : 14390.5;

	for (size_t i = 0; i < fl.n; i++)
		if (&fl.d[i] != d && fl.d[i].live && !strcmp(fl.d[i].value, d->value) &&
		    (fl.d[i].dur_h ? fl.d[i].dur_h * 3600.0 : 14390.5) > s)
			return true;
	return false;
}

static void serve(struct conn *c, const char *method, const char *path, const char *body)
{
	if (fl.down) {
		reply(c, 503, "{\"message\":\"down\"}");
		return;
	}
	if (!strcmp(method, "POST") && !strcmp(path, "/v1/watchers/login")) {
		fl.logins++;
		if (fl.refuse_login)
			reply(c, 401, "{\"code\":401,\"message\":\"incorrect Username or Password\"}");
		else
			reply(c, 200, "{\"code\":200,\"expire\":\"2030-01-01T00:00:00Z\",\"token\":\"tok\"}");
		return;
	}
	if (!strcmp(method, "GET") && !strncmp(path, "/v1/decisions/stream", 20)) {
		struct json_object *o = json_object_new_object(), *nw = json_object_new_array(),
				   *del = json_object_new_array();
		bool startup = strstr(path, "startup=true") != NULL;
		fl.streams++;
		for (size_t i = 0; i < fl.n; i++) {
			struct fl_dec *d = &fl.d[i];
			if (d->live && (startup ? !fl_shadowed(d) : !d->streamed))
				dec_json(nw, d);
			if (d->live)
				d->streamed = true;
			if (!d->live && d->streamed && !d->del_streamed && !startup)
				dec_json(del, d);
			if (!d->live)
				d->del_streamed = true;
		}
		json_object_object_add(o, "new", nw);
		json_object_object_add(o, "deleted", del);
		reply_json(c, 200, o);
		return;
	}
	if (!strcmp(method, "POST") && !strcmp(path, "/v1/alerts")) {
		struct json_object *a = json_tokener_parse(body), *ds;
		fl.posts++;
		if (!a || !json_object_is_type(a, json_type_array) || fl.next_alert == FL_MAX) {
			json_object_put(a);
			reply(c, 400, "{\"message\":\"bad alert\"}");
			return;
		}
		struct json_object *al = json_object_array_get_idx(a, 0);
		int64_t k = fl.next_alert++;
		fl.alert_first[k] = (int64_t)fl.n;
		fl.alert_n[k] = 0;
		if (al && json_object_object_get_ex(al, "decisions", &ds)) {
			size_t m = json_object_array_length(ds);
			if (m > fl.max_per_post)
				fl.max_per_post = (unsigned)m;
			for (size_t i = 0; i < m && fl.n < FL_MAX; i++) {
				struct json_object *v, *o;
				json_object_object_get_ex(json_object_array_get_idx(ds, i), "value", &v);
				json_object_object_get_ex(json_object_array_get_idx(ds, i), "origin", &o);
				fl_add(json_object_get_string(o), json_object_get_string(v));
				fl.alert_n[k]++;
			}
		}
		json_object_put(a);
		char ids[32];
		snprintf(ids, sizeof ids, "[\"%lld\"]", (long long)k + 1);
		reply(c, 201, ids);
		return;
	}
	if (!strcmp(method, "GET") && !strncmp(path, "/v1/alerts/", 11)) {
		long long k = atoll(path + 11) - 1;
		fl.gets++;
		if (k < 0 || k >= fl.next_alert) {
			reply(c, 404, "{\"message\":\"no alert\"}");
			return;
		}
		struct json_object *o = json_object_new_object(), *ds = json_object_new_array();
		for (int64_t i = 0; i < fl.alert_n[k]; i++)
			dec_json(ds, &fl.d[fl.alert_first[k] + i]);
		json_object_object_add(o, "id", json_object_new_int64(k + 1));
		json_object_object_add(o, "decisions", ds);
		reply_json(c, 200, o);
		return;
	}
	if (!strcmp(method, "DELETE") && !strncmp(path, "/v1/decisions/", 14)) {
		long long id = atoll(path + 14);
		fl.deletes++;
		for (size_t i = 0; i < fl.n; i++)
			if (fl.d[i].id == id && fl.d[i].live) {
				fl.d[i].live = false;
				reply(c, 200, "{\"nbDeleted\":\"1\"}");
				return;
			}
		reply(c, 404, "{\"message\":\"decision not found\"}");
		return;
	}
	reply(c, 404, "{\"message\":\"no route\"}");
}

static void on_alloc(uv_handle_t *h, size_t want, uv_buf_t *b)
{
	struct conn *c = (struct conn *)h;

	(void)want;
	*b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - 1 - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = (struct conn *)s;
	char method[16], path[256];

	(void)b;
	if (n < 0) {
		if (!c->answered)
			uv_close((uv_handle_t *)s, conn_closed);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = 0;
	char *eoh = strstr(c->buf, "\r\n\r\n");
	if (!eoh || c->answered)
		return;
	const char *cl = strstr(c->buf, "Content-Length:")   /* as curl writes it */;
	size_t want = cl && cl < eoh ? (size_t)atol(cl + 15) : 0;
	if ((size_t)(c->buf + c->len - (eoh + 4)) < want)
		return;
	if (sscanf(c->buf, "%15s %255s", method, path) != 2) {
		reply(c, 400, "{}");
		return;
	}
	uv_read_stop(s);
	serve(c, method, path, eoh + 4);
}

static void on_conn(uv_stream_t *srv, int status)
{
	struct conn *c = calloc(1, sizeof *c);

	if (status < 0 || !c) {
		free(c);
		return;
	}
	uv_tcp_init(srv->loop, &c->tcp);
	if (uv_accept(srv, (uv_stream_t *)&c->tcp) == 0)
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	else
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void fl_start(uv_loop_t *loop)
{
	struct sockaddr_in a;
	struct sockaddr_storage got;
	int len = sizeof got;

	uv_ip4_addr("127.0.0.1", 0, &a);
	uv_tcp_init(loop, &fl.srv);
	CHECK(uv_tcp_bind(&fl.srv, (const struct sockaddr *)&a, 0) == 0);
	CHECK(uv_listen((uv_stream_t *)&fl.srv, 16, on_conn) == 0);
	uv_tcp_getsockname(&fl.srv, (struct sockaddr *)&got, &len);
	fl.port = ntohs(((struct sockaddr_in *)&got)->sin_port);
}

/* ---- helpers ---- */

static char dir[] = "/tmp/mn-ioc-XXXXXX";
static char path_key[128], path_pw[128], path_dns[128];
static uint8_t self_seed[32], m1[32], m2[32];

static void run_for(struct mn_host *h, unsigned ms)
{
	uint64_t end = uv_now(&h->loop) + ms;

	while (uv_now(&h->loop) < end) {
		uv_run(&h->loop, UV_RUN_NOWAIT);
		usleep(2000);
		uv_update_time(&h->loop);
	}
}

/* Run the loop until cond() holds, at most ms: true if it did. */
static bool run_until(struct mn_host *h, bool (*cond)(void *), void *arg, unsigned ms)
{
	uint64_t end;

	uv_update_time(&h->loop);
	end = uv_now(&h->loop) + ms;
	while (!cond(arg)) {
		if (uv_now(&h->loop) >= end)
			return false;
		uv_run(&h->loop, UV_RUN_NOWAIT);
		usleep(2000);
		uv_update_time(&h->loop);
	}
	return true;
}

static struct json_object *status(struct mn_host *h)
{
	return h->s->status(h->st);
}

static uint64_t st_u64(struct mn_host *h, const char *k)
{
	struct json_object *j = status(h), *v;
	uint64_t r = json_object_object_get_ex(j, k, &v) ? (uint64_t)json_object_get_int64(v) : 0;

	json_object_put(j);
	return r;
}

static bool st_is(struct mn_host *h, const char *k, const char *want)
{
	struct json_object *j = status(h), *v;
	bool r = json_object_object_get_ex(j, k, &v) && !strcmp(json_object_get_string(v), want);

	json_object_put(j);
	return r;
}

static void ioc_rec(struct mn_host *h, const uint8_t origin[32], const char *key, uint64_t version,
		    const char *const *values, const uint8_t *confidence, size_t n)
{
	union body b;

	memset(&b, 0, sizeof b);
	for (size_t i = 0; i < n; i++) {
		struct ioc *c = &b.ioc.iocs[i];
		c->scope = strchr(values[i], '/') ? IOC_RANGE :
			   strspn(values[i], "0123456789.:") == strlen(values[i]) ? IOC_IP : IOC_DOMAIN;
		snprintf(c->value, sizeof c->value, "%s", values[i]);
		c->action = IOC_BAN;
		snprintf(c->scenario, sizeof c->scenario, "t/s");
		c->confidence = confidence ? confidence[i] : 90;
		c->valid_until = h->now_ms / 1000 + 7200;
	}
	b.ioc.n_iocs = (uint8_t)n;
	CHECK(fake_host_add(h, KIND_IOC, origin, key, version, &b) >= 0);
}

static void tomb(struct mn_host *h, const uint8_t origin[32], const char *key, uint64_t version)
{
	CHECK(fake_host_add(h, KIND_IOC, origin, key, version, NULL) >= 0);
}

static struct json_object *call(struct mn_host *h, const char *name, const char *req_text, int *rc)
{
	struct json_object *req = json_tokener_parse(req_text), *res = NULL;
	char err[256] = "";

	*rc = fake_host_call(h, name, req, &res, err, sizeof err);
	json_object_put(req);
	if (*rc < 0)
		fprintf(stderr, "  (%s: %s)\n", name, err);
	return res;
}

/* The entry of value in ioc_list: its state, step and decision. */
static bool entry_of(struct mn_host *h, const char *value, char *state, char *step, int64_t *dec,
		     char *id)
{
	int rc;
	struct json_object *l = call(h, "ioc_list", "{}", &rc), *v;
	bool found = false;

	for (size_t i = 0; l && i < json_object_array_length(l) && !found; i++) {
		struct json_object *e = json_object_array_get_idx(l, i);
		if (!json_object_object_get_ex(e, "value", &v) || strcmp(json_object_get_string(v), value))
			continue;
		found = true;
		if (state && json_object_object_get_ex(e, "state", &v))
			snprintf(state, 16, "%s", json_object_get_string(v));
		if (step && json_object_object_get_ex(e, "step", &v))
			snprintf(step, 32, "%s", json_object_get_string(v));
		if (dec)
			*dec = json_object_object_get_ex(e, "decision", &v) ? json_object_get_int64(v) : 0;
		if (id && json_object_object_get_ex(e, "id", &v))
			snprintf(id, 24, "%s", json_object_get_string(v));
	}
	json_object_put(l);
	return found;
}

static bool state_is(struct mn_host *h, const char *value, const char *want)
{
	char s[16] = "";

	return entry_of(h, value, s, NULL, NULL, NULL) && !strcmp(s, want);
}

struct wait_live { const char *value; bool live; };
static bool c_live(void *a)
{
	struct wait_live *w = a;

	return (fl_find("mirrornet", w->value) != NULL) == w->live;
}
static bool wait_live(struct mn_host *h, const char *value, bool live, unsigned ms)
{
	struct wait_live w = { value, live };

	return run_until(h, c_live, &w, ms);
}

static struct mn_host *g_h;
static bool c_applied(void *a) { return state_is(g_h, a, "applied"); }

static const char *state_val(struct mn_host *h, const char *prefix, char *out, size_t cap)
{
	for (size_t i = 0; i < FAKE_MAX_STATE; i++)
		if (h->state[i].used && !strncmp(h->state[i].key, prefix, strlen(prefix))) {
			snprintf(out, cap, "%.*s", (int)h->state[i].len, (const char *)h->state[i].val);
			return h->state[i].key;
		}
	return NULL;
}

static unsigned state_count(struct mn_host *h, const char *prefix)
{
	unsigned n = 0;

	for (size_t i = 0; i < FAKE_MAX_STATE; i++)
		n += h->state[i].used && !strncmp(h->state[i].key, prefix, strlen(prefix));
	return n;
}

static void restart(struct mn_host *h)
{
	h->s->stop(h->st);
	run_for(h, 20);
	h->s->free(h->st);
	h->st = NULL;
	CHECK(fake_host_start(h) != NULL);
}

static void setup(struct mn_host *h)
{
	char url[64];

	fake_host_init(h, &subsys_ioc);
	fake_host_key(h, self_seed);
	fl_start(&h->loop);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", fl.port);
	CHECK(fake_host_set(h, "ioc_lapi", url) == 0);
	CHECK(fake_host_set(h, "ioc_bouncer_key_file", path_key) == 0);
	CHECK(fake_host_set(h, "ioc_machine_id", "mirrornet") == 0);
	CHECK(fake_host_set(h, "ioc_password_file", path_pw) == 0);
	CHECK(fake_host_set(h, "ioc_poll_ms", "200") == 0);
	CHECK(fake_host_set(h, "ioc_dnsmasq_file", path_dns) == 0);
	CHECK(fake_host_set(h, "ioc_dnsmasq_reload", "reload-dnsmasq") == 0);
	CHECK(fake_host_set(h, "ioc_rate", "0") == 0);
}

static unsigned dir_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* ---- the cases ---- */

static void test_in(struct mn_host *h)
{
	static const char *const v1[] = { "203.0.113.7", "192.168.1.1", "198.51.100.0/24", "evil.example" };
	static const uint8_t c1[] = { 90, 90, 10, 90 };
	char st[16], step[32], id[24];
	int64_t dec = 0;
	int rc;

	/* records in -> the policy -> applied / refused / pending */
	ioc_rec(h, m1, "b1", 1, v1, c1, 4);
	CHECK(wait_live(h, "203.0.113.7", true, 5000));
	CHECK(run_until(h, c_applied, "203.0.113.7", 2000));
	CHECK(entry_of(h, "203.0.113.7", st, step, &dec, NULL));
	CHECK(dec == fl_find("mirrornet", "203.0.113.7")->id);
	CHECK_INT(fl.logins, 1);
	CHECK(fl.posts >= 1);
	CHECK(entry_of(h, "192.168.1.1", st, step, NULL, NULL));
	CHECK_STR(st, "refused");
	CHECK_STR(step, "special");
	CHECK(entry_of(h, "198.51.100.0/24", st, step, NULL, id));
	CHECK_STR(st, "pending");
	CHECK(!fl_find("mirrornet", "192.168.1.1"));
	CHECK(!fl_find("mirrornet", "198.51.100.0/24"));
	CHECK(state_is(h, "evil.example", "applied"));
	CHECK_INT(fl_live("mirrornet"), 1);   /* the domain never goes to the LAPI */
	CHECK(st_u64(h, "applied") == 2);
	CHECK(st_u64(h, "pending") == 1);
	CHECK(st_u64(h, "refused_total") == 1);
	char val[256];
	CHECK(state_val(h, "a:", val, sizeof val) != NULL);
	CHECK_INT(state_count(h, "a:"), 2);   /* the ip (with its decision id) and the domain */

	/* pending: listed, approved -> a decision */
	struct json_object *p = call(h, "ioc_pending", "{}", &rc);
	CHECK(rc == 0 && p && json_object_array_length(p) == 1);
	json_object_put(p);
	char req[128];
	snprintf(req, sizeof req, "{\"ioc\":\"%s\"}", id);
	json_object_put(call(h, "ioc_approve", req, &rc));
	CHECK_INT(rc, 0);
	CHECK(wait_live(h, "198.51.100.0/24", true, 5000));
	CHECK(run_until(h, c_applied, "198.51.100.0/24", 2000));
	json_object_put(call(h, "ioc_approve", req, &rc));
	CHECK(rc == -ENOENT);   /* not pending any more */

	/* another pending one, rejected */
	static const char *const v2[] = { "198.51.100.77" };
	static const uint8_t c2[] = { 5 };
	ioc_rec(h, m1, "b2", 1, v2, c2, 1);
	CHECK(entry_of(h, "198.51.100.77", st, NULL, NULL, id));
	CHECK_STR(st, "pending");
	snprintf(req, sizeof req, "{\"ioc\":\"%s\"}", id);
	json_object_put(call(h, "ioc_reject", req, &rc));
	CHECK_INT(rc, 0);
	CHECK(entry_of(h, "198.51.100.77", st, step, NULL, NULL));
	CHECK_STR(st, "refused");
	CHECK_STR(step, "trust_review");
	run_for(h, 300);
	CHECK(!fl_find("mirrornet", "198.51.100.77"));

	/* explain: the record, the step that decided; what the policy says now */
	struct json_object *x = call(h, "ioc_explain", "{\"value\":\"192.168.1.1\"}", &rc), *held, *e, *v;
	CHECK(rc == 0 && x);
	CHECK(json_object_object_get_ex(x, "held", &held) && json_object_array_length(held) == 1);
	e = json_object_array_get_idx(held, 0);
	CHECK(json_object_object_get_ex(e, "step", &v) && !strcmp(json_object_get_string(v), "special"));
	CHECK(json_object_object_get_ex(e, "batch", &v) && !strcmp(json_object_get_string(v), "b1"));
	CHECK(json_object_object_get_ex(x, "policy", &v));
	CHECK(strstr(json_object_to_json_string(v), "\"refused\"") != NULL);
	json_object_put(x);
	x = call(h, "ioc_explain", "{\"value\":\"203.0.113.99\"}", &rc);
	CHECK(rc == 0 && x && strstr(json_object_to_json_string(x), "\"applied\"") != NULL);
	json_object_put(x);
	json_object_put(call(h, "ioc_list", "{\"state\":\"nonsense\"}", &rc));
	CHECK(rc == -EINVAL);
	x = call(h, "ioc_list", "{\"state\":\"refused\"}", &rc);
	CHECK(rc == 0 && x && json_object_array_length(x) == 2);
	json_object_put(x);
}

static void test_dnsguard(struct mn_host *h)
{
	struct stat sb;
	unsigned runs = h->runs, files = dir_entries();

	fake_host_regen(h);
	char *t = check_slurp(path_dns);
	CHECK(t && strstr(t, "\naddress=/evil.example/\n") != NULL);
	CHECK(t && !strstr(t, "203.0.113.7"));
	free(t);
	CHECK(stat(path_dns, &sb) == 0 && (sb.st_mode & 0777) == 0644);
	CHECK_INT(h->runs, runs + 1);
	CHECK_STR(h->last_cmd, "reload-dnsmasq");
	CHECK_INT(dir_entries(), files + (files == 2 ? 1 : 0));   /* key, password, the file: no temp */
	fake_host_regen(h);   /* unchanged: not written, no reload */
	CHECK_INT(h->runs, runs + 1);
	CHECK(st_u64(h, "dns_entries") == 1);
}

static void test_withdraw(struct mn_host *h)
{
	static const char *const v3[] = { "203.0.113.30", "203.0.113.31" };
	static const char *const v3b[] = { "203.0.113.30" };
	static const char *const v4[] = { "203.0.113.40" };
	static const char *const v5[] = { "203.0.113.50" };
	unsigned del;

	/* a tombstone deletes by id; the domain leaves DNS Guard */
	int64_t id7 = fl_find("mirrornet", "203.0.113.7")->id;
	del = fl.deletes;
	tomb(h, m1, "b1", 2);
	CHECK(wait_live(h, "203.0.113.7", false, 5000));
	CHECK(wait_live(h, "198.51.100.0/24", false, 5000));
	CHECK(fl.deletes == del + 2);
	CHECK(!entry_of(h, "203.0.113.7", NULL, NULL, NULL, NULL));
	for (size_t i = 0; i < fl.n; i++)
		if (fl.d[i].id == id7)
			CHECK(!fl.d[i].live);
	fake_host_regen(h);
	char *t = check_slurp(path_dns);
	CHECK(t && !strstr(t, "evil.example"));
	free(t);

	/* a rewritten batch: the indicator it lost goes */
	ioc_rec(h, m1, "b3", 1, v3, NULL, 2);
	CHECK(wait_live(h, "203.0.113.31", true, 5000));
	CHECK(wait_live(h, "203.0.113.30", true, 5000));
	ioc_rec(h, m1, "b3", 2, v3b, NULL, 1);
	CHECK(wait_live(h, "203.0.113.31", false, 5000));
	CHECK(fl_find("mirrornet", "203.0.113.30") != NULL);

	/* a revoked origin: all of its decisions go */
	ioc_rec(h, m2, "b1", 1, v4, NULL, 1);
	CHECK(wait_live(h, "203.0.113.40", true, 5000));
	fake_host_revoke(h, m2);
	CHECK(wait_live(h, "203.0.113.40", false, 5000));
	CHECK(!entry_of(h, "203.0.113.40", NULL, NULL, NULL, NULL));
	CHECK(fl_find("mirrornet", "203.0.113.30") != NULL);   /* m1's stays */
	/* both went while their alert's decision ids were being read: deleted
	 * as orphans when the ids came */
	CHECK(st_u64(h, "orphans") >= 1);

	/* expiry: the entry and its state go (the LAPI ends the decision by its
	 * duration, capped to valid_until) */
	ioc_rec(h, m1, "b4", 1, v5, NULL, 1);
	CHECK(wait_live(h, "203.0.113.50", true, 5000));
	g_h = h;
	CHECK(run_until(h, c_applied, "203.0.113.50", 2000));
	unsigned a = state_count(h, "a:");
	h->now_ms += 7300 * 1000ull;
	h->s->tick(h->st, h->now_ms);
	CHECK(!entry_of(h, "203.0.113.50", NULL, NULL, NULL, NULL));
	CHECK(!entry_of(h, "203.0.113.30", NULL, NULL, NULL, NULL));   /* same valid_until */
	CHECK_INT(state_count(h, "a:"), a - 2);
	/* the clock stays there: those records are expired from now on */
}

static bool c_refused(void *a) { return state_is(g_h, a, "refused"); }
/* The fake LAPI streamed value's mirrornet decision: its deletion will be
 * streamed too (the real LAPI's stream has every deletion since the last
 * pull; the fake one only those it streamed as new before). */
static bool c_streamed(void *a)
{
	struct fl_dec *d = fl_find("mirrornet", a);

	return d && d->streamed;
}

/* A mesh decision deleted in CrowdSec by an admin (`cscli decisions
 * delete`): the entry says so (refused, step trust_review, removed_outside),
 * and the admin's delete stands: nothing posted again, nothing deleted,
 * not even when the record gets a new version. */
static void test_outside(struct mn_host *h)
{
	static const char *const v[] = { "203.0.113.60", "203.0.113.61" };
	char step[32] = "";

	g_h = h;
	ioc_rec(h, m1, "b6", 1, v, NULL, 2);
	CHECK(run_until(h, c_applied, "203.0.113.60", 5000));
	CHECK(run_until(h, c_applied, "203.0.113.61", 5000));
	unsigned posts = fl.posts, dels = fl.deletes;
	uint64_t before = st_u64(h, "removed_outside");
	CHECK(run_until(h, c_streamed, "203.0.113.60", 5000));
	fl_find("mirrornet", "203.0.113.60")->live = false;
	CHECK(run_until(h, c_refused, "203.0.113.60", 5000));
	CHECK(entry_of(h, "203.0.113.60", NULL, step, NULL, NULL) && !strcmp(step, "trust_review"));
	CHECK(st_u64(h, "removed_outside") == before + 1);
	CHECK(state_is(h, "203.0.113.61", "applied"));
	ioc_rec(h, m1, "b6", 2, v, NULL, 2);
	run_for(h, 1000);
	CHECK(state_is(h, "203.0.113.60", "refused"));
	CHECK(!fl_find("mirrornet", "203.0.113.60"));
	CHECK_INT(fl.posts, posts);
	CHECK_INT(fl.deletes, dels);
	tomb(h, m1, "b6", 3);
	CHECK(wait_live(h, "203.0.113.61", false, 5000));
}

static void test_restart(struct mn_host *h)
{
	static const char *const v6[] = { "203.0.113.60" };
	static const char *const v7[] = { "203.0.113.70" };
	int64_t dec = 0, dec2 = 0;

	ioc_rec(h, m1, "b6", 1, v6, NULL, 1);
	ioc_rec(h, m1, "b7", 1, v7, NULL, 1);
	CHECK(wait_live(h, "203.0.113.60", true, 5000));
	CHECK(wait_live(h, "203.0.113.70", true, 5000));
	g_h = h;
	CHECK(run_until(h, c_applied, "203.0.113.70", 2000));
	CHECK(entry_of(h, "203.0.113.60", NULL, NULL, &dec, NULL));
	unsigned posts = fl.posts, del = fl.deletes;

	/* down: b7 tombstoned meanwhile (the record is there, the subsystem not) */
	h->s->stop(h->st);
	run_for(h, 20);
	h->s->free(h->st);
	h->st = NULL;
	tomb(h, m1, "b7", 2);
	CHECK(fake_host_start(h) != NULL);
	CHECK(entry_of(h, "203.0.113.60", NULL, NULL, &dec2, NULL));
	CHECK(dec2 == dec);   /* the decision id from the state table */
	CHECK(state_is(h, "203.0.113.60", "applied"));
	CHECK(wait_live(h, "203.0.113.70", false, 5000));   /* deleted by id at start */
	CHECK(fl.deletes == del + 1);
	run_for(h, 500);
	CHECK_INT(fl.posts, posts);   /* nothing posted again */
	CHECK(fl_find("mirrornet", "203.0.113.60") != NULL);
}

static bool find_ours(void *ctx, const char *value, char *key)
{
	struct mn_host *h = ctx;

	for (size_t i = 0; i < FAKE_MAX_RECORDS; i++) {
		struct record r;
		union body b;
		if (!h->rec[i].used || record_decode_envelope(h->rec[i].wire, h->rec[i].len, &r) < 0 ||
		    r.kind != KIND_IOC || memcmp(r.origin, h->self, 32))
			continue;
		if (record_is_tombstone(&r)) {
			if (!value && key && !strcmp(r.key, key))
				return true;
			continue;
		}
		if (body_decode(KIND_IOC, r.body, r.body_len, &b) < 0)
			continue;
		for (unsigned k = 0; value && k < b.ioc.n_iocs; k++)
			if (!strcmp(b.ioc.iocs[k].value, value)) {
				if (key)
					snprintf(key, MN_MAX_RKEY + 1, "%s", r.key);
				return true;
			}
	}
	return false;
}

static bool c_published(void *a) { return find_ours(g_h, a, NULL); }

static void test_out(struct mn_host *h)
{
	char key[MN_MAX_RKEY + 1] = "", val[256];

	g_h = h;
	struct fl_dec *d = fl_add("cscli", "203.0.113.90");
	fl_add("CAPI", "203.0.113.91");
	fl_add("mirrornet", "203.0.113.92");
	fl_add("lists", "203.0.113.93");
	CHECK(run_until(h, c_published, "203.0.113.90", 3000));
	CHECK(find_ours(h, "203.0.113.90", key));
	run_for(h, 500);
	CHECK(!find_ours(h, "203.0.113.91", NULL));
	CHECK(!find_ours(h, "203.0.113.92", NULL));
	CHECK(!find_ours(h, "203.0.113.93", NULL));
	char sk[32];
	snprintf(sk, sizeof sk, "d:%lld", (long long)d->id);
	CHECK(state_val(h, sk, val, sizeof val) != NULL);
	CHECK(strstr(val, "203.0.113.90") != NULL);

	/* deleted locally: the batch becomes a tombstone */
	d->live = false;
	uint64_t t0 = st_u64(h, "tombstones");
	struct { uint64_t t0; } w = { t0 };
	(void)w;
	for (int i = 0; i < 200 && st_u64(h, "tombstones") == t0; i++)
		run_for(h, 20);
	CHECK(st_u64(h, "tombstones") == t0 + 1);
	CHECK(find_ours(h, NULL, key));
	CHECK(state_val(h, sk, val, sizeof val) == NULL);

	/* a restart: one deleted while we were down leaves its batch */
	struct fl_dec *d2 = fl_add("cscli", "203.0.113.94");
	CHECK(run_until(h, c_published, "203.0.113.94", 3000));
	CHECK(find_ours(h, "203.0.113.94", key));
	h->s->stop(h->st);
	run_for(h, 20);
	h->s->free(h->st);
	h->st = NULL;
	d2->live = false;
	d2->del_streamed = true;   /* the stream forgets it: only startup tells */
	CHECK(fake_host_start(h) != NULL);
	for (int i = 0; i < 200 && find_ours(h, "203.0.113.94", NULL); i++)
		run_for(h, 20);
	CHECK(!find_ours(h, "203.0.113.94", NULL));
	CHECK(find_ours(h, NULL, key));

	/* a restart: one of ours behind a longer decision of the same value
	 * (a mesh member's, applied here) is missing from the whole list but
	 * still active: it stays published */
	struct fl_dec *d3 = fl_add("cscli", "203.0.113.96");
	CHECK(run_until(h, c_published, "203.0.113.96", 3000));
	fl_add("mirrornet", "203.0.113.96")->dur_h = 24;
	h->s->stop(h->st);
	run_for(h, 20);
	h->s->free(h->st);
	h->st = NULL;
	unsigned streams = fl.streams;
	CHECK(fake_host_start(h) != NULL);
	for (int i = 0; i < 200 && fl.streams < streams + 2; i++)
		run_for(h, 20);
	CHECK(fl.streams >= streams + 2);   /* the startup answer and a delta after it */
	CHECK(find_ours(h, "203.0.113.96", NULL));
	snprintf(sk, sizeof sk, "d:%lld", (long long)d3->id);
	CHECK(state_val(h, sk, val, sizeof val) != NULL);
	/* ... and goes when it is deleted (the next delta says so) */
	d3->live = false;
	for (int i = 0; i < 200 && find_ours(h, "203.0.113.96", NULL); i++)
		run_for(h, 20);
	CHECK(!find_ours(h, "203.0.113.96", NULL));

	/* a deletion the deltas missed: the next whole list (due at least 30 s
	 * after the last) withdraws it; one behind a longer decision stays */
	struct fl_dec *d4 = fl_add("cscli", "203.0.113.97");
	fl_add("cscli", "203.0.113.98");
	CHECK(run_until(h, c_published, "203.0.113.97", 3000));
	CHECK(run_until(h, c_published, "203.0.113.98", 3000));
	fl_add("mirrornet", "203.0.113.98")->dur_h = 24;
	run_for(h, 100);
	d4->live = false;
	d4->del_streamed = true;   /* never in a delta */
	uint64_t resyncs = st_u64(h, "stream_resyncs");
	h->now_ms += 31000;
	for (int i = 0; i < 200 && st_u64(h, "stream_resyncs") == resyncs; i++)
		run_for(h, 20);
	CHECK(st_u64(h, "stream_resyncs") == resyncs + 1);
	for (int i = 0; i < 200 && find_ours(h, "203.0.113.97", NULL); i++)
		run_for(h, 20);
	CHECK(!find_ours(h, "203.0.113.97", NULL));
	CHECK(find_ours(h, "203.0.113.98", NULL));
}

static void test_add(struct mn_host *h)
{
	struct json_object *r;
	int rc;

	r = call(h, "ioc_add", "{\"scope\":\"domain\",\"value\":\"bad.example\"}", &rc);
	CHECK_INT(rc, 0);
	json_object_put(r);
	CHECK(find_ours(h, "bad.example", NULL));
	CHECK(state_is(h, "bad.example", "applied"));   /* ours: in DNS Guard */
	fake_host_regen(h);
	char *t = check_slurp(path_dns);
	CHECK(t && strstr(t, "address=/bad.example/") != NULL);
	free(t);
	json_object_put(call(h, "ioc_add", "{\"scope\":\"ip\",\"value\":\"192.168.1.1\"}", &rc));
	CHECK(rc == -EPERM);
	CHECK(!find_ours(h, "192.168.1.1", NULL));
	json_object_put(call(h, "ioc_add", "{\"scope\":\"url\",\"value\":\"x\"}", &rc));
	CHECK(rc == -EINVAL);
	json_object_put(call(h, "ioc_add", "{\"scope\":\"ip\",\"value\":\"203.0.113.5\",\"confidence\":101}", &rc));
	CHECK(rc == -EINVAL);
}

static void test_lapi_trouble(struct mn_host *h)
{
	static const char *const v8[] = { "203.0.113.80" };
	static const char *const v9[] = { "203.0.113.81" };

	/* 503: retried with backoff, applied when back */
	fl.down = true;
	ioc_rec(h, m1, "b8", 1, v8, NULL, 1);
	run_for(h, 1500);
	CHECK(st_is(h, "lapi", "down"));
	CHECK(state_is(h, "203.0.113.80", "queued"));
	fl.down = false;
	CHECK(wait_live(h, "203.0.113.80", true, 6000));

	/* a refused password: auth failed, one login, no storm */
	fl.refuse_login = true;
	restart(h);
	unsigned logins = fl.logins;
	ioc_rec(h, m1, "b9", 1, v9, NULL, 1);
	run_for(h, 2000);
	CHECK(st_is(h, "lapi", "auth failed"));
	CHECK_INT(fl.logins, logins + 1);
	CHECK(!fl_find("mirrornet", "203.0.113.81"));
	fl.refuse_login = false;
}

/* Many entries on a host without a LAPI (ip indicators stay queued): the
 * index by hash through additions and removals, the refused ones capped to
 * the newest 256. */
static unsigned held(struct mn_host *h, const char *value)
{
	char req[96];
	int rc;
	struct json_object *x, *v;
	unsigned n = 0;

	snprintf(req, sizeof req, "{\"value\":\"%s\"}", value);
	x = call(h, "ioc_explain", req, &rc);
	if (x && json_object_object_get_ex(x, "held", &v))
		n = (unsigned)json_object_array_length(v);
	json_object_put(x);
	return n;
}

static void test_many(void)
{
	struct mn_host *h = calloc(1, sizeof *h);
	char vals[16][24], key[16];
	const char *vp[16];
	unsigned bad = 0;

	fake_host_init(h, &subsys_ioc);
	fake_host_key(h, self_seed);
	CHECK(fake_host_set(h, "ioc_rate", "0") == 0);
	CHECK(fake_host_start(h) != NULL);
	for (int r = 0; r < 60; r++) {
		for (int i = 0; i < 16; i++) {
			if (i < 8)
				snprintf(vals[i], sizeof vals[i], "10.%d.%d.1", r, i);
			else
				snprintf(vals[i], sizeof vals[i], "198.18.%d.%d", r, i);
			vp[i] = vals[i];
		}
		snprintf(key, sizeof key, "m%d", r);
		ioc_rec(h, m1, key, 1, vp, NULL, 16);
	}
	CHECK(st_u64(h, "queued") == 480);
	CHECK(st_u64(h, "refused_total") == 480);
	int rc;
	struct json_object *l = call(h, "ioc_list", "{\"state\":\"refused\"}", &rc);
	CHECK(rc == 0 && l && json_object_array_length(l) == 256);
	json_object_put(l);
	CHECK_INT(held(h, "10.0.0.1"), 0);    /* the oldest refusals went */
	CHECK_INT(held(h, "10.59.7.1"), 1);   /* the newest stay */
	for (int r = 0; r < 60; r += 2) {
		snprintf(key, sizeof key, "m%d", r);
		tomb(h, m1, key, 2);
	}
	CHECK(st_u64(h, "queued") == 240);
	for (int r = 0; r < 60; r++)
		for (int i = 8; i < 16; i++) {
			char v[24];
			snprintf(v, sizeof v, "198.18.%d.%d", r, i);
			bad += held(h, v) != (r % 2 ? 1u : 0u);
		}
	CHECK_INT(bad, 0);
	fake_host_done(h);
	free(h);
}

int main(void)
{
	struct mn_host *h = calloc(1, sizeof *h);

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path_key, sizeof path_key, "%s/bouncer.key", dir);
	snprintf(path_pw, sizeof path_pw, "%s/password", dir);
	snprintf(path_dns, sizeof path_dns, "%s/dnsguard.conf", dir);
	CHECK(file_write(path_key, "key\n", 4, 0600) == 0);
	CHECK(file_write(path_pw, "pw\n", 3, 0600) == 0);
	memset(self_seed, 0x51, 32);
	memset(m1, 0xa1, 32);
	memset(m2, 0xa2, 32);

	setup(h);
	CHECK(fake_host_start(h) != NULL);
	g_h = h;
	test_in(h);
	test_dnsguard(h);
	test_withdraw(h);
	test_outside(h);
	test_restart(h);
	test_out(h);
	test_add(h);
	CHECK(fl.max_per_post <= 256);
	test_lapi_trouble(h);
	test_many();

	uv_close((uv_handle_t *)&fl.srv, NULL);
	fake_host_done(h);
	free(h);
	unlink(path_key);
	unlink(path_pw);
	unlink(path_dns);
	rmdir(dir);
	return check_exit();
}
