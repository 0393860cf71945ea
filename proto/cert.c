/* cert body: a parent's statement about a child's key. Signed by the
 * parent (the mesh root or a sub-master); chain rules in crypto/chain.h. */
#include "proto/body.h"
#include "proto/proto_err.h"

static int cert_check(const void *p)
{
	const struct cert_body *b = p;

	if (b->depth > b->max_depth)
		return PROTO_ERR_VALUE;
	if (b->role == ROLE_MASTER && b->depth != 0)
		return PROTO_ERR_VALUE;
	if (b->not_before > b->not_after)
		return PROTO_ERR_VALUE;
	if (!dns_name_valid(b->dns_scope, true))
		return PROTO_ERR_VALUE;
	if (b->mesh_addr[0] && !addr_valid(b->mesh_addr, true))
		return PROTO_ERR_VALUE;
	return 0;
}

static const struct schema_field cert_f[] = {
	SF_K(struct cert_body, subject),
	SF_E(struct cert_body, role, ROLE_MAX, role_names),
	SF_U(struct cert_body, depth, MN_MAX_DEPTH),
	SF_U(struct cert_body, max_depth, MN_MAX_DEPTH),
	SF_S(struct cert_body, dns_scope, 0),
	SF_S(struct cert_body, mesh_addr, 0),
	SF_U(struct cert_body, not_before, UINT64_MAX),
	SF_U(struct cert_body, not_after, UINT64_MAX),
	SF_K(struct cert_body, node_id),
};
const struct schema cert_schema = SCHEMA(struct cert_body, "cert", cert_f, cert_check);
