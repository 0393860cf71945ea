/* Fuzz target: the CrowdSec LAPI answers (src/ioc/lapi_json.c) — the
 * decisions stream, the watcher login, POST /v1/alerts' ids, an alert with
 * its decisions, an error message — and lapi_duration_parse. data[0] % 6
 * picks the parser; the rest, copied into a heap buffer of exactly its
 * size (no NUL: ASan sees an over-read), is the answer.
 *
 * Properties checked (abort() on violation):
 *   - every decision handed out has id > 0, a non-empty value, and its
 *     strings NUL-terminated inside their fields, free of control bytes;
 *   - a parse that fails hands out nothing after its error (fn's count
 *     matches what a success would say) and leaves a login token empty;
 *   - an accepted token is printable, non-empty and shorter than its cap;
 *   - an alert id is > 0 exactly when the parse succeeds;
 *   - a message stays within every cap from 1 to 64;
 *   - a duration that parses reparses to the same seconds when printed
 *     back as "<N>s". */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/ioc/lapi_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((noreturn)) static void fail(const char *what)
{
	fprintf(stderr, "fuzz_lapi: property violated: %s\n", what);
	abort();
}

static void field(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		fail("a field is not NUL-terminated");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			fail("a control byte in a field");
}

static int seen(void *ctx, bool deleted, const struct lapi_decision *d)
{
	unsigned *n = ctx;

	(void)deleted;
	if (d->id <= 0 || !d->value[0])
		fail("a decision without id or value");
	field(d->origin, sizeof d->origin);
	field(d->type, sizeof d->type);
	field(d->scope, sizeof d->scope);
	field(d->value, sizeof d->value);
	field(d->scenario, sizeof d->scenario);
	(*n)++;
	return *n > 100000 ? -E2BIG : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 1 << 20)
		return 0;
	unsigned which = data[0] % 6;
	size_t len = size - 1;
	char *b = malloc(len ? len : 1);
	unsigned n = 0, skipped = 0;
	char tok[64];
	int64_t id;
	int rc;

	if (!b)
		return 0;
	memcpy(b, data + 1, len);
	switch (which) {
	case 0:
		rc = lapi_stream_parse(b, len, seen, &n, &skipped);
		if (rc != 0 && rc != -EINVAL && rc != -ENOMEM && rc != -E2BIG)
			fail("stream: an unexpected error");
		break;
	case 1:
		rc = lapi_login_parse(b, len, tok, sizeof tok);
		if (rc < 0 && tok[0])
			fail("login: a token left after an error");
		if (rc == 0) {
			field(tok, sizeof tok);
			for (size_t i = 0; tok[i]; i++)
				if (tok[i] == ' ')
					fail("login: a space in the token");
			if (!tok[0])
				fail("login: an empty token accepted");
		}
		break;
	case 2:
		rc = lapi_alert_ids_parse(b, len, &id);
		if ((rc == 0) != (id > 0))
			fail("alert ids: id and result disagree");
		break;
	case 3:
		lapi_alert_parse(b, len, seen, &n, &skipped);
		break;
	case 4:
		for (size_t cap = 1; cap <= 64; cap++) {
			char *m = malloc(cap);
			if (!m)
				break;
			lapi_message_parse(b, len, m, cap);
			if (strnlen(m, cap) == cap)
				fail("message: not NUL-terminated");
			free(m);
		}
		break;
	default: {
		char s[64], t[40];
		uint64_t secs, again;
		if (len >= sizeof s)
			break;
		memcpy(s, b, len);
		s[len] = 0;
		if (lapi_duration_parse(s, &secs) == 0) {
			snprintf(t, sizeof t, "%llus", (unsigned long long)secs);
			if (lapi_duration_parse(t, &again) < 0 || again != secs)
				fail("duration: not stable");
		}
		break;
	}
	}
	free(b);
	return 0;
}
