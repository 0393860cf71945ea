/* dns body: a delegation of `zone` to a node, with its name servers and
 * the service names it publishes ("first peek"). Signed by the holder of
 * the parent zone. */
#include "proto/body.h"
#include "proto/proto_err.h"

static const struct schema_field ns_f[] = {
	SF_S(struct dns_ns, host, 1),
	SF_S(struct dns_ns, addr, 1),
};
static const struct schema ns_schema = SCHEMA(struct dns_ns, "ns", ns_f, NULL);
static const struct schema_field name_f[] = {
	SF_S(struct dns_name, label, 0),
	SF_S(struct dns_name, addr, 1),
	SF_U(struct dns_name, port, UINT16_MAX),
};
static const struct schema name_schema = SCHEMA(struct dns_name, "name", name_f, NULL);

#define DNS_MAX_TTL 2147483647u /* RFC 2181 §8 */

static int dns_check(const void *p)
{
	const struct dns_body *b = p;

	if (!dns_name_valid(b->zone, false))
		return PROTO_ERR_VALUE;
	for (unsigned i = 0; i < b->n_ns; i++)
		if (!dns_name_valid(b->ns[i].host, false) || !addr_valid(b->ns[i].addr, false))
			return PROTO_ERR_VALUE;
	for (unsigned i = 0; i < b->n_names; i++)
		if (!dns_name_valid(b->names[i].label, true) || !addr_valid(b->names[i].addr, false))
			return PROTO_ERR_VALUE;
	return 0;
}

static const struct schema_field dns_f[] = {
	SF_S(struct dns_body, zone, 1),
	SF_K(struct dns_body, delegate),
	SF_L(struct dns_body, ns, n_ns, &ns_schema),
	SF_U(struct dns_body, ttl, DNS_MAX_TTL),
	SF_L(struct dns_body, names, n_names, &name_schema),
};
const struct schema dns_schema = SCHEMA(struct dns_body, "dns", dns_f, dns_check);
