/*
 * appliance/store/store_audit.c: the hash-chained audit trail.
 *   hash(row) = SHA-256(prev_hash || be64 id || be64 time || be64 uid ||
 *                       lp(role) || lp(action) || lp(subject) || lp(detail))
 * where lp(s) = be32 length || bytes, prev_hash of row 1 is 32 zero bytes, and
 * ids are consecutive from 1. The head (last id and hash) is also kept in meta
 * ("capf.audit_head") so that removing the newest rows is noticed too.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/crypto.h>

#include "appliance/store/audit_chain.h"
#include "appliance/store/store_int.h"

#define HASH_LEN 32
#define HEAD_KEY "capf.audit_head"

static int row_hash(const unsigned char prev[HASH_LEN], int64_t id, int64_t t, int64_t uid, const char *role,
		    size_t rl, const char *action, size_t al, const char *subject, size_t sl,
		    const char *detail, size_t dl, unsigned char out[HASH_LEN])
{
	return capf_audit_row_hash(prev, id, t, uid, role, rl, action, al, subject, sl, detail, dl, out);
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int v = 0;
		for (int k = 0; k < 2; k++) {
			char c = s[2 * i + k];
			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else
				return -1;
		}
		out[i] = (unsigned char)v;
	}
	return s[2 * n] == '\0' ? 0 : -1;
}

/* Reads the recorded head: 0 with *id = 0 when there is none yet. */
static int read_head(sqlite3 *db, int64_t *id, unsigned char hash[HASH_LEN], char *err, size_t errlen)
{
	sqlite3_stmt *s;
	char buf[128], hx[HASH_LEN * 2 + 1];
	long long v;
	int rc;

	*id = 0;
	memset(hash, 0, HASH_LEN);
	if ((rc = store_prepare(db, "SELECT value FROM meta WHERE key = '" HEAD_KEY "'", &s, err, errlen)) < 0)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		store_finalize(s);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		rc = store_sqlerr(db, rc, "reading the audit head", err, errlen);
		store_finalize(s);
		return rc;
	}
	store_col_text(s, 0, buf, sizeof(buf));
	store_finalize(s);
	if (sscanf(buf, "%lld %64s", &v, hx) != 2 || v < 1 || unhex(hx, hash, HASH_LEN) < 0) {
		store_err(err, errlen, "store: the audit head record in meta is malformed");
		return CAPF_STORE_ERROR;
	}
	*id = v;
	return 0;
}

static int check_text(const char *what, const char *s, char *err, size_t errlen)
{
	if (s != NULL && strnlen(s, CAPF_STORE_AUDIT_TEXT_MAX + 1) > CAPF_STORE_AUDIT_TEXT_MAX) {
		store_err(err, errlen, "store: audit %s longer than %d bytes", what, CAPF_STORE_AUDIT_TEXT_MAX);
		return CAPF_STORE_ERROR;
	}
	return 0;
}

int store_audit_add(sqlite3 *db, const struct capf_store_actor *who, const char *action, const char *subject,
		    const char *detail, char *err, size_t errlen)
{
	unsigned char prev[HASH_LEN], h[HASH_LEN];
	char head[128], hx[HASH_LEN * 2 + 1];
	const char *role;
	sqlite3_stmt *s;
	int64_t id, now = (int64_t)time(NULL);
	int rc;

	if (who == NULL)
		return 0;
	role = who->role != NULL ? who->role : "";
	if (action == NULL || action[0] == '\0') {
		store_err(err, errlen, "store: audit row without an action");
		return CAPF_STORE_ERROR;
	}
	subject = subject != NULL ? subject : "";
	detail = detail != NULL ? detail : "";
	if (strnlen(role, 33) > 32) {
		store_err(err, errlen, "store: audit role longer than 32 bytes");
		return CAPF_STORE_ERROR;
	}
	if ((rc = check_text("action", action, err, errlen)) < 0 ||
	    (rc = check_text("subject", subject, err, errlen)) < 0 ||
	    (rc = check_text("detail", detail, err, errlen)) < 0)
		return rc;
	if ((rc = read_head(db, &id, prev, err, errlen)) < 0)
		return rc;
	id++;
	if (row_hash(prev, id, now, (int64_t)who->uid, role, strlen(role), action, strlen(action), subject,
		     strlen(subject), detail, strlen(detail), h) < 0) {
		store_err(err, errlen, "store: SHA-256 failed");
		return CAPF_STORE_ERROR;
	}
	if ((rc = store_prepare(db,
				"INSERT INTO audit(id, time, uid, role, action, subject, "
				"detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?)",
				&s, err, errlen)) < 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, now);
	sqlite3_bind_int64(s, 3, (int64_t)who->uid);
	sqlite3_bind_text(s, 4, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, detail, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 8, prev, HASH_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(s, 9, h, HASH_LEN, SQLITE_STATIC);
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlerr(db, sqlite3_extended_errcode(db), "appending to the audit trail", err,
				    errlen);
	hex(h, HASH_LEN, hx);
	snprintf(head, sizeof(head), "%" PRId64 " %s", id, hx);
	if ((rc = store_prepare(db, "INSERT OR REPLACE INTO meta(key, value) VALUES ('" HEAD_KEY "', ?)", &s,
				err, errlen)) < 0)
		return rc;
	sqlite3_bind_text(s, 1, head, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	store_finalize(s);
	if (rc != SQLITE_DONE)
		return store_sqlerr(db, sqlite3_extended_errcode(db), "recording the audit head", err, errlen);
	return 0;
}

/* ---- public ----------------------------------------------------------- */

struct append_args {
	const struct capf_store_actor *who;
	const char *action, *subject, *detail;
};

static int do_append(struct capf_store *st, sqlite3 *db, void *arg, char *err, size_t errlen)
{
	struct append_args *a = arg;

	return store_audit_add(db, a->who, a->action, a->subject, a->detail, err, errlen);
}

int capf_store_audit_append(struct capf_store *st, const struct capf_store_actor *who, const char *action,
			    const char *subject, const char *detail, char *err, size_t errlen)
{
	struct append_args a = { who, action, subject, detail };

	if (who == NULL) {
		store_err(err, errlen, "store: audit row without an actor");
		return CAPF_STORE_ERROR;
	}
	return store_write(st, do_append, &a, err, errlen);
}

/* A deferred append owns copies of everything it points to. */
struct deferred_append {
	struct append_args a;
	struct capf_store_actor who;
	char text[]; /* role, action, subject, detail, each NUL-terminated */
};

int capf_store_audit_append_deferred(struct capf_store *st, const struct capf_store_actor *who,
				     const char *action, const char *subject, const char *detail, char *err,
				     size_t errlen)
{
	const char *src[4];
	size_t len[4], total = 0;
	struct deferred_append *d;
	char *p;

	if (who == NULL) {
		store_err(err, errlen, "store: audit row without an actor");
		return CAPF_STORE_ERROR;
	}
	src[0] = who->role != NULL ? who->role : "";
	src[1] = action != NULL ? action : "";
	src[2] = subject != NULL ? subject : "";
	src[3] = detail != NULL ? detail : "";
	for (int i = 0; i < 4; i++)
		total += (len[i] = strlen(src[i]) + 1);
	if ((d = malloc(sizeof(*d) + total)) == NULL) {
		store_err(err, errlen, "store: out of memory");
		return CAPF_STORE_ERROR;
	}
	p = d->text;
	for (int i = 0; i < 4; i++) {
		memcpy(p, src[i], len[i]);
		p += len[i];
	}
	d->who.uid = who->uid;
	d->who.role = who->role != NULL ? d->text : NULL;
	d->a.who = &d->who;
	d->a.action = action != NULL ? d->text + len[0] : NULL;
	d->a.subject = subject != NULL ? d->text + len[0] + len[1] : NULL;
	d->a.detail = detail != NULL ? d->text + len[0] + len[1] + len[2] : NULL;
	return store_write_deferred(st, do_append, d, free, err, errlen);
}

int capf_store_audit_list(struct capf_store *st, int64_t after_id, capf_store_audit_cb cb, void *arg, char *err,
			  size_t errlen)
{
	return store_audit_rows(st,
				"SELECT id, time, uid, role, action, subject, detail, prev_hash, hash "
				"FROM audit WHERE id > ?2 ORDER BY id LIMIT ?3",
				NULL, after_id, -1, cb, arg, "listing the audit trail", err, errlen);
}

static int blob32(sqlite3_stmt *s, int col, unsigned char out[HASH_LEN])
{
	if (sqlite3_column_bytes(s, col) != HASH_LEN || sqlite3_column_blob(s, col) == NULL)
		return -1;
	memcpy(out, sqlite3_column_blob(s, col), HASH_LEN);
	return 0;
}

int capf_store_audit_verify(struct capf_store *st, int64_t *bad_id, uint64_t *rows, char *err, size_t errlen)
{
	unsigned char prev[HASH_LEN], got_prev[HASH_LEN], got[HASH_LEN], want[HASH_LEN];
	unsigned char head_hash[HASH_LEN];
	int64_t expect = 1, head_id, bad = 0;
	uint64_t n = 0;
	sqlite3_stmt *s = NULL;
	sqlite3 *db;
	int rc;

	if (bad_id != NULL)
		*bad_id = 0;
	if (rows != NULL)
		*rows = 0;
	if ((db = store_reader_get(st, err, errlen)) == NULL)
		return CAPF_STORE_ERROR;
	/* One snapshot for the head and the rows. */
	if ((rc = store_exec(db, "BEGIN", err, errlen)) < 0)
		goto out;
	if ((rc = read_head(db, &head_id, head_hash, err, errlen)) < 0)
		goto out;
	if ((rc = store_prepare(db,
				"SELECT id, time, uid, role, action, subject, detail, "
				"prev_hash, hash FROM audit ORDER BY id",
				&s, err, errlen)) < 0)
		goto out;
	memset(prev, 0, sizeof(prev));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0);
		const char *t[4];
		size_t l[4];

		for (int k = 0; k < 4; k++) {
			t[k] = (const char *)sqlite3_column_text(s, 3 + k);
			l[k] = (size_t)sqlite3_column_bytes(s, 3 + k);
			if (t[k] == NULL)
				t[k] = "";
		}
		if (id != expect) {
			store_err(err, errlen,
				  "store: audit trail broken at row %" PRId64 ": row %" PRId64 " is missing",
				  id, expect);
			bad = id;
			break;
		}
		if (blob32(s, 7, got_prev) < 0 || blob32(s, 8, got) < 0 ||
		    CRYPTO_memcmp(got_prev, prev, HASH_LEN) != 0) {
			store_err(err, errlen,
				  "store: audit trail broken at row %" PRId64
				  ": it does not link to the row before it",
				  id);
			bad = id;
			break;
		}
		if (row_hash(prev, id, sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2), t[0], l[0], t[1],
			     l[1], t[2], l[2], t[3], l[3], want) < 0) {
			store_err(err, errlen, "store: SHA-256 failed");
			rc = SQLITE_DONE;
			bad = -1;
			break;
		}
		if (CRYPTO_memcmp(want, got, HASH_LEN) != 0) {
			store_err(err, errlen,
				  "store: audit trail broken at row %" PRId64
				  ": its content does not match its hash (edited)",
				  id);
			bad = id;
			break;
		}
		memcpy(prev, got, HASH_LEN);
		expect++;
		n++;
	}
	if (bad == 0 && rc != SQLITE_DONE) {
		rc = store_sqlerr(db, rc, "reading the audit trail", err, errlen);
		goto out;
	}
	if (bad == 0 &&
	    (head_id != expect - 1 || (head_id > 0 && CRYPTO_memcmp(head_hash, prev, HASH_LEN) != 0))) {
		store_err(err, errlen,
			  "store: audit trail broken: the recorded head is row %" PRId64
			  " but the last row is %" PRId64 " (rows removed or the head "
			  "edited)",
			  head_id, expect - 1);
		bad = head_id > expect - 1 ? head_id : expect - 1;
		if (bad == 0)
			bad = 1;
	}
	rc = bad == 0 ? 0 : CAPF_STORE_ERROR;
	if (bad_id != NULL && bad > 0)
		*bad_id = bad;
	if (rows != NULL)
		*rows = n;
out:
	store_finalize(s);
	store_reader_put(st, db);
	return rc;
}
