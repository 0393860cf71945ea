/* Certificate chains: valid chains and each way a chain can be invalid. */
#include <stdlib.h>
#include "tests/check.h"
#include "proto/record.h"
#include "proto/proto_err.h"
#include "crypto/crypto.h"
#include "crypto/key.h"
#include "crypto/record_sig.h"
#include "crypto/chain.h"

enum { ROOT, SUB, SUB2, PEER, OTHER, NKEYS };
static struct node_key keys[NKEYS];

#define NOW 1800000000ull
#define LATER 1900000000ull

/* A pool of signed cert records that stay valid for the whole test. */
static uint8_t pool[64][MN_MAX_RECORD];
static struct record recs[64];
static int npool;

static const struct record *mkcert_(int issuer, int subject, uint8_t role, uint8_t depth,
				   uint8_t max_depth, const char *scope, uint64_t nb, uint64_t na)
{
	union body b;
	uint8_t body[MN_MAX_BODY];
	size_t blen;
	struct record *r = &recs[npool];
	char key[65];

	memset(&b, 0, sizeof b);
	memcpy(b.cert.subject, keys[subject].pk, 32);
	b.cert.role = role;
	b.cert.depth = depth;
	b.cert.max_depth = max_depth;
	snprintf(b.cert.dns_scope, sizeof b.cert.dns_scope, "%s", scope);
	snprintf(b.cert.mesh_addr, sizeof b.cert.mesh_addr, "10.42.0.%d", subject + 1);
	b.cert.not_before = nb;
	b.cert.not_after = na;
	if (body_encode(KIND_CERT, &b, body, sizeof body, &blen) < 0)
		return NULL;
	snprintf(key, sizeof key, "subject%d", subject);
	record_init(r, KIND_CERT, keys[issuer].pk, key, 1, na);
	r->body = body;
	r->body_len = blen;
	if (record_sign(r, &keys[issuer], pool[npool], sizeof pool[npool]) < 0)
		return NULL;
	/* re-decode so r borrows from the pool, as a received record would */
	uint8_t *w = pool[npool];
	size_t wl = r->wire_len;
	if (record_decode(w, wl, r, NULL) < 0)
		return NULL;
	npool++;
	return r;
}

/* every cert a test asks for must be makeable */
#define mkcert(...) mkcert_checked(mkcert_(__VA_ARGS__), __LINE__)
static const struct record *mkcert_checked(const struct record *r, int line)
{
	if (!r || npool >= 64) {
		fprintf(stderr, "test_chain.c:%d: cannot make this certificate\n", line);
		exit(1);
	}
	return r;
}

static const uint8_t *revoked_key;
static bool is_revoked(void *ctx, const uint8_t pk[32])
{
	(void)ctx;
	return revoked_key && memcmp(pk, revoked_key, 32) == 0;
}

static int validate(int node, const struct record *const *c, size_t n, struct chain_result *res)
{
	struct chain_policy pol = { keys[ROOT].pk, NOW, is_revoked, NULL, false };
	return chain_validate(&pol, keys[node].pk, c, n, res);
}

#define FOREVER UINT64_MAX

static void test_valid(void)
{
	struct chain_result res;

	CHECK_INT(validate(ROOT, NULL, 0, &res), 0);
	CHECK_INT(res.role, ROLE_MASTER);
	CHECK_INT(res.depth, 0);

	const struct record *a[] = { mkcert(ROOT, PEER, ROLE_PEER, 1, 3, "", 0, FOREVER) };
	CHECK_INT(validate(PEER, a, 1, &res), 0);
	CHECK_INT(res.role, ROLE_PEER);
	CHECK_INT(res.depth, 1);
	CHECK_STR(res.mesh_addr, "10.42.0.4");

	/* root's own cert sets the mesh scope; sub-master; node below it */
	const struct record *b[] = {
		mkcert(ROOT, ROOT, ROLE_MASTER, 0, 3, "example.io", 0, FOREVER),
		mkcert(ROOT, SUB, ROLE_SUBMASTER, 1, 3, "node1.example.io", 0, LATER),
		mkcert(SUB, PEER, ROLE_PEER, 2, 3, "x.node1.example.io", 0, FOREVER),
	};
	CHECK_INT(validate(PEER, b, 3, &res), 0);
	CHECK_INT(res.depth, 2);
	CHECK_STR(res.dns_scope, "x.node1.example.io");
	CHECK(res.not_after == LATER);
	CHECK_INT(validate(SUB, b, 2, &res), 0);
	CHECK_INT(res.role, ROLE_SUBMASTER);
	CHECK_INT(validate(ROOT, b, 1, &res), 0);
	CHECK_STR(res.dns_scope, "example.io");

	/* two sub-master levels within max_depth 3 */
	const struct record *c[] = {
		mkcert(ROOT, SUB, ROLE_SUBMASTER, 1, 3, "node1.example.io", 0, FOREVER),
		mkcert(SUB, SUB2, ROLE_SUBMASTER, 2, 3, "lab.node1.example.io", 0, FOREVER),
		mkcert(SUB2, PEER, ROLE_PEER, 3, 3, "", 0, FOREVER),
	};
	CHECK_INT(validate(PEER, c, 3, NULL), 0);
	/* the same scope as the parent is inside it */
	const struct record *d[] = {
		mkcert(ROOT, SUB, ROLE_SUBMASTER, 1, 3, "node1.example.io", 0, FOREVER),
		mkcert(SUB, PEER, ROLE_PEER, 2, 3, "node1.example.io", 0, FOREVER),
	};
	CHECK_INT(validate(PEER, d, 2, NULL), 0);
}

static void test_invalid(void)
{
	const struct record *sub = mkcert(ROOT, SUB, ROLE_SUBMASTER, 1, 3, "node1.example.io", 0, FOREVER);
	const struct record *self = mkcert(ROOT, ROOT, ROLE_MASTER, 0, 2, "example.io", 0, FOREVER);
	struct {
		const char *what;
		int node;
		const struct record *c[4];
		size_t n;
		int expect;
	} cases[] = {
		{ "no chain", PEER, { NULL }, 0, CHAIN_ERR_EMPTY },
		{ "not from root", PEER, { mkcert(OTHER, PEER, ROLE_PEER, 1, 3, "", 0, FOREVER) }, 1, CHAIN_ERR_ROOT },
		{ "after self cert, not from root", PEER, { self, mkcert(OTHER, PEER, ROLE_PEER, 1, 2, "", 0, FOREVER) }, 2, CHAIN_ERR_ROOT },
		{ "broken link", PEER, { sub, mkcert(OTHER, PEER, ROLE_PEER, 2, 3, "", 0, FOREVER) }, 2, CHAIN_ERR_LINK },
		{ "expired", PEER, { mkcert(ROOT, PEER, ROLE_PEER, 1, 3, "", 0, NOW - 1) }, 1, CHAIN_ERR_EXPIRED },
		{ "not yet valid", PEER, { mkcert(ROOT, PEER, ROLE_PEER, 1, 3, "", NOW + 1, FOREVER) }, 1, CHAIN_ERR_NOT_YET },
		{ "parent expired", PEER, { mkcert(ROOT, SUB, ROLE_SUBMASTER, 1, 3, "", 0, NOW - 10),
			mkcert(SUB, PEER, ROLE_PEER, 2, 3, "", 0, FOREVER) }, 2, CHAIN_ERR_EXPIRED },
		{ "depth skips", PEER, { mkcert(ROOT, PEER, ROLE_PEER, 2, 3, "", 0, FOREVER) }, 1, CHAIN_ERR_DEPTH },
		{ "depth repeats", PEER, { sub, mkcert(SUB, PEER, ROLE_PEER, 1, 3, "", 0, FOREVER) }, 2, CHAIN_ERR_DEPTH },
		{ "max_depth above parent's", PEER, { sub, mkcert(SUB, PEER, ROLE_PEER, 2, 4, "", 0, FOREVER) }, 2, CHAIN_ERR_MAX_DEPTH },
		{ "max_depth above the mesh's", PEER, { self, mkcert(ROOT, PEER, ROLE_PEER, 1, 3, "", 0, FOREVER) }, 2, CHAIN_ERR_MAX_DEPTH },
		{ "peer issues", OTHER, { mkcert(ROOT, PEER, ROLE_PEER, 1, 3, "", 0, FOREVER),
			mkcert(PEER, OTHER, ROLE_PEER, 2, 3, "", 0, FOREVER) }, 2, CHAIN_ERR_ROLE },
		{ "sub-master at its max depth issues", PEER, { mkcert(ROOT, SUB, ROLE_SUBMASTER, 1, 1, "", 0, FOREVER),
			mkcert(SUB, PEER, ROLE_PEER, 2, 2, "", 0, FOREVER) }, 2, CHAIN_ERR_ROLE },
		{ "second master", SUB, { mkcert(ROOT, SUB, ROLE_MASTER, 0, 3, "", 0, FOREVER) }, 1, CHAIN_ERR_ROLE },
		{ "root self cert not master", PEER, { mkcert(ROOT, ROOT, ROLE_SUBMASTER, 0, 3, "", 0, FOREVER),
			mkcert(ROOT, PEER, ROLE_PEER, 1, 3, "", 0, FOREVER) }, 2, CHAIN_ERR_ROLE },
		{ "scope outside parent", PEER, { sub, mkcert(SUB, PEER, ROLE_PEER, 2, 3, "other.io", 0, FOREVER) }, 2, CHAIN_ERR_SCOPE },
		{ "scope suffix not at a label", PEER, { sub, mkcert(SUB, PEER, ROLE_PEER, 2, 3, "xnode1.example.io", 0, FOREVER) }, 2, CHAIN_ERR_SCOPE },
		{ "scope above parent", PEER, { sub, mkcert(SUB, PEER, ROLE_PEER, 2, 3, "example.io", 0, FOREVER) }, 2, CHAIN_ERR_SCOPE },
		{ "scope when parent has none", PEER, { mkcert(ROOT, SUB, ROLE_SUBMASTER, 1, 3, "", 0, FOREVER),
			mkcert(SUB, PEER, ROLE_PEER, 2, 3, "a.example.io", 0, FOREVER) }, 2, CHAIN_ERR_SCOPE },
		{ "scope outside the mesh's", PEER, { self, mkcert(ROOT, PEER, ROLE_PEER, 1, 2, "example.com", 0, FOREVER) }, 2, CHAIN_ERR_SCOPE },
		{ "wrong subject", OTHER, { mkcert(ROOT, PEER, ROLE_PEER, 1, 3, "", 0, FOREVER) }, 1, CHAIN_ERR_SUBJECT },
		{ "chain stops early", PEER, { sub }, 1, CHAIN_ERR_SUBJECT },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int got = validate(cases[i].node, cases[i].c, cases[i].n, NULL);
		if (got != cases[i].expect)
			fprintf(stderr, "chain case '%s': got %d (%s), expected %s\n", cases[i].what, got,
				crypto_strerror(got), crypto_strerror(cases[i].expect));
		CHECK_INT(got, cases[i].expect);
	}

	/* a corrupted signature byte */
	const struct record *good = mkcert(ROOT, PEER, ROLE_PEER, 1, 3, "", 0, FOREVER);
	struct record bad = *good;
	bad.sig[5] ^= 1;
	const struct record *badc[] = { &bad };
	CHECK_INT(validate(PEER, badc, 1, NULL), CHAIN_ERR_SIG);

	/* revocation of a link, of the node, of the root */
	const struct record *r[] = { sub, mkcert(SUB, PEER, ROLE_PEER, 2, 3, "", 0, FOREVER) };
	CHECK_INT(validate(PEER, r, 2, NULL), 0);
	revoked_key = keys[SUB].pk;
	CHECK_INT(validate(PEER, r, 2, NULL), CHAIN_ERR_REVOKED);
	revoked_key = keys[PEER].pk;
	CHECK_INT(validate(PEER, r, 2, NULL), CHAIN_ERR_REVOKED);
	revoked_key = keys[ROOT].pk;
	CHECK_INT(validate(PEER, r, 2, NULL), CHAIN_ERR_REVOKED);
	revoked_key = NULL;

	/* a record that is not a cert, a cert tombstone */
	struct record notcert = *good;
	notcert.kind = KIND_NODE;
	const struct record *nc[] = { &notcert };
	CHECK_INT(validate(PEER, nc, 1, NULL), CHAIN_ERR_KIND);
	static uint8_t tw[MN_MAX_RECORD];
	struct record tomb;
	record_init(&tomb, KIND_CERT, keys[ROOT].pk, "subject3", 2, FOREVER);
	CHECK_INT(record_sign(&tomb, &keys[ROOT], tw, sizeof tw), 0);
	const struct record *tc[] = { &tomb };
	CHECK_INT(validate(PEER, tc, 1, NULL), CHAIN_ERR_BODY);

	/* longer than any depth allows */
	const struct record *longc[MN_MAX_DEPTH + 2];
	for (int i = 0; i < MN_MAX_DEPTH + 2; i++)
		longc[i] = good;
	CHECK_INT(validate(PEER, longc, MN_MAX_DEPTH + 2, NULL), CHAIN_ERR_TOO_LONG);
}

static void test_scope(void)
{
	CHECK(dns_scope_contains("example.io", "example.io"));
	CHECK(dns_scope_contains("example.io", "a.example.io"));
	CHECK(dns_scope_contains("example.io", "b.a.example.io"));
	CHECK(!dns_scope_contains("example.io", "xexample.io"));
	CHECK(!dns_scope_contains("example.io", "io"));
	CHECK(!dns_scope_contains("", "example.io"));
	CHECK(!dns_scope_contains("", ""));
}

int main(void)
{
	if (crypto_init() < 0)
		return 1;
	for (int i = 0; i < NKEYS; i++) {
		uint8_t seed[32] = { 0 };
		seed[0] = (uint8_t)(i + 1);
		node_key_from_seed(&keys[i], seed);
	}
	test_valid();
	test_invalid();
	test_scope();
	for (int i = 0; i < NKEYS; i++)
		node_key_wipe(&keys[i]);
	return check_exit();
}
