/*
 * appliance/frontd/sandbox.c: the seccomp allow-list of capf-frontd, installed
 * once start-up is over (port bound, key loaded, privileges dropped). What the
 * loop needs: epoll, accept4, reads and writes on sockets, AF_UNIX sockets to
 * reach the signer again (and syslog), time, randomness, memory. No exec, no
 * fork, no new files, no ptrace. With a TLS key on a token, SoftHSM (in this
 * process) also reads its object files, so file reads and locks are allowed
 * then. A forbidden call prints event=seccomp_violation syscall=N and exits 70.
 */
#include <errno.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "appliance/frontd/frontd.h"

static void sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	char msg[96] = "event=seccomp_violation syscall=";
	char num[16];
	size_t n = strlen(msg), k = 0;
	int nr = si->si_syscall;

	(void)sig;
	(void)uc;
	if (nr < 0)
		nr = 0;
	do {
		num[k++] = (char)('0' + nr % 10);
		nr /= 10;
	} while (nr > 0 && k < sizeof(num));
	while (k > 0 && n < sizeof(msg) - 2)
		msg[n++] = num[--k];
	msg[n++] = '\n';
	if (write(STDERR_FILENO, msg, n) < 0) {
		/* nothing more to do */
	}
	_exit(70);
}

static const char *const allowed[] = {
	"read", "write", "readv", "writev", "close", "fstat", "newfstatat", "lseek",
	"epoll_wait", "epoll_pwait", "epoll_ctl", "accept4", "connect", "shutdown",
	"recvfrom", "recvmsg", "sendto", "sendmsg", "setsockopt", "getsockopt", "getsockname",
	"getpeername", "poll", "ppoll",
	"mmap", "munmap", "mprotect", "mremap", "brk", "madvise",
	"futex", "sched_yield", "clock_gettime", "gettimeofday", "time", "nanosleep",
	"clock_nanosleep", "getrandom", "getpid", "gettid", "getuid", "geteuid", "getgid",
	"getegid", "uname", "fcntl",
	"rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "restart_syscall",
	"exit", "exit_group",
};

/* SoftHSM reading its token (pkcs11: TLS key) */
static const char *const allowed_token[] = {
	"openat", "open", "stat", "lstat", "statx", "access", "faccessat", "faccessat2",
	"pread64", "flock", "getdents64", "readlink", "readlinkat", "getcwd", "dup", "dup3",
};

#if defined(__SANITIZE_ADDRESS__)
/* ASan/LSan runtime at run time and at exit (sanitizer builds only) */
static const char *const allowed_sanitizer[] = {
	"sigaltstack", "prctl", "ptrace", "wait4", "waitid", "clone", "mincore",
	"pipe2", "process_vm_readv", "kill", "getdents", "getdents64", "open", "openat",
	"readlink", "dup", "dup2", "dup3", "tgkill", "getppid", "sched_getaffinity",
};
#endif

static int allow_list(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;       /* not on this architecture */
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0)
			return -1;
	}
	return 0;
}

int front_sandbox(int token_key, char *err, size_t errlen)
{
	struct sigaction sa;
	scmp_filter_ctx ctx;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) != 0) {
		snprintf(err, errlen, "sigaction(SIGSYS): %s", strerror(errno));
		return -1;
	}
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (ctx == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (rc == 0)
		rc = allow_list(ctx, allowed, sizeof(allowed) / sizeof(allowed[0]));
	if (rc == 0 && token_key)
		rc = allow_list(ctx, allowed_token, sizeof(allowed_token) / sizeof(allowed_token[0]));
#if defined(__SANITIZE_ADDRESS__)
	if (rc == 0)
		rc = allow_list(ctx, allowed_sanitizer, sizeof(allowed_sanitizer) / sizeof(allowed_sanitizer[0]));
#endif
	/* new sockets: AF_UNIX only (the signer's front.sock, syslog's /dev/log) */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		snprintf(err, errlen, "seccomp: %s", strerror(rc < 0 ? -rc : rc));
		return -1;
	}
	return 0;
}
