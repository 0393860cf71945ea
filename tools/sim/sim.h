/* mirrornet-sim: N protocol engines (src/engine/engine.h) in one process
 * over a simulated network, deterministic for a given seed
 * (docs/simulator.md).
 *
 * The core is a discrete-event loop: a binary heap of events ordered by
 * (time, sequence number), so that ties always break the same way. Events
 * are message deliveries, engine timers (at most one live tick per node:
 * the node keeps its due time and stale heap entries are skipped),
 * publishes, crashes and restarts, partition start and heal, byzantine
 * actions and measurement checkpoints. Every random draw comes from one
 * seeded generator (xoshiro256**), and each engine's ops->random from a
 * per-node splitmix64 seeded from the run seed: the same seed gives the
 * same run, bit for bit (sim_results.trace_hash says so).
 *
 * Time is unix milliseconds from SIM_T0_MS. A run is: setup (keys, certs,
 * engines, bootstrap peers), warm-up (the mesh forms; the second half of
 * it is the background-traffic baseline), then the measurement window,
 * which starts with the scenario's faults and first publish and ends when
 * the scenario is done (plus a tail of gossip_windows heartbeats), at
 * run_ms, or at the max_sim_ms cap — whichever comes first.
 *
 * Usage: sim_config_default(), adjust, sim_new(), sim_run(), read
 * sim_results(), sim_free(). Tests may look at the engines afterwards
 * (sim_engine()) and run on (sim_advance()). */
#ifndef MN_SIM_H
#define MN_SIM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "src/engine/engine.h"
#include "src/engine/wire.h"

/* frame types counted by the simulator: 0 (malformed) to W_TYPE_MAX */
#define SIM_FRAME_TYPES (W_TYPE_MAX + 1)

struct sim;
struct json_object;

#define SIM_T0_MS 1800000000000ULL   /* simulated clock at start, unix ms */

enum sim_scenario {
	SIM_BASIC = 0,      /* publish, measure dissemination (+ any faults given) */
	SIM_PARTITION,      /* halves split at measurement start, heal, converge */
	SIM_REJOIN,         /* one node misses some records, returns, syncs */
	SIM_REVOKE,         /* the root revokes a publisher */
	SIM_DETECT,         /* crash nodes, time their detection, count false positives */
};
enum sim_byz {
	BYZ_NONE = 0,
	BYZ_SILENT,         /* never sends or answers anything */
	BYZ_DROP_FORWARD,   /* engine with no_forward */
	BYZ_FORGE,          /* sends forged / out-of-scope records */
	BYZ_REPLAY,         /* re-sends old valid records */
	BYZ_FLOOD,          /* bursts far above the per-peer rate */
	BYZ_CERT_ADOPT,     /* root-certified sub-masters certify, then revoke, honest members */
	BYZ_CLAIM,          /* members whose node records claim others' names and mesh addresses */
	BYZ_HOG,            /* certified members publishing past their budgets */
	BYZ_STRANGERS,      /* datagrams under fresh random keys (peer-table flooding) */
	BYZ_SPOOF,          /* garbage under honest members' keys (unauthenticated claims) */
	BYZ_FORGE_MEMBER,   /* LEFT/DEAD/SUSPECT claims about honest nodes, huge incarnations */
};
#define BYZ_LAST BYZ_FORGE_MEMBER

const char *sim_scenario_name(enum sim_scenario sc);
int sim_scenario_from_name(const char *name);    /* -1 if unknown */
const char *sim_byz_name(enum sim_byz b);
int sim_byz_from_name(const char *name);         /* -1 if unknown */

struct sim_config {
	unsigned nodes;
	uint64_t seed;
	enum sim_scenario scenario;
	/* network */
	unsigned lat_min_ms, lat_max_ms;   /* uniform per message */
	double loss;                       /* CHAN_DGRAM only, 0..1 */
	/* faults (fractions of the nodes that are neither root nor publisher) */
	double crash;                      /* crash at measurement start, never return */
	bool partition;                    /* two halves from measurement start ... */
	unsigned heal_ms;                  /* ... until this much later */
	double churn;                      /* crash and restart repeatedly */
	unsigned churn_up_ms, churn_down_ms;   /* mean up and down times */
	unsigned churn_for_ms;             /* churn at least this long (and while publishing) */
	double byzantine;
	enum sim_byz byz_mode;
	unsigned byz_interval_ms;          /* period of forge / replay / flood actions */
	/* workload */
	unsigned size;                     /* target encoded size of a record, bytes */
	unsigned publish;                  /* records published */
	double rate;                       /* publishes per second */
	unsigned publishers;               /* certified publisher nodes; 0 = auto */
	double miss;                       /* rejoin: fraction of the records missed */
	/* time, simulated ms */
	unsigned warmup_ms;
	unsigned run_ms;                   /* measurement window; 0 = until done */
	unsigned max_sim_ms;               /* hard cap on the whole run */
	unsigned check_ms;                 /* checkpoint period */
	unsigned tail_ms;                  /* after done; 0 = auto (gossip windows) */
	/* bootstrap: peers handed to each node; 0 = all if nodes <= max_peers,
	 * else 64 random ones plus the next node (a connected graph) */
	unsigned bootstrap;
	struct engine_config engine;       /* root is set by the simulator */
	bool progress;                     /* a line per simulated second on stderr */
};

/* Defaults for a scenario (every field; engine from engine_config_default). */
void sim_config_default(struct sim_config *c, enum sim_scenario sc);
/* Check a config; NULL if fine, else a static message. */
const char *sim_config_check(const struct sim_config *c);

/* What a run measured (docs/simulator.md defines each). Times are ms,
 * negative when not reached; ratios are NAN when undefined. */
struct sim_results {
	/* population */
	unsigned nodes, targets, crashed, byzantine, churned, publishers;
	uint64_t seed;
	/* dissemination of the published records, over targets (honest nodes
	 * up at the end) */
	unsigned records, records_complete;
	double record_bytes;               /* mean exact encoded size */
	double delivery_ratio;
	double t50_ms, t99_ms, t999_ms, t100_ms;             /* mean over records */
	double t50_max_ms, t99_max_ms, t999_max_ms, t100_max_ms; /* worst record */
	unsigned heartbeat_ms;
	double hops_mean, hops_p99;
	unsigned hops_max;
	uint64_t hops_approx, hops_unknown;
	/* cost, over the measurement window */
	double window_s;
	double bytes_per_node;             /* engine tx_bytes per node */
	double amplification;              /* (record+gossip+sync) / useful */
	double amplification_all;          /* all engine tx bytes / useful */
	double member_Bps_per_node;        /* membership bytes per node per second */
	double bg_member_Bps, bg_gossip_Bps, bg_sync_Bps, bg_record_Bps; /* warm-up baseline */
	double dup_per_node, dup_per_node_record, verifies_per_record;
	uint64_t deliveries, verifies;
	uint64_t wire_bytes[SIM_FRAME_TYPES], wire_frames[SIM_FRAME_TYPES]; /* measured by the simulator, by frame type */
	uint64_t wire_msgs, wire_overhead;        /* messages, version bytes */
	uint64_t dgram_lost, dropped_down, dropped_partition;
	/* invariants (all must be 0) */
	uint64_t bad_accepted;             /* a forged / unsigned / expired record accepted */
	uint64_t scope_accepted;           /* a record signed out of its signer's rights */
	uint64_t revoked_accepted;         /* a revoked origin's record accepted after the revoke */
	uint64_t bad_held;                 /* forged / out-of-scope ids held at the end (engine_has) */
	uint64_t dgram_oversize, stream_oversize, tx_unknown, tx_self, tick_past;
	/* engine counters, honest nodes, window */
	uint64_t bad_sig, untrusted, expired, malformed, rate_limited, graylisted_drops;
	uint64_t graylisted_byz, graylisted_honest; /* honest views of peers at the end */
	uint64_t injected;                 /* byzantine frames the simulator injected */
	uint32_t max_peers, max_records, max_mesh; /* largest seen on an honest node at the end */
	uint64_t max_record_bytes;         /* the same, wire bytes held */
	uint64_t over_budget;              /* records honest nodes refused over a budget (window) */
	uint64_t origin_rate_limited;      /* ... refused for now, their origin over its byte rate */
	uint64_t claims_disproved;         /* third-party verdicts honest nodes checked and dropped */
	uint64_t publish_errors;           /* engine_publish failures (the first is on stderr) */
	/* partition */
	double heal_converge_ms;
	/* rejoin */
	unsigned missed_records;
	uint64_t missed_bytes, sync_bytes, sync_bytes_all;
	double sync_ratio, sync_converge_ms;
	/* revoke */
	double revoke_t50_ms, revoke_t999_ms, revoke_t100_ms;
	uint64_t revoke_leftover;
	/* detect */
	unsigned detect_pairs, detect_found;
	double detect_p50_ms, detect_p99_ms, detect_max_ms;
	uint64_t false_dead, false_suspect, false_dead_warmup, false_suspect_warmup;
	uint64_t false_dead_nodes, false_suspect_nodes;   /* distinct nodes wrongly accused */
	uint64_t partition_dead, partition_suspect; /* about a peer across the partition */
	/* run */
	double sim_s, wall_s, setup_wall_s, rss_mib;
	uint64_t events, trace_hash;
};

/* A new simulation: keys, certificates, engines, bootstrap, scheduled
 * scenario. NULL on a bad config or ENOMEM, with a message in err. */
struct sim *sim_new(const struct sim_config *c, char *err, size_t errlen);
/* Run to the end (done + tail, run_ms, or max_sim_ms) and compute the
 * results. 0, or a negative errno if an engine could not be (re)created. */
int sim_run(struct sim *s);
/* Process events for `ms` more simulated milliseconds (after sim_run:
 * the world goes on; results are not recomputed). */
void sim_advance(struct sim *s, uint64_t ms);
const struct sim_results *sim_results(const struct sim *s);
const struct sim_config *sim_config(const struct sim *s);
void sim_free(struct sim *s);     /* accepts NULL */

/* Looking inside, for tests. */
uint64_t sim_now(const struct sim *s);
unsigned sim_node_count(const struct sim *s);
struct engine *sim_engine(const struct sim *s, unsigned i);  /* NULL when down or silent */
bool sim_node_up(const struct sim *s, unsigned i);
bool sim_node_honest(const struct sim *s, unsigned i);
const uint8_t *sim_node_pk(const struct sim *s, unsigned i);
/* The k-th published record: id and origin node. false if k is out of range. */
size_t sim_record_count(const struct sim *s);
bool sim_record(const struct sim *s, size_t k, uint8_t id[32], unsigned *origin);
/* The revoked publisher (SIM_REVOKE), or -1. */
int sim_revoked_node(const struct sim *s);

/* The results as one JSON object (caller owns it): config echo + metrics. */
struct json_object *sim_results_json(const struct sim *s);

#endif
