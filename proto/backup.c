/* backup body: an encrypted snapshot and the peers holding copies, each
 * with the receipt it signed (docs/backup.md). Signed by the owner. */
#include <string.h>
#include "proto/body.h"
#include "proto/proto_err.h"

static const struct schema_field holder_f[] = { SF_K(struct holder, node) };
static const struct schema holder_schema = SCHEMA(struct holder, "holder", holder_f, NULL);
static const struct schema_field receipt_f[] = { SF_K(struct receipt, sig) };
static const struct schema receipt_schema = SCHEMA(struct receipt, "receipt", receipt_f, NULL);

/* one receipt per holder, no holder twice */
static int check(const void *p)
{
	const struct backup_body *b = p;

	if (b->n_receipts != b->n_holders)
		return PROTO_ERR_VALUE;
	for (unsigned i = 0; i < b->n_holders; i++)
		for (unsigned j = 0; j < i; j++)
			if (!memcmp(b->holders[i].node, b->holders[j].node, MN_KEY_LEN))
				return PROTO_ERR_VALUE;
	return 0;
}

static const struct schema_field backup_f[] = {
	SF_S(struct backup_body, snapshot, 1),
	SF_U(struct backup_body, size, UINT64_MAX),
	SF_K(struct backup_body, hash),
	SF_L(struct backup_body, holders, n_holders, &holder_schema),
	SF_S(struct backup_body, name, 0),
	SF_U(struct backup_body, created, UINT64_MAX),
	SF_L(struct backup_body, receipts, n_receipts, &receipt_schema),
};
const struct schema backup_schema = SCHEMA(struct backup_body, "backup", backup_f, check);
