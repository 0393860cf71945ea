/* The simulator's insides, shared by the core (sim.c: events, network,
 * engine hosting, accounting) and the scenarios (scenario.c: who is who,
 * what happens when, what is measured beyond dissemination). Not an
 * interface for anything else: tests and main.c use sim.h. */
#ifndef MN_SIM_SCENARIO_H
#define MN_SIM_SCENARIO_H
#include <stdbool.h>
#include <stdint.h>
#include "tools/sim/sim.h"
#include "crypto/key.h"

#define SIM_NONE UINT32_MAX
#define HOP_UNKNOWN 0xffff
#define SIM_MAX_NOTES 32

enum ev_type {
	EV_DELIVER,     /* a: from, b: to, m: message */
	EV_TICK,        /* a: node (stale unless t == node.tick_due) */
	EV_CHECK,       /* periodic checkpoint */
	EV_MEASURE,     /* b: 0 baseline start, 1 measurement start */
	EV_PUBLISH,     /* b: publish sequence number */
	EV_CRASH,       /* a: node */
	EV_RESTART,     /* a: node */
	EV_CHURN,       /* a: node: next churn transition */
	EV_PART,        /* partition starts */
	EV_HEAL,        /* partition heals */
	EV_BYZ,         /* a: node: next byzantine action */
	EV_STEP,        /* b: a scenario step (scenario.c) */
};

struct sim_msg {
	uint32_t len;
	uint8_t chan;
	bool has_rec;
	bool claimed;               /* sent under claim[] (byzantine): engine_recv_claimed */
	uint8_t claim[32];
	uint8_t data[];
};

struct ev {
	uint64_t t, seq;
	struct sim_msg *m;
	uint32_t a, b;
	uint8_t type;
};

/* node flags */
#define NF_PUBLISHER  0x001
#define NF_BYZ        0x002
#define NF_DOWN       0x004   /* crashed now */
#define NF_GONE       0x008   /* crashed for good */
#define NF_CHURN      0x010
#define NF_STORE      0x020   /* keeps a store for restarts */
#define NF_ROOT       0x040
#define NF_SILENT     0x080   /* no engine at all */
#define NF_REJOIN     0x100
#define NF_FALSE_DEAD 0x200   /* someone declared it dead while it was up */
#define NF_FALSE_SUSPECT 0x400

/* Engine counters summed over the window (X-macro over struct engine_stats). */
#define SIM_COUNTERS(X) X(rx_msgs) X(rx_bytes) X(tx_msgs) X(tx_bytes) \
	X(tx_bytes_record) X(tx_bytes_gossip) X(tx_bytes_member) X(tx_bytes_sync) \
	X(records_accepted) X(records_dup) X(records_old) X(verifies) X(bad_sig) \
	X(untrusted) X(expired) X(malformed) X(rate_limited) X(graylisted_drops) \
	X(iwant_sent) X(iwant_served) X(ihave_sent) X(idontwant_sent) X(sync_rounds) \
	X(sync_bytes) X(sync_records_pushed) X(sync_push_deferred) X(forwards_shed) X(revocations) X(over_origin_budget) \
	X(over_total_budget) X(over_fair_share) X(origin_rate_limited) X(claims_disproved)
struct sim_counters {
#define X(f) uint64_t f;
	SIM_COUNTERS(X)
#undef X
};

struct sim_stored { uint8_t *wire; uint32_t len; };

struct sim_node {
	struct sim *sim;
	struct engine *e;
	struct node_key key;
	uint64_t tick_due;            /* UINT64_MAX: none */
	uint64_t rng;                 /* splitmix64 state for ops->random */
	uint64_t down_at;             /* when it went down */
	struct sim_counters base;     /* engine counters at window start / restart */
	uint32_t idx;
	uint32_t last_rec_from;       /* sender of the last message with a REC frame */
	uint32_t *boot, nboot;        /* bootstrap peers (NULL: all others) */
	struct sim_stored *store;     /* what ops->accepted gave it (NF_STORE) */
	uint32_t nstore, capstore;
	uint32_t slot;                /* detect: index among crashed nodes */
	uint16_t flags;
	uint8_t side;                 /* partition half */
	uint8_t byz_phase;
	uint8_t *replay;              /* replay: a copy of an old record */
	uint32_t replay_len;
};

/* A published record being tracked. */
struct sim_rec {
	uint8_t id[32];
	uint64_t t_pub;
	uint32_t origin;
	uint32_t size;
	uint32_t holders;             /* honest up nodes holding it now */
	bool revoked;                 /* its origin was revoked: not a target */
	uint32_t *arr;                /* per node: ms after t_pub + 1; 0 = never */
	uint16_t *hop;
	uint8_t *held;                /* per node bit: holds it now */
};

/* Open-addressing map from a 32-byte key (ids, public keys) to a value;
 * SIM_NONE marks an empty slot. */
struct sim_map {
	uint8_t (*keys)[32];
	uint32_t *vals;
	size_t cap, n;
};

struct sim {
	struct sim_config cfg;
	struct engine_config ecfg;
	struct sim_results res;
	uint64_t now, seq, rng[4];
	uint64_t t_baseline, t_measure, end_at, done_at;
	bool measuring, finished, part_active;
	uint8_t win;                  /* 0 none, 1 baseline, 2 measurement */
	/* events */
	struct ev *heap;
	size_t nheap, capheap;
	/* nodes */
	struct sim_node *nodes;
	unsigned n, honest_up;
	struct sim_map pkmap;
	/* stream ordering: last delivery time per (from, to) */
	struct sim_map streammap;
	uint64_t *stream_last;
	size_t nstream, capstream;
	/* certificates every engine gets (root-signed, of the publishers) */
	struct sim_stored *certs;
	unsigned ncerts;
	uint32_t *publishers;
	unsigned npub;
	/* tracked records */
	struct sim_rec *recs;
	size_t nrecs, caprecs;
	struct sim_map recmap;
	/* ids that must never be accepted */
	struct sim_map badmap, scopemap;
	/* callback context */
	uint32_t cur_from, cur_to, publishing;
	const uint8_t *send_claim;  /* set around sim_net_send: the key the message claims */
	bool restoring;
	/* accounting */
	struct sim_counters acc, acc_byz, bg;
	unsigned bg_up;               /* honest nodes up during the baseline */
	struct { const char *what; uint64_t count; } notes[SIM_MAX_NOTES];
	unsigned nnotes;
	int start_err;
	uint64_t frame_bytes[3][SIM_FRAME_TYPES], frame_count[3][SIM_FRAME_TYPES], msgs[3], overhead[3];
	uint64_t rejoin_bytes[SIM_FRAME_TYPES], rejoin_overhead[2];   /* [0] data messages, [1] membership */
	bool rejoin_counting;
	uint32_t rejoin_node;
	/* scenario state */
	unsigned pub_next;
	int victim;                   /* revoke */
	uint8_t revoke_id[32];
	bool revoke_published;
	uint64_t revoke_t;
	uint32_t *revoke_done;        /* per node: ms after revoke + 1 */
	uint64_t heal_t;
	uint32_t *crashed;            /* detect: crashed node indices */
	unsigned ncrashed;
	uint32_t *detect;             /* [slot * n + observer]: ms + 1; UINT32_MAX = not a pair */
	uint64_t rejoin_restart_t;
	bool rejoin_done;
	uint64_t forge_seq;
	int size_adjust;              /* actual - predicted encoded size, learnt */
	bool size_learnt;
	bool rejoin_up_scheduled;
	/* wall clock */
	double wall0;
};

/* No libm in the build: rounding of non-negative values by hand. */
static inline uint64_t sim_ceil(double x)
{
	uint64_t k = x > 0 ? (uint64_t)x : 0;

	return (double)k < x ? k + 1 : k;
}

static inline uint64_t sim_round(double x)
{
	return x > 0 ? (uint64_t)(x + 0.5) : 0;
}

/* core services for scenarios (sim.c) */
uint64_t sim_rand(struct sim *s);
double sim_uniform(struct sim *s);                    /* [0, 1) */
uint64_t sim_rand_below(struct sim *s, uint64_t n);
void sim_push(struct sim *s, uint64_t t, uint8_t type, uint32_t a, uint32_t b);
/* Send raw bytes from one node to another over the simulated network
 * (under the key in s->send_claim if set: delivered as a claim). */
void sim_net_send(struct sim *s, uint32_t from, uint32_t to, const uint8_t *buf, size_t len,
		  enum engine_chan chan);
void sim_node_down(struct sim *s, struct sim_node *n);
int sim_node_start(struct sim *s, struct sim_node *n);   /* (re)create its engine */
void sim_schedule_tick(struct sim *s, struct sim_node *n, uint64_t t);
bool sim_honest(const struct sim_node *n);
/* The value under key, or -1. */
int64_t sim_map_get(const struct sim_map *m, const uint8_t key[32]);
/* Insert or replace; 0 or -ENOMEM. */
int sim_map_put(struct sim_map *m, const uint8_t key[32], uint32_t val);
void sim_map_free(struct sim_map *m);
/* Sign a record with key k into a fresh heap buffer (*out, *len). */
int sim_sign(const struct node_key *k, unsigned kind, const char *rkey, uint64_t version,
	     uint64_t expires_s, const union body *b, uint8_t **out, size_t *len, uint8_t id[32]);
struct sim_rec *sim_track(struct sim *s, const uint8_t id[32], uint32_t origin, uint64_t t);
bool sim_rec_held(const struct sim_rec *r, uint32_t node);
/* Mark r held (or not) by n, keeping r->holders right. */
void sim_rec_hold(struct sim_rec *r, const struct sim_node *n, bool on);
/* Every publish done and every tracked record held by every honest up node. */
bool sim_all_delivered(const struct sim *s);

/* scenario.c */
int scen_setup(struct sim *s, char *err, size_t errlen);
void scen_event(struct sim *s, const struct ev *ev);
void scen_checkpoint(struct sim *s);      /* may set s->done_at */
void scen_measure_start(struct sim *s);
void scen_peer_state(struct sim *s, struct sim_node *obs, uint32_t peer, enum peer_state to);
void scen_finish(struct sim *s);
void scen_free(struct sim *s);

#endif
