/* The local API: a Unix socket (mode 0660), one JSON object per line in
 * each direction (docs/api.md). Requests: status, peers, records, publish,
 * subscribe. A subscribed connection receives one event line per record
 * accepted, of the kinds it asked for. Bounded: line length, clients,
 * per-client output queue (a subscriber that does not read is dropped). */
#ifndef MN_API_H
#define MN_API_H
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <uv.h>

struct daemon;
struct api;

/* Listen on path (an existing socket file nobody answers on is replaced; a
 * live one is an error: -EADDRINUSE). 0 and *out, or a negative errno with
 * a message in err. */
int api_open(struct daemon *d, uv_loop_t *loop, const char *path, struct api **out, char *err,
	     size_t errcap);
/* Stop listening, close every client, remove the socket file. Handles are
 * closed asynchronously: run the loop once more before freeing it. */
void api_close(struct api *a);
/* Does any client subscribe to records of this kind? */
bool api_wants(const struct api *a, unsigned kind);
/* A record was accepted: tell the subscribers of its kind. ev is borrowed. */
void api_event(struct api *a, unsigned kind, struct json_object *ev);
/* One request line (no newline, trailing blanks cut) into *out: 0 with an
 * object holding a string "cmd"; else a message in err and -EINVAL (not one
 * whole JSON value in valid UTF-8: *out NULL), -EBADMSG (not an object, or
 * no string cmd: *out is the value, caller puts it) or -ENOMEM. Pure (no
 * daemon), so it is fuzzed (tests/fuzz/fuzz_apireq.c). */
int api_request_parse(const char *line, size_t len, struct json_object **out, char *err, size_t errcap);
/* Connected clients, for status. */
unsigned api_clients(const struct api *a);

#endif
