/*
 * appliance/common/harden.h: the process hardening the daemons share. The
 * mechanism only: each daemon decides when to call what, which user it becomes
 * and which system calls its allow-list names.
 *
 *   capf_harden_process   close inherited descriptors (3 and up), umask 077,
 *                         RLIMIT_CORE 0, not dumpable
 *   capf_no_new_privs     PR_SET_NO_NEW_PRIVS
 *   capf_env_scrub        an empty environment but for the variables named (the
 *                         strings wiped, so /proc/PID/environ shows nothing)
 *   capf_drop_privileges  for good to uid/gid (from root), checked irreversible
 *   capf_seccomp_*        an allow-list from a table of system call names; any
 *                         other call traps: the SIGSYS handler writes
 *                         "event=seccomp_violation syscall=N" to stderr and the
 *                         process exits CAPF_EXIT_SECCOMP (70)
 *
 * All return 0, or -1 with a message in err.
 */
#ifndef CAPF_COMMON_HARDEN_H
#define CAPF_COMMON_HARDEN_H

#include <stddef.h>
#include <sys/types.h>
#include <seccomp.h>

#define CAPF_EXIT_SECCOMP 70

int capf_harden_process(char *err, size_t errlen);
int capf_no_new_privs(char *err, size_t errlen);
/* Keeps only the variables named in keep (at most 8) with their values. */
int capf_env_scrub(const char *const *keep, size_t nkeep, char *err, size_t errlen);

/* Supplementary groups: those of user groups_of (initgroups) or, when it is NULL,
 * gid alone. Refuses uid 0; resets "not dumpable" afterwards. */
int capf_drop_privileges(uid_t uid, gid_t gid, const char *groups_of, char *err, size_t errlen);

/* Installs the SIGSYS handler and starts a filter that traps what is not allowed,
 * with no-new-privileges set, for every thread of the process when all_threads. */
scmp_filter_ctx capf_seccomp_start(int all_threads, char *err, size_t errlen);
/* Allows each named call without conditions (names unknown on this architecture
 * are skipped): 0, or libseccomp's negative errno. */
int capf_seccomp_allow(scmp_filter_ctx ctx, const char *const *names, size_t n);
#define capf_seccomp_allow_table(ctx, table) \
	capf_seccomp_allow((ctx), (table), sizeof(table) / sizeof((table)[0]))
/* rc: 0, or the first failure while adding rules. Loads the filter when rc is 0,
 * releases ctx in any case. */
int capf_seccomp_finish(scmp_filter_ctx ctx, int rc, char *err, size_t errlen);

/* Sanitizer builds only (make SANITIZE=1): 1, and capf_seccomp_allow_sanitizer
 * allows what the ASan/LSan runtime does in a running process and at exit
 * (alternate signal stacks, LeakSanitizer's tracer: clone, ptrace, wait4, its
 * maps and /proc reads). In a production build 0, and it allows nothing. */
#if defined(__SANITIZE_ADDRESS__)
#define CAPF_SANITIZER 1
#else
#define CAPF_SANITIZER 0
#endif
int capf_seccomp_allow_sanitizer(scmp_filter_ctx ctx);

/* What any thread of a running daemon does, whatever its job: memory (mmap and
 * mprotect never PROT_EXEC), futexes, time, its own ids, signal handling and
 * signals to itself only, new threads (clone with CLONE_THREAD; clone3 answers
 * ENOSYS so that glibc falls back to clone), reading its resource limits, exit.
 * No fork, exec or executable memory. (Sanitizer builds: the runtime's own
 * calls instead of the conditions, capf_seccomp_allow_sanitizer.) 0 or libseccomp's
 * negative errno. */
int capf_seccomp_allow_runtime(scmp_filter_ctx ctx);

#endif
