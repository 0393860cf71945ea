/* Dissemination, after libp2p gossipsub v1.1 (one topic: the mesh).
 *
 * - Eager push of new records to the mesh: D peers kept between D_lo and
 *   D_hi by GRAFT/PRUNE at each heartbeat, PRUNE with a backoff during which
 *   the pruned peer may not GRAFT back, and an opportunistic swap of one
 *   mesh peer every OPPORTUNISTIC_EVERY heartbeats so meshes keep mixing
 *   (after a partition, two meshes would otherwise stay apart).
 * - Records of cfg.large_record bytes or more are announced, then pulled:
 *   an immediate IHAVE to the mesh, and each peer IWANTs it from the first
 *   announcer — one copy per node instead of D.
 * - A node announces to a peer no more than it can serve it: per heartbeat
 *   ANNOUNCE_BYTES_PER_HEARTBEAT of records (what one IWANT event may send
 *   back) and ANNOUNCE_PER_HEARTBEAT of them (lazy gossip included). Large
 *   records beyond that wait in a FIFO backlog, announced to the whole mesh
 *   at the next heartbeats in order; so an IWANT of everything we announced
 *   is always served, and a burst (400 records of 6 KB) costs its sender no
 *   score — only a peer that announces and does not deliver loses it.
 * - Lazy gossip: each heartbeat, the ids seen in the last gossip_windows
 *   heartbeats go by IHAVE to d_lazy usable peers outside the mesh; a peer
 *   IWANTs what it lacks. An IWANT is a promise: a peer that advertised an
 *   id and does not deliver it within a heartbeat loses score.
 * - Early gossip: EARLY_GOSSIP_MS after the first record pushed to us (or
 *   published) in a heartbeat, the ids new since go by IHAVE to d_lazy
 *   usable peers outside the mesh, without waiting for the heartbeat. A
 *   node the eager push missed (its mesh peers crashed and not yet found
 *   dead, or the copies lost) used to wait for the next heartbeat's
 *   gossip, up to a second, and one lost IWANT made it two: the slowest of
 *   1 000 simulated nodes at 10 % loss and 10 % crashed took 1.0–1.9 s in
 *   3 of 20 seeds. The ids are batched over EARLY_GOSSIP_MS, within the
 *   peers' announce budgets, like the heartbeat's gossip.
 * - IDONTWANT (v1.2) from a peer suppresses sending it those ids.
 * - Records that came by anti-entropy are neither pushed nor announced:
 *   they go into the message cache (lazy gossip to peers outside the mesh),
 *   so a node catching up does not cost its mesh anything; after a healed
 *   partition every node runs its own reconciliation (peers.c). Records
 *   from the store are not sent at all. Records that waited for their
 *   origin's certificate are pushed like new ones. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "src/engine/engine_int.h"

#define OPPORTUNISTIC_EVERY 30
#define CHOKE_MIN_SAMPLES 8   /* pushes counted before a peer's share of firsts counts */
#define MESH_QUIET 3          /* heartbeats a mesh peer sends nothing before a new GRAFT */
#define QUIET_MIN_RECORDS 4   /* ... while this many new records came pushed */
#define CHOKE_MIN_PROBES 8    /* direct probes seen before the links count as clean ... */
#define CHOKE_LOSS_1_IN 50    /* ... with at most one in this many unanswered */
#define CHOKE_PROBE_MEMORY 64 /* from this many, both counts are halved */
#define CHOKE_CALM 5          /* heartbeats without a pull before the next choke */
#define EARLY_GOSSIP_MS 150

/* When an IWANT to p is overdue and goes to another announcer: its
 * record should be back after one round trip; 1.5 RTT + 50 ms leaves room
 * for the record's own size and a busy peer */
/* *at becomes t if t is sooner (0: nothing due yet). */
static void sooner(uint64_t *at, uint64_t t)
{
	if (!*at || t < *at)
		*at = t;
}

static uint64_t iwant_retry_ms(const struct peer *p)
{
	uint32_t rtt = p->rtt_ms ? p->rtt_ms : 200;

	return 50 + rtt + rtt / 2;
}

static bool idontwant_has(const struct peer *p, const uint8_t *id)
{
	if (!p->idontwant)
		return false;
	for (int i = 0; i < IDW_CAP; i++)
		if (memcmp(p->idontwant[i], id, WIRE_ID_LEN) == 0)
			return true;
	return false;
}

static void mcache_add(struct engine *e, const uint8_t id[32])
{
	struct mcache_window *w = &e->mcache[e->mcache_pos];

	if (w->n < MCACHE_PER_WINDOW)
		memcpy(w->ids[w->n++], id, WIRE_ID_LEN);
}

/* Up to max usable peers matching `want_mesh`, shuffled. The mesh's are
 * found in e->mesh (a record's push used to look at every peer known: 2-3 %
 * of the daemon's CPU with 1 000 of them), with the same draws as a walk
 * of all peers. */
static size_t pick_peers(struct engine *e, struct peer **out, size_t max, int want_mesh,
			 const struct peer *except)
{
	bool listed = want_mesh == 1 && !e->mesh_over;
	struct peer *const *all = listed ? e->mesh : e->peers;
	size_t n = 0, count = listed ? e->mesh_n : e->npeers;

	for (size_t i = 0; i < count; i++) {
		struct peer *p = all[i];
		if (p == except || !peer_usable(p))
			continue;
		if (want_mesh >= 0 && p->in_mesh != (want_mesh == 1))
			continue;
		/* reservoir sampling keeps the choice uniform */
		if (n < max) {
			out[n++] = p;
		} else {
			uint64_t j = eng_rand_below(e, (uint64_t)p->idx + 1);
			if (j < max)
				out[j] = p;
		}
	}
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)eng_rand_below(e, i);
		struct peer *t = out[i - 1];
		out[i - 1] = out[j];
		out[j] = t;
	}
	return n;
}

/* May we announce a record of len bytes to p now? Charges its budget. */
static bool announce_ok(struct peer *p, size_t len)
{
	if (p->announce_n == 0 || len > p->announce_bytes)
		return false;
	p->announce_n--;
	p->announce_bytes -= (uint32_t)len;
	return true;
}

/* Announce a large record to every mesh target, or to none: 0, or -ENOBUFS
 * when one of them has no budget left this heartbeat (nothing charged). */
static int announce_mesh(struct engine *e, const struct rec *x, struct peer **t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (t[i]->announce_n == 0 || x->wire_len > t[i]->announce_bytes)
			return -ENOBUFS;
	for (size_t i = 0; i < n; i++) {
		if (idontwant_has(t[i], x->id))
			continue;
		announce_ok(t[i], x->wire_len);
		out_ids(e, t[i], W_IHAVE, x->id, 1, OC_GOSSIP);
		e->st.ihave_sent++;
	}
	return 0;
}

static void backlog_add(struct engine *e, const uint8_t id[32])
{
	if (e->backlog_n < BACKLOG_CAP)   /* full: lazy gossip and anti-entropy carry it */
		memcpy(e->backlog[e->backlog_n++], id, WIRE_ID_LEN);
}

/* At a heartbeat, with fresh budgets: the backlog in order, while the mesh
 * takes it. */
static void backlog_drain(struct engine *e)
{
	struct peer *t[64];
	size_t n = pick_peers(e, t, 64, 1, NULL), k = 0;

	for (; k < e->backlog_n; k++) {
		struct rec *x = index_find_id(&e->ix, e->backlog[k], WIRE_ID_LEN);
		if (x && announce_mesh(e, x, t, n) < 0)
			break;
	}
	memmove(e->backlog, e->backlog[k], (e->backlog_n - k) * WIRE_ID_LEN);
	e->backlog_n -= k;
}

void mesh_on_accept(struct engine *e, struct rec *x, const struct origin *o, struct peer *from,
		    enum rec_source src)
{
	struct peer *targets[64];
	size_t n;

	if (src == SRC_STORE)
		return;
	mcache_add(e, x->id);
	if (src == SRC_SYNC)
		return;   /* lazy gossip only (see the top of this file) */
	if (!e->early_at)
		e->early_at = e->now + EARLY_GOSSIP_MS;
	if (e->cfg.no_forward && (src == SRC_PEER || src == SRC_PENDING))
		return;
	n = pick_peers(e, targets, 64, 1, from);
	if (n == 0 && src != SRC_PEER)   /* no mesh yet: reach someone anyway */
		n = pick_peers(e, targets, e->cfg.d, -1, from);
	if (x->wire_len >= e->cfg.large_record) {
		/* after what waits already, in order */
		if (e->backlog_n || announce_mesh(e, x, targets, n) < 0)
			backlog_add(e, x->id);
		return;
	}
	/* a forward of an origin that has used over half of its push burst is
	 * bulk: the first to wait when a peer's rate runs short (peers.c) */
	enum out_prio prio = src == SRC_LOCAL ? PRIO_OWN : PRIO_FORWARD;
	if (prio == PRIO_FORWARD && o && o->rate_at && o->push_tokens < o->push_cap / 2)
		prio = PRIO_BULK;
	for (size_t i = 0; i < n; i++) {
		struct peer *p = targets[i];
		if (idontwant_has(p, x->id))
			continue;
		/* a peer that choked us gets the id (our own records go to the
		 * whole mesh: the first hop sets the pace); beyond its announce
		 * budget, the record as before */
		if (p->choked_us && src != SRC_LOCAL && announce_ok(p, x->wire_len)) {
			out_ids(e, p, W_IHAVE, x->id, 1, OC_GOSSIP);
			e->st.ihave_sent++;
			continue;
		}
		const uint8_t *w = index_wire(&e->ix, x, NULL);
		if (w)
			out_record(e, p, w, x->wire_len, prio, OC_RECORD);
	}
}

/* Promises in use sit below e->promises_hi (a free slot is taken lowest
 * first): a lookup, made for every record received, scans the few in use,
 * not all PROMISE_CAP (57 KiB, the engine's top function in a burst). */
static void promise_release(struct engine *e, struct promise *pr)
{
	pr->used = false;
	while (e->promises_hi && !e->promises[e->promises_hi - 1].used)
		e->promises_hi--;
}

static struct promise *promise_find(struct engine *e, const uint8_t *id)
{
	for (size_t i = 0; i < e->promises_hi; i++)
		if (e->promises[i].used && memcmp(e->promises[i].id, id, WIRE_ID_LEN) == 0)
			return &e->promises[i];
	return NULL;
}

static struct promise *promise_slot(struct engine *e)
{
	size_t oldest = 0;

	for (size_t i = 0; i < PROMISE_CAP; i++) {
		if (!e->promises[i].used) {
			if (i >= e->promises_hi)
				e->promises_hi = i + 1;
			return &e->promises[i];
		}
		if (e->promises[i].deadline < e->promises[oldest].deadline)
			oldest = i;
	}
	return &e->promises[oldest];   /* full: the oldest goes, unpenalised */
}

void mesh_promise_kept(struct engine *e, const uint8_t *id)
{
	struct promise *pr = promise_find(e, id);

	if (pr)
		promise_release(e, pr);
}

/* A promise with nobody asked yet: p (a choked mesh peer) announced id;
 * mesh_retry_promises asks it at retry_at unless a push brought the
 * record (mesh_promise_kept). Nobody is held to it before. */
static void defer_pull(struct engine *e, struct promise *pr, const uint8_t *id,
		       const struct peer *p)
{
	pr->used = true;
	pr->claimed = false;
	pr->deferred = true;
	memcpy(pr->id, id, WIRE_ID_LEN);
	memset(pr->peer, 0, 32);
	memcpy(pr->alt, p->pk, 32);
	pr->has_alt = true;
	pr->has_alt2 = false;
	pr->retry_at = e->now + e->cfg.choke_wait_ms;
	pr->deadline = pr->retry_at + e->cfg.heartbeat_ms;
	sooner(&e->promise_retry_at, pr->retry_at);
}

void mesh_on_ihave(struct engine *e, struct peer *p, const uint8_t *ids, size_t n)
{
	uint8_t want[WIRE_MAX_IDS * WIRE_ID_LEN];
	size_t k = 0;

	for (size_t i = 0; i < n && k < WIRE_MAX_IDS && p->iwant_budget > 0; i++) {
		const uint8_t *id = ids + i * WIRE_ID_LEN;
		if (seen_get(&e->seen, id) || index_find_id(&e->ix, id, WIRE_ID_LEN))
			continue;
		struct promise *pr = promise_find(e, id);
		bool keep_alt = false;
		p->heard |= p->in_mesh && p->choked;   /* a peer that pushes is heard by its pushes */
		if (p->in_mesh && p->choked) {
			/* a choked mesh peer's announce: pulled only if no push
			 * brings the record within choke_wait_ms */
			if (!pr) {
				if (p->announced_first < UINT16_MAX)
					p->announced_first++;
				/* charged now: a choked peer's announces are
				 * bounded like anyone's (promise slots) */
				p->iwant_budget--;
				defer_pull(e, promise_slot(e), id, p);
				continue;
			}
		} else if (pr && pr->deferred) {
			/* from outside the mesh, or a large record's announce
			 * from a peer that pushes to us: ask it now, the choked
			 * one stays the alternative */
			keep_alt = true;
			pr->deferred = false;
			goto ask;
		}
		/* already asked someone: another announcer only once the
		 * answer is overdue (one and a half round trips and 50 ms: the
		 * IWANT or the record lost), not a heartbeat later; the first
		 * one's promise is then forgotten, not held against it */
		if (pr && pr->deadline > e->now && (pr->retry_at > e->now || !memcmp(pr->peer, p->pk, 32))) {
			/* asked if overdue (a second one if that fails too) */
			if (!memcmp(pr->peer, p->pk, 32) || (pr->has_alt && !memcmp(pr->alt, p->pk, 32)))
				continue;
			if (!pr->has_alt) {
				memcpy(pr->alt, p->pk, 32);
				pr->has_alt = true;
				sooner(&e->promise_retry_at, pr->retry_at);
			} else if (!pr->has_alt2) {
				memcpy(pr->alt2, p->pk, 32);
				pr->has_alt2 = true;
			}
			continue;
		}
		if (!pr)
			pr = promise_slot(e);
ask:
		pr->used = true;
		pr->claimed = e->from == p && e->from_claimed;
		memcpy(pr->id, id, WIRE_ID_LEN);
		memcpy(pr->peer, p->pk, 32);
		pr->deadline = e->now + e->cfg.heartbeat_ms + 2 * (p->rtt_ms ? p->rtt_ms : 200);
		pr->retry_at = e->now + iwant_retry_ms(p);
		pr->has_alt = keep_alt;
		pr->has_alt2 = false;
		pr->deferred = false;
		pr->reasked = false;
		sooner(&e->promise_retry_at, pr->retry_at);
		memcpy(want + k * WIRE_ID_LEN, id, WIRE_ID_LEN);
		k++;
		p->iwant_budget--;
	}
	if (k) {
		out_ids(e, p, W_IWANT, want, k, OC_GOSSIP);
		e->st.iwant_sent += k;
	}
}

void mesh_on_iwant(struct engine *e, struct peer *p, const uint8_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p->served_budget == 0)
			return;
		struct rec *x = index_find_id(&e->ix, ids + i * WIRE_ID_LEN, WIRE_ID_LEN);
		const uint8_t *w = x ? index_wire(&e->ix, x, NULL) : NULL;
		if (!w)
			continue;
		p->served_budget--;
		if (out_record(e, p, w, x->wire_len, x->local ? PRIO_OWN : PRIO_SERVE,
			       OC_RECORD) == 0)
			e->st.iwant_served++;
	}
}

void mesh_on_idontwant(struct engine *e, struct peer *p, const uint8_t *ids, size_t n)
{
	(void)e;
	if (!p->idontwant && !(p->idontwant = calloc(IDW_CAP, WIRE_ID_LEN)))
		return;   /* only a hint: without it we may send what it has */
	for (size_t i = 0; i < n; i++) {
		memcpy(p->idontwant[p->idw_pos], ids + i * WIRE_ID_LEN, WIRE_ID_LEN);
		p->idw_pos = (uint8_t)((p->idw_pos + 1) % IDW_CAP);
	}
}

/* In or out of our mesh: either way, no choking either way until someone
 * asks again (a peer enters the mesh pushing). */
static void mesh_set(struct engine *e, struct peer *p, bool in)
{
	size_t k = 0;

	while (k < e->mesh_n && e->mesh[k]->idx < p->idx)
		k++;
	if (in && !p->in_mesh) {
		if (e->mesh_n == MESH_MAX)
			e->mesh_over = true;
		else {
			memmove(&e->mesh[k + 1], &e->mesh[k], (e->mesh_n - k) * sizeof *e->mesh);
			e->mesh[k] = p;
			e->mesh_n++;
		}
	} else if (!in && p->in_mesh && k < e->mesh_n && e->mesh[k] == p) {
		memmove(&e->mesh[k], &e->mesh[k + 1], (e->mesh_n - k - 1) * sizeof *e->mesh);
		e->mesh_n--;
	}
	p->in_mesh = in;
	p->choked = p->choked_us = p->heard = false;
	p->firsts = p->dups = p->announced_first = p->quiet = 0;
}

static size_t mesh_count(const struct engine *e)
{
	size_t n = 0;

	if (!e->mesh_over)
		return e->mesh_n;

	for (size_t i = 0; i < e->npeers; i++)
		n += e->peers[i]->in_mesh;
	return n;
}

static void prune(struct engine *e, struct peer *p)
{
	mesh_set(e, p, false);
	p->backoff_until = e->now + e->cfg.prune_backoff_ms;
	out_simple(e, p, W_PRUNE, e->cfg.prune_backoff_ms / 1000, 0, NULL, OC_GOSSIP);
}

static void graft(struct engine *e, struct peer *p)
{
	mesh_set(e, p, true);
	out_simple(e, p, W_GRAFT, 0, 0, NULL, OC_GOSSIP);
}

void mesh_on_graft(struct engine *e, struct peer *p)
{
	if (p->in_mesh)
		return;
	/* gossipsub v1.1: refuse during backoff, from a bad peer, or when full */
	if (!peer_usable(p) || peer_score(p) < 0 || e->now < p->backoff_until ||
	    mesh_count(e) >= e->cfg.d_hi) {
		if (e->now < p->backoff_until)
			peer_penalize(e, p, 0.5, "peer grafting during its backoff: graylisted");
		out_simple(e, p, W_PRUNE, e->cfg.prune_backoff_ms / 1000, 0, NULL, OC_GOSSIP);
		return;
	}
	mesh_set(e, p, true);
}

void mesh_on_prune(struct engine *e, struct peer *p, uint64_t backoff_s)
{
	if (backoff_s > 3600)
		backoff_s = 3600;
	mesh_set(e, p, false);
	p->backoff_until = e->now + backoff_s * 1000;
}

void mesh_drop_peer(struct engine *e, struct peer *p)
{
	(void)e;
	mesh_set(e, p, false);
}

void mesh_on_choke(struct engine *e, struct peer *p, bool on)
{
	(void)e;
	p->choked_us = on && p->in_mesh;   /* outside our mesh we push it nothing */
}

void mesh_on_push(struct engine *e, struct peer *p, bool first)
{
	if (first && e->arrived < UINT16_MAX)   /* from anyone: new records came */
		e->arrived++;
	if (!p->in_mesh)
		return;
	p->heard = true;
	if (p->choked)
		return;
	if (first && p->firsts < UINT16_MAX)
		p->firsts++;
	else if (!first && p->dups < UINT16_MAX)
		p->dups++;
}

static void choke(struct engine *e, struct peer *p, bool on)
{
	p->choked = on;
	p->firsts = p->dups = p->announced_first = 0;
	out_simple(e, p, W_CHOKE, on, 0, NULL, OC_GOSSIP);
	if (on)
		e->st.chokes++;
	else
		e->st.unchokes++;
}

/* Is a's share of first copies below b's? Without samples, a draw that
 * differs from node to node (keys mixed with ours) but takes nothing from
 * the engine's random stream. */
static bool pushes_worse(const struct engine *e, const struct peer *a, const struct peer *b)
{
	uint32_t na = (uint32_t)a->firsts + a->dups, nb = (uint32_t)b->firsts + b->dups;

	if (na < CHOKE_MIN_SAMPLES || nb < CHOKE_MIN_SAMPLES)
		return na >= CHOKE_MIN_SAMPLES ? false :
		       nb >= CHOKE_MIN_SAMPLES ? true :
		       (a->pk[0] ^ e->self.pk[0]) < (b->pk[0] ^ e->self.pk[0]);
	return (uint64_t)a->firsts * nb < (uint64_t)b->firsts * na;
}

/* Each heartbeat: keep d_eager mesh peers pushing to us, the rest choked
 * (they announce). A record pulled from a choked peer since the last
 * heartbeat (no push came within choke_wait_ms: a push lost, or the eager
 * peers slow or gone) unchokes the choked peer that announced first most
 * often; chokes resume only after CHOKE_CALM heartbeats without a pull,
 * so under loss the eager set grows and stays grown. Among the eager, the
 * one whose pushes were least often first is choked first. */
/* Are our links clean enough to choke? At least CHOKE_MIN_PROBES direct
 * probes, of which at most 1 in CHOKE_LOSS_1_IN went unanswered (lost, or
 * the target gone). Where datagrams are lost, or members crash, the eager
 * copies are what keeps the slowest node fast: the simulator at 10 % loss
 * and 10 % crashed, one record after an idle mesh, had its slowest node
 * at 1.0-1.5 s with d_eager 2 (0.40-0.52 s without choking). */
static bool links_clean(const struct engine *e)
{
	uint32_t sent = e->probes_sent, lost = sent - e->probes_answered;

	return sent >= CHOKE_MIN_PROBES && lost * CHOKE_LOSS_1_IN <= sent;
}

static void choke_update(struct engine *e)
{
	struct peer *mesh[64];
	size_t nm = 0, eager = 0;
	uint64_t hb = e->cfg.heartbeat_ms;
	bool pulled = e->pulled_at && e->now - e->pulled_at < hb;
	bool calm = !e->pulled_at || e->now - e->pulled_at >= CHOKE_CALM * hb;
	/* enough new records came from peers since the last heartbeat
	 * (pushed or pulled, from anyone) that a mesh peer pushing none of
	 * them is telling */
	bool any = e->arrived >= QUIET_MIN_RECORDS;

	e->arrived = 0;
	for (size_t i = 0; i < e->npeers && nm < 64; i++)
		if (e->peers[i]->in_mesh)
			mesh[nm++] = e->peers[i];
	for (size_t i = 0; i < nm; i++) {
		struct peer *p = mesh[i];
		/* silent while the others were not: crashed, or it does not
		 * have us in its mesh (a GRAFT or PRUNE lost). It does not
		 * count as pushing to us; every MESH_QUIET heartbeats it gets
		 * a GRAFT again (it refuses with a PRUNE, or takes us) */
		if (p->heard)
			p->quiet = 0;
		else if (any && p->quiet < UINT8_MAX)
			p->quiet++;   /* (kept while nothing comes: no news of it) */
		p->heard = false;
		if (p->quiet && p->quiet % MESH_QUIET == 0) {
			out_simple(e, p, W_GRAFT, 0, 0, NULL, OC_GOSSIP);
			if (p->choked)
				out_simple(e, p, W_CHOKE, 1, 0, NULL, OC_GOSSIP);
		}
		p->firsts -= p->firsts >> 3;   /* a memory of some ten heartbeats */
		p->dups -= p->dups >> 3;
		p->announced_first -= p->announced_first >> 3;
		eager += !p->choked && !p->quiet;
	}
	/* unchoke while short of d_eager (all of them if choking is off or
	 * the links are not clean), one more after a pull */
	bool clean = links_clean(e);
	if (e->probes_sent >= CHOKE_PROBE_MEMORY) {   /* the recent ones count */
		uint32_t lost = e->probes_sent - e->probes_answered;
		e->probes_sent -= e->probes_sent / 2;
		e->probes_answered = e->probes_sent - (lost - lost / 2);
	}
	size_t want = e->cfg.d_eager && clean ? e->cfg.d_eager : nm;
	bool unchoked = false;
	while (eager < want || (pulled && !unchoked)) {
		struct peer *best = NULL;
		for (size_t i = 0; i < nm; i++)
			if (mesh[i]->choked && (!best || mesh[i]->quiet < best->quiet ||
						(mesh[i]->quiet == best->quiet &&
						 mesh[i]->announced_first > best->announced_first)))
				best = mesh[i];
		if (!best)
			break;
		choke(e, best, false);
		eager += !best->quiet;
		unchoked = true;
	}
	if (unchoked || !e->cfg.d_eager || !clean || eager <= e->cfg.d_eager || !calm)
		return;
	for (; eager > e->cfg.d_eager; eager--) {   /* the least often first go */
		struct peer *worst = NULL;
		for (size_t i = 0; i < nm; i++)
			if (!mesh[i]->choked && !mesh[i]->quiet &&
			    (!worst || pushes_worse(e, mesh[i], worst)))
				worst = mesh[i];
		choke(e, worst, true);
	}
}

static void maintain_mesh(struct engine *e)
{
	struct peer *cand[64];
	size_t have = 0, n;

	for (size_t i = 0; i < e->npeers; i++) {
		struct peer *p = e->peers[i];
		if (p->in_mesh && (!peer_usable(p) || peer_score(p) < 0))
			mesh_set(e, p, false);
		have += p->in_mesh;
	}
	if (have < e->cfg.d_lo) {
		n = pick_peers(e, cand, 64, 0, NULL);
		for (size_t i = 0; i < n && have < e->cfg.d; i++) {
			if (e->now < cand[i]->backoff_until || peer_score(cand[i]) < 0)
				continue;
			graft(e, cand[i]);
			have++;
		}
	} else if (have > e->cfg.d_hi) {
		n = pick_peers(e, cand, 64, 1, NULL);
		for (size_t i = 0; i < n && have > e->cfg.d; i++) {
			prune(e, cand[i]);
			have--;
		}
	} else if (e->heartbeats % OPPORTUNISTIC_EVERY == 0 && have >= e->cfg.d_lo) {
		/* swap one mesh peer for one outside it, so meshes keep mixing */
		struct peer *in[1], *out[8];
		if (pick_peers(e, in, 1, 1, NULL) == 1) {
			n = pick_peers(e, out, 8, 0, NULL);
			for (size_t i = 0; i < n; i++) {
				if (e->now < out[i]->backoff_until || peer_score(out[i]) < 0)
					continue;
				mesh_set(e, in[0], false);
				out_simple(e, in[0], W_PRUNE, 0, 0, NULL, OC_GOSSIP);
				graft(e, out[i]);
				break;
			}
		}
	}
}

/* IHAVE of recs to d_lazy usable peers outside the mesh, each as far as
 * its announce budget goes (ids: room for nrecs ids). */
static void gossip_lazy(struct engine *e, struct rec **recs, size_t nrecs,
			uint8_t (*ids)[WIRE_ID_LEN])
{
	struct peer *lazy[32];

	if (!nrecs)
		return;
	for (size_t k = 0; k < nrecs; k++)
		memcpy(ids[k], recs[k]->id, WIRE_ID_LEN);
	size_t n = pick_peers(e, lazy, e->cfg.d_lazy < 32 ? e->cfg.d_lazy : 32, 0, NULL);
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < nrecs && announce_ok(lazy[i], recs[k]->wire_len))
			k++;
		if (k) {
			out_ids(e, lazy[i], W_IHAVE, ids[0], k, OC_GOSSIP);
			e->st.ihave_sent += k;
		}
	}
}

static void emit_gossip(struct engine *e)
{
	size_t cap = (size_t)e->cfg.gossip_windows * MCACHE_PER_WINDOW, nrecs = 0;
	unsigned wins = e->cfg.gossip_windows;
	bool clean = links_clean(e);
	struct rec **recs = malloc(cap * sizeof *recs);
	uint8_t (*ids)[WIRE_ID_LEN] = malloc(cap * WIRE_ID_LEN);

	if (!recs || !ids)
		goto out;

	for (unsigned w = 0; w < wins; w++) {
		struct mcache_window *mw =
			&e->mcache[(e->mcache_pos + MCACHE_MAX_WINDOWS - w) % MCACHE_MAX_WINDOWS];
		for (unsigned i = 0; i < mw->n; i++) {
			/* only what we still hold; on clean links, not the
			 * small records early gossip announced already */
			struct rec *x = index_find_id(&e->ix, mw->ids[i], WIRE_ID_LEN);
			if (x && !(w == 0 && i < e->early_from && clean &&
				   x->wire_len < e->cfg.large_record))
				recs[nrecs++] = x;
		}
	}
	if (!nrecs)
		goto out;
	/* newest first, origins taking turns: under a flood the announce
	 * budget would otherwise go to the flood's newest records, and an
	 * honest record that missed the eager push was never announced */
	recs_fair_order(recs, nrecs, NULL);
	gossip_lazy(e, recs, nrecs, ids);
out:
	free(recs);
	free(ids);
}

/* Promises overdue: ask a peer that announced the record meanwhile now,
 * instead of waiting for its next IHAVE (a heartbeat); if no one else did,
 * the one asked once more (the IWANT or the record was lost: with its
 * mesh peers crashed, a node may have heard a single announce). */
void mesh_retry_promises(struct engine *e)
{
	uint64_t next = 0;

	for (size_t i = 0; i < e->promises_hi; i++) {
		struct promise *pr = &e->promises[i];
		if (!pr->used || (!pr->has_alt && (pr->reasked || pr->claimed)))
			continue;   /* (an announce under a claimed key: not asked twice) */
		if (pr->retry_at > e->now) {
			sooner(&next, pr->retry_at);
			continue;
		}
		struct peer *p;
		if (pr->has_alt) {
			/* the alternative, and the next one moves up */
			p = peer_find(e, pr->alt);
			pr->has_alt = pr->has_alt2;
			pr->has_alt2 = false;
			memcpy(pr->alt, pr->alt2, 32);
		} else {
			p = peer_find(e, pr->peer);
			pr->reasked = true;
		}
		bool prepaid = pr->deferred;   /* charged at its announce */
		if (!p || !peer_usable(p) || (!prepaid && !p->iwant_budget)) {
			if (pr->has_alt)
				sooner(&next, pr->retry_at);
			continue;
		}
		if (pr->deferred) {   /* no push brought it: the eager peers fall short */
			pr->deferred = false;
			e->pulled_at = e->now;
			e->st.choke_pulls++;
		}
		if (!prepaid)
			p->iwant_budget--;
		memcpy(pr->peer, p->pk, 32);
		pr->claimed = false;
		pr->deadline = e->now + e->cfg.heartbeat_ms + 2 * (p->rtt_ms ? p->rtt_ms : 200);
		pr->retry_at = e->now + iwant_retry_ms(p);
		out_ids(e, p, W_IWANT, pr->id, 1, OC_GOSSIP);
		e->st.iwant_sent++;
		if (pr->has_alt || !pr->reasked)
			sooner(&next, pr->retry_at);
	}
	e->promise_retry_at = next;
}

void mesh_early_gossip(struct engine *e)
{
	struct mcache_window *mw = &e->mcache[e->mcache_pos];
	size_t nrecs = 0, cap = mw->n > e->early_from ? mw->n - e->early_from : 0;
	struct rec **recs = cap ? malloc(cap * sizeof *recs) : NULL;
	uint8_t (*ids)[WIRE_ID_LEN] = cap ? malloc(cap * WIRE_ID_LEN) : NULL;

	e->early_at = 0;
	if (recs && ids) {
		for (unsigned i = e->early_from; i < mw->n; i++) {
			struct rec *x = index_find_id(&e->ix, mw->ids[i], WIRE_ID_LEN);
			if (x && x->wire_len < e->cfg.large_record)   /* large ones are announced anyway */
				recs[nrecs++] = x;
		}
		e->early_from = mw->n;
		gossip_lazy(e, recs, nrecs, ids);
	}
	free(recs);
	free(ids);
}

static void expire_promises(struct engine *e)
{
	for (size_t i = 0; i < e->promises_hi; i++) {
		struct promise *pr = &e->promises[i];
		if (!pr->used || pr->deadline > e->now)
			continue;
		promise_release(e, pr);
		struct peer *p = peer_find(e, pr->peer);
		if (p && pr->claimed)
			e->st.unattributed++;
		else if (p)
			peer_penalize(e, p, 1.0, "peer broke its IWANT promises: graylisted");
	}
}

void mesh_heartbeat(struct engine *e)
{
	e->heartbeats++;
	peers_decay(e);
	expire_promises(e);
	maintain_mesh(e);
	choke_update(e);
	for (size_t i = 0; i < e->npeers; i++) {
		e->peers[i]->iwant_budget = IWANT_PER_HEARTBEAT;
		e->peers[i]->served_budget = SERVE_PER_HEARTBEAT;
		e->peers[i]->announce_bytes = ANNOUNCE_BYTES_PER_HEARTBEAT;
		e->peers[i]->announce_n = ANNOUNCE_PER_HEARTBEAT;
	}
	backlog_drain(e);
	emit_gossip(e);
	/* shift the message cache: the oldest window is forgotten */
	e->mcache_pos = (e->mcache_pos + 1) % MCACHE_MAX_WINDOWS;
	e->mcache[e->mcache_pos].n = 0;
	e->early_at = 0;   /* what was new is in the gossip just sent */
	e->early_from = 0;
}
