/* Plain UDP + TCP transport; see transport.h.
 *
 * Connections. Inbound and outbound streams have budgets of their own
 * (MAX_IN_CONNS, MAX_OUT_CONNS), so connections others open can never
 * stop ours, and one source address holds at most MAX_IN_PER_SOURCE
 * inbound ones. A new inbound connection over either bound evicts the
 * least useful one in its way (per source first, then overall): one that
 * never delivered a valid message before one that did, the oldest first
 * — so idle connections held by a stranger make room for a peer's. An
 * inbound connection lives while it delivers valid messages (the driver's
 * recv callback says which): bytes trickled in, or frames the driver
 * refuses, keep nothing open — FIRST_MS for the first valid message,
 * IDLE_MS after the last, PARTIAL_MS to finish a frame once started.
 *
 * Addresses. An address set by the driver (a bootstrap peer, a signed node
 * record) is pinned: a datagram from elsewhere never replaces it
 * (transport_learn_addr fills only an unknown one), and
 * transport_addr_matches() tells the driver whether a datagram came from
 * it — the most the plain transport can authenticate.
 *
 * Datagrams out are queued (TX_BATCH of them) and sent with one sendmmsg()
 * when the queue is full and before the loop next waits (a uv_prepare
 * handle): an engine event that sends to many peers, or a loop iteration
 * that handles many datagrams, makes one system call, not one each. A
 * datagram the kernel refuses (its buffer full) is dropped and counted,
 * as uv_udp_try_send's refusals were. */
#define _GNU_SOURCE   /* sendmmsg */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "src/daemon/transport.h"
#include "src/daemon/config.h"
#include "src/log.h"

#define MAX_IN_CONNS 128
#define MAX_OUT_CONNS 128
#define MAX_IN_PER_SOURCE 16   /* a loopback test mesh shares one address */
#define MAX_FRAME (32 + ENGINE_MAX_STREAM)
#define MAX_WRITE_QUEUE (1u << 20)
#define IDLE_MS 60000          /* since the last valid message (or our last send) */
#define FIRST_MS 10000         /* an inbound connection's first valid message */
#define PARTIAL_MS 10000       /* a frame started and not finished */
#define CONNECT_MS 3000        /* a connection attempt: then a fresh one (a SYN lost
				  before the tunnel was up backs off for half a minute) */
#define CONNECT_TRIES 5        /* fresh attempts that carry the queued messages on */
#define SWEEP_MS 1000
#define MAX_ADDRS 4096

#define TX_BATCH 32            /* datagrams queued for one sendmmsg (46 KiB) */

struct addr_entry {
	uint8_t pk[32];
	struct sockaddr_storage sa;
	bool pinned;                /* set by the driver, not learned from a datagram */
};

struct wreq {
	uv_write_t req;
	struct wreq *next;          /* queued before connect */
	size_t len;
	uint8_t data[];
};

struct conn {
	uv_tcp_t h;
	uv_connect_t creq;
	struct transport *t;
	struct conn *next;
	bool outgoing, connected, closing;
	uint8_t pk[32];             /* outgoing: who we talk to; inbound: the key of
				     * its first valid message (non-anonymous) */
	bool has_pk;
	struct sockaddr_storage peer_sa;   /* the other end's address */
	uint8_t *rbuf;
	size_t rlen, rcap;
	uint64_t last_active, partial_since, connect_at;
	uint64_t opened_at, last_valid;   /* inbound: accepted; last valid message (0 none) */
	unsigned tries;             /* outgoing: connection attempts so far */
	struct wreq *queued;        /* writes waiting for the connection */
	size_t queued_bytes;
};

struct transport {
	uv_loop_t *loop;
	uv_udp_t udp;
	uv_tcp_t listener;
	uv_timer_t sweep;
	uint8_t self[32];
	size_t keylen;              /* 32: messages carry the sender's key; 0: anonymous */
	transport_recv_fn recv;
	transport_gone_fn gone;
	transport_flush_fn before_flush;
	void *ctx;
	struct conn *conns;
	unsigned nin, nout;         /* connections in the list, by direction */
	struct addr_entry *addrs;
	size_t naddrs;
	uint8_t dgram_buf[65536];
	uv_prepare_t txflush;
	unsigned ntx;
	struct txd {                /* a queued datagram */
		struct sockaddr_storage sa;
		socklen_t salen;
		uint16_t len;
		uint8_t buf[32 + ENGINE_MTU];
	} tx[TX_BATCH];
	struct transport_stats st;
	int closing;                /* handles still to close */
};

static struct addr_entry *addr_find(const struct transport *t, const uint8_t pk[32])
{
	for (size_t i = 0; i < t->naddrs; i++)
		if (memcmp(t->addrs[i].pk, pk, 32) == 0)
			return &t->addrs[i];
	return NULL;
}

static void addr_put(struct transport *t, const uint8_t pk[32], const struct sockaddr *sa,
		     bool pinned)
{
	struct addr_entry *a = addr_find(t, pk);
	size_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

	if (!a) {
		if (t->naddrs == MAX_ADDRS)
			return;
		if (t->naddrs % 64 == 0) {
			struct addr_entry *n = realloc(t->addrs, (t->naddrs + 64) * sizeof *n);
			if (!n)
				return;
			t->addrs = n;
		}
		a = &t->addrs[t->naddrs++];
		memcpy(a->pk, pk, 32);
	}
	memset(&a->sa, 0, sizeof a->sa);
	memcpy(&a->sa, sa, len);
	a->pinned = pinned;
}

void transport_set_addr(struct transport *t, const uint8_t pk[32], const struct sockaddr *sa)
{
	addr_put(t, pk, sa, true);
}

void transport_learn_addr(struct transport *t, const uint8_t pk[32], const struct sockaddr *sa)
{
	if (!addr_find(t, pk))
		addr_put(t, pk, sa, false);
}

/* Same family, address and (with_port) port. */
static bool sa_equal(const struct sockaddr *a, const struct sockaddr *b, bool with_port)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a, *y = (const struct sockaddr_in *)b;
		return x->sin_addr.s_addr == y->sin_addr.s_addr && (!with_port || x->sin_port == y->sin_port);
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a, *y = (const struct sockaddr_in6 *)b;
		return !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) &&
		       (!with_port || x->sin6_port == y->sin6_port);
	}
	return false;
}

bool transport_addr_matches(const struct transport *t, const uint8_t pk[32],
			    const struct sockaddr *from)
{
	const struct addr_entry *a = addr_find(t, pk);

	return a && a->pinned && from && sa_equal((const struct sockaddr *)&a->sa, from, true);
}

void transport_forget(struct transport *t, const uint8_t pk[32])
{
	struct addr_entry *a = addr_find(t, pk);

	if (a)
		*a = t->addrs[--t->naddrs];
}

void transport_addr_str(const struct transport *t, const uint8_t pk[32], char *buf, size_t cap)
{
	const struct addr_entry *a = addr_find(t, pk);

	if (a)
		addr_text(&a->sa, buf, cap);
	else if (cap)
		buf[0] = 0;
}

void transport_get_stats(const struct transport *t, struct transport_stats *st)
{
	*st = t->st;
	st->conns = t->nin + t->nout;
	st->conns_in = t->nin;
	st->conns_out = t->nout;
}

/* ---- UDP ---- */

static void tx_flush(struct transport *t)
{
	struct mmsghdr mm[TX_BATCH];
	struct iovec iov[TX_BATCH];
	uv_os_fd_t fd;
	unsigned n = t->ntx, done = 0;

	t->ntx = 0;
	if (!n)
		return;
	if (uv_fileno((const uv_handle_t *)&t->udp, &fd) < 0) {
		t->st.send_drops += n;
		return;
	}
	memset(mm, 0, n * sizeof mm[0]);
	for (unsigned i = 0; i < n; i++) {
		iov[i].iov_base = t->tx[i].buf;
		iov[i].iov_len = t->tx[i].len;
		mm[i].msg_hdr.msg_name = &t->tx[i].sa;
		mm[i].msg_hdr.msg_namelen = t->tx[i].salen;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < n) {
		int r = sendmmsg(fd, mm + done, n - done, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {   /* the first one left was refused: drop it, go on */
			t->st.send_drops++;
			done++;
			continue;
		}
		for (unsigned i = done; i < done + (unsigned)r; i++) {
			t->st.dgram_out++;
			t->st.bytes_out += t->tx[i].len;
		}
		done += (unsigned)r;
	}
}

static void txflush_cb(uv_prepare_t *h)
{
	struct transport *t = h->data;

	if (t->before_flush)
		t->before_flush(t->ctx);
	tx_flush(t);
}

void transport_on_flush(struct transport *t, transport_flush_fn fn)
{
	t->before_flush = fn;
}

static void udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct transport *t = h->data;
	(void)hint;
	buf->base = (char *)t->dgram_buf;
	buf->len = sizeof t->dgram_buf;
}

static void udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *addr,
		     unsigned flags)
{
	struct transport *t = h->data;

	if (n <= 0 || !addr)
		return;
	t->st.dgram_in++;
	t->st.bytes_in += (uint64_t)n;
	if ((flags & UV_UDP_PARTIAL) || (size_t)n > t->keylen + ENGINE_MTU) {
		t->st.oversize_frames++;
		return;
	}
	if ((size_t)n < t->keylen + 2) {
		t->st.bad_datagrams++;
		return;
	}
	const uint8_t *p = (const uint8_t *)buf->base;
	if (t->keylen && memcmp(p, t->self, 32) == 0) {   /* claims to be us */
		t->st.bad_datagrams++;
		return;
	}
	t->recv(t->ctx, t->keylen ? p : NULL, p + t->keylen, (size_t)n - t->keylen, addr, false);
}

/* ---- TCP ---- */

static void conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct wreq *w = c->queued, *n;

	for (; w; w = n) {
		n = w->next;
		free(w);
	}
	free(c->rbuf);
	free(c);
}

static void conn_close(struct conn *c)
{
	struct transport *t = c->t;

	if (c->closing)
		return;
	c->closing = true;
	for (struct conn **pp = &t->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			if (c->outgoing)
				t->nout--;
			else
				t->nin--;
			break;
		}
	uv_close((uv_handle_t *)&c->h, conn_closed);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct conn *c = h->data;
	(void)hint;
	if (c->rcap - c->rlen < 4096 && c->rcap < MAX_FRAME + 4) {
		size_t nc = c->rcap ? c->rcap * 2 : 8192;
		if (nc > MAX_FRAME + 4)
			nc = MAX_FRAME + 4;
		uint8_t *nb = realloc(c->rbuf, nc);
		if (nb) {
			c->rbuf = nb;
			c->rcap = nc;
		}
	}
	buf->base = (char *)c->rbuf + c->rlen;
	buf->len = c->rcap - c->rlen;
}

/* The other side ended c (or refused it): tell the driver whose it was. */
static void conn_gone(struct conn *c, int status)
{
	struct transport *t = c->t;

	if (!t->gone || (status != UV_EOF && status != UV_ECONNRESET && status != UV_ECONNREFUSED))
		return;
	if (!c->outgoing && !c->last_valid)
		return;
	t->gone(t->ctx, c->has_pk ? c->pk : NULL, (struct sockaddr *)&c->peer_sa);
}

static void conn_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	struct transport *t = c->t;
	(void)buf;

	if (n < 0) {
		conn_close(c);
		conn_gone(c, (int)n);
		return;
	}
	if (n == 0)
		return;
	c->rlen += (size_t)n;
	t->st.bytes_in += (uint64_t)n;
	size_t off = 0;
	while (c->rlen - off >= 4) {
		const uint8_t *p = c->rbuf + off;
		uint32_t flen = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
		if (flen > MAX_FRAME || flen < t->keylen + 2) {
			t->st.oversize_frames++;
			conn_close(c);
			return;
		}
		if (c->rlen - off - 4 < flen)
			break;
		t->st.stream_in++;
		if (!t->keylen || memcmp(p + 4, t->self, 32) != 0) {
			/* only a message the driver takes keeps the connection */
			if (t->recv(t->ctx, t->keylen ? p + 4 : NULL, p + 4 + t->keylen, flen - t->keylen,
				    (struct sockaddr *)&c->peer_sa, true) == 0) {
				c->last_valid = c->last_active = uv_now(t->loop);
				if (!c->has_pk && t->keylen) {
					memcpy(c->pk, p + 4, 32);
					c->has_pk = true;
				}
			}
		} else {
			t->st.bad_datagrams++;
		}
		if (c->closing)
			return;
		off += 4 + flen;
	}
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
	c->partial_since = c->rlen ? (c->partial_since ? c->partial_since : uv_now(t->loop)) : 0;
}

static struct conn *conn_new(struct transport *t, bool outgoing)
{
	struct conn *c;

	if (outgoing && t->nout >= MAX_OUT_CONNS)
		return NULL;
	if (!outgoing && t->nin > MAX_IN_CONNS)   /* one spare: make_room() after accept */
		return NULL;
	c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->t = t;
	c->outgoing = outgoing;
	c->last_active = c->opened_at = uv_now(t->loop);
	if (uv_tcp_init(t->loop, &c->h) < 0) {
		free(c);
		return NULL;
	}
	c->h.data = c;
	c->next = t->conns;
	t->conns = c;
	if (outgoing)
		t->nout++;
	else
		t->nin++;
	return c;
}

/* Is a a better eviction victim than b: no valid message yet before one,
 * then the longer silent. */
static bool worse_conn(const struct conn *a, const struct conn *b)
{
	if (!a->last_valid != !b->last_valid)
		return !a->last_valid;
	return a->last_valid ? a->last_valid < b->last_valid : a->opened_at < b->opened_at;
}

/* Make room for nc, an inbound connection just accepted: over the
 * per-source bound the worst other connection of its source goes, over the
 * inbound budget the worst other inbound one. */
static void make_room(struct transport *t, const struct conn *nc)
{
	const struct sockaddr *src = (const struct sockaddr *)&nc->peer_sa;
	struct conn *worst_src = NULL, *worst = NULL;
	unsigned nsrc = 0;

	for (struct conn *c = t->conns; c; c = c->next) {
		if (c->outgoing || c->closing || c == nc)
			continue;
		if (!worst || worse_conn(c, worst))
			worst = c;
		if (sa_equal((const struct sockaddr *)&c->peer_sa, src, false)) {
			nsrc++;
			if (!worst_src || worse_conn(c, worst_src))
				worst_src = c;
		}
	}
	struct conn *v = nsrc >= MAX_IN_PER_SOURCE ? worst_src : t->nin > MAX_IN_CONNS ? worst : NULL;
	if (v) {
		t->st.conns_evicted++;
		conn_close(v);
	}
}

static void on_accept(uv_stream_t *srv, int status)
{
	struct transport *t = srv->data;
	struct conn *c;

	if (status < 0)
		return;
	c = conn_new(t, false);
	if (!c) {
		/* over the limit: take it and close it at once */
		uv_tcp_t *tmp = malloc(sizeof *tmp);
		t->st.conns_refused++;
		if (tmp && uv_tcp_init(t->loop, tmp) == 0) {
			if (uv_accept(srv, (uv_stream_t *)tmp) == 0)
				uv_close((uv_handle_t *)tmp, (uv_close_cb)free);
			else
				uv_close((uv_handle_t *)tmp, (uv_close_cb)free);
		} else {
			free(tmp);
		}
		return;
	}
	int salen = sizeof c->peer_sa;
	if (uv_accept(srv, (uv_stream_t *)&c->h) < 0 ||
	    uv_tcp_getpeername(&c->h, (struct sockaddr *)&c->peer_sa, &salen) < 0 ||
	    uv_read_start((uv_stream_t *)&c->h, conn_alloc, conn_read) < 0) {
		conn_close(c);
		return;
	}
	make_room(t, c);
}

static void write_done(uv_write_t *req, int status)
{
	struct wreq *w = req->data;
	(void)status;
	free(w);
}

static int conn_write(struct conn *c, struct wreq *w)
{
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);

	w->req.data = w;
	if (uv_write(&w->req, (uv_stream_t *)&c->h, &b, 1, write_done) < 0) {
		free(w);
		return -EIO;
	}
	c->t->st.bytes_out += w->len;
	return 0;
}

static void on_connect(uv_connect_t *req, int status)
{
	struct conn *c = req->data;
	struct wreq *w, *n;

	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c);
		conn_gone(c, status);
		return;
	}
	c->connected = true;
	w = c->queued;
	c->queued = NULL;
	c->queued_bytes = 0;
	for (; w; w = n) {
		n = w->next;
		conn_write(c, w);
	}
	if (uv_read_start((uv_stream_t *)&c->h, conn_alloc, conn_read) < 0)
		conn_close(c);
}

/* An outgoing connection to pk at sa, connecting (NULL if it cannot start). */
static struct conn *conn_connect(struct transport *t, const uint8_t pk[32], const struct sockaddr *sa)
{
	struct conn *c = conn_new(t, true);

	if (!c)
		return NULL;
	memcpy(c->pk, pk, 32);
	c->has_pk = true;
	memcpy(&c->peer_sa, sa, sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							  : sizeof(struct sockaddr_in));
	c->creq.data = c;
	c->connect_at = uv_now(t->loop);
	c->tries = 1;
	if (uv_tcp_connect(&c->creq, &c->h, sa, on_connect) < 0) {
		conn_close(c);
		return NULL;
	}
	return c;
}

static int stream_send(struct transport *t, const uint8_t pk[32], const struct sockaddr *sa,
		       const uint8_t *msg, size_t len)
{
	struct conn *c;

	for (c = t->conns; c; c = c->next)
		if (c->outgoing && !c->closing && memcmp(c->pk, pk, 32) == 0)
			break;
	if (!c && !(c = conn_connect(t, pk, sa)))
		return -EHOSTUNREACH;
	size_t pending = c->connected ? uv_stream_get_write_queue_size((uv_stream_t *)&c->h)
				      : c->queued_bytes;
	if (pending + len > MAX_WRITE_QUEUE)
		return -ENOBUFS;
	size_t kl = t->keylen;
	struct wreq *w = malloc(sizeof *w + 4 + kl + len);
	if (!w)
		return -ENOMEM;
	uint32_t flen = (uint32_t)(kl + len);
	w->data[0] = (uint8_t)(flen >> 24);
	w->data[1] = (uint8_t)(flen >> 16);
	w->data[2] = (uint8_t)(flen >> 8);
	w->data[3] = (uint8_t)flen;
	memcpy(w->data + 4, t->self, kl);
	memcpy(w->data + 4 + kl, msg, len);
	w->len = 4 + kl + len;
	w->next = NULL;
	c->last_active = uv_now(t->loop);
	t->st.stream_out++;
	if (c->connected)
		return conn_write(c, w);
	struct wreq **pp = &c->queued;
	while (*pp)
		pp = &(*pp)->next;
	*pp = w;
	c->queued_bytes += w->len;
	return 0;
}

int transport_send(struct transport *t, const uint8_t pk[32], const uint8_t *msg, size_t len,
		   enum engine_chan chan)
{
	struct addr_entry *a = addr_find(t, pk);
	int rc;

	if (!a) {
		t->st.send_drops++;
		return -EHOSTUNREACH;
	}
	if (chan == CHAN_STREAM || len > ENGINE_MTU) {
		rc = stream_send(t, pk, (const struct sockaddr *)&a->sa, msg, len);
	} else {
		if (t->ntx == TX_BATCH)
			tx_flush(t);
		struct txd *x = &t->tx[t->ntx++];
		x->salen = a->sa.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						       : sizeof(struct sockaddr_in);
		memcpy(&x->sa, &a->sa, x->salen);
		memcpy(x->buf, t->self, t->keylen);
		memcpy(x->buf + t->keylen, msg, len);
		x->len = (uint16_t)(t->keylen + len);
		rc = 0;   /* sent (or dropped and counted) by tx_flush */
	}
	if (rc < 0)
		t->st.send_drops++;
	return rc;
}

/* A connect that did not complete within CONNECT_MS (its SYN went into a
 * tunnel that was not up yet: the kernel would resend it after 1, 3, 7 …
 * seconds) is started afresh, and the messages queued on it go with the
 * new attempt. They used to be dropped with it: the first anti-entropy
 * round of a new member (the only stream message it sends at first) was
 * lost whenever its tunnel took over 3 s (docs/faults.md). */
static void conn_retry(struct transport *t, struct conn *old)
{
	struct conn *c = conn_connect(t, old->pk, (const struct sockaddr *)&old->peer_sa);

	if (!c)
		return;   /* dropped with old; the engine's next round sends again */
	c->tries = old->tries + 1;
	c->queued = old->queued;
	c->queued_bytes = old->queued_bytes;
	c->last_active = old->last_active;
	old->queued = NULL;
	old->queued_bytes = 0;
	t->st.conns_retried++;
}

/* Data of ours the other end has not acknowledged (TCP is resending it,
 * backing off), or writes libuv still holds. */
static bool conn_stalled(struct conn *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	uv_os_fd_t fd;

	if (uv_stream_get_write_queue_size((uv_stream_t *)&c->h) > 0)
		return true;
	if (uv_fileno((uv_handle_t *)&c->h, &fd) < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return false;
	return ti.tcpi_unacked > 0 || ti.tcpi_backoff > 0;
}

void transport_peer_back(struct transport *t, const uint8_t pk[32])
{
	struct conn *c = t->conns, *n;

	for (; c; c = n) {
		n = c->next;
		if (c->closing || !(c->outgoing || c->has_pk) || memcmp(c->pk, pk, 32) != 0)
			continue;
		if (c->connected ? !conn_stalled(c) : !c->queued)
			continue;
		t->st.conns_reset_back++;
		if (!c->connected && c->tries < CONNECT_TRIES)
			conn_retry(t, c);   /* a fresh SYN now, the queued messages with it */
		conn_close(c);
	}
}

static void sweep_cb(uv_timer_t *h)
{
	struct transport *t = h->data;
	uint64_t now = uv_now(t->loop);
	struct conn *c = t->conns, *n;

	for (; c; c = n) {
		n = c->next;
		bool stuck = !c->connected && c->outgoing && now - c->connect_at > CONNECT_MS;
		if (now - c->last_active > IDLE_MS ||
		    (!c->outgoing && !c->last_valid && now - c->opened_at > FIRST_MS) ||
		    (c->partial_since && now - c->partial_since > PARTIAL_MS) || stuck) {
			t->st.conns_timed_out++;
			if (stuck && c->queued && c->tries < CONNECT_TRIES)
				conn_retry(t, c);
			conn_close(c);
		}
	}
}

int transport_open(uv_loop_t *loop, const struct sockaddr *listen, const uint8_t self_pk[32],
		   bool anonymous, transport_recv_fn recv, void *ctx, struct transport **out,
		   char *err, size_t errcap)
{
	struct transport *t = calloc(1, sizeof *t);
	int rc;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->loop = loop;
	memcpy(t->self, self_pk, 32);
	t->keylen = anonymous ? 0 : 32;
	t->recv = recv;
	t->ctx = ctx;
	uv_udp_init(loop, &t->udp);
	uv_tcp_init(loop, &t->listener);
	uv_timer_init(loop, &t->sweep);
	uv_prepare_init(loop, &t->txflush);
	t->udp.data = t->listener.data = t->sweep.data = t->txflush.data = t;
	uv_prepare_start(&t->txflush, txflush_cb);
	if ((rc = uv_udp_bind(&t->udp, listen, 0)) < 0 ||
	    (rc = uv_udp_recv_start(&t->udp, udp_alloc, udp_recv)) < 0) {
		snprintf(err, errcap, "UDP bind: %s", uv_strerror(rc));
		goto fail;
	}
	if ((rc = uv_tcp_bind(&t->listener, listen, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&t->listener, 64, on_accept)) < 0) {
		snprintf(err, errcap, "TCP listen: %s", uv_strerror(rc));
		goto fail;
	}
	uv_timer_start(&t->sweep, sweep_cb, SWEEP_MS, SWEEP_MS);
	*out = t;
	return 0;
fail:
	transport_close(t);
	return rc;
}

static void handle_closed(uv_handle_t *h)
{
	struct transport *t = h->data;

	if (--t->closing == 0) {
		free(t->addrs);
		free(t);
	}
}

void transport_on_gone(struct transport *t, transport_gone_fn fn)
{
	t->gone = fn;
}

void transport_close(struct transport *t)
{
	if (!t)
		return;
	while (t->conns)
		conn_close(t->conns);
	tx_flush(t);   /* a leave's last words */
	t->closing = 4;
	uv_close((uv_handle_t *)&t->txflush, handle_closed);
	uv_close((uv_handle_t *)&t->udp, handle_closed);
	uv_close((uv_handle_t *)&t->listener, handle_closed);
	uv_close((uv_handle_t *)&t->sweep, handle_closed);
}
