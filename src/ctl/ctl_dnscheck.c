/* mirrornetctl dns check [ZONE] [--server ADDR[:PORT]] [--name NAME]
 * [--domain D] [--json]: ask the real DNS servers, through c-ares, and
 * follow the delegation chain from the mesh domain down to ZONE (docs/dns.md):
 *
 *   SOA <domain> @start               must be authoritative
 *   for each name N between the domain and ZONE:
 *     NS N @current                   a delegation (answer or referral) → its
 *                                     name server's address from the glue,
 *                                     else A <host> @current
 *     SOA N @that server              must be authoritative; it becomes current
 *     (no cut at N: an intermediate name is fine, ZONE itself is an error)
 *   with --name: A NAME @current      must give addresses
 *
 * Every question is non-recursive, one server at a time, 1.5 s per try, two
 * tries; the whole check of a zone stops after 60 questions. Without ZONE
 * every zone of `dns list` is checked. Exit 0 when every step answered as
 * it should, 1 otherwise. The start server is --server, else the local
 * daemon's DNS server (status .dns.addr / .dns.port), else the apex's name
 * server from the mesh's records. Answers are judged by src/dns/dnsprobe.c. */
#include <ares.h>
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "src/ctl/ctl.h"
#include "src/body_json.h"
#include "src/dns/dnsprobe.h"

#define TRY_MS 1500
#define TRIES 2
#define MAX_QUESTIONS 60
#define MAX_LABELS 128

struct server {
	char addr[DNSPROBE_ADDR_MAX];
	unsigned port;
};

struct check {
	bool json;
	struct server start;
	unsigned questions;
	struct json_object *steps;   /* of the zone being checked */
	bool ok;
};

struct answer {
	bool done;
	int status;
	struct dnsprobe_msg *msg;
	int parse_err;
};

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct answer *a = arg;

	(void)timeouts;
	a->done = true;
	a->status = status;
	if (abuf && alen > 0)
		a->parse_err = dnsprobe_parse(abuf, (size_t)alen, a->msg);
	else
		a->parse_err = -ENODATA;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One non-recursive question to one server: 0 and the judged result, or
 * -1 with r->why set (no answer at all). */
static int ask(struct check *c, const struct server *s, const char *name, uint16_t type,
	       struct dnsprobe_result *r)
{
	struct ares_options o;
	ares_channel ch;
	char csv[DNSPROBE_ADDR_MAX + 16];
	struct answer a = { 0 };
	int rc = -1;

	memset(r, 0, sizeof *r);
	r->verdict = DNSPROBE_BAD;
	if (++c->questions > MAX_QUESTIONS) {
		snprintf(r->why, sizeof r->why, "gave up after %d questions", MAX_QUESTIONS);
		return -1;
	}
	memset(&o, 0, sizeof o);
	o.flags = ARES_FLAG_NORECURSE | ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH;
	o.timeout = TRY_MS;
	o.tries = TRIES;
	if (ares_init_options(&ch, &o, ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS) {
		snprintf(r->why, sizeof r->why, "c-ares cannot start");
		return -1;
	}
	snprintf(csv, sizeof csv, strchr(s->addr, ':') ? "[%s]:%u" : "%s:%u", s->addr, s->port);
	if (ares_set_servers_ports_csv(ch, csv) != ARES_SUCCESS) {
		snprintf(r->why, sizeof r->why, "bad server address %s", csv);
		goto out;
	}
	if (!(a.msg = malloc(sizeof *a.msg))) {
		snprintf(r->why, sizeof r->why, "out of memory");
		goto out;
	}
	ares_query(ch, name[0] ? name : ".", 1 /* IN */, type, on_answer, &a);
	/* bounded: c-ares gives up after TRIES * TRY_MS; our own deadline on top */
	uint64_t deadline = mono_ms() + (uint64_t)TRIES * TRY_MS * 2 + 1000;
	while (!a.done && mono_ms() < deadline) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd pf[ARES_GETSOCK_MAXNUM];
		int bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM), n = 0;
		/* (c-ares' ARES_GETSOCK_* macros shift a signed 1 into bit 31: UB) */
		unsigned ub = (unsigned)bits;
		for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			bool rd = (ub >> i) & 1u, wr = (ub >> (i + ARES_GETSOCK_MAXNUM)) & 1u;
			if (!rd && !wr)
				continue;
			pf[n].fd = socks[i];
			pf[n].events = (short)((rd ? POLLIN : 0) | (wr ? POLLOUT : 0));
			pf[n].revents = 0;
			n++;
		}
		struct timeval tv, *t = ares_timeout(ch, NULL, &tv);
		int ms = t ? (int)(t->tv_sec * 1000 + t->tv_usec / 1000) + 1 : 100;
		if (poll(pf, (nfds_t)n, ms) < 0 && errno != EINTR)
			break;
		if (n == 0)
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
		for (int i = 0; i < n; i++)
			ares_process_fd(ch, pf[i].revents & (POLLIN | POLLERR | POLLHUP) ? pf[i].fd : ARES_SOCKET_BAD,
					pf[i].revents & POLLOUT ? pf[i].fd : ARES_SOCKET_BAD);
		if (n && !a.done)   /* timeouts */
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	}
	if (!a.done)
		snprintf(r->why, sizeof r->why, "no answer");
	else if (a.parse_err == -ENODATA)
		snprintf(r->why, sizeof r->why, "%s", ares_strerror(a.status));
	else if (a.parse_err < 0)
		snprintf(r->why, sizeof r->why, "a malformed answer");
	else {
		dnsprobe_judge(a.msg, name, type, r);
		rc = 0;
	}
out:
	ares_destroy(ch);   /* cancels a pending query: on_answer runs, a still valid */
	free(a.msg);
	return rc;
}

static const char *type_name(uint16_t t)
{
	return t == DNSPROBE_SOA ? "SOA" : t == DNSPROBE_NS ? "NS" : t == DNSPROBE_A ? "A" : "AAAA";
}

/* Record one step, print it in text mode. */
static void step(struct check *c, const char *name, uint16_t type, const struct server *s,
		 const struct dnsprobe_result *r, bool good, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static void step(struct check *c, const char *name, uint16_t type, const struct server *s,
		 const struct dnsprobe_result *r, bool good, const char *fmt, ...)
{
	char what[512], srv[DNSPROBE_ADDR_MAX + 16];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(srv, sizeof srv, strchr(s->addr, ':') ? "[%s]:%u" : "%s:%u", s->addr, s->port);
	if (!good)
		c->ok = false;
	if (!c->json) {
		printf("  %-4s %-40s @%-21s %s %s\n", type_name(type), name[0] ? name : ".", srv,
		       good ? "ok  " : "FAIL", what);
		return;
	}
	struct json_object *j = json_object_new_object();
	json_object_object_add(j, "query", json_object_new_string(type_name(type)));
	json_object_object_add(j, "name", json_object_new_string(name));
	json_object_object_add(j, "server", json_object_new_string(srv));
	json_object_object_add(j, "ok", json_object_new_boolean(good));
	json_object_object_add(j, "result", json_object_new_string(dnsprobe_verdict_name(r->verdict)));
	json_object_object_add(j, "detail", json_object_new_string(what));
	if (r->n_ns) {
		struct json_object *a = json_object_new_array();
		for (size_t i = 0; i < r->n_ns; i++) {
			struct json_object *x = json_object_new_object();
			json_object_object_add(x, "host", json_object_new_string(r->ns[i].host));
			json_object_object_add(x, "addr", json_object_new_string(r->ns[i].addr));
			json_object_array_add(a, x);
		}
		json_object_object_add(j, "ns", a);
	}
	if (r->n_addrs) {
		struct json_object *a = json_object_new_array();
		for (size_t i = 0; i < r->n_addrs; i++)
			json_object_array_add(a, json_object_new_string(r->addrs[i]));
		json_object_object_add(j, "addrs", a);
	}
	json_object_array_add(c->steps, j);
}

/* The address of a delegation's first name server that has one: the glue,
 * else an A question to the server that gave the delegation. */
static bool ns_addr(struct check *c, const struct server *at, struct dnsprobe_result *del,
		    struct server *next)
{
	for (size_t i = 0; i < del->n_ns; i++) {
		if (del->ns[i].addr[0]) {
			snprintf(next->addr, sizeof next->addr, "%s", del->ns[i].addr);
			next->port = c->start.port;
			return true;
		}
	}
	for (size_t i = 0; i < del->n_ns; i++) {
		struct dnsprobe_result r;
		if (ask(c, at, del->ns[i].host, DNSPROBE_A, &r) == 0 && r.verdict == DNSPROBE_ADDRESS) {
			snprintf(del->ns[i].addr, sizeof del->ns[i].addr, "%s", r.addrs[0]);
			snprintf(next->addr, sizeof next->addr, "%s", r.addrs[0]);
			next->port = c->start.port;
			return true;
		}
	}
	return false;
}

static bool below(const char *name, const char *zone)
{
	size_t n = strlen(name), z = strlen(zone);

	return n > z + 1 && name[n - z - 1] == '.' && !strcmp(name + n - z, zone);
}

/* Walk from domain down to target (a zone, or with is_name a name whose A
 * is asked at the end). Steps go to c->steps; c->ok false on any failure. */
static void walk(struct check *c, const char *domain, const char *target, bool is_name)
{
	struct server cur = c->start;
	struct dnsprobe_result r;
	const char *path[MAX_LABELS];
	size_t np = 0;
	char zone[DNSPROBE_NAME_MAX];

	c->questions = 0;
	c->ok = true;
	if (strcmp(target, domain) && !below(target, domain)) {
		r.verdict = DNSPROBE_BAD;
		r.n_ns = r.n_addrs = 0;
		step(c, target, DNSPROBE_SOA, &cur, &r, false, "not inside the mesh domain %s", domain);
		return;
	}
	/* the names between the domain and the target, top down */
	for (const char *p = target; p && below(p, domain) && np < MAX_LABELS; p = strchr(p, '.'), p = p ? p + 1 : p)
		path[np++] = p;
	if (ask(c, &cur, domain, DNSPROBE_SOA, &r) < 0 || r.verdict != DNSPROBE_AUTH) {
		step(c, domain, DNSPROBE_SOA, &cur, &r, false, "%s", r.why[0] ? r.why : dnsprobe_verdict_name(r.verdict));
		return;
	}
	step(c, domain, DNSPROBE_SOA, &cur, &r, true, "authoritative (serial %u)", r.serial);
	snprintf(zone, sizeof zone, "%s", domain);
	while (np > 0) {
		const char *n = path[--np];
		bool last = np == 0;
		if (ask(c, &cur, n, DNSPROBE_NS, &r) < 0 || r.verdict == DNSPROBE_BAD) {
			step(c, n, DNSPROBE_NS, &cur, &r, false, "%s", r.why);
			return;
		}
		if (r.verdict == DNSPROBE_NODATA || r.verdict == DNSPROBE_NXDOMAIN) {
			/* no cut here: fine on the way down (or for a name's own
			 * level), not for the zone asked about; no such name never */
			bool fine = (!last || is_name) && r.verdict == DNSPROBE_NODATA;
			step(c, n, DNSPROBE_NS, &cur, &r, fine, "%s inside %s",
			     r.verdict == DNSPROBE_NXDOMAIN ? "no such name" : "no zone cut:", r.owner);
			if (!fine)
				return;
			continue;
		}
		if ((r.verdict != DNSPROBE_DELEGATION && r.verdict != DNSPROBE_REFERRAL) ||
		    strcmp(r.owner, n) || r.n_ns == 0) {
			step(c, n, DNSPROBE_NS, &cur, &r, false, "unexpected %s for %s",
			     dnsprobe_verdict_name(r.verdict), r.owner);
			return;
		}
		struct server next;
		if (!ns_addr(c, &cur, &r, &next)) {
			step(c, n, DNSPROBE_NS, &cur, &r, false, "delegated to %s, but it has no address",
			     r.ns[0].host);
			return;
		}
		step(c, n, DNSPROBE_NS, &cur, &r, true, "%s to %s (%s)",
		     r.verdict == DNSPROBE_REFERRAL ? "referral" : "delegated", r.ns[0].host, next.addr);
		cur = next;
		if (ask(c, &cur, n, DNSPROBE_SOA, &r) < 0 || r.verdict != DNSPROBE_AUTH) {
			step(c, n, DNSPROBE_SOA, &cur, &r, false, "%s",
			     r.why[0] ? r.why : dnsprobe_verdict_name(r.verdict));
			return;
		}
		step(c, n, DNSPROBE_SOA, &cur, &r, true, "authoritative (serial %u)", r.serial);
		snprintf(zone, sizeof zone, "%s", n);
	}
	if (!is_name)
		return;
	bool v6 = false;
	if (ask(c, &cur, target, DNSPROBE_A, &r) == 0 && r.verdict != DNSPROBE_ADDRESS &&
	    r.verdict != DNSPROBE_BAD) {
		v6 = true;
		ask(c, &cur, target, DNSPROBE_AAAA, &r);
	}
	if (r.verdict != DNSPROBE_ADDRESS) {
		step(c, target, v6 ? DNSPROBE_AAAA : DNSPROBE_A, &cur, &r, false, "%s in %s",
		     r.why[0] ? r.why : dnsprobe_verdict_name(r.verdict), zone);
		return;
	}
	char list[400] = "";
	for (size_t i = 0; i < r.n_addrs; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? " " : "", r.addrs[i]);
	step(c, target, v6 ? DNSPROBE_AAAA : DNSPROBE_A, &cur, &r, true, "%s", list);
}

/* "ADDR", "ADDR:PORT", "[V6]:PORT" or a bare IPv6 address. */
static int parse_server(const char *s, struct server *out)
{
	unsigned char bin[16];
	const char *colon = strrchr(s, ':');

	out->port = 53;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || (size_t)(end - s - 1) >= sizeof out->addr)
			return -1;
		snprintf(out->addr, sizeof out->addr, "%.*s", (int)(end - s - 1), s + 1);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] && !colon)
			return -1;
	} else if (colon && strchr(s, ':') == colon) {
		if ((size_t)(colon - s) >= sizeof out->addr)
			return -1;
		memcpy(out->addr, s, (size_t)(colon - s));
		out->addr[colon - s] = 0;
	} else {
		colon = NULL;
		if (strlen(s) >= sizeof out->addr)
			return -1;
		snprintf(out->addr, sizeof out->addr, "%s", s);
	}
	if (colon) {
		uint64_t p;
		if (ctl_parse_u64(colon + 1, &p) < 0 || p == 0 || p > 65535)
			return -1;
		out->port = (unsigned)p;
	}
	if (inet_pton(AF_INET, out->addr, bin) != 1 && inet_pton(AF_INET6, out->addr, bin) != 1)
		return -1;
	return 0;
}

int ctl_dns_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "server", required_argument, NULL, 's' },
		{ "name", required_argument, NULL, 'n' }, { "domain", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	static const char usage[] = "dns check [ZONE] [--server ADDR[:PORT]] [--name NAME] "
				    "[--domain D] [--json]";
	struct check c;
	const char *server = NULL, *name = NULL, *domain_opt = NULL;
	char domain[DNSPROBE_NAME_MAX] = "";
	struct json_object *st = NULL, *list = NULL, *out = NULL;
	const char *targets[4096];
	size_t nt = 0;
	bool all_ok = true;
	int opt;

	memset(&c, 0, sizeof c);
	ares_library_init(ARES_LIB_INIT_ALL);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': c.json = true; break;
		case 's': server = optarg; break;
		case 'n': name = optarg; break;
		case 'd': domain_opt = optarg; break;
		case 'h': printf("usage: mirrornetctl %s\n", usage); return CTL_OK;
		default: ctl_err("usage: mirrornetctl %s", usage); return CTL_USAGE;
		}
	}
	if (argc - optind > 1) {
		ctl_err("usage: mirrornetctl %s", usage);
		return CTL_USAGE;
	}
	const char *zone = optind < argc ? argv[optind] : NULL;
	if (server && parse_server(server, &c.start) < 0) {
		ctl_err("dns check: --server ADDR[:PORT] (an IP address)");
		return CTL_USAGE;
	}
	/* the domain and the start server from the local daemon */
	if (!domain_opt || !server || !zone) {
		int rc = ctl_call(NULL, "status", NULL, &st);
		if (rc != CTL_OK)
			return rc;
		struct json_object *dns;
		if (json_object_object_get_ex(st, "dns", &dns)) {
			const char *dom = json_get_str(dns, "domain"), *a = json_get_str(dns, "addr"), *srv = json_get_str(dns, "server");
			struct json_object *p;
			if (dom)
				snprintf(domain, sizeof domain, "%s", dom);
			if (!server && a && a[0] && srv && strcmp(srv, "none") && strcmp(srv, "dnsmasq")) {
				snprintf(c.start.addr, sizeof c.start.addr, "%s", a);
				c.start.port = json_object_object_get_ex(dns, "port", &p) ?
					       (unsigned)json_object_get_int(p) : 53;
				server = a;
			}
		}
	}
	if (domain_opt)
		snprintf(domain, sizeof domain, "%s", domain_opt);
	if (!domain[0]) {
		ctl_err("dns check: the mesh has no DNS domain here (--domain D)");
		json_object_put(st);
		return CTL_FAIL;
	}
	if (!zone || !server) {
		struct json_object *req = json_object_new_object();
		json_object_object_add(req, "kind", json_object_new_string("dns"));
		int rc = ctl_call(NULL, "records", req, &list);
		if (rc != CTL_OK) {
			json_object_put(st);
			return rc;
		}
	}
	size_t nl = list ? json_object_array_length(list) : 0;
	if (!server) {   /* the apex's name server, from its record */
		for (size_t i = 0; i < nl && !server; i++) {
			struct json_object *x = json_object_array_get_idx(list, i), *b, *ns;
			const char *k = json_get_str(x, "key");
			if (!k || strcmp(k, domain) || !json_object_object_get_ex(x, "body", &b) ||
			    !json_object_object_get_ex(b, "ns", &ns) || !json_object_array_length(ns))
				continue;
			const char *a = json_get_str(json_object_array_get_idx(ns, 0), "addr");
			if (a && parse_server(a, &c.start) == 0)
				server = a;
		}
		if (!server) {
			ctl_err("dns check: no DNS server known to start at (--server ADDR[:PORT])");
			json_object_put(st);
			json_object_put(list);
			return CTL_FAIL;
		}
	}
	if (zone || name) {
		targets[nt++] = zone ? zone : name;
	} else {
		targets[nt++] = domain;
		for (size_t i = 0; i < nl && nt < sizeof targets / sizeof targets[0]; i++) {
			struct json_object *x = json_object_array_get_idx(list, i), *b, *ns;
			const char *k = json_get_str(x, "key");
			bool dup = false;
			if (!k || !json_object_object_get_ex(x, "body", &b) ||
			    !json_object_object_get_ex(b, "ns", &ns) || !json_object_array_length(ns))
				continue;   /* a zone given back */
			for (size_t j = 0; j < nt; j++)
				dup |= !strcmp(targets[j], k);
			if (!dup)
				targets[nt++] = k;
		}
	}
	if (c.json)
		out = json_object_new_array();
	for (size_t i = 0; i < nt; i++) {
		char full[DNSPROBE_NAME_MAX];
		const char *t = targets[i];
		bool is_name = false;
		if (name && zone) {   /* NAME relative to ZONE unless it ends with it */
			size_t nn = strlen(name), zn = strlen(zone);
			if (nn > zn && !strcmp(name + nn - zn, zone) && name[nn - zn - 1] == '.')
				snprintf(full, sizeof full, "%s", name);
			else
				snprintf(full, sizeof full, "%s.%s", name, zone);
			t = full;
			is_name = true;
		} else if (name) {
			is_name = true;
		}
		c.steps = json_object_new_array();
		if (!c.json)
			printf("%s %s\n", is_name ? "name" : "zone", t);
		walk(&c, domain, t, is_name);
		all_ok &= c.ok;
		if (c.json) {
			struct json_object *z = json_object_new_object();
			json_object_object_add(z, is_name ? "name" : "zone", json_object_new_string(t));
			json_object_object_add(z, "ok", json_object_new_boolean(c.ok));
			json_object_object_add(z, "steps", c.steps);
			json_object_array_add(out, z);
		} else {
			json_object_put(c.steps);
			printf("  => %s\n", c.ok ? "ok" : "FAILED");
		}
	}
	if (c.json) {
		ctl_print_json(out);
		json_object_put(out);
	}
	json_object_put(st);
	json_object_put(list);
	return all_ok ? CTL_OK : CTL_FAIL;
}
