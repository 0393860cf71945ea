/* What a DNS answer says about a delegation, for `mirrornetctl dns check`
 * (src/ctl/ctl_dnscheck.c): a bounded parser of a DNS response (RFC 1035 §4)
 * into a flat list of the records it holds, and a judge that tells what
 * that response means for one question — the zone's authoritative SOA, a
 * delegation (NS in the answer, or a referral: NS in the authority section
 * of a non-authoritative answer) with the glue of its name servers, an
 * address answer, "no such data here" or an error. Pure: bytes in, structs
 * out, no sockets (the c-ares driver lives in ctl_dnscheck.c), so the unit
 * test feeds it crafted packets.
 *
 * Names come out lower case, without the final dot ("" for the root); a
 * byte outside [a-z0-9_-] in a label is shown as \DDD, a dot inside a label
 * as \046, so a hostile name cannot pass for another. */
#ifndef MN_DNSPROBE_H
#define MN_DNSPROBE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNSPROBE_NAME_MAX 1024   /* a name in text, escapes included */
#define DNSPROBE_ADDR_MAX 46     /* INET6_ADDRSTRLEN */
#define DNSPROBE_MAX_RR   64     /* records kept from one message */
#define DNSPROBE_MAX_NS   8

enum { DNSPROBE_A = 1, DNSPROBE_NS = 2, DNSPROBE_SOA = 6, DNSPROBE_AAAA = 28 };
enum dnsprobe_section { DNSPROBE_ANSWER, DNSPROBE_AUTHORITY, DNSPROBE_ADDITIONAL };

struct dnsprobe_rr {
	char owner[DNSPROBE_NAME_MAX];
	uint16_t type;
	uint8_t section;                  /* enum dnsprobe_section */
	char target[DNSPROBE_NAME_MAX];   /* NS host, SOA mname; else "" */
	char addr[DNSPROBE_ADDR_MAX];     /* A / AAAA; else "" */
	uint32_t serial;                  /* SOA */
};

struct dnsprobe_msg {
	bool aa, tc;
	uint8_t rcode;
	char qname[DNSPROBE_NAME_MAX];
	uint16_t qtype;
	size_t n;                         /* records kept (the first DNSPROBE_MAX_RR) */
	struct dnsprobe_rr rr[DNSPROBE_MAX_RR];
};

/* Parse a response of len bytes into *m. 0, or -EBADMSG (truncated, bad
 * compression pointer or loop, not a response, no question). */
int dnsprobe_parse(const uint8_t *buf, size_t len, struct dnsprobe_msg *m);

enum dnsprobe_verdict {
	DNSPROBE_AUTH,        /* SOA of qname in an authoritative answer */
	DNSPROBE_DELEGATION,  /* NS of qname in the answer (the server holds the zone) */
	DNSPROBE_REFERRAL,    /* no answer, not authoritative, NS of a cut in authority */
	DNSPROBE_ADDRESS,     /* A/AAAA of qname */
	DNSPROBE_NODATA,      /* authoritative: no such data (qname is no zone cut) */
	DNSPROBE_NXDOMAIN,    /* authoritative: no such name */
	DNSPROBE_BAD,         /* an error rcode, a lame or empty answer */
};

struct dnsprobe_ns {
	char host[DNSPROBE_NAME_MAX];
	char addr[DNSPROBE_ADDR_MAX];     /* from the glue, "" if none (A before AAAA) */
};

struct dnsprobe_result {
	enum dnsprobe_verdict verdict;
	char owner[DNSPROBE_NAME_MAX];    /* the cut (delegation, referral) or the
	                                   * zone whose SOA came (auth, nodata) */
	struct dnsprobe_ns ns[DNSPROBE_MAX_NS];
	size_t n_ns;
	char addrs[DNSPROBE_MAX_NS][DNSPROBE_ADDR_MAX];
	size_t n_addrs;
	uint32_t serial;
	char why[160];                    /* for DNSPROBE_BAD */
};

/* What m says about the question (qname, qtype): see the verdicts.
 * qname in the parser's spelling (lower case, no final dot). */
void dnsprobe_judge(const struct dnsprobe_msg *m, const char *qname, uint16_t qtype,
		    struct dnsprobe_result *r);

const char *dnsprobe_verdict_name(enum dnsprobe_verdict v);

#endif
