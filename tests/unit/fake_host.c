/* See fake_host.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tests/unit/fake_host.h"
#include "src/daemon/host_core.h"
#include "proto/body.h"
#include "proto/record.h"
#include "crypto/record_sig.h"
#include "crypto/chain.h"
#include "proto/hex.h"

void fake_host_init(struct mn_host *h, const struct subsys *s)
{
	memset(h, 0, sizeof *h);
	h->s = s;
	uv_loop_init(&h->loop);
	config_defaults(&h->cfg);
	if (s->conf.size <= sizeof h->conf)
		conf_defaults(&s->conf, h->conf);
	memset(h->self, 0x11, 32);
	h->now_ms = 1800000000000ull;
}

int fake_host_set(struct mn_host *h, const char *opt, const char *val)
{
	const struct conf_opt *o = conf_find(&h->s->conf, opt);
	char buf[1024], msg[256];

	if (!o)
		return -EINVAL;
	snprintf(buf, sizeof buf, "%s", val);
	return conf_set(&h->s->conf, h->conf, o, buf, msg, sizeof msg);
}

void fake_host_key(struct mn_host *h, const uint8_t seed[32])
{
	node_key_from_seed(&h->key, seed);
	memcpy(h->self, h->key.pk, 32);
	h->have_key = true;
}

void *fake_host_start(struct mn_host *h)
{
	char err[256] = "";

	h->st = h->s->start(h, err, sizeof err);
	if (!h->st)
		fprintf(stderr, "fake host: %s did not start: %s\n", h->s->name, err);
	return h->st;
}

static void tell(struct mn_host *h, size_t i, bool tomb)
{
	struct record r;
	union body *b = malloc(sizeof *b);

	if (!b || record_decode_envelope(h->rec[i].wire, h->rec[i].len, &r) < 0)
		goto out;
	if (h->st && h->s->record && r.kind < 32 && (h->s->kinds & (1u << r.kind)) &&
	    (tomb || body_decode(r.kind, r.body, r.body_len, b) == 0)) {
		struct rec_view v = { &r, tomb ? NULL : b, h->rec[i].id };
		h->s->record(h->st, &v);
	}
out:
	free(b);
}

int fake_host_add(struct mn_host *h, unsigned kind, const uint8_t origin[32], const char *key,
		  uint64_t version, const union body *body)
{
	uint8_t bb[1024];
	size_t blen = 0, i;
	struct record r;

	for (i = 0; i < FAKE_MAX_RECORDS && h->rec[i].used; i++) {
		struct record o;
		if (record_decode_envelope(h->rec[i].wire, h->rec[i].len, &o) == 0 && o.kind == kind &&
		    !memcmp(o.origin, origin, 32) && !strcmp(o.key, key))
			break;   /* a newer version replaces it */
	}
	if (i == FAKE_MAX_RECORDS || record_init(&r, kind, origin, key, version, 0) < 0 ||
	    (body && body_encode(kind, body, bb, sizeof bb, &blen) < 0))
		return -EINVAL;
	r.body = bb;
	r.body_len = body ? blen : 0;
	if (record_encode(&r, h->rec[i].wire, sizeof h->rec[i].wire) < 0)
		return -EINVAL;
	h->rec[i].len = r.wire_len;
	h->rec[i].used = true;
	record_id(&r, h->rec[i].id);
	tell(h, i, body == NULL);
	return (int)i;
}

void fake_host_revoke(struct mn_host *h, const uint8_t origin[32])
{
	if (h->nrevoked < 8)
		memcpy(h->revoked[h->nrevoked++], origin, 32);
	for (size_t i = 0; i < FAKE_MAX_RECORDS; i++) {
		struct record r;
		if (h->rec[i].used && record_decode_envelope(h->rec[i].wire, h->rec[i].len, &r) == 0 &&
		    !memcmp(r.origin, origin, 32))
			h->rec[i].used = false;
	}
	if (h->st && h->s->trust)
		h->s->trust(h->st, origin);
}

int fake_host_cert(struct mn_host *h, const uint8_t issuer[32], const uint8_t subject[32],
		   const char *scope, const char *addr)
{
	union body b;
	char key[65];

	memset(&b, 0, sizeof b);
	memcpy(b.cert.subject, subject, 32);
	b.cert.role = ROLE_SUBMASTER;
	b.cert.depth = 1;
	b.cert.max_depth = 4;
	snprintf(b.cert.dns_scope, sizeof b.cert.dns_scope, "%s", scope);
	snprintf(b.cert.mesh_addr, sizeof b.cert.mesh_addr, "%s", addr);
	b.cert.not_after = UINT64_MAX / 4;
	hex_encode(subject, 32, key);
	return fake_host_add(h, KIND_CERT, issuer, key, 1, &b);
}

void fake_host_regen(struct mn_host *h)
{
	if (h->st && h->s->regen.fn)
		h->s->regen.fn(h->st);
}

int fake_host_call(struct mn_host *h, const char *name, struct json_object *req,
		   struct json_object **res, char *err, size_t errcap)
{
	for (size_t i = 0; i < h->s->ncalls; i++)
		if (!strcmp(h->s->calls[i].name, name))
			return h->s->calls[i].fn(h->st, req, res, err, errcap);
	return -ENOSYS;
}

void fake_host_done(struct mn_host *h)
{
	if (h->st && h->s->stop)
		h->s->stop(h->st);
	uv_run(&h->loop, UV_RUN_NOWAIT);
	if (h->st && h->s->free)
		h->s->free(h->st);
	h->st = NULL;
	uv_loop_close(&h->loop);
}

/* ---- the host functions (subsys.h) ---- */

uv_loop_t *host_loop(struct mn_host *h) { return &h->loop; }
const void *host_conf(const struct mn_host *h) { return h->conf; }
const struct config *host_config(const struct mn_host *h) { return &h->cfg; }
const uint8_t *host_self(const struct mn_host *h) { return h->self; }
uint64_t host_now_ms(const struct mn_host *h) { return h->now_ms; }

int host_publish(struct mn_host *h, unsigned kind, const char *key, const union body *b,
		 uint64_t ttl_s, uint8_t id[32], int *perr)
{
	(void)ttl_s;
	(void)perr;
	int i = fake_host_add(h, kind, h->self, key, h->now_ms * 1000, b);
	if (i >= 0 && id)
		memcpy(id, h->rec[i].id, 32);
	return i < 0 ? i : 0;
}

int host_each(struct mn_host *h, uint32_t kinds, const uint8_t *origin,
	      int (*fn)(void *ctx, const struct record *r, const uint8_t id[32]), void *ctx)
{
	for (size_t i = 0; i < FAKE_MAX_RECORDS; i++) {
		struct record r;
		if (!h->rec[i].used || record_decode_envelope(h->rec[i].wire, h->rec[i].len, &r) < 0 ||
		    (kinds && !(kinds & KIND_BIT(r.kind))) ||
		    (origin && memcmp(r.origin, origin, 32) != 0))
			continue;
		int rc = fn(ctx, &r, h->rec[i].id);
		if (rc)
			return rc < 0 ? rc : 0;
	}
	return 0;
}

int host_find(struct mn_host *h, const uint8_t id[32],
	      int (*fn)(void *ctx, const struct record *r, const uint8_t id[32]), void *ctx)
{
	for (size_t i = 0; i < FAKE_MAX_RECORDS; i++) {
		struct record r;
		if (h->rec[i].used && !memcmp(h->rec[i].id, id, 32) &&
		    record_decode_envelope(h->rec[i].wire, h->rec[i].len, &r) == 0) {
			fn(ctx, &r, h->rec[i].id);
			return 0;
		}
	}
	return -ENOENT;
}

/* The cert record about subject (its slot), or -1. */
static int cert_of(struct mn_host *h, const uint8_t subject[32], union body *b)
{
	for (int i = 0; i < FAKE_MAX_RECORDS; i++) {
		struct record r;
		if (h->rec[i].used && record_decode_envelope(h->rec[i].wire, h->rec[i].len, &r) == 0 &&
		    r.kind == KIND_CERT && r.body_len &&
		    body_decode(KIND_CERT, r.body, r.body_len, b) == 0 && !memcmp(b->cert.subject, subject, 32))
			return i;
	}
	return -1;
}

static bool is_revoked(struct mn_host *h, const uint8_t pk[32])
{
	for (unsigned i = 0; i < h->nrevoked; i++)
		if (!memcmp(h->revoked[i], pk, 32))
			return true;
	return false;
}

int host_chain_records(struct mn_host *h, const uint8_t pk[32], const uint8_t **wire,
		       size_t *len, size_t cap, size_t *n, struct chain_result *res)
{
	int slots[16];
	size_t ns = 0;
	uint8_t cur[32];
	union body b;

	*n = 0;
	memset(res, 0, sizeof *res);
	memcpy(cur, pk, 32);
	while (memcmp(cur, h->cfg.root, 32) != 0) {
		struct record r;
		int i;
		if (is_revoked(h, cur))
			return -EACCES;
		if (ns == 16 || (i = cert_of(h, cur, &b)) < 0)
			return -ENOENT;
		if (ns == 0) {
			res->role = b.cert.role;
			res->depth = b.cert.depth;
			snprintf(res->dns_scope, sizeof res->dns_scope, "%s", b.cert.dns_scope);
			snprintf(res->mesh_addr, sizeof res->mesh_addr, "%s", b.cert.mesh_addr);
		}
		slots[ns++] = i;
		record_decode_envelope(h->rec[i].wire, h->rec[i].len, &r);
		memcpy(cur, r.origin, 32);
	}
	if (ns > cap)
		return -ENOSPC;
	for (size_t k = 0; k < ns; k++) {   /* root first */
		int i = slots[ns - 1 - k];
		wire[k] = h->rec[i].wire;
		len[k] = h->rec[i].len;
	}
	*n = ns;
	return 0;
}

int host_chain(struct mn_host *h, const uint8_t pk[32], struct chain_result *res)
{
	const uint8_t *wire[16];
	size_t len[16], n;

	return host_chain_records(h, pk, wire, len, 16, &n, res);
}

int host_name_owner(struct mn_host *h, const char *name, uint8_t pk[32])
{
	(void)h;
	(void)name;
	(void)pk;
	return -ENOENT;
}

int host_state_get(struct mn_host *h, const char *key, uint8_t *buf, size_t cap)
{
	for (size_t i = 0; i < FAKE_MAX_STATE; i++)
		if (h->state[i].used && !strcmp(h->state[i].key, key)) {
			if (h->state[i].len > cap)
				return -ENOSPC;
			memcpy(buf, h->state[i].val, h->state[i].len);
			return (int)h->state[i].len;
		}
	return -ENOENT;
}

int host_state_put(struct mn_host *h, const char *key, const uint8_t *val, size_t len)
{
	size_t free_slot = FAKE_MAX_STATE;

	if (strlen(key) >= 64 || len > sizeof h->state[0].val)
		return -ENOSPC;
	for (size_t i = 0; i < FAKE_MAX_STATE; i++) {
		if (h->state[i].used && !strcmp(h->state[i].key, key))
			free_slot = i;
		else if (!h->state[i].used && free_slot == FAKE_MAX_STATE)
			free_slot = i;
	}
	if (free_slot == FAKE_MAX_STATE)
		return -ENOSPC;
	snprintf(h->state[free_slot].key, sizeof h->state[free_slot].key, "%s", key);
	memcpy(h->state[free_slot].val, val, len);
	h->state[free_slot].len = len;
	h->state[free_slot].used = true;
	return 0;
}

int host_state_del(struct mn_host *h, const char *key)
{
	for (size_t i = 0; i < FAKE_MAX_STATE; i++)
		if (h->state[i].used && !strcmp(h->state[i].key, key)) {
			h->state[i].used = false;
			return 0;
		}
	return -ENOENT;
}

int host_state_begin(struct mn_host *h) { (void)h; return 0; }
int host_state_commit(struct mn_host *h) { (void)h; return 0; }

void host_dirty(struct mn_host *h)
{
	h->dirty++;
}

int host_run(struct mn_host *h, const char *cmd, unsigned timeout_ms,
	     void (*done)(void *st, bool ok, const char *status, uint64_t ms))
{
	(void)timeout_ms;
	h->runs++;
	snprintf(h->last_cmd, sizeof h->last_cmd, "%s", cmd);
	done(h->st, !h->run_fails, h->run_fails ? "failed: exit status 1" : "ok", 0);
	return 0;
}


bool host_is_revoked(struct mn_host *h, const uint8_t pk[32])
{
	return is_revoked(h, pk);
}

void fake_host_peer(struct mn_host *h, const uint8_t pk[32], enum host_peer_state st,
		    uint64_t since_ms)
{
	unsigned i;

	for (i = 0; i < h->npeers && memcmp(h->peers[i].pk, pk, 32); i++)
		;
	if (i == 16)
		return;
	if (i == h->npeers)
		h->npeers++;
	memcpy(h->peers[i].pk, pk, 32);
	h->peers[i].st = st;
	h->peers[i].since = since_ms;
}

int host_peer_state(struct mn_host *h, const uint8_t pk[32], enum host_peer_state *st,
		    uint64_t *since_ms)
{
	for (unsigned i = 0; i < h->npeers; i++)
		if (!memcmp(h->peers[i].pk, pk, 32)) {
			*st = h->peers[i].st;
			*since_ms = h->peers[i].since;
			return 0;
		}
	return -ENOENT;
}

int host_state_each(struct mn_host *h,
		    int (*fn)(void *ctx, const char *key, const uint8_t *val, size_t len), void *ctx)
{
	for (size_t i = 0; i < FAKE_MAX_STATE; i++)
		if (h->state[i].used && fn(ctx, h->state[i].key, h->state[i].val, h->state[i].len))
			break;
	return 0;
}

const char *host_state_error(struct mn_host *h)
{
	(void)h;
	return "fake state table";
}

/* host_core.h: the core's own subsystems are tested with the daemon
 * (tests/netns/test_onboard.sh); here they are only linked */
const struct node_key *host_key(const struct mn_host *h) { return h->have_key ? &h->key : NULL; }
struct wgsync *host_wg(struct mn_host *h) { (void)h; return NULL; }
int host_wg_apply(struct mn_host *h) { (void)h; return 0; }
int host_insert(struct mn_host *h, const uint8_t *wire, size_t len)
{
	(void)h;
	(void)wire;
	(void)len;
	return -ENOSYS;
}
void host_chain_changed(struct mn_host *h) { (void)h; }
void host_restart(struct mn_host *h) { (void)h; }
