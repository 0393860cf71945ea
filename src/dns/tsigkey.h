/* TSIG keys of Vortex DNS (RFC 8945), pure text: the key file's one line
 * "ALGORITHM:NAME:BASE64" (the format of dns_acme_key and dns_xfr_key,
 * docs/dns.md), and the key's section for Knot's and BIND's configs. The
 * secret only ever goes into a file of its own (0600) that the server's
 * config includes: never into a log, a message or a command line. */
#ifndef MN_TSIGKEY_H
#define MN_TSIGKEY_H
#include <stddef.h>
#include <stdint.h>
#include "proto/limits.h"

#define TSIG_SECRET_LEN 32      /* bytes of a key this daemon makes */
#define TSIG_ALG_MAX 11         /* "hmac-sha512" */
#define TSIG_B64_MAX 128        /* base64 characters of a secret (96 bytes) */

struct tsig_key {
	char alg[TSIG_ALG_MAX + 1];        /* hmac-sha256 | hmac-sha384 | hmac-sha512 */
	char name[MN_MAX_DOMAIN + 1];      /* a lower-case DNS name, no final dot */
	char secret[TSIG_B64_MAX + 1];     /* base64 */
};

/* A key line into k (the whole line checked: one line, an optional final
 * newline; a known algorithm, a DNS name, base64 of 16..96 bytes). 0, or
 * -EINVAL (k then holds nothing). Wipe k with tsig_key_wipe. */
int tsig_key_parse(const char *line, struct tsig_key *k);
/* The line "ALG:NAME:BASE64\n" of a new key (alg and name as above): its
 * length, or -EINVAL / -ENOSPC. */
int tsig_key_line(const char *alg, const char *name, const uint8_t key[static TSIG_SECRET_LEN],
		  char *out, size_t cap);
/* A key section, after a comment line (printable ASCII, no newline):
 * Knot's "key: - id: NAME. algorithm secret", or BIND's
 * key "NAME." { algorithm ...; secret "..."; };. Length, -EINVAL, -ENOSPC. */
int tsig_knot_conf(const char *comment, const struct tsig_key *k, char *out, size_t cap);
int tsig_bind_conf(const char *comment, const struct tsig_key *k, char *out, size_t cap);
/* Is k's algorithm and name valid (what the config writers check before
 * naming the key)? */
int tsig_key_check(const struct tsig_key *k);
void tsig_key_wipe(struct tsig_key *k);

#endif
