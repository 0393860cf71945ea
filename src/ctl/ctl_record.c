/* Offline record tools:
 *   record sign KIND KEY (--body JSON | --file F | --tombstone) --key KEYFILE --out FILE
 *               [--version N] [--ttl DURATION] [--json]
 *   record show FILE... [--json]
 *   cert issue --key ISSUER_KEYFILE --subject DID --out FILE [--role R]
 *              [--depth N] [--max-depth N] [--scope DOMAIN] [--addr ADDR] [--ttl DURATION]
 *   cert verify --root DID --node DID CERTFILE... [--json]
 *   store put --db FILE RECORDFILE...
 *   store list --db FILE [--kind KIND] [--json]
 *   store check --db FILE [--json] */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <json-c/json.h>
#include "src/ctl/ctl.h"
#include "src/body_json.h"
#include "src/store.h"
#include "src/addrplan.h"
#include "crypto/chain.h"
#include "crypto/crypto.h"
#include "crypto/did.h"
#include "crypto/record_sig.h"
#include "proto/hex.h"
#include "proto/proto_err.h"

#define DEFAULT_TTL (30LL * 86400)

static uint64_t now_s(void)
{
	return (uint64_t)time(NULL);
}

/* Default version: microseconds since the epoch, so a record re-signed
 * later always wins over the earlier one. */
static uint64_t now_us(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static void print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Encode body (or a tombstone when b is NULL), sign, write to out. */
static int sign_and_write(unsigned kind, const char *rkey, const union body *b, const char *keyfile,
			  uint64_t version, uint64_t expires, const char *out, bool json)
{
	uint8_t body[MN_MAX_BODY], wire[MN_MAX_RECORD], id[32];
	size_t blen = 0;
	struct node_key k;
	struct record r;
	int err, rc = CTL_FAIL;

	if (b && (err = body_encode(kind, b, body, sizeof body, &blen)) < 0) {
		ctl_err("%s body: %s", kind_name(kind), proto_strerror(err));
		return CTL_USAGE;
	}
	if ((err = record_init(&r, kind, (const uint8_t[32]){ 0 }, rkey, version, expires)) < 0) {
		ctl_err("record key '%s': %s", rkey, proto_strerror(err));
		return CTL_USAGE;
	}
	if (ctl_load_key(keyfile, &k) < 0)
		return CTL_FAIL;
	r.body = body;
	r.body_len = blen;
	err = record_sign(&r, &k, wire, sizeof wire);
	node_key_wipe(&k);
	if (err < 0) {
		ctl_err("cannot encode record: %s", proto_strerror(err));
		return CTL_USAGE;
	}
	if ((err = ctl_write_file(out, wire, r.wire_len, 0644)) < 0) {
		ctl_err("%s: %s", out, strerror(-err));
		return CTL_FAIL;
	}
	record_id(&r, id);
	if (json) {
		struct json_object *o = record_to_json(&r, b, id);
		json_object_object_add(o, "file", json_object_new_string(out));
		json_object_object_add(o, "bytes", json_object_new_int64((int64_t)r.wire_len));
		print_json(o);
		json_object_put(o);
	} else {
		char hex[65];
		hex_encode(id, 32, hex);
		printf("%s %s %s v%llu: %zu bytes, id %.16s, written to %s\n", kind_name(kind),
		       rkey, b ? "record" : "tombstone", (unsigned long long)version, r.wire_len,
		       hex, out);
	}
	rc = CTL_OK;
	return rc;
}

static int record_sign_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "body", required_argument, NULL, 'b' }, { "file", required_argument, NULL, 'f' },
		{ "tombstone", no_argument, NULL, 't' }, { "key", required_argument, NULL, 'k' },
		{ "out", required_argument, NULL, 'o' }, { "version", required_argument, NULL, 'v' },
		{ "ttl", required_argument, NULL, 'l' }, { "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *body_json = NULL, *body_file = NULL, *keyfile = NULL, *out = NULL;
	bool tomb = false, json = false;
	uint64_t version = now_us();
	long long ttl = DEFAULT_TTL;
	int c, kind, rc;
	union body *b = NULL;
	struct json_object *j = NULL;
	uint8_t *fbuf = NULL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b': body_json = optarg; break;
		case 'f': body_file = optarg; break;
		case 't': tomb = true; break;
		case 'k': keyfile = optarg; break;
		case 'o': out = optarg; break;
		case 'j': json = true; break;
		case 'v':
			if (ctl_parse_u64(optarg, &version) < 0) {
				ctl_err("record sign: --version wants an unsigned integer");
				return CTL_USAGE;
			}
			break;
		case 'l':
			if ((ttl = ctl_parse_duration(optarg)) < 0) {
				ctl_err("record sign: --ttl wants a duration like 3600, 90m, 12h, 30d");
				return CTL_USAGE;
			}
			break;
		default: return CTL_USAGE;
		}
	}
	if (argc - optind != 2 || !keyfile || !out || (!!body_json + !!body_file + tomb) != 1) {
		ctl_err("usage: record sign KIND KEY (--body JSON | --file F | --tombstone) "
			"--key KEYFILE --out FILE [--version N] [--ttl DURATION] [--json]");
		return CTL_USAGE;
	}
	if ((kind = kind_from_name(argv[optind])) < 0) {
		ctl_err("record sign: unknown kind '%s' (node, cert, revoke, dns, expose, ioc, svc, backup)",
			argv[optind]);
		return CTL_USAGE;
	}
	if (body_file) {
		long n = ctl_read_file(body_file, 1 << 20, &fbuf);
		if (n < 0) {
			ctl_err("%s: %s", body_file, strerror((int)-n));
			return CTL_FAIL;
		}
		fbuf[n] = 0;
		body_json = (const char *)fbuf;
	}
	if (!tomb) {
		char err[256];
		enum json_tokener_error jerr;
		j = json_tokener_parse_verbose(body_json, &jerr);
		if (!j) {
			ctl_err("record sign: body is not JSON: %s", json_tokener_error_desc(jerr));
			rc = CTL_USAGE;
			goto out;
		}
		b = calloc(1, sizeof *b);
		if (!b) {
			rc = CTL_FAIL;
			goto out;
		}
		if (body_from_json((unsigned)kind, j, b, err, sizeof err) < 0) {
			ctl_err("record sign: %s", err);
			rc = CTL_USAGE;
			goto out;
		}
	}
	rc = sign_and_write((unsigned)kind, argv[optind + 1], b, keyfile, version,
			    now_s() + (uint64_t)ttl, out, json);
out:
	json_object_put(j);
	free(b);
	free(fbuf);
	return rc;
}

/* Read, decode and verify one record file. 0, or a CTL_* exit code. */
static int load_record(const char *path, uint8_t **buf, struct record *r, union body *b,
		       uint8_t id[32])
{
	long n = ctl_read_file(path, MN_MAX_RECORD, buf);
	int err;

	if (n == -EFBIG) {
		ctl_err("%s: larger than a record can be (%d bytes)", path, MN_MAX_RECORD);
		return CTL_INVALID;
	}
	if (n < 0) {
		ctl_err("%s: %s", path, strerror((int)-n));
		return CTL_FAIL;
	}
	if ((err = record_decode(*buf, (size_t)n, r, b)) < 0) {
		ctl_err("%s: not a valid record: %s", path, proto_strerror(err));
		return CTL_INVALID;
	}
	if ((err = record_verify(r, id)) < 0) {
		ctl_err("%s: %s record '%s': signature does not verify", path, kind_name(r->kind), r->key);
		return CTL_INVALID;
	}
	return 0;
}

static int record_show_cmd(int argc, char **argv)
{
	bool json = false;
	int rc = CTL_OK, files = 0;
	struct json_object *arr = json_object_new_array();

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
			continue;
		}
		uint8_t *buf = NULL, id[32];
		struct record r;
		union body *b = calloc(1, sizeof *b);
		int e = b ? load_record(argv[i], &buf, &r, b, id) : CTL_FAIL;
		files++;
		if (e) {
			rc = e;
		} else {
			json_object_array_add(arr, record_to_json(&r, b, id));
		}
		free(b);
		free(buf);
	}
	if (!files) {
		ctl_err("usage: record show FILE... [--json]");
		json_object_put(arr);
		return CTL_USAGE;
	}
	if (json) {
		print_json(arr);
	} else {
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *o = json_object_array_get_idx(arr, i);
			printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
								       JSON_C_TO_STRING_NOSLASHESCAPE));
		}
	}
	json_object_put(arr);
	return rc;
}

int ctl_record(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "sign"))
		return record_sign_cmd(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "show"))
		return record_show_cmd(argc - 1, argv + 1);
	ctl_err("usage: record sign|show ... (see mirrornetctl record sign --help)");
	return CTL_USAGE;
}

struct used_addrs {
	char (*a)[MN_MAX_ADDR + 1];
	size_t n, cap;
	union body b;
};

static int collect_addr(void *ctx, const uint8_t *wire, size_t len)
{
	struct used_addrs *u = ctx;
	struct record r;
	const char *addr = NULL;

	if (record_decode(wire, len, &r, &u->b) < 0 || record_is_tombstone(&r))
		return 0;
	if (r.kind == KIND_CERT)
		addr = u->b.cert.mesh_addr;
	else if (r.kind == KIND_NODE)
		addr = u->b.node.mesh_addr;
	if (!addr || !addr[0])
		return 0;
	if (u->n == u->cap) {
		size_t nc = u->cap ? u->cap * 2 : 64;
		void *na = realloc(u->a, nc * sizeof *u->a);
		if (!na)
			return -ENOMEM;
		u->a = na;
		u->cap = nc;
	}
	snprintf(u->a[u->n++], sizeof u->a[0], "%s", addr);
	return 0;
}

/* --addr auto: the lowest address of the subnet that no certificate or node
 * record in the store holds. */
static int next_mesh_addr(const char *subnet, const char *dbpath, char *out, size_t cap)
{
	struct addrplan plan;
	struct store *s;
	char msg[256];
	int rc;

	if (addrplan_parse(subnet, &plan) < 0) {
		ctl_err("cert issue: --subnet '%s' is not a subnet (e.g. 10.42.0.0/16, fd42:4242::/64)", subnet);
		return CTL_USAGE;
	}
	if (!dbpath) {
		ctl_err("cert issue: --addr auto needs --db STORE (the certificates already issued)");
		return CTL_USAGE;
	}
	if ((rc = store_open(dbpath, &s, msg, sizeof msg)) < 0) {
		ctl_err("%s: %s", dbpath, msg);
		return CTL_FAIL;
	}
	struct used_addrs *u = calloc(1, sizeof *u);
	rc = u ? store_each(s, 0, NULL, false, collect_addr, u) : -ENOMEM;
	store_close(s);
	if (rc >= 0) {
		const char **ptrs = calloc(u->n + 1, sizeof *ptrs);
		for (size_t i = 0; ptrs && i < u->n; i++)
			ptrs[i] = u->a[i];
		rc = ptrs ? addrplan_next(&plan, ptrs, u->n, out, cap) : -ENOMEM;
		free(ptrs);
	}
	if (u)
		free(u->a);
	free(u);
	if (rc == -ENOSPC) {
		ctl_err("cert issue: no free address left in %s", subnet);
		return CTL_FAIL;
	}
	return rc < 0 ? CTL_FAIL : CTL_OK;
}

static int parse_small(const char *s, unsigned max, uint8_t *out)
{
	uint64_t v;

	if (ctl_parse_u64(s, &v) < 0 || v > max)
		return -1;
	*out = (uint8_t)v;
	return 0;
}

static int cert_issue_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' }, { "subject", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' }, { "role", required_argument, NULL, 'r' },
		{ "depth", required_argument, NULL, 'd' }, { "max-depth", required_argument, NULL, 'm' },
		{ "scope", required_argument, NULL, 'z' }, { "addr", required_argument, NULL, 'a' },
		{ "subnet", required_argument, NULL, 'S' }, { "db", required_argument, NULL, 'D' },
		{ "ttl", required_argument, NULL, 'l' }, { "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *keyfile = NULL, *out = NULL, *subnet = ADDRPLAN_DEFAULT, *dbpath = NULL;
	bool addr_auto = false;
	union body b;
	struct cert_body *cb = &b.cert;
	bool have_subject = false, json = false;
	long long ttl = 365LL * 86400;
	char rkey[65];
	int c;

	memset(&b, 0, sizeof b);
	cb->role = ROLE_PEER;
	cb->depth = 1;
	cb->max_depth = 3;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keyfile = optarg; break;
		case 'o': out = optarg; break;
		case 'j': json = true; break;
		case 's':
			if (ctl_parse_pubkey(optarg, cb->subject) < 0) {
				ctl_err("cert issue: --subject wants a did:key or 64 hex digits");
				return CTL_USAGE;
			}
			have_subject = true;
			break;
		case 'r': {
			unsigned i;
			for (i = 0; role_names[i] && strcmp(role_names[i], optarg); i++)
				;
			if (!role_names[i]) {
				ctl_err("cert issue: --role is peer, sub-master or master");
				return CTL_USAGE;
			}
			cb->role = (uint8_t)i;
			break;
		}
		case 'd':
			if (parse_small(optarg, MN_MAX_DEPTH, &cb->depth) < 0) {
				ctl_err("cert issue: --depth wants 0..%d", MN_MAX_DEPTH);
				return CTL_USAGE;
			}
			break;
		case 'm':
			if (parse_small(optarg, MN_MAX_DEPTH, &cb->max_depth) < 0) {
				ctl_err("cert issue: --max-depth wants 0..%d", MN_MAX_DEPTH);
				return CTL_USAGE;
			}
			break;
		case 'z':
			snprintf(cb->dns_scope, sizeof cb->dns_scope, "%s", optarg);
			if (strlen(optarg) >= sizeof cb->dns_scope || !dns_name_valid(optarg, false)) {
				ctl_err("cert issue: --scope '%s' is not a lower-case DNS name", optarg);
				return CTL_USAGE;
			}
			break;
		case 'a':
			if (!strcmp(optarg, "auto")) {
				addr_auto = true;
				break;
			}
			snprintf(cb->mesh_addr, sizeof cb->mesh_addr, "%s", optarg);
			if (strlen(optarg) >= sizeof cb->mesh_addr || !addr_valid(optarg, true)) {
				ctl_err("cert issue: --addr '%s' is not an IP address (or auto)", optarg);
				return CTL_USAGE;
			}
			break;
		case 'S': subnet = optarg; break;
		case 'D': dbpath = optarg; break;
		case 'l':
			if ((ttl = ctl_parse_duration(optarg)) < 0) {
				ctl_err("cert issue: --ttl wants a duration like 3600, 12h, 365d");
				return CTL_USAGE;
			}
			break;
		default: return CTL_USAGE;
		}
	}
	if (optind != argc || !keyfile || !out || !have_subject) {
		ctl_err("usage: cert issue --key ISSUER_KEYFILE --subject DID --out FILE [--role R] "
			"[--depth N] [--max-depth N] [--scope DOMAIN] [--addr ADDR | --addr auto --db STORE "
			"[--subnet CIDR]] [--ttl DURATION]");
		return CTL_USAGE;
	}
	if (cb->depth > cb->max_depth) {
		ctl_err("cert issue: --depth %u is above --max-depth %u", cb->depth, cb->max_depth);
		return CTL_USAGE;
	}
	if (addr_auto) {
		int rc = next_mesh_addr(subnet, dbpath, cb->mesh_addr, sizeof cb->mesh_addr);
		if (rc != CTL_OK)
			return rc;
	}
	if (cb->role == ROLE_MASTER && cb->depth != 0) {
		ctl_err("cert issue: only the mesh root (depth 0) is a master");
		return CTL_USAGE;
	}
	cb->not_before = now_s() - 300;  /* tolerate small clock skew */
	cb->not_after = now_s() + (uint64_t)ttl;
	hex_encode(cb->subject, 32, rkey);
	return sign_and_write(KIND_CERT, rkey, &b, keyfile, now_us(), cb->not_after, out, json);
}

static bool no_revocations(void *ctx, const uint8_t pk[32])
{
	(void)ctx; (void)pk;
	return false;
}

static int cert_verify_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' }, { "node", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 },
	};
	uint8_t root[32], node[32];
	bool have_root = false, have_node = false, json = false;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': have_root = ctl_parse_pubkey(optarg, root) == 0; if (!have_root) goto bad; break;
		case 'n': have_node = ctl_parse_pubkey(optarg, node) == 0; if (!have_node) goto bad; break;
		case 'j': json = true; break;
		default: return CTL_USAGE;
		}
	}
	if (!have_root || !have_node || argc - optind > MN_MAX_DEPTH + 1) {
		ctl_err("usage: cert verify --root DID --node DID [CERTFILE...] (root first, at most %d)",
			MN_MAX_DEPTH + 1);
		return CTL_USAGE;
	}
	size_t n = (size_t)(argc - optind);
	struct record recs[MN_MAX_DEPTH + 1];
	const struct record *ptrs[MN_MAX_DEPTH + 1];
	uint8_t *bufs[MN_MAX_DEPTH + 1] = { NULL };
	union body *b = calloc(1, sizeof *b);
	uint8_t id[32];
	rc = b ? CTL_OK : CTL_FAIL;
	for (size_t i = 0; i < n && rc == CTL_OK; i++) {
		rc = load_record(argv[optind + (int)i], &bufs[i], &recs[i], b, id);
		ptrs[i] = &recs[i];
	}
	if (rc == CTL_OK) {
		struct chain_policy pol = { root, now_s(), no_revocations, NULL, false };
		struct chain_result res;
		int err = chain_validate(&pol, node, ptrs, n, &res);
		if (json) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "valid", json_object_new_boolean(err == 0));
			if (err) {
				json_object_object_add(o, "error", json_object_new_string(crypto_strerror(err)));
			} else {
				json_object_object_add(o, "role", json_object_new_string(role_names[res.role]));
				json_object_object_add(o, "depth", json_object_new_int(res.depth));
				json_object_object_add(o, "max_depth", json_object_new_int(res.max_depth));
				json_object_object_add(o, "dns_scope", json_object_new_string(res.dns_scope));
				json_object_object_add(o, "mesh_addr", json_object_new_string(res.mesh_addr));
				json_object_object_add(o, "not_after", json_object_new_uint64(res.not_after));
			}
			print_json(o);
			json_object_put(o);
		} else if (err) {
			printf("invalid: %s\n", crypto_strerror(err));
		} else {
			printf("valid: role %s, depth %u of %u, dns scope '%s', address '%s'\n",
			       role_names[res.role], res.depth, res.max_depth, res.dns_scope, res.mesh_addr);
		}
		rc = err ? CTL_INVALID : CTL_OK;
	}
	for (size_t i = 0; i < n; i++)
		free(bufs[i]);
	free(b);
	return rc;
bad:
	ctl_err("cert verify: --root/--node want a did:key or 64 hex digits");
	return CTL_USAGE;
}

int ctl_cert(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "issue"))
		return cert_issue_cmd(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "verify"))
		return cert_verify_cmd(argc - 1, argv + 1);
	ctl_err("usage: cert issue|verify ...");
	return CTL_USAGE;
}

static int open_store(const char *db, struct store **s)
{
	char msg[256];
	int err = store_open(db, s, msg, sizeof msg);

	if (err < 0) {
		ctl_err("%s: %s", db, msg);
		return err == -EILSEQ ? CTL_INVALID : CTL_FAIL;
	}
	return CTL_OK;
}

struct list_ctx {
	bool json;
	struct json_object *arr;
	union body b;
};

static int list_one(void *ctx, const uint8_t *wire, size_t len)
{
	struct list_ctx *lc = ctx;
	struct record r;
	uint8_t id[32];

	if (record_decode(wire, len, &r, &lc->b) < 0)
		return 0;   /* the store only holds decodable records */
	record_id(&r, id);
	if (lc->json) {
		json_object_array_add(lc->arr, record_to_json(&r, &lc->b, id));
	} else {
		char did[DID_KEY_MAX], sdid[24], key[4 * MN_MAX_RKEY + 1];
		did_key_encode(DID_ED25519, r.origin, did, sizeof did);
		did_key_short(did, sdid, sizeof sdid);
		printf("%-7s %-18s %-32s %20llu %s\n", kind_name(r.kind), sdid, ctl_safe(r.key, key, sizeof key),
		       (unsigned long long)r.version, record_is_tombstone(&r) ? "tombstone" : "");
	}
	return 0;
}

static int store_cmd(const char *sub, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' }, { "kind", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' }, { NULL, 0, NULL, 0 },
	};
	const char *db = NULL;
	int kind = 0, c, rc;
	bool json = false;
	struct store *s;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'j': json = true; break;
		case 'k':
			if ((kind = kind_from_name(optarg)) < 0) {
				ctl_err("store: unknown kind '%s'", optarg);
				return CTL_USAGE;
			}
			break;
		default: return CTL_USAGE;
		}
	}
	if (!db || (strcmp(sub, "put") == 0) != (optind < argc)) {
		ctl_err("usage: store put --db FILE RECORDFILE... | store list --db FILE [--kind K] "
			"[--json] | store check --db FILE [--json]");
		return CTL_USAGE;
	}
	if ((rc = open_store(db, &s)) != CTL_OK)
		return rc;
	if (!strcmp(sub, "put")) {
		static const char *const what[] = { "", "inserted", "replaced", "older, kept ours", "already there" };
		union body *b = calloc(1, sizeof *b);
		for (int i = optind; b && i < argc; i++) {
			uint8_t *buf = NULL, id[32];
			struct record r;
			int e = load_record(argv[i], &buf, &r, b, id);
			if (e) {
				rc = e;
			} else {
				int put = store_put(s, r.wire, r.wire_len, id);
				if (put < 0) {
					ctl_err("%s: %s", argv[i], store_last_error(s));
					rc = CTL_FAIL;
				} else {
					char key[4 * MN_MAX_RKEY + 1];
					printf("%s: %s %s: %s\n", argv[i], kind_name(r.kind),
					       ctl_safe(r.key, key, sizeof key), what[put]);
				}
			}
			free(buf);
		}
		if (!b)
			rc = CTL_FAIL;
		free(b);
	} else if (!strcmp(sub, "list")) {
		struct list_ctx *lc = calloc(1, sizeof *lc);
		if (!lc) {
			rc = CTL_FAIL;
		} else {
			lc->json = json;
			lc->arr = json_object_new_array();
			if (store_each(s, (unsigned)kind, NULL, true, list_one, lc) < 0) {
				ctl_err("%s: %s", db, store_last_error(s));
				rc = CTL_FAIL;
			}
			if (json)
				print_json(lc->arr);
			json_object_put(lc->arr);
			free(lc);
		}
	} else {
		uint8_t digest[32];
		char hex[65];
		int64_t n = store_digest(s, digest, NULL);
		if (n < 0) {
			ctl_err("%s: %s", db, store_last_error(s));
			rc = CTL_FAIL;
		} else {
			hex_encode(digest, 32, hex);
			if (json) {
				struct json_object *o = json_object_new_object();
				json_object_object_add(o, "ok", json_object_new_boolean(1));
				json_object_object_add(o, "records", json_object_new_int64(n));
				json_object_object_add(o, "digest", json_object_new_string(hex));
				print_json(o);
				json_object_put(o);
			} else {
				printf("ok: %lld records, digest %s\n", (long long)n, hex);
			}
		}
	}
	store_close(s);
	return rc;
}

int ctl_store(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "put") || !strcmp(argv[1], "list") ||
			  !strcmp(argv[1], "check")))
		return store_cmd(argv[1], argc - 1, argv + 1);
	ctl_err("usage: store put|list|check --db FILE ...");
	return CTL_USAGE;
}
