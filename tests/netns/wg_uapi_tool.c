/* Drive one WireGuard backend from the shell (tests/netns/test_wg_uapi.sh).
 *
 *   wg_uapi_tool [-b uapi|netlink] IFNAME set-device PRIVHEX PORT
 *   wg_uapi_tool [-b uapi|netlink] IFNAME set-peer PUBHEX ENDPOINT|- CIDR[,CIDR...]|- [KEEPALIVE]
 *   wg_uapi_tool [-b uapi|netlink] IFNAME remove-peer PUBHEX
 *   wg_uapi_tool [-b uapi|netlink] IFNAME get
 *   wg_uapi_tool pubkey PRIVHEX
 *
 * get prints
 *   public_key HEX|-
 *   listen_port N
 *   peer HEX endpoint ENDPOINT|- keepalive N handshake UNIXSEC rx N tx N allowed CIDR,...|-
 * Keys are 64 lower-case hex digits. Exit 0, 1 when the backend refuses
 * (its error on stderr), 2 on bad usage. The default backend is uapi;
 * netlink is there for a machine with the kernel module (OpenWrt). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/crypto.h"
#include "crypto/key.h"
#include "src/wg/wg.h"
#include "src/wg/wg_int.h"

static int usage(void)
{
	fprintf(stderr,
	        "usage: wg_uapi_tool [-b uapi|netlink] IFNAME set-device PRIVHEX PORT\n"
	        "       wg_uapi_tool [-b uapi|netlink] IFNAME set-peer PUBHEX ENDPOINT|- CIDR[,CIDR...]|- [KEEPALIVE]\n"
	        "       wg_uapi_tool [-b uapi|netlink] IFNAME remove-peer PUBHEX\n"
	        "       wg_uapi_tool [-b uapi|netlink] IFNAME get\n"
	        "       wg_uapi_tool pubkey PRIVHEX\n");
	return 2;
}

static int parse_key(const char *hex, uint8_t key[WG_KEY_LEN])
{
	if (wg_key_from_hex(key, hex, strlen(hex)) < 0) {
		fprintf(stderr, "wg_uapi_tool: not a 64-digit hex key: %.70s\n", hex);
		return -1;
	}
	return 0;
}

static int parse_num(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (!*s || *end || errno || *out > max) {
		fprintf(stderr, "wg_uapi_tool: not a number up to %lu: %s\n", max, s);
		return -1;
	}
	return 0;
}

static int parse_peer(char **argv, int argc, struct wg_peer *p)
{
	char list[4 * WG_CIDR_TEXT], *save = NULL;
	unsigned long ka = 0;

	memset(p, 0, sizeof *p);
	if (parse_key(argv[0], p->key) < 0)
		return -1;
	if (strcmp(argv[1], "-") != 0) {
		if (wg_endpoint_parse(argv[1], &p->endpoint) < 0) {
			fprintf(stderr, "wg_uapi_tool: bad endpoint: %s\n", argv[1]);
			return -1;
		}
		p->has_endpoint = true;
	}
	if (strcmp(argv[2], "-") != 0) {
		if (strlen(argv[2]) >= sizeof list) {
			fprintf(stderr, "wg_uapi_tool: allowed IP list too long\n");
			return -1;
		}
		strcpy(list, argv[2]);
		for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
			if (p->nallowed == WG_MAX_ALLOWED || strlen(c) >= sizeof p->allowed[0]) {
				fprintf(stderr, "wg_uapi_tool: at most %d allowed IPs\n", WG_MAX_ALLOWED);
				return -1;
			}
			strcpy(p->allowed[p->nallowed++], c);
		}
	}
	if (argc > 3 && parse_num(argv[3], 65535, &ka) < 0)
		return -1;
	p->keepalive_s = (uint16_t)ka;
	return 0;
}

static void print_device(const struct wg_device *d)
{
	char hex[2 * WG_KEY_LEN + 1], ep[WG_ENDPOINT_TEXT];

	if (d->has_private_key)
		wg_key_to_hex(d->public_key, hex);
	printf("public_key %s\nlisten_port %u\n", d->has_private_key ? hex : "-",
	       (unsigned)d->listen_port);
	for (size_t i = 0; i < d->npeers; i++) {
		const struct wg_peer *p = &d->peers[i];
		wg_key_to_hex(p->key, hex);
		if (!p->has_endpoint || wg_endpoint_format(&p->endpoint, ep, sizeof ep) < 0)
			strcpy(ep, "-");
		printf("peer %s endpoint %s keepalive %u handshake %llu rx %llu tx %llu allowed ",
		       hex, ep, (unsigned)p->keepalive_s, (unsigned long long)p->last_handshake_s,
		       (unsigned long long)p->rx_bytes, (unsigned long long)p->tx_bytes);
		for (unsigned j = 0; j < p->nallowed; j++)
			printf("%s%s", j ? "," : "", p->allowed[j]);
		printf("%s\n", p->nallowed ? "" : "-");
	}
}

int main(int argc, char **argv)
{
	const char *backend = "uapi", *ifname, *cmd;
	struct wg_backend *b = NULL;
	char err[256];
	int r = -EINVAL, rc = 1;

	if (crypto_init() < 0)
		return 1;
	if (argc == 3 && strcmp(argv[1], "pubkey") == 0) {
		uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN];
		char hex[2 * WG_KEY_LEN + 1];
		if (parse_key(argv[2], priv) < 0)
			return 2;
		x25519_public(priv, pub);
		crypto_wipe(priv, sizeof priv);
		wg_key_to_hex(pub, hex);
		printf("%s\n", hex);
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "-b") == 0) {
		backend = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 3)
		return usage();
	ifname = argv[1];
	cmd = argv[2];
	argv += 3;
	argc -= 3;
	if (!((strcmp(cmd, "set-device") == 0 && argc == 2) ||
	      (strcmp(cmd, "set-peer") == 0 && (argc == 3 || argc == 4)) ||
	      (strcmp(cmd, "remove-peer") == 0 && argc == 1) ||
	      (strcmp(cmd, "get") == 0 && argc == 0)))
		return usage();
	if (strcmp(backend, "uapi") == 0)
		b = wg_uapi_new(ifname, err, sizeof err);
	else if (strcmp(backend, "netlink") == 0)
		b = wg_netlink_new(ifname, err, sizeof err);
	else
		return usage();
	if (!b) {
		fprintf(stderr, "wg_uapi_tool: %s\n", err);
		return 1;
	}
	if (strcmp(cmd, "set-device") == 0) {
		uint8_t priv[WG_KEY_LEN];
		unsigned long port;
		if (parse_key(argv[0], priv) < 0 || parse_num(argv[1], 65535, &port) < 0) {
			rc = 2;
			goto out;
		}
		r = b->set_device(b, priv, (uint16_t)port);
		crypto_wipe(priv, sizeof priv);
	} else if (strcmp(cmd, "set-peer") == 0) {
		struct wg_peer p;
		if (parse_peer(argv, argc, &p) < 0) {
			rc = 2;
			goto out;
		}
		r = b->set_peer(b, &p);
	} else if (strcmp(cmd, "remove-peer") == 0) {
		uint8_t key[WG_KEY_LEN];
		if (parse_key(argv[0], key) < 0) {
			rc = 2;
			goto out;
		}
		r = b->remove_peer(b, key);
	} else {
		struct wg_device d;
		r = b->get(b, &d);
		if (r == 0)
			print_device(&d);
		wg_device_free(&d);
	}
	if (r < 0)
		fprintf(stderr, "wg_uapi_tool: %s %s: %s\n", cmd, ifname, strerror(-r));
	rc = r < 0 ? 1 : 0;
out:
	b->free(b);
	return rc;
}
