/* Kind registry and field rules shared by the body tables. */
#include <string.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include "proto/body.h"
#include "proto/proto_err.h"

static const struct {
	const char *name;
	const struct schema *schema;
} kinds[KIND_MAX + 1] = {
	[KIND_NODE] = { "node", &node_schema },
	[KIND_CERT] = { "cert", &cert_schema },
	[KIND_REVOKE] = { "revoke", &revoke_schema },
	[KIND_DNS] = { "dns", &dns_schema },
	[KIND_EXPOSE] = { "expose", &expose_schema },
	[KIND_IOC] = { "ioc", &ioc_schema },
	[KIND_SVC] = { "svc", &svc_schema },
	[KIND_BACKUP] = { "backup", &backup_schema },
	[KIND_ENDPOINT] = { "endpoint", &endpoint_schema },
};

const char *const role_names[] = { "peer", "sub-master", "master", NULL };
const char *const ioc_scope_names[] = { "ip", "range", "domain", "url", "hash", NULL };
const char *const ioc_action_names[] = { "ban", "captcha", "log", NULL };
const char *const expose_proto_names[] = { "http", "tls", "tcp", NULL };

const struct schema *body_schema(unsigned kind)
{
	return kind >= KIND_MIN && kind <= KIND_MAX ? kinds[kind].schema : NULL;
}

const char *kind_name(unsigned kind)
{
	return kind >= KIND_MIN && kind <= KIND_MAX ? kinds[kind].name : NULL;
}

int kind_from_name(const char *name)
{
	for (unsigned k = KIND_MIN; k <= KIND_MAX; k++)
		if (strcmp(kinds[k].name, name) == 0)
			return (int)k;
	return -1;
}

int body_decode(unsigned kind, const uint8_t *buf, size_t len, union body *out)
{
	const struct schema *sc = body_schema(kind);

	if (!sc)
		return PROTO_ERR_KIND;
	if (len > MN_MAX_BODY)
		return PROTO_ERR_FIELD_SIZE;
	return schema_decode(sc, buf, len, out);
}

int body_encode(unsigned kind, const union body *in, uint8_t *buf, size_t cap, size_t *len)
{
	const struct schema *sc = body_schema(kind);
	int err;

	if (!sc)
		return PROTO_ERR_KIND;
	/* never produce a body the decoder would refuse */
	bool limited = cap >= MN_MAX_BODY;
	err = schema_encode(sc, in, buf, limited ? MN_MAX_BODY : cap, len);
	return err == PROTO_ERR_NOSPACE && limited ? PROTO_ERR_RECORD_SIZE : err;
}

/* Lower-case LDH labels (plus '_' for SRV-style labels), 1..63 bytes each,
 * no empty label, no trailing dot: one spelling per name, so a name is
 * also a canonical store key. */
bool dns_name_valid(const char *name, bool allow_empty)
{
	size_t n = strlen(name), label = 0;

	if (n == 0)
		return allow_empty;
	if (n > MN_MAX_DOMAIN)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = name[i];
		if (c == '.' || c == 0) {
			if (label == 0 || name[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
			  (c == '-' && label > 0);
		if (!ok || ++label > 63)
			return false;
	}
	return true;
}

bool dns_name_lower(const char *name)
{
	if (!dns_name_valid(name, false))
		return false;
	for (; *name; name++)
		if ((*name >= 'A' && *name <= 'Z') || *name == '_')
			return false;
	return true;
}

bool addr_valid(const char *addr, bool allow_prefix)
{
	char tmp[MN_MAX_ADDR + 1];
	unsigned char bin[16];
	size_t n = strlen(addr);
	const char *slash;

	if (n == 0 || n > MN_MAX_ADDR)
		return false;
	memcpy(tmp, addr, n + 1);
	slash = strchr(tmp, '/');
	int maxp = strchr(tmp, ':') ? 128 : 32;
	if (slash) {
		char *end;
		if (!allow_prefix || slash[1] < '0' || slash[1] > '9')
			return false;
		long p = strtol(slash + 1, &end, 10);
		if (*end || p > maxp || (slash[1] == '0' && slash[2]))
			return false;
		tmp[slash - tmp] = 0;
	}
	/* one spelling per address: the text must be inet_ntop's own */
	char back[INET6_ADDRSTRLEN];
	int af = maxp == 128 ? AF_INET6 : AF_INET;
	if (inet_pton(af, tmp, bin) != 1 || !inet_ntop(af, bin, back, sizeof back))
		return false;
	return strcmp(back, tmp) == 0;
}
