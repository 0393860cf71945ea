/* The in-memory backend, for unit tests of what drives a backend. It keeps
 * WireGuard's semantics (wireguard-go's device/uapi.go and the kernel's
 * netlink.c agree on each):
 *   - set_device: an all-zero private key clears the identity; a peer with
 *     the device's new public key is removed; port 0 leaves the port.
 *   - set_peer: adds or updates; a peer with the device's own public key
 *     is silently ignored; the endpoint is kept when none is given; the
 *     allowed IPs are replaced, stored masked (10.42.0.9/24 → 10.42.0.0/24)
 *     and without duplicates; an allowed IP given to a peer is taken from
 *     any other peer that had it (one owner per prefix, as in the routing
 *     trie).
 *   - remove_peer of an unknown key is not an error (both create-then-remove
 *     or skip it and answer errno=0).
 * Invalid input (see wg_peer_check) is refused before anything changes;
 * rx/tx/handshake stay 0 unless a test sets them with wg_fake_observe(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "src/wg/wg_int.h"
#include "crypto/crypto.h"
#include "crypto/key.h"

struct fake {
	struct wg_backend b;
	struct wg_device dev;
	uint8_t priv[WG_KEY_LEN];
	int fail_next;
};

static int take_failure(struct fake *f)
{
	int r = f->fail_next;

	f->fail_next = 0;
	return r;
}

static void remove_at(struct wg_device *d, struct wg_peer *p)
{
	size_t i = (size_t)(p - d->peers);

	memmove(&d->peers[i], &d->peers[i + 1], (d->npeers - i - 1) * sizeof *p);
	d->npeers--;
}

static int fake_set_device(struct wg_backend *b, const uint8_t priv[WG_KEY_LEN], uint16_t port)
{
	struct fake *f = (struct fake *)b;
	int r = take_failure(f);

	if (r)
		return r;
	memcpy(f->priv, priv, WG_KEY_LEN);
	f->dev.has_private_key = !wg_key_is_zero(priv);
	if (f->dev.has_private_key) {
		struct wg_peer *self;
		x25519_public(priv, f->dev.public_key);
		self = wg_device_find_peer(&f->dev, f->dev.public_key);
		if (self)
			remove_at(&f->dev, self);
	} else {
		memset(f->dev.public_key, 0, WG_KEY_LEN);
	}
	if (port)
		f->dev.listen_port = port;
	return 0;
}

/* Take prefix canon away from every peer but keep. */
static void take_prefix(struct wg_device *d, const struct wg_peer *keep, const char *canon)
{
	for (size_t i = 0; i < d->npeers; i++) {
		struct wg_peer *p = &d->peers[i];
		if (p == keep)
			continue;
		for (unsigned j = 0; j < p->nallowed; j++) {
			if (strcmp(p->allowed[j], canon) != 0)
				continue;
			memmove(p->allowed[j], p->allowed[j + 1], (p->nallowed - j - 1) * sizeof p->allowed[0]);
			p->nallowed--;
			break;
		}
	}
}

static int fake_set_peer(struct wg_backend *b, const struct wg_peer *in)
{
	struct fake *f = (struct fake *)b;
	struct wg_cidr cidrs[WG_MAX_ALLOWED];
	char canon[WG_MAX_ALLOWED][WG_CIDR_TEXT];
	struct wg_peer *p;
	unsigned n = 0;
	int r = take_failure(f);

	if (r)
		return r;
	if (wg_peer_check(in, cidrs) < 0)
		return -EINVAL;
	for (unsigned i = 0; i < in->nallowed; i++) {
		unsigned j;
		if (wg_cidr_format(&cidrs[i], canon[n], sizeof canon[n]) < 0)
			return -EINVAL;
		for (j = 0; j < n && strcmp(canon[j], canon[n]) != 0; j++)
			;
		if (j == n)
			n++;
	}
	if (f->dev.has_private_key && memcmp(in->key, f->dev.public_key, WG_KEY_LEN) == 0)
		return 0;
	p = wg_device_find_peer(&f->dev, in->key);
	if (!p) {
		r = wg_device_add_peer(&f->dev, &p);
		if (r < 0)
			return r == -E2BIG ? -ENOSPC : r;
		memcpy(p->key, in->key, WG_KEY_LEN);
	}
	if (in->has_endpoint) {
		p->has_endpoint = true;
		p->endpoint = in->endpoint;
	}
	p->keepalive_s = in->keepalive_s;
	p->nallowed = n;
	memset(p->allowed, 0, sizeof p->allowed);
	memcpy(p->allowed, canon, n * sizeof canon[0]);
	for (unsigned i = 0; i < n; i++)
		take_prefix(&f->dev, p, canon[i]);
	return 0;
}

static int fake_remove_peer(struct wg_backend *b, const uint8_t key[WG_KEY_LEN])
{
	struct fake *f = (struct fake *)b;
	struct wg_peer *p;
	int r = take_failure(f);

	if (r)
		return r;
	p = wg_device_find_peer(&f->dev, key);
	if (p)
		remove_at(&f->dev, p);
	return 0;
}

static int fake_get(struct wg_backend *b, struct wg_device *out)
{
	struct fake *f = (struct fake *)b;
	int r = take_failure(f);

	memset(out, 0, sizeof *out);
	return r ? r : wg_device_copy(out, &f->dev);
}

static void fake_free(struct wg_backend *b)
{
	struct fake *f = (struct fake *)b;

	if (!f)
		return;
	wg_device_free(&f->dev);
	crypto_wipe(f->priv, sizeof f->priv);
	free(f);
}

struct wg_backend *wg_fake_new(void)
{
	struct fake *f = calloc(1, sizeof *f);

	if (!f)
		return NULL;
	f->b.name = "fake";
	f->b.set_device = fake_set_device;
	f->b.set_peer = fake_set_peer;
	f->b.remove_peer = fake_remove_peer;
	f->b.get = fake_get;
	f->b.free = fake_free;
	return &f->b;
}

int wg_fake_observe(struct wg_backend *b, const uint8_t key[WG_KEY_LEN],
                    const struct sockaddr_storage *endpoint, uint64_t handshake_s,
                    uint64_t rx_bytes, uint64_t tx_bytes)
{
	struct fake *f = (struct fake *)b;
	struct wg_peer *p;

	if (!b || b->free != fake_free)
		return -EINVAL;
	p = wg_device_find_peer(&f->dev, key);
	if (!p)
		return -ENOENT;
	if (endpoint) {
		if (endpoint->ss_family != AF_INET && endpoint->ss_family != AF_INET6)
			return -EINVAL;
		p->has_endpoint = true;
		p->endpoint = *endpoint;
	}
	p->last_handshake_s = handshake_s;
	p->rx_bytes = rx_bytes;
	p->tx_bytes = tx_bytes;
	return 0;
}

void wg_fake_fail_next(struct wg_backend *b, int err)
{
	if (b && b->free == fake_free)
		((struct fake *)b)->fail_next = err;
}
