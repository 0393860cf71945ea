/* Scenarios: who is who, what happens when, and what is measured beyond
 * dissemination (docs/simulator.md).
 *
 * Roles. Node 0 is the mesh root. P publishers, spread evenly over the
 * node indices (so both halves of a partition have some), get a cert the
 * root signs; every engine is given those certs at start. The faulty
 * nodes are drawn (seeded shuffle) from the rest: first the rejoining
 * node (rejoin), then the byzantine ones, the crashed ones, the churning
 * ones — disjoint sets, never the root or a publisher.
 *
 * Timeline. At measurement start (end of warm-up): crashed nodes go down
 * for good, the partition starts (healing heal_ms later), churn and
 * byzantine actions begin, and publishes follow at `rate` per second,
 * round-robin over the publishers that are up. Scenario steps:
 *   rejoin  the node goes down once all but `miss` of the records are out,
 *           restarts from its store a second after everyone else has
 *           everything; bytes to and from it are counted until it has all.
 *   revoke  2 s after the last publish the root revokes the last publisher;
 *           3 s later that publisher injects one more record (it must not
 *           be accepted by a node that holds the revocation).
 *   detect  pairs (observer, crashed node) are the crashed nodes each
 *           honest observer had as a peer at crash time; the time to the
 *           observer's DEAD is recorded.
 *
 * Byzantine actions (every byz_interval_ms, to up to 4 peers, 8 for flood):
 *   forge   rotates through: a publisher's record with a flipped signature
 *           byte; a record signed by the byzantine node (no cert); a cert
 *           it issued itself, then its record; an expired record of a
 *           publisher; a cert a (peer-role) publisher issued to it, then its
 *           record. All their ids go into the must-never-accept sets.
 *   replay  the first published record it got, and a cert, again and again.
 *   flood   to each peer, datagrams of 4 frames (IHAVE and IWANT of 48 random
 *           ids, GRAFT, PING) at 4 times its per-peer frame rate. */
#include <errno.h>
#include <math.h>   /* NAN, isfinite: macros only, no libm */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tools/sim/scenario.h"
#include "src/engine/wire.h"
#include "crypto/record_sig.h"
#include "proto/hex.h"

enum { STEP_REVOKE = 1, STEP_POST_REVOKE, STEP_REJOIN_DOWN, STEP_REJOIN_UP };

#define FAR_FUTURE_S (SIM_T0_MS / 1000 + 10ULL * 365 * 86400)
#define PUBLISH_TTL_S 86400

static uint64_t now_s(const struct sim *s)
{
	return s->now / 1000;
}

static unsigned fraction_count(double f, unsigned n)
{
	unsigned k = (unsigned)sim_round(f * n);

	return f > 0 && k == 0 ? 1 : k;
}

/* ---- record bodies of a given encoded size ---- */

static void svc_fill(union body *b, unsigned pad)
{
	struct svc_body *v = &b->svc;
	unsigned i = 0;

	memset(v, 0, sizeof *v);
	snprintf(v->service, sizeof v->service, "sim");
	while (pad > 0 && i < MN_MAX_ATTRS) {
		unsigned l = pad > MN_MAX_TEXT ? MN_MAX_TEXT : pad;
		snprintf(v->attrs[i].k, sizeof v->attrs[i].k, "p%u", i);
		memset(v->attrs[i].v, 'x', l);
		v->attrs[i].v[l] = 0;
		pad -= l;
		i++;
	}
	v->n_attrs = (uint8_t)i;
}

/* Encoded size of a svc record with this body (signature included). */
static size_t svc_size(const union body *b, const char *rkey, uint64_t version, uint64_t expires)
{
	uint8_t body[MN_MAX_BODY], wire[MN_MAX_RECORD];
	size_t blen;
	struct record r;

	if (body_encode(KIND_SVC, b, body, sizeof body, &blen) < 0 ||
	    record_init(&r, KIND_SVC, (const uint8_t[32]){ 0 }, rkey, version, expires) < 0)
		return 0;
	r.body = body;
	r.body_len = blen;
	return record_encode(&r, wire, sizeof wire) < 0 ? 0 : r.wire_len;
}

/* The body whose record is the largest not above target bytes; its
 * predicted size in *size (0 if even an unpadded one is too big). */
static void svc_for_size(union body *b, unsigned target, const char *rkey, uint64_t version,
			 uint64_t expires, size_t *size)
{
	unsigned lo = 0, hi = MN_MAX_ATTRS * MN_MAX_TEXT;

	svc_fill(b, 0);
	*size = svc_size(b, rkey, version, expires);
	if (*size > target) {
		*size = 0;
		return;
	}
	while (lo < hi) {   /* largest pad with size <= target */
		unsigned mid = lo + (hi - lo + 1) / 2;
		svc_fill(b, mid);
		size_t z = svc_size(b, rkey, version, expires);
		if (z && z <= target)
			lo = mid;
		else
			hi = mid - 1;
	}
	svc_fill(b, lo);
	*size = svc_size(b, rkey, version, expires);
}

/* ---- setup ---- */

/* The mesh address of node i (claim mode): 10.x.y.z from its index. */
static void sim_addr(uint32_t i, char *out, size_t cap)
{
	snprintf(out, cap, "10.%u.%u.%u", 1 + ((i >> 16) & 127), (i >> 8) & 255, i & 255);
}

static int stored_sign(struct sim *s, const struct node_key *k, unsigned kind, const char *rkey,
		       const union body *b)
{
	size_t len;

	if (sim_sign(k, kind, rkey, 1, FAR_FUTURE_S, b, &s->certs[s->ncerts].wire, &len, NULL) < 0)
		return -EINVAL;
	s->certs[s->ncerts++].len = (uint32_t)len;
	return 0;
}

/* What every engine gets at start: the publishers' certificates; with
 * cert-adopt, claim and hog, the byzantine nodes' too (root-certified, later
 * than the publishers: sub-masters, peers with a mesh address, or members
 * that publish past their budgets), and
 * with claim the root's and the publishers' node records. */
static int make_certs(struct sim *s)
{
	bool adopt = s->cfg.byz_mode == BYZ_CERT_ADOPT, claim = s->cfg.byz_mode == BYZ_CLAIM;
	bool hog = s->cfg.byz_mode == BYZ_HOG;
	unsigned cap = 2 * s->npub + s->n + 1;

	s->certs = calloc(cap, sizeof *s->certs);
	if (!s->certs)
		return -ENOMEM;
	for (uint32_t i = 1; i < s->n; i++) {
		const struct sim_node *p = &s->nodes[i];
		bool byz = (p->flags & NF_BYZ) && (adopt || claim || hog);
		union body b;
		char rkey[65];

		if (!(p->flags & NF_PUBLISHER) && !byz)
			continue;
		memset(&b.cert, 0, sizeof b.cert);
		memcpy(b.cert.subject, p->key.pk, 32);
		b.cert.role = byz && adopt ? ROLE_SUBMASTER : ROLE_PEER;
		b.cert.depth = 1;
		b.cert.max_depth = 3;
		b.cert.not_before = byz ? 1 : 0;
		b.cert.not_after = FAR_FUTURE_S;
		if (claim)
			sim_addr(i, b.cert.mesh_addr, sizeof b.cert.mesh_addr);
		hex_encode(p->key.pk, 32, rkey);
		if (stored_sign(s, &s->nodes[0].key, KIND_CERT, rkey, &b) < 0)
			return -EINVAL;
		if (claim && !byz) {
			memset(&b.node, 0, sizeof b.node);
			snprintf(b.node.name, sizeof b.node.name, "node%u", i);
			sim_addr(i, b.node.mesh_addr, sizeof b.node.mesh_addr);
			if (stored_sign(s, &p->key, KIND_NODE, "self", &b) < 0)
				return -EINVAL;
		}
	}
	if (claim) {
		union body b;
		memset(&b.node, 0, sizeof b.node);
		snprintf(b.node.name, sizeof b.node.name, "root");
		sim_addr(0, b.node.mesh_addr, sizeof b.node.mesh_addr);
		if (stored_sign(s, &s->nodes[0].key, KIND_NODE, "self", &b) < 0)
			return -EINVAL;
	}
	return 0;
}

int scen_setup(struct sim *s, char *err, size_t errlen)
{
	const struct sim_config *c = &s->cfg;
	unsigned n = s->n, P = c->publishers;

	s->res.heal_converge_ms = s->res.sync_converge_ms = -1;
	s->res.revoke_t50_ms = s->res.revoke_t999_ms = s->res.revoke_t100_ms = -1;
	s->res.detect_p50_ms = s->res.detect_p99_ms = s->res.detect_max_ms = -1;
	s->res.sync_ratio = NAN;
	s->nodes[0].flags |= NF_ROOT;

	if (!P) {
		P = c->publish < 8 ? c->publish : 8;
		if ((c->scenario == SIM_REVOKE || c->scenario == SIM_PARTITION) && P < 2)
			P = 2;
		if (c->scenario == SIM_REJOIN) {
			unsigned per = s->ecfg.max_per_origin * 9 / 10;
			unsigned by_bytes = s->ecfg.max_bytes_per_origin / (c->size + 64) * 9 / 10;
			if (by_bytes < per)
				per = by_bytes;
			unsigned need = per ? (c->publish + per - 1) / per : 1;
			if (need > P)
				P = need;
		}
	}
	if (P + 2 > n) {
		snprintf(err, errlen, "%u publishers need at least %u nodes", P, P + 2);
		return -EINVAL;
	}
	s->publishers = malloc((P ? P : 1) * sizeof *s->publishers);
	if (!s->publishers)
		goto nomem;
	for (unsigned j = 0; j < P; j++) {
		uint32_t i = 1 + (uint32_t)((uint64_t)j * (n - 1) / P);
		s->publishers[j] = i;
		s->nodes[i].flags |= NF_PUBLISHER;
	}
	s->npub = P;
	if (c->scenario == SIM_REVOKE)
		s->victim = (int)s->publishers[P - 1];

	/* the faulty sets, from a seeded shuffle of everyone else */
	uint32_t *pool = malloc(n * sizeof *pool);
	unsigned npool = 0, at = 0;
	if (!pool)
		goto nomem;
	for (unsigned i = 1; i < n; i++)
		if (!(s->nodes[i].flags & NF_PUBLISHER))
			pool[npool++] = i;
	for (unsigned i = npool; i > 1; i--) {
		unsigned j = (unsigned)sim_rand_below(s, i);
		uint32_t t = pool[i - 1];
		pool[i - 1] = pool[j];
		pool[j] = t;
	}
	unsigned nbyz = fraction_count(c->byzantine, n), ncrash = fraction_count(c->crash, n),
		 nchurn = fraction_count(c->churn, n), nrejoin = c->scenario == SIM_REJOIN;
	if (nrejoin + nbyz + ncrash + nchurn > npool) {
		free(pool);
		snprintf(err, errlen, "not enough nodes for %u faulty ones besides root and %u publishers",
			 nrejoin + nbyz + ncrash + nchurn, P);
		return -EINVAL;
	}
	if (nrejoin) {
		s->rejoin_node = pool[at++];
		s->nodes[s->rejoin_node].flags |= NF_REJOIN | NF_STORE;
	}
	for (unsigned k = 0; k < nbyz; k++)
		s->nodes[pool[at++]].flags |= NF_BYZ | (c->byz_mode == BYZ_SILENT ? NF_SILENT : 0);
	if (ncrash) {
		s->crashed = malloc(ncrash * sizeof *s->crashed);
		if (!s->crashed) {
			free(pool);
			goto nomem;
		}
		for (unsigned k = 0; k < ncrash; k++) {
			s->crashed[k] = pool[at++];
			s->nodes[s->crashed[k]].slot = k;
		}
		s->ncrashed = ncrash;
	}
	for (unsigned k = 0; k < nchurn; k++)
		s->nodes[pool[at++]].flags |= NF_CHURN | NF_STORE;
	free(pool);

	for (unsigned i = 0; i < n; i++)
		s->nodes[i].side = i >= n / 2;

	/* the record size must be reachable */
	if (c->publish) {
		union body b;
		size_t z;
		svc_for_size(&b, c->size, "r0", SIM_T0_MS * 1000, SIM_T0_MS / 1000 + PUBLISH_TTL_S, &z);
		if (!z) {
			snprintf(err, errlen, "--size %u is below the smallest record (%zu bytes)", c->size,
				 svc_size(&b, "r0", SIM_T0_MS * 1000, SIM_T0_MS / 1000 + PUBLISH_TTL_S));
			return -EINVAL;
		}
		if (z + 8 < c->size) {
			snprintf(err, errlen, "--size %u is above the largest svc record (%zu bytes)",
				 c->size, z);
			return -EINVAL;
		}
	}
	if (make_certs(s) < 0) {
		snprintf(err, errlen, "cannot sign the publishers' certificates");
		return -EINVAL;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* ---- publishing ---- */

static uint64_t publish_time(const struct sim *s, unsigned k)
{
	return s->t_measure + sim_round((double)k * 1000.0 / s->cfg.rate);
}

/* rejoin: records published before the node goes away */
static unsigned rejoin_keep(const struct sim *s)
{
	unsigned missed = (unsigned)sim_ceil(s->cfg.miss * s->cfg.publish);

	return missed < s->cfg.publish ? s->cfg.publish - missed : 0;
}

static void publish(struct sim *s, unsigned k)
{
	const struct sim_config *c = &s->cfg;
	struct sim_node *p = NULL;
	union body b;
	uint8_t id[32];
	char rkey[24];
	size_t predicted;
	int perr = 0;

	for (unsigned t = 0; t < s->npub && !p; t++) {
		struct sim_node *q = &s->nodes[s->publishers[(k + t) % s->npub]];
		if (q->e && !((int)q->idx == s->victim && s->revoke_published))
			p = q;
	}
	s->pub_next = k + 1;
	if (k + 1 < c->publish)
		sim_push(s, publish_time(s, k + 1), EV_PUBLISH, 0, k + 1);
	if (c->scenario == SIM_REJOIN && k + 1 == rejoin_keep(s))
		sim_push(s, s->now, EV_STEP, 0, STEP_REJOIN_DOWN);
	if (!p)
		return;
	snprintf(rkey, sizeof rkey, "r%u", k);
	int target = (int)c->size - s->size_adjust;
	svc_for_size(&b, target > 0 ? (unsigned)target : 1, rkey, s->now * 1000,
		     now_s(s) + PUBLISH_TTL_S, &predicted);
	s->publishing = p->idx;
	int rc = engine_publish(p->e, KIND_SVC, rkey, &b, PUBLISH_TTL_S, s->now, id, &perr);
	s->publishing = SIM_NONE;
	sim_schedule_tick(s, p, s->now);
	if (rc < 0) {
		if (!s->res.publish_errors++)
			fprintf(stderr, "mirrornet-sim: engine_publish on node %u: %s (proto %d)\n",
				p->idx, strerror(-rc), perr);
		return;
	}
	struct sim_rec *rec = sim_track(s, id, p->idx, s->now);
	if (!rec)
		return;
	if (!rec->arr[p->idx]) {   /* the engine did not call ops->accepted for its own */
		rec->arr[p->idx] = 1;
		rec->hop[p->idx] = 0;
		sim_rec_hold(rec, p, true);
	}
	if (!rec->size) {
		rec->size = (uint32_t)predicted;
	} else if (!s->size_learnt) {
		s->size_adjust = (int)rec->size - (int)predicted;
		s->size_learnt = true;
	}
}

/* ---- byzantine actions ---- */

static unsigned byz_targets(struct sim *s, const struct sim_node *b, uint32_t *out, unsigned want)
{
	unsigned k = 0;

	for (unsigned tries = 0; k < want && tries < 4 * want; tries++) {
		uint32_t t = b->boot ? b->boot[sim_rand_below(s, b->nboot)]
				     : (uint32_t)sim_rand_below(s, s->n);
		bool dup = t == b->idx;
		for (unsigned j = 0; j < k && !dup; j++)
			dup = out[j] == t;
		if (!dup)
			out[k++] = t;
	}
	return k;
}

static void byz_send(struct sim *s, const struct sim_node *b, const struct wire_buf *w,
		     unsigned frames, unsigned want)
{
	uint32_t to[8];
	unsigned k = byz_targets(s, b, to, want);

	for (unsigned j = 0; j < k; j++) {
		sim_net_send(s, b->idx, to[j], w->buf, w->len, CHAN_DGRAM);
		s->res.injected += frames;
	}
}

static void mark(struct sim_map *m, const uint8_t id[32])
{
	sim_map_put(m, id, 1);
}

static void byz_forge(struct sim *s, struct sim_node *b)
{
	uint32_t victim = s->npub ? s->publishers[sim_rand_below(s, s->npub)] : 0;
	const struct node_key *pub = &s->nodes[victim].key;
	uint8_t buf[ENGINE_MTU], *w1 = NULL, *w2 = NULL, id[32];
	size_t l1 = 0, l2 = 0;
	uint64_t ver = 1000000000000000ULL + s->forge_seq, exp = now_s(s) + PUBLISH_TTL_S;
	struct wire_buf w;
	union body body, cert;
	char rkey[32], skey[65];
	unsigned frames = 0;

	snprintf(rkey, sizeof rkey, "forge-%llu", (unsigned long long)s->forge_seq++);
	svc_fill(&body, 16);
	memset(&cert.cert, 0, sizeof cert.cert);
	memcpy(cert.cert.subject, b->key.pk, 32);
	cert.cert.role = ROLE_PEER;
	cert.cert.depth = 1;
	cert.cert.max_depth = 3;
	cert.cert.not_after = FAR_FUTURE_S;
	hex_encode(b->key.pk, 32, skey);
	switch (b->byz_phase++ % 5) {
	case 0:   /* a publisher's record, signature broken */
		if (sim_sign(pub, KIND_SVC, rkey, ver, exp, &body, &w1, &l1, id) == 0) {
			w1[l1 - 1] ^= 0x01;
			mark(&s->badmap, id);
		}
		break;
	case 1:   /* signed by a node without a cert */
		if (sim_sign(&b->key, KIND_SVC, rkey, ver, exp, &body, &w1, &l1, id) == 0)
			mark(&s->badmap, id);
		break;
	case 2:   /* a self-issued cert, then a record under it */
		if (sim_sign(&b->key, KIND_CERT, skey, ver, FAR_FUTURE_S, &cert, &w1, &l1, id) == 0)
			mark(&s->badmap, id);
		if (sim_sign(&b->key, KIND_SVC, rkey, ver, exp, &body, &w2, &l2, id) == 0)
			mark(&s->badmap, id);
		break;
	case 3:   /* a publisher's record, expired */
		if (sim_sign(pub, KIND_SVC, rkey, ver, now_s(s) - 60, &body, &w1, &l1, id) == 0)
			mark(&s->badmap, id);
		break;
	default:  /* a cert issued by a peer (out of its rights), then a record under it */
		if (sim_sign(pub, KIND_CERT, skey, ver, FAR_FUTURE_S, &cert, &w1, &l1, id) == 0)
			mark(&s->scopemap, id);
		if (sim_sign(&b->key, KIND_SVC, rkey, ver, exp, &body, &w2, &l2, id) == 0)
			mark(&s->badmap, id);
		break;
	}
	wire_buf_init(&w, buf, sizeof buf);
	if (w1 && wire_add_record(&w, w1, l1) == 0)
		frames++;
	if (w2 && wire_add_record(&w, w2, l2) == 0)
		frames++;
	if (frames)
		byz_send(s, b, &w, frames, 4);
	free(w1);
	free(w2);
}

/* cert-adopt: a sub-master certifies a member of the root (a publisher)
 * as its own, then revokes it; or revokes it outright. Never accepted. */
static void byz_cert_adopt(struct sim *s, struct sim_node *b)
{
	uint32_t victim = s->npub ? s->publishers[sim_rand_below(s, s->npub)] : 0;
	const struct node_key *v = &s->nodes[victim].key;
	uint8_t buf[ENGINE_MTU], *w1 = NULL, *w2 = NULL, id[32];
	size_t l1 = 0, l2 = 0;
	uint64_t ver = 1000000000000000ULL + s->forge_seq++;
	struct wire_buf w;
	union body cert, rev;
	char skey[65];
	unsigned frames = 0;

	memset(&cert.cert, 0, sizeof cert.cert);
	memcpy(cert.cert.subject, v->pk, 32);
	cert.cert.role = b->byz_phase % 2 ? ROLE_SUBMASTER : ROLE_PEER;
	cert.cert.depth = 2;
	cert.cert.max_depth = 3;
	cert.cert.not_after = FAR_FUTURE_S;
	memset(&rev.revoke, 0, sizeof rev.revoke);
	memcpy(rev.revoke.subject, v->pk, 32);
	snprintf(rev.revoke.reason, sizeof rev.revoke.reason, "adopted");
	rev.revoke.time = now_s(s);
	hex_encode(v->pk, 32, skey);
	if (b->byz_phase++ % 3 != 2 &&
	    sim_sign(&b->key, KIND_CERT, skey, ver, FAR_FUTURE_S, &cert, &w1, &l1, id) == 0)
		mark(&s->scopemap, id);
	if (sim_sign(&b->key, KIND_REVOKE, skey, ver, FAR_FUTURE_S, &rev, &w2, &l2, id) == 0)
		mark(&s->scopemap, id);
	wire_buf_init(&w, buf, sizeof buf);
	if (w1 && wire_add_record(&w, w1, l1) == 0)
		frames++;
	if (w2 && wire_add_record(&w, w2, l2) == 0)
		frames++;
	if (frames)
		byz_send(s, b, &w, frames, 4);
	free(w1);
	free(w2);
}

/* claim: a member's node record with a publisher's name, a publisher's
 * mesh address, or the root's. Never accepted. */
static void byz_claim(struct sim *s, struct sim_node *b)
{
	uint32_t victim = s->npub ? s->publishers[sim_rand_below(s, s->npub)] : 0;
	uint8_t buf[ENGINE_MTU], *w1 = NULL, id[32];
	size_t l1 = 0;
	uint64_t ver = 1000000000000000ULL + s->forge_seq++;
	struct wire_buf w;
	union body nb;

	memset(&nb.node, 0, sizeof nb.node);
	snprintf(nb.node.name, sizeof nb.node.name, "byz%u", b->idx);
	sim_addr(b->idx, nb.node.mesh_addr, sizeof nb.node.mesh_addr);
	switch (b->byz_phase++ % 3) {
	case 0:   /* a publisher's name (it was certified first) */
		snprintf(nb.node.name, sizeof nb.node.name, "node%u", victim);
		break;
	case 1:   /* a publisher's mesh address (not the one in our cert) */
		sim_addr(victim, nb.node.mesh_addr, sizeof nb.node.mesh_addr);
		break;
	default:  /* the root's */
		sim_addr(0, nb.node.mesh_addr, sizeof nb.node.mesh_addr);
		break;
	}
	if (sim_sign(&b->key, KIND_NODE, "self", ver, now_s(s) + PUBLISH_TTL_S, &nb, &w1, &l1, id) < 0)
		return;
	mark(&s->scopemap, id);
	wire_buf_init(&w, buf, sizeof buf);
	if (wire_add_record(&w, w1, l1) == 0)
		byz_send(s, b, &w, 1, 4);
	free(w1);
}

static void byz_replay(struct sim *s, struct sim_node *b)
{
	uint8_t buf[ENGINE_MTU];
	struct wire_buf w;
	unsigned frames = 0;

	wire_buf_init(&w, buf, sizeof buf);
	if (b->replay && wire_add_record(&w, b->replay, b->replay_len) == 0)
		frames++;
	if (s->ncerts && wire_add_record(&w, s->certs[0].wire, s->certs[0].len) == 0)
		frames++;
	if (frames)
		byz_send(s, b, &w, frames, 4);
}

static void random_ids(struct sim *s, uint8_t *ids, size_t n)
{
	for (size_t i = 0; i < n * WIRE_ID_LEN; i += 4) {
		uint32_t v = (uint32_t)sim_rand(s);
		memcpy(ids + i, &v, 4);
	}
}

static void byz_flood(struct sim *s, struct sim_node *b)
{
	uint8_t buf[ENGINE_MTU], ids[48 * WIRE_ID_LEN];
	uint32_t to[8];
	unsigned k = byz_targets(s, b, to, 8);
	/* 4 frames a datagram, 4x the per-peer rate (which allows bursts of 2x) */
	uint64_t dgrams = (uint64_t)s->ecfg.peer_msgs_per_s * s->cfg.byz_interval_ms / 1000;

	if (dgrams < 20)
		dgrams = 20;
	for (unsigned j = 0; j < k; j++) {
		for (uint64_t d = 0; d < dgrams; d++) {
			struct wire_buf w;
			unsigned frames = 0;
			wire_buf_init(&w, buf, sizeof buf);
			random_ids(s, ids, 48);
			frames += wire_add_ids(&w, W_IHAVE, ids, 48) == 0;
			random_ids(s, ids, 48);
			frames += wire_add_ids(&w, W_IWANT, ids, 48) == 0;
			frames += wire_add_simple(&w, W_GRAFT, 0, 0, NULL) == 0;
			frames += wire_add_simple(&w, W_PING, sim_rand(s) >> 40, 0, NULL) == 0;
			sim_net_send(s, b->idx, to[j], w.buf, w.len, CHAN_DGRAM);
			s->res.injected += frames;
		}
	}
}

/* A certified member publishing new ~1 KB records as fast as the
 * per-peer rate lets them in, to its targets by the stream path: past its
 * per-origin budget within a few actions. */
static void byz_hog(struct sim *s, struct sim_node *b)
{
	static uint8_t buf[ENGINE_MAX_STREAM];
	uint32_t to[8];
	unsigned k = byz_targets(s, b, to, 4), frames = 0;
	struct wire_buf w;
	union body body;
	size_t z;

	wire_buf_init(&w, buf, sizeof buf);
	for (unsigned i = 0; i < 32; i++) {
		char rkey[32];
		uint8_t *rec = NULL;
		size_t len = 0;
		snprintf(rkey, sizeof rkey, "hog-%llu", (unsigned long long)s->forge_seq++);
		svc_for_size(&body, 1000, rkey, s->now * 1000, now_s(s) + PUBLISH_TTL_S, &z);
		if (sim_sign(&b->key, KIND_SVC, rkey, s->now * 1000, now_s(s) + PUBLISH_TTL_S, &body,
			     &rec, &len, NULL) == 0 && wire_add_record(&w, rec, len) == 0)
			frames++;
		free(rec);
	}
	for (unsigned j = 0; frames && j < k; j++) {
		sim_net_send(s, b->idx, to[j], w.buf, w.len, CHAN_STREAM);
		s->res.injected += frames;
	}
}

/* A datagram of control frames and a garbage tail: IHAVE of random ids
 * (promises nobody keeps), GRAFT, PING, then bytes no frame parses. */
static size_t hostile_dgram(struct sim *s, uint8_t *buf, size_t cap, unsigned *frames)
{
	uint8_t ids[16 * WIRE_ID_LEN];
	struct wire_buf w;

	wire_buf_init(&w, buf, cap);
	random_ids(s, ids, 16);
	*frames = wire_add_ids(&w, W_IHAVE, ids, 16) == 0;
	*frames += wire_add_simple(&w, W_GRAFT, 0, 0, NULL) == 0;
	*frames += wire_add_simple(&w, W_PING, sim_rand(s) >> 40, 0, NULL) == 0;
	size_t len = w.len;
	for (unsigned i = 0; i < 16 && len < cap; i++)
		buf[len++] = (uint8_t)(0xf0 | i);   /* no frame type */
	return len;
}

/* strangers: every interval, 8 peers get 64 datagrams, each under a fresh
 * random key (a stranger filling peer tables); spoof: the same under the
 * keys of honest members (a stranger getting them graylisted). Both reach
 * the engine the way the plain transport hands over a key it cannot check
 * (engine_recv_claimed). */
static void byz_claims(struct sim *s, struct sim_node *b, bool random_keys)
{
	uint8_t buf[ENGINE_MTU], key[32];
	uint32_t to[8];
	unsigned k = byz_targets(s, b, to, 8);

	for (unsigned j = 0; j < k; j++) {
		for (unsigned d = 0; d < 64; d++) {
			unsigned frames;
			size_t len = hostile_dgram(s, buf, sizeof buf, &frames);
			if (random_keys) {
				for (int i = 0; i < 32; i += 8) {
					uint64_t v = sim_rand(s);
					memcpy(key + i, &v, 8);
				}
				s->send_claim = key;
			} else {
				const struct sim_node *v = &s->nodes[sim_rand_below(s, s->n)];
				if (!sim_honest(v) || v->idx == to[j])
					continue;
				s->send_claim = v->key.pk;
			}
			sim_net_send(s, b->idx, to[j], buf, len, CHAN_DGRAM);
			s->send_claim = NULL;
			s->res.injected += frames;
		}
	}
}

/* Forged membership claims: LEFT, DEAD and SUSPECT about random honest
 * nodes, at the top incarnation, far above the victim's, and at its
 * current one (a plausible claim: the victim must refute it). */
static void byz_forge_member(struct sim *s, struct sim_node *b)
{
	uint8_t buf[ENGINE_MTU];
	struct wire_buf w;
	unsigned frames = 0;

	wire_buf_init(&w, buf, sizeof buf);
	for (unsigned i = 0; i < 6; i++) {
		struct sim_node *v = &s->nodes[sim_rand_below(s, s->n)];
		struct engine_stats st;
		if (!sim_honest(v) || !v->e)
			continue;
		engine_get_stats(v->e, &st);
		uint64_t inc = i % 3 == 0 ? UINT32_MAX : i % 3 == 1 ? st.incarnation + 1000000ULL
							     : st.incarnation;
		enum peer_state state = (enum peer_state)(PEER_SUSPECT + sim_rand_below(s, 3));
		frames += wire_add_simple(&w, W_MEMBER, state, inc, v->key.pk) == 0;
	}
	if (frames)
		byz_send(s, b, &w, frames, 8);
}

static void byz_act(struct sim *s, struct sim_node *b)
{
	if (b->flags & NF_DOWN)
		return;
	switch (s->cfg.byz_mode) {
	case BYZ_FORGE: byz_forge(s, b); break;
	case BYZ_REPLAY: byz_replay(s, b); break;
	case BYZ_FLOOD: byz_flood(s, b); break;
	case BYZ_CERT_ADOPT: byz_cert_adopt(s, b); break;
	case BYZ_CLAIM: byz_claim(s, b); break;
	case BYZ_HOG: byz_hog(s, b); break;
	case BYZ_STRANGERS: byz_claims(s, b, true); break;
	case BYZ_SPOOF: byz_claims(s, b, false); break;
	case BYZ_FORGE_MEMBER: byz_forge_member(s, b); break;
	default: return;
	}
	sim_push(s, s->now + s->cfg.byz_interval_ms, EV_BYZ, b->idx, 0);
}

/* ---- steps ---- */

static uint64_t around(struct sim *s, unsigned mean)
{
	return mean / 2 + sim_rand_below(s, (uint64_t)mean + 1);
}

static void revoke(struct sim *s)
{
	struct sim_node *root = &s->nodes[0], *v = &s->nodes[s->victim];
	union body b;
	char rkey[65];
	int perr = 0;

	if (!root->e)
		return;
	memset(&b.revoke, 0, sizeof b.revoke);
	memcpy(b.revoke.subject, v->key.pk, 32);
	snprintf(b.revoke.reason, sizeof b.revoke.reason, "simulated revocation");
	b.revoke.time = now_s(s);
	hex_encode(v->key.pk, 32, rkey);
	int rc = engine_publish(root->e, KIND_REVOKE, rkey, &b, FAR_FUTURE_S - now_s(s), s->now,
				s->revoke_id, &perr);
	sim_schedule_tick(s, root, s->now);
	if (rc < 0) {
		fprintf(stderr, "mirrornet-sim: revoke publish: %s (proto %d)\n", strerror(-rc), perr);
		return;
	}
	s->revoke_published = true;
	s->revoke_t = s->now;
	for (size_t k = 0; k < s->nrecs; k++)
		if ((int)s->recs[k].origin == s->victim)
			s->recs[k].revoked = true;
	s->revoke_done = calloc(s->n, sizeof *s->revoke_done);
	sim_push(s, s->now + 3000, EV_STEP, 0, STEP_POST_REVOKE);
}

/* The revoked node tries once more, directly to its peers. */
static void post_revoke(struct sim *s)
{
	struct sim_node *v = &s->nodes[s->victim];
	uint8_t buf[ENGINE_MTU], *w1 = NULL;
	size_t l1 = 0;
	union body body;
	struct wire_buf w;

	svc_fill(&body, 16);
	if (sim_sign(&v->key, KIND_SVC, "after-revoke", 1, now_s(s) + PUBLISH_TTL_S, &body, &w1, &l1,
		     NULL) < 0)
		return;
	wire_buf_init(&w, buf, sizeof buf);
	if (wire_add_record(&w, w1, l1) == 0)
		byz_send(s, v, &w, 1, 8);
	free(w1);
}

static void rejoin_up(struct sim *s)
{
	struct sim_node *r = &s->nodes[s->rejoin_node];

	if (sim_node_start(s, r) < 0) {
		s->start_err = -ENOMEM;
		return;
	}
	for (size_t k = 0; k < s->nrecs; k++) {
		if (s->recs[k].revoked || sim_rec_held(&s->recs[k], r->idx))
			continue;
		s->res.missed_records++;
		s->res.missed_bytes += s->recs[k].size;
	}
	s->rejoin_restart_t = s->now;
	s->rejoin_counting = true;
}

void scen_event(struct sim *s, const struct ev *ev)
{
	struct sim_node *n = ev->a < s->n ? &s->nodes[ev->a] : NULL;

	switch (ev->type) {
	case EV_PUBLISH:
		publish(s, ev->b);
		break;
	case EV_HEAL:
		s->part_active = false;
		s->heal_t = s->now;
		break;
	case EV_CHURN:
		/* churn lasts churn_for_ms and while records are published; then
		 * everyone comes back and stays up */
		if (s->pub_next >= s->cfg.publish && s->now >= s->t_measure + s->cfg.churn_for_ms) {
			if (!n->e && sim_node_start(s, n) < 0)
				s->start_err = -ENOMEM;
			break;
		}
		if (n->e) {
			sim_node_down(s, n);
			sim_push(s, s->now + around(s, s->cfg.churn_down_ms), EV_CHURN, n->idx, 0);
		} else {
			if (sim_node_start(s, n) < 0)
				s->start_err = -ENOMEM;
			sim_push(s, s->now + around(s, s->cfg.churn_up_ms), EV_CHURN, n->idx, 0);
		}
		break;
	case EV_BYZ:
		byz_act(s, n);
		break;
	case EV_STEP:
		switch (ev->b) {
		case STEP_REVOKE: revoke(s); break;
		case STEP_POST_REVOKE: post_revoke(s); break;
		case STEP_REJOIN_DOWN: sim_node_down(s, &s->nodes[s->rejoin_node]); break;
		case STEP_REJOIN_UP: rejoin_up(s); break;
		}
		break;
	default:
		break;
	}
}

/* Pairs (crashed node, honest observer that had it as a peer). */
static void detect_pairs(struct sim *s)
{

	s->detect = malloc((size_t)s->ncrashed * s->n * sizeof *s->detect);
	if (!s->detect)
		return;
	for (size_t i = 0; i < (size_t)s->ncrashed * s->n; i++)
		s->detect[i] = UINT32_MAX;
	for (unsigned o = 0; o < s->n; o++) {
		struct sim_node *obs = &s->nodes[o];
		if (!obs->e || !sim_honest(obs))
			continue;
		size_t np;
		struct engine_peer_info *pi = engine_peers_alloc(obs->e, &np);
		for (size_t j = 0; j < np; j++) {
			int64_t p = sim_map_get(&s->pkmap, pi[j].pk);
			if (p < 0 || s->nodes[p].slot == SIM_NONE || pi[j].state == PEER_DEAD)
				continue;
			s->detect[(size_t)s->nodes[p].slot * s->n + o] = 0;
			s->res.detect_pairs++;
		}
		free(pi);
	}
}

void scen_measure_start(struct sim *s)
{
	const struct sim_config *c = &s->cfg;

	for (unsigned k = 0; k < s->ncrashed; k++) {
		struct sim_node *n = &s->nodes[s->crashed[k]];
		sim_node_down(s, n);
		n->flags |= NF_GONE;
	}
	if (s->ncrashed)
		detect_pairs(s);
	if (c->partition) {
		s->part_active = true;
		sim_push(s, s->now + c->heal_ms, EV_HEAL, 0, 0);
	}
	for (unsigned i = 0; i < s->n; i++) {
		struct sim_node *n = &s->nodes[i];
		if (n->flags & NF_CHURN)
			sim_push(s, s->now + sim_rand_below(s, 2ULL * c->churn_up_ms + 1), EV_CHURN, i, 0);
		if ((n->flags & NF_BYZ) && (c->byz_mode == BYZ_FORGE || c->byz_mode == BYZ_REPLAY ||
					    c->byz_mode == BYZ_FLOOD || c->byz_mode == BYZ_CERT_ADOPT ||
					    c->byz_mode == BYZ_CLAIM || c->byz_mode == BYZ_HOG ||
					    c->byz_mode == BYZ_STRANGERS || c->byz_mode == BYZ_SPOOF ||
					    c->byz_mode == BYZ_FORGE_MEMBER))
			sim_push(s, s->now + sim_rand_below(s, c->byz_interval_ms), EV_BYZ, i, 0);
	}
	if (c->scenario == SIM_REJOIN && rejoin_keep(s) == 0)
		sim_push(s, s->now, EV_STEP, 0, STEP_REJOIN_DOWN);
	if (c->publish)
		sim_push(s, s->now, EV_PUBLISH, 0, 0);
	if (c->scenario == SIM_REVOKE)
		sim_push(s, publish_time(s, c->publish ? c->publish - 1 : 0) + 2000, EV_STEP, 0,
			 STEP_REVOKE);
}

void scen_peer_state(struct sim *s, struct sim_node *obs, uint32_t peer, enum peer_state to)
{
	const struct sim_node *p = &s->nodes[peer];

	if (!s->detect || to != PEER_DEAD || p->slot == SIM_NONE || !(p->flags & NF_GONE))
		return;
	uint32_t *d = &s->detect[(size_t)p->slot * s->n + obs->idx];
	if (*d == 0) {
		*d = (uint32_t)(s->now - s->t_measure) + 1;
		s->res.detect_found++;
	}
}

static bool victim_gone(const struct sim *s, struct engine *e)
{
	if (!engine_has(e, s->revoke_id))
		return false;
	for (size_t k = 0; k < s->nrecs; k++)
		if ((int)s->recs[k].origin == s->victim && engine_has(e, s->recs[k].id))
			return false;
	return true;
}

/* Churn is over: its time is up and every churning node is back. */
static bool churn_over(const struct sim *s)
{
	if (s->cfg.churn <= 0)
		return true;
	if (s->pub_next < s->cfg.publish || s->now < s->t_measure + s->cfg.churn_for_ms)
		return false;
	for (unsigned i = 0; i < s->n; i++)
		if ((s->nodes[i].flags & NF_CHURN) && !s->nodes[i].e)
			return false;
	return true;
}

void scen_checkpoint(struct sim *s)
{
	const struct sim_config *c = &s->cfg;
	bool done = false;

	switch (c->scenario) {
	case SIM_BASIC:
		done = sim_all_delivered(s);
		break;
	case SIM_PARTITION: {
		if (s->part_active || !s->heal_t || !sim_all_delivered(s))
			break;
		uint8_t d0[32], d[32];
		bool first = true, same = true;
		for (unsigned i = 0; i < s->n && same; i++) {
			struct sim_node *n = &s->nodes[i];
			if (!n->e || !sim_honest(n))
				continue;
			engine_digest(n->e, first ? d0 : d);
			if (!first)
				same = !memcmp(d0, d, 32);
			first = false;
		}
		if (same && s->res.heal_converge_ms < 0)
			s->res.heal_converge_ms = (double)(s->now - s->heal_t);
		done = same;
		break;
	}
	case SIM_REJOIN: {
		struct sim_node *r = &s->nodes[s->rejoin_node];
		if (!r->e && !s->rejoin_up_scheduled && sim_all_delivered(s)) {
			s->rejoin_up_scheduled = true;
			sim_push(s, s->now + 1000, EV_STEP, 0, STEP_REJOIN_UP);
		}
		if (r->e && s->rejoin_counting) {
			bool all = true;
			for (size_t k = 0; k < s->nrecs && all; k++)
				all = s->recs[k].revoked || sim_rec_held(&s->recs[k], r->idx);
			if (all) {
				s->rejoin_counting = false;
				s->rejoin_done = true;
				s->res.sync_converge_ms = (double)(s->now - s->rejoin_restart_t);
			}
		}
		done = s->rejoin_done && sim_all_delivered(s);
		break;
	}
	case SIM_REVOKE: {
		if (!s->revoke_published || !s->revoke_done)
			break;
		bool all = true;
		for (unsigned i = 0; i < s->n; i++) {
			struct sim_node *n = &s->nodes[i];
			if (!n->e || !sim_honest(n) || s->revoke_done[i] || (int)i == s->victim)
				continue;
			if (victim_gone(s, n->e))
				s->revoke_done[i] = (uint32_t)(s->now - s->revoke_t) + 1;
			else
				all = false;
		}
		done = all && s->now >= s->revoke_t + 4000 && sim_all_delivered(s);
		break;
	}
	case SIM_DETECT:
		done = s->res.detect_found >= s->res.detect_pairs && s->pub_next >= c->publish;
		break;
	}
	if (done && !s->done_at && churn_over(s))
		s->done_at = s->now;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double quantile(const uint32_t *v, size_t n, double p)
{
	if (!n)
		return -1;
	size_t k = (size_t)sim_ceil(p * (double)n - 1e-9);
	return (double)v[(k ? k : 1) - 1];
}

struct victim_count {
	const uint8_t *pk;
	uint64_t n;
};

static int count_victim(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct victim_count *vc = ctx;

	(void)id;
	if (!memcmp(r->origin, vc->pk, 32))
		vc->n++;
	return 0;
}

void scen_finish(struct sim *s)
{
	struct sim_results *r = &s->res;

	if (s->cfg.scenario == SIM_REJOIN) {
		uint64_t data = s->rejoin_overhead[0], all = s->rejoin_overhead[0] + s->rejoin_overhead[1];
		for (int i = 0; i < SIM_FRAME_TYPES; i++) {
			all += s->rejoin_bytes[i];
			if (i != W_PING && i != W_ACK && i != W_PINGREQ && i != W_MEMBER)
				data += s->rejoin_bytes[i];
		}
		r->sync_bytes = data;
		r->sync_bytes_all = all;
		r->sync_ratio = r->missed_bytes ? (double)data / (double)r->missed_bytes : NAN;
	}
	if (s->cfg.scenario == SIM_REVOKE && s->revoke_done) {
		uint32_t *v = malloc(s->n * sizeof *v);
		size_t nv = 0, targets = 0;
		for (unsigned i = 0; v && i < s->n; i++) {
			struct sim_node *n = &s->nodes[i];
			if (!n->e || !sim_honest(n) || (int)i == s->victim)
				continue;
			targets++;
			if (s->revoke_done[i])
				v[nv++] = s->revoke_done[i] - 1;
			struct victim_count vc = { s->nodes[s->victim].key.pk, 0 };
			engine_each_record(n->e, 0, NULL, count_victim, &vc);
			r->revoke_leftover += vc.n;
		}
		if (v) {
			qsort(v, nv, sizeof *v, cmp_u32);
			size_t need50 = (size_t)sim_ceil(0.5 * (double)targets - 1e-9),
			       need999 = (size_t)sim_ceil(0.999 * (double)targets - 1e-9);
			r->revoke_t50_ms = nv >= need50 && nv ? (double)v[(need50 ? need50 : 1) - 1] : -1;
			r->revoke_t999_ms = nv >= need999 && nv ? (double)v[(need999 ? need999 : 1) - 1] : -1;
			r->revoke_t100_ms = nv == targets && nv ? (double)v[nv - 1] : -1;
		}
		free(v);
	}
	if (s->detect && r->detect_found) {
		uint32_t *v = malloc(r->detect_found * sizeof *v);
		size_t nv = 0;
		for (size_t i = 0; v && i < (size_t)s->ncrashed * s->n; i++)
			if (s->detect[i] && s->detect[i] != UINT32_MAX && nv < r->detect_found)
				v[nv++] = s->detect[i] - 1;
		if (v) {
			qsort(v, nv, sizeof *v, cmp_u32);
			r->detect_p50_ms = quantile(v, nv, 0.5);
			r->detect_p99_ms = quantile(v, nv, 0.99);
			r->detect_max_ms = nv ? (double)v[nv - 1] : -1;
		}
		free(v);
	}
}

void scen_free(struct sim *s)
{
	free(s->crashed);
	free(s->detect);
	free(s->revoke_done);
}
