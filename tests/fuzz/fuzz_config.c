/* Fuzz mirrornetd's configuration parser (src/daemon/config.c): the file
 * is outside bytes (written by hand, by `mirrornetctl join`, by the
 * OpenWrt init script from UCI). Properties beyond memory safety: an
 * accepted file prints (config_print, what `mirrornetd -n` shows) as a
 * file that parses again to the same printout (the normal form is a
 * fixed point), and the reparsed config needs no restart against the
 * first; a refused file leaves a one-line message naming the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *print(const struct config *c, size_t *len)
{
	char *t = NULL;
	FILE *f = open_memstream(&t, len);

	if (!f)
		abort();
	config_print(c, f);
	fclose(f);
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config a, b;
	char err[512], msg[256];
	size_t la, lb;

	if (size > 65536)
		return 0;
	FILE *f = fmemopen((void *)(uintptr_t)data, size ? size : 1, "r");
	if (!f)
		return 0;
	if (!size)
		fgetc(f);   /* an empty file: fmemopen needs a non-zero size */
	int rc = config_parse(f, "fuzz.conf", &a, err, sizeof err);
	fclose(f);
	if (rc < 0) {
		if (strncmp(err, "fuzz.conf", 9) || strchr(err, '\n')) {
			fprintf(stderr, "property violated: refusal message '%s'\n", err);
			abort();
		}
		return 0;
	}
	char *ta = print(&a, &la);
	f = fmemopen(ta, la ? la : 1, "r");
	if (!f)
		abort();
	if (config_parse(f, "printed.conf", &b, err, sizeof err) < 0) {
		fprintf(stderr, "property violated: the printout does not parse: %s\n", err);
		abort();
	}
	fclose(f);
	char *tb = print(&b, &lb);
	if (la != lb || memcmp(ta, tb, la)) {
		fprintf(stderr, "property violated: print(parse(print(x))) != print(x)\n");
		abort();
	}
	if (config_needs_restart(&a, &b, msg, sizeof msg)) {
		fprintf(stderr, "property violated: the reparsed config needs a restart: %s\n", msg);
		abort();
	}
	free(ta);
	free(tb);
	return 0;
}
