/* Zone and server-config generation for the mesh's DNS (docs/dns.md).
 *
 * The model is an array of entries (each zonegen_deleg packed: its strings
 * end to end and only the n_* items it has, so a zone costs about what it
 * holds, not the ~9 KiB of the struct; a status and, for a rejected zone,
 * why). Output unpacks one zone at a time into a scratch struct.
 * zonegen_add checks an entry's own
 * fields; zonegen_seal sorts the accepted zones in DNSSEC canonical order
 * (RFC 4034 §6.1: labels compared right to left), rejects duplicates and
 * wrong parents, and keeps the accepted ones in `ok`. In that order every
 * zone's descendants follow it contiguously, so a zone's children are the
 * entries after it, up to the first name not under it, whose parent is it.
 *
 * A zone file is built as a list of records (owner and data in one text
 * arena), sorted, deduplicated and written. Names and addresses are
 * validated again by the same item checks each time they are written, so
 * nothing reaches a file that did not pass them just before. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "src/dns/zonegen.h"

#define SOA_TIMERS "3600 900 1209600 300"   /* refresh retry expire negative-ttl */
#define SHOWN 96                             /* a name shown in a message */

enum status { ST_OK, ST_BAD, ST_DUP, ST_PARENT };

struct entry {
	char *packed;                /* the zone's fields (pack()), or NULL */
	const char *zone, *parent;   /* inside packed, or "" */
	enum status status;
	char *why;                   /* for a rejected zone (owned; NULL if no memory) */
};

struct zonegen {
	char domain[MN_MAX_DOMAIN + 1];
	struct entry *e;
	size_t n, cap;
	const struct entry **ok;     /* accepted, canonical order (sealed) */
	size_t n_ok;
	bool sealed;
};

/* Rejections of one call: counted, and passed on to the caller's report. */
struct rj {
	struct zonegen_report *rep;
	unsigned n;
};

struct ip {
	int af;                           /* AF_INET, AF_INET6 */
	char text[INET6_ADDRSTRLEN];      /* inet_ntop's spelling */
};

__attribute__((format(printf, 2, 3)))
static void reject(struct rj *r, const char *fmt, ...)
{
	char msg[ZONEGEN_MSG_MAX];
	va_list ap;

	r->n++;
	if (!r->rep)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->rep->rejected++;
	if (!r->rep->first[0])
		snprintf(r->rep->first, sizeof r->rep->first, "%s", msg);
	if (r->rep->each)
		r->rep->each(r->rep->arg, msg);
}

/* s for a message: printable ASCII except '"' and '\', the rest as \xNN,
 * cut after 48 bytes. */
static const char *shown(const char *s, char buf[static SHOWN])
{
	size_t i, j = 0;

	for (i = 0; s[i] && i < 48; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c > 0x20 && c < 0x7f && c != '"' && c != '\\')
			buf[j++] = (char)c;
		else
			j += (size_t)snprintf(buf + j, SHOWN - j, "\\x%02x", c);
	}
	if (s[i])
		j += (size_t)snprintf(buf + j, SHOWN - j, "...");
	buf[j] = 0;
	return buf;
}

/* A host name: lower-case LDH labels of 1..63, at most 253 in all — the
 * records' DNS-name rule (proto/body.c) without its '_'. */
static bool name_ok(const char *s)
{
	size_t n = strnlen(s, MN_MAX_DOMAIN + 1);

	return n <= MN_MAX_DOMAIN && dns_name_valid(s, false) && !memchr(s, '_', n);
}

static bool label_ok(const char *s)
{
	return name_ok(s) && !strchr(s, '.');
}

/* name == zone or name below zone (both valid names). */
static bool inside(const char *name, const char *zone)
{
	size_t n = strlen(name), z = strlen(zone);

	if (n == z)
		return strcmp(name, zone) == 0;
	return n > z && name[n - z - 1] == '.' && strcmp(name + n - z, zone) == 0;
}

static bool strictly_inside(const char *name, const char *zone)
{
	return strlen(name) > strlen(zone) && inside(name, zone);
}

/* DNSSEC canonical order (RFC 4034 §6.1) of two lower-case names. */
static int name_cmp(const char *a, const char *b)
{
	size_t ea = strlen(a), eb = strlen(b);
	bool ma = ea > 0, mb = eb > 0;   /* labels left */

	while (ma && mb) {
		size_t sa = ea, sb = eb, la, lb;
		int c;
		while (sa > 0 && a[sa - 1] != '.')
			sa--;
		while (sb > 0 && b[sb - 1] != '.')
			sb--;
		la = ea - sa;
		lb = eb - sb;
		c = memcmp(a + sa, b + sb, la < lb ? la : lb);
		if (c)
			return c;
		if (la != lb)
			return la < lb ? -1 : 1;
		ma = sa > 0;
		mb = sb > 0;
		ea = ma ? sa - 1 : 0;
		eb = mb ? sb - 1 : 0;
	}
	return (int)ma - (int)mb;
}

/* An IPv4 or IPv6 address (no prefix, no scope) in canonical form. */
static bool ip_parse(const char *s, struct ip *ip)
{
	unsigned char bin[16];

	if (strnlen(s, MN_MAX_ADDR + 1) > MN_MAX_ADDR)
		return false;
	if (inet_pton(AF_INET, s, bin) == 1)
		ip->af = AF_INET;
	else if (inet_pton(AF_INET6, s, bin) == 1)
		ip->af = AF_INET6;
	else
		return false;
	return inet_ntop(ip->af, bin, ip->text, sizeof ip->text) != NULL;
}

/* "<rel>.<zone>" (or zone when rel is "") into out; false if over 253. */
static bool join(const char *rel, const char *zone, char out[static MN_MAX_DOMAIN + 1])
{
	int n = rel[0] ? snprintf(out, MN_MAX_DOMAIN + 1, "%s.%s", rel, zone)
		       : snprintf(out, MN_MAX_DOMAIN + 1, "%s", zone);
	return n > 0 && n <= MN_MAX_DOMAIN;
}

/* The SRV owner of host name rel in zone: _<first>._tcp[.<rest>].<zone>. */
static bool srv_owner(const char *rel, const char *zone, char out[static MN_MAX_DOMAIN + 1])
{
	const char *dot = strchr(rel, '.');
	int first = dot ? (int)(dot - rel) : (int)strlen(rel), n;

	if (first + 1 > MN_MAX_NAME)
		return false;
	n = snprintf(out, MN_MAX_DOMAIN + 1, "_%.*s._tcp.%s%s%s", first, rel,
		     dot ? dot + 1 : "", dot ? "." : "", zone);
	return n > 0 && n <= MN_MAX_DOMAIN;
}

static uint32_t zone_ttl(const struct zonegen_deleg *d)
{
	return d->ttl ? d->ttl : ZONEGEN_DEFAULT_TTL;
}

/* --- item checks: the same at zonegen_add and at every write ---------- */

/* Name server i of d; its address (af 0 if it has none) into ip. */
static bool ns_item(const struct zonegen *m, const struct zonegen_deleg *d, unsigned i,
		    struct ip *ip, struct rj *r)
{
	const struct dns_ns *ns = &d->ns[i];
	char a[SHOWN], b[SHOWN];

	ip->af = 0;
	if (!name_ok(ns->host)) {
		reject(r, "zone %s: name server \"%s\": invalid host name",
		       shown(d->zone, a), shown(ns->host, b));
		return false;
	}
	if (!ns->addr[0]) {
		if (!inside(ns->host, m->domain))
			return true;
		reject(r, "zone %s: name server %s: inside the mesh domain but no address",
		       shown(d->zone, a), shown(ns->host, b));
		return false;
	}
	if (!ip_parse(ns->addr, ip)) {
		reject(r, "zone %s: name server %s: invalid address \"%s\"",
		       shown(d->zone, a), ns->host, shown(ns->addr, b));
		return false;
	}
	return true;
}

/* The owner of a host name rel in d's zone, and its SRV owner ("" when
 * port is 0 or rel is the apex). A rejected SRV leaves the A/AAAA. */
static bool host_item(const struct zonegen_deleg *d, const char *what, const char *rel,
		      uint16_t port, char owner[static MN_MAX_DOMAIN + 1],
		      char srv[static MN_MAX_DOMAIN + 1], struct rj *r)
{
	char a[SHOWN], b[SHOWN];

	srv[0] = 0;
	if (rel[0] && !name_ok(rel)) {
		reject(r, "zone %s: %s \"%s\": invalid name", shown(d->zone, a), what, shown(rel, b));
		return false;
	}
	if (!join(rel, d->zone, owner)) {
		reject(r, "zone %s: %s %s: name over 253 characters", shown(d->zone, a), what,
		       shown(rel, b));
		return false;
	}
	if (port && rel[0] && !srv_owner(rel, d->zone, srv)) {
		srv[0] = 0;
		reject(r, "zone %s: %s %s: no SRV record, its owner would be too long",
		       shown(d->zone, a), what, shown(rel, b));
	}
	return true;
}

static bool name_item(const struct zonegen_deleg *d, unsigned i, struct ip *ip,
		      char owner[static MN_MAX_DOMAIN + 1], char srv[static MN_MAX_DOMAIN + 1],
		      struct rj *r)
{
	const struct dns_name *nm = &d->names[i];
	char a[SHOWN], b[SHOWN];

	if (!ip_parse(nm->addr, ip)) {
		reject(r, "zone %s: name %s: invalid address \"%s\"", shown(d->zone, a),
		       name_ok(nm->label) ? nm->label : "(invalid)", shown(nm->addr, b));
		return false;
	}
	return host_item(d, "name", nm->label, nm->port, owner, srv, r);
}

/* The delegate's valid mesh addresses into ips; how many. */
static unsigned delegate_addrs(const struct zonegen_deleg *d, struct ip ips[static ZONEGEN_MAX_ADDRS],
			       struct rj *r)
{
	char a[SHOWN], b[SHOWN];
	unsigned n = 0;

	for (unsigned k = 0; k < ZONEGEN_MAX_ADDRS; k++) {
		if (!d->delegate_addr[k][0])
			continue;
		if (ip_parse(d->delegate_addr[k], &ips[n]))
			n++;
		else
			reject(r, "zone %s: delegate address \"%s\": invalid", shown(d->zone, a),
			       shown(d->delegate_addr[k], b));
	}
	return n;
}

/* Exposure i (mesh channel only; others are not ours and pass silently). */
static bool expose_item(const struct zonegen_deleg *d, unsigned i, unsigned n_addrs,
			char owner[static MN_MAX_DOMAIN + 1], char srv[static MN_MAX_DOMAIN + 1],
			struct rj *r)
{
	const struct zonegen_expose *x = &d->exposes[i];
	char a[SHOWN], b[SHOWN];

	if (!(x->channels & CH_MESH))
		return false;
	if (!x->service[0]) {
		reject(r, "zone %s: exposure with an empty service name", shown(d->zone, a));
		return false;
	}
	if (!host_item(d, "service", x->service, x->port, owner, srv, r))
		return false;
	if (n_addrs == 0) {
		reject(r, "zone %s: service %s: the delegate has no valid mesh address",
		       shown(d->zone, a), shown(x->service, b));
		return false;
	}
	return true;
}

/* Exposure i on the CDN (CH_DNS): its domain, inside the zone, and its
 * valid entry points (n of them in ips). false: nothing to write (not on
 * the CDN passes silently; a bad domain or no valid entry is rejected). */
static bool cdn_item(const struct zonegen_deleg *d, unsigned i, struct ip ips[ZONEGEN_MAX_ENTRIES],
		     unsigned *n, struct rj *r)
{
	const struct zonegen_expose *x = &d->exposes[i];
	char a[SHOWN], b[SHOWN];

	*n = 0;
	if (!(x->channels & CH_DNS) || !x->domain[0])
		return false;
	if (!name_ok(x->domain) || !inside(x->domain, d->zone)) {
		reject(r, "zone %s: exposure %s: public name \"%s\" is not a name of the zone",
		       shown(d->zone, a), name_ok(x->service) ? x->service : "(invalid)", shown(x->domain, b));
		return false;
	}
	for (unsigned k = 0; k < x->n_entries; k++) {
		if (ip_parse(x->entry[k], &ips[*n]))
			(*n)++;
		else
			reject(r, "zone %s: %s: invalid entry point \"%s\"", shown(d->zone, a), x->domain,
			       shown(x->entry[k], b));
	}
	if (*n == 0 && x->n_entries)
		return false;
	return *n > 0;
}

/* Does an exposure of d put owner on the CDN (with an entry point that
 * parses)? Then the name is a public one: its mesh A/AAAA and SRV are not
 * written (one name, one meaning; the CDN routes mesh clients too). Quiet:
 * cdn_item() reports the rejections. */
static bool cdn_owns(const struct zonegen_deleg *d, const char *owner)
{
	struct ip ip;

	for (unsigned j = 0; j < d->n_exposes; j++) {
		const struct zonegen_expose *x = &d->exposes[j];
		if (!(x->channels & CH_DNS) || strcmp(x->domain, owner) != 0)
			continue;
		for (unsigned k = 0; k < x->n_entries; k++)
			if (ip_parse(x->entry[k], &ip))
				return true;
	}
	return false;
}

/* Exposure i's onion name (CH_TOR) and where its TXT goes: the CDN name,
 * else <service>.<zone>. */
static bool onion_item(const struct zonegen_deleg *d, unsigned i, char owner[static MN_MAX_DOMAIN + 1],
		       struct rj *r)
{
	const struct zonegen_expose *x = &d->exposes[i];
	char a[SHOWN], b[SHOWN], srv[MN_MAX_DOMAIN + 1];

	if (!(x->channels & CH_TOR) || !x->onion[0])
		return false;
	if (!onion_name_valid(x->onion)) {
		reject(r, "zone %s: exposure %s: invalid onion name \"%s\"", shown(d->zone, a),
		       name_ok(x->service) ? x->service : "(invalid)", shown(x->onion, b));
		return false;
	}
	if ((x->channels & CH_DNS) && x->domain[0] && name_ok(x->domain) && inside(x->domain, d->zone)) {
		snprintf(owner, MN_MAX_DOMAIN + 1, "%s", x->domain);
		return true;
	}
	return x->service[0] && host_item(d, "service", x->service, 0, owner, srv, r);
}

/* MX i of d: its name inside the zone, its host a valid name. */
static bool mx_item(const struct zonegen_deleg *d, unsigned i, struct rj *r)
{
	const struct zonegen_mx *x = &d->mx[i];
	char a[SHOWN], b[SHOWN], c[SHOWN];

	if (name_ok(x->name) && inside(x->name, d->zone) && name_ok(x->host))
		return true;
	reject(r, "zone %s: MX \"%s\" -> \"%s\": a name outside the zone or not valid", shown(d->zone, a),
	       shown(x->name, b), shown(x->host, c));
	return false;
}

/* Every item of d, checked and counted (zonegen_add); how many NS pass. */
static unsigned items_check(const struct zonegen *m, const struct zonegen_deleg *d, struct rj *r)
{
	char owner[MN_MAX_DOMAIN + 1], srv[MN_MAX_DOMAIN + 1];
	struct ip ip, ips[ZONEGEN_MAX_ADDRS];
	unsigned n_ns = 0, n_addrs;

	for (unsigned i = 0; i < d->n_ns; i++)
		n_ns += ns_item(m, d, i, &ip, r);
	for (unsigned i = 0; i < d->n_names; i++)
		name_item(d, i, &ip, owner, srv, r);
	n_addrs = delegate_addrs(d, ips, r);
	for (unsigned i = 0; i < d->n_exposes; i++) {
		struct ip ent[ZONEGEN_MAX_ENTRIES];
		unsigned ne;
		expose_item(d, i, n_addrs, owner, srv, r);
		cdn_item(d, i, ent, &ne, r);
		onion_item(d, i, owner, r);
	}
	for (unsigned i = 0; i < d->n_mx; i++)
		mx_item(d, i, r);
	return n_ns;
}

/* The zone's own fields; false with why filled when the zone is rejected. */
static bool zone_check(const struct zonegen *m, const struct zonegen_deleg *d, char *why)
{
	char a[SHOWN], b[SHOWN], c[SHOWN];
	const char *z = shown(d->zone, a), *p = shown(d->parent, b);

#define WHY(...) do { snprintf(why, ZONEGEN_MSG_MAX, __VA_ARGS__); return false; } while (0)
	if (!name_ok(d->zone))
		WHY("zone \"%s\": invalid name", z);
	if (!inside(d->zone, m->domain))
		WHY("zone %s: outside the mesh domain %s", z, shown(m->domain, c));
	if (strcmp(d->zone, m->domain) == 0) {
		if (d->parent[0])
			WHY("zone %s: the mesh domain has no parent, got \"%s\"", z, p);
	} else {
		if (!name_ok(d->parent))
			WHY("zone %s: invalid parent \"%s\"", z, p);
		if (!strictly_inside(d->zone, d->parent))
			WHY("zone %s: not strictly inside its parent %s", z, p);
		if (!inside(d->parent, m->domain))
			WHY("zone %s: parent %s outside the mesh domain", z, p);
	}
	if (d->delegate[0] && !label_ok(d->delegate))
		WHY("zone %s: invalid delegate name \"%s\"", z, shown(d->delegate, c));
	if (d->ttl > ZONEGEN_MAX_TTL)
		WHY("zone %s: ttl %" PRIu32 " over %u", z, d->ttl, ZONEGEN_MAX_TTL);
#undef WHY
	return true;
}

/* Every string field of d ends inside its array. */
static bool terminated(const struct zonegen_deleg *d)
{
#define T(f) (memchr((f), 0, sizeof(f)) != NULL)
	bool ok = T(d->zone) && T(d->parent) && T(d->delegate);
	for (unsigned i = 0; ok && i < MN_MAX_NS; i++)
		ok = T(d->ns[i].host) && T(d->ns[i].addr);
	for (unsigned i = 0; ok && i < MN_MAX_DNS_NAMES; i++)
		ok = T(d->names[i].label) && T(d->names[i].addr);
	for (unsigned i = 0; ok && i < ZONEGEN_MAX_ADDRS; i++)
		ok = T(d->delegate_addr[i]);
	for (unsigned i = 0; ok && i < ZONEGEN_MAX_EXPOSES; i++) {
		const struct zonegen_expose *x = &d->exposes[i];
		ok = T(x->service) && T(x->domain) && T(x->onion);
		for (unsigned k = 0; ok && k < ZONEGEN_MAX_ENTRIES; k++)
			ok = T(x->entry[k]);
	}
	for (unsigned i = 0; ok && i < ZONEGEN_MAX_MX; i++)
		ok = T(d->mx[i].name) && T(d->mx[i].host);
#undef T
	return ok;
}

/* --- packed entries ---------------------------------------------------- */

/* A writer that only counts when buf is NULL (the first pass of pack). */
struct pk {
	char *buf;
	size_t len;
};

static void pk_put(struct pk *w, const void *p, size_t n)
{
	if (w->buf)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void pk_str(struct pk *w, const char *s)
{
	pk_put(w, s, strlen(s) + 1);
}

/* d (terminated()) into w: zone, parent, delegate, ttl, then each list as
 * its count and its items only. */
static void pack_into(struct pk *w, const struct zonegen_deleg *d)
{
	pk_str(w, d->zone);
	pk_str(w, d->parent);
	pk_str(w, d->delegate);
	pk_put(w, &d->ttl, sizeof d->ttl);
	pk_put(w, &d->n_ns, 1);
	for (unsigned i = 0; i < d->n_ns; i++) {
		pk_str(w, d->ns[i].host);
		pk_str(w, d->ns[i].addr);
	}
	pk_put(w, &d->n_names, 1);
	for (unsigned i = 0; i < d->n_names; i++) {
		pk_str(w, d->names[i].label);
		pk_str(w, d->names[i].addr);
		pk_put(w, &d->names[i].port, sizeof d->names[i].port);
	}
	for (unsigned i = 0; i < ZONEGEN_MAX_ADDRS; i++)
		pk_str(w, d->delegate_addr[i]);
	pk_put(w, &d->n_exposes, 1);
	for (unsigned i = 0; i < d->n_exposes; i++) {
		const struct zonegen_expose *x = &d->exposes[i];
		pk_str(w, x->service);
		pk_put(w, &x->port, sizeof x->port);
		pk_put(w, &x->channels, 1);
		pk_str(w, x->domain);
		pk_put(w, &x->n_entries, 1);
		for (unsigned k = 0; k < x->n_entries && k < ZONEGEN_MAX_ENTRIES; k++)
			pk_str(w, x->entry[k]);
		pk_str(w, x->onion);
	}
	pk_put(w, &d->n_mx, 1);
	for (unsigned i = 0; i < d->n_mx; i++) {
		pk_str(w, d->mx[i].name);
		pk_put(w, &d->mx[i].pref, sizeof d->mx[i].pref);
		pk_str(w, d->mx[i].host);
	}
}

/* A new packed copy of d (the caller frees), or NULL. */
static char *pack(const struct zonegen_deleg *d)
{
	struct pk w = { 0 };

	pack_into(&w, d);
	if (!(w.buf = malloc(w.len)))
		return NULL;
	w.len = 0;
	pack_into(&w, d);
	return w.buf;
}

/* The reader of our own packed bytes (made by pack() from terminated
 * fields, so every string fits its field). */
static const char *up_str(const char **p, char *dst, size_t cap)
{
	size_t n = strlen(*p) + 1;
	const char *s = *p;

	if (dst)
		snprintf(dst, cap, "%s", s);
	*p += n;
	return s;
}

static void up_get(const char **p, void *dst, size_t n)
{
	memcpy(dst, *p, n);
	*p += n;
}

/* The zone of e as a whole struct, into d. */
static void unpack(const struct entry *e, struct zonegen_deleg *d)
{
	const char *p = e->packed;

	memset(d, 0, sizeof *d);
	up_str(&p, d->zone, sizeof d->zone);
	up_str(&p, d->parent, sizeof d->parent);
	up_str(&p, d->delegate, sizeof d->delegate);
	up_get(&p, &d->ttl, sizeof d->ttl);
	up_get(&p, &d->n_ns, 1);
	for (unsigned i = 0; i < d->n_ns; i++) {
		up_str(&p, d->ns[i].host, sizeof d->ns[i].host);
		up_str(&p, d->ns[i].addr, sizeof d->ns[i].addr);
	}
	up_get(&p, &d->n_names, 1);
	for (unsigned i = 0; i < d->n_names; i++) {
		up_str(&p, d->names[i].label, sizeof d->names[i].label);
		up_str(&p, d->names[i].addr, sizeof d->names[i].addr);
		up_get(&p, &d->names[i].port, sizeof d->names[i].port);
	}
	for (unsigned i = 0; i < ZONEGEN_MAX_ADDRS; i++)
		up_str(&p, d->delegate_addr[i], sizeof d->delegate_addr[i]);
	up_get(&p, &d->n_exposes, 1);
	for (unsigned i = 0; i < d->n_exposes; i++) {
		struct zonegen_expose *x = &d->exposes[i];
		up_str(&p, x->service, sizeof x->service);
		up_get(&p, &x->port, sizeof x->port);
		up_get(&p, &x->channels, 1);
		up_str(&p, x->domain, sizeof x->domain);
		up_get(&p, &x->n_entries, 1);
		for (unsigned k = 0; k < x->n_entries && k < ZONEGEN_MAX_ENTRIES; k++)
			up_str(&p, x->entry[k], sizeof x->entry[k]);
		up_str(&p, x->onion, sizeof x->onion);
	}
	up_get(&p, &d->n_mx, 1);
	for (unsigned i = 0; i < d->n_mx; i++) {
		up_str(&p, d->mx[i].name, sizeof d->mx[i].name);
		up_get(&p, &d->mx[i].pref, sizeof d->mx[i].pref);
		up_str(&p, d->mx[i].host, sizeof d->mx[i].host);
	}
}

/* Why e was rejected: the message, kept (e->why NULL if out of memory). */
static void set_why(struct entry *e, const char *msg)
{
	free(e->why);
	e->why = strdup(msg);
}

static const char *why_of(const struct entry *e)
{
	return e->why ? e->why : "a zone was rejected (its reason did not fit in memory)";
}

/* --- the model -------------------------------------------------------- */

int zonegen_new(const char *domain, struct zonegen **out)
{
	struct zonegen *m;

	*out = NULL;
	if (!name_ok(domain))
		return -EINVAL;
	if (!(m = calloc(1, sizeof *m)))
		return -ENOMEM;
	memcpy(m->domain, domain, strlen(domain) + 1);
	*out = m;
	return 0;
}

void zonegen_free(struct zonegen *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].packed);
		free(m->e[i].why);
	}
	free(m->e);
	free(m->ok);
	free(m);
}

int zonegen_add(struct zonegen *m, const struct zonegen_deleg *d, struct zonegen_report *rep)
{
	struct rj r = { rep, 0 };
	struct entry *e;
	char why[ZONEGEN_MSG_MAX];

	if (m->sealed || d->n_ns > MN_MAX_NS || d->n_names > MN_MAX_DNS_NAMES ||
	    d->n_exposes > ZONEGEN_MAX_EXPOSES || d->n_mx > ZONEGEN_MAX_MX)
		return -EINVAL;
	for (unsigned i = 0; i < d->n_exposes; i++)
		if (d->exposes[i].n_entries > ZONEGEN_MAX_ENTRIES)
			return -EINVAL;
	if (m->n == ZONEGEN_MAX_ZONES)
		return -ENOSPC;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct entry *ne = realloc(m->e, cap * sizeof *ne);
		if (!ne)
			return -ENOMEM;
		m->e = ne;
		m->cap = cap;
	}
	e = &m->e[m->n];
	memset(e, 0, sizeof *e);
	e->zone = e->parent = "";
	if (!terminated(d)) {
		/* never used again: keep nothing of it */
		m->n++;
		e->status = ST_BAD;
		set_why(e, "a zone with a string field that is not terminated");
		reject(&r, "%s", why_of(e));
		return (int)r.n;
	}
	if (!(e->packed = pack(d)))
		return -ENOMEM;
	m->n++;
	e->zone = e->packed;
	e->parent = e->zone + strlen(e->zone) + 1;
	if (!zone_check(m, d, why)) {
		e->status = ST_BAD;
		set_why(e, why);
		reject(&r, "%s", why_of(e));
		return (int)r.n;
	}
	if (items_check(m, d, &r) == 0) {
		e->status = ST_BAD;
		char a[SHOWN];
		snprintf(why, sizeof why, "zone %s: no valid name server", shown(e->zone, a));
		set_why(e, why);
		reject(&r, "%s", why_of(e));
	}
	return (int)r.n;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = *(const struct entry *const *)a, *y = *(const struct entry *const *)b;
	int c = name_cmp(x->zone, y->zone);

	/* ties (duplicates) by position, so the order is total */
	return c ? c : (x < y ? -1 : x > y);
}

/* Index in sorted[0..n) of an accepted zone named name, or -1. */
static long find_ok(const struct entry *const *sorted, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(sorted[mid]->zone, name);
		if (c == 0) {
			/* duplicates sit together; any accepted one of them */
			size_t i = mid;
			while (i > 0 && name_cmp(sorted[i - 1]->zone, name) == 0)
				i--;
			for (; i < n && name_cmp(sorted[i]->zone, name) == 0; i++)
				if (sorted[i]->status == ST_OK)
					return (long)i;
			return -1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int zonegen_seal(struct zonegen *m, struct zonegen_report *rep)
{
	struct rj r = { rep, 0 };
	const struct entry **s;
	size_t n = 0, i, j;

	if (m->sealed)
		return -EINVAL;
	if (!(s = malloc((m->n ? m->n : 1) * sizeof *s)))
		return -ENOMEM;
	for (i = 0; i < m->n; i++)
		if (m->e[i].status == ST_OK)
			s[n++] = &m->e[i];
	qsort(s, n, sizeof *s, entry_cmp);
	/* a zone given more than once: every copy out, whatever came first */
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(s[j]->zone, s[i]->zone) == 0; j++)
			;
		for (size_t k = i; j - i > 1 && k < j; k++) {
			struct entry *e = &m->e[s[k] - m->e];
			char a[SHOWN], why[ZONEGEN_MSG_MAX];
			e->status = ST_DUP;
			snprintf(why, sizeof why, "zone %s: given %zu times", shown(e->zone, a), j - i);
			set_why(e, why);
			reject(&r, "%s", why_of(e));
		}
	}
	/* parents: canonical order puts ancestors first, so theirs are final */
	for (i = 0; i < n; i++) {
		struct entry *e = &m->e[s[i] - m->e];
		const char *up = e->zone;
		char a[SHOWN], b[SHOWN], c[SHOWN], why[ZONEGEN_MSG_MAX];
		if (e->status != ST_OK || strcmp(up, m->domain) == 0)
			continue;
		do
			up = strchr(up, '.') + 1;
		while (strcmp(up, m->domain) != 0 && find_ok(s, i, up) < 0);
		if (strcmp(up, e->parent) != 0) {
			e->status = ST_PARENT;
			snprintf(why, sizeof why,
				 "zone %s: delegated by %s, but the closest zone above it is %s",
				 shown(e->zone, a), shown(e->parent, b), shown(up, c));
			set_why(e, why);
			reject(&r, "%s", why_of(e));
		}
	}
	for (i = j = 0; i < n; i++)
		if (s[i]->status == ST_OK)
			s[j++] = s[i];
	m->ok = s;
	m->n_ok = j;
	m->sealed = true;
	return (int)r.n;
}

size_t zonegen_count(const struct zonegen *m)
{
	return m->sealed ? m->n_ok : 0;
}

const char *zonegen_name(const struct zonegen *m, size_t i)
{
	return m->ok[i]->zone;
}

/* --- output ----------------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static void emit(struct zonegen_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->err && o->err != -ENOSPC)
		return;
	va_start(ap, fmt);
	if (o->file) {
		n = vfprintf(o->file, fmt, ap);
		if (n < 0)
			o->err = -EIO;
	} else {
		size_t room = o->len < o->cap ? o->cap - o->len : 0;
		n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
		if (n < 0)
			o->err = -EIO;
		else if ((size_t)n >= room)
			o->err = -ENOSPC;
	}
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

enum rrtype { T_SOA, T_NS, T_A, T_AAAA, T_SRV, T_TXT, T_MX };
static const char *const type_names[] = { "SOA", "NS", "A", "AAAA", "SRV", "TXT", "MX" };

struct rr {
	size_t owner, data;      /* arena offsets while building */
	const char *o, *t;       /* then pointers */
	uint32_t ttl;
	enum rrtype type;
};

struct zb {
	struct rr *rr;
	size_t n, cap;
	char *text;
	size_t len, tcap;
	bool nomem;
};

static size_t arena_put(struct zb *z, const char *s)
{
	size_t n = strlen(s) + 1, at = z->len;

	if (z->len + n > z->tcap) {
		size_t cap = z->tcap ? z->tcap * 2 : 4096;
		char *t;
		while (cap < z->len + n)
			cap *= 2;
		if (!(t = realloc(z->text, cap))) {
			z->nomem = true;
			return 0;
		}
		z->text = t;
		z->tcap = cap;
	}
	memcpy(z->text + at, s, n);
	z->len += n;
	return at;
}

__attribute__((format(printf, 5, 6)))
static void rr_add(struct zb *z, const char *owner, enum rrtype type, uint32_t ttl,
		   const char *fmt, ...)
{
	char data[MN_MAX_DOMAIN * 2 + 64];
	va_list ap;

	if (z->nomem)
		return;
	if (z->n == z->cap) {
		size_t cap = z->cap ? z->cap * 2 : 64;
		struct rr *nr = realloc(z->rr, cap * sizeof *nr);
		if (!nr) {
			z->nomem = true;
			return;
		}
		z->rr = nr;
		z->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(data, sizeof data, fmt, ap);
	va_end(ap);
	z->rr[z->n] = (struct rr){ .owner = arena_put(z, owner), .data = arena_put(z, data),
				   .ttl = ttl, .type = type };
	if (!z->nomem)
		z->n++;
}

static void rr_addr(struct zb *z, const char *owner, uint32_t ttl, const struct ip *ip)
{
	rr_add(z, owner, ip->af == AF_INET ? T_A : T_AAAA, ttl, "%s", ip->text);
}

static int rr_cmp(const void *a, const void *b)
{
	const struct rr *x = a, *y = b;
	int c = name_cmp(x->o, y->o);

	if (c)
		return c;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return strcmp(x->t, y->t);
}

/* A name at or below the cut of an accepted zone strictly below zone. */
static bool occluded(const struct zonegen *m, const char *zone, const char *owner)
{
	for (const char *s = owner; strictly_inside(s, zone); s = strchr(s, '.') + 1)
		if (find_ok(m->ok, m->n_ok, s) >= 0)
			return true;
	return false;
}

/* A host name of this zone's data (not glue): written unless occluded. */
static bool visible(const struct zonegen *m, const char *zone, const char *owner, struct rj *r)
{
	if (!occluded(m, zone, owner))
		return true;
	reject(r, "zone %s: %s lies at or below a delegation, left out", zone, owner);
	return false;
}

/* Records of the zone itself: SOA, NS, in-zone NS addresses, names,
 * exposures. */
static void own_records(const struct zonegen *m, const struct zonegen_deleg *d, uint32_t serial,
			struct zb *z, struct rj *r)
{
	char owner[MN_MAX_DOMAIN + 1], srv[MN_MAX_DOMAIN + 1], rname[MN_MAX_DOMAIN + 1];
	const char *mname = NULL;
	struct ip ip, ips[ZONEGEN_MAX_ADDRS];
	uint32_t ttl = zone_ttl(d);
	unsigned n_addrs;

	for (unsigned i = 0; i < d->n_ns; i++) {
		if (!ns_item(m, d, i, &ip, r))
			continue;
		if (!mname)
			mname = d->ns[i].host;
		rr_add(z, d->zone, T_NS, ttl, "%s.", d->ns[i].host);
		if (ip.af && inside(d->ns[i].host, d->zone))
			rr_addr(z, d->ns[i].host, ttl, &ip);
	}
	if (!join("hostmaster", d->zone, rname) && !join("hostmaster", m->domain, rname))
		snprintf(rname, sizeof rname, "hostmaster");
	/* mname is set: an accepted zone has a valid name server */
	rr_add(z, d->zone, T_SOA, ttl, "%s. %s. %" PRIu32 " " SOA_TIMERS, mname ? mname : d->zone,
	       rname, serial);
	for (unsigned i = 0; i < d->n_names; i++) {
		if (!name_item(d, i, &ip, owner, srv, r) || !visible(m, d->zone, owner, r))
			continue;
		rr_addr(z, owner, ttl, &ip);
		if (srv[0])
			rr_add(z, srv, T_SRV, ttl, "0 0 %u %s.", (unsigned)d->names[i].port, owner);
	}
	n_addrs = delegate_addrs(d, ips, r);
	for (unsigned i = 0; i < d->n_exposes; i++) {
		if (!expose_item(d, i, n_addrs, owner, srv, r) || cdn_owns(d, owner) ||
		    !visible(m, d->zone, owner, r))
			continue;
		for (unsigned k = 0; k < n_addrs; k++)
			rr_addr(z, owner, ttl, &ips[k]);
		if (srv[0])
			rr_add(z, srv, T_SRV, ttl, "0 0 %u %s.", (unsigned)d->exposes[i].port, owner);
	}
	for (unsigned i = 0; i < d->n_exposes; i++) {
		struct ip ent[ZONEGEN_MAX_ENTRIES];
		unsigned ne;
		if (cdn_item(d, i, ent, &ne, r) && visible(m, d->zone, d->exposes[i].domain, r))
			for (unsigned k = 0; k < ne; k++)
				rr_addr(z, d->exposes[i].domain, ttl, &ent[k]);
		if (onion_item(d, i, owner, r) && visible(m, d->zone, owner, r))
			rr_add(z, owner, T_TXT, ttl, "\"onion=%s\"", d->exposes[i].onion);
	}
	for (unsigned i = 0; i < d->n_mx; i++)
		if (mx_item(d, i, r) && visible(m, d->zone, d->mx[i].name, r))
			rr_add(z, d->mx[i].name, T_MX, ttl, "%u %s.", (unsigned)d->mx[i].pref, d->mx[i].host);
}

/* The delegations directly below ok[at]: NS and glue (RFC 1034 §4.2.1);
 * each child is unpacked into c (scratch). */
static void child_records(const struct zonegen *m, size_t at, struct zonegen_deleg *c,
			  struct zb *z, struct rj *r)
{
	const char *zone = m->ok[at]->zone;
	struct ip ip;

	for (size_t j = at + 1; j < m->n_ok && strictly_inside(m->ok[j]->zone, zone); j++) {
		if (strcmp(m->ok[j]->parent, zone) != 0)
			continue;   /* a grandchild: its parent delegates it */
		unpack(m->ok[j], c);
		for (unsigned i = 0; i < c->n_ns; i++) {
			if (!ns_item(m, c, i, &ip, r))
				continue;
			rr_add(z, c->zone, T_NS, zone_ttl(c), "%s.", c->ns[i].host);
			if (ip.af && inside(c->ns[i].host, zone))
				rr_addr(z, c->ns[i].host, zone_ttl(c), &ip);
		}
	}
	/* the delegations of this zone that were refused, for the report */
	for (size_t i = 0; i < m->n; i++)
		if (m->e[i].status != ST_OK && strcmp(m->e[i].parent, zone) == 0)
			reject(r, "%s", why_of(&m->e[i]));
}

static void write_records(struct zb *z, const char *zone, struct zonegen_out *out)
{
	size_t i, j, k, zl = strlen(zone);

	for (i = 0; i < z->n; i++) {
		z->rr[i].o = z->text + z->rr[i].owner;
		z->rr[i].t = z->text + z->rr[i].data;
	}
	qsort(z->rr, z->n, sizeof *z->rr, rr_cmp);
	for (i = 0; i < z->n; i = j) {
		/* one RRset: the lowest TTL of its records, each record once */
		uint32_t ttl = z->rr[i].ttl;
		for (j = i + 1; j < z->n && strcmp(z->rr[j].o, z->rr[i].o) == 0 &&
				z->rr[j].type == z->rr[i].type; j++)
			if (z->rr[j].ttl < ttl)
				ttl = z->rr[j].ttl;
		for (k = i; k < j; k++) {
			const struct rr *x = &z->rr[k];
			size_t ol = strlen(x->o);
			if (k > i && strcmp(x->t, z->rr[k - 1].t) == 0)
				continue;
			if (ol == zl)
				emit(out, "@");
			else
				emit(out, "%.*s", (int)(ol - zl - 1), x->o);
			emit(out, "\t%" PRIu32 "\tIN\t%s\t%s\n", ttl, type_names[x->type], x->t);
		}
	}
}

int zonegen_zone(const struct zonegen *m, const char *zone, uint32_t serial,
		 struct zonegen_out *out, struct zonegen_report *rep)
{
	struct rj r = { rep, 0 };
	struct zb z = { 0 };
	struct zonegen_deleg *d;   /* [0] the zone, [1] scratch for its children */
	long at;

	if (!m->sealed || !name_ok(zone))
		return -EINVAL;
	if ((at = find_ok(m->ok, m->n_ok, zone)) < 0)
		return -ENOENT;
	if (!(d = malloc(2 * sizeof *d)))
		return -ENOMEM;
	unpack(m->ok[at], d);
	own_records(m, d, serial, &z, &r);
	child_records(m, (size_t)at, &d[1], &z, &r);
	if (z.nomem) {
		free(z.rr);
		free(z.text);
		free(d);
		return -ENOMEM;
	}
	emit(out, ZONEGEN_HEAD, d->zone);
	if (d->delegate[0])
		emit(out, "; delegated to node %s by %s\n", d->delegate,
		     d->parent[0] ? d->parent : "the mesh root");
	emit(out, "$ORIGIN %s.\n$TTL %" PRIu32 "\n", d->zone, zone_ttl(d));
	write_records(&z, d->zone, out);
	free(z.rr);
	free(z.text);
	free(d);
	return out->err ? out->err : (int)r.n;
}

/* An absolute directory of safe characters, no "." or ".." component. */
static bool dir_ok(const char *dir)
{
	size_t n = strnlen(dir, ZONEGEN_DIR_MAX + 1);

	if (n < 2 || n > ZONEGEN_DIR_MAX || dir[0] != '/' || dir[n - 1] == '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = dir[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '+' || c == '-' || c == '/'))
			return false;
		if (c == '/') {
			size_t k = i + 1;
			while (k < n && dir[k] == '.')
				k++;
			if ((k == n || dir[k] == '/') && k - i - 1 <= 2)
				return false;   /* "//", "/.", "/.." */
		}
	}
	return true;
}

/* The file name of a zone: "<zone>.zone", or "<zone>.z" where that would
 * pass NAME_MAX (a zone over 250 characters). The two endings differ in
 * their last character, so no two zones share a file. */
static const char *zone_suffix(const char *zone)
{
	return strlen(zone) + 5 > 255 ? ".z" : ".zone";
}

int zonegen_zone_path(const char *dir, const char *zone, char *buf, size_t cap)
{
	int n;

	if (!dir_ok(dir) || !name_ok(zone))
		return -EINVAL;
	n = snprintf(buf, cap, "%s/%s%s", dir, zone, zone_suffix(zone));
	return n > 0 && (size_t)n < cap ? 0 : -ENOSPC;
}

int zonegen_file_zone(const char *domain, const char *file, char *zone, size_t cap)
{
	size_t n = strnlen(file, 256), sl;

	if (n > 5 && !strcmp(file + n - 5, ".zone"))
		sl = 5;
	else if (n > 2 && !strcmp(file + n - 2, ".z"))
		sl = 2;
	else
		return -EINVAL;
	if (n - sl > MN_MAX_DOMAIN)
		return -EINVAL;
	if (n - sl + 1 > cap)
		return -ENOSPC;
	memcpy(zone, file, n - sl);
	zone[n - sl] = 0;
	/* exactly the name zonegen_zone_path gives it: a valid zone inside
	 * the domain, with the ending its length calls for */
	if (!name_ok(domain) || !name_ok(zone) || !inside(zone, domain) ||
	    strcmp(zone_suffix(zone), file + n - sl)) {
		zone[0] = 0;
		return -EINVAL;
	}
	return 0;
}

bool zonegen_file_is_ours(const char *zone, const char *head, size_t n)
{
	char line[MN_MAX_DOMAIN + sizeof ZONEGEN_HEAD];
	int k = snprintf(line, sizeof line, ZONEGEN_HEAD, zone);

	return k > 0 && (size_t)k < sizeof line && n >= (size_t)k && !memcmp(head, line, (size_t)k);
}

static int pos_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

/* Positions in m->ok of the zones asked for (all when zones is NULL),
 * ascending (so canonical order), each once. *out is freed by the caller. */
static int served(const struct zonegen *m, const char *const *zones, size_t n_zones,
		  size_t **out, size_t *n, struct rj *r)
{
	size_t *p = malloc((zones ? n_zones : m->n_ok) * sizeof *p + 1), k = 0;
	char a[SHOWN];

	*out = p;
	*n = 0;
	if (!p)
		return -ENOMEM;
	if (!zones) {
		for (k = 0; k < m->n_ok; k++)
			p[k] = k;
		*n = k;
		return 0;
	}
	for (size_t i = 0; i < n_zones; i++) {
		long at = name_ok(zones[i]) ? find_ok(m->ok, m->n_ok, zones[i]) : -1;
		if (at < 0)
			reject(r, "zone \"%s\": not an accepted zone of the model", shown(zones[i], a));
		else
			p[k++] = (size_t)at;
	}
	qsort(p, k, sizeof *p, pos_cmp);
	for (size_t i = 0; i < k; i++)
		if (*n == 0 || p[*n - 1] != p[i])
			p[(*n)++] = p[i];
	return 0;
}

/* The valid listen addresses of conf into ips; how many. */
static size_t listen_addrs(const struct zonegen_conf *conf, struct ip ips[static ZONEGEN_MAX_LISTEN],
			   struct rj *r)
{
	char a[SHOWN];
	size_t n = 0;

	for (size_t i = 0; i < conf->n_listen; i++) {
		if (conf->listen[i] && ip_parse(conf->listen[i], &ips[n]))
			n++;
		else
			reject(r, "listen address \"%s\": invalid",
			       conf->listen[i] ? shown(conf->listen[i], a) : "(null)");
	}
	return n;
}

static const char primary_note[] =
	"Every server of a mesh zone generates the zone file itself from the same\n"
	"signed records (they travel by gossip), so each server is a primary of\n"
	"identical content: no zone transfers, no NOTIFY, no ACL.\n";

/* The outside secondaries that passed (conf_common): their addresses,
 * NOTIFY ports, and the key; n == 0: no transfers. */
struct xfr {
	struct ip ip[ZONEGEN_MAX_SECONDARIES];
	unsigned port[ZONEGEN_MAX_SECONDARIES];
	size_t n;
	const struct tsig_key *key;
};

static const char xfr_note[] =
	"Zone transfers (AXFR, IXFR) go only to the outside secondaries named\n"
	"below, signed with TSIG key %s (its secret in " ZONEGEN_XFR_KEY_CONF ", 0600),\n"
	"and they get a NOTIFY on each change (docs/dns.md \"Zone transfers\").\n";

/* The first lines of a config: what it is, then primary_note (and
 * xfr_note with secondaries), each line behind the comment prefix. */
static void banner(struct zonegen_out *out, const char *prefix, const char *what,
		   const struct zonegen *m, const struct xfr *x)
{
	char note[sizeof xfr_note + MN_MAX_DOMAIN];

	emit(out, "%s %s for the mesh domain %s, generated by mirrornet zonegen; do not edit.\n",
	     prefix, what, m->domain);
	for (const char *s = primary_note, *nl; (nl = strchr(s, '\n')); s = nl + 1)
		emit(out, "%s %.*s\n", prefix, (int)(nl - s), s);
	if (!x->n)
		return;
	snprintf(note, sizeof note, xfr_note, x->key->name);
	for (const char *s = note, *nl; (nl = strchr(s, '\n')); s = nl + 1)
		emit(out, "%s %.*s\n", prefix, (int)(nl - s), s);
}

/* The secondaries of conf that pass into x; with any given but no valid
 * key, none (one rejection: no unauthenticated transfers). */
static void xfr_of(const struct zonegen_conf *conf, struct xfr *x, struct rj *r)
{
	char a[SHOWN];

	x->n = 0;
	x->key = NULL;
	if (!conf->n_secondary)
		return;
	if (!conf->xfr_key || tsig_key_check(conf->xfr_key) < 0) {
		reject(r, "outside secondaries without a valid TSIG key: no zone transfers");
		return;
	}
	x->key = conf->xfr_key;
	for (size_t i = 0; i < conf->n_secondary; i++) {
		if (conf->secondary[i] && ip_parse(conf->secondary[i], &x->ip[x->n])) {
			x->port[x->n++] = conf->secondary_port[i] ? conf->secondary_port[i] : 53;
			continue;
		}
		reject(r, "secondary \"%s\": not an IP address",
		       conf->secondary[i] ? shown(conf->secondary[i], a) : "(null)");
	}
}

typedef void (*conf_body)(const struct zonegen *m, const size_t *zones, size_t n,
			  const struct zonegen_conf *conf, const struct ip *ips, size_t n_ips,
			  const struct xfr *x, struct zonegen_out *out);

static int conf_common(const struct zonegen *m, const char *const *zones, size_t n_zones,
		       const struct zonegen_conf *conf, struct zonegen_out *out,
		       struct zonegen_report *rep, conf_body body)
{
	struct rj r = { rep, 0 };
	struct ip ips[ZONEGEN_MAX_LISTEN];
	struct xfr x;
	size_t *p, n, n_ips;
	int err;

	if (!m->sealed || !dir_ok(conf->dir) || conf->n_listen > ZONEGEN_MAX_LISTEN ||
	    conf->n_secondary > ZONEGEN_MAX_SECONDARIES)
		return -EINVAL;
	n_ips = listen_addrs(conf, ips, &r);
	xfr_of(conf, &x, &r);
	if ((err = served(m, zones, n_zones, &p, &n, &r)) < 0)
		return err;
	body(m, p, n, conf, ips, n_ips, &x, out);
	free(p);
	return out->err ? out->err : (int)r.n;
}

/* Knot: the remotes and the transfer ACL (before the template that names
 * them), and the template of the zones with secondaries. */
static void knot_xfr(const struct xfr *x, const char *dir, struct zonegen_out *out)
{
	/* the journal (the changes IXFR sends) in dir, not in Knot's
	 * default /var/lib/knot */
	emit(out, "\ninclude: %s/" ZONEGEN_XFR_KEY_CONF "\n\ndatabase:\n    journal-db: %s/"
	     ZONEGEN_XFR_JOURNAL "\n\nremote:\n", dir, dir);
	for (size_t i = 0; i < x->n; i++)
		emit(out, "  - id: mn-secondary-%zu\n    address: %s@%u\n    key: %s.\n", i + 1,
		     x->ip[i].text, x->port[i], x->key->name);
	emit(out, "\nacl:\n  - id: mn-xfr\n    address: [ ");
	for (size_t i = 0; i < x->n; i++)
		emit(out, "%s%s", i ? ", " : "", x->ip[i].text);
	emit(out, " ]\n    key: %s.\n    action: transfer\n", x->key->name);
}

static void knot_xfr_template(const struct xfr *x, const char *dir, struct zonegen_out *out)
{
	/* difference: Knot compares the new file with the zone it holds and
	 * keeps the changes in its journal for IXFR; our serial grows with
	 * every change of the file (zonegen_serial) */
	emit(out, "  - id: mn-xfr\n    storage: %s\n    zonefile-sync: -1\n"
	     "    zonefile-load: difference\n    journal-content: changes\n    notify: [ ", dir);
	for (size_t i = 0; i < x->n; i++)
		emit(out, "%smn-secondary-%zu", i ? ", " : "", i + 1);
	emit(out, " ]\n    acl: mn-xfr\n");
}

static void knot_body(const struct zonegen *m, const size_t *zones, size_t n,
		      const struct zonegen_conf *conf, const struct ip *ips, size_t n_ips,
		      const struct xfr *x, struct zonegen_out *out)
{
	unsigned port = conf->port ? conf->port : 53;

	banner(out, "#", "knot.conf", m, x);
	emit(out, "\nserver:\n");
	if (conf->n_listen == 0)
		emit(out, "    listen: [ 0.0.0.0@%u, ::@%u ]\n", port, port);
	else if (n_ips == 0)
		emit(out, "    # no valid listen address given: listening nowhere\n");
	else {
		emit(out, "    listen: [ ");
		for (size_t i = 0; i < n_ips; i++)
			emit(out, "%s%s@%u", i ? ", " : "", ips[i].text, port);
		emit(out, " ]\n");
	}
	if (x->n)
		knot_xfr(x, conf->dir, out);
	emit(out, "\ntemplate:\n  - id: default\n    storage: %s\n"
	     "    zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: none\n",
	     conf->dir);
	if (x->n)
		knot_xfr_template(x, conf->dir, out);
	if (n)
		emit(out, "\nzone:\n");
	for (size_t i = 0; i < n; i++) {
		const char *z = m->ok[zones[i]]->zone;
		emit(out, "  - domain: %s.\n    file: %s/%s%s\n", z, conf->dir, z, zone_suffix(z));
		if (x->n)
			emit(out, "    template: mn-xfr\n");
	}
}

static void bind_listen(struct zonegen_out *out, const char *opt, unsigned port, int af,
			const struct ip *ips, size_t n_ips, size_t n_listen)
{
	size_t k = 0;

	emit(out, "\t%s port %u {", opt, port);
	if (n_listen == 0)
		emit(out, " any;");
	for (size_t i = 0; i < n_ips; i++) {
		if (ips[i].af != af)
			continue;
		emit(out, " %s;", ips[i].text);
		k++;
	}
	if (n_listen && !k)
		emit(out, " none;");
	emit(out, " };\n");
}

/* BIND: transfers need the address AND the key: the nested negated list
 * { !{ !A; !B; any; }; key K; } turns away every other address before the
 * key is looked at. NOTIFY only to the secondaries (explicit), and a
 * journal of the differences between zone files for IXFR. */
static void bind_xfr(const struct xfr *x, struct zonegen_out *out)
{
	emit(out, "\tallow-transfer { !{");
	for (size_t i = 0; i < x->n; i++)
		emit(out, " !%s;", x->ip[i].text);
	emit(out, " any; }; key \"%s.\"; };\n\tnotify explicit;\n\talso-notify {", x->key->name);
	for (size_t i = 0; i < x->n; i++)
		emit(out, " %s port %u key \"%s.\";", x->ip[i].text, x->port[i], x->key->name);
	emit(out, " };\n\tixfr-from-differences yes;\n");
}

static void bind_body(const struct zonegen *m, const size_t *zones, size_t n,
		      const struct zonegen_conf *conf, const struct ip *ips, size_t n_ips,
		      const struct xfr *x, struct zonegen_out *out)
{
	unsigned port = conf->port ? conf->port : 53;

	banner(out, "//", "named.conf", m, x);
	if (x->n)
		emit(out, "\ninclude \"%s/" ZONEGEN_XFR_KEY_CONF "\";\n", conf->dir);
	emit(out, "\noptions {\n\tdirectory \"%s\";\n", conf->dir);
	bind_listen(out, "listen-on", port, AF_INET, ips, n_ips, conf->n_listen);
	bind_listen(out, "listen-on-v6", port, AF_INET6, ips, n_ips, conf->n_listen);
	emit(out, "\trecursion no;\n");
	if (x->n)
		bind_xfr(x, out);
	else
		emit(out, "\tallow-transfer { none; };\n\tnotify no;\n");
	emit(out, "};\n");
	for (size_t i = 0; i < n; i++) {
		const char *z = m->ok[zones[i]]->zone;
		emit(out, "\nzone \"%s\" {\n\ttype master;\n\tfile \"%s/%s%s\";\n};\n", z,
		     conf->dir, z, zone_suffix(z));
	}
}

int zonegen_knot_conf(const struct zonegen *m, const char *const *zones, size_t n_zones,
		      const struct zonegen_conf *conf, struct zonegen_out *out,
		      struct zonegen_report *rep)
{
	return conf_common(m, zones, n_zones, conf, out, rep, knot_body);
}

int zonegen_bind_conf(const struct zonegen *m, const char *const *zones, size_t n_zones,
		      const struct zonegen_conf *conf, struct zonegen_out *out,
		      struct zonegen_report *rep)
{
	return conf_common(m, zones, n_zones, conf, out, rep, bind_body);
}

static int text_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ip *)a)->text, ((const struct ip *)b)->text);
}

int zonegen_dnsmasq_conf(const struct zonegen *m, const char *const *zones, size_t n_zones,
			 struct zonegen_out *out, struct zonegen_report *rep)
{
	struct rj r = { rep, 0 };
	struct zonegen_deleg *d;
	size_t *p, n;
	int err;

	if (!m->sealed)
		return -EINVAL;
	if (!(d = malloc(sizeof *d)))
		return -ENOMEM;
	if ((err = served(m, zones, n_zones, &p, &n, &r)) < 0) {
		free(d);
		return err;
	}
	emit(out, "# dnsmasq forwarding for the mesh domain %s, generated by mirrornet zonegen;\n"
	     "# do not edit. Each zone goes to its name servers; the longest match wins.\n",
	     m->domain);
	emit(out, "rebind-domain-ok=/%s/\n", m->domain);
	for (size_t i = 0; i < n; i++) {
		struct ip ips[MN_MAX_NS];
		size_t k = 0;
		unpack(m->ok[p[i]], d);
		for (unsigned j = 0; j < d->n_ns; j++)
			if (ns_item(m, d, j, &ips[k], &r) && ips[k].af)
				k++;
		qsort(ips, k, sizeof *ips, text_cmp);
		for (size_t j = 0; j < k; j++)
			if (j == 0 || strcmp(ips[j].text, ips[j - 1].text) != 0)
				emit(out, "server=/%s/%s\n", d->zone, ips[j].text);
	}
	free(p);
	free(d);
	return out->err ? out->err : (int)r.n;
}

uint32_t zonegen_serial(uint32_t previous, uint64_t now)
{
	uint32_t t = (uint32_t)now;   /* RFC 1982: serials live modulo 2^32 */
	uint32_t ahead = t - previous;

	if (ahead != 0 && ahead < 0x80000000u)
		return t;
	return previous + 1;
}
