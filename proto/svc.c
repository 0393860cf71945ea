/* svc body: a service a subsystem announces (mail MX, backup capacity, an
 * AI endpoint, any app), with free-form attributes. Signed by the provider. */
#include "proto/body.h"

static const struct schema_field attr_f[] = {
	SF_S(struct svc_attr, k, 1),
	SF_S(struct svc_attr, v, 0),
};
static const struct schema attr_schema = SCHEMA(struct svc_attr, "attr", attr_f, NULL);

static const struct schema_field svc_f[] = {
	SF_S(struct svc_body, service, 1),
	SF_S(struct svc_body, endpoint, 0),
	SF_U(struct svc_body, port, UINT16_MAX),
	SF_L(struct svc_body, attrs, n_attrs, &attr_schema),
};
const struct schema svc_schema = SCHEMA(struct svc_body, "svc", svc_f, NULL);
