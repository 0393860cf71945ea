/* One HTTP GET at a time on the libuv loop (httpget.h): libcurl multi,
 * its sockets watched by uv_poll (one struct sock per socket, assigned to
 * it with curl_multi_assign, freed in its close callback), its timeout by
 * one uv_timer. Each wake-up is curl_multi_socket_action, then the
 * finished transfer, if any, is read off curl_multi_info_read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include "src/daemon/httpget.h"

struct sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct httpget *g;
};

struct httpget {
	uv_loop_t *loop;
	CURLM *multi;
	CURL *easy;                   /* the transfer under way, or NULL */
	uv_timer_t timer;
	bool timer_open;
	char *buf;
	size_t len, max;
	bool too_big;
	char err[CURL_ERROR_SIZE];
	httpget_done_fn done;
	void *arg;
};

static void sock_closed(uv_handle_t *h)
{
	free(h->data);
}

static void check_done(struct httpget *g)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(g->multi, &left))) {
		if (m->msg != CURLMSG_DONE || m->easy_handle != g->easy)
			continue;
		CURLcode rc = m->data.result;
		long status = 0;
		char err[CURL_ERROR_SIZE + 64];
		err[0] = 0;
		if (g->too_big)
			snprintf(err, sizeof err, "an answer over %zu bytes", g->max);
		else if (rc != CURLE_OK)
			snprintf(err, sizeof err, "%s", g->err[0] ? g->err : curl_easy_strerror(rc));
		else
			curl_easy_getinfo(g->easy, CURLINFO_RESPONSE_CODE, &status);
		curl_multi_remove_handle(g->multi, g->easy);
		curl_easy_cleanup(g->easy);
		g->easy = NULL;
		char *body = g->buf;
		size_t len = g->len;
		g->buf = NULL;
		g->len = 0;
		g->done(g->arg, err[0] ? 0 : status, body ? body : "", body ? len : 0, err);
		free(body);
		return;
	}
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct sock *s = p->data;
	struct httpget *g = s->g;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(g->multi, s->fd, flags, &running);
	check_done(g);
}

static void on_timeout(uv_timer_t *t)
{
	struct httpget *g = t->data;
	int running;

	curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(g);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct httpget *g = userp;
	struct sock *s = socketp;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s) {
			uv_poll_stop(&s->poll);
			uv_close((uv_handle_t *)&s->poll, sock_closed);
			curl_multi_assign(g->multi, fd, NULL);
		}
		return 0;
	}
	if (!s) {
		if (!(s = calloc(1, sizeof *s)))
			return -1;
		if (uv_poll_init_socket(g->loop, &s->poll, fd) < 0) {
			free(s);
			return -1;
		}
		s->fd = fd;
		s->g = g;
		s->poll.data = s;
		curl_multi_assign(g->multi, fd, s);
	}
	int ev = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
	return uv_poll_start(&s->poll, ev, on_poll) < 0 ? -1 : 0;
}

static int timer_cb(CURLM *multi, long ms, void *userp)
{
	struct httpget *g = userp;

	(void)multi;
	if (!g->timer_open)
		return 0;
	if (ms < 0)
		uv_timer_stop(&g->timer);
	else
		uv_timer_start(&g->timer, on_timeout, (uint64_t)ms, 0);   /* 0: at the next turn */
	return 0;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *arg)
{
	struct httpget *g = arg;
	size_t n = sz * nm;

	if (n > g->max - g->len) {
		g->too_big = true;
		return 0;   /* aborts the transfer */
	}
	char *q = realloc(g->buf, g->len + n + 1);
	if (!q)
		return 0;
	g->buf = q;
	memcpy(g->buf + g->len, p, n);
	g->len += n;
	g->buf[g->len] = 0;
	return n;
}

struct httpget *httpget_new(uv_loop_t *loop)
{
	struct httpget *g = calloc(1, sizeof *g);

	if (!g)
		return NULL;
	curl_global_init(CURL_GLOBAL_DEFAULT);   /* (once, at start: not thread-safe) */
	g->loop = loop;
	if (!(g->multi = curl_multi_init()) || uv_timer_init(loop, &g->timer) < 0) {
		if (g->multi)
			curl_multi_cleanup(g->multi);
		free(g);
		return NULL;
	}
	g->timer.data = g;
	g->timer_open = true;
	curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g);
	curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g);
	return g;
}

bool httpget_busy(const struct httpget *g)
{
	return g->easy != NULL;
}

int httpget_start(struct httpget *g, const char *url, size_t max, unsigned timeout_ms, httpget_done_fn done,
		  void *arg)
{
	CURL *c;

	if (g->easy)
		return -EBUSY;
	if (!g->timer_open)
		return -ECANCELED;
	if (!(c = curl_easy_init()))
		return -ENOMEM;
	g->err[0] = 0;
	g->too_big = false;
	g->max = max;
	g->done = done;
	g->arg = arg;
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK) {
		curl_easy_cleanup(c);
		return -EINVAL;
	}
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, g->err);
	if (curl_multi_add_handle(g->multi, c) != CURLM_OK) {
		curl_easy_cleanup(c);
		return -ENOMEM;
	}
	g->easy = c;
	/* a kick at the next turn: libcurl calls timer_cb only when its
	 * timeout changes, which a new transfer after a finished one may not */
	uv_timer_start(&g->timer, on_timeout, 0, 0);
	return 0;
}

void httpget_stop(struct httpget *g)
{
	if (!g)
		return;
	if (g->easy) {
		/* removing it closes its sockets: socket_cb closes their polls */
		curl_multi_remove_handle(g->multi, g->easy);
		curl_easy_cleanup(g->easy);
		g->easy = NULL;
	}
	if (g->timer_open) {
		g->timer_open = false;
		uv_close((uv_handle_t *)&g->timer, NULL);
	}
}

void httpget_free(struct httpget *g)
{
	if (!g)
		return;
	if (g->multi)
		curl_multi_cleanup(g->multi);
	free(g->buf);
	free(g);
}
