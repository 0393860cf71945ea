/* base58btc by repeated multiply-and-add on a little-endian digit array;
 * quadratic, fine for the <= 128-byte inputs the header allows. */
#include <string.h>
#include "crypto/base58.h"
#include "crypto/crypto.h"

static const char alphabet[] =
	"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* log(256) / log(58) < 1.38 and log(58) / log(256) < 0.733 */
#define ENC_DIGITS (BASE58_ENCODE_MAX * 138 / 100 + 1)
#define DEC_BYTES  (BASE58_DECODE_MAX * 733 / 1000 + 1)

/* Digit value of c, or -1. */
static int digit(unsigned char c)
{
	const char *p;

	if (c == 0)
		return -1;
	p = strchr(alphabet, c);
	return p ? (int)(p - alphabet) : -1;
}

int base58_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
	uint8_t d[ENC_DIGITS];
	size_t zeros = 0, nd = 0, len, i, j;

	if (n > BASE58_ENCODE_MAX || (n && !in) || !out || cap == 0)
		return CRYPTO_ERR_ARG;
	while (zeros < n && in[zeros] == 0)
		zeros++;
	for (i = zeros; i < n; i++) {
		unsigned carry = in[i];

		for (j = 0; j < nd; j++) {
			carry += (unsigned)d[j] << 8;
			d[j] = (uint8_t)(carry % 58);
			carry /= 58;
		}
		while (carry) {
			d[nd++] = (uint8_t)(carry % 58);
			carry /= 58;
		}
	}
	len = zeros + nd;
	if (len >= cap) {
		out[0] = 0;
		return CRYPTO_ERR_ARG;
	}
	memset(out, '1', zeros);
	for (j = 0; j < nd; j++)
		out[zeros + j] = alphabet[d[nd - 1 - j]];
	out[len] = 0;
	return (int)len;
}

int base58_decode(const char *in, uint8_t *out, size_t cap)
{
	uint8_t b[DEC_BYTES];
	size_t n, zeros = 0, nb = 0, i, j;

	if (!in || (cap && !out))
		return CRYPTO_ERR_ARG;
	n = strnlen(in, BASE58_DECODE_MAX + 1);
	if (n > BASE58_DECODE_MAX)
		return CRYPTO_ERR_FORMAT;
	while (zeros < n && in[zeros] == alphabet[0])
		zeros++;
	for (i = zeros; i < n; i++) {
		int v = digit((unsigned char)in[i]);
		unsigned carry;

		if (v < 0)
			return CRYPTO_ERR_FORMAT;
		carry = (unsigned)v;
		for (j = 0; j < nb; j++) {
			carry += (unsigned)b[j] * 58;
			b[j] = (uint8_t)carry;
			carry >>= 8;
		}
		while (carry) {
			b[nb++] = (uint8_t)carry;
			carry >>= 8;
		}
	}
	if (zeros + nb > cap)
		return CRYPTO_ERR_ARG;
	if (zeros)
		memset(out, 0, zeros);
	for (j = 0; j < nb; j++)
		out[zeros + j] = b[nb - 1 - j];
	return (int)(zeros + nb);
}
