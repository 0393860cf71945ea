/* Join service framing and answer checks; see join_msg.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "src/join_msg.h"
#include "crypto/crypto.h"
#include "crypto/invite.h"
#include "crypto/record_sig.h"
#include "proto/proto_err.h"

static void put_len(uint8_t *p, size_t n)
{
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
}

int join_req_frame(const struct join_req *q, uint8_t *out, size_t cap, size_t *outlen)
{
	size_t n;
	int rc;

	if (cap < 4)
		return -ENOSPC;
	if ((rc = schema_encode(&join_req_schema, q, out + 4, cap - 4, &n)) < 0)
		return rc;
	put_len(out, n);
	*outlen = n + 4;
	return 0;
}

int join_req_build(uint8_t op, const struct node_key *k, const struct node_key *knew,
		   const uint8_t *secret, const char *name, uint64_t now, uint8_t *out,
		   size_t cap, size_t *outlen)
{
	struct join_req q;
	uint8_t priv[32];
	int rc;

	if ((op == JOIN_OP_JOIN) != (secret != NULL) || (op == JOIN_OP_ROTATE) != (knew != NULL))
		return -EINVAL;
	memset(&q, 0, sizeof q);
	q.v = INVITE_VERSION;
	q.op = op;
	if (secret)
		invite_id(secret, q.invite);
	memcpy(q.node, k->pk, 32);
	node_key_wireguard(k, priv, q.wg);
	if (knew) {
		memcpy(q.new_node, knew->pk, 32);
		node_key_wireguard(knew, priv, q.new_wg);
	}
	crypto_wipe(priv, sizeof priv);
	snprintf(q.name, sizeof q.name, "%s", name);
	q.time = now;
	if (join_req_seal(&q, secret, k, knew) < 0)
		return -EINVAL;
	rc = join_req_frame(&q, out, cap, outlen);
	if (rc == -ENOSPC || rc == PROTO_ERR_NOSPACE)
		return -ENOSPC;
	return rc < 0 ? -EINVAL : 0;
}

int join_frame_get(const uint8_t *buf, size_t len, const uint8_t **payload, size_t *plen,
		   size_t *used)
{
	size_t n;

	if (len < 4)
		return -EAGAIN;
	n = (size_t)buf[0] << 24 | (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | buf[3];
	if (n == 0 || n > JOIN_MAX_FRAME)
		return -EMSGSIZE;
	if (len - 4 < n)
		return -EAGAIN;
	*payload = buf + 4;
	*plen = n;
	*used = n + 4;
	return 0;
}

int join_resp_frames(const struct join_resp *r, const struct join_chain *c, uint8_t *out,
		     size_t cap, size_t *outlen)
{
	size_t n, off;
	int rc;

	if (cap < 4)
		return -ENOSPC;
	if ((rc = schema_encode(&join_resp_schema, r, out + 4, cap - 4, &n)) < 0)
		return rc;
	put_len(out, n);
	off = n + 4;
	for (size_t i = 0; c && i < c->n && i < r->nrec; i++) {
		if (c->len[i] == 0 || c->len[i] > JOIN_MAX_FRAME || cap - off < c->len[i] + 4)
			return -ENOSPC;
		put_len(out + off, c->len[i]);
		memcpy(out + off + 4, c->rec[i], c->len[i]);
		off += c->len[i] + 4;
	}
	*outlen = off;
	return 0;
}

int join_resp_parse(const uint8_t *buf, size_t len, struct join_resp *r, struct join_chain *c,
		    char *err, size_t errcap)
{
	const uint8_t *p;
	size_t n, used, off;
	int rc;

	memset(c, 0, sizeof *c);
	if ((rc = join_frame_get(buf, len, &p, &n, &used)) < 0) {
		if (rc == -EMSGSIZE)
			snprintf(err, errcap, "answer framed wrongly");
		return rc == -EAGAIN ? -EAGAIN : -EBADMSG;
	}
	if ((rc = schema_decode(&join_resp_schema, p, n, r)) < 0) {
		snprintf(err, errcap, "answer does not decode: %s", proto_strerror(rc));
		return -EBADMSG;
	}
	off = used;
	for (size_t i = 0; i < r->nrec; i++) {
		if ((rc = join_frame_get(buf + off, len - off, &p, &n, &used)) < 0) {
			if (rc == -EMSGSIZE)
				snprintf(err, errcap, "certificate %zu framed wrongly", i + 1);
			return rc == -EAGAIN ? -EAGAIN : -EBADMSG;
		}
		c->rec[i] = p;
		c->len[i] = n;
		c->n = i + 1;
		off += used;
	}
	if (off != len) {
		snprintf(err, errcap, "%zu unexpected bytes after the answer", len - off);
		return -EBADMSG;
	}
	return 0;
}

int join_chain_verify(const struct join_resp *r, const struct join_chain *c, const uint8_t me[32],
		      const uint8_t issuer[32], uint64_t now_s, struct chain_result *res,
		      char *err, size_t errcap)
{
	struct record recs[JOIN_MAX_CHAIN];
	const struct record *ptrs[JOIN_MAX_CHAIN];
	union body b;
	uint8_t id[32];
	int rc;

	if (c->n == 0) {
		snprintf(err, errcap, "no certificate in the answer");
		return -EACCES;
	}
	for (size_t i = 0; i < c->n; i++) {
		if (record_decode(c->rec[i], c->len[i], &recs[i], &b) < 0 || recs[i].kind != KIND_CERT ||
		    record_is_tombstone(&recs[i]) || record_verify(&recs[i], id) < 0) {
			snprintf(err, errcap, "certificate %zu of the chain is not a validly signed cert record",
				 i + 1);
			return -EACCES;
		}
		ptrs[i] = &recs[i];
	}
	const struct record *last = ptrs[c->n - 1];
	if (memcmp(last->origin, issuer, 32) != 0) {
		snprintf(err, errcap, "our certificate is not signed by the key we expected "
			 "(the invitation's master, or our parent)");
		return -EACCES;
	}
	struct chain_policy pol = { .root = r->root, .now = now_s };
	if ((rc = chain_validate(&pol, me, ptrs, c->n, res)) < 0) {
		snprintf(err, errcap, "the certificate chain does not validate: %s",
			 crypto_strerror(rc));
		return -EACCES;
	}
	return 0;
}
