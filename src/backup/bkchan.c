/* The backup bulk channel: see bkchan.h. One struct conn per connection,
 * either end; its state says what frame may come next:
 *
 *   holder (server)            client (a job)
 *   S_HELLO   → CHALLENGE      C_CONNECT → HELLO
 *   S_AUTH    → READY          C_CHAL    → AUTH
 *   S_READY   PUT → S_RECV     C_READY   → PUT/GET
 *             GET → S_SEND     C_OK      PUT → C_SEND → C_RECEIPT
 *   S_RECV    last DATA → S_HASH           GET → C_RECV → C_HASH
 *   S_HASH    → RECEIPT, S_READY
 *
 * Anything else, and the connection is refused (ERR) and closed: a peer's
 * bad frame is an event counted in the stats, never a crash. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "src/backup/bkchan.h"
#include "src/backup/snapfile.h"
#include "src/log.h"
#include "crypto/crypto.h"
#include "crypto/sign.h"
#include "proto/hex.h"
#include "proto/proto_err.h"
#include "proto/snaphdr.h"

#define CTX_SERVER "mirrornet/v1/backup/auth-holder"
#define CTX_CLIENT "mirrornet/v1/backup/auth-client"
#define CTX_REQ "mirrornet/v1/backup/request"
#define CTX_RECEIPT "mirrornet/v1/backup/receipt"
#define WFRAMES 4
#define WBUF (WFRAMES * BK_FRAME_MAX)

enum cstate {
	S_HELLO, S_AUTH, S_READY, S_RECV, S_HASH, S_SEND,
	C_CONNECT, C_CHAL, C_READY, C_OK, C_SEND, C_RECEIPT, C_RECV, C_HASH, X_DONE,
};

struct cwrite {
	uv_write_t req;
	uint8_t data[BK_HDR + BK_CTRL_MAX];
};

struct conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_connect_t creq;
	uv_work_t work;
	struct bkchan *c;
	struct conn *next;
	enum cstate st;
	bool client, closing, work_pending, doomed, writing;
	int handles;
	uint8_t op;                   /* BK_PUT / BK_GET */
	uint8_t peer[32];             /* server: the client (after AUTH); client: the holder */
	uint8_t nc[BK_NONCE_LEN], ns[BK_NONCE_LEN];
	char who[24];                 /* for logs */
	uint8_t rbuf[BK_FRAME_MAX];
	size_t rlen;
	uint8_t *wbuf;
	/* the transfer */
	int fd;
	char path[PATH_MAX], final[PATH_MAX];
	uint8_t owner[32], hash[32];
	uint64_t size, pos;
	int work_rc;
	int sync_fd;            /* the received file, fsynced and closed in the pool */
	/* a client job */
	bkjob_done_fn done;
	bkjob_progress_fn progress;
	void *ctx;
	bool done_called;
};

struct bkjob {
	struct conn cn;
};

struct bkchan {
	uv_loop_t *loop;
	const struct node_key *key;
	char dir[PATH_MAX - 160];
	struct bkchan_ops ops;
	uv_tcp_t srv;
	bool listening, stopped;
	struct conn *conns;
	unsigned nconns;
	struct bkchan_stats st;
};

/* ---- signatures ---- */

static void auth_msg(const struct conn *cn, const uint8_t client[32], const uint8_t server[32],
		     uint8_t m[128])
{
	memcpy(m, cn->nc, 32);
	memcpy(m + 32, cn->ns, 32);
	memcpy(m + 64, client, 32);
	memcpy(m + 96, server, 32);
}

static void req_digest(const struct conn *cn, uint8_t type, const struct bk_req *q, uint8_t d[32])
{
	uint8_t m[64 + 89];

	memcpy(m, cn->ns, 32);
	memcpy(m + 32, cn->nc, 32);
	size_t n = bk_req_tbs(type, q, m + 64);
	sign_digest(CTX_REQ, NULL, 0, m, 64 + n, d);
}

static void receipt_msg(const uint8_t owner[32], const uint8_t hash[32], uint64_t size,
			uint8_t m[72])
{
	memcpy(m, owner, 32);
	memcpy(m + 32, hash, 32);
	for (int i = 7; i >= 0; i--, size >>= 8)
		m[64 + i] = (uint8_t)size;
}

void bk_receipt_sign(const struct node_key *k, const uint8_t owner[32], const uint8_t hash[32],
		     uint64_t size, uint8_t sig[64])
{
	uint8_t m[72];

	receipt_msg(owner, hash, size, m);
	sign_detached(k, CTX_RECEIPT, m, sizeof m, sig);
}

bool bk_receipt_ok(const uint8_t holder[32], const uint8_t owner[32], const uint8_t hash[32],
		   uint64_t size, const uint8_t sig[64])
{
	uint8_t m[72];

	receipt_msg(owner, hash, size, m);
	return sign_verify(holder, CTX_RECEIPT, m, sizeof m, sig) == 0;
}

/* ---- paths ---- */

void bkchan_blob_path(const char *dir, const uint8_t owner[32], const uint8_t hash[32],
		      const char *suffix, char *out, size_t cap)
{
	char o[65], h[65];

	hex_encode(owner, 32, o);
	if (hash) {
		hex_encode(hash, 32, h);
		snprintf(out, cap, "%s/%s/%s%s", dir, o, h, suffix);
	} else {
		snprintf(out, cap, "%s/%s", dir, o);
	}
}

/* ---- connections ---- */

static void conn_closed(uv_handle_t *h)
{
	struct conn *cn = h->data;

	if (--cn->handles == 0 && !cn->work_pending) {
		free(cn->wbuf);
		free(cn);
	}
}

static void job_finish(struct conn *cn, int rc, unsigned code, const uint8_t *receipt)
{
	if (cn->client && !cn->done_called && cn->done) {
		cn->done_called = true;
		cn->done(cn->ctx, rc, code, receipt);
	}
}

static void conn_close(struct conn *cn, int rc)
{
	struct bkchan *c = cn->c;

	if (cn->closing)
		return;
	cn->closing = true;
	/* a part we were receiving that was refused midway (or a copy that
	 * did not hash right) is removed before done is called: done may
	 * start the next GET onto the same part (a pull's next holder), which
	 * must not resume from the bad bytes; one cut off by the network is
	 * kept for a resume */
	if (cn->doomed && cn->path[0]) {
		unlink(cn->path);
		cn->path[0] = 0;
	}
	job_finish(cn, rc, 0, NULL);
	for (struct conn **p = &c->conns; *p; p = &(*p)->next)
		if (*p == cn) {
			*p = cn->next;
			c->nconns--;
			break;
		}
	if (cn->fd >= 0) {
		close(cn->fd);
		cn->fd = -1;
	}
	uv_close((uv_handle_t *)&cn->timer, conn_closed);
	uv_close((uv_handle_t *)&cn->tcp, conn_closed);
}

static void cwritten(uv_write_t *w, int status)
{
	struct conn *cn = w->data;

	free(w);
	if (status < 0 && !cn->closing)
		conn_close(cn, -EPIPE);
}

static int send_ctrl(struct conn *cn, uint8_t type, const void *msg)
{
	struct cwrite *w = malloc(sizeof *w);
	size_t len;

	if (!w || bk_encode(type, msg, w->data, sizeof w->data, &len) < 0) {
		free(w);
		conn_close(cn, -ENOMEM);
		return -ENOMEM;
	}
	uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)len);
	w->req.data = cn;
	if (uv_write(&w->req, (uv_stream_t *)&cn->tcp, &b, 1, cwritten) < 0) {
		free(w);
		conn_close(cn, -EPIPE);
		return -EPIPE;
	}
	return 0;
}

/* Refuse (as a holder): count, tell, close. A part being written is
 * removed when the refusal is about its bytes. */
static void refuse(struct conn *cn, unsigned code, const char *msg)
{
	struct bk_err e;

	cn->c->st.refused[code <= BK_E_IO ? code : BK_E_PROTO]++;
	log_warn("backup: refused %s: %s (%s)", cn->who, bk_code_name(code), msg);
	memset(&e, 0, sizeof e);
	e.code = (uint8_t)code;
	snprintf(e.message, sizeof e.message, "%s", msg);
	if (code == BK_E_TOO_LONG || code == BK_E_HASH)
		cn->doomed = true;
	if (send_ctrl(cn, BK_ERR, &e) == 0)
		conn_close(cn, -EPROTO);
}

static void idle(uv_timer_t *t)
{
	struct conn *cn = t->data;

	if (cn->st == S_HASH || cn->st == C_HASH) {   /* the disk is busy, not the peer */
		uv_timer_again(t);
		return;
	}
	conn_close(cn, -ETIMEDOUT);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct conn *cn = h->data;

	(void)hint;
	*b = uv_buf_init((char *)cn->rbuf + cn->rlen, (unsigned)(sizeof cn->rbuf - cn->rlen));
}

static void on_frame(struct conn *cn, uint8_t type, const uint8_t *p, size_t n);

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct conn *cn = s->data;
	size_t off = 0;

	(void)b;
	if (nread == 0)
		return;
	if (nread < 0) {
		conn_close(cn, cn->client ? -ECONNRESET : 0);
		return;
	}
	cn->rlen += (size_t)nread;
	uv_timer_again(&cn->timer);
	while (!cn->closing) {
		uint8_t type;
		const uint8_t *p;
		size_t len, used;
		int rc = bk_frame_get(cn->rbuf + off, cn->rlen - off, &type, &p, &len, &used);
		if (rc == PROTO_ERR_TRUNCATED)
			break;
		if (rc < 0) {
			if (cn->client)
				conn_close(cn, -EPROTO);
			else
				refuse(cn, cn->st == S_RECV || cn->st == S_HASH ? BK_E_TOO_LONG : BK_E_PROTO,
				       "a malformed frame");
			return;
		}
		off += used;
		on_frame(cn, type, p, len);
	}
	if (cn->closing)
		return;
	memmove(cn->rbuf, cn->rbuf + off, cn->rlen - off);
	cn->rlen -= off;
}

/* The peer's name in logs: its key's first 8 bytes in hex, and where
 * from. */
static void did_short(struct conn *cn)
{
	char h[17];

	hex_encode(cn->peer, 8, h);
	snprintf(cn->who, sizeof cn->who, "%s", h);
}

static struct conn *conn_new(struct bkchan *c, bool client)
{
	struct conn *cn = calloc(1, sizeof *cn);

	if (!cn)
		return NULL;
	cn->c = c;
	cn->client = client;
	cn->fd = -1;
	cn->sync_fd = -1;
	uv_tcp_init(c->loop, &cn->tcp);
	uv_timer_init(c->loop, &cn->timer);
	cn->tcp.data = cn->timer.data = cn;
	cn->handles = 2;
	cn->next = c->conns;
	c->conns = cn;
	c->nconns++;
	uv_timer_start(&cn->timer, idle, BK_IDLE_MS, BK_IDLE_MS);
	return cn;
}

/* ---- streaming ---- */

static void data_written(uv_write_t *w, int status);

/* Send the next frames of the file (one write of up to WFRAMES frames in
 * flight). At the end: the client waits for its receipt, the holder for
 * the next request. */
static void send_data(struct conn *cn)
{
	size_t out = 0;

	if (cn->pos == cn->size) {
		close(cn->fd);
		cn->fd = -1;
		cn->st = cn->client ? C_RECEIPT : S_READY;
		if (!cn->client)
			cn->c->st.gets++;
		return;
	}
	if (!cn->wbuf && !(cn->wbuf = malloc(WBUF))) {
		conn_close(cn, -ENOMEM);
		return;
	}
	uint64_t at = cn->pos;
	for (int i = 0; i < WFRAMES && at < cn->size; i++) {
		size_t want = cn->size - at < BK_DATA_MAX ? (size_t)(cn->size - at) : BK_DATA_MAX;
		ssize_t r = pread(cn->fd, cn->wbuf + out + BK_HDR, want, (off_t)at);
		if (r != (ssize_t)want) {
			if (cn->client)
				conn_close(cn, r < 0 ? -errno : -EAGAIN);
			else
				refuse(cn, BK_E_IO, "the blob could not be read");
			return;
		}
		bk_frame_hdr(cn->wbuf + out, BK_DATA, want);
		out += BK_HDR + want;
		at += want;
	}
	uv_buf_t b = uv_buf_init((char *)cn->wbuf, (unsigned)out);
	uv_write_t *w = malloc(sizeof *w);
	if (!w) {
		conn_close(cn, -ENOMEM);
		return;
	}
	w->data = cn;
	cn->writing = true;
	if (uv_write(w, (uv_stream_t *)&cn->tcp, &b, 1, data_written) < 0) {
		free(w);
		conn_close(cn, -EPIPE);
		return;
	}
	cn->c->st.bytes_out += at - cn->pos;
	cn->pos = at;
}

static void data_written(uv_write_t *w, int status)
{
	struct conn *cn = w->data;

	free(w);
	cn->writing = false;
	if (cn->closing)
		return;
	if (status < 0) {
		conn_close(cn, -EPIPE);
		return;
	}
	if (cn->progress)
		cn->progress(cn->ctx, cn->pos, cn->size);
	uv_timer_again(&cn->timer);
	send_data(cn);
}

static void hash_work(uv_work_t *w)
{
	struct conn *cn = w->data;
	uint8_t got[32];
	uint64_t size;
	int fd;

	/* off the loop: fsync of a whole blob takes seconds on a router's flash */
	if (cn->sync_fd >= 0) {
		fsync(cn->sync_fd);
		close(cn->sync_fd);
		cn->sync_fd = -1;
	}
	fd = open(cn->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		cn->work_rc = -errno;
		return;
	}
	cn->work_rc = snapfile_hash(fd, got, &size);
	close(fd);
	if (cn->work_rc == 0 && (size != cn->size || memcmp(got, cn->hash, 32) != 0))
		cn->work_rc = -EBADMSG;
}

static void hash_done(uv_work_t *w, int status)
{
	struct conn *cn = w->data;
	struct bkchan *c = cn->c;

	cn->work_pending = false;
	if (cn->closing) {
		if (cn->handles == 0) {
			free(cn->wbuf);
			free(cn);
		}
		return;
	}
	if (status < 0 && cn->work_rc == 0)
		cn->work_rc = status;
	if (cn->client) {
		if (cn->work_rc < 0) {
			cn->doomed = true;   /* a bad copy: not kept for a resume */
			conn_close(cn, cn->work_rc == -EBADMSG ? -EBADMSG : cn->work_rc);
			return;
		}
		job_finish(cn, 0, 0, NULL);
		conn_close(cn, 0);
		return;
	}
	if (cn->doomed) {   /* bytes after the declared end came meanwhile */
		refuse(cn, BK_E_TOO_LONG, "more bytes than declared");
		return;
	}
	if (cn->work_rc < 0) {
		refuse(cn, cn->work_rc == -EBADMSG ? BK_E_HASH : BK_E_IO,
		       cn->work_rc == -EBADMSG ? "the bytes do not hash to the declared hash"
					       : "the blob could not be read back");
		return;
	}
	if (rename(cn->path, cn->final) < 0) {
		cn->doomed = true;
		refuse(cn, BK_E_IO, "the blob could not be stored");
		return;
	}
	cn->path[0] = 0;
	c->st.puts++;
	if (c->ops.stored)
		c->ops.stored(c->ops.ctx, cn->owner, cn->hash, cn->size);
	struct bk_sig r;
	bk_receipt_sign(c->key, cn->owner, cn->hash, cn->size, r.sig);
	cn->st = S_READY;
	send_ctrl(cn, BK_RECEIPT, &r);
}

static void start_hash(struct conn *cn, enum cstate st)
{
	cn->sync_fd = cn->fd;   /* the pool syncs and closes it */
	cn->fd = -1;
	cn->st = st;
	cn->work.data = cn;
	cn->work_pending = true;
	if (uv_queue_work(cn->c->loop, &cn->work, hash_work, hash_done) < 0) {
		cn->work_pending = false;
		if (cn->sync_fd >= 0)
			close(cn->sync_fd);
		cn->sync_fd = -1;
		conn_close(cn, -ENOMEM);
	}
}

/* DATA as a receiver (holder PUT, client GET): append, at the end hash. */
static void recv_data(struct conn *cn, const uint8_t *p, size_t n)
{
	if (n > cn->size - cn->pos) {
		if (cn->client) {
			cn->doomed = true;
			conn_close(cn, -EPROTO);
		} else {
			refuse(cn, BK_E_TOO_LONG, "more bytes than declared");
		}
		return;
	}
	if (pwrite(cn->fd, p, n, (off_t)cn->pos) != (ssize_t)n) {
		if (cn->client)
			conn_close(cn, -EIO);
		else
			refuse(cn, BK_E_IO, "the holder's disk failed");
		return;
	}
	cn->pos += n;
	cn->c->st.bytes_in += n;
	if (cn->progress)
		cn->progress(cn->ctx, cn->pos, cn->size);
	if (cn->pos == cn->size)
		start_hash(cn, cn->client ? C_HASH : S_HASH);
}

/* ---- the holder ---- */

static bool part_busy(struct bkchan *c, const struct conn *self, const char *path)
{
	for (struct conn *o = c->conns; o; o = o->next)
		if (o != self && !o->client && !strcmp(o->path, path) &&
		    (o->st == S_RECV || o->st == S_HASH))
			return true;
	return false;
}

static int open_part(const char *path, uint64_t size, uint64_t *have)
{
	struct stat sb;
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	*have = (uint64_t)sb.st_size;
	if (*have > size) {
		if (ftruncate(fd, 0) < 0) {
			close(fd);
			return -errno;
		}
		*have = 0;
	}
	return fd;
}

static void do_put(struct conn *cn, const struct bk_req *q)
{
	struct bkchan *c = cn->c;
	char dir[PATH_MAX];
	struct stat sb;
	uint64_t have = 0;

	if (memcmp(q->owner, cn->peer, 32) != 0) {
		refuse(cn, BK_E_OWNER, "a PUT for another node's snapshot");
		return;
	}
	memcpy(cn->owner, q->owner, 32);
	memcpy(cn->hash, q->hash, 32);
	cn->size = q->size;
	bkchan_blob_path(c->dir, q->owner, q->hash, "", cn->final, sizeof cn->final);
	/* held already: the same receipt again (an owner that lost it) */
	if (stat(cn->final, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == q->size) {
		struct bk_ok ok = { q->size };
		struct bk_sig r;
		bk_receipt_sign(c->key, cn->owner, cn->hash, cn->size, r.sig);
		if (send_ctrl(cn, BK_OK, &ok) == 0)
			send_ctrl(cn, BK_RECEIPT, &r);
		return;
	}
	if (q->size < SNAP_PREFIX_LEN || q->size > SNAP_MAX_PLAIN + SNAP_MAX_PLAIN / 64) {
		refuse(cn, BK_E_QUOTA, "size out of bounds");
		return;
	}
	if (c->ops.admit && c->ops.admit(c->ops.ctx, q->owner, q->hash, q->size) < 0) {
		refuse(cn, BK_E_QUOTA, "over the owner's quota or the space offered");
		return;
	}
	bkchan_blob_path(c->dir, q->owner, NULL, NULL, dir, sizeof dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		refuse(cn, BK_E_IO, "the holder's disk failed");
		return;
	}
	bkchan_blob_path(c->dir, q->owner, q->hash, ".part", cn->path, sizeof cn->path);
	if (part_busy(c, cn, cn->path)) {
		cn->path[0] = 0;
		refuse(cn, BK_E_BUSY, "the same blob is being written");
		return;
	}
	if ((cn->fd = open_part(cn->path, q->size, &have)) < 0) {
		cn->path[0] = 0;
		refuse(cn, BK_E_IO, "the holder's disk failed");
		return;
	}
	if (have)
		c->st.resumed++;
	cn->pos = have;
	struct bk_ok ok = { have };
	if (send_ctrl(cn, BK_OK, &ok) < 0)
		return;
	if (have == q->size)
		start_hash(cn, S_HASH);
	else
		cn->st = S_RECV;
}

static void do_get(struct conn *cn, const struct bk_req *q)
{
	struct stat sb;

	memcpy(cn->owner, q->owner, 32);
	memcpy(cn->hash, q->hash, 32);
	bkchan_blob_path(cn->c->dir, q->owner, q->hash, "", cn->final, sizeof cn->final);
	cn->fd = open(cn->final, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (cn->fd < 0 || fstat(cn->fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		refuse(cn, BK_E_NOT_FOUND, "no such blob here");
		return;
	}
	cn->size = (uint64_t)sb.st_size;
	if (q->offset > cn->size) {
		refuse(cn, BK_E_PROTO, "offset past the end");
		return;
	}
	cn->pos = q->offset;
	struct bk_ok ok = { cn->size };
	if (send_ctrl(cn, BK_OK, &ok) < 0)
		return;
	cn->st = S_SEND;
	send_data(cn);
}

static void server_frame(struct conn *cn, uint8_t type, const uint8_t *p, size_t n)
{
	struct bkchan *c = cn->c;
	uint8_t m[128];

	switch (cn->st) {
	case S_HELLO: {
		struct bk_hello h;
		struct bk_challenge ch;
		if (type != BK_HELLO || bk_decode(type, p, n, &h) < 0 || h.v != BK_VERSION) {
			refuse(cn, BK_E_PROTO, "no valid HELLO");
			return;
		}
		memcpy(cn->peer, h.pk, 32);
		memcpy(cn->nc, h.nonce, 32);
		crypto_random(cn->ns, sizeof cn->ns);
		memcpy(ch.pk, c->key->pk, 32);
		memcpy(ch.nonce, cn->ns, 32);
		auth_msg(cn, cn->peer, c->key->pk, m);
		sign_detached(c->key, CTX_SERVER, m, sizeof m, ch.sig);
		cn->st = S_AUTH;
		send_ctrl(cn, BK_CHALLENGE, &ch);
		return;
	}
	case S_AUTH: {
		struct bk_sig a;
		static const struct { uint8_t unused; } ready;
		if (type != BK_AUTH || bk_decode(type, p, n, &a) < 0) {
			refuse(cn, BK_E_PROTO, "no valid AUTH");
			return;
		}
		auth_msg(cn, cn->peer, c->key->pk, m);
		if (sign_verify(cn->peer, CTX_CLIENT, m, sizeof m, a.sig) != 0) {
			refuse(cn, BK_E_AUTH, "the challenge's signature does not verify");
			return;
		}
		did_short(cn);
		if (!c->ops.member || !c->ops.member(c->ops.ctx, cn->peer)) {
			refuse(cn, BK_E_MEMBER, "not a current member");
			return;
		}
		cn->st = S_READY;
		send_ctrl(cn, BK_READY, &ready);
		return;
	}
	case S_READY: {
		struct bk_req q;
		uint8_t d[32];
		if ((type != BK_PUT && type != BK_GET) || bk_decode(type, p, n, &q) < 0) {
			refuse(cn, BK_E_PROTO, "not a PUT or a GET");
			return;
		}
		req_digest(cn, type, &q, d);
		if (sign_digest_verify(cn->peer, d, q.sig) != 0) {
			refuse(cn, BK_E_AUTH, "the request's signature does not verify (a replay?)");
			return;
		}
		uint64_t now = c->ops.now_ms(c->ops.ctx);
		if (q.time + BK_WINDOW_MS < now || q.time > now + BK_WINDOW_MS) {
			refuse(cn, BK_E_STALE, "the request's time is outside the window");
			return;
		}
		cn->op = type;
		if (type == BK_PUT)
			do_put(cn, &q);
		else
			do_get(cn, &q);
		return;
	}
	case S_RECV:
		if (type != BK_DATA) {
			cn->doomed = true;
			refuse(cn, BK_E_PROTO, "a control frame inside the data");
			return;
		}
		recv_data(cn, p, n);
		return;
	case S_HASH:
		/* the declared size is reached: anything now is one byte too many */
		cn->doomed = true;
		return;   /* refused (and counted) when the hash is done */
	default:
		refuse(cn, BK_E_PROTO, "a frame while sending");
		return;
	}
}

/* ---- the client ---- */

static void client_frame(struct conn *cn, uint8_t type, const uint8_t *p, size_t n)
{
	struct bkchan *c = cn->c;
	uint8_t m[128];

	if (type == BK_ERR) {
		struct bk_err e;
		unsigned code = bk_decode(type, p, n, &e) == 0 && e.code ? e.code : BK_E_PROTO;
		log_warn("backup: %s refused our %s: %s (%s)", cn->who, cn->op == BK_PUT ? "PUT" : "GET",
			 bk_code_name(code), e.message);
		if (cn->st == C_RECV)
			cn->doomed = false;   /* keep what we have for a resume */
		job_finish(cn, 0, code, NULL);
		conn_close(cn, -EPROTO);
		return;
	}
	switch (cn->st) {
	case C_CHAL: {
		struct bk_challenge ch;
		struct bk_sig a;
		if (type != BK_CHALLENGE || bk_decode(type, p, n, &ch) < 0 ||
		    memcmp(ch.pk, cn->peer, 32) != 0) {
			conn_close(cn, -EPROTO);   /* not the holder we meant */
			return;
		}
		memcpy(cn->ns, ch.nonce, 32);
		auth_msg(cn, c->key->pk, cn->peer, m);
		if (sign_verify(cn->peer, CTX_SERVER, m, sizeof m, ch.sig) != 0) {
			conn_close(cn, -EPROTO);
			return;
		}
		sign_detached(c->key, CTX_CLIENT, m, sizeof m, a.sig);
		cn->st = C_READY;
		send_ctrl(cn, BK_AUTH, &a);
		return;
	}
	case C_READY: {
		struct bk_req q;
		uint8_t d[32];
		if (type != BK_READY) {
			conn_close(cn, -EPROTO);
			return;
		}
		memset(&q, 0, sizeof q);
		memcpy(q.owner, cn->owner, 32);
		memcpy(q.hash, cn->hash, 32);
		q.size = cn->op == BK_PUT ? cn->size : 0;
		q.offset = cn->op == BK_GET ? cn->pos : 0;
		q.time = c->ops.now_ms(c->ops.ctx);
		req_digest(cn, cn->op, &q, d);
		sign_digest_sign(c->key, d, q.sig);
		cn->st = C_OK;
		send_ctrl(cn, cn->op, &q);
		return;
	}
	case C_OK: {
		struct bk_ok ok;
		if (type != BK_OK || bk_decode(type, p, n, &ok) < 0) {
			conn_close(cn, -EPROTO);
			return;
		}
		if (cn->op == BK_PUT) {
			if (ok.n > cn->size) {
				conn_close(cn, -EPROTO);
				return;
			}
			cn->pos = ok.n;
			cn->st = C_SEND;
			send_data(cn);
			return;
		}
		if (ok.n != cn->size) {   /* not the blob the record describes */
			conn_close(cn, -EBADMSG);
			return;
		}
		cn->st = C_RECV;
		if (cn->pos == cn->size)
			start_hash(cn, C_HASH);
		return;
	}
	case C_RECV:
		if (type != BK_DATA) {
			conn_close(cn, -EPROTO);
			return;
		}
		recv_data(cn, p, n);
		return;
	case C_SEND:
	case C_RECEIPT: {
		struct bk_sig r;
		if (type != BK_RECEIPT || bk_decode(type, p, n, &r) < 0 ||
		    !bk_receipt_ok(cn->peer, cn->owner, cn->hash, cn->size, r.sig)) {
			conn_close(cn, -EPROTO);
			return;
		}
		if (cn->pos != cn->size && cn->st == C_SEND)   /* held already */
			cn->pos = cn->size;
		job_finish(cn, 0, 0, r.sig);
		conn_close(cn, 0);
		return;
	}
	default:
		conn_close(cn, -EPROTO);
		return;
	}
}

static void on_frame(struct conn *cn, uint8_t type, const uint8_t *p, size_t n)
{
	if (cn->client)
		client_frame(cn, type, p, n);
	else
		server_frame(cn, type, p, n);
}

static void on_connect(uv_connect_t *req, int status)
{
	struct conn *cn = req->data;
	struct bk_hello h;

	if (cn->closing)
		return;
	if (status < 0) {
		conn_close(cn, status);
		return;
	}
	h.v = BK_VERSION;
	memcpy(h.pk, cn->c->key->pk, 32);
	crypto_random(cn->nc, sizeof cn->nc);
	memcpy(h.nonce, cn->nc, 32);
	cn->st = C_CHAL;
	if (uv_read_start((uv_stream_t *)&cn->tcp, on_alloc, on_read) < 0) {
		conn_close(cn, -EIO);
		return;
	}
	send_ctrl(cn, BK_HELLO, &h);
}

static int job_start(struct bkchan *c, uint8_t op, const struct bkjob_req *r, struct bkjob **out)
{
	struct conn *cn;
	struct stat sb;
	int rc;

	if (c->stopped)
		return -ECANCELED;
	if (c->nconns >= 2 * BK_MAX_CONNS)
		return -EBUSY;
	if (strlen(r->path) >= sizeof cn->path)
		return -ENAMETOOLONG;
	if (!(cn = conn_new(c, true)))
		return -ENOMEM;
	cn->op = op;
	memcpy(cn->peer, r->peer, 32);
	memcpy(cn->owner, op == BK_PUT ? c->key->pk : r->owner, 32);
	memcpy(cn->hash, r->hash, 32);
	cn->size = r->size;
	snprintf(cn->path, sizeof cn->path, "%s", r->path);
	cn->done = r->done;
	cn->progress = r->progress;
	cn->ctx = r->ctx;
	did_short(cn);
	if (op == BK_PUT) {
		cn->fd = open(r->path, O_RDONLY | O_CLOEXEC);
		if (cn->fd < 0 || fstat(cn->fd, &sb) < 0 || (uint64_t)sb.st_size != r->size)
			rc = -EINVAL;
		else
			rc = 0;
		cn->path[0] = 0;   /* never removed by the job */
	} else {
		cn->fd = open(r->path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (cn->fd < 0 || fstat(cn->fd, &sb) < 0 || !S_ISREG(sb.st_mode))
			rc = -EIO;
		else if ((uint64_t)sb.st_size > r->size)
			rc = ftruncate(cn->fd, 0) < 0 ? -errno : 0;
		else
			rc = 0, cn->pos = (uint64_t)sb.st_size;   /* resume */
	}
	if (rc == 0) {
		cn->creq.data = cn;
		rc = uv_tcp_connect(&cn->creq, &cn->tcp, r->sa, on_connect);
	}
	if (rc < 0) {
		cn->done = NULL;   /* the caller hears it from the return value */
		conn_close(cn, rc);
		return rc;
	}
	cn->st = C_CONNECT;
	if (out)
		*out = (struct bkjob *)cn;
	return 0;
}

int bkchan_put(struct bkchan *c, const struct bkjob_req *r, struct bkjob **out)
{
	return job_start(c, BK_PUT, r, out);
}

int bkchan_get(struct bkchan *c, const struct bkjob_req *r, struct bkjob **out)
{
	return job_start(c, BK_GET, r, out);
}

void bkjob_cancel(struct bkjob *j)
{
	conn_close(&j->cn, -ECANCELED);
}

/* ---- the channel ---- */

static void on_conn(uv_stream_t *srv, int status)
{
	struct bkchan *c = srv->data;
	struct conn *cn;

	if (status < 0 || !(cn = conn_new(c, false)))
		return;
	c->st.conns++;
	cn->st = S_HELLO;
	snprintf(cn->who, sizeof cn->who, "a connection");
	if (uv_accept(srv, (uv_stream_t *)&cn->tcp) < 0) {
		conn_close(cn, 0);
		return;
	}
	unsigned nin = 0;
	for (struct conn *o = c->conns; o; o = o->next)
		nin += !o->client;
	if (nin > BK_MAX_CONNS) {
		refuse(cn, BK_E_BUSY, "too many connections");
		return;
	}
	if (uv_read_start((uv_stream_t *)&cn->tcp, on_alloc, on_read) < 0)
		conn_close(cn, 0);
}

struct bkchan *bkchan_new(uv_loop_t *loop, const struct node_key *key, const char *dir,
			  const struct bkchan_ops *ops)
{
	struct bkchan *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->loop = loop;
	c->key = key;
	c->ops = *ops;
	if (dir) {
		snprintf(c->dir, sizeof c->dir, "%s", dir);
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			free(c);
			return NULL;
		}
	}
	return c;
}

int bkchan_listen(struct bkchan *c, const struct sockaddr *sa)
{
	int rc;

	if (!c->dir[0])
		return -EINVAL;
	uv_tcp_init(c->loop, &c->srv);
	c->srv.data = c;
	c->listening = true;
	if ((rc = uv_tcp_bind(&c->srv, sa, 0)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&c->srv, 16, on_conn)) < 0)
		return rc;
	return 0;
}

int bkchan_port(struct bkchan *c)
{
	struct sockaddr_storage ss;
	int len = sizeof ss;

	if (!c->listening || uv_tcp_getsockname(&c->srv, (struct sockaddr *)&ss, &len) < 0)
		return -EINVAL;
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

void bkchan_stop(struct bkchan *c)
{
	if (!c || c->stopped)
		return;
	c->stopped = true;
	while (c->conns)
		conn_close(c->conns, -ECANCELED);
	if (c->listening)
		uv_close((uv_handle_t *)&c->srv, NULL);
}

void bkchan_free(struct bkchan *c)
{
	free(c);
}

const struct bkchan_stats *bkchan_stats(const struct bkchan *c)
{
	return &c->st;
}
