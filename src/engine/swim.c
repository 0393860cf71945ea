/* Membership and liveness, after SWIM (Das et al., 2002) with suspicion.
 *
 * Every probe_ms one peer is probed: PING, and if no ACK within
 * ack_timeout_ms, PINGREQ to indirect_k other peers who probe it for us.
 * No answer by the end of the period: the peer is SUSPECT; a suspect not
 * refuted within suspect_ms is DEAD. A node that hears itself suspected
 * (or declared dead) with its current incarnation refutes with incarnation
 * + 1. Precedence (SWIM §4.2): ALIVE(i) beats SUSPECT/DEAD(j) if i > j;
 * SUSPECT(i) beats ALIVE(j) if i >= j; DEAD(i) beats both if i >= j; LEFT
 * beats everything at its incarnation. A node starts with its incarnation
 * at the current time in seconds, so after a restart (or a leave and a
 * rejoin) its word beats whatever was said about it before.
 *
 * Dissemination of membership changes: every change rides on the next
 * pings and acks (3·log2(N+1) times, classic SWIM). Deaths, departures and
 * refutations are also pushed at once over the gossip mesh like a record,
 * and every node whose view changes forwards them: they reach everyone
 * within a few link latencies instead of O(log N) periods. Suspicions are
 * not flooded (under loss they are frequent, and a flood of each costs
 * N·D frames); the suspect itself is told at once, so it refutes well
 * within suspect_ms, and a suspicion that runs out becomes a flooded death.
 *
 * Dead peers stay known (until revoked or gone): every second probe goes
 * to a random dead peer if there is one, so the two sides of a healed
 * partition find each other again; a dead peer that answers is told it was
 * declared dead and refutes.
 *
 * Pairs (docs/protocol.md): each probe period k (probe_ms of the wall
 * clock) the live members and this node, ordered by key, are matched in
 * pairs by a round-robin tournament schedule; the partner is due from
 * the period's start unless heard from since, and takes our next slot
 * first. Every member meets every other once in M - 1 periods, one
 * exchange per pair (whoever's slot comes first), and a member that died
 * is met by its next partner within two periods. The windows below are
 * the fallback, for members whose views or clocks differ.
 *
 * Fewer probes of the living: a member that sent us a PING, ACK or
 * PINGREQ within about a round (n members × probe_ms; drawn in [1, 2)
 * rounds, plus two periods, per exchange) is skipped and the next one in
 * the order is taken; a period with nobody due sends no probe. A PING is evidence for both ends
 * (the ACK for the prober, the PING itself for the probed), so the two
 * members of a pair share one exchange per round instead of making one
 * each: half the probes. A dead member sends nothing, so everyone's window
 * for it runs out within two rounds and two periods of its death, spread
 * over that time (hence the random window). A member must still answer one of our
 * own pings every ACKED_ROUNDS rounds, so one that sends but no longer
 * hears is found too. Gossip does not count: a mesh peer hears from a
 * member all the time, and under loss (refutations flooding) that left
 * half the probers of a small mesh silent about a fresh death. While
 * membership news waits in the piggyback queue, nobody is skipped.
 *
 * Lifeguard (Dadgar et al., 2018), so that a crash is found fast and a
 * slow or lossy node does not declare others dead:
 * - Suspicion timeouts shrink with independent confirmations: a suspicion
 *   runs swim_suspicion_ms() — suspect_ms when nobody else confirmed it,
 *   down to suspect_min_ms × log10(n) with SWIM_SUSPECT_K confirmations
 *   (distinct members that said suspect or dead at its incarnation). A
 *   suspicion of our own (a failed probe, or a claim our ping checked) is
 *   passed on to our mesh peers at once; they check it with a ping and pass
 *   it on only if that fails too, so a crash is confirmed hop by hop within
 *   ack_timeout_ms per hop, while a false suspicion (the member answers
 *   the others) stops after one hop with nobody confirming, and waits the
 *   full suspect_ms for the refutation. A death claim is one more
 *   confirmation, never a verdict by itself: hostile members (10 % of 40,
 *   5 % loss, forging claims) made 28 false deaths in the simulator when a
 *   death claim ended a confirmed suspicion at once.
 * - Local health (LHM, 0..LHM_MAX): a probe that failed although some
 *   helper we asked did not answer with a NACK (so the fault may be ours),
 *   and having to refute a suspicion of ourselves, add one; a probe
 *   answered takes one off. The probe period, ack timeout and our
 *   suspicion timeouts are all times (1 + LHM): a node that misses its own
 *   acks probes and suspects more slowly. A helper that gets no ACK from the
 *   target within ack_timeout_ms sends its requester a NACK (an ACK with
 *   seq + NACK_BIT; nodes of earlier versions take it for an unrelated
 *   ack). A probe that all its helpers NACKed is a suspicion at once.
 *
 * Small frames: in steady state PING and ACK are [type, seq], 4 bytes with
 * the version byte — inside WireGuard with an IPv4 header that is one
 * 32-byte block, where a random 64-bit seq and the incarnation made two.
 * Seqs are 7 bits: 0..63 our own probe (one at a time), 64..127 the
 * indirect-probe slots; an ACK for our probe counts only from its target or
 * a helper we asked. Our incarnation rides on PINGs and ACKs to a member
 * until it has acknowledged a PING that carried it (after a start or a
 * refutation). */
#include <stdlib.h>
#include <string.h>
#include "src/engine/engine_int.h"

#define PIGGYBACK_MAX 4
#define ACKED_ROUNDS 3          /* rounds a member may go without answering us */
#define SEQ_INDIRECT 64         /* seqs from here on name indirect-probe slots */
/* The seq of pings outside a probe (a claim's check, a suspect's notice):
 * never our probe's, so that their acks — the suspect may be one of the
 * probe's helpers — are not taken for the probe's answer. */
#define NOTICE_SEQ (SEQ_INDIRECT - 1)
#define INC_JUMP 64             /* a third party's verdict at most this above what we know */
#define INC_SKEW_S 86400        /* no third party's incarnation further ahead of our clock */
#define CLAIMS_FWD_PER_PERIOD 4 /* others' death claims we pass on per period */
#define NACK_BIT 128            /* an ACK's seq + this: "I could not reach it" */
#define LHM_MAX 8
_Static_assert(INDIRECT_CAP <= SEQ_INDIRECT && SEQ_INDIRECT + INDIRECT_CAP <= 128,
	       "probe seqs fit a msgpack positive fixint");

const char *peer_state_name(enum peer_state s)
{
	switch (s) {
	case PEER_ALIVE: return "alive";
	case PEER_SUSPECT: return "suspect";
	case PEER_DEAD: return "dead";
	case PEER_LEFT: return "left";
	}
	return "?";
}

/* log2(x) in 1/65536ths, x >= 1 (the engine links no libm) */
static uint64_t log2_q16(uint64_t x)
{
	unsigned ip = 0;
	uint64_t r, y;

	while (ip < 63 && (x >> ip) > 1)
		ip++;
	/* x / 2^ip in [1, 2) with 30 fractional bits */
	y = ip > 30 ? x >> (ip - 30) : x << (30 - ip);
	r = (uint64_t)ip << 16;
	for (int b = 15; b >= 0; b--) {
		y = (y * y) >> 30;
		if (y >= 2ull << 30) {
			y >>= 1;
			r |= 1ull << b;
		}
	}
	return r;
}

uint64_t swim_suspicion_ms(unsigned min_ms, unsigned max_ms, size_t n, unsigned confirms,
			   unsigned lhm)
{
	uint64_t lo = min_ms, hi, t;
	unsigned k = SWIM_SUSPECT_K;

	if (n > 10)   /* × log10(n) = log2(n) / log2(10) */
		lo = lo * log2_q16(n) / log2_q16(10);
	hi = max_ms > lo ? max_ms : lo;
	if (n < (size_t)k + 2)
		k = n > 2 ? (unsigned)n - 2 : 0;
	if (!k)
		t = hi;   /* nobody could confirm it */
	else if (confirms >= k)
		t = lo;
	else
		t = hi - (hi - lo) * log2_q16(confirms + 1) / log2_q16(k + 1);
	return t * (1 + lhm);
}

uint64_t swim_suspect_deadline(const struct engine *e, const struct peer *p)
{
	return p->state_since + swim_suspicion_ms(e->cfg.suspect_min_ms, e->cfg.suspect_ms,
						  e->npeers + 1, p->confirms, e->lhm);
}

/* A round trip and 50 ms (100 ms if p's round trip is not known): how
 * long before a verdict a last call goes out. */
static uint64_t call_margin(const struct peer *p)
{
	return p->rtt_ms ? 2 * (uint64_t)p->rtt_ms + 50 : 100;
}

static uint64_t before(uint64_t t, uint64_t margin)
{
	return t > margin ? t - margin : 0;
}

/* When a suspect gets its last notice: shortly before the deadline. */
uint64_t last_call_at(const struct engine *e, const struct peer *p)
{
	return before(swim_suspect_deadline(e, p), call_margin(p));
}

/* A death claim we took up about p, and p has said no word since: it is
 * dead at swim_fuse_at() (the short fuse; see swim_tick), and gets a
 * last call of its own shortly before (swim_fuse_call_at). */
bool swim_fuse_lit(const struct peer *p)
{
	return p->state == PEER_SUSPECT && p->heard_dead && p->last_seen < p->heard_at;
}

uint64_t swim_fuse_at(const struct engine *e, const struct peer *p)
{
	return p->heard_at + e->cfg.probe_ms + e->cfg.ack_timeout_ms;
}

uint64_t swim_fuse_call_at(const struct engine *e, const struct peer *p)
{
	return before(swim_fuse_at(e, p), call_margin(p));
}

/* Our probe is over: counted for the links' loss (choking, mesh.c). */
static void probe_done(struct engine *e)
{
	e->probe.active = false;
	e->probes_sent++;
	e->probes_answered += e->probe.direct;
}

static void lhm_add(struct engine *e, int delta)
{
	if (delta > 0 && e->lhm < LHM_MAX)
		e->lhm++;
	else if (delta < 0 && e->lhm)
		e->lhm--;
}

/* Another member (from) says p is suspect or dead at inc: a confirmation,
 * once per member, of a suspicion at p's current incarnation (one under
 * way, or one a claim check may start). */
static void confirm(struct peer *p, const struct peer *from, uint64_t inc)
{
	uint64_t id;

	if (!from || inc < p->incarnation || p->confirms >= SWIM_SUSPECT_K)
		return;
	memcpy(&id, from->pk, sizeof id);
	for (unsigned i = 0; i < p->confirms; i++)
		if (p->confirmers[i] == id)
			return;
	p->confirmers[p->confirms++] = id;
}

void swim_piggyback(struct engine *e, struct peer *p)
{
	unsigned sent = 0;

	for (size_t i = 0; i < e->mq_n && sent < PIGGYBACK_MAX; i++) {
		struct member_update *u = &e->mq[i];
		/* updates about p go to p too: that is how it learns it is
		 * suspected, and refutes */
		if (!u->sends_left)
			continue;
		if (out_simple(e, p, W_MEMBER, u->state, u->inc, u->node, OC_MEMBER) == 0) {
			u->sends_left--;
			sent++;
		}
	}
	/* drop spent updates */
	size_t k = 0;
	for (size_t i = 0; i < e->mq_n; i++)
		if (e->mq[i].sends_left)
			e->mq[k++] = e->mq[i];
	e->mq_n = k;
}

void swim_queue(struct engine *e, const uint8_t node[32], enum peer_state st, uint32_t inc,
		bool flood)
{
	struct member_update *u = NULL;
	unsigned lg = 1;
	for (size_t n = e->npeers + 1; n > 1; n >>= 1)
		lg++;
	unsigned budget = 3 * lg;   /* 3·log2(N+1), rounded up */

	for (size_t i = 0; i < e->mq_n; i++)
		if (memcmp(e->mq[i].node, node, 32) == 0)
			u = &e->mq[i];
	if (!u) {
		if (e->mq_n == MEMBER_Q_CAP) {   /* full: drop the most-sent update */
			size_t worst = 0;
			for (size_t i = 1; i < e->mq_n; i++)
				if (e->mq[i].sends_left < e->mq[worst].sends_left)
					worst = i;
			u = &e->mq[worst];
		} else {
			u = &e->mq[e->mq_n++];
		}
	}
	memcpy(u->node, node, 32);
	u->state = (uint8_t)st;
	u->inc = inc;
	u->sends_left = (uint8_t)(budget > 255 ? 255 : budget);
	struct peer *from = e->from;
	/* the node itself hears it at once, so that it refutes */
	struct peer *self = peer_find(e, node);
	if (self && self != from && (st == PEER_SUSPECT || st == PEER_DEAD) &&
	    self->state != PEER_LEFT)
		out_simple(e, self, W_MEMBER, st, inc, node, OC_MEMBER);
	if (!flood)
		return;
	size_t pushed = 0;
	for (size_t i = 0; i < e->npeers; i++) {
		struct peer *p = e->peers[i];
		if (!p->in_mesh || p == from || !peer_usable(p) || memcmp(p->pk, node, 32) == 0)
			continue;
		out_simple(e, p, W_MEMBER, st, inc, node, OC_MEMBER);
		pushed++;
	}
	/* no mesh yet: tell a few peers directly */
	for (size_t i = 0; pushed < e->cfg.d && i < e->npeers; i++) {
		struct peer *p = e->peers[eng_rand_below(e, e->npeers)];
		if (p == from || !peer_usable(p) || p->in_mesh || memcmp(p->pk, node, 32) == 0)
			continue;
		out_simple(e, p, W_MEMBER, st, inc, node, OC_MEMBER);
		pushed++;
	}
}

/* Have we passed this (node, state, incarnation) on already? A small
 * direct-mapped cache: a collision at worst forwards a piece of news twice. */
static bool news_first(struct engine *e, const uint8_t node[32], unsigned state, uint64_t inc)
{
	uint64_t h;

	memcpy(&h, node, sizeof h);
	h ^= (inc * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)state << 60);
	h |= 1;   /* 0 marks an empty slot */
	/* two slots per key; the older of the two is replaced */
	size_t a = (size_t)(h % NEWS_CAP), b = (size_t)((h >> 32) % NEWS_CAP);
	if (e->news[a] == h || e->news[b] == h)
		return false;
	e->news[e->news_flip ? a : b] = h;
	e->news_flip = !e->news_flip;
	return true;
}

/* The flood part of swim_queue, for death claims: not to the node itself
 * (whoever takes the claim up tells it, with a ping and a suspicion notice,
 * and it refutes; a claim its answers disprove costs it no refutation). */
static void swim_forward(struct engine *e, const uint8_t node[32], enum peer_state st,
			 uint32_t inc)
{
	for (size_t i = 0; i < e->npeers; i++) {
		struct peer *p = e->peers[i];
		if (p->in_mesh && p != e->from && peer_usable(p) && memcmp(p->pk, node, 32) != 0)
			out_simple(e, p, W_MEMBER, st, inc, node, OC_MEMBER);
	}
}

static void refute(struct engine *e, uint64_t inc)
{
	if (e->left)
		return;   /* it said goodbye: a verdict about it is true now */
	if (inc >= e->incarnation) {
		/* saturating: never back to 0 (callers keep inc within
		 * INC_SKEW_S of the clock, so this is for the year 2106) */
		e->incarnation = inc < UINT32_MAX ? (uint32_t)inc + 1 : UINT32_MAX;
	} else if (e->now < e->last_refute + e->cfg.probe_ms) {
		/* a stale verdict (older than our incarnation): our last
		 * refutation is still on its way */
		if (e->from)
			out_simple(e, e->from, W_MEMBER, PEER_ALIVE, e->incarnation, e->self.pk,
				   OC_MEMBER);
		return;
	}
	e->last_refute = e->now;
	lhm_add(e, +1);   /* Lifeguard: suspected, perhaps because we are slow */
	swim_queue(e, e->self.pk, PEER_ALIVE, e->incarnation, true);
	/* and straight back to whoever told us (often the suspecter) */
	if (e->from && !e->from->in_mesh)
		out_simple(e, e->from, W_MEMBER, PEER_ALIVE, e->incarnation, e->self.pk, OC_MEMBER);
}

/* Our incarnation for a PING or ACK to p: 0 (left out) once p has
 * acknowledged it. */
static uint32_t inc_for(const struct engine *e, const struct peer *p)
{
	return p->inc_told == e->incarnation ? 0 : e->incarnation;
}

/* Direct evidence that p lives (it sent us a ping or an ack; an absent
 * incarnation is 0: no news). */
static void alive_evidence(struct engine *e, struct peer *p, uint64_t inc)
{
	if (p->state == PEER_LEFT && inc <= p->incarnation)
		return;   /* an echo from before it left */
	if (inc > p->incarnation) {
		p->incarnation = (uint32_t)inc;
		peer_set_state(e, p, PEER_ALIVE, e->now);
	} else if (p->state != PEER_ALIVE) {
		/* it does not know what we think: tell it, so it refutes */
		out_simple(e, p, W_MEMBER, p->state, p->incarnation, p->pk, OC_MEMBER);
		if (p->state == PEER_DEAD)   /* we talk to it again meanwhile */
			peer_set_state(e, p, PEER_SUSPECT, e->now);
	}
}

void swim_on_ping(struct engine *e, struct peer *p, uint64_t seq, uint64_t inc)
{
	p->swim_at = e->now;
	out_simple(e, p, W_ACK, seq, inc_for(e, p), NULL, OC_MEMBER);
	swim_piggyback(e, p);
	alive_evidence(e, p, inc);
}

/* May an ACK from p answer our probe: is p its target or a helper we asked? */
static bool probe_answerer(const struct engine *e, const struct peer *p, const struct peer *t)
{
	if (p == t)
		return true;
	for (size_t i = 0; i < e->probe.nhelpers; i++)
		if (e->probe.helpers[i] == p)
			return true;
	return false;
}

void swim_on_ack(struct engine *e, struct peer *p, uint64_t seq, uint64_t inc)
{
	struct peer *t = e->probe.active ? peer_find(e, e->probe.target) : NULL;

	if (seq >= NACK_BIT) {   /* a helper could not reach our probe's target */
		p->acked_at = p->swim_at = e->now;
		if (t && t != p && seq - NACK_BIT == e->probe.seq && probe_answerer(e, p, t))
			e->probe.nacks++;
		alive_evidence(e, p, 0);
		return;
	}
	/* a helper relaying the target's ack: the incarnation is the target's */
	bool relayed = t && t != p && seq == e->probe.seq && probe_answerer(e, p, t);

	p->acked_at = p->swim_at = e->now;   /* it got a PING or PINGREQ of ours */
	/* our probe, answered directly or through a helper */
	if (t && seq == e->probe.seq && !e->probe.acked && probe_answerer(e, p, t)) {
		e->probe.acked = true;
		if (t == p) {
			e->probe.direct = true;   /* the link's loss, for choking (mesh.c) */
			uint32_t sample = (uint32_t)(e->now - e->probe.sent_at);
			p->rtt_ms = p->rtt_ms ? (7 * p->rtt_ms + sample) / 8 : (sample ? sample : 1);
			if (e->probe.inc)
				p->inc_told = e->probe.inc;
		}
		if (t != p && t->state == PEER_SUSPECT)
			peer_set_state(e, t, PEER_ALIVE, e->now);
	}
	/* an ack for a probe we made for someone else: relay it */
	if (seq >= SEQ_INDIRECT && seq < SEQ_INDIRECT + INDIRECT_CAP) {
		struct indirect *in = &e->indirect[seq - SEQ_INDIRECT];
		if (in->used && memcmp(in->target, p->pk, 32) == 0) {
			struct peer *req = peer_find(e, in->requester);
			if (req)   /* even after a NACK: a late ACK still saves a suspicion */
				out_simple(e, req, W_ACK, in->req_seq, inc, NULL, OC_MEMBER);
			in->used = false;
		}
	}
	alive_evidence(e, p, relayed ? 0 : inc);
}

void swim_on_pingreq(struct engine *e, struct peer *p, uint64_t seq, const uint8_t target[32])
{
	struct peer *t = peer_find(e, target);
	size_t i;

	p->swim_at = e->now;
	if (!t || t == p || t->state == PEER_LEFT)
		return;
	for (i = 0; i < INDIRECT_CAP; i++)
		if (!e->indirect[i].used || e->indirect[i].deadline < e->now)
			break;
	if (i == INDIRECT_CAP)
		return;   /* full: the requester has other helpers */
	struct indirect *slot = &e->indirect[i];
	slot->used = true;
	memcpy(slot->requester, p->pk, 32);
	memcpy(slot->target, target, 32);
	slot->req_seq = seq;
	slot->my_seq = SEQ_INDIRECT + i;
	slot->deadline = e->now + e->cfg.probe_ms;
	slot->nack_at = e->now + e->cfg.ack_timeout_ms;
	out_simple(e, t, W_PING, slot->my_seq, inc_for(e, t), NULL, OC_MEMBER);
}

/* May a third party's claim that `node` is at incarnation inc be believed,
 * when we know it at `known` (0: not yet)? Never beyond our clock plus
 * INC_SKEW_S (incarnations start at the clock in seconds; a refutation adds
 * one), and a verdict (anything but alive) never more than INC_JUMP above
 * what we know: refutations step by one, a restart's jump comes from the
 * node itself. What we know already is always plausible. */
static bool inc_plausible(const struct engine *e, uint32_t known, unsigned state, uint64_t inc)
{
	uint64_t ceiling = e->now / 1000 + INC_SKEW_S;

	if (inc <= known)
		return true;
	if (state != PEER_ALIVE && known && (uint64_t)known + INC_JUMP < ceiling)
		ceiling = (uint64_t)known + INC_JUMP;
	return inc <= ceiling;
}

/* A third party says p is dead (or left: only p may say that, so from
 * anyone else it is a death claim). It is our suspicion, not our verdict:
 * p is told and refutes; we pass the claim on once, so that everyone who
 * tracks p hears it within link latencies, and ping p at once and again
 * the next period. Not a word from p within CONFIRM (two pings and the
 * suspicion notices unanswered, and no refutation flooded by p) and p is
 * dead by our own detector (swim_tick); a live p answers, or refutes. */
static void forward_claim(struct engine *e, const uint8_t node[32], uint32_t inc)
{
	/* passed on within a budget: a death is rare, a hostile member may
	 * make up claims as fast as its rate allows (and each would flood) */
	if (e->claims_fwd_left && news_first(e, node, PEER_DEAD, inc)) {
		e->claims_fwd_left--;
		swim_forward(e, node, PEER_DEAD, inc);
	}
}

static void heard_dead(struct engine *e, struct peer *p, uint32_t inc, uint64_t at)
{
	if (p->state == PEER_DEAD || p->state == PEER_LEFT || inc < p->incarnation)
		return;
	if (p->state == PEER_SUSPECT && p->heard_dead && inc == p->incarnation)
		return;   /* an echo */
	p->incarnation = inc;
	peer_set_state(e, p, PEER_SUSPECT, at);   /* a suspicion keeps its start */
	p->heard_dead = true;
	p->heard_at = at;
	p->fuse_called = false;
	swim_queue(e, p->pk, PEER_SUSPECT, inc, false);
	out_simple(e, p, W_PING, NOTICE_SEQ, inc_for(e, p), NULL, OC_MEMBER);
	forward_claim(e, p->pk, inc);
}

/* A third party's verdict (suspect, dead or left) about a member we believe
 * alive, at an incarnation we cannot dismiss. Hearsay is checked before it
 * is taken up: we ping the member, and any word from it within
 * ack_timeout_ms disproves the claim (engine.c clears claim_at); only then
 * is it our suspicion (claim_check()). A made-up claim thus costs a ping,
 * not a suspicion that the victim must refute to the whole mesh. A death
 * claim is still passed on at once (within the budget), so that a real
 * death is heard everywhere within link latencies. */
static void heard_claim(struct engine *e, struct peer *p, bool dead, uint32_t inc)
{
	if (p->claim_at && inc < p->claim_inc)
		return;
	if (p->claim_at && inc == p->claim_inc) {
		p->claim_dead |= dead;   /* the check under way covers it */
	} else {
		p->claim_at = e->now;
		p->claim_inc = inc;
		p->claim_dead = dead;
		out_simple(e, p, W_PING, NOTICE_SEQ, inc_for(e, p), NULL,
			   OC_MEMBER);
	}
	if (dead)
		forward_claim(e, p->pk, inc);
}

/* The driver saw p's connection ended by the other side (its process
 * exited or was killed: the kernel closes its sockets; or its host refused
 * a connection). Checked like a third party's suspicion, and only while p
 * is alive and no check is under way: a ping, and no word from p within
 * ack_timeout_ms makes it our suspicion, passed on at once. A live member
 * (one that only closed an idle connection) answers: one ping. A crashed
 * daemon is thus suspected by every member that held a connection with it
 * within ack_timeout_ms, instead of when its probe comes round. */
void swim_on_gone_hint(struct engine *e, struct peer *p)
{
	if (p->state != PEER_ALIVE || p->claim_at)
		return;
	e->st.gone_hints++;
	heard_claim(e, p, false, p->incarnation);
}

/* A claim its member did not answer in time becomes our suspicion, dated
 * from the claim. */
static void claim_check(struct engine *e, struct peer *p)
{
	if (p->state != PEER_ALIVE || p->incarnation > p->claim_inc) {
		p->claim_at = 0;   /* overtaken */
		return;
	}
	if (e->now < p->claim_at + e->cfg.ack_timeout_ms)
		return;
	uint64_t at = p->claim_at;
	p->claim_at = 0;
	if (p->claim_dead) {
		heard_dead(e, p, p->claim_inc, at);
		return;
	}
	p->incarnation = p->claim_inc;
	peer_set_state(e, p, PEER_SUSPECT, at);
	swim_queue(e, p->pk, PEER_SUSPECT, p->incarnation, true);   /* confirmed: pass it on */
}

void swim_on_member(struct engine *e, struct peer *from, const uint8_t node[32], unsigned state,
		    uint64_t inc)
{
	if (inc > UINT32_MAX || state > PEER_LEFT)
		return;
	if (memcmp(node, e->self.pk, 32) == 0) {
		/* what we said, or what we might have said before a restart */
		if (state != PEER_ALIVE &&
		    (inc <= e->incarnation || inc <= e->now / 1000 + INC_SKEW_S))
			refute(e, inc);
		return;
	}
	/* the node's own word (the transport authenticates the sender) */
	bool own = from && memcmp(from->pk, node, 32) == 0;
	struct peer *p = peer_find(e, node);
	if (!own && !inc_plausible(e, p ? p->incarnation : 0, state, inc)) {
		e->st.member_refused++;
		return;
	}
	if (!p) {
		struct origin *o;
		/* learn members only if they are members: a valid chain */
		if (state == PEER_ALIVE && trust_origin(e, node, &o) == 0 &&
		    (p = peer_get(e, node, e->now))) {
			p->incarnation = (uint32_t)inc;
			swim_queue(e, node, PEER_ALIVE, (uint32_t)inc, true);
			return;
		}
		/* news about a node we do not track (a partial view, or a full
		 * table): pass a death claim on once, so the flood reaches the
		 * nodes that do track it (refutations go straight to whoever
		 * suspected, and flood among those who track the node) */
		if (state == PEER_DEAD || state == PEER_LEFT)
			forward_claim(e, node, (uint32_t)inc);
		return;
	}
	if (own && (state == PEER_SUSPECT || state == PEER_DEAD))
		return;   /* a node does not suspect itself */
	/* a verdict at incarnation 0 comes from a member that never learned
	 * p's (it rides on pings only until acknowledged): not stale, so
	 * checked like a current one (a ping), not ignored */
	if (!own && state != PEER_ALIVE && inc == 0)
		inc = p->incarnation;
	if (!own && state != PEER_ALIVE)
		confirm(p, from, inc);
	if (!own && state != PEER_ALIVE && p->state == PEER_ALIVE && inc >= p->incarnation) {
		heard_claim(e, p, state != PEER_SUSPECT, (uint32_t)inc);
		return;
	}
	if (!own && (state == PEER_DEAD || state == PEER_LEFT)) {
		heard_dead(e, p, (uint32_t)inc, e->now);
		return;
	}
	enum peer_state cur = p->state;
	bool apply = false;
	switch (state) {
	case PEER_ALIVE:
		/* a node that left and came back does so with a higher incarnation */
		apply = inc > p->incarnation;
		break;
	case PEER_SUSPECT:
		apply = (cur == PEER_ALIVE && inc >= p->incarnation) ||
			(cur == PEER_SUSPECT && inc > p->incarnation);
		break;
	case PEER_LEFT:   /* its own word: a graceful leave */
		apply = cur != PEER_LEFT && inc >= p->incarnation;
		break;
	}
	if (!apply)
		return;
	p->incarnation = (uint32_t)inc;
	peer_set_state(e, p, (enum peer_state)state, e->now);
	swim_queue(e, node, (enum peer_state)state, (uint32_t)inc, state != PEER_SUSPECT);
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b, 32);
}

/* This probe period's partner (see "Pairs" at the top): members 0..m-1
 * by key, one more place if m is odd; in period k, place i (not the last)
 * meets (2t - i) mod (M - 1), t = k mod (M - 1), or the last place if
 * that is i itself. */
static void pair_update(struct engine *e)
{
	uint64_t per = e->cfg.probe_ms, k = e->now / per;
	size_t m = 1, me = 0, j;

	if (e->pair.period == k + 1)
		return;
	e->pair.period = k + 1;
	e->pair.from = k * per;
	e->pair.set = false;
	if (e->pair.cap < e->npeers + 1) {
		const uint8_t **r = realloc(e->pair.ring, (e->npeers + 1) * sizeof *r);
		if (!r)
			return;
		e->pair.ring = r;
		e->pair.cap = e->npeers + 1;
	}
	e->pair.ring[0] = e->self.pk;
	for (size_t i = 0; i < e->npeers; i++)
		if (e->peers[i]->state == PEER_ALIVE || e->peers[i]->state == PEER_SUSPECT)
			e->pair.ring[m++] = e->peers[i]->pk;
	if (m < 2)
		return;
	qsort(e->pair.ring, m, sizeof *e->pair.ring, key_cmp);
	while (e->pair.ring[me] != e->self.pk)
		me++;
	size_t M = m + (m & 1), t = (size_t)(k % (M - 1));
	if (me == M - 1) {
		j = t;
	} else {
		j = (2 * t + 2 * (M - 1) - me) % (M - 1);
		if (j == me)
			j = M - 1;
	}
	if (j >= m)
		return;   /* the odd one out this period */
	memcpy(e->pair.pk, e->pair.ring[j], 32);
	e->pair.set = true;
}

/* Is p this period's partner, and not heard from since the period began? */
static bool partner_unheard(const struct engine *e, const struct peer *p)
{
	return e->pair.set && p->swim_at < e->pair.from && memcmp(p->pk, e->pair.pk, 32) == 0;
}

/* When a probe of p is due (see the top of this file; 0: now, UINT64_MAX:
 * not while it is in this state). `round` is n × probe_ms. While
 * membership news waits to ride on pings, every member is (classic SWIM:
 * the news spreads at the full rate). */
static uint64_t due_at(const struct engine *e, const struct peer *p, uint64_t round)
{
	if (p->state == PEER_SUSPECT || (p->state == PEER_ALIVE && e->mq_n))
		return 0;
	if (p->state != PEER_ALIVE)
		return UINT64_MAX;
	if (!p->swim_at || !p->acked_at)
		return 0;
	/* this period's partner, unless it was heard from in the period */
	uint64_t d = partner_unheard(e, p) ? e->pair.from : UINT64_MAX;
	/* the fallback: a pseudo-random window in [round, 2·round) after the
	 * last exchange, and two periods, so that pairs meet before it
	 * (every M - 1 periods) and windows do not run out together */
	uint64_t h = (p->swim_at ^ ((uint64_t)p->pk[0] << 8 | p->pk[1])) * 0x9e3779b97f4a7c15ull;
	h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ull;
	uint64_t w = p->swim_at + round + 2 * (uint64_t)e->cfg.probe_ms + (h >> 32) % (round + 1);
	uint64_t a = p->acked_at + ACKED_ROUNDS * round;
	w = w < a ? w : a;
	return d < w ? d : w;
}

static bool probe_due(const struct engine *e, const struct peer *p, uint64_t round)
{
	return e->now >= due_at(e, p, round);
}

/* The earliest time a live member becomes due (UINT64_MAX: none). */
static uint64_t next_due(const struct engine *e)
{
	uint64_t next = UINT64_MAX, round;
	size_t nlive = 0;

	for (size_t i = 0; i < e->npeers; i++)
		nlive += e->peers[i]->state == PEER_ALIVE || e->peers[i]->state == PEER_SUSPECT;
	round = (uint64_t)nlive * e->cfg.probe_ms;
	for (size_t i = 0; i < e->npeers; i++) {
		uint64_t d = due_at(e, e->peers[i], round);
		next = d < next ? d : next;
	}
	return next;
}

static struct peer *next_target(struct engine *e)
{
	size_t ndead = 0, nlive = 0;

	for (size_t i = 0; i < e->npeers; i++) {
		enum peer_state s = e->peers[i]->state;
		ndead += s == PEER_DEAD;
		nlive += s == PEER_ALIVE || s == PEER_SUSPECT;
	}
	uint64_t round = (uint64_t)nlive * e->cfg.probe_ms;
	if (e->pair.set) {   /* this period's partner first, unless heard from */
		struct peer *p = peer_find(e, e->pair.pk);
		if (p && p->state == PEER_ALIVE && partner_unheard(e, p))
			return p;
	}
	if (ndead && (e->probe_seq % 2 == 1 || !nlive)) {
		size_t k = eng_rand_below(e, ndead);
		for (size_t i = 0; i < e->npeers; i++)
			if (e->peers[i]->state == PEER_DEAD && k-- == 0)
				return e->peers[i];
	}
	if (!nlive)
		return NULL;
	/* round robin over a shuffled order, reshuffled each pass (SWIM §4.3),
	 * skipping members we have heard from */
	for (size_t tries = 0; tries < 2 * e->npeers + 2; tries++) {
		if (e->probe_pos >= e->probe_n || e->probe_n != e->npeers) {
			size_t *o = realloc(e->probe_order, (e->npeers + 1) * sizeof *o);
			if (!o)
				return NULL;
			e->probe_order = o;
			e->probe_n = e->npeers;
			for (size_t i = 0; i < e->npeers; i++)
				o[i] = i;
			for (size_t i = e->npeers; i > 1; i--) {
				size_t j = eng_rand_below(e, i), t = o[i - 1];
				o[i - 1] = o[j];
				o[j] = t;
			}
			e->probe_pos = 0;
		}
		struct peer *p = e->peers[e->probe_order[e->probe_pos++]];
		if (probe_due(e, p, round))
			return p;
	}
	return NULL;
}

/* Our own detector's verdict, the only way a member becomes DEAD here; it
 * floods, unless we passed the same claim on already (heard_dead()). */
static void declare_dead(struct engine *e, struct peer *p)
{
	peer_set_state(e, p, PEER_DEAD, e->now);
	swim_queue(e, p->pk, PEER_DEAD, p->incarnation,
		   news_first(e, p->pk, PEER_DEAD, p->incarnation));
}

void swim_tick(struct engine *e)
{
	uint64_t now = e->now;

	/* helpers' NACKs: the target did not answer our ping for them */
	for (size_t i = 0; i < INDIRECT_CAP; i++) {
		struct indirect *in = &e->indirect[i];
		if (in->used && in->nack_at && now >= in->nack_at) {
			struct peer *req = peer_find(e, in->requester);
			if (req)
				out_simple(e, req, W_ACK, in->req_seq + NACK_BIT, 0, NULL, OC_MEMBER);
			in->nack_at = 0;
		}
	}
	if (e->probe.active && !e->probe.acked) {
		struct peer *t = peer_find(e, e->probe.target);
		if (t && e->probe.indirect_at && now >= e->probe.indirect_at) {
			/* no direct ack: ask k others */
			struct peer *helpers[16];
			size_t n = 0;
			for (size_t i = 0; i < e->npeers && n < e->cfg.indirect_k && n < 16; i++) {
				struct peer *h = e->peers[eng_rand_below(e, e->npeers)];
				bool dup = false;
				for (size_t j = 0; j < n; j++)
					dup |= helpers[j] == h;
				if (h != t && !dup && peer_usable(h))
					helpers[n++] = h;
			}
			for (size_t i = 0; i < n; i++) {
				out_simple(e, helpers[i], W_PINGREQ, e->probe.seq, 0, t->pk, OC_MEMBER);
				swim_piggyback(e, helpers[i]);
				e->probe.helpers[i] = helpers[i];
			}
			e->probe.nhelpers = (uint8_t)n;
			e->probe.indirect_at = 0;
		}
		bool nacked = e->probe.nhelpers && e->probe.nacks >= e->probe.nhelpers;
		if (t && (now >= e->probe.deadline || nacked)) {
			/* Lifeguard: a helper that did not NACK may mean it is us */
			lhm_add(e, e->probe.nacks < e->probe.nhelpers ? +1 : 0);
			if (t->state == PEER_ALIVE) {
				peer_set_state(e, t, PEER_SUSPECT, now);
				/* our own evidence: passed on for others to check */
				swim_queue(e, t->pk, PEER_SUSPECT, t->incarnation, true);
			}
			probe_done(e);
		}
	} else if (e->probe.active && now >= e->probe.deadline) {
		if (e->probe.acked)
			lhm_add(e, -1);
		probe_done(e);
	}
	pair_update(e);
	if (now >= e->next_probe) {
		/* Lifeguard: a node in poor health probes more slowly */
		uint64_t period = (uint64_t)e->cfg.probe_ms * (1 + e->lhm);
		e->next_probe = now + period;
		e->probe_seq++;
		struct peer *t = next_target(e);
		if (!t) {
			/* nobody due: the slot stays open until somebody is (at
			 * most a period), so that a member whose window runs out
			 * is probed then — probes are as many, just not late */
			uint64_t d = next_due(e);
			e->probe_seq--;
			if (d > now && d < e->next_probe)
				e->next_probe = d;
		}
		if (t) {
			e->probe.active = true;
			e->probe.acked = false;
			e->probe.nhelpers = e->probe.nacks = 0;
			memcpy(e->probe.target, t->pk, 32);
			e->probe.seq = e->probe_seq % NOTICE_SEQ;
			e->probe.inc = inc_for(e, t);
			e->probe.sent_at = now;
			e->probe.indirect_at = now + (uint64_t)e->cfg.ack_timeout_ms * (1 + e->lhm);
			e->probe.deadline = now + period - 1;
			e->probe.direct = false;
			out_simple(e, t, W_PING, e->probe.seq, e->probe.inc, NULL, OC_MEMBER);
			if (!t->acked_at)   /* it may not know us: our chain with it */
				trust_present(e, t);
			swim_piggyback(e, t);
		}
	}
	/* suspicion runs out; until then the suspect hears of it every period
	 * (one lost datagram must not be what declares a live node dead) */
	bool period = now >= e->next_suspect_notice;
	if (period) {
		e->next_suspect_notice = now + e->cfg.probe_ms;
		e->claims_fwd_left = CLAIMS_FWD_PER_PERIOD;
	}
	for (size_t i = 0; i < e->npeers; i++) {
		struct peer *p = e->peers[i];
		if (p->claim_at)
			claim_check(e, p);
		if (p->state != PEER_SUSPECT)
			continue;
		/* the last call: shortly before the suspicion runs out, the
		 * suspect hears of it once more, so that a member back from
		 * a short outage refutes in time — the periodic notice below
		 * may come only after the deadline */
		if (!p->rechecked && now >= last_call_at(e, p)) {
			p->rechecked = true;
			out_simple(e, p, W_MEMBER, PEER_SUSPECT, p->incarnation, p->pk, OC_MEMBER);
		}
		/* ... and before a death claim's short fuse (its ack is the
		 * word that defuses the claim) */
		bool lit = swim_fuse_lit(p);
		if (lit && !p->fuse_called && now >= swim_fuse_call_at(e, p)) {
			p->fuse_called = true;
			out_simple(e, p, W_MEMBER, PEER_SUSPECT, p->incarnation, p->pk, OC_MEMBER);
			out_simple(e, p, W_PING, NOTICE_SEQ, inc_for(e, p), NULL, OC_MEMBER);
		}
		bool confirmed = lit && now >= swim_fuse_at(e, p);
		if (confirmed || now >= swim_suspect_deadline(e, p)) {
			declare_dead(e, p);
		} else if (period) {
			out_simple(e, p, W_MEMBER, PEER_SUSPECT, p->incarnation, p->pk, OC_MEMBER);
			if (p->heard_dead)
				out_simple(e, p, W_PING, NOTICE_SEQ, inc_for(e, p),
					   NULL, OC_MEMBER);
		}
	}
}
