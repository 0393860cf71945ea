/* mirrornetd: the engine driven by libuv, over a transport, on a store.
 * The executable is a one-line main() around daemon_main(). The local API
 * (api.c) talks to the daemon only through the functions below. */
#ifndef MN_DAEMON_H
#define MN_DAEMON_H
#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include <uv.h>

struct daemon;

/* mirrornetd's whole life: options, config, run, exit status. */
int daemon_main(int argc, char **argv);

/* JSON views for the API and the CLI (new objects, caller owns them). */
struct json_object *daemon_status(struct daemon *d);
struct json_object *daemon_peers(struct daemon *d);
/* A page of the records held (kind 0 = any, origin NULL = any, key NULL =
 * any) appended to arr: engine_each_record_from's from and max, its
 * return (1 more may follow, 0 the end, -ENOMEM). */
int daemon_records(struct daemon *d, unsigned kind, const uint8_t *origin, const char *key,
		   uint64_t *from, size_t max, struct json_object *arr);

/* Sign and publish a record of ours from a JSON body (NULL = tombstone).
 * Returns 0 with *result the record as JSON; or -EINVAL with a message
 * naming the bad field in err. It is held and gossiped, not yet committed:
 * the caller acknowledges it only after daemon_publish_commit() (one
 * commit for a run of publishes: a publisher piping many records pays one
 * fsync for the run, not one each). */
int daemon_publish(struct daemon *d, unsigned kind, const char *key, struct json_object *body,
		   uint64_t ttl_s, struct json_object **result, char *err, size_t errcap);
/* Commit and sync what n publishes before it made: 0, or -ENOSPC with
 * "not saved: ..." in err when the store cannot write (the records are
 * held and gossiped, and saved when it can). */
int daemon_publish_commit(struct daemon *d, size_t n, char *err, size_t errcap);

/* The daemon's parts, for the host of the subsystems (host.c) and the
 * WireGuard sync: no subsystem calls these (subsys.h). */
struct engine;
struct store;
struct config;
struct node_key;
struct wgsync;
union body;
struct engine *daemon_engine(struct daemon *d);
struct store *daemon_store(struct daemon *d);
const struct config *daemon_config(struct daemon *d);
const struct node_key *daemon_key(struct daemon *d);
struct wgsync *daemon_wg(struct daemon *d);
struct hosts;
struct hosts *daemon_hosts(struct daemon *d);   /* the subsystems, for api.c */
/* Unix ms: the wall clock, shifted by MIRRORNET_TIME_OFFSET_S (seconds,
 * may be negative; read at start) so tests can run a daemon in the future. */
uint64_t daemon_now_ms(void);
/* Sign and publish a record of ours from a struct body; committed to the
 * store when it returns 0. Else as engine_publish(). */
int daemon_publish_body(struct daemon *d, unsigned kind, const char *key, const union body *b,
			uint64_t ttl_s, uint8_t id[32], int *perr);
/* Insert a signed record from elsewhere (checked like a received one),
 * committed: as engine_insert(). */
int daemon_insert(struct daemon *d, const uint8_t *wire, size_t len);
/* Our certificate was renewed: publish our node record again. */
void daemon_chain_changed(struct daemon *d);
/* Stop cleanly, then execute ourselves again (a new key after rotation). */
void daemon_restart(struct daemon *d);

/* Counters the API reports in status. */
void daemon_count_api_error(struct daemon *d);

#endif
