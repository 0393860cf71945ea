/* mDNS service files for this box's exposures with the mdns channel and
 * for the node itself (docs/expose.md, "mDNS"): avahi's service-group XML
 * (one file per service, NAME.service in /etc/avahi/services) or umdns's
 * JSON (one file of entries in /etc/umdns, OpenWrt). Pure: text in memory.
 *
 * Every value is checked here before it is written — an instance name and
 * TXT strings are printable ASCII (no control character, so no newline),
 * a service type is `_name._tcp` or `_name._udp` with an RFC 6335 name, an
 * id is [a-z0-9-] — and then escaped for the format (XML: & < > " ';
 * JSON: " and backslash). */
#ifndef MN_MDNSCFG_H
#define MN_MDNSCFG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MDNS_ID_MAX 63        /* a file stem (avahi) or entry key (umdns) */
#define MDNS_NAME_MAX 63      /* an instance name: one DNS label */
#define MDNS_TYPE_MAX 22      /* "_" + 15 + "._tcp" */
#define MDNS_TXT_N 4
#define MDNS_TXT_MAX 200      /* one TXT string ("key=value") */

struct mdns_service {
	char id[MDNS_ID_MAX + 1];
	char name[MDNS_NAME_MAX + 1];
	char type[MDNS_TYPE_MAX + 1];
	uint16_t port;
	char txt[MDNS_TXT_N][MDNS_TXT_MAX + 1];
	unsigned ntxt;
};

/* The service type of an exposure: http → _http._tcp, tls → _https._tcp,
 * tcp → _<service>._tcp with the service made an RFC 6335 name (letters,
 * digits and single hyphens inside, at most 15, at least one letter).
 * 0, or -EINVAL if nothing of the service is left. */
int mdns_type(uint8_t proto, const char *service, char *out, size_t cap);

/* Is s printable ASCII (0x20..0x7e), 1..max bytes? */
bool mdns_text_ok(const char *s, size_t max);

/* s with & < > " ' as XML entities into out (always terminated); the
 * length it needed, like snprintf. */
size_t mdns_xml_escape(const char *s, char *out, size_t cap);

/* Can s be written? NULL, or why not (a static string). */
const char *mdns_service_refusal(const struct mdns_service *s);

/* One avahi service file. 0, -EINVAL (s refused: msg says why) or -ENOMEM. */
int mdns_avahi_render(const struct mdns_service *s, char **text, size_t *len, char *msg, size_t cap);

/* One umdns JSON file holding every service of list that can be written;
 * the others are counted in *skipped and reported (report may be NULL).
 * 0 or -ENOMEM. */
int mdns_umdns_render(const struct mdns_service *list, size_t n, char **text, size_t *len,
		      unsigned *skipped, void (*report)(void *arg, const char *msg), void *arg);

#endif
