/* CrowdSec LAPI JSON (lapi_json.h). Shapes as crowdsec 1.4.6 sends them
 * (checked against a running LAPI by tests/netns/test_ioc.sh): decisions
 * with id, origin, type, scope, value, duration (a Go duration, what
 * remains), scenario. json-c parses with the length given, never past it. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "src/ioc/lapi_json.h"

int lapi_duration_parse(const char *s, uint64_t *secs)
{
	static const struct { const char *u; double f; } units[] = {
		{ "ns", 1e-9 }, { "us", 1e-6 }, { "\xc2\xb5s", 1e-6 }, { "ms", 1e-3 },
		{ "s", 1 }, { "m", 60 }, { "h", 3600 },
	};
	bool neg = false;
	double total = 0;

	*secs = 0;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!strcmp(s, "0"))
		return 0;
	if (!*s)
		return -EINVAL;
	while (*s) {
		double v = 0, frac = 0.1;
		bool digits = false;
		while (isdigit((unsigned char)*s)) {
			v = v * 10 + (*s++ - '0');
			digits = true;
			if (v > 1e12)
				return -EINVAL;
		}
		if (*s == '.') {
			s++;
			while (isdigit((unsigned char)*s)) {
				v += frac * (*s++ - '0');
				frac /= 10;
				digits = true;
			}
		}
		if (!digits)
			return -EINVAL;
		size_t k, best = 0;
		double f = 0;
		for (k = 0; k < sizeof units / sizeof units[0]; k++) {
			size_t l = strlen(units[k].u);
			if (!strncmp(s, units[k].u, l) && l > best) {
				best = l;
				f = units[k].f;
			}
		}
		if (!best)
			return -EINVAL;
		s += best;
		total += v * f;
		if (total > 1e12)
			return -EINVAL;
	}
	*secs = neg ? 0 : (uint64_t)total;
	return 0;
}

/* Parse at most LAPI_MAX_BODY bytes as one JSON value, nothing after it
 * but white space. */
static int parse(const char *body, size_t len, struct json_object **out)
{
	struct json_tokener *tok;
	struct json_object *o;

	*out = NULL;
	if (len > LAPI_MAX_BODY)
		return -EMSGSIZE;
	if (!(tok = json_tokener_new_ex(32)))
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, body, (int)len);
	if (o && json_tokener_get_error(tok) == json_tokener_success) {
		size_t used = json_tokener_get_parse_end(tok);
		for (; used < len; used++)
			if (!isspace((unsigned char)body[used]))
				break;
		if (used < len) {
			json_object_put(o);
			o = NULL;
		}
	} else {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (!o)
		return -EINVAL;
	*out = o;
	return 0;
}

/* Copy a string member into out (cap bytes) if it fits and is printable. */
static bool get_str(struct json_object *o, const char *k, char *out, size_t cap, bool required)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string)) {
		out[0] = 0;
		return !required;
	}
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);
	if (n >= cap || strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	memcpy(out, s, n + 1);
	return true;
}

static bool decision_get(struct json_object *o, struct lapi_decision *d)
{
	struct json_object *v;
	char dur[48];

	memset(d, 0, sizeof *d);
	if (!json_object_is_type(o, json_type_object))
		return false;
	if (!json_object_object_get_ex(o, "id", &v) || !json_object_is_type(v, json_type_int))
		return false;
	errno = 0;
	d->id = json_object_get_int64(v);
	if (d->id <= 0 || errno)
		return false;
	if (!get_str(o, "origin", d->origin, sizeof d->origin, true) ||
	    !get_str(o, "type", d->type, sizeof d->type, true) ||
	    !get_str(o, "scope", d->scope, sizeof d->scope, true) ||
	    !get_str(o, "value", d->value, sizeof d->value, true) || !d->value[0] ||
	    !get_str(o, "scenario", d->scenario, sizeof d->scenario, false) ||
	    !get_str(o, "duration", dur, sizeof dur, false))
		return false;
	if (dur[0] && lapi_duration_parse(dur, &d->duration_s) < 0)
		return false;
	return true;
}

static int each(struct json_object *arr, bool deleted,
		int (*fn)(void *ctx, bool deleted, const struct lapi_decision *d), void *ctx,
		unsigned *skipped)
{
	struct lapi_decision d;

	if (!arr || json_object_is_type(arr, json_type_null))
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return -EINVAL;
	size_t n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		if (!decision_get(json_object_array_get_idx(arr, i), &d)) {
			(*skipped)++;
			continue;
		}
		int rc = fn(ctx, deleted, &d);
		if (rc)
			return rc;
	}
	return 0;
}

int lapi_stream_parse(const char *body, size_t len,
		      int (*fn)(void *ctx, bool deleted, const struct lapi_decision *d), void *ctx,
		      unsigned *skipped)
{
	struct json_object *o, *nw = NULL, *del = NULL;
	int rc = parse(body, len, &o);

	if (rc < 0)
		return rc;
	if (!json_object_is_type(o, json_type_object)) {
		rc = -EINVAL;
		goto out;
	}
	json_object_object_get_ex(o, "new", &nw);
	json_object_object_get_ex(o, "deleted", &del);
	/* deleted first: a decision replaced within one poll ends up new */
	if ((rc = each(del, true, fn, ctx, skipped)) == 0)
		rc = each(nw, false, fn, ctx, skipped);
out:
	json_object_put(o);
	return rc;
}

int lapi_login_parse(const char *body, size_t len, char *token, size_t cap)
{
	struct json_object *o;
	int rc = parse(body, len, &o);

	token[0] = 0;
	if (rc < 0)
		return rc;
	if (!json_object_is_type(o, json_type_object) || !get_str(o, "token", token, cap, true) ||
	    !token[0]) {
		token[0] = 0;
		rc = -EINVAL;
	}
	for (size_t i = 0; token[i]; i++)
		if (!isgraph((unsigned char)token[i])) {
			token[0] = 0;
			rc = -EINVAL;
			break;
		}
	json_object_put(o);
	return rc;
}

int lapi_alert_ids_parse(const char *body, size_t len, int64_t *id)
{
	struct json_object *o, *v;
	int rc = parse(body, len, &o);

	*id = 0;
	if (rc < 0)
		return rc;
	rc = -EINVAL;
	if (json_object_is_type(o, json_type_array) && json_object_array_length(o) > 0) {
		v = json_object_array_get_idx(o, 0);
		const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
		char *end;
		if (s && isdigit((unsigned char)s[0]) && strlen(s) <= 18) {
			long long x = strtoll(s, &end, 10);
			if (!*end && x > 0) {
				*id = x;
				rc = 0;
			}
		} else if (json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0) {
			*id = json_object_get_int64(v);
			rc = 0;
		}
	}
	json_object_put(o);
	return rc;
}

int lapi_alert_parse(const char *body, size_t len,
		     int (*fn)(void *ctx, bool deleted, const struct lapi_decision *d), void *ctx,
		     unsigned *skipped)
{
	struct json_object *o, *ds = NULL;
	int rc = parse(body, len, &o);

	if (rc < 0)
		return rc;
	if (!json_object_is_type(o, json_type_object))
		rc = -EINVAL;
	else if (json_object_object_get_ex(o, "decisions", &ds))
		rc = each(ds, false, fn, ctx, skipped);
	json_object_put(o);
	return rc;
}

void lapi_message_parse(const char *body, size_t len, char *msg, size_t cap)
{
	struct json_object *o, *v;

	msg[0] = 0;
	if (cap == 0 || parse(body, len, &o) < 0)
		return;
	if (json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, "message", &v) &&
	    json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		size_t i;
		for (i = 0; s[i] && i + 1 < cap; i++)
			msg[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
		msg[i] = 0;
	}
	json_object_put(o);
}

/* RFC 3339 in UTC from unix seconds (days to civil: H. Hinnant's). */
static void rfc3339(uint64_t t, char *buf, size_t cap)
{
	int64_t z = (int64_t)(t / 86400) + 719468;
	unsigned sod = (unsigned)(t % 86400);
	int64_t era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;

	y += m <= 2;
	snprintf(buf, cap, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, m, d, sod / 3600,
		 sod / 60 % 60, sod % 60);
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

char *lapi_alert_json(const char *scenario, const char *message,
		      const struct lapi_new_decision *d, size_t n, uint64_t now_s)
{
	struct json_object *arr = json_object_new_array(), *a = json_object_new_object();
	struct json_object *src = json_object_new_object(), *ds = json_object_new_array();
	char ts[64], dur[32];
	char *out = NULL;

	if (!arr || !a || !src || !ds)
		goto out;
	rfc3339(now_s, ts, sizeof ts);
	add_str(a, "scenario", scenario);
	add_str(a, "scenario_hash", "");
	add_str(a, "scenario_version", "");
	add_str(a, "message", message);
	json_object_object_add(a, "events_count", json_object_new_int(1));
	add_str(a, "start_at", ts);
	add_str(a, "stop_at", ts);
	json_object_object_add(a, "capacity", json_object_new_int(0));
	add_str(a, "leakspeed", "0");
	json_object_object_add(a, "simulated", json_object_new_boolean(false));
	json_object_object_add(a, "events", json_object_new_array());
	/* the source: the first decision's (the LAPI wants one) */
	add_str(src, "scope", n ? d[0].scope : "Ip");
	add_str(src, "value", n ? d[0].value : "");
	if (n && !strcmp(d[0].scope, "Ip"))
		add_str(src, "ip", d[0].value);
	json_object_object_add(a, "source", src);
	src = NULL;
	for (size_t i = 0; i < n; i++) {
		struct json_object *x = json_object_new_object();
		if (!x)
			goto out;
		add_str(x, "origin", "mirrornet");
		add_str(x, "type", d[i].type);
		add_str(x, "scope", d[i].scope);
		add_str(x, "value", d[i].value);
		snprintf(dur, sizeof dur, "%llus", (unsigned long long)d[i].duration_s);
		add_str(x, "duration", dur);
		add_str(x, "scenario", d[i].scenario);
		json_object_array_add(ds, x);
	}
	json_object_object_add(a, "decisions", ds);
	ds = NULL;
	json_object_array_add(arr, a);
	a = NULL;
	const char *s = json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN);
	out = s ? strdup(s) : NULL;
out:
	json_object_put(src);
	json_object_put(ds);
	json_object_put(a);
	json_object_put(arr);
	return out;
}

char *lapi_login_json(const char *machine_id, const char *password)
{
	/* by hand, so that no copy of the password stays behind in json-c's
	 * buffers: both are printable ASCII without '"' or '\\' (cscli
	 * makes such passwords), else NULL */
	for (const char *const *p = (const char *const[]){ machine_id, password, NULL }; *p; p++)
		for (const char *c = *p; *c; c++)
			if (*c < 0x20 || *c > 0x7e || *c == '"' || *c == '\\')
				return NULL;
	size_t cap = strlen(machine_id) + strlen(password) + 64;
	char *out = malloc(cap);
	if (out)
		snprintf(out, cap, "{\"machine_id\":\"%s\",\"password\":\"%s\",\"scenarios\":[]}",
			 machine_id, password);
	return out;
}
