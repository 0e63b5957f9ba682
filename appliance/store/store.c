/*
 * appliance/store/store.c: opening the store, the writer thread (group commit)
 * and the reader pool. The tables are handled in store_devices.c,
 * store_issuances.c, store_certs.c and store_audit.c.
 *
 * Group commit: callers queue a request and sleep. The writer takes every
 * queued request, opens one transaction, runs each inside its own SAVEPOINT
 * (a failure rolls back that request alone), commits once, and wakes each
 * caller with its own result. With synchronous=FULL in WAL mode that commit
 * is one fsync of the WAL for the whole batch. A deferred write is queued the
 * same way but nobody waits for it: it commits, in order, with the batch it
 * lands in, so any later write that is waited for is durable after it.
 * Under load (the last commit had more than one caller waiting) the writer
 * waits GATHER_NS before it starts a batch, so that the writes on their way
 * share its fsync.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "appliance/store/store_int.h"

#define BUSY_TIMEOUT_MS 5000
#define MAX_BATCH 1024
#define GATHER_NS 1000000 /* the wait for more writes under load: 1 ms */
#define MAX_IDLE_READERS 8

struct store_wreq {
	store_write_fn fn;
	void *arg;
	void (*free_arg)(void *); /* deferred: nobody waits; the writer frees */
	int rc;
	int done;
	pthread_cond_t cv; /* the waiter's own: no herd of wake-ups */
	char msg[512];
	struct store_wreq *next;
};

/* ---- helpers ---------------------------------------------------------- */

void store_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int store_sqlerr(sqlite3 *db, int rc, const char *what, char *err, size_t errlen)
{
	int prim = rc & 0xff;

	store_err(err, errlen, "store: %s: %s", what, db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
		return CAPF_STORE_BUSY;
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY || rc == SQLITE_CONSTRAINT_UNIQUE)
		return CAPF_STORE_EXISTS;
	return CAPF_STORE_ERROR;
}

int store_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return store_sqlerr(db, sqlite3_extended_errcode(db), "SQL failed", err, errlen);
	return 0;
}

/* Set on the writer thread only. */
static _Thread_local struct store_stmt_cache *tl_cache;
/* The pooled readers this thread holds (store_reader_get .. store_reader_put):
 * their statement caches. A thread holding more at once prepares as before. */
#define TL_READERS 4
static _Thread_local struct store_reader *tl_readers[TL_READERS];

static struct store_stmt_cache *cache_of(sqlite3 *db)
{
	if (tl_cache != NULL && tl_cache->db == db)
		return tl_cache;
	for (unsigned i = 0; i < TL_READERS; i++)
		if (tl_readers[i] != NULL && tl_readers[i]->db == db)
			return &tl_readers[i]->cache;
	return NULL;
}

static void cache_free(struct store_stmt_cache *c)
{
	for (unsigned i = 0; i < c->n; i++)
		sqlite3_finalize(c->e[i].stmt);
	c->n = 0;
}

int store_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt, char *err, size_t errlen)
{
	struct store_stmt_cache *c = cache_of(db);
	unsigned i;
	int rc;

	if (c != NULL) {
		for (i = 0; i < c->n; i++) {
			if (c->e[i].sql == sql && !c->e[i].in_use &&
			    strcmp(sqlite3_sql(c->e[i].stmt), sql) == 0) {
				c->e[i].in_use = 1;
				*stmt = c->e[i].stmt;
				return 0;
			}
		}
		if (c->n < STORE_STMT_CACHE) {
			rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL);
			if (rc != SQLITE_OK) {
				*stmt = NULL;
				return store_sqlerr(db, rc, "cannot prepare a statement", err, errlen);
			}
			c->e[c->n].sql = sql;
			c->e[c->n].stmt = *stmt;
			c->e[c->n].in_use = 1;
			c->n++;
			return 0;
		}
	}
	rc = sqlite3_prepare_v2(db, sql, -1, stmt, NULL);
	if (rc != SQLITE_OK) {
		*stmt = NULL;
		return store_sqlerr(db, rc, "cannot prepare a statement", err, errlen);
	}
	return 0;
}

/* One statement through the writer's statement cache (parsed once per connection). */
static int exec_cached(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_prepare(db, sql, &s, err, errlen)) < 0)
		return rc;
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlerr(db, sqlite3_extended_errcode(db), "SQL failed", err, errlen);
	return 0;
}

void store_finalize(sqlite3_stmt *stmt)
{
	struct store_stmt_cache *c;

	if (stmt == NULL)
		return;
	c = cache_of(sqlite3_db_handle(stmt));
	for (unsigned i = 0; c != NULL && i < c->n; i++) {
		if (c->e[i].stmt == stmt) {
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			c->e[i].in_use = 0;
			return;
		}
	}
	sqlite3_finalize(stmt);
}

void store_col_text(sqlite3_stmt *s, int col, char *buf, size_t len)
{
	const unsigned char *t = sqlite3_column_text(s, col);
	size_t n;

	if (len == 0)
		return;
	n = t != NULL ? (size_t)sqlite3_column_bytes(s, col) : 0;
	if (n >= len)
		n = len - 1;
	if (n > 0)
		memcpy(buf, t, n);
	buf[n] = '\0';
}

int store_check_name(const char *what, const char *name, size_t max, char *err, size_t errlen)
{
	size_t n;

	if (name == NULL || name[0] == '\0') {
		store_err(err, errlen, "store: %s is empty", what);
		return CAPF_STORE_ERROR;
	}
	n = strnlen(name, max + 1);
	if (n > max) {
		store_err(err, errlen, "store: %s is longer than %zu bytes", what, max);
		return CAPF_STORE_ERROR;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= 0x20 || c >= 0x7f) {
			store_err(err, errlen,
				  "store: %s has a character outside printable "
				  "ASCII (byte %zu)",
				  what, i);
			return CAPF_STORE_ERROR;
		}
	}
	return 0;
}

int store_norm_hex(const char *what, const char *in, char *out, size_t max, size_t len_exact, int upper,
		   char *err, size_t errlen)
{
	size_t n;

	if (in == NULL) {
		store_err(err, errlen, "store: %s is missing", what);
		return CAPF_STORE_ERROR;
	}
	n = strnlen(in, max + 1);
	if ((len_exact != 0 && n != len_exact) || (len_exact == 0 && (n < 2 || n > max || n % 2))) {
		if (len_exact != 0)
			store_err(err, errlen, "store: %s must be %zu hex digits", what, len_exact);
		else
			store_err(err, errlen,
				  "store: %s must be an even number of hex digits, "
				  "2 to %zu",
				  what, max);
		return CAPF_STORE_ERROR;
	}
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c >= 'a' && c <= 'f' && upper)
			c = (char)(c - 'a' + 'A');
		else if (c >= 'A' && c <= 'F' && !upper)
			c = (char)(c - 'A' + 'a');
		else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
			store_err(err, errlen, "store: %s has a non-hex character at %zu", what, i);
			return CAPF_STORE_ERROR;
		}
		out[i] = c;
	}
	out[n] = '\0';
	return 0;
}

/* ---- connections ------------------------------------------------------ */

static int set_pragmas(sqlite3 *db, int writer, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	const char *mode;
	int rc;

	sqlite3_extended_result_codes(db, 1);
	if ((rc = sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS)) != SQLITE_OK)
		return store_sqlerr(db, rc, "busy timeout", err, errlen);
	if ((rc = store_exec(db,
			     "PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF;"
			     "PRAGMA secure_delete = ON",
			     err, errlen)) < 0)
		return rc;
	if (sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) != SQLITE_OK)
		return store_sqlerr(db, SQLITE_ERROR, "defensive mode", err, errlen);
	if (!writer)
		return store_exec(db, "PRAGMA synchronous = FULL; PRAGMA query_only = ON", err, errlen);
	/* journal_mode answers with the mode in effect: it must say wal. */
	if ((rc = store_prepare(db, "PRAGMA journal_mode = WAL", &s, err, errlen)) < 0)
		return rc;
	rc = sqlite3_step(s);
	mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		store_err(err, errlen,
			  "store: cannot switch to WAL journaling (got %s): "
			  "is the file system local?",
			  mode != NULL ? mode : sqlite3_errmsg(db));
		store_finalize(s);
		return CAPF_STORE_ERROR;
	}
	store_finalize(s);
	/* FULL: the WAL is fsynced at every commit. The WAL is truncated back
	 * to 64 MiB after checkpoints. */
	return store_exec(db,
			  "PRAGMA synchronous = FULL; "
			  "PRAGMA journal_size_limit = 67108864",
			  err, errlen);
}

sqlite3 *store_connect(struct capf_store *st, int writer, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOFOLLOW;
	int rc;

	rc = sqlite3_open_v2(st->path, &db, flags, st->vfs_name);
	if (rc != SQLITE_OK) {
		store_sqlerr(db, rc, st->path, err, errlen);
		sqlite3_close(db);
		return NULL;
	}
	if (set_pragmas(db, writer, err, errlen) < 0) {
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

sqlite3 *store_reader_get(struct capf_store *st, char *err, size_t errlen)
{
	struct store_reader *r;
	sqlite3 *db;

	pthread_mutex_lock(&st->rmu);
	r = st->readers;
	if (r != NULL) {
		st->readers = r->next;
		st->nidle--;
	}
	pthread_mutex_unlock(&st->rmu);
	if (r == NULL) {
		if ((db = store_connect(st, 0, err, errlen)) == NULL)
			return NULL;
		if ((r = malloc(sizeof(*r))) == NULL)
			return db; /* served without a statement cache */
		r->db = db;
		r->cache.db = db;
		r->cache.n = 0;
	}
	r->next = NULL;
	for (unsigned i = 0; i < TL_READERS; i++) {
		if (tl_readers[i] == NULL) {
			tl_readers[i] = r;
			return r->db;
		}
	}
	/* this thread holds too many: this one without its cache */
	db = r->db;
	cache_free(&r->cache);
	free(r);
	return db;
}

void store_reader_put(struct capf_store *st, sqlite3 *db)
{
	struct store_reader *r = NULL;

	if (db == NULL)
		return;
	for (unsigned i = 0; i < TL_READERS && r == NULL; i++) {
		if (tl_readers[i] != NULL && tl_readers[i]->db == db) {
			r = tl_readers[i];
			tl_readers[i] = NULL;
		}
	}
	if (r != NULL) {
		/* a statement still running would hold its snapshot */
		for (unsigned i = 0; i < r->cache.n; i++) {
			if (r->cache.e[i].in_use) {
				sqlite3_reset(r->cache.e[i].stmt);
				sqlite3_clear_bindings(r->cache.e[i].stmt);
				r->cache.e[i].in_use = 0;
			}
		}
	} else if ((r = malloc(sizeof(*r))) != NULL) {
		r->db = db;
		r->cache.db = db;
		r->cache.n = 0;
	}
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_lock(&st->rmu);
	if (st->nidle < MAX_IDLE_READERS && r != NULL) {
		r->next = st->readers;
		st->readers = r;
		st->nidle++;
		r = NULL;
		db = NULL;
	}
	pthread_mutex_unlock(&st->rmu);
	if (r != NULL) {
		cache_free(&r->cache);
		free(r);
	}
	sqlite3_close(db);
}

/* ---- the writer ------------------------------------------------------- */

static void fail_req(struct store_wreq *r, int rc, const char *msg)
{
	r->rc = rc;
	snprintf(r->msg, sizeof(r->msg), "%s", msg);
}

/* Runs reqs[0..n) in as few transactions as possible (one, unless SQLite
 * itself rolls a transaction back in the middle). */
static void run_batch(struct capf_store *st, struct store_wreq **reqs, size_t n)
{
	sqlite3 *db = st->wdb;
	char msg[512];
	size_t first = 0, i;
	int rc;

	while (first < n) {
		if ((rc = exec_cached(db, "BEGIN IMMEDIATE", msg, sizeof(msg))) < 0) {
			for (i = first; i < n; i++)
				fail_req(reqs[i], rc, msg);
			return;
		}
		for (i = first; i < n; i++) {
			struct store_wreq *r = reqs[i];

			if ((rc = exec_cached(db, "SAVEPOINT w", msg, sizeof(msg))) < 0) {
				fail_req(r, rc, msg);
				i++;
				break;
			}
			r->msg[0] = '\0';
			r->rc = r->fn(st, db, r->arg, r->msg, sizeof(r->msg));
			if (r->rc > 0)
				r->rc = CAPF_STORE_ERROR;
			if (sqlite3_get_autocommit(db)) {
				/* SQLite rolled the whole transaction back (I/O
				 * error, disk full): the earlier ones are lost. */
				snprintf(msg, sizeof(msg),
					 "store: transaction rolled back "
					 "by SQLite: %s",
					 sqlite3_errmsg(db));
				for (size_t j = first; j < i; j++)
					if (reqs[j]->rc == 0)
						fail_req(reqs[j], CAPF_STORE_ERROR, msg);
				if (r->rc == 0)
					fail_req(r, CAPF_STORE_ERROR, msg);
				i++;
				goto next;
			}
			if (r->rc < 0)
				rc = exec_cached(db, "ROLLBACK TO w", msg, sizeof(msg)) < 0 ?
					     -1 :
					     exec_cached(db, "RELEASE w", msg, sizeof(msg));
			else
				rc = exec_cached(db, "RELEASE w", msg, sizeof(msg));
			if (rc < 0) {
				if (r->rc == 0)
					fail_req(r, rc, msg);
				i++;
				break;
			}
		}
		if (i < n || rc < 0) {
			/* A savepoint failed: give up this transaction. */
			store_exec(db, "ROLLBACK", NULL, 0);
			snprintf(msg, sizeof(msg), "store: batch abandoned: %s", sqlite3_errmsg(db));
			for (size_t j = first; j < n; j++)
				if (reqs[j]->rc == 0 || j >= i)
					fail_req(reqs[j], CAPF_STORE_ERROR, msg);
			return;
		}
		if ((rc = exec_cached(db, "COMMIT", msg, sizeof(msg))) < 0) {
			store_exec(db, "ROLLBACK", NULL, 0);
			for (size_t j = first; j < i; j++)
				if (reqs[j]->rc == 0)
					fail_req(reqs[j], rc, msg);
		} else {
			atomic_fetch_add(&st->commits, 1);
		}
next:
		first = i;
	}
}

/* Moves queued requests into batch[n..max) (under mu); the new count. */
static size_t take(struct capf_store *st, struct store_wreq **batch, size_t n, size_t max)
{
	for (; n < max && st->head != NULL; n++) {
		batch[n] = st->head;
		st->head = st->head->next;
	}
	if (st->head == NULL)
		st->tail = NULL;
	return n;
}

static void *writer_main(void *arg)
{
	struct capf_store *st = arg;
	struct store_wreq *batch[MAX_BATCH];
	size_t n, waited = 0, max = (st->flags & CAPF_STORE_OPEN_NO_GROUP_COMMIT) ? 1 : MAX_BATCH;

	tl_cache = &st->wcache;
	pthread_mutex_lock(&st->mu);
	for (;;) {
		while (st->head == NULL && !st->stopping)
			pthread_cond_wait(&st->cv_work, &st->mu);
		if (st->head == NULL)
			break;
		n = take(st, batch, 0, max);
		/* Under load (the last commit had several callers waiting), the
		 * writes on their way join this commit after a short wait: its
		 * fsync costs the same for one write as for thirty. */
		if (waited > 1 && n < max && !st->stopping) {
			const struct timespec gather = { 0, GATHER_NS };

			pthread_mutex_unlock(&st->mu);
			nanosleep(&gather, NULL);
			pthread_mutex_lock(&st->mu);
			n = take(st, batch, n, max);
		}
		pthread_mutex_unlock(&st->mu);
		waited = 0;
		for (size_t i = 0; i < n; i++)
			waited += batch[i]->free_arg == NULL;

		for (size_t i = 0; i < n; i++)
			batch[i]->rc = 0;
		run_batch(st, batch, n);
		for (size_t i = 0; i < n; i++) {
			struct store_wreq *r = batch[i];

			if (r->free_arg == NULL)
				continue;
			if (r->rc < 0 && st->deferred_err != NULL)
				st->deferred_err(r->msg[0] != '\0' ? r->msg : "store: write failed",
						 st->deferred_err_ctx);
			r->free_arg(r->arg);
			free(r);
			batch[i] = NULL;
		}

		pthread_mutex_lock(&st->mu);
		for (size_t i = 0; i < n; i++) {
			if (batch[i] != NULL) {
				batch[i]->done = 1;
				pthread_cond_signal(&batch[i]->cv);
			}
			st->inflight--;
		}
		atomic_fetch_add(&st->writes, n);
	}
	pthread_mutex_unlock(&st->mu);
	tl_cache = NULL;
	return NULL;
}

/* Appends r to the writer's queue; -1 when the store is closing. */
static int enqueue(struct capf_store *st, struct store_wreq *r)
{
	pthread_mutex_lock(&st->mu);
	if (st->stopping) {
		pthread_mutex_unlock(&st->mu);
		return -1;
	}
	if (st->tail != NULL)
		st->tail->next = r;
	else
		st->head = r;
	st->tail = r;
	st->inflight++;
	pthread_cond_signal(&st->cv_work);
	pthread_mutex_unlock(&st->mu);
	return 0;
}

int store_write(struct capf_store *st, store_write_fn fn, void *arg, char *err, size_t errlen)
{
	struct store_wreq r;

	if (st == NULL) {
		store_err(err, errlen, "store: not open");
		return CAPF_STORE_ERROR;
	}
	if (!st->writer_started) {
		store_err(err, errlen, "store: %s was opened read-only", st->path);
		return CAPF_STORE_ERROR;
	}
	memset(&r, 0, sizeof(r));
	r.fn = fn;
	r.arg = arg;
	pthread_cond_init(&r.cv, NULL);
	if (st->flags & CAPF_STORE_OPEN_NO_GROUP_COMMIT) {
		/* The baseline: each caller runs its own transaction on the
		 * shared connection, one at a time. */
		pthread_mutex_lock(&st->naive_mu);
		tl_cache = &st->wcache;
		run_batch(st, (struct store_wreq *[]){ &r }, 1);
		tl_cache = NULL;
		atomic_fetch_add(&st->writes, 1);
		pthread_mutex_unlock(&st->naive_mu);
		goto done;
	}
	if (enqueue(st, &r) != 0) {
		pthread_cond_destroy(&r.cv);
		store_err(err, errlen, "store: closing");
		return CAPF_STORE_ERROR;
	}
	pthread_mutex_lock(&st->mu);
	while (!r.done)
		pthread_cond_wait(&r.cv, &st->mu);
	pthread_mutex_unlock(&st->mu);
done:
	pthread_cond_destroy(&r.cv);
	if (r.rc < 0)
		store_err(err, errlen, "%s", r.msg[0] != '\0' ? r.msg : "store: write failed");
	return r.rc;
}

int store_write_deferred(struct capf_store *st, store_write_fn fn, void *arg, void (*free_arg)(void *),
			 char *err, size_t errlen)
{
	struct store_wreq *r;

	if (st == NULL || !st->writer_started || (st->flags & CAPF_STORE_OPEN_NO_GROUP_COMMIT)) {
		/* no writer thread to hand it to: write it now */
		int rc = store_write(st, fn, arg, err, errlen);

		free_arg(arg);
		return rc;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		free_arg(arg);
		store_err(err, errlen, "store: out of memory");
		return CAPF_STORE_ERROR;
	}
	r->fn = fn;
	r->arg = arg;
	r->free_arg = free_arg;
	if (enqueue(st, r) != 0) {
		free_arg(arg);
		free(r);
		store_err(err, errlen, "store: closing");
		return CAPF_STORE_ERROR;
	}
	return 0;
}

void capf_store_on_deferred_error(struct capf_store *st, void (*cb)(const char *msg, void *ctx), void *ctx)
{
	pthread_mutex_lock(&st->mu);
	st->deferred_err = cb;
	st->deferred_err_ctx = ctx;
	pthread_mutex_unlock(&st->mu);
}

size_t store_inflight(struct capf_store *st)
{
	size_t n;

	pthread_mutex_lock(&st->mu);
	n = st->inflight;
	pthread_mutex_unlock(&st->mu);
	return n;
}

/* ---- open / close ----------------------------------------------------- */

/* The file lives in a directory only we can write, and is ours and 0600. */
static int check_place(const char *path, int readonly, char *err, size_t errlen)
{
	char *copy, *dir;
	struct stat sb;
	int fd, rc = CAPF_STORE_ERROR;

	if ((copy = strdup(path)) == NULL) {
		store_err(err, errlen, "store: out of memory");
		return CAPF_STORE_ERROR;
	}
	dir = dirname(copy);
	if (stat(dir, &sb) < 0) {
		store_err(err, errlen, "store: directory %s: %s", dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 022) != 0) {
		store_err(err, errlen,
			  "store: directory %s must be owned by uid %u and not "
			  "writable by group or others (it is uid %u, mode %04o)",
			  dir, (unsigned)geteuid(), (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 07777));
		goto out;
	}
	fd = readonly ? -1 : open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		/* A new file: make its name durable before anything is in it. */
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || fsync(dfd) < 0) {
			store_err(err, errlen, "store: fsync of directory %s: %s", dir, strerror(errno));
			if (dfd >= 0)
				close(dfd);
			close(fd);
			goto out;
		}
		close(dfd);
	} else if (readonly || errno == EEXIST) {
		fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		store_err(err, errlen, "store: %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 077) != 0) {
		store_err(err, errlen,
			  "store: %s must be a regular file owned by uid %u with "
			  "mode 0600 (it is uid %u, mode %04o): chmod 600 it",
			  path, (unsigned)geteuid(), (unsigned)sb.st_uid, (unsigned)(sb.st_mode & 07777));
		close(fd);
		goto out;
	}
	close(fd);
	rc = 0;
out:
	free(copy);
	return rc;
}

/* The writer takes no asynchronous signals (the daemon's threads handle
 * those); faults and seccomp traps still reach it. */
static int start_writer(struct capf_store *st)
{
	static const int sync_sigs[] = { SIGSYS, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP };
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	for (size_t i = 0; i < NELEM(sync_sigs); i++)
		sigdelset(&all, sync_sigs[i]);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&st->writer, NULL, writer_main, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

struct capf_store *capf_store_open(const char *path, unsigned flags, char *err, size_t errlen)
{
	struct capf_store *st;
	sqlite3 *db;
	int readonly = (flags & CAPF_STORE_OPEN_READONLY) != 0;

	if (path == NULL || path[0] == '\0' || strlen(path) > 4000) {
		store_err(err, errlen, "store: no database path (or longer than 4000 bytes)");
		return NULL;
	}
	if (path[0] == ':') {
		store_err(err, errlen,
			  "store: %s: the store must be a file (names starting "
			  "with ':' are special to SQLite)",
			  path);
		return NULL;
	}
	if (!sqlite3_threadsafe()) {
		store_err(err, errlen, "store: this SQLite was built without thread support");
		return NULL;
	}
	if (check_place(path, readonly, err, errlen) < 0)
		return NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL || (st->path = strdup(path)) == NULL) {
		free(st);
		store_err(err, errlen, "store: out of memory");
		return NULL;
	}
	st->flags = flags;
	pthread_mutex_init(&st->mu, NULL);
	pthread_mutex_init(&st->rmu, NULL);
	pthread_mutex_init(&st->naive_mu, NULL);
	pthread_cond_init(&st->cv_work, NULL);
	if ((st->vfs = store_vfs_new(&st->syncs, err, errlen)) == NULL)
		goto fail;
	st->vfs_name = store_vfs_name(st->vfs);

	/* The writer connection also runs the migrations (readers need the
	 * schema). Read-only: one reader connection checks the version. */
	if ((db = store_connect(st, !readonly, err, errlen)) == NULL)
		goto fail;
	if (store_migrate(db, path, readonly, err, errlen) < 0) {
		sqlite3_close(db);
		goto fail;
	}
	if (readonly) {
		store_reader_put(st, db);
		return st;
	}
	st->wdb = db;
	st->wcache.db = db;
	if (start_writer(st) != 0) {
		store_err(err, errlen, "store: cannot start the writer thread");
		goto fail;
	}
	st->writer_started = 1;
	return st;
fail:
	capf_store_close(st);
	return NULL;
}

void capf_store_close(struct capf_store *st)
{
	struct store_reader *r;

	if (st == NULL)
		return;
	if (st->writer_started) {
		pthread_mutex_lock(&st->mu);
		st->stopping = 1;
		pthread_cond_broadcast(&st->cv_work);
		pthread_mutex_unlock(&st->mu);
		pthread_join(st->writer, NULL);
	}
	cache_free(&st->wcache);
	while ((r = st->readers) != NULL) {
		st->readers = r->next;
		cache_free(&r->cache);
		sqlite3_close(r->db);
		free(r);
	}
	if (st->wdb != NULL)
		sqlite3_close(st->wdb);
	store_vfs_free(st->vfs);
	pthread_cond_destroy(&st->cv_work);
	pthread_mutex_destroy(&st->mu);
	pthread_mutex_destroy(&st->rmu);
	pthread_mutex_destroy(&st->naive_mu);
	free(st->path);
	free(st);
}

void capf_store_get_stats(struct capf_store *st, struct capf_store_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return;
	out->writes = atomic_load(&st->writes);
	out->commits = atomic_load(&st->commits);
	out->syncs = atomic_load(&st->syncs);
}
