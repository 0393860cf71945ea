/* ACME DNS-01 on this node's own zone, Vortex DNS's side (docs/dns.md,
 * "ACME DNS-01"; the zone's text: src/dns/acmezone.h). With dns_acme_key
 * and Knot, each generation keeps a TSIG key in that file (made once,
 * 0600), the zone file of _acme-challenge.<our zone> (written once) and
 * returns the lines knot.conf gets for them. The exposure subsystem's
 * ACME driver reads the same key file (expose_acme_tsig) for lego. */
#ifndef MN_VORTEX_ACME_H
#define MN_VORTEX_ACME_H
#include <stddef.h>
#include "src/daemon/subsys.h"

/* The lines to append to knot.conf into *text (malloc'd, the caller frees;
 * NULL with *len 0 when this node holds no DNS scope). 0, or a negative
 * errno with err (the key file cannot be made or read, a file cannot be
 * written): knot.conf is then written without them. */
int vortex_acme_knot(struct mn_host *h, const char *key_path, const char *dir, char **text,
		     size_t *len, char *err, size_t errcap);

#endif
