/* Record signatures: the digest of the to-be-signed form under the kind's
 * context. The tbs form is the wire array without its signature, so its
 * header byte is 0x97 where the wire has 0x98; hashing that byte as a
 * prefix avoids copying the record. */
#include <stdio.h>
#include <string.h>
#include "crypto/record_sig.h"
#include "crypto/sign.h"
#include "crypto/crypto.h"
#include "proto/proto_err.h"

static void record_ctx(unsigned kind, char *ctx, size_t cap)
{
	const char *name = kind_name(kind);

	snprintf(ctx, cap, "mirrornet/v1/record/%s", name ? name : "?");
}

void record_id(const struct record *r, uint8_t id[32])
{
	static const uint8_t tbs_hdr = 0x97;   /* fixarray of 7 */
	char ctx[SIGN_CTX_MAX];

	record_ctx(r->kind, ctx, sizeof ctx);
	sign_digest(ctx, &tbs_hdr, 1, r->wire + 1, r->tbs_len - 1, id);
}

int record_sign(struct record *r, const struct node_key *k, uint8_t *out, size_t cap)
{
	uint8_t id[32], sig[64];
	int err;

	memcpy(r->origin, k->pk, sizeof r->origin);
	memset(r->sig, 0, sizeof r->sig);
	if ((err = record_encode(r, out, cap)) < 0)
		return err;
	record_id(r, id);
	sign_digest_sign(k, id, sig);
	return record_set_sig(r, out, sig);
}

int record_verify(const struct record *r, uint8_t id[32])
{
	uint8_t tmp[32];
	uint8_t *d = id ? id : tmp;

	if (!r->wire || r->tbs_len < 1)
		return CRYPTO_ERR_ARG;
	record_id(r, d);
	return sign_digest_verify(r->origin, d, r->sig);
}
