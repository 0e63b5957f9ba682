/* appliance/common/sdnotify.c: see sdnotify.h. The protocol is sd_notify(3):
 * one AF_UNIX datagram of "KEY=VALUE" lines to $NOTIFY_SOCKET; a leading '@'
 * names an abstract socket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "appliance/common/sdnotify.h"

static char notify_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static int journal_stderr;

void capf_sd_capture(void)
{
	const char *ns = getenv("NOTIFY_SOCKET"), *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	notify_path[0] = '\0';
	if (ns != NULL && (ns[0] == '/' || ns[0] == '@') && ns[1] != '\0' && strlen(ns) < sizeof(notify_path))
		memcpy(notify_path, ns, strlen(ns) + 1);
	if (ns != NULL) {
		/* unsetenv() drops the pointer only: /proc/PID/environ would
		 * still show the original string, so wipe it too. */
		char *entry = (char *)ns - strlen("NOTIFY_SOCKET=");

		unsetenv("NOTIFY_SOCKET");
		explicit_bzero(entry, strlen(entry));
	}
	journal_stderr = js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
			 fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev == dev &&
			 (unsigned long long)st.st_ino == ino;
}

int capf_sd_notify(const char *state, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	socklen_t sl;
	size_t n = strlen(notify_path);
	ssize_t w;
	int fd;

	if (n == 0)
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, notify_path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "NOTIFY_SOCKET %s: socket: %s", notify_path, strerror(errno));
		return -1;
	}
	w = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, sl);
	if (w < 0)
		snprintf(err, errlen, "NOTIFY_SOCKET %s: %s", notify_path, strerror(errno));
	close(fd);
	return w < 0 ? -1 : 1;
}

int capf_sd_stderr_is_journal(void)
{
	return journal_stderr;
}
