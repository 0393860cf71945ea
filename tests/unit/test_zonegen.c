/* The zone generator, checked with the real tools: a mesh example.io with
 * node1 (NS inside its zone: glue), node2 (NS outside: no glue),
 * lab.node1 (delegated by node1: in node1's zone, not in example.io's),
 * odd but legal names (a 253-character zone, a one-digit label), names
 * with and without ports, IPv4 and IPv6; every zone file through
 * kzonecheck and named-checkzone, the configs through knotc conf-check /
 * zone-check, named-checkconf -z and dnsmasq --test. Hostile input is
 * rejected and absent from every file; output is deterministic and does
 * not depend on the order of the input; serials increase. A 1,000-
 * delegation zone prints its size and times (a benchmark, not an
 * assertion). A missing tool fails the test: tools/deps installs them. */
#define _GNU_SOURCE     /* mkdtemp */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tests/check.h"
#include "src/dns/zonegen.h"

static char dir[128];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run a command in dir, its output into dir/tool.log; the exit status (-1
 * if it did not exit). On failure the log is printed. */
static int run(const char *cmd)
{
	char full[1024];
	int st, rc;

	snprintf(full, sizeof full, "cd '%s' && %s >tool.log 2>&1", dir, cmd);
	st = system(full);
	rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (rc != 0) {
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
		snprintf(full, sizeof full, "cat '%s/tool.log' >&2", dir);
		if (system(full) != 0)
			fprintf(stderr, "(no log)\n");
	}
	return rc;
}

/* run(), and the tool said nothing but its success lines: a warning
 * (named-checkzone warns of missing glue and exits 0) fails too. */
static int run_clean(const char *cmd)
{
	static const char *const fine[] = {
		"loaded serial", "OK", "Configuration is valid", "dnsmasq: syntax check OK.",
	};
	char *log, path[300];
	int rc = run(cmd);
	FILE *f;

	snprintf(path, sizeof path, "%s/tool.log", dir);
	if (rc != 0 || !(f = fopen(path, "r")))
		return rc ? rc : -1;
	log = calloc(1, 1 << 16);
	if (log && fread(log, 1, (1 << 16) - 1, f) > 0) {
		for (char *l = strtok(log, "\n"); l; l = strtok(NULL, "\n")) {
			bool ok = false;
			for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
				ok = ok || strstr(l, fine[i]) != NULL;
			if (!ok) {
				fprintf(stderr, "%s: unexpected output: %s\n", cmd, l);
				rc = 2;
			}
		}
	}
	free(log);
	fclose(f);
	return rc;
}

/* Every validator is required: a missing one is a failure, not a skip. */
static bool have_tools(void)
{
	static const char *const tools[][2] = {
		{ "kzonecheck", "knot-dnssecutils" }, { "knotc", "knot" },
		{ "named-checkzone", "bind9-utils" }, { "named-checkconf", "bind9-utils" },
		{ "dnsmasq", "dnsmasq-base" },
	};
	bool all = true;

	for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
		char cmd[256];
		snprintf(cmd, sizeof cmd, "PATH=$PATH:/usr/sbin:/sbin command -v %s >/dev/null 2>&1",
			 tools[i][0]);
		if (system(cmd) != 0) {
			fprintf(stderr, "FAIL: %s is missing (Debian package %s): run tools/deps as root\n",
				tools[i][0], tools[i][1]);
			all = false;
		}
	}
	CHECK(all);
	return all;
}

/* The whole file dir/name, NUL-terminated (caller frees), or NULL. */
static char *slurp(const char *name, size_t *len)
{
	char path[512];
	char *buf = NULL;
	FILE *f;
	long n;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (!(f = fopen(path, "rb")))
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if (n >= 0 && (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = 0;
		if (len)
			*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static struct zonegen_deleg *deleg(const char *zone, const char *parent, const char *delegate)
{
	static struct zonegen_deleg d;

	memset(&d, 0, sizeof d);
	snprintf(d.zone, sizeof d.zone, "%s", zone);
	snprintf(d.parent, sizeof d.parent, "%s", parent);
	snprintf(d.delegate, sizeof d.delegate, "%s", delegate);
	return &d;
}

static void ns(struct zonegen_deleg *d, const char *host, const char *addr)
{
	snprintf(d->ns[d->n_ns].host, sizeof d->ns[0].host, "%s", host);
	snprintf(d->ns[d->n_ns].addr, sizeof d->ns[0].addr, "%s", addr);
	d->n_ns++;
}

static void name(struct zonegen_deleg *d, const char *label, const char *addr, uint16_t port)
{
	snprintf(d->names[d->n_names].label, sizeof d->names[0].label, "%s", label);
	snprintf(d->names[d->n_names].addr, sizeof d->names[0].addr, "%s", addr);
	d->names[d->n_names++].port = port;
}

static void expose(struct zonegen_deleg *d, const char *service, uint16_t port, uint8_t ch)
{
	struct zonegen_expose *x = &d->exposes[d->n_exposes++];

	snprintf(x->service, sizeof x->service, "%s", service);
	x->port = port;
	x->channels = ch;
}

static char long_zone[MN_MAX_DOMAIN + 1];   /* 253 characters, legal */
static char label64[MN_MAX_NAME + 2];        /* 64 'q': one too many */
static char name254[MN_MAX_DOMAIN + 2];      /* 254 characters */
static char label63[MN_MAX_NAME + 1];        /* 63 'p': legal, but no SRV */

static void make_names(void)
{
	/* 63 + 1 + 63 + 1 + 63 + 1 + 50 + 1 + 10 ("example.io") = 253 */
	snprintf(long_zone, sizeof long_zone, "0-%.61s.%.63s.x%.62s.%.50s.example.io",
		 "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz",
		 "xn--bcher-kva-and-more-letters-to-fill-a-label-of-63-characters",
		 "123456789012345678901234567890123456789012345678901234567890123",
		 "z1234567890123456789012345678901234567890123456789");
	memset(label64, 'q', 64);
	memset(label63, 'p', 63);
	/* 63 * 3 + 51 + 4 dots + 10 = 254 */
	snprintf(name254, sizeof name254, "%.63s.%.63s.%.63s.%.51s.example.io", label63, label63,
		 label63, label63);
}

static void add(struct zonegen *m, const struct zonegen_deleg *d, struct zonegen_report *rep,
		int want_rejects)
{
	int n = zonegen_add(m, d, rep);

	if (want_rejects >= 0)
		CHECK_INT(n, want_rejects);
	else
		CHECK(n > 0);
}

static void on_reject(void *arg, const char *msg)
{
	unsigned *count = arg;

	(*count)++;
	for (const char *s = msg; *s; s++)
		CHECK(*s >= 0x20 && *s < 0x7f);   /* printable: safe to log */
}

/* The mesh of the test. with_cloud: node1 exposes "cloud" (withdrawn
 * when false); reverse: add the zones in the opposite order. */
static struct zonegen *build(bool with_cloud, bool reverse, struct zonegen_report *rep)
{
	static struct zonegen_deleg all[24];   /* large: not on the stack */
	struct zonegen *m;
	struct zonegen_deleg *d;
	size_t n = 0;

	CHECK_INT(zonegen_new("example.io", &m), 0);

	d = deleg("example.io", "", "root");
	ns(d, "ns1.example.io", "10.42.0.1");
	ns(d, "ns2.example.io", "fd42::1");
	name(d, "", "10.42.0.1", 0);
	name(d, "www", "10.42.0.10", 443);
	all[n++] = *d;

	d = deleg("node1.example.io", "example.io", "node1");
	ns(d, "ns.node1.example.io", "10.42.1.1");
	ns(d, "ns.node1.example.io", "fd42::101");
	name(d, "web", "10.42.1.10", 8080);
	name(d, "printer", "FD42:0:0::1:20", 0);           /* printed fd42::1:20 */
	name(d, "1.2.3.4-rm", "1.2.3.4; rm -rf /", 0);      /* hostile address */
	name(d, "www.lab", "10.42.1.11", 0);                /* below lab's cut */
	name(d, label63, "10.42.1.12", 80);                 /* A yes, SRV no */
	snprintf(d->delegate_addr[0], sizeof d->delegate_addr[0], "10.42.1.1");
	snprintf(d->delegate_addr[1], sizeof d->delegate_addr[1], "fd42::101");
	if (with_cloud)
		expose(d, "cloud", 443, CH_MESH);
	expose(d, "grafana", 0, CH_MESH | CH_DNS);
	expose(d, "onion-only", 80, CH_TOR);               /* not on the mesh */
	all[n++] = *d;

	d = deleg("node2.example.io", "example.io", "node2");
	ns(d, "ns1.provider.net", "198.51.100.7");
	ns(d, "ns2.provider.net", "");
	ns(d, "ns evil.example.io", "10.1.1.1");           /* hostile host */
	name(d, "files", "10.42.2.5", 445);
	name(d, "inj\nected", "10.42.2.6", 0);             /* hostile label */
	name(d, "$INCLUDE", "10.42.2.7", 0);
	all[n++] = *d;

	d = deleg("lab.node1.example.io", "node1.example.io", "lab");
	ns(d, "ns.lab.node1.example.io", "10.42.1.129");
	name(d, "scope", "10.42.1.130", 0);
	d->ttl = 300;
	all[n++] = *d;

	d = deleg("7.example.io", "example.io", "n7");
	ns(d, "ns.7.example.io", "10.42.7.1");
	all[n++] = *d;

	d = deleg(long_zone, "example.io", "");
	ns(d, "ns.provider.net", "198.51.100.8");
	name(d, "www", "10.42.9.9", 0);                    /* 257 characters */
	all[n++] = *d;

	/* rejected at zonegen_add, then (deep, dup) at zonegen_seal */
	static const char *const bad[][2] = {
		{ "evil.example.io\"; include \"/etc/passwd", "example.io" },
		{ label64, "example.io" },               /* made "<q*64>.example.io" below */
		{ name254, "example.io" },               /* 254 bytes, no NUL */
		{ "outside.example.org", "example.io" },
		{ "sneaky.example.io", "node1.example.io" },   /* not inside it */
		{ "self.example.io", "self.example.io" },      /* not strictly */
		{ "UPPER.example.io", "example.io" },
		{ "badns.example.io", "example.io" },
		{ "deep.lab.node1.example.io", "example.io" },  /* lab.node1 is closer */
		{ "dup.example.io", "example.io" },
		{ "dup.example.io", "example.io" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		d = deleg(bad[i][0], bad[i][1], "x");
		if (bad[i][0] == label64)
			snprintf(d->zone, sizeof d->zone, "%s.example.io", label64);
		if (bad[i][0] == name254)
			memcpy(d->zone, name254, sizeof d->zone);
		if (!strcmp(d->zone, "badns.example.io"))
			ns(d, "ns.badns.example.io\n$INCLUDE /etc/shadow", "10.9.9.9");
		else
			ns(d, "ns.provider.net", "198.51.100.9");
		all[n++] = *d;
	}

	static const int want[] = {
		0, 2 /* bad address, SRV of label63 */, 3, 0, 0, 1,
		1, 1, 1, 1, 1, 1, 1, 2 /* the NS and then the zone */, 0, 0, 0,
	};
	CHECK_INT(n, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < n; i++) {
		size_t k = reverse ? n - 1 - i : i;
		add(m, &all[k], rep, want[k]);
	}
	CHECK_INT(zonegen_seal(m, rep), 3);   /* deep, dup twice */
	return m;
}

static const char *const zones[] = {
	"example.io", "node1.example.io", "node2.example.io", "lab.node1.example.io", "7.example.io",
	long_zone,
};
#define N_ZONES (sizeof zones / sizeof zones[0])

/* Generators behind one signature, for write_file. */
static FILE *cur;
static struct zonegen_report *cur_rep;
static int gen_zone(const struct zonegen *m, const char *zone, void *arg)
{
	struct zonegen_out o = { .file = cur };
	return zonegen_zone(m, zone, *(uint32_t *)arg, &o, cur_rep);
}

static const char *listen_v[] = { "10.42.0.1", "fd42::1", "1.2.3.4; rm -rf /" };

static struct zonegen_conf conf(void)
{
	struct zonegen_conf c = { .dir = dir, .n_listen = 3, .port = 5353 };

	for (size_t i = 0; i < 3; i++)
		c.listen[i] = listen_v[i];
	return c;
}

static int gen_knot(const struct zonegen *m, const char *zone, void *arg)
{
	struct zonegen_out o = { .file = cur };
	struct zonegen_conf c = conf();
	return zonegen_knot_conf(m, arg, arg ? 4 : 0, &c, &o, cur_rep);
}

static int gen_bind(const struct zonegen *m, const char *zone, void *arg)
{
	struct zonegen_out o = { .file = cur };
	struct zonegen_conf c = conf();
	return zonegen_bind_conf(m, arg, arg ? 4 : 0, &c, &o, cur_rep);
}

static int gen_dnsmasq(const struct zonegen *m, const char *zone, void *arg)
{
	struct zonegen_out o = { .file = cur };
	return zonegen_dnsmasq_conf(m, NULL, 0, &o, cur_rep);
}

/* write_file with cur set to the open file. */
static int gen_to(const char *fname, int (*gen)(const struct zonegen *, const char *, void *),
		  const struct zonegen *m, const char *zone, void *arg)
{
	char path[512];
	int rc;

	snprintf(path, sizeof path, "%s/%s", dir, fname);
	if (!(cur = fopen(path, "w")))
		return -errno;
	rc = gen(m, zone, arg);
	if (fclose(cur) != 0 && rc >= 0)
		rc = -EIO;
	cur = NULL;
	return rc;
}

static bool has(const char *text, const char *needle)
{
	bool ok = strstr(text, needle) != NULL;

	if (!ok)
		fprintf(stderr, "missing: \"%s\"\n", needle);
	return ok;
}

/* A zone file: only comment lines hold ';', only $ORIGIN/$TTL lines '$';
 * no backslash or brace anywhere, and a quote only around an onion TXT. */
static void check_zone_text(const char *text)
{
	for (const char *l = text; *l;) {
		size_t k = strcspn(l, "\n"), line = k;
		bool comment = l[0] == ';';
		const char *txt = memmem(l, k, "\tIN\tTXT\t\"onion=", 15);
		if (txt) {   /* "onion=" + 56 base32 + ".onion" + quote, and nothing after */
			const char *v = txt + 15;
			CHECK((size_t)(l + k - v) == 63 && strspn(v, "abcdefghijklmnopqrstuvwxyz234567") == 56 &&
			      !strncmp(v + 56, ".onion\"", 7));
			k = (size_t)(txt - l);   /* the characters checked below */
		}
		bool dollar = !strncmp(l, "$ORIGIN ", 8) || !strncmp(l, "$TTL ", 5);
		for (size_t i = 0; i < k; i++) {
			char c = l[i];
			CHECK(c != '"' && c != '\\' && c != '{' && c != '}' && c != '\r');
			CHECK(comment || c != ';');
			CHECK(dollar || comment || c != '$');
		}
		l += line + (l[line] == '\n');
	}
}

static void check_files(void)
{
	static const char *const hostile[] = {
		"passwd", "include", "INCLUDE", "shadow", "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
		"pppp.pppp", "example.org", "sneaky", "self.example", "UPPER", "upper", "badns", "deep", "dup.",
		"ns evil", "evil", "inj", "ected", "1.2.3.4", "rm -rf", "www.lab", "onion",
	};
	static const char *const files[] = {
		"example.io.zone", "node1.example.io.zone", "node2.example.io.zone",
		"lab.node1.example.io.zone", "7.example.io.zone", "knot.conf", "named.conf",
		"dnsmasq.conf", "knot-some.conf", "named-some.conf",
	};
	char *text;

	for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
		if (!(text = slurp(files[f], NULL))) {
			fprintf(stderr, "no file %s\n", files[f]);
			CHECK(0);
			continue;
		}
		for (size_t h = 0; h < sizeof hostile / sizeof hostile[0]; h++) {
			bool absent = strstr(text, hostile[h]) == NULL;
			if (!absent)
				fprintf(stderr, "%s contains \"%s\"\n", files[f], hostile[h]);
			CHECK(absent);
		}
		if (strstr(files[f], ".zone"))
			check_zone_text(text);
		free(text);
	}
}

static void check_content(void)
{
	char *apex = slurp("example.io.zone", NULL), *n1 = slurp("node1.example.io.zone", NULL);
	char *n2 = slurp("node2.example.io.zone", NULL), *lab = slurp("lab.node1.example.io.zone", NULL);
	char *dm = slurp("dnsmasq.conf", NULL), *kc = slurp("knot.conf", NULL);
	char *nc = slurp("named.conf", NULL);

	CHECK(apex && n1 && n2 && lab && dm && kc && nc);
	if (!(apex && n1 && n2 && lab && dm && kc && nc))
		goto out;
	/* apex: SOA first, its NS and their addresses, names, child NS + glue */
	CHECK(has(apex, "$ORIGIN example.io.\n$TTL 3600\n@\t3600\tIN\tSOA\tns1.example.io. "
		  "hostmaster.example.io. 2024010101 3600 900 1209600 300\n"));
	CHECK(has(apex, "@\t3600\tIN\tNS\tns1.example.io.\n@\t3600\tIN\tNS\tns2.example.io.\n"));
	CHECK(has(apex, "@\t3600\tIN\tA\t10.42.0.1\n"));
	CHECK(has(apex, "ns2\t3600\tIN\tAAAA\tfd42::1\n"));
	CHECK(has(apex, "www\t3600\tIN\tA\t10.42.0.10\n"));
	CHECK(has(apex, "_www._tcp\t3600\tIN\tSRV\t0 0 443 www.example.io.\n"));
	CHECK(has(apex, "node1\t3600\tIN\tNS\tns.node1.example.io.\n"));
	CHECK(has(apex, "ns.node1\t3600\tIN\tA\t10.42.1.1\nns.node1\t3600\tIN\tAAAA\tfd42::101\n"));
	CHECK(has(apex, "node2\t3600\tIN\tNS\tns1.provider.net.\nnode2\t3600\tIN\tNS\tns2.provider.net.\n"));
	CHECK(!strstr(apex, "198.51.100.7"));        /* out of zone: no glue */
	CHECK(!strstr(apex, "lab.node1") && !strstr(apex, "ns.lab"));   /* a grandchild */
	CHECK(has(apex, "7\t3600\tIN\tNS\tns.7.example.io.\nns.7\t3600\tIN\tA\t10.42.7.1\n"));
	CHECK(!strstr(apex, "web") && !strstr(apex, "files"));
	/* node1: its own NS addresses, names, exposures, lab's NS + glue (lab's ttl) */
	CHECK(has(n1, "; delegated to node node1 by example.io\n"));
	CHECK(has(n1, "@\t3600\tIN\tSOA\tns.node1.example.io. hostmaster.node1.example.io. "));
	CHECK(has(n1, "ns\t3600\tIN\tA\t10.42.1.1\nns\t3600\tIN\tAAAA\tfd42::101\n"));
	CHECK(has(n1, "web\t3600\tIN\tA\t10.42.1.10\n"));
	CHECK(has(n1, "_web._tcp\t3600\tIN\tSRV\t0 0 8080 web.node1.example.io.\n"));
	CHECK(has(n1, "printer\t3600\tIN\tAAAA\tfd42::1:20\n"));
	CHECK(!strstr(n1, "_printer"));
	CHECK(has(n1, "cloud\t3600\tIN\tA\t10.42.1.1\ncloud\t3600\tIN\tAAAA\tfd42::101\n"));
	CHECK(has(n1, "_cloud._tcp\t3600\tIN\tSRV\t0 0 443 cloud.node1.example.io.\n"));
	CHECK(has(n1, "grafana\t3600\tIN\tA\t10.42.1.1\n"));
	CHECK(!strstr(n1, "_grafana"));
	CHECK(has(n1, "lab\t300\tIN\tNS\tns.lab.node1.example.io.\nns.lab\t300\tIN\tA\t10.42.1.129\n"));
	CHECK(!strstr(n1, "scope"));
	CHECK(has(n1, "\t3600\tIN\tA\t10.42.1.12\n"));   /* label63: A without SRV */
	CHECK(has(lab, "$TTL 300\n") && has(lab, "scope\t300\tIN\tA\t10.42.1.130\n"));
	CHECK(has(n2, "files\t3600\tIN\tA\t10.42.2.5\n"));
	CHECK(has(n2, "@\t3600\tIN\tSOA\tns1.provider.net. hostmaster.node2.example.io. "));
	/* dnsmasq: NS addresses per zone, the rebind exception */
	CHECK(has(dm, "rebind-domain-ok=/example.io/\n"));
	CHECK(has(dm, "server=/example.io/10.42.0.1\nserver=/example.io/fd42::1\n"));
	CHECK(has(dm, "server=/node1.example.io/10.42.1.1\nserver=/node1.example.io/fd42::101\n"));
	CHECK(has(dm, "server=/lab.node1.example.io/10.42.1.129\n"));
	CHECK(has(dm, "server=/node2.example.io/198.51.100.7\n"));
	/* configs */
	CHECK(has(kc, "listen: [ 10.42.0.1@5353, fd42::1@5353 ]\n"));
	CHECK(has(kc, "  - domain: node1.example.io.\n    file: "));
	CHECK(has(nc, "listen-on port 5353 { 10.42.0.1; };\n\tlisten-on-v6 port 5353 { fd42::1; };\n"));
	CHECK(has(nc, "zone \"lab.node1.example.io\" {\n\ttype master;\n\tfile \""));
	CHECK(has(nc, "recursion no;"));
out:
	free(apex); free(n1); free(n2); free(lab); free(dm); free(kc); free(nc);
}

/* The file name zonegen_zone_path gives zone (without the directory). */
static const char *zfile(const char *zone)
{
	static char path[ZONEGEN_PATH_MAX];

	CHECK_INT(zonegen_zone_path(dir, zone, path, sizeof path), 0);
	return path + strlen(dir) + 1;
}

static void validate_with_tools(void)
{
	char cmd[1024];

	for (size_t i = 0; i < N_ZONES; i++) {
		snprintf(cmd, sizeof cmd, "kzonecheck -o %s. %s", zones[i], zfile(zones[i]));
		CHECK_INT(run_clean(cmd), 0);
		/* -i local: no lookups of out-of-zone names (no network) */
		snprintf(cmd, sizeof cmd, "named-checkzone -i local -k fail -n fail -M fail -S fail %s %s",
			 zones[i], zfile(zones[i]));
		CHECK_INT(run_clean(cmd), 0);
	}
	CHECK_INT(run_clean("knotc -c knot.conf conf-check"), 0);
	CHECK_INT(run_clean("knotc -c knot.conf zone-check"), 0);
	CHECK_INT(run_clean("knotc -c knot-some.conf conf-check"), 0);
	CHECK_INT(run_clean("named-checkconf named.conf"), 0);
	CHECK_INT(run_clean("named-checkconf -z named.conf"), 0);
	CHECK_INT(run_clean("named-checkconf -z named-some.conf"), 0);
	CHECK_INT(run_clean("dnsmasq --test --conf-file=dnsmasq.conf"), 0);
}

static void test_mesh(void)
{
	struct zonegen_report rep = { 0 };
	unsigned each = 0;
	struct zonegen *m;
	uint32_t serial = 2024010101;
	const char *some[] = { "node1.example.io", "evil.example.io\"; include \"/etc/passwd",
			       "node1.example.io", name254 };
	int rc;

	rep.each = on_reject;
	rep.arg = &each;
	m = build(true, false, &rep);
	CHECK(rep.rejected > 0 && rep.rejected == each);
	CHECK(rep.first[0] != 0);
	printf("first rejection: %s\n", rep.first);

	cur_rep = &rep;
	for (size_t i = 0; i < N_ZONES; i++) {
		rc = gen_to(zfile(zones[i]), gen_zone, m, zones[i], &serial);
		CHECK(rc >= 0);
		if (i == 0)
			/* refused delegations of example.io: evil, q*64, outside,
			 * UPPER, badns at add (the unterminated one names no
			 * parent), deep and dup twice at seal; node2's "ns evil" */
			CHECK_INT(rc, 9);
		if (i == 1)
			/* bad address, SRV of label63, occluded www.lab, sneaky */
			CHECK_INT(rc, 4);
	}
	CHECK_INT(gen_to("knot.conf", gen_knot, m, NULL, NULL), 1);       /* the listen address */
	CHECK_INT(gen_to("named.conf", gen_bind, m, NULL, NULL), 1);
	CHECK_INT(gen_to("knot-some.conf", gen_knot, m, NULL, some), 3);  /* + evil, name254 */
	CHECK_INT(gen_to("named-some.conf", gen_bind, m, NULL, some), 3);
	CHECK_INT(gen_to("dnsmasq.conf", gen_dnsmasq, m, NULL, NULL), 1); /* ns evil in node2 */
	cur_rep = NULL;
	CHECK(rep.rejected == each);

	check_content();
	check_files();
	validate_with_tools();

	/* errors */
	{
		struct zonegen_out o = { 0 };
		struct zonegen_conf c = conf();
		char path[ZONEGEN_PATH_MAX];
		CHECK_INT(zonegen_zone(m, "evil.example.io\"; include \"/etc/passwd", 1, &o, NULL), -EINVAL);
		CHECK_INT(zonegen_zone(m, "dup.example.io", 1, &o, NULL), -ENOENT);
		CHECK_INT(zonegen_zone(m, "nothere.example.io", 1, &o, NULL), -ENOENT);
		CHECK_INT(o.len, 0);
		c.dir = "/tmp/x\"; include \"/etc/passwd";
		CHECK_INT(zonegen_bind_conf(m, NULL, 0, &c, &o, NULL), -EINVAL);
		c.dir = "/var/lib/../../etc";
		CHECK_INT(zonegen_knot_conf(m, NULL, 0, &c, &o, NULL), -EINVAL);
		c.dir = "relative/dir";
		CHECK_INT(zonegen_knot_conf(m, NULL, 0, &c, &o, NULL), -EINVAL);
		c.dir = "/var/lib/knot/";
		CHECK_INT(zonegen_knot_conf(m, NULL, 0, &c, &o, NULL), -EINVAL);
		CHECK_INT(o.len, 0);
		CHECK_INT(zonegen_zone_path("/var/lib/mirrornet/dns", "node1.example.io", path, sizeof path), 0);
		CHECK_STR(path, "/var/lib/mirrornet/dns/node1.example.io.zone");
		CHECK_INT(zonegen_zone_path("/var/lib/x y", "node1.example.io", path, sizeof path), -EINVAL);
		CHECK_INT(zonegen_zone_path("/a", "../etc.example.io", path, sizeof path), -EINVAL);
		CHECK_INT(zonegen_zone_path("/a", "node1.example.io", path, 10), -ENOSPC);
		CHECK_INT(zonegen_add(m, deleg("late.example.io", "example.io", ""), NULL), -EINVAL);
		CHECK_INT(zonegen_seal(m, NULL), -EINVAL);
		struct zonegen *bad;
		CHECK_INT(zonegen_new("Example.io", &bad), -EINVAL);
		CHECK(bad == NULL);
		CHECK_INT(zonegen_new("example.io.", &bad), -EINVAL);
	}
	zonegen_free(m);
}

/* Same model ⇒ same bytes; the order of the input does not matter; a
 * buffer gives the bytes a FILE gives; a withdrawn exposure is gone. */
static void test_determinism(void)
{
	struct zonegen *a = build(true, false, NULL), *b = build(true, true, NULL);
	struct zonegen *c = build(false, false, NULL);
	char small[64];

	for (size_t i = 0; i < N_ZONES; i++) {
		struct zonegen_out o1 = { 0 }, o2 = { 0 }, o3 = { 0 };
		char *b1, *b2, *b3;
		int r1;
		/* a NULL buffer counts the bytes */
		r1 = zonegen_zone(a, zones[i], 7, &o1, NULL);
		CHECK_INT(r1, -ENOSPC);
		b1 = malloc(o1.len + 1);
		b2 = malloc(o1.len + 1);
		b3 = malloc(o1.len + 1);
		o2 = (struct zonegen_out){ .buf = b1, .cap = o1.len + 1 };
		CHECK(zonegen_zone(a, zones[i], 7, &o2, NULL) >= 0);
		o3 = (struct zonegen_out){ .buf = b2, .cap = o1.len + 1 };
		CHECK(zonegen_zone(a, zones[i], 7, &o3, NULL) >= 0);
		CHECK(o2.len == o1.len && o3.len == o1.len && !memcmp(b1, b2, o1.len + 1));
		o3 = (struct zonegen_out){ .buf = b3, .cap = o1.len + 1 };
		CHECK(zonegen_zone(b, zones[i], 7, &o3, NULL) >= 0);
		CHECK(o3.len == o1.len && !memcmp(b1, b3, o1.len + 1));
		if (i == 0) {
			/* the file written before has these bytes but for the serial */
			FILE *f = fmemopen(b3, o1.len + 1, "w");
			struct zonegen_out of = { .file = f };
			CHECK(zonegen_zone(a, zones[i], 7, &of, NULL) >= 0);
			fclose(f);
			CHECK(!memcmp(b1, b3, o1.len));
		}
		free(b1);
		free(b2);
		free(b3);
	}
	/* too small a buffer: -ENOSPC, NUL-terminated, len = what is needed */
	{
		struct zonegen_out o = { .buf = small, .cap = sizeof small };
		CHECK_INT(zonegen_zone(a, "example.io", 7, &o, NULL), -ENOSPC);
		CHECK(o.len > sizeof small && strlen(small) == sizeof small - 1);
	}
	/* withdrawing "cloud" removes its names, nothing else */
	{
		char buf[8192];
		struct zonegen_out o = { .buf = buf, .cap = sizeof buf };
		CHECK(zonegen_zone(c, "node1.example.io", 7, &o, NULL) >= 0);
		CHECK(!strstr(buf, "cloud") && strstr(buf, "grafana") && strstr(buf, "web"));
	}
	zonegen_free(a);
	zonegen_free(b);
	zonegen_free(c);
}

static void test_serial(void)
{
	uint32_t s = 0, prev;

	CHECK_INT(zonegen_serial(0, 1700000000), 1700000000);
	CHECK_INT(zonegen_serial(1700000000, 1700000000), 1700000001);   /* same second */
	CHECK_INT(zonegen_serial(1700000005, 1700000000), 1700000006);   /* clock behind */
	CHECK_INT(zonegen_serial(1700000000, 1700000100), 1700000100);
	CHECK_INT(zonegen_serial(2024010101, 1700000000), 2024010102);   /* from a date serial */
	CHECK_INT(zonegen_serial(0xffffffffu, 0xffffffffu), 0);          /* wraps */
	CHECK_INT(zonegen_serial(0xfffffff0u, (1ull << 32) + 5), 5);     /* 2106 */
	/* a long run: each greater than the last in RFC 1982 terms */
	for (uint64_t t = 0xfffff000ull, i = 0; i < 10000; i++, t += i % 3) {
		prev = s;
		s = zonegen_serial(prev, t);
		CHECK(s != prev && (uint32_t)(s - prev) < 0x80000000u);
	}
}

/* Which files of a zone directory are a zone's file that zonegen wrote
 * (the prune of zones no longer served, docs/dns.md): the exact name
 * zonegen_zone_path gives a valid zone inside the domain, and the first
 * line zonegen_zone writes. */
static void test_file_names(void)
{
	static const char *const notours[] = {
		"example.org.zone", "evilexample.io.zone", "example.io.zone.tmp", "knot.conf",
		"named.conf", "dnsmasq.conf", ".zone", "a.example.io.z", "A.example.io.zone",
		"a_b.example.io.zone", "-a.example.io.zone", "..zone", "x..example.io.zone",
		"a.example.io.jnl", "a.example.io.zone.jnl", "a.example.io.ZONE", "zone",
	};
	char zone[MN_MAX_DOMAIN + 1], file[300], path[ZONEGEN_PATH_MAX], head[400];
	struct zonegen *m;
	struct zonegen_deleg *d;
	struct zonegen_out o = { .buf = head, .cap = sizeof head };

	CHECK_INT(zonegen_file_zone("example.io", "example.io.zone", zone, sizeof zone), 0);
	CHECK_STR(zone, "example.io");
	CHECK_INT(zonegen_file_zone("example.io", "node1.example.io.zone", zone, sizeof zone), 0);
	CHECK_STR(zone, "node1.example.io");
	for (size_t i = 0; i < sizeof notours / sizeof notours[0]; i++)
		CHECK_INT(zonegen_file_zone("example.io", notours[i], zone, sizeof zone), -EINVAL);
	CHECK_INT(zonegen_file_zone("example.io", "node1.example.io.zone", zone, 5), -ENOSPC);
	/* a zone over 250 characters has a ".z" file, and only that */
	CHECK_INT(zonegen_zone_path("/d", long_zone, path, sizeof path), 0);
	CHECK_INT(zonegen_file_zone("example.io", path + 3, zone, sizeof zone), 0);
	CHECK_STR(zone, long_zone);
	snprintf(file, sizeof file, "%s.zone", long_zone);
	CHECK_INT(zonegen_file_zone("example.io", file, zone, sizeof zone), -EINVAL);

	/* the first line of a generated zone marks it ours; nothing else does */
	CHECK_INT(zonegen_new("example.io", &m), 0);
	d = deleg("example.io", "", "root");
	ns(d, "ns.example.io", "10.42.0.1");
	CHECK_INT(zonegen_add(m, d, NULL), 0);
	d = deleg("node1.example.io", "example.io", "node1");
	ns(d, "ns.node1.example.io", "10.42.0.2");
	CHECK_INT(zonegen_add(m, d, NULL), 0);
	CHECK_INT((int)zonegen_count(m), 0);   /* not sealed yet */
	CHECK_INT(zonegen_seal(m, NULL), 0);
	CHECK_INT((int)zonegen_count(m), 2);
	CHECK_STR(zonegen_name(m, 0), "example.io");
	CHECK_STR(zonegen_name(m, 1), "node1.example.io");
	CHECK(zonegen_zone(m, "node1.example.io", 1, &o, NULL) == -ENOSPC || o.len > 0);
	CHECK(zonegen_file_is_ours("node1.example.io", head, strlen(head)));
	CHECK(!zonegen_file_is_ours("example.io", head, strlen(head)));
	CHECK(!zonegen_file_is_ours("node1.example.io", head, 20));
	CHECK(!zonegen_file_is_ours("node1.example.io", "not ours\n", 9));
	CHECK(!zonegen_file_is_ours("node1.example.io", "; zone node1.example.io\n", 24));
	zonegen_free(m);
}

/* 1,000 delegations under example.io, each with an in-zone NS (glue) and
 * a name: generation time and size, then how long the tools take. */
static void bench_1000(void)
{
	struct zonegen_deleg *d;
	struct zonegen *m;
	struct zonegen_report rep = { 0 };
	struct zonegen_out o = { 0 };
	double t0, t1, t2, t3;
	char cmd[512];
	FILE *f;
	int rc;

	t0 = now_s();
	CHECK_INT(zonegen_new("example.io", &m), 0);
	d = deleg("example.io", "", "root");
	ns(d, "ns1.example.io", "10.42.0.1");
	CHECK_INT(zonegen_add(m, d, &rep), 0);
	for (unsigned i = 0; i < 1000; i++) {
		char zone[64], host[80], addr[32];
		snprintf(zone, sizeof zone, "n%04u.example.io", i);
		snprintf(host, sizeof host, "ns.%s", zone);
		snprintf(addr, sizeof addr, "10.43.%u.%u", i / 250, i % 250 + 1);
		d = deleg(zone, "example.io", "node");
		ns(d, host, addr);
		ns(d, "ns1.example.io", "10.42.0.1");
		name(d, "web", addr, 443);
		CHECK_INT(zonegen_add(m, d, &rep), 0);
	}
	CHECK_INT(zonegen_seal(m, &rep), 0);
	t1 = now_s();
	snprintf(cmd, sizeof cmd, "%s/big.zone", dir);
	f = fopen(cmd, "w");
	CHECK(f != NULL);
	if (!f) {
		zonegen_free(m);
		return;
	}
	o.file = f;
	rc = zonegen_zone(m, "example.io", 1, &o, &rep);
	t2 = now_s();
	fclose(f);
	CHECK_INT(rc, 0);
	/* every child zone too */
	for (unsigned i = 0; i < 1000; i++) {
		char zone[64];
		struct zonegen_out n = { 0 };
		snprintf(zone, sizeof zone, "n%04u.example.io", i);
		CHECK_INT(zonegen_zone(m, zone, 1, &n, NULL), -ENOSPC);   /* counting only */
	}
	t3 = now_s();
	printf("bench: 1000 delegations: model %.2f ms, example.io zone %zu bytes in %.2f ms, "
	       "the 1000 child zones (counted, not written) in %.2f ms\n",
	       (t1 - t0) * 1e3, o.len, (t2 - t1) * 1e3, (t3 - t2) * 1e3);
	t0 = now_s();
	CHECK_INT(run_clean("kzonecheck -o example.io. big.zone"), 0);
	t1 = now_s();
	CHECK_INT(run_clean("named-checkzone -i local example.io big.zone"), 0);
	t2 = now_s();
	{
		/* a knot.conf whose example.io file is big.zone, in dir/big */
		struct zonegen_conf c = { .port = 5353 };
		const char *apex[] = { "example.io" };
		struct zonegen_out k = { 0 };
		char bigdir[200], conf_path[300];
		CHECK_INT(run("mkdir -p big && cp big.zone big/example.io.zone"), 0);
		snprintf(bigdir, sizeof bigdir, "%s/big", dir);
		snprintf(conf_path, sizeof conf_path, "%s/knot.conf", bigdir);
		c.dir = bigdir;
		f = fopen(conf_path, "w");
		CHECK(f != NULL);
		if (f) {
			k.file = f;
			CHECK_INT(zonegen_knot_conf(m, apex, 1, &c, &k, NULL), 0);
			fclose(f);
		}
	}
	t2 = now_s();
	CHECK_INT(run_clean("knotc -c big/knot.conf zone-check"), 0);
	t3 = now_s();
	printf("bench: accepting the 1000-delegation zone: kzonecheck %.0f ms, named-checkzone %.0f ms, "
	       "knotc zone-check %.0f ms\n", (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3);
	zonegen_free(m);
}

static void cdn(struct zonegen_deleg *d, const char *service, uint8_t ch, const char *domain,
		const char *e1, const char *e2, const char *onion)
{
	struct zonegen_expose *x = &d->exposes[d->n_exposes++];

	snprintf(x->service, sizeof x->service, "%s", service);
	x->channels = ch;
	snprintf(x->domain, sizeof x->domain, "%s", domain);
	if (e1)
		snprintf(x->entry[x->n_entries++], sizeof x->entry[0], "%s", e1);
	if (e2)
		snprintf(x->entry[x->n_entries++], sizeof x->entry[0], "%s", e2);
	snprintf(x->onion, sizeof x->onion, "%s", onion ? onion : "");
}

/* The CDN's names (docs/expose.md): a public name's A/AAAA are its entry
 * points, an onion name a TXT; a name outside the zone, below a child's
 * cut, a bad entry or onion are left out and reported. */
static void test_cdn(void)
{
	static const char onion[] = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion";
	struct zonegen_report rep = { 0 };
	struct zonegen *m;
	struct zonegen_deleg *d;
	char buf[8192];
	struct zonegen_out o = { .buf = buf, .cap = sizeof buf };

	CHECK_INT(zonegen_new("example.io", &m), 0);
	d = deleg("example.io", "", "root");
	ns(d, "ns.example.io", "10.42.0.1");
	snprintf(d->delegate_addr[0], sizeof d->delegate_addr[0], "10.42.0.1");
	cdn(d, "git", CH_DNS | CH_MESH, "git.lab.node1.example.io", "192.0.2.1", "2001:db8::4", NULL);
	cdn(d, "wiki", CH_DNS | CH_TOR, "wiki.example.io", "192.0.2.1", NULL, onion);
	cdn(d, "hidden", CH_TOR, "", NULL, NULL, onion);                     /* TXT at hidden.example.io */
	cdn(d, "far", CH_DNS, "far.example.org", "192.0.2.1", NULL, NULL);    /* not in the zone */
	cdn(d, "cut", CH_DNS, "x.node2.example.io", "192.0.2.1", NULL, NULL); /* below node2's cut */
	cdn(d, "badip", CH_DNS, "b.example.io", "192.0.2.300", NULL, NULL);
	cdn(d, "badonion", CH_TOR, "", NULL, NULL, "notanonion.onion");
	cdn(d, "noentry", CH_DNS, "n.example.io", NULL, NULL, NULL);          /* nowhere to enter: no name */
	/* the mesh name is the public one: the entry point wins, no mesh A/SRV */
	cdn(d, "www", CH_DNS | CH_MESH, "www.example.io", "192.0.2.9", NULL, NULL);
	d->exposes[d->n_exposes - 1].port = 8080;
	/* ... unless nobody enters it yet: the mesh name stays */
	cdn(d, "soon", CH_DNS | CH_MESH, "soon.example.io", NULL, NULL, NULL);
	d->exposes[d->n_exposes - 1].port = 8081;
	add(m, d, &rep, 3);   /* far, badip, badonion (the cut is known at seal) */
	d = deleg("node2.example.io", "example.io", "node2");
	ns(d, "ns.node2.example.io", "10.42.0.4");
	add(m, d, &rep, 0);
	zonegen_seal(m, &rep);
	rep.rejected = 0;
	CHECK(zonegen_zone(m, "example.io", 7, &o, &rep) >= 0);
	CHECK(strstr(buf, "\ngit.lab.node1\t3600\tIN\tA\t192.0.2.1\n") != NULL);
	CHECK(strstr(buf, "\ngit.lab.node1\t3600\tIN\tAAAA\t2001:db8::4\n") != NULL);
	CHECK(strstr(buf, "\ngit\t3600\tIN\tA\t10.42.0.1\n") != NULL);   /* and on the mesh */
	CHECK(strstr(buf, "\nwiki\t3600\tIN\tA\t192.0.2.1\n") != NULL);
	CHECK(strstr(buf, "\nwiki\t3600\tIN\tTXT\t\"onion=abcdefghijklmnopqrstuvwxyz234567") != NULL);
	CHECK(strstr(buf, "\nhidden\t3600\tIN\tTXT\t\"onion=") != NULL);
	CHECK(strstr(buf, "\nwww\t3600\tIN\tA\t192.0.2.9\n") != NULL);
	CHECK(!strstr(buf, "\nwww\t3600\tIN\tA\t10.42.0.1\n") && !strstr(buf, "_www._tcp"));
	CHECK(strstr(buf, "\nsoon\t3600\tIN\tA\t10.42.0.1\n") != NULL);
	CHECK(strstr(buf, "\n_soon._tcp\t3600\tIN\tSRV\t0 0 8081 soon.example.io.\n") != NULL);
	CHECK(!strstr(buf, "far") && !strstr(buf, "x.node2") && !strstr(buf, "\nb\t") &&
	      !strstr(buf, "notanonion") && !strstr(buf, "\nn\t") && !strstr(buf, "noentry"));
	CHECK(rep.rejected >= 4);   /* the three again, and the name below node2's cut */
	check_zone_text(buf);
	char path[300];
	snprintf(path, sizeof path, "%s/cdn.zone", dir);
	FILE *f = fopen(path, "w");
	CHECK(f && fputs(buf, f) >= 0);
	if (f)
		fclose(f);
	CHECK_INT(run_clean("kzonecheck -o example.io. cdn.zone"), 0);
	CHECK_INT(run_clean("named-checkzone -i local example.io cdn.zone"), 0);
	zonegen_free(m);
}

/* Outside secondaries (docs/dns.md "Zone transfers"): the key's include,
 * the remotes, an ACL for transfers by address and key, NOTIFY, IXFR; the
 * configs pass knotc conf-check and named-checkconf -z with the key file
 * beside them. Without secondaries (or without a key) the bytes are those
 * of a config without any. */
static void xfr_gen(const struct zonegen *m, struct zonegen_conf *c, bool bind, char **text,
		    int want)
{
	struct zonegen_out o = { 0 };
	int rc = bind ? zonegen_bind_conf(m, NULL, 0, c, &o, NULL) : zonegen_knot_conf(m, NULL, 0, c, &o, NULL);

	CHECK_INT(rc, -ENOSPC);   /* measured */
	*text = calloc(1, o.len + 1);
	o = (struct zonegen_out){ .buf = *text, .cap = o.len + 1 };
	rc = bind ? zonegen_bind_conf(m, NULL, 0, c, &o, NULL) : zonegen_knot_conf(m, NULL, 0, c, &o, NULL);
	CHECK_INT(rc, want);
}

static void put(const char *name, const char *text)
{
	char path[300];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	CHECK((f = fopen(path, "w")) != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* The config text t (freed here) and the key's file beside it, through
 * the server's own checker. */
static void xfr_validate(char *t, const struct tsig_key *key, bool bind)
{
	char keyconf[512];

	put(bind ? "named-xfr.conf" : "knot-xfr.conf", t);
	free(t);
	CHECK((bind ? tsig_bind_conf : tsig_knot_conf)("the transfer key", key, keyconf, sizeof keyconf) > 0);
	put(ZONEGEN_XFR_KEY_CONF, keyconf);
	if (bind) {
		CHECK_INT(run_clean("named-checkconf named-xfr.conf"), 0);
		CHECK_INT(run_clean("named-checkconf -z named-xfr.conf"), 0);
	} else {
		CHECK_INT(run_clean("knotc -c knot-xfr.conf conf-check"), 0);
	}
}

static void test_xfr(void)
{
	struct zonegen *m = build(true, false, NULL);
	static const uint8_t raw[TSIG_SECRET_LEN] = { 1, 2, 3 };
	struct tsig_key key, bad = { "hmac-md5", "mn-xfr", "" };
	const char *sec[] = { "192.0.2.53", "2001:DB8::35", "192.0.2.1; }; zone \"x\" {" };
	struct zonegen_conf c = conf();
	char line[256], keyconf[512], *plain[2], *t;

	CHECK(tsig_key_line("hmac-sha256", "mn-xfr", raw, line, sizeof line) > 0);
	CHECK_INT(tsig_key_parse(line, &key), 0);
	CHECK_STR(key.name, "mn-xfr");
	CHECK_INT(tsig_key_parse("hmac-sha256:Bad_Name:AQIDAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", &bad), -EINVAL);
	CHECK_INT(tsig_key_parse("hmac-sha256:mn-xfr:AQID\n", &bad), -EINVAL);   /* 3 bytes */
	snprintf(bad.alg, sizeof bad.alg, "hmac-md5");
	for (int b = 0; b < 2; b++)
		xfr_gen(m, &c, b, &plain[b], 1);   /* the bad listen address */
	/* a key without secondaries, and secondaries without a (valid) key:
	 * the same bytes as none, the latter rejected */
	c.xfr_key = &key;
	for (int b = 0; b < 2; b++) {
		xfr_gen(m, &c, b, &t, 1);
		CHECK_STR(t, plain[b]);
		free(t);
	}
	for (size_t i = 0; i < 3; i++)
		c.secondary[i] = sec[i];
	c.secondary_port[1] = 5300;
	c.n_secondary = 3;
	c.xfr_key = &bad;
	for (int b = 0; b < 2; b++) {
		xfr_gen(m, &c, b, &t, 2);
		CHECK_STR(t, plain[b]);
		free(t);
	}
	c.xfr_key = NULL;
	xfr_gen(m, &c, false, &t, 2);
	CHECK_STR(t, plain[0]);
	free(t);
	c.n_secondary = ZONEGEN_MAX_SECONDARIES + 1;
	{
		struct zonegen_out o = { 0 };
		CHECK_INT(zonegen_knot_conf(m, NULL, 0, &c, &o, NULL), -EINVAL);
	}
	c.n_secondary = 3;
	c.xfr_key = &key;

	/* Knot */
	xfr_gen(m, &c, false, &t, 2);   /* listen, and the hostile secondary */
	CHECK(has(t, "\ninclude: ") && has(t, "/" ZONEGEN_XFR_KEY_CONF "\n"));
	CHECK(has(t, "\ndatabase:\n    journal-db: ") && has(t, "/" ZONEGEN_XFR_JOURNAL "\n"));
	CHECK(has(t, "  - id: mn-secondary-1\n    address: 192.0.2.53@53\n    key: mn-xfr.\n"));
	CHECK(has(t, "  - id: mn-secondary-2\n    address: 2001:db8::35@5300\n    key: mn-xfr.\n"));
	CHECK(has(t, "    address: [ 192.0.2.53, 2001:db8::35 ]\n    key: mn-xfr.\n    action: transfer\n"));
	CHECK(has(t, "    zonefile-load: difference\n    journal-content: changes\n"
		  "    notify: [ mn-secondary-1, mn-secondary-2 ]\n    acl: mn-xfr\n"));
	CHECK(has(t, "    template: mn-xfr\n"));
	CHECK(!strstr(t, "secret:") && !strstr(t, "zone \"x\"") && !strstr(t, "mn-secondary-3"));
	xfr_validate(t, &key, false);

	/* BIND */
	xfr_gen(m, &c, true, &t, 2);
	CHECK(has(t, "\ninclude \"") && has(t, "/" ZONEGEN_XFR_KEY_CONF "\";\n"));
	CHECK(has(t, "\tallow-transfer { !{ !192.0.2.53; !2001:db8::35; any; }; key \"mn-xfr.\"; };\n"));
	CHECK(has(t, "\tnotify explicit;\n\talso-notify { 192.0.2.53 port 53 key \"mn-xfr.\"; "
		  "2001:db8::35 port 5300 key \"mn-xfr.\"; };\n\tixfr-from-differences yes;\n"));
	CHECK(!strstr(t, "secret \"") && !strstr(t, "notify no") && !strstr(t, "zone \"x\""));
	xfr_validate(t, &key, true);
	CHECK_INT(tsig_bind_conf("a\nb", &key, keyconf, sizeof keyconf), -EINVAL);
	tsig_key_wipe(&key);
	free(plain[0]);
	free(plain[1]);
	zonegen_free(m);
}

int main(void)
{
	char cmd[300];

	setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
	make_names();
	snprintf(dir, sizeof dir, "/tmp/mn-zonegen-XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	if (have_tools()) {
		test_mesh();
		test_cdn();
		test_xfr();
		bench_1000();
	}
	test_determinism();
	test_serial();
	test_file_names();
	if (!check_fail) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	} else {
		fprintf(stderr, "files kept in %s\n", dir);
	}
	return check_exit();
}
