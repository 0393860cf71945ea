/* The mail subsystem's pure half (src/mail/mailcfg.c): domain names,
 * svc "mail" records against their origin's mesh address and scope, the
 * relay routes and Postfix's maps, MX records; the MX lines Vortex's zone
 * generator writes (src/dns/zonegen.c). Then the subsystem (src/daemon/
 * mail.c) against the fake host: peers' records in and out of the maps,
 * out-of-scope and hostile records refused and counted, our own record,
 * the reload (run only when the maps changed, its failure counted),
 * mail_list and mail_mx. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tests/check.h"
#include "src/mail/mailcfg.h"
#include "src/dns/zonegen.h"
#include "tests/unit/fake_host.h"

extern const struct subsys subsys_mail;

static void names(void)
{
	static const char *const good[] = { "example.io", "mail.node1.example.io", "a-b.c0.de", "x.y" };
	static const char *const bad[] = {
		"", "example", "Example.io", "example.io.", ".example.io", "a..b", "-a.b", "a-.b", "a b.c",
		"a\nb.c", "a\x1b.io", "a_b.io", "a;b.io", "é.io", "1.2.3.4:25", "a.b\r", "*.example.io",
	};
	char longlabel[80], longname[300];
	char d[4][MN_MAX_DOMAIN + 1];
	size_t n;

	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		CHECK(mailcfg_domain_ok(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(!mailcfg_domain_ok(bad[i]));
	memset(longlabel, 'a', 64);
	snprintf(longlabel + 64, sizeof longlabel - 64, ".io");
	CHECK(!mailcfg_domain_ok(longlabel));
	memset(longname, 0, sizeof longname);
	for (size_t i = 0; i < 254; i += 2)
		memcpy(longname + i, "a.", 2);
	longname[253] = 'a';   /* 254 bytes: one too many */
	CHECK(!mailcfg_domain_ok(longname));

	CHECK_INT(mailcfg_parse_list("a.io, b.io  c.io,a.io", d, 4, &n), 0);
	CHECK_INT(n, 3);
	CHECK_STR(d[2], "c.io");
	CHECK_INT(mailcfg_parse_list("", d, 4, &n), 0);
	CHECK_INT(n, 0);
	CHECK_INT(mailcfg_parse_list("a.io,B.io", d, 4, &n), -EINVAL);
	CHECK_INT(mailcfg_parse_list("a.io b.io c.io d.io e.io", d, 4, &n), -ENOSPC);
	CHECK(mailcfg_list_covers("x.org, example.io", "mail.example.io"));
	CHECK(mailcfg_list_covers("example.io", "example.io"));
	CHECK(!mailcfg_list_covers("example.io", "badexample.io"));
	CHECK(!mailcfg_list_covers(NULL, "example.io"));
}

static void svc(struct svc_body *b, const char *ep, uint16_t port, const char *const *kv, size_t n)
{
	memset(b, 0, sizeof *b);
	snprintf(b->service, sizeof b->service, "mail");
	snprintf(b->endpoint, sizeof b->endpoint, "%s", ep);
	b->port = port;
	for (size_t i = 0; i < n; i++) {
		snprintf(b->attrs[i].k, sizeof b->attrs[i].k, "%s", kv[2 * i]);
		snprintf(b->attrs[i].v, sizeof b->attrs[i].v, "%s", kv[2 * i + 1]);
	}
	b->n_attrs = (uint8_t)n;
}

static void records(void)
{
	static const char *const ok[] = { "domain", "n2.example.io", "domain", "gmail.com", "priority", "5",
					  "backup", "yes", "mx", "mx.n2.example.io", "x-other", "anything" };
	static const char *const ctl[] = { "domain", "n2.example.io\n" };
	static const char *const prio[] = { "priority", "70000" };
	static const char *const prio2[] = { "priority", "-1" };
	static const char *const yn[] = { "backup", "true" };
	static const char *const mx[] = { "mx", "MX.example.io" };
	struct mailcfg_box x;
	struct svc_body b;

	svc(&b, "10.42.0.2", 25, ok, 6);
	CHECK_INT(mailcfg_svc_check(&b, "10.42.0.2", "n2.example.io", &x), MAILCFG_OK);
	CHECK_INT(x.ndomains, 2);
	CHECK(x.in_scope[0] && !x.in_scope[1]);
	CHECK_INT(x.priority, 5);
	CHECK(x.want_backup && !x.relay);
	CHECK_STR(x.mx, "mx.n2.example.io");
	CHECK_INT(mailcfg_svc_check(&b, "10.42.0.2", "*", &x), MAILCFG_OK);
	CHECK(x.in_scope[1]);
	CHECK_INT(mailcfg_svc_check(&b, "10.42.0.2", "", &x), MAILCFG_OK);
	CHECK(!x.in_scope[0] && !x.in_scope[1]);
	/* not the origin's certified address: another box, none, a name */
	CHECK_INT(mailcfg_svc_check(&b, "10.42.0.3", "n2.example.io", &x), MAILCFG_BAD_ENDPOINT);
	CHECK_INT(mailcfg_svc_check(&b, "", "n2.example.io", &x), MAILCFG_BAD_ENDPOINT);
	svc(&b, "mx.evil.example", 25, ok, 6);
	CHECK_INT(mailcfg_svc_check(&b, "mx.evil.example", "*", &x), MAILCFG_BAD_ENDPOINT);
	svc(&b, "10.42.0.2", 0, ok, 6);
	CHECK_INT(mailcfg_svc_check(&b, "10.42.0.2", "*", &x), MAILCFG_BAD_PORT);
	svc(&b, "10.42.0.2", 25, ctl, 1);
	CHECK_INT(mailcfg_svc_check(&b, "10.42.0.2", "*", &x), MAILCFG_BAD_DOMAIN);
	svc(&b, "10.42.0.2", 25, mx, 1);
	CHECK_INT(mailcfg_svc_check(&b, "10.42.0.2", "*", &x), MAILCFG_BAD_DOMAIN);
	svc(&b, "10.42.0.2", 25, prio, 1);
	CHECK_INT(mailcfg_svc_check(&b, "10.42.0.2", "*", &x), MAILCFG_BAD_ATTR);
	svc(&b, "10.42.0.2", 25, prio2, 1);
	CHECK_INT(mailcfg_svc_check(&b, "10.42.0.2", "*", &x), MAILCFG_BAD_ATTR);
	svc(&b, "10.42.0.2", 25, yn, 1);
	CHECK_INT(mailcfg_svc_check(&b, "10.42.0.2", "*", &x), MAILCFG_BAD_ATTR);
	svc(&b, "10.42.0.2", 25, ok, 6);
	snprintf(b.service, sizeof b.service, "ai");
	CHECK_INT(mailcfg_svc_check(&b, "10.42.0.2", "*", &x), MAILCFG_BAD_SERVICE);

	/* our body reads back as it was made */
	struct mailcfg_box me = { .port = 2525, .priority = 10, .backup_priority = 30, .want_backup = true,
				  .relay = true, .ndomains = 1 };
	snprintf(me.addr, sizeof me.addr, "10.42.0.1");
	snprintf(me.mx, sizeof me.mx, "mx.n1.example.io");
	snprintf(me.domains[0], sizeof me.domains[0], "n1.example.io");
	mailcfg_svc_body(&me, &b);
	CHECK_INT(mailcfg_svc_check(&b, "10.42.0.1", "n1.example.io", &x), MAILCFG_OK);
	CHECK(x.relay && x.want_backup && x.in_scope[0]);
	CHECK_INT(x.backup_priority, 30);
	CHECK_INT(x.port, 2525);
}

static struct mailcfg_box box(const char *addr, uint16_t prio, const char *mx, bool want, bool relay,
			      const char *d0, bool s0, const char *d1, bool s1)
{
	struct mailcfg_box x = { .port = 25, .priority = prio, .backup_priority = 20, .want_backup = want,
				 .relay = relay };
	snprintf(x.addr, sizeof x.addr, "%s", addr);
	snprintf(x.mx, sizeof x.mx, "%s", mx);
	if (d0) {
		snprintf(x.domains[x.ndomains], sizeof x.domains[0], "%s", d0);
		x.in_scope[x.ndomains++] = s0;
	}
	if (d1) {
		snprintf(x.domains[x.ndomains], sizeof x.domains[0], "%s", d1);
		x.in_scope[x.ndomains++] = s1;
	}
	return x;
}

static void routes_maps_mx(void)
{
	struct mailcfg_box b[4] = {
		box("10.42.0.2", 10, "mx.n2.example.io", true, false, "n2.example.io", true, "gmail.com", false),
		box("10.42.0.3", 10, "mx.n3.example.io", false, true, "n3.example.io", true, NULL, false),
		box("10.42.0.4", 5, "", true, true, "n2.example.io", true, "z.example.io", true),
		box("10.42.0.5", 10, "mx.n5.example.io", true, true, "n1.example.io", true, NULL, false),
	};
	struct mailcfg_route r[16];
	struct mailcfg_mx mx[8];
	unsigned skipped;
	char *rel, *tr;
	size_t rl, tl;

	/* n3 wants no backup; gmail.com out of scope; n2 twice: the lowest
	 * priority wins; n1 is ours */
	size_t n = mailcfg_routes(b, 4, NULL, "n1.example.io", r, 16, &skipped);
	CHECK_INT(n, 2);
	CHECK_INT(skipped, 1);
	CHECK_STR(r[0].domain, "n2.example.io");
	CHECK_STR(r[0].addr, "10.42.0.4");
	CHECK_STR(r[1].domain, "z.example.io");
	n = mailcfg_routes(b, 4, "gmail.com", NULL, r, 16, &skipped);
	CHECK_INT(n, 4);
	CHECK_INT(skipped, 0);
	CHECK_STR(r[0].domain, "gmail.com");
	CHECK_STR(r[0].addr, "10.42.0.2");
	CHECK_INT(mailcfg_maps(r, n, &rel, &rl, &tr, &tl), 0);
	CHECK(strstr(rel, "\ngmail.com OK\nn1.example.io OK\nn2.example.io OK\nz.example.io OK\n") != NULL);
	CHECK(strstr(tr, "\ngmail.com smtp:[10.42.0.2]:25\nn1.example.io smtp:[10.42.0.5]:25\n") != NULL);
	CHECK_INT(rl, strlen(rel));
	free(rel);
	free(tr);
	/* a route that is not valid never reaches a map */
	snprintf(r[0].domain, sizeof r[0].domain, "evil.io smtp:[1.2.3.4]\nx.io");
	snprintf(r[1].addr, sizeof r[1].addr, "mx.evil.io");
	CHECK_INT(mailcfg_maps(r, 2, &rel, &rl, &tr, &tl), 0);
	CHECK(!strstr(rel, "evil") && !strstr(tr, "evil") && !strstr(tr, "1.2.3.4"));
	free(rel);
	free(tr);

	/* MX: the primaries that name a host (box 4 names none), then the
	 * boxes that take the relay role, each host once */
	n = mailcfg_mx(b, 4, "n2.example.io", NULL, mx, 8);
	CHECK_INT(n, 3);
	CHECK_INT(mx[0].priority, 10);
	CHECK_STR(mx[0].host, "mx.n2.example.io");
	CHECK(!mx[0].backup && mx[1].backup);
	CHECK_STR(mx[1].host, "mx.n3.example.io");
	CHECK_INT(mx[1].priority, 20);
	CHECK_STR(mx[2].host, "mx.n5.example.io");
	CHECK_INT(mailcfg_mx(b, 4, "gmail.com", NULL, mx, 8), 0);           /* not in its scope */
	CHECK_INT(mailcfg_mx(b, 4, "gmail.com", "gmail.com", mx, 8), 3);    /* allowed here */
	CHECK_INT(mailcfg_mx(b, 4, "n3.example.io", NULL, mx, 8), 1);       /* wants no backup */
	CHECK_INT(mailcfg_mx(b, 4, "nowhere.example.io", NULL, mx, 8), 0);
}

static void zone_mx(void)
{
	struct zonegen *m = NULL;
	struct zonegen_deleg *d = calloc(1, sizeof *d);
	struct zonegen_report rep = { 0 };
	char buf[4096];
	struct zonegen_out o = { .buf = buf, .cap = sizeof buf };

	CHECK(d != NULL);
	CHECK_INT(zonegen_new("example.io", &m), 0);
	snprintf(d->zone, sizeof d->zone, "example.io");
	snprintf(d->ns[0].host, sizeof d->ns[0].host, "ns.example.io");
	snprintf(d->ns[0].addr, sizeof d->ns[0].addr, "10.42.0.1");
	d->n_ns = 1;
	static const struct { const char *name; uint16_t pref; const char *host; } mx[] = {
		{ "n2.example.io", 10, "mx.n2.example.io" }, { "n2.example.io", 20, "mx.n3.example.io" },
		{ "gmail.com", 10, "mx.n2.example.io" },     /* outside the zone */
		{ "n2.example.io", 30, "bad host" },
	};
	for (size_t i = 0; i < sizeof mx / sizeof *mx; i++) {
		snprintf(d->mx[i].name, sizeof d->mx[i].name, "%s", mx[i].name);
		d->mx[i].pref = mx[i].pref;
		snprintf(d->mx[i].host, sizeof d->mx[i].host, "%s", mx[i].host);
	}
	d->n_mx = 4;
	CHECK(zonegen_add(m, d, &rep) >= 0);
	CHECK(zonegen_seal(m, &rep) >= 0);
	CHECK(zonegen_zone(m, "example.io", 7, &o, NULL) >= 0);
	CHECK(strstr(buf, "n2\t3600\tIN\tMX\t10 mx.n2.example.io.\nn2\t3600\tIN\tMX\t20 mx.n3.example.io.\n") != NULL);
	CHECK(!strstr(buf, "gmail") && !strstr(buf, "bad host"));
	zonegen_free(m);
	free(d);
}

/* ---- the subsystem ---- */

static uint8_t k[8][32];

static void peer(struct mn_host *h, int who, const char *ep, const char *const *kv, size_t n, uint64_t version)
{
	union body b;

	svc(&b.svc, ep, 25, kv, n);
	CHECK(fake_host_add(h, KIND_SVC, k[who], "mail", version, n || ep[0] ? &b : NULL) >= 0);
}

static int64_t jint(struct json_object *o, const char *a, const char *b)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, a, &v) || (b && !json_object_object_get_ex(v, b, &v)))
		return -1;
	return json_object_get_int64(v);
}

static char *map(const char *dir, const char *name)
{
	char path[300];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return check_slurp(path);
}

/* The map's lines without its comment line. */
static bool map_is(const char *dir, const char *name, const char *want)
{
	char *t = map(dir, name);
	const char *body = t ? strchr(t, '\n') : NULL;
	bool ok = body && !strcmp(body + 1, want);

	if (!ok)
		printf("# %s/%s: %s\n", dir, name, t ? t : "(none)");
	free(t);
	return ok;
}

static void subsystem(void)
{
	static const char *const two[] = { "domain", "n2.example.io", "domain", "gmail.com", "backup", "yes",
					   "mx", "mx.n2.example.io" };
	static const char *const three[] = { "domain", "n3.example.io", "backup", "yes" };
	static const char *const evil[] = { "domain", "n4.example.io\nrelay_domains evil" };
	char dir[] = "/tmp/mn-mail-sub-XXXXXX", err[200];
	struct mn_host *h = calloc(1, sizeof *h);
	struct json_object *st, *res, *req;

	CHECK(h && mkdtemp(dir) != NULL);
	for (int i = 0; i < 8; i++)
		memset(k[i], 0x40 + i, 32);
	fake_host_init(h, &subsys_mail);
	memcpy(h->self, k[1], 32);
	memcpy(h->cfg.root, k[0], 32);
	h->cfg.have_root = true;
	/* off by default: nothing published, nothing written */
	CHECK(fake_host_set(h, "mail_domains", "n1.example.io,Bad.io") < 0);
	CHECK(fake_host_set(h, "mail_mx_host", "mx") < 0);
	CHECK(fake_host_set(h, "mail_map_dir", "relative/dir") < 0);
	CHECK_INT(fake_host_set(h, "mail_domains", "n1.example.io"), 0);
	CHECK_INT(fake_host_set(h, "mail_backup_mx", "yes"), 0);
	CHECK_INT(fake_host_set(h, "mail_mx_host", "mx.n1.example.io"), 0);
	CHECK_INT(fake_host_set(h, "mail_map_dir", dir), 0);
	CHECK_INT(fake_host_set(h, "mail_reload", "postfix -c /x reload"), 0);
	CHECK(fake_host_start(h) != NULL);
	CHECK(fake_host_cert(h, k[0], k[1], "n1.example.io", "10.42.0.1") >= 0);
	CHECK(fake_host_cert(h, k[0], k[2], "n2.example.io", "10.42.0.2") >= 0);
	CHECK(fake_host_cert(h, k[0], k[3], "n3.example.io", "10.42.0.3") >= 0);
	CHECK(fake_host_cert(h, k[0], k[4], "n4.example.io", "10.42.0.4") >= 0);
	peer(h, 2, "10.42.0.2", two, 4, 10);     /* good; gmail.com outside its scope */
	peer(h, 3, "10.42.0.2", three, 2, 10);   /* another box's address */
	peer(h, 4, "10.42.0.4", evil, 1, 10);    /* a domain with a newline */
	peer(h, 5, "10.42.0.5", three, 2, 10);   /* no certificate: no chain */
	fake_host_regen(h);
	CHECK(map_is(dir, "relay_domains", "n2.example.io OK\n"));
	CHECK(map_is(dir, "transport", "n2.example.io smtp:[10.42.0.2]:25\n"));
	CHECK_STR(h->last_cmd, "postfix -c /x reload");
	st = subsys_mail.status(h->st);
	CHECK_INT(jint(st, "routes", NULL), 1);
	CHECK_INT(jint(st, "out_of_scope", NULL), 1);
	CHECK_INT(jint(st, "ignored", "bad_endpoint"), 2);
	CHECK_INT(jint(st, "ignored", "bad_domain"), 1);
	CHECK_INT(jint(st, "reloads", NULL), 1);
	CHECK_INT(jint(st, "writes", NULL), 1);
	CHECK_INT(jint(st, "published", NULL), 1);
	json_object_put(st);

	/* nothing changed: not written, no reload */
	unsigned runs = h->runs;
	fake_host_regen(h);
	CHECK_INT(h->runs, runs);

	/* host 2 (relayed here) seen dead, then alive again: the queue is
	 * flushed once; alive from the start (no view before) is not a
	 * return; alive again since after our last look (a reboot between
	 * two looks) is */
	fake_host_peer(h, k[2], HOST_PEER_ALIVE, 500);
	subsys_mail.tick(h->st, 1000);
	CHECK_INT(h->runs, runs);
	fake_host_peer(h, k[2], HOST_PEER_DEAD, 1500);
	subsys_mail.tick(h->st, 2000);
	CHECK_INT(h->runs, runs);
	fake_host_peer(h, k[2], HOST_PEER_ALIVE, 2500);
	subsys_mail.tick(h->st, 3000);
	CHECK_INT(h->runs, runs + 1);
	CHECK_STR(h->last_cmd, "postqueue -f");
	subsys_mail.tick(h->st, 4000);
	CHECK_INT(h->runs, runs + 1);
	subsys_mail.tick(h->st, 33000);                   /* and once more 30 s later */
	CHECK_INT(h->runs, runs + 2);
	subsys_mail.tick(h->st, 34000);
	CHECK_INT(h->runs, runs + 2);
	fake_host_peer(h, k[2], HOST_PEER_ALIVE, 34500);  /* left and back within 5 s */
	subsys_mail.tick(h->st, 35000);
	CHECK_INT(h->runs, runs + 3);
	st = subsys_mail.status(h->st);
	CHECK_INT(jint(st, "flushes", NULL), 3);
	json_object_put(st);
	runs = h->runs;

	/* mail_mx: the primary, then us (we take the role) */
	req = json_object_new_object();
	json_object_object_add(req, "domain", json_object_new_string("n2.example.io"));
	CHECK_INT(fake_host_call(h, "mail_mx", req, &res, err, sizeof err), 0);
	struct json_object *a = json_object_object_get(res, "mx");
	CHECK_INT(json_object_array_length(a), 2);
	CHECK_STR(json_object_get_string(json_object_object_get(json_object_array_get_idx(a, 0), "record")),
		  "n2.example.io. IN MX 10 mx.n2.example.io.");
	CHECK_STR(json_object_get_string(json_object_object_get(json_object_array_get_idx(a, 1), "record")),
		  "n2.example.io. IN MX 20 mx.n1.example.io.");
	json_object_put(res);
	json_object_object_add(req, "domain", json_object_new_string("gmail.com"));
	CHECK_INT(fake_host_call(h, "mail_mx", req, &res, err, sizeof err), -ENOENT);
	json_object_object_add(req, "domain", json_object_new_string("a\nb.io"));
	CHECK_INT(fake_host_call(h, "mail_mx", req, &res, err, sizeof err), -EINVAL);
	json_object_put(req);

	req = json_object_new_object();
	CHECK_INT(fake_host_call(h, "mail_list", req, &res, err, sizeof err), 0);
	a = json_object_object_get(res, "domains");
	CHECK_INT(json_object_array_length(a), 3);   /* ours, n2's two */
	CHECK_INT(json_object_array_length(json_object_object_get(res, "backups")), 1);
	json_object_put(res);
	json_object_put(req);

	/* a failing reload is counted, and tried again at the next generation */
	h->run_fails = true;
	peer(h, 3, "10.42.0.3", three, 2, 11);   /* now valid */
	fake_host_regen(h);
	CHECK(map_is(dir, "relay_domains", "n2.example.io OK\nn3.example.io OK\n"));
	st = subsys_mail.status(h->st);
	CHECK_INT(jint(st, "reload_failures", NULL), 1);
	json_object_put(st);
	h->run_fails = false;
	runs = h->runs;
	fake_host_regen(h);
	CHECK_INT(h->runs, runs + 1);
	fake_host_regen(h);
	CHECK_INT(h->runs, runs + 1);

	/* a revoked origin's domains leave the maps */
	fake_host_revoke(h, k[2]);
	fake_host_regen(h);
	CHECK(map_is(dir, "relay_domains", "n3.example.io OK\n"));
	CHECK(map_is(dir, "transport", "n3.example.io smtp:[10.42.0.3]:25\n"));
	/* and a deleted record's */
	peer(h, 3, "", NULL, 0, 12);
	fake_host_regen(h);
	CHECK(map_is(dir, "relay_domains", ""));
	struct stat sb;
	char path[300];
	snprintf(path, sizeof path, "%s/transport", dir);
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0644);

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
	routes_maps_mx();
	zone_mx();
	subsystem();
	return check_exit();
}
