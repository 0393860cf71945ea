/* The daemon's WireGuard sync against the fake backend: peers from node
 * records and the configuration, applied as diffs; endpoint candidates
 * (declared, then observed by others); roaming kept; observations
 * reported; mesh addresses name senders; a revoked member loses its peer
 * even when configured; persistent keepalive only where a NAT may sit. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include "tests/check.h"
#include "src/daemon/wgsync.h"
#include "src/wg/wg_int.h"
#include "src/engine/engine.h"
#include "crypto/crypto.h"
#include "crypto/record_sig.h"
#include "proto/hex.h"

static struct node_key k[4];   /* 0 root (us), 1 A, 2 B, 3 C */
static uint8_t wgpub[4][32];

static void nosend(void *ctx, const uint8_t peer[32], const uint8_t *buf, size_t len,
		   enum engine_chan chan)
{
	(void)ctx; (void)peer; (void)buf; (void)len; (void)chan;
}

static uint64_t rnd(void *ctx)
{
	static uint64_t x = 12345;
	(void)ctx;
	x = x * 6364136223846793005ull + 1442695040888963407ull;
	return x;
}

static void insert(struct engine *e, int signer, unsigned kind, const char *key,
		   const union body *b, uint64_t now)
{
	uint8_t body[MN_MAX_BODY], wire[MN_MAX_RECORD];
	size_t blen;
	struct record r;

	body_encode(kind, b, body, sizeof body, &blen);
	record_init(&r, kind, k[signer].pk, key, now, now / 1000 + 86400);
	r.body = body;
	r.body_len = blen;
	record_sign(&r, &k[signer], wire, sizeof wire);
	CHECK_INT(engine_insert(e, wire, r.wire_len, true, now), 1);
}

static void node_record(struct engine *e, int who, const char *endpoint, const char *mesh,
			uint64_t now)
{
	union body b;

	memset(&b, 0, sizeof b);
	snprintf(b.node.name, sizeof b.node.name, "n%d", who);
	memcpy(b.node.wg_key, wgpub[who], 32);
	snprintf(b.node.endpoints[0].addr, sizeof b.node.endpoints[0].addr, "%s", endpoint);
	b.node.n_endpoints = endpoint[0] ? 1 : 0;
	snprintf(b.node.mesh_addr, sizeof b.node.mesh_addr, "%s", mesh);
	insert(e, who, KIND_NODE, "self", &b, now);
}

static const struct wg_peer *peer_of(const struct wg_device *d, int who)
{
	for (size_t i = 0; i < d->npeers; i++)
		if (!memcmp(d->peers[i].key, wgpub[who], 32))
			return &d->peers[i];
	return NULL;
}

static void endpoint_text(const struct wg_peer *p, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)&p->endpoint;

	inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
	snprintf(buf, cap, "%s:%u", ip, ntohs(v4->sin_port));
}

/* An endpoint record of `who`: it saw node[i] at ep[i]. */
static void seen_record(struct engine *e, int who, const int *node, const char *const *ep,
			unsigned n, uint64_t now)
{
	union body b;

	memset(&b, 0, sizeof b);
	for (unsigned i = 0; i < n; i++) {
		memcpy(b.endpoint.seen[i].node, k[node[i]].pk, 32);
		snprintf(b.endpoint.seen[i].endpoint, sizeof b.endpoint.seen[i].endpoint, "%s", ep[i]);
		b.endpoint.seen[i].at = now / 1000;
	}
	b.endpoint.n_seen = n;
	insert(e, who, KIND_ENDPOINT, "seen", &b, now);
}

/* The keepalive each peer has after an apply at `now` (-1: no such peer). */
static void keepalives(struct wgsync *ws, const struct engine *e, uint64_t now, int ka[4])
{
	struct wg_backend *be = wgsync_backend(ws);
	struct wg_device dev;

	CHECK_INT(wgsync_apply(ws, e, now), 0);
	memset(&dev, 0, sizeof dev);
	CHECK_INT(be->get(be, &dev), 0);
	for (int i = 0; i < 4; i++) {
		const struct wg_peer *p = peer_of(&dev, i);
		ka[i] = p ? p->keepalive_s : -1;
	}
	wg_device_free(&dev);
}

/* Persistent keepalive where a NAT may sit: on every peer if we may be
 * behind one (no wg_endpoint, or others see us elsewhere), else only on
 * peers that may be (no declared endpoint, or seen elsewhere); never with
 * wg_keepalive_s 0. */
static void test_keepalive(void)
{
	uint64_t now = 1800000000000ull;
	struct engine_config ec;
	struct engine_ops ops = { .send = nosend, .random = rnd };
	struct config cfg;
	char err[128];
	int ka[4];

	engine_config_default(&ec);
	ec.root = k[0].pk;
	struct engine *e = engine_new(&ec, &k[0], &ops, NULL, now);
	CHECK(e != NULL);
	if (!e)
		return;
	node_record(e, 1, "[2001:db8::1]:51820", "10.42.0.1", now);   /* A: public */
	node_record(e, 2, "", "10.42.0.2", now);                      /* B: no endpoint */
	node_record(e, 3, "192.0.2.3:51820", "10.42.0.3", now);       /* C: declares one... */
	/* ...but A sees C elsewhere (C's NAT); B sees A where A declares
	 * (written differently: compared as addresses, not as text) */
	seen_record(e, 1, (const int[]){ 3 }, (const char *const[]){ "198.51.100.3:40000" }, 1, now);
	seen_record(e, 2, (const int[]){ 1 }, (const char *const[]){ "[2001:db8:0::1]:51820" }, 1, now);

	config_defaults(&cfg);
	snprintf(cfg.wg_interface, sizeof cfg.wg_interface, "mnfake");
	snprintf(cfg.wg_backend, sizeof cfg.wg_backend, "fake");
	snprintf(cfg.wg_endpoint, sizeof cfg.wg_endpoint, "192.0.2.100:51820");
	struct wgsync *ws = wgsync_open(&cfg, &k[0], NULL, err, sizeof err);
	cfg.wg_keepalive_s = 0;
	struct wgsync *off = wgsync_open(&cfg, &k[0], NULL, err, sizeof err);
	CHECK(ws != NULL && off != NULL);
	if (!ws || !off)
		goto out;

	/* we are public: keepalive only to B (no endpoint) and C (seen elsewhere) */
	keepalives(ws, e, now, ka);
	CHECK_INT(ka[1], 0);
	CHECK_INT(ka[2], 25);
	CHECK_INT(ka[3], 25);
	/* seen where we declare: still public */
	seen_record(e, 3, (const int[]){ 0 }, (const char *const[]){ "192.0.2.100:51820" }, 1, now + 1000);
	keepalives(ws, e, now + 1000, ka);
	CHECK_INT(ka[1], 0);
	/* B sees us at another port (a NAT in front of us): keepalive to all */
	seen_record(e, 2, (const int[]){ 0, 1 },
		    (const char *const[]){ "192.0.2.100:40123", "[2001:db8::1]:51820" }, 2, now + 2000);
	keepalives(ws, e, now + 2000, ka);
	CHECK_INT(ka[1], 25);
	CHECK_INT(ka[2], 25);
	CHECK_INT(ka[3], 25);
	/* that observation ages out (10 min): A's peer goes back to none */
	keepalives(ws, e, now + 2000 + 601000, ka);
	CHECK_INT(ka[1], 0);
	CHECK_INT(ka[2], 25);
	/* wg_keepalive_s 0: off everywhere, NAT or not */
	keepalives(off, e, now + 3000, ka);
	CHECK_INT(ka[1], 0);
	CHECK_INT(ka[2], 0);
	CHECK_INT(ka[3], 0);
out:
	wgsync_free(ws);
	wgsync_free(off);
	engine_free(e);
}

int main(void)
{
	uint64_t now = 1800000000000ull;
	struct engine_config ec;
	struct engine_ops ops = { .send = nosend, .random = rnd };
	struct config cfg;
	char err[128], ep[64];
	struct wg_device dev;
	struct wgsync_stats st;

	crypto_init();
	for (int i = 0; i < 4; i++) {
		uint8_t seed[32] = { (uint8_t)(i + 1) }, priv[32];
		node_key_from_seed(&k[i], seed);
		node_key_wireguard(&k[i], priv, wgpub[i]);
		crypto_wipe(priv, sizeof priv);
	}
	engine_config_default(&ec);
	ec.root = k[0].pk;
	struct engine *e = engine_new(&ec, &k[0], &ops, NULL, now);
	CHECK(e != NULL);
	node_record(e, 1, "192.0.2.1:51820", "10.42.0.1", now);
	node_record(e, 2, "192.0.2.2:51820", "10.42.0.2", now);
	/* B saw A elsewhere */
	union body ob;
	memset(&ob, 0, sizeof ob);
	memcpy(ob.endpoint.seen[0].node, k[1].pk, 32);
	snprintf(ob.endpoint.seen[0].endpoint, sizeof ob.endpoint.seen[0].endpoint, "198.51.100.9:40000");
	ob.endpoint.seen[0].at = now / 1000;
	ob.endpoint.n_seen = 1;
	insert(e, 2, KIND_ENDPOINT, "seen", &ob, now);

	config_defaults(&cfg);
	snprintf(cfg.wg_interface, sizeof cfg.wg_interface, "mnfake");
	snprintf(cfg.wg_backend, sizeof cfg.wg_backend, "fake");
	cfg.nwg_peers = 1;   /* C, configured */
	memcpy(cfg.wg_peers[0].pk, k[3].pk, 32);
	memcpy(cfg.wg_peers[0].wg_key, wgpub[3], 32);
	snprintf(cfg.wg_peers[0].endpoint, sizeof cfg.wg_peers[0].endpoint, "192.0.2.3:51820");
	snprintf(cfg.wg_peers[0].mesh_addr, sizeof cfg.wg_peers[0].mesh_addr, "10.42.0.3");
	struct wgsync *ws = wgsync_open(&cfg, &k[0], NULL, err, sizeof err);
	CHECK(ws != NULL);
	if (!ws)
		return check_exit();
	struct wg_backend *be = wgsync_backend(ws);

	/* first pass: three peers, declared endpoints, mesh addresses, keepalive
	 * (no wg_endpoint: we may be behind NAT, so on every peer) */
	CHECK_INT(wgsync_apply(ws, e, now), 0);
	memset(&dev, 0, sizeof dev);
	CHECK_INT(be->get(be, &dev), 0);
	CHECK_INT(dev.npeers, 3);
	const struct wg_peer *a = peer_of(&dev, 1);
	CHECK(a != NULL);
	if (a) {
		endpoint_text(a, ep, sizeof ep);
		CHECK_STR(ep, "192.0.2.1:51820");
		CHECK_INT(a->nallowed, 1);
		CHECK_STR(a->allowed[0], "10.42.0.1/32");
		CHECK_INT(a->keepalive_s, 25);
	}
	CHECK(peer_of(&dev, 3) != NULL);
	wg_device_free(&dev);
	wgsync_get_stats(ws, &st);
	CHECK_INT(st.peers_added, 3);

	/* nothing changed: nothing applied */
	CHECK_INT(wgsync_apply(ws, e, now + 1000), 0);
	wgsync_get_stats(ws, &st);
	CHECK_INT(st.peers_added, 3);
	CHECK_INT(st.peers_updated, 0);

	/* no handshake with A for a retry period: the endpoint B observed */
	CHECK_INT(wgsync_apply(ws, e, now + 16000), 0);
	memset(&dev, 0, sizeof dev);
	be->get(be, &dev);
	a = peer_of(&dev, 1);
	if (a) {
		endpoint_text(a, ep, sizeof ep);
		CHECK_STR(ep, "198.51.100.9:40000");
	}
	wg_device_free(&dev);

	/* A roams (a handshake from a new address): that endpoint is kept and
	 * reported as our observation */
	struct sockaddr_storage roam;
	size_t rl;
	addr_parse("203.0.113.5:1234", &roam, &rl);
	CHECK_INT(wg_fake_observe(be, wgpub[1], &roam, (now + 17000) / 1000, 100, 200), 0);
	CHECK_INT(wgsync_apply(ws, e, now + 40000), 0);
	memset(&dev, 0, sizeof dev);
	be->get(be, &dev);
	a = peer_of(&dev, 1);
	if (a) {
		endpoint_text(a, ep, sizeof ep);
		CHECK_STR(ep, "203.0.113.5:1234");
	}
	wg_device_free(&dev);
	union body mine;
	CHECK(wgsync_observed(ws, &mine, now + 40000));
	CHECK_INT(mine.endpoint.n_seen, 1);
	CHECK_MEM(mine.endpoint.seen[0].node, k[1].pk, 32);
	CHECK_STR(mine.endpoint.seen[0].endpoint, "203.0.113.5:1234");
	struct wg_view v;
	CHECK(wgsync_view(ws, k[1].pk, &v));
	CHECK_INT(v.rx_bytes, 100);

	/* mesh addresses name the senders */
	struct sockaddr_storage src;
	uint8_t who[32];
	addr_parse("10.42.0.2:55555", &src, &rl);
	CHECK(wgsync_node_of_addr(ws, (struct sockaddr *)&src, who));
	CHECK_MEM(who, k[2].pk, 32);
	addr_parse("10.42.0.99:7332", &src, &rl);
	CHECK(!wgsync_node_of_addr(ws, (struct sockaddr *)&src, who));
	/* an invitation's temporary tunnel gets its WireGuard peer, but its
	 * address names no sender of gossip (issue #11 item 1) */
	struct config_wg_peer inv;
	memset(&inv, 0, sizeof inv);
	memset(inv.wg_key, 0x5a, 32);
	memcpy(inv.pk, inv.wg_key, 32);
	snprintf(inv.mesh_addr, sizeof inv.mesh_addr, "10.42.0.77");
	inv.join_only = true;
	CHECK_INT(wgsync_set_local(ws, &inv, 1), 0);
	CHECK_INT(wgsync_apply(ws, e, now + 41000), 0);
	memset(&dev, 0, sizeof dev);
	be->get(be, &dev);
	bool tunnel = false;
	for (size_t i = 0; i < dev.npeers; i++)
		tunnel |= !memcmp(dev.peers[i].key, inv.wg_key, 32);
	CHECK(tunnel);
	wg_device_free(&dev);
	addr_parse("10.42.0.77:7332", &src, &rl);
	CHECK(!wgsync_node_of_addr(ws, (struct sockaddr *)&src, who));
	CHECK_INT(wgsync_set_local(ws, NULL, 0), 0);
	CHECK_INT(wgsync_apply(ws, e, now + 42000), 0);   /* gone: removed */

	/* revocations: B (from a record) and C (configured) lose their peers */
	char hex[65];
	for (int who2 = 2; who2 <= 3; who2++) {
		union body rb;
		memset(&rb, 0, sizeof rb);
		memcpy(rb.revoke.subject, k[who2].pk, 32);
		hex_encode(k[who2].pk, 32, hex);
		insert(e, 0, KIND_REVOKE, hex, &rb, now + 50000);
	}
	CHECK_INT(wgsync_apply(ws, e, now + 50000), 0);
	memset(&dev, 0, sizeof dev);
	be->get(be, &dev);
	CHECK_INT(dev.npeers, 1);
	CHECK(peer_of(&dev, 1) != NULL);
	CHECK(peer_of(&dev, 2) == NULL);
	CHECK(peer_of(&dev, 3) == NULL);
	wg_device_free(&dev);
	wgsync_get_stats(ws, &st);
	CHECK_INT(st.peers_removed, 3);   /* and the invitation's tunnel, above */

	/* a backend error is counted, not fatal */
	wg_fake_fail_next(be, -EIO);
	CHECK(wgsync_apply(ws, e, now + 60000) < 0);
	wgsync_get_stats(ws, &st);
	CHECK_INT(st.backend_errors, 1);

	wgsync_free(ws);
	engine_free(e);
	test_keepalive();
	for (int i = 0; i < 4; i++)
		node_key_wipe(&k[i]);
	return check_exit();
}
