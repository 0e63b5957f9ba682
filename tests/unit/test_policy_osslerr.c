/* tests/unit/test_policy_osslerr.c: OpenSSL's error queue as one message (policy/osslerr.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/err.h>

#include "policy/osslerr.h"

static void every_error_with_its_text_and_the_queue_emptied(void **state)
{
	char buf[512];

	ERR_raise_data(ERR_LIB_X509, ERR_R_PASSED_NULL_PARAMETER, "first %d", 1);
	ERR_raise(ERR_LIB_DSO, ERR_R_INTERNAL_ERROR); /* engine noise: left out */
	ERR_raise_data(ERR_LIB_PROV, ERR_R_OPERATION_FAIL, "capfhsm: token down");
	assert_ptr_equal(capf_ossl_errors(buf, sizeof(buf)), buf);
	/* newest first */
	assert_non_null(strstr(buf, "operation fail: capfhsm: token down; "));
	assert_non_null(strstr(buf, "passed a null parameter: first 1"));
	assert_true(strstr(buf, "token down") < strstr(buf, "first 1"));
	assert_null(strstr(buf, "DSO"));
	assert_int_equal(ERR_peek_error(), 0);
	assert_string_equal(capf_ossl_errors(buf, sizeof(buf)), "no OpenSSL error recorded");
}

static void a_small_buffer_is_cut_and_the_queue_still_drained(void **state)
{
	char buf[24];

	memset(buf, 'x', sizeof(buf));
	for (int i = 0; i < 5; i++)
		ERR_raise_data(ERR_LIB_X509, ERR_R_MALLOC_FAILURE, "a long explanation number %d", i);
	ERR_raise_data(ERR_LIB_PROV, ERR_R_OPERATION_FAIL, "the newest");
	capf_ossl_errors(buf, 20);
	assert_int_equal(strlen(buf), 19);
	assert_int_equal(strncmp(buf, "error:", 6), 0);
	assert_int_equal(buf[20], 'x');
	assert_int_equal(ERR_peek_error(), 0);
}

static void a_message_names_what_failed(void **state)
{
	char err[256];

	capf_ossl_error_msg(err, sizeof(err), "signing the CSR");
	assert_string_equal(err, "signing the CSR");
	ERR_raise_data(ERR_LIB_EVP, ERR_R_PASSED_INVALID_ARGUMENT, "bad digest");
	capf_ossl_error_msg(err, sizeof(err), "signing the CSR");
	assert_int_equal(strncmp(err, "signing the CSR: error:", 23), 0);
	assert_non_null(strstr(err, ": bad digest"));
	assert_int_equal(ERR_peek_error(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_error_with_its_text_and_the_queue_emptied),
		cmocka_unit_test(a_small_buffer_is_cut_and_the_queue_still_drained),
		cmocka_unit_test(a_message_names_what_failed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
