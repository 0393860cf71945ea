/* mirrornetctl dispatch and helpers shared by its commands. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <json-c/json.h>
#include "src/ctl/ctl.h"
#include "src/putfile.h"
#include "crypto/crypto.h"
#include "crypto/did.h"
#include "proto/hex.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} commands[] = {
	{ "keygen", ctl_keygen, "keygen [--seed HEX] [--out FILE] [--json]   make a node key, print its did:key" },
	{ "record", ctl_record, "record sign|show ...                        sign a record offline, or decode and verify one" },
	{ "cert", ctl_cert, "cert issue|verify ...                       issue a membership certificate, verify a chain" },
	{ "store", ctl_store, "store put|list|check --db FILE ...          inspect or fill a record store offline" },
	{ "status", ctl_status, "status [--json] [--socket PATH]             the running daemon's state and counters" },
	{ "peers", ctl_peers, "peers [--json] [--socket PATH]              the peers it knows: state, last seen, RTT" },
	{ "records", ctl_records, "records [KIND] [--origin DID] [--key KEY]   the records it holds" },
	{ "publish", ctl_publish, "publish KIND KEY --body JSON|--file F|...   the daemon signs and publishes a record" },
	{ "watch", ctl_watch, "watch [KIND...] [--json]                    print records as the daemon accepts them" },
	{ "mesh", ctl_mesh, "mesh init --dir DIR --name NAME ...          create a mesh: root key, certificate, config" },
	{ "invite", ctl_invite, "invite create|list|revoke ...               invitations to join (master, sub-master)" },
	{ "join", ctl_join, "join TOKEN|--invite-file F | list|approve|reject|status   join a mesh; approve joins" },
	{ "revoke", ctl_revoke, "revoke NODE [--reason TEXT]                 withdraw a member, everywhere, for good" },
	{ "key", ctl_key, "key rotate | cert-renew                     a new node key / certificate from the parent" },
	{ "hosts", ctl_hosts, "hosts [--json] [--socket PATH]              the members by name, as the hosts subsystem writes them" },
	{ "backup", ctl_backup, "backup push|list|pull|restore|offer|status|recovery-key  snapshots held encrypted by peers" },
	{ "ai", ctl_ai, "ai list [--model M] [--json] [--socket PATH]  the mesh's OpenAI-compatible servers and their models" },
	{ "mail", ctl_mail, "mail list | mx DOMAIN [--json] [--socket PATH]  mail domains, backup MX, MX records to set" },
	{ "expose", ctl_expose, "expose add|remove|list|check|emancipate|revoke  services on the mesh's CDN" },
	{ "ioc", ctl_ioc, "ioc list|add|pending|approve|reject|explain|setup  the mesh's IoCs and CrowdSec" },
	{ "dns", ctl_dns, "dns init|delegate|revoke|leave|list|show|check  Vortex DNS delegations" },
	{ "mcp", ctl_mcp, "mcp [--socket PATH]                          an MCP server on stdio for AI assistants" },
	{ "rpcd", ctl_rpcd, "rpcd list | call METHOD                      the rpcd plugin luci.mirrornet for LuCI (docs/luci.md)" },
	{ "api-raw", ctl_api_raw, NULL },   /* debugging aid: raw API lines (docs/api.md) */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: mirrornetctl COMMAND [ARGS]   (COMMAND --help for details)\n\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (commands[i].help)
			fprintf(f, "  %s\n", commands[i].help);
	fprintf(f, "\nexit codes: 0 ok, 1 failed, 2 usage, 3 daemon not reachable, 4 verification failed\n");
}

int ctl_main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return CTL_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return CTL_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("mirrornetctl %s\n", MN_VERSION);
		return CTL_OK;
	}
	if (crypto_init() < 0) {
		ctl_err("libsodium failed to initialise");
		return CTL_FAIL;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	ctl_err("unknown command '%s'", argv[1]);
	usage(stderr);
	return CTL_USAGE;
}

/* Length of the UTF-8 character at s (1..4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong, surrogates, beyond U+10FFFF, and the C1 controls */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return n;
}

const char *ctl_safe(const char *s, char *buf, size_t cap)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t o = 0;

	if (!cap)
		return buf;
	while (*p) {
		char esc[5];
		const char *piece = esc;
		size_t n = utf8_len(p), k;
		if (n == 1 && (*p < 0x20 || *p == 0x7f)) {
			snprintf(esc, sizeof esc, "\\x%02x", *p);
			k = 4;
		} else if (n == 1 && *p == '\\') {
			piece = "\\\\";
			k = 2;
		} else if (n == 0) {
			snprintf(esc, sizeof esc, "\\x%02x", *p);
			k = 4;
			n = 1;
		} else {
			piece = (const char *)p;
			k = n;
		}
		if (k >= cap - o)
			break;
		memcpy(buf + o, piece, k);
		o += k;
		p += n;
	}
	buf[o] = 0;
	return buf;
}

const char *ctl_text(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

char *ctl_safe_dup(const char *s)
{
	size_t cap = 4 * strlen(s ? s : "") + 1;
	char *buf = malloc(cap);

	if (buf)
		ctl_safe(s, buf, cap);
	return buf;
}

void ctl_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("mirrornetctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

long ctl_read_file(const char *path, size_t max, uint8_t **out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	long rc;

	*out = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	buf = malloc(max + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			rc = -EFBIG;
			goto out;
		}
	}
	*out = buf;
	buf = NULL;
	rc = (long)len;
out:
	free(buf);
	close(fd);
	return rc;
}

int ctl_write_file(const char *path, const uint8_t *buf, size_t len, unsigned mode)
{
	return file_write(path, buf, len, mode);
}

int ctl_load_key(const char *path, struct node_key *k)
{
	bool insecure = false;
	int err = node_key_load(k, path, &insecure);

	if (err == CRYPTO_ERR_IO) {
		ctl_err("%s: %s", path, strerror(errno));
		return err;
	}
	if (err < 0) {
		ctl_err("%s: %s", path, crypto_strerror(err));
		return err;
	}
	if (insecure)
		fprintf(stderr, "mirrornetctl: warning: key file %s is accessible by group or others "
			"(chmod 600 it)\n", path);
	return 0;
}

int ctl_parse_pubkey(const char *s, uint8_t pk[32])
{
	if (!strncmp(s, "did:", 4))
		return did_key_decode(DID_ED25519, s, pk) < 0 ? -EINVAL : 0;
	return hex_decode(s, pk, 32) < 0 ? -EINVAL : 0;
}

long long ctl_parse_duration(const char *s)
{
	char *end;
	long long mult = 1;

	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		switch (*end) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		default: return -1;
		}
		if (end[1])
			return -1;
	}
	if (v > LLONG_MAX / mult)
		return -1;
	return v * mult;
}

int ctl_parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*v = x;
	return 0;
}
