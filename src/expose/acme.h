/* Certificates by ACME for the CDN's own names (docs/expose.md, "ACME"):
 * the pure part, shared by the daemon's driver (src/daemon/expose_acme.c)
 * and its unit test. No I/O: the lego command line, the file names, the
 * expiry of a PEM certificate and the renewal decision, the retry backoff.
 *
 * The daemon runs lego (go-acme/lego, 4.9) as a child process, one order at
 * a time; lego keeps its account and results under a directory of its own
 * (--path), and the daemon installs each result into the certificate
 * directory HAProxy ends TLS with, as one PEM file (certificate chain, then
 * key) per certificate:
 *   acme-NAME.pem             a name, by HTTP-01 through the cascade
 *   acme-wildcard.ZONE.pem    ZONE and *.ZONE, by DNS-01 on our own zone
 * The prefix marks the files the daemon owns in that directory. */
#ifndef MN_ACME_H
#define MN_ACME_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/limits.h"

#define ACME_MAX_ARGS 40
#define ACME_RENEW_BEFORE_S (30 * 86400)   /* renew within 30 days of expiry */
#define ACME_FILE_MAX (MN_MAX_DOMAIN + 24)

enum acme_challenge { ACME_HTTP01, ACME_DNS01 };

/* One lego run: `lego --accept-tos --server S [--email E] --path P
 * --key-type ec256 --domains D... CHALLENGE run`. Strings borrowed. */
struct acme_job {
	const char *lego;              /* the program */
	const char *server;            /* the ACME directory URL */
	const char *email;             /* "" none */
	const char *path;              /* lego's --path */
	enum acme_challenge challenge;
	const char *http_addr;         /* HTTP-01: ip:port lego's answerer listens on */
	const char *dns_resolver;      /* DNS-01: ip:port of our zone's server */
	const char *name;              /* the name (HTTP-01) or the zone (DNS-01: zone and *.zone) */
};

/* The argument vector into argv[0..n) (n returned, argv[n] = NULL), its
 * strings in buf: -EINVAL if a field is not what it must be (a name not a
 * lowercase DNS name, a URL that is not http(s):// of URL characters, an
 * e-mail or path with characters outside a safe set, an address not
 * ip:port), -ENOSPC if buf or argv is too small. Nothing goes through a
 * shell; still every field is checked, since it comes from records and
 * configuration. */
int acme_lego_argv(const struct acme_job *j, char *buf, size_t cap, char **argv, size_t maxv);

/* The file installed for a certificate: "acme-NAME.pem" or, for the
 * wildcard of a zone, "acme-wildcard.ZONE.pem". -EINVAL for a bad name,
 * -ENOSPC. */
int acme_cert_file(const char *name, bool wildcard, char *out, size_t cap);
/* Is this a file name acme_cert_file gives (one the daemon owns)? */
bool acme_is_cert_file(const char *file);
/* Where lego leaves the certificate of a run for name (its first domain),
 * relative to --path: "certificates/NAME.crt" (and ".key"). */
int acme_lego_files(const char *name, char *crt, char *key, size_t cap);

/* notAfter of the first CERTIFICATE of a PEM text, in Unix seconds: 0, or
 * -EINVAL (no certificate, bad base64 or DER, a time outside 1950..9999). */
int acme_pem_not_after(const char *pem, size_t len, int64_t *not_after);
/* Does the PEM text hold a private key block? */
bool acme_pem_has_key(const char *pem, size_t len);

enum acme_due { ACME_VALID, ACME_RENEW, ACME_MISSING };
/* What to do for a certificate that expires at not_after (0: none): renew
 * when it has at most before_s left. */
enum acme_due acme_due(int64_t not_after, int64_t now, int64_t before_s);
/* The wait before the next try after `failures` failed runs in a row:
 * 30 s, doubled each time, at most 6 hours. */
uint64_t acme_backoff_ms(unsigned failures);

const char *acme_due_name(enum acme_due d);

#endif
