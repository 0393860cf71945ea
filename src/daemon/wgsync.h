/* Keeping a WireGuard interface equal to the mesh.
 *
 * Desired peers: every member whose node record we hold (its WireGuard
 * key, endpoint and mesh address), except ourselves and members that left;
 * plus the configured bootstrap peers (wg_peer) until their node record
 * arrives. Revoked members' records are gone from the engine, so they drop
 * out. Applied as a diff against what the backend reports: new peers added,
 * changed ones updated, the rest removed — never by resetting the
 * interface.
 *
 * Endpoints: a peer with a recent handshake keeps whatever endpoint
 * WireGuard roamed to. A peer without one is tried at its declared
 * endpoint, then at the endpoints other members observed it at (endpoint
 * records, newest first), one candidate per retry period. DNS names are
 * resolved asynchronously (resolve.h) and re-resolved when a peer stops
 * answering. Our own observations (peers with a recent handshake) are
 * published as our endpoint record.
 *
 * Persistent keepalive (wg_keepalive_s) only where a NAT may sit, to keep
 * its mapping open. A node may be behind NAT if it declares no endpoint
 * (our wg_endpoint; a member's node record) or if a member saw it (endpoint
 * records, at most 10 minutes old) at an address or port other than the
 * one it declares (compared as addresses; a DNS name not resolved yet is
 * no evidence). If we may be: keepalive on every peer. Otherwise: on the
 * peers that may be. wg_keepalive_s 0: never. */
#ifndef MN_WGSYNC_H
#define MN_WGSYNC_H
#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include "src/daemon/config.h"
#include "src/engine/engine.h"
#include "src/wg/wg.h"

struct wgsync;
struct resolver;

/* Find or make the interface (wg_iface_open: cfg->wg_backend auto, uapi
 * or netlink; "fake" for tests), put the mesh address on an interface it
 * made (wg_address, else mesh_addr/16 or /64), set our private key and
 * port. NULL + message on error. wgsync_free() removes an interface it
 * made. */
struct wgsync *wgsync_open(const struct config *cfg, const struct node_key *key,
			   struct resolver *res, char *err, size_t errcap);
void wgsync_free(struct wgsync *ws);

/* Peers the daemon itself vouches for, on top of the configured wg_peer
 * lines and with the same meaning (until a node record speaks for the
 * node): an open invitation's temporary key (pk = that key), a member we
 * certified (so that it can reach us even before its node record is out,
 * or once its certificate has lapsed and it comes to renew). Replaces the
 * previous list; at most WGSYNC_MAX_LOCAL. 0 or a negative errno. */
#define WGSYNC_MAX_LOCAL 4096
int wgsync_set_local(struct wgsync *ws, const struct config_wg_peer *p, size_t n);

/* Our WireGuard public key (goes in our node record). */
const uint8_t *wgsync_public_key(const struct wgsync *ws);

/* Bring the interface in line with the mesh. Cheap when nothing changed;
 * call it every few seconds and when node or endpoint records arrive. */
int wgsync_apply(struct wgsync *ws, const struct engine *eng, uint64_t now_ms);

/* The node key behind a mesh address (anti-spoofing on the gossip port);
 * false if unknown, or if it is an invitation's temporary tunnel
 * (config_wg_peer.join_only: it reaches the join service, never gossip). */
bool wgsync_node_of_addr(const struct wgsync *ws, const struct sockaddr *sa, uint8_t pk[32]);
/* The gossip address of a member (its mesh address, gossip_port). */
bool wgsync_gossip_addr(const struct wgsync *ws, const uint8_t pk[32], struct sockaddr_storage *sa);

/* What WireGuard says about a member, for the peers view. */
struct wg_view {
	bool configured;
	char endpoint[64];
	uint64_t last_handshake_s;
	uint64_t rx_bytes, tx_bytes;
};
bool wgsync_view(const struct wgsync *ws, const uint8_t pk[32], struct wg_view *v);

/* Our observations, for our endpoint record: fills b; false if none. */
bool wgsync_observed(const struct wgsync *ws, union body *b, uint64_t now_ms);

struct wgsync_stats {
	uint64_t applies, peers_added, peers_updated, peers_removed, backend_errors;
	uint64_t device_restored;   /* key and port set again (the interface was restarted) */
	uint64_t interface_remade;  /* ours was gone (wireguard-go exited, link deleted): made again */
	uint32_t peers;
};
void wgsync_get_stats(const struct wgsync *ws, struct wgsync_stats *st);

/* The backend in use (tests drive the fake one: cfg->wg_backend "fake"). */
struct wg_backend *wgsync_backend(struct wgsync *ws);
/* Did wgsync_open make the interface (so that wgsync_free removes it)? */
bool wgsync_owns_interface(const struct wgsync *ws);

#endif
