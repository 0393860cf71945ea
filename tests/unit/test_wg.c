/* WireGuard backends without WireGuard: the shared text helpers, the UAPI
 * request/reply codec (vectors, malformed replies, every truncation and a
 * byte-flip sweep), the UAPI I/O against a scripted server on a Unix
 * socket in a mkdtemp directory, the generic netlink message builder and
 * reply parser (byte vectors, a hand-built dump, malformed replies), and
 * the fake's WireGuard semantics. The real thing: tests/netns/test_wg_uapi.sh. */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include "tests/check.h"
#include "crypto/crypto.h"
#include "crypto/key.h"
#include "src/wg/wg_int.h"

/* RFC 7748 6.1: Alice's X25519 key pair */
#define ALICE_PRIV "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
#define ALICE_PUB  "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define KEY1 "0101010101010101010101010101010101010101010101010101010101010101"
#define KEY2 "0202020202020202020202020202020202020202020202020202020202020202"

static void key_of(uint8_t key[WG_KEY_LEN], const char *hex)
{
	if (wg_key_from_hex(key, hex, strlen(hex)) < 0)
		abort();
}

static void peer_init(struct wg_peer *p, const char *keyhex, const char *endpoint,
                      uint16_t keepalive, const char *a0, const char *a1)
{
	memset(p, 0, sizeof *p);
	key_of(p->key, keyhex);
	if (endpoint) {
		if (wg_endpoint_parse(endpoint, &p->endpoint) < 0)
			abort();
		p->has_endpoint = true;
	}
	p->keepalive_s = keepalive;
	if (a0)
		strcpy(p->allowed[p->nallowed++], a0);
	if (a1)
		strcpy(p->allowed[p->nallowed++], a1);
}

static const char *endpoint_text(const struct wg_peer *p)
{
	static char buf[WG_ENDPOINT_TEXT];

	if (!p->has_endpoint)
		return "-";
	if (wg_endpoint_format(&p->endpoint, buf, sizeof buf) < 0)
		return "?";
	return buf;
}

/* ---- helpers ---- */

static void test_ifname(void)
{
	static const struct { const char *name; bool ok; } v[] = {
		{ "wg0", true }, { "mnt12345a", true }, { "a", true },
		{ "A_b=c+d.e-f", true }, { "123456789012345", true },
		{ "1234567890123456", false }, { "", false }, { ".", false }, { "..", false },
		{ "...", true }, { "wg/0", false }, { "wg 0", false }, { "wg:0", false },
		{ "w\xc3\xa9", false }, { "wg0\n", false },
	};

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		if (wg_ifname_valid(v[i].name) != v[i].ok)
			fprintf(stderr, "ifname '%s'\n", v[i].name);
		CHECK(wg_ifname_valid(v[i].name) == v[i].ok);
	}
	CHECK(!wg_ifname_valid(NULL));
}

static int ref_nibble(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void test_key_hex(void)
{
	uint8_t k[WG_KEY_LEN], k2[WG_KEY_LEN];
	char hex[65], in[65];
	int bad = 0;

	for (int i = 0; i < WG_KEY_LEN; i++)
		k[i] = (uint8_t)(i * 37 + 5);
	wg_key_to_hex(k, hex);
	CHECK_STR(hex, "052a4f7499bee3082d52779cc1e60b30557a9fc4e90e33587da2c7ec11365b80");
	CHECK_INT(wg_key_from_hex(k2, hex, 64), 0);
	CHECK_MEM(k, k2, WG_KEY_LEN);
	CHECK_INT(wg_key_from_hex(k2, "052A4F7499BEE3082D52779CC1E60B30557A9FC4E90E33587DA2C7EC11365B80", 64), 0);
	CHECK_MEM(k, k2, WG_KEY_LEN);
	CHECK_INT(wg_key_from_hex(k2, hex, 63), -EINVAL);
	CHECK_INT(wg_key_from_hex(k2, hex, 0), -EINVAL);
	CHECK(wg_key_is_zero(k2));
	/* the branchless decoder agrees with the obvious one on every byte */
	for (int c = 0; c < 256; c++) {
		memset(in, '0', 64);
		in[17] = (char)c;
		int r = wg_key_from_hex(k2, in, 64);
		int want = ref_nibble(c);
		if ((r == 0) != (want >= 0) || (r == 0 && k2[8] != want)) {
			fprintf(stderr, "hex digit 0x%02x\n", c);
			bad++;
		}
	}
	CHECK_INT(bad, 0);
	/* and the encoder on every nibble */
	for (int i = 0; i < WG_KEY_LEN; i++)
		k[i] = (uint8_t)(i < 16 ? i * 17 : 255 - i);
	wg_key_to_hex(k, hex);
	for (int i = 0; i < 64; i++)
		if (hex[i] != "0123456789abcdef"[(k[i / 2] >> (i % 2 ? 0 : 4)) & 15])
			bad++;
	CHECK_INT(bad, 0);
}

static void test_cidr(void)
{
	static const struct { const char *in, *out; } v[] = {
		{ "10.42.0.2/32", "10.42.0.2/32" },
		{ "10.42.0.9/24", "10.42.0.0/24" },
		{ "10.42.0.2", "10.42.0.2/32" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "10.255.255.255/9", "10.128.0.0/9" },
		{ "255.255.255.255/1", "128.0.0.0/1" },
		{ "fd42::1/64", "fd42::/64" },
		{ "FD42:0:0:0:0:0:0:1/128", "fd42::1/128" },
		{ "fd42::1", "fd42::1/128" },
		{ "::/0", "::/0" },
		{ "fd42:ffff::/17", "fd42:8000::/17" },
		{ "::ffff:10.0.0.1/128", "::ffff:10.0.0.1/128" },
		{ "10.42.0.2/33", NULL }, { "fd42::/129", NULL }, { "10.42.0.2/", NULL },
		{ "10.42.0.2/-1", NULL }, { "10.42.0.2/+8", NULL }, { "10.42.0.2/0008", NULL },
		{ "10.42.0/24", NULL }, { "10.42.0.256/32", NULL }, { "", NULL }, { "/8", NULL },
		{ "10.42.0.2/8/8", NULL }, { " 10.42.0.2/32", NULL }, { "fe80::1%eth0/64", NULL },
		{ "host.example/32", NULL },
		{ "0000000000000000000000000000000000000000000000000000000000000000000/8", NULL },
	};
	char out[WG_CIDR_TEXT];
	struct wg_cidr c;

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		int r = wg_cidr_canon(v[i].in, out);
		if (v[i].out) {
			CHECK_INT(r, 0);
			if (r == 0)
				CHECK_STR(out, v[i].out);
		} else {
			if (r == 0)
				fprintf(stderr, "cidr '%s' accepted as %s\n", v[i].in, out);
			CHECK_INT(r, -EINVAL);
		}
	}
	CHECK_INT(wg_cidr_parse("10.1.2.3/16", &c), 0);
	CHECK_INT(c.family, AF_INET);
	CHECK_INT(c.prefix, 16);
	CHECK_INT(wg_cidr_format(&c, out, 11), -ENOSPC);
	CHECK_INT(wg_cidr_format(&c, out, 12), 0);
	CHECK_STR(out, "10.1.0.0/16");
	c.prefix = 33;
	CHECK_INT(wg_cidr_format(&c, out, sizeof out), -EINVAL);
	c.family = AF_UNIX;
	CHECK_INT(wg_cidr_format(&c, out, sizeof out), -EINVAL);
	CHECK_INT(wg_cidr_parse(NULL, &c), -EINVAL);
}

static void test_endpoint(void)
{
	static const struct { const char *in, *out; } v[] = {
		{ "192.0.2.1:51820", "192.0.2.1:51820" },
		{ "0.0.0.0:0", "0.0.0.0:0" },
		{ "[2001:db8::1]:51820", "[2001:db8::1]:51820" },
		{ "[2001:DB8:0::1]:1", "[2001:db8::1]:1" },
		{ "[fe80::1%7]:51820", "[fe80::1%7]:51820" },
		{ "[fe80::1%lo]:51820", "[fe80::1%1]:51820" },
		{ "[::ffff:192.0.2.1]:65535", "[::ffff:192.0.2.1]:65535" },
		{ "192.0.2.1:65536", NULL }, { "192.0.2.1", NULL }, { "192.0.2.1:", NULL },
		{ "192.0.2.1:-1", NULL }, { "192.0.2.1:051820", NULL }, { "2001:db8::1:51820", NULL },
		{ "[2001:db8::1]51820", NULL }, { "[2001:db8::1]", NULL }, { "[192.0.2.1]:1", NULL },
		{ "[fe80::1%]:1", NULL }, { "[fe80::1%no-such-if0]:1", NULL },
		{ "host.example:51820", NULL }, { "", NULL }, { ":1", NULL }, { "[]:1", NULL },
		{ "[2001:db8::1]:1 ", NULL },
	};
	struct sockaddr_storage ss;
	char out[WG_ENDPOINT_TEXT];

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		int r = wg_endpoint_parse(v[i].in, &ss);
		if (v[i].out) {
			CHECK_INT(r, 0);
			CHECK_INT(wg_endpoint_format(&ss, out, sizeof out), 0);
			CHECK_STR(out, v[i].out);
		} else {
			if (r == 0)
				fprintf(stderr, "endpoint '%s' accepted\n", v[i].in);
			CHECK_INT(r, -EINVAL);
			CHECK_INT(ss.ss_family, 0);
		}
	}
	CHECK_INT(wg_endpoint_parse("192.0.2.1:51820", &ss), 0);
	CHECK_INT(ntohs(((struct sockaddr_in *)&ss)->sin_port), 51820);
	CHECK_INT(wg_endpoint_format(&ss, out, 15), -ENOSPC);
	ss.ss_family = AF_UNIX;
	CHECK_INT(wg_endpoint_format(&ss, out, sizeof out), -EINVAL);
	CHECK_INT(wg_endpoint_parse(NULL, &ss), -EINVAL);
}

static void test_peer_check(void)
{
	struct wg_peer p;
	struct wg_cidr c[WG_MAX_ALLOWED];

	peer_init(&p, KEY1, "192.0.2.1:1", 0, "10.0.0.1/32", "fd00::/8");
	CHECK_INT(wg_peer_check(&p, c), 0);
	CHECK_INT(c[1].family, AF_INET6);
	p.nallowed = WG_MAX_ALLOWED + 1;
	CHECK_INT(wg_peer_check(&p, c), -EINVAL);
	p.nallowed = 1;
	memset(p.allowed[0], 'x', sizeof p.allowed[0]);       /* not terminated */
	CHECK_INT(wg_peer_check(&p, c), -EINVAL);
	strcpy(p.allowed[0], "10.0.0.1/40");
	CHECK_INT(wg_peer_check(&p, c), -EINVAL);
	strcpy(p.allowed[0], "10.0.0.1/8");
	p.endpoint.ss_family = AF_UNIX;
	CHECK_INT(wg_peer_check(&p, c), -EINVAL);
	p.has_endpoint = false;
	CHECK_INT(wg_peer_check(&p, c), 0);
}

static void test_device_alloc(void)
{
	struct wg_device d = { 0 }, copy;
	struct wg_peer *p;
	int r = 0;

	for (unsigned i = 0; i < 100 && r == 0; i++) {
		r = wg_device_add_peer(&d, &p);
		if (r == 0)
			p->key[0] = (uint8_t)i;
	}
	CHECK_INT(r, 0);
	CHECK_INT(d.npeers, 100);
	CHECK_INT(wg_device_copy(&copy, &d), 0);
	CHECK_INT(copy.npeers, 100);
	/* a copy grows like the original (its capacity follows the same rule) */
	for (unsigned i = 0; i < 30 && r == 0; i++)
		r = wg_device_add_peer(&copy, &p);
	CHECK_INT(r, 0);
	CHECK_INT(copy.peers[99].key[0], 99);
	wg_device_free(&copy);
	CHECK(copy.peers == NULL && copy.npeers == 0);
	while (r == 0)
		r = wg_device_add_peer(&d, &p);
	CHECK_INT(r, -E2BIG);
	CHECK_INT(d.npeers, WG_MAX_PEERS);
	wg_device_free(&d);
	wg_device_free(NULL);
}

/* ---- UAPI codec ---- */

static void test_uapi_requests(void)
{
	char buf[WG_UAPI_REQ_MAX];
	uint8_t priv[WG_KEY_LEN];
	struct wg_peer p;

	key_of(priv, ALICE_PRIV);
	CHECK_INT(wg_uapi_req_set_device(buf, sizeof buf, priv, 51820), 102);
	CHECK_STR(buf, "set=1\nprivate_key=" ALICE_PRIV "\nlisten_port=51820\n\n");
	CHECK(wg_uapi_req_set_device(buf, sizeof buf, priv, 0) > 0);
	CHECK_STR(buf, "set=1\nprivate_key=" ALICE_PRIV "\n\n");
	CHECK_INT(wg_uapi_req_set_device(buf, 40, priv, 0), -ENOSPC);
	CHECK(memchr(buf, '7', 40) == NULL);    /* wiped, not a half key */

	peer_init(&p, KEY1, "192.0.2.1:51820", 25, "10.42.0.2/32", "10.42.1.9/24");
	CHECK(wg_uapi_req_set_peer(buf, sizeof buf, &p) > 0);
	CHECK_STR(buf, "set=1\npublic_key=" KEY1 "\nendpoint=192.0.2.1:51820\n"
	          "persistent_keepalive_interval=25\nreplace_allowed_ips=true\n"
	          "allowed_ip=10.42.0.2/32\nallowed_ip=10.42.1.0/24\n\n");
	peer_init(&p, KEY2, "[2001:db8::1]:7", 0, NULL, NULL);
	CHECK(wg_uapi_req_set_peer(buf, sizeof buf, &p) > 0);
	CHECK_STR(buf, "set=1\npublic_key=" KEY2 "\nendpoint=[2001:db8::1]:7\n"
	          "persistent_keepalive_interval=0\nreplace_allowed_ips=true\n\n");
	peer_init(&p, KEY2, NULL, 65535, "fd42::2/128", NULL);
	CHECK(wg_uapi_req_set_peer(buf, sizeof buf, &p) > 0);
	CHECK_STR(buf, "set=1\npublic_key=" KEY2 "\npersistent_keepalive_interval=65535\n"
	          "replace_allowed_ips=true\nallowed_ip=fd42::2/128\n\n");
	CHECK_INT(wg_uapi_req_set_peer(buf, 100, &p), -ENOSPC);
	strcpy(p.allowed[0], "fd42::2/200");
	CHECK_INT(wg_uapi_req_set_peer(buf, sizeof buf, &p), -EINVAL);

	CHECK(wg_uapi_req_remove_peer(buf, sizeof buf, p.key) > 0);
	CHECK_STR(buf, "set=1\npublic_key=" KEY2 "\nremove=true\n\n");
	/* the worst case fits WG_UAPI_REQ_MAX */
	peer_init(&p, KEY1, "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255%4294967295]:65535",
	          65535, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
	          "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	strcpy(p.allowed[p.nallowed++], "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	strcpy(p.allowed[p.nallowed++], "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	CHECK(wg_uapi_req_set_peer(buf, sizeof buf, &p) > 0);
}

/* What wireguard-go answers to get=1 (its field order). */
static const char GET_REPLY[] =
	"private_key=" ALICE_PRIV "\n"
	"listen_port=51820\n"
	"fwmark=0\n"
	"public_key=" KEY1 "\n"
	"preshared_key=0000000000000000000000000000000000000000000000000000000000000000\n"
	"protocol_version=1\n"
	"endpoint=192.0.2.1:51821\n"
	"last_handshake_time_sec=1700000000\n"
	"last_handshake_time_nsec=123\n"
	"tx_bytes=18446744073709551615\n"
	"rx_bytes=92\n"
	"persistent_keepalive_interval=25\n"
	"allowed_ip=10.42.0.2/32\n"
	"allowed_ip=fd42::2/128\n"
	"public_key=" KEY2 "\n"
	"endpoint=[2001:db8::2]:51822\n"
	"last_handshake_time_sec=0\n"
	"tx_bytes=0\n"
	"rx_bytes=0\n"
	"persistent_keepalive_interval=0\n"
	"future_key=whatever\n"
	"allowed_ip=10.42.0.3/32\n"
	"allowed_ip=10.42.0.4/32\n"
	"allowed_ip=10.42.0.5/32\n"
	"allowed_ip=10.42.0.6/32\n"
	"allowed_ip=10.42.0.7/32\n"
	"errno=0\n"
	"\n";

static void test_uapi_parse_get(void)
{
	struct wg_device d;
	uint8_t pub[WG_KEY_LEN], k[WG_KEY_LEN];
	size_t len = sizeof GET_REPLY - 1;

	CHECK_INT(wg_uapi_reply_end(GET_REPLY, len), len);
	CHECK_INT(wg_uapi_parse_reply(GET_REPLY, len, &d), 0);
	key_of(pub, ALICE_PUB);
	CHECK(d.has_private_key);
	CHECK_MEM(d.public_key, pub, WG_KEY_LEN);
	CHECK_INT(d.listen_port, 51820);
	CHECK_INT(d.npeers, 2);
	if (d.npeers == 2) {
		key_of(k, KEY1);
		CHECK_MEM(d.peers[0].key, k, WG_KEY_LEN);
		CHECK_STR(endpoint_text(&d.peers[0]), "192.0.2.1:51821");
		CHECK(d.peers[0].last_handshake_s == 1700000000u);
		CHECK(d.peers[0].tx_bytes == UINT64_MAX);
		CHECK(d.peers[0].rx_bytes == 92);
		CHECK_INT(d.peers[0].keepalive_s, 25);
		CHECK_INT(d.peers[0].nallowed, 2);
		CHECK_STR(d.peers[0].allowed[0], "10.42.0.2/32");
		CHECK_STR(d.peers[0].allowed[1], "fd42::2/128");
		CHECK_STR(endpoint_text(&d.peers[1]), "[2001:db8::2]:51822");
		CHECK_INT(d.peers[1].nallowed, WG_MAX_ALLOWED);     /* the 5th is dropped */
		CHECK_STR(d.peers[1].allowed[3], "10.42.0.6/32");
	}
	wg_device_free(&d);

	/* no private key, no port, no peers */
	CHECK_INT(wg_uapi_parse_reply("errno=0\n\n", 9, &d), 0);
	CHECK(!d.has_private_key && d.listen_port == 0 && d.npeers == 0 && d.peers == NULL);
	/* an all-zero private key is no key */
	CHECK_INT(wg_uapi_parse_reply("private_key=0000000000000000000000000000000000000000000000000000000000000000\nerrno=0\n\n", 87, &d), 0);
	CHECK(!d.has_private_key);
	/* bytes after the blank line are not ours */
	CHECK_INT(wg_uapi_parse_reply("errno=0\n\ngarbage", 16, &d), 0);
	wg_device_free(&d);
}

static void test_uapi_parse_errors(void)
{
	static const struct { const char *in; int r; } v[] = {
		{ "errno=0\n\n", 0 },
		{ "errno=-22\n\n", -EINVAL },
		{ "errno=22\n\n", -EINVAL },
		{ "errno=-98\n\n", -EADDRINUSE },
		{ "errno=-0\n\n", 0 },
		{ "errno=-4095\n\n", -4095 },
		{ "errno=-4096\n\n", -EBADMSG },
		{ "errno=\n\n", -EBADMSG },
		{ "errno=x\n\n", -EBADMSG },
		{ "errno=--1\n\n", -EBADMSG },
		{ "errno=99999999999999999999999\n\n", -EBADMSG },
		{ "errno=0\n", -EBADMSG },              /* no blank line */
		{ "errno=0", -EBADMSG },
		{ "", -EBADMSG },
		{ "\n", -EBADMSG },                     /* no errno */
		{ "listen_port=1\n\n", -EBADMSG },
		{ "errno=0\nerrno=0\n\n", -EBADMSG },   /* errno is last */
		{ "errno=0\nlisten_port=1\n\n", -EBADMSG },
		{ "listen_port\nerrno=0\n\n", -EBADMSG },
		{ "listen_port=65536\nerrno=0\n\n", -EBADMSG },
		{ "listen_port=-1\nerrno=0\n\n", -EBADMSG },
		{ "listen_port=\nerrno=0\n\n", -EBADMSG },
		{ "private_key=77\nerrno=0\n\n", -EBADMSG },
		{ "private_key=g7076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a\nerrno=0\n\n", -EBADMSG },
		{ "public_key=" KEY1 "x\nerrno=0\n\n", -EBADMSG },
		{ "public_key=\nerrno=0\n\n", -EBADMSG },
		{ "public_key=" KEY1 "\nendpoint=192.0.2.1\nerrno=0\n\n", -EBADMSG },
		{ "public_key=" KEY1 "\nendpoint=[::1:1\nerrno=0\n\n", -EBADMSG },
		{ "public_key=" KEY1 "\nallowed_ip=10.0.0.1/99\nerrno=0\n\n", -EBADMSG },
		{ "public_key=" KEY1 "\npersistent_keepalive_interval=65536\nerrno=0\n\n", -EBADMSG },
		{ "public_key=" KEY1 "\nrx_bytes=18446744073709551616\nerrno=0\n\n", -EBADMSG },
		{ "public_key=" KEY1 "\ntx_bytes=1e3\nerrno=0\n\n", -EBADMSG },
		{ "public_key=" KEY1 "\nlast_handshake_time_sec=-1\nerrno=0\n\n", -EBADMSG },
		/* a device key after a peer is a peer key we do not know: ignored */
		{ "public_key=" KEY1 "\nlisten_port=x\nerrno=0\n\n", 0 },
		/* a daemon error wins over what came before */
		{ "listen_port=1\nerrno=-5\n\n", -EIO },
	};
	struct wg_device d;

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		int r = wg_uapi_parse_reply(v[i].in, strlen(v[i].in), &d);
		if (r != v[i].r)
			fprintf(stderr, "uapi reply #%zu: %d, want %d\n", i, r, v[i].r);
		CHECK_INT(r, v[i].r);
		CHECK(d.peers == NULL || r == 0);
		wg_device_free(&d);
	}
	/* set replies: only errno counts */
	CHECK_INT(wg_uapi_parse_reply("errno=-22\n\n", 11, NULL), -EINVAL);
	CHECK_INT(wg_uapi_parse_reply("whatever=1\nerrno=0\n\n", 20, NULL), 0);
	CHECK_INT(wg_uapi_parse_reply("errno=0", 7, NULL), -EBADMSG);

	/* a line at the cap is fine, one past it is not */
	{
		char buf[2 * WG_UAPI_MAX_LINE];
		int n = snprintf(buf, sizeof buf, "x=%0*d\nerrno=0\n\n", WG_UAPI_MAX_LINE - 2, 0);
		CHECK_INT(wg_uapi_parse_reply(buf, (size_t)n, &d), 0);
		n = snprintf(buf, sizeof buf, "x=%0*d\nerrno=0\n\n", WG_UAPI_MAX_LINE - 1, 0);
		CHECK_INT(wg_uapi_parse_reply(buf, (size_t)n, &d), -EBADMSG);
	}
	/* an embedded NUL */
	CHECK_INT(wg_uapi_parse_reply("listen_port=1\0\nerrno=0\n\n", 24, &d), -EBADMSG);
	CHECK_INT(wg_uapi_reply_end("a\nb\n\nc", 6), 5);
	CHECK_INT(wg_uapi_reply_end("\n", 1), 1);
	CHECK_INT(wg_uapi_reply_end("a\nb\n", 4), 0);
}

static void test_uapi_parse_bounds(void)
{
	size_t len = sizeof GET_REPLY - 1, cap = (WG_MAX_PEERS + 1) * 76 + 16, n = 0;
	char *buf = malloc(len > cap ? len : cap);
	struct wg_device d;
	int bad = 0;

	if (!buf)
		abort();
	/* every truncation is an error (there is no blank line yet) */
	for (size_t cut = 0; cut < len; cut++) {
		memcpy(buf, GET_REPLY, cut);
		if (wg_uapi_parse_reply(buf, cut, &d) != -EBADMSG)
			bad++;
		wg_device_free(&d);
	}
	CHECK_INT(bad, 0);
	/* flipped bytes: any answer, no crash (ASan/valgrind watch) */
	for (size_t i = 0; i < len; i++) {
		static const char subst[] = { 0, '\n', '=', 'x', '9', '-', '\xff' };
		for (size_t j = 0; j < sizeof subst; j++) {
			memcpy(buf, GET_REPLY, len);
			buf[i] = subst[j];
			if (wg_uapi_parse_reply(buf, len, &d) == 0 && d.npeers > 2)
				bad++;
			wg_device_free(&d);
		}
	}
	CHECK_INT(bad, 0);
	/* one peer past the cap */
	for (unsigned i = 0; i <= WG_MAX_PEERS; i++)
		n += (size_t)snprintf(buf + n, cap - n, "public_key=%064x\n", i);
	n += (size_t)snprintf(buf + n, cap - n, "errno=0\n\n");
	CHECK_INT(wg_uapi_parse_reply(buf, n, &d), -E2BIG);
	CHECK(d.peers == NULL);
	free(buf);
}

/* ---- UAPI I/O against a scripted server ---- */

enum script_mode { REPLY, CLOSE, SILENT };

static char sockdir[64];

struct server {
	pid_t pid;
	int lfd, pipe_r;
	char path[108];
};

static void child_serve(int lfd, int pipe_w, const char *reply, size_t chunk, enum script_mode mode)
{
	for (;;) {
		char req[4096];
		size_t len = 0;
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			_exit(1);
		while (len < sizeof req && !wg_uapi_reply_end(req, len)) {
			ssize_t n = read(fd, req + len, sizeof req - len);
			if (n <= 0)
				break;
			len += (size_t)n;
		}
		if (len == 0) {             /* wg_uapi_new's probe */
			close(fd);
			continue;
		}
		if (write(pipe_w, req, len) != (ssize_t)len)
			_exit(1);
		close(pipe_w);
		if (mode == SILENT)
			sleep(5);
		if (mode == REPLY) {
			size_t rl = strlen(reply);
			for (size_t off = 0; off < rl; off += chunk)
				if (write(fd, reply + off, rl - off < chunk ? rl - off : chunk) < 0)
					_exit(1);
		}
		close(fd);
		_exit(0);
	}
}

static int server_start(struct server *s, const char *ifname, const char *reply, size_t chunk,
                        enum script_mode mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int p[2];

	snprintf(s->path, sizeof s->path, "%s/%s.sock", sockdir, ifname);
	strcpy(sa.sun_path, s->path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(s->lfd, 4) < 0 || pipe(p) < 0)
		return -1;
	s->pid = fork();
	if (s->pid < 0)
		return -1;
	if (s->pid == 0) {
		close(p[0]);
		child_serve(s->lfd, p[1], reply, chunk, mode);
	}
	close(p[1]);
	s->pipe_r = p[0];
	return 0;
}

/* What the client sent (into req, NUL-terminated); stops the server. */
static void server_stop(struct server *s, char *req, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < cap && (n = read(s->pipe_r, req + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	req[len] = 0;
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	close(s->pipe_r);
	close(s->lfd);
	unlink(s->path);
}

static void test_uapi_io(void)
{
	char err[256], req[4096];
	struct wg_backend *b;
	struct wg_device d;
	struct server s;
	struct wg_peer p;
	uint8_t priv[WG_KEY_LEN];

	snprintf(sockdir, sizeof sockdir, "/tmp/mn-wg-XXXXXX");
	if (!mkdtemp(sockdir)) {
		CHECK(!"mkdtemp");
		return;
	}
	/* nothing listening */
	err[0] = 0;
	CHECK(wg_uapi_new_at(sockdir, "wgt0", err, sizeof err) == NULL);
	CHECK(strstr(err, "cannot reach WireGuard UAPI socket") != NULL);
	CHECK(strstr(err, "is wireguard-go running") != NULL);
	CHECK(wg_uapi_new_at(sockdir, "bad/name", err, sizeof err) == NULL);
	CHECK(strstr(err, "invalid WireGuard interface name") != NULL);
	CHECK(wg_uapi_new_at("/tmp/a-directory-name-so-long-that-the-socket-path-cannot-fit-"
	                     "into-sun-path-which-holds-only-108-bytes-on-linux", "wg0", err, sizeof err) == NULL);
	CHECK(strstr(err, "too long") != NULL);
	CHECK(wg_uapi_new("no-such-wg-if", err, sizeof err) == NULL);
	CHECK(strstr(err, "/var/run/wireguard/no-such-wg-if.sock") != NULL);

	/* get, the reply trickling in 7 bytes at a time */
	if (server_start(&s, "wgt0", GET_REPLY, 7, REPLY) < 0) {
		CHECK(!"server");
		return;
	}
	b = wg_uapi_new_at(sockdir, "wgt0", err, sizeof err);
	CHECK(b != NULL);
	if (!b) {
		fprintf(stderr, "%s\n", err);
		server_stop(&s, req, sizeof req);
		return;
	}
	CHECK_STR(b->name, "uapi");
	CHECK_INT(b->get(b, &d), 0);
	CHECK_INT(d.npeers, 2);
	CHECK_INT(d.listen_port, 51820);
	wg_device_free(&d);
	server_stop(&s, req, sizeof req);
	CHECK_STR(req, "get=1\n\n");

	/* set_peer: the request on the wire, a daemon error back */
	server_start(&s, "wgt0", "errno=-22\n\n", 1, REPLY);
	peer_init(&p, KEY1, "[2001:db8::1]:51820", 25, "10.42.0.2/32", NULL);
	CHECK_INT(b->set_peer(b, &p), -EINVAL);
	server_stop(&s, req, sizeof req);
	CHECK_STR(req, "set=1\npublic_key=" KEY1 "\nendpoint=[2001:db8::1]:51820\n"
	          "persistent_keepalive_interval=25\nreplace_allowed_ips=true\n"
	          "allowed_ip=10.42.0.2/32\n\n");

	server_start(&s, "wgt0", "errno=0\n\n", 64, REPLY);
	key_of(priv, ALICE_PRIV);
	CHECK_INT(b->set_device(b, priv, 51820), 0);
	server_stop(&s, req, sizeof req);
	CHECK_STR(req, "set=1\nprivate_key=" ALICE_PRIV "\nlisten_port=51820\n\n");

	server_start(&s, "wgt0", "errno=0\n\n", 64, REPLY);
	CHECK_INT(b->remove_peer(b, p.key), 0);
	server_stop(&s, req, sizeof req);
	CHECK_STR(req, "set=1\npublic_key=" KEY1 "\nremove=true\n\n");

	/* an invalid peer never reaches the socket (no server: would fail with -ECONNREFUSED) */
	strcpy(p.allowed[0], "10.42.0.2/40");
	CHECK_INT(b->set_peer(b, &p), -EINVAL);

	/* a reply larger than the first read buffer (it grows), and one past
	 * the cap (never ends: -E2BIG) */
	{
		size_t cap = WG_UAPI_MAX_REPLY + 4096, n = 0;
		char *big = malloc(cap);
		if (!big)
			abort();
		for (unsigned i = 0; i < 300; i++)
			n += (size_t)snprintf(big + n, cap - n, "public_key=%064x\nallowed_ip=10.1.%u.%u/32\n",
			                      i, i >> 8, i & 255);
		snprintf(big + n, cap - n, "errno=0\n\n");
		server_start(&s, "wgt0", big, 1000, REPLY);
		CHECK_INT(b->get(b, &d), 0);
		CHECK_INT(d.npeers, 300);
		if (d.npeers == 300)
			CHECK_STR(d.peers[299].allowed[0], "10.1.1.43/32");
		wg_device_free(&d);
		server_stop(&s, req, sizeof req);
		for (n = 0; n + 4 < cap - 1; n += 4)
			memcpy(big + n, "x=1\n", 4);
		big[n] = 0;
		server_start(&s, "wgt0", big, 65536, REPLY);
		CHECK_INT(b->get(b, &d), -E2BIG);
		server_stop(&s, req, sizeof req);
		free(big);
	}

	/* the daemon hangs up mid-reply */
	server_start(&s, "wgt0", "listen_port=1\nerr", 64, REPLY);
	CHECK_INT(b->get(b, &d), -EBADMSG);
	CHECK(d.peers == NULL);
	server_stop(&s, req, sizeof req);
	server_start(&s, "wgt0", "", 1, CLOSE);
	CHECK_INT(b->get(b, &d), -EBADMSG);
	server_stop(&s, req, sizeof req);

	/* the daemon says nothing: the call gives up after its timeout */
	server_start(&s, "wgt0", "", 1, SILENT);
	CHECK_INT(b->get(b, &d), -ETIMEDOUT);
	server_stop(&s, req, sizeof req);

	/* the socket went away */
	CHECK_INT(b->get(b, &d), -ENOENT);
	b->free(b);
	rmdir(sockdir);
}

/* ---- netlink ---- */

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LE 1
#else
#define LE 0
#endif

static void test_nl_messages(void)
{
	uint8_t buf[WG_NL_BUF];
	struct wg_peer p;
	int n;
	/* CTRL_CMD_GETFAMILY "wireguard", seq 1 */
	static const uint8_t getfamily[] = {
		0x24, 0, 0, 0, 0x10, 0, 0x01, 0, 1, 0, 0, 0, 0, 0, 0, 0,
		3, 1, 0, 0,
		0x0e, 0, 0x02, 0, 'w', 'i', 'r', 'e', 'g', 'u', 'a', 'r', 'd', 0, 0, 0,
	};
	/* WG_CMD_SET_DEVICE on wg0 (family 0x1234, seq 7): peer KEY1,
	 * REPLACE_ALLOWEDIPS, 192.0.2.1:51820, keepalive 25, 10.42.0.2/32 */
	static const uint8_t setpeer[] = {
		0x8c, 0, 0, 0, 0x34, 0x12, 0x05, 0, 7, 0, 0, 0, 0, 0, 0, 0,
		1, 1, 0, 0,
		0x08, 0, 0x02, 0, 'w', 'g', '0', 0,
		0x70, 0, 0x08, 0x80,                            /* PEERS */
		0x6c, 0, 0x00, 0x80,                            /* peer 0 */
		0x24, 0, 0x01, 0,                               /* PUBLIC_KEY */
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		0x08, 0, 0x03, 0, 0x02, 0, 0, 0,                /* FLAGS */
		0x14, 0, 0x04, 0, 0x02, 0, 0xca, 0x6c, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0,
		0x06, 0, 0x05, 0, 25, 0, 0, 0,                  /* KEEPALIVE */
		0x20, 0, 0x09, 0x80,                            /* ALLOWEDIPS */
		0x1c, 0, 0x00, 0x80,
		0x06, 0, 0x01, 0, 0x02, 0, 0, 0,                /* FAMILY */
		0x08, 0, 0x02, 0, 10, 42, 0, 2,                 /* IPADDR */
		0x05, 0, 0x03, 0, 32, 0, 0, 0,                  /* CIDR_MASK */
	};
	static const uint8_t removepeer[] = {
		0x50, 0, 0, 0, 0x34, 0x12, 0x05, 0, 8, 0, 0, 0, 0, 0, 0, 0,
		1, 1, 0, 0,
		0x08, 0, 0x02, 0, 'w', 'g', '0', 0,
		0x34, 0, 0x08, 0x80,
		0x30, 0, 0x00, 0x80,
		0x24, 0, 0x01, 0,
		2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
		2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
		0x08, 0, 0x03, 0, 0x01, 0, 0, 0,                /* REMOVE_ME */
	};
	static const uint8_t getdev[] = {
		0x1c, 0, 0, 0, 0x34, 0x12, 0x01, 0x03, 9, 0, 0, 0, 0, 0, 0, 0,
		0, 1, 0, 0,
		0x08, 0, 0x02, 0, 'w', 'g', '0', 0,
	};

	n = wg_nl_msg_get_family(buf, sizeof buf, 1);
	CHECK_INT(n, sizeof getfamily);
	if (LE)
		CHECK_MEM(buf, getfamily, sizeof getfamily);
	peer_init(&p, KEY1, "192.0.2.1:51820", 25, "10.42.0.2/32", NULL);
	n = wg_nl_msg_set_peer(buf, sizeof buf, 0x1234, 7, "wg0", &p);
	CHECK_INT(n, sizeof setpeer);
	if (LE && n == (int)sizeof setpeer) {
		for (size_t i = 0; i < sizeof setpeer; i++)
			if (buf[i] != setpeer[i])
				fprintf(stderr, "set_peer byte %zu: %02x, want %02x\n", i, buf[i], setpeer[i]);
		CHECK_MEM(buf, setpeer, sizeof setpeer);
	}
	CHECK_INT(wg_nl_msg_set_peer(buf, sizeof setpeer - 1, 0x1234, 7, "wg0", &p), -EMSGSIZE);
	CHECK_INT(wg_nl_msg_set_peer(buf, sizeof buf, 0x1234, 7, "bad/if", &p), -EINVAL);
	strcpy(p.allowed[0], "10.42.0.2/33");
	CHECK_INT(wg_nl_msg_set_peer(buf, sizeof buf, 0x1234, 7, "wg0", &p), -EINVAL);

	uint8_t k2[WG_KEY_LEN];
	key_of(k2, KEY2);
	n = wg_nl_msg_remove_peer(buf, sizeof buf, 0x1234, 8, "wg0", k2);
	CHECK_INT(n, sizeof removepeer);
	if (LE)
		CHECK_MEM(buf, removepeer, sizeof removepeer);
	n = wg_nl_msg_get_device(buf, sizeof buf, 0x1234, 9, "wg0");
	CHECK_INT(n, sizeof getdev);
	if (LE)
		CHECK_MEM(buf, getdev, sizeof getdev);

	/* set_device: IFNAME, PRIVATE_KEY (36), LISTEN_PORT only when given */
	uint8_t priv[WG_KEY_LEN];
	key_of(priv, ALICE_PRIV);
	CHECK_INT(wg_nl_msg_set_device(buf, sizeof buf, 0x1234, 10, "wg0", priv, 51820), 72);
	CHECK_MEM(buf + 32, priv, WG_KEY_LEN);
	if (LE)
		CHECK_MEM(buf + 64, "\x06\x00\x06\x00\x6c\xca\x00\x00", 8);
	CHECK_INT(wg_nl_msg_set_device(buf, sizeof buf, 0x1234, 10, "wg0", priv, 0), 64);
	CHECK_INT(wg_nl_msg_set_device(buf, 50, 0x1234, 10, "wg0", priv, 0), -EMSGSIZE);
	CHECK(memchr(buf, 0x77, 50) == NULL);   /* wiped: no half key left */
	CHECK_INT(wg_nl_msg_get_family(buf, 8, 1), -EMSGSIZE);
}

/* A test-side netlink writer, independent of netlink.c's, for replies. */
struct tw {
	uint8_t buf[4096];
	size_t len;
	size_t msg;
};

static void tw_put(struct tw *w, uint16_t type, const void *d, size_t n)
{
	uint16_t len = (uint16_t)(4 + n);

	memcpy(w->buf + w->len, &len, 2);
	memcpy(w->buf + w->len + 2, &type, 2);
	if (n)
		memcpy(w->buf + w->len + 4, d, n);
	memset(w->buf + w->len + 4 + n, 0, NLA_ALIGN(4 + n) - (4 + n));
	w->len += NLA_ALIGN(4 + n);
}

static size_t tw_nest(struct tw *w, uint16_t type)
{
	size_t at = w->len;

	tw_put(w, type | NLA_F_NESTED, NULL, 0);
	return at;
}

static void tw_end(struct tw *w, size_t at)
{
	uint16_t len = (uint16_t)(w->len - at);

	memcpy(w->buf + at, &len, 2);
}

static void tw_msg(struct tw *w, uint16_t type, uint32_t seq, uint8_t cmd)
{
	struct nlmsghdr h = { 0, type, NLM_F_MULTI, seq, 4242 };
	struct genlmsghdr g = { cmd, 1, 0 };

	w->msg = w->len;
	memcpy(w->buf + w->len, &h, sizeof h);
	memcpy(w->buf + w->len + sizeof h, &g, sizeof g);
	w->len += sizeof h + sizeof g;
}

static void tw_msg_end(struct tw *w)
{
	uint32_t len = (uint32_t)(w->len - w->msg);

	memcpy(w->buf + w->msg, &len, 4);
}

static void tw_ctl(struct tw *w, uint16_t type, uint32_t seq, int32_t err)
{
	struct nlmsghdr h = { 16 + 4, type, 0, seq, 4242 };

	memcpy(w->buf + w->len, &h, sizeof h);
	memcpy(w->buf + w->len + 16, &err, 4);
	w->len += 20;
}

static void tw_allowed(struct tw *w, uint16_t fam, const void *addr, uint8_t cidr)
{
	size_t ip = tw_nest(w, 0);

	tw_put(w, WGALLOWEDIP_A_FAMILY, &fam, 2);
	tw_put(w, WGALLOWEDIP_A_IPADDR, addr, fam == AF_INET ? 4 : 16);
	tw_put(w, WGALLOWEDIP_A_CIDR_MASK, &cidr, 1);
	tw_end(w, ip);
}

/* The kernel's dump of wg0 (family 0x1234, seq 5) in two datagrams: the
 * first message holds the device and peer KEY1 with two allowed IPs, the
 * second continues KEY1 with a third one and adds KEY2; then DONE. */
static void build_dump(struct tw *a, struct tw *b)
{
	uint8_t priv[WG_KEY_LEN], k1[WG_KEY_LEN], k2[WG_KEY_LEN];
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(51822) };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(51821) };
	struct { int64_t s, ns; } ts = { 1700000000, 5 };
	uint64_t rx = 92, tx = 1ull << 40;
	uint16_t port = 51820, ka = 25;
	uint32_t ifindex = 7;
	size_t peers, peer, ips;

	key_of(priv, ALICE_PRIV);
	key_of(k1, KEY1);
	key_of(k2, KEY2);
	inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);
	inet_pton(AF_INET6, "2001:db8::2", &sin6.sin6_addr);
	memset(a, 0, sizeof *a);
	memset(b, 0, sizeof *b);

	tw_msg(a, 0x1234, 5, WG_CMD_GET_DEVICE);
	tw_put(a, WGDEVICE_A_IFINDEX, &ifindex, 4);
	tw_put(a, WGDEVICE_A_IFNAME, "wg0", 4);
	tw_put(a, WGDEVICE_A_PRIVATE_KEY, priv, 32);
	tw_put(a, WGDEVICE_A_PUBLIC_KEY, k2, 32);      /* ignored: derived */
	tw_put(a, WGDEVICE_A_LISTEN_PORT, &port, 2);
	peers = tw_nest(a, WGDEVICE_A_PEERS);
	peer = tw_nest(a, 0);
	tw_put(a, WGPEER_A_PUBLIC_KEY, k1, 32);
	tw_put(a, WGPEER_A_PRESHARED_KEY, k2, 32);
	tw_put(a, WGPEER_A_LAST_HANDSHAKE_TIME, &ts, sizeof ts);
	tw_put(a, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, &ka, 2);
	tw_put(a, WGPEER_A_TX_BYTES, &tx, 8);
	tw_put(a, WGPEER_A_RX_BYTES, &rx, 8);
	tw_put(a, WGPEER_A_ENDPOINT, &sin, sizeof sin);
	ips = tw_nest(a, WGPEER_A_ALLOWEDIPS);
	tw_allowed(a, AF_INET, "\x0a\x2a\x00\x02", 32);
	tw_allowed(a, AF_INET6, "\xfd\x42\0\0\0\0\0\0\0\0\0\0\0\0\0\x02", 128);
	tw_end(a, ips);
	tw_end(a, peer);
	tw_end(a, peers);
	tw_msg_end(a);

	tw_msg(b, 0x1234, 5, WG_CMD_GET_DEVICE);
	tw_put(b, WGDEVICE_A_IFINDEX, &ifindex, 4);
	tw_put(b, WGDEVICE_A_IFNAME, "wg0", 4);
	peers = tw_nest(b, WGDEVICE_A_PEERS);
	peer = tw_nest(b, 0);
	tw_put(b, WGPEER_A_PUBLIC_KEY, k1, 32);
	ips = tw_nest(b, WGPEER_A_ALLOWEDIPS);
	tw_allowed(b, AF_INET, "\x0a\x2b\x00\x00", 16);
	tw_end(b, ips);
	tw_end(b, peer);
	peer = tw_nest(b, 0);
	tw_put(b, WGPEER_A_PUBLIC_KEY, k2, 32);
	tw_put(b, WGPEER_A_ENDPOINT, &sin6, sizeof sin6);
	tw_put(b, 99, "future", 6);                    /* unknown: ignored */
	tw_end(b, peer);
	tw_end(b, peers);
	tw_msg_end(b);
	tw_ctl(b, NLMSG_DONE, 5, 0);
}

static void test_nl_parse_get(void)
{
	struct wg_device d = { 0 };
	uint8_t pub[WG_KEY_LEN], k[WG_KEY_LEN];
	struct tw a, b;

	build_dump(&a, &b);
	CHECK_INT(wg_nl_parse_get(a.buf, a.len, 0x1234, 5, &d), 0);   /* more to come */
	CHECK_INT(wg_nl_parse_get(b.buf, b.len, 0x1234, 5, &d), 1);
	key_of(pub, ALICE_PUB);
	CHECK(d.has_private_key);
	CHECK_MEM(d.public_key, pub, WG_KEY_LEN);
	CHECK_INT(d.listen_port, 51820);
	CHECK_INT(d.npeers, 2);
	if (d.npeers == 2) {
		key_of(k, KEY1);
		CHECK_MEM(d.peers[0].key, k, WG_KEY_LEN);
		CHECK_STR(endpoint_text(&d.peers[0]), "192.0.2.1:51821");
		CHECK(d.peers[0].last_handshake_s == 1700000000u);
		CHECK(d.peers[0].rx_bytes == 92 && d.peers[0].tx_bytes == 1ull << 40);
		CHECK_INT(d.peers[0].keepalive_s, 25);
		CHECK_INT(d.peers[0].nallowed, 3);     /* merged across messages */
		CHECK_STR(d.peers[0].allowed[0], "10.42.0.2/32");
		CHECK_STR(d.peers[0].allowed[1], "fd42::2/128");
		CHECK_STR(d.peers[0].allowed[2], "10.43.0.0/16");
		key_of(k, KEY2);
		CHECK_MEM(d.peers[1].key, k, WG_KEY_LEN);
		CHECK_STR(endpoint_text(&d.peers[1]), "[2001:db8::2]:51822");
		CHECK_INT(d.peers[1].nallowed, 0);
	}
	wg_device_free(&d);

	/* a dump that a concurrent change interrupted */
	{
		struct tw x = b;
		struct nlmsghdr h;
		memcpy(&h, x.buf, sizeof h);
		h.nlmsg_flags |= NLM_F_DUMP_INTR;
		memcpy(x.buf, &h, sizeof h);
		memset(&d, 0, sizeof d);
		CHECK_INT(wg_nl_parse_get(x.buf, x.len, 0x1234, 5, &d), -EAGAIN);
		wg_device_free(&d);
	}

	/* a late answer to another request is skipped */
	CHECK_INT(wg_nl_parse_get(a.buf, a.len, 0x1234, 6, &d), 0);
	CHECK_INT(d.npeers, 0);
	/* another family's message is not ours */
	CHECK_INT(wg_nl_parse_get(a.buf, a.len, 0x1235, 5, &d), -EBADMSG);
	wg_device_free(&d);

	/* errors: no such interface (dump start), an error in DONE */
	struct tw e = { .len = 0 };
	tw_ctl(&e, NLMSG_ERROR, 5, -ENODEV);
	CHECK_INT(wg_nl_parse_get(e.buf, e.len, 0x1234, 5, &d), -ENODEV);
	e.len = 0;
	tw_ctl(&e, NLMSG_DONE, 5, -EMSGSIZE);
	CHECK_INT(wg_nl_parse_get(e.buf, e.len, 0x1234, 5, &d), -EMSGSIZE);
	e.len = 0;
	tw_ctl(&e, NLMSG_ERROR, 5, 7);          /* a positive error is nonsense */
	CHECK_INT(wg_nl_parse_get(e.buf, e.len, 0x1234, 5, &d), -EBADMSG);
	CHECK_INT(wg_nl_parse_get(e.buf, 3, 0x1234, 5, &d), -EBADMSG);
	CHECK_INT(wg_nl_parse_get(e.buf, 0, 0x1234, 5, &d), 0);
	wg_device_free(&d);
}

static void test_nl_parse_malformed(void)
{
	struct wg_device d = { 0 };
	uint8_t k1[WG_KEY_LEN], buf[4096];
	struct tw a, b, w;
	int bad = 0;

	/* every truncation of the first datagram: an error or "more to come",
	 * never a crash; and every byte flipped */
	build_dump(&a, &b);
	for (size_t cut = 0; cut < a.len; cut++) {
		memcpy(buf, a.buf, cut);
		int r = wg_nl_parse_get(buf, cut, 0x1234, 5, &d);
		if (r > 0)
			bad++;
		wg_device_free(&d);
	}
	CHECK_INT(bad, 0);
	for (size_t i = 0; i < b.len; i++) {
		static const uint8_t subst[] = { 0x00, 0xff, 0x04, 0x80 };
		for (size_t j = 0; j < sizeof subst; j++) {
			memcpy(buf, b.buf, b.len);
			buf[i] ^= subst[j];
			(void)wg_nl_parse_get(buf, b.len, 0x1234, 5, &d);
			if (d.npeers > 2)
				bad++;
			wg_device_free(&d);
		}
	}
	CHECK_INT(bad, 0);

	/* attribute vectors that must fail */
	key_of(k1, KEY1);
	static const struct { const char *what; int kind; } cases[] = {
		{ "short key", 0 }, { "peer without key", 1 }, { "short endpoint", 2 },
		{ "endpoint family mismatch", 3 }, { "allowed ip prefix too long", 4 },
		{ "allowed ip without mask", 5 }, { "allowed ip v4 family, 16 bytes", 6 },
		{ "attribute overruns its nest", 7 }, { "negative handshake time", 8 },
		{ "port of 3 bytes", 9 },
	};
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		size_t peers, peer, ips, ip;
		uint16_t fam4 = AF_INET;
		uint8_t m33 = 33, m32 = 32;
		struct sockaddr_in sin = { .sin_family = AF_INET6 };
		struct { int64_t s, ns; } ts = { -1, 0 };

		memset(&w, 0, sizeof w);
		tw_msg(&w, 0x1234, 5, WG_CMD_GET_DEVICE);
		if (cases[c].kind == 9)
			tw_put(&w, WGDEVICE_A_LISTEN_PORT, "abc", 3);
		peers = tw_nest(&w, WGDEVICE_A_PEERS);
		peer = tw_nest(&w, 0);
		if (cases[c].kind == 0)
			tw_put(&w, WGPEER_A_PUBLIC_KEY, k1, 31);
		else if (cases[c].kind != 1)
			tw_put(&w, WGPEER_A_PUBLIC_KEY, k1, 32);
		if (cases[c].kind == 1)
			tw_put(&w, WGPEER_A_RX_BYTES, "\0\0\0\0\0\0\0\0", 8);
		if (cases[c].kind == 2)
			tw_put(&w, WGPEER_A_ENDPOINT, &sin, 1);
		if (cases[c].kind == 3)
			tw_put(&w, WGPEER_A_ENDPOINT, &sin, sizeof sin);
		if (cases[c].kind == 8)
			tw_put(&w, WGPEER_A_LAST_HANDSHAKE_TIME, &ts, sizeof ts);
		if (cases[c].kind >= 4 && cases[c].kind <= 6) {
			ips = tw_nest(&w, WGPEER_A_ALLOWEDIPS);
			ip = tw_nest(&w, 0);
			tw_put(&w, WGALLOWEDIP_A_FAMILY, &fam4, 2);
			tw_put(&w, WGALLOWEDIP_A_IPADDR, "\xfd\x42\0\0\0\0\0\0\0\0\0\0\0\0\0\x02",
			       cases[c].kind == 6 ? 16 : 4);
			if (cases[c].kind != 5)
				tw_put(&w, WGALLOWEDIP_A_CIDR_MASK, cases[c].kind == 4 ? &m33 : &m32, 1);
			tw_end(&w, ip);
			tw_end(&w, ips);
		}
		if (cases[c].kind == 7)
			tw_put(&w, WGPEER_A_TX_BYTES, "\0\0\0\0\0\0\0\0", 8);
		tw_end(&w, peer);
		tw_end(&w, peers);
		if (cases[c].kind == 7) {
			/* claim the last attribute is 4 bytes longer than its nest */
			uint16_t l = 16;
			memcpy(w.buf + w.len - 12, &l, 2);
		}
		tw_msg_end(&w);
		int r = wg_nl_parse_get(w.buf, w.len, 0x1234, 5, &d);
		if (r != -EBADMSG)
			fprintf(stderr, "netlink case '%s': %d\n", cases[c].what, r);
		CHECK_INT(r, -EBADMSG);
		wg_device_free(&d);
	}

	/* a nlmsg_len beyond the datagram, and one below the header */
	memset(&w, 0, sizeof w);
	tw_ctl(&w, NLMSG_DONE, 5, 0);
	w.buf[0] = 21;
	CHECK_INT(wg_nl_parse_get(w.buf, w.len, 0x1234, 5, &d), -EBADMSG);
	w.buf[0] = 15;
	CHECK_INT(wg_nl_parse_get(w.buf, w.len, 0x1234, 5, &d), -EBADMSG);
	/* an OVERRUN */
	memset(&w, 0, sizeof w);
	tw_ctl(&w, NLMSG_OVERRUN, 5, 0);
	CHECK_INT(wg_nl_parse_get(w.buf, w.len, 0x1234, 5, &d), -EBADMSG);
	wg_device_free(&d);
}

/* What we send as set_peer is what the kernel would echo in a dump: turn
 * the request into a reply and read it back. */
static void test_nl_roundtrip(void)
{
	static const char *eps[] = { "192.0.2.1:51820", "[2001:db8::7%3]:1", NULL };
	uint8_t buf[WG_NL_BUF];
	struct wg_device d;
	struct wg_peer p;

	for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++) {
		struct nlmsghdr h;
		struct tw done = { .len = 0 };
		int n;

		peer_init(&p, KEY2, eps[i], (uint16_t)(i * 1000), "10.9.8.7/8", "fd00::1/16");
		n = wg_nl_msg_set_peer(buf, sizeof buf, 0x2222, 3, "mnt1a", &p);
		CHECK(n > 0);
		if (n <= 0)
			continue;
		memcpy(&h, buf, sizeof h);
		h.nlmsg_flags = NLM_F_MULTI;
		memcpy(buf, &h, sizeof h);
		buf[NLMSG_HDRLEN] = WG_CMD_GET_DEVICE;
		tw_ctl(&done, NLMSG_DONE, 3, 0);
		memcpy(buf + n, done.buf, done.len);
		memset(&d, 0, sizeof d);
		CHECK_INT(wg_nl_parse_get(buf, (size_t)n + done.len, 0x2222, 3, &d), 1);
		CHECK_INT(d.npeers, 1);
		if (d.npeers == 1) {
			CHECK_MEM(d.peers[0].key, p.key, WG_KEY_LEN);
			CHECK_INT(d.peers[0].has_endpoint, p.has_endpoint);
			if (p.has_endpoint)
				CHECK_STR(endpoint_text(&d.peers[0]), eps[i]);
			CHECK_INT(d.peers[0].keepalive_s, i * 1000);
			CHECK_INT(d.peers[0].nallowed, 2);
			CHECK_STR(d.peers[0].allowed[0], "10.0.0.0/8");
			CHECK_STR(d.peers[0].allowed[1], "fd00::/16");
		}
		wg_device_free(&d);
	}
}

static void test_nl_family_ack(void)
{
	struct tw w = { .len = 0 };
	uint16_t id = 0, fid = 0x1d;
	size_t ops, op;
	uint32_t v = 1;

	tw_msg(&w, GENL_ID_CTRL, 1, CTRL_CMD_NEWFAMILY);
	tw_put(&w, CTRL_ATTR_FAMILY_NAME, "wireguard", 10);
	tw_put(&w, CTRL_ATTR_VERSION, &v, 4);
	ops = tw_nest(&w, CTRL_ATTR_OPS);
	op = tw_nest(&w, 1);
	tw_put(&w, CTRL_ATTR_OP_ID, &v, 4);
	tw_end(&w, op);
	tw_end(&w, ops);
	tw_put(&w, CTRL_ATTR_FAMILY_ID, &fid, 2);
	tw_msg_end(&w);
	CHECK_INT(wg_nl_parse_family(w.buf, w.len, 1, &id), 1);
	CHECK_INT(id, 0x1d);
	id = 0;
	CHECK_INT(wg_nl_parse_family(w.buf, w.len, 2, &id), 0);
	CHECK_INT(id, 0);

	memset(&w, 0, sizeof w);
	tw_ctl(&w, NLMSG_ERROR, 1, -ENOENT);
	CHECK_INT(wg_nl_parse_family(w.buf, w.len, 1, &id), -ENOENT);
	memset(&w, 0, sizeof w);
	tw_ctl(&w, NLMSG_DONE, 1, 0);
	CHECK_INT(wg_nl_parse_family(w.buf, w.len, 1, &id), -EBADMSG);
	memset(&w, 0, sizeof w);
	tw_msg(&w, GENL_ID_CTRL, 1, CTRL_CMD_NEWFAMILY);
	tw_put(&w, CTRL_ATTR_FAMILY_ID, &fid, 1);
	tw_msg_end(&w);
	CHECK_INT(wg_nl_parse_family(w.buf, w.len, 1, &id), -EBADMSG);

	memset(&w, 0, sizeof w);
	tw_ctl(&w, NLMSG_ERROR, 4, 0);
	CHECK_INT(wg_nl_parse_ack(w.buf, w.len, 4), 1);
	CHECK_INT(wg_nl_parse_ack(w.buf, w.len, 3), 0);
	memset(&w, 0, sizeof w);
	tw_ctl(&w, NLMSG_ERROR, 3, -EPERM);    /* stale */
	tw_ctl(&w, NLMSG_ERROR, 4, -EINVAL);
	CHECK_INT(wg_nl_parse_ack(w.buf, w.len, 4), -EINVAL);
}

static void test_nl_new(void)
{
	char err[256] = "";
	struct wg_backend *b;

	CHECK(wg_netlink_new("bad/name", err, sizeof err) == NULL);
	CHECK(strstr(err, "invalid WireGuard interface name") != NULL);
	/* without the kernel module (this machine): a clean failure; with it,
	 * the interface does not exist */
	b = wg_netlink_new("mn-no-such-wg", err, sizeof err);
	CHECK(b == NULL);
	if (b)
		b->free(b);
	CHECK(strncmp(err, "WireGuard kernel module not available: ", 39) == 0 ||
	      strncmp(err, "WireGuard interface mn-no-such-wg not reachable", 47) == 0 ||
	      strncmp(err, "generic netlink socket: ", 24) == 0);
	printf("netlink here: %s\n", err);
}

/* ---- fake ---- */

static struct wg_peer *find(struct wg_device *d, const char *keyhex)
{
	uint8_t k[WG_KEY_LEN];

	key_of(k, keyhex);
	return wg_device_find_peer(d, k);
}

static void test_fake(void)
{
	struct wg_backend *b = wg_fake_new(), other = { .name = "other" };
	uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN], zero[WG_KEY_LEN] = { 0 };
	struct sockaddr_storage ep;
	struct wg_device d;
	struct wg_peer p, *q;

	CHECK(b != NULL);
	if (!b)
		return;
	CHECK_STR(b->name, "fake");
	CHECK_INT(b->get(b, &d), 0);
	CHECK(!d.has_private_key && d.listen_port == 0 && d.npeers == 0);
	wg_device_free(&d);

	key_of(priv, ALICE_PRIV);
	key_of(pub, ALICE_PUB);
	CHECK_INT(b->set_device(b, priv, 51820), 0);
	CHECK_INT(b->set_device(b, priv, 0), 0);            /* 0 leaves the port */
	CHECK_INT(b->get(b, &d), 0);
	CHECK(d.has_private_key);
	CHECK_MEM(d.public_key, pub, WG_KEY_LEN);
	CHECK_INT(d.listen_port, 51820);
	wg_device_free(&d);

	/* add, then update: endpoint kept when not given, allowed IPs replaced,
	 * masked and deduplicated */
	peer_init(&p, KEY1, "192.0.2.1:51820", 25, "10.42.0.2/32", NULL);
	CHECK_INT(b->set_peer(b, &p), 0);
	peer_init(&p, KEY1, NULL, 0, "10.42.1.9/24", "10.42.1.0/24");
	CHECK_INT(b->set_peer(b, &p), 0);
	CHECK_INT(b->get(b, &d), 0);
	CHECK_INT(d.npeers, 1);
	q = find(&d, KEY1);
	CHECK(q != NULL);
	if (q) {
		CHECK_STR(endpoint_text(q), "192.0.2.1:51820");
		CHECK_INT(q->keepalive_s, 0);
		CHECK_INT(q->nallowed, 1);
		CHECK_STR(q->allowed[0], "10.42.1.0/24");
	}
	wg_device_free(&d);

	/* a prefix has one owner: giving it to KEY2 takes it from KEY1 */
	peer_init(&p, KEY2, "[2001:db8::2]:51820", 0, "10.42.1.0/24", "10.42.0.3/32");
	CHECK_INT(b->set_peer(b, &p), 0);
	CHECK_INT(b->get(b, &d), 0);
	CHECK_INT(d.npeers, 2);
	q = find(&d, KEY1);
	CHECK(q && q->nallowed == 0);
	q = find(&d, KEY2);
	CHECK(q && q->nallowed == 2);
	wg_device_free(&d);

	/* the device's own key as a peer: silently ignored */
	peer_init(&p, ALICE_PUB, NULL, 0, "10.42.0.1/32", NULL);
	CHECK_INT(b->set_peer(b, &p), 0);
	CHECK_INT(b->get(b, &d), 0);
	CHECK_INT(d.npeers, 2);
	wg_device_free(&d);

	/* invalid input changes nothing */
	peer_init(&p, KEY1, NULL, 7, "10.42.0.300/32", NULL);
	CHECK_INT(b->set_peer(b, &p), -EINVAL);
	peer_init(&p, KEY1, NULL, 7, "10.42.0.3/32", NULL);
	p.nallowed = WG_MAX_ALLOWED + 1;
	CHECK_INT(b->set_peer(b, &p), -EINVAL);
	peer_init(&p, KEY1, "192.0.2.9:1", 7, NULL, NULL);
	p.endpoint.ss_family = AF_UNIX;
	CHECK_INT(b->set_peer(b, &p), -EINVAL);
	/* an injected failure, once */
	wg_fake_fail_next(b, -EIO);
	peer_init(&p, KEY1, "192.0.2.9:1", 7, NULL, NULL);
	CHECK_INT(b->set_peer(b, &p), -EIO);
	CHECK_INT(b->get(b, &d), 0);
	q = find(&d, KEY1);
	CHECK(q && q->keepalive_s == 0 && strcmp(endpoint_text(q), "192.0.2.1:51820") == 0);
	q = find(&d, KEY2);
	CHECK(q && q->nallowed == 2);
	wg_device_free(&d);
	wg_fake_fail_next(b, -EIO);
	CHECK_INT(b->get(b, &d), -EIO);
	CHECK(d.peers == NULL && d.npeers == 0);

	/* what a handshake would teach */
	CHECK_INT(wg_endpoint_parse("198.51.100.7:4000", &ep), 0);
	key_of(p.key, KEY1);
	CHECK_INT(wg_fake_observe(b, p.key, &ep, 1700000000, 10, 20), 0);
	CHECK_INT(b->get(b, &d), 0);
	q = find(&d, KEY1);
	CHECK(q && q->last_handshake_s == 1700000000u && q->rx_bytes == 10 && q->tx_bytes == 20);
	if (q)
		CHECK_STR(endpoint_text(q), "198.51.100.7:4000");
	/* get hands out a copy */
	if (q)
		q->keepalive_s = 999;
	wg_device_free(&d);
	CHECK_INT(b->get(b, &d), 0);
	q = find(&d, KEY1);
	CHECK(q && q->keepalive_s == 0);
	wg_device_free(&d);
	CHECK_INT(wg_fake_observe(b, pub, NULL, 1, 1, 1), -ENOENT);
	CHECK_INT(wg_fake_observe(&other, pub, NULL, 1, 1, 1), -EINVAL);
	wg_fake_fail_next(&other, -EIO);        /* not a fake: no effect */

	/* remove: unknown keys are fine */
	CHECK_INT(b->remove_peer(b, pub), 0);
	key_of(p.key, KEY1);
	CHECK_INT(b->remove_peer(b, p.key), 0);
	CHECK_INT(b->remove_peer(b, p.key), 0);
	CHECK_INT(b->get(b, &d), 0);
	CHECK_INT(d.npeers, 1);
	CHECK(find(&d, KEY1) == NULL && find(&d, KEY2) != NULL);
	wg_device_free(&d);

	/* a new private key whose public key is a peer's: that peer goes */
	uint8_t priv2[WG_KEY_LEN], pub2[WG_KEY_LEN];
	char pub2hex[65];
	key_of(priv2, KEY1);
	x25519_public(priv2, pub2);
	wg_key_to_hex(pub2, pub2hex);
	peer_init(&p, pub2hex, NULL, 0, NULL, NULL);
	CHECK_INT(b->set_peer(b, &p), 0);
	CHECK_INT(b->set_device(b, priv2, 0), 0);
	CHECK_INT(b->get(b, &d), 0);
	CHECK_INT(d.npeers, 1);
	CHECK(find(&d, pub2hex) == NULL);
	CHECK_MEM(d.public_key, pub2, WG_KEY_LEN);
	wg_device_free(&d);

	/* an all-zero private key clears the identity */
	CHECK_INT(b->set_device(b, zero, 0), 0);
	CHECK_INT(b->get(b, &d), 0);
	CHECK(!d.has_private_key);
	CHECK(wg_key_is_zero(d.public_key));
	CHECK_INT(d.listen_port, 51820);
	wg_device_free(&d);

	/* many peers in and out (the peer array's growth and shrink) */
	int r = 0;
	for (unsigned i = 0; i < 300 && r == 0; i++) {
		char hex[65], cidr[32];
		memset(&p, 0, sizeof p);
		p.key[0] = (uint8_t)(i >> 8);
		p.key[1] = (uint8_t)i;
		p.key[31] = 0x55;
		wg_key_to_hex(p.key, hex);
		snprintf(cidr, sizeof cidr, "10.%u.%u.0/24", i >> 8, i & 255);
		peer_init(&p, hex, NULL, 0, cidr, NULL);
		r = b->set_peer(b, &p);
		if (r == 0 && i % 3 == 0)
			r = b->remove_peer(b, p.key);
	}
	CHECK_INT(r, 0);
	CHECK_INT(b->get(b, &d), 0);
	CHECK_INT(d.npeers, 1 + 200);
	wg_device_free(&d);
	b->free(b);
}

int main(void)
{
	if (crypto_init() < 0) {
		fprintf(stderr, "crypto_init failed\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	test_ifname();
	test_key_hex();
	test_cidr();
	test_endpoint();
	test_peer_check();
	test_device_alloc();
	test_uapi_requests();
	test_uapi_parse_get();
	test_uapi_parse_errors();
	test_uapi_parse_bounds();
	test_uapi_io();
	test_nl_messages();
	test_nl_parse_get();
	test_nl_parse_malformed();
	test_nl_roundtrip();
	test_nl_family_ack();
	test_nl_new();
	test_fake();
	return check_exit();
}
