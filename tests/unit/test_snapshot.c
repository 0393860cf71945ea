/* The snapshot container (proto/snaphdr.c, crypto/snapshot.c,
 * src/backup/snapfile.c): round trips at chunk edges, for the owner and a
 * recovery key; everything that must not open — another key, a flipped
 * byte, a truncated file, bytes appended, chunks reordered, a header
 * swapped between snapshots; names; the recovery key file. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tests/check.h"
#include "crypto/crypto.h"
#include "crypto/key.h"
#include "crypto/snapshot.h"
#include "proto/proto_err.h"
#include "src/backup/snapfile.h"

static int memfile(const uint8_t *p, size_t n)
{
	char path[] = "/tmp/mn-test-snap-XXXXXX";
	int fd = mkstemp(path);

	unlink(path);
	if (n)
		snapfile_write_full(fd, p, n);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static uint8_t *file_bytes(int fd, size_t *n)
{
	off_t end = lseek(fd, 0, SEEK_END);
	uint8_t *b = malloc((size_t)end + 1);

	lseek(fd, 0, SEEK_SET);
	*n = (size_t)snapfile_read_full(fd, b, (size_t)end);
	lseek(fd, 0, SEEK_SET);
	return b;
}

static struct node_key owner;
static uint8_t own_x[32], own_xs[32], rec_pk[32], rec_sk[32];

/* Encrypt plain (n bytes) to a file; the file's fd (at 0). */
static int seal(const uint8_t *plain, size_t n, uint32_t chunk, const char *name, uint8_t hash[32],
		uint64_t *size)
{
	uint8_t rc[2][32];
	struct snap_header h;
	int in = memfile(plain, n), out = memfile(NULL, 0);

	memset(&h, 0, sizeof h);
	memcpy(h.owner, owner.pk, 32);
	snprintf(h.name, sizeof h.name, "%s", name);
	h.created = 1700000000;
	h.plain_size = n;
	h.chunk = chunk;
	memcpy(rc[0], own_x, 32);
	memcpy(rc[1], rec_pk, 32);
	CHECK_INT(snapfile_encrypt(in, out, &h, (const uint8_t (*)[32])rc, 2, hash, size, NULL, NULL), 0);
	close(in);
	lseek(out, 0, SEEK_SET);
	return out;
}

static int open_with(int fd, const uint8_t *pk, const uint8_t *sk, uint8_t **plain, size_t *n)
{
	struct snap_header h;
	int out = memfile(NULL, 0);

	lseek(fd, 0, SEEK_SET);
	int rc = snapfile_decrypt(fd, out, pk, sk, &h, NULL, NULL);
	*plain = file_bytes(out, n);
	close(out);
	return rc;
}

static void round_trips(void)
{
	static const size_t sizes[] = { 0, 1, 4095, 4096, 4097, 3 * 4096 + 5, 200000 };
	uint8_t *plain = malloc(200000), hash[32], hash2[32];

	for (size_t i = 0; i < 200000; i++)
		plain[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint64_t size, size2;
		size_t n;
		uint8_t *got;
		int fd = seal(plain, sizes[i], 4096, "cfg", hash, &size);
		struct snap_header h;

		/* the file's size is known from its header */
		uint8_t hb[SNAP_PREFIX_LEN + SNAP_HEADER_MAX];
		size_t hl;
		CHECK_INT(snapfile_read_header(fd, &h, hb, &hl), 0);
		CHECK_INT(snap_total_size(&h, hl), size);
		CHECK_INT(h.n_rcpt, 2);
		CHECK_INT(snapfile_hash(fd, hash2, &size2), 0);
		CHECK_MEM(hash, hash2, 32);
		CHECK_INT(size, size2);
		/* owner and recovery key open it */
		CHECK_INT(open_with(fd, own_x, own_xs, &got, &n), 0);
		CHECK_INT(n, sizes[i]);
		CHECK(n == 0 || !memcmp(got, plain, n));
		free(got);
		CHECK_INT(open_with(fd, rec_pk, rec_sk, &got, &n), 0);
		CHECK_INT(n, sizes[i]);
		free(got);
		/* no plaintext in the ciphertext (a run of 64 bytes) */
		size_t cn;
		uint8_t *c = file_bytes(fd, &cn);
		if (sizes[i] >= 4096)
			CHECK(!memmem(c, cn, plain + 1000, 64));
		free(c);
		close(fd);
	}
	free(plain);
}

static void refusals(void)
{
	uint8_t plain[10000], hash[32], other_pk[32], other_sk[32], *got;
	uint64_t size;
	size_t n, cn;

	for (size_t i = 0; i < sizeof plain; i++)
		plain[i] = (uint8_t)i;
	int fd = seal(plain, sizeof plain, 4096, "cfg", hash, &size);
	uint8_t *c = file_bytes(fd, &cn);
	struct snap_header h;
	size_t hl;
	CHECK_INT(snap_header_decode(c, cn, &h, &hl), 0);

	/* a key that is not a recipient */
	recovery_key_generate(other_pk, other_sk);
	CHECK_INT(open_with(fd, other_pk, other_sk, &got, &n), -ENOKEY);
	free(got);
	/* a recipient's pk with the wrong secret */
	CHECK_INT(open_with(fd, rec_pk, other_sk, &got, &n), -EBADMSG);
	free(got);

	/* a flipped byte in each chunk, and in the header's seal */
	size_t at[] = { hl + 10, hl + 4096 + 17 + 100, cn - 1, hl - 5 };
	for (size_t i = 0; i < 4; i++) {
		c[at[i]] ^= 1;
		int f2 = memfile(c, cn);
		int rc = open_with(f2, own_x, own_xs, &got, &n);
		CHECK(rc == -EBADMSG || rc == -EPROTO || rc == -ENOKEY);
		free(got);
		close(f2);
		c[at[i]] ^= 1;
	}
	/* truncated at a chunk boundary (the FINAL tag missing), mid-chunk */
	size_t cuts[] = { hl + 4096 + 17, hl + 4096 + 17 + 4096 + 17, cn - 1, hl };
	for (size_t i = 0; i < 4; i++) {
		int f2 = memfile(c, cuts[i]);
		CHECK_INT(open_with(f2, own_x, own_xs, &got, &n), -EBADMSG);
		free(got);
		close(f2);
	}
	/* bytes appended */
	uint8_t *longer = malloc(cn + 1);
	memcpy(longer, c, cn);
	longer[cn] = 0;
	int f3 = memfile(longer, cn + 1);
	CHECK_INT(open_with(f3, own_x, own_xs, &got, &n), -EBADMSG);
	free(got);
	close(f3);
	free(longer);
	/* two chunks swapped */
	uint8_t *sw = malloc(cn);
	memcpy(sw, c, cn);
	memcpy(sw + hl, c + hl + 4113, 4113);
	memcpy(sw + hl + 4113, c + hl, 4113);
	int f4 = memfile(sw, cn);
	CHECK_INT(open_with(f4, own_x, own_xs, &got, &n), -EBADMSG);
	free(got);
	close(f4);
	free(sw);
	/* another snapshot's header (same key sealed? no: its own key) on
	 * these chunks, and this header with a changed name (the AD) */
	uint8_t hash2[32];
	int g = seal(plain, sizeof plain, 4096, "cfg", hash2, &size);
	size_t gn;
	uint8_t *gc = file_bytes(g, &gn);
	memcpy(gc + hl, c + hl, cn - hl);
	int f5 = memfile(gc, gn);
	CHECK_INT(open_with(f5, own_x, own_xs, &got, &n), -EBADMSG);
	free(got);
	close(f5);
	free(gc);
	close(g);
	CHECK(memcmp(hash, hash2, 32) != 0);   /* a fresh key each time */
	free(c);
	close(fd);
}

static void header_rules(void)
{
	struct snap_header h;
	uint8_t buf[SNAP_PREFIX_LEN + SNAP_HEADER_MAX];
	size_t len, hl;

	memset(&h, 0, sizeof h);
	h.v = SNAP_VERSION;
	snprintf(h.name, sizeof h.name, "x");
	h.chunk = 65536;
	h.n_rcpt = 1;
	CHECK_INT(snap_header_encode(&h, buf, sizeof buf, &len), 0);
	struct snap_header d;
	CHECK_INT(snap_header_decode(buf, len, &d, &hl), 0);
	CHECK_INT(hl, len);
	CHECK_INT(snap_header_decode(buf, len - 1, &d, &hl), PROTO_ERR_TRUNCATED);
	buf[0] = 'X';
	CHECK_INT(snap_header_decode(buf, len, &d, &hl), PROTO_ERR_VALUE);
	/* names */
	static const char *const bad[] = { "", "../x", "a/b", ".hidden", "-x", "a b", "..",
		"0123456789012345678901234567890123456789012345678901234567890123" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(!snap_name_ok(bad[i]));
	CHECK(snap_name_ok("config-2026.06_01"));
	snprintf(h.name, sizeof h.name, "../etc");
	CHECK_INT(snap_header_encode(&h, buf, sizeof buf, &len), PROTO_ERR_VALUE);
	snprintf(h.name, sizeof h.name, "ok");
	h.chunk = 100;
	CHECK_INT(snap_header_encode(&h, buf, sizeof buf, &len), PROTO_ERR_VALUE);
	h.chunk = 65536;
	h.n_rcpt = 2;   /* the same key twice */
	CHECK_INT(snap_header_encode(&h, buf, sizeof buf, &len), PROTO_ERR_VALUE);
	/* sizes: 0 bytes is one chunk */
	h.plain_size = 0;
	CHECK_INT(snap_nchunks(&h), 1);
	h.plain_size = 65537;
	CHECK_INT(snap_nchunks(&h), 2);
	CHECK_INT(snap_total_size(&h, 100), 100 + 65537 + 2 * 17);
}

static void recovery_file(void)
{
	uint8_t pk[32], sk[32], pk2[32], sk2[32];
	char text[128];

	recovery_key_generate(pk, sk);
	CHECK_INT(recovery_key_format(sk, text, sizeof text), 0);
	CHECK_INT(strlen(text), RECOVERY_KEY_FILE_LEN);
	CHECK_INT(recovery_key_parse(text, strlen(text), pk2, sk2), 0);
	CHECK_MEM(pk, pk2, 32);
	CHECK_MEM(sk, sk2, 32);
	text[40] = 'A';   /* upper case is not the one spelling */
	CHECK_INT(recovery_key_parse(text, strlen(text), pk2, sk2), CRYPTO_ERR_FORMAT);
	CHECK_INT(recovery_key_parse(text, strlen(text) - 1, pk2, sk2), CRYPTO_ERR_FORMAT);
	uint8_t zero[32] = { 0 };
	CHECK_MEM(sk2, zero, 32);
}

int main(void)
{
	uint8_t seed[32] = { 1, 2, 3 };

	crypto_init();
	node_key_from_seed(&owner, seed);
	snap_node_x25519(&owner, own_x, own_xs);
	uint8_t x2[32];
	CHECK_INT(snap_x25519_pk(owner.pk, x2), 0);
	CHECK_MEM(x2, own_x, 32);
	recovery_key_generate(rec_pk, rec_sk);
	round_trips();
	refusals();
	header_rules();
	recovery_file();
	return check_exit();
}
