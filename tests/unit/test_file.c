/* tests/unit/test_file.c: capf_file_read and capf_conf_load (appliance/common) on real files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "appliance/common/conffile.h"
#include "appliance/common/file.h"
#include "tests/unit/policy_pki.h"

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
	alarm(10); /* before the fix this open() never returned */
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

/* capf.conf from a file: missing, invalid (named with its line), valid, a
 * directory, a FIFO (refused at once: it used to hang the daemon's start-up). */
static void test_conf_files(void **state)
{
	struct capf_errlist *e = capf_errlist_new();
	static struct capf_conf conf;
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/capf.conf", dir);
	assert_int_equal(capf_conf_check(path, e), -1);
	assert_true(pki_errs_have(e, "capf.conf: No such file or directory"));
	fp = fopen(path, "w");
	fputs("lsc = {\n  validity_days = 3000;\n};\n", fp);
	fclose(fp);
	capf_errlist_clear(e);
	assert_int_equal(capf_conf_check(path, e), -1);
	assert_int_equal(capf_errlist_count(e), 1);
	assert_true(strncmp(capf_errlist_get(e, 0), path, strlen(path)) == 0);
	assert_true(
		pki_errs_have(e, "capf.conf:2: lsc.validity_days: 3000 is out of range (allowed: 1..1825)"));
	fp = fopen(path, "w");
	fputs("lsc = { validity_days = 30; };\n", fp);
	fclose(fp);
	capf_errlist_clear(e);
	assert_int_equal(capf_conf_load(&conf, path, e), 0);
	assert_int_equal(conf.lsc.validity_days, 30);
	assert_string_equal(conf.source, path);
	assert_int_equal(capf_conf_check(dir, e), -1); /* a directory */
	assert_true(pki_errs_have(e, "not a regular file"));
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	capf_errlist_clear(e);
	alarm(10);
	assert_int_equal(capf_conf_load(&conf, path, e), -1);
	alarm(0);
	assert_true(pki_errs_have(e, "capf.conf: not a regular file"));
	assert_int_equal(conf.lsc.validity_days, 1825); /* the defaults */
	unlink(path);
	capf_errlist_free(e);
}

/* The CA files capf.conf names: the missing one named, a FIFO refused at once. */
static void test_ca_files(void **state)
{
	struct capf_ca *ca = NULL;
	char cert[128], chain[128], err[512];
	FILE *fp;

	snprintf(cert, sizeof(cert), "%s/capf-ca.pem", dir);
	snprintf(chain, sizeof(chain), "%s/chain.pem", dir);
	assert_int_equal(capf_ca_load(cert, NULL, 0, &ca, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "capf-ca.pem: No such file or directory"));
	assert_non_null(fp = fopen(cert, "w"));
	fputs("not a certificate\n", fp);
	fclose(fp);
	assert_int_equal(mkfifo(chain, 0600), 0);
	alarm(10);
	assert_int_equal(capf_ca_load(cert, chain, 0, &ca, err, sizeof(err)), -1);
	alarm(0);
	assert_non_null(strstr(err, "chain.pem: not a regular file"));
	assert_int_equal(capf_ca_load(cert, "", 0, &ca, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "capf-ca.pem: CAPF CA certificate: no PEM certificate found"));
	assert_null(ca);
	unlink(cert);
	unlink(chain);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_refused),
		cmocka_unit_test(test_regular_and_cap),
		cmocka_unit_test(test_conf_files),
		cmocka_unit_test(test_ca_files),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
