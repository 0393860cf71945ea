/* What the box itself says it must never ban (ioc_sys.c): its own
 * addresses, its gateways (/proc/net/route, /proc/net/ipv6_route) and its
 * resolvers (/etc/resolv.conf), into the IoC allowlist. */
#ifndef MN_IOC_SYS_H
#define MN_IOC_SYS_H
#include "src/ioc/policy.h"

/* Paths (tests point them elsewhere); NULL: the system's. */
struct ioc_sys_paths {
	const char *route, *route6, *resolv;
};
/* Add them; returns how many were added (a missing file adds none). */
int ioc_sys_allow(struct ioc_allow *a, const struct ioc_sys_paths *p);

#endif
