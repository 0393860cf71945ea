/* Every size limit of the wire format, in one place (docs/records.md
 * explains each). A decoder rejects anything over them with
 * PROTO_ERR_FIELD_SIZE or PROTO_ERR_RECORD_SIZE. */
#ifndef MN_LIMITS_H
#define MN_LIMITS_H

#define MN_KEY_LEN 32        /* Ed25519 public key, WireGuard key */
#define MN_SIG_LEN 64        /* Ed25519 signature */
#define MN_HASH_LEN 32       /* BLAKE2b-256 */

#define MN_MAX_RECORD 8192   /* a whole signed record on the wire */
#define MN_MAX_BODY 7680     /* the body inside it */
#define MN_MAX_RKEY 128      /* a record's key (str) */
#define MN_MAX_NAME 63       /* a node, service or DNS label */
#define MN_MAX_DOMAIN 253    /* a DNS name */
#define MN_MAX_ADDR 49       /* an IPv4/IPv6 address, optionally /prefix */
#define MN_MAX_ENDPOINT 261  /* host:port, host being a DNS name or [v6] */
#define MN_MAX_SHORT 31      /* versions, capability and attribute names */
#define MN_MAX_TEXT 255      /* free text: reasons, attribute values */
#define MN_MAX_IOC_VALUE 512 /* an indicator value (a URL can be long) */
#define MN_MAX_SCENARIO 127

#define MN_MAX_ENDPOINTS 8
#define MN_MAX_CAPS 16
#define MN_MAX_NS 8
#define MN_MAX_DNS_NAMES 32
#define MN_MAX_MIRRORS 8
#define MN_MAX_IOCS 32
#define MN_MAX_ATTRS 16
#define MN_MAX_HOLDERS 16
#define MN_MAX_SEEN 24        /* observed endpoints per endpoint record */
#define MN_MAX_DEPTH 15      /* hard cap on certificate depth/max_depth */

#endif
