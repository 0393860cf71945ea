/* The engine's event entry points and the one path every record takes.
 *
 * engine_take_record() — cheap checks first, the signature last:
 *   1. envelope decode (size, format, kind, key)       malformed → score -5
 *   2. id (BLAKE2b) → seen / held?                      duplicate: dropped
 *   3. expired? too far ahead? older than what we hold? dropped, no verify
 *   4. origin revoked? no certificate yet? over budget? dropped / parked
 *   5. body decode                                      malformed → score -5
 *   6. signature (once per id)                          bad → score -10
 *   7. the kind's signing rule, times in the body
 *   8. held, handed to ops->accepted, pushed or gossiped (mesh.c)
 * Each (origin, kind, key, version) is therefore verified at most once: a
 * copy is caught at 2, an older version at 3, a bad signature is
 * remembered as bad.
 *
 * Budgets (docs/limits.md): each origin holds at most max_per_origin
 * records and max_bytes_per_origin wire bytes (revocations and the root
 * exempt); all records together at most max_records and max_bytes, but
 * certificates and revocations always get in (a full mesh must still be
 * able to admit and expel). Records from the store obey the budgets too:
 * memory and disk are bounded by the same numbers.
 *
 * Time: a version is microseconds since the epoch (or any counter below
 * that), so one more than max_skew_s ahead of our clock is refused, as is
 * an expiry more than max_lifetime_s ahead (ENGINE_CHAIN_LIFETIME_S for
 * cert, revoke, dns) and an endpoint observation dated in the future.
 * Records from the store skip these rules: they passed them once, and a
 * clock set back since must not make them vanish. A tombstone is held at
 * least as long as the record it replaces (its expiry raised, here and in
 * the store), so the deleted record cannot come back before it expires. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "src/engine/engine_int.h"
#include "crypto/crypto.h"
#include "crypto/record_sig.h"
#include "proto/proto_err.h"

#define SWEEP_MS 10000
#define STRANGER_CERTS_PER_S 50.0   /* certificates presented by unknown keys, all together */
#define STRANGER_CERTS_MAX (MN_MAX_DEPTH + 2)   /* looked at in one message: a chain */

void engine_config_default(struct engine_config *c)
{
	memset(c, 0, sizeof *c);
	/* tuned in the simulator (docs/protocol.md, docs/simulator.md) */
	c->d = 5;
	c->d_lo = 4;
	c->d_hi = 6;
	c->d_lazy = 4;
	c->heartbeat_ms = 1000;
	c->gossip_windows = 1;   /* with early gossip (mesh.c): an id goes by IHAVE twice */
	c->large_record = 1024;
	c->d_eager = 2;
	c->choke_wait_ms = 100;
	c->prune_backoff_ms = 60000;
	c->probe_ms = 1000;
	c->ack_timeout_ms = 400;
	c->indirect_k = 3;
	c->suspect_ms = 5000;
	c->suspect_min_ms = 1000;
	c->sync_ms = 10000;
	c->max_peers = 1024;
	c->max_records = 50000;
	c->max_per_origin = 4000;
	c->max_bytes = 16u << 20;
	c->max_bytes_per_origin = 2u << 20;
	c->origin_bytes_per_s = 4u << 10;
	c->origin_burst_bytes = 32u << 10;
	c->relay_bytes_per_s = 128u << 10;
	c->max_skew_s = 600;
	c->max_lifetime_s = 366u * 86400;
	c->peer_msgs_per_s = 500;
	c->seen_cap = 8192;
}

uint64_t eng_rand(struct engine *e)
{
	return e->ops.random(e->ctx);
}

static bool config_ok(const struct engine_config *c)
{
	return c->root && c->d >= 1 && c->d_lo <= c->d && c->d <= c->d_hi && c->d_hi <= 64 &&
	       c->d_eager <= c->d_hi && c->choke_wait_ms <= 10000 &&
	       c->heartbeat_ms >= 10 && c->gossip_windows >= 1 &&
	       c->gossip_windows < MCACHE_MAX_WINDOWS && c->probe_ms >= 10 &&
	       c->ack_timeout_ms < c->probe_ms && c->suspect_ms >= c->probe_ms &&
	       c->suspect_min_ms >= 10 &&
	       c->sync_ms >= 100 && c->max_peers >= 1 && c->max_records >= 1 &&
	       c->max_per_origin >= 1 && c->max_bytes >= MN_MAX_RECORD &&
	       c->max_bytes_per_origin >= MN_MAX_RECORD && c->peer_msgs_per_s >= 1 &&
	       c->origin_bytes_per_s >= 1 && c->origin_burst_bytes >= MN_MAX_RECORD &&
	       c->relay_bytes_per_s >= 1 && c->seen_cap >= 64;
}

struct engine *engine_new(const struct engine_config *cfg, const struct node_key *self,
			  const struct engine_ops *ops, void *ctx, uint64_t now)
{
	struct engine *e;

	if (!config_ok(cfg) || !ops->send || !ops->random)
		return NULL;
	e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->cfg = *cfg;
	e->ops = *ops;
	e->ctx = ctx;
	e->self = *self;
	memcpy(e->root, cfg->root, 32);
	e->cfg.root = e->root;
	e->now = now;
	if (index_init(&e->ix) < 0 || seen_init(&e->seen, cfg->seen_cap) < 0 ||
	    (ops->load && !(e->ix.buf = malloc(MN_MAX_RECORD)))) {
		engine_free(e);
		return NULL;
	}
	e->ix.load = ops->load;
	e->ix.load_ctx = ctx;
	e->ix.load_errors = &e->st.load_errors;
	/* incarnations survive restarts without being stored: they start at the
	 * clock (seconds), above anything said about an earlier run */
	e->incarnation = (uint32_t)(now / 1000);
	e->next_heartbeat = now + eng_rand_below(e, cfg->heartbeat_ms);
	e->next_probe = now + eng_rand_below(e, cfg->probe_ms);
	/* a first reconciliation soon after start: a joiner or a node back from
	 * a long absence catches up without waiting a whole period */
	e->next_sync = now + 500 + eng_rand_below(e, 1000);
	e->next_sweep = now + SWEEP_MS;
	e->stranger_tokens = 2 * STRANGER_CERTS_PER_S;
	e->stranger_at = now;
	return e;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	index_free(&e->ix);
	seen_free(&e->seen);
	origins_free(e);
	for (size_t i = 0; i < e->npeers; i++) {
		free(e->peers[i]->out);
		free(e->peers[i]->idontwant);
		free(e->peers[i]);
	}
	free(e->peers);
	free(e->peer_hash);
	free(e->probe_order);
	free(e->pair.ring);
	node_key_wipe(&e->self);
	free(e);
}

/* Does r (envelope only) lie too far ahead of our clock? */
static bool too_far_ahead(const struct engine *e, const struct record *r)
{
	uint64_t now_s = e->now / 1000, skew = e->cfg.max_skew_s;
	uint64_t life = r->kind == KIND_CERT || r->kind == KIND_REVOKE || r->kind == KIND_DNS
				? ENGINE_CHAIN_LIFETIME_S : e->cfg.max_lifetime_s;

	return r->version > (e->now + skew * 1000) * 1000 || r->expires > now_s + skew + life;
}

/* An endpoint observation dated in the future would never age. */
static bool body_from_future(const struct engine *e, const struct record *r,
			     const union body *b)
{
	if (r->kind != KIND_ENDPOINT || !b)
		return false;
	for (unsigned i = 0; i < b->endpoint.n_seen; i++)
		if (b->endpoint.seen[i].at > e->now / 1000 + e->cfg.max_skew_s)
			return true;
	return false;
}

/* How many origins match, counted at most once a second (cached in *n as
 * of *at); at least 1. */
#define ACTIVE_MS 10000
static unsigned count_origins(struct engine *e, bool (*match)(const struct engine *e,
							       const struct origin *o),
			      unsigned *n, uint64_t *at)
{
	if (e->now >= *at + 1000) {
		unsigned k = 0;
		for (size_t b = 0; b < e->origin_buckets; b++)
			for (const struct origin *o = e->origins[b]; o; o = o->next)
				k += match(e, o);
		*n = k;
		*at = e->now;
	}
	return *n ? *n : 1;
}

static bool holds(const struct engine *e, const struct origin *o)
{
	(void)e;
	return o->records > 0;
}

/* Origins holding records: the totals' fair share. */
static unsigned holders(struct engine *e)
{
	return count_origins(e, holds, &e->holders_n, &e->holders_at);
}

/* The totals' last quarter is kept for origins under their fair share of
 * them (the totals divided among the origins that hold records): many
 * members flooding together, each within its own budget, fill the first
 * three quarters and stop there, and a member that publishes a record now
 * and then still gets it in. Without it, 100 members flooding at their
 * shared rate filled the 16 MiB in about two minutes, and every new record
 * was refused until theirs expired. */
static bool over_fair_share(struct engine *e, const struct origin *o, const struct rec *old,
			    int64_t grow)
{
	uint64_t hi_bytes = e->cfg.max_bytes / 4 * 3, hi_count = (uint64_t)e->cfg.max_records / 4 * 3;
	bool bytes = grow > 0 && e->ix.bytes + (uint64_t)grow > hi_bytes;
	bool count = !old && e->ix.count >= hi_count;

	if (!bytes && !count)
		return false;
	unsigned h = holders(e);
	return (bytes && o->bytes + (uint64_t)grow > e->cfg.max_bytes / h) ||
	       (count && o->records >= e->cfg.max_records / h);
}

/* May r (replacing old, or a new key) be held within the budgets? */
static int budget_check(struct engine *e, const struct origin *o, const struct rec *old,
			const struct record *r)
{
	int64_t grow = (int64_t)r->wire_len - (old ? old->wire_len : 0);
	bool chain = r->kind == KIND_CERT || r->kind == KIND_REVOKE;

	if (r->kind != KIND_REVOKE && memcmp(r->origin, e->root, 32) != 0 &&
	    ((!old && o->records >= e->cfg.max_per_origin) ||
	     (grow > 0 && o->bytes + (uint64_t)grow > e->cfg.max_bytes_per_origin))) {
		e->st.over_origin_budget++;
		return -ENOSPC;
	}
	if (!chain && ((!old && e->ix.count >= e->cfg.max_records) ||
		       (grow > 0 && e->ix.bytes + (uint64_t)grow > e->cfg.max_bytes))) {
		e->st.over_total_budget++;
		return -ENOSPC;
	}
	if (!chain && memcmp(r->origin, e->root, 32) != 0 && over_fair_share(e, o, old, grow)) {
		e->st.over_fair_share++;
		return -ENOSPC;
	}
	return 0;
}

/* Is o's byte rate exempt (the root; chain records)? */
static bool rate_exempt(const struct engine *e, const struct record *r)
{
	return r->kind == KIND_CERT || r->kind == KIND_REVOKE || memcmp(r->origin, e->root, 32) == 0;
}

/* Did a peer push it (eager push, IWANT answer, parked until its cert)? Not:
 * anti-entropy and local inserts (a join response), which the receiver asked
 * for and which spend only the origin's pull bucket. */
static bool pushed(enum rec_source src)
{
	return src == SRC_PEER || src == SRC_PENDING;
}

static bool active(const struct engine *e, const struct origin *o)
{
	return o->tried_at && o->tried_at + ACTIVE_MS > e->now;
}

/* Origins that offered rated records in the last ACTIVE_MS:
 * relay_bytes_per_s is shared among them. */
static unsigned active_origins(struct engine *e)
{
	return count_origins(e, active, &e->active_n, &e->active_at);
}

/* Has o the tokens for len new bytes from src (both buckets refilled up to
 * now)? Charged only once the record is verified and held: a forger cannot
 * spend an honest origin's rate. */
static bool origin_rate_ok(struct engine *e, struct origin *o, size_t len, enum rec_source src)
{
	if (!o->tried_at || o->tried_at + ACTIVE_MS <= e->now)
		e->active_n++;   /* newly active: counted at once (recounted each second) */
	o->tried_at = e->now;
	/* its share of what all origins together may bring: an equal share
	 * when many offer at once (a flood of members each within its own
	 * rate still costs a node at most relay_bytes_per_s), the whole
	 * origin rate when few do */
	unsigned act = active_origins(e);
	double rate = (double)e->cfg.relay_bytes_per_s / act;
	if (rate > e->cfg.origin_bytes_per_s)
		rate = e->cfg.origin_bytes_per_s;
	/* ... and the burst shrinks with it */
	double push_cap = (double)e->cfg.origin_burst_bytes * rate / e->cfg.origin_bytes_per_s;
	if (push_cap < MN_MAX_RECORD)
		push_cap = MN_MAX_RECORD;   /* any one record can pass */
	double pull_cap = e->cfg.max_bytes_per_origin > e->cfg.origin_burst_bytes
				  ? e->cfg.max_bytes_per_origin : e->cfg.origin_burst_bytes;

	o->push_cap = push_cap;
	if (o->rate_at == 0) {
		o->push_tokens = push_cap;
		o->pull_tokens = pull_cap;
		o->rate_at = e->now;
	} else if (e->now > o->rate_at) {
		double add = rate * (double)(e->now - o->rate_at) / 1000.0;
		o->push_tokens = o->push_tokens + add > push_cap ? push_cap : o->push_tokens + add;
		o->pull_tokens = o->pull_tokens + add > pull_cap ? pull_cap : o->pull_tokens + add;
		o->rate_at = e->now;
	}
	return o->pull_tokens >= (double)len && (!pushed(src) || o->push_tokens >= (double)len);
}

/* A record from a peer that is not a copy of what we hold or refused, nor
 * over its origin's rate, costs a decode and a signature check: one token
 * of the peer's rate (in an anti-entropy push, one per SYNC_PUSH_PER_TOKEN
 * such records: a joiner catching up on 10 000 is still bounded, but not
 * spread over minutes of rate-limited rounds). Copies cost only their
 * message's tokens: the D copies of every record an honest mesh relays
 * must not use up the rate its new records need. */
static bool record_token(struct engine *e, struct peer *from, enum rec_source src)
{
	if (!from || (src != SRC_PEER && src != SRC_SYNC))
		return true;
	if (src == SRC_SYNC && from->sync_recs++ % SYNC_PUSH_PER_TOKEN != 0)
		return true;
	return peer_rate_ok(e, from, e->now);
}

/* The datagrams an event filled go out at its end, or, batching, when
 * the caller says (engine_send_pending). */
static void flush_unless_batching(struct engine *e)
{
	if (!e->batching)
		engine_flush(e);
}

void engine_set_batching(struct engine *e, bool on)
{
	e->batching = on;
	if (!on)
		engine_flush(e);
}

void engine_send_pending(struct engine *e)
{
	engine_flush(e);
}

static void penalize_from(struct engine *e, struct peer *p, double amount, const char *why)
{
	if (p)
		peer_penalize(e, p, amount, why);
}

int engine_take_record(struct engine *e, const uint8_t *wire, size_t len, enum rec_source src,
		       struct peer *from)
{
	struct record r;
	uint8_t id[32];
	union body *b = NULL;
	struct origin *o = NULL;
	int rc, err;

	/* 1. envelope */
	if ((err = record_decode_envelope(wire, len, &r)) < 0) {
		e->st.malformed++;
		penalize_from(e, from, 5, "peer sent malformed records: graylisted");
		return -EBADMSG;
	}
	/* 2. seen or held */
	record_id(&r, id);
	int seen = seen_get(&e->seen, id);
	if (seen || index_find_id(&e->ix, id, 32)) {
		e->st.records_dup++;
		if (from && src == SRC_PEER)
			mesh_on_push(e, from, false);
		if (seen != 2)
			mesh_promise_kept(e, id);
		else   /* sending again what is known to be forged or broken */
			penalize_from(e, from, 5, "peer keeps sending forged records: graylisted");
		return 0;
	}
	/* 3. expired, or older than ours */
	if (r.expires < e->now / 1000) {
		e->st.expired++;
		seen_put(&e->seen, id, 1);
		return -ESTALE;
	}
	if (src != SRC_STORE && too_far_ahead(e, &r)) {
		/* not remembered: once our clock gets there, a copy may come in */
		e->st.future++;
		return -ERANGE;
	}
	uint64_t kh = rec_keyhash(r.kind, r.origin, r.key);
	struct rec *old = index_find_key(&e->ix, kh, r.kind, r.origin, r.key);
	if (old && (old->version > r.version ||
		    (old->version == r.version && memcmp(old->id, id, 32) > 0))) {
		e->st.records_old++;
		seen_put(&e->seen, id, 1);
		mesh_promise_kept(e, id);
		return 0;
	}
	/* 4. who signed it */
	if (trust_is_revoked(e, r.origin)) {
		e->st.untrusted++;
		seen_put(&e->seen, id, 1);
		return -EACCES;
	}
	bool own = memcmp(r.origin, e->self.pk, 32) == 0;
	if (src != SRC_STORE && !(own && src == SRC_LOCAL)) {
		err = trust_origin(e, r.origin, &o);
		if (err == -ENOENT) {
			/* no certificate for it yet: park it, unverified (the
			 * peer delivered what it announced all the same) */
			mesh_promise_kept(e, id);
			if (!record_token(e, from, src))
				return -EAGAIN;
			pending_add(e, wire, len, from ? from->pk : NULL);
			return -EACCES;
		}
		if (err < 0) {
			e->st.untrusted++;
			seen_put(&e->seen, id, 1);
			penalize_from(e, from, 2, "peer sent records of non-members: graylisted");
			return -EACCES;
		}
	}
	/* the budgets, before any verification: a record over them costs a
	 * lookup (not remembered: it may fit once something expires) */
	if (!o && !(o = origin_get(e, r.origin)))
		return -ENOMEM;
	if ((rc = budget_check(e, o, old, &r)) < 0) {
		mesh_promise_kept(e, id);   /* the peer delivered; we do not take it */
		return rc;
	}
	/* the origin's byte rate: over it, refused for now (not remembered,
	 * no penalty: honest relays pass on what its origin published; lazy
	 * gossip and anti-entropy offer it again later) */
	bool rated = src != SRC_STORE && !(own && src == SRC_LOCAL) && !rate_exempt(e, &r);
	if (rated && !origin_rate_ok(e, o, r.wire_len, src)) {
		e->st.origin_rate_limited++;
		mesh_promise_kept(e, id);
		return -EAGAIN;
	}
	/* the peer's rate (not remembered either: the peer delivered what it
	 * promised, we dropped it; another IHAVE or anti-entropy brings it) */
	if (!record_token(e, from, src)) {
		mesh_promise_kept(e, id);
		return -EAGAIN;
	}
	/* 5. body */
	if (!record_is_tombstone(&r)) {
		b = malloc(sizeof *b);
		if (!b)
			return -ENOMEM;
		if (body_decode(r.kind, r.body, r.body_len, b) < 0) {
			e->st.malformed++;
			seen_put(&e->seen, id, 2);
			penalize_from(e, from, 5, "peer sent malformed records: graylisted");
			rc = -EBADMSG;
			goto out;
		}
	}
	/* 6. signature, once */
	if (src != SRC_STORE && !(own && src == SRC_LOCAL)) {
		e->st.verifies++;
		if (record_verify(&r, NULL) < 0) {
			e->st.bad_sig++;
			seen_put(&e->seen, id, 2);
			penalize_from(e, from, 10, "peer sent forged records: graylisted");
			rc = -EBADMSG;
			goto out;
		}
	}
	/* 7. the kind's rule, times in the body */
	if (src != SRC_STORE && trust_kind_check(e, &r, b) < 0) {
		e->st.untrusted++;
		seen_put(&e->seen, id, 1);
		rc = -EACCES;
		goto out;
	}
	if (src != SRC_STORE && body_from_future(e, &r, b)) {
		e->st.future++;
		rc = -ERANGE;
		goto out;
	}
	/* 8. hold it */
	uint64_t old_expires = old ? old->expires : 0;
	size_t old_len = old ? old->wire_len : 0;
	if (old)
		origins_forget_cert(e, old);   /* the cert it replaces vouches for no one */
	struct rec *x = index_put(&e->ix, old, &r, id, kh, own, o);
	if (!x) {
		rc = -ENOMEM;
		goto out;
	}
	if (!old)
		o->records++;
	o->bytes = o->bytes + x->wire_len - old_len;
	if (rated) {
		o->pull_tokens -= (double)x->wire_len;
		if (pushed(src))
			o->push_tokens -= (double)x->wire_len;
	}
	/* a tombstone outlives what it deletes (sweep() reads x->expires) */
	if (record_is_tombstone(&r) && old_expires > x->expires)
		x->expires = old_expires;
	seen_put(&e->seen, id, 1);
	e->st.records_accepted++;
	if (src != SRC_STORE)
		e->sync_busy = true;   /* anti-entropy back to its full rate (sync.c) */
	if (src == SRC_SYNC)
		sync_caught_up(e);     /* catching up: the next round soon (sync.c) */
	mesh_promise_kept(e, id);
	if (from && !(from == e->from && e->from_claimed))
		peer_reward(from, 1.0);
	if (!trust_after_accept(e, x, b, src == SRC_STORE) ||
	    trust_is_revoked(e, r.origin)) {   /* a record revoking its own origin */
		rc = 1;
		goto out;
	}
	if (src != SRC_STORE && e->ops.accepted) {
		struct record held;
		if (record_decode_envelope(x->wire, x->wire_len, &held) == 0)   /* not spilled yet */
			e->ops.accepted(e->ctx, &held, b, id);
	}
	if (from && src == SRC_PEER)
		mesh_on_push(e, from, true);
	mesh_on_accept(e, x, o, from, src);
	rc = 1;
out:
	free(b);
	return rc;
}

/* A key we do not know may present its certificate chain (a member whose
 * certificate has not reached us yet: trust_present): the cert records of
 * its message are taken like any record — signed, checked against the
 * issuer's chain — under a global budget, with no peer to score. */
static void take_presented_certs(struct engine *e, const uint8_t *buf, size_t len, uint64_t now)
{
	struct wire_iter it;
	struct wire_frame f;
	struct record r;
	unsigned n = 0;

	if (now > e->stranger_at) {
		e->stranger_tokens += STRANGER_CERTS_PER_S * (double)(now - e->stranger_at) / 1000.0;
		if (e->stranger_tokens > 2 * STRANGER_CERTS_PER_S)
			e->stranger_tokens = 2 * STRANGER_CERTS_PER_S;
		e->stranger_at = now;
	}
	if (wire_begin(&it, buf, len) < 0)
		return;
	while (n < STRANGER_CERTS_MAX && wire_next(&it, &f) == 1) {
		if (f.type != W_REC || record_decode_envelope(f.data, f.len, &r) < 0 ||
		    r.kind != KIND_CERT)
			continue;
		n++;
		if (e->stranger_tokens < 1.0)
			return;
		e->stranger_tokens -= 1.0;
		engine_take_record(e, f.data, f.len, SRC_PEER, NULL);
	}
}

/* The peer a message from `from` is handled as: its entry, or a new one
 * if the key is a member (valid chain, possibly presented in this very
 * message) — a stranger's key takes no slot. */
static struct peer *sender_peer(struct engine *e, const uint8_t from[32], const uint8_t *buf,
				size_t len, uint64_t now, int *err)
{
	struct peer *p = peer_find(e, from);
	struct origin *o;

	*err = 0;
	if (p)
		return p;
	if (!e->cfg.admit_uncertified && trust_origin(e, from, &o) < 0) {
		take_presented_certs(e, buf, len, now);
		if (trust_origin(e, from, &o) < 0) {
			e->st.strangers++;
			*err = -EACCES;
			return NULL;
		}
	}
	if (!(p = peer_get(e, from, now)))
		*err = -ENOSPC;
	return p;
}

static int recv_msg(struct engine *e, const uint8_t from[32], const uint8_t *buf, size_t len,
		    uint64_t now, bool claimed)
{
	struct wire_iter it;
	struct wire_frame f;
	struct peer *p;
	bool sync_push = false, used = false;
	int rc;

	e->now = now;
	e->st.rx_msgs++;
	e->st.rx_bytes += len;
	if (trust_is_revoked(e, from))
		return -EACCES;
	p = sender_peer(e, from, buf, len, now, &rc);
	if (!p)
		return rc;
	p->last_seen = now;
	if (p->claim_at) {   /* swim.c: a word from it disproves a claim */
		p->claim_at = 0;
		p->confirms = 0;
		e->st.claims_disproved++;
	}
	if (peer_graylisted(p)) {
		e->st.graylisted_drops++;
		return 0;
	}
	e->from = p;
	e->from_claimed = claimed;
	if ((rc = wire_begin(&it, buf, len)) < 0) {
		e->st.malformed++;
		peer_penalize(e, p, 5, "peer sent malformed messages: graylisted");
		goto out;
	}
	/* rate: one token per message (a stream message counts as the
	 * datagrams it replaces), and one per record that costs more than a
	 * lookup (record_token(), charged in engine_take_record); control
	 * frames within a message are free, bounded by the message size */
	for (size_t cost = (len + ENGINE_MTU - 1) / ENGINE_MTU; cost > 0; cost--)
		if (!peer_rate_ok(e, p, now))
			goto out;
	while ((rc = wire_next(&it, &f)) == 1) {
		if (peer_graylisted(p))
			break;
		used = true;
		switch (f.type) {
		case W_REC:
			engine_take_record(e, f.data, f.len, sync_push ? SRC_SYNC : SRC_PEER, p);
			break;
		case W_IHAVE:
			mesh_on_ihave(e, p, f.data, f.len / WIRE_ID_LEN);
			break;
		case W_IWANT:
			mesh_on_iwant(e, p, f.data, f.len / WIRE_ID_LEN);
			break;
		case W_IDONTWANT:
			mesh_on_idontwant(e, p, f.data, f.len / WIRE_ID_LEN);
			break;
		case W_GRAFT:
			mesh_on_graft(e, p);
			break;
		case W_PRUNE:
			mesh_on_prune(e, p, f.a);
			break;
		case W_CHOKE:
			mesh_on_choke(e, p, f.a == 1);
			break;
		case W_PING:
			swim_on_ping(e, p, f.a, f.b);
			break;
		case W_ACK:
			swim_on_ack(e, p, f.a, f.b);
			break;
		case W_PINGREQ:
			swim_on_pingreq(e, p, f.a, f.key);
			break;
		case W_MEMBER:
			swim_on_member(e, p, f.key, (unsigned)f.a, f.b);
			break;
		case W_SYNC:
			if (f.b == 0)
				sync_push = true;
			else
				sync_on_frame(e, p, f.a, f.b, f.data, f.len);
			break;
		}
	}
	if (rc < 0) {
		e->st.malformed++;
		peer_penalize(e, p, 5, "peer sent malformed messages: graylisted");
	}
out:
	flush_unless_batching(e);
	e->from = NULL;
	e->from_claimed = false;
	return used ? 0 : -EINVAL;
}

int engine_recv(struct engine *e, const uint8_t from[32], const uint8_t *buf, size_t len,
		uint64_t now)
{
	return recv_msg(e, from, buf, len, now, false);
}

int engine_recv_claimed(struct engine *e, const uint8_t from[32], const uint8_t *buf,
			size_t len, uint64_t now)
{
	return recv_msg(e, from, buf, len, now, true);
}

static void sweep(struct engine *e)
{
	size_t n;
	struct rec **all = index_sorted(&e->ix, &n);
	struct rec **victims = n ? malloc(n * sizeof *victims) : NULL;
	size_t nv = 0;
	uint64_t now_s = e->now / 1000;

	for (size_t i = 0; all && victims && i < n; i++)
		if (all[i]->expires < now_s && all[i]->kind != KIND_REVOKE)
			victims[nv++] = all[i];
	for (size_t i = 0; i < nv; i++)
		origin_drop_rec(e, victims[i]);
	free(victims);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

uint64_t engine_tick(struct engine *e, uint64_t now)
{
	e->now = now;
	if (e->early_at && now >= e->early_at)
		mesh_early_gossip(e);
	if (e->promise_retry_at && now >= e->promise_retry_at)
		mesh_retry_promises(e);
	if (now >= e->next_heartbeat) {
		mesh_heartbeat(e);
		e->next_heartbeat += e->cfg.heartbeat_ms;
		if (e->next_heartbeat <= now)
			e->next_heartbeat = now + e->cfg.heartbeat_ms;
	}
	swim_tick(e);
	sync_tick(e);
	if (now >= e->next_sweep) {
		sweep(e);
		e->next_sweep = now + SWEEP_MS;
	}
	flush_unless_batching(e);
	uint64_t next = engine_next_at(e);
	return next > now ? next : now + 1;
}

uint64_t engine_next_at(const struct engine *e)
{
	uint64_t next = min_u64(e->next_heartbeat, e->next_probe);
	next = min_u64(next, sync_next(e));
	if (e->early_at)
		next = min_u64(next, e->early_at);
	if (e->promise_retry_at)
		next = min_u64(next, e->promise_retry_at);
	next = min_u64(next, e->next_sweep);
	if (e->probe.active) {
		if (!e->probe.acked && e->probe.indirect_at)
			next = min_u64(next, e->probe.indirect_at);
		next = min_u64(next, e->probe.deadline);
	}
	for (size_t i = 0; i < e->npeers; i++) {
		if (e->peers[i]->claim_at)   /* swim.c: the check of a claim */
			next = min_u64(next, e->peers[i]->claim_at + e->cfg.ack_timeout_ms);
		if (e->peers[i]->state == PEER_SUSPECT) {
			next = min_u64(next, swim_suspect_deadline(e, e->peers[i]));
			if (!e->peers[i]->rechecked)   /* swim.c: the last call */
				next = min_u64(next, last_call_at(e, e->peers[i]));
			/* a death claim's short fuse, while nothing defused it */
			if (swim_fuse_lit(e->peers[i])) {
				next = min_u64(next, swim_fuse_at(e, e->peers[i]));
				if (!e->peers[i]->fuse_called)
					next = min_u64(next, swim_fuse_call_at(e, e->peers[i]));
			}
		}
	}
	return next;
}

int engine_publish(struct engine *e, unsigned kind, const char *key, const union body *body,
		   uint64_t ttl_s, uint64_t now, uint8_t id[32], int *perr)
{
	uint8_t bbuf[MN_MAX_BODY], wire[MN_MAX_RECORD];
	size_t blen = 0;
	struct record r;
	int err;

	e->now = now;
	if (perr)
		*perr = 0;
	if (body && (err = body_encode(kind, body, bbuf, sizeof bbuf, &blen)) < 0)
		goto bad;
	uint64_t version = now * 1000;
	if ((err = record_init(&r, kind, e->self.pk, key, version, now / 1000 + ttl_s)) < 0)
		goto bad;
	struct rec *old = index_find_key(&e->ix, rec_keyhash(kind, e->self.pk, key), kind,
					 e->self.pk, key);
	if (old && old->version >= r.version)
		r.version = old->version + 1;
	/* a tombstone lives as long as what it deletes, everywhere: nodes that
	 * never held the record must not drop the tombstone earlier */
	if (!body && old && old->expires > r.expires)
		r.expires = old->expires;
	r.body = bbuf;
	r.body_len = blen;
	if ((err = record_sign(&r, &e->self, wire, sizeof wire)) < 0)
		goto bad;
	if (id)
		record_id(&r, id);
	int rc = engine_take_record(e, wire, r.wire_len, SRC_LOCAL, NULL);
	flush_unless_batching(e);
	return rc < 0 ? rc : 0;
bad:
	if (perr)
		*perr = err;
	return -EINVAL;
}

int engine_insert(struct engine *e, const uint8_t *wire, size_t len, bool trusted, uint64_t now)
{
	e->now = now;
	int rc = engine_take_record(e, wire, len, trusted ? SRC_STORE : SRC_LOCAL, NULL);
	flush_unless_batching(e);
	return rc;
}

int engine_peer_add(struct engine *e, const uint8_t pk[32], uint64_t now)
{
	e->now = now;
	if (trust_is_revoked(e, pk))
		return -EACCES;
	if (memcmp(pk, e->self.pk, 32) == 0)
		return -EINVAL;
	bool first = e->npeers == 0;
	struct peer *p = peer_get(e, pk, now);
	if (!p)
		return -ENOSPC;
	if (p->state == PEER_LEFT)
		peer_set_state(e, p, PEER_ALIVE, now);
	if (first && e->next_sync > now + 1000)
		e->next_sync = now + 200;
	return 0;
}

void engine_peer_gone_hint(struct engine *e, const uint8_t pk[32], uint64_t now)
{
	struct peer *p = peer_find(e, pk);

	e->now = now;
	if (!p)
		return;   /* a stranger's connection creates nothing */
	swim_on_gone_hint(e, p);
	flush_unless_batching(e);
}

void engine_leave(struct engine *e, uint64_t now)
{
	e->now = now;
	e->left = true;
	if (e->incarnation < UINT32_MAX)
		e->incarnation++;
	for (size_t i = 0; i < e->npeers; i++) {
		struct peer *p = e->peers[i];
		if (p->state == PEER_ALIVE || p->state == PEER_SUSPECT)
			out_simple(e, p, W_MEMBER, PEER_LEFT, e->incarnation, e->self.pk, OC_MEMBER);
	}
	flush_unless_batching(e);
}

size_t engine_peers(const struct engine *e, struct engine_peer_info *out, size_t cap)
{
	for (size_t i = 0; i < e->npeers && i < cap; i++) {
		const struct peer *p = e->peers[i];
		const struct origin *o = origin_find(e, p->pk);
		struct engine_peer_info *pi = &out[i];
		memcpy(pi->pk, p->pk, 32);
		pi->state = p->state;
		pi->state_since = p->state_since;
		pi->last_seen = p->last_seen;
		pi->rtt_ms = p->rtt_ms;
		pi->incarnation = p->incarnation;
		pi->score = peer_score(p);
		pi->in_mesh = p->in_mesh;
		pi->choked = p->choked;
		pi->choked_us = p->choked_us;
		pi->graylisted = peer_graylisted(p);
		pi->records = o ? o->records : 0;
		pi->record_bytes = o ? (uint32_t)o->bytes : 0;
	}
	return e->npeers;
}

struct engine_peer_info *engine_peers_alloc(const struct engine *e, size_t *n)
{
	struct engine_peer_info *pi = e->npeers ? calloc(e->npeers, sizeof *pi) : NULL;

	*n = pi ? engine_peers(e, pi, e->npeers) : 0;
	return pi;
}

void engine_get_stats(const struct engine *e, struct engine_stats *s)
{
	*s = e->st;
	s->records = (uint32_t)e->ix.count;
	s->record_bytes = e->ix.bytes;
	s->peers = (uint32_t)e->npeers;
	s->mesh = s->alive = s->suspect = s->dead = 0;
	for (size_t i = 0; i < e->npeers; i++) {
		const struct peer *p = e->peers[i];
		s->mesh += p->in_mesh;
		s->alive += p->state == PEER_ALIVE;
		s->suspect += p->state == PEER_SUSPECT;
		s->dead += p->state == PEER_DEAD;
	}
	s->incarnation = e->incarnation;
	s->local_health = e->lhm;
}

void engine_stored(struct engine *e, const uint8_t id[32], int64_t ref)
{
	struct rec *x = index_find_id(&e->ix, id, 32);

	if (x)
		index_spill(&e->ix, x, ref);
}

/* x decoded (its wire read back into buf if spilled) into *r: false if
 * the store cannot give it back (counted load_errors). */
static bool held(const struct engine *e, const struct rec *x, uint8_t *buf, struct record *r)
{
	const uint8_t *w = index_wire(&e->ix, x, buf);

	return w && record_decode_envelope(w, x->wire_len, r) == 0;
}

static bool wanted(const struct rec *x, uint32_t kinds, const uint8_t *origin)
{
	return (!kinds || (x->kind < 32 && (kinds & KIND_BIT(x->kind)))) &&
	       (!origin || memcmp(rec_origin(x), origin, 32) == 0);
}

int engine_each_record(const struct engine *e, uint32_t kinds, const uint8_t *origin,
		       int (*fn)(void *, const struct record *, const uint8_t id[32]), void *ctx)
{
	/* a buffer of its own: fn may look up another record (engine_find) */
	uint8_t *buf = e->ix.load ? malloc(MN_MAX_RECORD) : NULL;
	struct record r;
	int rc = 0;

	if (e->ix.load && !buf)
		return -ENOMEM;
	for (size_t i = 0; i < e->ix.nbuckets && !rc; i++)
		for (struct rec *x = e->ix.by_key[i]; x && !rc; x = x->next_key)
			if (wanted(x, kinds, origin) && held(e, x, buf, &r))   /* else skipped: not readable */
				rc = fn(ctx, &r, x->id);
	free(buf);
	return rc;
}

int engine_each_record_from(struct engine *e, uint32_t kinds, const uint8_t *origin,
			    uint64_t *from, size_t max,
			    int (*fn)(void *, const struct record *, const uint8_t id[32]), void *ctx)
{
	uint8_t *buf = e->ix.load ? malloc(MN_MAX_RECORD) : NULL;
	size_t n, lo = 0, hi, bytes = 0;
	struct rec **v = index_sorted(&e->ix, &n);
	struct record r;
	int rc = 0;

	if ((e->ix.load && !buf) || (!v && e->ix.count)) {
		free(buf);
		return -ENOMEM;
	}
	for (hi = n; lo < hi;) {   /* the first with keyhash >= *from */
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid]->keyhash < *from)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && !rc; lo++) {
		struct rec *x = v[lo];
		if (bytes && bytes >= max && x->keyhash != v[lo - 1]->keyhash) {
			*from = v[lo - 1]->keyhash + 1;   /* a page ends between two keyhashes */
			rc = 1;
			break;
		}
		if (wanted(x, kinds, origin) && held(e, x, buf, &r)) {
			bytes += x->wire_len;
			rc = fn(ctx, &r, x->id);
		}
	}
	free(buf);
	return rc;
}

void engine_digest(const struct engine *e, uint8_t out[32])
{
	memcpy(out, e->ix.digest, 32);
}

bool engine_has(const struct engine *e, const uint8_t id[32])
{
	return index_find_id(&e->ix, id, 32) != NULL;
}

bool engine_is_revoked(const struct engine *e, const uint8_t pk[32])
{
	const struct origin *o = origin_find(e, pk);

	return o && (o->revoked || o->cut);
}

int engine_find(const struct engine *e, const uint8_t id[32],
		int (*fn)(void *, const struct record *, const uint8_t id[32]), void *ctx)
{
	struct rec *x = index_find_id(&e->ix, id, 32);
	uint8_t *buf = x && x->spilled ? malloc(MN_MAX_RECORD) : NULL;
	struct record r;
	int rc = -ENOENT;

	if (x && x->spilled && !buf)
		rc = -ENOMEM;
	else if (x && held(e, x, buf, &r))
		rc = fn(ctx, &r, x->id);
	free(buf);
	return rc;
}
