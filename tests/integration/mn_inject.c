/* Test tool: send a live daemon bad input over its plain transport.
 *
 *   mn_inject HOST:PORT garbage COUNT        random datagrams (some with a valid header)
 *   mn_inject HOST:PORT forged RECORD COUNT  the record with a flipped signature byte
 *   mn_inject HOST:PORT replay RECORD COUNT  the record as is, COUNT times
 *   mn_inject HOST:PORT oversize             a TCP frame header claiming 1 GiB
 *   mn_inject HOST:PORT halfopen             a TCP connection left with half a frame
 *   mn_inject HOST:PORT spoof DID COUNT      garbage datagrams under a member's key
 *   mn_inject HOST:PORT strangers COUNT      PINGs, each under a fresh random key
 *   mn_inject HOST:PORT slowconns COUNT SECS COUNT idle TCP connections held SECS (<= 300)
 *   mn_inject HOST:PORT member DID STATE INC COUNT
 *                                            MEMBER claims about DID (STATE: 0 alive,
 *                                            1 suspect, 2 dead, 3 left; INC: incarnation)
 *
 * The sender key is derived from MN_INJECT_SEED (hex, default 0xee…): the
 * daemon's view of that key shows the penalties; MN_INJECT_AS=DID claims
 * another key instead (a stranger using a member's key). Loopback only. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "src/netaddr.h"
#include "src/engine/engine.h"
#include "proto/limits.h"
#include "src/engine/wire.h"
#include "crypto/crypto.h"
#include "crypto/did.h"
#include "crypto/key.h"
#include "proto/hex.h"

static int send_dgram(int fd, const struct sockaddr *sa, size_t salen, const uint8_t pk[32],
		      const uint8_t *msg, size_t len)
{
	uint8_t buf[32 + 2048];

	if (len > 2048)
		return -1;
	memcpy(buf, pk, 32);
	memcpy(buf + 32, msg, len);
	return (int)sendto(fd, buf, 32 + len, 0, sa, (socklen_t)salen);
}

static long read_file(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return (long)n;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage sa;
	size_t salen;
	struct node_key k;
	uint8_t seed[32];
	const char *hexseed = getenv("MN_INJECT_SEED");

	if (argc < 3 || addr_parse(argv[1], &sa, &salen) < 0) {
		fprintf(stderr, "usage: mn_inject HOST:PORT garbage|forged|replay|oversize|halfopen|"
			"spoof|strangers|slowconns ...\n");
		return 2;
	}
	crypto_init();
	memset(seed, 0xee, sizeof seed);
	if (hexseed && hex_decode(hexseed, seed, 32) < 0)
		return 2;
	node_key_from_seed(&k, seed);
	const char *as = getenv("MN_INJECT_AS");
	if (as && did_key_decode(DID_ED25519, as, k.pk) < 0)
		return 2;
	const char *mode = argv[2];
	int fd = socket(sa.ss_family, SOCK_DGRAM, 0);
	if (!strcmp(mode, "garbage") && argc == 4) {
		int n = atoi(argv[3]);
		uint8_t msg[1400];
		for (int i = 0; i < n; i++) {
			size_t len = 1 + (size_t)(rand() % 1300);
			crypto_random(msg, len);
			if (i % 2)
				msg[0] = WIRE_VERSION;   /* get past the first check */
			send_dgram(fd, (struct sockaddr *)&sa, salen, k.pk, msg, len);
			if (i % 3 == 0) {   /* and datagrams too short to carry a key */
				sendto(fd, msg, len % 30, 0, (struct sockaddr *)&sa, (socklen_t)salen);
			}
		}
	} else if ((!strcmp(mode, "forged") || !strcmp(mode, "replay")) && argc == 5) {
		uint8_t rec[MN_MAX_RECORD], msg[ENGINE_MTU];
		long len = read_file(argv[3], rec, sizeof rec);
		struct wire_buf w;
		if (len <= 64)
			return 1;
		if (!strcmp(mode, "forged"))
			rec[len - 7] ^= 0x40;   /* inside the signature */
		wire_buf_init(&w, msg, sizeof msg);
		if (wire_add_record(&w, rec, (size_t)len) < 0)
			return 1;
		int n = atoi(argv[4]);
		for (int i = 0; i < n; i++)
			send_dgram(fd, (struct sockaddr *)&sa, salen, k.pk, msg, w.len);
	} else if (!strcmp(mode, "spoof") && argc == 5) {
		uint8_t victim[32], msg[1400];
		if (did_key_decode(DID_ED25519, argv[3], victim) < 0)
			return 2;
		int n = atoi(argv[4]);
		for (int i = 0; i < n; i++) {
			size_t len = 2 + (size_t)(rand() % 600);
			crypto_random(msg, len);
			msg[0] = WIRE_VERSION;
			send_dgram(fd, (struct sockaddr *)&sa, salen, victim, msg, len);
			usleep(2000);   /* paced: each one reaches the engine */
		}
	} else if (!strcmp(mode, "strangers") && argc == 4) {
		uint8_t msg[64], pk[32];
		struct wire_buf w;
		wire_buf_init(&w, msg, sizeof msg);
		wire_add_simple(&w, W_PING, 1, 0, NULL);
		int n = atoi(argv[3]);
		for (int i = 0; i < n; i++) {
			crypto_random(pk, sizeof pk);
			send_dgram(fd, (struct sockaddr *)&sa, salen, pk, msg, w.len);
			if (i % 200 == 199)
				usleep(20000);   /* the socket buffer, not the daemon, would drop them */
		}
	} else if (!strcmp(mode, "slowconns") && argc == 5) {
		int n = atoi(argv[3]), secs = atoi(argv[4]), open_n = 0;
		if (n < 1 || n > 1000 || secs < 1 || secs > 300)
			return 2;
		int *fds = calloc((size_t)n, sizeof *fds);
		if (!fds)
			return 1;
		for (int i = 0; i < n; i++) {
			fds[i] = socket(sa.ss_family, SOCK_STREAM, 0);
			if (fds[i] >= 0 && connect(fds[i], (struct sockaddr *)&sa, (socklen_t)salen) == 0)
				open_n++;
		}
		fprintf(stderr, "mn_inject: %d of %d connections open, held %d s\n", open_n, n, secs);
		sleep((unsigned)secs);
		for (int i = 0; i < n; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		free(fds);
	} else if (!strcmp(mode, "member") && argc == 7) {
		uint8_t node[32], msg[64];
		struct wire_buf w;
		if (did_key_decode(DID_ED25519, argv[3], node) < 0)
			return 2;
		wire_buf_init(&w, msg, sizeof msg);
		if (wire_add_simple(&w, W_MEMBER, strtoull(argv[4], NULL, 10),
				    strtoull(argv[5], NULL, 10), node) < 0)
			return 1;
		int n = atoi(argv[6]);
		for (int i = 0; i < n; i++)
			send_dgram(fd, (struct sockaddr *)&sa, salen, k.pk, msg, w.len);
	} else if (!strcmp(mode, "oversize") || !strcmp(mode, "halfopen")) {
		int t = socket(sa.ss_family, SOCK_STREAM, 0);
		uint8_t hdr[4 + 32 + 3] = { 0x40, 0, 0, 0 };
		if (connect(t, (struct sockaddr *)&sa, (socklen_t)salen) < 0)
			return 1;
		if (!strcmp(mode, "halfopen")) {
			hdr[0] = 0;
			hdr[2] = 0x10;   /* 4 KiB announced, a few bytes sent */
		}
		memcpy(hdr + 4, k.pk, 32);
		if (write(t, hdr, sizeof hdr) < 0)
			return 1;
		usleep(200000);
		close(t);
	} else {
		fprintf(stderr, "mn_inject: bad arguments\n");
		return 2;
	}
	close(fd);
	char pkhex[65];
	hex_encode(k.pk, 32, pkhex);
	printf("%s\n", pkhex);
	node_key_wipe(&k);
	return 0;
}
