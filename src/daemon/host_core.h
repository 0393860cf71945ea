/* What the host gives the core's own subsystems only — onboarding, which
 * issues certificates, rotates our key and vouches for WireGuard peers —
 * beyond subsys.h: our secret key, the WireGuard sync, inserting records
 * signed elsewhere, and restarting the daemon. tests/lint/check_layers.sh
 * keeps every other subsystem from including this header. */
#ifndef MN_HOST_CORE_H
#define MN_HOST_CORE_H
#include "src/daemon/subsys.h"

struct node_key;
struct wgsync;

/* Our node key (the secret too: sign certificates, derive WireGuard keys). */
const struct node_key *host_key(const struct mn_host *h);
/* The WireGuard sync (NULL: plain transport), and applying its peers now. */
struct wgsync *host_wg(struct mn_host *h);
int host_wg_apply(struct mn_host *h);
/* Insert a record signed elsewhere (checked like a received one, committed
 * to the store): as engine_insert(). */
int host_insert(struct mn_host *h, const uint8_t *wire, size_t len);
/* Our certificate was renewed: publish our node record again. */
void host_chain_changed(struct mn_host *h);
/* Stop cleanly, then execute ourselves again (a new key after rotation). */
void host_restart(struct mn_host *h);

#endif
