/* The join client (src/onboard/joinclient.h) against a tiny join service
 * in the test, on 127.0.0.1 and one libuv loop: the request arrives
 * whole, a whole answer is handed over and acknowledged with {0,0,0,1,0}
 * (also when it comes in pieces), the grace ends at the server's close or
 * its bound; a malformed, cut or missing answer, a refused connection and
 * a bad spec are errors; a cancelled exchange never calls back; the source
 * address is the one asked for. */
#include <errno.h>
#include <stdbool.h>
#include <uv.h>
#include "tests/check.h"
#include "src/join_msg.h"
#include "src/onboard/joinclient.h"

enum mode {
	ANSWER_CLOSE,   /* answer, close on the ack */
	ANSWER_STAY,    /* answer, stay open */
	ANSWER_SPLIT,   /* answer in two writes 50 ms apart, close on the ack */
	SILENT,         /* never answer */
	HALF_CLOSE,     /* half the answer, then close */
};

struct server {
	uv_tcp_t srv, conn;
	uv_timer_t later;
	uv_write_t w1, w2;
	bool has_conn, answered, eof, fired;
	enum mode mode;
	const uint8_t *answer;
	size_t answer_len, reqlen;
	uint8_t got[JOIN_MAX_FRAME + 64];
	size_t gotlen;
	struct sockaddr_storage peer;
	struct sockaddr_storage addr;   /* where it listens */
};

struct result {
	int calls, status;
	uint8_t ans[JOIN_MAX_ANSWER];
	size_t len;
	char err[256];
	uint64_t at_ms;
};

static uv_loop_t loop;
static uint8_t answer_ok[JOIN_MAX_ANSWER], answer_bad[] = { 0, 0, 0, 0, 1 };
static size_t answer_ok_len;
static uint8_t req[64];

static void srv_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct server *s = h->data;

	(void)hint;
	*b = uv_buf_init((char *)s->got + s->gotlen, (unsigned)(sizeof s->got - s->gotlen));
}

static void srv_close_conn(struct server *s)
{
	if (s->has_conn && !uv_is_closing((uv_handle_t *)&s->conn))
		uv_close((uv_handle_t *)&s->conn, NULL);
}

static void srv_written(uv_write_t *w, int status)
{
	struct server *s = w->data;

	(void)status;
	if (s->mode == HALF_CLOSE)
		srv_close_conn(s);
}

static void srv_write(struct server *s, uv_write_t *w, const uint8_t *p, size_t n)
{
	uv_buf_t b = uv_buf_init((char *)(uintptr_t)p, (unsigned)n);   /* (only read) */

	w->data = s;
	uv_write(w, (uv_stream_t *)&s->conn, &b, 1, srv_written);
}

static void srv_second_half(uv_timer_t *t)
{
	struct server *s = t->data;
	size_t half = s->answer_len / 2;

	srv_write(s, &s->w2, s->answer + half, s->answer_len - half);
}

static void srv_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
	struct server *s = st->data;

	(void)b;
	if (nread < 0) {
		s->eof = true;
		srv_close_conn(s);
		return;
	}
	s->gotlen += (size_t)nread;
	if (!s->answered && s->gotlen >= s->reqlen && s->mode != SILENT) {
		s->answered = true;
		if (s->mode == ANSWER_SPLIT || s->mode == HALF_CLOSE)
			srv_write(s, &s->w1, s->answer, s->answer_len / 2);
		else
			srv_write(s, &s->w1, s->answer, s->answer_len);
		if (s->mode == ANSWER_SPLIT)
			uv_timer_start(&s->later, srv_second_half, 50, 0);
	}
	/* the ack: the service swaps the tunnel and closes */
	if (s->gotlen >= s->reqlen + 5 && s->mode != ANSWER_STAY)
		srv_close_conn(s);
}

static void srv_conn(uv_stream_t *l, int status)
{
	struct server *s = l->data;
	int len = sizeof s->peer;

	CHECK_INT(status, 0);
	uv_tcp_init(&loop, &s->conn);
	s->conn.data = s;
	s->has_conn = true;
	CHECK_INT(uv_accept(l, (uv_stream_t *)&s->conn), 0);
	uv_tcp_getpeername(&s->conn, (struct sockaddr *)&s->peer, &len);
	uv_read_start((uv_stream_t *)&s->conn, srv_alloc, srv_read);
}

static void srv_start(struct server *s, enum mode mode, const uint8_t *answer, size_t len)
{
	struct sockaddr_in sin;
	int n = sizeof s->addr;

	memset(s, 0, sizeof *s);
	s->mode = mode;
	s->answer = answer;
	s->answer_len = len;
	s->reqlen = sizeof req;
	uv_tcp_init(&loop, &s->srv);
	uv_timer_init(&loop, &s->later);
	s->srv.data = s->later.data = s;
	uv_ip4_addr("127.0.0.1", 0, &sin);
	CHECK_INT(uv_tcp_bind(&s->srv, (const struct sockaddr *)&sin, 0), 0);
	CHECK_INT(uv_listen((uv_stream_t *)&s->srv, 4, srv_conn), 0);
	uv_tcp_getsockname(&s->srv, (struct sockaddr *)&s->addr, &n);
}

/* Once the client has gone (what it sent all read), the server goes. */
static void srv_stop(struct server *s)
{
	while (s->has_conn && !s->eof && !uv_is_closing((uv_handle_t *)&s->conn) &&
	       uv_run(&loop, UV_RUN_ONCE))
		;
	srv_close_conn(s);
	uv_close((uv_handle_t *)&s->srv, NULL);
	uv_close((uv_handle_t *)&s->later, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
}

static void done(void *arg, int status, const uint8_t *ans, size_t len, const char *err)
{
	struct result *r = arg;

	r->calls++;
	r->status = status;
	r->at_ms = uv_now(&loop);
	if (status == 0) {
		CHECK(err == NULL);
		CHECK(len <= sizeof r->ans);
		memcpy(r->ans, ans, len);
		r->len = len;
	} else {
		CHECK(err != NULL && err[0]);
		snprintf(r->err, sizeof r->err, "%s", err ? err : "");
	}
}

/* Run one exchange with the server to its end; the time it took in *ms. */
static void run(struct server *s, const struct sockaddr_storage *src, uint64_t timeout_ms,
		uint64_t grace_ms, struct result *r, uint64_t *ms)
{
	struct joinclient *jc = NULL;
	struct joinclient_spec spec = {
		.dst = &s->addr, .src = src, .req = req, .reqlen = sizeof req,
		.timeout_ms = timeout_ms, .grace_ms = grace_ms, .done = done, .arg = r,
	};

	memset(r, 0, sizeof *r);
	uv_update_time(&loop);
	uint64_t t0 = uv_now(&loop);
	CHECK_INT(joinclient_start(&loop, &spec, &jc), 0);
	while (!r->calls && uv_run(&loop, UV_RUN_ONCE))
		;
	CHECK_INT(r->calls, 1);
	*ms = r->at_ms - t0;
}

static void test_answer(void)
{
	struct server s;
	struct result r;
	uint64_t ms;

	/* the server closes on the ack: the grace ends there */
	srv_start(&s, ANSWER_CLOSE, answer_ok, answer_ok_len);
	run(&s, NULL, 5000, 3000, &r, &ms);
	CHECK_INT(r.status, 0);
	CHECK_INT(r.len, answer_ok_len);
	CHECK_MEM(r.ans, answer_ok, answer_ok_len);
	CHECK_INT(s.gotlen, sizeof req + 5);
	CHECK_MEM(s.got, req, sizeof req);
	static const uint8_t ack[5] = { 0, 0, 0, 1, 0 };
	CHECK_MEM(s.got + sizeof req, ack, 5);
	CHECK(ms < 3000);
	srv_stop(&s);

	/* the server stays: the grace ends at its bound */
	srv_start(&s, ANSWER_STAY, answer_ok, answer_ok_len);
	run(&s, NULL, 5000, 150, &r, &ms);
	CHECK_INT(r.status, 0);
	CHECK_INT(r.len, answer_ok_len);
	CHECK(ms >= 150);
	srv_stop(&s);
	CHECK_INT(s.gotlen, sizeof req + 5);

	/* no grace: done once the ack is written */
	srv_start(&s, ANSWER_STAY, answer_ok, answer_ok_len);
	run(&s, NULL, 5000, 0, &r, &ms);
	CHECK_INT(r.status, 0);
	srv_stop(&s);
	CHECK_INT(s.gotlen, sizeof req + 5);

	/* in two pieces */
	srv_start(&s, ANSWER_SPLIT, answer_ok, answer_ok_len);
	run(&s, NULL, 5000, 3000, &r, &ms);
	CHECK_INT(r.status, 0);
	CHECK_INT(r.len, answer_ok_len);
	CHECK_MEM(r.ans, answer_ok, answer_ok_len);
	CHECK(ms >= 50);
	srv_stop(&s);
}

static void test_errors(void)
{
	struct server s;
	struct result r;
	uint64_t ms;

	/* malformed: no ack for it */
	srv_start(&s, ANSWER_STAY, answer_bad, sizeof answer_bad);
	run(&s, NULL, 5000, 100, &r, &ms);
	CHECK_INT(r.status, UV_EPROTO);
	CHECK_STR(r.err, "answer framed wrongly");
	srv_stop(&s);
	CHECK_INT(s.gotlen, sizeof req);

	/* cut short by the server */
	srv_start(&s, HALF_CLOSE, answer_ok, answer_ok_len);
	run(&s, NULL, 5000, 100, &r, &ms);
	CHECK_INT(r.status, UV_EOF);
	CHECK_STR(r.err, "the answer is incomplete");
	srv_stop(&s);

	/* no answer */
	srv_start(&s, SILENT, NULL, 0);
	run(&s, NULL, 200, 100, &r, &ms);
	CHECK_INT(r.status, UV_ETIMEDOUT);
	CHECK_STR(r.err, "no answer in time");
	CHECK(ms >= 200 && ms < 2000);
	srv_stop(&s);
	CHECK_INT(s.gotlen, sizeof req);

	/* nobody listens: the connect's own error, from done or at once */
	struct sockaddr_storage gone;
	srv_start(&s, SILENT, NULL, 0);
	gone = s.addr;
	srv_stop(&s);
	memset(&r, 0, sizeof r);
	struct joinclient *jc = NULL;
	struct joinclient_spec spec = {
		.dst = &gone, .req = req, .reqlen = sizeof req, .timeout_ms = 2000, .done = done,
		.arg = &r,
	};
	int rc = joinclient_start(&loop, &spec, &jc);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK(rc < 0 ? r.calls == 0 : r.calls == 1 && r.status == UV_ECONNREFUSED);

	/* a bad spec: refused at once, done never called */
	spec.reqlen = 0;
	CHECK_INT(joinclient_start(&loop, &spec, &jc), -EINVAL);
	spec.reqlen = JOIN_MAX_FRAME + 5;
	CHECK_INT(joinclient_start(&loop, &spec, &jc), -EINVAL);
	spec.reqlen = sizeof req;
	spec.done = NULL;
	CHECK_INT(joinclient_start(&loop, &spec, &jc), -EINVAL);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(r.calls, rc < 0 ? 0 : 1);
}

static void fired(uv_timer_t *t)
{
	struct server *s = t->data;

	s->fired = true;
}

static void test_cancel(void)
{
	struct server s;
	struct result r;
	struct joinclient *jc = NULL;

	/* at once, and with the connection up and waiting */
	for (int k = 0; k < 2; k++) {
		srv_start(&s, SILENT, NULL, 0);
		memset(&r, 0, sizeof r);
		struct joinclient_spec spec = {
			.dst = &s.addr, .req = req, .reqlen = sizeof req, .timeout_ms = 100,
			.done = done, .arg = &r,
		};
		CHECK_INT(joinclient_start(&loop, &spec, &jc), 0);
		while (k && s.gotlen < sizeof req && uv_run(&loop, UV_RUN_ONCE))
			;
		joinclient_cancel(jc);
		uv_timer_start(&s.later, fired, 300, 0);   /* past the timeout it had */
		while (!s.fired && uv_run(&loop, UV_RUN_ONCE))
			;
		CHECK_INT(r.calls, 0);
		srv_stop(&s);
	}
}

/* From the source address asked for (a second loopback address). */
static void test_source(void)
{
	struct server s;
	struct result r;
	struct sockaddr_in src;
	uint64_t ms;
	char ip[64];

	uv_ip4_addr("127.0.0.2", 0, &src);
	srv_start(&s, ANSWER_CLOSE, answer_ok, answer_ok_len);
	run(&s, (const struct sockaddr_storage *)(const void *)&src, 5000, 1000, &r, &ms);
	CHECK_INT(r.status, 0);
	uv_ip4_name((const struct sockaddr_in *)(const void *)&s.peer, ip, sizeof ip);
	CHECK_STR(ip, "127.0.0.2");
	srv_stop(&s);
}

int main(void)
{
	struct join_resp jr;
	struct join_chain c;
	static const uint8_t rec1[300] = { 1 }, rec2[1200] = { 2 };

	if (uv_loop_init(&loop) < 0)
		return 1;
	for (size_t i = 0; i < sizeof req; i++)
		req[i] = (uint8_t)i;
	/* an answer with two chain frames (their contents are not checked here) */
	memset(&jr, 0, sizeof jr);
	jr.v = INVITE_VERSION;
	jr.status = JOIN_OK;
	snprintf(jr.message, sizeof jr.message, "welcome");
	jr.nrec = 2;
	memset(&c, 0, sizeof c);
	c.rec[0] = rec1;
	c.len[0] = sizeof rec1;
	c.rec[1] = rec2;
	c.len[1] = sizeof rec2;
	c.n = 2;
	if (join_resp_frames(&jr, &c, answer_ok, sizeof answer_ok, &answer_ok_len) < 0)
		return 1;

	test_answer();
	test_errors();
	test_cancel();
	test_source();
	CHECK_INT(uv_loop_close(&loop), 0);
	return check_exit();
}
