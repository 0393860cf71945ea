/* Certificate chain validation; rules in chain.h. */
#include <string.h>
#include "crypto/chain.h"
#include "crypto/crypto.h"
#include "crypto/record_sig.h"

bool dns_scope_contains(const char *scope, const char *name)
{
	size_t s = strlen(scope), n = strlen(name);

	if (s == 0 || n < s)
		return false;
	if (strcmp(name + (n - s), scope) != 0)
		return false;
	return n == s || name[n - s - 1] == '.';
}

/* The issuer's standing while walking the chain. */
struct issuer {
	const uint8_t *key;
	uint8_t role;
	uint8_t depth;
	uint8_t max_depth;
	bool is_root;
	bool any_scope;          /* the root without a cert of its own */
	const char *scope;
};

static bool revoked(const struct chain_policy *pol, const uint8_t pk[32])
{
	return pol->is_revoked && pol->is_revoked(pol->revoked_ctx, pk);
}

static int check_link(const struct chain_policy *pol, const struct issuer *iss,
		      const struct record *rec, struct cert_body *c)
{
	int err;

	if (rec->kind != KIND_CERT)
		return CHAIN_ERR_KIND;
	if (memcmp(rec->origin, iss->key, 32) != 0)
		return iss->is_root ? CHAIN_ERR_ROOT : CHAIN_ERR_LINK;
	if (record_is_tombstone(rec) || body_decode(KIND_CERT, rec->body, rec->body_len,
						    (union body *)c) < 0)
		return CHAIN_ERR_BODY;
	if (!pol->links_verified && (err = record_verify(rec, NULL)) < 0)
		return CHAIN_ERR_SIG;
	if (pol->now < c->not_before)
		return CHAIN_ERR_NOT_YET;
	if (pol->now > c->not_after)
		return CHAIN_ERR_EXPIRED;
	if (revoked(pol, c->subject))
		return CHAIN_ERR_REVOKED;
	return 0;
}

int chain_validate(const struct chain_policy *pol, const uint8_t node[32],
		   const struct record *const *certs, size_t n, struct chain_result *out)
{
	struct issuer iss = {
		.key = pol->root, .role = ROLE_MASTER, .depth = 0,
		.max_depth = MN_MAX_DEPTH, .is_root = true, .any_scope = true, .scope = "",
	};
	struct cert_body c[2];   /* current link and its issuer's */
	struct chain_result res = { .role = ROLE_MASTER, .max_depth = MN_MAX_DEPTH,
				    .not_after = UINT64_MAX };
	size_t i = 0;
	int err;

	if (revoked(pol, pol->root))
		return CHAIN_ERR_REVOKED;
	if (n > MN_MAX_DEPTH + 1)
		return CHAIN_ERR_TOO_LONG;
	if (n == 0) {
		if (memcmp(node, pol->root, 32) != 0)
			return CHAIN_ERR_EMPTY;
		memcpy(res.node_id, node, 32);
		if (out)
			*out = res;
		return 0;
	}

	/* An optional first link: the root's own depth-0 master cert, which
	 * sets the mesh-wide limits (max_depth, DNS scope). */
	if (memcmp(certs[0]->origin, pol->root, 32) == 0 && certs[0]->kind == KIND_CERT) {
		struct cert_body *self = &c[0];
		if ((err = check_link(pol, &iss, certs[0], self)) < 0)
			return err;
		if (memcmp(self->subject, pol->root, 32) == 0) {
			if (self->role != ROLE_MASTER || self->depth != 0)
				return CHAIN_ERR_ROLE;
			iss.max_depth = self->max_depth;
			iss.any_scope = false;
			iss.scope = self->dns_scope;
			res.max_depth = self->max_depth;
			memcpy(res.dns_scope, self->dns_scope, sizeof res.dns_scope);
			memcpy(res.mesh_addr, self->mesh_addr, sizeof res.mesh_addr);
			res.not_after = self->not_after;
			i = 1;
		}
	}
	for (; i < n; i++) {
		struct cert_body *cb = &c[i % 2];

		if ((err = check_link(pol, &iss, certs[i], cb)) < 0)
			return err;
		if (iss.role == ROLE_PEER || (iss.role == ROLE_SUBMASTER && iss.depth >= iss.max_depth))
			return CHAIN_ERR_ROLE;
		if (cb->role == ROLE_MASTER)
			return CHAIN_ERR_ROLE;
		if (cb->depth != iss.depth + 1 || cb->depth > cb->max_depth)
			return CHAIN_ERR_DEPTH;
		if (cb->max_depth > iss.max_depth)
			return CHAIN_ERR_MAX_DEPTH;
		if (cb->dns_scope[0] && !iss.any_scope && !dns_scope_contains(iss.scope, cb->dns_scope))
			return CHAIN_ERR_SCOPE;
		iss.key = cb->subject;
		iss.is_root = false;
		iss.role = cb->role;
		iss.depth = cb->depth;
		iss.max_depth = cb->max_depth;
		iss.any_scope = false;
		iss.scope = cb->dns_scope;
		res.role = cb->role;
		res.depth = cb->depth;
		res.max_depth = cb->max_depth;
		memcpy(res.dns_scope, cb->dns_scope, sizeof res.dns_scope);
		memcpy(res.mesh_addr, cb->mesh_addr, sizeof res.mesh_addr);
		if (cb->not_after < res.not_after)
			res.not_after = cb->not_after;
		if (cb->not_before > res.since)
			res.since = cb->not_before;
		static const uint8_t zero[32];
		memcpy(res.node_id, memcmp(cb->node_id, zero, 32) ? cb->node_id : cb->subject, 32);
	}
	if (memcmp(iss.key, node, 32) != 0)
		return CHAIN_ERR_SUBJECT;
	if (i == 1 && n == 1)   /* the root's own cert alone: the root */
		memcpy(res.node_id, node, 32);
	if (out)
		*out = res;
	return 0;
}
