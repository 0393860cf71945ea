/* base58btc (Bitcoin alphabet), as used by multibase 'z'. Not constant
 * time: for public keys and ids only. */
#ifndef MN_BASE58_H
#define MN_BASE58_H
#include <stddef.h>
#include <stdint.h>

#define BASE58_ENCODE_MAX 128   /* bytes base58_encode accepts */
#define BASE58_DECODE_MAX 256   /* characters base58_decode accepts */

/* Encode n bytes (n <= BASE58_ENCODE_MAX) into out (cap bytes incl. NUL).
 * Returns the string length, or CRYPTO_ERR_ARG if n is too large or the
 * result does not fit. Leading zero bytes become '1'; n == 0 gives "". */
int base58_encode(const uint8_t *in, size_t n, char *out, size_t cap);
/* Decode a NUL-terminated string (<= BASE58_DECODE_MAX chars) into out
 * (cap bytes). Returns the byte count, or CRYPTO_ERR_FORMAT (bad char, too
 * long) or CRYPTO_ERR_ARG (does not fit). Leading '1's become zero bytes;
 * "" gives 0 bytes. Every string of the alphabet has exactly one decoding,
 * and encoding it gives the string back. */
int base58_decode(const char *in, uint8_t *out, size_t cap);

#endif
