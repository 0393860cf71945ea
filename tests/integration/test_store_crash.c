/* Nothing committed is lost on a crash of the process, relaxed
 * transactions' commits included (store_begin_relaxed()).
 *
 * Rounds: a child process opens the store and puts records one by one,
 * each its own commit, and after each store_put() that returns success it
 * writes the record's sequence number to a pipe. The parent kills it with
 * SIGKILL after a pseudo-random delay, collects the acknowledged numbers,
 * reopens the store, runs PRAGMA integrity_check and checks that every
 * record acknowledged so far (in this round or any before) is there with
 * its exact bytes. Each round's child continues the sequence, so the
 * database grows and later kills land in a bigger file (and sometimes in a
 * WAL checkpoint).
 *
 * MN_SEED=<n> replays a run; the seed is printed either way. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <sqlite3.h>
#include "tests/check.h"
#include "crypto/crypto.h"
#include "src/store.h"
#include "proto/record.h"

enum {
	ROUNDS = 25,
	PER_ROUND = 3000,          /* a child stops by itself after this many */
	MAX_SEQ = ROUNDS * PER_ROUND,
	DELAY_MIN_MS = 1,
	DELAY_MAX_MS = 40,
};

static uint64_t rng;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Record ids as the engine makes them do not matter to the store: any
 * distinct 32 bytes will do. */
static void test_id(const uint8_t *p, size_t n, uint8_t id[32])
{
	crypto_blake2b(p, n, id);
}

/* Record number seq, always the same bytes: an svc record of varying size
 * (0..7 attributes of up to 200 bytes) so rows span pages and overflow. */
static int make_record(uint32_t seq, uint8_t *wire, size_t *len, uint8_t id[32], uint8_t *kind,
		       uint8_t origin[32], char *key, size_t keycap)
{
	union body b;
	uint8_t body[MN_MAX_BODY];
	size_t blen;
	struct record r;
	int err;

	memset(&b, 0, sizeof b);
	snprintf(b.svc.service, sizeof b.svc.service, "svc%u", seq % 97);
	b.svc.port = (uint16_t)(seq & 0xffff);
	b.svc.n_attrs = (uint8_t)(seq % 8);
	for (unsigned i = 0; i < b.svc.n_attrs; i++) {
		snprintf(b.svc.attrs[i].k, sizeof b.svc.attrs[i].k, "a%u", i);
		size_t n = (seq * 7 + i * 13) % 200;
		memset(b.svc.attrs[i].v, 'a' + (int)((seq + i) % 26), n);
		b.svc.attrs[i].v[n] = 0;
	}
	for (int i = 0; i < 32; i++)
		origin[i] = (uint8_t)(i * 3 + seq % 3);
	snprintf(key, keycap, "seq-%08u", seq);
	*kind = KIND_SVC;
	if ((err = body_encode(KIND_SVC, &b, body, sizeof body, &blen)) < 0 ||
	    (err = record_init(&r, KIND_SVC, origin, key, 1, UINT64_MAX)) < 0)
		return err;
	r.body = body;
	r.body_len = blen;
	if ((err = record_encode(&r, wire, MN_MAX_RECORD)) < 0)
		return err;
	*len = r.wire_len;
	test_id(wire, *len, id);
	return 0;
}

static void ack(int ack_fd, uint32_t seq)
{
	ssize_t w;

	do
		w = write(ack_fd, &seq, sizeof seq);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)sizeof seq)
		_exit(6);
}

/* The child: put from `first` on and acknowledge each success. Records
 * 4..7 of every 8 go in a relaxed transaction (the daemon's group commit
 * of records from peers: not synced at commit) acknowledged after its
 * commit: a crash of the process loses none of them either. Never
 * returns. */
static void writer(const char *path, uint32_t first, int ack_fd)
{
	struct store *s = NULL;
	char err[256];
	uint32_t end = first + PER_ROUND < MAX_SEQ ? first + PER_ROUND : MAX_SEQ;

	if (store_open(path, &s, err, sizeof err) < 0) {
		fprintf(stderr, "child: %s\n", err);
		_exit(3);
	}
	for (uint32_t seq = first; seq < end;) {
		uint32_t n = seq % 8 == 4 && seq + 4 <= end ? 4 : 1;

		if (n > 1 && store_begin_relaxed(s) < 0) {
			fprintf(stderr, "child: begin %u: %s\n", seq, store_last_error(s));
			_exit(5);
		}
		for (uint32_t i = seq; i < seq + n; i++) {
			uint8_t wire[MN_MAX_RECORD], id[32], kind, origin[32];
			char key[32];
			size_t len;

			if (make_record(i, wire, &len, id, &kind, origin, key, sizeof key) < 0)
				_exit(4);
			/* SAME: committed by the previous child, which died before its ack */
			int res = store_put(s, wire, len, id);
			if (res != STORE_INSERTED && res != STORE_SAME) {
				fprintf(stderr, "child: put %u: %d %s\n", i, res, store_last_error(s));
				_exit(5);
			}
		}
		if (n > 1 && store_commit(s) < 0) {
			fprintf(stderr, "child: commit %u: %s\n", seq, store_last_error(s));
			_exit(5);
		}
		for (uint32_t i = seq; i < seq + n; i++)
			ack(ack_fd, i);
		seq += n;
	}
	store_close(s);
	_exit(0);
}

static int integrity_check(const char *path, char *out, size_t cap)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	out[0] = 0;
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	else
		snprintf(out, cap, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return strcmp(out, "ok") == 0 ? 0 : -1;
}

static uint8_t acked[MAX_SEQ];

/* Every acknowledged record is there, byte for byte. Returns the number checked. */
static long verify(const char *path, int64_t *rows)
{
	struct store *s = NULL;
	char err[256];
	long checked = 0;

	CHECK_INT(store_open(path, &s, err, sizeof err), 0);
	if (!s) {
		fprintf(stderr, "reopen: %s\n", err);
		return 0;
	}
	for (uint32_t seq = 0; seq < MAX_SEQ; seq++) {
		uint8_t wire[MN_MAX_RECORD], got[MN_MAX_RECORD], id[32], kind, origin[32];
		char key[32];
		size_t len;

		if (!acked[seq])
			continue;
		CHECK_INT(make_record(seq, wire, &len, id, &kind, origin, key, sizeof key), 0);
		int n = store_get(s, kind, origin, key, got, sizeof got);
		if (n != (int)len || memcmp(got, wire, len) != 0) {
			fprintf(stderr, "record %u lost or changed: %d %s\n", seq, n, store_last_error(s));
			CHECK(0);
		} else {
			check_pass++;
		}
		checked++;
	}
	*rows = store_count(s);
	store_close(s);
	return checked;
}

static void remove_store(const char *dir, const char *path)
{
	const char *sfx[] = { "", "-wal", "-shm", "-journal" };
	char p[160];

	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		snprintf(p, sizeof p, "%s%s", path, sfx[i]);
		unlink(p);
	}
	CHECK_INT(rmdir(dir), 0);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR"), *seed_env = getenv("MN_SEED");
	char dir[64], path[96];
	uint32_t next = 0;
	long total_acked = 0, checks = 0;
	int killed = 0;

	rng = seed_env ? strtoull(seed_env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (rng == 0)
		rng = 1;
	printf("store_crash: seed %llu (MN_SEED to replay)\n", (unsigned long long)rng);

	snprintf(dir, sizeof dir, "%s/mn-crash-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof path, "%s/store.db", dir);

	for (int round = 0; round < ROUNDS; round++) {
		int fds[2];
		unsigned delay_ms = DELAY_MIN_MS + (unsigned)(next_rand() % (DELAY_MAX_MS - DELAY_MIN_MS + 1));

		if (pipe(fds) < 0) {
			perror("pipe");
			CHECK(0);
			break;
		}
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			CHECK(0);
			close(fds[0]);
			close(fds[1]);
			break;
		}
		if (pid == 0) {
			close(fds[0]);
			writer(path, next, fds[1]);
		}
		close(fds[1]);

		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)delay_ms * 1000000L };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		kill(pid, SIGKILL);
		int status = 0;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			killed++;
		else
			CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

		/* the child is gone: read to EOF */
		uint32_t seq, got = 0;
		ssize_t r;
		for (;;) {
			r = read(fds[0], &seq, sizeof seq);
			if (r < 0 && errno == EINTR)
				continue;
			if (r != (ssize_t)sizeof seq)
				break;
			CHECK(seq < MAX_SEQ && seq >= next);
			if (seq < MAX_SEQ && !acked[seq]) {
				acked[seq] = 1;
				total_acked++;
			}
			got++;
		}
		CHECK_INT(r, 0);   /* acks are 4-byte atomic writes: nothing partial */
		close(fds[0]);
		next += got;

		/* killed before it created the store (a loaded machine, a short
		 * delay): then it cannot have acknowledged anything */
		if (access(path, F_OK) != 0) {
			CHECK_INT(total_acked, 0);
			continue;
		}
		char ic[256];
		if (integrity_check(path, ic, sizeof ic) < 0) {
			fprintf(stderr, "round %d: integrity_check: %s\n", round, ic);
			CHECK(0);
		}
		int64_t rows = -1;
		checks += verify(path, &rows);
		/* at most one commit not acknowledged (the next child puts it
		 * again first): a record of its own, or a relaxed transaction
		 * of four */
		CHECK(rows >= total_acked && rows <= total_acked + 4);
		if (getenv("MN_VERBOSE"))
			printf("round %d: %u ms, %u acked, %lld rows\n", round, delay_ms, got,
			       (long long)rows);
	}
	printf("store_crash: %d rounds (%d killed mid-run), %ld records acknowledged, "
	       "%ld record checks\n", ROUNDS, killed, total_acked, checks);
	remove_store(dir, path);
	sqlite3_shutdown();
	return check_exit();
}
