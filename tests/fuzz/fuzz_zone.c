/* Fuzz the zone model built from records (src/dns/zonegen.c, fed the way
 * Vortex feeds it): the input is a sequence of `dns` record bodies, each
 * [1 byte: which earlier zone is its parent][2 bytes big-endian: length]
 * [msgpack dns body], decoded by body_decode (what a peer's bytes go
 * through) and copied into a delegation; the first whose zone is the mesh
 * domain is the apex. Properties beyond memory safety: after seal, every
 * accepted zone renders, twice with the same bytes (same model and serial,
 * same file), and every byte written to a zone file or server config is
 * printable ASCII, tab or newline — a hostile name never reaches a file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proto/body.h"
#include "src/dns/zonegen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DOMAIN "example.io"
#define MAXZ 16
#define OUTCAP (1 << 20)

static void clean(const char *what, const char *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)t[i];
		if (ch != '\n' && ch != '\t' && (ch < 0x20 || ch > 0x7e)) {
			fprintf(stderr, "property violated: byte 0x%02x at %zu of %s\n", ch, i, what);
			abort();
		}
	}
}

static void render_twice(const struct zonegen *m, const char *zone, char *a, char *b)
{
	struct zonegen_out oa = { .buf = a, .cap = OUTCAP }, ob = { .buf = b, .cap = OUTCAP };
	struct zonegen_report rep = { 0 };
	int ra = zonegen_zone(m, zone, 2026120601u, &oa, &rep);
	int rb = zonegen_zone(m, zone, 2026120601u, &ob, &rep);

	if (ra < 0 && ra != -ENOSPC && ra != -ENOMEM) {
		fprintf(stderr, "property violated: accepted zone %s does not render (%d)\n", zone, ra);
		abort();
	}
	if (ra != rb || oa.len != ob.len || memcmp(a, b, oa.len < OUTCAP ? oa.len : OUTCAP)) {
		fprintf(stderr, "property violated: zone %s renders differently twice\n", zone);
		abort();
	}
	if (ra >= 0)
		clean(zone, a, oa.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char a[OUTCAP], b[OUTCAP];
	static union body body;
	static struct zonegen_deleg d[MAXZ];
	struct zonegen *m = NULL;
	struct zonegen_report rep = { 0 };
	size_t n = 0, off = 0;

	if (zonegen_new(DOMAIN, &m) < 0)
		abort();
	while (off + 3 <= size && n < MAXZ) {
		unsigned pick = data[off];
		size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
		off += 3;
		if (len > size - off)
			len = size - off;
		if (body_decode(KIND_DNS, data + off, len, &body) == 0) {
			struct zonegen_deleg *z = &d[n];
			memset(z, 0, sizeof *z);
			snprintf(z->zone, sizeof z->zone, "%s", body.dns.zone);
			if (strcmp(z->zone, DOMAIN))
				snprintf(z->parent, sizeof z->parent, "%s",
					 pick % (n + 1) == n ? DOMAIN : d[pick % (n + 1)].zone);
			snprintf(z->delegate, sizeof z->delegate, "n%zu", n);
			memcpy(z->ns, body.dns.ns, sizeof z->ns);
			z->n_ns = body.dns.n_ns;
			z->ttl = body.dns.ttl;
			memcpy(z->names, body.dns.names, sizeof z->names);
			z->n_names = body.dns.n_names;
			if (pick & 0x80)
				snprintf(z->delegate_addr[0], sizeof z->delegate_addr[0], "10.42.0.%zu", n + 1);
			if (pick & 0x40) {   /* one exposure from the first name */
				struct zonegen_expose *x = &z->exposes[0];
				snprintf(x->service, sizeof x->service, "%s", body.dns.names[0].label);
				x->port = body.dns.names[0].port;
				x->channels = (uint8_t)(CH_MESH | ((pick & 0x20) ? CH_DNS : 0));
				snprintf(x->domain, sizeof x->domain, "%s", body.dns.ns[0].host);
				snprintf(x->entry[0], sizeof x->entry[0], "%s", body.dns.names[0].addr);
				x->n_entries = 1;
				z->n_exposes = 1;
			}
			(void)zonegen_add(m, z, &rep);   /* a refusal is a normal answer */
			n++;
		}
		off += len;
	}
	if (zonegen_seal(m, &rep) < 0)
		abort();
	for (size_t i = 0; i < zonegen_count(m); i++)
		render_twice(m, zonegen_name(m, i), a, b);
	struct zonegen_conf zc = { .dir = "/var/lib/mirrornet/dns", .listen = { "10.42.0.1" }, .n_listen = 1 };
	struct zonegen_out o = { .buf = a, .cap = OUTCAP };
	if (zonegen_knot_conf(m, NULL, 0, &zc, &o, &rep) >= 0)
		clean("knot.conf", a, o.len < OUTCAP ? o.len : OUTCAP - 1);
	o = (struct zonegen_out){ .buf = a, .cap = OUTCAP };
	if (zonegen_bind_conf(m, NULL, 0, &zc, &o, &rep) >= 0)
		clean("named.conf", a, o.len < OUTCAP ? o.len : OUTCAP - 1);
	o = (struct zonegen_out){ .buf = a, .cap = OUTCAP };
	if (zonegen_dnsmasq_conf(m, NULL, 0, &o, &rep) >= 0)
		clean("dnsmasq lines", a, o.len < OUTCAP ? o.len : OUTCAP - 1);
	clean("the report", rep.first, strlen(rep.first));
	zonegen_free(m);
	return 0;
}
