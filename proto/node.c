/* node body: a member's self-description. Signed by the node itself. */
#include "proto/body.h"
#include "proto/proto_err.h"

static const struct schema_field node_ep_f[] = { SF_S(struct endpoint, addr, 1) };
static const struct schema node_ep_schema = SCHEMA(struct endpoint, "endpoint", node_ep_f, NULL);
static const struct schema_field cap_f[] = { SF_S(struct cap, name, 1) };
static const struct schema cap_schema = SCHEMA(struct cap, "cap", cap_f, NULL);

static int node_check(const void *p)
{
	const struct node_body *b = p;

	if (b->mesh_addr[0] && !addr_valid(b->mesh_addr, true))
		return PROTO_ERR_VALUE;
	if (b->depth > MN_MAX_DEPTH)
		return PROTO_ERR_RANGE;
	return 0;
}

static const struct schema_field node_f[] = {
	SF_S(struct node_body, name, 1),
	SF_K(struct node_body, wg_key),
	SF_L(struct node_body, endpoints, n_endpoints, &node_ep_schema),
	SF_S(struct node_body, mesh_addr, 0),
	SF_E(struct node_body, role, ROLE_MAX, role_names),
	SF_U(struct node_body, depth, MN_MAX_DEPTH),
	SF_L(struct node_body, caps, n_caps, &cap_schema),
	SF_S(struct node_body, sw_version, 0),
};
const struct schema node_schema = SCHEMA(struct node_body, "node", node_f, node_check);
