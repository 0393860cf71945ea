/* Asynchronous name resolution with c-ares inside the libuv loop: the loop
 * is never blocked by DNS. Results are cached (60 s for a success, 10 s for
 * a failure); resolver_lookup() answers from the cache or starts a lookup
 * and says -EAGAIN, and on_done is called when a lookup finishes (the
 * caller re-runs whatever needed the name). Numeric hosts never touch
 * c-ares. */
#ifndef MN_RESOLVE_H
#define MN_RESOLVE_H
#include <stdint.h>
#include <netinet/in.h>
#include <uv.h>

struct resolver;

struct resolver *resolver_new(uv_loop_t *loop, void (*on_done)(void *ctx), void *ctx,
			      char *err, size_t errcap);
/* Close (asynchronously); pending lookups are cancelled. */
void resolver_free(struct resolver *r);
/* "host:port" or "[v6]:port" → sa. 0, -EAGAIN (lookup started or running),
 * -EINVAL (not host:port), -ENOENT (the name does not resolve). r may be
 * NULL: numeric endpoints only. */
int resolver_lookup(struct resolver *r, const char *hostport, struct sockaddr_storage *sa,
		    uint64_t now_ms);
/* Forget the cached answer for this name (a peer stopped answering). */
void resolver_forget(struct resolver *r, const char *hostport);

#endif
