/*
 * appliance/signerd/harden.c: the process hardening of capf-signerd: environment
 * scrub, umask, no core dumps, not dumpable, privilege drop, no-new-privs and the
 * seccomp allow-list installed once set-up is done.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sched.h>
#include <unistd.h>
#include <seccomp.h>

extern char **environ;

#include "appliance/signerd/signerd_int.h"

static char *dup_env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL ? strdup(v) : NULL;
}

void signerd_env_capture(struct signerd_env_keep *k)
{
	k->softhsm2_conf = dup_env("SOFTHSM2_CONF");
	k->capfhsm_module = dup_env("CAPFHSM_MODULE");
}

/* Only the variables the token needs survive: SOFTHSM2_CONF, CAPFHSM_MODULE. */
int signerd_env_scrub(struct signerd_env_keep *k, char *err, size_t errlen)
{
	int rc = 0;

	/* clearenv() only drops the pointers: /proc/PID/environ shows the
	 * original block, so wipe the strings themselves first. */
	for (char **e = environ; e != NULL && *e != NULL; e++)
		explicit_bzero(*e, strlen(*e));
	if (clearenv() != 0) {
		snprintf(err, errlen, "clearenv failed");
		rc = -1;
	}
	if (rc == 0 && k->softhsm2_conf != NULL && setenv("SOFTHSM2_CONF", k->softhsm2_conf, 1) != 0)
		rc = -1;
	if (rc == 0 && k->capfhsm_module != NULL && setenv("CAPFHSM_MODULE", k->capfhsm_module, 1) != 0)
		rc = -1;
	if (rc != 0 && err[0] == '\0')
		snprintf(err, errlen, "setenv: %s", strerror(errno));
	free(k->softhsm2_conf);
	free(k->capfhsm_module);
	k->softhsm2_conf = k->capfhsm_module = NULL;
	return rc;
}

int signerd_harden_early(char *err, size_t errlen)
{
	struct rlimit rl = { 0, 0 };

	umask(077);
	if (setrlimit(RLIMIT_CORE, &rl) != 0) {
		snprintf(err, errlen, "setrlimit(RLIMIT_CORE, 0): %s", strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		snprintf(err, errlen, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
		return -1;
	}
	return 0;
}

int signerd_drop_privileges(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	if (uid == 0) {
		snprintf(err, errlen, "refusing to switch to uid 0");
		return -1;
	}
	if (setgroups(1, &gid) != 0) {
		snprintf(err, errlen, "setgroups(%u): %s", (unsigned)gid, strerror(errno));
		return -1;
	}
	if (setresgid(gid, gid, gid) != 0) {
		snprintf(err, errlen, "setresgid(%u): %s", (unsigned)gid, strerror(errno));
		return -1;
	}
	if (setresuid(uid, uid, uid) != 0) {
		snprintf(err, errlen, "setresuid(%u): %s", (unsigned)uid, strerror(errno));
		return -1;
	}
	/* Verify there is no way back. */
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0 || setegid(0) == 0 ||
	    getuid() != uid || geteuid() != uid || getgid() != gid || getegid() != gid) {
		snprintf(err, errlen, "privileges could be regained after dropping to uid %u gid %u",
			 (unsigned)uid, (unsigned)gid);
		return -1;
	}
	/* Changing credentials may reset the dumpable flag. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		snprintf(err, errlen, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
		return -1;
	}
	return 0;
}

int signerd_no_new_privs(char *err, size_t errlen)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* A forbidden system call: say which one on stderr (async-signal-safe) and die. */
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

/* What the daemon, SoftHSM, SQLite and OpenSSL do after start-up. */
static const char *const allowed[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev",
	"openat", "open", "close", "fstat", "newfstatat", "stat", "lstat", "statx", "lseek",
	"access", "faccessat", "faccessat2", "readlink", "readlinkat", "getcwd",
	"fsync", "fdatasync", "rename", "renameat", "renameat2", "unlink", "unlinkat",
	"fchmod",                       /* common/file.c: a created file gets its mode exactly */
	"mkdir", "mkdirat", "getdents64", "ftruncate", "fallocate",
	"mmap", "munmap", "mprotect", "mremap", "brk", "madvise",
	"futex", "set_robust_list", "rseq", "sched_yield", "sched_getaffinity",
	"nanosleep", "clock_nanosleep", "clock_gettime", "gettimeofday", "time",
	"getpid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getppid",
	"fcntl", "flock", "dup", "dup3",
	"accept4", "recvfrom", "recvmsg", "sendmsg", "sendto", "shutdown", "getsockopt",
	"setsockopt", "getsockname", "poll", "ppoll", "epoll_wait", "epoll_pwait", "epoll_ctl",
	"getrandom", "uname", "sysinfo", "prlimit64", "getrlimit",
	"rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "restart_syscall",
	"exit", "exit_group", "tgkill", "membarrier",
};

/*
 * Sanitizer builds only (make SANITIZE=1): what the ASan/LSan runtime does in
 * a running process (alternate signal stacks for new threads, and at exit
 * LeakSanitizer's StopTheWorld: a tracer clone that ptraces the threads).
 * Never in a production build.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SIGNERD_SANITIZER 1
static const char *const allowed_sanitizer[] = {
	"sigaltstack", "prctl", "ptrace", "wait4", "waitid", "clone", "mincore",
	"pipe2", "process_vm_readv", "kill", "getdents",
};
#else
#define SIGNERD_SANITIZER 0
#endif

int signerd_seccomp_install(char *err, size_t errlen)
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
	if ((ctx = seccomp_init(SCMP_ACT_TRAP)) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	/* Every thread (store writer, workers) gets the filter. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	for (size_t i = 0; rc == 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		if (nr == __NR_SCMP_ERROR)
			continue;               /* not on this architecture */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
	}
#if SIGNERD_SANITIZER
	for (size_t i = 0; rc == 0 && i < sizeof(allowed_sanitizer) / sizeof(allowed_sanitizer[0]); i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, seccomp_syscall_resolve_name(allowed_sanitizer[i]), 0);
#else
	/* Threads only: clone with CLONE_THREAD; clone3 (flags in memory, not
	 * filterable) answers ENOSYS so that glibc falls back to clone. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
#endif
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* syslog(3) reconnects to /dev/log after journald restarts: AF_UNIX only. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(connect), 0);
	/* Signal delivery to ourselves (abort paths) only. */
	if (rc == 0 && !SIGNERD_SANITIZER)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		snprintf(err, errlen, "seccomp: %s", strerror(-rc));
		return -1;
	}
	return 0;
}
