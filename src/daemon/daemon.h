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
/* Records held: kind 0 = any, origin NULL = any, key NULL = any. */
struct json_object *daemon_records(struct daemon *d, unsigned kind, const uint8_t *origin,
				   const char *key);

/* Sign and publish a record of ours from a JSON body (NULL = tombstone).
 * Returns 0 once it is committed to the store, with *result the record as
 * JSON; or -EINVAL with a message naming the bad field in err. */
int daemon_publish(struct daemon *d, unsigned kind, const char *key, struct json_object *body,
		   uint64_t ttl_s, struct json_object **result, char *err, size_t errcap);

/* Counters the API reports in status. */
void daemon_count_api_error(struct daemon *d);

#endif
