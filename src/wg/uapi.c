/* The userspace backend: WireGuard's cross-platform configuration protocol
 * (https://www.wireguard.com/xplatform/) over the Unix socket
 * /var/run/wireguard/IFNAME.sock that wireguard-go listens on.
 *
 * One connection per call: connect, send one request, read until the blank
 * line that ends the reply, close. Requests:
 *   set=1 / private_key=HEX / [listen_port=N] / (blank)
 *   set=1 / public_key=HEX / [endpoint=IP:PORT] / persistent_keepalive_interval=N /
 *           replace_allowed_ips=true / allowed_ip=CIDR... / (blank)   add or update
 *   set=1 / public_key=HEX / remove=true / (blank)
 *   get=1 / (blank)
 * Every reply ends "errno=N" and a blank line; wireguard-go writes N as a
 * negative errno (-22), the protocol text says positive: both are read.
 *
 * Formatting and parsing are pure functions (wg_int.h), unit-tested; this
 * file's I/O is exercised against wireguard-go in tests/netns/ and against
 * a scripted server in tests/unit/test_wg.c. Buffers that held the private
 * key (a set_device request, a get reply) are wiped before they are freed
 * or go out of scope. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "src/wg/wg_int.h"
#include "crypto/crypto.h"
#include "crypto/key.h"

#define UAPI_DIR "/var/run/wireguard"
#define UAPI_TIMEOUT_MS 2000
#define UAPI_MAX_ERRNO 4095

struct uapi {
	struct wg_backend b;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* ---- requests ---- */

struct out {
	char *buf;
	size_t cap, len;
	bool full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = true;
	else
		o->len += (size_t)n;
}

static int put_end(struct out *o)
{
	put(o, "\n");
	if (o->full) {
		if (o->cap)
			o->buf[0] = 0;
		return -ENOSPC;
	}
	return (int)o->len;
}

int wg_uapi_req_set_device(char *buf, size_t cap, const uint8_t priv[WG_KEY_LEN], uint16_t port)
{
	struct out o = { buf, cap, 0, false };
	char hex[2 * WG_KEY_LEN + 1];
	int r;

	wg_key_to_hex(priv, hex);
	put(&o, "set=1\nprivate_key=%s\n", hex);
	crypto_wipe(hex, sizeof hex);
	if (port)
		put(&o, "listen_port=%u\n", (unsigned)port);
	r = put_end(&o);
	if (r < 0)
		crypto_wipe(buf, cap);
	return r;
}

int wg_uapi_req_set_peer(char *buf, size_t cap, const struct wg_peer *p)
{
	struct out o = { buf, cap, 0, false };
	struct wg_cidr cidrs[WG_MAX_ALLOWED];
	char hex[2 * WG_KEY_LEN + 1], text[WG_ENDPOINT_TEXT];

	if (wg_peer_check(p, cidrs) < 0)
		return -EINVAL;
	wg_key_to_hex(p->key, hex);
	put(&o, "set=1\npublic_key=%s\n", hex);
	if (p->has_endpoint) {
		if (wg_endpoint_format(&p->endpoint, text, sizeof text) < 0)
			return -EINVAL;
		put(&o, "endpoint=%s\n", text);
	}
	put(&o, "persistent_keepalive_interval=%u\nreplace_allowed_ips=true\n",
	    (unsigned)p->keepalive_s);
	for (unsigned i = 0; i < p->nallowed; i++) {
		if (wg_cidr_format(&cidrs[i], text, sizeof text) < 0)
			return -EINVAL;
		put(&o, "allowed_ip=%s\n", text);
	}
	return put_end(&o);
}

int wg_uapi_req_remove_peer(char *buf, size_t cap, const uint8_t key[WG_KEY_LEN])
{
	struct out o = { buf, cap, 0, false };
	char hex[2 * WG_KEY_LEN + 1];

	wg_key_to_hex(key, hex);
	put(&o, "set=1\npublic_key=%s\nremove=true\n", hex);
	return put_end(&o);
}

/* ---- replies ---- */

static size_t find_end(const char *buf, size_t from, size_t len)
{
	for (size_t i = from; i < len; i++)
		if (buf[i] == '\n' && (i == 0 || buf[i - 1] == '\n'))
			return i + 1;
	return 0;
}

size_t wg_uapi_reply_end(const char *buf, size_t len)
{
	return find_end(buf, 0, len);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	for (; s[n]; n++) {
		unsigned d = (unsigned)(s[n] - '0');
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -EBADMSG;
		v = v * 10 + d;
	}
	if (n == 0 || v > max)
		return -EBADMSG;
	*out = v;
	return 0;
}

/* "errno=" value: [-]digits, |N| ≤ UAPI_MAX_ERRNO → 0 or -|N|. */
static int parse_errno(const char *s, int *err)
{
	uint64_t v;

	if (parse_u64(s[0] == '-' ? s + 1 : s, UAPI_MAX_ERRNO, &v) < 0)
		return -EBADMSG;
	*err = -(int)v;
	return 0;
}

static int peer_line(struct wg_peer *p, const char *key, const char *val)
{
	uint64_t v;

	if (strcmp(key, "endpoint") == 0) {
		if (wg_endpoint_parse(val, &p->endpoint) < 0)
			return -EBADMSG;
		p->has_endpoint = true;
	} else if (strcmp(key, "persistent_keepalive_interval") == 0) {
		if (parse_u64(val, UINT16_MAX, &v) < 0)
			return -EBADMSG;
		p->keepalive_s = (uint16_t)v;
	} else if (strcmp(key, "allowed_ip") == 0) {
		struct wg_cidr c;
		if (wg_cidr_parse(val, &c) < 0)
			return -EBADMSG;
		/* more than we can hold: dropped (see wg_int.h) */
		if (p->nallowed < WG_MAX_ALLOWED &&
		    wg_cidr_format(&c, p->allowed[p->nallowed], sizeof p->allowed[0]) == 0)
			p->nallowed++;
	} else if (strcmp(key, "last_handshake_time_sec") == 0) {
		if (parse_u64(val, UINT64_MAX, &p->last_handshake_s) < 0)
			return -EBADMSG;
	} else if (strcmp(key, "rx_bytes") == 0) {
		if (parse_u64(val, UINT64_MAX, &p->rx_bytes) < 0)
			return -EBADMSG;
	} else if (strcmp(key, "tx_bytes") == 0) {
		if (parse_u64(val, UINT64_MAX, &p->tx_bytes) < 0)
			return -EBADMSG;
	}
	/* preshared_key, protocol_version, last_handshake_time_nsec, ...: unused */
	return 0;
}

static int device_line(struct wg_device *d, const char *key, const char *val)
{
	uint64_t v;

	if (strcmp(key, "private_key") == 0) {
		uint8_t priv[WG_KEY_LEN];
		if (wg_key_from_hex(priv, val, strlen(val)) < 0)
			return -EBADMSG;
		d->has_private_key = !wg_key_is_zero(priv);
		if (d->has_private_key)
			x25519_public(priv, d->public_key);
		else
			memset(d->public_key, 0, WG_KEY_LEN);
		crypto_wipe(priv, sizeof priv);
	} else if (strcmp(key, "listen_port") == 0) {
		if (parse_u64(val, UINT16_MAX, &v) < 0)
			return -EBADMSG;
		d->listen_port = (uint16_t)v;
	}
	/* fwmark and the rest: unused */
	return 0;
}

int wg_uapi_parse_reply(const char *buf, size_t len, struct wg_device *out)
{
	struct wg_device d = { 0 };
	struct wg_peer *peer = NULL;
	char line[WG_UAPI_MAX_LINE + 1];
	bool have_errno = false;
	int err = 0, r = -EBADMSG;
	size_t pos = 0;

	if (out)
		memset(out, 0, sizeof *out);
	for (;;) {
		const char *start = buf + pos, *nl;
		char *eq;
		size_t ll;

		nl = pos < len ? memchr(start, '\n', len - pos) : NULL;
		if (!nl)
			goto out;                   /* no blank line: truncated */
		ll = (size_t)(nl - start);
		pos += ll + 1;
		if (ll == 0)
			break;                      /* the blank line ends the reply */
		if (have_errno || ll > WG_UAPI_MAX_LINE || memchr(start, 0, ll))
			goto out;                   /* errno is the last line */
		memcpy(line, start, ll);
		line[ll] = 0;
		eq = strchr(line, '=');
		if (!eq)
			goto out;
		*eq++ = 0;
		if (strcmp(line, "errno") == 0) {
			if (parse_errno(eq, &err) < 0)
				goto out;
			have_errno = true;
		} else if (!out) {
			continue;                   /* a set reply has nothing else */
		} else if (strcmp(line, "public_key") == 0) {
			r = wg_device_add_peer(&d, &peer);
			if (r < 0)
				goto out;
			r = -EBADMSG;
			if (wg_key_from_hex(peer->key, eq, strlen(eq)) < 0)
				goto out;
		} else if (peer) {
			if (peer_line(peer, line, eq) < 0)
				goto out;
		} else {
			if (device_line(&d, line, eq) < 0)
				goto out;
		}
	}
	if (!have_errno)
		goto out;
	r = err;
	if (r == 0 && out) {
		*out = d;
		memset(&d, 0, sizeof d);
	}
out:
	crypto_wipe(line, sizeof line);
	wg_device_free(&d);
	return r;
}

/* ---- I/O ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int uapi_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = UAPI_TIMEOUT_MS / 1000,
	                      .tv_usec = (UAPI_TIMEOUT_MS % 1000) * 1000 };
	int fd, r;

	memcpy(sa.sun_path, path, strlen(path) + 1);   /* bounded in wg_uapi_new_at */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
		goto fail;
	do
		r = connect(fd, (const struct sockaddr *)&sa, sizeof sa);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		goto fail;
	return fd;
fail:
	r = errno == EAGAIN ? -ETIMEDOUT : -errno;
	close(fd);
	return r;
}

/* Grow *buf to at least need bytes, wiping the old copy (it may hold the
 * private key). */
static int grow(char **buf, size_t *cap, size_t need)
{
	size_t ncap = *cap ? *cap : 4096;
	char *n;

	while (ncap < need)
		ncap *= 2;
	if (ncap > WG_UAPI_MAX_REPLY)
		ncap = WG_UAPI_MAX_REPLY;
	if (ncap < need)
		return -E2BIG;
	n = malloc(ncap);
	if (!n)
		return -ENOMEM;
	if (*buf) {
		memcpy(n, *buf, *cap);
		crypto_wipe(*buf, *cap);
		free(*buf);
	}
	*buf = n;
	*cap = ncap;
	return 0;
}

/* One request, one reply: 0, the daemon's error or a local one. */
static int uapi_call(const struct uapi *u, const char *req, size_t reqlen, struct wg_device *out)
{
	uint64_t deadline = now_ms() + UAPI_TIMEOUT_MS;
	char *buf = NULL;
	size_t cap = 0, len = 0, end = 0, sent = 0;
	int fd, r;

	fd = uapi_connect(u->path);
	if (fd < 0)
		return fd;
	while (sent < reqlen) {
		ssize_t n = send(fd, req + sent, reqlen - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			goto out;
		}
		sent += (size_t)n;
	}
	while (!end) {
		ssize_t n;
		if (now_ms() > deadline) {
			r = -ETIMEDOUT;
			goto out;
		}
		if (len == cap && (r = grow(&buf, &cap, len + 1)) < 0)
			goto out;
		n = recv(fd, buf + len, cap - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			goto out;
		}
		if (n == 0) {
			r = -EBADMSG;               /* closed before the blank line */
			goto out;
		}
		end = find_end(buf, len ? len - 1 : 0, len + (size_t)n);
		len += (size_t)n;
	}
	r = wg_uapi_parse_reply(buf, end, out);
out:
	if (buf) {
		crypto_wipe(buf, cap);
		free(buf);
	}
	close(fd);
	return r;
}

static int uapi_set_device(struct wg_backend *b, const uint8_t priv[WG_KEY_LEN], uint16_t port)
{
	char req[WG_UAPI_REQ_MAX];
	int n = wg_uapi_req_set_device(req, sizeof req, priv, port);

	if (n >= 0)
		n = uapi_call((struct uapi *)b, req, (size_t)n, NULL);
	crypto_wipe(req, sizeof req);
	return n;
}

static int uapi_set_peer(struct wg_backend *b, const struct wg_peer *p)
{
	char req[WG_UAPI_REQ_MAX];
	int n = wg_uapi_req_set_peer(req, sizeof req, p);

	return n < 0 ? n : uapi_call((struct uapi *)b, req, (size_t)n, NULL);
}

static int uapi_remove_peer(struct wg_backend *b, const uint8_t key[WG_KEY_LEN])
{
	char req[WG_UAPI_REQ_MAX];
	int n = wg_uapi_req_remove_peer(req, sizeof req, key);

	return n < 0 ? n : uapi_call((struct uapi *)b, req, (size_t)n, NULL);
}

static int uapi_get(struct wg_backend *b, struct wg_device *out)
{
	static const char req[] = "get=1\n\n";

	memset(out, 0, sizeof *out);
	return uapi_call((struct uapi *)b, req, sizeof req - 1, out);
}

static void uapi_free(struct wg_backend *b)
{
	free(b);
}

struct wg_backend *wg_uapi_new_at(const char *dir, const char *ifname, char *err, size_t errcap)
{
	struct uapi *u;
	char path[sizeof u->path];
	int n, fd;

	if (!wg_ifname_valid(ifname)) {
		snprintf(err, errcap, "invalid WireGuard interface name '%.16s'", ifname ? ifname : "");
		return NULL;
	}
	n = snprintf(path, sizeof path, "%s/%s.sock", dir, ifname);
	if (n < 0 || (size_t)n >= sizeof path) {
		snprintf(err, errcap, "WireGuard UAPI socket path too long: %s/%s.sock", dir, ifname);
		return NULL;
	}
	/* reachable now? (wireguard-go takes a connection closed without a
	 * request in its stride) */
	fd = uapi_connect(path);
	if (fd < 0) {
		snprintf(err, errcap, "cannot reach WireGuard UAPI socket %s: %s%s", path,
		         strerror(-fd), fd == -ENOENT ? " (is wireguard-go running?)" : "");
		return NULL;
	}
	close(fd);
	u = calloc(1, sizeof *u);
	if (!u) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	memcpy(u->path, path, sizeof path);
	u->b.name = "uapi";
	u->b.set_device = uapi_set_device;
	u->b.set_peer = uapi_set_peer;
	u->b.remove_peer = uapi_remove_peer;
	u->b.get = uapi_get;
	u->b.free = uapi_free;
	return &u->b;
}

struct wg_backend *wg_uapi_new(const char *ifname, char *err, size_t errcap)
{
	return wg_uapi_new_at(UAPI_DIR, ifname, err, errcap);
}
