/* Fuzz the local API's request parser (src/daemon/api.c
 * api_request_parse: one line from the socket, as mirrornetctl, LuCI's
 * rpcd plugin, the MCP server or any local process sends it) and what a
 * publish does with its body (src/body_json.c body_from_json: JSON into a
 * record body). Properties beyond memory safety: a parsed request is an
 * object with a string cmd, a refused one says why in one line; a body
 * that converts encodes canonically, decodes to the same bytes, and its
 * JSON view (body_to_json, what `records --json` shows) converts back to
 * exactly the same body: what the API accepts is what it shows. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "proto/body.h"
#include "proto/record.h"
#include "src/body_json.h"
#include "src/daemon/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "property violated: %s\n", what);
	abort();
}

static void body_round_trip(unsigned kind, struct json_object *j)
{
	static union body a, b, c;
	static uint8_t ea[MN_MAX_BODY], eb[MN_MAX_BODY];
	char err[256];

	if (body_from_json(kind, j, &a, err, sizeof err) < 0) {
		if (!err[0] || strchr(err, '\n'))
			fail("body_from_json refused without a one-line message");
		return;
	}
	size_t na, nb;
	if (body_encode(kind, &a, ea, sizeof ea, &na) < 0)
		return;   /* over the size bound: the publish is refused there */
	if (body_decode(kind, ea, na, &b) < 0)
		fail("an encoded body does not decode");
	struct json_object *v = body_to_json(kind, &b);
	if (!v)
		return;
	/* through text, as a client would send it back */
	struct json_object *w = json_tokener_parse(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	if (!w || body_from_json(kind, w, &c, err, sizeof err) < 0)
		fail("the JSON view of a body does not convert back");
	if (body_encode(kind, &c, eb, sizeof eb, &nb) < 0 || nb != na || memcmp(ea, eb, na))
		fail("body -> JSON -> body changed the body");
	json_object_put(v);
	json_object_put(w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *req = NULL, *v;
	char err[160];

	if (size > 65536)
		return 0;
	int rc = api_request_parse((const char *)data, size, &req, err, sizeof err);
	if (rc < 0) {
		if (!err[0] || strchr(err, '\n'))
			fail("a refusal without a one-line message");
		if (rc == -EINVAL && req)
			fail("-EINVAL with a value");
		json_object_put(req);
		return 0;
	}
	if (!json_object_is_type(req, json_type_object) || !json_object_object_get_ex(req, "cmd", &v) ||
	    !json_object_is_type(v, json_type_string))
		fail("a parsed request without a string cmd");
	struct json_object *kind, *body;
	if (json_object_object_get_ex(req, "kind", &kind) && json_object_is_type(kind, json_type_string) &&
	    json_object_object_get_ex(req, "body", &body) && json_object_is_type(body, json_type_object)) {
		int k = kind_from_name(json_object_get_string(kind));
		if (k > 0)
			body_round_trip((unsigned)k, body);
	}
	json_object_put(req);
	return 0;
}
