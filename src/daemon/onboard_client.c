/* Onboarding: our own renewal and key rotation, as a client of
 * our parent (onboard_int.h): the request, and what its answer does (the
 * chain saved, the key rotated). The exchange on the wire is
 * src/onboard/joinclient.c's, on the daemon's loop. */
#include "src/daemon/onboard_int.h"
#include "src/body_json.h"

/* ---- our own renewal and rotation (as a client of our parent) ---- */

/* Our certificate: from the engine, else (expired and swept) the files
 * named in the configuration. The parent is its issuer. */
bool ob_my_cert(struct onboard *o, struct cert_body *cb, uint8_t parent[32])
{
	const struct config *cfg = host_config(o->h);
	const uint8_t *me = host_key(o->h)->pk;
	const uint8_t *wire[JOIN_MAX_CHAIN];
	size_t len[JOIN_MAX_CHAIN], n;
	struct chain_result g;
	struct record r;
	union body b;
	uint8_t id[32];
	bool found = false;

	/* the engine's valid chain (the usual case: no file read, no check) */
	if (host_chain_records(o->h, me, wire, len, JOIN_MAX_CHAIN, &n, &g) == 0 && n > 0 &&
	    record_decode(wire[n - 1], len[n - 1], &r, &b) == 0) {
		*cb = b.cert;
		memcpy(parent, r.origin, 32);
		return memcmp(parent, me, 32) != 0;
	}
	/* none valid now (expired while we were away): the files */
	for (size_t i = 0; i < cfg->ncerts; i++) {
		FILE *f = fopen(cfg->certs[i], "rb");
		uint8_t buf[MN_MAX_RECORD + 1];
		if (!f)
			continue;
		size_t k = fread(buf, 1, sizeof buf, f);
		fclose(f);
		if (record_decode(buf, k, &r, &b) == 0 && r.kind == KIND_CERT &&
		    !memcmp(b.cert.subject, me, 32) && record_verify(&r, id) == 0 &&
		    (!found || b.cert.not_after > cb->not_after)) {
			*cb = b.cert;
			memcpy(parent, r.origin, 32);
			found = true;
		}
	}
	return found && memcmp(parent, me, 32) != 0;
}

/* Write the new chain over the configured cert files, so that a restart
 * starts from it: file i gets link i when the counts match, else the last
 * file gets our own certificate. */
static void save_chain(struct onboard *o, const struct join_chain *c)
{
	const struct config *cfg = host_config(o->h);

	if (!cfg->ncerts)
		return;
	for (size_t i = 0; i < c->n; i++) {
		size_t fi = cfg->ncerts == c->n ? i : cfg->ncerts - 1;
		if (cfg->ncerts != c->n && i != c->n - 1)
			continue;
		char tmp[CONFIG_PATH_MAX + 8];
		snprintf(tmp, sizeof tmp, "%s.new", cfg->certs[fi]);
		FILE *f = fopen(tmp, "wb");
		if (!f || fwrite(c->rec[i], 1, c->len[i], f) != c->len[i] || fflush(f) || fsync(fileno(f))) {
			log_err("cannot write %s: %s", tmp, strerror(errno));
			if (f)
				fclose(f);
			unlink(tmp);
			continue;
		}
		fclose(f);
		if (rename(tmp, cfg->certs[fi]) < 0)
			log_err("cannot replace %s: %s", cfg->certs[fi], strerror(errno));
	}
}

static int key_path_save(const struct node_key *k, const char *path)
{
	char tmp[CONFIG_PATH_MAX + 8];
	int rc;

	snprintf(tmp, sizeof tmp, "%s.next", path);
	unlink(tmp);   /* a leftover of an attempt that failed */
	if ((rc = node_key_save(k, tmp)) < 0)
		return rc;
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return CRYPTO_ERR_IO;
	}
	return 0;
}

/* Our records under the old key, signed again by the new one (what the
 * engine regenerates itself — node and endpoint records — excepted). */
struct resign {
	struct onboard *o;
	const struct node_key *k;
	uint8_t (*wires)[MN_MAX_RECORD];
	size_t *lens;
	size_t n, cap;
};

static int resign_one(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct resign *rs = ctx;
	struct record nr;

	(void)id;
	if (memcmp(r->origin, host_key(rs->o->h)->pk, 32) || r->kind == KIND_NODE ||
	    r->kind == KIND_ENDPOINT || rs->n == rs->cap)
		return 0;
	if (record_init(&nr, r->kind, rs->k->pk, r->key, r->version, r->expires) < 0)
		return 0;
	nr.body = r->body;
	nr.body_len = r->body_len;
	if (record_sign(&nr, rs->k, rs->wires[rs->n], MN_MAX_RECORD) == 0)
		rs->lens[rs->n++] = nr.wire_len;
	return 0;
}

static void client_done(struct jclient *cl, const struct join_resp *r, const struct join_chain *c)
{
	struct onboard *o = cl->o;
	const struct node_key *me = host_key(o->h);
	const uint8_t *subject = cl->op == JOIN_OP_ROTATE ? cl->newkey.pk : me->pk;
	struct chain_result res;
	char err[256];

	if (r->status != JOIN_OK) {
		snprintf(o->last_error, sizeof o->last_error, "%s", r->message);
		cl->failed = true;
		return;
	}
	if (join_chain_verify(r, c, subject, cl->parent, now_s(o), &res, err, sizeof err) < 0) {
		snprintf(o->last_error, sizeof o->last_error, "the parent's answer: %s", err);
		cl->failed = true;
		return;
	}
	for (size_t i = 0; i < c->n; i++)
		host_insert(o->h, c->rec[i], c->len[i]);
	save_chain(o, c);
	o->last_error[0] = 0;
	o->renew_backoff_ms = 0;
	if (cl->op != JOIN_OP_ROTATE) {
		log_info("certificate renewed until %llu", (unsigned long long)res.not_after);
		host_chain_changed(o->h);
		return;
	}
	/* rotation: our records signed again by the new key, the new key in
	 * place of the old (atomic rename), then a restart with it */
	struct resign rs = { o, &cl->newkey, NULL, NULL, 0, 4096 };
	rs.wires = malloc(rs.cap * sizeof *rs.wires);
	rs.lens = malloc(rs.cap * sizeof *rs.lens);
	if (rs.wires && rs.lens)
		host_each(o->h, 0, host_key(o->h)->pk, resign_one, &rs);
	int rc = key_path_save(&cl->newkey, host_config(o->h)->key);
	if (rc < 0) {
		snprintf(o->last_error, sizeof o->last_error, "cannot write the new key to %s: %s",
			 host_config(o->h)->key, rc == CRYPTO_ERR_IO ? strerror(errno) : crypto_strerror(rc));
		snprintf(o->rotation, sizeof o->rotation, "failed");
		log_err("key rotation: %s", o->last_error);
	} else {
		for (size_t i = 0; i < rs.n; i++)
			host_insert(o->h, rs.wires[i], rs.lens[i]);
		char did[DID_KEY_MAX];
		did_key_encode(DID_ED25519, cl->newkey.pk, did, sizeof did);
		log_info("key rotated: now %s (%zu records signed again); restarting with it", did, rs.n);
		snprintf(o->rotation, sizeof o->rotation, "done");
		host_restart(o->h);
	}
	free(rs.wires);
	free(rs.lens);
}

/* The end of our request, whatever it was (cl no longer o->cl): after a
 * failure the backoff and the log line; then cl goes. */
static void client_end(struct onboard *o, struct jclient *cl, const char *why)
{
	if (why) {
		snprintf(o->last_error, sizeof o->last_error, "%s", why);
		cl->failed = true;
	}
	if (cl->failed) {
		/* an expired member has nothing better to do: from one tick, at
		 * most a minute (it started at 15 s: a parent that restarted a
		 * moment after us refused the first try, and the second came
		 * 15 s later, the third 45 s; docs/faults.md). A parent that
		 * comes back alive meanwhile is asked at once (onboard_tick). */
		struct cert_body cb;
		uint8_t parent[32];
		bool expired = ob_my_cert(o, &cb, parent) && now_s(o) > cb.not_after;
		uint64_t first = expired ? RENEW_EXPIRED_MIN_MS : RENEW_MIN_BACKOFF_MS;
		uint64_t cap = expired ? 60000 : RENEW_MAX_BACKOFF_MS;
		o->renew_backoff_ms = o->renew_backoff_ms ? o->renew_backoff_ms * 2 : first;
		if (o->renew_backoff_ms > cap)
			o->renew_backoff_ms = cap;
		o->renew_failed_ms = host_now_ms(o->h);
		o->renew_next_ms = o->renew_failed_ms + o->renew_backoff_ms;
		if (cl->op == JOIN_OP_ROTATE)
			snprintf(o->rotation, sizeof o->rotation, "failed");
		log_warn("%s with the parent failed: %s (next try in %llu s)",
			 cl->op == JOIN_OP_ROTATE ? "key rotation" : "certificate renewal", o->last_error,
			 (unsigned long long)o->renew_backoff_ms / 1000);
	}
	if (cl->jc)
		joinclient_cancel(cl->jc);
	node_key_wipe(&cl->newkey);
	free(cl);
}

void ob_client_finish(struct jclient *cl, const char *why)
{
	struct onboard *o = cl->o;

	if (o->cl != cl)
		return;
	o->cl = NULL;
	client_end(o, cl, why);
}

/* The exchange's end (joinclient.h): act on the parent's answer. */
static void client_answered(void *arg, int status, const uint8_t *ans, size_t len, const char *err)
{
	struct jclient *cl = arg;
	struct onboard *o = cl->o;
	struct join_resp r;
	struct join_chain c;
	char m[320];

	cl->jc = NULL;   /* it ends as we return */
	/* over: a restart from here (a rotation) finds nothing under way */
	o->cl = NULL;
	if (status == 0 && join_resp_parse(ans, len, &r, &c, m, sizeof m) == 0) {
		client_done(cl, &r, &c);
		client_end(o, cl, NULL);
		return;
	}
	if (status == UV_ETIMEDOUT)
		snprintf(m, sizeof m, "the parent did not answer in time");
	else if (status == UV_EOF)
		snprintf(m, sizeof m, "the parent's answer is incomplete");
	else if (status == UV_EPROTO)
		snprintf(m, sizeof m, "the parent's answer is malformed: %s", err);
	else if (status < 0)
		snprintf(m, sizeof m, "parent unreachable: %s", err);
	client_end(o, cl, m);
}

/* Ask our parent to renew our certificate, or to certify a new key. */
int ob_client_start(struct onboard *o, uint8_t op, char *err, size_t cap)
{
	const struct config *cfg = host_config(o->h);
	const struct node_key *me = host_key(o->h);
	struct wgsync *ws = host_wg(o->h);
	struct cert_body cb;
	struct sockaddr_storage sa;
	uint8_t req[JOIN_MAX_FRAME + 4];
	size_t reqlen;

	if (o->cl) {
		snprintf(err, cap, "a renewal or rotation is already under way");
		return -EALREADY;
	}
	struct jclient *cl = calloc(1, sizeof *cl);
	if (!cl)
		return -ENOMEM;
	if (!ob_my_cert(o, &cb, cl->parent)) {
		snprintf(err, cap, "no certificate from a parent (the root renews its own)");
		free(cl);
		return -EPERM;
	}
	if (!ws || !wgsync_gossip_addr(ws, cl->parent, &sa)) {
		snprintf(err, cap, "our parent's mesh address is unknown (WireGuard off, or no record of it)");
		free(cl);
		return -EPERM;
	}
	if (sa.ss_family == AF_INET)
		((struct sockaddr_in *)&sa)->sin_port = htons((uint16_t)oconf(o)->join_port);
	else
		((struct sockaddr_in6 *)&sa)->sin6_port = htons((uint16_t)oconf(o)->join_port);
	if (op == JOIN_OP_ROTATE)
		node_key_generate(&cl->newkey);
	if (join_req_build(op, me, op == JOIN_OP_ROTATE ? &cl->newkey : NULL, NULL, cfg->name,
			   now_s(o), req, sizeof req, &reqlen) < 0) {
		snprintf(err, cap, "cannot build the request");
		node_key_wipe(&cl->newkey);
		free(cl);
		return -EIO;
	}
	cl->o = o;
	cl->op = op;
	if (op == JOIN_OP_ROTATE)
		snprintf(o->rotation, sizeof o->rotation, "running");
	/* no grace after the ack: our WireGuard key changes only with the
	 * restart a rotation makes, well after it */
	struct joinclient_spec s = {
		.dst = &sa, .req = req, .reqlen = reqlen, .timeout_ms = CONN_TIMEOUT_MS,
		.done = client_answered, .arg = cl,
	};
	if (joinclient_start(o->loop, &s, &cl->jc) < 0) {
		client_end(o, cl, "cannot connect to the parent");
		snprintf(err, cap, "%s", o->last_error);
		return -EIO;
	}
	o->cl = cl;
	return 0;
}

static int start_json(struct onboard *o, uint8_t op, struct json_object **res, char *err,
		      size_t errcap)
{
	int rc = ob_client_start(o, op, err, errcap);
	char did[DID_KEY_MAX];

	if (rc < 0)
		return rc;
	*res = json_object_new_object();
	did_key_encode(DID_ED25519, o->cl->parent, did, sizeof did);
	json_put_bool(*res, "started", true);
	json_put_str(*res, "parent", did);
	return 0;
}

int onboard_key_rotate(void *st, struct json_object *req, struct json_object **res,
		       char *err, size_t errcap)
{
	struct onboard *o = st;
	(void)req;
	if (!memcmp(host_key(o->h)->pk, host_config(o->h)->root, 32)) {
		snprintf(err, errcap, "the mesh root's key is the mesh's identity: it does not rotate");
		return -EPERM;
	}
	return start_json(o, JOIN_OP_ROTATE, res, err, errcap);
}

int onboard_renew(void *st, struct json_object *req, struct json_object **res,
		  char *err, size_t errcap)
{
	struct onboard *o = st;
	(void)req;
	return start_json(o, JOIN_OP_RENEW, res, err, errcap);
}
