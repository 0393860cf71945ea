/* Engine message codec: every frame round-trips; malformed messages give
 * named errors. */
#include "tests/check.h"
#include "src/engine/wire.h"
#include "proto/proto_err.h"

static void test_roundtrip(void)
{
	uint8_t buf[1280];
	uint8_t key[32], ids[3 * WIRE_ID_LEN], rec[100];
	struct wire_buf w;
	struct wire_iter it;
	struct wire_frame f;

	memset(key, 7, sizeof key);
	for (size_t i = 0; i < sizeof ids; i++)
		ids[i] = (uint8_t)i;
	memset(rec, 0xab, sizeof rec);
	wire_buf_init(&w, buf, sizeof buf);
	CHECK(wire_buf_empty(&w));
	CHECK_INT(wire_add_record(&w, rec, sizeof rec), 0);
	CHECK_INT(wire_add_ids(&w, W_IHAVE, ids, 3), 0);
	CHECK_INT(wire_add_ids(&w, W_IWANT, ids, 1), 0);
	CHECK_INT(wire_add_ids(&w, W_IDONTWANT, ids, 2), 0);
	CHECK_INT(wire_add_simple(&w, W_GRAFT, 0, 0, NULL), 0);
	CHECK_INT(wire_add_simple(&w, W_PRUNE, 60, 0, NULL), 0);
	CHECK_INT(wire_add_simple(&w, W_PING, 1ull << 40, 3, NULL), 0);
	CHECK_INT(wire_add_simple(&w, W_ACK, 5, 4, NULL), 0);
	CHECK_INT(wire_add_simple(&w, W_PINGREQ, 9, 0, key), 0);
	CHECK_INT(wire_add_simple(&w, W_MEMBER, 2, 11, key), 0);
	CHECK_INT(wire_add_sync(&w, 77, 1, ids, 5), 0);
	CHECK_INT(wire_add_simple(&w, W_CHOKE, 1, 0, NULL), 0);
	CHECK(!wire_buf_empty(&w));
	CHECK_INT(wire_record_frame_len(sizeof rec), 2 + 2 + sizeof rec);

	CHECK_INT(wire_begin(&it, buf, w.len), 0);
	CHECK_INT(wire_next(&it, &f), 1);
	CHECK_INT(f.type, W_REC);
	CHECK_INT(f.len, sizeof rec);
	CHECK_MEM(f.data, rec, sizeof rec);
	CHECK_INT(wire_next(&it, &f), 1);
	CHECK_INT(f.type, W_IHAVE);
	CHECK_INT(f.len, 3 * WIRE_ID_LEN);
	CHECK_INT(wire_next(&it, &f), 1);
	CHECK_INT(f.type, W_IWANT);
	CHECK_INT(wire_next(&it, &f), 1);
	CHECK_INT(f.type, W_IDONTWANT);
	CHECK_INT(wire_next(&it, &f), 1);
	CHECK_INT(f.type, W_GRAFT);
	CHECK_INT(wire_next(&it, &f), 1);
	CHECK_INT(f.type, W_PRUNE);
	CHECK_INT(f.a, 60);
	CHECK_INT(wire_next(&it, &f), 1);
	CHECK_INT(f.type, W_PING);
	CHECK(f.a == 1ull << 40 && f.b == 3);
	CHECK_INT(wire_next(&it, &f), 1);
	CHECK_INT(f.type, W_ACK);
	CHECK_INT(wire_next(&it, &f), 1);
	CHECK_INT(f.type, W_PINGREQ);
	CHECK_MEM(f.key, key, 32);
	CHECK_INT(wire_next(&it, &f), 1);
	CHECK_INT(f.type, W_MEMBER);
	CHECK(f.a == 2 && f.b == 11);
	CHECK_INT(wire_next(&it, &f), 1);
	CHECK_INT(f.type, W_SYNC);
	CHECK(f.a == 77 && f.b == 1 && f.len == 5);
	CHECK_INT(wire_next(&it, &f), 1);
	CHECK_INT(f.type, W_CHOKE);
	CHECK_INT(f.a, 1);
	CHECK_INT(wire_next(&it, &f), 0);
	/* CHOKE takes 0 or 1 only, and one argument */
	{
		static const uint8_t choke2[] = { WIRE_VERSION, 0x92, 12, 2 };
		static const uint8_t choke_bare[] = { WIRE_VERSION, 0x91, 12 };
		CHECK_INT(wire_begin(&it, choke2, sizeof choke2), 0);
		CHECK_INT(wire_next(&it, &f), PROTO_ERR_RANGE);
		CHECK_INT(wire_begin(&it, choke_bare, sizeof choke_bare), 0);
		CHECK_INT(wire_next(&it, &f), PROTO_ERR_ARITY);
	}

	/* a full buffer refuses a frame and keeps what it has */
	uint8_t small[8];
	wire_buf_init(&w, small, sizeof small);
	CHECK_INT(wire_add_record(&w, rec, sizeof rec), PROTO_ERR_NOSPACE);
	CHECK_INT(w.len, 1);
	CHECK_INT(wire_add_ids(&w, W_IHAVE, ids, 0), PROTO_ERR_ARG);
}

static void test_malformed(void)
{
#define M(s) (const uint8_t *)(s), sizeof(s) - 1
	static const struct {
		const char *what;
		const uint8_t *in;
		size_t len;
		int expect;   /* of the first wire_begin/wire_next that fails */
	} cases[] = {
		{ "empty", M(""), PROTO_ERR_TRUNCATED },
		{ "version only", M("\x4d"), PROTO_ERR_TRUNCATED },
		{ "wrong version", M("\x4e\x91\x05"), PROTO_ERR_VERSION },
		{ "not an array", M("\x4d\x05"), PROTO_ERR_TYPE },
		{ "empty frame", M("\x4d\x90"), PROTO_ERR_ARITY },
		{ "unknown type", M("\x4d\x91\x63"), PROTO_ERR_KIND },
		{ "type 0", M("\x4d\x91\x00"), PROTO_ERR_KIND },
		{ "graft with args", M("\x4d\x92\x05\x00"), PROTO_ERR_ARITY },
		{ "ihave not whole ids", M("\x4d\x92\x02\xc4\x05" "abcde"), PROTO_ERR_FIELD_SIZE },
		{ "ihave empty", M("\x4d\x92\x02\xc4\x00"), PROTO_ERR_FIELD_SIZE },
		{ "rec not bin", M("\x4d\x92\x01\xa1x"), PROTO_ERR_TYPE },
		{ "rec truncated", M("\x4d\x92\x01\xc4\x10" "abc"), PROTO_ERR_TRUNCATED },
		{ "member bad state", M("\x4d\x94\x0a\xc4\x20" "01234567890123456789012345678901" "\x04\x00"), PROTO_ERR_RANGE },
		{ "pingreq short key", M("\x4d\x93\x09\x00\xc4\x02" "ab"), PROTO_ERR_FIELD_SIZE },
		{ "ping non-canonical", M("\x4d\x93\x07\xcc\x01\x00"), PROTO_ERR_NONCANONICAL },
	};
#undef M
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct wire_iter it;
		struct wire_frame f;
		int rc = wire_begin(&it, cases[i].in, cases[i].len);
		while (rc == 0 && (rc = wire_next(&it, &f)) == 1)
			;
		if (rc != cases[i].expect)
			fprintf(stderr, "case '%s': got %s, expected %s\n", cases[i].what,
				proto_strerror(rc), proto_strerror(cases[i].expect));
		CHECK_INT(rc, cases[i].expect);
	}
}

int main(void)
{
	test_roundtrip();
	test_malformed();
	return check_exit();
}
