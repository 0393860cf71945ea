/* The engine, driven by a tiny in-test network: a few nodes, a FIFO of
 * messages with a fixed delay, a simulated clock. Bigger scenarios are in
 * tests/sim/ (the simulator). */
#include <errno.h>
#include <stdlib.h>
#include "tests/check.h"
#include "tests/unit/sample_bodies.h"
#include "src/engine/engine.h"
#include "src/engine/wire.h"
#include "crypto/crypto.h"
#include "crypto/record_sig.h"
#include "proto/hex.h"
#include "proto/proto_err.h"

#define MAXN 12
#define QCAP 20000
#define DELAY 10

struct msg {
	uint64_t at;
	int from, to;
	size_t len;
	uint8_t *buf;
};

static struct {
	struct engine *e[MAXN];
	struct node_key k[MAXN];
	int n;
	bool down[MAXN];
	bool deaf[MAXN];             /* sends, but hears nothing */
	struct msg q[QCAP];
	size_t qhead, qn;
	uint64_t now;
	uint64_t rng;
	uint64_t next_tick[MAXN];
	int accepted[MAXN];
	int dead_seen[MAXN][MAXN];   /* observer, subject: transitions to DEAD */
	int revoked_cb[MAXN];
	/* what went on the wire (counted in op_send) */
	int pings, pingacks, pingacks_small, streams, sync_dgrams;
	int drop_recs, drop_to;      /* lose the next drop_recs datagrams with a record to drop_to */
} net;

/* Count PINGs, datagrams of PINGs and ACKs only (and how many of them are
 * the 4-byte steady-state form), stream messages, SYNC frames in datagrams. */
static bool count_wire(const uint8_t *buf, size_t len, enum engine_chan chan)
{
	struct wire_iter it;
	struct wire_frame f;
	bool only_swim = true, rec = false;
	int rc;

	if (chan == CHAN_STREAM) {
		net.streams++;
		return false;
	}
	if (wire_begin(&it, buf, len) < 0)
		return false;
	while ((rc = wire_next(&it, &f)) == 1) {
		net.pings += f.type == W_PING;
		net.sync_dgrams += f.type == W_SYNC;
		only_swim &= f.type == W_PING || f.type == W_ACK;
		rec |= f.type == W_REC;
	}
	if (rc == 0 && only_swim) {
		net.pingacks++;
		net.pingacks_small += len == 4;
	}
	return rec;
}

static int node_of(const uint8_t pk[32])
{
	for (int i = 0; i < net.n; i++)
		if (memcmp(net.k[i].pk, pk, 32) == 0)
			return i;
	return -1;
}

static void op_send(void *ctx, const uint8_t peer[32], const uint8_t *buf, size_t len,
		    enum engine_chan chan)
{
	int from = (int)(intptr_t)ctx, to = node_of(peer);
	if (count_wire(buf, len, chan) && net.drop_recs && to == net.drop_to) {
		net.drop_recs--;
		return;
	}
	if (to < 0 || net.qn == QCAP)
		return;
	struct msg *m = &net.q[(net.qhead + net.qn++) % QCAP];
	m->at = net.now + DELAY;
	m->from = from;
	m->to = to;
	m->len = len;
	m->buf = malloc(len);
	memcpy(m->buf, buf, len);
}

static void op_accepted(void *ctx, const struct record *r, const union body *b,
			const uint8_t id[32])
{
	(void)r; (void)b; (void)id;
	net.accepted[(intptr_t)ctx]++;
}

static void op_state(void *ctx, const uint8_t peer[32], enum peer_state from, enum peer_state to)
{
	(void)from;
	int s = node_of(peer);
	if (to == PEER_DEAD && s >= 0)
		net.dead_seen[(intptr_t)ctx][s]++;
}

static void op_revoked(void *ctx, const uint8_t origin[32])
{
	(void)origin;
	net.revoked_cb[(intptr_t)ctx]++;
}

static uint64_t op_random(void *ctx)
{
	(void)ctx;
	net.rng ^= net.rng << 13;
	net.rng ^= net.rng >> 7;
	net.rng ^= net.rng << 17;
	return net.rng;
}

static const struct engine_ops ops = {
	.send = op_send, .accepted = op_accepted, .revoked = op_revoked,
	.peer_state = op_state, .random = op_random,
};

/* A driver's store for engine_stored()/ops.load: row `ref` (1..) holds a
 * copy of one record; loads are counted, and can be made to fail. */
#define STORE_CAP 512
static struct {
	uint8_t id[STORE_CAP][32];
	uint8_t *wire[STORE_CAP];
	size_t len[STORE_CAP];
	int n, loads;
	bool fail;
} st_rows;

static int op_load(void *ctx, int64_t ref, const uint8_t id[32], uint8_t *buf, size_t cap)
{
	(void)ctx;
	st_rows.loads++;
	if (st_rows.fail || ref < 1 || ref > st_rows.n || memcmp(st_rows.id[ref - 1], id, 32) ||
	    st_rows.len[ref - 1] > cap)
		return -ENOENT;
	memcpy(buf, st_rows.wire[ref - 1], st_rows.len[ref - 1]);
	return (int)st_rows.len[ref - 1];
}

static const struct engine_ops ops_load = {
	.send = op_send, .accepted = op_accepted, .revoked = op_revoked,
	.peer_state = op_state, .random = op_random, .load = op_load,
};
static const struct engine_ops *use_ops = &ops;

/* ten years ahead: the longest a cert, revoke or dns record may live */
#define TEN_YEARS_S (10ull * 365 * 86400)
static uint64_t later_s(void)
{
	return net.now / 1000 + TEN_YEARS_S;
}

/* a signed cert for node i by node 0 (the root) */
static size_t make_cert(int i, uint8_t *out)
{
	union body b;
	uint8_t body[MN_MAX_BODY];
	size_t blen;
	struct record r;
	char key[65];

	memset(&b, 0, sizeof b);
	memcpy(b.cert.subject, net.k[i].pk, 32);
	b.cert.role = ROLE_PEER;
	b.cert.depth = 1;
	b.cert.max_depth = 3;
	b.cert.not_after = UINT64_MAX;
	body_encode(KIND_CERT, &b, body, sizeof body, &blen);
	hex_encode(net.k[i].pk, 32, key);
	record_init(&r, KIND_CERT, net.k[0].pk, key, 1, later_s());
	r.body = body;
	r.body_len = blen;
	record_sign(&r, &net.k[0], out, MN_MAX_RECORD);
	return r.wire_len;
}

/* the in-test network's random stream: the same for every test but the
 * ones that run over several (MN_TEST_STREAM=N runs every test on stream
 * N instead of 1: how the tests' dependence on one stream is found) */
static uint64_t rng_seed = 1;
static uint64_t rng_first = 1;

/* engine_config changes for the next setup() (budget tests), else NULL */
static void (*tweak)(struct engine_config *);

static void setup(int n, bool certs)
{
	struct engine_config cfg;

	memset(&net, 0, sizeof net);
	net.n = n;
	net.now = 1800000000000ull;
	net.rng = 0x9e3779b97f4a7c15ull * rng_seed;
	for (int i = 0; i < n; i++) {
		uint8_t seed[32] = { 0 };
		seed[0] = (uint8_t)(i + 1);
		node_key_from_seed(&net.k[i], seed);
	}
	engine_config_default(&cfg);
	cfg.root = net.k[0].pk;
	cfg.d = 3;
	cfg.d_lo = 2;
	cfg.d_hi = 5;
	if (tweak)
		tweak(&cfg);
	for (int i = 0; i < n; i++) {
		net.e[i] = engine_new(&cfg, &net.k[i], use_ops, (void *)(intptr_t)i, net.now);
		CHECK(net.e[i] != NULL);
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			if (i != j)
				engine_peer_add(net.e[i], net.k[j].pk, net.now);
	if (certs) {
		for (int c = 1; c < n; c++) {
			uint8_t w[MN_MAX_RECORD];
			size_t len = make_cert(c, w);
			for (int i = 0; i < n; i++)
				engine_insert(net.e[i], w, len, true, net.now);
		}
	}
}

static void teardown(void)
{
	for (int i = 0; i < net.n; i++)
		engine_free(net.e[i]);
	for (size_t i = 0; i < net.qn; i++)
		free(net.q[(net.qhead + i) % QCAP].buf);
	for (int i = 0; i < net.n; i++)
		node_key_wipe(&net.k[i]);
}

/* Advance simulated time by ms, delivering messages and ticking engines. */
static void run(uint64_t ms)
{
	uint64_t end = net.now + ms;

	while (net.now < end) {
		net.now++;
		while (net.qn && net.q[net.qhead].at <= net.now) {
			struct msg m = net.q[net.qhead];
			net.qhead = (net.qhead + 1) % QCAP;
			net.qn--;
			if (!net.down[m.to] && !net.down[m.from] && !net.deaf[m.to]) {
				engine_recv(net.e[m.to], net.k[m.from].pk, m.buf, m.len, net.now);
				net.next_tick[m.to] = net.now;   /* as the simulator does */
			}
			free(m.buf);
		}
		for (int i = 0; i < net.n; i++)
			if (!net.down[i] && net.now >= net.next_tick[i])
				net.next_tick[i] = engine_tick(net.e[i], net.now);
	}
}

static int holders(const uint8_t id[32])
{
	int n = 0;
	for (int i = 0; i < net.n; i++)
		n += !net.down[i] && engine_has(net.e[i], id);
	return n;
}

static void slow_heartbeat_no_forward(struct engine_config *c)
{
	c->heartbeat_ms = 5000;
	c->no_forward = true;
}

/* Early gossip (mesh.c): nodes that forward nothing (so only the
 * publisher's mesh peers get the eager push) and a heartbeat of 5 s: the
 * others learn the record's id by the IHAVE sent EARLY_GOSSIP_MS after it
 * arrived, not at the next heartbeat, and pull it within a second. */
static void test_early_gossip(void)
{
	union body b;
	uint8_t id[32];

	tweak = slow_heartbeat_no_forward;
	setup(8, true);
	tweak = NULL;
	run(12000);
	sample_body(KIND_SVC, &b, 0);
	CHECK_INT(engine_publish(net.e[0], KIND_SVC, "early", &b, 3600, net.now, id, NULL), 0);
	run(1000);
	CHECK_INT(holders(id), 8);
	teardown();
}

/* Mesh peers as node i sees them: how many, how many still push to it
 * (not choked), how many of those are up. */
static void mesh_view(int i, int *mesh, int *eager, int *eager_up)
{
	size_t n;
	struct engine_peer_info *pi = engine_peers_alloc(net.e[i], &n);

	*mesh = *eager = *eager_up = 0;
	for (size_t k = 0; k < n; k++) {
		if (!pi[k].in_mesh)
			continue;
		(*mesh)++;
		if (!pi[k].choked) {
			(*eager)++;
			*eager_up += !net.down[node_of(pi[k].pk)];
		}
	}
	free(pi);
}

static void mesh_of_five(struct engine_config *c)
{
	c->d = 5;
	c->d_lo = 4;
	c->d_hi = 6;
}

static void mesh_of_five_no_choking(struct engine_config *c)
{
	mesh_of_five(c);
	c->d_eager = 0;
}

/* Publish n records from node `from`, 50 ms apart; returns how many of
 * them every node that is up holds. */
static int publish_series(int from, int n, const char *tag)
{
	union body b;
	uint8_t ids[32][32];
	int full = 0;

	for (int k = 0; k < n && k < 32; k++) {
		char key[32];
		sample_body(KIND_SVC, &b, 0);
		snprintf(key, sizeof key, "%s%d", tag, k);
		CHECK_INT(engine_publish(net.e[from], KIND_SVC, key, &b, 3600, net.now, ids[k], NULL), 0);
		run(50);
	}
	run(1500);
	int up = 0;
	for (int i = 0; i < net.n; i++)
		up += !net.down[i];
	for (int k = 0; k < n && k < 32; k++)
		full += holders(ids[k]) == up;
	return full;
}

static uint64_t total_stat(size_t off)
{
	uint64_t sum = 0;
	struct engine_stats st;

	for (int i = 0; i < net.n; i++) {
		engine_get_stats(net.e[i], &st);
		sum += *(const uint64_t *)((const char *)&st + off);
	}
	return sum;
}

/* Choking (mesh.c): of a mesh of 4-6, d_eager (2) peers keep pushing
 * records, the others announce them; the copies a node gets fall, every
 * record still reaches everyone. When the pushing peers go down, their
 * node pulls what the choked ones announce and unchokes others. */
static void test_choking(void)
{
	int mesh, eager, eager_up;

	tweak = mesh_of_five_no_choking;
	setup(8, true);
	tweak = NULL;
	run(8000);
	uint64_t dups0 = total_stat(offsetof(struct engine_stats, records_dup));
	CHECK_INT(publish_series(1, 20, "plain"), 20);
	uint64_t dups_plain = total_stat(offsetof(struct engine_stats, records_dup)) - dups0;
	CHECK_INT(total_stat(offsetof(struct engine_stats, chokes)), 0);
	teardown();

	tweak = mesh_of_five;
	setup(8, true);
	tweak = NULL;
	run(5000);
	/* no choking before the links are known clean (8 direct probes; with
	 * shared probes, a node of 8 sends one every 1-4 s) */
	CHECK_INT(total_stat(offsetof(struct engine_stats, chokes)), 0);
	run(35000);   /* (not at 30 s: every 30 heartbeats a mesh peer is swapped) */
	for (int i = 0; i < net.n; i++) {
		mesh_view(i, &mesh, &eager, &eager_up);
		/* (a mesh may stay below d_lo 4 in 8 nodes: grafts refused
		 * during a prune's backoff) */
		CHECK(mesh >= 2);
		CHECK_INT(eager, 2);
	}
	dups0 = total_stat(offsetof(struct engine_stats, records_dup));
	CHECK_INT(publish_series(1, 20, "choked"), 20);
	uint64_t dups_choked = total_stat(offsetof(struct engine_stats, records_dup)) - dups0;
	/* with 5 pushing, about 4 copies of each record a node gets are
	 * duplicates; with 2, about 1 */
	CHECK(dups_choked * 2 < dups_plain);
	CHECK_INT(total_stat(offsetof(struct engine_stats, choke_pulls)), 0);
	CHECK(total_stat(offsetof(struct engine_stats, ihave_sent)) > 0);

	/* node 5's pushing peers go down; the publisher is a node outside
	 * its mesh, so every record reaches it through others */
	size_t n;
	struct engine_peer_info *pi = engine_peers_alloc(net.e[5], &n);
	bool in_mesh5[MAXN] = { false };
	int downed = 0, publisher = -1, choked5 = 0;
	for (size_t k = 0; k < n; k++)
		if (pi[k].in_mesh) {
			in_mesh5[node_of(pi[k].pk)] = true;
			choked5 += pi[k].choked;
			if (!pi[k].choked) {
				net.down[node_of(pi[k].pk)] = true;
				downed++;
			}
		}
	free(pi);
	for (int i = 0; i < net.n && publisher < 0; i++)
		if (i != 5 && !in_mesh5[i])
			publisher = i;
	CHECK(downed >= 2);
	CHECK(publisher >= 0);
	if (publisher < 0)
		publisher = 0;
	CHECK_INT(publish_series(publisher, 20, "down"), 20);
	struct engine_stats st;
	engine_get_stats(net.e[5], &st);
	CHECK(st.choke_pulls > 0 || st.unchokes > 0 || choked5 == 0);
	/* its pushing peers now are up ones: two, or every one it has left
	 * in its mesh if fewer */
	run(3000);
	mesh_view(5, &mesh, &eager, &eager_up);
	int up = 0;
	pi = engine_peers_alloc(net.e[5], &n);
	for (size_t k = 0; k < n; k++)
		up += pi[k].in_mesh && !net.down[node_of(pi[k].pk)];
	free(pi);
	CHECK(eager_up >= (up < 2 ? up : 2));
	teardown();
}

static void test_publish_reaches_all(void)
{
	union body b;
	uint8_t id[32];
	struct engine_stats st;

	setup(6, true);
	run(3000);
	sample_body(KIND_SVC, &b, 0);
	CHECK_INT(engine_publish(net.e[2], KIND_SVC, "mail", &b, 3600, net.now, id, NULL), 0);
	run(2000);
	CHECK_INT(holders(id), 6);
	/* every node verified it once, whatever the copies it got */
	uint64_t verifies = 0, dups = 0;
	for (int i = 0; i < net.n; i++) {
		engine_get_stats(net.e[i], &st);
		verifies += st.verifies;
		dups += st.records_dup;
	}
	CHECK_INT(verifies, 5);
	CHECK(dups > 0);
	/* a newer version replaces it everywhere; a tombstone deletes */
	uint8_t id2[32], id3[32];
	strcpy(b.svc.endpoint, "mx2.node1.example.io");
	CHECK_INT(engine_publish(net.e[2], KIND_SVC, "mail", &b, 3600, net.now, id2, NULL), 0);
	run(2000);
	CHECK_INT(holders(id2), 6);
	CHECK_INT(holders(id), 0);
	CHECK_INT(engine_publish(net.e[2], KIND_SVC, "mail", NULL, 3600, net.now, id3, NULL), 0);
	run(2000);
	CHECK_INT(holders(id3), 6);
	/* a bad body is refused with the proto error */
	int perr = 0;
	b.svc.service[0] = 0;
	CHECK_INT(engine_publish(net.e[2], KIND_SVC, "x", &b, 60, net.now, NULL, &perr), -EINVAL);
	CHECK_INT(perr, PROTO_ERR_FIELD_SIZE);
	teardown();
}

static void test_forged_and_untrusted(void)
{
	union body b;
	uint8_t body[MN_MAX_BODY], wire[MN_MAX_RECORD], id[32];
	size_t blen;
	struct record r;
	struct engine_stats st;

	setup(4, true);
	run(2000);
	/* a record by node 3 with a broken signature, sent by node 1 */
	sample_body(KIND_SVC, &b, 0);
	body_encode(KIND_SVC, &b, body, sizeof body, &blen);
	record_init(&r, KIND_SVC, net.k[3].pk, "x", 1, net.now / 1000 + 86400);
	r.body = body;
	r.body_len = blen;
	record_sign(&r, &net.k[3], wire, sizeof wire);
	wire[r.wire_len - 1] ^= 1;
	record_id(&r, id);
	uint8_t dg[ENGINE_MTU];
	struct wire_buf w;
	wire_buf_init(&w, dg, sizeof dg);
	wire_add_record(&w, wire, r.wire_len);
	for (int rep = 0; rep < 3; rep++)
		engine_recv(net.e[2], net.k[1].pk, dg, w.len, net.now);
	engine_get_stats(net.e[2], &st);
	CHECK_INT(st.bad_sig, 1);            /* verified once, remembered as bad */
	CHECK(!engine_has(net.e[2], id));

	/* a record from a key with no certificate waits, then is refused */
	struct node_key stranger;
	uint8_t seed[32] = { 0xee };
	node_key_from_seed(&stranger, seed);
	record_init(&r, KIND_SVC, stranger.pk, "y", 1, net.now / 1000 + 86400);
	r.body = body;
	r.body_len = blen;
	record_sign(&r, &stranger, wire, sizeof wire);
	record_id(&r, id);
	CHECK_INT(engine_insert(net.e[2], wire, r.wire_len, false, net.now), -EACCES);
	run(3000);
	for (int i = 0; i < 4; i++)
		CHECK(!engine_has(net.e[i], id));
	/* ... until the root certifies it: then it is accepted from the queue */
	union body cb;
	uint8_t cbody[MN_MAX_BODY], cwire[MN_MAX_RECORD];
	char key[65];
	memset(&cb, 0, sizeof cb);
	memcpy(cb.cert.subject, stranger.pk, 32);
	cb.cert.depth = 1;
	cb.cert.max_depth = 3;
	cb.cert.not_after = UINT64_MAX;
	body_encode(KIND_CERT, &cb, cbody, sizeof cbody, &blen);
	hex_encode(stranger.pk, 32, key);
	struct record c;
	record_init(&c, KIND_CERT, net.k[0].pk, key, 1, later_s());
	c.body = cbody;
	c.body_len = blen;
	record_sign(&c, &net.k[0], cwire, sizeof cwire);
	CHECK_INT(engine_insert(net.e[2], cwire, c.wire_len, false, net.now), 1);
	CHECK(engine_has(net.e[2], id));
	run(3000);
	CHECK_INT(holders(id), 4);
	/* a cert signed by a peer (not allowed to issue) is refused */
	record_init(&c, KIND_CERT, net.k[1].pk, key, 2, later_s());
	c.body = cbody;
	c.body_len = blen;
	cb.cert.depth = 2;
	body_encode(KIND_CERT, &cb, cbody, sizeof cbody, &blen);
	c.body_len = blen;
	record_sign(&c, &net.k[1], cwire, sizeof cwire);
	CHECK_INT(engine_insert(net.e[2], cwire, c.wire_len, false, net.now), -EACCES);
	node_key_wipe(&stranger);
	teardown();
}

static void test_revocation(void)
{
	union body b;
	uint8_t id[32], rid[32];

	setup(5, true);
	run(3000);
	sample_body(KIND_SVC, &b, 0);
	engine_publish(net.e[4], KIND_SVC, "mail", &b, 3600, net.now, id, NULL);
	run(2000);
	CHECK_INT(holders(id), 5);
	memset(&b, 0, sizeof b);
	memcpy(b.revoke.subject, net.k[4].pk, 32);
	strcpy(b.revoke.reason, "stolen");
	char key[65];
	hex_encode(net.k[4].pk, 32, key);
	CHECK_INT(engine_publish(net.e[0], KIND_REVOKE, key, &b, TEN_YEARS_S, net.now, rid, NULL), 0);
	run(3000);
	for (int i = 0; i < 4; i++) {
		CHECK(engine_has(net.e[i], rid));
		CHECK(!engine_has(net.e[i], id));
		CHECK_INT(net.revoked_cb[i], 1);
	}
	/* new records of the revoked node are refused */
	uint8_t id2[32];
	sample_body(KIND_SVC, &b, 0);
	engine_publish(net.e[4], KIND_SVC, "mail2", &b, 3600, net.now, id2, NULL);
	run(2000);
	CHECK_INT(holders(id2) - engine_has(net.e[4], id2), 0);
	/* a revoke signed by a non-ancestor is refused */
	memcpy(b.revoke.subject, net.k[3].pk, 32);
	strcpy(b.revoke.reason, "spite");
	hex_encode(net.k[3].pk, 32, key);
	uint8_t bad[32];
	engine_publish(net.e[2], KIND_REVOKE, key, &b, TEN_YEARS_S, net.now, bad, NULL);
	run(2000);
	CHECK(!engine_has(net.e[1], bad));
	teardown();
}

static void test_failure_detection(void)
{
	setup(5, false);
	run(5000);
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 5; j++)
			CHECK_INT(net.dead_seen[i][j], 0);
	net.down[3] = true;
	run(15000);
	for (int i = 0; i < 5; i++)
		if (i != 3)
			CHECK_INT(net.dead_seen[i][3], 1);
	/* it comes back: alive again everywhere (refutes the death) */
	net.down[3] = false;
	run(15000);
	struct engine_peer_info info[8];
	for (int i = 0; i < 5; i++) {
		if (i == 3)
			continue;
		size_t n = engine_peers(net.e[i], info, 8);
		for (size_t j = 0; j < n; j++)
			if (memcmp(info[j].pk, net.k[3].pk, 32) == 0)
				CHECK_STR(peer_state_name(info[j].state), "alive");
	}
	teardown();
}

/* Lifeguard's suspicion timeout (swim_suspicion_ms): from suspect_ms
 * without confirmations down to suspect_min_ms × log10(n) with three, by
 * log(c + 1) / log(k + 1); times 1 + LHM; a suspicion nobody could confirm
 * (n < 3) waits the longest. */
static void test_suspicion_arithmetic(void)
{
	static const struct { size_t n; unsigned c, lhm; uint64_t want; } v[] = {
		{ 10, 0, 0, 5000 }, { 10, 1, 0, 3000 }, { 10, 2, 0, 1830 }, { 10, 3, 0, 1000 },
		{ 10, 9, 0, 1000 }, { 5, 3, 0, 1000 }, { 100, 3, 0, 2000 }, { 100, 0, 0, 5000 },
		{ 30, 3, 0, 1477 }, { 1000, 3, 0, 3000 }, { 10, 3, 2, 3000 }, { 10, 0, 1, 10000 },
		/* n = 3: one other member, so one confirmation is all there can be */
		{ 3, 0, 0, 5000 }, { 3, 1, 0, 1000 },
		/* n = 4: two */
		{ 4, 1, 0, 2477 }, { 4, 2, 0, 1000 },
		{ 2, 0, 0, 5000 }, { 2, 5, 0, 5000 }, { 1, 0, 0, 5000 },
	};

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		uint64_t t = swim_suspicion_ms(1000, 5000, v[i].n, v[i].c, v[i].lhm);
		/* fixed-point logarithms: within 2 ms */
		if (t + 2 < v[i].want || t > v[i].want + 2)
			fprintf(stderr, "n %zu c %u lhm %u: %llu ms, want %llu\n", v[i].n, v[i].c,
				v[i].lhm, (unsigned long long)t, (unsigned long long)v[i].want);
		CHECK(t + 2 >= v[i].want && t <= v[i].want + 2);
	}
	/* never longer with more confirmations, never below the minimum */
	for (size_t n = 3; n < 2000; n += 97)
		for (unsigned c = 0; c < 6; c++) {
			uint64_t a = swim_suspicion_ms(800, 7000, n, c, 0);
			CHECK(swim_suspicion_ms(800, 7000, n, c + 1, 0) <= a);
			CHECK(a >= 800);
		}
	/* a minimum above the maximum (large n, or suspect_min_ms above
	 * suspect_ms) is both */
	CHECK_INT(swim_suspicion_ms(3000, 5000, 100, 0, 0), 6000);
	CHECK_INT(swim_suspicion_ms(3000, 5000, 100, 3, 0), 6000);
	CHECK_INT(swim_suspicion_ms(9000, 5000, 10, 0, 0), 9000);
}

/* A crash in an 8-node mesh: the first prober's suspicion is passed on,
 * checked and confirmed by the others, so that it runs the short,
 * confirmed timeout everywhere: every survivor has it dead well within
 * the unconfirmed suspect_ms (5 s) alone; nobody else is declared dead. */
static void test_confirmed_suspicion(void)
{
	setup(8, false);
	run(30000);
	net.down[5] = true;
	run(4500);
	for (int i = 0; i < 8; i++) {
		for (int j = 0; j < 8; j++)
			CHECK_INT(net.dead_seen[i][j], i != 5 && j == 5);
	}
	teardown();
}

/* Lifeguard's local health: a node that hears nothing (its probes all fail,
 * and no helper's NACK reaches it) raises its multiplier and so probes and
 * suspects more slowly: within 8 s it has declared nobody dead (a lone
 * suspicion at the normal pace would have run out after 5 s); when it hears
 * again it refutes and its health comes back. */
static void test_local_health(void)
{
	struct engine_stats st;

	setup(6, false);
	run(30000);
	engine_get_stats(net.e[2], &st);
	CHECK_INT(st.local_health, 0);
	net.deaf[2] = true;
	run(8000);
	engine_get_stats(net.e[2], &st);
	CHECK(st.local_health >= 1);
	for (int j = 0; j < 6; j++)
		CHECK_INT(net.dead_seen[2][j], 0);
	net.deaf[2] = false;
	run(120000);
	engine_get_stats(net.e[2], &st);
	CHECK_INT(st.local_health, 0);
	CHECK_INT(st.dead, 0);
	teardown();
}

static void count_reset(void)
{
	net.pings = net.pingacks = net.pingacks_small = net.streams = net.sync_dgrams = 0;
}

/* Idle: members that ping us are not pinged back within the round, so the
 * five nodes send fewer PINGs than one per node per period; PING and ACK
 * are 4-byte datagrams; anti-entropy opens with datagrams and slows down.
 * A crash is still found by everyone. */
static void test_idle_traffic(void)
{
	setup(5, false);
	run(60000);
	count_reset();
	run(100000);   /* 100 periods of 5 nodes: 500 PINGs without the skipping */
	CHECK(net.pings > 0 && net.pings < 400);
	CHECK(net.pingacks > 0);
	CHECK_INT(net.pingacks_small, net.pingacks);
	CHECK_INT(net.streams, 0);
	/* rounds every 10 s would be 50; stretched to 40 s about 13 */
	CHECK(net.sync_dgrams > 0 && net.sync_dgrams < 25);
	net.down[2] = true;
	run(20000);
	for (int i = 0; i < 5; i++)
		if (i != 2)
			CHECK_INT(net.dead_seen[i][2], 1);
	teardown();
}

/* A PING without an incarnation (the steady-state form) is answered with
 * an ACK of the same seq; our ACK for a PING carries our incarnation until
 * the peer has acknowledged it. */
static void test_ping_short_form(void)
{
	static const uint8_t ping[] = { WIRE_VERSION, 0x92, W_PING, 0x05 };
	struct wire_iter it;
	struct wire_frame f;
	bool acked = false;

	setup(3, false);
	CHECK_INT(engine_recv(net.e[0], net.k[1].pk, ping, sizeof ping, net.now), 0);
	for (size_t i = 0; i < net.qn; i++) {
		struct msg *m = &net.q[(net.qhead + i) % QCAP];
		if (m->from != 0 || m->to != 1 || wire_begin(&it, m->buf, m->len) < 0)
			continue;
		while (wire_next(&it, &f) == 1)
			if (f.type == W_ACK && f.a == 5 && f.b != 0)
				acked = true;
	}
	CHECK(acked);
	teardown();
}

static void test_sync_catches_up(void)
{
	union body b;
	uint8_t ids[40][32];
	struct engine_stats st;

	setup(4, true);
	run(3000);
	net.down[3] = true;
	sample_body(KIND_SVC, &b, 0);
	for (int i = 0; i < 40; i++) {
		char key[16];
		snprintf(key, sizeof key, "k%d", i);
		engine_publish(net.e[1 + i % 2], KIND_SVC, key, &b, 3600, net.now, ids[i], NULL);
		run(50);
	}
	run(3000);
	net.down[3] = false;
	run(25000);   /* at least one sync period */
	int have = 0;
	for (int i = 0; i < 40; i++)
		have += engine_has(net.e[3], ids[i]);
	CHECK_INT(have, 40);
	uint8_t d0[32], d3[32];
	engine_digest(net.e[0], d0);
	engine_digest(net.e[3], d3);
	CHECK_MEM(d0, d3, 32);
	engine_get_stats(net.e[3], &st);
	CHECK(st.sync_rounds > 0);
	teardown();
}

static void test_bad_input(void)
{
	struct engine_stats st;

	setup(3, true);
	run(2000);
	static const uint8_t junk[][8] = {
		{ 0 }, { 0x4d }, { 0x4d, 0x91, 0x63 }, { 0x4d, 0x92, 0x01, 0xc0 },
		{ 0x4d, 0xdd, 0xff, 0xff, 0xff, 0xff }, { 0x4d, 0x93, 0x07, 0x01 },
	};
	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
		engine_recv(net.e[0], net.k[1].pk, junk[i], i + 1 < 3 ? i + 1 : 6, net.now);
	engine_get_stats(net.e[0], &st);
	CHECK(st.malformed >= 4);
	/* enough of it and the peer is graylisted; the others keep working */
	for (int i = 0; i < 10; i++)
		engine_recv(net.e[0], net.k[1].pk, junk[2], 3, net.now);
	struct engine_peer_info info[4];
	size_t n = engine_peers(net.e[0], info, 4);
	bool gray = false;
	for (size_t j = 0; j < n; j++)
		if (memcmp(info[j].pk, net.k[1].pk, 32) == 0)
			gray = info[j].graylisted;
	CHECK(gray);
	union body b;
	uint8_t id[32];
	sample_body(KIND_SVC, &b, 0);
	engine_publish(net.e[2], KIND_SVC, "after", &b, 3600, net.now, id, NULL);
	run(2000);
	CHECK(engine_has(net.e[0], id));
	/* a flood above the per-peer rate is cut off */
	uint8_t dg[64];
	struct wire_buf w;
	wire_buf_init(&w, dg, sizeof dg);
	wire_add_simple(&w, W_GRAFT, 0, 0, NULL);
	for (int i = 0; i < 5000; i++)
		engine_recv(net.e[1], net.k[2].pk, dg, w.len, net.now);
	engine_get_stats(net.e[1], &st);
	CHECK(st.rate_limited > 0);
	teardown();
}


/* A svc record signed by k (version, expires), its body padded with
 * attributes to about `size` bytes (at least ~60): the wire length. */
static size_t sign_svc(const struct node_key *k, const char *rkey, size_t size, uint64_t version,
		       uint64_t expires, uint8_t *out, uint8_t id[32])
{
	union body b;
	uint8_t body[MN_MAX_BODY];
	size_t blen = 0;
	struct record r;

	memset(&b, 0, sizeof b);
	strcpy(b.svc.service, "app");
	for (size_t left = size > 80 ? size - 80 : 0; left > 8 && b.svc.n_attrs < MN_MAX_ATTRS;
	     b.svc.n_attrs++) {
		size_t n = left - 6 < MN_MAX_TEXT ? left - 6 : MN_MAX_TEXT;
		snprintf(b.svc.attrs[b.svc.n_attrs].k, sizeof b.svc.attrs[0].k, "a");
		sample_str(b.svc.attrs[b.svc.n_attrs].v, n, 'v');
		left -= n + 6;
	}
	body_encode(KIND_SVC, &b, body, sizeof body, &blen);
	record_init(&r, KIND_SVC, k->pk, rkey, version, expires);
	r.body = body;
	r.body_len = blen;
	record_sign(&r, k, out, MN_MAX_RECORD);
	if (id)
		record_id(&r, id);
	return r.wire_len;
}

/* a tombstone for (svc, rkey) of k */
static size_t sign_tomb(const struct node_key *k, const char *rkey, uint64_t version,
			uint64_t expires, uint8_t *out, uint8_t id[32])
{
	struct record r;

	record_init(&r, KIND_SVC, k->pk, rkey, version, expires);
	record_sign(&r, k, out, MN_MAX_RECORD);
	record_id(&r, id);
	return r.wire_len;
}

/* a cert by the root for a fresh key (seed s) */
static size_t sign_cert_for(uint8_t s, uint8_t *out, uint8_t pk[32])
{
	struct node_key nk;
	uint8_t seed[32] = { s };
	union body b;
	uint8_t body[MN_MAX_BODY];
	size_t blen;
	struct record r;
	char key[65];

	node_key_from_seed(&nk, seed);
	memcpy(pk, nk.pk, 32);
	memset(&b, 0, sizeof b);
	memcpy(b.cert.subject, nk.pk, 32);
	b.cert.depth = 1;
	b.cert.max_depth = 3;
	b.cert.not_after = later_s();
	body_encode(KIND_CERT, &b, body, sizeof body, &blen);
	hex_encode(nk.pk, 32, key);
	record_init(&r, KIND_CERT, net.k[0].pk, key, 1, later_s());
	r.body = body;
	r.body_len = blen;
	record_sign(&r, &net.k[0], out, MN_MAX_RECORD);
	node_key_wipe(&nk);
	return r.wire_len;
}

/* n svc records "<prefix><i>" of about size bytes, signed in turn by
 * nodes a and b, inserted into e: how many were taken and refused. */
static void flood(struct engine *e, int a, int b, const char *prefix, int n, size_t size,
		  int *ok, int *refused)
{
	uint8_t w[MN_MAX_RECORD];
	char key[32];

	*ok = *refused = 0;
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof key, "%s%d", prefix, i);
		size_t len = sign_svc(&net.k[i % 2 ? b : a], key, size, net.now * 1000,
				      net.now / 1000 + 3600, w, NULL);
		int rc = engine_insert(e, w, len, false, net.now);
		*ok += rc == 1;
		*refused += rc == -ENOSPC;
	}
}

static void small_origin_budget(struct engine_config *c)
{
	c->max_per_origin = 6;
	c->max_bytes_per_origin = 16384;
}

/* A new member of a mesh of 5 000 records: the first round it opens is
 * answered (a range it holds few of and the other side more than one LIST
 * carries is split; such a LIST used to be dropped, and the member waited
 * for the other side's own round, up to sync_ms), a push its allowance
 * cut short goes on by itself (sync_resumed), and it holds everything
 * within a few seconds, not sync_ms per allowance. */
static void test_sync_join_large(void)
{
	static uint8_t ids[5000][32];
	uint8_t w[MN_MAX_RECORD];
	struct engine_stats st;

	setup(3, true);
	net.down[2] = true;
	run(2000);
	for (int i = 0; i < 5000; i++) {
		char key[16];
		snprintf(key, sizeof key, "big%d", i);
		size_t len = sign_svc(&net.k[0], key, 200, net.now * 1000 + (uint64_t)i,
				      net.now / 1000 + 3600, w, ids[i]);
		CHECK_INT(engine_insert(net.e[0], w, len, true, net.now), 1);
		CHECK_INT(engine_insert(net.e[1], w, len, true, net.now), 1);
	}
	net.down[2] = false;
	int have = 0;
	for (int t = 0; t < 3 && have == 0; t++) {   /* its first round: within 1.5 s */
		run(500);
		have = 0;
		for (int i = 0; i < 5000; i++)
			have += engine_has(net.e[2], ids[i]);
	}
	CHECK(have > 1000);
	run(6000);
	have = 0;
	for (int i = 0; i < 5000; i++)
		have += engine_has(net.e[2], ids[i]);
	CHECK_INT(have, 5000);
	uint64_t resumed = 0;
	for (int i = 0; i < 2; i++) {
		engine_get_stats(net.e[i], &st);
		resumed += st.sync_resumed;
	}
	CHECK(resumed > 0);
	teardown();
}

static int count_visit(void *ctx, const struct record *r, const uint8_t id[32])
{
	(void)r; (void)id;
	(*(int *)ctx)++;
	return 0;
}

/* per key "s<i>", how many times a walk gave it */
static int tally_key(void *ctx, const struct record *r, const uint8_t id[32])
{
	(void)id;
	if (r->key[0] == 's')
		((int *)ctx)[atoi(r->key + 1)]++;
	return 0;
}

static int key_of(void *ctx, const struct record *r, const uint8_t id[32])
{
	(void)id;
	snprintf(ctx, 16, "%.15s", r->key);
	return 7;
}

/* Records the driver's store holds leave memory (engine_stored) and are
 * read back when needed: served to a new member by anti-entropy, found by
 * id, visited by kind, replaced by a new version of their key. A store
 * that cannot give one back costs that record only (load_errors). */
static void test_stored_records(void)
{
	enum { N = 300 };
	static uint8_t ids[N][32];
	uint8_t w[MN_MAX_RECORD], nid[32];
	struct engine_stats st;
	char key[16];
	int n;

	use_ops = &ops_load;
	memset(&st_rows, 0, sizeof st_rows);
	setup(3, true);
	net.down[2] = true;
	run(2000);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof key, "s%d", i);
		size_t len = sign_svc(&net.k[0], key, 150, net.now * 1000 + (uint64_t)i,
				      net.now / 1000 + 3600, w, ids[i]);
		st_rows.wire[i] = malloc(len);
		memcpy(st_rows.wire[i], w, len);
		st_rows.len[i] = len;
		memcpy(st_rows.id[i], ids[i], 32);
		st_rows.n = i + 1;
		for (int e = 0; e < 2; e++) {
			CHECK_INT(engine_insert(net.e[e], w, len, true, net.now), 1);
			engine_stored(net.e[e], ids[i], i + 1);
		}
	}
	CHECK_INT(st_rows.loads, 0);
	/* found by id, visited by kind and origin: read back */
	CHECK_INT(engine_find(net.e[0], ids[17], key_of, key), 7);
	CHECK_STR(key, "s17");
	n = 0;
	engine_each_record(net.e[0], KIND_BIT(KIND_SVC), net.k[0].pk, count_visit, &n);
	CHECK_INT(n, N);
	int loads = st_rows.loads;
	n = 0;
	engine_each_record(net.e[0], KIND_BIT(KIND_NODE) | KIND_BIT(KIND_IOC), NULL, count_visit, &n);
	CHECK_INT(n, 0);
	CHECK_INT(st_rows.loads, loads);   /* other kinds: nothing read */
	n = 0;
	engine_each_record(net.e[0], 0, NULL, count_visit, &n);
	CHECK_INT(n, N + 2);   /* and the two certs */
	/* a page at a time (the API's records answer: pages of 2,000 wire bytes,
	 * ~8 records here): every one once, then the end */
	static int tally[N];
	uint64_t from = 0;
	int pages = 0, rc;
	while ((rc = engine_each_record_from(net.e[0], KIND_BIT(KIND_SVC), NULL, &from, 2000,
					     tally_key, tally)) == 1)
		pages++;
	CHECK_INT(rc, 0);
	CHECK(pages >= N / 12 && pages <= N / 6);
	n = 0;
	for (int i = 0; i < N; i++)
		n += tally[i] == 1;
	CHECK_INT(n, N);
	from = 0;
	CHECK_INT(engine_each_record_from(net.e[0], KIND_BIT(KIND_NODE), NULL, &from, 7, tally_key,
					  tally), 0);   /* none of that kind: the end at once */
	/* a new version of s5 replaces the stored one (its key read back) */
	size_t len = sign_svc(&net.k[0], "s5", 150, net.now * 1000 + 1000000, net.now / 1000 + 3600,
			      w, nid);
	CHECK_INT(engine_insert(net.e[0], w, len, false, net.now), 1);
	CHECK(engine_has(net.e[0], nid) && !engine_has(net.e[0], ids[5]));
	n = 0;
	engine_each_record(net.e[0], KIND_BIT(KIND_SVC), NULL, count_visit, &n);
	CHECK_INT(n, N);
	run(2000);   /* node 1 gets it by gossip */
	CHECK(engine_has(net.e[1], nid));
	/* a store that fails: that record is not found, counted, no harm */
	st_rows.fail = true;
	CHECK_INT(engine_find(net.e[0], ids[17], key_of, key), -ENOENT);
	engine_get_stats(net.e[0], &st);
	CHECK(st.load_errors > 0);
	CHECK(engine_has(net.e[0], ids[17]));
	st_rows.fail = false;
	/* a new member catches up from stored records */
	loads = st_rows.loads;
	net.down[2] = false;
	run(8000);
	int have = 0;
	for (int i = 0; i < N; i++)
		have += i == 5 ? engine_has(net.e[2], nid) : engine_has(net.e[2], ids[i]);
	CHECK_INT(have, N);
	CHECK(st_rows.loads > loads);
	uint8_t d0[32], d2[32];
	engine_digest(net.e[0], d0);
	engine_digest(net.e[2], d2);
	CHECK_MEM(d0, d2, 32);
	teardown();
	for (int i = 0; i < st_rows.n; i++)
		free(st_rows.wire[i]);
	use_ops = &ops;
}

/* A node that heard of a record from one peer only, whose answer to its
 * IWANT was lost, asks that peer again once the answer is overdue (one
 * and a half round trips and 50 ms), not a heartbeat or an anti-entropy
 * round later. */
static void test_iwant_asked_again(void)
{
	uint8_t w[MN_MAX_RECORD], id[32], dg[ENGINE_MTU];
	struct wire_buf wb;
	struct engine_stats st0, st;

	setup(2, true);
	run(2000);
	size_t len = sign_svc(&net.k[0], "once", 150, net.now * 1000, net.now / 1000 + 3600, w, id);
	CHECK_INT(engine_insert(net.e[0], w, len, true, net.now), 1);   /* as from its store */
	run(50);
	CHECK(!engine_has(net.e[1], id));
	engine_get_stats(net.e[1], &st0);
	wire_buf_init(&wb, dg, sizeof dg);
	wire_add_ids(&wb, W_IHAVE, id, 1);
	net.drop_recs = 1;
	net.drop_to = 1;
	engine_recv(net.e[1], net.k[0].pk, dg, wb.len, net.now);
	net.next_tick[1] = net.now;
	run(700);
	CHECK_INT(net.drop_recs, 0);   /* the first answer was lost */
	CHECK(engine_has(net.e[1], id));
	engine_get_stats(net.e[1], &st);
	CHECK_INT((int)(st.iwant_sent - st0.iwant_sent), 2);
	teardown();
}

/* An IWANT answered with a record whose origin's certificate we lack yet:
 * the record waits for it, and the peer kept its promise (not asked again,
 * not held to it). */
static void test_iwant_parked_kept(void)
{
	uint8_t w[MN_MAX_RECORD], id[32], dg[ENGINE_MTU], pk[32], seed[32] = { 0x53 };
	struct node_key nk;
	struct wire_buf wb;
	struct engine_stats st0, st;

	setup(2, true);
	run(2000);
	size_t len = sign_cert_for(0x53, w, pk);
	CHECK_INT(engine_insert(net.e[0], w, len, true, net.now), 1);
	node_key_from_seed(&nk, seed);
	len = sign_svc(&nk, "parked", 150, net.now * 1000, net.now / 1000 + 3600, w, id);
	CHECK_INT(engine_insert(net.e[0], w, len, true, net.now), 1);
	run(50);
	engine_get_stats(net.e[1], &st0);
	wire_buf_init(&wb, dg, sizeof dg);
	wire_add_ids(&wb, W_IHAVE, id, 1);
	engine_recv(net.e[1], net.k[0].pk, dg, wb.len, net.now);
	net.next_tick[1] = net.now;
	run(1500);
	engine_get_stats(net.e[1], &st);
	CHECK(!engine_has(net.e[1], id));   /* waiting for the certificate */
	CHECK_INT((int)(st.iwant_sent - st0.iwant_sent), 1);
	node_key_wipe(&nk);
	teardown();
}

/* One member publishes until refused: the per-origin byte budget stops it,
 * the refusals are counted, other members are unaffected, a replacement
 * that does not grow and a tombstone still get in; the count budget stops
 * many small records. */
static void test_budget_per_origin(void)
{
	uint8_t w[MN_MAX_RECORD], id[32];
	struct engine_stats st;
	char key[16];
	size_t len;
	int ok = 0, refused = 0;

	tweak = small_origin_budget;
	setup(4, true);
	struct engine *e = net.e[2];
	uint64_t v = net.now * 1000, exp = net.now / 1000 + 3600;
	flood(e, 1, 1, "big", 5, 4000, &ok, &refused);   /* the fifth is over 16 KiB */
	CHECK_INT(ok, 4);
	CHECK_INT(refused, 1);
	engine_get_stats(e, &st);
	CHECK_INT(st.over_origin_budget, 1);
	CHECK_INT(st.over_total_budget, 0);
	CHECK_INT(st.verifies, 4);   /* the refused one cost no verification */
	struct engine_peer_info info[8];
	size_t n = engine_peers(e, info, 8);
	for (size_t j = 0; j < n; j++)
		if (memcmp(info[j].pk, net.k[1].pk, 32) == 0) {
			CHECK_INT(info[j].records, 4);
			CHECK(info[j].record_bytes <= 16384 && info[j].record_bytes > 15000);
		}
	/* growing a held record past the budget is refused; shrinking it is not */
	len = sign_svc(&net.k[1], "big0", 7000, v + 1, exp, w, NULL);
	CHECK_INT(engine_insert(e, w, len, false, net.now), -ENOSPC);
	len = sign_svc(&net.k[1], "big0", 100, v + 2, exp, w, NULL);
	CHECK_INT(engine_insert(e, w, len, false, net.now), 1);
	/* a tombstone of a held key always gets in */
	len = sign_tomb(&net.k[1], "big1", v + 3, exp, w, id);
	CHECK_INT(engine_insert(e, w, len, false, net.now), 1);
	/* another member is not affected */
	len = sign_svc(&net.k[3], "big0", 4000, v, exp, w, id);
	CHECK_INT(engine_insert(e, w, len, false, net.now), 1);
	/* the count: small records up to 6 per origin */
	flood(e, 3, 3, "small", 8, 60, &ok, &refused);
	CHECK_INT(ok, 5);   /* 1 + 5 = 6 */
	CHECK_INT(refused, 3);
	engine_get_stats(e, &st);
	CHECK_INT(st.over_origin_budget, 2 + 3);
	/* our own publishes obey the budget too (others would refuse them) */
	union body b;
	sample_body(KIND_SVC, &b, 0);
	for (int i = 0; i < 7; i++) {
		snprintf(key, sizeof key, "own%d", i);
		CHECK_INT(engine_publish(net.e[3], KIND_SVC, key, &b, 3600, net.now, NULL, NULL),
			  i < 6 ? 0 : -ENOSPC);
	}
	teardown();
	tweak = NULL;
}

static void small_total_budget(struct engine_config *c)
{
	c->max_records = 8;           /* 3 certs + 5 */
	c->max_bytes = 3 * 8192;
}

/* Past 3/4 of the global caps, an origin over its fair share (the caps
 * divided among the origins holding records) is refused; at the full caps
 * everyone is (both counted); certificates and revocations still get in. */
static void test_budget_total(void)
{
	uint8_t w[MN_MAX_RECORD], pk[32];
	struct engine_stats st;
	size_t len;
	int ok = 0, refused = 0;

	tweak = small_total_budget;
	setup(4, true);   /* each node holds the 3 member certs */
	struct engine *e = net.e[2];
	uint64_t v = net.now * 1000;
	flood(e, 1, 3, "k", 8, 60, &ok, &refused);
	/* 3 certs + 3 = 6 of 8: then the share of each of the 3 holders (the
	 * root's certs, 1 and 3) is 8 / 3 = 2: one more for 3, none for 1 */
	CHECK_INT(ok, 4);
	CHECK_INT(refused, 4);
	engine_get_stats(e, &st);
	CHECK_INT(st.over_fair_share, 4);
	CHECK_INT(st.over_total_budget, 0);
	CHECK_INT(st.over_origin_budget, 0);
	/* a member that held nothing gets its record in, up to the full cap */
	len = sign_svc(&net.k[2], "quiet0", 60, v, net.now / 1000 + 3600, w, NULL);
	CHECK_INT(engine_insert(e, w, len, false, net.now), 1);
	len = sign_svc(&net.k[2], "quiet1", 60, v, net.now / 1000 + 3600, w, NULL);
	CHECK_INT(engine_insert(e, w, len, false, net.now), -ENOSPC);
	engine_get_stats(e, &st);
	CHECK_INT(st.over_total_budget, 1);
	/* a new member's certificate still gets in */
	len = sign_cert_for(0x51, w, pk);
	CHECK_INT(engine_insert(e, w, len, false, net.now), 1);
	/* and a revocation too, which drops the revoked node's records */
	union body b;
	uint8_t body[MN_MAX_BODY];
	size_t blen;
	struct record r;
	char hex[65];
	memset(&b, 0, sizeof b);
	memcpy(b.revoke.subject, net.k[3].pk, 32);
	strcpy(b.revoke.reason, "hog");
	b.revoke.time = net.now / 1000;
	body_encode(KIND_REVOKE, &b, body, sizeof body, &blen);
	hex_encode(net.k[3].pk, 32, hex);
	record_init(&r, KIND_REVOKE, net.k[0].pk, hex, v, later_s());
	r.body = body;
	r.body_len = blen;
	record_sign(&r, &net.k[0], w, sizeof w);
	CHECK_INT(engine_insert(e, w, r.wire_len, false, net.now), 1);
	CHECK(engine_is_revoked(e, net.k[3].pk));
	engine_get_stats(e, &st);
	CHECK_INT(st.records, 3 + 2 + 1 + 2);   /* 3 certs, 1's and 2's records, 2 new; 3's are gone */
	teardown();
	tweak = NULL;
}

static void small_total_bytes(struct engine_config *c)
{
	c->max_bytes = 2 * 8192;
}

/* The byte caps: large records from two members stop at their fair share
 * once the total is 3/4 full; the root's (exempt from shares) at max_bytes. */
static void test_budget_total_bytes(void)
{
	struct engine_stats st;
	int ok = 0, refused = 0;

	tweak = small_total_bytes;
	setup(4, true);
	flood(net.e[3], 1, 2, "big", 6, 7000, &ok, &refused);
	/* 3 certs (~300 B) + 2 × ~4.2 KB; a third would pass 12 KiB, and each
	 * of the 3 holders' share is 16 KiB / 3 */
	CHECK_INT(ok, 2);
	CHECK_INT(refused, 4);
	engine_get_stats(net.e[3], &st);
	CHECK_INT(st.over_fair_share, 4);
	CHECK_INT(st.over_total_budget, 0);
	flood(net.e[3], 0, 0, "root", 3, 7000, &ok, &refused);
	CHECK_INT(ok, 1);
	CHECK_INT(refused, 2);
	engine_get_stats(net.e[3], &st);
	CHECK_INT(st.over_total_budget, 2);
	CHECK(st.record_bytes <= 2 * 8192);
	teardown();
	tweak = NULL;
}

/* A tombstone lives at least as long as the record it deletes: at a node
 * that held the record (its expiry raised on arrival), and everywhere when
 * the engine makes it (engine_publish signs it with the longer expiry). */
static void test_tombstone_outlives(void)
{
	uint8_t w[MN_MAX_RECORD], rid[32], tid[32], pid[32];
	size_t len;

	setup(3, true);
	run(2000);
	uint64_t v = net.now * 1000, now_s = net.now / 1000;
	len = sign_svc(&net.k[1], "gone", 100, v, now_s + 86400, w, rid);
	CHECK_INT(engine_insert(net.e[2], w, len, false, net.now), 1);
	/* a tombstone signed to expire in 30 s */
	len = sign_tomb(&net.k[1], "gone", v + 1, now_s + 30, w, tid);
	CHECK_INT(engine_insert(net.e[2], w, len, false, net.now), 1);
	/* published: a day-long record deleted by a 30 s tombstone */
	union body b;
	sample_body(KIND_SVC, &b, 0);
	CHECK_INT(engine_publish(net.e[1], KIND_SVC, "pub", &b, 86400, net.now, NULL, NULL), 0);
	run(2000);
	CHECK_INT(engine_publish(net.e[1], KIND_SVC, "pub", NULL, 30, net.now, pid, NULL), 0);
	run(2000);
	CHECK_INT(holders(pid), 3);
	run(60000);   /* past both tombstones' own expiries, several sweeps */
	CHECK(engine_has(net.e[2], tid));
	CHECK_INT(holders(pid), 3);
	/* the deleted record, sent again, does not come back */
	len = sign_svc(&net.k[1], "gone", 100, v, now_s + 86400, w, rid);
	engine_insert(net.e[2], w, len, false, net.now);
	CHECK(!engine_has(net.e[2], rid));
	teardown();
}

/* Versions, expiries and endpoint observation times too far ahead are
 * refused and counted; from the store they are taken (a clock set back
 * must not make held records vanish). */
static void test_future_refused(void)
{
	uint8_t w[MN_MAX_RECORD], pk[32];
	struct engine_stats st;
	size_t len;

	setup(3, true);
	struct engine *e = net.e[2];
	uint64_t now_s = net.now / 1000, v = net.now * 1000, exp = now_s + 3600;
	/* version an hour ahead (µs), and 2^64-1 */
	len = sign_svc(&net.k[1], "v1", 100, (net.now + 3600000) * 1000, exp, w, NULL);
	CHECK_INT(engine_insert(e, w, len, false, net.now), -ERANGE);
	len = sign_svc(&net.k[1], "v2", 100, UINT64_MAX, exp, w, NULL);
	CHECK_INT(engine_insert(e, w, len, false, net.now), -ERANGE);
	/* a minute ahead is within the skew */
	len = sign_svc(&net.k[1], "v3", 100, (net.now + 60000) * 1000, exp, w, NULL);
	CHECK_INT(engine_insert(e, w, len, false, net.now), 1);
	/* a svc record expiring in 10 years; a cert may */
	len = sign_svc(&net.k[1], "v4", 100, v, later_s(), w, NULL);
	CHECK_INT(engine_insert(e, w, len, false, net.now), -ERANGE);
	len = sign_cert_for(0x52, w, pk);
	CHECK_INT(engine_insert(e, w, len, false, net.now), 1);
	/* our own publish with too long a life is refused before it leaves */
	union body b;
	sample_body(KIND_SVC, &b, 0);
	CHECK_INT(engine_publish(net.e[1], KIND_SVC, "long", &b, 5ull * 365 * 86400, net.now,
				 NULL, NULL), -ERANGE);
	/* endpoint observations dated an hour ahead would never age */
	uint8_t body[MN_MAX_BODY];
	size_t blen;
	struct record r;
	sample_body(KIND_ENDPOINT, &b, 0);
	b.endpoint.seen[0].at = now_s;
	b.endpoint.seen[1].at = now_s + 3600;
	body_encode(KIND_ENDPOINT, &b, body, sizeof body, &blen);
	record_init(&r, KIND_ENDPOINT, net.k[1].pk, "seen", v, exp);
	r.body = body;
	r.body_len = blen;
	record_sign(&r, &net.k[1], w, sizeof w);
	CHECK_INT(engine_insert(e, w, r.wire_len, false, net.now), -ERANGE);
	b.endpoint.seen[1].at = now_s - 10;
	body_encode(KIND_ENDPOINT, &b, body, sizeof body, &blen);
	record_init(&r, KIND_ENDPOINT, net.k[1].pk, "seen", v, exp);
	r.body = body;
	r.body_len = blen;
	record_sign(&r, &net.k[1], w, sizeof w);
	CHECK_INT(engine_insert(e, w, r.wire_len, false, net.now), 1);
	engine_get_stats(e, &st);
	CHECK_INT(st.future, 4);
	/* from the store (a record taken in before the clock was set back) */
	len = sign_svc(&net.k[1], "v5", 100, (net.now + 3600000) * 1000, exp, w, NULL);
	CHECK_INT(engine_insert(e, w, len, true, net.now), 1);
	teardown();
}

/* Strangers: a key that is neither a peer nor certified takes no slot and
 * leaves no state; a member's key only claimed (engine_recv_claimed)
 * carries garbage, IHAVEs nobody serves and floods without costing the
 * member anything, and a certified newcomer is still taken. */
static void test_strangers_and_claims(void)
{
	struct engine_stats st;
	static const uint8_t junk[3] = { 0x4d, 0x91, 0x63 };
	uint8_t dg[ENGINE_MTU], ids[8 * WIRE_ID_LEN];
	struct wire_buf w;

	setup(4, true);
	run(2000);
	/* 2 000 random keys: no peer entry, counted */
	for (int i = 0; i < 2000; i++) {
		uint8_t pk[32];
		for (int k = 0; k < 32; k++)
			pk[k] = (uint8_t)op_random(NULL);
		CHECK_INT(engine_recv_claimed(net.e[0], pk, junk, sizeof junk, net.now), -EACCES);
		CHECK_INT(engine_recv(net.e[0], pk, junk, sizeof junk, net.now), -EACCES);
	}
	engine_get_stats(net.e[0], &st);
	CHECK_INT(st.peers, 3);
	CHECK_INT(st.strangers, 4000);
	CHECK_INT(st.malformed, 0);
	/* a member's key claimed: garbage, unserved IHAVEs, a flood */
	wire_buf_init(&w, dg, sizeof dg);
	for (size_t k = 0; k < sizeof ids; k++)
		ids[k] = (uint8_t)op_random(NULL);
	wire_add_ids(&w, W_IHAVE, ids, 8);
	for (int i = 0; i < 200; i++) {
		engine_recv_claimed(net.e[0], net.k[1].pk, junk, sizeof junk, net.now);
		engine_recv_claimed(net.e[0], net.k[1].pk, dg, w.len, net.now);
	}
	for (int i = 0; i < 5000; i++)
		engine_recv_claimed(net.e[0], net.k[1].pk, dg, w.len, net.now);
	run(3000);
	struct engine_peer_info info[4];
	size_t n = engine_peers(net.e[0], info, 4);
	for (size_t j = 0; j < n; j++)
		if (memcmp(info[j].pk, net.k[1].pk, 32) == 0) {
			CHECK(!info[j].graylisted);
			CHECK(info[j].score >= 0);
		}
	engine_get_stats(net.e[0], &st);
	CHECK(st.unattributed > 0);
	CHECK(st.rate_limited > 0);
	/* the member's own messages still go through */
	union body b;
	uint8_t id[32];
	sample_body(KIND_SVC, &b, 0);
	engine_publish(net.e[1], KIND_SVC, "still", &b, 3600, net.now, id, NULL);
	run(2000);
	CHECK(engine_has(net.e[0], id));
	teardown();

	/* a certified key not added as a peer is taken on its first message */
	setup(3, true);
	struct engine_config cfg;
	engine_config_default(&cfg);
	cfg.root = net.k[0].pk;
	struct engine *lone = engine_new(&cfg, &net.k[2], &ops, (void *)(intptr_t)2, net.now);
	CHECK(lone != NULL);
	uint8_t cw[MN_MAX_RECORD];
	size_t cl = make_cert(1, cw);
	CHECK_INT(engine_insert(lone, cw, cl, true, net.now), 1);
	wire_buf_init(&w, dg, sizeof dg);
	wire_add_simple(&w, W_PING, 1, 0, NULL);
	CHECK_INT(engine_recv(lone, net.k[1].pk, dg, w.len, net.now), 0);
	engine_get_stats(lone, &st);
	CHECK_INT(st.peers, 1);
	CHECK_INT(st.strangers, 0);
	engine_free(lone);
	/* ... or when it presents its certificate in the message (trust_present) */
	lone = engine_new(&cfg, &net.k[2], &ops, (void *)(intptr_t)2, net.now);
	CHECK(lone != NULL);
	CHECK_INT(engine_recv(lone, net.k[1].pk, dg, w.len, net.now), -EACCES);
	wire_buf_init(&w, dg, sizeof dg);
	wire_add_record(&w, cw, cl);
	wire_add_simple(&w, W_PING, 2, 0, NULL);
	CHECK_INT(engine_recv(lone, net.k[1].pk, dg, w.len, net.now), 0);
	engine_get_stats(lone, &st);
	CHECK_INT(st.peers, 1);
	CHECK_INT(st.strangers, 1);
	engine_free(lone);
	teardown();
}

/* Node `from` tells node `to` that `about` is in `state` at incarnation inc. */
static void claim(int from, int to, int about, enum peer_state state, uint64_t inc)
{
	uint8_t dg[64];
	struct wire_buf w;

	wire_buf_init(&w, dg, sizeof dg);
	CHECK_INT(wire_add_simple(&w, W_MEMBER, state, inc, net.k[about].pk), 0);
	engine_recv(net.e[to], net.k[from].pk, dg, w.len, net.now);
	net.next_tick[to] = net.now;
}

/* How `obs` sees `subject`. */
static struct engine_peer_info view_of(int obs, int subject)
{
	struct engine_peer_info info[MAXN], none;
	size_t n = engine_peers(net.e[obs], info, MAXN);

	memset(&none, 0, sizeof none);
	none.state = (enum peer_state)-1;
	for (size_t j = 0; j < n && j < MAXN; j++)
		if (memcmp(info[j].pk, net.k[subject].pk, 32) == 0)
			return info[j];
	return none;
}

/* Pairs (swim.c): each probe period every live member meets one other, so
 * a member that crashes is met — and probed — by its next partner within
 * two periods, and suspected by it within the probe's own period after
 * that: first suspicion within 3 s + latency of the crash (the shared
 * windows alone made it 3.4-3.9 s and more in some streams). Idle, a pair
 * makes one exchange when it meets: about 0.6 PINGs per node and second.
 * Over 16 random streams, a different member crashing in each. */
static void test_pairs(void)
{
	for (rng_seed = rng_first; rng_seed < rng_first + 16; rng_seed++) {
		setup(10, false);
		run(40000);
		count_reset();
		run(20000);
		/* 10 nodes, 20 periods: a meeting each (100 PINGs) and the
		 * ACKs each side must have of its own every 3 rounds (about a
		 * quarter more); 200 if every node pinged once a period */
		CHECK(net.pings >= 80 && net.pings <= 150);
		int victim = 1 + (int)(rng_seed % 9), first = -1;
		uint64_t crash = net.now;
		for (int i = 0; i < 10; i++)   /* known and alive everywhere */
			if (i != victim)
				CHECK_STR(peer_state_name(view_of(i, victim).state), "alive");
		net.down[victim] = true;
		while (first < 0 && net.now < crash + 3200) {
			run(10);
			for (int i = 0; i < 10 && first < 0; i++) {
				enum peer_state st = view_of(i, victim).state;
				if (i != victim && (st == PEER_SUSPECT || st == PEER_DEAD))
					first = i;
			}
		}
		CHECK(first >= 0);
		teardown();
	}
	rng_seed = rng_first;
}

/* Membership claims by a third party (issue #11 item 1): a LEFT or DEAD
 * about someone else is at most a suspicion the victim refutes; an
 * incarnation that would wrap, or jump far ahead, is refused; only the node
 * itself may say it left. */
static void test_member_claims(void)
{
	struct engine_stats st;

	setup(4, false);
	run(5000);
	uint32_t inc1 = view_of(0, 1).incarnation;
	CHECK(inc1 != 0);
	/* LEFT at 2^32-1 from node 2 about node 1, to everyone: refused */
	for (int to = 0; to < 4; to++)
		if (to != 2)
			claim(2, to, 1, PEER_LEFT, UINT32_MAX);
	CHECK_STR(peer_state_name(view_of(0, 1).state), "alive");
	CHECK_INT(view_of(0, 1).incarnation, inc1);
	engine_get_stats(net.e[0], &st);
	CHECK(st.member_refused > 0);
	/* about node 1 itself: no wrap, no refutation to an implausible claim */
	engine_get_stats(net.e[1], &st);
	uint32_t own = st.incarnation;
	CHECK_INT(own, inc1);
	engine_get_stats(net.e[1], &st);
	CHECK_INT(st.incarnation, own);
	/* a jump far above what we know (but below the clock bound) */
	claim(2, 0, 1, PEER_DEAD, (uint64_t)inc1 + 100000);
	CHECK_STR(peer_state_name(view_of(0, 1).state), "alive");
	/* plausible LEFT and DEAD from a third party about a node that answers:
	 * checked by a ping, and disproved by the answer (no refutation) */
	claim(2, 0, 1, PEER_LEFT, inc1);
	claim(2, 3, 1, PEER_DEAD, inc1);
	run(1000);
	CHECK_STR(peer_state_name(view_of(0, 1).state), "alive");
	CHECK_STR(peer_state_name(view_of(3, 1).state), "alive");
	CHECK_INT(view_of(0, 1).incarnation, inc1);
	engine_get_stats(net.e[0], &st);
	CHECK(st.claims_disproved > 0);
	engine_get_stats(net.e[1], &st);
	CHECK_INT(st.incarnation, inc1);
	/* ... about a node that does not answer: a suspicion, refuted once it
	 * is back */
	net.down[1] = true;
	claim(2, 0, 1, PEER_LEFT, inc1);
	claim(2, 3, 1, PEER_DEAD, inc1 + 1);
	run(700);
	CHECK_STR(peer_state_name(view_of(0, 1).state), "suspect");
	CHECK_STR(peer_state_name(view_of(3, 1).state), "suspect");
	net.down[1] = false;
	run(15000);
	for (int i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		CHECK_STR(peer_state_name(view_of(i, 1).state), "alive");
		CHECK_INT(net.dead_seen[i][1], 0);
		CHECK(view_of(i, 1).incarnation > inc1 + 1);
	}
	/* the node's own refutation never wraps: a claim at 2^32-1 about it
	 * (refused above), and its own incarnation stays near the clock */
	engine_get_stats(net.e[1], &st);
	CHECK(st.incarnation > inc1 && st.incarnation < inc1 + 100);
	/* the node itself says it leaves: accepted at once */
	engine_leave(net.e[3], net.now);
	run(100);
	net.down[3] = true;
	CHECK_STR(peer_state_name(view_of(0, 3).state), "left");
	teardown();
}

/* A gone hint (the driver saw a member's connection ended by the other
 * side): a member that answers costs one ping and stays alive; one that
 * does not is suspected within ack_timeout_ms and, the others confirming,
 * dead within the shortest suspicion — not when a probe happens to come
 * round. A stranger's key creates nothing. */
static void test_gone_hint(void)
{
	struct engine_stats st;
	uint8_t stranger[32];

	setup(8, false);
	run(5000);
	engine_peer_gone_hint(net.e[0], net.k[1].pk, net.now);   /* alive: answers */
	net.next_tick[0] = net.now;
	run(1000);
	CHECK_STR(peer_state_name(view_of(0, 1).state), "alive");
	engine_get_stats(net.e[0], &st);
	CHECK_INT(st.gone_hints, 1);
	CHECK(st.claims_disproved > 0);
	memset(stranger, 0x5a, sizeof stranger);
	size_t before = engine_peers(net.e[0], NULL, 0);
	engine_peer_gone_hint(net.e[0], stranger, net.now);
	CHECK_INT(engine_peers(net.e[0], NULL, 0), before);
	/* node 7 crashed: every member that held a connection with it (here
	 * all) is told at once */
	net.down[7] = true;
	for (int i = 0; i < 7; i++) {
		engine_peer_gone_hint(net.e[i], net.k[7].pk, net.now);
		net.next_tick[i] = net.now;   /* as the daemon does */
	}
	run(500);
	for (int i = 0; i < 7; i++)
		CHECK_STR(peer_state_name(view_of(i, 7).state), "suspect");
	/* dead where three others confirmed within suspect_min_ms (1000 at
	 * n <= 10) of the hint; with two (a member with two mesh peers)
	 * within 1830 ms */
	run(1500);
	for (int i = 0; i < 7; i++)
		CHECK_INT(net.dead_seen[i][7], 1);
	teardown();
}

/* A suspicion at the top incarnation is refuted without wrapping to 0. */
static void test_incarnation_saturates(void)
{
	struct engine_stats st;

	setup(3, false);
	run(2000);
	/* node 1 claims about node 0 (the victim) at the top: refused, so
	 * node 0 keeps its incarnation; from node 0's own word it may climb */
	claim(1, 0, 0, PEER_SUSPECT, UINT32_MAX);
	engine_get_stats(net.e[0], &st);
	CHECK(st.incarnation != 0 && st.incarnation < UINT32_MAX);
	claim(0, 1, 0, PEER_ALIVE, UINT32_MAX - 1);   /* its own word */
	CHECK_INT(view_of(1, 0).incarnation, UINT32_MAX - 1);
	net.down[0] = true;   /* a claim it does not answer is taken up */
	claim(2, 1, 0, PEER_SUSPECT, UINT32_MAX - 1);
	run(700);
	CHECK_STR(peer_state_name(view_of(1, 0).state), "suspect");
	CHECK_INT(view_of(1, 0).incarnation, UINT32_MAX - 1);
	net.down[0] = false;
	engine_leave(net.e[2], net.now);   /* leave twice: saturates */
	teardown();
}

static void fast_origins(struct engine_config *c)
{
	c->origin_bytes_per_s = 1u << 20;
	c->origin_burst_bytes = 4u << 20;
}

/* A legitimate burst: one member publishes 400 large records at once (each
 * announced by IHAVE, then pulled). Every peer gets them all, and none
 * scores the publisher down, graylists it or declares it dead: a node
 * announces no more than it serves, and honest load never costs score. */
static void test_burst_not_graylisted(void)
{
	static uint8_t ids[400][32];
	union body b;

	tweak = fast_origins;   /* here the announce budget is tested, not the origin rate */
	setup(4, true);
	tweak = NULL;
	run(3000);
	sample_body(KIND_SVC, &b, 1);
	for (int a = 0; a < b.svc.n_attrs; a++)
		sample_str(b.svc.attrs[a].v, MN_MAX_TEXT, (char)('a' + a));
	for (int i = 0; i < 400; i++) {
		char key[16];
		snprintf(key, sizeof key, "burst%d", i);
		CHECK_INT(engine_publish(net.e[1], KIND_SVC, key, &b, 3600, net.now, ids[i], NULL), 0);
	}
	run(30000);
	for (int i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		int have = 0;
		for (int r = 0; r < 400; r++)
			have += engine_has(net.e[i], ids[r]);
		CHECK_INT(have, 400);
		CHECK_INT(net.dead_seen[i][1], 0);
		struct engine_peer_info info[8];
		size_t n = engine_peers(net.e[i], info, 8);
		for (size_t j = 0; j < n; j++) {
			if (memcmp(info[j].pk, net.k[1].pk, 32))
				continue;
			CHECK(!info[j].graylisted);
			CHECK(info[j].score >= 0);
			CHECK_STR(peer_state_name(info[j].state), "alive");
		}
	}
	teardown();
}

static unsigned relay_cap;
static void shared_relay(struct engine_config *c)
{
	c->relay_bytes_per_s = relay_cap;
}

/* Three members publish a burst of 20 records of ~1.6 KB each at once;
 * how many does node 0 hold 1.5 s later? */
static int three_bursts(unsigned cap, uint8_t ids[60][32])
{
	uint8_t w[MN_MAX_RECORD];
	int have = 0;

	relay_cap = cap;
	tweak = shared_relay;
	setup(4, true);
	tweak = NULL;
	run(2000);
	for (int o = 1; o < 4; o++)
		for (int i = 0; i < 20; i++) {
			char key[16];
			snprintf(key, sizeof key, "share%d", i);
			size_t len = sign_svc(&net.k[o], key, 1500, net.now * 1000 + (uint64_t)i,
					      net.now / 1000 + 3600, w, ids[(o - 1) * 20 + i]);
			CHECK_INT(engine_insert(net.e[o], w, len, false, net.now), 1);
		}
	run(1500);
	for (int r = 0; r < 60; r++)
		have += engine_has(net.e[0], ids[r]);
	return have;
}

/* What all members together may bring a node (relay_bytes_per_s): when many
 * offer at once, each gets an equal share of it (and a burst shrunk alike),
 * so a flood of members each within its own rate still costs a node at most
 * that; nothing is lost, anti-entropy brings the rest. */
static void test_relay_share(void)
{
	static uint8_t ids[60][32];

	int wide = three_bursts(1u << 30, ids);   /* each origin its whole 32 KiB burst */
	teardown();
	int shared = three_bursts(3072, ids);     /* 1 KiB/s each, a burst of 8 KiB */
	CHECK(wide >= 45);
	CHECK(shared < wide);
	/* the first origin may still find itself alone: at most its burst at
	 * 3 KiB/s (24 KiB), the others at most a third of the shares' bursts
	 * and what 1.5 s brings */
	CHECK(shared <= (24576 + 2 * 8192 + 3 * 2 * 3072) / 1500 + 3);
	run(25000);   /* anti-entropy rounds (one peer each) bring the rest */
	int have = 0;
	for (int r = 0; r < 60; r++)
		have += engine_has(net.e[0], ids[r]);
	CHECK_INT(have, 60);
	teardown();
}

static void slow_origins(struct engine_config *c)
{
	c->origin_bytes_per_s = 1024;
	c->origin_burst_bytes = 16384;
}

/* Node `node` inserts n records of its own, ~size bytes each (keys
 * prefix0...), all at once. */
static void insert_own(int node, const char *prefix, int n, size_t size, uint8_t (*ids)[32])
{
	uint8_t w[MN_MAX_RECORD];

	for (int i = 0; i < n; i++) {
		char key[24];
		snprintf(key, sizeof key, "%s%d", prefix, i);
		size_t len = sign_svc(&net.k[node], key, size, net.now * 1000 + (uint64_t)i,
				      net.now / 1000 + 3600, w, ids[i]);
		CHECK_INT(engine_insert(net.e[node], w, len, false, net.now), 1);
	}
}

/* One member's byte rate: its peers take a burst of its new records by push,
 * refuse the rest for now (counted, nobody penalised: the relays are
 * honest), and take the rest at the next anti-entropy round, whose bucket is
 * as deep as the origin's budget (a joiner is not held back either). */
static void test_origin_rate(void)
{
	static uint8_t ids[40][32];
	struct engine_stats st;

	tweak = slow_origins;
	setup(4, true);
	tweak = NULL;
	run(2000);
	insert_own(1, "rate", 40, 1500, ids);   /* ~60 KB at once: not held back */
	run(1500);
	for (int i = 0; i < 4; i++) {
		if (i == 1)
			continue;
		int have = 0;
		for (int r = 0; r < 40; r++)
			have += engine_has(net.e[i], ids[r]);
		/* the burst and 1.5 s of rate, in ~1.6 KB records */
		CHECK(have >= 8 && have <= (16384 + 2 * 1024) / 1500 + 1);
	}
	uint64_t limited = 0;
	for (int i = 0; i < 4; i++) {
		engine_get_stats(net.e[i], &st);
		limited += st.origin_rate_limited;
	}
	CHECK(limited > 0);
	/* anti-entropy rounds (sync_ms 10 s, each node's every 7.5-12.5 s):
	 * a peer's push in its round is held to the origin's rate like any
	 * push; the node's own round pulls the rest. Within two of its rounds
	 * (25 s); at the origin's rate alone it would be 44 s. */
	for (int waited = 0; waited < 25000; waited += 500) {
		int all = 0;
		for (int i = 0; i < 4; i++)
			for (int r = 0; r < 40; r++)
				all += engine_has(net.e[i], ids[r]);
		if (all == 4 * 40)
			break;
		run(500);
	}
	for (int i = 0; i < 4; i++) {
		int have = 0;
		for (int r = 0; r < 40; r++)
			have += engine_has(net.e[i], ids[r]);
		CHECK_INT(have, 40);
		struct engine_peer_info info[8];
		size_t n = engine_peers(net.e[i], info, 8);
		for (size_t j = 0; j < n; j++) {
			CHECK(!info[j].graylisted);
			CHECK(info[j].score >= 0);
		}
	}
	teardown();
}

/* Datagrams from peer `from` to node 0, each of `per` records of origin
 * `origin` (keys prefix0.., ~size bytes each). */
static void send_records(const char *prefix, int from, int origin, int n, int per, size_t size,
			 uint8_t (*ids)[32])
{
	uint8_t dg[ENGINE_MTU], rec[MN_MAX_RECORD];
	struct wire_buf w;

	for (int i = 0; i < n; i += per) {
		wire_buf_init(&w, dg, sizeof dg);
		for (int j = i; j < i + per && j < n; j++) {
			char key[24];
			snprintf(key, sizeof key, "%s%d", prefix, j);
			size_t len = sign_svc(&net.k[origin], key, size, 1000 + (uint64_t)j,
					      net.now / 1000 + 3600, rec, ids[j]);
			CHECK_INT(wire_add_record(&w, rec, len), 0);
		}
		engine_recv(net.e[0], net.k[from].pk, dg, w.len, net.now);
	}
}

/* One datagram of records held0.. of origin 2 (keys held<i>_0..4), from
 * peer `from` to node 0. */
static void held_block(int from, int i, uint8_t (*ids)[32])
{
	char prefix[16];

	snprintf(prefix, sizeof prefix, "held%d_", i);
	send_records(prefix, from, 2, 5, 5, 120, ids + i);
}

/* The per-peer rate counts what costs: a message, and a record that needs
 * a signature check. Copies of what a node holds cost only their message:
 * an honest mesh relays every record D times, and those copies must not use
 * up the rate that the peer's new records need (a flooding member's records,
 * relayed by honest peers, delayed everyone's by seconds at 300 nodes). */
static void test_copies_cost_messages(void)
{
	static uint8_t ids[1200][32];
	struct engine_stats st;

	tweak = fast_origins;
	setup(3, true);
	tweak = NULL;
	run(2000);
	/* node 0 holds 1,200 records of node 2 (from node 2 itself, a second
	 * apart so its rate has no part in it) */
	for (int i = 0; i < 1200; i += 5) {
		net.now += 20;
		held_block(2, i, ids);
	}
	int held = 0;
	for (int i = 0; i < 1200; i++)
		held += engine_has(net.e[0], ids[i]);
	CHECK_INT(held, 1200);
	engine_get_stats(net.e[0], &st);
	uint64_t limited = st.rate_limited;
	/* peer 1 relays copies of all of them at once: 240 messages, within
	 * the rate; 1,440 tokens if every copy cost one (the burst is 1,000) */
	net.now += 5000;
	for (int i = 0; i < 1200; i += 5)
		held_block(1, i, ids);
	/* ... and then one new record, which is taken */
	static uint8_t fresh[1][32];
	send_records("fresh", 1, 2, 1, 1, 120, fresh);
	CHECK(engine_has(net.e[0], fresh[0]));
	engine_get_stats(net.e[0], &st);
	CHECK_INT(st.rate_limited, limited);
	/* new records do cost a token each: 1,200 of them at once do not all
	 * pass */
	send_records("new", 1, 2, 1200, 5, 120, ids);
	engine_get_stats(net.e[0], &st);
	CHECK(st.rate_limited > limited);
	held = 0;
	for (int i = 0; i < 1200; i++)
		held += engine_has(net.e[0], ids[i]);
	CHECK(held > 0 && held < 1200);
	teardown();
}

/* A node far behind catches up by anti-entropy without its peers overrunning
 * its per-peer rate: a peer pushes no more than half that rate takes (3/4
 * of its burst at once), the rest at the next rounds. Before, one sync
 * message was answered with up to 4 MiB: ~3 300 of the receiver's message
 * tokens, so the pusher's next records and probes were dropped too. */
static void test_sync_push_paced(void)
{
	static uint8_t ids[1500][32];
	struct engine_stats st;

	tweak = fast_origins;
	setup(4, true);
	tweak = NULL;
	run(2000);
	net.down[3] = true;
	insert_own(1, "far", 1500, 1000, ids);   /* ~1.5 MB: within one origin's budget */
	run(30000);
	engine_get_stats(net.e[3], &st);
	uint64_t limited = st.rate_limited;
	net.down[3] = false;
	run(40000);
	int have = 0;
	for (int r = 0; r < 1500; r++)
		have += engine_has(net.e[3], ids[r]);
	CHECK_INT(have, 1500);
	engine_get_stats(net.e[3], &st);
	CHECK_INT(st.rate_limited, limited);
	uint64_t deferred = 0;
	for (int i = 0; i < 3; i++) {
		engine_get_stats(net.e[i], &st);
		deferred += st.sync_push_deferred;
	}
	CHECK(deferred > 0);
	teardown();
}

static void open_rates(struct engine_config *c)
{
	c->origin_bytes_per_s = 1u << 30;
	c->origin_burst_bytes = 1u << 30;
	c->relay_bytes_per_s = 1u << 30;
}

/* A relay sends a peer no more than the peer's rate takes: it mirrors that
 * rate, spends at most 4/5 of it and holds forwards back first (counted
 * forwards_shed; the message cache, the other mesh peers and anti-entropy
 * carry them). Peers 1 and 3 each feed node 0 400 new records a second,
 * four to a datagram: 500 tokens a second, node 0's rate for each; node 0
 * passes on 800 records a second, four to a datagram: 1 000 tokens a
 * second of node 2's rate for node 0 (500), and node 2 dropped node 0's
 * messages, its probes and the honest records among them. */
static void test_forwards_within_peer_rate(void)
{
	static uint8_t ids[2400][32];
	struct engine_stats st;

	tweak = open_rates;
	setup(4, true);
	tweak = NULL;
	run(3000);
	engine_get_stats(net.e[2], &st);
	uint64_t limited = st.rate_limited;
	for (int i = 0; i < 2400; i += 8) {   /* 3 s */
		char prefix[16];
		snprintf(prefix, sizeof prefix, "a%d_", i);
		send_records(prefix, 1, 1, 4, 4, 200, ids + i);
		snprintf(prefix, sizeof prefix, "b%d_", i);
		send_records(prefix, 3, 3, 4, 4, 200, ids + i + 4);
		run(10);
	}
	run(20000);
	engine_get_stats(net.e[2], &st);
	CHECK_INT(st.rate_limited, limited);
	engine_get_stats(net.e[0], &st);
	CHECK(st.forwards_shed > 0);
	int have = 0;
	for (int r = 0; r < 2400; r++)
		have += engine_has(net.e[2], ids[r]);
	CHECK_INT(have, 2400);
	teardown();
}

int main(void)
{
	const char *stream = getenv("MN_TEST_STREAM");

	if (crypto_init() < 0)
		return 1;
	if (stream && atoi(stream) > 0)
		rng_seed = rng_first = (uint64_t)atoi(stream);
	test_publish_reaches_all();
	test_early_gossip();
	test_forged_and_untrusted();
	test_revocation();
	test_failure_detection();
	test_suspicion_arithmetic();
	test_confirmed_suspicion();
	test_pairs();
	test_local_health();
	test_idle_traffic();
	test_ping_short_form();
	test_sync_catches_up();
	test_sync_join_large();
	test_stored_records();
	test_iwant_asked_again();
	test_iwant_parked_kept();
	test_bad_input();
	test_budget_per_origin();
	test_budget_total();
	test_budget_total_bytes();
	test_tombstone_outlives();
	test_future_refused();
	test_strangers_and_claims();
	/* over several random streams: 13 of 60 of them once found a member
	 * back from a 700 ms outage dead (its suspicion ran out before its
	 * next notice; now a last call goes out), 2 of 100 a member that had
	 * left alive again (it refuted a suspicion after its goodbye) */
	for (rng_seed = rng_first; rng_seed < rng_first + 16; rng_seed++)
		test_member_claims();
	rng_seed = rng_first;
	test_gone_hint();
	test_incarnation_saturates();
	test_burst_not_graylisted();
	test_origin_rate();
	test_relay_share();
	test_copies_cost_messages();
	test_sync_push_paced();
	test_forwards_within_peer_rate();
	test_choking();
	return check_exit();
}
