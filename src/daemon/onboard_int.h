/* Onboarding, the daemon's core subsystem (docs/onboarding.md): what its
 * files share. As an issuer (the root master, or a sub-master within its
 * depth): invitations (each with a reserved mesh address and a temporary
 * WireGuard key allowed at that address), the join service on the mesh
 * address (join_port, TCP, inside the tunnel) that turns a proven
 * invitation into a certificate — at once or after `join approve` — and the
 * registry of the members it certified, which it renews and whose key
 * rotations it certifies; all of it in the host's state table (namespace
 * "invite"), so a restart loses no invitation and no pending join. As a
 * member: its own certificate is renewed by its parent once two thirds of
 * its life have passed, and `key rotate` asks the parent to certify a new
 * key signed by the old one.
 *
 *   onboard.c          the subsystem: periodic work, status, start and stop, options, API table
 *   onboard_inv.c      invitations: the rows (the host state table, namespace "invite") and their API calls
 *   onboard_issue.c    issuing: addresses from the plan, certificates, renewing the root's, revoking rotated keys, the WireGuard peers we vouch for
 *   onboard_service.c  the join service: joins, renewals and rotations asked of us, over TCP on the mesh address
 *   onboard_client.c   our own renewal and key rotation, as a client of our parent (the
 *                      exchange itself: src/onboard/joinclient.c, shared with mirrornetctl join)
 */
#ifndef MN_ONBOARD_INT_H
#define MN_ONBOARD_INT_H
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "src/daemon/subsys.h"
#include "src/daemon/host_core.h"
#include "src/daemon/config.h"
#include "src/daemon/wgsync.h"
#include "src/addrplan.h"
#include "src/join_msg.h"
#include "src/onboard/joinclient.h"
#include "src/log.h"
#include "crypto/chain.h"
#include "crypto/crypto.h"
#include "crypto/did.h"
#include "crypto/invite.h"
#include "crypto/key.h"
#include "crypto/record_sig.h"
#include "proto/hex.h"
#include "proto/proto_err.h"

#define NS "invite"
#define MAX_ROWS 10000
#define MAX_CONNS 16
#define CONN_TIMEOUT_MS 10000
#define ROTATE_GRACE_S 60          /* the old key is revoked this long after a rotation */
#define SWAP_GRACE_S 20            /* a new member keeps its temporary WireGuard key this long:
				      our answer must still reach it through that tunnel */
#define CLOCK_SKEW_S 600           /* renew/rotate requests: freshness window */
#define RENEW_MIN_BACKOFF_MS 15000
#define RENEW_EXPIRED_MIN_MS 5000    /* the first retry of an expired member (one tick) */
#define RENEW_MAX_BACKOFF_MS 3600000

enum inv_state { INV_OPEN, INV_WAITING, INV_USED, INV_REJECTED, INV_REVOKED };
#define INV_STATE_MAX INV_REVOKED
extern const char *const inv_state_names[];
extern const struct schema inv_schema;   /* a row's encoding in the state table */

/* One invitation, and afterwards the member it made (state used). */
struct inv {
	char id[INVITE_ID_LEN + 1];
	uint8_t secret[INVITE_SECRET_LEN];      /* zeroed once used */
	char name[MN_MAX_NAME + 1];
	uint8_t role;
	char zone[MN_MAX_DOMAIN + 1];
	char addr[MN_MAX_ADDR + 1];             /* with /prefix */
	uint64_t created, expires, updated;
	uint8_t state;
	bool auto_approve;
	uint8_t node[32], wg[32];               /* the joiner (waiting, used) */
	char node_name[MN_MAX_NAME + 1];
	char reason[MN_MAX_TEXT + 1];
	uint8_t prev[32];                       /* its key before the last rotation */
	uint8_t prev_wg[32];                    /* and that key's WireGuard key */
	uint8_t first[32];                      /* its first key: its node id for good */
	uint64_t prev_revoke_at;                /* unix s; 0 = nothing due */
};

struct jconn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wreq;
	struct onboard *o;
	struct jconn *next;
	struct sockaddr_storage peer;
	uint8_t in[JOIN_MAX_FRAME + 4];
	size_t inlen;
	uint8_t *out;
	bool answered;
	char swap_id[INVITE_ID_LEN + 1];   /* a tunnel to swap once the requester acks */
	bool waiting_ack;
	int open_handles;
};

/* Our own request to our parent: renew or rotate (the exchange itself:
 * src/onboard/joinclient.h). */
struct jclient {
	struct joinclient *jc;                  /* under way; NULL once it ended */
	struct onboard *o;
	uint8_t op;
	uint8_t parent[32];
	struct node_key newkey;                 /* rotation */
	bool failed;
};

/* Its options (docs/config.md). */
struct onboard_conf {
	unsigned join_port;            /* our join service, on the mesh address */
	char subnet[MN_MAX_ADDR + 1];  /* the mesh address plan we hand addresses from */
	uint64_t cert_lifetime_s;      /* of the certificates we issue */
};

struct onboard {
	struct mn_host *h;
	uv_loop_t *loop;
	uv_tcp_t srv;
	bool listening;
	struct jconn *conns;
	unsigned nconns;
	struct jclient *cl;
	uint64_t renew_next_ms, renew_backoff_ms;
	uint64_t renew_failed_ms;                /* when the last renewal/rotation failed */
	char last_error[512];                   /* of our last renewal/rotation */
	char rotation[16];                      /* "", "running", "failed" */
	struct {
		uint64_t joined, pending, refused, forged, renewed, rotated, bad_requests;
	} st;
};

struct walk {
	struct inv *rows;
	size_t n, cap;
};

static inline const struct onboard_conf *oconf(const struct onboard *o)
{
	return host_conf(o->h);
}

static inline uint64_t now_s(const struct onboard *o)
{
	return host_now_ms(o->h) / 1000;
}


/* onboard_inv.c */
int ob_inv_all(struct onboard *o, struct walk *w);
int ob_inv_get(struct onboard *o, const char *id, struct inv *v);
bool ob_inv_live(const struct inv *v, uint64_t now);
int ob_inv_put(struct onboard *o, struct inv *v);
int onboard_invite_create(void *st, struct json_object *req, struct json_object **res,
			  char *err, size_t errcap);
int onboard_invite_list(void *st, struct json_object *req, struct json_object **res,
			char *err, size_t errcap);
int onboard_invite_revoke(void *st, struct json_object *req, struct json_object **res,
			  char *err, size_t errcap);
int onboard_join_approve(void *st, struct json_object *req, struct json_object **res,
			 char *err, size_t errcap);
int onboard_join_reject(void *st, struct json_object *req, struct json_object **res,
			char *err, size_t errcap);
void ob_strip_prefix(const char *in, char *out, size_t cap);
void ob_walk_free(struct walk *w);

/* onboard_issue.c */
int ob_issue(struct onboard *o, const uint8_t subject[32], const uint8_t *prev,
		 const uint8_t *node_id, uint8_t role, const char *zone, const char *addr,
		 struct join_chain *c, char *err, size_t cap);
int ob_my_grant(struct onboard *o, struct chain_result *g, char *err, size_t cap);
int ob_pick_addr(struct onboard *o, const struct walk *w, const uint8_t secret[32], bool root,
		     char *out, size_t cap, char *err, size_t errcap);
void ob_refresh_wg(struct onboard *o);
void ob_refresh_wg_apply(struct onboard *o, bool apply);
void ob_renew_root_cert(struct onboard *o);
void ob_revoke_key(struct onboard *o, const uint8_t subject[32], const char *reason);

/* onboard_service.c */
void ob_conn_close(struct jconn *cn);
void ob_on_conn(uv_stream_t *srv, int status);

/* onboard_client.c */
void ob_client_finish(struct jclient *cl, const char *why);
int ob_client_start(struct onboard *o, uint8_t op, char *err, size_t cap);
bool ob_my_cert(struct onboard *o, struct cert_body *cb, uint8_t parent[32]);
int onboard_key_rotate(void *st, struct json_object *req, struct json_object **res,
		       char *err, size_t errcap);
int onboard_renew(void *st, struct json_object *req, struct json_object **res,
		  char *err, size_t errcap);

extern const struct subsys subsys_onboarding;

#endif
