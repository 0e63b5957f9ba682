/*
 * appliance/store/store_certs.c: the CAPF CA certificates (active, previous,
 * retired) and the meta table of small named values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "appliance/store/store_int.h"

#define CERT_COLS "fingerprint, role, der, key_uri, created, not_after, chain"

static const char *const role_names[] = { "active", "previous", "retired" };

const char *capf_store_cert_role_name(enum capf_store_cert_role r)
{
	return (unsigned)r < NELEM(role_names) ? role_names[r] : "unknown";
}

static int role_parse(const char *s)
{
	for (size_t i = 0; s != NULL && i < NELEM(role_names); i++)
		if (strcmp(s, role_names[i]) == 0)
			return (int)i;
	return -1;
}

void capf_store_cert_clear(struct capf_store_cert *c)
{
	if (c == NULL)
		return;
	free(c->der);
	free(c->chain);
	memset(c, 0, sizeof(*c));
}

static int row_to_cert(sqlite3_stmt *s, struct capf_store_cert *out)
{
	const void *der;
	int n, r;

	memset(out, 0, sizeof(*out));
	store_col_text(s, 0, out->fp, sizeof(out->fp));
	r = role_parse((const char *)sqlite3_column_text(s, 1));
	out->role = r < 0 ? CAPF_CERT_RETIRED : (enum capf_store_cert_role)r;
	der = sqlite3_column_blob(s, 2);
	n = sqlite3_column_bytes(s, 2);
	store_col_text(s, 3, out->key_uri, sizeof(out->key_uri));
	out->created = (time_t)sqlite3_column_int64(s, 4);
	out->not_after = (time_t)sqlite3_column_int64(s, 5);
	if (n > 0 && der != NULL) {
		if ((out->der = malloc((size_t)n)) == NULL)
			return -1;
		memcpy(out->der, der, (size_t)n);
		out->der_len = (size_t)n;
	}
	der = sqlite3_column_blob(s, 6);
	n = sqlite3_column_bytes(s, 6);
	if (n > 0 && der != NULL) {
		if ((out->chain = malloc((size_t)n)) == NULL)
			return -1;
		memcpy(out->chain, der, (size_t)n);
		out->chain_len = (size_t)n;
	}
	return 0;
}

static void sha256_hex(const unsigned char *d, size_t n, char out[CAPF_STORE_FP_HEX_LEN + 1])
{
	static const char hx[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int len = 0;

	out[0] = '\0';
	if (EVP_Digest(d, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return;
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hx[md[i] >> 4];
		out[2 * i + 1] = hx[md[i] & 15];
	}
	out[64] = '\0';
}

/* Demotes the current active certificate (other than fp) to previous. */
static int demote_active(sqlite3 *db, const char *fp, const struct capf_store_actor *who, char *err,
			 size_t errlen)
{
	char old[CAPF_STORE_FP_HEX_LEN + 1] = "";
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_prepare(db,
				"UPDATE capf_certs SET role = 'previous' WHERE role = "
				"'active' AND fingerprint <> ? RETURNING fingerprint",
				&s, err, errlen)) < 0)
		return rc;
	sqlite3_bind_text(s, 1, fp, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		store_col_text(s, 0, old, sizeof(old));
		rc = sqlite3_step(s);
	}
	store_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlerr(db, sqlite3_extended_errcode(db),
				    "demoting the active CAPF "
				    "certificate",
				    err, errlen);
	if (old[0] != '\0')
		return store_audit_add(db, who, "capf-cert.role", old, "role=previous", err, errlen);
	return 0;
}

struct cert_args {
	const struct capf_store_cert *c;
	char fp[CAPF_STORE_FP_HEX_LEN + 1];
	enum capf_store_cert_role role;
	const struct capf_store_actor *who;
};

static int do_add(struct capf_store *st, sqlite3 *db, void *arg, char *err, size_t errlen)
{
	struct cert_args *a = arg;
	char detail[CAPF_STORE_KEY_URI_MAX + 64];
	sqlite3_stmt *s;
	int rc;

	if (a->c->role == CAPF_CERT_ACTIVE && (rc = demote_active(db, a->fp, a->who, err, errlen)) < 0)
		return rc;
	if ((rc = store_prepare(db, "INSERT INTO capf_certs(" CERT_COLS ") VALUES (?,?,?,?,?,?,?)", &s, err,
				errlen)) < 0)
		return rc;
	sqlite3_bind_text(s, 1, a->fp, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, role_names[a->c->role], -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, a->c->der, (int)a->c->der_len, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, a->c->key_uri, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, a->c->created != 0 ? (int64_t)a->c->created : (int64_t)time(NULL));
	sqlite3_bind_int64(s, 6, (int64_t)a->c->not_after);
	sqlite3_bind_blob(s, 7, a->c->chain != NULL ? (const void *)a->c->chain : "", (int)a->c->chain_len,
			  SQLITE_STATIC);
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc != SQLITE_DONE) {
		rc = store_sqlerr(db, sqlite3_extended_errcode(db), "adding a CAPF certificate", err, errlen);
		if (rc == CAPF_STORE_EXISTS)
			store_err(err, errlen, "store: CAPF certificate %s is already in the store", a->fp);
		return rc;
	}
	snprintf(detail, sizeof(detail), "role=%s key=%s", role_names[a->c->role], a->c->key_uri);
	return store_audit_add(db, a->who, "capf-cert.add", a->fp, detail, err, errlen);
}

int capf_store_cert_add(struct capf_store *st, const struct capf_store_cert *c,
			const struct capf_store_actor *who, char *err, size_t errlen)
{
	struct cert_args a;
	char given[CAPF_STORE_FP_HEX_LEN + 1];
	int rc;

	memset(&a, 0, sizeof(a));
	if (c == NULL || c->der == NULL || c->der_len == 0 || c->der_len > CAPF_STORE_DER_MAX) {
		store_err(err, errlen, "store: CAPF certificate must be 1 to %d bytes of DER",
			  CAPF_STORE_DER_MAX);
		return CAPF_STORE_ERROR;
	}
	if ((unsigned)c->role > CAPF_CERT_RETIRED) {
		store_err(err, errlen, "store: CAPF certificate role out of range");
		return CAPF_STORE_ERROR;
	}
	if (c->chain_len > CAPF_STORE_DER_MAX || (c->chain_len > 0 && c->chain == NULL)) {
		store_err(err, errlen, "store: a CAPF certificate's chain is at most %d bytes of DER",
			  CAPF_STORE_DER_MAX);
		return CAPF_STORE_ERROR;
	}
	if (strnlen(c->key_uri, sizeof(c->key_uri)) >= sizeof(c->key_uri)) {
		store_err(err, errlen, "store: CAPF key URI is not NUL-terminated");
		return CAPF_STORE_ERROR;
	}
	sha256_hex(c->der, c->der_len, a.fp);
	if (a.fp[0] == '\0') {
		store_err(err, errlen, "store: SHA-256 failed");
		return CAPF_STORE_ERROR;
	}
	if (c->fp[0] != '\0') {
		if ((rc = store_norm_hex("CAPF certificate fingerprint", c->fp, given, CAPF_STORE_FP_HEX_LEN,
					 CAPF_STORE_FP_HEX_LEN, 0, err, errlen)) < 0)
			return rc;
		if (strcmp(given, a.fp) != 0) {
			store_err(err, errlen,
				  "store: CAPF certificate fingerprint %s does not "
				  "match its DER (SHA-256 %s)",
				  given, a.fp);
			return CAPF_STORE_ERROR;
		}
	}
	a.c = c;
	a.who = who;
	return store_write(st, do_add, &a, err, errlen);
}

static int do_role(struct capf_store *st, sqlite3 *db, void *arg, char *err, size_t errlen)
{
	struct cert_args *a = arg;
	char detail[32];
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_prepare(db, "SELECT 1 FROM capf_certs WHERE fingerprint = ?", &s, err, errlen)) < 0)
		return rc;
	sqlite3_bind_text(s, 1, a->fp, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc == SQLITE_DONE) {
		store_err(err, errlen, "store: no CAPF certificate %s", a->fp);
		return CAPF_STORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW)
		return store_sqlerr(db, rc, "looking up a CAPF certificate", err, errlen);
	if (a->role == CAPF_CERT_ACTIVE && (rc = demote_active(db, a->fp, a->who, err, errlen)) < 0)
		return rc;
	if ((rc = store_prepare(db, "UPDATE capf_certs SET role = ? WHERE fingerprint = ?", &s, err, errlen)) <
	    0)
		return rc;
	sqlite3_bind_text(s, 1, role_names[a->role], -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, a->fp, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlerr(db, sqlite3_extended_errcode(db),
				    "changing a CAPF "
				    "certificate's role",
				    err, errlen);
	snprintf(detail, sizeof(detail), "role=%s", role_names[a->role]);
	return store_audit_add(db, a->who, "capf-cert.role", a->fp, detail, err, errlen);
}

int capf_store_cert_set_role(struct capf_store *st, const char *fp, enum capf_store_cert_role role,
			     const struct capf_store_actor *who, char *err, size_t errlen)
{
	struct cert_args a;
	int rc;

	memset(&a, 0, sizeof(a));
	if ((rc = store_norm_hex("CAPF certificate fingerprint", fp, a.fp, CAPF_STORE_FP_HEX_LEN,
				 CAPF_STORE_FP_HEX_LEN, 0, err, errlen)) < 0)
		return rc;
	if ((unsigned)role > CAPF_CERT_RETIRED) {
		store_err(err, errlen, "store: CAPF certificate role out of range");
		return CAPF_STORE_ERROR;
	}
	a.role = role;
	a.who = who;
	return store_write(st, do_role, &a, err, errlen);
}

struct chain_args {
	char fp[CAPF_STORE_FP_HEX_LEN + 1];
	const unsigned char *chain;
	size_t len;
	const struct capf_store_actor *who;
};

static int do_chain(struct capf_store *st, sqlite3 *db, void *arg, char *err, size_t errlen)
{
	struct chain_args *a = arg;
	char detail[48];
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_prepare(db, "UPDATE capf_certs SET chain = ? WHERE fingerprint = ?", &s, err, errlen)) <
	    0)
		return rc;
	sqlite3_bind_blob(s, 1, a->chain != NULL ? (const void *)a->chain : "", (int)a->len, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, a->fp, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlerr(db, sqlite3_extended_errcode(db),
				    "recording a CAPF "
				    "certificate's chain",
				    err, errlen);
	if (sqlite3_changes(db) == 0) {
		store_err(err, errlen, "store: no CAPF certificate %s", a->fp);
		return CAPF_STORE_NOTFOUND;
	}
	snprintf(detail, sizeof(detail), "chain_bytes=%zu", a->len);
	return store_audit_add(db, a->who, "capf-cert.chain", a->fp, detail, err, errlen);
}

int capf_store_cert_set_chain(struct capf_store *st, const char *fp, const unsigned char *chain, size_t len,
			      const struct capf_store_actor *who, char *err, size_t errlen)
{
	struct chain_args a;
	int rc;

	memset(&a, 0, sizeof(a));
	if ((rc = store_norm_hex("CAPF certificate fingerprint", fp, a.fp, CAPF_STORE_FP_HEX_LEN,
				 CAPF_STORE_FP_HEX_LEN, 0, err, errlen)) < 0)
		return rc;
	if (len > CAPF_STORE_DER_MAX || (len > 0 && chain == NULL)) {
		store_err(err, errlen, "store: a CAPF certificate's chain is at most %d bytes of DER",
			  CAPF_STORE_DER_MAX);
		return CAPF_STORE_ERROR;
	}
	a.chain = chain;
	a.len = len;
	a.who = who;
	return store_write(st, do_chain, &a, err, errlen);
}

static int get_cert(struct capf_store *st, const char *sql, const char *key, struct capf_store_cert *out,
		    char *err, size_t errlen)
{
	sqlite3_stmt *s;
	sqlite3 *db;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((db = store_reader_get(st, err, errlen)) == NULL)
		return CAPF_STORE_ERROR;
	if ((rc = store_prepare(db, sql, &s, err, errlen)) < 0)
		goto out;
	if (key != NULL)
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		rc = 0;
		if (row_to_cert(s, out) < 0) {
			store_err(err, errlen, "store: out of memory");
			rc = CAPF_STORE_ERROR;
		}
	} else if (rc == SQLITE_DONE) {
		if (key != NULL)
			store_err(err, errlen, "store: no CAPF certificate %s", key);
		else
			store_err(err, errlen,
				  "store: no active CAPF certificate: generate or "
				  "import one (capfctl)");
		rc = CAPF_STORE_NOTFOUND;
	} else {
		rc = store_sqlerr(db, rc, "reading a CAPF certificate", err, errlen);
	}
	store_finalize(s);
out:
	store_reader_put(st, db);
	return rc;
}

int capf_store_cert_get(struct capf_store *st, const char *fp, struct capf_store_cert *out, char *err,
			size_t errlen)
{
	char norm[CAPF_STORE_FP_HEX_LEN + 1];
	int rc;

	if ((rc = store_norm_hex("CAPF certificate fingerprint", fp, norm, CAPF_STORE_FP_HEX_LEN,
				 CAPF_STORE_FP_HEX_LEN, 0, err, errlen)) < 0)
		return rc;
	return get_cert(st, "SELECT " CERT_COLS " FROM capf_certs WHERE fingerprint = ?", norm, out, err,
			errlen);
}

int capf_store_cert_active(struct capf_store *st, struct capf_store_cert *out, char *err, size_t errlen)
{
	return get_cert(st, "SELECT " CERT_COLS " FROM capf_certs WHERE role = 'active'", NULL, out, err,
			errlen);
}

int capf_store_cert_list(struct capf_store *st, capf_store_cert_cb cb, void *arg, char *err, size_t errlen)
{
	struct capf_store_cert c;
	sqlite3_stmt *s;
	sqlite3 *db;
	int rc;

	if ((db = store_reader_get(st, err, errlen)) == NULL)
		return CAPF_STORE_ERROR;
	if ((rc = store_prepare(db,
				"SELECT " CERT_COLS " FROM capf_certs ORDER BY CASE role "
				"WHEN 'active' THEN 0 WHEN 'previous' THEN 1 ELSE 2 END, "
				"created DESC, fingerprint",
				&s, err, errlen)) < 0)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int stop;

		if (row_to_cert(s, &c) < 0) {
			store_err(err, errlen, "store: out of memory");
			rc = SQLITE_NOMEM;
			break;
		}
		stop = cb(&c, arg);
		capf_store_cert_clear(&c);
		if (stop) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc == SQLITE_NOMEM)
		rc = CAPF_STORE_ERROR;
	else
		rc = rc == SQLITE_DONE ? 0 : store_sqlerr(db, rc, "listing CAPF certificates", err, errlen);
	store_finalize(s);
out:
	store_reader_put(st, db);
	return rc;
}

/* ---- meta ------------------------------------------------------------- */

struct meta_args {
	const char *key, *value;
	const struct capf_store_actor *who;
};

static int check_key(const char *key, char *err, size_t errlen)
{
	int rc;

	if ((rc = store_check_name("meta key", key, 64, err, errlen)) < 0)
		return rc;
	if (strncmp(key, "capf.", 5) == 0) {
		store_err(err, errlen, "store: meta keys starting with \"capf.\" are the store's own");
		return CAPF_STORE_ERROR;
	}
	return 0;
}

static int do_meta(struct capf_store *st, sqlite3 *db, void *arg, char *err, size_t errlen)
{
	struct meta_args *a = arg;
	sqlite3_stmt *s;
	int rc;

	if ((rc = store_prepare(db, "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", &s, err, errlen)) <
	    0)
		return rc;
	sqlite3_bind_text(s, 1, a->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, a->value, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlerr(db, sqlite3_extended_errcode(db), "setting a meta value", err, errlen);
	return store_audit_add(db, a->who, "meta.set", a->key, a->value, err, errlen);
}

int capf_store_meta_set(struct capf_store *st, const char *key, const char *value,
			const struct capf_store_actor *who, char *err, size_t errlen)
{
	struct meta_args a = { key, value, who };
	int rc;

	if ((rc = check_key(key, err, errlen)) < 0)
		return rc;
	if (value == NULL || strnlen(value, CAPF_STORE_META_MAX + 1) > CAPF_STORE_META_MAX) {
		store_err(err, errlen, "store: meta value missing or longer than %d bytes",
			  CAPF_STORE_META_MAX);
		return CAPF_STORE_ERROR;
	}
	return store_write(st, do_meta, &a, err, errlen);
}

int capf_store_meta_get(struct capf_store *st, const char *key, char *value, size_t len, char *err,
			size_t errlen)
{
	sqlite3_stmt *s;
	sqlite3 *db;
	int rc;

	if ((rc = store_check_name("meta key", key, 64, err, errlen)) < 0)
		return rc;
	if (value == NULL || len == 0) {
		store_err(err, errlen, "store: no buffer for the meta value");
		return CAPF_STORE_ERROR;
	}
	if ((db = store_reader_get(st, err, errlen)) == NULL)
		return CAPF_STORE_ERROR;
	if ((rc = store_prepare(db, "SELECT value FROM meta WHERE key = ?", &s, err, errlen)) < 0)
		goto out;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if ((size_t)sqlite3_column_bytes(s, 0) >= len) {
			store_err(err, errlen, "store: meta value %s does not fit in %zu bytes", key, len);
			rc = CAPF_STORE_ERROR;
		} else {
			store_col_text(s, 0, value, len);
			rc = 0;
		}
	} else if (rc == SQLITE_DONE) {
		store_err(err, errlen, "store: no meta value %s", key);
		rc = CAPF_STORE_NOTFOUND;
	} else {
		rc = store_sqlerr(db, rc, "reading a meta value", err, errlen);
	}
	store_finalize(s);
out:
	store_reader_put(st, db);
	return rc;
}
