/* expose body: a service a node offers, on which channels, and which
 * other nodes should mirror it. Signed by the exposing node. */
#include "proto/body.h"
#include "proto/proto_err.h"

static const struct schema_field mirror_f[] = { SF_K(struct mirror, node) };
static const struct schema mirror_schema = SCHEMA(struct mirror, "mirror", mirror_f, NULL);

static int expose_check(const void *p)
{
	const struct expose_body *b = p;

	if (b->channels == 0)
		return PROTO_ERR_VALUE;
	if (!dns_name_valid(b->service, false) || !dns_name_valid(b->domain, true))
		return PROTO_ERR_VALUE;
	return 0;
}

static const struct schema_field expose_f[] = {
	SF_S(struct expose_body, service, 1),
	SF_U(struct expose_body, port, UINT16_MAX),
	SF_U(struct expose_body, channels, CH_ALL),
	SF_S(struct expose_body, domain, 0),
	SF_L(struct expose_body, mirrors, n_mirrors, &mirror_schema),
};
const struct schema expose_schema = SCHEMA(struct expose_body, "expose", expose_f, expose_check);
