/* Onboarding codecs and the join state machine's building blocks
 * (docs/onboarding.md): the invitation token text, the secret-derived id
 * and WireGuard key, join requests (policy rules, proof and signatures),
 * the response framing and the check of the certificate chain a joiner
 * receives. The state machine itself (src/daemon/onboard.c,
 * src/ctl/ctl_onboard.c) is tested end to end by tests/netns/test_onboard.sh. */
#include <errno.h>
#include <stdlib.h>
#include <sodium.h>
#include "tests/check.h"
#include "proto/invite.h"
#include "proto/proto_err.h"
#include "proto/record.h"
#include "crypto/crypto.h"
#include "crypto/invite.h"
#include "crypto/key.h"
#include "crypto/record_sig.h"
#include "src/join_msg.h"

#define NOW 1800000000ull
#define LATER 1900000000ull

enum { ROOT, SUB, PEER, OTHER, NEWKEY, NKEYS };
static struct node_key keys[NKEYS];

/* Encode `in` under sc without running its check(): the bytes a peer
 * could send, to see that the decoder's rules refuse them. Handles the
 * field types the onboarding schemas use (uint, str, key). */
static size_t raw_encode(const struct schema *sc, const void *in, uint8_t *out, size_t cap)
{
	const uint8_t *p = in;
	struct mp_writer w;
	size_t n;

	mp_writer_init(&w, out, cap);
	mp_write_array(&w, (uint32_t)sc->nfields);
	for (size_t i = 0; i < sc->nfields; i++) {
		const struct schema_field *f = &sc->fields[i];
		uint64_t v = 0;
		switch (f->type) {
		case SF_UINT:
			if (f->width == 1) v = p[f->off];
			else if (f->width == 2) v = *(const uint16_t *)(const void *)(p + f->off);
			else if (f->width == 4) v = *(const uint32_t *)(const void *)(p + f->off);
			else v = *(const uint64_t *)(const void *)(p + f->off);
			mp_write_uint(&w, v);
			break;
		case SF_STR:
			mp_write_str(&w, (const char *)p + f->off, strlen((const char *)p + f->off));
			break;
		case SF_KEY:
			mp_write_bin(&w, p + f->off, (size_t)f->max);
			break;
		default:
			fprintf(stderr, "raw_encode: field type %d not handled\n", f->type);
			exit(1);
		}
	}
	if (mp_writer_finish(&w, &n) < 0) {
		fprintf(stderr, "raw_encode: buffer too small\n");
		exit(1);
	}
	return n;
}

/* "mirrornet://" + base64url of bin: a token whose bytes we chose. */
static void raw_token_text(const uint8_t *bin, size_t n, char *out, size_t cap)
{
	size_t pre = strlen(INVITE_SCHEME);

	memcpy(out, INVITE_SCHEME, pre);
	sodium_bin2base64(out + pre, cap - pre, bin, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static void sample_token(struct invite_token *t, bool v6)
{
	memset(t, 0, sizeof *t);
	t->v = INVITE_VERSION;
	t->role = ROLE_PEER;
	snprintf(t->name, sizeof t->name, "laptop-7");
	for (int i = 0; i < INVITE_SECRET_LEN; i++)
		t->secret[i] = (uint8_t)(0xa0 + i);
	memcpy(t->inviter, keys[SUB].pk, 32);
	uint8_t priv[32];
	node_key_wireguard(&keys[SUB], priv, t->inviter_wg);
	sodium_memzero(priv, sizeof priv);
	t->expires = NOW + 86400;
	t->port = JOIN_PORT_DEFAULT;
	if (v6) {
		snprintf(t->addr, sizeof t->addr, "fd42:1234:5678::17/48");
		snprintf(t->inviter_addr, sizeof t->inviter_addr, "fd42:1234:5678::1");
		snprintf(t->endpoint, sizeof t->endpoint, "[2001:db8:85a3::8a2e:370:7334]:51820");
	} else {
		snprintf(t->addr, sizeof t->addr, "10.42.0.17/16");
		snprintf(t->inviter_addr, sizeof t->inviter_addr, "10.42.0.1");
		snprintf(t->endpoint, sizeof t->endpoint, "203.0.113.7:51820");
	}
}

static void test_token_roundtrip(void)
{
	for (int v6 = 0; v6 <= 1; v6++) {
		struct invite_token t, u;
		char text[INVITE_TEXT_MAX + 32], text2[INVITE_TEXT_MAX + 32], err[256] = "";

		sample_token(&t, v6);
		CHECK_INT(invite_token_format(&t, text, sizeof text), 0);
		CHECK(strncmp(text, "mirrornet://", 12) == 0);
		printf("token length, %s endpoint: %zu characters\n", v6 ? "IPv6" : "IPv4", strlen(text));
		if (!v6)
			CHECK(strlen(text) <= 256);
		/* only base64url after the scheme */
		CHECK(strspn(text + 12, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
		      strlen(text + 12));
		memset(&u, 0x5a, sizeof u);
		CHECK_INT(invite_token_parse(text, &u, err, sizeof err), 0);
		CHECK(memcmp(&t, &u, sizeof t) == 0);
		CHECK_INT(invite_token_format(&u, text2, sizeof text2), 0);
		CHECK_STR(text2, text);

		/* surrounding blanks and a final newline are accepted */
		char padded[sizeof text + 16];
		snprintf(padded, sizeof padded, " \t%s \r\n", text);
		CHECK_INT(invite_token_parse(padded, &u, err, sizeof err), 0);
		CHECK(memcmp(&t, &u, sizeof t) == 0);
		snprintf(padded, sizeof padded, "%s\n", text);
		CHECK_INT(invite_token_parse(padded, &u, err, sizeof err), 0);
		CHECK(memcmp(&t, &u, sizeof t) == 0);

		/* the output bound: exactly strlen + 1 suffices, one less does not */
		size_t need = strlen(text) + 1;
		char *exact = malloc(need);
		CHECK(exact != NULL);
		if (exact) {
			CHECK_INT(invite_token_format(&t, exact, need), 0);
			CHECK_STR(exact, text);
			CHECK_INT(invite_token_format(&t, exact, need - 1), -ENOSPC);
			free(exact);
		}
	}
	/* a sub-master invitation round-trips too */
	struct invite_token t, u;
	char text[INVITE_TEXT_MAX + 32], err[256];
	sample_token(&t, false);
	t.role = ROLE_SUBMASTER;
	CHECK_INT(invite_token_format(&t, text, sizeof text), 0);
	CHECK_INT(invite_token_parse(text, &u, err, sizeof err), 0);
	CHECK_INT(u.role, ROLE_SUBMASTER);
	/* the encoder refuses what the decoder would refuse */
	t.role = ROLE_MASTER;
	CHECK(invite_token_format(&t, text, sizeof text) < 0);
}

/* Every token the encoder makes, the parser takes: grow the endpoint (a
 * DNS name) and the name to their limits; format either refuses cleanly
 * or gives text that parses back to the same token. */
static void test_token_sizes(void)
{
	int formatted = 0, refused = 0;

	for (size_t nl = 1; nl <= MN_MAX_NAME; nl += 62) {
		for (size_t el = 8; el <= MN_MAX_ENDPOINT; el++) {
			struct invite_token t, u;
			static char text[4096];
			char err[256] = "";

			sample_token(&t, true);
			memset(t.name, 0, sizeof t.name);
			memset(t.endpoint, 0, sizeof t.endpoint);
			memset(t.name, 'n', nl);
			t.name[nl] = 0;
			memset(t.endpoint, 'h', el - 6);
			memcpy(t.endpoint + el - 6, ":51820", 7);
			int rc = invite_token_format(&t, text, sizeof text);
			if (rc < 0) {
				refused++;
				CHECK(rc == -EMSGSIZE || rc == -EINVAL);
				continue;
			}
			formatted++;
			CHECK(strlen(text) <= strlen(INVITE_SCHEME) + INVITE_TEXT_MAX);
			rc = invite_token_parse(text, &u, err, sizeof err);
			if (rc != 0)
				fprintf(stderr, "a %zu-character token does not parse: %s\n", strlen(text), err);
			CHECK_INT(rc, 0);
			CHECK(rc != 0 || memcmp(&t, &u, sizeof t) == 0);
		}
	}
	/* both happen: long endpoints fit, the longest do not */
	CHECK(formatted > 0);
	CHECK(refused > 0);
}

/* Parse must refuse `text` with -EINVAL, a message and a zeroed token. */
static void expect_refused(const char *what, const char *text)
{
	static const struct invite_token zero;
	struct invite_token u;
	char err[256] = "";

	memset(&u, 0x5a, sizeof u);
	int rc = invite_token_parse(text, &u, err, sizeof err);
	if (rc != -EINVAL || err[0] == 0)
		fprintf(stderr, "token case '%s': rc %d, err '%s'\n", what, rc, err);
	CHECK_INT(rc, -EINVAL);
	CHECK(err[0] != 0);
	CHECK(memcmp(&u, &zero, sizeof u) == 0);
}

static void test_token_text_refused(void)
{
	struct invite_token t;
	char text[INVITE_TEXT_MAX + 32], bad[INVITE_TEXT_MAX + 64];
	size_t len;

	sample_token(&t, false);
	CHECK_INT(invite_token_format(&t, text, sizeof text), 0);
	len = strlen(text);

	expect_refused("empty", "");
	expect_refused("blanks only", "  \n");
	expect_refused("scheme only", "mirrornet://");
	expect_refused("no scheme", text + 12);
	snprintf(bad, sizeof bad, "https://%s", text + 12);
	expect_refused("other scheme", bad);
	snprintf(bad, sizeof bad, "MIRRORNET://%s", text + 12);
	expect_refused("scheme in upper case", bad);
	snprintf(bad, sizeof bad, "mirrornet:%s", text + 12);
	expect_refused("scheme without //", bad);

	/* characters outside base64url: standard alphabet, blanks, NUL-ish */
	/* (bytes >= 0x80: libsodium 1.0.18 would decode them as '_') */
	static const char outside[] = "+/=.!~ \t\n\"\\" "\x80" "\xbf" "\xc3" "\xff";
	for (const char *c = outside; *c; c++) {
		snprintf(bad, sizeof bad, "%s", text);
		bad[len / 2] = *c;
		expect_refused("a character outside base64url", bad);
	}
	/* padding (the alphabet has no '=') */
	snprintf(bad, sizeof bad, "%s=", text);
	expect_refused("one padding char", bad);
	snprintf(bad, sizeof bad, "%s==", text);
	expect_refused("two padding chars", bad);
	/* non-canonical trailing bits: the last character carries bits past the
	 * end of the data; any of them set is a second spelling of the same
	 * bytes. Find a text whose last char has spare bits. */
	size_t b64 = len - 12;
	if (b64 % 4 == 2 || b64 % 4 == 3) {
		static const char alpha[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		const char *pos = strchr(alpha, text[len - 1]);
		CHECK(pos != NULL);
		unsigned spare = b64 % 4 == 2 ? 0x0f : 0x03;   /* 4 or 2 unused bits */
		CHECK(((unsigned)(pos - alpha) & spare) == 0);
		snprintf(bad, sizeof bad, "%s", text);
		bad[len - 1] = alpha[(unsigned)(pos - alpha) | 1];
		expect_refused("non-canonical trailing bits", bad);
	} else {
		fprintf(stderr, "note: token base64 length %zu has no spare bits\n", b64);
	}
	/* a base64 length that is 1 mod 4 cannot be */
	snprintf(bad, sizeof bad, "%sA", text);
	if ((b64 + 1) % 4 == 1)
		expect_refused("base64 length 1 mod 4", bad);

	/* truncated: every cut of the base64 part (that still decodes or not) */
	int refused = 0, tried = 0;
	for (size_t cut = 12; cut < len; cut++) {
		struct invite_token u;
		char err[256] = "";
		snprintf(bad, sizeof bad, "%.*s", (int)cut, text);
		tried++;
		refused += invite_token_parse(bad, &u, err, sizeof err) == -EINVAL && err[0];
	}
	CHECK_INT(refused, tried);
	expect_refused("cut by one", (snprintf(bad, sizeof bad, "%.*s", (int)len - 1, text), bad));

	/* trailing garbage: text after the token, valid base64 that adds bytes */
	snprintf(bad, sizeof bad, "%s AAAA", text);
	expect_refused("a second word", bad);
	snprintf(bad, sizeof bad, "%sAAAA", text);
	expect_refused("more base64 (trailing bytes)", bad);
	snprintf(bad, sizeof bad, "%s\nmirrornet://AAAA", text);
	expect_refused("a second line", bad);

	/* the message tells a damaged token of this version from another one */
	{
		struct invite_token u;
		char err[256] = "";
		uint8_t bin[INVITE_TEXT_MAX];
		size_t n = raw_encode(&invite_token_schema, &t, bin, sizeof bin);
		snprintf(bad, sizeof bad, "%sAAAA", text);
		CHECK_INT(invite_token_parse(bad, &u, err, sizeof err), -EINVAL);
		CHECK(strstr(err, "damaged") && !strstr(err, "another version"));
		bin[0] = 0x9a;   /* ten fields: not this version's layout */
		raw_token_text(bin, n, bad, sizeof bad);
		CHECK_INT(invite_token_parse(bad, &u, err, sizeof err), -EINVAL);
		CHECK(strstr(err, "another version") != NULL);
	}

	/* too long */
	char *huge = malloc(INVITE_TEXT_MAX * 2);
	if (huge) {
		memcpy(huge, "mirrornet://", 12);
		memset(huge + 12, 'A', INVITE_TEXT_MAX * 2 - 13);
		huge[INVITE_TEXT_MAX * 2 - 1] = 0;
		expect_refused("too long", huge);
		free(huge);
	}
}

/* Each struct-level rule: a token whose bytes decode but break the rule. */
static void tok_version(struct invite_token *t) { t->v = 2; }
static void tok_version0(struct invite_token *t) { t->v = 0; }
static void tok_master(struct invite_token *t) { t->role = ROLE_MASTER; }
static void tok_role3(struct invite_token *t) { t->role = 3; }
static void tok_name_dot(struct invite_token *t) { snprintf(t->name, sizeof t->name, "a.b"); }
static void tok_name_upper(struct invite_token *t) { snprintf(t->name, sizeof t->name, "Laptop"); }
static void tok_name_empty(struct invite_token *t) { t->name[0] = 0; }
static void tok_name_dash(struct invite_token *t) { snprintf(t->name, sizeof t->name, "-x"); }
static void tok_addr_noprefix(struct invite_token *t) { snprintf(t->addr, sizeof t->addr, "10.42.0.17"); }
static void tok_addr_bad(struct invite_token *t) { snprintf(t->addr, sizeof t->addr, "10.42.0.300/16"); }
static void tok_addr_prefix33(struct invite_token *t) { snprintf(t->addr, sizeof t->addr, "10.42.0.17/33"); }
static void tok_iaddr_bad(struct invite_token *t) { snprintf(t->inviter_addr, sizeof t->inviter_addr, "10.42.0"); }
static void tok_iaddr_prefix(struct invite_token *t) { snprintf(t->inviter_addr, sizeof t->inviter_addr, "10.42.0.1/16"); }
static void tok_iaddr_name(struct invite_token *t) { snprintf(t->inviter_addr, sizeof t->inviter_addr, "master"); }
static void tok_port0(struct invite_token *t) { t->port = 0; }
static void tok_ep_nocolon(struct invite_token *t) { snprintf(t->endpoint, sizeof t->endpoint, "203.0.113.7"); }
static void tok_ep_space(struct invite_token *t) { snprintf(t->endpoint, sizeof t->endpoint, "host name:51820"); }
static void tok_ep_newline(struct invite_token *t) { snprintf(t->endpoint, sizeof t->endpoint, "host\n:51820"); }
static void tok_ep_tab(struct invite_token *t) { snprintf(t->endpoint, sizeof t->endpoint, "host:5182\t"); }

static void test_token_fields_refused(void)
{
	static const struct {
		const char *what;
		void (*change)(struct invite_token *t);
	} cases[] = {
		{ "wrong version 2", tok_version },
		{ "wrong version 0", tok_version0 },
		{ "role master", tok_master },
		{ "role 3", tok_role3 },
		{ "name with a dot", tok_name_dot },
		{ "name in upper case", tok_name_upper },
		{ "empty name", tok_name_empty },
		{ "name starting with '-'", tok_name_dash },
		{ "address without /prefix", tok_addr_noprefix },
		{ "address not an address", tok_addr_bad },
		{ "address with /33", tok_addr_prefix33 },
		{ "inviter address bad", tok_iaddr_bad },
		{ "inviter address with a prefix", tok_iaddr_prefix },
		{ "inviter address a name", tok_iaddr_name },
		{ "port 0", tok_port0 },
		{ "endpoint without ':'", tok_ep_nocolon },
		{ "endpoint with a space", tok_ep_space },
		{ "endpoint with a newline", tok_ep_newline },
		{ "endpoint with a tab", tok_ep_tab },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct invite_token t;
		uint8_t bin[INVITE_TEXT_MAX];
		char text[INVITE_TEXT_MAX * 2], out[INVITE_TEXT_MAX * 2];

		sample_token(&t, false);
		cases[i].change(&t);
		size_t n = raw_encode(&invite_token_schema, &t, bin, sizeof bin);
		raw_token_text(bin, n, text, sizeof text);
		expect_refused(cases[i].what, text);
		/* and the encoder will not produce it either */
		CHECK(invite_token_format(&t, out, sizeof out) < 0);
	}
	/* the unmodified raw encoding is the real one (the helper is sound) */
	struct invite_token t;
	uint8_t bin[INVITE_TEXT_MAX];
	char text[INVITE_TEXT_MAX * 2], text2[INVITE_TEXT_MAX * 2];
	sample_token(&t, false);
	raw_token_text(bin, raw_encode(&invite_token_schema, &t, bin, sizeof bin), text, sizeof text);
	CHECK_INT(invite_token_format(&t, text2, sizeof text2), 0);
	CHECK_STR(text, text2);
}

static void test_derive(void)
{
	uint8_t s1[INVITE_SECRET_LEN], s2[INVITE_SECRET_LEN];
	char id1[INVITE_ID_LEN + 1], id1b[INVITE_ID_LEN + 1], id2[INVITE_ID_LEN + 1];
	uint8_t priv1[32], pub1[32], priv1b[32], pub1b[32], priv2[32], pub2[32], pubx[32];

	memset(s1, 0x11, sizeof s1);
	memcpy(s2, s1, sizeof s2);
	s2[31] ^= 1;
	memset(id1, 'x', sizeof id1);
	invite_id(s1, id1);
	invite_id(s1, id1b);
	invite_id(s2, id2);
	CHECK_INT(strlen(id1), INVITE_ID_LEN);
	CHECK(strspn(id1, "0123456789abcdef") == INVITE_ID_LEN);
	CHECK_STR(id1, id1b);
	CHECK(strcmp(id1, id2) != 0);

	invite_wg_key(s1, priv1, pub1);
	invite_wg_key(s1, priv1b, pub1b);
	invite_wg_key(s2, priv2, pub2);
	CHECK_MEM(priv1, priv1b, 32);
	CHECK_MEM(pub1, pub1b, 32);
	CHECK(memcmp(priv1, priv2, 32) != 0);
	CHECK(memcmp(pub1, pub2, 32) != 0);
	CHECK((priv1[0] & 7) == 0 && (priv1[31] & 128) == 0 && (priv1[31] & 64) != 0);
	CHECK((priv2[0] & 7) == 0 && (priv2[31] & 128) == 0 && (priv2[31] & 64) != 0);
	x25519_public(priv1, pubx);
	CHECK_MEM(pub1, pubx, 32);
	/* the id and the key come from distinct derivations */
	CHECK(memcmp(priv1, s1, 32) != 0);

	/* a known vector pins the derivation (recompute with libsodium) */
	uint8_t idb[8];
	char idhex[17];
	crypto_generichash(idb, 8, (const unsigned char *)"mirrornet/v1/invite/id", 22, s1, 32);
	sodium_bin2hex(idhex, sizeof idhex, idb, 8);
	CHECK_STR(id1, idhex);
	sodium_memzero(priv1, 32);
	sodium_memzero(priv1b, 32);
	sodium_memzero(priv2, 32);
}

static void sample_req(struct join_req *q, unsigned op, const uint8_t *secret)
{
	uint8_t priv[32];

	memset(q, 0, sizeof *q);
	q->v = INVITE_VERSION;
	q->op = (uint8_t)op;
	memcpy(q->node, keys[PEER].pk, 32);
	node_key_wireguard(&keys[PEER], priv, q->wg);
	if (op == JOIN_OP_JOIN)
		invite_id(secret, q->invite);
	if (op == JOIN_OP_ROTATE) {
		memcpy(q->new_node, keys[NEWKEY].pk, 32);
		node_key_wireguard(&keys[NEWKEY], priv, q->new_wg);
	}
	snprintf(q->name, sizeof q->name, "laptop-7");
	q->time = NOW;
	sodium_memzero(priv, sizeof priv);
}

static void test_req_roundtrip(void)
{
	uint8_t secret[INVITE_SECRET_LEN];

	memset(secret, 0x42, sizeof secret);
	for (unsigned op = 0; op <= JOIN_OP_MAX; op++) {
		struct join_req q, d;
		uint8_t frame[1024], frame2[1024];
		const uint8_t *p;
		size_t n, plen, used, n2;

		sample_req(&q, op, secret);
		CHECK_INT(join_req_seal(&q, op == JOIN_OP_JOIN ? secret : NULL, &keys[PEER],
					op == JOIN_OP_ROTATE ? &keys[NEWKEY] : NULL), 0);
		CHECK_INT(join_req_frame(&q, frame, sizeof frame, &n), 0);
		CHECK_INT(join_frame_get(frame, n, &p, &plen, &used), 0);
		CHECK_INT(used, n);
		CHECK_INT(plen + 4, n);
		CHECK(p == frame + 4);
		memset(&d, 0x5a, sizeof d);
		CHECK_INT(schema_decode(&join_req_schema, p, plen, &d), 0);
		CHECK(memcmp(&q, &d, sizeof q) == 0);
		CHECK_INT(join_req_frame(&d, frame2, sizeof frame2, &n2), 0);
		CHECK_INT(n2, n);
		CHECK_MEM(frame, frame2, n);
		/* every strict prefix of the frame is incomplete */
		int again = 0;
		for (size_t cut = 0; cut < n; cut++)
			again += join_frame_get(frame, cut, &p, &plen, &used) == -EAGAIN;
		CHECK_INT(again, n);
		/* a second frame behind it is left for later */
		memcpy(frame2, frame, n);
		memcpy(frame2 + n, frame, n);
		CHECK_INT(join_frame_get(frame2, 2 * n, &p, &plen, &used), 0);
		CHECK_INT(used, n);
		/* output bound: a buffer one byte short is refused */
		CHECK(join_req_frame(&q, frame2, n - 1, &n2) < 0);
		CHECK(join_req_frame(&q, frame2, 3, &n2) < 0);
		CHECK_INT(join_req_frame(&q, frame2, n, &n2), 0);
		CHECK(join_req_check(&d, op == JOIN_OP_JOIN ? secret : NULL));
	}
	/* frame lengths: 0 and over the limit are refused */
	const uint8_t *p;
	size_t plen, used;
	static uint8_t big[4 + JOIN_MAX_FRAME + 1];
	big[2] = (JOIN_MAX_FRAME + 1) >> 8;
	big[3] = (JOIN_MAX_FRAME + 1) & 0xff;
	CHECK_INT(join_frame_get(big, sizeof big, &p, &plen, &used), -EMSGSIZE);
	big[2] = JOIN_MAX_FRAME >> 8;
	big[3] = JOIN_MAX_FRAME & 0xff;
	CHECK_INT(join_frame_get(big, sizeof big, &p, &plen, &used), 0);
	CHECK_INT(plen, JOIN_MAX_FRAME);
	big[0] = 0x80;
	CHECK_INT(join_frame_get(big, sizeof big, &p, &plen, &used), -EMSGSIZE);
	memset(big, 0, 8);
	CHECK_INT(join_frame_get(big, 8, &p, &plen, &used), -EMSGSIZE);
}

static void test_req_rules(void)
{
	uint8_t secret[INVITE_SECRET_LEN];
	static const uint8_t zero[32];

	memset(secret, 0x42, sizeof secret);
	struct {
		const char *what;
		unsigned op;
		const char *invite;       /* NULL: leave the sample's */
		int new_node;             /* -1 leave, 0 zero, 1 set */
		uint8_t v;
		const char *name;         /* NULL: leave */
		int expect;
	} cases[] = {
		{ "join", JOIN_OP_JOIN, NULL, -1, 1, NULL, 0 },
		{ "renew", JOIN_OP_RENEW, NULL, -1, 1, NULL, 0 },
		{ "rotate", JOIN_OP_ROTATE, NULL, -1, 1, NULL, 0 },
		{ "join without a name", JOIN_OP_JOIN, NULL, -1, 1, "", 0 },
		{ "version 2", JOIN_OP_JOIN, NULL, -1, 2, NULL, PROTO_ERR_VALUE },
		{ "version 0", JOIN_OP_RENEW, NULL, -1, 0, NULL, PROTO_ERR_VALUE },
		{ "join without an invite id", JOIN_OP_JOIN, "", -1, 1, NULL, PROTO_ERR_VALUE },
		{ "join, id 15 digits", JOIN_OP_JOIN, "0123456789abcde", -1, 1, NULL, PROTO_ERR_VALUE },
		{ "join, id upper-case hex", JOIN_OP_JOIN, "0123456789ABCDEF", -1, 1, NULL, PROTO_ERR_VALUE },
		{ "join, id not hex", JOIN_OP_JOIN, "0123456789abcdeg", -1, 1, NULL, PROTO_ERR_VALUE },
		{ "join, id with a blank", JOIN_OP_JOIN, "0123456789abcde ", -1, 1, NULL, PROTO_ERR_VALUE },
		{ "join, valid id", JOIN_OP_JOIN, "0123456789abcdef", -1, 1, NULL, 0 },
		{ "renew with an invite id", JOIN_OP_RENEW, "0123456789abcdef", -1, 1, NULL, PROTO_ERR_VALUE },
		{ "rotate with an invite id", JOIN_OP_ROTATE, "0123456789abcdef", -1, 1, NULL, PROTO_ERR_VALUE },
		{ "rotate without a new key", JOIN_OP_ROTATE, NULL, 0, 1, NULL, PROTO_ERR_VALUE },
		{ "join with a new key", JOIN_OP_JOIN, NULL, 1, 1, NULL, PROTO_ERR_VALUE },
		{ "renew with a new key", JOIN_OP_RENEW, NULL, 1, 1, NULL, PROTO_ERR_VALUE },
		{ "bad name", JOIN_OP_RENEW, NULL, -1, 1, "Bad_Name", PROTO_ERR_VALUE },
		{ "name with a dot is fine", JOIN_OP_RENEW, NULL, -1, 1, "a.b", 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct join_req q, d;
		uint8_t buf[1024], buf2[1024];
		size_t n;

		sample_req(&q, cases[i].op, secret);
		q.v = cases[i].v;
		if (cases[i].invite)
			snprintf(q.invite, sizeof q.invite, "%s", cases[i].invite);
		if (cases[i].new_node == 0)
			memcpy(q.new_node, zero, 32);
		else if (cases[i].new_node == 1)
			memcpy(q.new_node, keys[NEWKEY].pk, 32);
		if (cases[i].name)
			snprintf(q.name, sizeof q.name, "%s", cases[i].name);
		n = raw_encode(&join_req_schema, &q, buf, sizeof buf);
		int got = schema_decode(&join_req_schema, buf, n, &d);
		if (got != cases[i].expect)
			fprintf(stderr, "request case '%s': got %s\n", cases[i].what, proto_strerror(got));
		CHECK_INT(got, cases[i].expect);
		size_t n2;
		CHECK_INT(schema_encode(&join_req_schema, &q, buf2, sizeof buf2, &n2), cases[i].expect);
	}
	/* op out of range */
	struct join_req q, d;
	uint8_t buf[1024];
	sample_req(&q, JOIN_OP_RENEW, secret);
	q.op = JOIN_OP_MAX + 1;
	CHECK(schema_decode(&join_req_schema, buf, raw_encode(&join_req_schema, &q, buf, sizeof buf), &d) < 0);
}

/* Flip one byte of a field and the request must fail its check. */
static void flip_fails(const struct join_req *good, size_t off, const char *what,
		       const uint8_t *secret)
{
	struct join_req q = *good;

	((uint8_t *)&q)[off] ^= 0x01;
	bool with = join_req_check(&q, secret), without = join_req_check(&q, NULL);
	if (with || without)
		fprintf(stderr, "request op %u: a flipped %s still checks\n", good->op, what);
	CHECK(!with);
	CHECK(!without);
}

static void test_req_seal(void)
{
	uint8_t secret[INVITE_SECRET_LEN], wrong[INVITE_SECRET_LEN];

	memset(secret, 0x42, sizeof secret);
	memcpy(wrong, secret, sizeof wrong);
	wrong[0] ^= 0x80;
	for (unsigned op = 0; op <= JOIN_OP_MAX; op++) {
		struct join_req q, b;
		const uint8_t *sec = op == JOIN_OP_JOIN ? secret : NULL;
		const struct node_key *knew = op == JOIN_OP_ROTATE ? &keys[NEWKEY] : NULL;

		sample_req(&q, op, secret);
		CHECK_INT(join_req_seal(&q, sec, &keys[PEER], knew), 0);
		CHECK(join_req_check(&q, sec));
		CHECK(join_req_check(&q, NULL));
		if (sec) {
			CHECK(!join_req_check(&q, wrong));
			/* the proof is a MAC over the digest, keyed by the secret */
			uint8_t d[32], mac[32];
			CHECK_INT(join_req_digest(&q, d), 0);
			crypto_generichash(mac, 32, d, 32, secret, 32);
			CHECK_MEM(mac, q.proof, 32);
			/* a proof that does not match */
			b = q;
			b.proof[31] ^= 1;
			CHECK(!join_req_check(&b, secret));
			CHECK(join_req_check(&b, NULL));   /* the signature still holds */
		}
		/* the digest ignores proof and signatures */
		uint8_t d1[32], d2[32];
		b = q;
		memset(b.proof, 0xee, 32);
		memset(b.sig, 0xee, 64);
		memset(b.sig_new, 0xee, 64);
		CHECK_INT(join_req_digest(&q, d1), 0);
		CHECK_INT(join_req_digest(&b, d2), 0);
		CHECK_MEM(d1, d2, 32);

		/* every signed field: one flipped byte breaks it */
		flip_fails(&q, offsetof(struct join_req, node) + 5, "node", sec);
		flip_fails(&q, offsetof(struct join_req, wg) + 31, "wg", sec);
		flip_fails(&q, offsetof(struct join_req, name), "name", sec);
		flip_fails(&q, offsetof(struct join_req, time), "time", sec);
		flip_fails(&q, offsetof(struct join_req, op), "op", sec);
		if (op == JOIN_OP_JOIN)
			flip_fails(&q, offsetof(struct join_req, invite) + 3, "invite", sec);
		if (op == JOIN_OP_ROTATE) {
			flip_fails(&q, offsetof(struct join_req, new_node) + 1, "new_node", sec);
			flip_fails(&q, offsetof(struct join_req, new_wg), "new_wg", sec);
		}
		/* a wrong signature */
		b = q;
		b.sig[10] ^= 0x20;
		CHECK(!join_req_check(&b, sec));
		b = q;
		memset(b.sig, 0, 64);
		CHECK(!join_req_check(&b, sec));
		/* signed by another key than the one it names */
		b = q;
		CHECK_INT(join_req_seal(&b, sec, &keys[OTHER], knew), 0);
		CHECK(!join_req_check(&b, sec));

		if (op == JOIN_OP_ROTATE) {
			/* missing sig_new */
			b = q;
			memset(b.sig_new, 0, 64);
			CHECK(!join_req_check(&b, NULL));
			/* sealed without the new key */
			b = q;
			memset(b.sig_new, 0, 64);
			CHECK_INT(join_req_seal(&b, NULL, &keys[PEER], NULL), 0);
			CHECK(!join_req_check(&b, NULL));
			/* sig_new by a key other than new_node */
			b = q;
			CHECK_INT(join_req_seal(&b, NULL, &keys[PEER], &keys[OTHER]), 0);
			CHECK(!join_req_check(&b, NULL));
			/* a broken sig_new */
			b = q;
			b.sig_new[63] ^= 0x01;
			CHECK(!join_req_check(&b, NULL));
			/* sig and sig_new swapped */
			b = q;
			memcpy(b.sig, q.sig_new, 64);
			memcpy(b.sig_new, q.sig, 64);
			CHECK(!join_req_check(&b, NULL));
		}
	}
}

/* A pool of signed records that stay valid for the whole test. */
static uint8_t pool[16][MN_MAX_RECORD];
static size_t pool_len[16];
static int npool;

static int mkrec(unsigned kind, int issuer, const union body *b)
{
	uint8_t body[MN_MAX_BODY];
	size_t blen = 0;
	struct record r;
	char key[65];

	if (npool >= 16)
		exit(1);
	if (b && body_encode(kind, b, body, sizeof body, &blen) < 0) {
		fprintf(stderr, "mkrec: body does not encode\n");
		exit(1);
	}
	snprintf(key, sizeof key, "rec%d", npool);
	CHECK_INT(record_init(&r, kind, keys[issuer].pk, key, 1, LATER), 0);
	r.body = b ? body : NULL;
	r.body_len = blen;
	CHECK_INT(record_sign(&r, &keys[issuer], pool[npool], sizeof pool[npool]), 0);
	pool_len[npool] = r.wire_len;
	return npool++;
}

static int mkcert(int issuer, int subject, uint8_t role, uint8_t depth, const char *scope,
		  const char *addr, uint64_t na)
{
	union body b;

	memset(&b, 0, sizeof b);
	memcpy(b.cert.subject, keys[subject].pk, 32);
	b.cert.role = role;
	b.cert.depth = depth;
	b.cert.max_depth = 3;
	snprintf(b.cert.dns_scope, sizeof b.cert.dns_scope, "%s", scope);
	snprintf(b.cert.mesh_addr, sizeof b.cert.mesh_addr, "%s", addr);
	b.cert.not_before = NOW - 100;
	b.cert.not_after = na;
	return mkrec(KIND_CERT, issuer, &b);
}

static void set_chain(struct join_chain *c, const int *idx, size_t n)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < n; i++) {
		c->rec[i] = pool[idx[i]];
		c->len[i] = pool_len[idx[i]];
	}
	c->n = n;
}

static void sample_resp(struct join_resp *r, unsigned status, uint8_t nrec)
{
	memset(r, 0, sizeof *r);
	r->v = INVITE_VERSION;
	r->status = (uint8_t)status;
	snprintf(r->message, sizeof r->message, "%s",
		 status == JOIN_PENDING ? "waiting for approval" : status ? "no" : "");
	memcpy(r->root, keys[ROOT].pk, 32);
	r->gossip_port = 7946;
	r->nrec = nrec;
}

static int self_c, sub_c, leaf_c;

/* join_req_build: the request the two clients send (mirrornetctl join,
 * the daemon's renewal and rotation), as the service reads it. */
static void test_req_build(void)
{
	uint8_t secret[INVITE_SECRET_LEN], buf[JOIN_MAX_FRAME + 4], pub[32], priv[32];
	char id[INVITE_ID_LEN + 1];
	size_t n, plen, used;
	const uint8_t *p;

	memset(secret, 0x42, sizeof secret);
	invite_id(secret, id);
	for (unsigned op = 0; op <= JOIN_OP_MAX; op++) {
		const uint8_t *sec = op == JOIN_OP_JOIN ? secret : NULL;
		const struct node_key *knew = op == JOIN_OP_ROTATE ? &keys[NEWKEY] : NULL;
		struct join_req q;

		CHECK_INT(join_req_build((uint8_t)op, &keys[PEER], knew, sec, "laptop", NOW, buf,
					 sizeof buf, &n), 0);
		CHECK_INT(join_frame_get(buf, n, &p, &plen, &used), 0);
		CHECK_INT(used, n);
		CHECK_INT(schema_decode(&join_req_schema, p, plen, &q), 0);
		CHECK_INT(q.v, INVITE_VERSION);
		CHECK_INT(q.op, op);
		CHECK_STR(q.invite, sec ? id : "");
		CHECK_MEM(q.node, keys[PEER].pk, 32);
		node_key_wireguard(&keys[PEER], priv, pub);
		CHECK_MEM(q.wg, pub, 32);
		if (knew) {
			CHECK_MEM(q.new_node, knew->pk, 32);
			node_key_wireguard(knew, priv, pub);
			CHECK_MEM(q.new_wg, pub, 32);
		}
		CHECK_STR(q.name, "laptop");
		CHECK_INT(q.time, NOW);
		CHECK(join_req_check(&q, sec));
		/* an op without what it needs, or with what it must not have */
		CHECK_INT(join_req_build((uint8_t)op, &keys[PEER], knew ? NULL : &keys[NEWKEY], sec,
					 "laptop", NOW, buf, sizeof buf, &n), -EINVAL);
		CHECK_INT(join_req_build((uint8_t)op, &keys[PEER], knew, sec ? NULL : secret, "laptop",
					 NOW, buf, sizeof buf, &n), -EINVAL);
		CHECK_INT(join_req_build((uint8_t)op, &keys[PEER], knew, sec, "laptop", NOW, buf, 40,
					 &n), -ENOSPC);
	}
	crypto_wipe(priv, sizeof priv);
	/* not a DNS label: the service would refuse it, so it is not sent */
	CHECK_INT(join_req_build(JOIN_OP_RENEW, &keys[PEER], NULL, NULL, "no such name", NOW, buf,
				 sizeof buf, &n), -EINVAL);
}

static void test_resp_frames(void)
{
	static uint8_t buf[8 * MN_MAX_RECORD], buf2[8 * MN_MAX_RECORD];
	struct join_resp r, d;
	struct join_chain c, dc;
	char err[256];
	size_t n, n2;

	/* 0 records: pending and refused */
	for (unsigned st = JOIN_PENDING; st <= JOIN_REFUSED; st++) {
		sample_resp(&r, st, 0);
		CHECK_INT(join_resp_frames(&r, NULL, buf, sizeof buf, &n), 0);
		memset(&d, 0x5a, sizeof d);
		CHECK_INT(join_resp_parse(buf, n, &d, &dc, err, sizeof err), 0);
		CHECK(memcmp(&r, &d, sizeof r) == 0);
		CHECK_INT(dc.n, 0);
		int again = 0;
		for (size_t cut = 0; cut < n; cut++)
			again += join_resp_parse(buf, cut, &d, &dc, err, sizeof err) == -EAGAIN;
		CHECK_INT(again, n);
	}

	/* N records */
	int idx[] = { self_c, sub_c, leaf_c };
	for (size_t nrec = 1; nrec <= 3; nrec++) {
		sample_resp(&r, JOIN_OK, (uint8_t)nrec);
		set_chain(&c, idx + 3 - nrec, nrec);
		CHECK_INT(join_resp_frames(&r, &c, buf, sizeof buf, &n), 0);
		memset(&d, 0x5a, sizeof d);
		CHECK_INT(join_resp_parse(buf, n, &d, &dc, err, sizeof err), 0);
		CHECK(memcmp(&r, &d, sizeof r) == 0);
		CHECK_INT(dc.n, nrec);
		for (size_t i = 0; i < nrec && i < dc.n; i++) {
			CHECK_INT(dc.len[i], c.len[i]);
			CHECK_MEM(dc.rec[i], c.rec[i], c.len[i]);
			CHECK(dc.rec[i] > buf && dc.rec[i] + dc.len[i] <= buf + n);
		}
		CHECK_INT(join_resp_frames(&d, &dc, buf2, sizeof buf2, &n2), 0);
		CHECK_INT(n2, n);
		CHECK_MEM(buf, buf2, n);
		/* every strict prefix: -EAGAIN */
		int again = 0;
		for (size_t cut = 0; cut < n; cut++)
			again += join_resp_parse(buf, cut, &d, &dc, err, sizeof err) == -EAGAIN;
		CHECK_INT(again, n);
		/* output bound */
		CHECK(join_resp_frames(&r, &c, buf2, n - 1, &n2) < 0);
		CHECK_INT(join_resp_frames(&r, &c, buf2, n, &n2), 0);

		/* trailing bytes */
		buf[n] = 0;
		err[0] = 0;
		CHECK_INT(join_resp_parse(buf, n + 1, &d, &dc, err, sizeof err), -EBADMSG);
		CHECK(err[0] != 0);
		/* a whole extra frame */
		memcpy(buf + n, buf + 4 + (buf[3] | buf[2] << 8), 4 + c.len[0]);
		err[0] = 0;
		CHECK_INT(join_resp_parse(buf, n + 4 + c.len[0], &d, &dc, err, sizeof err), -EBADMSG);
		CHECK(err[0] != 0);
	}

	/* a zero-length frame: as the answer, and as a record */
	sample_resp(&r, JOIN_OK, 1);
	set_chain(&c, &leaf_c, 1);
	CHECK_INT(join_resp_frames(&r, &c, buf, sizeof buf, &n), 0);
	size_t hdr = 4 + ((size_t)buf[2] << 8 | buf[3]);
	memset(buf2, 0, 8);
	err[0] = 0;
	CHECK_INT(join_resp_parse(buf2, 8, &d, &dc, err, sizeof err), -EBADMSG);
	CHECK(err[0] != 0);
	memcpy(buf2, buf, hdr);
	memset(buf2 + hdr, 0, 4);
	err[0] = 0;
	CHECK_INT(join_resp_parse(buf2, hdr + 4, &d, &dc, err, sizeof err), -EBADMSG);
	CHECK(err[0] != 0);
	/* an oversize length: as the answer, and as a record */
	memcpy(buf2, buf, n);
	buf2[0] = 0;
	buf2[1] = 0;
	buf2[2] = (JOIN_MAX_FRAME + 1) >> 8;
	buf2[3] = (JOIN_MAX_FRAME + 1) & 0xff;
	err[0] = 0;
	CHECK_INT(join_resp_parse(buf2, n, &d, &dc, err, sizeof err), -EBADMSG);
	CHECK(err[0] != 0);
	memcpy(buf2, buf, n);
	buf2[hdr] = 0x7f;
	err[0] = 0;
	CHECK_INT(join_resp_parse(buf2, n, &d, &dc, err, sizeof err), -EBADMSG);
	CHECK(err[0] != 0);
	/* a response that does not decode */
	memcpy(buf2, buf, n);
	buf2[4] = 0x90;
	err[0] = 0;
	CHECK_INT(join_resp_parse(buf2, n, &d, &dc, err, sizeof err), -EBADMSG);
	CHECK(err[0] != 0);

	/* status/nrec rules: raw bytes the encoder would not make */
	struct { const char *what; unsigned st; uint8_t nrec; uint8_t v; } bad[] = {
		{ "ok without records", JOIN_OK, 0, 1 },
		{ "pending with records", JOIN_PENDING, 1, 1 },
		{ "refused with records", JOIN_REFUSED, 2, 1 },
		{ "version 2", JOIN_PENDING, 0, 2 },
		{ "status 3", 3, 0, 1 },
		{ "18 records", JOIN_OK, JOIN_MAX_CHAIN + 1, 1 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sample_resp(&r, bad[i].st, bad[i].nrec);
		r.v = bad[i].v;
		size_t pl = raw_encode(&join_resp_schema, &r, buf2 + 4, sizeof buf2 - 4);
		buf2[0] = 0;
		buf2[1] = 0;
		buf2[2] = (uint8_t)(pl >> 8);
		buf2[3] = (uint8_t)pl;
		/* records behind it, so that the count is all that is wrong */
		size_t tot = 4 + pl;
		for (size_t k = 0; k < bad[i].nrec; k++) {
			memcpy(buf2 + tot, buf + hdr, n - hdr);
			tot += n - hdr;
		}
		err[0] = 0;
		int got = join_resp_parse(buf2, tot, &d, &dc, err, sizeof err);
		if (got != -EBADMSG)
			fprintf(stderr, "response case '%s': got %d\n", bad[i].what, got);
		CHECK_INT(got, -EBADMSG);
		CHECK(err[0] != 0);
		CHECK(join_resp_frames(&r, NULL, buf2, sizeof buf2, &n2) < 0);
	}
}

/* Verify a framed-and-parsed chain, as the joiner does. */
static int verify(const int *idx, size_t n, int me, int issuer, uint64_t now, char *err,
		  size_t errcap, struct chain_result *res)
{
	static uint8_t buf[8 * MN_MAX_RECORD];
	struct join_resp r, d;
	struct join_chain c, dc;
	size_t len;

	sample_resp(&r, JOIN_OK, (uint8_t)n);
	set_chain(&c, idx, n);
	if (join_resp_frames(&r, &c, buf, sizeof buf, &len) < 0 ||
	    join_resp_parse(buf, len, &d, &dc, err, errcap) < 0) {
		fprintf(stderr, "verify: the chain does not frame\n");
		return 1;
	}
	err[0] = 0;
	return join_chain_verify(&d, &dc, keys[me].pk, keys[issuer].pk, now, res, err, errcap);
}

static void expect_denied(const char *what, const int *idx, size_t n, int me, int issuer,
			  uint64_t now)
{
	char err[256];
	struct chain_result res;

	int rc = verify(idx, n, me, issuer, now, err, sizeof err, &res);
	if (rc != -EACCES || !err[0])
		fprintf(stderr, "chain case '%s': rc %d, err '%s'\n", what, rc, err);
	CHECK_INT(rc, -EACCES);
	CHECK(err[0] != 0);
}

static void test_chain_verify(void)
{
	char err[256];
	struct chain_result res;

	/* root → (self cert) → sub-master → peer: the peer joined via the sub-master */
	int full[] = { self_c, sub_c, leaf_c };
	CHECK_INT(verify(full, 3, PEER, SUB, NOW, err, sizeof err, &res), 0);
	CHECK_INT(res.role, ROLE_PEER);
	CHECK_INT(res.depth, 2);
	CHECK_STR(res.mesh_addr, "10.42.0.17");
	CHECK_STR(res.dns_scope, "laptop.lab.example.io");
	CHECK_INT(verify(full + 1, 2, PEER, SUB, NOW, err, sizeof err, &res), 0);
	/* the sub-master's own chain */
	CHECK_INT(verify(full, 2, SUB, ROOT, NOW, err, sizeof err, &res), 0);
	CHECK_INT(res.role, ROLE_SUBMASTER);

	/* the pinned issuer differs */
	expect_denied("issuer is the root, not the sub-master", full, 3, PEER, ROOT, NOW);
	expect_denied("issuer another key", full, 3, PEER, OTHER, NOW);
	/* the leaf is for another key */
	expect_denied("leaf for another key", full, 3, OTHER, SUB, NOW);
	expect_denied("leaf is the sub-master's", full, 2, PEER, ROOT, NOW);
	/* a record that is not a cert */
	union body rb;
	memset(&rb, 0, sizeof rb);
	memcpy(rb.revoke.subject, keys[OTHER].pk, 32);
	snprintf(rb.revoke.reason, sizeof rb.revoke.reason, "test");
	rb.revoke.time = NOW;
	int revoke = mkrec(KIND_REVOKE, SUB, &rb);
	int tomb = mkrec(KIND_CERT, SUB, NULL);
	int not_cert[] = { self_c, sub_c, revoke };
	expect_denied("last record a revoke", not_cert, 3, PEER, SUB, NOW);
	int not_cert2[] = { revoke, sub_c, leaf_c };
	expect_denied("first record a revoke", not_cert2, 3, PEER, SUB, NOW);
	int with_tomb[] = { sub_c, tomb };
	expect_denied("a cert tombstone", with_tomb, 2, PEER, SUB, NOW);
	/* a broken signature on any link */
	for (int i = 0; i < 3; i++) {
		memcpy(pool[npool], pool[full[i]], pool_len[full[i]]);
		pool_len[npool] = pool_len[full[i]];
		pool[npool][pool_len[npool] - 7] ^= 0x04;   /* inside the signature */
		int broken[] = { self_c, sub_c, leaf_c };
		broken[i] = npool++;
		expect_denied("a broken signature", broken, 3, PEER, SUB, NOW);
	}
	/* a link not from the root / out of order */
	int order[] = { sub_c, self_c, leaf_c };
	expect_denied("links out of order", order, 3, PEER, SUB, NOW);
	/* the answer names another root */
	{
		static uint8_t buf[8 * MN_MAX_RECORD];
		struct join_resp r, d;
		struct join_chain c, dc;
		size_t len;
		sample_resp(&r, JOIN_OK, 3);
		memcpy(r.root, keys[OTHER].pk, 32);
		set_chain(&c, full, 3);
		CHECK_INT(join_resp_frames(&r, &c, buf, sizeof buf, &len), 0);
		CHECK_INT(join_resp_parse(buf, len, &d, &dc, err, sizeof err), 0);
		err[0] = 0;
		CHECK_INT(join_chain_verify(&d, &dc, keys[PEER].pk, keys[SUB].pk, NOW, &res, err, sizeof err), -EACCES);
		CHECK(err[0] != 0);
		/* no records at all */
		memset(&dc, 0, sizeof dc);
		err[0] = 0;
		CHECK_INT(join_chain_verify(&d, &dc, keys[PEER].pk, keys[SUB].pk, NOW, &res, err, sizeof err), -EACCES);
		CHECK(err[0] != 0);
	}
	/* expired at now_s: the leaf, then a link above it */
	expect_denied("leaf expired", full, 3, PEER, SUB, LATER + 1);
	int short_sub = mkcert(ROOT, SUB, ROLE_SUBMASTER, 1, "lab.example.io", "10.42.0.2", NOW + 10);
	int exp_mid[] = { self_c, short_sub, leaf_c };
	CHECK_INT(verify(exp_mid, 3, PEER, SUB, NOW, err, sizeof err, &res), 0);
	expect_denied("sub-master expired", exp_mid, 3, PEER, SUB, NOW + 11);
	/* not yet valid */
	expect_denied("before not_before", full, 3, PEER, SUB, NOW - 101);
}

int main(void)
{
	if (crypto_init() != 0)
		return 1;
	for (int i = 0; i < NKEYS; i++) {
		uint8_t seed[32];
		memset(seed, 0x30 + i, sizeof seed);
		node_key_from_seed(&keys[i], seed);
	}
	self_c = mkcert(ROOT, ROOT, ROLE_MASTER, 0, "example.io", "10.42.0.1", LATER + 1000);
	sub_c = mkcert(ROOT, SUB, ROLE_SUBMASTER, 1, "lab.example.io", "10.42.0.2", LATER + 1000);
	leaf_c = mkcert(SUB, PEER, ROLE_PEER, 2, "laptop.lab.example.io", "10.42.0.17", LATER);

	test_token_roundtrip();
	test_token_sizes();
	test_token_text_refused();
	test_token_fields_refused();
	test_derive();
	test_req_roundtrip();
	test_req_rules();
	test_req_seal();
	test_req_build();
	test_resp_frames();
	test_chain_verify();
	for (int i = 0; i < NKEYS; i++)
		node_key_wipe(&keys[i]);
	return check_exit();
}
