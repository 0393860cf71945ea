/* The signed record envelope.
 *
 * Wire form (msgpack, canonical):
 *   [ format=1, kind, origin(bin 32), key(str 1..128), version(uint64),
 *     expires(uint64, unix s), body(bin <= MN_MAX_BODY; empty = tombstone),
 *     sig(bin 64) ]
 * The signature covers the "to-be-signed" form: the same array without its
 * last element (header 0x97 instead of 0x98), hashed with a per-kind
 * context (crypto/record_sig.h). The whole record is at most MN_MAX_RECORD
 * bytes.
 *
 * record_decode() checks the envelope and, for a non-tombstone, that the
 * body decodes under its kind's policy table; it does not verify the
 * signature (that is crypto/record_sig.h, done once, after cheap checks). */
#ifndef MN_RECORD_H
#define MN_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "proto/limits.h"
#include "proto/body.h"

#define RECORD_FORMAT 1

struct record {
	uint8_t kind;
	uint8_t origin[MN_KEY_LEN];
	char key[MN_MAX_RKEY + 1];
	uint64_t version;
	uint64_t expires;
	/* Borrowed from the buffer given to record_decode()/record_encode():
	 * valid only while that buffer is. */
	const uint8_t *body;
	size_t body_len;            /* 0 = tombstone */
	uint8_t sig[MN_SIG_LEN];
	const uint8_t *wire;        /* the whole encoded record */
	size_t wire_len;
	size_t tbs_len;             /* wire[1 .. tbs_len) is the signed part after
				       its array header */
};

static inline bool record_is_tombstone(const struct record *r)
{
	return r->body_len == 0;
}

/* Decode buf into r (r borrows from buf). Rejects oversize input, unknown
 * format or kind, bad field sizes, trailing bytes, and a body that does not
 * decode under its kind; on any error the contents of *body (if non-NULL)
 * are unspecified.
 * With body non-NULL and a non-tombstone record, the typed body is written
 * there; with body NULL it is decoded into a temporary on the stack (about
 * 21 KiB for the largest kind: mind small thread stacks). */
int record_decode(const uint8_t *buf, size_t len, struct record *r, union body *body);

/* Like record_decode() but leaves the body unchecked: the cheap first look
 * at a record from a peer (size, kind, origin, version), before deciding
 * whether it is worth decoding further. body_decode() finishes the job. */
int record_decode_envelope(const uint8_t *buf, size_t len, struct record *r);

/* Encode the header fields of r and the body bytes (r->body/body_len) into
 * out, with r->sig as the signature. Sets r->wire/wire_len/tbs_len to point
 * into out (and r->body to the body's copy in out). The signature can be
 * filled in afterwards with record_set_sig(). A body over MN_MAX_BODY is
 * PROTO_ERR_FIELD_SIZE (as in record_decode), a record over MN_MAX_RECORD
 * PROTO_ERR_RECORD_SIZE. */
int record_encode(struct record *r, uint8_t *out, size_t cap);

/* Copy a new signature into r and into `out`, which must be the buffer r
 * was encoded into by record_encode() (PROTO_ERR_ARG otherwise). */
int record_set_sig(struct record *r, uint8_t *out, const uint8_t sig[MN_SIG_LEN]);

/* Fill r's header for a new record (format, kind, origin, key, version,
 * expires; no body, zero signature). Key must be 1..MN_MAX_RKEY bytes of
 * UTF-8 without NUL (PROTO_ERR_FIELD_SIZE / PROTO_ERR_UTF8 otherwise). */
int record_init(struct record *r, unsigned kind, const uint8_t origin[MN_KEY_LEN],
		const char *key, uint64_t version, uint64_t expires);

#endif
