/* struct wg_device ownership and the text helpers every backend shares:
 * interface names, keys in hex (constant time: private keys pass through
 * here), allowed IPs (CIDR) and endpoints. See wg_int.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/wg/wg_int.h"

void wg_device_free(struct wg_device *d)
{
	if (!d)
		return;
	free(d->peers);
	memset(d, 0, sizeof *d);
}

/* The capacity of d->peers for n peers: 0, then 4, 8, 16, ... Every
 * function that allocates d->peers keeps at least this many slots. */
static size_t peer_cap(size_t n)
{
	size_t cap = 4;

	if (n == 0)
		return 0;
	while (cap < n)
		cap *= 2;
	return cap;
}

int wg_device_add_peer(struct wg_device *d, struct wg_peer **out)
{
	if (d->npeers >= WG_MAX_PEERS)
		return -E2BIG;
	if (d->npeers == peer_cap(d->npeers)) {
		struct wg_peer *n = realloc(d->peers, peer_cap(d->npeers + 1) * sizeof *n);
		if (!n)
			return -ENOMEM;
		d->peers = n;
	}
	*out = &d->peers[d->npeers++];
	memset(*out, 0, sizeof **out);
	return 0;
}

int wg_device_copy(struct wg_device *dst, const struct wg_device *src)
{
	memset(dst, 0, sizeof *dst);
	dst->has_private_key = src->has_private_key;
	memcpy(dst->public_key, src->public_key, WG_KEY_LEN);
	dst->listen_port = src->listen_port;
	if (src->npeers) {
		dst->peers = malloc(peer_cap(src->npeers) * sizeof *dst->peers);
		if (!dst->peers) {
			memset(dst, 0, sizeof *dst);
			return -ENOMEM;
		}
		memcpy(dst->peers, src->peers, src->npeers * sizeof *dst->peers);
		dst->npeers = src->npeers;
	}
	return 0;
}

struct wg_peer *wg_device_find_peer(const struct wg_device *d, const uint8_t key[WG_KEY_LEN])
{
	for (size_t i = 0; i < d->npeers; i++)
		if (memcmp(d->peers[i].key, key, WG_KEY_LEN) == 0)
			return &d->peers[i];
	return NULL;
}

bool wg_ifname_valid(const char *ifname)
{
	size_t n = 0;

	if (!ifname)
		return false;
	for (; ifname[n]; n++) {
		char c = ifname[n];
		if (n == WG_IFNAME_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '=' || c == '+' || c == '.' || c == '-'))
			return false;
	}
	return n > 0 && strcmp(ifname, ".") != 0 && strcmp(ifname, "..") != 0;
}

/* ---- keys in hex, constant time ---- */

static char hex_digit(unsigned x)
{
	/* x + '0', plus 39 more when x > 9 (the mask is all ones then) */
	return (char)(x + 48u + (((9u - x) >> 8) & 39u));
}

void wg_key_to_hex(const uint8_t key[WG_KEY_LEN], char hex[2 * WG_KEY_LEN + 1])
{
	for (size_t i = 0; i < WG_KEY_LEN; i++) {
		hex[2 * i] = hex_digit(key[i] >> 4);
		hex[2 * i + 1] = hex_digit(key[i] & 15u);
	}
	hex[2 * WG_KEY_LEN] = 0;
}

/* The value of hex digit c in the low bits; *bad gets 1 if c is none. */
static uint32_t hex_value(uint32_t c, uint32_t *bad)
{
	uint32_t num = c ^ 48u;                       /* '0'..'9' → 0..9 */
	uint32_t num_ok = (num - 10u) >> 31;          /* num < 10 */
	uint32_t alpha = (c | 32u) - 87u;             /* 'a'..'f', 'A'..'F' → 10..15 */
	uint32_t alpha_ok = ((alpha - 10u) ^ (alpha - 16u)) >> 31;

	*bad |= 1u ^ (num_ok | alpha_ok);
	return (num & (0u - num_ok)) | (alpha & (0u - alpha_ok));
}

int wg_key_from_hex(uint8_t key[WG_KEY_LEN], const char *hex, size_t len)
{
	uint32_t bad = 0;

	if (len != 2 * WG_KEY_LEN) {
		memset(key, 0, WG_KEY_LEN);
		return -EINVAL;
	}
	for (size_t i = 0; i < WG_KEY_LEN; i++) {
		uint32_t hi = hex_value((unsigned char)hex[2 * i], &bad);
		uint32_t lo = hex_value((unsigned char)hex[2 * i + 1], &bad);
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	if (bad) {
		memset(key, 0, WG_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

bool wg_key_is_zero(const uint8_t key[WG_KEY_LEN])
{
	uint8_t acc = 0;

	for (size_t i = 0; i < WG_KEY_LEN; i++)
		acc |= key[i];
	return acc == 0;
}

/* ---- numbers, CIDR, endpoints ---- */

/* 1..maxdigits decimal digits, value ≤ max. */
static int parse_uint(const char *s, size_t maxdigits, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t n = 0;

	for (; s[n]; n++) {
		if (s[n] < '0' || s[n] > '9' || n == maxdigits)
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[n] - '0');
	}
	if (n == 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int wg_cidr_parse(const char *s, struct wg_cidr *c)
{
	char buf[WG_CIDR_TEXT];
	char *slash;
	unsigned long prefix;
	unsigned bits;

	memset(c, 0, sizeof *c);
	if (!s || strlen(s) >= sizeof buf)
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	if (inet_pton(AF_INET, buf, c->addr) == 1) {
		c->family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1) {
		c->family = AF_INET6;
		bits = 128;
	} else {
		goto bad;
	}
	prefix = bits;
	if (slash && parse_uint(slash + 1, 3, bits, &prefix) < 0)
		goto bad;
	c->prefix = (uint8_t)prefix;
	for (unsigned i = 0; i < bits / 8; i++) {
		if (8 * i >= prefix)
			c->addr[i] = 0;
		else if (8 * (i + 1) > prefix)
			c->addr[i] &= (uint8_t)(0xff00u >> (prefix - 8 * i));
	}
	return 0;
bad:
	memset(c, 0, sizeof *c);
	return -EINVAL;
}

int wg_cidr_format(const struct wg_cidr *c, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	unsigned bits = c->family == AF_INET ? 32 : c->family == AF_INET6 ? 128 : 0;
	int n;

	if (!bits || c->prefix > bits || !inet_ntop(c->family, c->addr, a, sizeof a))
		return -EINVAL;
	n = snprintf(out, cap, "%s/%u", a, (unsigned)c->prefix);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

int wg_cidr_canon(const char *in, char out[WG_CIDR_TEXT])
{
	struct wg_cidr c;
	int r = wg_cidr_parse(in, &c);

	return r < 0 ? r : wg_cidr_format(&c, out, WG_CIDR_TEXT);
}

int wg_endpoint_parse(const char *s, struct sockaddr_storage *ss)
{
	char host[WG_ENDPOINT_TEXT];
	const char *port_s;
	unsigned long port;
	size_t hl;

	memset(ss, 0, sizeof *ss);
	if (!s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		hl = (size_t)(close - s - 1);
		port_s = close + 2;
		if (hl >= sizeof host)
			return -EINVAL;
		memcpy(host, s + 1, hl);
		host[hl] = 0;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - s);
		port_s = colon + 1;
		if (hl >= sizeof host)
			return -EINVAL;
		memcpy(host, s, hl);
		host[hl] = 0;
	}
	if (parse_uint(port_s, 5, 65535, &port) < 0)
		return -EINVAL;
	if (s[0] != '[') {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			goto bad;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		char *pct = strchr(host, '%');
		if (pct) {
			unsigned long scope;
			*pct++ = 0;
			if (parse_uint(pct, 10, 0xffffffffUL, &scope) < 0) {
				/* an interface name */
				scope = *pct && strlen(pct) <= WG_IFNAME_MAX ? if_nametoindex(pct) : 0;
				if (!scope)
					goto bad;
			}
			sin6->sin6_scope_id = (uint32_t)scope;
		}
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			goto bad;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
	}
	return 0;
bad:
	memset(ss, 0, sizeof *ss);
	return -EINVAL;
}

int wg_endpoint_format(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		if (!inet_ntop(AF_INET, &sin->sin_addr, a, sizeof a))
			return -EINVAL;
		n = snprintf(out, cap, "%s:%u", a, (unsigned)ntohs(sin->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		if (!inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof a))
			return -EINVAL;
		if (sin6->sin6_scope_id)
			n = snprintf(out, cap, "[%s%%%u]:%u", a, (unsigned)sin6->sin6_scope_id,
			             (unsigned)ntohs(sin6->sin6_port));
		else
			n = snprintf(out, cap, "[%s]:%u", a, (unsigned)ntohs(sin6->sin6_port));
	} else {
		return -EINVAL;
	}
	return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

int wg_peer_check(const struct wg_peer *p, struct wg_cidr cidrs[WG_MAX_ALLOWED])
{
	if (p->has_endpoint && p->endpoint.ss_family != AF_INET && p->endpoint.ss_family != AF_INET6)
		return -EINVAL;
	if (p->nallowed > WG_MAX_ALLOWED)
		return -EINVAL;
	for (unsigned i = 0; i < p->nallowed; i++) {
		/* the text must be terminated inside its array */
		if (!memchr(p->allowed[i], 0, sizeof p->allowed[i]))
			return -EINVAL;
		if (wg_cidr_parse(p->allowed[i], &cidrs[i]) < 0)
			return -EINVAL;
	}
	return 0;
}
