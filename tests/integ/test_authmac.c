/*
 * tests/integ/test_authmac.c: authentication strings as HMAC-SHA-256 under a
 * token-held secret key (pkcs11/secret.c + appliance/store/authhash.c) against a
 * real SoftHSM token in a temporary directory:
 *  - the generated key is sensitive, never extractable; its value cannot be read;
 *  - the right string verifies, a wrong one does not;
 *  - the stored value does not verify without the token (no mac: an error, never a
 *    match) nor with another token key (a stolen database gives nothing);
 *  - a string stored with scrypt before the key was configured still verifies
 *    through the same call (the migration path);
 *  - a bulk of many unique strings: the time is printed, not asserted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "appliance/store/authhash.h"
#include "pkcs11/p11.h"

#define LABEL "AUTHMAC"
#define BULK 2000

static char dir[128], pin_file[256];
static struct p11_token *tok;
static struct p11_object *key1, *key2;

static void write_file(const char *path, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
}

static int mac_fn(void *ctx, const unsigned char *in, size_t inlen, unsigned char out[CAPF_AUTHHASH_LEN],
		  char *err, size_t errlen)
{
	return p11_hmac_sha256(ctx, in, inlen, out, err, errlen) == P11_OK ? 0 : -1;
}

static int group_setup(void **state)
{
	char conf[256], body[512], sub[256], so[256], err[512], uri[512];
	struct p11_token_opts opts = { .rw = 1, .pool_size = 4 };
	struct p11_uri u;

	snprintf(dir, sizeof(dir), "/tmp/test_authmac.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
	snprintf(sub, sizeof(sub), "%s/tokens", dir);
	mkdir(sub, 0700);
	snprintf(body, sizeof(body),
		 "directories.tokendir = %s\nobjectstore.backend = file\n"
		 "log.level = ERROR\nslots.removable = false\n",
		 sub);
	write_file(conf, body);
	setenv("SOFTHSM2_CONF", conf, 1);
	snprintf(pin_file, sizeof(pin_file), "%s/user.pin", dir);
	snprintf(so, sizeof(so), "%s/so.pin", dir);
	write_file(pin_file, "31415926\n");
	write_file(so, "27182818\n");
	p11_set_finalize(0);
	if (p11_token_init(P11_DEFAULT_MODULE, LABEL, so, pin_file, NULL, err, sizeof(err)) != P11_OK) {
		fprintf(stderr, "token init: %s\n", err);
		return -1;
	}
	snprintf(uri, sizeof(uri), "pkcs11:token=" LABEL "?pin-source=file:%s", pin_file);
	if (p11_uri_parse(uri, &u, err, sizeof(err)) != P11_OK)
		return -1;
	opts.module_path = P11_DEFAULT_MODULE;
	if (p11_token_open(&u, &opts, &tok, err, sizeof(err)) != P11_OK) {
		fprintf(stderr, "open: %s\n", err);
		return -1;
	}
	p11_uri_clear(&u);
	if (p11_secret_keygen(tok, "auth-1", &key1, err, sizeof(err)) != P11_OK ||
	    p11_secret_keygen(tok, "auth-2", &key2, err, sizeof(err)) != P11_OK) {
		fprintf(stderr, "keygen: %s\n", err);
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[256];

	p11_object_free(key1);
	p11_object_free(key2);
	p11_token_close(tok);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_key_stays_in_token(void **state)
{
	unsigned char *val = NULL;
	size_t len = 0;
	CK_RV rv = CKR_OK;
	char err[512];
	int b = -1;

	assert_int_equal(p11_object_class(key1), CKO_SECRET_KEY);
	assert_int_equal(p11_object_bool(key1, CKA_SENSITIVE, &b, err, sizeof(err)), P11_OK);
	assert_int_equal(b, 1);
	assert_int_equal(p11_object_bool(key1, CKA_EXTRACTABLE, &b, err, sizeof(err)), P11_OK);
	assert_int_equal(b, 0);
	assert_int_equal(p11_object_bool(key1, CKA_NEVER_EXTRACTABLE, &b, err, sizeof(err)), P11_OK);
	assert_int_equal(b, 1);
	/* its value cannot be read out */
	assert_int_not_equal(p11_object_attr(key1, CKA_VALUE, &val, &len, &rv, err, sizeof(err)), P11_OK);
	assert_int_equal(rv, CKR_ATTRIBUTE_SENSITIVE);
	assert_null(val);
	/* a label is never reused */
	assert_int_equal(p11_secret_keygen(tok, "auth-1", NULL, err, sizeof(err)), P11_ERR);
	assert_non_null(strstr(err, "already exists"));
}

static void test_hmac_is_hmac_sha256_and_keyed(void **state)
{
	unsigned char a[P11_HMAC_LEN], b[P11_HMAC_LEN], c[P11_HMAC_LEN];
	char err[512];
	struct p11_object *priv = NULL;
	struct p11_keyspec spec;

	assert_int_equal(p11_hmac_sha256(key1, (const unsigned char *)"abc", 3, a, err, sizeof(err)), P11_OK);
	assert_int_equal(p11_hmac_sha256(key1, (const unsigned char *)"abc", 3, b, err, sizeof(err)), P11_OK);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(p11_hmac_sha256(key2, (const unsigned char *)"abc", 3, c, err, sizeof(err)), P11_OK);
	assert_memory_not_equal(a, c, sizeof(a));
	assert_int_equal(p11_hmac_sha256(key1, (const unsigned char *)"abd", 3, c, err, sizeof(err)), P11_OK);
	assert_memory_not_equal(a, c, sizeof(a));
	/* only secret keys, bounded input */
	assert_int_equal(p11_keyspec_parse("ec:P-256", &spec, err, sizeof(err)), P11_OK);
	assert_int_equal(p11_keygen(tok, &spec, "not-a-mac-key", NULL, 0, &priv, err, sizeof(err)), P11_OK);
	assert_int_equal(p11_hmac_sha256(priv, (const unsigned char *)"abc", 3, a, err, sizeof(err)), P11_ERR);
	assert_non_null(strstr(err, "not a secret key"));
	p11_object_free(priv);
	assert_int_equal(p11_hmac_sha256(key1, (const unsigned char *)"", 0, a, err, sizeof(err)), P11_ERR);
}

static void test_strings(void **state)
{
	struct capf_authhash_mac m1 = { mac_fn, NULL }, m2 = { mac_fn, NULL };
	struct capf_authhash h, h2;
	char err[512];

	m1.ctx = key1;
	m2.ctx = key2;
	assert_int_equal(capf_authhash_make_mac(&h, "73591", 5, &m1, err, sizeof(err)), 0);
	assert_int_equal(h.kdf, CAPF_AUTHHASH_KDF_HMAC);
	assert_string_equal(capf_authhash_kdf_name(h.kdf), "hmac-sha256");
	assert_int_equal(capf_authhash_verify_mac(&h, "73591", 5, &m1, err, sizeof(err)), 1);
	assert_int_equal(capf_authhash_verify_mac(&h, "73592", 5, &m1, err, sizeof(err)), 0);
	assert_int_equal(capf_authhash_verify_mac(&h, "7359", 4, &m1, err, sizeof(err)), 0);
	/* the same string twice: different salts, different stored values */
	assert_int_equal(capf_authhash_make_mac(&h2, "73591", 5, &m1, err, sizeof(err)), 0);
	assert_memory_not_equal(h.salt, h2.salt, sizeof(h.salt));
	assert_memory_not_equal(h.hash, h2.hash, sizeof(h.hash));
	/* a stolen database: without the token's key the value checks nothing */
	err[0] = '\0';
	assert_int_equal(capf_authhash_verify(&h, "73591", 5, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "token"));
	assert_int_equal(capf_authhash_verify_mac(&h, "73591", 5, NULL, err, sizeof(err)), -1);
	assert_int_equal(capf_authhash_verify_mac(&h, "73591", 5, &m2, err, sizeof(err)), 0);
}

static void test_scrypt_rows_still_verify(void **state)
{
	struct capf_authhash_mac m1 = { mac_fn, NULL };
	struct capf_authhash_params small = { 1024, 8, 1 };
	struct capf_authhash h;
	char err[512];

	m1.ctx = key1;
	assert_int_equal(capf_authhash_make(&h, "4321", 4, &small, err, sizeof(err)), 0);
	assert_int_equal(capf_authhash_verify_mac(&h, "4321", 4, &m1, err, sizeof(err)), 1);
	assert_int_equal(capf_authhash_verify_mac(&h, "4322", 4, &m1, err, sizeof(err)), 0);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void test_bulk_unique_strings(void **state)
{
	struct capf_authhash_mac m1 = { mac_fn, NULL };
	struct capf_authhash *h = calloc(BULK, sizeof(*h));
	char err[512], s[16];
	double t0, t1;

	m1.ctx = key1;
	assert_non_null(h);
	t0 = now_ms();
	for (int i = 0; i < BULK; i++) {
		snprintf(s, sizeof(s), "%08d", 10000000 + i * 7919 % 90000000);
		assert_int_equal(capf_authhash_make_mac(&h[i], s, strlen(s), &m1, err, sizeof(err)), 0);
	}
	t1 = now_ms();
	for (int i = 0; i < BULK; i += 97) {
		snprintf(s, sizeof(s), "%08d", 10000000 + i * 7919 % 90000000);
		assert_int_equal(capf_authhash_verify_mac(&h[i], s, strlen(s), &m1, err, sizeof(err)), 1);
		assert_int_equal(capf_authhash_verify_mac(&h[(i + 1) % BULK], s, strlen(s), &m1, err,
							  sizeof(err)),
				 0);
	}
	printf("# %d unique strings stored as token HMACs in %.0f ms (%.3f ms each)\n", BULK, t1 - t0,
	       (t1 - t0) / BULK);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_stays_in_token),
		cmocka_unit_test(test_hmac_is_hmac_sha256_and_keyed),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_scrypt_rows_still_verify),
		cmocka_unit_test(test_bulk_unique_strings),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
