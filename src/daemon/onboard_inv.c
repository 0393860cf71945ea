/* Onboarding: invitations — the rows (the host state table,
 * namespace "invite") and their API calls (onboard_int.h). */
#include "src/daemon/onboard_int.h"
#include "src/body_json.h"

const char *const inv_state_names[] = { "open", "waiting", "used", "rejected", "revoked",
					       NULL };

static const struct schema_field inv_f[] = {
	SF_S(struct inv, id, 1),
	SF_K(struct inv, secret),
	SF_S(struct inv, name, 0),
	SF_E(struct inv, role, ROLE_MAX, role_names),
	SF_S(struct inv, zone, 0),
	SF_S(struct inv, addr, 1),
	SF_U(struct inv, created, UINT64_MAX),
	SF_U(struct inv, expires, UINT64_MAX),
	SF_U(struct inv, updated, UINT64_MAX),
	SF_E(struct inv, state, INV_STATE_MAX, inv_state_names),
	SF_B(struct inv, auto_approve),
	SF_K(struct inv, node),
	SF_K(struct inv, wg),
	SF_S(struct inv, node_name, 0),
	SF_S(struct inv, reason, 0),
	SF_K(struct inv, prev),
	SF_K(struct inv, prev_wg),
	SF_K(struct inv, first),
	SF_U(struct inv, prev_revoke_at, UINT64_MAX),
};
const struct schema inv_schema = SCHEMA(struct inv, "invitation_row", inv_f, NULL);

/* ---- the rows ---- */

int ob_inv_get(struct onboard *o, const char *id, struct inv *v)
{
	uint8_t buf[2048];
	int n = host_state_get(o->h, id, buf, sizeof buf);

	if (n < 0)
		return n;
	return schema_decode(&inv_schema, buf, (size_t)n, v) < 0 ? -EILSEQ : 0;
}

int ob_inv_put(struct onboard *o, struct inv *v)
{
	uint8_t buf[2048];
	size_t n;

	v->updated = now_s(o);
	if (schema_encode(&inv_schema, v, buf, sizeof buf, &n) < 0)
		return -EINVAL;
	int rc = host_state_put(o->h, v->id, buf, n);
	crypto_wipe(buf, sizeof buf);
	return rc;
}


static int walk_one(void *ctx, const char *key, const uint8_t *val, size_t len)
{
	struct walk *w = ctx;

	(void)key;
	if (w->n == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 16;
		struct inv *r;
		if (nc > MAX_ROWS)
			return 1;
		if (!(r = realloc(w->rows, nc * sizeof *r)))
			return -ENOMEM;
		w->rows = r;
		w->cap = nc;
	}
	if (schema_decode(&inv_schema, val, len, &w->rows[w->n]) == 0)
		w->n++;
	return 0;
}

/* Every row, in id order (caller frees w->rows, after wiping). */
int ob_inv_all(struct onboard *o, struct walk *w)
{
	memset(w, 0, sizeof *w);
	int rc = host_state_each(o->h, walk_one, w);
	return rc < 0 ? rc : 0;
}

void ob_walk_free(struct walk *w)
{
	if (w->rows)
		crypto_wipe(w->rows, w->cap * sizeof *w->rows);
	free(w->rows);
	w->rows = NULL;
}

bool ob_inv_live(const struct inv *v, uint64_t now)
{
	return (v->state == INV_OPEN || v->state == INV_WAITING) && now <= v->expires;
}

void ob_strip_prefix(const char *in, char *out, size_t cap)
{
	snprintf(out, cap, "%.*s", (int)strcspn(in, "/"), in);
}


/* ---- API ---- */

static struct json_object *inv_json(const struct inv *v, uint64_t now)
{
	struct json_object *j = json_object_new_object();
	static const uint8_t zero[32];
	char did[DID_KEY_MAX];

	json_put_str(j, "id", v->id);
	json_put_str(j, "name", v->name);
	json_put_str(j, "role", role_names[v->role]);
	json_put_str(j, "zone", v->zone);
	json_put_str(j, "addr", v->addr);
	bool expired = (v->state == INV_OPEN || v->state == INV_WAITING) && now > v->expires;
	json_object_object_add(j, "state", json_object_new_string(expired ? "expired" :
								    inv_state_names[v->state]));
	json_put_bool(j, "auto_approve", v->auto_approve);
	json_put_int(j, "created", (int64_t)v->created);
	json_put_int(j, "expires", (int64_t)v->expires);
	json_put_int(j, "updated", (int64_t)v->updated);
	if (memcmp(v->node, zero, 32)) {
		did_key_encode(DID_ED25519, v->node, did, sizeof did);
		json_put_str(j, "node", did);
		json_put_str(j, "node_name", v->node_name);
	}
	if (v->reason[0])
		json_put_str(j, "reason", v->reason);
	return j;
}

int onboard_invite_create(void *st, struct json_object *req, struct json_object **res,
			  char *err, size_t errcap)
{
	struct onboard *o = st;
	const struct config *cfg = host_config(o->h);
	const char *name = json_get_str(req, "name"), *role = json_get_str(req, "role"), *zone = json_get_str(req, "zone");
	struct json_object *jv;
	struct chain_result g;
	struct inv v;
	struct walk w;
	int64_t ttl = 86400;
	int rc;

	if (!name || !dns_name_valid(name, false) || strchr(name, '.')) {
		snprintf(err, errcap, "name: a DNS label (letters, digits, '-'), e.g. node7");
		return -EINVAL;
	}
	if (json_object_object_get_ex(req, "ttl_s", &jv)) {
		ttl = json_object_get_int64(jv);
		if (ttl < 60 || ttl > 30 * 86400) {
			snprintf(err, errcap, "ttl: from a minute to 30 days");
			return -EINVAL;
		}
	}
	memset(&v, 0, sizeof v);
	v.role = ROLE_PEER;
	if (role && !strcmp(role, "sub-master"))
		v.role = ROLE_SUBMASTER;
	else if (role && strcmp(role, "peer")) {
		snprintf(err, errcap, "role: peer or sub-master");
		return -EINVAL;
	}
	if (!host_wg(o->h) || !cfg->wg_endpoint[0]) {
		snprintf(err, errcap, "invitations need WireGuard with wg_endpoint set (where the joiner "
			 "reaches us)");
		return -EPERM;
	}
	if ((rc = ob_my_grant(o, &g, err, errcap)) < 0)
		return rc;
	if (v.role == ROLE_SUBMASTER && g.depth + 1 >= g.max_depth) {
		snprintf(err, errcap, "a sub-master at depth %u could not invite anyone (max_depth %u)",
			 g.depth + 1, g.max_depth);
		return -EPERM;
	}
	/* DNS scope: as asked (inside ours), else <name>.<our scope> */
	if (zone) {
		if (zone[0] && (!dns_name_valid(zone, false) || !dns_scope_contains(g.dns_scope, zone) ||
				!strcmp(zone, g.dns_scope))) {
			snprintf(err, errcap, "zone: must lie strictly inside our scope '%s'", g.dns_scope);
			return -EINVAL;
		}
		snprintf(v.zone, sizeof v.zone, "%s", zone);
	} else if (g.dns_scope[0]) {
		if (snprintf(v.zone, sizeof v.zone, "%s.%s", name, g.dns_scope) >= (int)sizeof v.zone) {
			snprintf(err, errcap, "zone %s.%s: too long", name, g.dns_scope);
			return -EINVAL;
		}
	}
	json_object_object_get_ex(req, "auto_approve", &jv);
	v.auto_approve = jv && json_object_get_boolean(jv);
	snprintf(v.name, sizeof v.name, "%s", name);
	crypto_random(v.secret, sizeof v.secret);
	invite_id(v.secret, v.id);
	v.created = now_s(o);
	v.expires = v.created + (uint64_t)ttl;
	v.state = INV_OPEN;
	if ((rc = ob_inv_all(o, &w)) < 0) {
		snprintf(err, errcap, "store: %s", host_state_error(o->h));
		return -EIO;
	}
	if (w.n >= MAX_ROWS) {
		ob_walk_free(&w);
		snprintf(err, errcap, "too many invitations kept (%d): revoke old ones", MAX_ROWS);
		return -ENOSPC;
	}
	rc = ob_pick_addr(o, &w, v.secret, !memcmp(host_key(o->h)->pk, cfg->root, 32), v.addr,
		       sizeof v.addr, err, errcap);
	ob_walk_free(&w);
	if (rc < 0)
		return rc;
	/* the token */
	struct invite_token t;
	uint8_t priv[32];
	memset(&t, 0, sizeof t);
	t.v = INVITE_VERSION;
	t.role = v.role;
	snprintf(t.name, sizeof t.name, "%s", v.name);
	memcpy(t.secret, v.secret, 32);
	memcpy(t.inviter, host_key(o->h)->pk, 32);
	node_key_wireguard(host_key(o->h), priv, t.inviter_wg);
	crypto_wipe(priv, sizeof priv);
	t.expires = v.expires;
	snprintf(t.addr, sizeof t.addr, "%s", v.addr);
	ob_strip_prefix(cfg->mesh_addr, t.inviter_addr, sizeof t.inviter_addr);
	t.port = (uint16_t)oconf(o)->join_port;
	snprintf(t.endpoint, sizeof t.endpoint, "%s", cfg->wg_endpoint);
	char text[INVITE_TEXT_MAX + 32];
	rc = invite_token_format(&t, text, sizeof text);
	crypto_wipe(&t, sizeof t);
	if (rc < 0) {
		snprintf(err, errcap, "the invitation does not encode (endpoint too long?)");
		crypto_wipe(&v, sizeof v);
		return -EINVAL;
	}
	if (ob_inv_put(o, &v) < 0) {
		snprintf(err, errcap, "store: %s", host_state_error(o->h));
		crypto_wipe(&v, sizeof v);
		crypto_wipe(text, sizeof text);
		return -EIO;
	}
	ob_refresh_wg(o);
	*res = inv_json(&v, now_s(o));
	json_put_str(*res, "token", text);
	crypto_wipe(text, sizeof text);
	crypto_wipe(&v, sizeof v);
	log_info("invitation %s for %s created", json_object_get_string(json_object_object_get(*res, "id")),
		 name);
	return 0;
}

int onboard_invite_list(void *st, struct json_object *req, struct json_object **res,
			char *err, size_t errcap)
{
	struct onboard *o = st;
	struct walk w;
	const char *state = json_get_str(req, "state");
	uint64_t now = now_s(o);

	if (ob_inv_all(o, &w) < 0) {
		snprintf(err, errcap, "store: %s", host_state_error(o->h));
		return -EIO;
	}
	*res = json_object_new_array();
	for (size_t i = 0; i < w.n; i++) {
		struct json_object *j = inv_json(&w.rows[i], now);
		const char *s = json_object_get_string(json_object_object_get(j, "state"));
		if (state && strcmp(state, s)) {
			json_object_put(j);
			continue;
		}
		json_object_array_add(*res, j);
	}
	ob_walk_free(&w);
	return 0;
}

static int get_row(struct onboard *o, struct json_object *req, struct inv *v, char *err,
		   size_t errcap)
{
	const char *id = json_get_str(req, "invitation");

	if (!id || strlen(id) != INVITE_ID_LEN) {
		snprintf(err, errcap, "invitation: its id (%d hex digits, see `invite list`)",
			 INVITE_ID_LEN);
		return -EINVAL;
	}
	int rc = ob_inv_get(o, id, v);
	if (rc == -ENOENT)
		snprintf(err, errcap, "no invitation %s", id);
	else if (rc < 0)
		snprintf(err, errcap, "store: %s", host_state_error(o->h));
	return rc == -ENOENT ? -ENOENT : rc < 0 ? -EIO : 0;
}

int onboard_invite_revoke(void *st, struct json_object *req, struct json_object **res,
			  char *err, size_t errcap)
{
	struct onboard *o = st;
	struct inv v;
	int rc;

	if ((rc = get_row(o, req, &v, err, errcap)) < 0)
		return rc;
	if (v.state == INV_USED) {
		snprintf(err, errcap, "invitation %s was used: revoke the node instead "
			 "(`mirrornetctl revoke NODE`)", v.id);
		return -EALREADY;
	}
	v.state = INV_REVOKED;
	crypto_wipe(v.secret, sizeof v.secret);
	if (ob_inv_put(o, &v) < 0) {
		snprintf(err, errcap, "store: %s", host_state_error(o->h));
		return -EIO;
	}
	ob_refresh_wg(o);
	*res = inv_json(&v, now_s(o));
	return 0;
}

int onboard_join_approve(void *st, struct json_object *req, struct json_object **res,
			 char *err, size_t errcap)
{
	struct onboard *o = st;
	struct inv v;
	int rc;

	if ((rc = get_row(o, req, &v, err, errcap)) < 0)
		return rc;
	if (v.state != INV_WAITING) {
		snprintf(err, errcap, "invitation %s has no join waiting (it is %s)", v.id,
			 inv_state_names[v.state]);
		return -EALREADY;
	}
	if (now_s(o) > v.expires) {
		snprintf(err, errcap, "invitation %s expired; make a new one", v.id);
		return -EALREADY;
	}
	if ((rc = ob_issue(o, v.node, NULL, NULL, v.role, v.zone, v.addr, NULL, err, errcap)) < 0)
		return rc;
	v.state = INV_USED;   /* the secret goes after SWAP_GRACE_S (ob_refresh_wg) */
	memcpy(v.first, v.node, 32);
	if (ob_inv_put(o, &v) < 0) {
		snprintf(err, errcap, "store: %s", host_state_error(o->h));
		return -EIO;
	}
	ob_refresh_wg(o);
	o->st.joined++;
	*res = inv_json(&v, now_s(o));
	return 0;
}

int onboard_join_reject(void *st, struct json_object *req, struct json_object **res,
			char *err, size_t errcap)
{
	struct onboard *o = st;
	const char *reason = json_get_str(req, "reason");
	struct inv v;
	int rc;

	if ((rc = get_row(o, req, &v, err, errcap)) < 0)
		return rc;
	if (v.state != INV_WAITING && v.state != INV_OPEN) {
		snprintf(err, errcap, "invitation %s is %s: nothing to reject", v.id,
			 inv_state_names[v.state]);
		return -EALREADY;
	}
	if (reason && strlen(reason) > MN_MAX_TEXT) {
		snprintf(err, errcap, "reason: at most %d bytes", MN_MAX_TEXT);
		return -EINVAL;
	}
	v.state = INV_REJECTED;   /* the secret goes after SWAP_GRACE_S (ob_refresh_wg) */
	snprintf(v.reason, sizeof v.reason, "%s", reason ? reason : "");
	if (ob_inv_put(o, &v) < 0) {
		snprintf(err, errcap, "store: %s", host_state_error(o->h));
		return -EIO;
	}
	ob_refresh_wg(o);
	*res = inv_json(&v, now_s(o));
	return 0;
}
