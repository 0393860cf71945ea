/* ACME, the pure part (acme.h): lego's command line, file names, the
 * expiry of a PEM certificate, when to renew, how long to back off. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "src/expose/acme.h"
#include "src/expose/hacfg.h"

/* ---- checks of what goes on the command line ---- */

static bool chars_in(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr(extra, *s)))
			return false;
	return true;
}

static bool url_ok(const char *s)
{
	size_t n = strlen(s);

	if (n > 199 || (strncmp(s, "https://", 8) && strncmp(s, "http://", 7)))
		return false;
	return chars_in(s, "-._~:/?#[]@!$&()*+,;=%");
}

static bool email_ok(const char *s)
{
	return s[0] && s[0] != '-' && strlen(s) <= 95 && strchr(s, '@') && chars_in(s, "._%+-@");
}

static bool path_ok(const char *s)
{
	return s[0] == '/' && strlen(s) <= 200 && chars_in(s, "._+-/") && !strstr(s, "/../") &&
	       !strstr(s, "/./");
}

/* ---- the command line ---- */

struct argb {
	char *buf;
	size_t cap, used;
	char **argv;
	size_t maxv, n;
	bool full;
};

static void arg(struct argb *b, const char *a, const char *b2)
{
	size_t la = strlen(a), lb = b2 ? strlen(b2) : 0;

	if (b->full || b->n + 1 >= b->maxv || b->used + la + lb + 1 > b->cap) {
		b->full = true;
		return;
	}
	char *p = b->buf + b->used;
	memcpy(p, a, la);
	if (b2)
		memcpy(p + la, b2, lb);
	p[la + lb] = 0;
	b->used += la + lb + 1;
	b->argv[b->n++] = p;
	b->argv[b->n] = NULL;
}

int acme_lego_argv(const struct acme_job *j, char *buf, size_t cap, char **argv, size_t maxv)
{
	struct argb b = { buf, cap, 0, argv, maxv, 0, false };

	if (!j->lego || !path_ok(j->lego) || !j->server || !url_ok(j->server) || !j->path ||
	    !path_ok(j->path) || !j->name || !hacfg_name_ok(j->name) ||
	    (j->email && j->email[0] && !email_ok(j->email)))
		return -EINVAL;
	if (j->challenge == ACME_HTTP01 ? !j->http_addr || !hacfg_backend_ok(j->http_addr)
					: !j->dns_resolver || !hacfg_backend_ok(j->dns_resolver))
		return -EINVAL;
	if (maxv == 0)
		return -ENOSPC;
	arg(&b, j->lego, NULL);
	arg(&b, "--accept-tos", NULL);
	arg(&b, "--server=", j->server);
	if (j->email && j->email[0])
		arg(&b, "--email=", j->email);
	arg(&b, "--path=", j->path);
	arg(&b, "--key-type=ec256", NULL);
	arg(&b, "--domains=", j->name);
	if (j->challenge == ACME_HTTP01) {
		/* lego's own answerer, listening only while it runs; the CDN's
		 * HAProxy routes /.well-known/acme-challenge/ there */
		arg(&b, "--http", NULL);
		arg(&b, "--http.port=", j->http_addr);
	} else {
		/* RFC 2136 with TSIG against our own zone's server (the key and
		 * the server come through the environment); the update reaches
		 * the authoritative server itself, so no propagation wait */
		char wild[MN_MAX_DOMAIN + 3];
		if (strlen(j->name) + 2 > MN_MAX_DOMAIN)
			return -EINVAL;
		snprintf(wild, sizeof wild, "*.%s", j->name);
		arg(&b, "--domains=", wild);
		arg(&b, "--dns=rfc2136", NULL);
		arg(&b, "--dns.resolvers=", j->dns_resolver);
		arg(&b, "--dns.disable-cp", NULL);
	}
	arg(&b, "run", NULL);
	return b.full ? -ENOSPC : (int)b.n;
}

/* ---- file names ---- */

int acme_cert_file(const char *name, bool wildcard, char *out, size_t cap)
{
	if (!hacfg_name_ok(name))
		return -EINVAL;
	int n = snprintf(out, cap, "acme-%s%s.pem", wildcard ? "wildcard." : "", name);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

bool acme_is_cert_file(const char *file)
{
	size_t n = strlen(file);
	char name[MN_MAX_DOMAIN + 16];

	if (n <= 9 || strncmp(file, "acme-", 5) || strcmp(file + n - 4, ".pem") || n - 9 > MN_MAX_DOMAIN + 9)
		return false;
	snprintf(name, sizeof name, "%.*s", (int)(n - 9), file + 5);
	if (!strncmp(name, "wildcard.", 9) && hacfg_name_ok(name + 9))
		return true;
	return hacfg_name_ok(name);
}

int acme_lego_files(const char *name, char *crt, char *key, size_t cap)
{
	if (!hacfg_name_ok(name))
		return -EINVAL;
	int a = snprintf(crt, cap, "certificates/%s.crt", name);
	int b = snprintf(key, cap, "certificates/%s.key", name);
	return a < 0 || b < 0 || (size_t)a >= cap || (size_t)b >= cap ? -ENOSPC : 0;
}

/* ---- PEM and DER ---- */

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* The base64 text between the markers into out: its length or -EINVAL. */
static long b64_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	bool pad = false;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '\n' || c == '\r' || c == ' ' || c == '\t')
			continue;
		if (c == '=') {
			pad = true;
			continue;
		}
		int v = b64val(c);
		if (v < 0 || pad)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -EINVAL;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (long)o;
}

/* A bounded DER reader: one TLV at a time. */
struct der {
	const uint8_t *p;
	size_t len;
};

static int der_next(struct der *r, uint8_t *tag, struct der *val)
{
	size_t n;

	if (r->len < 2)
		return -EINVAL;
	*tag = r->p[0];
	uint8_t l0 = r->p[1];
	size_t hdr = 2;
	if (l0 < 0x80) {
		n = l0;
	} else {
		size_t k = l0 & 0x7f;
		if (k == 0 || k > 4 || k > r->len - 2)
			return -EINVAL;
		n = 0;
		for (size_t i = 0; i < k; i++)
			n = n << 8 | r->p[2 + i];
		hdr += k;
	}
	if (n > r->len - hdr)
		return -EINVAL;
	val->p = r->p + hdr;
	val->len = n;
	r->p += hdr + n;
	r->len -= hdr + n;
	return 0;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const uint8_t *p, size_t n, unsigned *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EINVAL;
		*v = *v * 10 + (unsigned)(p[i] - '0');
	}
	return 0;
}

/* UTCTime YYMMDDHHMMSSZ or GeneralizedTime YYYYMMDDHHMMSSZ (RFC 5280
 * 4.1.2.5: always Zulu, seconds present). */
static int der_time(uint8_t tag, const struct der *v, int64_t *out)
{
	unsigned y, mo, d, h, mi, s;
	size_t yl = tag == 0x17 ? 2 : tag == 0x18 ? 4 : 0;

	if (!yl || v->len != yl + 11 || v->p[v->len - 1] != 'Z' || digits(v->p, yl, &y) < 0 ||
	    digits(v->p + yl, 2, &mo) < 0 || digits(v->p + yl + 2, 2, &d) < 0 ||
	    digits(v->p + yl + 4, 2, &h) < 0 || digits(v->p + yl + 6, 2, &mi) < 0 ||
	    digits(v->p + yl + 8, 2, &s) < 0)
		return -EINVAL;
	if (yl == 2)
		y += y >= 50 ? 1900 : 2000;
	if (y < 1950 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return -EINVAL;
	*out = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + mi * 60 + s;
	return 0;
}

static const char *find(const char *s, size_t n, const char *what)
{
	size_t w = strlen(what);

	for (size_t i = 0; i + w <= n; i++)
		if (!memcmp(s + i, what, w))
			return s + i;
	return NULL;
}

int acme_pem_not_after(const char *pem, size_t len, int64_t *not_after)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----", end[] = "-----END CERTIFICATE-----";
	uint8_t der[16384];
	const char *b = find(pem, len, begin), *e;
	struct der r, cert, tbs, v, validity;
	uint8_t tag;

	if (!b)
		return -EINVAL;
	b += sizeof begin - 1;
	if (!(e = find(b, len - (size_t)(b - pem), end)))
		return -EINVAL;
	long n = b64_decode(b, (size_t)(e - b), der, sizeof der);
	if (n <= 0)
		return -EINVAL;
	r = (struct der){ der, (size_t)n };
	if (der_next(&r, &tag, &cert) < 0 || tag != 0x30 || der_next(&cert, &tag, &tbs) < 0 || tag != 0x30)
		return -EINVAL;
	/* [0] version (optional), serial, signature algorithm, issuer, validity */
	if (der_next(&tbs, &tag, &v) < 0)
		return -EINVAL;
	if (tag == 0xa0 && der_next(&tbs, &tag, &v) < 0)
		return -EINVAL;
	if (tag != 0x02 || der_next(&tbs, &tag, &v) < 0 || tag != 0x30 ||
	    der_next(&tbs, &tag, &v) < 0 || tag != 0x30 ||
	    der_next(&tbs, &tag, &validity) < 0 || tag != 0x30)
		return -EINVAL;
	if (der_next(&validity, &tag, &v) < 0 || (tag != 0x17 && tag != 0x18) ||   /* notBefore */
	    der_next(&validity, &tag, &v) < 0)
		return -EINVAL;
	return der_time(tag, &v, not_after);
}

bool acme_pem_has_key(const char *pem, size_t len)
{
	return find(pem, len, "-----BEGIN EC PRIVATE KEY-----") ||
	       find(pem, len, "-----BEGIN PRIVATE KEY-----") ||
	       find(pem, len, "-----BEGIN RSA PRIVATE KEY-----");
}

/* ---- when ---- */

enum acme_due acme_due(int64_t not_after, int64_t now, int64_t before_s)
{
	if (not_after <= 0)
		return ACME_MISSING;
	return not_after - now <= before_s ? ACME_RENEW : ACME_VALID;
}

const char *acme_due_name(enum acme_due d)
{
	return d == ACME_VALID ? "valid" : d == ACME_RENEW ? "renew" : "missing";
}

uint64_t acme_backoff_ms(unsigned failures)
{
	uint64_t ms = 30000, max = 6ull * 3600 * 1000;

	for (unsigned i = 1; i < failures && ms < max; i++)
		ms *= 2;
	return ms < max ? ms : max;
}
