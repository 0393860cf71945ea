/* The mail subsystem's pure half (docs/mail.md): what a svc "mail" record
 * may say, which of its domains a box relays, Postfix's relay maps and
 * the MX records of a domain. No I/O: the subsystem (src/daemon/mail.c),
 * Vortex (src/daemon/vortex.c), their unit tests share it.
 *
 * A svc "mail" record (one per box, key "mail"):
 *   endpoint   the origin's certified mesh address (where peers relay to)
 *   port       its SMTP port on that address
 *   attributes domain=D (one per mail domain it is the primary of, at most
 *              MAILCFG_MAX_DOMAINS), priority=N (its MX preference for
 *              them), backup=yes|no (it wants backup MX), relay=yes (it
 *              takes the backup role for others), backup_priority=N (its
 *              MX preference as a backup), mx=HOST (the name outside
 *              mail servers reach it by; no MX names it without one).
 * A domain is relayed, and gets MX records, only when it lies inside the
 * origin's certified DNS scope (or, at one box, in its mail_allow_domain). */
#ifndef MN_MAILCFG_H
#define MN_MAILCFG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/body.h"
#include "proto/limits.h"

#define MAILCFG_SVC "mail"
#define MAILCFG_MAX_DOMAINS 10    /* per record: the other attributes take the rest */
#define MAILCFG_MAX_BOXES 256     /* records considered at one generation */
#define MAILCFG_MAX_MX 16         /* MX records of one domain */

/* A mail domain: 2..127 lowercase LDH labels (each 1..63, no '-' at either
 * end), at most MN_MAX_DOMAIN bytes, no final dot. Nothing else: no
 * control characters, spaces, '_', upper case or IP literals. */
bool mailcfg_domain_ok(const char *s);

/* A comma- or space-separated list of domains (a config value): 0 and *n
 * of them (all valid, duplicates once), or -EINVAL (one is not a valid
 * domain) or -ENOSPC (more than cap). */
int mailcfg_parse_list(const char *text, char (*out)[MN_MAX_DOMAIN + 1], size_t cap, size_t *n);

/* Does the list (as mailcfg_parse_list reads it) hold name, or a domain
 * name lies below? */
bool mailcfg_list_covers(const char *list, const char *name);

/* One box's mail record, checked. */
struct mailcfg_box {
	uint8_t origin[32];
	char addr[MN_MAX_ADDR + 1];       /* its certified mesh address */
	uint16_t port;
	uint16_t priority, backup_priority;
	bool want_backup, relay;
	char mx[MN_MAX_DOMAIN + 1];       /* "" none */
	char domains[MAILCFG_MAX_DOMAINS][MN_MAX_DOMAIN + 1];
	bool in_scope[MAILCFG_MAX_DOMAINS];
	size_t ndomains;
};

enum mailcfg_refusal {
	MAILCFG_OK, MAILCFG_BAD_SERVICE, MAILCFG_BAD_ENDPOINT, MAILCFG_BAD_PORT, MAILCFG_BAD_DOMAIN,
	MAILCFG_BAD_ATTR, MAILCFG_NREFUSALS
};
extern const char *const mailcfg_refusal_names[MAILCFG_NREFUSALS];

/* A svc "mail" body against its origin's certified mesh address (no
 * prefix; "" none) and DNS scope ("" none, "*" any: the root without a
 * certificate of its own): MAILCFG_OK and the box in out (origin not set),
 * each domain marked in or out of scope, or why the record is refused
 * whole (a domain or mx that is not a valid name, a priority that is not
 * a number 0..65535, backup/relay not yes|no, more than
 * MAILCFG_MAX_DOMAINS domains). */
enum mailcfg_refusal mailcfg_svc_check(const struct svc_body *b, const char *mesh_addr,
				       const char *scope, struct mailcfg_box *out);

/* The body of this box's record (service, endpoint, port, attributes). */
void mailcfg_svc_body(const struct mailcfg_box *me, struct svc_body *b);

/* A route of the relay maps: mail for domain goes to [addr]:port. */
struct mailcfg_route {
	char domain[MN_MAX_DOMAIN + 1];
	char addr[MN_MAX_ADDR + 1];
	uint16_t port;
	uint16_t priority;
};

/* The routes this box relays as a backup MX: every domain of every other
 * box that wants backup, in its origin's scope or covered by allow (a
 * mail_allow_domain list, may be NULL), except the domains in own (ours:
 * we are their primary, also a list, may be NULL). One route per domain:
 * the lowest priority, then the lowest address. Sorted by domain. Returns
 * how many (at most cap), *skipped the domains left out for scope. */
size_t mailcfg_routes(const struct mailcfg_box *boxes, size_t n, const char *allow, const char *own,
		      struct mailcfg_route *out, size_t cap, unsigned *skipped);

/* Postfix's maps for routes (sorted, as mailcfg_routes gives them), read
 * as texthash: (no postmap):
 *   relay_domains  "DOMAIN OK"
 *   transport      "DOMAIN smtp:[ADDR]:PORT"
 * New strings (the caller frees), or -ENOMEM. */
int mailcfg_maps(const struct mailcfg_route *r, size_t n, char **relay, size_t *rlen, char **transport,
		 size_t *tlen);

/* One MX record of a domain. */
struct mailcfg_mx {
	uint16_t priority;
	char host[MN_MAX_DOMAIN + 1];
	bool backup;
};

/* The MX records of domain: every box that holds it in scope (or, with
 * allow, in that list) and names an mx host, at its priority; then, when
 * one of them wants backup, every other box that takes the relay role and
 * names an mx host, at its backup priority. Sorted by priority, then
 * host; each host once. Returns how many (at most cap). */
size_t mailcfg_mx(const struct mailcfg_box *boxes, size_t n, const char *domain, const char *allow,
		  struct mailcfg_mx *out, size_t cap);

#endif
