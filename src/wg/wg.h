/* WireGuard backends: one interface (struct wg_backend), three
 * implementations —
 *   uapi     the userspace UAPI socket /var/run/wireguard/IFNAME.sock
 *            (wireguard-go; tested for real in tests/netns/)
 *   netlink  the kernel over generic netlink ("wireguard" family), what
 *            OpenWrt uses; message building/parsing is unit-tested here,
 *            the kernel path needs the module (absent on this machine)
 *   fake     in memory, for unit tests of what drives a backend
 * wg_iface_open() finds or makes the interface and picks the backend.
 * All calls are synchronous and local (a socket round trip, bounded by a
 * timeout); they return 0 or a negative errno. Keys are raw 32 bytes. */
#ifndef MN_WG_H
#define MN_WG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#define WG_KEY_LEN 32
#define WG_MAX_ALLOWED 4

struct wg_peer {
	uint8_t key[WG_KEY_LEN];
	bool has_endpoint;
	struct sockaddr_storage endpoint;   /* AF_INET or AF_INET6 */
	uint16_t keepalive_s;               /* 0 = off */
	unsigned nallowed;
	char allowed[WG_MAX_ALLOWED][64];   /* CIDR text, e.g. "10.42.0.2/32" */
	/* read back only */
	uint64_t last_handshake_s;          /* unix seconds, 0 never */
	uint64_t rx_bytes, tx_bytes;
};

struct wg_device {
	bool has_private_key;
	uint8_t public_key[WG_KEY_LEN];     /* derived from the private key, if set */
	uint16_t listen_port;
	size_t npeers;
	struct wg_peer *peers;              /* owned: wg_device_free() */
};
void wg_device_free(struct wg_device *d);

struct wg_backend {
	const char *name;                   /* "uapi", "netlink", "fake" */
	/* Set the private key and listen port (0 = leave the port). */
	int (*set_device)(struct wg_backend *b, const uint8_t priv[WG_KEY_LEN], uint16_t port);
	/* Add a peer or update it: endpoint (if has_endpoint), keepalive, and
	 * allowed IPs replaced by p's. */
	int (*set_peer)(struct wg_backend *b, const struct wg_peer *p);
	int (*remove_peer)(struct wg_backend *b, const uint8_t key[WG_KEY_LEN]);
	int (*get)(struct wg_backend *b, struct wg_device *out);
	void (*free)(struct wg_backend *b);
};

/* NULL and a message in err if the interface cannot be reached. */
struct wg_backend *wg_uapi_new(const char *ifname, char *err, size_t errcap);
struct wg_backend *wg_netlink_new(const char *ifname, char *err, size_t errcap);
struct wg_backend *wg_fake_new(void);

/* The interface a program works on (iface.c): found, or made and owned.
 *   mode   auto     use what is there; else make a kernel interface, and
 *                   when the kernel has no WireGuard start wireguard-go
 *          netlink  the kernel's only        uapi  wireguard-go only
 * An interface already there (a kernel link of kind wireguard, or a
 * wireguard-go answering on its socket) is used and left as it is at
 * close. One made here is removed at wg_iface_close(): the kernel link
 * deleted, or the wireguard-go child stopped (its TUN device goes with
 * it). NULL and one sentence in err when it cannot be had, to be
 * prefixed with the interface's name, e.g. "cannot create it: this kernel
 * has no WireGuard module and wireguard-go is not installed (install
 * kmod-wireguard, or wireguard-go)". Blocks up to 5 s while wireguard-go
 * starts. */
enum wg_mode { WG_MODE_AUTO, WG_MODE_KERNEL, WG_MODE_USERSPACE };
enum wg_impl { WG_IMPL_KERNEL, WG_IMPL_USERSPACE };
/* "auto", "netlink", "uapi" (the wg_backend option's words); 0 or -EINVAL. */
int wg_mode_parse(const char *s, enum wg_mode *m);
struct wg_iface;
struct wg_iface *wg_iface_open(const char *ifname, enum wg_mode mode, char *err, size_t errcap);
/* Borrowed: valid until wg_iface_close(). */
struct wg_backend *wg_iface_backend(const struct wg_iface *w);
enum wg_impl wg_iface_impl(const struct wg_iface *w);
/* Made by wg_iface_open (and so removed by wg_iface_close)? */
bool wg_iface_created(const struct wg_iface *w);
/* What wg_iface_open made and is gone — the wireguard-go child exited
 * (killed, crashed), the kernel link deleted — is made again: 1, and the
 * caller puts its address, key, port and peers back (the backend is a new
 * one: wg_iface_backend again); 0 nothing to do (there, or not ours); a
 * negative errno with err filled when it could not be made (tried again
 * after 1 s, doubling up to 60 s; until then 0). Blocks up to 5 s while a
 * new wireguard-go starts. An interface found, not made, is not ours to
 * restart. */
int wg_iface_revive(struct wg_iface *w, uint64_t now_ms, char *err, size_t errcap);
/* Closes the backend, removes what wg_iface_open made. NULL is fine. */
void wg_iface_close(struct wg_iface *w);

/* Put address/prefix on the interface (replacing the same address) and
 * bring it up, over rtnetlink; works for wireguard-go's TUN device and the
 * kernel's interface alike. 0 or a negative errno with err filled. */
int wg_if_set_addr(const char *ifname, const char *cidr, char *err, size_t errcap);
/* Take it away again (a join that failed). */
int wg_if_del_addr(const char *ifname, const char *cidr, char *err, size_t errcap);

/* (The X25519 public key of a private key: x25519_public() in crypto/key.h.) */

#endif
