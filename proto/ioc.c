/* ioc body: a batch of threat indicators. Any member may sign; consumers
 * weigh it by the origin's trust. */
#include "proto/body.h"
#include "proto/proto_err.h"

static const struct schema_field ioc_f[] = {
	SF_E(struct ioc, scope, IOC_SCOPE_MAX, ioc_scope_names),
	SF_S(struct ioc, value, 1),
	SF_E(struct ioc, action, IOC_ACTION_MAX, ioc_action_names),
	SF_S(struct ioc, scenario, 0),
	SF_U(struct ioc, confidence, 100),
	SF_U(struct ioc, valid_until, UINT64_MAX),
};
static const struct schema one_ioc_schema = SCHEMA(struct ioc, "ioc", ioc_f, NULL);

static int ioc_check(const void *p)
{
	const struct ioc_body *b = p;

	if (b->n_iocs == 0)
		return PROTO_ERR_VALUE;
	for (unsigned i = 0; i < b->n_iocs; i++) {
		const struct ioc *c = &b->iocs[i];
		if (c->scope == IOC_IP && !addr_valid(c->value, false))
			return PROTO_ERR_VALUE;
		if (c->scope == IOC_RANGE && !addr_valid(c->value, true))
			return PROTO_ERR_VALUE;
		if (c->scope == IOC_DOMAIN && !dns_name_valid(c->value, false))
			return PROTO_ERR_VALUE;
	}
	return 0;
}

static const struct schema_field ioc_body_f[] = {
	SF_L(struct ioc_body, iocs, n_iocs, &one_ioc_schema),
};
const struct schema ioc_schema = SCHEMA(struct ioc_body, "ioc", ioc_body_f, ioc_check);
