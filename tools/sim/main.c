/* mirrornet-sim: run N protocol engines over a simulated network and
 * report how records spread (docs/simulator.md). Exit 0 after a run, 1 if
 * the run could not be set up, 2 on a usage error. */
#include <errno.h>
#include <getopt.h>
#include <math.h>   /* isfinite: a macro, no libm */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "tools/sim/sim.h"

static void usage(FILE *f)
{
	fputs("usage: mirrornet-sim [options]\n"
	      "  --scenario NAME       basic (default), partition, rejoin, revoke, detect\n"
	      "  --nodes N             engines to run (default 100)\n"
	      "  --seed S              run seed (default 1): same seed, same run\n"
	      "  --latency-ms MIN-MAX  per-message latency, uniform (default 20-80)\n"
	      "  --loss P              datagram loss probability, 0..1 (default 0)\n"
	      "  --crash F             fraction of nodes crashed at measurement start\n"
	      "  --partition           split the nodes in two halves at measurement start\n"
	      "  --heal-s S            partition length (default 5)\n"
	      "  --churn F             fraction of nodes that crash and restart repeatedly\n"
	      "  --churn-up-s S        mean up time of a churning node (default 5)\n"
	      "  --churn-down-s S      mean down time of a churning node (default 3)\n"
	      "  --churn-for-s S       churn lasts this long, and while publishing (default 10)\n"
	      "  --byzantine F         fraction of byzantine nodes (needs --byz-mode)\n"
	      "  --byz-mode M          silent, drop-forward, forge, replay, flood, cert-adopt,\n"
	      "                        claim, hog, strangers, spoof\n"
	      "  --byz-interval-ms MS  period of the active modes' actions (default 200)\n"
	      "  --size BYTES          encoded size of each published record (default 200)\n"
	      "  --publish N           records to publish (default 1; --records is the same)\n"
	      "  --rate R              publishes per second (default 10; rejoin 100)\n"
	      "  --publishers P        certified publisher nodes (default: up to 8)\n"
	      "  --miss F              rejoin: fraction of the records the node misses (0.01)\n"
	      "  --warmup-s S          warm-up before measuring (default 5)\n"
	      "  --run-s S             measurement window (default: until done)\n"
	      "  --max-sim-s S         cap on simulated time (default 120; rejoin 300)\n"
	      "  --check-ms MS         checkpoint period (default 50)\n"
	      "  --tail-s S            run on after done (default: gossip windows)\n"
	      "  --bootstrap K         peers given to each node (default: all, or 64)\n"
	      "  --engine K=V[,K=V]    engine_config overrides, e.g. d=8,heartbeat_ms=500\n"
	      "  --progress            a progress line per simulated second on stderr\n"
	      "  --json                one JSON object instead of the table\n"
	      "  --help\n", f);
}

static int bad(const char *what, const char *val)
{
	fprintf(stderr, "mirrornet-sim: %s: '%s'\n", what, val);
	fprintf(stderr, "try mirrornet-sim --help\n");
	return 2;
}

static int parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;

	if (!*s)
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* seconds (may be fractional) → ms */
static int parse_secs(const char *s, unsigned *ms)
{
	double v;

	if (parse_double(s, 0, 4e6, &v) < 0)
		return -1;
	*ms = (unsigned)(v * 1000 + 0.5);
	return 0;
}

static const struct { const char *name; size_t off; } engine_knobs[] = {
#define K(f) { #f, offsetof(struct engine_config, f) }
	K(d), K(d_lo), K(d_hi), K(d_lazy), K(heartbeat_ms), K(gossip_windows), K(large_record),
	K(d_eager), K(choke_wait_ms),
	K(prune_backoff_ms), K(probe_ms), K(ack_timeout_ms), K(indirect_k), K(suspect_ms), K(suspect_min_ms),
	K(sync_ms), K(max_peers), K(max_records), K(max_per_origin), K(peer_msgs_per_s),
	K(seen_cap), K(max_bytes), K(max_bytes_per_origin), K(origin_bytes_per_s),
	K(origin_burst_bytes), K(relay_bytes_per_s), K(max_skew_s), K(max_lifetime_s),
#undef K
};

static int parse_engine(char *spec, struct engine_config *ec)
{
	for (char *save = NULL, *kv = strtok_r(spec, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		unsigned long long v;
		size_t i;

		if (!eq)
			return bad("--engine wants KEY=VALUE", kv);
		*eq = 0;
		for (i = 0; i < sizeof engine_knobs / sizeof *engine_knobs; i++)
			if (!strcmp(engine_knobs[i].name, kv))
				break;
		if (i == sizeof engine_knobs / sizeof *engine_knobs)
			return bad("--engine: unknown knob", kv);
		if (parse_uint(eq + 1, 0xffffffffULL, &v) < 0)
			return bad("--engine: not a number", eq + 1);
		memcpy((char *)ec + engine_knobs[i].off, &(unsigned){ (unsigned)v }, sizeof(unsigned));
	}
	return 0;
}

static void print_ms(const char *label, double ms, unsigned hb)
{
	if (ms < 0)
		printf("  %-26s %12s\n", label, "not reached");
	else
		printf("  %-26s %9.0f ms  (%.2f heartbeats)\n", label, ms, ms / (hb ? hb : 1));
}

static void print_table(const struct sim *s)
{
	const struct sim_results *r = sim_results(s);
	const struct sim_config *c = sim_config(s);

	printf("mirrornet-sim: %s, %u nodes, seed %llu, latency %u-%u ms, loss %.3g\n",
	       sim_scenario_name(c->scenario), r->nodes, (unsigned long long)r->seed, c->lat_min_ms,
	       c->lat_max_ms, c->loss);
	printf("  %-26s %u (crashed %u, byzantine %u %s, churning %u)\n", "targets (honest, up)",
	       r->targets, r->crashed, r->byzantine, sim_byz_name(c->byz_mode), r->churned);
	printf("  %-26s %u of %.0f bytes (%u complete), %u publishers\n", "records", r->records,
	       r->record_bytes, r->records_complete, r->publishers);
	printf("  %-26s %.6f\n", "delivery ratio", r->delivery_ratio);
	print_ms("t50", r->t50_ms, r->heartbeat_ms);
	print_ms("t99", r->t99_ms, r->heartbeat_ms);
	print_ms("t99.9", r->t999_ms, r->heartbeat_ms);
	print_ms("t100", r->t100_ms, r->heartbeat_ms);
	if (r->records > 1)
		print_ms("t100, worst record", r->t100_max_ms, r->heartbeat_ms);
	printf("  %-26s mean %.2f, p99 %.0f, max %u\n", "hops", r->hops_mean, r->hops_p99,
	       r->hops_max);
	printf("  %-26s %.3f\n", "amplification", r->amplification);
	printf("  %-26s %.3f\n", "amplification (all)", r->amplification_all);
	printf("  %-26s %.0f over %.1f s\n", "bytes sent per node", r->bytes_per_node, r->window_s);
	printf("  %-26s %.1f B/s\n", "membership per node", r->member_Bps_per_node);
	printf("  %-26s member %.1f, gossip %.1f, sync %.1f B/s\n", "background per node",
	       r->bg_member_Bps, r->bg_gossip_Bps, r->bg_sync_Bps);
	printf("  %-26s %.2f\n", "duplicates per node", r->dup_per_node);
	printf("  %-26s %.3f\n", "verifies per record", r->verifies_per_record);
	if (c->partition)
		print_ms("heal → identical stores", r->heal_converge_ms, r->heartbeat_ms);
	if (c->scenario == SIM_REJOIN) {
		printf("  %-26s %u records, %llu bytes\n", "missed by the rejoiner", r->missed_records,
		       (unsigned long long)r->missed_bytes);
		printf("  %-26s %llu bytes (%llu with membership), ratio %.3f\n", "spent to catch up",
		       (unsigned long long)r->sync_bytes, (unsigned long long)r->sync_bytes_all,
		       r->sync_ratio);
		print_ms("caught up after", r->sync_converge_ms, r->heartbeat_ms);
	}
	if (c->scenario == SIM_REVOKE) {
		print_ms("revocation at 50 %", r->revoke_t50_ms, r->heartbeat_ms);
		print_ms("revocation at 99.9 %", r->revoke_t999_ms, r->heartbeat_ms);
		print_ms("revocation at 100 %", r->revoke_t100_ms, r->heartbeat_ms);
		printf("  %-26s %llu\n", "revoked records left", (unsigned long long)r->revoke_leftover);
	}
	if (c->scenario == SIM_DETECT || c->crash > 0) {
		printf("  %-26s %u of %u pairs\n", "crashes detected", r->detect_found, r->detect_pairs);
		print_ms("detection p50", r->detect_p50_ms, r->heartbeat_ms);
		print_ms("detection p99", r->detect_p99_ms, r->heartbeat_ms);
		print_ms("detection max", r->detect_max_ms, r->heartbeat_ms);
	}
	printf("  %-26s dead %llu (of %llu nodes), suspect %llu (of %llu nodes); warm-up: %llu, %llu\n",
	       "false positives", (unsigned long long)r->false_dead,
	       (unsigned long long)r->false_dead_nodes, (unsigned long long)r->false_suspect,
	       (unsigned long long)r->false_suspect_nodes, (unsigned long long)r->false_dead_warmup,
	       (unsigned long long)r->false_suspect_warmup);
	if (c->byzantine > 0)
		printf("  %-26s injected %llu frames; bad sig %llu, untrusted %llu, expired %llu, "
		       "rate-limited %llu, graylisted byz %llu / honest %llu\n", "byzantine",
		       (unsigned long long)r->injected, (unsigned long long)r->bad_sig,
		       (unsigned long long)r->untrusted, (unsigned long long)r->expired,
		       (unsigned long long)r->rate_limited, (unsigned long long)r->graylisted_byz,
		       (unsigned long long)r->graylisted_honest);
	printf("  %-26s bad %llu, out of scope %llu, revoked %llu\n", "wrongly accepted",
	       (unsigned long long)r->bad_accepted, (unsigned long long)r->scope_accepted,
	       (unsigned long long)r->revoked_accepted);
	if (r->dgram_oversize || r->stream_oversize || r->tx_unknown || r->tx_self || r->tick_past)
		printf("  %-26s oversize dgram %llu / stream %llu, unknown peer %llu, self %llu, "
		       "tick in the past %llu\n", "engine anomalies",
		       (unsigned long long)r->dgram_oversize, (unsigned long long)r->stream_oversize,
		       (unsigned long long)r->tx_unknown, (unsigned long long)r->tx_self,
		       (unsigned long long)r->tick_past);
	printf("  %-26s %.1f s simulated, %llu events, %.1f s wall (setup %.1f), %.0f MiB RSS\n",
	       "run", r->sim_s, (unsigned long long)r->events, r->wall_s, r->setup_wall_s,
	       r->rss_mib);
	printf("  %-26s %016llx\n", "trace hash", (unsigned long long)r->trace_hash);
}

int main(int argc, char **argv)
{
	enum {
		O_NODES = 256, O_SEED, O_SCEN, O_LAT, O_LOSS, O_CRASH, O_PART, O_HEAL, O_CHURN,
		O_CHURN_UP, O_CHURN_DOWN, O_CHURN_FOR, O_BYZ, O_BYZ_MODE, O_BYZ_INT, O_SIZE, O_PUBLISH, O_RATE,
		O_PUBLISHERS, O_MISS, O_WARMUP, O_RUN, O_MAXSIM, O_CHECK, O_TAIL, O_BOOT, O_ENGINE,
		O_PROGRESS, O_JSON, O_HELP,
	};
	static const struct option opts[] = {
		{ "nodes", required_argument, NULL, O_NODES },
		{ "seed", required_argument, NULL, O_SEED },
		{ "scenario", required_argument, NULL, O_SCEN },
		{ "latency-ms", required_argument, NULL, O_LAT },
		{ "loss", required_argument, NULL, O_LOSS },
		{ "crash", required_argument, NULL, O_CRASH },
		{ "partition", no_argument, NULL, O_PART },
		{ "heal-s", required_argument, NULL, O_HEAL },
		{ "churn", required_argument, NULL, O_CHURN },
		{ "churn-up-s", required_argument, NULL, O_CHURN_UP },
		{ "churn-down-s", required_argument, NULL, O_CHURN_DOWN },
		{ "churn-for-s", required_argument, NULL, O_CHURN_FOR },
		{ "byzantine", required_argument, NULL, O_BYZ },
		{ "byz-mode", required_argument, NULL, O_BYZ_MODE },
		{ "byz-interval-ms", required_argument, NULL, O_BYZ_INT },
		{ "size", required_argument, NULL, O_SIZE },
		{ "publish", required_argument, NULL, O_PUBLISH },
		{ "records", required_argument, NULL, O_PUBLISH },
		{ "rate", required_argument, NULL, O_RATE },
		{ "publishers", required_argument, NULL, O_PUBLISHERS },
		{ "miss", required_argument, NULL, O_MISS },
		{ "warmup-s", required_argument, NULL, O_WARMUP },
		{ "run-s", required_argument, NULL, O_RUN },
		{ "max-sim-s", required_argument, NULL, O_MAXSIM },
		{ "check-ms", required_argument, NULL, O_CHECK },
		{ "tail-s", required_argument, NULL, O_TAIL },
		{ "bootstrap", required_argument, NULL, O_BOOT },
		{ "engine", required_argument, NULL, O_ENGINE },
		{ "progress", no_argument, NULL, O_PROGRESS },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	enum sim_scenario sc = SIM_BASIC;
	struct sim_config c;
	bool json = false;
	unsigned long long u;
	int opt, rc;

	/* the scenario picks the defaults: find it first */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == O_SCEN) {
			int v = sim_scenario_from_name(optarg);
			if (v < 0)
				return bad("--scenario: unknown scenario", optarg);
			sc = (enum sim_scenario)v;
		} else if (opt == O_PART && sc == SIM_BASIC) {
			sc = SIM_PARTITION;
		}
	}
	sim_config_default(&c, sc);
	opterr = 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case O_NODES:
			if (parse_uint(optarg, 1000000, &u) < 0 || u < 3)
				return bad("--nodes wants an integer from 3 to 1000000", optarg);
			c.nodes = (unsigned)u;
			break;
		case O_SEED:
			if (parse_uint(optarg, UINT64_MAX, &u) < 0)
				return bad("--seed wants an unsigned integer", optarg);
			c.seed = u;
			break;
		case O_SCEN:
			break;
		case O_LAT: {
			char *dash = strchr(optarg, '-');
			unsigned long long lo, hi;
			if (!dash)
				return bad("--latency-ms wants MIN-MAX", optarg);
			*dash = 0;
			if (parse_uint(optarg, 600000, &lo) < 0 || parse_uint(dash + 1, 600000, &hi) < 0 ||
			    lo > hi) {
				*dash = '-';
				return bad("--latency-ms wants MIN-MAX with MIN <= MAX (ms)", optarg);
			}
			c.lat_min_ms = (unsigned)lo;
			c.lat_max_ms = (unsigned)hi;
			break;
		}
		case O_LOSS:
			if (parse_double(optarg, 0, 0.999, &c.loss) < 0)
				return bad("--loss wants a probability in [0, 1)", optarg);
			break;
		case O_CRASH:
			if (parse_double(optarg, 0, 0.999, &c.crash) < 0)
				return bad("--crash wants a fraction in [0, 1)", optarg);
			break;
		case O_PART:
			c.partition = true;
			break;
		case O_HEAL:
			if (parse_secs(optarg, &c.heal_ms) < 0 || !c.heal_ms)
				return bad("--heal-s wants positive seconds", optarg);
			break;
		case O_CHURN:
			if (parse_double(optarg, 0, 0.999, &c.churn) < 0)
				return bad("--churn wants a fraction in [0, 1)", optarg);
			break;
		case O_CHURN_UP:
			if (parse_secs(optarg, &c.churn_up_ms) < 0 || !c.churn_up_ms)
				return bad("--churn-up-s wants positive seconds", optarg);
			break;
		case O_CHURN_DOWN:
			if (parse_secs(optarg, &c.churn_down_ms) < 0 || !c.churn_down_ms)
				return bad("--churn-down-s wants positive seconds", optarg);
			break;
		case O_CHURN_FOR:
			if (parse_secs(optarg, &c.churn_for_ms) < 0)
				return bad("--churn-for-s wants seconds", optarg);
			break;
		case O_BYZ:
			if (parse_double(optarg, 0, 0.999, &c.byzantine) < 0)
				return bad("--byzantine wants a fraction in [0, 1)", optarg);
			break;
		case O_BYZ_MODE: {
			int v = sim_byz_from_name(optarg);
			if (v <= 0)
				return bad("--byz-mode wants silent, drop-forward, forge, replay, flood, "
					   "cert-adopt, claim, hog, strangers or spoof", optarg);
			c.byz_mode = (enum sim_byz)v;
			break;
		}
		case O_BYZ_INT:
			if (parse_uint(optarg, 3600000, &u) < 0 || !u)
				return bad("--byz-interval-ms wants a positive integer", optarg);
			c.byz_interval_ms = (unsigned)u;
			break;
		case O_SIZE:
			if (parse_uint(optarg, 8192, &u) < 0)
				return bad("--size wants bytes (up to 8192)", optarg);
			c.size = (unsigned)u;
			break;
		case O_PUBLISH:
			if (parse_uint(optarg, 10000000, &u) < 0)
				return bad("--publish wants a count", optarg);
			c.publish = (unsigned)u;
			break;
		case O_RATE:
			if (parse_double(optarg, 1e-3, 1e6, &c.rate) < 0)
				return bad("--rate wants publishes per second", optarg);
			break;
		case O_PUBLISHERS:
			if (parse_uint(optarg, 1000000, &u) < 0)
				return bad("--publishers wants a count", optarg);
			c.publishers = (unsigned)u;
			break;
		case O_MISS:
			if (parse_double(optarg, 1e-9, 0.999, &c.miss) < 0)
				return bad("--miss wants a fraction in (0, 1)", optarg);
			break;
		case O_WARMUP:
			if (parse_secs(optarg, &c.warmup_ms) < 0)
				return bad("--warmup-s wants seconds", optarg);
			break;
		case O_RUN:
			if (parse_secs(optarg, &c.run_ms) < 0)
				return bad("--run-s wants seconds", optarg);
			break;
		case O_MAXSIM:
			if (parse_secs(optarg, &c.max_sim_ms) < 0 || !c.max_sim_ms)
				return bad("--max-sim-s wants positive seconds", optarg);
			break;
		case O_CHECK:
			if (parse_uint(optarg, 60000, &u) < 0 || !u)
				return bad("--check-ms wants a positive integer", optarg);
			c.check_ms = (unsigned)u;
			break;
		case O_TAIL:
			if (parse_secs(optarg, &c.tail_ms) < 0)
				return bad("--tail-s wants seconds", optarg);
			break;
		case O_BOOT:
			if (parse_uint(optarg, 1000000, &u) < 0)
				return bad("--bootstrap wants a count", optarg);
			c.bootstrap = (unsigned)u;
			break;
		case O_ENGINE:
			if ((rc = parse_engine(optarg, &c.engine)) != 0)
				return rc;
			break;
		case O_PROGRESS:
			c.progress = true;
			break;
		case O_JSON:
			json = true;
			break;
		case O_HELP:
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "try mirrornet-sim --help\n");
			return 2;
		}
	}
	if (optind != argc)
		return bad("unexpected argument", argv[optind]);
	if (c.partition && c.scenario == SIM_BASIC)
		c.scenario = SIM_PARTITION;
	const char *msg = sim_config_check(&c);
	if (msg) {
		fprintf(stderr, "mirrornet-sim: %s\n", msg);
		return 2;
	}

	char err[256];
	struct sim *s = sim_new(&c, err, sizeof err);
	if (!s) {
		fprintf(stderr, "mirrornet-sim: %s\n", err);
		return strstr(err, "memory") || strstr(err, "engine_new failed") ? 1 : 2;
	}
	rc = sim_run(s);
	if (rc < 0)
		fprintf(stderr, "mirrornet-sim: the run was cut short: %s\n", strerror(-rc));
	if (json) {
		struct json_object *o = sim_results_json(s);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		print_table(s);
	}
	sim_free(s);
	return rc < 0 ? 1 : 0;
}
