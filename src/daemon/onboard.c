/* Onboarding in the daemon: invitations, the join service, renewals and
 * key rotations; see onboard.h and docs/onboarding.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "src/daemon/subsys.h"
#include "src/daemon/host_core.h"
#include "src/daemon/config.h"
#include "src/daemon/wgsync.h"
#include "src/addrplan.h"
#include "src/join_msg.h"
#include "src/log.h"
#include "crypto/chain.h"
#include "crypto/crypto.h"
#include "crypto/did.h"
#include "crypto/invite.h"
#include "crypto/key.h"
#include "crypto/record_sig.h"
#include "proto/hex.h"
#include "proto/proto_err.h"

#define NS "invite"
#define MAX_ROWS 10000
#define MAX_CONNS 16
#define CONN_TIMEOUT_MS 10000
#define ROTATE_GRACE_S 60          /* the old key is revoked this long after a rotation */
#define SWAP_GRACE_S 20            /* a new member keeps its temporary WireGuard key this long:
				      our answer must still reach it through that tunnel */
#define CLOCK_SKEW_S 600           /* renew/rotate requests: freshness window */
#define RENEW_MIN_BACKOFF_MS 15000
#define RENEW_MAX_BACKOFF_MS 3600000
#define OUT_MAX ((JOIN_MAX_CHAIN + 1) * (MN_MAX_RECORD + 4) + JOIN_MAX_FRAME)

enum inv_state { INV_OPEN, INV_WAITING, INV_USED, INV_REJECTED, INV_REVOKED };
#define INV_STATE_MAX INV_REVOKED
static const char *const inv_state_names[] = { "open", "waiting", "used", "rejected", "revoked",
					       NULL };

/* One invitation, and afterwards the member it made (state used). */
struct inv {
	char id[INVITE_ID_LEN + 1];
	uint8_t secret[INVITE_SECRET_LEN];      /* zeroed once used */
	char name[MN_MAX_NAME + 1];
	uint8_t role;
	char zone[MN_MAX_DOMAIN + 1];
	char addr[MN_MAX_ADDR + 1];             /* with /prefix */
	uint64_t created, expires, updated;
	uint8_t state;
	bool auto_approve;
	uint8_t node[32], wg[32];               /* the joiner (waiting, used) */
	char node_name[MN_MAX_NAME + 1];
	char reason[MN_MAX_TEXT + 1];
	uint8_t prev[32];                       /* its key before the last rotation */
	uint8_t prev_wg[32];                    /* and that key's WireGuard key */
	uint8_t first[32];                      /* its first key: its node id for good */
	uint64_t prev_revoke_at;                /* unix s; 0 = nothing due */
};

static const struct schema_field inv_f[] = {
	SF_S(struct inv, id, 1),
	SF_K(struct inv, secret),
	SF_S(struct inv, name, 0),
	SF_E(struct inv, role, ROLE_MAX, role_names),
	SF_S(struct inv, zone, 0),
	SF_S(struct inv, addr, 1),
	SF_U(struct inv, created, UINT64_MAX),
	SF_U(struct inv, expires, UINT64_MAX),
	SF_U(struct inv, updated, UINT64_MAX),
	SF_E(struct inv, state, INV_STATE_MAX, inv_state_names),
	SF_B(struct inv, auto_approve),
	SF_K(struct inv, node),
	SF_K(struct inv, wg),
	SF_S(struct inv, node_name, 0),
	SF_S(struct inv, reason, 0),
	SF_K(struct inv, prev),
	SF_K(struct inv, prev_wg),
	SF_K(struct inv, first),
	SF_U(struct inv, prev_revoke_at, UINT64_MAX),
};
static const struct schema inv_schema = SCHEMA(struct inv, "invitation_row", inv_f, NULL);

struct jconn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wreq;
	struct onboard *o;
	struct jconn *next;
	struct sockaddr_storage peer;
	uint8_t in[JOIN_MAX_FRAME + 4];
	size_t inlen;
	uint8_t *out;
	bool answered;
	char swap_id[INVITE_ID_LEN + 1];   /* a tunnel to swap once the requester acks */
	bool waiting_ack;
	int open_handles;
};

/* Our own request to our parent: renew or rotate. */
struct jclient {
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_write_t wreq;
	uv_timer_t timer;
	struct onboard *o;
	uint8_t op;
	uint8_t parent[32];
	struct node_key newkey;                 /* rotation */
	uint8_t out[JOIN_MAX_FRAME + 4];
	size_t outlen;
	uint8_t *in;
	size_t inlen;
	bool failed, acked;
	uv_write_t ackreq;
	int open_handles;
};

/* Its options (docs/config.md). */
struct onboard_conf {
	unsigned join_port;            /* our join service, on the mesh address */
	char subnet[MN_MAX_ADDR + 1];  /* the mesh address plan we hand addresses from */
	uint64_t cert_lifetime_s;      /* of the certificates we issue */
};

struct onboard {
	struct mn_host *h;
	uv_loop_t *loop;
	uv_tcp_t srv;
	bool listening;
	struct jconn *conns;
	unsigned nconns;
	struct jclient *cl;
	uint64_t renew_next_ms, renew_backoff_ms;
	char last_error[512];                   /* of our last renewal/rotation */
	char rotation[16];                      /* "", "running", "failed" */
	struct {
		uint64_t joined, pending, refused, forged, renewed, rotated, bad_requests;
	} st;
};

static const struct onboard_conf *oconf(const struct onboard *o)
{
	return host_conf(o->h);
}

static uint64_t now_s(const struct onboard *o)
{
	return host_now_ms(o->h) / 1000;
}

/* ---- the rows ---- */

static int inv_get(struct onboard *o, const char *id, struct inv *v)
{
	uint8_t buf[2048];
	int n = host_state_get(o->h, id, buf, sizeof buf);

	if (n < 0)
		return n;
	return schema_decode(&inv_schema, buf, (size_t)n, v) < 0 ? -EILSEQ : 0;
}

static int inv_put(struct onboard *o, struct inv *v)
{
	uint8_t buf[2048];
	size_t n;

	v->updated = now_s(o);
	if (schema_encode(&inv_schema, v, buf, sizeof buf, &n) < 0)
		return -EINVAL;
	int rc = host_state_put(o->h, v->id, buf, n);
	crypto_wipe(buf, sizeof buf);
	return rc;
}

struct walk {
	struct inv *rows;
	size_t n, cap;
};

static int walk_one(void *ctx, const char *key, const uint8_t *val, size_t len)
{
	struct walk *w = ctx;

	(void)key;
	if (w->n == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 16;
		struct inv *r;
		if (nc > MAX_ROWS)
			return 1;
		if (!(r = realloc(w->rows, nc * sizeof *r)))
			return -ENOMEM;
		w->rows = r;
		w->cap = nc;
	}
	if (schema_decode(&inv_schema, val, len, &w->rows[w->n]) == 0)
		w->n++;
	return 0;
}

/* Every row, in id order (caller frees w->rows, after wiping). */
static int inv_all(struct onboard *o, struct walk *w)
{
	memset(w, 0, sizeof *w);
	int rc = host_state_each(o->h, walk_one, w);
	return rc < 0 ? rc : 0;
}

static void walk_free(struct walk *w)
{
	if (w->rows)
		crypto_wipe(w->rows, w->cap * sizeof *w->rows);
	free(w->rows);
	w->rows = NULL;
}

static bool inv_live(const struct inv *v, uint64_t now)
{
	return (v->state == INV_OPEN || v->state == INV_WAITING) && now <= v->expires;
}

static void strip_prefix(const char *in, char *out, size_t cap)
{
	snprintf(out, cap, "%.*s", (int)strcspn(in, "/"), in);
}

/* The WireGuard peers we vouch for: open invitations' temporary keys at
 * their reserved address, and the members we certified. */
static void refresh_wg_apply(struct onboard *o, bool apply)
{
	struct wgsync *ws = host_wg(o->h);
	struct walk w;
	uint64_t now = now_s(o);

	if (!ws || inv_all(o, &w) < 0)
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
			inv_put(o, v);
			swapping = false;
		}
		if (inv_live(v, now) || swapping) {
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
		strip_prefix(v->addr, p[k].mesh_addr, sizeof p[k].mesh_addr);
		k++;
	}
	if (p && wgsync_set_local(ws, p, k) == 0 && apply)
		host_wg_apply(o->h);   /* at once: a joiner may be waiting */
	free(p);
	walk_free(&w);
}

/* After a change an invitee or member is waiting for: applied at once. */
static void refresh_wg(struct onboard *o)
{
	refresh_wg_apply(o, true);
}

/* ---- what we may do ---- */

/* Our grant from our own chain: may we issue certificates? */
static int my_grant(struct onboard *o, struct chain_result *g, char *err, size_t cap)
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
	strip_prefix(b.cert.mesh_addr, u->own[u->nown], sizeof u->own[0]);
	return add_used(u, u->own[u->nown++]);
}

/* The next free address: certificates held, our invitations, ourselves.
 * The root hands out the lowest free one; a sub-master a pseudo-random
 * one (from the invitation secret), so that two issuers who do not yet
 * see each other's pending invitations rarely pick the same. */
static int pick_addr(struct onboard *o, const struct walk *w, const uint8_t secret[32], bool root,
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
	host_each(o->h, used_cert, &u);
	strip_prefix(cfg->mesh_addr, u.own[u.nown], sizeof u.own[0]);
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
	strip_prefix(b.cert.mesh_addr, x, sizeof x);
	if (!strcmp(x, a->addr) && memcmp(b.cert.subject, a->subject, 32) &&
	    (!a->prev || memcmp(b.cert.subject, a->prev, 32))) {
		a->taken = true;
		return 1;
	}
	return 0;
}

/* Certify subject (committed and gossiped); the chain for the answer. */
static int issue(struct onboard *o, const uint8_t subject[32], const uint8_t *prev,
		 const uint8_t *node_id, uint8_t role, const char *zone, const char *addr,
		 struct join_chain *c, char *err, size_t cap)
{
	struct chain_result g;
	union body *b;
	char a[MN_MAX_ADDR + 1], hex[65];
	int perr = 0, rc;
	uint64_t now = now_s(o);

	if ((rc = my_grant(o, &g, err, cap)) < 0)
		return rc;
	if (role == ROLE_SUBMASTER && g.depth + 1 >= g.max_depth) {
		snprintf(err, cap, "a sub-master at depth %u could not invite anyone (max_depth %u)",
			 g.depth + 1, g.max_depth);
		return -EPERM;
	}
	strip_prefix(addr, a, sizeof a);
	struct addr_owner ao = { a, subject, prev, false, host_key(o->h)->pk, 0 };
	host_each(o->h, addr_taken, &ao);
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
		snprintf(err, cap, "cannot issue the certificate: %s",
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
static void renew_root_cert(struct onboard *o)
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

static void revoke_key(struct onboard *o, const uint8_t subject[32], const char *reason)
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

/* ---- the join service ---- */

static void refuse(struct join_resp *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(struct join_resp *r, const char *fmt, ...)
{
	va_list ap;

	r->status = JOIN_REFUSED;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof r->message, fmt, ap);
	va_end(ap);
}

static bool addr_is(const struct sockaddr_storage *sa, const char *addr)
{
	struct sockaddr_storage x;

	if (config_mesh_sa(addr, 1, &x) < 0 || x.ss_family != sa->ss_family)
		return false;
	if (sa->ss_family == AF_INET)
		return !memcmp(&((const struct sockaddr_in *)sa)->sin_addr,
			       &((const struct sockaddr_in *)&x)->sin_addr, 4);
	return !memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
		       &((const struct sockaddr_in6 *)&x)->sin6_addr, 16);
}

static void do_join(struct onboard *o, struct jconn *cn, const struct join_req *q,
		    struct join_resp *r, struct join_chain *c)
{
	struct inv v;
	char err[256], did[DID_KEY_MAX];
	uint64_t now = now_s(o);

	if (inv_get(o, q->invite, &v) < 0) {
		refuse(r, "unknown invitation %s (revoked and removed, or made by another node)", q->invite);
		return;
	}
	if (!addr_is(&cn->peer, v.addr)) {
		refuse(r, "invitation %s was not used through its own tunnel", v.id);
		return;
	}
	if (v.state != INV_USED && !join_req_check(q, v.secret)) {
		o->st.forged++;
		refuse(r, "the proof of the invitation secret is wrong: a forged or altered invitation");
		return;
	}
	did_key_encode(DID_ED25519, q->node, did, sizeof did);
	switch (v.state) {
	case INV_REVOKED:
		refuse(r, "invitation %s was revoked", v.id);
		return;
	case INV_REJECTED:
		refuse(r, "the join was rejected%s%s", v.reason[0] ? ": " : "", v.reason);
		return;
	case INV_USED:
		/* the same joiner again (our answer was lost): the same answer */
		if (memcmp(v.node, q->node, 32) || !join_req_check(q, NULL)) {
			refuse(r, "invitation %s was already used", v.id);
			return;
		}
		break;
	case INV_WAITING:
		if (memcmp(v.node, q->node, 32)) {
			refuse(r, "invitation %s is already being used by another node", v.id);
			return;
		}
		/* fall through */
	case INV_OPEN:
		if (now > v.expires) {
			refuse(r, "invitation %s expired", v.id);
			return;
		}
		if (!v.auto_approve) {
			if (v.state == INV_OPEN) {
				v.state = INV_WAITING;
				memcpy(v.node, q->node, 32);
				memcpy(v.wg, q->wg, 32);
				snprintf(v.node_name, sizeof v.node_name, "%s", q->name);
				if (inv_put(o, &v) < 0) {
					refuse(r, "the master cannot record the request (store error)");
					return;
				}
				log_info("join request %s from %s (%s) waits for approval", v.id, q->name, did);
			}
			r->status = JOIN_PENDING;
			snprintf(r->message, sizeof r->message,
				 "waiting for approval: on %s run `mirrornetctl join approve %s`",
				 host_config(o->h)->name, v.id);
			o->st.pending++;
			return;
		}
		if (issue(o, q->node, NULL, NULL, v.role, v.zone, v.addr, NULL, err, sizeof err) < 0) {
			refuse(r, "%s", err);
			return;
		}
		v.state = INV_USED;   /* the secret goes after SWAP_GRACE_S (refresh_wg) */
		memcpy(v.node, q->node, 32);
		memcpy(v.first, q->node, 32);
		memcpy(v.wg, q->wg, 32);
		snprintf(v.node_name, sizeof v.node_name, "%s", q->name);
		if (inv_put(o, &v) < 0) {
			refuse(r, "the master cannot record the join (store error)");
			return;
		}
		refresh_wg(o);
		o->st.joined++;
		log_info("%s (%s) joined with invitation %s at %s", q->name, did, v.id, v.addr);
		break;
	}
	struct chain_result res;
	if (host_chain_records(o->h, q->node, c->rec, c->len, JOIN_MAX_CHAIN, &c->n, &res) < 0 ||
	    c->n == 0) {
		refuse(r, "the certificate was issued but its chain is not valid here; try again");
		return;
	}
	r->status = JOIN_OK;
	r->nrec = (uint8_t)c->n;
	snprintf(r->message, sizeof r->message, "welcome, %s", v.node_name);
	snprintf(cn->swap_id, sizeof cn->swap_id, "%s", v.id);
}

/* The member row for a key we certified (state used), by its current key. */
struct find_node {
	const uint8_t *pk;
	struct inv *out;
	bool found;
};

static int find_node_cb(void *ctx, const char *key, const uint8_t *val, size_t len)
{
	struct find_node *f = ctx;

	(void)key;
	if (schema_decode(&inv_schema, val, len, f->out) == 0 && f->out->state == INV_USED &&
	    !memcmp(f->out->node, f->pk, 32)) {
		f->found = true;
		return 1;
	}
	return 0;
}

static bool member_row(struct onboard *o, const uint8_t pk[32], struct inv *v)
{
	struct find_node f = { pk, v, false };

	host_state_each(o->h, find_node_cb, &f);
	return f.found;
}

static void do_renew(struct onboard *o, struct jconn *cn, const struct join_req *q,
		     struct join_resp *r, struct join_chain *c)
{
	struct inv v;
	char err[256], did[DID_KEY_MAX];
	uint64_t now = now_s(o);

	if (!join_req_check(q, NULL)) {
		o->st.forged++;
		refuse(r, "the request's signature is wrong");
		return;
	}
	if (q->time + CLOCK_SKEW_S < now || q->time > now + CLOCK_SKEW_S) {
		refuse(r, "the request is stale or from the future (check the clocks)");
		return;
	}
	if (!member_row(o, q->node, &v)) {
		refuse(r, "we never certified this key: renew with the node that did");
		return;
	}
	if (!addr_is(&cn->peer, v.addr)) {
		refuse(r, "the request did not come from the member's own mesh address");
		return;
	}
	if (host_is_revoked(o->h, q->node)) {
		refuse(r, "this node was revoked");
		return;
	}
	const uint8_t *subject = q->op == JOIN_OP_ROTATE ? q->new_node : q->node;
	if (q->op == JOIN_OP_ROTATE && host_is_revoked(o->h, q->new_node)) {
		refuse(r, "the new key was revoked");
		return;
	}
	if (issue(o, subject, q->node, v.first, v.role, v.zone, v.addr, c, err, sizeof err) < 0) {
		refuse(r, "%s", err);
		return;
	}
	did_key_encode(DID_ED25519, subject, did, sizeof did);
	if (q->op == JOIN_OP_ROTATE) {
		memcpy(v.prev, v.node, 32);
		memcpy(v.prev_wg, v.wg, 32);
		memcpy(v.node, q->new_node, 32);
		memcpy(v.wg, q->new_wg, 32);
		v.prev_revoke_at = now + ROTATE_GRACE_S;
		snprintf(cn->swap_id, sizeof cn->swap_id, "%s", v.id);
		o->st.rotated++;
		log_info("%s rotated its key to %s", v.node_name, did);
	} else {
		memcpy(v.wg, q->wg, 32);
		o->st.renewed++;
		log_info("renewed the certificate of %s (%s)", v.node_name, did);
	}
	if (inv_put(o, &v) < 0) {
		refuse(r, "the parent cannot record it (store error)");
		return;
	}
	refresh_wg(o);
	r->status = JOIN_OK;
	r->nrec = (uint8_t)c->n;
	snprintf(r->message, sizeof r->message, "certificate renewed");
}

/* The requester has our answer (it acked): the temporary or old tunnel
 * can go now rather than after the grace. */
static void swap_now(struct onboard *o, const char *id)
{
	static const uint8_t zero[INVITE_SECRET_LEN];
	uint64_t now = now_s(o);
	struct inv v;

	if (inv_get(o, id, &v) < 0 || v.state != INV_USED)
		return;
	if (memcmp(v.secret, zero, sizeof zero))
		crypto_wipe(v.secret, sizeof v.secret);
	else if (v.prev_revoke_at && now + ROTATE_GRACE_S < v.prev_revoke_at + SWAP_GRACE_S)
		v.prev_revoke_at = now + ROTATE_GRACE_S - SWAP_GRACE_S;
	else
		return;
	inv_put(o, &v);
	crypto_wipe(&v, sizeof v);
	refresh_wg(o);
}

static void conn_closed(uv_handle_t *h)
{
	struct jconn *cn = h->data;

	if (--cn->open_handles == 0) {
		free(cn->out);
		free(cn);
	}
}

static void conn_close(struct jconn *cn)
{
	struct onboard *o = cn->o;

	for (struct jconn **p = &o->conns; *p; p = &(*p)->next)
		if (*p == cn) {
			*p = cn->next;
			o->nconns--;
			break;
		}
	uv_close((uv_handle_t *)&cn->timer, conn_closed);
	uv_close((uv_handle_t *)&cn->tcp, conn_closed);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b);
static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);
static void conn_timeout(uv_timer_t *t);

static void conn_written(uv_write_t *w, int status)
{
	struct jconn *cn = w->data;

	/* a tunnel to swap: wait (bounded) for the requester's ack */
	if (status == 0 && cn->swap_id[0]) {
		cn->inlen = 0;
		cn->waiting_ack = true;
		uv_timer_start(&cn->timer, conn_timeout, CONN_TIMEOUT_MS, 0);
		if (uv_read_start((uv_stream_t *)&cn->tcp, conn_alloc, conn_read) == 0)
			return;
	}
	conn_close(cn);
}

static void conn_answer(struct jconn *cn, const uint8_t *payload, size_t n)
{
	struct onboard *o = cn->o;
	struct join_req q;
	struct join_resp r;
	struct join_chain c;
	size_t outlen;

	memset(&r, 0, sizeof r);
	memset(&c, 0, sizeof c);
	r.v = INVITE_VERSION;
	memcpy(r.root, host_config(o->h)->root, 32);
	r.gossip_port = (uint16_t)host_config(o->h)->gossip_port;
	if (schema_decode(&join_req_schema, payload, n, &q) < 0) {
		o->st.bad_requests++;
		refuse(&r, "malformed request (another version?)");
	} else if (q.op == JOIN_OP_JOIN) {
		do_join(o, cn, &q, &r, &c);
	} else {
		do_renew(o, cn, &q, &r, &c);
	}
	if (r.status == JOIN_REFUSED) {
		o->st.refused++;
		r.nrec = 0;
		log_warn("join service: refused a %s request: %s",
			 q.op <= JOIN_OP_MAX ? join_op_names[q.op] : "bad", r.message);
	}
	cn->answered = true;
	if (!(cn->out = malloc(OUT_MAX)) || join_resp_frames(&r, &c, cn->out, OUT_MAX, &outlen) < 0) {
		conn_close(cn);
		return;
	}
	uv_buf_t b = uv_buf_init((char *)cn->out, (unsigned)outlen);
	cn->wreq.data = cn;
	uv_read_stop((uv_stream_t *)&cn->tcp);
	if (uv_write(&cn->wreq, (uv_stream_t *)&cn->tcp, &b, 1, conn_written) < 0)
		conn_close(cn);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct jconn *cn = h->data;

	(void)hint;
	*b = uv_buf_init((char *)cn->in + cn->inlen, (unsigned)(sizeof cn->in - cn->inlen));
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct jconn *cn = s->data;
	const uint8_t *p;
	size_t n, used;

	(void)b;
	if (nread == 0)
		return;
	if (cn->answered) {   /* the ack (any byte, or the end) */
		if (cn->swap_id[0])
			swap_now(cn->o, cn->swap_id);
		conn_close(cn);
		return;
	}
	if (nread < 0) {
		conn_close(cn);
		return;
	}
	cn->inlen += (size_t)nread;
	int rc = join_frame_get(cn->in, cn->inlen, &p, &n, &used);
	if (rc == -EAGAIN && cn->inlen < sizeof cn->in)
		return;
	if (rc < 0 || used != cn->inlen) {
		cn->o->st.bad_requests++;
		conn_close(cn);
		return;
	}
	conn_answer(cn, p, n);
}

static void conn_timeout(uv_timer_t *t)
{
	struct jconn *cn = t->data;

	if (!cn->answered || cn->waiting_ack)
		conn_close(cn);   /* (no ack: the grace period swaps the tunnel later) */
}

static void on_conn(uv_stream_t *srv, int status)
{
	struct onboard *o = srv->data;
	struct jconn *cn;
	int len = sizeof(struct sockaddr_storage);

	if (status < 0 || !(cn = calloc(1, sizeof *cn)))
		return;
	cn->o = o;
	uv_tcp_init(o->loop, &cn->tcp);
	uv_timer_init(o->loop, &cn->timer);
	cn->tcp.data = cn->timer.data = cn;
	cn->open_handles = 2;
	cn->next = o->conns;
	o->conns = cn;
	o->nconns++;
	if (uv_accept(srv, (uv_stream_t *)&cn->tcp) < 0 || o->nconns > MAX_CONNS ||
	    uv_tcp_getpeername(&cn->tcp, (struct sockaddr *)&cn->peer, &len) < 0) {
		conn_close(cn);
		return;
	}
	uv_timer_start(&cn->timer, conn_timeout, CONN_TIMEOUT_MS, 0);
	uv_read_start((uv_stream_t *)&cn->tcp, conn_alloc, conn_read);
}

/* ---- our own renewal and rotation (as a client of our parent) ---- */

/* Our certificate: from the engine, else (expired and swept) the files
 * named in the configuration. The parent is its issuer. */
static bool my_cert(struct onboard *o, struct cert_body *cb, uint8_t parent[32])
{
	const struct config *cfg = host_config(o->h);
	const uint8_t *me = host_key(o->h)->pk;
	const uint8_t *wire[JOIN_MAX_CHAIN];
	size_t len[JOIN_MAX_CHAIN], n;
	struct chain_result g;
	struct record r;
	union body b;
	uint8_t id[32];
	bool found = false;

	/* the engine's valid chain (the usual case: no file read, no check) */
	if (host_chain_records(o->h, me, wire, len, JOIN_MAX_CHAIN, &n, &g) == 0 && n > 0 &&
	    record_decode(wire[n - 1], len[n - 1], &r, &b) == 0) {
		*cb = b.cert;
		memcpy(parent, r.origin, 32);
		return memcmp(parent, me, 32) != 0;
	}
	/* none valid now (expired while we were away): the files */
	for (size_t i = 0; i < cfg->ncerts; i++) {
		FILE *f = fopen(cfg->certs[i], "rb");
		uint8_t buf[MN_MAX_RECORD + 1];
		if (!f)
			continue;
		size_t k = fread(buf, 1, sizeof buf, f);
		fclose(f);
		if (record_decode(buf, k, &r, &b) == 0 && r.kind == KIND_CERT &&
		    !memcmp(b.cert.subject, me, 32) && record_verify(&r, id) == 0 &&
		    (!found || b.cert.not_after > cb->not_after)) {
			*cb = b.cert;
			memcpy(parent, r.origin, 32);
			found = true;
		}
	}
	return found && memcmp(parent, me, 32) != 0;
}

/* Write the new chain over the configured cert files, so that a restart
 * starts from it: file i gets link i when the counts match, else the last
 * file gets our own certificate. */
static void save_chain(struct onboard *o, const struct join_chain *c)
{
	const struct config *cfg = host_config(o->h);

	if (!cfg->ncerts)
		return;
	for (size_t i = 0; i < c->n; i++) {
		size_t fi = cfg->ncerts == c->n ? i : cfg->ncerts - 1;
		if (cfg->ncerts != c->n && i != c->n - 1)
			continue;
		char tmp[CONFIG_PATH_MAX + 8];
		snprintf(tmp, sizeof tmp, "%s.new", cfg->certs[fi]);
		FILE *f = fopen(tmp, "wb");
		if (!f || fwrite(c->rec[i], 1, c->len[i], f) != c->len[i] || fflush(f) || fsync(fileno(f))) {
			log_err("cannot write %s: %s", tmp, strerror(errno));
			if (f)
				fclose(f);
			unlink(tmp);
			continue;
		}
		fclose(f);
		if (rename(tmp, cfg->certs[fi]) < 0)
			log_err("cannot replace %s: %s", cfg->certs[fi], strerror(errno));
	}
}

static int key_path_save(const struct node_key *k, const char *path)
{
	char tmp[CONFIG_PATH_MAX + 8];
	int rc;

	snprintf(tmp, sizeof tmp, "%s.next", path);
	unlink(tmp);   /* a leftover of an attempt that failed */
	if ((rc = node_key_save(k, tmp)) < 0)
		return rc;
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return CRYPTO_ERR_IO;
	}
	return 0;
}

/* Our records under the old key, signed again by the new one (what the
 * engine regenerates itself — node and endpoint records — excepted). */
struct resign {
	struct onboard *o;
	const struct node_key *k;
	uint8_t (*wires)[MN_MAX_RECORD];
	size_t *lens;
	size_t n, cap;
};

static int resign_one(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct resign *rs = ctx;
	struct record nr;

	(void)id;
	if (memcmp(r->origin, host_key(rs->o->h)->pk, 32) || r->kind == KIND_NODE ||
	    r->kind == KIND_ENDPOINT || rs->n == rs->cap)
		return 0;
	if (record_init(&nr, r->kind, rs->k->pk, r->key, r->version, r->expires) < 0)
		return 0;
	nr.body = r->body;
	nr.body_len = r->body_len;
	if (record_sign(&nr, rs->k, rs->wires[rs->n], MN_MAX_RECORD) == 0)
		rs->lens[rs->n++] = nr.wire_len;
	return 0;
}

static void client_done(struct jclient *cl, const struct join_resp *r, const struct join_chain *c)
{
	struct onboard *o = cl->o;
	const struct node_key *me = host_key(o->h);
	const uint8_t *subject = cl->op == JOIN_OP_ROTATE ? cl->newkey.pk : me->pk;
	struct chain_result res;
	char err[256];

	if (r->status != JOIN_OK) {
		snprintf(o->last_error, sizeof o->last_error, "%s", r->message);
		cl->failed = true;
		return;
	}
	if (join_chain_verify(r, c, subject, cl->parent, now_s(o), &res, err, sizeof err) < 0) {
		snprintf(o->last_error, sizeof o->last_error, "the parent's answer: %s", err);
		cl->failed = true;
		return;
	}
	for (size_t i = 0; i < c->n; i++)
		host_insert(o->h, c->rec[i], c->len[i]);
	save_chain(o, c);
	o->last_error[0] = 0;
	o->renew_backoff_ms = 0;
	if (cl->op != JOIN_OP_ROTATE) {
		log_info("certificate renewed until %llu", (unsigned long long)res.not_after);
		host_chain_changed(o->h);
		return;
	}
	/* rotation: our records signed again by the new key, the new key in
	 * place of the old (atomic rename), then a restart with it */
	struct resign rs = { o, &cl->newkey, NULL, NULL, 0, 4096 };
	rs.wires = malloc(rs.cap * sizeof *rs.wires);
	rs.lens = malloc(rs.cap * sizeof *rs.lens);
	if (rs.wires && rs.lens)
		host_each(o->h, resign_one, &rs);
	int rc = key_path_save(&cl->newkey, host_config(o->h)->key);
	if (rc < 0) {
		snprintf(o->last_error, sizeof o->last_error, "cannot write the new key to %s: %s",
			 host_config(o->h)->key, rc == CRYPTO_ERR_IO ? strerror(errno) : crypto_strerror(rc));
		snprintf(o->rotation, sizeof o->rotation, "failed");
		log_err("key rotation: %s", o->last_error);
	} else {
		for (size_t i = 0; i < rs.n; i++)
			host_insert(o->h, rs.wires[i], rs.lens[i]);
		char did[DID_KEY_MAX];
		did_key_encode(DID_ED25519, cl->newkey.pk, did, sizeof did);
		log_info("key rotated: now %s (%zu records signed again); restarting with it", did, rs.n);
		snprintf(o->rotation, sizeof o->rotation, "done");
		host_restart(o->h);
	}
	free(rs.wires);
	free(rs.lens);
}

static void client_closed(uv_handle_t *h)
{
	struct jclient *cl = h->data;

	if (--cl->open_handles == 0) {
		node_key_wipe(&cl->newkey);
		free(cl->in);
		free(cl);
	}
}

static void client_finish(struct jclient *cl, const char *why)
{
	struct onboard *o = cl->o;

	if (o->cl != cl)
		return;
	o->cl = NULL;
	if (why) {
		snprintf(o->last_error, sizeof o->last_error, "%s", why);
		cl->failed = true;
	}
	if (cl->failed) {
		o->renew_backoff_ms = o->renew_backoff_ms ? o->renew_backoff_ms * 2 : RENEW_MIN_BACKOFF_MS;
		/* an expired member has nothing better to do: at most a minute */
		struct cert_body cb;
		uint8_t parent[32];
		uint64_t cap = my_cert(o, &cb, parent) && now_s(o) > cb.not_after ? 60000 : RENEW_MAX_BACKOFF_MS;
		if (o->renew_backoff_ms > cap)
			o->renew_backoff_ms = cap;
		o->renew_next_ms = host_now_ms(o->h) + o->renew_backoff_ms;
		if (cl->op == JOIN_OP_ROTATE)
			snprintf(o->rotation, sizeof o->rotation, "failed");
		log_warn("%s with the parent failed: %s (next try in %llu s)",
			 cl->op == JOIN_OP_ROTATE ? "key rotation" : "certificate renewal", o->last_error,
			 (unsigned long long)o->renew_backoff_ms / 1000);
	}
	uv_close((uv_handle_t *)&cl->timer, client_closed);
	uv_close((uv_handle_t *)&cl->tcp, client_closed);
}

static void client_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct jclient *cl = h->data;

	(void)hint;
	*b = uv_buf_init((char *)cl->in + cl->inlen, (unsigned)(OUT_MAX - cl->inlen));
}

static void client_acked(uv_write_t *w, int status)
{
	struct jclient *cl = w->data;
	struct join_resp r;
	struct join_chain c;
	char err[256];

	(void)status;   /* without the ack the parent swaps after its grace */
	if (join_resp_parse(cl->in, cl->inlen, &r, &c, err, sizeof err) == 0)
		client_done(cl, &r, &c);
	client_finish(cl, NULL);
}

static void client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct jclient *cl = s->data;
	struct join_resp r;
	struct join_chain c;
	char err[256];
	static uint8_t ack[5] = { 0, 0, 0, 1, 0 };

	(void)b;
	if (nread == 0 || cl->acked)
		return;
	if (nread < 0) {
		client_finish(cl, nread == UV_EOF ? "the parent's answer is incomplete"
						  : uv_strerror((int)nread));
		return;
	}
	cl->inlen += (size_t)nread;
	int rc = join_resp_parse(cl->in, cl->inlen, &r, &c, err, sizeof err);
	if (rc == -EAGAIN && cl->inlen < OUT_MAX)
		return;
	if (rc < 0) {
		client_finish(cl, "the parent's answer is malformed");
		return;
	}
	/* the whole answer: tell the parent (it swaps our tunnel), then act */
	cl->acked = true;
	uv_read_stop(s);
	uv_buf_t ab = uv_buf_init((char *)ack, sizeof ack);
	cl->ackreq.data = cl;
	if (uv_write(&cl->ackreq, s, &ab, 1, client_acked) < 0)
		client_acked(&cl->ackreq, -1);
}

static void client_written(uv_write_t *w, int status)
{
	struct jclient *cl = w->data;

	if (status < 0)
		client_finish(cl, uv_strerror(status));
}

static void client_connected(uv_connect_t *req, int status)
{
	struct jclient *cl = req->data;

	if (status < 0) {
		char m[128];
		snprintf(m, sizeof m, "parent unreachable: %s", uv_strerror(status));
		client_finish(cl, m);
		return;
	}
	uv_buf_t b = uv_buf_init((char *)cl->out, (unsigned)cl->outlen);
	cl->wreq.data = cl;
	if (uv_write(&cl->wreq, (uv_stream_t *)&cl->tcp, &b, 1, client_written) < 0 ||
	    uv_read_start((uv_stream_t *)&cl->tcp, client_alloc, client_read) < 0)
		client_finish(cl, "cannot talk to the parent");
}

static void client_timeout(uv_timer_t *t)
{
	client_finish(t->data, "the parent did not answer in time");
}

/* Ask our parent to renew our certificate, or to certify a new key. */
static int client_start(struct onboard *o, uint8_t op, char *err, size_t cap)
{
	const struct config *cfg = host_config(o->h);
	const struct node_key *me = host_key(o->h);
	struct wgsync *ws = host_wg(o->h);
	struct cert_body cb;
	struct sockaddr_storage sa;
	uint8_t priv[32];

	if (o->cl) {
		snprintf(err, cap, "a renewal or rotation is already under way");
		return -EALREADY;
	}
	struct jclient *cl = calloc(1, sizeof *cl);
	if (!cl)
		return -ENOMEM;
	if (!my_cert(o, &cb, cl->parent)) {
		snprintf(err, cap, "no certificate from a parent (the root renews its own)");
		free(cl);
		return -EPERM;
	}
	if (!ws || !wgsync_gossip_addr(ws, cl->parent, &sa)) {
		snprintf(err, cap, "our parent's mesh address is unknown (WireGuard off, or no record of it)");
		free(cl);
		return -EPERM;
	}
	if (sa.ss_family == AF_INET)
		((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)oconf(o)->join_port);
	else
		((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)oconf(o)->join_port);
	struct join_req q;
	memset(&q, 0, sizeof q);
	q.v = INVITE_VERSION;
	q.op = op;
	memcpy(q.node, me->pk, 32);
	node_key_wireguard(me, priv, q.wg);
	snprintf(q.name, sizeof q.name, "%s", cfg->name);
	q.time = now_s(o);
	if (op == JOIN_OP_ROTATE) {
		node_key_generate(&cl->newkey);
		memcpy(q.new_node, cl->newkey.pk, 32);
		node_key_wireguard(&cl->newkey, priv, q.new_wg);
	}
	crypto_wipe(priv, sizeof priv);
	if (join_req_seal(&q, NULL, me, op == JOIN_OP_ROTATE ? &cl->newkey : NULL) < 0 ||
	    join_req_frame(&q, cl->out, sizeof cl->out, &cl->outlen) < 0 || !(cl->in = malloc(OUT_MAX))) {
		snprintf(err, cap, "cannot build the request");
		node_key_wipe(&cl->newkey);
		free(cl->in);
		free(cl);
		return -EIO;
	}
	cl->o = o;
	cl->op = op;
	uv_tcp_init(o->loop, &cl->tcp);
	uv_timer_init(o->loop, &cl->timer);
	cl->tcp.data = cl->timer.data = cl->creq.data = cl;
	cl->open_handles = 2;
	o->cl = cl;
	if (op == JOIN_OP_ROTATE)
		snprintf(o->rotation, sizeof o->rotation, "running");
	uv_timer_start(&cl->timer, client_timeout, CONN_TIMEOUT_MS, 0);
	if (uv_tcp_connect(&cl->creq, &cl->tcp, (struct sockaddr *)&sa, client_connected) < 0) {
		client_finish(cl, "cannot connect to the parent");
		snprintf(err, cap, "%s", o->last_error);
		return -EIO;
	}
	return 0;
}

/* ---- periodic ---- */

static void onboard_tick(void *st, uint64_t now_ms)
{
	struct onboard *o = st;
	struct walk w;
	uint64_t now = now_ms / 1000;

	/* rotated keys whose grace is over: revoke them */
	if (inv_all(o, &w) == 0) {
		for (size_t i = 0; i < w.n; i++) {
			struct inv *v = &w.rows[i];
			if (v->prev_revoke_at && now >= v->prev_revoke_at) {
				revoke_key(o, v->prev, "key rotated");
				v->prev_revoke_at = 0;
				inv_put(o, v);
			}
		}
		walk_free(&w);
	}
	refresh_wg_apply(o, false);   /* the WireGuard timer applies it */
	renew_root_cert(o);
	/* our own certificate: renew once two thirds of its life are over */
	struct cert_body cb;
	uint8_t parent[32];
	if (!o->cl && now_ms >= o->renew_next_ms && my_cert(o, &cb, parent)) {
		uint64_t life = cb.not_after > cb.not_before ? cb.not_after - cb.not_before : 0;
		if (now >= cb.not_before + life / 3 * 2) {
			char err[256];
			if (now > cb.not_after)
				log_warn("our certificate has expired (%llu s ago): asking the parent for a new one",
					 (unsigned long long)(now - cb.not_after));
			if (client_start(o, JOIN_OP_RENEW, err, sizeof err) < 0) {
				snprintf(o->last_error, sizeof o->last_error, "%s", err);
				o->renew_next_ms = now_ms + RENEW_MIN_BACKOFF_MS;
			}
		}
	}
}

/* ---- API ---- */

static const char *jstr(struct json_object *req, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(req, k, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : NULL;
}

static struct json_object *inv_json(const struct inv *v, uint64_t now)
{
	struct json_object *j = json_object_new_object();
	static const uint8_t zero[32];
	char did[DID_KEY_MAX];

	json_object_object_add(j, "id", json_object_new_string(v->id));
	json_object_object_add(j, "name", json_object_new_string(v->name));
	json_object_object_add(j, "role", json_object_new_string(role_names[v->role]));
	json_object_object_add(j, "zone", json_object_new_string(v->zone));
	json_object_object_add(j, "addr", json_object_new_string(v->addr));
	bool expired = (v->state == INV_OPEN || v->state == INV_WAITING) && now > v->expires;
	json_object_object_add(j, "state", json_object_new_string(expired ? "expired" :
								    inv_state_names[v->state]));
	json_object_object_add(j, "auto_approve", json_object_new_boolean(v->auto_approve));
	json_object_object_add(j, "created", json_object_new_int64((int64_t)v->created));
	json_object_object_add(j, "expires", json_object_new_int64((int64_t)v->expires));
	json_object_object_add(j, "updated", json_object_new_int64((int64_t)v->updated));
	if (memcmp(v->node, zero, 32)) {
		did_key_encode(DID_ED25519, v->node, did, sizeof did);
		json_object_object_add(j, "node", json_object_new_string(did));
		json_object_object_add(j, "node_name", json_object_new_string(v->node_name));
	}
	if (v->reason[0])
		json_object_object_add(j, "reason", json_object_new_string(v->reason));
	return j;
}

static int onboard_invite_create(void *st, struct json_object *req, struct json_object **res,
			  char *err, size_t errcap)
{
	struct onboard *o = st;
	const struct config *cfg = host_config(o->h);
	const char *name = jstr(req, "name"), *role = jstr(req, "role"), *zone = jstr(req, "zone");
	struct json_object *jv;
	struct chain_result g;
	struct inv v;
	struct walk w;
	int64_t ttl = 86400;
	int rc;

	if (!name || !dns_name_valid(name, false) || strchr(name, '.')) {
		snprintf(err, errcap, "name: a DNS label (letters, digits, '-'), e.g. node7");
		return -EINVAL;
	}
	if (json_object_object_get_ex(req, "ttl_s", &jv)) {
		ttl = json_object_get_int64(jv);
		if (ttl < 60 || ttl > 30 * 86400) {
			snprintf(err, errcap, "ttl: from a minute to 30 days");
			return -EINVAL;
		}
	}
	memset(&v, 0, sizeof v);
	v.role = ROLE_PEER;
	if (role && !strcmp(role, "sub-master"))
		v.role = ROLE_SUBMASTER;
	else if (role && strcmp(role, "peer")) {
		snprintf(err, errcap, "role: peer or sub-master");
		return -EINVAL;
	}
	if (!host_wg(o->h) || !cfg->wg_endpoint[0]) {
		snprintf(err, errcap, "invitations need WireGuard with wg_endpoint set (where the joiner "
			 "reaches us)");
		return -EPERM;
	}
	if ((rc = my_grant(o, &g, err, errcap)) < 0)
		return rc;
	if (v.role == ROLE_SUBMASTER && g.depth + 1 >= g.max_depth) {
		snprintf(err, errcap, "a sub-master at depth %u could not invite anyone (max_depth %u)",
			 g.depth + 1, g.max_depth);
		return -EPERM;
	}
	/* DNS scope: as asked (inside ours), else <name>.<our scope> */
	if (zone) {
		if (zone[0] && (!dns_name_valid(zone, false) || !dns_scope_contains(g.dns_scope, zone) ||
				!strcmp(zone, g.dns_scope))) {
			snprintf(err, errcap, "zone: must lie strictly inside our scope '%s'", g.dns_scope);
			return -EINVAL;
		}
		snprintf(v.zone, sizeof v.zone, "%s", zone);
	} else if (g.dns_scope[0]) {
		if (snprintf(v.zone, sizeof v.zone, "%s.%s", name, g.dns_scope) >= (int)sizeof v.zone) {
			snprintf(err, errcap, "zone %s.%s: too long", name, g.dns_scope);
			return -EINVAL;
		}
	}
	json_object_object_get_ex(req, "auto_approve", &jv);
	v.auto_approve = jv && json_object_get_boolean(jv);
	snprintf(v.name, sizeof v.name, "%s", name);
	crypto_random(v.secret, sizeof v.secret);
	invite_id(v.secret, v.id);
	v.created = now_s(o);
	v.expires = v.created + (uint64_t)ttl;
	v.state = INV_OPEN;
	if ((rc = inv_all(o, &w)) < 0) {
		snprintf(err, errcap, "store: %s", host_state_error(o->h));
		return -EIO;
	}
	if (w.n >= MAX_ROWS) {
		walk_free(&w);
		snprintf(err, errcap, "too many invitations kept (%d): revoke old ones", MAX_ROWS);
		return -ENOSPC;
	}
	rc = pick_addr(o, &w, v.secret, !memcmp(host_key(o->h)->pk, cfg->root, 32), v.addr,
		       sizeof v.addr, err, errcap);
	walk_free(&w);
	if (rc < 0)
		return rc;
	/* the token */
	struct invite_token t;
	uint8_t priv[32];
	memset(&t, 0, sizeof t);
	t.v = INVITE_VERSION;
	t.role = v.role;
	snprintf(t.name, sizeof t.name, "%s", v.name);
	memcpy(t.secret, v.secret, 32);
	memcpy(t.inviter, host_key(o->h)->pk, 32);
	node_key_wireguard(host_key(o->h), priv, t.inviter_wg);
	crypto_wipe(priv, sizeof priv);
	t.expires = v.expires;
	snprintf(t.addr, sizeof t.addr, "%s", v.addr);
	strip_prefix(cfg->mesh_addr, t.inviter_addr, sizeof t.inviter_addr);
	t.port = (uint16_t)oconf(o)->join_port;
	snprintf(t.endpoint, sizeof t.endpoint, "%s", cfg->wg_endpoint);
	char text[INVITE_TEXT_MAX + 32];
	rc = invite_token_format(&t, text, sizeof text);
	crypto_wipe(&t, sizeof t);
	if (rc < 0) {
		snprintf(err, errcap, "the invitation does not encode (endpoint too long?)");
		crypto_wipe(&v, sizeof v);
		return -EINVAL;
	}
	if (inv_put(o, &v) < 0) {
		snprintf(err, errcap, "store: %s", host_state_error(o->h));
		crypto_wipe(&v, sizeof v);
		crypto_wipe(text, sizeof text);
		return -EIO;
	}
	refresh_wg(o);
	*res = inv_json(&v, now_s(o));
	json_object_object_add(*res, "token", json_object_new_string(text));
	crypto_wipe(text, sizeof text);
	crypto_wipe(&v, sizeof v);
	log_info("invitation %s for %s created", json_object_get_string(json_object_object_get(*res, "id")),
		 name);
	return 0;
}

static int onboard_invite_list(void *st, struct json_object *req, struct json_object **res,
			char *err, size_t errcap)
{
	struct onboard *o = st;
	struct walk w;
	const char *state = jstr(req, "state");
	uint64_t now = now_s(o);

	if (inv_all(o, &w) < 0) {
		snprintf(err, errcap, "store: %s", host_state_error(o->h));
		return -EIO;
	}
	*res = json_object_new_array();
	for (size_t i = 0; i < w.n; i++) {
		struct json_object *j = inv_json(&w.rows[i], now);
		const char *s = json_object_get_string(json_object_object_get(j, "state"));
		if (state && strcmp(state, s)) {
			json_object_put(j);
			continue;
		}
		json_object_array_add(*res, j);
	}
	walk_free(&w);
	return 0;
}

static int get_row(struct onboard *o, struct json_object *req, struct inv *v, char *err,
		   size_t errcap)
{
	const char *id = jstr(req, "invitation");

	if (!id || strlen(id) != INVITE_ID_LEN) {
		snprintf(err, errcap, "invitation: its id (%d hex digits, see `invite list`)",
			 INVITE_ID_LEN);
		return -EINVAL;
	}
	int rc = inv_get(o, id, v);
	if (rc == -ENOENT)
		snprintf(err, errcap, "no invitation %s", id);
	else if (rc < 0)
		snprintf(err, errcap, "store: %s", host_state_error(o->h));
	return rc == -ENOENT ? -ENOENT : rc < 0 ? -EIO : 0;
}

static int onboard_invite_revoke(void *st, struct json_object *req, struct json_object **res,
			  char *err, size_t errcap)
{
	struct onboard *o = st;
	struct inv v;
	int rc;

	if ((rc = get_row(o, req, &v, err, errcap)) < 0)
		return rc;
	if (v.state == INV_USED) {
		snprintf(err, errcap, "invitation %s was used: revoke the node instead "
			 "(`mirrornetctl revoke NODE`)", v.id);
		return -EALREADY;
	}
	v.state = INV_REVOKED;
	crypto_wipe(v.secret, sizeof v.secret);
	if (inv_put(o, &v) < 0) {
		snprintf(err, errcap, "store: %s", host_state_error(o->h));
		return -EIO;
	}
	refresh_wg(o);
	*res = inv_json(&v, now_s(o));
	return 0;
}

static int onboard_join_approve(void *st, struct json_object *req, struct json_object **res,
			 char *err, size_t errcap)
{
	struct onboard *o = st;
	struct inv v;
	int rc;

	if ((rc = get_row(o, req, &v, err, errcap)) < 0)
		return rc;
	if (v.state != INV_WAITING) {
		snprintf(err, errcap, "invitation %s has no join waiting (it is %s)", v.id,
			 inv_state_names[v.state]);
		return -EALREADY;
	}
	if (now_s(o) > v.expires) {
		snprintf(err, errcap, "invitation %s expired; make a new one", v.id);
		return -EALREADY;
	}
	if ((rc = issue(o, v.node, NULL, NULL, v.role, v.zone, v.addr, NULL, err, errcap)) < 0)
		return rc;
	v.state = INV_USED;   /* the secret goes after SWAP_GRACE_S (refresh_wg) */
	memcpy(v.first, v.node, 32);
	if (inv_put(o, &v) < 0) {
		snprintf(err, errcap, "store: %s", host_state_error(o->h));
		return -EIO;
	}
	refresh_wg(o);
	o->st.joined++;
	*res = inv_json(&v, now_s(o));
	return 0;
}

static int onboard_join_reject(void *st, struct json_object *req, struct json_object **res,
			char *err, size_t errcap)
{
	struct onboard *o = st;
	const char *reason = jstr(req, "reason");
	struct inv v;
	int rc;

	if ((rc = get_row(o, req, &v, err, errcap)) < 0)
		return rc;
	if (v.state != INV_WAITING && v.state != INV_OPEN) {
		snprintf(err, errcap, "invitation %s is %s: nothing to reject", v.id,
			 inv_state_names[v.state]);
		return -EALREADY;
	}
	if (reason && strlen(reason) > MN_MAX_TEXT) {
		snprintf(err, errcap, "reason: at most %d bytes", MN_MAX_TEXT);
		return -EINVAL;
	}
	v.state = INV_REJECTED;   /* the secret goes after SWAP_GRACE_S (refresh_wg) */
	snprintf(v.reason, sizeof v.reason, "%s", reason ? reason : "");
	if (inv_put(o, &v) < 0) {
		snprintf(err, errcap, "store: %s", host_state_error(o->h));
		return -EIO;
	}
	refresh_wg(o);
	*res = inv_json(&v, now_s(o));
	return 0;
}

static int start_json(struct onboard *o, uint8_t op, struct json_object **res, char *err,
		      size_t errcap)
{
	int rc = client_start(o, op, err, errcap);
	char did[DID_KEY_MAX];

	if (rc < 0)
		return rc;
	*res = json_object_new_object();
	did_key_encode(DID_ED25519, o->cl->parent, did, sizeof did);
	json_object_object_add(*res, "started", json_object_new_boolean(true));
	json_object_object_add(*res, "parent", json_object_new_string(did));
	return 0;
}

static int onboard_key_rotate(void *st, struct json_object *req, struct json_object **res,
		       char *err, size_t errcap)
{
	struct onboard *o = st;
	(void)req;
	if (!memcmp(host_key(o->h)->pk, host_config(o->h)->root, 32)) {
		snprintf(err, errcap, "the mesh root's key is the mesh's identity: it does not rotate");
		return -EPERM;
	}
	return start_json(o, JOIN_OP_ROTATE, res, err, errcap);
}

static int onboard_renew(void *st, struct json_object *req, struct json_object **res,
		  char *err, size_t errcap)
{
	struct onboard *o = st;
	(void)req;
	return start_json(o, JOIN_OP_RENEW, res, err, errcap);
}

static struct json_object *onboard_status(void *st)
{
	struct onboard *o = st;
	struct json_object *j = json_object_new_object();
	struct cert_body cb;
	uint8_t parent[32];

	json_object_object_add(j, "join_service", json_object_new_boolean(o->listening));
	json_object_object_add(j, "joined", json_object_new_int64((int64_t)o->st.joined));
	json_object_object_add(j, "pending", json_object_new_int64((int64_t)o->st.pending));
	json_object_object_add(j, "refused", json_object_new_int64((int64_t)o->st.refused));
	json_object_object_add(j, "forged", json_object_new_int64((int64_t)o->st.forged));
	json_object_object_add(j, "renewed", json_object_new_int64((int64_t)o->st.renewed));
	json_object_object_add(j, "rotated", json_object_new_int64((int64_t)o->st.rotated));
	json_object_object_add(j, "bad_requests", json_object_new_int64((int64_t)o->st.bad_requests));
	if (my_cert(o, &cb, parent)) {
		char did[DID_KEY_MAX];
		did_key_encode(DID_ED25519, parent, did, sizeof did);
		json_object_object_add(j, "parent", json_object_new_string(did));
		json_object_object_add(j, "cert_not_after", json_object_new_int64((int64_t)cb.not_after));
	}
	if (o->rotation[0])
		json_object_object_add(j, "rotation", json_object_new_string(o->rotation));
	if (o->last_error[0])
		json_object_object_add(j, "last_error", json_object_new_string(o->last_error));
	return j;
}

/* ---- life ---- */

static void *onboard_start(struct mn_host *h, char *err, size_t errcap)
{
	const struct config *cfg = host_config(h);
	struct onboard *o = calloc(1, sizeof *o);
	struct sockaddr_storage sa;
	uv_loop_t *loop = host_loop(h);
	int rc;

	if (!o) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	o->h = h;
	o->loop = loop;
	if (host_wg(h) && cfg->mesh_addr[0]) {
		config_mesh_sa(cfg->mesh_addr, oconf(o)->join_port, &sa);
		uv_tcp_init(loop, &o->srv);
		o->srv.data = o;
		if ((rc = uv_tcp_bind(&o->srv, (struct sockaddr *)&sa, 0)) < 0 ||
		    (rc = uv_listen((uv_stream_t *)&o->srv, 16, on_conn)) < 0) {
			/* not fatal: a member without the service can still be one */
			snprintf(err, errcap, "join service on %s port %u: %s", cfg->mesh_addr,
				 oconf(o)->join_port, uv_strerror(rc));
			log_warn("%s (no invitations can be served)", err);
			uv_close((uv_handle_t *)&o->srv, NULL);
			refresh_wg(o);
			return o;
		}
		o->listening = true;
	}
	refresh_wg(o);
	return o;
}

static void onboard_stop(void *st)
{
	struct onboard *o = st;

	while (o->conns)
		conn_close(o->conns);
	if (o->cl)
		client_finish(o->cl, "stopping");
	if (o->listening)
		uv_close((uv_handle_t *)&o->srv, NULL);
	o->listening = false;
}

static void onboard_free(void *st)
{
	free(st);
}

/* ---- the subsystem ---- */

static int check_subnet(void *sect, char *val, char *msg, size_t cap)
{
	struct addrplan ap;

	(void)sect;
	if (addrplan_parse(val, &ap) < 0) {
		snprintf(msg, cap, "subnet: a CIDR such as 10.42.0.0/16 or fd42:4242::/64 (host bits zero)");
		return -EINVAL;
	}
	return 0;
}

#define F(f) CONF_FIELD(struct onboard_conf, f)
static const struct conf_opt onboard_opts[] = {
	{ "join_port", CONF_UINT, 0, F(join_port), 1, 65535, .def = "7333", .help = "1..65535" },
	{ "subnet", CONF_STR, 0, F(subnet), .def = ADDRPLAN_DEFAULT, .parse = check_subnet,
	  .help = "a CIDR such as 10.42.0.0/16 or fd42:4242::/64 (host bits zero)" },
	{ "cert_lifetime_s", CONF_U64, 0, F(cert_lifetime_s), 3600, 3650ull * 86400,
	  .def = "7776000", .help = "3600 (an hour) .. 315360000 (ten years)" },
};
#undef F

static const struct subsys_call onboard_calls[] = {
	{ "invite_create", onboard_invite_create,
	  { { "name", json_type_string }, { "role", json_type_string }, { "ttl_s", json_type_int },
	    { "auto_approve", json_type_boolean }, { "zone", json_type_string }, { NULL, 0 } } },
	{ "invite_list", onboard_invite_list, { { "state", json_type_string }, { NULL, 0 } } },
	{ "invite_revoke", onboard_invite_revoke,
	  { { "invitation", json_type_string }, { NULL, 0 } } },
	{ "join_approve", onboard_join_approve, { { "invitation", json_type_string }, { NULL, 0 } } },
	{ "join_reject", onboard_join_reject,
	  { { "invitation", json_type_string }, { "reason", json_type_string }, { NULL, 0 } } },
	{ "key_rotate", onboard_key_rotate, { { NULL, 0 } } },
	{ "cert_renew", onboard_renew, { { NULL, 0 } } },
};

const struct subsys subsys_onboarding = {
	.name = "onboarding",
	.state_ns = NS,   /* invitations and the members we certified */
	.conf = { "onboarding", onboard_opts, sizeof onboard_opts / sizeof onboard_opts[0],
		  sizeof(struct onboard_conf), NULL },
	.calls = onboard_calls,
	.ncalls = sizeof onboard_calls / sizeof onboard_calls[0],
	.start = onboard_start,
	.tick = onboard_tick,
	.status = onboard_status,
	.stop = onboard_stop,
	.free = onboard_free,
};
