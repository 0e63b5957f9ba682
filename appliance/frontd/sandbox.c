/*
 * appliance/frontd/sandbox.c: the seccomp allow-list of capf-frontd, installed
 * once start-up is over (port bound, key loaded, privileges dropped). What the
 * loop needs: epoll, accept4, reads and writes on sockets, AF_UNIX sockets to
 * reach the signer again (and syslog), time, randomness, memory. No exec, no
 * fork, no new files, no ptrace. With a TLS key on a token, SoftHSM (in this
 * process) also reads its object files, so file reads and locks are allowed
 * then. A forbidden call prints event=seccomp_violation syscall=N and exits 70
 * (the mechanism: appliance/common/harden.c).
 */
#include <seccomp.h>
#include <stddef.h>
#include <sys/socket.h>

#include "appliance/common/harden.h"
#include "appliance/frontd/frontd.h"

static const char *const allowed[] = {
	"read",        "write",           "readv",          "writev",       "close",
	"fstat",       "newfstatat",      "lseek",          "epoll_wait",   "epoll_pwait",
	"epoll_ctl",   "accept4",         "connect",        "shutdown",     "recvfrom",
	"recvmsg",     "sendto",          "sendmsg",        "setsockopt",   "getsockopt",
	"getsockname", "getpeername",     "poll",           "ppoll",        "mmap",
	"munmap",      "mprotect",        "mremap",         "brk",          "madvise",
	"futex",       "sched_yield",     "clock_gettime",  "gettimeofday", "time",
	"nanosleep",   "clock_nanosleep", "getrandom",      "getpid",       "gettid",
	"getuid",      "geteuid",         "getgid",         "getegid",      "uname",
	"fcntl",       "rt_sigreturn",    "rt_sigprocmask", "rt_sigaction", "restart_syscall",
	"exit",        "exit_group",
};

/* SoftHSM reading its token (pkcs11: TLS key) */
static const char *const allowed_token[] = {
	"openat",  "open",  "stat",       "lstat",    "statx",      "access", "faccessat", "faccessat2",
	"pread64", "flock", "getdents64", "readlink", "readlinkat", "getcwd", "dup",       "dup3",
};

int front_sandbox(int token_key, char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	int rc;

	/* one thread: no TSYNC */
	if ((ctx = capf_seccomp_start(0, err, errlen)) == NULL)
		return -1;
	rc = capf_seccomp_allow_table(ctx, allowed);
	if (rc == 0 && token_key)
		rc = capf_seccomp_allow_table(ctx, allowed_token);
	if (rc == 0)
		rc = capf_seccomp_allow_sanitizer(ctx);
	/* new sockets: AF_UNIX only (the signer's front.sock, syslog's /dev/log) */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	return capf_seccomp_finish(ctx, rc, err, errlen);
}
