/* Socket addresses from and to text (netaddr.c). */
#ifndef MN_NETADDR_H
#define MN_NETADDR_H
#include <stddef.h>
#include <sys/socket.h>

/* Parse "host:port" / "[v6]:port" numerically into sa. 0 or -EINVAL. */
int addr_parse(const char *s, struct sockaddr_storage *sa, size_t *salen);
/* The inverse: "ip:port" or "[v6]:port" ("" for an unknown family). */
void addr_text(const struct sockaddr_storage *sa, char *buf, size_t cap);
/* A mesh address (optionally with /prefix) and a port: where a member's
 * gossip listens inside the tunnel. 0 or -EINVAL. */
int addr_mesh_sa(const char *mesh_addr, unsigned port, struct sockaddr_storage *sa);

#endif
