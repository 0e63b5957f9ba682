/* tests/unit/test_sdnotify.c: the sd_notify datagram and journal-aware logging
 * (appliance/common/sdnotify.c, log.c), against real AF_UNIX sockets and files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "appliance/common/log.h"
#include "appliance/common/sdnotify.h"

/* A datagram socket bound to NAME ("/path" or "@abstract"); returns the fd. */
static int bound(const char *name)
{
	struct sockaddr_un sa;
	size_t n = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	assert_int_equal(bind(fd, (struct sockaddr *)&sa,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)),
			 0);
	return fd;
}

static void expect_datagram(int fd, const char *want)
{
	char buf[128];
	ssize_t r = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	assert_true(r >= 0);
	buf[r] = '\0';
	assert_string_equal(buf, want);
}

static void test_no_socket_is_noop(void **state)
{
	char err[128] = "";

	unsetenv("NOTIFY_SOCKET");
	capf_sd_capture();
	assert_int_equal(capf_sd_notify("READY=1", err, sizeof(err)), 0);
	assert_string_equal(err, "");
}

static void test_path_socket(void **state)
{
	char path[64], err[128] = "", *entry;
	int fd;

	snprintf(path, sizeof(path), "/tmp/test_sdnotify.%ld.sock", (long)getpid());
	unlink(path);
	fd = bound(path);
	setenv("NOTIFY_SOCKET", path, 1);
	entry = getenv("NOTIFY_SOCKET") - strlen("NOTIFY_SOCKET=");
	capf_sd_capture();
	assert_null(getenv("NOTIFY_SOCKET")); /* children never inherit it */
	assert_int_equal(entry[0], '\0');     /* nor does /proc/PID/environ show it */
	assert_int_equal(capf_sd_notify("READY=1", err, sizeof(err)), 1);
	expect_datagram(fd, "READY=1");
	assert_int_equal(capf_sd_notify("STOPPING=1", err, sizeof(err)), 1);
	expect_datagram(fd, "STOPPING=1");
	close(fd);
	unlink(path);
	/* the listener gone: an error with the socket's name, not a crash */
	assert_int_equal(capf_sd_notify("READY=1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
}

static void test_abstract_socket(void **state)
{
	char name[64], err[128] = "";
	int fd;

	snprintf(name, sizeof(name), "@test_sdnotify.%ld", (long)getpid());
	fd = bound(name);
	setenv("NOTIFY_SOCKET", name, 1);
	capf_sd_capture();
	assert_int_equal(capf_sd_notify("READY=1", err, sizeof(err)), 1);
	expect_datagram(fd, "READY=1");
	close(fd);
}

static void test_bad_values_ignored(void **state)
{
	static const char *const bad[] = {
		"relative/notify", "@", "",
		"/x/"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	};
	char err[128] = "";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("NOTIFY_SOCKET", bad[i], 1);
		capf_sd_capture();
		assert_null(getenv("NOTIFY_SOCKET"));
		assert_int_equal(capf_sd_notify("READY=1", err, sizeof(err)), 0);
	}
}

/* Logs one line with stderr redirected to a file and JOURNAL_STREAM set to
 * the file's own device:inode (match) or another inode; returns the line. */
static void log_line(int match, char *out, size_t outlen)
{
	char path[64], js[64];
	struct stat st;
	int fd, saved = dup(STDERR_FILENO);
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/test_sdnotify.%ld.log", (long)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + (match ? 0 : 1));
	setenv("JOURNAL_STREAM", js, 1);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	close(fd);
	capf_sd_capture();
	capf_log_open("test", 1, 0);
	capf_log(LOG_NOTICE, "started", "a=%d", 1);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	unsetenv("JOURNAL_STREAM");
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(out, (int)outlen, f));
	fclose(f);
	unlink(path);
}

static void test_log_journal(void **state)
{
	char line[256];

	log_line(1, line, sizeof(line));
	assert_string_equal(line, "<5>level=notice event=started a=1\n");
	assert_int_equal(capf_sd_stderr_is_journal(), 1);
}

static void test_log_not_journal(void **state)
{
	char line[256];

	log_line(0, line, sizeof(line));
	assert_int_equal(capf_sd_stderr_is_journal(), 0);
	/* 2026-12-05T04:27:05.123Z test[PID] level=notice event=started a=1 */
	assert_true(line[0] >= '0' && line[0] <= '9' && line[4] == '-' && line[10] == 'T');
	assert_non_null(strstr(line, "Z test["));
	assert_non_null(strstr(line, "] level=notice event=started a=1\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_socket_is_noop), cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_abstract_socket),   cmocka_unit_test(test_bad_values_ignored),
		cmocka_unit_test(test_log_journal),       cmocka_unit_test(test_log_not_journal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
