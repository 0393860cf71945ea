/* Peers: the table, scores, rate limits, and the per-event outbox.
 *
 * Score (gossipsub v1.1 in spirit, with few knobs): a positive part for
 * first deliveries of new records (capped, decays each heartbeat) and a
 * negative part for misbehaviour (decays slowly):
 *   invalid signature  -10      malformed frame     -5
 *   broken IWANT promise -1     frame over the rate -0.25
 * Below GRAYLIST_SCORE every frame from the peer is dropped unread until
 * the penalty has decayed; below 0 it leaves our mesh.
 *
 * Only what a peer provably said moves its score: during a claimed message
 * (engine_recv_claimed: the key is unauthenticated) penalties are counted
 * in `unattributed` and not applied, and the message draws on a second
 * token bucket that never goes into debt — a forger can get its frames
 * dropped, not the member it names graylisted or starved.
 *
 * Peer entries are created only for keys the driver adds (bootstrap, node
 * records: engine_peer_add) or that hold a valid certificate chain (a
 * message or a MEMBER claim about them); random keys never take a slot. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "src/engine/engine_int.h"

#define POS_CAP 10.0
#define POS_DECAY 0.9
#define NEG_DECAY 0.97          /* half-life about 23 heartbeats */
#define GRAYLIST_SCORE -20.0

static size_t hash_pk(const uint8_t pk[32], size_t cap)
{
	uint64_t v;

	memcpy(&v, pk, sizeof v);
	return (size_t)(v ^ (v >> 29)) & (cap - 1);
}

struct peer *peer_find(const struct engine *e, const uint8_t pk[32])
{
	if (!e->peer_hash_cap)
		return NULL;
	for (size_t i = hash_pk(pk, e->peer_hash_cap);; i = (i + 1) & (e->peer_hash_cap - 1)) {
		uint32_t v = e->peer_hash[i];
		if (!v)
			return NULL;
		if (memcmp(e->peers[v - 1]->pk, pk, 32) == 0)
			return e->peers[v - 1];
	}
}

static int rehash(struct engine *e, size_t cap)
{
	uint32_t *h = calloc(cap, sizeof *h);

	if (!h)
		return -ENOMEM;
	for (size_t k = 0; k < e->npeers; k++) {
		size_t i = hash_pk(e->peers[k]->pk, cap);
		while (h[i])
			i = (i + 1) & (cap - 1);
		h[i] = (uint32_t)k + 1;
	}
	free(e->peer_hash);
	e->peer_hash = h;
	e->peer_hash_cap = cap;
	return 0;
}

struct peer *peer_get(struct engine *e, const uint8_t pk[32], uint64_t now)
{
	struct peer *p = peer_find(e, pk);

	if (p)
		return p;
	if (memcmp(pk, e->self.pk, 32) == 0 || e->npeers >= e->cfg.max_peers)
		return NULL;
	if (e->npeers == e->peers_cap) {
		size_t nc = e->peers_cap ? e->peers_cap * 2 : 16;
		struct peer **np = realloc(e->peers, nc * sizeof *np);
		if (!np)
			return NULL;
		e->peers = np;
		e->peers_cap = nc;
	}
	if ((e->npeers + 1) * 2 > e->peer_hash_cap &&
	    rehash(e, e->peer_hash_cap ? e->peer_hash_cap * 2 : 32) < 0)
		return NULL;
	p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	memcpy(p->pk, pk, 32);
	p->state = PEER_ALIVE;
	p->state_since = now;
	p->tokens = 2.0 * e->cfg.peer_msgs_per_s;
	p->tokens_at = now;
	p->claimed_tokens = p->tokens;
	p->claimed_at = now;
	p->tx_tokens = 2 * tx_rate(e);   /* both full */
	p->push_tokens = 3 * push_rate(e);
	p->tx_at = p->push_at = now;
	p->iwant_budget = IWANT_PER_HEARTBEAT;   /* usable before the first heartbeat */
	p->served_budget = SERVE_PER_HEARTBEAT;
	p->announce_bytes = ANNOUNCE_BYTES_PER_HEARTBEAT;
	p->announce_n = ANNOUNCE_PER_HEARTBEAT;
	p->idx = (uint32_t)e->npeers;
	e->peers[e->npeers++] = p;
	size_t i = hash_pk(pk, e->peer_hash_cap);
	while (e->peer_hash[i])
		i = (i + 1) & (e->peer_hash_cap - 1);
	e->peer_hash[i] = (uint32_t)e->npeers;
	return p;
}

double peer_score(const struct peer *p)
{
	return p->score_pos + p->score_neg;
}

bool peer_graylisted(const struct peer *p)
{
	return peer_score(p) < GRAYLIST_SCORE;
}

/* Suspects stay usable: a suspicion is usually a lost packet, and cutting
 * a suspect off the mesh would make it miss records until its refutation
 * and the next heartbeat (under 10 % loss several nodes a second are
 * suspected somewhere). Dead and departed peers are not. */
bool peer_usable(const struct peer *p)
{
	return (p->state == PEER_ALIVE || p->state == PEER_SUSPECT) && !peer_graylisted(p);
}

void peer_penalize(struct engine *e, struct peer *p, double amount, const char *why)
{
	bool was = peer_graylisted(p);

	if (e->from == p && e->from_claimed) {
		e->st.unattributed++;
		return;
	}
	p->score_neg -= amount;
	if (!was && peer_graylisted(p)) {
		if (p->in_mesh)
			mesh_drop_peer(e, p);
		if (e->ops.note)
			e->ops.note(e->ctx, why, p->pk);
	}
}

void peer_reward(struct peer *p, double amount)
{
	p->score_pos += amount;
	if (p->score_pos > POS_CAP)
		p->score_pos = POS_CAP;
}

void peers_decay(struct engine *e)
{
	for (size_t i = 0; i < e->npeers; i++) {
		struct peer *p = e->peers[i];
		p->score_pos *= POS_DECAY;
		p->score_neg *= NEG_DECAY;
		if (p->score_neg > -0.01)
			p->score_neg = 0;
	}
}

double bucket_fill(double *tokens, uint64_t *at, double rate, double cap, uint64_t now)
{
	if (now > *at) {
		*tokens += rate * (double)(now - *at) / 1000.0;
		if (*tokens > cap)
			*tokens = cap;
		*at = now;
	}
	return *tokens;
}

/* Refill a token bucket (rate a second, burst twice that) up to now and
 * take a token if there is a whole one. */
static bool bucket_take(double *tokens, uint64_t *at, double rate, uint64_t now)
{
	if (bucket_fill(tokens, at, rate, 2.0 * rate, now) < 1.0)
		return false;
	*tokens -= 1.0;
	return true;
}

bool peer_rate_ok(struct engine *e, struct peer *p, uint64_t now)
{
	double rate = e->cfg.peer_msgs_per_s, burst = 2.0 * rate;

	if (e->from == p && e->from_claimed) {
		/* claimed messages: a bucket of their own, never in debt, no penalty */
		if (bucket_take(&p->claimed_tokens, &p->claimed_at, rate, now))
			return true;
		e->st.rate_limited++;
		return false;
	}
	if (bucket_take(&p->tokens, &p->tokens_at, rate, now))
		return true;
	/* over the rate: dropped. A busy honest peer (a burst of publishes)
	 * runs into this now and then; only a peer that keeps sending far
	 * over it — a debt of another burst's worth — is penalised */
	e->st.rate_limited++;
	if (p->tokens > -burst)
		p->tokens -= 1.0;
	else
		peer_penalize(e, p, 0.25, "peer over its rate limit: graylisted");
	return false;
}

void peer_set_state(struct engine *e, struct peer *p, enum peer_state st, uint64_t now)
{
	enum peer_state old = p->state;

	if (old == st)
		return;
	p->state = st;
	p->state_since = now;
	p->rechecked = false;
	if (st != PEER_SUSPECT) {
		p->heard_dead = false;
		p->confirms = 0;
	}
	if ((st == PEER_DEAD || st == PEER_LEFT) && p->in_mesh)
		mesh_drop_peer(e, p);
	if (e->ops.peer_state)
		e->ops.peer_state(e->ctx, p->pk, old, st);
	/* back from the dead: reconcile with it soon. After a healed partition
	 * every node sees many peers come back and starts one round; a single
	 * returning node is reconciled by a few peers (about 4), not by all */
	if (st == PEER_ALIVE && (old == PEER_DEAD || old == PEER_LEFT) &&
	    now >= e->last_triggered_sync + e->cfg.sync_ms / 4 &&
	    eng_rand_below(e, e->npeers > 4 ? e->npeers : 4) < 4) {
		e->last_triggered_sync = now;
		p->sync_to_at = now;
		sync_start(e, p, CHAN_STREAM);
	}
}

/* ---- outbox ---- */

static void mark_dirty(struct engine *e, struct peer *p)
{
	if (!p->dirty) {
		p->dirty = true;
		p->next_dirty = e->dirty;
		e->dirty = p;
	}
}

static void count_tx(struct engine *e, size_t len, enum out_class cls)
{
	e->st.tx_msgs++;
	e->st.tx_bytes += len;
	switch (cls) {
	case OC_RECORD: e->st.tx_bytes_record += len; break;
	case OC_GOSSIP: e->st.tx_bytes_gossip += len; break;
	case OC_MEMBER: e->st.tx_bytes_member += len; break;
	case OC_SYNC: e->st.tx_bytes_sync += len; break;
	}
}

/* Datagram bytes are attributed to a class per frame; the version byte goes
 * with the first frame's class. */
static void send_out(struct engine *e, struct peer *p)
{
	if (p->out && !wire_buf_empty(&p->ob)) {
		e->ops.send(e->ctx, p->pk, p->ob.buf, p->ob.len, CHAN_DGRAM);
		e->st.tx_msgs++;
		wire_buf_init(&p->ob, p->out, ENGINE_MTU);
	}
}

static int ensure_out(struct engine *e, struct peer *p)
{
	if (!p->out) {
		p->out = malloc(ENGINE_MTU);
		if (!p->out)
			return -ENOMEM;
		wire_buf_init(&p->ob, p->out, ENGINE_MTU);
	}
	mark_dirty(e, p);
	return 0;
}

/* What we send a peer, mirrored against its per-peer rate (assumed ours:
 * peer_msgs_per_s tokens a second, twice that at once; a token per message
 * of up to ENGINE_MTU bytes and one per record in it). We spend at most 4/5
 * of it, so an honest node never has its messages dropped by an honest peer
 * for going over: at 1 000 nodes with 100 members flooding, relays passing
 * on what each had taken overran their peers' rates, and honest records
 * were dropped with the flood's. Refilled here, up to now. */
static double tx_room(struct engine *e, struct peer *p)
{
	return bucket_fill(&p->tx_tokens, &p->tx_at, tx_rate(e), 2 * tx_rate(e), e->now);
}

double peer_tx_room(struct engine *e, struct peer *p)
{
	return tx_room(e, p);
}

/* May a forward of prio go out to p now? Control frames, our own records
 * and records we serve (an IWANT: we announced them) always go, charged;
 * forwards leave a quarter of the mirror for those, bulk forwards (origins
 * using most of their rate) half. A forward not sent is in the message
 * cache: lazy gossip and anti-entropy bring it, and the peer's other mesh
 * peers push it too. */
static bool tx_ok(struct engine *e, struct peer *p, double cost, enum out_prio prio)
{
	double room = tx_room(e, p), cap = 2 * tx_rate(e);

	if (prio != PRIO_FORWARD && prio != PRIO_BULK)
		return true;
	if (room >= cost + (prio == PRIO_FORWARD ? cap / 4 : cap / 2))
		return true;
	e->st.forwards_shed++;
	return false;
}

static bool budget_ok(struct peer *p, size_t len, enum out_prio prio)
{
	if (prio == PRIO_CONTROL)
		return true;
	size_t limit = prio == PRIO_OWN ? PEER_OUT_BUDGET : PEER_OUT_BUDGET * 3 / 4;
	return p->out_bytes + len <= limit;
}

/* Append a frame built by `add` to p's datagram, sending the datagram first
 * if the frame does not fit. */
#define OUT_FRAME(e, p, cls, prio, approx, add) ({ \
	int rc_ = 0; \
	if (!budget_ok((p), (approx), (prio))) { \
		rc_ = -ENOBUFS; \
	} else if ((rc_ = ensure_out((e), (p))) == 0) { \
		size_t before_ = (p)->ob.len; \
		if ((add) < 0) { \
			send_out((e), (p)); \
			before_ = (p)->ob.len; \
			rc_ = (add) < 0 ? -EMSGSIZE : 0; \
		} \
		if (rc_ == 0) { \
			size_t n_ = (p)->ob.len - before_ + (before_ == 1 ? 1 : 0); \
			if (before_ == 1) \
				(p)->tx_tokens -= 1.0;   /* a new datagram (tx_room) */ \
			(p)->out_bytes += (uint32_t)n_; \
			e->st.tx_bytes += n_; \
			count_class((e), n_, (cls)); \
		} \
	} \
	rc_; \
})

static void count_class(struct engine *e, size_t len, enum out_class cls)
{
	switch (cls) {
	case OC_RECORD: e->st.tx_bytes_record += len; break;
	case OC_GOSSIP: e->st.tx_bytes_gossip += len; break;
	case OC_MEMBER: e->st.tx_bytes_member += len; break;
	case OC_SYNC: e->st.tx_bytes_sync += len; break;
	}
}

int out_record(struct engine *e, struct peer *p, const uint8_t *wire, size_t len,
	       enum out_prio prio, enum out_class cls)
{
	/* the receiver's tokens: one for the record, one per datagram it
	 * starts (or per ENGINE_MTU of a stream message) */
	size_t msgs = (wire_record_frame_len(len) + ENGINE_MTU) / ENGINE_MTU;
	if (!tx_ok(e, p, 1.0 + (double)msgs, prio))
		return -ENOBUFS;
	p->tx_tokens -= 1.0;
	if (wire_record_frame_len(len) + 1 > ENGINE_MTU) {
		uint8_t *buf = malloc(wire_record_frame_len(len) + 1);
		struct wire_buf w;
		if (!buf)
			return -ENOMEM;
		if (!budget_ok(p, len, prio)) {
			free(buf);
			return -ENOBUFS;
		}
		wire_buf_init(&w, buf, wire_record_frame_len(len) + 1);
		wire_add_record(&w, wire, len);
		p->out_bytes += (uint32_t)w.len;
		out_stream(e, p, w.buf, w.len, cls);
		free(buf);
		return 0;
	}
	return OUT_FRAME(e, p, cls, prio, len, wire_add_record(&p->ob, wire, len));
}

int out_ids(struct engine *e, struct peer *p, enum wire_type t, const uint8_t *ids, size_t n,
	    enum out_class cls)
{
	while (n > 0) {
		size_t k = n > WIRE_MAX_IDS ? WIRE_MAX_IDS : n;
		int rc = OUT_FRAME(e, p, cls, PRIO_CONTROL, k * WIRE_ID_LEN,
				   wire_add_ids(&p->ob, t, ids, k));
		if (rc < 0)
			return rc;
		ids += k * WIRE_ID_LEN;
		n -= k;
	}
	return 0;
}

int out_simple(struct engine *e, struct peer *p, enum wire_type t, uint64_t a, uint64_t b,
	       const uint8_t *key, enum out_class cls)
{
	return OUT_FRAME(e, p, cls, PRIO_CONTROL, 48, wire_add_simple(&p->ob, t, a, b, key));
}

int out_sync(struct engine *e, struct peer *p, uint64_t session, uint64_t step,
	     const uint8_t *data, size_t len)
{
	return OUT_FRAME(e, p, OC_SYNC, PRIO_CONTROL, len,
			 wire_add_sync(&p->ob, session, step, data, len));
}

void out_stream(struct engine *e, struct peer *p, const uint8_t *buf, size_t len,
		enum out_class cls)
{
	tx_room(e, p);
	p->tx_tokens -= (double)((len + ENGINE_MTU - 1) / ENGINE_MTU);
	e->ops.send(e->ctx, p->pk, buf, len, CHAN_STREAM);
	count_tx(e, len, cls);
}

void engine_flush(struct engine *e)
{
	struct peer *p = e->dirty, *next;

	for (; p; p = next) {
		next = p->next_dirty;
		send_out(e, p);
		free(p->out);
		p->out = NULL;
		p->dirty = false;
		p->next_dirty = NULL;
		p->out_bytes = 0;
	}
	e->dirty = NULL;
}
