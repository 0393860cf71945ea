#include "proto/proto_err.h"

const char *proto_strerror(int err)
{
	switch (err) {
	case PROTO_OK: return "ok";
	case PROTO_ERR_TRUNCATED: return "truncated input";
	case PROTO_ERR_TYPE: return "wrong type";
	case PROTO_ERR_NONCANONICAL: return "non-canonical encoding";
	case PROTO_ERR_TRAILING: return "trailing bytes";
	case PROTO_ERR_VERSION: return "unknown format version";
	case PROTO_ERR_KIND: return "unknown record kind";
	case PROTO_ERR_FIELD_SIZE: return "field size out of its limits (too long, or empty where a value is required)";
	case PROTO_ERR_RECORD_SIZE: return "record too large";
	case PROTO_ERR_RANGE: return "number out of range";
	case PROTO_ERR_ARITY: return "wrong number of fields";
	case PROTO_ERR_UTF8: return "invalid UTF-8 or NUL in string";
	case PROTO_ERR_VALUE: return "invalid field value";
	case PROTO_ERR_NOSPACE: return "output buffer too small";
	case PROTO_ERR_ARG: return "invalid argument";
	}
	return "unknown error";
}
