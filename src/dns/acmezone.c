/* The ACME DNS-01 zone (acmezone.h): names, the zone file, Knot's
 * configuration, the TSIG key's line. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "src/dns/acmezone.h"
#include "proto/body.h"
#include "proto/limits.h"

static bool zone_ok(const char *z)
{
	if (!dns_name_valid(z, false) || strlen(z) + 16 > MN_MAX_DOMAIN)
		return false;
	for (; *z; z++)
		if ((*z >= 'A' && *z <= 'Z') || *z == '_')
			return false;
	return true;
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

static bool b64_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n % 4 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '/' ||
		      (s[i] == '=' && i >= n - 2)))
			return false;
	return true;
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
	if (!b64_ok(secret))
		return -EINVAL;
	return done(snprintf(out, cap, "# the TSIG key of ACME DNS-01 updates (mirrornet)\n"
			     "key:\n  - id: " ACMEZONE_KEY_NAME ".\n    algorithm: " ACMEZONE_KEY_ALG "\n"
			     "    secret: %s\n", secret), cap);
}

int acmezone_key_line(const uint8_t key[static ACMEZONE_SECRET_LEN], char *out, size_t cap)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char b[64];
	size_t o = 0;

	for (size_t i = 0; i < ACMEZONE_SECRET_LEN; i += 3) {
		uint32_t v = (uint32_t)key[i] << 16;
		size_t left = ACMEZONE_SECRET_LEN - i;
		if (left > 1)
			v |= (uint32_t)key[i + 1] << 8;
		if (left > 2)
			v |= key[i + 2];
		b[o++] = al[v >> 18 & 63];
		b[o++] = al[v >> 12 & 63];
		b[o++] = left > 1 ? al[v >> 6 & 63] : '=';
		b[o++] = left > 2 ? al[v & 63] : '=';
	}
	b[o] = 0;
	return done(snprintf(out, cap, ACMEZONE_KEY_ALG ":" ACMEZONE_KEY_NAME ":%s\n", b), cap);
}

int acmezone_key_parse(const char *line, char *out, size_t cap)
{
	static const char pre[] = ACMEZONE_KEY_ALG ":" ACMEZONE_KEY_NAME ":";
	size_t n = strcspn(line, "\n");

	if (strncmp(line, pre, sizeof pre - 1) || n < sizeof pre || n - (sizeof pre - 1) >= cap ||
	    (line[n] == '\n' && line[n + 1]))
		return -EINVAL;
	snprintf(out, cap, "%.*s", (int)(n - (sizeof pre - 1)), line + sizeof pre - 1);
	return b64_ok(out) ? 0 : -EINVAL;
}
