/* HTTP to the CrowdSec LAPI on the daemon's loop, through the daemon's
 * one HTTP driver (src/http/httpc.h: libcurl's multi interface driven by
 * libuv), so no call blocks the loop. Each request has a timeout and an
 * answer bounded to LAPI_MAX_BODY bytes (more fails the request). What the
 * answers mean is lapi_json.h's; when to retry is the caller's.
 *
 * As libuv: if a call returns an error, its callback is never called;
 * after lapi_close() no callback is called at all. */
#ifndef MN_IOC_LAPI_H
#define MN_IOC_LAPI_H
#include <stddef.h>
#include <uv.h>

struct lapi;

/* status: the HTTP status, or 0 when none came (err says why: "timeout",
 * "Failed to connect to ...", "an answer over 8388608 bytes"). body: the answer (len
 * bytes, NUL after them), valid during the call. */
typedef void (*lapi_done_fn)(void *ctx, long status, const char *body, size_t len,
			     const char *err);

/* base: "http://127.0.0.1:8080" (http and https only). NULL on out of
 * memory or a curl that cannot start. */
struct lapi *lapi_new(uv_loop_t *loop, const char *base);
/* method GET/POST/DELETE, path "/v1/...", headers NULL-terminated ("X-Api-Key:
 * ..." — copied by curl, the caller may wipe its own), body NULL or JSON.
 * 0, -ENOMEM, -EINVAL (a path or header with a control byte). */
int lapi_request(struct lapi *l, const char *method, const char *path,
		 const char *const *headers, const char *body, unsigned timeout_ms,
		 lapi_done_fn done, void *ctx);
/* Requests in flight. */
unsigned lapi_pending(const struct lapi *l);
/* Cancel everything (no callback is called) and free l; the driver's
 * memory goes once the loop ran its handles' close callbacks. NULL is
 * fine; l is not to be used after. */
void lapi_close(struct lapi *l);

#endif
