/* The box's own addresses, gateways and resolvers for the IoC allowlist
 * (ioc_sys.h). Read each time the allowlist is rebuilt: a DHCP lease or a
 * new uplink changes them. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/daemon/ioc_sys.h"

static int own(struct ioc_allow *a)
{
	struct ifaddrs *ifa, *i;
	int n = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i; i = i->ifa_next) {
		char t[INET6_ADDRSTRLEN];
		const void *p;
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			p = &((const struct sockaddr_in *)(const void *)i->ifa_addr)->sin_addr;
		else if (i->ifa_addr->sa_family == AF_INET6)
			p = &((const struct sockaddr_in6 *)(const void *)i->ifa_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(i->ifa_addr->sa_family, p, t, sizeof t) &&
		    ioc_allow_addr(a, t, IOC_STEP_OWN, NULL) == 0)
			n++;
	}
	freeifaddrs(ifa);
	return n;
}

/* /proc/net/route: "Iface Destination Gateway Flags ..." in hex, host
 * byte order of the kernel (little-endian words as printed). */
static int gw4(struct ioc_allow *a, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[512], ifn[64];
	unsigned dst, gw, flags;
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "%63s %x %x %x", ifn, &dst, &gw, &flags) == 4 && gw) {
			struct in_addr in = { .s_addr = gw };   /* already network order in memory */
			char t[INET_ADDRSTRLEN];
			if (inet_ntop(AF_INET, &in, t, sizeof t) &&
			    ioc_allow_addr(a, t, IOC_STEP_GATEWAY, NULL) == 0)
				n++;
		}
	fclose(f);
	return n;
}

/* /proc/net/ipv6_route: dst plen src plen nexthop ... (32 hex digits). */
static int gw6(struct ioc_allow *a, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[512], dst[40], src[40], nh[40];
	unsigned dl, sl;
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		struct in6_addr in;
		char t[INET6_ADDRSTRLEN];
		if (sscanf(line, "%32s %x %32s %x %32s", dst, &dl, src, &sl, nh) != 5 || strlen(nh) != 32 ||
		    strspn(nh, "0") == 32)
			continue;
		for (int k = 0; k < 16; k++) {
			unsigned b;
			sscanf(nh + 2 * k, "%2x", &b);
			in.s6_addr[k] = (uint8_t)b;
		}
		if (inet_ntop(AF_INET6, &in, t, sizeof t) &&
		    ioc_allow_addr(a, t, IOC_STEP_GATEWAY, NULL) == 0)
			n++;
	}
	fclose(f);
	return n;
}

static int resolvers(struct ioc_allow *a, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[512], ns[80];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, " nameserver %79s", ns) == 1) {
			ns[strcspn(ns, "%")] = 0;   /* fe80::1%eth0 */
			if (ioc_allow_addr(a, ns, IOC_STEP_RESOLVER, NULL) == 0)
				n++;
		}
	fclose(f);
	return n;
}

int ioc_sys_allow(struct ioc_allow *a, const struct ioc_sys_paths *p)
{
	const struct ioc_sys_paths def = { "/proc/net/route", "/proc/net/ipv6_route", "/etc/resolv.conf" };

	if (!p)
		p = &def;
	return own(a) + gw4(a, p->route ? p->route : def.route) +
	       gw6(a, p->route6 ? p->route6 : def.route6) + resolvers(a, p->resolv ? p->resolv : def.resolv);
}
