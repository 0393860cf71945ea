/* The daemon's own state, shared by its files: daemon.c (the loop and the
 * lifecycle: engine callbacks, timers, signals, start and stop), reach.c
 * (WireGuard and the plain transport's addresses) and views.c (what the
 * local API shows and publishes). Nothing else includes
 * this: subsystems see the daemon only through the host (subsys.h). */
#ifndef MN_DAEMON_INT_H
#define MN_DAEMON_INT_H
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>
#include "src/daemon/daemon.h"
#include "src/daemon/config.h"
#include "crypto/key.h"
#include "proto/limits.h"

#define BATCH_MAX 4096
#define BATCH_KEEP_BYTES 65536  /* the batch buffer kept between commits */
#define GROUP_COMMIT_MS 100      /* records from peers are committed within this */
#define DURABLE_MS 1000          /* ... and synced to the disk within this */
#define STORE_RETRY_MS 1000
#define MAINT_MS 30000

struct batched {
	uint8_t id[32];
	uint16_t len;
	uint32_t at;                /* its bytes: batch_bytes + at */
	int64_t ref;                /* its row once written (store_ref), else 0 */
};

struct daemon {
	uv_loop_t loop;
	struct config cfg;
	char cfg_path[CONFIG_PATH_MAX];
	struct node_key key;
	struct store *store;
	struct engine *eng;
	struct transport *tr;
	struct api *api;
	struct resolver *res;
	struct wgsync *wg;          /* NULL: plain transport only */
	struct hosts *hosts;         /* the subsystems (registry.c) */
	bool restart;               /* execute ourselves again once stopped */
	uv_timer_t tick, maint, wg_timer;
	uint64_t tick_at;            /* when the tick timer fires (unix ms) */
	uint64_t ticked_at;          /* the last engine_tick's time */
	uint64_t endpoint_published_ms;
	char endpoint_last[MN_MAX_SEEN * 80];
	uint64_t spoofed;
	uv_signal_t sig_term, sig_int, sig_hup;
	uv_timer_t commit;          /* the group commit (daemon.c) */
	struct batched batch[BATCH_MAX];
	size_t nbatch;
	/* the batch's records end to end in one buffer: a copy each in the
	 * heap, freed at the commit, left holes between the index entries
	 * made meanwhile (fragmentation that stays resident) */
	uint8_t *batch_bytes;
	size_t batch_len, batch_cap;
	uint64_t started_ms;
	uint64_t node_published_ms;
	uint64_t store_errors, api_errors, reloads, reload_failures;
	/* the store could not write (disk full): the batch is kept and tried
	 * again every STORE_RETRY_MS; local publishes are refused meanwhile */
	bool store_failing;
	uint64_t unsynced_ms;       /* the first relaxed commit not yet synced, or 0 */
	uint64_t store_commits;     /* of the batch (status) ... */
	uint64_t store_syncs;       /* ... and those that waited for the disk, and syncs */
	bool sync_broken;           /* a store_sync() failed: local publishes refused */
	bool durable_owed;          /* a durable commit put off: the next one is */
	bool batch_missed;          /* a record accepted found no room in the batch */
	uint64_t store_retry_ms, store_lost, publish_refused_store;
	bool stopping;
	int exit_code;
	uint64_t rng[2];
};

/* reach.c: how members are reached, who sent a message (WireGuard or the
 * plain transport) */
struct record;
union body;
int reach_open(struct daemon *d, char *err, size_t cap);
void reach_start(struct daemon *d);
void reach_stop(struct daemon *d);
void reach_free(struct daemon *d);
void reach_peers(struct daemon *d, const struct config *c);
void reach_wg_peers(struct daemon *d);
void reach_node(struct daemon *d, const struct record *r, const union body *b);
void reach_changed(struct daemon *d);   /* the member set changed: the WireGuard cycle now */
void reach_fill_node(struct daemon *d, union body *b);
int reach_message(void *ctx, const uint8_t pk[32], const uint8_t *msg, size_t len,
		  const struct sockaddr *from, bool stream);
/* the transport's gone notice: a hint to the engine (engine_peer_gone_hint) */
void reach_conn_gone(void *ctx, const uint8_t pk[32], const struct sockaddr *from);

/* daemon.c */
void daemon_batch_commit(struct daemon *d);         /* commit the accepted records batched */
bool daemon_store_failing(struct daemon *d);        /* the last commit failed: the batch waits */
void daemon_arm_tick(struct daemon *d, uint64_t next);   /* the engine's timer, due at next */

#endif
