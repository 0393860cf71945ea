/* Policy-table codec; see schema.h. */
#include <string.h>
#include "proto/schema.h"
#include "proto/proto_err.h"

bool utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t k;
		uint32_t cp;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			k = 1; cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2; cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3; cp = c & 0x07;
		} else {
			return false;
		}
		if (k > n - i - 1)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += k + 1;
	}
	return true;
}

static void store_uint(void *p, uint8_t width, uint64_t v)
{
	switch (width) {
	case 1: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
	case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
	default: memcpy(p, &v, 8); break;
	}
}

static uint64_t load_uint(const void *p, uint8_t width)
{
	switch (width) {
	case 1: { uint8_t x; memcpy(&x, p, 1); return x; }
	case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
	case 4: { uint32_t x; memcpy(&x, p, 4); return x; }
	default: { uint64_t x; memcpy(&x, p, 8); return x; }
	}
}

static int read_field(const struct schema_field *f, struct mp_reader *r, uint8_t *base)
{
	int err;

	switch (f->type) {
	case SF_UINT: {
		uint64_t v;
		if ((err = mp_read_uint(r, &v)) < 0)
			return err;
		if (v > f->max)
			return PROTO_ERR_RANGE;
		store_uint(base + f->off, f->width, v);
		return 0;
	}
	case SF_BOOL: {
		bool v;
		if ((err = mp_read_bool(r, &v)) < 0)
			return err;
		memcpy(base + f->off, &v, sizeof v);
		return 0;
	}
	case SF_STR: {
		const char *s;
		size_t n;
		if ((err = mp_read_str(r, &s, &n)) < 0)
			return err;
		if (n > f->max || n < f->min)
			return PROTO_ERR_FIELD_SIZE;
		if (!utf8_valid(s, n))
			return PROTO_ERR_UTF8;
		memcpy(base + f->off, s, n);
		base[f->off + n] = 0;
		return 0;
	}
	case SF_KEY: {
		const uint8_t *b;
		size_t n;
		if ((err = mp_read_bin(r, &b, &n)) < 0)
			return err;
		if (n != f->max)
			return PROTO_ERR_FIELD_SIZE;
		memcpy(base + f->off, b, n);
		return 0;
	}
	case SF_LIST: {
		uint32_t n;
		bool flat = f->sub->nfields == 1;
		if ((err = mp_read_array(r, &n)) < 0)
			return err;
		if (n > f->max)
			return PROTO_ERR_FIELD_SIZE;
		for (uint32_t i = 0; i < n; i++) {
			uint8_t *elem = base + f->off + (size_t)i * f->elem_size;
			err = flat ? read_field(&f->sub->fields[0], r, elem)
				   : schema_read(f->sub, r, elem);
			if (err < 0)
				return err;
		}
		base[f->count_off] = (uint8_t)n;
		return 0;
	}
	}
	return PROTO_ERR_ARG;
}

int schema_read(const struct schema *sc, struct mp_reader *r, void *out)
{
	uint32_t n;
	int err;

	memset(out, 0, sc->size);
	if ((err = mp_read_array(r, &n)) < 0)
		return err;
	if (n != sc->nfields)
		return PROTO_ERR_ARITY;
	for (size_t i = 0; i < sc->nfields; i++)
		if ((err = read_field(&sc->fields[i], r, out)) < 0)
			return err;
	return sc->check ? sc->check(out) : 0;
}

static int write_field(const struct schema_field *f, struct mp_writer *w, const uint8_t *base)
{
	int err;

	switch (f->type) {
	case SF_UINT: {
		uint64_t v = load_uint(base + f->off, f->width);
		if (v > f->max)
			return PROTO_ERR_RANGE;
		mp_write_uint(w, v);
		return 0;
	}
	case SF_BOOL: {
		bool v;
		memcpy(&v, base + f->off, sizeof v);
		mp_write_bool(w, v);
		return 0;
	}
	case SF_STR: {
		const char *s = (const char *)base + f->off;
		size_t n = strnlen(s, f->max + 1);
		if (n > f->max || n < f->min)
			return PROTO_ERR_FIELD_SIZE;
		if (!utf8_valid(s, n))
			return PROTO_ERR_UTF8;
		mp_write_str(w, s, n);
		return 0;
	}
	case SF_KEY:
		mp_write_bin(w, base + f->off, (size_t)f->max);
		return 0;
	case SF_LIST: {
		uint8_t n = base[f->count_off];
		bool flat = f->sub->nfields == 1;
		if (n > f->max)
			return PROTO_ERR_FIELD_SIZE;
		mp_write_array(w, n);
		for (unsigned i = 0; i < n; i++) {
			const uint8_t *elem = base + f->off + (size_t)i * f->elem_size;
			err = flat ? write_field(&f->sub->fields[0], w, elem)
				   : schema_write(f->sub, w, elem);
			if (err < 0)
				return err;
		}
		return 0;
	}
	}
	return PROTO_ERR_ARG;
}

int schema_write(const struct schema *sc, struct mp_writer *w, const void *in)
{
	const uint8_t *base = in;
	int err;

	/* list counts first: check() may walk the lists */
	for (size_t i = 0; i < sc->nfields; i++)
		if (sc->fields[i].type == SF_LIST && base[sc->fields[i].count_off] > sc->fields[i].max)
			return PROTO_ERR_FIELD_SIZE;
	if (sc->check && (err = sc->check(in)) < 0)
		return err;
	mp_write_array(w, (uint32_t)sc->nfields);
	for (size_t i = 0; i < sc->nfields; i++)
		if ((err = write_field(&sc->fields[i], w, in)) < 0)
			return err;
	return 0;
}

int schema_decode(const struct schema *sc, const uint8_t *buf, size_t len, void *out)
{
	struct mp_reader r;
	int err;

	mp_reader_init(&r, buf, len);
	if ((err = schema_read(sc, &r, out)) < 0)
		return err;
	return mp_read_end(&r);
}

int schema_encode(const struct schema *sc, const void *in, uint8_t *buf, size_t cap,
		  size_t *len)
{
	struct mp_writer w;
	int err;

	mp_writer_init(&w, buf, cap);
	if ((err = schema_write(sc, &w, in)) < 0)
		return err;
	return mp_writer_finish(&w, len);
}
