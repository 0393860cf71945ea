/* The registry of subsystems: a new one is its files plus one line here
 * (and its sources in meson.build). Order is start order; status and the
 * config sections follow it too. */
#include <stdlib.h>
#include "src/daemon/subsys.h"

#define SUBSYSTEMS(X) \
	X(subsys_onboarding) /* invitations, the join service, renewals (onboard.c) */ \
	X(subsys_dns)     /* Vortex DNS: zone files and the server's config (vortex.c) */ \
	X(subsys_hosts)   /* the members by name in a hosts file (hostsfile.c) */ \
	X(subsys_expose)  /* exposures and the CDN's HAProxy (expose.c) */ \
	X(subsys_backup)  /* encrypted snapshots held by peers (backup.c) */ \
	X(subsys_ai)      /* OpenAI-compatible servers shared by the mesh (ai.c) */ \
	X(subsys_mail)    /* backup MX: Postfix relay maps from svc mail records (mail.c) */ \
	X(subsys_ioc)     /* CrowdSec decisions <-> ioc records, DNS Guard (ioc.c) */

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
