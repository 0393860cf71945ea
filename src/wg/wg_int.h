/* WireGuard backend internals shared by the src/wg/ sources and tests/unit/test_wg.c.
 * Not for the daemon: it uses wg.h only.
 *
 * Everything here is pure (no I/O): the text helpers (device.c), the UAPI
 * request formatting and reply parsing (uapi.c), the generic netlink
 * message building and reply parsing (netlink.c). The backends' I/O is a
 * thin layer over these, so the protocol code is unit-tested without a
 * socket, a kernel module or wireguard-go.
 *
 * Errors are negative errno, as in wg.h. Parsers of what WireGuard sends
 * return -EBADMSG for anything malformed, -E2BIG past a bound; they never
 * crash and never read outside (buf, len). */
#ifndef MN_WG_INT_H
#define MN_WG_INT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "src/wg/wg.h"

/* The kernel's generic netlink ABI (include/uapi/linux/wireguard.h, since
 * Linux 5.6; Debian's linux-libc-dev has it). A toolchain whose kernel
 * headers predate it (a backported module) gets the same constants here;
 * MN_WG_OWN_UAPI forces them, to check that they build and agree. */
#if defined(__has_include) && !defined(MN_WG_OWN_UAPI)
#if __has_include(<linux/wireguard.h>)
#include <linux/wireguard.h>
#define MN_WG_HAVE_UAPI_H 1
#endif
#endif
#ifndef MN_WG_HAVE_UAPI_H
#define WG_GENL_NAME "wireguard"
#define WG_GENL_VERSION 1
enum wg_cmd { WG_CMD_GET_DEVICE, WG_CMD_SET_DEVICE };
enum wgdevice_flag { WGDEVICE_F_REPLACE_PEERS = 1U << 0 };
enum wgdevice_attribute {
	WGDEVICE_A_UNSPEC, WGDEVICE_A_IFINDEX, WGDEVICE_A_IFNAME, WGDEVICE_A_PRIVATE_KEY,
	WGDEVICE_A_PUBLIC_KEY, WGDEVICE_A_FLAGS, WGDEVICE_A_LISTEN_PORT, WGDEVICE_A_FWMARK,
	WGDEVICE_A_PEERS,
};
enum wgpeer_flag {
	WGPEER_F_REMOVE_ME = 1U << 0, WGPEER_F_REPLACE_ALLOWEDIPS = 1U << 1,
	WGPEER_F_UPDATE_ONLY = 1U << 2,
};
enum wgpeer_attribute {
	WGPEER_A_UNSPEC, WGPEER_A_PUBLIC_KEY, WGPEER_A_PRESHARED_KEY, WGPEER_A_FLAGS,
	WGPEER_A_ENDPOINT, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, WGPEER_A_LAST_HANDSHAKE_TIME,
	WGPEER_A_RX_BYTES, WGPEER_A_TX_BYTES, WGPEER_A_ALLOWEDIPS, WGPEER_A_PROTOCOL_VERSION,
};
enum wgallowedip_attribute {
	WGALLOWEDIP_A_UNSPEC, WGALLOWEDIP_A_FAMILY, WGALLOWEDIP_A_IPADDR, WGALLOWEDIP_A_CIDR_MASK,
};
#endif

#define WG_MAX_PEERS 4096          /* a get with more peers fails, -E2BIG */
#define WG_IFNAME_MAX 15           /* IFNAMSIZ - 1 */
#define WG_CIDR_TEXT 64            /* = sizeof wg_peer.allowed[0] */
#define WG_ENDPOINT_TEXT 80        /* "[v6%scope]:port" + NUL */

/* ---- shared helpers (device.c) ---- */

/* 1..15 characters of [A-Za-z0-9_=+.-], not "." or "..". */
bool wg_ifname_valid(const char *ifname);

/* Lower-case hex of a key, constant time (keys may be private). hex must
 * hold 65 bytes; NUL-terminated. */
void wg_key_to_hex(const uint8_t key[WG_KEY_LEN], char hex[2 * WG_KEY_LEN + 1]);
/* Exactly 64 hex digits (either case; hex need not be NUL-terminated, len
 * is its length) → key. Constant time in the digits. 0 or -EINVAL; on
 * error key is zeroed. */
int wg_key_from_hex(uint8_t key[WG_KEY_LEN], const char *hex, size_t len);
bool wg_key_is_zero(const uint8_t key[WG_KEY_LEN]);

/* An allowed IP in binary: family AF_INET/AF_INET6, address with the host
 * bits cleared (as WireGuard stores it), prefix length. */
struct wg_cidr {
	int family;
	uint8_t addr[16];
	uint8_t prefix;
};
/* "10.42.0.2/32", "fd42::/64"; a bare address means a host route (as in
 * wg(8)). Host bits are cleared ("10.42.0.9/24" → 10.42.0.0/24). 0 or
 * -EINVAL. */
int wg_cidr_parse(const char *s, struct wg_cidr *c);
/* Canonical text ("10.42.0.0/24"). 0, -EINVAL (bad family or prefix) or
 * -ENOSPC. */
int wg_cidr_format(const struct wg_cidr *c, char *out, size_t cap);
/* Parse then format: the text WireGuard would give back. */
int wg_cidr_canon(const char *in, char out[WG_CIDR_TEXT]);

/* "192.0.2.1:51820", "[2001:db8::1]:51820", "[fe80::1%2]:51820" (scope
 * as a number or an interface name). 0 or -EINVAL; *ss is zeroed first. */
int wg_endpoint_parse(const char *s, struct sockaddr_storage *ss);
/* The same forms (a scope is written as a number). 0, -EINVAL (not
 * AF_INET/AF_INET6) or -ENOSPC. */
int wg_endpoint_format(const struct sockaddr_storage *ss, char *out, size_t cap);

/* Append a zeroed peer to d (growing d->peers). *out points into d->peers
 * (valid until the next append). 0, -E2BIG (WG_MAX_PEERS) or -ENOMEM.
 * d->peers must come from these helpers (or be NULL): they keep its
 * capacity at 4, 8, 16, ... slots for npeers. */
int wg_device_add_peer(struct wg_device *d, struct wg_peer **out);
/* Deep copy of src into *dst (overwritten). 0 or -ENOMEM (then *dst is
 * empty). */
int wg_device_copy(struct wg_device *dst, const struct wg_device *src);
/* The peer with this key, or NULL. */
struct wg_peer *wg_device_find_peer(const struct wg_device *d, const uint8_t key[WG_KEY_LEN]);

/* Check what set_peer sends, before any backend touches the device: a
 * known endpoint family, nallowed ≤ WG_MAX_ALLOWED, every allowed IP
 * parses. Fills cidrs[0..nallowed). 0 or -EINVAL. */
int wg_peer_check(const struct wg_peer *p, struct wg_cidr cidrs[WG_MAX_ALLOWED]);

/* ---- UAPI text protocol (uapi.c) ---- */

#define WG_UAPI_MAX_LINE 256            /* longest line accepted from WireGuard */
#define WG_UAPI_MAX_REPLY (8u << 20)    /* longest reply read */
#define WG_UAPI_REQ_MAX 1024            /* every request fits */

/* Each writes a complete request ("set=1\n" ... "\n") into buf (cap
 * bytes) and returns its length, or -EINVAL (bad peer, see wg_peer_check)
 * or -ENOSPC. set_device's request holds the private key: wipe buf. */
int wg_uapi_req_set_device(char *buf, size_t cap, const uint8_t priv[WG_KEY_LEN], uint16_t port);
int wg_uapi_req_set_peer(char *buf, size_t cap, const struct wg_peer *p);
int wg_uapi_req_remove_peer(char *buf, size_t cap, const uint8_t key[WG_KEY_LEN]);

/* Where the reply ends: the length up to and including the first blank
 * line, or 0 if there is none yet. */
size_t wg_uapi_reply_end(const char *buf, size_t len);
/* Parse a reply (up to its blank line). out NULL: a set reply, only the
 * errno line counts. out non-NULL: a get reply, *out is filled (call
 * wg_device_free() after success; on error *out is left empty).
 * Returns 0, the daemon's error as a negative errno ("errno=-22" or
 * "errno=22" → -EINVAL), -EBADMSG or -E2BIG. Unknown keys are ignored;
 * allowed IPs past WG_MAX_ALLOWED are dropped. */
int wg_uapi_parse_reply(const char *buf, size_t len, struct wg_device *out);

/* A UAPI backend on DIR/IFNAME.sock (tests use a temporary directory;
 * wg_uapi_new() is this with /var/run/wireguard). */
struct wg_backend *wg_uapi_new_at(const char *dir, const char *ifname, char *err, size_t errcap);

/* ---- netlink plumbing (nlmsg.c: pure; nlsock.c: the socket) ---- */

#define WG_NL_BUF 32768   /* receive buffer; also enough for any request */

/* The attribute writer: everything goes into buf[0..cap); a write that
 * does not fit marks it full, and wg_nlw_msg_end then fails. */
struct wg_nlw {
	uint8_t *buf;
	size_t cap, len;
	bool full;
};
void *wg_nlw_reserve(struct wg_nlw *w, size_t n);   /* zeroed, NLA_ALIGNed; NULL when full */
void wg_nlw_put(struct wg_nlw *w, uint16_t type, const void *data, size_t n);
void wg_nlw_u8(struct wg_nlw *w, uint16_t type, uint8_t v);
void wg_nlw_u16(struct wg_nlw *w, uint16_t type, uint16_t v);
void wg_nlw_u32(struct wg_nlw *w, uint16_t type, uint32_t v);
void wg_nlw_str(struct wg_nlw *w, uint16_t type, const char *s);   /* with its NUL */
/* A nested attribute (NLA_F_NESTED): start returns its offset for end. */
size_t wg_nlw_nest_start(struct wg_nlw *w, uint16_t type);
void wg_nlw_nest_end(struct wg_nlw *w, size_t off);
/* The nlmsghdr (pid 0) and a zeroed fixed header of `fixed` bytes after it
 * (genlmsghdr, ifinfomsg, ifaddrmsg), returned; NULL when full. */
void *wg_nlw_msg_start(struct wg_nlw *w, uint16_t type, uint16_t flags, uint32_t seq,
                       size_t fixed);
/* Set nlmsg_len: the message's length, or -EMSGSIZE (buf wiped). */
int wg_nlw_msg_end(struct wg_nlw *w);

/* Attributes in [p, p + left): wg_nla_next gives 1 and the next one (type
 * without its flags, payload bounded), 0 at the end, -EBADMSG if one
 * overruns. */
struct wg_nla_iter {
	const uint8_t *p;
	size_t left;
};
int wg_nla_next(struct wg_nla_iter *it, uint16_t *type, const uint8_t **data, size_t *len);

/* Walk the messages of one datagram answering seq (others are skipped:
 * late answers to an earlier request): data messages go to fn; returns 1
 * at NLMSG_DONE or when fn returns 1, an NLMSG_ERROR's error (an ack ends
 * with 1 if want_ack, else is skipped), -EAGAIN for a dump interrupted by
 * a change (NLM_F_DUMP_INTR), -EBADMSG, or 0 at the datagram's end. */
struct nlmsghdr;
typedef int wg_nl_msg_fn(const struct nlmsghdr *h, const uint8_t *payload, size_t plen, void *ctx);
int wg_nl_walk(const uint8_t *buf, size_t len, uint32_t seq, bool want_ack, wg_nl_msg_fn *fn,
               void *ctx);

/* A netlink socket (NETLINK_GENERIC, NETLINK_ROUTE) bound to the kernel,
 * 2 s timeouts. Build a request in buf with seq = ++seq, then
 * wg_nlsock_call(s, its length or a negative errno, parse, ctx): the
 * request is sent and wiped, then each datagram from the kernel goes to
 * parse (with s->seq) until it returns nonzero; the datagram is wiped
 * after. Returns 0 (parse said 1), parse's negative errno, or the socket's
 * (-ETIMEDOUT, -EMSGSIZE for a datagram larger than buf). */
struct wg_nlsock {
	int fd;
	uint32_t seq;
	uint8_t buf[WG_NL_BUF];
};
typedef int wg_nl_parse_fn(const uint8_t *buf, size_t len, uint32_t seq, void *ctx);
int wg_nlsock_open(struct wg_nlsock *s, int protocol);   /* 0 or -errno (fd -1) */
int wg_nlsock_call(struct wg_nlsock *s, int len, wg_nl_parse_fn *parse, void *ctx);
void wg_nlsock_close(struct wg_nlsock *s);               /* closes, wipes buf */

/* ---- generic netlink (netlink.c) ---- */

/* Each writes one complete netlink message and returns its length, or
 * -EINVAL (bad ifname or peer) / -EMSGSIZE. seq goes into nlmsg_seq;
 * family is the resolved "wireguard" generic netlink id. set_device's
 * message holds the private key: wipe buf. */
int wg_nl_msg_get_family(uint8_t *buf, size_t cap, uint32_t seq);
int wg_nl_msg_set_device(uint8_t *buf, size_t cap, uint16_t family, uint32_t seq,
                         const char *ifname, const uint8_t priv[WG_KEY_LEN], uint16_t port);
int wg_nl_msg_set_peer(uint8_t *buf, size_t cap, uint16_t family, uint32_t seq,
                       const char *ifname, const struct wg_peer *p);
int wg_nl_msg_remove_peer(uint8_t *buf, size_t cap, uint16_t family, uint32_t seq,
                          const char *ifname, const uint8_t key[WG_KEY_LEN]);
int wg_nl_msg_get_device(uint8_t *buf, size_t cap, uint16_t family, uint32_t seq,
                         const char *ifname);

/* Reply parsers: buf is one received datagram (one or more netlink
 * messages); messages with another seq are skipped (late answers to an
 * earlier, timed-out request). Each returns 1 when the exchange is
 * complete, 0 when more datagrams are due, or a negative errno: the
 * kernel's (NLMSG_ERROR) or -EBADMSG. */
/* The reply to wg_nl_msg_get_family: *id. */
int wg_nl_parse_family(const uint8_t *buf, size_t len, uint32_t seq, uint16_t *id);
/* An acknowledgement (NLMSG_ERROR with error 0). */
int wg_nl_parse_ack(const uint8_t *buf, size_t len, uint32_t seq);
/* The dump answering wg_nl_msg_get_device, accumulated into *acc (start
 * from a zeroed struct; several datagrams; a peer split across messages is
 * merged back). On error the caller frees *acc. -E2BIG past WG_MAX_PEERS;
 * -EAGAIN when the kernel flags the dump as interrupted by a change. */
int wg_nl_parse_get(const uint8_t *buf, size_t len, uint16_t family, uint32_t seq,
                    struct wg_device *acc);

/* 0 when the kernel knows the "wireguard" generic netlink family (the
 * module is loaded or loads on demand), else the error of resolving it
 * (-ENOENT: no module). */
int wg_netlink_available(void);

/* ---- rtnetlink (rtnl.c) ---- */

#define WG_LINK_KIND_MAX 16

/* An address for an interface: unlike wg_cidr, the host bits are kept
 * ("10.42.0.7/16"); a bare address means the host prefix. Prefix 1..32 or
 * 1..128. 0 or -EINVAL (*a zeroed). */
struct wg_ifaddr {
	int family;
	uint8_t addr[16];
	uint8_t prefix;
};
int wg_ifaddr_parse(const char *s, struct wg_ifaddr *a);

/* Each writes one complete message and returns its length, or -EINVAL /
 * -EMSGSIZE. new_link: RTM_NEWLINK with CREATE|EXCL, IFLA_IFNAME and
 * IFLA_LINKINFO { IFLA_INFO_KIND kind } (kind shorter than
 * WG_LINK_KIND_MAX); get_links: the RTM_GETLINK dump; set_up: IFF_UP on
 * the index; addr: RTM_NEWADDR (CREATE|REPLACE) or RTM_DELADDR. */
int wg_rtnl_msg_new_link(uint8_t *buf, size_t cap, uint32_t seq, const char *ifname,
                         const char *kind);
int wg_rtnl_msg_del_link(uint8_t *buf, size_t cap, uint32_t seq, int ifindex);
int wg_rtnl_msg_get_links(uint8_t *buf, size_t cap, uint32_t seq);
int wg_rtnl_msg_set_up(uint8_t *buf, size_t cap, uint32_t seq, int ifindex, bool up);
int wg_rtnl_msg_addr(uint8_t *buf, size_t cap, uint32_t seq, bool add, int ifindex,
                     const struct wg_ifaddr *a);

/* A link as the kernel describes it: kind "" when it has no IFLA_LINKINFO
 * (lo, a physical NIC); "wireguard" for the kernel's, "tun" for
 * wireguard-go's. */
struct wg_link {
	int ifindex;                        /* 0: not found */
	unsigned flags;                     /* IFF_UP, ... */
	char kind[WG_LINK_KIND_MAX];
};
/* One datagram of the answer to wg_rtnl_msg_get_links: the link named
 * ifname goes to *out (leave *out zeroed before the first datagram).
 * 1 at NLMSG_DONE, 0 when more is due, the kernel's error, -EAGAIN (dump
 * interrupted), -EBADMSG. Acks of set/create/delete/addr: wg_nl_walk with
 * want_ack (1, or the kernel's negative errno). */
int wg_rtnl_parse_links(const uint8_t *buf, size_t len, uint32_t seq, const char *ifname,
                        struct wg_link *out);

/* The I/O (one NETLINK_ROUTE socket per call, 2 s timeout). 0 or a
 * negative errno: the kernel's (-EEXIST, -EOPNOTSUPP for an unknown kind,
 * -EPERM without CAP_NET_ADMIN, -ENODEV ...) or the socket's. find gives
 * -ENODEV when no link has that name. */
int wg_link_find(const char *ifname, struct wg_link *out);
int wg_link_create(const char *ifname, const char *kind);
int wg_link_delete(int ifindex);
int wg_link_up(int ifindex);
int wg_link_addr(int ifindex, bool add, const struct wg_ifaddr *a);

/* ---- the interface's owner (iface.c) ---- */

/* The first executable NAME in $PATH (/usr/sbin:/usr/bin:/sbin:/bin when
 * unset) into out: 0 or -ENOENT (out ""). */
int wg_find_program(const char *name, char *out, size_t cap);

/* ---- fake (fake.c): hooks for tests of what drives a backend ---- */

/* What WireGuard would learn from a handshake with peer key: its
 * endpoint (NULL leaves it), handshake time and byte counters. 0,
 * -ENOENT (no such peer) or -EINVAL (b is not a fake). */
int wg_fake_observe(struct wg_backend *b, const uint8_t key[WG_KEY_LEN],
                    const struct sockaddr_storage *endpoint, uint64_t handshake_s,
                    uint64_t rx_bytes, uint64_t tx_bytes);
/* Make the next call of b (any operation) fail with err, changing
 * nothing. */
void wg_fake_fail_next(struct wg_backend *b, int err);

#endif
