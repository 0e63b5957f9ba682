/*
 * appliance/signerd/harden.c: what is capf-signerd's own in its hardening: the
 * environment scrub and the seccomp allow-list installed once set-up is done.
 * The mechanism (umask, no core dumps, not dumpable, privilege drop,
 * no-new-privs, the filter and its SIGSYS handler) is appliance/common/harden.c.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <seccomp.h>

extern char **environ;

#include "appliance/common/harden.h"
#include "appliance/signerd/signerd_int.h"

static char *dup_env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL ? strdup(v) : NULL;
}

void signerd_env_capture(struct signerd_env_keep *k)
{
	size_t n = 0;

	k->softhsm2_conf = dup_env("SOFTHSM2_CONF");
	k->capfhsm_module = dup_env("CAPFHSM_MODULE");
	/* A copy of everything until capf.conf says which names token.env keeps. */
	for (char **e = environ; e != NULL && *e != NULL; e++)
		n++;
	k->all = calloc(n + 1, sizeof(*k->all));
	for (size_t i = 0; k->all != NULL && i < n; i++)
		k->all[i] = strdup(environ[i]);
	k->nall = k->all != NULL ? n : 0;
}

static void free_all(struct signerd_env_keep *k)
{
	for (size_t i = 0; i < k->nall; i++)
		if (k->all[i] != NULL) {
			explicit_bzero(k->all[i], strlen(k->all[i]));
			free(k->all[i]);
		}
	free(k->all);
	k->all = NULL;
	k->nall = 0;
}

void signerd_env_forget(struct signerd_env_keep *k)
{
	free_all(k);
}

int signerd_env_apply(struct signerd_env_keep *k, const struct capf_conf *c, char *err, size_t errlen)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < c->token.n_env; i++) {
		const char *ent = c->token.env[i], *eq = strchr(ent, '=');
		size_t nl = eq != NULL ? (size_t)(eq - ent) : strlen(ent);
		char name[CAPF_CONF_ENV_LEN];

		snprintf(name, sizeof(name), "%.*s", (int)nl, ent);
		if (eq != NULL) {
			rc = setenv(name, eq + 1, 1);
			continue;
		}
		for (size_t j = 0; j < k->nall; j++)
			if (k->all[j] != NULL && strncmp(k->all[j], name, nl) == 0 && k->all[j][nl] == '=') {
				rc = setenv(name, k->all[j] + nl + 1, 1);
				break;
			}
	}
	if (rc != 0)
		snprintf(err, errlen, "token.env: setenv: %s", strerror(errno));
	free_all(k);
	return rc;
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

/* What the daemon, SoftHSM, SQLite and OpenSSL do after start-up. */
static const char *const allowed[] = {
	"read",        "write",      "readv",      "writev",      "pread64",   "pwrite64",   "preadv",
	"pwritev",     "openat",     "open",       "close",       "fstat",     "newfstatat", "stat",
	"lstat",       "statx",      "lseek",      "access",      "faccessat", "faccessat2", "readlink",
	"readlinkat",  "getcwd",     "fsync",      "fdatasync",   "rename",    "renameat",   "renameat2",
	"unlink",      "unlinkat",   "fchmod", /* common/file.c: a created file gets its mode exactly */
	"mkdir",       "mkdirat",    "getdents64", "ftruncate",   "fallocate", "fcntl",      "flock",
	"dup",         "dup3",       "accept4",    "recvfrom",    "recvmsg",   "sendmsg",    "sendto",
	"shutdown",    "getsockopt", "setsockopt", "getsockname", "poll",      "ppoll",      "epoll_wait",
	"epoll_pwait", "epoll_ctl",
};

int signerd_seccomp_install(char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	int rc;

	/* Every thread (store writer, workers) gets the filter. */
	if ((ctx = capf_seccomp_start(1, err, errlen)) == NULL)
		return -1;
	rc = capf_seccomp_allow_table(ctx, allowed);
	/* threads only (the key process's supervisor was forked at start-up), no
	 * executable memory (nothing is loaded after start-up), signals to itself */
	if (rc == 0)
		rc = capf_seccomp_allow_runtime(ctx);
	/* sd_notify: an AF_UNIX datagram sent with sendto (no connect). syslog(3)
	 * reconnects to /dev/log after journald restarts: it fails (EACCES) and
	 * those lines are lost; under systemd the daemon logs to stderr
	 * (--foreground, the journal's stream), which needs neither. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(connect), 0);
	return capf_seccomp_finish(ctx, rc, err, errlen);
}
