/* Certificate chains: root → (sub-masters) → node.
 *
 * A chain is a list of cert records, first signed by the mesh root. Link i
 * is issued by link i-1's subject (link 0 by the root). A node's own chain
 * ends with the cert whose subject is the node. The root itself needs no
 * chain (or a self-issued depth-0 master cert).
 *
 * chain_validate() checks, on every link: it is a cert record with a valid
 * signature by its issuer; now within [not_before, not_after]; depth =
 * issuer depth + 1 (the root has depth 0) and depth <= max_depth;
 * max_depth <= the issuer's; the issuer's role may issue (master or
 * sub-master, and a sub-master only while its depth < its max_depth);
 * role master only for the root's own cert; the DNS scope inside the
 * issuer's (the root's scope is whatever its own depth-0 cert says, or
 * anything when it has none); no key on the chain revoked. */
#ifndef MN_CHAIN_H
#define MN_CHAIN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/record.h"

struct chain_policy {
	const uint8_t *root;            /* the mesh root's public key */
	uint64_t now;                   /* unix seconds */
	/* true if pk is revoked; NULL = nothing revoked */
	bool (*is_revoked)(void *ctx, const uint8_t pk[32]);
	void *revoked_ctx;
	/* the links' signatures were checked when they arrived: skip them */
	bool links_verified;
};

/* What a valid chain says about its node. */
struct chain_result {
	uint8_t role;
	uint8_t depth;
	uint8_t max_depth;
	char dns_scope[MN_MAX_DOMAIN + 1];
	char mesh_addr[MN_MAX_ADDR + 1];
	uint64_t not_after;             /* earliest not_after on the chain */
	/* member since: the latest not_before of the links below the root's
	 * own cert (an issuer cannot date a child before itself); 0 for the
	 * root. Renewals and rotations keep not_before (docs/trust.md). */
	uint64_t since;
	/* the node's identity: the last link's node_id, or its subject when
	 * that is all zero (a key never rotated); the root's key for the root */
	uint8_t node_id[32];
};

/* Validate the chain for `node`. certs[i] are decoded cert records (their
 * wire bytes must stay valid during the call). 0 or a CHAIN_ERR_*. out may
 * be NULL. */
int chain_validate(const struct chain_policy *pol, const uint8_t node[32],
		   const struct record *const *certs, size_t n, struct chain_result *out);

/* true if `name` equals `scope` or lies below it (label boundary). An
 * empty scope contains nothing. */
bool dns_scope_contains(const char *scope, const char *name);

#endif
