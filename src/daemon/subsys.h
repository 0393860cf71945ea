/* The daemon's one plug-in point (docs/subsystems.md). A subsystem — Vortex
 * DNS, and the ones to come: exposure, IoC, backup, mail, AI — is a struct
 * subsys in its own files plus one line in the registry (registry.c). It
 * declares what it needs — record kinds, config options, API calls — and
 * the daemon calls it back; it reaches the rest of the daemon only through
 * the host functions below, which a unit test can provide instead (a fake
 * host: tests/unit/fake_host.c), so a subsystem is tested without a daemon.
 *
 * In the spirit of netifd's protocol handlers and wireguard-tools' command
 * table: data, not code paths, say what a subsystem is. */
#ifndef MN_SUBSYS_H
#define MN_SUBSYS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <uv.h>
#include "src/daemon/conf.h"
#include "proto/body.h"

struct mn_host;
struct config;
struct record;
struct chain_result;
union body;

/* One record, decoded once on the accept path for every subscriber. */
struct rec_view {
	const struct record *r;      /* kind, key, origin, version, expiry, wire */
	const union body *body;      /* NULL: a tombstone (the key was deleted) */
	const uint8_t *id;           /* 32 bytes */
};

/* An API call: the method name, its arguments (every member of a request
 * is checked against them; unknown ones are refused), the handler. The
 * handler returns 0 with *res (a new object), or a negative errno with a
 * message in err: -EINVAL invalid, -EPERM/-EACCES forbidden, -ENOENT not
 * found, -EALREADY conflict, anything else internal. */
struct subsys_arg {
	const char *name;
	enum json_type type;
};
struct subsys_call {
	const char *name;
	int (*fn)(void *st, struct json_object *req, struct json_object **res, char *err,
		  size_t errcap);
	const struct subsys_arg *args;   /* ends at a NULL name: (const struct subsys_arg[]){ ... } */
};

/* Debounced regeneration (host_dirty): quiet for debounce_ms, at most
 * max_wait_ms after the first change, and never sooner after the start of
 * the last run than max(min_interval_ms, cost_factor × its duration),
 * capped at max_interval_ms. Zeros take the defaults (500, 5000, 6000, 4,
 * 60000). A run is held back while the subsystem's command runs
 * (host_run), and happens after it. */
struct subsys_regen {
	void (*fn)(void *st);
	unsigned debounce_ms, max_wait_ms, min_interval_ms, cost_factor, max_interval_ms;
};

struct subsys {
	const char *name;            /* its status key, log prefix, state namespace */
	const char *state_ns;        /* ... unless this names another (NULL: name) */
	uint32_t kinds;              /* records it is told about: 1u << KIND_x, ... */
	uint32_t owns;               /* kinds whose records of this node it keeps
					in step with its own list: the generic
					publish call refuses them (it would undo
					them) and names the subsystem instead */
	struct conf_section conf;    /* its options (nopts 0: none); its struct is
					host_conf()'s, conf.size bytes at most
					SUBSYS_CONF_MAX */
	const struct subsys_call *calls;
	size_t ncalls;
	struct subsys_regen regen;   /* fn NULL: no regeneration */

	/* Start: its state, or NULL with a message in err (the daemon then
	 * does not start). Called once the engine holds the stored records. */
	void *(*start)(struct mn_host *h, char *err, size_t errcap);
	/* A record of one of its kinds was accepted (or deleted: body NULL). */
	void (*record)(void *st, const struct rec_view *v);
	/* Trust changed: origin was revoked, or lost its trust with an
	 * ancestor; its records are gone. May be NULL. */
	void (*trust)(void *st, const uint8_t origin[32]);
	/* The configuration was reloaded; old is its previous section. May be
	 * NULL (options that need a restart say CONF_RESTART). */
	void (*reload)(void *st, const void *old);
	/* Periodic work, on the daemon's WireGuard cycle (every 5 s, and at once
	 * when the member set changes), before the daemon applies the WireGuard
	 * peers, so that peers a subsystem vouches for go in the same apply.
	 * Not called without WireGuard. May be NULL. */
	void (*tick)(void *st, uint64_t now_ms);
	/* A JSON object for `status`, under its name. May be NULL. */
	struct json_object *(*status)(void *st);
	/* Stop: close what it opened on the loop (the host's own timers and
	 * command are stopped by the host). Then, after the loop ended, free. */
	void (*stop)(void *st);
	void (*free)(void *st);
};

#define SUBSYS_CONF_MAX 4096

/* ---- what the host gives a subsystem ---- */

uv_loop_t *host_loop(struct mn_host *h);
/* Its own config section (the struct its conf rows describe), and the
 * daemon's core options; both read-only, valid until the next reload. */
const void *host_conf(const struct mn_host *h);
const struct config *host_config(const struct mn_host *h);
/* This node's public key (32 bytes). */
const uint8_t *host_self(const struct mn_host *h);
/* Unix ms (the daemon's clock, tests may shift it). */
uint64_t host_now_ms(const struct mn_host *h);

/* Sign a record as this node and publish it; committed to the store when
 * it returns 0. Errors as engine_publish() (perr: a proto error). */
int host_publish(struct mn_host *h, unsigned kind, const char *key, const union body *b,
		 uint64_t ttl_s, uint8_t id[32], int *perr);
/* The records held of some kinds (KIND_BIT(KIND_..) | ...; 0: all) and
 * of one origin (NULL: any), not in any order, and one by id: fn returns
 * non-zero to stop. As engine_each_record() / engine_find(). Name the
 * kinds: a data record's bytes may be read back from the store.
 * host_each's fn must not publish (nor delete): a record replaced during
 * the walk is freed under it. Collect what to do, then do it (host_find's
 * fn may publish: nothing follows it). */
int host_each(struct mn_host *h, uint32_t kinds, const uint8_t *origin,
	      int (*fn)(void *ctx, const struct record *r, const uint8_t id[32]), void *ctx);
int host_find(struct mn_host *h, const uint8_t id[32],
	      int (*fn)(void *ctx, const struct record *r, const uint8_t id[32]), void *ctx);
/* A member's certificate chain, checked now (as engine_chain()); the owner
 * of a name (as engine_name_owner()). */
int host_chain(struct mn_host *h, const uint8_t pk[32], struct chain_result *res);
/* ... with the chain's records, root first (borrowed until the engine
 * changes: copy what you keep). */
int host_chain_records(struct mn_host *h, const uint8_t pk[32], const uint8_t **wire,
		       size_t *len, size_t cap, size_t *n, struct chain_result *res);
/* Was this key revoked (or cut off with an ancestor)? */
bool host_is_revoked(struct mn_host *h, const uint8_t pk[32]);
int host_name_owner(struct mn_host *h, const char *name, uint8_t pk[32]);
/* This node's view of a member's liveness (SWIM, docs/mesh.md): alive,
 * suspect (missed probes, may refute), dead (suspicion ran out), left (it
 * said goodbye: a clean stop). */
enum host_peer_state { HOST_PEER_ALIVE, HOST_PEER_SUSPECT, HOST_PEER_DEAD, HOST_PEER_LEFT };
/* pk's state now and since when (unix ms, our clock): 0, or -ENOENT when
 * pk is no peer of ours (never heard from, or ourselves): a caller must
 * not take that for dead, a daemon just started knows few peers. */
int host_peer_state(struct mn_host *h, const uint8_t pk[32], enum host_peer_state *st,
		    uint64_t *since_ms);

/* A persistent table of its own (durable like records; values up to
 * STORE_STATE_MAX bytes). get returns the value's length, -ENOENT, or
 * -ENOSPC (cap too small); del 0 or -ENOENT; a begin/commit pair makes many
 * puts one transaction. */
int host_state_get(struct mn_host *h, const char *key, uint8_t *buf, size_t cap);
int host_state_put(struct mn_host *h, const char *key, const uint8_t *val, size_t len);
int host_state_del(struct mn_host *h, const char *key);
/* Every entry, in key order (fn returns non-zero to stop; no other state
 * call from fn). */
int host_state_each(struct mn_host *h,
		    int (*fn)(void *ctx, const char *key, const uint8_t *val, size_t len), void *ctx);
/* The text of the state table's last error, for a message. */
const char *host_state_error(struct mn_host *h);
int host_state_begin(struct mn_host *h);
int host_state_commit(struct mn_host *h);

/* Something changed: run regen.fn soon (debounced, rate-limited). */
void host_dirty(struct mn_host *h);
/* Run a shell command (/bin/sh -c), one at a time per subsystem, killed
 * after timeout_ms; done gets ok, a status text ("ok", "failed: exit
 * status 3", "failed: signal 9") and how long it took. -EBUSY while one
 * runs; another negative errno if it cannot start (done is not called). */
int host_run(struct mn_host *h, const char *cmd, unsigned timeout_ms,
	     void (*done)(void *st, bool ok, const char *status, uint64_t ms));

/* ---- helpers built on the host calls (chainpath.c) ---- */

/* The keys on pk's certificate chain, the root first and pk last (*n of
 * them, at most cap, MN_MAX_DEPTH + 2 always suffices): 0, or a negative
 * errno when pk has no valid chain (res as host_chain()'s). */
int subsys_chain_path(struct mn_host *h, const uint8_t pk[32], uint8_t (*path)[32], size_t cap,
		      size_t *n, struct chain_result *res);

/* A member's certified mesh address, without its prefix ("" if none):
 * its certificate's; ours from our config; the root's (which may have no
 * certificate) from its node record (docs/trust.md "Claims"). */
void subsys_mesh_addr(struct mn_host *h, const uint8_t pk[32], char *out, size_t cap);

/* ---- this node's own svc record (svcrec.c) ---- */

/* Our svc record of key as the store holds it: found, a tombstone (or
 * a body that does not decode), its expiry (unix s) and body. */
struct subsys_svc_held {
	bool found, tomb;
	uint64_t expires;
	union body b;
};
int subsys_svc_held(struct mn_host *h, const char *key, struct subsys_svc_held *out);
struct svc_body;
/* Do two svc bodies say the same (service, endpoint, port, attributes)? */
bool subsys_svc_same(const struct svc_body *a, const struct svc_body *b);

/* ---- the registry (registry.c) ---- */

/* The subsystems, in start order. */
const struct subsys *const *subsys_list(size_t *n);
/* Where subsystem i's config struct lies in struct config's sub area. */
size_t subsys_conf_off(size_t i);

#endif
