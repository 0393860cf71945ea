/* mirrornetctl hosts: the mesh's members by name, as the daemon's hosts
 * subsystem writes them (docs/subsystems.md): the same list whether or not
 * hosts_file is set. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include "src/ctl/ctl.h"

int ctl_hosts(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	static const char usage[] = "usage: mirrornetctl hosts [--json] [--socket PATH]";
	const char *sock = NULL;
	struct json_object *res = NULL;
	bool json = false;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'S': sock = optarg; break;
		case 'h': printf("%s\n", usage); return CTL_OK;
		default: ctl_err("%s", usage); return CTL_USAGE;
		}
	}
	if (optind != argc)
		return ctl_err("%s", usage), CTL_USAGE;
	if ((rc = ctl_call(sock, "hosts_list", json_object_new_object(), &res)))
		return rc;
	if (json) {
		ctl_print_json(res);
	} else {
		size_t n = json_object_array_length(res);
		printf("%-40s  %-24s  %s\n", "ADDRESS", "NAME", "FQDN");
		for (size_t i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(res, i), *v;
			char a[200], nm[200], f[400];
			const char *addr = json_object_object_get_ex(e, "addr", &v) ? json_object_get_string(v) : "";
			const char *name = json_object_object_get_ex(e, "name", &v) ? json_object_get_string(v) : "";
			const char *fq = json_object_object_get_ex(e, "fqdn", &v) ? json_object_get_string(v) : "-";
			printf("%-40s  %-24s  %s\n", ctl_safe(addr, a, sizeof a), ctl_safe(name, nm, sizeof nm),
			       ctl_safe(fq, f, sizeof f));
		}
	}
	json_object_put(res);
	return CTL_OK;
}
