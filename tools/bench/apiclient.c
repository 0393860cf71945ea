#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "tools/bench/apiclient.h"

int apiconn_open(struct apiconn *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	c->len = 0;
	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(c->fd);
		c->fd = -1;
		return -e;
	}
	return 0;
}

void apiconn_close(struct apiconn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int apiconn_send(struct apiconn *c, struct json_object *req)
{
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	size_t n = strlen(s), off = 0;

	while (off <= n) {
		const char *p = off < n ? s + off : "\n";
		size_t len = off < n ? n - off : 1;
		ssize_t w = write(c->fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		off += (size_t)w;
		if (off == n + 1)
			break;
		if (off > n)
			break;
	}
	return 0;
}

struct json_object *apiconn_recv(struct apiconn *c, int timeout_ms)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			*nl = 0;
			struct json_object *o = json_tokener_parse(c->buf);
			size_t used = (size_t)(nl - c->buf) + 1;
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			return o;
		}
		if (c->len == sizeof c->buf)
			return NULL;
		struct pollfd pfd = { c->fd, POLLIN, 0 };
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return NULL;
		ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
		if (r <= 0)
			return NULL;
		c->len += (size_t)r;
	}
}

struct json_object *apiconn_call(struct apiconn *c, struct json_object *req)
{
	struct json_object *resp, *res = NULL, *ok;

	if (apiconn_send(c, req) < 0)
		return NULL;
	for (;;) {
		resp = apiconn_recv(c, 10000);
		if (!resp)
			return NULL;
		if (json_object_object_get_ex(resp, "event", NULL)) {   /* a subscription event */
			json_object_put(resp);
			continue;
		}
		break;
	}
	if (json_object_object_get_ex(resp, "ok", &ok) && json_object_get_boolean(ok) &&
	    json_object_object_get_ex(resp, "result", &res))
		json_object_get(res);
	else
		res = NULL;
	json_object_put(resp);
	return res;
}
