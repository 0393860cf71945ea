/* Trust rules of the engine (src/engine/trust.c, docs/trust.md), one
 * engine fed signed records: who may re-certify a member, who may revoke
 * it, what a revoked sub-master's subtree loses, and the claims of node
 * records (a mesh address only from the cert, names and addresses unique). */
#include <errno.h>
#include <stdlib.h>
#include "tests/check.h"
#include "tests/unit/sample_bodies.h"
#include "src/engine/engine.h"
#include "crypto/crypto.h"
#include "crypto/record_sig.h"
#include "proto/hex.h"

/* keys: the root, two sub-masters, a sub-master under S1, members */
enum { R, S1, S2, C1, M1, M2, G, X, OBS, NKEYS };
static struct node_key k[NKEYS];
static struct engine *e;
static uint64_t now_ms = 1800000000000ull;
static int revoked_cb;

static void op_send(void *ctx, const uint8_t peer[32], const uint8_t *buf, size_t len,
		    enum engine_chan chan)
{
	(void)ctx; (void)peer; (void)buf; (void)len; (void)chan;
}

static void op_revoked(void *ctx, const uint8_t origin[32])
{
	(void)ctx; (void)origin;
	revoked_cb++;
}

static uint64_t op_random(void *ctx)
{
	static uint64_t x = 0x9e3779b97f4a7c15ull;

	(void)ctx;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

static const struct engine_ops ops = { .send = op_send, .revoked = op_revoked,
				       .random = op_random };

/* Sign a record of kind by key i (body NULL: tombstone) and insert it. */
static int put(int i, unsigned kind, const char *key, uint64_t version, const union body *b,
	       uint8_t id[32])
{
	uint8_t body[MN_MAX_BODY], wire[MN_MAX_RECORD];
	size_t blen = 0;
	struct record r;

	if (b)
		CHECK_INT(body_encode(kind, b, body, sizeof body, &blen), 0);
	record_init(&r, kind, k[i].pk, key, version, now_ms / 1000 + 86400);
	r.body = b ? body : NULL;
	r.body_len = blen;
	CHECK_INT(record_sign(&r, &k[i], wire, sizeof wire), 0);
	if (id)
		record_id(&r, id);
	return engine_insert(e, wire, r.wire_len, false, now_ms);
}

static int cert(int issuer, int subject, uint8_t role, uint8_t depth, const char *addr,
		uint64_t not_before, uint64_t version)
{
	union body b;
	char key[65];

	memset(&b, 0, sizeof b);
	memcpy(b.cert.subject, k[subject].pk, 32);
	b.cert.role = role;
	b.cert.depth = depth;
	b.cert.max_depth = 4;
	snprintf(b.cert.mesh_addr, sizeof b.cert.mesh_addr, "%s", addr);
	b.cert.not_before = not_before;
	b.cert.not_after = UINT64_MAX / 4;
	hex_encode(k[subject].pk, 32, key);
	return put(issuer, KIND_CERT, key, version, &b, NULL);
}

static int revoke(int issuer, int subject)
{
	union body b;
	char key[65];

	memset(&b, 0, sizeof b);
	memcpy(b.revoke.subject, k[subject].pk, 32);
	strcpy(b.revoke.reason, "test");
	hex_encode(k[subject].pk, 32, key);
	return put(issuer, KIND_REVOKE, key, 1, &b, NULL);
}

static int node(int i, const char *name, const char *addr, uint64_t version, uint8_t id[32])
{
	union body b;

	sample_body(KIND_NODE, &b, 0);
	snprintf(b.node.name, sizeof b.node.name, "%s", name);
	snprintf(b.node.mesh_addr, sizeof b.node.mesh_addr, "%s", addr);
	return put(i, KIND_NODE, "self", version, &b, id);
}

static int svc(int i, uint8_t id[32])
{
	union body b;

	sample_body(KIND_SVC, &b, 0);
	return put(i, KIND_SVC, "mail", 1, &b, id);
}

static struct engine_stats stats(void)
{
	struct engine_stats st;

	engine_get_stats(e, &st);
	return st;
}

/* A fresh observer holding root → S1 → C1 → G, S1 → M1, root → S2 → M2. */
static void setup(void)
{
	struct engine_config cfg;

	for (int i = 0; i < NKEYS; i++) {
		uint8_t seed[32] = { 0 };
		seed[0] = (uint8_t)(0x40 + i);
		node_key_from_seed(&k[i], seed);
	}
	engine_config_default(&cfg);
	cfg.root = k[R].pk;
	e = engine_new(&cfg, &k[OBS], &ops, NULL, now_ms);
	CHECK(e != NULL);
	revoked_cb = 0;
	CHECK_INT(cert(R, OBS, ROLE_PEER, 1, "10.0.0.99", 100, 1), 1);
	CHECK_INT(cert(R, S1, ROLE_SUBMASTER, 1, "10.0.0.2", 100, 1), 1);
	CHECK_INT(cert(R, S2, ROLE_SUBMASTER, 1, "10.0.0.3", 100, 1), 1);
	CHECK_INT(cert(S1, C1, ROLE_SUBMASTER, 2, "10.0.0.4", 200, 1), 1);
	CHECK_INT(cert(C1, G, ROLE_PEER, 3, "10.0.0.5", 300, 1), 1);
	CHECK_INT(cert(S1, M1, ROLE_PEER, 2, "10.0.0.6", 200, 1), 1);
	CHECK_INT(cert(S2, M2, ROLE_PEER, 2, "10.0.0.7", 300, 1), 1);
}

static void teardown(void)
{
	engine_free(e);
	for (int i = 0; i < NKEYS; i++)
		node_key_wipe(&k[i]);
}

static void test_recertification(void)
{
	uint8_t id[32];

	setup();
	CHECK_INT(svc(M1, id), 1);
	/* a foreign sub-master cannot take over M1's chain... */
	CHECK_INT(cert(S2, M1, ROLE_PEER, 2, "10.0.0.6", 200, 1), -EACCES);
	CHECK_INT(stats().certs_refused, 1);
	/* ... nor a sub-master below another branch (C1 under S1 is not above M1) */
	CHECK_INT(cert(C1, M1, ROLE_PEER, 3, "10.0.0.6", 200, 1), -EACCES);
	/* its issuer renews, its ancestor (the root) re-certifies */
	CHECK_INT(cert(S1, M1, ROLE_PEER, 2, "10.0.0.6", 200, 2), 1);
	CHECK_INT(cert(R, M1, ROLE_PEER, 1, "10.0.0.6", 100, 1), 1);
	CHECK(engine_has(e, id));
	/* now under the root: S1 is no longer above it */
	CHECK_INT(cert(S1, M1, ROLE_PEER, 2, "10.0.0.6", 200, 3), -EACCES);
	CHECK_INT(revoke(S1, M1), -EACCES);
	/* a new key (a rotation, or a new member): any issuer within its rights */
	CHECK_INT(cert(S2, X, ROLE_PEER, 2, "10.0.0.8", 300, 1), 1);
	teardown();
}

static void test_revoke_only_by_ancestor(void)
{
	uint8_t id1[32], id2[32];

	setup();
	CHECK_INT(svc(M1, id1), 1);
	CHECK_INT(svc(M2, id2), 1);
	CHECK_INT(revoke(S2, M1), -EACCES);   /* not on M1's chain */
	CHECK_INT(revoke(C1, M1), -EACCES);
	CHECK_INT(revoke(S1, M2), -EACCES);
	CHECK(engine_has(e, id1) && engine_has(e, id2));
	CHECK(!engine_is_revoked(e, k[M1].pk));
	CHECK_INT(revoke(S1, M1), 1);         /* its issuer may */
	CHECK(!engine_has(e, id1));
	CHECK(engine_is_revoked(e, k[M1].pk));
	CHECK_INT(revoke(R, M2), 1);          /* and the root */
	CHECK(!engine_has(e, id2));
	teardown();
}

static void test_subtree_cut(void)
{
	uint8_t ids1[32], idc[32], idg[32], idm1[32], idm2[32], idn[32];

	setup();
	CHECK_INT(svc(S1, ids1), 1);
	CHECK_INT(svc(C1, idc), 1);
	CHECK_INT(svc(G, idg), 1);
	CHECK_INT(svc(M1, idm1), 1);
	CHECK_INT(svc(M2, idm2), 1);
	CHECK_INT(node(G, "g", "10.0.0.5", 1, idn), 1);
	CHECK_INT(revoke(R, S1), 1);
	/* S1 and its whole subtree lose their records, the driver hears of each */
	CHECK(!engine_has(e, ids1) && !engine_has(e, idc) && !engine_has(e, idg) &&
	      !engine_has(e, idm1) && !engine_has(e, idn));
	CHECK(engine_has(e, idm2));
	CHECK_INT(revoked_cb, 4);
	CHECK_INT(stats().trust_cut, 3);
	CHECK(engine_is_revoked(e, k[G].pk) && engine_is_revoked(e, k[M1].pk));
	CHECK(!engine_is_revoked(e, k[M2].pk));
	/* their new records are not taken */
	uint8_t id[32];
	CHECK(put(G, KIND_SVC, "later", 1, &(union body){ .svc = { .service = "x" } }, id) < 0);
	CHECK(!engine_has(e, id));
	/* the root may take a cut member back */
	CHECK_INT(cert(R, M1, ROLE_PEER, 1, "10.0.0.6", 100, 1), 1);
	CHECK(!engine_is_revoked(e, k[M1].pk));
	CHECK_INT(put(M1, KIND_SVC, "again", 1, &(union body){ .svc = { .service = "x" } }, id), 1);
	/* a downgrade by the root (S2 made a peer) cuts S2's members */
	CHECK_INT(cert(R, S2, ROLE_PEER, 1, "10.0.0.3", 100, 2), 1);
	CHECK(!engine_has(e, idm2));
	CHECK(engine_is_revoked(e, k[M2].pk));
	/* an expired chain is not a cut: a renewal repairs it */
	teardown();
}

static void test_withdrawn_cert(void)
{
	uint8_t idg[32];
	char key[65];

	setup();
	CHECK_INT(svc(G, idg), 1);
	hex_encode(k[C1].pk, 32, key);
	CHECK_INT(svc(C1, NULL), 1);
	CHECK_INT(put(S1, KIND_CERT, key, 2, NULL, NULL), 1);   /* S1 withdraws C1's cert */
	CHECK(!engine_has(e, idg));
	CHECK(engine_is_revoked(e, k[G].pk) && engine_is_revoked(e, k[C1].pk));
	teardown();
}

static void test_mesh_addr(void)
{
	uint8_t id[32], idr[32], idx[32];

	setup();
	CHECK_INT(node(M1, "m1", "10.0.0.9", 1, id), -EACCES);   /* not its cert's */
	CHECK_INT(stats().claims_refused, 1);
	CHECK_INT(node(M1, "m1", "10.0.0.1", 2, id), -EACCES);   /* the root's */
	CHECK_INT(node(M1, "m1", "10.0.0.6", 3, id), 1);
	CHECK_INT(node(M2, "m2", "", 1, NULL), 1);             /* no address: fine */
	/* the root (without a cert of its own) has any address; a member a
	 * hostile sub-master certified with the root's address does not get it */
	CHECK_INT(node(R, "root", "10.0.0.1", 1, idr), 1);
	CHECK_INT(cert(S2, X, ROLE_PEER, 2, "10.0.0.1", 50, 1), 1);
	CHECK_INT(node(X, "x", "10.0.0.1", 1, idx), -EACCES);
	CHECK(engine_has(e, idr) && !engine_has(e, idx));
	/* nor another member's (M1's cert came first: since 200 < 300) */
	CHECK_INT(cert(S2, X, ROLE_PEER, 2, "10.0.0.6", 300, 2), 1);
	CHECK_INT(node(X, "x", "10.0.0.6", 2, idx), -EACCES);
	CHECK(engine_has(e, id));
	teardown();
}

static void test_names(void)
{
	uint8_t id1[32], id2[32], idg[32], pk[32];

	setup();
	CHECK_INT(node(M2, "alpha", "10.0.0.7", 1, id2), 1);   /* since 300 */
	CHECK_INT(engine_name_owner(e, "alpha", pk), 0);
	CHECK_MEM(pk, k[M2].pk, 32);
	/* M1 (depth 2, since 200) was certified first: it takes the name, M2's
	 * record goes whatever the order of arrival */
	CHECK_INT(node(M1, "alpha", "10.0.0.6", 1, id1), 1);
	CHECK(engine_has(e, id1) && !engine_has(e, id2));
	CHECK_INT(engine_name_owner(e, "alpha", pk), 0);
	CHECK_MEM(pk, k[M1].pk, 32);
	CHECK_INT(node(M2, "alpha", "10.0.0.7", 2, id2), -EACCES);
	/* deeper claimants lose to shallower ones, even if certified earlier */
	CHECK_INT(node(G, "alpha", "10.0.0.5", 1, idg), -EACCES);
	CHECK_INT(stats().claims_refused, 3);
	CHECK_INT(engine_name_owner(e, "nobody", pk), -ENOENT);
	/* the same node under a rotated key (node_id = M1): no conflict */
	union body b;
	char key[65];
	memset(&b, 0, sizeof b);
	memcpy(b.cert.subject, k[X].pk, 32);
	memcpy(b.cert.node_id, k[M1].pk, 32);
	b.cert.depth = 2;
	b.cert.max_depth = 4;
	strcpy(b.cert.mesh_addr, "10.0.0.6");
	b.cert.not_before = 200;
	b.cert.not_after = UINT64_MAX / 4;
	hex_encode(k[X].pk, 32, key);
	CHECK_INT(put(S1, KIND_CERT, key, 1, &b, NULL), 1);
	CHECK_INT(node(X, "alpha", "10.0.0.6", 1, NULL), 1);
	CHECK(engine_has(e, id1));
	teardown();
}

/* An expose record: under its service's key, and a public name only inside
 * the origin's certificate's DNS scope (docs/records.md). */
static int expose(int i, const char *key, const char *service, const char *domain)
{
	union body b;

	sample_body(KIND_EXPOSE, &b, 0);
	snprintf(b.expose.service, sizeof b.expose.service, "%s", service);
	snprintf(b.expose.domain, sizeof b.expose.domain, "%s", domain);
	return put(i, KIND_EXPOSE, key, 1, &b, NULL);
}

static void test_expose_scope(void)
{
	union body b;
	char key[65];

	setup();
	/* S1 re-certified with the scope s1.example.io */
	memset(&b, 0, sizeof b);
	memcpy(b.cert.subject, k[S1].pk, 32);
	b.cert.role = ROLE_SUBMASTER;
	b.cert.depth = 1;
	b.cert.max_depth = 4;
	strcpy(b.cert.mesh_addr, "10.0.0.2");
	strcpy(b.cert.dns_scope, "s1.example.io");
	b.cert.not_before = 100;
	b.cert.not_after = UINT64_MAX / 4;
	hex_encode(k[S1].pk, 32, key);
	CHECK_INT(put(R, KIND_CERT, key, 2, &b, NULL), 1);
	CHECK_INT(expose(S1, "git", "git", "git.s1.example.io"), 1);
	CHECK_INT(expose(S1, "www", "www", "s1.example.io"), 1);          /* its apex */
	CHECK_INT(expose(S1, "web", "web", ""), 1);                       /* no public name */
	CHECK_INT(expose(S1, "evil", "evil", "www.gmail.com"), -EACCES);  /* outside */
	CHECK_INT(expose(S1, "evil", "evil", "xs1.example.io"), -EACCES); /* not a label boundary */
	CHECK_INT(expose(S1, "other", "git", "git.s1.example.io"), -EACCES); /* key != service */
	CHECK_INT(expose(M2, "m", "m", "m.s1.example.io"), -EACCES);      /* no scope at all */
	CHECK_INT(expose(R, "r", "r", "anything.example.org"), 1);        /* a root without a cert */
	teardown();
}

int main(void)
{
	if (crypto_init() < 0)
		return 1;
	test_recertification();
	test_revoke_only_by_ancestor();
	test_subtree_cut();
	test_withdrawn_cert();
	test_mesh_addr();
	test_names();
	test_expose_scope();
	return check_exit();
}
