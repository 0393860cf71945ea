/* Socket addresses from and to text: "host:port", "[v6]:port", a mesh
 * address with its port. Numeric only (names go through the resolver,
 * src/daemon/resolve.c). Shared by the daemon, the CLI and the tools. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/netaddr.h"
#include "proto/limits.h"

int addr_parse(const char *s, struct sockaddr_storage *sa, size_t *salen)
{
	char host[64];
	const char *port;
	char *end;

	memset(sa, 0, sizeof *sa);
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof host)
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(rb - s - 1));
		host[rb - s - 1] = 0;
		port = rb + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof host || strchr(s, ':') != colon)
			return -EINVAL;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = 0;
		port = colon + 1;
	}
	long p = strtol(port, &end, 10);
	if (!*port || *end || p < 1 || p > 65535)
		return -EINVAL;
	struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		*salen = sizeof *v4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		*salen = sizeof *v6;
		return 0;
	}
	return -EINVAL;
}

void addr_text(const struct sockaddr_storage *sa, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "";

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
		snprintf(buf, cap, "%s:%u", ip, ntohs(v4->sin_port));
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
		snprintf(buf, cap, "[%s]:%u", ip, ntohs(v6->sin6_port));
	} else if (cap) {
		buf[0] = 0;
	}
}

int addr_mesh_sa(const char *mesh_addr, unsigned port, struct sockaddr_storage *sa)
{
	char a[MN_MAX_ADDR + 16];
	size_t salen;
	size_t n = strcspn(mesh_addr, "/");

	if (!n || n > MN_MAX_ADDR)
		return -EINVAL;
	snprintf(a, sizeof a, memchr(mesh_addr, ':', n) ? "[%.*s]:%u" : "%.*s:%u", (int)n, mesh_addr,
		 port);
	return addr_parse(a, sa, &salen);
}
