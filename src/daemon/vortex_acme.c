/* ACME DNS-01 on our own zone, Vortex DNS's side (vortex_acme.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "src/daemon/vortex_acme.h"
#include "src/dns/acmezone.h"
#include "src/putfile.h"
#include "crypto/chain.h"
#include "proto/limits.h"

/* The key's base64 secret from key_path, making the file (0600) first if
 * there is none. */
static int key_secret(const char *key_path, char *secret, size_t cap, char *err, size_t errcap)
{
	char line[256];
	int fd = open(key_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 && errno == ENOENT) {
		uint8_t key[ACMEZONE_SECRET_LEN];
		if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key) {
			snprintf(err, errcap, "%s: no random bytes", key_path);
			return -EIO;
		}
		int n = acmezone_key_line(key, line, sizeof line);
		explicit_bzero(key, sizeof key);
		int rc = n < 0 ? n : file_write(key_path, line, (size_t)n, 0600);
		if (rc < 0) {
			explicit_bzero(line, sizeof line);
			snprintf(err, errcap, "%s: %s", key_path, strerror(-rc));
			return rc;
		}
	} else if (fd < 0) {
		snprintf(err, errcap, "%s: %s", key_path, strerror(errno));
		return -errno;
	} else {
		ssize_t n = read(fd, line, sizeof line - 1);
		close(fd);
		line[n > 0 ? n : 0] = 0;
	}
	int rc = acmezone_key_parse(line, secret, cap);
	explicit_bzero(line, sizeof line);
	if (rc < 0)
		snprintf(err, errcap, "%s: not a key line (" ACMEZONE_KEY_ALG ":" ACMEZONE_KEY_NAME
			 ":BASE64); remove it to have a new one made", key_path);
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
