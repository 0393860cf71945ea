/* Domain-separated signatures.
 *
 * Every signed object has a context string naming its type (record kinds
 * use "mirrornet/v1/record/<kind>"; later objects add their own). What is
 * signed (Ed25519, RFC 8032 pure mode) is the 32-byte digest
 *     BLAKE2b-256( len(ctx) as one byte ‖ ctx ‖ message )
 * so a signature made for one type of object never verifies as another,
 * and the digest doubles as the object's id. */
#ifndef MN_SIGN_H
#define MN_SIGN_H
#include <stddef.h>
#include <stdint.h>
#include "crypto/key.h"

/* Contexts are NUL-terminated constants of at most SIGN_CTX_MAX bytes. A
 * longer one is a programming error; it is still hashed in full, with
 * min(len, 255) as its length byte, so distinct contexts still give
 * distinct digests (but above 255 bytes the ctx/message boundary is no
 * longer unambiguous). NULL counts as "". */
#define SIGN_CTX_MAX 64

/* digest = H(len(ctx) ‖ ctx ‖ prefix ‖ msg); prefix may be NULL/0 (it lets
 * callers hash a message whose first bytes differ from their buffer's,
 * without a copy); msg may be NULL when len is 0. */
void sign_digest(const char *ctx, const uint8_t *prefix, size_t prefix_len,
		 const uint8_t *msg, size_t len, uint8_t digest[32]);
void sign_digest_sign(const struct node_key *k, const uint8_t digest[32], uint8_t sig[64]);
/* 0 or CRYPTO_ERR_BADSIG (also for a malformed key or signature). */
int sign_digest_verify(const uint8_t pk[32], const uint8_t digest[32], const uint8_t sig[64]);

/* Convenience: digest then sign / verify. */
void sign_detached(const struct node_key *k, const char *ctx, const uint8_t *msg, size_t len,
		   uint8_t sig[64]);
int sign_verify(const uint8_t pk[32], const char *ctx, const uint8_t *msg, size_t len,
		const uint8_t sig[64]);

#endif
