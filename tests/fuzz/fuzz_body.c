/* Fuzz target: body_decode(), the one schema-driven decoder of all record
 * bodies. The first input byte picks the kind (data[0] % (KIND_MAX + 1), so kind 0, an
 * unknown kind, is exercised too); the rest is the body.
 *
 * Properties checked (abort() on violation):
 *   - kind 0 and an empty or oversize body are always refused;
 *   - canonical form: body_encode() of an accepted body gives back the
 *     input bytes exactly;
 *   - the encoder respects its output bound: a buffer of exactly the body
 *     length suffices, one byte less is refused (ASan sees any overflow);
 *   - decoding the re-encoded bytes gives a struct memcmp-equal to the
 *     first one (body_schema(kind)->size bytes: decoders zero the struct,
 *     padding included). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proto/body.h"
#include "proto/limits.h"
#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NKINDS (KIND_MAX + 1)

__attribute__((noreturn)) static void fail(unsigned kind, const char *what)
{
	fprintf(stderr, "fuzz_body: kind %u: property violated: %s\n", kind, what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static union body b1, b2;
	static uint8_t out[MN_MAX_BODY];
	const struct schema *sc;
	const uint8_t *body;
	size_t len, n = 0;
	unsigned kind;

	if (crypto_init() != 0)
		abort();
	if (size < 1)
		return 0;
	kind = data[0] % NKINDS;
	body = data + 1;
	len = size - 1;
	sc = body_schema(kind);

	if (body_decode(kind, body, len, &b1) != 0)
		return 0;

	if (!sc)
		fail(kind, "an unknown kind decoded");
	if (len == 0 || len > MN_MAX_BODY)
		fail(kind, "an empty or oversize body decoded");
	if (sc->size > sizeof b1)
		fail(kind, "schema size larger than union body");

	if (body_encode(kind, &b1, out, sizeof out, &n) != 0)
		fail(kind, "body_encode refused a decoded body");
	if (n != len || memcmp(out, body, len) != 0)
		fail(kind, "re-encoded body differs from the input (not canonical)");

	/* exact and one-too-small heap buffers */
	uint8_t *exact = malloc(len), *small = malloc(len - 1 ? len - 1 : 1);
	size_t n2 = 0;
	if (!exact || !small)
		abort();
	if (body_encode(kind, &b1, exact, len, &n2) != 0 || n2 != len ||
	    memcmp(exact, body, len) != 0)
		fail(kind, "body_encode into an exact-size buffer failed or differs");
	if (body_encode(kind, &b1, small, len - 1, &n2) == 0)
		fail(kind, "body_encode succeeded into a buffer one byte too small");
	free(small);

	memset(&b2, 0xa5, sizeof b2);
	if (body_decode(kind, exact, len, &b2) != 0)
		fail(kind, "re-encoded body does not decode");
	if (memcmp(&b1, &b2, sc->size) != 0)
		fail(kind, "re-decoded struct differs");
	free(exact);
	return 0;
}
