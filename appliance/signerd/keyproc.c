/*
 * appliance/signerd/keyproc.c: capf-signerd's side of its key process.
 *
 * At start-up (as the service user, before the store is opened or anything is
 * accepted) capf-signerd forks a supervisor. The supervisor closes everything
 * but its two links to the signer and runs capf-keyd (appliance/keyd/) with N
 * fresh socketpair channels, handing the signer's ends over (SCM_RIGHTS); when
 * capf-keyd dies it runs a new one (100 ms, doubling to 5 s while it keeps
 * dying at once) and hands over the new channels. On request it also runs a
 * one-shot `capf-keyd --keygen` for key generation. It exits when the signer
 * goes away. The signer itself never loads the token's module or capfhsm, and
 * after start-up cannot fork or exec (its allow-list, harden.c).
 *
 * Here, the watcher thread receives each set of channels, loads the keys the
 * signer had loaded again (the registry of KEY_LOAD requests), checks them and
 * publishes the set. A request takes a channel of the published set; when its
 * key process dies, every request in flight fails with KP_DOWN (the callers
 * answer RETRY_LATER) and the set is dropped until the next one arrives.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "appliance/common/log.h"
#include "appliance/common/sdnotify.h"
#include "appliance/keyd/keyd.h"
#include "appliance/signerd/keyproc.h"
#include "appliance/signerd/signerd_int.h"

#define CALL_TIMEOUT_MS 60000 /* one token operation (an HSM may be slow, never this slow) */
#define WAIT_SET_MS 2000      /* a request waits this long for a key process */
#define REG_MAX CAPF_KEYD_SLOTS_MAX

struct kp_chan {
	pthread_mutex_t mu;
	int fd;
};

struct kp_set {
	atomic_uint refs;
	unsigned n;
	uint64_t gen;
	struct kp_chan ch[CAPF_KEYD_CHANNELS_MAX];
};

struct kp_reg {
	int used;
	uint32_t slot;
	uint8_t *msg; /* the KEY_LOAD request as first sent */
	size_t len;
};

struct signerd_keyproc {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct kp_set *cur; /* published; NULL while none */
	uint64_t generations;
	int sign_fd, gen_fd;
	pid_t sup;
	pthread_t watcher;
	int watcher_started;
	pthread_mutex_t gen_mu; /* one keygen request to the supervisor at a time */
	struct kp_reg reg[REG_MAX];
	atomic_uint next_id, rr, next_slot;
	atomic_ulong calls_down, restarts;
	unsigned nch;
};

static struct signerd_keyproc *kp_of(struct signerd *sd)
{
	return signerd_core(sd)->keyproc;
}

/* ---- the supervisor (a forked child of the signer) ---------------------------- */

static void sup_log(const char *event, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sup_log(const char *event, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	capf_log(LOG_WARNING, event, "%s", buf);
}

static int send_fds(int sock, char tag, const int *fds, unsigned n)
{
	char cbuf[CMSG_SPACE(sizeof(int) * CAPF_KEYD_CHANNELS_MAX)];
	struct iovec iov = { &tag, 1 };
	struct msghdr mh;
	struct cmsghdr *c;

	memset(&mh, 0, sizeof(mh));
	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (n > 0) {
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* Receives a tag and up to max descriptors: the count, 0 for none, -1 on EOF/error. */
static int recv_fds(int sock, char *tag, int *fds, unsigned max)
{
	char cbuf[CMSG_SPACE(sizeof(int) * CAPF_KEYD_CHANNELS_MAX)];
	struct iovec iov = { tag, 1 };
	struct msghdr mh;
	struct cmsghdr *c;
	ssize_t r;
	int n = 0;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	do
		r = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (k > CAPF_KEYD_CHANNELS_MAX) /* never more than the buffer holds */
			k = CAPF_KEYD_CHANNELS_MAX;
		int got[CAPF_KEYD_CHANNELS_MAX];

		memcpy(got, CMSG_DATA(c), k * sizeof(int));
		for (size_t i = 0; i < k; i++) {
			if ((unsigned)n < max)
				fds[n++] = got[i];
			else
				close(got[i]);
		}
	}
	return n;
}

/* Runs capf-keyd with n channels; hands the signer's ends to `to` with tag.
 * Returns its pid, or -1. */
static pid_t spawn(char *const *argv, unsigned n, int to, char tag)
{
	int mine[CAPF_KEYD_CHANNELS_MAX], theirs[CAPF_KEYD_CHANNELS_MAX];
	unsigned made = 0;
	pid_t pid = -1;

	for (; made < n; made++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
			goto out;
		mine[made] = sv[0];
		theirs[made] = sv[1];
	}
	if ((pid = fork()) < 0)
		goto out;
	if (pid == 0) {
		int high[CAPF_KEYD_CHANNELS_MAX];

		/* out of the way of 3.., then into place (dup2 clears close-on-exec) */
		for (unsigned i = 0; i < n; i++)
			if ((high[i] = fcntl(theirs[i], F_DUPFD_CLOEXEC, 200)) < 0)
				_exit(127);
		for (unsigned i = 0; i < n; i++)
			if (dup2(high[i], CAPF_KEYD_FD_FIRST + (int)i) < 0)
				_exit(127);
		execv(argv[0], argv);
		fprintf(stderr, "capf-signerd: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (send_fds(to, tag, mine, n) != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
out:
	for (unsigned i = 0; i < made; i++) {
		close(mine[i]);
		close(theirs[i]);
	}
	return pid;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static __attribute__((noreturn)) void supervise(int sign_fd, int gen_fd, char *const *argv,
						char *const *argv_gen, unsigned nch)
{
	struct rlimit r;
	sigset_t none;
	pid_t kid = 0;
	long long next = 0, started = 0;
	unsigned backoff = 100;

	prctl(PR_SET_NAME, "capf-keyd-sup");
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* capf-keyd logs the way the signer does: stderr is the journal's stream */
	if (capf_sd_stderr_is_journal()) {
		struct stat st;
		char js[64];

		if (fstat(2, &st) == 0) {
			snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
				 (unsigned long long)st.st_ino);
			setenv("JOURNAL_STREAM", js, 1);
		}
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* nothing of the signer's but the two links */
	if (getrlimit(RLIMIT_NOFILE, &r) == 0)
		for (int fd = 3; fd < (int)(r.rlim_cur > 65536 ? 65536 : r.rlim_cur); fd++)
			if (fd != sign_fd && fd != gen_fd)
				(void)close(fd);
	for (;;) {
		struct pollfd p = { gen_fd, POLLIN, 0 };
		long long t = now_ms();
		int st;
		pid_t dead;

		if (kid == 0 && t >= next) {
			started = t;
			if ((kid = spawn(argv, nch, sign_fd, 'K')) < 0) {
				kid = 0;
				if (errno == EPIPE || errno == ECONNRESET)
					_exit(0); /* the signer is gone */
				next = t + 1000;
			}
		}
		if (poll(&p, 1, 100) > 0) {
			char c = 0;
			ssize_t n = recv(gen_fd, &c, 1, 0);

			if (n <= 0) {
				if (kid > 0) {
					kill(kid, SIGTERM);
					waitpid(kid, NULL, 0);
				}
				_exit(0);
			}
			if (c == 'G' && spawn(argv_gen, 1, gen_fd, 'G') < 0)
				(void)send_fds(gen_fd, 'E', NULL, 0);
		}
		while ((dead = waitpid(-1, &st, WNOHANG)) > 0) {
			if (dead != kid)
				continue; /* a keygen run ended */
			t = now_ms();
			if (WIFSIGNALED(st))
				sup_log("key_process_died", "pid=%ld signal=%d%s lived_ms=%lld", (long)dead,
					WTERMSIG(st), WTERMSIG(st) == SIGSYS ? " (seccomp violation)" : "",
					t - started);
			else
				sup_log("key_process_died", "pid=%ld status=%d lived_ms=%lld", (long)dead,
					WEXITSTATUS(st), t - started);
			backoff = t - started < 2000 ? (backoff * 2 > 5000 ? 5000 : backoff * 2) : 100;
			next = t + backoff;
			kid = 0;
		}
	}
}

/* ---- the signer's side ---------------------------------------------------------- */

static void set_put(struct kp_set *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	for (unsigned i = 0; i < s->n; i++) {
		close(s->ch[i].fd);
		pthread_mutex_destroy(&s->ch[i].mu);
	}
	free(s);
}

/* The set a request uses (a reference), waiting a while for one. */
static struct kp_set *set_get(struct signerd_keyproc *kp, unsigned wait_ms)
{
	struct kp_set *s;
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += wait_ms / 1000;
	dl.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&kp->mu);
	while (kp->cur == NULL && pthread_cond_timedwait(&kp->cv, &kp->mu, &dl) == 0)
		;
	if ((s = kp->cur) != NULL)
		atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&kp->mu);
	return s;
}

/* The key process behind s died: s is no longer handed out. */
static void set_lost(struct signerd_keyproc *kp, struct kp_set *s, const char *why)
{
	int was = 0;

	pthread_mutex_lock(&kp->mu);
	if (kp->cur == s) {
		kp->cur = NULL;
		was = 1;
	}
	pthread_mutex_unlock(&kp->mu);
	if (was) {
		capf_log(LOG_ERR, "key_process_lost",
			 "generation=%llu why=\"%s\" action=\"requests answer "
			 "RETRY_LATER until the supervisor's next key process is ready\"",
			 (unsigned long long)s->gen, why);
		set_put(s); /* the published reference */
	}
}

/* One request on fd, its answer decoded into resp (its bytes in rbuf). */
static int fd_call(int fd, const uint8_t *msg, size_t len, uint16_t verb, uint32_t id, uint8_t *rbuf,
		   struct capf_ipc_msg *resp, char *err, size_t errlen)
{
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t n = -1;
	int rc;

	if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
		snprintf(err, errlen, "the key process is gone (send: %s)", strerror(errno));
		return KP_DOWN;
	}
	do
		rc = poll(&p, 1, CALL_TIMEOUT_MS);
	while (rc < 0 && errno == EINTR);
	if (rc == 0) {
		snprintf(err, errlen, "the key process did not answer within %d s", CALL_TIMEOUT_MS / 1000);
		return KP_DOWN;
	}
	if (rc == 1)
		n = recv(fd, rbuf, CAPF_IPC_MSG_MAX, MSG_TRUNC);
	if (n <= 0 || (size_t)n > CAPF_IPC_MSG_MAX) {
		snprintf(err, errlen, "the key process is gone");
		return KP_DOWN;
	}
	if (capf_ipc_decode_response(resp, rbuf, (size_t)n, verb, id, err, errlen) != 0)
		return -1;
	return 0;
}

static int chan_call(struct kp_set *s, unsigned i, const uint8_t *msg, size_t len, uint16_t verb, uint32_t id,
		     uint8_t *rbuf, struct capf_ipc_msg *resp, char *err, size_t errlen)
{
	int rc;

	pthread_mutex_lock(&s->ch[i].mu);
	rc = fd_call(s->ch[i].fd, msg, len, verb, id, rbuf, resp, err, errlen);
	pthread_mutex_unlock(&s->ch[i].mu);
	return rc;
}

static uint32_t msg_id(const uint8_t *msg)
{
	return (uint32_t)msg[4] << 24 | (uint32_t)msg[5] << 16 | (uint32_t)msg[6] << 8 | msg[7];
}

int signerd_key_call_fd(int fd, struct capf_ipc_builder *b, uint16_t verb, uint8_t *rbuf,
			struct capf_ipc_msg *resp, char *err, size_t errlen)
{
	const uint8_t *msg;
	size_t len;

	memset(resp, 0, sizeof(*resp));
	if (capf_ipc_build_finish(b, &msg, &len, err, errlen) != 0)
		return -1;
	return fd_call(fd, msg, len, verb, msg_id(msg), rbuf, resp, err, errlen);
}

int signerd_key_call(struct signerd *sd, struct capf_ipc_builder *b, uint16_t verb, uint8_t *rbuf,
		     struct capf_ipc_msg *resp, char *err, size_t errlen)
{
	struct signerd_keyproc *kp = kp_of(sd);
	struct kp_set *s;
	const uint8_t *msg;
	size_t len;
	uint32_t id;
	int rc;

	memset(resp, 0, sizeof(*resp));
	if (kp == NULL) {
		snprintf(err, errlen, "no key process");
		return -1;
	}
	if (capf_ipc_build_finish(b, &msg, &len, err, errlen) != 0)
		return -1;
	id = msg_id(msg);
	if ((s = set_get(kp, WAIT_SET_MS)) == NULL) {
		atomic_fetch_add(&kp->calls_down, 1);
		snprintf(err, errlen, "the key process is not running (restarting)");
		return KP_DOWN;
	}
	rc = chan_call(s, atomic_fetch_add(&kp->rr, 1) % s->n, msg, len, verb, id, rbuf, resp, err, errlen);
	if (rc == KP_DOWN) {
		atomic_fetch_add(&kp->calls_down, 1);
		set_lost(kp, s, err);
	}
	set_put(s);
	return rc;
}

uint32_t signerd_key_request_id(struct signerd *sd)
{
	return atomic_fetch_add(&kp_of(sd)->next_id, 1) + 1;
}

uint32_t signerd_key_new_slot(struct signerd *sd)
{
	return atomic_fetch_add(&kp_of(sd)->next_slot, 1) + 1;
}

int signerd_key_register(struct signerd *sd, uint32_t slot, struct capf_ipc_builder *load)
{
	struct signerd_keyproc *kp = kp_of(sd);
	int rc = -1;

	pthread_mutex_lock(&kp->mu);
	for (size_t i = 0; i < REG_MAX; i++) {
		if (kp->reg[i].used)
			continue;
		if ((kp->reg[i].msg = malloc(load->len)) != NULL) {
			memcpy(kp->reg[i].msg, load->buf, load->len);
			kp->reg[i].len = load->len;
			kp->reg[i].slot = slot;
			kp->reg[i].used = 1;
			rc = 0;
		}
		break;
	}
	pthread_mutex_unlock(&kp->mu);
	return rc;
}

void signerd_key_unregister(struct signerd *sd, uint32_t slot)
{
	struct signerd_keyproc *kp = kp_of(sd);

	if (kp == NULL)
		return;
	pthread_mutex_lock(&kp->mu);
	for (size_t i = 0; i < REG_MAX; i++)
		if (kp->reg[i].used && kp->reg[i].slot == slot) {
			free(kp->reg[i].msg);
			memset(&kp->reg[i], 0, sizeof(kp->reg[i]));
		}
	pthread_mutex_unlock(&kp->mu);
}

/* Loads every registered key into the new set s: 0, KP_DOWN (it died), 1 (the
 * token refused: try again later). */
static int replay(struct signerd_keyproc *kp, struct kp_set *s, uint8_t *rbuf, char *err, size_t errlen)
{
	struct kp_reg copy[REG_MAX];
	size_t n = 0;
	int rc = 0;

	pthread_mutex_lock(&kp->mu);
	for (size_t i = 0; i < REG_MAX; i++) {
		if (!kp->reg[i].used)
			continue;
		copy[n] = kp->reg[i];
		if ((copy[n].msg = malloc(kp->reg[i].len)) == NULL)
			break;
		memcpy(copy[n].msg, kp->reg[i].msg, kp->reg[i].len);
		n++;
	}
	pthread_mutex_unlock(&kp->mu);
	for (size_t i = 0; rc == 0 && i <= n; i++) {
		struct capf_ipc_msg resp;
		uint8_t ping[CAPF_IPC_HEADER_LEN];
		uint8_t *m = i < n ? copy[i].msg : ping;
		size_t len = i < n ? copy[i].len : sizeof(ping);
		uint16_t verb = i < n ? CAPF_IPC_KEY_LOAD : CAPF_IPC_PING;
		uint32_t id = atomic_fetch_add(&kp->next_id, 1) + 1;

		if (i == n) { /* last: a PING, so that an empty registry still checks it */
			ping[0] = CAPF_IPC_VERSION;
			ping[1] = 0;
			ping[2] = CAPF_IPC_PING >> 8;
			ping[3] = CAPF_IPC_PING & 0xff;
		}
		m[4] = (uint8_t)(id >> 24);
		m[5] = (uint8_t)(id >> 16);
		m[6] = (uint8_t)(id >> 8);
		m[7] = (uint8_t)id;
		rc = chan_call(s, 0, m, len, verb, id, rbuf, &resp, err, errlen);
		if (rc == 0 && resp.status != CAPF_IPC_OK) {
			char text[600] = "";

			capf_ipc_get_str(&resp, CAPF_IPC_T_TEXT, text, sizeof(text));
			snprintf(err, errlen, "slot %u: %s", copy[i].slot, text);
			rc = resp.status == CAPF_IPC_RETRY_LATER ? 1 : -1;
		}
		capf_ipc_msg_free(&resp);
	}
	for (size_t i = 0; i < n; i++)
		free(copy[i].msg);
	return rc;
}

static void *watcher(void *arg)
{
	struct signerd_keyproc *kp = arg;
	uint8_t *rbuf = malloc(CAPF_IPC_MSG_MAX);
	char err[768];

	while (rbuf != NULL) {
		int fds[CAPF_KEYD_CHANNELS_MAX];
		char tag = 0;
		int n = recv_fds(kp->sign_fd, &tag, fds, CAPF_KEYD_CHANNELS_MAX), rc;
		struct kp_set *s, *old;

		if (n < 0) {
			capf_log(LOG_ERR, "key_supervisor_gone",
				 "action=\"no signing until capf-signerd restarts\"");
			break;
		}
		if (tag != 'K' || n == 0 || (s = calloc(1, sizeof(*s))) == NULL) {
			for (int i = 0; i < n; i++)
				close(fds[i]);
			continue;
		}
		s->n = (unsigned)n;
		atomic_init(&s->refs, 1);
		for (int i = 0; i < n; i++) {
			s->ch[i].fd = fds[i];
			pthread_mutex_init(&s->ch[i].mu, NULL);
		}
		/* its keys, loaded again (the token may be down: try every second) */
		while ((rc = replay(kp, s, rbuf, err, sizeof(err))) == 1) {
			capf_log(LOG_WARNING, "key_process_reload", "error=\"%s\" action=\"again in 1 s\"",
				 err);
			sleep(1);
		}
		if (rc != 0) {
			capf_log(LOG_ERR, "key_process_unusable", "error=\"%s\"", err);
			set_put(s);
			continue;
		}
		pthread_mutex_lock(&kp->mu);
		old = kp->cur;
		s->gen = ++kp->generations;
		kp->cur = s;
		pthread_cond_broadcast(&kp->cv);
		pthread_mutex_unlock(&kp->mu);
		set_put(old);
		if (s->gen > 1)
			atomic_fetch_add(&kp->restarts, 1);
		capf_log(s->gen > 1 ? LOG_NOTICE : LOG_INFO, "key_process_ready", "generation=%llu channels=%u",
			 (unsigned long long)s->gen, s->n);
	}
	free(rbuf);
	return NULL;
}

/* capf-keyd next to the program, or in <bindir>/../lib/capf-appliance. */
static int find_keyd(const char *given, char *out, size_t len, char *err, size_t errlen)
{
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (given != NULL) {
		snprintf(out, len, "%s", given);
		if (access(out, X_OK) == 0)
			return 0;
		snprintf(err, errlen, "--keyd %s: %s", given, strerror(errno));
		return -1;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0) {
		snprintf(err, errlen, "/proc/self/exe: %s", strerror(errno));
		return -1;
	}
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	if (snprintf(out, len, "%s/capf-keyd", self) < (int)len && access(out, X_OK) == 0)
		return 0;
	if (snprintf(out, len, "%s/../lib/capf-appliance/capf-keyd", self) < (int)len && access(out, X_OK) == 0)
		return 0;
	snprintf(err, errlen,
		 "capf-keyd is neither in %s nor in %s/../lib/capf-appliance (install it, or "
		 "give --keyd PATH)",
		 self, self);
	return -1;
}

/* Where capfhsm.so is for the key process when --provider-dir is not given: next to
 * this program (<bindir>/../lib, then <bindir>/../lib/capf-appliance), the way
 * the other programs look; NULL lets capf-keyd look next to itself. */
static const char *provider_dir(const char *given, char *buf, size_t len)
{
	char self[PATH_MAX], f[PATH_MAX + 64];
	ssize_t n;
	char *slash;

	if (given != NULL)
		return given;
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return NULL;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	for (int i = 0; i < 2; i++) {
		snprintf(buf, len, "%s/../lib%s", self, i ? "/capf-appliance" : "");
		snprintf(f, sizeof(f), "%s/capfhsm.so", buf);
		if (access(f, R_OK) == 0)
			return buf;
	}
	return NULL;
}

int signerd_keyproc_start(struct signerd *sd, const struct signerd_keyproc_opts *o, char *err, size_t errlen)
{
	char pdir[PATH_MAX + 32];
	const char *provdir = provider_dir(o->provider_dir, pdir, sizeof(pdir));
	struct signerd_keyproc *kp;
	char path[PATH_MAX], chans[16];
	char *argv[12], *argv_gen[12];
	int sv_sign[2], sv_gen[2], a = 0, g = 0, e;

	if (find_keyd(o->keyd_path, path, sizeof(path), err, errlen) != 0)
		return -1;
	if ((kp = calloc(1, sizeof(*kp))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&kp->mu, NULL);
	pthread_cond_init(&kp->cv, NULL);
	pthread_mutex_init(&kp->gen_mu, NULL);
	kp->nch = sd->conf.signer.sessions > CAPF_KEYD_CHANNELS_MAX ? CAPF_KEYD_CHANNELS_MAX :
								      sd->conf.signer.sessions;
	snprintf(chans, sizeof(chans), "%u", kp->nch);
	argv[a++] = path;
	argv[a++] = (char *)"--config";
	argv[a++] = (char *)sd->conf_path;
	argv[a++] = (char *)"--channels";
	argv[a++] = chans;
	if (provdir != NULL) {
		argv[a++] = (char *)"--provider-dir";
		argv[a++] = (char *)provdir;
	}
	if (o->foreground)
		argv[a++] = (char *)"--foreground";
	if (o->verbose)
		argv[a++] = (char *)"--verbose";
	if (!o->seccomp)
		argv[a++] = (char *)"--no-seccomp";
	argv[a] = NULL;
	for (int i = 0; i < a; i++)
		argv_gen[g++] = strcmp(argv[i], chans) == 0 ? (char *)"1" : argv[i];
	argv_gen[g++] = (char *)"--keygen";
	argv_gen[g] = NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv_sign) != 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv_gen) != 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		free(kp);
		return -1;
	}
	fflush(NULL);
	if ((kp->sup = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (kp->sup == 0) {
		close(sv_sign[0]);
		close(sv_gen[0]);
		supervise(sv_sign[1], sv_gen[1], argv, argv_gen, kp->nch);
	}
	close(sv_sign[1]);
	close(sv_gen[1]);
	kp->sign_fd = sv_sign[0];
	kp->gen_fd = sv_gen[0];
	signerd_core(sd)->keyproc = kp;
	if ((e = pthread_create(&kp->watcher, NULL, watcher, kp)) != 0) {
		snprintf(err, errlen, "key process watcher: %s", strerror(e));
		return -1;
	}
	kp->watcher_started = 1;
	capf_log(LOG_INFO, "key_supervisor_started", "pid=%ld keyd=%s channels=%u", (long)kp->sup, path,
		 kp->nch);
	return 0;
}

int signerd_keyproc_wait(struct signerd *sd, unsigned ms, char *err, size_t errlen)
{
	struct kp_set *s = set_get(kp_of(sd), ms);

	if (s == NULL) {
		snprintf(err, errlen,
			 "the key process (capf-keyd) did not become ready within %u s: see its "
			 "log lines (token, PIN file, capf.conf)",
			 ms / 1000);
		return -1;
	}
	set_put(s);
	return 0;
}

void signerd_keyproc_stop(struct signerd *sd)
{
	struct signerd_keyproc *kp = kp_of(sd);

	if (kp == NULL)
		return;
	/* the supervisor sees the link close, stops capf-keyd and exits; the watcher
	 * sees the other link close then (so joining it waits for both; no wait4:
	 * the allow-list has none, and init reaps the supervisor after us) */
	close(kp->gen_fd);
	if (kp->watcher_started)
		pthread_join(kp->watcher, NULL);
	close(kp->sign_fd);
	pthread_mutex_lock(&kp->mu);
	set_put(kp->cur);
	kp->cur = NULL;
	for (size_t i = 0; i < REG_MAX; i++)
		free(kp->reg[i].msg);
	pthread_mutex_unlock(&kp->mu);
	signerd_core(sd)->keyproc = NULL;
	free(kp);
}

void signerd_keyproc_stats(struct signerd *sd, uint64_t *restarts, uint64_t *calls_down, int *up)
{
	struct signerd_keyproc *kp = kp_of(sd);

	*restarts = kp != NULL ? atomic_load(&kp->restarts) : 0;
	*calls_down = kp != NULL ? atomic_load(&kp->calls_down) : 0;
	*up = 0;
	if (kp == NULL)
		return;
	pthread_mutex_lock(&kp->mu);
	*up = kp->cur != NULL;
	pthread_mutex_unlock(&kp->mu);
}

int signerd_keyproc_keygen_fd(struct signerd *sd, char *err, size_t errlen)
{
	struct signerd_keyproc *kp = kp_of(sd);
	struct pollfd p;
	char c = 'G', tag = 0;
	int fd = -1, n = -1;

	pthread_mutex_lock(&kp->gen_mu);
	p.fd = kp->gen_fd;
	p.events = POLLIN;
	if (send(kp->gen_fd, &c, 1, MSG_NOSIGNAL) == 1 && poll(&p, 1, 10000) == 1)
		n = recv_fds(kp->gen_fd, &tag, &fd, 1);
	pthread_mutex_unlock(&kp->gen_mu);
	if (n != 1 || tag != 'G') {
		if (n > 0)
			close(fd);
		snprintf(err, errlen, "the supervisor could not start a key generation process");
		return -1;
	}
	return fd;
}
