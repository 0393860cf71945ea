/* The ACME DNS-01 zone of a node (docs/dns.md "ACME DNS-01"): pure text.
 *
 * A CA checks DNS-01 for ZONE and *.ZONE at the TXT of
 * _acme-challenge.ZONE. Vortex DNS regenerates ZONE's file from records
 * whenever they change, and Knot (zonefile-load: whole, journal-content:
 * none) then reloads it whole: a TXT added by a dynamic update would be
 * lost. So the TXT lives in a zone of its own, _acme-challenge.ZONE, whose
 * file is written once with the same bytes (SOA and NS only) and thus never
 * reloaded: Knot keeps the updates in memory while ZONE's file comes and
 * goes. Only one TSIG key may update it, and only TXT at its apex. */
#ifndef MN_ACMEZONE_H
#define MN_ACMEZONE_H
#include <stddef.h>
#include <stdint.h>
#include "src/dns/tsigkey.h"

#define ACMEZONE_KEY_NAME "mn-acme"
#define ACMEZONE_KEY_ALG "hmac-sha256"
#define ACMEZONE_SECRET_LEN TSIG_SECRET_LEN
#define ACMEZONE_KEY_CONF "acme-key.conf"   /* knot.conf includes it; 0600 */

/* "_acme-challenge.ZONE" into out: 0, -EINVAL (ZONE not a lowercase DNS
 * name, or too long for the prefix), -ENOSPC. */
int acmezone_name(const char *zone, char *out, size_t cap);
/* The zone file of _acme-challenge.ZONE (always the same bytes for ZONE):
 * its length, or -EINVAL / -ENOSPC. */
int acmezone_zone_text(const char *zone, char *out, size_t cap);
/* Knot's configuration for it, to append to knot.conf (Knot takes a
 * section more than once): an include of dir/acme-key.conf (the key), an
 * ACL allowing that key to update TXT at the zone's apex only, the zone
 * with its file in dir. Its length, or -EINVAL / -ENOSPC. */
int acmezone_knot_text(const char *zone, const char *dir, char *out, size_t cap);
/* acme-key.conf: the key section, secret its base64 text. Its length, or
 * -EINVAL / -ENOSPC. */
int acmezone_key_conf(const char *secret, char *out, size_t cap);
/* The key file's line "hmac-sha256:mn-acme:BASE64\n" from the key bytes:
 * its length or -ENOSPC. */
int acmezone_key_line(const uint8_t key[static ACMEZONE_SECRET_LEN], char *out, size_t cap);
/* The base64 secret of such a line (the whole line checked) into out:
 * 0, or -EINVAL. */
int acmezone_key_parse(const char *line, char *out, size_t cap);

#endif
