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
 * Messages are built by a small attribute writer and replies read by a
 * bounded attribute iterator; both are pure (wg_int.h) and unit-tested
 * without a kernel. The socket is opened once per backend; replies are
 * matched by sequence number and taken only from the kernel (port 0).
 * NETLINK_CAP_ACK keeps our request (which may hold the private key) out
 * of error replies; receive and request buffers are wiped anyway. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include "src/wg/wg_int.h"
#include "crypto/crypto.h"
#include "crypto/key.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

#define NL_TIMEOUT_MS 2000

/* The kernel's struct __kernel_timespec, as WGPEER_A_LAST_HANDSHAKE_TIME. */
struct nl_timespec {
	int64_t tv_sec;
	int64_t tv_nsec;
};

/* ---- attribute writer ---- */

struct nlw {
	uint8_t *buf;
	size_t cap, len;
	bool full;
};

static void *nlw_reserve(struct nlw *w, size_t n)
{
	size_t padded = NLA_ALIGN(n);
	void *p;

	if (w->full || padded > w->cap - w->len) {
		w->full = true;
		return NULL;
	}
	p = w->buf + w->len;
	memset(p, 0, padded);
	w->len += padded;
	return p;
}

static void nlw_put(struct nlw *w, uint16_t type, const void *data, size_t n)
{
	struct nlattr *a;

	if (n > UINT16_MAX - NLA_HDRLEN) {
		w->full = true;
		return;
	}
	a = nlw_reserve(w, NLA_HDRLEN + n);
	if (!a)
		return;
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + n);
	if (n)
		memcpy((uint8_t *)a + NLA_HDRLEN, data, n);
}

static void nlw_u8(struct nlw *w, uint16_t type, uint8_t v) { nlw_put(w, type, &v, 1); }
static void nlw_u16(struct nlw *w, uint16_t type, uint16_t v) { nlw_put(w, type, &v, 2); }
static void nlw_u32(struct nlw *w, uint16_t type, uint32_t v) { nlw_put(w, type, &v, 4); }

static void nlw_str(struct nlw *w, uint16_t type, const char *s)
{
	nlw_put(w, type, s, strlen(s) + 1);
}

/* Returns the nest's offset for nlw_nest_end. */
static size_t nlw_nest_start(struct nlw *w, uint16_t type)
{
	size_t off = w->len;
	struct nlattr *a = nlw_reserve(w, NLA_HDRLEN);

	if (a)
		a->nla_type = type | NLA_F_NESTED;
	return off;
}

static void nlw_nest_end(struct nlw *w, size_t off)
{
	struct nlattr *a = (struct nlattr *)(w->buf + off);

	if (w->full)
		return;
	if (w->len - off > UINT16_MAX) {
		w->full = true;
		return;
	}
	a->nla_len = (uint16_t)(w->len - off);
}

/* nlmsghdr + genlmsghdr. */
static void nlw_msg_start(struct nlw *w, uint16_t type, uint16_t flags, uint32_t seq,
                          uint8_t cmd, uint8_t version)
{
	struct nlmsghdr *h = nlw_reserve(w, NLMSG_HDRLEN);
	struct genlmsghdr *g = nlw_reserve(w, GENL_HDRLEN);

	if (!h || !g)
		return;
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = seq;
	h->nlmsg_pid = 0;
	g->cmd = cmd;
	g->version = version;
}

static int nlw_msg_end(struct nlw *w)
{
	if (w->full || w->len > UINT32_MAX) {
		crypto_wipe(w->buf, w->cap);
		return -EMSGSIZE;
	}
	((struct nlmsghdr *)w->buf)->nlmsg_len = (uint32_t)w->len;
	return (int)w->len;
}

/* ---- messages ---- */

int wg_nl_msg_get_family(uint8_t *buf, size_t cap, uint32_t seq)
{
	struct nlw w = { buf, cap, 0, false };

	nlw_msg_start(&w, GENL_ID_CTRL, NLM_F_REQUEST, seq, CTRL_CMD_GETFAMILY, 1);
	nlw_str(&w, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	return nlw_msg_end(&w);
}

static void wg_msg_start(struct nlw *w, uint16_t family, uint16_t flags, uint32_t seq,
                         uint8_t cmd, const char *ifname)
{
	nlw_msg_start(w, family, flags, seq, cmd, WG_GENL_VERSION);
	nlw_str(w, WGDEVICE_A_IFNAME, ifname);
}

int wg_nl_msg_set_device(uint8_t *buf, size_t cap, uint16_t family, uint32_t seq,
                         const char *ifname, const uint8_t priv[WG_KEY_LEN], uint16_t port)
{
	struct nlw w = { buf, cap, 0, false };

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	wg_msg_start(&w, family, NLM_F_REQUEST | NLM_F_ACK, seq, WG_CMD_SET_DEVICE, ifname);
	nlw_put(&w, WGDEVICE_A_PRIVATE_KEY, priv, WG_KEY_LEN);
	if (port)
		nlw_u16(&w, WGDEVICE_A_LISTEN_PORT, port);
	return nlw_msg_end(&w);
}

int wg_nl_msg_set_peer(uint8_t *buf, size_t cap, uint16_t family, uint32_t seq,
                       const char *ifname, const struct wg_peer *p)
{
	struct nlw w = { buf, cap, 0, false };
	struct wg_cidr cidrs[WG_MAX_ALLOWED];
	size_t peers, peer, ips;

	if (!wg_ifname_valid(ifname) || wg_peer_check(p, cidrs) < 0)
		return -EINVAL;
	wg_msg_start(&w, family, NLM_F_REQUEST | NLM_F_ACK, seq, WG_CMD_SET_DEVICE, ifname);
	peers = nlw_nest_start(&w, WGDEVICE_A_PEERS);
	peer = nlw_nest_start(&w, 0);
	nlw_put(&w, WGPEER_A_PUBLIC_KEY, p->key, WG_KEY_LEN);
	nlw_u32(&w, WGPEER_A_FLAGS, WGPEER_F_REPLACE_ALLOWEDIPS);
	if (p->has_endpoint)
		nlw_put(&w, WGPEER_A_ENDPOINT, &p->endpoint, p->endpoint.ss_family == AF_INET ?
		        sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
	nlw_u16(&w, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, p->keepalive_s);
	ips = nlw_nest_start(&w, WGPEER_A_ALLOWEDIPS);
	for (unsigned i = 0; i < p->nallowed; i++) {
		size_t ip = nlw_nest_start(&w, 0);
		nlw_u16(&w, WGALLOWEDIP_A_FAMILY, (uint16_t)cidrs[i].family);
		nlw_put(&w, WGALLOWEDIP_A_IPADDR, cidrs[i].addr, cidrs[i].family == AF_INET ? 4 : 16);
		nlw_u8(&w, WGALLOWEDIP_A_CIDR_MASK, cidrs[i].prefix);
		nlw_nest_end(&w, ip);
	}
	nlw_nest_end(&w, ips);
	nlw_nest_end(&w, peer);
	nlw_nest_end(&w, peers);
	return nlw_msg_end(&w);
}

int wg_nl_msg_remove_peer(uint8_t *buf, size_t cap, uint16_t family, uint32_t seq,
                          const char *ifname, const uint8_t key[WG_KEY_LEN])
{
	struct nlw w = { buf, cap, 0, false };
	size_t peers, peer;

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	wg_msg_start(&w, family, NLM_F_REQUEST | NLM_F_ACK, seq, WG_CMD_SET_DEVICE, ifname);
	peers = nlw_nest_start(&w, WGDEVICE_A_PEERS);
	peer = nlw_nest_start(&w, 0);
	nlw_put(&w, WGPEER_A_PUBLIC_KEY, key, WG_KEY_LEN);
	nlw_u32(&w, WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME);
	nlw_nest_end(&w, peer);
	nlw_nest_end(&w, peers);
	return nlw_msg_end(&w);
}

int wg_nl_msg_get_device(uint8_t *buf, size_t cap, uint16_t family, uint32_t seq,
                         const char *ifname)
{
	struct nlw w = { buf, cap, 0, false };

	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	wg_msg_start(&w, family, NLM_F_REQUEST | NLM_F_DUMP, seq, WG_CMD_GET_DEVICE, ifname);
	return nlw_msg_end(&w);
}

/* ---- bounded readers ---- */

/* Attributes in [p, p + left). */
struct nla_iter {
	const uint8_t *p;
	size_t left;
};

/* 1 and the next attribute, 0 at the end, -EBADMSG if one overruns. */
static int nla_next(struct nla_iter *it, uint16_t *type, const uint8_t **data, size_t *len)
{
	struct nlattr a;
	size_t step;

	if (it->left == 0)
		return 0;
	if (it->left < NLA_HDRLEN)
		return -EBADMSG;
	memcpy(&a, it->p, sizeof a);
	if (a.nla_len < NLA_HDRLEN || a.nla_len > it->left)
		return -EBADMSG;
	*type = a.nla_type & NLA_TYPE_MASK;
	*data = it->p + NLA_HDRLEN;
	*len = a.nla_len - NLA_HDRLEN;
	step = NLA_ALIGN(a.nla_len);
	if (step > it->left)
		step = it->left;                /* the last one may go unpadded */
	it->p += step;
	it->left -= step;
	return 1;
}

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

/* Netlink messages in one datagram. */
struct nlmsg_iter {
	const uint8_t *p;
	size_t left;
};

/* 1 and the next message (header copied, payload bounded), 0 at the end,
 * -EBADMSG if one overruns. */
static int nlmsg_next(struct nlmsg_iter *it, struct nlmsghdr *h, const uint8_t **payload,
                      size_t *plen)
{
	size_t step;

	if (it->left == 0)
		return 0;
	if (it->left < NLMSG_HDRLEN)
		return -EBADMSG;
	memcpy(h, it->p, sizeof *h);
	if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > it->left)
		return -EBADMSG;
	*payload = it->p + NLMSG_HDRLEN;
	*plen = h->nlmsg_len - NLMSG_HDRLEN;
	step = NLMSG_ALIGN(h->nlmsg_len);
	if (step > it->left)
		step = it->left;
	it->p += step;
	it->left -= step;
	return 1;
}

/* The error of an NLMSG_ERROR payload (0 = ack), or -EBADMSG. */
static int nlmsg_error(const uint8_t *payload, size_t plen)
{
	int32_t e;

	if (plen < sizeof e)
		return -EBADMSG;
	memcpy(&e, payload, sizeof e);
	if (e > 0 || e < -4095)
		return -EBADMSG;
	return e;
}

/* Walk the messages answering seq: data messages go to fn; returns 1 at
 * NLMSG_DONE or when fn returns 1, an NLMSG_ERROR's error (an ack ends
 * with 1 if want_ack), 0 at the datagram's end. */
static int nl_walk(const uint8_t *buf, size_t len, uint32_t seq, bool want_ack,
                   int (*fn)(const struct nlmsghdr *h, const uint8_t *payload, size_t plen, void *ctx),
                   void *ctx)
{
	struct nlmsg_iter it = { buf, len };
	struct nlmsghdr h;
	const uint8_t *payload;
	size_t plen;
	int r;

	while ((r = nlmsg_next(&it, &h, &payload, &plen)) > 0) {
		if (h.nlmsg_seq != seq)
			continue;                   /* a late answer to an earlier request */
		if (h.nlmsg_type == NLMSG_NOOP)
			continue;
		if (h.nlmsg_type == NLMSG_ERROR) {
			r = nlmsg_error(payload, plen);
			if (r == 0 && !want_ack)
				continue;
			return r == 0 ? 1 : r;
		}
		if (h.nlmsg_type == NLMSG_DONE) {
			/* a dump's error travels in its DONE message */
			if (plen >= 4) {
				r = nlmsg_error(payload, plen);
				if (r < 0)
					return r;
			}
			return 1;
		}
		if (h.nlmsg_type == NLMSG_OVERRUN)
			return -EBADMSG;
		/* the device changed during a multi-part dump: its parts disagree */
		if (h.nlmsg_flags & NLM_F_DUMP_INTR)
			return -EAGAIN;
		if (!fn)
			continue;
		r = fn(&h, payload, plen, ctx);
		if (r != 0)
			return r;
	}
	return r;
}

int wg_nl_parse_ack(const uint8_t *buf, size_t len, uint32_t seq)
{
	return nl_walk(buf, len, seq, true, NULL, NULL);
}

static int family_msg(const struct nlmsghdr *h, const uint8_t *payload, size_t plen, void *ctx)
{
	struct nla_iter it;
	uint16_t type, *id = ctx;
	const uint8_t *d;
	size_t n;
	int r;

	if (h->nlmsg_type != GENL_ID_CTRL || plen < GENL_HDRLEN)
		return -EBADMSG;
	it.p = payload + GENL_HDRLEN;
	it.left = plen - GENL_HDRLEN;
	while ((r = nla_next(&it, &type, &d, &n)) > 0)
		if (type == CTRL_ATTR_FAMILY_ID)
			return get_u16(d, n, id) < 0 || *id == 0 ? -EBADMSG : 1;
	return r < 0 ? r : -EBADMSG;
}

int wg_nl_parse_family(const uint8_t *buf, size_t len, uint32_t seq, uint16_t *id)
{
	int r = nl_walk(buf, len, seq, false, family_msg, id);

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
	struct nla_iter it = { data, len };
	struct wg_cidr c = { 0 };
	bool have_family = false, have_addr = false, have_mask = false;
	uint16_t type, fam;
	const uint8_t *d;
	size_t n, alen = 0;
	int r;

	while ((r = nla_next(&it, &type, &d, &n)) > 0) {
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
	struct nla_iter it = { data, len };
	struct wg_peer *p = NULL;
	uint16_t type;
	const uint8_t *d;
	size_t n;
	int r;

	/* the kernel puts the public key first; find it wherever it is */
	while ((r = nla_next(&it, &type, &d, &n)) > 0)
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
	while ((r = nla_next(&it, &type, &d, &n)) > 0) {
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
			struct nla_iter ips = { d, n };
			const uint8_t *ipd;
			size_t ipn;
			uint16_t t;
			while ((r = nla_next(&ips, &t, &ipd, &ipn)) > 0)
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
	struct nla_iter it;
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
	while ((r = nla_next(&it, &type, &d, &n)) > 0) {
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
			struct nla_iter peers = { d, n };
			const uint8_t *pd;
			size_t pn;
			uint16_t t;
			while ((r = nla_next(&peers, &t, &pd, &pn)) > 0)
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

	return nl_walk(buf, len, seq, false, get_msg, &g);
}

/* ---- I/O ---- */

struct nl {
	struct wg_backend b;
	int fd;
	uint16_t family;
	uint32_t seq;
	char ifname[WG_IFNAME_MAX + 1];
	uint8_t buf[WG_NL_BUF];             /* requests and replies */
};

static int nl_send(struct nl *n, size_t len)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	ssize_t r;

	do
		r = sendto(n->fd, n->buf, len, 0, (struct sockaddr *)&to, sizeof to);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	return (size_t)r == len ? 0 : -EIO;
}

/* Receive datagrams into n->buf and hand each to parse until it returns
 * nonzero. */
static int nl_recv(struct nl *n, int (*parse)(struct nl *n, size_t len, void *ctx), void *ctx)
{
	for (;;) {
		struct sockaddr_nl from;
		struct iovec iov = { n->buf, sizeof n->buf };
		struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof from,
		                      .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t len = recvmsg(n->fd, &msg, 0);
		int r;

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (msg.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (msg.msg_namelen != sizeof from || from.nl_pid != 0)
			continue;                   /* not from the kernel */
		r = parse(n, (size_t)len, ctx);
		crypto_wipe(n->buf, (size_t)len);
		if (r != 0)
			return r < 0 ? r : 0;
	}
}

static int parse_ack_cb(struct nl *n, size_t len, void *ctx)
{
	return wg_nl_parse_ack(n->buf, len, n->seq);
}

static int parse_family_cb(struct nl *n, size_t len, void *ctx)
{
	return wg_nl_parse_family(n->buf, len, n->seq, ctx);
}

static int parse_get_cb(struct nl *n, size_t len, void *ctx)
{
	return wg_nl_parse_get(n->buf, len, n->family, n->seq, ctx);
}

/* Send the len bytes built in n->buf (wiping them), then read the answer. */
static int nl_call(struct nl *n, int len, int (*parse)(struct nl *n, size_t len, void *ctx),
                   void *ctx)
{
	int r;

	if (len < 0)
		return len;
	r = nl_send(n, (size_t)len);
	crypto_wipe(n->buf, (size_t)len);
	return r < 0 ? r : nl_recv(n, parse, ctx);
}

static int nl_set_device(struct wg_backend *b, const uint8_t priv[WG_KEY_LEN], uint16_t port)
{
	struct nl *n = (struct nl *)b;

	n->seq++;
	return nl_call(n, wg_nl_msg_set_device(n->buf, sizeof n->buf, n->family, n->seq,
	                                       n->ifname, priv, port), parse_ack_cb, NULL);
}

static int nl_set_peer(struct wg_backend *b, const struct wg_peer *p)
{
	struct nl *n = (struct nl *)b;

	n->seq++;
	return nl_call(n, wg_nl_msg_set_peer(n->buf, sizeof n->buf, n->family, n->seq,
	                                     n->ifname, p), parse_ack_cb, NULL);
}

static int nl_remove_peer(struct wg_backend *b, const uint8_t key[WG_KEY_LEN])
{
	struct nl *n = (struct nl *)b;

	n->seq++;
	return nl_call(n, wg_nl_msg_remove_peer(n->buf, sizeof n->buf, n->family, n->seq,
	                                        n->ifname, key), parse_ack_cb, NULL);
}

static int nl_get(struct wg_backend *b, struct wg_device *out)
{
	struct nl *n = (struct nl *)b;
	int r;

	/* a dump interrupted by a concurrent change is retried (its late
	 * parts are skipped by sequence number) */
	for (int attempt = 0; attempt < 3; attempt++) {
		memset(out, 0, sizeof *out);
		n->seq++;
		r = nl_call(n, wg_nl_msg_get_device(n->buf, sizeof n->buf, n->family, n->seq,
		                                    n->ifname), parse_get_cb, out);
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
	if (n->fd >= 0)
		close(n->fd);
	crypto_wipe(n->buf, sizeof n->buf);
	free(n);
}

static int nl_open(struct nl *n)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = NL_TIMEOUT_MS / 1000,
	                      .tv_usec = (NL_TIMEOUT_MS % 1000) * 1000 };
	int one = 1;

	n->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (n->fd < 0)
		return -errno;
	if (setsockopt(n->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(n->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
	    bind(n->fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		return -errno;
	/* best effort: older kernels echo the request in errors (wiped anyway) */
	(void)setsockopt(n->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
	return 0;
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
	n->fd = -1;
	strcpy(n->ifname, ifname);
	r = nl_open(n);
	if (r < 0) {
		snprintf(err, errcap, "generic netlink socket: %s", strerror(-r));
		goto fail;
	}
	n->seq = 1;
	r = nl_call(n, wg_nl_msg_get_family(n->buf, sizeof n->buf, n->seq), parse_family_cb,
	            &n->family);
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
