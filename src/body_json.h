/* JSON views of record bodies and records, generated from the same policy
 * tables as the wire codec (proto/schema.h), so a new field appears in the
 * CLI, the local API and the docs without another line of code.
 *
 * Field mapping: SF_UINT → number (an enum field → its name, e.g. "peer";
 * a number is accepted too), SF_BOOL → boolean, SF_STR → string, SF_KEY →
 * 64 hex digits, SF_LIST → array (of objects; of plain values for one-field
 * element schemas). Missing fields take their zero value; unknown fields
 * are an error. */
#ifndef MN_BODY_JSON_H
#define MN_BODY_JSON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "proto/record.h"

/* New JSON object for a decoded body (caller owns it; NULL on ENOMEM). */
struct json_object *body_to_json(unsigned kind, const union body *b);

/* Parse a JSON object into a body of `kind`. 0, or -EINVAL with a message
 * naming the offending field ("attrs[2].k: string longer than 31 bytes")
 * in err (errcap bytes). The result is not yet checked against the kind's
 * cross-field rules: body_encode() does that. */
int body_from_json(unsigned kind, struct json_object *j, union body *out, char *err, size_t errcap);

/* A decoded (and already verified, or not: say so with `verified`) record
 * as JSON: kind, origin (did:key), key, version, expires, tombstone, id,
 * body. */
struct json_object *record_to_json(const struct record *r, const union body *b,
				   const uint8_t id[32]);

/* o[k] = v: a string (v non-NULL), an integer, a boolean. One call each
 * instead of two at ~170 places (docs/size.md). */
void json_put_str(struct json_object *o, const char *k, const char *v);
void json_put_int(struct json_object *o, const char *k, int64_t v);
void json_put_bool(struct json_object *o, const char *k, bool v);

/* uint64_t counters as members: names holds n NUL-terminated names one
 * after the other, offs[i] the i-th's offset in base (status views). */
void json_put_counters(struct json_object *o, const void *base, const char *names,
		       const uint16_t *offs, size_t n);

/* o[k] if it is a string, else NULL (missing, or another type): the one
 * string getter of the daemon's request handlers and the CLI. */
const char *json_get_str(struct json_object *o, const char *k);

#endif
