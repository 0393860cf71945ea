/* backup body: an encrypted snapshot and the peers holding copies.
 * Signed by the owner. */
#include "proto/body.h"

static const struct schema_field holder_f[] = { SF_K(struct holder, node) };
static const struct schema holder_schema = SCHEMA(struct holder, "holder", holder_f, NULL);

static const struct schema_field backup_f[] = {
	SF_S(struct backup_body, snapshot, 1),
	SF_U(struct backup_body, size, UINT64_MAX),
	SF_K(struct backup_body, hash),
	SF_L(struct backup_body, holders, n_holders, &holder_schema),
};
const struct schema backup_schema = SCHEMA(struct backup_body, "backup", backup_f, NULL);
