/* How the daemon reaches members and knows who speaks: the WireGuard
 * tunnel (wgsync.c: its peers follow the members; its source address names
 * the sender of each message) or the plain transport (a key pinned to an
 * address by a bootstrap peer or a signed node record; anything else a
 * claim). This is the transport's authentication, under every subsystem:
 * the daemon drives it, not the registry (docs/architecture.md, "Why
 * WireGuard is not a subsystem").
 *
 * The WireGuard cycle: every 5 s, and at once when the member set changes
 * (reach_changed): the subsystems' ticks (onboarding adds the peers it
 * vouches for), one apply of the peers for all, then what our WireGuard
 * observes is published (endpoint records). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/daemon/daemon_int.h"
#include "src/daemon/config.h"
#include "src/daemon/transport.h"
#include "src/daemon/resolve.h"
#include "src/daemon/wgsync.h"
#include "src/daemon/host.h"
#include "src/log.h"
#include "src/engine/engine.h"
#include "proto/body.h"
#include "proto/hex.h"
#include "proto/record.h"

static void wg_timer_cb(uv_timer_t *h);

/* A member's node record: where to reach it (inside the tunnel, or its
 * advertised address) and, with WireGuard, its peer at once. */
void reach_node(struct daemon *d, const struct record *r, const union body *b)
{
	struct sockaddr_storage sa;
	size_t salen;

	if (memcmp(r->origin, d->key.pk, 32) != 0) {
		if (d->wg) {
			/* inside the tunnel: its mesh address, our gossip port */
			if (addr_mesh_sa(b->node.mesh_addr, d->cfg.gossip_port, &sa) == 0) {
				transport_set_addr(d->tr, r->origin, (struct sockaddr *)&sa);
				engine_peer_add(d->eng, r->origin, daemon_now_ms());
			}
			uv_timer_start(&d->wg_timer, wg_timer_cb, 0, 5000);   /* a new member: its peer now */
		} else if (b->node.n_endpoints &&
			   addr_parse(b->node.endpoints[0].addr, &sa, &salen) == 0) {
			transport_set_addr(d->tr, r->origin, (struct sockaddr *)&sa);
			engine_peer_add(d->eng, r->origin, daemon_now_ms());
		}
	}
}

/* A message on the plain transport: the key is the sender's own only on a
 * datagram from the address pinned for it (a bootstrap peer, its signed node
 * record); anything else is a claim (engine_recv_claimed: it costs the key
 * nothing). A stranger's key (no peer entry, no valid chain) is refused by
 * the engine before anything is learnt: its address only once the engine
 * took the message, and only where none is known. */
static int plain_message(struct daemon *d, const uint8_t pk[32], const uint8_t *msg, size_t len,
			 const struct sockaddr *from, bool stream)
{
	int rc;

	if (!stream && transport_addr_matches(d->tr, pk, from))
		return engine_recv(d->eng, pk, msg, len, daemon_now_ms());
	rc = engine_recv_claimed(d->eng, pk, msg, len, daemon_now_ms());
	if (rc == 0 && from && from->sa_family && !stream)
		transport_learn_addr(d->tr, pk, from);
	return rc;
}

int reach_message(void *ctx, const uint8_t pk[32], const uint8_t *msg, size_t len,
		      const struct sockaddr *from, bool stream)
{
	struct daemon *d = ctx;

	uint8_t owner[32];
	if (!d->wg)
		return plain_message(d, pk, msg, len, from, stream);
	/* WireGuard authenticated the source address: it names the sender
	 * (messages carry no key in this mode) */
	if (!from || !wgsync_node_of_addr(d->wg, from, owner) || (pk && memcmp(owner, pk, 32))) {
		d->spoofed++;
		return -EACCES;
	}
	pk = owner;
	/* and where to answer it (its mesh address, our gossip port): a
	 * member we just certified is known to WireGuard before its node
	 * record reaches us, and must not wait for that to be answered */
	struct sockaddr_storage gsa;
	if (wgsync_gossip_addr(d->wg, owner, &gsa))
		transport_set_addr(d->tr, owner, (struct sockaddr *)&gsa);
	return engine_recv(d->eng, pk, msg, len, daemon_now_ms());
}

void reach_conn_gone(void *ctx, const uint8_t pk[32], const struct sockaddr *from)
{
	struct daemon *d = ctx;
	uint8_t owner[32];

	if (d->wg) {   /* the tunnel's address names the member */
		if (!from || !wgsync_node_of_addr(d->wg, from, owner))
			return;
		pk = owner;
	}
	if (pk)   /* its check ends ack_timeout_ms from now: the loop's flush
		   * sets the engine's timer sooner (engine_send_pending_cb) */
		engine_peer_gone_hint(d->eng, pk, daemon_now_ms());
}

/* Publish what our WireGuard observes when it changed (and at least every
 * half hour), so the others can find a peer that moved. */
static void publish_endpoints(struct daemon *d)
{
	union body *b = malloc(sizeof *b);
	char sig[sizeof d->endpoint_last];
	size_t off = 0;
	uint64_t now = daemon_now_ms();

	if (!b)
		return;
	if (wgsync_observed(d->wg, b, now)) {
		sig[0] = 0;
		for (unsigned i = 0; i < b->endpoint.n_seen && off < sizeof sig; i++) {
			char hex[9];
			hex_encode(b->endpoint.seen[i].node, 4, hex);
			off += (size_t)snprintf(sig + off, sizeof sig - off, "%s=%s;", hex,
						b->endpoint.seen[i].endpoint);
		}
		if (strcmp(sig, d->endpoint_last) || now - d->endpoint_published_ms > 1800 * 1000) {
			int perr;
			if (engine_publish(d->eng, KIND_ENDPOINT, "seen", b, 3600, now, NULL, &perr) == 0) {
				snprintf(d->endpoint_last, sizeof d->endpoint_last, "%s", sig);
				d->endpoint_published_ms = now;
			}
		}
	}
	free(b);
}

static void wg_timer_cb(uv_timer_t *h)
{
	struct daemon *d = h->data;

	if (!d->wg || d->stopping)
		return;
	/* the subsystems first (onboarding: the peers it vouches for), then one
	 * apply for all (members are known from the apply at start, for
	 * renewals) */
	hosts_tick(d->hosts, daemon_now_ms());
	if (wgsync_apply(d->wg, d->eng, daemon_now_ms()) < 0)
		log_warn("WireGuard %s: the interface does not answer", d->cfg.wg_interface);
	publish_endpoints(d);
}

static void on_resolved(void *ctx)
{
	struct daemon *d = ctx;

	if (d->wg && !d->stopping)
		uv_timer_start(&d->wg_timer, wg_timer_cb, 0, 5000);
}

struct wgsync *daemon_wg(struct daemon *d) { return d->wg; }

void reach_changed(struct daemon *d)
{
	if (d->wg && !d->stopping)
		uv_timer_start(&d->wg_timer, wg_timer_cb, 0, 5000);
}

/* Where our node record says we are: our WireGuard key and endpoint (gossip
 * runs inside the tunnel), or the plain transport's address. */
void reach_fill_node(struct daemon *d, union body *b)
{
	if (d->wg) {
		memcpy(b->node.wg_key, wgsync_public_key(d->wg), 32);
		snprintf(b->node.endpoints[0].addr, sizeof b->node.endpoints[0].addr, "%s",
			 d->cfg.wg_endpoint);
		b->node.n_endpoints = d->cfg.wg_endpoint[0] ? 1 : 0;
	} else {
		snprintf(b->node.endpoints[0].addr, sizeof b->node.endpoints[0].addr, "%s",
			 d->cfg.advertise[0] ? d->cfg.advertise : d->cfg.listen);
		b->node.n_endpoints = 1;
	}
}

/* The configured bootstrap peers of the plain transport (at start, after
 * the store's records; again at a reload). */
void reach_peers(struct daemon *d, const struct config *c)
{
	for (size_t i = 0; i < c->npeers; i++) {
		transport_set_addr(d->tr, c->peers[i].pk, (const struct sockaddr *)&c->peers[i].sa);
		engine_peer_add(d->eng, c->peers[i].pk, daemon_now_ms());
	}
}

/* With wg_interface set: the resolver and the interface (made here if
 * absent, before the transport binds to the mesh address on it). The
 * cycle starts with reach_start. */
int reach_open(struct daemon *d, char *err, size_t cap)
{
	uv_timer_init(&d->loop, &d->wg_timer);
	d->wg_timer.data = d;
	if (!d->cfg.wg_interface[0])
		return 0;
	char e[512];
	d->res = resolver_new(&d->loop, on_resolved, d, e, sizeof e);
	if (!d->res) {
		snprintf(err, cap, "resolver: %s", e);
		return -EIO;
	}
	d->wg = wgsync_open(&d->cfg, &d->key, d->res, e, sizeof e);
	if (!d->wg) {
		snprintf(err, cap, "WireGuard interface %s: %s", d->cfg.wg_interface, e);
		return -EIO;
	}
	log_info("WireGuard interface %s: %s backend, %s", d->cfg.wg_interface,
		 wgsync_backend(d->wg)->name,
		 wgsync_owns_interface(d->wg) ? "made by mirrornetd (removed at stop)" : "already there (left at stop)");
	return 0;
}

/* The WireGuard bootstrap peers (inside the tunnel), once the transport
 * is open. */
void reach_wg_peers(struct daemon *d)
{
	for (size_t i = 0; d->wg && i < d->cfg.nwg_peers; i++) {
		struct sockaddr_storage sa;
		if (addr_mesh_sa(d->cfg.wg_peers[i].mesh_addr, d->cfg.gossip_port, &sa) == 0) {
			transport_set_addr(d->tr, d->cfg.wg_peers[i].pk, (struct sockaddr *)&sa);
			engine_peer_add(d->eng, d->cfg.wg_peers[i].pk, daemon_now_ms());
		}
	}
}

void reach_start(struct daemon *d)
{
	reach_changed(d);
}

void reach_stop(struct daemon *d)
{
	uv_timer_stop(&d->wg_timer);
	if (d->res)
		resolver_free(d->res);
	d->res = NULL;
}

void reach_free(struct daemon *d)
{
	wgsync_free(d->wg);
	d->wg = NULL;
}
