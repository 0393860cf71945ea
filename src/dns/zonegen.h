/* Vortex DNS generation layer (issue #7): from a model of the mesh's
 * zones — the mesh domain and the delegations carried by signed `dns`
 * records, plus the `expose` records of each zone's delegate — write
 * RFC 1035 master files, a knot.conf, a named.conf and dnsmasq forwarding
 * lines. Pure text generation: no daemon, no sockets, no clock (the caller
 * passes serials and times). docs/dns.md describes the rules.
 *
 * Life of a model (OpenBGPD style: build, validate, then use):
 *   zonegen_new(domain)  → empty model for the mesh domain
 *   zonegen_add(deleg)   → copies one zone; checks its own fields
 *   zonegen_seal()       → checks the zones against each other (duplicates,
 *                          parents); after it the model is read-only
 *   zonegen_zone(), zonegen_*_conf() on the sealed model, any number of times
 *   zonegen_free()
 *
 * Nothing invalid is ever written: every name, address and path is
 * re-validated here (whatever checked it before), and an item that fails is
 * skipped and reported, never written. Names are lower-case LDH labels
 * (letters, digits, '-' not at either end), 1..63 per label, at most 253
 * in all, no trailing dot; '_' appears only in the SRV owner names this
 * module builds. Addresses are IPv4 or IPv6 (no prefix), printed in
 * inet_ntop's spelling.
 *
 * Error convention (src/): a function returns a negative errno on failure;
 * otherwise the output and report functions return the number (>= 0) of
 * items they rejected. Rejections are added to an optional report. */
#ifndef MN_ZONEGEN_H
#define MN_ZONEGEN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "proto/body.h"
#include "src/dns/tsigkey.h"

#define ZONEGEN_MAX_ZONES    4096   /* delegations (and the apex) in a model */
#define ZONEGEN_MAX_EXPOSES  128    /* exposed services (and CDN names) per zone */
#define ZONEGEN_MAX_ADDRS    2      /* mesh addresses of a delegate (v4, v6) */
#define ZONEGEN_MAX_LISTEN   8      /* addresses a server listens on */
#define ZONEGEN_MAX_SECONDARIES 8   /* outside secondaries (zone transfers) */
#define ZONEGEN_XFR_KEY_CONF "xfr-key.conf"   /* in dir: the transfer key (0600) */
#define ZONEGEN_XFR_JOURNAL "journal"   /* in dir: Knot's journal, with secondaries */
#define ZONEGEN_DIR_MAX      200    /* a zone directory path */
#define ZONEGEN_PATH_MAX     (ZONEGEN_DIR_MAX + 1 + 255 + 1)
#define ZONEGEN_MSG_MAX      200    /* one rejection message */
#define ZONEGEN_DEFAULT_TTL  3600   /* a zone whose ttl is 0 */
#define ZONEGEN_MAX_TTL      2147483647u   /* RFC 2181 §8 */

/* One exposed service (an `expose` record), by channel:
 *   mesh (CH_MESH, the zone's delegate's own): <service>.<zone> A/AAAA (the
 *        delegate's mesh addresses) and, with a port,
 *        _<first label>._tcp.<rest>.<zone> SRV 0 0 <port> <service>.<zone>;
 *   dns  (CH_DNS, with a domain inside the zone and entry points): <domain>
 *        A/AAAA of the CDN's public entry points (docs/expose.md) — the
 *        nearest ancestor of its origin with one, and its mirrors'; when
 *        <domain> is also a mesh name of the zone, the mesh A/AAAA and SRV
 *        are left out (one name, one meaning);
 *   tor  (CH_TOR, with an onion name): TXT "onion=<name>" at <domain> (the
 *        dns channel's) or else at <service>.<zone>.
 * Other channels write nothing and are not rejections. Withdrawing the
 * record (not adding it to the next model) removes the names. */
#define ZONEGEN_MAX_ENTRIES 4
struct zonegen_expose {
	char service[MN_MAX_NAME + 1];   /* a name relative to the zone */
	uint16_t port;                   /* 0: A/AAAA only */
	uint8_t channels;                /* enum expose_channel bits */
	char domain[MN_MAX_DOMAIN + 1];  /* its public name (absolute), "" none */
	char entry[ZONEGEN_MAX_ENTRIES][MN_MAX_ADDR + 1];   /* public entry points (IPs) */
	uint8_t n_entries;
	char onion[MN_MAX_ONION + 1];    /* "" none */
};

/* One MX record (docs/mail.md): name MX pref host. The name lies inside
 * the zone (a mail domain of a box whose certified scope holds it, placed
 * in the deepest zone holding it); host is any valid name. */
#define ZONEGEN_MAX_MX 64
struct zonegen_mx {
	char name[MN_MAX_DOMAIN + 1];    /* absolute, inside the zone */
	uint16_t pref;
	char host[MN_MAX_DOMAIN + 1];    /* absolute */
};

/* One zone: a delegation (a `dns` record) or, with zone == the mesh domain
 * and parent "", the apex held by the root master. All storage inline; the
 * model keeps its own copy. */
struct zonegen_deleg {
	char zone[MN_MAX_DOMAIN + 1];     /* e.g. "node1.example.io" */
	char parent[MN_MAX_DOMAIN + 1];   /* the zone that delegates it (the
	                                   * signer's); "" for the apex */
	char delegate[MN_MAX_NAME + 1];   /* its node's name (a label), or "";
	                                   * only written in a comment */
	struct dns_ns ns[MN_MAX_NS];      /* host: absolute name; addr: an IP, or
	                                   * "" for a host outside the mesh domain */
	uint8_t n_ns;
	uint32_t ttl;                     /* seconds; 0 = ZONEGEN_DEFAULT_TTL */
	struct dns_name names[MN_MAX_DNS_NAMES];   /* first-peek names: label
	                                   * relative to the zone ("" = apex),
	                                   * addr, port (SRV when the label is
	                                   * not empty) */
	uint8_t n_names;
	char delegate_addr[ZONEGEN_MAX_ADDRS][MN_MAX_ADDR + 1];   /* the delegate's
	                                   * mesh addresses for its exposures; "" = none */
	struct zonegen_expose exposes[ZONEGEN_MAX_EXPOSES];
	uint8_t n_exposes;
	struct zonegen_mx mx[ZONEGEN_MAX_MX];   /* mail domains of the zone */
	uint8_t n_mx;
};

/* Rejections, accumulated over calls (zero it before the first). Messages
 * are printable ASCII (a hostile name is shown with \xNN escapes and cut
 * short); they are for logs and never reach a generated file. */
struct zonegen_report {
	unsigned rejected;
	char first[ZONEGEN_MSG_MAX];     /* the first message, "" if none */
	void (*each)(void *arg, const char *msg);   /* optional: every message */
	void *arg;
};

/* Where text goes: into file if it is set, else into buf[cap] (always
 * NUL-terminated when cap > 0). Output is appended; len counts every byte
 * produced, also those that did not fit, so after -ENOSPC len + 1 is the
 * buffer size needed. err is sticky (-ENOSPC, -EIO); a function returns
 * it. E.g. `struct zonegen_out o = { .file = f };` */
struct zonegen_out {
	FILE *file;
	char *buf;
	size_t cap;
	size_t len;
	int err;
};

/* Server settings shared by the config writers; borrowed for the call. */
struct zonegen_conf {
	const char *dir;        /* absolute directory of the zone files:
	                         * [A-Za-z0-9._+-] and '/', no "." or ".."
	                         * component, no trailing '/', <= ZONEGEN_DIR_MAX */
	const char *listen[ZONEGEN_MAX_LISTEN];   /* IPs to listen on; none = all */
	size_t n_listen;
	uint16_t port;          /* 0 = 53 */
	/* Outside secondaries (docs/dns.md "Zone transfers"): IPs that may
	 * transfer every served zone (AXFR, IXFR), only with xfr_key, and get
	 * a NOTIFY at its port (0 = 53) on each change. None: no transfers
	 * at all (and the config is what it was before secondaries existed). */
	const char *secondary[ZONEGEN_MAX_SECONDARIES];
	uint16_t secondary_port[ZONEGEN_MAX_SECONDARIES];
	size_t n_secondary;
	/* Required with secondaries (without one, every secondary is
	 * rejected); the configs name it and include
	 * <dir>/ZONEGEN_XFR_KEY_CONF, which the caller writes (0600) with
	 * tsig_knot_conf / tsig_bind_conf: the secret is never in them. */
	const struct tsig_key *xfr_key;
};

struct zonegen;

/* A new empty model for the mesh domain (a valid name, see above).
 * 0, -EINVAL (bad domain; *out is NULL) or -ENOMEM. */
int zonegen_new(const char *domain, struct zonegen **out);
/* Accepts NULL. */
void zonegen_free(struct zonegen *m);

/* Copy one zone into the model and check its own fields: the zone name,
 * inside the mesh domain; the parent, the zone lying strictly inside it (or
 * "" for the apex); the delegate label; the ttl; at least one valid name
 * server (an NS host inside the mesh domain needs an address). A zone that
 * fails is kept out of every output; a name server, name or exposure that
 * fails is left out alone. Returns the number of rejected items, or
 * -EINVAL (model sealed, n_* over its bound), -ENOSPC (ZONEGEN_MAX_ZONES),
 * -ENOMEM. */
int zonegen_add(struct zonegen *m, const struct zonegen_deleg *d,
		struct zonegen_report *rep);

/* Check the zones against each other and make the model read-only: a zone
 * given twice is rejected (every copy, whatever the order); a zone's
 * parent must be the closest enclosing accepted zone (the mesh domain
 * always counts as one), so no delegation hides below another's cut.
 * Returns the number of zones rejected here, or -EINVAL if already sealed. */
int zonegen_seal(struct zonegen *m, struct zonegen_report *rep);

/* The accepted zones of a sealed model (0 before zonegen_seal): how many,
 * and the name of the i-th in canonical order (i < zonegen_count(m);
 * borrowed, valid until zonegen_free). */
size_t zonegen_count(const struct zonegen *m);
const char *zonegen_name(const struct zonegen *m, size_t i);

/* The master file of an accepted zone:
 *   $ORIGIN <zone>. / $TTL <ttl>
 *   SOA  mname = its first valid NS host, rname hostmaster.<zone> (or
 *        hostmaster.<domain> when too long), the serial, 3600 900 1209600 300
 *   NS   its name servers, and A/AAAA for those inside the zone
 *   A/AAAA (+ SRV) for its names and mesh exposures; MX for its mail domains
 *   for each child zone directly below it: NS, and glue A/AAAA for the NS
 *   hosts inside this zone (RFC 1034 §4.2.1); nothing for grandchildren
 * Owner names are relative to $ORIGIN ("@" for the apex), names in RDATA
 * absolute with the final dot. Records sorted in DNSSEC canonical order
 * (RFC 4034 §6), then type, then data; duplicates once; one TTL per RRset
 * (the lowest). Names at or below a child's cut are rejected (only glue
 * may be there). Same model and serial ⇒ the same bytes.
 * Returns the rejections in this zone and its children, -EINVAL (model not
 * sealed, invalid zone name), -ENOENT (no such accepted zone), -ENOMEM, or
 * out's error. */
int zonegen_zone(const struct zonegen *m, const char *zone, uint32_t serial,
		 struct zonegen_out *out, struct zonegen_report *rep);

/* The file of a zone under dir into buf[cap]: "<dir>/<zone>.zone", or
 * "<dir>/<zone>.z" for a zone over 250 characters (a file name stays within
 * NAME_MAX, 255; the endings differ, so no two zones share a file).
 * 0, -EINVAL (bad dir or zone), -ENOSPC. */
int zonegen_zone_path(const char *dir, const char *zone, char *buf, size_t cap);

/* The first line of every zone file zonegen_zone writes (%s: the zone). */
#define ZONEGEN_HEAD "; zone %s, generated by mirrornet zonegen from signed mesh records; do not edit\n"

/* For removing the files of zones no longer served, and only files this
 * module made: is file (a directory entry's name) exactly the name that
 * zonegen_zone_path() gives a valid zone inside domain? 0 and the zone
 * into zone[cap], else -EINVAL (not ours: leave it alone) or -ENOSPC. */
int zonegen_file_zone(const char *domain, const char *file, char *zone, size_t cap);

/* Does head[0..n) (the start of a file) begin with zone's ZONEGEN_HEAD
 * line? A file that does not was not written by zonegen_zone. */
bool zonegen_file_is_ours(const char *zone, const char *head, size_t n);

/* Config files for the zones served (zones[n_zones], NULL = every accepted
 * zone of the model; names that are invalid or not accepted zones are
 * rejected), in canonical order, each once, each with the file
 * zonegen_zone_path(conf->dir, zone). Listen addresses that fail are
 * rejected. Return the rejections, -EINVAL (model not sealed, bad dir),
 * -ENOMEM, or out's error. */

/* knot.conf (Knot DNS 3.x): server listen, a default template (storage =
 * dir, zone files never rewritten by Knot, no journal), one zone: entry
 * each. No ACL/NOTIFY between mesh servers: every server generates each
 * zone from the same signed records, so each is a primary of identical
 * content. With outside secondaries (conf): the key's include, a remote
 * each, an ACL allowing transfers only from their addresses with the key,
 * and a template mn-xfr for the zones (zonefile-load: difference, a
 * journal of changes, so IXFR works; notify to the remotes). */
int zonegen_knot_conf(const struct zonegen *m, const char *const *zones, size_t n_zones,
		      const struct zonegen_conf *conf, struct zonegen_out *out,
		      struct zonegen_report *rep);

/* named.conf (BIND 9): options { directory; listen-on(-v6); recursion no;
 * allow-transfer none; notify no; } and zone "<z>" { type master; file; }.
 * With outside secondaries: the key's include, and in options
 * allow-transfer only from their addresses with the key, notify explicit,
 * also-notify them, ixfr-from-differences yes. */
int zonegen_bind_conf(const struct zonegen *m, const char *const *zones, size_t n_zones,
		      const struct zonegen_conf *conf, struct zonegen_out *out,
		      struct zonegen_report *rep);

/* dnsmasq forwarding for a box where dnsmasq resolves: server=/<zone>/<addr>
 * for every address of every NS of the zones (dnsmasq picks the longest
 * match, so a child's servers win inside the child), and
 * rebind-domain-ok=/<domain>/ so OpenWrt's rebind protection lets private
 * mesh answers through. */
int zonegen_dnsmasq_conf(const struct zonegen *m, const char *const *zones, size_t n_zones,
			 struct zonegen_out *out, struct zonegen_report *rep);

/* The next SOA serial, unix-time style: `now` (unix seconds; pass the
 * newest version time of the records in the zone so every server computes
 * the same serial) if it is greater than previous in RFC 1982 serial
 * arithmetic, else previous + 1 modulo 2^32 — which RFC 1982 also counts
 * as greater, so the result is always greater than previous, across the
 * 2106 wrap too. Call it only when the zone's content changed. */
uint32_t zonegen_serial(uint32_t previous, uint64_t now);

#endif
