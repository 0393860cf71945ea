/* Fuzz target: what the join service (src/daemon/onboard.c) does with the
 * bytes a client sends: join_frame_get() on the stream, then
 * schema_decode() of the payload with join_req_schema, then
 * join_req_check(). The input is tried as the stream (a frame) and, in
 * addition, as a bare payload, so that the decoder is reached without the
 * fuzzer having to learn the 4-byte length first.
 *
 * Properties checked (abort() on violation):
 *   - framing: join_frame_get() gives 0, -EAGAIN or -EMSGSIZE; on 0 the
 *     payload is data + 4, 1 <= plen <= JOIN_MAX_FRAME and used = plen + 4
 *     <= size; -EAGAIN only when the input is shorter than its frame;
 *   - canonical form: join_req_frame() of an accepted request gives back
 *     the length and the payload byte for byte, fits a buffer of exactly
 *     that size and not one byte less; the re-encoding decodes to a
 *     memcmp-equal request;
 *   - an accepted request obeys the rules the daemon relies on (version,
 *     op in range, a 16-digit lower-case hex id exactly for JOIN, a new
 *     key exactly for ROTATE, NUL-terminated strings);
 *   - the digest ignores proof, sig and sig_new;
 *   - join_req_check() runs, with and without a secret (its answer is
 *     irrelevant: forging is not what a fuzzer can find). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/crypto.h"
#include "crypto/invite.h"
#include "src/join_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((noreturn)) static void fail(const char *what)
{
	fprintf(stderr, "fuzz_joinreq: property violated: %s\n", what);
	abort();
}

static void check_rules(const struct join_req *q)
{
	static const uint8_t zero[MN_KEY_LEN];

	if (q->v != INVITE_VERSION || q->op > JOIN_OP_MAX)
		fail("accepted a request of another version or op");
	if (memchr(q->invite, 0, sizeof q->invite) == NULL || memchr(q->name, 0, sizeof q->name) == NULL)
		fail("a string is not NUL-terminated");
	size_t il = strlen(q->invite);
	if (q->op == JOIN_OP_JOIN) {
		if (il != INVITE_ID_LEN || strspn(q->invite, "0123456789abcdef") != il)
			fail("a join without a valid invitation id");
	} else if (il != 0) {
		fail("a renew or rotate with an invitation id");
	}
	if ((q->op == JOIN_OP_ROTATE) != (memcmp(q->new_node, zero, sizeof zero) != 0))
		fail("a new key without a rotation, or a rotation without one");
}

static void check_payload(const uint8_t *p, size_t n)
{
	static struct join_req q, d;
	uint8_t secret[INVITE_SECRET_LEN], d1[32], d2[32];
	size_t outlen = 0;

	if (schema_decode(&join_req_schema, p, n, &q) != 0)
		return;
	check_rules(&q);
	if (n == 0 || n > JOIN_MAX_FRAME)
		fail("an empty or oversize request decoded");

	uint8_t *exact = malloc(n + 4), *small = malloc(n + 3);
	if (!exact || !small)
		abort();
	if (join_req_frame(&q, exact, n + 4, &outlen) != 0)
		fail("join_req_frame refused a decoded request");
	if (outlen != n + 4 || exact[0] != (uint8_t)(n >> 24) || exact[1] != (uint8_t)(n >> 16) ||
	    exact[2] != (uint8_t)(n >> 8) || exact[3] != (uint8_t)n)
		fail("join_req_frame: wrong length prefix");
	if (memcmp(exact + 4, p, n) != 0)
		fail("re-encoded request differs from the input (not canonical)");
	if (join_req_frame(&q, small, n + 3, &outlen) == 0)
		fail("join_req_frame succeeded into a buffer one byte too small");
	free(small);

	const uint8_t *pp;
	size_t plen, used;
	if (join_frame_get(exact, n + 4, &pp, &plen, &used) != 0 || pp != exact + 4 || plen != n ||
	    used != n + 4)
		fail("the re-encoded frame does not read back");
	memset(&d, 0xa5, sizeof d);
	if (schema_decode(&join_req_schema, pp, plen, &d) != 0 || memcmp(&q, &d, sizeof q) != 0)
		fail("the re-encoded request decodes differently");
	free(exact);

	if (join_req_digest(&q, d1) != 0)
		fail("no digest for a decoded request");
	d = q;
	memset(d.proof, 0x17, sizeof d.proof);
	memset(d.sig, 0x17, sizeof d.sig);
	memset(d.sig_new, 0x17, sizeof d.sig_new);
	if (join_req_digest(&d, d2) != 0 || memcmp(d1, d2, 32) != 0)
		fail("the digest depends on proof or signatures");

	memset(secret, 0x42, sizeof secret);
	(void)join_req_check(&q, secret);
	(void)join_req_check(&q, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p;
	size_t plen, used;

	if (crypto_init() != 0)
		abort();
	int rc = join_frame_get(data, size, &p, &plen, &used);
	if (rc == 0) {
		if (p != data + 4 || plen == 0 || plen > JOIN_MAX_FRAME || used != plen + 4 || used > size)
			fail("join_frame_get: inconsistent frame");
		check_payload(p, plen);
	} else if (rc == -EAGAIN) {
		if (size >= 4) {
			size_t n = (size_t)data[0] << 24 | (size_t)data[1] << 16 | (size_t)data[2] << 8 | data[3];
			if (n == 0 || n > JOIN_MAX_FRAME || size - 4 >= n)
				fail("join_frame_get: -EAGAIN for a complete or invalid frame");
		}
	} else if (rc != -EMSGSIZE) {
		fail("join_frame_get: unexpected error");
	}
	check_payload(data, size);
	return 0;
}
