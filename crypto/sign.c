/* Domain-separated Ed25519 signatures over a BLAKE2b-256 digest; see sign.h. */
#include <string.h>
#include <sodium.h>
#include "crypto/crypto.h"
#include "crypto/sign.h"

void sign_digest(const char *ctx, const uint8_t *prefix, size_t prefix_len,
		 const uint8_t *msg, size_t len, uint8_t digest[32])
{
	crypto_generichash_state st;
	size_t n = ctx ? strlen(ctx) : 0;
	uint8_t n8 = (uint8_t)(n > 255 ? 255 : n);

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, &n8, 1);
	if (n)
		crypto_generichash_update(&st, (const uint8_t *)ctx, n);
	if (prefix_len)
		crypto_generichash_update(&st, prefix, prefix_len);
	if (len)
		crypto_generichash_update(&st, msg, len);
	crypto_generichash_final(&st, digest, 32);
}

void sign_digest_sign(const struct node_key *k, const uint8_t digest[32], uint8_t sig[64])
{
	crypto_sign_ed25519_detached(sig, NULL, digest, 32, k->sk);
}

int sign_digest_verify(const uint8_t pk[32], const uint8_t digest[32], const uint8_t sig[64])
{
	if (crypto_sign_ed25519_verify_detached(sig, digest, 32, pk) != 0)
		return CRYPTO_ERR_BADSIG;
	return 0;
}

void sign_detached(const struct node_key *k, const char *ctx, const uint8_t *msg, size_t len,
		   uint8_t sig[64])
{
	uint8_t digest[32];

	sign_digest(ctx, NULL, 0, msg, len, digest);
	sign_digest_sign(k, digest, sig);
}

int sign_verify(const uint8_t pk[32], const char *ctx, const uint8_t *msg, size_t len,
		const uint8_t sig[64])
{
	uint8_t digest[32];

	sign_digest(ctx, NULL, 0, msg, len, digest);
	return sign_digest_verify(pk, digest, sig);
}
