/* Anti-entropy: range-based set reconciliation of the records held.
 *
 * Each record is a point at its keyhash (64 bits of BLAKE2b over kind,
 * origin and key: the same record key lands at the same point everywhere,
 * whatever its version). A range is a keyhash prefix of `bits` bits; its
 * fingerprint is 32 bits of the XOR of the ids in it (fp_of), plus a count.
 *
 *   FP    bits prefix fp32 count16      "this is what I hold there"
 *   SPLIT bits parent 16 × (fp32 count16)  the 16 sub-ranges one nibble deeper
 *   LIST  bits prefix n × (h ver id4)   "these exact records"
 *   NEED  n × h                          "send me these"
 *
 * A side receiving FP compares with its own range: equal → done; one side
 * empty → that side gets everything (a push, or an empty LIST asking for
 * it); few records (<= LEAF) → LIST; else SPLIT. LIST is answered by pushing
 * what the other side lacks or holds older, and a NEED for what we lack.
 * Equal ranges stop at once, so the bytes spent grow with the number of
 * differences (times the depth, log16 of the store size), not with the
 * store. Records pushed by sync are accepted like any other (dedup, trust,
 * signature) but not pushed on to the mesh (mesh.c).
 *
 * Payload encoding (inside a SYNC frame, step SYNC_RANGES): a sequence of
 * entries, big-endian, each starting with its type byte. Step SYNC_PUSH
 * marks the REC frames that follow in the same message as sync pushes.
 *
 * Background rounds, every sync_ms (±25 %) to a random peer, go on the
 * stream path while there is something to repair. Once a round of ours has
 * found nothing (no answer: the fingerprints matched), the next ones open
 * with a datagram — one FP entry, nothing else is sent when the stores are
 * equal, where a TCP exchange cost a handshake and acknowledgements — and
 * after QUIET_ROUNDS such rounds in a row the period doubles per quiet
 * round, up to STRETCH_MAX × sync_ms. Any difference (a record accepted
 * from anywhere, ranges that differ in any round, ours or a peer's) brings
 * back sync_ms and the stream path. A node that starts, or a peer back from
 * the dead, gets its round at once on the stream path (engine.c, peers.c),
 * whatever the period.
 *
 * Catching up: a peer pushes a round no more than its allowance for us
 * (push_allowance: the burst of our per-peer rate, about 960 KB) and the
 * rest waited for our next round, sync_ms later — a new member of a
 * 10 000-record mesh took 10–28 s over WireGuard. Now a tick after which
 * anti-entropy brought records opens the next round CATCHUP_MS later, with
 * another peer than the last when there is one (each pusher has its own
 * allowance for us; a peer takes a fresh round from us once per sync_ms/4
 * anyway). And the pusher whose allowance cut a push short goes on by
 * itself RESUME_MS later (sync_resume: the root range split, answered like
 * any SPLIT). A mesh in step brings nothing by anti-entropy, so this costs
 * nothing there; a peer cannot make us open rounds faster than one per
 * CATCHUP_MS, and what it pushes is checked like any record. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "src/engine/engine_int.h"

enum { SYNC_PUSH = 0, SYNC_RANGES = 1 };
enum { E_FP = 1, E_SPLIT = 2, E_LIST = 3, E_NEED = 4 };
#define LEAF 8
#define LIST_ITEM 20
#define MAX_LIST 4096
#define PUSH_BUDGET (4u << 20)   /* bytes pushed per incoming sync message */
#define QUIET_ROUNDS 3           /* quiet rounds at sync_ms before stretching */
#define STRETCH_MAX 4            /* the longest period, in sync_ms */
#define CATCHUP_MS 250           /* the next round while rounds bring records */
#define RESUME_MS 1000           /* a push cut short by the allowance goes on then */

struct cursor {
	const uint8_t *p;
	size_t len;
};

static int get(struct cursor *c, size_t n, uint64_t *v)
{
	if (n > c->len)
		return -EBADMSG;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++)
		x = (x << 8) | c->p[i];
	c->p += n;
	c->len -= n;
	*v = x;
	return 0;
}

/* An output buffer of entries, sent as stream messages when full. */
struct sync_out {
	struct engine *e;
	struct peer *p;
	uint64_t session;
	uint8_t *buf;
	size_t len, cap;
	bool failed;
};

static void put(struct sync_out *o, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		o->buf[o->len++] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static void flush_out(struct sync_out *o)
{
	if (!o->len)
		return;
	size_t cap = o->len + 32;
	uint8_t *msg = malloc(cap);
	struct wire_buf w;

	if (!msg) {
		o->failed = true;
		o->len = 0;
		return;
	}
	wire_buf_init(&w, msg, cap);
	if (wire_add_sync(&w, o->session, SYNC_RANGES, o->buf, o->len) == 0) {
		out_stream(o->e, o->p, w.buf, w.len, OC_SYNC);
		o->e->st.sync_bytes += w.len;
	}
	free(msg);
	o->len = 0;
}

static bool room(struct sync_out *o, size_t n)
{
	if (o->len + n > o->cap)
		flush_out(o);
	return n <= o->cap;
}

/* The records whose keyhash has this prefix: [*first, *first + *n). */
static void range_of(struct rec **all, size_t total, unsigned bits, uint64_t prefix,
		     size_t *first, size_t *n)
{
	uint64_t lo = bits ? prefix << (64 - bits) : 0;
	uint64_t hi = bits == 0 ? ~0ull : bits == 64 ? lo : lo + (~0ull >> bits);   /* inclusive */
	size_t a = 0, b = total;

	while (a < b) {   /* first >= lo */
		size_t m = a + (b - a) / 2;
		if (all[m]->keyhash < lo)
			a = m + 1;
		else
			b = m;
	}
	size_t s = a;
	b = total;
	while (a < b) {   /* first > hi */
		size_t m = a + (b - a) / 2;
		if (all[m]->keyhash <= hi)
			a = m + 1;
		else
			b = m;
	}
	*first = s;
	*n = a - s;
}

static uint32_t id4_of(const struct rec *x)
{
	return (uint32_t)x->id[0] << 24 | (uint32_t)x->id[1] << 16 | (uint32_t)x->id[2] << 8 |
	       x->id[3];
}

/* A range's fingerprint: 32 bits of the XOR of 8-byte slices of the ids.
 * Which slice depends on the session, so that the (2^-32) chance of two
 * different ranges looking equal does not repeat session after session. */
static uint64_t fp_of(struct rec **r, size_t n, uint64_t session)
{
	size_t off = (size_t)(session % 4) * 8;
	uint64_t fp = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t v;
		memcpy(&v, r[i]->id + off, 8);
		fp ^= v;
	}
	return (fp ^ (fp >> 32)) & 0xffffffffu;
}

/* Counts travel as 16 bits, saturated: only small counts matter exactly. */
static uint64_t cnt16(size_t n)
{
	return n > 0xffff ? 0xffff : n;
}

/* Push a record in its own stream message headed by the SYNC_PUSH marker. */
struct pusher {
	struct engine *e;
	struct peer *p;
	uint8_t *msg;
	struct wire_buf w;
	size_t budget;              /* bytes still queued at most (PUSH_BUDGET) */
	size_t allow;               /* bytes we may send (push_allowance) */
	struct rec **q;             /* what to push, sent by push_done() */
	size_t nq, qcap;
	bool skipped;               /* something did not fit */
};

static void push_flush(struct pusher *ps)
{
	if (ps->msg && ps->w.len > 1) {
		out_stream(ps->e, ps->p, ps->w.buf, ps->w.len, OC_SYNC);
		ps->e->st.sync_bytes += ps->w.len;
	}
	if (ps->msg)
		wire_buf_init(&ps->w, ps->msg, ENGINE_MAX_STREAM);
	if (ps->msg)
		wire_add_sync(&ps->w, 0, SYNC_PUSH, NULL, 0);
}

static void push_now(struct pusher *ps, struct rec *x)
{
	if (!ps->msg) {
		ps->msg = malloc(ENGINE_MAX_STREAM);
		if (!ps->msg)
			return;
		wire_buf_init(&ps->w, ps->msg, ENGINE_MAX_STREAM);
		wire_add_sync(&ps->w, 0, SYNC_PUSH, NULL, 0);
	}
	const uint8_t *w = index_wire(&ps->e->ix, x, NULL);
	if (!w)
		return;
	if (wire_add_record(&ps->w, w, x->wire_len) < 0) {
		push_flush(ps);
		if (wire_add_record(&ps->w, w, x->wire_len) < 0)
			return;
	}
	ps->e->st.sync_records_pushed++;
}

/* Queue a record the peer lacks (within the byte budget). */
static void push(struct pusher *ps, struct rec *x)
{
	if (x->wire_len > ps->budget) {
		ps->skipped = true;   /* the next round brings it */
		return;
	}
	if (ps->nq == ps->qcap) {
		size_t nc = ps->qcap ? ps->qcap * 2 : 256;
		struct rec **q = realloc(ps->q, nc * sizeof *q);
		if (!q)
			return;
		ps->q = q;
		ps->qcap = nc;
	}
	ps->q[ps->nq++] = x;
	ps->budget -= x->wire_len;
}

/* Certificates and revocations first, then node records, then the rest:
 * a peer far behind (a joiner) can then trust each origin as its records
 * arrive, instead of parking them in its small pending queue. */
static int push_rank(const struct rec *x)
{
	return x->kind == KIND_CERT || x->kind == KIND_REVOKE ? 0 : x->kind == KIND_NODE ? 1 : 2;
}

/* Within the allowance, in rank order and with origins taking turns: a
 * flood's thousands of records cannot crowd out an honest origin's one
 * round after round (cut in keyspace order, the same records came first
 * every round, and an honest record behind them never came). */
static void push_done(struct pusher *ps)
{
	if (recs_fair_order(ps->q, ps->nq, push_rank) < 0)
		ps->skipped = true;   /* keyspace order then; nothing lost */
	for (size_t i = 0; i < ps->nq; i++) {
		if (ps->q[i]->wire_len > ps->allow) {
			ps->skipped = true;
			continue;
		}
		ps->allow -= ps->q[i]->wire_len;
		push_now(ps, ps->q[i]);
	}
	if (ps->msg && ps->w.len > 3)
		push_flush(ps);
	free(ps->msg);
	free(ps->q);
}

/* Does a LIST of n records fit one message? (A range the other side holds
 * few of but we hold more than this is split instead: a LIST that did not
 * fit was dropped, and a new member of a mesh of over ~3 270 records got
 * no answer to its first round — 6–7 s until the other side's own round.) */
static bool list_fits(const struct sync_out *o, size_t n)
{
	return n <= MAX_LIST && 1 + 1 + 8 + 2 + n * LIST_ITEM <= o->cap;
}

static void put_list(struct sync_out *o, unsigned bits, uint64_t prefix, struct rec **r, size_t n)
{
	if (n > MAX_LIST)
		n = MAX_LIST;
	if (!room(o, 1 + 1 + 8 + 2 + n * LIST_ITEM))
		return;
	put(o, E_LIST, 1);
	put(o, bits, 1);
	put(o, prefix, 8);
	put(o, n, 2);
	for (size_t i = 0; i < n; i++) {
		put(o, r[i]->keyhash, 8);
		put(o, r[i]->version, 8);
		put(o, id4_of(r[i]), 4);
	}
}

/* The 16 sub-ranges of (bits, prefix), one nibble deeper. */
static void put_split(struct sync_out *o, struct rec **all, size_t total, unsigned bits,
		      uint64_t prefix)
{
	if (!room(o, 1 + 1 + 8 + 16 * 6))
		return;
	put(o, E_SPLIT, 1);
	put(o, bits + 4, 1);
	put(o, prefix, 8);
	for (uint64_t c = 0; c < 16; c++) {
		size_t f2, n2;
		range_of(all, total, bits + 4, (prefix << 4) | c, &f2, &n2);
		put(o, fp_of(all + f2, n2, o->session), 4);
		put(o, cnt16(n2), 2);
	}
}

static void on_fp(struct sync_out *o, struct pusher *ps, struct rec **all, size_t total,
		  unsigned bits, uint64_t prefix, uint64_t fp, uint64_t cnt)
{
	size_t first, n;

	range_of(all, total, bits, prefix, &first, &n);
	if (cnt16(n) == cnt && fp_of(all + first, n, o->session) == fp)
		return;
	o->e->sync_busy = true;
	if (cnt == 0) {
		for (size_t i = 0; i < n; i++)
			push(ps, all[first + i]);
	} else if (n <= LEAF || bits >= 64 || (cnt <= LEAF && list_fits(o, n))) {
		put_list(o, bits, prefix, all + first, n);
	} else {
		put_split(o, all, total, bits, prefix);
	}
}

/* Does our record x beat the other side's (ver, id4)? */
static bool newer(const struct rec *x, uint64_t ver, uint32_t id4)
{
	return x->version > ver || (x->version == ver && id4_of(x) > id4);
}

static int on_list(struct sync_out *o, struct pusher *ps, struct rec **all, size_t total,
		   struct cursor *c, unsigned bits, uint64_t prefix, uint64_t n)
{
	size_t first, mine_n;
	uint64_t need[MAX_LIST];
	size_t nneed = 0, j = 0;

	range_of(all, total, bits, prefix, &first, &mine_n);
	struct rec **mine = all + first;
	/* both sides sorted by keyhash: merge */
	for (uint64_t i = 0; i < n; i++) {
		uint64_t h, ver, id4;
		if (get(c, 8, &h) < 0 || get(c, 8, &ver) < 0 || get(c, 4, &id4) < 0)
			return -EBADMSG;
		while (j < mine_n && mine[j]->keyhash < h)
			push(ps, mine[j++]);          /* they lack it */
		if (j < mine_n && mine[j]->keyhash == h) {
			if (newer(mine[j], ver, (uint32_t)id4))
				push(ps, mine[j]);
			else if (mine[j]->version != ver || id4_of(mine[j]) != id4)
				need[nneed++] = h;    /* theirs is newer */
			j++;
		} else if (nneed < MAX_LIST) {
			need[nneed++] = h;                /* we lack it */
		}
	}
	while (j < mine_n)
		push(ps, mine[j++]);
	if (nneed && room(o, 1 + 2 + nneed * 8)) {
		put(o, E_NEED, 1);
		put(o, nneed, 2);
		for (size_t i = 0; i < nneed; i++)
			put(o, need[i], 8);
	}
	return 0;
}

static int on_need(struct pusher *ps, struct rec **all, size_t total, struct cursor *c,
		   uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t h;
		size_t first, k;
		if (get(c, 8, &h) < 0)
			return -EBADMSG;
		range_of(all, total, 64, h, &first, &k);
		for (size_t j = 0; j < k; j++)
			push(ps, all[first + j]);
	}
	return 0;
}

/* What we may push p by anti-entropy now: no more than its per-peer rate
 * takes. A push costs the receiver a token per 1 280 bytes (and one per
 * eight new records), and its rate (peer_msgs_per_s, assumed ours) is for
 * everything we send it: pushes get half of it, and 3/4 of its burst, so
 * our records and probes always find room. Beyond
 * it the receiver would drop our pushes, and with them our next records
 * and probes (a 4 MiB answer is ~3 300 of its tokens). What is not pushed
 * now comes at the next round. */
static size_t push_allowance(struct engine *e, struct peer *p)
{
	double t = bucket_fill(&p->push_tokens, &p->push_at, push_rate(e), 3 * push_rate(e), e->now);
	/* and what the mirror of its rate has left, a quarter kept for
	 * control frames and our own records (as forwards do): a token per
	 * ENGINE_MTU bytes and one per eight records, of 100 bytes at least
	 * (2.6 tokens per ENGINE_MTU bytes) */
	double room = peer_tx_room(e, p) - tx_rate(e) / 2;
	double by_rate = room * ENGINE_MTU * 3 / 8;

	if (by_rate < t)
		t = by_rate;
	if (t <= 0)
		return 0;
	return t < PUSH_BUDGET ? (size_t)t : PUSH_BUDGET;
}

void sync_on_frame(struct engine *e, struct peer *p, uint64_t session, uint64_t step,
		   const uint8_t *data, size_t len)
{
	struct cursor c = { data, len };
	struct sync_out o = { e, p, session, NULL, 0, ENGINE_MAX_STREAM - 64, false };
	struct pusher ps = { e, p, NULL, { 0 }, PUSH_BUDGET, 0, NULL, 0, 0, false };
	size_t total, allowed;
	int bad = 0;

	if (step != SYNC_RANGES)
		return;
	ps.allow = allowed = push_allowance(e, p);
	struct rec **all = index_sorted(&e->ix, &total);
	if (total && !all)
		return;
	o.buf = malloc(o.cap);
	if (!o.buf)
		return;
	e->st.sync_rounds++;
	while (c.len && !bad) {
		uint64_t type, bits, prefix, v, cnt, n;
		if (get(&c, 1, &type) < 0) {
			bad = 1;
			break;
		}
		switch (type) {
		case E_FP:
			if (get(&c, 1, &bits) || bits > 64 || bits % 4 || get(&c, 8, &prefix) ||
			    get(&c, 4, &v) || get(&c, 2, &cnt)) {
				bad = 1;
				break;
			}
			/* a fresh session from this peer: at most one per sync_ms/4
			 * — unless it is the first of a new life: a peer that
			 * restarted (a crash, procd's respawn) numbers its sessions
			 * from 1 again and opens its first round at once, which must
			 * not be refused for its previous life's last round (a
			 * member killed and restarted within 2.5 s waited a whole
			 * sync_ms for its next round, docs/faults.md). That
			 * exception at most once per sync_ms: a peer cannot use it
			 * to get more than one more round per period. */
			if (bits == 0) {
				bool reborn = p->sync_at && session <= p->sync_session &&
					      (!p->sync_reborn_at || e->now >= p->sync_reborn_at + e->cfg.sync_ms);
				if (p->sync_at && e->now < p->sync_at + e->cfg.sync_ms / 4) {
					if (!reborn) {
						e->st.rate_limited++;
						goto out;
					}
					p->sync_reborn_at = e->now;
				}
				p->sync_at = e->now;
				p->sync_session = session;
			}
			on_fp(&o, &ps, all, total, (unsigned)bits, prefix, v, cnt);
			break;
		case E_SPLIT:
			e->sync_busy = true;
			if (get(&c, 1, &bits) || bits == 0 || bits > 64 || bits % 4 ||
			    get(&c, 8, &prefix)) {
				bad = 1;
				break;
			}
			for (uint64_t ch = 0; ch < 16 && !bad; ch++) {
				if (get(&c, 4, &v) || get(&c, 2, &cnt)) {
					bad = 1;
					break;
				}
				on_fp(&o, &ps, all, total, (unsigned)bits, (prefix << 4) | ch, v, cnt);
			}
			break;
		case E_LIST:
			e->sync_busy = true;
			if (get(&c, 1, &bits) || bits > 64 || bits % 4 || get(&c, 8, &prefix) ||
			    get(&c, 2, &n) || n > MAX_LIST ||
			    on_list(&o, &ps, all, total, &c, (unsigned)bits, prefix, n) < 0)
				bad = 1;
			break;
		case E_NEED:
			e->sync_busy = true;
			if (get(&c, 2, &n) || n > MAX_LIST || on_need(&ps, all, total, &c, n) < 0)
				bad = 1;
			break;
		default:
			bad = 1;
		}
	}
	if (bad) {
		e->st.malformed++;
		peer_penalize(e, p, 5, "peer sent a malformed sync message: graylisted");
	}
out:
	flush_out(&o);
	push_done(&ps);
	p->push_tokens -= (double)(allowed - ps.allow);
	if (ps.skipped) {   /* the rest when the allowance has refilled a little */
		e->st.sync_push_deferred++;
		p->sync_resume_at = e->now + RESUME_MS;
		if (!e->sync_resume_next || p->sync_resume_at < e->sync_resume_next)
			e->sync_resume_next = p->sync_resume_at;
	}
	free(o.buf);
}

void sync_start(struct engine *e, struct peer *p, enum engine_chan chan)
{
	size_t total;
	struct rec **all = index_sorted(&e->ix, &total);
	uint8_t payload[32];
	struct sync_out o = { e, p, ++e->sync_session, payload, 0, sizeof payload, false };

	if (total && !all)
		return;
	put(&o, E_FP, 1);
	put(&o, 0, 1);
	put(&o, 0, 8);
	put(&o, fp_of(all, total, o.session), 4);
	put(&o, cnt16(total), 2);
	if (chan == CHAN_DGRAM) {
		if (out_sync(e, p, o.session, SYNC_RANGES, o.buf, o.len) == 0)
			e->st.sync_bytes += o.len;
		return;
	}
	flush_out(&o);
}

/* Go on with a reconciliation whose pushes our allowance for p cut short:
 * the root range split, as if p had asked (a SPLIT is not a fresh session,
 * which p takes from us once per sync_ms/4); p answers for the sub-ranges
 * that differ and we push the next part. */
static void sync_resume(struct engine *e, struct peer *p)
{
	size_t total;
	struct rec **all = index_sorted(&e->ix, &total);
	uint8_t payload[1 + 1 + 8 + 16 * 6];
	struct sync_out o = { e, p, ++e->sync_session, payload, 0, sizeof payload, false };

	if (total && !all)
		return;
	e->st.sync_resumed++;
	put_split(&o, all, total, 0, 0);
	flush_out(&o);
}

void sync_caught_up(struct engine *e)
{
	e->sync_caught = true;
	if (e->next_sync > e->now + CATCHUP_MS)
		e->next_sync = e->now + CATCHUP_MS;
}

uint64_t sync_next(const struct engine *e)
{
	return e->sync_resume_next && e->sync_resume_next < e->next_sync ? e->sync_resume_next
									  : e->next_sync;
}

/* The resumes due; the peers are walked only when one is (not at every
 * tick), and the earliest still to come is kept. */
static void resumes_due(struct engine *e)
{
	uint64_t next = 0;

	if (!e->sync_resume_next || e->now < e->sync_resume_next)
		return;
	for (size_t i = 0; i < e->npeers; i++) {
		struct peer *p = e->peers[i];
		if (!p->sync_resume_at)
			continue;
		if (e->now < p->sync_resume_at) {
			next = !next || p->sync_resume_at < next ? p->sync_resume_at : next;
			continue;
		}
		p->sync_resume_at = 0;
		if (peer_usable(p))
			sync_resume(e, p);
	}
	e->sync_resume_next = next;
}

void sync_tick(struct engine *e)
{
	resumes_due(e);
	if (e->now < e->next_sync)
		return;
	/* did the last round we opened find nothing? (an equal round gets no
	 * answer; a lost datagram looks the same and costs one period) */
	if (e->sync_busy || !e->sync_opened)
		e->sync_quiet = 0;
	else if (e->sync_quiet < QUIET_ROUNDS + 8)
		e->sync_quiet++;
	e->sync_busy = false;
	unsigned stretch = 1;
	for (unsigned q = QUIET_ROUNDS; q < e->sync_quiet && stretch < STRETCH_MAX; q++)
		stretch *= 2;
	uint64_t period = (uint64_t)e->cfg.sync_ms * stretch;
	bool catching_up = e->sync_caught;
	e->sync_caught = false;
	if (catching_up && period > CATCHUP_MS)
		e->next_sync = e->now + CATCHUP_MS;
	else
		e->next_sync = e->now + period * 3 / 4 + eng_rand_below(e, period / 2 + 1);
	e->sync_opened = false;
	for (size_t tries = 0; tries < 16 && e->npeers; tries++) {
		struct peer *p = e->peers[eng_rand_below(e, e->npeers)];
		/* not one that would refuse a fresh round from us this soon
		 * (catching up: another pusher, another allowance) */
		if (p->sync_to_at && e->now < p->sync_to_at + e->cfg.sync_ms / 4)
			continue;
		if (peer_usable(p)) {
			sync_start(e, p, e->sync_quiet ? CHAN_DGRAM : CHAN_STREAM);
			e->sync_opened = true;
			p->sync_to_at = e->now;
			break;
		}
	}
	if (catching_up && !e->sync_opened) {   /* every peer asked just now: again soon */
		e->sync_caught = true;
		e->next_sync = e->now + CATCHUP_MS;
	}
}
