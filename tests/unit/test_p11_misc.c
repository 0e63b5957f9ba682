/* tests/unit/test_p11_misc.c: the CK_RV table, ECDSA r||s to DER, key specs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/objects.h>

#include "pkcs11/p11.h"

static void test_rv_names(void **state)
{
	static const struct {
		CK_RV rv;
		const char *name, *text;
	} t[] = {
		{ CKR_OK, "CKR_OK", "success" },
		{ CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR", "token device error" },
		{ CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT", "wrong PIN" },
		{ CKR_PIN_LOCKED, "CKR_PIN_LOCKED", "PIN locked" },
		{ CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID", "invalid session handle" },
		{ CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE", "attribute is sensitive" },
		{ CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED", "already initialised" },
		{ CKR_FUNCTION_REJECTED, "CKR_FUNCTION_REJECTED", "rejected" },
		{ 0x12345, "CKR_0x12345", "unknown error" },
		{ CKR_VENDOR_DEFINED + 7, "CKR_VENDOR_DEFINED+0x7", "vendor-defined" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_string_equal(p11_rv_name(t[i].rv), t[i].name);
		assert_non_null(strstr(p11_rv_text(t[i].rv), t[i].text));
	}
}

static void test_rv_msg(void **state)
{
	char buf[128];

	assert_string_equal(p11_rv_msg(buf, sizeof(buf), "C_Sign", CKR_DEVICE_ERROR),
			    "C_Sign: CKR_DEVICE_ERROR (token device error)");
	/* Truncation keeps a terminated string. */
	p11_rv_msg(buf, 10, "C_Sign", CKR_DEVICE_ERROR);
	assert_int_equal(strlen(buf), 9);
}

static void test_rv_fault(void **state)
{
	static const CK_RV faults[] = {
		CKR_DEVICE_ERROR,          CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED,
		CKR_TOKEN_NOT_PRESENT,     CKR_DEVICE_REMOVED,         CKR_USER_NOT_LOGGED_IN,
		CKR_OBJECT_HANDLE_INVALID,
	};
	static const CK_RV not_faults[] = {
		CKR_OK,
		CKR_PIN_INCORRECT,
		CKR_PIN_LOCKED,
		CKR_ARGUMENTS_BAD,
		CKR_MECHANISM_INVALID,
		CKR_DATA_LEN_RANGE,
		CKR_ATTRIBUTE_SENSITIVE,
		CKR_KEY_FUNCTION_NOT_PERMITTED,
	};
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		assert_true(p11_rv_is_fault(faults[i]));
	for (size_t i = 0; i < sizeof(not_faults) / sizeof(not_faults[0]); i++)
		assert_false(p11_rv_is_fault(not_faults[i]));
}

static void test_ecdsa_der(void **state)
{
	unsigned char rs[132], der[P11_ECDSA_DER_MAX];
	const unsigned char *p;
	const BIGNUM *r, *s;
	ECDSA_SIG *sig;
	size_t derlen;
	char err[128];
	static const size_t sizes[] = { 64, 96, 132 };

	for (size_t k = 0; k < 3; k++) {
		size_t n = sizes[k];

		for (size_t i = 0; i < n; i++)
			rs[i] = (unsigned char)(i * 7 + 0x80); /* high bit set: DER needs a 0 pad */
		rs[0] = 0x00;                                  /* leading zero: DER drops it */
		derlen = sizeof(der);
		assert_int_equal(p11_ecdsa_raw_to_der(rs, n, der, &derlen, err, sizeof(err)), 0);
		p = der;
		sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
		assert_non_null(sig);
		assert_ptr_equal(p, der + derlen);
		ECDSA_SIG_get0(sig, &r, &s);
		{
			unsigned char back[132];

			assert_int_equal(BN_bn2binpad(r, back, (int)(n / 2)), (int)(n / 2));
			assert_int_equal(BN_bn2binpad(s, back + n / 2, (int)(n / 2)), (int)(n / 2));
			assert_memory_equal(back, rs, n);
		}
		ECDSA_SIG_free(sig);
	}
	derlen = sizeof(der);
	assert_int_equal(p11_ecdsa_raw_to_der(rs, 63, der, &derlen, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "even"));
	assert_int_equal(p11_ecdsa_raw_to_der(rs, 0, der, &derlen, err, sizeof(err)), -1);
	derlen = 10;
	assert_int_equal(p11_ecdsa_raw_to_der(rs, 64, der, &derlen, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "buffer"));
}

static void test_keyspec(void **state)
{
	static const struct {
		const char *s;
		CK_KEY_TYPE type;
		unsigned bits;
		int nid;
	} good[] = {
		{ "rsa:2048", CKK_RSA, 2048, NID_undef },   { "rsa:3072", CKK_RSA, 3072, NID_undef },
		{ "rsa:4096", CKK_RSA, 4096, NID_undef },   { "ec:P-256", CKK_EC, 256, NID_X9_62_prime256v1 },
		{ "ec:P-384", CKK_EC, 384, NID_secp384r1 }, { "ec:P-521", CKK_EC, 521, NID_secp521r1 },
	};
	static const char *bad[] = { "rsa:1024", "rsa", "ec:P-224", "ec:p-256", "dsa:2048", "", "rsa:2048 " };
	struct p11_keyspec k;
	char err[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(p11_keyspec_parse(good[i].s, &k, err, sizeof(err)), 0);
		assert_int_equal(k.type, good[i].type);
		assert_int_equal(k.bits, good[i].bits);
		assert_int_equal(k.curve_nid, good[i].nid);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(p11_keyspec_parse(bad[i], &k, err, sizeof(err)), P11_ERR);
		assert_non_null(strstr(err, "use rsa:2048"));
	}
}

static void test_module_choose(void **state)
{
	struct p11_uri u;
	char err[128];

	assert_int_equal(p11_uri_parse("pkcs11:token=T?module-path=/u.so", &u, err, sizeof(err)), 0);
	unsetenv(P11_MODULE_ENV);
	assert_string_equal(p11_module_choose("/o.so", &u), "/o.so");
	assert_string_equal(p11_module_choose(NULL, &u), "/u.so");
	setenv(P11_MODULE_ENV, "/e.so", 1);
	assert_string_equal(p11_module_choose(NULL, &u), "/u.so");
	p11_uri_clear(&u);
	assert_string_equal(p11_module_choose(NULL, &u), "/e.so");
	unsetenv(P11_MODULE_ENV);
	assert_string_equal(p11_module_choose(NULL, NULL), P11_DEFAULT_MODULE);
}

static void test_module_errors(void **state)
{
	struct p11_module *m;
	char err[512];

	assert_int_equal(p11_module_load("libsofthsm2.so", &m, err, sizeof(err)), P11_ERR);
	assert_non_null(strstr(err, "absolute path"));
	assert_int_equal(p11_module_load("/nonexistent/module.so", &m, err, sizeof(err)), P11_ERR);
	assert_non_null(strstr(err, "cannot load"));
	/* A shared library that is not a PKCS#11 module. */
	assert_int_equal(p11_module_load("/lib/x86_64-linux-gnu/libz.so.1", &m, err, sizeof(err)), P11_ERR);
	assert_non_null(strstr(err, "no C_GetFunctionList"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rv_names),      cmocka_unit_test(test_rv_msg),
		cmocka_unit_test(test_rv_fault),      cmocka_unit_test(test_ecdsa_der),
		cmocka_unit_test(test_keyspec),       cmocka_unit_test(test_module_choose),
		cmocka_unit_test(test_module_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
