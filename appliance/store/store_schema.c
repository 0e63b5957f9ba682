/*
 * appliance/store/store_schema.c: the schema as a list of migrations. Migration
 * i takes PRAGMA user_version from i to i+1 in one transaction. Never edit a
 * released migration: append a new one and raise CAPF_STORE_SCHEMA_VERSION.
 */
#include <stdio.h>
#include <string.h>

#include "appliance/store/store_int.h"

#define CAPF_APPLICATION_ID 0x43415046 /* "CAPF" */

static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY NOT NULL CHECK (length(key) BETWEEN 1 AND 64),"
	"  value TEXT NOT NULL CHECK (length(value) <= 1024)"
	") WITHOUT ROWID;"

	/* Enum columns hold the values of policy/device.h. */
	"CREATE TABLE devices ("
	"  name TEXT PRIMARY KEY NOT NULL CHECK (length(name) BETWEEN 1 AND 64),"
	"  operation INTEGER NOT NULL CHECK (operation BETWEEN 0 AND 3),"
	"  auth_mode INTEGER NOT NULL CHECK (auth_mode BETWEEN 0 AND 3),"
	"  auth_kdf TEXT CHECK (auth_kdf IN ('scrypt')),"
	"  auth_n INTEGER, auth_r INTEGER, auth_p INTEGER,"
	"  auth_salt BLOB CHECK (auth_salt IS NULL OR length(auth_salt) = 16),"
	"  auth_hash BLOB CHECK (auth_hash IS NULL OR length(auth_hash) = 32),"
	"  key_order INTEGER NOT NULL CHECK (key_order BETWEEN 0 AND 2),"
	"  rsa_bits INTEGER NOT NULL CHECK (rsa_bits BETWEEN 0 AND 16384),"
	"  curve INTEGER NOT NULL CHECK (curve BETWEEN 0 AND 2),"
	"  deadline INTEGER NOT NULL DEFAULT 0,"
	"  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 5),"
	"  status_op INTEGER NOT NULL CHECK (status_op BETWEEN 0 AND 3),"
	"  cause INTEGER NOT NULL CHECK (cause BETWEEN 0 AND 10),"
	"  failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),"
	"  last_seen INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL,"
	"  CHECK ((auth_hash IS NULL) = (auth_salt IS NULL)"
	"     AND (auth_hash IS NULL) = (auth_kdf IS NULL))"
	") WITHOUT ROWID;"
	"CREATE INDEX devices_op ON devices(operation, deadline);"

	"CREATE TABLE capf_certs ("
	"  fingerprint TEXT PRIMARY KEY NOT NULL CHECK (length(fingerprint) = 64),"
	"  role TEXT NOT NULL CHECK (role IN ('active', 'previous', 'retired')),"
	"  der BLOB NOT NULL CHECK (length(der) BETWEEN 1 AND 65536),"
	"  key_uri TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL"
	");"
	"CREATE UNIQUE INDEX capf_certs_one_active ON capf_certs(role) WHERE role = 'active';"

	/* No foreign key to devices: the history outlives a deleted device. */
	"CREATE TABLE issuances ("
	"  serial TEXT PRIMARY KEY NOT NULL CHECK (length(serial) BETWEEN 2 AND 40),"
	"  device TEXT NOT NULL,"
	"  issuer_fp TEXT NOT NULL REFERENCES capf_certs(fingerprint),"
	"  spki_sha256 TEXT NOT NULL CHECK (length(spki_sha256) = 64),"
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL CHECK (not_after >= not_before),"
	"  der BLOB NOT NULL CHECK (length(der) BETWEEN 1 AND 65536),"
	"  issued_at INTEGER NOT NULL,"
	"  peer TEXT NOT NULL DEFAULT '',"
	"  state TEXT NOT NULL CHECK (state IN ('issued', 'delivered', 'superseded', 'deleted'))"
	");"
	"CREATE INDEX issuances_device ON issuances(device, issued_at);"
	"CREATE INDEX issuances_issuer ON issuances(issuer_fp, state);"
	"CREATE UNIQUE INDEX issuances_one_current ON issuances(device)"
	"  WHERE state IN ('issued', 'delivered');"

	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY NOT NULL,"
	"  time INTEGER NOT NULL,"
	"  uid INTEGER NOT NULL,"
	"  role TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),"
	"  hash BLOB NOT NULL CHECK (length(hash) = 32)"
	");"
	/* Append-only for anyone going through SQLite without dropping these
	 * first; audit_verify catches those who do. */
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",

	/* 1 -> 2: each CAPF CA certificate with its chain (the DER certificates
	 * above it, issuer first, concatenated; empty when self-signed), so
	 * that a restart needs no chain file. */
	"ALTER TABLE capf_certs ADD COLUMN chain BLOB NOT NULL DEFAULT x''"
	"  CHECK (length(chain) <= 65536);",
	/* 2 -> 3: Troubleshoot keeps the certificate a phone returned, with the
	 * signer's verdict; a device's history reads the audit by subject. */
	"CREATE TABLE fetched_certs ("
	"  id INTEGER PRIMARY KEY NOT NULL,"
	"  device TEXT NOT NULL CHECK (length(device) BETWEEN 1 AND 64),"
	"  fetched_at INTEGER NOT NULL,"
	"  serial TEXT NOT NULL DEFAULT '' CHECK (length(serial) <= 40),"
	"  issuer TEXT NOT NULL DEFAULT '' CHECK (length(issuer) <= 1024),"
	"  issuer_fp TEXT NOT NULL DEFAULT '' CHECK (length(issuer_fp) IN (0, 64)),"
	"  fingerprint TEXT NOT NULL CHECK (length(fingerprint) = 64),"
	"  der BLOB NOT NULL CHECK (length(der) BETWEEN 1 AND 65536),"
	"  accepted INTEGER NOT NULL CHECK (accepted IN (0, 1)),"
	"  reason TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 511)"
	");"
	"CREATE INDEX fetched_certs_device ON fetched_certs(device, id);"
	"CREATE INDEX audit_subject ON audit(subject, id);",

	/* 3 -> 4: signed checkpoints of the audit trail's head (capf-signerd signs
	 * them with the token's audit key; store_checkpoint.c). */
	"CREATE TABLE audit_checkpoints ("
	"  id INTEGER PRIMARY KEY NOT NULL,"
	"  time INTEGER NOT NULL,"
	"  row_id INTEGER NOT NULL CHECK (row_id >= 1),"
	"  head BLOB NOT NULL CHECK (length(head) = 32),"
	"  key_id TEXT NOT NULL CHECK (length(key_id) = 64),"
	"  sig BLOB NOT NULL CHECK (length(sig) BETWEEN 1 AND 1024)"
	");"
	"CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints"
	"  BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;"
	"CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints"
	"  BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;",

	/* 4 -> 5: authentication strings as HMAC-SHA-256 under the token's secret
	 * key (token.auth_key_uri): salt (16) || MAC (32). Rows keep their scrypt
	 * columns (auth_kdf...) when they were stored before; one of the two at most. */
	"ALTER TABLE devices ADD COLUMN auth_mac BLOB"
	"  CHECK (auth_mac IS NULL OR (length(auth_mac) = 48 AND auth_hash IS NULL));",
};

_Static_assert(NELEM(migrations) == CAPF_STORE_SCHEMA_VERSION, "one migration per schema version");

static int pragma_int(sqlite3 *db, const char *sql, int *out, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_prepare(db, sql, &s, err, errlen)) < 0)
		return rc;
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		rc = store_sqlerr(db, rc, sql, err, errlen);
		store_finalize(s);
		return rc;
	}
	*out = sqlite3_column_int(s, 0);
	store_finalize(s);
	return 0;
}

int store_migrate(sqlite3 *db, const char *path, int readonly, char *err, size_t errlen)
{
	char sql[128];
	int version, appid, ntables, rc;

	if ((rc = pragma_int(db, "PRAGMA user_version", &version, err, errlen)) < 0 ||
	    (rc = pragma_int(db, "PRAGMA application_id", &appid, err, errlen)) < 0 ||
	    (rc = pragma_int(db, "SELECT count(*) FROM sqlite_schema", &ntables, err, errlen)) < 0)
		return rc;
	/* Version 0 with our application id: a store whose first migration
	 * never committed (a crash, an older failure): migrate it. */
	if ((version > 0 && appid != CAPF_APPLICATION_ID) ||
	    (version == 0 && appid != CAPF_APPLICATION_ID && (appid != 0 || ntables != 0))) {
		store_err(err, errlen,
			  "store: %s is an SQLite database but not a CAPF store "
			  "(application_id %#x, schema version %d): point the store at its own file",
			  path, (unsigned)appid, version);
		return CAPF_STORE_ERROR;
	}
	if (version > CAPF_STORE_SCHEMA_VERSION) {
		store_err(err, errlen,
			  "store: %s has schema version %d but this build knows "
			  "versions up to %d: it was written by a newer capf-signerd; run that "
			  "version (or restore a backup made for this one), do not downgrade",
			  path, version, CAPF_STORE_SCHEMA_VERSION);
		return CAPF_STORE_ERROR;
	}
	if (version < CAPF_STORE_SCHEMA_VERSION && readonly) {
		store_err(err, errlen,
			  "store: %s has schema version %d, older than %d: open it "
			  "read-write once to migrate it",
			  path, version, CAPF_STORE_SCHEMA_VERSION);
		return CAPF_STORE_ERROR;
	}
	/* An upgrade: a checked copy of the store as it was, before anything changes. */
	if (version > 0 && version < CAPF_STORE_SCHEMA_VERSION) {
		char saved[4200];

		if ((rc = store_backup_pre_migration(db, path, version, CAPF_STORE_SCHEMA_VERSION, saved,
						     sizeof(saved), err, errlen)) < 0)
			return rc;
	}
	while (version < CAPF_STORE_SCHEMA_VERSION) {
		if ((rc = store_exec(db, "BEGIN IMMEDIATE", err, errlen)) < 0)
			return rc;
		/* Another process may have migrated while we waited for the lock. */
		if ((rc = pragma_int(db, "PRAGMA user_version", &version, err, errlen)) < 0)
			goto fail;
		if (version >= CAPF_STORE_SCHEMA_VERSION) {
			store_exec(db, "COMMIT", NULL, 0);
			break;
		}
		if ((rc = store_exec(db, migrations[version], err, errlen)) < 0) {
			char why[256];
			snprintf(why, sizeof(why), "%s", err != NULL ? err : "");
			store_err(err, errlen,
				  "store: %s: migration to schema version %d failed "
				  "and was rolled back (%s)",
				  path, version + 1, why);
			goto fail;
		}
		snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d",
			 CAPF_APPLICATION_ID, version + 1);
		if ((rc = store_exec(db, sql, err, errlen)) < 0)
			goto fail;
		snprintf(sql, sizeof(sql),
			 "INSERT OR REPLACE INTO meta(key, value) "
			 "VALUES ('capf.migrated.%d', CAST(unixepoch() AS TEXT))",
			 version + 1);
		if ((rc = store_exec(db, sql, err, errlen)) < 0)
			goto fail;
		if ((rc = store_exec(db, "COMMIT", err, errlen)) < 0)
			goto fail;
		version++;
	}
	return 0;
fail:
	store_exec(db, "ROLLBACK", NULL, 0);
	return rc;
}
