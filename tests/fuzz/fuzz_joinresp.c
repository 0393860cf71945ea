/* Fuzz target: what a joiner (mirrornetctl join, the daemon renewing or
 * rotating) does with the bytes the join service answers:
 * join_resp_parse() of the whole answer, then, for JOIN_OK,
 * join_chain_verify() of the certificate records. The joiner is the key
 * of seed 0x32..., its pinned issuer the key of seed 0x31... (the keys the
 * seed corpus and tests/unit/test_invite.c use), so a seeded valid chain
 * reaches the success path.
 *
 * Properties checked (abort() on violation):
 *   - join_resp_parse() gives 0, -EAGAIN or -EBADMSG, and -EBADMSG always
 *     with a message;
 *   - an accepted answer: nrec records (status ok iff nrec > 0), each
 *     1..JOIN_MAX_FRAME bytes inside the input, in order;
 *     join_resp_frames() gives back the input byte for byte, fits a buffer
 *     of exactly that size and not one byte less; the strict prefixes
 *     tried (all of a short answer, else the cuts around every frame
 *     boundary) are -EAGAIN;
 *   - join_chain_verify() gives 0 or -EACCES, -EACCES always with a
 *     message; 0 only for a chain whose last record is from the issuer,
 *     with a result that is not the root's. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/crypto.h"
#include "crypto/key.h"
#include "proto/record.h"
#include "src/join_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1800000000ull
#define ALL_CUTS 512   /* answers up to this size: try every strict prefix */

__attribute__((noreturn)) static void fail(const char *what)
{
	fprintf(stderr, "fuzz_joinresp: property violated: %s\n", what);
	abort();
}

static void prefix_again(const uint8_t *data, size_t cut)
{
	struct join_resp r;
	struct join_chain c;
	char err[256];

	if (join_resp_parse(data, cut, &r, &c, err, sizeof err) != -EAGAIN)
		fail("a strict prefix of a valid answer is not -EAGAIN");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct node_key me, issuer;
	static bool keys_ready;
	struct join_resp r;
	struct join_chain c;
	struct chain_result res;
	char err[256] = "";

	if (crypto_init() != 0)
		abort();
	if (!keys_ready) {
		uint8_t seed[32];
		memset(seed, 0x32, sizeof seed);
		node_key_from_seed(&me, seed);
		memset(seed, 0x31, sizeof seed);
		node_key_from_seed(&issuer, seed);
		keys_ready = true;
	}

	int rc = join_resp_parse(data, size, &r, &c, err, sizeof err);
	if (rc == -EAGAIN)
		return 0;
	if (rc == -EBADMSG) {
		if (!err[0])
			fail("-EBADMSG without a message");
		return 0;
	}
	if (rc != 0)
		fail("join_resp_parse: unexpected return value");

	if (c.n != r.nrec || c.n > JOIN_MAX_CHAIN || (r.status == JOIN_OK) != (r.nrec > 0))
		fail("record count inconsistent with the answer");
	const uint8_t *prev = data;
	for (size_t i = 0; i < c.n; i++) {
		if (c.len[i] == 0 || c.len[i] > JOIN_MAX_FRAME || c.rec[i] < prev + 4 ||
		    c.rec[i] + c.len[i] > data + size)
			fail("a record outside the input or out of order");
		prev = c.rec[i] + c.len[i];
	}
	if (prev != data + size && c.n)
		fail("the last record does not end the input");

	uint8_t *exact = malloc(size), *small = malloc(size - 1 ? size - 1 : 1);
	size_t n = 0;
	if (!exact || !small)
		abort();
	if (join_resp_frames(&r, &c, exact, size, &n) != 0)
		fail("join_resp_frames refused a parsed answer");
	if (n != size || memcmp(exact, data, size) != 0)
		fail("re-framed answer differs from the input (not canonical)");
	if (join_resp_frames(&r, &c, small, size - 1, &n) == 0)
		fail("join_resp_frames succeeded into a buffer one byte too small");
	free(small);
	free(exact);

	if (size <= ALL_CUTS) {
		for (size_t cut = 0; cut < size; cut++)
			prefix_again(data, cut);
	} else {
		/* around the end of the answer frame and of every record frame */
		size_t ends[JOIN_MAX_CHAIN + 1], ne = 0;
		ends[ne++] = c.n ? (size_t)(c.rec[0] - data) - 4 : size;
		for (size_t i = 0; i < c.n; i++)
			ends[ne++] = (size_t)(c.rec[i] - data) + c.len[i];
		for (size_t i = 0; i < ne; i++) {
			for (size_t d = 0; d <= 5; d++)
				if (ends[i] >= d && ends[i] - d < size)
					prefix_again(data, ends[i] - d);
			if (ends[i] + 1 < size)
				prefix_again(data, ends[i] + 1);
		}
	}

	if (r.status != JOIN_OK)
		return 0;
	err[0] = 0;
	rc = join_chain_verify(&r, &c, me.pk, issuer.pk, NOW, &res, err, sizeof err);
	if (rc == -EACCES) {
		if (!err[0])
			fail("-EACCES without a message");
		return 0;
	}
	if (rc != 0)
		fail("join_chain_verify: unexpected return value");
	struct record last;
	if (record_decode_envelope(c.rec[c.n - 1], c.len[c.n - 1], &last) != 0 ||
	    memcmp(last.origin, issuer.pk, 32) != 0)
		fail("a chain accepted whose last record is not from the issuer");
	if (res.depth == 0 || res.role == ROLE_MASTER || res.not_after < NOW)
		fail("an accepted chain gives a root's or an expired grant");
	return 0;
}
