/* HAProxy configuration from exposure routes (hacfg.h, docs/expose.md). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "src/expose/hacfg.h"

const char *const hacfg_file_names[HACFG_NFILES] = {
	"haproxy.cfg", "sni.map", "host.map", "own.map", "acme.lst", "hop_src.lst",
};

bool hacfg_addr_ok(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* "ip:port" or "[v6]:port" into the address and port; false if neither. */
static bool split_hostport(const char *s, char *addr, size_t cap, unsigned *port)
{
	const char *colon;
	size_t n;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return false;
		n = (size_t)(close - s - 1);
		colon = close + 1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			return false;
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= cap)
		return false;
	memcpy(addr, s, n);
	addr[n] = 0;
	char *end;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || p == 0 || p > 65535)
		return false;
	*port = (unsigned)p;
	return hacfg_addr_ok(addr);
}

bool hacfg_backend_ok(const char *s)
{
	char a[MN_MAX_ADDR + 1];
	unsigned p;

	return split_hostport(s, a, sizeof a, &p);
}

bool hacfg_path_ok(const char *s)
{
	if (s[0] != '/' || strlen(s) > HACFG_MAX_PATH)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("._~/-", *s)))
			return false;
	return true;
}

/* A directory HAProxy reads or binds under: absolute, of [A-Za-z0-9._/-]. */
static bool dir_ok(const char *s)
{
	if (s[0] != '/')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("._/-", *s)))
			return false;
	return true;
}

bool hacfg_name_ok(const char *s)
{
	return dns_name_lower(s);
}

static bool port_ok(unsigned p)
{
	return p >= 1 && p <= 65535;
}

struct gen {
	FILE *f[HACFG_NFILES];
	const struct hacfg *c;
	size_t *first;   /* [i]: the first route with route i's name (i: none before) */
	void (*report)(void *arg, const char *msg);
	void *arg;
};

__attribute__((format(printf, 2, 3)))
static void reportf(struct gen *g, const char *fmt, ...)
{
	char m[MN_MAX_DOMAIN * 2 + 160];
	va_list ap;

	if (!g->report)
		return;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	g->report(g->arg, m);
}

/* A route's local backend names: L_<service>_h (HTTP) / _t (TCP). */
static void local_backend(struct gen *g, const struct hacfg_route *r)
{
	FILE *f = g->f[HACFG_CFG];
	char host[MN_MAX_ADDR + 1];
	unsigned port;

	split_hostport(r->backend, host, sizeof host, &port);
	bool http = r->proto == EXPOSE_HTTP;
	fprintf(f, "\nbackend L_%s_%c\n\tmode %s\n", r->service, http ? 'h' : 't', http ? "http" : "tcp");
	if (http) {
		fprintf(f, "\toption forwardfor\n");
		if (r->health[0])
			fprintf(f, "\toption httpchk GET %s\n\thttp-check expect status 200-399\n", r->health);
	}
	fprintf(f, "\tserver s %s:%u%s%s\n", host, port, r->send_proxy ? " send-proxy-v2" : "",
		r->health[0] ? " check inter 5s" : "");
}

/* The frontends' common part: SNI (tls) or Host (http) routing by a map. */
static void route_lines(FILE *f, const char *d, bool tls, bool acme)
{
	if (tls) {
		fprintf(f, "\ttcp-request inspect-delay 5s\n"
			   "\ttcp-request content reject unless { req.ssl_hello_type 1 }\n"
			   "\tuse_backend %%[req.ssl_sni,lower,map(%s/sni.map)]\n", d);
		return;
	}
	if (acme)
		fprintf(f, "\tuse_backend acme if { path_beg /.well-known/acme-challenge/ } "
			   "{ req.hdr(host),lower,word(1,:) -f %s/acme.lst }\n", d);
	fprintf(f, "\tuse_backend %%[req.hdr(host),lower,word(1,:),map(%s/host.map)]\n", d);
}

static void frontends(struct gen *g, bool term)
{
	const struct hacfg *c = g->c;
	FILE *f = g->f[HACFG_CFG];
	bool acme = c->acme[0] != 0;

	if (c->public_addr[0]) {
		fprintf(f, "\nfrontend tls_public\n\tmode tcp\n\tbind %s:%u\n", c->public_addr, c->https_port);
		route_lines(f, c->gen_dir, true, acme);
		fprintf(f, "\nfrontend http_public\n\tmode http\n\tbind %s:%u\n", c->public_addr, c->http_port);
		route_lines(f, c->gen_dir, false, acme);
	}
	if (c->mesh_addr[0]) {
		/* from the parent (or a node mirroring our names) only, with the
		 * client's address in a PROXY v2 header */
		fprintf(f, "\nfrontend tls_hop\n\tmode tcp\n\tbind %s:%u accept-proxy\n"
			   "\ttcp-request connection reject unless { src -f %s/hop_src.lst }\n",
			c->mesh_addr, c->hop_tls_port, c->gen_dir);
		route_lines(f, c->gen_dir, true, acme);
		fprintf(f, "\nfrontend http_hop\n\tmode http\n\tbind %s:%u accept-proxy\n"
			   "\ttcp-request connection reject unless { src -f %s/hop_src.lst }\n",
			c->mesh_addr, c->hop_http_port, c->gen_dir);
		route_lines(f, c->gen_dir, false, acme);
	}
	if (term) {
		/* TLS ended here, for our own HTTP services: a loop through a
		 * socket keeps the client's address (PROXY v2) */
		fprintf(f, "\nfrontend term\n\tmode http\n\tbind unix@%s/term.sock accept-proxy ssl crt %s\n"
			   "\tuse_backend %%[req.hdr(host),lower,word(1,:),map(%s/own.map)]\n"
			   "\nbackend term\n\tmode tcp\n\tserver term unix@%s/term.sock send-proxy-v2\n",
			c->run_dir, c->cert_dir, c->gen_dir, c->run_dir);
	}
	if (acme)
		fprintf(f, "\nbackend acme\n\tmode http\n\tserver acme %s\n", c->acme);
}

/* TCP routes: a frontend per port, on the public address and the mesh. */
static void tcp_frontend(struct gen *g, const struct hacfg_route *r)
{
	const struct hacfg *c = g->c;
	FILE *f = g->f[HACFG_CFG];

	fprintf(f, "\nfrontend tcp_%u\n\tmode tcp\n", (unsigned)r->port);
	if (c->public_addr[0])
		fprintf(f, "\tbind %s:%u\n", c->public_addr, (unsigned)r->port);
	if (c->mesh_addr[0])
		fprintf(f, "\tbind %s:%u accept-proxy\n"
			   "\ttcp-request connection reject if { dst %s } !{ src -f %s/hop_src.lst }\n",
			c->mesh_addr, (unsigned)r->port, c->mesh_addr, c->gen_dir);
	if (r->hop < 0)
		fprintf(f, "\tdefault_backend L_%s_t\n", r->service);
	else
		fprintf(f, "\tdefault_backend H%d_p%u\n", r->hop, (unsigned)r->port);
}

/* Is the route writable? (else reported and skipped) */
static bool route_ok(struct gen *g, const struct hacfg_route *r, size_t i)
{
	const struct hacfg *c = g->c;
	const struct hacfg_route *rs = c->routes;
	char p[8];

	if (!hacfg_name_ok(r->name)) {
		reportf(g, "%s: not a lowercase DNS name", r->name);
		return false;
	}
	if (r->proto > EXPOSE_PROTO_MAX || (r->hop >= 0 && (size_t)r->hop >= c->nhops) ||
	    (r->hop >= 0 && !hacfg_addr_ok(c->hops[r->hop]))) {
		reportf(g, "%s: no route", r->name);
		return false;
	}
	if (r->hop < 0 && (!hacfg_name_ok(r->service) || !hacfg_backend_ok(r->backend) ||
			   (r->health[0] && !hacfg_path_ok(r->health)))) {
		reportf(g, "%s: a bad service name, backend or health path (%s)", r->name, r->service);
		return false;
	}
	if (g->first[i] != i) {
		reportf(g, "%s: the name is routed already (service %s)", r->name, rs[g->first[i]].service);
		return false;
	}
	if (r->proto == EXPOSE_TCP) {
		snprintf(p, sizeof p, "%u", (unsigned)r->port);
		if (r->port == 0 || (c->public_addr[0] && (r->port == c->http_port || r->port == c->https_port)) ||
		    (c->mesh_addr[0] && (r->port == c->hop_http_port || r->port == c->hop_tls_port))) {
			reportf(g, "%s: TCP port %s is one of the proxy's own", r->name, p);
			return false;
		}
		for (size_t k = 0; k < i; k++)
			if (rs[k].proto == EXPOSE_TCP && rs[k].port == r->port) {
				reportf(g, "%s: TCP port %s is taken by an earlier name", r->name, p);
				return false;
			}
	}
	return true;
}

static int check_conf(const struct hacfg *c, char *msg, size_t cap)
{
	if (!dir_ok(c->run_dir) || strlen(c->run_dir) > 90) {   /* a socket path: 108 bytes */
		snprintf(msg, cap, "run directory: an absolute path of [A-Za-z0-9._/-], at most 90 bytes");
		return -EINVAL;
	}
	if (!dir_ok(c->gen_dir)) {
		snprintf(msg, cap, "generation directory: an absolute path of [A-Za-z0-9._/-]");
		return -EINVAL;
	}
	if (c->cert_dir[0] && !dir_ok(c->cert_dir)) {
		snprintf(msg, cap, "certificate directory: an absolute path of [A-Za-z0-9._/-]");
		return -EINVAL;
	}
	if ((c->public_addr[0] && (!hacfg_addr_ok(c->public_addr) || !port_ok(c->http_port) ||
				   !port_ok(c->https_port) || c->http_port == c->https_port)) ||
	    (c->mesh_addr[0] && (!hacfg_addr_ok(c->mesh_addr) || !port_ok(c->hop_http_port) ||
				 !port_ok(c->hop_tls_port) || c->hop_http_port == c->hop_tls_port))) {
		snprintf(msg, cap, "listen: an IP address and distinct ports 1..65535");
		return -EINVAL;
	}
	if (c->acme[0] && !hacfg_backend_ok(c->acme)) {
		snprintf(msg, cap, "ACME answerer: an ip:port");
		return -EINVAL;
	}
	for (size_t i = 0; i < c->nsrc; i++)
		if (!hacfg_addr_ok(c->hop_src[i])) {
			snprintf(msg, cap, "hop source %s: not an IP address", c->hop_src[i]);
			return -EINVAL;
		}
	return 0;
}

void hacfg_out_free(struct hacfg_out *out)
{
	for (int i = 0; i < HACFG_NFILES; i++) {
		free(out->text[i]);
		out->text[i] = NULL;
	}
}

/* first[i] for every route (struct gen) in n log n: sorted by name, then
 * by position, each route's first is the head of its run. */
struct by { const char *name; size_t i; };
static int by_name_pos(const void *a, const void *b)
{
	const struct by *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

static size_t *first_of_names(const struct hacfg_route *rs, size_t n)
{
	struct by *v = malloc(n * sizeof *v);
	size_t *first = malloc(n * sizeof *first);

	if (!v || !first) {
		free(v);
		free(first);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		v[i] = (struct by){ rs[i].name, i };
	qsort(v, n, sizeof *v, by_name_pos);
	for (size_t k = 0; k < n; k++)
		first[v[k].i] = k && !strcmp(v[k - 1].name, v[k].name) ? first[v[k - 1].i] : v[k].i;
	free(v);
	return first;
}

/* host:port into HAProxy's form (an IPv6 address without brackets). */
static void ha_addr(const char *hostport, char *out, size_t cap)
{
	char a[MN_MAX_ADDR + 1];
	unsigned p;

	if (split_hostport(hostport, a, sizeof a, &p))
		snprintf(out, cap, "%s:%u", a, p);
	else
		snprintf(out, cap, "%s", hostport);
}

int hacfg_render(const struct hacfg *c, struct hacfg_out *out,
		 void (*report)(void *arg, const char *msg), void *arg, char *msg, size_t cap)
{
	struct gen g = { .c = c, .report = report, .arg = arg };
	bool *ok = NULL, term = false, ferr = false;
	char acme[MN_MAX_ENDPOINT + 1];
	int rc = check_conf(c, msg, cap);

	memset(out, 0, sizeof *out);
	if (rc < 0)
		return rc;
	if (c->nroutes && (!(ok = calloc(c->nroutes, sizeof *ok)) ||
			   !(g.first = first_of_names(c->routes, c->nroutes)))) {
		free(ok);
		return -ENOMEM;
	}
	for (int i = 0; i < HACFG_NFILES; i++)
		if (!(g.f[i] = open_memstream(&out->text[i], &out->len[i])))
			ferr = true;
	for (size_t i = 0; !ferr && i < c->nroutes; i++) {
		const struct hacfg_route *r = &c->routes[i];
		if (!(ok[i] = route_ok(&g, r, i))) {
			out->skipped++;
			continue;
		}
		out->routes++;
		term |= r->hop < 0 && r->proto == EXPOSE_HTTP && c->cert_dir[0];
	}
	FILE *f = g.f[HACFG_CFG];
	if (!ferr) {
		struct hacfg cc = *c;
		if (c->acme[0]) {
			ha_addr(c->acme, acme, sizeof acme);
			snprintf(cc.acme, sizeof cc.acme, "%s", acme);
		}
		g.c = &cc;
		fprintf(f, "# mirrornetd: the mesh's exposures (written when they change; do not edit)\n"
			   "global\n\tmaxconn %u\n"
			   "\tstats socket %s/haproxy.sock mode 600 level admin\n"
			   "\thard-stop-after 10m\n"
			   "\ndefaults\n\ttimeout connect 5s\n\ttimeout client 60s\n\ttimeout server 60s\n"
			   "\ttimeout tunnel 1h\n\ttimeout http-request 10s\n\ttimeout client-fin 5s\n",
			c->maxconn ? c->maxconn : 2000, c->run_dir);
		frontends(&g, term);
		for (size_t i = 0; i < c->nroutes; i++)
			if (ok[i] && c->routes[i].proto == EXPOSE_TCP)
				tcp_frontend(&g, &c->routes[i]);
		g.c = c;
		/* next hops: HTTP and TLS to its hop ports, each TCP port as is */
		for (size_t h = 0; h < c->nhops; h++) {
			fprintf(f, "\nbackend H%zu_h\n\tmode http\n\tserver s %s:%u send-proxy-v2\n"
				   "\nbackend H%zu_t\n\tmode tcp\n\tserver s %s:%u send-proxy-v2\n",
				h, c->hops[h], c->hop_http_port, h, c->hops[h], c->hop_tls_port);
			for (size_t i = 0; i < c->nroutes; i++)
				if (ok[i] && c->routes[i].hop == (int)h && c->routes[i].proto == EXPOSE_TCP)
					fprintf(f, "\nbackend H%zu_p%u\n\tmode tcp\n\tserver s %s:%u send-proxy-v2\n",
						h, (unsigned)c->routes[i].port, c->hops[h],
						(unsigned)c->routes[i].port);
		}
		for (size_t i = 0; i < c->nroutes; i++) {
			const struct hacfg_route *r = &c->routes[i];
			if (!ok[i])
				continue;
			if (r->hop >= 0) {
				/* everything for a name below goes down: TLS by SNI,
				 * HTTP (ACME's too) by Host; a TCP name by its port */
				if (r->proto != EXPOSE_TCP) {
					fprintf(g.f[HACFG_SNI], "%s H%d_t\n", r->name, r->hop);
					fprintf(g.f[HACFG_HOST], "%s H%d_h\n", r->name, r->hop);
				}
				continue;
			}
			local_backend(&g, r);
			fprintf(g.f[HACFG_ACME], "%s\n", r->name);
			if (r->proto == EXPOSE_HTTP) {
				fprintf(g.f[HACFG_HOST], "%s L_%s_h\n", r->name, r->service);
				fprintf(g.f[HACFG_OWN], "%s L_%s_h\n", r->name, r->service);
				if (c->cert_dir[0])
					fprintf(g.f[HACFG_SNI], "%s term\n", r->name);
			} else if (r->proto == EXPOSE_TLS) {
				fprintf(g.f[HACFG_SNI], "%s L_%s_t\n", r->name, r->service);
			}
		}
		for (size_t i = 0; i < c->nsrc; i++)
			fprintf(g.f[HACFG_SRC], "%s\n", c->hop_src[i]);
	}
	for (int i = 0; i < HACFG_NFILES; i++)
		if (g.f[i] && fclose(g.f[i]) != 0)
			ferr = true;
	free(ok);
	free(g.first);
	if (ferr) {
		hacfg_out_free(out);
		snprintf(msg, cap, "out of memory");
		return -ENOMEM;
	}
	return 0;
}
