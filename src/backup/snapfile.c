/* Snapshot files: see snapfile.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "src/backup/snapfile.h"
#include "crypto/crypto.h"
#include "crypto/snapshot.h"

ssize_t snapfile_read_full(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int snapfile_write_full(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Nothing left to read at fd: 1, else 0 (more bytes, or an error). */
static int at_end(int fd)
{
	uint8_t extra;

	return snapfile_read_full(fd, &extra, 1) == 0;
}

/* The plaintext buffer is wiped: it held the box's data. */
static void free_bufs(uint8_t *pb, uint8_t *cb, size_t chunk)
{
	if (pb)
		crypto_wipe(pb, chunk);
	free(pb);
	free(cb);
}

int snapfile_encrypt(int in, int out, struct snap_header *h, const uint8_t (*rcpt)[32], size_t n,
		     uint8_t hash[32], uint64_t *size, snapfile_progress_fn fn, void *ctx)
{
	uint8_t hbuf[SNAP_PREFIX_LEN + SNAP_HEADER_MAX];
	uint8_t *pb = NULL, *cb = NULL;
	struct snap_enc *e = NULL;
	struct snap_hash *hs = NULL;
	size_t hlen, clen;
	uint64_t left = h->plain_size, total;
	int rc, cerr;

	if (h->chunk < SNAP_CHUNK_MIN || h->chunk > SNAP_CHUNK_MAX || h->plain_size > SNAP_MAX_PLAIN)
		return -EINVAL;
	if (!(pb = malloc(h->chunk)) || !(cb = malloc(h->chunk + SNAP_TAG_LEN)) ||
	    !(hs = snap_hash_new())) {
		rc = -ENOMEM;
		goto out;
	}
	if (!(e = snap_enc_new(h, rcpt, n, hbuf, sizeof hbuf, &hlen, &cerr))) {
		rc = -EINVAL;
		goto out;
	}
	if ((rc = snapfile_write_full(out, hbuf, hlen)) < 0)
		goto out;
	snap_hash_update(hs, hbuf, hlen);
	total = hlen;
	while (snap_enc_left(e)) {
		size_t want = left < h->chunk ? (size_t)left : h->chunk;
		ssize_t r = snapfile_read_full(in, pb, want);
		if (r < 0) {
			rc = (int)r;
			goto out;
		}
		if ((size_t)r != want) {
			rc = -EAGAIN;
			goto out;
		}
		if (snap_enc_chunk(e, pb, want, cb, &clen) < 0) {
			rc = -EINVAL;
			goto out;
		}
		if ((rc = snapfile_write_full(out, cb, clen)) < 0)
			goto out;
		snap_hash_update(hs, cb, clen);
		total += clen;
		left -= want;
		if (fn)
			fn(ctx, h->plain_size - left);
	}
	if (!at_end(in)) {
		rc = -EAGAIN;   /* grew while we read it */
		goto out;
	}
	snap_hash_final(hs, hash);
	*size = total;
	rc = 0;
out:
	free_bufs(pb, cb, h->chunk);
	snap_hash_free(hs);
	snap_enc_free(e);
	return rc;
}

int snapfile_read_header(int fd, struct snap_header *h, uint8_t *hbuf, size_t *hlen)
{
	ssize_t r = snapfile_read_full(fd, hbuf, SNAP_PREFIX_LEN);
	size_t n;

	if (r < 0)
		return (int)r;
	if (r != SNAP_PREFIX_LEN || memcmp(hbuf, SNAP_MAGIC, 4) != 0)
		return -EPROTO;
	n = (size_t)hbuf[4] << 8 | hbuf[5];
	if (n > SNAP_HEADER_MAX)
		return -EPROTO;
	r = snapfile_read_full(fd, hbuf + SNAP_PREFIX_LEN, n);
	if (r < 0)
		return (int)r;
	if ((size_t)r != n || snap_header_decode(hbuf, SNAP_PREFIX_LEN + n, h, hlen) < 0)
		return -EPROTO;
	return 0;
}

int snapfile_decrypt(int in, int out, const uint8_t x_pk[32], const uint8_t x_sk[32],
		     struct snap_header *h, snapfile_progress_fn fn, void *ctx)
{
	uint8_t hbuf[SNAP_PREFIX_LEN + SNAP_HEADER_MAX], key[SNAP_KEY_LEN];
	uint8_t *pb = NULL, *cb = NULL;
	struct snap_dec *d = NULL;
	size_t hlen, plen, want;
	uint64_t done = 0;
	int rc, cerr;

	if ((rc = snapfile_read_header(in, h, hbuf, &hlen)) < 0)
		return rc;
	if ((rc = snap_unseal(h, x_pk, x_sk, key)) < 0)
		return rc == CRYPTO_ERR_ARG ? -ENOKEY : -EBADMSG;
	d = snap_dec_new(h, key, hbuf, hlen, &cerr);
	crypto_wipe(key, sizeof key);
	if (!d)
		return -EBADMSG;
	if (!(pb = malloc(h->chunk)) || !(cb = malloc(h->chunk + SNAP_TAG_LEN))) {
		rc = -ENOMEM;
		goto out;
	}
	while ((want = snap_dec_next(d))) {
		ssize_t r = snapfile_read_full(in, cb, want);
		if (r < 0) {
			rc = (int)r;
			goto out;
		}
		if ((size_t)r != want || snap_dec_chunk(d, cb, want, pb, &plen) < 0) {
			rc = -EBADMSG;
			goto out;
		}
		if ((rc = snapfile_write_full(out, pb, plen)) < 0)
			goto out;
		done += plen;
		if (fn)
			fn(ctx, done);
	}
	rc = at_end(in) ? 0 : -EBADMSG;
out:
	free_bufs(pb, cb, h->chunk);
	snap_dec_free(d);
	return rc;
}

int snapfile_hash(int fd, uint8_t hash[32], uint64_t *size)
{
	enum { BUF = 65536 };
	uint8_t *b = malloc(BUF);
	struct snap_hash *hs = snap_hash_new();
	uint64_t total = 0;
	int rc = 0;

	if (!b || !hs) {
		rc = -ENOMEM;
		goto out;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		rc = -errno;
		goto out;
	}
	for (;;) {
		ssize_t r = snapfile_read_full(fd, b, BUF);
		if (r < 0) {
			rc = (int)r;
			goto out;
		}
		if (r == 0)
			break;
		snap_hash_update(hs, b, (size_t)r);
		total += (uint64_t)r;
	}
	snap_hash_final(hs, hash);
	*size = total;
out:
	free(b);
	snap_hash_free(hs);
	return rc;
}
