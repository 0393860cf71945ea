/* A blocking client for mirrornetd's local API (docs/api.md): a Unix stream
 * socket, one JSON object per line each way. mirrornetctl, the benchmarks
 * (tools/bench) and the tests use this one; the daemon's side is
 * src/daemon/api.c.
 *
 * Errors are negative errno values. A struct apiclient is the caller's; it
 * holds a line buffer that grows to APICLIENT_MAX_LINE and is freed by
 * apiclient_close(). */
#ifndef MN_APICLIENT_H
#define MN_APICLIENT_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define APICLIENT_TIMEOUT_MS 10000        /* apiclient_call(): per read */
#define APICLIENT_MAX_LINE (64u << 20)    /* an answer line (records of a full store) */

struct apiclient {
	int fd;
	char *buf;
	size_t start, len, cap;     /* unread bytes are buf[start, len) */
	int64_t next_id;
	/* NULL: reads wait in poll() and a signal is retried. Set: they wait in
	 * ppoll() with this signal mask, and a signal ends the wait (-EINTR). */
	const sigset_t *waitmask;
};

/* Connect to the socket at path. 0, or a negative errno: -ENAMETOOLONG
 * (path too long for a socket address), socket() or connect()'s errno.
 * After a failure c is closed (apiclient_close() is harmless). */
int apiclient_open(struct apiclient *c, const char *path);
/* Close the socket and free the buffer; c may be open, failed or closed. */
void apiclient_close(struct apiclient *c);

/* Write n bytes as they are (no newline added). 0 or a negative errno
 * (-EPIPE when the daemon has closed; never SIGPIPE). */
int apiclient_send_raw(struct apiclient *c, const char *s, size_t n);
/* Write req (borrowed) as one line. 0 or a negative errno. */
int apiclient_send(struct apiclient *c, struct json_object *req);

/* The next line, '\n' removed and NUL-terminated, in c's buffer until the
 * next read: 1; 0 at the end of the stream; or a negative errno: -EAGAIN
 * nothing within timeout_ms (per read; -1 waits for ever, 0 only takes
 * what has arrived), -E2BIG a line over APICLIENT_MAX_LINE, -ENOMEM,
 * -EINTR a signal (waitmask set), or the socket's error. */
int apiclient_line(struct apiclient *c, char **line, int timeout_ms);
/* A line as a JSON object (caller owns it), NULL if it is not one. */
struct json_object *apiclient_parse(const char *line);

/* Send req (borrowed; its "id" member is set to a new id) and read until
 * its answer, skipping event lines and answers to other ids, each read
 * waiting at most APICLIENT_TIMEOUT_MS. 0 with *resp (caller owns it): our
 * answer, or a line with no id or "id": null — a connection-level error
 * such as "too many clients" (apiclient_ok() tells a success).
 * A failed send is not the end: a daemon that refuses a connection writes
 * why, then closes; that line is still read. Else a negative errno as
 * apiclient_line(), -ECONNRESET when the stream ended, -EBADMSG a line
 * that is not a JSON object. */
int apiclient_call(struct apiclient *c, struct json_object *req, struct json_object **resp);
/* Connect to path, apiclient_call(), close: the errors of both. */
int apiclient_call_once(const char *path, struct json_object *req, struct json_object **resp);
/* Whether an answer from apiclient_call() is a success: "ok" is true and it
 * has an id (one without, or with "id": null, is a connection-level error). */
bool apiclient_ok(struct json_object *resp);
/* The "result" of a successful answer (borrowed from resp), else NULL. */
struct json_object *apiclient_result(struct json_object *resp);

#endif
