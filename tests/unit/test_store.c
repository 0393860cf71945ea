/* The record store: put semantics (insert, replace, older, same, the id
 * tie-break, order independence), tombstones, expiry, filters, digests,
 * batching, malformed input, and opening: reopen, foreign databases,
 * garbage, truncation, a newer schema — and that a failed open leaves the
 * file as it was. Records are built with proto/ only; ids are a cheap
 * deterministic function of the bytes (the store does not care). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include "tests/check.h"
#include "crypto/crypto.h"
#include "src/store.h"
#include "proto/record.h"

static uint8_t origin_a[32], origin_b[32];

/* Record ids as the engine makes them do not matter to the store: any
 * distinct 32 bytes will do. */
static void test_id(const uint8_t *p, size_t n, uint8_t id[32])
{
	crypto_blake2b(p, n, id);
}

struct rec {
	uint8_t wire[MN_MAX_RECORD];
	size_t len;
	uint8_t id[32];
};

/* An svc record (port selects the content) or, with port < 0, a tombstone. */
static void mk(struct rec *out, unsigned kind, const uint8_t *origin, const char *key,
	       uint64_t version, uint64_t expires, int port)
{
	union body b;
	uint8_t body[MN_MAX_BODY];
	size_t blen = 0;
	struct record r;

	memset(&b, 0, sizeof b);
	if (kind == KIND_SVC) {
		strcpy(b.svc.service, "mail");
		b.svc.port = (uint16_t)port;
	} else if (kind == KIND_REVOKE) {
		memset(b.revoke.subject, 0x5a, 32);
		snprintf(b.revoke.reason, sizeof b.revoke.reason, "reason %d", port);
		b.revoke.time = 1700000000;
	}
	CHECK_INT(record_init(&r, kind, origin, key, version, expires), 0);
	if (port >= 0) {
		CHECK_INT(body_encode(kind, &b, body, sizeof body, &blen), 0);
		r.body = body;
		r.body_len = blen;
	} else {
		r.body = body;  /* a tombstone: empty body (non-NULL pointer) */
		r.body_len = 0;
	}
	CHECK_INT(record_encode(&r, out->wire, sizeof out->wire), 0);
	out->len = r.wire_len;
	test_id(out->wire, out->len, out->id);
}

static struct store *open_mem(void)
{
	struct store *s = NULL;
	char err[256];

	CHECK_INT(store_open(":memory:", &s, err, sizeof err), 0);
	return s;
}

static int put(struct store *s, const struct rec *r)
{
	return store_put(s, r->wire, r->len, r->id);
}

static bool holds(struct store *s, const struct rec *r, unsigned kind, const uint8_t *origin,
		  const char *key)
{
	uint8_t buf[MN_MAX_RECORD];
	int n = store_get(s, kind, origin, key, buf, sizeof buf);
	return n == (int)r->len && memcmp(buf, r->wire, r->len) == 0;
}

static void digest_of(struct store *s, uint8_t d[32])
{
	CHECK(store_digest(s, d, NULL) >= 0);
}

static void test_put_semantics(void)
{
	struct store *s = open_mem();
	struct rec v1, v2, v2b, v3;

	mk(&v1, KIND_SVC, origin_a, "mail", 1, 2000000000, 25);
	mk(&v2, KIND_SVC, origin_a, "mail", 2, 2000000000, 26);
	mk(&v2b, KIND_SVC, origin_a, "mail", 2, 2000000000, 27);
	mk(&v3, KIND_SVC, origin_a, "mail", 3, 2000000000, 28);

	CHECK_INT(put(s, &v1), STORE_INSERTED);
	CHECK_INT(put(s, &v1), STORE_SAME);
	CHECK_INT(put(s, &v3), STORE_REPLACED);
	CHECK_INT(put(s, &v2), STORE_OLDER);
	CHECK_INT(put(s, &v1), STORE_OLDER);
	CHECK_INT(put(s, &v3), STORE_SAME);
	CHECK(holds(s, &v3, KIND_SVC, origin_a, "mail"));
	CHECK_INT(store_count(s), 1);

	/* other keys, origins and kinds are other rows */
	struct rec k2, o2, kd;
	mk(&k2, KIND_SVC, origin_a, "mail2", 1, 2000000000, 25);
	mk(&o2, KIND_SVC, origin_b, "mail", 1, 2000000000, 25);
	mk(&kd, KIND_REVOKE, origin_a, "mail", 1, 2000000000, 1);
	CHECK_INT(put(s, &k2), STORE_INSERTED);
	CHECK_INT(put(s, &o2), STORE_INSERTED);
	CHECK_INT(put(s, &kd), STORE_INSERTED);
	CHECK_INT(store_count(s), 4);
	CHECK(holds(s, &v3, KIND_SVC, origin_a, "mail"));
	store_close(s);

	/* the whole uint64 range orders as unsigned */
	s = open_mem();
	struct rec lo, hi, top;
	mk(&lo, KIND_SVC, origin_a, "big", (UINT64_C(1) << 63) - 1, 2000000000, 1);
	mk(&hi, KIND_SVC, origin_a, "big", UINT64_C(1) << 63, 2000000000, 2);
	mk(&top, KIND_SVC, origin_a, "big", UINT64_MAX, 2000000000, 3);
	CHECK_INT(put(s, &hi), STORE_INSERTED);
	CHECK_INT(put(s, &lo), STORE_OLDER);
	CHECK_INT(put(s, &top), STORE_REPLACED);
	CHECK_INT(put(s, &hi), STORE_OLDER);
	CHECK(holds(s, &top, KIND_SVC, origin_a, "big"));
	store_close(s);
}

/* Equal versions: the greater id wins, whichever arrives first, and both
 * arrival orders end in the same store. */
static void test_tie_break(void)
{
	for (int flip = 0; flip < 2; flip++) {
		struct rec a, b;
		mk(&a, KIND_SVC, origin_a, "tie", 7, 2000000000, 25);
		mk(&b, KIND_SVC, origin_a, "tie", 7, 2000000000, 26);
		/* force the order of the ids both ways */
		memset(a.id, flip ? 0xf0 : 0x10, 32);
		memset(b.id, flip ? 0x10 : 0xf0, 32);
		const struct rec *win = flip ? &a : &b, *lose = flip ? &b : &a;

		struct store *s1 = open_mem(), *s2 = open_mem();
		CHECK_INT(put(s1, lose), STORE_INSERTED);
		CHECK_INT(put(s1, win), STORE_REPLACED);
		CHECK_INT(put(s1, lose), STORE_OLDER);
		CHECK_INT(put(s2, win), STORE_INSERTED);
		CHECK_INT(put(s2, lose), STORE_OLDER);
		CHECK(holds(s1, win, KIND_SVC, origin_a, "tie"));
		CHECK(holds(s2, win, KIND_SVC, origin_a, "tie"));

		uint8_t d1[32], d2[32];
		digest_of(s1, d1);
		digest_of(s2, d2);
		CHECK_MEM(d1, d2, 32);
		CHECK_MEM(d1, win->id, 32);
		store_close(s1);
		store_close(s2);
	}
}

struct visit {
	int n;
	int stop_at;
	size_t lens[16];
	uint8_t kinds[16];
	char keys[16][MN_MAX_RKEY + 1];
	struct store *s;
	int nested;
};

static int visit_cb(void *ctx, const uint8_t *wire, size_t len)
{
	struct visit *v = ctx;
	struct record r;

	CHECK_INT(record_decode(wire, len, &r, NULL), 0);
	if (v->n < 16) {
		v->lens[v->n] = len;
		v->kinds[v->n] = r.kind;
		snprintf(v->keys[v->n], sizeof v->keys[0], "%s", r.key);
	}
	if (v->s) {
		/* reads are allowed inside a walk, writes and walks are not */
		uint8_t buf[MN_MAX_RECORD], d[32];
		CHECK(store_get(v->s, r.kind, r.origin, r.key, buf, sizeof buf) == (int)len);
		CHECK(store_count(v->s) > 0);
		CHECK(store_digest(v->s, d, NULL) > 0);
		v->nested = store_each(v->s, 0, NULL, true, visit_cb, v);
		CHECK_INT(store_put(v->s, wire, len, d), -EBUSY);
		CHECK_INT(store_expire(v->s, UINT64_MAX), -EBUSY);
		CHECK_INT(store_begin(v->s), -EBUSY);
	}
	v->n++;
	return v->stop_at && v->n == v->stop_at ? 42 : 0;
}

static void test_tombstone(void)
{
	struct store *s = open_mem();
	struct rec live, dead, again;
	struct visit v;

	mk(&live, KIND_SVC, origin_a, "mail", 1, 2000000000, 25);
	mk(&dead, KIND_SVC, origin_a, "mail", 2, 2000000000, -1);
	mk(&again, KIND_SVC, origin_a, "mail", 1, 2000000000, 25);
	CHECK_INT(put(s, &live), STORE_INSERTED);
	CHECK_INT(put(s, &dead), STORE_REPLACED);
	CHECK(holds(s, &dead, KIND_SVC, origin_a, "mail"));
	CHECK(dead.len < live.len);
	/* the tombstone remembers the version: the old record cannot return */
	CHECK_INT(put(s, &again), STORE_OLDER);
	CHECK_INT(store_count(s), 1);

	memset(&v, 0, sizeof v);
	CHECK_INT(store_each(s, 0, NULL, false, visit_cb, &v), 0);
	CHECK_INT(v.n, 0);
	memset(&v, 0, sizeof v);
	CHECK_INT(store_each(s, 0, NULL, true, visit_cb, &v), 0);
	CHECK_INT(v.n, 1);
	CHECK_INT(v.lens[0], dead.len);

	/* the digest includes tombstones */
	uint8_t d[32];
	CHECK_INT(store_digest(s, d, NULL), 1);
	CHECK_MEM(d, dead.id, 32);
	store_close(s);
}

/* A tombstone is kept as long as the record it deleted: signed to expire
 * at 150, replacing a record that lives until 1000, it is still there at
 * 500, so the deleted record, put again, stays deleted; a later record
 * replacing the tombstone keeps its own expiry. */
static void test_tombstone_outlives(void)
{
	struct store *s = open_mem();
	struct rec live, dead, newer;

	mk(&live, KIND_SVC, origin_a, "mail", 1, 1000, 25);
	mk(&dead, KIND_SVC, origin_a, "mail", 2, 150, -1);
	mk(&newer, KIND_SVC, origin_a, "mail", 3, 300, 26);
	CHECK_INT(put(s, &live), STORE_INSERTED);
	CHECK_INT(put(s, &dead), STORE_REPLACED);
	CHECK_INT(store_expire(s, 500), 0);
	CHECK_INT(put(s, &live), STORE_OLDER);
	CHECK(holds(s, &dead, KIND_SVC, origin_a, "mail"));
	CHECK_INT(store_expire(s, 1001), 1);
	CHECK_INT(put(s, &dead), STORE_INSERTED);
	CHECK_INT(put(s, &newer), STORE_REPLACED);
	CHECK_INT(store_expire(s, 301), 1);
	store_close(s);
}

static void test_expire(void)
{
	struct store *s = open_mem();
	struct rec a, b, c, t;

	mk(&a, KIND_SVC, origin_a, "a", 1, 100, 25);
	mk(&b, KIND_SVC, origin_a, "b", 1, 200, 25);
	mk(&c, KIND_SVC, origin_a, "c", 1, UINT64_MAX, 25);
	mk(&t, KIND_SVC, origin_a, "t", 1, 150, -1);
	CHECK_INT(put(s, &a), STORE_INSERTED);
	CHECK_INT(put(s, &b), STORE_INSERTED);
	CHECK_INT(put(s, &c), STORE_INSERTED);
	CHECK_INT(put(s, &t), STORE_INSERTED);
	CHECK_INT(store_expire(s, 100), 0);     /* strictly before now */
	CHECK_INT(store_expire(s, 151), 2);     /* a and the tombstone */
	CHECK_INT(store_expire(s, 151), 0);
	CHECK_INT(store_get(s, KIND_SVC, origin_a, "a", (uint8_t[MN_MAX_RECORD]){0}, MN_MAX_RECORD),
		  -ENOENT);
	CHECK_INT(store_expire(s, 200), 0);
	CHECK_INT(store_expire(s, 201), 1);
	CHECK_INT(store_expire(s, UINT64_MAX), 0);  /* never: expires UINT64_MAX */
	CHECK_INT(store_count(s), 1);
	CHECK(holds(s, &c, KIND_SVC, origin_a, "c"));
	store_close(s);
}

static void test_filters(void)
{
	struct store *s = open_mem();
	struct rec r[6];
	struct visit v;

	/* inserted out of order on purpose */
	mk(&r[0], KIND_SVC, origin_b, "b", 1, 2000000000, 1);
	mk(&r[1], KIND_REVOKE, origin_a, "z", 1, 2000000000, 1);
	mk(&r[2], KIND_SVC, origin_a, "b", 1, 2000000000, 2);
	mk(&r[3], KIND_SVC, origin_a, "a", 1, 2000000000, 3);
	mk(&r[4], KIND_REVOKE, origin_b, "y", 1, 2000000000, -1);
	mk(&r[5], KIND_SVC, origin_b, "a", 1, 2000000000, 4);
	for (int i = 0; i < 6; i++)
		CHECK_INT(put(s, &r[i]), STORE_INSERTED);

	/* kind (revoke 3 < svc 7), origin (a < b), key */
	memset(&v, 0, sizeof v);
	CHECK_INT(store_each(s, 0, NULL, true, visit_cb, &v), 0);
	CHECK_INT(v.n, 6);
	const char *order[] = { "z", "y", "a", "b", "a", "b" };
	const uint8_t kinds[] = { KIND_REVOKE, KIND_REVOKE, KIND_SVC, KIND_SVC, KIND_SVC, KIND_SVC };
	for (int i = 0; i < 6; i++) {
		CHECK_STR(v.keys[i], order[i]);
		CHECK_INT(v.kinds[i], kinds[i]);
	}
	CHECK_INT(v.lens[0], r[1].len);
	CHECK_INT(v.lens[1], r[4].len);
	CHECK_INT(v.lens[2], r[3].len);
	CHECK_INT(v.lens[5], r[0].len);

	memset(&v, 0, sizeof v);
	CHECK_INT(store_each(s, KIND_SVC, NULL, true, visit_cb, &v), 0);
	CHECK_INT(v.n, 4);
	memset(&v, 0, sizeof v);
	CHECK_INT(store_each(s, KIND_REVOKE, NULL, false, visit_cb, &v), 0);
	CHECK_INT(v.n, 1);
	memset(&v, 0, sizeof v);
	CHECK_INT(store_each(s, 0, origin_b, true, visit_cb, &v), 0);
	CHECK_INT(v.n, 3);
	memset(&v, 0, sizeof v);
	CHECK_INT(store_each(s, KIND_SVC, origin_b, true, visit_cb, &v), 0);
	CHECK_INT(v.n, 2);
	CHECK_STR(v.keys[0], "a");
	memset(&v, 0, sizeof v);
	CHECK_INT(store_each(s, KIND_NODE, NULL, true, visit_cb, &v), 0);
	CHECK_INT(v.n, 0);

	/* a non-zero return stops the walk and is returned */
	memset(&v, 0, sizeof v);
	v.stop_at = 2;
	CHECK_INT(store_each(s, 0, NULL, true, visit_cb, &v), 42);
	CHECK_INT(v.n, 2);

	/* reentrancy rules, and the store still works after them */
	memset(&v, 0, sizeof v);
	v.s = s;
	v.stop_at = 1;
	CHECK_INT(store_each(s, 0, NULL, true, visit_cb, &v), 42);
	CHECK_INT(v.nested, -EBUSY);
	memset(&v, 0, sizeof v);
	CHECK_INT(store_each(s, 0, NULL, true, visit_cb, &v), 0);
	CHECK_INT(v.n, 6);

	CHECK_INT(store_each(s, 256, NULL, true, visit_cb, &v), -EINVAL);
	CHECK_INT(store_each(s, 0, NULL, true, NULL, &v), -EINVAL);
	store_close(s);
}

static void test_get(void)
{
	struct store *s = open_mem();
	struct rec a;
	uint8_t buf[MN_MAX_RECORD];
	char longkey[MN_MAX_RKEY + 2];

	mk(&a, KIND_SVC, origin_a, "mail", 1, 2000000000, 25);
	CHECK_INT(store_get(s, KIND_SVC, origin_a, "mail", buf, sizeof buf), -ENOENT);
	CHECK(store_last_error(s)[0] != 0);
	CHECK_INT(put(s, &a), STORE_INSERTED);
	CHECK_INT(store_get(s, KIND_SVC, origin_a, "mail", buf, sizeof buf), a.len);
	CHECK_MEM(buf, a.wire, a.len);
	CHECK_INT(store_get(s, KIND_SVC, origin_b, "mail", buf, sizeof buf), -ENOENT);
	CHECK_INT(store_get(s, KIND_REVOKE, origin_a, "mail", buf, sizeof buf), -ENOENT);
	CHECK_INT(store_get(s, KIND_SVC, origin_a, "mai", buf, sizeof buf), -ENOENT);
	CHECK_INT(store_get(s, KIND_SVC, origin_a, "mail", buf, a.len - 1), -ENOSPC);
	CHECK_INT(store_get(s, KIND_SVC, origin_a, "mail", buf, a.len), a.len);
	CHECK_INT(store_get(s, 0, origin_a, "mail", buf, sizeof buf), -EINVAL);
	CHECK_INT(store_get(s, KIND_SVC, origin_a, "", buf, sizeof buf), -EINVAL);
	memset(longkey, 'k', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = 0;
	CHECK_INT(store_get(s, KIND_SVC, origin_a, longkey, buf, sizeof buf), -EINVAL);
	CHECK_INT(store_get(s, KIND_SVC, NULL, "mail", buf, sizeof buf), -EINVAL);
	store_close(s);
}

struct refs_seen {
	struct store *s;
	uint8_t id[4][32];
	int64_t ref[4];
	int n;
};

static int ref_of_visit(void *ctx, const uint8_t *wire, size_t len)
{
	struct refs_seen *v = ctx;

	if (v->n < 4) {
		test_id(wire, len, v->id[v->n]);
		v->ref[v->n++] = store_ref(v->s);
	}
	return 0;
}

static int64_t ref_seen(const struct refs_seen *v, const uint8_t id[32])
{
	for (int i = 0; i < v->n; i++)
		if (!memcmp(v->id[i], id, 32))
			return v->ref[i];
	return -1;
}

/* A row's handle: set by a put, kept by a newer version, given by a walk;
 * a load by handle and id, refused once the id is not the row's. */
static void test_load_by_ref(void)
{
	struct store *s = open_mem();
	struct rec a, a2, b;
	uint8_t buf[MN_MAX_RECORD];

	mk(&a, KIND_SVC, origin_a, "mail", 1, 2000000000, 25);
	mk(&a2, KIND_SVC, origin_a, "mail", 2, 2000000000, 26);
	mk(&b, KIND_SVC, origin_b, "mail", 1, 2000000000, 27);
	CHECK_INT(put(s, &a), STORE_INSERTED);
	int64_t ra = store_ref(s);
	CHECK_INT(put(s, &b), STORE_INSERTED);
	int64_t rb = store_ref(s);
	CHECK(ra > 0 && rb > 0 && ra != rb);
	CHECK_INT(store_load(s, ra, a.id, buf, sizeof buf), a.len);
	CHECK_MEM(buf, a.wire, a.len);
	CHECK_INT(store_load(s, rb, b.id, buf, sizeof buf), b.len);
	CHECK_MEM(buf, b.wire, b.len);
	CHECK_INT(store_load(s, rb, a.id, buf, sizeof buf), -ENOENT);    /* not that row's */
	CHECK_INT(store_load(s, ra, a.id, buf, a.len - 1), -ENOSPC);
	CHECK_INT(put(s, &a2), STORE_REPLACED);
	CHECK(store_ref(s) == ra);                                       /* the row keeps it */
	CHECK_INT(store_load(s, ra, a.id, buf, sizeof buf), -ENOENT);    /* replaced */
	CHECK_INT(store_load(s, ra, a2.id, buf, sizeof buf), a2.len);
	CHECK_MEM(buf, a2.wire, a2.len);
	CHECK_INT(put(s, &a), STORE_OLDER);
	CHECK(store_ref(s) == ra);
	struct refs_seen v = { .s = s };
	CHECK_INT(store_each(s, 0, NULL, true, ref_of_visit, &v), 0);
	CHECK_INT(v.n, 2);
	CHECK(ref_seen(&v, a2.id) == ra);
	CHECK(ref_seen(&v, b.id) == rb);
	CHECK_INT(store_load(NULL, ra, a2.id, buf, sizeof buf), -EINVAL);
	store_close(s);
}

static void test_digest(void)
{
	enum { N = 40 };
	static struct rec r[N];
	struct store *s1 = open_mem(), *s2 = open_mem();
	uint8_t d1[32], d2[32], zero[32] = { 0 }, buckets[256][32], x[32] = { 0 };

	CHECK_INT(store_digest(s1, d1, buckets), 0);
	CHECK_MEM(d1, zero, 32);
	for (int i = 0; i < N; i++) {
		char key[16];
		snprintf(key, sizeof key, "k%d", i % 30);   /* some keys twice: replaced */
		mk(&r[i], i % 3 ? KIND_SVC : KIND_REVOKE, i % 2 ? origin_a : origin_b, key,
		   (uint64_t)(i / 30 + 1), 2000000000, i % 7 == 0 ? -1 : i);
	}
	for (int i = 0; i < N; i++)
		CHECK(put(s1, &r[i]) > 0);
	for (int i = N - 1; i >= 0; i--)
		CHECK(put(s2, &r[i]) > 0);
	int64_t n1 = store_digest(s1, d1, buckets);
	CHECK(n1 > 0);
	CHECK_INT(n1, store_count(s1));
	CHECK_INT(store_digest(s2, d2, NULL), n1);
	CHECK_MEM(d1, d2, 32);
	CHECK(memcmp(d1, zero, 32) != 0);

	/* buckets XOR to the total, and each holds only its first byte */
	int nonempty = 0;
	for (int b = 0; b < 256; b++) {
		for (int i = 0; i < 32; i++)
			x[i] ^= buckets[b][i];
		if (memcmp(buckets[b], zero, 32) != 0) {
			nonempty++;
			CHECK(buckets[b][0] == b || buckets[b][0] == 0);
		}
	}
	CHECK_MEM(x, d1, 32);
	CHECK(nonempty > 1);

	/* any change of content changes the digest */
	struct rec more;
	mk(&more, KIND_SVC, origin_a, "k1", 99, 2000000000, 5);
	CHECK_INT(put(s2, &more), STORE_REPLACED);
	CHECK_INT(store_digest(s2, d2, NULL), n1);
	CHECK(memcmp(d1, d2, 32) != 0);
	store_close(s1);
	store_close(s2);
}

static void test_malformed(void)
{
	struct store *s = open_mem();
	struct rec a, b;
	uint8_t d0[32], d1[32], junk[MN_MAX_RECORD + 1], id[32] = { 1 };

	mk(&a, KIND_SVC, origin_a, "mail", 1, 2000000000, 25);
	CHECK_INT(put(s, &a), STORE_INSERTED);
	digest_of(s, d0);

	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)(i * 131 + 7);
	CHECK_INT(store_put(s, junk, 100, id), -EINVAL);
	CHECK(store_last_error(s)[0] != 0);
	CHECK_INT(store_put(s, junk, sizeof junk, id), -EINVAL);
	CHECK_INT(store_put(s, junk, 0, id), -EINVAL);
	CHECK_INT(store_put(s, NULL, 10, id), -EINVAL);
	CHECK_INT(store_put(s, a.wire, a.len, NULL), -EINVAL);

	/* a valid record with a trailing byte, or cut short */
	mk(&b, KIND_SVC, origin_a, "mail", 5, 2000000000, 26);
	b.wire[b.len] = 0;
	CHECK_INT(store_put(s, b.wire, b.len + 1, b.id), -EINVAL);
	CHECK_INT(store_put(s, b.wire, b.len - 1, b.id), -EINVAL);
	/* oversize even though the prefix is a record */
	memcpy(junk, b.wire, b.len);
	CHECK_INT(store_put(s, junk, sizeof junk, b.id), -EINVAL);

	digest_of(s, d1);
	CHECK_MEM(d0, d1, 32);
	CHECK_INT(store_count(s), 1);
	CHECK(holds(s, &a, KIND_SVC, origin_a, "mail"));
	CHECK_INT(store_put(NULL, a.wire, a.len, a.id), -EINVAL);
	store_close(s);
}

static void test_transactions(void)
{
	struct store *s = open_mem();
	struct rec r[3];

	for (int i = 0; i < 3; i++) {
		char key[8];
		snprintf(key, sizeof key, "t%d", i);
		mk(&r[i], KIND_SVC, origin_a, key, 1, 2000000000, i);
	}
	CHECK_INT(store_commit(s), -EINVAL);
	CHECK_INT(store_rollback(s), -EINVAL);
	CHECK_INT(store_begin(s), 0);
	CHECK_INT(store_begin(s), -EINVAL);
	CHECK_INT(put(s, &r[0]), STORE_INSERTED);
	CHECK_INT(put(s, &r[1]), STORE_INSERTED);
	CHECK_INT(put(s, &r[1]), STORE_SAME);
	CHECK_INT(store_count(s), 2);
	CHECK_INT(store_rollback(s), 0);
	CHECK_INT(store_count(s), 0);

	CHECK_INT(store_begin(s), 0);
	for (int i = 0; i < 3; i++)
		CHECK_INT(put(s, &r[i]), STORE_INSERTED);
	CHECK_INT(store_commit(s), 0);
	CHECK_INT(store_count(s), 3);
	CHECK_INT(put(s, &r[2]), STORE_SAME);
	/* a transaction left open is rolled back at close (no leak, no crash) */
	CHECK_INT(store_begin(s), 0);
	store_close(s);
	store_close(NULL);
}

/* ---- files ---- */

static char dir[64];

static void path_in(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static size_t slurp(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, cap, f);
		fclose(f);
	}
	return n;
}

static void spit(const char *path, const uint8_t *buf, size_t n)
{
	FILE *f = fopen(path, "wb");

	CHECK(f != NULL);
	if (f) {
		CHECK_INT(fwrite(buf, 1, n, f), n);
		fclose(f);
	}
}

static void sql(const char *path, const char *text)
{
	sqlite3 *db = NULL;

	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, text, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static int64_t sql_int(const char *path, const char *text)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(db, text, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void sql_text(const char *path, const char *text, char *out, size_t cap)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	out[0] = 0;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_prepare_v2(db, text, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A failed open returns the error, a message, no store, and leaves the
 * file byte for byte as it was (and no -wal/-journal behind). */
static int count_state(void *ctx, const char *key, const uint8_t *val, size_t len)
{
	(void)key;
	(void)val;
	(void)len;
	(*(int *)ctx)++;
	return 0;
}

static void open_fails(const char *path, int expect, const char *needle)
{
	static uint8_t before[1 << 20], after[1 << 20];
	struct store *s = (struct store *)1;
	char err[256] = "x", side[160];
	struct stat st;

	size_t n0 = slurp(path, before, sizeof before);
	CHECK_INT(store_open(path, &s, err, sizeof err), expect);
	CHECK(s == NULL);
	CHECK(err[0] != 0);
	if (needle && !strstr(err, needle))
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", err, needle);
	CHECK(!needle || strstr(err, needle) != NULL);
	CHECK(strstr(err, path) != NULL);
	size_t n1 = slurp(path, after, sizeof after);
	CHECK_INT(n1, n0);
	CHECK(memcmp(before, after, n0) == 0);
	snprintf(side, sizeof side, "%s-wal", path);
	CHECK(stat(side, &st) != 0);
	snprintf(side, sizeof side, "%s-journal", path);
	CHECK(stat(side, &st) != 0);
}

static void test_reopen(void)
{
	enum { N = 50 };
	static struct rec r[N];
	char path[128], err[256];
	struct store *s = NULL;
	uint8_t d0[32], d1[32];

	path_in(path, sizeof path, "store.db");
	CHECK_INT(store_open(path, &s, err, sizeof err), 0);
	CHECK_STR(store_last_error(s), "");
	CHECK_INT(store_begin(s), 0);
	for (int i = 0; i < N; i++) {
		char key[16];
		snprintf(key, sizeof key, "r%d", i);
		mk(&r[i], i % 2 ? KIND_SVC : KIND_REVOKE, i % 3 ? origin_a : origin_b, key,
		   (uint64_t)i, 2000000000, i % 5 ? i : -1);
		CHECK_INT(put(s, &r[i]), STORE_INSERTED);
	}
	CHECK_INT(store_commit(s), 0);
	digest_of(s, d0);
	store_close(s);

	CHECK_INT(sql_int(path, "PRAGMA application_id"), 0x4d4e4554);
	CHECK_INT(sql_int(path, "PRAGMA user_version"), 2);
	char mode[16];
	sql_text(path, "PRAGMA journal_mode", mode, sizeof mode);
	CHECK_STR(mode, "wal");

	s = NULL;
	CHECK_INT(store_open(path, &s, err, sizeof err), 0);
	CHECK_INT(store_count(s), N);
	digest_of(s, d1);
	CHECK_MEM(d0, d1, 32);
	for (int i = 0; i < N; i++) {
		char key[16];
		snprintf(key, sizeof key, "r%d", i);
		CHECK(holds(s, &r[i], i % 2 ? KIND_SVC : KIND_REVOKE, i % 3 ? origin_a : origin_b, key));
		CHECK_INT(put(s, &r[i]), STORE_SAME);
	}
	/* two connections on one file */
	struct store *s2 = NULL;
	CHECK_INT(store_open(path, &s2, err, sizeof err), 0);
	struct rec extra;
	mk(&extra, KIND_SVC, origin_a, "extra", 1, 2000000000, 9);
	CHECK_INT(put(s2, &extra), STORE_INSERTED);
	CHECK_INT(put(s, &extra), STORE_SAME);
	CHECK_INT(store_count(s), N + 1);
	store_close(s2);
	store_close(s);

	/* a 0-byte file is a new store */
	char empty[128];
	path_in(empty, sizeof empty, "empty.db");
	spit(empty, (const uint8_t *)"", 0);
	s = NULL;
	CHECK_INT(store_open(empty, &s, err, sizeof err), 0);
	CHECK_INT(store_count(s), 0);
	store_close(s);
}

/* A VFS that counts the syncs of the files it opens: the default one
 * with its files' xSync wrapped (the file objects are the default VFS's
 * own; only their method tables are copies). */
static sqlite3_vfs *real_vfs, count_vfs;
static struct {
	const sqlite3_io_methods *orig;
	sqlite3_io_methods copy;
} io_tab[4];
static int n_io, n_syncs;
static bool writes_fail;   /* every write fails as on a full disk */

static int count_sync(sqlite3_file *f, int flags)
{
	for (int i = 0; i < n_io; i++)
		if (f->pMethods == &io_tab[i].copy) {
			n_syncs++;
			return io_tab[i].orig->xSync(f, flags);
		}
	return SQLITE_IOERR_FSYNC;
}

static int count_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
	for (int i = 0; i < n_io; i++)
		if (f->pMethods == &io_tab[i].copy)
			return writes_fail ? SQLITE_FULL : io_tab[i].orig->xWrite(f, p, n, off);
	return SQLITE_IOERR_WRITE;
}

static int count_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *f, int flags,
		      int *out)
{
	int rc = real_vfs->xOpen(real_vfs, name, f, flags, out), i;

	(void)v;
	if (rc != SQLITE_OK || !f->pMethods)
		return rc;
	for (i = 0; i < n_io && io_tab[i].orig != f->pMethods; i++)
		;
	if (i == n_io) {
		CHECK(n_io < 4);
		if (n_io == 4)
			return rc;
		io_tab[i].orig = f->pMethods;
		io_tab[i].copy = *f->pMethods;
		io_tab[i].copy.xSync = count_sync;
		io_tab[i].copy.xWrite = count_write;
		n_io++;
	}
	f->pMethods = &io_tab[i].copy;
	return rc;
}

/* A relaxed transaction's commit does not sync; a durable one, a write
 * outside any transaction after a relaxed one (the mode is back) and
 * store_sync() do; what a relaxed commit wrote is there after a reopen. */
static void test_relaxed(void)
{
	enum { N = 8 };
	static struct rec r[N];
	char path[128], err[256];
	struct store *s = NULL;

	real_vfs = sqlite3_vfs_find(NULL);
	count_vfs = *real_vfs;
	count_vfs.zName = "mn-count";
	count_vfs.xOpen = count_open;
	CHECK_INT(sqlite3_vfs_register(&count_vfs, 1), SQLITE_OK);
	for (int i = 0; i < N; i++) {
		char key[16];
		snprintf(key, sizeof key, "x%d", i);
		mk(&r[i], KIND_SVC, origin_a, key, 1, 2000000000, i);
	}
	path_in(path, sizeof path, "relaxed.db");
	CHECK_INT(store_open(path, &s, err, sizeof err), 0);
	CHECK(n_io > 0);   /* the store's files went through the counting VFS */
	CHECK_INT(put(s, &r[0]), STORE_INSERTED);    /* the WAL exists now */

	int n0 = n_syncs;
	CHECK_INT(store_begin_relaxed(s), 0);
	CHECK_INT(store_begin_relaxed(s), -EINVAL);
	CHECK_INT(store_sync(s), -EINVAL);
	CHECK_INT(put(s, &r[1]), STORE_INSERTED);
	CHECK_INT(put(s, &r[2]), STORE_INSERTED);
	CHECK_INT(store_commit(s), 0);
	CHECK_INT(n_syncs - n0, 0);
	/* relaxed, rolled back: nothing written, nothing synced */
	CHECK_INT(store_begin_relaxed(s), 0);
	CHECK_INT(put(s, &r[7]), STORE_INSERTED);
	CHECK_INT(store_rollback(s), 0);
	CHECK_INT(n_syncs - n0, 0);

	n0 = n_syncs;   /* a write of its own after it is durable again */
	CHECK_INT(put(s, &r[3]), STORE_INSERTED);
	CHECK(n_syncs > n0);

	n0 = n_syncs;   /* so is a transaction begun the usual way */
	CHECK_INT(store_begin(s), 0);
	CHECK_INT(put(s, &r[4]), STORE_INSERTED);
	CHECK_INT(store_commit(s), 0);
	CHECK(n_syncs > n0);

	CHECK_INT(store_begin_relaxed(s), 0);
	CHECK_INT(put(s, &r[5]), STORE_INSERTED);
	CHECK_INT(store_commit(s), 0);
	n0 = n_syncs;   /* store_sync() makes it durable */
	CHECK_INT(store_sync(s), 0);
	CHECK(n_syncs > n0);
	CHECK_INT(store_count(s), 6);

	/* a durable commit that writes nothing (the record is there) still
	 * syncs what a relaxed one before it wrote */
	CHECK_INT(store_begin_relaxed(s), 0);
	CHECK_INT(put(s, &r[6]), STORE_INSERTED);
	CHECK_INT(store_commit(s), 0);
	n0 = n_syncs;
	CHECK_INT(store_begin(s), 0);
	CHECK_INT(put(s, &r[6]), STORE_SAME);
	CHECK_INT(store_commit(s), 0);
	CHECK(n_syncs > n0);

	/* a relaxed transaction that a full disk ends (sqlite rolls it back
	 * itself, or the caller does): the writes after it are durable */
	static struct rec big;
	CHECK_INT(store_begin_relaxed(s), 0);
	writes_fail = true;
	int failed = 0;
	for (int i = 0; i < 20000 && !failed; i++) {
		char key[16];
		snprintf(key, sizeof key, "big%d", i);
		mk(&big, KIND_SVC, origin_b, key, 1, 2000000000, i);
		/* more than the page cache (256 KiB) holds: sqlite writes
		 * pages out before the commit, and that fails */
		if (put(s, &big) < 0)
			failed = 1;
	}
	CHECK_INT(failed, 1);
	/* sqlite rolled it back itself (3.40: an I/O error while writing
	 * pages out ends the transaction): nothing left to roll back */
	CHECK(!store_in_transaction(s));
	CHECK_INT(store_rollback(s), -EINVAL);
	writes_fail = false;
	n0 = n_syncs;
	CHECK_INT(put(s, &r[7]), STORE_INSERTED);
	CHECK(n_syncs > n0);
	CHECK_INT(store_count(s), 8);
	store_close(s);

	s = NULL;
	CHECK_INT(store_open(path, &s, err, sizeof err), 0);
	for (int i = 0; i < 6; i++) {
		char key[16];
		snprintf(key, sizeof key, "x%d", i);
		CHECK(holds(s, &r[i], KIND_SVC, origin_a, key));
	}
	CHECK_INT(store_count(s), 8);
	store_close(s);
	CHECK_INT(sqlite3_vfs_unregister(&count_vfs), SQLITE_OK);
}

static void test_bad_files(void)
{
	char path[128], err[256];
	struct store *s = NULL;
	static uint8_t buf[1 << 20];

	/* another application's database */
	path_in(path, sizeof path, "foreign.db");
	sql(path, "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
	open_fails(path, -ENOTSUP, "not a MirrorNet store: application_id 0x00000000");
	CHECK_INT(sql_int(path, "SELECT count(*) FROM t"), 1);

	path_in(path, sizeof path, "foreign-id.db");
	sql(path, "PRAGMA application_id = 305419896;");
	open_fails(path, -ENOTSUP, "application_id 0x12345678");

	/* an empty sqlite database, but someone's user_version */
	path_in(path, sizeof path, "foreign-uv.db");
	sql(path, "PRAGMA user_version = 3;");
	open_fails(path, -ENOTSUP, "not a MirrorNet store");

	/* our store, written by a newer mirrornet */
	path_in(path, sizeof path, "newer.db");
	CHECK_INT(store_open(path, &s, err, sizeof err), 0);
	struct rec a;
	mk(&a, KIND_SVC, origin_a, "mail", 1, 2000000000, 25);
	CHECK_INT(put(s, &a), STORE_INSERTED);
	store_close(s);
	sql(path, "PRAGMA user_version = 3;");
	open_fails(path, -ENOTSUP, "created by a newer mirrornet");
	open_fails(path, -ENOTSUP, "newer");   /* still the same after a failed open */

	/* our header, someone else's tables */
	path_in(path, sizeof path, "mismatch.db");
	sql(path, "PRAGMA application_id = 1296975188; PRAGMA user_version = 2;"
		  "CREATE TABLE records (x);");
	open_fails(path, -EILSEQ, "schema does not match");

	/* schema 1 (before the state table): migrated, records kept */
	path_in(path, sizeof path, "v1.db");
	CHECK_INT(store_open(path, &s, err, sizeof err), 0);
	mk(&a, KIND_SVC, origin_a, "mail", 1, 2000000000, 25);
	CHECK_INT(put(s, &a), STORE_INSERTED);
	store_close(s);
	sql(path, "DROP TABLE state; PRAGMA user_version = 1;");
	CHECK_INT(store_open(path, &s, err, sizeof err), 0);
	CHECK_INT(sql_int(path, "PRAGMA user_version"), 2);
	CHECK_INT(store_count(s), 1);
	/* the state table: put, replace, get, walk, delete */
	uint8_t v[64];
	CHECK_INT(store_state_put(s, "invite", "b", (const uint8_t *)"two", 3), 0);
	CHECK_INT(store_state_put(s, "invite", "a", (const uint8_t *)"one", 3), 0);
	CHECK_INT(store_state_put(s, "invite", "a", (const uint8_t *)"uno!", 4), 0);
	CHECK_INT(store_state_put(s, "other", "a", (const uint8_t *)"x", 1), 0);
	CHECK_INT(store_state_get(s, "invite", "a", v, sizeof v), 4);
	CHECK(memcmp(v, "uno!", 4) == 0);
	CHECK_INT(store_state_get(s, "invite", "a", v, 2), -ENOSPC);
	CHECK_INT(store_state_get(s, "invite", "zz", v, sizeof v), -ENOENT);
	CHECK_INT(store_state_put(s, "", "a", v, 1), -EINVAL);
	CHECK_INT(store_state_put(s, "invite", "a", v, 0), -EINVAL);
	int walked = 0;
	CHECK_INT(store_state_each(s, "invite", count_state, &walked), 0);
	CHECK_INT(walked, 2);
	CHECK_INT(store_state_del(s, "invite", "a"), 0);
	CHECK_INT(store_state_del(s, "invite", "a"), -ENOENT);
	walked = 0;
	CHECK_INT(store_state_each(s, "invite", count_state, &walked), 0);
	CHECK_INT(walked, 1);
	store_close(s);

	/* random garbage, large and tiny */
	uint64_t x = 0x2545f4914f6cdd1dull;
	for (size_t i = 0; i < sizeof buf; i++) {
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	path_in(path, sizeof path, "garbage.db");
	spit(path, buf, 4096);
	open_fails(path, -EILSEQ, "corrupt");
	path_in(path, sizeof path, "tiny.db");
	spit(path, buf, 10);
	open_fails(path, -EILSEQ, NULL);

	/* a store whose pages were overwritten with garbage past the header */
	char good[128];
	path_in(good, sizeof good, "good.db");
	CHECK_INT(store_open(good, &s, err, sizeof err), 0);
	CHECK_INT(store_begin(s), 0);
	for (int i = 0; i < 200; i++) {
		struct rec r;
		char key[16];
		snprintf(key, sizeof key, "k%d", i);
		mk(&r, KIND_REVOKE, origin_a, key, 1, 2000000000, i);
		CHECK_INT(put(s, &r), STORE_INSERTED);
	}
	CHECK_INT(store_commit(s), 0);
	store_close(s);
	size_t n = slurp(good, buf, sizeof buf);
	CHECK(n > 8192 && n < sizeof buf);

	path_in(path, sizeof path, "truncated.db");
	spit(path, buf, n / 2);
	open_fails(path, -EILSEQ, "corrupt");

	path_in(path, sizeof path, "scribbled.db");
	for (size_t i = 4096; i < n; i++)
		buf[i] = (uint8_t)(buf[i] ^ (i * 29));
	spit(path, buf, n);
	open_fails(path, -EILSEQ, "corrupt");

	/* the valid store is still fine and unchanged */
	s = NULL;
	CHECK_INT(store_open(good, &s, err, sizeof err), 0);
	CHECK_INT(store_count(s), 200);
	store_close(s);

	/* a directory that does not exist: the system's errno */
	path_in(path, sizeof path, "no/such/dir.db");
	s = (struct store *)1;
	CHECK_INT(store_open(path, &s, err, sizeof err), -ENOENT);
	CHECK(s == NULL && err[0] != 0);
	CHECK_INT(store_open("", &s, err, sizeof err), -EINVAL);
	CHECK_INT(store_open(NULL, &s, NULL, 0), -EINVAL);
	CHECK_INT(store_open(":memory:", NULL, NULL, 0), -EINVAL);
}

/* The store holds invitation secrets: created 0600 whatever the umask, its
 * -wal and -shm too; a store of ours found world-readable is narrowed; a
 * file that is not ours keeps its mode. */
static mode_t mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_mode & 07777 : (mode_t)-1;
}

static void test_modes(void)
{
	char path[128], p2[160], err[256];
	struct store *s = NULL;
	struct rec r;
	mode_t old = umask(022);

	path_in(path, sizeof path, "modes.db");
	CHECK_INT(store_open(path, &s, err, sizeof err), 0);
	mk(&r, KIND_SVC, origin_a, "m", 1, 2000000000, 1);
	CHECK_INT(put(s, &r), STORE_INSERTED);
	CHECK_INT(mode_of(path), 0600);
	snprintf(p2, sizeof p2, "%s-wal", path);
	CHECK_INT(mode_of(p2), 0600);
	snprintf(p2, sizeof p2, "%s-shm", path);
	CHECK_INT(mode_of(p2), 0600);
	store_close(s);
	CHECK_INT(chmod(path, 0644), 0);
	s = NULL;
	CHECK_INT(store_open(path, &s, err, sizeof err), 0);
	CHECK_INT(mode_of(path), 0600);
	store_close(s);
	path_in(path, sizeof path, "foreign.db");
	CHECK_INT(chmod(path, 0644), 0);
	s = NULL;
	CHECK(store_open(path, &s, err, sizeof err) < 0);
	CHECK_INT(mode_of(path), 0644);
	umask(old);
}

static void rm_dir(void)
{
	const char *names[] = { "store.db", "empty.db", "foreign.db", "foreign-id.db",
				"foreign-uv.db", "newer.db", "garbage.db", "tiny.db", "good.db",
				"truncated.db", "scribbled.db", "mismatch.db", "v1.db", "modes.db",
				"relaxed.db" };
	const char *sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[160];

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		for (size_t j = 0; j < sizeof sfx / sizeof sfx[0]; j++) {
			snprintf(p, sizeof p, "%s/%s%s", dir, names[i], sfx[j]);
			unlink(p);
		}
	}
	CHECK_INT(rmdir(dir), 0);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	for (int i = 0; i < 32; i++) {
		origin_a[i] = (uint8_t)(0x10 + i);
		origin_b[i] = (uint8_t)(0x80 + i);
	}
	test_put_semantics();
	test_tie_break();
	test_tombstone();
	test_tombstone_outlives();
	test_expire();
	test_filters();
	test_get();
	test_load_by_ref();
	test_digest();
	test_malformed();
	test_transactions();

	snprintf(dir, sizeof dir, "%s/mn-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_reopen();
	test_relaxed();
	test_bad_files();
	test_modes();
	rm_dir();
	sqlite3_shutdown();  /* let valgrind see sqlite's caches freed */
	return check_exit();
}
