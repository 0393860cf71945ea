/* Configuration file: parse, validate, print. See config.h, docs/config.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/daemon/config.h"
#include "src/netaddr.h"
#include "src/daemon/subsys.h"
#include "src/addrplan.h"
#include "src/log.h"
#include "proto/body.h"
#include "proto/hex.h"
#include "crypto/did.h"

static int parse_pk(const char *s, uint8_t pk[32])
{
	if (!strncmp(s, "did:", 4))
		return did_key_decode(DID_ED25519, s, pk) < 0 ? -EINVAL : 0;
	return hex_decode(s, pk, 32) < 0 ? -EINVAL : 0;
}

/* Copy a non-empty string that fits, zero-filled (conf_restart_diff
 * compares whole fields). */
static int copy_str(char *dst, size_t cap, const char *v)
{
	if (strlen(v) >= cap || !*v)
		return -EINVAL;
	memset(dst, 0, cap);
	memcpy(dst, v, strlen(v));
	return 0;
}

#define BAD(...) do { snprintf(msg, cap, __VA_ARGS__); return -EINVAL; } while (0)

/* Checks after a typed parse, and the CONF_FN rows. */
static int check_name(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!dns_name_valid(val, false) || strchr(val, '.'))
		BAD("name: a lower-case DNS label (letters, digits, '-'), at most 63");
	return 0;
}

static int check_api(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (strlen(val) >= 100)
		BAD("api: a socket path of fewer than 100 bytes");
	return 0;
}

static int parse_listen(void *sect, char *val, char *msg, size_t cap)
{
	struct config *c = sect;

	if (copy_str(c->listen, sizeof c->listen, val) < 0 ||
	    addr_parse(val, &c->listen_sa, &c->listen_salen) < 0)
		BAD("listen: ADDRESS:PORT with a numeric address (e.g. 127.0.0.1:7332, [::1]:7332)");
	c->listen_set = true;
	return 0;
}

static void print_listen(const void *sect, const struct conf_opt *o, FILE *f)
{
	fprintf(f, "%s %s\n", o->name, ((const struct config *)sect)->listen);
}

static int check_advertise(void *sect, char *val, char *msg, size_t cap)
{
	struct sockaddr_storage sa;
	size_t l;

	(void)sect;
	if (addr_parse(val, &sa, &l) < 0)
		BAD("advertise: ADDRESS:PORT");
	return 0;
}

static void print_advertise(const void *sect, const struct conf_opt *o, FILE *f)
{
	const struct config *c = sect;   /* unset: what we listen on */

	fprintf(f, "%s %s\n", o->name, c->advertise[0] ? c->advertise : c->listen);
}

static int parse_root(void *sect, char *val, char *msg, size_t cap)
{
	struct config *c = sect;

	if (parse_pk(val, c->root) < 0)
		BAD("root: the mesh root's did:key (or 64 hex digits)");
	c->have_root = true;
	return 0;
}

static void print_did(FILE *f, const char *name, const uint8_t pk[32], const char *rest)
{
	char did[DID_KEY_MAX];

	did_key_encode(DID_ED25519, pk, did, sizeof did);
	fprintf(f, "%s %s%s%s\n", name, did, rest ? " " : "", rest ? rest : "");
}

static void print_root(const void *sect, const struct conf_opt *o, FILE *f)
{
	const struct config *c = sect;

	if (c->have_root)
		print_did(f, o->name, c->root, NULL);
}

static int parse_cert(void *sect, char *val, char *msg, size_t cap)
{
	struct config *c = sect;

	if (c->ncerts == CONFIG_MAX_CERTS)
		BAD("cert: at most %d", CONFIG_MAX_CERTS);
	if (copy_str(c->certs[c->ncerts], CONFIG_PATH_MAX, val) < 0)
		BAD("cert: a file path");
	c->ncerts++;
	return 0;
}

static void print_cert(const void *sect, const struct conf_opt *o, FILE *f)
{
	const struct config *c = sect;

	for (size_t i = 0; i < c->ncerts; i++)
		fprintf(f, "%s %s\n", o->name, c->certs[i]);
}

static int parse_peer(void *sect, char *val, char *msg, size_t cap)
{
	struct config *c = sect;
	char *sp = strpbrk(val, " \t");
	struct config_peer *p = &c->peers[c->npeers];

	if (c->npeers == CONFIG_MAX_PEERS)
		BAD("peer: at most %d", CONFIG_MAX_PEERS);
	if (!sp)
		BAD("peer: DID ADDRESS:PORT");
	*sp++ = 0;
	while (*sp == ' ' || *sp == '\t')
		sp++;
	if (parse_pk(val, p->pk) < 0)
		BAD("peer: '%s' is not a did:key", val);
	if (copy_str(p->addr, sizeof p->addr, sp) < 0 ||
	    addr_parse(sp, &p->sa, &p->salen) < 0)
		BAD("peer: '%s' is not ADDRESS:PORT", sp);
	c->npeers++;
	return 0;
}

static void print_peer(const void *sect, const struct conf_opt *o, FILE *f)
{
	const struct config *c = sect;

	for (size_t i = 0; i < c->npeers; i++)
		print_did(f, o->name, c->peers[i].pk, c->peers[i].addr);
}

static int check_mesh_addr(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!addr_valid(val, true))
		BAD("mesh_addr: an IP address in canonical form");
	return 0;
}

static int check_wg_interface(void *sect, char *val, char *msg, size_t cap)
{
	size_t n = strlen(val);

	(void)sect;
	if (n > 15 || strspn(val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.=+") != n)
		BAD("wg_interface: an interface name of 1..15 characters");
	return 0;
}

static int check_wg_address(void *sect, char *val, char *msg, size_t cap)
{
	struct sockaddr_storage sa;

	(void)sect;
	if (!strchr(val, '/') || addr_mesh_sa(val, 1, &sa) < 0)
		BAD("wg_address: ADDRESS/PREFIX, e.g. 10.42.0.2/16");
	return 0;
}

static int check_wg_endpoint(void *sect, char *val, char *msg, size_t cap)
{
	(void)sect;
	if (!strrchr(val, ':'))
		BAD("wg_endpoint: HOST:PORT (a DNS name or an address) where peers reach our WireGuard");
	return 0;
}

static int parse_wg_peer(void *sect, char *val, char *msg, size_t cap)
{
	/* wg_peer DID WGKEYHEX HOST:PORT MESHADDR */
	struct config *c = sect;
	struct config_wg_peer *w = &c->wg_peers[c->nwg_peers];
	char *f[4], *save = NULL, *tok = strtok_r(val, " \t", &save);
	int nf = 0;

	while (tok && nf < 4) {
		f[nf++] = tok;
		tok = strtok_r(NULL, " \t", &save);
	}
	if (c->nwg_peers == CONFIG_MAX_PEERS)
		BAD("wg_peer: at most %d", CONFIG_MAX_PEERS);
	if (nf != 4 || tok)
		BAD("wg_peer: DID WIREGUARD-KEY-HEX HOST:PORT MESH-ADDRESS");
	if (parse_pk(f[0], w->pk) < 0)
		BAD("wg_peer: '%s' is not a did:key", f[0]);
	if (hex_decode(f[1], w->wg_key, 32) < 0)
		BAD("wg_peer: the WireGuard key is 64 hex digits");
	if (copy_str(w->endpoint, sizeof w->endpoint, f[2]) < 0 || !strrchr(f[2], ':'))
		BAD("wg_peer: '%s' is not HOST:PORT", f[2]);
	if (copy_str(w->mesh_addr, sizeof w->mesh_addr, f[3]) < 0 || !addr_valid(f[3], false))
		BAD("wg_peer: '%s' is not a mesh address", f[3]);
	c->nwg_peers++;
	return 0;
}

static void print_wg_peer(const void *sect, const struct conf_opt *o, FILE *f)
{
	const struct config *c = sect;
	char hex[65], rest[400];

	for (size_t i = 0; i < c->nwg_peers; i++) {
		hex_encode(c->wg_peers[i].wg_key, 32, hex);
		snprintf(rest, sizeof rest, "%s %s %s", hex, c->wg_peers[i].endpoint,
			 c->wg_peers[i].mesh_addr);
		print_did(f, o->name, c->wg_peers[i].pk, rest);
	}
}

#undef BAD

#define C(f) CONF_FIELD(struct config, f)
static const struct conf_opt core_opts[] = {
	{ "name", CONF_STR, 0, C(name), .def = "mirrornet", .parse = check_name,
	  .help = "a lower-case DNS label (letters, digits, '-'), at most 63" },
	{ "key", CONF_STR, CONF_RESTART, C(key), .def = "/etc/mirrornet/node.key",
	  .help = "a file path" },
	{ "db", CONF_STR, CONF_RESTART, C(db), .def = "/var/lib/mirrornet/store.db",
	  .help = "a file path" },
	{ "api", CONF_STR, CONF_RESTART, C(api), .def = "/var/run/mirrornet/api.sock",
	  .parse = check_api, .help = "a socket path of fewer than 100 bytes" },
	{ "listen", CONF_FN, CONF_RESTART, C(listen), .def = "127.0.0.1:7332",
	  .parse = parse_listen, .print = print_listen },
	{ "mcp_write", CONF_YESNO, 0, C(mcp_write), .def = "no",
	  .help = "yes or no" },
	{ "insecure_listen", CONF_YESNO, CONF_RESTART, C(insecure_listen), .def = "no",
	  .help = "yes or no" },
	{ "advertise", CONF_STR, 0, C(advertise), .parse = check_advertise,
	  .print = print_advertise, .help = "ADDRESS:PORT" },
	{ "root", CONF_FN, CONF_RESTART, C(root), .parse = parse_root, .print = print_root },
	{ "cert", CONF_FN, CONF_MULTI, C(certs), .parse = parse_cert, .print = print_cert },
	{ "peer", CONF_FN, CONF_MULTI, C(peers), .parse = parse_peer, .print = print_peer },
	{ "role", CONF_INDEX, 0, C(role), .choices = "peer|sub-master|master", .def = "peer",
	  .help = "peer, sub-master or master" },
	{ "mesh_addr", CONF_STR, 0, C(mesh_addr), .parse = check_mesh_addr,
	  .help = "an IP address in canonical form" },
	{ "log", CONF_INDEX, 0, C(log_syslog), .choices = "stderr|syslog", .def = "stderr",
	  .help = "stderr or syslog" },
	{ "log_level", CONF_INDEX, 0, C(log_level), .choices = "error|warning|info|debug",
	  .def = "info", .help = "error, warning, info or debug" },
	{ "node_ttl_s", CONF_UINT, 0, C(node_ttl_s), .min = 60, .max = 365 * 86400, .def = "86400",
	  .help = "60..31536000" },
	{ "wg_interface", CONF_STR, CONF_RESTART, C(wg_interface), .parse = check_wg_interface,
	  .help = "an interface name of 1..15 characters" },
	{ "wg_backend", CONF_CHOICE, CONF_RESTART, C(wg_backend), .choices = "auto|uapi|netlink",
	  .def = "auto", .help = "auto, uapi (wireguard-go) or netlink (kernel)" },
	{ "wg_address", CONF_STR, CONF_RESTART, C(wg_address), .parse = check_wg_address,
	  .help = "ADDRESS/PREFIX, e.g. 10.42.0.2/16" },
	{ "wg_port", CONF_UINT, CONF_RESTART, C(wg_port), .min = 1, .max = 65535, .def = "51820",
	  .help = "1..65535" },
	{ "wg_keepalive_s", CONF_UINT, 0, C(wg_keepalive_s), .min = 0, .max = 3600, .def = "25",
	  .help = "0 (off) .. 3600" },
	{ "wg_endpoint", CONF_STR, 0, C(wg_endpoint), .parse = check_wg_endpoint,
	  .help = "HOST:PORT (a DNS name or an address) where peers reach our WireGuard" },
	{ "wg_peer", CONF_FN, CONF_MULTI, C(wg_peers), .parse = parse_wg_peer,
	  .print = print_wg_peer },
	{ "gossip_port", CONF_UINT, 0, C(gossip_port), .min = 1, .max = 65535, .def = "7332",
	  .help = "1..65535" },
};
#undef C

static void core_defaults(void *sect)
{
	engine_config_default(&((struct config *)sect)->engine);
}

static const struct conf_section core_section = {
	"", core_opts, sizeof core_opts / sizeof core_opts[0], sizeof(struct config), core_defaults, NULL,
};

/* The engine's knobs (docs/protocol.md), all read at start only; their
 * defaults are engine_config_default()'s. */
#define KNOB(n, f, lo, hi) \
	{ n, CONF_UINT, CONF_RESTART, CONF_FIELD(struct engine_config, f), .min = lo, .max = hi, \
	  .help = "a whole number from " #lo " to " #hi }
static const struct conf_opt engine_opts[] = {
	KNOB("mesh_degree", d, 1, 64),
	KNOB("mesh_degree_low", d_lo, 1, 64),
	KNOB("mesh_degree_high", d_hi, 1, 64),
	KNOB("gossip_peers", d_lazy, 0, 64),
	KNOB("mesh_eager", d_eager, 0, 64),
	KNOB("choke_wait_ms", choke_wait_ms, 0, 10000),
	KNOB("heartbeat_ms", heartbeat_ms, 10, 60000),
	KNOB("large_record", large_record, 256, 8193),
	KNOB("probe_ms", probe_ms, 10, 60000),
	KNOB("ack_timeout_ms", ack_timeout_ms, 5, 60000),
	KNOB("suspect_ms", suspect_ms, 10, 600000),
	KNOB("suspect_min_ms", suspect_min_ms, 10, 600000),
	KNOB("sync_ms", sync_ms, 100, 3600000),
	KNOB("max_peers", max_peers, 1, 65536),
	KNOB("max_records", max_records, 1, 10000000),
	KNOB("max_records_per_origin", max_per_origin, 1, 10000000),
	KNOB("max_record_bytes", max_bytes, 8192, 4293918720),
	KNOB("max_record_bytes_per_origin", max_bytes_per_origin, 8192, 4293918720),
	KNOB("origin_bytes_per_s", origin_bytes_per_s, 1, 1073741824),
	KNOB("origin_burst_bytes", origin_burst_bytes, 8192, 1073741824),
	KNOB("relay_bytes_per_s", relay_bytes_per_s, 1024, 1073741824),
	KNOB("max_clock_skew_s", max_skew_s, 1, 86400),
	KNOB("max_lifetime_s", max_lifetime_s, 3600, 315446400),
	KNOB("peer_rate", peer_msgs_per_s, 1, 1000000),
};
#undef KNOB
_Static_assert(MN_MAX_RECORD + 1 == 8193 && MN_MAX_RECORD == 8192, "large_record, max_record_bytes bounds");

static void engine_defaults(void *sect)
{
	engine_config_default(sect);
}

static const struct conf_section engine_section = {
	"engine", engine_opts, sizeof engine_opts / sizeof engine_opts[0],
	sizeof(struct engine_config), engine_defaults, NULL,
};

size_t config_sections(struct config_sect *out, size_t cap)
{
	size_t n = 0, nsub;
	const struct subsys *const *subs = subsys_list(&nsub);

	if (n < cap)
		out[n++] = (struct config_sect){ &core_section, 0 };
	if (n < cap)
		out[n++] = (struct config_sect){ &engine_section, offsetof(struct config, engine) };
	for (size_t i = 0; i < nsub && n < cap; i++) {
		size_t off = subsys_conf_off(i);
		/* a programming error, caught by test_config */
		if (subs[i]->conf.size > SUBSYS_CONF_MAX || off + subs[i]->conf.size > CONFIG_SUB_BYTES)
			abort();
		out[n++] = (struct config_sect){ &subs[i]->conf, offsetof(struct config, sub) + off };
	}
	return n;
}

void config_defaults(struct config *c)
{
	struct config_sect s[CONFIG_MAX_SECTIONS];
	size_t n = config_sections(s, CONFIG_MAX_SECTIONS);

	conf_defaults(&core_section, c);   /* zeroes the whole struct */
	for (size_t i = 1; i < n; i++)
		conf_defaults(s[i].sect, (char *)c + s[i].off);
	c->listen_set = false;   /* the default is not an explicit listen */
}

static int set_option(struct config *c, const char *opt, char *val, char *msg, size_t cap)
{
	struct config_sect s[CONFIG_MAX_SECTIONS];
	size_t n = config_sections(s, CONFIG_MAX_SECTIONS);

	for (size_t i = 0; i < n; i++) {
		const struct conf_opt *o = conf_find(s[i].sect, opt);
		if (o)
			return conf_set(s[i].sect, (char *)c + s[i].off, o, val, msg, cap);
	}
	snprintf(msg, cap, "unknown option '%.200s'", opt);
	return -EINVAL;
}

/* 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104 */
static bool sa_is_loopback(const struct sockaddr_storage *sa)
{
	if (sa->ss_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

int config_load(const char *path, struct config *c, char *err, size_t errcap)
{
	FILE *f = fopen(path, "r");

	if (!f) {
		int e = errno;
		config_defaults(c);
		snprintf(err, errcap, "%s: %s", path, strerror(e));
		return -e;
	}
	int rc = config_parse(f, path, c, err, errcap);
	fclose(f);
	return rc;
}

/* One line of f into buf (NUL-terminated, its newline kept): 1, 0 at the
 * end of the file, -E2BIG (longer than cap - 1; the rest of it is read and
 * dropped), -EILSEQ (it holds a NUL byte). */
static int read_line(FILE *f, char *buf, size_t cap)
{
	size_t n = 0;
	bool nul = false, big = false;
	int ch = EOF;

	while ((ch = getc(f)) != EOF) {
		if (ch == 0)
			nul = true;
		if (n + 1 < cap)
			buf[n++] = (char)ch;
		else
			big = true;
		if (ch == '\n')
			break;
	}
	buf[n] = '\0';
	if (ch == EOF && n == 0 && !big)
		return 0;
	return big ? -E2BIG : nul ? -EILSEQ : 1;
}

int config_parse(FILE *f, const char *path, struct config *c, char *err, size_t errcap)
{
	char line[1024], msg[256];
	int lineno = 0;

	config_defaults(c);
	for (;;) {
		int rl = read_line(f, line, sizeof line);
		if (rl == 0)
			break;
		lineno++;
		if (rl == -E2BIG) {
			snprintf(err, errcap, "%s:%d: line too long", path, lineno);
			return -EINVAL;
		}
		if (rl == -EILSEQ) {   /* fgets would have cut the line there, silently */
			snprintf(err, errcap, "%s:%d: a NUL byte in the line", path, lineno);
			return -EINVAL;
		}
		char *h = strchr(line, '#');
		if (h)
			*h = 0;
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		char *end = s + strlen(s);
		while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
			*--end = 0;
		if (!*s)
			continue;
		char *val = strpbrk(s, " \t");
		if (!val) {
			snprintf(err, errcap, "%s:%d: '%s' needs a value", path, lineno, s);
			return -EINVAL;
		}
		*val++ = 0;
		while (*val == ' ' || *val == '\t')
			val++;
		if (set_option(c, s, val, msg, sizeof msg) < 0) {
			snprintf(err, errcap, "%s:%d: %s", path, lineno, msg);
			return -EINVAL;
		}
	}
	if (ferror(f)) {
		snprintf(err, errcap, "%s: read error", path);
		return -EIO;
	}
	/* cross-option rules */
	const struct engine_config *e = &c->engine;
	if (!c->have_root)
		snprintf(msg, sizeof msg, "root: missing (the mesh root's did:key)");
	else if (!(e->d_lo <= e->d && e->d <= e->d_hi))
		snprintf(msg, sizeof msg, "mesh_degree_low <= mesh_degree <= mesh_degree_high");
	else if (e->ack_timeout_ms >= e->probe_ms)
		snprintf(msg, sizeof msg, "ack_timeout_ms must be below probe_ms");
	else if (e->suspect_ms < e->probe_ms)
		snprintf(msg, sizeof msg, "suspect_ms must be at least probe_ms");
	else if (c->wg_interface[0] && !c->mesh_addr[0])
		snprintf(msg, sizeof msg, "wg_interface needs mesh_addr (our address inside the tunnel)");
	else if (c->wg_interface[0] && strchr(c->mesh_addr, '/'))
		snprintf(msg, sizeof msg, "mesh_addr: an address without /prefix when WireGuard is on");
	else if (!c->wg_interface[0] && !sa_is_loopback(&c->listen_sa) && !c->insecure_listen)
		snprintf(msg, sizeof msg, "listen %s: not a loopback address, and without WireGuard "
			 "(wg_interface) nothing authenticates the peers there; set insecure_listen yes "
			 "to force it", c->listen);
	else
		goto sections;
	snprintf(err, errcap, "%s: %s", path, msg);
	return -EINVAL;
sections:;
	struct config_sect s[CONFIG_MAX_SECTIONS];
	size_t ns = config_sections(s, CONFIG_MAX_SECTIONS);
	for (size_t i = 0; i < ns; i++)
		if (s[i].sect->check && s[i].sect->check((char *)c + s[i].off, msg, sizeof msg) < 0) {
			snprintf(err, errcap, "%s: %s", path, msg);
			return -EINVAL;
		}
	/* with WireGuard, gossip listens on the mesh address only, by default */
	if (c->wg_interface[0] && !c->listen_set) {
		addr_mesh_sa(c->mesh_addr, c->gossip_port, &c->listen_sa);
		c->listen_salen = c->listen_sa.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
								      : sizeof(struct sockaddr_in);
		/* zeroed first: the restart check compares the whole array */
		memset(c->listen, 0, sizeof c->listen);
		addr_text(&c->listen_sa, c->listen, sizeof c->listen);
	}
	return 0;
}

void config_print(const struct config *c, FILE *f)
{
	struct config_sect s[CONFIG_MAX_SECTIONS];
	size_t n = config_sections(s, CONFIG_MAX_SECTIONS);

	for (size_t i = 0; i < n; i++)
		conf_print(s[i].sect, (const char *)c + s[i].off, f);
}

bool config_needs_restart(const struct config *old, const struct config *nw, char *msg, size_t cap)
{
	struct config_sect s[CONFIG_MAX_SECTIONS];
	size_t n = config_sections(s, CONFIG_MAX_SECTIONS);

	for (size_t i = 0; i < n; i++) {
		const struct conf_opt *o = conf_restart_diff(s[i].sect, (const char *)old + s[i].off,
							     (const char *)nw + s[i].off);
		if (o) {
			snprintf(msg, cap, "%s changed: takes effect at the next restart", o->name);
			return true;
		}
	}
	return false;
}
