/* Engine messages on the wire (docs/protocol.md).
 *
 * A message (one datagram, or one stream frame) is the version byte
 * WIRE_VERSION followed by one or more frames; each frame is a msgpack
 * array whose first element is its type:
 *
 *   [REC, record(bin)]                 a signed record (proto/record.h)
 *   [IHAVE, ids(bin n*12)]             ids we hold (lazy gossip / announce)
 *   [IWANT, ids(bin n*12)]             please send these
 *   [IDONTWANT, ids(bin n*12)]         don't send me these, I have them
 *   [GRAFT]                            add me to your mesh
 *   [PRUNE, backoff_s]                 you are out of my mesh; wait before GRAFT
 *   [CHOKE, on]                        on 1: announce new records to me (IHAVE)
 *                                      instead of pushing them; 0: push again
 *   [PING, seq(, incarnation)]         SWIM probe
 *   [ACK, seq(, incarnation)]          SWIM answer
 *   [PINGREQ, seq, target(bin32)]      probe target for me
 *   [MEMBER, node(bin32), state, inc]  membership gossip (alive/suspect/dead/left)
 *   [SYNC, session, kind, ranges(bin)] anti-entropy (sync.c)
 *
 * Ids on the wire are the first WIRE_ID_LEN bytes of the record id. The
 * decoder goes through proto's bounded reader: no allocation, every frame
 * checked, unknown frame types skipped only if well-formed msgpack arrays
 * are impossible to skip — so they are errors. */
#ifndef MN_WIRE_H
#define MN_WIRE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/mpack.h"

#define WIRE_VERSION 0x4d      /* 'M' */
#define WIRE_ID_LEN 12
#define WIRE_MAX_IDS 96        /* per IHAVE/IWANT/IDONTWANT frame */

enum wire_type {
	W_REC = 1, W_IHAVE = 2, W_IWANT = 3, W_IDONTWANT = 4, W_GRAFT = 5, W_PRUNE = 6,
	W_PING = 7, W_ACK = 8, W_PINGREQ = 9, W_MEMBER = 10, W_SYNC = 11, W_CHOKE = 12,
};
#define W_TYPE_MAX W_CHOKE

struct wire_frame {
	enum wire_type type;
	const uint8_t *data;       /* REC: the record; IHAVE/IWANT/IDONTWANT: ids; SYNC: ranges */
	size_t len;                /* bytes (ids: a multiple of WIRE_ID_LEN) */
	uint64_t a, b;             /* PRUNE: backoff; CHOKE: on; PING/ACK: seq, inc (0: absent); PINGREQ: seq;
				      MEMBER: state, inc; SYNC: session, kind */
	const uint8_t *key;        /* PINGREQ target, MEMBER node (32 bytes) */
};

/* Iterate the frames of a message. wire_begin checks the version byte;
 * wire_next returns 1 with a frame, 0 at the end, or a negative proto_err
 * (the rest of the message is then unusable). */
struct wire_iter { struct mp_reader r; };
int wire_begin(struct wire_iter *it, const uint8_t *buf, size_t len);
int wire_next(struct wire_iter *it, struct wire_frame *f);

/* Building messages: a bounded buffer that starts with the version byte.
 * wire_add_* return 0 or PROTO_ERR_NOSPACE (nothing added). wire_add_simple
 * leaves a PING's or ACK's incarnation out when b is 0. */
struct wire_buf {
	uint8_t *buf;
	size_t cap, len;
};
void wire_buf_init(struct wire_buf *w, uint8_t *buf, size_t cap);
bool wire_buf_empty(const struct wire_buf *w);
int wire_add_record(struct wire_buf *w, const uint8_t *rec, size_t len);
int wire_add_ids(struct wire_buf *w, enum wire_type t, const uint8_t *ids, size_t n);
int wire_add_simple(struct wire_buf *w, enum wire_type t, uint64_t a, uint64_t b,
		    const uint8_t *key);
int wire_add_sync(struct wire_buf *w, uint64_t session, uint64_t kind, const uint8_t *data,
		  size_t len);
/* Bytes a frame would take, for packing decisions. */
size_t wire_record_frame_len(size_t rec_len);

#endif
