/* Ed25519 node keys.
 *
 * Key file format (text, mode 0600), exactly 91 bytes:
 *     mirrornet-ed25519-seed-v1\n
 *     <64 lower-case hex digits of the 32-byte seed>\n
 * Nothing else is accepted: no upper-case hex, CR, blank or extra lines.
 * Saving never overwrites (CRYPTO_ERR_EXISTS): it writes a temporary 0600
 * file in the same directory, fsyncs it and link()s it into place. Loading
 * reports (via *insecure) a file that group or others can access, so the
 * caller can warn; it is still loaded. Secrets are wiped from every buffer
 * that held them, on every path. */
#ifndef MN_KEY_H
#define MN_KEY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NODE_KEY_FILE_LEN 91

struct node_key {
	uint8_t pk[32];
	uint8_t sk[64];   /* libsodium form: seed ‖ pk */
};

/* A fresh key from the OS generator (crypto_init() first). 0 or
 * CRYPTO_ERR_ARG (k NULL). */
int node_key_generate(struct node_key *k);
/* The key of a 32-byte seed (RFC 8032 secret key). 0 or CRYPTO_ERR_ARG. */
int node_key_from_seed(struct node_key *k, const uint8_t seed[32]);
/* Zero the secret (and public) key. Accepts NULL. */
void node_key_wipe(struct node_key *k);

/* Write k's seed to a new file at path (never replacing anything there,
 * not even a dangling symlink), then fsync the directory. Returns 0,
 * CRYPTO_ERR_EXISTS, CRYPTO_ERR_ARG, or CRYPTO_ERR_IO with errno set
 * (ENAMETOOLONG for a path too long for the temporary name). An IO error
 * from the final directory fsync leaves the new file in place. A crash
 * may leave a 0600 "<path>.tmp-XXXXXX" behind. */
int node_key_save(const struct node_key *k, const char *path);
/* Read the key file at path, refusing a symlink as the last component
 * (CRYPTO_ERR_IO, errno ELOOP) and anything but a regular file (errno
 * EISDIR or EINVAL). *insecure (may be NULL) is set to whether the mode
 * has any group/other bit. 0, CRYPTO_ERR_ARG, CRYPTO_ERR_IO (errno kept)
 * or CRYPTO_ERR_FORMAT; on error *k is zeroed. */
int node_key_load(struct node_key *k, const char *path, bool *insecure);
/* Parse key file contents (also what node_key_load uses; fuzzed). buf
 * need not be NUL-terminated. 0, CRYPTO_ERR_ARG or CRYPTO_ERR_FORMAT; on
 * error *k is zeroed. Constant time in the seed. */
int node_key_parse(struct node_key *k, const char *buf, size_t len);

/* The node's WireGuard key pair, derived from its seed (so one key file is
 * all there is to back up) but independent of the signing key:
 *   priv = clamp(BLAKE2b-256(key = seed, "mirrornet/v1/wireguard"))
 *   pub  = X25519(priv, 9)
 * priv must be wiped by the caller. */
void node_key_wireguard(const struct node_key *k, uint8_t priv[32], uint8_t pub[32]);
/* X25519 public key of a WireGuard private key. */
void x25519_public(const uint8_t priv[32], uint8_t pub[32]);

#endif
