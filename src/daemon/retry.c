/* A subsystem's retry after a failure (retry.h). */
#include "src/daemon/retry.h"
#include "src/log.h"

static void on_retry(uv_timer_t *t)
{
	struct retry *r = t->data;

	r->fired++;
	host_dirty(r->h);   /* the subsystem's generation tries again */
}

void retry_init(struct retry *r, struct mn_host *h, const char *name)
{
	r->h = h;
	r->name = name;
	r->fired = r->ms = 0;
	r->open = uv_timer_init(host_loop(h), &r->t) == 0;
	if (r->open) {
		r->t.data = r;
		uv_unref((uv_handle_t *)&r->t);
	}
}

void retry_later(struct retry *r)
{
	r->ms = !r->ms ? RETRY_FIRST_MS : r->ms >= RETRY_MAX_MS / 2 ? RETRY_MAX_MS : r->ms * 2;
	if (!r->open)
		return;
	uv_timer_start(&r->t, on_retry, r->ms, 0);
	log_info("%s: trying again in %u s", r->name, r->ms / 1000);
}

void retry_reset(struct retry *r)
{
	r->ms = 0;
	if (r->open)
		uv_timer_stop(&r->t);
}

void retry_close(struct retry *r)
{
	if (r->open)
		uv_close((uv_handle_t *)&r->t, NULL);
	r->open = false;
}
