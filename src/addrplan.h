/* The mesh address plan: a subnet (default 10.42.0.0/16; an IPv6 ULA
 * prefix such as fd42:4242::/64 works too) out of which the master hands
 * each member its address with its certificate. addrplan_next() gives the
 * lowest address of the subnet that nobody holds: no collisions as long as
 * the issuer sees the certificates already issued. */
#ifndef MN_ADDRPLAN_H
#define MN_ADDRPLAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADDRPLAN_DEFAULT "10.42.0.0/16"

struct addrplan {
	int af;                  /* AF_INET or AF_INET6 */
	uint8_t net[16];         /* network address (host bits zero) */
	unsigned prefix;
};

/* "10.42.0.0/16" or "fd42:4242::/64". 0 or -EINVAL (not a CIDR, host bits
 * set, or a subnet too small to hold members: IPv4 /31 and /32, IPv6
 * /127 and /128). */
int addrplan_parse(const char *cidr, struct addrplan *p);
/* Does the plan contain this address ("10.42.0.7" or "10.42.0.7/32")? */
bool addrplan_contains(const struct addrplan *p, const char *addr);
/* The lowest usable address not in used[] (the network address and, in
 * IPv4, the broadcast address are never given out), in canonical text.
 * 0, -ENOSPC when the subnet is full (searched up to 2^20 addresses), or
 * -EINVAL. */
int addrplan_next(const struct addrplan *p, const char *const *used, size_t nused, char *out,
		  size_t cap);

#endif
