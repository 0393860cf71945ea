/* Onboarding messages (docs/onboarding.md): the invitation a master or
 * sub-master hands out, and the request/response exchanged with it inside
 * the WireGuard tunnel to join, renew a certificate or rotate a key.
 *
 * Like record bodies they are positional msgpack arrays described by
 * policy tables (schema.h), so decoding is bounded and canonical. The
 * token's text form (mirrornet://…) and the cryptography around these
 * messages live in crypto/invite.h. */
#ifndef MN_INVITE_H
#define MN_INVITE_H
#include <stddef.h>
#include <stdint.h>
#include "proto/body.h"

#define INVITE_VERSION 1
#define INVITE_ID_LEN 16          /* hex digits of the invitation id */
#define INVITE_SECRET_LEN 32
#define JOIN_PORT_DEFAULT 7333    /* the inviter's join service, inside the tunnel */
#define JOIN_MAX_FRAME 16384      /* a join message or one record of the chain */
#define JOIN_MAX_CHAIN 17         /* records after a response: the chain (<= 16) + ours */

/* What an invitation token carries. The temporary WireGuard key and the
 * invitation id are derived from the secret, so they cost no space. */
struct invite_token {
	uint8_t v;                              /* INVITE_VERSION */
	uint8_t role;                           /* ROLE_PEER or ROLE_SUBMASTER */
	char name[MN_MAX_NAME + 1];             /* the name the joiner will carry */
	uint8_t secret[INVITE_SECRET_LEN];
	uint8_t inviter[MN_KEY_LEN];            /* its Ed25519 node key: pinned */
	uint8_t inviter_wg[MN_KEY_LEN];         /* its WireGuard key: pinned */
	uint64_t expires;                       /* unix seconds */
	char addr[MN_MAX_ADDR + 1];             /* the joiner's mesh address/prefix */
	char inviter_addr[MN_MAX_ADDR + 1];     /* the inviter's mesh address */
	uint16_t port;                          /* its join service port */
	char endpoint[MN_MAX_ENDPOINT + 1];     /* where its WireGuard listens */
};

enum join_op { JOIN_OP_JOIN = 0, JOIN_OP_RENEW = 1, JOIN_OP_ROTATE = 2 };
#define JOIN_OP_MAX JOIN_OP_ROTATE

/* A request to the inviter (JOIN) or to the parent that certified us
 * (RENEW, ROTATE). The digest that proof and signatures cover is over the
 * encoding with proof, sig and sig_new zeroed (crypto/invite.h). */
struct join_req {
	uint8_t v;
	uint8_t op;
	char invite[INVITE_ID_LEN + 1];         /* JOIN: the invitation id; else "" */
	uint8_t node[MN_KEY_LEN];               /* JOIN: the new key; else the current one */
	uint8_t wg[MN_KEY_LEN];                 /* the WireGuard key that goes with the key */
	uint8_t new_node[MN_KEY_LEN];           /* ROTATE: the next key; else zero */
	uint8_t new_wg[MN_KEY_LEN];             /* ROTATE: the next WireGuard key; else zero */
	char name[MN_MAX_NAME + 1];
	uint64_t time;                          /* unix seconds when made */
	uint8_t proof[32];                      /* JOIN: MAC keyed by the invitation secret */
	uint8_t sig[64];                        /* by node */
	uint8_t sig_new[64];                    /* ROTATE: by new_node */
};

enum join_status { JOIN_OK = 0, JOIN_PENDING = 1, JOIN_REFUSED = 2 };
#define JOIN_STATUS_MAX JOIN_REFUSED

/* The answer; with JOIN_OK, nrec record frames follow: the chain from the
 * root down, the requester's new certificate last. */
struct join_resp {
	uint8_t v;
	uint8_t status;
	char message[MN_MAX_TEXT + 1];
	uint8_t root[MN_KEY_LEN];
	uint16_t gossip_port;                   /* the inviter's gossip port in the tunnel */
	uint8_t nrec;
};

extern const struct schema invite_token_schema, join_req_schema, join_resp_schema;
extern const char *const join_op_names[], *const join_status_names[];

#endif
