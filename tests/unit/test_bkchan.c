/* The bulk channel on loopback (src/backup/bkchan.c): a holder and
 * clients in one libuv loop, and a raw client (a thread with a blocking
 * socket) for what a hostile peer would send. A member's PUT of a 3 MiB
 * snapshot gets a valid receipt and the holder's file is the same bytes,
 * 0600, no part left; PUT again: the same receipt at once; another member's
 * GET gives identical bytes; a GET expecting another hash fails and keeps
 * nothing. Refused and counted, nothing stored: a non-member, a PUT over
 * quota, bytes that do not hash to the PUT's hash, a stream longer than
 * declared, a request replayed on a new connection, a request dated an
 * hour ago, a PUT for someone else. A PUT cut off midway resumes. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "tests/check.h"
#include "crypto/crypto.h"
#include "crypto/key.h"
#include "crypto/sign.h"
#include "src/backup/bkchan.h"
#include "src/backup/snapfile.h"
#include "proto/bkwire.h"

static uv_loop_t loop;
static struct node_key holder_k, owner_k, other_k, stranger_k;
static char dir[64], hdir[128];
static uint64_t quota = 8u << 20;
static struct sockaddr_in hsa;

static uint64_t now_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool member(void *ctx, const uint8_t pk[32])
{
	(void)ctx;
	return memcmp(pk, stranger_k.pk, 32) != 0;
}

static uint64_t used;
static int admit(void *ctx, const uint8_t owner[32], const uint8_t hash[32], uint64_t size)
{
	(void)ctx, (void)owner, (void)hash;
	return used + size > quota ? -EDQUOT : 0;
}

static unsigned nstored;
static void stored(void *ctx, const uint8_t owner[32], const uint8_t hash[32], uint64_t size)
{
	(void)ctx, (void)owner, (void)hash;
	used += size;
	nstored++;
}

static const struct bkchan_ops ops = { NULL, member, admit, stored, now_ms };

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

static void run_until(struct result *r)
{
	for (int i = 0; i < 100000 && !r->done; i++)
		uv_run(&loop, UV_RUN_ONCE);
}

/* A file of n bytes, and its hash. */
static void make_file(const char *path, size_t n, uint8_t seed, uint8_t hash[32])
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	uint8_t buf[4096];
	uint64_t size;

	for (size_t off = 0; off < n; off += sizeof buf) {
		for (size_t i = 0; i < sizeof buf; i++)
			buf[i] = (uint8_t)(seed + (off + i) * 31 / 7);
		snapfile_write_full(fd, buf, n - off < sizeof buf ? n - off : sizeof buf);
	}
	snapfile_hash(fd, hash, &size);
	close(fd);
}

static int files_in(const char *d)
{
	DIR *dd = opendir(d);
	struct dirent *e;
	int n = 0;

	if (!dd)
		return 0;
	while ((e = readdir(dd)))
		n += e->d_name[0] != '.';
	closedir(dd);
	return n;
}

static struct result put(struct bkchan *c, const char *path, const uint8_t hash[32], uint64_t size)
{
	struct result r = { 0 };
	struct bkjob_req q = { (struct sockaddr *)&hsa, holder_k.pk, NULL, hash, size, path, NULL,
			       done, &r };
	CHECK_INT(bkchan_put(c, &q, NULL), 0);
	run_until(&r);
	return r;
}

static struct result get(struct bkchan *c, const uint8_t owner[32], const uint8_t hash[32],
			 uint64_t size, const char *path)
{
	struct result r = { 0 };
	struct bkjob_req q = { (struct sockaddr *)&hsa, holder_k.pk, owner, hash, size, path, NULL,
			       done, &r };
	CHECK_INT(bkchan_get(c, &q, NULL), 0);
	run_until(&r);
	return r;
}

/* ---- the raw client: a thread speaking the protocol by hand ---- */

struct raw {
	const struct node_key *k;
	uint8_t type;            /* BK_PUT / BK_GET */
	struct bk_req q;         /* sig filled by the client unless replay */
	bool replay;             /* send q (with its sig) as is */
	int64_t time_shift_ms;
	const uint8_t *data;     /* sent after OK, from OK's offset */
	size_t ndata, stop_after;/* stop_after: close after this many bytes (0: all) */
	/* out */
	uint8_t last_type;
	uint8_t err_code;
	struct bk_req sent;
	bool finished;
};

static int rd(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int rframe(int fd, uint8_t *type, uint8_t *buf, size_t *n)
{
	uint8_t h[BK_HDR];

	if (rd(fd, h, BK_HDR) < 0)
		return -1;
	*type = h[0];
	*n = (size_t)h[1] << 24 | (size_t)h[2] << 16 | (size_t)h[3] << 8 | h[4];
	if (*n > BK_FRAME_MAX)
		return -1;
	return rd(fd, buf, *n);
}

static void wctrl(int fd, uint8_t type, const void *m)
{
	uint8_t b[BK_HDR + BK_CTRL_MAX];
	size_t n;

	if (bk_encode(type, m, b, sizeof b, &n) == 0)
		snapfile_write_full(fd, b, n);
}

static void *raw_thread(void *arg)
{
	struct raw *r = arg;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	uint8_t buf[BK_FRAME_MAX], type, nc[32], m[128 + 89];
	size_t n;
	struct bk_hello h = { BK_VERSION, { 0 }, { 0 } };
	struct bk_challenge ch;
	struct bk_sig a;

	if (connect(fd, (struct sockaddr *)&hsa, sizeof hsa) < 0)
		goto out;
	memcpy(h.pk, r->k->pk, 32);
	crypto_random(nc, 32);
	memcpy(h.nonce, nc, 32);
	wctrl(fd, BK_HELLO, &h);
	if (rframe(fd, &type, buf, &n) < 0 || bk_decode(type, buf, n, &ch) < 0)
		goto out;
	memcpy(m, nc, 32);
	memcpy(m + 32, ch.nonce, 32);
	memcpy(m + 64, r->k->pk, 32);
	memcpy(m + 96, ch.pk, 32);
	sign_detached(r->k, "mirrornet/v1/backup/auth-client", m, 128, a.sig);
	wctrl(fd, BK_AUTH, &a);
	if (rframe(fd, &type, buf, &n) < 0 || (r->last_type = type) != BK_READY)
		goto answer;
	if (!r->replay) {
		uint8_t d[32];
		r->q.time = now_ms(NULL) + (uint64_t)r->time_shift_ms;
		memcpy(m, ch.nonce, 32);
		memcpy(m + 32, nc, 32);
		size_t tl = bk_req_tbs(r->type, &r->q, m + 64);
		sign_digest("mirrornet/v1/backup/request", NULL, 0, m, 64 + tl, d);
		sign_digest_sign(r->k, d, r->q.sig);
	}
	r->sent = r->q;
	wctrl(fd, r->type, &r->q);
	if (rframe(fd, &type, buf, &n) < 0)
		goto out;
	r->last_type = type;
	if (type == BK_OK && r->data) {
		struct bk_ok ok;
		bk_decode(type, buf, n, &ok);
		size_t end = r->stop_after ? r->stop_after : r->ndata;
		for (size_t off = (size_t)ok.n; off < end; off += BK_DATA_MAX) {
			size_t k = end - off < BK_DATA_MAX ? end - off : BK_DATA_MAX;
			uint8_t hd[BK_HDR];
			bk_frame_hdr(hd, BK_DATA, k);
			snapfile_write_full(fd, hd, BK_HDR);
			snapfile_write_full(fd, r->data + off, k);
		}
		if (r->stop_after)
			goto out;
		if (rframe(fd, &type, buf, &n) < 0)
			goto out;
		r->last_type = type;
	}
answer:
	if (r->last_type == BK_ERR) {
		struct bk_err e;
		if (bk_decode(BK_ERR, buf, n, &e) == 0)
			r->err_code = e.code;
	}
out:
	close(fd);
	r->finished = true;
	return NULL;
}

/* A raw PUT by k of owner's hash, size bytes declared. */
static struct raw raw_put(const struct node_key *k, const uint8_t owner[32], const uint8_t hash[32],
			  uint64_t size)
{
	struct raw w = { .k = k, .type = BK_PUT };

	memcpy(w.q.owner, owner, 32);
	memcpy(w.q.hash, hash, 32);
	w.q.size = size;
	return w;
}

static void raw_run(struct raw *r)
{
	pthread_t t;

	pthread_create(&t, NULL, raw_thread, r);
	for (int i = 0; i < 200000 && !__atomic_load_n(&r->finished, __ATOMIC_SEQ_CST); i++)
		uv_run(&loop, UV_RUN_NOWAIT), usleep(100);
	pthread_join(t, NULL);
	for (int i = 0; i < 50; i++)
		uv_run(&loop, UV_RUN_NOWAIT), usleep(1000);
}

static uint8_t *slurp_bin(const char *path, size_t *n)
{
	int fd = open(path, O_RDONLY);
	struct stat sb;
	uint8_t *b;

	if (fd < 0)
		return NULL;
	fstat(fd, &sb);
	b = malloc((size_t)sb.st_size + 1);
	*n = (size_t)snapfile_read_full(fd, b, (size_t)sb.st_size);
	close(fd);
	return b;
}

int main(void)
{
	uint8_t s1[32] = { 1 }, s2[32] = { 2 }, s3[32] = { 3 }, s4[32] = { 4 };
	uint8_t hash[32], hash2[32];
	char src[128], part[128], blob[256], out[128];
	const size_t size = 3u << 20;

	crypto_init();
	node_key_from_seed(&holder_k, s1);
	node_key_from_seed(&owner_k, s2);
	node_key_from_seed(&other_k, s3);
	node_key_from_seed(&stranger_k, s4);
	snprintf(dir, sizeof dir, "/tmp/mn-test-bkchan-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(hdir, sizeof hdir, "%s/holder", dir);
	uv_loop_init(&loop);

	struct bkchan *h = bkchan_new(&loop, &holder_k, hdir, &ops);
	struct bkchan *o = bkchan_new(&loop, &owner_k, NULL, &ops);
	struct bkchan *x = bkchan_new(&loop, &other_k, NULL, &ops);
	struct bkchan *s = bkchan_new(&loop, &stranger_k, NULL, &ops);
	uv_ip4_addr("127.0.0.1", 0, &hsa);
	CHECK_INT(bkchan_listen(h, (struct sockaddr *)&hsa), 0);
	hsa.sin_port = htons((uint16_t)bkchan_port(h));
	const struct bkchan_stats *st = bkchan_stats(h);

	/* a member's PUT, a receipt, the same bytes on the holder's disk */
	snprintf(src, sizeof src, "%s/snap", dir);
	make_file(src, size, 7, hash);
	struct result r = put(o, src, hash, size);
	CHECK_INT(r.rc, 0);
	CHECK_INT(r.code, 0);
	CHECK(bk_receipt_ok(holder_k.pk, owner_k.pk, hash, size, r.receipt));
	CHECK(!bk_receipt_ok(other_k.pk, owner_k.pk, hash, size, r.receipt));
	bkchan_blob_path(hdir, owner_k.pk, hash, "", blob, sizeof blob);
	size_t n1, n2;
	uint8_t *a = slurp_bin(src, &n1), *b = slurp_bin(blob, &n2);
	CHECK(b && n1 == n2 && !memcmp(a, b, n1));
	free(b);
	struct stat sb;
	CHECK(stat(blob, &sb) == 0 && (sb.st_mode & 0777) == 0600);
	bkchan_blob_path(hdir, owner_k.pk, NULL, NULL, part, sizeof part);
	CHECK(stat(part, &sb) == 0 && (sb.st_mode & 0777) == 0700);
	CHECK_INT(files_in(part), 1);
	CHECK_INT(st->puts, 1);
	CHECK_INT(nstored, 1);

	/* again: held, the receipt at once, nothing sent */
	uint64_t in0 = st->bytes_in;
	r = put(o, src, hash, size);
	CHECK_INT(r.rc, 0);
	CHECK(bk_receipt_ok(holder_k.pk, owner_k.pk, hash, size, r.receipt));
	CHECK_INT(st->bytes_in, in0);

	/* another member pulls it: identical */
	snprintf(out, sizeof out, "%s/pulled.part", dir);
	r = get(x, owner_k.pk, hash, size, out);
	CHECK_INT(r.rc, 0);
	b = slurp_bin(out, &n2);
	CHECK(b && n1 == n2 && !memcmp(a, b, n1));
	free(b);
	/* ... expecting another hash: refused, nothing kept */
	unlink(out);
	memcpy(hash2, hash, 32);
	hash2[0] ^= 1;
	r = get(x, owner_k.pk, hash2, size, out);
	CHECK(r.code == BK_E_NOT_FOUND);
	/* a corrupted copy on the holder: the puller detects it */
	int fd = open(blob, O_WRONLY);
	CHECK(pwrite(fd, "X", 1, 1000) == 1);
	close(fd);
	unlink(out);
	r = get(x, owner_k.pk, hash, size, out);
	CHECK_INT(r.rc, -EBADMSG);
	CHECK(access(out, F_OK) != 0);
	fd = open(blob, O_WRONLY);
	CHECK(pwrite(fd, a + 1000, 1, 1000) == 1);
	close(fd);

	/* a stranger: refused after the challenge, nothing written */
	uint64_t before = st->refused[BK_E_MEMBER];
	char src2[128];
	snprintf(src2, sizeof src2, "%s/snap2", dir);
	make_file(src2, 100000, 9, hash2);
	r = put(s, src2, hash2, 100000);
	CHECK_INT(r.code, BK_E_MEMBER);
	CHECK_INT(st->refused[BK_E_MEMBER], before + 1);
	bkchan_blob_path(hdir, stranger_k.pk, NULL, NULL, part, sizeof part);
	CHECK(access(part, F_OK) != 0);

	/* over quota */
	quota = used + 50000;
	r = put(o, src2, hash2, 100000);
	CHECK_INT(r.code, BK_E_QUOTA);
	CHECK_INT(st->refused[BK_E_QUOTA], 1);
	quota = 64u << 20;
	bkchan_blob_path(hdir, owner_k.pk, NULL, NULL, part, sizeof part);
	CHECK_INT(files_in(part), 1);

	/* raw: bytes that do not hash to the declared hash */
	uint8_t *junk = malloc(200000);
	memset(junk, 0x5a, 200000);
	struct raw w = raw_put(&owner_k, owner_k.pk, hash2, 100000);
	w.data = junk;
	w.ndata = 100000;
	raw_run(&w);
	CHECK_INT(w.err_code, BK_E_HASH);
	CHECK_INT(st->refused[BK_E_HASH], 1);
	CHECK_INT(files_in(part), 1);

	/* raw: a stream longer than declared */
	w = raw_put(&owner_k, owner_k.pk, hash2, 100000);
	w.data = junk;
	w.ndata = 100001;
	raw_run(&w);
	CHECK_INT(w.err_code, BK_E_TOO_LONG);
	CHECK_INT(st->refused[BK_E_TOO_LONG], 1);
	CHECK_INT(files_in(part), 1);

	/* raw: a PUT for another node's snapshot */
	w = raw_put(&other_k, owner_k.pk, hash2, 100000);
	raw_run(&w);
	CHECK_INT(w.err_code, BK_E_OWNER);

	/* raw: dated an hour ago */
	w = raw_put(&owner_k, owner_k.pk, hash2, 100000);
	w.time_shift_ms = -3600000;
	raw_run(&w);
	CHECK_INT(w.err_code, BK_E_STALE);
	CHECK_INT(st->refused[BK_E_STALE], 1);

	/* raw: a PUT cut off midway, replayed on a new connection: the
	 * signature is bound to the first session, refused */
	uint8_t *sbytes = slurp_bin(src2, &n2);
	w = raw_put(&owner_k, owner_k.pk, hash2, n2);
	w.data = sbytes;
	w.ndata = n2;
	w.stop_after = 3 * BK_DATA_MAX / 2;
	raw_run(&w);
	CHECK_INT(w.last_type, BK_OK);
	struct raw rp = { .k = &owner_k, .type = BK_PUT, .replay = true, .q = w.sent };
	raw_run(&rp);
	CHECK_INT(rp.err_code, BK_E_AUTH);
	CHECK_INT(st->refused[BK_E_AUTH], 1);
	/* ... and the owner resumes where the part ends */
	uint64_t res0 = st->resumed, inb = st->bytes_in;
	r = put(o, src2, hash2, n2);
	CHECK_INT(r.rc, 0);
	CHECK_INT(st->resumed, res0 + 1);
	CHECK(st->bytes_in - inb < n2);
	CHECK_INT(files_in(part), 2);

	free(sbytes);
	free(junk);
	free(a);
	bkchan_stop(h);
	bkchan_stop(o);
	bkchan_stop(x);
	bkchan_stop(s);
	uv_run(&loop, UV_RUN_DEFAULT);
	bkchan_free(h);
	bkchan_free(o);
	bkchan_free(x);
	bkchan_free(s);
	uv_loop_close(&loop);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return check_exit();
}
