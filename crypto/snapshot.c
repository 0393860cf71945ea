/* Snapshot encryption: see crypto/snapshot.h. */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "crypto/snapshot.h"
#include "crypto/crypto.h"

_Static_assert(SNAP_SEALED_LEN == crypto_box_SEALBYTES + SNAP_KEY_LEN, "seal size");
_Static_assert(SNAP_SS_HEADER_LEN == crypto_secretstream_xchacha20poly1305_HEADERBYTES, "ss header");
_Static_assert(SNAP_TAG_LEN == crypto_secretstream_xchacha20poly1305_ABYTES, "ss tag");
_Static_assert(SNAP_KEY_LEN == crypto_secretstream_xchacha20poly1305_KEYBYTES, "ss key");

#define RECOVERY_HEADER "mirrornet-backup-recovery-v1\n"

struct snap_enc {
	crypto_secretstream_xchacha20poly1305_state st;
	uint8_t ad[32];
	uint64_t left_bytes, left_chunks;
	uint32_t chunk;
};

struct snap_dec {
	crypto_secretstream_xchacha20poly1305_state st;
	uint8_t ad[32];
	uint64_t left_bytes, left_chunks;
	uint32_t chunk;
};

int snap_x25519_pk(const uint8_t ed_pk[32], uint8_t x_pk[32])
{
	return crypto_sign_ed25519_pk_to_curve25519(x_pk, ed_pk) == 0 ? 0 : CRYPTO_ERR_ARG;
}

void snap_node_x25519(const struct node_key *k, uint8_t x_pk[32], uint8_t x_sk[32])
{
	if (crypto_sign_ed25519_pk_to_curve25519(x_pk, k->pk) != 0)
		memset(x_pk, 0, 32);   /* not a valid point: a key no seal opens */
	if (x_sk)
		crypto_sign_ed25519_sk_to_curve25519(x_sk, k->sk);
}

static size_t next_len(uint64_t left_bytes, uint64_t left_chunks, uint32_t chunk)
{
	if (!left_chunks)
		return 0;
	return left_bytes < chunk ? (size_t)left_bytes : chunk;
}

struct snap_enc *snap_enc_new(struct snap_header *h, const uint8_t (*rcpt)[32], size_t n,
			      uint8_t *hbuf, size_t cap, size_t *hlen, int *err)
{
	uint8_t key[SNAP_KEY_LEN];
	struct snap_enc *e = NULL;
	int rc = CRYPTO_ERR_ARG;

	if (crypto_init() < 0) {
		*err = CRYPTO_ERR_INIT;
		return NULL;
	}
	if (n < 1 || n > SNAP_MAX_RECIPIENTS || !(e = calloc(1, sizeof *e)))
		goto out;
	crypto_secretstream_xchacha20poly1305_keygen(key);
	h->v = SNAP_VERSION;
	h->n_rcpt = (uint8_t)n;
	for (size_t i = 0; i < n; i++) {
		memcpy(h->rcpt[i].pk, rcpt[i], 32);
		if (crypto_box_seal(h->rcpt[i].sealed, key, sizeof key, rcpt[i]) != 0)
			goto out;
	}
	if (crypto_secretstream_xchacha20poly1305_init_push(&e->st, h->ss_header, key) != 0)
		goto out;
	if (snap_header_encode(h, hbuf, cap, hlen) < 0)
		goto out;
	crypto_blake2b(hbuf, *hlen, e->ad);
	e->chunk = h->chunk;
	e->left_bytes = h->plain_size;
	e->left_chunks = snap_nchunks(h);
	rc = 0;
out:
	crypto_wipe(key, sizeof key);
	if (rc < 0) {
		snap_enc_free(e);
		*err = rc;
		return NULL;
	}
	return e;
}

int snap_enc_chunk(struct snap_enc *e, const uint8_t *in, size_t n, uint8_t *out, size_t *outlen)
{
	unsigned long long olen;

	if (!e->left_chunks || n != next_len(e->left_bytes, e->left_chunks, e->chunk))
		return CRYPTO_ERR_ARG;
	uint8_t tag = e->left_chunks == 1 ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
					  : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
	if (crypto_secretstream_xchacha20poly1305_push(&e->st, out, &olen, in, n, e->ad,
						       sizeof e->ad, tag) != 0)
		return CRYPTO_ERR_ARG;
	e->left_bytes -= n;
	e->left_chunks--;
	*outlen = (size_t)olen;
	return 0;
}

uint64_t snap_enc_left(const struct snap_enc *e)
{
	return e->left_chunks;
}

void snap_enc_free(struct snap_enc *e)
{
	if (!e)
		return;
	crypto_wipe(e, sizeof *e);
	free(e);
}

int snap_unseal(const struct snap_header *h, const uint8_t x_pk[32], const uint8_t x_sk[32],
		uint8_t key[SNAP_KEY_LEN])
{
	if (crypto_init() < 0)
		return CRYPTO_ERR_INIT;
	for (unsigned i = 0; i < h->n_rcpt && i < SNAP_MAX_RECIPIENTS; i++) {
		if (memcmp(h->rcpt[i].pk, x_pk, 32) != 0)
			continue;
		if (crypto_box_seal_open(key, h->rcpt[i].sealed, SNAP_SEALED_LEN, x_pk, x_sk) != 0) {
			crypto_wipe(key, SNAP_KEY_LEN);
			return CRYPTO_ERR_BADSIG;
		}
		return 0;
	}
	return CRYPTO_ERR_ARG;
}

struct snap_dec *snap_dec_new(const struct snap_header *h, const uint8_t key[SNAP_KEY_LEN],
			      const uint8_t *hbuf, size_t hlen, int *err)
{
	struct snap_dec *d = calloc(1, sizeof *d);

	if (!d) {
		*err = CRYPTO_ERR_ARG;
		return NULL;
	}
	if (crypto_secretstream_xchacha20poly1305_init_pull(&d->st, h->ss_header, key) != 0) {
		snap_dec_free(d);
		*err = CRYPTO_ERR_BADSIG;
		return NULL;
	}
	crypto_blake2b(hbuf, hlen, d->ad);
	d->chunk = h->chunk;
	d->left_bytes = h->plain_size;
	d->left_chunks = snap_nchunks(h);
	return d;
}

size_t snap_dec_next(const struct snap_dec *d)
{
	return d->left_chunks ? next_len(d->left_bytes, d->left_chunks, d->chunk) + SNAP_TAG_LEN : 0;
}

int snap_dec_chunk(struct snap_dec *d, const uint8_t *in, size_t n, uint8_t *out, size_t *outlen)
{
	unsigned long long olen;
	unsigned char tag;

	if (!d->left_chunks || n != snap_dec_next(d))
		return CRYPTO_ERR_ARG;
	if (crypto_secretstream_xchacha20poly1305_pull(&d->st, out, &olen, &tag, in, n, d->ad,
						       sizeof d->ad) != 0)
		return CRYPTO_ERR_BADSIG;
	uint8_t want = d->left_chunks == 1 ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
					   : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
	if (tag != want) {
		crypto_wipe(out, (size_t)olen);
		return CRYPTO_ERR_BADSIG;
	}
	d->left_bytes -= olen;
	d->left_chunks--;
	*outlen = (size_t)olen;
	return 0;
}

void snap_dec_free(struct snap_dec *d)
{
	if (!d)
		return;
	crypto_wipe(d, sizeof *d);
	free(d);
}

void recovery_key_generate(uint8_t pk[32], uint8_t sk[32])
{
	crypto_init();
	crypto_box_keypair(pk, sk);
}

int recovery_key_format(const uint8_t sk[32], char *buf, size_t cap)
{
	size_t hl = sizeof RECOVERY_HEADER - 1;

	if (cap < RECOVERY_KEY_FILE_LEN + 1)
		return CRYPTO_ERR_ARG;
	memcpy(buf, RECOVERY_HEADER, hl);
	sodium_bin2hex(buf + hl, 65, sk, 32);
	buf[hl + 64] = '\n';
	buf[hl + 65] = 0;
	return 0;
}

int recovery_key_parse(const char *buf, size_t len, uint8_t pk[32], uint8_t sk[32])
{
	size_t hl = sizeof RECOVERY_HEADER - 1;
	size_t bin_len;

	memset(pk, 0, 32);
	memset(sk, 0, 32);
	if (crypto_init() < 0)
		return CRYPTO_ERR_INIT;
	if (len != RECOVERY_KEY_FILE_LEN || memcmp(buf, RECOVERY_HEADER, hl) != 0 ||
	    buf[len - 1] != '\n')
		return CRYPTO_ERR_FORMAT;
	for (size_t i = hl; i < hl + 64; i++)
		if (!((buf[i] >= '0' && buf[i] <= '9') || (buf[i] >= 'a' && buf[i] <= 'f')))
			return CRYPTO_ERR_FORMAT;
	if (sodium_hex2bin(sk, 32, buf + hl, 64, NULL, &bin_len, NULL) != 0 || bin_len != 32) {
		crypto_wipe(sk, 32);
		return CRYPTO_ERR_FORMAT;
	}
	crypto_scalarmult_base(pk, sk);
	return 0;
}

struct snap_hash {
	crypto_generichash_state st;
};

struct snap_hash *snap_hash_new(void)
{
	struct snap_hash *s;

	if (crypto_init() < 0 || !(s = malloc(sizeof *s)))
		return NULL;
	crypto_generichash_init(&s->st, NULL, 0, 32);
	return s;
}

void snap_hash_update(struct snap_hash *s, const uint8_t *p, size_t n)
{
	crypto_generichash_update(&s->st, p, n);
}

void snap_hash_final(struct snap_hash *s, uint8_t out[32])
{
	crypto_generichash_final(&s->st, out, 32);
}

void snap_hash_free(struct snap_hash *s)
{
	free(s);
}
