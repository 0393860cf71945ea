/* ACME DNS-01 on our own zone, Vortex DNS's side (vortex_acme.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/daemon/vortex_acme.h"
#include "src/daemon/vortex_key.h"
#include "src/dns/acmezone.h"
#include "src/putfile.h"
#include "crypto/chain.h"
#include "proto/limits.h"

/* The key's base64 secret from key_path (vortex_key.h: made first, 0600,
 * if there is none); it must be the ACME key (hmac-sha256, mn-acme), the
 * one the ACL of acmezone_knot_text names. */
static int key_secret(const char *key_path, char *secret, size_t cap, char *err, size_t errcap)
{
	struct tsig_key k;
	int rc = vortex_key_load(key_path, ACMEZONE_KEY_NAME, &k, err, errcap);

	if (rc == 0 && (strcmp(k.alg, ACMEZONE_KEY_ALG) || strcmp(k.name, ACMEZONE_KEY_NAME) ||
			snprintf(secret, cap, "%s", k.secret) >= (int)cap)) {
		snprintf(err, errcap, "%s: not the ACME key line (" ACMEZONE_KEY_ALG ":" ACMEZONE_KEY_NAME
			 ":BASE64); remove it to have a new one made", key_path);
		rc = -EINVAL;
	}
	tsig_key_wipe(&k);
	return rc;
}

int vortex_acme_knot(struct mn_host *h, const char *key_path, const char *dir, char **text,
		     size_t *len, char *err, size_t errcap)
{
	struct chain_result cr;
	char secret[160], zone_text[1024], path[512];
	size_t cap = 2048;
	int rc, n;

	*text = NULL;
	*len = 0;
	if (host_chain(h, host_self(h), &cr) < 0 || !cr.dns_scope[0])
		return 0;   /* no zone of our own */
	if ((n = acmezone_zone_text(cr.dns_scope, zone_text, sizeof zone_text)) < 0) {
		snprintf(err, errcap, "ACME zone for %s: %s", cr.dns_scope, strerror(-n));
		return n;
	}
	if ((rc = key_secret(key_path, secret, sizeof secret, err, errcap)) < 0)
		return rc;
	snprintf(path, sizeof path, "%s/_acme-challenge.%s.zone", dir, cr.dns_scope);
	if ((rc = file_put(path, zone_text, (size_t)n, 0644)) < 0) {
		explicit_bzero(secret, sizeof secret);
		snprintf(err, errcap, "%.300s: %s", path, strerror(-rc));
		return rc;
	}
	char keyconf[512];
	n = acmezone_key_conf(secret, keyconf, sizeof keyconf);
	explicit_bzero(secret, sizeof secret);
	snprintf(path, sizeof path, "%s/" ACMEZONE_KEY_CONF, dir);
	rc = n < 0 ? n : file_put(path, keyconf, (size_t)n, 0600);
	explicit_bzero(keyconf, sizeof keyconf);
	if (rc < 0) {
		snprintf(err, errcap, "%.300s: %s", path, strerror(-rc));
		return rc;
	}
	if (!(*text = malloc(cap)))
		return -ENOMEM;
	n = acmezone_knot_text(cr.dns_scope, dir, *text, cap);
	if (n < 0) {
		free(*text);
		*text = NULL;
		snprintf(err, errcap, "ACME zone for %s: %s", cr.dns_scope, strerror(-n));
		return n;
	}
	*len = (size_t)n;
	return 0;
}
