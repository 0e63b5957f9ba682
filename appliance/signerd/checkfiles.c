/*
 * appliance/signerd/checkfiles.c: the file part of `capf-signerd --check-config`.
 * Every file and folder capf.conf names is checked the way the daemon will use
 * it, as the user it will run as (--user, else capf-signer when started as
 * root, else the caller): a child process takes that user's uid, gid and
 * groups and tries each access, so that the answer is the kernel's, not a
 * reading of mode bits. Each problem is one line: file, setting, why.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "appliance/signerd/signerd_int.h"

#define SOFTHSM_DEFAULT "/usr/lib/softhsm/libsofthsm2.so"

struct chk {
	const char *conf; /* capf.conf, for messages */
	const char *who;  /* "capf-signer (uid 998)" */
	int root_setup;   /* started as root: sockets.dir is made and bound as root */
	int bad;
};

static void problem(struct chk *k, const char *path, const char *setting, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void problem(struct chk *k, const char *path, const char *setting, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s: %s: %s (checked as %s, the user capf-signerd runs as)\n", k->conf, setting,
		path, why, k->who);
	k->bad++;
}

/* A regular file the run-as user can open for reading; 0 or -1 (reported). */
static int readable_file(struct chk *k, const char *path, const char *setting)
{
	struct stat st;
	int fd;

	if (stat(path, &st) != 0) {
		problem(k, path, setting, "does not exist (%s)", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		problem(k, path, setting, "is not a regular file");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0) {
		problem(k, path, setting, "cannot be read (%s)", strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* A folder the run-as user can list and enter (write: also create files in). */
static int usable_dir(struct chk *k, const char *path, const char *setting, int write)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		problem(k, path, setting, "does not exist (%s)", strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		problem(k, path, setting, "is not a folder");
		return -1;
	}
	if (access(path, (write ? W_OK : R_OK) | X_OK) != 0) {
		problem(k, path, setting, "is not %s (%s)", write ? "writable" : "readable", strerror(errno));
		return -1;
	}
	return 0;
}

static void pem_cert(struct chk *k, const char *path, const char *setting)
{
	FILE *f;
	X509 *x = NULL;

	if (readable_file(k, path, setting) != 0)
		return;
	if ((f = fopen(path, "re")) != NULL) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	ERR_clear_error();
	if (x == NULL)
		problem(k, path, setting, "holds no PEM certificate");
	X509_free(x);
}

/* The folder that holds path (for a file the daemon creates). */
static void parent_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(out, len, ".");
	else if (slash == path)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(slash - path), path);
}

static void check_all(struct chk *k, const struct capf_conf *c)
{
	const char *module = c->token.module[0] ? c->token.module : SOFTHSM_DEFAULT;
	char dir[CAPF_CONF_STR_MAX];
	struct stat st;

	readable_file(k, module, c->token.module[0] ? "token.module" : "token.module (default)");
	/* the PIN reader's own rules (pkcs11/pin.c): owned by the daemon's user, 0600 */
	if (c->token.pin_source[0] != '\0' && readable_file(k, c->token.pin_source, "token.pin_source") == 0 &&
	    stat(c->token.pin_source, &st) == 0) {
		if (st.st_uid != geteuid())
			problem(k, c->token.pin_source, "token.pin_source",
				"is owned by uid %u, not by the "
				"daemon's user (the PIN reader refuses it: chown it)",
				(unsigned)st.st_uid);
		if ((st.st_mode & 077) != 0)
			problem(k, c->token.pin_source, "token.pin_source",
				"holds a PIN but is mode %04o "
				"(group or others may read it: chmod 0600)",
				(unsigned)(st.st_mode & 07777));
	}
	pem_cert(k, c->ca.certificate, "ca.certificate");
	if (c->ca.chain[0] != '\0')
		pem_cert(k, c->ca.chain, "ca.chain");
	/* the store: a file the daemon writes, with its -wal and -shm next to it */
	parent_of(c->store.path, dir, sizeof(dir));
	if (usable_dir(k, dir, "store.path (its folder)", 1) == 0 && stat(c->store.path, &st) == 0 &&
	    access(c->store.path, R_OK | W_OK) != 0)
		problem(k, c->store.path, "store.path", "cannot be read and written (%s)", strerror(errno));
	/* mic.ca_dir: a missing one is allowed (no MIC/SUDI checks), as at start-up */
	if (c->mic.ca_dir[0] != '\0' && stat(c->mic.ca_dir, &st) != 0 && errno == ENOENT)
		fprintf(stderr,
			"%s: note: mic.ca_dir %s does not exist: no manufacturing CA is "
			"trusted (MIC/SUDI evidence is refused)\n",
			k->conf, c->mic.ca_dir);
	else if (c->mic.ca_dir[0] != '\0')
		usable_dir(k, c->mic.ca_dir, "mic.ca_dir", 0);
	/* sockets.dir: made by the daemon when missing (as root when started as root,
	 * then handed to its user); an existing one is used as it is */
	if (stat(c->sockets.dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			problem(k, c->sockets.dir, "sockets.dir", "is not a folder");
		else if (st.st_mode & S_IWOTH)
			problem(k, c->sockets.dir, "sockets.dir", "is writable by others (chmod 0750 it)");
		else if (!k->root_setup)
			usable_dir(k, c->sockets.dir, "sockets.dir", 1);
	} else {
		parent_of(c->sockets.dir, dir, sizeof(dir));
		if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
			problem(k, c->sockets.dir, "sockets.dir",
				"cannot be made: its folder %s does not "
				"exist",
				dir);
	}
	/* exports: not needed to run, but a CA change reports them as errors */
	parent_of(c->ca.certificate, dir, sizeof(dir));
	if (access(dir, W_OK | X_OK) != 0)
		fprintf(stderr,
			"%s: note: ca.certificate's folder %s is not writable by %s: after "
			"`capfctl capf import|regenerate|adopt` the store holds the CA and its chain (a "
			"restart needs nothing else), but the export of the file will be reported as "
			"an error\n",
			k->conf, dir, k->who);
}

/* Becomes user (its uid, gid and groups). 0, or -1 with a message printed. */
static int become(const struct passwd *pw)
{
	if (geteuid() != 0)
		return 0;
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		fprintf(stderr, "capf-signerd: cannot become %s to check its access: %s\n", pw->pw_name,
			strerror(errno));
		return -1;
	}
	return 0;
}

int signerd_check_files(const struct capf_conf *c, const char *conf_path, const char *user)
{
	struct passwd *pw;
	char who[160];
	pid_t pid;
	int status, root_setup = geteuid() == 0;

	if (user == NULL && geteuid() == 0)
		user = "capf-signer";
	pw = user != NULL ? getpwnam(user) : getpwuid(geteuid());
	if (pw == NULL) {
		fprintf(stderr,
			"%s: the daemon would run as %s, which is not a user here (create it: "
			"scripts/create-users, or pass --user NAME)\n",
			conf_path, user ? user : "(this uid)");
		return 1;
	}
	snprintf(who, sizeof(who), "%s (uid %u)", pw->pw_name, (unsigned)pw->pw_uid);
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "capf-signerd: fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		struct chk k = { conf_path, who, root_setup, 0 };

		if (become(pw) != 0)
			_exit(1);
		check_all(&k, c);
		fflush(stderr);
		_exit(k.bad > 100 ? 100 : k.bad);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
