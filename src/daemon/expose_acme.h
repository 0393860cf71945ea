/* Certificates by ACME for this node's own CDN names (docs/expose.md,
 * "Certificates by ACME"): the exposure subsystem's driver of lego. The
 * subsystem tells it, at each generation, which names this node serves
 * itself (acme_update); it keeps one certificate per name (HTTP-01 through
 * the cascade) or one wildcard for our zone (DNS-01 against our own Knot),
 * runs lego for the missing or expiring ones, one at a time, installs the
 * results into the certificate directory and calls back so the subsystem
 * regenerates (and HAProxy reloads with them). Failures are counted and
 * retried with a backoff; a failed run never touches the installed files. */
#ifndef MN_EXPOSE_ACME_H
#define MN_EXPOSE_ACME_H
#include <json-c/json.h>
#include "src/daemon/subsys.h"
#include "src/expose/acme.h"

#define ACME_DEFAULT_ANSWERER "127.0.0.1:8402"
#define ACME_RUN_TIMEOUT_MS (300u * 1000)   /* a lego run is killed after this */

/* Its options, inside the exposure subsystem's section (expose_acme_*). */
struct acme_conf {
	char server[200];       /* the ACME directory URL; "" = ACME off */
	char email[96];
	char ca[128];           /* extra CA bundle for the server's TLS ("" none) */
	uint8_t challenge;      /* enum acme_challenge */
	char lego[128];         /* the lego program */
	char dir[128];          /* lego's account and results, the run log */
	char dns_server[64];    /* DNS-01: ip:port of our zone's server (RFC 2136) */
	char tsig[128];         /* DNS-01: the TSIG key file (Vortex's dns_acme_key) */
};

/* Row checks (conf.h .parse) for the options below. */
int acme_check_url(void *sect, char *val, char *msg, size_t cap);
int acme_check_email(void *sect, char *val, char *msg, size_t cap);
int acme_check_path(void *sect, char *val, char *msg, size_t cap);
int acme_check_hostport(void *sect, char *val, char *msg, size_t cap);

/* The rows, for a section struct T holding a struct acme_conf named m. */
#define ACME_CONF_ROWS(T, m) \
	{ "expose_acme_server", CONF_STR, 0, CONF_FIELD(T, m.server), .parse = acme_check_url, \
	  .help = "an http(s):// URL of an ACME directory, at most 199 bytes" }, \
	{ "expose_acme_email", CONF_STR, 0, CONF_FIELD(T, m.email), .parse = acme_check_email, \
	  .help = "an e-mail address, at most 95 bytes" }, \
	{ "expose_acme_ca", CONF_STR, 0, CONF_FIELD(T, m.ca), .parse = acme_check_path, \
	  .help = "an absolute file path, at most 127 bytes" }, \
	{ "expose_acme_challenge", CONF_INDEX, 0, CONF_FIELD(T, m.challenge), .choices = "http|dns", \
	  .def = "http", .help = "http or dns" }, \
	{ "expose_lego", CONF_STR, 0, CONF_FIELD(T, m.lego), .parse = acme_check_path, \
	  .def = "/usr/bin/lego", .help = "an absolute file path, at most 127 bytes" }, \
	{ "expose_acme_dir", CONF_STR, 0, CONF_FIELD(T, m.dir), .parse = acme_check_path, \
	  .def = "/var/lib/mirrornet/acme", .help = "an absolute directory path, at most 127 bytes" }, \
	{ "expose_acme_dns_server", CONF_STR, 0, CONF_FIELD(T, m.dns_server), \
	  .parse = acme_check_hostport, .help = "an ip:port such as 10.42.0.3:53" }, \
	{ "expose_acme_tsig", CONF_STR, 0, CONF_FIELD(T, m.tsig), .parse = acme_check_path, \
	  .help = "an absolute file path, at most 127 bytes" }

/* Is ACME configured (a server URL)? */
bool acme_enabled(const struct acme_conf *c);
/* Does dir hold a file HAProxy can load (a regular *.pem)? While it holds
 * none, the subsystem renders without ending TLS (HAProxy refuses a `crt`
 * directory without certificates), so HTTP-01 can get the first one. */
bool acme_dir_has_certs(const char *dir);

struct acme;

/* changed(arg) runs after a certificate was installed. NULL on no memory. */
struct acme *acme_new(struct mn_host *h, void (*changed)(void *arg), void *arg);
/* The names this node serves itself with TLS ended here (own http
 * exposures on the CDN), and our zone ("" none): what to hold
 * certificates for, into cert_dir; answerer is where HAProxy sends
 * HTTP-01 requests (lego listens there while it runs). Reads the
 * installed certificates' expiry and starts a run when one is due. */
void acme_update(struct acme *a, const struct acme_conf *c, const char *cert_dir,
		 const char *answerer, const char (*names)[MN_MAX_DOMAIN + 1], size_t n,
		 const char *zone);
struct json_object *acme_status(const struct acme *a);
/* Stop: a running lego is killed, the handles closed. Then free. */
void acme_stop(struct acme *a);
void acme_free(struct acme *a);

#endif
