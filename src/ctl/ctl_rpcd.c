/* mirrornetctl rpcd: the rpcd exec plugin `luci.mirrornet` (docs/luci.md).
 *
 * /usr/libexec/rpcd/luci.mirrornet is two lines of shell that exec
 * `mirrornetctl rpcd "$@"`; rpcd (openwrt/rpcd, plugin.c) runs it
 *   - as `list` when it starts: one JSON object, method name -> an object
 *     of argument name -> a sample value whose JSON type is the argument's
 *     type ("" a string, 32 a 32-bit integer, true a boolean, [] an array);
 *   - as `call METHOD` per ubus call, with the call's arguments as one JSON
 *     object on stdin (rpcd closes stdin after writing it); the first JSON
 *     value on stdout, which must be an object, is the ubus reply.
 *
 * Each method is one call of the daemon's local API (docs/api.md), from the
 * table below, its arguments checked against the method's own table (the
 * `list` signature is made from the same table). The answer is always one
 * object: {"result": VALUE} on success, {"error": CODE, "message": TEXT}
 * otherwise — input that is not one JSON object, over RPCD_MAX_INPUT, an
 * unknown method, a missing, unknown or mistyped argument, the daemon down,
 * or its refusal (its error code passed on; `unknown_cmd`, a subsystem this
 * mirrornetd does not have, becomes `unavailable`). rpcd ignores the exit
 * status; it is 0 with a result, 1 with an error object, for shell use.
 *
 * Read and write methods are split in the table (`write`); `rpcd acl`
 * prints the ACL the table implies, which the shipped
 * luci-app-mirrornet.json must equal (tests/lint/check_luci.sh). Invitation
 * tokens (secrets until used) are only ever in invite_create's answer:
 * nothing here logs. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "src/ctl/ctl.h"
#include "src/ctl/ctl_args.h"
#include "src/apiclient/apiclient.h"

#define RPCD_MAX_INPUT (64u << 10)    /* the arguments on stdin */
#define RPCD_MAX_DEPTH 32             /* their JSON nesting */
#define RPCD_MAX_ARRAY (768u << 10)   /* an array result, serialised: cut beyond (ubus messages are small) */
#define RPCD_OBJECT "luci.mirrornet"
#define RPCD_ACL "luci-app-mirrornet"

struct method {
	const char *name;
	const char *cmd;        /* the API command */
	bool write;
	struct ctl_arg args[10];
	/* fill the API request from the checked arguments (NULL: each argument
	 * under its own name); NULL, or why the arguments are refused */
	const char *(*request)(struct json_object *args, struct json_object *req, char *why, size_t cap);
	/* the answer from the API's result (borrowed; NULL: the result itself) */
	struct json_object *(*answer)(const char *sock, struct json_object *result);
};

#define END { NULL, CTL_ARG_STR, false, NULL }

static const char *kind_req(struct json_object *req, const char *kind)
{
	json_object_object_add(req, "kind", json_object_new_string(kind));
	return NULL;
}

static const char *dns_req(struct json_object *args, struct json_object *req, char *why, size_t cap)
{
	return kind_req(req, "dns");
}

/* LuCI's "id" of an indicator is the API's argument "ioc" (the API's
 * requests have an "id" of their own) */
static const char *ioc_req(struct json_object *args, struct json_object *req, char *why, size_t cap)
{
	struct json_object *v;

	(void)why;
	(void)cap;
	if (json_object_object_get_ex(args, "id", &v))
		json_object_object_add(req, "ioc", json_object_get(v));
	return NULL;
}

static const char *services_req(struct json_object *args, struct json_object *req, char *why, size_t cap)
{
	struct json_object *v;

	if (json_object_object_get_ex(args, "service", &v))
		json_object_object_add(req, "key", json_object_get(v));
	return kind_req(req, "svc");
}

static const char *joins_req(struct json_object *args, struct json_object *req, char *why, size_t cap)
{
	json_object_object_add(req, "state", json_object_new_string("waiting"));
	return NULL;
}

/* revoke_node: a revoke record published by the daemon, as `mirrornetctl
 * revoke` does */
static const char *revoke_req(struct json_object *args, struct json_object *req, char *why, size_t cap)
{
	struct json_object *node = json_object_object_get(args, "node"), *reason, *r;
	uint8_t pk[32];

	if (ctl_parse_pubkey(json_object_get_string(node), pk) < 0)
		return "node: a did:key or 64 hex digits";
	json_object_object_get_ex(args, "reason", &reason);
	r = ctl_revoke_request(pk, reason ? json_object_get_string(reason) : "");
	json_object_object_foreach(r, k, v)
		json_object_object_add(req, k, json_object_get(v));
	json_object_put(r);
	return NULL;
}

/* Copy the members of `from` named in keep[] (those it has) into `to`. */
static void copy_keys(struct json_object *to, struct json_object *from, const char *const *keep, size_t n)
{
	struct json_object *v;

	for (size_t i = 0; i < n; i++)
		if (json_object_object_get_ex(from, keep[i], &v))
			json_object_object_add(to, keep[i], json_object_get(v));
}

static struct json_object *identity_answer(const char *sock, struct json_object *status)
{
	static const char *const keep[] = { "name", "did", "role", "version", "listen", "uptime_s" };
	static const char *const wg_keep[] = { "interface", "public_key", "port", "backend" };
	struct json_object *o = json_object_new_object(), *wg, *w;

	copy_keys(o, status, keep, sizeof keep / sizeof keep[0]);
	if (json_object_object_get_ex(status, "wireguard", &wg) && json_object_is_type(wg, json_type_object)) {
		w = json_object_new_object();
		copy_keys(w, wg, wg_keep, sizeof wg_keep / sizeof wg_keep[0]);
		json_object_object_add(o, "wireguard", w);
	}
	return o;
}

/* dns: the delegations (dns records) and this node's DNS subsystem state */
static struct json_object *dns_answer(const char *sock, struct json_object *records)
{
	struct json_object *o = json_object_new_object(), *req = json_object_new_object(), *resp = NULL, *st;

	json_object_object_add(o, "delegations", json_object_get(records));
	json_object_object_add(req, "cmd", json_object_new_string("status"));
	if (apiclient_call_once(sock, req, &resp) == 0 && apiclient_ok(resp) &&
	    json_object_object_get_ex(apiclient_result(resp), "dns", &st))
		json_object_object_add(o, "status", json_object_get(st));
	else
		json_object_object_add(o, "status", NULL);
	json_object_put(req);
	json_object_put(resp);
	return o;
}

static const struct method methods[] = {
	/* read */
	{ "status", "status", false, { END }, NULL, NULL },
	{ "identity", "status", false, { END }, NULL, identity_answer },
	{ "peers", "peers", false, { END }, NULL, NULL },
	{ "records", "records", false,
	  { { "kind", CTL_ARG_STR, false, NULL }, { "origin", CTL_ARG_STR, false, NULL },
	    { "key", CTL_ARG_STR, false, NULL }, END }, NULL, NULL },
	{ "exposures", "expose_list", false, { END }, NULL, NULL },
	{ "iocs", "ioc_list", false, { { "state", CTL_ARG_STR, false, NULL }, END }, NULL, NULL },
	{ "dns", "records", false, { END }, dns_req, dns_answer },
	{ "services", "records", false, { { "service", CTL_ARG_STR, false, NULL }, END }, services_req, NULL },
	{ "backups", "backup_list", false, { { "all", CTL_ARG_BOOL, false, NULL }, END }, NULL, NULL },
	{ "invites", "invite_list", false, { { "state", CTL_ARG_STR, false, NULL }, END }, NULL, NULL },
	{ "joins", "invite_list", false, { END }, joins_req, NULL },
	/* write */
	{ "invite_create", "invite_create", true,
	  { { "name", CTL_ARG_STR, true, NULL }, { "role", CTL_ARG_STR, false, NULL },
	    { "ttl_s", CTL_ARG_INT, false, NULL }, { "auto_approve", CTL_ARG_BOOL, false, NULL },
	    { "zone", CTL_ARG_STR, false, NULL }, END }, NULL, NULL },
	{ "invite_revoke", "invite_revoke", true, { { "invitation", CTL_ARG_STR, true, NULL }, END }, NULL, NULL },
	{ "join_approve", "join_approve", true, { { "invitation", CTL_ARG_STR, true, NULL }, END }, NULL, NULL },
	{ "join_reject", "join_reject", true,
	  { { "invitation", CTL_ARG_STR, true, NULL }, { "reason", CTL_ARG_STR, false, NULL }, END }, NULL, NULL },
	{ "revoke_node", "publish", true,
	  { { "node", CTL_ARG_STR, true, NULL }, { "reason", CTL_ARG_STR, false, NULL }, END }, revoke_req, NULL },
	{ "expose_add", "expose_add", true,
	  { { "service", CTL_ARG_STR, true, NULL }, { "port", CTL_ARG_INT, true, NULL },
	    { "proto", CTL_ARG_STR, false, NULL }, { "backend", CTL_ARG_STR, false, NULL },
	    { "domain", CTL_ARG_STR, false, NULL }, { "channels", CTL_ARG_STR, false, NULL },
	    { "mirrors", CTL_ARG_STRS, false, NULL }, { "health", CTL_ARG_STR, false, NULL },
	    { "send_proxy", CTL_ARG_BOOL, false, NULL }, END }, NULL, NULL },
	{ "expose_remove", "expose_remove", true,
	  { { "service", CTL_ARG_STR, true, NULL }, { "channel", CTL_ARG_STR, false, NULL }, END }, NULL, NULL },
	{ "ioc_approve", "ioc_approve", true, { { "id", CTL_ARG_STR, true, NULL }, END }, ioc_req, NULL },
	{ "ioc_reject", "ioc_reject", true, { { "id", CTL_ARG_STR, true, NULL }, END }, ioc_req, NULL },
};
#define NMETHODS (sizeof methods / sizeof methods[0])

static void print(struct json_object *o)
{
	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), stdout);
	fputc('\n', stdout);
	fflush(stdout);
	json_object_put(o);
}

/* The one error object; returns the exit status that goes with it. */
static int fail(const char *code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const char *code, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_object_object_add(o, "error", json_object_new_string(code));
	json_object_object_add(o, "message", json_object_new_string(msg));
	print(o);
	return CTL_FAIL;
}

static struct json_object *signature(const struct method *m)
{
	struct json_object *s = json_object_new_object();

	for (const struct ctl_arg *a = m->args; a->name; a++) {
		struct json_object *v = NULL;
		switch (a->type) {
		case CTL_ARG_STR: v = json_object_new_string(""); break;
		case CTL_ARG_INT: v = json_object_new_int(32); break;
		case CTL_ARG_BOOL: v = json_object_new_boolean(true); break;
		case CTL_ARG_STRS: v = json_object_new_array(); break;
		}
		json_object_object_add(s, a->name, v);
	}
	return s;
}

static int list(void)
{
	struct json_object *o = json_object_new_object();

	for (size_t i = 0; i < NMETHODS; i++)
		json_object_object_add(o, methods[i].name, signature(&methods[i]));
	print(o);
	return CTL_OK;
}

/* The ACL file (/usr/share/rpcd/acl.d/luci-app-mirrornet.json) the table
 * implies: read methods under "read", write methods under "write". */
static int acl(void)
{
	struct json_object *o = json_object_new_object(), *app = json_object_new_object();

	json_object_object_add(app, "description", json_object_new_string("Grant access to MirrorNet"));
	for (int w = 0; w < 2; w++) {
		struct json_object *sect = json_object_new_object(), *ubus = json_object_new_object();
		struct json_object *names = json_object_new_array();
		for (size_t i = 0; i < NMETHODS; i++)
			if (methods[i].write == (bool)w)
				json_object_array_add(names, json_object_new_string(methods[i].name));
		json_object_object_add(ubus, RPCD_OBJECT, names);
		json_object_object_add(sect, "ubus", ubus);
		json_object_object_add(app, w ? "write" : "read", sect);
	}
	json_object_object_add(o, RPCD_ACL, app);
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return CTL_OK;
}

/* stdin into buf (RPCD_MAX_INPUT + 1 bytes): its length, or -EFBIG over
 * the bound (the rest is not read), or a negative errno. */
static long read_input(char *buf)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf + len, RPCD_MAX_INPUT + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return (long)len;
		len += (size_t)n;
		if (len > RPCD_MAX_INPUT)
			return -EFBIG;
	}
}

/* The arguments: one JSON object (surrounding white space allowed; empty
 * input is no arguments). NULL with *why set when it is not. */
static struct json_object *parse_args(const char *buf, size_t len, const char **why)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t end;

	while (len && strchr(" \t\r\n", buf[len - 1]))
		len--;
	if (!len)
		return json_object_new_object();
	if (!(tok = json_tokener_new_ex(RPCD_MAX_DEPTH))) {
		*why = "out of memory";
		return NULL;
	}
	o = json_tokener_parse_ex(tok, buf, (int)len);
	end = json_tokener_get_parse_end(tok);
	if (json_tokener_get_error(tok) != json_tokener_success || !o || end != len) {
		*why = "the arguments are not one JSON object";
		json_object_put(o);
		o = NULL;
	} else if (!json_object_is_type(o, json_type_object)) {
		*why = "the arguments must be a JSON object";
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* An array result cut to RPCD_MAX_ARRAY bytes of JSON: rpcd hands the
 * answer to ubus as one message. Returns a new reference; *more counts
 * what was left out. */
static struct json_object *cap_array(struct json_object *arr, size_t *more)
{
	size_t n = json_object_array_length(arr), used = 2, keep = 0;
	struct json_object *out;

	*more = 0;
	while (keep < n) {
		size_t l = 0;
		json_object_to_json_string_length(json_object_array_get_idx(arr, keep), JSON_C_TO_STRING_PLAIN, &l);
		if (used + l + 1 > RPCD_MAX_ARRAY)
			break;
		used += l + 1;
		keep++;
	}
	if (keep == n)
		return json_object_get(arr);
	out = json_object_new_array_ext((int)keep);
	for (size_t i = 0; i < keep; i++)
		json_object_array_add(out, json_object_get(json_object_array_get_idx(arr, i)));
	*more = n - keep;
	return out;
}

static int call(const char *sock, const char *name)
{
	const struct method *m = NULL;
	struct json_object *args, *req, *resp = NULL, *e, *c, *msg, *ans, *out;
	const char *why = NULL;
	char *buf, whybuf[160];
	long len;
	int rc;

	if (!(buf = malloc(RPCD_MAX_INPUT + 1)))
		return fail("internal", "out of memory");
	len = read_input(buf);
	if (len == -EFBIG) {
		free(buf);
		return fail("too_big", "the arguments are over %u bytes", RPCD_MAX_INPUT);
	}
	if (len < 0) {
		free(buf);
		return fail("bad_input", "reading the arguments: %s", strerror((int)-len));
	}
	args = parse_args(buf, (size_t)len, &why);
	free(buf);
	if (!args)
		return fail("bad_input", "%s", why);
	/* (looked up after reading: rpcd's write of the arguments never meets
	 * a closed pipe) */
	for (size_t i = 0; i < NMETHODS && !m; i++)
		if (!strcmp(methods[i].name, name))
			m = &methods[i];
	if (!m) {
		json_object_put(args);
		return fail("unknown_method", "no method %.64s in " RPCD_OBJECT " (rpcd list)", name);
	}
	if ((why = ctl_args_check(m->args, m->name, args, whybuf, sizeof whybuf))) {
		json_object_put(args);
		return fail("invalid_argument", "%s", why);
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string(m->cmd));
	if (m->request) {
		why = m->request(args, req, whybuf, sizeof whybuf);
	} else {
		json_object_object_foreach(args, k, v)
			json_object_object_add(req, k, json_object_get(v));
	}
	json_object_put(args);
	if (why) {
		json_object_put(req);
		return fail("invalid_argument", "%s", why);
	}
	rc = apiclient_call_once(sock, req, &resp);
	json_object_put(req);
	if (rc < 0)
		return fail("daemon_unreachable", "mirrornetd is not reachable at %.200s: %s", sock, strerror(-rc));
	if (!apiclient_ok(resp)) {
		const char *code = "internal", *text = "the daemon refused the call";
		if (json_object_object_get_ex(resp, "error", &e)) {
			if (json_object_object_get_ex(e, "code", &c) && json_object_is_type(c, json_type_string))
				code = json_object_get_string(c);
			if (json_object_object_get_ex(e, "message", &msg) && json_object_is_type(msg, json_type_string))
				text = json_object_get_string(msg);
		}
		if (!strcmp(code, "unknown_cmd"))
			rc = fail("unavailable", "this mirrornetd has no %s (its subsystem is not in this build)", m->cmd);
		else
			rc = fail(code, "%s", text);
		json_object_put(resp);
		return rc;
	}
	ans = m->answer ? m->answer(sock, apiclient_result(resp)) : json_object_get(apiclient_result(resp));
	json_object_put(resp);
	out = json_object_new_object();
	if (json_object_is_type(ans, json_type_array)) {
		size_t more;
		struct json_object *cut = cap_array(ans, &more);
		json_object_put(ans);
		ans = cut;
		if (more)
			json_object_object_add(out, "more", json_object_new_int64((int64_t)more));
	}
	json_object_object_add(out, "result", ans);
	print(out);
	return CTL_OK;
}

static int usage(FILE *f)
{
	fprintf(f, "usage: mirrornetctl rpcd [--socket PATH] list | call METHOD | acl\n"
		"The rpcd plugin luci.mirrornet (/usr/libexec/rpcd/luci.mirrornet execs it): list prints\n"
		"the methods and their arguments, call reads the arguments (one JSON object) on stdin and\n"
		"prints one JSON object, acl the ACL the methods imply (docs/luci.md).\n");
	return f == stdout ? CTL_OK : CTL_USAGE;
}

int ctl_rpcd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock_opt = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 'S')
			sock_opt = optarg;
		else if (c == 'h')
			return usage(stdout);
		else
			return usage(stderr);
	}
	argc -= optind;
	argv += optind;
	if (argc == 1 && !strcmp(argv[0], "list"))
		return list();
	if (argc == 1 && !strcmp(argv[0], "acl"))
		return acl();
	if (argc == 2 && !strcmp(argv[0], "call"))
		return call(ctl_socket_path(sock_opt), argv[1]);
	return usage(stderr);
}
