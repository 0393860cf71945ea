/* HTTP requests on the daemon's libuv loop: libcurl's multi interface
 * driven by uv_poll handles for its sockets and a uv_timer for its
 * timeouts, so the loop never waits on the network. The one driver for
 * every HTTP client of the daemon: the ioc subsystem's CrowdSec LAPI
 * (src/ioc/lapi.c) and the ai subsystem's model list (src/daemon/ai.c).
 *
 * Every request has a timeout and an answer bound (more fails it); no
 * redirects, no proxy from the environment, only the protocols the client
 * was made for; a URL or header with a control byte is refused.
 *
 * libuv style: httpc_start returns 0 (done is called later, once) or a
 * negative errno (done is never called); after httpc_close no callback is
 * called at all, and the memory goes once the loop ran the close
 * callbacks of its handles. */
#ifndef MN_HTTPC_H
#define MN_HTTPC_H
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct httpc;

/* The outcome: err NULL and the HTTP status with the answer (body[len] is
 * a NUL; borrowed until done returns), or err a message ("Failed to
 * connect to ...", "an answer over 1048576 bytes") and status 0. */
typedef void (*httpc_done_fn)(void *ctx, long status, const char *body, size_t len, const char *err);

struct httpc_conf {
	const char *protocols;  /* curl's list: "http" or "http,https" */
	unsigned max_conns;     /* connections at once; 0: no bound */
	bool no_reuse;          /* a connection per request (a rare poll) */
};

/* NULL on out of memory. libcurl is loaded at the first request, not
 * here (a client that never asks costs no libcurl). */
struct httpc *httpc_new(uv_loop_t *loop, const struct httpc_conf *conf);
/* Why a request failed with -ELIBACC (libcurl missing or unusable). */
const char *httpc_load_error(void);

struct httpc_req {
	const char *method;           /* NULL: GET */
	const char *url;
	const char *const *headers;   /* NULL-terminated, or NULL; copied */
	const char *body;             /* NULL, or JSON: copied, wiped when done */
	size_t max;                   /* the answer's bound in bytes */
	unsigned timeout_ms;          /* the whole request; connecting 5 s at most */
};

/* 0, -ENOMEM, -EINVAL (a control byte in the URL or a header, or a URL
 * curl refused), -ECANCELED (after httpc_close), -ELIBACC (libcurl could
 * not be loaded: httpc_load_error()). */
int httpc_start(struct httpc *c, const struct httpc_req *q, httpc_done_fn done, void *ctx);
/* Requests in flight. */
unsigned httpc_pending(const struct httpc *c);
/* Cancel everything (no callback is called) and close the handles. NULL
 * is fine. */
void httpc_close(struct httpc *c);

#endif
