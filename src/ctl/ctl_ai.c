/* mirrornetctl ai list: the boxes of the mesh that serve OpenAI-compatible
 * models, as this box's ai subsystem routes them (docs/ai.md): ours first,
 * then the peers whose svc "ai" record it accepted. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>
#include "src/ctl/ctl.h"

int ctl_ai(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' }, { "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 'S' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage[] = "usage: mirrornetctl ai list [--model M] [--json] [--socket PATH]";
	const char *sock = NULL, *model = NULL;
	struct json_object *res = NULL, *req;
	bool json = false;
	int c, rc;

	if (argc < 2 || strcmp(argv[1], "list"))
		return ctl_err("%s", usage), CTL_USAGE;
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'j': json = true; break;
		case 'S': sock = optarg; break;
		case 'h': printf("%s\n", usage); return CTL_OK;
		default: ctl_err("%s", usage); return CTL_USAGE;
		}
	}
	if (optind != argc)
		return ctl_err("%s", usage), CTL_USAGE;
	req = json_object_new_object();
	if (model)
		json_object_object_add(req, "model", json_object_new_string(model));
	if ((rc = ctl_call(sock, "ai_list", req, &res)))
		return rc;
	if (json) {
		ctl_print_json(res);
	} else {
		size_t n = json_object_array_length(res);
		printf("%-5s  %-40s  %-5s  %s\n", "BOX", "ENDPOINT", "PORT", "MODELS");
		for (size_t i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(res, i), *v, *ms;
			char a[200], b[16], m[200];
			const char *box = json_object_object_get_ex(e, "box", &v) ? json_object_get_string(v) : "";
			const char *ep = json_object_object_get_ex(e, "endpoint", &v) ? json_object_get_string(v) : "";
			int port = json_object_object_get_ex(e, "port", &v) ? json_object_get_int(v) : 0;
			printf("%-5s  %-40s  %-5d ", ctl_safe(box, b, sizeof b), ctl_safe(ep, a, sizeof a), port);
			if (json_object_object_get_ex(e, "models", &ms))
				for (size_t k = 0; k < json_object_array_length(ms); k++)
					printf(" %s", ctl_safe(json_object_get_string(json_object_array_get_idx(ms, k)),
							       m, sizeof m));
			putchar('\n');
		}
	}
	json_object_put(res);
	return CTL_OK;
}
