/* Vortex DNS in the daemon: the signed dns, node and expose records held
 * become zone files and a server configuration (src/dns/zonegen.h), written
 * atomically when their content changed, then one reload. See vortex.h and
 * docs/dns.md. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "src/daemon/vortex.h"
#include "src/daemon/daemon.h"
#include "src/daemon/config.h"
#include "src/dns/zonegen.h"
#include "src/log.h"
#include "src/store.h"
#include "crypto/chain.h"
#include "crypto/did.h"
#include "proto/hex.h"
#include "proto/proto_err.h"

#define DEBOUNCE_MS 500        /* quiet time after a change (vortex_dirty) */
#define MAX_WAIT_MS 5000       /* a change waits at most this for quiet */
#define MIN_INTERVAL_MS 6000   /* between two generations: at most 10 a minute */
#define COST_FACTOR 4          /* ...and at least 4x the last one's time */
#define MAX_INTERVAL_MS 60000
#define RELOAD_TIMEOUT_MS 30000
#define FILE_MAX (8u << 20)
#define NS_SERIAL "dns-serial"

struct vortex {
	struct daemon *d;
	uv_loop_t *loop;
	uv_timer_t timer, reload_timer;
	uv_process_t proc;
	bool proc_running, closing, dirty_again;
	char domain[MN_MAX_DOMAIN + 1];
	unsigned zones, rejected, generations, writes, reloads, reload_failures;
	char last_error[600], reload_status[128];
	uint64_t last_generated_ms;
	uint64_t generate_ms, reload_ms;   /* how long the last generation that
	                                    * wrote files / the last reload took */
	uint64_t reload_start_ns;
	/* the rate limit (vortex_dirty) */
	bool pending, started;
	uint64_t first_dirty_ms, last_start_ms, last_cost_ms;   /* uv_now, ms */
	/* the prune: the zones the config last written names (sorted), and
	 * whether the server loaded that config */
	char **keep;
	size_t nkeep;
	bool keep_valid, loaded;
	unsigned pruned;
};

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
	struct { uint8_t node[32]; struct zonegen_expose e; } *ex;
	size_t nex, ecap;
	size_t *mine;    /* dns_zones own: dl[mine[k]] is delegated to us */
	size_t nmine;
	bool filter;     /* dns_zones own and we are not the root: relevant() */
	uint64_t newest;
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
				       r->kind != KIND_EXPOSE))
		return 0;
	if (body_decode(r->kind, r->body, r->body_len, &b) < 0)
		return 0;
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
	if (r->kind == KIND_EXPOSE) {
		if (!(b.expose.channels & CH_MESH))
			return 0;
		if (!(q = grow(c->ex, &c->ecap, c->nex, sizeof *c->ex)))
			return -ENOMEM;
		c->ex = q;
		memcpy(c->ex[c->nex].node, r->origin, 32);
		snprintf(c->ex[c->nex].e.service, sizeof c->ex[c->nex].e.service, "%s", b.expose.service);
		c->ex[c->nex].e.port = b.expose.port;
		c->ex[c->nex].e.channels = b.expose.channels;
		c->nex++;
		if (r->version / 1000 > c->newest)
			c->newest = r->version / 1000;
		return 0;
	}
	if (r->version / 1000 > c->newest)
		c->newest = r->version / 1000;
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
	struct daemon *d = v->d;
	const struct config *cfg = daemon_config(d);
	const uint8_t *wire[32];
	size_t len[32], n;
	struct chain_result g;
	struct zonegen *m = NULL;

	memset(c, 0, sizeof *c);
	c->v = v;
	if (engine_chain(daemon_engine(d), cfg->root, wire, len, 32, &n, &g, daemon_now_ms()) < 0 ||
	    !g.dns_scope[0]) {
		snprintf(v->last_error, sizeof v->last_error,
			 "the mesh has no DNS domain (mirrornetctl mesh init --domain)");
		return NULL;
	}
	snprintf(v->domain, sizeof v->domain, "%s", g.dns_scope);
	if (engine_each_record(daemon_engine(d), collect_cb, c) < 0 || zonegen_new(v->domain, &m) < 0)
		return NULL;
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
				zonegen_add(m, a, rep);
				free(a);
			}
		}
	}
	const uint8_t *me = daemon_key(d)->pk;
	bool own = !strcmp(cfg->dns_zones, "own");
	if (own && !(c->mine = calloc(c->ndl + 1, sizeof *c->mine)))
		return m;   /* unsealed: generates nothing */
	for (size_t i = 0; own && i < c->ndl; i++)
		if (!memcmp(c->dl[i].delegate, me, 32))
			c->mine[c->nmine++] = i;
	c->filter = own && memcmp(me, cfg->root, 32) != 0;
	struct zonegen_deleg *dl = malloc(sizeof *dl);   /* one at a time */
	struct { const uint8_t *origin; char scope[MN_MAX_DOMAIN + 1]; bool ok; } sg = { NULL, "", false };
	for (size_t i = 0; dl && i < c->ndl; i++) {
		bool given_back = false;
		for (size_t k = 0; k < c->nback; k++)
			given_back |= !memcmp(c->back[k].node, c->dl[i].delegate, 32) &&
				      !strcmp(c->back[k].zone, c->dl[i].zone);
		if (given_back || !relevant(c, c->dl[i].zone) ||
		    engine_find(daemon_engine(d), c->dl[i].id, deleg_cb, dl) < 0)
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
				sg.ok = engine_chain(daemon_engine(d), sg.origin, wire, len, 32, &n, &cr,
						     daemon_now_ms()) >= 0;
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
			for (size_t k = 0; k < c->nex && dl->n_exposes < ZONEGEN_MAX_EXPOSES; k++)
				if (!memcmp(c->ex[k].node, c->dl[i].delegate, 32))
					dl->exposes[dl->n_exposes++] = c->ex[k].e;
		}
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
}

/* ---- files ---- */

/* Does path hold exactly text[n]? (size first, then 64 KiB at a time) */
static bool file_holds(const char *path, const char *text, size_t n)
{
	char buf[65536];
	struct stat st;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	bool same;

	if (fd < 0)
		return false;
	same = fstat(fd, &st) == 0 && (size_t)st.st_size == n;
	while (same && off < n) {
		ssize_t k = read(fd, buf, sizeof buf);
		same = k > 0 && (size_t)k <= n - off && !memcmp(buf, text + off, (size_t)k);
		off += k > 0 ? (size_t)k : 0;
	}
	close(fd);
	return same;
}

/* Write text to path atomically unless it already holds exactly that:
 * 1 written, 0 unchanged, negative errno. */
static int put_file(const char *path, const char *text, size_t n)
{
	char tmp[ZONEGEN_PATH_MAX + 16];
	int fd, rc = 0;

	if (file_holds(path, text, n))
		return 0;
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
		return -errno;
	if (write(fd, text, n) != (ssize_t)n || fsync(fd) < 0)
		rc = -errno ? -errno : -EIO;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc < 0 ? rc : 1;
}

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
	const char *srv = daemon_config(a->v->d)->dns_server;

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
	bool own = !strcmp(daemon_config(v->d)->dns_zones, "own");
	bool root = !memcmp(daemon_key(v->d)->pk, daemon_config(v->d)->root, 32);
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
	const char *dir = daemon_config(v->d)->dns_dir;
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

static void reload_exit(uv_process_t *p, int64_t status, int sig)
{
	struct vortex *v = p->data;

	uv_timer_stop(&v->reload_timer);
	v->reload_ms = (uv_hrtime() - v->reload_start_ns) / 1000000;
	if (status == 0 && sig == 0) {
		snprintf(v->reload_status, sizeof v->reload_status, "ok");
		v->loaded = true;
		prune(v);
	} else {
		v->reload_failures++;
		snprintf(v->reload_status, sizeof v->reload_status, "failed: %s %d",
			 sig ? "signal" : "exit status", sig ? sig : (int)status);
		log_err("dns: the reload command failed (%s); the server may serve old data",
			v->reload_status);
	}
	uv_close((uv_handle_t *)p, NULL);
	v->proc_running = false;
	if (v->dirty_again && !v->closing) {
		v->dirty_again = false;
		vortex_dirty(v);
	}
}

static void reload_timeout(uv_timer_t *t)
{
	struct vortex *v = t->data;

	if (v->proc_running)
		uv_process_kill(&v->proc, SIGKILL);
}

static void reload(struct vortex *v)
{
	static char sh[] = "/bin/sh", dash_c[] = "-c";
	static char cmd[sizeof daemon_config(v->d)->dns_reload];
	char *args[] = { sh, dash_c, cmd, NULL };

	snprintf(cmd, sizeof cmd, "%s", daemon_config(v->d)->dns_reload);
	uv_process_options_t po;
	uv_stdio_container_t io[3];

	if (!cmd[0] || v->proc_running)
		return;   /* (a change during a reload: dirty_again regenerates after it) */
	memset(&po, 0, sizeof po);
	io[0].flags = UV_IGNORE;
	io[1].flags = UV_IGNORE;
	io[2].flags = UV_INHERIT_FD;
	io[2].data.fd = 2;
	po.file = args[0];
	po.args = args;
	po.exit_cb = reload_exit;
	po.stdio = io;
	po.stdio_count = 3;
	v->proc.data = v;
	v->reloads++;
	v->reload_start_ns = uv_hrtime();
	int rc = uv_spawn(v->loop, &v->proc, &po);
	if (rc < 0) {
		v->reload_failures++;
		snprintf(v->reload_status, sizeof v->reload_status, "failed: %s", uv_strerror(rc));
		uv_close((uv_handle_t *)&v->proc, NULL);
		return;
	}
	v->proc_running = true;
	uv_timer_start(&v->reload_timer, reload_timeout, RELOAD_TIMEOUT_MS, 0);
}

static void generate(struct vortex *v)
{
	const struct config *cfg = daemon_config(v->d);
	struct zonegen_report rep = { .each = report_each };
	struct collect c;
	struct gbuf buf = { 0 };
	char path[ZONEGEN_PATH_MAX];
	bool changed = false;
	size_t n;

	uint64_t t0 = uv_hrtime();
	v->generations++;
	v->last_generated_ms = daemon_now_ms();
	struct zonegen *m = build(v, &c, &rep);
	if (!m) {
		collect_free(&c);
		return;
	}
	mkdir(cfg->dns_dir, 0755);
	const char **names = calloc(zonegen_count(m) + 1, sizeof *names);
	size_t nz = names ? zone_names(v, &c, m, names) : 0;
	v->zones = 0;
	/* the serials of the zones written: one store transaction (one sync),
	 * not one each */
	bool txn = store_begin(daemon_store(v->d)) == 0;
	for (size_t i = 0; i < nz; i++) {
		uint8_t sb[8];
		uint32_t prev = 0;
		if (store_state_get(daemon_store(v->d), NS_SERIAL, names[i], sb, sizeof sb) == 4)
			prev = (uint32_t)sb[0] << 24 | (uint32_t)sb[1] << 16 | (uint32_t)sb[2] << 8 | sb[3];
		struct zone_arg za = { m, names[i], prev, NULL };
		if (zonegen_zone_path(cfg->dns_dir, names[i], path, sizeof path) < 0 ||
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
		int rc = put_file(path, buf.p, n);
		if (rc < 0) {
			snprintf(v->last_error, sizeof v->last_error, "%s: %s", path, strerror(-rc));
			log_err("dns: cannot write %s", v->last_error);
		} else {
			uint32_t s = za.serial;
			uint8_t o[4] = { (uint8_t)(s >> 24), (uint8_t)(s >> 16), (uint8_t)(s >> 8), (uint8_t)s };
			store_state_put(daemon_store(v->d), NS_SERIAL, names[i], o, 4);
			changed = true;
			v->writes++;
		}
	}
	if (txn && store_commit(daemon_store(v->d)) < 0)
		log_err("dns: zone serials not saved: %s", store_last_error(daemon_store(v->d)));
	/* the server's configuration: the zones of names (dns_zones own), or
	 * every accepted zone, which names then are too */
	struct conf_arg ca = { v, m, { .dir = cfg->dns_dir, .port = (uint16_t)cfg->dns_port }, &rep,
			       NULL, 0 };
	if (!strcmp(cfg->dns_zones, "own")) {
		ca.zones = names;
		ca.nzones = nz;
	}
	if (cfg->dns_listen[0]) {
		ca.zc.listen[0] = cfg->dns_listen;
		ca.zc.n_listen = 1;
	}
	v->keep_valid = false;
	if (names && gen_text(gen_conf, &ca, &buf, &n) == 0) {
		const char *file = !strcmp(cfg->dns_server, "knot") ? "knot.conf" :
				   !strcmp(cfg->dns_server, "bind") ? "named.conf" : "dnsmasq.conf";
		snprintf(path, sizeof path, "%s/%s", cfg->dns_dir, file);
		int rc = put_file(path, buf.p, n);
		if (rc > 0) {
			changed = true;
			v->writes++;
		} else if (rc < 0) {
			snprintf(v->last_error, sizeof v->last_error, "%s: %s", path, strerror(-rc));
		}
		if (rc >= 0)
			v->keep_valid = keep_set(v, names, nz);
	}
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
	if (!cfg->dns_reload[0])
		v->loaded = true;
	if (v->loaded)
		prune(v);
}

/* ---- when to generate: debounced and rate-limited ---- */

static void timer_cb(uv_timer_t *t)
{
	struct vortex *v = t->data;

	if (v->proc_running) {
		v->dirty_again = true;   /* after this reload */
		return;
	}
	v->pending = false;
	v->last_start_ms = uv_now(v->loop);
	v->started = true;
	uint64_t t0 = uv_hrtime();
	generate(v);
	v->last_cost_ms = (uv_hrtime() - t0) / 1000000;
}

/* A change: generate once things are quiet for DEBOUNCE_MS, but at most
 * MAX_WAIT_MS after the first change not yet generated (a steady stream
 * cannot hold it back), and never sooner than the interval after the start
 * of the last generation: MIN_INTERVAL_MS (so at most 60000 /
 * MIN_INTERVAL_MS generations, and reloads, a minute) or COST_FACTOR times
 * what the last one took, up to MAX_INTERVAL_MS (generation uses at most
 * about 1/COST_FACTOR of the CPU). So a change reaches the files within
 * max(MAX_WAIT_MS, interval) plus a generation (and a running reload). */
void vortex_dirty(struct vortex *v)
{
	if (!v || v->closing || !strcmp(daemon_config(v->d)->dns_server, "none"))
		return;
	uint64_t now = uv_now(v->loop);
	if (!v->pending) {
		v->pending = true;
		v->first_dirty_ms = now;
	}
	uint64_t due = now + DEBOUNCE_MS;
	if (due > v->first_dirty_ms + MAX_WAIT_MS)
		due = v->first_dirty_ms + MAX_WAIT_MS;
	if (v->started) {
		uint64_t iv = v->last_cost_ms * COST_FACTOR;
		iv = iv < MIN_INTERVAL_MS ? MIN_INTERVAL_MS : iv > MAX_INTERVAL_MS ? MAX_INTERVAL_MS : iv;
		if (due < v->last_start_ms + iv)
			due = v->last_start_ms + iv;
	}
	uv_timer_start(&v->timer, timer_cb, due > now ? due - now : 0, 0);
}

/* ---- API ---- */

int vortex_show(struct vortex *v, const char *zone, char **text, char *err, size_t errcap)
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
	if (store_state_get(daemon_store(v->d), NS_SERIAL, zone, sb, sizeof sb) == 4)
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

struct json_object *vortex_status(struct vortex *v)
{
	const struct config *cfg = daemon_config(v->d);
	struct json_object *j = json_object_new_object();

	json_object_object_add(j, "server", json_object_new_string(cfg->dns_server));
	json_object_object_add(j, "domain", json_object_new_string(v->domain));
	json_object_object_add(j, "dir", json_object_new_string(cfg->dns_dir));
	/* where this box's server answers (for dns check) */
	char addr[MN_MAX_ADDR + 1];
	snprintf(addr, sizeof addr, "%.*s", (int)strcspn(cfg->dns_listen[0] ? cfg->dns_listen : cfg->mesh_addr, "/"),
		 cfg->dns_listen[0] ? cfg->dns_listen : cfg->mesh_addr);
	json_object_object_add(j, "addr", json_object_new_string(addr));
	json_object_object_add(j, "port", json_object_new_int((int)cfg->dns_port));
	json_object_object_add(j, "zones", json_object_new_int((int)v->zones));
	json_object_object_add(j, "rejected", json_object_new_int((int)v->rejected));
	json_object_object_add(j, "generations", json_object_new_int((int)v->generations));
	json_object_object_add(j, "writes", json_object_new_int((int)v->writes));
	json_object_object_add(j, "reloads", json_object_new_int((int)v->reloads));
	json_object_object_add(j, "reload_failures", json_object_new_int((int)v->reload_failures));
	json_object_object_add(j, "reload", json_object_new_string(v->reload_status));
	json_object_object_add(j, "generate_ms", json_object_new_int64((int64_t)v->generate_ms));
	json_object_object_add(j, "reload_ms", json_object_new_int64((int64_t)v->reload_ms));
	json_object_object_add(j, "pruned", json_object_new_int((int)v->pruned));
	if (v->last_error[0])
		json_object_object_add(j, "last_error", json_object_new_string(v->last_error));
	return j;
}

/* ---- life ---- */

struct vortex *vortex_new(struct daemon *d, uv_loop_t *loop)
{
	struct vortex *v = calloc(1, sizeof *v);

	if (!v)
		return NULL;
	v->d = d;
	v->loop = loop;
	uv_timer_init(loop, &v->timer);
	uv_timer_init(loop, &v->reload_timer);
	v->timer.data = v->reload_timer.data = v;
	vortex_dirty(v);
	return v;
}

void vortex_close(struct vortex *v)
{
	if (!v)
		return;
	v->closing = true;
	uv_timer_stop(&v->timer);
	if (v->proc_running)
		uv_process_kill(&v->proc, SIGTERM);
}

void vortex_free(struct vortex *v)
{
	if (v)
		keep_free(v);
	free(v);
}

/* ---- publishing delegations ---- */

static const char *jstr(struct json_object *req, const char *k)
{
	struct json_object *x;

	return json_object_object_get_ex(req, k, &x) && json_object_is_type(x, json_type_string)
		       ? json_object_get_string(x) : NULL;
}

/* Our own DNS scope (the zone we hold), or an error. */
static int my_scope(struct vortex *v, char *out, size_t cap, char *err, size_t errcap)
{
	const uint8_t *wire[32];
	size_t len[32], n;
	struct chain_result g;

	if (engine_chain(daemon_engine(v->d), daemon_key(v->d)->pk, wire, len, 32, &n, &g,
			 daemon_now_ms()) < 0) {
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
	int rc = daemon_publish_body(v->d, KIND_DNS, b->dns.zone, b, 10ull * 365 * 86400, NULL, &perr);

	if (rc < 0) {
		snprintf(err, errcap, "%s", perr ? proto_strerror(perr) : rc == -EACCES ?
			 "not allowed: the zone must lie inside our certificate's DNS scope" : strerror(-rc));
		return rc == -EACCES ? -EPERM : rc == -EINVAL ? -EINVAL : rc;
	}
	*res = json_object_new_object();
	json_object_object_add(*res, "zone", json_object_new_string(b->dns.zone));
	if (b->dns.n_ns) {
		json_object_object_add(*res, "ns", json_object_new_string(b->dns.ns[0].host));
		json_object_object_add(*res, "ns_addr", json_object_new_string(b->dns.ns[0].addr));
	}
	vortex_dirty(v);
	return 0;
}

static int ns_addr_arg(struct json_object *req, char *out, size_t cap, char *err, size_t errcap)
{
	const char *a = jstr(req, "ns_addr");

	if (!a)
		return 0;
	if (!addr_valid(a, false)) {
		snprintf(err, errcap, "ns_addr: an IP address in canonical form");
		return -EINVAL;
	}
	snprintf(out, cap, "%s", a);
	return 0;
}

int vortex_api_init(struct vortex *v, struct json_object *req, struct json_object **res,
		    char *err, size_t errcap)
{
	const char *domain = jstr(req, "domain");
	char scope[MN_MAX_DOMAIN + 1];
	union body *b;
	int rc;

	if (memcmp(daemon_key(v->d)->pk, daemon_config(v->d)->root, 32)) {
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
	memcpy(b->dns.delegate, daemon_key(v->d)->pk, 32);
	snprintf(b->dns.ns[0].host, sizeof b->dns.ns[0].host, "ns.%.*s", MN_MAX_DOMAIN - 3, scope);
	snprintf(b->dns.ns[0].addr, sizeof b->dns.ns[0].addr, "%.*s",
		 (int)strcspn(daemon_config(v->d)->mesh_addr, "/"), daemon_config(v->d)->mesh_addr);
	b->dns.n_ns = 1;
	b->dns.ttl = 3600;
	rc = ns_addr_arg(req, b->dns.ns[0].addr, sizeof b->dns.ns[0].addr, err, errcap);
	if (rc == 0)
		rc = publish_dns(v, b, res, err, errcap);
	free(b);
	return rc;
}

int vortex_api_delegate(struct vortex *v, struct json_object *req, struct json_object **res,
			char *err, size_t errcap)
{
	const char *label = jstr(req, "label"), *to = jstr(req, "to");
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
	if (f.by_key || engine_name_owner(daemon_engine(v->d), to, f.pk) == 0)
		engine_each_record(daemon_engine(v->d), find_name_cb, &f);
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

int vortex_api_leave(struct vortex *v, struct json_object *req, struct json_object **res,
		     char *err, size_t errcap)
{
	char scope[MN_MAX_DOMAIN + 1];
	union body *b;
	int rc;

	(void)req;
	if ((rc = my_scope(v, scope, sizeof scope, err, errcap)) < 0)
		return rc;
	if (!memcmp(daemon_key(v->d)->pk, daemon_config(v->d)->root, 32)) {
		snprintf(err, errcap, "the mesh root holds the domain itself: nothing to give back");
		return -EPERM;
	}
	if (!(b = calloc(1, sizeof *b)))
		return -ENOMEM;
	snprintf(b->dns.zone, sizeof b->dns.zone, "%s", scope);
	memcpy(b->dns.delegate, daemon_key(v->d)->pk, 32);
	rc = publish_dns(v, b, res, err, errcap);
	free(b);
	return rc;
}

int vortex_api_show(struct vortex *v, struct json_object *req, struct json_object **res,
		    char *err, size_t errcap)
{
	const char *zone = jstr(req, "zone");
	char *text;
	int rc;

	if (!zone || !dns_name_valid(zone, false)) {
		snprintf(err, errcap, "zone: a DNS name");
		return -EINVAL;
	}
	if ((rc = vortex_show(v, zone, &text, err, errcap)) < 0)
		return rc;
	*res = json_object_new_object();
	json_object_object_add(*res, "zone", json_object_new_string(zone));
	json_object_object_add(*res, "text", json_object_new_string(text));
	free(text);
	return 0;
}
