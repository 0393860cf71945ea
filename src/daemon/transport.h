/* The plain transport, for development and tests on loopback (WireGuard
 * comes with its own issue): UDP datagrams and TCP streams on one
 * address:port, each message prefixed with the sender's node key.
 *
 *   datagram:  sender_pk(32) ‖ engine message (<= ENGINE_MTU)
 *   stream:    u32 length (big-endian) ‖ sender_pk(32) ‖ engine message
 *
 * Anonymous mode (over WireGuard) drops the key: the tunnel has already
 * authenticated the source address, which names the sender (32 bytes less
 * per packet — most of the idle traffic is small probes).
 *
 * The key prefix is a claim, not a proof: on this transport nothing but the
 * source address of a datagram backs it (records are signed; control
 * messages are not). The driver therefore takes a message as the key's
 * own only when it is a datagram from the key's pinned address
 * (transport_addr_matches), and otherwise as a claim that must not cost
 * the key anything (engine_recv_claimed); it is meant for tests and
 * loopback. Over WireGuard the tunnel authenticates the sender instead.
 * Bounds: datagram size, stream frame size, inbound and outbound
 * connections (separately), inbound connections per source address,
 * per-connection write queue, idle and half-open connections. */
#ifndef MN_TRANSPORT_H
#define MN_TRANSPORT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>
#include "src/engine/engine.h"

struct transport;

struct transport_stats {
	uint64_t dgram_in, dgram_out, stream_in, stream_out;
	uint64_t bytes_in, bytes_out;
	uint64_t bad_datagrams, oversize_frames, send_drops, conns_refused, conns_timed_out;
	uint64_t conns_evicted;     /* inbound connections closed to make room for a new one */
	uint64_t conns_retried;     /* connects started afresh with their queued messages */
	uint64_t conns_reset_back;  /* stalled connections to a peer back from suspicion, closed */
	uint32_t conns, conns_in, conns_out;
};

/* Called for every message that arrives; `from` is the source address of
 * the datagram, or of the stream's other end (stream = true: its port is
 * not where the peer listens). pk is NULL in anonymous mode. Returns 0 if
 * the message was taken (a valid message from a member: it keeps a stream
 * connection open), a negative errno if it was refused. */
typedef int (*transport_recv_fn)(void *ctx, const uint8_t pk[32], const uint8_t *msg, size_t len,
				  const struct sockaddr *from, bool stream);

int transport_open(uv_loop_t *loop, const struct sockaddr *listen, const uint8_t self_pk[32],
		   bool anonymous, transport_recv_fn recv, void *ctx, struct transport **out,
		   char *err, size_t errcap);
/* A member's stream connection was ended by the other side (end of
 * stream or reset: its process exited, the kernel closed its sockets) or
 * a connection to it was refused: pk is whom the connection was with
 * (NULL for an inbound one in anonymous mode), `from` its other end. Only
 * for outgoing connections and inbound ones that delivered a valid
 * message: a stranger's connection reports nothing. */
typedef void (*transport_gone_fn)(void *ctx, const uint8_t pk[32], const struct sockaddr *from);
void transport_on_gone(struct transport *t, transport_gone_fn fn);
/* Called once per loop iteration before the loop waits, just before the
 * queued datagrams go out: what the driver batched (engine_send_pending)
 * leaves with them. */
typedef void (*transport_flush_fn)(void *ctx);
void transport_on_flush(struct transport *t, transport_flush_fn fn);
/* Close every handle (asynchronously; run the loop to finish) and free. */
void transport_close(struct transport *t);
/* Send to a peer whose address is known; -EHOSTUNREACH if it is not,
 * -ENOBUFS when its queue is full (the message is dropped and counted). */
int transport_send(struct transport *t, const uint8_t pk[32], const uint8_t *msg, size_t len,
		   enum engine_chan chan);
/* Where to reach pk (replaces what was known), from a source the driver
 * trusts (config, a signed node record): the address is pinned. */
void transport_set_addr(struct transport *t, const uint8_t pk[32], const struct sockaddr *sa);
/* Where pk's datagram came from, used only while nothing is known for pk
 * (never replaces an address; not pinned). */
void transport_learn_addr(struct transport *t, const uint8_t pk[32], const struct sockaddr *sa);
/* Did a datagram from `from` come from pk's pinned address (address and
 * port)? */
bool transport_addr_matches(const struct transport *t, const uint8_t pk[32],
			    const struct sockaddr *from);
void transport_forget(struct transport *t, const uint8_t pk[32]);
/* "ip:port" of pk, or "" if unknown. */
void transport_addr_str(const struct transport *t, const uint8_t pk[32], char *buf, size_t cap);
void transport_get_stats(const struct transport *t, struct transport_stats *st);
/* A peer we could not reach is heard from again (the engine saw it come
 * back from suspicion or death). A connection to it whose data the other
 * end has not acknowledged is in TCP's retransmission backoff — after a
 * partition of 40 s the kernel's next resend can be 10-25 s away, and
 * everything queued on it waits — so it is closed (its messages are lost
 * as on any broken connection: the engine's next round carries what
 * matters) and the next message opens a fresh one; a connect still
 * waiting for its SYN's answer starts again at once. */
void transport_peer_back(struct transport *t, const uint8_t pk[32]);

#endif
