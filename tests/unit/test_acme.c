/* ACME's pure part (src/expose/acme.c): lego's command line for HTTP-01
 * and DNS-01 and what it refuses, the installed file names, notAfter of a
 * PEM certificate (UTCTime and GeneralizedTime, checked against openssl's
 * reading of the same certificates), hostile PEM/DER, the renewal decision
 * and the backoff. */
#include <errno.h>
#include "tests/check.h"
#include "src/expose/acme.h"
#include "src/dns/acmezone.h"

/* openssl req -x509 -newkey ec ... -days 90 / -days 12000; notAfter as
 * `date -d "$(openssl x509 -noout -enddate)" +%s` reads it */
static const char pem_utc[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBfTCCASOgAwIBAgIUd2jG9tSamZp7wkPlg6Yd1sYg/AowCgYIKoZIzj0EAwIw\n"
	"FDESMBAGA1UEAwwJYS5leGFtcGxlMB4XDTI2MTIwNjE4MTUxOVoXDTI3MDMwNjE4\n"
	"MTUxOVowFDESMBAGA1UEAwwJYS5leGFtcGxlMFkwEwYHKoZIzj0CAQYIKoZIzj0D\n"
	"AQcDQgAEPG1Khk/1cfRV+YZWBlN21qT6EJspk2DaL9XMtHlzAcB+0U/95Mdsm8f4\n"
	"YoZo6G7HgDKGjTLxJg4b52HbQC+87qNTMFEwHQYDVR0OBBYEFO9XKS9w29pxVZts\n"
	"/5wdt3lKxT2CMB8GA1UdIwQYMBaAFO9XKS9w29pxVZts/5wdt3lKxT2CMA8GA1Ud\n"
	"EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgXWE+LUBZM9MTZieoIY/GiO0H\n"
	"eoWesekBFAKYoBPZM9wCIQCyV8CPTdX5rdUSgMuljyVN6x8ukv2CJGJ6DUlICNAt\n"
	"Ow==\n"
	"-----END CERTIFICATE-----\n";
static const char pem_gen[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBfzCCASWgAwIBAgIURpeyxMW6fOTaH6R3W48G0f8jpZwwCgYIKoZIzj0EAwIw\n"
	"FDESMBAGA1UEAwwJYi5leGFtcGxlMCAXDTI2MTIwNjE4MTUxOVoYDzIwNTkxMDE0\n"
	"MTgxNTE5WjAUMRIwEAYDVQQDDAliLmV4YW1wbGUwWTATBgcqhkjOPQIBBggqhkjO\n"
	"PQMBBwNCAAQbacNsfDFQWGx0Z67UuBunIiioWfIFsMeRNfKtDXYPeldBPpNr03Iw\n"
	"xITCW1w/rMlue7lPbbbml8/Fmr6G6/Uqo1MwUTAdBgNVHQ4EFgQU17iRfFJFy8S2\n"
	"8X7uxeqo+HsVsIcwHwYDVR0jBBgwFoAU17iRfFJFy8S28X7uxeqo+HsVsIcwDwYD\n"
	"VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiBni7vSrFVDSxGeXM+4vHrx\n"
	"+rmZWxXeHRTYg1FD9ITcDwIhAOnthnqgcplDm7bGMt4OOdV1/f/dfLmehF3SbjJZ\n"
	"ErDf\n"
	"-----END CERTIFICATE-----\n";
#define UTC_NOT_AFTER 1804356919    /* Mar  6 18:15:19 2027 GMT (UTCTime) */
#define GEN_NOT_AFTER 2833380919    /* Oct 14 18:15:19 2059 GMT (GeneralizedTime) */

static int build(const struct acme_job *j, char **argv, char *buf, size_t cap)
{
	return acme_lego_argv(j, buf, cap, argv, ACME_MAX_ARGS);
}

static void joined(char **argv, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = 0;
	for (int i = 0; argv[i] && n < cap; i++)
		n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? " " : "", argv[i]);
}

static void test_argv(void)
{
	char buf[2048], line[2048], *argv[ACME_MAX_ARGS];
	struct acme_job j = {
		.lego = "/usr/bin/lego", .server = "https://10.0.0.5:14000/dir", .email = "ops@example.io",
		.path = "/var/lib/mirrornet/acme", .challenge = ACME_HTTP01, .http_addr = "127.0.0.1:8402",
		.name = "git.lab.node1.example.io",
	};

	CHECK_INT(build(&j, argv, buf, sizeof buf), 10);
	joined(argv, line, sizeof line);
	CHECK_STR(line, "/usr/bin/lego --accept-tos --server=https://10.0.0.5:14000/dir --email=ops@example.io "
			"--path=/var/lib/mirrornet/acme --key-type=ec256 --domains=git.lab.node1.example.io "
			"--http --http.port=127.0.0.1:8402 run");
	CHECK(argv[10] == NULL);

	/* DNS-01: the zone and its wildcard, rfc2136 against our server */
	j.challenge = ACME_DNS01;
	j.email = "";
	j.name = "lab.node1.example.io";
	j.dns_resolver = "10.42.0.3:53";
	CHECK_INT(build(&j, argv, buf, sizeof buf), 11);
	joined(argv, line, sizeof line);
	CHECK_STR(line, "/usr/bin/lego --accept-tos --server=https://10.0.0.5:14000/dir "
			"--path=/var/lib/mirrornet/acme --key-type=ec256 --domains=lab.node1.example.io "
			"--domains=*.lab.node1.example.io --dns=rfc2136 --dns.resolvers=10.42.0.3:53 "
			"--dns.disable-cp run");

	/* refused: every field is checked */
	struct acme_job bad;
	const char *names[] = { "Git.example.io", "a..b", "-x.example.io", "a b", "*.example.io", "a_b.io",
				"x;rm", "" };
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		bad = j;
		bad.name = names[i];
		CHECK_INT(build(&bad, argv, buf, sizeof buf), -EINVAL);
	}
	const char *urls[] = { "ftp://x", "https://x y", "https://x\"", "--server", "https://x\n", "" };
	for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
		bad = j;
		bad.server = urls[i];
		CHECK_INT(build(&bad, argv, buf, sizeof buf), -EINVAL);
	}
	struct { const char *email, *path, *resolver, *http; } fields[] = {
		{ "-x@y", NULL, NULL, NULL }, { "a@b c", NULL, NULL, NULL },
		{ NULL, "relative/dir", NULL, NULL }, { NULL, "/var/../etc", NULL, NULL },
		{ NULL, NULL, "ns.example.io:53", NULL }, { NULL, NULL, NULL, "" },
	};
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		bad = j;
		bad.email = fields[i].email ? fields[i].email : bad.email;
		bad.path = fields[i].path ? fields[i].path : bad.path;
		bad.dns_resolver = fields[i].resolver ? fields[i].resolver : bad.dns_resolver;
		if (fields[i].http) {
			bad.challenge = ACME_HTTP01;
			bad.http_addr = fields[i].http;
		}
		CHECK_INT(build(&bad, argv, buf, sizeof buf), -EINVAL);
	}
	/* too small a buffer or vector: -ENOSPC, never a cut argument */
	CHECK_INT(build(&j, argv, buf, 40), -ENOSPC);
	CHECK_INT(acme_lego_argv(&j, buf, sizeof buf, argv, 5), -ENOSPC);
}

static void test_files(void)
{
	char f[ACME_FILE_MAX], crt[300], key[300];

	CHECK_INT(acme_cert_file("git.lab.node1.example.io", false, f, sizeof f), 0);
	CHECK_STR(f, "acme-git.lab.node1.example.io.pem");
	CHECK(acme_is_cert_file(f));
	CHECK_INT(acme_cert_file("lab.node1.example.io", true, f, sizeof f), 0);
	CHECK_STR(f, "acme-wildcard.lab.node1.example.io.pem");
	CHECK(acme_is_cert_file(f));
	CHECK_INT(acme_cert_file("../etc/passwd", false, f, sizeof f), -EINVAL);
	CHECK_INT(acme_cert_file("a/b", false, f, sizeof f), -EINVAL);
	CHECK_INT(acme_cert_file("git.example.io", false, f, 10), -ENOSPC);
	CHECK(!acme_is_cert_file("git.pem"));
	CHECK(!acme_is_cert_file("acme-.pem"));
	CHECK(!acme_is_cert_file("acme-a/b.pem"));
	CHECK(!acme_is_cert_file("acme-x.example.io.pem.tmp"));
	CHECK_INT(acme_lego_files("lab.node1.example.io", crt, key, sizeof crt), 0);
	CHECK_STR(crt, "certificates/lab.node1.example.io.crt");
	CHECK_STR(key, "certificates/lab.node1.example.io.key");
	CHECK_INT(acme_lego_files("x/../y", crt, key, sizeof crt), -EINVAL);
}

static void test_not_after(void)
{
	int64_t t = 0;
	char buf[4096];

	CHECK_INT(acme_pem_not_after(pem_utc, strlen(pem_utc), &t), 0);
	CHECK_INT(t, UTC_NOT_AFTER);
	CHECK_INT(acme_pem_not_after(pem_gen, strlen(pem_gen), &t), 0);
	CHECK_INT(t, GEN_NOT_AFTER);
	/* a chain: the first certificate counts */
	snprintf(buf, sizeof buf, "%s%s", pem_gen, pem_utc);
	CHECK_INT(acme_pem_not_after(buf, strlen(buf), &t), 0);
	CHECK_INT(t, GEN_NOT_AFTER);
	/* a key before the certificate (lego's .pem order is cert then key) */
	snprintf(buf, sizeof buf, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n%s", pem_utc);
	CHECK_INT(acme_pem_not_after(buf, strlen(buf), &t), 0);
	CHECK_INT(t, UTC_NOT_AFTER);
	CHECK(acme_pem_has_key(buf, strlen(buf)));
	CHECK(!acme_pem_has_key(pem_utc, strlen(pem_utc)));

	/* hostile: no certificate, no end, bad base64, every truncation */
	CHECK_INT(acme_pem_not_after("", 0, &t), -EINVAL);
	CHECK_INT(acme_pem_not_after("-----BEGIN CERTIFICATE-----\nMII", 31, &t), -EINVAL);
	snprintf(buf, sizeof buf, "%s", pem_utc);
	buf[40] = '!';
	CHECK_INT(acme_pem_not_after(buf, strlen(buf), &t), -EINVAL);
	const char *body = strchr(pem_utc, '\n') + 1, *end = strstr(pem_utc, "-----END");
	size_t blen = (size_t)(end - body);
	int refused = 0, tries = 0;
	for (size_t cut = 0; cut + 4 < blen; cut += 4) {
		/* base64 cut on a 4-character boundary: a shorter DER */
		int n = snprintf(buf, sizeof buf, "-----BEGIN CERTIFICATE-----\n%.*s\n-----END CERTIFICATE-----\n",
				 (int)cut, body);
		tries++;
		refused += acme_pem_not_after(buf, (size_t)n, &t) == -EINVAL;
	}
	CHECK_INT(refused, tries);
	/* random bytes in the body: refused or a time, never a crash (ASan) */
	unsigned seed = 7;
	for (int k = 0; k < 20000; k++) {
		snprintf(buf, sizeof buf, "%s", pem_utc);
		for (int m = 0; m < 3; m++) {
			seed = seed * 1103515245 + 12345;
			size_t pos = 28 + (seed >> 8) % (blen - 1);
			seed = seed * 1103515245 + 12345;
			buf[pos] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(seed >> 8) % 64];
		}
		acme_pem_not_after(buf, strlen(buf), &t);
	}
	CHECK(1);
}

static void test_due(void)
{
	int64_t now = 1800000000;

	CHECK_INT(acme_due(0, now, ACME_RENEW_BEFORE_S), ACME_MISSING);
	CHECK_INT(acme_due(now + 90 * 86400, now, ACME_RENEW_BEFORE_S), ACME_VALID);
	CHECK_INT(acme_due(now + 30 * 86400 + 1, now, ACME_RENEW_BEFORE_S), ACME_VALID);
	CHECK_INT(acme_due(now + 30 * 86400, now, ACME_RENEW_BEFORE_S), ACME_RENEW);
	CHECK_INT(acme_due(now - 1, now, ACME_RENEW_BEFORE_S), ACME_RENEW);   /* expired */
	CHECK_STR(acme_due_name(ACME_RENEW), "renew");
	CHECK_INT(acme_backoff_ms(0), 30000);
	CHECK_INT(acme_backoff_ms(1), 30000);
	CHECK_INT(acme_backoff_ms(2), 60000);
	CHECK_INT(acme_backoff_ms(5), 480000);
	CHECK_INT(acme_backoff_ms(40), 6 * 3600 * 1000);
	CHECK_INT(acme_backoff_ms(4000000000u), 6 * 3600 * 1000);
}

/* The DNS-01 zone (src/dns/acmezone.c): names, texts, the key's line. */
static void test_acmezone(void)
{
	char out[2048], secret[128];
	uint8_t key[ACMEZONE_SECRET_LEN];

	CHECK_INT(acmezone_name("lab.node1.example.io", out, sizeof out), 0);
	CHECK_STR(out, "_acme-challenge.lab.node1.example.io");
	CHECK_INT(acmezone_name("Lab.example.io", out, sizeof out), -EINVAL);
	CHECK_INT(acmezone_name("a\nb", out, sizeof out), -EINVAL);
	int n = acmezone_zone_text("lab.example.io", out, sizeof out);
	CHECK(n > 0 && strstr(out, "$ORIGIN _acme-challenge.lab.example.io.\n") &&
	      strstr(out, "@\t60\tIN\tSOA\tns.lab.example.io. hostmaster.lab.example.io. 1 "));
	CHECK_INT(acmezone_zone_text("lab.example.io", out, 20), -ENOSPC);
	n = acmezone_knot_text("lab.example.io", "/var/lib/mn/dns", out, sizeof out);
	CHECK(n > 0 && strstr(out, "include: /var/lib/mn/dns/acme-key.conf\n") &&
	      strstr(out, "update-type: [ TXT ]") &&
	      strstr(out, "update-owner-name: [ _acme-challenge.lab.example.io. ]") &&
	      strstr(out, "file: /var/lib/mn/dns/_acme-challenge.lab.example.io.zone") && !strstr(out, "secret:"));
	CHECK_INT(acmezone_knot_text("lab.example.io", "/var/lib/mn dns", out, sizeof out), -EINVAL);
	CHECK_INT(acmezone_knot_text("lab.example.io", "relative", out, sizeof out), -EINVAL);
	for (size_t i = 0; i < sizeof key; i++)
		key[i] = (uint8_t)i;
	n = acmezone_key_line(key, out, sizeof out);
	CHECK_STR(out, "hmac-sha256:mn-acme:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
	CHECK_INT(n, (int)strlen(out));
	CHECK_INT(acmezone_key_parse(out, secret, sizeof secret), 0);
	CHECK_STR(secret, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
	CHECK_INT(acmezone_key_conf(secret, out, sizeof out) > 0, 1);
	CHECK(strstr(out, "    secret: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n") != NULL);
	CHECK_INT(acmezone_key_conf("a b", out, sizeof out), -EINVAL);
	CHECK_INT(acmezone_key_parse("hmac-md5:mn-acme:AAAA\n", secret, sizeof secret), -EINVAL);
	CHECK_INT(acmezone_key_parse("hmac-sha256:mn-acme:AA\"A\n", secret, sizeof secret), -EINVAL);
	CHECK_INT(acmezone_key_parse("hmac-sha256:mn-acme:AAAA\nsecret: x\n", secret, sizeof secret), -EINVAL);
}

int main(void)
{
	test_acmezone();
	test_argv();
	test_files();
	test_not_after();
	test_due();
	return check_exit();
}
