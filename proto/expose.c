/* expose body: a service a node offers, on which channels, and which
 * other nodes should mirror it. Signed by the exposing node. */
#include "proto/body.h"
#include "proto/proto_err.h"
#include <string.h>

static const struct schema_field mirror_f[] = { SF_K(struct mirror, node) };
static const struct schema mirror_schema = SCHEMA(struct mirror, "mirror", mirror_f, NULL);

/* A v3 onion service name: 56 characters of base32 (a-z, 2-7), ".onion". */
bool onion_name_valid(const char *s)
{
	size_t i;

	for (i = 0; i < 56; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '2' && s[i] <= '7')))
			return false;
	return strcmp(s + 56, ".onion") == 0;
}

static int expose_check(const void *p)
{
	const struct expose_body *b = p;

	if (b->channels == 0)
		return PROTO_ERR_VALUE;
	if (!dns_name_valid(b->service, false) || !dns_name_valid(b->domain, true))
		return PROTO_ERR_VALUE;
	/* an onion name only on the tor channel, and only a well-formed one */
	if (b->onion[0] && (!(b->channels & CH_TOR) || !onion_name_valid(b->onion)))
		return PROTO_ERR_VALUE;
	/* a mirror named twice would be two entry points that are one */
	for (unsigned i = 0; i < b->n_mirrors; i++)
		for (unsigned k = 0; k < i; k++)
			if (!memcmp(b->mirrors[i].node, b->mirrors[k].node, MN_KEY_LEN))
				return PROTO_ERR_VALUE;
	return 0;
}

static const struct schema_field expose_f[] = {
	SF_S(struct expose_body, service, 1),
	SF_U(struct expose_body, port, UINT16_MAX),
	SF_U(struct expose_body, channels, CH_ALL),
	SF_S(struct expose_body, domain, 0),
	SF_L(struct expose_body, mirrors, n_mirrors, &mirror_schema),
	SF_E(struct expose_body, proto, EXPOSE_PROTO_MAX, expose_proto_names),
	SF_S(struct expose_body, onion, 0),
};
const struct schema expose_schema = SCHEMA(struct expose_body, "expose", expose_f, expose_check);
