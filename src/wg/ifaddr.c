/* The mesh address on the WireGuard interface, over rtnetlink: what
 * `ip address replace ADDR/PREFIX dev IF && ip link set IF up` does,
 * without running a program. Used by `mirrornetctl join` (the address
 * comes with the invitation) and by the daemon at start. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include "src/wg/wg.h"

struct nlreq {
	struct nlmsghdr h;
	union {
		struct ifaddrmsg a;
		struct ifinfomsg l;
	} u;
	char attrs[64];
};

static void add_attr(struct nlreq *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->h.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->h.nlmsg_len = NLMSG_ALIGN(r->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Send one request, wait for its ack: 0 or -errno. */
static int talk(int fd, struct nlreq *r)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	char buf[4096];

	if (sendto(fd, r, r->h.nlmsg_len, 0, (struct sockaddr *)&to, sizeof to) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0)
			return errno == EINTR ? -EINTR : -errno;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != r->h.nlmsg_seq)
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				return e->error;
			}
		}
	}
}

static int if_addr(const char *ifname, const char *cidr, bool add, char *err, size_t errcap)
{
	char a[64];
	unsigned char bin[16];
	unsigned idx = if_nametoindex(ifname);
	int af, fd, rc;
	long prefix;

	if (!idx) {
		snprintf(err, errcap, "no interface %s", ifname);
		return -ENODEV;
	}
	snprintf(a, sizeof a, "%s", cidr);
	char *slash = strchr(a, '/');
	af = strchr(a, ':') ? AF_INET6 : AF_INET;
	prefix = af == AF_INET6 ? 128 : 32;
	if (slash) {
		*slash = 0;
		prefix = strtol(slash + 1, NULL, 10);
	}
	if (inet_pton(af, a, bin) != 1 || prefix < 1 || prefix > (af == AF_INET6 ? 128 : 32)) {
		snprintf(err, errcap, "%s is not an address/prefix", cidr);
		return -EINVAL;
	}
	if ((fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) < 0) {
		snprintf(err, errcap, "rtnetlink: %s", strerror(errno));
		return -errno;
	}
	struct timeval tv = { 2, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct nlreq r;
	memset(&r, 0, sizeof r);
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof r.u.a);
	r.h.nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
	r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_REPLACE : 0);
	r.h.nlmsg_seq = 1;
	r.u.a.ifa_family = (unsigned char)af;
	r.u.a.ifa_prefixlen = (unsigned char)prefix;
	r.u.a.ifa_index = idx;
	add_attr(&r, IFA_LOCAL, bin, af == AF_INET6 ? 16 : 4);
	add_attr(&r, IFA_ADDRESS, bin, af == AF_INET6 ? 16 : 4);
	if ((rc = talk(fd, &r)) < 0 || !add) {
		if (rc < 0)
			snprintf(err, errcap, "cannot %s %s %s %s: %s", add ? "put" : "remove", cidr,
				 add ? "on" : "from", ifname, strerror(-rc));
		close(fd);
		return rc;
	}
	memset(&r, 0, sizeof r);
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof r.u.l);
	r.h.nlmsg_type = RTM_NEWLINK;
	r.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	r.h.nlmsg_seq = 2;
	r.u.l.ifi_family = AF_UNSPEC;
	r.u.l.ifi_index = (int)idx;
	r.u.l.ifi_flags = IFF_UP;
	r.u.l.ifi_change = IFF_UP;
	if ((rc = talk(fd, &r)) < 0)
		snprintf(err, errcap, "cannot bring %s up: %s", ifname, strerror(-rc));
	close(fd);
	return rc < 0 ? rc : 0;
}

int wg_if_set_addr(const char *ifname, const char *cidr, char *err, size_t errcap)
{
	return if_addr(ifname, cidr, true, err, errcap);
}

int wg_if_del_addr(const char *ifname, const char *cidr, char *err, size_t errcap)
{
	return if_addr(ifname, cidr, false, err, errcap);
}
