/* DNS response parser and judge for `dns check`; see dnsprobe.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "src/dns/dnsprobe.h"

struct rd {
	const uint8_t *buf;
	size_t len, pos;
};

static int get16(struct rd *r, uint16_t *v)
{
	if (2 > r->len - r->pos)
		return -EBADMSG;
	*v = (uint16_t)(r->buf[r->pos] << 8 | r->buf[r->pos + 1]);
	r->pos += 2;
	return 0;
}

static int get32(struct rd *r, uint32_t *v)
{
	uint16_t hi, lo;

	if (get16(r, &hi) < 0 || get16(r, &lo) < 0)
		return -EBADMSG;
	*v = (uint32_t)hi << 16 | lo;
	return 0;
}

/* A possibly compressed name at r->pos into out (see the header for the
 * spelling); r->pos moves past it. At most 128 pointers are followed. */
static int get_name(struct rd *r, char *out, size_t cap)
{
	size_t pos = r->pos, o = 0, wire = 0;
	bool jumped = false;

	out[0] = 0;
	for (int hops = 0; hops < 128;) {
		if (pos >= r->len)
			return -EBADMSG;
		uint8_t c = r->buf[pos];
		if ((c & 0xc0) == 0xc0) {
			if (1 > r->len - pos - 1)
				return -EBADMSG;
			if (!jumped)
				r->pos = pos + 2;
			jumped = true;
			pos = (size_t)(c & 0x3f) << 8 | r->buf[pos + 1];
			hops++;
			continue;
		}
		if (c & 0xc0)
			return -EBADMSG;   /* extended label types: not in use */
		if (c == 0) {
			if (!jumped)
				r->pos = pos + 1;
			out[o] = 0;
			return 0;
		}
		if ((size_t)c > r->len - pos - 1 || (wire += (size_t)c + 1) > 255)
			return -EBADMSG;
		if (o)
			out[o++] = '.';
		for (size_t i = 1; i <= c; i++) {
			uint8_t ch = r->buf[pos + i];
			if (ch >= 'A' && ch <= 'Z')
				ch = (uint8_t)(ch - 'A' + 'a');
			bool plain = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
			if (o + 5 >= cap)
				return -EBADMSG;
			if (plain)
				out[o++] = (char)ch;
			else
				o += (size_t)snprintf(out + o, cap - o, "\\%03u", ch);
		}
		out[o] = 0;
		pos += (size_t)c + 1;
	}
	return -EBADMSG;
}

int dnsprobe_parse(const uint8_t *buf, size_t len, struct dnsprobe_msg *m)
{
	struct rd r = { buf, len, 0 };
	uint16_t id, flags, qd, an, ns, ar, qclass;
	char scratch[DNSPROBE_NAME_MAX];

	memset(m, 0, sizeof *m);
	if (get16(&r, &id) < 0 || get16(&r, &flags) < 0 || get16(&r, &qd) < 0 ||
	    get16(&r, &an) < 0 || get16(&r, &ns) < 0 || get16(&r, &ar) < 0)
		return -EBADMSG;
	if (!(flags & 0x8000) || qd != 1)
		return -EBADMSG;
	m->aa = flags & 0x0400;
	m->tc = flags & 0x0200;
	m->rcode = flags & 0x000f;
	if (get_name(&r, m->qname, sizeof m->qname) < 0 || get16(&r, &m->qtype) < 0 ||
	    get16(&r, &qclass) < 0)
		return -EBADMSG;
	unsigned total = (unsigned)an + ns + ar;
	for (unsigned i = 0; i < total; i++) {
		struct dnsprobe_rr *x = m->n < DNSPROBE_MAX_RR ? &m->rr[m->n] : NULL;
		uint16_t type, cls, rdlen;
		uint32_t ttl;
		char *owner = x ? x->owner : scratch;
		if (get_name(&r, owner, DNSPROBE_NAME_MAX) < 0 || get16(&r, &type) < 0 ||
		    get16(&r, &cls) < 0 || get32(&r, &ttl) < 0 || get16(&r, &rdlen) < 0 ||
		    rdlen > r.len - r.pos)
			return -EBADMSG;
		size_t end = r.pos + rdlen;
		if (x) {
			x->type = type;
			x->section = i < an ? DNSPROBE_ANSWER : i < (unsigned)an + ns ? DNSPROBE_AUTHORITY :
				     DNSPROBE_ADDITIONAL;
			x->target[0] = x->addr[0] = 0;
			if (type == DNSPROBE_A && rdlen == 4)
				inet_ntop(AF_INET, buf + r.pos, x->addr, sizeof x->addr);
			else if (type == DNSPROBE_AAAA && rdlen == 16)
				inet_ntop(AF_INET6, buf + r.pos, x->addr, sizeof x->addr);
			else if (type == DNSPROBE_NS || type == DNSPROBE_SOA) {
				/* a name inside the rdata, which may point anywhere */
				struct rd sub = { buf, end, r.pos };
				if (get_name(&sub, x->target, sizeof x->target) < 0)
					return -EBADMSG;
				if (type == DNSPROBE_SOA) {
					if (get_name(&sub, scratch, sizeof scratch) < 0 ||
					    get32(&sub, &x->serial) < 0)
						return -EBADMSG;
				}
			}
			m->n++;
		}
		r.pos = end;
	}
	return 0;
}

static void glue(const struct dnsprobe_msg *m, struct dnsprobe_ns *n)
{
	n->addr[0] = 0;
	for (int want = DNSPROBE_A; ; want = DNSPROBE_AAAA) {
		for (size_t i = 0; i < m->n; i++)
			if (m->rr[i].section == DNSPROBE_ADDITIONAL && m->rr[i].type == want &&
			    !strcmp(m->rr[i].owner, n->host)) {
				snprintf(n->addr, sizeof n->addr, "%s", m->rr[i].addr);
				return;
			}
		if (want == DNSPROBE_AAAA)
			return;
	}
}

static void take_ns(const struct dnsprobe_msg *m, uint8_t section, const char *owner,
		    struct dnsprobe_result *r)
{
	snprintf(r->owner, sizeof r->owner, "%s", owner);
	for (size_t i = 0; i < m->n && r->n_ns < DNSPROBE_MAX_NS; i++) {
		if (m->rr[i].section != section || m->rr[i].type != DNSPROBE_NS ||
		    strcmp(m->rr[i].owner, owner))
			continue;
		snprintf(r->ns[r->n_ns].host, sizeof r->ns[r->n_ns].host, "%s", m->rr[i].target);
		glue(m, &r->ns[r->n_ns]);
		r->n_ns++;
	}
}

static const char *rcode_name(unsigned rc)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					     "NOTIMP", "REFUSED" };
	return rc < sizeof names / sizeof names[0] ? names[rc] : "an error rcode";
}

void dnsprobe_judge(const struct dnsprobe_msg *m, const char *qname, uint16_t qtype,
		    struct dnsprobe_result *r)
{
	const struct dnsprobe_rr *soa = NULL, *cut = NULL;

	memset(r, 0, sizeof *r);
	r->verdict = DNSPROBE_BAD;
	if (strcmp(m->qname, qname) || m->qtype != qtype) {
		snprintf(r->why, sizeof r->why, "the answer is for another question");
		return;
	}
	if (m->rcode != 0 && m->rcode != 3) {
		snprintf(r->why, sizeof r->why, "%s", rcode_name(m->rcode));
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		const struct dnsprobe_rr *x = &m->rr[i];
		if (x->section == DNSPROBE_AUTHORITY && x->type == DNSPROBE_SOA && !soa)
			soa = x;
		if (x->section == DNSPROBE_AUTHORITY && x->type == DNSPROBE_NS && !cut)
			cut = x;
		if (x->section != DNSPROBE_ANSWER || x->type != qtype || strcmp(x->owner, qname))
			continue;
		if (m->rcode != 0)
			break;
		if (qtype == DNSPROBE_SOA) {
			if (!m->aa) {
				snprintf(r->why, sizeof r->why, "the SOA came without the authoritative flag");
				return;
			}
			r->verdict = DNSPROBE_AUTH;
			r->serial = x->serial;
			snprintf(r->owner, sizeof r->owner, "%s", qname);
			snprintf(r->ns[0].host, sizeof r->ns[0].host, "%s", x->target);
			return;
		}
		if (qtype == DNSPROBE_NS) {
			r->verdict = DNSPROBE_DELEGATION;
			take_ns(m, DNSPROBE_ANSWER, qname, r);
			return;
		}
		if (qtype == DNSPROBE_A || qtype == DNSPROBE_AAAA) {
			r->verdict = DNSPROBE_ADDRESS;
			for (size_t k = i; k < m->n && r->n_addrs < DNSPROBE_MAX_NS; k++)
				if (m->rr[k].section == DNSPROBE_ANSWER && m->rr[k].type == qtype &&
				    !strcmp(m->rr[k].owner, qname))
					snprintf(r->addrs[r->n_addrs++], sizeof r->addrs[0], "%s", m->rr[k].addr);
			return;
		}
	}
	if (!m->aa && cut && m->rcode == 0) {
		r->verdict = DNSPROBE_REFERRAL;
		take_ns(m, DNSPROBE_AUTHORITY, cut->owner, r);
		return;
	}
	if (m->aa && soa) {
		r->verdict = m->rcode == 3 ? DNSPROBE_NXDOMAIN : DNSPROBE_NODATA;
		snprintf(r->owner, sizeof r->owner, "%s", soa->owner);
		r->serial = soa->serial;
		return;
	}
	snprintf(r->why, sizeof r->why, "%s", m->aa ? "an authoritative answer without SOA" :
		 "not authoritative and no referral (a lame server?)");
}

const char *dnsprobe_verdict_name(enum dnsprobe_verdict v)
{
	switch (v) {
	case DNSPROBE_AUTH: return "authoritative";
	case DNSPROBE_DELEGATION: return "delegation";
	case DNSPROBE_REFERRAL: return "referral";
	case DNSPROBE_ADDRESS: return "address";
	case DNSPROBE_NODATA: return "no-data";
	case DNSPROBE_NXDOMAIN: return "nxdomain";
	case DNSPROBE_BAD: break;
	}
	return "error";
}
