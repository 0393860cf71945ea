/* The header of an encrypted backup snapshot (docs/backup.md, "Container").
 *
 * A snapshot file is
 *     "MNBK" ‖ hlen (uint16, big-endian) ‖ header (hlen bytes) ‖ chunks
 * where the header is a msgpack array (positional, canonical, like record
 * bodies) and the chunks are a libsodium secretstream: the plaintext cut
 * into `chunk`-byte pieces (the last one shorter, one empty chunk for an
 * empty file), each followed by its 17-byte tag, the last one marked FINAL.
 * The header says how big the plaintext is, so the whole file's size is
 * known from its first bytes (snap_total_size): a holder or a puller
 * refuses a stream longer than that before storing a byte of the excess.
 *
 * Pure: bytes in, struct out; no I/O, no crypto (crypto/snapshot.c seals
 * and opens). Holders never decode this: they store opaque ciphertext; the
 * owner, a puller and a restore do. */
#ifndef MN_SNAPHDR_H
#define MN_SNAPHDR_H
#include <stddef.h>
#include <stdint.h>
#include "proto/limits.h"

#define SNAP_MAGIC "MNBK"
#define SNAP_PREFIX_LEN 6            /* magic + hlen */
#define SNAP_VERSION 1
#define SNAP_HEADER_MAX 2048         /* hlen at most */
#define SNAP_MAX_RECIPIENTS 8        /* the owner + up to 7 recovery keys */
#define SNAP_SEALED_LEN 80           /* crypto_box_seal of a 32-byte key */
#define SNAP_SS_HEADER_LEN 24        /* secretstream header */
#define SNAP_TAG_LEN 17              /* secretstream ABYTES */
#define SNAP_CHUNK_MIN 4096
#define SNAP_CHUNK_MAX (1u << 20)
#define SNAP_CHUNK_DEFAULT 65536
#define SNAP_MAX_PLAIN (1ull << 40)  /* 1 TiB: bounds every size computation */

struct snap_recipient {
	uint8_t pk[MN_KEY_LEN];          /* an X25519 public key */
	uint8_t sealed[SNAP_SEALED_LEN]; /* the snapshot key, crypto_box_seal'ed to pk */
};

struct snap_header {
	uint8_t v;                       /* SNAP_VERSION */
	uint8_t owner[MN_KEY_LEN];       /* the owner's Ed25519 node key */
	char name[MN_MAX_NAME + 1];      /* the snapshot's name (snap_name_ok) */
	uint64_t created;                /* unix seconds */
	uint64_t plain_size;             /* bytes of plaintext, <= SNAP_MAX_PLAIN */
	uint32_t chunk;                  /* SNAP_CHUNK_MIN..SNAP_CHUNK_MAX */
	uint8_t ss_header[SNAP_SS_HEADER_LEN];
	struct snap_recipient rcpt[SNAP_MAX_RECIPIENTS];
	uint8_t n_rcpt;                  /* 1.. */
};

/* A snapshot name: 1..63 bytes of [A-Za-z0-9._-], not starting with '.'
 * or '-' (so never "..", a path or an option). */
int snap_name_ok(const char *s);

/* Decode the prefix and header at the start of buf (len bytes, at least
 * the whole header; chunks may follow). 0 with *h and *hdr_len (prefix +
 * header, where the chunks start), or a negative proto_err:
 * PROTO_ERR_TRUNCATED (need more bytes), PROTO_ERR_VALUE (bad magic, a
 * rule broken), others from the schema. */
int snap_header_decode(const uint8_t *buf, size_t len, struct snap_header *h, size_t *hdr_len);
/* Encode prefix + header into buf. 0 and *len, or a negative proto_err. */
int snap_header_encode(const struct snap_header *h, uint8_t *buf, size_t cap, size_t *len);

/* Number of chunks and total file size of a snapshot whose header takes
 * hdr_len bytes (prefix included). */
uint64_t snap_nchunks(const struct snap_header *h);
uint64_t snap_total_size(const struct snap_header *h, size_t hdr_len);

#endif
