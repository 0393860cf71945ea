/* HTTP on the libuv loop (httpc.h). The usual pairing of curl's multi
 * socket interface with libuv:
 *   - curl says which sockets it wants watched (socket callback): one
 *     uv_poll per socket (struct sock, assigned to it with
 *     curl_multi_assign), started, changed or closed accordingly;
 *   - curl says when it wants to be called without socket activity (timer
 *     callback): one uv_timer;
 *   - either firing calls curl_multi_socket_action, then finished
 *     transfers are collected (curl_multi_info_read) and their callbacks
 *     called.
 * Handles are embedded in structs freed in their close callbacks; the
 * struct httpc goes when it is closed and its last handle closed.
 *
 * libcurl is not linked: it is loaded (dlopen) at the first request. A
 * daemon whose ai and ioc subsystems have nothing to ask never maps it —
 * Debian's libcurl with the libraries it needs (OpenSSL, GnuTLS,
 * Kerberos, LDAP, ...) were about 7.5 MiB of the daemon's resident pages
 * from its start (docs/size.md "Memory"). */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "src/http/httpc.h"

#define CONNECT_TIMEOUT_MS 5000u

/* The libcurl calls used here, resolved from the loaded library. */
static struct curl_api {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	const char *(*easy_strerror)(CURLcode);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_cleanup)(CURLM *);
	CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
	CURLMcode (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
	CURLMcode (*multi_assign)(CURLM *, curl_socket_t, void *);
	CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
	CURLMsg *(*multi_info_read)(CURLM *, int *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
} cu;

#define SYM(f) { "curl_" #f, offsetof(struct curl_api, f) }
static const struct { const char *name; size_t off; } curl_syms[] = {
	SYM(global_init), SYM(easy_init), SYM(easy_cleanup), SYM(easy_setopt),
	SYM(easy_getinfo), SYM(easy_strerror), SYM(multi_init), SYM(multi_cleanup),
	SYM(multi_setopt), SYM(multi_add_handle), SYM(multi_remove_handle),
	SYM(multi_assign), SYM(multi_socket_action), SYM(multi_info_read),
	SYM(slist_append), SYM(slist_free_all),
};
#undef SYM
_Static_assert(sizeof curl_syms / sizeof *curl_syms * sizeof(void (*)(void)) == sizeof cu,
	       "every libcurl call is resolved");

static char load_err[160];

/* Load libcurl and initialise it, once (the loop's thread only:
 * curl_global_init is not thread-safe). 0, or -ELIBACC with
 * httpc_load_error() saying why (tried again at the next request). */
static int curl_load(void)
{
	static const char *const sonames[] = { "libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so" };
	static bool loaded;
	void *h = NULL;

	if (loaded)
		return 0;
	for (size_t i = 0; !h && i < sizeof sonames / sizeof *sonames; i++)
		h = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(load_err, sizeof load_err, "cannot load libcurl: %s", e ? e : "not found");
		return -ELIBACC;
	}
	for (size_t i = 0; i < sizeof curl_syms / sizeof *curl_syms; i++) {
		void *f = dlsym(h, curl_syms[i].name);
		if (!f) {
			snprintf(load_err, sizeof load_err, "libcurl has no %s (too old)", curl_syms[i].name);
			dlclose(h);
			return -ELIBACC;
		}
		memcpy((char *)&cu + curl_syms[i].off, &f, sizeof f);
	}
	if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(load_err, sizeof load_err, "libcurl cannot start (curl_global_init)");
		dlclose(h);
		return -ELIBACC;
	}
	loaded = true;   /* (never closed: curl's global state lives till exit) */
	return 0;
}

const char *httpc_load_error(void)
{
	return load_err;
}

struct sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct httpc *c;
	struct sock *next;
};

struct req {
	struct httpc *c;
	CURL *easy;
	struct curl_slist *headers;
	char *body;                /* what we send (owned, wiped: a login holds a password) */
	char *buf;                 /* the answer */
	size_t len, cap, max;
	bool too_big;
	httpc_done_fn done;
	void *ctx;
	struct req *next;
	char err[CURL_ERROR_SIZE];
};

struct httpc {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	struct httpc_conf conf;
	struct sock *socks;
	struct req *reqs;
	unsigned open_handles;     /* the timer and the polls not closed yet */
	bool closing;
};

static void maybe_free(struct httpc *c)
{
	if (c->closing && c->open_handles == 0)
		free(c);
}

static void handle_closed(uv_handle_t *h)
{
	struct httpc *c = h->data;

	c->open_handles--;
	maybe_free(c);
}

static void sock_closed(uv_handle_t *h)
{
	struct sock *s = (struct sock *)h;
	struct httpc *c = s->c;

	free(s);
	c->open_handles--;
	maybe_free(c);
}

static void sock_close(struct sock *s)
{
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, sock_closed);
}

static void sock_drop(struct httpc *c, struct sock *s)
{
	for (struct sock **p = &c->socks; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	sock_close(s);
}

static void req_free(struct req *r)
{
	struct httpc *c = r->c;

	for (struct req **p = &c->reqs; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	if (r->easy) {
		cu.multi_remove_handle(c->multi, r->easy);
		cu.easy_cleanup(r->easy);
	}
	cu.slist_free_all(r->headers);
	if (r->body) {
		memset(r->body, 0, strlen(r->body));
		free(r->body);
	}
	free(r->buf);
	free(r);
}

static void collect(struct httpc *c)
{
	CURLMsg *m;
	int left;

	while (!c->closing && (m = cu.multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct req *r;
		CURLcode res = m->data.result;
		long status = 0;
		char err[CURL_ERROR_SIZE + 32] = "";
		cu.easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r->too_big)
			snprintf(err, sizeof err, "an answer over %zu bytes", r->max);
		else if (res != CURLE_OK)
			snprintf(err, sizeof err, "%s", r->err[0] ? r->err : cu.easy_strerror(res));
		else
			cu.easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		httpc_done_fn done = r->done;
		void *ctx = r->ctx;
		char *buf = r->buf;
		size_t len = r->len;
		r->buf = NULL;
		req_free(r);
		done(ctx, status, buf ? buf : "", buf ? len : 0, err[0] ? err : NULL);
		free(buf);
	}
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct sock *s = (struct sock *)p;
	struct httpc *c = s->c;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	cu.multi_socket_action(c->multi, s->fd, flags, &running);
	collect(c);
}

static void on_timer(uv_timer_t *t)
{
	struct httpc *c = t->data;
	int running;

	cu.multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	collect(c);
}

static int socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct httpc *c = userp;
	struct sock *s = sockp;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			cu.multi_assign(c->multi, fd, NULL);
			sock_drop(c, s);
		}
		return 0;
	}
	if (!s) {
		if (c->closing || !(s = calloc(1, sizeof *s)))
			return -1;
		if (uv_poll_init_socket(c->loop, &s->poll, fd) < 0) {
			free(s);
			return -1;
		}
		s->fd = fd;
		s->c = c;
		s->next = c->socks;
		c->socks = s;
		c->open_handles++;
		cu.multi_assign(c->multi, fd, s);
	}
	int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
	return uv_poll_start(&s->poll, ev, on_poll) < 0 ? -1 : 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct httpc *c = userp;

	(void)multi;
	if (c->closing)
		return 0;
	if (timeout_ms < 0)
		uv_timer_stop(&c->timer);
	else   /* 0: at once, but from the loop, not from inside curl */
		uv_timer_start(&c->timer, on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct req *r = userdata;
	size_t n = size * nmemb;

	if (n > r->max - r->len) {
		r->too_big = true;
		return 0;   /* curl fails the transfer */
	}
	if (n + 1 > r->cap - r->len) {
		size_t nc = r->cap ? r->cap : 4096;
		while (nc - r->len < n + 1)
			nc *= 2;
		char *q = realloc(r->buf, nc);
		if (!q)
			return 0;
		r->buf = q;
		r->cap = nc;
	}
	memcpy(r->buf + r->len, ptr, n);
	r->len += n;
	r->buf[r->len] = 0;
	return n;
}

struct httpc *httpc_new(uv_loop_t *loop, const struct httpc_conf *conf)
{
	struct httpc *c;

	if (!(c = calloc(1, sizeof *c)))
		return NULL;
	c->loop = loop;
	c->conf = *conf;
	if (uv_timer_init(loop, &c->timer) < 0) {
		free(c);
		return NULL;
	}
	c->timer.data = c;
	c->open_handles = 1;
	return c;
}

/* curl's multi handle, made at the first request (libcurl loaded then). */
static int multi_open(struct httpc *c)
{
	int rc;

	if (c->multi)
		return 0;
	if ((rc = curl_load()) < 0)
		return rc;
	if (!(c->multi = cu.multi_init()))
		return -ENOMEM;
	cu.multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	cu.multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	cu.multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	cu.multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	if (c->conf.max_conns)
		cu.multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c->conf.max_conns);
	return 0;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* The request's headers, each checked; -EINVAL or -ENOMEM. */
static int add_headers(struct req *r, const struct httpc_req *q)
{
	struct curl_slist *n;

	for (const char *const *h = q->headers; h && *h; h++) {
		if (!printable(*h))
			return -EINVAL;
		if (!(n = cu.slist_append(r->headers, *h)))
			return -ENOMEM;
		r->headers = n;
	}
	if (q->body) {
		if (!(n = cu.slist_append(r->headers, "Content-Type: application/json")))
			return -ENOMEM;
		r->headers = n;
		if (!(r->body = strdup(q->body)))
			return -ENOMEM;
	}
	return 0;
}

int httpc_start(struct httpc *c, const struct httpc_req *q, httpc_done_fn done, void *ctx)
{
	struct req *r;
	int rc;

	if (c->closing)
		return -ECANCELED;
	if (!printable(q->url))
		return -EINVAL;
	if ((rc = multi_open(c)) < 0)
		return rc;
	if (!(r = calloc(1, sizeof *r)))
		return -ENOMEM;
	r->c = c;
	r->max = q->max;
	r->done = done;
	r->ctx = ctx;
	r->next = c->reqs;
	c->reqs = r;   /* (req_free unlinks it on every failure below) */
	if (!(r->easy = cu.easy_init())) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((rc = add_headers(r, q)) < 0)
		goto fail;
	CURL *e = r->easy;
	if (cu.easy_setopt(e, CURLOPT_URL, q->url) != CURLE_OK ||
	    cu.easy_setopt(e, CURLOPT_PROTOCOLS_STR, c->conf.protocols) != CURLE_OK) {
		rc = -EINVAL;
		goto fail;
	}
	if (r->body) {
		cu.easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
		cu.easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	}
	if (q->method)
		cu.easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method);
	cu.easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	cu.easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	cu.easy_setopt(e, CURLOPT_WRITEDATA, r);
	cu.easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
	cu.easy_setopt(e, CURLOPT_ERRORBUFFER, r->err);
	cu.easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)q->timeout_ms);
	cu.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(q->timeout_ms < CONNECT_TIMEOUT_MS ? q->timeout_ms : CONNECT_TIMEOUT_MS));
	cu.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* crowdsec 1.4.6 refuses a login without "NAME/VERSION" here (it
	 * records the version): "incorrect Username or Password" */
	cu.easy_setopt(e, CURLOPT_USERAGENT, "mirrornet/" MN_VERSION);
	cu.easy_setopt(e, CURLOPT_NOPROXY, "*");   /* local servers only */
	cu.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	cu.easy_setopt(e, CURLOPT_FORBID_REUSE, c->conf.no_reuse ? 1L : 0L);
	if (cu.multi_add_handle(c->multi, e) != CURLM_OK) {
		rc = -ENOMEM;
		goto fail;
	}
	/* a kick at the next turn: curl calls timer_cb only when its timeout
	 * changes, which a new transfer after a finished one may not */
	uv_timer_start(&c->timer, on_timer, 0, 0);
	return 0;
fail:
	req_free(r);   /* (not added: the remove is a no-op) */
	return rc;
}

unsigned httpc_pending(const struct httpc *c)
{
	unsigned n = 0;

	for (const struct req *r = c->reqs; r; r = r->next)
		n++;
	return n;
}

void httpc_close(struct httpc *c)
{
	if (!c || c->closing)
		return;
	c->closing = true;
	while (c->reqs)
		req_free(c->reqs);   /* (removing a transfer closes its sockets: socket_cb) */
	if (c->multi)
		cu.multi_cleanup(c->multi);
	c->multi = NULL;
	while (c->socks) {
		struct sock *s = c->socks;
		c->socks = s->next;
		sock_close(s);
	}
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, handle_closed);
}
