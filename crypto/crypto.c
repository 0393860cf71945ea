/* crypto/ initialisation, error strings and thin libsodium wrappers. */
#include <sodium.h>
#include "crypto/crypto.h"

int crypto_init(void)
{
	/* sodium_init: 0 first time, 1 if already done, -1 on failure */
	return sodium_init() < 0 ? CRYPTO_ERR_INIT : 0;
}

const char *crypto_strerror(int err)
{
	switch (err) {
	case CRYPTO_OK: return "ok";
	case CRYPTO_ERR_INIT: return "libsodium failed to initialise";
	case CRYPTO_ERR_ARG: return "invalid argument";
	case CRYPTO_ERR_IO: return "file I/O error";
	case CRYPTO_ERR_EXISTS: return "key file already exists";
	case CRYPTO_ERR_FORMAT: return "malformed key file or encoding";
	case CRYPTO_ERR_BADSIG: return "bad signature";
	case CRYPTO_ERR_DID: return "invalid did:key";
	case CRYPTO_ERR_ENCODE: return "object to sign does not encode";
	case CHAIN_ERR_EMPTY: return "empty certificate chain";
	case CHAIN_ERR_TOO_LONG: return "certificate chain too long";
	case CHAIN_ERR_KIND: return "chain link is not a certificate";
	case CHAIN_ERR_ROOT: return "chain not issued by the mesh root";
	case CHAIN_ERR_LINK: return "chain link not issued by the previous subject";
	case CHAIN_ERR_SIG: return "chain link signature does not verify";
	case CHAIN_ERR_SUBJECT: return "chain does not end at the node";
	case CHAIN_ERR_EXPIRED: return "certificate expired";
	case CHAIN_ERR_NOT_YET: return "certificate not yet valid";
	case CHAIN_ERR_DEPTH: return "certificate depth out of range";
	case CHAIN_ERR_MAX_DEPTH: return "certificate max_depth above its issuer's";
	case CHAIN_ERR_ROLE: return "certificate role not allowed";
	case CHAIN_ERR_SCOPE: return "DNS scope outside the issuer's";
	case CHAIN_ERR_REVOKED: return "key on the chain is revoked";
	case CHAIN_ERR_BODY: return "certificate body does not decode";
	}
	return "unknown error";
}

void crypto_wipe(void *p, size_t n)
{
	if (p && n)
		sodium_memzero(p, n);
}

void crypto_blake2b(const uint8_t *in, size_t n, uint8_t out[32])
{
	crypto_generichash(out, 32, in, n, NULL, 0);
}

void crypto_random(void *buf, size_t n)
{
	if (n)
		randombytes_buf(buf, n);
}
