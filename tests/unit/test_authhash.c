/* tests/unit/test_authhash.c: scrypt hashing of authentication strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "appliance/store/authhash.h"

static const struct capf_authhash_params small = { 1024, 8, 1 };

static void test_defaults_verify(void **state)
{
	struct capf_authhash h;
	char err[256] = "";

	assert_int_equal(capf_authhash_make(&h, "1234567890", 10, NULL, err, sizeof(err)), 0);
	assert_int_equal(h.kdf, CAPF_AUTHHASH_KDF_SCRYPT);
	assert_int_equal(h.params.n, CAPF_AUTHHASH_DEFAULT_N);
	assert_int_equal(h.params.r, CAPF_AUTHHASH_DEFAULT_R);
	assert_int_equal(h.params.p, CAPF_AUTHHASH_DEFAULT_P);
	assert_int_equal(capf_authhash_verify(&h, "1234567890", 10, err, sizeof(err)), 1);
	assert_int_equal(capf_authhash_verify(&h, "1234567891", 10, err, sizeof(err)), 0);
}

static void test_right_and_wrong(void **state)
{
	static const struct {
		const char *set, *typed;
		int want;
	} cases[] = {
		{ "1234", "1234", 1 },
		{ "1234", "1235", 0 },
		{ "1234", "12345", 0 },
		{ "1234", "123", 0 },
		{ "1234", "", 0 },
		{ "", "", 1 },
		{ "", "0", 0 },
		{ "0000000000", "0000000000", 1 },
		{ "0000000000", "000000000", 0 },
	};
	struct capf_authhash h;
	char err[256] = "";

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(capf_authhash_make(&h, cases[i].set, strlen(cases[i].set), &small, err,
						    sizeof(err)),
				 0);
		assert_int_equal(capf_authhash_verify(&h, cases[i].typed, strlen(cases[i].typed), err,
						      sizeof(err)),
				 cases[i].want);
	}
}

static void test_salts_differ(void **state)
{
	struct capf_authhash a, b;
	char err[256];

	assert_int_equal(capf_authhash_make(&a, "4321", 4, &small, err, sizeof(err)), 0);
	assert_int_equal(capf_authhash_make(&b, "4321", 4, &small, err, sizeof(err)), 0);
	assert_memory_not_equal(a.salt, b.salt, sizeof(a.salt));
	assert_memory_not_equal(a.hash, b.hash, sizeof(a.hash));
	assert_int_equal(capf_authhash_verify(&a, "4321", 4, err, sizeof(err)), 1);
	assert_int_equal(capf_authhash_verify(&b, "4321", 4, err, sizeof(err)), 1);
	/* The salt is what binds: swapping it breaks the match. */
	memcpy(a.salt, b.salt, sizeof(a.salt));
	assert_int_equal(capf_authhash_verify(&a, "4321", 4, err, sizeof(err)), 0);
}

static void test_params_stored(void **state)
{
	struct capf_authhash_params p = { 2048, 4, 2 };
	struct capf_authhash h;
	char err[256];

	assert_int_equal(capf_authhash_make(&h, "5555", 4, &p, err, sizeof(err)), 0);
	assert_int_equal(h.params.n, 2048);
	assert_int_equal(h.params.r, 4);
	assert_int_equal(h.params.p, 2);
	assert_int_equal(capf_authhash_verify(&h, "5555", 4, err, sizeof(err)), 1);
	/* Verification uses the stored parameters: changing them breaks the match. */
	h.params.n = 1024;
	assert_int_equal(capf_authhash_verify(&h, "5555", 4, err, sizeof(err)), 0);
	h.params.n = 2048;
	h.params.p = 1;
	assert_int_equal(capf_authhash_verify(&h, "5555", 4, err, sizeof(err)), 0);
}

static void test_params_refused(void **state)
{
	static const struct capf_authhash_params bad[] = {
		{ 0, 8, 1 },     { 512, 8, 1 },  { 1000, 8, 1 },  { 1u << 21, 8, 1 },   { 1024, 0, 1 },
		{ 1024, 33, 1 }, { 1024, 8, 0 }, { 1024, 8, 17 }, { 1u << 20, 32, 16 }, /* 64 GiB */
	};
	struct capf_authhash h;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(capf_authhash_make(&h, "1234", 4, &bad[i], err, sizeof(err)), -1);
		assert_true(strlen(err) > 0);
	}
	/* A stored hash with hostile parameters is refused, not computed. */
	assert_int_equal(capf_authhash_make(&h, "1234", 4, &small, err, sizeof(err)), 0);
	h.params.n = 1u << 30;
	assert_int_equal(capf_authhash_verify(&h, "1234", 4, err, sizeof(err)), -1);
	h.params.n = 1024;
	h.kdf = 7;
	assert_int_equal(capf_authhash_verify(&h, "1234", 4, err, sizeof(err)), -1);
}

static void test_length_limits(void **state)
{
	char big[CAPF_AUTHHASH_SECRET_MAX + 2];
	struct capf_authhash h;
	char err[256];

	memset(big, '7', sizeof(big));
	assert_int_equal(capf_authhash_make(&h, big, CAPF_AUTHHASH_SECRET_MAX, &small, err, sizeof(err)), 0);
	assert_int_equal(capf_authhash_verify(&h, big, CAPF_AUTHHASH_SECRET_MAX, err, sizeof(err)), 1);
	assert_int_equal(capf_authhash_verify(&h, big, CAPF_AUTHHASH_SECRET_MAX + 1, err, sizeof(err)), 0);
	assert_int_equal(capf_authhash_make(&h, big, CAPF_AUTHHASH_SECRET_MAX + 1, &small, err, sizeof(err)),
			 -1);
	assert_int_equal(capf_authhash_make(NULL, "1", 1, &small, err, sizeof(err)), -1);
	assert_int_equal(capf_authhash_make(&h, NULL, 1, &small, err, sizeof(err)), -1);
}

static void test_kdf_names(void **state)
{
	assert_string_equal(capf_authhash_kdf_name(CAPF_AUTHHASH_KDF_SCRYPT), "scrypt");
	assert_null(capf_authhash_kdf_name(0));
	assert_int_equal(capf_authhash_kdf_parse("scrypt"), CAPF_AUTHHASH_KDF_SCRYPT);
	assert_int_equal(capf_authhash_kdf_parse("pbkdf2"), -1);
	assert_int_equal(capf_authhash_kdf_parse(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_verify), cmocka_unit_test(test_right_and_wrong),
		cmocka_unit_test(test_salts_differ),    cmocka_unit_test(test_params_stored),
		cmocka_unit_test(test_params_refused),  cmocka_unit_test(test_length_limits),
		cmocka_unit_test(test_kdf_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
