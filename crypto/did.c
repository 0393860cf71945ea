/* did:key (W3C did-method-key) for Ed25519 and X25519 public keys. */
#include <stdbool.h>
#include <string.h>
#include "crypto/base58.h"
#include "crypto/crypto.h"
#include "crypto/did.h"

#define DID_PREFIX "did:key:"
#define DID_PREFIX_LEN (sizeof(DID_PREFIX) - 1)
#define MULTIBASE_BTC 'z'

/* multicodec varints: ed25519-pub 0xed, x25519-pub 0xec */
static const uint8_t codecs[2][2] = {
	[DID_ED25519] = { 0xed, 0x01 },
	[DID_X25519] = { 0xec, 0x01 },
};

static bool valid_type(enum did_type type)
{
	return type == DID_ED25519 || type == DID_X25519;
}

int did_key_encode(enum did_type type, const uint8_t pk[32], char *out, size_t cap)
{
	uint8_t raw[2 + 32];
	size_t hdr = DID_PREFIX_LEN + 1;
	int n;

	if (!out || cap == 0)
		return CRYPTO_ERR_ARG;
	out[0] = 0;
	if (!valid_type(type) || !pk || cap <= hdr)
		return CRYPTO_ERR_ARG;
	memcpy(raw, codecs[type], 2);
	memcpy(raw + 2, pk, 32);
	memcpy(out, DID_PREFIX, DID_PREFIX_LEN);
	out[DID_PREFIX_LEN] = MULTIBASE_BTC;
	n = base58_encode(raw, sizeof raw, out + hdr, cap - hdr);
	if (n < 0) {
		out[0] = 0;
		return CRYPTO_ERR_ARG;
	}
	return 0;
}

int did_key_decode(enum did_type type, const char *did, uint8_t pk[32])
{
	uint8_t raw[2 + 32];
	char again[DID_KEY_MAX];
	int n;

	if (!valid_type(type) || !did || !pk)
		return CRYPTO_ERR_DID;
	if (strncmp(did, DID_PREFIX, DID_PREFIX_LEN) != 0 ||
	    did[DID_PREFIX_LEN] != MULTIBASE_BTC)
		return CRYPTO_ERR_DID;
	n = base58_decode(did + DID_PREFIX_LEN + 1, raw, sizeof raw);
	if (n != (int)sizeof raw || memcmp(raw, codecs[type], 2) != 0)
		return CRYPTO_ERR_DID;
	/* only the canonical spelling names a key */
	if (did_key_encode(type, raw + 2, again, sizeof again) < 0 || strcmp(again, did) != 0)
		return CRYPTO_ERR_DID;
	memcpy(pk, raw + 2, 32);
	return 0;
}

void did_key_short(const char *did, char *out, size_t cap)
{
	static const char ellipsis[] = "\xe2\x80\xa6";
	const size_t head = 8, tail = 4, ell = sizeof(ellipsis) - 1;
	size_t n;

	if (!out || cap == 0)
		return;
	out[0] = 0;
	if (!did)
		return;
	if (strncmp(did, DID_PREFIX, DID_PREFIX_LEN) == 0)
		did += DID_PREFIX_LEN;
	n = strlen(did);
	if (n <= head + tail) {
		if (n > cap - 1)
			n = cap - 1;
		memcpy(out, did, n);
		out[n] = 0;
		return;
	}
	if (cap < head + ell + tail + 1) {
		n = head < cap - 1 ? head : cap - 1;
		memcpy(out, did, n);
		out[n] = 0;
		return;
	}
	memcpy(out, did, head);
	memcpy(out + head, ellipsis, ell);
	memcpy(out + head + ell, did + n - tail, tail);
	out[head + ell + tail] = 0;
}
