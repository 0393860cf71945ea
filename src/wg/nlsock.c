/* A netlink socket that talks to the kernel one request at a time, for
 * generic netlink (netlink.c) and rtnetlink (rtnl.c): send a message built
 * in the socket's buffer, then read datagrams until the parser says the
 * exchange is complete. Replies are taken only from the kernel (port 0)
 * and matched by sequence number by the parsers; every call is bounded by
 * a 2 s timeout. The buffer is wiped after each request and each datagram
 * (requests may carry the private key, replies too). See wg_int.h. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include "src/wg/wg_int.h"
#include "crypto/crypto.h"

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif

#define NL_TIMEOUT_MS 2000

int wg_nlsock_open(struct wg_nlsock *s, int protocol)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct timeval tv = { .tv_sec = NL_TIMEOUT_MS / 1000,
	                      .tv_usec = (NL_TIMEOUT_MS % 1000) * 1000 };
	int one = 1, r;

	s->seq = 0;
	s->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
	if (s->fd < 0)
		return -errno;
	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0 ||
	    bind(s->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		r = -errno;
		close(s->fd);
		s->fd = -1;
		return r;
	}
	/* best effort: older kernels echo the request in errors (wiped anyway) */
	(void)setsockopt(s->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
	return 0;
}

void wg_nlsock_close(struct wg_nlsock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	crypto_wipe(s->buf, sizeof s->buf);
}

static int nl_send(struct wg_nlsock *s, size_t len)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	ssize_t r;

	do
		r = sendto(s->fd, s->buf, len, 0, (struct sockaddr *)&to, sizeof to);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	return (size_t)r == len ? 0 : -EIO;
}

/* Receive datagrams into s->buf and hand each to parse until it returns
 * nonzero. */
static int nl_recv(struct wg_nlsock *s, wg_nl_parse_fn *parse, void *ctx)
{
	for (;;) {
		struct sockaddr_nl from;
		struct iovec iov = { s->buf, sizeof s->buf };
		struct msghdr msg = { .msg_name = &from, .msg_namelen = sizeof from,
		                      .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t len = recvmsg(s->fd, &msg, 0);
		int r;

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (msg.msg_flags & MSG_TRUNC) {
			crypto_wipe(s->buf, sizeof s->buf);
			return -EMSGSIZE;
		}
		if (msg.msg_namelen != sizeof from || from.nl_pid != 0)
			continue;                   /* not from the kernel */
		r = parse(s->buf, (size_t)len, s->seq, ctx);
		crypto_wipe(s->buf, (size_t)len);
		if (r != 0)
			return r < 0 ? r : 0;
	}
}

int wg_nlsock_call(struct wg_nlsock *s, int len, wg_nl_parse_fn *parse, void *ctx)
{
	int r;

	if (len < 0)
		return len;
	r = nl_send(s, (size_t)len);
	crypto_wipe(s->buf, (size_t)len);
	return r < 0 ? r : nl_recv(s, parse, ctx);
}
