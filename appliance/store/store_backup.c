/*
 * appliance/store/store_backup.c: see store_backup.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appliance/store/store_backup.h"
#include "appliance/store/store_int.h"

/* fsync of path's file and of its directory (the name) */
static int sync_file_and_dir(const char *path, char *err, size_t errlen)
{
	char *copy = strdup(path);
	int fd, dfd = -1, rc = CAPF_STORE_ERROR;

	if (copy == NULL) {
		store_err(err, errlen, "backup: out of memory");
		return rc;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 || fsync(fd) < 0 ||
	    (dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd) < 0)
		store_err(err, errlen, "backup: fsync %s: %s", path, strerror(errno));
	else
		rc = 0;
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	free(copy);
	return rc;
}

/* One-value query on db: the first column of the first row, as text in out. */
static int query_text(sqlite3 *db, const char *sql, char *out, size_t len, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_col_text(s, 0, out, len);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK) {
		rc = store_sqlerr(db, rc, sql, err, errlen);
		sqlite3_finalize(s);
		return rc;
	}
	sqlite3_finalize(s);
	return 0;
}

int capf_store_check_copy(const char *path, struct capf_store_backup_info *info, char *err, size_t errlen)
{
	struct capf_store_backup_info tmp;
	struct capf_store *copy;
	struct stat sb;
	sqlite3 *db = NULL;
	char ans[256], e2[512];
	int64_t bad = 0;
	int rc;

	if (info == NULL)
		info = &tmp;
	memset(info, 0, sizeof(*info));
	/* 1. SQLite's own check of every page, index and constraint */
	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		store_sqlerr(db, rc, path, err, errlen);
		sqlite3_close(db);
		return CAPF_STORE_ERROR;
	}
	if (query_text(db, "PRAGMA integrity_check", ans, sizeof(ans), err, errlen) < 0 ||
	    query_text(db, "SELECT count(*) FROM devices", e2, sizeof(e2), err, errlen) < 0) {
		sqlite3_close(db);
		return CAPF_STORE_ERROR;
	}
	sqlite3_close(db);
	if (strcmp(ans, "ok") != 0) {
		store_err(err, errlen, "backup: %s fails PRAGMA integrity_check: %s", path, ans);
		return CAPF_STORE_ERROR;
	}
	info->devices = strtoull(e2, NULL, 10);
	/* 2. a store this build understands, whose audit chain is intact */
	if ((copy = capf_store_open(path, CAPF_STORE_OPEN_READONLY, e2, sizeof(e2))) == NULL) {
		store_err(err, errlen, "backup: %s does not open as a store: %s", path, e2);
		return CAPF_STORE_ERROR;
	}
	rc = capf_store_audit_verify(copy, &bad, &info->audit_rows, e2, sizeof(e2));
	capf_store_close(copy);
	if (rc != 0) {
		store_err(err, errlen, "backup: the audit chain of %s is broken (row %lld): %s", path,
			  (long long)bad, e2);
		return CAPF_STORE_ERROR;
	}
	if (stat(path, &sb) < 0) {
		store_err(err, errlen, "backup: %s: %s", path, strerror(errno));
		return CAPF_STORE_ERROR;
	}
	info->bytes = (uint64_t)sb.st_size;
	return 0;
}

/* The snapshot: src's main database into dest's, in one step (one read transaction). */
static int copy_snapshot(struct capf_store *st, const char *dest, char *err, size_t errlen)
{
	sqlite3 *src, *dst = NULL;
	sqlite3_backup *b;
	char mode[32];
	int rc;

	if ((src = store_reader_get(st, err, errlen)) == NULL)
		return CAPF_STORE_ERROR;
	rc = sqlite3_open_v2(dest, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		rc = store_sqlerr(dst, rc, dest, err, errlen);
		goto out;
	}
	if ((b = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		rc = store_sqlerr(dst, sqlite3_errcode(dst), "backup init", err, errlen);
		goto out;
	}
	rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		rc = store_sqlerr(dst, rc, "backup", err, errlen);
		goto out;
	}
	/* a single file: no -wal to carry along (the store turns WAL back on when opened) */
	if ((rc = query_text(dst, "PRAGMA journal_mode = DELETE", mode, sizeof(mode), err, errlen)) < 0)
		goto out;
	if (strcmp(mode, "delete") != 0) {
		store_err(err, errlen, "backup: %s stays in journal mode %s", dest, mode);
		rc = CAPF_STORE_ERROR;
		goto out;
	}
	rc = 0;
out:
	sqlite3_close(dst);
	store_reader_put(st, src);
	return rc;
}

int capf_store_backup(struct capf_store *st, const char *dest, struct capf_store_backup_info *info, char *err,
		      size_t errlen)
{
	char *copy;
	struct stat sb;
	int fd;

	if (st == NULL || dest == NULL || dest[0] == '\0' || dest[0] == ':') {
		store_err(err, errlen, "backup: no destination file");
		return CAPF_STORE_ERROR;
	}
	if ((copy = strdup(dest)) == NULL) {
		store_err(err, errlen, "backup: out of memory");
		return CAPF_STORE_ERROR;
	}
	if (stat(dirname(copy), &sb) < 0 || !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() ||
	    (sb.st_mode & 022) != 0) {
		store_err(err, errlen,
			  "backup: the directory of %s must exist, be owned by uid %u "
			  "and not be writable by group or others",
			  dest, (unsigned)geteuid());
		free(copy);
		return CAPF_STORE_ERROR;
	}
	free(copy);
	fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		store_err(err, errlen, "backup: %s: %s", dest, strerror(errno));
		return CAPF_STORE_ERROR;
	}
	if (fchmod(fd, 0600) < 0) {
		store_err(err, errlen, "backup: chmod %s: %s", dest, strerror(errno));
		close(fd);
		unlink(dest);
		return CAPF_STORE_ERROR;
	}
	close(fd);
	if (copy_snapshot(st, dest, err, errlen) < 0 || sync_file_and_dir(dest, err, errlen) < 0 ||
	    capf_store_check_copy(dest, info, err, errlen) < 0) {
		unlink(dest);
		return CAPF_STORE_ERROR;
	}
	return 0;
}

int store_backup_pre_migration(sqlite3 *db, const char *path, int from, int to, char *saved, size_t savedlen,
			       char *err, size_t errlen)
{
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	char ans[256], e2[512];
	int fd = -1, rc, n;

	for (n = 1; n < 1000 && fd < 0; n++) {
		if (snprintf(saved, savedlen, "%s.pre-v%d.%d.bak", path, to, n) >= (int)savedlen) {
			store_err(err, errlen, "store: %s: path too long for its pre-migration copy", path);
			return CAPF_STORE_ERROR;
		}
		fd = open(saved, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		store_err(err, errlen,
			  "store: %s: cannot create the copy taken before migrating from "
			  "schema version %d to %d (%s): nothing was migrated",
			  saved, from, to, strerror(errno));
		return CAPF_STORE_ERROR;
	}
	close(fd);
	rc = sqlite3_open_v2(saved, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc == SQLITE_OK && (b = sqlite3_backup_init(dst, "main", db, "main")) != NULL) {
		rc = sqlite3_backup_step(b, -1);
		sqlite3_backup_finish(b);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	} else if (rc == SQLITE_OK) {
		rc = sqlite3_errcode(dst);
	}
	if (rc != SQLITE_OK)
		store_sqlerr(dst, rc, "backup", e2, sizeof(e2));
	else if (query_text(dst, "PRAGMA journal_mode = DELETE", ans, sizeof(ans), e2, sizeof(e2)) < 0 ||
		 query_text(dst, "PRAGMA integrity_check", ans, sizeof(ans), e2, sizeof(e2)) < 0)
		rc = SQLITE_ERROR;
	else if (strcmp(ans, "ok") != 0)
		rc = SQLITE_CORRUPT, snprintf(e2, sizeof(e2), "integrity_check: %s", ans);
	sqlite3_close(dst);
	if (rc == SQLITE_OK && sync_file_and_dir(saved, e2, sizeof(e2)) < 0)
		rc = SQLITE_IOERR;
	if (rc != SQLITE_OK) {
		unlink(saved);
		store_err(err, errlen,
			  "store: %s: the copy taken before migrating from schema version "
			  "%d to %d failed (%s): nothing was migrated",
			  path, from, to, e2);
		return CAPF_STORE_ERROR;
	}
	return 0;
}
