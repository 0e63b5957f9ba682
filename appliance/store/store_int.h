/*
 * appliance/store/store_int.h: what the store's own files share (not for other
 * modules): the handle, the write queue, the reader pool, SQL helpers.
 */
#ifndef CAPF_STORE_INT_H
#define CAPF_STORE_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sqlite3.h>

#include "appliance/store/store.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A write: fn runs on the writer thread inside a SAVEPOINT of the batch's
 * transaction; returning < 0 rolls back that savepoint alone. */
typedef int (*store_write_fn)(struct capf_store *st, sqlite3 *db, void *arg, char *err, size_t errlen);

struct store_vfs; /* store_vfs.c: counts fsyncs */

/* Prepared statements of one connection, kept across requests (keyed by the SQL
 * text's address, checked against the text): the writer's, and each pooled
 * reader's (store_reader_get makes its cache the calling thread's until put). */
#define STORE_STMT_CACHE 48
struct store_stmt_cache {
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
		int in_use;
	} e[STORE_STMT_CACHE];
	unsigned n;
};

struct store_reader {
	sqlite3 *db;
	struct store_reader *next;
	struct store_stmt_cache cache;
};

struct capf_store {
	char *path;
	unsigned flags;
	struct store_vfs *vfs;
	const char *vfs_name;

	/* writer */
	sqlite3 *wdb;
	struct store_stmt_cache wcache; /* writer thread (or naive_mu holder) only */
	pthread_mutex_t naive_mu;       /* CAPF_STORE_OPEN_NO_GROUP_COMMIT */
	pthread_t writer;
	int writer_started;
	pthread_mutex_t mu;
	pthread_cond_t cv_work;
	void (*deferred_err)(const char *msg, void *ctx);
	void *deferred_err_ctx;
	struct store_wreq *head, *tail;
	int stopping;

	/* readers */
	pthread_mutex_t rmu;
	struct store_reader *readers; /* idle */
	unsigned nidle;

	size_t inflight; /* submitted, not yet answered (under mu) */

	/* statistics */
	atomic_uint_fast64_t writes, commits, syncs;
};

/* Queues a write and waits for its durable result. */
int store_write(struct capf_store *st, store_write_fn fn, void *arg, char *err, size_t errlen);
/* Queues a write and returns: it commits in order with the next batch; failures go
 * to capf_store_on_deferred_error's callback. The writer calls free_arg(arg) after
 * running it (so does this on any failure to queue). */
int store_write_deferred(struct capf_store *st, store_write_fn fn, void *arg, void (*free_arg)(void *),
			 char *err, size_t errlen);

/* Write requests submitted and not yet answered (for white-box tests). */
size_t store_inflight(struct capf_store *st);

/* Reader pool: a connection for the calling thread alone until put back. */
sqlite3 *store_reader_get(struct capf_store *st, char *err, size_t errlen);
void store_reader_put(struct capf_store *st, sqlite3 *db);

/* Opens a connection on the store's VFS with the store's pragmas. */
sqlite3 *store_connect(struct capf_store *st, int writer, char *err, size_t errlen);

/* Migrations (store_schema.c): brings db to CAPF_STORE_SCHEMA_VERSION. */
int store_migrate(sqlite3 *db, const char *path, int readonly, char *err, size_t errlen);
/* Before migrating a store of schema version `from` (store_backup.c): a checked copy of db
 * (SQLite's backup API, PRAGMA integrity_check) in a new 0600 file
 * "<path>.pre-v<to>.<n>.bak" (n: the first free number), whose name is written to saved.
 * 0, or CAPF_STORE_ERROR (then nothing may be migrated). */
int store_backup_pre_migration(sqlite3 *db, const char *path, int from, int to, char *saved, size_t savedlen,
			       char *err, size_t errlen);

/* VFS (store_vfs.c). */
struct store_vfs *store_vfs_new(atomic_uint_fast64_t *syncs, char *err, size_t errlen);
const char *store_vfs_name(const struct store_vfs *v);
void store_vfs_free(struct store_vfs *v);

/* Audit (store_audit.c): appends a chained row in db's current transaction.
 * who NULL: nothing. */
int store_audit_add(sqlite3 *db, const struct capf_store_actor *who, const char *action, const char *subject,
		    const char *detail, char *err, size_t errlen);

/* A row of "SELECT id, time, uid, role, action, subject, detail[, prev_hash, hash]
 * FROM audit" (the strings and hashes valid until the next step; the hashes NULL
 * when not selected) (store_history.c). */
void store_audit_row_read(sqlite3_stmt *s, struct capf_store_audit_row *r);
/* Every row sql selects (as above), in order, to cb until it returns non-zero: sql's
 * ?1 is subject (not bound when NULL), ?2 after_id, ?3 limit (-1: none); what names the
 * work in an error (store_history.c). */
int store_audit_rows(struct capf_store *st, const char *sql, const char *subject, int64_t after_id,
		     int64_t limit, capf_store_audit_cb cb, void *arg, const char *what, char *err,
		     size_t errlen);
/* Helpers (store.c). */
void store_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Maps a SQLite error on db to a CAPF_STORE_E* value and a message prefixed by what. */
int store_sqlerr(sqlite3 *db, int rc, const char *what, char *err, size_t errlen);
int store_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);
/* On the writer thread, statements on the writer connection come from its
 * cache; store_finalize puts them back (reset) or finalizes the others. */
int store_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt, char *err, size_t errlen);
void store_finalize(sqlite3_stmt *stmt);
/* Copies column text into buf (truncated to len-1, NUL-terminated). */
void store_col_text(sqlite3_stmt *s, int col, char *buf, size_t len);
/* Name checks shared by the write and read paths. */
int store_check_name(const char *what, const char *name, size_t max, char *err, size_t errlen);
/* Hex: lower (fingerprints) or upper (serials) normalised copy; len_exact 0: any
 * even length 2..max. */
int store_norm_hex(const char *what, const char *in, char *out, size_t max, size_t len_exact, int upper,
		   char *err, size_t errlen);

#endif
