/* Fuzz target: did_key_decode() (did:key strings from peers, mDNS TXT
 * records and the command line) and did_key_short() (table output of any
 * string). The input is taken as a string: copied into a heap buffer of
 * exactly size + 1 bytes and NUL-terminated (so ASan sees an over-read);
 * inputs over 512 bytes are skipped.
 *
 * Properties checked (abort() on violation):
 *   - canonical form: for both types, when did_key_decode() accepts,
 *     did_key_encode() of the key gives back exactly the input;
 *   - no string is a did:key of both types (the codec prefix differs);
 *   - pk is written only on success;
 *   - did_key_short() stays inside its buffer and NUL-terminates for every
 *     cap from 1 to 24, and for a valid did with cap 24 gives
 *     "<8 chars>…<last 4 chars>";
 *   - the first 32 input bytes, as a key, encode to a did of both types
 *     that decodes back to the same key. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/crypto.h"
#include "crypto/did.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 512
#define SHORT_CAP 24
#define PREFIX "did:key:"
#define PREFIX_LEN (sizeof(PREFIX) - 1)

__attribute__((noreturn)) static void fail(const char *what)
{
	fprintf(stderr, "fuzz_did: property violated: %s\n", what);
	abort();
}

static void check_short(const char *s, int valid)
{
	for (size_t cap = 1; cap <= SHORT_CAP; cap++) {
		char *out = malloc(cap);
		if (!out)
			abort();
		memset(out, 'x', cap);
		did_key_short(s, out, cap);
		if (!memchr(out, 0, cap))
			fail("did_key_short: result not NUL-terminated inside cap");
		if (valid && cap == SHORT_CAP) {
			const char *id = s + PREFIX_LEN;
			size_t n = strlen(id);
			char want[SHORT_CAP];
			snprintf(want, sizeof want, "%.8s\xe2\x80\xa6%s", id, id + n - 4);
			if (strcmp(out, want) != 0)
				fail("did_key_short of a valid did is not head…tail");
		}
		free(out);
	}
}

static void check_decode(enum did_type type, const char *s, int *accepted)
{
	uint8_t pk[32], sentinel[32];
	char again[DID_KEY_MAX];

	memset(sentinel, 0x5a, sizeof sentinel);
	memcpy(pk, sentinel, sizeof pk);
	if (did_key_decode(type, s, pk) != 0) {
		if (memcmp(pk, sentinel, sizeof pk) != 0)
			fail("did_key_decode wrote pk on failure");
		*accepted = 0;
		return;
	}
	*accepted = 1;
	if (did_key_encode(type, pk, again, sizeof again) != 0)
		fail("did_key_encode refused a decoded key");
	if (strcmp(again, s) != 0)
		fail("re-encoded did differs from the input (not canonical)");
}

static void check_encode(const uint8_t pk[32])
{
	for (int t = DID_ED25519; t <= DID_X25519; t++) {
		char s[DID_KEY_MAX];
		uint8_t back[32];

		if (did_key_encode((enum did_type)t, pk, s, sizeof s) != 0)
			fail("did_key_encode refused a key");
		if (strnlen(s, sizeof s) >= sizeof s || strncmp(s, PREFIX "z", PREFIX_LEN + 1) != 0)
			fail("did_key_encode output malformed");
		if (did_key_decode((enum did_type)t, s, back) != 0 || memcmp(back, pk, 32) != 0)
			fail("encoded did does not decode to its key");
		if (did_key_decode((enum did_type)!t, s, back) == 0)
			fail("a did decodes as the other key type");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int ed = 0, x = 0;
	char *s;

	if (crypto_init() != 0)
		abort();
	if (size > MAX_INPUT)
		return 0;
	s = malloc(size + 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = 0;

	check_decode(DID_ED25519, s, &ed);
	check_decode(DID_X25519, s, &x);
	if (ed && x)
		fail("a string decodes as both Ed25519 and X25519");
	check_short(s, ed || x);
	if (size >= 32)
		check_encode(data);
	free(s);
	return 0;
}
