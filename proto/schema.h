/* Policy tables: the one description of every record body, used both to
 * decode and to encode, so the two cannot disagree and encoding is
 * canonical by construction.
 *
 * A schema is an ordered list of fields; on the wire a struct is a msgpack
 * array with exactly one element per field, in table order (positional, no
 * field names on the wire). A field names its C type, where it lives in the
 * struct (offsetof) and its limits:
 *
 *   SF_UINT  uint8/16/32/64_t (width = field size), value <= max; an
 *            enum (SF_E) also names its values, for JSON and docs
 *   SF_BOOL  bool
 *   SF_STR   char[max+1], NUL-terminated; UTF-8, no NUL, length <= max
 *            (and >= min)
 *   SF_KEY   uint8_t[N] as an N-byte bin (N = max = the array's size: keys,
 *            secrets, signatures)
 *   SF_LIST  an array of at most max elements of `sub`, stored as
 *            `elem[max]` at off and a uint8_t count at count_off; a sub
 *            schema with one field is encoded flat (the element itself,
 *            not a one-element array)
 *
 * After a struct is decoded, the schema's check() (if any) enforces rules
 * that span fields; it returns 0 or PROTO_ERR_VALUE. */
#ifndef MN_SCHEMA_H
#define MN_SCHEMA_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "proto/mpack.h"

enum schema_ftype { SF_UINT, SF_BOOL, SF_STR, SF_KEY, SF_LIST };

struct schema;

struct schema_field {
	const char *name;        /* for docs, JSON and error reports */
	enum schema_ftype type;
	uint16_t off;            /* offsetof() the value in the struct */
	uint8_t width;           /* SF_UINT: sizeof the integer */
	uint16_t count_off;      /* SF_LIST: offsetof() the uint8_t count */
	uint16_t elem_size;      /* SF_LIST: sizeof one element */
	uint32_t min;            /* SF_STR: minimum length */
	uint64_t max;            /* SF_UINT max value; SF_STR max length; SF_LIST max count;
				    SF_KEY the exact length (<= 64) */
	union {
		const struct schema *sub;  /* SF_LIST element schema */
		const char *const *names;  /* SF_UINT enums: names by value, for JSON/docs */
	};
};

struct schema {
	const char *name;
	const struct schema_field *fields;
	size_t nfields;
	size_t size;             /* sizeof the struct */
	int (*check)(const void *s);
};

/* Decode exactly one value from r into `out` (zeroed first). */
int schema_read(const struct schema *sc, struct mp_reader *r, void *out);
/* Append `in` to w. Values over a limit give PROTO_ERR_FIELD_SIZE or
 * PROTO_ERR_RANGE so that the encoder never emits what the decoder rejects. */
int schema_write(const struct schema *sc, struct mp_writer *w, const void *in);

/* Whole-buffer convenience: decode rejects trailing bytes. */
int schema_decode(const struct schema *sc, const uint8_t *buf, size_t len, void *out);
int schema_encode(const struct schema *sc, const void *in, uint8_t *buf, size_t cap,
		  size_t *len);

/* UTF-8 validity without NUL; exported for the JSON layer. */
bool utf8_valid(const char *s, size_t n);

/* Field declaration helpers for the tables in proto/<kind>.c. */
#define SF_U(T, f, mx) { #f, SF_UINT, offsetof(T, f), sizeof(((T *)0)->f), 0, 0, 0, (mx), { NULL } }
#define SF_E(T, f, mx, nm) { #f, SF_UINT, offsetof(T, f), sizeof(((T *)0)->f), 0, 0, 0, (mx), { .names = (nm) } }
#define SF_B(T, f) { #f, SF_BOOL, offsetof(T, f), 0, 0, 0, 0, 0, { NULL } }
#define SF_S(T, f, mn) { #f, SF_STR, offsetof(T, f), 0, 0, 0, (mn), sizeof(((T *)0)->f) - 1, { NULL } }
#define SF_K(T, f) { #f, SF_KEY, offsetof(T, f), 0, 0, 0, 0, sizeof(((T *)0)->f), { NULL } }
#define SF_L(T, f, cnt, sc) { #f, SF_LIST, offsetof(T, f), 0, offsetof(T, cnt), \
	sizeof(((T *)0)->f[0]), 0, sizeof(((T *)0)->f) / sizeof(((T *)0)->f[0]), { .sub = (sc) } }
#define SCHEMA(T, nm, tbl, chk) { nm, tbl, sizeof(tbl) / sizeof(tbl[0]), sizeof(T), chk }

#endif
