/* The torrc of MirrorNet's tor instance (torcfg.h, docs/expose.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/expose/torcfg.h"
#include "src/expose/hacfg.h"
#include "proto/body.h"

uint16_t torcfg_port(uint8_t proto, uint16_t port)
{
	return proto == EXPOSE_HTTP ? 80 : proto == EXPOSE_TLS ? 443 : port;
}

bool torcfg_dir_ok(const char *s)
{
	size_t n = strlen(s);

	if (s[0] != '/' || n > TORCFG_DIR_MAX || (n > 1 && s[n - 1] == '/'))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr("._+/-", *p)))
			return false;
	/* no "." or ".." parts */
	for (const char *p = s; (p = strstr(p, "/.")); p++)
		if (p[2] == 0 || p[2] == '/' || (p[2] == '.' && (p[3] == 0 || p[3] == '/')))
			return false;
	return true;
}

/* A key directory's name: a lowercase DNS label of at most 48 bytes. */
static bool service_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > TORCFG_SERVICE_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

const char *torcfg_refusal(const struct torcfg *c, size_t i)
{
	const struct torcfg_service *s = &c->services[i];

	if (!service_ok(s->service))
		return "not a DNS label of at most 48 bytes";
	if (!hacfg_backend_ok(s->backend))
		return "its backend is not a numeric IP:PORT";
	if (s->port == 0)
		return "no port";
	for (size_t k = 0; k < i; k++)
		if (!strcmp(c->services[k].service, s->service))
			return "named twice";
	return NULL;
}

int torcfg_render(const struct torcfg *c, char **text, size_t *len, unsigned *skipped,
		  void (*report)(void *arg, const char *msg), void *arg, char *msg, size_t cap)
{
	char m[200];
	FILE *f;

	*text = NULL;
	*len = 0;
	*skipped = 0;
	if (!torcfg_dir_ok(c->run_dir) || !torcfg_dir_ok(c->keys_dir)) {
		snprintf(msg, cap, "%s: an absolute directory path of [A-Za-z0-9._+/-], at most %d bytes",
			 torcfg_dir_ok(c->run_dir) ? "the key directory" : "the run directory", TORCFG_DIR_MAX);
		return -EINVAL;
	}
	if (!(f = open_memstream(text, len))) {
		snprintf(msg, cap, "out of memory");
		return -ENOMEM;
	}
	fprintf(f, "# Written by mirrornetd (docs/expose.md): the hidden services of this box's\n"
		   "# exposures with the tor channel. Rewritten on every change: do not edit.\n"
		   "DataDirectory %s/data\nPidFile %s/tor.pid\nLog notice file %s/tor.log\n"
		   "RunAsDaemon 1\nSocksPort 0\nAvoidDiskWrites 1\n", c->run_dir, c->run_dir, c->run_dir);
	if (!c->network)
		fprintf(f, "DisableNetwork 1\n");
	for (size_t i = 0; i < c->n; i++) {
		const struct torcfg_service *s = &c->services[i];
		const char *why = torcfg_refusal(c, i);
		if (why) {
			(*skipped)++;
			if (report) {
				snprintf(m, sizeof m, "tor: service %.*s left out: %s",
					 service_ok(s->service) ? TORCFG_SERVICE_MAX : 0, s->service, why);
				report(arg, m);
			}
			continue;
		}
		fprintf(f, "\nHiddenServiceDir %s/%s\nHiddenServiceVersion 3\nHiddenServicePort %u %s\n",
			c->keys_dir, s->service, (unsigned)s->port, s->backend);
	}
	if (fclose(f) != 0 || !*text) {
		free(*text);
		*text = NULL;
		snprintf(msg, cap, "out of memory");
		return -ENOMEM;
	}
	return 0;
}
