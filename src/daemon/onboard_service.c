/* Onboarding: the join service — joins, renewals and rotations
 * asked of us, over TCP on the mesh address (onboard_int.h). */
#include "src/daemon/onboard_int.h"

/* ---- the join service ---- */

static void refuse(struct join_resp *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(struct join_resp *r, const char *fmt, ...)
{
	va_list ap;

	r->status = JOIN_REFUSED;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof r->message, fmt, ap);
	va_end(ap);
}

static bool addr_is(const struct sockaddr_storage *sa, const char *addr)
{
	struct sockaddr_storage x;

	if (addr_mesh_sa(addr, 1, &x) < 0 || x.ss_family != sa->ss_family)
		return false;
	if (sa->ss_family == AF_INET)
		return !memcmp(&((const struct sockaddr_in *)sa)->sin_addr,
			       &((const struct sockaddr_in *)&x)->sin_addr, 4);
	return !memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
		       &((const struct sockaddr_in6 *)&x)->sin6_addr, 16);
}

static void do_join(struct onboard *o, struct jconn *cn, const struct join_req *q,
		    struct join_resp *r, struct join_chain *c)
{
	struct inv v;
	char err[256], did[DID_KEY_MAX];
	uint64_t now = now_s(o);

	if (ob_inv_get(o, q->invite, &v) < 0) {
		refuse(r, "unknown invitation %s (revoked and removed, or made by another node)", q->invite);
		return;
	}
	if (!addr_is(&cn->peer, v.addr)) {
		refuse(r, "invitation %s was not used through its own tunnel", v.id);
		return;
	}
	if (v.state != INV_USED && !join_req_check(q, v.secret)) {
		o->st.forged++;
		refuse(r, "the proof of the invitation secret is wrong: a forged or altered invitation");
		return;
	}
	did_key_encode(DID_ED25519, q->node, did, sizeof did);
	switch (v.state) {
	case INV_REVOKED:
		refuse(r, "invitation %s was revoked", v.id);
		return;
	case INV_REJECTED:
		refuse(r, "the join was rejected%s%s", v.reason[0] ? ": " : "", v.reason);
		return;
	case INV_USED:
		/* the same joiner again (our answer was lost): the same answer */
		if (memcmp(v.node, q->node, 32) || !join_req_check(q, NULL)) {
			refuse(r, "invitation %s was already used", v.id);
			return;
		}
		break;
	case INV_WAITING:
		if (memcmp(v.node, q->node, 32)) {
			refuse(r, "invitation %s is already being used by another node", v.id);
			return;
		}
		/* fall through */
	case INV_OPEN:
		if (now > v.expires) {
			refuse(r, "invitation %s expired", v.id);
			return;
		}
		if (!v.auto_approve) {
			if (v.state == INV_OPEN) {
				v.state = INV_WAITING;
				memcpy(v.node, q->node, 32);
				memcpy(v.wg, q->wg, 32);
				snprintf(v.node_name, sizeof v.node_name, "%s", q->name);
				if (ob_inv_put(o, &v) < 0) {
					refuse(r, "the master cannot record the request (store error)");
					return;
				}
				log_info("join request %s from %s (%s) waits for approval", v.id, q->name, did);
			}
			r->status = JOIN_PENDING;
			snprintf(r->message, sizeof r->message,
				 "waiting for approval: on %s run `mirrornetctl join approve %s`",
				 host_config(o->h)->name, v.id);
			o->st.pending++;
			return;
		}
		if (ob_issue(o, q->node, NULL, NULL, v.role, v.zone, v.addr, NULL, err, sizeof err) < 0) {
			refuse(r, "%s", err);
			return;
		}
		v.state = INV_USED;   /* the secret goes after SWAP_GRACE_S (ob_refresh_wg) */
		memcpy(v.node, q->node, 32);
		memcpy(v.first, q->node, 32);
		memcpy(v.wg, q->wg, 32);
		snprintf(v.node_name, sizeof v.node_name, "%s", q->name);
		if (ob_inv_put(o, &v) < 0) {
			refuse(r, "the master cannot record the join (store error)");
			return;
		}
		ob_refresh_wg(o);
		o->st.joined++;
		log_info("%s (%s) joined with invitation %s at %s", q->name, did, v.id, v.addr);
		break;
	}
	struct chain_result res;
	if (host_chain_records(o->h, q->node, c->rec, c->len, JOIN_MAX_CHAIN, &c->n, &res) < 0 ||
	    c->n == 0) {
		refuse(r, "the certificate was issued but its chain is not valid here; try again");
		return;
	}
	r->status = JOIN_OK;
	r->nrec = (uint8_t)c->n;
	snprintf(r->message, sizeof r->message, "welcome, %s", v.node_name);
	snprintf(cn->swap_id, sizeof cn->swap_id, "%s", v.id);
}

/* The member row for a key we certified (state used), by its current key. */
struct find_node {
	const uint8_t *pk;
	struct inv *out;
	bool found;
};

static int find_node_cb(void *ctx, const char *key, const uint8_t *val, size_t len)
{
	struct find_node *f = ctx;

	(void)key;
	if (schema_decode(&inv_schema, val, len, f->out) == 0 && f->out->state == INV_USED &&
	    !memcmp(f->out->node, f->pk, 32)) {
		f->found = true;
		return 1;
	}
	return 0;
}

static bool member_row(struct onboard *o, const uint8_t pk[32], struct inv *v)
{
	struct find_node f = { pk, v, false };

	host_state_each(o->h, find_node_cb, &f);
	return f.found;
}

static void do_renew(struct onboard *o, struct jconn *cn, const struct join_req *q,
		     struct join_resp *r, struct join_chain *c)
{
	struct inv v;
	char err[256], did[DID_KEY_MAX];
	uint64_t now = now_s(o);

	if (!join_req_check(q, NULL)) {
		o->st.forged++;
		refuse(r, "the request's signature is wrong");
		return;
	}
	if (q->time + CLOCK_SKEW_S < now || q->time > now + CLOCK_SKEW_S) {
		refuse(r, "the request is stale or from the future (check the clocks)");
		return;
	}
	if (!member_row(o, q->node, &v)) {
		refuse(r, "we never certified this key: renew with the node that did");
		return;
	}
	if (!addr_is(&cn->peer, v.addr)) {
		refuse(r, "the request did not come from the member's own mesh address");
		return;
	}
	if (host_is_revoked(o->h, q->node)) {
		refuse(r, "this node was revoked");
		return;
	}
	const uint8_t *subject = q->op == JOIN_OP_ROTATE ? q->new_node : q->node;
	if (q->op == JOIN_OP_ROTATE && host_is_revoked(o->h, q->new_node)) {
		refuse(r, "the new key was revoked");
		return;
	}
	if (ob_issue(o, subject, q->node, v.first, v.role, v.zone, v.addr, c, err, sizeof err) < 0) {
		refuse(r, "%s", err);
		return;
	}
	did_key_encode(DID_ED25519, subject, did, sizeof did);
	if (q->op == JOIN_OP_ROTATE) {
		memcpy(v.prev, v.node, 32);
		memcpy(v.prev_wg, v.wg, 32);
		memcpy(v.node, q->new_node, 32);
		memcpy(v.wg, q->new_wg, 32);
		v.prev_revoke_at = now + ROTATE_GRACE_S;
		snprintf(cn->swap_id, sizeof cn->swap_id, "%s", v.id);
		o->st.rotated++;
		log_info("%s rotated its key to %s", v.node_name, did);
	} else {
		memcpy(v.wg, q->wg, 32);
		o->st.renewed++;
		log_info("renewed the certificate of %s (%s)", v.node_name, did);
	}
	if (ob_inv_put(o, &v) < 0) {
		refuse(r, "the parent cannot record it (store error)");
		return;
	}
	ob_refresh_wg(o);
	r->status = JOIN_OK;
	r->nrec = (uint8_t)c->n;
	snprintf(r->message, sizeof r->message, "certificate renewed");
}

/* The requester has our answer (it acked): the temporary or old tunnel
 * can go now rather than after the grace. */
static void swap_now(struct onboard *o, const char *id)
{
	static const uint8_t zero[INVITE_SECRET_LEN];
	uint64_t now = now_s(o);
	struct inv v;

	if (ob_inv_get(o, id, &v) < 0 || v.state != INV_USED)
		return;
	if (memcmp(v.secret, zero, sizeof zero))
		crypto_wipe(v.secret, sizeof v.secret);
	else if (v.prev_revoke_at && now + ROTATE_GRACE_S < v.prev_revoke_at + SWAP_GRACE_S)
		v.prev_revoke_at = now + ROTATE_GRACE_S - SWAP_GRACE_S;
	else
		return;
	ob_inv_put(o, &v);
	crypto_wipe(&v, sizeof v);
	ob_refresh_wg(o);
}

static void conn_closed(uv_handle_t *h)
{
	struct jconn *cn = h->data;

	if (--cn->open_handles == 0) {
		free(cn->out);
		free(cn);
	}
}

void ob_conn_close(struct jconn *cn)
{
	struct onboard *o = cn->o;

	for (struct jconn **p = &o->conns; *p; p = &(*p)->next)
		if (*p == cn) {
			*p = cn->next;
			o->nconns--;
			break;
		}
	uv_close((uv_handle_t *)&cn->timer, conn_closed);
	uv_close((uv_handle_t *)&cn->tcp, conn_closed);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b);
static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);
static void conn_timeout(uv_timer_t *t);

static void conn_written(uv_write_t *w, int status)
{
	struct jconn *cn = w->data;

	/* a tunnel to swap: wait (bounded) for the requester's ack */
	if (status == 0 && cn->swap_id[0]) {
		cn->inlen = 0;
		cn->waiting_ack = true;
		uv_timer_start(&cn->timer, conn_timeout, CONN_TIMEOUT_MS, 0);
		if (uv_read_start((uv_stream_t *)&cn->tcp, conn_alloc, conn_read) == 0)
			return;
	}
	ob_conn_close(cn);
}

static void conn_answer(struct jconn *cn, const uint8_t *payload, size_t n)
{
	struct onboard *o = cn->o;
	struct join_req q;
	struct join_resp r;
	struct join_chain c;
	size_t outlen;

	memset(&r, 0, sizeof r);
	memset(&c, 0, sizeof c);
	r.v = INVITE_VERSION;
	memcpy(r.root, host_config(o->h)->root, 32);
	r.gossip_port = (uint16_t)host_config(o->h)->gossip_port;
	if (schema_decode(&join_req_schema, payload, n, &q) < 0) {
		o->st.bad_requests++;
		refuse(&r, "malformed request (another version?)");
	} else if (q.op == JOIN_OP_JOIN) {
		do_join(o, cn, &q, &r, &c);
	} else {
		do_renew(o, cn, &q, &r, &c);
	}
	if (r.status == JOIN_REFUSED) {
		o->st.refused++;
		r.nrec = 0;
		log_warn("join service: refused a %s request: %s",
			 q.op <= JOIN_OP_MAX ? join_op_names[q.op] : "bad", r.message);
	}
	cn->answered = true;
	if (!(cn->out = malloc(JOIN_MAX_ANSWER)) || join_resp_frames(&r, &c, cn->out, JOIN_MAX_ANSWER, &outlen) < 0) {
		ob_conn_close(cn);
		return;
	}
	uv_buf_t b = uv_buf_init((char *)cn->out, (unsigned)outlen);
	cn->wreq.data = cn;
	uv_read_stop((uv_stream_t *)&cn->tcp);
	if (uv_write(&cn->wreq, (uv_stream_t *)&cn->tcp, &b, 1, conn_written) < 0)
		ob_conn_close(cn);
}

static void conn_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct jconn *cn = h->data;

	(void)hint;
	*b = uv_buf_init((char *)cn->in + cn->inlen, (unsigned)(sizeof cn->in - cn->inlen));
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct jconn *cn = s->data;
	const uint8_t *p;
	size_t n, used;

	(void)b;
	if (nread == 0)
		return;
	if (cn->answered) {   /* the ack (any byte, or the end) */
		if (cn->swap_id[0])
			swap_now(cn->o, cn->swap_id);
		ob_conn_close(cn);
		return;
	}
	if (nread < 0) {
		ob_conn_close(cn);
		return;
	}
	cn->inlen += (size_t)nread;
	int rc = join_frame_get(cn->in, cn->inlen, &p, &n, &used);
	if (rc == -EAGAIN && cn->inlen < sizeof cn->in)
		return;
	if (rc < 0 || used != cn->inlen) {
		cn->o->st.bad_requests++;
		ob_conn_close(cn);
		return;
	}
	conn_answer(cn, p, n);
}

static void conn_timeout(uv_timer_t *t)
{
	struct jconn *cn = t->data;

	if (!cn->answered || cn->waiting_ack)
		ob_conn_close(cn);   /* (no ack: the grace period swaps the tunnel later) */
}

void ob_on_conn(uv_stream_t *srv, int status)
{
	struct onboard *o = srv->data;
	struct jconn *cn;
	int len = sizeof(struct sockaddr_storage);

	if (status < 0 || !(cn = calloc(1, sizeof *cn)))
		return;
	cn->o = o;
	uv_tcp_init(o->loop, &cn->tcp);
	uv_timer_init(o->loop, &cn->timer);
	cn->tcp.data = cn->timer.data = cn;
	cn->open_handles = 2;
	cn->next = o->conns;
	o->conns = cn;
	o->nconns++;
	if (uv_accept(srv, (uv_stream_t *)&cn->tcp) < 0 || o->nconns > MAX_CONNS ||
	    uv_tcp_getpeername(&cn->tcp, (struct sockaddr *)&cn->peer, &len) < 0) {
		ob_conn_close(cn);
		return;
	}
	uv_timer_start(&cn->timer, conn_timeout, CONN_TIMEOUT_MS, 0);
	uv_read_start((uv_stream_t *)&cn->tcp, conn_alloc, conn_read);
}
