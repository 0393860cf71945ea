/* The backup bulk channel's frames (docs/backup.md, "The bulk channel").
 *
 * A frame is  type (1 byte) ‖ length (uint32, big-endian) ‖ payload.
 * Control frames carry a msgpack array (one policy table each, canonical)
 * of at most BK_CTRL_MAX bytes; DATA frames carry raw snapshot bytes, at
 * most BK_DATA_MAX. A reader never holds more than one frame: its buffer
 * is BK_FRAME_MAX bytes whatever the snapshot's size.
 *
 * Exchange (client = the box that connects):
 *   c→s HELLO {v, pk, nonce}          s→c CHALLENGE {pk, nonce, sig}
 *   c→s AUTH {sig}                    s→c READY {}
 *   then requests, one at a time:
 *   c→s PUT {owner, hash, size, offset 0, time, sig}
 *        s→c OK {have}  c→s DATA… (from `have` to `size`)  s→c RECEIPT {sig}
 *   c→s GET {owner, hash, size 0, offset, time, sig}
 *        s→c OK {size}  s→c DATA… (from `offset` to `size`)
 *   any time: ERR {code, message}, and the connection closes.
 * Signatures (crypto/sign.h contexts) are in bkauth_* (crypto/bkauth.c). */
#ifndef MN_BKWIRE_H
#define MN_BKWIRE_H
#include <stddef.h>
#include <stdint.h>
#include "proto/limits.h"

#define BK_VERSION 1
#define BK_HDR 5
#define BK_CTRL_MAX 1024
#define BK_DATA_MAX 65536
#define BK_FRAME_MAX (BK_HDR + BK_DATA_MAX)
#define BK_NONCE_LEN 32

enum bk_type {
	BK_HELLO = 1, BK_CHALLENGE = 2, BK_AUTH = 3, BK_READY = 4, BK_PUT = 5, BK_GET = 6,
	BK_OK = 7, BK_DATA = 8, BK_RECEIPT = 9, BK_ERR = 10,
};

/* ERR codes: what the holder refused (each counted in its status). */
enum bk_code {
	BK_E_PROTO = 1,       /* a malformed or unexpected frame */
	BK_E_AUTH = 2,        /* a signature that does not verify */
	BK_E_MEMBER = 3,      /* not a current member with a valid chain */
	BK_E_STALE = 4,       /* a request's time outside the window (a replay) */
	BK_E_QUOTA = 5,       /* over the owner's quota or the space offered */
	BK_E_TOO_LONG = 6,    /* more bytes than the PUT declared */
	BK_E_HASH = 7,        /* the bytes received do not hash to the PUT's hash */
	BK_E_NOT_FOUND = 8,   /* GET of a blob not held */
	BK_E_OWNER = 9,       /* PUT for someone else's snapshot */
	BK_E_BUSY = 10,       /* too many connections, or the blob is being written */
	BK_E_IO = 11,         /* the holder's disk failed */
};
const char *bk_code_name(unsigned code);

struct bk_hello { uint8_t v; uint8_t pk[MN_KEY_LEN]; uint8_t nonce[BK_NONCE_LEN]; };
struct bk_challenge { uint8_t pk[MN_KEY_LEN]; uint8_t nonce[BK_NONCE_LEN]; uint8_t sig[MN_SIG_LEN]; };
struct bk_sig { uint8_t sig[MN_SIG_LEN]; };
/* PUT and GET */
struct bk_req {
	uint8_t owner[MN_KEY_LEN];
	uint8_t hash[MN_HASH_LEN];
	uint64_t size;                    /* PUT: the snapshot's bytes */
	uint64_t offset;                  /* GET: where to start (resume) */
	uint64_t time;                    /* unix ms at the client */
	uint8_t sig[MN_SIG_LEN];
};
struct bk_ok { uint64_t n; };
struct bk_err { uint8_t code; char message[MN_MAX_TEXT + 1]; };

/* The frame at the start of buf: 0 with *type, *payload, *n and *used,
 * -EAGAIN-like PROTO_ERR_TRUNCATED (need more), or PROTO_ERR_VALUE (an
 * unknown type, or a length over its type's limit: close). */
int bk_frame_get(const uint8_t *buf, size_t len, uint8_t *type, const uint8_t **payload,
		 size_t *n, size_t *used);
/* Write a frame header for n payload bytes. */
void bk_frame_hdr(uint8_t out[BK_HDR], uint8_t type, size_t n);

/* Control payloads: decode (whole buffer) and encode a frame (header +
 * payload) into out (BK_HDR + BK_CTRL_MAX always fits). 0 or proto_err. */
int bk_decode(uint8_t type, const uint8_t *p, size_t n, void *out);
int bk_encode(uint8_t type, const void *in, uint8_t *out, size_t cap, size_t *len);
/* The signed part of a request (everything but sig), for bkauth. */
size_t bk_req_tbs(uint8_t type, const struct bk_req *q, uint8_t out[1 + 32 + 32 + 24]);

#endif
