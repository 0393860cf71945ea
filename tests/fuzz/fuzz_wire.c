/* Fuzz the engine's message decoder, and the engine behind it: every frame
 * of an accepted message re-encodes to the same bytes, and a live engine
 * fed the message neither crashes nor leaks.
 *
 * Membership (MEMBER/PING/ACK) needs state across messages: the engine
 * knows NPEERS members (keys 0x11.., 0x22.., ...: the corpus names them in
 * MEMBER and PINGREQ frames), the input's last byte picks the sender (one
 * of them, or a fresh key) and how far the clock moves before it, with an
 * engine_tick() in between; so sequences of inputs drive probes,
 * suspicions, refutations and death confirmations. Whatever the claims,
 * our own incarnation never wraps to 0. */
#include <stdlib.h>
#include <string.h>
#include "src/engine/engine.h"
#include "src/engine/wire.h"
#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rnd(void *ctx)
{
	static uint64_t x = 88172645463325252ull;
	(void)ctx;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return x;
}

static void nosend(void *ctx, const uint8_t peer[32], const uint8_t *buf, size_t len,
		   enum engine_chan chan)
{
	(void)ctx; (void)peer; (void)buf; (void)len; (void)chan;
}

static void reencode(const struct wire_frame *f, struct wire_buf *w)
{
	int rc;

	switch (f->type) {
	case W_REC: rc = wire_add_record(w, f->data, f->len); break;
	case W_IHAVE: case W_IWANT: case W_IDONTWANT:
		rc = wire_add_ids(w, f->type, f->data, f->len / WIRE_ID_LEN);
		break;
	case W_SYNC: rc = wire_add_sync(w, f->a, f->b, f->data, f->len); break;
	default: rc = wire_add_simple(w, f->type, f->a, f->b, f->key); break;
	}
	if (rc != 0)
		abort();
}

#define NPEERS 4
#define T0 1800000000000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct engine *e;
	static struct node_key self;
	static uint8_t peer[32] = { 1, 2, 3 }, known[NPEERS][32];
	static uint64_t now = T0;
	struct wire_iter it;
	struct wire_frame f;
	int rc;

	if (!e) {
		struct engine_config cfg;
		struct engine_ops ops = { .send = nosend, .random = rnd };
		uint8_t seed[32] = { 9 };
		crypto_init();
		node_key_from_seed(&self, seed);
		engine_config_default(&cfg);
		cfg.root = self.pk;
		e = engine_new(&cfg, &self, &ops, NULL, now);
		if (!e)
			abort();
		for (int i = 0; i < NPEERS; i++) {
			memset(known[i], 0x11 * (i + 1), 32);
			engine_peer_add(e, known[i], now);
		}
	}
	if (size > 70000)
		return 0;
	uint8_t *out = malloc(size + 16);
	struct wire_buf w;
	wire_buf_init(&w, out, size + 16);
	rc = wire_begin(&it, data, size);
	while (rc == 0 && (rc = wire_next(&it, &f)) == 1)
		reencode(&f, &w);
	if (rc == 0 && (w.len != size || memcmp(out, data, size) != 0))
		abort();   /* accepted, so canonical: same bytes back */
	free(out);
	/* the engine must take anything; vary the sender so graylisting of one
	 * peer does not hide the rest of the input. The last byte picks a known
	 * member or a fresh key (three in four of those become peers; the rest
	 * are strangers: only their cert records are looked at), whether the
	 * message comes as a claim (unauthenticated sender), and how far the
	 * clock moves */
	unsigned sel = size ? data[size - 1] : 0;
	const uint8_t *from = peer;
	if (sel & 0x80) {
		from = known[sel & (NPEERS - 1)];
	} else {
		peer[31]++;
		if (peer[31] % 4 != 3)
			engine_peer_add(e, peer, now);
	}
	now += (sel & 0x70) * 25ull;   /* 0 .. 2.8 s */
	engine_tick(e, now);
	if (sel & 0x04)
		engine_recv_claimed(e, from, data, size, now);
	else
		engine_recv(e, from, data, size, now);
	engine_tick(e, now);
	struct engine_stats st;
	engine_get_stats(e, &st);
	if (st.incarnation < T0 / 1000)
		abort();   /* wrapped */
	return 0;
}
