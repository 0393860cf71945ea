/* The kernel backend: generic netlink, family "wireguard" (what OpenWrt's
 * kernel module speaks; the same messages as wireguard-tools' ipc-linux.h).
 *
 *   resolve   CTRL_CMD_GETFAMILY "wireguard" → family id (absent: no module)
 *   set       WG_CMD_SET_DEVICE, NLM_F_REQUEST|NLM_F_ACK; WGDEVICE_A_IFNAME
 *             + PRIVATE_KEY/LISTEN_PORT, or + PEERS { { PUBLIC_KEY, FLAGS
 *             (REPLACE_ALLOWEDIPS | REMOVE_ME), ENDPOINT, KEEPALIVE,
 *             ALLOWEDIPS { { FAMILY, IPADDR, CIDR_MASK } ... } } }
 *   get       WG_CMD_GET_DEVICE, NLM_F_REQUEST|NLM_F_DUMP; the kernel answers
 *             with one or more messages then NLMSG_DONE; a peer whose
 *             allowed IPs do not fit continues in the next message under
 *             the same public key (merged back here). A dump that a
 *             concurrent change interrupted (NLM_F_DUMP_INTR) is retried.
 *
 * Messages are built by the attribute writer and replies read by the
 * bounded attribute iterator of nlmsg.c; both are pure (wg_int.h) and
 * unit-tested without a kernel. The socket (nlsock.c) is opened once per
 * backend; replies are matched by sequence number and taken only from the
 * kernel (port 0). NETLINK_CAP_ACK keeps our request (which may hold the
 * private key) out of error replies; receive and request buffers are
 * wiped anyway. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include "src/wg/wg_int.h"
#include "crypto/crypto.h"
#include "crypto/key.h"

/* The kernel's struct __kernel_timespec, as WGPEER_A_LAST_HANDSHAKE_TIME. */
struct nl_timespec {
	int64_t tv_sec;
	int64_t tv_nsec;
};

/* ---- messages ---- */

/* nlmsghdr + genlmsghdr. */
static void genl_msg_start(struct wg_nlw *w, uint16_t type, uint16_t flags, uint32_t seq,
                           uint8_t cmd, uint8_t version)
{
	struct genlmsghdr *g = wg_nlw_msg_start(w, type, flags, seq, GENL_HDRLEN);

	if (!g)
		return;
	g->cmd = cmd;
	g->version = version;
}

int wg_nl_msg_get_family(uint8_t *buf, size_t cap, uint32_t seq)
{
	struct wg_nlw w = { buf, cap, 0, false };

	genl_msg_start(&w, GENL_ID_CTRL, NLM_F_REQUEST, seq, CTRL_CMD_GETFAMILY, 1);
	wg_nlw_str(&w, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	return wg_nlw_msg_end(&w);
}

static void wg_msg_start(struct wg_nlw *w, uint16_t family, uint16_t flags, uint32_t seq,
                         uint8_t cmd, const char *ifname)
{
	genl_msg_start(w, family, flags, seq, cmd, WG_GENL_VERSION);
	wg_nlw_str(w, WGDEVICE_A_IFNAME, ifname);
}

int wg_nl_msg_set_device(uint8_t *buf, size_t cap, uint16_t family, uint32_t seq,
                         const char *ifname, const uint8_t priv[WG_KEY_LEN], uint16_t port)
{
	struct wg_nlw w = { buf, cap, 0, false };

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	wg_msg_start(&w, family, NLM_F_REQUEST | NLM_F_ACK, seq, WG_CMD_SET_DEVICE, ifname);
	wg_nlw_put(&w, WGDEVICE_A_PRIVATE_KEY, priv, WG_KEY_LEN);
	if (port)
		wg_nlw_u16(&w, WGDEVICE_A_LISTEN_PORT, port);
	return wg_nlw_msg_end(&w);
}

int wg_nl_msg_set_peer(uint8_t *buf, size_t cap, uint16_t family, uint32_t seq,
                       const char *ifname, const struct wg_peer *p)
{
	struct wg_nlw w = { buf, cap, 0, false };
	struct wg_cidr cidrs[WG_MAX_ALLOWED];
	size_t peers, peer, ips;

	if (!wg_ifname_valid(ifname) || wg_peer_check(p, cidrs) < 0)
		return -EINVAL;
	wg_msg_start(&w, family, NLM_F_REQUEST | NLM_F_ACK, seq, WG_CMD_SET_DEVICE, ifname);
	peers = wg_nlw_nest_start(&w, WGDEVICE_A_PEERS);
	peer = wg_nlw_nest_start(&w, 0);
	wg_nlw_put(&w, WGPEER_A_PUBLIC_KEY, p->key, WG_KEY_LEN);
	wg_nlw_u32(&w, WGPEER_A_FLAGS, WGPEER_F_REPLACE_ALLOWEDIPS);
	if (p->has_endpoint)
		wg_nlw_put(&w, WGPEER_A_ENDPOINT, &p->endpoint, p->endpoint.ss_family == AF_INET ?
		        sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	wg_nlw_u16(&w, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p->keepalive_s);
	ips = wg_nlw_nest_start(&w, WGPEER_A_ALLOWEDIPS);
	for (unsigned i = 0; i < p->nallowed; i++) {
		size_t ip = wg_nlw_nest_start(&w, 0);
		wg_nlw_u16(&w, WGALLOWEDIP_A_FAMILY, (uint16_t)cidrs[i].family);
		wg_nlw_put(&w, WGALLOWEDIP_A_IPADDR, cidrs[i].addr, cidrs[i].family == AF_INET ? 4 : 16);
		wg_nlw_u8(&w, WGALLOWEDIP_A_CIDR_MASK, cidrs[i].prefix);
		wg_nlw_nest_end(&w, ip);
	}
	wg_nlw_nest_end(&w, ips);
	wg_nlw_nest_end(&w, peer);
	wg_nlw_nest_end(&w, peers);
	return wg_nlw_msg_end(&w);
}

int wg_nl_msg_remove_peer(uint8_t *buf, size_t cap, uint16_t family, uint32_t seq,
                          const char *ifname, const uint8_t key[WG_KEY_LEN])
{
	struct wg_nlw w = { buf, cap, 0, false };
	size_t peers, peer;

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	wg_msg_start(&w, family, NLM_F_REQUEST | NLM_F_ACK, seq, WG_CMD_SET_DEVICE, ifname);
	peers = wg_nlw_nest_start(&w, WGDEVICE_A_PEERS);
	peer = wg_nlw_nest_start(&w, 0);
	wg_nlw_put(&w, WGPEER_A_PUBLIC_KEY, key, WG_KEY_LEN);
	wg_nlw_u32(&w, WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME);
	wg_nlw_nest_end(&w, peer);
	wg_nlw_nest_end(&w, peers);
	return wg_nlw_msg_end(&w);
}

int wg_nl_msg_get_device(uint8_t *buf, size_t cap, uint16_t family, uint32_t seq,
                         const char *ifname)
{
	struct wg_nlw w = { buf, cap, 0, false };

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	wg_msg_start(&w, family, NLM_F_REQUEST | NLM_F_DUMP, seq, WG_CMD_GET_DEVICE, ifname);
	return wg_nlw_msg_end(&w);
}

/* ---- bounded readers (nlmsg.c) ---- */

static int get_u16(const uint8_t *d, size_t n, uint16_t *v)
{
	if (n != sizeof *v)
		return -EBADMSG;
	memcpy(v, d, sizeof *v);
	return 0;
}

static int get_u64(const uint8_t *d, size_t n, uint64_t *v)
{
	if (n != sizeof *v)
		return -EBADMSG;
	memcpy(v, d, sizeof *v);
	return 0;
}

int wg_nl_parse_ack(const uint8_t *buf, size_t len, uint32_t seq)
{
	return wg_nl_walk(buf, len, seq, true, NULL, NULL);
}

static int family_msg(const struct nlmsghdr *h, const uint8_t *payload, size_t plen, void *ctx)
{
	struct wg_nla_iter it;
	uint16_t type, *id = ctx;
	const uint8_t *d;
	size_t n;
	int r;

	if (h->nlmsg_type != GENL_ID_CTRL || plen < GENL_HDRLEN)
		return -EBADMSG;
	it.p = payload + GENL_HDRLEN;
	it.left = plen - GENL_HDRLEN;
	while ((r = wg_nla_next(&it, &type, &d, &n)) > 0)
		if (type == CTRL_ATTR_FAMILY_ID)
			return get_u16(d, n, id) < 0 || *id == 0 ? -EBADMSG : 1;
	return r < 0 ? r : -EBADMSG;
}

int wg_nl_parse_family(const uint8_t *buf, size_t len, uint32_t seq, uint16_t *id)
{
	int r = wg_nl_walk(buf, len, seq, false, family_msg, id);

	/* a DONE before the family: not an answer */
	return r == 1 && *id == 0 ? -EBADMSG : r;
}

/* ---- get ---- */

struct get_ctx {
	uint16_t family;
	struct wg_device *dev;
};

static int parse_allowedip(struct wg_peer *p, const uint8_t *data, size_t len)
{
	struct wg_nla_iter it = { data, len };
	struct wg_cidr c = { 0 };
	bool have_family = false, have_addr = false, have_mask = false;
	uint16_t type, fam;
	const uint8_t *d;
	size_t n, alen = 0;
	int r;

	while ((r = wg_nla_next(&it, &type, &d, &n)) > 0) {
		if (type == WGALLOWEDIP_A_FAMILY) {
			if (get_u16(d, n, &fam) < 0 || (fam != AF_INET && fam != AF_INET6))
				return -EBADMSG;
			c.family = fam;
			have_family = true;
		} else if (type == WGALLOWEDIP_A_IPADDR) {
			if (n != 4 && n != 16)
				return -EBADMSG;
			memcpy(c.addr, d, n);
			alen = n;
			have_addr = true;
		} else if (type == WGALLOWEDIP_A_CIDR_MASK) {
			if (n != 1)
				return -EBADMSG;
			c.prefix = d[0];
			have_mask = true;
		}
	}
	if (r < 0 || !have_family || !have_addr || !have_mask ||
	    alen != (c.family == AF_INET ? 4u : 16u) || c.prefix > 8 * alen)
		return -EBADMSG;
	/* more than we can hold: dropped (see wg_int.h) */
	if (p->nallowed < WG_MAX_ALLOWED &&
	    wg_cidr_format(&c, p->allowed[p->nallowed], sizeof p->allowed[0]) == 0)
		p->nallowed++;
	return 0;
}

static int parse_endpoint(struct wg_peer *p, const uint8_t *d, size_t n)
{
	sa_family_t fam;

	if (n < sizeof fam)
		return -EBADMSG;
	memcpy(&fam, d, sizeof fam);
	if (!((fam == AF_INET && n == sizeof(struct sockaddr_in)) ||
	      (fam == AF_INET6 && n == sizeof(struct sockaddr_in6))))
		return -EBADMSG;
	memset(&p->endpoint, 0, sizeof p->endpoint);
	memcpy(&p->endpoint, d, n);
	p->has_endpoint = true;
	return 0;
}

static int parse_peer(struct wg_device *dev, const uint8_t *data, size_t len)
{
	struct wg_nla_iter it = { data, len };
	struct wg_peer *p = NULL;
	uint16_t type;
	const uint8_t *d;
	size_t n;
	int r;

	/* the kernel puts the public key first; find it wherever it is */
	while ((r = wg_nla_next(&it, &type, &d, &n)) > 0)
		if (type == WGPEER_A_PUBLIC_KEY)
			break;
	if (r <= 0 || n != WG_KEY_LEN)
		return -EBADMSG;
	/* the same key as the last peer: its allowed IPs continue here */
	if (dev->npeers && memcmp(dev->peers[dev->npeers - 1].key, d, WG_KEY_LEN) == 0) {
		p = &dev->peers[dev->npeers - 1];
	} else {
		r = wg_device_add_peer(dev, &p);
		if (r < 0)
			return r;
		memcpy(p->key, d, WG_KEY_LEN);
	}
	it.p = data;
	it.left = len;
	while ((r = wg_nla_next(&it, &type, &d, &n)) > 0) {
		switch (type) {
		case WGPEER_A_ENDPOINT:
			r = parse_endpoint(p, d, n);
			break;
		case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
			r = get_u16(d, n, &p->keepalive_s);
			break;
		case WGPEER_A_LAST_HANDSHAKE_TIME: {
			struct nl_timespec ts;
			if (n != sizeof ts)
				return -EBADMSG;
			memcpy(&ts, d, sizeof ts);
			if (ts.tv_sec < 0)
				return -EBADMSG;
			p->last_handshake_s = (uint64_t)ts.tv_sec;
			break;
		}
		case WGPEER_A_RX_BYTES:
			r = get_u64(d, n, &p->rx_bytes);
			break;
		case WGPEER_A_TX_BYTES:
			r = get_u64(d, n, &p->tx_bytes);
			break;
		case WGPEER_A_ALLOWEDIPS: {
			struct wg_nla_iter ips = { d, n };
			const uint8_t *ipd;
			size_t ipn;
			uint16_t t;
			while ((r = wg_nla_next(&ips, &t, &ipd, &ipn)) > 0)
				if ((r = parse_allowedip(p, ipd, ipn)) < 0)
					return r;
			break;
		}
		default:                        /* preshared key, protocol version, ... */
			r = 0;
			break;
		}
		if (r < 0)
			return r;
	}
	return r;
}

static int get_msg(const struct nlmsghdr *h, const uint8_t *payload, size_t plen, void *ctx)
{
	struct get_ctx *g = ctx;
	struct genlmsghdr gh;
	struct wg_nla_iter it;
	uint16_t type;
	const uint8_t *d;
	size_t n;
	int r;

	if (h->nlmsg_type != g->family || plen < GENL_HDRLEN)
		return -EBADMSG;
	memcpy(&gh, payload, sizeof gh);
	if (gh.cmd != WG_CMD_GET_DEVICE)
		return -EBADMSG;
	it.p = payload + GENL_HDRLEN;
	it.left = plen - GENL_HDRLEN;
	while ((r = wg_nla_next(&it, &type, &d, &n)) > 0) {
		switch (type) {
		case WGDEVICE_A_PRIVATE_KEY: {
			uint8_t priv[WG_KEY_LEN];
			if (n != WG_KEY_LEN)
				return -EBADMSG;
			memcpy(priv, d, WG_KEY_LEN);
			g->dev->has_private_key = !wg_key_is_zero(priv);
			if (g->dev->has_private_key)
				x25519_public(priv, g->dev->public_key);
			crypto_wipe(priv, sizeof priv);
			break;
		}
		case WGDEVICE_A_LISTEN_PORT:
			r = get_u16(d, n, &g->dev->listen_port);
			break;
		case WGDEVICE_A_PEERS: {
			struct wg_nla_iter peers = { d, n };
			const uint8_t *pd;
			size_t pn;
			uint16_t t;
			while ((r = wg_nla_next(&peers, &t, &pd, &pn)) > 0)
				if ((r = parse_peer(g->dev, pd, pn)) < 0)
					return r;
			break;
		}
		default:                        /* ifindex, ifname, public key, fwmark */
			r = 0;
			break;
		}
		if (r < 0)
			return r;
	}
	return r;                               /* 0: go on to the next message */
}

int wg_nl_parse_get(const uint8_t *buf, size_t len, uint16_t family, uint32_t seq,
                    struct wg_device *acc)
{
	struct get_ctx g = { family, acc };

	return wg_nl_walk(buf, len, seq, false, get_msg, &g);
}

/* ---- I/O (nlsock.c) ---- */

struct nl {
	struct wg_backend b;
	uint16_t family;
	char ifname[WG_IFNAME_MAX + 1];
	struct wg_device *get_out;          /* the dump being read by nl_get */
	struct wg_nlsock s;                 /* requests and replies */
};

static int parse_ack_cb(const uint8_t *buf, size_t len, uint32_t seq, void *ctx)
{
	(void)ctx;
	return wg_nl_parse_ack(buf, len, seq);
}

static int parse_family_cb(const uint8_t *buf, size_t len, uint32_t seq, void *ctx)
{
	return wg_nl_parse_family(buf, len, seq, ctx);
}

static int parse_get_cb(const uint8_t *buf, size_t len, uint32_t seq, void *ctx)
{
	struct nl *n = ctx;

	return wg_nl_parse_get(buf, len, n->family, seq, n->get_out);
}

static int nl_set_device(struct wg_backend *b, const uint8_t priv[WG_KEY_LEN], uint16_t port)
{
	struct nl *n = (struct nl *)b;
	uint32_t seq = ++n->s.seq;

	return wg_nlsock_call(&n->s, wg_nl_msg_set_device(n->s.buf, sizeof n->s.buf, n->family, seq,
	                                       n->ifname, priv, port), parse_ack_cb, NULL);
}

static int nl_set_peer(struct wg_backend *b, const struct wg_peer *p)
{
	struct nl *n = (struct nl *)b;
	uint32_t seq = ++n->s.seq;

	return wg_nlsock_call(&n->s, wg_nl_msg_set_peer(n->s.buf, sizeof n->s.buf, n->family, seq,
	                                     n->ifname, p), parse_ack_cb, NULL);
}

static int nl_remove_peer(struct wg_backend *b, const uint8_t key[WG_KEY_LEN])
{
	struct nl *n = (struct nl *)b;
	uint32_t seq = ++n->s.seq;

	return wg_nlsock_call(&n->s, wg_nl_msg_remove_peer(n->s.buf, sizeof n->s.buf, n->family, seq,
	                                        n->ifname, key), parse_ack_cb, NULL);
}

static int nl_get(struct wg_backend *b, struct wg_device *out)
{
	struct nl *n = (struct nl *)b;
	int r;

	/* a dump interrupted by a concurrent change is retried (its late
	 * parts are skipped by sequence number) */
	for (int attempt = 0; attempt < 3; attempt++) {
		uint32_t seq = ++n->s.seq;
		memset(out, 0, sizeof *out);
		n->get_out = out;
		r = wg_nlsock_call(&n->s, wg_nl_msg_get_device(n->s.buf, sizeof n->s.buf, n->family, seq,
		                                    n->ifname), parse_get_cb, n);
		n->get_out = NULL;
		if (r < 0)
			wg_device_free(out);
		if (r != -EAGAIN)
			break;
	}
	return r;
}

static void nl_free(struct wg_backend *b)
{
	struct nl *n = (struct nl *)b;

	if (!n)
		return;
	wg_nlsock_close(&n->s);
	free(n);
}

/* The "wireguard" family id on an open socket: 0 or the kernel's error
 * (-ENOENT: no module). */
static int resolve_family(struct wg_nlsock *s, uint16_t *id)
{
	uint32_t seq = ++s->seq;

	*id = 0;
	return wg_nlsock_call(s, wg_nl_msg_get_family(s->buf, sizeof s->buf, seq),
	                      parse_family_cb, id);
}

int wg_netlink_available(void)
{
	struct wg_nlsock *s = malloc(sizeof *s);
	uint16_t id;
	int r;

	if (!s)
		return -ENOMEM;
	r = wg_nlsock_open(s, NETLINK_GENERIC);
	if (r == 0)
		r = resolve_family(s, &id);
	wg_nlsock_close(s);
	free(s);
	return r;
}

struct wg_backend *wg_netlink_new(const char *ifname, char *err, size_t errcap)
{
	struct wg_device probe;
	struct nl *n;
	int r;

	if (!wg_ifname_valid(ifname)) {
		snprintf(err, errcap, "invalid WireGuard interface name '%.16s'", ifname ? ifname : "");
		return NULL;
	}
	n = calloc(1, sizeof *n);
	if (!n) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	strcpy(n->ifname, ifname);
	r = wg_nlsock_open(&n->s, NETLINK_GENERIC);
	if (r < 0) {
		snprintf(err, errcap, "generic netlink socket: %s", strerror(-r));
		goto fail;
	}
	r = resolve_family(&n->s, &n->family);
	if (r < 0) {
		snprintf(err, errcap, "WireGuard kernel module not available: %s", strerror(-r));
		goto fail;
	}
	n->b.name = "netlink";
	n->b.set_device = nl_set_device;
	n->b.set_peer = nl_set_peer;
	n->b.remove_peer = nl_remove_peer;
	n->b.get = nl_get;
	n->b.free = nl_free;
	/* the interface exists and is WireGuard? */
	r = nl_get(&n->b, &probe);
	wg_device_free(&probe);
	if (r < 0) {
		snprintf(err, errcap, "WireGuard interface %s not reachable over netlink: %s",
		         ifname, strerror(-r));
		goto fail;
	}
	return &n->b;
fail:
	nl_free(&n->b);
	return NULL;
}
