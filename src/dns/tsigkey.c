/* TSIG keys: the key file's line and the servers' key sections (tsigkey.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "src/dns/tsigkey.h"
#include "proto/body.h"

static const char *const algs[] = { "hmac-sha256", "hmac-sha384", "hmac-sha512" };

static bool alg_ok(const char *a)
{
	for (size_t i = 0; i < sizeof algs / sizeof algs[0]; i++)
		if (!strcmp(a, algs[i]))
			return true;
	return false;
}

/* base64 of 16..96 bytes, padded */
static bool b64_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 24 || n % 4 || n > TSIG_B64_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '/' ||
		      (s[i] == '=' && i >= n - 2 && (i == n - 1 || s[n - 1] == '='))))
			return false;
	return true;
}

static int done(int n, size_t cap)
{
	return n < 0 ? -EINVAL : (size_t)n >= cap ? -ENOSPC : n;
}

void tsig_key_wipe(struct tsig_key *k)
{
	explicit_bzero(k, sizeof *k);
}

int tsig_key_check(const struct tsig_key *k)
{
	return alg_ok(k->alg) && dns_name_lower(k->name) ? 0 : -EINVAL;
}

int tsig_key_parse(const char *line, struct tsig_key *k)
{
	size_t n = strcspn(line, "\n");
	const char *c1 = memchr(line, ':', n), *c2 = c1 ? memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - line)) : NULL;

	memset(k, 0, sizeof *k);
	if (!c2 || (line[n] == '\n' && line[n + 1]) || (size_t)(c1 - line) >= sizeof k->alg ||
	    (size_t)(c2 - c1 - 1) >= sizeof k->name || n - (size_t)(c2 + 1 - line) >= sizeof k->secret)
		return -EINVAL;
	memcpy(k->alg, line, (size_t)(c1 - line));
	memcpy(k->name, c1 + 1, (size_t)(c2 - c1 - 1));
	memcpy(k->secret, c2 + 1, n - (size_t)(c2 + 1 - line));
	if (tsig_key_check(k) < 0 || !b64_ok(k->secret)) {
		tsig_key_wipe(k);
		return -EINVAL;
	}
	return 0;
}

int tsig_key_line(const char *alg, const char *name, const uint8_t key[static TSIG_SECRET_LEN],
		  char *out, size_t cap)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char b[(TSIG_SECRET_LEN + 2) / 3 * 4 + 1];
	size_t o = 0;

	if (!alg_ok(alg) || !dns_name_lower(name))
		return -EINVAL;
	for (size_t i = 0; i < TSIG_SECRET_LEN; i += 3) {
		uint32_t v = (uint32_t)key[i] << 16;
		size_t left = TSIG_SECRET_LEN - i;
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
	int n = done(snprintf(out, cap, "%s:%s:%s\n", alg, name, b), cap);
	explicit_bzero(b, sizeof b);
	return n;
}

static bool comment_ok(const char *c)
{
	for (; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			return false;
	return true;
}

int tsig_knot_conf(const char *comment, const struct tsig_key *k, char *out, size_t cap)
{
	if (tsig_key_check(k) < 0 || !b64_ok(k->secret) || !comment_ok(comment))
		return -EINVAL;
	return done(snprintf(out, cap, "# %s\nkey:\n  - id: %s.\n    algorithm: %s\n    secret: %s\n",
			     comment, k->name, k->alg, k->secret), cap);
}

int tsig_bind_conf(const char *comment, const struct tsig_key *k, char *out, size_t cap)
{
	if (tsig_key_check(k) < 0 || !b64_ok(k->secret) || !comment_ok(comment))
		return -EINVAL;
	return done(snprintf(out, cap, "// %s\nkey \"%s.\" {\n\talgorithm %s;\n\tsecret \"%s\";\n};\n",
			     comment, k->name, k->alg, k->secret), cap);
}
