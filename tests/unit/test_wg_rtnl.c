/* rtnetlink for the WireGuard interface (src/wg/rtnl.c) and the choice of
 * backend (src/wg/iface.c), without the kernel module:
 *   - address text (host bits kept), every message byte for byte;
 *   - answers recorded from a kernel (Linux 6.18, in a network namespace:
 *     the ack of RTM_NEWLINK, -EOPNOTSUPP for kind "wireguard" without the
 *     module, -EEXIST, -ENODEV, the generic netlink family "wireguard"
 *     unknown, a link dump of lo, a wireguard-go tun and a bridge in
 *     tests/unit/data/rtnl-dump.hex), and handcrafted NLMSG_ERRORs with
 *     each errno the code handles; the dump split into datagrams, every
 *     truncation and a byte-flip sweep;
 *   - the socket path for real, as root, in a network namespace of a
 *     child process (unshare): a bridge made, found, addressed, brought
 *     up and deleted; kind "wireguard" refused as this kernel refuses it;
 *     wg_iface_open with neither the module nor wireguard-go in PATH
 *     failing with the one sentence that names both. */
#define _GNU_SOURCE     /* unshare */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "tests/check.h"
#include "src/wg/wg_int.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (const char *p = hex; *p; p++) {
		int v;
		if (*p == '#') {                 /* a comment to the end of the line */
			while (p[1] && p[1] != '\n')
				p++;
			continue;
		}
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else if (n < cap) {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

/* ---- recorded answers (NETLINK_CAP_ACK on: the request's header only) ---- */

/* RTM_NEWLINK mnwg0 kind wireguard, seq 1: "Unknown device type" */
static const char REC_WG_EOPNOTSUPP[] =
	"240000000200000101000000ad410000a1ffffff40000000100005060100000000000000";
/* RTM_NEWLINK mnbr0 kind bridge, seq 2: ack */
static const char REC_BRIDGE_ACK[] =
	"240000000200000102000000ad410000000000003c000000100005060200000000000000";
/* the same again, seq 3: -EEXIST */
static const char REC_BRIDGE_EEXIST[] =
	"240000000200000103000000ad410000efffffff3c000000100005060300000000000000";
/* RTM_DELLINK index 9999, seq 5: -ENODEV */
static const char REC_DEL_ENODEV[] =
	"240000000200000105000000ad410000edffffff20000000110005000500000000000000";
/* CTRL_CMD_GETFAMILY "wireguard", seq 6 (no CAP_ACK: the request echoed): -ENOENT */
static const char REC_GENL_ENOENT[] =
	"380000000200000006000000ad410000feffffff24000000100001000600000000000000"
	"030100000e000200776972656775617264000000";

static void test_ifaddr(void)
{
	struct wg_ifaddr a;
	static const uint8_t v4[4] = { 10, 42, 0, 7 };

	CHECK_INT(wg_ifaddr_parse("10.42.0.7/16", &a), 0);
	CHECK_INT(a.family, AF_INET);
	CHECK_MEM(a.addr, v4, 4);                /* host bits kept */
	CHECK_INT(a.prefix, 16);
	CHECK_INT(wg_ifaddr_parse("10.42.0.7", &a), 0);
	CHECK_INT(a.prefix, 32);
	CHECK_INT(wg_ifaddr_parse("fd42::2/64", &a), 0);
	CHECK_INT(a.family, AF_INET6);
	CHECK_INT(a.prefix, 64);
	CHECK_INT(a.addr[15], 2);
	CHECK_INT(wg_ifaddr_parse("fd42::2", &a), 0);
	CHECK_INT(a.prefix, 128);
	static const char *bad[] = { "", "10.42.0.7/", "10.42.0.7/0", "10.42.0.7/33", "fd42::/129",
		"10.42.0.7/1x", "10.42.0.7/0016", "host/16", "10.42.0.7 /16", "10.42.0.7/-1", NULL };
	for (size_t i = 0; bad[i]; i++) {
		int r = wg_ifaddr_parse(bad[i], &a);
		if (r != -EINVAL)
			fprintf(stderr, "wg_ifaddr_parse(\"%s\") accepted\n", bad[i]);
		CHECK_INT(r, -EINVAL);
		CHECK_INT(a.family, 0);
	}
	CHECK_INT(wg_ifaddr_parse(NULL, &a), -EINVAL);
}

static void check_bytes(const uint8_t *got, int n, const char *hex)
{
	uint8_t want[512];
	size_t wn = unhex(hex, want, sizeof want);

	CHECK_INT(n, (int)wn);
	if (n == (int)wn && memcmp(got, want, wn) != 0) {
		fprintf(stderr, "got  ");
		for (int i = 0; i < n; i++)
			fprintf(stderr, "%02x", got[i]);
		fprintf(stderr, "\nwant %s\n", hex);
		CHECK(0);
	}
}

static void test_messages(void)
{
	uint8_t buf[256];
	struct wg_ifaddr a;
	int n;

	/* what `ip link add mnbr0 type bridge` sends, and what the kernel
	 * echoed in REC_BRIDGE_ACK: length 0x3c, type 16, flags 0x605 */
	n = wg_rtnl_msg_new_link(buf, sizeof buf, 2, "mnbr0", "bridge");
	check_bytes(buf, n,
		"3c000000 1000 0506 02000000 00000000"          /* nlmsghdr */
		"00 00 0000 00000000 00000000 00000000"          /* ifinfomsg */
		"0a00 0300 6d6e627230 00 0000"                   /* IFLA_IFNAME */
		"1000 1280 0b00 0100 627269646765 00 00");       /* IFLA_LINKINFO { KIND } */
	uint8_t rec[64];
	size_t rn = unhex(REC_BRIDGE_ACK, rec, sizeof rec);
	CHECK(rn == 36 && memcmp(rec + 20, buf, 16) == 0);
	n = wg_rtnl_msg_new_link(buf, sizeof buf, 7, "mirrornet", "wireguard");
	check_bytes(buf, n,
		"44000000 1000 0506 07000000 00000000"
		"00 00 0000 00000000 00000000 00000000"
		"0e00 0300 6d6972726f726e6574 00 0000"
		"1400 1280 0e00 0100 776972656775617264 00 0000");
	n = wg_rtnl_msg_del_link(buf, sizeof buf, 5, 9999);
	check_bytes(buf, n, "20000000 1100 0500 05000000 00000000 00 00 0000 0f270000 00000000 00000000");
	uint8_t rec2[64];
	rn = unhex(REC_DEL_ENODEV, rec2, sizeof rec2);
	CHECK(rn == 36 && memcmp(rec2 + 20, buf, 16) == 0);
	n = wg_rtnl_msg_get_links(buf, sizeof buf, 4);
	check_bytes(buf, n, "20000000 1200 0103 04000000 00000000 00 00 0000 00000000 00000000 00000000");
	n = wg_rtnl_msg_set_up(buf, sizeof buf, 9, 3, true);
	check_bytes(buf, n, "20000000 1000 0500 09000000 00000000 00 00 0000 03000000 01000000 01000000");
	n = wg_rtnl_msg_set_up(buf, sizeof buf, 9, 3, false);
	check_bytes(buf, n, "20000000 1000 0500 09000000 00000000 00 00 0000 03000000 00000000 01000000");
	CHECK_INT(wg_ifaddr_parse("10.42.0.7/16", &a), 0);
	n = wg_rtnl_msg_addr(buf, sizeof buf, 11, true, 3, &a);
	check_bytes(buf, n,
		"28000000 1400 0505 0b000000 00000000"           /* RTM_NEWADDR, CREATE|REPLACE */
		"02 10 00 00 03000000"                           /* ifaddrmsg */
		"0800 0200 0a2a0007 0800 0100 0a2a0007");        /* IFA_LOCAL, IFA_ADDRESS */
	n = wg_rtnl_msg_addr(buf, sizeof buf, 12, false, 3, &a);
	check_bytes(buf, n,
		"28000000 1500 0500 0c000000 00000000 02 10 00 00 03000000"
		"0800 0200 0a2a0007 0800 0100 0a2a0007");
	CHECK_INT(wg_ifaddr_parse("fd42::2/64", &a), 0);
	n = wg_rtnl_msg_addr(buf, sizeof buf, 13, true, 4, &a);
	CHECK_INT(n, 16 + 8 + 2 * 20);
	/* refused before anything is written */
	CHECK_INT(wg_rtnl_msg_new_link(buf, sizeof buf, 1, "bad/name", "wireguard"), -EINVAL);
	CHECK_INT(wg_rtnl_msg_new_link(buf, sizeof buf, 1, "wg0", ""), -EINVAL);
	CHECK_INT(wg_rtnl_msg_new_link(buf, sizeof buf, 1, "wg0", "a-kind-far-too-long"), -EINVAL);
	CHECK_INT(wg_rtnl_msg_del_link(buf, sizeof buf, 1, 0), -EINVAL);
	CHECK_INT(wg_rtnl_msg_set_up(buf, sizeof buf, 1, -1, true), -EINVAL);
	struct wg_ifaddr z = { 0 };
	CHECK_INT(wg_rtnl_msg_addr(buf, sizeof buf, 1, true, 3, &z), -EINVAL);
	/* too small a buffer: -EMSGSIZE, never a partial message */
	int bad = 0;
	for (size_t cap = 0; cap < 0x44; cap++)
		bad += wg_rtnl_msg_new_link(buf, cap, 7, "mirrornet", "wireguard") != -EMSGSIZE;
	CHECK_INT(bad, 0);
	CHECK_INT(wg_rtnl_msg_new_link(buf, 0x44, 7, "mirrornet", "wireguard"), 0x44);
}

static int ack(const char *hex, uint32_t seq)
{
	uint8_t b[128];
	size_t n = unhex(hex, b, sizeof b);

	return wg_nl_walk(b, n, seq, true, NULL, NULL);
}

/* An NLMSG_ERROR as the kernel sends it with NETLINK_CAP_ACK: the error,
 * then our request's header (flags NLM_F_CAPPED). */
static size_t nlerr(uint8_t *b, uint32_t seq, int32_t e)
{
	struct nlmsghdr h = { 36, NLMSG_ERROR, 0x100, seq, 4242 };
	struct nlmsghdr req = { 0x3c, RTM_NEWLINK, 0x605, seq, 0 };

	memcpy(b, &h, 16);
	memcpy(b + 16, &e, 4);
	memcpy(b + 20, &req, 16);
	return 36;
}

static void test_answers(void)
{
	uint8_t b[256];
	uint16_t id = 7;

	CHECK_INT(ack(REC_BRIDGE_ACK, 2), 1);
	CHECK_INT(ack(REC_WG_EOPNOTSUPP, 1), -EOPNOTSUPP);
	CHECK_INT(ack(REC_BRIDGE_EEXIST, 3), -EEXIST);
	CHECK_INT(ack(REC_DEL_ENODEV, 5), -ENODEV);
	CHECK_INT(ack(REC_BRIDGE_ACK, 3), 0);            /* another request's: skipped */
	size_t n = unhex(REC_GENL_ENOENT, b, sizeof b);
	CHECK_INT(wg_nl_parse_family(b, n, 6, &id), -ENOENT);
	/* each errno the code tells apart comes back as it is */
	static const int errs[] = { EPERM, ENOENT, EOPNOTSUPP, ENODEV, EEXIST, EBUSY, EINVAL,
		ENOBUFS, EAFNOSUPPORT, EADDRNOTAVAIL, ENOMEM, EMSGSIZE };
	for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
		n = nlerr(b, 40, -errs[i]);
		CHECK_INT(wg_nl_walk(b, n, 40, true, NULL, NULL), -errs[i]);
		struct wg_link l = { 0 };
		CHECK_INT(wg_rtnl_parse_links(b, n, 40, "x", &l), -errs[i]);
	}
	n = nlerr(b, 40, 0);
	CHECK_INT(wg_nl_walk(b, n, 40, true, NULL, NULL), 1);
	/* not an errno: positive, past -4095, cut short */
	n = nlerr(b, 40, 5);
	CHECK_INT(wg_nl_walk(b, n, 40, true, NULL, NULL), -EBADMSG);
	n = nlerr(b, 40, -5000);
	CHECK_INT(wg_nl_walk(b, n, 40, true, NULL, NULL), -EBADMSG);
	struct nlmsghdr h = { 18, NLMSG_ERROR, 0, 40, 0 };
	memcpy(b, &h, 16);
	CHECK_INT(wg_nl_walk(b, 18, 40, true, NULL, NULL), -EBADMSG);
	/* a stale error, then ours */
	n = nlerr(b, 39, -EPERM);
	n += nlerr(b + n, 40, 0);
	CHECK_INT(wg_nl_walk(b, n, 40, true, NULL, NULL), 1);
}

static uint8_t dump[8192];
static size_t dump_len;

static void load_dump(void)
{
	const char *src = getenv("MN_SOURCE");
	char path[512];
	char *text;

	snprintf(path, sizeof path, "%s/tests/unit/data/rtnl-dump.hex", src ? src : ".");
	text = check_slurp(path);
	CHECK(text != NULL);
	if (!text)
		return;
	dump_len = unhex(text, dump, sizeof dump);
	free(text);
	CHECK_INT(dump_len, 4880);
}

static void test_dump(void)
{
	struct wg_link l;

	if (!dump_len)
		return;
	memset(&l, 0, sizeof l);
	CHECK_INT(wg_rtnl_parse_links(dump, dump_len, 4, "mnrecwg0", &l), 1);
	CHECK_INT(l.ifindex, 2);
	CHECK_STR(l.kind, "tun");
	CHECK_INT(l.flags, IFF_POINTOPOINT | IFF_NOARP | IFF_MULTICAST);   /* not up yet */
	memset(&l, 0, sizeof l);
	CHECK_INT(wg_rtnl_parse_links(dump, dump_len, 4, "mnbr0", &l), 1);
	CHECK_INT(l.ifindex, 3);
	CHECK_STR(l.kind, "bridge");
	CHECK(!(l.flags & IFF_UP));
	memset(&l, 0, sizeof l);
	CHECK_INT(wg_rtnl_parse_links(dump, dump_len, 4, "lo", &l), 1);
	CHECK_INT(l.ifindex, 1);
	CHECK_STR(l.kind, "");
	memset(&l, 0, sizeof l);
	CHECK_INT(wg_rtnl_parse_links(dump, dump_len, 4, "mirrornet", &l), 1);
	CHECK_INT(l.ifindex, 0);                 /* not there */
	CHECK_INT(wg_rtnl_parse_links(dump, dump_len, 3, "lo", &l), 0);   /* not ours */
	/* the same dump in two datagrams, split after the first message */
	uint32_t first;
	memcpy(&first, dump, 4);
	first = NLMSG_ALIGN(first);
	memset(&l, 0, sizeof l);
	CHECK_INT(wg_rtnl_parse_links(dump, first, 4, "mnbr0", &l), 0);   /* more due */
	CHECK_INT(wg_rtnl_parse_links(dump + first, dump_len - first, 4, "mnbr0", &l), 1);
	CHECK_INT(l.ifindex, 3);
	/* interrupted by a change: asked again */
	uint8_t *copy = malloc(dump_len);
	memcpy(copy, dump, dump_len);
	uint16_t fl;
	memcpy(&fl, copy + 6, 2);
	fl |= NLM_F_DUMP_INTR;
	memcpy(copy + 6, &fl, 2);
	CHECK_INT(wg_rtnl_parse_links(copy, dump_len, 4, "lo", &l), -EAGAIN);
	/* every truncation: never past the end (ASan), never a link named
	 * wrongly */
	int bad = 0;
	for (size_t cut = 0; cut < dump_len; cut++) {
		memset(&l, 0, sizeof l);
		int r = wg_rtnl_parse_links(dump, cut, 4, "mnbr0", &l);
		if (!(r == 0 || r == -EBADMSG) || (l.ifindex && l.ifindex != 3))
			bad++;
	}
	CHECK_INT(bad, 0);
	/* a byte-flip sweep: never past the end (ASan), an answer in range */
	bad = 0;
	for (size_t i = 0; i < dump_len; i++) {
		memcpy(copy, dump, dump_len);
		copy[i] ^= 0xff;
		memset(&l, 0, sizeof l);
		int r = wg_rtnl_parse_links(copy, dump_len, 4, "mnbr0", &l);
		bad += r > 1 || r < -4095;
	}
	CHECK_INT(bad, 0);
	free(copy);
}

/* Handcrafted links: a name without its NUL, a kind too long, no index. */
static void test_malformed(void)
{
	uint8_t b[128];
	struct wg_link l;
	struct nlmsghdr h = { 0, RTM_NEWLINK, NLM_F_MULTI, 8, 0 };
	struct ifinfomsg ifi = { .ifi_index = 5 };
	size_t n;

	/* IFLA_IFNAME "wg0" with no NUL */
	memset(b, 0, sizeof b);
	n = 16;
	memcpy(b + n, &ifi, sizeof ifi);
	n += sizeof ifi;
	uint16_t al = 7, at = IFLA_IFNAME;
	memcpy(b + n, &al, 2);
	memcpy(b + n + 2, &at, 2);
	memcpy(b + n + 4, "wg0", 3);
	n += 8;
	h.nlmsg_len = (uint32_t)n;
	memcpy(b, &h, 16);
	memset(&l, 0, sizeof l);
	CHECK_INT(wg_rtnl_parse_links(b, n, 8, "wg0", &l), -EBADMSG);
	/* a kind of 16 characters (no room for its NUL here) */
	n = 16 + sizeof ifi;
	uint16_t nl = 4 + 4 + 17, nt = IFLA_LINKINFO | NLA_F_NESTED, kl = 4 + 17, kt = IFLA_INFO_KIND;
	memcpy(b + n, &nl, 2);
	memcpy(b + n + 2, &nt, 2);
	memcpy(b + n + 4, &kl, 2);
	memcpy(b + n + 6, &kt, 2);
	memcpy(b + n + 8, "abcdefghijklmnop", 17);
	n += NLA_ALIGN(nl);
	h.nlmsg_len = (uint32_t)n;
	memcpy(b, &h, 16);
	CHECK_INT(wg_rtnl_parse_links(b, n, 8, "wg0", &l), -EBADMSG);
	/* index 0 */
	ifi.ifi_index = 0;
	memcpy(b + 16, &ifi, sizeof ifi);
	h.nlmsg_len = 16 + sizeof ifi;
	memcpy(b, &h, 16);
	CHECK_INT(wg_rtnl_parse_links(b, h.nlmsg_len, 8, "wg0", &l), -EBADMSG);
	/* not RTM_NEWLINK; too short for an ifinfomsg */
	h.nlmsg_type = RTM_NEWADDR;
	memcpy(b, &h, 16);
	CHECK_INT(wg_rtnl_parse_links(b, h.nlmsg_len, 8, "wg0", &l), -EBADMSG);
	h.nlmsg_type = RTM_NEWLINK;
	h.nlmsg_len = 20;
	memcpy(b, &h, 16);
	CHECK_INT(wg_rtnl_parse_links(b, 20, 8, "wg0", &l), -EBADMSG);
}

/* ---- for real, in a network namespace of our own (root only) ---- */

static void in_netns(void)
{
	struct wg_link l;
	struct wg_ifaddr a;
	char err[512];
	int r;

	CHECK_INT(wg_link_find("lo", &l), 0);
	CHECK_INT(l.ifindex, 1);
	CHECK_INT(wg_link_find("mnt-br0", &l), -ENODEV);
	CHECK_INT(wg_link_create("mnt-br0", "bridge"), 0);
	CHECK_INT(wg_link_create("mnt-br0", "bridge"), -EEXIST);
	CHECK_INT(wg_link_find("mnt-br0", &l), 0);
	CHECK_STR(l.kind, "bridge");
	CHECK(!(l.flags & IFF_UP));
	CHECK_INT(wg_if_set_addr("mnt-br0", "10.42.0.7/16", err, sizeof err), 0);
	CHECK_INT(wg_if_set_addr("mnt-br0", "10.42.0.7/16", err, sizeof err), 0);   /* replace */
	CHECK_INT(wg_link_find("mnt-br0", &l), 0);
	CHECK(l.flags & IFF_UP);
	CHECK_INT(wg_ifaddr_parse("fd42::7/64", &a), 0);
	CHECK_INT(wg_link_addr(l.ifindex, true, &a), 0);
	CHECK_INT(wg_if_del_addr("mnt-br0", "10.42.0.7/16", err, sizeof err), 0);
	CHECK_INT(wg_if_del_addr("mnt-br0", "10.42.0.7/16", err, sizeof err), -EADDRNOTAVAIL);
	CHECK_INT(wg_if_set_addr("no-such-if", "10.42.0.7/16", err, sizeof err), -ENODEV);
	CHECK_STR(err, "no interface no-such-if");
	CHECK_INT(wg_link_delete(l.ifindex), 0);
	CHECK_INT(wg_link_delete(l.ifindex), -ENODEV);
	CHECK_INT(wg_link_find("mnt-br0", &l), -ENODEV);
	/* the kernel's WireGuard, if this kernel has it */
	r = wg_link_create("mnt-wg0", "wireguard");
	printf("RTM_NEWLINK kind wireguard here: %s\n", r ? strerror(-r) : "made");
	if (r == 0) {
		CHECK_INT(wg_link_find("mnt-wg0", &l), 0);
		CHECK_STR(l.kind, "wireguard");
		CHECK_INT(wg_netlink_available(), 0);
		struct wg_iface *w = wg_iface_open("mnt-wg0", WG_MODE_AUTO, err, sizeof err);
		CHECK(w && !wg_iface_created(w) && wg_iface_impl(w) == WG_IMPL_KERNEL);
		wg_iface_close(w);
		CHECK_INT(wg_link_find("mnt-wg0", &l), 0);   /* left: it was there */
		CHECK_INT(wg_link_delete(l.ifindex), 0);
		w = wg_iface_open("mnt-wg1", WG_MODE_AUTO, err, sizeof err);
		CHECK(w && wg_iface_created(w) && wg_iface_impl(w) == WG_IMPL_KERNEL);
		wg_iface_close(w);
		CHECK_INT(wg_link_find("mnt-wg1", &l), -ENODEV);   /* made here: removed */
		return;
	}
	CHECK_INT(r, -EOPNOTSUPP);
	CHECK(wg_netlink_available() < 0);
	/* no module and no wireguard-go: the sentence */
	setenv("PATH", "/nonexistent", 1);
	struct wg_iface *w = wg_iface_open("mnt-wg0", WG_MODE_AUTO, err, sizeof err);
	CHECK(w == NULL);
	CHECK_STR(err, "cannot create it: this kernel has no WireGuard module and wireguard-go "
	          "is not installed (install kmod-wireguard, or wireguard-go)");
	CHECK(wg_iface_open("mnt-wg0", WG_MODE_KERNEL, err, sizeof err) == NULL);
	CHECK_STR(err, "cannot create it: the kernel has no WireGuard module (install kmod-wireguard)");
	CHECK(wg_iface_open("mnt-wg0", WG_MODE_USERSPACE, err, sizeof err) == NULL);
	CHECK_STR(err, "cannot create it: wireguard-go is not installed (not in PATH)");
	/* another link by that name: refused, left alone */
	CHECK_INT(wg_link_create("mnt-br1", "bridge"), 0);
	CHECK(wg_iface_open("mnt-br1", WG_MODE_AUTO, err, sizeof err) == NULL);
	CHECK_STR(err, "exists and is not WireGuard (kind 'bridge', no wireguard-go socket): "
	          "pick another wg_interface");
	CHECK_INT(wg_link_find("mnt-br1", &l), 0);
	CHECK(wg_iface_open("bad/name", WG_MODE_AUTO, err, sizeof err) == NULL);
}

static void test_netns(void)
{
	int fds[2], st;
	pid_t pid;

	if (geteuid() != 0) {
		printf("not root: the rtnetlink socket tests skipped\n");
		return;
	}
	if (pipe(fds) < 0)
		return;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		if (unshare(CLONE_NEWNET) < 0) {
			printf("unshare(CLONE_NEWNET): %s: the rtnetlink socket tests skipped\n",
			       strerror(errno));
			_exit(0);
		}
		in_netns();
		int counts[2] = { check_pass, check_fail };
		if (write(fds[1], counts, sizeof counts) != (ssize_t)sizeof counts)
			_exit(2);
		fflush(stdout);
		_exit(0);
	}
	close(fds[1]);
	int counts[2] = { 0, 0 };
	ssize_t n = read(fds[0], counts, sizeof counts);
	close(fds[0]);
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	if (n == (ssize_t)sizeof counts) {
		check_pass = counts[0];          /* the child's include ours so far */
		check_fail = counts[1];
	}
}

int main(void)
{
	test_ifaddr();
	test_messages();
	test_answers();
	load_dump();
	test_dump();
	test_malformed();
	test_netns();
	return check_exit();
}
