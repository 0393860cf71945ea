/* Engine message codec; see wire.h. */
#include <string.h>
#include "src/engine/wire.h"
#include "proto/proto_err.h"

int wire_begin(struct wire_iter *it, const uint8_t *buf, size_t len)
{
	if (len < 2)
		return PROTO_ERR_TRUNCATED;
	if (buf[0] != WIRE_VERSION)
		return PROTO_ERR_VERSION;
	mp_reader_init(&it->r, buf + 1, len - 1);
	return 0;
}

static int read_key(struct mp_reader *r, const uint8_t **key)
{
	size_t n;
	int err = mp_read_bin(r, key, &n);

	if (err < 0)
		return err;
	return n == 32 ? 0 : PROTO_ERR_FIELD_SIZE;
}

int wire_next(struct wire_iter *it, struct wire_frame *f)
{
	struct mp_reader *r = &it->r;
	uint32_t n;
	uint64_t t;
	int err;

	if (r->len == 0)
		return 0;
	memset(f, 0, sizeof *f);
	if ((err = mp_read_array(r, &n)) < 0)
		return err;
	if (n < 1)
		return PROTO_ERR_ARITY;
	if ((err = mp_read_uint(r, &t)) < 0)
		return err;
	if (t < W_REC || t > W_TYPE_MAX)
		return PROTO_ERR_KIND;
	f->type = (enum wire_type)t;
	switch (f->type) {
	case W_REC:
		if (n != 2)
			return PROTO_ERR_ARITY;
		return (err = mp_read_bin(r, &f->data, &f->len)) < 0 ? err : 1;
	case W_IHAVE:
	case W_IWANT:
	case W_IDONTWANT:
		if (n != 2)
			return PROTO_ERR_ARITY;
		if ((err = mp_read_bin(r, &f->data, &f->len)) < 0)
			return err;
		if (f->len == 0 || f->len % WIRE_ID_LEN || f->len / WIRE_ID_LEN > WIRE_MAX_IDS)
			return PROTO_ERR_FIELD_SIZE;
		return 1;
	case W_GRAFT:
		return n == 1 ? 1 : PROTO_ERR_ARITY;
	case W_PRUNE:
		if (n != 2)
			return PROTO_ERR_ARITY;
		return (err = mp_read_uint(r, &f->a)) < 0 ? err : 1;
	case W_CHOKE:
		if (n != 2)
			return PROTO_ERR_ARITY;
		if ((err = mp_read_uint(r, &f->a)) < 0)
			return err;
		return f->a <= 1 ? 1 : PROTO_ERR_RANGE;
	case W_PING:
	case W_ACK:
		/* the incarnation is optional (absent: 0) */
		if (n != 2 && n != 3)
			return PROTO_ERR_ARITY;
		if ((err = mp_read_uint(r, &f->a)) < 0 ||
		    (n == 3 && (err = mp_read_uint(r, &f->b)) < 0))
			return err;
		return 1;
	case W_PINGREQ:
		if (n != 3)
			return PROTO_ERR_ARITY;
		if ((err = mp_read_uint(r, &f->a)) < 0 || (err = read_key(r, &f->key)) < 0)
			return err;
		return 1;
	case W_MEMBER:
		if (n != 4)
			return PROTO_ERR_ARITY;
		if ((err = read_key(r, &f->key)) < 0 || (err = mp_read_uint(r, &f->a)) < 0 ||
		    (err = mp_read_uint(r, &f->b)) < 0)
			return err;
		return f->a <= 3 ? 1 : PROTO_ERR_RANGE;
	case W_SYNC:
		if (n != 4)
			return PROTO_ERR_ARITY;
		if ((err = mp_read_uint(r, &f->a)) < 0 || (err = mp_read_uint(r, &f->b)) < 0 ||
		    (err = mp_read_bin(r, &f->data, &f->len)) < 0)
			return err;
		return 1;
	}
	return PROTO_ERR_KIND;
}

void wire_buf_init(struct wire_buf *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	if (cap) {
		buf[0] = WIRE_VERSION;
		w->len = 1;
	}
}

bool wire_buf_empty(const struct wire_buf *w)
{
	return w->len <= 1;
}

/* Append through a writer on the free tail; commit only if it all fit. */
#define APPEND(w, body) do { \
	struct mp_writer mw; \
	size_t n_; \
	mp_writer_init(&mw, (w)->buf + (w)->len, (w)->cap - (w)->len); \
	body; \
	if (mp_writer_finish(&mw, &n_) < 0) \
		return PROTO_ERR_NOSPACE; \
	(w)->len += n_; \
	return 0; \
} while (0)

int wire_add_record(struct wire_buf *w, const uint8_t *rec, size_t len)
{
	APPEND(w, {
		mp_write_array(&mw, 2);
		mp_write_uint(&mw, W_REC);
		mp_write_bin(&mw, rec, len);
	});
}

int wire_add_ids(struct wire_buf *w, enum wire_type t, const uint8_t *ids, size_t n)
{
	if (n == 0 || n > WIRE_MAX_IDS)
		return PROTO_ERR_ARG;
	APPEND(w, {
		mp_write_array(&mw, 2);
		mp_write_uint(&mw, t);
		mp_write_bin(&mw, ids, n * WIRE_ID_LEN);
	});
}

int wire_add_simple(struct wire_buf *w, enum wire_type t, uint64_t a, uint64_t b,
		    const uint8_t *key)
{
	APPEND(w, {
		switch (t) {
		case W_GRAFT:
			mp_write_array(&mw, 1);
			mp_write_uint(&mw, t);
			break;
		case W_PRUNE:
		case W_CHOKE:
			mp_write_array(&mw, 2);
			mp_write_uint(&mw, t);
			mp_write_uint(&mw, a);
			break;
		case W_PING:
		case W_ACK:
			mp_write_array(&mw, b ? 3 : 2);
			mp_write_uint(&mw, t);
			mp_write_uint(&mw, a);
			if (b)
				mp_write_uint(&mw, b);
			break;
		case W_PINGREQ:
			mp_write_array(&mw, 3);
			mp_write_uint(&mw, t);
			mp_write_uint(&mw, a);
			mp_write_bin(&mw, key, 32);
			break;
		case W_MEMBER:
			mp_write_array(&mw, 4);
			mp_write_uint(&mw, t);
			mp_write_bin(&mw, key, 32);
			mp_write_uint(&mw, a);
			mp_write_uint(&mw, b);
			break;
		default:
			return PROTO_ERR_ARG;
		}
	});
}

int wire_add_sync(struct wire_buf *w, uint64_t session, uint64_t kind, const uint8_t *data,
		  size_t len)
{
	APPEND(w, {
		mp_write_array(&mw, 4);
		mp_write_uint(&mw, W_SYNC);
		mp_write_uint(&mw, session);
		mp_write_uint(&mw, kind);
		mp_write_bin(&mw, data, len);
	});
}

size_t wire_record_frame_len(size_t rec_len)
{
	/* fixarray + type + bin header (2, 3 or 5 bytes) */
	return 2 + (rec_len < 256 ? 2 : rec_len < 65536 ? 3 : 5) + rec_len;
}
