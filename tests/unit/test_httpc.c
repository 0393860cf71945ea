/* httpc (src/http/httpc.c): libcurl multi on a libuv loop, against a libuv TCP
 * server in the same loop that answers every connection with a fixed HTTP
 * response: an answer read whole, one over the bound refused, a closed
 * port an error, a protocol not allowed an error, a POST's headers and
 * body sent, control bytes refused, two at once, close during transfers
 * (no callback, every handle closed, -ECANCELED after). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "tests/check.h"
#include "src/http/httpc.h"

static uv_loop_t loop;
static uv_tcp_t server;
static const char *answer;          /* what the server sends; NULL: nothing (hangs) */
static int port;
static char request[1024];          /* the last request's first bytes */

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

	if (n < 0) {
		uv_close((uv_handle_t *)s, conn_closed);
		return;
	}
	if (n > 0)
		snprintf(request, sizeof request, "%.*s", (int)n, b->base);
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
	snprintf(r->err, sizeof r->err, "%s", err ? err : "");
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

static void get(struct httpc *g, const char *path, int p, size_t max, struct result *r)
{
	char url[100];
	struct httpc_req q = { .url = url, .max = max, .timeout_ms = 3000 };

	memset(r, 0, sizeof *r);
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", p, path);
	CHECK_INT(httpc_start(g, &q, done, r), 0);
	turn_until(&r->called);
}

static void walk_close(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, h->data && h != (uv_handle_t *)&server ? conn_closed : NULL);
}

/* Is libcurl mapped into this process? */
static bool maps_libcurl(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof line, f))
		found = strstr(line, "/libcurl") != NULL;
	fclose(f);
	return found;
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

	static const struct httpc_conf conf = { .protocols = "http", .no_reuse = true };
	struct httpc *g = httpc_new(&loop, &conf);
	CHECK(g != NULL);
	CHECK(!maps_libcurl());   /* a client that has not asked yet costs no libcurl */
	CHECK_STR(httpc_load_error(), "");
	answer = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"data\":[]}";
	get(g, "/v1/models", port, 1024, &r);
	CHECK(r.called);
	CHECK(maps_libcurl());    /* loaded by the first request */
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
	struct httpc_req q = { .url = "ftp://127.0.0.1/", .max = 10, .timeout_ms = 1000 };
	CHECK_INT(httpc_start(g, &q, done, &r), 0);
	turn_until(&r.called);
	CHECK(r.called && r.status == 0 && r.err[0]);

	/* a POST: the method, the headers and the JSON body go out */
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/alerts", port);
	const char *hdr[] = { "X-Api-Key: k1", NULL };
	answer = "HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]";
	q = (struct httpc_req){ .method = "POST", .url = url, .headers = hdr, .body = "{\"a\":1}",
				.max = 100, .timeout_ms = 3000 };
	memset(&r, 0, sizeof r);
	CHECK_INT(httpc_start(g, &q, done, &r), 0);
	CHECK_INT(httpc_pending(g), 1);
	turn_until(&r.called);
	CHECK_INT(r.status, 201);
	CHECK_STR(r.body, "[]");
	CHECK(strncmp(request, "POST /v1/alerts HTTP/1.1\r\n", 26) == 0);
	CHECK(strstr(request, "\r\nX-Api-Key: k1\r\n") && strstr(request, "application/json"));
	CHECK(strstr(request, "\r\nUser-Agent: mirrornet/"));
	CHECK_INT(httpc_pending(g), 0);

	/* a control byte in a header or the URL: refused, no callback */
	const char *bad[] = { "X-Api-Key: k1\r\nX-Evil: 1", NULL };
	q.headers = bad;
	CHECK_INT(httpc_start(g, &q, done, &r), -EINVAL);
	q = (struct httpc_req){ .url = "http://127.0.0.1/\n", .max = 10, .timeout_ms = 1000 };
	CHECK_INT(httpc_start(g, &q, done, &r), -EINVAL);
	CHECK_INT(httpc_pending(g), 0);

	/* two at once; close in the middle: no callback */
	answer = NULL;
	struct result r2;
	memset(&r, 0, sizeof r);
	memset(&r2, 0, sizeof r2);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
	q = (struct httpc_req){ .url = url, .max = 100, .timeout_ms = 3000 };
	CHECK_INT(httpc_start(g, &q, done, &r), 0);
	CHECK_INT(httpc_start(g, &q, done, &r2), 0);
	CHECK_INT(httpc_pending(g), 2);
	for (int i = 0; i < 20; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	httpc_close(g);
	CHECK_INT(httpc_start(g, &q, done, &r), -ECANCELED);   /* (still ours: its handles close) */
	uv_walk(&loop, walk_close, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(!r.called && !r2.called);
	CHECK_INT(uv_loop_close(&loop), 0);
	return check_exit();
}
