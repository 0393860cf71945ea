/* mirrornetctl mail list | mx DOMAIN: the mesh's mail domains and backup
 * MX boxes, as this box's mail subsystem sees the svc "mail" records, and
 * the MX records of a domain to set at an outside DNS provider
 * (docs/mail.md). */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include "src/ctl/ctl.h"

static const char *js(struct json_object *o, const char *k, char *buf, size_t cap)
{
	struct json_object *v;

	return ctl_safe(json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "", buf, cap);
}

static void print_list(struct json_object *res)
{
	struct json_object *a;
	char b1[300], b2[64], b3[300];

	printf("%-40s  %-5s  %-16s  %-5s  %-4s  %-8s  %s\n", "DOMAIN", "BOX", "ENDPOINT", "PORT", "PRIO",
	       "IN SCOPE", "RELAYED HERE");
	if (json_object_object_get_ex(res, "domains", &a))
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			struct json_object *e = json_object_array_get_idx(a, i);
			printf("%-40s  %-5s  %-16s  %-5s  %-4s  %-8s  %s\n", js(e, "domain", b1, sizeof b1),
			       js(e, "box", b2, sizeof b2), js(e, "endpoint", b3, sizeof b3),
			       json_object_get_string(json_object_object_get(e, "port")),
			       json_object_get_string(json_object_object_get(e, "priority")),
			       json_object_get_boolean(json_object_object_get(e, "in_scope")) ? "yes" : "no",
			       json_object_get_boolean(json_object_object_get(e, "relayed_here")) ? "yes" : "no");
		}
	if (json_object_object_get_ex(res, "backups", &a) && json_object_array_length(a)) {
		printf("\nBACKUP MX  %-5s  %-16s  %-4s  %s\n", "BOX", "ENDPOINT", "PRIO", "MX HOST");
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			struct json_object *e = json_object_array_get_idx(a, i);
			printf("           %-5s  %-16s  %-4s  %s\n", js(e, "box", b2, sizeof b2),
			       js(e, "endpoint", b3, sizeof b3),
			       json_object_get_string(json_object_object_get(e, "priority")), js(e, "mx", b1, sizeof b1));
		}
	}
}

int ctl_mail(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	static const char usage[] = "usage: mirrornetctl mail list|mx DOMAIN [--json] [--socket PATH]";
	const char *sock = NULL;
	struct json_object *res = NULL, *req;
	char domain[256] = "", buf[300];
	bool json = false, mx;
	int c, rc;

	if (argc < 2 || (strcmp(argv[1], "list") && strcmp(argv[1], "mx")))
		return ctl_err("%s", usage), CTL_USAGE;
	mx = !strcmp(argv[1], "mx");
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'S': sock = optarg; break;
		case 'h': printf("%s\n", usage); return CTL_OK;
		default: ctl_err("%s", usage); return CTL_USAGE;
		}
	}
	if (optind != argc - (mx ? 1 : 0))
		return ctl_err("%s", usage), CTL_USAGE;
	req = json_object_new_object();
	if (mx) {
		/* DNS names are case-insensitive; the records are lowercase */
		size_t n = strlen(argv[optind]);
		if (n && argv[optind][n - 1] == '.')
			n--;
		if (n >= sizeof domain) {
			json_object_put(req);
			return ctl_err("mail mx: %s: too long", ctl_safe(argv[optind], buf, sizeof buf)), CTL_USAGE;
		}
		for (size_t i = 0; i < n; i++)
			domain[i] = (char)tolower((unsigned char)argv[optind][i]);
		domain[n] = 0;
		json_object_object_add(req, "domain", json_object_new_string(domain));
	}
	if ((rc = ctl_call(sock, mx ? "mail_mx" : "mail_list", req, &res)))
		return rc;
	if (json) {
		ctl_print_json(res);
	} else if (mx) {
		struct json_object *a = json_object_object_get(res, "mx");
		printf("; MX records of %s, to set at its DNS provider (primary first, then the backups)\n", domain);
		for (size_t i = 0; i < json_object_array_length(a); i++)
			printf("%s\n", js(json_object_array_get_idx(a, i), "record", buf, sizeof buf));
	} else {
		print_list(res);
	}
	json_object_put(res);
	return CTL_OK;
}
