/* The join service's framing, shared by its server (src/daemon/onboard.c)
 * and its clients (mirrornetctl join; the daemon renewing or rotating).
 *
 * One TCP connection inside the WireGuard tunnel, one exchange: the client
 * sends one frame (a join_req), the server answers with one frame (a
 * join_resp) followed, when the answer is JOIN_OK, by nrec frames each
 * holding one signed cert record: the chain from the root down, the
 * requester's certificate last. A frame is a 4-byte big-endian length (1 ..
 * JOIN_MAX_FRAME) and that many bytes. */
#ifndef MN_JOIN_MSG_H
#define MN_JOIN_MSG_H
#include <stddef.h>
#include <stdint.h>
#include "proto/invite.h"
#include "proto/limits.h"
#include "crypto/chain.h"
#include "crypto/key.h"

/* The longest answer: the response's frame and JOIN_MAX_CHAIN records. */
#define JOIN_MAX_ANSWER ((JOIN_MAX_CHAIN + 1) * (MN_MAX_RECORD + 4) + JOIN_MAX_FRAME)

struct join_chain {
	const uint8_t *rec[JOIN_MAX_CHAIN];    /* borrowed from the parsed buffer */
	size_t len[JOIN_MAX_CHAIN];
	size_t n;
};

/* One request of ours, made, sealed and framed into out (JOIN_MAX_FRAME +
 * 4 bytes suffice): op JOIN (secret: the invitation's, which also names
 * it), RENEW, or ROTATE (knew: the next key, which signs it too). k is the
 * key asking, name our name, now unix seconds. The WireGuard private keys
 * it derives are wiped. 0, or -EINVAL (the request does not encode: a bad
 * op or name) or -ENOSPC. */
int join_req_build(uint8_t op, const struct node_key *k, const struct node_key *knew,
		   const uint8_t *secret, const char *name, uint64_t now, uint8_t *out,
		   size_t cap, size_t *outlen);
/* Encode a request as one frame. 0 or a negative error. */
int join_req_frame(const struct join_req *q, uint8_t *out, size_t cap, size_t *outlen);
/* The first frame of buf, if complete: 0 with *payload, *plen and *used set,
 * -EAGAIN (need more bytes), -EMSGSIZE (length 0 or over the limit). */
int join_frame_get(const uint8_t *buf, size_t len, const uint8_t **payload, size_t *plen,
		   size_t *used);
/* Encode a response and the chain records as frames. */
int join_resp_frames(const struct join_resp *r, const struct join_chain *c, uint8_t *out,
		     size_t cap, size_t *outlen);
/* Parse a whole response (buf holds every byte the server sent): 0,
 * -EAGAIN if incomplete, -EBADMSG if malformed (message in err). */
int join_resp_parse(const uint8_t *buf, size_t len, struct join_resp *r, struct join_chain *c,
		    char *err, size_t errcap);
/* Check a JOIN_OK answer: every record a valid signed cert, the chain
 * valid from r->root at now_s (no revocations known), ending with a cert
 * for `me` issued by `issuer` (the pinned inviter or our parent). The
 * grant goes into *res. 0 or -EACCES with the reason in err. */
int join_chain_verify(const struct join_resp *r, const struct join_chain *c, const uint8_t me[32],
		      const uint8_t issuer[32], uint64_t now_s, struct chain_result *res,
		      char *err, size_t errcap);

#endif
