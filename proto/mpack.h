/* The one bounded msgpack reader every decoder uses, and the writer every
 * encoder uses.
 *
 * Reader: zero-copy, zero-allocation. Each call consumes one value from
 * the front of the remaining input or fails without consuming. It accepts
 * only the shortest encoding of each value (so decode-then-encode gives the
 * same bytes: canonical form), checks every length against what is left
 * (`n > r->len`, never `pos + n`), and never allocates on a peer's say-so —
 * unlike a general unpacker, a 5-byte array header claiming 2^32 elements
 * costs nothing here.
 *
 * Writer: msgpack-c's packer (which always picks the shortest form) writing
 * into a caller-owned fixed buffer; overflow is sticky and reported once by
 * mp_writer_finish(). */
#ifndef MN_MPACK_H
#define MN_MPACK_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <msgpack.h>

struct mp_reader {
	const uint8_t *p;  /* next byte */
	size_t len;        /* bytes left */
};

static inline void mp_reader_init(struct mp_reader *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
}

/* All return 0 or a negative enum proto_err. Strings/bins are borrowed
 * pointers into the reader's input. */
int mp_read_array(struct mp_reader *r, uint32_t *n);
int mp_read_uint(struct mp_reader *r, uint64_t *v);
int mp_read_bool(struct mp_reader *r, bool *v);
int mp_read_str(struct mp_reader *r, const char **s, size_t *n);
int mp_read_bin(struct mp_reader *r, const uint8_t **b, size_t *n);
/* Fails with PROTO_ERR_TRAILING when input is left. */
int mp_read_end(const struct mp_reader *r);

struct mp_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow;
	msgpack_packer pk;
};

void mp_writer_init(struct mp_writer *w, uint8_t *buf, size_t cap);
void mp_write_array(struct mp_writer *w, uint32_t n);
void mp_write_uint(struct mp_writer *w, uint64_t v);
void mp_write_bool(struct mp_writer *w, bool v);
void mp_write_str(struct mp_writer *w, const char *s, size_t n);
void mp_write_bin(struct mp_writer *w, const uint8_t *b, size_t n);
/* 0 and *len = bytes written, or PROTO_ERR_NOSPACE. */
int mp_writer_finish(const struct mp_writer *w, size_t *len);

#endif
