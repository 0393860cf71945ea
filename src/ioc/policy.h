/* The IoC policy (docs/ioc.md "Policy"): whether an indicator another
 * member published may become a decision on this box. Pure: no I/O, no
 * clock, no logging — the daemon side (src/daemon/ioc.c) gathers what the
 * box knows (its addresses, gateways, resolvers, the members' addresses and
 * names) into a struct ioc_allow and passes the time in.
 *
 * The steps, in order; the first that decides names itself in the answer
 * (`mirrornetctl ioc explain`):
 *   1. scope and value: ip, range and domain only; the value parses
 *   2. the hard allowlist, which no record and no trust overrides: special
 *      ranges (loopback, private, CGNAT, link-local, multicast, ULA,
 *      unspecified, reserved), ranges wider than a bound, and any protected
 *      address or name (the mesh subnet, members' and own addresses,
 *      gateways, resolvers, the mesh and exposed domains, configured
 *      entries) — a range also when it holds one, a domain also when it is
 *      a parent or a subdomain of one
 *   3. expired
 *   4. the origin's trust class: ignore
 *   5. the action: only ban and captcha become decisions
 *   6. the origin's rate (a token bucket) for a new indicator
 *   7. confidence below the minimum, or the class says review: pending
 *      (unless an admin approved it)
 *   8. the cap on active mesh decisions, for a new one
 *   9. apply, for min(valid_until - now, the class's cap, max_duration);
 *      valid_until 0 (none given) takes the caps, or a day without any. */
#ifndef MN_IOC_POLICY_H
#define MN_IOC_POLICY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/body.h"

/* An address or a prefix; IPv4-mapped IPv6 is held as IPv4. */
struct ioc_net {
	uint8_t fam;        /* 4 or 6 */
	uint8_t plen;       /* 0..32 or 0..128 */
	uint8_t a[16];      /* the network, host bits zero */
};

/* "1.2.3.4", "1.2.3.0/24", "2001:db8::/32" (a prefix only with
 * allow_prefix; host bits must be zero). 0 or -EINVAL. */
int ioc_net_parse(const char *s, bool allow_prefix, struct ioc_net *n);
/* The text form ("a.b.c.d" for a host, else "net/plen"). */
void ioc_net_text(const struct ioc_net *n, char *buf, size_t cap);
/* Do the two share an address? (One contains the other.) */
bool ioc_net_overlap(const struct ioc_net *x, const struct ioc_net *y);

/* Why an address or a name is protected, and every other step's name. */
enum ioc_step {
	IOC_STEP_APPLY = 0,
	IOC_STEP_SCOPE,          /* url, hash: not something a LAPI bans */
	IOC_STEP_VALUE,          /* does not parse */
	IOC_STEP_SPECIAL,        /* a special-purpose range */
	IOC_STEP_WIDE,           /* a range wider than the bound */
	IOC_STEP_MESH_SUBNET,
	IOC_STEP_MEMBER,         /* an address in a node or endpoint record */
	IOC_STEP_OWN,            /* this box's addresses */
	IOC_STEP_GATEWAY,
	IOC_STEP_RESOLVER,
	IOC_STEP_ALLOWLIST,      /* ioc_allow entries of the configuration */
	IOC_STEP_MESH_DOMAIN,
	IOC_STEP_EXPOSED_DOMAIN,
	IOC_STEP_EXPIRED,
	IOC_STEP_IGNORED,        /* the origin's class is `ignore` */
	IOC_STEP_ACTION,         /* action log: nothing to enforce */
	IOC_STEP_RATE,           /* over the origin's rate */
	IOC_STEP_CAP,            /* the active decisions are at their cap */
	IOC_STEP_CONFIDENCE,     /* below the minimum: pending */
	IOC_STEP_REVIEW,         /* the class says review: pending */
	IOC_STEP_N
};
/* "apply", "scope", "special", ... (the names in status and explain). */
const char *ioc_step_name(enum ioc_step s);

enum ioc_verdict { IOC_V_APPLY, IOC_V_PENDING, IOC_V_REFUSE };
const char *ioc_verdict_name(enum ioc_verdict v);

/* Trust classes of an origin: this box, an ancestor on its certificate
 * chain, any other member. */
enum ioc_class { IOC_CLASS_SELF, IOC_CLASS_ANCESTOR, IOC_CLASS_MEMBER, IOC_CLASS_N };
enum ioc_mode { IOC_MODE_AUTO, IOC_MODE_REVIEW, IOC_MODE_IGNORE };
const char *ioc_class_name(enum ioc_class c);

struct ioc_policy {
	uint8_t mode[IOC_CLASS_N];           /* enum ioc_mode */
	uint64_t max_duration_s[IOC_CLASS_N];/* the class's cap (0: none) */
	uint64_t max_duration_s_all;         /* everyone's (0: none) */
	unsigned min_confidence;             /* 0..100 */
	unsigned rate_per_hour;              /* new IoCs per origin (0: none) */
	unsigned max_active;                 /* active mesh decisions (0: none) */
	unsigned min_prefix4, min_prefix6;   /* a range wider than this is refused */
};
/* The defaults of docs/ioc.md: ancestors auto (7 days), members auto
 * (halved: 3.5 days), max 7 days, confidence 50, 1000/h, 10000 active,
 * /16 and /32. */
void ioc_policy_defaults(struct ioc_policy *p);

/* What no indicator may touch. Bounded: IOC_ALLOW_MAX entries each. */
#define IOC_ALLOW_MAX 8192
struct ioc_allow_net {
	struct ioc_net net;
	uint8_t step;                        /* enum ioc_step: why */
	char label[24];                      /* "private", "CGNAT", ... or "" */
};
struct ioc_allow_name {
	char name[MN_MAX_DOMAIN + 1];        /* lower case, no final dot */
	uint8_t step;
};
struct ioc_allow {
	struct ioc_allow_net *nets;
	size_t nnets, capnets;
	struct ioc_allow_name *names;
	size_t nnames, capnames;
	unsigned dropped;                    /* entries over the bound */
};

/* An empty list (no entries, not even the special ranges). */
void ioc_allow_init(struct ioc_allow *a);
void ioc_allow_clear(struct ioc_allow *a);   /* keeps the memory */
void ioc_allow_free(struct ioc_allow *a);
/* The special-purpose ranges (step IOC_STEP_SPECIAL). 0 or -ENOMEM. */
int ioc_allow_special(struct ioc_allow *a);
/* Protect an address or a prefix (text; "1.2.3.4:51820" and
 * "[2001:db8::1]:51820" also, the port dropped) for a reason. 0, -EINVAL
 * (not an address: nothing added), -ENOSPC (over the bound, counted),
 * -ENOMEM. */
int ioc_allow_addr(struct ioc_allow *a, const char *text, enum ioc_step why, const char *label);
/* Protect the subnet an address lies in ("10.42.0.1/16" -> 10.42.0.0/16).
 * Errors as ioc_allow_addr. */
int ioc_allow_subnet(struct ioc_allow *a, const char *text, enum ioc_step why, const char *label);
/* Protect a DNS name and everything under and above it. 0, -EINVAL,
 * -ENOSPC, -ENOMEM. */
int ioc_allow_name(struct ioc_allow *a, const char *name, enum ioc_step why);

/* A per-origin token bucket: rate_per_hour tokens an hour, as many at
 * most. Zeroed: full at its first use. */
struct ioc_bucket {
	double tokens;
	uint64_t last_ms;
	bool used;
};
/* Take one token at now_ms: true if there was one. */
bool ioc_bucket_take(struct ioc_bucket *b, unsigned rate_per_hour, uint64_t now_ms);

struct ioc_input {
	const struct ioc *ioc;
	enum ioc_class cls;
	uint64_t now_ms;
	unsigned active;                     /* mesh decisions active now */
	bool is_new;                         /* not seen from this origin before */
	bool dry;                            /* explain: take no token */
	bool approved;                       /* an admin approved it: no review */
	struct ioc_bucket *bucket;           /* the origin's (NULL: no rate) */
};

struct ioc_decision {
	enum ioc_verdict verdict;
	enum ioc_step step;
	uint64_t duration_s;                 /* IOC_V_APPLY */
	char detail[80];                     /* what matched: "10.42.0.0/16", a name */
};

/* Decide. Never fails: a bad input is refused at IOC_STEP_VALUE. */
void ioc_policy_decide(const struct ioc_policy *p, const struct ioc_allow *a,
		       const struct ioc_input *in, struct ioc_decision *d);
/* Only the allowlist and value steps (1 and 2): IOC_STEP_APPLY if none
 * refuses. What `ioc add` checks before publishing ours. */
enum ioc_step ioc_policy_allowed(const struct ioc_policy *p, const struct ioc_allow *a,
				 const struct ioc *c, char *detail, size_t cap);

#endif
