/* CrowdSec LAPI answers and requests as JSON (docs/ioc.md "LAPI"): bytes
 * in, typed structs out, no I/O — what lapi.c receives goes through here,
 * and tests/fuzz/fuzz_lapi.c feeds it anything. Every function takes the
 * body's length and refuses more than LAPI_MAX_BODY bytes. */
#ifndef MN_IOC_LAPI_JSON_H
#define MN_IOC_LAPI_JSON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/limits.h"

#define LAPI_MAX_BODY (8u << 20)    /* an answer: 8 MiB (~40 000 decisions) */
#define LAPI_MAX_TOKEN 2048         /* a watcher's JWT */

/* One decision as the LAPI shows it. Fields too long for these bounds make
 * the decision invalid (skipped and counted), never truncated. */
struct lapi_decision {
	int64_t id;
	char origin[32];                     /* crowdsec, cscli, CAPI, lists, mirrornet */
	char type[16];                       /* ban, captcha */
	char scope[16];                      /* Ip, Range (any case) */
	char value[MN_MAX_IOC_VALUE + 1];
	char scenario[MN_MAX_SCENARIO + 1];
	uint64_t duration_s;                 /* remaining, rounded down; 0 if negative */
};

/* A Go duration ("3h59m58.12s", "-1.5s", "500ms", "0s") in whole seconds,
 * negative as 0. 0 or -EINVAL. */
int lapi_duration_parse(const char *s, uint64_t *secs);

/* The decisions stream's answer {"new":[...]|null,"deleted":[...]|null}:
 * fn(ctx, deleted, d) for each valid decision, in order; a non-zero return
 * stops with that value. *skipped counts invalid entries. 0, -EINVAL (not
 * that object), -EMSGSIZE (over LAPI_MAX_BODY), or fn's value. */
int lapi_stream_parse(const char *body, size_t len,
		      int (*fn)(void *ctx, bool deleted, const struct lapi_decision *d), void *ctx,
		      unsigned *skipped);

/* The watcher login's answer {"code":200,"token":"...","expire":"..."}:
 * the token (printable ASCII, shorter than cap). 0, -EINVAL, -EMSGSIZE. */
int lapi_login_parse(const char *body, size_t len, char *token, size_t cap);

/* POST /v1/alerts' answer: ["12", ...]: the first alert id. 0, -EINVAL,
 * -EMSGSIZE. */
int lapi_alert_ids_parse(const char *body, size_t len, int64_t *id);

/* GET /v1/alerts/{id}'s answer: its decisions, as lapi_stream_parse (with
 * deleted false). */
int lapi_alert_parse(const char *body, size_t len,
		     int (*fn)(void *ctx, bool deleted, const struct lapi_decision *d), void *ctx,
		     unsigned *skipped);

/* An error answer's {"message":"..."} (printable, cut to cap), or "". */
void lapi_message_parse(const char *body, size_t len, char *msg, size_t cap);

/* One alert to POST /v1/alerts: a JSON array text (the caller frees it),
 * the decisions with origin "mirrornet". now_s: start_at and stop_at. NULL
 * on out of memory. */
struct lapi_new_decision {
	const char *type;                    /* ban, captcha */
	const char *scope;                   /* Ip, Range */
	const char *value;
	const char *scenario;
	uint64_t duration_s;
};
char *lapi_alert_json(const char *scenario, const char *message,
		      const struct lapi_new_decision *d, size_t n, uint64_t now_s);

/* The login request {"machine_id","password","scenarios":[]} (the caller
 * wipes and frees it: it holds the password); NULL on out of memory or
 * when either holds a character other than printable ASCII, '"' or '\\'
 * excepted. */
char *lapi_login_json(const char *machine_id, const char *password);

#endif
