/* The LAPI's JSON (src/ioc/lapi_json.c): answers as crowdsec 1.4.6 sends
 * them, Go durations, and the requests we send. */
#include <errno.h>
#include <json-c/json.h>
#include "tests/check.h"
#include "src/ioc/lapi_json.h"

struct seen {
	struct lapi_decision d[8];
	bool del[8];
	unsigned n;
};

static int keep(void *ctx, bool deleted, const struct lapi_decision *d)
{
	struct seen *s = ctx;

	if (s->n == 8)
		return -E2BIG;
	s->del[s->n] = deleted;
	s->d[s->n++] = *d;
	return 0;
}

#define S(x) x, sizeof x - 1

static void test_duration(void)
{
	static const struct { const char *s; int rc; uint64_t secs; } v[] = {
		{ "3h59m58.123456789s", 0, 14398 }, { "167h59m59s", 0, 604799 }, { "4h", 0, 14400 },
		{ "1m30s", 0, 90 }, { "500ms", 0, 0 }, { "1500ms", 0, 1 }, { "0s", 0, 0 }, { "0", 0, 0 },
		{ "-1.5s", 0, 0 }, { "-3h", 0, 0 }, { "2\xc2\xb5s", 0, 0 }, { "1h1h", 0, 7200 },
		{ "", -EINVAL, 0 }, { "h", -EINVAL, 0 }, { "5", -EINVAL, 0 }, { "5x", -EINVAL, 0 },
		{ "1.5", -EINVAL, 0 }, { ".s", -EINVAL, 0 }, { "9999999999999h", -EINVAL, 0 },
		{ "4h ", -EINVAL, 0 }, { "-", -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		uint64_t s = 99;
		int rc = lapi_duration_parse(v[i].s, &s);
		if (rc != v[i].rc)
			fprintf(stderr, "  duration '%s'\n", v[i].s);
		CHECK_INT(rc, v[i].rc);
		if (rc == 0)
			CHECK_INT(s, v[i].secs);
	}
}

static void test_stream(void)
{
	static const char body[] =
		"{\"deleted\":[{\"duration\":\"-2s\",\"id\":2,\"origin\":\"cscli\",\"scenario\":\"x\","
		"\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"198.51.100.9\"}],"
		"\"new\":[{\"duration\":\"3h59m58.1s\",\"id\":7,\"origin\":\"crowdsec\","
		"\"scenario\":\"crowdsecurity/ssh-bf\",\"scope\":\"Ip\",\"type\":\"ban\",\"value\":\"203.0.113.7\"},"
		"{\"id\":8,\"origin\":\"cscli\",\"type\":\"ban\",\"scope\":\"Ip\",\"value\":\"1\\u0000.2\"},"
		"{\"id\":\"9\",\"origin\":\"cscli\",\"type\":\"ban\",\"scope\":\"Ip\",\"value\":\"1.2.3.4\"},"
		"{\"id\":10,\"origin\":\"an origin much longer than thirty-two bytes\",\"type\":\"ban\","
		"\"scope\":\"Ip\",\"value\":\"1.2.3.4\"}]}\n";
	struct seen s = { 0 };
	unsigned skipped = 0;

	CHECK_INT(lapi_stream_parse(S(body), keep, &s, &skipped), 0);
	CHECK_INT(s.n, 2);
	CHECK_INT(skipped, 3);   /* a NUL in a value, a string id, a long origin */
	CHECK(s.del[0]);
	CHECK_INT(s.d[0].id, 2);
	CHECK_INT(s.d[0].duration_s, 0);
	CHECK(!s.del[1]);
	CHECK_INT(s.d[1].id, 7);
	CHECK_STR(s.d[1].origin, "crowdsec");
	CHECK_STR(s.d[1].scope, "Ip");
	CHECK_STR(s.d[1].value, "203.0.113.7");
	CHECK_STR(s.d[1].scenario, "crowdsecurity/ssh-bf");
	CHECK_INT(s.d[1].duration_s, 14398);
	/* nulls, empties; not an object; trailing bytes; over the bound */
	memset(&s, 0, sizeof s);
	CHECK_INT(lapi_stream_parse(S("{\"new\":null,\"deleted\":null}"), keep, &s, &skipped), 0);
	CHECK_INT(lapi_stream_parse(S("{}"), keep, &s, &skipped), 0);
	CHECK_INT(s.n, 0);
	CHECK_INT(lapi_stream_parse(S("[]"), keep, &s, &skipped), -EINVAL);
	CHECK_INT(lapi_stream_parse(S("{\"new\":{}}"), keep, &s, &skipped), -EINVAL);
	CHECK_INT(lapi_stream_parse(S("{} {}"), keep, &s, &skipped), -EINVAL);
	CHECK_INT(lapi_stream_parse(S("{\"new\":["), keep, &s, &skipped), -EINVAL);
	CHECK_INT(lapi_stream_parse("", 0, keep, &s, &skipped), -EINVAL);
	CHECK_INT(lapi_stream_parse("{}", LAPI_MAX_BODY + 1, keep, &s, &skipped), -EMSGSIZE);
	/* the length bounds the parse: no NUL needed, nothing read past it */
	char *b = malloc(2);
	memcpy(b, "{}", 2);
	CHECK_INT(lapi_stream_parse(b, 2, keep, &s, &skipped), 0);
	free(b);
}

static void test_login_alert(void)
{
	char tok[64], msg[16];
	int64_t id;
	struct seen s = { 0 };
	unsigned skipped = 0;

	CHECK_INT(lapi_login_parse(S("{\"code\":200,\"expire\":\"x\",\"token\":\"abc.def.ghi\"}"), tok,
				   sizeof tok), 0);
	CHECK_STR(tok, "abc.def.ghi");
	CHECK_INT(lapi_login_parse(S("{\"code\":200,\"token\":\"a b\"}"), tok, sizeof tok), -EINVAL);
	CHECK_STR(tok, "");
	CHECK_INT(lapi_login_parse(S("{\"code\":200,\"token\":\"\"}"), tok, sizeof tok), -EINVAL);
	CHECK_INT(lapi_login_parse(S("{\"token\":\"0123456789\"}"), tok, 8), -EINVAL);
	CHECK_INT(lapi_login_parse(S("{\"code\":401,\"message\":\"no\"}"), tok, sizeof tok), -EINVAL);
	CHECK_INT(lapi_alert_ids_parse(S("[\"17\"]"), &id), 0);
	CHECK_INT(id, 17);
	CHECK_INT(lapi_alert_ids_parse(S("[18]"), &id), 0);
	CHECK_INT(id, 18);
	CHECK_INT(lapi_alert_ids_parse(S("[]"), &id), -EINVAL);
	CHECK_INT(lapi_alert_ids_parse(S("[\"-1\"]"), &id), -EINVAL);
	CHECK_INT(lapi_alert_ids_parse(S("[\"12x\"]"), &id), -EINVAL);
	CHECK_INT(id, 0);
	CHECK_INT(lapi_alert_parse(S("{\"id\":17,\"decisions\":[{\"id\":40,\"origin\":\"mirrornet\","
				     "\"type\":\"ban\",\"scope\":\"Ip\",\"value\":\"203.0.113.7\","
				     "\"duration\":\"1h\"}]}"), keep, &s, &skipped), 0);
	CHECK_INT(s.n, 1);
	CHECK_INT(s.d[0].id, 40);
	CHECK_STR(s.d[0].origin, "mirrornet");
	lapi_message_parse(S("{\"message\":\"incorrect Username or Password\"}"), msg, sizeof msg);
	CHECK_STR(msg, "incorrect Usern");
	lapi_message_parse(S("{\"message\":\"a\\nb\"}"), msg, sizeof msg);
	CHECK_STR(msg, "a?b");
	lapi_message_parse(S("not json"), msg, sizeof msg);
	CHECK_STR(msg, "");
}

static void test_requests(void)
{
	struct lapi_new_decision d[2] = {
		{ "ban", "Ip", "203.0.113.7", "crowdsecurity/ssh-bf", 3600 },
		{ "captcha", "Range", "198.51.100.0/24", "x", 60 },
	};
	char *s = lapi_alert_json("mirrornet/node1", "from the mesh", d, 2, 1800000000);
	CHECK(s != NULL);
	struct json_object *o = s ? json_tokener_parse(s) : NULL, *a, *v, *ds;
	CHECK(o && json_object_is_type(o, json_type_array) && json_object_array_length(o) == 1);
	a = json_object_array_get_idx(o, 0);
	CHECK(json_object_object_get_ex(a, "start_at", &v));
	CHECK_STR(json_object_get_string(v), "2027-01-15T08:00:00Z");
	CHECK(json_object_object_get_ex(a, "source", &v));
	CHECK(json_object_object_get_ex(v, "ip", &v));
	CHECK_STR(json_object_get_string(v), "203.0.113.7");
	CHECK(json_object_object_get_ex(a, "decisions", &ds));
	CHECK_INT(json_object_array_length(ds), 2);
	v = json_object_array_get_idx(ds, 1);
	struct json_object *f;
	CHECK(json_object_object_get_ex(v, "origin", &f));
	CHECK_STR(json_object_get_string(f), "mirrornet");
	CHECK(json_object_object_get_ex(v, "duration", &f));
	CHECK_STR(json_object_get_string(f), "60s");
	json_object_put(o);
	free(s);
	s = lapi_login_json("node1", "s3cr3t");
	CHECK_STR(s, "{\"machine_id\":\"node1\",\"password\":\"s3cr3t\",\"scenarios\":[]}");
	free(s);
	CHECK(lapi_login_json("node1", "a\"b") == NULL);
	CHECK(lapi_login_json("node1", "a\nb") == NULL);
}

int main(void)
{
	test_duration();
	test_stream();
	test_login_alert();
	test_requests();
	return check_exit();
}
