/* mirrornetctl backup: this box's snapshots held encrypted by its peers
 * (the daemon's backup subsystem, docs/backup.md). push/pull/restore start
 * a transfer in the daemon and follow its progress; recovery-key makes an
 * offline key pair here, without the daemon. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "src/ctl/ctl.h"
#include "crypto/crypto.h"
#include "crypto/snapshot.h"
#include "proto/hex.h"

#define POLL_MS 200

struct bo {
	const char *sock, *name, *out, *key, *owner, *size;
	unsigned copies;
	bool json, sysupgrade, all;
	long long timeout_s;
};

enum { O_NAME = 256, O_COPIES, O_OUT, O_KEY, O_OWNER, O_SIZE, O_SYSUPGRADE, O_ALL, O_TIMEOUT };

static int parse(int argc, char **argv, struct bo *o, const char *usage)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, O_NAME }, { "copies", required_argument, NULL, O_COPIES },
		{ "out", required_argument, NULL, O_OUT }, { "key", required_argument, NULL, O_KEY },
		{ "owner", required_argument, NULL, O_OWNER }, { "size", required_argument, NULL, O_SIZE },
		{ "sysupgrade", no_argument, NULL, O_SYSUPGRADE }, { "all", no_argument, NULL, O_ALL },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "json", no_argument, NULL, 'j' }, { "socket", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	memset(o, 0, sizeof *o);
	o->timeout_s = 3600;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_NAME: o->name = optarg; break;
		case O_COPIES:
			if (ctl_parse_u64(optarg, &v) < 0 || v < 1 || v > 16)
				return ctl_err("backup: --copies 1..16"), -1;
			o->copies = (unsigned)v;
			break;
		case O_OUT: o->out = optarg; break;
		case O_KEY: o->key = optarg; break;
		case O_OWNER: o->owner = optarg; break;
		case O_SIZE: o->size = optarg; break;
		case O_SYSUPGRADE: o->sysupgrade = true; break;
		case O_ALL: o->all = true; break;
		case O_TIMEOUT:
			if ((o->timeout_s = ctl_parse_duration(optarg)) < 0)
				return ctl_err("backup: --timeout 90, 15m, 2h"), -1;
			break;
		case 'j': o->json = true; break;
		case 'S': o->sock = optarg; break;
		case 'h': printf("usage: mirrornetctl %s\n", usage); return 1;
		default: ctl_err("usage: mirrornetctl %s", usage); return -1;
		}
	}
	return 0;
}

static int64_t jint(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : 0;
}

/* An absolute path for the daemon (it does not share our cwd). */
static char *absolute(const char *p)
{
	char cwd[4096], *r;

	if (p[0] == '/')
		return strdup(p);
	if (!getcwd(cwd, sizeof cwd) || !(r = malloc(strlen(cwd) + strlen(p) + 2)))
		return NULL;
	sprintf(r, "%s/%s", cwd, p);
	return r;
}

/* Follow a job until it ends: progress on stderr (a tty or not), the last
 * state as the result. CTL_OK when done. */
static int follow(struct bo *o, struct json_object *job, const char *what)
{
	int64_t id = jint(job, "job");
	struct timespec start, now;
	struct json_object *res = NULL;
	bool tty = isatty(2);
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct json_object *req = json_object_new_object();
		json_object_object_add(req, "job", json_object_new_int64(id));
		if ((rc = ctl_call(o->sock, "backup_job", req, &res)))
			return rc;
		const char *st = ctl_text(res, "state");
		if (!strcmp(st, "done") || !strcmp(st, "failed"))
			break;
		if (!o->json) {
			double d = (double)jint(res, "done_bytes") / 1048576, t = (double)jint(res, "total_bytes") / 1048576;
			fprintf(stderr, "%s%s: %s %.1f / %.1f MiB%s", tty ? "\r" : "", what, st, d, t,
				tty ? "   " : "\n");
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > o->timeout_s) {
			json_object_put(res);
			return ctl_err("backup: %s still running after %llds (job %" PRId64 " goes on in the daemon)",
				       what, o->timeout_s, id), CTL_FAIL;
		}
		json_object_put(res);
		res = NULL;
		usleep(POLL_MS * 1000);
	}
	if (!o->json && tty)
		fprintf(stderr, "\n");
	bool ok = !strcmp(ctl_text(res, "state"), "done");
	if (o->json)
		ctl_print_json(res);
	else if (ok)
		printf("%s: snapshot %s, %s\n", what, ctl_text(res, "snapshot"),
		       !strcmp(what, "push") ? "published" : "written");
	else
		ctl_err("backup: %s failed: %s", what, ctl_text(res, "error"));
	json_object_put(res);
	return ok ? CTL_OK : CTL_FAIL;
}

static int do_push(struct bo *o, int argc, char **argv)
{
	char tmp[] = "/tmp/mirrornet-sysupgrade-XXXXXX.tar.gz", *file;
	struct json_object *req, *res = NULL;
	int rc;

	if (o->sysupgrade == (optind < argc))
		return ctl_err("usage: mirrornetctl backup push FILE|--sysupgrade [--name N] [--copies K]"),
		       CTL_USAGE;
	if (o->sysupgrade) {
		/* the OpenWrt configuration backup (sysupgrade -b); MN_SYSUPGRADE
		 * names another program (tests) */
		const char *prog = getenv("MN_SYSUPGRADE") ? getenv("MN_SYSUPGRADE") : "sysupgrade";
		int fd = mkstemps(tmp, 7);
		if (fd < 0)
			return ctl_err("backup: %s", strerror(errno)), CTL_FAIL;
		close(fd);
		pid_t p = fork();
		if (p == 0) {
			execlp(prog, prog, "-b", tmp, (char *)NULL);
			_exit(127);
		}
		int status = 0;
		if (p < 0 || waitpid(p, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
			unlink(tmp);
			return ctl_err("backup: %s -b failed", prog), CTL_FAIL;
		}
		file = strdup(tmp);
		if (!o->name)
			o->name = "config";
	} else {
		file = absolute(argv[optind]);
	}
	if (!file)
		return ctl_err("backup: out of memory"), CTL_FAIL;
	req = json_object_new_object();
	json_object_object_add(req, "file", json_object_new_string(file));
	if (o->name)
		json_object_object_add(req, "name", json_object_new_string(o->name));
	if (o->copies)
		json_object_object_add(req, "copies", json_object_new_int((int)o->copies));
	if ((rc = ctl_call(o->sock, "backup_push", req, &res)) == 0) {
		rc = follow(o, res, "push");
		json_object_put(res);
	}
	if (o->sysupgrade)
		unlink(file);
	free(file);
	return rc;
}

static int do_pull(struct bo *o, int argc, char **argv, bool restore)
{
	char tmp[] = "/tmp/mirrornet-restore-XXXXXX.tar.gz";
	struct json_object *req, *res = NULL;
	char *out = NULL, *key = NULL;
	int rc;

	if (optind + 1 != argc || (!restore && !o->out))
		return ctl_err("usage: mirrornetctl backup %s SNAP %s[--key FILE] [--owner KEY]",
			       restore ? "restore" : "pull", restore ? "[--out FILE] " : "--out FILE "), CTL_USAGE;
	if (restore && !o->out) {
		int fd = mkstemps(tmp, 7);
		if (fd < 0)
			return ctl_err("backup: %s", strerror(errno)), CTL_FAIL;
		close(fd);
		out = strdup(tmp);
	} else {
		out = absolute(o->out);
	}
	if (o->key)
		key = absolute(o->key);
	req = json_object_new_object();
	json_object_object_add(req, "snapshot", json_object_new_string(argv[optind]));
	json_object_object_add(req, "out", json_object_new_string(out ? out : ""));
	if (key)
		json_object_object_add(req, "key_file", json_object_new_string(key));
	if (o->owner)
		json_object_object_add(req, "owner", json_object_new_string(o->owner));
	if ((rc = ctl_call(o->sock, "backup_pull", req, &res)) == 0) {
		rc = follow(o, res, restore ? "restore" : "pull");
		json_object_put(res);
	}
	if (rc == CTL_OK && restore && !o->out) {
		/* apply the OpenWrt configuration: sysupgrade -r */
		const char *prog = getenv("MN_SYSUPGRADE") ? getenv("MN_SYSUPGRADE") : "sysupgrade";
		pid_t p = fork();
		int status = 0;
		if (p == 0) {
			execlp(prog, prog, "-r", out, (char *)NULL);
			_exit(127);
		}
		if (p < 0 || waitpid(p, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			rc = (ctl_err("backup: %s -r failed", prog), CTL_FAIL);
		unlink(out);
	}
	free(out);
	free(key);
	return rc;
}

static int do_list(struct bo *o, const char *cmd)
{
	struct json_object *req = json_object_new_object(), *res = NULL;
	int rc;

	if (!strcmp(cmd, "backup_list") && o->all)
		json_object_object_add(req, "all", json_object_new_boolean(1));
	if ((rc = ctl_call(o->sock, cmd, req, &res)))
		return rc;
	if (o->json) {
		ctl_print_json(res);
		json_object_put(res);
		return CTL_OK;
	}
	struct json_object *arr = res, *v;
	if (!strcmp(cmd, "status")) {
		if (!json_object_object_get_ex(res, "backup", &v) || !json_object_object_get_ex(v, "snapshots", &arr)) {
			json_object_put(res);
			return ctl_err("backup: the daemon's backup subsystem is off"), CTL_FAIL;
		}
		printf("offer %" PRId64 " bytes, holding %" PRId64 ", copies wanted %" PRId64 ", missing %" PRId64 "\n",
		       jint(v, "offer"), jint(v, "held_bytes"), jint(v, "copies"), jint(v, "copies_missing"));
	}
	printf("%-24s  %-16s  %12s  %-10s  %s\n", "SNAPSHOT", "NAME", "BYTES", "CREATED", "HOLDERS (receipt, member)");
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *e = json_object_array_get_idx(arr, i), *hs;
		char nm[80];
		printf("%-24s  %-16s  %12" PRId64 "  %-10" PRId64 "  ", ctl_text(e, "snapshot"),
		       ctl_safe(ctl_text(e, "name"), nm, sizeof nm), jint(e, "size"), jint(e, "created"));
		if (json_object_object_get_ex(e, "holders", &hs))
			for (size_t k = 0; k < json_object_array_length(hs); k++) {
				struct json_object *h = json_object_array_get_idx(hs, k), *b1, *b2;
				json_object_object_get_ex(h, "receipt", &b1);
				json_object_object_get_ex(h, "member", &b2);
				printf("%.16s(%s,%s) ", ctl_text(h, "node"), json_object_get_boolean(b1) ? "ok" : "BAD",
				       json_object_get_boolean(b2) ? "ok" : "GONE");
			}
		printf("missing %" PRId64 "\n", jint(e, "missing"));
	}
	json_object_put(res);
	return CTL_OK;
}

static int do_offer(struct bo *o)
{
	struct json_object *req, *res = NULL;
	uint64_t n;
	int rc;

	if (!o->size || ctl_parse_u64(o->size, &n) < 0)
		return ctl_err("usage: mirrornetctl backup offer --size BYTES (0 withdraws)"), CTL_USAGE;
	req = json_object_new_object();
	json_object_object_add(req, "size", json_object_new_int64((int64_t)n));
	if ((rc = ctl_call(o->sock, "backup_offer", req, &res)))
		return rc;
	if (o->json)
		ctl_print_json(res);
	else
		printf("offering %" PRIu64 " bytes\n", n);
	json_object_put(res);
	return CTL_OK;
}

static int do_recovery_key(struct bo *o)
{
	uint8_t pk[32], sk[32];
	char text[RECOVERY_KEY_FILE_LEN + 1], hx[65];
	int rc;

	if (!o->out)
		return ctl_err("usage: mirrornetctl backup recovery-key --out FILE"), CTL_USAGE;
	if (crypto_init() < 0)
		return ctl_err("backup: libsodium failed"), CTL_FAIL;
	if (access(o->out, F_OK) == 0)
		return ctl_err("backup: %s exists: not overwriting a key", o->out), CTL_FAIL;
	recovery_key_generate(pk, sk);
	recovery_key_format(sk, text, sizeof text);
	rc = ctl_write_file(o->out, (const uint8_t *)text, RECOVERY_KEY_FILE_LEN, 0600);
	crypto_wipe(sk, sizeof sk);
	crypto_wipe(text, sizeof text);
	if (rc < 0)
		return ctl_err("backup: %s: %s", o->out, strerror(-rc)), CTL_FAIL;
	hex_encode(pk, 32, hx);
	if (o->json)
		printf("{\"public_key\":\"%s\",\"file\":\"%s\"}\n", hx, o->out);
	else
		printf("%s\n# add to mirrornetd.conf: backup_recovery_key %s\n# keep %s offline\n", hx, hx,
		       o->out);
	return CTL_OK;
}

int ctl_backup(int argc, char **argv)
{
	static const char usage[] =
		"backup push FILE|--sysupgrade [--name N] [--copies K] | list [--all] | pull SNAP --out FILE\n"
		"       [--key FILE] [--owner KEY] | restore SNAP [--key FILE] [--out FILE] | offer --size BYTES |\n"
		"       status | recovery-key --out FILE   (all: [--json] [--socket PATH])";
	struct bo o;
	int r;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage: mirrornetctl %s\n", usage);
		return argc < 2 ? CTL_USAGE : CTL_OK;
	}
	const char *sub = argv[1];
	if ((r = parse(argc - 1, argv + 1, &o, usage)))
		return r > 0 ? CTL_OK : CTL_USAGE;
	argc--, argv++;
	if (!strcmp(sub, "push"))
		return do_push(&o, argc, argv);
	if (!strcmp(sub, "pull"))
		return do_pull(&o, argc, argv, false);
	if (!strcmp(sub, "restore"))
		return do_pull(&o, argc, argv, true);
	if (optind != argc)
		return ctl_err("usage: mirrornetctl %s", usage), CTL_USAGE;
	if (!strcmp(sub, "list"))
		return do_list(&o, "backup_list");
	if (!strcmp(sub, "status"))
		return do_list(&o, "status");
	if (!strcmp(sub, "offer"))
		return do_offer(&o);
	if (!strcmp(sub, "recovery-key"))
		return do_recovery_key(&o);
	ctl_err("usage: mirrornetctl %s", usage);
	return CTL_USAGE;
}
