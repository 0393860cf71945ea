/* The hosts subsystem (docs/subsystems.md walks through it): the mesh's
 * members, by name, in a hosts(5) file — "ADDRESS NAME [NAME.DOMAIN]" per
 * member, from the node records held (whose names and mesh addresses the
 * engine checked against their certificates: docs/trust.md "Claims") — for
 * dnsmasq's addn-hosts, so the LAN resolves mesh names without a zone
 * server. Written atomically when it changes, then an optional command
 * (hosts_reload) tells the resolver. A write or a reload that fails (or
 * hangs and is killed) is tried again by itself (retry.h: 5 s doubling up
 * to 5 min), not only at the next membership change. Off unless hosts_file
 * is set. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/daemon/subsys.h"
#include "src/daemon/config.h"
#include "src/daemon/retry.h"
#include "src/putfile.h"
#include "src/log.h"
#include "proto/body.h"
#include "proto/record.h"
#include "src/body_json.h"

#define RELOAD_TIMEOUT_MS 10000

struct hosts_conf {
	char file[CONFIG_PATH_MAX];    /* "" = off */
	char domain[MN_MAX_DOMAIN + 1];/* "" = bare names only */
	char reload[512];              /* run after the file changed; "" = none */
};

struct hostsfile {
	struct mn_host *h;
	unsigned entries, writes, reloads, reload_failures, skipped;
	bool owe_reload;     /* the file changed and no reload passed since */
	struct retry retry;
	char last_error[300], reload_status[64];
};

struct entry {
	char name[MN_MAX_NAME + 1];
	char addr[MN_MAX_ADDR + 1];
};

struct list {
	struct entry *e;
	size_t n, cap;
	unsigned skipped;   /* records whose name or address cannot go in a hosts file */
};

static const struct hosts_conf *conf(const struct hostsfile *hf)
{
	return host_conf(hf->h);
}

static int collect(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct list *l = ctx;
	union body b;
	char addr[MN_MAX_ADDR + 1];

	(void)id;
	if (r->kind != KIND_NODE || record_is_tombstone(r) ||
	    body_decode(KIND_NODE, r->body, r->body_len, &b) < 0 || !b.node.mesh_addr[0])
		return 0;
	snprintf(addr, sizeof addr, "%.*s", (int)strcspn(b.node.mesh_addr, "/"), b.node.mesh_addr);
	/* the schema checked both; a hosts file line must not be forged by
	 * what a member calls itself, so check again for what we print */
	if (!dns_name_valid(b.node.name, false) || strchr(b.node.name, '.') || !addr_valid(addr, false)) {
		l->skipped++;
		return 0;
	}
	if (l->n == l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 64;
		struct entry *q = realloc(l->e, nc * sizeof *q);
		if (!q)
			return -ENOMEM;
		l->e = q;
		l->cap = nc;
	}
	snprintf(l->e[l->n].name, sizeof l->e[l->n].name, "%s", b.node.name);
	snprintf(l->e[l->n].addr, sizeof l->e[l->n].addr, "%s", addr);
	l->n++;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* The members, sorted by name (names are unique: the engine keeps the
 * first certified). */
static int members(struct hostsfile *hf, struct list *l)
{
	memset(l, 0, sizeof *l);
	int rc = host_each(hf->h, KIND_BIT(KIND_NODE), NULL, collect, l);
	if (rc < 0) {
		free(l->e);
		return rc;
	}
	qsort(l->e, l->n, sizeof *l->e, by_name);
	return 0;
}

static void reload_done(void *st, bool ok, const char *status, uint64_t ms)
{
	struct hostsfile *hf = st;

	(void)ms;
	snprintf(hf->reload_status, sizeof hf->reload_status, "%s", status);
	if (!ok) {
		hf->reload_failures++;
		log_err("hosts: the reload command %s", status);
		retry_later(&hf->retry);
		return;
	}
	hf->owe_reload = false;
	retry_reset(&hf->retry);
}

static void generate(void *st)
{
	struct hostsfile *hf = st;
	const struct hosts_conf *c = conf(hf);
	struct list l;
	char *text = NULL;
	size_t len = 0;

	if (!c->file[0])
		return;
	if (members(hf, &l) < 0) {
		snprintf(hf->last_error, sizeof hf->last_error, "out of memory");
		return;
	}
	FILE *f = open_memstream(&text, &len);
	if (f) {
		fprintf(f, "# mirrornetd: the mesh's members (written when they change; do not edit)\n");
		for (size_t i = 0; i < l.n; i++) {
			fprintf(f, "%s\t%s", l.e[i].addr, l.e[i].name);
			if (c->domain[0])
				fprintf(f, "\t%s.%s", l.e[i].name, c->domain);
			fputc('\n', f);
		}
	}
	if (!f || fclose(f) != 0 || !text) {
		snprintf(hf->last_error, sizeof hf->last_error, "out of memory");
		free(text);
		free(l.e);
		return;
	}
	hf->entries = (unsigned)l.n;
	hf->skipped = l.skipped;
	free(l.e);
	int rc = file_put(c->file, text, len, 0644);   /* a resolver reads it */
	free(text);
	if (rc < 0) {
		snprintf(hf->last_error, sizeof hf->last_error, "%s: %s", c->file, strerror(-rc));
		log_err("hosts: cannot write %s", hf->last_error);
		retry_later(&hf->retry);
		return;
	}
	hf->last_error[0] = 0;
	if (rc > 0) {
		hf->writes++;
		hf->owe_reload = c->reload[0] != 0;
	}
	if (!hf->owe_reload || !c->reload[0]) {   /* unchanged, and told */
		hf->owe_reload = false;
		retry_reset(&hf->retry);
		return;
	}
	int r = host_run(hf->h, c->reload, RELOAD_TIMEOUT_MS, reload_done);
	if (r == -EBUSY)
		return;   /* the host generates again after the running command */
	hf->reloads++;
	if (r < 0) {
		hf->reload_failures++;
		snprintf(hf->reload_status, sizeof hf->reload_status, "failed: %s", strerror(-r));
		retry_later(&hf->retry);
	}
}

static void hf_changed(void *st)
{
	struct hostsfile *hf = st;

	if (conf(hf)->file[0])
		host_dirty(hf->h);
}

static void *hf_start(struct mn_host *h, char *err, size_t errcap)
{
	struct hostsfile *hf = calloc(1, sizeof *hf);

	if (!hf) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	hf->h = h;
	retry_init(&hf->retry, h, "hosts");
	hf_changed(hf);   /* the first file */
	return hf;
}

static void hf_record(void *st, const struct rec_view *v)
{
	(void)v;
	hf_changed(st);
}

static void hf_trust(void *st, const uint8_t origin[32])
{
	(void)origin;
	hf_changed(st);
}

static void hf_reload(void *st, const void *old)
{
	(void)old;
	hf_changed(st);
}

static struct json_object *hf_status(void *st)
{
	struct hostsfile *hf = st;
	struct json_object *j = json_object_new_object();

	json_put_str(j, "file", conf(hf)->file);
	json_put_int(j, "entries", (int)hf->entries);
	json_put_int(j, "skipped", (int)hf->skipped);
	json_put_int(j, "writes", (int)hf->writes);
	json_put_int(j, "reloads", (int)hf->reloads);
	json_put_int(j, "reload_failures", (int)hf->reload_failures);
	json_put_str(j, "reload", hf->reload_status);
	json_put_int(j, "retries", (int)hf->retry.fired);
	if (hf->last_error[0])
		json_put_str(j, "last_error", hf->last_error);
	return j;
}

/* hosts_list: the members as the file has them (also when it is off). */
static int hf_list(void *st, struct json_object *req, struct json_object **res, char *err,
		      size_t errcap)
{
	struct hostsfile *hf = st;
	const char *domain = conf(hf)->domain;
	struct list l;

	(void)req;
	if (members(hf, &l) < 0) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	*res = json_object_new_array();
	for (size_t i = 0; i < l.n; i++) {
		struct json_object *o = json_object_new_object();
		char fq[MN_MAX_NAME + MN_MAX_DOMAIN + 2];
		json_put_str(o, "name", l.e[i].name);
		json_put_str(o, "addr", l.e[i].addr);
		if (domain[0]) {
			snprintf(fq, sizeof fq, "%s.%s", l.e[i].name, domain);
			json_put_str(o, "fqdn", fq);
		}
		json_object_array_add(*res, o);
	}
	free(l.e);
	return 0;
}

static void hf_stop(void *st)
{
	struct hostsfile *hf = st;

	retry_close(&hf->retry);
}

static void hf_free(void *st)
{
	free(st);
}

#define BAD(...) do { snprintf(msg, cap, __VA_ARGS__); return -EINVAL; } while (0)
static int check_file(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!conf_path_ok(val) || !strcmp(val, "/"))   /* a file, not the root */
		BAD("hosts_file: an absolute file path of [A-Za-z0-9._+-/], no '.' or '..' parts");
	return 0;
}

static int check_domain(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!dns_name_valid(val, false) || strlen(val) > MN_MAX_DOMAIN - MN_MAX_NAME - 1)
		BAD("hosts_domain: a DNS name such as mesh or example.io");
	return 0;
}
#undef BAD

#define F(f) CONF_FIELD(struct hosts_conf, f)
static const struct conf_opt hosts_opts[] = {
	{ "hosts_file", CONF_STR, 0, F(file), .parse = check_file,
	  .help = "an absolute file path" },
	{ "hosts_domain", CONF_STR, 0, F(domain), .parse = check_domain, .help = "a DNS name" },
	{ "hosts_reload", CONF_STR, 0, F(reload), .help = "a command of at most 511 bytes" },
};
#undef F

static const struct subsys_call hosts_calls[] = {
	{ "hosts_list", hf_list, (const struct subsys_arg[]){ { NULL, 0 } } },
};

const struct subsys subsys_hosts = {
	.name = "hosts",
	.kinds = 1u << KIND_NODE,
	.conf = { "hosts", hosts_opts, sizeof hosts_opts / sizeof hosts_opts[0],
		  sizeof(struct hosts_conf), NULL, NULL },
	.calls = hosts_calls,
	.ncalls = sizeof hosts_calls / sizeof hosts_calls[0],
	/* a file of a few KiB: no need to wait long, nor to run often */
	.regen = { .fn = generate, .debounce_ms = 200, .max_wait_ms = 2000, .min_interval_ms = 1000 },
	.start = hf_start,
	.record = hf_record,
	.trust = hf_trust,
	.reload = hf_reload,
	.status = hf_status,
	.stop = hf_stop,
	.free = hf_free,
};
