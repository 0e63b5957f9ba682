/*
 * appliance/store/store_checkpoint.c: the audit trail's head and the signed
 * checkpoints of it (append-only table audit_checkpoints; see store.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "appliance/store/store_int.h"

#define HASH_LEN 32

static int last_row(sqlite3 *db, int64_t *row_id, unsigned char head[HASH_LEN], char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	*row_id = 0;
	memset(head, 0, HASH_LEN);
	if ((rc = store_prepare(db, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", &s, err, errlen)) <
	    0)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 1) != HASH_LEN) {
			store_err(err, errlen, "store: audit row %lld has a malformed hash",
				  (long long)sqlite3_column_int64(s, 0));
			rc = CAPF_STORE_ERROR;
		} else {
			*row_id = sqlite3_column_int64(s, 0);
			memcpy(head, sqlite3_column_blob(s, 1), HASH_LEN);
			rc = 0;
		}
	} else if (rc == SQLITE_DONE) {
		rc = 0;
	} else {
		rc = store_sqlerr(db, rc, "reading the audit head", err, errlen);
	}
	store_finalize(s);
	return rc;
}

int capf_store_audit_head(struct capf_store *st, int64_t *row_id, unsigned char head[32], char *err,
			  size_t errlen)
{
	sqlite3 *db;
	int rc;

	if ((db = store_reader_get(st, err, errlen)) == NULL)
		return CAPF_STORE_ERROR;
	rc = last_row(db, row_id, head, err, errlen);
	store_reader_put(st, db);
	return rc;
}

static int do_add(struct capf_store *st, sqlite3 *db, void *arg, char *err, size_t errlen)
{
	const struct capf_store_checkpoint *cp = arg;
	sqlite3_stmt *s;
	int rc;

	(void)st;
	if ((rc = store_prepare(db, "SELECT hash FROM audit WHERE id = ?", &s, err, errlen)) < 0)
		return rc;
	sqlite3_bind_int64(s, 1, cp->row_id);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW || sqlite3_column_bytes(s, 0) != HASH_LEN ||
	    CRYPTO_memcmp(sqlite3_column_blob(s, 0), cp->head, HASH_LEN) != 0) {
		store_finalize(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return store_sqlerr(db, rc, "reading an audit row", err, errlen);
		store_err(err, errlen, "store: checkpoint refused: audit row %" PRId64 " %s", cp->row_id,
			  rc == SQLITE_ROW ? "has another hash" : "does not exist");
		return CAPF_STORE_ERROR;
	}
	store_finalize(s);
	if ((rc = store_prepare(db,
				"INSERT INTO audit_checkpoints(time, row_id, head, key_id, sig) "
				"VALUES (?,?,?,?,?)",
				&s, err, errlen)) < 0)
		return rc;
	sqlite3_bind_int64(s, 1, (int64_t)cp->time);
	sqlite3_bind_int64(s, 2, cp->row_id);
	sqlite3_bind_blob(s, 3, cp->head, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, cp->key_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 5, cp->sig, (int)cp->sig_len, SQLITE_STATIC);
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlerr(db, sqlite3_extended_errcode(db), "recording an audit checkpoint", err,
				    errlen);
	return 0;
}

int capf_store_checkpoint_add(struct capf_store *st, const struct capf_store_checkpoint *cp, char *err,
			      size_t errlen)
{
	if (cp == NULL || cp->row_id < 1 || cp->sig_len < 1 || cp->sig_len > CAPF_STORE_SIG_MAX ||
	    strlen(cp->key_id) != 64) {
		store_err(err, errlen, "store: malformed audit checkpoint");
		return CAPF_STORE_ERROR;
	}
	return store_write(st, do_add, (void *)cp, err, errlen);
}

static int row_to_cp(sqlite3_stmt *s, struct capf_store_checkpoint *cp)
{
	int n = sqlite3_column_bytes(s, 5);

	memset(cp, 0, sizeof(*cp));
	cp->id = sqlite3_column_int64(s, 0);
	cp->time = (time_t)sqlite3_column_int64(s, 1);
	cp->row_id = sqlite3_column_int64(s, 2);
	if (sqlite3_column_bytes(s, 3) != HASH_LEN || n < 1 || n > CAPF_STORE_SIG_MAX)
		return -1;
	memcpy(cp->head, sqlite3_column_blob(s, 3), HASH_LEN);
	store_col_text(s, 4, cp->key_id, sizeof(cp->key_id));
	memcpy(cp->sig, sqlite3_column_blob(s, 5), (size_t)n);
	cp->sig_len = (size_t)n;
	return 0;
}

#define CP_COLS "id, time, row_id, head, key_id, sig"

int capf_store_checkpoint_list(struct capf_store *st, int64_t after_id, capf_store_checkpoint_cb cb, void *arg,
			       char *err, size_t errlen)
{
	struct capf_store_checkpoint cp;
	sqlite3_stmt *s;
	sqlite3 *db;
	int rc;

	if ((db = store_reader_get(st, err, errlen)) == NULL)
		return CAPF_STORE_ERROR;
	if ((rc = store_prepare(db,
				"SELECT " CP_COLS " FROM audit_checkpoints WHERE id > ? "
				"ORDER BY id",
				&s, err, errlen)) < 0)
		goto out;
	sqlite3_bind_int64(s, 1, after_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (row_to_cp(s, &cp) < 0) {
			store_err(err, errlen, "store: audit checkpoint %lld is malformed",
				  (long long)sqlite3_column_int64(s, 0));
			rc = CAPF_STORE_ERROR;
			break;
		}
		if (cb(&cp, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != CAPF_STORE_ERROR)
		rc = rc == SQLITE_DONE ? 0 : store_sqlerr(db, rc, "listing audit checkpoints", err, errlen);
	store_finalize(s);
out:
	store_reader_put(st, db);
	return rc;
}

int capf_store_checkpoint_last(struct capf_store *st, struct capf_store_checkpoint *out, char *err,
			       size_t errlen)
{
	sqlite3_stmt *s;
	sqlite3 *db;
	int rc;

	if ((db = store_reader_get(st, err, errlen)) == NULL)
		return CAPF_STORE_ERROR;
	if ((rc = store_prepare(db,
				"SELECT " CP_COLS " FROM audit_checkpoints ORDER BY id DESC "
				"LIMIT 1",
				&s, err, errlen)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		rc = row_to_cp(s, out) == 0 ? 0 : CAPF_STORE_ERROR;
		if (rc != 0)
			store_err(err, errlen, "store: the newest audit checkpoint is malformed");
	} else if (rc == SQLITE_DONE) {
		store_err(err, errlen, "store: no audit checkpoint yet");
		rc = CAPF_STORE_NOTFOUND;
	} else {
		rc = store_sqlerr(db, rc, "reading the newest audit checkpoint", err, errlen);
	}
	store_finalize(s);
out:
	store_reader_put(st, db);
	return rc;
}
