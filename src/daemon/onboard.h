/* Onboarding inside the daemon (docs/onboarding.md).
 *
 * As an issuer (the root master, or a sub-master within its depth):
 * invitations (each with a reserved mesh address and a temporary
 * WireGuard key allowed at that address), the join service on the mesh
 * address (join_port, TCP, inside the tunnel) that turns a proven
 * invitation into a certificate — at once or after `join approve` — and
 * the registry of the members it certified, which it renews and whose key
 * rotations it certifies. All of it persists in the store's state table
 * (namespace "invite"), so a restart loses no invitation and no pending
 * join.
 *
 * As a member: its own certificate is renewed by its parent once two
 * thirds of its life have passed (also after a month offline, expired or
 * not, as long as it was not revoked), and `key rotate` asks the parent
 * to certify a new key signed by the old one. */
#ifndef MN_ONBOARD_H
#define MN_ONBOARD_H
#include <stdint.h>
#include <json-c/json.h>
#include <uv.h>

struct daemon;
struct onboard;

/* Start (the join service listens when WireGuard is on). NULL + err. */
struct onboard *onboard_new(struct daemon *d, uv_loop_t *loop, char *err, size_t errcap);
/* Stop listening and drop connections (handles close with the loop). */
void onboard_close(struct onboard *o);
void onboard_free(struct onboard *o);
/* Periodic work: expiries, due revocations of rotated keys, the WireGuard
 * peers we vouch for, our own renewal. */
void onboard_tick(struct onboard *o, uint64_t now_ms);
/* Status counters (a new object). */
struct json_object *onboard_status(struct onboard *o);

/* API calls: 0 with *res (new), or a negative errno with a message:
 * -EINVAL bad argument, -EPERM not allowed here, -ENOENT unknown id,
 * -EALREADY wrong state, -EIO store failure. */
int onboard_invite_create(struct onboard *o, struct json_object *req, struct json_object **res,
			  char *err, size_t errcap);
int onboard_invite_list(struct onboard *o, struct json_object *req, struct json_object **res,
			char *err, size_t errcap);
int onboard_invite_revoke(struct onboard *o, struct json_object *req, struct json_object **res,
			  char *err, size_t errcap);
int onboard_join_approve(struct onboard *o, struct json_object *req, struct json_object **res,
			 char *err, size_t errcap);
int onboard_join_reject(struct onboard *o, struct json_object *req, struct json_object **res,
			char *err, size_t errcap);
int onboard_key_rotate(struct onboard *o, struct json_object *req, struct json_object **res,
		       char *err, size_t errcap);
int onboard_renew(struct onboard *o, struct json_object *req, struct json_object **res,
		  char *err, size_t errcap);

#endif
