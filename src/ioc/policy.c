/* The IoC policy: see policy.h for the steps. Addresses are compared as
 * bit strings (struct ioc_net); names as lower-case label sequences. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/ioc/policy.h"

static const char *const step_names[IOC_STEP_N] = {
	[IOC_STEP_APPLY] = "apply", [IOC_STEP_SCOPE] = "scope", [IOC_STEP_VALUE] = "value",
	[IOC_STEP_SPECIAL] = "special", [IOC_STEP_WIDE] = "too_wide",
	[IOC_STEP_MESH_SUBNET] = "mesh_subnet", [IOC_STEP_MEMBER] = "member_addr",
	[IOC_STEP_OWN] = "own_addr", [IOC_STEP_GATEWAY] = "gateway",
	[IOC_STEP_RESOLVER] = "resolver", [IOC_STEP_ALLOWLIST] = "allowlist",
	[IOC_STEP_MESH_DOMAIN] = "mesh_domain", [IOC_STEP_EXPOSED_DOMAIN] = "exposed_domain",
	[IOC_STEP_EXPIRED] = "expired", [IOC_STEP_IGNORED] = "trust_ignore",
	[IOC_STEP_ACTION] = "action", [IOC_STEP_RATE] = "rate", [IOC_STEP_CAP] = "cap",
	[IOC_STEP_CONFIDENCE] = "confidence", [IOC_STEP_REVIEW] = "trust_review",
};

const char *ioc_step_name(enum ioc_step s)
{
	return (unsigned)s < IOC_STEP_N ? step_names[s] : "?";
}

const char *ioc_verdict_name(enum ioc_verdict v)
{
	switch (v) {
	case IOC_V_APPLY: return "applied";
	case IOC_V_PENDING: return "pending";
	case IOC_V_REFUSE: return "refused";
	}
	return "?";
}

const char *ioc_class_name(enum ioc_class c)
{
	switch (c) {
	case IOC_CLASS_SELF: return "self";
	case IOC_CLASS_ANCESTOR: return "ancestor";
	case IOC_CLASS_MEMBER: return "member";
	default: return "?";
	}
}

void ioc_policy_defaults(struct ioc_policy *p)
{
	memset(p, 0, sizeof *p);
	p->mode[IOC_CLASS_SELF] = IOC_MODE_AUTO;
	p->mode[IOC_CLASS_ANCESTOR] = IOC_MODE_AUTO;
	p->mode[IOC_CLASS_MEMBER] = IOC_MODE_AUTO;
	p->max_duration_s[IOC_CLASS_ANCESTOR] = 7 * 86400;
	p->max_duration_s[IOC_CLASS_MEMBER] = 7 * 86400 / 2;
	p->max_duration_s_all = 7 * 86400;
	p->min_confidence = 50;
	p->rate_per_hour = 1000;
	p->max_active = 10000;
	p->min_prefix4 = 16;
	p->min_prefix6 = 32;
}

/* ---- addresses ---- */

/* Parse; *hostbits says whether bits past the prefix were set (then n
 * holds them cleared). */
static int net_parse(const char *s, bool allow_prefix, struct ioc_net *n, bool *hostbits)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long plen = 0;

	memset(n, 0, sizeof *n);
	*hostbits = false;
	if (alen == 0 || alen >= sizeof buf || (slash && !allow_prefix))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = 0;
	if (inet_pton(AF_INET, buf, n->a) == 1) {
		n->fam = 4;
		n->plen = 32;
	} else if (inet_pton(AF_INET6, buf, n->a) == 1) {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		n->fam = 6;
		n->plen = 128;
		if (!memcmp(n->a, mapped, 12)) {   /* ::ffff:a.b.c.d is IPv4 */
			memmove(n->a, n->a + 12, 4);
			memset(n->a + 4, 0, 12);
			n->fam = 4;
			n->plen = 32;
			if (slash)
				return -EINVAL;    /* a mapped prefix: no */
		}
	} else {
		return -EINVAL;
	}
	if (slash) {
		const char *p = slash + 1;
		if (!*p || strlen(p) > 3)
			return -EINVAL;
		for (const char *q = p; *q; q++)
			if (!isdigit((unsigned char)*q))
				return -EINVAL;
		plen = strtoul(p, NULL, 10);
		if (plen > n->plen)
			return -EINVAL;
		n->plen = (uint8_t)plen;
	}
	unsigned bits = n->fam == 4 ? 32 : 128;
	for (unsigned i = n->plen; i < bits; i++) {
		uint8_t m = (uint8_t)(0x80u >> (i % 8));
		if (n->a[i / 8] & m) {
			*hostbits = true;
			n->a[i / 8] &= (uint8_t)~m;
		}
	}
	return 0;
}

int ioc_net_parse(const char *s, bool allow_prefix, struct ioc_net *n)
{
	bool hb;

	if (net_parse(s, allow_prefix, n, &hb) < 0 || hb)
		return -EINVAL;
	return 0;
}

void ioc_net_text(const struct ioc_net *n, char *buf, size_t cap)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(n->fam == 4 ? AF_INET : AF_INET6, n->a, a, sizeof a))
		a[0] = 0;
	if (n->plen == (n->fam == 4 ? 32 : 128))
		snprintf(buf, cap, "%s", a);
	else
		snprintf(buf, cap, "%s/%u", a, n->plen);
}

/* The first plen bits of x and y agree. */
static bool prefix_eq(const uint8_t *x, const uint8_t *y, unsigned plen)
{
	unsigned full = plen / 8, rest = plen % 8;

	if (memcmp(x, y, full))
		return false;
	if (!rest)
		return true;
	uint8_t m = (uint8_t)(0xffu << (8 - rest));
	return (x[full] & m) == (y[full] & m);
}

bool ioc_net_overlap(const struct ioc_net *x, const struct ioc_net *y)
{
	if (x->fam != y->fam)
		return false;
	return prefix_eq(x->a, y->a, x->plen < y->plen ? x->plen : y->plen);
}

/* ---- the allowlist ---- */

void ioc_allow_init(struct ioc_allow *a)
{
	memset(a, 0, sizeof *a);
}

void ioc_allow_clear(struct ioc_allow *a)
{
	a->nnets = a->nnames = 0;
	a->dropped = 0;
}

void ioc_allow_free(struct ioc_allow *a)
{
	free(a->nets);
	free(a->names);
	ioc_allow_init(a);
}

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	if (n >= IOC_ALLOW_MAX)
		return -ENOSPC;
	size_t nc = *cap ? 2 * *cap : 32;
	if (nc > IOC_ALLOW_MAX)
		nc = IOC_ALLOW_MAX;
	void *q = realloc(*p, nc * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = nc;
	return 0;
}

static int add_net(struct ioc_allow *a, const struct ioc_net *n, enum ioc_step why,
		   const char *label)
{
	int rc = grow((void **)&a->nets, &a->capnets, a->nnets, sizeof *a->nets);

	if (rc < 0) {
		if (rc == -ENOSPC)
			a->dropped++;
		return rc;
	}
	struct ioc_allow_net *e = &a->nets[a->nnets++];
	e->net = *n;
	e->step = (uint8_t)why;
	snprintf(e->label, sizeof e->label, "%s", label ? label : "");
	return 0;
}

int ioc_allow_special(struct ioc_allow *a)
{
	static const struct { const char *net, *label; } sp[] = {
		{ "0.0.0.0/8", "unspecified" }, { "10.0.0.0/8", "private" },
		{ "100.64.0.0/10", "CGNAT" }, { "127.0.0.0/8", "loopback" },
		{ "169.254.0.0/16", "link-local" }, { "172.16.0.0/12", "private" },
		{ "192.0.0.0/24", "IETF protocol" }, { "192.168.0.0/16", "private" },
		{ "224.0.0.0/4", "multicast" }, { "240.0.0.0/4", "reserved" },
		{ "::/128", "unspecified" }, { "::1/128", "loopback" },
		{ "fe80::/10", "link-local" }, { "fc00::/7", "ULA" }, { "ff00::/8", "multicast" },
	};
	struct ioc_net n;

	for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++) {
		int rc;
		if (ioc_net_parse(sp[i].net, true, &n) < 0)
			return -EINVAL;   /* a typo above */
		if ((rc = add_net(a, &n, IOC_STEP_SPECIAL, sp[i].label)) < 0)
			return rc;
	}
	return 0;
}

int ioc_allow_addr(struct ioc_allow *a, const char *text, enum ioc_step why, const char *label)
{
	char buf[64];
	const char *s = text;
	size_t len = strlen(text);
	struct ioc_net n;
	bool hb;

	/* "[v6]:port", "v4:port": drop the port */
	if (text[0] == '[') {
		const char *e = strchr(text, ']');
		if (!e || (size_t)(e - text - 1) >= sizeof buf)
			return -EINVAL;
		memcpy(buf, text + 1, (size_t)(e - text - 1));
		buf[e - text - 1] = 0;
		s = buf;
	} else if (strchr(text, ':') && strchr(text, ':') == strrchr(text, ':')) {
		size_t l = (size_t)(strchr(text, ':') - text);
		if (l >= sizeof buf)
			return -EINVAL;
		memcpy(buf, text, l);
		buf[l] = 0;
		s = buf;
	} else if (len >= sizeof buf) {
		return -EINVAL;
	}
	if (net_parse(s, true, &n, &hb) < 0)
		return -EINVAL;
	if (hb) {   /* "10.42.0.2/16": a host with its subnet's length: the host */
		char host[64];
		snprintf(host, sizeof host, "%.*s", (int)strcspn(s, "/"), s);
		if (net_parse(host, false, &n, &hb) < 0)
			return -EINVAL;
	}
	return add_net(a, &n, why, label);
}

int ioc_allow_subnet(struct ioc_allow *a, const char *text, enum ioc_step why, const char *label)
{
	struct ioc_net n;
	bool hb;

	if (net_parse(text, true, &n, &hb) < 0)
		return -EINVAL;
	return add_net(a, &n, why, label);
}

/* Lower-case copy of a name without its final dot; false if it does not
 * fit or is empty. */
static bool name_norm(const char *in, char *out, size_t cap)
{
	size_t n = strlen(in);

	if (n && in[n - 1] == '.')
		n--;
	if (n == 0 || n >= cap)
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)in[i]);
	out[n] = 0;
	return true;
}

int ioc_allow_name(struct ioc_allow *a, const char *name, enum ioc_step why)
{
	char nm[MN_MAX_DOMAIN + 1];

	if (!name_norm(name, nm, sizeof nm) || !dns_name_valid(nm, false))
		return -EINVAL;
	int rc = grow((void **)&a->names, &a->capnames, a->nnames, sizeof *a->names);
	if (rc < 0) {
		if (rc == -ENOSPC)
			a->dropped++;
		return rc;
	}
	struct ioc_allow_name *e = &a->names[a->nnames++];
	snprintf(e->name, sizeof e->name, "%s", nm);
	e->step = (uint8_t)why;
	return 0;
}

/* Is sub equal to or under parent ("a.b.example" under "example")? */
static bool name_under(const char *sub, const char *parent)
{
	size_t ls = strlen(sub), lp = strlen(parent);

	if (ls == lp)
		return !strcmp(sub, parent);
	return ls > lp && sub[ls - lp - 1] == '.' && !strcmp(sub + ls - lp, parent);
}

/* ---- the rate ---- */

bool ioc_bucket_take(struct ioc_bucket *b, unsigned rate_per_hour, uint64_t now_ms)
{
	if (!b->used) {
		b->used = true;
		b->tokens = rate_per_hour;
		b->last_ms = now_ms;
	} else if (now_ms > b->last_ms) {
		b->tokens += (double)rate_per_hour * (double)(now_ms - b->last_ms) / 3600000.0;
		if (b->tokens > rate_per_hour)
			b->tokens = rate_per_hour;
		b->last_ms = now_ms;
	}
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

/* ---- the decision ---- */

static enum ioc_step check_addr(const struct ioc_policy *p, const struct ioc_allow *a,
				const struct ioc_net *n, char *detail, size_t cap)
{
	unsigned bound = n->fam == 4 ? p->min_prefix4 : p->min_prefix6;

	if (n->plen < bound) {
		snprintf(detail, cap, "wider than /%u", bound);
		return IOC_STEP_WIDE;
	}
	/* the box's own reasons first (more telling), then the special
	 * ranges; within each, the most specific entry (a member's address
	 * before the mesh subnet holding it) */
	for (int pass = 0; pass < 2; pass++) {
		const struct ioc_allow_net *best = NULL;
		for (size_t i = 0; i < a->nnets; i++) {
			const struct ioc_allow_net *e = &a->nets[i];
			if ((e->step == IOC_STEP_SPECIAL) != (pass == 1) || !ioc_net_overlap(n, &e->net))
				continue;
			if (!best || e->net.plen > best->net.plen)
				best = e;
		}
		if (best) {
			char t[64];
			ioc_net_text(&best->net, t, sizeof t);
			snprintf(detail, cap, "%s%s%s", t, best->label[0] ? " " : "", best->label);
			return (enum ioc_step)best->step;
		}
	}
	return IOC_STEP_APPLY;
}

static enum ioc_step check_name(const struct ioc_allow *a, const char *value, char *detail,
				size_t cap)
{
	char nm[MN_MAX_DOMAIN + 1];

	if (!name_norm(value, nm, sizeof nm) || !dns_name_valid(nm, false))
		return IOC_STEP_VALUE;
	if (!strchr(nm, '.')) {   /* a top-level domain */
		snprintf(detail, cap, "a top-level domain");
		return IOC_STEP_WIDE;
	}
	for (size_t i = 0; i < a->nnames; i++) {
		const struct ioc_allow_name *e = &a->names[i];
		if (name_under(nm, e->name) || name_under(e->name, nm)) {
			snprintf(detail, cap, "%s", e->name);
			return (enum ioc_step)e->step;
		}
	}
	return IOC_STEP_APPLY;
}

enum ioc_step ioc_policy_allowed(const struct ioc_policy *p, const struct ioc_allow *a,
				 const struct ioc *c, char *detail, size_t cap)
{
	struct ioc_net n;

	detail[0] = 0;
	switch (c->scope) {
	case IOC_IP:
	case IOC_RANGE:
		if (ioc_net_parse(c->value, c->scope == IOC_RANGE, &n) < 0)
			return IOC_STEP_VALUE;
		return check_addr(p, a, &n, detail, cap);
	case IOC_DOMAIN:
		return check_name(a, c->value, detail, cap);
	default:
		snprintf(detail, cap, "%s", c->scope <= IOC_SCOPE_MAX ? ioc_scope_names[c->scope] : "?");
		return IOC_STEP_SCOPE;
	}
}

#define DONE(v, s) do { d->verdict = (v); d->step = (s); return; } while (0)

void ioc_policy_decide(const struct ioc_policy *p, const struct ioc_allow *a,
		       const struct ioc_input *in, struct ioc_decision *d)
{
	const struct ioc *c = in->ioc;
	uint64_t now_s = in->now_ms / 1000;
	enum ioc_class cls = (unsigned)in->cls < IOC_CLASS_N ? in->cls : IOC_CLASS_MEMBER;
	enum ioc_step s;

	memset(d, 0, sizeof *d);
	/* 1, 2: what it is, and what it must never touch */
	if ((s = ioc_policy_allowed(p, a, c, d->detail, sizeof d->detail)) != IOC_STEP_APPLY)
		DONE(IOC_V_REFUSE, s);
	/* 3 */
	if (c->valid_until && c->valid_until <= now_s)
		DONE(IOC_V_REFUSE, IOC_STEP_EXPIRED);
	/* 4 */
	if (p->mode[cls] == IOC_MODE_IGNORE) {
		snprintf(d->detail, sizeof d->detail, "%s", ioc_class_name(cls));
		DONE(IOC_V_REFUSE, IOC_STEP_IGNORED);
	}
	/* 5 */
	if (c->action != IOC_BAN && c->action != IOC_CAPTCHA) {
		snprintf(d->detail, sizeof d->detail, "%s",
			 c->action <= IOC_ACTION_MAX ? ioc_action_names[c->action] : "?");
		DONE(IOC_V_REFUSE, IOC_STEP_ACTION);
	}
	/* 6: a flood costs its origin, never the box */
	if (in->is_new && in->bucket && p->rate_per_hour) {
		struct ioc_bucket tmp = *in->bucket;
		bool ok = ioc_bucket_take(in->dry ? &tmp : in->bucket, p->rate_per_hour, in->now_ms);
		if (!ok) {
			snprintf(d->detail, sizeof d->detail, "over %u an hour", p->rate_per_hour);
			DONE(IOC_V_REFUSE, IOC_STEP_RATE);
		}
	}
	/* 7 */
	if (!in->approved && cls != IOC_CLASS_SELF) {
		if (c->confidence < p->min_confidence) {
			snprintf(d->detail, sizeof d->detail, "%u < %u", c->confidence, p->min_confidence);
			DONE(IOC_V_PENDING, IOC_STEP_CONFIDENCE);
		}
		if (p->mode[cls] == IOC_MODE_REVIEW) {
			snprintf(d->detail, sizeof d->detail, "%s", ioc_class_name(cls));
			DONE(IOC_V_PENDING, IOC_STEP_REVIEW);
		}
	}
	/* 8 */
	if (in->is_new && p->max_active && in->active >= p->max_active) {
		snprintf(d->detail, sizeof d->detail, "%u active", in->active);
		DONE(IOC_V_REFUSE, IOC_STEP_CAP);
	}
	/* 9 */
	uint64_t dur = c->valid_until ? c->valid_until - now_s : UINT64_MAX;
	if (p->max_duration_s[cls] && dur > p->max_duration_s[cls])
		dur = p->max_duration_s[cls];
	if (p->max_duration_s_all && dur > p->max_duration_s_all)
		dur = p->max_duration_s_all;
	if (dur == UINT64_MAX)
		dur = 86400;
	d->duration_s = dur;
	DONE(IOC_V_APPLY, IOC_STEP_APPLY);
}
#undef DONE
