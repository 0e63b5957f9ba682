/*
 * appliance/common/harden.c: process hardening and the seccomp mechanism shared
 * by capf-frontd and capf-signerd (see harden.h).
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appliance/common/file.h"
#include "appliance/common/harden.h"

extern char **environ;

int capf_harden_process(char *err, size_t errlen)
{
	struct rlimit rl = { 0, 0 };

	capf_closefrom(3);
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

int capf_no_new_privs(char *err, size_t errlen)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		return -1;
	}
	return 0;
}

int capf_drop_privileges(uid_t uid, gid_t gid, const char *groups_of, char *err, size_t errlen)
{
	if (uid == 0) {
		snprintf(err, errlen, "refusing to switch to uid 0");
		return -1;
	}
	if (groups_of != NULL && initgroups(groups_of, gid) != 0) {
		snprintf(err, errlen, "initgroups(%s, %u): %s", groups_of, (unsigned)gid, strerror(errno));
		return -1;
	}
	if (groups_of == NULL && setgroups(1, &gid) != 0) {
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
	if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0 || setegid(0) == 0 || getuid() != uid ||
	    geteuid() != uid || getgid() != gid || getegid() != gid) {
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
	_exit(CAPF_EXIT_SECCOMP);
}

scmp_filter_ctx capf_seccomp_start(int all_threads, char *err, size_t errlen)
{
	struct sigaction sa;
	scmp_filter_ctx ctx;
	int rc = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) != 0) {
		snprintf(err, errlen, "sigaction(SIGSYS): %s", strerror(errno));
		return NULL;
	}
	if ((ctx = seccomp_init(SCMP_ACT_TRAP)) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return NULL;
	}
	if (all_threads)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (rc != 0) {
		snprintf(err, errlen, "seccomp: %s", strerror(rc < 0 ? -rc : rc));
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

int capf_seccomp_allow(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		int rc;

		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0)) != 0)
			return rc;
	}
	return 0;
}

int capf_seccomp_finish(scmp_filter_ctx ctx, int rc, char *err, size_t errlen)
{
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc != 0) {
		snprintf(err, errlen, "seccomp: %s", strerror(rc < 0 ? -rc : rc));
		return -1;
	}
	return 0;
}

int capf_env_scrub(const char *const *keep, size_t nkeep, char *err, size_t errlen)
{
	char *saved[8] = { NULL };
	int rc = 0;

	if (nkeep > sizeof(saved) / sizeof(saved[0])) {
		snprintf(err, errlen, "capf_env_scrub: at most 8 variables kept");
		return -1;
	}
	for (size_t i = 0; i < nkeep; i++) {
		const char *v = getenv(keep[i]);

		if (v != NULL && (saved[i] = strdup(v)) == NULL) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
		}
	}
	/* clearenv() only drops the pointers: /proc/PID/environ shows the original
	 * block, so wipe the strings themselves first */
	for (char **e = environ; rc == 0 && e != NULL && *e != NULL; e++)
		explicit_bzero(*e, strlen(*e));
	if (rc == 0 && clearenv() != 0) {
		snprintf(err, errlen, "clearenv failed");
		rc = -1;
	}
	for (size_t i = 0; i < nkeep; i++) {
		if (rc == 0 && saved[i] != NULL && setenv(keep[i], saved[i], 1) != 0) {
			snprintf(err, errlen, "setenv %s: %s", keep[i], strerror(errno));
			rc = -1;
		}
		free(saved[i]);
	}
	return rc;
}

int capf_seccomp_allow_sanitizer(scmp_filter_ctx ctx)
{
#if CAPF_SANITIZER
	static const char *const runtime[] = {
		"sigaltstack",
		"prctl",
		"ptrace",
		"wait4",
		"waitid",
		"clone",
		"mincore",
		"pipe2",
		"kill",
		"tgkill",
		"getdents",
		"getdents64",
		"open",
		"openat",
		"readlink",
		"dup",
		"dup2",
		"dup3",
		"getppid",
		"sched_getaffinity",
		"process_vm_readv",
		"mmap",
		"mprotect",
	};

	return capf_seccomp_allow_table(ctx, runtime);
#else
	(void)ctx;
	return 0;
#endif
}

int capf_seccomp_allow_runtime(scmp_filter_ctx ctx)
{
	static const char *const runtime[] = {
		"munmap",
		"mremap",
		"brk",
		"madvise",
		"futex",
		"set_robust_list",
		"rseq",
		"sched_yield",
		"sched_getaffinity",
		"nanosleep",
		"clock_nanosleep",
		"clock_gettime",
		"gettimeofday",
		"time",
		"getpid",
		"gettid",
		"getuid",
		"geteuid",
		"getgid",
		"getegid",
		"getppid",
		"getrandom",
		"rt_sigreturn",
		"rt_sigprocmask",
		"rt_sigaction",
		"restart_syscall",
		"exit",
		"exit_group",
		"membarrier",
		"uname",
		"getrlimit",
		"sysinfo",
	};
	int rc = capf_seccomp_allow_table(ctx, runtime);

	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 2, SCMP_A0(SCMP_CMP_EQ, 0),
				      SCMP_A2(SCMP_CMP_EQ, 0));
#if CAPF_SANITIZER
	if (rc == 0)
		rc = capf_seccomp_allow_sanitizer(ctx);
#else
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				      SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
#endif
	return rc;
}
