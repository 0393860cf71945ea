/* Onboarding: issuing — addresses from the plan, certificates,
 * renewing the root's, revoking rotated keys, the WireGuard peers we vouch for (onboard_int.h). */
#include "src/daemon/onboard_int.h"

/* The WireGuard peers we vouch for: open invitations' temporary keys at
 * their reserved address, and the members we certified. */
void ob_refresh_wg_apply(struct onboard *o, bool apply)
{
	struct wgsync *ws = host_wg(o->h);
	struct walk w;
	uint64_t now = now_s(o);

	if (!ws || ob_inv_all(o, &w) < 0)
		return;
	struct config_wg_peer *p = calloc(w.n ? w.n : 1, sizeof *p);
	size_t k = 0;
	for (size_t i = 0; p && i < w.n; i++) {
		struct inv *v = &w.rows[i];
		static const uint8_t zero[INVITE_SECRET_LEN];
		/* used or rejected: the tunnel stays a while, for our last answer */
		bool swapping = (v->state == INV_USED || v->state == INV_REJECTED) &&
				memcmp(v->secret, zero, sizeof zero);
		if (swapping && now >= v->updated + SWAP_GRACE_S) {
			crypto_wipe(v->secret, sizeof v->secret);   /* worthless from now on */
			ob_inv_put(o, v);
			swapping = false;
		}
		if (ob_inv_live(v, now) || swapping) {
			uint8_t priv[32];
			invite_wg_key(v->secret, priv, p[k].wg_key);
			crypto_wipe(priv, sizeof priv);
			memcpy(p[k].pk, p[k].wg_key, 32);
			p[k].join_only = true;
		} else if (v->state == INV_USED && v->prev_revoke_at &&
			   now + ROTATE_GRACE_S < v->prev_revoke_at + SWAP_GRACE_S) {
			/* just rotated: our answer still goes through the old tunnel */
			memcpy(p[k].pk, v->prev, 32);
			memcpy(p[k].wg_key, v->prev_wg, 32);
		} else if (v->state == INV_USED) {
			memcpy(p[k].pk, v->node, 32);
			memcpy(p[k].wg_key, v->wg, 32);
		} else {
			continue;
		}
		ob_strip_prefix(v->addr, p[k].mesh_addr, sizeof p[k].mesh_addr);
		k++;
	}
	if (p && wgsync_set_local(ws, p, k) == 0 && apply)
		host_wg_apply(o->h);   /* at once: a joiner may be waiting */
	free(p);
	ob_walk_free(&w);
}

/* After a change an invitee or member is waiting for: applied at once. */
void ob_refresh_wg(struct onboard *o)
{
	ob_refresh_wg_apply(o, true);
}

/* ---- what we may do ---- */

/* Our grant from our own chain: may we ob_issue certificates? */
int ob_my_grant(struct onboard *o, struct chain_result *g, char *err, size_t cap)
{
	const uint8_t *wire[JOIN_MAX_CHAIN];
	size_t len[JOIN_MAX_CHAIN], n;
	int rc = host_chain_records(o->h, host_key(o->h)->pk, wire, len, JOIN_MAX_CHAIN, &n, g);

	if (rc < 0) {
		snprintf(err, cap, "our own certificate chain is not valid now (%s): renew it first",
			 rc == -ENOENT ? "a certificate is missing" : "expired or revoked");
		return -EPERM;
	}
	if (g->role == ROLE_PEER || (g->role == ROLE_SUBMASTER && g->depth >= g->max_depth)) {
		snprintf(err, cap, "this node may not invite: it is a %s at depth %u of %u",
			 role_names[g->role], g->depth, g->max_depth);
		return -EPERM;
	}
	return 0;
}

struct used_addrs {
	const char **a;
	size_t n, cap;
	char (*own)[MN_MAX_ADDR + 1];
	size_t nown;
};

static int add_used(struct used_addrs *u, const char *addr)
{
	if (u->n == u->cap) {
		size_t nc = u->cap ? u->cap * 2 : 64;
		const char **a = realloc(u->a, nc * sizeof *a);
		if (!a)
			return -ENOMEM;
		u->a = a;
		u->cap = nc;
	}
	u->a[u->n++] = addr;
	return 0;
}

static int used_cert(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct used_addrs *u = ctx;
	union body b;

	(void)id;
	if (r->kind != KIND_CERT || record_is_tombstone(r) || u->nown >= MAX_ROWS ||
	    body_decode(KIND_CERT, r->body, r->body_len, &b) < 0 || !b.cert.mesh_addr[0])
		return 0;
	ob_strip_prefix(b.cert.mesh_addr, u->own[u->nown], sizeof u->own[0]);
	return add_used(u, u->own[u->nown++]);
}

/* The next free address: certificates held, our invitations, ourselves.
 * The root hands out the lowest free one; a sub-master a pseudo-random
 * one (from the invitation secret), so that two issuers who do not yet
 * see each other's pending invitations rarely pick the same. */
int ob_pick_addr(struct onboard *o, const struct walk *w, const uint8_t secret[32], bool root,
		     char *out, size_t cap, char *err, size_t errcap)
{
	const struct config *cfg = host_config(o->h);
	struct used_addrs u = { 0 };
	struct addrplan ap;
	char tmp[MN_MAX_ADDR + 1];
	int rc;

	if (addrplan_parse(oconf(o)->subnet, &ap) < 0) {
		snprintf(err, errcap, "subnet %s is not usable", oconf(o)->subnet);
		return -EINVAL;
	}
	u.own = calloc(MAX_ROWS + 1, sizeof *u.own);
	if (!u.own)
		return -ENOMEM;
	host_each(o->h, KIND_BIT(KIND_CERT), NULL, used_cert, &u);
	ob_strip_prefix(cfg->mesh_addr, u.own[u.nown], sizeof u.own[0]);
	add_used(&u, u.own[u.nown++]);
	for (size_t i = 0; i < w->n; i++)
		if (w->rows[i].state != INV_REJECTED && w->rows[i].state != INV_REVOKED)
			add_used(&u, w->rows[i].addr);
	/* a sub-master: skip a pseudo-random number of free addresses first */
	unsigned skip = root ? 0 : (unsigned)(secret[0] | secret[1] << 8) % 1024;
	char (*skipped)[MN_MAX_ADDR + 1] = skip ? calloc(skip, sizeof *skipped) : NULL;
	rc = addrplan_next(&ap, u.a, u.n, tmp, sizeof tmp);
	for (unsigned i = 0; skipped && rc == 0 && i < skip; i++) {
		snprintf(skipped[i], sizeof skipped[i], "%s", tmp);
		if (add_used(&u, skipped[i]) < 0 || addrplan_next(&ap, u.a, u.n, tmp, sizeof tmp) < 0)
			break;
	}
	free(skipped);
	free(u.a);
	free(u.own);
	if (rc < 0) {
		snprintf(err, errcap, "subnet %s is full", oconf(o)->subnet);
		return rc;
	}
	if (snprintf(out, cap, "%s/%u", tmp, ap.prefix) >= (int)cap)
		return -ENOSPC;
	return 0;
}

/* ---- issuing ---- */

struct addr_owner {
	const char *addr;
	const uint8_t *subject, *prev;   /* prev: the key being rotated away, may be NULL */
	bool taken;
	const uint8_t *issuer;           /* we */
	uint64_t since;                  /* not_before of our cert for prev, 0 none */
};

static int addr_taken(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct addr_owner *a = ctx;
	union body b;
	char x[MN_MAX_ADDR + 1];

	(void)id;
	if (r->kind != KIND_CERT || record_is_tombstone(r) ||
	    body_decode(KIND_CERT, r->body, r->body_len, &b) < 0)
		return 0;
	if (a->prev && !memcmp(r->origin, a->issuer, 32) && !memcmp(b.cert.subject, a->prev, 32))
		a->since = b.cert.not_before;
	ob_strip_prefix(b.cert.mesh_addr, x, sizeof x);
	if (!strcmp(x, a->addr) && memcmp(b.cert.subject, a->subject, 32) &&
	    (!a->prev || memcmp(b.cert.subject, a->prev, 32))) {
		a->taken = true;
		return 1;
	}
	return 0;
}

/* Certify subject (committed and gossiped); the chain for the answer. */
int ob_issue(struct onboard *o, const uint8_t subject[32], const uint8_t *prev,
		 const uint8_t *node_id, uint8_t role, const char *zone, const char *addr,
		 struct join_chain *c, char *err, size_t cap)
{
	struct chain_result g;
	union body *b;
	char a[MN_MAX_ADDR + 1], hex[65];
	int perr = 0, rc;
	uint64_t now = now_s(o);

	if ((rc = ob_my_grant(o, &g, err, cap)) < 0)
		return rc;
	if (role == ROLE_SUBMASTER && g.depth + 1 >= g.max_depth) {
		snprintf(err, cap, "a sub-master at depth %u could not invite anyone (max_depth %u)",
			 g.depth + 1, g.max_depth);
		return -EPERM;
	}
	ob_strip_prefix(addr, a, sizeof a);
	struct addr_owner ao = { a, subject, prev, false, host_key(o->h)->pk, 0 };
	host_each(o->h, KIND_BIT(KIND_CERT), NULL, addr_taken, &ao);
	if (ao.taken) {
		snprintf(err, cap, "mesh address %s was given to another node meanwhile: "
			 "make a new invitation", a);
		return -EALREADY;
	}
	if (!(b = calloc(1, sizeof *b)))
		return -ENOMEM;
	memcpy(b->cert.subject, subject, 32);
	b->cert.role = role;
	b->cert.depth = (uint8_t)(g.depth + 1);
	b->cert.max_depth = g.max_depth;
	snprintf(b->cert.dns_scope, sizeof b->cert.dns_scope, "%s", zone);
	snprintf(b->cert.mesh_addr, sizeof b->cert.mesh_addr, "%s", a);
	b->cert.not_before = now > CLOCK_SKEW_S ? now - CLOCK_SKEW_S : 0;
	/* a renewal or rotation keeps the member's first not_before: its
	 * "member since", which decides name and address claims (docs/trust.md) */
	if (ao.since && ao.since < b->cert.not_before)
		b->cert.not_before = ao.since;
	b->cert.not_after = now + oconf(o)->cert_lifetime_s;
	if (node_id && memcmp(node_id, subject, 32))
		memcpy(b->cert.node_id, node_id, 32);   /* a rotated key: the id stays */
	hex_encode(subject, 32, hex);
	rc = host_publish(o->h, KIND_CERT, hex, b, oconf(o)->cert_lifetime_s, NULL, &perr);
	free(b);
	if (rc < 0) {
		snprintf(err, cap, "cannot ob_issue the certificate: %s",
			 perr ? proto_strerror(perr) : rc == -EACCES ?
			 "it would not make a valid chain (DNS scope, depth, rights)" : strerror(-rc));
		return rc == -EACCES ? -EPERM : rc;
	}
	if (c) {
		struct chain_result r;
		if (host_chain_records(o->h, subject, c->rec, c->len, JOIN_MAX_CHAIN, &c->n, &r) < 0) {
			snprintf(err, cap, "issued, but the chain cannot be assembled");
			return -EIO;
		}
	}
	return 0;
}

/* The root re-issues its own depth-0 certificate before it expires. */
void ob_renew_root_cert(struct onboard *o)
{
	const uint8_t *wire[JOIN_MAX_CHAIN];
	size_t len[JOIN_MAX_CHAIN], n;
	struct chain_result g;
	struct record r;
	union body b;
	const uint8_t *me = host_key(o->h)->pk;
	uint64_t now = now_s(o);

	if (memcmp(me, host_config(o->h)->root, 32) ||
	    host_chain_records(o->h, me, wire, len, JOIN_MAX_CHAIN, &n, &g) < 0 ||
	    n != 1 || record_decode(wire[0], len[0], &r, &b) < 0)
		return;
	uint64_t life = b.cert.not_after - b.cert.not_before;
	if (now < b.cert.not_before + life / 3 * 2)
		return;
	uint64_t ttl = life < 86400 ? 86400 : life;
	b.cert.not_before = now > CLOCK_SKEW_S ? now - CLOCK_SKEW_S : 0;
	b.cert.not_after = now + ttl;
	char hex[65];
	hex_encode(me, 32, hex);
	int perr;
	if (host_publish(o->h, KIND_CERT, hex, &b, ttl, NULL, &perr) == 0)
		log_info("renewed the mesh root's own certificate");
}

void ob_revoke_key(struct onboard *o, const uint8_t subject[32], const char *reason)
{
	union body *b = calloc(1, sizeof *b);
	char hex[65];
	int perr;

	if (!b)
		return;
	memcpy(b->revoke.subject, subject, 32);
	snprintf(b->revoke.reason, sizeof b->revoke.reason, "%s", reason);
	b->revoke.time = now_s(o);
	hex_encode(subject, 32, hex);
	if (host_publish(o->h, KIND_REVOKE, hex, b, 10ull * 365 * 86400, NULL, &perr) < 0)
		log_err("cannot revoke %s: %s", hex, proto_strerror(perr));
	free(b);
}
