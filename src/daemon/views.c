/* What the local API shows of the daemon and publishes through it:
 * status, peers, records, publish (docs/api.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "src/daemon/daemon_int.h"
#include "src/daemon/api.h"
#include "src/daemon/transport.h"
#include "src/daemon/wgsync.h"
#include "src/daemon/host.h"
#include "src/body_json.h"
#include "src/log.h"
#include "src/store.h"
#include "crypto/did.h"
#include "proto/hex.h"
#include "proto/proto_err.h"

/* Counters read from a stats struct (all uint64_t): a table, not a call
 * each, and the names one string (the daemon's size, docs/size.md).
 * X(json name, field). */
#define ENGINE_COUNTERS(X) \
	X(records_accepted, records_accepted) \
	X(records_duplicate, records_dup) \
	X(records_older, records_old) \
	X(records_pending, records_pending) \
	X(verifies, verifies) \
	X(bad_signatures, bad_sig) \
	X(untrusted, untrusted) \
	X(expired, expired) \
	X(malformed, malformed) \
	X(rate_limited, rate_limited) \
	X(graylisted_drops, graylisted_drops) \
	X(revocations, revocations) \
	X(certs_refused, certs_refused) \
	X(trust_cut, trust_cut) \
	X(claims_refused, claims_refused) \
	X(over_origin_budget, over_origin_budget) \
	X(over_total_budget, over_total_budget) \
	X(over_fair_share, over_fair_share) \
	X(future, future) \
	X(origin_rate_limited, origin_rate_limited) \
	X(member_refused, member_refused) \
	X(claims_disproved, claims_disproved) \
	X(gone_hints, gone_hints) \
	X(sync_rounds, sync_rounds) \
	X(sync_records_pushed, sync_records_pushed) \
	X(sync_push_deferred, sync_push_deferred) \
	X(sync_resumed, sync_resumed) \
	X(store_load_errors, load_errors) \
	X(forwards_shed, forwards_shed) \
	X(rx_messages, rx_msgs) \
	X(tx_messages, tx_msgs) \
	X(tx_bytes_record, tx_bytes_record) \
	X(tx_bytes_gossip, tx_bytes_gossip) \
	X(tx_bytes_member, tx_bytes_member) \
	X(tx_bytes_sync, tx_bytes_sync) \
	X(ihave_sent, ihave_sent) \
	X(iwant_sent, iwant_sent) \
	X(iwant_served, iwant_served) \
	X(chokes, chokes) \
	X(unchokes, unchokes) \
	X(choke_pulls, choke_pulls) \
	X(strangers, strangers) \
	X(unattributed_penalties, unattributed)
#define TRANSPORT_COUNTERS(X) \
	X(bad_datagrams, bad_datagrams) \
	X(oversize_frames, oversize_frames) \
	X(send_drops, send_drops) \
	X(connections_refused, conns_refused) \
	X(connections_timed_out, conns_timed_out) \
	X(connections_retried, conns_retried) \
	X(connections_reset_back, conns_reset_back) \
	X(bytes_in, bytes_in) \
	X(bytes_out, bytes_out) \
	X(connections_evicted, conns_evicted)
#define NAME(n, f) #n "\0"
#define EOFF(n, f) offsetof(struct engine_stats, f),
#define TOFF(n, f) offsetof(struct transport_stats, f),
static const char engine_names[] = ENGINE_COUNTERS(NAME);
static const uint16_t engine_offs[] = { ENGINE_COUNTERS(EOFF) };
static const char transport_names[] = TRANSPORT_COUNTERS(NAME);
static const uint16_t transport_offs[] = { TRANSPORT_COUNTERS(TOFF) };
#undef NAME
#undef EOFF
#undef TOFF

struct json_object *daemon_status(struct daemon *d)
{
	struct json_object *o = json_object_new_object();
	struct engine_stats st;
	struct transport_stats ts;
	char did[DID_KEY_MAX];
	struct rusage ru;

	engine_get_stats(d->eng, &st);
	transport_get_stats(d->tr, &ts);
	getrusage(RUSAGE_SELF, &ru);
	did_key_encode(DID_ED25519, d->key.pk, did, sizeof did);
	json_put_str(o, "name", d->cfg.name);
	json_put_str(o, "did", did);
	json_put_str(o, "version", MN_VERSION);
	json_put_str(o, "role", role_names[d->cfg.role]);
	json_put_str(o, "listen", d->cfg.listen);
	json_put_int(o, "uptime_s", (int64_t)((daemon_now_ms() - d->started_ms) / 1000));
	json_put_int(o, "rss_kib", ru.ru_maxrss);
	json_put_int(o, "records", st.records);
	json_put_int(o, "record_bytes", (int64_t)st.record_bytes);
	uint8_t dg[32];
	char hex[65];
	engine_digest(d->eng, dg);
	hex_encode(dg, 32, hex);
	json_put_str(o, "digest", hex);
	json_put_int(o, "peers", st.peers);
	json_put_int(o, "alive", st.alive);
	json_put_int(o, "suspect", st.suspect);
	json_put_int(o, "dead", st.dead);
	json_put_int(o, "mesh", st.mesh);
	json_put_int(o, "incarnation", st.incarnation);
	json_put_int(o, "local_health", st.local_health);
	struct json_object *c = json_object_new_object();
#define C(name, v) json_put_int(c, name, (int64_t)(v))
	json_put_counters(c, &st, engine_names, engine_offs, sizeof engine_offs / sizeof *engine_offs);
	json_put_counters(c, &ts, transport_names, transport_offs, sizeof transport_offs / sizeof *transport_offs);
	C("connections", ts.conns);
	C("spoofed_source", d->spoofed);
	C("connections_in", ts.conns_in);
	C("connections_out", ts.conns_out);
	C("store_errors", d->store_errors);
	C("store_commits", d->store_commits);
	C("store_syncs", d->store_syncs);
	C("store_unsaved", d->store_failing ? d->nbatch : 0);
	C("store_lost", d->store_lost);
	C("publish_refused_store", d->publish_refused_store);
	C("api_errors", d->api_errors);
	C("api_clients", d->api ? api_clients(d->api) : 0);
	C("reloads", d->reloads);
	C("reload_failures", d->reload_failures);
#undef C
	json_object_object_add(o, "counters", c);
	if (d->wg) {
		struct wgsync_stats ws;
		struct json_object *w = json_object_new_object();
		char wghex[65];
		wgsync_get_stats(d->wg, &ws);
		hex_encode(wgsync_public_key(d->wg), 32, wghex);
		json_put_str(w, "interface", d->cfg.wg_interface);
		json_put_str(w, "backend", wgsync_backend(d->wg) ? wgsync_backend(d->wg)->name : "gone");
		json_put_str(w, "backend_config", d->cfg.wg_backend);
		json_put_bool(w, "interface_owned", wgsync_owns_interface(d->wg));
		json_put_str(w, "public_key", wghex);
		json_put_int(w, "port", (int)d->cfg.wg_port);
		json_put_int(w, "peers", ws.peers);
		json_put_int(w, "applies", (int64_t)ws.applies);
		json_put_int(w, "peers_added", (int64_t)ws.peers_added);
		json_put_int(w, "device_restored", (int64_t)ws.device_restored);
		json_put_int(w, "interface_remade", (int64_t)ws.interface_remade);
		json_put_int(w, "peers_updated", (int64_t)ws.peers_updated);
		json_put_int(w, "peers_removed", (int64_t)ws.peers_removed);
		json_put_int(w, "backend_errors", (int64_t)ws.backend_errors);
		json_object_object_add(o, "wireguard", w);
	}
	struct json_object *mcp = json_object_new_object();
	json_put_bool(mcp, "write", d->cfg.mcp_write);
	json_object_object_add(o, "mcp", mcp);
	hosts_status(d->hosts, o);
	return o;
}

struct name_ctx {
	struct daemon *d;
	struct json_object *names;   /* did -> {name, role, mesh_addr} */
};

static int collect_names(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct name_ctx *nc = ctx;
	union body *b;
	char did[DID_KEY_MAX];

	(void)id;
	if ((r->kind != KIND_NODE && r->kind != KIND_CERT) || record_is_tombstone(r) ||
	    !(b = malloc(sizeof *b)))
		return 0;
	if (r->kind == KIND_CERT) {
		/* a rotated key: its node id (the first key) for the peers view */
		static const uint8_t zero[32];
		char key[DID_KEY_MAX + 4];
		if (body_decode(KIND_CERT, r->body, r->body_len, b) == 0 &&
		    memcmp(b->cert.node_id, zero, 32)) {
			did_key_encode(DID_ED25519, b->cert.subject, did, sizeof did);
			snprintf(key, sizeof key, "id:%s", did);
			did_key_encode(DID_ED25519, b->cert.node_id, did, sizeof did);
			json_put_str(nc->names, key, did);
		}
		free(b);
		return 0;
	}
	if (body_decode(KIND_NODE, r->body, r->body_len, b) == 0) {
		struct json_object *o = json_object_new_object();
		did_key_encode(DID_ED25519, r->origin, did, sizeof did);
		json_put_str(o, "name", b->node.name);
		json_put_str(o, "role", role_names[b->node.role]);
		json_put_str(o, "mesh_addr", b->node.mesh_addr);
		json_object_object_add(nc->names, did, o);
	}
	free(b);
	return 0;
}

struct json_object *daemon_peers(struct daemon *d)
{
	struct json_object *arr = json_object_new_array();
	struct name_ctx nc = { d, json_object_new_object() };
	size_t n;
	struct engine_peer_info *pi = engine_peers_alloc(d->eng, &n);

	engine_each_record(d->eng, KIND_BIT(KIND_NODE) | KIND_BIT(KIND_CERT), NULL, collect_names, &nc);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_new_object(), *nm;
		char did[DID_KEY_MAX], addr[64];
		did_key_encode(DID_ED25519, pi[i].pk, did, sizeof did);
		transport_addr_str(d->tr, pi[i].pk, addr, sizeof addr);
		bool known = json_object_object_get_ex(nc.names, did, &nm);
		json_put_str(o, "did", did);
		json_object_object_add(o, "name", json_object_new_string(
			known ? json_object_get_string(json_object_object_get(nm, "name")) : ""));
		json_object_object_add(o, "role", json_object_new_string(
			known ? json_object_get_string(json_object_object_get(nm, "role")) : ""));
		json_object_object_add(o, "mesh_addr", json_object_new_string(
			known ? json_object_get_string(json_object_object_get(nm, "mesh_addr")) : ""));
		char idkey[DID_KEY_MAX + 4];
		struct json_object *nid;
		snprintf(idkey, sizeof idkey, "id:%s", did);
		json_object_object_add(o, "node_id", json_object_new_string(
			json_object_object_get_ex(nc.names, idkey, &nid) ? json_object_get_string(nid) : did));
		json_put_str(o, "addr", addr);
		json_put_str(o, "state", peer_state_name(pi[i].state));
		json_object_object_add(o, "state_since_ms", json_object_new_uint64(pi[i].state_since));
		json_object_object_add(o, "last_seen_ms", json_object_new_uint64(pi[i].last_seen));
		json_put_int(o, "rtt_ms", pi[i].rtt_ms);
		json_put_int(o, "incarnation", pi[i].incarnation);
		json_object_object_add(o, "score", json_object_new_double(pi[i].score));
		json_put_bool(o, "mesh", pi[i].in_mesh);
		json_put_bool(o, "choked", pi[i].choked);
		json_put_bool(o, "choked_us", pi[i].choked_us);
		json_put_bool(o, "graylisted", pi[i].graylisted);
		json_put_int(o, "records", pi[i].records);
		json_put_int(o, "record_bytes", pi[i].record_bytes);
		struct wg_view v;
		if (d->wg && wgsync_view(d->wg, pi[i].pk, &v)) {
			uint64_t now_s = daemon_now_ms() / 1000;
			struct json_object *w = json_object_new_object();
			json_put_str(w, "endpoint", v.endpoint);
			json_object_object_add(w, "handshake_age_s", v.last_handshake_s ?
				json_object_new_int64((int64_t)(now_s - v.last_handshake_s)) : NULL);
			json_put_int(w, "rx_bytes", (int64_t)v.rx_bytes);
			json_put_int(w, "tx_bytes", (int64_t)v.tx_bytes);
			/* a handshake within WireGuard's rekey window: traffic flows directly */
			json_object_object_add(w, "direct", json_object_new_boolean(
				v.last_handshake_s && now_s - v.last_handshake_s <= 180));
			json_object_object_add(o, "wireguard", w);
		}
		json_object_array_add(arr, o);
	}
	json_object_put(nc.names);
	free(pi);
	return arr;
}

struct rec_filter {
	const char *key;            /* the engine's walk filters kind and origin */
	struct json_object *arr;
	union body b;
};

static int add_record(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct rec_filter *f = ctx;

	if (f->key && strcmp(r->key, f->key))
		return 0;
	if (!record_is_tombstone(r) && body_decode(r->kind, r->body, r->body_len, &f->b) < 0)
		return 0;
	json_object_array_add(f->arr, record_to_json(r, &f->b, id));
	return 0;
}

int daemon_records(struct daemon *d, unsigned kind, const uint8_t *origin, const char *key,
		   uint64_t *from, size_t max, struct json_object *arr)
{
	struct rec_filter *f = calloc(1, sizeof *f);

	if (!f)
		return -ENOMEM;
	f->key = key;
	f->arr = arr;
	int rc = engine_each_record_from(d->eng, kind && kind < 32 ? KIND_BIT(kind) : 0, origin, from,
					 max, add_record, f);
	free(f);
	return rc;
}

int daemon_publish(struct daemon *d, unsigned kind, const char *key, struct json_object *body,
		   uint64_t ttl_s, struct json_object **result, char *err, size_t errcap)
{
	union body *b = NULL;
	uint8_t id[32];
	int perr = 0, rc;

	*result = NULL;
	if (!body_schema(kind)) {
		snprintf(err, errcap, "unknown kind");
		return -EINVAL;
	}
	/* acknowledged means committed: not while the store cannot write (a
	 * failing store is tried again here first) */
	if (d->store_failing)
		daemon_batch_commit(d);
	if (d->store_failing) {
		d->publish_refused_store++;
		snprintf(err, errcap, "refused: the store cannot write (%s); %zu records wait to be "
			 "saved, try again later", store_last_error(d->store), d->nbatch);
		return -ENOSPC;
	}
	if (d->sync_broken) {   /* daemon.c, sync_store() */
		d->publish_refused_store++;
		snprintf(err, errcap, "refused: the store failed to sync; restart mirrornetd");
		return -EIO;
	}
	size_t ns;
	const struct subsys *const *ss = subsys_list(&ns);
	for (size_t i = 0; i < ns; i++)
		if (ss[i]->owns & (1u << kind)) {
			snprintf(err, errcap, "this node's %s records are kept by its %s subsystem, "
				 "which would undo a record published here: use mirrornetctl %s",
				 kind_name(kind), ss[i]->name, ss[i]->name);
			return -EPERM;
		}
	if (body) {
		b = calloc(1, sizeof *b);
		if (!b)
			return -ENOMEM;
		if (body_from_json(kind, body, b, err, errcap) < 0) {
			free(b);
			return -EINVAL;
		}
	}
	d->batch_missed = false;
	rc = engine_publish(d->eng, kind, key, b, ttl_s, daemon_now_ms(), id, &perr);
	if (rc == 0 && d->batch_missed) {   /* held and gossiped, but no copy for the store */
		d->publish_refused_store++;
		snprintf(err, errcap, "not saved: %s", strerror(ENOBUFS));
		free(b);
		daemon_arm_tick(d, daemon_now_ms());
		return -ENOBUFS;
	}
	if (rc < 0) {
		static const char *const why[KIND_MAX + 1] = {
			[KIND_NODE] = "a node record's key must be \"self\"",
			[KIND_CERT] = "the certificate does not make a valid chain from the mesh root "
				      "(issuer rights, depth, DNS scope, key = the subject in hex)",
			[KIND_REVOKE] = "only the root or an ancestor of the subject may revoke it, "
					"and the key must be the subject in hex",
			[KIND_DNS] = "the zone must lie strictly inside our certificate's DNS scope, "
				     "and the key must be the zone",
		};
		if (perr)
			snprintf(err, errcap, "%s", proto_strerror(perr));
		else if (rc == -EACCES)
			snprintf(err, errcap, "not allowed: %s", why[kind] ? why[kind] :
				 "our certificate chain does not validate");
		else if (rc == -ENOSPC)
			snprintf(err, errcap, "over budget: max_records_per_origin, "
				 "max_record_bytes_per_origin, max_records or max_record_bytes");
		else if (rc == -ERANGE)
			snprintf(err, errcap, "expires too far ahead (max_lifetime_s)");
		else
			snprintf(err, errcap, "%s", strerror(-rc));
		free(b);
		return rc == -EINVAL ? -EINVAL : rc;
	}
	struct rec_filter *f = calloc(1, sizeof *f);
	if (f) {
		f->arr = json_object_new_array();
		engine_find(d->eng, id, add_record, f);
		if (json_object_array_length(f->arr))
			*result = json_object_get(json_object_array_get_idx(f->arr, 0));
		json_object_put(f->arr);
		free(f);
	}
	free(b);
	daemon_arm_tick(d, daemon_now_ms());
	return 0;
}

int daemon_publish_commit(struct daemon *d, size_t n, char *err, size_t errcap)
{
	daemon_batch_commit(d);   /* acknowledged means committed */
	if (!d->store_failing)
		return 0;
	d->publish_refused_store += n;
	snprintf(err, errcap, "not saved: the store cannot write (%s); the record is held and "
		 "gossiped, and saved when the store can write again", store_last_error(d->store));
	return -ENOSPC;
}

void daemon_count_api_error(struct daemon *d)
{
	d->api_errors++;
}

