/* Vortex DNS's TSIG key files (dns_acme_key, dns_xfr_key; docs/dns.md):
 * one line "ALGORITHM:NAME:BASE64" (src/dns/tsigkey.h), readable by its
 * owner only. The secret never reaches a log or a message. */
#ifndef MN_VORTEX_KEY_H
#define MN_VORTEX_KEY_H
#include <stddef.h>
#include "src/dns/tsigkey.h"

/* The key in path into k. When there is no such file and make_name is not
 * NULL, a new key (hmac-sha256, make_name, 32 random bytes) is written
 * there first (0600). Refused: a symlink, not a regular file, a file with
 * any group or other permission bit, a line that does not parse. 0, or a
 * negative errno with err (path and why, never the secret); wipe k after
 * use (tsig_key_wipe). */
int vortex_key_load(const char *path, const char *make_name, struct tsig_key *k, char *err,
		    size_t errcap);

/* For the config check: 0 when path does not exist or is a regular file
 * without group/other permission bits, else -EPERM / -errno with err. */
int vortex_key_mode_check(const char *path, char *err, size_t errcap);

#endif
