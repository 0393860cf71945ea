/* Record envelope codec; see record.h. */
#include <string.h>
#include "proto/record.h"
#include "proto/mpack.h"
#include "proto/proto_err.h"

#define ENVELOPE_FIELDS 8

int record_init(struct record *r, unsigned kind, const uint8_t origin[MN_KEY_LEN],
		const char *key, uint64_t version, uint64_t expires)
{
	size_t n = strnlen(key, MN_MAX_RKEY + 1);

	memset(r, 0, sizeof *r);
	if (!body_schema(kind))
		return PROTO_ERR_KIND;
	if (n == 0 || n > MN_MAX_RKEY)
		return PROTO_ERR_FIELD_SIZE;
	if (!utf8_valid(key, n))
		return PROTO_ERR_UTF8;
	r->kind = (uint8_t)kind;
	memcpy(r->origin, origin, MN_KEY_LEN);
	memcpy(r->key, key, n + 1);
	r->version = version;
	r->expires = expires;
	return 0;
}

int record_decode(const uint8_t *buf, size_t len, struct record *r, union body *body)
{
	int err = record_decode_envelope(buf, len, r);

	if (err < 0 || !r->body_len)
		return err;
	union body tmp;
	return body_decode(r->kind, r->body, r->body_len, body ? body : &tmp);
}

int record_decode_envelope(const uint8_t *buf, size_t len, struct record *r)
{
	struct mp_reader rd;
	uint32_t n;
	uint64_t v;
	const uint8_t *b;
	const char *s;
	size_t blen;
	int err;

	memset(r, 0, sizeof *r);
	if (len > MN_MAX_RECORD)
		return PROTO_ERR_RECORD_SIZE;
	mp_reader_init(&rd, buf, len);
	if ((err = mp_read_array(&rd, &n)) < 0)
		return err;
	if (n != ENVELOPE_FIELDS)
		return PROTO_ERR_ARITY;
	if ((err = mp_read_uint(&rd, &v)) < 0)
		return err;
	if (v != RECORD_FORMAT)
		return PROTO_ERR_VERSION;
	if ((err = mp_read_uint(&rd, &v)) < 0)
		return err;
	if (!body_schema((unsigned)(v > KIND_MAX ? 0 : v)))
		return PROTO_ERR_KIND;
	r->kind = (uint8_t)v;
	if ((err = mp_read_bin(&rd, &b, &blen)) < 0)
		return err;
	if (blen != MN_KEY_LEN)
		return PROTO_ERR_FIELD_SIZE;
	memcpy(r->origin, b, MN_KEY_LEN);
	if ((err = mp_read_str(&rd, &s, &blen)) < 0)
		return err;
	if (blen == 0 || blen > MN_MAX_RKEY)
		return PROTO_ERR_FIELD_SIZE;
	if (!utf8_valid(s, blen))
		return PROTO_ERR_UTF8;
	memcpy(r->key, s, blen);
	r->key[blen] = 0;
	if ((err = mp_read_uint(&rd, &r->version)) < 0)
		return err;
	if ((err = mp_read_uint(&rd, &r->expires)) < 0)
		return err;
	if ((err = mp_read_bin(&rd, &r->body, &r->body_len)) < 0)
		return err;
	if (r->body_len > MN_MAX_BODY)
		return PROTO_ERR_FIELD_SIZE;
	r->tbs_len = len - rd.len;
	if ((err = mp_read_bin(&rd, &b, &blen)) < 0)
		return err;
	if (blen != MN_SIG_LEN)
		return PROTO_ERR_FIELD_SIZE;
	memcpy(r->sig, b, MN_SIG_LEN);
	if ((err = mp_read_end(&rd)) < 0)
		return err;
	r->wire = buf;
	r->wire_len = len;
	return 0;
}

int record_encode(struct record *r, uint8_t *out, size_t cap)
{
	struct mp_writer w;
	size_t len, body_at;
	int err;

	if (!body_schema(r->kind))
		return PROTO_ERR_KIND;
	if (r->body_len > MN_MAX_BODY)
		return PROTO_ERR_FIELD_SIZE;
	size_t klen = strnlen(r->key, MN_MAX_RKEY + 1);
	if (klen == 0 || klen > MN_MAX_RKEY)
		return PROTO_ERR_FIELD_SIZE;
	if (!utf8_valid(r->key, klen))
		return PROTO_ERR_UTF8;
	mp_writer_init(&w, out, cap);
	mp_write_array(&w, ENVELOPE_FIELDS);
	mp_write_uint(&w, RECORD_FORMAT);
	mp_write_uint(&w, r->kind);
	mp_write_bin(&w, r->origin, MN_KEY_LEN);
	mp_write_str(&w, r->key, klen);
	mp_write_uint(&w, r->version);
	mp_write_uint(&w, r->expires);
	mp_write_bin(&w, r->body, r->body_len);
	if ((err = mp_writer_finish(&w, &r->tbs_len)) < 0)
		goto nospace;
	body_at = r->tbs_len - r->body_len;
	mp_write_bin(&w, r->sig, MN_SIG_LEN);
	if ((err = mp_writer_finish(&w, &len)) < 0)
		goto nospace;
	if (len > MN_MAX_RECORD)
		return PROTO_ERR_RECORD_SIZE;
	r->wire = out;
	r->wire_len = len;
	r->body = out + body_at;
	return 0;
nospace:
	return cap >= MN_MAX_RECORD ? PROTO_ERR_RECORD_SIZE : err;
}

int record_set_sig(struct record *r, uint8_t *out, const uint8_t sig[MN_SIG_LEN])
{
	if (out != r->wire || r->wire_len < MN_SIG_LEN)
		return PROTO_ERR_ARG;
	memcpy(r->sig, sig, MN_SIG_LEN);
	/* the signature's bin8 payload is the last 64 bytes of the wire form */
	memcpy(out + r->wire_len - MN_SIG_LEN, sig, MN_SIG_LEN);
	return 0;
}
