/*
 * appliance/keyd/sandbox.c: capf-keyd's system-call allow-list. Any call not
 * listed kills the process (SECCOMP_RET_KILL_PROCESS; the supervisor starts a
 * new one). Sanitizer builds trap instead (the ASan runtime's own calls).
 *
 * Not allowed: creating, renaming or removing files, opening one for writing,
 * executable mappings (mmap/mprotect with PROT_EXEC), exec, fork, ptrace,
 * setting resource limits, signals to other processes. A module that keeps its
 * token in files (SoftHSM) re-reads them: opens are allowed read-only. socket
 * and connect fail with EACCES (syslog(3) tries them after journald restarts;
 * nothing else in this process may connect) unless token.network is set: then
 * the module may reach its HSM over IP or a local socket (p11-kit's client).
 * --keygen (a short-lived run that generates a key pair) may also write the
 * module's token files.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <seccomp.h>

#include "appliance/common/harden.h"
#include "appliance/keyd/keyd.h"

static const char *const base[] = {
	"read",       "write",      "readv",   "writev",  "pread64", "close",     "fstat",      "newfstatat",
	"stat",       "lstat",      "statx",   "lseek",   "access",  "faccessat", "faccessat2", "readlink",
	"readlinkat", "getdents64", "fcntl",   "flock",   "dup",     "dup3",      "mlock",      "munlock",
	"mlock2",     "recvfrom",   "recvmsg", "sendmsg", "sendto",  "poll",      "ppoll",      "getsockopt",
};

/* what a module reaching its HSM over the network (or p11-kit's socket) needs */
static const char *const net[] = {
	"connect",   "bind",       "getsockname", "getpeername", "setsockopt",
	"shutdown",  "socketpair", "select",      "pselect6",    "epoll_create1",
	"epoll_ctl", "epoll_wait", "epoll_pwait", "eventfd2",    "pipe2",
};

/* --keygen: the module writes its token files */
static const char *const files[] = {
	"pwrite64", "rename",    "renameat",  "renameat2", "unlink", "unlinkat", "mkdir", "mkdirat",
	"fsync",    "fdatasync", "ftruncate", "fallocate", "fchmod", "chmod",    "umask",
};

#define RDONLY SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC | O_APPEND, O_RDONLY

int keyd_sandbox(int network, int keygen, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(CAPF_SANITIZER ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS);
	int rc;

	if (ctx == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (rc == 0)
		rc = capf_seccomp_allow_table(ctx, base);
	/* memory never executable, threads only, signals to itself, limits read only */
	if (rc == 0)
		rc = capf_seccomp_allow_runtime(ctx);
	/* files: read-only, unless generating keys */
	if (rc == 0 && keygen) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 0);
		if (rc == 0)
			rc = capf_seccomp_allow_table(ctx, files);
	} else if (rc == 0) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1, SCMP_A2(RDONLY));
		if (rc == 0)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1, SCMP_A1(RDONLY));
	}
	if (rc == 0 && network) {
		rc = capf_seccomp_allow_table(ctx, net);
		if (rc == 0)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
					      SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
		if (rc == 0)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
					      SCMP_A0(SCMP_CMP_EQ, AF_INET));
		if (rc == 0)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
					      SCMP_A0(SCMP_CMP_EQ, AF_INET6));
	} else if (rc == 0) {
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
		if (rc == 0)
			rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(connect), 0);
	}
	return capf_seccomp_finish(ctx, rc, err, errlen);
}

void keyd_selftest(const char *name)
{
	fprintf(stderr, "capf-keyd: seccomp self-test: %s\n", name);
	if (strcmp(name, "open-read") == 0) { /* allowed: the control case */
		int fd = open("/dev/null", O_RDONLY);

		if (fd >= 0)
			close(fd);
	} else if (strcmp(name, "open-write") == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			close(fd);
	} else if (strcmp(name, "open-create") == 0) {
		(void)openat(AT_FDCWD, "capf-keyd-selftest", O_RDONLY | O_CREAT, 0600);
	} else if (strcmp(name, "exec-map") == 0) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p != MAP_FAILED)
			munmap(p, 4096);
	} else if (strcmp(name, "mprotect-exec") == 0) {
		void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p != MAP_FAILED)
			(void)mprotect(p, 4096, PROT_READ | PROT_EXEC);
	} else if (strcmp(name, "socket-inet") == 0) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd >= 0)
			close(fd);
	} else if (strcmp(name, "unlink") == 0) {
		(void)unlink("capf-keyd-selftest");
	} else if (strcmp(name, "execve") == 0) {
		char *const argv[] = { (char *)"true", NULL };

		execve("/bin/true", argv, NULL);
	} else if (strcmp(name, "setrlimit") == 0) {
		struct rlimit r = { 0, 0 };

		(void)setrlimit(RLIMIT_NOFILE, &r);
	} else if (strcmp(name, "kill-parent") == 0) {
		(void)kill(getppid(), 0);
	}
}
