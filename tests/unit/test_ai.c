/* The AI endpoint's pure half (src/ai/aicfg.c): model names, svc "ai"
 * records against their origin's mesh address, the /v1/models parser, and
 * the HAProxy configuration — hostile model names (quotes, newlines,
 * spaces, '#') never reach a file, and haproxy -c accepts what is
 * rendered (when haproxy is installed). Then the subsystem (src/daemon/
 * ai.c) against the fake host: peers' records in and out of the files,
 * the refused ones counted in status, ai_list. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tests/check.h"
#include "src/ai/aicfg.h"
#include "tests/unit/fake_host.h"

extern const struct subsys subsys_ai;

static void names(void)
{
	static const char *const good[] = { "llama-3.2-1b", "gpt-4o", "phi3:mini", "org/model@v1+q4", "a_b.c" };
	static const char *const bad[] = {
		"", "-x", "a b", "a\"b", "a'b", "a\nb", "a\rb", "a#b", "a\\b", "a;b", "a{b}", "a%b", "a\tb",
		"%[req.hdr(host)]", "a,b", "\x01", "é",
	};
	char longname[AICFG_MODEL_MAX + 2];

	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		CHECK(aicfg_model_ok(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(!aicfg_model_ok(bad[i]));
	memset(longname, 'a', sizeof longname);
	longname[AICFG_MODEL_MAX] = 0;
	CHECK(aicfg_model_ok(longname));
	longname[AICFG_MODEL_MAX] = 'a';
	longname[AICFG_MODEL_MAX + 1] = 0;
	CHECK(!aicfg_model_ok(longname));
}

static void svc(struct svc_body *b, const char *ep, uint16_t port, const char *const *models, size_t n)
{
	memset(b, 0, sizeof *b);
	snprintf(b->service, sizeof b->service, "ai");
	snprintf(b->endpoint, sizeof b->endpoint, "%s", ep);
	b->port = port;
	for (size_t i = 0; i < n; i++) {
		snprintf(b->attrs[i].k, sizeof b->attrs[i].k, "model");
		snprintf(b->attrs[i].v, sizeof b->attrs[i].v, "%s", models[i]);
	}
	b->n_attrs = (uint8_t)n;
}

static void records(void)
{
	static const char *const ok2[] = { "alpha", "beta" };
	static const char *const hostile[] = { "alpha", "x\"\n\tserver evil 1.2.3.4:80" };
	static const char *const ctl[] = { "a\x1b[31m" };
	char m[AICFG_MAX_MODELS][AICFG_MODEL_MAX + 1];
	struct svc_body b;
	size_t n;

	svc(&b, "10.42.0.2", 8481, ok2, 2);
	CHECK_INT(aicfg_svc_check(&b, "10.42.0.2", m, &n), AICFG_OK);
	CHECK_INT(n, 2);
	CHECK_STR(m[1], "beta");
	/* not the origin's certified address: another box, a name, none */
	CHECK_INT(aicfg_svc_check(&b, "10.42.0.3", m, &n), AICFG_BAD_ENDPOINT);
	CHECK_INT(aicfg_svc_check(&b, "", m, &n), AICFG_BAD_ENDPOINT);
	svc(&b, "evil.example", 8481, ok2, 2);
	CHECK_INT(aicfg_svc_check(&b, "evil.example", m, &n), AICFG_BAD_ENDPOINT);
	svc(&b, "10.42.0.2:80", 8481, ok2, 2);
	CHECK_INT(aicfg_svc_check(&b, "10.42.0.2", m, &n), AICFG_BAD_ENDPOINT);
	svc(&b, "10.42.0.2", 0, ok2, 2);
	CHECK_INT(aicfg_svc_check(&b, "10.42.0.2", m, &n), AICFG_BAD_PORT);
	svc(&b, "10.42.0.2", 8481, hostile, 2);
	CHECK_INT(aicfg_svc_check(&b, "10.42.0.2", m, &n), AICFG_BAD_MODEL);
	CHECK_INT(n, 0);
	svc(&b, "10.42.0.2", 8481, ctl, 1);
	CHECK_INT(aicfg_svc_check(&b, "10.42.0.2", m, &n), AICFG_BAD_MODEL);
	svc(&b, "10.42.0.2", 8481, ok2, 2);
	snprintf(b.service, sizeof b.service, "mail");
	CHECK_INT(aicfg_svc_check(&b, "10.42.0.2", m, &n), AICFG_BAD_SERVICE);
}

static void parse(void)
{
	static const char good[] = "{\"object\":\"list\",\"data\":[{\"id\":\"alpha\",\"object\":\"model\"},"
				   "{\"id\":\"bad name\"},{\"id\":\"alpha\"},{\"id\":7},{\"id\":\"beta\"}]}";
	char m[AICFG_MAX_MODELS][AICFG_MODEL_MAX + 1];
	size_t n;
	unsigned bad;

	CHECK_INT(aicfg_parse_models(good, strlen(good), m, AICFG_MAX_MODELS, &n, &bad), 0);
	CHECK_INT(n, 2);
	CHECK_INT(bad, 2);
	CHECK_STR(m[0], "alpha");
	CHECK_STR(m[1], "beta");
	CHECK(aicfg_parse_models("[]", 2, m, AICFG_MAX_MODELS, &n, &bad) < 0);
	CHECK(aicfg_parse_models("{\"data\":[", 9, m, AICFG_MAX_MODELS, &n, &bad) < 0);
	CHECK(aicfg_parse_models("{\"data\":{}}", 11, m, AICFG_MAX_MODELS, &n, &bad) < 0);
	/* a length that stops short of the text: only those bytes */
	CHECK(aicfg_parse_models(good, 10, m, AICFG_MAX_MODELS, &n, &bad) < 0);
}

static void render(void)
{
	char mine[2][AICFG_MODEL_MAX + 1] = { "alpha", "shared" };
	char p2[3][AICFG_MODEL_MAX + 1] = { "beta", "shared", "x\"\nserver evil 1.2.3.4:80 #" };
	char p3[1][AICFG_MODEL_MAX + 1] = { "shared" };
	struct aicfg_box boxes[4] = {
		{ "127.0.0.1", 8080, "", mine, 2 },
		{ "10.42.0.2", 8481, "", p2, 3 },
		{ "10.42.0.3", 8481, "", p3, 1 },
		{ "not-an-ip", 8481, "", p3, 1 },
	};
	char dir[] = "/tmp/mn-ai-test-XXXXXX", msg[200], path[300];
	struct aicfg c;
	struct aicfg_out o;

	CHECK(mkdtemp(dir) != NULL);
	memset(&c, 0, sizeof c);
	snprintf(c.gen_dir, sizeof c.gen_dir, "%s", dir);
	snprintf(c.listen, sizeof c.listen, "127.0.0.1:18480");
	snprintf(c.mesh_bind, sizeof c.mesh_bind, "127.0.0.1:18481");
	snprintf(c.local, sizeof c.local, "127.0.0.1:8080");
	c.boxes = boxes;
	c.nboxes = 4;
	CHECK_INT(aicfg_render(&c, &o, msg, sizeof msg), 0);
	CHECK_INT(o.nmodels, 3);
	const char *cfg = o.text[AICFG_CFG];
	/* names only in the map and the list, never in the config */
	CHECK(!strstr(cfg, "alpha") && !strstr(cfg, "evil") && !strstr(cfg, "not-an-ip"));
	CHECK(!strstr(o.text[AICFG_MAP], "evil") && !strstr(o.text[AICFG_MODELS], "evil"));
	CHECK_STR(o.text[AICFG_MAP], "alpha m0\nshared m1\nbeta m2\n");
	/* shared: ours first, then the peers as backups in order */
	CHECK(strstr(cfg, "backend m1\n\toption httpchk GET /v1/models\n\thttp-check expect status 200\n") != NULL);
	CHECK(strstr(cfg, "\tserver s0 127.0.0.1:8080 check inter 2000 fall 2 rise 1\n"
			  "\tserver s1 10.42.0.2:8481 check inter 2000 fall 2 rise 1 backup\n"
			  "\tserver s2 10.42.0.3:8481 check inter 2000 fall 2 rise 1 backup\n") != NULL);
	CHECK(strstr(cfg, "req.body,json_query('$.model')") != NULL);
	CHECK(strstr(o.text[AICFG_MODELS], "{\"id\":\"beta\",\"object\":\"model\"") != NULL);
	CHECK(strstr(o.text[AICFG_404], "\"code\":\"model_not_found\"") != NULL);
	CHECK(strstr(o.text[AICFG_404], "\"type\":\"invalid_request_error\"") != NULL);
	CHECK(!strncmp(o.text[AICFG_503], "HTTP/1.1 503 ", 13));

	/* what haproxy itself says of it */
	for (int i = 0; i < AICFG_NFILES; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, aicfg_file_names[i]);
		FILE *f = fopen(path, "w");
		CHECK(f && fwrite(o.text[i], 1, o.len[i], f) == o.len[i]);
		if (f)
			fclose(f);
	}
	if (access("/usr/sbin/haproxy", X_OK) == 0) {
		char cmd[400];
		snprintf(cmd, sizeof cmd, "/usr/sbin/haproxy -q -c -f %s/haproxy.cfg", dir);
		CHECK_INT(system(cmd), 0);
	} else {
		printf("# haproxy -c skipped: no /usr/sbin/haproxy\n");
	}
	aicfg_out_free(&o);

	/* bad addresses refuse the whole config; no models: a valid one */
	snprintf(c.listen, sizeof c.listen, "127.0.0.1:80\n\tbind 0.0.0.0:1");
	CHECK(aicfg_render(&c, &o, msg, sizeof msg) < 0);
	snprintf(c.listen, sizeof c.listen, "127.0.0.1:8480");
	snprintf(c.gen_dir, sizeof c.gen_dir, "/tmp/a b");
	CHECK(aicfg_render(&c, &o, msg, sizeof msg) < 0);
	snprintf(c.gen_dir, sizeof c.gen_dir, "%s", dir);
	c.nboxes = 0;
	CHECK_INT(aicfg_render(&c, &o, msg, sizeof msg), 0);
	CHECK_INT(o.nmodels, 0);
	CHECK_STR(o.text[AICFG_MODELS], "{\"object\":\"list\",\"data\":[]}\n");
	aicfg_out_free(&o);
	for (int i = 0; i < AICFG_NFILES; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, aicfg_file_names[i]);
		unlink(path);
	}
	rmdir(dir);
}

static uint8_t k[8][32];

static void cert(struct mn_host *h, int subject, const char *addr)
{
	CHECK(fake_host_cert(h, k[0], k[subject], "", addr) >= 0);
}

static void peer_svc(struct mn_host *h, int who, const char *ep, const char *const *models, size_t n,
		     uint64_t version)
{
	union body b;

	svc(&b.svc, ep, 8481, models, n);
	CHECK(fake_host_add(h, KIND_SVC, k[who], "ai", version, n ? &b : NULL) >= 0);
}

static int64_t jint(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, a, &v) || (b && !json_object_object_get_ex(v, b, &v)))
		return -1;
	return json_object_get_int64(v);
}

static void subsystem(void)
{
	static const char *const two[] = { "beta", "shared" };
	static const char *const evil[] = { "ok", "x y" };
	char dir[] = "/tmp/mn-ai-sub-XXXXXX", path[300], err[200];
	struct mn_host *h = calloc(1, sizeof *h);
	struct json_object *st, *res, *req;

	CHECK(h && mkdtemp(dir) != NULL);
	for (int i = 0; i < 8; i++)
		memset(k[i], 0x40 + i, 32);
	fake_host_init(h, &subsys_ai);
	memcpy(h->self, k[1], 32);
	memcpy(h->cfg.root, k[0], 32);
	h->cfg.have_root = true;
	CHECK_INT(fake_host_set(h, "ai_listen", "127.0.0.1:18480"), 0);
	CHECK_INT(fake_host_set(h, "ai_dir", dir), 0);
	CHECK(fake_host_set(h, "ai_local", "ftp://127.0.0.1:21") < 0);
	CHECK(fake_host_set(h, "ai_listen", "localhost:80") < 0);
	CHECK(fake_host_start(h) != NULL);
	cert(h, 1, "10.42.0.1");
	cert(h, 2, "10.42.0.2");
	cert(h, 3, "10.42.0.3");
	cert(h, 4, "10.42.0.4");
	peer_svc(h, 2, "10.42.0.2", two, 2, 10);        /* good */
	peer_svc(h, 3, "10.42.0.2", two, 2, 10);        /* another box's address */
	peer_svc(h, 4, "10.42.0.4", evil, 2, 10);       /* a name with a space */
	peer_svc(h, 5, "10.42.0.5", two, 2, 10);        /* no certificate: no mesh address */
	fake_host_regen(h);
	CHECK(strstr(h->last_cmd, "-c -f") != NULL);    /* haproxy -c, then (ok) the switch */
	snprintf(path, sizeof path, "%s/live/models.map", dir);
	char *map = check_slurp(path);
	CHECK_STR(map ? map : "", "beta m0\nshared m1\n");
	free(map);
	st = subsys_ai.status(h->st);
	CHECK_INT(jint(st, "peers", NULL), 1);
	CHECK_INT(jint(st, "models", NULL), 2);
	CHECK_INT(jint(st, "ignored", "bad_endpoint"), 2);
	CHECK_INT(jint(st, "ignored", "bad_model"), 1);
	CHECK_INT(jint(st, "ignored", "total"), 3);
	json_object_put(st);

	req = json_object_new_object();
	json_object_object_add(req, "model", json_object_new_string("beta"));
	CHECK_INT(fake_host_call(h, "ai_list", req, &res, err, sizeof err), 0);
	CHECK_INT(json_object_array_length(res), 1);
	CHECK_STR(json_object_get_string(json_object_object_get(json_object_array_get_idx(res, 0), "endpoint")),
		  "10.42.0.2");
	json_object_put(res);
	json_object_object_add(req, "model", json_object_new_string("a\"b"));
	CHECK_INT(fake_host_call(h, "ai_list", req, &res, err, sizeof err), -EINVAL);
	json_object_put(req);

	/* the good one deleted: nothing routed, the map empty */
	peer_svc(h, 2, "", NULL, 0, 11);
	fake_host_regen(h);
	map = check_slurp(path);
	CHECK_STR(map ? map : "", "");
	free(map);
	st = subsys_ai.status(h->st);
	CHECK_INT(jint(st, "models", NULL), 0);
	json_object_put(st);
	fake_host_done(h);
	free(h);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK_INT(system(cmd), 0);
}

int main(void)
{
	names();
	records();
	parse();
	render();
	subsystem();
	return check_exit();
}
