/* The exposure subsystem (docs/expose.md): services this box publishes
 * ("my gitea on 127.0.0.1:3000 as git.node1.example.io"), as signed expose
 * records, and the mesh's CDN built from everyone's: the configuration of a
 * MirrorNet-owned HAProxy in which each node serves its own names from
 * their local backends and passes its descendants' names one step down the
 * certificate chain (root → sub-master → leaf), or straight to the origin
 * for the names it mirrors. TLS is routed by SNI and passed through (keys
 * stay with the owner), HTTP by Host, with PROXY v2 between hops so the
 * owner sees the client's address.
 *
 * A record never names an address: a route goes to the origin's (or the
 * next child's) certified mesh address; a local backend stays in this
 * box's own list (config file lines and the state table), never in the
 * mesh. Every generation is checked with `haproxy -c` before it is
 * switched to; a failing one leaves the running config as it was and says
 * why in status. */
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "src/daemon/subsys.h"
#include "src/daemon/config.h"
#include "src/daemon/expose_chan.h"
#include "src/daemon/haproc.h"
#include "src/daemon/expose_acme.h"
#include "src/expose/hacfg.h"
#include "src/putfile.h"
#include "src/log.h"
#include "crypto/chain.h"
#include "crypto/did.h"
#include "proto/body.h"
#include "proto/hex.h"
#include "proto/proto_err.h"
#include "proto/record.h"
#include "src/body_json.h"

#define EXPOSE_MAX_OWN 64           /* own exposures (config lines and added) */
#define EXPOSE_CONF_LINES 1536      /* bytes of expose lines in the config file */
#define REFRESH_MS (600u * 1000)    /* look at our records' expiry this often */
#define MIRROR_REF_MAX 64           /* a mirror as given: a name, hex key or did */

/* ---- options ---- */

struct expose_conf {
	uint8_t proxy;                    /* 0 none, 1 haproxy */
	char dir[HACFG_DIR_MAX + 1];
	char haproxy[CONFIG_PATH_MAX];
	char public_addr[MN_MAX_ADDR + 1];
	char advertise[MN_MAX_ADDR + 1];  /* the entry point DNS gives ("": public_addr) */
	unsigned http_port, https_port, hop_http_port, hop_tls_port, maxconn;
	char cert_dir[HACFG_DIR_MAX + 1];
	char acme[MN_MAX_ENDPOINT + 1];
	uint64_t ttl_s;
	char lines[EXPOSE_CONF_LINES];    /* the config file's expose lines, "\n"-ended */
	struct expose_chan_conf chan;     /* the Tor and mDNS channels (expose_chan.h) */
	struct acme_conf ac;              /* certificates by ACME (expose_acme.h) */
};

/* One of our own exposures. */
struct own {
	char service[MN_MAX_NAME + 1];
	uint16_t port;
	uint8_t proto, channels;
	char backend[MN_MAX_ENDPOINT + 1];
	char domain[MN_MAX_DOMAIN + 1];
	char mirrors[MN_MAX_MIRRORS][MIRROR_REF_MAX + 1];
	uint8_t n_mirrors;
	char health[HACFG_MAX_PATH + 1];
	bool send_proxy;
	bool from_conf;
};

struct expose {
	struct mn_host *h;
	uv_timer_t refresh;
	bool timer_open;
	struct own *own;                  /* config lines first, then added ones */
	size_t nown;
	/* counters */
	unsigned routes, local, hops, skipped, refused, published, publish_failures;
	unsigned generations;
	char skip_reason[300], publish_error[300];
	uint64_t render_us;               /* how long the last render took */
	struct haproc proc;               /* the HAProxy: generations, checks, its last error */
	struct expose_tor *tor;           /* the channels (expose_tor.c, expose_mdns.c) */
	struct expose_mdns *mdns;
	struct acme *acme;                /* certificates by ACME (expose_acme.c) */
	bool force;                       /* certificates changed: check and reload
					     even if the config text did not */
};

static const struct expose_conf *conf(const struct expose *x)
{
	return host_conf(x->h);
}

static const char *const proto_names[] = { "http", "tls", "tcp" };
static const char *const channel_names[] = { "mesh", "dns", "tor", "mdns" };

/* ---- own exposures: one text form for config lines and the state table ----
 *   SVC PORT [proto=http|tls|tcp] [backend=IP:PORT] [domain=NAME]
 *            [channels=mesh,dns,tor,mdns|all] [mirror=NODE]... [health=PATH]
 *            [send_proxy=yes|no] */

static int parse_channels(const char *s, uint8_t *out)
{
	uint8_t ch = 0;
	char buf[64];

	if (!strcmp(s, "all")) {
		*out = CH_ALL;
		return 0;
	}
	if (strlen(s) >= sizeof buf)
		return -EINVAL;
	snprintf(buf, sizeof buf, "%s", s);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned i;
		for (i = 0; i < 4 && strcmp(t, channel_names[i]); i++)
			;
		if (i == 4)
			return -EINVAL;
		ch |= (uint8_t)(1u << i);
	}
	if (!ch)
		return -EINVAL;
	*out = ch;
	return 0;
}

static void channels_text(uint8_t ch, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = 0;
	for (unsigned i = 0; i < 4; i++)
		if (ch & (1u << i))
			n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? "," : "", channel_names[i]);
}

/* A mirror as given: a node name, a 64-hex key or a did:key. */
static bool mirror_ref_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MIRROR_REF_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == ':'))
			return false;
	return true;
}

/* Check an exposure for what it must be (the same for every source). */
static int own_check(const struct own *o, char *err, size_t cap)
{
	if (!dns_name_valid(o->service, false) || strchr(o->service, '.') || strlen(o->service) > 48) {
		snprintf(err, cap, "service: a DNS label of at most 48 characters (a-z, 0-9, -)");
		return -EINVAL;
	}
	for (const char *p = o->service; *p; p++)
		if (*p >= 'A' && *p <= 'Z') {
			snprintf(err, cap, "service: lowercase");
			return -EINVAL;
		}
	if (o->port == 0) {
		snprintf(err, cap, "port: 1..65535");
		return -EINVAL;
	}
	if (!hacfg_backend_ok(o->backend)) {
		snprintf(err, cap, "backend: an IP address and port on this box, such as 127.0.0.1:3000");
		return -EINVAL;
	}
	if (o->domain[0]) {
		bool lower = true;
		for (const char *p = o->domain; *p; p++)
			lower &= !(*p >= 'A' && *p <= 'Z');
		if (!dns_name_valid(o->domain, false) || !lower) {
			snprintf(err, cap, "domain: a lowercase DNS name");
			return -EINVAL;
		}
	}
	if (o->health[0] && !hacfg_path_ok(o->health)) {
		snprintf(err, cap, "health: a path such as /healthz ([A-Za-z0-9._~/-], at most %d bytes)",
			 HACFG_MAX_PATH);
		return -EINVAL;
	}
	if (o->proto > EXPOSE_PROTO_MAX || o->channels > CH_ALL) {
		snprintf(err, cap, "proto or channels out of range");
		return -EINVAL;
	}
	for (unsigned i = 0; i < o->n_mirrors; i++)
		if (!mirror_ref_ok(o->mirrors[i])) {
			snprintf(err, cap, "mirror: a member's name, hex key or did:key");
			return -EINVAL;
		}
	return 0;
}

static int own_parse(char *line, struct own *o, char *err, size_t cap)
{
	char *save = NULL, *t;
	char *svc = strtok_r(line, " \t", &save), *port = strtok_r(NULL, " \t", &save);
	unsigned long p;
	char *end;

	memset(o, 0, sizeof *o);   /* channels 0: the default (own_body) */
	if (!svc || !port) {
		snprintf(err, cap, "expose: SERVICE PORT [proto=..] [backend=IP:PORT] [domain=..] "
			 "[channels=..] [mirror=NODE].. [health=PATH] [send_proxy=yes]");
		return -EINVAL;
	}
	snprintf(o->service, sizeof o->service, "%.*s", MN_MAX_NAME, svc);
	p = strtoul(port, &end, 10);
	if (*port < '0' || *port > '9' || *end || p == 0 || p > 65535) {
		snprintf(err, cap, "expose %s: port: 1..65535", o->service);
		return -EINVAL;
	}
	o->port = (uint16_t)p;
	snprintf(o->backend, sizeof o->backend, "127.0.0.1:%lu", p);
	bool chan_given = false;
	while ((t = strtok_r(NULL, " \t", &save))) {
		char *v = strchr(t, '=');
		size_t n;
		if (!v)
			goto bad;
		*v++ = 0;
		n = strlen(v);
		if (!strcmp(t, "proto")) {
			unsigned i;
			for (i = 0; i <= EXPOSE_PROTO_MAX && strcmp(v, proto_names[i]); i++)
				;
			if (i > EXPOSE_PROTO_MAX)
				goto bad;
			o->proto = (uint8_t)i;
		} else if (!strcmp(t, "backend") && n < sizeof o->backend) {
			memcpy(o->backend, v, n + 1);
		} else if (!strcmp(t, "domain") && n < sizeof o->domain) {
			memcpy(o->domain, v, n + 1);
		} else if (!strcmp(t, "channels")) {
			if (parse_channels(v, &o->channels) < 0)
				goto bad;
			chan_given = true;
		} else if (!strcmp(t, "mirror") && n <= MIRROR_REF_MAX) {
			if (o->n_mirrors == MN_MAX_MIRRORS) {
				snprintf(err, cap, "expose %s: at most %d mirrors", o->service, MN_MAX_MIRRORS);
				return -EINVAL;
			}
			memcpy(o->mirrors[o->n_mirrors++], v, n + 1);
		} else if (!strcmp(t, "health") && n <= HACFG_MAX_PATH) {
			memcpy(o->health, v, n + 1);
		} else if (!strcmp(t, "send_proxy") && (!strcmp(v, "yes") || !strcmp(v, "no"))) {
			o->send_proxy = !strcmp(v, "yes");
		} else {
			goto bad;
		}
		continue;
bad:
		snprintf(err, cap, "expose %s: bad option '%s' (proto=http|tls|tcp, backend=IP:PORT, "
			 "domain=NAME, channels=mesh,dns,tor,mdns|all, mirror=NODE, health=PATH, "
			 "send_proxy=yes|no)", o->service, t);
		return -EINVAL;
	}
	(void)chan_given;
	char e[200];
	if (own_check(o, e, sizeof e) < 0) {
		snprintf(err, cap, "expose %s: %s", o->service, e);
		return -EINVAL;
	}
	return 0;
}

static int own_format(const struct own *o, char *out, size_t cap)
{
	char ch[32];
	size_t n;

	channels_text(o->channels, ch, sizeof ch);
	n = (size_t)snprintf(out, cap, "%s %u proto=%s backend=%s", o->service,
			     (unsigned)o->port, proto_names[o->proto], o->backend);
	if (o->channels && n < cap)
		n += (size_t)snprintf(out + n, cap - n, " channels=%s", ch);
	if (o->domain[0] && n < cap)
		n += (size_t)snprintf(out + n, cap - n, " domain=%s", o->domain);
	for (unsigned i = 0; i < o->n_mirrors && n < cap; i++)
		n += (size_t)snprintf(out + n, cap - n, " mirror=%s", o->mirrors[i]);
	if (o->health[0] && n < cap)
		n += (size_t)snprintf(out + n, cap - n, " health=%s", o->health);
	if (o->send_proxy && n < cap)
		n += (size_t)snprintf(out + n, cap - n, " send_proxy=yes");
	return n < cap ? (int)n : -ENOSPC;
}

static struct own *own_find(struct expose *x, const char *service)
{
	for (size_t i = 0; i < x->nown; i++)
		if (!strcmp(x->own[i].service, service))
			return &x->own[i];
	return NULL;
}

static int load_state_cb(void *ctx, const char *key, const uint8_t *val, size_t len)
{
	struct expose *x = ctx;
	char line[1024], err[300];
	struct own o;

	if (len >= sizeof line || x->nown >= EXPOSE_MAX_OWN)
		return 0;
	memcpy(line, val, len);
	line[len] = 0;
	if (own_parse(line, &o, err, sizeof err) < 0) {
		log_warn("expose: state entry %s ignored: %s", key, err);
		return 0;
	}
	if (own_find(x, o.service))
		return 0;   /* a config line of that name wins */
	x->own[x->nown++] = o;
	return 0;
}

/* The own list: the config file's lines, then the state table's. */
static void own_load(struct expose *x)
{
	const char *s = conf(x)->lines;
	char err[300];

	x->nown = 0;
	while (*s && x->nown < EXPOSE_MAX_OWN) {
		size_t n = strcspn(s, "\n");
		char line[EXPOSE_CONF_LINES];
		snprintf(line, sizeof line, "%.*s", (int)n, s);
		if (own_parse(line, &x->own[x->nown], err, sizeof err) == 0) {
			x->own[x->nown].from_conf = true;
			if (!own_find(x, x->own[x->nown].service))
				x->nown++;
		}
		s += n + (s[n] == '\n');
	}
	host_state_each(x->h, load_state_cb, x);
}

/* ---- who is who: chains ---- */

/* A member's certified mesh address ("" if none or not an IP: it goes
 * into the HAProxy config). */
static void mesh_addr_of(struct expose *x, const uint8_t pk[32], char *out, size_t cap)
{
	subsys_mesh_addr(x->h, pk, out, cap);
	if (out[0] && !hacfg_addr_ok(out))
		out[0] = 0;
}

/* Our DNS scope: "" none; "*" a root without a cert of its own (any). */
static void own_scope(struct expose *x, char *out, size_t cap)
{
	struct chain_result cr;
	const uint8_t *me = host_self(x->h);

	if (host_chain(x->h, me, &cr) == 0 && cr.dns_scope[0])
		snprintf(out, cap, "%s", cr.dns_scope);
	else if (!memcmp(me, host_config(x->h)->root, 32))
		snprintf(out, cap, "*");
	else
		out[0] = 0;
}

/* Its channels; 0 in the list is the default: the mesh, and the CDN when
 * there is a name to give it (its domain, or one under our scope). */
static uint8_t channels_of(const struct own *o, const char *scope)
{
	if (o->channels)
		return o->channels;
	return (uint8_t)(CH_MESH | (o->domain[0] || (scope[0] && strcmp(scope, "*")) ? CH_DNS : 0));
}

static int resolve_mirror(struct expose *x, const char *ref, uint8_t pk[32])
{
	struct chain_result cr;

	if (strlen(ref) == 64 && hex_decode(ref, pk, 32) == 0)
		return host_chain(x->h, pk, &cr) == 0 ? 0 : -ENOENT;
	if (!strncmp(ref, "did:key:", 8))
		return did_key_decode(DID_ED25519, ref, pk) == 0 && host_chain(x->h, pk, &cr) == 0 ? 0 : -ENOENT;
	return host_name_owner(x->h, ref, pk);
}

/* ---- publishing our exposures ---- */

/* The record body for an own exposure; -ENOENT with err if a mirror is not
 * (yet) a known member, -EPERM if the domain is outside our scope. */
static int own_body(struct expose *x, const struct own *o, union body *b, char *err, size_t cap)
{
	char scope[MN_MAX_DOMAIN + 1];

	memset(b, 0, sizeof *b);
	snprintf(b->expose.service, sizeof b->expose.service, "%s", o->service);
	b->expose.port = o->port;
	b->expose.proto = o->proto;
	snprintf(b->expose.domain, sizeof b->expose.domain, "%s", o->domain);
	own_scope(x, scope, sizeof scope);
	b->expose.channels = channels_of(o, scope);
	if (b->expose.channels & CH_TOR)   /* its .onion name, once tor made it */
		expose_tor_onion(x->tor, o->service, b->expose.onion, sizeof b->expose.onion);
	if (!b->expose.domain[0] && (b->expose.channels & CH_DNS)) {
		if (!scope[0] || !strcmp(scope, "*")) {
			snprintf(err, cap, "%s: the dns channel needs a domain (this node has no DNS scope to "
				 "put %s under)", o->service, o->service);
			return -EPERM;
		}
		if (strlen(o->service) + 1 + strlen(scope) > MN_MAX_DOMAIN) {
			snprintf(err, cap, "%s: the name %s.%s is too long", o->service, o->service, scope);
			return -EINVAL;
		}
		size_t ns = strlen(o->service);
		memcpy(b->expose.domain, o->service, ns);
		b->expose.domain[ns] = '.';
		memcpy(b->expose.domain + ns + 1, scope, strlen(scope) + 1);
	}
	if (b->expose.domain[0] && strcmp(scope, "*") && !dns_scope_contains(scope, b->expose.domain)) {
		snprintf(err, cap, "%s: %s is outside this node's DNS scope (%s)", o->service,
			 b->expose.domain, scope[0] ? scope : "none");
		return -EPERM;
	}
	for (unsigned i = 0; i < o->n_mirrors; i++) {
		uint8_t pk[32];
		if (resolve_mirror(x, o->mirrors[i], pk) < 0) {
			snprintf(err, cap, "%s: mirror %s is not a member", o->service, o->mirrors[i]);
			return -ENOENT;
		}
		if (!memcmp(pk, host_self(x->h), 32)) {
			snprintf(err, cap, "%s: a node cannot mirror itself", o->service);
			return -EINVAL;
		}
		bool dup = false;
		for (unsigned k = 0; k < b->expose.n_mirrors; k++)
			dup |= !memcmp(b->expose.mirrors[k].node, pk, 32);
		if (!dup)
			memcpy(b->expose.mirrors[b->expose.n_mirrors++].node, pk, 32);
	}
	return 0;
}

struct held {
	char key[MN_MAX_RKEY + 1];
	union body b;
	uint64_t expires;
	bool tomb;
};
struct held_list {
	const uint8_t *me;
	struct held *v;
	size_t n, cap;
};

static int held_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct held_list *l = ctx;

	(void)id;
	if (r->kind != KIND_EXPOSE || memcmp(r->origin, l->me, 32) != 0)
		return 0;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 16;
		struct held *q = realloc(l->v, nc * sizeof *q);
		if (!q)
			return -ENOMEM;
		l->v = q;
		l->cap = nc;
	}
	struct held *e = &l->v[l->n];
	memset(e, 0, sizeof *e);
	snprintf(e->key, sizeof e->key, "%s", r->key);
	e->expires = r->expires;
	e->tomb = record_is_tombstone(r);
	if (!e->tomb && body_decode(KIND_EXPOSE, r->body, r->body_len, &e->b) < 0)
		return 0;
	l->n++;
	return 0;
}

static bool same_body(const union body *a, const union body *b)
{
	uint8_t ea[MN_MAX_BODY], eb[MN_MAX_BODY];
	size_t la = 0, lb = 0;

	return body_encode(KIND_EXPOSE, a, ea, sizeof ea, &la) == 0 &&
	       body_encode(KIND_EXPOSE, b, eb, sizeof eb, &lb) == 0 && la == lb && !memcmp(ea, eb, la);
}

static int publish(struct expose *x, const char *key, const union body *b, char *err, size_t cap)
{
	int perr = 0;
	int rc = host_publish(x->h, KIND_EXPOSE, key, b, b ? conf(x)->ttl_s : 60, NULL, &perr);

	if (rc < 0) {
		x->publish_failures++;
		snprintf(err, cap, "%s: cannot publish: %s", key,
			 perr ? proto_strerror(perr) : rc == -EACCES ?
			 "refused (the domain must lie inside this node's DNS scope)" : strerror(-rc));
		return rc;
	}
	x->published++;
	return 0;
}

/* ---- our entry point (svc "cdn") ---- */

/* 0.0.0.0 or :: (listen everywhere: no address to give anyone) */
static bool addr_wildcard(const char *a)
{
	uint8_t ip[16], zero[16] = { 0 };

	return (inet_pton(AF_INET, a, ip) == 1 && !memcmp(ip, zero, 4)) ||
	       (inet_pton(AF_INET6, a, ip) == 1 && !memcmp(ip, zero, 16));
}

/* The address the CDN's names resolve to at this node ("" none): with the
 * proxy on, expose_advertise, else expose_public unless it is a wildcard. */
static void entry_addr(const struct expose_conf *c, char *out, size_t cap)
{
	const char *a = c->advertise[0] ? c->advertise : c->public_addr;

	out[0] = 0;
	if (c->proxy && a[0] && !addr_wildcard(a))
		snprintf(out, cap, "%s", a);
}

struct held_entry {
	const uint8_t *me;
	union body b;
	uint64_t expires;
	bool found, tomb;
};

static int held_entry_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct held_entry *e = ctx;

	(void)id;
	if (r->kind != KIND_SVC || memcmp(r->origin, e->me, 32) != 0 || strcmp(r->key, SVC_CDN))
		return 0;
	e->found = true;
	e->expires = r->expires;
	e->tomb = record_is_tombstone(r) || body_decode(KIND_SVC, r->body, r->body_len, &e->b) < 0;
	return 1;
}

/* Our svc "cdn" record as the config says: Vortex gives this address for
 * the CDN names of our descendants and of the origins we mirror
 * (docs/expose.md "Multipoint DNS"); deleted when we stop being an entry. */
static void sync_entry(struct expose *x)
{
	const struct expose_conf *c = conf(x);
	struct held_entry e = { .me = host_self(x->h) };
	uint64_t now_s = host_now_ms(x->h) / 1000;
	union body b;
	char addr[MN_MAX_ADDR + 1];
	int perr = 0, rc;

	entry_addr(c, addr, sizeof addr);
	if (host_each(x->h, KIND_BIT(KIND_SVC), e.me, held_entry_cb, &e) < 0)
		return;
	if (!addr[0]) {
		if (!e.found || e.tomb)
			return;
		rc = host_publish(x->h, KIND_SVC, SVC_CDN, NULL, 60, NULL, &perr);
	} else {
		memset(&b, 0, sizeof b);
		snprintf(b.svc.service, sizeof b.svc.service, "%s", SVC_CDN);
		snprintf(b.svc.endpoint, sizeof b.svc.endpoint, "%s", addr);
		b.svc.port = (uint16_t)c->https_port;
		snprintf(b.svc.attrs[0].k, sizeof b.svc.attrs[0].k, "http");
		snprintf(b.svc.attrs[0].v, sizeof b.svc.attrs[0].v, "%u", c->http_port);
		b.svc.n_attrs = 1;
		if (e.found && !e.tomb && !strcmp(e.b.svc.endpoint, b.svc.endpoint) && e.b.svc.port == b.svc.port &&
		    e.b.svc.n_attrs == 1 && !strcmp(e.b.svc.attrs[0].v, b.svc.attrs[0].v) &&
		    e.expires > now_s + c->ttl_s / 2)
			return;
		rc = host_publish(x->h, KIND_SVC, SVC_CDN, &b, c->ttl_s, NULL, &perr);
	}
	if (rc < 0) {
		x->publish_failures++;
		snprintf(x->publish_error, sizeof x->publish_error, "entry point: cannot publish: %s",
			 perr ? proto_strerror(perr) : strerror(-rc));
	} else {
		x->published++;
	}
}

/* Our records as our list says: new and changed ones published, those
 * about to expire renewed, those no longer listed deleted. */
static void sync_own(struct expose *x)
{
	struct held_list l = { .me = host_self(x->h) };
	uint64_t now_s = host_now_ms(x->h) / 1000;
	char err[300];

	x->publish_error[0] = 0;
	if (host_each(x->h, KIND_BIT(KIND_EXPOSE), l.me, held_cb, &l) < 0) {
		free(l.v);
		return;
	}
	for (size_t i = 0; i < x->nown; i++) {
		union body b;
		const struct held *h = NULL;
		for (size_t k = 0; k < l.n && !h; k++)
			if (!strcmp(l.v[k].key, x->own[i].service))
				h = &l.v[k];
		if (own_body(x, &x->own[i], &b, err, sizeof err) < 0) {
			snprintf(x->publish_error, sizeof x->publish_error, "%s", err);
			continue;
		}
		if (h && !h->tomb && same_body(&h->b, &b) && h->expires > now_s + conf(x)->ttl_s / 2)
			continue;
		if (publish(x, x->own[i].service, &b, err, sizeof err) < 0)
			snprintf(x->publish_error, sizeof x->publish_error, "%s", err);
	}
	for (size_t k = 0; k < l.n; k++)
		if (!l.v[k].tomb && !own_find(x, l.v[k].key) &&
		    publish(x, l.v[k].key, NULL, err, sizeof err) < 0)
			snprintf(x->publish_error, sizeof x->publish_error, "%s", err);
	free(l.v);
	sync_entry(x);
}

/* ---- the routes ---- */

struct model {
	struct expose *x;
	const uint8_t *me;
	struct hacfg_route *r;
	size_t nr, rcap;
	char (*hops)[MN_MAX_ADDR + 1];
	uint8_t (*hop_pk)[32];
	size_t nhops, hcap;
	char (*src)[MN_MAX_ADDR + 1];
	size_t nsrc, scap;
	/* a chain looked up once per origin and generation */
	struct { uint8_t pk[32]; int rc; size_t n; uint8_t path[MN_MAX_DEPTH + 2][32];
		 char scope[MN_MAX_DOMAIN + 1]; } cache;
	unsigned refused;
	char reason[300];
};

static void *grow(void *p, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return p;
	size_t nc = *cap ? *cap * 2 : 16;
	void *q = realloc(p, nc * elem);
	if (q)
		*cap = nc;
	return q;
}

static int add_src(struct model *m, const char *addr)
{
	void *q;

	if (!addr[0])
		return 0;
	for (size_t i = 0; i < m->nsrc; i++)
		if (!strcmp(m->src[i], addr))
			return 0;
	if (!(q = grow(m->src, &m->scap, m->nsrc, sizeof *m->src)))
		return -ENOMEM;
	m->src = q;
	snprintf(m->src[m->nsrc++], sizeof *m->src, "%s", addr);
	return 0;
}

/* The hop index for next-hop node pk (-1: it has no mesh address). */
static int hop_of(struct model *m, const uint8_t pk[32])
{
	char addr[MN_MAX_ADDR + 1];
	void *q;

	for (size_t i = 0; i < m->nhops; i++)
		if (!memcmp(m->hop_pk[i], pk, 32))
			return (int)i;
	mesh_addr_of(m->x, pk, addr, sizeof addr);
	if (!addr[0])
		return -1;
	size_t c2 = m->hcap;
	if (!(q = grow(m->hops, &m->hcap, m->nhops, sizeof *m->hops)))
		return -1;
	m->hops = q;
	if (!(q = grow(m->hop_pk, &c2, m->nhops, sizeof *m->hop_pk)))
		return -1;
	m->hop_pk = q;
	snprintf(m->hops[m->nhops], sizeof *m->hops, "%s", addr);
	memcpy(m->hop_pk[m->nhops], pk, 32);
	return (int)m->nhops++;
}

__attribute__((format(printf, 2, 3)))
static void refuse(struct model *m, const char *fmt, ...)
{
	va_list ap;

	m->refused++;
	va_start(ap, fmt);
	vsnprintf(m->reason, sizeof m->reason, fmt, ap);
	va_end(ap);
}

static int route_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct model *m = ctx;
	union body b;
	struct chain_result cr;
	int hop = -2;
	void *q;

	(void)id;
	if (r->kind != KIND_EXPOSE || record_is_tombstone(r) ||
	    body_decode(KIND_EXPOSE, r->body, r->body_len, &b) < 0)
		return 0;
	if (!(b.expose.channels & CH_DNS) || !b.expose.domain[0])
		return 0;   /* not on the CDN */
	/* the origin's chain: valid now, its scope holding the name */
	if (memcmp(m->cache.pk, r->origin, 32) != 0) {
		memcpy(m->cache.pk, r->origin, 32);
		m->cache.rc = subsys_chain_path(m->x->h, r->origin, m->cache.path, MN_MAX_DEPTH + 2,
						 &m->cache.n, &cr);
		snprintf(m->cache.scope, sizeof m->cache.scope, "%s",
			 m->cache.rc < 0 ? "" : cr.dns_scope[0] ? cr.dns_scope :
			 !memcmp(r->origin, host_config(m->x->h)->root, 32) ? "*" : "");
	}
	if (m->cache.rc < 0) {
		refuse(m, "%s: its origin has no valid chain", b.expose.domain);
		return 0;
	}
	if (strcmp(m->cache.scope, "*") && !dns_scope_contains(m->cache.scope, b.expose.domain)) {
		refuse(m, "%s: outside its origin's DNS scope (%s)", b.expose.domain,
		       m->cache.scope[0] ? m->cache.scope : "none");
		return 0;
	}
	if (!memcmp(r->origin, m->me, 32)) {
		hop = -1;
	} else {
		for (unsigned i = 0; i < b.expose.n_mirrors && hop == -2; i++)
			if (!memcmp(b.expose.mirrors[i].node, m->me, 32))
				hop = hop_of(m, r->origin);      /* mirrors go straight to it */
		for (size_t i = 0; i + 1 < m->cache.n && hop == -2; i++)
			if (!memcmp(m->cache.path[i], m->me, 32))
				hop = hop_of(m, m->cache.path[i + 1]);   /* one step down */
		if (hop == -2)
			return 0;   /* not ours to route */
		if (hop < 0) {
			refuse(m, "%s: the next hop has no mesh address", b.expose.domain);
			return 0;
		}
	}
	struct own *o = NULL;
	if (hop == -1 && !(o = own_find(m->x, b.expose.service)))
		return 0;   /* ours but no longer listed: its deletion is under way */
	if (!(q = grow(m->r, &m->rcap, m->nr, sizeof *m->r)))
		return -ENOMEM;
	m->r = q;
	struct hacfg_route *rt = &m->r[m->nr++];
	memset(rt, 0, sizeof *rt);
	snprintf(rt->name, sizeof rt->name, "%s", b.expose.domain);
	snprintf(rt->service, sizeof rt->service, "%s", b.expose.service);
	rt->proto = b.expose.proto;
	rt->port = b.expose.port;
	rt->hop = hop;
	if (o) {
		snprintf(rt->backend, sizeof rt->backend, "%s", o->backend);
		snprintf(rt->health, sizeof rt->health, "%s", o->health);
		rt->send_proxy = o->send_proxy;
		/* the mirrors of our names hand us their connections */
		for (unsigned i = 0; i < b.expose.n_mirrors; i++) {
			char a[MN_MAX_ADDR + 1];
			mesh_addr_of(m->x, b.expose.mirrors[i].node, a, sizeof a);
			if (add_src(m, a) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct hacfg_route *)a)->name, ((const struct hacfg_route *)b)->name);
}

static void model_free(struct model *m)
{
	free(m->r);
	free(m->hops);
	free(m->hop_pk);
	free(m->src);
}

/* The routes through this node, sorted by name, and who may hand us
 * connections (our parent, the mirrors of our names). */
static int model_build(struct expose *x, struct model *m)
{
	uint8_t path[MN_MAX_DEPTH + 2][32];
	struct chain_result cr;
	size_t n;

	memset(m, 0, sizeof *m);
	m->x = x;
	m->me = host_self(x->h);
	int rc = host_each(x->h, KIND_BIT(KIND_EXPOSE), NULL, route_cb, m);
	if (rc < 0)
		return rc;
	if (subsys_chain_path(x->h, m->me, path, MN_MAX_DEPTH + 2, &n, &cr) == 0 && n >= 2) {
		char a[MN_MAX_ADDR + 1];
		mesh_addr_of(x, path[n - 2], a, sizeof a);
		if (add_src(m, a) < 0)
			return -ENOMEM;
	}
	if (m->nr)	/* qsort(NULL, 0) is undefined */
		qsort(m->r, m->nr, sizeof *m->r, by_name);
	/* hops numbered by first use in name order: the same routes give the
	 * same config whatever order the records came in */
	if (m->nhops) {
		int *map = malloc(m->nhops * sizeof *map);
		char (*hops)[MN_MAX_ADDR + 1] = malloc(m->nhops * sizeof *hops);
		uint8_t (*pks)[32] = malloc(m->nhops * sizeof *pks);
		int next = 0;
		if (!map || !hops || !pks) {
			free(map);
			free(hops);
			free(pks);
			return -ENOMEM;
		}
		for (size_t i = 0; i < m->nhops; i++)
			map[i] = -1;
		for (size_t i = 0; i < m->nr; i++) {
			int hp = m->r[i].hop;
			if (hp < 0)
				continue;
			if (map[hp] < 0) {
				map[hp] = next;
				memcpy(hops[next], m->hops[hp], sizeof *hops);
				memcpy(pks[next], m->hop_pk[hp], 32);
				next++;
			}
			m->r[i].hop = map[hp];
		}
		memcpy(m->hops, hops, (size_t)next * sizeof *hops);
		memcpy(m->hop_pk, pks, (size_t)next * 32);
		m->nhops = (size_t)next;
		free(map);
		free(hops);
		free(pks);
	}
	return 0;
}

/* ---- generations: render, check, switch ---- */

static void gen_dir(const struct expose *x, int g, char *out, size_t cap)
{
	haproc_gen_dir(conf(x)->dir, g, out, cap);
}

static int mkdirs(const char *path)
{
	return file_mkdirs(path, 0700);
}

static void report_skip(void *arg, const char *msg)
{
	struct expose *x = arg;

	snprintf(x->skip_reason, sizeof x->skip_reason, "%s", msg);
}

/* Where HAProxy sends HTTP-01 requests for our names. */
static const char *acme_answerer(const struct expose_conf *c)
{
	if (c->acme[0])
		return c->acme;
	return acme_enabled(&c->ac) && c->ac.challenge == ACME_HTTP01 ? ACME_DEFAULT_ANSWERER : "";
}

static void fill_hacfg(struct expose *x, const struct model *m, const char *gen, struct hacfg *c)
{
	const struct expose_conf *ec = conf(x);

	memset(c, 0, sizeof *c);
	snprintf(c->run_dir, sizeof c->run_dir, "%s", ec->dir);
	snprintf(c->gen_dir, sizeof c->gen_dir, "%s", gen);
	snprintf(c->public_addr, sizeof c->public_addr, "%s", ec->public_addr);
	c->http_port = ec->http_port;
	c->https_port = ec->https_port;
	mesh_addr_of(x, host_self(x->h), c->mesh_addr, sizeof c->mesh_addr);
	c->hop_http_port = ec->hop_http_port;
	c->hop_tls_port = ec->hop_tls_port;
	snprintf(c->cert_dir, sizeof c->cert_dir, "%s", ec->cert_dir);
	/* with ACME, TLS is ended here once a certificate is there (HAProxy
	 * refuses a crt directory without one): HTTP-01 gets the first */
	if (acme_enabled(&ec->ac) && !acme_dir_has_certs(ec->cert_dir))
		c->cert_dir[0] = 0;
	snprintf(c->acme, sizeof c->acme, "%s", acme_answerer(ec));
	c->maxconn = ec->maxconn;
	c->routes = m->r;
	c->nroutes = m->nr;
	c->hops = (const char (*)[MN_MAX_ADDR + 1])m->hops;
	c->nhops = m->nhops;
	c->hop_src = (const char (*)[MN_MAX_ADDR + 1])m->src;
	c->nsrc = m->nsrc;
}

/* Render for generation directory dir into out. */
static int render_mem(struct expose *x, struct model *m, const char *dir, struct hacfg_out *out,
		      char *err, size_t cap)
{
	struct hacfg c;

	fill_hacfg(x, m, dir, &c);
	uint64_t t0 = uv_hrtime();
	int rc = hacfg_render(&c, out, report_skip, x, err, cap);
	x->render_us = (uv_hrtime() - t0) / 1000;
	if (rc == 0) {
		x->routes = out->routes;
		x->skipped = out->skipped;
	}
	return rc;
}

/* Does dir hold exactly these files? */
static bool holds(const char *dir, const struct hacfg_out *out)
{
	char path[HACFG_DIR_MAX + 64];

	for (int i = 0; i < HACFG_NFILES; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, hacfg_file_names[i]);
		if (!file_holds(path, out->text[i], out->len[i]))
			return false;
	}
	return true;
}

/* Render everything into dir: 1 written (something changed), 0 same, <0. */
static int render_into(struct expose *x, const char *dir, struct model *m, char *err, size_t cap)
{
	struct hacfg_out out;
	char path[HACFG_DIR_MAX + 64];
	int changed = 0;
	int rc = render_mem(x, m, dir, &out, err, cap);

	if (rc < 0)
		return rc;
	if ((rc = mkdirs(dir)) < 0) {
		snprintf(err, cap, "%s: %s", dir, strerror(-rc));
		hacfg_out_free(&out);
		return rc;
	}
	for (int i = 0; i < HACFG_NFILES; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, hacfg_file_names[i]);
		rc = file_put(path, out.text[i], out.len[i], 0644);
		if (rc < 0) {
			snprintf(err, cap, "%s: %s", path, strerror(-rc));
			break;
		}
		changed |= rc;
	}
	hacfg_out_free(&out);
	return rc < 0 ? rc : changed;
}

/* Would the live generation be rendered again exactly as it is? */
static bool live_current(struct expose *x, struct model *m)
{
	struct hacfg_out out;
	char dir[HACFG_DIR_MAX + 16], err[200];
	bool same;

	if (x->proc.live < 0)
		return false;
	gen_dir(x, x->proc.live, dir, sizeof dir);
	if (render_mem(x, m, dir, &out, err, sizeof err) < 0)
		return false;
	same = holds(dir, &out);
	hacfg_out_free(&out);
	return same;
}

static pid_t proxy_pid(const struct expose *x)
{
	return haproc_pid(conf(x)->dir);
}

static void start_done(void *st, bool ok, const char *status, uint64_t ms)
{
	struct expose *x = st;

	(void)ms;
	haproc_start_done(&x->proc, conf(x)->dir, ok, status);
}

static void start_proxy(struct expose *x)
{
	haproc_start(&x->proc, conf(x)->haproxy, conf(x)->dir, start_done);
}

static void check_done(void *st, bool ok, const char *status, uint64_t ms)
{
	struct expose *x = st;

	(void)ms;
	if (!ok)
		x->force = true;   /* its retry checks again even if the text is the live one's */
	haproc_check_done(&x->proc, conf(x)->dir, ok, status);
}

struct expose_tor *expose_tor_of(void *st)
{
	return ((struct expose *)st)->tor;
}

struct expose_mdns *expose_mdns_of(void *st)
{
	return ((struct expose *)st)->mdns;
}

/* The Tor and mDNS channels from our list (expose_chan.h). */
static void channels_regen(struct expose *x)
{
	struct expose_svc v[EXPOSE_MAX_OWN];
	char scope[MN_MAX_DOMAIN + 1];

	own_scope(x, scope, sizeof scope);
	for (size_t i = 0; i < x->nown; i++)
		v[i] = (struct expose_svc){ x->own[i].service, x->own[i].port, x->own[i].proto,
					    channels_of(&x->own[i], scope), x->own[i].backend };
	expose_tor_regen(x->tor, &conf(x)->chan, conf(x)->dir, v, x->nown);
	expose_mdns_regen(x->mdns, &conf(x)->chan, v, x->nown);
}

/* A .onion name appeared or went: the record changes now. */
static void onion_changed(void *arg)
{
	sync_own(arg);
}

/* ---- certificates by ACME (expose_acme.c) ---- */

static void acme_changed(void *arg)
{
	struct expose *x = arg;

	x->force = true;
	host_dirty(x->h);
}

/* Our own http names on the CDN and our zone: what to hold certificates for. */
static void acme_sync(struct expose *x)
{
	const struct expose_conf *c = conf(x);
	char (*names)[MN_MAX_DOMAIN + 1] = calloc(EXPOSE_MAX_OWN, sizeof *names);
	char scope[MN_MAX_DOMAIN + 1], err[300];
	size_t n = 0;

	if (!x->acme || !names) {
		free(names);
		return;
	}
	for (size_t i = 0; c->proxy && i < x->nown; i++) {
		union body b;
		if (x->own[i].proto == EXPOSE_HTTP && own_body(x, &x->own[i], &b, err, sizeof err) == 0 &&
		    (b.expose.channels & CH_DNS) && b.expose.domain[0])
			snprintf(names[n++], sizeof *names, "%s", b.expose.domain);
	}
	own_scope(x, scope, sizeof scope);
	if (!c->proxy || !strcmp(scope, "*"))
		scope[0] = 0;
	acme_update(x->acme, &c->ac, c->cert_dir, acme_answerer(c),
		    (const char (*)[MN_MAX_DOMAIN + 1])names, n, scope);
	free(names);
}

static void generate(void *st)
{
	struct expose *x = st;
	const struct expose_conf *c = conf(x);
	struct model m;
	char dir[HACFG_DIR_MAX + 16], err[300];

	channels_regen(x);
	sync_own(x);
	acme_sync(x);
	if (!c->proxy || x->proc.checking)
		return;

	if (model_build(x, &m) < 0) {
		snprintf(x->proc.last_error, sizeof x->proc.last_error, "out of memory");
		model_free(&m);
		return;
	}
	x->local = x->hops = 0;
	for (size_t i = 0; i < m.nr; i++)
		x->local += m.r[i].hop < 0;
	x->hops = (unsigned)m.nhops;
	x->refused = m.refused;
	if (m.refused)
		snprintf(x->skip_reason, sizeof x->skip_reason, "%s", m.reason);
	x->proc.live = haproc_live(conf(x)->dir);
	x->generations++;
	if (!x->force && live_current(x, &m)) {
		model_free(&m);
		if (!proxy_pid(x))
			start_proxy(x);   /* nothing new, but it died: the checked config again */
		return;
	}
	int g = x->proc.live == 0 ? 1 : 0;
	gen_dir(x, g, dir, sizeof dir);
	int rc = render_into(x, dir, &m, err, sizeof err);
	model_free(&m);
	if (rc < 0) {
		snprintf(x->proc.last_error, sizeof x->proc.last_error, "%s", err);
		return;
	}
	x->force = false;
	haproc_check(&x->proc, c->haproxy, c->dir, g, check_done);
}

/* ---- life ---- */

static void on_refresh(uv_timer_t *t)
{
	struct expose *x = t->data;

	host_dirty(x->h);   /* renews records past half their life, restarts a dead proxy */
}

static void *ex_start(struct mn_host *h, char *err, size_t errcap)
{
	struct expose *x = calloc(1, sizeof *x);

	if (!x || !(x->own = calloc(EXPOSE_MAX_OWN, sizeof *x->own)) ||
	    !(x->tor = expose_tor_new(h, onion_changed, x)) || !(x->mdns = expose_mdns_new(h))) {
		if (x) {
			expose_tor_free(x->tor);
			free(x->own);
		}
		free(x);
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	x->h = h;
	haproc_init(&x->proc, h, "expose");
	x->acme = acme_new(h, acme_changed, x);
	own_load(x);
	if (uv_timer_init(host_loop(h), &x->refresh) == 0) {
		x->refresh.data = x;
		x->timer_open = true;
		uv_timer_start(&x->refresh, on_refresh, REFRESH_MS, REFRESH_MS);
		uv_unref((uv_handle_t *)&x->refresh);
	}
	host_dirty(h);
	return x;
}

static void ex_record(void *st, const struct rec_view *v)
{
	struct expose *x = st;

	(void)v;
	host_dirty(x->h);
}

static void ex_trust(void *st, const uint8_t origin[32])
{
	struct expose *x = st;

	(void)origin;
	host_dirty(x->h);
}

static void ex_reload(void *st, const void *old)
{
	struct expose *x = st;

	(void)old;
	own_load(x);
	expose_tor_reload(x->tor);
	host_dirty(x->h);
}

static void ex_stop(void *st)
{
	struct expose *x = st;

	if (x->timer_open)
		uv_close((uv_handle_t *)&x->refresh, NULL);
	x->timer_open = false;
	haproc_stop(&x->proc);
	expose_tor_stop(x->tor);
	acme_stop(x->acme);
}

static void ex_free(void *st)
{
	struct expose *x = st;

	expose_tor_free(x->tor);
	expose_mdns_free(x->mdns);
	free(x->own);
	acme_free(x->acme);
	free(x);
}

#define JADD(o, k, v) json_object_object_add((o), (k), (v))
static struct json_object *ex_status(void *st)
{
	struct expose *x = st;
	const struct expose_conf *c = conf(x);
	struct json_object *j = json_object_new_object();
	char live[HACFG_DIR_MAX + 32];

	json_put_str(j, "proxy", c->proxy ? "haproxy" : "none");
	json_put_int(j, "own", (int)x->nown);
	json_put_int(j, "published", (int)x->published);
	json_put_int(j, "publish_failures", (int)x->publish_failures);
	if (x->publish_error[0])
		json_put_str(j, "publish_error", x->publish_error);
	if (c->proxy) {
		pid_t pid = proxy_pid(x);
		snprintf(live, sizeof live, "%s/live/haproxy.cfg", c->dir);
		json_put_bool(j, "running", pid != 0);
		if (pid)
			json_put_int(j, "pid", (int)pid);
		json_put_str(j, "config", x->proc.live >= 0 ? live : "");
		const struct expose_count n[] = {
			{ "routes", x->routes }, { "local", x->local }, { "hops", x->hops },
			{ "refused", x->refused }, { "skipped", x->skipped },
			{ "generations", x->generations }, { "checks", x->proc.checks },
			{ "check_failures", x->proc.check_failures }, { "switches", x->proc.switches },
			{ "reloads", x->proc.reloads }, { "starts", x->proc.starts }, { "start_failures", x->proc.start_failures },
			{ "retries", x->proc.retry.fired },
		};
		expose_json_counts(j, n, sizeof n / sizeof n[0]);
		if (x->skip_reason[0])
			json_put_str(j, "last_refusal", x->skip_reason);
		json_put_int(j, "render_us", (int64_t)x->render_us);
	}
	if (x->acme && acme_enabled(&c->ac))
		JADD(j, "acme", acme_status(x->acme));
	if (x->proc.last_error[0])
		json_put_str(j, "last_error", x->proc.last_error);
	JADD(j, "tor", expose_tor_status(x->tor, &c->chan));
	JADD(j, "mdns", expose_mdns_status(x->mdns, &c->chan));
	return j;
}

/* ---- API ---- */

static struct json_object *own_json(const struct own *o)
{
	struct json_object *j = json_object_new_object(), *ms = json_object_new_array();
	char ch[32];

	channels_text(o->channels, ch, sizeof ch);
	json_put_str(j, "service", o->service);
	json_put_int(j, "port", o->port);
	json_put_str(j, "proto", proto_names[o->proto]);
	json_put_str(j, "backend", o->backend);
	json_put_str(j, "domain", o->domain);
	json_put_str(j, "channels", o->channels ? ch : "default");
	for (unsigned i = 0; i < o->n_mirrors; i++)
		json_object_array_add(ms, json_object_new_string(o->mirrors[i]));
	JADD(j, "mirrors", ms);
	json_put_str(j, "health", o->health);
	json_put_bool(j, "send_proxy", o->send_proxy);
	json_put_str(j, "source", o->from_conf ? "config" : "added");
	return j;
}

static int save_own(struct expose *x, const struct own *o, char *err, size_t errcap)
{
	char line[1024];
	int n = own_format(o, line, sizeof line), rc;

	if (n < 0 || (rc = host_state_put(x->h, o->service, (const uint8_t *)line, (size_t)n)) < 0) {
		snprintf(err, errcap, "cannot keep %s: %s", o->service, host_state_error(x->h));
		return -EIO;
	}
	return 0;
}

/* expose_add: {service, port, [proto, backend, domain, channels, mirrors,
 * health, send_proxy]} — replaces an added exposure of that name. */
static int api_add(void *st, struct json_object *req, struct json_object **res, char *err,
		   size_t errcap)
{
	struct expose *x = st;
	struct json_object *v;
	struct own o;
	const char *s;
	union body b;

	memset(&o, 0, sizeof o);
	if (!(s = json_get_str(req, "service")) || strlen(s) > MN_MAX_NAME) {
		snprintf(err, errcap, "service: required, a DNS label");
		return -EINVAL;
	}
	snprintf(o.service, sizeof o.service, "%s", s);
	int64_t port = json_object_object_get_ex(req, "port", &v) ? json_object_get_int64(v) : 0;
	if (port < 1 || port > 65535) {
		snprintf(err, errcap, "port: required, 1..65535");
		return -EINVAL;
	}
	o.port = (uint16_t)port;
	snprintf(o.backend, sizeof o.backend, "127.0.0.1:%u", (unsigned)o.port);
	if ((s = json_get_str(req, "backend"))) {
		if (strlen(s) >= sizeof o.backend)
			goto bad_backend;
		snprintf(o.backend, sizeof o.backend, "%s", s);
	}
	if ((s = json_get_str(req, "proto"))) {
		unsigned i;
		for (i = 0; i <= EXPOSE_PROTO_MAX && strcmp(s, proto_names[i]); i++)
			;
		if (i > EXPOSE_PROTO_MAX) {
			snprintf(err, errcap, "proto: http, tls or tcp");
			return -EINVAL;
		}
		o.proto = (uint8_t)i;
	}
	if ((s = json_get_str(req, "domain"))) {
		if (strlen(s) >= sizeof o.domain) {
			snprintf(err, errcap, "domain: a DNS name");
			return -EINVAL;
		}
		snprintf(o.domain, sizeof o.domain, "%s", s);
	}
	if ((s = json_get_str(req, "channels")) && parse_channels(s, &o.channels) < 0) {
		snprintf(err, errcap, "channels: a list of mesh, dns, tor, mdns (or all)");
		return -EINVAL;
	}
	if (json_object_object_get_ex(req, "mirrors", &v)) {
		size_t n = json_object_array_length(v);
		if (n > MN_MAX_MIRRORS) {
			snprintf(err, errcap, "mirrors: at most %d", MN_MAX_MIRRORS);
			return -EINVAL;
		}
		for (size_t i = 0; i < n; i++) {
			const char *m = json_object_get_string(json_object_array_get_idx(v, i));
			if (!m || strlen(m) > MIRROR_REF_MAX) {
				snprintf(err, errcap, "mirror: a member's name, hex key or did:key");
				return -EINVAL;
			}
			snprintf(o.mirrors[o.n_mirrors++], sizeof o.mirrors[0], "%s", m);
		}
	}
	if ((s = json_get_str(req, "health"))) {
		if (strlen(s) > HACFG_MAX_PATH) {
			snprintf(err, errcap, "health: at most %d bytes", HACFG_MAX_PATH);
			return -EINVAL;
		}
		snprintf(o.health, sizeof o.health, "%s", s);
	}
	if (json_object_object_get_ex(req, "send_proxy", &v))
		o.send_proxy = json_object_get_boolean(v);
	int rc = own_check(&o, err, errcap);
	if (rc < 0)
		return rc;
	struct own *cur = own_find(x, o.service);
	if (cur && cur->from_conf) {
		snprintf(err, errcap, "%s is defined in the config file (an expose line): change it there",
			 o.service);
		return -EALREADY;
	}
	if (!cur && x->nown >= EXPOSE_MAX_OWN) {
		snprintf(err, errcap, "at most %d exposures", EXPOSE_MAX_OWN);
		return -ENOSPC;
	}
	/* everything the record needs must hold now: scope, mirrors */
	if ((rc = own_body(x, &o, &b, err, errcap)) < 0)
		return rc == -ENOENT ? -EINVAL : rc;
	if ((rc = publish(x, o.service, &b, err, errcap)) < 0)
		return rc == -EACCES ? -EPERM : rc;
	if ((rc = save_own(x, &o, err, errcap)) < 0)
		return rc;
	if (cur)
		*cur = o;
	else
		x->own[x->nown++] = o;
	host_dirty(x->h);
	*res = own_json(&o);
	json_put_str(*res, "domain", b.expose.domain);
	return 0;
bad_backend:
	snprintf(err, errcap, "backend: an IP address and port on this box, such as 127.0.0.1:3000");
	return -EINVAL;
}

/* expose_remove: {service, [channel]} — one channel, or the whole exposure. */
static int api_remove(void *st, struct json_object *req, struct json_object **res, char *err,
		      size_t errcap)
{
	struct expose *x = st;
	const char *s = json_get_str(req, "service"), *ch = json_get_str(req, "channel");
	struct own *o;
	uint8_t bits = 0;
	int rc;

	if (!s || !(o = own_find(x, s))) {
		snprintf(err, errcap, "no exposure named %s", s ? s : "(none)");
		return -ENOENT;
	}
	if (o->from_conf) {
		snprintf(err, errcap, "%s is defined in the config file (an expose line): remove it there", s);
		return -EALREADY;
	}
	if (ch && (parse_channels(ch, &bits) < 0)) {
		snprintf(err, errcap, "channel: mesh, dns, tor or mdns");
		return -EINVAL;
	}
	*res = json_object_new_object();
	json_put_str(*res, "service", o->service);
	char scope[MN_MAX_DOMAIN + 1];
	own_scope(x, scope, sizeof scope);
	uint8_t cur = channels_of(o, scope);
	if (ch && (cur & ~bits)) {
		o->channels = cur & (uint8_t)~bits;
		if ((rc = save_own(x, o, err, errcap)) < 0) {
			json_object_put(*res);
			return rc;
		}
		char t[32];
		channels_text(o->channels, t, sizeof t);
		json_put_str(*res, "channels", t);
	} else {
		host_state_del(x->h, o->service);
		*o = x->own[--x->nown];
		json_put_bool(*res, "removed", true);
	}
	sync_own(x);   /* the record changes (or goes) now */
	host_dirty(x->h);
	return 0;
}

struct list_ctx {
	struct expose *x;
	struct json_object *arr;
};

static int list_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct list_ctx *l = ctx;
	union body b;
	char hex[65], did[DID_KEY_MAX], ch[32];
	struct json_object *o, *ms;

	(void)id;
	if (r->kind != KIND_EXPOSE || record_is_tombstone(r) ||
	    body_decode(KIND_EXPOSE, r->body, r->body_len, &b) < 0)
		return 0;
	o = json_object_new_object();
	ms = json_object_new_array();
	hex_encode(r->origin, 32, hex);
	did_key_encode(DID_ED25519, r->origin, did, sizeof did);
	channels_text(b.expose.channels, ch, sizeof ch);
	json_put_str(o, "service", b.expose.service);
	json_put_str(o, "origin", did);
	json_put_bool(o, "mine", !memcmp(r->origin, host_self(l->x->h), 32));
	json_put_int(o, "port", b.expose.port);
	json_put_str(o, "proto", proto_names[b.expose.proto]);
	json_put_str(o, "domain", b.expose.domain);
	json_put_str(o, "channels", ch);
	for (unsigned i = 0; i < b.expose.n_mirrors; i++) {
		did_key_encode(DID_ED25519, b.expose.mirrors[i].node, did, sizeof did);
		json_object_array_add(ms, json_object_new_string(did));
	}
	JADD(o, "mirrors", ms);
	if (b.expose.onion[0])
		json_put_str(o, "onion", b.expose.onion);
	json_put_int(o, "expires", (int64_t)r->expires);
	json_object_array_add(l->arr, o);
	return 0;
}

/* expose_list: {own: our list (with local backends), mesh: every record held} */
static int api_list(void *st, struct json_object *req, struct json_object **res, char *err,
		    size_t errcap)
{
	struct expose *x = st;
	struct list_ctx l = { x, json_object_new_array() };
	struct json_object *own = json_object_new_array();

	(void)req;
	for (size_t i = 0; i < x->nown; i++)
		json_object_array_add(own, own_json(&x->own[i]));
	if (host_each(x->h, KIND_BIT(KIND_EXPOSE), NULL, list_cb, &l) < 0) {
		json_object_put(l.arr);
		json_object_put(own);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	*res = json_object_new_object();
	JADD(*res, "own", own);
	JADD(*res, "mesh", l.arr);
	return 0;
}

/* expose_check: render everything into DIR/check (never live) and say
 * where, so the caller runs `haproxy -c` on it; the problems found on the
 * way (refused records, skipped routes, our records that cannot be
 * published) come back too. */
static int api_check(void *st, struct json_object *req, struct json_object **res, char *err,
		     size_t errcap)
{
	struct expose *x = st;
	const struct expose_conf *c = conf(x);
	struct model m;
	char dir[HACFG_DIR_MAX + 16], e[300];
	struct json_object *probs = json_object_new_array();

	(void)req;
	for (size_t i = 0; i < x->nown; i++) {
		union body b;
		if (own_body(x, &x->own[i], &b, e, sizeof e) < 0)
			json_object_array_add(probs, json_object_new_string(e));
	}
	if (model_build(x, &m) < 0) {
		model_free(&m);
		json_object_put(probs);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	if (m.refused)
		json_object_array_add(probs, json_object_new_string(m.reason));
	snprintf(dir, sizeof dir, "%s/check", c->dir);
	x->skip_reason[0] = 0;
	unsigned skipped_before = x->skipped, routes_before = x->routes;
	int rc = render_into(x, dir, &m, e, sizeof e);
	unsigned skipped = x->skipped, routes = x->routes;
	x->skipped = skipped_before;
	x->routes = routes_before;
	model_free(&m);
	if (rc < 0) {
		json_object_put(probs);
		snprintf(err, errcap, "%s", e);
		return -EINVAL;
	}
	if (skipped && x->skip_reason[0])
		json_object_array_add(probs, json_object_new_string(x->skip_reason));
	*res = json_object_new_object();
	snprintf(e, sizeof e, "%s/haproxy.cfg", dir);
	json_put_str(*res, "config", e);
	json_put_str(*res, "haproxy", c->haproxy);
	json_put_str(*res, "proxy", c->proxy ? "haproxy" : "none");
	json_put_int(*res, "routes", (int)routes);
	json_put_int(*res, "skipped", (int)skipped);
	json_put_int(*res, "refused", (int)m.refused);
	JADD(*res, "problems", probs);
	return 0;
}

/* ---- options ---- */

#define BAD(...) do { snprintf(msg, cap, __VA_ARGS__); return -EINVAL; } while (0)
static int check_dir(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!conf_path_ok(val) || !strcmp(val, "/") || strlen(val) > 90)
		BAD("an absolute directory path of [A-Za-z0-9._+-/], at most 90 bytes");
	return 0;
}

static int check_cert_dir(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!conf_path_ok(val) || strlen(val) > HACFG_DIR_MAX)
		BAD("an absolute directory path of [A-Za-z0-9._+-/]");
	return 0;
}

static int check_addr(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!hacfg_addr_ok(val))
		BAD("an IP address (0.0.0.0 or :: for every address)");
	return 0;
}

static int check_entry(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!hacfg_addr_ok(val) || addr_wildcard(val))
		BAD("an IP address where the internet reaches this node (not 0.0.0.0 or ::)");
	return 0;
}

static int check_hostport(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!hacfg_backend_ok(val))
		BAD("an ip:port such as 127.0.0.1:8402");
	return 0;
}

static int parse_line(void *sect, char *val, char *msg, size_t cap)
{
	struct expose_conf *c = sect;
	char copy[EXPOSE_CONF_LINES];
	struct own o;
	size_t have = strlen(c->lines), n = strlen(val);

	snprintf(copy, sizeof copy, "%s", val);
	if (n >= sizeof copy || own_parse(copy, &o, msg, cap) < 0) {
		if (n >= sizeof copy)
			snprintf(msg, cap, "expose: a line of at most %zu bytes", sizeof copy - 1);
		return -EINVAL;
	}
	/* kept (and printed by mirrornetd -n) in the normal form */
	int fn = own_format(&o, copy, sizeof copy);
	if (fn < 0)
		BAD("expose: a line of at most %zu bytes", sizeof copy - 1);
	val = copy;
	n = (size_t)fn;
	if (have + n + 2 > sizeof c->lines)
		BAD("expose: at most %zu bytes of expose lines in the config file "
		    "(add more with mirrornetctl expose add)", sizeof c->lines);
	memcpy(c->lines + have, val, n);
	c->lines[have + n] = '\n';
	c->lines[have + n + 1] = 0;
	return 0;
}

static void print_lines(const void *sect, const struct conf_opt *o, FILE *f)
{
	const char *s = ((const struct expose_conf *)sect)->lines;

	while (*s) {
		size_t n = strcspn(s, "\n");
		fprintf(f, "%s %.*s\n", o->name, (int)n, s);
		s += n + (s[n] == '\n');
	}
}
#undef BAD

#define F(f) CONF_FIELD(struct expose_conf, f)
static const struct conf_opt expose_opts[] = {
	{ "expose", CONF_FN, CONF_MULTI, F(lines), .parse = parse_line, .print = print_lines,
	  .help = "SERVICE PORT [proto=..] [backend=IP:PORT] [domain=..] [channels=..] [mirror=NODE].. "
		  "[health=PATH] [send_proxy=yes]" },
	{ "expose_proxy", CONF_INDEX, 0, F(proxy), .choices = "none|haproxy", .def = "none",
	  .help = "none or haproxy" },
	{ "expose_dir", CONF_STR, 0, F(dir), .parse = check_dir, .def = "/var/run/mirrornet/expose",
	  .help = "an absolute directory path" },
	{ "expose_haproxy", CONF_STR, 0, F(haproxy), .def = "/usr/sbin/haproxy",
	  .help = "the haproxy program" },
	{ "expose_public", CONF_STR, 0, F(public_addr), .parse = check_addr,
	  .help = "an IP address where the internet reaches this node" },
	{ "expose_advertise", CONF_STR, 0, F(advertise), .parse = check_entry,
	  .help = "the IP address the CDN's names resolve to at this node (default: expose_public)" },
	{ "expose_http_port", CONF_UINT, 0, F(http_port), .min = 1, .max = 65535, .def = "80", .help = "1..65535" },
	{ "expose_https_port", CONF_UINT, 0, F(https_port), .min = 1, .max = 65535, .def = "443", .help = "1..65535" },
	{ "expose_hop_http_port", CONF_UINT, 0, F(hop_http_port), .min = 1, .max = 65535, .def = "8480",
	  .help = "1..65535" },
	{ "expose_hop_tls_port", CONF_UINT, 0, F(hop_tls_port), .min = 1, .max = 65535, .def = "8443",
	  .help = "1..65535" },
	{ "expose_cert_dir", CONF_STR, 0, F(cert_dir), .parse = check_cert_dir,
	  .help = "an absolute directory path" },
	{ "expose_acme", CONF_STR, 0, F(acme), .parse = check_hostport, .help = "an ip:port" },
	{ "expose_maxconn", CONF_UINT, 0, F(maxconn), .min = 16, .max = 1000000, .def = "2000", .help = "16..1000000" },
	{ "expose_ttl_s", CONF_U64, 0, F(ttl_s), .min = 600, .max = 366ull * 86400, .def = "604800",
	  .help = "600..31622400 seconds" },
	EXPOSE_CHAN_OPTS(struct expose_conf, chan),
	ACME_CONF_ROWS(struct expose_conf, ac),
};
#undef F

static const struct subsys_call expose_calls[] = {
	{ "expose_add", api_add, (const struct subsys_arg[]){ { "service", json_type_string }, { "port", json_type_int },
				   { "proto", json_type_string }, { "backend", json_type_string },
				   { "domain", json_type_string }, { "channels", json_type_string },
				   { "mirrors", json_type_array }, { "health", json_type_string },
				   { "send_proxy", json_type_boolean }, { NULL, 0 } } },
	{ "expose_remove", api_remove, (const struct subsys_arg[]){ { "service", json_type_string }, { "channel", json_type_string },
					 { NULL, 0 } } },
	{ "expose_list", api_list, (const struct subsys_arg[]){ { NULL, 0 } } },
	{ "expose_check", api_check, (const struct subsys_arg[]){ { NULL, 0 } } },
};

const struct subsys subsys_expose = {
	.name = "expose",
	.kinds = 1u << KIND_EXPOSE | 1u << KIND_CERT | 1u << KIND_REVOKE | 1u << KIND_NODE,
	.owns = 1u << KIND_EXPOSE,
	.conf = { "expose", expose_opts, sizeof expose_opts / sizeof expose_opts[0],
		  sizeof(struct expose_conf), NULL, NULL },
	.calls = expose_calls,
	.ncalls = sizeof expose_calls / sizeof expose_calls[0],
	.regen = { .fn = generate, .debounce_ms = 200, .max_wait_ms = 2000, .min_interval_ms = 500 },
	.start = ex_start,
	.record = ex_record,
	.trust = ex_trust,
	.reload = ex_reload,
	.status = ex_status,
	.stop = ex_stop,
	.free = ex_free,
};
