/* Trust at the door: who may sign what.
 *
 * A record is accepted only from an origin whose certificate chain (root →
 * sub-masters → origin, built from the cert records held) validates now
 * and contains no revoked key. The verdict is cached per origin and
 * recomputed when any cert or revoke record arrives (a generation
 * counter). Signatures of cert records were checked once when they came
 * in, so chains are validated without checking them again.
 *
 * Kind rules (docs/records.md "who signs"): node — key "self", its mesh
 * address the one its cert gives, its name and address not held by an
 * earlier member (claims, below); cert — issuer trusted, resulting chain
 * valid, and for a subject that has a chain already, the issuer is on it
 * (the same issuer or one above: renewal, rotation, a re-homing by an
 * ancestor — never a foreign sub-master adopting the member); revoke — the
 * root or an ancestor on the subject's chain; dns — the zone lies strictly
 * inside the origin's DNS scope; the other kinds — any trusted member.
 *
 * Trust changes reach records already held: a revocation, a cert that
 * replaces a chain (a downgrade) or a withdrawn cert re-checks every origin
 * whose chain runs through the subject; an origin whose chain no longer
 * holds for a reason other than time (a revoked key, a role or scope it no
 * longer has, a link withdrawn) is cut: its records are dropped and
 * ops->revoked tells the driver (store, WireGuard peer). An expired link is
 * not a cut: its member renews.
 *
 * Claims: a node record claims a name and a mesh address. Among the
 * trusted origins claiming the same one (keys of one node id — a rotation
 * — are one claimant), the root holds it, else the one closest to the root
 * (depth), then the earliest `since` of the chain (crypto/chain.h: first
 * certified), then the lowest node id: a later claimant's
 * record is refused, an earlier one arriving later drops the held one, so
 * every node ends with the same owner whatever the order of arrival.
 *
 * Records whose origin has no certificate yet wait in a bounded FIFO
 * (PENDING_CAP records and PENDING_BYTES; the oldest is dropped) and are retried, unverified until
 * then, when a certificate arrives. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "src/engine/engine_int.h"
#include "crypto/crypto.h"
#include "crypto/record_sig.h"
#include "proto/hex.h"
#include "proto/schema.h"

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

void origin_drop_rec(struct engine *e, struct rec *x)
{
	struct origin *o = x->org;

	if (o->records)
		o->records--;
	o->bytes = o->bytes > x->wire_len ? o->bytes - x->wire_len : 0;
	origins_forget_cert(e, x);
	index_remove(&e->ix, x);
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

static int validate_err(struct engine *e, const uint8_t pk[32], const struct record *extra,
			struct chain_result *res, int *cerr)
{
	struct record recs[MN_MAX_DEPTH + 2];
	const struct record *ptrs[MN_MAX_DEPTH + 3];
	size_t n = 0;
	int err;

	*cerr = 0;
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
	*cerr = chain_validate(&pol, pk, ptrs, n, res);
	return *cerr < 0 ? -EACCES : 0;
}

static int validate(struct engine *e, const uint8_t pk[32], const struct record *extra,
		    struct chain_result *res)
{
	int cerr;

	return validate_err(e, pk, extra, res, &cerr);
}

/* The DNS scope and mesh address of o's chain: its last link, o's own
 * cert (pinned in memory); both "" without one (the root without a valid
 * cert of its own). */
static void own_cert(const struct origin *o, struct cert_body *cb)
{
	struct record r;

	memset(cb, 0, sizeof *cb);
	if (!o->chain.scoped || !o->cert ||
	    record_decode_envelope(o->cert->wire, o->cert->wire_len, &r) < 0 ||
	    record_is_tombstone(&r) ||
	    schema_decode(body_schema(KIND_CERT), r.body, r.body_len, cb) < 0)
		memset(cb, 0, sizeof *cb);
}

int trust_origin(struct engine *e, const uint8_t pk[32], struct origin **out)
{
	struct origin *o = origin_find(e, pk);
	struct chain_result res;

	*out = o;
	if (o && o->revoked)
		return -EACCES;
	if (o && o->trust_gen == e->trust_gen && o->trust != TRUST_UNKNOWN) {
		if (o->trust == TRUST_OK && e->now / 1000 <= o->chain.not_after)
			return 0;
		if (o->trust == TRUST_BAD)
			return -EACCES;
	}
	int err = 0;
	if (memcmp(pk, e->root, 32) == 0) {
		o = origin_get(e, pk);
		if (!o)
			return -ENOMEM;
		*out = o;
		memset(&res, 0, sizeof res);
		res.role = ROLE_MASTER;
		res.max_depth = MN_MAX_DEPTH;
		res.not_after = UINT64_MAX;
		/* the root's own cert, if held, narrows the mesh scope (else,
		 * or if it does not validate, the root is trusted all the same) */
		o->chain.scoped = o->cert && validate(e, pk, NULL, &res) == 0;
	} else {
		if (!o || !o->cert)
			return -ENOENT;   /* no certificate (yet) */
		o->chain.scoped = true;
		err = validate(e, pk, NULL, &res);
	}
	if (err == 0) {
		o->chain.not_after = res.not_after;
		o->chain.since = res.since;
		memcpy(o->chain.node_id, res.node_id, 32);
		o->chain.role = res.role;
		o->chain.depth = res.depth;
		o->chain.max_depth = res.max_depth;
	}
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

/* Is anc the root, or the issuer of a link of pk's chain as held? Walks up
 * the issuers of the current certs, decoding nothing. */
static bool issued_under(const struct engine *e, const uint8_t anc[32], const uint8_t pk[32])
{
	const uint8_t *cur = pk;

	if (memcmp(anc, e->root, 32) == 0)
		return true;
	for (unsigned k = 0; k <= MN_MAX_DEPTH; k++) {
		const struct origin *o = origin_find(e, cur);
		if (!o || !o->cert)
			return false;
		cur = rec_origin(o->cert);
		if (memcmp(cur, anc, 32) == 0)
			return true;
		if (memcmp(cur, e->root, 32) == 0)
			return false;
	}
	return false;
}

/* May a cert by issuer become subject's current cert? Yes if the subject
 * has none, else only from its issuer or one above it: a different issuer
 * never takes over a member's chain. */
static bool cert_issuer_ok(const struct engine *e, const uint8_t issuer[32],
			   const uint8_t subject[32])
{
	const struct origin *o = origin_find(e, subject);

	return !o || !o->cert || issued_under(e, issuer, subject);
}

/* ---- claims: names and mesh addresses of node records ---- */

static size_t addr_len(const char *a)
{
	return strcspn(a, "/");
}

static bool addr_same(const char *a, const char *b)
{
	size_t la = addr_len(a);

	return la == addr_len(b) && memcmp(a, b, la) == 0;
}

static uint64_t text_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;   /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
	return h ? h : 1;   /* 0 means "none" */
}

/* A node record's mesh address: none, or its cert's (the root without a
 * mesh address in a cert of its own: any). */
static bool node_addr_ok(const struct engine *e, const struct origin *o, const char *addr)
{
	struct cert_body cb;

	if (!addr[0])
		return true;
	own_cert(o, &cb);
	if (memcmp(o->pk, e->root, 32) == 0 && !cb.mesh_addr[0])
		return true;
	return addr_same(addr, cb.mesh_addr);
}

/* o's node record as held, decoded into *b (and the record in *xp). */
static int held_node(const struct engine *e, const struct origin *o, union body *b,
		     struct rec **xp)
{
	struct rec *x = index_find_key(&e->ix, rec_keyhash(KIND_NODE, o->pk, "self"), KIND_NODE,
				       o->pk, "self");
	struct record r;

	if (!x || record_decode_envelope(x->wire, x->wire_len, &r) < 0 || record_is_tombstone(&r) ||
	    body_decode(KIND_NODE, r.body, r.body_len, b) < 0)
		return -ENOENT;
	*xp = x;
	return 0;
}

/* Does a (chain ca) hold a claim before b (chain cb)? */
static bool claims_before(const struct engine *e, const uint8_t a[32], const struct chain_fixed *ca,
			  const uint8_t b[32], const struct chain_fixed *cb)
{
	if (memcmp(a, e->root, 32) == 0)
		return true;
	if (memcmp(b, e->root, 32) == 0)
		return false;
	if (ca->depth != cb->depth)
		return ca->depth < cb->depth;
	if (ca->since != cb->since)
		return ca->since < cb->since;
	return memcmp(ca->node_id, cb->node_id, 32) < 0;
}

/* Drop one held record of o (a claim lost). */
static void drop_one(struct engine *e, struct origin *o, struct rec *x)
{
	o->name_h = o->addr_h = 0;
	origin_drop_rec(e, x);
	e->trust_gen++;
	e->st.claims_refused++;
}

/* pk's node record nb (pk's chain c) against the other trusted claimants
 * of its name and mesh address: -EEXIST if one of them holds a claim
 * before it; else 0, and with evict the node records of those after it
 * are dropped. */
static int claims(struct engine *e, const uint8_t pk[32], const struct chain_fixed *c,
		  const struct node_body *nb, bool evict)
{
	uint64_t nh = text_hash(nb->name, strlen(nb->name));
	size_t al = addr_len(nb->mesh_addr);
	uint64_t ah = al ? text_hash(nb->mesh_addr, al) : 0;
	union body *ob = malloc(sizeof *ob);
	int rc = 0;

	if (!ob)
		return -ENOMEM;
	for (size_t i = 0; i < e->origin_buckets && rc == 0; i++) {
		for (struct origin *y = e->origins[i]; y && rc == 0; y = y->next) {
			struct origin *yo;
			struct rec *yx;
			if (memcmp(y->pk, pk, 32) == 0 || y->revoked || y->cut ||
			    (y->name_h != nh && (!ah || y->addr_h != ah)))
				continue;
			if (held_node(e, y, ob, &yx) < 0 ||
			    (strcmp(ob->node.name, nb->name) != 0 &&
			     (!al || !addr_same(ob->node.mesh_addr, nb->mesh_addr))))
				continue;
			if (trust_origin(e, y->pk, &yo) < 0 || !yo)
				continue;   /* not a trusted claimant */
			if (memcmp(yo->chain.node_id, c->node_id, 32) == 0)
				continue;   /* the same node under another key (a rotation) */
			if (claims_before(e, y->pk, &yo->chain, pk, c))
				rc = -EEXIST;
			else if (evict)
				drop_one(e, y, yx);
		}
	}
	free(ob);
	return rc;
}

int engine_name_owner(struct engine *e, const char *name, uint8_t pk[32])
{
	uint64_t nh = text_hash(name, strlen(name));
	union body *b = malloc(sizeof *b);
	struct origin *best = NULL;

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < e->origin_buckets; i++) {
		for (struct origin *y = e->origins[i]; y; y = y->next) {
			struct origin *yo;
			struct rec *yx;
			if (y->name_h != nh || y->revoked || y->cut || held_node(e, y, b, &yx) < 0 ||
			    strcmp(b->node.name, name) != 0 || trust_origin(e, y->pk, &yo) < 0 || !yo)
				continue;
			if (!best || claims_before(e, yo->pk, &yo->chain, best->pk, &best->chain) ||
			    (memcmp(yo->chain.node_id, best->chain.node_id, 32) == 0 &&
			     yo->chain.not_after > best->chain.not_after))
				best = yo;   /* of one node's keys, the newest cert's */
		}
	}
	free(b);
	if (!best)
		return -ENOENT;
	memcpy(pk, best->pk, 32);
	return 0;
}

/* Is name within the DNS scope of r's origin (its own cert's, in *cb)?
 * 1 yes, 0 the root without a scope of its own (any name), -EACCES no. */
static int in_scope(struct engine *e, const struct record *r, const char *name,
		    struct cert_body *cb)
{
	struct origin *o;

	if (trust_origin(e, r->origin, &o) < 0 || !o)
		return -EACCES;
	own_cert(o, cb);
	if (memcmp(r->origin, e->root, 32) == 0 && !cb->dns_scope[0])
		return 0;
	return dns_scope_contains(cb->dns_scope, name) ? 1 : -EACCES;
}

int trust_kind_check(struct engine *e, const struct record *r, const union body *b)
{
	struct cert_body cb;
	char hex[65];
	struct origin *o;
	int err;

	switch (r->kind) {
	case KIND_NODE:
		if (strcmp(r->key, "self") != 0)
			return -EACCES;
		if (record_is_tombstone(r))
			return 0;
		if (trust_origin(e, r->origin, &o) < 0 || !o)
			return memcmp(r->origin, e->self.pk, 32) == 0 ? 0 : -EACCES;   /* ours: the others judge */
		if (!node_addr_ok(e, o, b->node.mesh_addr) ||
		    claims(e, r->origin, &o->chain, &b->node, false) < 0) {
			e->st.claims_refused++;
			return -EACCES;
		}
		return 0;
	case KIND_CERT: {
		if (record_is_tombstone(r))
			return 0;   /* an issuer withdrawing its cert */
		hex_encode(b->cert.subject, 32, hex);
		if (strcmp(r->key, hex) != 0)
			return -EACCES;
		/* only the root speaks for the root key */
		if (memcmp(b->cert.subject, e->root, 32) == 0 && memcmp(r->origin, e->root, 32) != 0)
			return -EACCES;
		if (!cert_issuer_ok(e, r->origin, b->cert.subject)) {
			e->st.certs_refused++;
			return -EACCES;
		}
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
		if ((err = in_scope(e, r, b->dns.zone, &cb)) <= 0)
			return err;   /* a root without a scope: any zone */
		if (strcmp(cb.dns_scope, b->dns.zone) == 0) {
			/* its own zone: the root's record of the apex, or a delegate
			 * giving its zone back (no name servers) — docs/dns.md */
			if (memcmp(b->dns.delegate, r->origin, 32) != 0)
				return -EACCES;
			if (memcmp(r->origin, e->root, 32) != 0 && b->dns.n_ns != 0)
				return -EACCES;
		}
		return 0;
	case KIND_EXPOSE:
		/* the key is the service; a public name only inside the origin's
		 * scope (docs/records.md) */
		if (record_is_tombstone(r))
			return 0;
		if (strcmp(r->key, b->expose.service) != 0)
			return -EACCES;
		if (!b->expose.domain[0])
			return 0;
		return in_scope(e, r, b->expose.domain, &cb) < 0 ? -EACCES : 0;
	default:
		return 0;
	}
}

/* ---- trust lost: revocations and cuts ---- */

/* Drop every record signed by a revoked or cut origin (never the cert and
 * revoke records about them: others own those). */
static void drop_untrusted(struct engine *e)
{
	size_t n;
	struct rec **all = index_sorted(&e->ix, &n);
	struct rec **victims = n ? malloc(n * sizeof *victims) : NULL;
	size_t nv = 0;

	for (size_t i = 0; all && victims && i < n; i++) {
		const struct origin *o = all[i]->org;
		if (o && (o->revoked || o->cut))
			victims[nv++] = all[i];
	}
	for (size_t i = 0; i < nv; i++)
		origin_drop_rec(e, victims[i]);
	free(victims);
}

/* o's records are gone: its peer leaves, the driver is told. */
static void gone(struct engine *e, struct origin *o, const char *what)
{
	struct peer *p;

	o->records = 0;
	o->name_h = o->addr_h = 0;
	if ((p = peer_find(e, o->pk)))
		peer_set_state(e, p, PEER_LEFT, e->now);
	if (e->ops.revoked)
		e->ops.revoked(e->ctx, o->pk);
	if (e->ops.note)
		e->ops.note(e->ctx, what, o->pk);
}

/* Trust changed at top (revoked, certified anew, its cert withdrawn): mark
 * cut every origin whose chain runs through it (and top itself with self)
 * and no longer holds — a revoked key, a role, depth or scope it lost, a
 * link missing when missing_is_loss — but not an expired link (its member
 * renews). The cut origins in *out (caller frees); how many. We are never
 * cut in our own engine: the others are the ones who refuse us. */
static size_t mark_cuts(struct engine *e, const uint8_t top[32], bool self, bool missing_is_loss,
			struct origin ***out)
{
	struct origin **list = e->norigins ? malloc(e->norigins * sizeof *list) : NULL;
	size_t n = 0, k = 0;

	*out = list;
	if (!list)
		return 0;
	for (size_t i = 0; i < e->origin_buckets; i++)
		for (struct origin *o = e->origins[i]; o; o = o->next) {
			if (o->revoked || o->cut || memcmp(o->pk, e->root, 32) == 0 ||
			    memcmp(o->pk, e->self.pk, 32) == 0 || n == e->norigins)
				continue;
			if (memcmp(o->pk, top, 32) == 0 ? self : o->cert && issued_under(e, top, o->pk))
				list[n++] = o;
		}
	for (size_t i = 0; i < n; i++) {
		struct chain_result res;
		int cerr = 0;
		int err = list[i]->cert ? validate_err(e, list[i]->pk, NULL, &res, &cerr) : -ENOENT;
		bool lost = (err == -EACCES && cerr != CHAIN_ERR_EXPIRED && cerr != CHAIN_ERR_NOT_YET) ||
			    (err == -ENOENT && missing_is_loss);
		if (lost)
			list[k++] = list[i];
	}
	for (size_t i = 0; i < k; i++) {
		list[i]->cut = true;
		list[i]->trust = TRUST_BAD;
		e->st.trust_cut++;
	}
	if (k)
		e->trust_gen++;
	return k;
}

static void apply_cuts(struct engine *e, struct origin **cut, size_t n)
{
	if (n)
		drop_untrusted(e);
	for (size_t i = 0; i < n; i++)
		gone(e, cut[i], "node cut off: its issuer was revoked or its chain withdrawn");
	free(cut);
}

bool trust_after_accept(struct engine *e, struct rec *x, const union body *b, bool from_store)
{
	struct origin *o, **cut;
	struct record r;
	size_t n;

	switch (x->kind) {
	case KIND_CERT:
		if (!b) {
			/* a withdrawn cert: if it was the subject's, the subject and
			 * what it certified lose their chain */
			uint8_t subject[32];
			if (from_store || record_decode_envelope(x->wire, x->wire_len, &r) < 0 ||
			    hex_decode(r.key, subject, 32) < 0 || !(o = origin_find(e, subject)) ||
			    o->cert || !o->records)
				return true;
			n = mark_cuts(e, subject, true, true, &cut);
			apply_cuts(e, cut, n);
			return true;
		}
		if (!cert_issuer_ok(e, rec_origin(x), b->cert.subject))
			return true;   /* held (from the store), but vouches for no one */
		if (!(o = origin_get(e, b->cert.subject)))
			return true;
		bool had = o->records != 0;   /* a member: what it certified is checked again */
		o->cert = x;
		o->cut = false;
		e->trust_gen++;
		if (had && !from_store) {
			n = mark_cuts(e, b->cert.subject, true, false, &cut);
			apply_cuts(e, cut, n);
		}
		pending_retry(e);
		return true;
	case KIND_REVOKE:
		if (b)
			trust_revoke(e, b->revoke.subject);
		return true;
	case KIND_NODE:
		if (!(o = origin_get(e, rec_origin(x))))
			return true;
		o->name_h = o->addr_h = 0;
		if (!b)
			return true;
		struct origin *t;
		if (trust_origin(e, o->pk, &t) == 0 && t) {
			if (from_store && claims(e, o->pk, &t->chain, &b->node, false) == -EEXIST) {
				drop_one(e, o, x);   /* loaded, but an earlier member holds it */
				return false;
			}
			claims(e, o->pk, &t->chain, &b->node, true);
		}
		o->name_h = text_hash(b->node.name, strlen(b->node.name));
		size_t al = addr_len(b->node.mesh_addr);
		o->addr_h = al ? text_hash(b->node.mesh_addr, al) : 0;
		return true;
	default:
		return true;
	}
}

void trust_revoke(struct engine *e, const uint8_t subject[32])
{
	struct origin *o = origin_get(e, subject), **cut;

	if (!o || o->revoked)
		return;
	o->revoked = true;
	e->trust_gen++;
	e->st.revocations++;
	/* its subtree: every chain through it now holds a revoked key */
	size_t n = mark_cuts(e, subject, false, false, &cut);
	drop_untrusted(e);
	gone(e, o, "node revoked");
	apply_cuts(e, cut, n);
}

/* Drop the oldest parked record. */
static void pending_drop_oldest(struct engine *e)
{
	struct pending *q = &e->pending[e->pending_head];

	e->pending_bytes -= q->len;
	free(q->wire);
	q->wire = NULL;
	e->pending_head = (e->pending_head + 1) % PENDING_CAP;
	e->pending_n--;
}

void pending_add(struct engine *e, const uint8_t *wire, size_t len, const uint8_t from[32])
{
	/* full (in count or bytes): drop the oldest */
	while (e->pending_n && (e->pending_n == PENDING_CAP || e->pending_bytes + len > PENDING_BYTES))
		pending_drop_oldest(e);
	size_t slot = (e->pending_head + e->pending_n) % PENDING_CAP;
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
	e->pending_bytes += len;
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
	e->pending_bytes = 0;
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
