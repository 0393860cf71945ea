/* mn_bench_expose: the C half of tools/bench-expose, over hacfg_render()
 * (src/expose/hacfg.h) and nothing else: no daemon.
 *
 *   mn_bench_expose gen [--routes N] [--hops H] [--runs K] [--dir DIR] [--cert-dir D]
 *     N routes (default 1000) as one node of the CDN sees them: a quarter
 *     each local HTTP, local TLS, HTTP and TLS one hop down over H next hops
 *     (default 50: children, and origins this node mirrors, which the
 *     renderer does not tell apart), one in fifty TCP (a port of its own);
 *     hop ports open to the parent and two mirrors; sorted by name like
 *     the daemon's. Rendered K times (default 9): median, min and max
 *     wall time of hacfg_render(), and the size of each file, as one JSON
 *     object. With --dir, the last rendering is written there (gen_dir and
 *     run_dir) for `haproxy -c`; --cert-dir sets expose_cert_dir (TLS for
 *     the local HTTP names ended here).
 *
 *   mn_bench_expose cascade DIR PORT NAME BACKEND
 *     The configurations of three nodes on loopback, each in DIR/<node>/:
 *       entry   public 127.0.0.1          NAME one hop down to 127.0.0.2
 *       middle  public and mesh 127.0.0.2 NAME one hop down to 127.0.0.3
 *       owner   public and mesh 127.0.0.3 NAME to BACKEND (HTTP), TLS ended
 *               with the PEM files in DIR/certs
 *     Ports: public HTTP PORT, public HTTPS PORT+1, hop HTTP PORT+2, hop TLS
 *     PORT+3 (each node on its own address, so the same numbers).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "src/expose/hacfg.h"
#include "tools/bench/benchutil.h"

typedef char addr_t[MN_MAX_ADDR + 1];

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct hacfg_route *)a)->name, ((const struct hacfg_route *)b)->name);
}

static void report(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "mn_bench_expose: skipped: %s\n", msg);
}

/* Write the files of one rendering into c->gen_dir. */
static int write_out(const struct hacfg *c, const struct hacfg_out *out)
{
	char p[HACFG_DIR_MAX + 32];

	for (int i = 0; i < HACFG_NFILES; i++) {
		snprintf(p, sizeof p, "%s/%s", c->gen_dir, hacfg_file_names[i]);
		FILE *f = fopen(p, "w");
		if (!f || fwrite(out->text[i], 1, out->len[i], f) != out->len[i] || fclose(f) != 0) {
			fprintf(stderr, "mn_bench_expose: cannot write %s\n", p);
			return -1;
		}
	}
	return 0;
}

static int render(const struct hacfg *c, struct hacfg_out *out)
{
	char msg[200];
	int rc = hacfg_render(c, out, report, NULL, msg, sizeof msg);

	if (rc < 0)
		fprintf(stderr, "mn_bench_expose: hacfg_render: %s\n", msg);
	return rc;
}

static void set_dirs(struct hacfg *c, const char *dir)
{
	snprintf(c->run_dir, sizeof c->run_dir, "%s", dir);
	snprintf(c->gen_dir, sizeof c->gen_dir, "%s", dir);
}

static int gen(int argc, char **argv)
{
	size_t n = 1000, nhops = 50, runs = 9;
	const char *dir = "/tmp/mn-bench-expose", *cert_dir = "";
	bool write = false;

	for (int i = 0; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v && !strcmp(argv[i], "--routes"))
			n = strtoul(v, NULL, 10);
		else if (v && !strcmp(argv[i], "--hops"))
			nhops = strtoul(v, NULL, 10);
		else if (v && !strcmp(argv[i], "--runs"))
			runs = strtoul(v, NULL, 10);
		else if (v && !strcmp(argv[i], "--dir"))
			dir = v, write = true;
		else if (v && !strcmp(argv[i], "--cert-dir"))
			cert_dir = v;
		else
			goto usage;
		i++;
	}
	if (n < 1 || n > 40000 || nhops < 1 || nhops > 4096 || runs < 1 || runs > 1000)
		goto usage;

	int rc = 1;
	struct hacfg_route *r = calloc(n, sizeof *r);
	addr_t *hops = calloc(nhops, sizeof *hops);
	const addr_t src[] = { "10.42.0.1", "10.42.7.1", "10.42.9.1" };   /* the parent, two mirrors */
	double *t = calloc(runs, sizeof *t);
	struct hacfg_out out = { 0 };
	if (!r || !hops || !t)
		goto out;
	for (size_t h = 0; h < nhops; h++)
		snprintf(hops[h], sizeof hops[h], "10.42.%zu.%zu", 1 + h / 250, 2 + h % 250);
	for (size_t i = 0; i < n; i++) {
		struct hacfg_route *x = &r[i];
		int kind = (int)(i % 4);             /* local http, local tls, hop http, hop tls */
		x->hop = kind < 2 ? -1 : (int)((i / 4) % nhops);
		x->proto = kind % 2 ? EXPOSE_TLS : EXPOSE_HTTP;
		if (i % 50 == 49) {                  /* one local, one down a hop */
			x->proto = EXPOSE_TCP;
			x->port = (uint16_t)(20000 + i);
		}
		snprintf(x->service, sizeof x->service, "s%zu", i);
		if (x->hop < 0) {
			snprintf(x->name, sizeof x->name, "s%zu.self.example.io", i);
			snprintf(x->backend, sizeof x->backend, "127.0.0.1:%zu", 1024 + i % 60000);
			if (x->proto == EXPOSE_HTTP && i % 40 == 0)
				snprintf(x->health, sizeof x->health, "/healthz");
		} else {
			snprintf(x->name, sizeof x->name, "s%zu.n%d.example.io", i, x->hop);
		}
	}
	qsort(r, n, sizeof *r, by_name);

	struct hacfg c = { .http_port = 80, .https_port = 443, .hop_http_port = 8480, .hop_tls_port = 8443,
			   .maxconn = 2000, .routes = r, .nroutes = n,
			   .hops = (const addr_t *)hops, .nhops = nhops, .hop_src = src, .nsrc = 3 };
	set_dirs(&c, dir);
	snprintf(c.public_addr, sizeof c.public_addr, "192.0.2.1");
	snprintf(c.mesh_addr, sizeof c.mesh_addr, "10.42.0.9");
	snprintf(c.cert_dir, sizeof c.cert_dir, "%s", cert_dir);
	snprintf(c.acme, sizeof c.acme, "127.0.0.1:8402");

	for (size_t k = 0; k < runs; k++) {
		hacfg_out_free(&out);
		double t0 = bench_now_ms();
		if (render(&c, &out) < 0)
			goto out;
		t[k] = bench_now_ms() - t0;
	}
	if (write && write_out(&c, &out) < 0)
		goto out;
	size_t total = 0;
	bench_sort(t, runs);
	printf("{\"routes\":%zu,\"hops\":%zu,\"runs\":%zu,\"written\":%u,\"skipped\":%u,"
	       "\"median_ms\":%.3f,\"min_ms\":%.3f,\"max_ms\":%.3f,\"bytes\":{",
	       n, nhops, runs, out.routes, out.skipped, t[runs / 2], t[0], t[runs - 1]);
	for (int i = 0; i < HACFG_NFILES; i++) {
		printf("%s\"%s\":%zu", i ? "," : "", hacfg_file_names[i], out.len[i]);
		total += out.len[i];
	}
	printf("},\"total_bytes\":%zu}\n", total);
	rc = 0;
out:
	hacfg_out_free(&out);
	free(r);
	free(hops);
	free(t);
	return rc;
usage:
	fprintf(stderr, "usage: mn_bench_expose gen [--routes 1..40000] [--hops 1..4096] [--runs 1..1000] "
		"[--dir DIR] [--cert-dir DIR]\n");
	return 2;
}

/* One node of the cascade: NAME served here (backend) or one hop down (next). */
static int node(const char *top, const char *who, const char *addr, bool mesh, unsigned port,
		const char *name, const char *backend, const char *next, const addr_t *src, size_t nsrc)
{
	struct hacfg_route r = { .proto = EXPOSE_HTTP, .hop = next ? 0 : -1 };
	addr_t hop;
	char dir[HACFG_DIR_MAX + 1];
	struct hacfg c = { .http_port = port, .https_port = port + 1, .hop_http_port = port + 2,
			   .hop_tls_port = port + 3, .maxconn = 4000, .routes = &r, .nroutes = 1,
			   .hops = (const addr_t *)&hop, .nhops = next ? 1 : 0, .hop_src = src, .nsrc = nsrc };
	struct hacfg_out out;

	snprintf(r.name, sizeof r.name, "%s", name);
	snprintf(r.service, sizeof r.service, "app");
	snprintf(hop, sizeof hop, "%s", next ? next : "");
	if (!next) {
		snprintf(r.backend, sizeof r.backend, "%s", backend);
		snprintf(c.cert_dir, sizeof c.cert_dir, "%s/certs", top);
	}
	snprintf(dir, sizeof dir, "%s/%s", top, who);
	set_dirs(&c, dir);
	snprintf(c.public_addr, sizeof c.public_addr, "%s", addr);
	if (mesh)
		snprintf(c.mesh_addr, sizeof c.mesh_addr, "%s", addr);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "mn_bench_expose: cannot make %s\n", dir);
		return -1;
	}
	if (render(&c, &out) < 0)
		return -1;
	int rc = out.routes == 1 ? write_out(&c, &out) : -1;
	hacfg_out_free(&out);
	return rc;
}

static int cascade(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: mn_bench_expose cascade DIR PORT NAME BACKEND\n");
		return 2;
	}
	const char *top = argv[0], *name = argv[2], *backend = argv[3];
	unsigned port = (unsigned)strtoul(argv[1], NULL, 10);
	/* hop ports take connections from the parent only; on loopback the
	 * kernel gives every connection the source 127.0.0.1 whatever node
	 * makes it, so 127.0.0.1 is in each list as well */
	const addr_t from_entry[] = { "127.0.0.1" }, from_middle[] = { "127.0.0.2", "127.0.0.1" };

	if (node(top, "entry", "127.0.0.1", false, port, name, NULL, "127.0.0.2", NULL, 0) < 0 ||
	    node(top, "middle", "127.0.0.2", true, port, name, NULL, "127.0.0.3", from_entry, 1) < 0 ||
	    node(top, "owner", "127.0.0.3", true, port, name, backend, NULL, from_middle, 2) < 0)
		return 1;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "gen"))
		return gen(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "cascade"))
		return cascade(argc - 2, argv + 2);
	fprintf(stderr, "usage: mn_bench_expose gen [...] | cascade DIR PORT NAME BACKEND\n");
	return 2;
}
