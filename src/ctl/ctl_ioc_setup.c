/* mirrornetctl ioc setup: register this box's mirrornetd with its own
 * CrowdSec once (docs/ioc.md, "Setting it up"): a machine (watcher) that
 * adds the mesh's decisions and a bouncer that reads the decisions stream,
 * through cscli; the secrets go into files of mode 0600 in one directory,
 * and the mirrornetd options that name them are printed. Run by the
 * OpenWrt package's init script when CrowdSec is installed; again with
 * --force to replace the credentials. The secrets are never printed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include "crypto/crypto.h"
#include "src/ctl/ctl.h"
#include "src/putfile.h"

#define SETUP_DIR "/etc/mirrornet/crowdsec"
#define CSCLI_TIMEOUT_MS 60000
#define SECRET_MAX 256

struct setup {
	const char *dir, *name, *cscli, *cs_config;
	bool force, json;
	char key_path[512], pw_path[512], lapi_path[512], tmp_path[512];
	char lapi[SECRET_MAX + 1];
};

/* cscli [-c CONFIG] ARGS...: its exit status; stdout in out (may be NULL);
 * on failure, a sentence from its last stderr line in why. */
static int cscli(struct setup *s, const char *const *args, char *out, size_t cap, char *why, size_t whycap)
{
	const char *argv[16];
	char err[4096];
	int n = 0, rc;

	argv[n++] = s->cscli;
	if (s->cs_config) {
		argv[n++] = "-c";
		argv[n++] = s->cs_config;
	}
	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	rc = ctl_run(argv, out, cap, err, sizeof err, CSCLI_TIMEOUT_MS);
	if (rc == 0 || !why)
		return rc;
	if (rc < 0)
		snprintf(why, whycap, "cannot run %s: %s", s->cscli, strerror(errno));
	else if (rc == 127)
		snprintf(why, whycap, "%s not found (is CrowdSec installed?)", s->cscli);
	else if (rc == CTL_RUN_TIMEOUT)
		snprintf(why, whycap, "%s did not answer in %d s", s->cscli, CSCLI_TIMEOUT_MS / 1000);
	else {
		/* cscli's fatal lines: time="..." level=fatal msg="WHY" */
		char *l = ctl_last_line(err), *m = strstr(l, "msg=\""), safe[300];
		if (m) {
			l = m + 5;
			char *q = strrchr(l, '"');
			if (q)
				*q = '\0';
		}
		snprintf(why, whycap, "exit %d%s%s", rc, *l ? ": " : "", ctl_safe(l, safe, sizeof safe));
	}
	return rc;
}

/* A secret or URL as cscli gives it: printable ASCII, no blank, 1..max. */
static bool token_ok(const char *t, size_t max)
{
	size_t n = strlen(t);

	if (!n || n > max)
		return false;
	for (; *t; t++)
		if (*t <= ' ' || *t > '~')
			return false;
	return true;
}

static void trim(char *t)
{
	size_t n = strlen(t);

	while (n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' '))
		t[--n] = '\0';
}

/* The value of "KEY: VALUE" in a small YAML file cscli wrote. */
static bool yaml_get(const char *text, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);

	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, key, kl) || l[kl] != ':')
			continue;
		const char *v = l + kl + 1;
		v += strspn(v, " \t");
		size_t n = strcspn(v, "\r\n");
		if (n >= cap)
			return false;
		memcpy(out, v, n);
		out[n] = '\0';
		return true;
	}
	return false;
}

/* Already set up: both secrets present, non-empty, 0600, and the URL. */
static bool done_before(struct setup *s)
{
	const char *paths[] = { s->key_path, s->pw_path };
	struct stat st;
	uint8_t *b = NULL;
	long n;

	for (size_t i = 0; i < 2; i++)
		if (stat(paths[i], &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0 || (st.st_mode & 077))
			return false;
	if ((n = ctl_read_file(s->lapi_path, SECRET_MAX, &b)) <= 0) {
		free(b);
		return false;
	}
	memcpy(s->lapi, b, (size_t)n);
	s->lapi[n] = '\0';
	free(b);
	trim(s->lapi);
	return token_ok(s->lapi, SECRET_MAX);
}

/* The machine: `cscli machines add NAME --auto --force -f TMP` (a new
 * password; --force replaces one of the same name), read back, TMP gone. */
static int add_machine(struct setup *s, char *why, size_t whycap)
{
	const char *args[] = { "machines", "add", s->name, "--auto", "--force", "-f", s->tmp_path, NULL };
	char pw[SECRET_MAX + 2], *text = NULL;
	uint8_t *b = NULL;
	long n = 0;
	int rc;

	unlink(s->tmp_path);
	mode_t old = umask(077);
	rc = cscli(s, args, NULL, 0, why, whycap);
	umask(old);
	if (rc)
		goto out;
	rc = -1;
	if ((n = ctl_read_file(s->tmp_path, 4096, &b)) <= 0) {
		snprintf(why, whycap, "cscli wrote no credentials to %.400s", s->tmp_path);
		goto out;
	}
	text = calloc(1, (size_t)n + 1);
	if (!text)
		goto out;
	memcpy(text, b, (size_t)n);
	if (!yaml_get(text, "password", pw, sizeof pw) || !token_ok(pw, SECRET_MAX) ||
	    !yaml_get(text, "url", s->lapi, sizeof s->lapi) || !token_ok(s->lapi, SECRET_MAX)) {
		snprintf(why, whycap, "cscli's credentials file has no usable url and password");
		goto out;
	}
	strcat(pw, "\n");
	if ((rc = file_write(s->pw_path, pw, strlen(pw), 0600)) < 0)
		snprintf(why, whycap, "%.400s: %s", s->pw_path, strerror(-rc));
	else
		rc = 0;
	crypto_wipe(pw, sizeof pw);
out:
	if (b)
		crypto_wipe(b, (size_t)(n > 0 ? n : 0));
	if (text)
		crypto_wipe(text, strlen(text));
	free(b);
	free(text);
	unlink(s->tmp_path);
	return rc;
}

/* The bouncer: delete one of the same name (a key cannot be read back),
 * then `cscli bouncers add NAME -o raw`. */
static int add_bouncer(struct setup *s, char *why, size_t whycap)
{
	const char *del[] = { "bouncers", "delete", s->name, NULL };
	const char *add[] = { "bouncers", "add", s->name, "-o", "raw", NULL };
	char key[SECRET_MAX + 64];
	int rc;

	cscli(s, del, NULL, 0, NULL, 0);   /* absent is fine */
	if ((rc = cscli(s, add, key, sizeof key, why, whycap)))
		return rc;
	trim(key);
	if (!token_ok(key, SECRET_MAX)) {
		crypto_wipe(key, sizeof key);
		snprintf(why, whycap, "cscli bouncers add gave no usable key");
		return -1;
	}
	strcat(key, "\n");
	rc = file_write(s->key_path, key, strlen(key), 0600);
	crypto_wipe(key, sizeof key);
	if (rc < 0)
		snprintf(why, whycap, "%.400s: %s", s->key_path, strerror(-rc));
	return rc < 0 ? -1 : 0;
}

static bool name_ok(const char *n)
{
	size_t l = strlen(n);

	return l && l <= 64 && strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == l;
}

static int parse(int argc, char **argv, struct setup *s)
{
	static const char usage[] = "ioc setup [--dir DIR] [--name NAME] [--cscli PATH] "
		"[--crowdsec-config FILE] [--force] [--json]";
	enum { O_DIR = 256, O_NAME, O_CSCLI, O_CSCONF, O_FORCE };
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, O_DIR }, { "name", required_argument, NULL, O_NAME },
		{ "cscli", required_argument, NULL, O_CSCLI },
		{ "crowdsec-config", required_argument, NULL, O_CSCONF },
		{ "force", no_argument, NULL, O_FORCE }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	int c;

	s->dir = SETUP_DIR;
	s->name = "mirrornet";
	s->cscli = "cscli";
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_DIR: s->dir = optarg; break;
		case O_NAME: s->name = optarg; break;
		case O_CSCLI: s->cscli = optarg; break;
		case O_CSCONF: s->cs_config = optarg; break;
		case O_FORCE: s->force = true; break;
		case 'j': s->json = true; break;
		case 'h': printf("usage: mirrornetctl %s\n", usage); return 1;
		default: ctl_err("usage: mirrornetctl %s", usage); return -1;
		}
	}
	if (optind != argc) {
		ctl_err("usage: mirrornetctl %s", usage);
		return -1;
	}
	if (!name_ok(s->name)) {
		ctl_err("ioc setup: --name: 1 to 64 of A-Z a-z 0-9 . _ -");
		return -1;
	}
	if (!*s->dir || strlen(s->dir) > 400) {
		ctl_err("ioc setup: --dir: a directory path of at most 400 bytes");
		return -1;
	}
	snprintf(s->key_path, sizeof s->key_path, "%s/bouncer.key", s->dir);
	snprintf(s->pw_path, sizeof s->pw_path, "%s/password", s->dir);
	snprintf(s->lapi_path, sizeof s->lapi_path, "%s/lapi", s->dir);
	snprintf(s->tmp_path, sizeof s->tmp_path, "%s/.machine.yaml", s->dir);
	return 0;
}

static void report(const struct setup *s, bool created)
{
	char a[600];

	if (s->json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "created", json_object_new_boolean(created));
		json_object_object_add(o, "ioc_lapi", json_object_new_string(s->lapi));
		json_object_object_add(o, "ioc_bouncer_key_file", json_object_new_string(s->key_path));
		json_object_object_add(o, "ioc_machine_id", json_object_new_string(s->name));
		json_object_object_add(o, "ioc_password_file", json_object_new_string(s->pw_path));
		ctl_print_json(o);
		json_object_put(o);
		return;
	}
	fprintf(stderr, "%s\n", created ? "CrowdSec: machine and bouncer registered; mirrornetd options:"
					: "CrowdSec: already set up (--force replaces the credentials); mirrornetd options:");
	printf("ioc_lapi %s\n", ctl_safe(s->lapi, a, sizeof a));
	printf("ioc_bouncer_key_file %s\n", ctl_safe(s->key_path, a, sizeof a));
	printf("ioc_machine_id %s\n", s->name);
	printf("ioc_password_file %s\n", ctl_safe(s->pw_path, a, sizeof a));
}

int ctl_ioc_setup(int argc, char **argv)
{
	struct setup s = { 0 };
	char why[1024], lapi[SECRET_MAX + 2];
	int rc;

	if ((rc = parse(argc, argv, &s)))
		return rc > 0 ? CTL_OK : CTL_USAGE;
	if ((rc = file_mkdirs(s.dir, 0700)) < 0) {
		ctl_err("ioc setup: %s: %s", s.dir, strerror(-rc));
		return CTL_FAIL;
	}
	if (!s.force && done_before(&s)) {
		report(&s, false);
		return CTL_OK;
	}
	if (add_machine(&s, why, sizeof why)) {
		ctl_err("ioc setup: cscli machines add %s: %s", s.name, why);
		return CTL_FAIL;
	}
	if (add_bouncer(&s, why, sizeof why)) {
		ctl_err("ioc setup: cscli bouncers add %s: %s", s.name, why);
		return CTL_FAIL;
	}
	snprintf(lapi, sizeof lapi, "%s\n", s.lapi);
	if ((rc = file_write(s.lapi_path, lapi, strlen(lapi), 0644)) < 0) {
		ctl_err("ioc setup: %s: %s", s.lapi_path, strerror(-rc));
		return CTL_FAIL;
	}
	report(&s, true);
	return CTL_OK;
}
