/* The exposure subsystem (src/daemon/expose.c) and its HAProxy
 * configuration (src/expose/hacfg.c) against a fake host: no daemon. The
 * cascade root → sub-master → leaf plus a mirror, seen from each node: who
 * serves a name locally, who passes it one step down, who is allowed to
 * hand connections in; hostile records (a name outside its origin's scope,
 * a revoked origin) route nowhere; own exposures from config lines and the
 * API, kept across a restart; a config HAProxy refuses never goes live.
 * When HAProxy is installed, every generated configuration must pass
 * `haproxy -c`.
 *
 * The Tor and mDNS channels (expose_tor.c, expose_mdns.c and their
 * renderers torcfg.c, mdnscfg.c): the torrc and the service files, what
 * they refuse (names with quotes or newlines never reach a file, XML and
 * JSON escaping), the torrc's life (checked, switched, started; a refused
 * one stays out), the .onion name published from tor's hostname file only
 * when it is a valid v3 name, and gone with the channel. When tor is
 * installed, every generated torrc must pass `tor --verify-config`. */
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include "tests/check.h"
#include "tests/unit/fake_host.h"
#include "src/expose/hacfg.h"
#include "src/expose/mdnscfg.h"
#include "src/expose/torcfg.h"
#include "proto/body.h"
#include "proto/hex.h"
#include "proto/record.h"
#include "crypto/did.h"

extern const struct subsys subsys_expose;

static char dir[] = "/tmp/mn-expose-XXXXXX";
static const char *haproxy = "/usr/sbin/haproxy";
static const char *tor = "/usr/sbin/tor";

enum { R, S, L, O, M, NK };
static uint8_t k[NK][32];

static const char *slurp(const char *p)
{
	static char buf[16384];
	char *t = check_slurp(p);
	bool ok = t != NULL;

	snprintf(buf, sizeof buf, "%s", ok ? t : "");
	free(t);
	return ok ? buf : NULL;
}

static bool have_haproxy(void)
{
	return access(haproxy, X_OK) == 0;
}

static bool have_tor(void)
{
	return access(tor, X_OK) == 0;
}

/* PROG ARGS FILE with its output thrown away: 0 when it exits 0. */
static int quiet(const char *prog, const char *args, const char *file)
{
	char cmd[700];

	snprintf(cmd, sizeof cmd, "%s %s %s >/dev/null 2>&1", prog, args, file);
	return system(cmd);
}

/* `haproxy -c` on a generated config: 0 valid. */
static int ha_check(const char *cfg)
{
	return quiet(haproxy, "-c -q -f", cfg);
}

/* `tor --verify-config` on a generated torrc: 0 valid. */
static int tor_check(const char *torrc)
{
	return quiet(tor, "--defaults-torrc /dev/null --verify-config -f", torrc);
}

static void cert(struct mn_host *h, int issuer, int subject, const char *scope, const char *addr)
{
	CHECK(fake_host_cert(h, k[issuer], k[subject], scope, addr) >= 0);
}

static void expose_rec(struct mn_host *h, int who, const char *svc, const char *domain, uint8_t proto,
		       int mirror)
{
	union body b;

	memset(&b, 0, sizeof b);
	snprintf(b.expose.service, sizeof b.expose.service, "%s", svc);
	snprintf(b.expose.domain, sizeof b.expose.domain, "%s", domain);
	b.expose.port = 3000;
	b.expose.proto = proto;
	b.expose.channels = CH_MESH | CH_DNS;
	if (mirror >= 0) {
		memcpy(b.expose.mirrors[0].node, k[mirror], 32);
		b.expose.n_mirrors = 1;
	}
	CHECK(fake_host_add(h, KIND_EXPOSE, k[who], svc, 2000, &b) >= 0);
}

/* A host for node `self` of the mesh root R → S (s.example.io) → L
 * (l.s.example.io), R → O, R → M, with HAProxy on under dir/sub. */
static struct mn_host *mesh(int self, const char *sub)
{
	struct mn_host *h = calloc(1, sizeof *h);
	char d[200];
	union body nb;

	fake_host_init(h, &subsys_expose);
	memcpy(h->self, k[self], 32);
	memcpy(h->cfg.root, k[R], 32);
	h->cfg.have_root = true;
	snprintf(d, sizeof d, "%s/%s", dir, sub);
	CHECK_INT(fake_host_set(h, "expose_dir", d), 0);
	CHECK_INT(fake_host_set(h, "expose_proxy", "haproxy"), 0);
	CHECK_INT(fake_host_set(h, "expose_public", "127.0.0.1"), 0);
	CHECK_INT(fake_host_set(h, "expose_http_port", "18080"), 0);
	CHECK_INT(fake_host_set(h, "expose_https_port", "18443"), 0);
	cert(h, R, S, "s.example.io", "10.0.0.2");
	cert(h, S, L, "l.s.example.io", "10.0.0.3");
	cert(h, R, O, "o.example.io", "10.0.0.4");
	cert(h, R, M, "m.example.io", "10.0.0.5");
	memset(&nb, 0, sizeof nb);
	snprintf(nb.node.name, sizeof nb.node.name, "root");
	snprintf(nb.node.mesh_addr, sizeof nb.node.mesh_addr, "10.0.0.1/16");
	CHECK(fake_host_add(h, KIND_NODE, k[R], "self", 1, &nb) >= 0);
	return h;
}

static const char *gen_file(const char *sub, const char *name)
{
	char p[300];

	snprintf(p, sizeof p, "%s/%s/live/%s", dir, sub, name);
	return slurp(p);
}

static void done(struct mn_host *h)
{
	fake_host_done(h);
	free(h);
}

static void count_report(void *arg, const char *msg)
{
	(void)msg;
	(*(unsigned *)arg)++;
}

/* The renderer alone: every kind of route, and what it refuses. */
static void test_render(void)
{
	struct hacfg_route r[] = {
		{ .name = "git.l.example.io", .service = "git", .proto = EXPOSE_HTTP, .hop = -1,
		  .backend = "127.0.0.1:3000", .health = "/api/healthz" },
		{ .name = "vault.l.example.io", .service = "vault", .proto = EXPOSE_TLS, .hop = -1,
		  .backend = "[::1]:8200", .send_proxy = true },
		{ .name = "ssh.l.example.io", .service = "ssh", .proto = EXPOSE_TCP, .port = 2222, .hop = -1,
		  .backend = "127.0.0.1:22" },
		{ .name = "www.c.example.io", .service = "www", .proto = EXPOSE_HTTP, .hop = 0 },
		{ .name = "db.c.example.io", .service = "db", .proto = EXPOSE_TCP, .port = 5432, .hop = 0 },
		/* refused: each reported, none written */
		{ .name = "git.l.example.io", .service = "git2", .proto = EXPOSE_HTTP, .hop = 0 },
		{ .name = "bad name.example.io", .service = "x", .proto = EXPOSE_HTTP, .hop = 0 },
		{ .name = "Upper.example.io", .service = "x", .proto = EXPOSE_HTTP, .hop = 0 },
		{ .name = "p.example.io", .service = "p", .proto = EXPOSE_TCP, .port = 2222, .hop = 0 },
		{ .name = "q.example.io", .service = "q", .proto = EXPOSE_TCP, .port = 8443, .hop = 0 },
		{ .name = "h.example.io", .service = "h", .proto = EXPOSE_HTTP, .hop = -1,
		  .backend = "127.0.0.1:80", .health = "/a\"b" },
		{ .name = "n.example.io", .service = "n", .proto = EXPOSE_HTTP, .hop = -1,
		  .backend = "example.com:80" },
		{ .name = "z.example.io", .service = "z", .proto = EXPOSE_HTTP, .hop = 7 },
	};
	const char hops[][MN_MAX_ADDR + 1] = { "fd42::7" };
	const char src[][MN_MAX_ADDR + 1] = { "10.0.0.1", "fd42::9" };
	struct hacfg c = { .http_port = 18080, .https_port = 18443, .hop_http_port = 8480,
			   .hop_tls_port = 8443, .maxconn = 100, .routes = r,
			   .nroutes = sizeof r / sizeof r[0], .hops = hops, .nhops = 1, .hop_src = src,
			   .nsrc = 2 };
	struct hacfg_out out;
	char msg[200], p[300];
	unsigned reports = 0;

	snprintf(c.run_dir, sizeof c.run_dir, "%s/render", dir);
	snprintf(c.gen_dir, sizeof c.gen_dir, "%s/render", dir);
	snprintf(c.public_addr, sizeof c.public_addr, "127.0.0.1");
	snprintf(c.mesh_addr, sizeof c.mesh_addr, "127.0.0.2");
	snprintf(c.acme, sizeof c.acme, "127.0.0.1:8402");
	CHECK_INT(hacfg_render(&c, &out, count_report, &reports, msg, sizeof msg), 0);
	CHECK_INT(out.routes, 5);
	CHECK_INT(out.skipped, 8);
	CHECK_INT(reports, 8);
	/* no certificate directory: HTTPS for an http service cannot be ended here */
	CHECK_STR(out.text[HACFG_SNI], "vault.l.example.io L_vault_t\nwww.c.example.io H0_t\n");
	hacfg_out_free(&out);
	/* TLS ended here once there is a certificate directory */
	snprintf(c.cert_dir, sizeof c.cert_dir, "%s/certs", dir);
	CHECK_INT(hacfg_render(&c, &out, NULL, NULL, msg, sizeof msg), 0);
	CHECK_STR(out.text[HACFG_SNI], "git.l.example.io term\nvault.l.example.io L_vault_t\n"
		  "www.c.example.io H0_t\n");
	CHECK_STR(out.text[HACFG_HOST], "git.l.example.io L_git_h\nwww.c.example.io H0_h\n");
	CHECK_STR(out.text[HACFG_OWN], "git.l.example.io L_git_h\n");
	CHECK_STR(out.text[HACFG_ACME], "git.l.example.io\nvault.l.example.io\nssh.l.example.io\n");
	CHECK_STR(out.text[HACFG_SRC], "10.0.0.1\nfd42::9\n");
	const char *cfg = out.text[HACFG_CFG];
	CHECK(strstr(cfg, "bind 127.0.0.1:18443\n") && strstr(cfg, "bind 127.0.0.1:18080\n"));
	CHECK(strstr(cfg, "bind 127.0.0.2:8443 accept-proxy\n"));
	CHECK(strstr(cfg, "server s fd42::7:8443 send-proxy-v2\n"));        /* TLS down a hop */
	CHECK(strstr(cfg, "server s fd42::7:8480 send-proxy-v2\n"));        /* HTTP down a hop */
	CHECK(strstr(cfg, "server s fd42::7:5432 send-proxy-v2\n"));        /* a TCP port down */
	CHECK(strstr(cfg, "server s ::1:8200 send-proxy-v2\n"));            /* local, PROXY asked */
	CHECK(strstr(cfg, "option httpchk GET /api/healthz\n"));
	CHECK(strstr(cfg, "frontend tcp_2222\n") && strstr(cfg, "frontend tcp_5432\n"));
	CHECK(!strstr(cfg, "frontend tcp_8443"));
	CHECK(strstr(cfg, "server acme 127.0.0.1:8402\n"));
	CHECK(strstr(cfg, "ssl crt ") != NULL);
	CHECK(!strstr(cfg, "bad name") && !strstr(cfg, "example.com") && !strstr(cfg, "a\"b"));
	if (have_haproxy()) {
		/* a real check needs a certificate in the directory */
		char cmd[2400];
		snprintf(p, sizeof p, "%s/render", dir);
		mkdir(p, 0700);
		mkdir(c.cert_dir, 0700);
		snprintf(cmd, sizeof cmd, "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
			 "-nodes -subj /CN=git.l.example.io -days 1 -keyout %s/k.pem -out %s/c.pem "
			 ">/dev/null 2>&1 && cat %s/c.pem %s/k.pem > %s/git.pem && rm %s/c.pem %s/k.pem",
			 c.cert_dir, c.cert_dir, c.cert_dir, c.cert_dir, c.cert_dir, c.cert_dir, c.cert_dir);
		if (system(cmd) == 0) {
			for (int i = 0; i < HACFG_NFILES; i++) {
				snprintf(p, sizeof p, "%s/render/%s", dir, hacfg_file_names[i]);
				FILE *f = fopen(p, "w");
				CHECK(f != NULL);
				if (f) {
					fwrite(out.text[i], 1, out.len[i], f);
					fclose(f);
				}
			}
			snprintf(p, sizeof p, "%s/render/haproxy.cfg", dir);
			CHECK_INT(ha_check(p), 0);
		} else {
			fprintf(stderr, "test_expose: no openssl, the TLS-ending config is not run through haproxy -c\n");
		}
	}
	hacfg_out_free(&out);
	/* a bad run directory, address or port: nothing out, a clear message */
	snprintf(c.run_dir, sizeof c.run_dir, "relative/dir");
	CHECK_INT(hacfg_render(&c, &out, NULL, NULL, msg, sizeof msg), -EINVAL);
	CHECK(strstr(msg, "run directory") != NULL);
	snprintf(c.run_dir, sizeof c.run_dir, "%s/render", dir);
	c.hop_tls_port = c.hop_http_port;
	CHECK_INT(hacfg_render(&c, &out, NULL, NULL, msg, sizeof msg), -EINVAL);
}

/* The cascade as each node sees it. */
static void test_cascade(void)
{
	struct mn_host *h;
	const char *t;

	/* the root: the leaf's name goes to its child S; O's name for a
	 * domain it does not hold (a hostile member) goes nowhere */
	h = mesh(R, "root");
	CHECK(fake_host_start(h) != NULL);
	expose_rec(h, L, "git", "git.l.s.example.io", EXPOSE_HTTP, M);
	expose_rec(h, O, "mail", "mail.gmail.com", EXPOSE_HTTP, -1);
	expose_rec(h, O, "web", "o.example.io", EXPOSE_TLS, -1);
	fake_host_regen(h);
	CHECK_INT(h->runs, 1);   /* haproxy -c */
	CHECK(strstr(h->last_cmd, " -c -f ") != NULL);
	fake_host_regen(h);      /* (the host's command slot is free again) */
	CHECK_INT(h->runs, 2);   /* then the start */
	CHECK(strstr(h->last_cmd, " -W -D -f ") != NULL);
	CHECK_STR(gen_file("root", "sni.map"), "git.l.s.example.io H0_t\no.example.io H1_t\n");
	CHECK_STR(gen_file("root", "host.map"), "git.l.s.example.io H0_h\no.example.io H1_h\n");
	t = gen_file("root", "haproxy.cfg");
	CHECK(t && strstr(t, "server s 10.0.0.2:8443 send-proxy-v2") && strstr(t, "server s 10.0.0.4:8443"));
	CHECK_STR(gen_file("root", "hop_src.lst"), "");   /* the root has no parent */
	struct json_object *st = h->s->status(h->st);
	CHECK_INT(json_object_get_int(json_object_object_get(st, "refused")), 1);
	CHECK(strstr(json_object_get_string(json_object_object_get(st, "last_refusal")), "gmail") != NULL);
	CHECK_INT(json_object_get_int(json_object_object_get(st, "routes")), 2);
	json_object_put(st);
	/* nothing changed: no check; (the fake's proxy never runs: started again) */
	unsigned runs = h->runs;
	fake_host_regen(h);
	CHECK_INT(h->runs, runs + 1);
	CHECK(strstr(h->last_cmd, " -W -D ") != NULL);
	/* the leaf revoked: its name routes nowhere */
	fake_host_revoke(h, k[L]);
	fake_host_regen(h);
	CHECK_STR(gen_file("root", "sni.map"), "o.example.io H0_t\n");
	done(h);

	/* the sub-master: one step down to the leaf; the root may hand in */
	h = mesh(S, "sub");
	CHECK(fake_host_start(h) != NULL);
	expose_rec(h, L, "git", "git.l.s.example.io", EXPOSE_HTTP, M);
	expose_rec(h, O, "web", "o.example.io", EXPOSE_TLS, -1);   /* not below S */
	fake_host_regen(h);
	CHECK_STR(gen_file("sub", "sni.map"), "git.l.s.example.io H0_t\n");
	t = gen_file("sub", "haproxy.cfg");
	CHECK(t && strstr(t, "server s 10.0.0.3:8443 send-proxy-v2"));
	CHECK(t && strstr(t, "bind 10.0.0.2:8443 accept-proxy"));
	CHECK_STR(gen_file("sub", "hop_src.lst"), "10.0.0.1\n");
	done(h);

	/* the mirror: straight to the leaf, one hop */
	h = mesh(M, "mirror");
	CHECK(fake_host_start(h) != NULL);
	expose_rec(h, L, "git", "git.l.s.example.io", EXPOSE_HTTP, M);
	fake_host_regen(h);
	CHECK_STR(gen_file("mirror", "sni.map"), "git.l.s.example.io H0_t\n");
	t = gen_file("mirror", "haproxy.cfg");
	CHECK(t && strstr(t, "server s 10.0.0.3:8443 send-proxy-v2"));
	if (have_haproxy()) {
		char p[300];
		snprintf(p, sizeof p, "%s/mirror/live/haproxy.cfg", dir);
		CHECK_INT(ha_check(p), 0);
	}
	done(h);
}

static struct json_object *add_req(const char *svc, int port)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "service", json_object_new_string(svc));
	json_object_object_add(r, "port", json_object_new_int(port));
	return r;
}

static int call(struct mn_host *h, const char *m, struct json_object *req, char *err, size_t cap)
{
	struct json_object *res = NULL;
	int rc = fake_host_call(h, m, req, &res, err, cap);

	json_object_put(req);
	json_object_put(res);
	return rc;
}

/* The leaf's own exposures: the API, config lines, refusals, a restart. */
struct entry_seen {
	const uint8_t *origin;
	bool found, tomb;
	union body b;
};

static int entry_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct entry_seen *e = ctx;

	(void)id;
	if (r->kind != KIND_SVC || memcmp(r->origin, e->origin, 32) || strcmp(r->key, SVC_CDN))
		return 0;
	e->found = true;
	e->tomb = record_is_tombstone(r);
	if (!e->tomb)
		CHECK_INT(body_decode(KIND_SVC, r->body, r->body_len, &e->b), 0);
	return 0;
}

static struct entry_seen entry_of(struct mn_host *h, int who)
{
	struct entry_seen e = { .origin = k[who] };

	host_each(h, KIND_BIT(KIND_SVC), e.origin, entry_cb, &e);
	return e;
}

/* Our entry point for multipoint DNS: a svc "cdn" record with the public
 * address (or expose_advertise), never a wildcard, deleted when the proxy
 * goes off. */
static void test_entry(void)
{
	struct mn_host *h = mesh(S, "entry");
	struct entry_seen e;

	CHECK(fake_host_start(h) != NULL);
	fake_host_regen(h);
	e = entry_of(h, S);
	CHECK(e.found && !e.tomb);
	CHECK_STR(e.b.svc.endpoint, "127.0.0.1");
	CHECK_INT(e.b.svc.port, 18443);
	CHECK(e.b.svc.n_attrs == 1 && !strcmp(e.b.svc.attrs[0].k, "http") &&
	      !strcmp(e.b.svc.attrs[0].v, "18080"));
	/* a router behind port forwarding: its WAN address */
	CHECK_INT(fake_host_set(h, "expose_advertise", "0.0.0.0"), -EINVAL);
	CHECK_INT(fake_host_set(h, "expose_advertise", "::"), -EINVAL);
	CHECK_INT(fake_host_set(h, "expose_advertise", "192.0.2.7"), 0);
	fake_host_regen(h);
	CHECK_STR(entry_of(h, S).b.svc.endpoint, "192.0.2.7");
	/* the proxy off: deleted */
	CHECK_INT(fake_host_set(h, "expose_proxy", "none"), 0);
	fake_host_regen(h);
	CHECK(entry_of(h, S).tomb);
	done(h);
	/* listening everywhere without advertising: no address to give */
	h = mesh(S, "entry2");
	CHECK_INT(fake_host_set(h, "expose_public", "0.0.0.0"), 0);
	CHECK(fake_host_start(h) != NULL);
	fake_host_regen(h);
	CHECK(!entry_of(h, S).found);
	done(h);
}

static void test_own(void)
{
	struct mn_host *h = mesh(L, "leaf");
	struct json_object *req;
	char err[300], hex[65];
	const char *t;
	int rc;

	CHECK_INT(fake_host_set(h, "expose", "ssh 2222 proto=tcp backend=127.0.0.1:22"), 0);
	CHECK(fake_host_start(h) != NULL);
	/* a config line: published with the default name under our scope */
	fake_host_regen(h);
	/* the API: a name in our scope, a mirror by key */
	req = add_req("git", 3000);
	hex_encode(k[M], 32, hex);
	struct json_object *ms = json_object_new_array();
	json_object_array_add(ms, json_object_new_string(hex));
	json_object_object_add(req, "mirrors", ms);
	json_object_object_add(req, "health", json_object_new_string("/healthz"));
	CHECK_INT(rc = call(h, "expose_add", req, err, sizeof err), 0);
	if (rc)
		fprintf(stderr, "expose_add: %s\n", err);
	fake_host_regen(h);
	CHECK_STR(gen_file("leaf", "own.map"), "git.l.s.example.io L_git_h\n");
	CHECK_STR(gen_file("leaf", "host.map"), "git.l.s.example.io L_git_h\n");
	CHECK_STR(gen_file("leaf", "acme.lst"), "git.l.s.example.io\nssh.l.s.example.io\n");
	/* the parent and the mirror may hand in */
	CHECK_STR(gen_file("leaf", "hop_src.lst"), "10.0.0.5\n10.0.0.2\n");
	t = gen_file("leaf", "haproxy.cfg");
	CHECK(t && strstr(t, "server s 127.0.0.1:3000 check inter 5s") && strstr(t, "frontend tcp_2222"));
	if (have_haproxy()) {
		char p[300];
		snprintf(p, sizeof p, "%s/leaf/live/haproxy.cfg", dir);
		CHECK_INT(ha_check(p), 0);
	}

	/* refusals, each with a clear message, nothing published */
	req = add_req("evil", 80);
	json_object_object_add(req, "domain", json_object_new_string("www.gmail.com"));
	CHECK_INT(call(h, "expose_add", req, err, sizeof err), -EPERM);
	CHECK(strstr(err, "outside this node's DNS scope") != NULL);
	req = add_req("evil", 80);
	json_object_object_add(req, "backend", json_object_new_string("10.9.9.9:80 send-proxy"));
	CHECK_INT(call(h, "expose_add", req, err, sizeof err), -EINVAL);
	req = add_req("evil", 80);
	json_object_object_add(req, "health", json_object_new_string("/x\ny"));
	CHECK_INT(call(h, "expose_add", req, err, sizeof err), -EINVAL);
	req = add_req("Evil name", 80);
	CHECK_INT(call(h, "expose_add", req, err, sizeof err), -EINVAL);
	req = add_req("evil", 80);
	ms = json_object_new_array();
	for (int i = 0; i < 9; i++)
		json_object_array_add(ms, json_object_new_string("node2"));
	json_object_object_add(req, "mirrors", ms);
	CHECK_INT(call(h, "expose_add", req, err, sizeof err), -EINVAL);
	req = add_req("evil", 80);
	ms = json_object_new_array();
	json_object_array_add(ms, json_object_new_string("nobody"));
	json_object_object_add(req, "mirrors", ms);
	CHECK_INT(call(h, "expose_add", req, err, sizeof err), -EINVAL);
	CHECK(strstr(err, "not a member") != NULL);
	req = json_object_new_object();
	json_object_object_add(req, "service", json_object_new_string("ssh"));
	CHECK_INT(call(h, "expose_remove", req, err, sizeof err), -EALREADY);   /* a config line */
	req = add_req("ssh", 22);
	CHECK_INT(call(h, "expose_add", req, err, sizeof err), -EALREADY);

	/* a config HAProxy refuses: the running one stays, status says why */
	struct json_object *st;
	h->run_fails = true;
	req = add_req("wiki", 8080);
	CHECK_INT(call(h, "expose_add", req, err, sizeof err), 0);
	fake_host_regen(h);
	h->run_fails = false;
	CHECK_STR(gen_file("leaf", "own.map"), "git.l.s.example.io L_git_h\n");
	st = h->s->status(h->st);
	CHECK(strstr(json_object_get_string(json_object_object_get(st, "last_error")), "refused") != NULL);
	CHECK_INT(json_object_get_int(json_object_object_get(st, "check_failures")), 1);
	json_object_put(st);
	fake_host_regen(h);
	CHECK_STR(gen_file("leaf", "own.map"), "git.l.s.example.io L_git_h\nwiki.l.s.example.io L_wiki_h\n");

	/* a restart: the added ones come back from the state table */
	h->s->stop(h->st);
	uv_run(&h->loop, UV_RUN_NOWAIT);
	h->s->free(h->st);
	CHECK(fake_host_start(h) != NULL);
	req = json_object_new_object();
	struct json_object *res = NULL;
	CHECK_INT(fake_host_call(h, "expose_list", req, &res, err, sizeof err), 0);
	json_object_put(req);
	CHECK_INT((int)json_object_array_length(json_object_object_get(res, "own")), 3);
	json_object_put(res);

	/* remove one channel, then the whole exposure: its record goes */
	req = json_object_new_object();
	json_object_object_add(req, "service", json_object_new_string("git"));
	json_object_object_add(req, "channel", json_object_new_string("dns"));
	CHECK_INT(call(h, "expose_remove", req, err, sizeof err), 0);
	fake_host_regen(h);
	CHECK_STR(gen_file("leaf", "own.map"), "wiki.l.s.example.io L_wiki_h\n");
	req = json_object_new_object();
	json_object_object_add(req, "service", json_object_new_string("wiki"));
	CHECK_INT(call(h, "expose_remove", req, err, sizeof err), 0);
	fake_host_regen(h);
	CHECK_STR(gen_file("leaf", "own.map"), "");
	bool tomb = false;
	for (int i = 0; i < FAKE_MAX_RECORDS; i++) {
		struct record r;
		if (h->rec[i].used && record_decode_envelope(h->rec[i].wire, h->rec[i].len, &r) == 0 &&
		    r.kind == KIND_EXPOSE && !strcmp(r.key, "wiki"))
			tomb = record_is_tombstone(&r);
	}
	CHECK(tomb);
	done(h);
}

/* A member of a mesh where nobody exposes anything (most daemons): the
 * generation still works and gives a config HAProxy accepts. */
static void test_empty(void)
{
	struct mn_host *h = mesh(O, "empty");

	CHECK(fake_host_start(h) != NULL);
	fake_host_regen(h);
	const char *t = gen_file("empty", "haproxy.cfg");
	CHECK(t != NULL);
	CHECK_STR(gen_file("empty", "own.map"), "");
	if (t && have_haproxy()) {
		char p[300];
		snprintf(p, sizeof p, "%s/empty/live/haproxy.cfg", dir);
		CHECK_INT(ha_check(p), 0);
	}
	done(h);
}

/* ---- the Tor channel ---- */

static void put_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* The torrc renderer alone: every kind of service, and what it refuses. */
static void test_torcfg(void)
{
	struct torcfg_service sv[] = {
		{ "git", 80, "127.0.0.1:3000" },
		{ "vault", 443, "[::1]:8200" },
		{ "ssh", 2222, "192.168.1.5:22" },
		/* refused: each reported, none written */
		{ "git", 80, "127.0.0.1:3001" },                    /* named twice */
		{ "a\"b", 80, "127.0.0.1:80" },                     /* a quote */
		{ "x\ny", 80, "127.0.0.1:80" },                     /* a newline */
		{ "Upper", 80, "127.0.0.1:80" },
		{ "web", 80, "127.0.0.1:80\nHiddenServiceDir /tmp" }, /* a line smuggled in the backend */
		{ "web2", 80, "localhost:80" },                     /* not numeric */
		{ "web3", 0, "127.0.0.1:80" },
	};
	struct torcfg c = { .network = false, .services = sv, .n = sizeof sv / sizeof sv[0] };
	char *text, msg[200], p[300];
	size_t len;
	unsigned skipped, reports = 0;

	CHECK_INT(torcfg_port(EXPOSE_HTTP, 3000), 80);
	CHECK_INT(torcfg_port(EXPOSE_TLS, 8200), 443);
	CHECK_INT(torcfg_port(EXPOSE_TCP, 2222), 2222);
	snprintf(c.run_dir, sizeof c.run_dir, "%s/torcfg", dir);
	snprintf(c.keys_dir, sizeof c.keys_dir, "%s/torkeys", dir);
	CHECK_INT(torcfg_render(&c, &text, &len, &skipped, count_report, &reports, msg, sizeof msg), 0);
	CHECK_INT(skipped, 7);
	CHECK_INT(reports, 7);
	CHECK(text && strstr(text, "DisableNetwork 1\n") && strstr(text, "SocksPort 0\n"));
	snprintf(p, sizeof p, "\nHiddenServiceDir %s/torkeys/git\nHiddenServiceVersion 3\n"
		 "HiddenServicePort 80 127.0.0.1:3000\n", dir);
	CHECK(text && strstr(text, p));
	CHECK(text && strstr(text, "HiddenServicePort 443 [::1]:8200\n"));
	CHECK(text && strstr(text, "HiddenServicePort 2222 192.168.1.5:22\n"));
	CHECK(text && !strstr(text, "3001") && !strstr(text, "\"") && !strstr(text, "x\ny") &&
	      !strstr(text, "Upper") && !strstr(text, "web") && !strstr(text, "HiddenServiceDir /tmp\n"));
	CHECK_STR(torcfg_refusal(&c, 4), "not a DNS label of at most 48 bytes");
	CHECK(torcfg_refusal(&c, 0) == NULL);
	if (have_tor() && text) {
		snprintf(p, sizeof p, "%s/torcfg.torrc", dir);
		put_text(p, text);
		CHECK_INT(tor_check(p), 0);
	}
	free(text);
	/* with the network on: no DisableNetwork line */
	c.network = true;
	c.n = 1;
	CHECK_INT(torcfg_render(&c, &text, &len, &skipped, NULL, NULL, msg, sizeof msg), 0);
	CHECK(text && !strstr(text, "DisableNetwork"));
	free(text);
	/* a directory that could break a line or climb out: nothing out */
	snprintf(c.keys_dir, sizeof c.keys_dir, "%s/a b", dir);
	CHECK_INT(torcfg_render(&c, &text, &len, &skipped, NULL, NULL, msg, sizeof msg), -EINVAL);
	CHECK(text == NULL && strstr(msg, "key directory"));
	snprintf(c.keys_dir, sizeof c.keys_dir, "%s/../etc", dir);
	CHECK_INT(torcfg_render(&c, &text, &len, &skipped, NULL, NULL, msg, sizeof msg), -EINVAL);
	CHECK(!torcfg_dir_ok("relative") && !torcfg_dir_ok("/a/") && !torcfg_dir_ok("/a/./b") &&
	      torcfg_dir_ok("/etc/mirrornet/tor") && torcfg_dir_ok("/a/.hidden"));
}

#define ONION_A "2qiwwrlqjuu242qap7e2gpqfcqy7pxidhlguo2unwciacytcshgbzdyd.onion"
#define ONION_B "mlrmoufizmamhipx5vqhczkg7m2aszy5lj6bwbkwifakpz3edwgo2vyd.onion"

/* Our record of service svc: its body (false: none, or a tombstone). */
static bool own_rec(struct mn_host *h, const char *svc, union body *b)
{
	for (int i = 0; i < FAKE_MAX_RECORDS; i++) {
		struct record r;
		if (h->rec[i].used && record_decode_envelope(h->rec[i].wire, h->rec[i].len, &r) == 0 &&
		    r.kind == KIND_EXPOSE && !memcmp(r.origin, h->self, 32) && !strcmp(r.key, svc))
			return !record_is_tombstone(&r) && body_decode(KIND_EXPOSE, r.body, r.body_len, b) == 0;
	}
	return false;
}

static const char *onion_of(struct mn_host *h, const char *svc)
{
	static union body b;

	return own_rec(h, svc, &b) ? b.expose.onion : NULL;
}

/* Our status's object sub, valid until the next call. */
static struct json_object *status_of(struct mn_host *h, const char *sub)
{
	static struct json_object *st;
	struct json_object *o;

	json_object_put(st);
	st = sub ? h->s->status(h->st) : NULL;   /* (NULL: let it go) */
	if (!st)
		return NULL;
	return json_object_object_get_ex(st, sub, &o) ? o : NULL;
}

static int st_int(struct json_object *o, const char *key)
{
	return json_object_get_int(json_object_object_get(o, key));
}

static const char *st_str(struct json_object *o, const char *key)
{
	const char *s = json_object_get_string(json_object_object_get(o, key));

	return s ? s : "";
}

/* The leaf with no proxy and the options of kv (name, value, ..., NULL). */
static struct mn_host *chan_host(const char *name, const char *const *kv)
{
	struct mn_host *h = mesh(L, name);

	CHECK_INT(fake_host_set(h, "expose_proxy", "none"), 0);
	for (; *kv; kv += 2)
		CHECK_INT(fake_host_set(h, kv[0], kv[1]), 0);
	return h;
}

static struct json_object *chan_req(const char *svc, int port, const char *proto, const char *channels)
{
	struct json_object *r = add_req(svc, port);

	json_object_object_add(r, "proto", json_object_new_string(proto));
	json_object_object_add(r, "channels", json_object_new_string(channels));
	return r;
}

/* The leaf's hidden services against a fake host: the torrc's life and the
 * onion name in the record, from tor's hostname file only when valid. */
static void test_tor_channel(void)
{
	char err[300], p[400], keys[200], torrc[200];
	const char *t;

	snprintf(keys, sizeof keys, "%s/tor/keys", dir);
	snprintf(torrc, sizeof torrc, "%s/tor/tor/torrc", dir);
	struct mn_host *h = chan_host("tor", (const char *const[]){ "expose_tor_dir", keys, "expose_tor_network", "no",
								    "expose_tor_bin", tor, "expose_tor", "tor", NULL });
	CHECK_INT(fake_host_set(h, "expose_tor_dir", "/etc/../tor"), -EINVAL);
	CHECK(fake_host_start(h) != NULL);
	CHECK_INT(call(h, "expose_add", chan_req("git", 3000, "http", "mesh,tor"), err, sizeof err), 0);
	/* published at once, without a name: tor has made none yet */
	CHECK_STR(onion_of(h, "git"), "");
	fake_host_regen(h);
	CHECK(strstr(h->last_cmd, "--verify-config -f ") && strstr(h->last_cmd, "/tor/torrc.next"));
	/* (the fake host's check passed: switched, tor to be started) */
	t = slurp(torrc);
	snprintf(p, sizeof p, "HiddenServiceDir %s/git\nHiddenServiceVersion 3\nHiddenServicePort 80 127.0.0.1:3000\n", keys);
	CHECK(t && strstr(t, p) && strstr(t, "DisableNetwork 1\n"));
	if (have_tor())
		CHECK_INT(tor_check(torrc), 0);
	struct stat sb;
	CHECK(stat(keys, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	snprintf(p, sizeof p, "%s/git", keys);
	CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	/* tor does not start: said in status, not tried again at once (a
	 * reload or a minute later it is) */
	h->run_fails = true;
	fake_host_regen(h);
	h->run_fails = false;
	CHECK(strstr(h->last_cmd, " -f '") && strstr(h->last_cmd, "/tor/torrc' --defaults-torrc /dev/null"));
	struct json_object *ts = status_of(h, "tor");
	CHECK_INT(st_int(ts, "start_failures"), 1);
	CHECK(strstr(st_str(ts, "last_error"), "tor did not start") != NULL);
	unsigned runs = h->runs;
	fake_host_regen(h);
	CHECK_INT(h->runs, runs);
	h->s->reload(h->st, h->conf);
	fake_host_regen(h);
	CHECK_INT(h->runs, runs + 1);
	CHECK(strstr(h->last_cmd, " -f '") && strstr(h->last_cmd, "/tor/torrc' --defaults-torrc /dev/null"));
	ts = status_of(h, "tor");
	CHECK_INT(st_int(ts, "starts"), 1);
	CHECK_INT(st_int(ts, "switches"), 1);
	CHECK_INT(st_int(ts, "waiting"), 1);
	CHECK_STR(onion_of(h, "git"), "");

	/* tor wrote the hostname: published */
	snprintf(p, sizeof p, "%s/git/hostname", keys);
	put_text(p, ONION_A "\n");
	fake_host_regen(h);
	CHECK_STR(onion_of(h, "git"), ONION_A);
	ts = status_of(h, "tor");
	CHECK_INT(st_int(ts, "onions"), 1);
	CHECK_INT(st_int(ts, "waiting"), 0);
	/* a malformed hostname: refused, counted once, never published */
	put_text(p, "2qiwwrlqjuu242qap7e2gpqfcqy7pxidhlguo2unwciacytcshgbzdy1.onion\n");
	fake_host_regen(h);
	fake_host_regen(h);
	CHECK_STR(onion_of(h, "git"), "");
	ts = status_of(h, "tor");
	CHECK_INT(st_int(ts, "hostname_refused"), 1);
	CHECK(strstr(st_str(ts, "last_error"), "not published") != NULL);
	put_text(p, "x\" onion=\"evil.onion\n");
	fake_host_regen(h);
	CHECK_STR(onion_of(h, "git"), "");
	put_text(p, ONION_A "\n");
	fake_host_regen(h);
	CHECK_STR(onion_of(h, "git"), ONION_A);

	/* a second service: a new torrc, checked; a check tor refuses leaves
	 * the live one and is not tried again until it changes */
	runs = h->runs;
	h->run_fails = true;
	CHECK_INT(call(h, "expose_add", chan_req("vault", 8200, "tls", "tor"), err, sizeof err), 0);
	fake_host_regen(h);
	h->run_fails = false;
	CHECK_INT(h->runs, runs + 1);
	ts = status_of(h, "tor");
	CHECK_INT(st_int(ts, "check_failures"), 1);
	CHECK(strstr(st_str(ts, "last_error"), "refused the new torrc") != NULL);
	t = slurp(torrc);
	CHECK(t && !strstr(t, "vault"));
	CHECK_STR(onion_of(h, "git"), ONION_A);
	fake_host_regen(h);
	CHECK_INT(h->runs, runs + 1);             /* the same text: not checked again */
	h->s->reload(h->st, h->conf);             /* a reload tries it again */
	fake_host_regen(h);
	CHECK_INT(h->runs, runs + 2);
	t = slurp(torrc);
	CHECK(t && strstr(t, "HiddenServicePort 443 127.0.0.1:8200\n"));
	snprintf(p, sizeof p, "%s/vault/hostname", keys);
	put_text(p, ONION_B "\n");
	fake_host_regen(h);
	CHECK_STR(onion_of(h, "vault"), ONION_B);
	CHECK_STR(onion_of(h, "git"), ONION_A);

	/* the daemon restarted (tor still running or not): the same torrc is
	 * not checked again, its services are known again, the names stay */
	h->s->stop(h->st);
	uv_run(&h->loop, UV_RUN_NOWAIT);
	h->s->free(h->st);
	CHECK(fake_host_start(h) != NULL);
	runs = h->runs;
	fake_host_regen(h);
	fake_host_regen(h);
	/* tor started, nothing checked (a fake tor never runs: started each time) */
	CHECK_INT(h->runs, runs + 2);
	CHECK(strstr(h->last_cmd, "/tor/torrc' --defaults-torrc /dev/null") && !strstr(h->last_cmd, "verify"));
	ts = status_of(h, "tor");
	CHECK_INT(st_int(ts, "services"), 2);
	CHECK_INT(st_int(ts, "onions"), 2);
	CHECK_STR(onion_of(h, "git"), ONION_A);
	CHECK_STR(onion_of(h, "vault"), ONION_B);

	/* the tor channel removed: out of the record at once, then of the torrc */
	struct json_object *req = json_object_new_object();
	json_object_object_add(req, "service", json_object_new_string("git"));
	json_object_object_add(req, "channel", json_object_new_string("tor"));
	CHECK_INT(call(h, "expose_remove", req, err, sizeof err), 0);
	CHECK_STR(onion_of(h, "git"), "");
	fake_host_regen(h);
	t = slurp(torrc);
	CHECK(t && !strstr(t, "/git\n") && strstr(t, "/vault\n"));
	/* (its keys stay: adding it again gives the same name) */
	snprintf(p, sizeof p, "%s/git/hostname", keys);
	CHECK(access(p, F_OK) == 0);
	/* the last one gone: no torrc, no name, tor stopped */
	req = json_object_new_object();
	json_object_object_add(req, "service", json_object_new_string("vault"));
	CHECK_INT(call(h, "expose_remove", req, err, sizeof err), 0);
	fake_host_regen(h);
	CHECK(access(torrc, F_OK) != 0);
	ts = status_of(h, "tor");
	CHECK_INT(st_int(ts, "services"), 0);
	CHECK_INT(st_int(ts, "onions"), 0);

	/* the channel off: an exposure asking for tor is published without a
	 * name and counted as unserved */
	CHECK_INT(fake_host_set(h, "expose_tor", "none"), 0);
	h->s->reload(h->st, h->conf);
	CHECK_INT(call(h, "expose_add", chan_req("wiki", 8080, "http", "mesh,tor"), err, sizeof err), 0);
	runs = h->runs;
	fake_host_regen(h);
	CHECK_INT(h->runs, runs);
	union body b;
	CHECK(own_rec(h, "wiki", &b) && (b.expose.channels & CH_TOR) && !b.expose.onion[0]);
	ts = status_of(h, "tor");
	CHECK_INT(st_int(ts, "unserved"), 1);
	CHECK_STR(st_str(ts, "mode"), "none");
	status_of(h, NULL);
	done(h);
}

/* ---- the mDNS channel ---- */

static void test_mdnscfg(void)
{
	char t[64], e[200];
	struct mdns_service s;
	char *text;
	size_t len;
	unsigned skipped, reports = 0;

	CHECK_INT(mdns_type(EXPOSE_HTTP, "git", t, sizeof t), 0);
	CHECK_STR(t, "_http._tcp");
	CHECK_INT(mdns_type(EXPOSE_TLS, "vault", t, sizeof t), 0);
	CHECK_STR(t, "_https._tcp");
	CHECK_INT(mdns_type(EXPOSE_TCP, "ssh", t, sizeof t), 0);
	CHECK_STR(t, "_ssh._tcp");
	CHECK_INT(mdns_type(EXPOSE_TCP, "my-very-long-service-name", t, sizeof t), 0);
	CHECK_STR(t, "_my-very-long-se._tcp");    /* 15 at most */
	CHECK_INT(mdns_type(EXPOSE_TCP, "a--b-", t, sizeof t), 0);
	CHECK_STR(t, "_a-b._tcp");
	CHECK_INT(mdns_type(EXPOSE_TCP, "Mail \"x\"\n", t, sizeof t), 0);
	CHECK_STR(t, "_mail-x._tcp");
	CHECK_INT(mdns_type(EXPOSE_TCP, "9999", t, sizeof t), -EINVAL);   /* no letter */
	CHECK_INT(mdns_type(EXPOSE_TCP, "---", t, sizeof t), -EINVAL);
	CHECK_INT((int)mdns_xml_escape("a&b<c>\"d'e", e, sizeof e), 30);
	CHECK_STR(e, "a&amp;b&lt;c&gt;&quot;d&apos;e");
	CHECK_INT((int)mdns_xml_escape("<<<<", e, 10), 16);               /* bounded, terminated */
	CHECK_STR(e, "&lt;&lt;&");

	/* every value escaped */
	memset(&s, 0, sizeof s);
	snprintf(s.id, sizeof s.id, "mirrornet-x");
	snprintf(s.name, sizeof s.name, "R&D <lab> \"box\" 'one'");
	snprintf(s.type, sizeof s.type, "_http._tcp");
	s.port = 8080;
	snprintf(s.txt[0], sizeof s.txt[0], "path=/a&b<\"'>");
	s.ntxt = 1;
	CHECK_INT(mdns_avahi_render(&s, &text, &len, e, sizeof e), 0);
	CHECK(text && strstr(text, "<name>R&amp;D &lt;lab&gt; &quot;box&quot; &apos;one&apos;</name>\n"));
	CHECK(text && strstr(text, "<type>_http._tcp</type>\n    <port>8080</port>\n"
			     "    <txt-record>path=/a&amp;b&lt;&quot;&apos;&gt;</txt-record>\n"));
	free(text);
	CHECK_INT(mdns_umdns_render(&s, 1, &text, &len, &skipped, NULL, NULL), 0);
	CHECK_STR(text, "{\n\t\"mirrornet-x\": {\n\t\t\"service\": \"_http._tcp.local\",\n\t\t\"port\": 8080,\n"
		  "\t\t\"txt\": [ \"path=/a&b<\\\"'>\" ]\n\t}\n}\n");
	struct json_object *j = text ? json_tokener_parse(text) : NULL;
	CHECK(j != NULL);
	json_object_put(j);
	free(text);
	/* a newline or a control character never reaches a file */
	struct mdns_service bad[3];
	bad[0] = s;
	bad[1] = s;
	bad[2] = s;
	snprintf(bad[0].name, sizeof bad[0].name, "x\ny");
	snprintf(bad[1].txt[0], sizeof bad[1].txt[0], "k=\x01");
	snprintf(bad[2].type, sizeof bad[2].type, "_x\"y._tcp");
	for (int i = 0; i < 3; i++) {
		CHECK_INT(mdns_avahi_render(&bad[i], &text, &len, e, sizeof e), -EINVAL);
		CHECK(text == NULL && strstr(e, "left out"));
	}
	CHECK_INT(mdns_umdns_render(bad, 3, &text, &len, &skipped, count_report, &reports), 0);
	CHECK_INT(skipped, 3);
	CHECK_INT(reports, 3);
	CHECK_STR(text, "{\n}\n");
	free(text);
	snprintf(s.id, sizeof s.id, "../etc");
	CHECK_STR(mdns_service_refusal(&s), "a bad id");
}

static int count_files(const char *d)
{
	int n = 0;
	DIR *dd = opendir(d);
	struct dirent *e;
	while (dd && (e = readdir(dd)))
		n += e->d_name[0] != '.';
	if (dd)
		closedir(dd);
	return n;
}

/* The leaf's mDNS files against a fake host. */
static void test_mdns_channel(void)
{
	char err[300], md[300], p[400], did[DID_KEY_MAX];
	const char *t;

	snprintf(md, sizeof md, "%s/mdns/services", dir);
	struct mn_host *h = chan_host("mdns", (const char *const[]){ "expose_mdns_dir", md, "expose_mdns_reload",
								     "kill -HUP 1234567", NULL });
	snprintf(h->cfg.name, sizeof h->cfg.name, "lab");
	CHECK_INT(fake_host_set(h, "expose_mdns_format", "bonjour"), -EINVAL);
	CHECK(fake_host_start(h) != NULL);
	CHECK_INT(call(h, "expose_add", chan_req("git", 3000, "http", "mesh,mdns"), err, sizeof err), 0);
	CHECK_INT(call(h, "expose_add", chan_req("vault", 8200, "tls", "mdns"), err, sizeof err), 0);
	CHECK_INT(call(h, "expose_add", chan_req("ssh", 22, "tcp", "mesh,mdns"), err, sizeof err), 0);
	CHECK_INT(call(h, "expose_add", chan_req("web", 80, "http", "mesh"), err, sizeof err), 0);
	snprintf(p, sizeof p, "%s/mdns", dir);
	mkdir(p, 0755);
	mkdir(md, 0755);
	snprintf(p, sizeof p, "%s/other.service", md);
	put_text(p, "not ours\n");
	snprintf(p, sizeof p, "%s/mirrornetx.service", md);
	put_text(p, "not ours either\n");
	unsigned runs = h->runs;
	fake_host_regen(h);
	CHECK_INT(h->runs, runs + 1);
	CHECK_STR(h->last_cmd, "kill -HUP 1234567");
	/* the node: _secubox._udp on the WireGuard port, did, role, version */
	did_key_encode(DID_ED25519, k[L], did, sizeof did);
	snprintf(p, sizeof p, "%s/mirrornet.service", md);
	t = slurp(p);
	char want[1200];
	snprintf(want, sizeof want, "<?xml version=\"1.0\" standalone='no'?>\n"
		 "<!DOCTYPE service-group SYSTEM \"avahi-service.dtd\">\n"
		 "<!-- Written by mirrornetd (docs/expose.md): rewritten on every change, do not edit. -->\n"
		 "<service-group>\n  <name>lab</name>\n  <service>\n    <type>_secubox._udp</type>\n"
		 "    <port>51820</port>\n    <txt-record>did=%s</txt-record>\n"
		 "    <txt-record>role=sub-master</txt-record>\n    <txt-record>version=%s</txt-record>\n"
		 "  </service>\n</service-group>\n", did, MN_VERSION);
	CHECK_STR(t, want);
	snprintf(p, sizeof p, "%s/mirrornet-git.service", md);
	t = slurp(p);
	CHECK(t && strstr(t, "<name>git on lab</name>") && strstr(t, "<type>_http._tcp</type>\n    <port>3000</port>"));
	snprintf(p, sizeof p, "%s/mirrornet-vault.service", md);
	t = slurp(p);
	CHECK(t && strstr(t, "<type>_https._tcp</type>\n    <port>8200</port>"));
	snprintf(p, sizeof p, "%s/mirrornet-ssh.service", md);
	t = slurp(p);
	CHECK(t && strstr(t, "<type>_ssh._tcp</type>\n    <port>22</port>\n  </service>"));
	snprintf(p, sizeof p, "%s/mirrornet-web.service", md);
	CHECK(access(p, F_OK) != 0);                /* not on the mdns channel */
	CHECK_INT(count_files(md), 6);
	struct json_object *ms = status_of(h, "mdns");
	CHECK_INT(st_int(ms, "entries"), 4);
	CHECK_INT(st_int(ms, "writes"), 1);
	CHECK_INT(st_int(ms, "reloads"), 1);
	/* nothing changed: nothing written, no reload */
	snprintf(p, sizeof p, "%s/mirrornet-git.service", md);
	struct stat s1, s2;
	CHECK(stat(p, &s1) == 0);
	fake_host_regen(h);
	CHECK(stat(p, &s2) == 0 && s1.st_ino == s2.st_ino);
	CHECK_INT(h->runs, runs + 1);
	CHECK_INT(st_int(status_of(h, "mdns"), "writes"), 1);
	/* the channel removed: its file goes, the reload fails and says so */
	struct json_object *req = json_object_new_object();
	json_object_object_add(req, "service", json_object_new_string("ssh"));
	json_object_object_add(req, "channel", json_object_new_string("mdns"));
	CHECK_INT(call(h, "expose_remove", req, err, sizeof err), 0);
	h->run_fails = true;
	fake_host_regen(h);
	h->run_fails = false;
	snprintf(p, sizeof p, "%s/mirrornet-ssh.service", md);
	CHECK(access(p, F_OK) != 0);
	CHECK_INT(count_files(md), 5);
	ms = status_of(h, "mdns");
	CHECK_INT(st_int(ms, "reload_failures"), 1);
	CHECK(strstr(st_str(ms, "last_error"), "failed") != NULL);
	/* umdns: one JSON file instead, the avahi files gone, not the others */
	CHECK_INT(fake_host_set(h, "expose_mdns_format", "umdns"), 0);
	CHECK_INT(fake_host_set(h, "expose_mdns_reload", "ubus call umdns reload"), 0);
	fake_host_regen(h);
	CHECK_STR(h->last_cmd, "ubus call umdns reload");
	CHECK_INT(count_files(md), 3);
	snprintf(p, sizeof p, "%s/mirrornet.json", md);
	t = slurp(p);
	struct json_object *j = t ? json_tokener_parse(t) : NULL, *e;
	CHECK(j != NULL);
	CHECK(json_object_object_get_ex(j, "mirrornet-git", &e) &&
	      !strcmp(st_str(e, "service"), "_http._tcp.local") && st_int(e, "port") == 3000);
	CHECK(json_object_object_get_ex(j, "mirrornet", &e) &&
	      !strcmp(st_str(e, "service"), "_secubox._udp.local") && st_int(e, "port") == 51820 &&
	      json_object_array_length(json_object_object_get(e, "txt")) == 3);
	CHECK_INT((int)json_object_object_length(j), 3);
	json_object_put(j);
	/* off (the option unset): ours go, the others stay */
	((char *)h->conf)[conf_find(&h->s->conf, "expose_mdns_dir")->off] = 0;
	h->s->reload(h->st, h->conf);
	fake_host_regen(h);
	CHECK_INT(count_files(md), 2);
	status_of(h, NULL);
	done(h);
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	for (int i = 0; i < NK; i++)
		memset(k[i], 0x20 + i, 32);
	test_render();
	test_cascade();
	test_own();
	test_empty();
	test_entry();
	test_torcfg();
	test_tor_channel();
	test_mdnscfg();
	test_mdns_channel();
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (!getenv("MN_TEST_KEEP") && system(cmd) != 0)
		fprintf(stderr, "test_expose: could not remove %s\n", dir);
	return check_exit();
}
