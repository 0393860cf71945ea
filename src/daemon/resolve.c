/* c-ares in the libuv loop; see resolve.h.
 *
 * c-ares tells us which sockets it wants watched (sock_state_cb): each gets
 * a uv_poll_t; readiness goes back through ares_process_fd(). One timer
 * runs c-ares' own timeouts (ares_timeout). The cache is a small fixed
 * table (RES_CACHE entries, least recently used replaced). */
#include <arpa/inet.h>
#include <ares.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/daemon/resolve.h"
#include "src/daemon/config.h"

#define RES_CACHE 64
#define RES_POLLS 16
#define OK_TTL_MS 60000
#define FAIL_TTL_MS 10000

struct res_entry {
	char host[256];
	uint16_t port;
	struct sockaddr_storage sa;
	int status;              /* 0 ok, -ENOENT failed, -EAGAIN running */
	uint64_t at, used;
};

struct res_poll {
	uv_poll_t h;
	ares_socket_t fd;
	bool used, closing;
	struct resolver *r;
};

struct resolver {
	uv_loop_t *loop;
	ares_channel ch;
	uv_timer_t timer;
	struct res_poll polls[RES_POLLS];
	struct res_entry cache[RES_CACHE];
	void (*on_done)(void *);
	void *ctx;
	bool closing;
	int pending_closes;
	uint64_t now;
};

static void arm_timer(struct resolver *r);

static void poll_cb(uv_poll_t *h, int status, int events)
{
	struct res_poll *p = h->data;
	ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

	if (status < 0 || (events & UV_READABLE))
		rfd = p->fd;
	if (status < 0 || (events & UV_WRITABLE))
		wfd = p->fd;
	ares_process_fd(p->r->ch, rfd, wfd);
	arm_timer(p->r);
}

static void poll_closed(uv_handle_t *h)
{
	struct res_poll *p = h->data;
	struct resolver *r = p->r;

	p->used = p->closing = false;
	if (r->closing && --r->pending_closes == 0)
		free(r);
}

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct res_poll *p = NULL, *spare = NULL;

	for (int i = 0; i < RES_POLLS; i++) {
		if (r->polls[i].used && r->polls[i].fd == fd && !r->polls[i].closing)
			p = &r->polls[i];
		else if (!r->polls[i].used && !spare)
			spare = &r->polls[i];
	}
	if (!readable && !writable) {
		if (p) {
			p->closing = true;
			uv_close((uv_handle_t *)&p->h, poll_closed);
		}
		return;
	}
	if (!p) {
		if (!spare || uv_poll_init_socket(r->loop, &spare->h, fd) < 0)
			return;   /* c-ares times the query out */
		p = spare;
		p->used = true;
		p->fd = fd;
		p->r = r;
		p->h.data = p;
	}
	uv_poll_start(&p->h, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0), poll_cb);
}

static void timer_cb(uv_timer_t *h)
{
	struct resolver *r = h->data;

	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	arm_timer(r);
}

static void arm_timer(struct resolver *r)
{
	struct timeval tv, *t;

	if (r->closing)
		return;
	t = ares_timeout(r->ch, NULL, &tv);
	if (t)
		uv_timer_start(&r->timer, timer_cb, (uint64_t)t->tv_sec * 1000 + (uint64_t)t->tv_usec / 1000 + 1, 0);
	else
		uv_timer_stop(&r->timer);
}

struct res_query {
	struct resolver *r;
	char host[256];
	uint16_t port;
};

static struct res_entry *find(struct resolver *r, const char *host, uint16_t port)
{
	for (int i = 0; i < RES_CACHE; i++)
		if (r->cache[i].host[0] && r->cache[i].port == port && !strcmp(r->cache[i].host, host))
			return &r->cache[i];
	return NULL;
}

static void gai_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct res_query *q = arg;
	struct resolver *r = q->r;
	struct res_entry *e;

	(void)timeouts;
	if (status == ARES_EDESTRUCTION || r->closing) {
		if (res)
			ares_freeaddrinfo(res);
		free(q);
		return;
	}
	e = find(r, q->host, q->port);
	if (e) {
		e->status = -ENOENT;
		e->at = r->now;
		if (status == ARES_SUCCESS && res && res->nodes) {
			struct ares_addrinfo_node *n = res->nodes;
			memset(&e->sa, 0, sizeof e->sa);
			memcpy(&e->sa, n->ai_addr, (size_t)n->ai_addrlen <= sizeof e->sa ? (size_t)n->ai_addrlen : sizeof e->sa);
			if (e->sa.ss_family == AF_INET)
				((struct sockaddr_in *)&e->sa)->sin_port = htons(q->port);
			else
				((struct sockaddr_in6 *)&e->sa)->sin6_port = htons(q->port);
			e->status = 0;
		}
	}
	if (res)
		ares_freeaddrinfo(res);
	free(q);
	if (r->on_done)
		r->on_done(r->ctx);
}

struct resolver *resolver_new(uv_loop_t *loop, void (*on_done)(void *ctx), void *ctx,
			      char *err, size_t errcap)
{
	struct resolver *r = calloc(1, sizeof *r);
	struct ares_options opt;
	int rc;

	if (!r)
		return NULL;
	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		snprintf(err, errcap, "c-ares: %s", ares_strerror(rc));
		free(r);
		return NULL;
	}
	memset(&opt, 0, sizeof opt);
	opt.sock_state_cb = sock_state;
	opt.sock_state_cb_data = r;
	opt.timeout = 2000;
	opt.tries = 2;
	if ((rc = ares_init_options(&r->ch, &opt, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS |
				    ARES_OPT_TRIES)) != ARES_SUCCESS) {
		snprintf(err, errcap, "c-ares: %s", ares_strerror(rc));
		ares_library_cleanup();
		free(r);
		return NULL;
	}
	r->loop = loop;
	r->on_done = on_done;
	r->ctx = ctx;
	uv_timer_init(loop, &r->timer);
	r->timer.data = r;
	return r;
}

static void timer_closed(uv_handle_t *h)
{
	struct resolver *r = h->data;

	if (--r->pending_closes == 0)
		free(r);
}

void resolver_free(struct resolver *r)
{
	if (!r)
		return;
	r->closing = true;
	ares_destroy(r->ch);   /* cancels queries (their callbacks see EDESTRUCTION) */
	ares_library_cleanup();
	r->pending_closes = 1;
	for (int i = 0; i < RES_POLLS; i++)
		if (r->polls[i].used && !r->polls[i].closing) {
			r->polls[i].closing = true;
			r->pending_closes++;
			uv_close((uv_handle_t *)&r->polls[i].h, poll_closed);
		} else if (r->polls[i].closing) {
			r->pending_closes++;
		}
	uv_close((uv_handle_t *)&r->timer, timer_closed);
}

/* Split "host:port" / "[v6]:port". */
static int split(const char *hp, char *host, size_t cap, uint16_t *port)
{
	const char *colon;
	char *end;

	if (hp[0] == '[') {
		const char *rb = strchr(hp, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - hp - 1) >= cap)
			return -EINVAL;
		memcpy(host, hp + 1, (size_t)(rb - hp - 1));
		host[rb - hp - 1] = 0;
		colon = rb + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon || (size_t)(colon - hp) >= cap || colon == hp)
			return -EINVAL;
		memcpy(host, hp, (size_t)(colon - hp));
		host[colon - hp] = 0;
	}
	long p = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || p < 1 || p > 65535)
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

int resolver_lookup(struct resolver *r, const char *hostport, struct sockaddr_storage *sa,
		    uint64_t now_ms)
{
	char host[256];
	uint16_t port;
	size_t salen;

	if (addr_parse(hostport, sa, &salen) == 0)
		return 0;   /* numeric */
	if (split(hostport, host, sizeof host, &port) < 0)
		return -EINVAL;
	if (!r)
		return -ENOENT;   /* no resolver: numeric endpoints only */
	r->now = now_ms;
	struct res_entry *e = find(r, host, port);
	if (e) {
		e->used = now_ms;
		if (e->status == -EAGAIN)
			return -EAGAIN;
		uint64_t ttl = e->status == 0 ? OK_TTL_MS : FAIL_TTL_MS;
		if (now_ms - e->at < ttl) {
			if (e->status == 0)
				*sa = e->sa;
			return e->status;
		}
	} else {
		/* a free slot, or the least recently used one */
		e = &r->cache[0];
		for (int i = 0; i < RES_CACHE; i++) {
			if (!r->cache[i].host[0]) {
				e = &r->cache[i];
				break;
			}
			if (r->cache[i].status != -EAGAIN && r->cache[i].used < e->used)
				e = &r->cache[i];
		}
		if (e->status == -EAGAIN && e->host[0])
			return -EAGAIN;   /* every slot busy */
		memset(e, 0, sizeof *e);
		snprintf(e->host, sizeof e->host, "%s", host);
		e->port = port;
		e->used = now_ms;
	}
	struct res_query *q = calloc(1, sizeof *q);
	if (!q)
		return -ENOMEM;
	q->r = r;
	snprintf(q->host, sizeof q->host, "%s", host);
	q->port = port;
	e->status = -EAGAIN;
	struct ares_addrinfo_hints hints;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	ares_getaddrinfo(r->ch, host, NULL, &hints, gai_cb, q);
	arm_timer(r);
	return -EAGAIN;
}

void resolver_forget(struct resolver *r, const char *hostport)
{
	char host[256];
	uint16_t port;

	if (!r || split(hostport, host, sizeof host, &port) < 0)
		return;
	struct res_entry *e = find(r, host, port);
	if (e && e->status != -EAGAIN)
		e->at = 0;
}
