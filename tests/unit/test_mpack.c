/* The bounded reader: shortest forms only, bounds, writer overflow. */
#include "tests/check.h"
#include "proto/mpack.h"
#include "proto/proto_err.h"

static int read_uint_hex(const uint8_t *b, size_t n, uint64_t *v)
{
	struct mp_reader r;
	int err;

	mp_reader_init(&r, b, n);
	if ((err = mp_read_uint(&r, v)) < 0)
		return err;
	return mp_read_end(&r);
}

static void test_uint_boundaries(void)
{
	static const uint64_t vals[] = { 0, 1, 127, 128, 255, 256, 65535, 65536,
					 0xffffffffull, 0x100000000ull, UINT64_MAX };
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		uint8_t buf[16];
		struct mp_writer w;
		size_t n;
		uint64_t v = 0;

		mp_writer_init(&w, buf, sizeof buf);
		mp_write_uint(&w, vals[i]);
		CHECK_INT(mp_writer_finish(&w, &n), 0);
		CHECK_INT(read_uint_hex(buf, n, &v), 0);
		CHECK(v == vals[i]);
	}
	/* non-shortest forms */
	static const uint8_t nc1[] = { 0xcc, 0x05 }, nc2[] = { 0xcd, 0x00, 0xff },
		nc3[] = { 0xce, 0x00, 0x00, 0xff, 0xff },
		nc4[] = { 0xcf, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
	uint64_t v;
	CHECK_INT(read_uint_hex(nc1, sizeof nc1, &v), PROTO_ERR_NONCANONICAL);
	CHECK_INT(read_uint_hex(nc2, sizeof nc2, &v), PROTO_ERR_NONCANONICAL);
	CHECK_INT(read_uint_hex(nc3, sizeof nc3, &v), PROTO_ERR_NONCANONICAL);
	CHECK_INT(read_uint_hex(nc4, sizeof nc4, &v), PROTO_ERR_NONCANONICAL);
	/* signed encodings are not uints; truncation */
	static const uint8_t neg[] = { 0xff }, i8[] = { 0xd0, 0x05 }, tr[] = { 0xcd, 0x01 };
	CHECK_INT(read_uint_hex(neg, sizeof neg, &v), PROTO_ERR_TYPE);
	CHECK_INT(read_uint_hex(i8, sizeof i8, &v), PROTO_ERR_TYPE);
	CHECK_INT(read_uint_hex(tr, sizeof tr, &v), PROTO_ERR_TRUNCATED);
	CHECK_INT(read_uint_hex(tr, 0, &v), PROTO_ERR_TRUNCATED);
}

static void test_blobs(void)
{
	struct mp_reader r;
	const char *s;
	const uint8_t *b;
	size_t n;

	/* a str8 header for a 5-byte string is not the shortest form */
	static const uint8_t s8[] = { 0xd9, 5, 'h', 'e', 'l', 'l', 'o' };
	mp_reader_init(&r, s8, sizeof s8);
	CHECK_INT(mp_read_str(&r, &s, &n), PROTO_ERR_NONCANONICAL);
	CHECK_INT(r.len, sizeof s8);   /* nothing consumed on failure */

	/* a length past the end of input */
	static const uint8_t long_str[] = { 0xdb, 0xff, 0xff, 0xff, 0xff, 'x' };
	mp_reader_init(&r, long_str, sizeof long_str);
	CHECK_INT(mp_read_str(&r, &s, &n), PROTO_ERR_TRUNCATED);
	static const uint8_t long_bin[] = { 0xc6, 0x7f, 0xff, 0xff, 0xff };
	mp_reader_init(&r, long_bin, sizeof long_bin);
	CHECK_INT(mp_read_bin(&r, &b, &n), PROTO_ERR_TRUNCATED);
	/* str is not bin */
	static const uint8_t fs[] = { 0xa1, 'x' };
	mp_reader_init(&r, fs, sizeof fs);
	CHECK_INT(mp_read_bin(&r, &b, &n), PROTO_ERR_TYPE);
	CHECK_INT(mp_read_str(&r, &s, &n), 0);
	CHECK_INT(n, 1);
	CHECK_INT(mp_read_end(&r), 0);
}

static void test_arrays(void)
{
	struct mp_reader r;
	uint32_t n;

	/* a huge count costs nothing: refused before any allocation */
	static const uint8_t huge[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x00 };
	mp_reader_init(&r, huge, sizeof huge);
	CHECK_INT(mp_read_array(&r, &n), PROTO_ERR_TRUNCATED);
	static const uint8_t a16[] = { 0xdc, 0x00, 0x01, 0x00 };
	mp_reader_init(&r, a16, sizeof a16);
	CHECK_INT(mp_read_array(&r, &n), PROTO_ERR_NONCANONICAL);
	static const uint8_t map[] = { 0x81, 0x00, 0x00 };
	mp_reader_init(&r, map, sizeof map);
	CHECK_INT(mp_read_array(&r, &n), PROTO_ERR_TYPE);
	static const uint8_t ok[] = { 0x92, 0xc3, 0xc2 };
	bool t, f;
	mp_reader_init(&r, ok, sizeof ok);
	CHECK_INT(mp_read_array(&r, &n), 0);
	CHECK_INT(n, 2);
	CHECK_INT(mp_read_bool(&r, &t), 0);
	CHECK_INT(mp_read_bool(&r, &f), 0);
	CHECK(t && !f);
	CHECK_INT(mp_read_end(&r), 0);
}

static void test_writer_overflow(void)
{
	uint8_t buf[4];
	struct mp_writer w;
	size_t n = 99;

	mp_writer_init(&w, buf, sizeof buf);
	mp_write_str(&w, "hello", 5);
	CHECK_INT(mp_writer_finish(&w, &n), PROTO_ERR_NOSPACE);
	CHECK_INT(n, 99);
	mp_writer_init(&w, buf, sizeof buf);
	mp_write_str(&w, "abc", 3);
	CHECK_INT(mp_writer_finish(&w, &n), 0);
	CHECK_INT(n, 4);
	CHECK_INT(buf[0], 0xa3);
}

int main(void)
{
	test_uint_boundaries();
	test_blobs();
	test_arrays();
	test_writer_overflow();
	CHECK_STR(proto_strerror(PROTO_ERR_NONCANONICAL), "non-canonical encoding");
	return check_exit();
}
