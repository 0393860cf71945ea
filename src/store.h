/* The record store: sqlite in WAL mode, synchronous=FULL, one row per
 * (kind, origin, key) holding the newest version's encoded record.
 *
 * Errors: negative errno (libuv style). -EINVAL bad argument (or a record
 * that does not decode), -ENOTSUP a database of another application or a
 * newer schema, -EILSEQ a corrupt database (sqlite says not-a-database /
 * corrupt / integrity check fails), -EBUSY the database stayed locked past
 * the busy timeout (or a call that is not allowed inside store_each()),
 * -ENOSPC disk full, -ENOMEM, -EROFS a read-only database, the system
 * errno when the file cannot be opened (-ENOENT, -EACCES, ...), -EIO any
 * other sqlite failure. store_last_error() gives the message (sqlite's,
 * or ours) for the last failure on that store.
 *
 * The store trusts its caller: it stores records that were decoded and
 * verified before (it re-decodes the envelope only to index it).
 *
 * A store is one sqlite connection: use it from one thread at a time.
 * Several processes may open the same file (sqlite's locking; writers wait
 * up to the busy timeout). */
#ifndef MN_STORE_H
#define MN_STORE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/record.h"

struct store;

enum store_put_result {
	STORE_INSERTED = 1,  /* new (kind, origin, key) */
	STORE_REPLACED = 2,  /* newer version replaced an older one */
	STORE_OLDER = 3,     /* not stored: we hold a newer or the winning equal version */
	STORE_SAME = 4,      /* not stored: exactly this record is already there */
};

/* Open (creating if absent) the database at path (":memory:" works for
 * tests), run a quick integrity check and the schema check. A new file is
 * only created from an absent or empty (0-byte) file; an existing file that
 * is not our store is never modified. On error a negative errno, *out =
 * NULL, and a human explanation naming the path in errbuf (errcap bytes,
 * may be NULL). */
int store_open(const char *path, struct store **out, char *errbuf, size_t errcap);
/* Accepts NULL. A transaction still open is rolled back. */
void store_close(struct store *s);
/* The last failure's message ("" if none); valid until the next call on s. */
const char *store_last_error(const struct store *s);

/* Insert the record `wire` (len bytes, an encoded record). Returns a
 * positive enum store_put_result or a negative errno. Same (kind, origin,
 * key): the higher version wins; at an equal version the record with the
 * lexicographically greater id wins (deterministic everywhere). id is the
 * record's id from crypto/record_sig.h. A tombstone is stored like any
 * record (its empty body deletes the content, the row remembers the
 * version until it expires). A record that is not stored (OLDER, SAME)
 * costs one lookup and takes no write lock. Outside store_begin() each
 * stored record is its own durable transaction. */
int store_put(struct store *s, const uint8_t *wire, size_t len, const uint8_t id[32]);

/* Batch several puts in one transaction (fewer fsyncs). store_begin()
 * takes the write lock at once (BEGIN IMMEDIATE); -EINVAL if a transaction
 * is already open, and store_commit()/store_rollback() -EINVAL if none is.
 * A failed commit leaves the transaction rolled back. */
int store_begin(struct store *s);
/* Is a transaction open (store_begin() not yet committed or rolled back)? */
bool store_in_transaction(const struct store *s);
int store_commit(struct store *s);
int store_rollback(struct store *s);
/* The same, but its commit does not wait for the disk: what it wrote
 * survives the process's crash (the WAL is written at commit) but a power
 * loss only once a later durable commit or store_sync() has synced it.
 * Every other transaction, and every write outside one, is durable. */
int store_begin_relaxed(struct store *s);
/* Make everything committed durable (the WAL is synced). -EINVAL inside
 * a transaction. */
int store_sync(struct store *s);

/* Visit records: kind 0 = any kind, origin NULL = any origin. The callback
 * gets the encoded record, borrowed for the duration of the call only;
 * returning non-zero stops the walk and that value is returned (use
 * positive values to tell them from the store's own negative errors).
 * Ordered by kind, origin, key. include_tombstones chooses whether
 * deletions are visited. The callback may call store_get(), store_count()
 * and store_digest(); store_each(), store_put(), store_expire() and the
 * transaction calls return -EBUSY while a walk is running. */
typedef int (*store_visit_fn)(void *ctx, const uint8_t *wire, size_t len);
int store_each(struct store *s, unsigned kind, const uint8_t *origin, bool include_tombstones,
	       store_visit_fn fn, void *ctx);

/* Fetch one record into buf (cap >= MN_MAX_RECORD is always enough).
 * Returns its length, -ENOENT if absent, -ENOSPC if it does not fit in
 * cap, -EINVAL for kind 0 or a key that is not 1..MN_MAX_RKEY bytes. */
int store_get(struct store *s, unsigned kind, const uint8_t origin[32], const char *key,
	      uint8_t *buf, size_t cap);

/* A row's handle: the row store_put() last wrote (inserted or replaced)
 * or found holding the same record (STORE_SAME), or, inside a
 * store_each() callback, the row visited. A (kind, origin,
 * key) keeps its handle across new versions. */
int64_t store_ref(const struct store *s);
/* Fetch the record of row `ref` into buf if its id is still `id`: its
 * length, -ENOENT (gone or replaced), or as store_get(). */
int store_load(struct store *s, int64_t ref, const uint8_t id[32], uint8_t *buf, size_t cap);

/* Delete every record whose expires < now (tombstones included;
 * revocations never expire). Returns
 * the number deleted or a negative errno. */
int store_expire(struct store *s, uint64_t now);

/* Delete every record of `origin` (a revoked node). Returns the number
 * deleted or a negative errno. */
int store_delete_origin(struct store *s, const uint8_t origin[32]);

/* Number of rows (tombstones included), or a negative errno. */
int64_t store_count(struct store *s);

/* Order-independent digest of the store: XOR of the ids of all rows,
 * tombstones included (anti-entropy compares these). buckets, if non-NULL,
 * receives 256 digests, one per first byte of the id (bucket b is the XOR
 * of the ids starting with byte b, so all buckets XOR to digest). Returns
 * the count, or a negative errno. */
int64_t store_digest(struct store *s, uint8_t digest[32], uint8_t (*buckets)[32]);

/* The node's own state (not gossiped): small blobs under (namespace, key),
 * e.g. ("invite", id). Durable like records (one transaction each outside
 * store_begin()). put replaces; get returns the length, -ENOENT or -ENOSPC
 * (cap too small); each walks one namespace in key order (fn returns
 * non-zero to stop; no other store call from fn); del returns 0 or
 * -ENOENT. */
#define STORE_STATE_MAX 65536
int store_state_put(struct store *s, const char *ns, const char *key, const uint8_t *val,
		    size_t len);
int store_state_get(struct store *s, const char *ns, const char *key, uint8_t *buf, size_t cap);
int store_state_each(struct store *s, const char *ns,
		     int (*fn)(void *ctx, const char *key, const uint8_t *val, size_t len), void *ctx);
int store_state_del(struct store *s, const char *ns, const char *key);

#endif
