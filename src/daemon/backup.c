/* The backup subsystem (docs/backup.md): this box's snapshots, encrypted
 * here, held by k peers; and, if it offers space, other boxes' blobs.
 *
 * Owner side. A push encrypts the file in the thread pool
 * (src/backup/snapfile.c) into DIR/own/<hash hex>, picks holders among the
 * offers (svc "backup" records) by rendezvous hashing, PUTs the blob to
 * each over the bulk channel (src/backup/bkchan.c) and publishes the
 * backup record with the holders that returned a valid receipt. Every
 * SWEEP_MS the sweep checks our records: a holder that is no longer a
 * member (revoked, cut off, its chain expired) or no longer offers is
 * dropped, and new holders are found until the record lists k again; the
 * snapshots of a name beyond backup_keep are withdrawn (tombstones) and
 * their local copy deleted.
 *
 * Holder side. The bulk channel stores blobs under DIR/held/<owner>/<hash>;
 * admit() enforces backup_quota per owner and the space offered; the sweep
 * deletes a blob no live backup record of its owner names (after
 * GRACE_MS: the owner publishes its record once the receipts are in), and
 * parts nobody finished for an hour.
 *
 * Nothing here lives only in memory that a restart would lose: our
 * snapshots are our backup records (in the store), the blobs are files,
 * the offer override is in the state table; a push cut by a restart is
 * pushed again by the sweep from DIR/own (it finds no record for it: the
 * ones that got receipts are re-PUT, which costs a receipt, not bytes). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "src/daemon/subsys.h"
#include "src/daemon/host_core.h"
#include "src/daemon/config.h"
#include "src/backup/bkchan.h"
#include "src/backup/holders.h"
#include "src/backup/schedule.h"
#include "src/backup/snapfile.h"
#include "src/log.h"
#include "crypto/chain.h"
#include "crypto/crypto.h"
#include "crypto/snapshot.h"
#include "proto/body.h"
#include "proto/hex.h"
#include "proto/record.h"
#include "src/body_json.h"

#define SWEEP_MS 5000
#define GRACE_MS (10 * 60 * 1000)
#define PART_MAX_AGE_S 3600
#define MAX_JOBS 8
#define MAX_OFFERS 256
#define MAX_RECOVERY 4
#define OFFER_REPUBLISH_S 3600
#define MAX_SCHED 4              /* backup_schedule and up to 3 backup_job lines */

struct backup_conf {
	char dir[CONFIG_PATH_MAX];      /* "" = off */
	uint64_t offer;                 /* bytes offered to others; 0 = none */
	uint64_t quota;                 /* per owner */
	unsigned copies;
	unsigned port;
	unsigned keep;
	uint64_t ttl_s;
	unsigned dead_grace_s;          /* a holder dead this long is replaced */
	char schedule[16];              /* "" off, "HH:MM" daily (local time), "Ns|Nm|Nh" */
	char schedule_cmd[512];         /* its output is the snapshot */
	char schedule_name[MN_MAX_NAME + 1];
	char recovery[MAX_RECOVERY * 65 + 8];   /* hex X25519 keys, comma-separated */
	/* more scheduled pushes of their own (backup_job NAME SCHEDULE CMD):
	 * e.g. the mail server's mailboxes (docs/mail.md) */
	struct bk_job_conf {
		char name[MN_MAX_NAME + 1];
		char schedule[16];
		char cmd[512];
	} job[MAX_SCHED - 1];
	size_t njobs;
};

enum job_kind { JOB_PUSH, JOB_PULL };
enum job_state { J_FREE, J_ENCRYPT, J_PUT, J_GET, J_DECRYPT, J_DONE, J_FAILED };
static const char *const job_state_names[] = { "free", "encrypting", "sending", "fetching",
	"decrypting", "done", "failed" };

struct offer {
	uint8_t pk[32];
	struct sockaddr_storage sa;
	uint64_t free;
	uint8_t parent[32];
};

struct encrypt_in {
	uint8_t rcpt[SNAP_MAX_RECIPIENTS][32];
	size_t nrcpt;
	uint8_t owner[32];
	char tmp[CONFIG_PATH_MAX + 80];
};

struct job {
	enum job_kind kind;
	enum job_state state;
	unsigned id;
	struct backup *b;
	uv_work_t work;
	bool working;
	char src[CONFIG_PATH_MAX], out[CONFIG_PATH_MAX], keyfile[CONFIG_PATH_MAX];
	char name[MN_MAX_NAME + 1];
	char error[200];
	unsigned copies;
	struct backup_body body;        /* push: what will be published; pull: the record */
	uint8_t origin[32];
	uint64_t done_bytes, total_bytes;
	int work_rc;
	/* PUTs in flight */
	struct put_slot { struct job *j; uint8_t pk[32]; bool busy; uint64_t done; } puts[MN_MAX_HOLDERS];
	unsigned nputs, holder_i;       /* pull: the holder tried */
	bool republish;                 /* push: an existing record to extend */
	bool unlink_src;                /* push: src is ours (the schedule's output) */
	struct encrypt_in ei;           /* push: for the thread pool */
};

struct backup {
	struct mn_host *h;
	struct bkchan *chan;
	uv_timer_t sweep;
	bool listening;
	char listen_ip[64];
	struct job jobs[MAX_JOBS];
	unsigned next_id;
	uint64_t offer_override;        /* state "offer": set by the API (UINT64_MAX: none) */
	uint64_t published_free, published_at;
	uint64_t pushes, pulls, replicated, pull_fallbacks, deleted, expired_parts, sweeps;
	/* the schedules (0: backup_schedule, 1..: backup_job i - 1): the last
	 * slot (unix s) started, kept as state "sched" / "sched.NAME" */
	uv_timer_t sched;
	struct sched_state {
		char name[MN_MAX_NAME + 1];   /* the schedule this state is of */
		uint64_t done, runs, failures;
		char last[200];
	} sc[MAX_SCHED];
	int sched_running;              /* the schedule whose command runs, or -1 */
	char last_error[200];
};

static const struct backup_conf *conf(const struct backup *b)
{
	return host_conf(b->h);
}

static uint64_t offered(const struct backup *b)
{
	return b->offer_override != UINT64_MAX ? b->offer_override : conf(b)->offer;
}

static void path_in(const struct backup *b, const char *sub, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", conf(b)->dir, sub);
}

static void own_path(const struct backup *b, const uint8_t hash[32], char *out, size_t cap)
{
	char hx[65];

	hex_encode(hash, 32, hx);
	snprintf(out, cap, "%s/own/%s", conf(b)->dir, hx);
}

/* ---- membership and offers ---- */

static bool is_member(struct mn_host *h, const uint8_t pk[32])
{
	struct chain_result res;

	return !host_is_revoked(h, pk) && host_chain(h, pk, &res) == 0;
}

/* Has SWIM said pk is dead or left, for at least grace_ms? A key we have
 * no view of (a daemon just started, ourselves) is not dead. */
static bool is_gone(struct backup *b, const uint8_t pk[32], uint64_t grace_ms)
{
	enum host_peer_state st;
	uint64_t since;

	if (host_peer_state(b->h, pk, &st, &since) < 0 ||
	    (st != HOST_PEER_DEAD && st != HOST_PEER_LEFT))
		return false;
	return since + grace_ms <= host_now_ms(b->h);
}

static bool chan_member(void *ctx, const uint8_t pk[32])
{
	struct backup *b = ctx;

	return is_member(b->h, pk);
}

static uint64_t chan_now(void *ctx)
{
	struct backup *b = ctx;

	return host_now_ms(b->h);
}

/* Bytes in a directory's regular files (at most 4096 looked at). */
static uint64_t dir_bytes(const char *d, unsigned *n)
{
	DIR *dd = opendir(d);
	struct dirent *e;
	uint64_t sum = 0;
	char p[CONFIG_PATH_MAX + 80];
	struct stat sb;
	unsigned k = 0;

	if (!dd)
		return 0;
	while ((e = readdir(dd)) && k < 4096) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", d, e->d_name);
		if (lstat(p, &sb) == 0 && S_ISREG(sb.st_mode))
			sum += (uint64_t)sb.st_size, k++;
	}
	closedir(dd);
	if (n)
		*n = k;
	return sum;
}

static uint64_t held_bytes(const struct backup *b, const uint8_t *owner)
{
	char d[CONFIG_PATH_MAX + 300];
	DIR *dd;
	struct dirent *e;
	uint64_t sum = 0;

	if (owner) {
		char held[CONFIG_PATH_MAX + 8];
		path_in(b, "held", held, sizeof held);
		bkchan_blob_path(held, owner, NULL, NULL, d, sizeof d);
		return dir_bytes(d, NULL);
	}
	path_in(b, "held", d, sizeof d);
	if (!(dd = opendir(d)))
		return 0;
	while ((e = readdir(dd))) {
		char sub[CONFIG_PATH_MAX + 600];
		if (e->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof sub, "%s/%s", d, e->d_name);
		sum += dir_bytes(sub, NULL);
	}
	closedir(dd);
	return sum;
}

static int chan_admit(void *ctx, const uint8_t owner[32], const uint8_t hash[32], uint64_t size)
{
	struct backup *b = ctx;

	(void)hash;
	if (held_bytes(b, owner) + size > conf(b)->quota || held_bytes(b, NULL) + size > offered(b))
		return -EDQUOT;
	return 0;
}

static void chan_stored(void *ctx, const uint8_t owner[32], const uint8_t hash[32], uint64_t size)
{
	struct backup *b = ctx;
	char hx[17];

	(void)hash;
	hex_encode(owner, 8, hx);
	log_info("backup: holding %" PRIu64 " bytes for %s", size, hx);
	b->published_at = 0;   /* free space changed: publish the offer again */
}

struct offers {
	struct backup *b;
	struct offer o[MAX_OFFERS];
	size_t n;
	uint64_t need;
	bool live_only;        /* choosing holders: not those dead or left */
};

static int offer_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct offers *os = ctx;
	struct backup *b = os->b;
	union body body;
	uint8_t path[MN_MAX_DEPTH + 2][32];
	size_t np;
	struct chain_result res;
	struct offer *o;

	(void)id;
	if (r->kind != KIND_SVC || record_is_tombstone(r) || strcmp(r->key, "backup") != 0 ||
	    !memcmp(r->origin, host_self(b->h), 32) || os->n >= MAX_OFFERS ||
	    body_decode(KIND_SVC, r->body, r->body_len, &body) < 0 || strcmp(body.svc.service, "backup"))
		return 0;
	if (host_is_revoked(b->h, r->origin) || (os->live_only && is_gone(b, r->origin, 0)) ||
	    subsys_chain_path(b->h, r->origin, path, MN_MAX_DEPTH + 2, &np, &res) < 0)
		return 0;
	o = &os->o[os->n];
	memset(o, 0, sizeof *o);
	memcpy(o->pk, r->origin, 32);
	for (unsigned i = 0; i < body.svc.n_attrs; i++)
		if (!strcmp(body.svc.attrs[i].k, "free"))
			o->free = strtoull(body.svc.attrs[i].v, NULL, 10);
	if (o->free < os->need)
		return 0;
	/* where: in the tunnel its certified mesh address; a mesh without
	 * WireGuard (loopback tests): the address its offer names */
	bool tunnel = host_wg(b->h) && res.mesh_addr[0];
	const char *ip = tunnel ? res.mesh_addr : body.svc.endpoint;
	char ep[MN_MAX_ENDPOINT + 8];
	if (tunnel) {
		if (addr_mesh_sa(ip, body.svc.port, &o->sa) < 0)
			return 0;
	} else {
		size_t salen;
		snprintf(ep, sizeof ep, strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, body.svc.port);
		if (addr_parse(ep, &o->sa, &salen) < 0)
			return 0;
	}
	if (np >= 2)
		memcpy(o->parent, path[np - 2], 32);
	os->n++;
	return 0;
}

/* The offers with room, never ourselves nor a key in `skip`, in the order
 * holders_choose() gives (src/backup/holders.h). Up to want into out. */
static size_t choose(struct backup *b, const uint8_t hash[32], uint64_t size,
		     const struct holder *skip, size_t nskip, size_t want, struct offer *out)
{
	struct offers *os = calloc(1, sizeof *os);
	struct holder_offer *ho = calloc(MAX_OFFERS, sizeof *ho);
	uint8_t sk[MN_MAX_HOLDERS][32];
	size_t idx[MN_MAX_HOLDERS], n = 0;

	if (!os || !ho)
		goto out;
	os->b = b;
	os->need = size;
	os->live_only = true;
	host_each(b->h, KIND_BIT(KIND_SVC), NULL, offer_cb, os);
	for (size_t i = 0; i < os->n; i++) {
		memcpy(ho[i].pk, os->o[i].pk, 32);
		memcpy(ho[i].parent, os->o[i].parent, 32);
		ho[i].free = os->o[i].free;
	}
	for (size_t k = 0; k < nskip && k < MN_MAX_HOLDERS; k++)
		memcpy(sk[k], skip[k].node, 32);
	if (want > MN_MAX_HOLDERS)
		want = MN_MAX_HOLDERS;
	n = holders_choose(hash, host_self(b->h), size, ho, os->n, (const uint8_t (*)[32])sk,
			   nskip < MN_MAX_HOLDERS ? nskip : MN_MAX_HOLDERS, want, idx);
	for (size_t i = 0; i < n; i++)
		out[i] = os->o[idx[i]];
out:
	free(os);
	free(ho);
	return n;
}

/* ---- jobs ---- */

static struct job *job_new(struct backup *b, enum job_kind kind)
{
	for (unsigned i = 0; i < MAX_JOBS; i++) {
		struct job *j = &b->jobs[i];
		if (j->state == J_FREE || ((j->state == J_DONE || j->state == J_FAILED) && !j->working &&
					   !j->nputs)) {
			memset(j, 0, sizeof *j);
			j->b = b;
			j->kind = kind;
			j->id = ++b->next_id;
			return j;
		}
	}
	return NULL;
}

static void job_fail(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void job_fail(struct job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->error, sizeof j->error, fmt, ap);
	va_end(ap);
	j->state = J_FAILED;
	snprintf(j->b->last_error, sizeof j->b->last_error, "%s", j->error);
	log_warn("backup: job %u: %s", j->id, j->error);
}

static void snap_id(const uint8_t hash[32], char *id)
{
	char hx[65];

	hex_encode(hash, 32, hx);
	memcpy(id, hx, 24);
	id[24] = 0;
}

static void keep_last(struct backup *b, const char *name);

static void publish_push(struct job *j)
{
	struct backup *b = j->b;
	int perr;

	if (!j->body.n_holders) {
		job_fail(j, "no holder gave a receipt (offers with room: see backup status)");
		return;
	}
	int rc = host_publish(b->h, KIND_BACKUP, j->body.snapshot, (union body *)&j->body,
			      conf(b)->ttl_s, NULL, &perr);
	if (rc < 0) {
		job_fail(j, "publishing the backup record failed (%d)", rc);
		return;
	}
	j->state = J_DONE;
	if (!j->republish) {
		b->pushes++;
		keep_last(b, j->body.name);
	}
	log_info("backup: snapshot %s (%s) held by %u", j->body.snapshot, j->body.name,
		 j->body.n_holders);
}

static void put_done(void *ctx, int rc, unsigned code, const uint8_t *receipt)
{
	struct put_slot *s = ctx;
	struct job *j = s->j;
	char who[17];

	s->busy = false;
	j->nputs--;
	hex_encode(s->pk, 8, who);
	if (rc == 0 && !code && receipt && j->body.n_holders < MN_MAX_HOLDERS) {
		memcpy(j->body.holders[j->body.n_holders].node, s->pk, 32);
		memcpy(j->body.receipts[j->body.n_holders].sig, receipt, 64);
		j->body.n_holders++;
		j->body.n_receipts = j->body.n_holders;
		if (j->republish)
			j->b->replicated++;
	} else {
		log_warn("backup: %s did not take snapshot %s: %s", who, j->body.snapshot,
			 code ? bk_code_name(code) : strerror(-rc));
	}
	if (!j->nputs && j->state == J_PUT)
		publish_push(j);
}

static void put_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct put_slot *s = ctx;
	struct job *j = s->j;

	(void)total;
	s->done = done;
	j->done_bytes = 0;
	for (unsigned i = 0; i < MN_MAX_HOLDERS; i++)
		j->done_bytes += j->puts[i].done;
}

/* PUT the job's blob to up to want new holders. */
static void start_puts(struct job *j, size_t want)
{
	struct backup *b = j->b;
	struct offer chosen[MN_MAX_HOLDERS];
	char path[CONFIG_PATH_MAX + 80];
	size_t n = choose(b, j->body.hash, j->body.size, j->body.holders, j->body.n_holders,
			  want, chosen);

	own_path(b, j->body.hash, path, sizeof path);
	j->state = J_PUT;
	j->total_bytes = j->body.size * n;
	for (size_t i = 0; i < n && i < MN_MAX_HOLDERS; i++) {
		struct put_slot *s = &j->puts[i];
		struct bkjob_req q = { (struct sockaddr *)&chosen[i].sa, chosen[i].pk, NULL,
				       j->body.hash, j->body.size, path, put_progress, put_done, s };
		s->j = j;
		memcpy(s->pk, chosen[i].pk, 32);
		if (bkchan_put(b->chan, &q, NULL) == 0) {
			s->busy = true;
			j->nputs++;
		}
	}
	if (!j->nputs)
		publish_push(j);   /* fails if no holder at all, republishes else */
}


static void enc_progress(void *ctx, uint64_t done)
{
	struct job *j = ctx;

	__atomic_store_n(&j->done_bytes, done, __ATOMIC_RELAXED);
}

static void encrypt_work(uv_work_t *w)
{
	struct job *j = w->data;
	struct snap_header hd;
	struct stat sb;
	int in = open(j->src, O_RDONLY | O_CLOEXEC), out = -1;
	struct encrypt_in *ei = malloc(sizeof *ei);

	j->work_rc = -ENOMEM;
	if (!ei)
		goto out;
	memcpy(ei, (&j->ei), sizeof *ei);
	if (in < 0 || fstat(in, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		j->work_rc = in < 0 ? -errno : -EINVAL;
		goto out;
	}
	out = open(ei->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		j->work_rc = -errno;
		goto out;
	}
	memset(&hd, 0, sizeof hd);
	memcpy(hd.owner, ei->owner, 32);
	snprintf(hd.name, sizeof hd.name, "%s", j->name);
	hd.created = j->body.created;
	hd.plain_size = (uint64_t)sb.st_size;
	hd.chunk = SNAP_CHUNK_DEFAULT;
	j->total_bytes = hd.plain_size;
	j->work_rc = snapfile_encrypt(in, out, &hd, (const uint8_t (*)[32])ei->rcpt, ei->nrcpt,
				      j->body.hash, &j->body.size, enc_progress, j);
	if (j->work_rc == 0 && fsync(out) < 0)
		j->work_rc = -errno;
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	free(ei);
}

static void encrypt_done(uv_work_t *w, int status)
{
	struct job *j = w->data;
	struct backup *b = j->b;
	char path[CONFIG_PATH_MAX + 80], tmp[CONFIG_PATH_MAX + 80];

	j->working = false;
	snprintf(tmp, sizeof tmp, "%s", (&j->ei)->tmp);
	if (j->unlink_src)
		unlink(j->src);
	if (status < 0 || j->work_rc < 0) {
		unlink(tmp);
		job_fail(j, "encrypting %s: %s", j->src, strerror(-(status < 0 ? status : j->work_rc)));
		return;
	}
	own_path(b, j->body.hash, path, sizeof path);
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		job_fail(j, "storing the encrypted snapshot: %s", strerror(errno));
		return;
	}
	snap_id(j->body.hash, j->body.snapshot);
	snprintf(j->body.name, sizeof j->body.name, "%s", j->name);
	j->done_bytes = 0;
	start_puts(j, j->copies);
}

/* The recipients: our X25519 key and the configured recovery keys. */
static size_t recipients(struct backup *b, uint8_t (*r)[32])
{
	const char *p = conf(b)->recovery;
	size_t n = 1;

	snap_node_x25519(host_key(b->h), r[0], NULL);
	while (*p && n < SNAP_MAX_RECIPIENTS) {
		if (hex_decode(p, r[n], 32) == 0 && (p[64] == ',' || p[64] == 0))
			n++;
		p += 64;
		if (*p == ',')
			p++;
		else
			break;
	}
	return n;
}

/* Encrypt file (in the thread pool) and send it to copies holders: the
 * job, or NULL with *rc and a message. unlink_src: the file is ours to
 * delete once encrypted. */
static struct job *start_push(struct backup *b, const char *file, const char *name,
			      unsigned copies, bool unlink_src, char *err, size_t errcap, int *rc)
{
	struct job *j = job_new(b, JOB_PUSH);

	if (!j) {
		snprintf(err, errcap, "too many transfers running (%d)", MAX_JOBS);
		*rc = -EBUSY;
		return NULL;
	}
	snprintf(j->src, sizeof j->src, "%s", file);
	snprintf(j->name, sizeof j->name, "%s", name);
	j->copies = copies;
	j->unlink_src = unlink_src;
	j->body.created = host_now_ms(b->h) / 1000;
	j->ei.nrcpt = recipients(b, j->ei.rcpt);
	memcpy(j->ei.owner, host_self(b->h), 32);
	snprintf(j->ei.tmp, sizeof j->ei.tmp, "%s/own/.tmp-%u", conf(b)->dir, j->id);
	j->state = J_ENCRYPT;
	j->work.data = j;
	j->working = true;
	if (uv_queue_work(host_loop(b->h), &j->work, encrypt_work, encrypt_done) < 0) {
		j->working = false;
		j->state = J_FREE;
		snprintf(err, errcap, "out of memory");
		*rc = -ENOMEM;
		return NULL;
	}
	return j;
}

/* ---- pull ---- */

static void pull_next(struct job *j);

static void decrypt_work(uv_work_t *w)
{
	struct job *j = w->data;
	struct backup *b = j->b;
	uint8_t pk[32], sk[32];
	char in_path[CONFIG_PATH_MAX + 80], tmp[CONFIG_PATH_MAX + 16];
	struct snap_header hd;
	int in, out;

	if (j->keyfile[0]) {
		char buf[RECOVERY_KEY_FILE_LEN + 1];
		int fd = open(j->keyfile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		ssize_t r = fd < 0 ? -1 : snapfile_read_full(fd, (uint8_t *)buf, sizeof buf);
		if (fd >= 0)
			close(fd);
		j->work_rc = r == RECOVERY_KEY_FILE_LEN && recovery_key_parse(buf, (size_t)r, pk, sk) == 0
				     ? 0 : -ENOKEY;
		crypto_wipe(buf, sizeof buf);
		if (j->work_rc < 0)
			return;
	} else {
		snap_node_x25519(host_key(b->h), pk, sk);
	}
	char hx[65];
	hex_encode(j->body.hash, 32, hx);
	snprintf(in_path, sizeof in_path, "%s/in/%s.part", conf(b)->dir, hx);
	snprintf(tmp, sizeof tmp, "%s.tmp", j->out);
	in = open(in_path, O_RDONLY | O_CLOEXEC);
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (in < 0 || out < 0)
		j->work_rc = -errno;
	else
		j->work_rc = snapfile_decrypt(in, out, pk, sk, &hd, enc_progress, j);
	crypto_wipe(sk, sizeof sk);
	if (in >= 0)
		close(in);
	if (out >= 0) {
		if (j->work_rc == 0 && fsync(out) < 0)
			j->work_rc = -errno;
		close(out);
	}
	if (j->work_rc == 0 && rename(tmp, j->out) < 0)
		j->work_rc = -errno;
	if (j->work_rc < 0)
		unlink(tmp);
	unlink(in_path);
}

static void decrypt_done(uv_work_t *w, int status)
{
	struct job *j = w->data;

	j->working = false;
	if (status < 0 || j->work_rc < 0) {
		int rc = status < 0 ? status : j->work_rc;
		job_fail(j, "decrypting: %s", rc == -ENOKEY ? "this key is not one the snapshot was sealed to"
							   : strerror(-rc));
		return;
	}
	j->state = J_DONE;
	j->b->pulls++;
}

static void get_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct job *j = ctx;

	j->done_bytes = done;
	j->total_bytes = total;
}

static void get_done(void *ctx, int rc, unsigned code, const uint8_t *receipt)
{
	struct job *j = ctx;
	char who[17];

	(void)receipt;
	j->nputs = 0;
	if (rc == 0 && !code) {
		j->state = J_DECRYPT;
		j->done_bytes = 0;
		j->work.data = j;
		j->working = true;
		if (uv_queue_work(host_loop(j->b->h), &j->work, decrypt_work, decrypt_done) < 0) {
			j->working = false;
			job_fail(j, "out of memory");
		}
		return;
	}
	hex_encode(j->body.holders[j->holder_i].node, 8, who);
	log_warn("backup: fetching %s from %s failed: %s; trying the next holder", j->body.snapshot,
		 who, code ? bk_code_name(code) : strerror(-rc));
	j->b->pull_fallbacks++;
	j->holder_i++;
	pull_next(j);
}

static int find_addr(struct backup *b, const uint8_t pk[32], struct sockaddr_storage *sa)
{
	struct offers *os = calloc(1, sizeof *os);
	int rc = -ENOENT;

	if (!os)
		return -ENOMEM;
	os->b = b;
	host_each(b->h, KIND_BIT(KIND_SVC), NULL, offer_cb, os);
	for (size_t i = 0; i < os->n; i++)
		if (!memcmp(os->o[i].pk, pk, 32)) {
			*sa = os->o[i].sa;
			rc = 0;
		}
	free(os);
	return rc;
}

static void pull_next(struct job *j)
{
	struct backup *b = j->b;
	char hx[65], part[CONFIG_PATH_MAX + 80];
	struct sockaddr_storage sa;

	hex_encode(j->body.hash, 32, hx);
	snprintf(part, sizeof part, "%s/in/%s.part", conf(b)->dir, hx);
	for (; j->holder_i < j->body.n_holders; j->holder_i++) {
		const uint8_t *pk = j->body.holders[j->holder_i].node;
		if (find_addr(b, pk, &sa) < 0)
			continue;
		struct bkjob_req q = { (struct sockaddr *)&sa, pk, j->origin, j->body.hash,
				       j->body.size, part, get_progress, get_done, j };
		if (bkchan_get(b->chan, &q, NULL) == 0) {
			j->state = J_GET;
			j->nputs = 1;
			return;
		}
	}
	job_fail(j, "no holder of %s gave a good copy", j->body.snapshot);
}

/* ---- the sweep: re-replication, retention, holder clean-up, offer ---- */

struct own_rec {
	struct backup *b;
	char snapshot[MN_MAX_NAME + 1];
	const char *name;
	struct { char key[MN_MAX_RKEY + 1]; uint64_t created; uint8_t hash[32]; } list[64];
	size_t n;
	bool found;
	union body body;
	uint8_t origin[32];
};

static bool job_for(struct backup *b, const char *snapshot)
{
	for (unsigned i = 0; i < MAX_JOBS; i++)
		if ((b->jobs[i].state == J_PUT || b->jobs[i].state == J_ENCRYPT) &&
		    !strcmp(b->jobs[i].body.snapshot, snapshot) && b->jobs[i].kind == JOB_PUSH)
			return true;
	return false;
}

static int replicate_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct backup *b = ctx;
	union body body;
	struct backup_body keep;
	char path[CONFIG_PATH_MAX + 80];

	(void)id;
	if (r->kind != KIND_BACKUP || record_is_tombstone(r) || memcmp(r->origin, host_self(b->h), 32) ||
	    body_decode(KIND_BACKUP, r->body, r->body_len, &body) < 0 || job_for(b, r->key))
		return 0;
	keep = body.backup;
	keep.n_holders = keep.n_receipts = 0;
	for (unsigned i = 0; i < body.backup.n_holders; i++) {
		struct sockaddr_storage sa;
		const uint8_t *pk = body.backup.holders[i].node;
		if (!is_member(b->h, pk) || find_addr(b, pk, &sa) < 0 ||
		    is_gone(b, pk, (uint64_t)conf(b)->dead_grace_s * 1000))
			continue;   /* revoked, no longer offers, or stopped for good */
		keep.holders[keep.n_holders] = body.backup.holders[i];
		keep.receipts[keep.n_holders++] = body.backup.receipts[i];
	}
	keep.n_receipts = keep.n_holders;
	bool lost = keep.n_holders < body.backup.n_holders;
	if (keep.n_holders >= conf(b)->copies && !lost)
		return 0;
	own_path(b, keep.hash, path, sizeof path);
	if (access(path, R_OK) < 0)
		return 0;   /* our copy is gone: nothing to send */
	struct job *j = job_new(b, JOB_PUSH);
	if (!j)
		return 1;
	j->body = keep;
	j->republish = true;
	j->copies = conf(b)->copies;
	snprintf(j->name, sizeof j->name, "%s", keep.name);
	log_info("backup: snapshot %s has %u of %u copies: finding holders", keep.snapshot,
		 keep.n_holders, conf(b)->copies);
	start_puts(j, keep.n_holders < j->copies ? j->copies - keep.n_holders : 0);
	return 0;
}

static int by_name_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct own_rec *o = ctx;
	union body body;

	(void)id;
	if (r->kind != KIND_BACKUP || record_is_tombstone(r) ||
	    memcmp(r->origin, host_self(o->b->h), 32) ||
	    body_decode(KIND_BACKUP, r->body, r->body_len, &body) < 0 ||
	    strcmp(body.backup.name, o->name) || o->n >= 64)
		return 0;
	snprintf(o->list[o->n].key, sizeof o->list[o->n].key, "%s", r->key);
	o->list[o->n].created = body.backup.created;
	memcpy(o->list[o->n].hash, body.backup.hash, 32);
	o->n++;
	return 0;
}

/* Withdraw the snapshots of name beyond the newest backup_keep. */
static void keep_last(struct backup *b, const char *name)
{
	struct own_rec *o = calloc(1, sizeof *o);
	char path[CONFIG_PATH_MAX + 80];
	int perr;

	if (!o)
		return;
	o->b = b;
	o->name = name;
	host_each(b->h, KIND_BIT(KIND_BACKUP), NULL, by_name_cb, o);
	while (o->n > conf(b)->keep) {
		size_t old = 0;
		for (size_t i = 1; i < o->n; i++)
			if (o->list[i].created < o->list[old].created)
				old = i;
		host_publish(b->h, KIND_BACKUP, o->list[old].key, NULL, 60, NULL, &perr);
		own_path(b, o->list[old].hash, path, sizeof path);
		unlink(path);
		log_info("backup: snapshot %s withdrawn (keeping the last %u of %s)", o->list[old].key,
			 conf(b)->keep, name);
		o->list[old] = o->list[--o->n];
	}
	free(o);
}

struct live {
	uint8_t owner[32], hash[32];
};
struct lives {
	struct live l[1024];
	size_t n;
};

static int live_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct lives *ls = ctx;
	union body body;

	(void)id;
	if (r->kind != KIND_BACKUP || record_is_tombstone(r) || ls->n >= 1024 ||
	    body_decode(KIND_BACKUP, r->body, r->body_len, &body) < 0)
		return 0;
	memcpy(ls->l[ls->n].owner, r->origin, 32);
	memcpy(ls->l[ls->n].hash, body.backup.hash, 32);
	ls->n++;
	return 0;
}

/* Delete held blobs no live record names (after the grace), and old parts. */
static void clean_held(struct backup *b)
{
	struct lives *ls = calloc(1, sizeof *ls);
	char held[CONFIG_PATH_MAX + 8], od[CONFIG_PATH_MAX + 300], f[CONFIG_PATH_MAX + 600];
	DIR *d, *e;
	struct dirent *x, *y;
	uint64_t now_s = host_now_ms(b->h) / 1000;

	if (!ls)
		return;
	host_each(b->h, KIND_BIT(KIND_BACKUP), NULL, live_cb, ls);
	path_in(b, "held", held, sizeof held);
	if (!(d = opendir(held))) {
		free(ls);
		return;
	}
	while ((x = readdir(d))) {
		uint8_t owner[32], hash[32];
		if (strlen(x->d_name) != 64 || hex_decode(x->d_name, owner, 32) < 0)
			continue;
		snprintf(od, sizeof od, "%s/%s", held, x->d_name);
		if (!(e = opendir(od)))
			continue;
		while ((y = readdir(e))) {
			struct stat sb;
			size_t nl = strlen(y->d_name);
			snprintf(f, sizeof f, "%s/%s", od, y->d_name);
			if (y->d_name[0] == '.' || lstat(f, &sb) < 0 || !S_ISREG(sb.st_mode))
				continue;
			if (nl == 69 && !strcmp(y->d_name + 64, ".part")) {
				if ((uint64_t)sb.st_mtime + PART_MAX_AGE_S < now_s && unlink(f) == 0)
					b->expired_parts++;
				continue;
			}
			if (nl != 64 || hex_decode(y->d_name, hash, 32) < 0)
				continue;
			bool live = false;
			for (size_t i = 0; i < ls->n && !live; i++)
				live = !memcmp(ls->l[i].owner, owner, 32) && !memcmp(ls->l[i].hash, hash, 32);
			if (!live && (uint64_t)sb.st_mtime * 1000 + GRACE_MS < host_now_ms(b->h) &&
			    unlink(f) == 0) {
				b->deleted++;
				b->published_at = 0;
			}
		}
		closedir(e);
	}
	closedir(d);
	free(ls);
}

static void publish_offer(struct backup *b, bool force)
{
	uint64_t off = offered(b), now_s = host_now_ms(b->h) / 1000;
	union body body;
	int perr;

	if (!b->listening)
		return;
	if (!off) {
		if (b->published_free) {
			host_publish(b->h, KIND_SVC, "backup", NULL, 60, NULL, &perr);
			b->published_free = 0;
		}
		return;
	}
	uint64_t used = held_bytes(b, NULL), fr = used < off ? off - used : 0;
	if (!force && fr == b->published_free && b->published_at &&
	    now_s < b->published_at + OFFER_REPUBLISH_S)
		return;
	memset(&body, 0, sizeof body);
	snprintf(body.svc.service, sizeof body.svc.service, "backup");
	snprintf(body.svc.endpoint, sizeof body.svc.endpoint, "%s", b->listen_ip);
	body.svc.port = (uint16_t)conf(b)->port;
	body.svc.n_attrs = 1;
	snprintf(body.svc.attrs[0].k, sizeof body.svc.attrs[0].k, "free");
	snprintf(body.svc.attrs[0].v, sizeof body.svc.attrs[0].v, "%" PRIu64, fr);
	if (host_publish(b->h, KIND_SVC, "backup", &body, 4 * OFFER_REPUBLISH_S, NULL, &perr) == 0) {
		b->published_free = fr ? fr : 1;
		b->published_at = now_s;
	}
}

/* Our snapshot records' ids (at most MAX_SWEEP a sweep). */
#define MAX_SWEEP 256
struct own_ids {
	const uint8_t *me;
	uint8_t (*id)[32];
	size_t n;
};

static int own_id_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct own_ids *o = ctx;

	if (r->kind != KIND_BACKUP || record_is_tombstone(r) || memcmp(r->origin, o->me, 32))
		return 0;
	memcpy(o->id[o->n++], id, 32);
	return o->n == MAX_SWEEP;
}

static void sweep(uv_timer_t *t)
{
	struct backup *b = t->data;
	struct own_ids o = { host_self(b->h), calloc(MAX_SWEEP, 32), 0 };

	publish_offer(b, false);
	/* replication publishes our record again: not while walking the
	 * store (the walk would go on through the record it replaced), but
	 * one record at a time, by id, after it */
	if (o.id && host_each(b->h, KIND_BIT(KIND_BACKUP), o.me, own_id_cb, &o) >= 0)
		for (size_t i = 0; i < o.n; i++)
			if (host_find(b->h, o.id[i], replicate_cb, b) > 0)
				break;   /* no job slot left */
	free(o.id);
	clean_held(b);
	b->sweeps++;
}

/* ---- the schedules (src/backup/schedule.h) ---- */

/* Schedule i's settings: false when it is off. */
static bool sched_of(const struct backup *b, int i, const char **name, const char **when, const char **cmd)
{
	const struct backup_conf *c = conf(b);

	if (i == 0) {
		*name = c->schedule_name, *when = c->schedule, *cmd = c->schedule_cmd;
		return c->schedule[0] != 0;
	}
	if ((size_t)i > c->njobs)
		return false;
	*name = c->job[i - 1].name, *when = c->job[i - 1].schedule, *cmd = c->job[i - 1].cmd;
	return true;
}

/* Its state key and output file: "sched" and own/.schedule for the first
 * (as before backup_job existed), "sched.NAME" and own/.schedule.NAME. */
static void sched_key(const struct backup *b, int i, char *out, size_t cap)
{
	const char *name, *when, *cmd;

	if (i == 0 || !sched_of(b, i, &name, &when, &cmd))
		snprintf(out, cap, "sched");
	else
		snprintf(out, cap, "sched.%s", name);
}

static void sched_path(const struct backup *b, int i, char *out, size_t cap)
{
	char k[MN_MAX_NAME + 8];

	sched_key(b, i, k, sizeof k);
	snprintf(out, cap, "%s/own/.%s%s", conf(b)->dir, i ? "schedule." : "schedule", i ? k + 6 : "");
}

static void sched_ran(void *st, bool ok, const char *status, uint64_t ms)
{
	struct backup *b = st;
	int i = b->sched_running;
	struct sched_state *s = &b->sc[i];
	char path[CONFIG_PATH_MAX + 80], err[160];
	const char *name, *when, *cmd;
	struct stat sb;
	int rc;

	(void)ms;
	b->sched_running = -1;
	sched_path(b, i, path, sizeof path);
	if (!ok || !sched_of(b, i, &name, &when, &cmd) || stat(path, &sb) < 0 || sb.st_size == 0) {
		s->failures++;
		snprintf(s->last, sizeof s->last, "the command %s", ok ? "wrote nothing" : status);
		log_warn("backup: scheduled push %d: %s", i, s->last);
		unlink(path);
		return;
	}
	if (!start_push(b, path, name, conf(b)->copies, true, err, sizeof err, &rc)) {
		s->failures++;
		snprintf(s->last, sizeof s->last, "%s", err);
		unlink(path);
		return;
	}
	s->runs++;
	snprintf(s->last, sizeof s->last, "pushed");
}

static void sched_store(struct backup *b, int i, uint64_t slot)
{
	char k[MN_MAX_NAME + 8];
	uint8_t v[8];

	for (int n = 0; n < 8; n++)
		v[n] = (uint8_t)(slot >> (56 - 8 * n));
	b->sc[i].done = slot;
	sched_key(b, i, k, sizeof k);
	if (host_state_put(b->h, k, v, sizeof v) < 0)
		log_warn("backup: schedule state: %s", host_state_error(b->h));
}

/* The state of schedule i is of the schedule named name (a reload may
 * have added, removed or reordered backup_job lines): else it is read
 * again from the state table. */
static void sched_load(struct backup *b, int i, const char *name)
{
	struct sched_state *s = &b->sc[i];
	char k[MN_MAX_NAME + 8];
	uint8_t v[8];

	if (!strcmp(s->name, name))
		return;
	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", name);
	sched_key(b, i, k, sizeof k);
	if (host_state_get(b->h, k, v, sizeof v) == 8)
		for (int n = 0; n < 8; n++)
			s->done = s->done << 8 | v[n];
}

/* Every second: is a schedule's latest slot newer than the one it did?
 * Then run its command (its stdout to own/.schedule[.NAME]) and push what
 * it wrote, under its name. The slot is stored before the command runs: a
 * restart meanwhile does not push twice (a failure waits for the next slot
 * and is counted). One command at a time: another one due waits. */
static void sched_tick(uv_timer_t *t)
{
	struct backup *b = t->data;
	struct schedule sc;
	const char *name, *when, *cmd;
	char run[sizeof conf(b)->schedule_cmd + CONFIG_PATH_MAX + 120], path[CONFIG_PATH_MAX + 80];

	for (int i = 0; i < MAX_SCHED && b->sched_running < 0; i++) {
		if (!sched_of(b, i, &name, &when, &cmd) || schedule_parse(when, &sc) < 0)
			continue;
		sched_load(b, i, name);
		struct sched_state *s = &b->sc[i];
		uint64_t slot = schedule_slot(&sc, host_now_ms(b->h) / 1000), before = s->done;
		if (slot <= s->done)
			continue;
		sched_store(b, i, slot);
		if (!before)   /* first time on: from now on, not at once */
			continue;
		sched_path(b, i, path, sizeof path);
		snprintf(run, sizeof run, "umask 077; (%s) > '%s'", cmd, path);
		b->sched_running = i;   /* before: done may come at once */
		int rc = host_run(b->h, run, 600000, sched_ran);
		if (rc == -EBUSY) {     /* another command of ours: this slot again in a second */
			b->sched_running = -1;
			sched_store(b, i, before);
		} else if (rc < 0) {
			b->sched_running = -1;
			s->failures++;
			snprintf(s->last, sizeof s->last, "the command did not start: %s", strerror(-rc));
		}
	}
}

/* ---- life ---- */

static void *bk_start(struct mn_host *h, char *err, size_t errcap)
{
	struct backup *b = calloc(1, sizeof *b);
	const struct config *cfg = host_config(h);
	struct sockaddr_storage sa;
	char d[CONFIG_PATH_MAX + 8];
	uint8_t v[16];
	int rc;

	if (!b) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	b->h = h;
	b->offer_override = UINT64_MAX;
	b->sched_running = -1;
	if (!conf(b)->dir[0] || !host_key(h))
		return b;   /* off */
	if (host_state_get(h, "offer", v, sizeof v) == 8) {
		b->offer_override = 0;
		for (int i = 0; i < 8; i++)
			b->offer_override = b->offer_override << 8 | v[i];
	}
	static const char *const subs[] = { "", "/own", "/held", "/in" };
	for (size_t i = 0; i < 4; i++) {
		snprintf(d, sizeof d, "%s%s", conf(b)->dir, subs[i]);
		if (mkdir(d, 0700) < 0 && errno != EEXIST) {
			snprintf(err, errcap, "backup_dir %s: %s", d, strerror(errno));
			free(b);
			return NULL;
		}
	}
	struct bkchan_ops ops = { b, chan_member, chan_admit, chan_stored, chan_now };
	path_in(b, "held", d, sizeof d);
	if (!(b->chan = bkchan_new(host_loop(h), host_key(h), d, &ops))) {
		snprintf(err, errcap, "out of memory");
		free(b);
		return NULL;
	}
	/* inside the tunnel on the mesh address; a mesh without one (the
	 * loopback tests): the gossip listener's address */
	if (host_wg(h) && cfg->mesh_addr[0])
		rc = addr_mesh_sa(cfg->mesh_addr, conf(b)->port, &sa);
	else {
		sa = cfg->listen_sa;
		if (sa.ss_family == AF_INET)
			((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)conf(b)->port);
		else
			((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)conf(b)->port);
		rc = 0;
	}
	if (rc == 0)
		rc = bkchan_listen(b->chan, (struct sockaddr *)&sa);
	if (rc < 0) {
		snprintf(err, errcap, "backup channel on port %u: %s", conf(b)->port, uv_strerror(rc));
		bkchan_stop(b->chan);
		return b;   /* (freed in stop/free) — reported, the daemon does not start */
	}
	char at[64];
	addr_text(&sa, at, sizeof at);
	/* the address alone, without the port */
	char *colon = strrchr(at, ':');
	if (colon)
		*colon = 0;
	snprintf(b->listen_ip, sizeof b->listen_ip, "%s", at[0] == '[' ? at + 1 : at);
	if ((colon = strchr(b->listen_ip, ']')))
		*colon = 0;
	b->listening = true;
	uv_timer_init(host_loop(h), &b->sweep);
	b->sweep.data = b;
	uv_timer_start(&b->sweep, sweep, 200, SWEEP_MS);
	uv_timer_init(host_loop(h), &b->sched);
	b->sched.data = b;
	uv_timer_start(&b->sched, sched_tick, 100, 1000);
	return b;
}

static void bk_record(void *st, const struct rec_view *v)
{
	(void)st, (void)v;   /* the sweep reads the store: nothing kept per record */
}

static void bk_stop(void *st)
{
	struct backup *b = st;

	if (b->chan)
		bkchan_stop(b->chan);
	if (b->listening) {
		uv_close((uv_handle_t *)&b->sweep, NULL);
		uv_close((uv_handle_t *)&b->sched, NULL);
	}
}

static void bk_free(void *st)
{
	struct backup *b = st;

	if (b)
		bkchan_free(b->chan);
	free(b);
}

/* ---- status and API ---- */

static struct json_object *job_json(const struct job *j)
{
	struct json_object *o = json_object_new_object();

	json_put_int(o, "job", j->id);
	json_put_str(o, "kind", j->kind == JOB_PUSH ? "push" : "pull");
	json_put_str(o, "state", job_state_names[j->state]);
	json_put_str(o, "snapshot", j->body.snapshot);
	json_put_int(o, "done_bytes", (int64_t)j->done_bytes);
	json_put_int(o, "total_bytes", (int64_t)j->total_bytes);
	json_put_int(o, "holders", j->body.n_holders);
	if (j->error[0])
		json_put_str(o, "error", j->error);
	return o;
}

static const char *peer_state_text(struct backup *b, const uint8_t pk[32])
{
	static const char *const names[] = { "alive", "suspect", "dead", "left" };
	enum host_peer_state st;
	uint64_t since;

	if (host_peer_state(b->h, pk, &st, &since) < 0 || (unsigned)st > HOST_PEER_LEFT)
		return "unknown";
	return names[st];
}

struct list_ctx {
	struct backup *b;
	struct json_object *arr;
	const uint8_t *origin;   /* NULL: every owner */
	unsigned missing;
};

static int list_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct list_ctx *lc = ctx;
	union body body;
	char hx[65];

	(void)id;
	if (r->kind != KIND_BACKUP || record_is_tombstone(r) ||
	    (lc->origin && memcmp(r->origin, lc->origin, 32)) ||
	    body_decode(KIND_BACKUP, r->body, r->body_len, &body) < 0)
		return 0;
	struct json_object *o = json_object_new_object(), *hs = json_object_new_array();
	hex_encode(r->origin, 32, hx);
	json_put_str(o, "snapshot", r->key);
	json_put_str(o, "name", body.backup.name);
	json_put_str(o, "owner", hx);
	json_put_int(o, "created", (int64_t)body.backup.created);
	json_put_int(o, "size", (int64_t)body.backup.size);
	hex_encode(body.backup.hash, 32, hx);
	json_put_str(o, "hash", hx);
	unsigned ok = 0;
	for (unsigned i = 0; i < body.backup.n_holders; i++) {
		struct json_object *hj = json_object_new_object();
		bool rc = bk_receipt_ok(body.backup.holders[i].node, r->origin, body.backup.hash,
					body.backup.size, body.backup.receipts[i].sig);
		bool mem = is_member(lc->b->h, body.backup.holders[i].node);
		hex_encode(body.backup.holders[i].node, 32, hx);
		json_put_str(hj, "node", hx);
		json_put_bool(hj, "receipt", rc);
		json_put_bool(hj, "member", mem);
		json_object_object_add(hj, "state", json_object_new_string(peer_state_text(lc->b,
							body.backup.holders[i].node)));
		ok += rc && mem;
		json_object_array_add(hs, hj);
	}
	json_object_object_add(o, "holders", hs);
	unsigned want = lc->b ? conf(lc->b)->copies : 0;
	json_put_int(o, "copies", (int)ok);
	json_put_int(o, "missing", ok < want ? (int)(want - ok) : 0);
	lc->missing += ok < want ? want - ok : 0;
	json_object_array_add(lc->arr, o);
	return 0;
}

static struct json_object *bk_status(void *st)
{
	struct backup *b = st;
	struct json_object *o = json_object_new_object(), *jobs;

	json_put_bool(o, "enabled", b->listening);
	if (!b->listening)
		return o;
	jobs = json_object_new_array();
	const struct bkchan_stats *cs = bkchan_stats(b->chan);
	struct json_object *ref = json_object_new_object();
	for (unsigned c = 1; c <= BK_E_IO; c++)
		json_put_int(ref, bk_code_name(c), (int64_t)cs->refused[c]);
	json_object_object_add(o, "refused", ref);
	json_put_int(o, "offer", (int64_t)offered(b));
	json_put_int(o, "held_bytes", (int64_t)held_bytes(b, NULL));
	json_put_int(o, "copies", (int)conf(b)->copies);
	json_put_int(o, "pushes", (int64_t)b->pushes);
	json_put_int(o, "pulls", (int64_t)b->pulls);
	json_put_int(o, "replicated", (int64_t)b->replicated);
	json_put_int(o, "pull_fallbacks", (int64_t)b->pull_fallbacks);
	json_put_int(o, "deleted", (int64_t)b->deleted);
	json_put_int(o, "sweeps", (int64_t)b->sweeps);
	json_put_int(o, "blobs_stored", (int64_t)cs->puts);
	json_put_int(o, "blobs_served", (int64_t)cs->gets);
	json_put_int(o, "bytes_in", (int64_t)cs->bytes_in);
	json_put_int(o, "bytes_out", (int64_t)cs->bytes_out);
	json_put_int(o, "resumed", (int64_t)cs->resumed);
	for (unsigned i = 0; i < MAX_JOBS; i++)
		if (b->jobs[i].state != J_FREE)
			json_object_array_add(jobs, job_json(&b->jobs[i]));
	json_object_object_add(o, "jobs", jobs);
	struct list_ctx lc = { b, json_object_new_array(), host_self(b->h), 0 };
	host_each(b->h, KIND_BIT(KIND_BACKUP), NULL, list_cb, &lc);
	json_object_object_add(o, "snapshots", lc.arr);
	json_put_int(o, "copies_missing", (int)lc.missing);
	struct json_object *more = json_object_new_array();
	for (int i = 0; i < MAX_SCHED; i++) {
		const char *name, *when, *cmd;
		if (!sched_of(b, i, &name, &when, &cmd))
			continue;
		struct json_object *so = json_object_new_object();
		json_put_str(so, "name", name);
		json_put_str(so, "schedule", when);
		json_put_int(so, "last_slot", (int64_t)b->sc[i].done);
		json_put_int(so, "runs", (int64_t)b->sc[i].runs);
		json_put_int(so, "failures", (int64_t)b->sc[i].failures);
		json_put_str(so, "last", b->sc[i].last);
		if (i == 0)
			json_object_object_add(o, "schedule", so);
		else
			json_object_array_add(more, so);
	}
	if (json_object_array_length(more))
		json_object_object_add(o, "scheduled_jobs", more);
	else
		json_object_put(more);
	if (b->last_error[0])
		json_put_str(o, "last_error", b->last_error);
	return o;
}

static int need_on(struct backup *b, char *err, size_t errcap)
{
	if (b->listening)
		return 0;
	snprintf(err, errcap, "backup is off (set backup_dir)");
	return -EINVAL;
}

static int bk_push(void *st, struct json_object *req, struct json_object **res, char *err,
		   size_t errcap)
{
	struct backup *b = st;
	const char *file = json_get_str(req, "file"), *name = json_get_str(req, "name");
	struct json_object *v;
	struct job *j;
	int rc;

	if ((rc = need_on(b, err, errcap)) < 0)
		return rc;
	if (!file || file[0] != '/') {
		snprintf(err, errcap, "file: an absolute path");
		return -EINVAL;
	}
	if (!name)
		name = "config";
	if (!snap_name_ok(name)) {
		snprintf(err, errcap, "name: 1..63 of [A-Za-z0-9._-], not starting with '.' or '-'");
		return -EINVAL;
	}
	unsigned copies = conf(b)->copies;
	if (json_object_object_get_ex(req, "copies", &v)) {
		int64_t c = json_object_get_int64(v);
		if (c < 1 || c > MN_MAX_HOLDERS) {
			snprintf(err, errcap, "copies: 1..%d", MN_MAX_HOLDERS);
			return -EINVAL;
		}
		copies = (unsigned)c;
	}
	if (!(j = start_push(b, file, name, copies, false, err, errcap, &rc)))
		return rc;
	*res = job_json(j);
	return 0;
}

struct find_ctx {
	const char *snapshot;
	const uint8_t *origin;
	bool found;
	union body body;
	uint8_t owner[32];
};

static int find_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct find_ctx *f = ctx;

	(void)id;
	if (r->kind != KIND_BACKUP || record_is_tombstone(r) || strcmp(r->key, f->snapshot) ||
	    (f->origin && memcmp(r->origin, f->origin, 32)) ||
	    body_decode(KIND_BACKUP, r->body, r->body_len, &f->body) < 0)
		return 0;
	memcpy(f->owner, r->origin, 32);
	f->found = true;
	return 1;
}

static int bk_pull(void *st, struct json_object *req, struct json_object **res, char *err,
		   size_t errcap)
{
	struct backup *b = st;
	const char *snap = json_get_str(req, "snapshot"), *out = json_get_str(req, "out"),
		   *key = json_get_str(req, "key_file"), *owner = json_get_str(req, "owner");
	struct find_ctx f;
	uint8_t opk[32];
	struct job *j;
	int rc;

	memset(&f, 0, sizeof f);
	f.snapshot = snap;
	if ((rc = need_on(b, err, errcap)) < 0)
		return rc;
	if (!snap || !out || out[0] != '/' || (key && key[0] != '/')) {
		snprintf(err, errcap, "snapshot and out (an absolute path) are needed; key_file absolute");
		return -EINVAL;
	}
	if (owner) {
		if (strlen(owner) != 64 || hex_decode(owner, opk, 32) < 0) {
			snprintf(err, errcap, "owner: 64 hex digits");
			return -EINVAL;
		}
		f.origin = opk;
	}
	host_each(b->h, KIND_BIT(KIND_BACKUP), NULL, find_cb, &f);
	if (!f.found) {
		snprintf(err, errcap, "no backup record %s", snap);
		return -ENOENT;
	}
	if (!(j = job_new(b, JOB_PULL))) {
		snprintf(err, errcap, "too many transfers running (%d)", MAX_JOBS);
		return -EBUSY;
	}
	j->body = f.body.backup;
	memcpy(j->origin, f.owner, 32);
	snprintf(j->out, sizeof j->out, "%s", out);
	snprintf(j->keyfile, sizeof j->keyfile, "%s", key ? key : "");
	pull_next(j);
	*res = job_json(j);
	return 0;
}

static int bk_job(void *st, struct json_object *req, struct json_object **res, char *err,
		  size_t errcap)
{
	struct backup *b = st;
	struct json_object *v;

	if (!json_object_object_get_ex(req, "job", &v)) {
		snprintf(err, errcap, "job: a number");
		return -EINVAL;
	}
	int64_t id = json_object_get_int64(v);
	for (unsigned i = 0; i < MAX_JOBS; i++)
		if (b->jobs[i].state != J_FREE && b->jobs[i].id == id) {
			*res = job_json(&b->jobs[i]);
			return 0;
		}
	snprintf(err, errcap, "no job %" PRId64, id);
	return -ENOENT;
}

static int bk_list(void *st, struct json_object *req, struct json_object **res, char *err,
		   size_t errcap)
{
	struct backup *b = st;
	struct json_object *v;
	bool all = json_object_object_get_ex(req, "all", &v) && json_object_get_boolean(v);
	struct list_ctx lc = { b, json_object_new_array(), all ? NULL : host_self(b->h), 0 };

	(void)err, (void)errcap;
	host_each(b->h, KIND_BIT(KIND_BACKUP), NULL, list_cb, &lc);
	*res = lc.arr;
	return 0;
}

static int bk_offer(void *st, struct json_object *req, struct json_object **res, char *err,
		    size_t errcap)
{
	struct backup *b = st;
	struct json_object *v;
	uint8_t val[8];
	int rc;

	if ((rc = need_on(b, err, errcap)) < 0)
		return rc;
	if (!json_object_object_get_ex(req, "size", &v) || json_object_get_int64(v) < 0) {
		snprintf(err, errcap, "size: bytes, 0 to withdraw");
		return -EINVAL;
	}
	b->offer_override = (uint64_t)json_object_get_int64(v);
	for (int i = 0; i < 8; i++)
		val[i] = (uint8_t)(b->offer_override >> (56 - 8 * i));
	if (host_state_put(b->h, "offer", val, sizeof val) < 0) {
		snprintf(err, errcap, "state: %s", host_state_error(b->h));
		return -EIO;
	}
	publish_offer(b, true);
	*res = json_object_new_object();
	json_put_int(*res, "offer", (int64_t)b->offer_override);
	return 0;
}

static const struct subsys_call bk_calls[] = {
	{ "backup_push", bk_push, (const struct subsys_arg[]){ { "file", json_type_string }, { "name", json_type_string },
				    { "copies", json_type_int }, { NULL, 0 } } },
	{ "backup_pull", bk_pull, (const struct subsys_arg[]){ { "snapshot", json_type_string }, { "out", json_type_string },
				    { "key_file", json_type_string }, { "owner", json_type_string },
				    { NULL, 0 } } },
	{ "backup_job", bk_job, (const struct subsys_arg[]){ { "job", json_type_int }, { NULL, 0 } } },
	{ "backup_list", bk_list, (const struct subsys_arg[]){ { "all", json_type_boolean }, { NULL, 0 } } },
	{ "backup_offer", bk_offer, (const struct subsys_arg[]){ { "size", json_type_int }, { NULL, 0 } } },
};

/* ---- options ---- */

static int check_dir(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (val[0] && !conf_path_ok(val)) {
		snprintf(msg, cap, "an absolute directory path");
		return -EINVAL;
	}
	return 0;
}

static int check_schedule(void *sect, char *val, char *msg, size_t cap)
{
	struct schedule sc;

	(void)sect;
	if (val[0] && schedule_parse(val, &sc) < 0) {
		snprintf(msg, cap, "HH:MM or N followed by s, m or h (60 s .. 31 days)");
		return -EINVAL;
	}
	return 0;
}

static int check_name(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!snap_name_ok(val)) {
		snprintf(msg, cap, "1..63 of [A-Za-z0-9._-], not starting with '.' or '-'");
		return -EINVAL;
	}
	return 0;
}

static int check_recovery(void *sect, char *val, char *msg, size_t cap)
{
	uint8_t k[32];
	size_t n = 0;
	const char *p = val;

	(void)sect;
	while (*p) {
		if (strlen(p) < 64 || hex_decode(p, k, 32) < 0 || (p[64] && p[64] != ',') ||
		    ++n > MAX_RECOVERY) {
			snprintf(msg, cap, "1..%d X25519 public keys, 64 hex digits each, comma-separated",
				 MAX_RECOVERY);
			return -EINVAL;
		}
		p += p[64] ? 65 : 64;
	}
	return 0;
}

/* backup_job NAME SCHEDULE COMMAND */
static int parse_job(void *sect, char *val, char *msg, size_t cap)
{
	struct backup_conf *c = sect;
	struct bk_job_conf *j = &c->job[c->njobs];
	struct schedule sc;
	char *sched, *cmd;

	if (c->njobs == MAX_SCHED - 1) {
		snprintf(msg, cap, "backup_job: at most %d", MAX_SCHED - 1);
		return -EINVAL;
	}
	sched = val + strcspn(val, " \t");
	if (*sched)
		*sched++ = 0;
	sched += strspn(sched, " \t");
	cmd = sched + strcspn(sched, " \t");
	if (*cmd)
		*cmd++ = 0;
	cmd += strspn(cmd, " \t");
	if (!snap_name_ok(val) || schedule_parse(sched, &sc) < 0 ||
	    !*cmd || strlen(cmd) >= sizeof j->cmd || strlen(sched) >= sizeof j->schedule) {
		snprintf(msg, cap, "backup_job: NAME SCHEDULE COMMAND — NAME 1..63 of [A-Za-z0-9._-], "
			 "SCHEDULE HH:MM or N followed by s, m or h, COMMAND at most 511 bytes");
		return -EINVAL;
	}
	for (size_t i = 0; i < c->njobs; i++)
		if (!strcmp(c->job[i].name, val)) {
			snprintf(msg, cap, "backup_job: %s given twice", val);
			return -EINVAL;
		}
	snprintf(j->name, sizeof j->name, "%s", val);
	snprintf(j->schedule, sizeof j->schedule, "%s", sched);
	snprintf(j->cmd, sizeof j->cmd, "%s", cmd);
	c->njobs++;
	return 0;
}

static void print_job(const void *sect, const struct conf_opt *o, FILE *f)
{
	const struct backup_conf *c = sect;

	for (size_t i = 0; i < c->njobs; i++)
		fprintf(f, "%s %s %s %s\n", o->name, c->job[i].name, c->job[i].schedule, c->job[i].cmd);
}

#define F(f) CONF_FIELD(struct backup_conf, f)
static const struct conf_opt bk_opts[] = {
	{ "backup_dir", CONF_STR, CONF_RESTART, F(dir), .parse = check_dir,
	  .help = "an absolute directory path" },
	{ "backup_offer", CONF_U64, 0, F(offer), .min = 0, .max = UINT64_MAX, .def = "0", .help = "bytes" },
	{ "backup_quota", CONF_U64, 0, F(quota), .min = 0, .max = UINT64_MAX, .def = "268435456", .help = "bytes" },
	{ "backup_copies", CONF_UINT, 0, F(copies), .min = 1, .max = MN_MAX_HOLDERS, .def = "2", .help = "1..16" },
	{ "backup_port", CONF_UINT, CONF_RESTART, F(port), .min = 1, .max = 65535, .def = "7334", .help = "1..65535" },
	{ "backup_keep", CONF_UINT, 0, F(keep), .min = 1, .max = 64, .def = "7", .help = "1..64" },
	{ "backup_ttl_s", CONF_U64, 0, F(ttl_s), .min = 3600, .max = 366ull * 86400, .def = "7776000",
	  .help = "3600..31622400" },
	{ "backup_dead_grace_s", CONF_UINT, 0, F(dead_grace_s), .min = 1, .max = 30 * 86400, .def = "600",
	  .help = "1..2592000" },
	{ "backup_schedule", CONF_STR, 0, F(schedule), .parse = check_schedule,
	  .help = "HH:MM (daily, local time) or N followed by s, m or h (60 s .. 31 days)" },
	{ "backup_schedule_cmd", CONF_STR, 0, F(schedule_cmd), .def = "sysupgrade -b -",
	  .help = "a command of at most 511 bytes writing the snapshot to its output" },
	{ "backup_schedule_name", CONF_STR, 0, F(schedule_name), .parse = check_name, .def = "config",
	  .help = "1..63 of [A-Za-z0-9._-]" },
	{ "backup_recovery_key", CONF_STR, 0, F(recovery), .parse = check_recovery,
	  .help = "X25519 public keys (hex), comma-separated" },
	{ "backup_job", CONF_FN, CONF_MULTI, F(job), .parse = parse_job, .print = print_job },
};
#undef F

const struct subsys subsys_backup = {
	.name = "backup",
	.kinds = 1u << KIND_BACKUP,
	.owns = 1u << KIND_BACKUP,
	.conf = { "backup", bk_opts, sizeof bk_opts / sizeof bk_opts[0], sizeof(struct backup_conf),
		  NULL, NULL },
	.calls = bk_calls,
	.ncalls = sizeof bk_calls / sizeof bk_calls[0],
	.start = bk_start,
	.record = bk_record,
	.status = bk_status,
	.stop = bk_stop,
	.free = bk_free,
};
