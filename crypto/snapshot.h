/* Snapshot encryption (docs/backup.md, "Container"): a fresh key per
 * snapshot, the plaintext through libsodium's secretstream
 * (XChaCha20-Poly1305) in chunks, the key sealed (crypto_box_seal) to each
 * recipient's X25519 key — the owner's, derived from its Ed25519 node key,
 * and any recovery keys. Every chunk carries the BLAKE2b-256 of the file's
 * prefix + header as additional data, so a header cannot be swapped under
 * another snapshot's chunks; the last chunk carries the FINAL tag, so a
 * truncated file does not open, and bytes after it are refused.
 *
 * No I/O: the caller feeds chunks (src/daemon/backup_file.c reads and
 * writes files, one chunk in memory at a time). States are opaque (heap):
 * *_new / *_free, free accepts NULL and wipes. Errors: enum crypto_err
 * (CRYPTO_ERR_ARG for a misuse, CRYPTO_ERR_FORMAT for a header that does
 * not decode, CRYPTO_ERR_BADSIG for anything that does not authenticate). */
#ifndef MN_SNAPSHOT_H
#define MN_SNAPSHOT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "crypto/key.h"
#include "proto/snaphdr.h"

#define SNAP_KEY_LEN 32
#define RECOVERY_KEY_FILE_LEN 94

struct snap_enc;
struct snap_dec;

/* A node's X25519 key pair for snapshots, derived from its Ed25519 key
 * (crypto_sign_ed25519_*_to_curve25519). sk must be wiped by the caller;
 * it may be NULL (public only; from pk alone with snap_x25519_pk). */
int snap_x25519_pk(const uint8_t ed_pk[32], uint8_t x_pk[32]);
void snap_node_x25519(const struct node_key *k, uint8_t x_pk[32], uint8_t x_sk[32]);

/* Start a snapshot: h->owner, name, created, plain_size, chunk set by the
 * caller; the rest is filled here (fresh key, seals to the n recipients'
 * X25519 keys, n 1..SNAP_MAX_RECIPIENTS, no key twice). The prefix and
 * header are written to hbuf (cap >= SNAP_PREFIX_LEN + SNAP_HEADER_MAX is
 * always enough), *hlen bytes. Returns the state or NULL (*err set). */
struct snap_enc *snap_enc_new(struct snap_header *h, const uint8_t (*rcpt)[32], size_t n,
			      uint8_t *hbuf, size_t cap, size_t *hlen, int *err);
/* Encrypt the next chunk: n must be exactly what is left of the plaintext
 * or h->chunk, whichever is smaller (the last chunk's n may be 0 only for
 * an empty file); out gets n + SNAP_TAG_LEN bytes. 0, or CRYPTO_ERR_ARG
 * (wrong size, or no chunk left). */
int snap_enc_chunk(struct snap_enc *e, const uint8_t *in, size_t n, uint8_t *out, size_t *outlen);
/* Chunks still to come (0: done). */
uint64_t snap_enc_left(const struct snap_enc *e);
void snap_enc_free(struct snap_enc *e);

/* The snapshot key from a recipient's seal: x_pk/x_sk the recipient's
 * X25519 pair. 0, CRYPTO_ERR_ARG (not a recipient) or CRYPTO_ERR_BADSIG
 * (the seal does not open). key must be wiped by the caller. */
int snap_unseal(const struct snap_header *h, const uint8_t x_pk[32], const uint8_t x_sk[32],
		uint8_t key[SNAP_KEY_LEN]);
/* Start decrypting with the key; hbuf/hlen the prefix + header bytes as
 * read (their hash is every chunk's additional data). NULL with *err. */
struct snap_dec *snap_dec_new(const struct snap_header *h, const uint8_t key[SNAP_KEY_LEN],
			      const uint8_t *hbuf, size_t hlen, int *err);
/* Size of the next ciphertext chunk (0: all read). */
size_t snap_dec_next(const struct snap_dec *d);
/* Decrypt the next chunk (n == snap_dec_next()): out gets n - SNAP_TAG_LEN
 * bytes. 0, CRYPTO_ERR_ARG, or CRYPTO_ERR_BADSIG (corrupt, reordered, a
 * FINAL tag too early or missing at the end). */
int snap_dec_chunk(struct snap_dec *d, const uint8_t *in, size_t n, uint8_t *out, size_t *outlen);
void snap_dec_free(struct snap_dec *d);

/* Recovery keys: an X25519 pair kept offline. The file (text, 0600) is
 *     mirrornet-backup-recovery-v1\n<64 hex of the secret key>\n
 * (94 bytes). generate fills both halves; parse takes a file's contents
 * and derives pk. 0, CRYPTO_ERR_ARG or CRYPTO_ERR_FORMAT (sk, pk zeroed). */
void recovery_key_generate(uint8_t pk[32], uint8_t sk[32]);
int recovery_key_format(const uint8_t sk[32], char *buf, size_t cap);
int recovery_key_parse(const char *buf, size_t len, uint8_t pk[32], uint8_t sk[32]);

/* BLAKE2b-256 over a stream (a snapshot's content address): new (NULL:
 * out of memory), update any number of times, final once, free. */
struct snap_hash;
struct snap_hash *snap_hash_new(void);
void snap_hash_update(struct snap_hash *s, const uint8_t *p, size_t n);
void snap_hash_final(struct snap_hash *s, uint8_t out[32]);
void snap_hash_free(struct snap_hash *s);

#endif
