/* Trust at the door: who may sign what.
 *
 * A record is accepted only from an origin whose certificate chain (root →
 * sub-masters → origin, built from the cert records held) validates now
 * and contains no revoked key. The verdict is cached per origin and
 * recomputed when any cert or revoke record arrives (a generation
 * counter). Signatures of cert records were checked once when they came
 * in, so chains are validated without checking them again.
 *
 * Kind rules (docs/records.md "who signs"): node — key "self"; cert —
 * issuer trusted, resulting chain valid; revoke — the root or an ancestor
 * of the subject; dns — the zone lies strictly inside the origin's DNS
 * scope; the other kinds — any trusted member.
 *
 * Records whose origin has no certificate yet wait in a bounded FIFO
 * (PENDING_CAP; the oldest is dropped) and are retried, unverified until
 * then, when a certificate arrives. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "src/engine/engine_int.h"
#include "crypto/record_sig.h"
#include "proto/hex.h"

static size_t origin_bucket(const struct engine *e, const uint8_t pk[32])
{
	uint64_t v;

	memcpy(&v, pk, sizeof v);
	return (size_t)v & (e->origin_buckets - 1);
}

struct origin *origin_find(const struct engine *e, const uint8_t pk[32])
{
	if (!e->origin_buckets)
		return NULL;
	for (struct origin *o = e->origins[origin_bucket(e, pk)]; o; o = o->next)
		if (memcmp(o->pk, pk, 32) == 0)
			return o;
	return NULL;
}

struct origin *origin_get(struct engine *e, const uint8_t pk[32])
{
	struct origin *o = origin_find(e, pk);

	if (o)
		return o;
	if (e->norigins + 1 > e->origin_buckets) {
		size_t nb = e->origin_buckets ? e->origin_buckets * 2 : 64;
		struct origin **t = calloc(nb, sizeof *t);
		if (!t)
			return NULL;
		for (size_t i = 0; i < e->origin_buckets; i++) {
			struct origin *x = e->origins[i], *nx;
			for (; x; x = nx) {
				nx = x->next;
				uint64_t v;
				memcpy(&v, x->pk, sizeof v);
				x->next = t[v & (nb - 1)];
				t[v & (nb - 1)] = x;
			}
		}
		free(e->origins);
		e->origins = t;
		e->origin_buckets = nb;
	}
	o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	memcpy(o->pk, pk, 32);
	size_t b = origin_bucket(e, pk);
	o->next = e->origins[b];
	e->origins[b] = o;
	e->norigins++;
	return o;
}

void origins_free(struct engine *e)
{
	for (size_t i = 0; i < e->origin_buckets; i++) {
		struct origin *o = e->origins[i], *n;
		for (; o; o = n) {
			n = o->next;
			free(o);
		}
	}
	free(e->origins);
	e->origins = NULL;
	e->origin_buckets = e->norigins = 0;
	for (size_t i = 0; i < PENDING_CAP; i++)
		free(e->pending[i].wire);
}

void origins_forget_cert(struct engine *e, const struct rec *x)
{
	if (x->kind != KIND_CERT)
		return;
	for (size_t i = 0; i < e->origin_buckets; i++)
		for (struct origin *o = e->origins[i]; o; o = o->next)
			if (o->cert == x) {
				o->cert = NULL;
				e->trust_gen++;
			}
}

bool trust_is_revoked(const struct engine *e, const uint8_t pk[32])
{
	const struct origin *o = origin_find(e, pk);

	return o && o->revoked;
}

static bool revoked_cb(void *ctx, const uint8_t pk[32])
{
	return trust_is_revoked(ctx, pk);
}

/* Collect pk's chain, root first, from the cert records held. */
static int collect_chain(struct engine *e, const uint8_t pk[32], struct record *recs,
			 const struct record **ptrs, size_t *n)
{
	const uint8_t *cur = pk;
	size_t k = 0;

	while (memcmp(cur, e->root, 32) != 0) {
		struct origin *o = origin_find(e, cur);
		if (!o || !o->cert)
			return -ENOENT;
		if (k >= MN_MAX_DEPTH)
			return -ELOOP;
		if (record_decode_envelope(o->cert->wire, o->cert->wire_len, &recs[k]) < 0)
			return -EBADMSG;
		cur = recs[k].origin;
		k++;
	}
	/* the root's own depth-0 cert, if held, heads every chain */
	struct origin *ro = origin_find(e, e->root);
	size_t off = 0;
	if (ro && ro->cert && memcmp(rec_origin(ro->cert), e->root, 32) == 0 &&
	    record_decode_envelope(ro->cert->wire, ro->cert->wire_len, &recs[k]) == 0) {
		ptrs[0] = &recs[k];
		off = 1;
	}
	for (size_t i = 0; i < k; i++)
		ptrs[off + i] = &recs[k - 1 - i];
	*n = k + off;
	return 0;
}

static int validate(struct engine *e, const uint8_t pk[32], const struct record *extra,
		    struct chain_result *res)
{
	struct record recs[MN_MAX_DEPTH + 2];
	const struct record *ptrs[MN_MAX_DEPTH + 3];
	size_t n = 0;
	int err;

	if (extra) {
		/* the chain of a new cert: its issuer's chain + the cert */
		if ((err = collect_chain(e, extra->origin, recs, ptrs, &n)) < 0)
			return err;
		if (n > MN_MAX_DEPTH + 1)
			return -ELOOP;
		/* the root issuing its own cert: that cert is the whole chain */
		if (memcmp(extra->origin, e->root, 32) == 0 && memcmp(pk, e->root, 32) == 0)
			n = 0;
		ptrs[n++] = extra;
	} else if ((err = collect_chain(e, pk, recs, ptrs, &n)) < 0) {
		return err;
	}
	struct chain_policy pol = {
		.root = e->root, .now = e->now / 1000, .is_revoked = revoked_cb,
		.revoked_ctx = e, .links_verified = true,
	};
	return chain_validate(&pol, pk, ptrs, n, res) < 0 ? -EACCES : 0;
}

int trust_origin(struct engine *e, const uint8_t pk[32], struct origin **out)
{
	struct origin *o = origin_find(e, pk);

	*out = o;
	if (o && o->revoked)
		return -EACCES;
	if (o && o->trust_gen == e->trust_gen && o->trust != TRUST_UNKNOWN) {
		if (o->trust == TRUST_OK && e->now / 1000 <= o->chain.not_after)
			return 0;
		if (o->trust == TRUST_BAD)
			return -EACCES;
	}
	if (memcmp(pk, e->root, 32) == 0) {
		o = origin_get(e, pk);
		if (!o)
			return -ENOMEM;
		*out = o;
		o->trust = TRUST_OK;
		o->trust_gen = e->trust_gen;
		memset(&o->chain, 0, sizeof o->chain);
		o->chain.role = ROLE_MASTER;
		o->chain.max_depth = MN_MAX_DEPTH;
		o->chain.not_after = UINT64_MAX;
		/* the root's own cert, if held, narrows the mesh scope */
		if (o->cert)
			validate(e, pk, NULL, &o->chain);
		return 0;
	}
	if (!o || !o->cert)
		return -ENOENT;   /* no certificate (yet) */
	int err = validate(e, pk, NULL, &o->chain);
	o->trust = err == 0 ? TRUST_OK : TRUST_BAD;
	o->trust_gen = e->trust_gen;
	return err == 0 ? 0 : -EACCES;
}

void trust_present(struct engine *e, struct peer *p)
{
	const uint8_t *wire[MN_MAX_DEPTH + 2];
	size_t len[MN_MAX_DEPTH + 2], n;
	struct chain_result res;

	if (memcmp(e->self.pk, e->root, 32) == 0 ||
	    engine_chain(e, e->self.pk, wire, len, MN_MAX_DEPTH + 2, &n, &res, e->now) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		out_record(e, p, wire[i], len[i], PRIO_CONTROL, OC_MEMBER);
}

/* Is anc on subject's chain (an issuer of it)? */
static bool is_ancestor(struct engine *e, const uint8_t anc[32], const uint8_t subject[32])
{
	struct record recs[MN_MAX_DEPTH + 2];
	const struct record *ptrs[MN_MAX_DEPTH + 3];
	size_t n;

	if (memcmp(anc, e->root, 32) == 0)
		return true;
	if (collect_chain(e, subject, recs, ptrs, &n) < 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (memcmp(ptrs[i]->origin, anc, 32) == 0)
			return true;
	return false;
}

int trust_kind_check(struct engine *e, const struct record *r, const union body *b)
{
	char hex[65];
	struct origin *o;

	switch (r->kind) {
	case KIND_NODE:
		return strcmp(r->key, "self") == 0 ? 0 : -EACCES;
	case KIND_CERT: {
		if (record_is_tombstone(r))
			return 0;   /* an issuer withdrawing its cert */
		hex_encode(b->cert.subject, 32, hex);
		if (strcmp(r->key, hex) != 0)
			return -EACCES;
		/* only the root speaks for the root key */
		if (memcmp(b->cert.subject, e->root, 32) == 0 && memcmp(r->origin, e->root, 32) != 0)
			return -EACCES;
		struct chain_result res;
		return validate(e, b->cert.subject, r, &res);
	}
	case KIND_REVOKE:
		if (record_is_tombstone(r))
			return -EACCES;   /* revocations are forever */
		hex_encode(b->revoke.subject, 32, hex);
		if (strcmp(r->key, hex) != 0)
			return -EACCES;
		return is_ancestor(e, r->origin, b->revoke.subject) ? 0 : -EACCES;
	case KIND_DNS:
		if (record_is_tombstone(r))
			return 0;
		if (strcmp(r->key, b->dns.zone) != 0)
			return -EACCES;
		if (trust_origin(e, r->origin, &o) < 0 || !o)
			return -EACCES;
		if (memcmp(r->origin, e->root, 32) == 0 && !o->chain.dns_scope[0])
			return 0;   /* a root without its own cert: any zone */
		if (!dns_scope_contains(o->chain.dns_scope, b->dns.zone))
			return -EACCES;
		if (strcmp(o->chain.dns_scope, b->dns.zone) == 0) {
			/* its own zone: the root's record of the apex, or a delegate
			 * giving its zone back (no name servers) — docs/dns.md */
			if (memcmp(b->dns.delegate, r->origin, 32) != 0)
				return -EACCES;
			if (memcmp(r->origin, e->root, 32) != 0 && b->dns.n_ns != 0)
				return -EACCES;
		}
		return 0;
	default:
		return 0;
	}
}

void trust_after_accept(struct engine *e, struct rec *x, const union body *b)
{
	if (x->kind == KIND_CERT && b) {
		struct origin *o = origin_get(e, b->cert.subject);
		if (o) {
			o->cert = x;
			e->trust_gen++;
			pending_retry(e);
		}
	} else if (x->kind == KIND_REVOKE && b) {
		trust_revoke(e, b->revoke.subject);
	}
}

void trust_revoke(struct engine *e, const uint8_t subject[32])
{
	struct origin *o = origin_get(e, subject);
	struct peer *p;

	if (!o || o->revoked)
		return;
	o->revoked = true;
	e->trust_gen++;
	e->st.revocations++;
	/* drop its records (never the cert/revoke records about it: others own them) */
	size_t n;
	struct rec **all = index_sorted(&e->ix, &n);
	struct rec **victims = n ? malloc(n * sizeof *victims) : NULL;
	size_t nv = 0;
	for (size_t i = 0; all && victims && i < n; i++)
		if (memcmp(rec_origin(all[i]), subject, 32) == 0)
			victims[nv++] = all[i];
	for (size_t i = 0; i < nv; i++) {
		origins_forget_cert(e, victims[i]);
		index_remove(&e->ix, victims[i]);
	}
	free(victims);
	o->records = 0;
	if ((p = peer_find(e, subject))) {
		peer_set_state(e, p, PEER_LEFT, e->now);
	}
	if (e->ops.revoked)
		e->ops.revoked(e->ctx, subject);
	if (e->ops.note)
		e->ops.note(e->ctx, "node revoked", subject);
}

void pending_add(struct engine *e, const uint8_t *wire, size_t len, const uint8_t from[32])
{
	size_t slot = (e->pending_head + e->pending_n) % PENDING_CAP;

	if (e->pending_n == PENDING_CAP) {   /* full: drop the oldest */
		slot = e->pending_head;
		e->pending_head = (e->pending_head + 1) % PENDING_CAP;
		e->pending_n--;
	}
	uint8_t *copy = malloc(len);
	if (!copy)
		return;
	free(e->pending[slot].wire);
	e->pending[slot].wire = copy;
	memcpy(copy, wire, len);
	e->pending[slot].len = (uint16_t)len;
	memcpy(e->pending[slot].from, from ? from : e->self.pk, 32);
	e->pending[slot].at = e->now;
	e->pending_n++;
	e->st.records_pending++;
}

void pending_retry(struct engine *e)
{
	static const uint64_t max_age = 10 * 60 * 1000;
	size_t n = e->pending_n;
	struct pending *q = malloc(n ? n * sizeof *q : 1);

	if (!q)
		return;
	/* take the queue out, then feed each back: those still untrusted come
	 * back in through pending_add */
	for (size_t i = 0; i < n; i++) {
		size_t s = (e->pending_head + i) % PENDING_CAP;
		q[i] = e->pending[s];
		e->pending[s].wire = NULL;
	}
	e->pending_head = 0;
	e->pending_n = 0;
	for (size_t i = 0; i < n; i++) {
		if (e->now - q[i].at < max_age) {
			struct peer *p = peer_find(e, q[i].from);
			engine_take_record(e, q[i].wire, q[i].len, SRC_PENDING, p);
		}
		free(q[i].wire);
	}
	free(q);
}

int engine_chain(struct engine *e, const uint8_t pk[32], const uint8_t **wire, size_t *len,
		 size_t cap, size_t *n, struct chain_result *res, uint64_t now)
{
	struct record recs[MN_MAX_DEPTH + 2];
	const struct record *ptrs[MN_MAX_DEPTH + 3];
	size_t k = 0;
	int err;

	e->now = now;
	*n = 0;
	if (memcmp(pk, e->root, 32) == 0) {
		/* the root: its own depth-0 cert if there is one, else nothing */
		struct origin *ro = origin_find(e, pk);
		if (ro && ro->cert && memcmp(rec_origin(ro->cert), pk, 32) == 0 &&
		    record_decode_envelope(ro->cert->wire, ro->cert->wire_len, &recs[0]) == 0) {
			ptrs[0] = &recs[0];
			k = 1;
		}
		memset(res, 0, sizeof *res);
		res->role = ROLE_MASTER;
		res->max_depth = MN_MAX_DEPTH;
		res->not_after = UINT64_MAX;
	} else if ((err = collect_chain(e, pk, recs, ptrs, &k)) < 0) {
		return err;
	}
	if (k > cap)
		return -ENOSPC;
	struct chain_policy pol = {
		.root = e->root, .now = now / 1000, .is_revoked = revoked_cb,
		.revoked_ctx = e, .links_verified = true,
	};
	if (k && chain_validate(&pol, pk, ptrs, k, res) < 0)
		return -EACCES;
	for (size_t i = 0; i < k; i++) {
		wire[i] = ptrs[i]->wire;
		len[i] = ptrs[i]->wire_len;
	}
	*n = k;
	return 0;
}
