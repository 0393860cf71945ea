/* Configuration tables: see conf.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "src/daemon/conf.h"

const struct conf_opt *conf_find(const struct conf_section *s, const char *name)
{
	for (size_t i = 0; i < s->nopts; i++)
		if (!strcmp(s->opts[i].name, name))
			return &s->opts[i];
	return NULL;
}

bool conf_path_ok(const char *val)
{
	size_t n = strlen(val);

	return val[0] == '/' &&
	       strspn(val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-/") == n &&
	       !strstr(val, "/../") && !strstr(val, "/./") && (n == 1 || val[n - 1] != '/');
}

/* The position of val in "a|b|c", or -1. */
static int choice_index(const char *choices, const char *val)
{
	size_t n = strlen(val);
	int i = 0;

	for (const char *p = choices; *p; i++) {
		size_t l = strcspn(p, "|");
		if (l == n && !strncmp(p, val, n))
			return i;
		p += l + (p[l] == '|');
	}
	return -1;
}

/* The i-th of "a|b|c" into buf ("" if none). */
static const char *choice_name(const char *choices, int i, char *buf, size_t cap)
{
	const char *p = choices;

	for (; i > 0 && *p; i--)
		p += strcspn(p, "|") + (p[strcspn(p, "|")] == '|');
	snprintf(buf, cap, "%.*s", (int)strcspn(p, "|"), p);
	return buf;
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int set_typed(const struct conf_opt *o, char *f, const char *val)
{
	uint64_t u;
	int i;

	switch (o->type) {
	case CONF_STR:   /* zero-filled: restart_diff compares whole fields */
		if (!*val || strlen(val) >= o->size)
			return -EINVAL;
		memset(f, 0, o->size);
		memcpy(f, val, strlen(val));
		return 0;
	case CONF_UINT:
		if (parse_u64(val, o->min, o->max, &u) < 0 || u > UINT32_MAX)
			return -EINVAL;
		*(unsigned *)(void *)f = (unsigned)u;
		return 0;
	case CONF_U64:
		if (parse_u64(val, o->min, o->max, &u) < 0)
			return -EINVAL;
		memcpy(f, &u, sizeof u);
		return 0;
	case CONF_YESNO:
		if (strcmp(val, "yes") && strcmp(val, "no"))
			return -EINVAL;
		*(bool *)(void *)f = !strcmp(val, "yes");
		return 0;
	case CONF_CHOICE:
		if (choice_index(o->choices, val) < 0 || strlen(val) >= o->size)
			return -EINVAL;
		memset(f, 0, o->size);
		memcpy(f, val, strlen(val));
		return 0;
	case CONF_INDEX:
		if ((i = choice_index(o->choices, val)) < 0)
			return -EINVAL;
		if (o->size == 1)
			*(uint8_t *)f = (uint8_t)i;
		else
			*(int *)(void *)f = i;
		return 0;
	case CONF_FN:
		break;
	}
	return -EINVAL;
}

int conf_set(const struct conf_section *s, void *sect, const struct conf_opt *o, char *val,
	     char *msg, size_t cap)
{
	char *f = (char *)sect + o->off, *old = NULL;

	(void)s;
	if (o->type == CONF_FN)
		return o->parse(sect, val, msg, cap) < 0 ? -EINVAL : 0;
	/* a bad value leaves the field as it was */
	if (!(old = malloc(o->size))) {
		snprintf(msg, cap, "%s: out of memory", o->name);
		return -ENOMEM;
	}
	memcpy(old, f, o->size);
	int rc = 0;
	if (set_typed(o, f, val) < 0) {
		snprintf(msg, cap, "%s: %s", o->name, o->help);
		rc = -EINVAL;
	} else if (o->parse && o->parse(sect, val, msg, cap) < 0) {
		rc = -EINVAL;
	}
	if (rc)
		memcpy(f, old, o->size);
	free(old);
	return rc;
}

void conf_defaults(const struct conf_section *s, void *sect)
{
	char msg[160], buf[1024];

	memset(sect, 0, s->size);
	if (s->defaults)
		s->defaults(sect);
	for (size_t i = 0; i < s->nopts; i++) {
		const struct conf_opt *o = &s->opts[i];
		if (!o->def)
			continue;
		snprintf(buf, sizeof buf, "%s", o->def);
		/* a table's own default always parses (test_config checks) */
		(void)conf_set(s, sect, o, buf, msg, sizeof msg);
	}
}

const char *conf_value_text(const struct conf_opt *o, const void *sect, char *buf, size_t cap)
{
	const char *f = (const char *)sect + o->off;
	uint64_t u;

	buf[0] = 0;
	switch (o->type) {
	case CONF_STR:
	case CONF_CHOICE:
		snprintf(buf, cap, "%s", f);
		break;
	case CONF_UINT:
		snprintf(buf, cap, "%u", *(const unsigned *)(const void *)f);
		break;
	case CONF_U64:
		memcpy(&u, f, sizeof u);
		snprintf(buf, cap, "%llu", (unsigned long long)u);
		break;
	case CONF_YESNO:
		snprintf(buf, cap, "%s", *(const bool *)(const void *)f ? "yes" : "no");
		break;
	case CONF_INDEX:
		choice_name(o->choices, o->size == 1 ? *(const uint8_t *)f : *(const int *)(const void *)f,
			    buf, cap);
		break;
	case CONF_FN:
		break;
	}
	return buf;
}

void conf_print(const struct conf_section *s, const void *sect, FILE *f)
{
	char buf[1024];

	for (size_t i = 0; i < s->nopts; i++) {
		const struct conf_opt *o = &s->opts[i];
		if (o->print) {
			o->print(sect, o, f);
		} else if (*conf_value_text(o, sect, buf, sizeof buf)) {
			fprintf(f, "%s %s\n", o->name, buf);
		}
	}
}

const struct conf_opt *conf_restart_diff(const struct conf_section *s, const void *old,
					 const void *nw)
{
	for (size_t i = 0; i < s->nopts; i++) {
		const struct conf_opt *o = &s->opts[i];
		if ((o->flags & CONF_RESTART) &&
		    memcmp((const char *)old + o->off, (const char *)nw + o->off, o->size))
			return o;
	}
	return NULL;
}
