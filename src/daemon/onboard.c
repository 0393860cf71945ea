/* Onboarding: the subsystem: periodic work, status, start and stop,
 * options, the API table (onboard_int.h). */
#include "src/daemon/onboard_int.h"
#include "src/body_json.h"

/* ---- periodic ---- */

static void onboard_tick(void *st, uint64_t now_ms)
{
	struct onboard *o = st;
	struct walk w;
	uint64_t now = now_ms / 1000;

	/* rotated keys whose grace is over: revoke them */
	if (ob_inv_all(o, &w) == 0) {
		for (size_t i = 0; i < w.n; i++) {
			struct inv *v = &w.rows[i];
			if (v->prev_revoke_at && now >= v->prev_revoke_at) {
				ob_revoke_key(o, v->prev, "key rotated");
				v->prev_revoke_at = 0;
				ob_inv_put(o, v);
			}
		}
		ob_walk_free(&w);
	}
	ob_refresh_wg_apply(o, false);   /* the WireGuard timer applies it */
	ob_renew_root_cert(o);
	/* our own certificate: renew once two thirds of its life are over */
	struct cert_body cb;
	uint8_t parent[32];
	enum host_peer_state ps;
	uint64_t since;
	if (!o->cl && o->renew_backoff_ms && now_ms < o->renew_next_ms && ob_my_cert(o, &cb, parent) &&
	    host_peer_state(o->h, parent, &ps, &since) == 0 && ps == HOST_PEER_ALIVE &&
	    since > o->renew_failed_ms)
		o->renew_next_ms = now_ms;   /* the parent is back since our last try: now */
	if (!o->cl && now_ms >= o->renew_next_ms && ob_my_cert(o, &cb, parent)) {
		uint64_t life = cb.not_after > cb.not_before ? cb.not_after - cb.not_before : 0;
		if (now >= cb.not_before + life / 3 * 2) {
			char err[256];
			if (now > cb.not_after)
				log_warn("our certificate has expired (%llu s ago): asking the parent for a new one",
					 (unsigned long long)(now - cb.not_after));
			if (ob_client_start(o, JOIN_OP_RENEW, err, sizeof err) < 0) {
				snprintf(o->last_error, sizeof o->last_error, "%s", err);
				o->renew_next_ms = now_ms + RENEW_MIN_BACKOFF_MS;
			}
		}
	}
}

static struct json_object *onboard_status(void *st)
{
	struct onboard *o = st;
	struct json_object *j = json_object_new_object();
	struct cert_body cb;
	uint8_t parent[32];

	json_put_bool(j, "join_service", o->listening);
	json_put_int(j, "joined", (int64_t)o->st.joined);
	json_put_int(j, "pending", (int64_t)o->st.pending);
	json_put_int(j, "refused", (int64_t)o->st.refused);
	json_put_int(j, "forged", (int64_t)o->st.forged);
	json_put_int(j, "renewed", (int64_t)o->st.renewed);
	json_put_int(j, "rotated", (int64_t)o->st.rotated);
	json_put_int(j, "bad_requests", (int64_t)o->st.bad_requests);
	if (ob_my_cert(o, &cb, parent)) {
		char did[DID_KEY_MAX];
		did_key_encode(DID_ED25519, parent, did, sizeof did);
		json_put_str(j, "parent", did);
		json_put_int(j, "cert_not_after", (int64_t)cb.not_after);
	}
	if (o->rotation[0])
		json_put_str(j, "rotation", o->rotation);
	if (o->last_error[0])
		json_put_str(j, "last_error", o->last_error);
	return j;
}

/* ---- life ---- */

static void *onboard_start(struct mn_host *h, char *err, size_t errcap)
{
	const struct config *cfg = host_config(h);
	struct onboard *o = calloc(1, sizeof *o);
	struct sockaddr_storage sa;
	uv_loop_t *loop = host_loop(h);
	int rc;

	if (!o) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	o->h = h;
	o->loop = loop;
	if (host_wg(h) && cfg->mesh_addr[0]) {
		addr_mesh_sa(cfg->mesh_addr, oconf(o)->join_port, &sa);
		uv_tcp_init(loop, &o->srv);
		o->srv.data = o;
		if ((rc = uv_tcp_bind(&o->srv, (struct sockaddr *)&sa, 0)) < 0 ||
		    (rc = uv_listen((uv_stream_t *)&o->srv, 16, ob_on_conn)) < 0) {
			/* not fatal: a member without the service can still be one */
			snprintf(err, errcap, "join service on %s port %u: %s", cfg->mesh_addr,
				 oconf(o)->join_port, uv_strerror(rc));
			log_warn("%s (no invitations can be served)", err);
			uv_close((uv_handle_t *)&o->srv, NULL);
			ob_refresh_wg(o);
			return o;
		}
		o->listening = true;
	}
	ob_refresh_wg(o);
	return o;
}

static void onboard_stop(void *st)
{
	struct onboard *o = st;

	while (o->conns)
		ob_conn_close(o->conns);
	if (o->cl)
		ob_client_finish(o->cl, "stopping");
	if (o->listening)
		uv_close((uv_handle_t *)&o->srv, NULL);
	o->listening = false;
}

static void onboard_free(void *st)
{
	free(st);
}

/* ---- the subsystem ---- */

static int check_subnet(void *sect, char *val, char *msg, size_t cap)
{
	struct addrplan ap;

	(void)sect;
	if (addrplan_parse(val, &ap) < 0) {
		snprintf(msg, cap, "subnet: a CIDR such as 10.42.0.0/16 or fd42:4242::/64 (host bits zero)");
		return -EINVAL;
	}
	return 0;
}

#define F(f) CONF_FIELD(struct onboard_conf, f)
static const struct conf_opt onboard_opts[] = {
	{ "join_port", CONF_UINT, 0, F(join_port), .min = 1, .max = 65535, .def = "7333", .help = "1..65535" },
	{ "subnet", CONF_STR, 0, F(subnet), .def = ADDRPLAN_DEFAULT, .parse = check_subnet,
	  .help = "a CIDR such as 10.42.0.0/16 or fd42:4242::/64 (host bits zero)" },
	{ "cert_lifetime_s", CONF_U64, 0, F(cert_lifetime_s), .min = 3600, .max = 3650ull * 86400,
	  .def = "7776000", .help = "3600 (an hour) .. 315360000 (ten years)" },
};
#undef F

static const struct subsys_call onboard_calls[] = {
	{ "invite_create", onboard_invite_create,
	  (const struct subsys_arg[]){ { "name", json_type_string }, { "role", json_type_string }, { "ttl_s", json_type_int },
	    { "auto_approve", json_type_boolean }, { "zone", json_type_string }, { NULL, 0 } } },
	{ "invite_list", onboard_invite_list, (const struct subsys_arg[]){ { "state", json_type_string }, { NULL, 0 } } },
	{ "invite_revoke", onboard_invite_revoke,
	  (const struct subsys_arg[]){ { "invitation", json_type_string }, { NULL, 0 } } },
	{ "join_approve", onboard_join_approve, (const struct subsys_arg[]){ { "invitation", json_type_string }, { NULL, 0 } } },
	{ "join_reject", onboard_join_reject,
	  (const struct subsys_arg[]){ { "invitation", json_type_string }, { "reason", json_type_string }, { NULL, 0 } } },
	{ "key_rotate", onboard_key_rotate, (const struct subsys_arg[]){ { NULL, 0 } } },
	{ "cert_renew", onboard_renew, (const struct subsys_arg[]){ { NULL, 0 } } },
};

const struct subsys subsys_onboarding = {
	.name = "onboarding",
	.state_ns = NS,   /* invitations and the members we certified */
	.conf = { "onboarding", onboard_opts, sizeof onboard_opts / sizeof onboard_opts[0],
		  sizeof(struct onboard_conf), NULL, NULL },
	.calls = onboard_calls,
	.ncalls = sizeof onboard_calls / sizeof onboard_calls[0],
	.start = onboard_start,
	.tick = onboard_tick,
	.status = onboard_status,
	.stop = onboard_stop,
	.free = onboard_free,
};
