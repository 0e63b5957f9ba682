/*
 * appliance/store/store_history.c: what a device went through, for people:
 * the certificates phones returned to Troubleshoot (with the signer's verdict)
 * and the audit rows that name the device.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appliance/store/audit_chain.h"
#include "appliance/store/store_int.h"

void capf_store_fetched_clear(struct capf_store_fetched *f)
{
	if (f == NULL)
		return;
	free(f->der);
	memset(f, 0, sizeof(*f));
}

struct fetched_args {
	const struct capf_store_fetched *f;
	const struct capf_store_actor *who;
};

static int do_fetched(struct capf_store *st, sqlite3 *db, void *arg, char *err, size_t errlen)
{
	struct fetched_args *a = arg;
	const struct capf_store_fetched *f = a->f;
	char detail[CAPF_STORE_AUDIT_TEXT_MAX];
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_prepare(db,
				"INSERT INTO fetched_certs(device, fetched_at, serial, issuer, "
				"fingerprint, der, accepted, reason, issuer_fp) VALUES (?,?,?,?,?,?,?,?,?)",
				&s, err, errlen)) < 0)
		return rc;
	sqlite3_bind_text(s, 1, f->device, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, f->fetched_at != 0 ? (int64_t)f->fetched_at : (int64_t)time(NULL));
	sqlite3_bind_text(s, 3, f->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, f->issuer, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, f->fp, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 6, f->der, (int)f->der_len, SQLITE_STATIC);
	sqlite3_bind_int(s, 7, f->accepted ? 1 : 0);
	sqlite3_bind_text(s, 8, f->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, f->issuer_fp, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlerr(db, sqlite3_extended_errcode(db), "recording a fetched certificate", err,
				    errlen);
	snprintf(detail, sizeof(detail), "serial=%s issuer_fp=%s fp=%s outcome=%s issuer=%s reason=%s",
		 f->serial[0] ? f->serial : "-", f->issuer_fp[0] ? f->issuer_fp : "-", f->fp,
		 f->accepted ? "accepted" : "refused", f->issuer[0] ? f->issuer : "-", f->reason);
	return store_audit_add(db, a->who, "lsc.fetch", f->device, detail, err, errlen);
}

int capf_store_fetched_record(struct capf_store *st, const struct capf_store_fetched *f,
			      const struct capf_store_actor *who, char *err, size_t errlen)
{
	struct fetched_args a = { f, who };
	char fp[CAPF_STORE_FP_HEX_LEN + 1];
	int rc;

	if ((rc = store_check_name("device name", f->device, CAPF_DEVICE_NAME_MAX, err, errlen)) < 0)
		return rc;
	if ((rc = store_norm_hex("fingerprint", f->fp, fp, CAPF_STORE_FP_HEX_LEN, CAPF_STORE_FP_HEX_LEN, 0, err,
				 errlen)) < 0)
		return rc;
	if (f->issuer_fp[0] &&
	    (rc = store_norm_hex("issuer fingerprint", f->issuer_fp, fp, CAPF_STORE_FP_HEX_LEN,
				 CAPF_STORE_FP_HEX_LEN, 0, err, errlen)) < 0)
		return rc;
	if (f->der == NULL || f->der_len == 0 || f->der_len > CAPF_STORE_DER_MAX ||
	    strlen(f->serial) > CAPF_STORE_SERIAL_HEX_MAX || strlen(f->reason) > CAPF_STORE_REASON_MAX) {
		store_err(err, errlen,
			  "store: device %s: fetched certificate, serial or reason out of "
			  "range",
			  f->device);
		return CAPF_STORE_ERROR;
	}
	return store_write(st, do_fetched, &a, err, errlen);
}

int capf_store_fetched_latest(struct capf_store *st, const char *device, struct capf_store_fetched *out,
			      char *err, size_t errlen)
{
	sqlite3_stmt *s;
	sqlite3 *db;
	int rc, n;

	memset(out, 0, sizeof(*out));
	if ((rc = store_check_name("device name", device, CAPF_DEVICE_NAME_MAX, err, errlen)) < 0)
		return rc;
	if ((db = store_reader_get(st, err, errlen)) == NULL)
		return CAPF_STORE_ERROR;
	if ((rc = store_prepare(db,
				"SELECT device, fetched_at, serial, issuer, fingerprint, der, "
				"accepted, reason, issuer_fp FROM fetched_certs WHERE device = ? "
				"ORDER BY id DESC LIMIT 1",
				&s, err, errlen)) < 0)
		goto out;
	sqlite3_bind_text(s, 1, device, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		store_col_text(s, 0, out->device, sizeof(out->device));
		out->fetched_at = (time_t)sqlite3_column_int64(s, 1);
		store_col_text(s, 2, out->serial, sizeof(out->serial));
		store_col_text(s, 3, out->issuer, sizeof(out->issuer));
		store_col_text(s, 4, out->fp, sizeof(out->fp));
		n = sqlite3_column_bytes(s, 5);
		out->accepted = sqlite3_column_int(s, 6) != 0;
		store_col_text(s, 7, out->reason, sizeof(out->reason));
		store_col_text(s, 8, out->issuer_fp, sizeof(out->issuer_fp));
		rc = 0;
		if (n > 0 && (out->der = malloc((size_t)n)) != NULL) {
			memcpy(out->der, sqlite3_column_blob(s, 5), (size_t)n);
			out->der_len = (size_t)n;
		} else {
			store_err(err, errlen, "store: out of memory");
			rc = CAPF_STORE_ERROR;
		}
	} else if (rc == SQLITE_DONE) {
		store_err(err, errlen, "store: no certificate was fetched from %s", device);
		rc = CAPF_STORE_NOTFOUND;
	} else {
		rc = store_sqlerr(db, rc, "reading a fetched certificate", err, errlen);
	}
	store_finalize(s);
out:
	store_reader_put(st, db);
	return rc;
}

void store_audit_row_read(sqlite3_stmt *s, struct capf_store_audit_row *r)
{
	r->id = sqlite3_column_int64(s, 0);
	r->time = (time_t)sqlite3_column_int64(s, 1);
	r->uid = (uid_t)sqlite3_column_int64(s, 2);
	r->role = (const char *)sqlite3_column_text(s, 3);
	r->action = (const char *)sqlite3_column_text(s, 4);
	r->subject = (const char *)sqlite3_column_text(s, 5);
	r->detail = (const char *)sqlite3_column_text(s, 6);
	r->prev_hash = r->hash = NULL;
	if (sqlite3_column_count(s) >= 9) { /* ... prev_hash, hash: the chain's readers */
		r->prev_hash =
			sqlite3_column_bytes(s, 7) == CAPF_AUDIT_HASH_LEN ? sqlite3_column_blob(s, 7) : NULL;
		r->hash = sqlite3_column_bytes(s, 8) == CAPF_AUDIT_HASH_LEN ? sqlite3_column_blob(s, 8) : NULL;
	}
}

int store_audit_rows(struct capf_store *st, const char *sql, const char *subject, int64_t after_id,
		     int64_t limit, capf_store_audit_cb cb, void *arg, const char *what, char *err,
		     size_t errlen)
{
	struct capf_store_audit_row r;
	sqlite3_stmt *s;
	sqlite3 *db;
	int rc;

	if ((db = store_reader_get(st, err, errlen)) == NULL)
		return CAPF_STORE_ERROR;
	if ((rc = store_prepare(db, sql, &s, err, errlen)) < 0)
		goto out;
	if (subject != NULL)
		sqlite3_bind_text(s, 1, subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, after_id);
	sqlite3_bind_int64(s, 3, limit);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_audit_row_read(s, &r);
		if (cb(&r, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : store_sqlerr(db, rc, what, err, errlen);
	store_finalize(s);
out:
	store_reader_put(st, db);
	return rc;
}

int capf_store_audit_for_subject(struct capf_store *st, const char *subject, int64_t after_id, unsigned limit,
				 capf_store_audit_cb cb, void *arg, char *err, size_t errlen)
{
	return store_audit_rows(st,
				"SELECT id, time, uid, role, action, subject, detail FROM audit "
				"WHERE subject = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
				subject, after_id, limit ? (int64_t)limit : -1, cb, arg,
				"reading a device's history", err, errlen);
}
