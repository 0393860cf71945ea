/* The ACME driver of the exposure subsystem (expose_acme.h, docs/expose.md).
 *
 * State per certificate (an item: a name, or a zone's wildcard):
 *   missing / renew  → due: a run starts when none runs and its backoff
 *                      has passed
 *   running          → lego as a child process (uv_spawn, no shell), its
 *                      output appended to DIR/lego.log, killed after
 *                      ACME_RUN_TIMEOUT_MS
 *   exit 0           → lego's certificate and key (DIR/certificates/) are
 *                      checked (a certificate whose notAfter parses, a
 *                      key) and written as one file into the certificate
 *                      directory (temp + fsync + rename, 0600): valid; the
 *                      subsystem is told (it regenerates, checks with
 *                      haproxy -c and reloads)
 *   failure          → counted, its last error line kept, retried after
 *                      acme_backoff_ms(failures); the installed file (if
 *                      any) stays as it was
 * A valid certificate becomes due 30 days before its notAfter, read from
 * the installed file at every update (so a file replaced by hand counts).
 * One timer wakes the driver when the next item is due (at most 12 h).
 *
 * Secrets: the TSIG secret reaches lego as a file (RFC2136_TSIG_SECRET_FILE,
 * 0600), never on a command line or in the log; lego's account key and
 * the certificates' keys stay in DIR (0700) and the certificate directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "src/daemon/expose_acme.h"
#include "src/expose/hacfg.h"
#include "src/putfile.h"
#include "src/log.h"
#include "src/body_json.h"

#define ACME_MAX_ITEMS 64
#define ACME_MAX_WAKE_MS (12ull * 3600 * 1000)
#define ACME_LOG_MAX (1u << 20)     /* lego.log rotated to lego.log.1 beyond */
#define ACME_PEM_MAX 32768
#define ACME_SETTLE_MS 3000         /* a new name: its routes reach the entry points first */

struct acme_item {
	char name[MN_MAX_DOMAIN + 1];
	bool wildcard;
	int64_t not_after;      /* of the installed certificate, 0 none */
	unsigned failures;      /* in a row */
	uint64_t next_ms;       /* no run before (backoff) */
	char last_error[240];
};

struct acme {
	struct mn_host *h;
	void (*changed)(void *arg);
	void *arg;
	struct acme_conf c;     /* a copy: the config may be reloaded meanwhile */
	char cert_dir[HACFG_DIR_MAX + 1];
	char answerer[MN_MAX_ENDPOINT + 1];
	struct acme_item items[ACME_MAX_ITEMS];
	size_t n;
	unsigned dropped;       /* names beyond ACME_MAX_ITEMS */
	uv_timer_t wake, limit;
	uv_process_t proc;
	bool handles, running, closing;
	char cur[MN_MAX_DOMAIN + 1];   /* the running item */
	bool cur_wild;
	uint64_t start_ns;
	unsigned runs, issued, failures, installs;
	uint64_t last_run_ms;   /* how long the last successful run took */
	char last_error[300];
};

/* ---- option checks ---- */

#define BAD(...) do { snprintf(msg, cap, __VA_ARGS__); return -EINVAL; } while (0)
/* Would lego's command line take this server URL and e-mail address? */
static bool job_takes(const char *server, const char *email)
{
	struct acme_job j = { .lego = "/x", .server = server, .email = email, .path = "/x",
			      .http_addr = "127.0.0.1:1", .name = "a" };
	char buf[512], *argv[ACME_MAX_ARGS];

	return acme_lego_argv(&j, buf, sizeof buf, argv, ACME_MAX_ARGS) >= 0;
}

int acme_check_url(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!job_takes(val, ""))
		BAD("expose_acme_server: an http(s):// URL of an ACME directory, at most 199 bytes");
	return 0;
}

int acme_check_email(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!job_takes("https://x", val))
		BAD("expose_acme_email: an e-mail address of [A-Za-z0-9._%%+-@], at most 95 bytes");
	return 0;
}

int acme_check_path(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!conf_path_ok(val) || strlen(val) > 127 || !strcmp(val, "/"))
		BAD("an absolute path of [A-Za-z0-9._+-/], at most 127 bytes");
	return 0;
}

int acme_check_hostport(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!hacfg_backend_ok(val) || strlen(val) > 63)
		BAD("an ip:port such as 10.42.0.3:53");
	return 0;
}
#undef BAD

bool acme_enabled(const struct acme_conf *c)
{
	return c->server[0] != 0;
}

bool acme_dir_has_certs(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool any = false;

	if (!d)
		return false;
	while (!any && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		struct stat st;
		char p[HACFG_DIR_MAX + MN_MAX_DOMAIN + 32];
		if (e->d_name[0] == '.' || n < 5 || strcmp(e->d_name + n - 4, ".pem"))
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		any = stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
	}
	closedir(d);
	return any;
}

/* ---- files ---- */

/* A small file, NUL-terminated: its length, or a negative errno. */
static long read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t n = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap - 1) {
			close(fd);
			return -EFBIG;
		}
	}
	close(fd);
	buf[n] = 0;
	return (long)n;
}

static int64_t installed_not_after(const struct acme *a, const struct acme_item *it)
{
	char file[ACME_FILE_MAX], path[HACFG_DIR_MAX + ACME_FILE_MAX + 2];
	char *pem = malloc(ACME_PEM_MAX);
	int64_t t = 0;

	if (!pem || acme_cert_file(it->name, it->wildcard, file, sizeof file) < 0) {
		free(pem);
		return 0;
	}
	snprintf(path, sizeof path, "%s/%s", a->cert_dir, file);
	long n = read_small(path, pem, ACME_PEM_MAX);
	if (n > 0 && acme_pem_not_after(pem, (size_t)n, &t) < 0)
		t = 0;
	free(pem);
	return t;
}

/* lego's result for the running item into the certificate directory. */
static int install(struct acme *a, struct acme_item *it, char *err, size_t cap)
{
	char crt[MN_MAX_DOMAIN + 32], key[MN_MAX_DOMAIN + 32], file[ACME_FILE_MAX];
	char path[512], out[HACFG_DIR_MAX + ACME_FILE_MAX + 2];
	char *pem = malloc(2 * ACME_PEM_MAX);
	int64_t t;
	int rc;

	if (!pem)
		return -ENOMEM;
	if (acme_lego_files(it->name, crt, key, sizeof crt) < 0 ||
	    acme_cert_file(it->name, it->wildcard, file, sizeof file) < 0) {
		free(pem);
		return -EINVAL;
	}
	snprintf(path, sizeof path, "%s/%s", a->c.dir, crt);
	long nc = read_small(path, pem, ACME_PEM_MAX);
	if (nc <= 0 || acme_pem_not_after(pem, (size_t)nc, &t) < 0) {
		snprintf(err, cap, "lego left no readable certificate in %.180s", path);
		free(pem);
		return -EINVAL;
	}
	if (pem[nc - 1] != '\n')
		pem[nc++] = '\n';
	snprintf(path, sizeof path, "%s/%s", a->c.dir, key);
	long nk = read_small(path, pem + nc, ACME_PEM_MAX);
	if (nk <= 0 || !acme_pem_has_key(pem + nc, (size_t)nk)) {
		snprintf(err, cap, "lego left no private key in %.180s", path);
		free(pem);
		return -EINVAL;
	}
	if ((rc = file_mkdirs(a->cert_dir, 0700)) < 0) {
		snprintf(err, cap, "%s: %s", a->cert_dir, strerror(-rc));
		free(pem);
		return rc;
	}
	snprintf(out, sizeof out, "%s/%s", a->cert_dir, file);
	rc = file_write(out, pem, (size_t)(nc + nk), 0600);
	free(pem);
	if (rc < 0) {
		snprintf(err, cap, "%.180s: %s", out, strerror(-rc));
		return rc;
	}
	it->not_after = t;
	return 0;
}

/* The last line of the run's log that says what went wrong (lego prints
 * no secrets: the TSIG key travels in a file). */
static void log_error_line(const struct acme *a, char *out, size_t cap)
{
	char path[256], line[512];
	FILE *f;

	out[0] = 0;
	snprintf(path, sizeof path, "%s/lego.log", a->c.dir);
	if (!(f = fopen(path, "r")))
		return;
	/* the end of the log is enough (the run appended last) */
	long size;
	if (fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 ||
	    fseek(f, size > 16384 ? size - 16384 : 0, SEEK_SET) < 0) {
		fclose(f);
		return;
	}
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (!strncmp(line, "=== ", 4))
			out[0] = 0;   /* a run's header: only this run's lines count */
		else if (strstr(line, "rror") || strstr(line, "Could not"))
			snprintf(out, cap, "%.*s", (int)(cap - 1), line + strspn(line, " \t"));
	}
	fclose(f);
}

/* ---- running lego ---- */

static void schedule(struct acme *a);

static struct acme_item *find_item(struct acme *a, const char *name, bool wild)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->items[i].wildcard == wild && !strcmp(a->items[i].name, name))
			return &a->items[i];
	return NULL;
}

static void fail(struct acme *a, struct acme_item *it, const char *why)
{
	a->failures++;
	snprintf(a->last_error, sizeof a->last_error, "%s%s: %s", it ? it->wildcard ? "*." : "" : "",
		 it ? it->name : "acme", why);
	log_warn("expose: acme: %s", a->last_error);
	if (!it)
		return;
	it->failures++;
	it->next_ms = host_now_ms(a->h) + acme_backoff_ms(it->failures);
	snprintf(it->last_error, sizeof it->last_error, "%s", why);
}

static void proc_closed(uv_handle_t *hd)
{
	struct acme *a = hd->data;

	a->running = false;
	if (!a->closing)
		schedule(a);
}

static void lego_exit(uv_process_t *p, int64_t status, int sig)
{
	struct acme *a = p->data;
	struct acme_item *it = find_item(a, a->cur, a->cur_wild);
	char why[240], line[200];

	uv_timer_stop(&a->limit);
	if (it && status == 0 && sig == 0) {
		if (install(a, it, why, sizeof why) == 0) {
			it->failures = 0;
			it->next_ms = 0;
			it->last_error[0] = 0;
			a->issued++;
			a->installs++;
			a->last_run_ms = (uv_hrtime() - a->start_ns) / 1000000;
			log_info("expose: acme: certificate for %s%s installed (%llu ms)",
				 it->wildcard ? "*." : "", it->name, (unsigned long long)a->last_run_ms);
			if (a->changed && !a->closing)
				a->changed(a->arg);
		} else {
			fail(a, it, why);
		}
	} else if (it) {
		log_error_line(a, line, sizeof line);
		if (sig)
			snprintf(why, sizeof why, "lego killed by signal %d%s%s", sig,
				 sig == SIGKILL ? " (run time limit)" : "", line[0] ? ": " : "");
		else
			snprintf(why, sizeof why, "lego exit status %lld%s", (long long)status,
				 line[0] ? ": " : "");
		snprintf(why + strlen(why), sizeof why - strlen(why), "%s", line);
		fail(a, it, why);
	}
	uv_close((uv_handle_t *)p, proc_closed);
}

static void on_limit(uv_timer_t *t)
{
	struct acme *a = t->data;

	if (a->running)
		uv_process_kill(&a->proc, SIGKILL);
}

/* The TSIG key file (Vortex's dns_acme_key: "hmac-sha256:NAME:SECRET"
 * on one line) into its parts; the secret goes to a file of its own for
 * lego (RFC2136_TSIG_SECRET_FILE). */
static int tsig_prepare(struct acme *a, char *alg, char *name, size_t cap, char *secret_path,
			size_t pcap, char *err, size_t ecap)
{
	char buf[512];
	long n = read_small(a->c.tsig, buf, sizeof buf);

	if (n <= 0) {
		snprintf(err, ecap, "TSIG key %s: %s", a->c.tsig, n < 0 ? strerror((int)-n) : "empty");
		return -EINVAL;
	}
	buf[strcspn(buf, "\n")] = 0;
	char *c1 = strchr(buf, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c1 || !c2 || (size_t)(c1 - buf) >= cap || (size_t)(c2 - c1 - 1) + 2 >= cap || !c2[1]) {
		snprintf(err, ecap, "TSIG key %s: not ALGORITHM:NAME:SECRET", a->c.tsig);
		return -EINVAL;
	}
	snprintf(alg, cap, "%.*s.", (int)(c1 - buf), buf);
	snprintf(name, cap, "%.*s.", (int)(c2 - c1 - 1), c1 + 1);
	snprintf(secret_path, pcap, "%s/tsig.secret", a->c.dir);
	int rc = file_write(secret_path, c2 + 1, strlen(c2 + 1), 0600);
	if (rc < 0) {
		snprintf(err, ecap, "%s: %s", secret_path, strerror(-rc));
		return rc;
	}
	return 0;
}

static int open_log(const struct acme *a)
{
	char path[256], old[264];
	struct stat st;

	snprintf(path, sizeof path, "%s/lego.log", a->c.dir);
	if (stat(path, &st) == 0 && st.st_size > ACME_LOG_MAX) {
		snprintf(old, sizeof old, "%s.1", path);
		rename(path, old);
	}
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

static void start_run(struct acme *a, struct acme_item *it)
{
	struct acme_job j = {
		.lego = a->c.lego, .server = a->c.server, .email = a->c.email, .path = a->c.dir,
		.challenge = it->wildcard ? ACME_DNS01 : ACME_HTTP01, .http_addr = a->answerer,
		.dns_resolver = a->c.dns_server, .name = it->name,
	};
	char buf[2048], *argv[ACME_MAX_ARGS], why[240];
	char env_ca[160], env_home[160], alg[64], kname[80], secret[200];
	char env_ns[96], env_alg[96], env_key[112], env_secret[240];
	char *env[16];
	size_t ne = 0;
	uv_process_options_t po;
	uv_stdio_container_t io[3];
	int rc;

	if (!a->cert_dir[0]) {
		fail(a, it, "expose_cert_dir is not set: nowhere to install certificates");
		return;
	}
	if ((rc = file_mkdirs(a->c.dir, 0700)) < 0) {
		snprintf(why, sizeof why, "%s: %s", a->c.dir, strerror(-rc));
		fail(a, it, why);
		return;
	}
	if (acme_lego_argv(&j, buf, sizeof buf, argv, ACME_MAX_ARGS) < 0) {
		fail(a, it, j.challenge == ACME_DNS01 && !a->c.dns_server[0] ?
			    "DNS-01 needs expose_acme_dns_server" : "cannot build lego's command line");
		return;
	}
	env[ne++] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
	snprintf(env_home, sizeof env_home, "HOME=%s", a->c.dir);
	env[ne++] = env_home;
	if (a->c.ca[0]) {
		snprintf(env_ca, sizeof env_ca, "LEGO_CA_CERTIFICATES=%s", a->c.ca);
		env[ne++] = env_ca;
	}
	if (j.challenge == ACME_DNS01) {
		if (!a->c.tsig[0]) {
			fail(a, it, "DNS-01 needs expose_acme_tsig (the key file of dns_acme_key)");
			return;
		}
		if (tsig_prepare(a, alg, kname, sizeof alg, secret, sizeof secret, why, sizeof why) < 0) {
			fail(a, it, why);
			return;
		}
		snprintf(env_ns, sizeof env_ns, "RFC2136_NAMESERVER=%s", a->c.dns_server);
		snprintf(env_alg, sizeof env_alg, "RFC2136_TSIG_ALGORITHM=%s", alg);
		snprintf(env_key, sizeof env_key, "RFC2136_TSIG_KEY=%s", kname);
		snprintf(env_secret, sizeof env_secret, "RFC2136_TSIG_SECRET_FILE=%s", secret);
		env[ne++] = env_ns;
		env[ne++] = env_alg;
		env[ne++] = env_key;
		env[ne++] = env_secret;
		env[ne++] = "RFC2136_TTL=60";
		env[ne++] = "RFC2136_PROPAGATION_TIMEOUT=60";
		env[ne++] = "RFC2136_POLLING_INTERVAL=2";
		/* ZONE and *.ZONE share the TXT name: lego solves them one after
		 * the other, waiting this long between (its default: 60 s) */
		env[ne++] = "RFC2136_SEQUENCE_INTERVAL=2";
	}
	env[ne] = NULL;
	int fd = open_log(a);
	if (fd < 0) {
		snprintf(why, sizeof why, "%s/lego.log: %s", a->c.dir, strerror(errno));
		fail(a, it, why);
		return;
	}
	/* a header per run: the log's reader (and log_error_line) knows
	 * where a run begins; the command line holds no secret */
	dprintf(fd, "=== %lld run for %s%s (%s):", (long long)(host_now_ms(a->h) / 1000),
		it->wildcard ? "*." : "", it->name, it->wildcard ? "dns-01" : "http-01");
	for (int i = 0; argv[i]; i++)
		dprintf(fd, " %s", argv[i]);
	dprintf(fd, "\n");
	memset(&po, 0, sizeof po);
	io[0].flags = UV_IGNORE;
	io[1].flags = io[2].flags = UV_INHERIT_FD;
	io[1].data.fd = io[2].data.fd = fd;
	po.file = argv[0];
	po.args = argv;
	po.env = env;
	po.cwd = a->c.dir;
	po.exit_cb = lego_exit;
	po.stdio = io;
	po.stdio_count = 3;
	a->proc.data = a;
	a->start_ns = uv_hrtime();
	rc = uv_spawn(host_loop(a->h), &a->proc, &po);
	close(fd);
	a->runs++;
	snprintf(a->cur, sizeof a->cur, "%s", it->name);
	a->cur_wild = it->wildcard;
	a->running = true;
	if (rc < 0) {
		snprintf(why, sizeof why, "cannot run %s: %s", a->c.lego, uv_strerror(rc));
		fail(a, it, why);
		uv_close((uv_handle_t *)&a->proc, proc_closed);
		return;
	}
	uv_timer_start(&a->limit, on_limit, ACME_RUN_TIMEOUT_MS, 0);
}

static void on_wake(uv_timer_t *t)
{
	schedule(t->data);
}

/* Start the first due item, or sleep until one is. */
static void schedule(struct acme *a)
{
	uint64_t now = host_now_ms(a->h), wake = ACME_MAX_WAKE_MS;

	if (a->running || a->closing || !a->handles)
		return;
	for (size_t i = 0; i < a->n; i++) {
		struct acme_item *it = &a->items[i];
		int64_t before = ACME_RENEW_BEFORE_S;
		if (acme_due(it->not_after, (int64_t)(now / 1000), before) == ACME_VALID) {
			uint64_t at = (uint64_t)(it->not_after - before) * 1000;
			if (at > now && at - now < wake)
				wake = at - now;
			continue;
		}
		if (it->next_ms <= now) {
			start_run(a, it);
			if (a->running)
				return;
			continue;
		}
		if (it->next_ms - now < wake)
			wake = it->next_ms - now;
	}
	uv_timer_start(&a->wake, on_wake, wake, 0);
}

/* ---- the subsystem's calls ---- */

struct acme *acme_new(struct mn_host *h, void (*changed)(void *arg), void *arg)
{
	struct acme *a = calloc(1, sizeof *a);

	if (!a)
		return NULL;
	a->h = h;
	a->changed = changed;
	a->arg = arg;
	if (uv_timer_init(host_loop(h), &a->wake) == 0) {
		if (uv_timer_init(host_loop(h), &a->limit) == 0) {
			a->handles = true;
			a->wake.data = a->limit.data = a;
			uv_unref((uv_handle_t *)&a->wake);
		} else {
			uv_close((uv_handle_t *)&a->wake, NULL);
		}
	}
	return a;
}

/* Does the certificate for zone and *.zone hold name? */
static bool covered(const char *zone, const char *name)
{
	size_t nz = strlen(zone), nn = strlen(name);
	const char *dot = strchr(name, '.');

	return !strcmp(zone, name) ||
	       (nn > nz + 1 && dot && dot == name + (nn - nz - 1) && !strcmp(dot + 1, zone));
}

void acme_update(struct acme *a, const struct acme_conf *c, const char *cert_dir,
		 const char *answerer, const char (*names)[MN_MAX_DOMAIN + 1], size_t n,
		 const char *zone)
{
	struct acme_item *old;
	size_t nold = a->n;

	if (!a || a->closing)
		return;
	a->c = *c;
	snprintf(a->cert_dir, sizeof a->cert_dir, "%s", cert_dir);
	snprintf(a->answerer, sizeof a->answerer, "%s", answerer);
	if (!(old = malloc(sizeof a->items)))
		return;
	memcpy(old, a->items, sizeof a->items);
	a->n = 0;
	a->dropped = 0;
	if (acme_enabled(c)) {
		bool dns = c->challenge == ACME_DNS01 && zone[0];
		for (size_t i = 0; i < n + dns; i++) {
			const char *nm = i < n ? names[i] : zone;
			bool wild = i == n;
			if (!wild && dns && covered(zone, nm))
				continue;   /* the wildcard's certificate holds it */
			if (find_item(a, nm, wild))
				continue;
			if (a->n == ACME_MAX_ITEMS) {
				a->dropped++;
				continue;
			}
			struct acme_item *it = &a->items[a->n++];
			memset(it, 0, sizeof *it);
			snprintf(it->name, sizeof it->name, "%s", nm);
			it->wildcard = wild;
			/* a name just published: give the mesh a moment to route it
			 * down to us before the CA comes to check (HTTP-01) */
			it->next_ms = host_now_ms(a->h) + ACME_SETTLE_MS;
			for (size_t k = 0; k < nold; k++)
				if (old[k].wildcard == wild && !strcmp(old[k].name, nm)) {
					*it = old[k];   /* its failures and backoff carry on */
					break;
				}
		}
	}
	free(old);
	for (size_t i = 0; i < a->n; i++)
		a->items[i].not_after = installed_not_after(a, &a->items[i]);
	schedule(a);
}

#define JADD(o, k, v) json_object_object_add((o), (k), (v))
struct json_object *acme_status(const struct acme *a)
{
	struct json_object *j = json_object_new_object(), *certs = json_object_new_array();
	int64_t now = (int64_t)(host_now_ms(a->h) / 1000);

	json_put_bool(j, "enabled", acme_enabled(&a->c));
	json_put_str(j, "server", a->c.server);
	json_put_str(j, "challenge", a->c.challenge == ACME_DNS01 ? "dns" : "http");
	json_put_bool(j, "running", a->running);
	if (a->running)
		json_put_str(j, "current", a->cur);
	json_put_int(j, "runs", (int)a->runs);
	json_put_int(j, "issued", (int)a->issued);
	json_put_int(j, "failures", (int)a->failures);
	json_put_int(j, "last_run_ms", (int64_t)a->last_run_ms);
	if (a->dropped)
		json_put_int(j, "dropped", (int)a->dropped);
	for (size_t i = 0; i < a->n; i++) {
		const struct acme_item *it = &a->items[i];
		struct json_object *o = json_object_new_object();
		char file[ACME_FILE_MAX] = "";
		acme_cert_file(it->name, it->wildcard, file, sizeof file);
		json_put_str(o, "name", it->name);
		json_put_bool(o, "wildcard", it->wildcard);
		json_put_str(o, "file", file);
		JADD(o, "state", json_object_new_string(
			a->running && it->wildcard == a->cur_wild && !strcmp(it->name, a->cur) ? "running" :
			acme_due_name(acme_due(it->not_after, now, ACME_RENEW_BEFORE_S))));
		json_put_int(o, "not_after", it->not_after);
		json_put_int(o, "failures", (int)it->failures);
		if (it->failures)
			json_put_int(o, "next_try_s", (int64_t)(it->next_ms / 1000));
		if (it->last_error[0])
			json_put_str(o, "last_error", it->last_error);
		json_object_array_add(certs, o);
	}
	JADD(j, "certs", certs);
	if (a->last_error[0])
		json_put_str(j, "last_error", a->last_error);
	return j;
}

void acme_stop(struct acme *a)
{
	if (!a || a->closing)
		return;
	a->closing = true;
	if (!a->handles)
		return;
	if (a->running) {
		uv_process_kill(&a->proc, SIGTERM);
		if (!uv_is_closing((uv_handle_t *)&a->proc))
			uv_close((uv_handle_t *)&a->proc, NULL);
	}
	uv_close((uv_handle_t *)&a->wake, NULL);
	uv_close((uv_handle_t *)&a->limit, NULL);
}

void acme_free(struct acme *a)
{
	free(a);
}
