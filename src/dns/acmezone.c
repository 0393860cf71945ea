/* The ACME DNS-01 zone (acmezone.h): names, the zone file, Knot's
 * configuration, the TSIG key's line. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "src/dns/acmezone.h"
#include "src/dns/tsigkey.h"
#include "proto/body.h"
#include "proto/limits.h"

static bool zone_ok(const char *z)
{
	return dns_name_lower(z) && strlen(z) + 16 <= MN_MAX_DOMAIN;
}

/* A directory as it goes into knot.conf: absolute, of [A-Za-z0-9._+-/]. */
static bool dir_ok(const char *d)
{
	if (d[0] != '/' || strlen(d) > 200)
		return false;
	for (; *d; d++)
		if (!((*d >= 'a' && *d <= 'z') || (*d >= 'A' && *d <= 'Z') || (*d >= '0' && *d <= '9') ||
		      strchr("._+-/", *d)))
			return false;
	return true;
}

static int done(int n, size_t cap)
{
	return n < 0 ? -EINVAL : (size_t)n >= cap ? -ENOSPC : n;
}

int acmezone_name(const char *zone, char *out, size_t cap)
{
	if (!zone_ok(zone))
		return -EINVAL;
	int n = done(snprintf(out, cap, "_acme-challenge.%s", zone), cap);
	return n < 0 ? n : 0;
}

int acmezone_zone_text(const char *zone, char *out, size_t cap)
{
	if (!zone_ok(zone))
		return -EINVAL;
	return done(snprintf(out, cap,
			     "; _acme-challenge.%s: the ACME DNS-01 zone of %s, written by mirrornet once;\n"
			     "; TXT records come by RFC 2136 updates (TSIG key " ACMEZONE_KEY_NAME ") and live in\n"
			     "; the server's memory: this file never changes, so it is never reloaded\n"
			     "$ORIGIN _acme-challenge.%s.\n$TTL 60\n"
			     "@\t60\tIN\tSOA\tns.%s. hostmaster.%s. 1 3600 900 1209600 60\n"
			     "@\t60\tIN\tNS\tns.%s.\n",
			     zone, zone, zone, zone, zone, zone), cap);
}

int acmezone_knot_text(const char *zone, const char *dir, char *out, size_t cap)
{
	if (!zone_ok(zone) || !dir_ok(dir))
		return -EINVAL;
	return done(snprintf(out, cap,
			     "\n# ACME DNS-01 for %s (docs/dns.md): its own zone, updated by one key\n"
			     "# (its secret in a file of its own, 0600), TXT at its apex only\n"
			     "include: %s/" ACMEZONE_KEY_CONF "\n"
			     "\nacl:\n  - id: " ACMEZONE_KEY_NAME "-update\n    key: " ACMEZONE_KEY_NAME ".\n"
			     "    action: update\n    update-type: [ TXT ]\n    update-owner: name\n"
			     "    update-owner-match: equal\n    update-owner-name: [ _acme-challenge.%s. ]\n"
			     "\nzone:\n  - domain: _acme-challenge.%s.\n    file: %s/_acme-challenge.%s.zone\n"
			     "    acl: " ACMEZONE_KEY_NAME "-update\n",
			     zone, dir, zone, zone, dir, zone), cap);
}

int acmezone_key_conf(const char *secret, char *out, size_t cap)
{
	struct tsig_key k = { ACMEZONE_KEY_ALG, ACMEZONE_KEY_NAME, "" };

	if (snprintf(k.secret, sizeof k.secret, "%s", secret) >= (int)sizeof k.secret)
		return -EINVAL;
	int n = tsig_knot_conf("the TSIG key of ACME DNS-01 updates (mirrornet)", &k, out, cap);
	tsig_key_wipe(&k);
	return n;
}

int acmezone_key_line(const uint8_t key[static ACMEZONE_SECRET_LEN], char *out, size_t cap)
{
	return tsig_key_line(ACMEZONE_KEY_ALG, ACMEZONE_KEY_NAME, key, out, cap);
}

int acmezone_key_parse(const char *line, char *out, size_t cap)
{
	struct tsig_key k;
	int rc = tsig_key_parse(line, &k);

	if (rc == 0 && (strcmp(k.alg, ACMEZONE_KEY_ALG) || strcmp(k.name, ACMEZONE_KEY_NAME) ||
			snprintf(out, cap, "%s", k.secret) >= (int)cap))
		rc = -EINVAL;
	tsig_key_wipe(&k);
	return rc;
}
