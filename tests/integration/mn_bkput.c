/* Test tool: PUT a file to a live daemon's backup channel as some key, the
 * way a holder's peers do (src/backup/bkchan.c), to see what it refuses.
 *
 *   mn_bkput KEY HOST:PORT HOLDER FILE [HASH]
 *
 * KEY: a node key file (a member's), or "stranger" for a fresh random key;
 * HOLDER: the holder's did:key; HASH: 64 hex digits declared instead of the
 * file's own BLAKE2b (the holder must refuse the bytes). Prints "stored"
 * (a valid receipt) or "refused CODE" (bk_code_name) or "error TEXT"; exit
 * 0, 3 refused, 1 error. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "src/backup/bkchan.h"
#include "src/backup/snapfile.h"
#include "src/netaddr.h"
#include "crypto/did.h"
#include "crypto/key.h"
#include "proto/hex.h"

struct result {
	bool done;
	int rc;
	unsigned code;
	uint8_t receipt[64];
};

static void done(void *ctx, int rc, unsigned code, const uint8_t *receipt)
{
	struct result *r = ctx;

	r->done = true;
	r->rc = rc;
	r->code = code;
	if (receipt)
		memcpy(r->receipt, receipt, 64);
}

static uint64_t now_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const struct bkchan_ops ops = { .now_ms = now_ms };

int main(int argc, char **argv)
{
	struct node_key key;
	struct sockaddr_storage sa;
	size_t salen;
	uint8_t holder[32], hash[32];
	uint64_t size;
	struct result r = { 0 };
	uv_loop_t loop;
	bool insecure;
	int fd;

	if (argc < 5 || argc > 6) {
		fprintf(stderr, "usage: mn_bkput KEY|stranger HOST:PORT HOLDER-DID FILE [HASH]\n");
		return 1;
	}
	if (!strcmp(argv[1], "stranger") ? node_key_generate(&key) < 0
					 : node_key_load(&key, argv[1], &insecure) < 0) {
		printf("error key %s\n", argv[1]);
		return 1;
	}
	if (addr_parse(argv[2], &sa, &salen) < 0 || did_key_decode(DID_ED25519, argv[3], holder) < 0) {
		printf("error address or holder\n");
		return 1;
	}
	if ((fd = open(argv[4], O_RDONLY)) < 0 || snapfile_hash(fd, hash, &size) < 0) {
		printf("error reading %s\n", argv[4]);
		return 1;
	}
	close(fd);
	if (argc == 6 && (strlen(argv[5]) != 64 || hex_decode(argv[5], hash, 32) < 0)) {
		printf("error HASH: 64 hex digits\n");
		return 1;
	}
	uv_loop_init(&loop);
	struct bkchan *c = bkchan_new(&loop, &key, NULL, &ops);
	struct bkjob_req q = { (struct sockaddr *)&sa, holder, NULL, hash, size, argv[4], NULL,
			       done, &r };
	if (!c || bkchan_put(c, &q, NULL) < 0) {
		printf("error starting the PUT\n");
		return 1;
	}
	/* bounded: the channel's idle timeout ends a silent holder */
	while (!r.done && uv_run(&loop, UV_RUN_ONCE))
		;
	bkchan_stop(c);
	uv_run(&loop, UV_RUN_DEFAULT);
	bkchan_free(c);
	uv_loop_close(&loop);
	bool receipt_ok = r.done && !r.code && r.rc == 0 &&
			  bk_receipt_ok(holder, key.pk, hash, size, r.receipt);
	node_key_wipe(&key);
	if (!r.done) {
		printf("error no answer\n");
		return 1;
	}
	if (r.code) {
		printf("refused %s\n", bk_code_name(r.code));
		return 3;
	}
	if (r.rc < 0) {
		printf("error %s\n", strerror(-r.rc));
		return 1;
	}
	printf("stored %s\n", receipt_ok ? "(receipt valid)" : "(receipt INVALID)");
	return 0;
}
