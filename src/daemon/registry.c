/* The registry of subsystems: a new one is its files plus one line here
 * (and its sources and name in meson.build). Order is start order; status
 * and the config sections follow it too. Onboarding is always in; the
 * others only when -Dsubsystems names them (meson.build passes
 * MN_WITH_<NAME> 1 or 0; docs/size.md). */
#include <stdlib.h>
#include "src/daemon/subsys.h"

#define WITH(c, ...) WITH_(c, __VA_ARGS__)
#define WITH_(c, ...) WITH_##c(__VA_ARGS__)
#define WITH_1(...) __VA_ARGS__
#define WITH_0(...)

#define SUBSYSTEMS(X) \
	X(subsys_onboarding) /* invitations, the join service, renewals (onboard.c) */ \
	WITH(MN_WITH_DNS, X(subsys_dns))       /* Vortex DNS: zone files and the server's config (vortex.c) */ \
	WITH(MN_WITH_HOSTS, X(subsys_hosts))   /* the members by name in a hosts file (hostsfile.c) */ \
	WITH(MN_WITH_EXPOSE, X(subsys_expose)) /* exposures and the CDN's HAProxy (expose.c) */ \
	WITH(MN_WITH_BACKUP, X(subsys_backup)) /* encrypted snapshots held by peers (backup.c) */ \
	WITH(MN_WITH_AI, X(subsys_ai))         /* OpenAI-compatible servers shared by the mesh (ai.c) */ \
	WITH(MN_WITH_MAIL, X(subsys_mail))     /* backup MX: Postfix relay maps from svc mail records (mail.c) */ \
	WITH(MN_WITH_IOC, X(subsys_ioc))       /* CrowdSec decisions <-> ioc records, DNS Guard (ioc.c) */

#define DECLARE(s) extern const struct subsys s;
#define ADDRESS(s) &s,
SUBSYSTEMS(DECLARE)
static const struct subsys *const registry[] = { SUBSYSTEMS(ADDRESS) };

const struct subsys *const *subsys_list(size_t *n)
{
	*n = sizeof registry / sizeof registry[0];
	return registry;
}

#define CONF_ALIGN 16
size_t subsys_conf_off(size_t i)
{
	size_t off = 0;

	for (size_t k = 0; k < i; k++)
		off += (registry[k]->conf.size + CONF_ALIGN - 1) / CONF_ALIGN * CONF_ALIGN;
	return off;
}
