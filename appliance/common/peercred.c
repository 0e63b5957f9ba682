/*
 * appliance/common/peercred.c: the sockets directory's owner and the server's
 * credentials (see peercred.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "appliance/common/peercred.h"

int capf_sockdir_check(const char *dir, uid_t *owner, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(dir, &st) != 0) {
		snprintf(err, errlen, "sockets directory %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "sockets directory %s is not a directory%s", dir,
			 S_ISLNK(st.st_mode) ? " (a symbolic link: name the directory itself)" : "");
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen,
			 "sockets directory %s is writable by %s (mode %04o): anyone "
			 "there could put their own socket in place; chmod 0750 it",
			 dir, st.st_mode & S_IWOTH ? "others" : "its group", (unsigned)(st.st_mode & 07777));
		return -1;
	}
	*owner = st.st_uid;
	return 0;
}

int capf_peer_uid_is(int fd, uid_t want, char *err, size_t errlen)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || len != sizeof(cr)) {
		snprintf(err, errlen, "cannot read the server's credentials (SO_PEERCRED): %s",
			 strerror(errno));
		return -1;
	}
	/* root too: a signer started as root listens before it drops to --user, and
	 * SO_PEERCRED gives the credentials of listen() */
	if (cr.uid != want && cr.uid != 0) {
		snprintf(err, errlen,
			 "the server is uid %u (pid %d), not uid %u that owns the sockets "
			 "directory (nor root): someone else's socket is in place",
			 (unsigned)cr.uid, (int)cr.pid, (unsigned)want);
		return -1;
	}
	return 0;
}

int capf_sock_server_check(int fd, const char *sock_path, char *err, size_t errlen)
{
	char dir[4096];
	const char *slash = strrchr(sock_path, '/');
	uid_t owner;
	size_t n;

	if (slash == NULL) {
		snprintf(dir, sizeof(dir), ".");
	} else {
		n = slash == sock_path ? 1 : (size_t)(slash - sock_path);
		if (n >= sizeof(dir)) {
			snprintf(err, errlen, "%s: path too long", sock_path);
			return -1;
		}
		memcpy(dir, sock_path, n);
		dir[n] = '\0';
	}
	if (capf_sockdir_check(dir, &owner, err, errlen) != 0)
		return -1;
	return capf_peer_uid_is(fd, owner, err, errlen);
}
