/* The protocol engine: gossip, membership and anti-entropy as a state
 * machine with no I/O (docs/protocol.md).
 *
 * The engine is fed events — a datagram from peer P at time t
 * (engine_recv), the passage of time (engine_tick), a local publish
 * (engine_publish / engine_insert), a peer added or gone — and acts only
 * through the callbacks in struct engine_ops: send bytes to a peer, hand
 * over an accepted record (store it, notify subscribers), forget a revoked
 * origin, report a peer's state change. It reads no clock (every event
 * carries `now`, unix milliseconds), opens no socket, touches no file; its
 * randomness comes from ops->random so a simulation is deterministic. The
 * daemon drives it with libuv, the simulator drives thousands of them.
 *
 * Peers are named by their Ed25519 node key; the driver maps keys to
 * transport addresses (and, over WireGuard, the tunnel authenticates them).
 * The engine keeps the live record set in memory (bounded in count and
 * bytes, per origin and in total: docs/limits.md); the driver's store keeps
 * it durable and gives it back with engine_insert(..., trusted) at start.
 * A driver with ops.load may tell the engine which records its store holds
 * (engine_stored): their wire bytes then leave memory and are read back
 * when a peer asks for them.
 *
 * Errors: negative errno (src/ convention). */
#ifndef MN_ENGINE_H
#define MN_ENGINE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/record.h"
#include "crypto/key.h"

struct engine;

enum peer_state { PEER_ALIVE = 0, PEER_SUSPECT = 1, PEER_DEAD = 2, PEER_LEFT = 3 };
const char *peer_state_name(enum peer_state s);

/* How a message should travel: a datagram (<= ENGINE_MTU bytes, may be
 * lost) or the stream path (reliable, ordered, <= ENGINE_MAX_STREAM). */
enum engine_chan { CHAN_DGRAM = 0, CHAN_STREAM = 1 };
#define ENGINE_MTU 1280
#define ENGINE_MAX_STREAM (64 * 1024)
/* The longest life of a record the chain makes (cert, revoke, dns): ten
 * years (mesh init's root certificate, revocations, delegations) and a day. */
#define ENGINE_CHAIN_LIFETIME_S (3651ULL * 86400)

/* The few knobs there are; engine_config_default() fills them. */
struct engine_config {
	const uint8_t *root;        /* the mesh root's public key (required) */
	/* dissemination (gossipsub v1.1 names) */
	unsigned d, d_lo, d_hi, d_lazy;
	unsigned heartbeat_ms;
	unsigned gossip_windows;    /* heartbeats its id is advertised by IHAVE */
	unsigned large_record;      /* bytes from which a record is announced, then pulled */
	unsigned d_eager;           /* mesh peers left pushing records to us; the others
				     * are choked: they announce (IHAVE) instead (0: no
				     * choking) */
	unsigned choke_wait_ms;     /* a choked peer's announce is pulled only if no push
				     * brought the record by then */
	unsigned prune_backoff_ms;
	/* membership (SWIM) */
	unsigned probe_ms;          /* protocol period */
	unsigned ack_timeout_ms;
	unsigned indirect_k;
	unsigned suspect_ms;        /* suspicion before death, unconfirmed (the longest) */
	unsigned suspect_min_ms;    /* ... fully confirmed at 10 members (× log10 n above) */
	/* anti-entropy */
	unsigned sync_ms;
	/* bounds */
	unsigned max_peers;
	unsigned max_records;       /* records held, certs and revokes exempt */
	unsigned max_per_origin;    /* records of one origin (the root exempt) */
	unsigned max_bytes;         /* wire bytes held, certs and revokes exempt */
	unsigned max_bytes_per_origin; /* wire bytes of one origin (the root exempt) */
	unsigned origin_bytes_per_s; /* new record bytes taken from one origin a second
				      * (a token bucket; the root, certs and revokes exempt) */
	unsigned origin_burst_bytes; /* ... and at once */
	unsigned relay_bytes_per_s;  /* what all origins together may bring a second: each
				      * origin heard from in the last 10 s gets an equal
				      * share when that is below origin_bytes_per_s, and its
				      * burst shrinks alike (to one record at least) */
	/* the clock (docs/limits.md "Time") */
	unsigned max_skew_s;        /* versions (µs) and times at most this far ahead */
	unsigned max_lifetime_s;    /* expiry at most this far ahead (cert, revoke,
				     * dns: ENGINE_CHAIN_LIFETIME_S) */
	unsigned peer_msgs_per_s;   /* per-peer rate: frames per second (burst 2x) */
	unsigned seen_cap;          /* ids remembered as seen (held, older, bad) */
	/* test hooks: a node that does not forward (simulated byzantine) */
	bool no_forward;
	/* simulator only: take a frame from a key without a valid chain as a
	 * new peer (its partial views keep most nodes uncertified); the daemon
	 * never sets it */
	bool admit_uncertified;
};

void engine_config_default(struct engine_config *c);

struct engine_ops {
	void (*send)(void *ctx, const uint8_t peer[32], const uint8_t *buf, size_t len,
		     enum engine_chan chan);
	/* A record newly accepted (verified, trusted, newest): store it,
	 * notify subscribers. r borrows the engine's copy, b its body as the
	 * engine decoded it (NULL: a tombstone): copy what you keep. */
	void (*accepted)(void *ctx, const struct record *r, const union body *b,
			 const uint8_t id[32]);
	/* An origin was revoked, or lost its trust with an ancestor (revoked,
	 * downgraded, or its cert withdrawn — docs/trust.md): its records are
	 * gone from the engine; drop them from the store and from the
	 * WireGuard peers. May be NULL. */
	void (*revoked)(void *ctx, const uint8_t origin[32]);
	/* A peer changed state. May be NULL. */
	void (*peer_state)(void *ctx, const uint8_t peer[32], enum peer_state from,
			   enum peer_state to);
	/* Something worth a log line (a peer graylisted, a revocation applied):
	 * a static message and the peer concerned (or NULL). May be NULL. */
	void (*note)(void *ctx, const char *what, const uint8_t peer[32]);
	/* 64 random bits. */
	uint64_t (*random)(void *ctx);
	/* The wire bytes of a record engine_stored() named (ref, id) into buf:
	 * their length, or a negative errno (gone, or the store failing). May
	 * be NULL: every record stays in memory. */
	int (*load)(void *ctx, int64_t ref, const uint8_t id[32], uint8_t *buf, size_t cap);
};

/* A new engine for node `self` (the key signs local publishes; the engine
 * keeps its own copy and wipes it in engine_free). NULL on bad config or
 * ENOMEM. */
struct engine *engine_new(const struct engine_config *cfg, const struct node_key *self,
			  const struct engine_ops *ops, void *ctx, uint64_t now);
void engine_free(struct engine *e);   /* accepts NULL */

/* Batching: an event's datagrams stay open for the next events (what goes
 * to one peer shares a datagram: fewer packets, headers and system calls
 * when many messages come at once) until engine_send_pending(), which the
 * caller calls before it next waits (the daemon: once per loop iteration).
 * Off by default (every event sends what it filled at its end); turning it
 * off sends what is pending. */
void engine_set_batching(struct engine *e, bool on);
void engine_send_pending(struct engine *e);

/* A datagram or stream message from `from`, a sender the transport has
 * authenticated (WireGuard: the tunnel; the plain transport: a datagram from
 * the address its signed node record or the config gives). Malformed input
 * is counted and scored against the peer, never fatal. A key that is
 * neither a peer yet (engine_peer_add) nor holds a valid certificate chain
 * is a stranger: its message is dropped and leaves no state (-EACCES,
 * counted in `strangers`). Returns 0, -EACCES (revoked or stranger),
 * -ENOSPC (peer table full), or -EINVAL if nothing in it could be used. */
int engine_recv(struct engine *e, const uint8_t from[32], const uint8_t *buf, size_t len,
		uint64_t now);
/* The same for a message whose sender key is only a claim (the plain
 * transport: a stream frame, or a datagram from another address than the
 * one known for the key): handled alike, but nothing it does lands on the
 * claimed key's score (penalties, rewards, broken IWANT promises are not
 * counted: `unattributed` instead), and its frames draw on a rate bucket of
 * their own, so a forger can neither graylist a member nor starve it. */
int engine_recv_claimed(struct engine *e, const uint8_t from[32], const uint8_t *buf,
			size_t len, uint64_t now);

/* Run what is due; returns the next time (unix ms) the engine wants a tick.
 * Ticking early is harmless. */
uint64_t engine_tick(struct engine *e, uint64_t now);
/* When the engine next needs a tick (unix ms; may be in the past), without
 * doing anything: for a caller whose other calls (engine_recv, a hint)
 * may have made work due sooner than the last engine_tick said. */
uint64_t engine_next_at(const struct engine *e);

/* Sign and publish a record of ours (body NULL = tombstone) with the next
 * version, expiring ttl_s from now (a tombstone: no earlier than what it
 * deletes). id (may be NULL) receives its id.
 * 0 or -EINVAL (bad body: proto error in *perr if non-NULL) / -ENOSPC
 * (over a budget) / -ERANGE (expiry beyond the maximum lifetime). */
int engine_publish(struct engine *e, unsigned kind, const char *key, const union body *body,
		   uint64_t ttl_s, uint64_t now, uint8_t id[32], int *perr);

/* Insert an already signed record: from the store at start (trusted: no
 * signature check, no forwarding, no clock rule: it passed them when it
 * came in, and a clock set back since must not make it vanish), or from a
 * local tool (a certificate the master signed offline: checked and
 * forwarded like a received one).
 * Returns 1 accepted, 0 duplicate/older, or a negative errno (-EBADMSG bad
 * signature or encoding, -EACCES untrusted origin, -ESTALE expired,
 * -ERANGE version, expiry or time too far ahead, -ENOSPC over a budget). */
int engine_insert(struct engine *e, const uint8_t *wire, size_t len, bool trusted, uint64_t now);

/* Bootstrap / discovery: a peer the driver knows how to reach. */
int engine_peer_add(struct engine *e, const uint8_t pk[32], uint64_t now);
/* A hint from the driver that pk may be gone: the other end closed or
 * reset a connection with it, or refused one. Checked with a ping; no
 * answer within ack_timeout_ms makes it a suspicion (swim.c). */
void engine_peer_gone_hint(struct engine *e, const uint8_t pk[32], uint64_t now);
/* Tell the others we leave (graceful shutdown). */
void engine_leave(struct engine *e, uint64_t now);

/* What the status view shows. */
struct engine_peer_info {
	uint8_t pk[32];
	enum peer_state state;
	uint64_t state_since;       /* unix ms */
	uint64_t last_seen;         /* unix ms of the last message from it, 0 never */
	uint32_t rtt_ms;            /* smoothed probe round trip, 0 unknown */
	uint32_t incarnation;
	double score;
	bool in_mesh;
	bool choked;                /* in our mesh, asked to announce instead of pushing */
	bool choked_us;             /* ... it asked us the same */
	bool graylisted;
	uint32_t records;           /* records of this origin held */
	uint32_t record_bytes;      /* their wire bytes */
};
/* Fill up to cap entries; returns the number of peers. */
size_t engine_peers(const struct engine *e, struct engine_peer_info *out, size_t cap);
/* All of them in a new array (caller frees; NULL and *n = 0 on ENOMEM or
 * when there are none). */
struct engine_peer_info *engine_peers_alloc(const struct engine *e, size_t *n);

struct engine_stats {
	uint64_t rx_msgs, rx_bytes, tx_msgs, tx_bytes;
	uint64_t tx_bytes_record, tx_bytes_gossip, tx_bytes_member, tx_bytes_sync;
	uint64_t records_accepted, records_dup, records_old, records_pending;
	uint64_t verifies, bad_sig, untrusted, expired, malformed, rate_limited, graylisted_drops;
	uint64_t iwant_sent, iwant_served, ihave_sent, idontwant_sent;
	uint64_t chokes, unchokes;  /* mesh peers we asked to announce, or to push again */
	uint64_t choke_pulls;       /* records pulled from a choked peer: no push in time */
	uint64_t sync_rounds, sync_bytes, sync_records_pushed;
	uint64_t sync_push_deferred;   /* pushes cut short by the peer's rate (sync.c) */
	uint64_t forwards_shed;        /* records not sent: the peer's rate is short (peers.c) */
	uint64_t revocations;
	uint64_t certs_refused;     /* a cert from an issuer not above the subject's chain */
	uint64_t trust_cut;         /* origins cut off with an ancestor (records dropped) */
	uint64_t claims_refused;    /* node records refused or dropped: a mesh address not
				       the cert's, or a name or address held by an earlier
				       member (docs/trust.md "Claims") */
	uint64_t over_origin_budget;  /* refused: the origin's count or bytes full */
	uint64_t over_total_budget;   /* refused: max_records or max_bytes reached */
	uint64_t over_fair_share;     /* refused: the totals 3/4 full and the origin over its share */
	uint64_t future;              /* refused: version, expiry or time too far ahead */
	uint64_t origin_rate_limited; /* refused for now: the origin over its byte rate */
	uint64_t record_bytes;        /* wire bytes held */
	uint64_t strangers;         /* messages from keys with no peer entry and no valid chain */
	uint64_t unattributed;      /* penalties of claimed (unauthenticated) messages not applied */
	uint64_t member_refused;    /* membership claims with an implausible incarnation */
	uint64_t claims_disproved;  /* third-party verdicts about a live member it answered */
	uint64_t gone_hints;        /* connections a member ended, checked by a ping */
	uint64_t sync_resumed;      /* pushes cut short by the allowance, gone on with */
	uint64_t load_errors;       /* stored records the driver could not give back */
	uint32_t records, peers, mesh, alive, suspect, dead;
	uint32_t incarnation;
	uint32_t local_health;      /* Lifeguard's multiplier, 0 (healthy) .. 8 (swim.c) */
};
void engine_get_stats(const struct engine *e, struct engine_stats *s);

/* The driver's store holds record `id` (ref: its handle for ops.load):
 * the engine may free its copy of the wire bytes. Nothing if not held. */
void engine_stored(struct engine *e, const uint8_t id[32], int64_t ref);
/* The records held of the kinds in `kinds` (KIND_BIT(KIND_..) | ...,
 * 0: all) and of `origin` (NULL: any): visit each (not in any particular
 * order); stop when fn returns non-zero. Stored records are read back. */
int engine_each_record(const struct engine *e, uint32_t kinds, const uint8_t *origin,
		       int (*fn)(void *, const struct record *, const uint8_t id[32]), void *ctx);
/* The same a page at a time, in keyhash order: the records whose keyhash
 * is at least *from, until max wire bytes of them went to fn (one record
 * at least, and the others of the last one's keyhash). 1 when more may
 * follow (*from is set past the
 * page), 0 at the end, else fn's non-zero return or -ENOMEM. The index may
 * change between pages: a record put meanwhile is in a later page if its
 * keyhash is, one removed is not. */
int engine_each_record_from(struct engine *e, uint32_t kinds, const uint8_t *origin,
			    uint64_t *from, size_t max,
			    int (*fn)(void *, const struct record *, const uint8_t id[32]), void *ctx);
/* The record with this id, if held: fn is called with it (return its
 * result), else -ENOENT. */
int engine_find(const struct engine *e, const uint8_t id[32],
		int (*fn)(void *, const struct record *, const uint8_t id[32]), void *ctx);
/* Order-independent digest of the records held (XOR of ids). */
void engine_digest(const struct engine *e, uint8_t out[32]);
/* Has this node been revoked (a revoke record for it was accepted), or cut
 * off with a revoked or downgraded ancestor (until certified again)? */
bool engine_is_revoked(const struct engine *e, const uint8_t pk[32]);
/* The member holding `name` (docs/trust.md "Claims": the root, else the
 * earliest member since, then the lowest node id), among the trusted
 * origins whose node record carries it: its key in pk. 0 or -ENOENT. */
int engine_name_owner(struct engine *e, const char *name, uint8_t pk[32]);
/* pk's certificate chain as held, root first (pk's own cert last; the
 * root: its depth-0 cert if any, else an empty chain), validated at now
 * (unix ms): up to cap links' wire bytes (borrowed: valid until the engine
 * changes) in wire/len, *n links, and what the chain grants in *res.
 * 0, -ENOENT (a link is missing), -EACCES (invalid: expired, revoked...),
 * -ENOSPC (more than cap links). */
struct chain_result;
int engine_chain(struct engine *e, const uint8_t pk[32], const uint8_t **wire, size_t *len,
		 size_t cap, size_t *n, struct chain_result *res, uint64_t now);
/* Is the record with this id held? */
bool engine_has(const struct engine *e, const uint8_t id[32]);

/* Lifeguard's suspicion timeout (swim.c), in ms: from max_ms for a
 * suspicion nobody confirmed down to min_ms × log10(n) (never below min_ms)
 * as independent confirmations arrive, by log(c + 1) / log(k + 1) with k =
 * min(SWIM_SUSPECT_K, n - 2) the confirmations expected; with nobody who
 * could confirm (n < 3) max_ms. n: members counting ourselves. Times
 * (1 + lhm), our local health multiplier. Pure arithmetic, no libm. */
#define SWIM_SUSPECT_K 3
uint64_t swim_suspicion_ms(unsigned min_ms, unsigned max_ms, size_t n, unsigned confirms,
			   unsigned lhm);

#endif
