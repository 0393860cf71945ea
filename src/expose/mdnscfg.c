/* mDNS service files, avahi XML and umdns JSON (mdnscfg.h, docs/expose.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/expose/mdnscfg.h"
#include "proto/body.h"

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 6335 §5.1: 1..15 of [a-z0-9-], no hyphen first, last or twice in a
 * row, at least one letter. */
static bool svc_name_ok(const char *s, size_t n)
{
	bool letter = false;

	if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!lower_alnum(s[i]) && s[i] != '-')
			return false;
		if (s[i] == '-' && s[i + 1] == '-')
			return false;
		letter |= s[i] >= 'a' && s[i] <= 'z';
	}
	return letter;
}

int mdns_type(uint8_t proto, const char *service, char *out, size_t cap)
{
	char n[16];
	size_t k = 0;

	if (proto == EXPOSE_HTTP || proto == EXPOSE_TLS) {
		snprintf(out, cap, "%s", proto == EXPOSE_HTTP ? "_http._tcp" : "_https._tcp");
		return 0;
	}
	/* lowercase letters and digits kept, anything else one hyphen, at most 15 */
	for (const char *p = service; *p && k < sizeof n - 1; p++) {
		char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
		if (lower_alnum(c))
			n[k++] = c;
		else if (k && n[k - 1] != '-')
			n[k++] = '-';
	}
	while (k && n[k - 1] == '-')
		k--;
	n[k] = 0;
	if (!svc_name_ok(n, k) || cap < k + 7)
		return -EINVAL;
	snprintf(out, cap, "_%s._tcp", n);
	return 0;
}

bool mdns_text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

size_t mdns_xml_escape(const char *s, char *out, size_t cap)
{
	size_t n = 0;

	for (; *s; s++) {
		const char *e = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;" :
				*s == '"' ? "&quot;" : *s == '\'' ? "&apos;" : NULL;
		char one[2] = { *s, 0 };
		for (const char *p = e ? e : one; *p; p++, n++)
			if (cap && n < cap - 1)
				out[n] = *p;
	}
	if (cap)
		out[n < cap ? n : cap - 1] = 0;
	return n;
}

static bool type_ok(const char *t)
{
	size_t n = strlen(t);

	return n >= 7 && t[0] == '_' && (!strcmp(t + n - 5, "._tcp") || !strcmp(t + n - 5, "._udp")) &&
	       svc_name_ok(t + 1, n - 6);
}

const char *mdns_service_refusal(const struct mdns_service *s)
{
	size_t n = strlen(s->id);

	if (n == 0 || n > MDNS_ID_MAX)
		return "a bad id";
	for (size_t i = 0; i < n; i++)
		if (!lower_alnum(s->id[i]) && s->id[i] != '-')
			return "a bad id";
	if (!mdns_text_ok(s->name, MDNS_NAME_MAX))
		return "its name is not 1..63 printable ASCII characters";
	if (!type_ok(s->type))
		return "a bad service type";
	if (s->port == 0)
		return "no port";
	if (s->ntxt > MDNS_TXT_N)
		return "too many TXT strings";
	for (unsigned i = 0; i < s->ntxt; i++)
		if (!mdns_text_ok(s->txt[i], MDNS_TXT_MAX) || !strchr(s->txt[i] + 1, '=') || s->txt[i][0] == '=')
			return "a TXT string is not key=value of printable ASCII";
	return NULL;
}

/* fputs with XML escapes */
static void xml_put(FILE *f, const char *s)
{
	char buf[MDNS_TXT_MAX * 6 + 1];

	mdns_xml_escape(s, buf, sizeof buf);
	fputs(buf, f);
}

int mdns_avahi_render(const struct mdns_service *s, char **text, size_t *len, char *msg, size_t cap)
{
	const char *why = mdns_service_refusal(s);
	FILE *f;

	*text = NULL;
	*len = 0;
	if (why) {
		snprintf(msg, cap, "mdns: %s left out: %s", s->id, why);
		return -EINVAL;
	}
	if (!(f = open_memstream(text, len)))
		goto nomem;
	fputs("<?xml version=\"1.0\" standalone='no'?>\n"
	      "<!DOCTYPE service-group SYSTEM \"avahi-service.dtd\">\n"
	      "<!-- Written by mirrornetd (docs/expose.md): rewritten on every change, do not edit. -->\n"
	      "<service-group>\n  <name>", f);
	xml_put(f, s->name);
	fputs("</name>\n  <service>\n    <type>", f);
	xml_put(f, s->type);
	fprintf(f, "</type>\n    <port>%u</port>\n", (unsigned)s->port);
	for (unsigned i = 0; i < s->ntxt; i++) {
		fputs("    <txt-record>", f);
		xml_put(f, s->txt[i]);
		fputs("</txt-record>\n", f);
	}
	fputs("  </service>\n</service-group>\n", f);
	if (fclose(f) == 0 && *text)
		return 0;
nomem:
	free(*text);
	*text = NULL;
	snprintf(msg, cap, "out of memory");
	return -ENOMEM;
}

/* a JSON string: the text is printable ASCII already (checked) */
static void json_put(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

int mdns_umdns_render(const struct mdns_service *list, size_t n, char **text, size_t *len,
		      unsigned *skipped, void (*report)(void *arg, const char *msg), void *arg)
{
	bool first = true;
	FILE *f;

	*text = NULL;
	*len = 0;
	*skipped = 0;
	if (!(f = open_memstream(text, len)))
		return -ENOMEM;
	fputs("{", f);
	for (size_t i = 0; i < n; i++) {
		const struct mdns_service *s = &list[i];
		const char *why = mdns_service_refusal(s);
		if (why) {
			char m[160];
			(*skipped)++;
			snprintf(m, sizeof m, "mdns: an entry left out: %s", why);
			if (report)
				report(arg, m);
			continue;
		}
		fputs(first ? "\n\t" : ",\n\t", f);
		first = false;
		json_put(f, s->id);
		fputs(": {\n\t\t\"service\": ", f);
		char type[MDNS_TYPE_MAX + 8];
		snprintf(type, sizeof type, "%s.local", s->type);
		json_put(f, type);
		fprintf(f, ",\n\t\t\"port\": %u", (unsigned)s->port);
		if (s->ntxt) {
			fputs(",\n\t\t\"txt\": [", f);
			for (unsigned k = 0; k < s->ntxt; k++) {
				fputs(k ? ", " : " ", f);
				json_put(f, s->txt[k]);
			}
			fputs(" ]", f);
		}
		fputs("\n\t}", f);
	}
	fputs("\n}\n", f);
	if (fclose(f) == 0 && *text)
		return 0;
	free(*text);
	*text = NULL;
	return -ENOMEM;
}
