/* mirrornetd's configuration: a text file of `option value` lines (docs/
 * config.md lists every option with its default). Parsing builds a new
 * struct config; nothing of the running daemon changes until the whole
 * file has parsed and validated (OpenBGPD style: parse, validate, swap). */
#ifndef MN_CONFIG_H
#define MN_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include "src/daemon/conf.h"
#include "src/engine/engine.h"
#include "proto/limits.h"
#include <stdio.h>
#include "src/netaddr.h"   /* addr_parse, addr_text, addr_mesh_sa */

#define CONFIG_MAX_PEERS 64
#define CONFIG_MAX_CERTS 16
#define CONFIG_PATH_MAX 256
#define CONFIG_SUB_BYTES 20480   /* every subsystem's options, together (registry.c order) */

struct config_peer {
	uint8_t pk[32];
	char addr[64];               /* host:port as written */
	struct sockaddr_storage sa;
	size_t salen;
};

/* A WireGuard peer to start from, before its node record is known. */
struct config_wg_peer {
	uint8_t pk[32];              /* node key */
	uint8_t wg_key[32];
	char endpoint[MN_MAX_ENDPOINT + 1];   /* host:port (a DNS name is fine) */
	char mesh_addr[MN_MAX_ADDR + 1];
	bool join_only;              /* an invitation's temporary tunnel: the join service, never gossip */
};

struct config {
	char name[64];
	char key[CONFIG_PATH_MAX];
	char db[CONFIG_PATH_MAX];
	char api[CONFIG_PATH_MAX];
	char listen[64];
	struct sockaddr_storage listen_sa;
	size_t listen_salen;
	char advertise[64];          /* endpoint put in our node record ("" = listen) */
	uint8_t root[32];
	bool have_root;
	char certs[CONFIG_MAX_CERTS][CONFIG_PATH_MAX];
	size_t ncerts;
	struct config_peer peers[CONFIG_MAX_PEERS];
	size_t npeers;
	uint8_t role;
	char mesh_addr[MN_MAX_ADDR + 1];
	bool log_syslog;
	bool mcp_write;               /* mirrornetctl mcp offers its write tools */
	int log_level;               /* enum log_level */
	unsigned node_ttl_s;         /* lifetime of our node record; republished at half */
	/* WireGuard (empty wg_interface: plain transport only) */
	char wg_interface[16];
	char wg_backend[16];         /* auto | uapi | netlink */
	char wg_address[64];         /* ADDRESS/PREFIX for an interface we make ("" = mesh_addr/16 or /64) */
	unsigned wg_port;
	char wg_endpoint[MN_MAX_ENDPOINT + 1];   /* published: where our WireGuard listens */
	unsigned wg_keepalive_s;
	unsigned gossip_port;        /* inside the tunnel, on every mesh address */
	struct config_wg_peer wg_peers[CONFIG_MAX_PEERS];
	size_t nwg_peers;
	bool listen_set;
	bool insecure_listen;        /* the plain transport on a non-loopback address, forced */
	struct engine_config engine; /* engine knobs (root filled at start) */
	/* the subsystems' sections, each at subsys_conf_off(i) (subsys.h) */
	_Alignas(16) unsigned char sub[CONFIG_SUB_BYTES];
};

/* Defaults for everything (every section's rows). */
void config_defaults(struct config *c);
/* The sections of a configuration and where their structs lie in struct
 * config: the core options, the engine's knobs, then one per subsystem. */
#define CONFIG_MAX_SECTIONS 16
struct config_sect {
	const struct conf_section *sect;
	size_t off;
};
size_t config_sections(struct config_sect *out, size_t cap);
/* Parse the file into c (defaults first). 0, or -EINVAL with "FILE:LINE:
 * message" in err, or a negative errno if the file cannot be read. */
int config_load(const char *path, struct config *c, char *err, size_t errcap);
/* The same from an open stream (path names it in messages). */
int config_parse(FILE *f, const char *path, struct config *c, char *err, size_t errcap);
/* Print the normalised configuration (every option, defaults included). */
void config_print(const struct config *c, FILE *f);
/* Options whose change needs a restart: names them in msg; false if none. */
bool config_needs_restart(const struct config *old, const struct config *nw, char *msg,
			  size_t cap);
#endif
