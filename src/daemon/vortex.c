/* Vortex DNS, a subsystem of the daemon (subsys.h, docs/dns.md): the dns
 * records held (signed delegations), with the node records (names, mesh
 * addresses) and mesh exposures, become zone files for every zone of the
 * mesh plus the configuration of the DNS server the box runs (dns_server
 * knot | bind | dnsmasq; none = off), under dns_dir. A file is written
 * (temp + rename) only when its content changes, the zone's SOA serial then
 * moves forward (kept in the host's state table), and one reload command
 * runs (dns_reload) when anything changed; its failure is counted and shown
 * in status. Any node serves every zone it holds, so a zone stays
 * resolvable while its own node is offline. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "src/daemon/subsys.h"
#include "src/daemon/config.h"
#include "src/putfile.h"
#include "src/dns/zonegen.h"
#include "src/daemon/vortex_acme.h"
#include "src/daemon/vortex_key.h"
#include "src/daemon/mailrec.h"
#include "src/log.h"
#include "crypto/chain.h"
#include "crypto/did.h"
#include "proto/hex.h"
#include "proto/proto_err.h"
#include "src/body_json.h"

#define RELOAD_TIMEOUT_MS 30000
#define FILE_MAX (8u << 20)

/* Its options (docs/config.md). */
struct dns_conf {
	char server[16];             /* none | knot | bind | dnsmasq */
	char zones[8];               /* all (every mesh zone) | own (those delegated to us) */
	char dir[CONFIG_PATH_MAX];
	char listen[MN_MAX_ADDR + 1];   /* "" = the server's default */
	unsigned port;
	char reload[512];            /* a shell command, run after files changed */
	char acme_key[CONFIG_PATH_MAX];   /* ACME DNS-01: the TSIG key file (vortex_acme.h) */
	/* zone transfers to outside secondaries (docs/dns.md "Zone transfers") */
	struct dns_secondary {
		char addr[MN_MAX_ADDR + 1];   /* inet_ntop's spelling */
		uint16_t port;
	} secondary[ZONEGEN_MAX_SECONDARIES];
	size_t n_secondary;
	char xfr_key[CONFIG_PATH_MAX];   /* their TSIG key file (vortex_key.h) */
};

struct vortex {
	struct mn_host *h;
	bool closing;
	char domain[MN_MAX_DOMAIN + 1];
	unsigned zones, rejected, generations, writes, reloads, reload_failures;
	char last_error[600], reload_status[128];
	uint64_t last_generated_ms;
	uint64_t generate_ms, reload_ms;   /* how long the last generation that
	                                    * wrote files / the last reload took */
	/* the prune: the zones the config last written names (sorted), and
	 * whether the server loaded that config */
	char **keep;
	size_t nkeep;
	bool keep_valid, loaded;
	unsigned pruned;
};

static const struct dns_conf *conf(const struct vortex *v)
{
	return host_conf(v->h);
}

static void vortex_dirty(struct vortex *v);

/* ---- the model from the records ---- */

struct node_info {
	uint8_t pk[32];
	char name[MN_MAX_NAME + 1];
	char addr[MN_MAX_ADDR + 1];
};

struct collect {
	struct vortex *v;
	struct node_info *nodes;
	size_t nnodes, ncap;
	/* the dns records (delegations): the zone, the record (engine_find
	 * reads its body again when the zone goes into the model, so a record
	 * costs this much here, not a whole zonegen_deleg), its delegate and
	 * who signed it */
	struct dl_ref {
		char zone[MN_MAX_DOMAIN + 1];
		uint8_t id[32], delegate[32], origin[32];
	} *dl;
	size_t ndl, dcap;
	struct { uint8_t node[32]; char zone[MN_MAX_DOMAIN + 1]; } *back;
	size_t nback, bcap;
	/* the exposures, with their mirrors (for their entry points) */
	struct { uint8_t node[32]; struct zonegen_expose e; struct mirror mirrors[MN_MAX_MIRRORS];
		 uint8_t n_mirrors; size_t zone; } *ex;   /* zone: cdn_zone() of its domain */
	size_t nex, ecap;
	/* the CDN's entry points: svc "cdn" records, one per node */
	struct cdn_entry { uint8_t node[32]; char addr[MN_MAX_ADDR + 1]; } *cdn;
	size_t ncdn, ccap;
	/* the MX records of the mesh's mail domains (svc "mail", docs/mail.md),
	 * each with the zone it goes into (cdn_zone()) */
	struct { size_t zone; struct zonegen_mx mx; } *mx;
	size_t nmx;
	size_t *mine;    /* dns_zones own: dl[mine[k]] is delegated to us */
	size_t nmine;
	bool filter;     /* dns_zones own and we are not the root: relevant() */
	uint64_t newest;   /* the newest record's time, unix seconds (versions are in µs) */
};

static void *grow(void *p, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return p;
	size_t nc = *cap ? *cap * 2 : 64;
	void *q = realloc(p, nc * elem);
	if (q)
		*cap = nc;
	return q;
}

static int collect_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct collect *c = ctx;
	union body b;
	void *q;

	if (record_is_tombstone(r) || (r->kind != KIND_NODE && r->kind != KIND_DNS &&
				       r->kind != KIND_EXPOSE && r->kind != KIND_SVC))
		return 0;
	if (r->kind == KIND_SVC && strcmp(r->key, SVC_CDN) != 0)
		return 0;
	if (body_decode(r->kind, r->body, r->body_len, &b) < 0)
		return 0;
	/* the zones' serial: the newest of what they are made of (unix s) */
	if (r->kind != KIND_NODE && r->version / 1000000 > c->newest)
		c->newest = r->version / 1000000;
	if (r->kind == KIND_NODE) {
		if (!(q = grow(c->nodes, &c->ncap, c->nnodes, sizeof *c->nodes)))
			return -ENOMEM;
		c->nodes = q;
		struct node_info *n = &c->nodes[c->nnodes++];
		memcpy(n->pk, r->origin, 32);
		snprintf(n->name, sizeof n->name, "%s", b.node.name);
		snprintf(n->addr, sizeof n->addr, "%.*s", (int)strcspn(b.node.mesh_addr, "/"),
			 b.node.mesh_addr);
		return 0;
	}
	if (r->kind == KIND_SVC) {
		/* an entry point names an address only; zonegen checks it again */
		if (strlen(b.svc.endpoint) > MN_MAX_ADDR)
			return 0;
		if (!(q = grow(c->cdn, &c->ccap, c->ncdn, sizeof *c->cdn)))
			return -ENOMEM;
		c->cdn = q;
		memcpy(c->cdn[c->ncdn].node, r->origin, 32);
		snprintf(c->cdn[c->ncdn].addr, sizeof c->cdn[c->ncdn].addr, "%.*s", MN_MAX_ADDR, b.svc.endpoint);
		c->ncdn++;
		return 0;
	}
	if (r->kind == KIND_EXPOSE) {
		if (!(q = grow(c->ex, &c->ecap, c->nex, sizeof *c->ex)))
			return -ENOMEM;
		c->ex = q;
		memset(&c->ex[c->nex], 0, sizeof c->ex[c->nex]);   /* realloc'd: every field set */
		memcpy(c->ex[c->nex].node, r->origin, 32);
		struct zonegen_expose *e = &c->ex[c->nex].e;
		snprintf(e->service, sizeof e->service, "%s", b.expose.service);
		e->port = b.expose.port;
		e->channels = b.expose.channels;
		snprintf(e->domain, sizeof e->domain, "%s", b.expose.domain);
		snprintf(e->onion, sizeof e->onion, "%s", b.expose.onion);
		memcpy(c->ex[c->nex].mirrors, b.expose.mirrors, sizeof b.expose.mirrors);
		c->ex[c->nex].n_mirrors = b.expose.n_mirrors;
		c->nex++;
		return 0;
	}
	/* a delegate giving its zone back: a record of its own for that zone,
	 * without name servers (docs/dns.md) */
	if (!memcmp(r->origin, b.dns.delegate, 32) && b.dns.n_ns == 0) {
		if (!(q = grow(c->back, &c->bcap, c->nback, sizeof *c->back)))
			return -ENOMEM;
		c->back = q;
		memcpy(c->back[c->nback].node, r->origin, 32);
		snprintf(c->back[c->nback].zone, sizeof c->back[c->nback].zone, "%s", b.dns.zone);
		c->nback++;
		return 0;
	}
	if (!(q = grow(c->dl, &c->dcap, c->ndl, sizeof *c->dl)))
		return -ENOMEM;
	c->dl = q;
	struct dl_ref *d = &c->dl[c->ndl++];
	snprintf(d->zone, sizeof d->zone, "%s", b.dns.zone);
	memcpy(d->id, id, 32);
	memcpy(d->delegate, b.dns.delegate, 32);
	memcpy(d->origin, r->origin, 32);
	return 0;
}

/* A delegation record's fields into the zonegen_deleg given as ctx. */
static int deleg_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct zonegen_deleg *d = ctx;
	union body b;

	(void)id;
	if (r->kind != KIND_DNS || body_decode(r->kind, r->body, r->body_len, &b) < 0)
		return -ENOENT;
	memset(d, 0, sizeof *d);
	snprintf(d->zone, sizeof d->zone, "%s", b.dns.zone);
	memcpy(d->ns, b.dns.ns, sizeof d->ns);
	d->n_ns = b.dns.n_ns;
	d->ttl = b.dns.ttl;
	memcpy(d->names, b.dns.names, sizeof d->names);
	d->n_names = b.dns.n_names;
	return 0;
}

static const struct node_info *node_of(const struct collect *c, const uint8_t pk[32])
{
	for (size_t i = 0; i < c->nnodes; i++)
		if (!memcmp(c->nodes[i].pk, pk, 32))
			return &c->nodes[i];
	return NULL;
}

/* pk's entry point ("" none); only a member with a valid chain is one. */
static const char *cdn_of(struct vortex *v, const struct collect *c, const uint8_t pk[32])
{
	struct chain_result cr;

	for (size_t i = 0; i < c->ncdn; i++)
		if (!memcmp(c->cdn[i].node, pk, 32))
			return host_chain(v->h, pk, &cr) >= 0 ? c->cdn[i].addr : "";
	return "";
}

static void add_entry(struct zonegen_expose *e, const char *addr)
{
	if (!addr[0] || e->n_entries == ZONEGEN_MAX_ENTRIES)
		return;
	for (unsigned k = 0; k < e->n_entries; k++)
		if (!strcmp(e->entry[k], addr))
			return;
	snprintf(e->entry[e->n_entries++], sizeof e->entry[0], "%s", addr);
}

/* The public entry points of exposure k on the CDN (docs/expose.md
 * "Multipoint DNS"): the nearest node with one on its origin's chain (the
 * origin itself, then up to the root: each routes the name down the
 * chain), its mirrors' (they route it straight to the origin), then the
 * farther ancestors', at most ZONEGEN_MAX_ENTRIES. */
static void entries_of(struct vortex *v, const struct collect *c, size_t k)
{
	struct zonegen_expose *e = &c->ex[k].e;
	uint8_t path[MN_MAX_DEPTH + 2][32];
	struct chain_result cr;
	size_t n = 0, near;

	if (!(e->channels & CH_DNS) || !e->domain[0] ||
	    subsys_chain_path(v->h, c->ex[k].node, path, MN_MAX_DEPTH + 2, &n, &cr) < 0)
		return;
	for (near = n; near > 0; near--) {   /* each looked up (and its chain checked) once */
		const char *a = cdn_of(v, c, path[near - 1]);
		if (a[0]) {
			add_entry(e, a);
			break;
		}
	}
	for (unsigned i = 0; i < c->ex[k].n_mirrors; i++)
		add_entry(e, cdn_of(v, c, c->ex[k].mirrors[i].node));
	for (size_t i = near > 1 ? near - 1 : 0; i > 0; i--)
		add_entry(e, cdn_of(v, c, path[i - 1]));
}

/* Was zone dl[i] given back by its delegate? (then nobody serves it) */
static bool given_back(const struct collect *c, size_t i)
{
	for (size_t k = 0; k < c->nback; k++)
		if (!memcmp(c->back[k].node, c->dl[i].delegate, 32) && !strcmp(c->back[k].zone, c->dl[i].zone))
			return true;
	return false;
}

/* The zone a CDN name goes into: the deepest zone of the mesh holding it
 * (its index in dl; c->ndl: the apex, when the root has no record for it).
 * Not the origin's own zone necessarily: a leaf behind NAT need not serve
 * DNS to the internet, its public names go where the internet asks — the
 * engine checked the name against the origin's certified scope. */
static size_t cdn_zone(const struct collect *c, const char *domain)
{
	size_t best = c->ndl, blen = 0;

	if (!dns_scope_contains(c->v->domain, domain))
		return SIZE_MAX;   /* not a name of the mesh: nowhere */
	for (size_t i = 0; i < c->ndl; i++) {
		size_t n = strlen(c->dl[i].zone);
		if (n > blen && !given_back(c, i) && dns_scope_contains(c->dl[i].zone, domain)) {
			best = i;
			blen = n;
		}
	}
	return best;
}

/* The exposures that go into zone i (c->ndl: the synthesized apex) whose
 * delegate is del: its own (mesh names, onion TXT), and every CDN name
 * whose deepest zone it is (docs/expose.md "Multipoint DNS"). */
static void attach_exposes(struct vortex *v, struct collect *c, size_t i, const uint8_t del[32],
			   struct zonegen_deleg *dl)
{
	for (size_t k = 0; k < c->nex && dl->n_exposes < ZONEGEN_MAX_EXPOSES; k++) {
		struct zonegen_expose e = c->ex[k].e;
		bool cdn = (e.channels & CH_DNS) && e.domain[0];
		bool here = cdn && c->ex[k].zone == i;
		if (!memcmp(c->ex[k].node, del, 32)) {
			if (cdn && !here)   /* its public name (and the onion TXT there) go elsewhere */
				e.channels &= (uint8_t)~(CH_DNS | CH_TOR);
		} else if (here) {
			e.channels &= CH_DNS | CH_TOR;   /* another node's CDN name */
		} else {
			continue;
		}
		if (here && !e.n_entries) {
			entries_of(v, c, k);
			e.n_entries = c->ex[k].e.n_entries;
			memcpy(e.entry, c->ex[k].e.entry, sizeof e.entry);
		}
		if (e.channels)
			dl->exposes[dl->n_exposes++] = e;
	}
}

/* The mail domains' MX records (docs/mail.md): every valid svc "mail"
 * record's domains inside its origin's scope and the mesh domain, with
 * their primaries, then the backups (mailcfg_mx), into c->mx. */
static void collect_mx(struct vortex *v, struct collect *c)
{
	struct mail_boxes l;
	struct mailcfg_mx mx[MAILCFG_MAX_MX];

	if (mail_boxes_collect(v->h, &l) < 0 || !l.n) {
		mail_boxes_free(&l);
		return;
	}
	size_t cap = 0;
	for (size_t i = 0; i < l.n; i++)
		cap += l.b[i].ndomains;
	c->mx = calloc(cap * MAILCFG_MAX_MX + 1, sizeof *c->mx);
	for (size_t i = 0; c->mx && i < l.n; i++)
		for (size_t d = 0; d < l.b[i].ndomains; d++) {
			const char *dom = l.b[i].domains[d];
			size_t zone = l.b[i].in_scope[d] ? cdn_zone(c, dom) : SIZE_MAX;
			bool seen = false;
			for (size_t k = 0; k < c->nmx && !seen; k++)
				seen = !strcmp(c->mx[k].mx.name, dom);
			if (zone == SIZE_MAX || seen)
				continue;
			size_t n = mailcfg_mx(l.b, l.n, dom, NULL, mx, MAILCFG_MAX_MX);
			for (size_t k = 0; k < n; k++) {
				c->mx[c->nmx].zone = zone;
				snprintf(c->mx[c->nmx].mx.name, sizeof c->mx[0].mx.name, "%s", dom);
				c->mx[c->nmx].mx.pref = mx[k].priority;
				snprintf(c->mx[c->nmx].mx.host, sizeof c->mx[0].mx.host, "%s", mx[k].host);
				c->nmx++;
			}
		}
	mail_boxes_free(&l);
}

static void attach_mx(const struct collect *c, size_t i, struct zonegen_deleg *dl)
{
	dl->n_mx = 0;
	for (size_t k = 0; k < c->nmx && dl->n_mx < ZONEGEN_MAX_MX; k++)
		if (c->mx[k].zone == i)
			dl->mx[dl->n_mx++] = c->mx[k].mx;
}

static void report_each(void *arg, const char *msg)
{
	(void)arg;
	log_warn("dns: %s", msg);
}

/* Does the zone go into the model? With dns_zones all (or at the root,
 * which serves the apex), every zone; with dns_zones own, only the zones
 * delegated to us (c->mine), those above them (which decide whether ours
 * are accepted) and those below them (our delegations and glue): memory
 * follows the zones served, not the mesh. */
static bool relevant(const struct collect *c, const char *zone)
{
	if (!c->filter)
		return true;
	for (size_t k = 0; k < c->nmine; k++) {
		const char *z = c->dl[c->mine[k]].zone;
		if (dns_scope_contains(zone, z) || dns_scope_contains(z, zone))
			return true;
	}
	return false;
}

/* Build and seal the model; NULL if the mesh has no domain. */
static struct zonegen *build(struct vortex *v, struct collect *c, struct zonegen_report *rep)
{
	const struct config *cfg = host_config(v->h);
	struct chain_result g;
	struct zonegen *m = NULL;

	memset(c, 0, sizeof *c);
	c->v = v;
	if (host_chain(v->h, cfg->root, &g) < 0 || !g.dns_scope[0]) {
		snprintf(v->last_error, sizeof v->last_error,
			 "the mesh has no DNS domain (mirrornetctl mesh init --domain)");
		return NULL;
	}
	snprintf(v->domain, sizeof v->domain, "%s", g.dns_scope);
	if (host_each(v->h, KIND_BIT(KIND_NODE) | KIND_BIT(KIND_DNS) | KIND_BIT(KIND_EXPOSE) | KIND_BIT(KIND_SVC), NULL, collect_cb, c) < 0 || zonegen_new(v->domain, &m) < 0)
		return NULL;
	/* where each CDN name goes, once (not once per zone it is offered to) */
	for (size_t k = 0; k < c->nex; k++)
		c->ex[k].zone = (c->ex[k].e.channels & CH_DNS) && c->ex[k].e.domain[0] ?
				cdn_zone(c, c->ex[k].e.domain) : SIZE_MAX;
	collect_mx(v, c);
	/* the apex: the root's own record for the domain, else one made from
	 * the root's node record (ns.<domain> at its mesh address) */
	bool have_apex = false;
	for (size_t i = 0; i < c->ndl; i++)
		have_apex |= !strcmp(c->dl[i].zone, v->domain);
	if (!have_apex) {
		const struct node_info *root = node_of(c, cfg->root);
		if (root && root->addr[0]) {
			struct zonegen_deleg *a = calloc(1, sizeof *a);
			if (a) {
				snprintf(a->zone, sizeof a->zone, "%s", v->domain);
				snprintf(a->delegate, sizeof a->delegate, "%s", root->name);
				snprintf(a->ns[0].host, sizeof a->ns[0].host, "ns.%.*s", MN_MAX_DOMAIN - 3, v->domain);
				snprintf(a->ns[0].addr, sizeof a->ns[0].addr, "%s", root->addr);
				a->n_ns = 1;
				snprintf(a->delegate_addr[0], sizeof a->delegate_addr[0], "%s", root->addr);
				attach_exposes(v, c, c->ndl, cfg->root, a);
				attach_mx(c, c->ndl, a);
				zonegen_add(m, a, rep);
				free(a);
			}
		}
	}
	const uint8_t *me = host_self(v->h);
	bool own = !strcmp(conf(v)->zones, "own");
	if (own && !(c->mine = calloc(c->ndl + 1, sizeof *c->mine)))
		return m;   /* unsealed: generates nothing */
	for (size_t i = 0; own && i < c->ndl; i++)
		if (!memcmp(c->dl[i].delegate, me, 32))
			c->mine[c->nmine++] = i;
	c->filter = own && memcmp(me, cfg->root, 32) != 0;
	struct zonegen_deleg *dl = malloc(sizeof *dl);   /* one at a time */
	struct { const uint8_t *origin; char scope[MN_MAX_DOMAIN + 1]; bool ok; } sg = { NULL, "", false };
	for (size_t i = 0; dl && i < c->ndl; i++) {
		if (given_back(c, i) || !relevant(c, c->dl[i].zone) ||
		    host_find(v->h, c->dl[i].id, deleg_cb, dl) < 0)
			continue;
		/* the parent: the signer's zone (its certificate's DNS scope), so
		 * a member that holds a scope but was never delegated it cannot
		 * hang zones directly below the domain: zonegen_seal rejects a
		 * parent that is not the closest accepted zone (docs/dns.md).
		 * The records of one signer usually come together: its chain is
		 * checked once for them. */
		dl->parent[0] = 0;
		if (strcmp(dl->zone, v->domain)) {
			if (!sg.origin || memcmp(sg.origin, c->dl[i].origin, 32)) {
				struct chain_result cr = { 0 };
				sg.origin = c->dl[i].origin;
				sg.ok = host_chain(v->h, sg.origin, &cr) >= 0;
				snprintf(sg.scope, sizeof sg.scope, "%s", cr.dns_scope[0] ? cr.dns_scope : v->domain);
			}
			if (!sg.ok)
				continue;
			snprintf(dl->parent, sizeof dl->parent, "%s", sg.scope);
		}
		const struct node_info *del = node_of(c, c->dl[i].delegate);
		if (del) {
			snprintf(dl->delegate, sizeof dl->delegate, "%s", del->name);
			snprintf(dl->delegate_addr[0], sizeof dl->delegate_addr[0], "%s", del->addr);
		}
		attach_exposes(v, c, i, c->dl[i].delegate, dl);
		attach_mx(c, i, dl);
		zonegen_add(m, dl, rep);
	}
	free(dl);
	zonegen_seal(m, rep);
	return m;
}

static void collect_free(struct collect *c)
{
	free(c->nodes);
	free(c->dl);
	free(c->mine);
	free(c->back);
	free(c->ex);
	free(c->cdn);
	free(c->mx);
}

/* ---- files ---- */

/* Does path hold exactly text[n]? (size first, then 64 KiB at a time) */
/* Generate into b, one buffer for every file of a generation (it grows
 * to the largest; the caller frees b->p): 0 with the text in b->p[0..*n). */
typedef int gen_fn(void *arg, struct zonegen_out *o);
struct gbuf {
	char *p;
	size_t cap;
};

static int gen_text(gen_fn *fn, void *arg, struct gbuf *b, size_t *n)
{
	for (int tries = 0; tries < 3; tries++) {
		if (!b->p) {
			b->cap = b->cap ? b->cap : 4096;
			if (!(b->p = malloc(b->cap)))
				return -ENOMEM;
		}
		struct zonegen_out o = { .buf = b->p, .cap = b->cap };
		int rc = fn(arg, &o);
		if (rc >= 0 && !o.err) {
			*n = o.len;
			return 0;
		}
		if (o.err != -ENOSPC && rc != -ENOSPC)
			return rc < 0 ? rc : o.err;
		if (o.len + 1 > FILE_MAX)
			return -EFBIG;
		free(b->p);
		b->p = NULL;
		b->cap = o.len + 1 > b->cap * 2 ? o.len + 1 : b->cap * 2;
	}
	return -ENOSPC;
}

/* ACME DNS-01 on our zone (vortex_acme.h): its lines after knot.conf's. */
static void acme_append(struct vortex *v, struct gbuf *b, size_t *n)
{
	char *t, *q;
	size_t len;

	if (vortex_acme_knot(v->h, conf(v)->acme_key, conf(v)->dir, &t, &len, v->last_error,
			     sizeof v->last_error) < 0 || !len)
		return;
	if (*n + len + 1 > b->cap && (q = realloc(b->p, *n + len + 1))) {
		b->p = q;
		b->cap = *n + len + 1;
	}
	if (*n + len + 1 <= b->cap) {
		memcpy(b->p + *n, t, len);
		*n += len;
		b->p[*n] = 0;
	}
	free(t);
}

/* Outside secondaries (docs/dns.md "Zone transfers"): the key, its file
 * for the server (DIR/xfr-key.conf, 0600: the configs only include it) and
 * the secondaries into zc; k holds the key until the config is written
 * (the caller wipes it). A key that cannot be loaded leaves the key out:
 * zonegen then allows no transfer at all, and status says why. Without
 * secondaries, a key file of ours left in dir goes. */
static void xfr_prepare(struct vortex *v, struct zonegen_conf *zc, struct tsig_key *k)
{
	const struct dns_conf *cfg = conf(v);
	char path[ZONEGEN_PATH_MAX], text[512];
	int rc, n;

	snprintf(path, sizeof path, "%s/" ZONEGEN_XFR_KEY_CONF, cfg->dir);
	if (!cfg->n_secondary || !strcmp(cfg->server, "dnsmasq")) {
		unlink(path);
		return;
	}
	for (size_t i = 0; i < cfg->n_secondary; i++) {
		zc->secondary[i] = cfg->secondary[i].addr;
		zc->secondary_port[i] = cfg->secondary[i].port;
	}
	zc->n_secondary = cfg->n_secondary;
	if (vortex_key_load(cfg->xfr_key, "mn-xfr", k, v->last_error, sizeof v->last_error) < 0) {
		log_err("dns: zone transfers off: %s", v->last_error);
		return;
	}
	n = !strcmp(cfg->server, "knot") ? tsig_knot_conf("the TSIG key of zone transfers (mirrornet)", k, text, sizeof text)
					 : tsig_bind_conf("the TSIG key of zone transfers (mirrornet)", k, text, sizeof text);
	rc = n < 0 ? n : file_put(path, text, (size_t)n, 0600);
	explicit_bzero(text, sizeof text);
	if (rc < 0) {
		snprintf(v->last_error, sizeof v->last_error, "%.300s: %s", path, strerror(-rc));
		log_err("dns: zone transfers off: %s", v->last_error);
		return;
	}
	zc->xfr_key = k;
}

struct zone_arg {
	const struct zonegen *m;
	const char *zone;
	uint32_t serial;
	struct zonegen_report *rep;
};

static int gen_zone(void *arg, struct zonegen_out *o)
{
	struct zone_arg *a = arg;

	return zonegen_zone(a->m, a->zone, a->serial, o, a->rep);
}

struct conf_arg {
	struct vortex *v;
	const struct zonegen *m;
	struct zonegen_conf zc;
	struct zonegen_report *rep;
	const char *const *zones;   /* dns_zones own: ours only; NULL: every zone */
	size_t nzones;
};

static int gen_conf(void *arg, struct zonegen_out *o)
{
	struct conf_arg *a = arg;
	const char *srv = conf(a->v)->server;

	if (!strcmp(srv, "knot"))
		return zonegen_knot_conf(a->m, a->zones, a->nzones, &a->zc, o, a->rep);
	if (!strcmp(srv, "bind"))
		return zonegen_bind_conf(a->m, a->zones, a->nzones, &a->zc, o, a->rep);
	return zonegen_dnsmasq_conf(a->m, NULL, 0, o, a->rep);
}

/* The zones we serve, into out[zonegen_count(m)] (borrowed from m): every
 * accepted zone of the mesh (dns_zones all), or only those delegated to
 * us — and the apex for the root (dns_zones own). */
static size_t zone_names(const struct vortex *v, const struct collect *c, const struct zonegen *m,
			 const char **out)
{
	bool own = !strcmp(conf(v)->zones, "own");
	bool root = !memcmp(host_self(v->h), host_config(v->h)->root, 32);
	size_t n = 0;

	for (size_t i = 0; i < zonegen_count(m); i++) {
		const char *z = zonegen_name(m, i);
		bool mine = !own || (root && !strcmp(z, v->domain));
		for (size_t k = 0; !mine && k < c->nmine; k++)
			mine = !strcmp(c->dl[c->mine[k]].zone, z);
		if (mine)
			out[n++] = z;
	}
	return n;
}

/* ---- removing the files of zones no longer served ---- */

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void keep_free(struct vortex *v)
{
	for (size_t i = 0; i < v->nkeep; i++)
		free(v->keep[i]);
	free(v->keep);
	v->keep = NULL;
	v->nkeep = 0;
}

/* The zones the config just written names: their files stay. false (and
 * no prune until the next config) when out of memory. */
static bool keep_set(struct vortex *v, const char *const *names, size_t n)
{
	keep_free(v);
	if (!(v->keep = calloc(n + 1, sizeof *v->keep)))
		return false;
	for (; v->nkeep < n; v->nkeep++)
		if (!(v->keep[v->nkeep] = strdup(names[v->nkeep]))) {
			keep_free(v);
			return false;
		}
	qsort(v->keep, v->nkeep, sizeof *v->keep, str_cmp);
	return true;
}

/* Zone files that the config the server has loaded no longer names go
 * (zones revoked, given back, or not ours under dns_zones own). Called
 * only once the server loaded that config (the reload command succeeded,
 * or there is none), so a running server never loses a file its config
 * names. Only files MirrorNet wrote are touched: a name zonegen_zone_path()
 * gives a zone inside the domain, a regular file, beginning with the line
 * zonegen_zone writes first; anything else in dns_dir is left alone. */
static void prune(struct vortex *v)
{
	const char *dir = conf(v)->dir;
	DIR *dh;
	struct dirent *de;

	if (!v->keep_valid || !(dh = opendir(dir)))
		return;
	while ((de = readdir(dh))) {
		char zone[MN_MAX_DOMAIN + 1], path[ZONEGEN_PATH_MAX], head[MN_MAX_DOMAIN + 128];
		const char *key = zone;
		struct stat st;
		ssize_t k = -1;
		if (zonegen_file_zone(v->domain, de->d_name, zone, sizeof zone) < 0 ||
		    bsearch(&key, v->keep, v->nkeep, sizeof *v->keep, str_cmp) ||
		    zonegen_zone_path(dir, zone, path, sizeof path) < 0)
			continue;
		int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			k = read(fd, head, sizeof head);
		if (fd >= 0)
			close(fd);
		if (k > 0 && zonegen_file_is_ours(zone, head, (size_t)k) && unlink(path) == 0) {
			v->pruned++;
			log_info("dns: removed %s (zone no longer served)", path);
		}
	}
	closedir(dh);
}

static void reload_done(void *st, bool ok, const char *status, uint64_t ms)
{
	struct vortex *v = st;

	v->reload_ms = ms;
	snprintf(v->reload_status, sizeof v->reload_status, "%s", status);
	if (ok) {
		v->loaded = true;
		prune(v);
	} else {
		v->reload_failures++;
		log_err("dns: the reload command failed (%s); the server may serve old data",
			v->reload_status);
	}
}

static void reload(struct vortex *v)
{
	if (!conf(v)->reload[0])
		return;
	/* (a change during a reload: the host regenerates after it) */
	int rc = host_run(v->h, conf(v)->reload, RELOAD_TIMEOUT_MS, reload_done);
	if (rc == -EBUSY)
		return;
	v->reloads++;
	if (rc < 0) {
		v->reload_failures++;
		snprintf(v->reload_status, sizeof v->reload_status, "failed: %s", uv_strerror(rc));
	}
}

static void generate(void *st)
{
	struct vortex *v = st;
	const struct dns_conf *cfg = conf(v);
	struct zonegen_report rep = { .each = report_each };
	struct collect c;
	struct gbuf buf = { 0 };
	char path[ZONEGEN_PATH_MAX];
	bool changed = false;
	size_t n;

	uint64_t t0 = uv_hrtime();
	v->generations++;
	v->last_generated_ms = host_now_ms(v->h);
	struct zonegen *m = build(v, &c, &rep);
	if (!m) {
		collect_free(&c);
		return;
	}
	mkdir(cfg->dir, 0755);
	const char **names = calloc(zonegen_count(m) + 1, sizeof *names);
	size_t nz = names ? zone_names(v, &c, m, names) : 0;
	v->zones = 0;
	/* the serials of the zones written: one store transaction (one sync),
	 * not one each */
	bool txn = host_state_begin(v->h) == 0;
	for (size_t i = 0; i < nz; i++) {
		uint8_t sb[8];
		uint32_t prev = 0;
		if (host_state_get(v->h, names[i], sb, sizeof sb) == 4)
			prev = (uint32_t)sb[0] << 24 | (uint32_t)sb[1] << 16 | (uint32_t)sb[2] << 8 | sb[3];
		struct zone_arg za = { m, names[i], prev, NULL };
		if (zonegen_zone_path(cfg->dir, names[i], path, sizeof path) < 0 ||
		    gen_text(gen_zone, &za, &buf, &n) < 0)
			continue;
		v->zones++;
		/* same content with the old serial: nothing to do */
		if (file_holds(path, buf.p, n))
			continue;
		za.serial = zonegen_serial(prev, c.newest);
		za.rep = &rep;
		if (gen_text(gen_zone, &za, &buf, &n) < 0)
			continue;
		int rc = file_put(path, buf.p, n, 0644);
		if (rc < 0) {
			snprintf(v->last_error, sizeof v->last_error, "%s: %s", path, strerror(-rc));
			log_err("dns: cannot write %s", v->last_error);
		} else {
			uint32_t s = za.serial;
			uint8_t o[4] = { (uint8_t)(s >> 24), (uint8_t)(s >> 16), (uint8_t)(s >> 8), (uint8_t)s };
			host_state_put(v->h, names[i], o, 4);
			changed = true;
			v->writes++;
		}
	}
	if (txn)
		host_state_commit(v->h);
	/* the server's configuration: the zones of names (dns_zones own), or
	 * every accepted zone, which names then are too */
	struct conf_arg ca = { v, m, { .dir = cfg->dir, .port = (uint16_t)cfg->port }, &rep,
			       NULL, 0 };
	if (!strcmp(cfg->zones, "own")) {
		ca.zones = names;
		ca.nzones = nz;
	}
	if (cfg->listen[0]) {
		ca.zc.listen[0] = cfg->listen;
		ca.zc.n_listen = 1;
	}
	struct tsig_key xk;
	memset(&xk, 0, sizeof xk);
	if (names)
		xfr_prepare(v, &ca.zc, &xk);
	v->keep_valid = false;
	if (names && gen_text(gen_conf, &ca, &buf, &n) == 0) {
		const char *file = !strcmp(cfg->server, "knot") ? "knot.conf" :
				   !strcmp(cfg->server, "bind") ? "named.conf" : "dnsmasq.conf";
		snprintf(path, sizeof path, "%s/%s", cfg->dir, file);
		if (!strcmp(cfg->server, "knot") && cfg->acme_key[0])
			acme_append(v, &buf, &n);
		int rc = file_put(path, buf.p, n, 0644);
		if (rc > 0) {
			changed = true;
			v->writes++;
		} else if (rc < 0) {
			snprintf(v->last_error, sizeof v->last_error, "%s: %s", path, strerror(-rc));
		}
		if (rc >= 0)
			v->keep_valid = keep_set(v, names, nz);
	}
	tsig_key_wipe(&xk);
	v->rejected = rep.rejected;
	free(buf.p);
	free(names);
	zonegen_free(m);
	collect_free(&c);
	if (changed) {
		v->generate_ms = (uv_hrtime() - t0) / 1000000;
		v->loaded = false;
		reload(v);
	}
	/* no reload command: the operator's server reads the config when it
	 * will; the files it no longer names can go now */
	if (!cfg->reload[0])
		v->loaded = true;
	if (v->loaded)
		prune(v);
}

/* ---- when to generate ---- */

/* A change: the host generates once things are quiet, rate-limited
 * (subsys_regen: at most 10 a minute, and at most about a quarter of the
 * CPU). So a change reaches the files within max(5 s, the interval) plus a
 * generation (and a running reload). */
static void vortex_dirty(struct vortex *v)
{
	if (!v->closing && strcmp(conf(v)->server, "none"))
		host_dirty(v->h);
}

/* ---- API ---- */

static int vortex_show(struct vortex *v, const char *zone, char **text, char *err, size_t errcap)
{
	struct zonegen_report rep = { 0 };
	struct collect c;
	size_t n;
	uint8_t sb[8];
	uint32_t serial = 0;

	struct zonegen *m = build(v, &c, &rep);
	if (!m) {
		snprintf(err, errcap, "%s", v->last_error);
		collect_free(&c);
		return -ENOENT;
	}
	if (host_state_get(v->h, zone, sb, sizeof sb) == 4)
		serial = (uint32_t)sb[0] << 24 | (uint32_t)sb[1] << 16 | (uint32_t)sb[2] << 8 | sb[3];
	struct zone_arg za = { m, zone, serial ? serial : zonegen_serial(0, c.newest), &rep };
	struct gbuf b = { 0 };
	int rc = gen_text(gen_zone, &za, &b, &n);
	*text = b.p;   /* the caller frees it */
	if (rc < 0) {
		free(b.p);
		*text = NULL;
	}
	if (rc < 0)
		snprintf(err, errcap, rc == -ENOENT ? "no zone %s in the mesh (see dns list)" :
			 "zone %s cannot be generated: %s", zone, rep.first[0] ? rep.first : strerror(-rc));
	zonegen_free(m);
	collect_free(&c);
	return rc == -ENOENT ? -ENOENT : rc < 0 ? -EINVAL : 0;
}

static struct json_object *vortex_status(void *st)
{
	struct vortex *v = st;
	const struct dns_conf *cfg = conf(v);
	const char *mesh_addr = host_config(v->h)->mesh_addr;
	struct json_object *j = json_object_new_object();

	json_put_str(j, "server", cfg->server);
	json_put_str(j, "domain", v->domain);
	json_put_str(j, "dir", cfg->dir);
	/* where this box's server answers (for dns check) */
	char addr[MN_MAX_ADDR + 1];
	snprintf(addr, sizeof addr, "%.*s", (int)strcspn(cfg->listen[0] ? cfg->listen : mesh_addr, "/"),
		 cfg->listen[0] ? cfg->listen : mesh_addr);
	json_put_str(j, "addr", addr);
	json_put_int(j, "port", (int)cfg->port);
	json_put_int(j, "zones", (int)v->zones);
	json_put_int(j, "rejected", (int)v->rejected);
	json_put_int(j, "generations", (int)v->generations);
	json_put_int(j, "writes", (int)v->writes);
	json_put_int(j, "reloads", (int)v->reloads);
	json_put_int(j, "reload_failures", (int)v->reload_failures);
	json_put_str(j, "reload", v->reload_status);
	json_put_int(j, "generate_ms", (int64_t)v->generate_ms);
	json_put_int(j, "reload_ms", (int64_t)v->reload_ms);
	json_put_int(j, "pruned", (int)v->pruned);
	if (v->last_error[0])
		json_put_str(j, "last_error", v->last_error);
	return j;
}

/* ---- life ---- */

static void *vortex_start(struct mn_host *h, char *err, size_t errcap)
{
	struct vortex *v = calloc(1, sizeof *v);

	if (!v) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	v->h = h;
	vortex_dirty(v);
	return v;
}

static void vortex_record(void *st, const struct rec_view *rv)
{
	(void)rv;
	vortex_dirty(st);
}

static void vortex_trust(void *st, const uint8_t origin[32])
{
	(void)origin;
	vortex_dirty(st);
}

static void vortex_reload(void *st, const void *old)
{
	(void)old;
	vortex_dirty(st);   /* dns_* options may have changed */
}

static void vortex_stop(void *st)
{
	((struct vortex *)st)->closing = true;
}

static void vortex_free(void *st)
{
	struct vortex *v = st;

	keep_free(v);
	free(v);
}

/* ---- publishing delegations ---- */

/* Our own DNS scope (the zone we hold), or an error. */
static int my_scope(struct vortex *v, char *out, size_t cap, char *err, size_t errcap)
{
	struct chain_result g;

	if (host_chain(v->h, host_self(v->h), &g) < 0) {
		snprintf(err, errcap, "our certificate chain is not valid now");
		return -EPERM;
	}
	if (!g.dns_scope[0]) {
		snprintf(err, errcap, "our certificate gives us no DNS zone");
		return -EPERM;
	}
	snprintf(out, cap, "%s", g.dns_scope);
	return 0;
}

struct find_name {
	const char *name;
	uint8_t pk[32];
	char addr[MN_MAX_ADDR + 1];
	bool by_key, found;
};

static int find_name_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct find_name *f = ctx;
	union body b;

	(void)id;
	if (r->kind != KIND_NODE || record_is_tombstone(r) ||
	    body_decode(KIND_NODE, r->body, r->body_len, &b) < 0)
		return 0;
	/* by name: the record of the name's owner (engine_name_owner) */
	if (memcmp(r->origin, f->pk, 32) != 0)
		return 0;
	memcpy(f->pk, r->origin, 32);
	snprintf(f->addr, sizeof f->addr, "%.*s", (int)strcspn(b.node.mesh_addr, "/"), b.node.mesh_addr);
	f->found = true;
	return 1;
}

static int publish_dns(struct vortex *v, union body *b, struct json_object **res, char *err,
		       size_t errcap)
{
	int perr = 0;
	int rc = host_publish(v->h, KIND_DNS, b->dns.zone, b, 10ull * 365 * 86400, NULL, &perr);

	if (rc < 0) {
		snprintf(err, errcap, "%s", perr ? proto_strerror(perr) : rc == -EACCES ?
			 "not allowed: the zone must lie inside our certificate's DNS scope" : strerror(-rc));
		return rc == -EACCES ? -EPERM : rc == -EINVAL ? -EINVAL : rc;
	}
	*res = json_object_new_object();
	json_put_str(*res, "zone", b->dns.zone);
	if (b->dns.n_ns) {
		json_put_str(*res, "ns", b->dns.ns[0].host);
		json_put_str(*res, "ns_addr", b->dns.ns[0].addr);
	}
	vortex_dirty(v);
	return 0;
}

static int ns_addr_arg(struct json_object *req, char *out, size_t cap, char *err, size_t errcap)
{
	const char *a = json_get_str(req, "ns_addr");

	if (!a)
		return 0;
	if (!addr_valid(a, false)) {
		snprintf(err, errcap, "ns_addr: an IP address in canonical form");
		return -EINVAL;
	}
	snprintf(out, cap, "%s", a);
	return 0;
}

static int vortex_api_init(void *st, struct json_object *req, struct json_object **res,
		    char *err, size_t errcap)
{
	struct vortex *v = st;
	const char *domain = json_get_str(req, "domain");
	char scope[MN_MAX_DOMAIN + 1];
	union body *b;
	int rc;

	if (memcmp(host_self(v->h), host_config(v->h)->root, 32)) {
		snprintf(err, errcap, "only the mesh root (the master) holds the domain");
		return -EPERM;
	}
	if ((rc = my_scope(v, scope, sizeof scope, err, errcap)) < 0) {
		snprintf(err, errcap, "the mesh was made without a domain: mesh init --domain DOMAIN");
		return rc;
	}
	if (!domain || strcmp(domain, scope)) {
		snprintf(err, errcap, "this mesh's domain is %s (set at mesh init)", scope);
		return -EINVAL;
	}
	if (!(b = calloc(1, sizeof *b)))
		return -ENOMEM;
	snprintf(b->dns.zone, sizeof b->dns.zone, "%s", scope);
	memcpy(b->dns.delegate, host_self(v->h), 32);
	snprintf(b->dns.ns[0].host, sizeof b->dns.ns[0].host, "ns.%.*s", MN_MAX_DOMAIN - 3, scope);
	snprintf(b->dns.ns[0].addr, sizeof b->dns.ns[0].addr, "%.*s",
		 (int)strcspn(host_config(v->h)->mesh_addr, "/"), host_config(v->h)->mesh_addr);
	b->dns.n_ns = 1;
	b->dns.ttl = 3600;
	rc = ns_addr_arg(req, b->dns.ns[0].addr, sizeof b->dns.ns[0].addr, err, errcap);
	if (rc == 0)
		rc = publish_dns(v, b, res, err, errcap);
	free(b);
	return rc;
}

static int vortex_api_delegate(void *st, struct json_object *req, struct json_object **res,
			char *err, size_t errcap)
{
	struct vortex *v = st;
	const char *label = json_get_str(req, "label"), *to = json_get_str(req, "to");
	struct json_object *jt;
	char scope[MN_MAX_DOMAIN + 1];
	struct find_name f;
	union body *b;
	int rc;

	if (!label || !dns_name_valid(label, false) || strchr(label, '.')) {
		snprintf(err, errcap, "label: one DNS label (letters, digits, '-'), e.g. node1");
		return -EINVAL;
	}
	if (!to) {
		snprintf(err, errcap, "to: the delegate node (its name or did:key)");
		return -EINVAL;
	}
	if ((rc = my_scope(v, scope, sizeof scope, err, errcap)) < 0)
		return rc;
	memset(&f, 0, sizeof f);
	f.name = to;
	f.by_key = !strncmp(to, "did:", 4);
	if (f.by_key && did_key_decode(DID_ED25519, to, f.pk) < 0) {
		snprintf(err, errcap, "to: not a did:key");
		return -EINVAL;
	}
	if (f.by_key || host_name_owner(v->h, to, f.pk) == 0)
		host_each(v->h, KIND_BIT(KIND_NODE), NULL, find_name_cb, &f);
	if (!f.found || !f.addr[0]) {
		snprintf(err, errcap, "no member %s with a mesh address is known here", to);
		return -ENOENT;
	}
	if (!(b = calloc(1, sizeof *b)))
		return -ENOMEM;
	if (snprintf(b->dns.zone, sizeof b->dns.zone, "%s.%s", label, scope) >= (int)sizeof b->dns.zone ||
	    strlen(b->dns.zone) > MN_MAX_DOMAIN - 3 || !dns_name_valid(b->dns.zone, false)) {
		snprintf(err, errcap, "%s.%s is not a valid zone name (too long?)", label, scope);
		free(b);
		return -EINVAL;
	}
	memcpy(b->dns.delegate, f.pk, 32);
	snprintf(b->dns.ns[0].host, sizeof b->dns.ns[0].host, "ns.%.*s", MN_MAX_DOMAIN - 3, b->dns.zone);
	snprintf(b->dns.ns[0].addr, sizeof b->dns.ns[0].addr, "%s", f.addr);
	b->dns.n_ns = 1;
	b->dns.ttl = 3600;
	if (json_object_object_get_ex(req, "ttl_s", &jt)) {
		int64_t t = json_object_get_int64(jt);
		if (t < 60 || t > 604800) {
			snprintf(err, errcap, "ttl: 60 s .. 7 days");
			free(b);
			return -EINVAL;
		}
		b->dns.ttl = (uint32_t)t;
	}
	rc = ns_addr_arg(req, b->dns.ns[0].addr, sizeof b->dns.ns[0].addr, err, errcap);
	if (rc == 0)
		rc = publish_dns(v, b, res, err, errcap);
	free(b);
	return rc;
}

static int vortex_api_leave(void *st, struct json_object *req, struct json_object **res,
		     char *err, size_t errcap)
{
	struct vortex *v = st;
	char scope[MN_MAX_DOMAIN + 1];
	union body *b;
	int rc;

	(void)req;
	if ((rc = my_scope(v, scope, sizeof scope, err, errcap)) < 0)
		return rc;
	if (!memcmp(host_self(v->h), host_config(v->h)->root, 32)) {
		snprintf(err, errcap, "the mesh root holds the domain itself: nothing to give back");
		return -EPERM;
	}
	if (!(b = calloc(1, sizeof *b)))
		return -ENOMEM;
	snprintf(b->dns.zone, sizeof b->dns.zone, "%s", scope);
	memcpy(b->dns.delegate, host_self(v->h), 32);
	rc = publish_dns(v, b, res, err, errcap);
	free(b);
	return rc;
}

static int vortex_api_show(void *st, struct json_object *req, struct json_object **res,
		    char *err, size_t errcap)
{
	struct vortex *v = st;
	const char *zone = json_get_str(req, "zone");
	char *text;
	int rc;

	if (!zone || !dns_name_valid(zone, false)) {
		snprintf(err, errcap, "zone: a DNS name");
		return -EINVAL;
	}
	if ((rc = vortex_show(v, zone, &text, err, errcap)) < 0)
		return rc;
	*res = json_object_new_object();
	json_put_str(*res, "zone", zone);
	json_put_str(*res, "text", text);
	free(text);
	return 0;
}

/* ---- the subsystem ---- */

#define BAD(...) do { snprintf(msg, cap, __VA_ARGS__); return -EINVAL; } while (0)
static int check_dir(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!conf_path_ok(val))
		BAD("dns_dir: an absolute directory of [A-Za-z0-9._+-/], no '.' or '..' parts, no final '/'");
	return 0;
}

static int check_key(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!conf_path_ok(val) || !strcmp(val, "/"))
		BAD("dns_acme_key: an absolute file path of [A-Za-z0-9._+-/]");
	return 0;
}

static int check_xfr_key(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!conf_path_ok(val) || !strcmp(val, "/"))
		BAD("dns_xfr_key: an absolute file path of [A-Za-z0-9._+-/]");
	return 0;
}

/* dns_secondary ADDR[@PORT] (Knot's spelling; '#' starts a comment in the
 * config file): an IP (kept in inet_ntop's spelling), a port for its
 * NOTIFY (53) */
static int parse_secondary(void *sect, char *val, char *msg, size_t cap)
{
	struct dns_conf *c = sect;
	struct dns_secondary *s = &c->secondary[c->n_secondary];
	unsigned char bin[16];
	char *at = strchr(val, '@'), *end;
	unsigned long port = 53;
	int af;

	if (c->n_secondary == ZONEGEN_MAX_SECONDARIES)
		BAD("dns_secondary: at most %d", ZONEGEN_MAX_SECONDARIES);
	if (at) {
		*at++ = 0;
		errno = 0;
		port = strtoul(at, &end, 10);
		if (*at < '1' || *at > '9' || *end || errno || port > 65535)
			BAD("dns_secondary: ADDR[@PORT], PORT 1..65535");
	}
	af = strchr(val, ':') ? AF_INET6 : AF_INET;
	if (strlen(val) > MN_MAX_ADDR || inet_pton(af, val, bin) != 1 ||
	    !inet_ntop(af, bin, s->addr, sizeof s->addr))
		BAD("dns_secondary: ADDR[@PORT], ADDR an IPv4 or IPv6 address (no prefix, no scope)");
	s->port = (uint16_t)port;
	for (size_t i = 0; i < c->n_secondary; i++)
		if (!strcmp(c->secondary[i].addr, s->addr) && c->secondary[i].port == s->port)
			BAD("dns_secondary: %s@%u given twice", s->addr, s->port);
	c->n_secondary++;
	return 0;
}

static void print_secondary(const void *sect, const struct conf_opt *o, FILE *f)
{
	const struct dns_conf *c = sect;

	for (size_t i = 0; i < c->n_secondary; i++) {
		fprintf(f, "%s %s", o->name, c->secondary[i].addr);
		fprintf(f, c->secondary[i].port == 53 ? "\n" : "@%u\n", c->secondary[i].port);
	}
}

/* Rules across the options: transfers only with a key (no unauthenticated
 * AXFR), only from Knot or BIND, and a key file that only we may read. */
static int dns_check(const void *sect, char *msg, size_t cap)
{
	const struct dns_conf *c = sect;
	char why[CONFIG_PATH_MAX + 128];

	if (c->n_secondary && !c->xfr_key[0])
		BAD("dns_secondary needs dns_xfr_key (the TSIG key file): zone transfers are "
		    "never unauthenticated");
	if (c->n_secondary && strcmp(c->server, "knot") && strcmp(c->server, "bind"))
		BAD("dns_secondary needs dns_server knot or bind (dnsmasq serves no zones)");
	if (c->xfr_key[0] && vortex_key_mode_check(c->xfr_key, why, sizeof why) < 0)
		BAD("dns_xfr_key %s", why);
	return 0;
}

static int check_ip(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!addr_valid(val, false))
		BAD("dns_listen: an IP address");
	return 0;
}
#undef BAD

#define F(f) CONF_FIELD(struct dns_conf, f)
static const struct conf_opt dns_opts[] = {
	{ "dns_server", CONF_CHOICE, 0, F(server), .choices = "none|knot|bind|dnsmasq",
	  .def = "none", .help = "none, knot, bind or dnsmasq" },
	{ "dns_zones", CONF_CHOICE, 0, F(zones), .choices = "all|own", .def = "all",
	  .help = "all (serve every mesh zone) or own (only the zones delegated to us)" },
	{ "dns_dir", CONF_STR, 0, F(dir), .def = "/var/lib/mirrornet/dns", .parse = check_dir,
	  .help = "an absolute directory of [A-Za-z0-9._+-/], no '.' or '..' parts, no final '/'" },
	{ "dns_listen", CONF_STR, 0, F(listen), .parse = check_ip, .help = "an IP address" },
	{ "dns_port", CONF_UINT, 0, F(port), .min = 1, .max = 65535, .def = "53", .help = "1..65535" },
	{ "dns_reload", CONF_STR, 0, F(reload), .help = "a command of at most 511 bytes" },
	{ "dns_acme_key", CONF_STR, 0, F(acme_key), .parse = check_key,
	  .help = "an absolute file path" },
	{ "dns_secondary", CONF_FN, CONF_MULTI, F(secondary), .parse = parse_secondary,
	  .print = print_secondary, .help = "ADDR[@PORT]: an outside secondary DNS server" },
	{ "dns_xfr_key", CONF_STR, 0, F(xfr_key), .parse = check_xfr_key,
	  .help = "an absolute file path" },
};
#undef F

static const struct subsys_call dns_calls[] = {
	{ "dns_init", vortex_api_init,
	  (const struct subsys_arg[]){ { "domain", json_type_string }, { "ns_addr", json_type_string }, { NULL, 0 } } },
	{ "dns_delegate", vortex_api_delegate,
	  (const struct subsys_arg[]){ { "label", json_type_string }, { "to", json_type_string }, { "ns_addr", json_type_string },
	    { "ttl_s", json_type_int }, { NULL, 0 } } },
	{ "dns_leave", vortex_api_leave, (const struct subsys_arg[]){ { NULL, 0 } } },
	{ "dns_show", vortex_api_show, (const struct subsys_arg[]){ { "zone", json_type_string }, { NULL, 0 } } },
};

const struct subsys subsys_dns = {
	.name = "dns",
	.state_ns = "dns-serial",   /* the zone serials, as stored before the registry */
	.kinds = 1u << KIND_NODE | 1u << KIND_DNS | 1u << KIND_EXPOSE | 1u << KIND_SVC | 1u << KIND_CERT |
		 1u << KIND_REVOKE,
	.conf = { "dns", dns_opts, sizeof dns_opts / sizeof dns_opts[0], sizeof(struct dns_conf),
		  NULL, dns_check },
	.calls = dns_calls,
	.ncalls = sizeof dns_calls / sizeof dns_calls[0],
	.regen = { .fn = generate },
	.start = vortex_start,
	.record = vortex_record,
	.trust = vortex_trust,
	.reload = vortex_reload,
	.status = vortex_status,
	.stop = vortex_stop,
	.free = vortex_free,
};
