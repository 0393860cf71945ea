/* Snapshot header codec (proto/snaphdr.h): one policy table, like a
 * record body. */
#include <string.h>
#include "proto/snaphdr.h"
#include "proto/proto_err.h"
#include "proto/schema.h"

static const struct schema_field rcpt_f[] = {
	SF_K(struct snap_recipient, pk),
	SF_K(struct snap_recipient, sealed),
};
static const struct schema rcpt_schema = SCHEMA(struct snap_recipient, "recipient", rcpt_f, NULL);

int snap_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > MN_MAX_NAME || s[0] == '.' || s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int check(const void *p)
{
	const struct snap_header *h = p;

	if (h->v != SNAP_VERSION || !snap_name_ok(h->name) || h->plain_size > SNAP_MAX_PLAIN ||
	    h->chunk < SNAP_CHUNK_MIN || h->chunk > SNAP_CHUNK_MAX || h->n_rcpt < 1)
		return PROTO_ERR_VALUE;
	for (unsigned i = 0; i < h->n_rcpt; i++)
		for (unsigned j = 0; j < i; j++)
			if (!memcmp(h->rcpt[i].pk, h->rcpt[j].pk, MN_KEY_LEN))
				return PROTO_ERR_VALUE;   /* one seal per key */
	return 0;
}

static const struct schema_field hdr_f[] = {
	SF_U(struct snap_header, v, 255),
	SF_K(struct snap_header, owner),
	SF_S(struct snap_header, name, 1),
	SF_U(struct snap_header, created, UINT64_MAX),
	SF_U(struct snap_header, plain_size, UINT64_MAX),
	SF_U(struct snap_header, chunk, UINT32_MAX),
	SF_K(struct snap_header, ss_header),
	SF_L(struct snap_header, rcpt, n_rcpt, &rcpt_schema),
};
static const struct schema hdr_schema = SCHEMA(struct snap_header, "snapshot", hdr_f, check);

int snap_header_decode(const uint8_t *buf, size_t len, struct snap_header *h, size_t *hdr_len)
{
	size_t hlen;
	int rc;

	memset(h, 0, sizeof *h);
	if (len < SNAP_PREFIX_LEN)
		return PROTO_ERR_TRUNCATED;
	if (memcmp(buf, SNAP_MAGIC, 4) != 0)
		return PROTO_ERR_VALUE;
	hlen = (size_t)buf[4] << 8 | buf[5];
	if (hlen > SNAP_HEADER_MAX)
		return PROTO_ERR_FIELD_SIZE;
	if (hlen > len - SNAP_PREFIX_LEN)
		return PROTO_ERR_TRUNCATED;
	if ((rc = schema_decode(&hdr_schema, buf + SNAP_PREFIX_LEN, hlen, h)) < 0) {
		memset(h, 0, sizeof *h);
		return rc;
	}
	*hdr_len = SNAP_PREFIX_LEN + hlen;
	return 0;
}

int snap_header_encode(const struct snap_header *h, uint8_t *buf, size_t cap, size_t *len)
{
	size_t n;
	int rc;

	if (check(h) < 0)
		return PROTO_ERR_VALUE;
	if (cap < SNAP_PREFIX_LEN)
		return PROTO_ERR_NOSPACE;
	if ((rc = schema_encode(&hdr_schema, h, buf + SNAP_PREFIX_LEN, cap - SNAP_PREFIX_LEN, &n)) < 0)
		return rc;
	if (n > SNAP_HEADER_MAX)
		return PROTO_ERR_FIELD_SIZE;
	memcpy(buf, SNAP_MAGIC, 4);
	buf[4] = (uint8_t)(n >> 8);
	buf[5] = (uint8_t)n;
	*len = SNAP_PREFIX_LEN + n;
	return 0;
}

uint64_t snap_nchunks(const struct snap_header *h)
{
	return h->plain_size == 0 ? 1 : (h->plain_size + h->chunk - 1) / h->chunk;
}

uint64_t snap_total_size(const struct snap_header *h, size_t hdr_len)
{
	return hdr_len + h->plain_size + snap_nchunks(h) * SNAP_TAG_LEN;
}
