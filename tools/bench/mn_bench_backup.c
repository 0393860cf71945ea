/* mn_bench_backup: the measuring half of tools/bench-backup.
 *
 *   mn_bench_backup sink ADDR PORT SECONDS
 *       accept one TCP connection on ADDR:PORT, read until EOF, close;
 *       gives up after SECONDS (the listening socket is ready when
 *       "listening" is printed on stdout)
 *   mn_bench_backup source ADDR PORT BYTES SECONDS
 *       connect, write BYTES (zeros), shut the write side, wait for the
 *       sink to close (every byte read on the other side): one JSON object
 *       {bytes, ms, mib_s}; gives up after SECONDS
 *   mn_bench_backup job --api SOCK --job N [--pid NAME=PID]... [--reset-hwm]
 *                       [--ping SOCK2] [--seconds S] -- CMD ARGS...
 *       read the CPU time (utime + stime, /proc/PID/stat) of each PID, run
 *       CMD (mirrornetctl backup push/pull/restore) and poll the daemon's
 *       job N (backup_job) every 10 ms until it is done or failed: when
 *       each state was first seen, when all the bytes had gone or come
 *       (done_bytes = total_bytes), VmRSS of each PID at every poll (its
 *       maximum) and VmHWM at the end (--reset-hwm: cleared first through
 *       /proc/PID/clear_refs), each PID's CPU time spent, and CMD's own
 *       (wait4); the longest round trip of those calls, and with --ping
 *       of one call to SOCK2's daemon at each poll (how long each daemon's
 *       loop was busy at worst). One JSON object. Gives up after S seconds (default 600):
 *       CMD is then killed (it is our child).
 * Every wait is bounded; traffic goes where ADDR says (the bench's own
 * namespaces). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>
#include "src/apiclient/apiclient.h"
#include "tools/bench/benchutil.h"

#define MAXP 8
#define BUF (256 * 1024)

static int addr_of(const char *ip, const char *port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(port));
	return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -1;
}

/* Wait until fd is ready for ev or the deadline (ms on the bench clock). */
static int wait_fd(int fd, short ev, double deadline)
{
	struct pollfd p = { fd, ev, 0 };
	double left = deadline - bench_now_ms();

	if (left <= 0)
		return -1;
	return poll(&p, 1, (int)left + 1) > 0 ? 0 : -1;
}

static int sink(int argc, char **argv)
{
	struct sockaddr_in sa;
	int one = 1, ls, c;
	static char buf[BUF];

	if (argc != 5 || addr_of(argv[2], argv[3], &sa) < 0)
		return fprintf(stderr, "usage: mn_bench_backup sink ADDR PORT SECONDS\n"), 2;
	double deadline = bench_now_ms() + atof(argv[4]) * 1000;
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 1) < 0)
		return perror("sink: listen"), 1;
	printf("listening\n");
	fflush(stdout);
	if (wait_fd(ls, POLLIN, deadline) < 0 || (c = accept(ls, NULL, NULL)) < 0)
		return fprintf(stderr, "sink: no connection\n"), 1;
	close(ls);
	for (;;) {
		if (wait_fd(c, POLLIN, deadline) < 0)
			return fprintf(stderr, "sink: out of time\n"), 1;
		ssize_t r = read(c, buf, sizeof buf);
		if (r == 0)
			break;
		if (r < 0 && errno != EINTR && errno != EAGAIN)
			return perror("sink: read"), 1;
	}
	close(c);
	return 0;
}

static int source(int argc, char **argv)
{
	struct sockaddr_in sa;
	static char buf[BUF];
	int s;

	if (argc != 6 || addr_of(argv[2], argv[3], &sa) < 0)
		return fprintf(stderr, "usage: mn_bench_backup source ADDR PORT BYTES SECONDS\n"), 2;
	long long want = atoll(argv[4]), sent = 0;
	double deadline = bench_now_ms() + atof(argv[5]) * 1000;
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return perror("source: socket"), 1;
	/* the sink may not be listening yet: a few tries, bounded */
	double t0 = bench_now_ms();
	for (int tries = 0;; tries++) {
		int rc = connect(s, (struct sockaddr *)&sa, sizeof sa);
		if (rc == 0 || errno == EINPROGRESS) {
			int err = 0;
			socklen_t l = sizeof err;
			if (wait_fd(s, POLLOUT, deadline) == 0 &&
			    getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &l) == 0 && !err)
				break;
		}
		if (tries >= 50 || bench_now_ms() > deadline)
			return fprintf(stderr, "source: cannot connect\n"), 1;
		close(s);
		usleep(100000);
		s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	}
	t0 = bench_now_ms();
	while (sent < want) {
		if (wait_fd(s, POLLOUT, deadline) < 0)
			return fprintf(stderr, "source: out of time after %lld bytes\n", sent), 1;
		size_t n = want - sent < BUF ? (size_t)(want - sent) : BUF;
		ssize_t w = write(s, buf, n);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return perror("source: write"), 1;
		if (w > 0)
			sent += w;
	}
	shutdown(s, SHUT_WR);
	/* the sink closes once it has read everything */
	for (;;) {
		if (wait_fd(s, POLLIN, deadline) < 0)
			return fprintf(stderr, "source: the sink did not close\n"), 1;
		ssize_t r = read(s, buf, sizeof buf);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			break;
	}
	double ms = bench_now_ms() - t0;
	close(s);
	printf("{\"bytes\":%lld,\"ms\":%.1f,\"mib_s\":%.1f}\n", sent, ms, sent / 1048576.0 / (ms / 1000));
	return 0;
}

struct proc {
	const char *name;
	int pid;
	long long cpu0, cpu1;   /* clock ticks */
	long rss0, rss_max, hwm;
};

static long long cpu_ticks(int pid)
{
	char path[64], buf[1024];
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	char *p = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	/* after the command: state(3) ... utime(14) stime(15) */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

static long status_kib(int pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, field, n) && line[n] == ':')
			v = atol(line + n + 1);
	fclose(f);
	return v;
}

static const char *job_state(const char *sock, long long id, struct json_object **resp)
{
	struct json_object *r = json_object_new_object(), *res, *st;

	json_object_object_add(r, "cmd", json_object_new_string("backup_job"));
	json_object_object_add(r, "job", json_object_new_int64(id));
	*resp = NULL;
	int rc = apiclient_call_once(sock, r, resp);
	json_object_put(r);
	if (rc < 0 || !(res = apiclient_result(*resp)) || !json_object_object_get_ex(res, "state", &st))
		return NULL;
	return json_object_get_string(st);
}

static int job(int argc, char **argv)
{
	const char *sock = NULL, *ping = NULL;
	long long id = 0;
	double secs = 600;
	bool reset = false;
	struct proc p[MAXP];
	int np = 0, i;
	long tick = sysconf(_SC_CLK_TCK);

	for (i = 2; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--api") && i + 1 < argc)
			sock = argv[++i];
		else if (!strcmp(argv[i], "--job") && i + 1 < argc)
			id = atoll(argv[++i]);
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			secs = atof(argv[++i]);
		else if (!strcmp(argv[i], "--ping") && i + 1 < argc)
			ping = argv[++i];
		else if (!strcmp(argv[i], "--reset-hwm"))
			reset = true;
		else if (!strcmp(argv[i], "--pid") && i + 1 < argc && np < MAXP && strchr(argv[i + 1], '=')) {
			char *eq = strchr(argv[++i], '=');
			*eq = 0;
			memset(&p[np], 0, sizeof p[np]);
			p[np].name = argv[i];
			p[np++].pid = atoi(eq + 1);
		} else
			break;
	}
	if (!sock || id <= 0 || i + 1 >= argc || strcmp(argv[i], "--"))
		return fprintf(stderr, "usage: mn_bench_backup job --api SOCK --job N [--pid NAME=PID]... "
				       "[--reset-hwm] [--ping SOCK2] [--seconds S] -- CMD ARGS...\n"), 2;
	char **cmd = argv + i + 1;
	for (i = 0; i < np; i++) {
		if (reset) {
			char path[64];
			snprintf(path, sizeof path, "/proc/%d/clear_refs", p[i].pid);
			FILE *f = fopen(path, "w");
			if (f) {
				fputs("5", f);   /* resets the peak RSS (VmHWM) to the current RSS */
				fclose(f);
			}
		}
		p[i].rss0 = p[i].rss_max = status_kib(p[i].pid, "VmRSS");
		p[i].cpu0 = cpu_ticks(p[i].pid);
	}
	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	double t0 = bench_now_ms(), deadline = t0 + secs * 1000;
	pid_t child = fork();
	if (child < 0)
		return perror("fork"), 1;
	if (child == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 2);   /* its progress lines */
		dup2(null, 1);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	/* the states in the order a job goes through them, and when each was first seen */
	static const char *const names[] = { "encrypting", "sending", "fetching", "decrypting", "done", "failed" };
	double seen[6] = { -1, -1, -1, -1, -1, -1 };
	char last[64] = "", error[256] = "";
	long long total = 0, polls = 0;
	double all_bytes = -1;
	double rtt_max = 0, ping_max = 0;   /* the longest API round trips: the daemons' loops busy */   /* when done_bytes first reached total_bytes while sending or fetching */
	int status = -1, crc = -1;
	bool child_done = false;
	struct rusage cru;
	double child_ms = -1;

	memset(&cru, 0, sizeof cru);
	while (bench_now_ms() < deadline) {
		struct json_object *resp, *res, *v;
		double a = bench_now_ms();
		const char *st = job_state(sock, id, &resp);
		double now = bench_now_ms() - t0;
		if (now + t0 - a > rtt_max)
			rtt_max = now + t0 - a;
		if (ping) {
			struct json_object *pr;
			a = bench_now_ms();
			job_state(ping, 0, &pr);
			json_object_put(pr);
			if (bench_now_ms() - a > ping_max)
				ping_max = bench_now_ms() - a;
		}
		polls++;
		if (st) {
			snprintf(last, sizeof last, "%s", st);
			for (int k = 0; k < 6; k++)
				if (!strcmp(st, names[k]) && seen[k] < 0)
					seen[k] = now;
			res = apiclient_result(resp);
			if (json_object_object_get_ex(res, "total_bytes", &v) && json_object_get_int64(v) > total)
				total = json_object_get_int64(v);
			if ((!strcmp(st, "sending") || !strcmp(st, "fetching")) && all_bytes < 0 &&
			    json_object_object_get_ex(res, "done_bytes", &v) && json_object_get_int64(v) > 0 &&
			    json_object_get_int64(v) >= total)
				all_bytes = now;
			if (json_object_object_get_ex(res, "error", &v))
				snprintf(error, sizeof error, "%s", json_object_get_string(v));
		}
		json_object_put(resp);
		for (i = 0; i < np; i++) {
			long r = status_kib(p[i].pid, "VmRSS");
			if (r > p[i].rss_max)
				p[i].rss_max = r;
		}
		if (!child_done && wait4(child, &status, WNOHANG, &cru) == child) {
			child_done = true;
			child_ms = bench_now_ms() - t0;
			crc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		if (st && (!strcmp(st, "done") || !strcmp(st, "failed")))
			break;
		if (!st && child_done && (crc != 0 || bench_now_ms() - t0 > child_ms + 3000))
			break;   /* the CLI failed before the job was made, or job N is not its job */
		usleep(10000);
	}
	double end = bench_now_ms() - t0;
	for (i = 0; i < np; i++) {
		p[i].cpu1 = cpu_ticks(p[i].pid);
		p[i].hwm = status_kib(p[i].pid, "VmHWM");
	}
	getrusage(RUSAGE_SELF, &ru1);
	/* the CLI notices the end at its next poll (200 ms); bounded */
	while (!child_done && bench_now_ms() < deadline + 2000) {
		if (wait4(child, &status, WNOHANG, &cru) == child) {
			child_done = true;
			child_ms = bench_now_ms() - t0;
			crc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			break;
		}
		usleep(5000);
	}
	if (!child_done) {
		kill(child, SIGKILL);
		wait4(child, &status, 0, &cru);
	}
#define TV_MS(tv) ((tv).tv_sec * 1e3 + (tv).tv_usec / 1e3)
	struct json_object *o = json_object_new_object(), *ph = json_object_new_object(),
			   *procs = json_object_new_object();
	json_object_object_add(o, "state", json_object_new_string(last));
	if (error[0])
		json_object_object_add(o, "error", json_object_new_string(error));
	json_object_object_add(o, "ms", json_object_new_double(end));
	json_object_object_add(o, "total_bytes", json_object_new_int64(total));
	/* a phase lasts from its state's first sight to the next state's */
	for (int k = 0; k < 4; k++) {   /* not done or failed: the end */
		if (seen[k] < 0)
			continue;
		double next = end;
		for (int m = k + 1; m < 6; m++)
			if (seen[m] >= 0) {
				next = seen[m];
				break;
			}
		json_object_object_add(ph, names[k], json_object_new_double(next - seen[k]));
	}
	json_object_object_add(o, "phases_ms", ph);
	/* the transfer phase split: until the last byte went (pushing) or came
	 * (pulling), then what follows it (fsync, the hash, the receipt) */
	if (all_bytes >= 0) {
		double next = end;
		for (int k = 3; k < 6; k++)
			if (seen[k] > all_bytes) {
				next = seen[k];
				break;
			}
		json_object_object_add(o, "last_byte_ms", json_object_new_double(all_bytes));
		json_object_object_add(o, "after_last_byte_ms", json_object_new_double(next - all_bytes));
	}
	json_object_object_add(o, "polls", json_object_new_int64(polls));
	json_object_object_add(o, "api_max_ms", json_object_new_double(rtt_max));
	if (ping)
		json_object_object_add(o, "ping_max_ms", json_object_new_double(ping_max));
	json_object_object_add(o, "cli_rc", json_object_new_int(crc));
	json_object_object_add(o, "cli_ms", json_object_new_double(child_ms));
	json_object_object_add(o, "cli_cpu_ms", json_object_new_double(TV_MS(cru.ru_utime) + TV_MS(cru.ru_stime)));
	json_object_object_add(o, "poller_cpu_ms",
			       json_object_new_double(TV_MS(ru1.ru_utime) + TV_MS(ru1.ru_stime) -
						      TV_MS(ru0.ru_utime) - TV_MS(ru0.ru_stime)));
	for (i = 0; i < np; i++) {
		struct json_object *q = json_object_new_object();
		json_object_object_add(q, "pid", json_object_new_int(p[i].pid));
		json_object_object_add(q, "cpu_ms", json_object_new_double(
			p[i].cpu0 < 0 || p[i].cpu1 < 0 ? -1 : (p[i].cpu1 - p[i].cpu0) * 1000.0 / tick));
		json_object_object_add(q, "rss_kib_before", json_object_new_int64(p[i].rss0));
		json_object_object_add(q, "rss_kib_max", json_object_new_int64(p[i].rss_max));
		json_object_object_add(q, "hwm_kib", json_object_new_int64(p[i].hwm));
		json_object_object_add(procs, p[i].name, q);
	}
	json_object_object_add(o, "procs", procs);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return strcmp(last, "done") ? 1 : 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && !strcmp(argv[1], "sink"))
		return sink(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "source"))
		return source(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "job"))
		return job(argc, argv);
	fprintf(stderr, "usage: mn_bench_backup sink|source|job ...\n");
	return 2;
}
