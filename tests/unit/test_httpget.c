/* httpget (src/daemon/httpget.c): libcurl multi on a libuv loop, against a
 * libuv TCP server in the same loop that answers every connection with a
 * fixed HTTP response: an answer read whole, one over the bound refused,
 * a closed port an error, one at a time (-EBUSY), stop during a transfer
 * (no callback, every handle closed). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "tests/check.h"
#include "src/daemon/httpget.h"

static uv_loop_t loop;
static uv_tcp_t server;
static const char *answer;          /* what the server sends; NULL: nothing (hangs) */
static int port;

struct conn {
	uv_tcp_t tcp;
	uv_write_t w;
};

static void conn_closed(uv_handle_t *h)
{
	free(h->data);
}

static void written(uv_write_t *w, int status)
{
	(void)status;
	uv_close((uv_handle_t *)w->handle, conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t n, uv_buf_t *b)
{
	static char buf[4096];

	(void)h;
	(void)n;
	*b = uv_buf_init(buf, sizeof buf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct conn *c = s->data;

	(void)b;
	if (n < 0) {
		uv_close((uv_handle_t *)s, conn_closed);
		return;
	}
	if (n > 0 && answer) {   /* (the request's first bytes: answer at once) */
		uv_read_stop(s);
		uv_buf_t out = uv_buf_init((char *)(uintptr_t)answer, (unsigned)strlen(answer));
		uv_write(&c->w, s, &out, 1, written);
	}
}

static void on_conn(uv_stream_t *srv, int status)
{
	struct conn *c = calloc(1, sizeof *c);

	CHECK(status == 0 && c);
	uv_tcp_init(&loop, &c->tcp);
	c->tcp.data = c;
	CHECK_INT(uv_accept(srv, (uv_stream_t *)&c->tcp), 0);
	uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

struct result {
	bool called;
	long status;
	char body[256], err[256];
};

static void done(void *arg, long status, const char *body, size_t len, const char *err)
{
	struct result *r = arg;

	r->called = true;
	r->status = status;
	snprintf(r->body, sizeof r->body, "%.*s", (int)len, body);
	snprintf(r->err, sizeof r->err, "%s", err);
}

/* Turn the loop until *flag (5 s at most: the server keeps the loop
 * alive, so no blocking run). */
static void turn_until(const bool *flag)
{
	for (int i = 0; i < 5000 && !*flag; i++) {
		uv_run(&loop, UV_RUN_NOWAIT);
		if (!*flag)
			usleep(1000);
	}
}

static void get(struct httpget *g, const char *path, int p, size_t max, struct result *r)
{
	char url[100];

	memset(r, 0, sizeof *r);
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", p, path);
	CHECK_INT(httpget_start(g, url, max, 3000, done, r), 0);
	turn_until(&r->called);
}

static void walk_close(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, h->data && h != (uv_handle_t *)&server ? conn_closed : NULL);
}

int main(void)
{
	struct sockaddr_in sa;
	int len = sizeof sa;
	struct result r;

	CHECK_INT(uv_loop_init(&loop), 0);
	uv_tcp_init(&loop, &server);
	uv_ip4_addr("127.0.0.1", 0, &sa);
	CHECK_INT(uv_tcp_bind(&server, (const struct sockaddr *)&sa, 0), 0);
	CHECK_INT(uv_listen((uv_stream_t *)&server, 8, on_conn), 0);
	uv_tcp_getsockname(&server, (struct sockaddr *)&sa, &len);
	port = ntohs(sa.sin_port);

	struct httpget *g = httpget_new(&loop);
	CHECK(g != NULL);
	answer = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"data\":[]}";
	get(g, "/v1/models", port, 1024, &r);
	CHECK(r.called);
	CHECK_INT(r.status, 200);
	CHECK_STR(r.body, "{\"data\":[]}");
	CHECK_STR(r.err, "");

	get(g, "/v1/models", port, 5, &r);       /* over the bound */
	CHECK(r.called && r.status == 0 && strstr(r.err, "an answer over 5 bytes"));

	answer = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
	get(g, "/x", port, 1024, &r);
	CHECK_INT(r.status, 404);

	get(g, "/", 1, 1024, &r);                 /* nobody there */
	CHECK(r.called && r.status == 0 && r.err[0]);

	memset(&r, 0, sizeof r);                  /* not http: refused, with done */
	CHECK_INT(httpget_start(g, "ftp://127.0.0.1/", 10, 1000, done, &r), 0);
	turn_until(&r.called);
	CHECK(r.called && r.status == 0 && r.err[0]);

	/* one at a time; stop in the middle: no callback */
	answer = NULL;
	memset(&r, 0, sizeof r);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
	CHECK_INT(httpget_start(g, url, 100, 3000, done, &r), 0);
	CHECK_INT(httpget_start(g, url, 100, 3000, done, &r), -EBUSY);
	for (int i = 0; i < 20; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	httpget_stop(g);
	CHECK_INT(httpget_start(g, url, 100, 3000, done, &r), -ECANCELED);
	uv_walk(&loop, walk_close, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(!r.called);
	httpget_free(g);
	CHECK_INT(uv_loop_close(&loop), 0);
	return check_exit();
}
