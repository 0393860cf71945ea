/* The join service's client; see joinclient.h.
 *
 * States: CONNECTING -> ASKING (request written, answer read) -> ACKED
 * (the ack written, the grace running) -> DONE. One timer bounds each:
 * timeout_ms until the whole answer, then grace_ms. DONE is final: the
 * handles are closing, and the callbacks libuv still delivers (the connect
 * or a write cancelled by the close) find it and do nothing. The struct is
 * freed when the second handle has closed. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/onboard/joinclient.h"
#include "src/join_msg.h"

enum jc_state { JC_CONNECTING, JC_ASKING, JC_ACKED, JC_DONE };

struct joinclient {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t creq;
	uv_write_t wreq, ackreq;
	enum jc_state state;
	bool cancelled;
	int open_handles;
	uint64_t grace_ms;
	joinclient_done_fn *done;
	void *arg;
	uint8_t req[JOIN_MAX_FRAME + 4];
	size_t reqlen;
	uint8_t *in;                 /* JOIN_MAX_ANSWER bytes */
	size_t inlen;
	uint8_t sink[64];            /* what the server sends after its answer */
};

/* (not const: libuv's buffers are not; it only reads it) */
static uint8_t ack[5] = { 0, 0, 0, 1, 0 };

static void jc_closed(uv_handle_t *h)
{
	struct joinclient *jc = h->data;

	if (--jc->open_handles == 0) {
		free(jc->in);
		free(jc);
	}
}

static void jc_close(struct joinclient *jc)
{
	jc->state = JC_DONE;
	uv_close((uv_handle_t *)&jc->timer, jc_closed);
	uv_close((uv_handle_t *)&jc->tcp, jc_closed);
}

/* The one end of an exchange that was started. */
static void finish(struct joinclient *jc, int status, const char *err)
{
	if (jc->state == JC_DONE)
		return;
	jc_close(jc);   /* (the buffer lives until the close callbacks) */
	if (!jc->cancelled)
		jc->done(jc->arg, status, status ? NULL : jc->in, status ? 0 : jc->inlen,
			 status ? err : NULL);
}

static void fail(struct joinclient *jc, int status)
{
	finish(jc, status, uv_strerror(status));
}

static void on_timer(uv_timer_t *t)
{
	struct joinclient *jc = t->data;

	if (jc->state == JC_ACKED)
		finish(jc, 0, NULL);   /* the grace is over */
	else
		finish(jc, UV_ETIMEDOUT, "no answer in time");
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct joinclient *jc = h->data;

	(void)hint;
	if (jc->state == JC_ACKED)
		*b = uv_buf_init((char *)jc->sink, sizeof jc->sink);
	else
		*b = uv_buf_init((char *)jc->in + jc->inlen, (unsigned)(JOIN_MAX_ANSWER - jc->inlen));
}

static void on_acked(uv_write_t *w, int status)
{
	struct joinclient *jc = w->data;

	/* a lost ack is not fatal: the server swaps after its own grace */
	(void)status;
	if (jc->state != JC_ACKED)
		return;
	if (!jc->grace_ms)
		finish(jc, 0, NULL);
	else
		uv_timer_start(&jc->timer, on_timer, jc->grace_ms, 0);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct joinclient *jc = s->data;
	struct join_resp r;
	struct join_chain c;
	char perr[128];

	(void)b;
	if (jc->state == JC_ACKED) {   /* the grace: the server's close ends it */
		if (nread < 0)
			finish(jc, 0, NULL);
		return;
	}
	if (nread == 0 || jc->state != JC_ASKING)
		return;
	if (nread < 0) {
		if (nread == UV_EOF)
			finish(jc, UV_EOF, "the answer is incomplete");
		else
			fail(jc, (int)nread);
		return;
	}
	jc->inlen += (size_t)nread;
	int rc = join_resp_parse(jc->in, jc->inlen, &r, &c, perr, sizeof perr);
	if (rc == -EAGAIN && jc->inlen < JOIN_MAX_ANSWER)
		return;
	if (rc < 0) {
		finish(jc, UV_EPROTO, rc == -EAGAIN ? "answer too long" : perr);
		return;
	}
	/* the whole answer: ack it (the server swaps our tunnel on it) */
	jc->state = JC_ACKED;
	uv_timer_stop(&jc->timer);
	uv_buf_t ab = uv_buf_init((char *)ack, sizeof ack);
	jc->ackreq.data = jc;
	if (uv_write(&jc->ackreq, s, &ab, 1, on_acked) < 0)
		on_acked(&jc->ackreq, -1);
}

static void on_written(uv_write_t *w, int status)
{
	struct joinclient *jc = w->data;

	if (status < 0 && jc->state == JC_ASKING)
		fail(jc, status);
}

static void on_connected(uv_connect_t *req, int status)
{
	struct joinclient *jc = req->data;
	int rc;

	if (jc->state != JC_CONNECTING)
		return;
	if (status < 0) {
		fail(jc, status);
		return;
	}
	jc->state = JC_ASKING;
	uv_buf_t b = uv_buf_init((char *)jc->req, (unsigned)jc->reqlen);
	jc->wreq.data = jc;
	if ((rc = uv_write(&jc->wreq, (uv_stream_t *)&jc->tcp, &b, 1, on_written)) < 0 ||
	    (rc = uv_read_start((uv_stream_t *)&jc->tcp, on_alloc, on_read)) < 0)
		fail(jc, rc);
}

int joinclient_start(uv_loop_t *loop, const struct joinclient_spec *spec, struct joinclient **out)
{
	struct joinclient *jc;
	int rc;

	if (!spec->dst || !spec->done || !spec->reqlen || spec->reqlen > sizeof jc->req)
		return -EINVAL;
	if (!(jc = calloc(1, sizeof *jc)))
		return -ENOMEM;
	rc = (jc->in = malloc(JOIN_MAX_ANSWER)) ? uv_tcp_init(loop, &jc->tcp) : -ENOMEM;
	if (rc < 0) {
		free(jc->in);
		free(jc);
		return rc;
	}
	uv_timer_init(loop, &jc->timer);   /* (cannot fail) */
	jc->tcp.data = jc->timer.data = jc->creq.data = jc;
	jc->open_handles = 2;
	memcpy(jc->req, spec->req, spec->reqlen);
	jc->reqlen = spec->reqlen;
	jc->grace_ms = spec->grace_ms;
	jc->done = spec->done;
	jc->arg = spec->arg;
	/* from the source address asked for: for a joiner, its reserved one,
	 * the only one the inviter's WireGuard accepts from this tunnel */
	if ((spec->src && (rc = uv_tcp_bind(&jc->tcp, (const struct sockaddr *)spec->src, 0)) < 0) ||
	    (rc = uv_tcp_connect(&jc->creq, &jc->tcp, (const struct sockaddr *)spec->dst,
				 on_connected)) < 0) {
		jc_close(jc);
		return rc;
	}
	uv_timer_start(&jc->timer, on_timer, spec->timeout_ms, 0);
	*out = jc;
	return 0;
}

void joinclient_cancel(struct joinclient *jc)
{
	jc->cancelled = true;
	if (jc->state != JC_DONE)
		jc_close(jc);
}
