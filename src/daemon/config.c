/* Configuration file: parse, validate, print. See config.h, docs/config.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/daemon/config.h"
#include "src/addrplan.h"
#include "src/log.h"
#include "proto/body.h"
#include "proto/hex.h"
#include "crypto/did.h"

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof *c);
	snprintf(c->name, sizeof c->name, "mirrornet");
	snprintf(c->key, sizeof c->key, "/etc/mirrornet/node.key");
	snprintf(c->db, sizeof c->db, "/var/lib/mirrornet/store.db");
	snprintf(c->api, sizeof c->api, "/var/run/mirrornet/api.sock");
	snprintf(c->listen, sizeof c->listen, "127.0.0.1:7332");
	config_parse_addr(c->listen, &c->listen_sa, &c->listen_salen);
	c->role = ROLE_PEER;
	c->log_level = LOG_LVL_INFO;
	c->node_ttl_s = 86400;
	snprintf(c->wg_backend, sizeof c->wg_backend, "uapi");
	c->wg_port = 51820;
	c->wg_keepalive_s = 25;
	c->gossip_port = 7332;
	c->join_port = 7333;
	snprintf(c->subnet, sizeof c->subnet, "%s", ADDRPLAN_DEFAULT);
	c->cert_lifetime_s = 90 * 86400;
	snprintf(c->dns_server, sizeof c->dns_server, "none");
	snprintf(c->dns_zones, sizeof c->dns_zones, "all");
	snprintf(c->dns_dir, sizeof c->dns_dir, "/var/lib/mirrornet/dns");
	c->dns_port = 53;
	engine_config_default(&c->engine);
}

int config_parse_addr(const char *s, struct sockaddr_storage *sa, size_t *salen)
{
	char host[64];
	const char *port;
	char *end;

	memset(sa, 0, sizeof *sa);
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - s - 1) >= sizeof host)
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(rb - s - 1));
		host[rb - s - 1] = 0;
		port = rb + 2;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon || (size_t)(colon - s) >= sizeof host || strchr(s, ':') != colon)
			return -EINVAL;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = 0;
		port = colon + 1;
	}
	long p = strtol(port, &end, 10);
	if (!*port || *end || p < 1 || p > 65535)
		return -EINVAL;
	struct sockaddr_in *v4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)sa;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)p);
		*salen = sizeof *v4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)p);
		*salen = sizeof *v6;
		return 0;
	}
	return -EINVAL;
}

void config_addr_text(const struct sockaddr_storage *sa, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "";

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
		snprintf(buf, cap, "%s:%u", ip, ntohs(v4->sin_port));
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
		snprintf(buf, cap, "[%s]:%u", ip, ntohs(v6->sin6_port));
	} else if (cap) {
		buf[0] = 0;
	}
}

int config_mesh_sa(const char *mesh_addr, unsigned port, struct sockaddr_storage *sa)
{
	char a[MN_MAX_ADDR + 16];
	size_t salen;
	size_t n = strcspn(mesh_addr, "/");

	if (!n || n > MN_MAX_ADDR)
		return -EINVAL;
	snprintf(a, sizeof a, memchr(mesh_addr, ':', n) ? "[%.*s]:%u" : "%.*s:%u", (int)n, mesh_addr,
		 port);
	return config_parse_addr(a, sa, &salen);
}

static int parse_pk(const char *s, uint8_t pk[32])
{
	if (!strncmp(s, "did:", 4))
		return did_key_decode(DID_ED25519, s, pk) < 0 ? -EINVAL : 0;
	return hex_decode(s, pk, 32) < 0 ? -EINVAL : 0;
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int copy_str(char *dst, size_t cap, const char *v)
{
	if (strlen(v) >= cap || !*v)
		return -EINVAL;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

/* The numeric engine knobs: name, field, min, max. */
#define KNOB(n, f, lo, hi) { n, offsetof(struct engine_config, f), lo, hi }
static const struct {
	const char *name;
	size_t off;
	unsigned min, max;
} knobs[] = {
	KNOB("mesh_degree", d, 1, 64),
	KNOB("mesh_degree_low", d_lo, 1, 64),
	KNOB("mesh_degree_high", d_hi, 1, 64),
	KNOB("gossip_peers", d_lazy, 0, 64),
	KNOB("heartbeat_ms", heartbeat_ms, 10, 60000),
	KNOB("large_record", large_record, 256, MN_MAX_RECORD + 1),
	KNOB("probe_ms", probe_ms, 10, 60000),
	KNOB("ack_timeout_ms", ack_timeout_ms, 5, 60000),
	KNOB("suspect_ms", suspect_ms, 10, 600000),
	KNOB("sync_ms", sync_ms, 100, 3600000),
	KNOB("max_peers", max_peers, 1, 65536),
	KNOB("max_records", max_records, 1, 10000000),
	KNOB("max_records_per_origin", max_per_origin, 1, 10000000),
	KNOB("max_record_bytes", max_bytes, MN_MAX_RECORD, 4095u << 20),
	KNOB("max_record_bytes_per_origin", max_bytes_per_origin, MN_MAX_RECORD, 4095u << 20),
	KNOB("origin_bytes_per_s", origin_bytes_per_s, 1, 1u << 30),
	KNOB("origin_burst_bytes", origin_burst_bytes, MN_MAX_RECORD, 1u << 30),
	KNOB("max_clock_skew_s", max_skew_s, 1, 86400),
	KNOB("max_lifetime_s", max_lifetime_s, 3600, 3651u * 86400),
	KNOB("peer_rate", peer_msgs_per_s, 1, 1000000),
};

static int set_option(struct config *c, const char *opt, char *val, char *msg, size_t cap)
{
#define BAD(...) do { snprintf(msg, cap, __VA_ARGS__); return -EINVAL; } while (0)
	if (!strcmp(opt, "name")) {
		if (copy_str(c->name, sizeof c->name, val) < 0 || !dns_name_valid(val, false) ||
		    strchr(val, '.'))
			BAD("name: a lower-case DNS label (letters, digits, '-'), at most 63");
	} else if (!strcmp(opt, "key")) {
		if (copy_str(c->key, sizeof c->key, val) < 0)
			BAD("key: a file path");
	} else if (!strcmp(opt, "db")) {
		if (copy_str(c->db, sizeof c->db, val) < 0)
			BAD("db: a file path");
	} else if (!strcmp(opt, "api")) {
		if (copy_str(c->api, sizeof c->api, val) < 0 || strlen(val) >= 100)
			BAD("api: a socket path of fewer than 100 bytes");
	} else if (!strcmp(opt, "listen")) {
		if (copy_str(c->listen, sizeof c->listen, val) < 0 ||
		    config_parse_addr(val, &c->listen_sa, &c->listen_salen) < 0)
			BAD("listen: ADDRESS:PORT with a numeric address (e.g. 127.0.0.1:7332, [::1]:7332)");
		c->listen_set = true;
	} else if (!strcmp(opt, "insecure_listen")) {
		if (strcmp(val, "yes") && strcmp(val, "no"))
			BAD("insecure_listen: yes or no");
		c->insecure_listen = !strcmp(val, "yes");
	} else if (!strcmp(opt, "wg_interface")) {
		size_t n = strlen(val);
		if (n == 0 || n > 15 || strspn(val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.=+") != n)
			BAD("wg_interface: an interface name of 1..15 characters");
		memcpy(c->wg_interface, val, n + 1);
	} else if (!strcmp(opt, "wg_backend")) {
		if (strcmp(val, "uapi") && strcmp(val, "netlink"))
			BAD("wg_backend: uapi (wireguard-go) or netlink (kernel)");
		snprintf(c->wg_backend, sizeof c->wg_backend, "%s", val);
	} else if (!strcmp(opt, "wg_port")) {
		if (parse_uint(val, 1, 65535, &c->wg_port) < 0)
			BAD("wg_port: 1..65535");
	} else if (!strcmp(opt, "wg_keepalive_s")) {
		if (parse_uint(val, 0, 3600, &c->wg_keepalive_s) < 0)
			BAD("wg_keepalive_s: 0 (off) .. 3600");
	} else if (!strcmp(opt, "gossip_port")) {
		if (parse_uint(val, 1, 65535, &c->gossip_port) < 0)
			BAD("gossip_port: 1..65535");
	} else if (!strcmp(opt, "join_port")) {
		if (parse_uint(val, 1, 65535, &c->join_port) < 0)
			BAD("join_port: 1..65535");
	} else if (!strcmp(opt, "subnet")) {
		struct addrplan ap;
		if (copy_str(c->subnet, sizeof c->subnet, val) < 0 || addrplan_parse(val, &ap) < 0)
			BAD("subnet: a CIDR such as 10.42.0.0/16 or fd42:4242::/64 (host bits zero)");
	} else if (!strcmp(opt, "cert_lifetime_s")) {
		unsigned v;
		if (parse_uint(val, 3600, 3650u * 86400, &v) < 0)
			BAD("cert_lifetime_s: 3600 (an hour) .. 315360000 (ten years)");
		c->cert_lifetime_s = v;
	} else if (!strcmp(opt, "dns_server")) {
		if (strcmp(val, "none") && strcmp(val, "knot") && strcmp(val, "bind") && strcmp(val, "dnsmasq"))
			BAD("dns_server: none, knot, bind or dnsmasq");
		snprintf(c->dns_server, sizeof c->dns_server, "%s", val);
	} else if (!strcmp(opt, "dns_zones")) {
		if (strcmp(val, "all") && strcmp(val, "own"))
			BAD("dns_zones: all (serve every mesh zone) or own (only the zones delegated to us)");
		snprintf(c->dns_zones, sizeof c->dns_zones, "%s", val);
	} else if (!strcmp(opt, "dns_dir")) {
		if (val[0] != '/' || copy_str(c->dns_dir, sizeof c->dns_dir, val) < 0 ||
		    strspn(val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-/") != strlen(val) ||
		    strstr(val, "/../") || strstr(val, "/./") || (strlen(val) > 1 && val[strlen(val) - 1] == '/'))
			BAD("dns_dir: an absolute directory of [A-Za-z0-9._+-/], no '.' or '..' parts, no final '/'");
	} else if (!strcmp(opt, "dns_listen")) {
		if (copy_str(c->dns_listen, sizeof c->dns_listen, val) < 0 || !addr_valid(val, false))
			BAD("dns_listen: an IP address");
	} else if (!strcmp(opt, "dns_port")) {
		if (parse_uint(val, 1, 65535, &c->dns_port) < 0)
			BAD("dns_port: 1..65535");
	} else if (!strcmp(opt, "dns_reload")) {
		if (copy_str(c->dns_reload, sizeof c->dns_reload, val) < 0)
			BAD("dns_reload: a command of at most %zu bytes", sizeof c->dns_reload - 1);
	} else if (!strcmp(opt, "wg_endpoint")) {
		if (copy_str(c->wg_endpoint, sizeof c->wg_endpoint, val) < 0 || !strrchr(val, ':'))
			BAD("wg_endpoint: HOST:PORT (a DNS name or an address) where peers reach our WireGuard");
	} else if (!strcmp(opt, "wg_peer")) {
		/* wg_peer DID WGKEYHEX HOST:PORT MESHADDR */
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
	} else if (!strcmp(opt, "advertise")) {
		struct sockaddr_storage sa;
		size_t l;
		if (copy_str(c->advertise, sizeof c->advertise, val) < 0 ||
		    config_parse_addr(val, &sa, &l) < 0)
			BAD("advertise: ADDRESS:PORT");
	} else if (!strcmp(opt, "root")) {
		if (parse_pk(val, c->root) < 0)
			BAD("root: the mesh root's did:key (or 64 hex digits)");
		c->have_root = true;
	} else if (!strcmp(opt, "cert")) {
		if (c->ncerts == CONFIG_MAX_CERTS)
			BAD("cert: at most %d", CONFIG_MAX_CERTS);
		if (copy_str(c->certs[c->ncerts], CONFIG_PATH_MAX, val) < 0)
			BAD("cert: a file path");
		c->ncerts++;
	} else if (!strcmp(opt, "peer")) {
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
		    config_parse_addr(sp, &p->sa, &p->salen) < 0)
			BAD("peer: '%s' is not ADDRESS:PORT", sp);
		c->npeers++;
	} else if (!strcmp(opt, "role")) {
		unsigned i;
		for (i = 0; role_names[i] && strcmp(role_names[i], val); i++)
			;
		if (!role_names[i])
			BAD("role: peer, sub-master or master");
		c->role = (uint8_t)i;
	} else if (!strcmp(opt, "mesh_addr")) {
		if (copy_str(c->mesh_addr, sizeof c->mesh_addr, val) < 0 || !addr_valid(val, true))
			BAD("mesh_addr: an IP address in canonical form");
	} else if (!strcmp(opt, "log")) {
		if (!strcmp(val, "syslog"))
			c->log_syslog = true;
		else if (!strcmp(val, "stderr"))
			c->log_syslog = false;
		else
			BAD("log: stderr or syslog");
	} else if (!strcmp(opt, "log_level")) {
		static const char *const lv[] = { "error", "warning", "info", "debug" };
		int i;
		for (i = 0; i < 4 && strcmp(lv[i], val); i++)
			;
		if (i == 4)
			BAD("log_level: error, warning, info or debug");
		c->log_level = i;
	} else if (!strcmp(opt, "node_ttl_s")) {
		if (parse_uint(val, 60, 365 * 86400, &c->node_ttl_s) < 0)
			BAD("node_ttl_s: 60..31536000");
	} else {
		for (size_t i = 0; i < sizeof knobs / sizeof knobs[0]; i++) {
			if (strcmp(opt, knobs[i].name))
				continue;
			unsigned *f = (unsigned *)((char *)&c->engine + knobs[i].off);
			if (parse_uint(val, knobs[i].min, knobs[i].max, f) < 0)
				BAD("%s: a whole number from %u to %u", opt, knobs[i].min, knobs[i].max);
			return 0;
		}
		BAD("unknown option '%s'", opt);
	}
	return 0;
#undef BAD
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
	char line[1024], msg[256];
	int lineno = 0;

	config_defaults(c);
	if (!f) {
		int e = errno;
		snprintf(err, errcap, "%s: %s", path, strerror(e));
		return -e;
	}
	while (fgets(line, sizeof line, f)) {
		lineno++;
		size_t n = strlen(line);
		if (n == sizeof line - 1 && line[n - 1] != '\n') {
			snprintf(err, errcap, "%s:%d: line too long", path, lineno);
			fclose(f);
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
			fclose(f);
			return -EINVAL;
		}
		*val++ = 0;
		while (*val == ' ' || *val == '\t')
			val++;
		if (set_option(c, s, val, msg, sizeof msg) < 0) {
			snprintf(err, errcap, "%s:%d: %s", path, lineno, msg);
			fclose(f);
			return -EINVAL;
		}
	}
	fclose(f);
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
		goto ok;
	snprintf(err, errcap, "%s: %s", path, msg);
	return -EINVAL;
ok:
	/* with WireGuard, gossip listens on the mesh address only, by default */
	if (c->wg_interface[0] && !c->listen_set) {
		config_mesh_sa(c->mesh_addr, c->gossip_port, &c->listen_sa);
		c->listen_salen = c->listen_sa.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
								      : sizeof(struct sockaddr_in);
		config_addr_text(&c->listen_sa, c->listen, sizeof c->listen);
	}
	return 0;
}

void config_print(const struct config *c, FILE *f)
{
	char did[DID_KEY_MAX];
	static const char *const lv[] = { "error", "warning", "info", "debug" };

	fprintf(f, "name %s\nkey %s\ndb %s\napi %s\nlisten %s\n", c->name, c->key, c->db, c->api,
		c->listen);
	fprintf(f, "advertise %s\n", c->advertise[0] ? c->advertise : c->listen);
	if (c->insecure_listen)
		fprintf(f, "insecure_listen yes\n");
	did_key_encode(DID_ED25519, c->root, did, sizeof did);
	fprintf(f, "root %s\n", did);
	for (size_t i = 0; i < c->ncerts; i++)
		fprintf(f, "cert %s\n", c->certs[i]);
	for (size_t i = 0; i < c->npeers; i++) {
		did_key_encode(DID_ED25519, c->peers[i].pk, did, sizeof did);
		fprintf(f, "peer %s %s\n", did, c->peers[i].addr);
	}
	fprintf(f, "role %s\n", role_names[c->role]);
	if (c->mesh_addr[0])
		fprintf(f, "mesh_addr %s\n", c->mesh_addr);
	fprintf(f, "log %s\nlog_level %s\nnode_ttl_s %u\n", c->log_syslog ? "syslog" : "stderr",
		lv[c->log_level], c->node_ttl_s);
	if (c->wg_interface[0]) {
		char hex[65];
		fprintf(f, "wg_interface %s\nwg_backend %s\nwg_port %u\nwg_keepalive_s %u\n",
			c->wg_interface, c->wg_backend, c->wg_port, c->wg_keepalive_s);
		if (c->wg_endpoint[0])
			fprintf(f, "wg_endpoint %s\n", c->wg_endpoint);
		for (size_t i = 0; i < c->nwg_peers; i++) {
			did_key_encode(DID_ED25519, c->wg_peers[i].pk, did, sizeof did);
			hex_encode(c->wg_peers[i].wg_key, 32, hex);
			fprintf(f, "wg_peer %s %s %s %s\n", did, hex, c->wg_peers[i].endpoint,
				c->wg_peers[i].mesh_addr);
		}
	}
	fprintf(f, "gossip_port %u\njoin_port %u\nsubnet %s\ncert_lifetime_s %llu\n", c->gossip_port,
		c->join_port, c->subnet, (unsigned long long)c->cert_lifetime_s);
	fprintf(f, "dns_server %s\ndns_zones %s\ndns_dir %s\ndns_port %u\n", c->dns_server, c->dns_zones,
		c->dns_dir, c->dns_port);
	if (c->dns_listen[0])
		fprintf(f, "dns_listen %s\n", c->dns_listen);
	if (c->dns_reload[0])
		fprintf(f, "dns_reload %s\n", c->dns_reload);
	for (size_t i = 0; i < sizeof knobs / sizeof knobs[0]; i++)
		fprintf(f, "%s %u\n", knobs[i].name,
			*(const unsigned *)((const char *)&c->engine + knobs[i].off));
}

bool config_needs_restart(const struct config *old, const struct config *nw, char *msg, size_t cap)
{
	const char *what = NULL;

	if (strcmp(old->key, nw->key))
		what = "key";
	else if (strcmp(old->db, nw->db))
		what = "db";
	else if (strcmp(old->api, nw->api))
		what = "api";
	else if (strcmp(old->listen, nw->listen))
		what = "listen";
	else if (memcmp(old->root, nw->root, 32))
		what = "root";
	else if (memcmp(&old->engine, &nw->engine, sizeof old->engine))
		what = "engine parameters";
	else if (strcmp(old->wg_interface, nw->wg_interface) || strcmp(old->wg_backend, nw->wg_backend) ||
		 old->wg_port != nw->wg_port)
		what = "WireGuard interface, backend or port";
	if (what)
		snprintf(msg, cap, "%s changed: takes effect at the next restart", what);
	return what != NULL;
}
