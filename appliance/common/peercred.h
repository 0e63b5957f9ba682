/*
 * appliance/common/peercred.h: who serves a local socket. The signer's sockets
 * live in sockets.dir, a directory the signer's user owns and nobody else may
 * write; so the directory's owner is the uid that must answer on front.sock and
 * admin.sock. A client checks both before it sends anything, which detects a
 * socket put in place by another user (a compromised front end, say).
 *
 *   capf_sockdir_check    dir is a real directory (no symlink), group and others
 *                         cannot write it; its owner
 *   capf_peer_uid_is      the connected AF_UNIX socket's server (SO_PEERCRED) is uid,
 *                         or root (a signer started as root listens before it drops
 *                         to its user; SO_PEERCRED reports the uid of listen())
 *   capf_sock_server_check  both, for a connected socket and its path
 *
 * All return 0, or -1 with a message in err (what was found, what to do).
 */
#ifndef CAPF_COMMON_PEERCRED_H
#define CAPF_COMMON_PEERCRED_H

#include <stddef.h>
#include <sys/types.h>

int capf_sockdir_check(const char *dir, uid_t *owner, char *err, size_t errlen);
int capf_peer_uid_is(int fd, uid_t want, char *err, size_t errlen);
/* The server of fd (connected to sock_path) is the owner of sock_path's directory,
 * which passes capf_sockdir_check. */
int capf_sock_server_check(int fd, const char *sock_path, char *err, size_t errlen);

#endif
