/* Bounded msgpack reader and fixed-buffer writer; see mpack.h. */
#include <string.h>
#include "proto/mpack.h"
#include "proto/proto_err.h"

static uint64_t be_load(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Read a type byte plus an n-byte big-endian argument. */
static int take_arg(struct mp_reader *r, size_t n, uint64_t *v)
{
	if (n + 1 > r->len)
		return PROTO_ERR_TRUNCATED;
	*v = be_load(r->p + 1, n);
	return 0;
}

static void advance(struct mp_reader *r, size_t n)
{
	r->p += n;
	r->len -= n;
}

int mp_read_array(struct mp_reader *r, uint32_t *n)
{
	uint64_t v;
	size_t hdr;
	int err;

	if (r->len < 1)
		return PROTO_ERR_TRUNCATED;
	uint8_t t = r->p[0];
	if ((t & 0xf0) == 0x90) {
		v = t & 0x0f;
		hdr = 1;
	} else if (t == 0xdc) {
		if ((err = take_arg(r, 2, &v)) < 0)
			return err;
		if (v < 16)
			return PROTO_ERR_NONCANONICAL;
		hdr = 3;
	} else if (t == 0xdd) {
		if ((err = take_arg(r, 4, &v)) < 0)
			return err;
		if (v <= 0xffff)
			return PROTO_ERR_NONCANONICAL;
		hdr = 5;
	} else {
		return PROTO_ERR_TYPE;
	}
	/* Every element takes at least one byte: a count larger than what is
	 * left can only be truncated input. */
	if (v > r->len - hdr)
		return PROTO_ERR_TRUNCATED;
	advance(r, hdr);
	*n = (uint32_t)v;
	return 0;
}

int mp_read_uint(struct mp_reader *r, uint64_t *out)
{
	uint64_t v;
	size_t n;
	int err;

	if (r->len < 1)
		return PROTO_ERR_TRUNCATED;
	uint8_t t = r->p[0];
	if (t <= 0x7f) {
		*out = t;
		advance(r, 1);
		return 0;
	}
	switch (t) {
	case 0xcc: n = 1; break;
	case 0xcd: n = 2; break;
	case 0xce: n = 4; break;
	case 0xcf: n = 8; break;
	default: return PROTO_ERR_TYPE;
	}
	if ((err = take_arg(r, n, &v)) < 0)
		return err;
	/* shortest form: each width must be needed */
	uint64_t min = n == 1 ? 0x80 : n == 2 ? 0x100 : n == 4 ? 0x10000 : 0x100000000ull;
	if (v < min)
		return PROTO_ERR_NONCANONICAL;
	advance(r, 1 + n);
	*out = v;
	return 0;
}

int mp_read_bool(struct mp_reader *r, bool *v)
{
	if (r->len < 1)
		return PROTO_ERR_TRUNCATED;
	if (r->p[0] == 0xc2)
		*v = false;
	else if (r->p[0] == 0xc3)
		*v = true;
	else
		return PROTO_ERR_TYPE;
	advance(r, 1);
	return 0;
}

/* Shared by str and bin: the header gives a length, then that many bytes. */
static int read_blob(struct mp_reader *r, size_t hdr, uint64_t n, uint64_t min,
		     const uint8_t **b, size_t *len)
{
	if (n < min)
		return PROTO_ERR_NONCANONICAL;
	if (hdr > r->len || n > r->len - hdr)
		return PROTO_ERR_TRUNCATED;
	*b = r->p + hdr;
	*len = (size_t)n;
	advance(r, hdr + (size_t)n);
	return 0;
}

int mp_read_str(struct mp_reader *r, const char **s, size_t *n)
{
	const uint8_t *b;
	uint64_t v;
	int err;

	if (r->len < 1)
		return PROTO_ERR_TRUNCATED;
	uint8_t t = r->p[0];
	if ((t & 0xe0) == 0xa0)
		err = read_blob(r, 1, t & 0x1f, 0, &b, n);
	else if (t == 0xd9)
		err = (err = take_arg(r, 1, &v)) < 0 ? err : read_blob(r, 2, v, 32, &b, n);
	else if (t == 0xda)
		err = (err = take_arg(r, 2, &v)) < 0 ? err : read_blob(r, 3, v, 0x100, &b, n);
	else if (t == 0xdb)
		err = (err = take_arg(r, 4, &v)) < 0 ? err : read_blob(r, 5, v, 0x10000, &b, n);
	else
		return PROTO_ERR_TYPE;
	if (err == 0)
		*s = (const char *)b;
	return err;
}

int mp_read_bin(struct mp_reader *r, const uint8_t **b, size_t *n)
{
	uint64_t v;
	int err;

	if (r->len < 1)
		return PROTO_ERR_TRUNCATED;
	switch (r->p[0]) {
	case 0xc4:
		return (err = take_arg(r, 1, &v)) < 0 ? err : read_blob(r, 2, v, 0, b, n);
	case 0xc5:
		return (err = take_arg(r, 2, &v)) < 0 ? err : read_blob(r, 3, v, 0x100, b, n);
	case 0xc6:
		return (err = take_arg(r, 4, &v)) < 0 ? err : read_blob(r, 5, v, 0x10000, b, n);
	}
	return PROTO_ERR_TYPE;
}

int mp_read_end(const struct mp_reader *r)
{
	return r->len ? PROTO_ERR_TRAILING : 0;
}

static int writer_cb(void *data, const char *buf, size_t len)
{
	struct mp_writer *w = data;

	if (w->overflow || len > w->cap - w->len) {
		w->overflow = true;
		return -1;
	}
	if (len)
		memcpy(w->buf + w->len, buf, len);
	w->len += len;
	return 0;
}

void mp_writer_init(struct mp_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->overflow = false;
	msgpack_packer_init(&w->pk, w, writer_cb);
}

void mp_write_array(struct mp_writer *w, uint32_t n)
{
	msgpack_pack_array(&w->pk, n);
}

void mp_write_uint(struct mp_writer *w, uint64_t v)
{
	msgpack_pack_uint64(&w->pk, v);
}

void mp_write_bool(struct mp_writer *w, bool v)
{
	if (v)
		msgpack_pack_true(&w->pk);
	else
		msgpack_pack_false(&w->pk);
}

void mp_write_str(struct mp_writer *w, const char *s, size_t n)
{
	msgpack_pack_str_with_body(&w->pk, s, n);
}

void mp_write_bin(struct mp_writer *w, const uint8_t *b, size_t n)
{
	msgpack_pack_bin_with_body(&w->pk, b, n);
}

int mp_writer_finish(const struct mp_writer *w, size_t *len)
{
	if (w->overflow)
		return PROTO_ERR_NOSPACE;
	*len = w->len;
	return 0;
}
