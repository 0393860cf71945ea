/* The mail subsystem (docs/mail.md): backup MX across the mesh.
 *
 * A box with a mail server publishes svc "mail" (src/mail/mailcfg.h): its
 * domains (mail_domains), their MX priority, whether it wants backup MX,
 * the name outside mail servers reach it by (mail_mx_host), and, when it
 * takes the backup role for others (mail_backup_mx yes), that too. The
 * endpoint is its certified mesh address and the port its SMTP port there.
 *
 * A box that takes the role writes Postfix's relay maps (mail_map_dir:
 * relay_domains and transport, read as texthash: so no postmap is needed)
 * from the other boxes' records: their domains inside their origin's
 * certified DNS scope (or in mail_allow_domain), routed to the origin's
 * certified mesh address, never to an address a record claims. Postfix
 * then queues the mail of those domains while the primary is away and
 * relays it when it is back. The maps are written atomically and only
 * when their content changed; then mail_reload runs (bounded by
 * mail_reload_timeout_s, its failure counted and logged).
 *
 * A box it relays for that comes back (this node's SWIM view: alive after
 * suspect, dead or left) gets its queue at once: mail_flush (postqueue
 * -f) runs, and again 30 s later (its mail server may start after its
 * daemon), instead of Postfix's next retry (up to maximal_backoff_time).
 *
 * Vortex writes the MX records of mesh domains from the same records
 * (mailrec.c, mailcfg_mx); `mail_mx` gives them for an outside provider. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/daemon/subsys.h"
#include "src/daemon/config.h"
#include "src/daemon/mailrec.h"
#include "src/mail/mailcfg.h"
#include "src/putfile.h"
#include "src/log.h"
#include "crypto/did.h"
#include "proto/proto_err.h"
#include "proto/record.h"
#include "src/body_json.h"

#define MAIL_LIST_MAX 768
#define MAIL_RENEW_MS 60000
#define MAIL_FLUSH_AGAIN_MS 30000   /* a box back: flush at once, and again this much later */

struct mail_conf {
	char domains[MAIL_LIST_MAX];        /* "" none: no primary here */
	unsigned port;
	char mx_host[MN_MAX_DOMAIN + 1];
	unsigned priority, backup_priority;
	bool want_backup, backup_mx;
	char allow[MAIL_LIST_MAX];
	char map_dir[CONFIG_PATH_MAX];      /* "" no maps */
	char reload[512];
	char flush[512];                    /* a relayed box came back; "" none */
	unsigned reload_timeout_s, ttl_s;
};

struct mail {
	struct mn_host *h;
	uv_timer_t timer;
	bool timer_open;
	bool ours;                          /* this run published our svc "mail" */
	bool reload_wanted;                 /* maps changed while a reload ran, or it failed */
	/* the boxes we relay for (routes' origins) and how our SWIM saw them */
	struct primary {
		uint8_t pk[32];
		int state;              /* enum host_peer_state, -1 no view */
		uint64_t seen_ms;       /* when we last looked, 0 never */
	} *primary;                     /* MAILCFG_MAX_BOXES */
	size_t nprimary;
	bool flush_wanted;
	uint64_t flush_again_ms;            /* once more then (its mail server may start later) */
	unsigned flushes, flush_failures;
	char flush_status[128];
	unsigned published, publish_failures, generations, writes, reloads, reload_failures;
	unsigned boxes, routes, out_of_scope;
	unsigned ignored[MAILCFG_NREFUSALS];
	uint64_t reload_ms;
	char publish_error[200], last_error[400], reload_status[128];
};

static const struct mail_conf *conf(const struct mail *m)
{
	return host_conf(m->h);
}

static bool enabled(const struct mail_conf *c)
{
	return c->domains[0] || c->backup_mx || c->map_dir[0];
}

/* ---- our svc "mail" record ---- */

/* Our record as the config says: published (renewed past half its life)
 * while we have domains or take the backup role, deleted when neither and
 * this run published it (a record put by another program stays). */
static void sync_record(struct mail *m)
{
	const struct mail_conf *c = conf(m);
	struct subsys_svc_held e;
	struct mailcfg_box me;
	union body b;
	size_t n = 0;
	int perr = 0, rc;

	if (subsys_svc_held(m->h, MAILCFG_SVC, &e) < 0)
		return;
	memset(&me, 0, sizeof me);
	subsys_mesh_addr(m->h, host_self(m->h), me.addr, sizeof me.addr);
	if (!c->domains[0] && !c->backup_mx) {
		if (!e.found || e.tomb || !m->ours)
			return;
		rc = host_publish(m->h, KIND_SVC, MAILCFG_SVC, NULL, 60, NULL, &perr);
	} else {
		if (!me.addr[0]) {
			snprintf(m->publish_error, sizeof m->publish_error, "no mesh address: nothing to publish");
			return;
		}
		mailcfg_parse_list(c->domains, me.domains, MAILCFG_MAX_DOMAINS, &n);   /* checked at load */
		me.ndomains = n;
		me.port = (uint16_t)c->port;
		me.priority = (uint16_t)c->priority;
		me.backup_priority = (uint16_t)c->backup_priority;
		me.want_backup = c->want_backup;
		me.relay = c->backup_mx;
		snprintf(me.mx, sizeof me.mx, "%s", c->mx_host);
		mailcfg_svc_body(&me, &b.svc);
		if (e.found && !e.tomb && subsys_svc_same(&e.b.svc, &b.svc) &&
		    e.expires > host_now_ms(m->h) / 1000 + c->ttl_s / 2)
			return;
		rc = host_publish(m->h, KIND_SVC, MAILCFG_SVC, &b, c->ttl_s, NULL, &perr);
	}
	if (rc < 0) {
		m->publish_failures++;
		snprintf(m->publish_error, sizeof m->publish_error, "cannot publish: %s",
			 perr ? proto_strerror(perr) : strerror(-rc));
		log_warn("mail: %s", m->publish_error);
	} else {
		m->published++;
		m->publish_error[0] = 0;
		m->ours = true;
	}
}

/* ---- the relay maps ---- */

static void reload_done(void *st, bool ok, const char *status, uint64_t ms)
{
	struct mail *m = st;

	snprintf(m->reload_status, sizeof m->reload_status, "%s", status);
	m->reload_ms = ms;
	if (ok) {
		m->reloads++;
		m->reload_wanted = false;
		return;
	}
	m->reload_failures++;
	m->reload_wanted = true;   /* again at the next generation (at most MAIL_RENEW_MS away) */
	log_warn("mail: %s: %s", conf(m)->reload, status);
}

static void reload(struct mail *m)
{
	const struct mail_conf *c = conf(m);

	if (!c->reload[0])
		return;
	int rc = host_run(m->h, c->reload, c->reload_timeout_s * 1000, reload_done);
	if (rc == -EBUSY) {
		m->reload_wanted = true;   /* after the one running: the host runs regen then */
		host_dirty(m->h);
	} else if (rc < 0) {
		m->reload_failures++;
		snprintf(m->reload_status, sizeof m->reload_status, "cannot run: %s", strerror(-rc));
		log_warn("mail: %s: %s", c->reload, m->reload_status);
	}
}

/* The boxes the routes go to, keeping what SWIM last said of each. */
static void note_primaries(struct mail *m, const struct mailcfg_box *b, size_t nb,
			   const struct mailcfg_route *r, size_t nr)
{
	struct primary *old = m->primary;
	size_t nold = m->nprimary, k = 0;

	if (!(m->primary = calloc(MAILCFG_MAX_BOXES, sizeof *m->primary))) {
		m->primary = old;
		return;
	}
	for (size_t i = 0; i < nb && k < MAILCFG_MAX_BOXES; i++) {
		bool used = false;
		for (size_t j = 0; j < nr && !used; j++)
			used = !strcmp(r[j].addr, b[i].addr);
		if (!used)
			continue;
		memcpy(m->primary[k].pk, b[i].origin, 32);
		m->primary[k].state = -1;
		for (size_t j = 0; j < nold; j++)
			if (!memcmp(old[j].pk, b[i].origin, 32))
				m->primary[k] = old[j];
		k++;
	}
	m->nprimary = k;
	free(old);
}

static void flush_done(void *st, bool ok, const char *status, uint64_t ms)
{
	struct mail *m = st;

	(void)ms;
	snprintf(m->flush_status, sizeof m->flush_status, "%s", status);
	if (ok) {
		m->flushes++;
		return;
	}
	m->flush_failures++;
	log_warn("mail: %s: %s", conf(m)->flush, status);
}

/* On the WireGuard cycle (every 5 s): a box we relay for that our SWIM
 * saw suspect, dead or left and now sees alive — also when that happened
 * between two looks (alive since after the last one: a reboot is quicker
 * than 5 s) — gets its queued mail at once. */
static void mail_tick(void *st, uint64_t now_ms)
{
	struct mail *m = st;
	const struct mail_conf *c = conf(m);

	for (size_t i = 0; i < m->nprimary; i++) {
		struct primary *p = &m->primary[i];
		enum host_peer_state ps;
		uint64_t since = 0;
		int now = host_peer_state(m->h, p->pk, &ps, &since) < 0 ? -1 : (int)ps;
		if (now < 0 && p->state >= 0)
			now = HOST_PEER_LEFT;   /* seen, and forgotten since: gone */
		if (now == HOST_PEER_ALIVE && p->seen_ms && p->state >= 0 &&
		    (p->state != HOST_PEER_ALIVE || since > p->seen_ms)) {
			m->flush_wanted = true;
			m->flush_again_ms = now_ms + MAIL_FLUSH_AGAIN_MS;
			log_info("mail: a box we relay for is back: flushing the queue");
		}
		p->state = now;
		p->seen_ms = now_ms;
	}
	if (m->flush_again_ms && now_ms >= m->flush_again_ms) {
		m->flush_wanted = true;
		m->flush_again_ms = 0;
	}
	if (!m->flush_wanted || !c->backup_mx || !c->flush[0])
		return;
	int rc = host_run(m->h, c->flush, c->reload_timeout_s * 1000, flush_done);
	if (rc == -EBUSY)
		return;   /* at the next tick */
	m->flush_wanted = false;
	if (rc < 0) {
		m->flush_failures++;
		snprintf(m->flush_status, sizeof m->flush_status, "cannot run: %s", strerror(-rc));
	}
}

/* The other boxes (*others, *no) and the routes this box relays for
 * them (*r, *n: none without mail_backup_mx; *skipped out of scope): 0
 * or -ENOMEM. The caller frees both. */
static int relayed(struct mail *m, const struct mail_boxes *l, struct mailcfg_box **others, size_t *no,
		   struct mailcfg_route **r, size_t *n, unsigned *skipped)
{
	const struct mail_conf *c = conf(m);
	size_t cap = 1;

	*no = *n = 0;
	*skipped = 0;
	*others = calloc(l->n + 1, sizeof **others);
	for (size_t i = 0; *others && i < l->n; i++)
		if (memcmp(l->b[i].origin, host_self(m->h), 32)) {
			(*others)[(*no)++] = l->b[i];
			cap += l->b[i].ndomains;
		}
	*r = calloc(cap, sizeof **r);
	if (!*others || !*r)
		return -ENOMEM;
	if (c->backup_mx)
		*n = mailcfg_routes(*others, *no, c->allow, c->domains, *r, cap, skipped);
	return 0;
}

/* The other boxes' routes into the two maps: 1 changed, 0 the same, or a
 * negative errno (last_error). */
static int write_maps(struct mail *m, const struct mail_boxes *l)
{
	const struct mail_conf *c = conf(m);
	struct mailcfg_route *r = NULL;
	struct mailcfg_box *others = NULL;
	char *text[2] = { NULL, NULL }, path[CONFIG_PATH_MAX + 32];
	static const char *const names[2] = { "relay_domains", "transport" };
	size_t len[2], n = 0, no = 0;
	unsigned skipped = 0;
	int rc, changed = 0;

	if ((rc = relayed(m, l, &others, &no, &r, &n, &skipped)) < 0)
		goto out;
	m->routes = (unsigned)n;
	m->out_of_scope = skipped;
	note_primaries(m, others, no, r, n);
	if ((rc = mailcfg_maps(r, n, &text[0], &len[0], &text[1], &len[1])) < 0)
		goto out;
	if ((rc = file_mkdirs(c->map_dir, 0755)) < 0) {
		snprintf(m->last_error, sizeof m->last_error, "%s: %s", c->map_dir, strerror(-rc));
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/%s", c->map_dir, names[i]);
		if ((rc = file_put(path, text[i], len[i], 0644)) < 0) {
			snprintf(m->last_error, sizeof m->last_error, "%s: %s", path, strerror(-rc));
			goto out;
		}
		changed |= rc;
	}
	rc = changed;
out:
	if (rc == -ENOMEM)
		snprintf(m->last_error, sizeof m->last_error, "out of memory");
	free(text[0]);
	free(text[1]);
	free(r);
	free(others);
	return rc;
}

static void generate(void *st)
{
	struct mail *m = st;
	const struct mail_conf *c = conf(m);
	struct mail_boxes l;

	sync_record(m);   /* also when the options went: ours is deleted */
	if (!enabled(c) || !c->map_dir[0])
		return;
	int rc = mail_boxes_collect(m->h, &l);
	if (rc < 0) {
		mail_boxes_free(&l);
		snprintf(m->last_error, sizeof m->last_error, "cannot read the records: %s", strerror(-rc));
		return;
	}
	m->generations++;
	m->boxes = (unsigned)l.n;
	memcpy(m->ignored, l.ignored, sizeof m->ignored);
	rc = write_maps(m, &l);
	mail_boxes_free(&l);
	if (rc < 0) {
		log_warn("mail: %s", m->last_error);
		return;
	}
	m->last_error[0] = 0;
	if (rc > 0) {
		m->writes++;
		log_info("mail: relay maps written (%u domains relayed)", m->routes);
	}
	if (rc > 0 || m->reload_wanted)
		reload(m);
}

/* ---- life ---- */

static void on_timer(uv_timer_t *t)
{
	struct mail *m = t->data;

	if (enabled(conf(m)) || m->ours)
		host_dirty(m->h);   /* renews our record, retries a failed reload, drops expired records */
}

static void *mail_start(struct mn_host *h, char *err, size_t errcap)
{
	struct mail *m = calloc(1, sizeof *m);

	if (!m) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	m->h = h;
	if (uv_timer_init(host_loop(h), &m->timer) == 0) {
		m->timer.data = m;
		m->timer_open = true;
		uv_unref((uv_handle_t *)&m->timer);
		uv_timer_start(&m->timer, on_timer, MAIL_RENEW_MS, MAIL_RENEW_MS);
	}
	if (enabled(conf(m)))
		host_dirty(h);
	return m;
}

static void mail_record(void *st, const struct rec_view *v)
{
	struct mail *m = st;

	if (v && v->r->kind == KIND_SVC && strcmp(v->r->key, MAILCFG_SVC))
		return;
	if (enabled(conf(m)))
		host_dirty(m->h);
}

static void mail_trust(void *st, const uint8_t origin[32])
{
	(void)origin;
	mail_record(st, NULL);
}

static void mail_reload(void *st, const void *old)
{
	struct mail *m = st;
	const struct mail_conf *o = old;

	if (enabled(conf(m)) || enabled(o))
		host_dirty(m->h);
	/* the maps turned off: they stay as last written (Postfix may still
	 * name them); an empty map_dir only stops writing */
}

static void mail_stop(void *st)
{
	struct mail *m = st;

	if (m->timer_open)
		uv_close((uv_handle_t *)&m->timer, NULL);
	m->timer_open = false;
}

static void mail_free(void *st)
{
	struct mail *m = st;

	free(m->primary);
	free(m);
}

#define JADD(o, k, v) json_object_object_add((o), (k), (v))
#define JINT(o, k, v) JADD(o, k, json_object_new_int64((int64_t)(v)))

static struct json_object *mail_status(void *st)
{
	struct mail *m = st;
	const struct mail_conf *c = conf(m);
	struct json_object *j = json_object_new_object(), *ig = json_object_new_object();
	unsigned total = 0;

	json_put_str(j, "domains", c->domains);
	json_put_bool(j, "backup_mx", c->backup_mx);
	JINT(j, "published", m->published);
	JINT(j, "publish_failures", m->publish_failures);
	if (m->publish_error[0])
		json_put_str(j, "publish_error", m->publish_error);
	JINT(j, "boxes", m->boxes);
	JINT(j, "routes", m->routes);
	JINT(j, "out_of_scope", m->out_of_scope);
	for (int i = 1; i < MAILCFG_NREFUSALS; i++) {
		JINT(ig, mailcfg_refusal_names[i], m->ignored[i]);
		total += m->ignored[i];
	}
	JINT(ig, "total", total);
	JADD(j, "ignored", ig);
	if (c->map_dir[0]) {
		JINT(j, "generations", m->generations);
		JINT(j, "writes", m->writes);
		JINT(j, "reloads", m->reloads);
		JINT(j, "reload_failures", m->reload_failures);
		JINT(j, "reload_ms", m->reload_ms);
		if (m->reload_status[0])
			json_put_str(j, "reload_status", m->reload_status);
		JINT(j, "flushes", m->flushes);
		JINT(j, "flush_failures", m->flush_failures);
		if (m->flush_status[0])
			json_put_str(j, "flush_status", m->flush_status);
	}
	if (m->last_error[0])
		json_put_str(j, "last_error", m->last_error);
	return j;
}

/* ---- API ---- */

static const char *domain_arg(struct json_object *req, char *err, size_t errcap)
{
	struct json_object *v;
	const char *d;

	if (!json_object_object_get_ex(req, "domain", &v)) {
		snprintf(err, errcap, "domain: required");
		return NULL;
	}
	d = json_object_get_string(v);
	if (!mailcfg_domain_ok(d)) {
		snprintf(err, errcap, "domain: a lowercase DNS name of two labels or more");
		return NULL;
	}
	return d;
}

/* mail_list: every mail domain of the mesh (the boxes' valid records),
 * whether it is in its origin's scope and relayed here, and the boxes
 * that take the backup role. */
static int mail_list(void *st, struct json_object *req, struct json_object **res, char *err, size_t errcap)
{
	struct mail *m = st;
	struct mail_boxes l;
	struct mailcfg_route *r = NULL;
	struct mailcfg_box *others = NULL;
	size_t nr = 0, no;
	unsigned skipped;
	char did[DID_KEY_MAX];

	(void)req;
	if (mail_boxes_collect(m->h, &l) < 0 || relayed(m, &l, &others, &no, &r, &nr, &skipped) < 0) {
		free(r);
		free(others);
		mail_boxes_free(&l);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	free(others);
	struct json_object *doms = json_object_new_array(), *backups = json_object_new_array();
	for (size_t i = 0; i < l.n; i++) {
		const struct mailcfg_box *x = &l.b[i];
		bool self = !memcmp(x->origin, host_self(m->h), 32);
		did_key_encode(DID_ED25519, x->origin, did, sizeof did);
		for (size_t d = 0; d < x->ndomains; d++) {
			struct json_object *o = json_object_new_object();
			bool relayed = false;
			for (size_t k = 0; k < nr && !relayed; k++)
				relayed = !strcmp(r[k].domain, x->domains[d]) && !strcmp(r[k].addr, x->addr);
			json_put_str(o, "domain", x->domains[d]);
			json_put_str(o, "box", self ? "self" : "peer");
			json_put_str(o, "did", did);
			json_put_str(o, "endpoint", x->addr);
			JINT(o, "port", x->port);
			JINT(o, "priority", x->priority);
			json_put_bool(o, "want_backup", x->want_backup);
			json_put_bool(o, "in_scope", x->in_scope[d]);
			json_put_bool(o, "relayed_here", relayed);
			json_object_array_add(doms, o);
		}
		if (x->relay) {
			struct json_object *o = json_object_new_object();
			json_put_str(o, "box", self ? "self" : "peer");
			json_put_str(o, "did", did);
			json_put_str(o, "endpoint", x->addr);
			JINT(o, "priority", x->backup_priority);
			json_put_str(o, "mx", x->mx);
			json_object_array_add(backups, o);
		}
	}
	mail_boxes_free(&l);
	free(r);
	*res = json_object_new_object();
	JADD(*res, "domains", doms);
	JADD(*res, "backups", backups);
	return 0;
}

/* mail_mx: the MX records of a domain, primary first, then the backups,
 * as this box's view of the records gives them (what Vortex writes for
 * a mesh domain; what to set at an outside DNS provider otherwise). */
static int mail_mx(void *st, struct json_object *req, struct json_object **res, char *err, size_t errcap)
{
	struct mail *m = st;
	struct mail_boxes l;
	struct mailcfg_mx mx[MAILCFG_MAX_MX];
	const char *d = domain_arg(req, err, errcap);

	if (!d)
		return -EINVAL;
	if (mail_boxes_collect(m->h, &l) < 0) {
		mail_boxes_free(&l);
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	size_t n = mailcfg_mx(l.b, l.n, d, conf(m)->allow, mx, MAILCFG_MAX_MX);
	mail_boxes_free(&l);
	if (!n) {
		snprintf(err, errcap, "%s: no box of the mesh holds it (in its DNS scope, with mail_mx_host)", d);
		return -ENOENT;
	}
	struct json_object *a = json_object_new_array();
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object();
		char line[2 * MN_MAX_DOMAIN + 40];
		JINT(o, "priority", mx[i].priority);
		json_put_str(o, "host", mx[i].host);
		json_put_bool(o, "backup", mx[i].backup);
		snprintf(line, sizeof line, "%s. IN MX %u %s.", d, mx[i].priority, mx[i].host);
		json_put_str(o, "record", line);
		json_object_array_add(a, o);
	}
	*res = json_object_new_object();
	json_put_str(*res, "domain", d);
	JADD(*res, "mx", a);
	return 0;
}

/* ---- options ---- */

#define BAD(...) do { snprintf(msg, cap, __VA_ARGS__); return -EINVAL; } while (0)
static int check_list(void *sect, char *val, char *msg, size_t cap, const char *name, size_t max)
{
	char (*d)[MN_MAX_DOMAIN + 1] = calloc(max, sizeof *d);
	size_t n;
	int rc;

	(void)sect;
	if (!d)
		BAD("%s: out of memory", name);
	rc = mailcfg_parse_list(val, d, max, &n);
	free(d);
	if (rc == -ENOSPC)
		BAD("%s: at most %zu domains", name, max);
	if (rc < 0)
		BAD("%s: lowercase DNS names of two labels or more, separated by commas or spaces", name);
	return 0;
}

static int check_domains(void *sect, char *val, char *msg, size_t cap)
{
	return check_list(sect, val, msg, cap, "mail_domains", MAILCFG_MAX_DOMAINS);
}

static int check_allow(void *sect, char *val, char *msg, size_t cap)
{
	return check_list(sect, val, msg, cap, "mail_allow_domain", MAIL_LIST_MAX / 4);
}

static int check_mx(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (val[0] && !mailcfg_domain_ok(val))
		BAD("mail_mx_host: a lowercase DNS name of two labels or more");
	return 0;
}

static int check_dir(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (val[0] && (!conf_path_ok(val) || !strcmp(val, "/")))
		BAD("mail_map_dir: an absolute directory path of [A-Za-z0-9._+-/], no '.' or '..' parts");
	return 0;
}
#undef BAD

#define F(f) CONF_FIELD(struct mail_conf, f)
static const struct conf_opt mail_opts[] = {
	{ "mail_domains", CONF_STR, 0, F(domains), .parse = check_domains, .help = "domains, comma-separated" },
	{ "mail_port", CONF_UINT, 0, F(port), .min = 1, .max = 65535, .def = "25", .help = "1..65535" },
	{ "mail_mx_host", CONF_STR, 0, F(mx_host), .parse = check_mx, .help = "a DNS name" },
	{ "mail_mx_priority", CONF_UINT, 0, F(priority), .min = 0, .max = 65535, .def = "10", .help = "0..65535" },
	{ "mail_want_backup", CONF_YESNO, 0, F(want_backup), .def = "yes", .help = "yes or no" },
	{ "mail_backup_mx", CONF_YESNO, 0, F(backup_mx), .def = "no", .help = "yes or no" },
	{ "mail_backup_priority", CONF_UINT, 0, F(backup_priority), .min = 0, .max = 65535, .def = "20", .help = "0..65535" },
	{ "mail_allow_domain", CONF_STR, 0, F(allow), .parse = check_allow, .help = "domains, comma-separated" },
	{ "mail_map_dir", CONF_STR, 0, F(map_dir), .parse = check_dir, .help = "an absolute directory path" },
	{ "mail_reload", CONF_STR, 0, F(reload), .def = "postfix reload", .help = "a command of at most 511 bytes" },
	{ "mail_flush", CONF_STR, 0, F(flush), .def = "postqueue -f", .help = "a command of at most 511 bytes" },
	{ "mail_reload_timeout_s", CONF_UINT, 0, F(reload_timeout_s), .min = 1, .max = 600, .def = "30", .help = "1..600" },
	{ "mail_ttl_s", CONF_UINT, 0, F(ttl_s), .min = 600, .max = 86400 * 7, .def = "3600", .help = "600..604800" },
};
#undef F

static const struct subsys_call mail_calls[] = {
	{ "mail_list", mail_list, (const struct subsys_arg[]){ { NULL, 0 } } },
	{ "mail_mx", mail_mx, (const struct subsys_arg[]){ { "domain", json_type_string }, { NULL, 0 } } },
};

const struct subsys subsys_mail = {
	.name = "mail",
	.kinds = 1u << KIND_SVC | 1u << KIND_NODE | 1u << KIND_CERT,
	.conf = { "mail", mail_opts, sizeof mail_opts / sizeof mail_opts[0], sizeof(struct mail_conf), NULL, NULL },
	.calls = mail_calls,
	.ncalls = sizeof mail_calls / sizeof mail_calls[0],
	.regen = { .fn = generate, .debounce_ms = 100, .max_wait_ms = 1000, .min_interval_ms = 500 },
	.start = mail_start,
	.record = mail_record,
	.trust = mail_trust,
	.reload = mail_reload,
	.tick = mail_tick,
	.status = mail_status,
	.stop = mail_stop,
	.free = mail_free,
};
