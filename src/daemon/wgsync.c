/* WireGuard interface = the mesh; see wgsync.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/daemon/wgsync.h"
#include "src/daemon/resolve.h"
#include "src/log.h"
#include "crypto/crypto.h"
#include "crypto/key.h"

#define HANDSHAKE_FRESH_S 180      /* WireGuard rekeys every 2 minutes */
#define RETRY_MS 15000             /* next endpoint candidate after this */
#define SEEN_MAX_AGE_S 600         /* others' observations older than this are ignored */
#define MAX_MEMBERS 4096

struct member {
	uint8_t pk[32];
	uint8_t wg_key[32];
	char declared[MN_MAX_ENDPOINT + 1];
	char mesh_addr[MN_MAX_ADDR + 1];
	struct sockaddr_storage mesh_sa;   /* mesh address, gossip port */
	bool from_config;
	bool join_only;            /* an invitation's tunnel: not a member (config_wg_peer) */
	bool present;              /* named by a record (or the config) in this pass */
	int state;                 /* the engine's view (enum peer_state), -1 none */
	bool left;
	/* endpoint trial state */
	unsigned candidate;
	uint64_t tried_at;
	/* the backend's view */
	struct wg_view view;
};

struct wgsync {
	struct wg_iface *ifc;      /* NULL with the fake backend */
	struct wg_backend *be;
	struct resolver *res;
	uint8_t self[32];
	uint8_t pub[32];
	const struct node_key *key;   /* the daemon's, for set_device again */
	char ifname[16];
	char addr[64];                /* put on an interface we made ("" none) */
	uint16_t port;
	unsigned keepalive_s;
	char declared[MN_MAX_ENDPOINT + 1];   /* our wg_endpoint, "" if none */
	bool behind_nat;                      /* we may be: see nat_suspect() */
	unsigned gossip_port;
	struct config_wg_peer boot[CONFIG_MAX_PEERS];
	size_t nboot;
	struct config_wg_peer *local;   /* wgsync_set_local(): invitations, new members */
	size_t nlocal;
	struct member *m;
	size_t nm;
	struct wgsync_stats st;
	/* others' observations: node -> (endpoint, at), refreshed each apply */
	struct seen_endpoint *seen;
	size_t nseen, seen_cap;
};

struct wgsync *wgsync_open(const struct config *cfg, const struct node_key *key,
			   struct resolver *res, char *err, size_t errcap)
{
	struct wgsync *ws = calloc(1, sizeof *ws);
	uint8_t priv[32];
	int rc;

	if (!ws)
		return NULL;
	if (!strcmp(cfg->wg_backend, "fake")) {
		ws->be = wg_fake_new();
	} else {
		enum wg_mode mode;
		if (wg_mode_parse(cfg->wg_backend, &mode) < 0) {
			snprintf(err, errcap, "unknown wg_backend %s", cfg->wg_backend);
			free(ws);
			return NULL;
		}
		if ((ws->ifc = wg_iface_open(cfg->wg_interface, mode, err, errcap)) != NULL)
			ws->be = wg_iface_backend(ws->ifc);
	}
	if (!ws->be) {
		free(ws);
		return NULL;
	}
	/* an interface we made has no address yet: the mesh's */
	if (ws->ifc && wg_iface_created(ws->ifc)) {
		char a[sizeof cfg->wg_address];
		if (cfg->wg_address[0])
			snprintf(a, sizeof a, "%s", cfg->wg_address);
		else if (cfg->mesh_addr[0])
			snprintf(a, sizeof a, "%s/%d", cfg->mesh_addr, strchr(cfg->mesh_addr, ':') ? 64 : 16);
		else
			a[0] = 0;
		if (!a[0])
			snprintf(err, errcap, "%s: no address to put on it (set mesh_addr or wg_address)",
			         cfg->wg_interface);
		if (!a[0] || wg_if_set_addr(cfg->wg_interface, a, err, errcap) < 0) {
			wg_iface_close(ws->ifc);
			free(ws);
			return NULL;
		}
		snprintf(ws->addr, sizeof ws->addr, "%s", a);   /* again if it is made again */
	}
	snprintf(ws->ifname, sizeof ws->ifname, "%s", cfg->wg_interface);
	node_key_wireguard(key, priv, ws->pub);
	rc = ws->be->set_device(ws->be, priv, (uint16_t)cfg->wg_port);
	crypto_wipe(priv, sizeof priv);
	if (rc < 0) {
		snprintf(err, errcap, "%s: cannot set the key and port: %s", cfg->wg_interface, strerror(-rc));
		if (ws->ifc)
			wg_iface_close(ws->ifc);
		else
			ws->be->free(ws->be);
		free(ws);
		return NULL;
	}
	memcpy(ws->self, key->pk, 32);
	ws->key = key;
	ws->port = (uint16_t)cfg->wg_port;
	ws->res = res;
	ws->keepalive_s = cfg->wg_keepalive_s;
	snprintf(ws->declared, sizeof ws->declared, "%s", cfg->wg_endpoint);
	ws->gossip_port = cfg->gossip_port;
	memcpy(ws->boot, cfg->wg_peers, sizeof ws->boot);
	ws->nboot = cfg->nwg_peers;
	return ws;
}

void wgsync_free(struct wgsync *ws)
{
	if (!ws)
		return;
	if (ws->ifc)
		wg_iface_close(ws->ifc);   /* removes the interface if we made it */
	else
		ws->be->free(ws->be);
	free(ws->m);
	free(ws->seen);
	free(ws->local);
	free(ws);
}

int wgsync_set_local(struct wgsync *ws, const struct config_wg_peer *p, size_t n)
{
	struct config_wg_peer *c = NULL;

	if (n > WGSYNC_MAX_LOCAL)
		return -E2BIG;
	if (n && !(c = malloc(n * sizeof *c)))
		return -ENOMEM;
	if (n)
		memcpy(c, p, n * sizeof *c);
	free(ws->local);
	ws->local = c;
	ws->nlocal = n;
	return 0;
}

const uint8_t *wgsync_public_key(const struct wgsync *ws)
{
	return ws->pub;
}

static struct member *member_find(const struct wgsync *ws, const uint8_t pk[32])
{
	for (size_t i = 0; i < ws->nm; i++)
		if (!memcmp(ws->m[i].pk, pk, 32))
			return &ws->m[i];
	return NULL;
}

static struct member *member_get(struct wgsync *ws, const uint8_t pk[32])
{
	struct member *x = member_find(ws, pk);

	if (x)
		return x;
	if (ws->nm == MAX_MEMBERS)
		return NULL;
	if (ws->nm % 64 == 0) {
		struct member *n = realloc(ws->m, (ws->nm + 64) * sizeof *n);
		if (!n)
			return NULL;
		ws->m = n;
	}
	x = &ws->m[ws->nm++];
	memset(x, 0, sizeof *x);
	memcpy(x->pk, pk, 32);
	return x;
}

static void set_mesh_sa(struct wgsync *ws, struct member *x)
{
	if (addr_mesh_sa(x->mesh_addr, ws->gossip_port, &x->mesh_sa) < 0)
		memset(&x->mesh_sa, 0, sizeof x->mesh_sa);
}

struct collect {
	struct wgsync *ws;
	union body b;
	uint64_t now_s;
};

/* Node records → members; endpoint records → observations. */
static int collect(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct collect *c = ctx;
	struct wgsync *ws = c->ws;

	(void)id;
	if (record_is_tombstone(r) || (r->kind != KIND_NODE && r->kind != KIND_ENDPOINT))
		return 0;
	if (body_decode(r->kind, r->body, r->body_len, &c->b) < 0)
		return 0;
	if (r->kind == KIND_NODE) {
		if (!memcmp(r->origin, ws->self, 32) || !c->b.node.mesh_addr[0])
			return 0;
		static const uint8_t zero[32];
		if (!memcmp(c->b.node.wg_key, zero, 32))
			return 0;   /* a node without WireGuard */
		struct member *x = member_get(ws, r->origin);
		if (!x)
			return 0;
		memcpy(x->wg_key, c->b.node.wg_key, 32);
		snprintf(x->declared, sizeof x->declared, "%s",
			 c->b.node.n_endpoints ? c->b.node.endpoints[0].addr : "");
		snprintf(x->mesh_addr, sizeof x->mesh_addr, "%s", c->b.node.mesh_addr);
		x->from_config = false;
		x->join_only = false;
		x->present = true;
		set_mesh_sa(ws, x);
		return 0;
	}
	for (unsigned i = 0; i < c->b.endpoint.n_seen; i++) {
		const struct seen_endpoint *s = &c->b.endpoint.seen[i];
		if (s->at + SEEN_MAX_AGE_S < c->now_s)
			continue;   /* observations of us are kept too: nat_suspect() */
		if (s->at > c->now_s + SEEN_MAX_AGE_S)
			continue;   /* dated in the future: would never age (the engine
				     * refuses these; a store from before it may hold one) */
		if (ws->nseen == ws->seen_cap) {
			size_t nc = ws->seen_cap ? ws->seen_cap * 2 : 64;
			if (nc > 4 * MAX_MEMBERS)
				return 0;
			struct seen_endpoint *n = realloc(ws->seen, nc * sizeof *n);
			if (!n)
				return 0;
			ws->seen = n;
			ws->seen_cap = nc;
		}
		ws->seen[ws->nseen++] = *s;
	}
	return 0;
}

/* Endpoint candidates for x: declared first, then observations, newest first. */
static size_t candidates(const struct wgsync *ws, const struct member *x, const char **out,
			 size_t cap)
{
	size_t n = 0;

	if (x->declared[0])
		out[n++] = x->declared;
	/* observations of x, newest first (selection by repeated max) */
	uint64_t last = UINT64_MAX;
	while (n < cap) {
		const struct seen_endpoint *best = NULL;
		for (size_t i = 0; i < ws->nseen; i++) {
			const struct seen_endpoint *s = &ws->seen[i];
			if (memcmp(s->node, x->pk, 32) || s->at >= last)
				continue;
			if (!best || s->at > best->at)
				best = s;
		}
		if (!best)
			break;
		last = best->at;
		bool dup = false;
		for (size_t i = 0; i < n; i++)
			dup |= !strcmp(out[i], best->endpoint);
		if (!dup)
			out[n++] = best->endpoint;
	}
	return n;
}

/* Is a node (we, or a member) perhaps behind NAT? Yes if it declares no
 * endpoint, or if a member saw it at an address or port other than the one
 * it declares. A declared DNS name not resolved yet is no evidence. */
static bool nat_suspect(const struct wgsync *ws, const uint8_t node[32], const char *declared,
			uint64_t now_ms)
{
	struct sockaddr_storage sa;
	char want[64], got[64];
	size_t salen;

	if (!declared[0])
		return true;
	if (resolver_lookup(ws->res, declared, &sa, now_ms) < 0)
		return false;
	addr_text(&sa, want, sizeof want);
	for (size_t i = 0; i < ws->nseen; i++) {
		const struct seen_endpoint *s = &ws->seen[i];
		if (memcmp(s->node, node, 32) || addr_parse(s->endpoint, &sa, &salen) < 0)
			continue;
		addr_text(&sa, got, sizeof got);
		if (strcmp(got, want))
			return true;
	}
	return false;
}

/* The engine's view of a member: -1 if it is not a peer (yet). */
static int peer_state_of(const struct engine_peer_info *pi, size_t n, const uint8_t pk[32])
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(pi[i].pk, pk, 32))
			return (int)pi[i].state;
	return -1;
}

int wgsync_apply(struct wgsync *ws, const struct engine *eng, uint64_t now_ms)
{
	struct collect *c = calloc(1, sizeof *c);
	struct wg_device dev;
	uint64_t now_s = now_ms / 1000;
	int rc;

	if (!c)
		return -ENOMEM;
	ws->st.applies++;
	/* who should be there: named by a node record (a revoked member's
	 * records are gone, so it drops out) or by the configuration */
	for (size_t i = 0; i < ws->nm; i++)
		ws->m[i].present = false;
	ws->nseen = 0;
	c->ws = ws;
	c->now_s = now_s;
	engine_each_record(eng, KIND_BIT(KIND_NODE) | KIND_BIT(KIND_ENDPOINT), NULL, collect, c);
	free(c);
	ws->behind_nat = nat_suspect(ws, ws->self, ws->declared, now_ms);
	for (size_t i = 0; i < ws->nboot + ws->nlocal; i++) {
		const struct config_wg_peer *bp = i < ws->nboot ? &ws->boot[i] : &ws->local[i - ws->nboot];
		struct member *x = member_find(ws, bp->pk);
		if (x && x->present && !x->from_config)
			continue;   /* its node record speaks for it now */
		if (!x && !(x = member_get(ws, bp->pk)))
			continue;
		x->from_config = true;
		x->join_only = bp->join_only;
		x->present = true;
		memcpy(x->wg_key, bp->wg_key, 32);
		snprintf(x->declared, sizeof x->declared, "%s", bp->endpoint);
		snprintf(x->mesh_addr, sizeof x->mesh_addr, "%s", bp->mesh_addr);
		set_mesh_sa(ws, x);
	}
	/* revoked members lose their peer; members that left (gracefully) or
	 * are merely unreachable keep it: a graceful stop is how every restart
	 * begins, and a member whose peer was removed while it was away could
	 * never say it is back (its pings went nowhere, others kept it as left:
	 * tests/faults/test_faults.sh, docs/faults.md) */
	size_t npi;
	struct engine_peer_info *pi = engine_peers_alloc(eng, &npi);
	size_t k = 0;
	for (size_t i = 0; i < ws->nm; i++) {
		struct member *x = &ws->m[i];
		if (!x->present)
			continue;   /* gone: its peer is removed below */
		x->state = peer_state_of(pi, npi, x->pk);
		x->left = !x->mesh_addr[0] || engine_is_revoked(eng, x->pk);   /* even if configured */
		ws->m[k++] = *x;
	}
	ws->nm = k;
	free(pi);
	/* what we made and is gone (our wireguard-go exited, our kernel link
	 * deleted) is made again, with its address; its key, port and peers
	 * follow below as for a restarted interface */
	if (ws->ifc) {
		char e[256];
		rc = wg_iface_revive(ws->ifc, now_ms, e, sizeof e);
		if (rc != 0)
			ws->be = wg_iface_backend(ws->ifc);
		if (rc > 0) {
			ws->st.interface_remade++;
			log_warn("wireguard: %s was gone (wireguard-go exited, or the link was deleted): "
				 "made again", ws->ifname);
			if (ws->addr[0] && wg_if_set_addr(ws->ifname, ws->addr, e, sizeof e) < 0) {
				log_err("wireguard: %s: %s", ws->ifname, e);
				ws->st.backend_errors++;
			}
		} else if (rc < 0) {
			log_err("wireguard: %s is gone and cannot be made again (tried again later): %s",
				ws->ifname, e);
			ws->st.backend_errors++;
			return rc;
		}
		if (!ws->be)
			return -ENODEV;   /* gone, waiting for the next try */
	}
	/* what is there */
	memset(&dev, 0, sizeof dev);
	if ((rc = ws->be->get(ws->be, &dev)) < 0) {
		ws->st.backend_errors++;
		return rc;
	}
	/* the interface was restarted (wireguard-go killed and started again, a
	 * kernel interface re-made): no key, another key or port. Ours again;
	 * the peers follow below, as for any missing peer */
	if (!dev.has_private_key || memcmp(dev.public_key, ws->pub, 32) ||
	    (ws->port && dev.listen_port != ws->port)) {
		uint8_t priv[32];
		uint8_t pub[32];
		node_key_wireguard(ws->key, priv, pub);
		rc = ws->be->set_device(ws->be, priv, ws->port);
		crypto_wipe(priv, sizeof priv);
		if (rc < 0) {
			ws->st.backend_errors++;
			wg_device_free(&dev);
			return rc;
		}
		ws->st.device_restored++;
	}
	/* remove what should not be there */
	for (size_t i = 0; i < dev.npeers; i++) {
		const struct wg_peer *p = &dev.peers[i];
		bool keep = false;
		for (size_t j = 0; j < ws->nm && !keep; j++)
			keep = !ws->m[j].left && !memcmp(ws->m[j].wg_key, p->key, 32);
		if (!keep) {
			if (ws->be->remove_peer(ws->be, p->key) < 0)
				ws->st.backend_errors++;
			else
				ws->st.peers_removed++;
		}
	}
	/* add or update what should be there */
	ws->st.peers = 0;
	for (size_t j = 0; j < ws->nm; j++) {
		struct member *x = &ws->m[j];
		const struct wg_peer *cur = NULL;
		if (x->left)
			continue;
		ws->st.peers++;
		for (size_t i = 0; i < dev.npeers; i++)
			if (!memcmp(dev.peers[i].key, x->wg_key, 32))
				cur = &dev.peers[i];
		struct wg_peer want;
		memset(&want, 0, sizeof want);
		memcpy(want.key, x->wg_key, 32);
		/* keepalives hold a NAT mapping open: ours, or the peer's */
		if (ws->keepalive_s && (ws->behind_nat || nat_suspect(ws, x->pk, x->declared, now_ms)))
			want.keepalive_s = (uint16_t)ws->keepalive_s;
		want.nallowed = 1;
		bool v6 = strchr(x->mesh_addr, ':') != NULL;
		char a[MN_MAX_ADDR + 1];
		snprintf(a, sizeof a, "%s", x->mesh_addr);
		char *slash = strchr(a, '/');
		if (slash)
			*slash = 0;
		snprintf(want.allowed[0], sizeof want.allowed[0], "%s/%d", a, v6 ? 128 : 32);
		/* a recent handshake, and gossip actually flowing: a peer that is
		 * suspect or dead to the engine has a broken path whatever the
		 * handshake time says (we, or it, moved: setting the endpoint
		 * again also makes WireGuard forget a stale source address) */
		bool fresh = cur && cur->last_handshake_s && cur->last_handshake_s + HANDSHAKE_FRESH_S >= now_s &&
			     (x->state == PEER_ALIVE || x->state < 0);
		x->view.configured = cur != NULL;
		x->view.last_handshake_s = cur ? cur->last_handshake_s : 0;
		x->view.rx_bytes = cur ? cur->rx_bytes : 0;
		x->view.tx_bytes = cur ? cur->tx_bytes : 0;
		x->view.endpoint[0] = 0;
		if (cur && cur->has_endpoint)
			addr_text(&cur->endpoint, x->view.endpoint, sizeof x->view.endpoint);
		bool allowed_ok = cur && cur->nallowed == 1 && !strcmp(cur->allowed[0], want.allowed[0]);
		bool keep_ok = cur && cur->keepalive_s == want.keepalive_s;
		bool retry = !fresh && now_ms >= x->tried_at + RETRY_MS;
		if (cur && allowed_ok && keep_ok && (fresh || !retry))
			continue;   /* nothing to do */
		/* the endpoint: WireGuard's own if fresh (roaming), else the next candidate */
		if (fresh && cur->has_endpoint) {
			want.has_endpoint = true;
			want.endpoint = cur->endpoint;
		} else {
			const char *cand[16];
			size_t nc = candidates(ws, x, cand, 16);
			if (retry && cur)
				x->candidate++;
			for (size_t t = 0; t < nc; t++) {
				const char *hp = cand[(x->candidate + t) % nc];
				if (resolver_lookup(ws->res, hp, &want.endpoint, now_ms) == 0) {
					want.has_endpoint = true;
					break;
				}
			}
			if (retry && x->declared[0])
				resolver_forget(ws->res, x->declared);   /* a moved DNS name */
			x->tried_at = now_ms;
		}
		if (ws->be->set_peer(ws->be, &want) < 0) {
			ws->st.backend_errors++;
			continue;
		}
		if (cur)
			ws->st.peers_updated++;
		else
			ws->st.peers_added++;
	}
	wg_device_free(&dev);
	return 0;
}

bool wgsync_node_of_addr(const struct wgsync *ws, const struct sockaddr *sa, uint8_t pk[32])
{
	for (size_t i = 0; i < ws->nm; i++) {
		const struct member *x = &ws->m[i];
		if (x->join_only || x->mesh_sa.ss_family != sa->sa_family)
			continue;
		if (sa->sa_family == AF_INET &&
		    !memcmp(&((const struct sockaddr_in *)&x->mesh_sa)->sin_addr,
			    &((const struct sockaddr_in *)sa)->sin_addr, 4)) {
			memcpy(pk, x->pk, 32);
			return true;
		}
		if (sa->sa_family == AF_INET6 &&
		    !memcmp(&((const struct sockaddr_in6 *)&x->mesh_sa)->sin6_addr,
			    &((const struct sockaddr_in6 *)sa)->sin6_addr, 16)) {
			memcpy(pk, x->pk, 32);
			return true;
		}
	}
	return false;
}

bool wgsync_gossip_addr(const struct wgsync *ws, const uint8_t pk[32], struct sockaddr_storage *sa)
{
	const struct member *x = member_find(ws, pk);

	if (!x || !x->mesh_sa.ss_family)
		return false;
	*sa = x->mesh_sa;
	return true;
}

bool wgsync_view(const struct wgsync *ws, const uint8_t pk[32], struct wg_view *v)
{
	const struct member *x = member_find(ws, pk);

	if (!x)
		return false;
	*v = x->view;
	return true;
}

bool wgsync_observed(const struct wgsync *ws, union body *b, uint64_t now_ms)
{
	uint64_t now_s = now_ms / 1000;

	memset(b, 0, sizeof *b);
	for (size_t i = 0; i < ws->nm && b->endpoint.n_seen < MN_MAX_SEEN; i++) {
		const struct member *x = &ws->m[i];
		if (x->left || !x->view.endpoint[0] || !x->view.last_handshake_s ||
		    x->view.last_handshake_s + HANDSHAKE_FRESH_S < now_s)
			continue;
		struct seen_endpoint *s = &b->endpoint.seen[b->endpoint.n_seen++];
		memcpy(s->node, x->pk, 32);
		snprintf(s->endpoint, sizeof s->endpoint, "%s", x->view.endpoint);
		s->at = x->view.last_handshake_s;
	}
	return b->endpoint.n_seen > 0;
}

void wgsync_get_stats(const struct wgsync *ws, struct wgsync_stats *st)
{
	*st = ws->st;
}

struct wg_backend *wgsync_backend(struct wgsync *ws)
{
	return ws->be;
}

bool wgsync_owns_interface(const struct wgsync *ws)
{
	return ws->ifc && wg_iface_created(ws->ifc);
}
