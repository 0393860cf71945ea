/* endpoint body: the WireGuard endpoints an observer last saw its peers
 * at. Signed by the observer; consumers try them when a peer's own
 * endpoint stops answering (a moved node, a NAT). */
#include "proto/body.h"
#include "proto/proto_err.h"

static const struct schema_field seen_f[] = {
	SF_K(struct seen_endpoint, node),
	SF_S(struct seen_endpoint, endpoint, 1),
	SF_U(struct seen_endpoint, at, UINT64_MAX),
};
static const struct schema seen_schema = SCHEMA(struct seen_endpoint, "seen", seen_f, NULL);

static const struct schema_field endpoint_f[] = {
	SF_L(struct endpoint_body, seen, n_seen, &seen_schema),
};
const struct schema endpoint_schema = SCHEMA(struct endpoint_body, "endpoint", endpoint_f, NULL);
