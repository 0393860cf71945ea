/* mirrornetctl ioc: the mesh's threat intelligence on this box (the
 * daemon's ioc subsystem, docs/ioc.md): list, add, pending, approve,
 * reject, explain; --json on each. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "src/ctl/ctl.h"

struct io {
	const char *sock, *state, *scope, *scenario, *confidence, *duration;
	bool json;
};

enum { O_STATE = 256, O_SCOPE, O_SCENARIO, O_CONFIDENCE, O_DURATION };

static int parse(int argc, char **argv, struct io *o, const char *usage)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, O_STATE }, { "scope", required_argument, NULL, O_SCOPE },
		{ "scenario", required_argument, NULL, O_SCENARIO },
		{ "confidence", required_argument, NULL, O_CONFIDENCE },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "json", no_argument, NULL, 'j' }, { "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof *o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_STATE: o->state = optarg; break;
		case O_SCOPE: o->scope = optarg; break;
		case O_SCENARIO: o->scenario = optarg; break;
		case O_CONFIDENCE: o->confidence = optarg; break;
		case O_DURATION: o->duration = optarg; break;
		case 'j': o->json = true; break;
		case 'S': o->sock = optarg; break;
		case 'h': printf("usage: mirrornetctl %s\n", usage); return 1;
		default: ctl_err("usage: mirrornetctl %s", usage); return -1;
		}
	}
	return 0;
}

static void print_entries(struct json_object *res)
{
	char a[600], b[100];
	size_t n = json_object_array_length(res);

	if (n == 0) {
		printf("none\n");
		return;
	}
	printf("%-16s  %-8s  %-6s  %-32s  %-8s  %s\n", "ID", "STATE", "SCOPE", "VALUE", "CLASS", "STEP");
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(res, i);
		printf("%-16s  %-8s  %-6s  %-32s  %-8s  %s%s%s\n", ctl_text(e, "id"), ctl_text(e, "state"),
		       ctl_text(e, "scope"), ctl_safe(ctl_text(e, "value"), a, sizeof a), ctl_text(e, "class"),
		       ctl_text(e, "step"), ctl_text(e, "detail")[0] ? " " : "",
		       ctl_safe(ctl_text(e, "detail"), b, sizeof b));
	}
}

static int call_print(struct io *o, const char *cmd, struct json_object *req, bool list)
{
	struct json_object *res = NULL;
	int rc = ctl_call(o->sock, cmd, req, &res);

	if (rc)
		return rc;
	if (o->json) {
		ctl_print_json(res);
	} else if (list) {
		print_entries(res);
	} else {
		struct json_object *arr = json_object_new_array();
		json_object_array_add(arr, json_object_get(res));
		print_entries(arr);
		json_object_put(arr);
	}
	json_object_put(res);
	return CTL_OK;
}

static int do_explain(struct io *o, const char *value)
{
	struct json_object *req = json_object_new_object(), *res = NULL, *held, *pol;
	char a[600], b[100];
	int rc;

	json_object_object_add(req, "value", json_object_new_string(value));
	if ((rc = ctl_call(o->sock, "ioc_explain", req, &res)))
		return rc;
	if (o->json) {
		ctl_print_json(res);
		json_object_put(res);
		return CTL_OK;
	}
	printf("%s (%s)\n", ctl_safe(value, a, sizeof a), ctl_text(res, "scope"));
	if (json_object_object_get_ex(res, "held", &held) && json_object_array_length(held)) {
		printf("held:\n");
		for (size_t i = 0; i < json_object_array_length(held); i++) {
			struct json_object *e = json_object_array_get_idx(held, i);
			printf("  %s from %.16s… batch %s (%s): %s at step %s%s%s\n", ctl_text(e, "id"),
			       ctl_text(e, "origin"), ctl_safe(ctl_text(e, "batch"), a, sizeof a), ctl_text(e, "class"),
			       ctl_text(e, "state"), ctl_text(e, "step"), ctl_text(e, "detail")[0] ? ": " : "",
			       ctl_safe(ctl_text(e, "detail"), b, sizeof b));
		}
	} else {
		printf("held: none\n");
	}
	if (json_object_object_get_ex(res, "policy", &pol)) {
		static const char *const cls[] = { "ancestor", "member" };
		for (int i = 0; i < 2; i++) {
			struct json_object *p;
			if (!json_object_object_get_ex(pol, cls[i], &p))
				continue;
			printf("from %s now: %s at step %s%s%s\n", cls[i], ctl_text(p, "verdict"), ctl_text(p, "step"),
			       ctl_text(p, "detail")[0] ? ": " : "", ctl_safe(ctl_text(p, "detail"), b, sizeof b));
		}
	}
	json_object_put(res);
	return CTL_OK;
}

static int do_add(struct io *o, const char *value)
{
	struct json_object *req = json_object_new_object(), *res = NULL;
	uint64_t conf = 0;
	long long dur = 0;
	char a[600];
	int rc;

	if (!o->scope) {
		json_object_put(req);
		ctl_err("ioc add: --scope ip|range|domain is required");
		return CTL_USAGE;
	}
	if ((o->confidence && (ctl_parse_u64(o->confidence, &conf) < 0 || conf > 100)) ||
	    (o->duration && (dur = ctl_parse_duration(o->duration)) <= 0)) {
		json_object_put(req);
		ctl_err("ioc add: --confidence 0..100, --duration N[s|m|h|d]");
		return CTL_USAGE;
	}
	json_object_object_add(req, "scope", json_object_new_string(o->scope));
	json_object_object_add(req, "value", json_object_new_string(value));
	if (o->scenario)
		json_object_object_add(req, "scenario", json_object_new_string(o->scenario));
	if (o->confidence)
		json_object_object_add(req, "confidence", json_object_new_int((int)conf));
	if (o->duration)
		json_object_object_add(req, "duration_s", json_object_new_int64((int64_t)dur));
	if ((rc = ctl_call(o->sock, "ioc_add", req, &res)))
		return rc;
	if (o->json)
		ctl_print_json(res);
	else
		printf("published %s %s in batch %s\n", ctl_text(res, "scope"), ctl_safe(value, a, sizeof a),
		       ctl_text(res, "batch"));
	json_object_put(res);
	return CTL_OK;
}

int ctl_ioc(int argc, char **argv)
{
	const char *sub = argc >= 2 ? argv[1] : "";
	struct io o;
	int rc;

	argc--;
	argv++;
	if (!strcmp(sub, "list") || !strcmp(sub, "pending")) {
		static const char u[] = "ioc list [--state applied|pending|refused|queued] [--json] | ioc pending [--json]";
		if ((rc = parse(argc, argv, &o, u)))
			return rc > 0 ? CTL_OK : CTL_USAGE;
		if (optind != argc)
			return ctl_err("usage: mirrornetctl %s", u), CTL_USAGE;
		struct json_object *req = NULL;
		if (!strcmp(sub, "list") && o.state) {
			req = json_object_new_object();
			json_object_object_add(req, "state", json_object_new_string(o.state));
		}
		return call_print(&o, !strcmp(sub, "list") ? "ioc_list" : "ioc_pending", req, true);
	}
	if (!strcmp(sub, "approve") || !strcmp(sub, "reject")) {
		char u[64];
		snprintf(u, sizeof u, "ioc %s ID [--json]", sub);
		if ((rc = parse(argc, argv, &o, u)))
			return rc > 0 ? CTL_OK : CTL_USAGE;
		if (optind != argc - 1)
			return ctl_err("usage: mirrornetctl %s", u), CTL_USAGE;
		struct json_object *req = json_object_new_object();
		json_object_object_add(req, "ioc", json_object_new_string(argv[optind]));
		return call_print(&o, !strcmp(sub, "approve") ? "ioc_approve" : "ioc_reject", req, false);
	}
	if (!strcmp(sub, "explain")) {
		if ((rc = parse(argc, argv, &o, "ioc explain VALUE [--json]")))
			return rc > 0 ? CTL_OK : CTL_USAGE;
		if (optind != argc - 1)
			return ctl_err("usage: mirrornetctl ioc explain VALUE [--json]"), CTL_USAGE;
		return do_explain(&o, argv[optind]);
	}
	if (!strcmp(sub, "add")) {
		static const char u[] = "ioc add --scope ip|range|domain VALUE [--scenario S] [--confidence N] "
			"[--duration D] [--json]";
		if ((rc = parse(argc, argv, &o, u)))
			return rc > 0 ? CTL_OK : CTL_USAGE;
		if (optind != argc - 1)
			return ctl_err("usage: mirrornetctl %s", u), CTL_USAGE;
		return do_add(&o, argv[optind]);
	}
	if (!strcmp(sub, "setup"))
		return ctl_ioc_setup(argc, argv);
	ctl_err("usage: mirrornetctl ioc list|add|pending|approve|reject|explain|setup ...");
	return CTL_USAGE;
}
