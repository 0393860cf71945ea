/* The simulator's core: event heap, simulated network, engine hosting and
 * accounting (design in sim.h; scenarios in scenario.c).
 *
 * Network: a message from A to B is delivered after a latency drawn
 * uniformly in [lat_min, lat_max] ms. A datagram is lost with probability
 * `loss`; the stream path is reliable and ordered per (A, B) pair (a
 * stream message is never delivered before an earlier one of the same
 * pair). Nothing is delivered to or from a down node, nor across an
 * active partition (checked at send and again at delivery, for messages in
 * flight when the partition starts). Bandwidth is not modelled.
 *
 * Hosting: each node's engine gets the same ops with the node as ctx.
 * While a delivery is processed the core remembers (from, to), so that
 * ops->accepted knows the parent of a record (hop = parent's hop + 1).
 * After every input to an engine a tick is scheduled at the same time:
 * that is how a driver learns the engine's next deadline, and it is
 * coalesced (at most one live tick per node).
 *
 * Accounting: engine counters (struct engine_stats) are read at the start
 * of the window and at the end; a node that goes down in between adds
 * its share then (its engine is freed). Independently, the core parses
 * every message it carries (src/engine/wire.h) and counts bytes by frame
 * type: a check on the engine's own byte counters. */
#include <errno.h>
#include <math.h>   /* NAN, isfinite: macros only, no libm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <json-c/json.h>
#include "tools/sim/scenario.h"
#include "src/engine/wire.h"
#include "crypto/crypto.h"
#include "crypto/record_sig.h"
#include "proto/hex.h"

static const char *const scenario_names[] = {
	"basic", "partition", "rejoin", "revoke", "detect", NULL,
};
static const char *const byz_names[] = {
	"none", "silent", "drop-forward", "forge", "replay", "flood", "cert-adopt", "claim", "hog",
	"strangers", "spoof", "forge-member", NULL,
};

const char *sim_scenario_name(enum sim_scenario sc)
{
	return (unsigned)sc <= SIM_DETECT ? scenario_names[sc] : "?";
}

int sim_scenario_from_name(const char *name)
{
	for (int i = 0; scenario_names[i]; i++)
		if (!strcmp(scenario_names[i], name))
			return i;
	return -1;
}

const char *sim_byz_name(enum sim_byz b)
{
	return (unsigned)b <= BYZ_LAST ? byz_names[b] : "?";
}

int sim_byz_from_name(const char *name)
{
	for (int i = 0; byz_names[i]; i++)
		if (!strcmp(byz_names[i], name))
			return i;
	return -1;
}

void sim_config_default(struct sim_config *c, enum sim_scenario sc)
{
	memset(c, 0, sizeof *c);
	c->nodes = 100;
	c->seed = 1;
	c->scenario = sc;
	c->lat_min_ms = 20;
	c->lat_max_ms = 80;
	c->heal_ms = 5000;
	c->churn_up_ms = 5000;
	c->churn_down_ms = 3000;
	c->churn_for_ms = 10000;
	c->byz_interval_ms = 200;
	c->size = 200;
	c->publish = 1;
	c->rate = 10;
	c->miss = 0.01;
	c->warmup_ms = 5000;
	c->max_sim_ms = 120000;
	c->check_ms = 50;
	engine_config_default(&c->engine);
	switch (sc) {
	case SIM_PARTITION:
		c->partition = true;
		c->publish = 10;
		c->rate = 4;
		break;
	case SIM_REJOIN:
		c->publish = 10000;
		c->rate = 100;   /* well under the per-peer frame rate: not a load test */
		c->max_sim_ms = 300000;
		break;
	case SIM_REVOKE:
		c->publish = 4;
		break;
	case SIM_DETECT:
		c->crash = 0.01;
		c->loss = 0.05;
		c->run_ms = 30000;
		c->publish = 0;
		break;
	case SIM_BASIC:
		break;
	}
}

const char *sim_config_check(const struct sim_config *c)
{
	if (c->nodes < 3)
		return "--nodes must be at least 3";
	if (c->nodes > 1000000)
		return "--nodes must be at most 1000000";
	if (c->lat_min_ms > c->lat_max_ms)
		return "--latency-ms MIN-MAX wants MIN <= MAX";
	if (!(c->loss >= 0 && c->loss < 1))
		return "--loss must be in [0, 1)";
	if (!(c->crash >= 0 && c->crash < 1) || !(c->churn >= 0 && c->churn < 1) ||
	    !(c->byzantine >= 0 && c->byzantine < 1))
		return "--crash, --churn and --byzantine are fractions in [0, 1)";
	if (c->crash + c->churn + c->byzantine >= 1)
		return "--crash + --churn + --byzantine must stay below 1";
	if (c->byzantine > 0 && c->byz_mode == BYZ_NONE)
		return "--byzantine needs --byz-mode";
	if (c->publish > 0 && !(c->rate > 0))
		return "--rate must be positive";
	if (c->check_ms == 0 || c->byz_interval_ms == 0)
		return "--check-ms and --byz-interval-ms must be positive";
	if (c->max_sim_ms == 0 || c->warmup_ms >= c->max_sim_ms)
		return "--max-sim-s must exceed --warmup-s";
	if (c->scenario == SIM_REJOIN && (c->publish < 2 || !(c->miss > 0 && c->miss < 1)))
		return "rejoin needs --records >= 2 and --miss in (0, 1)";
	if (c->scenario == SIM_PARTITION && c->heal_ms == 0)
		return "partition needs --heal-s > 0";
	if (c->engine.heartbeat_ms == 0)
		return "engine heartbeat_ms must be positive";
	return NULL;
}

/* ---- randomness ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
uint64_t sim_rand(struct sim *s)
{
	uint64_t *st = s->rng;
	uint64_t r = rotl(st[1] * 5, 7) * 9, t = st[1] << 17;

	st[2] ^= st[0];
	st[3] ^= st[1];
	st[1] ^= st[2];
	st[0] ^= st[3];
	st[2] ^= t;
	st[3] = rotl(st[3], 45);
	return r;
}

double sim_uniform(struct sim *s)
{
	return (double)(sim_rand(s) >> 11) * 0x1.0p-53;
}

uint64_t sim_rand_below(struct sim *s, uint64_t n)
{
	return n ? (uint64_t)(((unsigned __int128)sim_rand(s) * n) >> 64) : 0;
}

/* ---- maps ---- */

static size_t map_slot(const uint8_t key[32], size_t cap)
{
	uint64_t h;

	memcpy(&h, key, 8);
	h ^= h >> 29;
	h *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(h >> 17) & (cap - 1);
}

int64_t sim_map_get(const struct sim_map *m, const uint8_t key[32])
{
	if (!m->cap)
		return -1;
	for (size_t i = map_slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->vals[i] == SIM_NONE)
			return -1;
		if (!memcmp(m->keys[i], key, 32))
			return m->vals[i];
	}
}

static int map_grow(struct sim_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	uint8_t (*keys)[32] = malloc(cap * 32);
	uint32_t *vals = malloc(cap * sizeof *vals);

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < cap; i++)
		vals[i] = SIM_NONE;
	for (size_t i = 0; i < m->cap; i++) {
		if (m->vals[i] == SIM_NONE)
			continue;
		size_t j = map_slot(m->keys[i], cap);
		while (vals[j] != SIM_NONE)
			j = (j + 1) & (cap - 1);
		memcpy(keys[j], m->keys[i], 32);
		vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	return 0;
}

int sim_map_put(struct sim_map *m, const uint8_t key[32], uint32_t val)
{
	if ((m->n + 1) * 2 > m->cap && map_grow(m) < 0)
		return -ENOMEM;
	size_t i = map_slot(key, m->cap);
	while (m->vals[i] != SIM_NONE) {
		if (!memcmp(m->keys[i], key, 32)) {
			m->vals[i] = val;
			return 0;
		}
		i = (i + 1) & (m->cap - 1);
	}
	memcpy(m->keys[i], key, 32);
	m->vals[i] = val;
	m->n++;
	return 0;
}

void sim_map_free(struct sim_map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

/* ---- event heap, ordered by (t, seq) ---- */

static bool ev_before(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void heap_push(struct sim *s, const struct ev *ev)
{
	if (s->nheap == s->capheap) {
		size_t cap = s->capheap ? s->capheap * 2 : 4096;
		struct ev *h = realloc(s->heap, cap * sizeof *h);
		if (!h) {
			fprintf(stderr, "mirrornet-sim: out of memory (event heap)\n");
			abort();
		}
		s->heap = h;
		s->capheap = cap;
	}
	size_t i = s->nheap++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!ev_before(ev, &s->heap[p]))
			break;
		s->heap[i] = s->heap[p];
		i = p;
	}
	s->heap[i] = *ev;
}

static void heap_pop(struct sim *s, struct ev *out)
{
	*out = s->heap[0];
	struct ev last = s->heap[--s->nheap];
	size_t i = 0, n = s->nheap;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && ev_before(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!ev_before(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (n)
		s->heap[i] = last;
}

void sim_push(struct sim *s, uint64_t t, uint8_t type, uint32_t a, uint32_t b)
{
	struct ev ev = { .t = t, .seq = s->seq++, .type = type, .a = a, .b = b };

	heap_push(s, &ev);
}

void sim_schedule_tick(struct sim *s, struct sim_node *n, uint64_t t)
{
	if (!n->e || t >= n->tick_due)
		return;
	n->tick_due = t;
	sim_push(s, t, EV_TICK, n->idx, 0);
}

/* ---- helpers ---- */

bool sim_honest(const struct sim_node *n)
{
	return !(n->flags & NF_BYZ);
}

bool sim_rec_held(const struct sim_rec *r, uint32_t node)
{
	return r->held[node >> 3] & (1u << (node & 7));
}

void sim_rec_hold(struct sim_rec *r, const struct sim_node *n, bool on)
{
	uint8_t bit = (uint8_t)(1u << (n->idx & 7));
	bool was = r->held[n->idx >> 3] & bit;

	if (was == on)
		return;
	if (on)
		r->held[n->idx >> 3] |= bit;
	else
		r->held[n->idx >> 3] &= (uint8_t)~bit;
	if (sim_honest(n))
		r->holders += on ? 1 : (uint32_t)-1;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void counters_read(const struct engine *e, struct sim_counters *c)
{
	struct engine_stats st;

	engine_get_stats(e, &st);
#define X(f) c->f = st.f;
	SIM_COUNTERS(X)
#undef X
}

/* acc += now - base */
static void counters_add_delta(struct sim_counters *acc, const struct sim_counters *now,
			       const struct sim_counters *base)
{
#define X(f) acc->f += now->f - base->f;
	SIM_COUNTERS(X)
#undef X
}

/* ---- tracked records ---- */

struct sim_rec *sim_track(struct sim *s, const uint8_t id[32], uint32_t origin, uint64_t t)
{
	int64_t k = sim_map_get(&s->recmap, id);

	if (k >= 0)
		return &s->recs[k];
	if (s->nrecs == s->caprecs) {
		size_t cap = s->caprecs ? s->caprecs * 2 : 16;
		struct sim_rec *r = realloc(s->recs, cap * sizeof *r);
		if (!r)
			return NULL;
		s->recs = r;
		s->caprecs = cap;
	}
	struct sim_rec *r = &s->recs[s->nrecs];
	memset(r, 0, sizeof *r);
	memcpy(r->id, id, 32);
	r->t_pub = t;
	r->origin = origin;
	r->arr = calloc(s->n, sizeof *r->arr);
	r->hop = malloc(s->n * sizeof *r->hop);
	r->held = calloc((s->n + 7) / 8, 1);
	if (!r->arr || !r->hop || !r->held || sim_map_put(&s->recmap, id, (uint32_t)s->nrecs) < 0) {
		free(r->arr);
		free(r->hop);
		free(r->held);
		return NULL;
	}
	for (unsigned i = 0; i < s->n; i++)
		r->hop[i] = HOP_UNKNOWN;
	s->nrecs++;
	return r;
}

bool sim_all_delivered(const struct sim *s)
{
	if (s->pub_next < s->cfg.publish)
		return false;
	for (size_t k = 0; k < s->nrecs; k++)
		if (!s->recs[k].revoked && s->recs[k].holders < s->honest_up)
			return false;
	return true;
}

/* ---- store (what ops->accepted gave a node that may restart) ---- */

/* A record's origin sits at a fixed offset: fixarray, format, kind, bin8 32. */
static const uint8_t *wire_origin(const uint8_t *w, size_t len)
{
	return len > 37 && w[3] == 0xc4 && w[4] == 32 ? w + 5 : NULL;
}

static void store_add(struct sim_node *n, const uint8_t *w, size_t len)
{
	if (n->nstore == n->capstore) {
		uint32_t cap = n->capstore ? n->capstore * 2 : 16;
		struct sim_stored *st = realloc(n->store, cap * sizeof *st);
		if (!st)
			return;
		n->store = st;
		n->capstore = cap;
	}
	uint8_t *copy = malloc(len);
	if (!copy)
		return;
	memcpy(copy, w, len);
	n->store[n->nstore].wire = copy;
	n->store[n->nstore].len = (uint32_t)len;
	n->nstore++;
}

static void store_compact(struct sim_node *n)
{
	uint32_t j = 0;

	for (uint32_t i = 0; i < n->nstore; i++)
		if (n->store[i].wire)
			n->store[j++] = n->store[i];
	n->nstore = j;
}

static void store_drop_origin(struct sim_node *n, const uint8_t origin[32])
{
	for (uint32_t i = 0; i < n->nstore; i++) {
		const uint8_t *o = wire_origin(n->store[i].wire, n->store[i].len);
		if (n->store[i].wire && o && !memcmp(o, origin, 32)) {
			free(n->store[i].wire);
			n->store[i].wire = NULL;
		}
	}
}

/* ---- engine callbacks ---- */

static void frames_count(const uint8_t *buf, size_t len, uint64_t bytes[SIM_FRAME_TYPES], uint64_t count[SIM_FRAME_TYPES],
			 bool *has_rec)
{
	struct wire_iter it;
	struct wire_frame f;
	int rc;

	if (wire_begin(&it, buf, len) < 0) {
		bytes[0] += len;
		count[0]++;
		return;
	}
	size_t before = it.r.len;
	while ((rc = wire_next(&it, &f)) == 1) {
		bytes[f.type] += before - it.r.len;
		count[f.type]++;
		before = it.r.len;
		if (f.type == W_REC)
			*has_rec = true;
	}
	if (rc < 0) {
		bytes[0] += before;
		count[0]++;
	}
}

/* Traces for finding a run's straggler (docs/simulator.md "Traces"), read
 * once: MN_SIM_ARRIVALS=1 prints each delivery ("arr NODE MS PARENT
 * PARENT_MS DIRECT"), MN_SIM_WATCH=NODE the dissemination frames to and
 * from one node during the measurement. -1 when unset. */
static int trace_on(const char *name, int which)
{
	static int v[2] = { -2, -2 };

	if (v[which] == -2) {
		const char *e = getenv(name);
		v[which] = e && *e ? atoi(e) : -1;
	}
	return v[which];
}

void sim_net_send(struct sim *s, uint32_t from, uint32_t to, const uint8_t *buf, size_t len,
		  enum engine_chan chan)
{
	uint64_t bytes[SIM_FRAME_TYPES] = { 0 }, count[SIM_FRAME_TYPES] = { 0 };
	bool has_rec = false;

	frames_count(buf, len, bytes, count, &has_rec);
	if (s->win) {
		for (int i = 0; i < SIM_FRAME_TYPES; i++) {
			s->frame_bytes[s->win][i] += bytes[i];
			s->frame_count[s->win][i] += count[i];
		}
		s->msgs[s->win]++;
		s->overhead[s->win]++;
	}
	if (s->rejoin_counting && (from == s->rejoin_node || to == s->rejoin_node)) {
		bool data = false;
		for (int i = 0; i < SIM_FRAME_TYPES; i++) {
			s->rejoin_bytes[i] += bytes[i];
			if (bytes[i] && i != W_PING && i != W_ACK && i != W_PINGREQ && i != W_MEMBER)
				data = true;
		}
		s->rejoin_overhead[data ? 0 : 1]++;
	}
	if (chan == CHAN_DGRAM && len > ENGINE_MTU)
		s->res.dgram_oversize++;
	if (chan == CHAN_STREAM && len > ENGINE_MAX_STREAM)
		s->res.stream_oversize++;
	if (s->part_active && s->nodes[from].side != s->nodes[to].side) {
		s->res.dropped_partition++;
		return;
	}
	bool lost = chan == CHAN_DGRAM && s->cfg.loss > 0 && sim_uniform(s) < s->cfg.loss;
	int watch = trace_on("MN_SIM_WATCH", 1);
	if (watch >= 0 && s->win && (from == (uint32_t)watch || to == (uint32_t)watch) &&
	    (count[W_REC] || count[W_IHAVE] || count[W_IWANT] || count[W_GRAFT] || count[W_PRUNE] ||
	     count[W_SYNC]))
		fprintf(stderr, "msg %llu %u>%u rec%llu ihave%llu iwant%llu graft%llu prune%llu sync%llu%s%s\n",
			(unsigned long long)s->now, from, to, (unsigned long long)count[W_REC],
			(unsigned long long)count[W_IHAVE], (unsigned long long)count[W_IWANT],
			(unsigned long long)count[W_GRAFT], (unsigned long long)count[W_PRUNE],
			(unsigned long long)count[W_SYNC], lost ? " LOST" : "",
			!s->nodes[to].e || (s->nodes[to].flags & NF_DOWN) ? " DOWN" : "");
	if (lost) {
		s->res.dgram_lost++;
		return;
	}
	uint64_t t = s->now + s->cfg.lat_min_ms +
		     sim_rand_below(s, s->cfg.lat_max_ms - s->cfg.lat_min_ms + 1);
	if (chan == CHAN_STREAM) {
		/* reliable and ordered per pair: never before the previous one */
		uint8_t key[32] = { 0 };
		memcpy(key, &from, 4);
		memcpy(key + 4, &to, 4);
		key[8] = 1;
		int64_t k = sim_map_get(&s->streammap, key);
		if (k < 0) {
			if (s->nstream == s->capstream) {
				size_t cap = s->capstream ? s->capstream * 2 : 256;
				uint64_t *p = realloc(s->stream_last, cap * sizeof *p);
				if (!p)
					return;
				s->stream_last = p;
				s->capstream = cap;
			}
			if (sim_map_put(&s->streammap, key, (uint32_t)s->nstream) < 0)
				return;
			k = (int64_t)s->nstream++;
			s->stream_last[k] = 0;
		}
		if (t < s->stream_last[k])
			t = s->stream_last[k];
		s->stream_last[k] = t;
	}
	struct sim_msg *m = malloc(sizeof *m + len);
	if (!m)
		return;
	m->len = (uint32_t)len;
	m->chan = (uint8_t)chan;
	m->has_rec = has_rec;
	m->claimed = s->send_claim != NULL;
	if (m->claimed)
		memcpy(m->claim, s->send_claim, 32);
	memcpy(m->data, buf, len);
	struct ev ev = { .t = t, .seq = s->seq++, .type = EV_DELIVER, .a = from, .b = to, .m = m };
	heap_push(s, &ev);
}

static void op_send(void *ctx, const uint8_t peer[32], const uint8_t *buf, size_t len,
		    enum engine_chan chan)
{
	struct sim_node *n = ctx;
	struct sim *s = n->sim;
	int64_t to = sim_map_get(&s->pkmap, peer);

	if (to < 0) {
		s->res.tx_unknown++;
		return;
	}
	if ((uint32_t)to == n->idx) {
		s->res.tx_self++;
		return;
	}
	sim_net_send(s, n->idx, (uint32_t)to, buf, len, chan);
}

static void op_accepted(void *ctx, const struct record *r, const union body *b,
			const uint8_t id[32])
{
	(void)b;
	struct sim_node *n = ctx;
	struct sim *s = n->sim;

	if ((n->flags & NF_STORE) && !s->restoring)
		store_add(n, r->wire, r->wire_len);
	if (sim_map_get(&s->badmap, id) >= 0)
		s->res.bad_accepted++;
	if (sim_map_get(&s->scopemap, id) >= 0)
		s->res.scope_accepted++;
	if (s->victim >= 0 && s->revoke_published && n->e && engine_has(n->e, s->revoke_id) &&
	    !memcmp(r->origin, s->nodes[s->victim].key.pk, 32))
		s->res.revoked_accepted++;

	int64_t k = sim_map_get(&s->recmap, id);
	struct sim_rec *rec;
	if (k >= 0)
		rec = &s->recs[k];
	else if (s->publishing == n->idx && !s->restoring)
		rec = sim_track(s, id, n->idx, s->now);
	else
		return;
	if (!rec)
		return;
	if (s->publishing == n->idx && rec->origin == n->idx && !rec->size)
		rec->size = (uint32_t)r->wire_len;
	if (s->cfg.byz_mode == BYZ_REPLAY && (n->flags & NF_BYZ) && !n->replay) {
		n->replay = malloc(r->wire_len);
		if (n->replay) {
			memcpy(n->replay, r->wire, r->wire_len);
			n->replay_len = (uint32_t)r->wire_len;
		}
	}
	sim_rec_hold(rec, n, true);
	if (s->restoring || rec->arr[n->idx])
		return;
	rec->arr[n->idx] = (uint32_t)(s->now - rec->t_pub) + 1;
	if (n->idx == rec->origin) {
		rec->hop[n->idx] = 0;
		return;
	}
	uint32_t parent;
	if (s->cur_to == n->idx) {
		parent = s->cur_from;
	} else {
		parent = n->last_rec_from;
		s->res.hops_approx++;
	}
	if (parent != SIM_NONE && rec->hop[parent] != HOP_UNKNOWN)
		rec->hop[n->idx] = (uint16_t)(rec->hop[parent] + 1);
	if (trace_on("MN_SIM_ARRIVALS", 0) > 0)
		fprintf(stderr, "arr %u %u %d %u %d\n", n->idx, rec->arr[n->idx] - 1,
			parent == SIM_NONE ? -1 : (int)parent,
			parent == SIM_NONE ? 0 : rec->arr[parent], s->cur_to == n->idx);
	if (s->win == 2 && sim_honest(n))
		s->res.deliveries++;
}

static void op_revoked(void *ctx, const uint8_t origin[32])
{
	struct sim_node *n = ctx;
	struct sim *s = n->sim;
	int64_t o = sim_map_get(&s->pkmap, origin);

	if (n->flags & NF_STORE)
		store_drop_origin(n, origin);
	if (o < 0)
		return;
	for (size_t k = 0; k < s->nrecs; k++)
		if (s->recs[k].origin == (uint32_t)o)
			sim_rec_hold(&s->recs[k], n, false);
}

static void op_peer_state(void *ctx, const uint8_t peer[32], enum peer_state from,
			  enum peer_state to)
{
	struct sim_node *n = ctx;
	struct sim *s = n->sim;
	int64_t p = sim_map_get(&s->pkmap, peer);

	(void)from;
	if (p < 0 || !sim_honest(n) || s->restoring)
		return;
	struct sim_node *pn = &s->nodes[p];
	/* a revoked node is cut off: whatever it thinks or is thought of is expected */
	bool cut = s->revoke_published && (p == s->victim || (int)n->idx == s->victim);
	if (to == PEER_LEFT && !cut)   /* nobody leaves in the simulator: an eviction */
		to = PEER_DEAD;
	if ((to == PEER_SUSPECT || to == PEER_DEAD) && !cut) {
		bool really = (pn->flags & (NF_DOWN | NF_SILENT)) != 0;
		if (!really && s->cfg.partition && pn->side != n->side) {
			/* across the partition: expected while it lasts, and its
			 * suspicions may only ripen after the heal */
			(*(to == PEER_DEAD ? &s->res.partition_dead : &s->res.partition_suspect))++;
		} else if (!really) {
			uint64_t *c = to == PEER_DEAD ? (s->measuring ? &s->res.false_dead
								      : &s->res.false_dead_warmup)
						      : (s->measuring ? &s->res.false_suspect
								      : &s->res.false_suspect_warmup);
			(*c)++;
			uint16_t f = to == PEER_DEAD ? NF_FALSE_DEAD : NF_FALSE_SUSPECT;
			if (s->measuring && !(pn->flags & f)) {
				pn->flags |= f;
				(*(to == PEER_DEAD ? &s->res.false_dead_nodes : &s->res.false_suspect_nodes))++;
			}
		}
	}
	scen_peer_state(s, n, (uint32_t)p, to);
}

static void op_note(void *ctx, const char *what, const uint8_t peer[32])
{
	struct sim_node *n = ctx;
	struct sim *s = n->sim;

	(void)peer;
	if (!what)
		return;
	for (unsigned i = 0; i < s->nnotes; i++) {
		if (s->notes[i].what == what || !strcmp(s->notes[i].what, what)) {
			s->notes[i].count++;
			return;
		}
	}
	if (s->nnotes < SIM_MAX_NOTES) {
		s->notes[s->nnotes].what = what;
		s->notes[s->nnotes].count = 1;
		s->nnotes++;
	}
}

static uint64_t op_random(void *ctx)
{
	struct sim_node *n = ctx;

	return splitmix64(&n->rng);
}

static const struct engine_ops sim_ops = {
	.send = op_send,
	.accepted = op_accepted,
	.revoked = op_revoked,
	.peer_state = op_peer_state,
	.note = op_note,
	.random = op_random,
};

/* ---- node lifecycle ---- */

int sim_node_start(struct sim *s, struct sim_node *n)
{
	struct engine_config c = s->ecfg;

	if (n->e || (n->flags & NF_SILENT))
		return 0;
	if ((n->flags & NF_BYZ) && s->cfg.byz_mode == BYZ_DROP_FORWARD)
		c.no_forward = true;
	n->e = engine_new(&c, &n->key, &sim_ops, n, s->now);
	if (!n->e)
		return -ENOMEM;
	n->flags &= (uint16_t)~NF_DOWN;
	if (sim_honest(n))
		s->honest_up++;
	s->restoring = true;
	for (unsigned i = 0; i < s->ncerts; i++)
		engine_insert(n->e, s->certs[i].wire, s->certs[i].len, true, s->now);
	for (uint32_t i = 0; i < n->nstore; i++)
		if (n->store[i].wire)
			engine_insert(n->e, n->store[i].wire, n->store[i].len, true, s->now);
	s->restoring = false;
	store_compact(n);
	/* what it holds now (a trusted insert need not call ops->accepted) */
	for (size_t k = 0; k < s->nrecs; k++)
		if (engine_has(n->e, s->recs[k].id))
			sim_rec_hold(&s->recs[k], n, true);
	if (n->boot) {
		for (uint32_t i = 0; i < n->nboot; i++)
			engine_peer_add(n->e, s->nodes[n->boot[i]].key.pk, s->now);
	} else {
		for (unsigned i = 0; i < s->n; i++)
			if (i != n->idx)
				engine_peer_add(n->e, s->nodes[i].key.pk, s->now);
	}
	counters_read(n->e, &n->base);
	n->tick_due = UINT64_MAX;
	sim_schedule_tick(s, n, s->now);
	return 0;
}

void sim_node_down(struct sim *s, struct sim_node *n)
{
	if (n->flags & NF_DOWN)
		return;
	n->flags |= NF_DOWN;
	n->down_at = s->now;
	n->tick_due = UINT64_MAX;
	if (n->flags & NF_SILENT)
		return;
	if (n->e) {
		if (s->measuring) {
			struct sim_counters now;
			counters_read(n->e, &now);
			counters_add_delta(sim_honest(n) ? &s->acc : &s->acc_byz, &now, &n->base);
		}
		engine_free(n->e);
		n->e = NULL;
		if (sim_honest(n))
			s->honest_up--;
	}
	for (size_t k = 0; k < s->nrecs; k++)
		sim_rec_hold(&s->recs[k], n, false);
}

/* ---- events ---- */

static uint64_t mix64(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdULL;
}

static void deliver(struct sim *s, const struct ev *ev)
{
	struct sim_node *to = &s->nodes[ev->b];
	const struct sim_msg *m = ev->m;

	if (!to->e || (to->flags & NF_DOWN)) {
		s->res.dropped_down++;
		return;
	}
	if (s->part_active && s->nodes[ev->a].side != to->side) {
		s->res.dropped_partition++;
		return;
	}
	uint64_t h = mix64(s->res.trace_hash, s->now);
	h = mix64(h, ((uint64_t)ev->a << 32) | ev->b);
	h = mix64(h, m->len);
	for (uint32_t i = 0; i + 8 <= m->len; i += 8) {
		uint64_t w;
		memcpy(&w, m->data + i, 8);
		h = mix64(h, w);
	}
	s->res.trace_hash = h;
	if (m->has_rec)
		to->last_rec_from = ev->a;
	s->cur_from = ev->a;
	s->cur_to = ev->b;
	if (m->claimed)   /* the plain transport's path for a key it cannot check */
		engine_recv_claimed(to->e, m->claim, m->data, m->len, s->now);
	else
		engine_recv(to->e, s->nodes[ev->a].key.pk, m->data, m->len, s->now);
	s->cur_from = s->cur_to = SIM_NONE;
	sim_schedule_tick(s, to, s->now);
}

static void tick(struct sim *s, const struct ev *ev)
{
	struct sim_node *n = &s->nodes[ev->a];

	if (!n->e || n->tick_due != ev->t)
		return;   /* stale */
	n->tick_due = UINT64_MAX;
	uint64_t next = engine_tick(n->e, s->now);
	if (next <= s->now) {
		s->res.tick_past++;
		next = s->now + 1;
	}
	sim_schedule_tick(s, n, next);
}

static void measure(struct sim *s, unsigned what)
{
	struct sim_counters now;

	if (what == 0) {   /* baseline start */
		for (unsigned i = 0; i < s->n; i++)
			if (s->nodes[i].e)
				counters_read(s->nodes[i].e, &s->nodes[i].base);
		s->t_baseline = s->now;
		s->win = 1;
		return;
	}
	memset(&s->bg, 0, sizeof s->bg);
	for (unsigned i = 0; i < s->n; i++) {
		struct sim_node *n = &s->nodes[i];
		if (!n->e)
			continue;
		counters_read(n->e, &now);
		if (sim_honest(n))
			counters_add_delta(&s->bg, &now, &n->base);
		n->base = now;
	}
	s->bg_up = s->honest_up;
	memset(&s->acc, 0, sizeof s->acc);
	memset(&s->acc_byz, 0, sizeof s->acc_byz);
	s->win = 2;
	s->measuring = true;
	s->t_measure = s->now;
	scen_measure_start(s);
	sim_push(s, s->now + s->cfg.check_ms, EV_CHECK, 0, 0);
}

static void checkpoint(struct sim *s)
{
	scen_checkpoint(s);
	uint64_t sec = (s->now - SIM_T0_MS) / 1000;
	if (s->cfg.progress && sec != (s->now - s->cfg.check_ms - SIM_T0_MS) / 1000) {
		unsigned done = 0;
		for (size_t k = 0; k < s->nrecs; k++)
			done += s->recs[k].holders >= s->honest_up;
		fprintf(stderr, "sim %6.1f s  wall %7.1f s  events %12llu  records %zu (%u complete)  up %u\n",
			(double)sec, wall_now() - s->wall0,
			(unsigned long long)s->res.events, s->nrecs, done, s->honest_up);
	}
	if (s->done_at && s->cfg.run_ms == 0) {
		uint64_t tail = s->cfg.tail_ms ? s->cfg.tail_ms
			: (uint64_t)s->ecfg.gossip_windows * s->ecfg.heartbeat_ms + s->cfg.lat_max_ms;
		if (s->done_at + tail < s->end_at)
			s->end_at = s->done_at + tail;
	}
	sim_push(s, s->now + s->cfg.check_ms, EV_CHECK, 0, 0);
}

static void step(struct sim *s, struct ev *ev)
{
	s->now = ev->t;
	s->res.events++;
	switch (ev->type) {
	case EV_DELIVER:
		deliver(s, ev);
		free(ev->m);
		break;
	case EV_TICK:
		tick(s, ev);
		break;
	case EV_CHECK:
		checkpoint(s);
		break;
	case EV_MEASURE:
		measure(s, ev->b);
		break;
	default:
		scen_event(s, ev);
		break;
	}
}

static void run_until(struct sim *s, uint64_t until, bool use_end)
{
	struct ev ev;

	while (s->nheap) {
		uint64_t t = s->heap[0].t;
		if (t > until || (use_end && t > s->end_at))
			break;
		heap_pop(s, &ev);
		step(s, &ev);
	}
}

/* ---- setup ---- */

static void node_seed(uint64_t seed, uint32_t idx, uint8_t out[32])
{
	uint64_t x = seed ^ 0x6d6972726f726e65ULL;   /* "mirrorne" */

	x = splitmix64(&x) ^ ((uint64_t)idx * 0xd1b54a32d192ed03ULL);
	for (int i = 0; i < 4; i++) {
		uint64_t v = splitmix64(&x);
		memcpy(out + 8 * i, &v, 8);
	}
}

static int bootstrap(struct sim *s)
{
	unsigned want = s->cfg.bootstrap;

	if (!want && s->n <= s->ecfg.max_peers)
		return 0;   /* everyone knows everyone: boot == NULL */
	if (!want)
		want = 64;
	if (want > s->n - 1)
		want = s->n - 1;
	/* partial views: most nodes hold no certificate in the model (see
	 * docs/simulator.md), so they are learnt by hearing from them */
	s->ecfg.admit_uncertified = true;
	for (unsigned i = 0; i < s->n; i++) {
		struct sim_node *n = &s->nodes[i];
		n->boot = malloc(want * sizeof *n->boot);
		if (!n->boot)
			return -ENOMEM;
		n->boot[n->nboot++] = (i + 1) % s->n;   /* a ring: the graph is connected */
		while (n->nboot < want) {
			uint32_t j = (uint32_t)sim_rand_below(s, s->n);
			bool dup = j == i;
			for (uint32_t k = 0; k < n->nboot && !dup; k++)
				dup = n->boot[k] == j;
			if (!dup)
				n->boot[n->nboot++] = j;
		}
	}
	return 0;
}

int sim_sign(const struct node_key *k, unsigned kind, const char *rkey, uint64_t version,
	     uint64_t expires_s, const union body *b, uint8_t **out, size_t *len, uint8_t id[32])
{
	uint8_t body[MN_MAX_BODY], wire[MN_MAX_RECORD];
	size_t blen = 0;
	struct record r;
	int err;

	if (b && (err = body_encode(kind, b, body, sizeof body, &blen)) < 0)
		return err;
	if ((err = record_init(&r, kind, k->pk, rkey, version, expires_s)) < 0)
		return err;
	r.body = body;
	r.body_len = blen;
	if ((err = record_sign(&r, k, wire, sizeof wire)) < 0)
		return err;
	if (id)
		record_id(&r, id);
	*out = malloc(r.wire_len);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, wire, r.wire_len);
	*len = r.wire_len;
	return 0;
}

struct sim *sim_new(const struct sim_config *c, char *err, size_t errlen)
{
	const char *msg = sim_config_check(c);
	struct sim *s;

	if (msg) {
		snprintf(err, errlen, "%s", msg);
		return NULL;
	}
	if (crypto_init() < 0) {
		snprintf(err, errlen, "crypto_init failed");
		return NULL;
	}
	s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->wall0 = wall_now();
	s->cfg = *c;
	s->ecfg = c->engine;
	s->n = c->nodes;
	s->now = SIM_T0_MS;
	s->end_at = SIM_T0_MS + c->max_sim_ms;
	s->cur_from = s->cur_to = s->publishing = s->rejoin_node = SIM_NONE;
	s->victim = -1;
	uint64_t x = c->seed;
	for (int i = 0; i < 4; i++)
		s->rng[i] = splitmix64(&x);
	s->res.nodes = s->n;
	s->res.seed = c->seed;
	s->res.heartbeat_ms = s->ecfg.heartbeat_ms;

	s->nodes = calloc(s->n, sizeof *s->nodes);
	if (!s->nodes)
		goto nomem;
	for (unsigned i = 0; i < s->n; i++) {
		struct sim_node *n = &s->nodes[i];
		uint8_t seed[32];
		node_seed(c->seed, i, seed);
		node_key_from_seed(&n->key, seed);
		memset(seed, 0, sizeof seed);
		n->sim = s;
		n->idx = i;
		n->rng = c->seed * 0x2545f4914f6cdd1dULL + i;
		n->tick_due = UINT64_MAX;
		n->last_rec_from = SIM_NONE;
		n->slot = SIM_NONE;
		n->flags = NF_DOWN;
		if (sim_map_put(&s->pkmap, n->key.pk, i) < 0)
			goto nomem;
	}
	s->ecfg.root = s->nodes[0].key.pk;
	if (bootstrap(s) < 0)
		goto nomem;
	if (scen_setup(s, err, errlen) < 0)
		goto fail;
	for (unsigned i = 0; i < s->n; i++) {
		if (s->nodes[i].flags & NF_SILENT) {
			s->nodes[i].flags &= (uint16_t)~NF_DOWN;
			continue;
		}
		if (sim_node_start(s, &s->nodes[i]) < 0) {
			if (i == 0)   /* the first one: it is the configuration */
				snprintf(err, errlen, "engine_new rejects this engine configuration "
					 "(see --engine)");
			else
				snprintf(err, errlen, "engine_new failed for node %u", i);
			goto fail;
		}
	}
	sim_push(s, SIM_T0_MS + c->warmup_ms / 2, EV_MEASURE, 0, 0);
	sim_push(s, SIM_T0_MS + c->warmup_ms, EV_MEASURE, 0, 1);
	s->res.setup_wall_s = wall_now() - s->wall0;
	return s;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	sim_free(s);
	return NULL;
}

/* ---- results ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double pick(const uint32_t *sorted, unsigned have, unsigned targets, double p)
{
	unsigned need = (unsigned)sim_ceil(p * targets - 1e-9);

	if (need == 0)
		need = 1;
	return have >= need ? (double)sorted[need - 1] : -1;
}

static void finish(struct sim *s)
{
	struct sim_results *r = &s->res;
	struct sim_counters tot = s->acc, now;
	uint32_t *times = malloc(s->n * sizeof *times);
	uint64_t hop_hist[257] = { 0 }, hop_n = 0, hop_sum = 0;
	double useful = 0, sum_size = 0;
	double tsum[4] = { 0 }, tmax[4] = { 0 };
	unsigned treached[4] = { 0 }, counted = 0;
	static const double ps[4] = { 0.5, 0.99, 0.999, 1.0 };
	uint64_t held = 0;

	if (!times)
		return;
	s->finished = true;
	/* who is a target: honest and up at the end */
	r->targets = 0;
	for (unsigned i = 0; i < s->n; i++) {
		const struct sim_node *n = &s->nodes[i];
		if (sim_honest(n) && n->e)
			r->targets++;
		if (n->flags & NF_GONE)
			r->crashed++;
		if (n->flags & NF_BYZ)
			r->byzantine++;
		if (n->flags & NF_CHURN)
			r->churned++;
		if (n->flags & NF_PUBLISHER)
			r->publishers++;
	}
	/* engine counters over the window */
	for (unsigned i = 0; i < s->n; i++) {
		struct sim_node *n = &s->nodes[i];
		if (!n->e)
			continue;
		counters_read(n->e, &now);
		if (sim_honest(n))
			counters_add_delta(&tot, &now, &n->base);
	}
	r->window_s = s->measuring ? (double)(s->now - s->t_measure) / 1000.0 : 0;

	/* per record */
	for (size_t k = 0; k < s->nrecs; k++) {
		struct sim_rec *rec = &s->recs[k];
		unsigned have = 0, receivers = 0;
		if (rec->revoked)
			continue;
		counted++;
		for (unsigned i = 0; i < s->n; i++) {
			const struct sim_node *n = &s->nodes[i];
			if (!sim_honest(n) || !n->e)
				continue;
			if (sim_rec_held(rec, i))
				held++;
			if (!rec->arr[i])
				continue;
			times[have++] = rec->arr[i] - 1;
			if (i == rec->origin)
				continue;
			receivers++;
			if (rec->hop[i] == HOP_UNKNOWN) {
				r->hops_unknown++;
				continue;
			}
			hop_hist[rec->hop[i] > 256 ? 256 : rec->hop[i]]++;
			hop_n++;
			hop_sum += rec->hop[i];
			if (rec->hop[i] > r->hops_max)
				r->hops_max = rec->hop[i];
		}
		qsort(times, have, sizeof *times, cmp_u32);
		bool complete = true;
		for (int q = 0; q < 4; q++) {
			double t = pick(times, have, r->targets, ps[q]);
			if (t < 0) {
				tmax[q] = -1;
				if (q == 3)
					complete = false;
				continue;
			}
			tsum[q] += t;
			treached[q]++;
			if (tmax[q] >= 0 && t > tmax[q])
				tmax[q] = t;
		}
		r->records_complete += complete;
		sum_size += rec->size;
		useful += (double)receivers * rec->size;
	}
	free(times);
	r->records = counted;
	r->record_bytes = counted ? sum_size / counted : 0;
	r->delivery_ratio = counted && r->targets ? (double)held / ((double)counted * r->targets) : NAN;
	double *tm[4] = { &r->t50_ms, &r->t99_ms, &r->t999_ms, &r->t100_ms };
	double *tx[4] = { &r->t50_max_ms, &r->t99_max_ms, &r->t999_max_ms, &r->t100_max_ms };
	for (int q = 0; q < 4; q++) {
		*tm[q] = treached[q] ? tsum[q] / treached[q] : -1;
		*tx[q] = counted ? tmax[q] : -1;
	}
	r->hops_mean = hop_n ? (double)hop_sum / (double)hop_n : NAN;
	r->hops_p99 = NAN;
	for (uint64_t i = 0, acc = 0; i <= 256 && hop_n; i++) {
		acc += hop_hist[i];
		if ((double)acc >= 0.99 * (double)hop_n) {
			r->hops_p99 = (double)i;
			break;
		}
	}
	unsigned T = r->targets ? r->targets : 1;
	uint64_t diss = tot.tx_bytes_record + tot.tx_bytes_gossip + tot.tx_bytes_sync;
	r->bytes_per_node = (double)tot.tx_bytes / T;
	r->amplification = useful > 0 ? (double)diss / useful : NAN;
	r->amplification_all = useful > 0 ? (double)tot.tx_bytes / useful : NAN;
	r->member_Bps_per_node = r->window_s > 0 ? (double)tot.tx_bytes_member / T / r->window_s : NAN;
	double bgs = (double)(s->t_measure - s->t_baseline) / 1000.0 * (s->bg_up ? s->bg_up : 1);
	if (s->measuring && bgs > 0) {
		r->bg_member_Bps = (double)s->bg.tx_bytes_member / bgs;
		r->bg_gossip_Bps = (double)s->bg.tx_bytes_gossip / bgs;
		r->bg_sync_Bps = (double)s->bg.tx_bytes_sync / bgs;
		r->bg_record_Bps = (double)s->bg.tx_bytes_record / bgs;
	}
	r->dup_per_node = (double)tot.records_dup / T;
	r->dup_per_node_record = counted ? r->dup_per_node / counted : NAN;
	r->verifies = tot.verifies;
	r->verifies_per_record = r->deliveries ? (double)tot.verifies / (double)r->deliveries : NAN;
	r->bad_sig = tot.bad_sig;
	r->untrusted = tot.untrusted;
	r->expired = tot.expired;
	r->malformed = tot.malformed;
	r->rate_limited = tot.rate_limited;
	r->over_budget = tot.over_origin_budget + tot.over_total_budget;
	r->origin_rate_limited = tot.origin_rate_limited;
	r->claims_disproved = tot.claims_disproved;
	r->graylisted_drops = tot.graylisted_drops;
	for (int i = 0; i < SIM_FRAME_TYPES; i++) {
		r->wire_bytes[i] = s->frame_bytes[2][i];
		r->wire_frames[i] = s->frame_count[2][i];
	}
	r->wire_msgs = s->msgs[2];
	r->wire_overhead = s->overhead[2];

	/* what the engines say about their peers */
	for (unsigned i = 0; i < s->n; i++) {
		struct sim_node *n = &s->nodes[i];
		struct engine_stats st;
		if (!n->e || !sim_honest(n))
			continue;
		engine_get_stats(n->e, &st);
		if (st.peers > r->max_peers)
			r->max_peers = st.peers;
		if (st.records > r->max_records)
			r->max_records = st.records;
		if (st.mesh > r->max_mesh)
			r->max_mesh = st.mesh;
		if (st.record_bytes > r->max_record_bytes)
			r->max_record_bytes = st.record_bytes;
		size_t np;
		struct engine_peer_info *pi = engine_peers_alloc(n->e, &np);
		for (size_t j = 0; j < np; j++) {
			int64_t p = sim_map_get(&s->pkmap, pi[j].pk);
			if (p < 0 || !pi[j].graylisted)
				continue;
			if (sim_honest(&s->nodes[p]))
				r->graylisted_honest++;
			else
				r->graylisted_byz++;
		}
		free(pi);
	}
	/* belt and braces: forged ids held by an honest engine (when cheap enough) */
	if ((s->badmap.n + s->scopemap.n) * (uint64_t)s->n <= 50000000) {
		const struct sim_map *maps[2] = { &s->badmap, &s->scopemap };
		for (int m = 0; m < 2; m++)
			for (size_t j = 0; j < maps[m]->cap; j++) {
				if (maps[m]->vals[j] == SIM_NONE)
					continue;
				for (unsigned i = 0; i < s->n; i++)
					if (s->nodes[i].e && sim_honest(&s->nodes[i]) &&
					    engine_has(s->nodes[i].e, maps[m]->keys[j]))
						r->bad_held++;
			}
	}
	scen_finish(s);

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	r->rss_mib = (double)ru.ru_maxrss / 1024.0;
	r->sim_s = (double)(s->now - SIM_T0_MS) / 1000.0;
	r->wall_s = wall_now() - s->wall0;
}

int sim_run(struct sim *s)
{
	if (s->cfg.run_ms) {
		uint64_t e = SIM_T0_MS + s->cfg.warmup_ms + s->cfg.run_ms;
		if (e < s->end_at)
			s->end_at = e;
	}
	run_until(s, UINT64_MAX, true);
	if (s->now < s->end_at && s->end_at != UINT64_MAX)
		s->now = s->end_at;
	finish(s);
	return s->start_err;
}

void sim_advance(struct sim *s, uint64_t ms)
{
	uint64_t until = s->now + ms;

	run_until(s, until, false);
	s->now = until;
}

const struct sim_results *sim_results(const struct sim *s)
{
	return &s->res;
}

const struct sim_config *sim_config(const struct sim *s)
{
	return &s->cfg;
}

uint64_t sim_now(const struct sim *s)
{
	return s->now;
}

unsigned sim_node_count(const struct sim *s)
{
	return s->n;
}

struct engine *sim_engine(const struct sim *s, unsigned i)
{
	return i < s->n ? s->nodes[i].e : NULL;
}

bool sim_node_up(const struct sim *s, unsigned i)
{
	return i < s->n && !(s->nodes[i].flags & NF_DOWN);
}

bool sim_node_honest(const struct sim *s, unsigned i)
{
	return i < s->n && sim_honest(&s->nodes[i]);
}

const uint8_t *sim_node_pk(const struct sim *s, unsigned i)
{
	return i < s->n ? s->nodes[i].key.pk : NULL;
}

size_t sim_record_count(const struct sim *s)
{
	return s->nrecs;
}

bool sim_record(const struct sim *s, size_t k, uint8_t id[32], unsigned *origin)
{
	if (k >= s->nrecs)
		return false;
	if (id)
		memcpy(id, s->recs[k].id, 32);
	if (origin)
		*origin = s->recs[k].origin;
	return true;
}

int sim_revoked_node(const struct sim *s)
{
	return s->victim;
}

void sim_free(struct sim *s)
{
	if (!s)
		return;
	scen_free(s);
	for (size_t i = 0; i < s->nheap; i++)
		if (s->heap[i].type == EV_DELIVER)
			free(s->heap[i].m);
	free(s->heap);
	for (unsigned i = 0; s->nodes && i < s->n; i++) {
		struct sim_node *n = &s->nodes[i];
		engine_free(n->e);
		node_key_wipe(&n->key);
		free(n->boot);
		for (uint32_t j = 0; j < n->nstore; j++)
			free(n->store[j].wire);
		free(n->store);
		free(n->replay);
	}
	free(s->nodes);
	for (unsigned i = 0; i < s->ncerts; i++)
		free(s->certs[i].wire);
	free(s->certs);
	free(s->publishers);
	for (size_t k = 0; k < s->nrecs; k++) {
		free(s->recs[k].arr);
		free(s->recs[k].hop);
		free(s->recs[k].held);
	}
	free(s->recs);
	sim_map_free(&s->pkmap);
	sim_map_free(&s->streammap);
	sim_map_free(&s->recmap);
	sim_map_free(&s->badmap);
	sim_map_free(&s->scopemap);
	free(s->stream_last);
	free(s);
}

/* ---- JSON ---- */

static struct json_object *jnum(double v)
{
	return isfinite(v) ? json_object_new_double(v) : NULL;
}

static struct json_object *jms(double v)
{
	return v >= 0 ? json_object_new_double(v) : NULL;
}

#define JADD(o, k, v) json_object_object_add(o, k, v)
#define JU(o, k, v) JADD(o, k, json_object_new_uint64((uint64_t)(v)))

static const char *const frame_names[SIM_FRAME_TYPES] = {
	"malformed", "rec", "ihave", "iwant", "idontwant", "graft", "prune",
	"ping", "ack", "pingreq", "member", "sync", "choke",
};

struct json_object *sim_results_json(const struct sim *s)
{
	const struct sim_results *r = &s->res;
	const struct sim_config *c = &s->cfg;
	struct json_object *o = json_object_new_object();
	double hb = r->heartbeat_ms ? (double)r->heartbeat_ms : 1;
	char lat[32];

	JU(o, "nodes", r->nodes);
	JU(o, "seed", r->seed);
	JADD(o, "scenario", json_object_new_string(sim_scenario_name(c->scenario)));
	snprintf(lat, sizeof lat, "%u-%u", c->lat_min_ms, c->lat_max_ms);
	JADD(o, "latency_ms", json_object_new_string(lat));
	JADD(o, "loss", json_object_new_double(c->loss));
	JADD(o, "crash", json_object_new_double(c->crash));
	JADD(o, "churn", json_object_new_double(c->churn));
	JADD(o, "byzantine", json_object_new_double(c->byzantine));
	JADD(o, "byz_mode", json_object_new_string(sim_byz_name(c->byz_mode)));
	JU(o, "size", c->size);
	JU(o, "heartbeat_ms", r->heartbeat_ms);
	JU(o, "targets", r->targets);
	JU(o, "crashed", r->crashed);
	JU(o, "byzantine_nodes", r->byzantine);
	JU(o, "churned", r->churned);
	JU(o, "publishers", r->publishers);
	JU(o, "records", r->records);
	JU(o, "records_complete", r->records_complete);
	JADD(o, "record_bytes", json_object_new_double(r->record_bytes));
	JADD(o, "delivery_ratio", jnum(r->delivery_ratio));
	JADD(o, "t50_ms", jms(r->t50_ms));
	JADD(o, "t99_ms", jms(r->t99_ms));
	JADD(o, "t999_ms", jms(r->t999_ms));
	JADD(o, "t100_ms", jms(r->t100_ms));
	JADD(o, "t50_max_ms", jms(r->t50_max_ms));
	JADD(o, "t99_max_ms", jms(r->t99_max_ms));
	JADD(o, "t999_max_ms", jms(r->t999_max_ms));
	JADD(o, "t100_max_ms", jms(r->t100_max_ms));
	JADD(o, "t50_hb", r->t50_ms >= 0 ? json_object_new_double(r->t50_ms / hb) : NULL);
	JADD(o, "t99_hb", r->t99_ms >= 0 ? json_object_new_double(r->t99_ms / hb) : NULL);
	JADD(o, "t999_hb", r->t999_ms >= 0 ? json_object_new_double(r->t999_ms / hb) : NULL);
	JADD(o, "t100_hb", r->t100_ms >= 0 ? json_object_new_double(r->t100_ms / hb) : NULL);
	JADD(o, "hops_mean", jnum(r->hops_mean));
	JADD(o, "hops_p99", jnum(r->hops_p99));
	JU(o, "hops_max", r->hops_max);
	JU(o, "hops_approx", r->hops_approx);
	JU(o, "hops_unknown", r->hops_unknown);
	JADD(o, "window_s", json_object_new_double(r->window_s));
	JADD(o, "bytes_per_node", json_object_new_double(r->bytes_per_node));
	JADD(o, "amplification", jnum(r->amplification));
	JADD(o, "amplification_all", jnum(r->amplification_all));
	JADD(o, "member_Bps_per_node", jnum(r->member_Bps_per_node));
	struct json_object *bg = json_object_new_object();
	JADD(bg, "member", jnum(r->bg_member_Bps));
	JADD(bg, "gossip", jnum(r->bg_gossip_Bps));
	JADD(bg, "sync", jnum(r->bg_sync_Bps));
	JADD(bg, "record", jnum(r->bg_record_Bps));
	JADD(o, "background_Bps_per_node", bg);
	JADD(o, "dup_per_node", jnum(r->dup_per_node));
	JADD(o, "dup_per_node_record", jnum(r->dup_per_node_record));
	JADD(o, "verifies_per_record", jnum(r->verifies_per_record));
	JU(o, "deliveries", r->deliveries);
	JU(o, "verifies", r->verifies);
	struct json_object *wb = json_object_new_object(), *wf = json_object_new_object();
	for (int i = 0; i < SIM_FRAME_TYPES; i++) {
		JU(wb, frame_names[i], r->wire_bytes[i]);
		JU(wf, frame_names[i], r->wire_frames[i]);
	}
	JU(wb, "version", r->wire_overhead);
	JADD(o, "wire_bytes", wb);
	JADD(o, "wire_frames", wf);
	JU(o, "wire_msgs", r->wire_msgs);
	JU(o, "dgram_lost", r->dgram_lost);
	JU(o, "dropped_down", r->dropped_down);
	JU(o, "dropped_partition", r->dropped_partition);
	JU(o, "bad_accepted", r->bad_accepted);
	JU(o, "scope_accepted", r->scope_accepted);
	JU(o, "bad_held", r->bad_held);
	JU(o, "revoked_accepted", r->revoked_accepted);
	JU(o, "dgram_oversize", r->dgram_oversize);
	JU(o, "stream_oversize", r->stream_oversize);
	JU(o, "tx_unknown", r->tx_unknown);
	JU(o, "tx_self", r->tx_self);
	JU(o, "tick_past", r->tick_past);
	JU(o, "bad_sig", r->bad_sig);
	JU(o, "untrusted", r->untrusted);
	JU(o, "expired", r->expired);
	JU(o, "malformed", r->malformed);
	JU(o, "rate_limited", r->rate_limited);
	JU(o, "over_budget", r->over_budget);
	JU(o, "origin_rate_limited", r->origin_rate_limited);
	JU(o, "claims_disproved", r->claims_disproved);
	JU(o, "max_record_bytes", r->max_record_bytes);
	JU(o, "graylisted_drops", r->graylisted_drops);
	JU(o, "graylisted_byz", r->graylisted_byz);
	JU(o, "graylisted_honest", r->graylisted_honest);
	JU(o, "injected", r->injected);
	JU(o, "publish_errors", r->publish_errors);
	JU(o, "max_peers", r->max_peers);
	JU(o, "max_records", r->max_records);
	JU(o, "max_mesh", r->max_mesh);
	JU(o, "false_dead", r->false_dead);
	JU(o, "false_suspect", r->false_suspect);
	JU(o, "false_dead_nodes", r->false_dead_nodes);
	JU(o, "false_suspect_nodes", r->false_suspect_nodes);
	JU(o, "false_dead_warmup", r->false_dead_warmup);
	JU(o, "false_suspect_warmup", r->false_suspect_warmup);
	JU(o, "partition_dead", r->partition_dead);
	JU(o, "partition_suspect", r->partition_suspect);
	if (c->partition)
		JADD(o, "heal_converge_ms", jms(r->heal_converge_ms));
	if (c->scenario == SIM_REJOIN) {
		JU(o, "missed_records", r->missed_records);
		JU(o, "missed_bytes", r->missed_bytes);
		JU(o, "sync_bytes", r->sync_bytes);
		JU(o, "sync_bytes_all", r->sync_bytes_all);
		JADD(o, "sync_ratio", jnum(r->sync_ratio));
		JADD(o, "sync_converge_ms", jms(r->sync_converge_ms));
		struct json_object *rb = json_object_new_object();
		for (int i = 0; i < SIM_FRAME_TYPES; i++)
			JU(rb, frame_names[i], s->rejoin_bytes[i]);
		JU(rb, "version", s->rejoin_overhead[0] + s->rejoin_overhead[1]);
		JADD(o, "sync_wire_bytes", rb);
	}
	if (c->scenario == SIM_REVOKE) {
		JADD(o, "revoke_t50_ms", jms(r->revoke_t50_ms));
		JADD(o, "revoke_t999_ms", jms(r->revoke_t999_ms));
		JADD(o, "revoke_t100_ms", jms(r->revoke_t100_ms));
		JU(o, "revoke_leftover", r->revoke_leftover);
	}
	if (c->scenario == SIM_DETECT || c->crash > 0) {
		JU(o, "detect_pairs", r->detect_pairs);
		JU(o, "detect_found", r->detect_found);
		JADD(o, "detect_p50_ms", jms(r->detect_p50_ms));
		JADD(o, "detect_p99_ms", jms(r->detect_p99_ms));
		JADD(o, "detect_max_ms", jms(r->detect_max_ms));
	}
	struct json_object *notes = json_object_new_object();
	for (unsigned i = 0; i < s->nnotes; i++)
		JU(notes, s->notes[i].what, s->notes[i].count);
	JADD(o, "notes", notes);
	JADD(o, "sim_s", json_object_new_double(r->sim_s));
	JU(o, "events", r->events);
	char th[17];
	snprintf(th, sizeof th, "%016llx", (unsigned long long)r->trace_hash);
	JADD(o, "trace_hash", json_object_new_string(th));
	JADD(o, "setup_wall_s", json_object_new_double(r->setup_wall_s));
	JADD(o, "wall_s", json_object_new_double(r->wall_s));
	JADD(o, "rss_mib", json_object_new_double(r->rss_mib));
	return o;
}
