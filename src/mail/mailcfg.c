/* The mail subsystem's pure half (mailcfg.h): record checks, the relay
 * routes, Postfix's maps and MX records. Peer-supplied text reaches a map
 * only as a checked domain name and an address parsed as an IP. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/mail/mailcfg.h"
#include "crypto/chain.h"

const char *const mailcfg_refusal_names[MAILCFG_NREFUSALS] = {
	"ok", "bad_service", "bad_endpoint", "bad_port", "bad_domain", "bad_attr",
};

bool mailcfg_domain_ok(const char *s)
{
	size_t n = strnlen(s, MN_MAX_DOMAIN + 1);

	/* dns_name_lower: lowercase LDH labels of 1..63, at most 253 */
	return n > 0 && n <= MN_MAX_DOMAIN && strchr(s, '.') && dns_name_lower(s);
}

#define SEP " ,\t"

int mailcfg_parse_list(const char *text, char (*out)[MN_MAX_DOMAIN + 1], size_t cap, size_t *n)
{
	const char *p = text;

	*n = 0;
	while (*(p += strspn(p, SEP))) {
		size_t len = strcspn(p, SEP);
		char d[MN_MAX_DOMAIN + 1];
		if (len > MN_MAX_DOMAIN)
			return -EINVAL;
		memcpy(d, p, len);
		d[len] = 0;
		p += len;
		if (!mailcfg_domain_ok(d))
			return -EINVAL;
		bool dup = false;
		for (size_t i = 0; i < *n && !dup; i++)
			dup = !strcmp(out[i], d);
		if (dup)
			continue;
		if (*n == cap)
			return -ENOSPC;
		memcpy(out[(*n)++], d, len + 1);
	}
	return 0;
}

bool mailcfg_list_covers(const char *list, const char *name)
{
	const char *p = list;

	if (!list)
		return false;
	while (*(p += strspn(p, SEP))) {
		size_t len = strcspn(p, SEP);
		char d[MN_MAX_DOMAIN + 1];
		if (len <= MN_MAX_DOMAIN) {
			memcpy(d, p, len);
			d[len] = 0;
			if (dns_scope_contains(d, name))
				return true;
		}
		p += len;
	}
	return false;
}

static bool addr_ok(const char *s)
{
	uint8_t buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int prio_of(const char *v)
{
	char *end;
	long x;

	if (v[0] < '0' || v[0] > '9' || strlen(v) > 5)
		return -1;
	x = strtol(v, &end, 10);
	return *end || x > 65535 ? -1 : (int)x;
}

static int yesno(const char *v)
{
	return !strcmp(v, "yes") ? 1 : !strcmp(v, "no") ? 0 : -1;
}

enum mailcfg_refusal mailcfg_svc_check(const struct svc_body *b, const char *mesh_addr,
				       const char *scope, struct mailcfg_box *out)
{
	memset(out, 0, sizeof *out);
	out->priority = 10;
	out->backup_priority = 20;
	if (strcmp(b->service, MAILCFG_SVC))
		return MAILCFG_BAD_SERVICE;
	/* where the mail of its domains is relayed to: only the origin's own
	 * certified mesh address, never a name or a third box */
	if (!mesh_addr[0] || !addr_ok(mesh_addr) || strcmp(b->endpoint, mesh_addr))
		return MAILCFG_BAD_ENDPOINT;
	if (b->port == 0)
		return MAILCFG_BAD_PORT;
	snprintf(out->addr, sizeof out->addr, "%s", mesh_addr);
	out->port = b->port;
	for (size_t i = 0; i < b->n_attrs && i < MN_MAX_ATTRS; i++) {
		const char *k = b->attrs[i].k, *v = b->attrs[i].v;
		int x;
		if (!strcmp(k, "domain")) {
			if (!mailcfg_domain_ok(v))
				return MAILCFG_BAD_DOMAIN;
			if (out->ndomains == MAILCFG_MAX_DOMAINS)
				return MAILCFG_BAD_ATTR;
			bool in = !strcmp(scope, "*") || dns_scope_contains(scope, v);
			out->in_scope[out->ndomains] = in;
			snprintf(out->domains[out->ndomains++], MN_MAX_DOMAIN + 1, "%.*s", MN_MAX_DOMAIN, v);
		} else if (!strcmp(k, "mx")) {
			if (!mailcfg_domain_ok(v))
				return MAILCFG_BAD_DOMAIN;
			snprintf(out->mx, sizeof out->mx, "%.*s", MN_MAX_DOMAIN, v);
		} else if (!strcmp(k, "priority") || !strcmp(k, "backup_priority")) {
			if ((x = prio_of(v)) < 0)
				return MAILCFG_BAD_ATTR;
			*(k[0] == 'p' ? &out->priority : &out->backup_priority) = (uint16_t)x;
		} else if (!strcmp(k, "backup") || !strcmp(k, "relay")) {
			if ((x = yesno(v)) < 0)
				return MAILCFG_BAD_ATTR;
			*(k[0] == 'b' ? &out->want_backup : &out->relay) = x;
		}
		/* other attributes: not ours to judge */
	}
	return MAILCFG_OK;
}

static void attr(struct svc_body *b, const char *k, const char *v)
{
	if (b->n_attrs == MN_MAX_ATTRS)
		return;
	snprintf(b->attrs[b->n_attrs].k, sizeof b->attrs[0].k, "%s", k);
	snprintf(b->attrs[b->n_attrs].v, sizeof b->attrs[0].v, "%s", v);
	b->n_attrs++;
}

void mailcfg_svc_body(const struct mailcfg_box *me, struct svc_body *b)
{
	char num[8];

	memset(b, 0, sizeof *b);
	snprintf(b->service, sizeof b->service, MAILCFG_SVC);
	snprintf(b->endpoint, sizeof b->endpoint, "%s", me->addr);
	b->port = me->port;
	for (size_t i = 0; i < me->ndomains && i < MAILCFG_MAX_DOMAINS; i++)
		attr(b, "domain", me->domains[i]);
	snprintf(num, sizeof num, "%u", me->priority);
	attr(b, "priority", num);
	attr(b, "backup", me->want_backup ? "yes" : "no");
	if (me->relay) {
		attr(b, "relay", "yes");
		snprintf(num, sizeof num, "%u", me->backup_priority);
		attr(b, "backup_priority", num);
	}
	if (me->mx[0])
		attr(b, "mx", me->mx);
}

static int route_cmp(const void *a, const void *b)
{
	const struct mailcfg_route *x = a, *y = b;
	int c = strcmp(x->domain, y->domain);

	if (c)
		return c;
	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return strcmp(x->addr, y->addr);
}

size_t mailcfg_routes(const struct mailcfg_box *boxes, size_t n, const char *allow, const char *own,
		      struct mailcfg_route *out, size_t cap, unsigned *skipped)
{
	size_t k = 0, w = 0;

	*skipped = 0;
	for (size_t i = 0; i < n; i++) {
		const struct mailcfg_box *x = &boxes[i];
		for (size_t d = 0; x->want_backup && d < x->ndomains; d++) {
			if (!x->in_scope[d] && !mailcfg_list_covers(allow, x->domains[d])) {
				(*skipped)++;
				continue;
			}
			if (mailcfg_list_covers(own, x->domains[d]) || k == cap)
				continue;
			struct mailcfg_route *r = &out[k++];
			snprintf(r->domain, sizeof r->domain, "%s", x->domains[d]);
			snprintf(r->addr, sizeof r->addr, "%s", x->addr);
			r->port = x->port;
			r->priority = x->priority;
		}
	}
	qsort(out, k, sizeof *out, route_cmp);
	for (size_t i = 0; i < k; i++)
		if (!w || strcmp(out[w - 1].domain, out[i].domain))
			out[w++] = out[i];
	return w;
}

int mailcfg_maps(const struct mailcfg_route *r, size_t n, char **relay, size_t *rlen, char **transport,
		 size_t *tlen)
{
	FILE *a = open_memstream(relay, rlen), *b = open_memstream(transport, tlen);
	int rc = 0;

	if (!a || !b) {
		rc = -ENOMEM;
		goto out;
	}
	fprintf(a, "# mirrornetd (mail): domains relayed as a backup MX (texthash:, docs/mail.md)\n");
	fprintf(b, "# mirrornetd (mail): where their mail goes, over the mesh (texthash:)\n");
	for (size_t i = 0; i < n; i++) {
		if (!mailcfg_domain_ok(r[i].domain) || !addr_ok(r[i].addr) || !r[i].port)
			continue;   /* checked before; never written unchecked */
		fprintf(a, "%s OK\n", r[i].domain);
		fprintf(b, "%s smtp:[%s]:%u\n", r[i].domain, r[i].addr, r[i].port);
	}
out:
	if (a && fclose(a) != 0)
		rc = -ENOMEM;
	if (b && fclose(b) != 0)
		rc = -ENOMEM;
	if (rc < 0 || !*relay || !*transport) {
		if (a)
			free(*relay);
		if (b)
			free(*transport);
		*relay = *transport = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int mx_cmp(const void *a, const void *b)
{
	const struct mailcfg_mx *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return strcmp(x->host, y->host);
}

static size_t mx_add(struct mailcfg_mx *out, size_t k, size_t cap, unsigned prio, const char *host, bool backup)
{
	for (size_t i = 0; i < k; i++)
		if (!strcmp(out[i].host, host))
			return k;
	if (k == cap || !host[0])
		return k;
	out[k].priority = (uint16_t)prio;
	out[k].backup = backup;
	snprintf(out[k].host, sizeof out[k].host, "%s", host);
	return k + 1;
}

size_t mailcfg_mx(const struct mailcfg_box *boxes, size_t n, const char *domain, const char *allow,
		  struct mailcfg_mx *out, size_t cap)
{
	bool want = false;
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t d = 0; d < boxes[i].ndomains; d++)
			if (!strcmp(boxes[i].domains[d], domain) &&
			    (boxes[i].in_scope[d] || mailcfg_list_covers(allow, domain)) && boxes[i].mx[0]) {
				k = mx_add(out, k, cap, boxes[i].priority, boxes[i].mx, false);
				want |= boxes[i].want_backup;
			}
	size_t primaries = k;
	for (size_t i = 0; want && primaries && i < n; i++)
		if (boxes[i].relay)
			k = mx_add(out, k, cap, boxes[i].backup_priority, boxes[i].mx, true);
	qsort(out, k, sizeof *out, mx_cmp);
	return k;
}
