/* The backup bulk channel's frames: see proto/bkwire.h. */
#include <string.h>
#include "proto/bkwire.h"
#include "proto/proto_err.h"
#include "proto/schema.h"

static const struct schema_field hello_f[] = {
	SF_U(struct bk_hello, v, 255), SF_K(struct bk_hello, pk), SF_K(struct bk_hello, nonce),
};
static const struct schema_field chal_f[] = {
	SF_K(struct bk_challenge, pk), SF_K(struct bk_challenge, nonce), SF_K(struct bk_challenge, sig),
};
static const struct schema_field sig_f[] = { SF_K(struct bk_sig, sig) };
static const struct schema_field req_f[] = {
	SF_K(struct bk_req, owner), SF_K(struct bk_req, hash), SF_U(struct bk_req, size, UINT64_MAX),
	SF_U(struct bk_req, offset, UINT64_MAX), SF_U(struct bk_req, time, UINT64_MAX),
	SF_K(struct bk_req, sig),
};
static const struct schema_field ok_f[] = { SF_U(struct bk_ok, n, UINT64_MAX) };
static const struct schema_field err_f[] = {
	SF_U(struct bk_err, code, 255), SF_S(struct bk_err, message, 0),
};
struct bk_none { uint8_t unused; };
static const struct schema_field none_f[1];

static const struct schema schemas[] = {
	[BK_HELLO] = SCHEMA(struct bk_hello, "hello", hello_f, NULL),
	[BK_CHALLENGE] = SCHEMA(struct bk_challenge, "challenge", chal_f, NULL),
	[BK_AUTH] = SCHEMA(struct bk_sig, "auth", sig_f, NULL),
	[BK_READY] = { "ready", none_f, 0, sizeof(struct bk_none), NULL },
	[BK_PUT] = SCHEMA(struct bk_req, "put", req_f, NULL),
	[BK_GET] = SCHEMA(struct bk_req, "get", req_f, NULL),
	[BK_OK] = SCHEMA(struct bk_ok, "ok", ok_f, NULL),
	[BK_RECEIPT] = SCHEMA(struct bk_sig, "receipt", sig_f, NULL),
	[BK_ERR] = SCHEMA(struct bk_err, "err", err_f, NULL),
};

const char *bk_code_name(unsigned code)
{
	static const char *const names[] = {
		"?", "protocol", "auth", "not_member", "stale", "quota", "too_long", "bad_hash",
		"not_found", "owner", "busy", "io",
	};
	return code < sizeof names / sizeof names[0] ? names[code] : "?";
}

int bk_frame_get(const uint8_t *buf, size_t len, uint8_t *type, const uint8_t **payload,
		 size_t *n, size_t *used)
{
	uint32_t l;

	if (len < BK_HDR)
		return PROTO_ERR_TRUNCATED;
	*type = buf[0];
	l = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 8 | buf[4];
	if (*type < BK_HELLO || *type > BK_ERR)
		return PROTO_ERR_VALUE;
	if (l > (*type == BK_DATA ? BK_DATA_MAX : BK_CTRL_MAX))
		return PROTO_ERR_VALUE;
	if (l > len - BK_HDR)
		return PROTO_ERR_TRUNCATED;
	*payload = buf + BK_HDR;
	*n = l;
	*used = BK_HDR + l;
	return 0;
}

void bk_frame_hdr(uint8_t out[BK_HDR], uint8_t type, size_t n)
{
	out[0] = type;
	out[1] = (uint8_t)(n >> 24);
	out[2] = (uint8_t)(n >> 16);
	out[3] = (uint8_t)(n >> 8);
	out[4] = (uint8_t)n;
}

int bk_decode(uint8_t type, const uint8_t *p, size_t n, void *out)
{
	if (type == BK_DATA || type < BK_HELLO || type > BK_ERR)
		return PROTO_ERR_ARG;
	return schema_decode(&schemas[type], p, n, out);
}

int bk_encode(uint8_t type, const void *in, uint8_t *out, size_t cap, size_t *len)
{
	size_t n;
	int rc;

	if (type == BK_DATA || type < BK_HELLO || type > BK_ERR || cap < BK_HDR)
		return PROTO_ERR_ARG;
	if ((rc = schema_encode(&schemas[type], in, out + BK_HDR, cap - BK_HDR, &n)) < 0)
		return rc;
	if (n > BK_CTRL_MAX)
		return PROTO_ERR_FIELD_SIZE;
	bk_frame_hdr(out, type, n);
	*len = BK_HDR + n;
	return 0;
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

size_t bk_req_tbs(uint8_t type, const struct bk_req *q, uint8_t out[1 + 32 + 32 + 24])
{
	out[0] = type;
	memcpy(out + 1, q->owner, 32);
	memcpy(out + 33, q->hash, 32);
	put64(out + 65, q->size);
	put64(out + 73, q->offset);
	put64(out + 81, q->time);
	return 89;
}
