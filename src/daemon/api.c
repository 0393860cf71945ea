/* The local API (docs/api.md): a Unix stream socket, one JSON object per
 * line in each direction.
 *
 * Design. struct api owns the listening pipe, a sweep timer and a list of
 * clients; each struct api_client embeds its pipe. Every handle is freed in
 * its close callback only; api_close() closes them all and the api itself
 * is freed by the last close callback.
 *
 * A client is in one of three states:
 *   OPEN      reading requests, answering, receiving events if subscribed;
 *   DRAINING  no more reading: its last answers are flushed (uv_shutdown),
 *             then it is closed — after EOF from the client, or after a
 *             line over API_MAX_LINE; the sweep timer closes it anyway
 *             after API_DRAIN_MS (a peer that never reads);
 *   CLOSING   uv_close() called; freed in the close callback.
 * Bounds: API_MAX_LINE bytes per request line, API_MAX_CLIENTS clients,
 * API_MAX_QUEUE bytes of unwritten output per client (beyond that the
 * client is dropped: a subscriber that stops reading must not grow the
 * daemon); past API_PAUSE_QUEUE its requests are not read until it has
 * read its answers (a client piping thousands of requests is slowed to its
 * own pace, not dropped). A client that is not subscribed and sends no complete request
 * for API_IDLE_MS is closed (bytes without a newline do not count). When
 * all API_MAX_CLIENTS slots are taken, a new caller takes the slot of the
 * unsubscribed client idle the longest, if it has been idle API_EVICT_MS;
 * only when there is none is the caller refused (one error line, closed):
 * idle connections never lock the API for long.
 *
 * Writes share one reference-counted buffer per line, so an event sent to
 * every subscriber is serialised and held once. All reads go through one
 * buffer in struct api (libuv calls alloc and read back to back), appended
 * to the client's line buffer, which grows only as long lines need. */
#define _GNU_SOURCE     /* struct ucred */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "src/daemon/api.h"
#include "src/daemon/host.h"
#include "src/daemon/daemon.h"
#include "src/log.h"
#include "proto/body.h"
#include "proto/hex.h"
#include "crypto/did.h"
#include "src/body_json.h"

#define API_MAX_LINE (64 * 1024)          /* request line, without its '\n' */
#define API_MAX_CLIENTS 64
#define API_MAX_REFUSED 16                /* connections over the limit told so at a time */
#define API_MAX_QUEUE (1024 * 1024)       /* unwritten output per client */
#define API_PAUSE_QUEUE (128 * 1024)      /* ... over which its requests wait */
#define API_READ_BUF (16 * 1024)
#define API_DRAIN_MS 5000
#define API_SWEEP_MS 1000
#define API_DEFAULT_TTL_S (30ULL * 86400)
#define API_MAX_TTL_S 4294967295LL        /* keeps now + ttl far from overflow */
#define API_STALL_MS 30000                /* pending output that does not shrink */
#define API_IDLE_MS 30000                 /* no complete request (subscribers exempt) */
#define API_EVICT_MS 1000                 /* idle this long: its slot may go to a new caller */
#define API_MAX_ACKS 1024                 /* publishes answered after one commit */
#define API_PAGE (16 * 1024)              /* records' wire bytes serialised at a time
					     (~40-60 KiB of JSON) */

enum client_state { CLIENT_OPEN, CLIENT_DRAINING, CLIENT_CLOSING };

struct api_client {
	uv_pipe_t pipe;                   /* first: the close callback casts back */
	struct api *api;
	struct api_client *next, **pprev;
	enum client_state state;
	unsigned id;                      /* for the log */
	long pid;                         /* peer's pid (SO_PEERCRED), -1 unknown */
	bool counted;                     /* in api->nclients */
	bool refused;                     /* in api->nrefused: over the limit, told so */
	bool subscribed;
	bool paused;                      /* its requests wait: answers unread (on_write) */
	uint32_t kinds;                   /* bit k = kind k; all bits = every kind */
	uint64_t drain_deadline;          /* uv_now() ms, DRAINING only */
	size_t last_queued;               /* pending output at the last sweep */
	uint64_t progress_at;             /* when it last shrank (or was empty) */
	uint64_t request_at;              /* connected, or its last complete request */
	char *line;                       /* partial request line */
	size_t len, cap;
	uv_shutdown_t shutdown;
	/* a records answer going out a page at a time (stream_more); the
	 * client's requests wait meanwhile: reading stopped (held), what was
	 * read after the request in stash, EOF with it in eof */
	struct rec_stream *stream;
	char *stash;
	size_t nstash;
	bool held, eof;
	/* a subscriber's events meanwhile, sent after it (at most
	 * API_MAX_QUEUE / 2 bytes: beyond, it is dropped as a slow reader) */
	struct line_buf **ev;
	size_t nev, evbytes;
	/* publishes answered once committed: a run of them in what was read
	 * shares one commit (acks_flush: before any other answer, at the end
	 * of what was read) */
	struct held_ack *acks;
	size_t nacks;
};

struct held_ack {
	struct json_object *id, *result;  /* references of our own */
};

struct rec_stream {
	uint64_t from;                    /* engine_each_record_from's cursor */
	unsigned kind;
	bool has_origin, any;             /* any: a record went out (a comma before the next) */
	uint8_t origin[32];
	char key[MN_MAX_RKEY + 1];        /* "" any */
};

struct api {
	struct daemon *d;
	uv_loop_t *loop;
	uv_pipe_t listener;
	uv_timer_t sweep;
	uv_pipe_t oom_pipe;               /* takes a connection off libuv when calloc fails */
	bool oom_busy;
	bool closing;
	unsigned handles;                 /* open handles; the api goes with the last */
	unsigned nclients;
	unsigned nrefused;                /* connections being told "too many" */
	unsigned next_id;
	struct api_client *clients;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;                        /* the socket file we made, to unlink only it */
	ino_t ino;
	char rbuf[API_READ_BUF];
};

/* One serialised line shared by every write of it. */
struct line_buf {
	unsigned refs;
	size_t len;
	char data[];
};

struct write_req {
	uv_write_t req;
	struct line_buf *lb;
};

static void line_buf_put(struct line_buf *lb)
{
	if (lb && --lb->refs == 0)
		free(lb);
}

/* A new buffer (one reference): lead, n bytes of t, then tail. */
static struct line_buf *line_buf_new(const char *lead, const char *t, size_t n, const char *tail)
{
	size_t nl = strlen(lead), nt = strlen(tail);
	struct line_buf *lb = t ? malloc(sizeof *lb + nl + n + nt) : NULL;

	if (!lb)
		return NULL;
	lb->refs = 1;
	lb->len = nl + n + nt;
	memcpy(lb->data, lead, nl);
	memcpy(lb->data + nl, t, n);
	memcpy(lb->data + nl + n, tail, nt);
	return lb;
}

/* o's JSON text (NULL: null), its length in *n; NULL when out of memory. */
static const char *json_text(struct json_object *o, size_t *n)
{
	return json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, n);
}

/* Serialise o plus '\n' into a new line buffer (one reference). */
static struct line_buf *line_buf_json(struct json_object *o)
{
	size_t n = 0;
	const char *t = json_text(o, &n);

	return line_buf_new("", t, n, "\n");
}

static void api_maybe_free(struct api *a)
{
	if (a->closing && a->handles == 0)
		free(a);
}

static void on_client_closed(uv_handle_t *h)
{
	struct api_client *c = (struct api_client *)h;
	struct api *a = c->api;

	if (c->pprev) {
		*c->pprev = c->next;
		if (c->next)
			c->next->pprev = c->pprev;
	}
	if (c->counted)
		a->nclients--;
	if (c->refused)
		a->nrefused--;
	free(c->line);
	free(c->stream);
	free(c->stash);
	while (c->nev)
		line_buf_put(c->ev[--c->nev]);
	free(c->ev);
	while (c->nacks) {   /* gone before its answers: the group commit saves them */
		c->nacks--;
		json_object_put(c->acks[c->nacks].id);
		json_object_put(c->acks[c->nacks].result);
	}
	free(c->acks);
	free(c);
	a->handles--;
	api_maybe_free(a);
}

static void client_close(struct api_client *c)
{
	if (c->state == CLIENT_CLOSING)
		return;
	c->state = CLIENT_CLOSING;
	uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void stream_more(struct api_client *c);

static void on_write(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct api_client *c = (struct api_client *)req->handle;

	/* a failed write shows up as a read error or EOF, or here while a
	 * records answer goes out (reading stopped) */
	line_buf_put(w->lb);
	free(w);
	if (c->stream && c->state != CLIENT_CLOSING) {
		if (status < 0)
			client_close(c);
		else if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) < API_PAUSE_QUEUE / 2)
			stream_more(c);
		return;
	}
	/* its answers are read again: take its next requests */
	if (c->paused && c->state == CLIENT_OPEN &&
	    uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) < API_PAUSE_QUEUE / 2) {
		c->paused = false;
		if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0)
			client_close(c);
	}
}

/* A client that does not read what waits for it (pending bytes): closed,
 * logged and counted. */
static void drop_slow(struct api_client *c, size_t pending)
{
	log_warn("api: client %u (pid %ld) is not reading (%zu bytes pending): disconnected",
		 c->id, c->pid, pending);
	daemon_count_api_error(c->api->d);
	client_close(c);
}

/* Queue one line to c (takes a new reference on lb). A client whose unread
 * output is already over API_MAX_QUEUE is dropped instead. */
static void client_send(struct api_client *c, struct line_buf *lb)
{
	struct write_req *w;
	size_t queued;

	if (c->state == CLIENT_CLOSING || !lb)
		return;
	queued = uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe);
	if (queued > API_MAX_QUEUE) {
		drop_slow(c, queued);
		return;
	}
	w = malloc(sizeof *w);
	if (!w) {
		client_close(c);
		return;
	}
	w->lb = lb;
	lb->refs++;
	uv_buf_t b = uv_buf_init(lb->data, (unsigned)lb->len);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_write) < 0) {
		line_buf_put(lb);
		free(w);
		client_close(c);
	}
}

static void client_send_json(struct api_client *c, struct json_object *o)
{
	struct line_buf *lb = line_buf_json(o);

	if (!lb) {
		client_close(c);   /* out of memory: the client cannot be answered */
		return;
	}
	client_send(c, lb);
	line_buf_put(lb);
}

/* Queue lead, then n bytes of t, then tail as one write (not a whole line:
 * a part of a records answer). */
static void send_part(struct api_client *c, const char *lead, const char *t, size_t n,
		      const char *tail)
{
	struct line_buf *lb = line_buf_new(lead, t, n, tail);

	if (!lb) {
		client_close(c);
		return;
	}
	client_send(c, lb);
	line_buf_put(lb);
}

/* Error response; id borrowed (NULL = null). */
static void send_error(struct api_client *c, struct json_object *id, const char *code,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void acks_flush(struct api_client *c);

static void send_error(struct api_client *c, struct json_object *id, const char *code,
		       const char *fmt, ...)
{
	struct json_object *r = json_object_new_object(), *e = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	acks_flush(c);   /* the publishes before it are answered first */
	daemon_count_api_error(c->api->d);
	if (!r || !e) {
		json_object_put(r);
		json_object_put(e);
		client_close(c);
		return;
	}
	json_put_str(e, "code", code);
	json_put_str(e, "message", msg);
	json_object_object_add(r, "id", json_object_get(id));
	json_put_bool(r, "ok", false);
	json_object_object_add(r, "error", e);
	client_send_json(c, r);
	json_object_put(r);
}

/* Success response; result consumed (NULL = internal error). */
static void send_result(struct api_client *c, struct json_object *id, struct json_object *result)
{
	struct json_object *r;

	acks_flush(c);
	if (!result) {
		send_error(c, id, "internal", "out of memory");
		return;
	}
	r = json_object_new_object();
	if (!r) {
		json_object_put(result);
		client_close(c);
		return;
	}
	json_object_object_add(r, "id", json_object_get(id));
	json_put_bool(r, "ok", true);
	json_object_object_add(r, "result", result);
	client_send_json(c, r);
	json_object_put(r);
}

/* The publishes held since the last commit: one commit (and sync) for all,
 * then their answers in order — or the store's error for each. */
static void acks_flush(struct api_client *c)
{
	struct held_ack *a = c->acks;
	size_t n = c->nacks;
	char err[256] = "";

	if (!n)
		return;
	c->acks = NULL;
	c->nacks = 0;
	int rc = daemon_publish_commit(c->api->d, n, err, sizeof err);
	for (size_t i = 0; i < n; i++) {
		if (c->state == CLIENT_CLOSING || rc < 0) {
			if (c->state != CLIENT_CLOSING)
				send_error(c, a[i].id, "internal", "%s", err);
			json_object_put(a[i].result);
		} else if (!a[i].result) {
			send_error(c, a[i].id, "internal", "published, but the record cannot be shown");
		} else {
			send_result(c, a[i].id, a[i].result);
		}
		json_object_put(a[i].id);
	}
	free(a);
}

/* --- requests ------------------------------------------------------------ */

/* The arguments a command takes: every member of a request is checked
 * against its command's table (blobmsg style); unknown members are an
 * error, so a misspelt argument is never silently ignored. */
#define arg_policy subsys_arg   /* one shape for ours and the subsystems' calls */

struct request {
	struct api_client *c;
	struct json_object *id;           /* borrowed, may be NULL */
	struct json_object *req;
};

typedef void cmd_fn(struct request *r);

static cmd_fn cmd_ping, cmd_status, cmd_peers, cmd_records, cmd_publish, cmd_subscribe;

#define MAX_ARGS 6
static const struct command {
	const char *name;
	cmd_fn *fn;
	struct arg_policy args[MAX_ARGS];
} commands[] = {
	{ "ping", cmd_ping, { { NULL, 0 } } },
	{ "status", cmd_status, { { NULL, 0 } } },
	{ "peers", cmd_peers, { { NULL, 0 } } },
	{ "records", cmd_records,
	  { { "kind", json_type_string }, { "origin", json_type_string }, { "key", json_type_string },
	    { NULL, 0 } } },
	{ "publish", cmd_publish,
	  { { "kind", json_type_string }, { "key", json_type_string }, { "body", json_type_object },
	    { "tombstone", json_type_boolean }, { "ttl_s", json_type_int }, { NULL, 0 } } },
	{ "subscribe", cmd_subscribe, { { "kinds", json_type_array }, { NULL, 0 } } },
};

static const char *type_word(enum json_type t)
{
	switch (t) {
	case json_type_string: return "a string";
	case json_type_object: return "an object";
	case json_type_boolean: return "a boolean";
	case json_type_int: return "an integer";
	case json_type_array: return "an array";
	default: return "a value";
	}
}

/* A client's string for a message: at most 64 bytes, cut on a UTF-8
 * character boundary (the request was validated as UTF-8). */
static const char *clip(const char *s, char out[68])
{
	size_t n = strlen(s);

	if (n <= 64)
		return s;
	n = 64;
	while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(out, s, n);
	memcpy(out + n, "...", 4);
	return out;
}

/* Check every member of the request against a command's policy. */
static bool args_ok(struct request *r, const char *name, const struct arg_policy *args)
{
	json_object_object_foreach(r->req, k, v) {
		const struct arg_policy *p;
		if (!strcmp(k, "id") || !strcmp(k, "cmd"))
			continue;
		for (p = args; p->name && strcmp(p->name, k); p++)
			;
		if (!p->name) {
			char buf[68];
			send_error(r->c, r->id, "bad_request", "%s: unknown argument '%s'", name,
				   clip(k, buf));
			return false;
		}
		if (!json_object_is_type(v, p->type)) {
			send_error(r->c, r->id, "bad_request", "%s: '%s' must be %s", name, k,
				   type_word(p->type));
			return false;
		}
	}
	return true;
}

/* A kind name into its number; sends the error itself. */
static int arg_kind(struct request *r, const char *name, const char *v)
{
	int k = kind_from_name(v);
	char buf[68];

	if (k < 0)
		send_error(r->c, r->id, "invalid",
			   "%s: unknown kind '%s' (node, cert, revoke, dns, expose, ioc, svc, backup)",
			   name, clip(v, buf));
	return k;
}

static void cmd_ping(struct request *r)
{
	send_result(r->c, r->id, json_object_new_string("pong"));
}

static void cmd_status(struct request *r)
{
	send_result(r->c, r->id, daemon_status(r->c->api->d));
}

static void cmd_peers(struct request *r)
{
	send_result(r->c, r->id, daemon_peers(r->c->api->d));
}

static void stream_end(struct api_client *c);

/* The next page of c's records answer; the last one ends it. */
static void stream_more(struct api_client *c)
{
	struct rec_stream *s = c->stream;
	struct json_object *arr = json_object_new_array();
	int more = arr ? daemon_records(c->api->d, s->kind, s->has_origin ? s->origin : NULL,
					s->key[0] ? s->key : NULL, &s->from, API_PAGE, arr)
		       : -ENOMEM;
	size_t n = 0;
	const char *t = more >= 0 ? json_text(arr, &n) : NULL;

	if (!t || n < 2) {
		/* the answer is under way: the client sees it cut short */
		log_err("api: client %u: out of memory listing records: disconnected", c->id);
		client_close(c);
	} else {
		/* "[a,b]": the members go out, after a comma if some went before */
		send_part(c, s->any && n > 2 ? "," : "", t + 1, n - 2, more ? "" : "]}\n");
		s->any |= n > 2;
	}
	json_object_put(arr);
	if (!more && c->state != CLIENT_CLOSING)
		stream_end(c);
}

static void cmd_records(struct request *r)
{
	const char *kind = json_get_str(r->req, "kind"), *origin = json_get_str(r->req, "origin"),
		   *key = json_get_str(r->req, "key");
	struct api_client *c = r->c;
	struct rec_stream *s;
	int k = 0;

	if (kind && (k = arg_kind(r, "kind", kind)) < 0)
		return;
	if (!(s = calloc(1, sizeof *s))) {
		send_error(c, r->id, "internal", "out of memory");
		return;
	}
	s->kind = (unsigned)k;
	if (origin && (strncmp(origin, "did:", 4) ? hex_decode(origin, s->origin, 32) < 0
						  : did_key_decode(DID_ED25519, origin, s->origin) < 0)) {
		free(s);
		send_error(c, r->id, "invalid", "origin: not a did:key (or 64 hex digits)");
		return;
	}
	s->has_origin = origin != NULL;
	if (key && strlen(key) > MN_MAX_RKEY) {
		free(s);   /* no record has such a key */
		send_result(c, r->id, json_object_new_array());
		return;
	}
	snprintf(s->key, sizeof s->key, "%s", key ? key : "");
	/* the answer's head, {"id":..,"ok":true,"result":[ — the records
	 * follow a page at a time as the client reads them (bounded memory
	 * whatever the store holds), then ]}\n (json-c writes NULL as null) */
	size_t n = 0;
	const char *t = json_text(r->id, &n);
	send_part(c, "{\"id\":", t, n, ",\"ok\":true,\"result\":[");
	c->stream = s;
	if (c->state != CLIENT_CLOSING)
		stream_more(c);
}

static void cmd_publish(struct request *r)
{
	const char *kind = json_get_str(r->req, "kind"), *key = json_get_str(r->req, "key");
	struct json_object *body = NULL, *tomb = NULL, *ttl = NULL, *result = NULL;
	uint64_t ttl_s = API_DEFAULT_TTL_S;
	bool tombstone;
	char err[256] = "";
	int k, rc;

	json_object_object_get_ex(r->req, "body", &body);
	json_object_object_get_ex(r->req, "tombstone", &tomb);
	json_object_object_get_ex(r->req, "ttl_s", &ttl);
	tombstone = tomb && json_object_get_boolean(tomb);
	if (!kind || !key) {
		send_error(r->c, r->id, "bad_request", "publish: 'kind' and 'key' are required");
		return;
	}
	if (!!body == tombstone) {
		send_error(r->c, r->id, "bad_request",
			   "publish: give either 'body' (an object) or 'tombstone': true");
		return;
	}
	if ((k = arg_kind(r, "kind", kind)) < 0)
		return;
	if (ttl) {
		int64_t v = json_object_get_int64(ttl);
		if (v <= 0 || v > API_MAX_TTL_S) {
			send_error(r->c, r->id, "invalid", "ttl_s: 1 to %lld seconds", (long long)API_MAX_TTL_S);
			return;
		}
		ttl_s = (uint64_t)v;
	}
	rc = daemon_publish(r->c->api->d, (unsigned)k, key, body, ttl_s, &result, err, sizeof err);
	if (rc == 0 && r->c->nacks < API_MAX_ACKS) {
		struct held_ack *a = realloc(r->c->acks, (r->c->nacks + 1) * sizeof *a);
		if (a) {   /* answered by acks_flush, after the commit */
			r->c->acks = a;
			a[r->c->nacks++] = (struct held_ack){ json_object_get(r->id), result };
			return;
		}
	}
	acks_flush(r->c);   /* answers stay in order */
	if (rc == 0)
		rc = daemon_publish_commit(r->c->api->d, 1, err, sizeof err);
	if (rc == -EINVAL)
		send_error(r->c, r->id, "invalid", "%s", err[0] ? err : "invalid record");
	else if (rc == -EPERM || rc == -EACCES)   /* e.g. outside our certificate's scope */
		send_error(r->c, r->id, "forbidden", "%s", err[0] ? err : strerror(-rc));
	else if (rc < 0)
		send_error(r->c, r->id, "internal", "%s", err[0] ? err : strerror(-rc));
	else if (!result)
		send_error(r->c, r->id, "internal", "published, but the record cannot be shown");
	else
		send_result(r->c, r->id, result);
	if (rc < 0)
		json_object_put(result);
}

/* A subsystem's call (subsys.h): it does the work on its own state; the
 * outcome becomes one answer line. */
static void subsys_call(struct request *r, void *st, const struct subsys_call *call)
{
	struct json_object *res = NULL;
	char err[256] = "";
	int rc = call->fn(st, r->req, &res, err, sizeof err);

	if (rc == 0)
		send_result(r->c, r->id, res);
	else if (rc == -EINVAL)
		send_error(r->c, r->id, "invalid", "%s", err);
	else if (rc == -EPERM || rc == -EACCES)
		send_error(r->c, r->id, "forbidden", "%s", err);
	else if (rc == -ENOENT)
		send_error(r->c, r->id, "not_found", "%s", err);
	else if (rc == -EALREADY)
		send_error(r->c, r->id, "conflict", "%s", err);
	else
		send_error(r->c, r->id, "internal", "%s", err[0] ? err : strerror(-rc));
}

static void cmd_subscribe(struct request *r)
{
	struct json_object *kinds = NULL, *names;
	uint32_t mask = 0;
	size_t n;

	json_object_object_get_ex(r->req, "kinds", &kinds);
	n = kinds ? json_object_array_length(kinds) : 0;
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(kinds, i);
		int k;
		if (!json_object_is_type(v, json_type_string)) {
			send_error(r->c, r->id, "bad_request", "subscribe: 'kinds' must be an array of strings");
			return;
		}
		if ((k = arg_kind(r, "kinds", json_object_get_string(v))) < 0)
			return;
		mask |= 1u << k;
	}
	names = json_object_new_array();   /* the result: the kinds covered */
	if (!names) {
		send_error(r->c, r->id, "internal", "out of memory");
		return;
	}
	for (unsigned k = KIND_MIN; k <= KIND_MAX; k++)
		if (!mask || (mask & (1u << k)))
			json_object_array_add(names, json_object_new_string(kind_name(k)));
	r->c->subscribed = true;
	r->c->kinds = mask ? mask : UINT32_MAX;
	send_result(r->c, r->id, names);
}

int api_request_parse(const char *line, size_t len, struct json_object **out, char *err, size_t errcap)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *req, *cmdv;

	*out = NULL;
	if (!tok) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
#ifdef JSON_TOKENER_VALIDATE_UTF8
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);   /* we echo strings back */
#endif
	req = json_tokener_parse_ex(tok, line, (int)len);
	if (!req || json_tokener_get_error(tok) != json_tokener_success ||
	    (size_t)json_tokener_get_parse_end(tok) != len) {
		enum json_tokener_error e = json_tokener_get_error(tok);
		json_tokener_free(tok);
		json_object_put(req);
		snprintf(err, errcap, "not a JSON value: %s",
			 e == json_tokener_continue || e == json_tokener_success
				 ? "incomplete or trailing data" : json_tokener_error_desc(e));
		return -EINVAL;
	}
	json_tokener_free(tok);
	*out = req;
	if (!json_object_is_type(req, json_type_object)) {
		snprintf(err, errcap, "a request is a JSON object");
		return -EBADMSG;
	}
	if (!json_object_object_get_ex(req, "cmd", &cmdv) || !json_object_is_type(cmdv, json_type_string)) {
		snprintf(err, errcap, "'cmd' (a string) is required");
		return -EBADMSG;
	}
	return 0;
}

static void handle_line(struct api_client *c, const char *line, size_t len)
{
	struct json_object *req, *cmdv;
	struct request r = { c, NULL, NULL };
	const char *name;
	char err[160];
	int rc;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (!len)
		return;   /* blank lines are ignored (and keep no client open) */
	c->request_at = uv_now(c->api->loop);
	if ((rc = api_request_parse(line, len, &req, err, sizeof err)) < 0) {
		/* an object without a good cmd: its id is answered */
		if (rc == -EBADMSG && json_object_is_type(req, json_type_object))
			json_object_object_get_ex(req, "id", &r.id);
		send_error(c, r.id, rc == -ENOMEM ? "internal" : "bad_request", "%s", err);
		json_object_put(req);
		return;
	}
	r.req = req;
	json_object_object_get_ex(req, "id", &r.id);
	json_object_object_get_ex(req, "cmd", &cmdv);
	name = json_object_get_string(cmdv);
	if (strcmp(name, "publish"))
		acks_flush(c);   /* the publishes before it are answered first */
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(commands[i].name, name))
			continue;
		if (args_ok(&r, commands[i].name, commands[i].args))
			commands[i].fn(&r);
		goto out;
	}
	void *st;
	const struct subsys_call *call = hosts_call(daemon_hosts(c->api->d), name, &st);
	if (call) {
		if (args_ok(&r, call->name, call->args))
			subsys_call(&r, st, call);
		goto out;
	}
	char buf[68];
	send_error(c, r.id, "unknown_cmd", "unknown command '%s' (ping, status, peers, records, "
		   "publish, subscribe)", clip(name, buf));
out:
	json_object_put(req);
}

/* --- connections --------------------------------------------------------- */

static void on_shutdown(uv_shutdown_t *req, int status)
{
	(void)status;
	client_close(req->data);
}

/* Stop reading; flush what is queued, then close (bounded by the sweep). */
static void client_drain(struct api_client *c)
{
	if (c->state != CLIENT_OPEN)
		return;
	c->state = CLIENT_DRAINING;
	c->drain_deadline = uv_now(c->api->loop) + API_DRAIN_MS;
	uv_read_stop((uv_stream_t *)&c->pipe);
	c->shutdown.data = c;
	if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->pipe, on_shutdown) < 0)
		client_close(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct api_client *c = (struct api_client *)h;

	(void)suggested;
	*buf = uv_buf_init(c->api->rbuf, sizeof c->api->rbuf);
}

/* Append data to the line buffer: 0, -E2BIG over the limit, -ENOMEM. */
static int line_append(struct api_client *c, const char *p, size_t n)
{
	if (n == 0)
		return 0;   /* a bare newline: c->line may still be NULL */
	if (n > API_MAX_LINE - c->len)
		return -E2BIG;
	if (n > c->cap - c->len) {
		size_t cap = c->cap ? c->cap : 256;
		while (cap - c->len < n)
			cap *= 2;
		if (cap > API_MAX_LINE)
			cap = API_MAX_LINE;
		char *nl = realloc(c->line, cap);
		if (!nl)
			return -ENOMEM;
		c->line = nl;
		c->cap = cap;
	}
	memcpy(c->line + c->len, p, n);
	c->len += n;
	return 0;
}

/* The request lines in [p, end): each answered in turn; a partial one
 * waits in c->line. While a records answer goes out, what follows it waits
 * in c->stash, reading stopped (stream_end takes it up). */
static void feed(struct api_client *c, const char *p, const char *end)
{
	while (p < end && c->state == CLIENT_OPEN) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		int e = line_append(c, p, n);
		if (e == -E2BIG) {
			log_warn("api: client %u (pid %ld) sent a request line over %d bytes: disconnected",
				 c->id, c->pid, API_MAX_LINE);
			send_error(c, NULL, "line_too_long", "request line over %d bytes", API_MAX_LINE);
		} else if (e < 0) {
			send_error(c, NULL, "internal", "out of memory");
		}
		if (e < 0) {
			c->len = 0;
			client_drain(c);
			return;
		}
		if (!nl)
			break;
		p = nl + 1;
		handle_line(c, c->line, c->len);
		c->len = 0;
		if (c->stream && c->state == CLIENT_OPEN) {
			c->held = true;
			uv_read_stop((uv_stream_t *)&c->pipe);
			c->nstash = (size_t)(end - p);
			if (c->nstash && !(c->stash = malloc(c->nstash))) {
				client_close(c);
				return;
			}
			if (c->nstash)
				memcpy(c->stash, p, c->nstash);
			return;
		}
	}
	acks_flush(c);   /* the run of publishes read ends here */
}

/* The records answer went out whole: the requests that waited are taken
 * up, then reading goes on (or the drain that EOF asked for). */
static void stream_end(struct api_client *c)
{
	char *st = c->stash;
	bool held = c->held;

	free(c->stream);
	c->stream = NULL;
	c->stash = NULL;
	c->held = false;
	for (size_t i = 0; i < c->nev; i++) {   /* a subscriber's events that waited */
		client_send(c, c->ev[i]);
		line_buf_put(c->ev[i]);
	}
	c->nev = c->evbytes = 0;
	if (st)
		feed(c, st, st + c->nstash);
	free(st);
	if (!held || c->stream || c->state != CLIENT_OPEN)
		return;
	if (c->eof)
		client_drain(c);
	else if (!c->paused && uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0)
		client_close(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct api_client *c = (struct api_client *)s;

	if (nread < 0) {
		/* EOF: a last line without '\n' still counts; answers are flushed */
		if (nread == UV_EOF && c->len && c->state == CLIENT_OPEN) {
			handle_line(c, c->line, c->len);
			c->len = 0;
		}
		acks_flush(c);
		if (nread != UV_EOF)
			client_close(c);
		else if (c->stream)
			c->eof = c->held = true;   /* drained once its answer is out */
		else
			client_drain(c);
		return;
	}
	feed(c, buf->base, buf->base + nread);
	if (c->held)
		return;
	/* backpressure: a client that sends requests faster than it reads the
	 * answers waits (its requests stay in the socket) until it has read
	 * them, instead of being dropped at API_MAX_QUEUE */
	if (c->state == CLIENT_OPEN && !c->paused &&
	    uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) > API_PAUSE_QUEUE) {
		c->paused = true;
		uv_read_stop((uv_stream_t *)&c->pipe);
	}
	/* keep idle clients (watchers) small */
	if (c->len == 0 && c->cap > 4096) {
		free(c->line);
		c->line = NULL;
		c->cap = 0;
	}
}

static long peer_pid(uv_pipe_t *p)
{
#ifdef SO_PEERCRED
	uv_os_fd_t fd;
	struct ucred cr;
	socklen_t l = sizeof cr;

	if (uv_fileno((uv_handle_t *)p, &fd) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &l) == 0)
		return (long)cr.pid;
#endif
	(void)p;
	return -1;
}

static void on_connection(uv_stream_t *server, int status);

/* Unsubscribed and open: a client that only asks (subscribers wait for
 * events and are never idle, nor is one whose records answer goes out). */
static bool client_idle_kind(const struct api_client *c)
{
	return c->state == CLIENT_OPEN && c->counted && !c->subscribed && !c->stream;
}

/* All slots taken: the unsubscribed client idle the longest gives its slot
 * up, if idle API_EVICT_MS or more. Its slot is free at once (the close
 * callback only frees memory). */
static void evict_idle(struct api *a)
{
	uint64_t now = uv_now(a->loop);
	struct api_client *v = NULL;

	for (struct api_client *c = a->clients; c; c = c->next)
		if (client_idle_kind(c) && (!v || c->request_at < v->request_at))
			v = c;
	if (!v || now - v->request_at < API_EVICT_MS)
		return;
	log_warn("api: client %u (pid %ld) idle for %llu ms: closed to make room", v->id, v->pid,
		 (unsigned long long)(now - v->request_at));
	daemon_count_api_error(a->d);
	v->counted = false;
	a->nclients--;
	client_close(v);
}

static void on_oom_closed(uv_handle_t *h)
{
	struct api *a = h->data;

	a->oom_busy = false;
	a->handles--;
	if (!a->closing)
		on_connection((uv_stream_t *)&a->listener, 0);   /* one may be waiting */
	api_maybe_free(a);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct api *a = (struct api *)((char *)server - offsetof(struct api, listener));
	struct api_client *c;

	if (status < 0) {
		log_warn("api: accept: %s", uv_strerror(status));
		return;
	}
	if (a->closing)
		return;
	c = calloc(1, sizeof *c);
	if (!c) {
		/* libuv stops accepting until this connection is taken: take it
		 * and drop it; if the spare is busy, its close callback retries */
		log_err("api: out of memory for a client: connection dropped");
		if (!a->oom_busy) {
			a->oom_busy = true;
			a->handles++;
			uv_pipe_init(a->loop, &a->oom_pipe, 0);
			a->oom_pipe.data = a;
			uv_accept(server, (uv_stream_t *)&a->oom_pipe);
			uv_close((uv_handle_t *)&a->oom_pipe, on_oom_closed);
		}
		return;
	}
	c->api = a;
	c->pid = -1;
	c->id = ++a->next_id;
	c->progress_at = c->request_at = uv_now(a->loop);
	uv_pipe_init(a->loop, &c->pipe, 0);
	a->handles++;
	c->next = a->clients;
	if (c->next)
		c->next->pprev = &c->next;
	a->clients = c;
	c->pprev = &a->clients;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
		client_close(c);   /* nothing was waiting (the retry after an OOM drop) */
		return;
	}
	c->pid = peer_pid(&c->pipe);
	if (a->nclients >= API_MAX_CLIENTS)
		evict_idle(a);
	if (a->nclients >= API_MAX_CLIENTS) {
		log_warn("api: client %u (pid %ld) refused: already %d clients", c->id, c->pid,
			 API_MAX_CLIENTS);
		if (a->nrefused >= API_MAX_REFUSED) {
			daemon_count_api_error(a->d);
			client_close(c);   /* a connection flood: no explanation for these */
			return;
		}
		c->refused = true;
		a->nrefused++;
		send_error(c, NULL, "too_many_clients", "already %d clients connected", API_MAX_CLIENTS);
		client_drain(c);
		return;
	}
	c->counted = true;
	a->nclients++;
	log_debug("api: client %u (pid %ld) connected", c->id, c->pid);
	if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) < 0)
		client_close(c);
}

/* Close draining clients that did not let their answers go in time,
 * unsubscribed clients with no request for API_IDLE_MS, and clients whose
 * pending output has not shrunk for API_STALL_MS (one large answer to a
 * client that never reads would otherwise stay forever). */
static void on_sweep(uv_timer_t *t)
{
	struct api *a = (struct api *)((char *)t - offsetof(struct api, sweep));
	uint64_t now = uv_now(a->loop);

	for (struct api_client *c = a->clients; c; c = c->next) {
		if (c->state == CLIENT_DRAINING && now >= c->drain_deadline) {
			client_close(c);
			continue;
		}
		if (c->state != CLIENT_OPEN)
			continue;
		if (client_idle_kind(c) && now - c->request_at >= API_IDLE_MS) {
			log_warn("api: client %u (pid %ld) sent no request for %d s: disconnected",
				 c->id, c->pid, API_IDLE_MS / 1000);
			daemon_count_api_error(a->d);
			client_close(c);
			continue;
		}
		size_t q = uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe);
		if (q == 0 || q < c->last_queued)
			c->progress_at = now;
		c->last_queued = q;
		if (now - c->progress_at >= API_STALL_MS) {
			log_warn("api: client %u (pid %ld) is not reading (%zu bytes pending for %d s): "
				 "disconnected", c->id, c->pid, q, API_STALL_MS / 1000);
			daemon_count_api_error(a->d);
			client_close(c);
		}
	}
}

/* --- public -------------------------------------------------------------- */

static void on_api_handle_closed(uv_handle_t *h)
{
	struct api *a = h->data;

	a->handles--;
	api_maybe_free(a);
}

/* Is someone listening on the socket file at path? 0 = no (ECONNREFUSED:
 * stale, may be replaced), -EADDRINUSE = yes, other negative errno. */
static int probe_socket(const struct sockaddr_un *sun)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sun, sizeof *sun) == 0)
		rc = -EADDRINUSE;
	else if (errno == ECONNREFUSED)
		rc = 0;
	else if (errno == EAGAIN)
		rc = -EADDRINUSE;   /* alive, its backlog is full */
	else
		rc = -errno;
	close(fd);
	return rc;
}

int api_open(struct daemon *d, uv_loop_t *loop, const char *path, struct api **out, char *err,
	     size_t errcap)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct api *a = NULL;
	struct stat st;
	int fd = -1, rc;

	*out = NULL;
	/* A client that closes before reading its answer makes the next write
	 * raise SIGPIPE, which kills a process by default: a daemon serving
	 * sockets must ignore it (libuv does not). Only the default is replaced. */
	struct sigaction old;
	if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	if (strlen(path) >= sizeof sun.sun_path || !*path) {
		snprintf(err, errcap, "api socket %s: path too long (at most %zu bytes)", path,
			 sizeof sun.sun_path - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errcap, "api socket %s: exists and is not a socket (left alone)",
				 sun.sun_path);
			return -EEXIST;
		}
		rc = probe_socket(&sun);
		if (rc == -EADDRINUSE) {
			snprintf(err, errcap, "api socket %s: another mirrornetd is running",
				 sun.sun_path);
			return rc;
		}
		if (rc < 0) {
			snprintf(err, errcap, "api socket %s: %s", sun.sun_path, strerror(-rc));
			return rc;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			rc = -errno;
			snprintf(err, errcap, "api socket %s: cannot remove the stale socket: %s",
				 sun.sun_path, strerror(errno));
			return rc;
		}
	} else if (errno != ENOENT) {
		rc = -errno;
		snprintf(err, errcap, "api socket %s: %s", sun.sun_path, strerror(errno));
		return rc;
	}
	/* bind, chmod, then listen: nobody connects before the mode is right */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (const struct sockaddr *)&sun, sizeof sun) < 0) {
		rc = -errno;
		snprintf(err, errcap, "api socket %s: %s", sun.sun_path, strerror(errno));
		goto fail;
	}
	if (chmod(path, 0660) < 0 || lstat(path, &st) < 0 || listen(fd, 16) < 0) {
		rc = -errno;
		snprintf(err, errcap, "api socket %s: %s", sun.sun_path, strerror(errno));
		unlink(path);
		goto fail;
	}
	a = calloc(1, sizeof *a);
	if (!a) {
		rc = -ENOMEM;
		snprintf(err, errcap, "api: out of memory");
		unlink(path);
		goto fail;
	}
	a->d = d;
	a->loop = loop;
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	memcpy(a->path, path, strlen(path) + 1);
	/* from here on the api is only freed through its close callbacks */
	uv_pipe_init(loop, &a->listener, 0);
	uv_timer_init(loop, &a->sweep);
	a->listener.data = a;
	a->sweep.data = a;
	a->handles = 2;
	if ((rc = uv_pipe_open(&a->listener, fd)) < 0)
		close(fd);   /* else the pipe owns it */
	else
		rc = uv_listen((uv_stream_t *)&a->listener, 16, on_connection);
	if (rc < 0) {
		/* the handles are initialised: they go through api_close() like
		 * after a success (the socket file is removed; the loop must run
		 * once more to free the api) */
		snprintf(err, errcap, "api socket %s: %s", path, uv_strerror(rc));
		api_close(a);
		return rc;
	}
	uv_timer_start(&a->sweep, on_sweep, API_SWEEP_MS, API_SWEEP_MS);
	uv_unref((uv_handle_t *)&a->sweep);
	*out = a;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	free(a);
	return rc;
}

void api_close(struct api *a)
{
	struct stat st;

	if (!a || a->closing)
		return;
	a->closing = true;
	/* remove the socket file only if it is still the one we made */
	if (lstat(a->path, &st) == 0 && st.st_dev == a->dev && st.st_ino == a->ino)
		unlink(a->path);
	for (struct api_client *c = a->clients; c; c = c->next)
		client_close(c);
	uv_close((uv_handle_t *)&a->listener, on_api_handle_closed);
	uv_close((uv_handle_t *)&a->sweep, on_api_handle_closed);
}

static bool wants(const struct api_client *c, unsigned kind)
{
	if (c->state != CLIENT_OPEN || !c->subscribed)
		return false;
	return c->kinds == UINT32_MAX || (kind < 32 && (c->kinds & (1u << kind)));
}

bool api_wants(const struct api *a, unsigned kind)
{
	if (!a || a->closing)
		return false;
	for (const struct api_client *c = a->clients; c; c = c->next)
		if (wants(c, kind))
			return true;
	return false;
}

void api_event(struct api *a, unsigned kind, struct json_object *ev)
{
	struct json_object *o;
	struct line_buf *lb;
	bool any = false;

	if (!a || a->closing)
		return;
	for (struct api_client *c = a->clients; c && !any; c = c->next)
		any = wants(c, kind);
	if (!any)
		return;
	o = json_object_new_object();
	if (!o)
		return;
	json_put_str(o, "event", "record");
	json_object_object_add(o, "record", json_object_get(ev));
	lb = line_buf_json(o);
	json_object_put(o);
	if (!lb) {
		log_err("api: out of memory for an event");
		return;
	}
	for (struct api_client *c = a->clients; c; c = c->next) {
		if (!wants(c, kind))
			continue;
		if (!c->stream) {
			client_send(c, lb);
			continue;
		}
		/* its records answer is going out: the event waits for its end */
		struct line_buf **q = c->evbytes + lb->len <= API_MAX_QUEUE / 2
					      ? realloc(c->ev, (c->nev + 1) * sizeof *q) : NULL;
		if (!q) {
			drop_slow(c, c->evbytes);   /* its events wait beyond the bound */
			continue;
		}
		c->ev = q;
		c->ev[c->nev++] = lb;
		c->evbytes += lb->len;
		lb->refs++;
	}
	line_buf_put(lb);
}

unsigned api_clients(const struct api *a)
{
	return a ? a->nclients : 0;
}
