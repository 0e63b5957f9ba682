/*
 * tests/integ/test_hsm.c: appliance/common/hsm.c, the one way the programs open a
 * token key, on a real SoftHSM token: the provider takes its module from the
 * configuration handed through the library context, a URI naming that module is
 * accepted and another refused, bad modules and directories are named, the
 * provider's token events reach the program's log callback (never the PIN), and a
 * token whose directory disappears is reported down (CAPF_HSM_EDOWN) and comes back
 * through the module's re-initialisation the configuration allows.
 */
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "appliance/common/hsm.h"
#include "tests/provider/ptoken.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static struct ptoken tok;
static char libdir[PATH_MAX];
static const char *module;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_all[16384];

static void log_cb(void *arg, int level, const char *msg)
{
	pthread_mutex_lock(&log_mu);
	size_t n = strlen(log_all);
	snprintf(log_all + n, sizeof(log_all) - n, "%d %s\n", level, msg);
	pthread_mutex_unlock(&log_mu);
}

static int logged(const char *what)
{
	int found;

	pthread_mutex_lock(&log_mu);
	found = strstr(log_all, what) != NULL;
	pthread_mutex_unlock(&log_mu);
	return found;
}

static int setup(void **state)
{
	static const char *const specs[] = { "ec:P-256" };
	const char *build = getenv("BUILD");
	char dir[PATH_MAX], err[512];

	module = getenv("SOFTHSM_MODULE") ? getenv("SOFTHSM_MODULE") : "/usr/lib/softhsm/libsofthsm2.so";
	snprintf(dir, sizeof(dir), "%s/lib", build != NULL && *build ? build : "build");
	if (realpath(dir, libdir) == NULL)
		return -1;
	if (ptoken_make(&tok, "htest", specs, NELEM(specs), err, sizeof(err)) != 0) {
		fprintf(stderr, "token: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	ptoken_remove(&tok);
	return 0;
}

/* reinit: always 1 here. Each capf_hsm_close unloads capfhsm.so (its token
 * layer's state goes with it) while SoftHSM stays loaded: without C_Finalize
 * at close, the next provider would find the module initialised by "someone
 * else" and never re-initialise it. */
static struct capf_hsm *open_hsm(const char *mod, int reinit)
{
	struct capf_hsm_opts o = { .provider_dir = libdir,
				   .module = mod,
				   .reinit_module = reinit,
				   .recover_ms = 100,
				   .log = log_cb };
	struct capf_hsm *h = NULL;
	char err[512];

	if (capf_hsm_open(&o, &h, err, sizeof(err)) != 0)
		fail_msg("capf_hsm_open: %s", err);
	return h;
}

/* A signature by key in h's context that verifies: 1, else 0. */
static int signs(struct capf_hsm *h, EVP_PKEY *key)
{
	static const unsigned char msg[] = "test_hsm";
	unsigned char sig[256];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	int ok = EVP_DigestSignInit_ex(m, NULL, "SHA256", capf_hsm_libctx(h), NULL, key, NULL) == 1 &&
		 EVP_DigestSign(m, sig, &siglen, msg, sizeof(msg) - 1) == 1;

	EVP_MD_CTX_free(m);
	m = EVP_MD_CTX_new();
	ok = ok && EVP_DigestVerifyInit_ex(m, NULL, "SHA256", capf_hsm_libctx(h), NULL, key, NULL) == 1 &&
	     EVP_DigestVerify(m, sig, siglen, msg, sizeof(msg) - 1) == 1;
	EVP_MD_CTX_free(m);
	return ok;
}

static void test_module_from_config(void **state)
{
	struct capf_hsm *h = open_hsm(module, 1);
	char full[2048], other[2048], err[512];
	EVP_PKEY *key = NULL;

	assert_string_equal(capf_hsm_module(h), module);
	assert_int_equal(capf_hsm_key_uri(h, "pkcs11:token=htest;object=ec-P-256;type=private", tok.pin_file,
					  full, sizeof(full), err, sizeof(err)),
			 0);
	assert_non_null(strstr(full, "module-path="));
	assert_non_null(strstr(full, "pin-source="));
	/* the URI names the configured module: accepted */
	if (capf_hsm_load_key(h, full, &key, err, sizeof(err)) != 0)
		fail_msg("%s: %s", full, err);
	assert_true(signs(h, key));
	EVP_PKEY_free(key);
	/* another module in the URI: refused, saying which module the provider uses */
	snprintf(other, sizeof(other),
		 "pkcs11:token=htest;object=ec-P-256;type=private;"
		 "module-path=/tmp/other.so?pin-source=file:%s",
		 tok.pin_file);
	assert_int_equal(capf_hsm_load_key(h, other, &key, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "other than the one capfhsm uses"));
	assert_non_null(strstr(err, module));
	capf_hsm_close(h);
}

static void test_bad_settings(void **state)
{
	struct capf_hsm_opts o = { .provider_dir = libdir, .module = "libsofthsm2.so" };
	struct capf_hsm *h = NULL;
	char full[2048], err[512];
	EVP_PKEY *key = NULL;

	assert_int_equal(capf_hsm_open(&o, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an absolute path"));
	o.module = module;
	o.provider_dir = "/nonexistent";
	assert_int_equal(capf_hsm_open(&o, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent: no capfhsm.so there"));
	o.provider_dir = libdir;
	o.module = "/etc/capf\nx"; /* the one thing the generated configuration cannot hold */
	assert_int_equal(capf_hsm_open(&o, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "token.module"));
	/* a module that is not there: named when the key is opened */
	h = open_hsm("/nonexistent/libvendor.so", 1);
	assert_int_equal(capf_hsm_key_uri(h, "pkcs11:token=htest;object=ec-P-256;type=private", tok.pin_file,
					  full, sizeof(full), err, sizeof(err)),
			 0);
	assert_int_not_equal(capf_hsm_load_key(h, full, &key, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "/nonexistent/libvendor.so"));
	assert_null(key);
	capf_hsm_close(h);
}

/* The provider's events reach the callback: a refused PIN, without the PIN. */
static void test_log_wrong_pin(void **state)
{
	struct capf_hsm *h = open_hsm(module, 1);
	char pinfile[400], uri[2048], err[512];
	EVP_PKEY *key = NULL;
	FILE *f;

	snprintf(pinfile, sizeof(pinfile), "%s/wrong.pin", tok.dir);
	assert_non_null(f = fopen(pinfile, "w"));
	fputs("98765432\n", f);
	fclose(f);
	chmod(pinfile, 0600);
	snprintf(uri, sizeof(uri), "pkcs11:token=htest;object=ec-P-256;type=private?pin-source=file:%s",
		 pinfile);
	assert_int_not_equal(capf_hsm_load_key(h, uri, &key, err, sizeof(err)), 0);
	assert_true(logged("wrong PIN for token htest"));
	assert_false(logged("98765432"));
	capf_hsm_close(h);
}

/* The token's directory disappears: down (CAPF_HSM_EDOWN), then back through
 * the module's re-initialisation, logged. */
static void test_outage_reinit(void **state)
{
	struct capf_hsm *h = open_hsm(module, 1);
	char full[2048], tokdir[400], away[420], err[512];
	EVP_PKEY *key = NULL, *again = NULL;
	int ok = 0, rc;

	assert_int_equal(capf_hsm_key_uri(h, "pkcs11:token=htest;object=ec-P-256;type=private", tok.pin_file,
					  full, sizeof(full), err, sizeof(err)),
			 0);
	assert_int_equal(capf_hsm_load_key(h, full, &key, err, sizeof(err)), 0);
	assert_true(signs(h, key));
	snprintf(tokdir, sizeof(tokdir), "%s/tokens", tok.dir);
	snprintf(away, sizeof(away), "%s/tokens.away", tok.dir);
	assert_int_equal(rename(tokdir, away), 0);
	assert_false(signs(h, key));
	usleep(150 * 1000); /* past the recovery gap: the next use tries again, and fails */
	rc = capf_hsm_load_key(h, full, &again, err, sizeof(err));
	if (rc != CAPF_HSM_EDOWN)
		fail_msg("token gone: capf_hsm_load_key %d (want CAPF_HSM_EDOWN): %s", rc, err);
	assert_int_equal(rename(away, tokdir), 0);
	for (int i = 0; i < 40 && !ok; i++) {
		usleep(100 * 1000);
		ok = signs(h, key);
	}
	if (!ok)
		fail_msg("the token did not come back; the provider's log:\n%s", log_all);
	assert_true(logged("re-initialised (C_Finalize, C_Initialize)"));
	assert_true(logged("recovered"));
	EVP_PKEY_free(key);
	capf_hsm_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_module_from_config),
		cmocka_unit_test(test_bad_settings),
		cmocka_unit_test(test_log_wrong_pin),
		cmocka_unit_test(test_outage_reinit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
