/* Mesh address plan; see addrplan.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "src/addrplan.h"

#define SEARCH_MAX (1u << 20)

static int parse_addr(const char *s, int *af, uint8_t out[16], unsigned *prefix)
{
	char buf[64];
	char *slash, *end;

	if (strlen(s) >= sizeof buf)
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	*prefix = 0;
	if (slash) {
		*slash = 0;
		long p = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || p < 0 || p > 128)
			return -EINVAL;
		*prefix = (unsigned)p;
	}
	memset(out, 0, 16);
	if (inet_pton(AF_INET, buf, out) == 1) {
		*af = AF_INET;
		if (slash && *prefix > 32)
			return -EINVAL;
		if (!slash)
			*prefix = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, out) == 1) {
		*af = AF_INET6;
		if (!slash)
			*prefix = 128;
		return 0;
	}
	return -EINVAL;
}

static bool in_net(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
	for (unsigned i = 0; i < prefix; i++) {
		unsigned byte = i / 8, bit = 7 - i % 8;
		if (((a[byte] >> bit) & 1) != ((net[byte] >> bit) & 1))
			return false;
	}
	return true;
}

int addrplan_parse(const char *cidr, struct addrplan *p)
{
	uint8_t a[16];
	int af;
	unsigned prefix;

	if (!strchr(cidr, '/') || parse_addr(cidr, &af, a, &prefix) < 0)
		return -EINVAL;
	unsigned bits = af == AF_INET ? 32 : 128;
	if (prefix + 2 > bits)
		return -EINVAL;
	for (unsigned i = prefix; i < bits; i++)
		if ((a[i / 8] >> (7 - i % 8)) & 1)
			return -EINVAL;   /* host bits set */
	p->af = af;
	memcpy(p->net, a, 16);
	p->prefix = prefix;
	return 0;
}

bool addrplan_contains(const struct addrplan *p, const char *addr)
{
	uint8_t a[16];
	int af;
	unsigned prefix;

	if (parse_addr(addr, &af, a, &prefix) < 0 || af != p->af)
		return false;
	return in_net(a, p->net, p->prefix);
}

/* address = net + n (n fits in the host part) */
static void nth(const struct addrplan *p, uint64_t n, uint8_t out[16])
{
	unsigned len = p->af == AF_INET ? 4 : 16;

	memcpy(out, p->net, 16);
	for (unsigned i = len; i-- > 0 && n; ) {
		uint64_t v = out[i] + (n & 0xff);
		out[i] = (uint8_t)v;
		n = (n >> 8) + (v >> 8);
	}
}

int addrplan_next(const struct addrplan *p, const char *const *used, size_t nused, char *out,
		  size_t cap)
{
	unsigned bits = p->af == AF_INET ? 32 : 128;
	unsigned hostbits = bits - p->prefix;
	uint64_t size = hostbits >= 63 ? UINT64_MAX : (1ull << hostbits);
	uint64_t last = p->af == AF_INET ? size - 2 : size - 1;   /* no broadcast in v4 */
	uint8_t (*taken)[16] = nused ? calloc(nused, 16) : NULL;
	size_t nt = 0;
	int rc = -ENOSPC;

	if (nused && !taken)
		return -ENOMEM;
	for (size_t i = 0; i < nused; i++) {
		int af;
		unsigned pr;
		if (used[i] && parse_addr(used[i], &af, taken[nt], &pr) == 0 && af == p->af)
			nt++;
	}
	for (uint64_t n = 1; n <= last && n <= SEARCH_MAX; n++) {
		uint8_t a[16];
		bool busy = false;
		nth(p, n, a);
		for (size_t i = 0; i < nt && !busy; i++)
			busy = !memcmp(taken[i], a, bits / 8);
		if (busy)
			continue;
		char text[INET6_ADDRSTRLEN];
		if (!inet_ntop(p->af, a, text, sizeof text) || strlen(text) >= cap) {
			rc = -EINVAL;
			break;
		}
		strcpy(out, text);
		rc = 0;
		break;
	}
	free(taken);
	return rc;
}
