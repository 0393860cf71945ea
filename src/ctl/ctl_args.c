/* Argument tables of mirrornetctl's JSON front ends (ctl_args.h). */
#include <stdio.h>
#include <string.h>
#include "src/ctl/ctl_args.h"

static const char *const type_names[] = {
	[CTL_ARG_STR] = "string", [CTL_ARG_INT] = "integer", [CTL_ARG_BOOL] = "boolean",
	[CTL_ARG_STRS] = "array",
};
static const char *const type_phrases[] = {
	[CTL_ARG_STR] = "a string", [CTL_ARG_INT] = "an integer", [CTL_ARG_BOOL] = "a boolean",
	[CTL_ARG_STRS] = "an array of strings",
};
static const json_type json_types[] = {
	[CTL_ARG_STR] = json_type_string, [CTL_ARG_INT] = json_type_int,
	[CTL_ARG_BOOL] = json_type_boolean, [CTL_ARG_STRS] = json_type_array,
};

const char *ctl_arg_type_name(enum ctl_arg_type t)
{
	return type_names[t];
}

const char *ctl_args_check(const struct ctl_arg *table, const char *method,
			   struct json_object *args, char *why, size_t cap)
{
	if (args && !json_object_is_type(args, json_type_object))
		return "arguments: an object";
	for (const struct ctl_arg *a = table; a->name; a++) {
		struct json_object *v;
		if (!args || !json_object_object_get_ex(args, a->name, &v)) {
			if (a->required) {
				snprintf(why, cap, "%s: required", a->name);
				return why;
			}
			continue;
		}
		bool ok = json_object_is_type(v, json_types[a->type]);
		for (size_t k = 0; ok && a->type == CTL_ARG_STRS && k < json_object_array_length(v); k++)
			ok = json_object_is_type(json_object_array_get_idx(v, k), json_type_string);
		if (!ok) {
			snprintf(why, cap, "%s: %s", a->name, type_phrases[a->type]);
			return why;
		}
	}
	if (args) {
		json_object_object_foreach(args, k, v) {
			(void)v;
			bool known = false;
			for (const struct ctl_arg *a = table; a->name && !known; a++)
				known = !strcmp(a->name, k);
			if (!known) {
				snprintf(why, cap, "%.64s: no such argument of %s", k, method);
				return why;
			}
		}
	}
	return NULL;
}
