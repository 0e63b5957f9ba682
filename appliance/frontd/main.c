/*
 * appliance/frontd/main.c: capf-frontd, the network-facing CAPF server.
 *
 * Terminates TLS for the phones on the CAPF port, speaks CAPF, and forwards each
 * step to capf-signerd over front.sock. It holds no CAPF signing key and keeps no
 * state that matters after a crash. One thread, one epoll loop: the listening
 * socket, every phone connection and the signer connections.
 *
 * Start-up order: empty the environment (but for SOFTHSM2_CONF and
 * CAPFHSM_MODULE, for a TLS key on a token), close inherited descriptors,
 * harden (no new privileges, not dumpable, no core, umask 077), read capf.conf,
 * make the TLS context (reads the key), bind the port (--listen, else
 * front.listen), and only then drop to --user when started as root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "appliance/common/harden.h"
#include "appliance/common/conffile.h"
#include "appliance/common/argnum.h"
#include "appliance/common/log.h"
#include "appliance/common/sdnotify.h"
#include "appliance/common/version.h"
#include "appliance/frontd/frontd.h"
#include "policy/errlist.h"

#define EXIT_RUNTIME 1 /* failed after start-up */
#define EXIT_USAGE 2   /* bad command line or configuration */
#define EXIT_STARTUP 3 /* could not start: key, certificate, port, user, signer socket path */

#define TICK_MS 200
#define ACCEPT_BATCH 64
#define SIGNER_TIMEOUT_MS 30000

static volatile sig_atomic_t got_signal, got_usr1;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: capf-frontd --config FILE [options]\n"
		"\n"
		"The CAPF front end: TLS on the CAPF port for the phones, every enrollment step\n"
		"forwarded to capf-signerd over SOCKETS_DIR/front.sock. Holds no CAPF CA key.\n"
		"\n"
		"  --config FILE            capf.conf (tls.*, sockets.dir, front.*); required\n"
		"  --listen ADDR:PORT       address to listen on; overrides front.listen of capf.conf\n"
		"                           (default 0.0.0.0:3804; [::]:3804 for IPv6)\n"
		"  --user NAME              when started as root: drop to this user after binding the\n"
		"                           port and loading the TLS key (root without --user is refused)\n"
		"  --signer-connections N   connections to the signer, one request each (default 32, 1..256)\n"
		"  --signer-queue N         requests waiting for a free connection before phones are told\n"
		"                           to retry later (default 1024)\n"
		"  --max-handshakes N       TLS handshakes in progress at once (1..1000000; default\n"
		"                           front.max_handshakes, 1024); the other ClientHellos wait,\n"
		"                           see Memory below\n"
		"  --provider-dir DIR       where capfhsm.so is, for a pkcs11: tls.key (default: ../lib\n"
		"                           beside bin/, else ../lib/capf-appliance); its PKCS#11 module\n"
		"                           is capf.conf's token.module\n"
		"  --foreground             stay in the foreground, log to stderr (else detach, syslog)\n"
		"  --verbose                log debug events too\n"
		"  --no-seccomp             do not install the system-call allow-list (debugging only)\n"
		"  --help                   this text\n"
		"  --version                print the version and exit\n"
		"\n"
		"TLS: 1.2 and 1.3 (tls.min_version \"1.0\"/\"1.1\" adds the old versions for old phones and\n"
		"lowers OpenSSL's security level to 0 for them), ECDHE suites only, no client certificate.\n"
		"tls.legacy = true (phones offering only TLSv1 with AES256-SHA:AES128-SHA) adds TLS 1.0/1.1\n"
		"and the static-RSA suites AES128-SHA, AES256-SHA; it needs an RSA tls.key in a file (an EC\n"
		"or pkcs11: key is refused at start-up). Each handshake below TLS 1.2 or with static RSA\n"
		"is logged: event=legacy_tls peer=... version=... cipher=...\n"
		"The address: --listen when given, else front.listen of capf.conf (default 0.0.0.0:3804).\n"
		"\n"
		"Limits (capf.conf front.*): max_connections phones at once, max_per_address from one\n"
		"address; beyond either, a phone is told RETRY_LATER {retry_delay} right after a TLS\n"
		"handshake of at most 5 s (64 such at a time, 4 per address; beyond, closed at once).\n"
		"Deadlines, all absolute (bytes that never complete a CAPF message extend nothing):\n"
		"handshake_timeout, idle_timeout for each answer of the phone, keygen_timeout, and\n"
		"session_timeout for the whole session.\n"
		"\n"
		"Memory: a connection takes no TLS state before its first TLS record (the ClientHello)\n"
		"is complete: a silent one costs a descriptor and under 1 KiB. A handshake in\n"
		"progress costs about 44 KiB (OpenSSL's buffers); at most --max-handshakes of them, the\n"
		"other ClientHellos wait (inside handshake_timeout from connect) in one queue per\n"
		"address, the addresses served in turn. When all are taken, a handshake that has held\n"
		"its slot 2 s is closed for an address holding fewer than its share (max-handshakes over\n"
		"the addresses with handshakes or ClientHellos waiting) when its own address holds more:\n"
		"clients that send a ClientHello and stall cannot keep other addresses' phones out.\n"
		"SIGUSR1 logs event=front_load (connections silent, waiting, in handshake; SSL objects;\n"
		"evictions; the heap); so does the stopping line.\n"
		"\n"
		"The environment is emptied at start-up but for SOFTHSM2_CONF and CAPFHSM_MODULE.\n"
		"front.sock is used only when its server is the owner of sockets.dir (SO_PEERCRED) and\n"
		"neither group nor others may write that directory.\n"
		"\n"
		"Exit status: 0 stopped by SIGTERM/SIGINT, 1 runtime failure, 2 usage or configuration\n"
		"error, 3 start-up failure (TLS key or certificate, port, user, sandbox), 70 a system\n"
		"call outside the seccomp allow-list (logged as event=seccomp_violation).\n"
		"Under systemd run it with --foreground (Type=notify): readiness is reported through\n"
		"NOTIFY_SOCKET once the port listens; stderr on the journal (JOURNAL_STREAM) gets \"<N>\"\n"
		"priorities instead of timestamps.\n");
}

/* ---- the loop ---- */

static struct front F;

uint64_t front_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int front_ev_add(struct front *f, struct front_ev *ev, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	return epoll_ctl(f->epfd, EPOLL_CTL_ADD, ev->fd, &e);
}

int front_ev_mod(struct front *f, struct front_ev *ev, uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = ev };

	return epoll_ctl(f->epfd, EPOLL_CTL_MOD, ev->fd, &e);
}

void front_ev_del(struct front *f, struct front_ev *ev)
{
	if (ev->fd >= 0)
		epoll_ctl(f->epfd, EPOLL_CTL_DEL, ev->fd, NULL);
}

static struct front_ev listen_ev = { EV_LISTEN, -1 };
static uint64_t listen_paused_until;
static uint64_t last_full_log;

static void peer_string(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		snprintf(buf, len, "unknown");
	}
}

static void do_accept(struct front *f)
{
	for (int i = 0; i < ACCEPT_BATCH; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char peer[80];
		struct peer *pa;
		uint64_t now;
		int refuse;
		int fd = accept4(listen_ev.fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* out of descriptors: stop accepting for a second rather than spin */
				capf_log(LOG_ERR, "accept_paused", "error=\"%s\" sessions=%u", strerror(errno),
					 f->nsessions);
				front_ev_del(f, &listen_ev);
				listen_paused_until = front_now_ms() + 1000;
			}
			return;
		}
		f->accepted++;
		peer_string(&ss, peer, sizeof(peer));
		if ((pa = peer_get(&ss)) == NULL) {
			close(fd);
			continue;
		}
		if (f->nsessions < f->max_sessions && pa->sessions < f->max_per_address) {
			session_new(f, fd, peer, pa, 0);
			continue;
		}
		/* at a limit: RETRY_LATER while that costs little, else closed at once */
		refuse = f->nrefusing < REFUSE_SLOTS && pa->refusing < REFUSE_PER_ADDRESS;
		if (f->nsessions >= f->max_sessions)
			f->refused_full++;
		else
			f->refused_address++;
		if (!refuse)
			f->dropped++;
		now = front_now_ms();
		if (now - last_full_log >= 1000) {
			capf_log(LOG_WARNING, "connection_limit",
				 "peer=%s limit=%s max_connections=%u "
				 "max_per_address=%u sessions=%u from_peer=%u addresses=%u refused_full=%llu "
				 "refused_address=%llu dropped=%llu",
				 peer, f->nsessions >= f->max_sessions ? "max_connections" : "max_per_address",
				 f->max_sessions, f->max_per_address, f->nsessions, pa->sessions, peer_count(),
				 f->refused_full, f->refused_address, f->dropped);
			last_full_log = now;
		}
		if (refuse) {
			session_new(f, fd, peer, pa, 1);
		} else {
			close(fd);
			peer_release(pa);
		}
	}
}

static int run(struct front *f)
{
	struct epoll_event evs[128];
	uint64_t next_tick = front_now_ms() + TICK_MS;

	while (!got_signal) {
		uint64_t now = front_now_ms();
		int timeout = next_tick > now ? (int)(next_tick - now) : 0;
		int n = epoll_wait(f->epfd, evs, 128, timeout);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			capf_log(LOG_ERR, "epoll_failed", "error=\"%s\"", strerror(errno));
			return EXIT_RUNTIME;
		}
		for (int i = 0; i < n; i++) {
			struct front_ev *ev = evs[i].data.ptr;

			switch (ev->kind) {
			case EV_LISTEN:
				do_accept(f);
				break;
			case EV_SESSION:
				session_event((struct session *)(void *)ev, evs[i].events);
				break;
			case EV_SIGNER:
				signer_event(f->signer, ev, evs[i].events);
				break;
			}
		}
		now = front_now_ms();
		session_admit(f, now);
		if (got_usr1) {
			got_usr1 = 0;
			session_log_load(f, "SIGUSR1");
		}
		if (now >= next_tick) {
			signer_tick(f->signer, now);
			session_tick(f, now);
			if (listen_paused_until != 0 && now >= listen_paused_until) {
				listen_paused_until = 0;
				front_ev_add(f, &listen_ev, EPOLLIN);
			}
			next_tick = now + TICK_MS;
		}
		session_reap();
	}
	session_log_load(f, "stopping");
	capf_log(LOG_INFO, "stopping",
		 "signal=%d sessions=%u accepted=%llu refused_full=%llu "
		 "refused_address=%llu dropped=%llu peak_per_address=%u",
		 (int)got_signal, f->nsessions, f->accepted, f->refused_full, f->refused_address, f->dropped,
		 f->peak_per_address);
	return 0;
}

/* ---- start-up ---- */

static int open_listener(const char *spec)
{
	struct capf_listen la;
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;

	if (capf_listen_parse(spec, &la) < 0) {
		fprintf(stderr, "capf-frontd: --listen %s: expected IPV4:PORT or [IPV6]:PORT\n", spec);
		return -2;
	}
	memset(&ss, 0, sizeof(ss));
	if (la.v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, la.addr, sizeof(s6->sin6_addr));
		s6->sin6_port = htons(la.port);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, la.addr, sizeof(s4->sin_addr));
		s4->sin_port = htons(la.port);
		sl = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* the longest accept queue the kernel grants (net.core.somaxconn caps it): a
	 * fleet coming back at once (after a CAPF change) must not overflow it, which
	 * drops connections the phones believe open (SYN cookies) */
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 65535) < 0) {
		fprintf(stderr, "capf-frontd: cannot listen on %s: %s\n", spec, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);
	char err[256];

	if (pw == NULL) {
		fprintf(stderr,
			"capf-frontd: --user %s: no such user (scripts/create-users makes capf-front)\n", user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		fprintf(stderr, "capf-frontd: --user %s is root; use an unprivileged user\n", user);
		return -1;
	}
	/* its own groups only: "capf" gives access to sockets.dir and front.sock */
	if (capf_drop_privileges(pw->pw_uid, pw->pw_gid, pw->pw_name, err, sizeof(err)) < 0) {
		fprintf(stderr, "capf-frontd: cannot become %s: %s\n", user, err);
		return -1;
	}
	return 0;
}

/* What the token needs of the environment (a pkcs11: tls.key); nothing else is kept. */
static const char *const env_keep[] = { "SOFTHSM2_CONF", "CAPFHSM_MODULE" };

/* environment, fds, umask, core, dumpable, no new privileges; then one descriptor
 * per phone */
static int harden(void)
{
	struct rlimit rl;
	char err[256];

	if (capf_env_scrub(env_keep, sizeof(env_keep) / sizeof(env_keep[0]), err, sizeof(err)) < 0 ||
	    capf_harden_process(err, sizeof(err)) < 0 || capf_no_new_privs(err, sizeof(err)) < 0) {
		fprintf(stderr, "capf-frontd: %s\n", err);
		return -1;
	}
	/* as many descriptors as allowed: one per phone */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	return 0;
}

/* An option's number within [lo, hi] (capf_parse_uint): 0, or -1 after saying
 * which option wanted what. */
static int opt_uint(const char *opt, const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	unsigned long v;

	if (capf_parse_uint(s, lo, hi, &v) != 0) {
		fprintf(stderr, "capf-frontd: %s %s: expected %u..%u\n", opt, s, lo, hi);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "user", required_argument, NULL, 'u' },
		{ "signer-connections", required_argument, NULL, 'n' },
		{ "signer-queue", required_argument, NULL, 'q' },
		{ "max-handshakes", required_argument, NULL, 'm' },
		{ "provider-dir", required_argument, NULL, 'p' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "no-seccomp", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct capf_conf conf;
	const char *config = NULL, *listen_spec = NULL, *user = NULL;
	char provider_dir[PATH_MAX + 8] = "", sock[CAPF_CONF_STR_MAX + 16], err[512];
	unsigned nconn = 32, qmax = 1024, max_hs = 0; /* 0: front.max_handshakes */
	int foreground = 0, verbose = 0, no_seccomp = 0, c, rc;
	struct capf_errlist *errs;
	struct rlimit rl;
	struct sigaction sa;

	capf_sd_capture(); /* NOTIFY_SOCKET, JOURNAL_STREAM: before anything else */
	if (capf_version_option(argc, argv, "capf-frontd"))
		return 0;
	if (harden() < 0)
		return EXIT_STARTUP;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'l':
			listen_spec = optarg;
			break;
		case 'u':
			user = optarg;
			break;
		case 'p':
			snprintf(provider_dir, sizeof(provider_dir), "%s", optarg);
			break;
		case 'f':
			foreground = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 's':
			no_seccomp = 1;
			break;
		case 'n':
			if (opt_uint("--signer-connections", optarg, 1, 256, &nconn) < 0)
				return EXIT_USAGE;
			break;
		case 'q':
			if (opt_uint("--signer-queue", optarg, 1, 1000000, &qmax) < 0)
				return EXIT_USAGE;
			break;
		case 'm':
			if (opt_uint("--max-handshakes", optarg, 1, 1000000, &max_hs) < 0)
				return EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || config == NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (geteuid() == 0 && user == NULL) {
		fprintf(stderr, "capf-frontd: refusing to run as root; start it as its own user "
				"or give --user capf-front\n");
		return EXIT_USAGE;
	}
	if (geteuid() != 0 && user != NULL) {
		struct passwd *pw = getpwnam(user);
		if (pw == NULL || pw->pw_uid != geteuid()) {
			fprintf(stderr, "capf-frontd: --user %s needs root (it only drops privileges)\n", user);
			return EXIT_USAGE;
		}
		user = NULL;
	}

	errs = capf_errlist_new();
	if (capf_conf_load(&conf, config, errs) < 0) {
		for (size_t i = 0; i < capf_errlist_count(errs); i++)
			fprintf(stderr, "capf-frontd: %s\n", capf_errlist_get(errs, i));
		capf_errlist_free(errs);
		return EXIT_USAGE;
	}
	capf_errlist_free(errs);
	if (listen_spec == NULL) /* --listen overrides front.listen */
		listen_spec = conf.front.listen;
	rc = snprintf(sock, sizeof(sock), "%s/front.sock", conf.sockets.dir);
	if (rc < 0 || (size_t)rc >= 108) {
		fprintf(stderr, "capf-frontd: %s: sockets.dir is too long for a socket path\n", config);
		return EXIT_USAGE;
	}

	capf_log_open("capf-frontd", foreground, verbose);
	F.conf = &conf;
	F.ssl = front_tls_ctx(&conf, provider_dir, err, sizeof(err));
	if (F.ssl == NULL) {
		fprintf(stderr, "capf-frontd: %s: %s\n", config, err);
		return EXIT_STARTUP;
	}
	listen_ev.fd = open_listener(listen_spec);
	if (listen_ev.fd < 0)
		return listen_ev.fd == -2 ? EXIT_USAGE : EXIT_STARTUP;
	if (user != NULL && drop_privileges(user) < 0)
		return EXIT_STARTUP;

	F.max_sessions = conf.front.max_connections;
	F.max_per_address = conf.front.max_per_address;
	F.max_handshakes = max_hs ? max_hs : conf.front.max_handshakes; /* the option overrides */
	/* descriptors: the phones, the RETRY_LATER slots, the signer, a few spare */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)F.max_sessions + REFUSE_SLOTS + nconn + 32) {
		F.max_sessions = rl.rlim_cur > nconn + REFUSE_SLOTS + 64 ?
					 (unsigned)(rl.rlim_cur - nconn - REFUSE_SLOTS - 32) :
					 16;
		capf_log(LOG_WARNING, "max_connections_lowered", "configured=%u effective=%u nofile=%llu",
			 conf.front.max_connections, F.max_sessions, (unsigned long long)rl.rlim_cur);
	}

	if (!foreground && daemon(0, 0) < 0) {
		fprintf(stderr, "capf-frontd: cannot detach: %s\n", strerror(errno));
		return EXIT_STARTUP;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	F.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (F.epfd < 0 || front_ev_add(&F, &listen_ev, EPOLLIN) < 0) {
		capf_log(LOG_ERR, "epoll_failed", "error=\"%s\"", strerror(errno));
		return EXIT_RUNTIME;
	}
	F.signer = signer_pool_new(&F, sock, nconn, qmax, SIGNER_TIMEOUT_MS);
	if (F.signer == NULL) {
		capf_log(LOG_ERR, "signer_pool_failed", "socket=%s", sock);
		return EXIT_RUNTIME;
	}
	tzset(); /* /etc/localtime now: no file opens in the sandbox */
	if (!no_seccomp && front_sandbox(strncmp(conf.tls.key, "pkcs11:", 7) == 0, err, sizeof(err)) < 0) {
		capf_log(LOG_ERR, "sandbox_failed", "error=\"%s\"", err);
		return EXIT_STARTUP;
	}
	/* Listening, signer pool set up, filter in place: ready (systemd
	 * Type=notify; the filter allows socket(AF_UNIX) and sendto). */
	if (capf_sd_notify("READY=1", err, sizeof(err)) < 0)
		capf_log(LOG_WARNING, "notify_failed", "error=\"%s\"", err);
	capf_log(LOG_INFO, "started",
		 "listen=%s tls_min=%s tls_legacy=%d signer=%s signer_connections=%u "
		 "max_connections=%u max_per_address=%u max_handshakes=%u uid=%u seccomp=%d",
		 listen_spec, capf_tls_version_name(conf.tls.min_version), conf.tls.legacy, sock, nconn,
		 F.max_sessions, F.max_per_address, F.max_handshakes, (unsigned)getuid(), !no_seccomp);
	rc = run(&F);
	(void)capf_sd_notify("STOPPING=1", err, sizeof(err));
	session_close_all(&F);
	signer_pool_free(F.signer);
	SSL_CTX_free(F.ssl);
	front_tls_free();
	close(listen_ev.fd);
	close(F.epfd);
	return rc;
}
