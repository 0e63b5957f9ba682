/* tests/unit/test_file.c: capf_file_read (appliance/common/file.c) on real files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "appliance/common/file.h"

static char dir[] = "/tmp/capf-test-file.XXXXXX";

static int setup(void **state)
{
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A FIFO with no writer: refused at once, not a program hung in open(). */
static void test_fifo_refused(void **state)
{
	char path[128], err[256];
	unsigned char *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/capf.conf", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);		/* before the fix this open() never returned */
	assert_int_equal(capf_file_read(path, 4096, &buf, &len, err, sizeof(err)), -1);
	alarm(0);
	assert_non_null(strstr(err, "not a regular file"));
	assert_null(buf);
	unlink(path);
}

static void test_regular_and_cap(void **state)
{
	char path[128], err[256];
	unsigned char *buf = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/data", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("0123456789", f);
	fclose(f);
	assert_int_equal(capf_file_read(path, 10, &buf, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 10);
	assert_string_equal((char *)buf, "0123456789");
	free(buf);
	buf = NULL;
	assert_int_equal(capf_file_read(path, 9, &buf, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than the 9 allowed"));
	assert_int_equal(capf_file_read(dir, 100, &buf, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_refused),
		cmocka_unit_test(test_regular_and_cap),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
