/* Onboarding cryptography; see crypto/invite.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include "crypto/invite.h"
#include "crypto/sign.h"
#include "proto/hex.h"
#include "proto/proto_err.h"

#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static void keyed(const uint8_t secret[INVITE_SECRET_LEN], const char *label, uint8_t *out,
		  size_t outlen)
{
	crypto_generichash(out, outlen, (const unsigned char *)label, strlen(label), secret,
			   INVITE_SECRET_LEN);
}

void invite_id(const uint8_t secret[INVITE_SECRET_LEN], char id[INVITE_ID_LEN + 1])
{
	uint8_t b[INVITE_ID_LEN / 2];

	keyed(secret, "mirrornet/v1/invite/id", b, sizeof b);
	hex_encode(b, sizeof b, id);
}

void invite_wg_key(const uint8_t secret[INVITE_SECRET_LEN], uint8_t priv[32], uint8_t pub[32])
{
	keyed(secret, "mirrornet/v1/invite/wg", priv, 32);
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
	crypto_scalarmult_curve25519_base(pub, priv);
}

int invite_token_format(const struct invite_token *t, char *out, size_t cap)
{
	uint8_t bin[INVITE_TEXT_MAX];
	size_t n, pre = sizeof INVITE_SCHEME - 1;
	int rc;

	/* a proto error is not an errno (PROTO_ERR_NOSPACE is -13, -EACCES) */
	if ((rc = schema_encode(&invite_token_schema, t, bin, sizeof bin, &n)) < 0)
		return rc == PROTO_ERR_NOSPACE ? -EMSGSIZE : -EINVAL;
	/* never make a token invite_token_parse() would call too long */
	if (sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1 > INVITE_TEXT_MAX)
		return -EMSGSIZE;
	if (cap < pre + sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
		return -ENOSPC;
	memcpy(out, INVITE_SCHEME, pre);
	sodium_bin2base64(out + pre, cap - pre, bin, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(bin, sizeof bin);
	return 0;
}

int invite_token_parse(const char *text, struct invite_token *t, char *err, size_t errcap)
{
	uint8_t bin[INVITE_TEXT_MAX];
	size_t n, pre = sizeof INVITE_SCHEME - 1, len;
	const char *end;
	int rc;

	memset(t, 0, sizeof *t);
	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	len = strlen(text);
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' ||
		       text[len - 1] == '\r'))
		len--;
	if (len < pre || strncmp(text, INVITE_SCHEME, pre)) {
		snprintf(err, errcap, "not an invitation: it must start with %s", INVITE_SCHEME);
		return -EINVAL;
	}
	if (len - pre > INVITE_TEXT_MAX) {
		snprintf(err, errcap, "not an invitation: too long");
		return -EINVAL;
	}
	/* the alphabet first: libsodium 1.0.18 decodes any byte >= 0x80 as '_',
	 * which would give one token many spellings */
	if (strspn(text + pre, B64URL) != len - pre ||
	    sodium_base642bin(bin, sizeof bin, text + pre, len - pre, NULL, &n, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || end != text + len) {
		snprintf(err, errcap, "invitation damaged: not base64url (was it cut or re-typed?)");
		return -EINVAL;
	}
	rc = schema_decode(&invite_token_schema, bin, n, t);
	/* 0x9b: an array of the 11 fields of this version */
	bool ours = n && bin[0] == 0x9b;
	sodium_memzero(bin, sizeof bin);
	if (rc < 0) {
		if (!ours)
			snprintf(err, errcap, "invitation damaged or from another version (%s)",
				 proto_strerror(rc));
		else
			snprintf(err, errcap, "invitation damaged: %s", proto_strerror(rc));
		sodium_memzero(t, sizeof *t);
		return -EINVAL;
	}
	return 0;
}

int join_req_digest(const struct join_req *q, uint8_t d[32])
{
	struct join_req z = *q;
	uint8_t buf[1024];
	size_t n;
	int rc;

	memset(z.proof, 0, sizeof z.proof);
	memset(z.sig, 0, sizeof z.sig);
	memset(z.sig_new, 0, sizeof z.sig_new);
	if ((rc = schema_encode(&join_req_schema, &z, buf, sizeof buf, &n)) < 0)
		return rc;
	sign_digest("mirrornet/v1/join", NULL, 0, buf, n, d);
	return 0;
}

int join_req_seal(struct join_req *q, const uint8_t *secret, const struct node_key *k,
		  const struct node_key *knew)
{
	uint8_t d[32];
	int rc;

	if ((rc = join_req_digest(q, d)) < 0)
		return rc;
	if (secret)
		crypto_generichash(q->proof, 32, d, 32, secret, INVITE_SECRET_LEN);
	sign_digest_sign(k, d, q->sig);
	if (knew)
		sign_digest_sign(knew, d, q->sig_new);
	return 0;
}

bool join_req_check(const struct join_req *q, const uint8_t *secret)
{
	uint8_t d[32], mac[32];
	bool ok = true;

	if (join_req_digest(q, d) < 0)
		return false;
	if (secret) {
		crypto_generichash(mac, 32, d, 32, secret, INVITE_SECRET_LEN);
		ok = sodium_memcmp(mac, q->proof, 32) == 0;
		sodium_memzero(mac, sizeof mac);
	}
	ok &= sign_digest_verify(q->node, d, q->sig) == 0;
	if (q->op == JOIN_OP_ROTATE)
		ok &= sign_digest_verify(q->new_node, d, q->sig_new) == 0;
	return ok;
}
