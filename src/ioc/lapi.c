/* HTTP to the LAPI on the libuv loop (lapi.h). The usual pairing of
 * curl's multi socket interface with libuv:
 *   - curl says which sockets it wants watched (socket callback): one
 *     uv_poll per socket, started, changed or closed accordingly;
 *   - curl says when it wants to be called without socket activity (timer
 *     callback): one uv_timer;
 *   - either firing calls curl_multi_socket_action, then finished
 *     transfers are collected (curl_multi_info_read) and their callbacks
 *     called.
 * Handles are embedded in structs freed in their close callbacks; the
 * struct lapi goes when its last handle closed. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "src/ioc/lapi.h"
#include "src/ioc/lapi_json.h"

struct sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct lapi *l;
	struct sock *next;
};

struct req {
	struct lapi *l;
	CURL *easy;
	struct curl_slist *headers;
	char *body;                /* what we send (owned) */
	char *buf;                 /* the answer */
	size_t len, cap;
	bool too_big;
	lapi_done_fn done;
	void *ctx;
	struct req *next;
};

struct lapi {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	char base[256];
	struct sock *socks;
	struct req *reqs;
	unsigned open_handles;     /* the timer and the polls not closed yet */
	bool closing;
};

static void maybe_free(struct lapi *l)
{
	if (l->closing && l->open_handles == 0)
		free(l);
}

static void handle_closed(uv_handle_t *h)
{
	struct lapi *l = h->data;

	l->open_handles--;
	maybe_free(l);
}

static void sock_closed(uv_handle_t *h)
{
	struct sock *s = (struct sock *)h;
	struct lapi *l = s->l;

	free(s);
	l->open_handles--;
	maybe_free(l);
}

static void sock_drop(struct lapi *l, struct sock *s)
{
	for (struct sock **p = &l->socks; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, sock_closed);
}

static void req_free(struct req *r)
{
	struct lapi *l = r->l;

	for (struct req **p = &l->reqs; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	curl_multi_remove_handle(l->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	if (r->body) {   /* a login holds a password */
		memset(r->body, 0, strlen(r->body));
		free(r->body);
	}
	free(r->buf);
	free(r);
}

static void collect(struct lapi *l)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(l->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct req *r;
		CURLcode res = m->data.result;
		long status = 0;
		char err[96] = "";
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (res == CURLE_OK) {
			curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		} else if (r->too_big) {
			snprintf(err, sizeof err, "answer over %u bytes", LAPI_MAX_BODY);
		} else {
			snprintf(err, sizeof err, "%s", curl_easy_strerror(res));
		}
		lapi_done_fn done = r->done;
		void *ctx = r->ctx;
		char *buf = r->buf;
		size_t len = r->len;
		r->buf = NULL;
		req_free(r);
		done(ctx, status, buf ? buf : "", buf ? len : 0, err[0] ? err : NULL);
		free(buf);
		if (l->closing)
			return;
	}
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct sock *s = (struct sock *)p;
	struct lapi *l = s->l;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(l->multi, s->fd, flags, &running);
	collect(l);
}

static void on_timer(uv_timer_t *t)
{
	struct lapi *l = t->data;
	int running;

	curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	collect(l);
}

static int socket_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct lapi *l = userp;
	struct sock *s = sockp;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			curl_multi_assign(l->multi, fd, NULL);
			sock_drop(l, s);
		}
		return 0;
	}
	if (!s) {
		if (l->closing || !(s = calloc(1, sizeof *s)))
			return -1;
		if (uv_poll_init_socket(l->loop, &s->poll, fd) < 0) {
			free(s);
			return -1;
		}
		s->fd = fd;
		s->l = l;
		s->next = l->socks;
		l->socks = s;
		l->open_handles++;
		curl_multi_assign(l->multi, fd, s);
	}
	int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
	uv_poll_start(&s->poll, ev, on_poll);
	return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct lapi *l = userp;

	(void)multi;
	if (timeout_ms < 0)
		uv_timer_stop(&l->timer);
	else   /* 0: at once, but from the loop, not from inside curl */
		uv_timer_start(&l->timer, on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct req *r = userdata;
	size_t n = size * nmemb;

	if (n > LAPI_MAX_BODY - r->len) {
		r->too_big = true;
		return 0;   /* curl fails the transfer */
	}
	if (r->len + n + 1 > r->cap) {
		size_t nc = r->cap ? r->cap : 4096;
		while (nc < r->len + n + 1)
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

struct lapi *lapi_new(uv_loop_t *loop, const char *base)
{
	static bool inited;
	struct lapi *l;

	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return NULL;
		inited = true;
	}
	if (strlen(base) >= sizeof l->base || !(l = calloc(1, sizeof *l)))
		return NULL;
	snprintf(l->base, sizeof l->base, "%s", base);
	l->loop = loop;
	if (!(l->multi = curl_multi_init())) {
		free(l);
		return NULL;
	}
	uv_timer_init(loop, &l->timer);
	l->timer.data = l;
	l->open_handles = 1;
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(l->multi, CURLMOPT_SOCKETDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(l->multi, CURLMOPT_TIMERDATA, l);
	curl_multi_setopt(l->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 4L);
	return l;
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int lapi_request(struct lapi *l, const char *method, const char *path,
		 const char *const *headers, const char *body, unsigned timeout_ms,
		 lapi_done_fn done, void *ctx)
{
	char url[1024];
	struct req *r;

	if (l->closing || !printable(path) || path[0] != '/' ||
	    (size_t)snprintf(url, sizeof url, "%s%s", l->base, path) >= sizeof url)
		return -EINVAL;
	if (!(r = calloc(1, sizeof *r)))
		return -ENOMEM;
	r->l = l;
	r->done = done;
	r->ctx = ctx;
	if (!(r->easy = curl_easy_init()))
		goto nomem;
	for (const char *const *h = headers; h && *h; h++) {
		struct curl_slist *n;
		if (!printable(*h)) {
			curl_slist_free_all(r->headers);
			curl_easy_cleanup(r->easy);
			free(r);
			return -EINVAL;
		}
		if (!(n = curl_slist_append(r->headers, *h)))
			goto nomem;
		r->headers = n;
	}
	if (body) {
		struct curl_slist *n = curl_slist_append(r->headers, "Content-Type: application/json");
		if (!n || !(r->body = strdup(body)))
			goto nomem;
		r->headers = n;
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	}
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, (char *)r);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms < 5000 ? timeout_ms : 5000));
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	/* crowdsec 1.4.6 refuses a login without "NAME/VERSION" here (it
	 * records the version): "incorrect Username or Password" */
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "mirrornet/" MN_VERSION);
	curl_easy_setopt(r->easy, CURLOPT_NOPROXY, "*");   /* the LAPI is local */
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	if (curl_multi_add_handle(l->multi, r->easy) != CURLM_OK)
		goto nomem;
	r->next = l->reqs;
	l->reqs = r;
	return 0;
nomem:
	curl_slist_free_all(r->headers);
	if (r->easy)
		curl_easy_cleanup(r->easy);
	free(r->body);
	free(r);
	return -ENOMEM;
}

unsigned lapi_pending(const struct lapi *l)
{
	unsigned n = 0;

	for (const struct req *r = l->reqs; r; r = r->next)
		n++;
	return n;
}

void lapi_close(struct lapi *l)
{
	if (!l || l->closing)
		return;
	l->closing = true;
	while (l->reqs)
		req_free(l->reqs);
	curl_multi_cleanup(l->multi);   /* may close sockets through socket_cb */
	l->multi = NULL;
	while (l->socks) {
		struct sock *s = l->socks;
		l->socks = s->next;
		uv_poll_stop(&s->poll);
		uv_close((uv_handle_t *)&s->poll, sock_closed);
	}
	uv_timer_stop(&l->timer);
	uv_close((uv_handle_t *)&l->timer, handle_closed);
}
