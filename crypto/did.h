/* did:key for Ed25519 (multicodec 0xed 0x01) and X25519 (0xec 0x01):
 * "did:key:z" + base58btc(codec ‖ 32-byte key). */
#ifndef MN_DID_H
#define MN_DID_H
#include <stddef.h>
#include <stdint.h>

#define DID_KEY_MAX 64  /* enough for both kinds, with NUL (56 chars) */

enum did_type { DID_ED25519 = 0, DID_X25519 = 1 };

/* Write the did:key of pk into out (cap >= DID_KEY_MAX). 0 or
 * CRYPTO_ERR_ARG (unknown type, out too small; out is then ""). */
int did_key_encode(enum did_type type, const uint8_t pk[32], char *out, size_t cap);
/* Parse a did:key of the given type: exactly the string did_key_encode
 * gives (no fragment, whitespace or other multibase). 0 or CRYPTO_ERR_DID;
 * pk is only written on success. The key itself is not checked to be a
 * valid curve point. */
int did_key_decode(enum did_type type, const char *did, uint8_t pk[32]);
/* Short form for tables: "z6Mk…" with the first 8 chars after "did:key:"
 * and the last 4, e.g. "z6MkiTBz…ooWp" (the ellipsis is UTF-8, 3 bytes).
 * A string that does not start with "did:key:" is shortened the same way;
 * one of 12 chars or fewer is copied whole. out cap >= 16; with a smaller
 * cap the result is cut (never inside the ellipsis); always NUL-terminated
 * when cap > 0. */
void did_key_short(const char *did, char *out, size_t cap);

#endif
