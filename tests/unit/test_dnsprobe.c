/* dnsprobe: crafted DNS responses → parse → judge (src/dns/dnsprobe.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/dns/dnsprobe.h"

static int fails;
#define CHECK(c) do { if (!(c)) { fails++; fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

struct pkt {
	uint8_t b[1024];
	size_t n;
};

static void u16(struct pkt *p, unsigned v) { p->b[p->n++] = (uint8_t)(v >> 8); p->b[p->n++] = (uint8_t)v; }
static void u32(struct pkt *p, uint32_t v) { u16(p, v >> 16); u16(p, v & 0xffff); }

static void name(struct pkt *p, const char *s)
{
	while (*s) {
		size_t l = strcspn(s, ".");
		p->b[p->n++] = (uint8_t)l;
		memcpy(p->b + p->n, s, l);
		p->n += l;
		s += l;
		if (*s == '.')
			s++;
	}
	p->b[p->n++] = 0;
}

static void header(struct pkt *p, unsigned flags, unsigned an, unsigned ns, unsigned ar,
		   const char *q, unsigned qtype)
{
	p->n = 0;
	u16(p, 0x1234);
	u16(p, flags);
	u16(p, 1); u16(p, an); u16(p, ns); u16(p, ar);
	name(p, q);
	u16(p, qtype);
	u16(p, 1);
}

static void rr_ns(struct pkt *p, const char *owner, const char *host)
{
	name(p, owner); u16(p, DNSPROBE_NS); u16(p, 1); u32(p, 300);
	size_t at = p->n;
	u16(p, 0);
	name(p, host);
	p->b[at] = (uint8_t)((p->n - at - 2) >> 8);
	p->b[at + 1] = (uint8_t)(p->n - at - 2);
}

static void rr_a(struct pkt *p, const char *owner, const uint8_t a[4])
{
	name(p, owner); u16(p, DNSPROBE_A); u16(p, 1); u32(p, 300); u16(p, 4);
	memcpy(p->b + p->n, a, 4);
	p->n += 4;
}

static void rr_soa(struct pkt *p, const char *owner, const char *mname, uint32_t serial)
{
	name(p, owner); u16(p, DNSPROBE_SOA); u16(p, 1); u32(p, 300);
	size_t at = p->n;
	u16(p, 0);
	name(p, mname);
	name(p, "hostmaster.x");
	u32(p, serial); u32(p, 1); u32(p, 2); u32(p, 3); u32(p, 4);
	p->b[at] = (uint8_t)((p->n - at - 2) >> 8);
	p->b[at + 1] = (uint8_t)(p->n - at - 2);
}

int main(void)
{
	struct pkt p;
	struct dnsprobe_msg *m = malloc(sizeof *m);
	struct dnsprobe_result r;
	static const uint8_t a3[4] = { 10, 42, 0, 3 };

	/* authoritative SOA */
	header(&p, 0x8400, 1, 0, 0, "Example.IO", DNSPROBE_SOA);
	rr_soa(&p, "example.io", "ns.example.io", 77);
	CHECK(dnsprobe_parse(p.b, p.n, m) == 0);
	CHECK(!strcmp(m->qname, "example.io") && m->aa);
	dnsprobe_judge(m, "example.io", DNSPROBE_SOA, &r);
	CHECK(r.verdict == DNSPROBE_AUTH && r.serial == 77 && !strcmp(r.ns[0].host, "ns.example.io"));
	/* the same without aa: not good enough */
	header(&p, 0x8000, 1, 0, 0, "example.io", DNSPROBE_SOA);
	rr_soa(&p, "example.io", "ns.example.io", 77);
	CHECK(dnsprobe_parse(p.b, p.n, m) == 0);
	dnsprobe_judge(m, "example.io", DNSPROBE_SOA, &r);
	CHECK(r.verdict == DNSPROBE_BAD);

	/* a referral with glue, the glue owner as a compression pointer */
	header(&p, 0x8000, 0, 1, 1, "node2.example.io", DNSPROBE_NS);
	rr_ns(&p, "node2.example.io", "ns.node2.example.io");
	size_t host_at = p.n - 21;   /* "ns.node2.example.io" inside the NS rdata */
	u16(&p, 0xc000 | (unsigned)host_at); u16(&p, DNSPROBE_A); u16(&p, 1); u32(&p, 300); u16(&p, 4);
	memcpy(p.b + p.n, a3, 4);
	p.n += 4;
	CHECK(dnsprobe_parse(p.b, p.n, m) == 0);
	CHECK(m->n == 2 && !strcmp(m->rr[1].owner, "ns.node2.example.io"));
	dnsprobe_judge(m, "node2.example.io", DNSPROBE_NS, &r);
	CHECK(r.verdict == DNSPROBE_REFERRAL && r.n_ns == 1 && !strcmp(r.ns[0].addr, "10.42.0.3") &&
	      !strcmp(r.owner, "node2.example.io"));

	/* NS in the answer (the server holds the child too), glue separate */
	header(&p, 0x8400, 2, 0, 1, "node2.example.io", DNSPROBE_NS);
	rr_ns(&p, "node2.example.io", "ns.node2.example.io");
	rr_ns(&p, "node2.example.io", "ns.out.example.net");
	rr_a(&p, "ns.node2.example.io", a3);
	CHECK(dnsprobe_parse(p.b, p.n, m) == 0);
	dnsprobe_judge(m, "node2.example.io", DNSPROBE_NS, &r);
	CHECK(r.verdict == DNSPROBE_DELEGATION && r.n_ns == 2 && !strcmp(r.ns[0].addr, "10.42.0.3") &&
	      r.ns[1].addr[0] == 0);

	/* NODATA and NXDOMAIN */
	header(&p, 0x8400, 0, 1, 0, "web.node2.example.io", DNSPROBE_NS);
	rr_soa(&p, "node2.example.io", "ns.node2.example.io", 5);
	CHECK(dnsprobe_parse(p.b, p.n, m) == 0);
	dnsprobe_judge(m, "web.node2.example.io", DNSPROBE_NS, &r);
	CHECK(r.verdict == DNSPROBE_NODATA && !strcmp(r.owner, "node2.example.io"));
	header(&p, 0x8403, 0, 1, 0, "nope.example.io", DNSPROBE_NS);
	rr_soa(&p, "example.io", "ns.example.io", 5);
	CHECK(dnsprobe_parse(p.b, p.n, m) == 0);
	dnsprobe_judge(m, "nope.example.io", DNSPROBE_NS, &r);
	CHECK(r.verdict == DNSPROBE_NXDOMAIN);

	/* REFUSED, an answer to another question, an address answer */
	header(&p, 0x8005, 0, 0, 0, "example.io", DNSPROBE_SOA);
	CHECK(dnsprobe_parse(p.b, p.n, m) == 0);
	dnsprobe_judge(m, "example.io", DNSPROBE_SOA, &r);
	CHECK(r.verdict == DNSPROBE_BAD && strstr(r.why, "REFUSED"));
	dnsprobe_judge(m, "other.io", DNSPROBE_SOA, &r);
	CHECK(r.verdict == DNSPROBE_BAD);
	header(&p, 0x8400, 1, 0, 0, "web.node2.example.io", DNSPROBE_A);
	rr_a(&p, "web.node2.example.io", a3);
	CHECK(dnsprobe_parse(p.b, p.n, m) == 0);
	dnsprobe_judge(m, "web.node2.example.io", DNSPROBE_A, &r);
	CHECK(r.verdict == DNSPROBE_ADDRESS && r.n_addrs == 1 && !strcmp(r.addrs[0], "10.42.0.3"));

	/* hostile: escapes, loops, truncation, not a response */
	header(&p, 0x8400, 0, 0, 0, "a\"b;c.example.io", DNSPROBE_SOA);
	CHECK(dnsprobe_parse(p.b, p.n, m) == 0);
	CHECK(!strcmp(m->qname, "a\\034b\\059c.example.io"));
	header(&p, 0x8400, 1, 0, 0, "x", DNSPROBE_A);
	size_t loop_at = p.n;
	u16(&p, 0xc000 | (unsigned)loop_at);   /* a pointer to itself */
	u16(&p, DNSPROBE_A); u16(&p, 1); u32(&p, 1); u16(&p, 4); u32(&p, 0);
	CHECK(dnsprobe_parse(p.b, p.n, m) == -EBADMSG);
	header(&p, 0x8400, 1, 0, 0, "x", DNSPROBE_A);
	rr_a(&p, "x", a3);
	for (size_t cut = 0; cut < p.n; cut++)
		CHECK(dnsprobe_parse(p.b, cut, m) == -EBADMSG);
	header(&p, 0x0000, 0, 0, 0, "x", DNSPROBE_A);
	CHECK(dnsprobe_parse(p.b, p.n, m) == -EBADMSG);
	/* random bytes never crash and never overrun */
	srand(7);
	for (int i = 0; i < 20000; i++) {
		size_t n = (size_t)(rand() % 300);
		for (size_t k = 0; k < n; k++)
			p.b[k] = (uint8_t)rand();
		if (n > 3)
			p.b[2] |= 0x80;
		if (dnsprobe_parse(p.b, n, m) == 0)
			dnsprobe_judge(m, m->qname, m->qtype, &r);
	}
	free(m);
	printf("%s (%d failures)\n", fails ? "FAIL" : "ok", fails);
	return fails != 0;
}
