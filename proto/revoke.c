/* revoke body: an ancestor withdraws a subject's membership, forever. */
#include "proto/body.h"

static const struct schema_field revoke_f[] = {
	SF_K(struct revoke_body, subject),
	SF_S(struct revoke_body, reason, 0),
	SF_U(struct revoke_body, time, UINT64_MAX),
};
const struct schema revoke_schema = SCHEMA(struct revoke_body, "revoke", revoke_f, NULL);
