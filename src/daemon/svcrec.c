/* This node's own svc record of a key, as the subsystems that publish one
 * (ai, mail) keep it in step with what they serve (subsys.h). Built on the
 * host calls only. */
#include <string.h>
#include "src/daemon/subsys.h"
#include "proto/body.h"
#include "proto/record.h"

struct held {
	const uint8_t *me;
	const char *key;
	struct subsys_svc_held *out;
};

static int held_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct held *e = ctx;

	(void)id;
	if (r->kind != KIND_SVC || memcmp(r->origin, e->me, 32) != 0 || strcmp(r->key, e->key))
		return 0;
	e->out->found = true;
	e->out->expires = r->expires;
	e->out->tomb = record_is_tombstone(r) || body_decode(KIND_SVC, r->body, r->body_len, &e->out->b) < 0;
	return 1;
}

int subsys_svc_held(struct mn_host *h, const char *key, struct subsys_svc_held *out)
{
	struct held e = { host_self(h), key, out };

	memset(out, 0, sizeof *out);
	return host_each(h, KIND_BIT(KIND_SVC), e.me, held_cb, &e);
}

bool subsys_svc_same(const struct svc_body *a, const struct svc_body *b)
{
	if (strcmp(a->service, b->service) || strcmp(a->endpoint, b->endpoint) || a->port != b->port ||
	    a->n_attrs != b->n_attrs)
		return false;
	for (size_t i = 0; i < a->n_attrs && i < MN_MAX_ATTRS; i++)
		if (strcmp(a->attrs[i].k, b->attrs[i].k) || strcmp(a->attrs[i].v, b->attrs[i].v))
			return false;
	return true;
}
