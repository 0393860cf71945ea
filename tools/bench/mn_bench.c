/* mn_bench: the measuring half of tools/bench-mesh. Given the API sockets
 * (and PIDs) of running daemons: subscribe on all, publish one record on
 * the first, time its arrival everywhere; then an idle window and a burst
 * of B records, each with the daemons' CPU (/proc/PID/stat) and the
 * IP-level bytes an nftables counter saw (--nft TABLE: bench-mesh's own
 * table, counting the daemons' ports on loopback), so that the burst's
 * figures have the idle rate subtracted; RSS; and with --kill PID --did DID
 * (the last socket's daemon) the time until every other daemon lists it
 * dead after a SIGKILL. Prints one JSON object. Bounded: every wait has a
 * deadline. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "src/apiclient/apiclient.h"
#include "tools/bench/benchutil.h"

#define MAXN 512

static struct json_object *req(const char *cmd)
{
	struct json_object *r = json_object_new_object();
	json_object_object_add(r, "cmd", json_object_new_string(cmd));
	return r;
}

static long long bytes_out(const char *path)
{
	long long v = -1;
	struct json_object *r = req("status"), *resp, *res, *cn, *b;

	if (apiclient_call_once(path, r, &resp) == 0 && (res = apiclient_result(resp)) &&
	    json_object_object_get_ex(res, "counters", &cn) &&
	    json_object_object_get_ex(cn, "bytes_out", &b))
		v = json_object_get_int64(b);
	json_object_put(r);
	json_object_put(resp);
	return v;
}

static void proc_usage(int pid, long *rss_kib, double *cpu_s)
{
	char path[64], line[256];
	FILE *f;

	*rss_kib = 0;
	*cpu_s = 0;
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	if ((f = fopen(path, "r"))) {
		while (fgets(line, sizeof line, f))
			if (!strncmp(line, "VmRSS:", 6))
				*rss_kib = atol(line + 6);
		fclose(f);
	}
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if ((f = fopen(path, "r"))) {
		unsigned long ut = 0, st = 0;
		char buf[1024];
		if (fgets(buf, sizeof buf, f)) {
			char *p = strrchr(buf, ')');
			/* fields after the command: state(3) ... utime(14) stime(15) */
			if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
				*cpu_s = (double)(ut + st) / 100.0;
		}
		fclose(f);
	}
}

/* Bytes counted so far by the counter "mn" of nftables table `inet
 * TABLE` (-1: no table, or nft failed). */
static long long nft_bytes(const char *table)
{
	char cmd[160], line[256];
	long long v = -1;
	FILE *f;

	if (!table)
		return -1;
	snprintf(cmd, sizeof cmd, "nft list counter inet %s mn 2>/dev/null", table);
	if (!(f = popen(cmd, "r")))
		return -1;
	while (fgets(line, sizeof line, f)) {
		const char *b = strstr(line, "bytes ");
		if (b)
			v = atoll(b + 6);
	}
	pclose(f);
	return v;
}

/* The daemons' CPU time so far, all of them, in seconds; with their RSS
 * summed and the largest, when asked for. */
static double usage_all(const int *pids, int np, long *rss_sum, long *rss_max)
{
	double cpu = 0;
	long sum = 0, max = 0;

	for (int i = 0; i < np; i++) {
		long r;
		double c;
		proc_usage(pids[i], &r, &c);
		sum += r;
		max = r > max ? r : max;
		cpu += c;
	}
	if (rss_sum)
		*rss_sum = sum;
	if (rss_max)
		*rss_max = max;
	return cpu;
}

static double cpu_all(const int *pids, int np)
{
	return usage_all(pids, np, NULL, NULL);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Does the daemon at `sock` list the member `did` as dead? */
static bool says_dead(const char *sock, const char *did)
{
	struct json_object *r = req("peers"), *resp = NULL, *res;
	bool dead = false;

	if (apiclient_call_once(sock, r, &resp) == 0 && (res = apiclient_result(resp)) &&
	    json_object_is_type(res, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(res); i++) {
			struct json_object *p = json_object_array_get_idx(res, i), *d, *st;
			if (json_object_object_get_ex(p, "did", &d) &&
			    !strcmp(json_object_get_string(d), did) &&
			    json_object_object_get_ex(p, "state", &st))
				dead = !strcmp(json_object_get_string(st), "dead");
		}
	}
	json_object_put(r);
	json_object_put(resp);
	return dead;
}

/* SIGKILL the daemon `pid` and poll the others (socks[0..n-1]) until each
 * lists `did` as dead, or 60 s. det[i] gets each one's time (-1: never);
 * returns the slowest (-1 if one never did). `silence`, if not NULL, is a
 * shell command run just before the kill (bench-mesh --silent: nftables
 * drops everything to and from the victim, as when its host loses power:
 * no FIN, no RST, no port unreachable). */
static double detect(int pid, const char *did, const char **socks, int n, double *det,
		     const char *silence)
{
	double t0, worst = 0;
	int left = n;

	for (int i = 0; i < n; i++)
		det[i] = -1;
	if (silence && system(silence) != 0)
		return -1;
	t0 = bench_now_ms();
	if (kill(pid, SIGKILL) < 0)
		return -1;
	while (left && bench_now_ms() < t0 + 60000) {
		for (int i = 0; i < n; i++)
			if (det[i] < 0 && says_dead(socks[i], did)) {
				det[i] = bench_now_ms() - t0;
				left--;
			}
		sleep_ms(50);
	}
	for (int i = 0; i < n; i++)
		worst = det[i] < 0 || worst < 0 ? -1 : (det[i] > worst ? det[i] : worst);
	return worst;
}

static int publish(struct apiclient *c, const char *key)
{
	struct json_object *r = req("publish"), *body = json_object_new_object();

	json_object_object_add(r, "kind", json_object_new_string("svc"));
	json_object_object_add(r, "key", json_object_new_string(key));
	json_object_object_add(body, "service", json_object_new_string("bench"));
	json_object_object_add(body, "endpoint", json_object_new_string("bench.example.io:443"));
	json_object_object_add(r, "body", body);
	int rc = apiclient_send(c, r);
	json_object_put(r);
	return rc;
}

/* Read events on every subscription until `want` keys with the prefix have
 * arrived on each (seen[i] counts), or the deadline. arrival[i] gets the
 * time the first one came. */
static bool wait_events(struct apiclient *subs, int n, const char *prefix, int want, int *seen,
			double t0, double *arrival, double deadline)
{
	struct pollfd pfd[MAXN];

	for (;;) {
		int done = 0;
		for (int i = 0; i < n; i++)
			done += seen[i] >= want;
		if (done == n)
			return true;
		if (bench_now_ms() > deadline)
			return false;
		for (int i = 0; i < n; i++) {
			pfd[i].fd = subs[i].fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		if (poll(pfd, (nfds_t)n, 100) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			char *line;
			while (apiclient_line(&subs[i], &line, 0) == 1) {
				struct json_object *ev = apiclient_parse(line), *rec, *key;
				if (ev && json_object_object_get_ex(ev, "record", &rec) &&
				    json_object_object_get_ex(rec, "key", &key) &&
				    !strncmp(json_object_get_string(key), prefix, strlen(prefix))) {
					if (seen[i]++ == 0 && arrival)
						arrival[i] = bench_now_ms() - t0;
				}
				json_object_put(ev);
				if (subs[i].start == subs[i].len)   /* no more buffered */
					break;
			}
		}
	}
}

int main(int argc, char **argv)
{
	const char *socks[MAXN];
	int pids[MAXN], n = 0, np = 0, burst = 100, idle_ms = 3000, victim = 0;
	const char *table = NULL, *victim_did = NULL, *silence = NULL;
	static struct apiclient subs[MAXN];
	struct apiclient pub;
	char *line;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pid") && i + 1 < argc && np < MAXN)
			pids[np++] = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--burst") && i + 1 < argc)
			burst = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--nft") && i + 1 < argc)
			table = argv[++i];
		else if (!strcmp(argv[i], "--idle-ms") && i + 1 < argc)
			idle_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--kill") && i + 1 < argc)
			victim = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--did") && i + 1 < argc)
			victim_did = argv[++i];
		else if (!strcmp(argv[i], "--silence") && i + 1 < argc)
			silence = argv[++i];
		else if (n < MAXN)
			socks[n++] = argv[i];
	}
	if (idle_ms < 500)
		idle_ms = 500;
	if (n < 2 || burst < 1 || burst > 10000) {
		fprintf(stderr, "usage: mn_bench [--burst B] [--pid PID]... SOCKET SOCKET...\n");
		return 2;
	}
	for (int i = 0; i < n; i++) {
		if (apiclient_open(&subs[i], socks[i]) < 0) {
			fprintf(stderr, "mn_bench: cannot connect to %s\n", socks[i]);
			return 1;
		}
		struct json_object *r = req("subscribe"), *k = json_object_new_array();
		json_object_array_add(k, json_object_new_string("svc"));
		json_object_object_add(r, "kinds", k);
		struct json_object *resp;
		int rc = apiclient_call(&subs[i], r, &resp);
		json_object_put(r);
		if (rc < 0 || !apiclient_ok(resp)) {
			fprintf(stderr, "mn_bench: subscribe failed on %s\n", socks[i]);
			return 1;
		}
		json_object_put(resp);
	}
	if (apiclient_open(&pub, socks[0]) < 0)
		return 1;
	long long b0 = 0;
	for (int i = 0; i < n; i++)
		b0 += bytes_out(socks[i]);

	/* one record */
	static int seen[MAXN];
	static double arrival[MAXN];
	char tag[32];
	snprintf(tag, sizeof tag, "b%ld-", (long)time(NULL));
	char key[160];
	snprintf(key, sizeof key, "%sone", tag);
	double t0 = bench_now_ms();
	publish(&pub, key);
	apiclient_line(&pub, &line, APICLIENT_TIMEOUT_MS);   /* its answer */
	bool all1 = wait_events(subs, n, key, 1, seen, t0, arrival, t0 + 30000);
	double lat[MAXN];
	int nl = 0;
	for (int i = 1; i < n; i++)
		if (seen[i])
			lat[nl++] = arrival[i];
	bench_sort(lat, (size_t)nl);

	/* an idle window: the rates the burst's figures are net of */
	double ti = bench_now_ms(), ci = cpu_all(pids, np);
	long long ni = nft_bytes(table);
	sleep_ms(idle_ms);
	double idle_s = (bench_now_ms() - ti) / 1000;
	double idle_cpu_per_s = (cpu_all(pids, np) - ci) / idle_s;
	double idle_bytes_per_s = (double)(nft_bytes(table) - ni) / idle_s;

	/* a burst */
	char bprefix[64];
	snprintf(bprefix, sizeof bprefix, "%sburst-", tag);
	memset(seen, 0, sizeof seen);
	double c1 = cpu_all(pids, np);
	long long n1 = nft_bytes(table);
	double t1 = bench_now_ms();
	for (int j = 0; j < burst; j++) {
		snprintf(key, sizeof key, "%s%d", bprefix, j);
		publish(&pub, key);
	}
	for (int j = 0; j < burst; j++)
		apiclient_line(&pub, &line, APICLIENT_TIMEOUT_MS);
	bool allb = wait_events(subs, n, bprefix, burst, seen, t1, NULL, t1 + 60000);
	double burst_ms = bench_now_ms() - t1;
	/* let the last gossip settle before reading the byte counters */
	struct timespec ts = { 1, 0 };
	nanosleep(&ts, NULL);
	double win_s = (bench_now_ms() - t1) / 1000;
	double cpu_burst = cpu_all(pids, np) - c1 - idle_cpu_per_s * win_s;
	double ip_burst = (double)(nft_bytes(table) - n1) - idle_bytes_per_s * win_s;
	long long bdeliv = (long long)(n - 1) * burst;
	long long b1 = 0;
	for (int i = 0; i < n; i++)
		b1 += bytes_out(socks[i]);
	long long deliveries = (long long)(n - 1) * (burst + 1);

	long rss_sum, rss_max;
	double cpu = usage_all(pids, np, &rss_sum, &rss_max);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "n", json_object_new_int(n));
	json_object_object_add(o, "delivered_all", json_object_new_boolean(all1 && allb));
	json_object_object_add(o, "t50_ms", json_object_new_double(nl ? lat[nl / 2] : -1));
	json_object_object_add(o, "t99_ms", json_object_new_double(nl ? lat[(nl * 99) / 100 < nl ? (nl * 99) / 100 : nl - 1] : -1));
	json_object_object_add(o, "tmax_ms", json_object_new_double(nl ? lat[nl - 1] : -1));
	json_object_object_add(o, "burst", json_object_new_int(burst));
	json_object_object_add(o, "burst_all_ms", json_object_new_double(allb ? burst_ms : -1));
	json_object_object_add(o, "bytes_per_delivery",
			       json_object_new_double(deliveries ? (double)(b1 - b0) / (double)deliveries : 0));
	json_object_object_add(o, "rss_kib_mean", json_object_new_int64(np ? rss_sum / np : 0));
	json_object_object_add(o, "rss_kib_max", json_object_new_int64(rss_max));
	json_object_object_add(o, "cpu_s", json_object_new_double(cpu));
	json_object_object_add(o, "idle_cpu_ms_per_s", json_object_new_double(idle_cpu_per_s * 1000));
	json_object_object_add(o, "burst_window_ms", json_object_new_double(win_s * 1000));
	json_object_object_add(o, "cpu_ms_per_delivery",
			       json_object_new_double(allb ? cpu_burst * 1000 / (double)bdeliv : -1));
	if (table && ni >= 0) {
		json_object_object_add(o, "idle_kbit_s_per_node",
				       json_object_new_double(idle_bytes_per_s * 8 / 1000 / n));
		json_object_object_add(o, "ip_bytes_per_delivery",
				       json_object_new_double(allb ? ip_burst / (double)bdeliv : -1));
	}
	if (victim && victim_did) {
		/* the victim is the last socket's daemon; the others watch */
		static double det[MAXN];
		double worst = detect(victim, victim_did, socks, n - 1, det, silence);
		bench_sort(det, (size_t)(n - 1));
		json_object_object_add(o, "detect_first_ms", json_object_new_double(det[0]));
		json_object_object_add(o, "detect_p50_ms", json_object_new_double(det[(n - 1) / 2]));
		json_object_object_add(o, "detect_all_ms", json_object_new_double(worst));
	}
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	for (int i = 0; i < n; i++)
		apiclient_close(&subs[i]);
	apiclient_close(&pub);
	return all1 && allb ? 0 : 1;
}
