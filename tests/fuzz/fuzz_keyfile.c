/* Fuzz target: node_key_parse(), the key file parser (the file could have
 * been replaced by anyone with write access to its directory). libFuzzer
 * and the replayer hand over a heap buffer of exactly size bytes, so ASan
 * reports any read outside [data, data + size).
 *
 * Properties checked (abort() on violation):
 *   - one spelling per key: an accepted input is exactly the 91-byte file
 *     node_key_save() writes for that seed (header, 64 lower-case hex
 *     digits, newline);
 *   - the public key is the one derived from the seed (node_key_from_seed
 *     on the first 32 bytes of sk), and sk = seed ‖ pk;
 *   - on error the key is zeroed; node_key_wipe() zeroes it after use. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/crypto.h"
#include "crypto/key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADER "mirrornet-ed25519-seed-v1\n"
#define HEADER_LEN (sizeof(HEADER) - 1)

__attribute__((noreturn)) static void fail(const char *what)
{
	fprintf(stderr, "fuzz_keyfile: property violated: %s\n", what);
	abort();
}

static int all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= b[i];
	return acc == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char hexd[] = "0123456789abcdef";
	struct node_key k, d;
	char want[NODE_KEY_FILE_LEN];

	if (crypto_init() != 0)
		abort();
	memset(&k, 0xa5, sizeof k);
	if (node_key_parse(&k, (const char *)data, size) != 0) {
		if (!all_zero(&k, sizeof k))
			fail("key not zeroed after a parse error");
		return 0;
	}

	if (size != NODE_KEY_FILE_LEN)
		fail("accepted a key file that is not NODE_KEY_FILE_LEN bytes");
	memcpy(want, HEADER, HEADER_LEN);
	for (size_t i = 0; i < 32; i++) {
		want[HEADER_LEN + 2 * i] = hexd[k.sk[i] >> 4];
		want[HEADER_LEN + 2 * i + 1] = hexd[k.sk[i] & 15];
	}
	want[NODE_KEY_FILE_LEN - 1] = '\n';
	if (memcmp(want, data, NODE_KEY_FILE_LEN) != 0)
		fail("accepted input is not the canonical key file of its seed");
	crypto_wipe(want, sizeof want);

	if (node_key_from_seed(&d, k.sk) != 0)
		fail("node_key_from_seed refused the parsed seed");
	if (memcmp(d.pk, k.pk, sizeof d.pk) != 0)
		fail("public key does not match the seed");
	if (memcmp(d.sk, k.sk, sizeof d.sk) != 0 || memcmp(k.sk + 32, k.pk, 32) != 0)
		fail("secret key is not seed || pk");

	node_key_wipe(&k);
	node_key_wipe(&d);
	if (!all_zero(&k, sizeof k) || !all_zero(&d, sizeof d))
		fail("node_key_wipe left key bytes");
	return 0;
}
