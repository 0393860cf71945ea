/* docs/records.md describes every field of every policy table: each kind
 * has a "### <kind>" section naming each field as `field` (fields of list
 * elements too, except one-field elements, which are plain values). */
#include <stdlib.h>
#include "tests/check.h"
#include "proto/body.h"

static void check_fields(const struct schema *sc, const char *sec, size_t len, const char *kind)
{
	for (size_t i = 0; i < sc->nfields; i++) {
		const struct schema_field *f = &sc->fields[i];
		char pat[80];
		snprintf(pat, sizeof pat, "`%s`", f->name);
		const char *hit = strstr(sec, pat);
		if (!hit || hit >= sec + len)
			fprintf(stderr, "docs/records.md: section '%s' does not describe field %s\n", kind, pat);
		CHECK(hit && hit < sec + len);
		if (f->type == SF_LIST && f->sub->nfields > 1)
			check_fields(f->sub, sec, len, kind);
	}
}

int main(void)
{
	const char *src = getenv("MN_SOURCE");
	char path[1024];

	snprintf(path, sizeof path, "%s/docs/records.md", src ? src : ".");
	char *doc = check_slurp(path);
	CHECK(doc != NULL);
	if (!doc)
		return check_exit();
	for (unsigned k = KIND_MIN; k <= KIND_MAX; k++) {
		char head[40];
		snprintf(head, sizeof head, "\n### %s\n", kind_name(k));
		const char *sec = strstr(doc, head);
		if (!sec)
			fprintf(stderr, "docs/records.md: no section for kind '%s'\n", kind_name(k));
		CHECK(sec != NULL);
		if (!sec)
			continue;
		const char *end = strstr(sec + 1, "\n### ");
		size_t len = end ? (size_t)(end - sec) : strlen(sec);
		check_fields(body_schema(k), sec, len, kind_name(k));
	}
	free(doc);
	return check_exit();
}
