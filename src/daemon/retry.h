/* A subsystem's "try again by itself" after a failure that no record will
 * mend — a reload or check command that failed or hung, a file it could
 * not write: the subsystem is made dirty (host_dirty: its generation runs
 * again) after 5 s, then 10, 20 ... up to 5 minutes, until a try passes
 * and retry_reset starts the backoff over. Used by haproc (HAProxy check
 * and start) and the hosts file (write and reload); issue #19. */
#ifndef MN_RETRY_H
#define MN_RETRY_H
#include <stdbool.h>
#include "src/daemon/subsys.h"

#define RETRY_FIRST_MS 5000        /* the first try again after this */
#define RETRY_MAX_MS (300u * 1000) /* ... doubling up to this */

struct retry {
	struct mn_host *h;
	const char *name;   /* the log prefix */
	unsigned fired;     /* tries made by the timer (status "retries") */
	unsigned ms;        /* the delay after the next failure; 0: none failed */
	uv_timer_t t;
	bool open;
};

/* Its timer on the host's loop (not keeping the loop alive). */
void retry_init(struct retry *r, struct mn_host *h, const char *name);
/* A try failed: arm the next. */
void retry_later(struct retry *r);
/* One passed: nothing armed, the backoff from the beginning. */
void retry_reset(struct retry *r);
/* From the subsystem's stop: the timer closed (the struct may be freed
 * after the loop ran the close). */
void retry_close(struct retry *r);
#endif
