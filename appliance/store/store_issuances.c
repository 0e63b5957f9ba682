/*
 * appliance/store/store_issuances.c: every LSC the daemon signed, recorded
 * before it leaves the daemon, and the reports built on them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appliance/store/store_int.h"

#define ISS_COLS                                                               \
	"serial, device, issuer_fp, spki_sha256, not_before, not_after, der, " \
	"issued_at, peer, state"

static const char *const state_names[] = { "issued", "delivered", "superseded", "deleted" };

const char *capf_store_issuance_state_name(enum capf_store_issuance_state s)
{
	return (unsigned)s < NELEM(state_names) ? state_names[s] : "unknown";
}

static int state_parse(const char *s)
{
	for (size_t i = 0; s != NULL && i < NELEM(state_names); i++)
		if (strcmp(s, state_names[i]) == 0)
			return (int)i;
	return -1;
}

void capf_store_issuance_clear(struct capf_store_issuance *is)
{
	if (is == NULL)
		return;
	free(is->der);
	memset(is, 0, sizeof(*is));
}

/* Fills out from a row of ISS_COLS; -1 when out of memory. */
static int row_to_issuance(sqlite3_stmt *s, struct capf_store_issuance *out)
{
	const void *der;
	int n, st;

	memset(out, 0, sizeof(*out));
	store_col_text(s, 0, out->serial, sizeof(out->serial));
	store_col_text(s, 1, out->device, sizeof(out->device));
	store_col_text(s, 2, out->issuer_fp, sizeof(out->issuer_fp));
	store_col_text(s, 3, out->spki_sha256, sizeof(out->spki_sha256));
	out->not_before = (time_t)sqlite3_column_int64(s, 4);
	out->not_after = (time_t)sqlite3_column_int64(s, 5);
	der = sqlite3_column_blob(s, 6);
	n = sqlite3_column_bytes(s, 6);
	out->issued_at = (time_t)sqlite3_column_int64(s, 7);
	store_col_text(s, 8, out->peer, sizeof(out->peer));
	st = state_parse((const char *)sqlite3_column_text(s, 9));
	out->state = st < 0 ? CAPF_ISS_DELETED : (enum capf_store_issuance_state)st;
	if (n > 0 && der != NULL) {
		if ((out->der = malloc((size_t)n)) == NULL)
			return -1;
		memcpy(out->der, der, (size_t)n);
		out->der_len = (size_t)n;
	}
	return 0;
}

/* ---- record ----------------------------------------------------------- */

struct rec_args {
	struct capf_store_issuance is; /* normalised copy (der borrowed) */
	const struct capf_store_actor *who;
};

static int do_record(struct capf_store *st, sqlite3 *db, void *arg, char *err, size_t errlen)
{
	struct rec_args *a = arg;
	const struct capf_store_issuance *is = &a->is;
	char detail[512];
	sqlite3_stmt *s;
	int rc;

	/* The device and the issuing CA must be known: explicit messages
	 * rather than a bare constraint error. */
	if ((rc = store_prepare(db,
				"SELECT (SELECT count(*) FROM devices WHERE name = ?1), "
				"(SELECT count(*) FROM capf_certs WHERE fingerprint = ?2)",
				&s, err, errlen)) < 0)
		return rc;
	sqlite3_bind_text(s, 1, is->device, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, is->issuer_fp, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		rc = store_sqlerr(db, rc, "recording an issuance", err, errlen);
		store_finalize(s);
		return rc;
	}
	if (sqlite3_column_int(s, 0) == 0 || sqlite3_column_int(s, 1) == 0) {
		if (sqlite3_column_int(s, 0) == 0)
			store_err(err, errlen, "store: LSC %s: device %s is not in the store", is->serial,
				  is->device);
		else
			store_err(err, errlen,
				  "store: LSC %s: issuing CAPF certificate %s is not "
				  "in the store (add it with capf_store_cert_add first)",
				  is->serial, is->issuer_fp);
		store_finalize(s);
		return CAPF_STORE_NOTFOUND;
	}
	store_finalize(s);

	if ((rc = store_prepare(db, "SELECT 1 FROM issuances WHERE serial = ?", &s, err, errlen)) < 0)
		return rc;
	sqlite3_bind_text(s, 1, is->serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc == SQLITE_ROW) {
		store_err(err, errlen,
			  "store: LSC serial %s is already recorded (serials are "
			  "never reused: check the serial generator)",
			  is->serial);
		return CAPF_STORE_EXISTS;
	}

	if ((rc = store_prepare(db,
				"UPDATE issuances SET state = 'superseded' WHERE device = ? "
				"AND state IN ('issued', 'delivered')",
				&s, err, errlen)) < 0)
		return rc;
	sqlite3_bind_text(s, 1, is->device, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlerr(db, sqlite3_extended_errcode(db), "superseding older LSCs", err, errlen);

	if ((rc = store_prepare(db,
				"INSERT INTO issuances(" ISS_COLS ") VALUES "
				"(?,?,?,?,?,?,?,?,?,'issued')",
				&s, err, errlen)) < 0)
		return rc;
	sqlite3_bind_text(s, 1, is->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, is->device, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, is->issuer_fp, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, is->spki_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, (int64_t)is->not_before);
	sqlite3_bind_int64(s, 6, (int64_t)is->not_after);
	sqlite3_bind_blob(s, 7, is->der, (int)is->der_len, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, is->issued_at != 0 ? (int64_t)is->issued_at : (int64_t)time(NULL));
	sqlite3_bind_text(s, 9, is->peer, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc != SQLITE_DONE) {
		char what[96];
		snprintf(what, sizeof(what), "LSC serial %s", is->serial);
		return store_sqlerr(db, sqlite3_extended_errcode(db), what, err, errlen);
	}
	snprintf(detail, sizeof(detail), "serial=%s issuer=%s spki=%s not_after=%" PRId64 " peer=%s",
		 is->serial, is->issuer_fp, is->spki_sha256, (int64_t)is->not_after, is->peer);
	return store_audit_add(db, a->who, "lsc.issue", is->device, detail, err, errlen);
}

int capf_store_issuance_record(struct capf_store *st, const struct capf_store_issuance *is,
			       const struct capf_store_actor *who, char *err, size_t errlen)
{
	struct rec_args a;
	int rc;

	if (is == NULL) {
		store_err(err, errlen, "store: no issuance");
		return CAPF_STORE_ERROR;
	}
	memset(&a, 0, sizeof(a));
	a.who = who;
	if ((rc = store_norm_hex("LSC serial", is->serial, a.is.serial, CAPF_STORE_SERIAL_HEX_MAX, 0, 1, err,
				 errlen)) < 0 ||
	    (rc = store_norm_hex("issuer fingerprint", is->issuer_fp, a.is.issuer_fp, CAPF_STORE_FP_HEX_LEN,
				 CAPF_STORE_FP_HEX_LEN, 0, err, errlen)) < 0 ||
	    (rc = store_norm_hex("subject key hash", is->spki_sha256, a.is.spki_sha256, CAPF_STORE_FP_HEX_LEN,
				 CAPF_STORE_FP_HEX_LEN, 0, err, errlen)) < 0 ||
	    (rc = store_check_name("device name", is->device, CAPF_DEVICE_NAME_MAX, err, errlen)) < 0)
		return rc;
	if (is->der == NULL || is->der_len == 0 || is->der_len > CAPF_STORE_DER_MAX) {
		store_err(err, errlen, "store: LSC %s: certificate must be 1 to %d bytes of DER", a.is.serial,
			  CAPF_STORE_DER_MAX);
		return CAPF_STORE_ERROR;
	}
	if (is->not_after < is->not_before) {
		store_err(err, errlen, "store: LSC %s: notAfter is before notBefore", a.is.serial);
		return CAPF_STORE_ERROR;
	}
	if (strnlen(is->peer, sizeof(is->peer)) >= sizeof(is->peer)) {
		store_err(err, errlen, "store: LSC %s: peer is not NUL-terminated", a.is.serial);
		return CAPF_STORE_ERROR;
	}
	memcpy(a.is.device, is->device, sizeof(a.is.device));
	memcpy(a.is.peer, is->peer, sizeof(a.is.peer));
	a.is.not_before = is->not_before;
	a.is.not_after = is->not_after;
	a.is.issued_at = is->issued_at;
	a.is.der = is->der;
	a.is.der_len = is->der_len;
	return store_write(st, do_record, &a, err, errlen);
}

/* ---- state ------------------------------------------------------------ */

struct state_args {
	char serial[CAPF_STORE_SERIAL_HEX_MAX + 1];
	enum capf_store_issuance_state state;
	const struct capf_store_actor *who;
};

static int do_state(struct capf_store *st, sqlite3 *db, void *arg, char *err, size_t errlen)
{
	struct state_args *a = arg;
	char device[CAPF_DEVICE_NAME_MAX + 1], detail[128], cur[16] = "";
	sqlite3_stmt *s;
	int rc;

	/* Only a current LSC (issued or delivered) changes state: superseded
	 * and deleted are final. */
	if ((rc = store_prepare(db, "SELECT state FROM issuances WHERE serial = ?", &s, err, errlen)) < 0)
		return rc;
	sqlite3_bind_text(s, 1, a->serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		store_col_text(s, 0, cur, sizeof(cur));
	store_finalize(s);
	if (rc == SQLITE_DONE) {
		store_err(err, errlen, "store: no LSC with serial %s", a->serial);
		return CAPF_STORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return store_sqlerr(db, rc, "reading an LSC's state", err, errlen);
	if (strcmp(cur, "issued") != 0 && strcmp(cur, "delivered") != 0) {
		store_err(err, errlen, "store: LSC %s is %s, which is final: it cannot become %s", a->serial,
			  cur, state_names[a->state]);
		return CAPF_STORE_ERROR;
	}
	if ((rc = store_prepare(db,
				"UPDATE issuances SET state = ?2 WHERE serial = ?1 "
				"RETURNING device",
				&s, err, errlen)) < 0)
		return rc;
	sqlite3_bind_text(s, 1, a->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, state_names[a->state], -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		store_col_text(s, 0, device, sizeof(device));
		rc = sqlite3_step(s);
	}
	store_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlerr(db, sqlite3_extended_errcode(db), "changing an LSC's state", err, errlen);
	snprintf(detail, sizeof(detail), "serial=%s state=%s", a->serial, state_names[a->state]);
	return store_audit_add(db, a->who, "lsc.state", device, detail, err, errlen);
}

static int state_args_set(struct state_args *a, const char *serial, enum capf_store_issuance_state state,
			  const struct capf_store_actor *who, char *err, size_t errlen)
{
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = store_norm_hex("LSC serial", serial, a->serial, CAPF_STORE_SERIAL_HEX_MAX, 0, 1, err,
				 errlen)) < 0)
		return rc;
	if (state != CAPF_ISS_DELIVERED && state != CAPF_ISS_DELETED && state != CAPF_ISS_SUPERSEDED) {
		store_err(err, errlen,
			  "store: an LSC can only be set to delivered, deleted or "
			  "superseded");
		return CAPF_STORE_ERROR;
	}
	a->state = state;
	a->who = who;
	return 0;
}

int capf_store_issuance_set_state(struct capf_store *st, const char *serial,
				  enum capf_store_issuance_state state, const struct capf_store_actor *who,
				  char *err, size_t errlen)
{
	struct state_args a;
	int rc;

	if ((rc = state_args_set(&a, serial, state, who, err, errlen)) < 0)
		return rc;
	return store_write(st, do_state, &a, err, errlen);
}

/* A deferred state change owns a copy of its actor. */
struct deferred_state {
	struct state_args a;
	struct capf_store_actor who;
	char role[32];
};

int capf_store_issuance_set_state_deferred(struct capf_store *st, const char *serial,
					   enum capf_store_issuance_state state,
					   const struct capf_store_actor *who, char *err, size_t errlen)
{
	struct deferred_state *d = calloc(1, sizeof(*d));
	int rc;

	if (d == NULL) {
		store_err(err, errlen, "store: out of memory");
		return CAPF_STORE_ERROR;
	}
	if (who == NULL || (rc = state_args_set(&d->a, serial, state, &d->who, err, errlen)) < 0) {
		if (who == NULL)
			store_err(err, errlen, "store: a state change without an actor");
		free(d);
		return who == NULL ? CAPF_STORE_ERROR : rc;
	}
	d->who.uid = who->uid;
	if (who->role != NULL) {
		snprintf(d->role, sizeof(d->role), "%s", who->role);
		d->who.role = d->role;
	}
	return store_write_deferred(st, do_state, d, free, err, errlen);
}

/* ---- reads ------------------------------------------------------------ */

static int get_one(struct capf_store *st, const char *sql, const char *key, struct capf_store_issuance *out,
		   const char *what, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	sqlite3 *db;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((db = store_reader_get(st, err, errlen)) == NULL)
		return CAPF_STORE_ERROR;
	if ((rc = store_prepare(db, sql, &s, err, errlen)) < 0)
		goto out;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		rc = 0;
		if (row_to_issuance(s, out) < 0) {
			store_err(err, errlen, "store: out of memory");
			rc = CAPF_STORE_ERROR;
		}
	} else if (rc == SQLITE_DONE) {
		store_err(err, errlen, "store: no LSC for %s %s", what, key);
		rc = CAPF_STORE_NOTFOUND;
	} else {
		rc = store_sqlerr(db, rc, "reading an LSC", err, errlen);
	}
	store_finalize(s);
out:
	store_reader_put(st, db);
	return rc;
}

int capf_store_issuance_get(struct capf_store *st, const char *serial, struct capf_store_issuance *out,
			    char *err, size_t errlen)
{
	char norm[CAPF_STORE_SERIAL_HEX_MAX + 1];
	int rc;

	if ((rc = store_norm_hex("LSC serial", serial, norm, CAPF_STORE_SERIAL_HEX_MAX, 0, 1, err, errlen)) < 0)
		return rc;
	return get_one(st, "SELECT " ISS_COLS " FROM issuances WHERE serial = ?", norm, out, "serial", err,
		       errlen);
}

int capf_store_issuance_latest_for_device(struct capf_store *st, const char *device,
					  struct capf_store_issuance *out, char *err, size_t errlen)
{
	int rc;

	if ((rc = store_check_name("device name", device, CAPF_DEVICE_NAME_MAX, err, errlen)) < 0)
		return rc;
	/* Same second: the current one (issued/delivered) wins, then the rowid. */
	return get_one(st,
		       "SELECT " ISS_COLS " FROM issuances WHERE device = ? ORDER BY "
		       "issued_at DESC, state IN ('issued', 'delivered') DESC, rowid DESC LIMIT 1",
		       device, out, "device", err, errlen);
}

static long days_between(time_t from, time_t to)
{
	int64_t d = (int64_t)to - (int64_t)from;

	/* floor division */
	return (long)(d >= 0 ? d / 86400 : -((-d + 86399) / 86400));
}

int capf_store_report(struct capf_store *st, const struct capf_store_report_filter *f, capf_store_report_cb cb,
		      void *arg, char *err, size_t errlen)
{
	static const struct capf_store_report_filter all = CAPF_STORE_REPORT_FILTER_INIT;
	struct capf_store_report_row r;
	char fp[CAPF_STORE_FP_HEX_LEN + 1];
	sqlite3_stmt *s;
	sqlite3 *db;
	time_t now;
	int rc;

	if (f == NULL)
		f = &all;
	now = f->now != 0 ? f->now : time(NULL);
	if (f->pattern != NULL && strnlen(f->pattern, 257) > 256) {
		store_err(err, errlen, "store: name pattern longer than 256 bytes");
		return CAPF_STORE_ERROR;
	}
	if (f->issuer_fp != NULL &&
	    (rc = store_norm_hex("issuer fingerprint", f->issuer_fp, fp, CAPF_STORE_FP_HEX_LEN,
				 CAPF_STORE_FP_HEX_LEN, 0, err, errlen)) < 0)
		return rc;
	if (f->expiring_within_days > 100000) {
		store_err(err, errlen, "store: expiring-within is at most 100000 days");
		return CAPF_STORE_ERROR;
	}
	if ((db = store_reader_get(st, err, errlen)) == NULL)
		return CAPF_STORE_ERROR;
	if ((rc = store_prepare(
		     db,
		     "SELECT d.name, d.operation, d.auth_mode, d.key_order, d.rsa_bits, d.curve, "
		     "d.deadline, d.status, d.status_op, d.cause, d.failed_attempts, d.last_seen, "
		     "i.serial, i.issuer_fp, i.not_after, i.state "
		     "FROM devices d LEFT JOIN issuances i "
		     "  ON i.device = d.name AND i.state IN ('issued', 'delivered') "
		     "WHERE (?1 IS NULL OR d.name GLOB ?1) "
		     "  AND (?2 < 0 OR (i.serial IS NOT NULL AND i.not_after - ?6 < (?2 + 1) * 86400)) "
		     "  AND (?3 IS NULL OR i.issuer_fp = ?3) "
		     "  AND (?4 < 0 OR d.status = ?4) "
		     "  AND (?5 = 0 OR i.serial IS NULL) "
		     "  AND d.name > ?7 "
		     "ORDER BY d.name",
		     &s, err, errlen)) < 0)
		goto out;
	if (f->pattern != NULL)
		sqlite3_bind_text(s, 1, f->pattern, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, f->expiring_within_days);
	if (f->issuer_fp != NULL)
		sqlite3_bind_text(s, 3, fp, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 4, f->status);
	sqlite3_bind_int(s, 5, f->without_lsc);
	sqlite3_bind_int64(s, 6, (int64_t)now);
	sqlite3_bind_text(s, 7, f->after != NULL ? f->after : "", -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		store_col_text(s, 0, r.dev.name, sizeof(r.dev.name));
		r.dev.op = (enum capf_operation)sqlite3_column_int(s, 1);
		r.dev.auth = (enum capf_auth_mode)sqlite3_column_int(s, 2);
		r.dev.key_order = (enum capf_key_order)sqlite3_column_int(s, 3);
		r.dev.rsa_bits = (unsigned)sqlite3_column_int(s, 4);
		r.dev.curve = (enum capf_curve)sqlite3_column_int(s, 5);
		r.dev.deadline = (time_t)sqlite3_column_int64(s, 6);
		r.dev.status = (enum capf_status)sqlite3_column_int(s, 7);
		r.dev.status_op = (enum capf_operation)sqlite3_column_int(s, 8);
		r.dev.cause = (enum capf_fail_cause)sqlite3_column_int(s, 9);
		r.dev.failed_attempts = (unsigned)sqlite3_column_int64(s, 10);
		r.dev.last_seen = (time_t)sqlite3_column_int64(s, 11);
		if (sqlite3_column_type(s, 12) != SQLITE_NULL) {
			int stv = state_parse((const char *)sqlite3_column_text(s, 15));
			r.has_lsc = 1;
			store_col_text(s, 12, r.serial, sizeof(r.serial));
			store_col_text(s, 13, r.issuer_fp, sizeof(r.issuer_fp));
			r.not_after = (time_t)sqlite3_column_int64(s, 14);
			r.days_left = days_between(now, r.not_after);
			r.lsc_state = stv < 0 ? CAPF_ISS_ISSUED : (enum capf_store_issuance_state)stv;
		}
		if (cb(&r, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : store_sqlerr(db, rc, "building the report", err, errlen);
	store_finalize(s);
out:
	store_reader_put(st, db);
	return rc;
}

int capf_store_count_valid_lsc(struct capf_store *st, const char *issuer_fp, time_t now, unsigned long *count,
			       char *err, size_t errlen)
{
	char fp[CAPF_STORE_FP_HEX_LEN + 1];
	sqlite3_stmt *s;
	sqlite3 *db;
	int rc;

	if ((rc = store_norm_hex("issuer fingerprint", issuer_fp, fp, CAPF_STORE_FP_HEX_LEN,
				 CAPF_STORE_FP_HEX_LEN, 0, err, errlen)) < 0)
		return rc;
	if (now == 0)
		now = time(NULL);
	if ((db = store_reader_get(st, err, errlen)) == NULL)
		return CAPF_STORE_ERROR;
	if ((rc = store_prepare(db,
				"SELECT count(DISTINCT device) FROM issuances WHERE "
				"issuer_fp = ?1 AND state IN ('issued', 'delivered') AND "
				"not_before <= ?2 AND not_after >= ?2",
				&s, err, errlen)) < 0)
		goto out;
	sqlite3_bind_text(s, 1, fp, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (int64_t)now);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (count != NULL)
			*count = (unsigned long)sqlite3_column_int64(s, 0);
		rc = 0;
	} else {
		rc = store_sqlerr(db, rc, "counting valid LSCs", err, errlen);
	}
	store_finalize(s);
out:
	store_reader_put(st, db);
	return rc;
}
