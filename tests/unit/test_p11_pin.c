/* tests/unit/test_p11_pin.c: PIN files: what is accepted, what is refused and why. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "pkcs11/p11.h"
#include "pkcs11/p11_pin.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/test_p11_pin.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *mkfile(const char *name, const void *data, size_t len, mode_t mode)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

static int readpin(const char *path, char *pin, size_t *len, char *err, size_t errlen)
{
	return p11_pin_read(path, pin, P11_PIN_MAX + 1, len, NULL, err, errlen);
}

static const struct {
	const char *content;
	size_t len;
	const char *pin;
} good[] = {
	{ "1234\n", 5, "1234" },     { "1234", 4, "1234" },     { "1234\r\n", 6, "1234" },
	{ "12 34 \n", 7, "12 34 " }, { "1234\r", 5, "1234\r" }, /* only "\n" or "\r\n" is stripped */
	{ "x\n", 2, "x" },
};

static void test_good(void **state)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char pin[P11_PIN_MAX + 1], err[256] = "";
		size_t len;
		const char *p = mkfile("good.pin", good[i].content, good[i].len, 0600);

		if (readpin(p, pin, &len, err, sizeof(err)) != 0)
			fail_msg("case %zu refused: %s", i, err);
		assert_int_equal(len, strlen(good[i].pin));
		assert_string_equal(pin, good[i].pin);
	}
	/* 0400 is fine too. */
	{
		char pin[P11_PIN_MAX + 1], err[256];
		size_t len;

		assert_int_equal(readpin(mkfile("ro.pin", "9\n", 2, 0400), pin, &len, err, sizeof(err)), 0);
	}
}

static void test_max(void **state)
{
	char buf[P11_PIN_MAX + 4], pin[P11_PIN_MAX + 1], err[256];
	size_t len;

	memset(buf, '7', sizeof(buf));
	buf[P11_PIN_MAX] = '\n';
	assert_int_equal(readpin(mkfile("max.pin", buf, P11_PIN_MAX + 1, 0600), pin, &len, err, sizeof(err)),
			 0);
	assert_int_equal(len, P11_PIN_MAX);
	/* 256 bytes + "\r\n" is still a 256-byte PIN. */
	buf[P11_PIN_MAX] = '\r';
	buf[P11_PIN_MAX + 1] = '\n';
	assert_int_equal(readpin(mkfile("crlf.pin", buf, P11_PIN_MAX + 2, 0600), pin, &len, err, sizeof(err)),
			 0);
	assert_int_equal(len, P11_PIN_MAX);
	memset(buf, '7', sizeof(buf));
	assert_int_equal(readpin(mkfile("over.pin", buf, P11_PIN_MAX + 1, 0600), pin, &len, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "larger than 256 bytes"));
}

static void test_refused(void **state)
{
	static const struct {
		const char *content;
		size_t len;
		mode_t mode;
		const char *msg;
	} bad[] = {
		{ "1234\n", 5, 0644, "mode 0644 gives access to group or others; run chmod 600" },
		{ "1234\n", 5, 0640, "mode 0640" },
		{ "1234\n", 5, 0604, "mode 0604" },
		{ "1234\n", 5, 0620, "mode 0620" },
		{ "", 0, 0600, "empty" },
		{ "\n", 1, 0600, "empty" },
		{ "\r\n", 2, 0600, "empty" },
		{ "12\n34\n", 6, 0600, "more than one line" },
		{ "12\n\n", 4, 0600, "more than one line" },
		{ "12\0"
		  "34",
		  5, 0600, "NUL byte" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char pin[P11_PIN_MAX + 1], err[256] = "";
		size_t len = 99;
		const char *p = mkfile("bad.pin", bad[i].content, bad[i].len, bad[i].mode);

		if (readpin(p, pin, &len, err, sizeof(err)) == 0)
			fail_msg("case %zu accepted", i);
		if (strstr(err, bad[i].msg) == NULL || strstr(err, p) == NULL)
			fail_msg("case %zu: message '%s' lacks '%s' or the path", i, err, bad[i].msg);
		assert_int_equal(len, 0);
		/* The message never holds the file's content. */
		assert_null(strstr(err, "1234"));
	}
}

static void test_not_regular(void **state)
{
	char pin[P11_PIN_MAX + 1], err[256], path[128], link[128];
	size_t len;
	const char *p = mkfile("real.pin", "1234\n", 5, 0600);

	snprintf(path, sizeof(path), "%s", p);
	snprintf(link, sizeof(link), "%s/link.pin", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(readpin(link, pin, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "symbolic link"));
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(readpin(path, pin, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(readpin("/dev/null", pin, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	snprintf(path, sizeof(path), "%s/missing.pin", dir);
	assert_int_equal(readpin(path, pin, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(readpin("relative.pin", pin, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "absolute path"));
	/* A FIFO must not block the reader. */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(readpin(path, pin, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
}

static void test_owner(void **state)
{
	char pin[P11_PIN_MAX + 1], err[256];
	size_t len;
	const char *p;

	if (geteuid() != 0)
		skip();
	p = mkfile("other.pin", "1234\n", 5, 0600);
	assert_int_equal(chown(p, 4242, 4242), 0);
	assert_int_equal(readpin(p, pin, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "owned by uid 4242"));
	assert_non_null(strstr(err, "chown"));
}

static void test_small_buffer(void **state)
{
	char pin[8], err[256];
	size_t len;

	assert_int_equal(p11_pin_read(mkfile("s.pin", "1\n", 2, 0600), pin, sizeof(pin), &len, NULL, err,
				      sizeof(err)),
			 -1);
}

/* The identity handed back is the file that was read, not whatever the path names later. */
static void test_identity_of_the_file_read(void **state)
{
	char pin[P11_PIN_MAX + 1], err[256], moved[300];
	const char *p = mkfile("id.pin", "1234\n", 5, 0600);
	struct stat st, now;
	size_t len;

	assert_int_equal(p11_pin_read(p, pin, sizeof(pin), &len, &st, err, sizeof(err)), 0);
	assert_int_equal(stat(p, &now), 0);
	assert_true(st.st_ino == now.st_ino && st.st_dev == now.st_dev);
	/* replaced behind the reader's back: another identity */
	snprintf(moved, sizeof(moved), "%s.old", p);
	assert_int_equal(rename(p, moved), 0);
	p = mkfile("id.pin", "1234\n", 5, 0600);
	assert_int_equal(p11_pin_read(p, pin, sizeof(pin), &len, &now, err, sizeof(err)), 0);
	assert_false(st.st_ino == now.st_ino && st.st_dev == now.st_dev);
	unlink(moved);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),         cmocka_unit_test(test_identity_of_the_file_read),
		cmocka_unit_test(test_max),          cmocka_unit_test(test_refused),
		cmocka_unit_test(test_not_regular),  cmocka_unit_test(test_owner),
		cmocka_unit_test(test_small_buffer),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
