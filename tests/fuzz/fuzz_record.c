/* Fuzz target: record_decode(), the envelope + body decoder every record
 * from a peer goes through.
 *
 * Properties checked on every accepted input (abort() on violation):
 *   - canonical form: record_encode() of the decoded record gives back the
 *     input, byte for byte, and the re-encoded record decodes to the same
 *     header fields;
 *   - the encoder respects its output bound: a buffer of exactly the wire
 *     length suffices, one byte less is refused (ASan sees any overflow);
 *   - the typed body re-encodes (body_encode) to exactly r.body's bytes;
 *     an empty body never decodes as any kind (so tombstone == empty body
 *     is unambiguous);
 *   - record_set_sig() on the re-encoded buffer changes exactly the last
 *     64 bytes, and the result decodes with the new signature;
 *   - record_decode() agrees with record_decode_envelope() followed by
 *     body_decode() (accepts iff both do; same header fields);
 *   - r borrows from the input: wire == data, body inside [data, data+size);
 *     tbs_len < wire_len; key is 1..MN_MAX_RKEY bytes, NUL-terminated;
 *   - record_verify() runs (its result is irrelevant; it must not crash).
 * A rejected input must leave nothing to check but memory safety. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proto/record.h"
#include "proto/body.h"
#include "crypto/crypto.h"
#include "crypto/record_sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((noreturn)) static void fail(const char *what)
{
	fprintf(stderr, "fuzz_record: property violated: %s\n", what);
	abort();
}

static void check_reencode(const struct record *r, const uint8_t *data, size_t size)
{
	struct record e = *r, d;
	uint8_t *exact, *small;

	/* fresh buffers of exactly the needed size, so ASan sees overflows */
	exact = malloc(size);
	small = malloc(size - 1);
	if (!exact || !small)
		abort();
	if (record_encode(&e, exact, size) != 0)
		fail("record_encode refused a decoded record");
	if (e.wire_len != size || memcmp(exact, data, size) != 0)
		fail("re-encoded record differs from the input (not canonical)");
	if (e.tbs_len != r->tbs_len)
		fail("re-encoded tbs_len differs");
	if (e.body_len != r->body_len || (e.body_len && memcmp(e.body, r->body, e.body_len) != 0))
		fail("re-encoded body differs");
	if (e.body_len && (e.body < exact || e.body + e.body_len > exact + size))
		fail("record_encode: body not inside the output buffer");

	struct record e2 = *r;
	if (record_encode(&e2, small, size - 1) == 0)
		fail("record_encode succeeded into a buffer one byte too small");

	/* a new signature lands in the last 64 bytes and nowhere else */
	uint8_t sig[MN_SIG_LEN];
	for (size_t i = 0; i < sizeof sig; i++)
		sig[i] = (uint8_t)~r->sig[i];
	if (record_set_sig(&e, exact, sig) != 0)
		fail("record_set_sig refused the buffer the record was encoded into");
	if (memcmp(exact, data, size - MN_SIG_LEN) != 0 ||
	    memcmp(exact + size - MN_SIG_LEN, sig, MN_SIG_LEN) != 0 ||
	    memcmp(e.sig, sig, MN_SIG_LEN) != 0)
		fail("record_set_sig wrote outside the signature");
	if (record_decode(exact, size, &d, NULL) != 0 || memcmp(d.sig, sig, MN_SIG_LEN) != 0)
		fail("record with a new signature does not decode to it");
	if (record_set_sig(&e, small, sig) == 0)
		fail("record_set_sig accepted a buffer the record was not encoded into");
	memcpy(exact, data, size);

	if (record_decode(exact, size, &d, NULL) != 0)
		fail("re-encoded record does not decode");
	if (d.kind != r->kind || memcmp(d.origin, r->origin, sizeof d.origin) != 0 ||
	    strcmp(d.key, r->key) != 0 || d.version != r->version || d.expires != r->expires ||
	    memcmp(d.sig, r->sig, sizeof d.sig) != 0 || d.tbs_len != r->tbs_len)
		fail("re-decoded header differs");
	free(exact);
	free(small);
}

static void check_body(const struct record *r, const union body *body)
{
	static uint8_t buf[MN_MAX_BODY];
	union body again;
	size_t n = 0;

	if (record_is_tombstone(r)) {
		/* the empty body must not be a valid body of this (or any) kind */
		if (body_decode(r->kind, r->body ? r->body : buf, 0, &again) == 0)
			fail("an empty body decodes: tombstone is ambiguous");
		return;
	}
	if (body_encode(r->kind, body, buf, sizeof buf, &n) != 0)
		fail("body_encode refused a decoded body");
	if (n != r->body_len || memcmp(buf, r->body, n) != 0)
		fail("re-encoded body differs from r.body");
}

/* record_decode() == record_decode_envelope() + body_decode(). */
static void check_envelope(const uint8_t *data, size_t size, int full_err, const struct record *r)
{
	static union body tmp;
	struct record e;
	int err = record_decode_envelope(data, size, &e);

	if (err == 0 && e.body_len)
		err = body_decode(e.kind, e.body, e.body_len, &tmp);
	if ((err == 0) != (full_err == 0))
		fail("record_decode and record_decode_envelope + body_decode disagree");
	if (full_err)
		return;
	if (e.kind != r->kind || memcmp(e.origin, r->origin, sizeof e.origin) != 0 ||
	    strcmp(e.key, r->key) != 0 || e.version != r->version || e.expires != r->expires ||
	    e.body != r->body || e.body_len != r->body_len || e.tbs_len != r->tbs_len ||
	    e.wire != r->wire || e.wire_len != r->wire_len || memcmp(e.sig, r->sig, sizeof e.sig))
		fail("record_decode_envelope header differs from record_decode");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct record r;
	union body body;
	int err;

	if (crypto_init() != 0)
		abort();
	err = record_decode(data, size, &r, &body);
	check_envelope(data, size, err, &r);
	if (err != 0)
		return 0;

	if (size == 0 || size > MN_MAX_RECORD)
		fail("accepted an empty or oversize record");
	if (r.wire != data || r.wire_len != size)
		fail("r.wire/wire_len do not describe the input");
	if (!(r.tbs_len >= 1 && r.tbs_len < r.wire_len))
		fail("tbs_len not inside the wire form");
	if (record_is_tombstone(&r) != (r.body_len == 0))
		fail("tombstone is not body_len == 0");
	if (r.body_len > MN_MAX_BODY)
		fail("body over MN_MAX_BODY accepted");
	if (r.body_len && (r.body < data || r.body_len > size || r.body > data + size - r.body_len ||
			   r.body + r.body_len > data + r.tbs_len))
		fail("r.body not inside the signed part of the input");
	if (!body_schema(r.kind))
		fail("accepted an unknown kind");
	size_t klen = strnlen(r.key, sizeof r.key);
	if (klen == 0 || klen > MN_MAX_RKEY)
		fail("key length out of range");

	check_body(&r, &body);
	check_reencode(&r, data, size);

	uint8_t id[32];
	(void)record_verify(&r, id);
	(void)record_verify(&r, NULL);
	return 0;
}
