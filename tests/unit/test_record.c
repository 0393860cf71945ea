/* Records: round trips of every kind, canonical re-encoding, a table of
 * malformed envelopes and bodies with their named errors, and single-byte
 * corruption of signed records. */
#include <stdlib.h>
#include "tests/check.h"
#include "tests/unit/sample_bodies.h"
#include "proto/record.h"
#include "proto/proto_err.h"
#include "proto/mpack.h"
#include "proto/hex.h"
#include "crypto/crypto.h"
#include "crypto/key.h"
#include "crypto/record_sig.h"

static struct node_key key;

static void test_body_roundtrip(void)
{
	for (unsigned kind = KIND_MIN; kind <= KIND_MAX; kind++) {
		for (int full = 0; full <= 1; full++) {
			union body in, out;
			uint8_t buf[MN_MAX_BODY], buf2[MN_MAX_BODY];
			size_t n = 0, n2 = 0;

			sample_body(kind, &in, full);
			int err = body_encode(kind, &in, buf, sizeof buf, &n);
			if (err) fprintf(stderr, "kind %s full %d: %s\n", kind_name(kind), full, proto_strerror(err));
			CHECK_INT(err, 0);
			CHECK_INT(body_decode(kind, buf, n, &out), 0);
			CHECK(memcmp(&in, &out, body_schema(kind)->size) == 0);
			CHECK_INT(body_encode(kind, &out, buf2, sizeof buf2, &n2), 0);
			CHECK_INT(n2, n);
			CHECK_MEM(buf, buf2, n);
			/* every strict prefix is truncated input */
			int trunc = 0;
			for (size_t cut = 0; cut < n; cut++)
				trunc += body_decode(kind, buf, cut, &out) == PROTO_ERR_TRUNCATED;
			CHECK_INT(trunc, n);
		}
	}
}

static void test_record_roundtrip(void)
{
	for (unsigned kind = KIND_MIN; kind <= KIND_MAX; kind++) {
		union body in, out;
		uint8_t body[MN_MAX_BODY], wire[MN_MAX_RECORD], wire2[MN_MAX_RECORD];
		size_t blen;
		struct record r, d;

		sample_body(kind, &in, 0);
		CHECK_INT(body_encode(kind, &in, body, sizeof body, &blen), 0);
		CHECK_INT(record_init(&r, kind, key.pk, "k1", 42, 1900000000), 0);
		r.body = body;
		r.body_len = blen;
		CHECK_INT(record_sign(&r, &key, wire, sizeof wire), 0);
		CHECK_INT(record_decode(wire, r.wire_len, &d, &out), 0);
		CHECK_INT(d.kind, kind);
		CHECK_MEM(d.origin, key.pk, 32);
		CHECK_STR(d.key, "k1");
		CHECK(d.version == 42 && d.expires == 1900000000);
		CHECK(memcmp(&in, &out, body_schema(kind)->size) == 0);
		CHECK_INT(record_verify(&d, NULL), 0);
		/* canonical: re-encoding the decoded record gives the same bytes */
		struct record e = d;
		CHECK_INT(record_encode(&e, wire2, sizeof wire2), 0);
		CHECK_INT(e.wire_len, r.wire_len);
		CHECK_MEM(wire, wire2, r.wire_len);

		/* single-byte corruption anywhere never yields a valid record */
		int accepted = 0;
		for (size_t i = 0; i < r.wire_len; i++) {
			for (int m = 0; m < 2; m++) {
				uint8_t bad[MN_MAX_RECORD];
				memcpy(bad, wire, r.wire_len);
				bad[i] ^= m ? 0xff : 0x01;
				if (record_decode(bad, r.wire_len, &d, NULL) == 0 && record_verify(&d, NULL) == 0)
					accepted++;
			}
		}
		CHECK_INT(accepted, 0);
	}
	/* a tombstone */
	struct record t, d;
	uint8_t wire[MN_MAX_RECORD];
	CHECK_INT(record_init(&t, KIND_EXPOSE, key.pk, "cloud", 7, 1900000000), 0);
	CHECK_INT(record_sign(&t, &key, wire, sizeof wire), 0);
	CHECK_INT(record_decode(wire, t.wire_len, &d, NULL), 0);
	CHECK(record_is_tombstone(&d));
	CHECK_INT(record_verify(&d, NULL), 0);
}

/* Domain separation: the same signed bytes relabelled as another kind fail. */
static void test_kind_separation(void)
{
	union body b;
	uint8_t body[MN_MAX_BODY], wire[MN_MAX_RECORD];
	size_t blen;
	struct record r, d;

	/* a node tombstone relabelled as a cert tombstone: same layout */
	CHECK_INT(record_init(&r, KIND_NODE, key.pk, "self", 1, 2), 0);
	CHECK_INT(record_sign(&r, &key, wire, sizeof wire), 0);
	wire[2] = KIND_CERT;   /* [0x98, format=1, kind, ...] */
	CHECK_INT(record_decode(wire, r.wire_len, &d, NULL), 0);
	CHECK_INT(record_verify(&d, NULL), CRYPTO_ERR_BADSIG);
	(void)b; (void)body; (void)blen;
}

/* Envelope builder with knobs for the malformed-input table. */
struct env {
	int nfields;              /* 8 */
	uint64_t format;          /* 1 */
	uint64_t kind;
	size_t origin_len;        /* 32 */
	const char *key;
	size_t key_len;
	const uint8_t *raw_version; /* raw bytes instead of a uint */
	size_t raw_version_len;
	const uint8_t *body;
	size_t body_len;
	size_t sig_len;           /* 64 */
	size_t trailing;
};

static size_t build_env(const struct env *e, uint8_t *out, size_t cap)
{
	static const uint8_t zeros[MN_MAX_RECORD];
	struct mp_writer w;
	size_t n;

	mp_writer_init(&w, out, cap);
	mp_write_array(&w, (uint32_t)e->nfields);
	mp_write_uint(&w, e->format);
	mp_write_uint(&w, e->kind);
	mp_write_bin(&w, zeros, e->origin_len);
	mp_write_str(&w, e->key, e->key_len);
	if (e->raw_version) {
		mp_writer_finish(&w, &n);
		memcpy(out + n, e->raw_version, e->raw_version_len);
		mp_writer_init(&w, out + n + e->raw_version_len, cap - n - e->raw_version_len);
		w.len = 0;
		size_t n2;
		mp_write_uint(&w, 5);
		mp_write_bin(&w, e->body, e->body_len);
		if (e->nfields > 7)
			mp_write_bin(&w, zeros, e->sig_len);
		mp_writer_finish(&w, &n2);
		n += e->raw_version_len + n2;
	} else {
		mp_write_uint(&w, 3);
		mp_write_uint(&w, 5);
		mp_write_bin(&w, e->body, e->body_len);
		if (e->nfields > 7)
			mp_write_bin(&w, zeros, e->sig_len);
		if (mp_writer_finish(&w, &n) < 0)
			return 0;
	}
	memset(out + n, 0, e->trailing);
	return n + e->trailing;
}

#define SVC_OK "\x94\xa4mail\xa0\x19\x90"

static void test_malformed_envelopes(void)
{
	static char long_key[MN_MAX_RKEY + 2];
	static uint8_t big_body[MN_MAX_BODY + 1];
	static const uint8_t nc_version[] = { 0xcc, 0x03 };
	static const uint8_t str_version[] = { 0xa1, '3' };
	const uint8_t *svc = (const uint8_t *)SVC_OK;
	size_t svc_len = sizeof SVC_OK - 1;

	memset(long_key, 'k', MN_MAX_RKEY + 1);
	memset(big_body, 0x90, sizeof big_body);
	const struct {
		const char *what;
		struct env e;
		int expect;
	} cases[] = {
		{ "valid", { 8, 1, KIND_SVC, 32, "k", 1, NULL, 0, svc, svc_len, 64, 0 }, 0 },
		{ "tombstone", { 8, 1, KIND_SVC, 32, "k", 1, NULL, 0, NULL, 0, 64, 0 }, 0 },
		{ "seven fields", { 7, 1, KIND_SVC, 32, "k", 1, NULL, 0, svc, svc_len, 64, 0 }, PROTO_ERR_ARITY },
		{ "format 2", { 8, 2, KIND_SVC, 32, "k", 1, NULL, 0, svc, svc_len, 64, 0 }, PROTO_ERR_VERSION },
		{ "kind 0", { 8, 1, 0, 32, "k", 1, NULL, 0, svc, svc_len, 64, 0 }, PROTO_ERR_KIND },
		{ "kind 10", { 8, 1, 10, 32, "k", 1, NULL, 0, svc, svc_len, 64, 0 }, PROTO_ERR_KIND },
		{ "kind 2^40", { 8, 1, 1ull << 40, 32, "k", 1, NULL, 0, svc, svc_len, 64, 0 }, PROTO_ERR_KIND },
		{ "origin 31", { 8, 1, KIND_SVC, 31, "k", 1, NULL, 0, svc, svc_len, 64, 0 }, PROTO_ERR_FIELD_SIZE },
		{ "origin 33", { 8, 1, KIND_SVC, 33, "k", 1, NULL, 0, svc, svc_len, 64, 0 }, PROTO_ERR_FIELD_SIZE },
		{ "empty key", { 8, 1, KIND_SVC, 32, "", 0, NULL, 0, svc, svc_len, 64, 0 }, PROTO_ERR_FIELD_SIZE },
		{ "key 129", { 8, 1, KIND_SVC, 32, long_key, MN_MAX_RKEY + 1, NULL, 0, svc, svc_len, 64, 0 }, PROTO_ERR_FIELD_SIZE },
		{ "key with NUL", { 8, 1, KIND_SVC, 32, "a\0b", 3, NULL, 0, svc, svc_len, 64, 0 }, PROTO_ERR_UTF8 },
		{ "key bad UTF-8", { 8, 1, KIND_SVC, 32, "\xc3\x28", 2, NULL, 0, svc, svc_len, 64, 0 }, PROTO_ERR_UTF8 },
		{ "version uint8 3", { 8, 1, KIND_SVC, 32, "k", 1, nc_version, 2, svc, svc_len, 64, 0 }, PROTO_ERR_NONCANONICAL },
		{ "version a string", { 8, 1, KIND_SVC, 32, "k", 1, str_version, 2, svc, svc_len, 64, 0 }, PROTO_ERR_TYPE },
		{ "body too big", { 8, 1, KIND_SVC, 32, "k", 1, NULL, 0, big_body, sizeof big_body, 64, 0 }, PROTO_ERR_FIELD_SIZE },
		{ "sig 63", { 8, 1, KIND_SVC, 32, "k", 1, NULL, 0, svc, svc_len, 63, 0 }, PROTO_ERR_FIELD_SIZE },
		{ "sig 65", { 8, 1, KIND_SVC, 32, "k", 1, NULL, 0, svc, svc_len, 65, 0 }, PROTO_ERR_FIELD_SIZE },
		{ "trailing byte", { 8, 1, KIND_SVC, 32, "k", 1, NULL, 0, svc, svc_len, 64, 1 }, PROTO_ERR_TRAILING },
		{ "body not svc", { 8, 1, KIND_NODE, 32, "k", 1, NULL, 0, svc, svc_len, 64, 0 }, PROTO_ERR_ARITY },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t buf[MN_MAX_RECORD * 2];
		struct record r;
		size_t n = build_env(&cases[i].e, buf, sizeof buf);
		int got = record_decode(buf, n, &r, NULL);
		if (got != cases[i].expect)
			fprintf(stderr, "envelope case '%s': got %s, expected %s\n", cases[i].what,
				proto_strerror(got), proto_strerror(cases[i].expect));
		CHECK_INT(got, cases[i].expect);
	}
	/* over MN_MAX_RECORD whatever it holds */
	static uint8_t huge[MN_MAX_RECORD + 1];
	struct record r;
	CHECK_INT(record_decode(huge, sizeof huge, &r, NULL), PROTO_ERR_RECORD_SIZE);
	CHECK_INT(record_decode(huge, 0, &r, NULL), PROTO_ERR_TRUNCATED);
}

static void test_malformed_bodies(void)
{
#define B(s) (const uint8_t *)(s), sizeof(s) - 1
	static const struct {
		const char *what;
		unsigned kind;
		const uint8_t *in;
		size_t len;
		int expect;
	} cases[] = {
		{ "svc ok", KIND_SVC, B(SVC_OK), 0 },
		{ "svc port uint16 25", KIND_SVC, B("\x94\xa4mail\xa0\xcd\x00\x19\x90"), PROTO_ERR_NONCANONICAL },
		{ "svc 3 fields", KIND_SVC, B("\x93\xa4mail\xa0\x19"), PROTO_ERR_ARITY },
		{ "svc 5 fields", KIND_SVC, B("\x95\xa4mail\xa0\x19\x90\x00"), PROTO_ERR_ARITY },
		{ "svc empty service", KIND_SVC, B("\x94\xa0\xa0\x19\x90"), PROTO_ERR_FIELD_SIZE },
		{ "svc port 65536", KIND_SVC, B("\x94\xa4mail\xa0\xce\x00\x01\x00\x00\x90"), PROTO_ERR_RANGE },
		{ "svc trailing", KIND_SVC, B(SVC_OK "\x00"), PROTO_ERR_TRAILING },
		{ "svc truncated", KIND_SVC, B("\x94\xa4mail\xa0\x19"), PROTO_ERR_TRUNCATED },
		{ "svc bad UTF-8", KIND_SVC, B("\x94\xa2\xc3\x28\xa0\x19\x90"), PROTO_ERR_UTF8 },
		{ "svc overlong UTF-8", KIND_SVC, B("\x94\xa2\xc0\xaf\xa0\x19\x90"), PROTO_ERR_UTF8 },
		{ "svc surrogate", KIND_SVC, B("\x94\xa3\xed\xa0\x80\xa0\x19\x90"), PROTO_ERR_UTF8 },
		{ "svc NUL in string", KIND_SVC, B("\x94\xa2\x61\x00\xa0\x19\x90"), PROTO_ERR_UTF8 },
		{ "svc str8 for 4 bytes", KIND_SVC, B("\x94\xd9\x04mail\xa0\x19\x90"), PROTO_ERR_NONCANONICAL },
		{ "svc as map", KIND_SVC, B("\x84\xa4mail\xa0\x19\x90"), PROTO_ERR_TYPE },
		{ "svc array16 attrs", KIND_SVC, B("\x94\xa4mail\xa0\x19\xdc\x00\x00"), PROTO_ERR_NONCANONICAL },
		{ "svc huge attrs count", KIND_SVC, B("\x94\xa4mail\xa0\x19\xdd\xff\xff\xff\xff"), PROTO_ERR_TRUNCATED },
		{ "svc int8 port", KIND_SVC, B("\x94\xa4mail\xa0\xd0\x19\x90"), PROTO_ERR_TYPE },
		{ "svc bool port", KIND_SVC, B("\x94\xa4mail\xa0\xc3\x90"), PROTO_ERR_TYPE },
		{ "svc 32-char service", KIND_SVC, B("\x94\xd9\x20" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\xa0\x19\x90"), PROTO_ERR_FIELD_SIZE },
		{ "svc 17 attrs", KIND_SVC, B("\x94\xa4mail\xa0\x19\xdc\x00\x11"
			"\x92\xa1k\xa0\x92\xa1k\xa0\x92\xa1k\xa0\x92\xa1k\xa0\x92\xa1k\xa0\x92\xa1k\xa0"
			"\x92\xa1k\xa0\x92\xa1k\xa0\x92\xa1k\xa0\x92\xa1k\xa0\x92\xa1k\xa0\x92\xa1k\xa0"
			"\x92\xa1k\xa0\x92\xa1k\xa0\x92\xa1k\xa0\x92\xa1k\xa0\x92\xa1k\xa0"), PROTO_ERR_FIELD_SIZE },
		{ "svc attr not a pair", KIND_SVC, B("\x94\xa4mail\xa0\x19\x91\xa1k"), PROTO_ERR_TYPE },
		{ "revoke subject 31", KIND_REVOKE, B("\x93\xc4\x1f" "0123456789012345678901234567890" "\xa0\x00"), PROTO_ERR_FIELD_SIZE },
		{ "revoke subject str", KIND_REVOKE, B("\x93\xd9\x20" "01234567890123456789012345678901" "\xa0\x00"), PROTO_ERR_TYPE },
		{ "revoke ok", KIND_REVOKE, B("\x93\xc4\x20" "01234567890123456789012345678901" "\xa0\x00"), 0 },
		{ "backup empty id", KIND_BACKUP, B("\x97\xa0\x00\xc4\x20" "01234567890123456789012345678901" "\x90\xa0\x00\x90"), PROTO_ERR_FIELD_SIZE },
		{ "backup ok", KIND_BACKUP, B("\x97\xa1x\x00\xc4\x20" "01234567890123456789012345678901" "\x90\xa0\x00\x90"), 0 },
		{ "backup holder without receipt", KIND_BACKUP, B("\x97\xa1x\x00\xc4\x20" "01234567890123456789012345678901" "\x91\xc4\x20" "01234567890123456789012345678901" "\xa0\x00\x90"), PROTO_ERR_VALUE },
		{ "backup 4 fields (before receipts)", KIND_BACKUP, B("\x94\xa1x\x00\xc4\x20" "01234567890123456789012345678901" "\x90"), PROTO_ERR_ARITY },
		{ "ioc empty batch", KIND_IOC, B("\x91\x90"), PROTO_ERR_VALUE },
		{ "ioc confidence 101", KIND_IOC, B("\x91\x91\x96\x00\xa7" "1.2.3.4" "\x00\xa0\x65\x00"), PROTO_ERR_RANGE },
		{ "ioc scope 5", KIND_IOC, B("\x91\x91\x96\x05\xa7" "1.2.3.4" "\x00\xa0\x32\x00"), PROTO_ERR_RANGE },
		{ "ioc ip not an ip", KIND_IOC, B("\x91\x91\x96\x00\xa7" "1.2.3.x" "\x00\xa0\x32\x00"), PROTO_ERR_VALUE },
		{ "ioc ip leading zero", KIND_IOC, B("\x91\x91\x96\x00\xa8" "01.2.3.4" "\x00\xa0\x32\x00"), PROTO_ERR_VALUE },
		{ "ioc ok", KIND_IOC, B("\x91\x91\x96\x00\xa7" "1.2.3.4" "\x00\xa0\x32\x00"), 0 },
		{ "dns zone upper-case", KIND_DNS, B("\x95\xa3" "A.b" "\xc4\x20" "01234567890123456789012345678901" "\x90\x00\x90"), PROTO_ERR_VALUE },
		{ "dns zone trailing dot", KIND_DNS, B("\x95\xa4" "a.b." "\xc4\x20" "01234567890123456789012345678901" "\x90\x00\x90"), PROTO_ERR_VALUE },
		{ "dns ttl 2^31", KIND_DNS, B("\x95\xa3" "a.b" "\xc4\x20" "01234567890123456789012345678901" "\x90\xce\x80\x00\x00\x00\x90"), PROTO_ERR_RANGE },
		{ "dns ok", KIND_DNS, B("\x95\xa3" "a.b" "\xc4\x20" "01234567890123456789012345678901" "\x90\x00\x90"), 0 },
		{ "expose no channel", KIND_EXPOSE, B("\x97\xa3" "web" "\x50\x00\xa0\x90\x00\xa0"), PROTO_ERR_VALUE },
		{ "expose channel 16", KIND_EXPOSE, B("\x97\xa3" "web" "\x50\x10\xa0\x90\x00\xa0"), PROTO_ERR_RANGE },
		{ "expose ok", KIND_EXPOSE, B("\x97\xa3" "web" "\x50\x01\xa0\x90\x00\xa0"), 0 },
		{ "expose old 5 fields", KIND_EXPOSE, B("\x95\xa3" "web" "\x50\x01\xa0\x90"), PROTO_ERR_ARITY },
		{ "expose proto 3", KIND_EXPOSE, B("\x97\xa3" "web" "\x50\x01\xa0\x90\x03\xa0"), PROTO_ERR_RANGE },
		{ "expose onion no tor", KIND_EXPOSE, B("\x97\xa3" "web" "\x50\x01\xa0\x90\x00\xd9\x3e"
			"abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"), PROTO_ERR_VALUE },
		{ "expose onion ok", KIND_EXPOSE, B("\x97\xa3" "web" "\x50\x05\xa0\x90\x00\xd9\x3e"
			"abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"), 0 },
		{ "expose onion bad char", KIND_EXPOSE, B("\x97\xa3" "web" "\x50\x05\xa0\x90\x00\xd9\x3e"
			"abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvw1.onion"), PROTO_ERR_VALUE },
		{ "cert depth > max", KIND_CERT, B("\x99\xc4\x20" "01234567890123456789012345678901" "\x00\x03\x02\xa0\xa0\x00\x01" "\xc4\x20" "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), PROTO_ERR_VALUE },
		{ "cert master at depth 1", KIND_CERT, B("\x99\xc4\x20" "01234567890123456789012345678901" "\x02\x01\x02\xa0\xa0\x00\x01" "\xc4\x20" "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), PROTO_ERR_VALUE },
		{ "cert not_before > not_after", KIND_CERT, B("\x99\xc4\x20" "01234567890123456789012345678901" "\x00\x01\x02\xa0\xa0\x05\x01" "\xc4\x20" "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), PROTO_ERR_VALUE },
		{ "cert bad mesh addr", KIND_CERT, B("\x99\xc4\x20" "01234567890123456789012345678901" "\x00\x01\x02\xa0\xa6" "10.0.1" "\x00\x01" "\xc4\x20" "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), PROTO_ERR_VALUE },
		{ "cert ok", KIND_CERT, B("\x99\xc4\x20" "01234567890123456789012345678901" "\x00\x01\x02\xa0\xa0\x00\x01" "\xc4\x20" "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), 0 },
		{ "node role 3", KIND_NODE, B("\x98\xa1n\xc4\x20" "01234567890123456789012345678901" "\x90\xa0\x03\x00\x90\xa0"), PROTO_ERR_RANGE },
		{ "node depth 16", KIND_NODE, B("\x98\xa1n\xc4\x20" "01234567890123456789012345678901" "\x90\xa0\x00\x10\x90\xa0"), PROTO_ERR_RANGE },
		{ "node v6 not canonical", KIND_NODE, B("\x98\xa1n\xc4\x20" "01234567890123456789012345678901" "\x90\xa4" "0::1" "\x00\x00\x90\xa0"), PROTO_ERR_VALUE },
		{ "node ok", KIND_NODE, B("\x98\xa1n\xc4\x20" "01234567890123456789012345678901" "\x90\xa3" "::1" "\x00\x00\x90\xa0"), 0 },
		{ "unknown kind", 0, B("\x90"), PROTO_ERR_KIND },
	};
#undef B
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		union body b;
		int got = body_decode(cases[i].kind, cases[i].in, cases[i].len, &b);
		if (got != cases[i].expect)
			fprintf(stderr, "body case '%s': got %s, expected %s\n", cases[i].what,
				proto_strerror(got), proto_strerror(cases[i].expect));
		CHECK_INT(got, cases[i].expect);
	}
}

static void test_encoder_limits(void)
{
	union body b;
	uint8_t buf[MN_MAX_BODY];
	size_t n;

	/* the encoder refuses what the decoder would refuse */
	sample_body(KIND_IOC, &b, 0);
	b.ioc.iocs[0].confidence = 101;
	CHECK_INT(body_encode(KIND_IOC, &b, buf, sizeof buf, &n), PROTO_ERR_RANGE);
	sample_body(KIND_IOC, &b, 0);
	b.ioc.n_iocs = MN_MAX_IOCS + 1;
	CHECK_INT(body_encode(KIND_IOC, &b, buf, sizeof buf, &n), PROTO_ERR_FIELD_SIZE);
	/* 32 maximal URLs do not fit in one record */
	sample_body(KIND_IOC, &b, 0);
	b.ioc.n_iocs = MN_MAX_IOCS;
	for (int i = 0; i < MN_MAX_IOCS; i++) {
		b.ioc.iocs[i].scope = IOC_URL;
		sample_str(b.ioc.iocs[i].value, MN_MAX_IOC_VALUE, 'u');
	}
	CHECK_INT(body_encode(KIND_IOC, &b, buf, sizeof buf, &n), PROTO_ERR_RECORD_SIZE);
	CHECK_INT(body_encode(KIND_IOC, &b, buf, 100, &n), PROTO_ERR_NOSPACE);
	struct record r;
	CHECK_INT(record_init(&r, 99, key.pk, "k", 1, 1), PROTO_ERR_KIND);
	CHECK_INT(record_init(&r, KIND_SVC, key.pk, "", 1, 1), PROTO_ERR_FIELD_SIZE);
	CHECK_INT(kind_from_name("ioc"), KIND_IOC);
	CHECK_INT(kind_from_name("nope"), -1);
}

int main(void)
{
	uint8_t seed[32] = { 0 };

	if (crypto_init() < 0)
		return 1;
	seed[31] = 9;
	CHECK_INT(node_key_from_seed(&key, seed), 0);
	test_body_roundtrip();
	test_record_roundtrip();
	test_kind_separation();
	test_malformed_envelopes();
	test_malformed_bodies();
	test_encoder_limits();
	node_key_wipe(&key);
	return check_exit();
}
