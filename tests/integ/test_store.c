/*
 * tests/integ/test_store.c: the store on real SQLite files in temporary
 * directories: migrations, devices, issuances and reports, CAPF certificates,
 * bulk changes, the audit chain, durability across SIGKILL, group commit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "appliance/store/store.h"
#include "appliance/store/store_backup.h"
#include "appliance/store/store_int.h" /* white box: store_inflight() */

#define DAY 86400
static const struct capf_store_actor admin = { 1000, "admin" };
static const struct capf_store_actor front = { 998, "front" };

struct fx {
	char dir[64];
	char path[128];
	struct capf_store *st;
	char fp_a[65], fp_b[65]; /* two CAPF certificates in the store */
};

/* ---- helpers ---------------------------------------------------------- */

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[512];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static void sha256_hex(const void *d, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int len;

	assert_int_equal(EVP_Digest(d, n, md, &len, EVP_sha256(), NULL), 1);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

/* A "certificate": the store keeps DER opaque, so any bytes do. */
static int add_cert(struct capf_store *st, const char *tag, enum capf_store_cert_role role, time_t not_after,
		    char fp[65])
{
	struct capf_store_cert c;
	char err[256];
	int rc;

	memset(&c, 0, sizeof(c));
	c.der = (unsigned char *)tag;
	c.der_len = strlen(tag);
	c.role = role;
	c.not_after = not_after;
	snprintf(c.key_uri, sizeof(c.key_uri), "pkcs11:token=capf;object=%s", tag);
	sha256_hex(c.der, c.der_len, fp);
	rc = capf_store_cert_add(st, &c, &admin, err, sizeof(err));
	if (rc != 0)
		print_message("cert_add: %s\n", err);
	return rc;
}

static struct capf_store_device mkdev(const char *name, enum capf_operation op, enum capf_auth_mode auth,
				      enum capf_status status)
{
	struct capf_store_device d;

	memset(&d, 0, sizeof(d));
	snprintf(d.dev.name, sizeof(d.dev.name), "%s", name);
	d.dev.op = op;
	d.dev.auth = auth;
	d.dev.key_order = CAPF_KEYORDER_EC_PREFERRED;
	d.dev.rsa_bits = 2048;
	d.dev.curve = CAPF_CURVE_P256;
	d.dev.deadline = op != CAPF_OP_NONE ? time(NULL) + 10 * DAY : 0;
	d.dev.status = status;
	d.dev.status_op = op;
	return d;
}

static void put_dev(struct capf_store *st, const char *name, enum capf_operation op, enum capf_auth_mode auth,
		    enum capf_status status)
{
	struct capf_store_device d = mkdev(name, op, auth, status);
	char err[256] = "";

	if (capf_store_device_put(st, &d, CAPF_STORE_PUT_NEW, &admin, err, sizeof(err)) != 0)
		fail_msg("device_put %s: %s", name, err);
}

static struct capf_store_issuance mkiss(const char *serial, const char *device, const char *issuer,
					time_t not_after)
{
	struct capf_store_issuance is;
	static unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

	memset(&is, 0, sizeof(is));
	snprintf(is.serial, sizeof(is.serial), "%s", serial);
	snprintf(is.device, sizeof(is.device), "%s", device);
	snprintf(is.issuer_fp, sizeof(is.issuer_fp), "%s", issuer);
	sha256_hex(serial, strlen(serial), is.spki_sha256);
	is.not_before = not_after - 365 * DAY;
	is.not_after = not_after;
	snprintf(is.peer, sizeof(is.peer), "uid:998 pid:%d", (int)getpid());
	is.der = der;
	is.der_len = sizeof(der);
	return is;
}

static int record(struct capf_store *st, const char *serial, const char *device, const char *issuer,
		  time_t not_after, char *err, size_t errlen)
{
	struct capf_store_issuance is = mkiss(serial, device, issuer, not_after);

	return capf_store_issuance_record(st, &is, &front, err, errlen);
}

static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* A store as schema version 1 left it (what an older capf-signerd wrote): every
 * later migration of store_schema.c undone, newest first. */
static void raw_back_to_v1(sqlite3 *db)
{
	raw_exec(db, "ALTER TABLE devices DROP COLUMN auth_mac;"           /* 4 -> 5 */
		     "DROP TABLE audit_checkpoints;"                       /* 3 -> 4 */
		     "DROP INDEX audit_subject; DROP TABLE fetched_certs;" /* 2 -> 3 */
		     "ALTER TABLE capf_certs DROP COLUMN chain;"           /* 1 -> 2 */
		     "PRAGMA user_version = 1");
}

static long long raw_int(const char *path, const char *sql)
{
	sqlite3 *db = raw_open(path);
	sqlite3_stmt *s;
	long long v;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static int setup_dir(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "%s", "/tmp/capf-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/capf.db", f->dir);
	*state = f;
	return 0;
}

/* A fresh store with two CAPF certificates: A (previous) and B (active). */
static int setup_store(void **state)
{
	char err[512] = "";
	struct fx *f;

	setup_dir(state);
	f = *state;
	f->st = capf_store_open(f->path, 0, err, sizeof(err));
	if (f->st == NULL)
		fail_msg("open: %s", err);
	assert_int_equal(add_cert(f->st, "capf-ca-A", CAPF_CERT_ACTIVE, time(NULL) + 900 * DAY, f->fp_a), 0);
	assert_int_equal(add_cert(f->st, "capf-ca-B", CAPF_CERT_ACTIVE, time(NULL) + 1800 * DAY, f->fp_b), 0);
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	capf_store_close(f->st);
	rm_tree(f->dir);
	free(f);
	return 0;
}

/* ---- opening and migrations ------------------------------------------- */

static void test_open_creates_schema(void **state)
{
	struct fx *f = *state;
	char err[512] = "", v[64];
	struct stat sb;

	f->st = capf_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->st);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	put_dev(f->st, "SEP001122334455", CAPF_OP_NONE, CAPF_AUTH_NULL, CAPF_ST_NONE);
	/* The WAL inherits the database's mode. */
	{
		char wal[160];
		snprintf(wal, sizeof(wal), "%s-wal", f->path);
		assert_int_equal(stat(wal, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
	assert_int_equal(capf_store_meta_get(f->st, "capf.migrated.1", v, sizeof(v), err, sizeof(err)), 0);
	capf_store_close(f->st);
	f->st = NULL;
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), CAPF_STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(f->path, "PRAGMA application_id"), 0x43415046);
	{
		sqlite3 *db = raw_open(f->path);
		sqlite3_stmt *s;
		assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), 0);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
		sqlite3_finalize(s);
		sqlite3_close(db);
	}
}

static void test_open_empty_file_migrates(void **state)
{
	struct fx *f = *state;
	char err[512] = "";
	int fd = open(f->path, O_CREAT | O_WRONLY | O_EXCL, 0600);

	assert_true(fd >= 0);
	close(fd);
	f->st = capf_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->st);
	capf_store_close(f->st);
	f->st = NULL;
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), CAPF_STORE_SCHEMA_VERSION);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE name IN "
					  "('devices','issuances','capf_certs','audit','meta')"),
			 5);
}

static void test_reopen_keeps_data(void **state)
{
	struct fx *f = *state;
	struct capf_store_device d;
	char err[512] = "";

	f->st = capf_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->st);
	put_dev(f->st, "CSFJDOE", CAPF_OP_INSTALL, CAPF_AUTH_NULL, CAPF_ST_PENDING);
	capf_store_close(f->st);
	f->st = capf_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->st);
	assert_int_equal(capf_store_device_get(f->st, "CSFJDOE", &d, err, sizeof(err)), 0);
	assert_int_equal(d.dev.op, CAPF_OP_INSTALL);
	assert_int_equal(capf_store_audit_verify(f->st, NULL, NULL, err, sizeof(err)), 0);
	capf_store_close(f->st);
	/* Read-only opening sees the data and refuses writes. */
	f->st = capf_store_open(f->path, CAPF_STORE_OPEN_READONLY, err, sizeof(err));
	assert_non_null(f->st);
	assert_int_equal(capf_store_device_get(f->st, "CSFJDOE", &d, err, sizeof(err)), 0);
	assert_int_equal(capf_store_device_delete(f->st, "CSFJDOE", &admin, err, sizeof(err)),
			 CAPF_STORE_ERROR);
	assert_non_null(strstr(err, "read-only"));
}

static void test_refuse_newer_schema(void **state)
{
	struct fx *f = *state;
	char err[512] = "";
	sqlite3 *db;

	f->st = capf_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->st);
	capf_store_close(f->st);
	f->st = NULL;
	db = raw_open(f->path);
	raw_exec(db, "PRAGMA user_version = 7");
	sqlite3_close(db);
	assert_null(capf_store_open(f->path, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "schema version 7"));
	{
		char want[64];

		snprintf(want, sizeof(want), "versions up to %d", CAPF_STORE_SCHEMA_VERSION);
		assert_non_null(strstr(err, want));
	}
	assert_null(capf_store_open(f->path, CAPF_STORE_OPEN_READONLY, err, sizeof(err)));
	/* Nothing was changed by the refusal. */
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 7);
}

/* A migration that fails leaves nothing behind: not its tables, not the version. */
static void test_failed_migration_rolls_back(void **state)
{
	struct fx *f = *state;
	char err[512] = "";
	sqlite3 *db = raw_open(f->path);

	raw_exec(db, "PRAGMA application_id = 1128353862; CREATE TABLE issuances(x)");
	sqlite3_close(db);
	chmod(f->path, 0600);
	assert_null(capf_store_open(f->path, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "migration to schema version 1 failed"));
	assert_non_null(strstr(err, "issuances"));
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE name IN "
					  "('meta', 'devices', 'capf_certs')"),
			 0);
	/* Once the obstacle is gone the same file migrates. */
	db = raw_open(f->path);
	raw_exec(db, "DROP TABLE issuances");
	sqlite3_close(db);
	f->st = capf_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->st);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), CAPF_STORE_SCHEMA_VERSION);
}

static void test_refuse_foreign_db(void **state)
{
	struct fx *f = *state;
	char err[512] = "";
	sqlite3 *db = raw_open(f->path);

	raw_exec(db, "CREATE TABLE t(x)");
	sqlite3_close(db);
	chmod(f->path, 0600);
	assert_null(capf_store_open(f->path, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "not a CAPF store"));
}

static void test_refuse_unsafe_place(void **state)
{
	struct fx *f = *state;
	char err[512] = "";
	int fd;

	/* A group-writable directory. */
	assert_int_equal(chmod(f->dir, 0770), 0);
	assert_null(capf_store_open(f->path, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "not writable by group or others"));
	assert_int_equal(chmod(f->dir, 0700), 0);
	/* A database readable by others. */
	fd = open(f->path, O_CREAT | O_WRONLY | O_EXCL, 0644);
	assert_true(fd >= 0);
	fchmod(fd, 0644);
	close(fd);
	assert_null(capf_store_open(f->path, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "mode 0600"));
	assert_int_equal(chmod(f->path, 0600), 0);
	f->st = capf_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->st);
	/* A directory owned by someone else (root can arrange that). */
	if (geteuid() == 0) {
		assert_int_equal(chown(f->dir, 12345, 12345), 0);
		assert_null(capf_store_open(f->path, 0, err, sizeof(err)));
		assert_non_null(strstr(err, "must be owned by uid 0"));
		assert_int_equal(chown(f->dir, 0, 0), 0);
	}
	/* Not a file at all. */
	assert_null(capf_store_open(":memory:", 0, err, sizeof(err)));
	assert_null(capf_store_open("", 0, err, sizeof(err)));
	/* A symbolic link in place of the database. */
	capf_store_close(f->st);
	f->st = NULL;
	{
		char link[160];
		snprintf(link, sizeof(link), "%s/link.db", f->dir);
		assert_int_equal(symlink(f->path, link), 0);
		assert_null(capf_store_open(link, 0, err, sizeof(err)));
	}
}

/* ---- devices ---------------------------------------------------------- */

static void test_device_crud(void **state)
{
	struct fx *f = *state;
	struct capf_store_device d = mkdev("SEP00AABBCCDDEE", CAPF_OP_INSTALL, CAPF_AUTH_STRING,
					   CAPF_ST_PENDING),
				 got;
	struct capf_authhash_params small = { 1024, 8, 1 };
	char err[512] = "";

	assert_int_equal(capf_authhash_make(&d.auth, "1234", 4, &small, err, sizeof(err)), 0);
	d.has_auth = 1;
	assert_int_equal(capf_store_device_put(f->st, &d, CAPF_STORE_PUT_NEW, &admin, err, sizeof(err)), 0);
	assert_int_equal(capf_store_device_put(f->st, &d, CAPF_STORE_PUT_NEW, &admin, err, sizeof(err)),
			 CAPF_STORE_EXISTS);
	assert_non_null(strstr(err, "SEP00AABBCCDDEE already exists"));
	assert_int_equal(capf_store_device_get(f->st, "SEP00AABBCCDDEE", &got, err, sizeof(err)), 0);
	assert_string_equal(got.dev.name, "SEP00AABBCCDDEE");
	assert_int_equal(got.dev.op, CAPF_OP_INSTALL);
	assert_int_equal(got.dev.auth, CAPF_AUTH_STRING);
	assert_int_equal(got.dev.key_order, CAPF_KEYORDER_EC_PREFERRED);
	assert_int_equal(got.dev.rsa_bits, 2048);
	assert_int_equal(got.dev.deadline, d.dev.deadline);
	assert_int_equal(got.has_auth, 1);
	assert_memory_equal(&got.auth, &d.auth, sizeof(d.auth));
	assert_int_equal(capf_authhash_verify(&got.auth, "1234", 4, err, sizeof(err)), 1);
	assert_int_equal(capf_authhash_verify(&got.auth, "1235", 4, err, sizeof(err)), 0);
	assert_true(got.created > 0 && got.updated >= got.created);

	/* Update keeping the hash. */
	d.has_auth = 0;
	d.dev.curve = CAPF_CURVE_P384;
	assert_int_equal(capf_store_device_put(f->st, &d, CAPF_STORE_PUT_EXISTING | CAPF_STORE_PUT_KEEP_AUTH,
					       &admin, err, sizeof(err)),
			 0);
	assert_int_equal(capf_store_device_get(f->st, "SEP00AABBCCDDEE", &got, err, sizeof(err)), 0);
	assert_int_equal(got.dev.curve, CAPF_CURVE_P384);
	assert_int_equal(got.has_auth, 1);
	/* Update dropping it. */
	assert_int_equal(capf_store_device_put(f->st, &d, 0, &admin, err, sizeof(err)), 0);
	assert_int_equal(capf_store_device_get(f->st, "SEP00AABBCCDDEE", &got, err, sizeof(err)), 0);
	assert_int_equal(got.has_auth, 0);

	assert_int_equal(capf_store_device_put(f->st,
					       &(struct capf_store_device){
						       .dev = { .name = "SEPFFFFFFFFFFFF" } },
					       CAPF_STORE_PUT_EXISTING, &admin, err, sizeof(err)),
			 CAPF_STORE_NOTFOUND);
	assert_int_equal(capf_store_device_get(f->st, "SEPFFFFFFFFFFFF", &got, err, sizeof(err)),
			 CAPF_STORE_NOTFOUND);
	assert_int_equal(capf_store_device_delete(f->st, "SEP00AABBCCDDEE", &admin, err, sizeof(err)), 0);
	assert_int_equal(capf_store_device_get(f->st, "SEP00AABBCCDDEE", &got, err, sizeof(err)),
			 CAPF_STORE_NOTFOUND);
	assert_int_equal(capf_store_device_delete(f->st, "SEP00AABBCCDDEE", &admin, err, sizeof(err)),
			 CAPF_STORE_NOTFOUND);
}

static void test_device_refuses_bad_values(void **state)
{
	struct fx *f = *state;
	struct capf_store_device d;
	char err[512] = "";
	static const char *const bad_names[] = {
		"", "SEP 001122", "SEP\n", "\xc3\xa9t\xc3\xa9",
		"A234567890123456789012345678901234567890123456789012345678901234X"
	};

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		memset(&d, 0, sizeof(d));
		snprintf(d.dev.name, sizeof(d.dev.name), "%s", bad_names[i]);
		if (strlen(bad_names[i]) > CAPF_DEVICE_NAME_MAX)
			memcpy(d.dev.name, bad_names[i], sizeof(d.dev.name)); /* unterminated */
		assert_int_equal(capf_store_device_put(f->st, &d, 0, &admin, err, sizeof(err)),
				 CAPF_STORE_ERROR);
	}
	d = mkdev("SEP001122334455", CAPF_OP_INSTALL, CAPF_AUTH_NULL, CAPF_ST_NONE);
	d.dev.op = (enum capf_operation)9;
	assert_int_equal(capf_store_device_put(f->st, &d, 0, &admin, err, sizeof(err)), CAPF_STORE_ERROR);
	assert_non_null(strstr(err, "out of range"));
	d = mkdev("SEP001122334455", CAPF_OP_INSTALL, CAPF_AUTH_STRING, CAPF_ST_NONE);
	d.has_auth = 1;
	d.auth.kdf = CAPF_AUTHHASH_KDF_SCRYPT;
	d.auth.params.n = 1000; /* not a power of two */
	d.auth.params.r = 8;
	d.auth.params.p = 1;
	assert_int_equal(capf_store_device_put(f->st, &d, 0, &admin, err, sizeof(err)), CAPF_STORE_ERROR);
}

struct names {
	char buf[512];
	int n;
};

static int collect_dev(const struct capf_store_device *d, void *arg)
{
	struct names *c = arg;

	if (c->n++)
		strcat(c->buf, ",");
	strcat(c->buf, d->dev.name);
	return 0;
}

static void test_device_list_filters(void **state)
{
	struct fx *f = *state;
	char err[512] = "";
	unsigned cnt;
	struct capf_store_device d;

	put_dev(f->st, "SEP0000000000A1", CAPF_OP_INSTALL, CAPF_AUTH_STRING, CAPF_ST_PENDING);
	put_dev(f->st, "SEP0000000000A2", CAPF_OP_NONE, CAPF_AUTH_NULL, CAPF_ST_UPGRADE_SUCCESS);
	put_dev(f->st, "SEP0000000000B1", CAPF_OP_DELETE, CAPF_AUTH_LSC_FIRST, CAPF_ST_PENDING);
	put_dev(f->st, "CSFALICE", CAPF_OP_FETCH, CAPF_AUTH_MIC_FIRST, CAPF_ST_FAILED);
	put_dev(f->st, "BOTBOB", CAPF_OP_INSTALL, CAPF_AUTH_NULL, CAPF_ST_PENDING);
	/* BOTBOB is late. */
	d = mkdev("BOTBOB", CAPF_OP_INSTALL, CAPF_AUTH_NULL, CAPF_ST_PENDING);
	d.dev.deadline = time(NULL) - 3600;
	assert_int_equal(capf_store_device_put(f->st, &d, CAPF_STORE_PUT_EXISTING, &admin, err, sizeof(err)),
			 0);
	assert_int_equal(capf_store_device_record_attempt(f->st, "CSFALICE", &front, &cnt, err, sizeof(err)),
			 0);
	assert_int_equal(capf_store_device_record_attempt(f->st, "CSFALICE", &front, &cnt, err, sizeof(err)),
			 0);

	static const struct {
		struct capf_store_device_filter f;
		const char *want;
	} cases[] = {
		{ { NULL, -1, -1, -1, 0, 0 },
		  "BOTBOB,CSFALICE,SEP0000000000A1,SEP0000000000A2,SEP0000000000B1" },
		{ { "SEP*", -1, -1, -1, 0, 0 }, "SEP0000000000A1,SEP0000000000A2,SEP0000000000B1" },
		{ { "SEP0000000000A?", -1, -1, -1, 0, 0 }, "SEP0000000000A1,SEP0000000000A2" },
		{ { "SEP*[B]1", -1, -1, -1, 0, 0 }, "SEP0000000000B1" },
		{ { "sep*", -1, -1, -1, 0, 0 }, "" },
		{ { NULL, CAPF_OP_INSTALL, -1, -1, 0, 0 }, "BOTBOB,SEP0000000000A1" },
		{ { NULL, -1, CAPF_ST_PENDING, -1, 0, 0 }, "BOTBOB,SEP0000000000A1,SEP0000000000B1" },
		{ { NULL, -1, -1, CAPF_AUTH_NULL, 0, 0 }, "BOTBOB,SEP0000000000A2" },
		{ { "SEP*", CAPF_OP_INSTALL, CAPF_ST_PENDING, CAPF_AUTH_STRING, 0, 0 }, "SEP0000000000A1" },
		{ { NULL, -1, -1, -1, 1, 0 }, "" }, /* deadline_before = epoch + 1s */
		{ { NULL, -1, -1, -1, 0, 2 }, "CSFALICE" },
		{ { NULL, -1, -1, -1, 0, 3 }, "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct names c = { "", 0 };
		assert_int_equal(capf_store_device_list(f->st, &cases[i].f, collect_dev, &c, err, sizeof(err)),
				 0);
		if (strcmp(c.buf, cases[i].want) != 0)
			fail_msg("case %zu: got '%s' want '%s'", i, c.buf, cases[i].want);
	}
	/* Late operations: deadline before now. */
	{
		struct capf_store_device_filter lf = CAPF_STORE_DEVICE_FILTER_INIT;
		struct names c = { "", 0 };
		lf.deadline_before = time(NULL);
		assert_int_equal(capf_store_device_list(f->st, &lf, collect_dev, &c, err, sizeof(err)), 0);
		assert_string_equal(c.buf, "BOTBOB");
	}
}

static int stop_after_one(const struct capf_store_device *d, void *arg)
{
	(*(int *)arg)++;
	return 1;
}

static void test_device_list_stops(void **state)
{
	struct fx *f = *state;
	char err[256];
	int n = 0;

	put_dev(f->st, "SEP000000000001", CAPF_OP_NONE, CAPF_AUTH_NULL, CAPF_ST_NONE);
	put_dev(f->st, "SEP000000000002", CAPF_OP_NONE, CAPF_AUTH_NULL, CAPF_ST_NONE);
	assert_int_equal(capf_store_device_list(f->st, NULL, stop_after_one, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
}

static void test_lockout_counter(void **state)
{
	struct fx *f = *state;
	struct capf_store_device d;
	char err[256] = "";
	unsigned n = 0;

	put_dev(f->st, "SEP001122334455", CAPF_OP_INSTALL, CAPF_AUTH_STRING, CAPF_ST_PENDING);
	for (unsigned i = 1; i <= 3; i++) {
		assert_int_equal(capf_store_device_record_attempt(f->st, "SEP001122334455", &front, &n, err,
								  sizeof(err)),
				 0);
		assert_int_equal(n, i);
	}
	assert_int_equal(capf_store_device_get(f->st, "SEP001122334455", &d, err, sizeof(err)), 0);
	assert_int_equal(d.dev.failed_attempts, 3);
	assert_true(d.dev.last_seen > 0);
	assert_int_equal(capf_store_device_reset_lockout(f->st, "SEP001122334455", &admin, err, sizeof(err)),
			 0);
	assert_int_equal(capf_store_device_get(f->st, "SEP001122334455", &d, err, sizeof(err)), 0);
	assert_int_equal(d.dev.failed_attempts, 0);
	assert_int_equal(capf_store_device_record_attempt(f->st, "SEP001122334455", &front, &n, err,
							  sizeof(err)),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(capf_store_device_record_attempt(f->st, "SEPNOSUCHDEVICE", &front, &n, err,
							  sizeof(err)),
			 CAPF_STORE_NOTFOUND);
	assert_int_equal(capf_store_device_reset_lockout(f->st, "SEPNOSUCHDEVICE", &admin, err, sizeof(err)),
			 CAPF_STORE_NOTFOUND);
}

static void test_set_status(void **state)
{
	struct fx *f = *state;
	struct capf_store_device d =
		mkdev("SEP001122334455", CAPF_OP_INSTALL, CAPF_AUTH_STRING, CAPF_ST_PENDING);
	struct capf_authhash_params small = { 1024, 1, 1 };
	char err[256] = "", buf[128];
	unsigned n;

	assert_int_equal(capf_authhash_make(&d.auth, "98765", 5, &small, err, sizeof(err)), 0);
	d.has_auth = 1;
	assert_int_equal(capf_store_device_put(f->st, &d, 0, &admin, err, sizeof(err)), 0);
	assert_int_equal(capf_store_device_record_attempt(f->st, d.dev.name, &front, &n, err, sizeof(err)), 0);
	/* A failure keeps the operation pending. */
	assert_int_equal(capf_store_device_set_status(f->st, d.dev.name, CAPF_ST_FAILED, CAPF_OP_INSTALL,
						      CAPF_FAIL_INVALID_AUTH_STRING, 0, &front, err,
						      sizeof(err)),
			 0);
	assert_int_equal(capf_store_device_get(f->st, d.dev.name, &d, err, sizeof(err)), 0);
	assert_string_equal(capf_status_cisco(&d.dev, buf, sizeof(buf)),
			    "Upgrade Failed: Invalid Authentication String");
	assert_int_equal(d.dev.op, CAPF_OP_INSTALL);
	assert_int_equal(d.has_auth, 1);
	/* Success clears it, with the one-time hash and the counter. */
	assert_int_equal(capf_store_device_set_status(f->st, d.dev.name, CAPF_ST_UPGRADE_SUCCESS,
						      CAPF_OP_INSTALL, CAPF_FAIL_NONE,
						      CAPF_STORE_STATUS_CLEAR_OP, &front, err, sizeof(err)),
			 0);
	assert_int_equal(capf_store_device_get(f->st, d.dev.name, &d, err, sizeof(err)), 0);
	assert_int_equal(d.dev.status, CAPF_ST_UPGRADE_SUCCESS);
	assert_int_equal(d.dev.op, CAPF_OP_NONE);
	assert_int_equal(d.dev.deadline, 0);
	assert_int_equal(d.dev.failed_attempts, 0);
	assert_int_equal(d.has_auth, 0);
	assert_int_equal(capf_store_device_set_status(f->st, "SEPNOSUCHDEVICE", CAPF_ST_NONE, CAPF_OP_NONE,
						      CAPF_FAIL_NONE, 0, &front, err, sizeof(err)),
			 CAPF_STORE_NOTFOUND);
	assert_int_equal(capf_store_device_set_status(f->st, d.dev.name, (enum capf_status)17, CAPF_OP_NONE,
						      CAPF_FAIL_NONE, 0, &front, err, sizeof(err)),
			 CAPF_STORE_ERROR);
}

/* ---- issuances and reports -------------------------------------------- */

static void test_issuance_supersede(void **state)
{
	struct fx *f = *state;
	struct capf_store_issuance is;
	char err[512] = "";
	time_t now = time(NULL);

	put_dev(f->st, "SEP001122334455", CAPF_OP_INSTALL, CAPF_AUTH_NULL, CAPF_ST_PENDING);
	assert_int_equal(record(f->st, "0a1b2c3d4e5f6071", "SEP001122334455", f->fp_a, now + 100 * DAY, err,
				sizeof(err)),
			 0);
	assert_int_equal(capf_store_issuance_get(f->st, "0A1B2C3D4E5F6071", &is, err, sizeof(err)), 0);
	assert_string_equal(is.serial, "0A1B2C3D4E5F6071"); /* normalised */
	assert_int_equal(is.state, CAPF_ISS_ISSUED);
	assert_int_equal(is.der_len, 5);
	assert_true(is.issued_at >= now);
	assert_non_null(strstr(is.peer, "uid:998"));
	capf_store_issuance_clear(&is);
	assert_int_equal(capf_store_issuance_set_state(f->st, "0A1B2C3D4E5F6071", CAPF_ISS_DELIVERED, &front,
						       err, sizeof(err)),
			 0);

	assert_int_equal(record(f->st, "0A1B2C3D4E5F6072", "SEP001122334455", f->fp_b, now + 200 * DAY, err,
				sizeof(err)),
			 0);
	assert_int_equal(capf_store_issuance_get(f->st, "0A1B2C3D4E5F6071", &is, err, sizeof(err)), 0);
	assert_int_equal(is.state, CAPF_ISS_SUPERSEDED);
	capf_store_issuance_clear(&is);
	assert_int_equal(capf_store_issuance_latest_for_device(f->st, "SEP001122334455", &is, err, sizeof(err)),
			 0);
	assert_string_equal(is.serial, "0A1B2C3D4E5F6072");
	assert_string_equal(is.issuer_fp, f->fp_b);
	assert_int_equal(is.state, CAPF_ISS_ISSUED);
	capf_store_issuance_clear(&is);

	/* Refusals. */
	assert_int_equal(record(f->st, "0A1B2C3D4E5F6072", "SEP001122334455", f->fp_b, now + DAY, err,
				sizeof(err)),
			 CAPF_STORE_EXISTS);
	assert_non_null(strstr(err, "0A1B2C3D4E5F6072"));
	assert_int_equal(record(f->st, "01", "SEPNOSUCHDEVICE", f->fp_b, now + DAY, err, sizeof(err)),
			 CAPF_STORE_NOTFOUND);
	assert_int_equal(record(f->st, "02", "SEP001122334455",
				"1111111111111111111111111111111111111111111111111111111111111111", now + DAY,
				err, sizeof(err)),
			 CAPF_STORE_NOTFOUND);
	assert_non_null(strstr(err, "CAPF certificate"));
	assert_int_equal(record(f->st, "0G", "SEP001122334455", f->fp_b, now + DAY, err, sizeof(err)),
			 CAPF_STORE_ERROR);
	assert_int_equal(record(f->st, "ABC", "SEP001122334455", f->fp_b, now + DAY, err, sizeof(err)),
			 CAPF_STORE_ERROR);
	is = mkiss("01", "SEP001122334455", f->fp_b, now + DAY);
	memset(is.serial, 'A', sizeof(is.serial)); /* 41 digits, unterminated */
	assert_int_equal(capf_store_issuance_record(f->st, &is, &front, err, sizeof(err)), CAPF_STORE_ERROR);
	is = mkiss("03", "SEP001122334455", f->fp_b, now + DAY);
	is.not_after = is.not_before - 1;
	assert_int_equal(capf_store_issuance_record(f->st, &is, &front, err, sizeof(err)), CAPF_STORE_ERROR);
	is = mkiss("04", "SEP001122334455", f->fp_b, now + DAY);
	is.der_len = CAPF_STORE_DER_MAX + 1;
	assert_int_equal(capf_store_issuance_record(f->st, &is, &front, err, sizeof(err)), CAPF_STORE_ERROR);
	assert_int_equal(capf_store_issuance_set_state(f->st, "0A1B2C3D4E5F6072", CAPF_ISS_ISSUED, &front, err,
						       sizeof(err)),
			 CAPF_STORE_ERROR);
	assert_int_equal(capf_store_issuance_set_state(f->st, "99", CAPF_ISS_DELIVERED, &front, err,
						       sizeof(err)),
			 CAPF_STORE_NOTFOUND);
	/* The failed attempts left the current LSC alone. */
	assert_int_equal(capf_store_issuance_latest_for_device(f->st, "SEP001122334455", &is, err, sizeof(err)),
			 0);
	assert_string_equal(is.serial, "0A1B2C3D4E5F6072");
	capf_store_issuance_clear(&is);
	/* Superseded is final. */
	assert_int_equal(capf_store_issuance_set_state(f->st, "0A1B2C3D4E5F6071", CAPF_ISS_DELIVERED, &front,
						       err, sizeof(err)),
			 CAPF_STORE_ERROR);
	assert_non_null(strstr(err, "superseded"));
	/* A Delete operation. */
	assert_int_equal(capf_store_issuance_set_state(f->st, "0A1B2C3D4E5F6072", CAPF_ISS_DELETED, &front, err,
						       sizeof(err)),
			 0);
	assert_int_equal(capf_store_issuance_latest_for_device(f->st, "SEP001122334455", &is, err, sizeof(err)),
			 0);
	assert_int_equal(is.state, CAPF_ISS_DELETED);
	capf_store_issuance_clear(&is);
	assert_int_equal(capf_store_issuance_set_state(f->st, "0A1B2C3D4E5F6072", CAPF_ISS_DELIVERED, &front,
						       err, sizeof(err)),
			 CAPF_STORE_ERROR);
	assert_int_equal(capf_store_issuance_latest_for_device(f->st, "SEPNOLSC", &is, err, sizeof(err)),
			 CAPF_STORE_NOTFOUND);
}

struct rows {
	int n;
	struct capf_store_report_row r[16];
};

static int collect_row(const struct capf_store_report_row *r, void *arg)
{
	struct rows *c = arg;

	if (c->n < 16)
		c->r[c->n] = *r;
	c->n++;
	return 0;
}

static int collect_one_row(const struct capf_store_report_row *r, void *arg)
{
	collect_row(r, arg);
	return 1;
}

static void test_report_view(void **state)
{
	struct fx *f = *state;
	char err[512] = "";
	time_t now = 1800000000; /* fixed "now" for days_left */
	unsigned long cnt;

	/* The fixture's certificates expire relative to the wall clock; the
	 * LSCs here relative to the fixed now, and the report uses that now. */
	put_dev(f->st, "SEP0000000000A1", CAPF_OP_NONE, CAPF_AUTH_NULL, CAPF_ST_UPGRADE_SUCCESS);
	put_dev(f->st, "SEP0000000000A2", CAPF_OP_NONE, CAPF_AUTH_NULL, CAPF_ST_UPGRADE_SUCCESS);
	put_dev(f->st, "SEP0000000000A3", CAPF_OP_INSTALL, CAPF_AUTH_STRING, CAPF_ST_PENDING);
	put_dev(f->st, "SEP0000000000A4", CAPF_OP_NONE, CAPF_AUTH_NULL, CAPF_ST_UPGRADE_SUCCESS);
	assert_int_equal(record(f->st, "A1", "SEP0000000000A1", f->fp_a, now + 10 * DAY + 5, err, sizeof(err)),
			 0);
	assert_int_equal(record(f->st, "A2", "SEP0000000000A2", f->fp_b, now + 300 * DAY, err, sizeof(err)), 0);
	assert_int_equal(record(f->st, "A4", "SEP0000000000A4", f->fp_a, now - DAY - 1, err, sizeof(err)),
			 0); /* expired */
	assert_int_equal(record(f->st, "A40", "SEP0000000000A4", f->fp_a, now - 3 * DAY, err, sizeof(err)),
			 CAPF_STORE_ERROR); /* odd hex length */

	struct capf_store_report_filter rf = CAPF_STORE_REPORT_FILTER_INIT;
	struct rows c = { 0 };
	rf.now = now;
	assert_int_equal(capf_store_report(f->st, &rf, collect_row, &c, err, sizeof(err)), 0);
	assert_int_equal(c.n, 4);
	assert_string_equal(c.r[0].dev.name, "SEP0000000000A1");
	assert_int_equal(c.r[0].has_lsc, 1);
	assert_string_equal(c.r[0].serial, "A1");
	assert_string_equal(c.r[0].issuer_fp, f->fp_a);
	assert_int_equal(c.r[0].days_left, 10);
	assert_int_equal(c.r[1].days_left, 300);
	assert_int_equal(c.r[2].has_lsc, 0);
	assert_int_equal(c.r[2].dev.op, CAPF_OP_INSTALL);
	assert_int_equal(c.r[2].dev.status, CAPF_ST_PENDING);
	assert_true(c.r[2].dev.deadline > 0);
	assert_int_equal(c.r[3].days_left, -2); /* floor(-(1 day + 1 s)) */

	/* A page's cursor: only the names after it, in order; a callback's non-zero
	 * answer ends the walk there. */
	struct rows ca = { 0 };
	rf.after = "SEP0000000000A2";
	assert_int_equal(capf_store_report(f->st, &rf, collect_row, &ca, err, sizeof(err)), 0);
	assert_int_equal(ca.n, 2);
	assert_string_equal(ca.r[0].dev.name, "SEP0000000000A3");
	assert_string_equal(ca.r[1].dev.name, "SEP0000000000A4");
	ca.n = 0;
	assert_int_equal(capf_store_report(f->st, &rf, collect_one_row, &ca, err, sizeof(err)), 0);
	assert_int_equal(ca.n, 1);
	assert_string_equal(ca.r[0].dev.name, "SEP0000000000A3");
	rf.after = "SEP0000000000A4";
	ca.n = 0;
	assert_int_equal(capf_store_report(f->st, &rf, collect_row, &ca, err, sizeof(err)), 0);
	assert_int_equal(ca.n, 0);
	rf.after = NULL;

	static const struct {
		int within;
		int issuer; /* 0 any, 1 A, 2 B */
		int status;
		int without;
		const char *want;
	} cases[] = {
		{ 30, 0, -1, 0, "SEP0000000000A1,SEP0000000000A4" },
		{ 10, 0, -1, 0, "SEP0000000000A1,SEP0000000000A4" }, /* DAYS 10: within 10 */
		{ 9, 0, -1, 0, "SEP0000000000A4" },
		{ 11, 0, -1, 0, "SEP0000000000A1,SEP0000000000A4" },
		{ 0, 0, -1, 0, "SEP0000000000A4" },
		{ 1000, 0, -1, 0, "SEP0000000000A1,SEP0000000000A2,SEP0000000000A4" },
		{ -1, 1, -1, 0, "SEP0000000000A1,SEP0000000000A4" },
		{ -1, 2, -1, 0, "SEP0000000000A2" },
		{ -1, 0, CAPF_ST_PENDING, 0, "SEP0000000000A3" },
		{ -1, 0, -1, 1, "SEP0000000000A3" },
		{ 30, 1, CAPF_ST_UPGRADE_SUCCESS, 0, "SEP0000000000A1,SEP0000000000A4" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rows rc = { 0 };
		char got[256] = "";
		rf = (struct capf_store_report_filter)CAPF_STORE_REPORT_FILTER_INIT;
		rf.now = now;
		rf.expiring_within_days = cases[i].within;
		rf.issuer_fp = cases[i].issuer == 1 ? f->fp_a : cases[i].issuer == 2 ? f->fp_b : NULL;
		rf.status = cases[i].status;
		rf.without_lsc = cases[i].without;
		assert_int_equal(capf_store_report(f->st, &rf, collect_row, &rc, err, sizeof(err)), 0);
		for (int k = 0; k < rc.n && k < 16; k++) {
			if (k)
				strcat(got, ",");
			strcat(got, rc.r[k].dev.name);
		}
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("report case %zu: got '%s' want '%s'", i, got, cases[i].want);
	}

	/* Phones holding a valid LSC from A at the fixed now: A1 only (A4 expired). */
	assert_int_equal(capf_store_count_valid_lsc(f->st, f->fp_a, now, &cnt, err, sizeof(err)), 0);
	assert_int_equal(cnt, 1);
	assert_int_equal(capf_store_count_valid_lsc(f->st, f->fp_b, now, &cnt, err, sizeof(err)), 0);
	assert_int_equal(cnt, 1);
	/* A superseded LSC no longer counts. */
	assert_int_equal(record(f->st, "B1", "SEP0000000000A1", f->fp_b, now + 50 * DAY, err, sizeof(err)), 0);
	assert_int_equal(capf_store_count_valid_lsc(f->st, f->fp_a, now, &cnt, err, sizeof(err)), 0);
	assert_int_equal(cnt, 0);
	assert_int_equal(capf_store_count_valid_lsc(f->st, f->fp_b, now, &cnt, err, sizeof(err)), 0);
	assert_int_equal(cnt, 2);
	assert_int_equal(capf_store_count_valid_lsc(f->st, "xyz", now, &cnt, err, sizeof(err)),
			 CAPF_STORE_ERROR);
}

/* ---- CAPF certificates ------------------------------------------------ */

static int collect_cert(const struct capf_store_cert *c, void *arg)
{
	struct names *n = arg;

	if (n->n++)
		strcat(n->buf, ",");
	snprintf(n->buf + strlen(n->buf), sizeof(n->buf) - strlen(n->buf), "%s:%.8s",
		 capf_store_cert_role_name(c->role), c->fp);
	return 0;
}

static void test_capf_cert_roles(void **state)
{
	struct fx *f = *state;
	struct capf_store_cert c;
	char err[512] = "", fp_c[65], want[128];
	struct names n = { "", 0 };

	/* The fixture added A then B as active: A was demoted. */
	assert_int_equal(capf_store_cert_active(f->st, &c, err, sizeof(err)), 0);
	assert_string_equal(c.fp, f->fp_b);
	assert_int_equal(c.der_len, strlen("capf-ca-B"));
	assert_memory_equal(c.der, "capf-ca-B", c.der_len);
	assert_string_equal(c.key_uri, "pkcs11:token=capf;object=capf-ca-B");
	capf_store_cert_clear(&c);
	assert_int_equal(capf_store_cert_get(f->st, f->fp_a, &c, err, sizeof(err)), 0);
	assert_int_equal(c.role, CAPF_CERT_PREVIOUS);
	capf_store_cert_clear(&c);

	/* Promote A back: B becomes previous; retire B. */
	assert_int_equal(capf_store_cert_set_role(f->st, f->fp_a, CAPF_CERT_ACTIVE, &admin, err, sizeof(err)),
			 0);
	assert_int_equal(capf_store_cert_get(f->st, f->fp_b, &c, err, sizeof(err)), 0);
	assert_int_equal(c.role, CAPF_CERT_PREVIOUS);
	capf_store_cert_clear(&c);
	assert_int_equal(capf_store_cert_set_role(f->st, f->fp_b, CAPF_CERT_RETIRED, &admin, err, sizeof(err)),
			 0);
	assert_int_equal(add_cert(f->st, "capf-ca-C", CAPF_CERT_PREVIOUS, time(NULL) + DAY, fp_c), 0);
	assert_int_equal(capf_store_cert_list(f->st, collect_cert, &n, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "active:%.8s,previous:%.8s,retired:%.8s", f->fp_a, fp_c, f->fp_b);
	assert_string_equal(n.buf, want);

	/* Refusals: duplicate, wrong fingerprint, unknown, bad role. */
	assert_int_equal(add_cert(f->st, "capf-ca-C", CAPF_CERT_RETIRED, 0, fp_c), CAPF_STORE_EXISTS);
	memset(&c, 0, sizeof(c));
	c.der = (unsigned char *)"capf-ca-D";
	c.der_len = 9;
	memcpy(c.fp, f->fp_a, sizeof(c.fp));
	assert_int_equal(capf_store_cert_add(f->st, &c, &admin, err, sizeof(err)), CAPF_STORE_ERROR);
	assert_non_null(strstr(err, "does not match"));
	assert_int_equal(capf_store_cert_set_role(
				 f->st, "2222222222222222222222222222222222222222222222222222222222222222",
				 CAPF_CERT_ACTIVE, &admin, err, sizeof(err)),
			 CAPF_STORE_NOTFOUND);
	assert_int_equal(capf_store_cert_set_role(f->st, f->fp_b, (enum capf_store_cert_role)5, &admin, err,
						  sizeof(err)),
			 CAPF_STORE_ERROR);
	/* Still exactly one active after all that. */
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM capf_certs WHERE role='active'"), 1);
}

static void test_no_active_cert(void **state)
{
	struct fx *f = *state;
	struct capf_store_cert c;
	char err[256] = "";

	f->st = capf_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->st);
	assert_int_equal(capf_store_cert_active(f->st, &c, err, sizeof(err)), CAPF_STORE_NOTFOUND);
	assert_non_null(strstr(err, "no active CAPF certificate"));
}

/* Each CAPF CA certificate keeps its chain; a store of schema version 1 (no
 * chain column) migrates with its certificates intact and an empty chain. */
static void test_capf_cert_chain(void **state)
{
	struct fx *f = *state;
	struct capf_store_cert c, got;
	char err[512] = "", fp[65];
	sqlite3 *db;

	f->st = capf_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->st);
	memset(&c, 0, sizeof(c));
	c.der = (unsigned char *)"capf-ca-TP";
	c.der_len = 10;
	c.chain = (unsigned char *)"intermediate+root";
	c.chain_len = 17;
	c.role = CAPF_CERT_ACTIVE;
	sha256_hex(c.der, c.der_len, fp);
	assert_int_equal(capf_store_cert_add(f->st, &c, &admin, err, sizeof(err)), 0);
	assert_int_equal(capf_store_cert_active(f->st, &got, err, sizeof(err)), 0);
	assert_int_equal(got.chain_len, 17);
	assert_memory_equal(got.chain, "intermediate+root", 17);
	capf_store_cert_clear(&got);
	/* replaced, then emptied */
	assert_int_equal(capf_store_cert_set_chain(f->st, fp, (const unsigned char *)"other", 5, &admin, err,
						   sizeof(err)),
			 0);
	assert_int_equal(capf_store_cert_get(f->st, fp, &got, err, sizeof(err)), 0);
	assert_int_equal(got.chain_len, 5);
	assert_memory_equal(got.chain, "other", 5);
	capf_store_cert_clear(&got);
	assert_int_equal(capf_store_cert_set_chain(f->st, fp, NULL, 0, &admin, err, sizeof(err)), 0);
	assert_int_equal(capf_store_cert_get(f->st, fp, &got, err, sizeof(err)), 0);
	assert_int_equal(got.chain_len, 0);
	assert_null(got.chain);
	capf_store_cert_clear(&got);
	/* refused: an unknown certificate, a chain too big */
	assert_int_equal(capf_store_cert_set_chain(f->st, "00", NULL, 0, &admin, err, sizeof(err)) < 0, 1);
	{
		char zero[65];
		memset(zero, '0', 64);
		zero[64] = '\0';
		assert_int_equal(capf_store_cert_set_chain(f->st, zero, NULL, 0, &admin, err, sizeof(err)),
				 CAPF_STORE_NOTFOUND);
	}
	c.chain_len = CAPF_STORE_DER_MAX + 1;
	c.role = CAPF_CERT_PREVIOUS;
	c.der = (unsigned char *)"capf-ca-XX";
	assert_int_equal(capf_store_cert_add(f->st, &c, &admin, err, sizeof(err)), CAPF_STORE_ERROR);
	assert_non_null(strstr(err, "chain"));
	capf_store_close(f->st);
	f->st = NULL;

	/* back to version 1 as an older build left it: the column gone */
	db = raw_open(f->path);
	raw_back_to_v1(db);
	sqlite3_close(db);
	f->st = capf_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->st);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), CAPF_STORE_SCHEMA_VERSION);
	assert_int_equal(capf_store_cert_active(f->st, &got, err, sizeof(err)), 0);
	assert_string_equal(got.fp, fp);
	assert_int_equal(got.chain_len, 0);
	capf_store_cert_clear(&got);
}

/* ---- bulk ------------------------------------------------------------- */

static void test_bulk_all_or_nothing(void **state)
{
	struct fx *f = *state;
	struct capf_store_device_change ch[5];
	struct capf_store_device d;
	char err[512] = "";
	size_t failed = 0;
	int64_t audit_before, audit_after;
	uint64_t rows;

	put_dev(f->st, "SEP0000000000C3", CAPF_OP_NONE, CAPF_AUTH_NULL, CAPF_ST_NONE);
	put_dev(f->st, "SEP0000000000C9", CAPF_OP_NONE, CAPF_AUTH_NULL, CAPF_ST_NONE);
	assert_int_equal(capf_store_audit_verify(f->st, NULL, &rows, err, sizeof(err)), 0);
	audit_before = (int64_t)rows;

	memset(ch, 0, sizeof(ch));
	for (int i = 0; i < 5; i++) {
		char name[32];
		snprintf(name, sizeof(name), "SEP0000000000C%d", i + 1);
		ch[i].kind = CAPF_STORE_CHANGE_PUT;
		ch[i].put_flags = CAPF_STORE_PUT_NEW;
		ch[i].rec = mkdev(name, CAPF_OP_INSTALL, CAPF_AUTH_NULL, CAPF_ST_PENDING);
	}
	/* C3 exists already: change 3 fails; C9 would be deleted afterwards. */
	ch[4].kind = CAPF_STORE_CHANGE_DELETE;
	snprintf(ch[4].rec.dev.name, sizeof(ch[4].rec.dev.name), "SEP0000000000C9");
	assert_int_equal(capf_store_device_bulk(f->st, ch, 5, &admin, &failed, err, sizeof(err)),
			 CAPF_STORE_EXISTS);
	assert_int_equal(failed, 2);
	assert_non_null(strstr(err, "SEP0000000000C3"));
	assert_non_null(strstr(err, "change 3 of 5"));
	assert_int_equal(capf_store_device_get(f->st, "SEP0000000000C1", &d, err, sizeof(err)),
			 CAPF_STORE_NOTFOUND);
	assert_int_equal(capf_store_device_get(f->st, "SEP0000000000C2", &d, err, sizeof(err)),
			 CAPF_STORE_NOTFOUND);
	assert_int_equal(capf_store_device_get(f->st, "SEP0000000000C3", &d, err, sizeof(err)), 0);
	assert_int_equal(d.dev.op, CAPF_OP_NONE); /* untouched */
	assert_int_equal(capf_store_device_get(f->st, "SEP0000000000C9", &d, err, sizeof(err)), 0);
	assert_int_equal(capf_store_audit_verify(f->st, NULL, &rows, err, sizeof(err)), 0);
	audit_after = (int64_t)rows;
	assert_int_equal(audit_after, audit_before); /* no audit rows either */

	/* Fixed, the same batch applies entirely. */
	ch[2].put_flags = CAPF_STORE_PUT_EXISTING;
	assert_int_equal(capf_store_device_bulk(f->st, ch, 5, &admin, &failed, err, sizeof(err)), 0);
	for (int i = 1; i <= 4; i++) {
		char name[32];
		snprintf(name, sizeof(name), "SEP0000000000C%d", i);
		assert_int_equal(capf_store_device_get(f->st, name, &d, err, sizeof(err)), 0);
		assert_int_equal(d.dev.op, CAPF_OP_INSTALL);
	}
	assert_int_equal(capf_store_device_get(f->st, "SEP0000000000C9", &d, err, sizeof(err)),
			 CAPF_STORE_NOTFOUND);
	assert_int_equal(capf_store_audit_verify(f->st, NULL, &rows, err, sizeof(err)), 0);
	assert_int_equal((int64_t)rows, audit_before + 5);
}

/* ---- audit ------------------------------------------------------------ */

struct audit_seen {
	int n;
	int saw_secret;
	char actions[4096];
};

static int collect_audit(const struct capf_store_audit_row *r, void *arg)
{
	struct audit_seen *a = arg;

	a->n++;
	if (strstr(r->detail, "424242") != NULL || strstr(r->subject, "424242") != NULL)
		a->saw_secret = 1;
	/* bounded: a test that overflows it fails on its own assertions, not in memory */
	snprintf(a->actions + strlen(a->actions), sizeof(a->actions) - strlen(a->actions), "%s;", r->action);
	return 0;
}

static void make_history(struct fx *f)
{
	struct capf_store_device d =
		mkdev("SEP001122334455", CAPF_OP_INSTALL, CAPF_AUTH_STRING, CAPF_ST_PENDING);
	struct capf_authhash_params small = { 1024, 1, 1 };
	char err[256] = "";
	unsigned n;

	assert_int_equal(capf_authhash_make(&d.auth, "424242", 6, &small, err, sizeof(err)), 0);
	d.has_auth = 1;
	assert_int_equal(capf_store_device_put(f->st, &d, 0, &admin, err, sizeof(err)), 0);
	assert_int_equal(capf_store_device_record_attempt(f->st, d.dev.name, &front, &n, err, sizeof(err)), 0);
	assert_int_equal(record(f->st, "01", d.dev.name, f->fp_b, time(NULL) + DAY, err, sizeof(err)), 0);
	assert_int_equal(capf_store_audit_append(f->st, &admin, "peer.refused", "uid:4242", "socket=admin", err,
						 sizeof(err)),
			 0);
}

static void test_audit_chain_edit(void **state)
{
	struct fx *f = *state;
	struct audit_seen seen = { 0 };
	char err[512] = "";
	int64_t bad;
	uint64_t rows;
	sqlite3 *db;

	make_history(f);
	assert_int_equal(capf_store_audit_verify(f->st, &bad, &rows, err, sizeof(err)), 0);
	assert_int_equal(bad, 0);
	/* 2 cert adds + 1 demotion, device add, attempt, issue, refused. */
	assert_int_equal(rows, 7);
	assert_int_equal(capf_store_audit_list(f->st, 0, collect_audit, &seen, err, sizeof(err)), 0);
	assert_int_equal(seen.n, 7);
	assert_int_equal(seen.saw_secret, 0);
	assert_string_equal(seen.actions, "capf-cert.add;capf-cert.role;capf-cert.add;device.add;"
					  "device.auth-failed;lsc.issue;peer.refused;");

	/* The triggers refuse a plain edit... */
	db = raw_open(f->path);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE audit SET detail = 'x' WHERE id = 4", NULL, NULL, NULL),
			     SQLITE_OK);
	/* ...and someone who drops them first is caught by the chain. */
	raw_exec(db, "DROP TRIGGER audit_no_update");
	raw_exec(db, "UPDATE audit SET detail = 'op=none' WHERE id = 4");
	sqlite3_close(db);
	assert_int_equal(capf_store_audit_verify(f->st, &bad, &rows, err, sizeof(err)), CAPF_STORE_ERROR);
	assert_int_equal(bad, 4);
	assert_non_null(strstr(err, "row 4"));
	assert_int_equal(rows, 3);
}

/* Deferred writes: queued without waiting, committed in order with the next waited-for
 * write, failures reported to the callback, drained by close. */
struct deferred_seen {
	int n;
	char last[512];
};

static void on_deferred(const char *msg, void *ctx)
{
	struct deferred_seen *d = ctx;

	d->n++;
	snprintf(d->last, sizeof(d->last), "%s", msg);
}

static void test_deferred_writes(void **state)
{
	struct fx *f = *state;
	struct deferred_seen bad = { 0 };
	struct audit_seen seen = { 0 };
	struct capf_store_issuance is;
	char err[512] = "", detail[32];
	int64_t badrow;
	uint64_t rows;

	capf_store_on_deferred_error(f->st, on_deferred, &bad);
	put_dev(f->st, "SEP001122334455", CAPF_OP_INSTALL, CAPF_AUTH_NULL, CAPF_ST_PENDING);
	assert_int_equal(record(f->st, "0A01", "SEP001122334455", f->fp_b, time(NULL) + DAY, err, sizeof(err)),
			 0);
	/* 50 deferred rows (their strings gone from the stack at once), then one waited-for write */
	for (int i = 0; i < 50; i++) {
		snprintf(detail, sizeof(detail), "n=%d", i);
		assert_int_equal(capf_store_audit_append_deferred(f->st, &front, "enroll_begin",
								  "SEP001122334455", detail, err, sizeof(err)),
				 0);
		memset(detail, 'x', sizeof(detail) - 1);
	}
	assert_int_equal(capf_store_issuance_set_state_deferred(f->st, "0A01", CAPF_ISS_DELIVERED, &front, err,
								sizeof(err)),
			 0);
	/* a deferred write that fails: the callback hears of it, the others are unharmed */
	assert_int_equal(capf_store_issuance_set_state_deferred(f->st, "0BAD", CAPF_ISS_DELIVERED, &front, err,
								sizeof(err)),
			 0);
	/* refused before queueing: the caller hears of it */
	assert_int_equal(capf_store_issuance_set_state_deferred(f->st, "0G", CAPF_ISS_DELIVERED, &front, err,
								sizeof(err)),
			 CAPF_STORE_ERROR);
	assert_int_equal(capf_store_audit_append(f->st, &admin, "after", "x", "", err, sizeof(err)), 0);
	/* everything queued before the waited-for write is visible now, in order */
	assert_int_equal(capf_store_issuance_get(f->st, "0A01", &is, err, sizeof(err)), 0);
	assert_int_equal(is.state, CAPF_ISS_DELIVERED);
	capf_store_issuance_clear(&is);
	assert_int_equal(capf_store_audit_list(f->st, 0, collect_audit, &seen, err, sizeof(err)), 0);
	assert_non_null(strstr(seen.actions, "lsc.issue;enroll_begin;"));
	assert_non_null(strstr(seen.actions, "enroll_begin;lsc.state;after;"));
	assert_int_equal(bad.n, 1);
	assert_non_null(strstr(bad.last, "no LSC with serial 0BAD"));
	assert_int_equal(capf_store_audit_verify(f->st, &badrow, &rows, err, sizeof(err)), 0);
	/* close drains what is queued: the rows are there after a reopen */
	for (int i = 0; i < 20; i++)
		assert_int_equal(capf_store_audit_append_deferred(f->st, &front, "late", "SEP001122334455", "",
								  err, sizeof(err)),
				 0);
	capf_store_close(f->st);
	f->st = capf_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->st);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(capf_store_audit_list(f->st, 0, collect_audit, &seen, err, sizeof(err)), 0);
	assert_non_null(strstr(seen.actions, "after;late;late;"));
	assert_int_equal(capf_store_audit_verify(f->st, &badrow, &rows, err, sizeof(err)), 0);
	assert_int_equal(badrow, 0);
}

/* ---- signed checkpoints (the store keeps them; capf-signerd signs) ----- */

static void test_checkpoints(void **state)
{
	struct fx *f = *state;
	struct capf_store_checkpoint cp, last;
	unsigned char head[32];
	int64_t row = 0;
	char err[512] = "";
	sqlite3 *db;

	assert_int_equal(capf_store_checkpoint_last(f->st, &last, err, sizeof(err)), CAPF_STORE_NOTFOUND);
	make_history(f);
	assert_int_equal(capf_store_audit_head(f->st, &row, head, err, sizeof(err)), 0);
	assert_true(row > 3);
	assert_int_equal(raw_int(f->path, "SELECT max(id) FROM audit"), row);
	memset(&cp, 0, sizeof(cp));
	cp.time = time(NULL);
	cp.row_id = row;
	memcpy(cp.head, head, 32);
	memset(cp.key_id, 'a', 64);
	cp.sig_len = 70;
	memset(cp.sig, 0x30, cp.sig_len);
	assert_int_equal(capf_store_checkpoint_add(f->st, &cp, err, sizeof(err)), 0);
	/* a head that is not the row's stored hash is refused */
	cp.row_id = row - 1;
	assert_int_equal(capf_store_checkpoint_add(f->st, &cp, err, sizeof(err)), CAPF_STORE_ERROR);
	assert_non_null(strstr(err, "has another hash"));
	cp.row_id = row + 100;
	assert_int_equal(capf_store_checkpoint_add(f->st, &cp, err, sizeof(err)), CAPF_STORE_ERROR);
	assert_non_null(strstr(err, "does not exist"));
	cp.row_id = row;
	cp.sig_len = 0;
	assert_int_equal(capf_store_checkpoint_add(f->st, &cp, err, sizeof(err)), CAPF_STORE_ERROR);
	assert_int_equal(capf_store_checkpoint_last(f->st, &last, err, sizeof(err)), 0);
	assert_int_equal(last.id, 1);
	assert_int_equal(last.row_id, row);
	assert_memory_equal(last.head, head, 32);
	assert_int_equal(last.sig_len, 70);
	/* append-only through SQLite */
	db = raw_open(f->path);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE audit_checkpoints SET row_id = 1", NULL, NULL, NULL),
			     SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "DELETE FROM audit_checkpoints", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM audit_checkpoints"), 1);
}

static int mac_xor(void *ctx, const unsigned char *in, size_t inlen, unsigned char out[32], char *err,
		   size_t errlen)
{
	/* a stand-in keyed MAC for the store's own test (the token's is tested in
	 * tests/integ/test_authmac.c): SHA-256(key || in) */
	unsigned char buf[512];
	unsigned int n = 0;

	memcpy(buf, ctx, 8);
	memcpy(buf + 8, in, inlen);
	return EVP_Digest(buf, 8 + inlen, out, &n, EVP_sha256(), NULL) == 1 ? 0 : -1;
}

/* HMAC records live in auth_mac (48 bytes), scrypt records in the old columns;
 * a store of schema version 1 with scrypt rows migrates and keeps them. */
static void test_auth_mac_and_migration(void **state)
{
	struct fx *f = *state;
	struct capf_store_device d = mkdev("SEP00AABBCCDD01", CAPF_OP_INSTALL, CAPF_AUTH_STRING,
					   CAPF_ST_PENDING),
				 e, got;
	struct capf_authhash_params small = { 1024, 8, 1 };
	struct capf_authhash_mac m = { mac_xor, (void *)"8bytekey" };
	char err[512] = "";
	sqlite3 *db;

	assert_int_equal(capf_authhash_make_mac(&d.auth, "5555", 4, &m, err, sizeof(err)), 0);
	d.has_auth = 1;
	assert_int_equal(capf_store_device_put(f->st, &d, CAPF_STORE_PUT_NEW, &admin, err, sizeof(err)), 0);
	e = mkdev("SEP00AABBCCDD02", CAPF_OP_INSTALL, CAPF_AUTH_STRING, CAPF_ST_PENDING);
	assert_int_equal(capf_authhash_make(&e.auth, "6666", 4, &small, err, sizeof(err)), 0);
	e.has_auth = 1;
	assert_int_equal(capf_store_device_put(f->st, &e, CAPF_STORE_PUT_NEW, &admin, err, sizeof(err)), 0);
	assert_int_equal(raw_int(f->path, "SELECT length(auth_mac) FROM devices WHERE name='SEP00AABBCCDD01' "
					  "AND auth_hash IS NULL AND auth_kdf IS NULL"),
			 48);
	assert_int_equal(capf_store_device_get(f->st, "SEP00AABBCCDD01", &got, err, sizeof(err)), 0);
	assert_int_equal(got.has_auth, 1);
	assert_int_equal(got.auth.kdf, CAPF_AUTHHASH_KDF_HMAC);
	assert_int_equal(capf_authhash_verify_mac(&got.auth, "5555", 4, &m, err, sizeof(err)), 1);
	assert_int_equal(capf_authhash_verify_mac(&got.auth, "5556", 4, &m, err, sizeof(err)), 0);
	/* a string changed to scrypt drops the MAC, and back */
	got.auth = e.auth;
	assert_int_equal(capf_store_device_put(f->st, &got, CAPF_STORE_PUT_EXISTING, &admin, err, sizeof(err)),
			 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM devices WHERE name='SEP00AABBCCDD01' "
					  "AND auth_mac IS NULL AND auth_kdf = 'scrypt'"),
			 1);
	/* operation done: the MAC is erased like the hash */
	assert_int_equal(capf_store_device_put(f->st, &d, CAPF_STORE_PUT_EXISTING, &admin, err, sizeof(err)),
			 0);
	assert_int_equal(capf_store_device_set_status(f->st, "SEP00AABBCCDD01", CAPF_ST_UPGRADE_SUCCESS,
						      CAPF_OP_INSTALL, CAPF_FAIL_NONE,
						      CAPF_STORE_STATUS_CLEAR_OP, &admin, err, sizeof(err)),
			 0);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM devices WHERE auth_mac IS NOT NULL"), 0);
	/* back to schema version 1 (what an older capf-signerd left), then reopen */
	capf_store_close(f->st);
	f->st = NULL;
	db = raw_open(f->path);
	raw_back_to_v1(db);
	sqlite3_close(db);
	f->st = capf_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->st);
	assert_int_equal(raw_int(f->path, "PRAGMA user_version"), CAPF_STORE_SCHEMA_VERSION);
	assert_int_equal(capf_store_device_get(f->st, "SEP00AABBCCDD02", &got, err, sizeof(err)), 0);
	assert_int_equal(got.auth.kdf, CAPF_AUTHHASH_KDF_SCRYPT);
	assert_int_equal(capf_authhash_verify_mac(&got.auth, "6666", 4, &m, err, sizeof(err)), 1);
	assert_int_equal(capf_authhash_verify_mac(&got.auth, "6667", 4, &m, err, sizeof(err)), 0);
}

static void test_audit_chain_rehash_detected(void **state)
{
	struct fx *f = *state;
	char err[512] = "";
	int64_t bad;
	sqlite3 *db;

	make_history(f);
	/* Editing a row and rewriting its own hash breaks the next link. */
	db = raw_open(f->path);
	raw_exec(db, "DROP TRIGGER audit_no_update");
	raw_exec(db, "UPDATE audit SET hash = zeroblob(32) WHERE id = 5");
	sqlite3_close(db);
	assert_int_equal(capf_store_audit_verify(f->st, &bad, NULL, err, sizeof(err)), CAPF_STORE_ERROR);
	assert_int_equal(bad, 5);
}

static void test_audit_chain_delete(void **state)
{
	struct fx *f = *state;
	char err[512] = "";
	int64_t bad;
	sqlite3 *db;

	make_history(f);
	db = raw_open(f->path);
	raw_exec(db, "DROP TRIGGER audit_no_delete");
	raw_exec(db, "DELETE FROM audit WHERE id = 3");
	sqlite3_close(db);
	assert_int_equal(capf_store_audit_verify(f->st, &bad, NULL, err, sizeof(err)), CAPF_STORE_ERROR);
	assert_int_equal(bad, 4);
	assert_non_null(strstr(err, "row 3 is missing"));
}

static void test_audit_chain_delete_last(void **state)
{
	struct fx *f = *state;
	char err[512] = "";
	int64_t bad;
	sqlite3 *db;

	make_history(f);
	db = raw_open(f->path);
	raw_exec(db, "DROP TRIGGER audit_no_delete");
	raw_exec(db, "DELETE FROM audit WHERE id = 7");
	sqlite3_close(db);
	assert_int_equal(capf_store_audit_verify(f->st, &bad, NULL, err, sizeof(err)), CAPF_STORE_ERROR);
	assert_int_equal(bad, 7);
	/* New rows keep counting from the recorded head; the gap stays visible. */
	assert_int_equal(capf_store_audit_append(f->st, &admin, "x", "", "", err, sizeof(err)), 0);
	assert_int_equal(capf_store_audit_verify(f->st, &bad, NULL, err, sizeof(err)), CAPF_STORE_ERROR);
	assert_int_equal(bad, 8);
}

static void test_audit_refuses_oversize(void **state)
{
	struct fx *f = *state;
	char err[256] = "", *big = malloc(CAPF_STORE_AUDIT_TEXT_MAX + 2);

	assert_non_null(big);
	memset(big, 'a', CAPF_STORE_AUDIT_TEXT_MAX + 1);
	big[CAPF_STORE_AUDIT_TEXT_MAX + 1] = '\0';
	assert_int_equal(capf_store_audit_append(f->st, &admin, "x", "s", big, err, sizeof(err)),
			 CAPF_STORE_ERROR);
	assert_int_equal(capf_store_audit_append(f->st, NULL, "x", "s", "d", err, sizeof(err)),
			 CAPF_STORE_ERROR);
	assert_int_equal(capf_store_audit_append(f->st, &admin, "", "s", "d", err, sizeof(err)),
			 CAPF_STORE_ERROR);
	free(big);
	assert_int_equal(capf_store_audit_verify(f->st, NULL, NULL, err, sizeof(err)), 0);
}

static int file_contains(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "rb");
	size_t n, k = strlen(needle), cap = 1 << 20, len = 0;
	char *buf;
	int found;

	if (fp == NULL)
		return 0;
	buf = malloc(cap);
	assert_non_null(buf);
	while ((n = fread(buf + len, 1, cap - len, fp)) > 0) {
		len += n;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	fclose(fp);
	found = memmem(buf, len, needle, k) != NULL;
	free(buf);
	return found;
}

/* The authentication string is nowhere in the files: database, WAL. */
static void test_no_plaintext_on_disk(void **state)
{
	struct fx *f = *state;
	char wal[160], err[256] = "";
	struct capf_store_device d;

	make_history(f); /* its string is 424242 */
	assert_int_equal(capf_store_device_get(f->st, "SEP001122334455", &d, err, sizeof(err)), 0);
	assert_int_equal(capf_authhash_verify(&d.auth, "424242", 6, err, sizeof(err)), 1);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_true(file_contains(wal, "SEP001122334455")); /* the check can see text */
	assert_false(file_contains(wal, "424242"));
	assert_false(file_contains(f->path, "424242"));
	capf_store_close(f->st); /* checkpoint into the main file */
	f->st = NULL;
	assert_false(file_contains(f->path, "424242"));
	assert_true(file_contains(f->path, "SEP001122334455"));
}

/* ---- meta ------------------------------------------------------------- */

static void test_meta(void **state)
{
	struct fx *f = *state;
	char err[256] = "", v[64], tiny[4];

	assert_int_equal(capf_store_meta_set(f->st, "serial.prefix", "7F", &admin, err, sizeof(err)), 0);
	assert_int_equal(capf_store_meta_get(f->st, "serial.prefix", v, sizeof(v), err, sizeof(err)), 0);
	assert_string_equal(v, "7F");
	assert_int_equal(capf_store_meta_set(f->st, "serial.prefix", "80", &admin, err, sizeof(err)), 0);
	assert_int_equal(capf_store_meta_get(f->st, "serial.prefix", v, sizeof(v), err, sizeof(err)), 0);
	assert_string_equal(v, "80");
	assert_int_equal(capf_store_meta_set(f->st, "capf.audit_head", "1 00", &admin, err, sizeof(err)),
			 CAPF_STORE_ERROR);
	assert_int_equal(capf_store_meta_get(f->st, "nope", v, sizeof(v), err, sizeof(err)),
			 CAPF_STORE_NOTFOUND);
	assert_int_equal(capf_store_meta_set(f->st, "long", "0123456789", &admin, err, sizeof(err)), 0);
	assert_int_equal(capf_store_meta_get(f->st, "long", tiny, sizeof(tiny), err, sizeof(err)),
			 CAPF_STORE_ERROR);
}

/* ---- durability ------------------------------------------------------- */

static void test_sigkill_after_commit(void **state)
{
	struct fx *f = *state;
	struct capf_store_issuance is;
	char err[512] = "", c = 0;
	int p[2], status;
	pid_t pid;

	/* The fixture's store is closed before forking: the child opens its own. */
	put_dev(f->st, "SEP001122334455", CAPF_OP_INSTALL, CAPF_AUTH_NULL, CAPF_ST_PENDING);
	capf_store_close(f->st);
	f->st = NULL;
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct capf_store *st;
		close(p[0]);
		st = capf_store_open(f->path, 0, err, sizeof(err));
		c = st != NULL && record(st, "DEADBEEF01", "SEP001122334455", f->fp_b, time(NULL) + DAY, err,
					 sizeof(err)) == 0 ?
			    'K' :
			    'F';
		if (write(p[1], &c, 1) != 1)
			_exit(2);
		for (;;)
			pause(); /* killed here, store still open */
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_int_equal(c, 'K');
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	f->st = capf_store_open(f->path, 0, err, sizeof(err));
	assert_non_null(f->st);
	assert_int_equal(capf_store_issuance_get(f->st, "DEADBEEF01", &is, err, sizeof(err)), 0);
	assert_string_equal(is.device, "SEP001122334455");
	assert_int_equal(is.state, CAPF_ISS_ISSUED);
	capf_store_issuance_clear(&is);
	assert_int_equal(capf_store_audit_verify(f->st, NULL, NULL, err, sizeof(err)), 0);
}

/* ---- group commit ----------------------------------------------------- */

#define THREADS 16
#define PER_THREAD 24

struct worker {
	struct fx *f;
	int idx;
	int count;
	int rc[PER_THREAD];
	char err[PER_THREAD][160];
	pthread_barrier_t *start;
};

/* Serial t*1000+i, except thread 7's 10th record reuses thread 3's 5th serial
 * (recorded beforehand): it must fail alone. */
static void serial_for(int t, int i, char out[16])
{
	if (t == 7 && i == 10)
		snprintf(out, 16, "%06X", 3 * 1000 + 5 + 0x100000);
	else
		snprintf(out, 16, "%06X", t * 1000 + i + 0x100000);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char serial[16], dev[32];

	pthread_barrier_wait(w->start);
	for (int i = 0; i < w->count; i++) {
		serial_for(w->idx, i, serial);
		snprintf(dev, sizeof(dev), "SEP0000000%05d", w->idx * 100 + i);
		w->rc[i] = record(w->f->st, serial, dev, w->f->fp_b, time(NULL) + DAY, w->err[i],
				  sizeof(w->err[i]));
	}
	return NULL;
}

static void put_devices(struct fx *f, int threads, int per)
{
	struct capf_store_device_change *ch = calloc((size_t)(threads * per), sizeof(*ch));
	char err[256] = "";
	size_t failed;

	assert_non_null(ch);
	for (int t = 0; t < threads; t++)
		for (int i = 0; i < per; i++) {
			char dev[32];
			snprintf(dev, sizeof(dev), "SEP0000000%05d", t * 100 + i);
			ch[t * per + i].rec = mkdev(dev, CAPF_OP_INSTALL, CAPF_AUTH_NULL, CAPF_ST_PENDING);
		}
	assert_int_equal(capf_store_device_bulk(f->st, ch, (size_t)(threads * per), NULL, &failed, err,
						sizeof(err)),
			 0);
	free(ch);
}

static void test_group_commit_16_threads(void **state)
{
	struct fx *f = *state;
	struct worker w[THREADS];
	pthread_t th[THREADS];
	pthread_barrier_t start;
	struct capf_store_stats before, after;
	struct capf_store_issuance is;
	char err[256] = "", serial[16];

	put_devices(f, THREADS, PER_THREAD);
	/* Thread 3's 5th record goes first so that thread 7's copy always loses. */
	serial_for(3, 5, serial);
	assert_int_equal(record(f->st, serial, "SEP000000000305", f->fp_b, time(NULL) + DAY, err, sizeof(err)),
			 0);
	capf_store_get_stats(f->st, &before);
	pthread_barrier_init(&start, NULL, THREADS);
	for (int t = 0; t < THREADS; t++) {
		w[t] = (struct worker){ .f = f, .idx = t, .count = PER_THREAD, .start = &start };
		if (t == 3)
			w[t].count = 5; /* its 5th was recorded above */
		assert_int_equal(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&start);
	capf_store_get_stats(f->st, &after);

	int ok = 0;
	for (int t = 0; t < THREADS; t++)
		for (int i = 0; i < w[t].count; i++) {
			char dev[32];
			serial_for(t, i, serial);
			snprintf(dev, sizeof(dev), "SEP0000000%05d", t * 100 + i);
			if (t == 7 && i == 10) {
				assert_int_equal(w[t].rc[i], CAPF_STORE_EXISTS);
				assert_non_null(strstr(w[t].err[i], serial));
				/* The serial still belongs to thread 3's device. */
				assert_int_equal(capf_store_issuance_get(f->st, serial, &is, err, sizeof(err)),
						 0);
				assert_string_equal(is.device, "SEP000000000305");
				capf_store_issuance_clear(&is);
				assert_int_equal(capf_store_issuance_latest_for_device(f->st, dev, &is, err,
										       sizeof(err)),
						 CAPF_STORE_NOTFOUND);
				continue;
			}
			if (w[t].rc[i] != 0)
				fail_msg("thread %d record %d: %s", t, i, w[t].err[i]);
			assert_int_equal(capf_store_issuance_get(f->st, serial, &is, err, sizeof(err)), 0);
			assert_string_equal(is.device, dev);
			capf_store_issuance_clear(&is);
			ok++;
		}
	int total = 0;
	for (int t = 0; t < THREADS; t++)
		total += w[t].count;
	assert_int_equal(ok, total - 1);
	assert_int_equal(after.writes - before.writes, (uint64_t)total);
	assert_true(after.commits - before.commits <= (uint64_t)total);
	print_message("group commit: %d writes, %llu commits, %llu syncs\n", total,
		      (unsigned long long)(after.commits - before.commits),
		      (unsigned long long)(after.syncs - before.syncs));
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM issuances"), total);
	assert_int_equal(capf_store_audit_verify(f->st, NULL, NULL, err, sizeof(err)), 0);
}

struct one {
	struct fx *f;
	int idx;
	int rc;
	char err[160];
};

static void *one_main(void *arg)
{
	struct one *o = arg;
	char serial[16], dev[32];

	snprintf(serial, sizeof(serial), "%06X", o->idx == 9 ? 0x200000 : 0x200000 + o->idx);
	snprintf(dev, sizeof(dev), "SEP0000000%05d", o->idx * 100);
	o->rc = record(o->f->st, serial, dev, o->f->fp_b, time(NULL) + DAY, o->err, sizeof(o->err));
	return NULL;
}

/* With the database locked by someone else, 16 writers queue up; once the
 * lock goes they share at most two commits (the first batch may have been
 * taken before the others arrived), and the one duplicate fails alone. */
static void test_group_commit_batches(void **state)
{
	struct fx *f = *state;
	struct one o[THREADS];
	pthread_t th[THREADS];
	struct capf_store_stats before, after;
	char err[256] = "";
	sqlite3 *db;

	put_devices(f, THREADS, 1);
	capf_store_get_stats(f->st, &before);
	db = raw_open(f->path);
	raw_exec(db, "BEGIN IMMEDIATE");
	for (int t = 0; t < THREADS; t++) {
		o[t] = (struct one){ .f = f, .idx = t };
		assert_int_equal(pthread_create(&th[t], NULL, one_main, &o[t]), 0);
	}
	while (store_inflight(f->st) < THREADS)
		sched_yield();
	raw_exec(db, "COMMIT");
	sqlite3_close(db);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	capf_store_get_stats(f->st, &after);
	/* Thread 0 and thread 9 both use serial 200000: exactly one wins. */
	assert_true((o[0].rc == 0) != (o[9].rc == 0));
	assert_int_equal(o[0].rc == 0 ? o[9].rc : o[0].rc, CAPF_STORE_EXISTS);
	for (int t = 1; t < THREADS; t++)
		if (t != 9 && o[t].rc != 0)
			fail_msg("thread %d: %s", t, o[t].err);
	assert_int_equal(after.writes - before.writes, THREADS);
	assert_true(after.commits - before.commits <= 2);
	print_message("batched: %d writes, %llu commits, %llu syncs\n", THREADS,
		      (unsigned long long)(after.commits - before.commits),
		      (unsigned long long)(after.syncs - before.syncs));
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM issuances"), THREADS - 1);
	assert_int_equal(capf_store_audit_verify(f->st, NULL, NULL, err, sizeof(err)), 0);
}

/* The baseline mode used by the benchmark: one transaction per write, same results. */
static void test_naive_mode(void **state)
{
	struct fx *f = *state;
	struct worker w[4];
	pthread_t th[4];
	pthread_barrier_t start;
	struct capf_store_stats before, after;
	char err[512] = "";

	capf_store_close(f->st);
	f->st = capf_store_open(f->path, CAPF_STORE_OPEN_NO_GROUP_COMMIT, err, sizeof(err));
	assert_non_null(f->st);
	put_devices(f, 4, 8);
	capf_store_get_stats(f->st, &before);
	pthread_barrier_init(&start, NULL, 4);
	for (int t = 0; t < 4; t++) {
		w[t] = (struct worker){ .f = f, .idx = t, .count = 8, .start = &start };
		assert_int_equal(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
	}
	for (int t = 0; t < 4; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&start);
	capf_store_get_stats(f->st, &after);
	for (int t = 0; t < 4; t++)
		for (int i = 0; i < 8; i++)
			if (w[t].rc[i] != 0)
				fail_msg("thread %d record %d: %s", t, i, w[t].err[i]);
	assert_int_equal(after.writes - before.writes, 32);
	assert_int_equal(after.commits - before.commits, 32);
	assert_true(after.syncs - before.syncs >= 32);
	/* A failing write rolls back alone here too. */
	assert_int_equal(record(f->st, "100000", "SEP000000000001", f->fp_b, time(NULL) + DAY, err,
				sizeof(err)),
			 CAPF_STORE_EXISTS);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM issuances"), 32);
	assert_int_equal(capf_store_audit_verify(f->st, NULL, NULL, err, sizeof(err)), 0);
}

/* ---- backup (store_backup.h) ------------------------------------------------- */

struct bk_writer {
	struct capf_store *st;
	int n;
};

static void *bk_write(void *arg)
{
	struct bk_writer *w = arg;

	for (int i = 0; i < w->n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "SEP00000B%06d", i);
		put_dev(w->st, name, CAPF_OP_INSTALL, CAPF_AUTH_NULL, CAPF_ST_PENDING);
	}
	return NULL;
}

static void test_backup_online_checked(void **state)
{
	struct fx *f = *state;
	struct capf_store_backup_info info, again;
	struct bk_writer w = { f->st, 300 };
	char copy[600], copy2[600], err[1024] = "";
	struct stat sb;
	pthread_t t;

	snprintf(copy, sizeof(copy), "%s/copy.db", f->dir);
	snprintf(copy2, sizeof(copy2), "%s/copy2.db", f->dir);
	put_dev(f->st, "SEP001122334455", CAPF_OP_INSTALL, CAPF_AUTH_NULL, CAPF_ST_PENDING);
	/* taken while another thread keeps writing: one moment's snapshot, checked */
	assert_int_equal(pthread_create(&t, NULL, bk_write, &w), 0);
	if (capf_store_backup(f->st, copy, &info, err, sizeof(err)) != 0)
		fail_msg("backup: %s", err);
	pthread_join(t, NULL);
	assert_int_equal(stat(copy, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal((uint64_t)sb.st_size, info.bytes);
	assert_true(info.devices >= 1 && info.devices <= 301);
	assert_true(info.audit_rows >= info.devices);
	assert_int_equal(raw_int(copy, "SELECT count(*) FROM devices"), (long long)info.devices);
	/* the copy's audit rows are a prefix of the live ones: same hashes */
	assert_int_equal(raw_int(copy, "SELECT count(*) FROM audit"), (long long)info.audit_rows);
	/* checked again on its own, read-only */
	assert_int_equal(capf_store_check_copy(copy, &again, err, sizeof(err)), 0);
	assert_int_equal(again.audit_rows, info.audit_rows);
	/* a later backup has everything */
	assert_int_equal(capf_store_backup(f->st, copy2, &again, err, sizeof(err)), 0);
	assert_int_equal(again.devices, 301);
	/* an existing file is never replaced */
	assert_int_equal(capf_store_backup(f->st, copy, &again, err, sizeof(err)), CAPF_STORE_ERROR);
	assert_non_null(strstr(err, "File exists"));
	assert_int_equal(raw_int(copy, "SELECT count(*) FROM devices"), (long long)info.devices);
	/* nor written in a folder others may write to */
	assert_int_equal(chmod(f->dir, 0777), 0);
	snprintf(copy2, sizeof(copy2), "%s/copy3.db", f->dir);
	assert_int_equal(capf_store_backup(f->st, copy2, &again, err, sizeof(err)), CAPF_STORE_ERROR);
	assert_int_equal(access(copy2, F_OK), -1);
	assert_int_equal(chmod(f->dir, 0700), 0);
}

static void test_backup_refuses_broken_chain(void **state)
{
	struct fx *f = *state;
	struct capf_store_backup_info info;
	char copy[600], err[1024] = "";
	sqlite3 *db;

	snprintf(copy, sizeof(copy), "%s/copy.db", f->dir);
	put_dev(f->st, "SEP001122334455", CAPF_OP_INSTALL, CAPF_AUTH_NULL, CAPF_ST_PENDING);
	put_dev(f->st, "SEP001122334466", CAPF_OP_INSTALL, CAPF_AUTH_NULL, CAPF_ST_PENDING);
	db = raw_open(f->path);
	raw_exec(db, "DROP TRIGGER audit_no_update; UPDATE audit SET detail = 'edited' WHERE id = 2");
	sqlite3_close(db);
	assert_int_equal(capf_store_backup(f->st, copy, &info, err, sizeof(err)), CAPF_STORE_ERROR);
	assert_non_null(strstr(err, "audit chain"));
	assert_non_null(strstr(err, "row 2"));
	assert_int_equal(access(copy, F_OK), -1); /* nothing left */
	/* the same check on the live store finds the edit too */
	assert_int_equal(capf_store_check_copy(f->path, &info, err, sizeof(err)), CAPF_STORE_ERROR);
	assert_non_null(strstr(err, "row 2"));
	/* a copy that is not a database at all */
	{
		int fd = open(copy, O_WRONLY | O_CREAT | O_EXCL, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "not a database, 32 bytes long...", 32), 32);
		close(fd);
	}
	assert_int_equal(capf_store_check_copy(copy, &info, err, sizeof(err)), CAPF_STORE_ERROR);
}

static void test_pre_migration_copy(void **state)
{
	struct fx *f = *state;
	char saved[4200], saved2[4200], want[700], err[1024] = "";
	struct stat sb;
	sqlite3 *db;

	put_dev(f->st, "SEP001122334455", CAPF_OP_INSTALL, CAPF_AUTH_NULL, CAPF_ST_PENDING);
	db = raw_open(f->path);
	if (store_backup_pre_migration(db, f->path, 1, 2, saved, sizeof(saved), err, sizeof(err)) != 0)
		fail_msg("pre-migration copy: %s", err);
	snprintf(want, sizeof(want), "%s.pre-v2.1.bak", f->path);
	assert_string_equal(saved, want);
	assert_int_equal(stat(saved, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(raw_int(saved, "SELECT count(*) FROM devices"), 1);
	/* a second upgrade attempt keeps the first copy and makes another */
	assert_int_equal(store_backup_pre_migration(db, f->path, 1, 2, saved2, sizeof(saved2), err,
						    sizeof(err)),
			 0);
	assert_string_not_equal(saved, saved2);
	assert_int_equal(raw_int(saved, "SELECT count(*) FROM devices"), 1);
	sqlite3_close(db);
	/* where no copy can be written, the migration must not go ahead */
	assert_int_equal(chmod(f->dir, 0500), 0);
	db = raw_open(f->path);
	if (geteuid() != 0)
		assert_int_equal(store_backup_pre_migration(db, f->path, 1, 2, saved2, sizeof(saved2), err,
							    sizeof(err)),
				 CAPF_STORE_ERROR);
	sqlite3_close(db);
	assert_int_equal(chmod(f->dir, 0700), 0);
}

/* Troubleshoot keeps every fetched certificate with the verdict; a device's
 * history is the audit rows naming it, in order, paged. */
struct hist_rows {
	int64_t id[16];
	char action[16][32];
	unsigned n;
};

static int hist_cb(const struct capf_store_audit_row *r, void *arg)
{
	struct hist_rows *h = arg;

	if (h->n < 16) {
		h->id[h->n] = r->id;
		snprintf(h->action[h->n], sizeof(h->action[0]), "%s", r->action);
	}
	h->n++;
	return 0;
}

static void test_fetched_and_history(void **state)
{
	struct fx *f = *state;
	struct capf_store_fetched in, out;
	struct hist_rows h;
	unsigned char der1[] = { 0x30, 0x03, 0x02, 0x01, 0x01 }, der2[] = { 0x30, 0x03, 0x02, 0x01, 0x02 };
	char err[256] = "";

	put_dev(f->st, "SEP0000000000F1", CAPF_OP_FETCH, CAPF_AUTH_NULL, CAPF_ST_PENDING);
	put_dev(f->st, "SEP0000000000F2", CAPF_OP_NONE, CAPF_AUTH_NULL, CAPF_ST_NONE);
	assert_int_equal(capf_store_fetched_latest(f->st, "SEP0000000000F1", &out, err, sizeof(err)),
			 CAPF_STORE_NOTFOUND);
	memset(&in, 0, sizeof(in));
	snprintf(in.device, sizeof(in.device), "SEP0000000000F1");
	snprintf(in.serial, sizeof(in.serial), "0A0B");
	snprintf(in.issuer, sizeof(in.issuer), "CN=Somebody Else");
	memset(in.fp, 'a', 64);
	memset(in.issuer_fp, 'b', 64);
	snprintf(in.reason, sizeof(in.reason), "the certificate chains neither to a CAPF CA nor ...");
	in.der = der1;
	in.der_len = sizeof(der1);
	assert_int_equal(capf_store_fetched_record(f->st, &in, &front, err, sizeof(err)), 0);
	in.accepted = 1;
	in.der = der2;
	snprintf(in.reason, sizeof(in.reason), "an LSC from a CAPF CA naming the device");
	assert_int_equal(capf_store_fetched_record(f->st, &in, &front, err, sizeof(err)), 0);
	/* the latest wins; the DER and verdict come back as recorded */
	assert_int_equal(capf_store_fetched_latest(f->st, "SEP0000000000F1", &out, err, sizeof(err)), 0);
	assert_int_equal(out.accepted, 1);
	assert_int_equal(out.der_len, sizeof(der2));
	assert_memory_equal(out.der, der2, sizeof(der2));
	assert_string_equal(out.serial, "0A0B");
	assert_string_equal(out.issuer, "CN=Somebody Else");
	assert_int_equal(strspn(out.issuer_fp, "b"), 64);
	assert_non_null(strstr(out.reason, "naming the device"));
	assert_true(out.fetched_at > 0);
	capf_store_fetched_clear(&out);
	assert_int_equal(capf_store_fetched_latest(f->st, "SEP0000000000F2", &out, err, sizeof(err)),
			 CAPF_STORE_NOTFOUND);
	/* bad input is refused */
	in.der_len = 0;
	assert_int_equal(capf_store_fetched_record(f->st, &in, &front, err, sizeof(err)), CAPF_STORE_ERROR);
	in.der_len = sizeof(der2);
	memset(in.fp, 'z', 64);
	assert_int_not_equal(capf_store_fetched_record(f->st, &in, &front, err, sizeof(err)), 0);

	/* history: only the rows naming the device, in order */
	memset(&h, 0, sizeof(h));
	assert_int_equal(capf_store_audit_for_subject(f->st, "SEP0000000000F1", 0, 0, hist_cb, &h, err,
						      sizeof(err)),
			 0);
	assert_int_equal(h.n, 3);
	assert_string_equal(h.action[0], "device.add");
	assert_string_equal(h.action[1], "lsc.fetch");
	assert_string_equal(h.action[2], "lsc.fetch");
	assert_true(h.id[0] < h.id[1] && h.id[1] < h.id[2]);
	/* paged: limit and after_id */
	{
		struct hist_rows p;
		int64_t first = h.id[0], second = h.id[1];

		memset(&p, 0, sizeof(p));
		assert_int_equal(capf_store_audit_for_subject(f->st, "SEP0000000000F1", 0, 2, hist_cb, &p, err,
							      sizeof(err)),
				 0);
		assert_int_equal(p.n, 2);
		memset(&p, 0, sizeof(p));
		assert_int_equal(capf_store_audit_for_subject(f->st, "SEP0000000000F1", first, 0, hist_cb, &p,
							      err, sizeof(err)),
				 0);
		assert_int_equal(p.n, 2);
		assert_int_equal(p.id[0], second);
	}
	memset(&h, 0, sizeof(h));
	assert_int_equal(capf_store_audit_for_subject(f->st, "SEP0000000000F9", 0, 0, hist_cb, &h, err,
						      sizeof(err)),
			 0);
	assert_int_equal(h.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_schema, setup_dir, teardown),
		cmocka_unit_test_setup_teardown(test_open_empty_file_migrates, setup_dir, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup_dir, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_newer_schema, setup_dir, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_foreign_db, setup_dir, teardown),
		cmocka_unit_test_setup_teardown(test_failed_migration_rolls_back, setup_dir, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_unsafe_place, setup_dir, teardown),
		cmocka_unit_test_setup_teardown(test_no_active_cert, setup_dir, teardown),
		cmocka_unit_test_setup_teardown(test_capf_cert_chain, setup_dir, teardown),
		cmocka_unit_test_setup_teardown(test_device_crud, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_device_refuses_bad_values, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_device_list_filters, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_device_list_stops, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_lockout_counter, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_set_status, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_issuance_supersede, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_report_view, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_capf_cert_roles, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_bulk_all_or_nothing, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_audit_chain_edit, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_audit_chain_rehash_detected, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_audit_chain_delete, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_audit_chain_delete_last, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_audit_refuses_oversize, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_meta, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_no_plaintext_on_disk, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_sigkill_after_commit, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_16_threads, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_batches, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_naive_mode, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_writes, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_backup_online_checked, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_backup_refuses_broken_chain, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_pre_migration_copy, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_fetched_and_history, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_checkpoints, setup_store, teardown),
		cmocka_unit_test_setup_teardown(test_auth_mac_and_migration, setup_store, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
