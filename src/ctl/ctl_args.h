/* Argument tables of the JSON front ends of mirrornetctl (mcp, rpcd): each
 * method names its arguments once; the same table checks a call's
 * arguments and describes them (an MCP inputSchema, an rpcd signature). */
#ifndef MN_CTL_ARGS_H
#define MN_CTL_ARGS_H
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

enum ctl_arg_type { CTL_ARG_STR, CTL_ARG_INT, CTL_ARG_BOOL, CTL_ARG_STRS };

struct ctl_arg {
	const char *name;       /* NULL ends a table */
	enum ctl_arg_type type;
	bool required;
	const char *desc;
};

/* The JSON type name of an argument type ("string", "integer", "boolean",
 * "array"). */
const char *ctl_arg_type_name(enum ctl_arg_type t);

/* Check args (borrowed; NULL: none) against the table: an object, every
 * required argument present, each of its type (an array of strings for
 * CTL_ARG_STRS), no argument the table does not name. NULL when they fit,
 * else why, written into why (cap bytes) or a constant. `method` names the
 * method in the message. */
const char *ctl_args_check(const struct ctl_arg *table, const char *method,
			   struct json_object *args, char *why, size_t cap);

#endif
