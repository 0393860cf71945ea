/* The configuration of the MirrorNet-owned HAProxy instance (docs/expose.md),
 * from a model of routes: which public names this node serves itself (a
 * local backend) and which it passes to a next hop over the mesh (a child
 * on the way down the certificate chain, or the origin itself when this
 * node mirrors it). Pure: text in memory, no I/O, so the subsystem, its
 * unit test and the benchmark share it.
 *
 * The files of one generation (written into one directory, gen_dir, by
 * which the config names the others: a new generation is checked with its
 * own maps while the running one keeps its):
 *   haproxy.cfg   frontends (public and mesh-hop, TLS by SNI and HTTP by
 *                 Host), backends (local services, next hops)
 *   sni.map       name → backend, for TLS (passed through, or ended here)
 *   host.map      name → backend, for HTTP on port 80
 *   own.map       name → local HTTP backend, behind TLS ended here
 *   acme.lst      the names this node answers ACME HTTP-01 for
 *   hop_src.lst   the mesh addresses allowed to hand us connections
 * Maps keep the config the same size whatever the number of names. */
#ifndef MN_HACFG_H
#define MN_HACFG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/body.h"
#include "proto/limits.h"

#define HACFG_MAX_PATH 127        /* a health-check path */
#define HACFG_DIR_MAX 200         /* run_dir, cert_dir */

enum hacfg_file_id {
	HACFG_CFG, HACFG_SNI, HACFG_HOST, HACFG_OWN, HACFG_ACME, HACFG_SRC, HACFG_NFILES
};
extern const char *const hacfg_file_names[HACFG_NFILES];

struct hacfg_route {
	char name[MN_MAX_DOMAIN + 1];     /* the public name */
	char service[MN_MAX_NAME + 1];    /* local: its backend's name */
	uint8_t proto;                    /* enum expose_proto */
	uint16_t port;                    /* tcp: the port it takes everywhere */
	int hop;                          /* -1: served here; else an index in hops */
	/* served here only */
	char backend[MN_MAX_ENDPOINT + 1];/* host:port or [v6]:port, on this box */
	char health[HACFG_MAX_PATH + 1];  /* "": no check; else an HTTP GET path */
	bool send_proxy;                  /* PROXY v2 to the backend too */
};

struct hacfg {
	char run_dir[HACFG_DIR_MAX + 1];  /* absolute: sockets live here */
	char gen_dir[HACFG_DIR_MAX + 1];  /* absolute: where these files go */
	char public_addr[MN_MAX_ADDR + 1];/* "": not an entry point */
	unsigned http_port, https_port;   /* on public_addr */
	char mesh_addr[MN_MAX_ADDR + 1];  /* "": no hops in (the hop frontends) */
	unsigned hop_http_port, hop_tls_port;
	char cert_dir[HACFG_DIR_MAX + 1]; /* "": TLS is never ended here */
	char acme[MN_MAX_ENDPOINT + 1];   /* host:port of the ACME HTTP-01 answerer, or "" */
	unsigned maxconn;
	const struct hacfg_route *routes;
	size_t nroutes;
	const char (*hops)[MN_MAX_ADDR + 1];   /* next hops' mesh addresses */
	size_t nhops;
	const char (*hop_src)[MN_MAX_ADDR + 1];/* who may connect to the hop ports */
	size_t nsrc;
};

struct hacfg_out {
	char *text[HACFG_NFILES];         /* malloc'd, NUL-terminated */
	size_t len[HACFG_NFILES];
	unsigned routes, skipped;         /* routes written; refused (each reported) */
};

/* Checks for what goes into a file: a backend host:port (numeric), a
 * health path ([A-Za-z0-9._~/-], starting '/'), an address. */
bool hacfg_backend_ok(const char *s);
bool hacfg_path_ok(const char *s);
bool hacfg_addr_ok(const char *s);
/* A DNS name as it goes into a map key or a file name: lowercase LDH labels. */
bool hacfg_name_ok(const char *s);

/* Render. A route that cannot be written (a bad name, backend or path, a
 * TCP port already taken or one of ours) is left out, counted in skipped
 * and reported through report (may be NULL). 0, or -ENOMEM / -EINVAL (a
 * bad run_dir, cert_dir, address or port: msg says which; nothing out). */
int hacfg_render(const struct hacfg *c, struct hacfg_out *out,
		 void (*report)(void *arg, const char *msg), void *arg, char *msg, size_t cap);
void hacfg_out_free(struct hacfg_out *out);

#endif
