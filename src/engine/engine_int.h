/* Engine internals shared by the engine sources. Not for the daemon, the
 * simulator or the tests: the engine's interface is engine.h and wire.h.
 *
 * Everything declared here is hidden, and the build makes it local to the
 * engine library (meson.build, tools/link-hidden): outside src/engine/ a
 * call to any of these does not link, whatever its name looks like.
 * tests/lint/check_engine_symbols.sh checks that the library exports only
 * what engine.h and wire.h declare. */
#ifndef MN_ENGINE_INT_H
#define MN_ENGINE_INT_H
#include "src/engine/engine.h"
#include "src/engine/wire.h"
#include "crypto/chain.h"

#pragma GCC visibility push(hidden)

/* ---- records held (index.c) ---- */
struct origin;
struct rec {
	struct rec *next_key;       /* chain in the key table */
	struct rec *next_id;        /* chain in the id table */
	struct origin *org;         /* its origin (origins live as long as the engine) */
	uint64_t keyhash;           /* of (kind, origin, key) */
	uint64_t version;
	union {
		uint8_t *wire;      /* the record, in memory ... */
		int64_t ref;        /* ... or only in the driver's store (spilled) */
	};
	uint8_t id[32];
	uint32_t expires;           /* unix s (a record expires within max_lifetime
				       of now: 2106 is far) */
	uint16_t wire_len;
	uint8_t kind;
	uint8_t local : 1;          /* published by us */
	uint8_t spilled : 1;        /* wire freed: read back with ops.load (index_wire) */
};   /* 88 bytes: a 96-byte heap chunk on glibc x86-64 (112 with a byte more) */

/* A canonical envelope starts 0x98 0x01 <kind> 0xc4 0x20 <origin>: the
 * origin is always at byte 5 (index_put checks it). */
#define REC_ORIGIN_AT 5
const uint8_t *rec_origin(const struct rec *x);

struct rec_index {
	struct rec **by_key, **by_id;
	size_t nbuckets;            /* power of two, both tables */
	size_t count;
	uint64_t bytes;             /* wire bytes of the entries */
	uint8_t digest[32];         /* XOR of ids, kept in step */
	/* sorted view by keyhash for anti-entropy; rebuilt when dirty */
	struct rec **sorted;
	size_t sorted_cap;
	bool dirty;
	/* a spilled record's wire, read back from the driver's store (the
	 * engine's ops.load; NULL: nothing is ever spilled) into buf */
	int (*load)(void *ctx, int64_t ref, const uint8_t id[32], uint8_t *buf, size_t cap);
	void *load_ctx;
	uint8_t *buf;               /* MN_MAX_RECORD bytes, with load */
	uint64_t *load_errors;      /* the engine's count of failed loads */
};

uint64_t rec_keyhash(unsigned kind, const uint8_t origin[32], const char *key);
int index_init(struct rec_index *ix);
void index_free(struct rec_index *ix);
struct rec *index_find_key(const struct rec_index *ix, uint64_t keyhash, unsigned kind,
			   const uint8_t origin[32], const char *key);
struct rec *index_find_id(const struct rec_index *ix, const uint8_t *id, size_t idlen);
/* Insert a new entry (replacing `old` if non-NULL). Takes ownership of
 * nothing: copies wire. NULL on ENOMEM. */
struct rec *index_put(struct rec_index *ix, struct rec *old, const struct record *r,
		      const uint8_t id[32], uint64_t keyhash, bool local, struct origin *o);
/* x's wire bytes: in memory, or read back into buf (a spilled record;
 * NULL: buf is ix->buf, valid until the next call) — NULL if the store
 * cannot give them (counted load_errors). */
const uint8_t *index_wire(const struct rec_index *ix, const struct rec *x, uint8_t *buf);
/* The driver's store holds x (as ref): free its wire unless the engine
 * reads it itself (certs, revocations, node records) or the daemon walks
 * often (endpoint records). */
void index_spill(struct rec_index *ix, struct rec *x, int64_t ref);
void index_remove(struct rec_index *ix, struct rec *x);
/* Sorted by keyhash; valid until the next change. */
struct rec **index_sorted(struct rec_index *ix, size_t *n);
/* Reorder v so that origins take turns: by rank (lower first; NULL: all
 * equal), then each origin's first record, then each one's second, ...,
 * keeping v's order within a turn. What a budget cuts off is then the
 * tail of the origins with the most — a flood's — not an honest origin's
 * one record. 0, or -ENOMEM (v unchanged). */
int recs_fair_order(struct rec **v, size_t n, int (*rank)(const struct rec *));

/* Recently seen ids (held or not: rejected, older), so a copy costs one
 * lookup: two generations of fixed-size sets (index.c). */
struct seen_gen {
	uint8_t (*ids)[WIRE_ID_LEN];
	uint8_t *state;             /* 0 empty, 1 seen (held or older), 2 bad */
	size_t n;
};
struct seen_cache {
	struct seen_gen gen[2];
	size_t cap;                 /* slots per generation, a power of two */
	int current;
};
int seen_init(struct seen_cache *s, size_t cap);
void seen_free(struct seen_cache *s);
int seen_get(const struct seen_cache *s, const uint8_t *id);   /* 0, 1 or 2 */
void seen_put(struct seen_cache *s, const uint8_t *id, int state);

/* ---- origins and trust (trust.c) ---- */
enum trust { TRUST_UNKNOWN = 0, TRUST_OK = 1, TRUST_BAD = 2 };
/* What an origin's validated chain gave (crypto/chain.h), less the last
 * link's DNS scope and mesh address: 300 bytes a member that trust.c reads
 * from the origin's own cert when a record needs them (own_cert). */
struct chain_fixed {
	uint64_t not_after, since;
	uint8_t node_id[32];
	uint8_t role, depth, max_depth;
	bool scoped;                /* its own cert is the chain's last link (not: the
				       root without a valid cert of its own) */
};

struct origin {
	struct origin *next;
	uint8_t pk[32];
	struct rec *cert;           /* the cert record naming it, if any */
	uint32_t records;           /* records held with this origin */
	uint64_t bytes;             /* their wire bytes */
	/* its byte rate (docs/limits.md "Rate"): two token buckets refilled at
	 * origin_bytes_per_s, one as deep as origin_burst_bytes for what peers
	 * push, one as deep as its whole budget for what anti-entropy brings
	 * (a joiner catches up at once); a pushed record spends from both */
	double push_tokens, pull_tokens;
	double push_cap;            /* the push bucket's depth at the last refill */
	uint64_t rate_at;           /* ... as of then (0: both full) */
	uint64_t tried_at;          /* when it last offered a rated record (0: never) */
	uint32_t trust_gen;         /* trust valid for this generation */
	uint8_t trust;
	bool revoked;
	bool cut;                   /* lost its trust with its issuer (a revoked or
				       downgraded ancestor, a withdrawn cert): its
				       records were dropped; cleared by a new cert */
	uint64_t name_h, addr_h;    /* of its node record's name and mesh address
				       (0 none): claims (trust.c) */
	struct chain_fixed chain;   /* when trust == TRUST_OK */
};

/* Records waiting for their origin's certificate: unverified, from
 * anyone, so bounded in count and in bytes (the oldest dropped). */
#define PENDING_CAP 512
#define PENDING_BYTES (1024 * 1024)
#define SYNC_PUSH_PER_TOKEN 8   /* anti-entropy records per rate token */
struct pending {
	uint8_t *wire;
	uint16_t len;
	uint8_t from[32];
	uint64_t at;
};

/* ---- peers (peers.c) ---- */
#define MESH_MAX 64                 /* mesh peers listed (d_hi is at most 64) */
#define IDW_CAP 32                  /* IDONTWANT ids remembered per peer */
#define IWANT_PER_HEARTBEAT 192     /* ids we may ask one peer for per heartbeat */
#define SERVE_PER_HEARTBEAT 256     /* records we serve one peer per heartbeat */
#define PEER_OUT_BUDGET (64 * 1024) /* bytes per peer per event (forwards: 3/4 of it) */
/* What we announce (IHAVE) to one peer per heartbeat: no more than one
 * event may serve when it IWANTs them all (mesh.c) */
#define ANNOUNCE_BYTES_PER_HEARTBEAT (PEER_OUT_BUDGET * 3 / 4)
#define ANNOUNCE_PER_HEARTBEAT (SERVE_PER_HEARTBEAT / 2)
struct peer {
	uint8_t pk[32];
	uint32_t idx;               /* its place in engine.peers (peers never move) */
	enum peer_state state;
	uint64_t state_since;
	uint32_t incarnation;
	uint64_t last_seen;         /* last message from it (evidence that it lives) */
	uint64_t swim_at;           /* last PING, ACK or PINGREQ from it (swim.c) */
	uint64_t acked_at;          /* last ACK from it (evidence that it hears us) */
	uint32_t inc_told;          /* our incarnation, as far as it has acknowledged it */
	bool heard_dead;            /* suspect because a third party declared it dead */
	bool rechecked;             /* suspect: its last call went out (swim.c) */
	bool fuse_called;           /* ... the last call before a death claim's fuse */
	uint64_t heard_at;          /* ... since then */
	uint64_t claim_at;          /* a third party's verdict about it, unchecked (0: none) */
	uint32_t claim_inc;         /* ... at this incarnation */
	bool claim_dead;            /* ... a death claim (else a suspicion) */
	uint8_t confirms;           /* others who said suspect/dead at its incarnation (swim.c) */
	uint64_t confirmers[SWIM_SUSPECT_K];   /* ... their keys' first 8 bytes */
	uint32_t rtt_ms;
	double score_pos, score_neg;
	bool in_mesh;
	bool choked;                /* we asked it to announce, not push (mesh.c) */
	bool choked_us;             /* it asked us the same */
	uint16_t firsts, dups;      /* records it pushed that were new / we had (decaying) */
	uint16_t announced_first;   /* choked: ids it announced before any push came */
	bool heard;                 /* a push or an announce from it since the heartbeat */
	uint8_t quiet;              /* heartbeats it sent nothing while others did */
	uint64_t backoff_until;
	double tokens;
	uint64_t tokens_at;
	double claimed_tokens;      /* the bucket of claimed messages (engine_recv_claimed) */
	uint64_t claimed_at;
	uint8_t (*idontwant)[WIRE_ID_LEN];   /* IDW_CAP ids, allocated at its first
					     * IDONTWANT (mesh peers send them;
					     * most peers never do) */
	uint8_t idw_pos;
	uint32_t iwant_budget;      /* ids we may still ask it this heartbeat */
	uint32_t served_budget;     /* records we still serve it this heartbeat */
	uint32_t sync_recs;         /* new records it pushed by anti-entropy (record_token) */
	double push_tokens;         /* bytes we may push it by anti-entropy (sync.c) */
	double tx_tokens;           /* its rate's tokens we may still spend (peers.c) */
	uint64_t tx_at;
	uint64_t push_at;
	uint32_t announce_bytes;    /* record bytes we may still announce to it ... */
	uint32_t announce_n;        /* ... and how many records, this heartbeat */
	/* outbox for the event being processed */
	uint8_t *out;
	struct wire_buf ob;
	uint32_t out_bytes;         /* sent to it during this event */
	bool dirty;
	struct peer *next_dirty;
	uint64_t sync_at;           /* last sync it started with us */
	uint64_t sync_session;      /* ... its session number (they grow within a life) */
	uint64_t sync_reborn_at;    /* last time its numbers started again (sync.c) */
	uint64_t sync_resume_at;    /* our push to it was cut short: go on then (sync.c) */
	uint64_t sync_to_at;        /* our last round with it (sync.c) */
};

struct peer *peer_find(const struct engine *e, const uint8_t pk[32]);
struct peer *peer_get(struct engine *e, const uint8_t pk[32], uint64_t now);   /* find or add */
double peer_score(const struct peer *p);
bool peer_graylisted(const struct peer *p);
void peer_penalize(struct engine *e, struct peer *p, double amount, const char *why);
void peer_reward(struct peer *p, double amount);
void peers_decay(struct engine *e);
bool peer_rate_ok(struct engine *e, struct peer *p, uint64_t now);
void peer_set_state(struct engine *e, struct peer *p, enum peer_state st, uint64_t now);
bool peer_usable(const struct peer *p);   /* alive, not graylisted */
/* The tokens of p's rate we may still spend (its mirror, peers.c). */
double peer_tx_room(struct engine *e, struct peer *p);
/* A token bucket refilled at rate a second up to cap, as of now; the
 * tokens. */
double bucket_fill(double *tokens, uint64_t *at, double rate, double cap, uint64_t now);
/* What we may spend of a peer's per-peer rate (peers.c tx_room; twice that
 * at once), and push it by anti-entropy in bytes (sync.c; three times that
 * at once). */
static inline double tx_rate(const struct engine *e);
static inline double push_rate(const struct engine *e);

/* outbox: frames are appended to a peer's datagram; full datagrams go out
 * at once, the rest when the event ends (engine_flush). prio: 0 control,
 * 1 own records, 2 forwards — over the per-event budget, forwards are
 * dropped first, then own records; control always goes. */
/* What goes first when a peer's rate (as we mirror it, peers.c tx_room)
 * runs short: control frames always, our own records, records of origins
 * within their rate, and last the forwards of origins that use most of it
 * (a flood), which lazy gossip and anti-entropy carry instead. Records we
 * serve (PRIO_SERVE: an IWANT of what we announced) are never held back. */
enum out_prio { PRIO_CONTROL = 0, PRIO_OWN = 1, PRIO_FORWARD = 2, PRIO_BULK = 3, PRIO_SERVE = 4 };
enum out_class { OC_RECORD, OC_GOSSIP, OC_MEMBER, OC_SYNC };
int out_record(struct engine *e, struct peer *p, const uint8_t *wire, size_t len,
	       enum out_prio prio, enum out_class cls);
int out_ids(struct engine *e, struct peer *p, enum wire_type t, const uint8_t *ids, size_t n,
	    enum out_class cls);
int out_simple(struct engine *e, struct peer *p, enum wire_type t, uint64_t a, uint64_t b,
	       const uint8_t *key, enum out_class cls);
int out_sync(struct engine *e, struct peer *p, uint64_t session, uint64_t step,
	     const uint8_t *data, size_t len);   /* a SYNC frame in p's datagram */
void out_stream(struct engine *e, struct peer *p, const uint8_t *buf, size_t len,
		enum out_class cls);
void engine_flush(struct engine *e);

/* ---- message cache and promises (mesh.c) ---- */
#define MCACHE_MAX_WINDOWS 8
#define MCACHE_PER_WINDOW 512
struct mcache_window {
	uint8_t ids[MCACHE_PER_WINDOW][WIRE_ID_LEN];
	uint16_t n;
};
#define PROMISE_CAP 1024
#define BACKLOG_CAP 1024            /* large records waiting for the mesh's announce budget */
struct promise {
	uint8_t id[WIRE_ID_LEN];
	uint8_t peer[32];
	uint64_t deadline;
	uint64_t retry_at;          /* another announcer may be asked from then on */
	uint8_t alt[32];            /* ... one that announced it meanwhile */
	uint8_t alt2[32];           /* ... and the next one, asked if alt fails too */
	bool has_alt, has_alt2;
	bool reasked;               /* overdue with no one else announcing: asked again */
	bool deferred;              /* no IWANT sent yet: alt is a choked mesh peer, asked
				     * at retry_at if no push brought the record */
	bool used;
	bool claimed;               /* asked on a claimed IHAVE: not penalised */
};

/* ---- membership updates to spread (swim.c) ---- */
#define MEMBER_Q_CAP 64
struct member_update {
	uint8_t node[32];
	uint8_t state;
	uint32_t inc;
	uint8_t sends_left;
};
#define INDIRECT_CAP 64           /* probe seqs 64..127 are the slots' (swim.c) */
struct indirect {
	uint8_t requester[32];
	uint8_t target[32];
	uint64_t req_seq, my_seq, deadline;
	uint64_t nack_at;           /* no ACK from the target by then: NACK the requester (0: sent) */
	bool used;
};

struct engine {
	bool batching;              /* engine_set_batching */
	struct engine_config cfg;
	struct engine_ops ops;
	void *ctx;
	struct node_key self;
	uint8_t root[32];
	uint64_t now;

	struct rec_index ix;
	struct seen_cache seen;

	struct origin **origins;    /* hash table by pk */
	size_t origin_buckets, norigins;
	unsigned active_n;          /* origins that offered rated records lately (engine.c) */
	uint64_t active_at;         /* ... counted then */
	unsigned holders_n;         /* origins holding records (budget_check) */
	uint64_t holders_at;        /* ... counted then */
	uint32_t trust_gen;
	struct pending pending[PENDING_CAP];
	size_t pending_head, pending_n;
	size_t pending_bytes;

	struct peer **peers;        /* grows up to cfg.max_peers */
	size_t npeers, peers_cap;
	/* the mesh peers in the order of peers (mesh.c: a record's push looks
	 * at these, not at every peer known); mesh_over: more than MESH_MAX
	 * (d_hi is at most 64: never), every peer is looked at then */
	struct peer *mesh[MESH_MAX];
	size_t mesh_n;
	bool mesh_over;
	uint32_t *peer_hash;        /* open addressing: index + 1, 0 empty */
	size_t peer_hash_cap;
	struct peer *dirty;

	/* gossip */
	struct mcache_window mcache[MCACHE_MAX_WINDOWS];
	unsigned mcache_pos;
	uint64_t early_at;          /* early gossip due (mesh.c; 0: nothing new) */
	unsigned early_from;        /* ids of the current window gossiped early so far */
	struct promise promises[PROMISE_CAP];
	size_t promises_hi;         /* none in use from here on (mesh.c) */
	uint64_t promise_retry_at;  /* a promise with another announcer overdue then (0: none) */
	uint8_t backlog[BACKLOG_CAP][WIRE_ID_LEN];   /* FIFO, oldest first */
	size_t backlog_n;
	uint64_t next_heartbeat;
	uint64_t heartbeats;
	uint64_t pulled_at;         /* last record pulled from a choked peer (mesh.c) */
	uint32_t probes_sent;       /* our probes concluded (swim.c), halved from 64 on ... */
	uint32_t probes_answered;   /* ... and those the target answered itself */
	uint16_t arrived;           /* new records from peers since the heartbeat (mesh.c) */

	/* swim */
	uint32_t incarnation;
	bool left;                  /* engine_leave: it refutes nothing any more */
	uint64_t probe_seq;
	uint64_t next_probe;
	size_t *probe_order;
	size_t probe_n, probe_pos;
	/* this probe period's partner (swim.c, "Pairs") */
	struct {
		uint64_t period;    /* now / probe_ms it is for, + 1 (0: none yet) */
		uint64_t from;      /* the period's start: the partner is due from
				       then on, unless heard from since */
		bool set;           /* a partner this period (not the odd one out) */
		uint8_t pk[32];
		const uint8_t **ring;   /* scratch: the live members' keys, sorted */
		size_t cap;
	} pair;
	struct {
		bool active;
		uint8_t target[32];
		uint64_t seq, sent_at, indirect_at, deadline;
		uint32_t inc;       /* the incarnation the PING carried, 0 none */
		bool acked;
		bool direct;        /* ... by the target itself (links_clean, mesh.c) */
		uint8_t nhelpers;
		uint8_t nacks;      /* helpers that could not reach it either */
		struct peer *helpers[16];   /* asked to probe it (PINGREQ) */
	} probe;
	uint64_t next_suspect_notice;
	unsigned lhm;               /* Lifeguard local health multiplier, 0..LHM_MAX (swim.c) */
#define NEWS_CAP 2048
	uint64_t news[NEWS_CAP];    /* membership news passed on (swim.c) */
	bool news_flip;
	uint64_t last_refute;
	unsigned claims_fwd_left;   /* death claims we may still pass on this period */
	struct member_update mq[MEMBER_Q_CAP];
	size_t mq_n;
	struct indirect indirect[INDIRECT_CAP];

	/* anti-entropy */
	uint64_t next_sync;
	uint64_t sync_session;
	uint64_t last_triggered_sync;
	unsigned sync_quiet;        /* own rounds in a row that found nothing (sync.c) */
	bool sync_opened;           /* a round was opened at the last sync tick */
	bool sync_busy;             /* a difference since: a record accepted, ranges differed */
	bool sync_caught;           /* anti-entropy brought records since the last sync tick */
	uint64_t sync_resume_next;  /* the earliest peer's sync_resume_at (0: none) */

	uint64_t next_sweep;
	double stranger_tokens;     /* certificates strangers may present (engine.c) */
	uint64_t stranger_at;
	struct engine_stats st;
	/* the peer whose message is being processed (NULL for local events) */
	struct peer *from;
	bool from_claimed;          /* ... under a key that is only a claim */
};

/* trust.c */
struct origin *origin_find(const struct engine *e, const uint8_t pk[32]);
struct origin *origin_get(struct engine *e, const uint8_t pk[32]);
int trust_origin(struct engine *e, const uint8_t pk[32], struct origin **out);
/* May r (verified) be accepted under its kind's rules? 0 or -EACCES. */
int trust_kind_check(struct engine *e, const struct record *r, const union body *b);
/* x was just held: certs, revocations and node claims take effect (a
 * store load — from_store — applies them without re-checking what waits
 * for links not loaded yet). false if x itself went (a node record that
 * loses its claims, loaded from the store). */
bool trust_after_accept(struct engine *e, struct rec *x, const union body *b, bool from_store);
void trust_revoke(struct engine *e, const uint8_t subject[32]);
/* Append our certificate chain (not the root's) to p's datagram: a peer
 * that has not answered us yet may not hold it, and takes no message from
 * a key without one. */
void trust_present(struct engine *e, struct peer *p);
bool trust_is_revoked(const struct engine *e, const uint8_t pk[32]);
void pending_add(struct engine *e, const uint8_t *wire, size_t len, const uint8_t from[32]);
void pending_retry(struct engine *e);
void origins_free(struct engine *e);
/* x (held) leaves the index: its origin's count and bytes follow,
 * then x is freed. */
void origin_drop_rec(struct engine *e, struct rec *x);
/* x (about to go) no longer names anyone's certificate. */
void origins_forget_cert(struct engine *e, const struct rec *x);

/* engine.c: the one path every record takes */
enum rec_source { SRC_PEER, SRC_SYNC, SRC_LOCAL, SRC_STORE, SRC_PENDING };
int engine_take_record(struct engine *e, const uint8_t *wire, size_t len, enum rec_source src,
		       struct peer *from);

/* mesh.c */
/* o: x's origin (its rate says whether a forward is bulk), or NULL */
void mesh_on_accept(struct engine *e, struct rec *x, const struct origin *o, struct peer *from,
		    enum rec_source src);
void mesh_on_ihave(struct engine *e, struct peer *p, const uint8_t *ids, size_t n);
void mesh_on_iwant(struct engine *e, struct peer *p, const uint8_t *ids, size_t n);
void mesh_on_idontwant(struct engine *e, struct peer *p, const uint8_t *ids, size_t n);
void mesh_on_graft(struct engine *e, struct peer *p);
void mesh_on_prune(struct engine *e, struct peer *p, uint64_t backoff_s);
void mesh_on_choke(struct engine *e, struct peer *p, bool on);
/* A record p pushed to us: new (first) or one we had. */
void mesh_on_push(struct engine *e, struct peer *p, bool first);
void mesh_heartbeat(struct engine *e);
void mesh_early_gossip(struct engine *e);   /* when now >= e->early_at */
void mesh_retry_promises(struct engine *e); /* when now >= e->promise_retry_at */
void mesh_promise_kept(struct engine *e, const uint8_t *id);
void mesh_drop_peer(struct engine *e, struct peer *p);

/* swim.c */
void swim_on_ping(struct engine *e, struct peer *p, uint64_t seq, uint64_t inc);
void swim_on_ack(struct engine *e, struct peer *p, uint64_t seq, uint64_t inc);
void swim_on_pingreq(struct engine *e, struct peer *p, uint64_t seq, const uint8_t target[32]);
void swim_on_member(struct engine *e, struct peer *p, const uint8_t node[32], unsigned state,
		    uint64_t inc);
void swim_on_gone_hint(struct engine *e, struct peer *p);
void swim_tick(struct engine *e);
/* When p's suspicion runs out (p SUSPECT): its start plus the Lifeguard
 * timeout for its confirmations and our local health. */
uint64_t swim_suspect_deadline(const struct engine *e, const struct peer *p);
uint64_t last_call_at(const struct engine *e, const struct peer *p);
bool swim_fuse_lit(const struct peer *p);
uint64_t swim_fuse_at(const struct engine *e, const struct peer *p);
uint64_t swim_fuse_call_at(const struct engine *e, const struct peer *p);
void swim_queue(struct engine *e, const uint8_t node[32], enum peer_state st, uint32_t inc,
		bool flood);
void swim_piggyback(struct engine *e, struct peer *p);

/* sync.c: open a round with p; its first message goes by chan (a quiet
 * background round by datagram, the others on the stream path) */
void sync_start(struct engine *e, struct peer *p, enum engine_chan chan);
void sync_on_frame(struct engine *e, struct peer *p, uint64_t session, uint64_t step,
		   const uint8_t *data, size_t len);
void sync_tick(struct engine *e);
void sync_caught_up(struct engine *e);        /* anti-entropy brought a record */
uint64_t sync_next(const struct engine *e);   /* when sync_tick has work */

/* helpers */
uint64_t eng_rand(struct engine *e);
static inline uint64_t eng_rand_below(struct engine *e, uint64_t n)
{
	return n ? eng_rand(e) % n : 0;
}

static inline double tx_rate(const struct engine *e)
{
	return (double)e->cfg.peer_msgs_per_s * 4 / 5;
}

static inline double push_rate(const struct engine *e)
{
	return (double)e->cfg.peer_msgs_per_s * ENGINE_MTU / 2;
}

#pragma GCC visibility pop

#endif
