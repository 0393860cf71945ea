/* Signing and verifying records (proto/record.h) under the per-kind
 * context "mirrornet/v1/record/<kind>". */
#ifndef MN_RECORD_SIG_H
#define MN_RECORD_SIG_H
#include <stdint.h>
#include "proto/record.h"
#include "crypto/key.h"

/* The record's id: the digest its signature covers (depends on every
 * field but the signature). r must come from record_decode/record_encode. */
void record_id(const struct record *r, uint8_t id[32]);

/* Encode r (header + r->body/body_len) into out, signed with k; r->origin
 * is set to k's public key first. 0, a proto_err, or CRYPTO_ERR_ENCODE
 * is never returned: encoding errors come back as the proto_err. */
int record_sign(struct record *r, const struct node_key *k, uint8_t *out, size_t cap);

/* 0 if r's signature is valid for r->origin, else CRYPTO_ERR_BADSIG.
 * If id is non-NULL it receives the record id (computed anyway). */
int record_verify(const struct record *r, uint8_t id[32]);

#endif
