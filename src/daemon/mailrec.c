/* The svc "mail" records held, checked (mailrec.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "src/daemon/mailrec.h"
#include "src/daemon/config.h"
#include "crypto/chain.h"
#include "proto/record.h"

struct ctx {
	struct mn_host *h;
	struct mail_boxes *l;
	size_t cap;
	uint64_t now_s;
};

static int box_cb(void *arg, const struct record *r, const uint8_t id[32])
{
	struct ctx *c = arg;
	struct mail_boxes *l = c->l;
	struct chain_result cr;
	char addr[MN_MAX_ADDR + 1], scope[MN_MAX_DOMAIN + 1];
	union body b;

	(void)id;
	if (r->kind != KIND_SVC || strcmp(r->key, MAILCFG_SVC) || record_is_tombstone(r) ||
	    (r->expires && r->expires <= c->now_s) || l->n >= MAILCFG_MAX_BOXES)
		return 0;
	if (l->n == c->cap) {   /* a few KiB a box: grown as the records come */
		size_t nc = c->cap ? c->cap * 2 : 8;
		struct mailcfg_box *q = realloc(l->b, nc * sizeof *q);
		if (!q)
			return -ENOMEM;
		l->b = q;
		c->cap = nc;
	}
	if (body_decode(KIND_SVC, r->body, r->body_len, &b) < 0) {
		l->ignored[MAILCFG_BAD_SERVICE]++;
		return 0;
	}
	/* the origin's scope: its certificate's; the root without one: any */
	bool root = !memcmp(r->origin, host_config(c->h)->root, 32);
	if (host_chain(c->h, r->origin, &cr) < 0) {
		if (!root) {
			l->ignored[MAILCFG_BAD_ENDPOINT]++;
			return 0;
		}
		memset(&cr, 0, sizeof cr);
	}
	snprintf(scope, sizeof scope, "%s", cr.dns_scope[0] ? cr.dns_scope : root ? "*" : "");
	subsys_mesh_addr(c->h, r->origin, addr, sizeof addr);
	enum mailcfg_refusal why = mailcfg_svc_check(&b.svc, addr, scope, &l->b[l->n]);
	if (why != MAILCFG_OK) {
		l->ignored[why]++;
		return 0;
	}
	memcpy(l->b[l->n].origin, r->origin, 32);
	l->n++;
	return 0;
}

int mail_boxes_collect(struct mn_host *h, struct mail_boxes *out)
{
	struct ctx c = { h, out, 0, host_now_ms(h) / 1000 };

	memset(out, 0, sizeof *out);
	return host_each(h, KIND_BIT(KIND_SVC), NULL, box_cb, &c);
}

void mail_boxes_free(struct mail_boxes *l)
{
	free(l->b);
	l->b = NULL;
	l->n = 0;
}
