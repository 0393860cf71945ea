/* mirrornetctl expose: this box's exposures and the mesh's CDN (the
 * daemon's expose subsystem, docs/expose.md). add/remove/list/check, and
 * emancipate/revoke as SecuBox users know them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <json-c/json.h>
#include "src/ctl/ctl.h"

struct xo {
	const char *sock, *backend, *proto, *domain, *channels, *health, *port;
	const char *mirrors[16];
	int nmirrors;
	bool json, send_proxy;
	unsigned chbits;   /* --mesh --dns --tor --mdns --all */
};

enum { O_PORT = 256, O_BACKEND, O_PROTO, O_DOMAIN, O_CHANNELS, O_MIRROR, O_HEALTH, O_SENDPROXY,
       O_MESH, O_DNS, O_TOR, O_MDNS, O_ALL, O_CHANNEL };

/* 1 help printed, 0 ok, -1 usage error (printed). */
static int parse(int argc, char **argv, struct xo *o, const char *usage)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, O_PORT }, { "backend", required_argument, NULL, O_BACKEND },
		{ "proto", required_argument, NULL, O_PROTO }, { "domain", required_argument, NULL, O_DOMAIN },
		{ "channels", required_argument, NULL, O_CHANNELS },
		{ "channel", required_argument, NULL, O_CHANNEL },
		{ "mirror", required_argument, NULL, O_MIRROR }, { "health", required_argument, NULL, O_HEALTH },
		{ "send-proxy", no_argument, NULL, O_SENDPROXY }, { "mesh", no_argument, NULL, O_MESH },
		{ "dns", no_argument, NULL, O_DNS }, { "tor", no_argument, NULL, O_TOR },
		{ "mdns", no_argument, NULL, O_MDNS }, { "all", no_argument, NULL, O_ALL },
		{ "json", no_argument, NULL, 'j' }, { "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof *o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_PORT: o->port = optarg; break;
		case O_BACKEND: o->backend = optarg; break;
		case O_PROTO: o->proto = optarg; break;
		case O_DOMAIN: o->domain = optarg; break;
		case O_CHANNELS: case O_CHANNEL: o->channels = optarg; break;
		case O_MIRROR:
			if (o->nmirrors == 16) {
				ctl_err("expose: too many --mirror (the daemon takes at most 8)");
				return -1;
			}
			o->mirrors[o->nmirrors++] = optarg;
			break;
		case O_HEALTH: o->health = optarg; break;
		case O_SENDPROXY: o->send_proxy = true; break;
		case O_MESH: o->chbits |= 1; break;
		case O_DNS: o->chbits |= 2; break;
		case O_TOR: o->chbits |= 4; break;
		case O_MDNS: o->chbits |= 8; break;
		case O_ALL: o->chbits |= 15; break;
		case 'j': o->json = true; break;
		case 'S': o->sock = optarg; break;
		case 'h': printf("usage: mirrornetctl %s\n", usage); return 1;
		default: ctl_err("usage: mirrornetctl %s", usage); return -1;
		}
	}
	return 0;
}

/* --mesh --dns ... as a channel list ("" if none given). */
static void bits_text(unsigned bits, char *out, size_t cap)
{
	static const char *const names[] = { "mesh", "dns", "tor", "mdns" };
	size_t n = 0;

	out[0] = 0;
	for (unsigned i = 0; i < 4; i++)
		if (bits & (1u << i))
			n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? "," : "", names[i]);
}

static int do_add(struct xo *o, const char *svc, const char *port)
{
	struct json_object *req = json_object_new_object(), *res = NULL;
	char ch[64], a[400], b[400];
	uint64_t p;
	int rc;

	if (ctl_parse_u64(port, &p) < 0 || p < 1 || p > 65535) {
		json_object_put(req);
		ctl_err("expose: the port must be 1..65535, not '%s'", port);
		return CTL_USAGE;
	}
	json_object_object_add(req, "service", json_object_new_string(svc));
	json_object_object_add(req, "port", json_object_new_int((int)p));
	if (o->backend)
		json_object_object_add(req, "backend", json_object_new_string(o->backend));
	if (o->proto)
		json_object_object_add(req, "proto", json_object_new_string(o->proto));
	if (o->domain)
		json_object_object_add(req, "domain", json_object_new_string(o->domain));
	bits_text(o->chbits, ch, sizeof ch);
	if (o->channels || ch[0])
		json_object_object_add(req, "channels", json_object_new_string(o->channels ? o->channels : ch));
	if (o->nmirrors) {
		struct json_object *m = json_object_new_array();
		for (int i = 0; i < o->nmirrors; i++)
			json_object_array_add(m, json_object_new_string(o->mirrors[i]));
		json_object_object_add(req, "mirrors", m);
	}
	if (o->health)
		json_object_object_add(req, "health", json_object_new_string(o->health));
	if (o->send_proxy)
		json_object_object_add(req, "send_proxy", json_object_new_boolean(true));
	if ((rc = ctl_call(o->sock, "expose_add", req, &res)))
		return rc;
	if (o->json) {
		ctl_print_json(res);
	} else {
		const char *d = ctl_text(res, "domain");
		printf("exposed %s (%s, backend %s)%s%s\n", ctl_safe(svc, a, sizeof a), ctl_text(res, "proto"),
		       ctl_text(res, "backend"), d[0] ? " as " : "", ctl_safe(d, b, sizeof b));
	}
	json_object_put(res);
	return CTL_OK;
}

static int do_remove(struct xo *o, const char *svc, const char *channels)
{
	struct json_object *req = json_object_new_object(), *res = NULL;
	char a[200];
	int rc;

	json_object_object_add(req, "service", json_object_new_string(svc));
	if (channels && channels[0])
		json_object_object_add(req, "channel", json_object_new_string(channels));
	if ((rc = ctl_call(o->sock, "expose_remove", req, &res)))
		return rc;
	if (o->json)
		ctl_print_json(res);
	else if (json_object_object_get_ex(res, "channels", NULL))
		printf("%s: now on %s\n", ctl_safe(svc, a, sizeof a), ctl_text(res, "channels"));
	else
		printf("%s: no longer exposed\n", ctl_safe(svc, a, sizeof a));
	json_object_put(res);
	return CTL_OK;
}

static void print_list(struct json_object *res)
{
	struct json_object *own = json_object_object_get(res, "own"), *mesh = json_object_object_get(res, "mesh");
	char s1[200], s2[300], s3[100];

	printf("%-16s %-5s %-5s %-22s %-14s %s\n", "OWN SERVICE", "PORT", "PROTO", "BACKEND", "CHANNELS", "DOMAIN");
	for (size_t i = 0; own && i < json_object_array_length(own); i++) {
		struct json_object *e = json_object_array_get_idx(own, i);
		printf("%-16s %-5s %-5s %-22s %-14s %s\n", ctl_safe(ctl_text(e, "service"), s1, sizeof s1),
		       ctl_text(e, "port"), ctl_text(e, "proto"), ctl_text(e, "backend"), ctl_text(e, "channels"),
		       ctl_text(e, "domain")[0] ? ctl_safe(ctl_text(e, "domain"), s2, sizeof s2) : "-");
	}
	printf("\n%-16s %-5s %-5s %-14s %-36s %s\n", "MESH SERVICE", "PORT", "PROTO", "CHANNELS", "DOMAIN", "ORIGIN");
	for (size_t i = 0; mesh && i < json_object_array_length(mesh); i++) {
		struct json_object *e = json_object_array_get_idx(mesh, i);
		struct json_object *mine;
		char origin[40];
		snprintf(origin, sizeof origin, "%s", ctl_text(e, "origin"));
		bool me = json_object_object_get_ex(e, "mine", &mine) && json_object_get_boolean(mine);
		printf("%-16s %-5s %-5s %-14s %-36s %s\n", ctl_safe(ctl_text(e, "service"), s1, sizeof s1),
		       ctl_text(e, "port"), ctl_text(e, "proto"), ctl_text(e, "channels"),
		       ctl_text(e, "domain")[0] ? ctl_safe(ctl_text(e, "domain"), s2, sizeof s2) : "-",
		       me ? "(this node)" : ctl_safe(origin, s3, sizeof s3));
		if (ctl_text(e, "onion")[0])   /* its Tor hidden service */
			printf("%-16s tor %s\n", "", ctl_safe(ctl_text(e, "onion"), s2, sizeof s2));
	}
}

/* `haproxy -c` on the rendered config: 0 valid; its output on stderr. */
static int run_check(const char *haproxy, const char *cfg, bool quiet)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (quiet) {
			FILE *n = freopen("/dev/null", "w", stdout);
			(void)n;
		} else {
			dup2(2, 1);
		}
		execl(haproxy, haproxy, "-c", "-q", "-f", cfg, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int do_check(struct xo *o)
{
	struct json_object *res = NULL, *probs;
	int rc;

	if ((rc = ctl_call(o->sock, "expose_check", NULL, &res)))
		return rc;
	const char *cfg = ctl_text(res, "config"), *ha = ctl_text(res, "haproxy");
	bool proxy = !strcmp(ctl_text(res, "proxy"), "haproxy");
	int hc = -2;   /* -2: not run */
	if (access(ha, X_OK) == 0)
		hc = run_check(ha, cfg, o->json);
	else if (proxy)
		hc = 127;
	probs = json_object_object_get(res, "problems");
	size_t np = probs ? json_object_array_length(probs) : 0;
	bool ok = np == 0 && (hc == 0 || hc == -2);
	if (o->json) {
		json_object_object_add(res, "haproxy_check", json_object_new_string(
			hc == -2 ? "not run (haproxy not installed)" : hc == 0 ? "ok" : hc == 127 ?
			"haproxy not found" : "failed"));
		json_object_object_add(res, "ok", json_object_new_boolean(ok));
		ctl_print_json(res);
	} else {
		char s[400];
		printf("routes: %s, skipped: %s, refused records: %s\n", ctl_text(res, "routes"), ctl_text(res, "skipped"),
		       ctl_text(res, "refused"));
		for (size_t i = 0; i < np; i++)
			printf("problem: %s\n", ctl_safe(json_object_get_string(json_object_array_get_idx(probs, i)),
							 s, sizeof s));
		if (hc == -2)
			printf("haproxy -c: not run (%s is not installed)\n", ha);
		else
			printf("haproxy -c %s: %s\n", cfg, hc == 0 ? "ok" : hc == 127 ? "haproxy not found" : "FAILED");
	}
	json_object_put(res);
	return ok ? CTL_OK : CTL_FAIL;
}

int ctl_expose(int argc, char **argv)
{
	const char *sub = argc >= 2 ? argv[1] : "";
	struct xo o;
	char ch[64];
	int rc;

	argc--;
	argv++;
	if (!strcmp(sub, "add")) {
		static const char u[] = "expose add SERVICE --port N [--backend IP:PORT] [--proto http|tls|tcp] "
			"[--domain NAME] [--channels mesh,dns,tor,mdns | --all] [--mirror NODE]... "
			"[--health PATH] [--send-proxy] [--json]";
		if ((rc = parse(argc, argv, &o, u)))
			return rc > 0 ? CTL_OK : CTL_USAGE;
		if (optind != argc - 1 || !o.port)
			return ctl_err("usage: mirrornetctl %s", u), CTL_USAGE;
		return do_add(&o, argv[optind], o.port);
	}
	if (!strcmp(sub, "emancipate")) {
		static const char u[] = "expose emancipate SERVICE PORT DOMAIN [--mesh] [--dns] [--tor] [--mdns] "
			"[--all] [--backend IP:PORT] [--proto P] [--mirror NODE]... [--json]";
		if ((rc = parse(argc, argv, &o, u)))
			return rc > 0 ? CTL_OK : CTL_USAGE;
		if (optind != argc - 3)
			return ctl_err("usage: mirrornetctl %s", u), CTL_USAGE;
		o.domain = argv[optind + 2];
		if (!o.chbits && !o.channels)
			o.chbits = 15;   /* every channel, as SecuBox's emancipate */
		return do_add(&o, argv[optind], argv[optind + 1]);
	}
	if (!strcmp(sub, "remove") || !strcmp(sub, "revoke")) {
		static const char u[] = "expose remove|revoke SERVICE [--channel mesh,dns,tor,mdns | --mesh --dns "
			"--tor --mdns] [--json]";
		if ((rc = parse(argc, argv, &o, u)))
			return rc > 0 ? CTL_OK : CTL_USAGE;
		if (optind != argc - 1)
			return ctl_err("usage: mirrornetctl %s", u), CTL_USAGE;
		bits_text(o.chbits == 15 ? 0 : o.chbits, ch, sizeof ch);
		return do_remove(&o, argv[optind], o.channels ? o.channels : ch);
	}
	if (!strcmp(sub, "list")) {
		if ((rc = parse(argc, argv, &o, "expose list [--json]")))
			return rc > 0 ? CTL_OK : CTL_USAGE;
		struct json_object *res = NULL;
		if (optind != argc)
			return ctl_err("usage: mirrornetctl expose list [--json]"), CTL_USAGE;
		if ((rc = ctl_call(o.sock, "expose_list", NULL, &res)))
			return rc;
		if (o.json)
			ctl_print_json(res);
		else
			print_list(res);
		json_object_put(res);
		return CTL_OK;
	}
	if (!strcmp(sub, "check")) {
		if ((rc = parse(argc, argv, &o, "expose check [--json]")))
			return rc > 0 ? CTL_OK : CTL_USAGE;
		if (optind != argc)
			return ctl_err("usage: mirrornetctl expose check [--json]"), CTL_USAGE;
		return do_check(&o);
	}
	ctl_err("usage: mirrornetctl expose add|remove|list|check|emancipate|revoke ...");
	return CTL_USAGE;
}
