/* The record store; see store.h.
 *
 * One table, one row per (kind, origin, key):
 *
 *   records(kind, origin, key, version, expires, id, tombstone, wire)
 *
 * version and expires are uint64 on the wire; sqlite integers are signed,
 * so they are stored as (v XOR 2^63) reinterpreted as int64, which keeps
 * their order (sql_u64()). A look with the sqlite3 shell shows them offset
 * by -2^63.
 *
 * Identity: PRAGMA application_id = STORE_APP_ID ("MNET") and
 * user_version = STORE_SCHEMA. store_open() decides, before it writes
 * anything (not even the switch to WAL):
 *   - application_id 0, user_version 0, no schema object: a new database,
 *     created in one transaction;
 *   - our application_id and schema: open it, once PRAGMA quick_check says
 *     "ok" and our statements prepare against its tables (else -EILSEQ);
 *   - our application_id, a newer schema: -ENOTSUP;
 *   - anything else that sqlite can read: -ENOTSUP (not ours);
 *   - what sqlite cannot read (not a database, corrupt): -EILSEQ.
 *
 * Modes: the store holds invitation secrets. A new file is created 0600
 * (sqlite gives its -wal and -shm the database's mode); a store of ours
 * found readable by group or others is narrowed to 0600, with its -wal
 * and -shm — a file that is not ours is left alone.
 *
 * store_put() looks the key up first: a replay or an older version costs
 * that lookup and nothing else. A winner is written by one guarded UPSERT
 * (the same rule as the lookup, in SQL) inside a write transaction — the
 * caller's (store_begin) or one of its own, in which the lookup is redone
 * so that the result reported is the one applied. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>
#include "src/store.h"
#include "proto/proto_err.h"

#define STORE_APP_ID 0x4d4e4554u        /* "MNET" */
#define STORE_APP_ID_DEC 1296975188     /* the same, for the PRAGMA text */
#define STORE_SCHEMA 2
#define STORE_BUSY_MS 5000
_Static_assert(KIND_REVOKE == 3, "ST_EXPIRE spells KIND_REVOKE as 3");

_Static_assert(STORE_APP_ID == STORE_APP_ID_DEC, "application_id spelled twice");

#define STR_(x) #x
#define STR(x) STR_(x)

enum stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_LOOKUP,
	ST_UPSERT,
	ST_GET,
	ST_LOAD,
	ST_EACH,
	ST_EXPIRE,
	ST_DEL_ORIGIN,
	ST_COUNT,
	ST_DIGEST,
	ST_STATE_PUT,
	ST_STATE_GET,
	ST_STATE_EACH,
	ST_STATE_DEL,
	ST__N
};

static const char *const stmt_sql[ST__N] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_LOOKUP] = "SELECT version, id, rowid FROM records WHERE kind = ?1 AND origin = ?2 AND key = ?3",
	[ST_UPSERT] =
		"INSERT INTO records (kind, origin, key, version, expires, id, tombstone, wire)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
		" ON CONFLICT (kind, origin, key) DO UPDATE SET"
		" version = excluded.version, id = excluded.id,"
		/* a tombstone is kept as long as what it deletes (docs/store.md) */
		" expires = CASE WHEN excluded.tombstone THEN MAX(excluded.expires, records.expires)"
		" ELSE excluded.expires END,"
		" tombstone = excluded.tombstone, wire = excluded.wire"
		" WHERE excluded.version > records.version"
		" OR (excluded.version = records.version AND excluded.id > records.id)",
	[ST_GET] = "SELECT wire FROM records WHERE kind = ?1 AND origin = ?2 AND key = ?3",
	[ST_LOAD] = "SELECT wire FROM records WHERE rowid = ?1 AND id = ?2",
	/* kind as a range so that the primary key index seeks and orders */
	[ST_EACH] = "SELECT wire, rowid FROM records WHERE kind BETWEEN ?1 AND ?2"
		" AND (?3 IS NULL OR origin = ?3) AND (?4 OR tombstone = 0)"
		" ORDER BY kind, origin, key",
	/* revocations are kept forever (docs/trust.md) */
	[ST_EXPIRE] = "DELETE FROM records WHERE expires < ?1 AND kind != 3",
	[ST_DEL_ORIGIN] = "DELETE FROM records WHERE origin = ?1",
	[ST_COUNT] = "SELECT count(*) FROM records",
	[ST_DIGEST] = "SELECT id FROM records",
	[ST_STATE_PUT] = "INSERT OR REPLACE INTO state (ns, key, value) VALUES (?1, ?2, ?3)",
	[ST_STATE_GET] = "SELECT value FROM state WHERE ns = ?1 AND key = ?2",
	[ST_STATE_EACH] = "SELECT key, value FROM state WHERE ns = ?1 ORDER BY key",
	[ST_STATE_DEL] = "DELETE FROM state WHERE ns = ?1 AND key = ?2",
};

/* Schema 2: the node's own state beside the records (invitations, the
 * members it certified: docs/onboarding.md). Constant text only: no data
 * is ever formatted into SQL. */
#define RECORDS_SQL \
	"CREATE TABLE records (" \
	" kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 255)," \
	" origin BLOB NOT NULL CHECK (length(origin) = 32)," \
	" key TEXT NOT NULL," \
	" version INTEGER NOT NULL,"     /* uint64 XOR 2^63, see sql_u64() */ \
	" expires INTEGER NOT NULL,"     /* likewise */ \
	" id BLOB NOT NULL CHECK (length(id) = 32)," \
	" tombstone INTEGER NOT NULL CHECK (tombstone IN (0, 1))," \
	" wire BLOB NOT NULL," \
	" PRIMARY KEY (kind, origin, key));" \
	"CREATE INDEX records_expires ON records (expires);" \
	"PRAGMA application_id = " STR(STORE_APP_ID_DEC) ";"
static const char schema_sql[] =
	RECORDS_SQL
	"CREATE TABLE state ("
	" ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,"
	" PRIMARY KEY (ns, key));"
	"PRAGMA user_version = " STR(STORE_SCHEMA) ";";
/* The migration from 1 is the schema's tail: the state table, version 2. */
_Static_assert(STORE_SCHEMA == 2, "the migration from 1 is the tail of schema_sql");
#define migrate_1_2 (schema_sql + sizeof RECORDS_SQL - 1)

struct store {
	sqlite3 *db;
	sqlite3_stmt *st[ST__N];
	bool walking;              /* inside store_each() */
	bool relaxed;              /* synchronous NORMAL for the open transaction */
	bool unsynced;             /* a relaxed commit since the last sync */
	int64_t ref;               /* the row last written, or visited (store_ref) */
	char err[256];
};

static int writing(struct store *s);

static int64_t sql_u64(uint64_t v)
{
	int64_t s;

	v ^= UINT64_C(1) << 63;
	memcpy(&s, &v, sizeof s);
	return s;
}

static uint64_t u64_sql(int64_t s)
{
	uint64_t v;

	memcpy(&v, &s, sizeof v);
	return v ^ (UINT64_C(1) << 63);
}

__attribute__((format(printf, 3, 4)))
static int fail(struct store *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof s->err, fmt, ap);
	va_end(ap);
	return err;
}

static int errno_of(sqlite3 *db, int rc)
{
	int sys;

	switch (rc & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EILSEQ;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		sys = db ? sqlite3_system_errno(db) : 0;
		return sys > 0 ? -sys : -EIO;
	default:
		return -EIO;
	}
}

/* A failed sqlite call: keep sqlite's message, map its code. */
static int sql_fail(struct store *s, int rc, const char *what)
{
	return fail(s, errno_of(s->db, rc), "%s: %s", what, sqlite3_errmsg(s->db));
}

static void done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* End a transaction that failed or must not stay (keeps the first error). */
static void rollback_quietly(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db)) {
		sqlite3_step(s->st[ST_ROLLBACK]);
		done(s->st[ST_ROLLBACK]);
	}
}

/* Step a statement that returns no row. */
static int exec_stmt(struct store *s, enum stmt i, const char *what)
{
	int rc = sqlite3_step(s->st[i]);
	int err = rc == SQLITE_DONE ? 0 : sql_fail(s, rc, what);

	done(s->st[i]);
	return err;
}

static int bind_row_key(sqlite3_stmt *st, unsigned kind, const uint8_t origin[32], const char *key)
{
	int rc;

	if ((rc = sqlite3_bind_int(st, 1, (int)kind)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 2, origin, MN_KEY_LEN, SQLITE_STATIC)) != SQLITE_OK)
		return rc;
	return sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
}

/* ---- open ---- */

/* One integer from a PRAGMA or a query with no parameter. */
static int query_int(struct store *s, const char *sql, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	int err = 0;

	if (rc != SQLITE_OK)
		return sql_fail(s, rc, sql);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	else
		err = sql_fail(s, rc, sql);
	sqlite3_finalize(st);
	return err;
}

/* The first text column of a one-row statement, bounded into out. */
static int query_text(struct store *s, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	int err = 0;

	if (rc != SQLITE_OK)
		return sql_fail(s, rc, sql);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		snprintf(out, cap, "%s", t ? (const char *)t : "");
	} else {
		err = sql_fail(s, rc, sql);
	}
	sqlite3_finalize(st);
	return err;
}

enum identity { ID_NEW, ID_OURS, ID_OLD };

/* Which database is this? Reads only. Returns enum identity or -errno. */
static int identify(struct store *s)
{
	int64_t app, ver, objects;
	int err;

	if ((err = query_int(s, "PRAGMA application_id", &app)) < 0 ||
	    (err = query_int(s, "PRAGMA user_version", &ver)) < 0 ||
	    (err = query_int(s, "SELECT count(*) FROM sqlite_master", &objects)) < 0)
		return err;
	uint32_t id = (uint32_t)app;
	if (id == 0 && ver == 0 && objects == 0)
		return ID_NEW;
	if (id != STORE_APP_ID)
		return fail(s, -ENOTSUP,
			    "not a MirrorNet store: application_id 0x%08x (expected 0x%08x), "
			    "%lld schema object(s)", (unsigned)id, STORE_APP_ID, (long long)objects);
	if (ver > STORE_SCHEMA)
		return fail(s, -ENOTSUP,
			    "created by a newer mirrornet: schema version %lld, this one knows %d",
			    (long long)ver, STORE_SCHEMA);
	if (ver < 1)
		return fail(s, -EILSEQ, "MirrorNet store with schema version %lld", (long long)ver);
	return ver < STORE_SCHEMA ? ID_OLD : ID_OURS;
}

/* Identify the database and create the schema if it is new, all under
 * the write lock so that two processes opening a new file agree. */
static int identify_or_create(struct store *s)
{
	int err, id;

	/* the first read of the file: a non-database fails here */
	if ((err = exec_stmt(s, ST_BEGIN, "sqlite")) < 0)
		return err;
	id = identify(s);
	if (id == ID_NEW || id == ID_OLD) {
		char *msg = NULL;
		int rc = sqlite3_exec(s->db, id == ID_NEW ? schema_sql : migrate_1_2, NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			id = fail(s, errno_of(s->db, rc), "create schema: %s", msg ? msg : "?");
		} else {
			err = exec_stmt(s, ST_COMMIT, "commit schema");
			id = err < 0 ? err : ID_OURS;
		}
		sqlite3_free(msg);
	}
	rollback_quietly(s);  /* an existing database: nothing was written */
	return id;
}

static int prepare_all(struct store *s, int first, int last, bool schema_known)
{
	for (int i = first; i <= last; i++) {
		int rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					    &s->st[i], NULL);
		if (rc != SQLITE_OK) {
			/* our application_id and version, but not our table */
			if (schema_known && (rc & 0xff) == SQLITE_ERROR)
				return fail(s, -EILSEQ, "store schema does not match version %d: %s",
					    STORE_SCHEMA, sqlite3_errmsg(s->db));
			return sql_fail(s, rc, "prepare");
		}
	}
	return 0;
}

/* A file path (not ":memory:" or a URI): its modes are ours to set. */
static bool is_file_path(const char *path)
{
	return path[0] && path[0] != ':' && strncmp(path, "file:", 5) != 0;
}

/* path, path-wal and path-shm: no access for group and others. */
static void narrow_modes(const char *path)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char p[4096];
	struct stat st;

	for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
		if ((size_t)snprintf(p, sizeof p, "%s%s", path, sfx[i]) >= sizeof p)
			return;
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
			chmod(p, st.st_mode & 0700);
	}
}

static int setup(struct store *s, const char *path)
{
	char mode[32], check[160];
	int rc, err;

	if (is_file_path(path)) {   /* absent: created 0600, whatever the umask */
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
	rc = sqlite3_open_v2(path, &s->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		if (!s->db)
			return fail(s, -ENOMEM, "cannot allocate a database handle");
		return sql_fail(s, rc, "open");
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	/* The file may come from elsewhere: no schema code is trusted. */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
	if (sqlite3_db_readonly(s->db, "main") == 1)
		return fail(s, -EROFS, "database is read-only");

	/* The transaction statements do not depend on the schema. */
	if ((err = prepare_all(s, ST_BEGIN, ST_ROLLBACK, false)) < 0)
		return err;
	if ((err = identify_or_create(s)) < 0)
		return err;
	if (is_file_path(path))
		narrow_modes(path);   /* ours: see the top of the file */

	/* Ours by its header. Still read-only: is it whole, is it our schema? */
	if ((err = query_text(s, "PRAGMA quick_check(1)", check, sizeof check)) < 0)
		return err;
	if (strcmp(check, "ok") != 0)
		return fail(s, -EILSEQ, "integrity check failed: %s", check);
	if ((err = prepare_all(s, ST_LOOKUP, ST__N - 1, true)) < 0)
		return err;

	/* Now we may write. */
	if ((err = query_text(s, "PRAGMA journal_mode = WAL", mode, sizeof mode)) < 0)
		return err;
	if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0)
		return fail(s, -EIO, "cannot use WAL mode (journal_mode is %s)", mode);
	if ((rc = sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL)) != SQLITE_OK)
		return sql_fail(s, rc, "synchronous");
	/* a small page cache (128 MB routers): the store is written far more
	 * than it is read; a data record read back (store_load) is one indexed
	 * lookup by rowid, from the kernel's page cache when not from ours */
	if ((rc = sqlite3_exec(s->db, "PRAGMA cache_size = -256", NULL, NULL, NULL)) != SQLITE_OK)
		return sql_fail(s, rc, "cache_size");
	return 0;
}

int store_open(const char *path, struct store **out, char *errbuf, size_t errcap)
{
	struct store *s;
	int err;

	if (errbuf && errcap)
		errbuf[0] = 0;
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!path || !*path) {
		if (errbuf && errcap)
			snprintf(errbuf, errcap, "store: empty path");
		return -EINVAL;
	}
	if (!(s = calloc(1, sizeof *s))) {
		if (errbuf && errcap)
			snprintf(errbuf, errcap, "%s: out of memory", path);
		return -ENOMEM;
	}
	if ((err = setup(s, path)) < 0) {
		if (errbuf && errcap)
			snprintf(errbuf, errcap, "%s: %s%s", path,
				 err == -EILSEQ ? "corrupt or not a database: " : "", s->err);
		store_close(s);
		return err;
	}
	s->err[0] = 0;
	*out = s;
	return 0;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < ST__N; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);  /* rolls back an open transaction */
	free(s);
}

const char *store_last_error(const struct store *s)
{
	return s ? s->err : "no store";
}

/* ---- writes ---- */

/* Would this record win against the row we hold? enum store_put_result
 * or -errno. */
static int classify(struct store *s, const struct record *r, const uint8_t id[32])
{
	sqlite3_stmt *st = s->st[ST_LOOKUP];
	int rc, res;

	if ((rc = bind_row_key(st, r->kind, r->origin, r->key)) != SQLITE_OK) {
		res = sql_fail(s, rc, "lookup");
		goto out;
	}
	rc = sqlite3_step(st);
	s->ref = 0;
	if (rc == SQLITE_DONE) {
		res = STORE_INSERTED;
	} else if (rc == SQLITE_ROW) {
		uint64_t version = u64_sql(sqlite3_column_int64(st, 0));
		/* the row's handle for store_load: an update keeps it (nothing
		 * here ever VACUUMs, which could renumber the rows) */
		s->ref = sqlite3_column_int64(st, 2);
		const void *held = sqlite3_column_blob(st, 1);
		if (!held || sqlite3_column_bytes(st, 1) != 32) {
			res = fail(s, -EILSEQ, "lookup: stored id is not 32 bytes");
			goto out;
		}
		int c = memcmp(id, held, 32);
		if (c == 0)
			res = STORE_SAME;
		else if (r->version > version || (r->version == version && c > 0))
			res = STORE_REPLACED;
		else
			res = STORE_OLDER;
	} else {
		res = sql_fail(s, rc, "lookup");
	}
out:
	done(st);
	return res;
}

static int upsert(struct store *s, const struct record *r, const uint8_t id[32])
{
	sqlite3_stmt *st = s->st[ST_UPSERT];
	int rc, err = 0;

	if ((rc = bind_row_key(st, r->kind, r->origin, r->key)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 4, sql_u64(r->version))) != SQLITE_OK ||
	    (rc = sqlite3_bind_int64(st, 5, sql_u64(r->expires))) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 6, id, 32, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 7, record_is_tombstone(r))) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 8, r->wire, (int)r->wire_len, SQLITE_STATIC)) != SQLITE_OK)
		err = sql_fail(s, rc, "put");
	else if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		err = sql_fail(s, rc, "put");
	else if (sqlite3_changes(s->db) != 1)
		err = fail(s, -EIO, "put: row changed under the write lock");
	else if (!s->ref)   /* a new row (classify found none) */
		s->ref = sqlite3_last_insert_rowid(s->db);
	done(st);
	return err;
}

int store_put(struct store *s, const uint8_t *wire, size_t len, const uint8_t id[32])
{
	struct record r;
	bool own = false;
	int res, err;

	if (!s)
		return -EINVAL;
	if (!wire || !id)
		return fail(s, -EINVAL, "put: NULL record or id");
	if (len == 0 || len > MN_MAX_RECORD)
		return fail(s, -EINVAL, "put: record of %zu bytes (1..%d)", len, MN_MAX_RECORD);
	if ((err = record_decode(wire, len, &r, NULL)) < 0)
		return fail(s, -EINVAL, "put: record does not decode: %s", proto_strerror(err));
	if (s->walking)
		return fail(s, -EBUSY, "put: not allowed inside store_each()");

	res = classify(s, &r, id);
	if (res != STORE_INSERTED && res != STORE_REPLACED)
		return res;
	if ((err = writing(s)) < 0)
		return err;
	if (sqlite3_get_autocommit(s->db)) {
		if ((err = exec_stmt(s, ST_BEGIN, "begin")) < 0)
			return err;
		own = true;
		/* again, now that no one else can write */
		res = classify(s, &r, id);
		if (res != STORE_INSERTED && res != STORE_REPLACED)
			goto out;
	}
	if ((err = upsert(s, &r, id)) < 0)
		res = err;
out:
	if (own) {
		if (res > 0 && (err = exec_stmt(s, ST_COMMIT, "commit")) < 0)
			res = err;
		rollback_quietly(s);
	}
	return res;
}

/* The commit of a relaxed transaction does not wait for the disk
 * (synchronous NORMAL: the WAL is written, not synced); everything else
 * is FULL. The pragma cannot change inside a transaction: it is set before
 * BEGIN and set back when the transaction ends. */
static int sync_mode(struct store *s, bool relaxed)
{
	int rc;

	if (s->relaxed == relaxed)
		return 0;
	rc = sqlite3_exec(s->db, relaxed ? "PRAGMA synchronous = NORMAL" :
			  "PRAGMA synchronous = FULL", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sql_fail(s, rc, "synchronous");
	s->relaxed = relaxed;
	return 0;
}

/* The transaction calls share their guards: not inside store_each(), and
 * a transaction open (or not) as the call needs. */
static int guard(struct store *s, const char *what, bool need_open)
{
	if (!s)
		return -EINVAL;
	if (s->walking)
		return fail(s, -EBUSY, "%s: not allowed inside store_each()", what);
	if (!sqlite3_get_autocommit(s->db) != need_open)
		return fail(s, -EINVAL, need_open ? "%s: no transaction is open" :
			    "%s: a transaction is already open", what);
	return 0;
}

/* Writes outside a transaction are durable: relaxed mode ends when its
 * transaction does, also when sqlite ended it itself (an I/O error or a
 * full disk rolls the whole transaction back). */
static int writing(struct store *s)
{
	return s->relaxed && sqlite3_get_autocommit(s->db) ? sync_mode(s, false) : 0;
}

static int txn(struct store *s, int st, const char *what, bool need_open, bool relaxed)
{
	int err = guard(s, what, need_open);

	if (!s)
		return err;
	if (err == 0 && st == ST_BEGIN)
		err = sync_mode(s, relaxed);
	if (err == 0) {
		bool was = s->relaxed;
		err = exec_stmt(s, st, what);
		if (err < 0 && st == ST_COMMIT)
			rollback_quietly(s);
		if (err == 0 && st == ST_COMMIT && was)
			s->unsynced = true;
		else if (err == 0 && st == ST_COMMIT && s->unsynced)
			/* the relaxed commits before it are synced with it:
			 * sqlite syncs the WAL at a durable commit only if it
			 * wrote a frame, so the store syncs it then */
			err = store_sync(s);
	}
	if (s->relaxed && sqlite3_get_autocommit(s->db)) {
		/* back to durable now (or before the next write: writing());
		 * the first error's message is the one kept */
		char keep[sizeof s->err];
		memcpy(keep, s->err, sizeof keep);
		if (sync_mode(s, false) < 0 && err < 0)
			memcpy(s->err, keep, sizeof keep);
	}
	return err;
}

int store_begin(struct store *s)
{
	return txn(s, ST_BEGIN, "begin", false, false);
}

int store_begin_relaxed(struct store *s)
{
	return txn(s, ST_BEGIN, "begin", false, true);
}

int store_sync(struct store *s)
{
	int rc;

	if ((rc = guard(s, "sync", false)) < 0)
		return rc;
	/* what relaxed commits wrote is in the WAL: sync it through sqlite's
	 * own handle (a checkpoint would sync it too, but then also the
	 * database, and the WAL's restart after it a third time) */
	sqlite3_file *f = NULL;
	rc = sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f);
	if (rc != SQLITE_OK || !f || !f->pMethods)
		return 0;   /* no WAL open (an in-memory store): nothing to sync */
	rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
	if (rc != SQLITE_OK) {
		s->unsynced = true;
		return fail(s, -EIO, "%s: %s", "sync", strerror(EIO));
	}
	s->unsynced = false;
	return 0;
}

int store_commit(struct store *s)
{
	return txn(s, ST_COMMIT, "commit", true, false);
}

int store_rollback(struct store *s)
{
	return txn(s, ST_ROLLBACK, "rollback", true, false);
}

int store_expire(struct store *s, uint64_t now)
{
	sqlite3_stmt *st;
	int rc, res;

	if (!s)
		return -EINVAL;
	if (s->walking)
		return fail(s, -EBUSY, "expire: not allowed inside store_each()");
	if ((res = writing(s)) < 0)
		return res;
	st = s->st[ST_EXPIRE];
	if ((rc = sqlite3_bind_int64(st, 1, sql_u64(now))) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE)
		res = sql_fail(s, rc, "expire");
	else
		res = sqlite3_changes(s->db);
	done(st);
	return res;
}

int store_delete_origin(struct store *s, const uint8_t origin[32])
{
	sqlite3_stmt *st;
	int rc, res;

	if (!s || !origin)
		return -EINVAL;
	if (s->walking)
		return fail(s, -EBUSY, "delete: not allowed inside store_each()");
	if ((res = writing(s)) < 0)
		return res;
	st = s->st[ST_DEL_ORIGIN];
	if ((rc = sqlite3_bind_blob(st, 1, origin, 32, SQLITE_STATIC)) != SQLITE_OK ||
	    (rc = sqlite3_step(st)) != SQLITE_DONE)
		res = sql_fail(s, rc, "delete origin");
	else
		res = sqlite3_changes(s->db);
	done(st);
	return res;
}

/* ---- reads ---- */

int store_each(struct store *s, unsigned kind, const uint8_t *origin, bool include_tombstones,
	       store_visit_fn fn, void *ctx)
{
	sqlite3_stmt *st;
	int rc, ret = 0;

	if (!s)
		return -EINVAL;
	if (!fn || kind > 255)
		return fail(s, -EINVAL, "each: bad kind %u or no callback", kind);
	if (s->walking)
		return fail(s, -EBUSY, "each: not allowed inside store_each()");
	st = s->st[ST_EACH];
	if ((rc = sqlite3_bind_int(st, 1, kind ? (int)kind : 0)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 2, kind ? (int)kind : 255)) != SQLITE_OK ||
	    (rc = origin ? sqlite3_bind_blob(st, 3, origin, MN_KEY_LEN, SQLITE_STATIC)
			 : sqlite3_bind_null(st, 3)) != SQLITE_OK ||
	    (rc = sqlite3_bind_int(st, 4, include_tombstones)) != SQLITE_OK) {
		ret = sql_fail(s, rc, "each");
		goto out;
	}
	s->walking = true;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *wire = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		if (!wire || n <= 0 || n > MN_MAX_RECORD) {
			ret = fail(s, -EILSEQ, "each: stored record of %d bytes", n);
			break;
		}
		s->ref = sqlite3_column_int64(st, 1);
		if ((ret = fn(ctx, wire, (size_t)n)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = sql_fail(s, rc, "each");
	s->walking = false;
out:
	done(st);
	return ret;
}

/* The wire column of st's next row into buf: its length, -ENOENT (no row)
 * or an error. */
static int row_wire(struct store *s, sqlite3_stmt *st, uint8_t *buf, size_t cap,
		    const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_DONE)
		return fail(s, -ENOENT, "%s: no such record", what);
	if (rc != SQLITE_ROW)
		return sql_fail(s, rc, what);
	const uint8_t *wire = sqlite3_column_blob(st, 0);
	int n = sqlite3_column_bytes(st, 0);
	if (!wire || n <= 0 || n > MN_MAX_RECORD)
		return fail(s, -EILSEQ, "%s: stored record of %d bytes", what, n);
	if ((size_t)n > cap)
		return fail(s, -ENOSPC, "%s: record of %d bytes, buffer of %zu", what, n, cap);
	memcpy(buf, wire, (size_t)n);
	return n;
}

int store_get(struct store *s, unsigned kind, const uint8_t origin[32], const char *key,
	      uint8_t *buf, size_t cap)
{
	sqlite3_stmt *st;
	size_t klen;
	int rc, res;

	if (!s)
		return -EINVAL;
	if (!origin || !key || !buf || kind == 0 || kind > 255)
		return fail(s, -EINVAL, "get: bad argument");
	klen = strnlen(key, MN_MAX_RKEY + 1);
	if (klen == 0 || klen > MN_MAX_RKEY)
		return fail(s, -EINVAL, "get: key of %zu bytes (1..%d)", klen, MN_MAX_RKEY);
	st = s->st[ST_GET];
	if ((rc = bind_row_key(st, kind, origin, key)) != SQLITE_OK) {
		res = sql_fail(s, rc, "get");
		goto out;
	}
	res = row_wire(s, st, buf, cap, "get");
out:
	done(st);
	return res;
}

int store_load(struct store *s, int64_t ref, const uint8_t id[32], uint8_t *buf, size_t cap)
{
	sqlite3_stmt *st;
	int rc, res;

	if (!s)
		return -EINVAL;
	if (!id || !buf)
		return fail(s, -EINVAL, "load: bad argument");
	st = s->st[ST_LOAD];
	if ((rc = sqlite3_bind_int64(st, 1, ref)) != SQLITE_OK ||
	    (rc = sqlite3_bind_blob(st, 2, id, 32, SQLITE_STATIC)) != SQLITE_OK)
		res = sql_fail(s, rc, "load");
	else
		res = row_wire(s, st, buf, cap, "load");
	done(st);
	return res;
}

bool store_in_transaction(const struct store *s)
{
	return s && !sqlite3_get_autocommit(s->db);
}

int64_t store_ref(const struct store *s)
{
	return s ? s->ref : 0;
}

int64_t store_count(struct store *s)
{
	sqlite3_stmt *st;
	int64_t n;
	int rc;

	if (!s)
		return -EINVAL;
	st = s->st[ST_COUNT];
	rc = sqlite3_step(st);
	n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : sql_fail(s, rc, "count");
	done(st);
	return n;
}

int64_t store_digest(struct store *s, uint8_t digest[32], uint8_t (*buckets)[32])
{
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc;

	if (!s)
		return -EINVAL;
	if (!digest)
		return fail(s, -EINVAL, "digest: NULL output");
	memset(digest, 0, 32);
	if (buckets)
		memset(buckets, 0, 256 * sizeof *buckets);
	st = s->st[ST_DIGEST];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const uint8_t *id = sqlite3_column_blob(st, 0);
		if (!id || sqlite3_column_bytes(st, 0) != 32) {
			n = fail(s, -EILSEQ, "digest: stored id is not 32 bytes");
			goto out;
		}
		for (int i = 0; i < 32; i++)
			digest[i] ^= id[i];
		if (buckets)
			for (int i = 0; i < 32; i++)
				buckets[id[0]][i] ^= id[i];
		n++;
	}
	if (rc != SQLITE_DONE)
		n = sql_fail(s, rc, "digest");
out:
	done(st);
	return n;
}

/* ---- local state ---- */

static int bind_state(struct store *s, sqlite3_stmt *st, const char *ns, const char *key)
{
	int rc;

	if (!ns || !*ns || strlen(ns) > 32 || (key && (!*key || strlen(key) > MN_MAX_RKEY)))
		return fail(s, -EINVAL, "state: bad namespace or key");
	if ((rc = sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC)) != SQLITE_OK ||
	    (key && (rc = sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC)) != SQLITE_OK))
		return sql_fail(s, rc, "state");
	return 0;
}

int store_state_put(struct store *s, const char *ns, const char *key, const uint8_t *val,
		    size_t len)
{
	sqlite3_stmt *st;
	int rc, err;

	if (!s || !val || len == 0 || len > STORE_STATE_MAX)
		return s ? fail(s, -EINVAL, "state: value of %zu bytes", len) : -EINVAL;
	if (s->walking)
		return fail(s, -EBUSY, "state: put inside store_each()");
	if ((err = writing(s)) < 0)
		return err;
	st = s->st[ST_STATE_PUT];
	if ((err = bind_state(s, st, ns, key)) < 0)
		goto out;
	if ((rc = sqlite3_bind_blob(st, 3, val, (int)len, SQLITE_STATIC)) != SQLITE_OK) {
		err = sql_fail(s, rc, "state put");
		goto out;
	}
	rc = sqlite3_step(st);
	err = rc == SQLITE_DONE ? 0 : sql_fail(s, rc, "state put");
out:
	done(st);
	return err;
}

int store_state_get(struct store *s, const char *ns, const char *key, uint8_t *buf, size_t cap)
{
	sqlite3_stmt *st;
	int rc, res;

	if (!s || !buf)
		return -EINVAL;
	st = s->st[ST_STATE_GET];
	if ((res = bind_state(s, st, ns, key)) < 0)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int n = sqlite3_column_bytes(st, 0);
		const void *v = sqlite3_column_blob(st, 0);
		if ((size_t)n > cap)
			res = fail(s, -ENOSPC, "state get: %d bytes do not fit", n);
		else {
			if (n)
				memcpy(buf, v, (size_t)n);
			res = n;
		}
	} else {
		res = rc == SQLITE_DONE ? -ENOENT : sql_fail(s, rc, "state get");
	}
out:
	done(st);
	return res;
}

int store_state_each(struct store *s, const char *ns,
		     int (*fn)(void *ctx, const char *key, const uint8_t *val, size_t len), void *ctx)
{
	sqlite3_stmt *st;
	int rc, res = 0;

	if (!s || !fn)
		return -EINVAL;
	if (s->walking)
		return fail(s, -EBUSY, "state: nested walk");
	st = s->st[ST_STATE_EACH];
	if ((res = bind_state(s, st, ns, NULL)) < 0)
		goto out;
	s->walking = true;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		const uint8_t *v = sqlite3_column_blob(st, 1);
		int n = sqlite3_column_bytes(st, 1);
		if (!k || !v)
			continue;
		if ((res = fn(ctx, k, v, (size_t)n)) != 0)
			break;
	}
	s->walking = false;
	if (res == 0 && rc != SQLITE_DONE)
		res = sql_fail(s, rc, "state walk");
out:
	done(st);
	return res;
}

int store_state_del(struct store *s, const char *ns, const char *key)
{
	sqlite3_stmt *st;
	int rc, err;

	if (!s)
		return -EINVAL;
	if ((err = writing(s)) < 0)
		return err;
	st = s->st[ST_STATE_DEL];
	if ((err = bind_state(s, st, ns, key)) < 0)
		goto out;
	rc = sqlite3_step(st);
	err = rc == SQLITE_DONE ? (sqlite3_changes(s->db) ? 0 : -ENOENT) : sql_fail(s, rc, "state del");
out:
	done(st);
	return err;
}
