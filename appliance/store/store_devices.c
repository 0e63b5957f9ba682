/*
 * appliance/store/store_devices.c: the devices table: one row per phone or
 * Jabber client with its pending operation and status, bulk changes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appliance/store/store_int.h"

#define DEVICE_COLS                                                                   \
	"name, operation, auth_mode, auth_kdf, auth_n, auth_r, auth_p, auth_salt, "   \
	"auth_hash, key_order, rsa_bits, curve, deadline, status, status_op, cause, " \
	"failed_attempts, last_seen, created, updated, auth_mac"

static const char *status_name(enum capf_status s)
{
	static const char *const n[] = {
		"none", "pending", "upgrade-success", "delete-success", "troubleshoot-success", "failed"
	};
	return (int)s >= 0 && (size_t)s < NELEM(n) ? n[s] : "unknown";
}

static int check_device(const struct capf_store_device *r, char *err, size_t errlen)
{
	const struct capf_device *d = &r->dev;
	int rc;

	if ((rc = store_check_name("device name", d->name, CAPF_DEVICE_NAME_MAX, err, errlen)) < 0)
		return rc;
	if ((unsigned)d->op > CAPF_OP_FETCH || (unsigned)d->auth > CAPF_AUTH_MIC_FIRST ||
	    (unsigned)d->key_order > CAPF_KEYORDER_EC_PREFERRED || (unsigned)d->curve > CAPF_CURVE_P521 ||
	    (unsigned)d->status > CAPF_ST_FAILED || (unsigned)d->status_op > CAPF_OP_FETCH ||
	    (unsigned)d->cause > CAPF_FAIL_CA_REJECTED) {
		store_err(err, errlen,
			  "store: device %s: an operation, authentication mode, key "
			  "order, curve, status or cause value is out of range",
			  d->name);
		return CAPF_STORE_ERROR;
	}
	if (d->rsa_bits > 16384) {
		store_err(err, errlen, "store: device %s: rsa_bits %u is above 16384", d->name, d->rsa_bits);
		return CAPF_STORE_ERROR;
	}
	if (r->has_auth && r->auth.kdf != CAPF_AUTHHASH_KDF_HMAC) {
		if (r->auth.kdf != CAPF_AUTHHASH_KDF_SCRYPT) {
			store_err(err, errlen,
				  "store: device %s: authentication hash with an "
				  "unknown KDF",
				  d->name);
			return CAPF_STORE_ERROR;
		}
		if (capf_authhash_check_params(&r->auth.params, err, errlen) < 0)
			return CAPF_STORE_ERROR;
	}
	return 0;
}

static void row_to_device(sqlite3_stmt *s, struct capf_store_device *out)
{
	memset(out, 0, sizeof(*out));
	store_col_text(s, 0, out->dev.name, sizeof(out->dev.name));
	out->dev.op = (enum capf_operation)sqlite3_column_int(s, 1);
	out->dev.auth = (enum capf_auth_mode)sqlite3_column_int(s, 2);
	if (sqlite3_column_type(s, 3) != SQLITE_NULL && sqlite3_column_bytes(s, 7) == CAPF_AUTHHASH_SALT_LEN &&
	    sqlite3_column_bytes(s, 8) == CAPF_AUTHHASH_LEN) {
		out->has_auth = 1;
		out->auth.kdf = capf_authhash_kdf_parse((const char *)sqlite3_column_text(s, 3));
		out->auth.params.n = (uint64_t)sqlite3_column_int64(s, 4);
		out->auth.params.r = (uint32_t)sqlite3_column_int64(s, 5);
		out->auth.params.p = (uint32_t)sqlite3_column_int64(s, 6);
		memcpy(out->auth.salt, sqlite3_column_blob(s, 7), CAPF_AUTHHASH_SALT_LEN);
		memcpy(out->auth.hash, sqlite3_column_blob(s, 8), CAPF_AUTHHASH_LEN);
	} else if (sqlite3_column_bytes(s, 20) == CAPF_AUTHHASH_SALT_LEN + CAPF_AUTHHASH_LEN) {
		/* auth_mac: salt || HMAC-SHA-256 under the token's key */
		const unsigned char *m = sqlite3_column_blob(s, 20);

		out->has_auth = 1;
		out->auth.kdf = CAPF_AUTHHASH_KDF_HMAC;
		memcpy(out->auth.salt, m, CAPF_AUTHHASH_SALT_LEN);
		memcpy(out->auth.hash, m + CAPF_AUTHHASH_SALT_LEN, CAPF_AUTHHASH_LEN);
	}
	out->dev.key_order = (enum capf_key_order)sqlite3_column_int(s, 9);
	out->dev.rsa_bits = (unsigned)sqlite3_column_int(s, 10);
	out->dev.curve = (enum capf_curve)sqlite3_column_int(s, 11);
	out->dev.deadline = (time_t)sqlite3_column_int64(s, 12);
	out->dev.status = (enum capf_status)sqlite3_column_int(s, 13);
	out->dev.status_op = (enum capf_operation)sqlite3_column_int(s, 14);
	out->dev.cause = (enum capf_fail_cause)sqlite3_column_int(s, 15);
	out->dev.failed_attempts = (unsigned)sqlite3_column_int64(s, 16);
	out->dev.last_seen = (time_t)sqlite3_column_int64(s, 17);
	out->created = (time_t)sqlite3_column_int64(s, 18);
	out->updated = (time_t)sqlite3_column_int64(s, 19);
}

/* 1 when the device exists, 0 when not, < 0 on error. */
static int device_exists(sqlite3 *db, const char *name, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_prepare(db, "SELECT 1 FROM devices WHERE name = ?", &s, err, errlen)) < 0)
		return rc;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_sqlerr(db, rc, "looking up a device", err, errlen);
}

static int put_one(sqlite3 *db, const struct capf_store_device *r, unsigned flags,
		   const struct capf_store_actor *who, char *err, size_t errlen)
{
	const struct capf_device *d = &r->dev;
	int keep, exists, rc, i;
	int64_t now = (int64_t)time(NULL);
	char detail[400];
	sqlite3_stmt *s;

	if ((rc = check_device(r, err, errlen)) < 0)
		return rc;
	if ((exists = device_exists(db, d->name, err, errlen)) < 0)
		return exists;
	if (exists && (flags & CAPF_STORE_PUT_NEW)) {
		store_err(err, errlen, "store: device %s already exists", d->name);
		return CAPF_STORE_EXISTS;
	}
	if (!exists && (flags & CAPF_STORE_PUT_EXISTING)) {
		store_err(err, errlen, "store: device %s does not exist", d->name);
		return CAPF_STORE_NOTFOUND;
	}
	keep = exists && (flags & CAPF_STORE_PUT_KEEP_AUTH);
	if (exists)
		rc = store_prepare(
			db,
			keep ? "UPDATE devices SET operation=?2, auth_mode=?3, key_order=?10, "
			       "rsa_bits=?11, curve=?12, deadline=?13, status=?14, status_op=?15, "
			       "cause=?16, failed_attempts=?17, last_seen=?18, updated=?19 WHERE name=?1" :
			       "UPDATE devices SET operation=?2, auth_mode=?3, auth_kdf=?4, auth_n=?5, "
			       "auth_r=?6, auth_p=?7, auth_salt=?8, auth_hash=?9, key_order=?10, "
			       "rsa_bits=?11, curve=?12, deadline=?13, status=?14, status_op=?15, "
			       "cause=?16, failed_attempts=?17, last_seen=?18, updated=?19, auth_mac=?20 "
			       "WHERE name=?1",
			&s, err, errlen);
	else
		rc = store_prepare(
			db,
			"INSERT INTO devices(" DEVICE_COLS ") VALUES "
			"(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?19,?20)",
			&s, err, errlen);
	if (rc < 0)
		return rc;
	sqlite3_bind_text(s, 1, d->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, (int)d->op);
	sqlite3_bind_int(s, 3, (int)d->auth);
	if (!keep) {
		unsigned char mac[CAPF_AUTHHASH_SALT_LEN + CAPF_AUTHHASH_LEN];

		sqlite3_bind_null(s, 20);
		if (r->has_auth && r->auth.kdf == CAPF_AUTHHASH_KDF_HMAC) {
			for (i = 4; i <= 9; i++)
				sqlite3_bind_null(s, i);
			memcpy(mac, r->auth.salt, CAPF_AUTHHASH_SALT_LEN);
			memcpy(mac + CAPF_AUTHHASH_SALT_LEN, r->auth.hash, CAPF_AUTHHASH_LEN);
			sqlite3_bind_blob(s, 20, mac, sizeof(mac), SQLITE_TRANSIENT);
		} else if (r->has_auth) {
			sqlite3_bind_text(s, 4, capf_authhash_kdf_name(r->auth.kdf), -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 5, (int64_t)r->auth.params.n);
			sqlite3_bind_int64(s, 6, r->auth.params.r);
			sqlite3_bind_int64(s, 7, r->auth.params.p);
			sqlite3_bind_blob(s, 8, r->auth.salt, CAPF_AUTHHASH_SALT_LEN, SQLITE_STATIC);
			sqlite3_bind_blob(s, 9, r->auth.hash, CAPF_AUTHHASH_LEN, SQLITE_STATIC);
		} else {
			for (i = 4; i <= 9; i++)
				sqlite3_bind_null(s, i);
		}
	}
	sqlite3_bind_int(s, 10, (int)d->key_order);
	sqlite3_bind_int(s, 11, (int)d->rsa_bits);
	sqlite3_bind_int(s, 12, (int)d->curve);
	sqlite3_bind_int64(s, 13, (int64_t)d->deadline);
	sqlite3_bind_int(s, 14, (int)d->status);
	sqlite3_bind_int(s, 15, (int)d->status_op);
	sqlite3_bind_int(s, 16, (int)d->cause);
	sqlite3_bind_int64(s, 17, d->failed_attempts);
	sqlite3_bind_int64(s, 18, (int64_t)d->last_seen);
	sqlite3_bind_int64(s, 19, now);
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc != SQLITE_DONE) {
		char what[128];
		snprintf(what, sizeof(what), "device %s", d->name);
		return store_sqlerr(db, sqlite3_extended_errcode(db), what, err, errlen);
	}
	/* Never the authentication string: only whether a hash was set. */
	snprintf(detail, sizeof(detail),
		 "op=%s auth=%s key_order=%s rsa_bits=%u curve=%s "
		 "deadline=%" PRId64 " status=%s auth_hash=%s",
		 capf_operation_name(d->op), capf_auth_mode_name(d->auth), capf_key_order_name(d->key_order),
		 d->rsa_bits, capf_curve_name(d->curve), (int64_t)d->deadline, status_name(d->status),
		 keep        ? "kept" :
		 r->has_auth ? "set" :
			       "none");
	return store_audit_add(db, who, exists ? "device.update" : "device.add", d->name, detail, err, errlen);
}

static int delete_one(sqlite3 *db, const char *name, const struct capf_store_actor *who, char *err,
		      size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_check_name("device name", name, CAPF_DEVICE_NAME_MAX, err, errlen)) < 0)
		return rc;
	if ((rc = store_prepare(db, "DELETE FROM devices WHERE name = ?", &s, err, errlen)) < 0)
		return rc;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlerr(db, sqlite3_extended_errcode(db), "deleting a device", err, errlen);
	if (sqlite3_changes(db) == 0) {
		store_err(err, errlen, "store: device %s does not exist", name);
		return CAPF_STORE_NOTFOUND;
	}
	return store_audit_add(db, who, "device.delete", name, "", err, errlen);
}

/* ---- put / delete / bulk ---------------------------------------------- */

struct put_args {
	const struct capf_store_device *rec;
	unsigned flags;
	const struct capf_store_actor *who;
};

static int do_put(struct capf_store *st, sqlite3 *db, void *arg, char *err, size_t errlen)
{
	struct put_args *a = arg;

	return put_one(db, a->rec, a->flags, a->who, err, errlen);
}

int capf_store_device_put(struct capf_store *st, const struct capf_store_device *rec, unsigned flags,
			  const struct capf_store_actor *who, char *err, size_t errlen)
{
	struct put_args a = { rec, flags, who };

	if (rec == NULL) {
		store_err(err, errlen, "store: no device");
		return CAPF_STORE_ERROR;
	}
	return store_write(st, do_put, &a, err, errlen);
}

struct name_args {
	const char *name;
	const struct capf_store_actor *who;
	unsigned *count;
	enum capf_status status;
	enum capf_operation status_op;
	enum capf_fail_cause cause;
	unsigned flags;
};

static int do_delete(struct capf_store *st, sqlite3 *db, void *arg, char *err, size_t errlen)
{
	struct name_args *a = arg;

	return delete_one(db, a->name, a->who, err, errlen);
}

int capf_store_device_delete(struct capf_store *st, const char *name, const struct capf_store_actor *who,
			     char *err, size_t errlen)
{
	struct name_args a = { .name = name, .who = who };

	return store_write(st, do_delete, &a, err, errlen);
}

struct bulk_args {
	const struct capf_store_device_change *ch;
	size_t n;
	const struct capf_store_actor *who;
	size_t failed;
};

static int do_bulk(struct capf_store *st, sqlite3 *db, void *arg, char *err, size_t errlen)
{
	struct bulk_args *a = arg;
	char msg[400];
	int rc;

	for (size_t i = 0; i < a->n; i++) {
		const struct capf_store_device_change *c = &a->ch[i];

		if (c->kind == CAPF_STORE_CHANGE_PUT)
			rc = put_one(db, &c->rec, c->put_flags, a->who, msg, sizeof(msg));
		else if (c->kind == CAPF_STORE_CHANGE_DELETE)
			rc = delete_one(db, c->rec.dev.name, a->who, msg, sizeof(msg));
		else {
			snprintf(msg, sizeof(msg), "store: unknown change kind %d", (int)c->kind);
			rc = CAPF_STORE_ERROR;
		}
		if (rc < 0) {
			char name[CAPF_DEVICE_NAME_MAX + 1];
			snprintf(name, sizeof(name), "%s", c->rec.dev.name);
			a->failed = i;
			store_err(err, errlen,
				  "store: bulk change %zu of %zu (device %s) failed, "
				  "nothing was changed: %s",
				  i + 1, a->n, name, msg);
			return rc;
		}
	}
	return 0;
}

int capf_store_device_bulk(struct capf_store *st, const struct capf_store_device_change *ch, size_t n,
			   const struct capf_store_actor *who, size_t *failed, char *err, size_t errlen)
{
	struct bulk_args a = { ch, n, who, (size_t)-1 };
	int rc;

	if (failed != NULL)
		*failed = (size_t)-1;
	if (ch == NULL && n > 0) {
		store_err(err, errlen, "store: no changes");
		return CAPF_STORE_ERROR;
	}
	rc = store_write(st, do_bulk, &a, err, errlen);
	if (rc < 0 && failed != NULL)
		*failed = a.failed;
	return rc;
}

/* ---- counters and status ---------------------------------------------- */

static int do_attempt(struct capf_store *st, sqlite3 *db, void *arg, char *err, size_t errlen)
{
	struct name_args *a = arg;
	sqlite3_stmt *s;
	char detail[64];
	unsigned count;
	int rc;

	if ((rc = store_prepare(db,
				"UPDATE devices SET failed_attempts = failed_attempts + 1, "
				"last_seen = unixepoch(), updated = unixepoch() WHERE name = ? "
				"RETURNING failed_attempts",
				&s, err, errlen)) < 0)
		return rc;
	sqlite3_bind_text(s, 1, a->name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		store_finalize(s);
		store_err(err, errlen, "store: device %s does not exist", a->name);
		return CAPF_STORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW) {
		rc = store_sqlerr(db, rc, "counting a failed attempt", err, errlen);
		store_finalize(s);
		return rc;
	}
	count = (unsigned)sqlite3_column_int64(s, 0);
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlerr(db, rc, "counting a failed attempt", err, errlen);
	snprintf(detail, sizeof(detail), "failed_attempts=%u", count);
	if ((rc = store_audit_add(db, a->who, "device.auth-failed", a->name, detail, err, errlen)) < 0)
		return rc;
	*a->count = count;
	return 0;
}

int capf_store_device_record_attempt(struct capf_store *st, const char *name,
				     const struct capf_store_actor *who, unsigned *count, char *err,
				     size_t errlen)
{
	unsigned c = 0;
	struct name_args a = { .name = name, .who = who, .count = &c };
	int rc;

	if ((rc = store_check_name("device name", name, CAPF_DEVICE_NAME_MAX, err, errlen)) < 0)
		return rc;
	rc = store_write(st, do_attempt, &a, err, errlen);
	if (rc == 0 && count != NULL)
		*count = c;
	return rc;
}

static int update_named(sqlite3 *db, const char *sql, struct name_args *a, const char *action,
			const char *detail, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_prepare(db, sql, &s, err, errlen)) < 0)
		return rc;
	sqlite3_bind_text(s, 1, a->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, (int)a->status);
	sqlite3_bind_int(s, 3, (int)a->status_op);
	sqlite3_bind_int(s, 4, (int)a->cause);
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlerr(db, sqlite3_extended_errcode(db), action, err, errlen);
	if (sqlite3_changes(db) == 0) {
		store_err(err, errlen, "store: device %s does not exist", a->name);
		return CAPF_STORE_NOTFOUND;
	}
	return store_audit_add(db, a->who, action, a->name, detail, err, errlen);
}

static int do_reset(struct capf_store *st, sqlite3 *db, void *arg, char *err, size_t errlen)
{
	return update_named(db,
			    "UPDATE devices SET failed_attempts = 0, updated = unixepoch() "
			    "WHERE name = ?1",
			    arg, "device.reset-lockout", "", err, errlen);
}

int capf_store_device_reset_lockout(struct capf_store *st, const char *name, const struct capf_store_actor *who,
				    char *err, size_t errlen)
{
	struct name_args a = { .name = name, .who = who };
	int rc;

	if ((rc = store_check_name("device name", name, CAPF_DEVICE_NAME_MAX, err, errlen)) < 0)
		return rc;
	return store_write(st, do_reset, &a, err, errlen);
}

static int do_status(struct capf_store *st, sqlite3 *db, void *arg, char *err, size_t errlen)
{
	struct name_args *a = arg;
	char detail[160];
	int clear = (a->flags & CAPF_STORE_STATUS_CLEAR_OP) != 0;

	snprintf(detail, sizeof(detail), "status=%s status_op=%s cause=%d%s", status_name(a->status),
		 capf_operation_name(a->status_op), (int)a->cause, clear ? " operation=cleared" : "");
	return update_named(
		db,
		clear ? "UPDATE devices SET status=?2, status_op=?3, cause=?4, last_seen=unixepoch(), "
			"updated=unixepoch(), operation=0, deadline=0, failed_attempts=0, auth_kdf=NULL, "
			"auth_n=NULL, auth_r=NULL, auth_p=NULL, auth_salt=NULL, auth_hash=NULL, auth_mac=NULL "
			"WHERE name=?1" :
			"UPDATE devices SET status=?2, status_op=?3, cause=?4, last_seen=unixepoch(), "
			"updated=unixepoch() WHERE name=?1",
		a, "device.status", detail, err, errlen);
}

int capf_store_device_set_status(struct capf_store *st, const char *name, enum capf_status status,
				 enum capf_operation status_op, enum capf_fail_cause cause, unsigned flags,
				 const struct capf_store_actor *who, char *err, size_t errlen)
{
	struct name_args a = { .name = name,
			       .who = who,
			       .status = status,
			       .status_op = status_op,
			       .cause = cause,
			       .flags = flags };
	int rc;

	if ((rc = store_check_name("device name", name, CAPF_DEVICE_NAME_MAX, err, errlen)) < 0)
		return rc;
	if ((unsigned)status > CAPF_ST_FAILED || (unsigned)status_op > CAPF_OP_FETCH ||
	    (unsigned)cause > CAPF_FAIL_CA_REJECTED) {
		store_err(err, errlen, "store: device %s: status, operation or cause out of range", name);
		return CAPF_STORE_ERROR;
	}
	return store_write(st, do_status, &a, err, errlen);
}

/* ---- reads ------------------------------------------------------------ */

int capf_store_device_get(struct capf_store *st, const char *name, struct capf_store_device *out, char *err,
			  size_t errlen)
{
	sqlite3_stmt *s;
	sqlite3 *db;
	int rc;

	if ((rc = store_check_name("device name", name, CAPF_DEVICE_NAME_MAX, err, errlen)) < 0)
		return rc;
	if ((db = store_reader_get(st, err, errlen)) == NULL)
		return CAPF_STORE_ERROR;
	if ((rc = store_prepare(db, "SELECT " DEVICE_COLS " FROM devices WHERE name = ?", &s, err, errlen)) < 0)
		goto out;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		row_to_device(s, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		store_err(err, errlen, "store: device %s does not exist", name);
		rc = CAPF_STORE_NOTFOUND;
	} else {
		rc = store_sqlerr(db, rc, "reading a device", err, errlen);
	}
	store_finalize(s);
out:
	store_reader_put(st, db);
	return rc;
}

int capf_store_device_list(struct capf_store *st, const struct capf_store_device_filter *f,
			   capf_store_device_cb cb, void *arg, char *err, size_t errlen)
{
	static const struct capf_store_device_filter all = CAPF_STORE_DEVICE_FILTER_INIT;
	struct capf_store_device d;
	sqlite3_stmt *s;
	sqlite3 *db;
	int rc;

	if (f == NULL)
		f = &all;
	if (f->pattern != NULL && strnlen(f->pattern, 257) > 256) {
		store_err(err, errlen, "store: name pattern longer than 256 bytes");
		return CAPF_STORE_ERROR;
	}
	if ((db = store_reader_get(st, err, errlen)) == NULL)
		return CAPF_STORE_ERROR;
	if ((rc = store_prepare(db,
				"SELECT " DEVICE_COLS " FROM devices WHERE "
				"(?1 IS NULL OR name GLOB ?1) AND (?2 < 0 OR operation = ?2) AND "
				"(?3 < 0 OR status = ?3) AND (?4 < 0 OR auth_mode = ?4) AND "
				"(?5 = 0 OR (operation <> 0 AND deadline < ?5)) AND "
				"(?6 = 0 OR failed_attempts >= ?6) ORDER BY name",
				&s, err, errlen)) < 0)
		goto out;
	if (f->pattern != NULL)
		sqlite3_bind_text(s, 1, f->pattern, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, f->op);
	sqlite3_bind_int(s, 3, f->status);
	sqlite3_bind_int(s, 4, f->auth);
	sqlite3_bind_int64(s, 5, (int64_t)f->deadline_before);
	sqlite3_bind_int(s, 6, f->locked_min);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		row_to_device(s, &d);
		if (cb(&d, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : store_sqlerr(db, rc, "listing devices", err, errlen);
	store_finalize(s);
out:
	store_reader_put(st, db);
	return rc;
}
