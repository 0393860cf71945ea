/* The local API's client side (src/apiclient/apiclient.h): blocking
 * sockets, a line reader over a buffer that grows as long lines need, and
 * one call that matches an answer to its request by id. */
#define _GNU_SOURCE     /* ppoll */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "src/apiclient/apiclient.h"

int apiclient_open(struct apiclient *c, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t n = strlen(path);
	int e;

	memset(c, 0, sizeof *c);
	c->fd = -1;
	if (n >= sizeof sun.sun_path)
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, path, n + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof sun) == 0)
		return 0;
	e = errno;
	close(c->fd);
	c->fd = -1;
	return -e;
}

void apiclient_close(struct apiclient *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
	c->start = c->len = c->cap = 0;
}

int apiclient_send_raw(struct apiclient *c, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(c->fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int apiclient_send(struct apiclient *c, struct json_object *req)
{
	size_t n;
	const char *s = json_object_to_json_string_length(
		req, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	int rc;

	if (!s)
		return -ENOMEM;
	rc = apiclient_send_raw(c, s, n);
	return rc ? rc : apiclient_send_raw(c, "\n", 1);
}

/* Wait until the socket is readable: 0, -EAGAIN after timeout_ms, -EINTR
 * (a signal, with a waitmask), or poll's errno. */
static int wait_readable(struct apiclient *c, int timeout_ms)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000 };
	int n;

	for (;;) {
		n = ppoll(&p, 1, timeout_ms < 0 ? NULL : &ts, c->waitmask);
		if (n < 0 && errno == EINTR && !c->waitmask)
			continue;
		if (n < 0)
			return -errno;
		return n == 0 ? -EAGAIN : 0;
	}
}

int apiclient_line(struct apiclient *c, char **line, int timeout_ms)
{
	for (;;) {
		char *nl = c->len > c->start ? memchr(c->buf + c->start, '\n', c->len - c->start) : NULL;
		if (nl) {
			*nl = 0;
			*line = c->buf + c->start;
			c->start = (size_t)(nl - c->buf) + 1;
			return 1;
		}
		if (c->start) {
			memmove(c->buf, c->buf + c->start, c->len - c->start);
			c->len -= c->start;
			c->start = 0;
		}
		if (c->len == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 4096;
			if (c->cap >= APICLIENT_MAX_LINE)
				return -E2BIG;
			char *nb = realloc(c->buf, cap + 1);
			if (!nb)
				return -ENOMEM;
			c->buf = nb;
			c->cap = cap;
		}
		int rc = wait_readable(c, timeout_ms);
		if (rc < 0)
			return rc;
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n < 0 && errno == EINTR && !c->waitmask)
			continue;
		if (n < 0)
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		if (n == 0)
			return 0;
		c->len += (size_t)n;
	}
}

struct json_object *apiclient_parse(const char *line)
{
	struct json_object *o = json_tokener_parse(line);

	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

int apiclient_call(struct apiclient *c, struct json_object *req, struct json_object **resp)
{
	int64_t id = ++c->next_id;
	char *line;
	int rc;

	*resp = NULL;
	json_object_object_add(req, "id", json_object_new_int64(id));
	rc = apiclient_send(c, req);
	if (rc == -ENOMEM)
		return rc;
	/* a failed send is not the end: a daemon that refuses a connection
	 * (too many clients) writes why, then closes; read that first */
	while ((rc = apiclient_line(c, &line, APICLIENT_TIMEOUT_MS)) == 1) {
		struct json_object *o = apiclient_parse(line), *idv;
		if (!o)
			return -EBADMSG;
		if (json_object_object_get_ex(o, "event", NULL)) {
			json_object_put(o);
			continue;
		}
		/* "id": null is no id: a connection-level error */
		if (json_object_object_get_ex(o, "id", &idv) && idv &&
		    !(json_object_is_type(idv, json_type_int) && json_object_get_int64(idv) == id)) {
			json_object_put(o);   /* an answer to something else: not ours to read */
			continue;
		}
		*resp = o;
		return 0;
	}
	return rc == 0 ? -ECONNRESET : rc;
}

int apiclient_call_once(const char *path, struct json_object *req, struct json_object **resp)
{
	struct apiclient c;
	int rc = apiclient_open(&c, path);

	*resp = NULL;
	if (!rc)
		rc = apiclient_call(&c, req, resp);
	apiclient_close(&c);
	return rc;
}

bool apiclient_ok(struct json_object *resp)
{
	struct json_object *idv, *okv;

	return json_object_object_get_ex(resp, "id", &idv) && idv &&
	       json_object_object_get_ex(resp, "ok", &okv) && json_object_get_boolean(okv);
}

struct json_object *apiclient_result(struct json_object *resp)
{
	struct json_object *res;

	return apiclient_ok(resp) && json_object_object_get_ex(resp, "result", &res) ? res : NULL;
}
