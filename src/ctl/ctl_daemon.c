/* Commands that talk to a running mirrornetd over its API socket
 * (docs/api.md, docs/cli.md):
 *   status | peers                                    [--json] [--socket PATH]
 *   records [KIND] [--origin DID] [--key KEY]         [--json] [--socket PATH]
 *   publish KIND KEY (--body JSON | --file F | --tombstone) [--ttl DURATION] ...
 *   watch [KIND...]                                   [--json] [--socket PATH]
 *   api-raw [--hold S | --no-read] [--until-eof] [LINE...]   (debugging aid, not listed)
 * The socket is --socket, else $MIRRORNET_SOCKET, else the default below.
 * The API client is src/apiclient/ (blocking: one request, one answer, with
 * a receive timeout); watch waits for events in ppoll() with SIGINT/SIGTERM
 * unblocked, so a signal ends it cleanly. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "src/apiclient/apiclient.h"
#include "src/body_json.h"
#include "src/ctl/ctl.h"
#include "crypto/did.h"
#include "proto/body.h"

#define DEFAULT_SOCKET "/var/run/mirrornet/api.sock"
#define CALL_TIMEOUT_S (APICLIENT_TIMEOUT_MS / 1000)
#define BODY_FILE_MAX (64 * 1024)

/* A connection to the daemon (src/apiclient/), and its path for messages. */
struct conn {
	struct apiclient ac;
	const char *path;
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

const char *ctl_socket_path(const char *opt)
{
	const char *env = getenv("MIRRORNET_SOCKET");

	if (opt)
		return opt;
	return env && *env ? env : DEFAULT_SOCKET;
}

/* Connect; on failure say why in words naming the path (exit 3). */
static int conn_open(struct conn *c, const char *path)
{
	int e = -apiclient_open(&c->ac, path);

	c->path = path;
	switch (e) {
	case 0:
		return CTL_OK;
	case ENAMETOOLONG:
		ctl_err("%s: socket path too long", path);
		break;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:   /* socket() */
		ctl_err("socket: %s", strerror(e));
		return CTL_FAIL;
	case ENOENT:
		ctl_err("%s: no such socket: is mirrornetd running? (--socket or MIRRORNET_SOCKET "
			"name another)", path);
		break;
	case ECONNREFUSED:
		ctl_err("%s: mirrornetd is not running (connection refused)", path);
		break;
	case EACCES:
	case EPERM:
		ctl_err("%s: permission denied (the API socket is for root and its group)", path);
		break;
	default:
		ctl_err("%s: cannot connect: %s", path, strerror(e));
	}
	return CTL_NODAEMON;
}

/* A read that ended without the expected line: say why, exit code. */
static int conn_lost(struct conn *c, int rc)
{
	if (rc == -EAGAIN)
		ctl_err("%s: no answer from mirrornetd within %d s", c->path, CALL_TIMEOUT_S);
	else if (rc == 0 || rc == -ECONNRESET || rc == -EPIPE)
		ctl_err("%s: mirrornetd closed the connection", c->path);
	else
		ctl_err("%s: %s", c->path, strerror(-rc));
	return rc == -E2BIG || rc == -ENOMEM ? CTL_FAIL : CTL_NODAEMON;
}

/* An error response: print it; the exit code it means. */
static int api_error(const char *what, struct json_object *resp)
{
	struct json_object *e = NULL;
	const char *code = NULL, *msg = NULL;

	if (json_object_object_get_ex(resp, "error", &e)) {
		code = json_get_str(e, "code");
		msg = json_get_str(e, "message");
	}
	ctl_err("%s: %s", what, msg ? msg : "mirrornetd refused the request");
	if (code && (!strcmp(code, "invalid") || !strcmp(code, "bad_request")))
		return CTL_USAGE;
	return CTL_FAIL;
}

/* Send req (consumed; an "id" is added) and wait for its answer: CTL_OK
 * with *result (caller owns it), or an exit code after a message. Event
 * lines arriving meanwhile are skipped. */
static int conn_call(struct conn *c, const char *what, struct json_object *req,
		     struct json_object **result)
{
	struct json_object *resp, *res;
	int rc = apiclient_call(&c->ac, req, &resp);

	*result = NULL;
	json_object_put(req);
	if (rc == -ENOMEM) {
		ctl_err("out of memory");
		return CTL_FAIL;
	}
	if (rc == -EBADMSG) {
		ctl_err("%s: an answer that is not a JSON object", c->path);
		return CTL_FAIL;
	}
	if (rc < 0)
		return conn_lost(c, rc);
	if (!apiclient_ok(resp)) {
		/* ours, or a connection-level error (no id: too many clients) */
		rc = api_error(what, resp);
		json_object_put(resp);
		return rc;
	}
	json_object_object_get_ex(resp, "result", &res);
	*result = json_object_get(res);
	json_object_put(resp);
	return CTL_OK;
}

/* Connect, call cmd (req consumed), disconnect. */
static int call_once(const char *path, const char *what, struct json_object *req,
		     struct json_object **result)
{
	struct conn c;
	int rc = conn_open(&c, path);

	if (rc == CTL_OK)
		rc = conn_call(&c, what, req, result);
	else
		json_object_put(req);
	apiclient_close(&c.ac);
	return rc;
}

static struct json_object *new_request(const char *cmd)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "cmd", json_object_new_string(cmd));
	return o;
}

static void print_pretty(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* --- human output -------------------------------------------------------- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "3s", "5m", "2h", "4d" for a duration in seconds, to the nearest unit. */
static void fmt_span(int64_t s, char *out, size_t cap)
{
	if (s < 60)
		snprintf(out, cap, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(out, cap, "%lldm", (long long)((s + 30) / 60));
	else if (s < 48 * 3600)
		snprintf(out, cap, "%lldh", (long long)((s + 1800) / 3600));
	else
		snprintf(out, cap, "%lldd", (long long)((s + 43200) / 86400));
}

static void fmt_ago(int64_t t_ms, char *out, size_t cap)
{
	char span[24];
	int64_t d = now_ms() - t_ms;

	if (t_ms <= 0) {
		snprintf(out, cap, "never");
		return;
	}
	fmt_span(d > 0 ? d / 1000 : 0, span, sizeof span);
	snprintf(out, cap, "%s ago", span);
}

static void fmt_expires(int64_t t_s, char *out, size_t cap)
{
	char span[24];
	int64_t d = t_s - now_ms() / 1000;

	if (d <= 0) {
		snprintf(out, cap, "expired");
		return;
	}
	fmt_span(d, span, sizeof span);
	snprintf(out, cap, "in %s", span);
}

/* Columns as the terminal shows them: UTF-8 sequences count as one. */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

#define MAX_COLS 12

/* A table of strings printed with aligned columns; every cell is made safe
 * for the terminal (ctl_safe) as it is added. */
struct table {
	size_t ncols, nrows, cap;
	const char *head[MAX_COLS];
	bool right[MAX_COLS];
	char **cells;                /* nrows * ncols, owned */
};

static int table_add(struct table *t, const char *const *row)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **nc = realloc(t->cells, cap * t->ncols * sizeof *nc);
		if (!nc)
			return -ENOMEM;
		t->cells = nc;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		char *s = ctl_safe_dup(row[i]);
		if (!s)
			s = strdup("?");
		t->cells[t->nrows * t->ncols + i] = s;
	}
	t->nrows++;
	return 0;
}

/* Append s padded to w columns, then the gap to the next column. */
static void put_cell(FILE *f, const char *s, size_t w, bool right)
{
	size_t pad = w - width(s);

	fprintf(f, "%*s%s%*s  ", right ? (int)pad : 0, "", s, right ? 0 : (int)pad, "");
}

/* Print a line built in a memory stream, without its trailing blanks. */
static void put_line(char *line, size_t n)
{
	while (n && line[n - 1] == ' ')
		n--;
	printf("%.*s\n", (int)n, line);
}

static void table_print(const struct table *t)
{
	size_t w[MAX_COLS];

	for (size_t i = 0; i < t->ncols; i++) {
		w[i] = width(t->head[i]);
		for (size_t r = 0; r < t->nrows; r++) {
			size_t x = width(t->cells[r * t->ncols + i]);
			if (x > w[i])
				w[i] = x;
		}
	}
	for (size_t r = 0; r <= t->nrows; r++) {   /* row 0: the head */
		char *line = NULL;
		size_t n = 0;
		FILE *f = open_memstream(&line, &n);
		if (!f)
			return;
		for (size_t i = 0; i < t->ncols; i++)
			put_cell(f, r ? t->cells[(r - 1) * t->ncols + i] : t->head[i], w[i], t->right[i]);
		fclose(f);
		put_line(line, n);
		free(line);
	}
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

static const char *str_or(struct json_object *o, const char *k, const char *dflt)
{
	const char *s = json_get_str(o, k);

	return s && *s ? s : dflt;
}

static int64_t num_or(struct json_object *o, const char *k, int64_t dflt)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
		return dflt;
	return json_object_get_int64(v);
}

static bool bool_of(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_get_boolean(v);
}

static void short_did(const char *did, char *out, size_t cap)
{
	if (did)
		did_key_short(did, out, cap);
	else
		snprintf(out, cap, "-");
}

/* Flatten an object into "key value" pairs ("a.b" for nested objects). */
static void kv_collect(struct json_object *o, const char *prefix, struct table *t)
{
	json_object_object_foreach(o, k, v) {
		char name[128];
		const char *row[2];
		snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? "." : "", k);
		if (json_object_is_type(v, json_type_object)) {
			kv_collect(v, name, t);
			continue;
		}
		row[0] = name;
		if (!v)
			row[1] = "-";
		else if (json_object_is_type(v, json_type_string))
			row[1] = json_object_get_string(v);
		else
			row[1] = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
									JSON_C_TO_STRING_NOSLASHESCAPE);
		table_add(t, row);
	}
}

static void print_status(struct json_object *st)
{
	struct table t = { .ncols = 2 };
	size_t w = 0;

	if (!json_object_is_type(st, json_type_object)) {
		print_pretty(st);
		return;
	}
	kv_collect(st, "", &t);
	for (size_t r = 0; r < t.nrows; r++)
		if (width(t.cells[r * 2]) > w)
			w = width(t.cells[r * 2]);
	for (size_t r = 0; r < t.nrows; r++)
		printf("%-*s%s\n", (int)(w + 2), t.cells[r * 2], t.cells[r * 2 + 1]);
	table_free(&t);
}

static void print_peers(struct json_object *arr)
{
	struct table t = { .ncols = 9,
			   .head = { "NAME", "DID", "ROLE", "ADDRESS", "STATE", "LAST SEEN", "RTT",
				     "RECORDS", "FLAGS", "WG ENDPOINT", "HANDSHAKE", "DIRECT" },
			   .right = { [6] = true, [7] = true, [10] = true } };
	struct json_object *w;

	/* the WireGuard view, when the daemon runs over WireGuard */
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (json_object_object_get_ex(json_object_array_get_idx(arr, i), "wireguard", &w))
			t.ncols = 12;
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *p = json_object_array_get_idx(arr, i), *rtt;
		char did[24], seen[32], rtts[24], recs[24], flags[48], hs[32];
		const char *row[12];
		short_did(json_get_str(p, "did"), did, sizeof did);
		fmt_ago(num_or(p, "last_seen_ms", 0), seen, sizeof seen);
		/* rtt_ms 0: not measured yet */
		if (json_object_object_get_ex(p, "rtt_ms", &rtt) && rtt &&
		    !json_object_is_type(rtt, json_type_null) && json_object_get_double(rtt) > 0) {
			double v = json_object_get_double(rtt);
			snprintf(rtts, sizeof rtts, v < 10 ? "%.1f ms" : "%.0f ms", v);
		} else {
			snprintf(rtts, sizeof rtts, "-");
		}
		snprintf(recs, sizeof recs, "%lld", (long long)num_or(p, "records", 0));
		flags[0] = '\0';
		static const char *const flag_names[] = { "mesh", "choked", "choked_us", "graylisted" };
		for (size_t k = 0; k < sizeof flag_names / sizeof *flag_names; k++)
			if (bool_of(p, flag_names[k]))
				snprintf(flags + strlen(flags), sizeof flags - strlen(flags), "%s%s",
					 flags[0] ? "," : "", flag_names[k]);
		row[0] = str_or(p, "name", "-");
		row[1] = did;
		row[2] = str_or(p, "role", "-");
		row[3] = str_or(p, "addr", "-");
		row[4] = str_or(p, "state", "-");
		row[5] = seen;
		row[6] = rtts;
		row[7] = recs;
		row[8] = flags;
		row[9] = row[11] = "-";
		row[10] = "-";
		if (json_object_object_get_ex(p, "wireguard", &w) && w) {
			int64_t age = num_or(w, "handshake_age_s", -1);
			row[9] = str_or(w, "endpoint", "-");
			if (age >= 0)
				snprintf(hs, sizeof hs, "%llds ago", (long long)age);
			else
				snprintf(hs, sizeof hs, "never");
			row[10] = hs;
			row[11] = bool_of(w, "direct") ? "yes" : "no";
		}
		table_add(&t, row);
	}
	table_print(&t);
	table_free(&t);
}

static void print_records(struct json_object *arr)
{
	struct table t = { .ncols = 6,
			   .head = { "KIND", "ORIGIN", "KEY", "VERSION", "EXPIRES", "" },
			   .right = { [3] = true } };

	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *r = json_object_array_get_idx(arr, i);
		char origin[24], ver[24], exp[32];
		const char *row[6];
		short_did(json_get_str(r, "origin"), origin, sizeof origin);
		snprintf(ver, sizeof ver, "%llu", (unsigned long long)num_or(r, "version", 0));
		fmt_expires(num_or(r, "expires", 0), exp, sizeof exp);
		row[0] = str_or(r, "kind", "?");
		row[1] = origin;
		row[2] = str_or(r, "key", "");
		row[3] = ver;
		row[4] = exp;
		row[5] = (bool_of(r, "tombstone") ? "tombstone" : "");
		table_add(&t, row);
	}
	table_print(&t);
	table_free(&t);
}

/* One line for a record: kind, origin, key, version, what. */
static void print_record_line(const char *prefix, struct json_object *r)
{
	char origin[24], exp[32], kind[64], key[4 * MN_MAX_RKEY + 1], sid[68];
	const char *id = json_get_str(r, "id");

	short_did(json_get_str(r, "origin"), origin, sizeof origin);
	fmt_expires(num_or(r, "expires", 0), exp, sizeof exp);
	printf("%s%s %s %s v%llu %s, id %.16s, expires %s\n", prefix,
	       ctl_safe(str_or(r, "kind", "?"), kind, sizeof kind), origin,
	       ctl_safe(str_or(r, "key", ""), key, sizeof key), (unsigned long long)num_or(r, "version", 0),
	       bool_of(r, "tombstone") ? "tombstone" : "record", ctl_safe(id ? id : "-", sid, sizeof sid),
	       exp);
}

/* --- commands ------------------------------------------------------------ */

/* Options every daemon command takes. */
struct common {
	bool json;
	const char *socket;
};

#define COMMON_OPTS { "json", no_argument, NULL, 'j' }, { "socket", required_argument, NULL, 'S' }, \
		    { "help", no_argument, NULL, 'h' }

static int usage(const char *text, bool help)
{
	fprintf(help ? stdout : stderr, "usage: mirrornetctl %s\n"
		"  --json         JSON on stdout instead of text\n"
		"  --socket PATH  the daemon's API socket (default $MIRRORNET_SOCKET, else "
		DEFAULT_SOCKET ")\n", text);
	return help ? CTL_OK : CTL_USAGE;
}

/* status and peers: no arguments. */
static int simple_cmd(int argc, char **argv, const char *cmd, void (*print)(struct json_object *))
{
	static const struct option opts[] = { COMMON_OPTS, { NULL, 0, NULL, 0 } };
	struct common o = { 0 };
	struct json_object *res;
	char text[64];
	int c, rc;

	snprintf(text, sizeof text, "%s [--json] [--socket PATH]", cmd);
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': o.json = true; break;
		case 'S': o.socket = optarg; break;
		case 'h': return usage(text, true);
		default: return usage(text, false);
		}
	}
	if (optind != argc) {
		ctl_err("%s: unexpected argument '%s'", cmd, argv[optind]);
		return CTL_USAGE;
	}
	rc = call_once(ctl_socket_path(o.socket), cmd, new_request(cmd), &res);
	if (rc)
		return rc;
	if (o.json)
		print_pretty(res);
	else
		print(res);
	json_object_put(res);
	return CTL_OK;
}

static void print_peers_any(struct json_object *res)
{
	if (json_object_is_type(res, json_type_array))
		print_peers(res);
	else
		print_pretty(res);
}

int ctl_status(int argc, char **argv)
{
	return simple_cmd(argc, argv, "status", print_status);
}

int ctl_peers(int argc, char **argv)
{
	return simple_cmd(argc, argv, "peers", print_peers_any);
}

static const char kinds_list[] = "node, cert, revoke, dns, expose, ioc, svc, backup";

int ctl_records(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS, { "origin", required_argument, NULL, 'o' },
		{ "key", required_argument, NULL, 'k' }, { NULL, 0, NULL, 0 },
	};
	static const char text[] = "records [KIND] [--origin DID] [--key KEY] [--json] [--socket PATH]";
	struct common o = { 0 };
	struct json_object *req, *res;
	const char *key = NULL;
	char did[DID_KEY_MAX] = "";
	uint8_t pk[32];
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': o.json = true; break;
		case 'S': o.socket = optarg; break;
		case 'k': key = optarg; break;
		case 'o':
			if (ctl_parse_pubkey(optarg, pk) < 0) {
				ctl_err("records: --origin wants a did:key or 64 hex digits");
				return CTL_USAGE;
			}
			did_key_encode(DID_ED25519, pk, did, sizeof did);
			break;
		case 'h': return usage(text, true);
		default: return usage(text, false);
		}
	}
	if (argc - optind > 1) {
		ctl_err("records: one KIND at most");
		return CTL_USAGE;
	}
	if (optind < argc && kind_from_name(argv[optind]) < 0) {
		ctl_err("records: unknown kind '%s' (%s)", argv[optind], kinds_list);
		return CTL_USAGE;
	}
	req = new_request("records");
	if (optind < argc)
		json_object_object_add(req, "kind", json_object_new_string(argv[optind]));
	if (did[0])
		json_object_object_add(req, "origin", json_object_new_string(did));
	if (key)
		json_object_object_add(req, "key", json_object_new_string(key));
	rc = call_once(ctl_socket_path(o.socket), "records", req, &res);
	if (rc)
		return rc;
	if (o.json)
		print_pretty(res);
	else if (json_object_is_type(res, json_type_array))
		print_records(res);
	else
		print_pretty(res);
	json_object_put(res);
	return CTL_OK;
}

int ctl_publish(int argc, char **argv)
{
	static const struct option opts[] = {
		COMMON_OPTS, { "body", required_argument, NULL, 'b' },
		{ "file", required_argument, NULL, 'f' }, { "tombstone", no_argument, NULL, 't' },
		{ "ttl", required_argument, NULL, 'l' }, { NULL, 0, NULL, 0 },
	};
	static const char text[] = "publish KIND KEY (--body JSON | --file F | --tombstone) "
				   "[--ttl DURATION] [--json] [--socket PATH]";
	struct common o = { 0 };
	const char *body_text = NULL, *body_file = NULL;
	struct json_object *req, *res, *body = NULL;
	bool tomb = false;
	long long ttl = -1;
	uint8_t *fbuf = NULL;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': o.json = true; break;
		case 'S': o.socket = optarg; break;
		case 'b': body_text = optarg; break;
		case 'f': body_file = optarg; break;
		case 't': tomb = true; break;
		case 'l':
			if ((ttl = ctl_parse_duration(optarg)) <= 0) {
				ctl_err("publish: --ttl wants a duration like 3600, 90m, 12h, 30d");
				return CTL_USAGE;
			}
			break;
		case 'h': return usage(text, true);
		default: return usage(text, false);
		}
	}
	if (argc - optind != 2 || (!!body_text + !!body_file + tomb) != 1)
		return usage(text, false);
	if (kind_from_name(argv[optind]) < 0) {
		ctl_err("publish: unknown kind '%s' (%s)", argv[optind], kinds_list);
		return CTL_USAGE;
	}
	if (body_file) {
		long n = ctl_read_file(body_file, BODY_FILE_MAX, &fbuf);
		if (n < 0) {
			ctl_err("%s: %s", body_file, n == -EFBIG ? "larger than a record body can be"
							       : strerror((int)-n));
			return CTL_FAIL;
		}
		fbuf[n] = 0;
		body_text = (const char *)fbuf;
	}
	if (body_text) {
		enum json_tokener_error jerr;
		body = json_tokener_parse_verbose(body_text, &jerr);
		free(fbuf);
		if (!body || !json_object_is_type(body, json_type_object)) {
			ctl_err("publish: the body must be a JSON object%s%s", body ? "" : ": ",
				body ? "" : json_tokener_error_desc(jerr));
			json_object_put(body);
			return CTL_USAGE;
		}
	}
	req = new_request("publish");
	json_object_object_add(req, "kind", json_object_new_string(argv[optind]));
	json_object_object_add(req, "key", json_object_new_string(argv[optind + 1]));
	if (body)
		json_object_object_add(req, "body", body);
	else
		json_object_object_add(req, "tombstone", json_object_new_boolean(true));
	if (ttl > 0)
		json_object_object_add(req, "ttl_s", json_object_new_int64(ttl));
	rc = call_once(ctl_socket_path(o.socket), "publish", req, &res);
	if (rc)
		return rc;
	if (o.json)
		print_pretty(res);
	else
		print_record_line("published ", res);
	json_object_put(res);
	return CTL_OK;
}

int ctl_watch(int argc, char **argv)
{
	static const struct option opts[] = { COMMON_OPTS, { NULL, 0, NULL, 0 } };
	static const char text[] = "watch [KIND...] [--json] [--socket PATH]";
	struct common o = { 0 };
	struct json_object *req, *kinds, *res;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, orig;
	struct conn cn;
	char *line;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': o.json = true; break;
		case 'S': o.socket = optarg; break;
		case 'h': return usage(text, true);
		default: return usage(text, false);
		}
	}
	for (int i = optind; i < argc; i++) {
		if (kind_from_name(argv[i]) < 0) {
			ctl_err("watch: unknown kind '%s' (%s)", argv[i], kinds_list);
			return CTL_USAGE;
		}
	}
	/* a closed stdout is an error from fflush, not a signal */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &orig);
	rc = conn_open(&cn, ctl_socket_path(o.socket));
	if (rc)
		goto out;
	req = new_request("subscribe");
	kinds = json_object_new_array();
	for (int i = optind; i < argc; i++)
		json_object_array_add(kinds, json_object_new_string(argv[i]));
	json_object_object_add(req, "kinds", kinds);
	rc = conn_call(&cn, "watch", req, &res);
	if (rc)
		goto out;
	json_object_put(res);
	/* from here SIGINT/SIGTERM are taken only inside ppoll(): a clean end */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	cn.ac.waitmask = &orig;
	while ((rc = apiclient_line(&cn.ac, &line, -1)) == 1) {
		struct json_object *ev = apiclient_parse(line), *r;
		if (!ev)
			continue;
		const char *name = json_get_str(ev, "event");
		if (!name) {   /* an answer, not an event: we sent nothing more */
			json_object_put(ev);
			continue;
		}
		if (o.json) {
			printf("%s\n", line);
		} else if (!strcmp(name, "record") && json_object_object_get_ex(ev, "record", &r)) {
			char ts[16];
			time_t now = time(NULL);
			strftime(ts, sizeof ts, "%H:%M:%S ", localtime(&now));
			print_record_line(ts, r);
		} else {
			printf("event %s %s\n", name, line);
		}
		json_object_put(ev);
		if (fflush(stdout) == EOF || ferror(stdout)) {
			rc = CTL_OK;   /* the reader went away (SIGPIPE ignored): done */
			goto out;
		}
	}
	if (rc == -EINTR && got_signal) {
		rc = CTL_OK;
	} else {
		if (rc == 0)
			ctl_err("%s: mirrornetd went away", cn.path);
		else
			ctl_err("%s: %s", cn.path, strerror(-rc));
		rc = CTL_NODAEMON;
	}
out:
	apiclient_close(&cn.ac);
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return rc;
}

/* api-raw: a debugging aid. Sends each LINE as it is and prints as many
 * answer lines, raw (--until-eof: every line until the daemon closes;
 * --hold S: sleep S seconds before reading, a slow reader; --no-read:
 * close without reading). With no LINE, relays stdin to the socket (then
 * half-closes) and the socket to stdout until the daemon closes. */
static int raw_relay(struct conn *c)
{
	struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = c->ac.fd, .events = POLLIN } };
	char buf[16384], out[16384];
	size_t out_len = 0, out_off = 0;
	bool in_open = true;

	/* never blocked in a write: the daemon stops reading a client that
	 * does not read its answers (api.c), and a blocking write then waited
	 * for a daemon that waited for us */
	for (;;) {
		p[0].fd = in_open && out_off == out_len ? 0 : -1;
		p[1].events = POLLIN | (out_off < out_len ? POLLOUT : 0);
		if (poll(p, 2, CALL_TIMEOUT_S * 1000) <= 0) {
			ctl_err("%s: no answer from mirrornetd within %d s", c->path, CALL_TIMEOUT_S);
			return CTL_NODAEMON;
		}
		/* answers first, all that is there */
		while (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(c->ac.fd, buf, sizeof buf, MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
				return CTL_OK;
			if (n < 0)
				break;
			fwrite(buf, 1, (size_t)n, stdout);
		}
		fflush(stdout);
		if (out_off < out_len && (p[1].revents & POLLOUT)) {
			ssize_t n = send(c->ac.fd, out + out_off, out_len - out_off,
					 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				in_open = false;   /* the daemon dropped us: read what it said */
				out_off = out_len = 0;
			} else if (n > 0) {
				out_off += (size_t)n;
			}
		}
		if (p[0].fd == 0 && p[0].revents) {
			ssize_t n = read(0, out, sizeof out);
			out_off = 0;
			out_len = n > 0 ? (size_t)n : 0;
			if (n <= 0)
				in_open = false;
		}
		if (!in_open && out_off == out_len && p[0].fd == 0) {
			shutdown(c->ac.fd, SHUT_WR);
			p[0].fd = -1;
		}
	}
}

int ctl_api_raw(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 'S' }, { "hold", required_argument, NULL, 'H' },
		{ "until-eof", no_argument, NULL, 'e' }, { "no-read", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL;
	uint64_t hold = 0;
	bool until_eof = false, no_read = false;
	struct conn cn;
	char *line;
	int c, rc, want;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'S': sock = optarg; break;
		case 'e': until_eof = true; break;
		case 'n': no_read = true; break;
		case 'H':
			if (ctl_parse_u64(optarg, &hold) < 0 || hold > 3600) {
				ctl_err("api-raw: --hold wants seconds");
				return CTL_USAGE;
			}
			break;
		default:
			ctl_err("usage: mirrornetctl api-raw [--socket PATH] [--hold SECONDS | --no-read] "
				"[--until-eof] [LINE...]");
			return CTL_USAGE;
		}
	}
	rc = conn_open(&cn, ctl_socket_path(sock));
	if (rc)
		return rc;
	if (optind == argc) {
		rc = raw_relay(&cn);
		goto out;
	}
	for (int i = optind; i < argc; i++) {
		if (apiclient_send_raw(&cn.ac, argv[i], strlen(argv[i])) < 0 ||
		    apiclient_send_raw(&cn.ac, "\n", 1) < 0)
			break;   /* dropped: print what it said */
	}
	if (no_read) {   /* gone before the answers: the daemon's writes fail */
		rc = CTL_OK;
		goto out;
	}
	if (hold)
		sleep((unsigned)hold);   /* not reading: a slow client */
	want = argc - optind;
	while ((until_eof || want > 0) && (rc = apiclient_line(&cn.ac, &line, APICLIENT_TIMEOUT_MS)) == 1) {
		printf("%s\n", line);
		want--;
	}
	fflush(stdout);
	rc = until_eof || want <= 0 ? CTL_OK : CTL_FAIL;
	if (want > 0 && !until_eof)
		ctl_err("%s: the connection ended after %d answer(s) of %d", cn.path,
			argc - optind - want, argc - optind);
out:
	apiclient_close(&cn.ac);
	return rc;
}

int ctl_call(const char *socket_opt, const char *cmd, struct json_object *req,
	     struct json_object **result)
{
	if (!req)
		req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string(cmd));
	return call_once(ctl_socket_path(socket_opt), cmd, req, result);
}

void ctl_print_json(struct json_object *o)
{
	print_pretty(o);
}
