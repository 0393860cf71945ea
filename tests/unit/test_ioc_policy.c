/* The IoC policy (src/ioc/policy.c): addresses and prefixes, the
 * allowlist (a table of values and the step that must refuse them), trust
 * classes, confidence, durations, the rate bucket and the cap. */
#include <errno.h>
#include "tests/check.h"
#include "src/ioc/policy.h"

#define NOW_MS 1800000000000ull   /* 2027-01-15 */
#define NOW_S (NOW_MS / 1000)

static struct ioc mk(unsigned scope, const char *value)
{
	struct ioc c;

	memset(&c, 0, sizeof c);
	c.scope = (uint8_t)scope;
	snprintf(c.value, sizeof c.value, "%s", value);
	c.action = IOC_BAN;
	c.confidence = 80;
	c.valid_until = NOW_S + 3600;
	return c;
}

static void test_net(void)
{
	struct ioc_net n, m;
	char t[64];

	CHECK_INT(ioc_net_parse("203.0.113.7", false, &n), 0);
	CHECK_INT(n.fam, 4);
	CHECK_INT(n.plen, 32);
	CHECK_INT(ioc_net_parse("203.0.113.0/24", false, &n), -EINVAL);   /* no prefix allowed */
	CHECK_INT(ioc_net_parse("203.0.113.0/24", true, &n), 0);
	CHECK_INT(n.plen, 24);
	CHECK_INT(ioc_net_parse("203.0.113.7/24", true, &n), -EINVAL);    /* host bits */
	CHECK_INT(ioc_net_parse("203.0.113.0/33", true, &n), -EINVAL);
	CHECK_INT(ioc_net_parse("203.0.113.0/", true, &n), -EINVAL);
	CHECK_INT(ioc_net_parse("203.0.113.0/1a", true, &n), -EINVAL);
	CHECK_INT(ioc_net_parse("203.0.113.0/0024", true, &n), -EINVAL);
	CHECK_INT(ioc_net_parse("", false, &n), -EINVAL);
	CHECK_INT(ioc_net_parse("/8", true, &n), -EINVAL);
	CHECK_INT(ioc_net_parse("evil.example", false, &n), -EINVAL);
	CHECK_INT(ioc_net_parse("1.2.3.4 ", false, &n), -EINVAL);
	CHECK_INT(ioc_net_parse("2001:db8::/32", true, &n), 0);
	CHECK_INT(n.fam, 6);
	CHECK_INT(n.plen, 32);
	CHECK_INT(ioc_net_parse("2001:db8::1/129", true, &n), -EINVAL);
	CHECK_INT(ioc_net_parse("0.0.0.0/0", true, &n), 0);
	CHECK_INT(n.plen, 0);
	/* IPv4-mapped IPv6 is IPv4 */
	CHECK_INT(ioc_net_parse("::ffff:192.168.1.1", false, &n), 0);
	CHECK_INT(n.fam, 4);
	ioc_net_text(&n, t, sizeof t);
	CHECK_STR(t, "192.168.1.1");
	CHECK_INT(ioc_net_parse("::ffff:0:0/96", true, &n), -EINVAL);
	ioc_net_parse("10.42.0.0/16", true, &n);
	ioc_net_text(&n, t, sizeof t);
	CHECK_STR(t, "10.42.0.0/16");
	/* overlap both ways, families apart */
	ioc_net_parse("10.42.7.9", false, &m);
	CHECK(ioc_net_overlap(&n, &m));
	CHECK(ioc_net_overlap(&m, &n));
	ioc_net_parse("10.43.0.0/16", true, &m);
	CHECK(!ioc_net_overlap(&n, &m));
	ioc_net_parse("10.0.0.0/7", true, &m);
	CHECK(ioc_net_overlap(&n, &m));
	ioc_net_parse("::/0", true, &m);
	CHECK(!ioc_net_overlap(&n, &m));
	ioc_net_parse("10.42.128.0/17", true, &m);
	CHECK(ioc_net_overlap(&n, &m));
}

/* A box as the netns test sets it up. */
static void box(struct ioc_allow *a)
{
	ioc_allow_init(a);
	CHECK_INT(ioc_allow_special(a), 0);
	CHECK_INT(ioc_allow_addr(a, "10.42.0.0/16", IOC_STEP_MESH_SUBNET, "mesh"), 0);
	CHECK_INT(ioc_allow_addr(a, "10.42.0.2/16", IOC_STEP_MEMBER, NULL), 0);   /* a host */
	CHECK_INT(ioc_allow_addr(a, "198.51.100.2:51820", IOC_STEP_MEMBER, NULL), 0);
	CHECK_INT(ioc_allow_addr(a, "[2001:db8:1::2]:51820", IOC_STEP_MEMBER, NULL), 0);
	CHECK_INT(ioc_allow_addr(a, "198.51.100.1", IOC_STEP_OWN, NULL), 0);
	CHECK_INT(ioc_allow_addr(a, "198.51.100.254", IOC_STEP_GATEWAY, NULL), 0);
	CHECK_INT(ioc_allow_addr(a, "9.9.9.9", IOC_STEP_RESOLVER, NULL), 0);
	CHECK_INT(ioc_allow_addr(a, "192.0.2.0/28", IOC_STEP_ALLOWLIST, NULL), 0);
	CHECK_INT(ioc_allow_addr(a, "node7.example.io:51820", IOC_STEP_MEMBER, NULL), -EINVAL);
	CHECK_INT(ioc_allow_addr(a, "[2001:db8::1", IOC_STEP_MEMBER, NULL), -EINVAL);
	CHECK_INT(ioc_allow_name(a, "mesh.example.io", IOC_STEP_MESH_DOMAIN), 0);
	CHECK_INT(ioc_allow_name(a, "Shop.Example.NET.", IOC_STEP_EXPOSED_DOMAIN), 0);
	CHECK_INT(ioc_allow_name(a, "update.vendor.example", IOC_STEP_ALLOWLIST), 0);
	CHECK_INT(ioc_allow_name(a, "bad name", IOC_STEP_ALLOWLIST), -EINVAL);
	CHECK_INT(ioc_allow_name(a, "", IOC_STEP_ALLOWLIST), -EINVAL);
}

static void test_allowlist(void)
{
	static const struct { unsigned scope; const char *value; enum ioc_step step; } v[] = {
		{ IOC_IP, "203.0.113.7", IOC_STEP_APPLY },
		{ IOC_RANGE, "203.0.113.0/24", IOC_STEP_APPLY },
		{ IOC_RANGE, "203.0.0.0/16", IOC_STEP_APPLY },
		{ IOC_IP, "2001:db8:2::9", IOC_STEP_APPLY },
		{ IOC_DOMAIN, "evil.example", IOC_STEP_APPLY },
		{ IOC_DOMAIN, "example.net", IOC_STEP_EXPOSED_DOMAIN },   /* a parent of one */
		/* special ranges */
		{ IOC_IP, "127.0.0.1", IOC_STEP_SPECIAL }, { IOC_IP, "127.255.0.9", IOC_STEP_SPECIAL },
		{ IOC_IP, "10.1.2.3", IOC_STEP_SPECIAL }, { IOC_IP, "172.16.0.1", IOC_STEP_SPECIAL },
		{ IOC_IP, "172.31.255.255", IOC_STEP_SPECIAL }, { IOC_IP, "172.32.0.1", IOC_STEP_APPLY },
		{ IOC_IP, "192.168.1.1", IOC_STEP_SPECIAL }, { IOC_IP, "100.64.0.1", IOC_STEP_SPECIAL },
		{ IOC_IP, "100.127.255.254", IOC_STEP_SPECIAL }, { IOC_IP, "100.128.0.1", IOC_STEP_APPLY },
		{ IOC_IP, "169.254.1.1", IOC_STEP_SPECIAL }, { IOC_IP, "224.0.0.251", IOC_STEP_SPECIAL },
		{ IOC_IP, "239.1.1.1", IOC_STEP_SPECIAL }, { IOC_IP, "255.255.255.255", IOC_STEP_SPECIAL },
		{ IOC_IP, "0.0.0.0", IOC_STEP_SPECIAL }, { IOC_IP, "::", IOC_STEP_SPECIAL },
		{ IOC_IP, "::1", IOC_STEP_SPECIAL }, { IOC_IP, "fe80::1", IOC_STEP_SPECIAL },
		{ IOC_IP, "fd00::1", IOC_STEP_SPECIAL }, { IOC_IP, "fc12::1", IOC_STEP_SPECIAL },
		{ IOC_IP, "ff02::1", IOC_STEP_SPECIAL }, { IOC_IP, "::ffff:127.0.0.1", IOC_STEP_SPECIAL },
		{ IOC_IP, "::ffff:192.168.1.1", IOC_STEP_SPECIAL },
		/* the box's own reasons come before "special" */
		{ IOC_IP, "10.42.0.2", IOC_STEP_MEMBER }, { IOC_IP, "10.42.0.9", IOC_STEP_MESH_SUBNET },
		{ IOC_RANGE, "10.42.0.0/24", IOC_STEP_MEMBER },
		{ IOC_IP, "198.51.100.2", IOC_STEP_MEMBER }, { IOC_IP, "2001:db8:1::2", IOC_STEP_MEMBER },
		{ IOC_IP, "198.51.100.1", IOC_STEP_OWN }, { IOC_IP, "198.51.100.254", IOC_STEP_GATEWAY },
		{ IOC_IP, "9.9.9.9", IOC_STEP_RESOLVER }, { IOC_IP, "192.0.2.9", IOC_STEP_ALLOWLIST },
		{ IOC_IP, "192.0.2.16", IOC_STEP_APPLY },
		/* a range holding a protected address */
		{ IOC_RANGE, "198.51.100.0/24", IOC_STEP_MEMBER },
		{ IOC_RANGE, "198.51.100.0/31", IOC_STEP_OWN },
		{ IOC_RANGE, "9.9.0.0/16", IOC_STEP_RESOLVER },
		{ IOC_RANGE, "2001:db8::/32", IOC_STEP_MEMBER },
		{ IOC_RANGE, "192.168.0.0/16", IOC_STEP_SPECIAL },
		/* wider than the bound, before anything else */
		{ IOC_RANGE, "0.0.0.0/0", IOC_STEP_WIDE }, { IOC_RANGE, "203.0.0.0/15", IOC_STEP_WIDE },
		{ IOC_RANGE, "::/0", IOC_STEP_WIDE }, { IOC_RANGE, "2001:db8::/31", IOC_STEP_WIDE },
		{ IOC_RANGE, "2a00::/32", IOC_STEP_APPLY },
		/* domains: equal, under, above; case and a final dot */
		{ IOC_DOMAIN, "mesh.example.io", IOC_STEP_MESH_DOMAIN },
		{ IOC_DOMAIN, "node1.mesh.example.io", IOC_STEP_MESH_DOMAIN },
		{ IOC_DOMAIN, "NODE1.Mesh.Example.IO.", IOC_STEP_MESH_DOMAIN },
		{ IOC_DOMAIN, "example.io", IOC_STEP_MESH_DOMAIN },
		{ IOC_DOMAIN, "xmesh.example.io", IOC_STEP_APPLY },
		{ IOC_DOMAIN, "shop.example.net", IOC_STEP_EXPOSED_DOMAIN },
		{ IOC_DOMAIN, "cdn.update.vendor.example", IOC_STEP_ALLOWLIST },
		{ IOC_DOMAIN, "vendor.example", IOC_STEP_ALLOWLIST },
		{ IOC_DOMAIN, "io", IOC_STEP_WIDE }, { IOC_DOMAIN, "com.", IOC_STEP_WIDE },
		/* values and scopes */
		{ IOC_IP, "203.0.113.0/24", IOC_STEP_VALUE }, { IOC_IP, "not-an-ip", IOC_STEP_VALUE },
		{ IOC_RANGE, "203.0.113.1/24", IOC_STEP_VALUE }, { IOC_DOMAIN, "a..b", IOC_STEP_VALUE },
		{ IOC_DOMAIN, "bad_name!.example", IOC_STEP_VALUE }, { IOC_DOMAIN, ".", IOC_STEP_VALUE },
		{ IOC_URL, "http://evil.example/x", IOC_STEP_SCOPE },
		{ IOC_HASH, "e3b0c44298fc1c149afbf4c8996fb924", IOC_STEP_SCOPE },
		{ 9, "x", IOC_STEP_SCOPE },
	};
	struct ioc_policy p;
	struct ioc_allow a;
	char detail[80];

	ioc_policy_defaults(&p);
	box(&a);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		struct ioc c = mk(v[i].scope, v[i].value);
		enum ioc_step s = ioc_policy_allowed(&p, &a, &c, detail, sizeof detail);
		if (s != v[i].step)
			fprintf(stderr, "  %s: %s (%s), expected %s\n", v[i].value, ioc_step_name(s), detail,
				ioc_step_name(v[i].step));
		CHECK_INT(s, v[i].step);
		/* and decide agrees: refused at the same step */
		struct ioc_decision d;
		struct ioc_input in = { .ioc = &c, .cls = IOC_CLASS_ANCESTOR, .now_ms = NOW_MS };
		ioc_policy_decide(&p, &a, &in, &d);
		CHECK_INT(d.step, v[i].step);
		CHECK_INT(d.verdict, v[i].step == IOC_STEP_APPLY ? IOC_V_APPLY : IOC_V_REFUSE);
	}
	/* the detail names what matched */
	struct ioc c = mk(IOC_IP, "192.168.1.1");
	ioc_policy_allowed(&p, &a, &c, detail, sizeof detail);
	CHECK_STR(detail, "192.168.0.0/16 private");
	c = mk(IOC_IP, "10.42.0.9");
	ioc_policy_allowed(&p, &a, &c, detail, sizeof detail);
	CHECK_STR(detail, "10.42.0.0/16 mesh");
	c = mk(IOC_DOMAIN, "a.shop.example.net");
	ioc_policy_allowed(&p, &a, &c, detail, sizeof detail);
	CHECK_STR(detail, "shop.example.net");
	/* a configurable bound */
	p.min_prefix4 = 8;
	c = mk(IOC_RANGE, "203.0.0.0/15");
	CHECK_INT(ioc_policy_allowed(&p, &a, &c, detail, sizeof detail), IOC_STEP_APPLY);
	/* an empty list still refuses what does not parse, and nothing else */
	struct ioc_allow e;
	ioc_allow_init(&e);
	c = mk(IOC_IP, "192.168.1.1");
	CHECK_INT(ioc_policy_allowed(&p, &e, &c, detail, sizeof detail), IOC_STEP_APPLY);
	ioc_allow_free(&e);
	ioc_allow_clear(&a);
	CHECK_INT(a.nnets + a.nnames, 0);
	ioc_allow_free(&a);
}

static void test_bound(void)
{
	struct ioc_allow a;
	char t[32];
	int rc = 0;

	ioc_allow_init(&a);
	for (unsigned i = 0; i < IOC_ALLOW_MAX + 5; i++) {
		snprintf(t, sizeof t, "11.%u.%u.1", i / 256, i % 256);
		rc = ioc_allow_addr(&a, t, IOC_STEP_MEMBER, NULL);
	}
	CHECK_INT(rc, -ENOSPC);
	CHECK_INT(a.nnets, IOC_ALLOW_MAX);
	CHECK_INT(a.dropped, 5);
	CHECK(a.capnets <= IOC_ALLOW_MAX);
	ioc_allow_free(&a);
}

static void test_classes(void)
{
	struct ioc_policy p;
	struct ioc_allow a;
	struct ioc_decision d;
	struct ioc c = mk(IOC_IP, "203.0.113.7");
	struct ioc_input in = { .ioc = &c, .now_ms = NOW_MS, .is_new = true };

	ioc_policy_defaults(&p);
	ioc_allow_init(&a);
	/* durations: the record's, capped per class and overall */
	c.valid_until = NOW_S + 30 * 86400;
	in.cls = IOC_CLASS_ANCESTOR;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_APPLY);
	CHECK_INT(d.duration_s, 7 * 86400);
	in.cls = IOC_CLASS_MEMBER;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.duration_s, 7 * 86400 / 2);   /* halved for the weaker class */
	c.valid_until = NOW_S + 600;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.duration_s, 600);
	p.max_duration_s_all = 300;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.duration_s, 300);
	c.valid_until = 0;   /* none given: the caps */
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.duration_s, 300);
	p.max_duration_s_all = 0;
	p.max_duration_s[IOC_CLASS_MEMBER] = 0;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.duration_s, 86400);           /* no cap at all: a day */
	ioc_policy_defaults(&p);
	/* expired */
	c.valid_until = NOW_S;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_REFUSE);
	CHECK_INT(d.step, IOC_STEP_EXPIRED);
	c.valid_until = NOW_S + 600;
	/* modes per class */
	p.mode[IOC_CLASS_MEMBER] = IOC_MODE_IGNORE;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.step, IOC_STEP_IGNORED);
	CHECK_STR(d.detail, "member");
	in.cls = IOC_CLASS_ANCESTOR;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_APPLY);
	p.mode[IOC_CLASS_ANCESTOR] = IOC_MODE_REVIEW;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_PENDING);
	CHECK_INT(d.step, IOC_STEP_REVIEW);
	in.approved = true;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_APPLY);
	in.approved = false;
	/* an out-of-range class counts as a member */
	in.cls = (enum ioc_class)7;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.step, IOC_STEP_IGNORED);
	/* confidence */
	ioc_policy_defaults(&p);
	in.cls = IOC_CLASS_MEMBER;
	c.confidence = 49;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_PENDING);
	CHECK_INT(d.step, IOC_STEP_CONFIDENCE);
	CHECK_STR(d.detail, "49 < 50");
	c.confidence = 50;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_APPLY);
	/* our own: no review, no confidence */
	c.confidence = 0;
	in.cls = IOC_CLASS_SELF;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_APPLY);
	/* ... but never the allowlist */
	struct ioc lo = mk(IOC_IP, "127.0.0.1");
	ioc_allow_special(&a);
	in.ioc = &lo;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.step, IOC_STEP_SPECIAL);
	in.ioc = &c;
	/* actions */
	in.cls = IOC_CLASS_MEMBER;
	c.confidence = 80;
	c.action = IOC_CAPTCHA;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_APPLY);
	c.action = IOC_LOG;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.step, IOC_STEP_ACTION);
	CHECK_STR(d.detail, "log");
	ioc_allow_free(&a);
}

static void test_rate_and_cap(void)
{
	struct ioc_policy p;
	struct ioc_allow a;
	struct ioc_decision d;
	struct ioc_bucket b = { 0 };
	struct ioc c = mk(IOC_IP, "203.0.113.7");
	struct ioc_input in = { .ioc = &c, .cls = IOC_CLASS_MEMBER, .now_ms = NOW_MS,
				.is_new = true, .bucket = &b };
	unsigned applied = 0, rate = 0;

	ioc_policy_defaults(&p);
	ioc_allow_init(&a);
	c.valid_until = NOW_S + 30 * 86400;
	p.rate_per_hour = 10;
	for (int i = 0; i < 25; i++) {
		ioc_policy_decide(&p, &a, &in, &d);
		applied += d.verdict == IOC_V_APPLY;
		rate += d.step == IOC_STEP_RATE;
	}
	CHECK_INT(applied, 10);
	CHECK_INT(rate, 15);
	CHECK_STR(d.detail, "over 10 an hour");
	/* not new (an update of one it holds): no token */
	in.is_new = false;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_APPLY);
	in.is_new = true;
	/* explain (dry) takes none, and sees the refusal */
	in.now_ms = NOW_MS + 360000;   /* 6 minutes: one token back */
	in.dry = true;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_APPLY);
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_APPLY);
	in.dry = false;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_APPLY);
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.step, IOC_STEP_RATE);
	/* refills to the rate, not beyond */
	in.now_ms = NOW_MS + 10 * 3600000ull;
	applied = 0;
	for (int i = 0; i < 25; i++) {
		ioc_policy_decide(&p, &a, &in, &d);
		applied += d.verdict == IOC_V_APPLY;
	}
	CHECK_INT(applied, 10);
	/* a clock going back refills nothing and breaks nothing */
	in.now_ms = NOW_MS;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.step, IOC_STEP_RATE);
	/* rate 0: none */
	p.rate_per_hour = 0;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_APPLY);
	/* a refused-by-allowlist one takes no token */
	struct ioc_bucket b2 = { 0 };
	struct ioc lo = mk(IOC_IP, "127.0.0.1");
	ioc_allow_special(&a);
	p.rate_per_hour = 1;
	in.bucket = &b2;
	in.ioc = &lo;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.step, IOC_STEP_SPECIAL);
	in.ioc = &c;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_APPLY);
	/* the cap, for new ones only; a pending one is not held back by it */
	ioc_policy_defaults(&p);
	in.bucket = NULL;
	p.max_active = 3;
	in.active = 3;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.step, IOC_STEP_CAP);
	CHECK_STR(d.detail, "3 active");
	in.is_new = false;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_APPLY);
	in.is_new = true;
	c.confidence = 1;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_PENDING);
	in.approved = true;   /* approving it meets the cap */
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.step, IOC_STEP_CAP);
	in.active = 2;
	ioc_policy_decide(&p, &a, &in, &d);
	CHECK_INT(d.verdict, IOC_V_APPLY);
	ioc_allow_free(&a);
}

static void test_names(void)
{
	for (int s = 0; s < IOC_STEP_N; s++)
		CHECK(ioc_step_name((enum ioc_step)s)[0] != '?');
	CHECK_STR(ioc_step_name(IOC_STEP_N), "?");
	CHECK_STR(ioc_verdict_name(IOC_V_PENDING), "pending");
	CHECK_STR(ioc_class_name(IOC_CLASS_ANCESTOR), "ancestor");
}

int main(void)
{
	test_net();
	test_allowlist();
	test_bound();
	test_classes();
	test_rate_and_cap();
	test_names();
	return check_exit();
}
