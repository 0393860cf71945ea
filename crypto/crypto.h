/* crypto/ error convention and initialisation. crypto/ is the only code
 * that includes sodium.h; it never logs — problems worth a warning (a key
 * file others can read) are reported to the caller, who logs. */
#ifndef MN_CRYPTO_H
#define MN_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

enum crypto_err {
	CRYPTO_OK = 0,
	CRYPTO_ERR_INIT = -1,      /* libsodium failed to initialise */
	CRYPTO_ERR_ARG = -2,       /* invalid argument */
	CRYPTO_ERR_IO = -3,        /* a file operation failed (errno kept) */
	CRYPTO_ERR_EXISTS = -4,    /* refusing to overwrite an existing key file */
	CRYPTO_ERR_FORMAT = -5,    /* a key file or encoding that does not parse */
	CRYPTO_ERR_BADSIG = -6,    /* signature does not verify */
	CRYPTO_ERR_DID = -7,       /* not a valid did:key of the expected type */
	CRYPTO_ERR_ENCODE = -8,    /* the object to sign does not encode */
	/* certificate chain validation (crypto/chain.h) */
	CHAIN_ERR_EMPTY = -20,     /* no certificate for a node that is not the root */
	CHAIN_ERR_TOO_LONG = -21,  /* more links than MN_MAX_DEPTH + 1 */
	CHAIN_ERR_KIND = -22,      /* a link is not a cert record */
	CHAIN_ERR_ROOT = -23,      /* first link not signed by the mesh root */
	CHAIN_ERR_LINK = -24,      /* a link not signed by the previous subject */
	CHAIN_ERR_SIG = -25,       /* a link's signature does not verify */
	CHAIN_ERR_SUBJECT = -26,   /* the last subject is not the node */
	CHAIN_ERR_EXPIRED = -27,   /* now > not_after on some link */
	CHAIN_ERR_NOT_YET = -28,   /* now < not_before on some link */
	CHAIN_ERR_DEPTH = -29,     /* depth not parent depth + 1, or > max_depth */
	CHAIN_ERR_MAX_DEPTH = -30, /* a child's max_depth above its parent's */
	CHAIN_ERR_ROLE = -31,      /* issuer may not issue, or role not allowed */
	CHAIN_ERR_SCOPE = -32,     /* DNS scope not inside the parent's */
	CHAIN_ERR_REVOKED = -33,   /* a key on the chain is revoked */
	CHAIN_ERR_BODY = -34,      /* a link's body does not decode / tombstone */
};

/* Static description of a crypto_err (or any int). */
const char *crypto_strerror(int err);

/* Call once before anything else in crypto/ (idempotent, thread-safe as
 * sodium_init). 0 or CRYPTO_ERR_INIT. */
int crypto_init(void);

/* Wipe n bytes (not optimised away). */
void crypto_wipe(void *p, size_t n);

/* BLAKE2b-256 (unkeyed) of n bytes; in may be NULL when n is 0. (Not
 * named crypto_hash: libsodium exports that name, SHA-512.) */
void crypto_blake2b(const uint8_t *in, size_t n, uint8_t out[32]);

/* Fill buf with n random bytes from the OS generator. */
void crypto_random(void *buf, size_t n);

#endif
