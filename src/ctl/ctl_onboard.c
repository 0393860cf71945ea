/* mirrornetctl mesh init, invite, join, revoke, key: onboarding from the
 * command line (docs/onboarding.md). `join` is the joiner's side and runs
 * without a daemon: it brings WireGuard up with the invitation's
 * temporary key, proves the invitation to the inviter inside the tunnel,
 * and writes the key, certificate chain and configuration the daemon then
 * starts from. Everything else talks to the local daemon. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "src/ctl/ctl.h"
#include "src/addrplan.h"
#include "src/netaddr.h"
#include "src/ctl/ipk.h"
#include "src/join_msg.h"
#include "src/onboard/joinclient.h"
#include "src/wg/wg.h"
#include "crypto/crypto.h"
#include "crypto/did.h"
#include "crypto/invite.h"
#include "crypto/key.h"
#include "crypto/record_sig.h"
#include "proto/hex.h"

#define DEFAULT_DIR "/etc/mirrornet"

static bool want_json(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--json"))
			return true;
	return false;
}

/* ---- mesh init ---- */

static int write_text(const char *path, const char *text, unsigned mode)
{
	int rc = ctl_write_file(path, (const uint8_t *)text, strlen(text), mode);

	if (rc < 0)
		ctl_err("cannot write %s: %s", path, strerror(-rc));
	return rc;
}

static void mesh_id(const uint8_t root[32], char out[20])
{
	uint8_t in[64], h[32];
	static const char label[] = "mirrornet/v1/mesh-id";

	memset(in, 0, sizeof in);
	memcpy(in, label, sizeof label - 1);
	memcpy(in + 32, root, 32);
	crypto_blake2b(in, sizeof in, h);
	memcpy(out, "mn-", 3);
	hex_encode(h, 8, out + 3);
}

static int mesh_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' }, { "name", required_argument, NULL, 'n' },
		{ "subnet", required_argument, NULL, 's' }, { "domain", required_argument, NULL, 'D' },
		{ "max-depth", required_argument, NULL, 'm' }, { "endpoint", required_argument, NULL, 'e' },
		{ "wg-interface", required_argument, NULL, 'i' }, { "wg-port", required_argument, NULL, 'p' },
		{ "wg-backend", required_argument, NULL, 'b' }, { "db", required_argument, NULL, 'B' },
		{ "api", required_argument, NULL, 'A' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *dir = DEFAULT_DIR, *name = NULL, *subnet = ADDRPLAN_DEFAULT, *domain = "";
	const char *endpoint = "", *ifname = "mirrornet", *backend = "auto", *db = NULL, *api = NULL;
	uint64_t maxd = 3, port = 51820;
	bool json = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': name = optarg; break;
		case 's': subnet = optarg; break;
		case 'D': domain = optarg; break;
		case 'm': if (ctl_parse_u64(optarg, &maxd) < 0 || maxd < 1 || maxd > MN_MAX_DEPTH) goto usage; break;
		case 'e': endpoint = optarg; break;
		case 'i': ifname = optarg; break;
		case 'p': if (ctl_parse_u64(optarg, &port) < 0 || port < 1 || port > 65535) goto usage; break;
		case 'b': backend = optarg; break;
		case 'B': db = optarg; break;
		case 'A': api = optarg; break;
		case 'j': json = true; break;
		case 'h':
			printf("usage: mirrornetctl mesh init --name NAME [--dir DIR] [--subnet CIDR] [--domain D]\n"
			       "       [--max-depth N] [--endpoint HOST:PORT] [--wg-interface IF] [--wg-port N]\n"
			       "       [--wg-backend auto|uapi|netlink] [--db FILE] [--api SOCKET] [--json]\n"
			       "Creates the mesh root: DIR/node.key, DIR/root.cert, DIR/mirrornetd.conf.\n");
			return CTL_OK;
		default: goto usage;
		}
	}
	if (!name || !dns_name_valid(name, false) || strchr(name, '.')) {
		ctl_err("mesh init: --name NAME (a DNS label) is required");
		goto usage;
	}
	struct addrplan ap;
	if (addrplan_parse(subnet, &ap) < 0) {
		ctl_err("mesh init: --subnet %s is not a usable CIDR", subnet);
		return CTL_USAGE;
	}
	if (domain[0] && !dns_name_valid(domain, false)) {
		ctl_err("mesh init: --domain %s is not a DNS name", domain);
		return CTL_USAGE;
	}
	if (endpoint[0] && (!strrchr(endpoint, ':') || strpbrk(endpoint, " \t\n"))) {
		ctl_err("mesh init: --endpoint HOST:PORT");
		return CTL_USAGE;
	}
	enum wg_mode mode;
	if (strlen(ifname) < 1 || strlen(ifname) > 15 || wg_mode_parse(backend, &mode) < 0) {
		ctl_err("mesh init: --wg-interface of 1..15 characters, --wg-backend auto, uapi or netlink");
		return CTL_USAGE;
	}
	char keyp[PATH_MAX], certp[PATH_MAX], confp[PATH_MAX], dbp[PATH_MAX];
	snprintf(keyp, sizeof keyp, "%s/node.key", dir);
	snprintf(certp, sizeof certp, "%s/root.cert", dir);
	snprintf(confp, sizeof confp, "%s/mirrornetd.conf", dir);
	snprintf(dbp, sizeof dbp, "%s", db ? db : "");
	if (!db)
		snprintf(dbp, sizeof dbp, "%s/store.db", dir);
	if (access(confp, F_OK) == 0) {
		ctl_err("mesh init: %s exists: this node already belongs to a mesh", confp);
		return CTL_FAIL;
	}
	mkdir(dir, 0700);
	struct node_key k;
	bool insecure;
	if (node_key_load(&k, keyp, &insecure) < 0) {
		if (node_key_generate(&k) < 0 || node_key_save(&k, keyp) < 0) {
			ctl_err("mesh init: cannot write %s: %s", keyp, strerror(errno));
			node_key_wipe(&k);
			return CTL_FAIL;
		}
	}
	/* the master's address: the first of the plan */
	char addr[MN_MAX_ADDR + 1];
	addrplan_next(&ap, NULL, 0, addr, sizeof addr);
	/* the root's own depth-0 certificate: sets max_depth and the DNS scope */
	union body b;
	memset(&b, 0, sizeof b);
	memcpy(b.cert.subject, k.pk, 32);
	b.cert.role = ROLE_MASTER;
	b.cert.max_depth = (uint8_t)maxd;
	snprintf(b.cert.dns_scope, sizeof b.cert.dns_scope, "%s", domain);
	snprintf(b.cert.mesh_addr, sizeof b.cert.mesh_addr, "%s", addr);
	uint64_t now = (uint64_t)time(NULL);
	b.cert.not_before = now - 600;
	b.cert.not_after = now + 10ull * 365 * 86400;
	uint8_t bodybuf[MN_MAX_BODY], wire[MN_MAX_RECORD];
	size_t blen;
	struct record r;
	char hex[65];
	hex_encode(k.pk, 32, hex);
	if (body_encode(KIND_CERT, &b, bodybuf, sizeof bodybuf, &blen) < 0 ||
	    record_init(&r, KIND_CERT, k.pk, hex, now * 1000, b.cert.not_after) < 0) {
		ctl_err("mesh init: cannot encode the root certificate");
		node_key_wipe(&k);
		return CTL_FAIL;
	}
	r.body = bodybuf;
	r.body_len = blen;
	int rc = record_sign(&r, &k, wire, sizeof wire);
	if (rc < 0 || ctl_write_file(certp, wire, r.wire_len, 0644) < 0) {
		ctl_err("mesh init: cannot write %s", certp);
		node_key_wipe(&k);
		return CTL_FAIL;
	}
	char did[DID_KEY_MAX], id[20], conf[4096];
	did_key_encode(DID_ED25519, k.pk, did, sizeof did);
	mesh_id(k.pk, id);
	int n = snprintf(conf, sizeof conf,
			 "# written by mirrornetctl mesh init (mesh %s)\n"
			 "name %s\nkey %s\ndb %s\napi %s\nroot %s\nrole master\nmesh_addr %s\n"
			 "cert %s\nsubnet %s\nwg_interface %s\nwg_address %s/%u\nwg_backend %s\nwg_port %u\n%s%s%s",
			 id, name, keyp, dbp, api ? api : "/var/run/mirrornet/api.sock", did, addr, certp,
			 subnet, ifname, addr, (unsigned)ap.prefix, backend, (unsigned)port, endpoint[0] ? "wg_endpoint " : "",
			 endpoint, endpoint[0] ? "\n" : "");
	node_key_wipe(&k);
	if (n >= (int)sizeof conf || write_text(confp, conf, 0600) < 0)
		return CTL_FAIL;
	if (json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "mesh_id", json_object_new_string(id));
		json_object_object_add(o, "root", json_object_new_string(did));
		json_object_object_add(o, "mesh_addr", json_object_new_string(addr));
		json_object_object_add(o, "subnet", json_object_new_string(subnet));
		json_object_object_add(o, "domain", json_object_new_string(domain));
		json_object_object_add(o, "max_depth", json_object_new_int((int)maxd));
		json_object_object_add(o, "config", json_object_new_string(confp));
		ctl_print_json(o);
		json_object_put(o);
	} else {
		printf("mesh %s created\n  root %s\n  master %s at %s (subnet %s%s%s)\n  config %s\n", id,
		       did, name, addr, subnet, domain[0] ? ", domain " : "", domain, confp);
		if (!endpoint[0])
			printf("  note: set wg_endpoint HOST:PORT in the config before inviting anyone\n");
	}
	return CTL_OK;
usage:
	ctl_err("usage: mirrornetctl mesh init --name NAME [--dir DIR] ... (--help)");
	return CTL_USAGE;
}

int ctl_mesh(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "init"))
		return mesh_init(argc - 1, argv + 1);
	ctl_err("usage: mirrornetctl mesh init --name NAME [--dir DIR] ...");
	return CTL_USAGE;
}

/* ---- invite ---- */

static int write_ipk(const char *path, const char *name, const char *id, const char *token)
{
	char err[256];
	int rc = ipk_join_write(path, name, id, token, (long long)time(NULL), err, sizeof err);

	if (rc < 0)
		ctl_err("invite create: cannot write the package %s: %s", path, err);
	return rc;
}

static void print_invites(struct json_object *arr)
{
	size_t n = json_object_array_length(arr);

	if (!n) {
		printf("no invitations\n");
		return;
	}
	printf("%-16s  %-16s  %-10s  %-9s  %-18s  %s\n", "ID", "NAME", "ROLE", "STATE", "ADDRESS", "NODE");
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *v;
		const char *f[6] = { "id", "name", "role", "state", "addr", "node_name" };
		const char *s[6];
		char safe[6][256];
		for (int k = 0; k < 6; k++)
			s[k] = ctl_safe(json_object_object_get_ex(o, f[k], &v) ? json_object_get_string(v)
									: "-", safe[k], sizeof safe[k]);
		printf("%-16s  %-16s  %-10s  %-9s  %-18s  %s\n", s[0], s[1], s[2], s[3], s[4], s[5]);
	}
}

/* invite/join subcommands that take an id: the API call and its output. */
static int id_call(int argc, char **argv, const char *cmd, const char *usage_text)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "socket", required_argument, NULL, 'S' },
		{ "reason", required_argument, NULL, 'r' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *reason = NULL;
	bool json = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'S': sock = optarg; break;
		case 'r': reason = optarg; break;
		case 'h': printf("usage: mirrornetctl %s\n", usage_text); return CTL_OK;
		default: ctl_err("usage: mirrornetctl %s", usage_text); return CTL_USAGE;
		}
	}
	if (optind != argc - 1) {
		ctl_err("usage: mirrornetctl %s", usage_text);
		return CTL_USAGE;
	}
	struct json_object *req = json_object_new_object(), *res;
	/* ("id" is the API's request id: the invitation's id goes as "invitation") */
	json_object_object_add(req, "invitation", json_object_new_string(argv[optind]));
	if (reason)
		json_object_object_add(req, "reason", json_object_new_string(reason));
	int rc = ctl_call(sock, cmd, req, &res);
	if (rc)
		return rc;
	if (json)
		ctl_print_json(res);
	else {
		struct json_object *v;
		printf("%s: %s\n", argv[optind], json_object_object_get_ex(res, "state", &v) ?
		       json_object_get_string(v) : "done");
	}
	json_object_put(res);
	return CTL_OK;
}

static int list_call(int argc, char **argv, const char *state)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "socket", required_argument, NULL, 'S' },
		{ "state", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL;
	bool json = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'S': sock = optarg; break;
		case 's': state = optarg; break;
		case 'h': printf("usage: mirrornetctl invite list [--state open|waiting|used|rejected|revoked|expired] [--json]\n"); return CTL_OK;
		default: return CTL_USAGE;
		}
	}
	struct json_object *req = json_object_new_object(), *res;
	if (state)
		json_object_object_add(req, "state", json_object_new_string(state));
	int rc = ctl_call(sock, "invite_list", req, &res);
	if (rc)
		return rc;
	if (json)
		ctl_print_json(res);
	else
		print_invites(res);
	json_object_put(res);
	return CTL_OK;
}

static int invite_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' }, { "role", required_argument, NULL, 'r' },
		{ "ttl", required_argument, NULL, 't' }, { "auto-approve", no_argument, NULL, 'a' },
		{ "zone", required_argument, NULL, 'z' }, { "ipk", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' }, { "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	const char *name = NULL, *role = NULL, *zone = NULL, *ipk = NULL, *sock = NULL;
	long long ttl = 86400;
	bool autoa = false, json = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'r': role = optarg; break;
		case 't':
			if ((ttl = ctl_parse_duration(optarg)) < 0) {
				ctl_err("invite create: --ttl DURATION (e.g. 90m, 24h, 7d)");
				return CTL_USAGE;
			}
			break;
		case 'a': autoa = true; break;
		case 'z': zone = optarg; break;
		case 'i': ipk = optarg; break;
		case 'j': json = true; break;
		case 'S': sock = optarg; break;
		case 'h':
			printf("usage: mirrornetctl invite create --name NAME [--role peer|sub-master] [--ttl DURATION]\n"
			       "       [--auto-approve] [--zone DNS-ZONE] [--ipk FILE] [--json]\n");
			return CTL_OK;
		default: return CTL_USAGE;
		}
	}
	if (!name || optind != argc) {
		ctl_err("usage: mirrornetctl invite create --name NAME [...]");
		return CTL_USAGE;
	}
	struct json_object *req = json_object_new_object(), *res, *v;
	json_object_object_add(req, "name", json_object_new_string(name));
	if (role)
		json_object_object_add(req, "role", json_object_new_string(role));
	if (zone)
		json_object_object_add(req, "zone", json_object_new_string(zone));
	json_object_object_add(req, "ttl_s", json_object_new_int64(ttl));
	json_object_object_add(req, "auto_approve", json_object_new_boolean(autoa));
	int rc = ctl_call(sock, "invite_create", req, &res);
	if (rc)
		return rc;
	const char *token = json_object_object_get_ex(res, "token", &v) ? json_object_get_string(v) : "";
	const char *id = json_object_object_get_ex(res, "id", &v) ? json_object_get_string(v) : "";
	if (ipk && write_ipk(ipk, name, id, token) < 0) {
		/* nothing half-done: the invitation goes too */
		struct json_object *rq = json_object_new_object(), *r2;
		json_object_object_add(rq, "invitation", json_object_new_string(id));
		if (ctl_call(sock, "invite_revoke", rq, &r2) == CTL_OK)
			json_object_put(r2);
		json_object_put(res);
		return CTL_FAIL;
	}
	if (json) {
		if (ipk)
			json_object_object_add(res, "ipk", json_object_new_string(ipk));
		ctl_print_json(res);
	} else {
		printf("%s\n", token);
		fprintf(stderr, "invitation %s for %s (%zu characters)%s%s%s; on the new router: "
			"mirrornetctl join TOKEN%s\n", id, name, strlen(token), ipk ? ", package " : "",
			ipk ? ipk : "", autoa ? ", approved automatically" : "",
			ipk ? ", or opkg install the package" : "");
	}
	json_object_put(res);
	return CTL_OK;
}

int ctl_invite(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "create"))
		return invite_create(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return list_call(argc - 1, argv + 1, NULL);
	if (argc >= 2 && !strcmp(argv[1], "revoke"))
		return id_call(argc - 1, argv + 1, "invite_revoke", "invite revoke ID [--json]");
	ctl_err("usage: mirrornetctl invite create|list|revoke ...");
	return CTL_USAGE;
}

/* ---- join (the joiner's side) ---- */

struct joiner {
	const char *dir;
	char state_path[PATH_MAX];
	bool json;
};

static void join_state(struct joiner *j, const char *state, const char *msg, const char *id)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "message", json_object_new_string(msg));
	json_object_object_add(o, "invitation", json_object_new_string(id));
	json_object_object_add(o, "at", json_object_new_int64((int64_t)time(NULL)));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	char line[1024];
	snprintf(line, sizeof line, "%s\n", s);
	ctl_write_file(j->state_path, (const uint8_t *)line, strlen(line), 0600);
	json_object_put(o);
}

/* The join's own event loop: the exchanges with the inviter and the
 * waits between them run on it, and SIGINT or SIGTERM ends either (the
 * signal watchers are unreferenced: they do not keep uv_run going). */
struct join_loop {
	uv_loop_t loop;
	uv_signal_t sigint, sigterm;
	uv_timer_t wait;
	struct joinclient *jc;         /* the exchange under way */
	bool stopped;
	int status;                    /* of the last exchange */
	uint8_t *in;                   /* its answer: JOIN_MAX_ANSWER bytes */
	size_t inlen;
	char *err;
	size_t errcap;
};

static void on_stop(uv_signal_t *s, int sig)
{
	struct join_loop *jl = s->data;

	(void)sig;
	jl->stopped = true;
	if (jl->jc)
		joinclient_cancel(jl->jc);
	jl->jc = NULL;
	uv_timer_stop(&jl->wait);
}

static int join_loop_init(struct join_loop *jl, uint8_t *in, char *err, size_t errcap)
{
	int rc;

	memset(jl, 0, sizeof *jl);
	if ((rc = uv_loop_init(&jl->loop)) < 0)
		return rc;
	uv_signal_init(&jl->loop, &jl->sigint);
	uv_signal_init(&jl->loop, &jl->sigterm);
	uv_timer_init(&jl->loop, &jl->wait);
	jl->sigint.data = jl->sigterm.data = jl;
	uv_signal_start(&jl->sigint, on_stop, SIGINT);
	uv_signal_start(&jl->sigterm, on_stop, SIGTERM);
	uv_unref((uv_handle_t *)&jl->sigint);
	uv_unref((uv_handle_t *)&jl->sigterm);
	jl->in = in;
	jl->err = err;
	jl->errcap = errcap;
	return 0;
}

static void join_loop_close(struct join_loop *jl)
{
	uv_close((uv_handle_t *)&jl->sigint, NULL);
	uv_close((uv_handle_t *)&jl->sigterm, NULL);
	uv_close((uv_handle_t *)&jl->wait, NULL);
	uv_run(&jl->loop, UV_RUN_DEFAULT);
	uv_loop_close(&jl->loop);
}

static void on_wait(uv_timer_t *t)
{
	(void)t;
}

/* Wait secs seconds, or less if stopped. */
static void join_wait(struct join_loop *jl, unsigned secs)
{
	if (jl->stopped)
		return;
	uv_update_time(&jl->loop);   /* (its clock stood still outside uv_run) */
	uv_timer_start(&jl->wait, on_wait, (uint64_t)secs * 1000, 0);
	uv_run(&jl->loop, UV_RUN_DEFAULT);
}

static void exchanged(void *arg, int status, const uint8_t *ans, size_t len, const char *err)
{
	struct join_loop *jl = arg;

	jl->jc = NULL;
	jl->status = status;
	if (status < 0) {
		snprintf(jl->err, jl->errcap, "%s", err);
		return;
	}
	memcpy(jl->in, ans, len);   /* (len <= JOIN_MAX_ANSWER) */
	jl->inlen = len;
}

/* One exchange with the inviter (src/onboard/joinclient.h) on the join's
 * loop: from our reserved address, bounded by 8 s; after the ack the
 * inviter gets 200 ms to swap our tunnel (it does on the ack; its closing
 * FIN may itself be routed to the new tunnel, so it is not waited for)
 * before our real key speaks. The answer's length (in jl->in), or a
 * negative errno with the reason in jl->err. */
static long exchange(struct join_loop *jl, const struct sockaddr_storage *sa,
		     const struct sockaddr_storage *src, const uint8_t *req, size_t reqlen)
{
	struct joinclient_spec s = {
		.dst = sa, .src = src->ss_family == sa->ss_family ? src : NULL, .req = req,
		.reqlen = reqlen, .timeout_ms = 8000, .grace_ms = 200, .done = exchanged, .arg = jl,
	};
	int rc;

	if (jl->stopped)
		return -EINTR;
	uv_update_time(&jl->loop);
	if ((rc = joinclient_start(&jl->loop, &s, &jl->jc)) < 0) {
		snprintf(jl->err, jl->errcap, "%s", uv_strerror(rc));
		return rc;
	}
	jl->status = -EINTR;   /* unless done says otherwise: stopped */
	uv_run(&jl->loop, UV_RUN_DEFAULT);
	return jl->status < 0 ? jl->status : (long)jl->inlen;
}

static int resolve_endpoint(const char *hp, struct sockaddr_storage *sa)
{
	char host[MN_MAX_ENDPOINT + 1];
	const char *colon = strrchr(hp, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai = NULL;

	if (!colon)
		return -EINVAL;
	snprintf(host, sizeof host, "%.*s", (int)(colon - hp), hp);
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = 0;
	}
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
		return -EHOSTUNREACH;
	memset(sa, 0, sizeof *sa);
	memcpy(sa, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

static int write_config(struct joiner *j, const struct invite_token *t, const struct join_resp *r,
			const struct join_chain *c, const char *ifname, const char *backend, unsigned port,
			const char *endpoint, const char *db, const char *api, const char *confp)
{
	char conf[8192], path[PATH_MAX], did[DID_KEY_MAX], wghex[65], a[MN_MAX_ADDR + 1];
	size_t off = 0;
	struct addrplan ap;
	char net[MN_MAX_ADDR + 1];

	did_key_encode(DID_ED25519, r->root, did, sizeof did);
	snprintf(a, sizeof a, "%.*s", (int)strcspn(t->addr, "/"), t->addr);
	/* the subnet: the address's network */
	snprintf(net, sizeof net, "%s", t->addr);
	if (addrplan_parse(net, &ap) < 0) {
		/* host bits set: compute the network */
		unsigned char bin[16];
		int af = strchr(a, ':') ? AF_INET6 : AF_INET;
		unsigned pfx = (unsigned)atoi(strchr(t->addr, '/') + 1);
		inet_pton(af, a, bin);
		for (unsigned i = 0; i < (af == AF_INET6 ? 128u : 32u); i++)
			if (i >= pfx)
				bin[i / 8] &= (unsigned char)~(0x80 >> (i % 8));
		char tmp[INET6_ADDRSTRLEN];
		inet_ntop(af, bin, tmp, sizeof tmp);
		snprintf(net, sizeof net, "%s/%u", tmp, pfx);
	}
	off += (size_t)snprintf(conf + off, sizeof conf - off,
		"# written by mirrornetctl join (invitation of %s)\n"
		"name %s\nkey %s/node.key\ndb %s\napi %s\nroot %s\nrole %s\nmesh_addr %s\nsubnet %s\n",
		t->inviter_addr, t->name, j->dir, db, api, did, role_names[t->role], a, net);
	for (size_t i = 0; i < c->n; i++) {
		snprintf(path, sizeof path, "%s/chain-%zu.cert", j->dir, i);
		int rc = ctl_write_file(path, c->rec[i], c->len[i], 0644);
		if (rc < 0) {
			ctl_err("join: cannot write %s: %s", path, strerror(-rc));
			return rc;
		}
		off += (size_t)snprintf(conf + off, sizeof conf - off, "cert %s\n", path);
	}
	did_key_encode(DID_ED25519, t->inviter, did, sizeof did);
	hex_encode(t->inviter_wg, 32, wghex);
	off += (size_t)snprintf(conf + off, sizeof conf - off,
		"wg_interface %s\nwg_address %s\nwg_backend %s\nwg_port %u\n%s%s%s"
		"wg_peer %s %s %s %s\ngossip_port %u\njoin_port %u\n",
		ifname, t->addr, backend, port, endpoint[0] ? "wg_endpoint " : "", endpoint, endpoint[0] ? "\n" : "",
		did, wghex, t->endpoint, t->inviter_addr, r->gossip_port ? r->gossip_port : 7332,
		t->port);
	if (off >= sizeof conf)
		return -ENOSPC;
	return write_text(confp, conf, 0600);
}

static int do_join(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "invite-file", required_argument, NULL, 'f' }, { "dir", required_argument, NULL, 'd' },
		{ "wg-interface", required_argument, NULL, 'i' }, { "wg-backend", required_argument, NULL, 'b' },
		{ "wg-port", required_argument, NULL, 'p' }, { "endpoint", required_argument, NULL, 'e' },
		{ "db", required_argument, NULL, 'B' }, { "api", required_argument, NULL, 'A' },
		{ "timeout", required_argument, NULL, 't' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	/* defaults from the environment (what an init script or the join
	 * package's postinst knows of the box), else the usual ones */
	const char *file = NULL, *ifname = getenv("MIRRORNET_WG_INTERFACE"), *endpoint = "";
	const char *backend = getenv("MIRRORNET_WG_BACKEND");
	const char *db = NULL, *api = "/var/run/mirrornet/api.sock";
	if (!ifname || !*ifname)
		ifname = "mirrornet";
	if (!backend || !*backend)
		backend = "auto";
	struct joiner j = { .dir = DEFAULT_DIR };
	uint64_t port = 51820;
	long long timeout = -1;
	char text[INVITE_TEXT_MAX + 64] = "", err[512];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f': file = optarg; break;
		case 'd': j.dir = optarg; break;
		case 'i': ifname = optarg; break;
		case 'b': backend = optarg; break;
		case 'p': if (ctl_parse_u64(optarg, &port) < 0 || !port || port > 65535) return CTL_USAGE; break;
		case 'e': endpoint = optarg; break;
		case 'B': db = optarg; break;
		case 'A': api = optarg; break;
		case 't':
			if ((timeout = ctl_parse_duration(optarg)) < 0)
				return CTL_USAGE;
			break;
		case 'j': j.json = true; break;
		case 'h':
			printf("usage: mirrornetctl join TOKEN | --invite-file FILE [--dir DIR] [--wg-interface IF]\n"
			       "       [--wg-backend auto|uapi|netlink] [--wg-port N] [--endpoint HOST:PORT] [--db FILE]\n"
			       "       [--api SOCKET] [--timeout DURATION] [--json]\n"
			       "Joins the mesh the invitation is for; writes DIR/node.key, DIR/chain-*.cert and\n"
			       "DIR/mirrornetd.conf for mirrornetd. Waits (and says so) for a manual approval.\n");
			return CTL_OK;
		default: return CTL_USAGE;
		}
	}
	if (file && optind == argc) {
		uint8_t *buf;
		long n = ctl_read_file(file, INVITE_TEXT_MAX + 32, &buf);
		if (n < 0) {
			ctl_err("join: cannot read %s: %s", file, strerror((int)-n));
			return CTL_FAIL;
		}
		snprintf(text, sizeof text, "%.*s", (int)n, (const char *)buf);
		crypto_wipe(buf, (size_t)n);
		free(buf);
	} else if (!file && optind == argc - 1) {
		snprintf(text, sizeof text, "%s", argv[optind]);
	} else {
		ctl_err("usage: mirrornetctl join TOKEN | --invite-file FILE [...]");
		return CTL_USAGE;
	}
	struct invite_token t;
	if (invite_token_parse(text, &t, err, sizeof err) < 0) {
		crypto_wipe(text, sizeof text);
		ctl_err("join: %s", err);
		return CTL_INVALID;
	}
	crypto_wipe(text, sizeof text);
	char id[INVITE_ID_LEN + 1];
	invite_id(t.secret, id);
	char confp[PATH_MAX], keyp[PATH_MAX], dbp[PATH_MAX];
	snprintf(confp, sizeof confp, "%s/mirrornetd.conf", j.dir);
	snprintf(keyp, sizeof keyp, "%s/node.key", j.dir);
	snprintf(j.state_path, sizeof j.state_path, "%s/join.state", j.dir);
	snprintf(dbp, sizeof dbp, "%s", db ? db : "");
	if (!db)
		snprintf(dbp, sizeof dbp, "%s/store.db", j.dir);
	int ret = CTL_FAIL;
	if ((uint64_t)time(NULL) > t.expires) {
		ctl_err("join: invitation %s expired at %s", id, ctime((time_t *)&t.expires));
		crypto_wipe(&t, sizeof t);
		return CTL_FAIL;
	}
	if (access(confp, F_OK) == 0) {
		ctl_err("join: %s exists: this node already belongs to a mesh (remove it to join another)",
			confp);
		crypto_wipe(&t, sizeof t);
		return CTL_FAIL;
	}
	mkdir(j.dir, 0700);
	/* our key: new, or the one a previous attempt made */
	struct node_key k;
	bool insecure, created = false;
	if (node_key_load(&k, keyp, &insecure) < 0) {
		if (node_key_generate(&k) < 0 || node_key_save(&k, keyp) < 0) {
			ctl_err("join: cannot write %s: %s", keyp, strerror(errno));
			crypto_wipe(&t, sizeof t);
			return CTL_FAIL;
		}
		created = true;
	}
	join_state(&j, "starting", "bringing up WireGuard", id);
	/* WireGuard with the invitation's temporary key, the inviter as peer */
	/* the interface: found, or made here and removed again at the end
	 * (mirrornetd makes its own when it starts) */
	enum wg_mode mode = WG_MODE_AUTO;
	struct wg_iface *ifc = wg_mode_parse(backend, &mode) == 0 ? wg_iface_open(ifname, mode, err, sizeof err) : NULL;
	struct wg_backend *be = ifc ? wg_iface_backend(ifc) : NULL;
	if (!ifc && wg_mode_parse(backend, &mode) < 0)
		snprintf(err, sizeof err, "--wg-backend auto, uapi or netlink, not %s", backend);
	uint8_t priv[32], tmp_pub[32];
	struct wg_peer p;
	bool addr_set = false, loop_up = false;
	struct join_loop jl;
	uint8_t *in = NULL;   /* the answer: the chain in ch points into it */
	memset(&p, 0, sizeof p);
	if (!be) {
		ctl_err("join: WireGuard interface %s: %s", ifname, err);
		goto out;
	}
	invite_wg_key(t.secret, priv, tmp_pub);
	int rc = be->set_device(be, priv, (uint16_t)port);
	crypto_wipe(priv, sizeof priv);
	if (rc < 0) {
		ctl_err("join: cannot set the WireGuard key on %s: %s", ifname, strerror(-rc));
		goto out;
	}
	if (wg_if_set_addr(ifname, t.addr, err, sizeof err) < 0) {
		ctl_err("join: %s", err);
		goto out;
	}
	addr_set = true;
	memcpy(p.key, t.inviter_wg, 32);
	p.keepalive_s = 25;
	p.nallowed = 1;
	snprintf(p.allowed[0], sizeof p.allowed[0], "%s/%d", t.inviter_addr,
		 strchr(t.inviter_addr, ':') ? 128 : 32);
	/* from our reserved address, to the inviter's service inside the tunnel */
	struct sockaddr_storage gsa, src;
	if (addr_mesh_sa(t.addr, 1, &src) < 0 || addr_mesh_sa(t.inviter_addr, t.port, &gsa) < 0) {
		ctl_err("join: bad address in the invitation");
		goto out;
	}
	if (src.ss_family == AF_INET)   /* any local port */
		((struct sockaddr_in *)&src)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&src)->sin6_port = 0;
	/* the request */
	uint8_t reqbuf[JOIN_MAX_FRAME + 4];
	size_t reqlen;
	if (join_req_build(JOIN_OP_JOIN, &k, NULL, t.secret, t.name, (uint64_t)time(NULL), reqbuf,
			   sizeof reqbuf, &reqlen) < 0) {
		ctl_err("join: cannot build the request");
		goto out;
	}
	if (!(in = malloc(JOIN_MAX_ANSWER)) || join_loop_init(&jl, in, err, sizeof err) < 0)
		goto out;
	loop_up = true;
	time_t end = timeout >= 0 ? time(NULL) + timeout : (time_t)t.expires;
	unsigned backoff = 1;
	bool said_waiting = false;
	struct join_resp r;
	struct join_chain ch;
	while (!jl.stopped) {
		/* the endpoint may be a DNS name: resolve on every try */
		if (resolve_endpoint(t.endpoint, &p.endpoint) == 0) {
			p.has_endpoint = true;
			be->set_peer(be, &p);
		}
		long n = p.has_endpoint ? exchange(&jl, &gsa, &src, reqbuf, reqlen) : -EHOSTUNREACH;
		if (n == -EHOSTUNREACH && !p.has_endpoint)
			snprintf(err, sizeof err, "cannot resolve %s", t.endpoint);
		if (n == -EINTR && jl.stopped)
			break;
		if (n > 0 && join_resp_parse(in, (size_t)n, &r, &ch, err, sizeof err) == 0) {
			if (r.status == JOIN_OK)
				break;
			if (r.status == JOIN_REFUSED) {
				ctl_err("join: refused by %s: %s", t.inviter_addr, r.message);
				join_state(&j, "failed", r.message, id);
				goto out;
			}
			if (!said_waiting) {
				fprintf(stderr, "join: %s\n", r.message);
				said_waiting = true;
			}
			join_state(&j, "waiting", r.message, id);
			backoff = 3;
		} else {
			char m[1200];
			snprintf(m, sizeof m, "master %s (via %s) unreachable: %s; retrying in %u s",
				 t.inviter_addr, t.endpoint, err, backoff);
			fprintf(stderr, "join: %s\n", m);
			join_state(&j, "retrying", m, id);
		}
		if (time(NULL) + (time_t)backoff > end) {
			ctl_err("join: gave up: %s%s", timeout >= 0 ? "--timeout reached" : "the invitation expired",
				said_waiting ? "" : " (an invitation the master does not know — forged, revoked, "
				"expired or already used — looks the same: its temporary WireGuard key is "
				"allowed nowhere)");
			join_state(&j, "failed", "gave up", id);
			goto out;
		}
		join_wait(&jl, backoff);
		if (!said_waiting || backoff < 3)
			backoff = backoff * 2 > 30 ? 30 : backoff * 2;
	}
	if (jl.stopped) {
		ctl_err("join: interrupted");
		join_state(&j, "failed", "interrupted", id);
		goto out;
	}
	struct chain_result res;
	if (join_chain_verify(&r, &ch, k.pk, t.inviter, (uint64_t)time(NULL), &res, err, sizeof err) < 0) {
		ctl_err("join: the answer does not check out: %s", err);
		join_state(&j, "failed", err, id);
		goto out;
	}
	/* our real WireGuard key now: the inviter has swapped our peer */
	node_key_wireguard(&k, priv, tmp_pub);
	rc = be->set_device(be, priv, (uint16_t)port);
	crypto_wipe(priv, sizeof priv);
	if (rc < 0 || write_config(&j, &t, &r, &ch, ifname, backend, (unsigned)port, endpoint, dbp, api,
				   confp) < 0) {
		ctl_err("join: cannot finish the setup");
		goto out;
	}
	char did[DID_KEY_MAX];
	did_key_encode(DID_ED25519, k.pk, did, sizeof did);
	join_state(&j, "joined", "member", id);
	if (j.json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "node", json_object_new_string(did));
		json_object_object_add(o, "name", json_object_new_string(t.name));
		json_object_object_add(o, "role", json_object_new_string(role_names[res.role]));
		json_object_object_add(o, "mesh_addr", json_object_new_string(res.mesh_addr));
		json_object_object_add(o, "dns_scope", json_object_new_string(res.dns_scope));
		json_object_object_add(o, "config", json_object_new_string(confp));
		ctl_print_json(o);
		json_object_put(o);
	} else {
		printf("joined as %s (%s) at %s; start mirrornetd -c %s\n", t.name, did, res.mesh_addr, confp);
	}
	ret = CTL_OK;
	created = false;
out:
	if (ret != CTL_OK) {
		/* nothing half-done: the inviter's peer goes (with the interface,
		 * if we made it), and a key we made */
		if (be && p.nallowed && !wg_iface_created(ifc))
			be->remove_peer(be, p.key);
		if (addr_set && !wg_iface_created(ifc))
			wg_if_del_addr(ifname, t.addr, err, sizeof err);
		if (created)
			unlink(keyp);
	}
	wg_iface_close(ifc);
	if (loop_up)
		join_loop_close(&jl);
	free(in);
	node_key_wipe(&k);
	crypto_wipe(&t, sizeof t);
	return ret;
}

static int join_status(int argc, char **argv)
{
	const char *dir = argc >= 3 && !strcmp(argv[1], "--dir") ? argv[2] : DEFAULT_DIR;
	char path[PATH_MAX];
	uint8_t *buf;

	snprintf(path, sizeof path, "%s/join.state", dir);
	long n = ctl_read_file(path, 4096, &buf);
	if (n < 0) {
		ctl_err("join status: no join under way or done here (%s: %s)", path, strerror((int)-n));
		return CTL_FAIL;
	}
	fwrite(buf, 1, (size_t)n, stdout);
	free(buf);
	return CTL_OK;
}

int ctl_join(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return list_call(argc - 1, argv + 1, "waiting");
	if (argc >= 2 && !strcmp(argv[1], "approve"))
		return id_call(argc - 1, argv + 1, "join_approve", "join approve ID [--json]");
	if (argc >= 2 && !strcmp(argv[1], "reject"))
		return id_call(argc - 1, argv + 1, "join_reject", "join reject ID [--reason TEXT] [--json]");
	if (argc >= 2 && !strcmp(argv[1], "status"))
		return join_status(argc - 1, argv + 1);
	return do_join(argc, argv);
}

/* ---- revoke, key ---- */

struct json_object *ctl_revoke_request(const uint8_t pk[static 32], const char *reason)
{
	char hex[65];
	struct json_object *req = json_object_new_object(), *body = json_object_new_object();

	hex_encode(pk, 32, hex);
	json_object_object_add(body, "subject", json_object_new_string(hex));
	json_object_object_add(body, "reason", json_object_new_string(reason));
	json_object_object_add(body, "time", json_object_new_int64((int64_t)time(NULL)));
	json_object_object_add(req, "kind", json_object_new_string("revoke"));
	json_object_object_add(req, "key", json_object_new_string(hex));
	json_object_object_add(req, "body", body);
	json_object_object_add(req, "ttl_s", json_object_new_int64(10ll * 365 * 86400));
	return req;
}

int ctl_revoke(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' }, { "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 'S' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reason = "", *sock = NULL;
	bool json = false;
	uint8_t pk[32];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': reason = optarg; break;
		case 'j': json = true; break;
		case 'S': sock = optarg; break;
		case 'h': printf("usage: mirrornetctl revoke NODE-DID [--reason TEXT] [--json]\n"); return CTL_OK;
		default: return CTL_USAGE;
		}
	}
	if (optind != argc - 1 || ctl_parse_pubkey(argv[optind], pk) < 0) {
		ctl_err("usage: mirrornetctl revoke NODE-DID [--reason TEXT]");
		return CTL_USAGE;
	}
	struct json_object *res;
	int rc = ctl_call(sock, "publish", ctl_revoke_request(pk, reason), &res);
	if (rc)
		return rc;
	if (json)
		ctl_print_json(res);
	else
		printf("revoked %s\n", argv[optind]);
	json_object_put(res);
	return CTL_OK;
}

static int wait_new_key(const char *sock, const char *old_did, unsigned secs, bool json)
{
	for (unsigned i = 0; i < secs * 4; i++) {
		struct json_object *res, *v, *ob;
		usleep(250000);
		if (ctl_call(sock, "status", NULL, &res) != CTL_OK)
			continue;   /* restarting */
		const char *did = json_object_object_get_ex(res, "did", &v) ? json_object_get_string(v) : "";
		if (did[0] && strcmp(did, old_did)) {
			if (json)
				ctl_print_json(res);
			else
				printf("key rotated: %s -> %s\n", old_did, did);
			json_object_put(res);
			return CTL_OK;
		}
		if (json_object_object_get_ex(res, "onboarding", &ob) &&
		    json_object_object_get_ex(ob, "rotation", &v) &&
		    !strcmp(json_object_get_string(v), "failed")) {
			struct json_object *e;
			ctl_err("key rotate: %s", json_object_object_get_ex(ob, "last_error", &e) ?
				json_object_get_string(e) : "failed");
			json_object_put(res);
			return CTL_FAIL;
		}
		json_object_put(res);
	}
	ctl_err("key rotate: no new key after %u s (see the daemon's log)", secs);
	return CTL_FAIL;
}

int ctl_key(int argc, char **argv)
{
	const char *sock = getenv("MIRRORNET_SOCKET");
	bool json = want_json(argc, argv);
	struct json_object *res, *v;
	int rc;

	if (argc >= 2 && !strcmp(argv[1], "cert-renew")) {
		if ((rc = ctl_call(NULL, "cert_renew", NULL, &res)))
			return rc;
		if (json)
			ctl_print_json(res);
		else
			printf("renewal asked of %s\n", json_object_object_get_ex(res, "parent", &v) ?
			       json_object_get_string(v) : "the parent");
		json_object_put(res);
		return CTL_OK;
	}
	if (argc < 2 || strcmp(argv[1], "rotate")) {
		ctl_err("usage: mirrornetctl key rotate | cert-renew [--json]");
		return CTL_USAGE;
	}
	if ((rc = ctl_call(NULL, "status", NULL, &res)))
		return rc;
	char old[DID_KEY_MAX];
	snprintf(old, sizeof old, "%s", json_object_object_get_ex(res, "did", &v) ?
		 json_object_get_string(v) : "");
	json_object_put(res);
	if ((rc = ctl_call(NULL, "key_rotate", NULL, &res)))
		return rc;
	json_object_put(res);
	(void)sock;
	return wait_new_key(NULL, old, 30, json);
}
