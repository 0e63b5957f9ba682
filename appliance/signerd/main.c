/*
 * appliance/signerd/main.c: capf-signerd, the only process that can use the
 * CAPF CA key. Options, start-up order and hardening:
 *
 *   as started (root or the service user):
 *     capture SOFTHSM2_CONF/CAPFHSM_MODULE, clearenv, re-set them; close
 *     inherited descriptors; umask 077; RLIMIT_CORE 0; not dumpable;
 *     load capf.conf; create sockets.dir and front.sock/admin.sock;
 *   then, when root, drop for good to --user (setgroups/setresgid/setresuid,
 *   checked irreversible), so that the store and the token files are used by
 *   the user that owns them (the store and the PIN file refuse other owners);
 *   then fork the key process's supervisor (keyproc.c: capf-keyd, the only
 *   process that opens the token), before the store is opened or anything is
 *   read from a socket; open the store, have the key process load the CAPF CA
 *   key and check it matches the certificate, load the manufacturing CAs,
 *   PR_SET_NO_NEW_PRIVS, start the workers, install the seccomp allow-list
 *   (no fork, exec, executable memory or connect from here on), and serve
 *   until SIGTERM/SIGINT.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "appliance/common/conffile.h"
#include "appliance/common/file.h"
#include "appliance/common/harden.h"
#include "appliance/common/log.h"
#include "appliance/common/sdnotify.h"
#include "appliance/common/version.h"
#include "appliance/signerd/keyproc.h"
#include "appliance/signerd/signerd_int.h"
#include "policy/errlist.h"

#define EX_OK_ 0
#define EX_CONFIG 1  /* configuration invalid (also --check-config) */
#define EX_USAGE_ 2  /* bad command line */
#define EX_STARTUP 3 /* start-up failed: CA, key, token, store, sockets, hardening */
#define EX_ROOT 4    /* started as root without --user */

#define DEFAULT_CONFIG "/etc/capf/capf.conf"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: capf-signerd [options]\n"
		"       capf-signerd --check-config FILE\n"
		"\n"
		"The CAPF signing daemon: holds the CAPF CA key (through the capfhsm provider),\n"
		"answers capf-frontd on front.sock and capfctl on admin.sock (sockets.dir).\n"
		"\n"
		"  --config FILE        configuration (default " DEFAULT_CONFIG ")\n"
		"  --check-config FILE  check FILE, print \"FILE: OK\" or every error, exit 0 or 1:\n"
		"                       its settings, then every file and folder it names (token.module,\n"
		"                       token.pin_source, ca.certificate, ca.chain, store.path's folder,\n"
		"                       sockets.dir, mic.ca_dir), tried as the user the daemon runs as\n"
		"                       (--user NAME; started as root: capf-signer; else the caller);\n"
		"                       each problem names the setting, the file and why\n"
		"  --user NAME          when started as root: set up as root, then become NAME\n"
		"                       (required as root: the daemon refuses to keep running as root)\n"
		"  --socket-group NAME  group of sockets.dir and front.sock (default when started as\n"
		"                       root: \"capf\" if it exists, else --user's primary group); the front end's\n"
		"                       user must be in it. admin.sock is 0600 unless sockets.admin_gids\n"
		"                       names a group (then 0660 with that group)\n"
		"  --pidfile FILE       write the process id to FILE (before dropping privileges; owned\n"
		"                       by --user, removed at exit, or emptied when its folder is not\n"
		"                       writable by that user)\n"
		"  --provider-dir DIR   where capfhsm.so is, for the key process (default: next to\n"
		"                       capf-keyd: <dir>/../lib, then <dir>/../lib/capf-appliance)\n"
		"  --keyd PATH          the key process program (default: capf-keyd next to this\n"
		"                       program, then <bindir>/../lib/capf-appliance/capf-keyd)\n"
		"  --foreground         log to stderr instead of syslog\n"
		"  --verbose            also log debug events\n"
		"  --no-seccomp         DEBUGGING ONLY: do not install the system-call allow-list\n"
		"  --help               this text\n"
		"  --version            print the version and exit\n"
		"\n"
		"Exit status: 0 stopped cleanly (SIGTERM/SIGINT) or configuration OK; 1 configuration\n"
		"invalid; 2 usage error; 3 start-up failed (CA, key, token, store, sockets, hardening);\n"
		"4 started as root without --user.\n"
		"Environment: only SOFTHSM2_CONF and CAPFHSM_MODULE are kept (and token.env's variables,\n"
		"for the key process); everything else is cleared.\n"
		"The token is opened only by the key process, capf-keyd, which a supervisor child of this\n"
		"daemon runs, and runs again when it dies.\n"
		"Under systemd (Type=notify, NOTIFY_SOCKET) readiness is reported once the sockets listen;\n"
		"with --foreground and stderr on the journal (JOURNAL_STREAM) lines carry \"<N>\" priorities\n"
		"instead of timestamps.\n");
}

static int check_config(const char *path, const char *user)
{
	struct capf_errlist *errs = capf_errlist_new();
	struct capf_conf *c = malloc(sizeof(*c));
	int rc;

	if (errs == NULL || c == NULL) {
		fprintf(stderr, "capf-signerd: out of memory\n");
		capf_errlist_free(errs);
		free(c);
		return EX_STARTUP;
	}
	rc = capf_conf_load(c, path, errs);
	/* the settings are valid: now the files and folders they name, as the run-as user */
	if (rc == 0 && signerd_check_files(c, path, user) != 0)
		rc = -1;
	free(c);
	if (rc == 0) {
		printf("%s: OK\n", path);
	} else {
		for (size_t i = 0; i < capf_errlist_count(errs); i++)
			fprintf(stderr, "%s\n", capf_errlist_get(errs, i));
		if (capf_errlist_count(errs) == 0)
			fprintf(stderr, "%s: not usable (see above)\n", path);
	}
	capf_errlist_free(errs);
	return rc == 0 ? EX_OK_ : EX_CONFIG;
}

static int write_pidfile(const char *path, char *err, size_t errlen)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	return capf_file_replace(path, 0644, buf, (size_t)n, err, errlen);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },  { "check-config", required_argument, NULL, 'C' },
		{ "user", required_argument, NULL, 'u' },    { "socket-group", required_argument, NULL, 'g' },
		{ "pidfile", required_argument, NULL, 'p' }, { "provider-dir", required_argument, NULL, 'P' },
		{ "keyd", required_argument, NULL, 'K' },    { "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },       { "no-seccomp", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },          { NULL, 0, NULL, 0 },
	};
	const char *config = DEFAULT_CONFIG, *user = NULL, *sgroup = NULL, *pidfile = NULL;
	const char *provdir = NULL, *check = NULL, *keyd = NULL;
	int foreground = 0, verbose = 0, seccomp = 1, o, rc = EX_STARTUP, wrote_pidfile = 0;
	struct signerd_env_keep keep;
	struct signerd_core core;
	struct signerd sd;
	struct signerd_serve_opts so;
	struct signerd_server *srv = NULL;
	struct capf_errlist *errs = NULL;
	uid_t run_uid = (uid_t)-1;
	gid_t run_gid = (gid_t)-1;
	char err[1024];

	capf_sd_capture(); /* NOTIFY_SOCKET, JOURNAL_STREAM: before the scrub */
	if (capf_version_option(argc, argv, "capf-signerd"))
		return 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			config = optarg;
			break;
		case 'C':
			check = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'g':
			sgroup = optarg;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'P':
			provdir = optarg;
			break;
		case 'K':
			keyd = optarg;
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
		case 'h':
			usage(stdout);
			return EX_OK_;
		default:
			usage(stderr);
			return EX_USAGE_;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "capf-signerd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EX_USAGE_;
	}
	if (check != NULL)
		return check_config(check, user);
	if (geteuid() == 0 && user == NULL) {
		fprintf(stderr, "capf-signerd: refusing to run as root: start it as its own user "
				"or pass --user NAME (e.g. --user capf-signer) to drop to it after set-up\n");
		return EX_ROOT;
	}
	if (user != NULL && geteuid() != 0) {
		fprintf(stderr, "capf-signerd: --user needs to be started as root\n");
		return EX_USAGE_;
	}

	/* ---- as started ---- */
	/* SIGTERM/SIGINT/SIGHUP/SIGPIPE blocked in every thread (the store's
	 * writer too): they are read from a signalfd by the dispatcher. */
	{
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		sigaddset(&set, SIGHUP);
		sigaddset(&set, SIGPIPE);
		pthread_sigmask(SIG_BLOCK, &set, NULL);
	}
	signerd_env_capture(&keep);
	err[0] = '\0';
	if (signerd_env_scrub(&keep, err, sizeof(err)) != 0) {
		fprintf(stderr, "capf-signerd: %s\n", err);
		signerd_env_forget(&keep);
		return EX_STARTUP;
	}
	if (capf_harden_process(err, sizeof(err)) != 0) { /* fds, umask, core, dumpable */
		fprintf(stderr, "capf-signerd: %s\n", err);
		signerd_env_forget(&keep);
		return EX_STARTUP;
	}
	capf_log_open("capf-signerd", foreground, verbose);

	memset(&sd, 0, sizeof(sd));
	memset(&core, 0, sizeof(core));
	pthread_mutex_init(&core.ca_lock, NULL);
	sd.core = &core;
	sd.conf_path = config;
	if ((errs = capf_errlist_new()) == NULL) {
		signerd_env_forget(&keep);
		return EX_STARTUP;
	}
	if (capf_conf_load(&sd.conf, config, errs) != 0) {
		for (size_t i = 0; i < capf_errlist_count(errs); i++) {
			char q[600];

			fprintf(stderr, "%s\n", capf_errlist_get(errs, i));
			if (!foreground)
				capf_log(LOG_ERR, "config_invalid", "error=%s",
					 capf_log_quote(q, sizeof(q), capf_errlist_get(errs, i)));
		}
		capf_errlist_free(errs);
		signerd_env_forget(&keep);
		return EX_CONFIG;
	}
	capf_errlist_free(errs);
	if (signerd_env_apply(&keep, &sd.conf, err, sizeof(err)) != 0) {
		fprintf(stderr, "capf-signerd: %s\n", err);
		return EX_STARTUP;
	}
	if (sd.conf.token.n_env > 0 || sd.conf.token.network) {
		char names[CAPF_CONF_ENV_MAX * 64] = "";
		size_t off = 0;

		/* names only: values are not secrets, but not the log's business either */
		for (size_t i = 0; i < sd.conf.token.n_env && off < sizeof(names); i++)
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%.*s", i ? "," : "",
						(int)strcspn(sd.conf.token.env[i], "="), sd.conf.token.env[i]);
		capf_log(LOG_INFO, "token_environment", "kept=%s network=%d", names[0] ? names : "-",
			 sd.conf.token.network);
	}

	memset(&so, 0, sizeof(so));
	so.sock_uid = (uid_t)-1;
	so.front_gid = so.admin_gid = (gid_t)-1;
	if (user != NULL) {
		struct passwd *pw = getpwnam(user);

		if (pw == NULL) {
			fprintf(stderr,
				"capf-signerd: --user %s: no such user (scripts/create-users creates "
				"capf-signer)\n",
				user);
			return EX_USAGE_;
		}
		if (pw->pw_uid == 0) {
			fprintf(stderr, "capf-signerd: --user %s is root: name an unprivileged user\n", user);
			return EX_USAGE_;
		}
		run_uid = pw->pw_uid;
		run_gid = pw->pw_gid;
		so.sock_uid = run_uid;
		so.front_gid = run_gid;
	}
	/* Without root, the default "capf" group applies only when asked for
	 * (a non-member cannot chown to it). */
	if (sgroup != NULL || geteuid() == 0) {
		struct group *gr = getgrnam(sgroup != NULL ? sgroup : "capf");

		if (gr != NULL)
			so.front_gid = gr->gr_gid;
		else if (sgroup != NULL) {
			fprintf(stderr, "capf-signerd: --socket-group %s: no such group\n", sgroup);
			return EX_USAGE_;
		}
	}
	if (sd.conf.sockets.admin_gids.n > 0)
		so.admin_gid = (gid_t)sd.conf.sockets.admin_gids.ids[0];
	if ((srv = signerd_server_new(&sd, &so, err, sizeof(err))) == NULL) {
		capf_log(LOG_ERR, "startup_failed", "stage=sockets error=%s", err);
		fprintf(stderr, "capf-signerd: %s\n", err);
		return EX_STARTUP;
	}
	/* Written as started, owned by the user that empties or removes it at exit
	 * (removing needs a folder that user may write). */
	if (pidfile != NULL) {
		if (write_pidfile(pidfile, err, sizeof(err)) != 0 ||
		    (user != NULL && chown(pidfile, run_uid, run_gid) != 0 &&
		     snprintf(err, sizeof(err), "chown %s: %s", pidfile, strerror(errno)) > 0)) {
			fprintf(stderr, "capf-signerd: --pidfile: %s\n", err);
			goto out;
		}
		wrote_pidfile = 1;
	}
	if (user != NULL && capf_drop_privileges(run_uid, run_gid, NULL, err, sizeof(err)) != 0) {
		capf_log(LOG_ERR, "startup_failed", "stage=drop_privileges error=%s", err);
		fprintf(stderr, "capf-signerd: %s\n", err);
		goto out;
	}

	/* ---- as the service user ---- */
	/* the key process first: nothing from outside has been read yet */
	{
		struct signerd_keyproc_opts ko = {
			.keyd_path = keyd,
			.provider_dir = provdir,
			.foreground = foreground,
			.verbose = verbose,
			.seccomp = seccomp,
		};

		if (signerd_keyproc_start(&sd, &ko, err, sizeof(err)) != 0 ||
		    signerd_keyproc_wait(&sd, 30000, err, sizeof(err)) != 0) {
			capf_log(LOG_ERR, "startup_failed", "stage=key_process error=%s", err);
			fprintf(stderr, "capf-signerd: %s\n", err);
			goto out;
		}
	}
	if ((sd.store = capf_store_open(sd.conf.store.path, 0, err, sizeof(err))) == NULL) {
		capf_log(LOG_ERR, "startup_failed", "stage=store error=%s", err);
		fprintf(stderr, "capf-signerd: store %s: %s\n", sd.conf.store.path, err);
		goto out;
	}
	capf_store_on_deferred_error(sd.store, signerd_store_deferred_error, NULL);
	if (signerd_ca_startup(&sd, err, sizeof(err)) != 0) {
		capf_log(LOG_ERR, "startup_failed", "stage=ca error=%s", err);
		fprintf(stderr, "capf-signerd: CAPF CA: %s\n", err);
		goto out;
	}
	if (signerd_mic_load(&sd, err, sizeof(err)) != 0 || signerd_front_init(&sd, err, sizeof(err)) != 0 ||
	    signerd_token_watch_start(&sd, err, sizeof(err)) != 0) {
		capf_log(LOG_ERR, "startup_failed", "stage=init error=%s", err);
		fprintf(stderr, "capf-signerd: %s\n", err);
		goto out;
	}
	if (signerd_authkey_init(&sd, err, sizeof(err)) != 0 ||
	    signerd_checkpoint_init(&sd, err, sizeof(err)) != 0) {
		capf_log(LOG_ERR, "startup_failed", "stage=token_keys error=%s", err);
		fprintf(stderr, "capf-signerd: %s\n", err);
		goto out;
	}
	if (capf_no_new_privs(err, sizeof(err)) != 0 || signerd_server_start(srv, err, sizeof(err)) != 0) {
		capf_log(LOG_ERR, "startup_failed", "stage=serve error=%s", err);
		fprintf(stderr, "capf-signerd: %s\n", err);
		goto out;
	}
	if (seccomp) {
		if (signerd_seccomp_install(err, sizeof(err)) != 0) {
			capf_log(LOG_ERR, "startup_failed", "stage=seccomp error=%s", err);
			fprintf(stderr, "capf-signerd: %s\n", err);
			goto out;
		}
	} else {
		capf_log(LOG_WARNING, "seccomp_disabled", "reason=--no-seccomp");
	}
	/* Sockets listening, workers running, filter in place: ready (systemd
	 * Type=notify; the filter allows socket(AF_UNIX) and sendto). */
	if (capf_sd_notify("READY=1", err, sizeof(err)) < 0)
		capf_log(LOG_WARNING, "notify_failed", "error=%s", err);
	{
		struct signerd_ca *g = signerd_ca_get(&sd);

		capf_log(LOG_NOTICE, "started", "uid=%u gid=%u workers=%u ca=%s sockets=%s seccomp=%d",
			 (unsigned)getuid(), (unsigned)getgid(), sd.conf.signer.workers, g->fp,
			 sd.conf.sockets.dir, seccomp);
		signerd_ca_put(g);
	}
	rc = signerd_server_run(srv) == 0 ? EX_OK_ : EX_STARTUP;
	(void)capf_sd_notify("STOPPING=1", err, sizeof(err));
	signerd_checkpoint(&sd, 1, err, sizeof(err)); /* the last rows signed (logged on failure) */
	capf_log(LOG_NOTICE, "stopped", "status=%d", rc);
out:
	signerd_server_free(srv);
	signerd_token_watch_stop(&sd);
	signerd_front_fini(&sd);
	signerd_checkpoint_fini(&sd);
	signerd_authkey_fini(&sd);
	capf_store_close(sd.store);
	signerd_crypto_fini(&sd);
	signerd_keyproc_stop(&sd);
	if (wrote_pidfile && unlink(pidfile) != 0) {
		/* its folder is not ours: at least no stale pid in it */
		int fd = open(pidfile, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0)
			capf_log(LOG_WARNING, "pidfile_left", "path=%s", pidfile);
		else
			close(fd);
	}
	return rc;
}
