/* Snapshot files: crypto/snapshot.h over file descriptors, one chunk in
 * memory at a time (two buffers of at most SNAP_CHUNK_MAX + 17 bytes,
 * 64 KiB each by default) whatever the file's size. Blocking I/O: the
 * daemon calls these from libuv's thread pool, the CLI and tools directly.
 * Errors: negative errno; -EBADMSG for anything that does not
 * authenticate, -EPROTO for a header that does not decode, -ENOKEY when
 * the key given is not a recipient. */
#ifndef MN_SNAPFILE_H
#define MN_SNAPFILE_H
#include <stddef.h>
#include <stdint.h>
#include "proto/snaphdr.h"

/* Called after each chunk with the bytes done so far (may be NULL). */
typedef void (*snapfile_progress_fn)(void *ctx, uint64_t done);

/* Encrypt in (plain_size bytes from its current offset) to out. h: owner,
 * name, created and chunk set by the caller (plain_size too); the rest is
 * filled in. rcpt: the X25519 recipients (n 1..SNAP_MAX_RECIPIENTS).
 * *hash and *size: the ciphertext's BLAKE2b-256 and length. -EAGAIN if in
 * ends before plain_size or goes on past it (the file changed). */
int snapfile_encrypt(int in, int out, struct snap_header *h, const uint8_t (*rcpt)[32], size_t n,
		     uint8_t hash[32], uint64_t *size, snapfile_progress_fn fn, void *ctx);
/* Read and decode the prefix and header at fd's current offset: hbuf
 * (SNAP_PREFIX_LEN + SNAP_HEADER_MAX bytes) gets the raw bytes. */
int snapfile_read_header(int fd, struct snap_header *h, uint8_t *hbuf, size_t *hlen);
/* Decrypt in (from its start) to out with a recipient's X25519 pair; *h
 * gets the header. Trailing bytes after the last chunk: -EBADMSG. */
int snapfile_decrypt(int in, int out, const uint8_t x_pk[32], const uint8_t x_sk[32],
		     struct snap_header *h, snapfile_progress_fn fn, void *ctx);
/* BLAKE2b-256 and length of fd's contents from offset 0. */
int snapfile_hash(int fd, uint8_t hash[32], uint64_t *size);

/* read()/write() until n bytes or the end (read) / an error. */
ssize_t snapfile_read_full(int fd, uint8_t *p, size_t n);
int snapfile_write_full(int fd, const uint8_t *p, size_t n);

#endif
