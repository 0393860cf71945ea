/* Domain-separated signatures (crypto/sign.h). */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "tests/check.h"
#include "crypto/crypto.h"
#include "crypto/key.h"
#include "crypto/sign.h"
#include "proto/hex.h"

#define CTX_NODE "mirrornet/v1/record/node"
#define CTX_CERT "mirrornet/v1/record/cert"

static const uint8_t msg[] = "a record body: \x00\x01\x02 and some more bytes";

static void test_round_trip(void)
{
	struct node_key k;
	uint8_t sig[64], sig2[64];

	CHECK_INT(node_key_generate(&k), 0);
	sign_detached(&k, CTX_NODE, msg, sizeof msg, sig);
	CHECK_INT(sign_verify(k.pk, CTX_NODE, msg, sizeof msg, sig), 0);
	/* deterministic */
	sign_detached(&k, CTX_NODE, msg, sizeof msg, sig2);
	CHECK_MEM(sig, sig2, 64);
	/* the empty message */
	sign_detached(&k, CTX_NODE, NULL, 0, sig);
	CHECK_INT(sign_verify(k.pk, CTX_NODE, NULL, 0, sig), 0);
	CHECK_INT(sign_verify(k.pk, CTX_NODE, msg, 1, sig), CRYPTO_ERR_BADSIG);
	node_key_wipe(&k);
}

static void test_domain_separation(void)
{
	struct node_key k;
	uint8_t sig[64], d1[32], d2[32];

	CHECK_INT(node_key_generate(&k), 0);
	sign_detached(&k, CTX_NODE, msg, sizeof msg, sig);
	CHECK_INT(sign_verify(k.pk, CTX_CERT, msg, sizeof msg, sig), CRYPTO_ERR_BADSIG);
	CHECK_INT(sign_verify(k.pk, "", msg, sizeof msg, sig), CRYPTO_ERR_BADSIG);
	CHECK_INT(sign_verify(k.pk, CTX_NODE "/", msg, sizeof msg, sig), CRYPTO_ERR_BADSIG);

	/* the length byte fixes the ctx/message boundary */
	sign_digest("ab", NULL, 0, (const uint8_t *)"c", 1, d1);
	sign_digest("a", NULL, 0, (const uint8_t *)"bc", 2, d2);
	CHECK(memcmp(d1, d2, 32) != 0);
	sign_digest("", NULL, 0, (const uint8_t *)"", 0, d1);
	sign_digest(NULL, NULL, 0, NULL, 0, d2);
	CHECK_MEM(d1, d2, 32);

	/* the signature covers the digest, not the raw message */
	uint8_t raw_sig[64];
	sign_digest(CTX_NODE, NULL, 0, msg, sizeof msg, d1);
	sign_digest_sign(&k, d1, raw_sig);
	CHECK_MEM(raw_sig, sig, 64);
	CHECK_INT(sign_digest_verify(k.pk, d1, sig), 0);
	node_key_wipe(&k);
}

static void test_bit_flips(void)
{
	struct node_key k;
	uint8_t sig[64], m[sizeof msg], s[64];
	int bad_msg = 0, bad_sig = 0;

	CHECK_INT(node_key_generate(&k), 0);
	sign_detached(&k, CTX_NODE, msg, sizeof msg, sig);
	for (size_t bit = 0; bit < 8 * sizeof msg; bit++) {
		memcpy(m, msg, sizeof msg);
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (sign_verify(k.pk, CTX_NODE, m, sizeof m, sig) != CRYPTO_ERR_BADSIG)
			bad_msg++;
	}
	for (size_t bit = 0; bit < 8 * sizeof sig; bit++) {
		memcpy(s, sig, sizeof sig);
		s[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (sign_verify(k.pk, CTX_NODE, msg, sizeof msg, s) != CRYPTO_ERR_BADSIG)
			bad_sig++;
	}
	CHECK_INT(bad_msg, 0);
	CHECK_INT(bad_sig, 0);
	CHECK_INT(sign_verify(k.pk, CTX_NODE, msg, sizeof msg - 1, sig), CRYPTO_ERR_BADSIG);
	node_key_wipe(&k);
}

static void test_wrong_key(void)
{
	struct node_key a, b;
	uint8_t sig[64], zero[32] = { 0 };

	CHECK_INT(node_key_generate(&a), 0);
	CHECK_INT(node_key_generate(&b), 0);
	sign_detached(&a, CTX_NODE, msg, sizeof msg, sig);
	CHECK_INT(sign_verify(b.pk, CTX_NODE, msg, sizeof msg, sig), CRYPTO_ERR_BADSIG);
	CHECK_INT(sign_verify(zero, CTX_NODE, msg, sizeof msg, sig), CRYPTO_ERR_BADSIG);
	CHECK_INT(sign_verify(a.pk, CTX_NODE, msg, sizeof msg, sig), 0);
	node_key_wipe(&a);
	node_key_wipe(&b);
}

static void test_prefix(void)
{
	uint8_t whole[sizeof msg], d1[32], d2[32];

	memcpy(whole, msg, sizeof msg);
	sign_digest(CTX_NODE, NULL, 0, whole, sizeof whole, d1);
	for (size_t cut = 0; cut <= sizeof whole; cut++) {
		sign_digest(CTX_NODE, whole, cut, whole + cut, sizeof whole - cut, d2);
		CHECK_MEM(d1, d2, 32);
	}
	/* a different prefix changes the digest */
	uint8_t other = (uint8_t)(whole[0] ^ 1);
	sign_digest(CTX_NODE, &other, 1, whole + 1, sizeof whole - 1, d2);
	CHECK(memcmp(d1, d2, 32) != 0);
}

/* digest = BLAKE2b-256(len(ctx) ‖ ctx ‖ msg), independently computed
 * (Python hashlib.blake2b(digest_size=32)). */
static void test_digest_vector(void)
{
	static const char want_hex[] =
		"b69980afc82b4347b8e04f603b94e98318c073beb79210c7cc93c7fd0d2d90fc";
	static const char empty_hex[] =
		"0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8";
	uint8_t d[32], want[32], buf[1 + sizeof CTX_NODE - 1 + 5];
	char hex[65];

	sign_digest(CTX_NODE, NULL, 0, (const uint8_t *)"hello", 5, d);
	CHECK_INT(hex_decode(want_hex, want, sizeof want), 0);
	CHECK_MEM(d, want, 32);
	sign_digest(CTX_NODE, (const uint8_t *)"he", 2, (const uint8_t *)"llo", 3, d);
	CHECK_MEM(d, want, 32);
	buf[0] = (uint8_t)(sizeof CTX_NODE - 1);
	memcpy(buf + 1, CTX_NODE, sizeof CTX_NODE - 1);
	memcpy(buf + sizeof CTX_NODE, "hello", 5);
	crypto_blake2b(buf, sizeof buf, d);
	CHECK_MEM(d, want, 32);
	crypto_blake2b(NULL, 0, d);
	hex_encode(d, 32, hex);
	CHECK_STR(hex, empty_hex);
}

static void test_long_ctx(void)
{
	char a[300], b[300];
	uint8_t d1[32], d2[32];

	memset(a, 'x', sizeof a - 1);
	a[sizeof a - 1] = 0;
	memcpy(b, a, sizeof b);
	b[280] = 'y';
	sign_digest(a, NULL, 0, msg, sizeof msg, d1);
	sign_digest(b, NULL, 0, msg, sizeof msg, d2);
	CHECK(memcmp(d1, d2, 32) != 0);
	a[SIGN_CTX_MAX] = 0;
	sign_digest(a, NULL, 0, msg, sizeof msg, d2);
	CHECK(memcmp(d1, d2, 32) != 0);
}

static void test_strerror(void)
{
	for (int e = CHAIN_ERR_BODY; e <= CRYPTO_OK; e++) {
		const char *s = crypto_strerror(e);
		bool named = (e >= CRYPTO_ERR_ENCODE) || (e <= CHAIN_ERR_EMPTY);

		CHECK(s != NULL);
		CHECK(strcmp(s, "unknown error") != 0 || !named);
	}
	CHECK_STR(crypto_strerror(1), "unknown error");
	CHECK_STR(crypto_strerror(-9), "unknown error");
}

int main(void)
{
	if (crypto_init() < 0) {
		fprintf(stderr, "crypto_init failed\n");
		return 1;
	}
	test_round_trip();
	test_domain_separation();
	test_bit_flips();
	test_wrong_key();
	test_prefix();
	test_digest_vector();
	test_long_ctx();
	test_strerror();
	return check_exit();
}
