/* mirrornetd: the engine on libuv — the loop and the lifecycle (what the
 * API shows is views.c; the subsystems are behind host.c).
 *
 * One loop, one thread. Events in: datagrams and stream frames
 * (transport.c), the engine's timer, signals, API requests (api.c). The
 * engine acts through the callbacks below: send (transport), accepted
 * (batch for the store, notify API subscribers, learn a node's address
 * from its node record), revoked (drop from the store and the address
 * book), peer_state and note (log lines).
 *
 * Durability: records accepted from peers are batched and committed in
 * one sqlite transaction at most GROUP_COMMIT_MS after the first of them
 * (a group commit), and that commit does not wait for the disk unless the
 * oldest commit not yet synced is DURABLE_MS old (a burst costs an fsync
 * a second, not one per loop iteration — that was 11 % of the daemons'
 * CPU and most of their sqlite time in a burst of 100 records at 30
 * nodes — nor one per 100 ms, 12 % still); a local publish is committed
 * and synced, with whatever is batched, before the API answers, so what
 * is acknowledged survives a crash as before. A peer's record lost by a
 * crash (the batch not yet committed) or a power loss (the last second)
 * is fetched again by anti-entropy. SIGTERM/SIGINT: leave the mesh, commit, close the store,
 * exit 0. SIGHUP: reload the config (parse, validate, then swap; a bad
 * file is refused and the running config kept). */
#include <errno.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>
#include "src/daemon/daemon_int.h"
#include "src/daemon/api.h"
#include "src/daemon/config.h"
#include "src/daemon/transport.h"
#include "src/daemon/host.h"
#include "src/body_json.h"
#include "src/log.h"
#include "src/store.h"
#include "crypto/crypto.h"
#include "crypto/did.h"
#include "crypto/record_sig.h"
#include "proto/hex.h"
#include "proto/proto_err.h"

static int64_t time_offset_ms;   /* MIRRORNET_TIME_OFFSET_S, for tests */

static uint64_t now_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000 + time_offset_ms);
}

uint64_t daemon_now_ms(void)
{
	return now_ms();
}

static void short_did(const uint8_t pk[32], char *out, size_t cap)
{
	char did[DID_KEY_MAX];

	did_key_encode(DID_ED25519, pk, did, sizeof did);
	did_key_short(did, out, cap);
}

/* ---- the store batch ---- */

/* Write the batch of accepted records in one transaction. A write that
 * fails for want of space (or an I/O error) keeps the whole batch, tried
 * again every STORE_RETRY_MS: the engine holds the records and gossip goes
 * on, and nothing is lost when the space comes back (the batch used to be
 * freed, the records gone from the store, and a restart lost them —
 * acknowledged publishes among them). Meanwhile local publishes are
 * refused (daemon_store_failing), and a record that finds the batch full
 * is counted store_lost (it is held, not saved; anti-entropy brings it
 * back after a restart if a peer has it). Any other error of one record
 * skips that record, as before. */
static void commit_cb(uv_timer_t *h);

static void sync_store(struct daemon *d);

/* durable: a local publish's acknowledgement, a revocation here, the stop:
 * the commit waits for the disk (and one that cannot happen now is owed:
 * the next commit is durable). Otherwise (the group commit of records
 * from peers) it does not, unless the oldest commit not yet synced is
 * DURABLE_MS old: a burst costs one fsync a second, not ten, and a power
 * loss can lose about the last second of records from peers (anti-entropy
 * fetches them again); a crash of the process loses only the batch not
 * yet committed, as before. */
static void batch_commit(struct daemon *d, bool durable)
{
	uint64_t now = now_ms();

	durable = durable || d->durable_owed;
	if (!d->nbatch) {
		if (durable && d->unsynced_ms)
			sync_store(d);   /* the relaxed commits before it, now */
		return;
	}
	bool relaxed = !durable && !(d->unsynced_ms && now - d->unsynced_ms >= DURABLE_MS);
	if ((d->store_failing && d->nbatch < BATCH_MAX && now < d->store_retry_ms && !d->stopping) ||
	    store_in_transaction(d->store)) {
		/* not yet (or a subsystem's state transaction is open: it
		 * published inside it, and it is not ours to commit or roll
		 * back): the timer comes back */
		d->durable_owed |= durable;
		uv_timer_start(&d->commit, commit_cb, d->store_failing && now < d->store_retry_ms ?
			       d->store_retry_ms - now : GROUP_COMMIT_MS, 0);
		return;
	}
	uv_timer_stop(&d->commit);
	int rc = relaxed ? store_begin_relaxed(d->store) : store_begin(d->store);
	for (size_t i = 0; i < d->nbatch && rc == 0; i++) {
		int r = store_put(d->store, d->batch_bytes + d->batch[i].at, d->batch[i].len,
				  d->batch[i].id);
		/* SAME: written by an earlier try whose commit failed to sync */
		d->batch[i].ref = r == STORE_INSERTED || r == STORE_REPLACED || r == STORE_SAME ?
				  store_ref(d->store) : 0;
		if (r == -ENOSPC || r == -EIO) {
			rc = r;
		} else if (r < 0) {
			d->store_errors++;
			if (!store_in_transaction(d->store))
				rc = r;   /* sqlite rolled the transaction back: the whole batch again */
		}
	}
	if (rc == 0)
		rc = store_commit(d->store);   /* rolls back itself on failure */
	else if (store_in_transaction(d->store))
		store_rollback(d->store);      /* (keeps the put's error for the log) */
	if (rc < 0) {
		d->store_errors++;
		d->durable_owed |= durable;
		if (!d->store_failing)
			log_err("store: %s: %zu records kept in memory and tried again every %u ms; "
				"local publishes refused meanwhile", store_last_error(d->store), d->nbatch,
				STORE_RETRY_MS);
		d->store_failing = true;
		d->store_retry_ms = now + STORE_RETRY_MS;
		uv_timer_start(&d->commit, commit_cb, STORE_RETRY_MS, 0);
		return;
	}
	if (d->store_failing)
		log_info("store: writing again: %zu records saved", d->nbatch);
	d->store_failing = false;
	/* durable now: the engine may read them back from the store instead
	 * of keeping their bytes in memory (engine_stored) */
	for (size_t i = 0; i < d->nbatch; i++)
		if (d->batch[i].ref > 0)
			engine_stored(d->eng, d->batch[i].id, d->batch[i].ref);
	d->store_commits++;
	d->store_syncs += !relaxed;
	d->nbatch = d->batch_len = 0;
	if (d->batch_cap > BATCH_KEEP_BYTES) {   /* a large burst's buffer goes */
		free(d->batch_bytes);
		d->batch_bytes = NULL;
		d->batch_cap = 0;
	}
	if (!relaxed) {   /* the store synced every relaxed commit before it too */
		d->unsynced_ms = 0;
		d->durable_owed = false;
		return;
	}
	if (!d->unsynced_ms)
		d->unsynced_ms = now;
	/* synced by the next durable commit, or by commit_cb then */
	uv_timer_start(&d->commit, commit_cb, d->unsynced_ms + DURABLE_MS - now, 0);
}

void daemon_batch_commit(struct daemon *d)
{
	batch_commit(d, true);
}

/* What relaxed commits wrote goes to the disk now (nothing came after them
 * to carry it): the WAL is synced. A sync that fails is not tried again:
 * after a failed fsync a later one can succeed without the data being on
 * the disk (and the WAL's frames are chained: one lost frame loses every
 * commit after it at the next recovery). Local publishes are refused from
 * then on (daemon_publish) until the daemon restarts and SQLite recovers
 * from what the disk holds; records from peers go on (anti-entropy
 * brings back what a recovery loses). */
static void sync_store(struct daemon *d)
{
	if (store_in_transaction(d->store)) {   /* a subsystem's: later */
		uv_timer_start(&d->commit, commit_cb, GROUP_COMMIT_MS, 0);
		return;
	}
	d->unsynced_ms = 0;
	if (store_sync(d->store) < 0) {
		d->store_errors++;
		if (!d->sync_broken)   /* "store: sync: Input/output error", once */
			log_err("store: %s", store_last_error(d->store));
		d->sync_broken = true;
		return;
	}
	d->store_syncs++;
}

bool daemon_store_failing(struct daemon *d)
{
	return d->store_failing;
}

static void commit_cb(uv_timer_t *h)
{
	struct daemon *d = h->data;

	/* the relaxed commits are synced when it is time, also while the
	 * store cannot take the batch */
	if (d->unsynced_ms && (!d->nbatch || d->store_failing))
		sync_store(d);
	if (d->nbatch)
		batch_commit(d, false);
}

/* ---- engine callbacks ---- */

static void on_send(void *ctx, const uint8_t peer[32], const uint8_t *buf, size_t len,
		    enum engine_chan chan)
{
	struct daemon *d = ctx;

	transport_send(d->tr, peer, buf, len, chan);
}

/* Room for n more bytes in the batch buffer (false: no memory; the
 * record is held, not saved, as when a copy could not be made before). */
static bool batch_room(struct daemon *d, size_t n)
{
	if (d->batch_len + n <= d->batch_cap)
		return true;
	size_t cap = d->batch_cap ? d->batch_cap : BATCH_KEEP_BYTES / 4;
	while (cap < d->batch_len + n)
		cap *= 2;
	uint8_t *p = realloc(d->batch_bytes, cap);
	if (!p)
		return false;
	d->batch_bytes = p;
	d->batch_cap = cap;
	return true;
}

static void on_accepted(void *ctx, const struct record *r, const union body *b,
			const uint8_t id[32])
{
	struct daemon *d = ctx;

	if (d->nbatch == BATCH_MAX)
		batch_commit(d, false);
	struct batched *bt = d->nbatch < BATCH_MAX ? &d->batch[d->nbatch] : NULL;
	if (bt && !d->nbatch)   /* the group commit's bound */
		uv_timer_start(&d->commit, commit_cb, GROUP_COMMIT_MS, 0);
	if (!bt || !batch_room(d, r->wire_len)) {
		d->store_lost++;   /* held, not saved: the batch is full (the store
				      cannot write) or out of memory */
		d->batch_missed = true;
	} else {
		memcpy(d->batch_bytes + d->batch_len, r->wire, r->wire_len);
		bt->at = (uint32_t)d->batch_len;
		bt->len = (uint16_t)r->wire_len;
		memcpy(bt->id, id, 32);
		d->batch_len += r->wire_len;
		d->nbatch++;
	}
	/* the body as the engine decoded it, for everyone who reads it: our
	 * node bookkeeping, the subsystems of its kind, API subscribers */
	struct rec_view v = { r, b, id };
	if (r->kind == KIND_NODE && b)
		reach_node(d, r, b);
	hosts_record(d->hosts, &v);
	if (d->api && api_wants(d->api, r->kind)) {
		struct json_object *ev = record_to_json(r, b, id);
		api_event(d->api, r->kind, ev);
		json_object_put(ev);
	}
	if (r->kind == KIND_ENDPOINT || r->kind == KIND_REVOKE)
		reach_changed(d);
}

static void on_revoked(void *ctx, const uint8_t origin[32])
{
	struct daemon *d = ctx;
	char s[24];

	daemon_batch_commit(d);
	if (store_delete_origin(d->store, origin) < 0)
		d->store_errors++;
	transport_forget(d->tr, origin);
	reach_changed(d);   /* its WireGuard peer goes */
	hosts_trust(d->hosts, origin);
	short_did(origin, s, sizeof s);
	log_warn("revoked (or cut off with its issuer): %s — its records are dropped", s);
}

static void on_peer_state(void *ctx, const uint8_t peer[32], enum peer_state from,
			  enum peer_state to)
{
	struct daemon *d = ctx;
	char s[24];

	short_did(peer, s, sizeof s);
	log_info("peer %s: %s -> %s", s, peer_state_name(from), peer_state_name(to));
	/* back: a connection to it stuck in TCP's backoff is started afresh
	 * (before the engine's reconciling round is sent on it) */
	if (to == PEER_ALIVE && from != PEER_ALIVE && d->tr)
		transport_peer_back(d->tr, peer);
}

static void on_note(void *ctx, const char *what, const uint8_t peer[32])
{
	char s[24] = "";

	(void)ctx;
	if (peer)
		short_did(peer, s, sizeof s);
	log_warn("%s%s%s", what, peer ? ": " : "", s);
}

static uint64_t on_random(void *ctx)
{
	struct daemon *d = ctx;
	/* xorshift128+ seeded from the OS */
	uint64_t s1 = d->rng[0];
	const uint64_t s0 = d->rng[1];
	d->rng[0] = s0;
	s1 ^= s1 << 23;
	d->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
	return d->rng[1] + s0;
}

static int on_load(void *ctx, int64_t ref, const uint8_t id[32], uint8_t *buf, size_t cap)
{
	struct daemon *d = ctx;

	return store_load(d->store, ref, id, buf, cap);
}

static const struct engine_ops daemon_ops = {
	.send = on_send, .accepted = on_accepted, .revoked = on_revoked,
	.peer_state = on_peer_state, .note = on_note, .random = on_random, .load = on_load,
};

/* ---- time ---- */

static void tick_cb(uv_timer_t *h);

void daemon_arm_tick(struct daemon *d, uint64_t next)
{
	uint64_t now = now_ms();
	uint64_t wait = next > now ? next - now : 0;

	if (wait > 1000)
		wait = 1000;
	d->tick_at = now + wait;
	uv_timer_start(&d->tick, tick_cb, wait, 0);
}

static void tick_cb(uv_timer_t *h)
{
	struct daemon *d = h->data;

	d->ticked_at = now_ms();
	daemon_arm_tick(d, engine_tick(d->eng, d->ticked_at));
}

/* ---- our node record ---- */

static int publish_node(struct daemon *d)
{
	union body *b = calloc(1, sizeof *b);
	int perr = 0, rc;

	if (!b)
		return -ENOMEM;
	snprintf(b->node.name, sizeof b->node.name, "%s", d->cfg.name);
	reach_fill_node(d, b);
	snprintf(b->node.mesh_addr, sizeof b->node.mesh_addr, "%s", d->cfg.mesh_addr);
	b->node.role = d->cfg.role;
	snprintf(b->node.sw_version, sizeof b->node.sw_version, "%s", MN_VERSION);
	rc = engine_publish(d->eng, KIND_NODE, "self", b, d->cfg.node_ttl_s, now_ms(), NULL, &perr);
	free(b);
	if (rc < 0)   /* e.g. our certificate expired: tried again at the next maintenance */
		log_err("cannot publish our node record: %s", perr ? proto_strerror(perr) :
			rc == -EACCES ? "our certificate chain is not valid now" : strerror(-rc));
	else
		d->node_published_ms = now_ms();
	daemon_batch_commit(d);
	return rc;
}

static void maint_cb(uv_timer_t *h)
{
	struct daemon *d = h->data;
	uint64_t now = now_ms();

	daemon_batch_commit(d);
	if (store_expire(d->store, now / 1000) < 0)
		d->store_errors++;
	if (now - d->node_published_ms > (uint64_t)d->cfg.node_ttl_s * 500)
		publish_node(d);
}

/* ---- signals ---- */

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void stop(struct daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	log_info("stopping");
	engine_leave(d->eng, now_ms());
	engine_set_batching(d->eng, false);   /* the goodbyes go out now */
	daemon_batch_commit(d);
	if (d->api)
		api_close(d->api);
	d->api = NULL;
	hosts_stop(d->hosts);
	transport_close(d->tr);
	d->tr = NULL;
	uv_timer_stop(&d->tick);
	uv_timer_stop(&d->maint);
	reach_stop(d);
	uv_timer_stop(&d->commit);
	uv_signal_stop(&d->sig_term);
	uv_signal_stop(&d->sig_int);
	uv_signal_stop(&d->sig_hup);
	uv_walk(&d->loop, close_walk, NULL);
}

static void reload(struct daemon *d)
{
	struct config *nc = malloc(sizeof *nc);
	char err[512], msg[160];

	if (!nc)
		return;
	d->reloads++;
	if (config_load(d->cfg_path, nc, err, sizeof err) < 0) {
		d->reload_failures++;
		log_err("reload refused, keeping the running configuration: %s", err);
		free(nc);
		return;
	}
	if (config_needs_restart(&d->cfg, nc, msg, sizeof msg))
		log_warn("reload: %s", msg);
	/* what can change live: log level, bootstrap peers, name/role/addresses
	 * (republished in our node record) */
	log_setup("mirrornetd", nc->log_syslog, (enum log_level)nc->log_level);
	reach_peers(d, nc);
	bool republish = strcmp(d->cfg.name, nc->name) || strcmp(d->cfg.advertise, nc->advertise) ||
			 strcmp(d->cfg.mesh_addr, nc->mesh_addr) || d->cfg.role != nc->role;
	/* keep the parts that need a restart as they run */
	struct config keep = d->cfg;
	d->cfg = *nc;
	memcpy(d->cfg.key, keep.key, sizeof keep.key);
	memcpy(d->cfg.db, keep.db, sizeof keep.db);
	memcpy(d->cfg.api, keep.api, sizeof keep.api);
	memcpy(d->cfg.listen, keep.listen, sizeof keep.listen);
	memcpy(d->cfg.root, keep.root, sizeof keep.root);
	d->cfg.engine = keep.engine;
	free(nc);
	if (republish)
		publish_node(d);
	hosts_reload(d->hosts, &keep);
	log_info("configuration reloaded");
}

static void signal_cb(uv_signal_t *h, int sig)
{
	struct daemon *d = h->data;

	if (sig == SIGHUP)
		reload(d);
	else
		stop(d);
}

struct engine *daemon_engine(struct daemon *d) { return d->eng; }
struct store *daemon_store(struct daemon *d) { return d->store; }
const struct config *daemon_config(struct daemon *d) { return &d->cfg; }
const struct node_key *daemon_key(struct daemon *d) { return &d->key; }
struct hosts *daemon_hosts(struct daemon *d) { return d->hosts; }

int daemon_publish_body(struct daemon *d, unsigned kind, const char *key, const union body *b,
			uint64_t ttl_s, uint8_t id[32], int *perr)
{
	int rc = engine_publish(d->eng, kind, key, b, ttl_s, now_ms(), id, perr);

	if (rc == 0) {
		daemon_batch_commit(d);
		daemon_arm_tick(d, now_ms());
	}
	return rc;
}

int daemon_insert(struct daemon *d, const uint8_t *wire, size_t len)
{
	int rc = engine_insert(d->eng, wire, len, false, now_ms());

	daemon_batch_commit(d);
	daemon_arm_tick(d, now_ms());
	return rc;
}

void daemon_chain_changed(struct daemon *d)
{
	publish_node(d);
}

void daemon_restart(struct daemon *d)
{
	d->restart = true;
	stop(d);
}

/* ---- start ---- */

static int load_one(void *ctx, const uint8_t *wire, size_t len)
{
	struct daemon *d = ctx;
	struct record r;
	uint8_t id[32];

	if (engine_insert(d->eng, wire, len, true, now_ms()) == 1 &&
	    record_decode_envelope(wire, len, &r) == 0) {
		record_id(&r, id);
		engine_stored(d->eng, id, store_ref(d->store));
	}
	/* where the members were: back in touch without waiting for them */
	if (record_decode_envelope(wire, len, &r) == 0 && r.kind == KIND_NODE &&
	    !record_is_tombstone(&r)) {
		union body *b = malloc(sizeof *b);
		if (b && body_decode(KIND_NODE, r.body, r.body_len, b) == 0)
			reach_node(d, &r, b);
		free(b);
	}
	return 0;
}

static int insert_cert_files(struct daemon *d)
{
	for (size_t i = 0; i < d->cfg.ncerts; i++) {
		FILE *f = fopen(d->cfg.certs[i], "rb");
		uint8_t buf[MN_MAX_RECORD + 1];
		size_t n;
		if (!f) {
			log_err("cert %s: %s", d->cfg.certs[i], strerror(errno));
			return -errno;
		}
		n = fread(buf, 1, sizeof buf, f);
		fclose(f);
		int rc = engine_insert(d->eng, buf, n, false, now_ms());
		if (rc == -ESTALE) {
			log_warn("cert %s has expired: asking the parent for a new one", d->cfg.certs[i]);
			continue;
		}
		if (rc == -EBADMSG || rc == -EACCES) {
			log_err("cert %s: %s", d->cfg.certs[i], rc == -EBADMSG ?
				"not a valid signed record" : "does not chain to the mesh root");
			return rc;
		}
	}
	daemon_batch_commit(d);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mirrornetd [-c FILE] [-n] [-f]\n"
		"  -c FILE   configuration (default /etc/mirrornet/mirrornetd.conf)\n"
		"  -n        check the configuration, print it normalised, exit (0 valid, 1 not)\n"
		"  --version print the version\n"
		"Runs in the foreground; SIGTERM/SIGINT stop it, SIGHUP reloads the configuration.\n");
}

/* Once a loop iteration, before the transport sends: the engine's
 * datagrams of this iteration, and its timer set sooner if what came in
 * made work due earlier (a deferred pull, an IWANT retry, a claim's
 * check: the tick armed at the last engine_tick may be up to 1 s away). */
static void engine_send_pending_cb(void *ctx)
{
	struct daemon *d = ctx;
	uint64_t next = engine_next_at(d->eng);

	engine_send_pending(d->eng);
	/* (what was due by the last tick, that tick saw: no busy loop) */
	if (next < d->tick_at && next > d->ticked_at)
		daemon_arm_tick(d, next);
}

static int run(struct daemon *d)
{
	char err[512];
	bool insecure = false;
	int rc;

	log_setup("mirrornetd", d->cfg.log_syslog, (enum log_level)d->cfg.log_level);
	if ((rc = node_key_load(&d->key, d->cfg.key, &insecure)) < 0) {
		log_err("key %s: %s", d->cfg.key,
			rc == CRYPTO_ERR_IO ? strerror(errno) : crypto_strerror(rc));
		return 1;
	}
	if (insecure)
		log_warn("key file %s is accessible by group or others (chmod 600 it)", d->cfg.key);
	if ((rc = store_open(d->cfg.db, &d->store, err, sizeof err)) < 0) {
		log_err("store: %s", err);
		return 1;
	}
	d->cfg.engine.root = d->cfg.root;
	crypto_random(d->rng, sizeof d->rng);
	d->rng[0] |= 1;
	d->started_ms = now_ms();
	d->eng = engine_new(&d->cfg.engine, &d->key, &daemon_ops, d, d->started_ms);
	if (!d->eng) {
		log_err("cannot start the engine (configuration or memory)");
		return 1;
	}
	if (uv_loop_init(&d->loop) < 0)
		return 1;
	uv_timer_init(&d->loop, &d->commit);   /* before anything is accepted */
	d->commit.data = d;
	/* the interface first: the transport listens on its mesh address */
	if (reach_open(d, err, sizeof err) < 0) {
		log_err("%s", err);
		goto fail;
	}
	if ((rc = transport_open(&d->loop, (struct sockaddr *)&d->cfg.listen_sa, d->key.pk,
				 d->cfg.wg_interface[0] != 0, reach_message, d, &d->tr, err, sizeof err)) < 0) {
		log_err("listen %s: %s", d->cfg.listen, err);
		goto fail;
	}
	transport_on_gone(d->tr, reach_conn_gone);
	/* what the engine sends one peer in a loop iteration shares datagrams */
	transport_on_flush(d->tr, engine_send_pending_cb);
	engine_set_batching(d->eng, true);
	reach_wg_peers(d);
	/* the store first (trusted, no checks), then the peers, then our chain */
	if (store_each(d->store, 0, NULL, true, load_one, d) < 0)
		log_err("store: %s", store_last_error(d->store));
	reach_peers(d, &d->cfg);
	/* after the peers, so that our chain goes out to them at once */
	if (insert_cert_files(d) < 0)
		goto fail;
	if ((rc = api_open(d, &d->loop, d->cfg.api, &d->api, err, sizeof err)) < 0) {
		log_err("api %s: %s", d->cfg.api, err);
		goto fail;
	}
	if (!(d->hosts = hosts_new(d, &d->loop)) || hosts_start(d->hosts, err, sizeof err) < 0) {
		log_err("%s", d->hosts ? err : "out of memory");
		goto fail;
	}
	uv_timer_init(&d->loop, &d->tick);
	uv_timer_init(&d->loop, &d->maint);
	uv_signal_init(&d->loop, &d->sig_term);
	uv_signal_init(&d->loop, &d->sig_int);
	uv_signal_init(&d->loop, &d->sig_hup);
	d->tick.data = d->maint.data = d;
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	uv_signal_start(&d->sig_term, signal_cb, SIGTERM);
	uv_signal_start(&d->sig_int, signal_cb, SIGINT);
	uv_signal_start(&d->sig_hup, signal_cb, SIGHUP);
	uv_timer_start(&d->maint, maint_cb, MAINT_MS, MAINT_MS);
	publish_node(d);
	reach_start(d);
	daemon_arm_tick(d, now_ms());
	char s[24];
	short_did(d->key.pk, s, sizeof s);
	log_info("%s (%s) listening on %s, api %s, %lld records", d->cfg.name, s, d->cfg.listen,
		 d->cfg.api, (long long)store_count(d->store));
	uv_run(&d->loop, UV_RUN_DEFAULT);
	return d->exit_code;
fail:
	d->stopping = true;
	reach_stop(d);
	if (d->api)
		api_close(d->api);
	hosts_stop(d->hosts);
	transport_close(d->tr);
	uv_walk(&d->loop, close_walk, NULL);
	uv_run(&d->loop, UV_RUN_DEFAULT);
	return 1;
}

int daemon_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = "/etc/mirrornet/mirrornetd.conf";
	bool check = false;
	char err[512];
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:nfh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'n': check = true; break;
		case 'f': break;   /* foreground is the only mode (procd) */
		case 'h': usage(stdout); return 0;
		case 'V': printf("mirrornetd %s\n", MN_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
#ifdef __GLIBC__
	/* buffers of 64 KiB or more (a burst's batch, the index's tables, an
	 * API answer's page) are mapped and go back to the system when freed;
	 * glibc would otherwise raise this bound to the largest buffer freed
	 * and carve the next ones out of the heap, where they stay resident */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
#endif
	if (crypto_init() < 0) {
		fprintf(stderr, "mirrornetd: libsodium failed to initialise\n");
		return 1;
	}
	/* a peer or an API client that goes away mid-write is an error on that
	 * socket, not the daemon's death */
	signal(SIGPIPE, SIG_IGN);
	struct daemon *d = calloc(1, sizeof *d);
	if (!d)
		return 1;
	if (config_load(path, &d->cfg, err, sizeof err) < 0) {
		fprintf(stderr, "mirrornetd: %s\n", err);
		free(d);
		return 1;
	}
	if (check) {
		config_print(&d->cfg, stdout);
		free(d);
		return 0;
	}
	snprintf(d->cfg_path, sizeof d->cfg_path, "%s", path);
	const char *off = getenv("MIRRORNET_TIME_OFFSET_S");
	if (off)
		time_offset_ms = strtoll(off, NULL, 10) * 1000;
	rc = run(d);
	uv_loop_close(&d->loop);
	free(d->batch_bytes);
	engine_free(d->eng);
	reach_free(d);
	hosts_free(d->hosts);
	store_close(d->store);
	node_key_wipe(&d->key);
	bool again = d->restart;
	free(d);
	if (again) {
		/* a new key: start over with it, same PID, same arguments */
		log_info("restarting");
		execv("/proc/self/exe", argv);
		log_err("cannot restart: %s", strerror(errno));
		return 1;
	}
	log_info("stopped");
	return rc;
}
