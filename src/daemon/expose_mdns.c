/* The mDNS channel (docs/expose.md, "mDNS"): this box's exposures with the
 * mdns channel, and the node itself (`_secubox._udp`, TXT did, role,
 * version — as SecuBox nodes announce themselves), as service files for
 * the LAN's mDNS responder: avahi's XML (one file per service,
 * mirrornet.service for the node and mirrornet-<service>.service) or, on
 * OpenWrt, umdns's JSON (all in mirrornet.json). Written atomically into
 * expose_mdns_dir, only when their content changes, files of ours no
 * longer wanted removed (only names of that form: nothing else in the
 * directory is touched); then expose_mdns_reload runs, if set (avahi
 * notices changes by itself; umdns needs `ubus call umdns reload`).
 *
 * mDNS announces this box's address and the exposure's own port: the
 * service must listen on the LAN at that port (the backend is not
 * announced). Names are checked and escaped by src/expose/mdnscfg.c. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "src/daemon/expose_chan.h"
#include "src/daemon/config.h"
#include "src/expose/mdnscfg.h"
#include "src/putfile.h"
#include "src/log.h"
#include "crypto/chain.h"
#include "crypto/did.h"
#include "proto/body.h"
#include "src/body_json.h"

#define MDNS_MAX 65                  /* the node and 64 exposures */
#define RELOAD_TIMEOUT_MS 30000
#define UMDNS_FILE "mirrornet.json"

struct expose_mdns {
	struct mn_host *h;
	char dir[TORCFG_DIR_MAX + 1];        /* where our files are ("": none written) */
	uint8_t format;
	bool reload_pending, reloading;
	unsigned entries, writes, write_failures, refused, reloads, reload_failures;
	char last_refusal[200], last_error[300];
};

/* Is name one of our files (mirrornet.service, mirrornet-*.service,
 * mirrornet.json)? Its stem in stem. */
static bool ours(const char *name, char *stem, size_t cap)
{
	size_t n = strlen(name);

	if (!strcmp(name, UMDNS_FILE)) {
		snprintf(stem, cap, "%s", name);
		return true;
	}
	if (n < 17 || strcmp(name + n - 8, ".service") || strncmp(name, "mirrornet", 9) ||
	    (name[9] != '.' && name[9] != '-'))
		return false;
	snprintf(stem, cap, "%.*s", (int)(n - 8), name);
	return true;
}

/* Remove our files in dir but those of keep (avahi stems); true if any went. */
static bool remove_ours(struct expose_mdns *m, const char *dir, const struct mdns_service *keep, size_t nkeep)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool gone = false;
	char stem[300], p[TORCFG_DIR_MAX + 300];

	if (!d)
		return false;
	while ((e = readdir(d))) {
		bool kept = false;
		if (!ours(e->d_name, stem, sizeof stem))
			continue;
		for (size_t i = 0; i < nkeep && !kept; i++)
			kept = !strcmp(keep[i].id, stem);
		if (kept)
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		if (unlink(p) == 0)
			gone = true;
		else
			snprintf(m->last_error, sizeof m->last_error, "%.200s: %s", p, strerror(errno));
	}
	closedir(d);
	return gone;
}

static void refusal(struct expose_mdns *m, const char *msg)
{
	m->refused++;
	snprintf(m->last_refusal, sizeof m->last_refusal, "%s", msg);
}

static void report(void *arg, const char *msg)
{
	refusal(arg, msg);
}

/* The node's entry: _secubox._udp on the WireGuard port, TXT did, role, version. */
static void node_entry(struct expose_mdns *m, struct mdns_service *s)
{
	const struct config *cfg = host_config(m->h);
	const uint8_t *me = host_self(m->h);
	struct chain_result cr;
	char did[DID_KEY_MAX] = "";
	uint8_t role = cfg->role;

	if (memcmp(me, cfg->root, 32) != 0 && host_chain(m->h, me, &cr) == 0)
		role = cr.role;   /* the certified role */
	did_key_encode(DID_ED25519, me, did, sizeof did);
	memset(s, 0, sizeof *s);
	snprintf(s->id, sizeof s->id, "mirrornet");
	snprintf(s->name, sizeof s->name, "%s", cfg->name);
	snprintf(s->type, sizeof s->type, "_secubox._udp");
	s->port = (uint16_t)cfg->wg_port;
	snprintf(s->txt[0], sizeof s->txt[0], "did=%s", did);
	snprintf(s->txt[1], sizeof s->txt[1], "role=%s", role <= ROLE_MAX ? role_names[role] : "peer");
	snprintf(s->txt[2], sizeof s->txt[2], "version=%s", MN_VERSION);
	s->ntxt = 3;
}

/* An exposure's entry; -EINVAL (reported) if it has no service type. */
static int svc_entry(struct expose_mdns *m, const struct expose_svc *v, struct mdns_service *s)
{
	const char *node = host_config(m->h)->name;
	char msg[200], name[MN_MAX_NAME * 2 + 8];

	memset(s, 0, sizeof *s);
	if (mdns_type(v->proto, v->service, s->type, sizeof s->type) < 0) {
		snprintf(msg, sizeof msg, "mdns: %.48s left out: no service type can be made of its name",
			 v->service);
		refusal(m, msg);
		return -EINVAL;
	}
	snprintf(s->id, sizeof s->id, "mirrornet-%.48s", v->service);
	snprintf(name, sizeof name, "%s on %s", v->service, node);
	if (strlen(name) > MDNS_NAME_MAX)
		name[strlen(v->service)] = 0;   /* the service alone */
	snprintf(s->name, sizeof s->name, "%.*s", MDNS_NAME_MAX, name);
	s->port = v->port;
	if (v->proto != EXPOSE_TCP) {
		snprintf(s->txt[0], sizeof s->txt[0], "path=/");
		s->ntxt = 1;
	}
	return 0;
}

static void reload_done(void *st, bool ok, const char *status, uint64_t ms)
{
	struct expose_mdns *m = expose_mdns_of(st);

	(void)ms;
	m->reloading = false;
	if (ok) {
		m->reloads++;
		return;
	}
	m->reload_failures++;
	snprintf(m->last_error, sizeof m->last_error, "expose_mdns_reload %s", status);
	log_err("expose: %s", m->last_error);
}

/* Write what changed into c->mdns_dir: true if anything did. */
static bool write_files(struct expose_mdns *m, const struct expose_chan_conf *c, struct mdns_service *list,
			size_t n)
{
	char p[TORCFG_DIR_MAX + MDNS_ID_MAX + 16], msg[200], *text;
	size_t len;
	bool changed = false;
	int rc;

	if (c->mdns_format == 1) {
		unsigned skipped;
		if (mdns_umdns_render(list, n, &text, &len, &skipped, report, m) < 0) {
			snprintf(m->last_error, sizeof m->last_error, "out of memory");
			return false;
		}
		m->entries = (unsigned)(n - skipped);
		snprintf(p, sizeof p, "%s/%s", c->mdns_dir, UMDNS_FILE);
		if ((rc = file_put(p, text, len, 0644)) < 0) {
			m->write_failures++;
			snprintf(m->last_error, sizeof m->last_error, "%s: %s", p, strerror(-rc));
		}
		free(text);
		return rc > 0 || remove_ours(m, c->mdns_dir, (struct mdns_service[]){ { .id = "mirrornet.json" } }, 1);
	}
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		if (mdns_avahi_render(&list[i], &text, &len, msg, sizeof msg) < 0) {
			refusal(m, msg);
			continue;
		}
		list[kept++] = list[i];
		snprintf(p, sizeof p, "%s/%s.service", c->mdns_dir, list[i].id);
		if ((rc = file_put(p, text, len, 0644)) < 0) {
			m->write_failures++;
			snprintf(m->last_error, sizeof m->last_error, "%s: %s", p, strerror(-rc));
		}
		changed |= rc > 0;
		free(text);
	}
	m->entries = (unsigned)kept;
	return remove_ours(m, c->mdns_dir, list, kept) || changed;
}

void expose_mdns_regen(struct expose_mdns *m, const struct expose_chan_conf *c,
		       const struct expose_svc *svcs, size_t n)
{
	struct mdns_service *list;
	size_t nl = 0;
	int rc;

	/* off, or somewhere else now: ours go from where they were */
	if (m->dir[0] && (strcmp(m->dir, c->mdns_dir) || m->format != c->mdns_format)) {
		if (remove_ours(m, m->dir, NULL, 0) && c->mdns_reload[0])
			m->reload_pending = true;
		m->dir[0] = 0;
	}
	if (!c->mdns_dir[0]) {
		m->entries = 0;
		return;
	}
	if ((rc = expose_mkdirs(c->mdns_dir, 0755)) < 0) {
		m->write_failures++;
		snprintf(m->last_error, sizeof m->last_error, "%s: %s", c->mdns_dir, strerror(-rc));
		return;
	}
	snprintf(m->dir, sizeof m->dir, "%s", c->mdns_dir);
	m->format = c->mdns_format;
	if (!(list = calloc(MDNS_MAX, sizeof *list))) {
		snprintf(m->last_error, sizeof m->last_error, "out of memory");
		return;
	}
	m->refused = 0;
	m->last_refusal[0] = 0;
	node_entry(m, &list[nl++]);
	for (size_t i = 0; i < n && nl < MDNS_MAX; i++)
		if ((svcs[i].channels & CH_MDNS) && svc_entry(m, &svcs[i], &list[nl]) == 0)
			nl++;
	if (write_files(m, c, list, nl)) {
		m->writes++;
		m->reload_pending = c->mdns_reload[0] != 0;
	}
	free(list);
	if (!m->reload_pending || m->reloading)
		return;
	m->reloading = true;
	m->reload_pending = false;
	rc = host_run(m->h, c->mdns_reload, RELOAD_TIMEOUT_MS, reload_done);
	if (rc < 0) {
		m->reloading = false;
		if (rc == -EBUSY) {
			m->reload_pending = true;
			host_dirty(m->h);   /* after the running command */
			return;
		}
		m->reload_failures++;
		snprintf(m->last_error, sizeof m->last_error, "expose_mdns_reload: cannot run: %s", strerror(-rc));
	}
}

struct expose_mdns *expose_mdns_new(struct mn_host *h)
{
	struct expose_mdns *m = calloc(1, sizeof *m);

	if (m)
		m->h = h;
	return m;
}

void expose_mdns_free(struct expose_mdns *m)
{
	free(m);
}

struct json_object *expose_mdns_status(const struct expose_mdns *m, const struct expose_chan_conf *c)
{
	struct json_object *j = json_object_new_object();

	json_put_str(j, "dir", c->mdns_dir);
	if (c->mdns_dir[0]) {
		json_put_str(j, "format", c->mdns_format ? "umdns" : "avahi");
		const struct expose_count n[] = {
			{ "entries", m->entries }, { "writes", m->writes }, { "write_failures", m->write_failures },
			{ "refused", m->refused }, { "reloads", m->reloads }, { "reload_failures", m->reload_failures },
		};
		expose_json_counts(j, n, sizeof n / sizeof n[0]);
		expose_json_text(j, "last_refusal", m->last_refusal);
	}
	expose_json_text(j, "last_error", m->last_error);
	return j;
}
