/*
 * appliance/keyd/main.c: capf-keyd, the key process (keyd.h). Started by
 * capf-signerd's supervisor, never by hand except for the seccomp self-test:
 *
 *   as started (the signer's user, its environment after token.env):
 *     umask 077, no core dumps, not dumpable; every descriptor closed but
 *     0-2 and the channels; capf.conf read; the capfhsm library context opened
 *     (which loads the token's module); the allow-list installed (kill on
 *     violation); then one thread per channel answers requests until a
 *     channel closes, and the process exits.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "appliance/common/harden.h"
#include "appliance/common/hsm.h"
#include "appliance/common/conffile.h"
#include "appliance/common/argnum.h"
#include "appliance/common/log.h"
#include "appliance/common/sdnotify.h"
#include "appliance/common/version.h"
#include "appliance/ipc/ipc.h"
#include "appliance/keyd/keyd.h"
#include "policy/errlist.h"

#define EX_STARTUP 3

static struct keyd kd;

static void usage(FILE *f)
{
	fprintf(f, "usage: capf-keyd --config FILE --channels N [options]\n"
		   "\n"
		   "capf-signerd's key process: the only process that opens the token. capf-signerd\n"
		   "starts it (through its supervisor) with N request channels on descriptors 3..;\n"
		   "it is not started by hand. It signs only what passes the policy's lints.\n"
		   "\n"
		   "  --config FILE        the signer's capf.conf (token.*, lsc.*)\n"
		   "  --channels N         channels on descriptors 3 .. 3+N-1 (1..64)\n"
		   "  --keygen             serve key generation (KEY_GENERATE, KEY_DESTROY) on one channel\n"
		   "  --provider-dir DIR   where capfhsm.so is (default: next to the program)\n"
		   "  --foreground         log to stderr instead of syslog\n"
		   "  --verbose            also log debug events\n"
		   "  --no-seccomp         DEBUGGING ONLY: no system-call allow-list\n"
		   "  --seccomp-selftest CALL\n"
		   "                       install the allow-list, then make the forbidden CALL\n"
		   "                       (open-write, open-create, exec-map, mprotect-exec, socket-inet,\n"
		   "                       unlink, execve, setrlimit, kill-parent): the process must die\n"
		   "                       of SIGSYS; exit 0 means it was NOT stopped (open-read: an\n"
		   "                       allowed call, exit 0)\n"
		   "  --help, --version\n"
		   "\n"
		   "Exit status: 0 a channel closed (the signer stopped); 2 usage; 3 start-up failed.\n");
}

/* Only 0-2 and the channels stay open. */
static int close_others(int nch)
{
	struct rlimit r;
	int last = CAPF_KEYD_FD_FIRST + nch;

	if (getrlimit(RLIMIT_NOFILE, &r) != 0)
		return -1;
	for (int fd = last; fd < (int)(r.rlim_cur > 65536 ? 65536 : r.rlim_cur); fd++)
		(void)close(fd);
	for (int fd = CAPF_KEYD_FD_FIRST; fd < last; fd++) {
		int type = 0;
		socklen_t tl = sizeof(type);

		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_SEQPACKET)
			return -1;
	}
	return 0;
}

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint8_t *buf = malloc(CAPF_IPC_MSG_MAX);
	char err[256];

	if (buf == NULL)
		_exit(EX_STARTUP);
	for (;;) {
		struct capf_ipc_msg req;
		struct capf_ipc_builder resp;
		const uint8_t *out;
		size_t outlen;
		ssize_t n = recv(fd, buf, CAPF_IPC_MSG_MAX, MSG_TRUNC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* the signer closed the channel (or stopped): this process ends */
			capf_log(LOG_INFO, "channel_closed", "fd=%d", fd);
			OPENSSL_cleanse(buf, CAPF_IPC_MSG_MAX);
			_exit(0);
		}
		if ((size_t)n > CAPF_IPC_MSG_MAX ||
		    capf_ipc_decode_request(&req, buf, (size_t)n, CAPF_IPC_ROLE_KEY, err, sizeof(err)) != 0) {
			capf_log(LOG_ERR, "bad_request", "fd=%d error=\"%s\"", fd,
				 (size_t)n > CAPF_IPC_MSG_MAX ? "too big" : err);
			_exit(EX_STARTUP);
		}
		memset(&resp, 0, sizeof(resp));
		keyd_serve_one(&kd, &req, &resp);
		if (capf_ipc_build_finish(&resp, &out, &outlen, err, sizeof(err)) != 0) {
			capf_ipc_builder_free(&resp);
			capf_ipc_build_response(&resp, &req, CAPF_IPC_ERROR);
			capf_ipc_put_str(&resp, CAPF_IPC_T_TEXT, "capf-keyd: cannot encode the answer");
			if (capf_ipc_build_finish(&resp, &out, &outlen, err, sizeof(err)) != 0)
				_exit(EX_STARTUP);
		}
		capf_ipc_msg_free(&req);
		if (send(fd, out, outlen, MSG_NOSIGNAL) != (ssize_t)outlen) {
			capf_ipc_builder_free(&resp);
			_exit(0);
		}
		capf_ipc_builder_free(&resp);
		OPENSSL_cleanse(buf, (size_t)n);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "channels", required_argument, NULL, 'n' },
		{ "keygen", no_argument, NULL, 'k' },
		{ "provider-dir", required_argument, NULL, 'P' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "no-seccomp", no_argument, NULL, 'S' },
		{ "seccomp-selftest", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *provdir = NULL, *selftest = NULL;
	unsigned long ul;
	int nch = 0, foreground = 0, verbose = 0, seccomp = 1, o;
	struct capf_errlist *errs;
	struct rlimit core = { 0, 0 }, cur;
	pthread_t th[CAPF_KEYD_CHANNELS_MAX];
	char err[1024];

	capf_sd_capture(); /* JOURNAL_STREAM (the supervisor passes the signer's on) */
	if (capf_version_option(argc, argv, "capf-keyd"))
		return 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config = optarg;
			break;
		case 'n':
			if (capf_parse_uint(optarg, 1, CAPF_KEYD_CHANNELS_MAX, &ul) != 0)
				nch = -1; /* refused below, with the usage */
			else
				nch = (int)ul;
			break;
		case 'k':
			kd.keygen = 1;
			break;
		case 'P':
			provdir = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'S':
			seccomp = 0;
			break;
		case 'T':
			selftest = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (selftest != NULL) {
		/* the filter alone, then the forbidden call: only SIGSYS may end this */
		if (keyd_sandbox(0, 0, err, sizeof(err)) != 0) {
			fprintf(stderr, "capf-keyd: %s\n", err);
			return EX_STARTUP;
		}
		keyd_selftest(selftest);
		fprintf(stderr, "capf-keyd: %s was NOT stopped by the allow-list\n", selftest);
		return 0;
	}
	if (optind != argc || config == NULL || nch < 1 || nch > CAPF_KEYD_CHANNELS_MAX ||
	    (kd.keygen && nch != 1)) {
		usage(stderr);
		return 2;
	}
	umask(077);
	/* no core file (a unit may have set the limit already and forbid setrlimit) */
	if (getrlimit(RLIMIT_CORE, &cur) == 0 && cur.rlim_cur == 0 && cur.rlim_max == 0)
		core = cur;
	else if (setrlimit(RLIMIT_CORE, &core) != 0)
		core.rlim_max = 1;
	if (core.rlim_max != 0 || prctl(PR_SET_DUMPABLE, 0) != 0 || close_others(nch) != 0) {
		fprintf(stderr,
			"capf-keyd: cannot harden the process, or descriptors 3..%d are not its "
			"channels (capf-keyd is started by capf-signerd)\n",
			CAPF_KEYD_FD_FIRST + nch - 1);
		return EX_STARTUP;
	}
	capf_log_open(kd.keygen ? "capf-keyd-keygen" : "capf-keyd", foreground, verbose);
	if ((errs = capf_errlist_new()) == NULL || capf_conf_load(&kd.conf, config, errs) != 0) {
		for (size_t i = 0; errs != NULL && i < capf_errlist_count(errs); i++)
			capf_log(LOG_ERR, "config_invalid", "error=\"%s\"", capf_errlist_get(errs, i));
		capf_errlist_free(errs);
		return EX_STARTUP;
	}
	capf_errlist_free(errs);
	if (!kd.keygen) {
		struct capf_hsm_opts ho = {
			.provider_dir = provdir,
			.module = kd.conf.token.module,
			.reinit_module = 1,
			.recover_ms = 1000,
			.sessions = (unsigned)nch,
			.log = capf_hsm_log,
		};

		if (capf_hsm_open(&ho, &kd.hsm, err, sizeof(err)) != 0) {
			capf_log(LOG_ERR, "startup_failed", "stage=provider error=\"%s\"", err);
			fprintf(stderr, "capf-keyd: %s\n", err);
			return EX_STARTUP;
		}
		kd.libctx = capf_hsm_libctx(kd.hsm);
	}
	/* the token's module loaded and logged in now: nothing is mapped later */
	if ((kd.keygen ? keyd_keygen_init(&kd, err, sizeof(err)) : keyd_keys_init(&kd, err, sizeof(err))) !=
	    0) {
		capf_log(LOG_ERR, "startup_failed", "stage=token error=\"%s\"", err);
		fprintf(stderr, "capf-keyd: %s\n", err);
		return EX_STARTUP;
	}
	if (seccomp && keyd_sandbox(kd.conf.token.network, kd.keygen, err, sizeof(err)) != 0) {
		capf_log(LOG_ERR, "startup_failed", "stage=seccomp error=\"%s\"", err);
		return EX_STARTUP;
	}
	capf_log(LOG_INFO, "started", "pid=%ld channels=%d keygen=%d seccomp=%d network=%d", (long)getpid(),
		 nch, kd.keygen, seccomp, kd.conf.token.network);
	for (int i = 1; i < nch; i++) {
		int e = pthread_create(&th[i], NULL, serve, (void *)(intptr_t)(CAPF_KEYD_FD_FIRST + i));

		if (e != 0) {
			capf_log(LOG_ERR, "startup_failed", "stage=threads error=\"%s\"", strerror(e));
			return EX_STARTUP;
		}
	}
	serve((void *)(intptr_t)CAPF_KEYD_FD_FIRST);
	return 0;
}
