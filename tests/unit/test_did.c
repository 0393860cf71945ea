/* did:key, base58btc and the Ed25519 key vectors they rest on. */
#include <stdint.h>
#include <string.h>
#include <sodium.h>
#include "tests/check.h"
#include "crypto/base58.h"
#include "crypto/crypto.h"
#include "crypto/did.h"
#include "crypto/key.h"
#include "proto/hex.h"

/* W3C did-method-key test vectors: seed = 31 zero bytes then k. */
static const struct {
	const char *did;
	const char *pk;
} w3c[] = {
	{ "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
	  "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29" },
	{ "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
	  "4cb5abf6ad79fbf5abbccafcc269d85cd2651ed4b885b5869f241aedf0a5ba29" },
	{ "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf",
	  "7422b9887598068e32c4448a949adb290d0f4e35b9e01b0ee5f1a1e600fe2674" },
	{ "did:key:z6MkvqoYXQfDDJRv8L4wKzxYeuKyVZBfi9Qo6Ro8MiLH3kDQ",
	  "f381626e41e7027ea431bfe3009e94bdd25a746beec468948d6c3c7c5dc9a54b" },
	{ "did:key:z6MkwW6aqMnjgrhJXFUko3NnZPGzVpkNzhYK7yEhnsibmLwL",
	  "fd50b8e3b144ea244fbf7737f550bc8dd0c2650bbc1aada833ca17ff8dbf329b" },
};

#define X25519_SEED0 "did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW"

static void test_w3c_vectors(void)
{
	for (size_t i = 0; i < sizeof w3c / sizeof w3c[0]; i++) {
		uint8_t seed[32] = { 0 }, pk[32];
		char hex[65], did[DID_KEY_MAX];
		struct node_key k;

		seed[31] = (uint8_t)i;
		CHECK_INT(node_key_from_seed(&k, seed), 0);
		hex_encode(k.pk, 32, hex);
		CHECK_STR(hex, w3c[i].pk);
		CHECK_INT(did_key_encode(DID_ED25519, k.pk, did, sizeof did), 0);
		CHECK_STR(did, w3c[i].did);
		CHECK_INT(strlen(did), 56);
		memset(pk, 0xaa, sizeof pk);
		CHECK_INT(did_key_decode(DID_ED25519, w3c[i].did, pk), 0);
		CHECK_MEM(pk, k.pk, 32);
		/* an Ed25519 did is not an X25519 one */
		CHECK_INT(did_key_decode(DID_X25519, w3c[i].did, pk), CRYPTO_ERR_DID);
		node_key_wipe(&k);
	}
}

static void test_x25519_vector(void)
{
	uint8_t seed[32] = { 0 }, xpk[32], pk[32];
	char did[DID_KEY_MAX];
	struct node_key k;

	CHECK_INT(node_key_from_seed(&k, seed), 0);
	CHECK_INT(crypto_sign_ed25519_pk_to_curve25519(xpk, k.pk), 0);
	CHECK_INT(did_key_encode(DID_X25519, xpk, did, sizeof did), 0);
	CHECK_STR(did, X25519_SEED0);
	CHECK(strncmp(did, "did:key:z6LS", 12) == 0);
	CHECK_INT(did_key_decode(DID_X25519, X25519_SEED0, pk), 0);
	CHECK_MEM(pk, xpk, 32);
	CHECK_INT(did_key_decode(DID_ED25519, X25519_SEED0, pk), CRYPTO_ERR_DID);
	node_key_wipe(&k);
}

/* RFC 8032 §7.1 TEST 1, checked through libsodium directly: our own
 * signatures are over a domain-separated digest, not the raw message. */
static void test_rfc8032(void)
{
	static const char seed_hex[] =
		"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
	static const char pk_hex[] =
		"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
	static const char sig_hex[] =
		"e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
	uint8_t seed[32], pk[32], sig[64], want[64], empty[1] = { 0 };
	char did[DID_KEY_MAX];
	struct node_key k;

	CHECK_INT(hex_decode(seed_hex, seed, sizeof seed), 0);
	CHECK_INT(hex_decode(pk_hex, pk, sizeof pk), 0);
	CHECK_INT(hex_decode(sig_hex, want, sizeof want), 0);
	CHECK_INT(node_key_from_seed(&k, seed), 0);
	CHECK_MEM(k.pk, pk, 32);
	CHECK_MEM(k.sk, seed, 32);
	CHECK_MEM(k.sk + 32, pk, 32);
	CHECK_INT(crypto_sign_ed25519_detached(sig, NULL, empty, 0, k.sk), 0);
	CHECK_MEM(sig, want, 64);
	CHECK_INT(crypto_sign_ed25519_verify_detached(want, empty, 0, pk), 0);
	CHECK_INT(did_key_encode(DID_ED25519, pk, did, sizeof did), 0);
	CHECK_INT(did_key_decode(DID_ED25519, did, seed), 0);
	CHECK_MEM(seed, pk, 32);
	node_key_wipe(&k);
}

/* Bitcoin Core base58_encode_decode.json */
static const struct {
	const char *hex;
	const char *b58;
} b58_vectors[] = {
	{ "", "" },
	{ "61", "2g" },
	{ "626262", "a3gV" },
	{ "636363", "aPEr" },
	{ "73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2" },
	{ "00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L" },
	{ "516b6fcd0f", "ABnLTmg" },
	{ "bf4f89001e670274dd", "3SEo3LWLoPntC" },
	{ "572e4794", "3EFU7m" },
	{ "ecac89cad93923c02321", "EJDM8drfXA6uyA" },
	{ "10c8511e", "Rt5zm" },
	{ "00000000000000000000", "1111111111" },
	{ "00", "1" },
	{ "0000", "11" },
	{ "000001", "112" },
	{ "39", "z" },
	{ "3a", "21" },
};

static void test_base58_vectors(void)
{
	for (size_t i = 0; i < sizeof b58_vectors / sizeof b58_vectors[0]; i++) {
		uint8_t bin[64], back[64];
		size_t n = strlen(b58_vectors[i].hex) / 2;
		char out[128];

		CHECK_INT(hex_decode(b58_vectors[i].hex, bin, n), 0);
		CHECK_INT(base58_encode(bin, n, out, sizeof out), strlen(b58_vectors[i].b58));
		CHECK_STR(out, b58_vectors[i].b58);
		CHECK_INT(base58_decode(b58_vectors[i].b58, back, sizeof back), n);
		CHECK_MEM(back, bin, n);
	}
}

static void test_base58_edges(void)
{
	uint8_t big[BASE58_ENCODE_MAX + 1], back[BASE58_DECODE_MAX + 1];
	char s[BASE58_DECODE_MAX + 2];
	char out[256];
	int n;

	/* empty, with NULL buffers allowed for zero length */
	CHECK_INT(base58_encode(NULL, 0, out, sizeof out), 0);
	CHECK_STR(out, "");
	CHECK_INT(base58_decode("", NULL, 0), 0);
	CHECK_INT(base58_decode("", back, sizeof back), 0);

	/* the largest input, all ones and all zeros */
	memset(big, 0xff, sizeof big);
	n = base58_encode(big, BASE58_ENCODE_MAX, out, sizeof out);
	CHECK(n > 0 && n <= 175);
	CHECK_INT(base58_decode(out, back, sizeof back), BASE58_ENCODE_MAX);
	CHECK_MEM(back, big, BASE58_ENCODE_MAX);
	CHECK_INT(base58_encode(big, BASE58_ENCODE_MAX + 1, out, sizeof out), CRYPTO_ERR_ARG);
	memset(big, 0, sizeof big);
	CHECK_INT(base58_encode(big, BASE58_ENCODE_MAX, out, sizeof out), BASE58_ENCODE_MAX);
	CHECK_INT(strspn(out, "1"), BASE58_ENCODE_MAX);

	/* output capacity counts the NUL */
	big[0] = 0x61;
	CHECK_INT(base58_encode(big, 1, out, 3), 2);
	CHECK_STR(out, "2g");
	CHECK_INT(base58_encode(big, 1, out, 2), CRYPTO_ERR_ARG);
	CHECK_INT(base58_encode(big, 1, out, 0), CRYPTO_ERR_ARG);
	CHECK_INT(base58_decode("2g", back, 1), 1);
	CHECK_INT(base58_decode("2g", back, 0), CRYPTO_ERR_ARG);
	CHECK_INT(base58_decode("112g", back, 2), CRYPTO_ERR_ARG);

	/* input length limit: 256 '1's decode, 257 chars do not */
	memset(s, '1', BASE58_DECODE_MAX);
	s[BASE58_DECODE_MAX] = 0;
	CHECK_INT(base58_decode(s, back, sizeof back), BASE58_DECODE_MAX);
	s[BASE58_DECODE_MAX] = '1';
	s[BASE58_DECODE_MAX + 1] = 0;
	CHECK_INT(base58_decode(s, back, sizeof back), CRYPTO_ERR_FORMAT);
	/* 256 'z's: the largest value the decoder accepts */
	memset(s, 'z', BASE58_DECODE_MAX);
	s[BASE58_DECODE_MAX] = 0;
	n = base58_decode(s, back, sizeof back);
	CHECK_INT(n, 188);

	/* characters outside the alphabet */
	static const char *const bad[] = { "0", "O", "I", "l", "2g0", " 2g", "2g ", "2g\n",
					   "+", "/", "=", "2\xc3\xa9", "\x80", "\xff" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK_INT(base58_decode(bad[i], back, sizeof back), CRYPTO_ERR_FORMAT);
}

static void test_base58_random(void)
{
	for (int iter = 0; iter < 2000; iter++) {
		uint8_t in[BASE58_ENCODE_MAX], back[BASE58_DECODE_MAX];
		char out[BASE58_DECODE_MAX + 1], again[BASE58_DECODE_MAX + 1];
		size_t n = randombytes_uniform(BASE58_ENCODE_MAX + 1);
		size_t zeros = n ? randombytes_uniform((uint32_t)n + 1) : 0;
		int len;

		randombytes_buf(in, n);
		if (iter % 2)
			memset(in, 0, zeros);
		len = base58_encode(in, n, out, sizeof out);
		CHECK(len >= 0);
		if (len < 0)
			continue;
		CHECK_INT(base58_decode(out, back, sizeof back), n);
		CHECK_MEM(back, in, n);
		/* decode → encode gives the string back */
		CHECK_INT(base58_encode(back, n, again, sizeof again), len);
		CHECK_STR(again, out);
	}
}

static void test_did_malformed(void)
{
	static const char *const bad[] = {
		"",
		"did:key:",
		"did:key:z",
		"did",
		"did:key",
		/* wrong method or case */
		"did:web:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
		"DID:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
		"did:KEY:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
		"z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
		"did:key::z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
		/* multibase other than 'z' */
		"did:key:6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
		"did:key:Z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
		"did:key:u7QE7aie8zrakLWKjqNAqbw1zZTIVdx3iQ6Y6wEihi1naKQ",
		"did:key:f ed013b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29",
		/* characters outside base58 */
		"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW0",
		"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWl",
		"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWI",
		"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDOoWp",
		/* trailing or leading junk */
		"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp\n",
		"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp ",
		"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
		"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp1",
		"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWpz",
		" did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
		"did:key: z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
		/* a leading '1' adds a zero byte: wrong length */
		"did:key:z16MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
		/* one character short */
		"did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW",
		/* an X25519 did where Ed25519 is expected */
		X25519_SEED0,
		/* wrong codec: secp256k1-pub 0xe7 0x01 (33 bytes), and 0xed 0x00 */
		"did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
		/* a very long tail */
		"did:key:z6Mk1111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111",
	};
	uint8_t pk[32], zero[32] = { 0 };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(pk, 0, sizeof pk);
		int err = did_key_decode(DID_ED25519, bad[i], pk);
		if (err != CRYPTO_ERR_DID)
			fprintf(stderr, "accepted bad did #%zu: %s\n", i, bad[i]);
		CHECK_INT(err, CRYPTO_ERR_DID);
		CHECK_MEM(pk, zero, 32);
	}
	CHECK_INT(did_key_decode(DID_ED25519, NULL, pk), CRYPTO_ERR_DID);
	CHECK_INT(did_key_decode((enum did_type)7, w3c[0].did, pk), CRYPTO_ERR_DID);
}

/* Encode codec ‖ payload by hand, for lengths and codecs did_key_encode
 * never produces. */
static void make_did(const uint8_t *raw, size_t n, char *out, size_t cap)
{
	memcpy(out, "did:key:z", 9);
	CHECK(base58_encode(raw, n, out + 9, cap - 9) >= 0);
}

static void test_did_wrong_payload(void)
{
	uint8_t raw[40], pk[32];
	char did[128];

	memset(raw, 0x5a, sizeof raw);
	raw[0] = 0xed;
	raw[1] = 0x01;
	make_did(raw, 34, did, sizeof did);
	CHECK_INT(did_key_decode(DID_ED25519, did, pk), 0);
	make_did(raw, 33, did, sizeof did);
	CHECK_INT(did_key_decode(DID_ED25519, did, pk), CRYPTO_ERR_DID);
	make_did(raw, 35, did, sizeof did);
	CHECK_INT(did_key_decode(DID_ED25519, did, pk), CRYPTO_ERR_DID);
	make_did(raw, 2, did, sizeof did);
	CHECK_INT(did_key_decode(DID_ED25519, did, pk), CRYPTO_ERR_DID);
	raw[1] = 0x00;
	make_did(raw, 34, did, sizeof did);
	CHECK_INT(did_key_decode(DID_ED25519, did, pk), CRYPTO_ERR_DID);
	raw[0] = 0xec;
	raw[1] = 0x01;
	make_did(raw, 34, did, sizeof did);
	CHECK_INT(did_key_decode(DID_ED25519, did, pk), CRYPTO_ERR_DID);
	CHECK_INT(did_key_decode(DID_X25519, did, pk), 0);
	/* a zero codec byte would need a leading '1' */
	raw[0] = 0x00;
	make_did(raw, 34, did, sizeof did);
	CHECK_INT(did_key_decode(DID_ED25519, did, pk), CRYPTO_ERR_DID);
}

static void test_did_encode_args(void)
{
	uint8_t pk[32] = { 0 };
	char did[DID_KEY_MAX];

	CHECK_INT(did_key_encode(DID_ED25519, pk, did, 56), CRYPTO_ERR_ARG);
	CHECK_STR(did, "");
	CHECK_INT(did_key_encode(DID_ED25519, pk, did, 57), 0);
	CHECK_INT(did_key_encode((enum did_type)2, pk, did, sizeof did), CRYPTO_ERR_ARG);
	CHECK_INT(did_key_encode(DID_ED25519, pk, did, 0), CRYPTO_ERR_ARG);
	CHECK_INT(did_key_encode(DID_ED25519, pk, NULL, 64), CRYPTO_ERR_ARG);
}

static void test_did_random(void)
{
	for (int i = 0; i < 200; i++) {
		uint8_t pk[32], back[32];
		char did[DID_KEY_MAX];
		enum did_type t = i % 2 ? DID_X25519 : DID_ED25519;

		randombytes_buf(pk, sizeof pk);
		CHECK_INT(did_key_encode(t, pk, did, sizeof did), 0);
		CHECK_INT(strlen(did), 56);
		CHECK(strncmp(did, t == DID_ED25519 ? "did:key:z6Mk" : "did:key:z6LS", 12) == 0);
		CHECK_INT(did_key_decode(t, did, back), 0);
		CHECK_MEM(back, pk, 32);
	}
}

static void test_did_short(void)
{
	char out[16], small[9];

	did_key_short(w3c[0].did, out, sizeof out);
	CHECK_STR(out, "z6MkiTBz\xe2\x80\xa6ooWp");
	did_key_short(X25519_SEED0, out, sizeof out);
	CHECK_STR(out, "z6LShs9G\xe2\x80\xa6" "ARMW");
	did_key_short("did:key:z6Mk", out, sizeof out);
	CHECK_STR(out, "z6Mk");
	did_key_short("abcdefghijkl", out, sizeof out);
	CHECK_STR(out, "abcdefghijkl");
	did_key_short("abcdefghijklm", out, sizeof out);
	CHECK_STR(out, "abcdefgh\xe2\x80\xa6jklm");
	did_key_short("", out, sizeof out);
	CHECK_STR(out, "");
	did_key_short(NULL, out, sizeof out);
	CHECK_STR(out, "");
	did_key_short(w3c[0].did, small, sizeof small);
	CHECK_STR(small, "z6MkiTBz");
	did_key_short(w3c[0].did, small, 4);
	CHECK_STR(small, "z6M");
	did_key_short(w3c[0].did, NULL, 16);
}

int main(void)
{
	if (crypto_init() < 0) {
		fprintf(stderr, "crypto_init failed\n");
		return 1;
	}
	CHECK_INT(crypto_init(), 0);
	test_w3c_vectors();
	test_x25519_vector();
	test_rfc8032();
	test_base58_vectors();
	test_base58_edges();
	test_base58_random();
	test_did_malformed();
	test_did_wrong_payload();
	test_did_encode_args();
	test_did_random();
	test_did_short();
	return check_exit();
}
