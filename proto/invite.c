/* Policy tables of the onboarding messages (proto/invite.h). */
#include <string.h>
#include "proto/invite.h"
#include "proto/proto_err.h"

const char *const join_op_names[] = { "join", "renew", "rotate", NULL };
const char *const join_status_names[] = { "ok", "pending", "refused", NULL };

static bool hex_id_valid(const char *s)
{
	if (strlen(s) != INVITE_ID_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static int token_check(const void *p)
{
	const struct invite_token *t = p;

	if (t->v != INVITE_VERSION || t->role == ROLE_MASTER || !dns_name_valid(t->name, false) ||
	    strchr(t->name, '.'))
		return PROTO_ERR_VALUE;
	/* the joiner's address needs its prefix (the subnet routed in the tunnel) */
	if (!addr_valid(t->addr, true) || !strchr(t->addr, '/') || !addr_valid(t->inviter_addr, false))
		return PROTO_ERR_VALUE;
	if (!t->port || !strrchr(t->endpoint, ':') || strpbrk(t->endpoint, " \t\r\n"))
		return PROTO_ERR_VALUE;
	return 0;
}

static const struct schema_field token_f[] = {
	SF_U(struct invite_token, v, 255),
	SF_E(struct invite_token, role, ROLE_MAX, role_names),
	SF_S(struct invite_token, name, 1),
	SF_K(struct invite_token, secret),
	SF_K(struct invite_token, inviter),
	SF_K(struct invite_token, inviter_wg),
	SF_U(struct invite_token, expires, UINT64_MAX),
	SF_S(struct invite_token, addr, 1),
	SF_S(struct invite_token, inviter_addr, 1),
	SF_U(struct invite_token, port, 65535),
	SF_S(struct invite_token, endpoint, 3),
};
const struct schema invite_token_schema =
	SCHEMA(struct invite_token, "invitation", token_f, token_check);

static int req_check(const void *p)
{
	const struct join_req *q = p;
	static const uint8_t zero[MN_KEY_LEN];

	if (q->v != INVITE_VERSION)
		return PROTO_ERR_VALUE;
	if (q->op == JOIN_OP_JOIN ? !hex_id_valid(q->invite) : q->invite[0] != 0)
		return PROTO_ERR_VALUE;
	if ((q->op == JOIN_OP_ROTATE) == !memcmp(q->new_node, zero, MN_KEY_LEN))
		return PROTO_ERR_VALUE;
	if (q->name[0] && !dns_name_valid(q->name, false))
		return PROTO_ERR_VALUE;
	return 0;
}

static const struct schema_field req_f[] = {
	SF_U(struct join_req, v, 255),
	SF_E(struct join_req, op, JOIN_OP_MAX, join_op_names),
	SF_S(struct join_req, invite, 0),
	SF_K(struct join_req, node),
	SF_K(struct join_req, wg),
	SF_K(struct join_req, new_node),
	SF_K(struct join_req, new_wg),
	SF_S(struct join_req, name, 0),
	SF_U(struct join_req, time, UINT64_MAX),
	SF_K(struct join_req, proof),
	SF_K(struct join_req, sig),
	SF_K(struct join_req, sig_new),
};
const struct schema join_req_schema = SCHEMA(struct join_req, "join_request", req_f, req_check);

static int resp_check(const void *p)
{
	const struct join_resp *r = p;

	if (r->v != INVITE_VERSION || (r->status == JOIN_OK) != (r->nrec > 0))
		return PROTO_ERR_VALUE;
	return 0;
}

static const struct schema_field resp_f[] = {
	SF_U(struct join_resp, v, 255),
	SF_E(struct join_resp, status, JOIN_STATUS_MAX, join_status_names),
	SF_S(struct join_resp, message, 0),
	SF_K(struct join_resp, root),
	SF_U(struct join_resp, gossip_port, 65535),
	SF_U(struct join_resp, nrec, JOIN_MAX_CHAIN),
};
const struct schema join_resp_schema = SCHEMA(struct join_resp, "join_response", resp_f, resp_check);
