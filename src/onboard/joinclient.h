/* The join service's client: one exchange with an inviter or a parent
 * (docs/onboarding.md), on the caller's libuv loop. mirrornetctl join runs
 * it on a loop of its own; the daemon, renewing its certificate or
 * rotating its key, on its main loop. What to ask (join_req_build) and
 * what to do with the answer is the caller's; the bytes on the wire are
 * this module's:
 *
 *   connect (from spec.src when given) -> send the framed request ->
 *   read until a whole answer parses (join_resp_parse) -> send the ack
 *   {0,0,0,1,0} (the server swaps the tunnel on it) -> wait at most
 *   spec.grace_ms for the server to close (its FIN may already be routed
 *   to the new tunnel, so it is not waited for longer) -> done(answer)
 *
 * spec.timeout_ms bounds everything up to the whole answer; the grace is
 * its own bound. Errors follow libuv: if joinclient_start() fails, done is
 * never called; otherwise it is called exactly once, from the loop, unless
 * the exchange is cancelled first. */
#ifndef MN_JOINCLIENT_H
#define MN_JOINCLIENT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

struct joinclient;

/* The end of an exchange. status 0: ans/len is the whole answer (it
 * parses with join_resp_parse), borrowed until done returns; err NULL.
 * Else a libuv error code and a short text in err (no secret in it):
 *   UV_ETIMEDOUT  no whole answer within timeout_ms ("no answer in time")
 *   UV_EOF        the server closed before a whole answer
 *                 ("the answer is incomplete")
 *   UV_EPROTO     the answer is malformed or too long (err says how:
 *                 "answer framed wrongly", "answer does not decode: ...")
 *   any other     the bind, connect, send or receive failed (uv_strerror)
 * The exchange is gone once done returns: do not cancel it from done. */
typedef void joinclient_done_fn(void *arg, int status, const uint8_t *ans, size_t len,
				const char *err);

struct joinclient_spec {
	const struct sockaddr_storage *dst;   /* the join service */
	const struct sockaddr_storage *src;   /* bind here first (port 0: any), or NULL */
	const uint8_t *req;                   /* the framed request; copied */
	size_t reqlen;                        /* 1 .. JOIN_MAX_FRAME + 4 */
	uint64_t timeout_ms;                  /* connect to whole answer */
	uint64_t grace_ms;                    /* after the ack; 0: done at once */
	joinclient_done_fn *done;
	void *arg;
};

/* Start an exchange on loop. 0 with *out set (for joinclient_cancel), or
 * a negative errno (-EINVAL, -ENOMEM, or the bind's or connect's own when
 * they fail at once) and done is never called. */
int joinclient_start(uv_loop_t *loop, const struct joinclient_spec *spec, struct joinclient **out);

/* Stop an exchange under way: its connection closes and done is never
 * called. Its memory goes once libuv has closed its handles (a turn of
 * the loop). Not after done has been called. */
void joinclient_cancel(struct joinclient *jc);

#endif
