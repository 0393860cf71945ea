/* mirrornetctl mcp: a Model Context Protocol server on stdio (docs/mcp.md),
 * for an AI assistant on the other end of `ssh root@router mirrornetctl
 * mcp`. JSON-RPC 2.0, one message per line each way, logs on stderr.
 *
 * Each tool is one call of the daemon's local API (docs/api.md): its
 * arguments are checked against the tool's own table (the inputSchema is
 * made from the same table), the answer is the API's result as JSON text.
 * Read tools always; write tools (expose add/remove, ioc add/approve/reject, and what a later
 * subsystem adds) only when the daemon's config says `mcp_write yes` —
 * asked of the daemon at tools/list and again at each write call.
 * Invitations, joins and revocations have no tool, ever: they hand out or
 * take away membership, a human's decision.
 *
 * Errors: a line that is not JSON → -32700 (id null) and the server goes on;
 * not a request → -32600; unknown method → -32601; unknown tool or bad
 * arguments → -32602; the daemon down or refusing → a tool result with
 * isError (the assistant reads why). End of input → exit 0. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "src/ctl/ctl.h"
#include "src/apiclient/apiclient.h"
#include "src/ctl/ctl_args.h"

#define MCP_MAX_LINE (1u << 20)     /* a request line; longer: -32700 */
#define MCP_MAX_TEXT (1u << 20)     /* a tool's answer text; longer: cut, said */
#define MCP_MAX_DEPTH 32            /* JSON nesting in a request */

static const char *const versions[] = { "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05" };

struct tool {
	const char *name, *desc;
	const char *cmd;             /* the API command */
	bool write;
	struct ctl_arg args[10];
	/* the request's fields from the arguments (NULL: each argument under
	 * its own name) */
	void (*request)(struct json_object *args, struct json_object *req);
	/* the answer from the API result (NULL: the result) */
	struct json_object *(*answer)(const char *sock, struct json_object *result);
};

static void services_req(struct json_object *args, struct json_object *req)
{
	struct json_object *v;

	json_object_object_add(req, "kind", json_object_new_string("svc"));
	if (json_object_object_get_ex(args, "service", &v))
		json_object_object_add(req, "key", json_object_get(v));
}

static void dns_req(struct json_object *args, struct json_object *req)
{
	(void)args;
	json_object_object_add(req, "kind", json_object_new_string("dns"));
}

static struct json_object *wg_answer(const char *sock, struct json_object *status)
{
	struct json_object *out = json_object_new_object(), *dev, *resp = NULL, *req, *peers;
	struct json_object *list = json_object_new_array();

	if (json_object_object_get_ex(status, "wireguard", &dev))
		json_object_object_add(out, "device", json_object_get(dev));
	else
		json_object_object_add(out, "device", NULL);
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("peers"));
	if (apiclient_call_once(sock, req, &resp) == 0 && apiclient_ok(resp) &&
	    (peers = apiclient_result(resp)) && json_object_is_type(peers, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(peers); i++) {
			struct json_object *p = json_object_array_get_idx(peers, i), *o, *v;
			o = json_object_new_object();
			static const char *const keep[] = { "did", "name", "state", "wireguard" };
			for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++)
				if (json_object_object_get_ex(p, keep[k], &v))
					json_object_object_add(o, keep[k], json_object_get(v));
			json_object_array_add(list, o);
		}
	}
	json_object_put(req);
	json_object_put(resp);
	json_object_object_add(out, "peers", list);
	return out;
}

static const struct tool tools[] = {
	{ "mesh_status", "This node's identity, role, mesh and counters (mirrornetctl status).", "status",
	  false, { { NULL, CTL_ARG_STR, false, NULL } }, NULL, NULL },
	{ "peers", "The peers this node knows: name, state (alive, suspect, dead, left), last seen, "
	  "round-trip time, score.", "peers", false, { { NULL, CTL_ARG_STR, false, NULL } }, NULL, NULL },
	{ "records", "Signed records held (node, cert, revoke, dns, expose, ioc, svc, backup), "
	  "optionally of one kind, origin (did:key) or key.", "records", false,
	  { { "kind", CTL_ARG_STR, false, "a record kind" }, { "origin", CTL_ARG_STR, false, "a did:key" },
	    { "key", CTL_ARG_STR, false, "a record key" }, { NULL, CTL_ARG_STR, false, NULL } }, NULL, NULL },
	{ "exposures", "Services exposed on the mesh's CDN: this node's own (with backends) and "
	  "every member's record.", "expose_list", false, { { NULL, CTL_ARG_STR, false, NULL } }, NULL, NULL },
	{ "dns", "Vortex DNS: the mesh's zone delegations (signed dns records: zone, delegate, name "
	  "servers).", "records", false, { { NULL, CTL_ARG_STR, false, NULL } }, dns_req, NULL },
	{ "dns_zone", "One zone as this node's DNS server holds it (its master file).", "dns_show", false,
	  { { "zone", CTL_ARG_STR, true, "a zone name, e.g. node1.example.io" }, { NULL, CTL_ARG_STR, false, NULL } },
	  NULL, NULL },
	{ "services", "Services members announce (svc records: mail, backup, ai, cdn entry points, "
	  "apps).", "records", false,
	  { { "service", CTL_ARG_STR, false, "one service name" }, { NULL, CTL_ARG_STR, false, NULL } }, services_req, NULL },
	{ "mail", "The mesh's mail domains (svc mail records: which box is the primary, whether the domain "
	  "lies in its DNS scope, whether this box relays it as a backup MX) and the backup MX boxes "
	  "(mirrornetctl mail list).", "mail_list", false, { { NULL, CTL_ARG_STR, false, NULL } }, NULL, NULL },
	{ "mail_mx", "The MX records of a mail domain, the primary first, then the backups, as zone-file "
	  "lines (mirrornetctl mail mx).", "mail_mx", false,
	  { { "domain", CTL_ARG_STR, true, "a lowercase DNS name, e.g. node1.example.io" },
	    { NULL, CTL_ARG_STR, false, NULL } }, NULL, NULL },
	{ "wireguard_status", "The WireGuard interface (backend, public key, port) and each peer's "
	  "WireGuard state.", "status", false, { { NULL, CTL_ARG_STR, false, NULL } }, NULL, wg_answer },
	{ "iocs", "Threat indicators (IoCs) from the mesh and what the policy did with each: applied "
	  "(in CrowdSec), queued, pending review, refused (with the step that decided).", "ioc_list", false,
	  { { "state", CTL_ARG_STR, false, "applied, queued, pending or refused" },
	    { NULL, CTL_ARG_STR, false, NULL } }, NULL, NULL },
	{ "ioc_explain", "Why an IP, range or domain is (or would be) banned or refused: the records "
	  "holding it, their origins, and the policy's verdict per trust class.", "ioc_explain", false,
	  { { "value", CTL_ARG_STR, true, "an IP, a CIDR range or a domain" },
	    { NULL, CTL_ARG_STR, false, NULL } }, NULL, NULL },
	{ "ioc_add", "Publish a threat indicator of this box to the mesh (mirrornetctl ioc add); the "
	  "allowlist refuses private, mesh and member addresses.", "ioc_add", true,
	  { { "scope", CTL_ARG_STR, true, "ip, range or domain" }, { "value", CTL_ARG_STR, true, "the indicator" },
	    { "scenario", CTL_ARG_STR, false, "why (a scenario name)" },
	    { "confidence", CTL_ARG_INT, false, "0..100" }, { "duration_s", CTL_ARG_INT, false, "seconds" },
	    { NULL, CTL_ARG_STR, false, NULL } }, NULL, NULL },
	{ "ioc_approve", "Apply an indicator waiting for review (mirrornetctl ioc approve).", "ioc_approve", true,
	  { { "ioc", CTL_ARG_STR, true, "the entry's id (16 hex digits, from iocs)" },
	    { NULL, CTL_ARG_STR, false, NULL } }, NULL, NULL },
	{ "ioc_reject", "Refuse an indicator waiting for review (mirrornetctl ioc reject).", "ioc_reject", true,
	  { { "ioc", CTL_ARG_STR, true, "the entry's id (16 hex digits, from iocs)" },
	    { NULL, CTL_ARG_STR, false, NULL } }, NULL, NULL },
	{ "expose_add", "Expose a local service on the mesh's CDN (mirrornetctl expose add).",
	  "expose_add", true,
	  { { "service", CTL_ARG_STR, true, "a DNS label" }, { "port", CTL_ARG_INT, true, "the service's port" },
	    { "proto", CTL_ARG_STR, false, "http, tls or tcp" }, { "backend", CTL_ARG_STR, false, "IP:PORT" },
	    { "domain", CTL_ARG_STR, false, "its public name" },
	    { "channels", CTL_ARG_STR, false, "mesh,dns,tor,mdns or all" },
	    { "mirrors", CTL_ARG_STRS, false, "members that are extra entry points" },
	    { "health", CTL_ARG_STR, false, "an HTTP health-check path" }, { NULL, CTL_ARG_STR, false, NULL } }, NULL, NULL },
	{ "expose_remove", "Withdraw an exposure, or one of its channels (mirrornetctl expose remove).",
	  "expose_remove", true,
	  { { "service", CTL_ARG_STR, true, "the service name" }, { "channel", CTL_ARG_STR, false, "one channel" },
	    { NULL, CTL_ARG_STR, false, NULL } }, NULL, NULL },
};
#define NTOOLS (sizeof tools / sizeof tools[0])

static void out(struct json_object *msg)
{
	fputs(json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	      stdout);
	fputc('\n', stdout);
	fflush(stdout);
	json_object_put(msg);
}

static struct json_object *reply(struct json_object *id)
{
	struct json_object *m = json_object_new_object();

	json_object_object_add(m, "jsonrpc", json_object_new_string("2.0"));
	json_object_object_add(m, "id", id ? json_object_get(id) : NULL);
	return m;
}

static void result(struct json_object *id, struct json_object *res)
{
	struct json_object *m = reply(id);

	json_object_object_add(m, "result", res);
	out(m);
}

static void rpc_error(struct json_object *id, int code, const char *msg)
{
	struct json_object *m = reply(id), *e = json_object_new_object();

	json_object_object_add(e, "code", json_object_new_int(code));
	json_object_object_add(e, "message", json_object_new_string(msg));
	json_object_object_add(m, "error", e);
	out(m);
}

/* Does the daemon allow write tools? (asked every time: a config reload
 * changes it) */
static bool write_allowed(const char *sock)
{
	struct json_object *req = json_object_new_object(), *resp = NULL, *r, *m, *w;
	bool yes = false;

	json_object_object_add(req, "cmd", json_object_new_string("status"));
	if (apiclient_call_once(sock, req, &resp) == 0 && apiclient_ok(resp) && (r = apiclient_result(resp)) &&
	    json_object_object_get_ex(r, "mcp", &m) && json_object_object_get_ex(m, "write", &w))
		yes = json_object_get_boolean(w);
	json_object_put(req);
	json_object_put(resp);
	return yes;
}

static struct json_object *schema_of(const struct tool *t)
{
	struct json_object *s = json_object_new_object(), *props = json_object_new_object();
	struct json_object *req = json_object_new_array();

	json_object_object_add(s, "type", json_object_new_string("object"));
	for (const struct ctl_arg *a = t->args; a->name; a++) {
		struct json_object *p = json_object_new_object();
		json_object_object_add(p, "type", json_object_new_string(ctl_arg_type_name(a->type)));
		if (a->type == CTL_ARG_STRS) {
			struct json_object *it = json_object_new_object();
			json_object_object_add(it, "type", json_object_new_string("string"));
			json_object_object_add(p, "items", it);
		}
		json_object_object_add(p, "description", json_object_new_string(a->desc));
		json_object_object_add(props, a->name, p);
		if (a->required)
			json_object_array_add(req, json_object_new_string(a->name));
	}
	json_object_object_add(s, "properties", props);
	if (json_object_array_length(req))
		json_object_object_add(s, "required", req);
	else
		json_object_put(req);
	json_object_object_add(s, "additionalProperties", json_object_new_boolean(false));
	return s;
}

static void tools_list(struct json_object *id, const char *sock)
{
	struct json_object *res = json_object_new_object(), *list = json_object_new_array();
	bool w = write_allowed(sock);

	for (size_t i = 0; i < NTOOLS; i++) {
		if (tools[i].write && !w)
			continue;
		struct json_object *t = json_object_new_object(), *ann = json_object_new_object();
		json_object_object_add(t, "name", json_object_new_string(tools[i].name));
		json_object_object_add(t, "description", json_object_new_string(tools[i].desc));
		json_object_object_add(t, "inputSchema", schema_of(&tools[i]));
		json_object_object_add(ann, "readOnlyHint", json_object_new_boolean(!tools[i].write));
		json_object_object_add(ann, "openWorldHint", json_object_new_boolean(false));
		json_object_object_add(t, "annotations", ann);
		json_object_array_add(list, t);
	}
	json_object_object_add(res, "tools", list);
	result(id, res);
}

static void tool_result(struct json_object *id, const char *text, bool is_error)
{
	struct json_object *res = json_object_new_object(), *content = json_object_new_array();
	struct json_object *c = json_object_new_object();
	size_t n = strlen(text);
	char *cut = NULL;

	if (n > MCP_MAX_TEXT) {   /* cut at a whole line, and say so */
		size_t k = MCP_MAX_TEXT;
		while (k > 0 && text[k] != '\n')
			k--;
		if ((cut = malloc(k + 128))) {
			memcpy(cut, text, k);
			snprintf(cut + k, 128, "\n... cut: %zu more bytes (narrow the call: kind, origin, key)\n",
				 n - k);
		}
	}
	json_object_object_add(c, "type", json_object_new_string("text"));
	json_object_object_add(c, "text", json_object_new_string(cut ? cut : text));
	free(cut);
	json_object_array_add(content, c);
	json_object_object_add(res, "content", content);
	json_object_object_add(res, "isError", json_object_new_boolean(is_error));
	result(id, res);
}

static void tools_call(struct json_object *id, struct json_object *params, const char *sock)
{
	struct json_object *name, *args = NULL, *req, *resp = NULL, *r, *e, *m;
	const struct tool *t = NULL;
	char why[160], text[400];
	const char *bad;
	int rc;

	if (!params || !json_object_object_get_ex(params, "name", &name) ||
	    !json_object_is_type(name, json_type_string)) {
		rpc_error(id, -32602, "tools/call: params.name, a string");
		return;
	}
	for (size_t i = 0; i < NTOOLS && !t; i++)
		if (!strcmp(tools[i].name, json_object_get_string(name)))
			t = &tools[i];
	if (t && t->write && !write_allowed(sock))
		t = NULL;   /* not offered: as unknown */
	if (!t) {
		snprintf(why, sizeof why, "unknown tool: %.64s", json_object_get_string(name));
		rpc_error(id, -32602, why);
		return;
	}
	json_object_object_get_ex(params, "arguments", &args);
	if ((bad = ctl_args_check(t->args, t->name, args, why, sizeof why))) {
		rpc_error(id, -32602, bad);
		return;
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string(t->cmd));
	if (t->request) {
		t->request(args, req);
	} else if (args) {
		json_object_object_foreach(args, k, v)
			json_object_object_add(req, k, json_object_get(v));
	}
	rc = apiclient_call_once(sock, req, &resp);
	json_object_put(req);
	if (rc < 0) {
		snprintf(text, sizeof text, "mirrornetd is not reachable at %.200s: %s", sock, strerror(-rc));
		tool_result(id, text, true);
		return;
	}
	if (!apiclient_ok(resp)) {
		const char *msg = "the daemon refused the call";
		if (json_object_object_get_ex(resp, "error", &e) && json_object_object_get_ex(e, "message", &m))
			msg = json_object_get_string(m);
		tool_result(id, msg, true);
		json_object_put(resp);
		return;
	}
	r = apiclient_result(resp);
	struct json_object *ans = t->answer ? t->answer(sock, r) : json_object_get(r);
	tool_result(id, json_object_to_json_string_ext(ans, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE), false);
	json_object_put(ans);
	json_object_put(resp);
}

static void initialize(struct json_object *id, struct json_object *params)
{
	struct json_object *res = json_object_new_object(), *caps = json_object_new_object();
	struct json_object *tl = json_object_new_object(), *info = json_object_new_object(), *v;
	const char *ver = versions[0];

	/* the client's version if we speak it, else our newest (it decides) */
	if (params && json_object_object_get_ex(params, "protocolVersion", &v) &&
	    json_object_is_type(v, json_type_string))
		for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++)
			if (!strcmp(versions[i], json_object_get_string(v)))
				ver = versions[i];
	json_object_object_add(res, "protocolVersion", json_object_new_string(ver));
	json_object_object_add(tl, "listChanged", json_object_new_boolean(false));
	json_object_object_add(caps, "tools", tl);
	json_object_object_add(res, "capabilities", caps);
	json_object_object_add(info, "name", json_object_new_string("mirrornet"));
	json_object_object_add(info, "version", json_object_new_string(MN_VERSION));
	json_object_object_add(res, "serverInfo", info);
	json_object_object_add(res, "instructions", json_object_new_string(
		"MirrorNet mesh agent of this router: read the mesh's state (peers, records, exposures, DNS, "
		"services, WireGuard). Write tools appear only when the router's config allows them."));
	result(id, res);
}

/* One line from the client. */
static void handle(const char *line, size_t len, const char *sock)
{
	struct json_tokener *tok = json_tokener_new_ex(MCP_MAX_DEPTH);
	struct json_object *msg, *id = NULL, *method, *params = NULL, *v;

	if (!tok)
		return;
	msg = json_tokener_parse_ex(tok, line, (int)len);
	if (!msg || json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len) {
		json_tokener_free(tok);
		json_object_put(msg);
		rpc_error(NULL, -32700, "parse error: not one JSON value");
		return;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(msg, json_type_object)) {
		rpc_error(NULL, -32600, "invalid request: an object (batches are not supported)");
		json_object_put(msg);
		return;
	}
	bool has_id = json_object_object_get_ex(msg, "id", &id);
	if (has_id && !json_object_is_type(id, json_type_string) && !json_object_is_type(id, json_type_int)) {
		rpc_error(NULL, -32600, "invalid request: id, a string or an integer");
		json_object_put(msg);
		return;
	}
	if (!json_object_object_get_ex(msg, "method", &method) ||
	    !json_object_is_type(method, json_type_string) ||
	    !json_object_object_get_ex(msg, "jsonrpc", &v) || !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "2.0")) {
		/* a response from the client (we ask nothing) is dropped */
		if (has_id && !json_object_object_get_ex(msg, "result", &v) &&
		    !json_object_object_get_ex(msg, "error", &v))
			rpc_error(id, -32600, "invalid request: jsonrpc \"2.0\" and a method");
		json_object_put(msg);
		return;
	}
	const char *mth = json_object_get_string(method);
	json_object_object_get_ex(msg, "params", &params);
	if (params && !json_object_is_type(params, json_type_object)) {
		if (has_id)
			rpc_error(id, -32602, "params: an object");
	} else if (!has_id) {
		;   /* notifications (initialized, cancelled, ...): nothing to answer */
	} else if (!strcmp(mth, "initialize")) {
		initialize(id, params);
	} else if (!strcmp(mth, "ping")) {
		result(id, json_object_new_object());
	} else if (!strcmp(mth, "tools/list")) {
		tools_list(id, sock);
	} else if (!strcmp(mth, "tools/call")) {
		tools_call(id, params, sock);
	} else {
		char why[160];
		snprintf(why, sizeof why, "method not found: %.64s", mth);
		rpc_error(id, -32601, why);
	}
	json_object_put(msg);
}

int ctl_mcp(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock_opt = NULL;
	char *buf;
	size_t len = 0;
	bool skipping = false;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'S') {
			sock_opt = optarg;
		} else if (c == 'h') {
			printf("usage: mirrornetctl mcp [--socket PATH]\n"
			       "An MCP server on stdin/stdout (JSON-RPC 2.0, a message per line) for AI\n"
			       "assistants: e.g. ssh root@router mirrornetctl mcp (docs/mcp.md).\n");
			return CTL_OK;
		} else {
			return CTL_USAGE;
		}
	}
	if (optind != argc) {
		ctl_err("usage: mirrornetctl mcp [--socket PATH]");
		return CTL_USAGE;
	}
	const char *sock = ctl_socket_path(sock_opt);
	if (!(buf = malloc(MCP_MAX_LINE + 1)))
		return CTL_FAIL;
	fprintf(stderr, "mirrornetctl mcp: serving on stdio, daemon at %s\n", sock);
	/* lines of at most MCP_MAX_LINE bytes; a longer one is answered as
	 * garbage once and skipped to its end */
	while ((c = getchar()) != EOF) {
		if (c != '\n') {
			if (skipping)
				continue;
			if (len == MCP_MAX_LINE) {
				skipping = true;
				len = 0;
				rpc_error(NULL, -32700, "parse error: a line over 1 MiB");
				continue;
			}
			buf[len++] = (char)c;
			continue;
		}
		if (!skipping && len) {
			if (buf[len - 1] == '\r')
				len--;
			buf[len] = 0;
			handle(buf, len, sock);
		}
		skipping = false;
		len = 0;
	}
	if (len && !skipping) {   /* a last line without its newline */
		buf[len] = 0;
		handle(buf, len, sock);
	}
	free(buf);
	return CTL_OK;
}
