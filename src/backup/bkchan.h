/* The backup bulk channel (docs/backup.md, "The bulk channel"): a TCP
 * service on the node's mesh address for snapshot blobs, and the client
 * that talks to it, over libuv.
 *
 * Every connection starts with mutual authentication: both ends sign the
 * two fresh nonces and both keys with their node keys, and the holder asks
 * ops->member() whether the client is a current member with a valid chain
 * (the client checks that the holder is the key it meant to reach). Each
 * PUT/GET is signed again, bound to the session's nonces (a request from
 * another connection does not verify: replays fail) and dated (outside
 * ±BK_WINDOW_MS of the holder's clock: refused as stale).
 *
 * Holder side, per PUT: the owner must be the authenticated client; the
 * size is admitted by ops->admit() (quotas) before a byte is stored; the
 * bytes go to DIR/<owner hex>/<hash hex>.part (0600, in a 0700 directory;
 * file names are hex of fixed-size keys, never a peer's string), appended
 * frame by frame — a PUT of a part already there resumes where it ends;
 * one byte more than declared and the part is deleted; at the end its
 * BLAKE2b is checked (thread pool) and only then is it renamed into place
 * and a signed receipt sent. A GET streams a whole blob from an offset.
 * Memory: one frame (64 KiB + 5) to read and 256 KiB to write per
 * connection, at most BK_MAX_CONNS connections each way.
 *
 * Errors: negative errno from the calls; a job's outcome in its done
 * callback (0, a negative errno, or the holder's refusal code). */
#ifndef MN_BKCHAN_H
#define MN_BKCHAN_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>
#include "crypto/key.h"
#include "proto/bkwire.h"

#define BK_WINDOW_MS 300000      /* a request's time: within 5 min of ours */
#define BK_MAX_CONNS 32
#define BK_IDLE_MS 30000         /* a connection with no frame for this long closes */

struct bkchan_ops {
	void *ctx;
	/* Is pk a current member (a valid chain, not revoked)? */
	bool (*member)(void *ctx, const uint8_t pk[32]);
	/* May owner store a new blob of size bytes? 0, or -EDQUOT. */
	int (*admit)(void *ctx, const uint8_t owner[32], const uint8_t hash[32], uint64_t size);
	/* A blob was stored complete and its hash checked. */
	void (*stored)(void *ctx, const uint8_t owner[32], const uint8_t hash[32], uint64_t size);
	uint64_t (*now_ms)(void *ctx);   /* unix ms */
};

struct bkchan_stats {
	uint64_t conns, puts, gets, bytes_in, bytes_out, resumed;
	uint64_t refused[BK_E_IO + 1];   /* by enum bk_code, sent by us as a holder */
};

struct bkchan;

/* A channel: dir the holder's blob directory (made 0700 if missing; NULL:
 * a client only), key borrowed for the channel's life. NULL on ENOMEM. */
struct bkchan *bkchan_new(uv_loop_t *loop, const struct node_key *key, const char *dir,
			  const struct bkchan_ops *ops);
/* Serve on sa. 0 or a negative errno (uv's). */
int bkchan_listen(struct bkchan *c, const struct sockaddr *sa);
/* The port it listens on (port 0 asked: the one given), or -EINVAL. */
int bkchan_port(struct bkchan *c);
/* Close every handle (jobs end with -ECANCELED); bkchan_free once the
 * loop has run their close callbacks. free accepts NULL. */
void bkchan_stop(struct bkchan *c);
void bkchan_free(struct bkchan *c);
const struct bkchan_stats *bkchan_stats(const struct bkchan *c);

/* The blob's path in a holder directory (cap >= strlen(dir) + 136). */
void bkchan_blob_path(const char *dir, const uint8_t owner[32], const uint8_t hash[32],
		      const char *suffix, char *out, size_t cap);

/* ---- client jobs ---- */

struct bkjob;
/* rc: 0, a negative errno (-ECONNREFUSED, -ETIMEDOUT, -EBADMSG: the blob
 * received does not hash right, -EPROTO: the other end broke the
 * protocol or is not the key asked for), or code > 0: the holder refused
 * (enum bk_code). receipt: PUT's signed receipt (64 bytes) when rc 0. */
typedef void (*bkjob_done_fn)(void *ctx, int rc, unsigned code, const uint8_t *receipt);
typedef void (*bkjob_progress_fn)(void *ctx, uint64_t done, uint64_t total);

struct bkjob_req {
	const struct sockaddr *sa;
	const uint8_t *peer;         /* the holder's node key */
	const uint8_t *owner;        /* GET: whose blob (PUT: ours) */
	const uint8_t *hash;
	uint64_t size;               /* the blob's size */
	const char *path;            /* PUT: the file to send; GET: a .part to append to */
	bkjob_progress_fn progress;  /* may be NULL */
	bkjob_done_fn done;
	void *ctx;
};
/* Start a PUT or a GET. The job frees itself after done is called (done
 * is not called if this fails). 0 or a negative errno. */
int bkchan_put(struct bkchan *c, const struct bkjob_req *r, struct bkjob **out);
int bkchan_get(struct bkchan *c, const struct bkjob_req *r, struct bkjob **out);
/* Stop a job: done gets -ECANCELED. */
void bkjob_cancel(struct bkjob *j);

/* The receipt a holder signs for a stored blob, and its check. */
void bk_receipt_sign(const struct node_key *k, const uint8_t owner[32], const uint8_t hash[32],
		     uint64_t size, uint8_t sig[64]);
bool bk_receipt_ok(const uint8_t holder[32], const uint8_t owner[32], const uint8_t hash[32],
		   uint64_t size, const uint8_t sig[64]);

#endif
