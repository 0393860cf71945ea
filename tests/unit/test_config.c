/* The configuration table (src/daemon/conf.h, config.c) against what it
 * must agree with: every row's default parses; docs/config.md has a row for
 * every option and no other, marks the restart ones *restart* and gives the
 * defaults the table sets; the OpenWrt init script names only options and
 * restarts the daemon for exactly the restart ones. (tests/config/ has the
 * golden files of `mirrornetd -n`.) */
#define _GNU_SOURCE
#include <stdlib.h>
#include "tests/check.h"
#include "src/daemon/config.h"

static struct config_sect sects[CONFIG_MAX_SECTIONS];
static size_t nsects;

static const struct conf_opt *known(const char *name, size_t len, size_t *in)
{
	for (size_t i = 0; i < nsects; i++)
		for (size_t j = 0; j < sects[i].sect->nopts; j++) {
			const struct conf_opt *o = &sects[i].sect->opts[j];
			if (strlen(o->name) == len && !strncmp(o->name, name, len)) {
				if (in)
					*in = i;
				return o;
			}
		}
	return NULL;
}

static void test_defaults(void)
{
	char msg[200], buf[1024];
	struct config *c = malloc(sizeof *c);

	config_defaults(c);
	for (size_t i = 0; i < nsects; i++) {
		const struct conf_section *s = sects[i].sect;
		for (size_t j = 0; j < s->nopts; j++) {
			const struct conf_opt *o = &s->opts[j];
			CHECK(o->help || o->type == CONF_FN);
			CHECK(o->type == CONF_FN ? o->parse != NULL : o->size > 0);
			if (!o->def)
				continue;
			snprintf(buf, sizeof buf, "%s", o->def);
			int rc = conf_set(s, (char *)c + sects[i].off, o, buf, msg, sizeof msg);
			if (rc)
				fprintf(stderr, "default of %s does not parse: %s\n", o->name, msg);
			CHECK_INT(rc, 0);
		}
	}
	free(c);
}

/* The cell after "| `name` |" up to the next '|'. */
static void default_cell(const char *row, char *out, size_t cap)
{
	const char *a = strchr(row + 1, '|') + 1, *b = strchr(a, '|');
	snprintf(out, cap, "%.*s", b ? (int)(b - a) : 0, a);
}

static void test_docs(const char *src)
{
	char path[512], cell[512], val[512];
	snprintf(path, sizeof path, "%s/docs/config.md", src);
	char *doc = check_slurp(path);
	struct config *c = malloc(sizeof *c);

	CHECK(doc != NULL);
	if (!doc || !c) {
		free(c);
		return;
	}
	config_defaults(c);
	/* every option has a row, with its restart mark and its default */
	for (size_t i = 0; i < nsects; i++) {
		const struct conf_section *s = sects[i].sect;
		for (size_t j = 0; j < s->nopts; j++) {
			const struct conf_opt *o = &s->opts[j];
			char pat[80];
			snprintf(pat, sizeof pat, "\n| `%s` |", o->name);
			const char *row = strstr(doc, pat);
			if (!row)
				fprintf(stderr, "docs/config.md: no row for option %s\n", o->name);
			CHECK(row != NULL);
			if (!row)
				continue;
			row++;
			const char *eol = strchr(row, '\n');
			bool marked = memmem(row, (size_t)(eol - row), "*restart*", 9) != NULL;
			/* the engine's table says so once for all */
			if (strcmp(s->name, "engine"))
				CHECK_INT(marked, (o->flags & CONF_RESTART) != 0);
			else
				CHECK(o->flags & CONF_RESTART);
			if (o->type == CONF_FN || !*conf_value_text(o, (char *)c + sects[i].off, val,
								     sizeof val))
				continue;
			default_cell(row, cell, sizeof cell);
			if (!strstr(cell, val))
				fprintf(stderr, "docs/config.md: %s defaults to %s, the docs say%s\n",
					o->name, val, cell);
			CHECK(strstr(cell, val) != NULL);
		}
	}
	/* ... and no row names anything else (a build without some subsystems,
	 * -Dsubsystems, lacks their options: it checks the rows it has) */
	for (const char *p = MN_ALL_SUBSYSTEMS ? strstr(doc, "\n| `") : NULL; p; p = strstr(p + 1, "\n| `")) {
		const char *n = p + 4, *e = strchr(n, '`');
		if (!e)
			break;
		if (!known(n, (size_t)(e - n), NULL))
			fprintf(stderr, "docs/config.md: a row for '%.*s', not an option\n", (int)(e - n), n);
		CHECK(known(n, (size_t)(e - n), NULL) != NULL);
	}
	free(doc);
	free(c);
}

/* Words of a shell variable's value in the init script: MN_X='a b c' or a
 * regex '^...(a|b|c)[...' */
static void test_openwrt(const char *src)
{
	char path[512];
	snprintf(path, sizeof path, "%s/openwrt/mirrornet/files/mirrornet.init", src);
	char *sh = check_slurp(path);
	const char *vars[] = { "MN_SCALARS='", "MN_LISTS='", "MN_RESTART='" };
	size_t nrestart = 0, want = 0;

	CHECK(sh != NULL);
	if (!sh)
		return;
	for (size_t v = 0; v < 3; v++) {
		const char *p = strstr(sh, vars[v]);
		CHECK(p != NULL);
		if (!p)
			continue;
		p += strlen(vars[v]);
		if (v == 2)
			p = strchr(p, '(') + 1;
		const char *end = strchr(p, v == 2 ? ')' : '\'');
		while (p < end) {
			size_t n = strcspn(p, " \n|)'");
			if (n) {
				const struct conf_opt *o = known(p, n, NULL);
				if (!o)
					fprintf(stderr, "mirrornet.init %s names '%.*s', not an option\n",
						vars[v], (int)n, p);
				CHECK(o != NULL);
				if (v == 2 && o) {
					if (!(o->flags & CONF_RESTART))
						fprintf(stderr, "mirrornet.init restarts for %s, which reloads\n",
							o->name);
					CHECK(o->flags & CONF_RESTART);
					nrestart++;
				}
			}
			p += n + (p[n] != 0);
		}
	}
	for (size_t i = 0; i < nsects; i++)
		for (size_t j = 0; j < sects[i].sect->nopts; j++)
			want += (sects[i].sect->opts[j].flags & CONF_RESTART) != 0;
	CHECK_INT(nrestart, want);
	free(sh);
}

int main(void)
{
	const char *src = getenv("MN_SOURCE");

	nsects = config_sections(sects, CONFIG_MAX_SECTIONS);
	CHECK(nsects >= 2);
	test_defaults();
	test_docs(src ? src : ".");
	if (MN_ALL_SUBSYSTEMS)   /* (the init script names every subsystem's options) */
		test_openwrt(src ? src : ".");
	return check_exit();
}
