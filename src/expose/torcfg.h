/* The torrc of MirrorNet's own tor instance (docs/expose.md, "Tor"): one v3
 * hidden service per exposure of this box with the tor channel, each with
 * its key directory under keys_dir and its virtual port going to the
 * exposure's local backend (which stays on this box: the record carries
 * only the .onion name). Pure: text in memory, no I/O, so the subsystem
 * and its unit test share it.
 *
 * What goes into the file is checked here again, whatever the caller
 * checked: a service is a DNS label, a backend a numeric IP:PORT,
 * directories absolute paths of [A-Za-z0-9._+/-] — so no space, quote or
 * newline reaches tor's parser. */
#ifndef MN_TORCFG_H
#define MN_TORCFG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/limits.h"

#define TORCFG_DIR_MAX 120           /* run_dir, keys_dir */
#define TORCFG_SERVICE_MAX 48        /* an exposure's service name */

struct torcfg_service {
	char service[MN_MAX_NAME + 1];       /* the key directory's name */
	uint16_t port;                       /* the virtual port .onion clients connect to */
	char backend[MN_MAX_ENDPOINT + 1];   /* IP:PORT or [v6]:PORT on this box */
};

struct torcfg {
	char run_dir[TORCFG_DIR_MAX + 1];    /* DataDirectory (run_dir/data), pid file, log */
	char keys_dir[TORCFG_DIR_MAX + 1];   /* HiddenServiceDir keys_dir/<service> */
	bool network;                        /* false: DisableNetwork 1 (keys and names only) */
	const struct torcfg_service *services;
	size_t n;
};

/* The virtual port of an exposure on its .onion name: 80 for http, 443 for
 * tls (as its public name has them), its own port for tcp. */
uint16_t torcfg_port(uint8_t proto, uint16_t port);

/* A directory path that may go into the torrc (absolute, [A-Za-z0-9._+/-],
 * no "." or ".." parts, at most TORCFG_DIR_MAX bytes). */
bool torcfg_dir_ok(const char *s);

/* Why service i of c cannot be written (a bad name or backend, no port, a
 * name given before), or NULL: it can. */
const char *torcfg_refusal(const struct torcfg *c, size_t i);

/* Render into *text (malloc'd, NUL-terminated, *len bytes). A service that
 * cannot be written (a bad name or backend, a name given twice) is left
 * out, counted in *skipped and reported through report (may be NULL).
 * 0, or -EINVAL (a bad directory: msg says which) / -ENOMEM, nothing out. */
int torcfg_render(const struct torcfg *c, char **text, size_t *len, unsigned *skipped,
		  void (*report)(void *arg, const char *msg), void *arg, char *msg, size_t cap);

#endif
