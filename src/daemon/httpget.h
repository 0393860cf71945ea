/* One HTTP GET at a time on the daemon's libuv loop: libcurl's multi
 * interface driven by uv_poll handles for its sockets and a uv_timer for
 * its timeouts, so the loop never waits on the network. The answer is
 * bounded (max bytes: more aborts the transfer). http only, no redirects,
 * no proxy from the environment.
 *
 * libuv style: httpget_start returns 0 (done is called later, once) or a
 * negative errno (done is never called). httpget_stop closes its handles
 * (a transfer under way ends without done); httpget_free after the loop
 * closed them. */
#ifndef MN_HTTPGET_H
#define MN_HTTPGET_H
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct httpget;

/* The outcome: err "" and the HTTP status with the body (body[len] is a
 * NUL; borrowed until done returns), or err a message and status 0. */
typedef void (*httpget_done_fn)(void *arg, long status, const char *body, size_t len, const char *err);

struct httpget *httpget_new(uv_loop_t *loop);
/* -EBUSY while one runs, -ENOMEM, -EINVAL (curl refused the URL). */
int httpget_start(struct httpget *g, const char *url, size_t max, unsigned timeout_ms, httpget_done_fn done,
		  void *arg);
bool httpget_busy(const struct httpget *g);
void httpget_stop(struct httpget *g);
void httpget_free(struct httpget *g);

#endif
