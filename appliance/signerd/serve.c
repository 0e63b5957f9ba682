/*
 * appliance/signerd/serve.c: front.sock and admin.sock (AF_UNIX SOCK_SEQPACKET)
 * and the threads that serve them. One dispatcher thread (the main one) waits
 * in epoll for new connections, readable connections and SIGTERM/SIGINT (a
 * signalfd); a readable connection (one-shot) goes to a bounded queue served by
 * signer.workers threads: one message received, decoded, answered, and the
 * connection re-armed. When the queue is beyond its bound the dispatcher
 * answers RETRY_LATER itself. No answer waits for its peer (MSG_DONTWAIT: a
 * peer that does not read is dropped) and the dispatcher writes nothing to
 * the store. Peers are checked with SO_PEERCRED at accept.
 * Anything malformed, an unknown verb or one the socket's role may not use
 * closes the connection.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "appliance/common/log.h"
#include "appliance/common/peercred.h"
#include "appliance/signerd/signerd_int.h"

#define NROLES 2
#define QUEUE_PER_WORKER 64

struct conn {
	int fd;
	struct signerd_peer peer;
	struct conn *qnext;       /* work queue */
	struct conn *prev, *next; /* every open connection */
};

struct signerd_server {
	struct signerd *sd;
	int lfd[NROLES];
	char path[NROLES][sizeof(((struct sockaddr_un *)0)->sun_path)];
	int epfd, sigfd;
	pthread_t *workers;
	unsigned nworkers, started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct conn *qhead, *qtail;
	unsigned qlen, qmax;
	struct conn *all;
	unsigned nconns, maxconns;
	int stopping;
	unsigned char *dbuf; /* the dispatcher's receive buffer (RETRY_LATER) */
	time_t sat_logged;   /* saturation: last log line, and answers since */
	unsigned long sat_count;
};

static const char *const role_names[NROLES] = { "front", "admin" };
static const char *const sock_names[NROLES] = { "front.sock", "admin.sock" };

/* ---- sockets ---------------------------------------------------------- */

static int make_dir(const char *dir, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	uid_t owner, want = uid != (uid_t)-1 ? uid : geteuid();

	if (mkdir(dir, 0750) == 0) {
		if (chmod(dir, 0750) != 0 ||
		    ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(dir, uid, gid) != 0)) {
			snprintf(err, errlen, "sockets.dir %s: %s", dir, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno != EEXIST) {
		snprintf(err, errlen, "sockets.dir %s: cannot create it (%s)", dir, strerror(errno));
		return -1;
	}
	/* clients take the directory's owner for the signer's uid (SO_PEERCRED): it must
	 * be ours, and nobody else may put a socket of their own in it */
	if (capf_sockdir_check(dir, &owner, err, errlen) != 0)
		return -1;
	if (owner != want) {
		snprintf(err, errlen,
			 "sockets.dir %s is owned by uid %u, not by uid %u that capf-signerd "
			 "runs as: chown it (or remove it: capf-signerd creates it 0750)",
			 dir, (unsigned)owner, (unsigned)want);
		return -1;
	}
	return 0;
}

static int make_socket(const char *path, mode_t mode, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: path too long for a socket (at most %zu bytes)", path,
			 sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			return -1;
		}
		/* A live daemon answers; a stale socket does not. */
		if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) >= 0) {
			int live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

			close(fd);
			if (live) {
				snprintf(err, errlen, "%s: another capf-signerd is listening there", path);
				return -1;
			}
		}
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (chmod(path, mode) != 0 || ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) != 0) ||
	    listen(fd, 128) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

struct signerd_server *signerd_server_new(struct signerd *sd, const struct signerd_serve_opts *o, char *err,
					  size_t errlen)
{
	struct signerd_server *srv = calloc(1, sizeof(*srv));
	gid_t gids[NROLES] = { o->front_gid, o->admin_gid };
	/* admin.sock: group access only when a group was named for it. */
	mode_t modes[NROLES] = { 0660, o->admin_gid != (gid_t)-1 ? 0660 : 0600 };

	if (srv == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->sd = sd;
	srv->epfd = srv->sigfd = -1;
	srv->lfd[0] = srv->lfd[1] = -1;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->cond, NULL);
	if (make_dir(sd->conf.sockets.dir, o->sock_uid, o->front_gid, err, errlen) != 0)
		goto fail;
	for (int r = 0; r < NROLES; r++) {
		if (snprintf(srv->path[r], sizeof(srv->path[r]), "%s/%s", sd->conf.sockets.dir,
			     sock_names[r]) >= (int)sizeof(srv->path[r])) {
			snprintf(err, errlen, "sockets.dir %s: too long for a socket path",
				 sd->conf.sockets.dir);
			goto fail;
		}
		if ((srv->lfd[r] = make_socket(srv->path[r], modes[r], o->sock_uid, gids[r], err, errlen)) < 0)
			goto fail;
	}
	return srv;
fail:
	signerd_server_free(srv);
	return NULL;
}

/* ---- connections ------------------------------------------------------ */

/* Only by the one thread that owns c (its request finished, or it never was queued). */
static void conn_close(struct signerd_server *srv, struct conn *c)
{
	/* what the connection staged (admin bulk changes) goes with it */
	signerd_conn_closed(srv->sd, &c->peer);
	pthread_mutex_lock(&srv->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->all = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	pthread_mutex_unlock(&srv->lock);
	close(c->fd);
	free(c);
}

static int conn_rearm(struct signerd_server *srv, struct conn *c)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.ptr = c };

	return epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void do_accept(struct signerd_server *srv, int role)
{
	struct signerd *sd = srv->sd;

	for (;;) {
		struct ucred cr;
		socklen_t crl = sizeof(cr);
		struct conn *c;
		struct epoll_event ev;
		int fd = accept4(srv->lfd[role], NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				capf_log(LOG_ERR, "accept_failed", "role=%s error=%s", role_names[role],
					 strerror(errno));
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crl) != 0 || crl != sizeof(cr)) {
			capf_log(LOG_ERR, "peer_unknown", "role=%s error=%s", role_names[role],
				 strerror(errno));
			close(fd);
			continue;
		}
		if (!capf_conf_peer_allowed(&sd->conf, (enum capf_role)role, cr.uid, cr.gid)) {
			SIGNERD_STAT_INC(sd, peers_refused);
			capf_log(LOG_WARNING, "peer_refused", "uid=%u gid=%u pid=%ld role=%s", (unsigned)cr.uid,
				 (unsigned)cr.gid, (long)cr.pid, role_names[role]);
			close(fd);
			continue;
		}
		pthread_mutex_lock(&srv->lock);
		if (srv->nconns >= srv->maxconns) {
			pthread_mutex_unlock(&srv->lock);
			capf_log(LOG_WARNING, "too_many_connections", "uid=%u pid=%ld role=%s max=%u",
				 (unsigned)cr.uid, (long)cr.pid, role_names[role], srv->maxconns);
			close(fd);
			continue;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			pthread_mutex_unlock(&srv->lock);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->peer.uid = cr.uid;
		c->peer.gid = cr.gid;
		c->peer.pid = cr.pid;
		c->peer.role = (enum capf_role)role;
		c->peer.conn_id = atomic_fetch_add(&signerd_core(sd)->conn_seq, 1) + 1;
		c->next = srv->all;
		if (srv->all != NULL)
			srv->all->prev = c;
		srv->all = c;
		srv->nconns++;
		pthread_mutex_unlock(&srv->lock);
		/* Send timeout: a peer that does not read its answers is dropped. */
		{
			struct timeval tv = { 5, 0 };

			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		}
		SIGNERD_STAT_INC(sd, connections);
		capf_log(LOG_DEBUG, "connected", "uid=%u gid=%u pid=%ld role=%s conn=%llu", (unsigned)cr.uid,
			 (unsigned)cr.gid, (long)cr.pid, role_names[role], (unsigned long long)c->peer.conn_id);
		ev.events = EPOLLIN | EPOLLONESHOT;
		ev.data.ptr = c;
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
			conn_close(srv, c);
	}
}

/*
 * Receives one message on c and answers it. busy_answer: answer RETRY_LATER
 * without serving (the queue is full). Returns 0 to keep the connection, -1 to
 * close it.
 */
static int serve_one(struct signerd_server *srv, struct conn *c, unsigned char *buf, int busy_answer)
{
	struct signerd *sd = srv->sd;
	struct capf_ipc_msg req;
	struct capf_ipc_builder resp;
	const uint8_t *out;
	size_t outlen;
	char err[256], q[300];
	unsigned roles = c->peer.role == CAPF_ROLE_ADMIN ? CAPF_IPC_ROLE_ADMIN : CAPF_IPC_ROLE_FRONT;
	ssize_t n;
	int rc, keep = -1;

	n = recv(c->fd, buf, CAPF_IPC_MSG_MAX, MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n <= 0) {
		capf_log(LOG_DEBUG, "disconnected", "conn=%llu pid=%ld", (unsigned long long)c->peer.conn_id,
			 (long)c->peer.pid);
		return -1;
	}
	SIGNERD_STAT_INC(sd, requests);
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	if ((size_t)n > CAPF_IPC_MSG_MAX) {
		SIGNERD_STAT_INC(sd, protocol_errors);
		capf_log(LOG_WARNING, "protocol_error", "uid=%u pid=%ld role=%s error=too_big len=%zd",
			 (unsigned)c->peer.uid, (long)c->peer.pid, role_names[c->peer.role], n);
		goto out;
	}
	rc = capf_ipc_decode_request(&req, buf, (size_t)n, roles, err, sizeof(err));
	if (rc != 0) {
		SIGNERD_STAT_INC(sd, protocol_errors);
		capf_log(LOG_WARNING, "protocol_error", "uid=%u pid=%ld role=%s error=%s detail=%s",
			 (unsigned)c->peer.uid, (long)c->peer.pid, role_names[c->peer.role],
			 capf_ipc_err_name(rc), capf_log_quote(q, sizeof(q), err));
		goto out;
	}
	if (busy_answer)
		rc = signerd_reply(sd, &resp, &req, CAPF_IPC_RETRY_LATER, 0, "the signer is saturated");
	else
		rc = signerd_dispatch(sd, &c->peer, &req, &resp);
	if (rc != 0) {
		capf_log(LOG_WARNING, "request_dropped", "uid=%u pid=%ld role=%s verb=%s",
			 (unsigned)c->peer.uid, (long)c->peer.pid, role_names[c->peer.role],
			 capf_ipc_verb_name(req.verb));
		goto out;
	}
	if (capf_ipc_build_finish(&resp, &out, &outlen, err, sizeof(err)) != 0) {
		capf_log(LOG_ERR, "response_invalid", "verb=%s error=%s", capf_ipc_verb_name(req.verb),
			 capf_log_quote(q, sizeof(q), err));
		capf_ipc_builder_free(&resp);
		memset(&resp, 0, sizeof(resp));
		if (signerd_reply(sd, &resp, &req, CAPF_IPC_ERROR, 0, "internal error building the response") !=
			    0 ||
		    capf_ipc_build_finish(&resp, &out, &outlen, err, sizeof(err)) != 0)
			goto out;
	}
	/* Never waits: a peer that does not read its answers (its receive queue is
	 * full) is dropped, it does not hold a worker or the dispatcher. */
	if (send(c->fd, out, outlen, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)outlen) {
		int e = errno;

		capf_log(LOG_WARNING, e == EAGAIN || e == EWOULDBLOCK ? "peer_not_reading" : "send_failed",
			 "uid=%u pid=%ld verb=%s error=%s", (unsigned)c->peer.uid, (long)c->peer.pid,
			 capf_ipc_verb_name(req.verb), strerror(e));
		goto out;
	}
	keep = 0;
out:
	capf_ipc_builder_free(&resp);
	capf_ipc_msg_free(&req);
	/* The request may have carried an authentication string. */
	OPENSSL_cleanse(buf, n > 0 && (size_t)n < CAPF_IPC_MSG_MAX ? (size_t)n : CAPF_IPC_MSG_MAX);
	return keep;
}

static void *worker_main(void *arg)
{
	struct signerd_server *srv = arg;
	unsigned char *buf = malloc(CAPF_IPC_MSG_MAX);

	if (buf == NULL) {
		capf_log(LOG_CRIT, "worker_failed", "error=out_of_memory");
		return NULL;
	}
	for (;;) {
		struct conn *c;
		int stopping;

		pthread_mutex_lock(&srv->lock);
		while (srv->qhead == NULL && !srv->stopping)
			pthread_cond_wait(&srv->cond, &srv->lock);
		if ((c = srv->qhead) == NULL) { /* stopping and drained */
			pthread_mutex_unlock(&srv->lock);
			break;
		}
		srv->qhead = c->qnext;
		if (srv->qhead == NULL)
			srv->qtail = NULL;
		srv->qlen--;
		pthread_mutex_unlock(&srv->lock);

		if (serve_one(srv, c, buf, 0) != 0) {
			conn_close(srv, c);
			continue;
		}
		pthread_mutex_lock(&srv->lock);
		stopping = srv->stopping;
		pthread_mutex_unlock(&srv->lock);
		if (!stopping && conn_rearm(srv, c) != 0)
			conn_close(srv, c);
		/* when stopping, idle connections are closed by signerd_server_run */
	}
	OPENSSL_clear_free(buf, CAPF_IPC_MSG_MAX);
	return NULL;
}

int signerd_server_start(struct signerd_server *srv, char *err, size_t errlen)
{
	struct signerd *sd = srv->sd;
	struct epoll_event ev;
	sigset_t set;

	srv->nworkers = sd->conf.signer.workers ? sd->conf.signer.workers : 1;
	srv->qmax = srv->nworkers * QUEUE_PER_WORKER;
	srv->maxconns = sd->conf.front.max_connections + 64;
	if (srv->maxconns > 65536)
		srv->maxconns = 65536;
	if ((srv->dbuf = malloc(CAPF_IPC_MSG_MAX)) == NULL ||
	    (srv->workers = calloc(srv->nworkers, sizeof(pthread_t))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* SIGTERM/SIGINT through a signalfd; blocked in every thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
	    (srv->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
	    (srv->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		snprintf(err, errlen, "signalfd/epoll: %s", strerror(errno));
		return -1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &srv->sigfd;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->sigfd, &ev) != 0) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	for (int r = 0; r < NROLES; r++) {
		ev.events = EPOLLIN;
		ev.data.ptr = &srv->lfd[r];
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->lfd[r], &ev) != 0) {
			snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
			return -1;
		}
	}
	for (unsigned i = 0; i < srv->nworkers; i++) {
		int e = pthread_create(&srv->workers[i], NULL, worker_main, srv);

		if (e != 0) {
			snprintf(err, errlen, "pthread_create: %s", strerror(e));
			return -1;
		}
		srv->started++;
	}
	return 0;
}

static void enqueue(struct signerd_server *srv, struct conn *c)
{
	pthread_mutex_lock(&srv->lock);
	if (srv->qlen >= srv->qmax) {
		pthread_mutex_unlock(&srv->lock);
		/* Saturated: answer RETRY_LATER here, without queueing; one log
		 * line per second at most. */
		srv->sat_count++;
		if (time(NULL) != srv->sat_logged) {
			srv->sat_logged = time(NULL);
			capf_log(LOG_WARNING, "saturated", "queued=%u answered_retry_later=%lu", srv->qmax,
				 srv->sat_count);
			srv->sat_count = 0;
		}
		if (serve_one(srv, c, srv->dbuf, 1) != 0 || conn_rearm(srv, c) != 0)
			conn_close(srv, c);
		return;
	}
	c->qnext = NULL;
	if (srv->qtail != NULL)
		srv->qtail->qnext = c;
	else
		srv->qhead = c;
	srv->qtail = c;
	srv->qlen++;
	pthread_cond_signal(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
}

int signerd_server_run(struct signerd_server *srv)
{
	struct epoll_event evs[64];
	int stop = 0;

	while (!stop) {
		int n = epoll_wait(srv->epfd, evs, 64, 1000);

		if (n < 0 && errno != EINTR) {
			capf_log(LOG_CRIT, "epoll_failed", "error=%s", strerror(errno));
			stop = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &srv->sigfd) {
				struct signalfd_siginfo si;

				while (read(srv->sigfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
						capf_log(LOG_NOTICE, "stopping", "signal=%s",
							 si.ssi_signo == SIGTERM ? "TERM" : "INT");
						stop = 1;
					}
				}
			} else if (p == &srv->lfd[0] || p == &srv->lfd[1]) {
				do_accept(srv, p == &srv->lfd[0] ? 0 : 1);
			} else {
				enqueue(srv, p);
			}
		}
		/* expired sessions and due audit checkpoints: front.c's sweeper
		 * thread (a store write or a signature never waits in this thread) */
	}
	/* Stop accepting; finish what was received; close the rest. */
	for (int r = 0; r < NROLES; r++) {
		if (srv->lfd[r] >= 0) {
			close(srv->lfd[r]);
			srv->lfd[r] = -1;
			unlink(srv->path[r]);
		}
	}
	pthread_mutex_lock(&srv->lock);
	srv->stopping = 1;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
	for (unsigned i = 0; i < srv->started; i++)
		pthread_join(srv->workers[i], NULL);
	srv->started = 0;
	while (srv->all != NULL)
		conn_close(srv, srv->all);
	return 0;
}

void signerd_server_free(struct signerd_server *srv)
{
	if (srv == NULL)
		return;
	if (srv->started) {
		pthread_mutex_lock(&srv->lock);
		srv->stopping = 1;
		pthread_cond_broadcast(&srv->cond);
		pthread_mutex_unlock(&srv->lock);
		for (unsigned i = 0; i < srv->started; i++)
			pthread_join(srv->workers[i], NULL);
	}
	while (srv->all != NULL)
		conn_close(srv, srv->all);
	for (int r = 0; r < NROLES; r++) {
		if (srv->lfd[r] >= 0) {
			close(srv->lfd[r]);
			unlink(srv->path[r]);
		}
	}
	if (srv->epfd >= 0)
		close(srv->epfd);
	if (srv->sigfd >= 0)
		close(srv->sigfd);
	free(srv->workers);
	free(srv->dbuf);
	pthread_mutex_destroy(&srv->lock);
	pthread_cond_destroy(&srv->cond);
	free(srv);
}
