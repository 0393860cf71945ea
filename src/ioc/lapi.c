/* HTTP to the LAPI on the libuv loop (lapi.h): the daemon's one HTTP
 * driver (src/http/httpc.c, libcurl multi on libuv) with the LAPI's base URL,
 * its answer bound and at most 4 connections. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/http/httpc.h"
#include "src/ioc/lapi.h"
#include "src/ioc/lapi_json.h"

struct lapi {
	struct httpc *c;
	char base[256];
};

struct lapi *lapi_new(uv_loop_t *loop, const char *base)
{
	static const struct httpc_conf conf = { .protocols = "http,https", .max_conns = 4 };
	struct lapi *l;

	if (strlen(base) >= sizeof l->base || !(l = calloc(1, sizeof *l)))
		return NULL;
	snprintf(l->base, sizeof l->base, "%s", base);
	if (!(l->c = httpc_new(loop, &conf))) {
		free(l);
		return NULL;
	}
	return l;
}

int lapi_request(struct lapi *l, const char *method, const char *path,
		 const char *const *headers, const char *body, unsigned timeout_ms,
		 lapi_done_fn done, void *ctx)
{
	char url[1024];
	struct httpc_req q = { .method = method, .url = url, .headers = headers, .body = body,
			       .max = LAPI_MAX_BODY, .timeout_ms = timeout_ms };

	if (path[0] != '/' || (size_t)snprintf(url, sizeof url, "%s%s", l->base, path) >= sizeof url)
		return -EINVAL;
	return httpc_start(l->c, &q, done, ctx);   /* (never -ECANCELED: l goes with lapi_close) */
}

unsigned lapi_pending(const struct lapi *l)
{
	return httpc_pending(l->c);
}

void lapi_close(struct lapi *l)
{
	if (!l)
		return;
	httpc_close(l->c);
	free(l);
}
