/* proto/ error convention: every decoder and encoder returns 0 or a
 * negative `enum proto_err`; proto_strerror() names it. Decoders never log
 * and never exit: the caller logs at the boundary with the peer's name. */
#ifndef MN_PROTO_ERR_H
#define MN_PROTO_ERR_H

enum proto_err {
	PROTO_OK = 0,
	PROTO_ERR_TRUNCATED = -1,    /* input ends inside a value */
	PROTO_ERR_TYPE = -2,         /* a value of the wrong msgpack type */
	PROTO_ERR_NONCANONICAL = -3, /* a value not in its shortest encoding */
	PROTO_ERR_TRAILING = -4,     /* bytes after the last value */
	PROTO_ERR_VERSION = -5,      /* unknown format version */
	PROTO_ERR_KIND = -6,         /* unknown record kind */
	PROTO_ERR_FIELD_SIZE = -7,   /* a string, binary or list over (or under) its limits */
	PROTO_ERR_RECORD_SIZE = -8,  /* the whole record over MN_MAX_RECORD */
	PROTO_ERR_RANGE = -9,        /* a number outside its allowed range */
	PROTO_ERR_ARITY = -10,       /* an array with the wrong number of fields */
	PROTO_ERR_UTF8 = -11,        /* a string that is not valid UTF-8 or has NUL */
	PROTO_ERR_VALUE = -12,       /* a field whose value breaks a kind's rule */
	PROTO_ERR_NOSPACE = -13,     /* encoder: output buffer too small */
	PROTO_ERR_ARG = -14,         /* a caller passed an invalid argument */
};

/* Static string for an error code (also accepts unknown codes). */
const char *proto_strerror(int err);

#endif
