/* Configuration tables: one row per option (name, type, field, bounds,
 * default, help, whether a change needs a restart). Parsing a file, the
 * defaults, `mirrornetd -n`, the reload decision and the docs check all walk
 * the same rows, so an option is declared once. The daemon's core options
 * are a table in config.c; each subsystem brings a section of its own
 * (src/daemon/subsys.h), over a struct of its own. */
#ifndef MN_CONF_H
#define MN_CONF_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum conf_type {
	CONF_STR,      /* char[size], non-empty, shorter than size */
	CONF_UINT,     /* unsigned, min..max */
	CONF_U64,      /* uint64_t, min..max */
	CONF_YESNO,    /* bool: yes | no */
	CONF_CHOICE,   /* char[size]: one of `choices` ("a|b|c") */
	CONF_INDEX,    /* uint8_t or int (size 1 or sizeof(int)): the position in `choices` */
	CONF_FN,       /* parse and print do it all */
};

#define CONF_RESTART  1u   /* read at start only: a change waits for a restart */
#define CONF_MULTI    2u   /* may be repeated (CONF_FN) */

/* 64 bytes a row (there are ~150; docs/size.md): the first three members
 * are given in order, CONF_FIELD sets size and off, the rest by name
 * (.min/.max or .choices: they share room). */
struct conf_opt {
	const char *name;
	uint8_t type;                /* enum conf_type */
	uint8_t flags;               /* CONF_RESTART, CONF_MULTI */
	uint16_t size;               /* the field in the section's struct */
	uint32_t off;
	union {
		uint64_t min;        /* CONF_UINT, CONF_U64 */
		const char *choices; /* CONF_CHOICE, CONF_INDEX */
	};
	uint64_t max;                /* CONF_UINT, CONF_U64 */
	const char *def;             /* the default as written in a file; NULL: none
					(an empty string, or the section's defaults()) */
	const char *help;            /* the accepted values, for the error message */
	/* CONF_FN: the whole parse; other types: a further check after the
	 * typed parse (0, or -EINVAL with msg). val may be modified. */
	int (*parse)(void *sect, char *val, char *msg, size_t cap);
	/* print zero or more "name value" lines (NULL: the value, if not "") */
	void (*print)(const void *sect, const struct conf_opt *o, FILE *f);
};

struct conf_section {
	const char *name;            /* for messages and docs ("" for the core) */
	const struct conf_opt *opts;
	size_t nopts;
	size_t size;                 /* of the section's struct */
	void (*defaults)(void *sect);   /* before the rows' defaults; may be NULL */
	/* Rules across its options, once the whole file is read: 0, or
	 * -EINVAL with msg (the file is refused). May be NULL. */
	int (*check)(const void *sect, char *msg, size_t cap);
};

/* Row helpers for tables: a field of struct type T. */
#define CONF_FIELD(T, f) \
	.size = sizeof(((T *)0)->f) + 0 * sizeof(char[sizeof(((T *)0)->f) <= UINT16_MAX ? 1 : -1]), \
	.off = offsetof(T, f)

/* A path a subsystem may write under: absolute, of [A-Za-z0-9._+-/], no
 * "." or ".." parts, no final '/' (but "/" itself). For .parse checks. */
bool conf_path_ok(const char *val);

/* The row named name, or NULL. */
const struct conf_opt *conf_find(const struct conf_section *s, const char *name);
/* Zero the section, call its defaults(), then set every row's default. */
void conf_defaults(const struct conf_section *s, void *sect);
/* Set one option from its text. 0, or -EINVAL with msg ("name: help"),
 * the field unchanged (a CONF_FN row's parse sees to its own). */
int conf_set(const struct conf_section *s, void *sect, const struct conf_opt *o, char *val,
	     char *msg, size_t cap);
/* Print every row as "name value" lines (empty strings left out). */
void conf_print(const struct conf_section *s, const void *sect, FILE *f);
/* The first restart row whose value differs, or NULL. */
const struct conf_opt *conf_restart_diff(const struct conf_section *s, const void *old,
					 const void *nw);
/* The value of a typed row (not CONF_FN) as a file would write it; "" for
 * an empty string. Returns buf. */
const char *conf_value_text(const struct conf_opt *o, const void *sect, char *buf, size_t cap);

#endif
