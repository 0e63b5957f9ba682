/* tests/unit/test_argnum.c: numbers from a command line (appliance/common/argnum.c). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "appliance/common/argnum.h"

static void test_parse_uint(void **state)
{
	static const char *const bad[] = {
		"", "-1", "+5", " 5", "5 ", "5x", "0x10", "1e3", "99999999999999999999999", NULL
	};
	unsigned long v = 7;

	(void)state;
	assert_int_equal(capf_parse_uint("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(capf_parse_uint("64", 1, 64, &v), 0);
	assert_int_equal(v, 64);
	assert_int_equal(capf_parse_uint("007", 1, 10, &v), 0);
	assert_int_equal(v, 7);
	/* the bounds are inclusive, and nothing is written on a refusal */
	v = 42;
	assert_int_equal(capf_parse_uint("65", 1, 64, &v), -1);
	assert_int_equal(capf_parse_uint("0", 1, 64, &v), -1);
	assert_int_equal(v, 42);
	for (size_t i = 0; bad[i] != NULL; i++) {
		if (capf_parse_uint(bad[i], 0, ULONG_MAX, &v) != -1)
			fprintf(stderr, "accepted \"%s\"\n", bad[i]);
		assert_int_equal(capf_parse_uint(bad[i], 0, ULONG_MAX, &v), -1);
	}
	assert_int_equal(capf_parse_uint(NULL, 0, 10, &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_uint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
