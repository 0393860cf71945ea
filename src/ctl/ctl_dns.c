/* mirrornetctl dns: Vortex DNS delegations (docs/dns.md). Everything but
 * `dns check` asks the local daemon, which signs and publishes; `check`
 * asks the DNS servers themselves (src/ctl/ctl_dnscheck.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "src/ctl/ctl.h"

struct dns_opts {
	bool json;
	const char *ns_addr, *to, *ttl;
};

static int parse(int argc, char **argv, struct dns_opts *o, const char *usage)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "ns-addr", required_argument, NULL, 'a' },
		{ "to", required_argument, NULL, 't' }, { "ttl", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof *o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': o->json = true; break;
		case 'a': o->ns_addr = optarg; break;
		case 't': o->to = optarg; break;
		case 'T': o->ttl = optarg; break;
		case 'h': printf("usage: mirrornetctl %s\n", usage); return 1;
		default: ctl_err("usage: mirrornetctl %s", usage); return -1;
		}
	}
	return 0;
}

static int done(struct dns_opts *o, int rc, struct json_object *res, const char *text)
{
	if (rc)
		return rc;
	if (o->json)
		ctl_print_json(res);
	else
		printf("%s\n", text);
	json_object_put(res);
	return CTL_OK;
}

static void print_list(struct json_object *arr)
{
	size_t n = json_object_array_length(arr);

	printf("%-40s  %-12s  %-30s  %s\n", "ZONE", "STATE", "NAME SERVER", "SIGNER");
	for (size_t i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(arr, i), *b, *v, *ns;
		const char *zone = "", *host = "-", *addr = "", *origin = "";
		bool back = false;
		if (json_object_object_get_ex(r, "key", &v))
			zone = json_object_get_string(v);
		if (json_object_object_get_ex(r, "origin", &v))
			origin = json_object_get_string(v);
		if (json_object_object_get_ex(r, "body", &b) && json_object_object_get_ex(b, "ns", &ns)) {
			if (json_object_array_length(ns)) {
				struct json_object *x = json_object_array_get_idx(ns, 0);
				host = json_object_get_string(json_object_object_get(x, "host"));
				addr = json_object_get_string(json_object_object_get(x, "addr"));
			} else {
				back = true;
			}
		}
		char nsb[300], sz[1024], sn[1200], so[128];
		snprintf(nsb, sizeof nsb, "%s %s", host ? host : "-", addr ? addr : "");
		printf("%-40s  %-12s  %-30s  %.24s…\n", ctl_safe(zone, sz, sizeof sz),
		       back ? "given back" : "delegated", ctl_safe(nsb, sn, sizeof sn),
		       ctl_safe(origin, so, sizeof so));
	}
}

int ctl_dns(int argc, char **argv)
{
	struct dns_opts o;
	struct json_object *req, *res = NULL;
	const char *sub = argc >= 2 ? argv[1] : "";
	char text[512];
	int rc;

	argc--;
	argv++;
	if (!strcmp(sub, "init")) {
		if ((rc = parse(argc, argv, &o, "dns init DOMAIN [--ns-addr ADDR] [--json]")))
			return rc > 0 ? CTL_OK : CTL_USAGE;
		if (optind != argc - 1)
			return ctl_err("usage: mirrornetctl dns init DOMAIN"), CTL_USAGE;
		req = json_object_new_object();
		json_object_object_add(req, "domain", json_object_new_string(argv[optind]));
		if (o.ns_addr)
			json_object_object_add(req, "ns_addr", json_object_new_string(o.ns_addr));
		snprintf(text, sizeof text, "%s is served by this master", argv[optind]);
		rc = ctl_call(NULL, "dns_init", req, &res);   /* before done(): argument order is unspecified */
		return done(&o, rc, res, text);
	}
	if (!strcmp(sub, "delegate")) {
		if ((rc = parse(argc, argv, &o, "dns delegate LABEL --to NODE [--ns-addr ADDR] [--ttl D] [--json]")))
			return rc > 0 ? CTL_OK : CTL_USAGE;
		if (optind != argc - 1 || !o.to)
			return ctl_err("usage: mirrornetctl dns delegate LABEL --to NODE [--ns-addr ADDR]"), CTL_USAGE;
		req = json_object_new_object();
		json_object_object_add(req, "label", json_object_new_string(argv[optind]));
		json_object_object_add(req, "to", json_object_new_string(o.to));
		if (o.ns_addr)
			json_object_object_add(req, "ns_addr", json_object_new_string(o.ns_addr));
		if (o.ttl) {
			long long t = ctl_parse_duration(o.ttl);
			if (t < 0) {
				json_object_put(req);
				return ctl_err("dns delegate: --ttl DURATION"), CTL_USAGE;
			}
			json_object_object_add(req, "ttl_s", json_object_new_int64(t));
		}
		rc = ctl_call(NULL, "dns_delegate", req, &res);
		if (rc == CTL_OK) {
			struct json_object *z;
			snprintf(text, sizeof text, "delegated %s to %s",
				 json_object_object_get_ex(res, "zone", &z) ? json_object_get_string(z) : "?", o.to);
		}
		return done(&o, rc, res, text);
	}
	if (!strcmp(sub, "revoke")) {
		if ((rc = parse(argc, argv, &o, "dns revoke ZONE [--json]")))
			return rc > 0 ? CTL_OK : CTL_USAGE;
		if (optind != argc - 1)
			return ctl_err("usage: mirrornetctl dns revoke ZONE"), CTL_USAGE;
		req = json_object_new_object();
		json_object_object_add(req, "kind", json_object_new_string("dns"));
		json_object_object_add(req, "key", json_object_new_string(argv[optind]));
		json_object_object_add(req, "tombstone", json_object_new_boolean(true));
		snprintf(text, sizeof text, "delegation of %s withdrawn", argv[optind]);
		rc = ctl_call(NULL, "publish", req, &res);   /* before done(): argument order is unspecified */
		return done(&o, rc, res, text);
	}
	if (!strcmp(sub, "leave")) {
		if ((rc = parse(argc, argv, &o, "dns leave [--json]")))
			return rc > 0 ? CTL_OK : CTL_USAGE;
		snprintf(text, sizeof text, "our zone is given back to its parent");
		rc = ctl_call(NULL, "dns_leave", NULL, &res);   /* before done(): argument order is unspecified */
		return done(&o, rc, res, text);
	}
	if (!strcmp(sub, "list")) {
		if ((rc = parse(argc, argv, &o, "dns list [--json]")))
			return rc > 0 ? CTL_OK : CTL_USAGE;
		req = json_object_new_object();
		json_object_object_add(req, "kind", json_object_new_string("dns"));
		if ((rc = ctl_call(NULL, "records", req, &res)))
			return rc;
		if (o.json)
			ctl_print_json(res);
		else
			print_list(res);
		json_object_put(res);
		return CTL_OK;
	}
	if (!strcmp(sub, "show")) {
		if ((rc = parse(argc, argv, &o, "dns show ZONE [--json]")))
			return rc > 0 ? CTL_OK : CTL_USAGE;
		if (optind != argc - 1)
			return ctl_err("usage: mirrornetctl dns show ZONE"), CTL_USAGE;
		req = json_object_new_object();
		json_object_object_add(req, "zone", json_object_new_string(argv[optind]));
		if ((rc = ctl_call(NULL, "dns_show", req, &res)))
			return rc;
		if (o.json)
			ctl_print_json(res);
		else
			fputs(json_object_get_string(json_object_object_get(res, "text")), stdout);
		json_object_put(res);
		return CTL_OK;
	}
	if (!strcmp(sub, "check"))
		return ctl_dns_check(argc, argv);
	ctl_err("usage: mirrornetctl dns init|delegate|revoke|leave|list|show|check ...");
	return CTL_USAGE;
}
