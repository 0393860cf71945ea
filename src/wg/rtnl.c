/* rtnetlink for the WireGuard interface: what `ip link add IF type
 * wireguard`, `ip address replace A/P dev IF`, `ip link set IF up` and
 * `ip link del IF` do, without running a program.
 *
 *   create   RTM_NEWLINK, NLM_F_REQUEST|ACK|CREATE|EXCL; ifinfomsg
 *            (AF_UNSPEC), IFLA_IFNAME, IFLA_LINKINFO { IFLA_INFO_KIND
 *            "wireguard" }. A kernel without the module answers
 *            -EOPNOTSUPP ("Unknown device type") once its attempt to load
 *            rtnl-link-wireguard failed; -EEXIST when the name is taken.
 *   find     RTM_GETLINK, NLM_F_REQUEST|DUMP; every link's RTM_NEWLINK
 *            (ifinfomsg, IFLA_IFNAME, IFLA_LINKINFO { IFLA_INFO_KIND })
 *            then NLMSG_DONE; the one named IF is kept. A dump, not a get
 *            by name: every kernel answers it the same way.
 *   up/down  RTM_NEWLINK on the index, ifi_change = IFF_UP.
 *   address  RTM_NEWADDR (NLM_F_CREATE|REPLACE) / RTM_DELADDR, ifaddrmsg
 *            with the prefix length, IFA_LOCAL and IFA_ADDRESS.
 *   delete   RTM_DELLINK on the index.
 *
 * Message building and answer parsing are pure (wg_int.h, tested in
 * tests/unit/test_wg_rtnl.c against answers recorded from a kernel); the
 * I/O below is one socket per call (nlsock.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include "src/wg/wg_int.h"

/* ---- messages ---- */

int wg_ifaddr_parse(const char *s, struct wg_ifaddr *a)
{
	char buf[WG_CIDR_TEXT];
	const char *slash;
	size_t n;
	unsigned bits, prefix = 0;

	memset(a, 0, sizeof *a);
	if (!s || (n = strlen(s)) >= sizeof buf)
		return -EINVAL;
	memcpy(buf, s, n + 1);
	slash = strchr(s, '/');
	if (slash)
		buf[slash - s] = 0;
	if (inet_pton(AF_INET, buf, a->addr) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, a->addr) == 1)
		a->family = AF_INET6;
	else
		goto bad;
	bits = a->family == AF_INET ? 32 : 128;
	if (!slash) {
		prefix = bits;
	} else {
		const char *p = slash + 1;
		if (!*p || strlen(p) > 3)
			goto bad;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				goto bad;
			prefix = prefix * 10 + (unsigned)(*p - '0');
		}
	}
	if (prefix < 1 || prefix > bits)
		goto bad;
	a->prefix = (uint8_t)prefix;
	return 0;
bad:
	memset(a, 0, sizeof *a);
	return -EINVAL;
}

static struct ifinfomsg *link_start(struct wg_nlw *w, uint16_t type, uint16_t flags,
                                    uint32_t seq, int ifindex)
{
	struct ifinfomsg *i = wg_nlw_msg_start(w, type, flags, seq, sizeof *i);

	if (i) {
		i->ifi_family = AF_UNSPEC;
		i->ifi_index = ifindex;
	}
	return i;
}

int wg_rtnl_msg_new_link(uint8_t *buf, size_t cap, uint32_t seq, const char *ifname,
                         const char *kind)
{
	struct wg_nlw w = { buf, cap, 0, false };
	size_t info;

	if (!wg_ifname_valid(ifname) || !kind || !*kind || strlen(kind) >= WG_LINK_KIND_MAX)
		return -EINVAL;
	link_start(&w, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, 0);
	wg_nlw_str(&w, IFLA_IFNAME, ifname);
	info = wg_nlw_nest_start(&w, IFLA_LINKINFO);
	wg_nlw_str(&w, IFLA_INFO_KIND, kind);
	wg_nlw_nest_end(&w, info);
	return wg_nlw_msg_end(&w);
}

int wg_rtnl_msg_del_link(uint8_t *buf, size_t cap, uint32_t seq, int ifindex)
{
	struct wg_nlw w = { buf, cap, 0, false };

	if (ifindex <= 0)
		return -EINVAL;
	link_start(&w, RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifindex);
	return wg_nlw_msg_end(&w);
}

int wg_rtnl_msg_get_links(uint8_t *buf, size_t cap, uint32_t seq)
{
	struct wg_nlw w = { buf, cap, 0, false };

	link_start(&w, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq, 0);
	return wg_nlw_msg_end(&w);
}

int wg_rtnl_msg_set_up(uint8_t *buf, size_t cap, uint32_t seq, int ifindex, bool up)
{
	struct wg_nlw w = { buf, cap, 0, false };
	struct ifinfomsg *i;

	if (ifindex <= 0)
		return -EINVAL;
	i = link_start(&w, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq, ifindex);
	if (i) {
		i->ifi_flags = up ? IFF_UP : 0;
		i->ifi_change = IFF_UP;
	}
	return wg_nlw_msg_end(&w);
}

int wg_rtnl_msg_addr(uint8_t *buf, size_t cap, uint32_t seq, bool add, int ifindex,
                     const struct wg_ifaddr *a)
{
	struct wg_nlw w = { buf, cap, 0, false };
	struct ifaddrmsg *m;
	size_t alen = a->family == AF_INET ? 4 : 16;

	if (ifindex <= 0 || (a->family != AF_INET && a->family != AF_INET6) || a->prefix < 1 ||
	    a->prefix > 8 * alen)
		return -EINVAL;
	m = wg_nlw_msg_start(&w, add ? RTM_NEWADDR : RTM_DELADDR,
	                     NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0),
	                     seq, sizeof *m);
	if (m) {
		m->ifa_family = (uint8_t)a->family;
		m->ifa_prefixlen = a->prefix;
		m->ifa_index = (uint32_t)ifindex;
	}
	wg_nlw_put(&w, IFA_LOCAL, a->addr, alen);
	wg_nlw_put(&w, IFA_ADDRESS, a->addr, alen);
	return wg_nlw_msg_end(&w);
}

/* ---- answers ---- */

/* A string attribute: NUL-terminated inside its payload, shorter than cap. */
static int get_str(const uint8_t *d, size_t n, char *out, size_t cap)
{
	const uint8_t *nul = memchr(d, 0, n);

	if (!nul || (size_t)(nul - d) >= cap)
		return -EBADMSG;
	memcpy(out, d, (size_t)(nul - d) + 1);
	return 0;
}

struct links_ctx {
	const char *ifname;
	struct wg_link *out;
};

static int link_msg(const struct nlmsghdr *h, const uint8_t *payload, size_t plen, void *ctx)
{
	struct links_ctx *c = ctx;
	struct wg_nla_iter it;
	struct ifinfomsg ifi;
	struct wg_link l;
	bool named = false;
	uint16_t type;
	const uint8_t *d;
	size_t n;
	int r;

	if (h->nlmsg_type != RTM_NEWLINK || plen < NLMSG_ALIGN(sizeof ifi))
		return -EBADMSG;
	memcpy(&ifi, payload, sizeof ifi);
	if (ifi.ifi_index <= 0)
		return -EBADMSG;
	memset(&l, 0, sizeof l);
	l.ifindex = ifi.ifi_index;
	l.flags = ifi.ifi_flags;
	it.p = payload + NLMSG_ALIGN(sizeof ifi);
	it.left = plen - NLMSG_ALIGN(sizeof ifi);
	while ((r = wg_nla_next(&it, &type, &d, &n)) > 0) {
		if (type == IFLA_IFNAME) {
			char name[IFNAMSIZ];
			if (get_str(d, n, name, sizeof name) < 0)
				return -EBADMSG;
			named = strcmp(name, c->ifname) == 0;
		} else if (type == IFLA_LINKINFO) {
			struct wg_nla_iter info = { d, n };
			uint16_t t;
			const uint8_t *id;
			size_t in;
			while ((r = wg_nla_next(&info, &t, &id, &in)) > 0)
				if (t == IFLA_INFO_KIND && get_str(id, in, l.kind, sizeof l.kind) < 0)
					return -EBADMSG;
			if (r < 0)
				return r;
		}
	}
	if (r < 0)
		return r;
	if (named)
		*c->out = l;
	return 0;                                /* on to NLMSG_DONE */
}

int wg_rtnl_parse_links(const uint8_t *buf, size_t len, uint32_t seq, const char *ifname,
                        struct wg_link *out)
{
	struct links_ctx c = { ifname, out };

	return wg_nl_walk(buf, len, seq, false, link_msg, &c);
}

/* ---- I/O: one rtnetlink socket per call ---- */

static int parse_ack_cb(const uint8_t *buf, size_t len, uint32_t seq, void *ctx)
{
	(void)ctx;
	return wg_nl_walk(buf, len, seq, true, NULL, NULL);
}

struct find_ctx {
	const char *ifname;
	struct wg_link *out;
};

static int parse_links_cb(const uint8_t *buf, size_t len, uint32_t seq, void *ctx)
{
	struct find_ctx *f = ctx;

	return wg_rtnl_parse_links(buf, len, seq, f->ifname, f->out);
}

enum rtnl_op { OP_CREATE, OP_DELETE, OP_UP, OP_ADDR_ADD, OP_ADDR_DEL, OP_FIND };

struct rtnl_req {
	enum rtnl_op op;
	const char *ifname, *kind;
	int ifindex;
	const struct wg_ifaddr *addr;
	struct wg_link *out;
};

static int rtnl_do(const struct rtnl_req *q)
{
	struct wg_nlsock *s = malloc(sizeof *s);
	struct find_ctx f = { q->ifname, q->out };
	int r, len = -EINVAL;

	if (!s)
		return -ENOMEM;
	r = wg_nlsock_open(s, NETLINK_ROUTE);
	/* a dump interrupted by a concurrent change is asked again */
	for (int attempt = 0; r == 0; attempt++) {
		uint32_t seq = ++s->seq;
		switch (q->op) {
		case OP_CREATE:
			len = wg_rtnl_msg_new_link(s->buf, sizeof s->buf, seq, q->ifname, q->kind);
			break;
		case OP_DELETE:
			len = wg_rtnl_msg_del_link(s->buf, sizeof s->buf, seq, q->ifindex);
			break;
		case OP_UP:
			len = wg_rtnl_msg_set_up(s->buf, sizeof s->buf, seq, q->ifindex, true);
			break;
		case OP_ADDR_ADD:
		case OP_ADDR_DEL:
			len = wg_rtnl_msg_addr(s->buf, sizeof s->buf, seq, q->op == OP_ADDR_ADD,
			                       q->ifindex, q->addr);
			break;
		case OP_FIND:
			memset(q->out, 0, sizeof *q->out);
			len = wg_rtnl_msg_get_links(s->buf, sizeof s->buf, seq);
			break;
		}
		r = wg_nlsock_call(s, len, q->op == OP_FIND ? parse_links_cb : parse_ack_cb, &f);
		if (r != -EAGAIN || q->op != OP_FIND || attempt == 2)
			break;
		r = 0;
	}
	wg_nlsock_close(s);
	free(s);
	if (r == 0 && q->op == OP_FIND && q->out->ifindex == 0)
		return -ENODEV;
	return r;
}

int wg_link_find(const char *ifname, struct wg_link *out)
{
	struct rtnl_req q = { .op = OP_FIND, .ifname = ifname, .out = out };

	memset(out, 0, sizeof *out);
	if (!wg_ifname_valid(ifname))
		return -EINVAL;
	return rtnl_do(&q);
}

int wg_link_create(const char *ifname, const char *kind)
{
	struct rtnl_req q = { .op = OP_CREATE, .ifname = ifname, .kind = kind };

	return rtnl_do(&q);
}

int wg_link_delete(int ifindex)
{
	struct rtnl_req q = { .op = OP_DELETE, .ifindex = ifindex };

	return rtnl_do(&q);
}

int wg_link_up(int ifindex)
{
	struct rtnl_req q = { .op = OP_UP, .ifindex = ifindex };

	return rtnl_do(&q);
}

int wg_link_addr(int ifindex, bool add, const struct wg_ifaddr *a)
{
	struct rtnl_req q = { .op = add ? OP_ADDR_ADD : OP_ADDR_DEL, .ifindex = ifindex, .addr = a };

	return rtnl_do(&q);
}

/* ---- wg.h: the mesh address on an interface ---- */

static int if_addr(const char *ifname, const char *cidr, bool add, char *err, size_t errcap)
{
	struct wg_ifaddr a;
	struct wg_link l;
	int rc;

	if ((rc = wg_link_find(ifname, &l)) < 0) {
		if (rc == -ENODEV)
			snprintf(err, errcap, "no interface %s", ifname);
		else
			snprintf(err, errcap, "rtnetlink: %s", strerror(-rc));
		return rc;
	}
	if (wg_ifaddr_parse(cidr, &a) < 0) {
		snprintf(err, errcap, "%s is not an address/prefix", cidr);
		return -EINVAL;
	}
	if ((rc = wg_link_addr(l.ifindex, add, &a)) < 0) {
		snprintf(err, errcap, "cannot %s %s %s %s: %s", add ? "put" : "remove", cidr,
		         add ? "on" : "from", ifname, strerror(-rc));
		return rc;
	}
	if (add && (rc = wg_link_up(l.ifindex)) < 0) {
		snprintf(err, errcap, "cannot bring %s up: %s", ifname, strerror(-rc));
		return rc;
	}
	return 0;
}

int wg_if_set_addr(const char *ifname, const char *cidr, char *err, size_t errcap)
{
	return if_addr(ifname, cidr, true, err, errcap);
}

int wg_if_del_addr(const char *ifname, const char *cidr, char *err, size_t errcap)
{
	return if_addr(ifname, cidr, false, err, errcap);
}
