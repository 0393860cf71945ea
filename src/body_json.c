/* Schema-driven JSON for bodies and records; see body_json.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "src/body_json.h"
#include "proto/hex.h"
#include "proto/schema.h"
#include "crypto/did.h"

static struct json_object *field_to_json(const struct schema_field *f, const uint8_t *base);

static struct json_object *struct_to_json(const struct schema *sc, const uint8_t *base)
{
	struct json_object *o = json_object_new_object();

	for (size_t i = 0; o && i < sc->nfields; i++) {
		struct json_object *v = field_to_json(&sc->fields[i], base);
		if (!v) {
			json_object_put(o);
			return NULL;
		}
		json_object_object_add(o, sc->fields[i].name, v);
	}
	return o;
}

static uint64_t get_uint(const void *p, uint8_t width)
{
	uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64;

	switch (width) {
	case 1: memcpy(&u8, p, 1); return u8;
	case 2: memcpy(&u16, p, 2); return u16;
	case 4: memcpy(&u32, p, 4); return u32;
	default: memcpy(&u64, p, 8); return u64;
	}
}

static void set_uint(void *p, uint8_t width, uint64_t v)
{
	uint8_t u8 = (uint8_t)v; uint16_t u16 = (uint16_t)v; uint32_t u32 = (uint32_t)v;

	switch (width) {
	case 1: memcpy(p, &u8, 1); break;
	case 2: memcpy(p, &u16, 2); break;
	case 4: memcpy(p, &u32, 4); break;
	default: memcpy(p, &v, 8); break;
	}
}

static struct json_object *field_to_json(const struct schema_field *f, const uint8_t *base)
{
	switch (f->type) {
	case SF_UINT: {
		uint64_t v = get_uint(base + f->off, f->width);
		if (f->names && v <= f->max)
			return json_object_new_string(f->names[v]);
		return json_object_new_uint64(v);
	}
	case SF_BOOL: {
		bool v;
		memcpy(&v, base + f->off, sizeof v);
		return json_object_new_boolean(v);
	}
	case SF_STR:
		return json_object_new_string((const char *)base + f->off);
	case SF_KEY: {
		char hex[129];
		hex_encode(base + f->off, (size_t)f->max, hex);
		return json_object_new_string(hex);
	}
	case SF_LIST: {
		struct json_object *a = json_object_new_array();
		unsigned n = base[f->count_off];
		for (unsigned i = 0; a && i < n; i++) {
			const uint8_t *elem = base + f->off + (size_t)i * f->elem_size;
			struct json_object *v = f->sub->nfields == 1 ?
				field_to_json(&f->sub->fields[0], elem) : struct_to_json(f->sub, elem);
			if (!v) {
				json_object_put(a);
				return NULL;
			}
			json_object_array_add(a, v);
		}
		return a;
	}
	}
	return NULL;
}

struct json_object *body_to_json(unsigned kind, const union body *b)
{
	const struct schema *sc = body_schema(kind);

	return sc ? struct_to_json(sc, (const uint8_t *)b) : NULL;
}

#define FAIL(...) do { snprintf(err, errcap, __VA_ARGS__); return -EINVAL; } while (0)

static int struct_from_json(const struct schema *sc, struct json_object *j, uint8_t *base,
			    const char *path, char *err, size_t errcap);

/* A client's string for a message (a path or a refused value): at most 48
 * bytes, control characters as '?', so a message stays one printable line
 * wherever it goes (the API's answer, a log). */
static const char *msg_safe(const char *s, char out[52])
{
	size_t n = 0;

	for (; *s && n < 48; s++, n++)
		out[n] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
	if (*s) {
		while (n && ((unsigned char)out[n] & 0xc0) == 0x80)
			n--;   /* not in the middle of a UTF-8 character */
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

static int field_from_json(const struct schema_field *f, struct json_object *v, uint8_t *base,
			   const char *path, char *err, size_t errcap)
{
	switch (f->type) {
	case SF_UINT: {
		uint64_t x;
		if (f->names && json_object_is_type(v, json_type_string)) {
			const char *s = json_object_get_string(v);
			for (x = 0; f->names[x] && strcmp(f->names[x], s) != 0; x++)
				;
			if (!f->names[x]) {
				char vb[52];
				FAIL("%s: unknown value \"%s\"", path, msg_safe(s, vb));
			}
		} else if (json_object_is_type(v, json_type_int)) {
			if (json_object_get_int64(v) < 0)
				FAIL("%s: must not be negative", path);
			x = json_object_get_uint64(v);
		} else {
			FAIL("%s: expected a number", path);
		}
		if (x > f->max)
			FAIL("%s: %llu is above the maximum %llu", path, (unsigned long long)x,
			     (unsigned long long)f->max);
		set_uint(base + f->off, f->width, x);
		return 0;
	}
	case SF_BOOL: {
		if (!json_object_is_type(v, json_type_boolean))
			FAIL("%s: expected true or false", path);
		bool b = json_object_get_boolean(v);
		memcpy(base + f->off, &b, sizeof b);
		return 0;
	}
	case SF_STR: {
		if (!json_object_is_type(v, json_type_string))
			FAIL("%s: expected a string", path);
		const char *s = json_object_get_string(v);
		size_t n = (size_t)json_object_get_string_len(v);
		if (n > f->max)
			FAIL("%s: string longer than %llu bytes", path, (unsigned long long)f->max);
		if (n < f->min)
			FAIL("%s: must not be empty", path);
		if (!utf8_valid(s, n))
			FAIL("%s: contains NUL or invalid UTF-8", path);
		memcpy(base + f->off, s, n);
		base[f->off + n] = 0;
		return 0;
	}
	case SF_KEY: {
		if (!json_object_is_type(v, json_type_string) ||
		    hex_decode(json_object_get_string(v), base + f->off, (size_t)f->max) < 0)
			FAIL("%s: expected %u hex digits", path, (unsigned)f->max * 2);
		return 0;
	}
	case SF_LIST: {
		if (!json_object_is_type(v, json_type_array))
			FAIL("%s: expected an array", path);
		size_t n = json_object_array_length(v);
		if (n > f->max)
			FAIL("%s: more than %llu entries", path, (unsigned long long)f->max);
		for (size_t i = 0; i < n; i++) {
			char sub[160];
			uint8_t *elem = base + f->off + i * f->elem_size;
			struct json_object *e = json_object_array_get_idx(v, i);
			int rc;
			snprintf(sub, sizeof sub, "%s[%zu]", path, i);
			if (f->sub->nfields == 1)
				rc = field_from_json(&f->sub->fields[0], e, elem, sub, err, errcap);
			else
				rc = struct_from_json(f->sub, e, elem, sub, err, errcap);
			if (rc < 0)
				return rc;
		}
		base[f->count_off] = (uint8_t)n;
		return 0;
	}
	}
	FAIL("%s: unsupported field type", path);
}

static int struct_from_json(const struct schema *sc, struct json_object *j, uint8_t *base,
			    const char *path, char *err, size_t errcap)
{
	if (!json_object_is_type(j, json_type_object))
		FAIL("%s: expected an object", path[0] ? path : "body");
	json_object_object_foreach(j, name, val) {
		size_t i;
		char sub[160];
		int rc;

		for (i = 0; i < sc->nfields && strcmp(sc->fields[i].name, name) != 0; i++)
			;
		char nm[52];
		snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", msg_safe(name, nm));
		if (i == sc->nfields)
			FAIL("%s: unknown field for %s", sub, sc->name);
		if ((rc = field_from_json(&sc->fields[i], val, base, sub, err, errcap)) < 0)
			return rc;
	}
	return 0;
}

int body_from_json(unsigned kind, struct json_object *j, union body *out, char *err, size_t errcap)
{
	const struct schema *sc = body_schema(kind);

	if (!sc)
		FAIL("unknown record kind %u", kind);
	memset(out, 0, sizeof *out);
	return struct_from_json(sc, j, (uint8_t *)out, "", err, errcap);
}

struct json_object *record_to_json(const struct record *r, const union body *b,
				   const uint8_t id[32])
{
	struct json_object *o = json_object_new_object();
	char did[DID_KEY_MAX], hex[65];

	if (!o)
		return NULL;
	json_put_str(o, "kind", kind_name(r->kind));
	if (did_key_encode(DID_ED25519, r->origin, did, sizeof did) == 0)
		json_put_str(o, "origin", did);
	json_put_str(o, "key", r->key);
	json_object_object_add(o, "version", json_object_new_uint64(r->version));
	json_object_object_add(o, "expires", json_object_new_uint64(r->expires));
	json_put_bool(o, "tombstone", record_is_tombstone(r));
	if (id) {
		hex_encode(id, 32, hex);
		json_put_str(o, "id", hex);
	}
	if (b && !record_is_tombstone(r))
		json_object_object_add(o, "body", body_to_json(r->kind, b));
	return o;
}

void json_put_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

void json_put_int(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

void json_put_bool(struct json_object *o, const char *k, bool v)
{
	json_object_object_add(o, k, json_object_new_boolean(v));
}

void json_put_counters(struct json_object *o, const void *base, const char *names,
		       const uint16_t *offs, size_t n)
{
	for (size_t i = 0; i < n; i++, names += strlen(names) + 1) {
		uint64_t v;
		memcpy(&v, (const char *)base + offs[i], sizeof v);
		json_put_int(o, names, (int64_t)v);
	}
}

const char *json_get_str(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v) : NULL;
}
