/* The cryptography of onboarding (docs/onboarding.md).
 *
 * Invitation token text: "mirrornet://" + base64url (no padding) of the
 * msgpack invitation (proto/invite.h). From its 32-byte secret both sides
 * derive, with distinct BLAKE2b keyed hashes:
 *   id      = hex(BLAKE2b-64(key = secret, "mirrornet/v1/invite/id"))
 *   wg key  = clamp(BLAKE2b-256(key = secret, "mirrornet/v1/invite/wg"))
 *             the temporary WireGuard key the inviter has allowed, for
 *             this invitation only, at the joiner's future address
 * Join requests: D = sign_digest("mirrornet/v1/join", encoding of the
 * request with proof, sig and sig_new zeroed). proof = BLAKE2b-256(key =
 * secret, D) shows the invitation secret without sending it; sig (by node)
 * and sig_new (by new_node, rotation) show possession of the keys. */
#ifndef MN_CRYPTO_INVITE_H
#define MN_CRYPTO_INVITE_H
#include <stdbool.h>
#include <stddef.h>
#include "proto/invite.h"
#include "crypto/key.h"

#define INVITE_SCHEME "mirrornet://"
#define INVITE_TEXT_MAX 512

/* Token text of t into out (NUL-terminated). 0 or a negative errno. */
int invite_token_format(const struct invite_token *t, char *out, size_t cap);
/* Parse token text (surrounding blanks and a final newline allowed).
 * 0 or -EINVAL with a reason in err. */
int invite_token_parse(const char *text, struct invite_token *t, char *err, size_t errcap);

void invite_id(const uint8_t secret[INVITE_SECRET_LEN], char id[INVITE_ID_LEN + 1]);
/* The temporary WireGuard key pair; priv must be wiped by the caller. */
void invite_wg_key(const uint8_t secret[INVITE_SECRET_LEN], uint8_t priv[32], uint8_t pub[32]);

/* The digest of a request (see above). 0 or a proto error. */
int join_req_digest(const struct join_req *q, uint8_t d[32]);
/* Fill proof (if secret), sig (by k) and sig_new (if knew) of q. */
int join_req_seal(struct join_req *q, const uint8_t *secret, const struct node_key *k,
		  const struct node_key *knew);
/* Check sig (and sig_new for a rotation), and the proof if secret is
 * given (constant time). true if all hold. */
bool join_req_check(const struct join_req *q, const uint8_t *secret);

#endif
