/* The body of every record kind as a typed struct, with the policy table
 * (proto/<kind>.c) that decodes and encodes it. docs/records.md describes
 * each field, its limits and who may sign the record. Inline fixed-size
 * storage: a decoded body owns no heap memory and holds no pointer into
 * the input. */
#ifndef MN_BODY_H
#define MN_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/limits.h"
#include "proto/schema.h"

enum record_kind {
	KIND_NODE = 1,
	KIND_CERT = 2,
	KIND_REVOKE = 3,
	KIND_DNS = 4,
	KIND_EXPOSE = 5,
	KIND_IOC = 6,
	KIND_SVC = 7,
	KIND_BACKUP = 8,
	KIND_ENDPOINT = 9,
};
/* A set of kinds, as a mask (kinds 1..31): KIND_BIT(KIND_NODE) | ... */
#define KIND_BIT(k) (1u << (k))

#define KIND_MIN KIND_NODE
#define KIND_MAX KIND_ENDPOINT

enum node_role { ROLE_PEER = 0, ROLE_SUBMASTER = 1, ROLE_MASTER = 2 };
#define ROLE_MAX ROLE_MASTER

/* node — signed by the node itself; key "self". The node's did and
 * signing key are the record's origin and are not repeated here. */
struct endpoint { char addr[MN_MAX_ENDPOINT + 1]; };
struct cap { char name[MN_MAX_SHORT + 1]; };
struct node_body {
	char name[MN_MAX_NAME + 1];
	uint8_t wg_key[MN_KEY_LEN];
	struct endpoint endpoints[MN_MAX_ENDPOINTS];
	uint8_t n_endpoints;
	char mesh_addr[MN_MAX_ADDR + 1];
	uint8_t role;
	uint8_t depth;
	struct cap caps[MN_MAX_CAPS];
	uint8_t n_caps;
	char sw_version[MN_MAX_SHORT + 1];
};

/* cert — signed by the subject's parent (the root, or a sub-master);
 * key = the subject's hex public key. */
struct cert_body {
	uint8_t subject[MN_KEY_LEN];
	uint8_t role;
	uint8_t depth;
	uint8_t max_depth;
	char dns_scope[MN_MAX_DOMAIN + 1];   /* "" = no DNS rights */
	char mesh_addr[MN_MAX_ADDR + 1];
	uint64_t not_before;                 /* unix seconds */
	uint64_t not_after;
	uint8_t node_id[MN_KEY_LEN];         /* the node's first key: its id across key
					        rotations; zero = the subject itself */
};

/* revoke — signed by any ancestor of the subject; key = subject hex. */
struct revoke_body {
	uint8_t subject[MN_KEY_LEN];
	char reason[MN_MAX_TEXT + 1];
	uint64_t time;
};

/* dns — signed by the holder of the parent zone; key = the zone. */
struct dns_ns {
	char host[MN_MAX_DOMAIN + 1];
	char addr[MN_MAX_ADDR + 1];
};
struct dns_name {
	char label[MN_MAX_NAME + 1];         /* relative to zone, "" = apex */
	char addr[MN_MAX_ADDR + 1];
	uint16_t port;                       /* 0: A/AAAA only; else also SRV */
};
struct dns_body {
	char zone[MN_MAX_DOMAIN + 1];
	uint8_t delegate[MN_KEY_LEN];
	struct dns_ns ns[MN_MAX_NS];
	uint8_t n_ns;
	uint32_t ttl;
	struct dns_name names[MN_MAX_DNS_NAMES];
	uint8_t n_names;
};

/* expose — signed by the exposing node; key = the service name. */
enum expose_channel { CH_MESH = 1, CH_DNS = 2, CH_TOR = 4, CH_MDNS = 8 };
#define CH_ALL 0x0f
/* how the CDN carries it: Host routing (HTTP, TLS ended by its owner),
 * SNI routing with TLS passed through, or a TCP port */
enum expose_proto { EXPOSE_HTTP = 0, EXPOSE_TLS = 1, EXPOSE_TCP = 2 };
#define EXPOSE_PROTO_MAX EXPOSE_TCP
#define MN_MAX_ONION 62      /* 56 base32 characters + ".onion" */
bool onion_name_valid(const char *s);
struct mirror { uint8_t node[MN_KEY_LEN]; };
struct expose_body {
	char service[MN_MAX_NAME + 1];
	uint16_t port;
	uint8_t channels;
	char domain[MN_MAX_DOMAIN + 1];
	struct mirror mirrors[MN_MAX_MIRRORS];
	uint8_t n_mirrors;
	uint8_t proto;                       /* enum expose_proto */
	char onion[MN_MAX_ONION + 1];        /* its hidden service's name, once tor made it */
};

/* ioc — any member; key = a batch id chosen by the origin. */
enum ioc_scope { IOC_IP = 0, IOC_RANGE = 1, IOC_DOMAIN = 2, IOC_URL = 3, IOC_HASH = 4 };
#define IOC_SCOPE_MAX IOC_HASH
enum ioc_action { IOC_BAN = 0, IOC_CAPTCHA = 1, IOC_LOG = 2 };
#define IOC_ACTION_MAX IOC_LOG
struct ioc {
	uint8_t scope;
	char value[MN_MAX_IOC_VALUE + 1];
	uint8_t action;
	char scenario[MN_MAX_SCENARIO + 1];
	uint8_t confidence;                  /* 0..100 */
	uint64_t valid_until;                /* unix seconds */
};
struct ioc_body {
	struct ioc iocs[MN_MAX_IOCS];
	uint8_t n_iocs;
};

/* svc — the providing node; key = the service name. */
#define SVC_CDN "cdn"   /* a CDN entry point: endpoint = the public IP, port =
                         * HTTPS, attr http = the HTTP port (docs/expose.md) */
struct svc_attr {
	char k[MN_MAX_SHORT + 1];
	char v[MN_MAX_TEXT + 1];
};
struct svc_body {
	char service[MN_MAX_SHORT + 1];      /* mail, backup, ai, or an app */
	char endpoint[MN_MAX_ENDPOINT + 1];
	uint16_t port;
	struct svc_attr attrs[MN_MAX_ATTRS];
	uint8_t n_attrs;
};

/* backup — the owner; key = the snapshot id. */
struct holder { uint8_t node[MN_KEY_LEN]; };
struct receipt { uint8_t sig[MN_SIG_LEN]; };
struct backup_body {
	char snapshot[MN_MAX_NAME + 1];
	uint64_t size;
	uint8_t hash[MN_HASH_LEN];
	struct holder holders[MN_MAX_HOLDERS];
	uint8_t n_holders;
	char name[MN_MAX_NAME + 1];          /* the owner's name for it ("config") */
	uint64_t created;                    /* unix seconds */
	struct receipt receipts[MN_MAX_HOLDERS];   /* holders[i]'s, same count */
	uint8_t n_receipts;
};

/* endpoint — signed by the observer; key "seen". Where the observer's
 * WireGuard saw its peers last (roaming, NAT): a node that moved is found
 * again through a third node. */
struct seen_endpoint {
	uint8_t node[MN_KEY_LEN];          /* the peer's node key */
	char endpoint[MN_MAX_ENDPOINT + 1]; /* ip:port as WireGuard saw it */
	uint64_t at;                        /* unix s of its last handshake */
};
struct endpoint_body {
	struct seen_endpoint seen[MN_MAX_SEEN];
	uint8_t n_seen;
};

union body {
	struct node_body node;
	struct cert_body cert;
	struct revoke_body revoke;
	struct dns_body dns;
	struct expose_body expose;
	struct ioc_body ioc;
	struct svc_body svc;
	struct backup_body backup;
	struct endpoint_body endpoint;
};

extern const struct schema node_schema, cert_schema, revoke_schema, dns_schema,
	expose_schema, ioc_schema, svc_schema, backup_schema, endpoint_schema;

/* The schema of a kind, or NULL for an unknown kind. */
const struct schema *body_schema(unsigned kind);
/* "node", "cert", … or NULL. */
const char *kind_name(unsigned kind);
/* Kind number from its name, or -1. */
int kind_from_name(const char *name);

/* Decode a non-empty body of `kind` (PROTO_ERR_KIND if unknown). */
int body_decode(unsigned kind, const uint8_t *buf, size_t len, union body *out);
/* Encode into buf (cap bytes; MN_MAX_BODY is always enough to hold any body
 * the decoder accepts, or PROTO_ERR_NOSPACE). */
int body_encode(unsigned kind, const union body *in, uint8_t *buf, size_t cap, size_t *len);

/* Value names of the enum fields (index = value). */
extern const char *const expose_proto_names[];
extern const char *const role_names[], *const ioc_scope_names[], *const ioc_action_names[],
	*const expose_proto_names[];

/* Shared field rule helpers for the kind tables. */
bool dns_name_valid(const char *name, bool allow_empty);
/* dns_name_valid, and no upper case and no '_': a host name as the
 * generated configs write it (records carry lower case). */
bool dns_name_lower(const char *name);
bool addr_valid(const char *addr, bool allow_prefix);

#endif
