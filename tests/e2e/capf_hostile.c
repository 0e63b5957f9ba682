/*
 * tests/e2e/capf_hostile.c (build/tests/capf-hostile): the hostile and odd peers of the
 * tests, one subcommand per case (the ipc-* ones, against capf-signerd's front.sock, are in
 * tests/e2e/hostile_ipc.c). Against capf-frontd's CAPF port (TLS):
 *
 *   capf-hostile CASE HOST PORT [OPTIONS]
 *
 * Each case exits 0 when the server behaved: it answered the bad input with a clean
 * END_SESSION (REASON 7) or closed the connection within the time limit, and for the
 * cases that must work (split, unknown-tag) with the answer --expect names; 1 when it
 * did not, 2 on a usage error. It prints one line saying what happened ("ok: ...",
 * "FAIL: ..."). `capf-hostile --help` lists the cases and options (usage[] below).
 * The TLS certificate is checked against $CAPF_CA_CERT when set (not otherwise);
 * $CAPF_HOSTILE_TIMEOUT (default 20 s) bounds every wait for the server.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "appliance/capf/msg.h"
#include "appliance/capf/proto.h"
#include "tests/e2e/hostile.h"

static const char usage[] =
	"usage: capf-hostile CASE HOST PORT [OPTIONS]    (a client of capf-frontd's CAPF port)\n"
	"       capf-hostile fake-server PATH [--uid UID] [--duration S]\n"
	"Cases that must end with END_SESSION 7 or a closed connection:\n"
	"  half-header        5 of the 8 header bytes, then silence (idle timeout)\n"
	"  length-overrun     a header announcing 200 body bytes, 20 sent, then silence\n"
	"  short-body         a body whose element runs past the body length (framing)\n"
	"  wrong-protocol-id  first byte 0x56\n"
	"  wrong-session-id   AUTH_RESPONSE with a session id the server did not choose\n"
	"  unknown-command    command 99 in place of AUTH_RESPONSE\n"
	"  garbage            random bytes inside TLS\n"
	"  plain-garbage      random bytes, no TLS at all\n"
	"  huge-body          a header announcing a 65535-byte body (above the cap)\n"
	"Cases that must be answered with --expect CMD[:VALUE] (default END_SESSION:9):\n"
	"  split              a valid AUTH_RESPONSE (--name) sent one byte per TLS record\n"
	"  unknown-tag        a valid AUTH_RESPONSE with unknown element tags (skipped)\n"
	"  (--delay S: wait that long after AUTH_REQUEST first)\n"
	"A phone that stops during key generation (--name, a device scheduled for install):\n"
	"  keygen-vanish      closes the connection on KEY_GENERATE_REQUEST\n"
	"  keygen-silent      answers REQUEST_IN_PROGRESS, then nothing: END_SESSION 7, close\n"
	"Many connections:\n"
	"  idle               --count N clients (half plain TCP, half after the handshake) that\n"
	"                     say nothing; prints \"ready\" when all are connected, then waits\n"
	"                     until the server closed every one (or sent END_SESSION 7)\n"
	"  limit              --count N connections held (AUTH_REQUEST received); one more from\n"
	"                     the same address (--bind) must get --expect (RETRY_LATER[:DELAY])\n"
	"                     and one from --other-bind ADDR must still be served\n"
	"  trickle            after AUTH_REQUEST, a message that never completes, one byte every\n"
	"                     --interval s: the session must end within --within s\n"
	"  slow-handshake     the TLS ClientHello one byte every --interval s: the server must\n"
	"                     close within --within s\n"
	"  flood              --count connections from --bind ADDR (default 127.0.0.1) for\n"
	"                     --duration s; each one held after the handshake trickles a message\n"
	"                     that never completes (a byte every --interval s); every one the\n"
	"                     server ends is opened again (at most --rate connections/s). Prints\n"
	"                     \"ready\" once the first --count were opened and at the end a JSON\n"
	"                     line: attempts, held_max, held_total, retry_later, closed, trickled,\n"
	"                     open_at_end, held_at_end, seconds; SIGTERM ends it early\n"
	"  hello-stall        --count connections from --bind ADDR (default 127.0.0.1) that each\n"
	"                     send a complete TLS ClientHello and then nothing (what the server\n"
	"                     sends is read and dropped); every one the server closes is opened\n"
	"                     again (at most --rate/s) for --duration s. Prints \"ready\" once the\n"
	"                     first --count were opened and at the end a JSON line: attempts,\n"
	"                     closed, open_at_end, seconds; SIGTERM ends it early\n"
	"  silent             the same, but the connections send nothing at all (plain TCP)\n"
	"A compromised capf-frontd on capf-signerd's front.sock (tests/e2e/hostile_ipc.c):\n"
	"  ipc-raw SOCK VERBHEX [LEN]   a request header padded with junk to LEN bytes: closed=1\n"
	"  ipc-burst SOCK NAME N        N connections send BEGIN at once: ok=, retry_later=, other=, closed=\n"
	"  ipc-unread SOCK N            N PINGs, no answer read: sent=, closed=1 once dropped\n"
	"  ipc-forged-issue SOCK        ISSUE with a TOKEN no session has: closed=1\n"
	"  ipc-replay SOCK FILE [--fresh-session]   a saved BEGIN (signerd-client enroll\n"
	"                               --save-begin) again, or on a new session id\n"
	"  ipc-admin SOCK VERBHEX FIELD...   a request capfctl would not send (its checks skipped),\n"
	"                               FIELD: TAG=u8:N, TAG=str:TEXT or TAG=file:PATH; prints\n"
	"                               status=N text=...; exit 0 when the daemon refused it\n"
	"  ipc-bulk-abandon SOCK        8 connections stage a bulk change and stay open: a ninth\n"
	"                               BULK_BEGIN gets RETRY_LATER; closed, nothing stays staged\n"
	"A peer of capf-frontd or capfctl on AF_UNIX:\n"
	"  fake-server PATH   a SOCK_SEQPACKET server on PATH (as --uid UID when given, bound\n"
	"                     first, as root) that never answers; prints \"listening\", then\n"
	"                     \"connection\" and \"received N bytes\"; stops after --duration s\n"
	"Options: --name NAME (SEP0000DEADBEEF) --expect CMD[:VALUE] --count N (300) --bind ADDR\n"
	"  --other-bind ADDR --interval S (0.5) --within S (10) --duration S (20) --rate N (200)\n"
	"  --uid UID --delay S\n"
	"Environment: CAPF_CA_CERT (verify the server's certificate), CAPF_HOSTILE_TIMEOUT (20).\n"
	"Exit status: 0 the server behaved, 1 it did not (or no connection), 2 usage.\n";

static struct {
	const char *name, *expect, *bind, *other;
	long count, uid;
	double interval, within, duration, rate, delay;
} opt = { "SEP0000DEADBEEF", "END_SESSION:9", NULL, NULL, 300, -1, 0.5, 10.0, 20.0, 200.0, 0.0 };

static double limit_s = 20.0; /* $CAPF_HOSTILE_TIMEOUT */
static SSL_CTX *ctx;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void nap(double s)
{
	struct timespec t = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

static void set_timeout(int fd, double s)
{
	struct timeval tv = { (time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6) };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A TCP socket to host:port from bind (NULL: any), connected (nonblock: in progress). */
static int tcp_open(const char *host, const char *port, const char *bind_addr, int nonblock)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST };
	struct addrinfo *ai, *src = NULL;
	int fd, one = 1;

	if (getaddrinfo(host, port, &hints, &ai) != 0)
		fail("bad address %s:%s", host, port);
	if (bind_addr != NULL && getaddrinfo(bind_addr, "0", &hints, &src) != 0)
		fail("bad --bind address %s", bind_addr);
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		if (src != NULL)
			freeaddrinfo(src);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* one TLS record per byte, really */
	if (!nonblock)
		set_timeout(fd, limit_s);
	if ((src != NULL && bind(fd, src->ai_addr, src->ai_addrlen) != 0) ||
	    (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && !(nonblock && errno == EINPROGRESS))) {
		int e = errno;

		close(fd);
		fd = -1;
		errno = e;
	}
	freeaddrinfo(ai);
	if (src != NULL)
		freeaddrinfo(src);
	return fd;
}

static void tls_init(void)
{
	const char *ca = getenv("CAPF_CA_CERT"), *t = getenv("CAPF_HOSTILE_TIMEOUT");

	if (t != NULL && atof(t) > 0)
		limit_s = atof(t);
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		fail("SSL_CTX_new");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_ENABLE_PARTIAL_WRITE);
	if (ca != NULL && ca[0] != '\0') {
		/* the TLS certificate must chain to the CAPF CA */
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
			fail("cannot read CAPF_CA_CERT %s", ca);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	}
}

/* A TLS connection (handshake done), or NULL. */
static SSL *tls_connect(const char *host, const char *port, const char *bind_addr)
{
	int fd = tcp_open(host, port, bind_addr, 0);
	SSL *s;

	if (fd < 0)
		return NULL;
	if ((s = SSL_new(ctx)) == NULL || SSL_set_fd(s, fd) != 1 || SSL_connect(s) != 1) {
		SSL_free(s);
		close(fd);
		ERR_clear_error();
		return NULL;
	}
	return s;
}

static void tls_close(SSL *s)
{
	int fd;

	if (s == NULL)
		return;
	fd = SSL_get_fd(s);
	SSL_free(s);
	close(fd);
}

static int send_all(SSL *s, const void *buf, size_t len)
{
	size_t w;

	if (len == 0)
		return 0;
	if (SSL_write_ex(s, buf, len, &w) != 1 || w != len) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/* n bytes, or -1 when the connection closed or failed first. */
static int recv_exact(SSL *s, uint8_t *buf, size_t n)
{
	size_t got = 0, r;

	while (got < n) {
		if (SSL_read_ex(s, buf + got, n - got, &r) != 1) {
			ERR_clear_error();
			return -1;
		}
		got += r;
	}
	return 0;
}

/* One message from the server. */
struct reply {
	uint8_t buf[8 + 65535];
	struct capf_msg m;
};

/* 1 and the message, 0 when the server closed the connection (or the wait ended). */
static int read_msg(SSL *s, struct reply *r)
{
	char err[160];
	size_t n;

	if (recv_exact(s, r->buf, 8) != 0)
		return 0;
	if (r->buf[0] != CAPF_PROTOCOL_ID)
		fail("server sent protocol id %#x", r->buf[0]);
	n = (size_t)r->buf[6] << 8 | r->buf[7];
	if (recv_exact(s, r->buf + 8, n) != 0)
		fail("server message truncated");
	if (capf_msg_parse(&r->m, r->buf, 8 + n, CAPF_BODY_MAX, NULL, err, sizeof(err)) != 0)
		fail("server message malformed: %s", err);
	return 1;
}

/* The REASON of an END_SESSION, the RETRY_DELAY of a RETRY_LATER, else -1. */
static long value_of(const struct capf_msg *m)
{
	char err[160];
	uint8_t v8;
	uint32_t v32;

	if (m->command == CAPF_CMD_END_SESSION && capf_msg_u8(m, CAPF_TAG_REASON, &v8, err, sizeof(err)) == 1)
		return v8;
	if (m->command == CAPF_CMD_RETRY_LATER &&
	    capf_msg_uint(m, CAPF_TAG_RETRY_DELAY, &v32, err, sizeof(err)) == 1)
		return (long)v32;
	return -1;
}

/* What was received, as --expect writes it: "END_SESSION:9", "RETRY_LATER:60", "closed". */
static void describe(const struct capf_msg *m, char *out, size_t len)
{
	long v;

	if (m == NULL) {
		snprintf(out, len, "closed");
		return;
	}
	v = value_of(m);
	if (v >= 0)
		snprintf(out, len, "%s:%ld", capf_command_name(m->command), v);
	else
		snprintf(out, len, "%s", capf_command_name(m->command));
}

/* got ("CMD:V") matches want ("CMD" or "CMD:V"). */
static int matches(const char *got, const char *want)
{
	size_t n = strlen(want);

	return strncmp(got, want, n) == 0 && (got[n] == '\0' || (got[n] == ':' && strchr(want, ':') == NULL));
}

static void put_be(uint8_t *p, uint32_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* A message built from a body the caller wrote (raw: may be malformed on purpose). */
static size_t message(uint8_t *out, uint8_t cmd, const uint8_t sid[4], const uint8_t *body, size_t len)
{
	out[0] = CAPF_PROTOCOL_ID;
	out[1] = cmd;
	memcpy(out + 2, sid, 4);
	put_be(out + 6, (uint32_t)len, 2);
	if (len > 0)
		memcpy(out + 8, body, len);
	return 8 + len;
}

/* AUTH_RESPONSE for name in the session sid (unknown: with three unknown tags). */
static size_t auth_response(uint8_t *out, size_t cap, const uint8_t sid[4], const char *name, int unknown)
{
	struct capf_builder b;
	const uint8_t *msg;
	size_t len;
	char err[160];
	uint32_t id = (uint32_t)sid[0] << 24 | (uint32_t)sid[1] << 16 | (uint32_t)sid[2] << 8 | sid[3];

	capf_build_init(&b, CAPF_CMD_AUTH_RESPONSE, id, 0);
	capf_build_u8(&b, CAPF_TAG_REASON, 1);
	capf_build_u8(&b, CAPF_TAG_VERSION, 3);
	if (unknown) {
		capf_build_put(&b, 99, "future", 6);
		capf_build_put(&b, 250, "", 0);
		capf_build_put(&b, 14, "\x01\x02", 2);
	}
	capf_build_cstr(&b, CAPF_TAG_DEVICE_NAME, name, 0);
	capf_build_u8(&b, CAPF_TAG_PASSWORD, 0);
	if (capf_build_finish(&b, &msg, &len, err, sizeof(err)) != 0 || len > cap)
		fail("cannot build AUTH_RESPONSE: %s", err);
	memcpy(out, msg, len);
	capf_build_free(&b);
	return len;
}

/* Connects and reads AUTH_REQUEST (VERSION 3, AUTH_TYPE); its session id in sid. */
static SSL *start(const char *host, const char *port, const char *bind_addr, uint8_t sid[4])
{
	static struct reply r;
	char err[160];
	uint8_t v;
	SSL *s = tls_connect(host, port, bind_addr);

	if (s == NULL)
		fail("no TLS connection to %s:%s", host, port);
	if (!read_msg(s, &r) || r.m.command != CAPF_CMD_AUTH_REQUEST)
		fail("no AUTH_REQUEST");
	if (capf_msg_u8(&r.m, CAPF_TAG_VERSION, &v, err, sizeof(err)) != 1 || v != 3 ||
	    capf_msg_find(&r.m, CAPF_TAG_AUTH_TYPE, NULL) == 0)
		fail("AUTH_REQUEST without VERSION 3 / AUTH_TYPE");
	memcpy(sid, r.buf + 2, 4);
	return s;
}

/* The server must answer with END_SESSION 7 (possibly after nothing) or close. */
static int expect_end_or_close(SSL *s, const char *what)
{
	static struct reply r;
	double t0 = now();
	long v;

	if (!read_msg(s, &r)) {
		printf("ok: %s: connection closed by the server after %.1fs\n", what, now() - t0);
		return 0;
	}
	if (r.m.command != CAPF_CMD_END_SESSION) {
		printf("FAIL: %s: unexpected %s\n", what, capf_command_name(r.m.command));
		return 1;
	}
	if ((v = value_of(&r.m)) != 7) {
		printf("FAIL: %s: END_SESSION reason %ld (expected 7)\n", what, v);
		return 1;
	}
	if (read_msg(s, &r)) {
		printf("FAIL: %s: data after END_SESSION\n", what);
		return 1;
	}
	printf("ok: %s: END_SESSION 7 then close after %.1fs\n", what, now() - t0);
	return 0;
}

static int case_bad(const char *host, const char *port, const char *c)
{
	static uint8_t out[8 + 4096], body[4096];
	uint8_t sid[4], bad[4];
	size_t n = 0, bl;
	SSL *s = start(host, port, NULL, sid);
	int rc;

	if (strcmp(c, "half-header") == 0) {
		out[0] = CAPF_PROTOCOL_ID;
		out[1] = CAPF_CMD_AUTH_RESPONSE;
		memcpy(out + 2, sid, 3);
		n = 5;
	} else if (strcmp(c, "length-overrun") == 0) {
		n = message(out, CAPF_CMD_AUTH_RESPONSE, sid, (const uint8_t *)"\x0d\x00\x05SEP00xxxxxxxxxxxx",
			    20);
		put_be(out + 6, 200, 2);
	} else if (strcmp(c, "short-body") == 0) {
		/* DEVICE_NAME cut 4 bytes short, then a VERSION header announcing 16 bytes */
		memcpy(body, "\x0d\x00\x10SEP001122334455", 18);
		memcpy(body + 15, "\x07\x00\x10", 3);
		n = message(out, CAPF_CMD_AUTH_RESPONSE, sid, body, 18);
	} else if (strcmp(c, "wrong-protocol-id") == 0) {
		n = auth_response(out, sizeof(out), sid, "SEP001122334455", 0);
		out[0] = 0x56;
	} else if (strcmp(c, "wrong-session-id") == 0) {
		for (int i = 0; i < 4; i++)
			bad[i] = (uint8_t)(sid[i] ^ 0xff);
		n = auth_response(out, sizeof(out), bad, "SEP001122334455", 0);
	} else if (strcmp(c, "unknown-command") == 0) {
		n = message(out, 99, sid, (const uint8_t *)"\x01\x00\x01\x01", 4);
	} else if (strcmp(c, "garbage") == 0) {
		RAND_bytes(out, 3000);
		n = 3000;
	} else if (strcmp(c, "huge-body") == 0) {
		memset(body, 0, 100);
		bl = 100;
		n = message(out, CAPF_CMD_AUTH_RESPONSE, sid, body, bl);
		put_be(out + 6, 0xffff, 2);
	}
	send_all(s, out, n);
	rc = expect_end_or_close(s, c);
	tls_close(s);
	return rc;
}

static int case_plain_garbage(const char *host, const char *port)
{
	uint8_t buf[4096];
	int fd = tcp_open(host, port, NULL, 0);
	double t0;

	if (fd < 0)
		fail("no connection to %s:%s", host, port);
	RAND_bytes(buf, 600);
	if (send(fd, buf, 600, MSG_NOSIGNAL) != 600)
		fail("plain-garbage: cannot send");
	t0 = now();
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
	close(fd);
	printf("ok: plain-garbage: closed after %.1fs\n", now() - t0);
	return 0;
}

static int case_good(const char *host, const char *port, const char *c)
{
	static uint8_t out[8 + 1024];
	static struct reply r;
	uint8_t sid[4];
	char got[64];
	size_t n;
	SSL *s = start(host, port, NULL, sid);

	nap(opt.delay);
	n = auth_response(out, sizeof(out), sid, opt.name, strcmp(c, "unknown-tag") == 0);
	if (strcmp(c, "split") == 0) {
		for (size_t i = 0; i < n; i++)
			send_all(s, out + i, 1); /* one TLS record per byte */
	} else {
		send_all(s, out, n);
	}
	if (!read_msg(s, &r)) {
		printf("FAIL: %s: closed without an answer\n", c);
		return 1;
	}
	if (memcmp(r.buf + 2, sid, 4) != 0) {
		printf("FAIL: %s: answer with another session id\n", c);
		return 1;
	}
	describe(&r.m, got, sizeof(got));
	if (!matches(got, opt.expect)) {
		printf("FAIL: %s: got %s, expected %s\n", c, got, opt.expect);
		return 1;
	}
	printf("ok: %s: %s\n", c, got);
	tls_close(s);
	return 0;
}

static int case_keygen(const char *host, const char *port, int silent)
{
	static uint8_t out[8 + 1024];
	static struct reply r;
	uint8_t sid[4];
	int rc;
	SSL *s = start(host, port, NULL, sid);

	send_all(s, out, auth_response(out, sizeof(out), sid, opt.name, 0));
	if (!read_msg(s, &r) || r.m.command != CAPF_CMD_KEY_GENERATE_REQUEST) {
		printf("FAIL: %s: no KEY_GENERATE_REQUEST\n", opt.name);
		return 1;
	}
	if (!silent) {
		tls_close(s); /* gone */
		printf("ok: %s: vanished after KEY_GENERATE_REQUEST\n", opt.name);
		return 0;
	}
	send_all(s, out, message(out, CAPF_CMD_REQUEST_IN_PROGRESS, sid, NULL, 0));
	rc = expect_end_or_close(s, "keygen-silent");
	tls_close(s);
	return rc;
}

static void raise_nofile(long *n)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)*n + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
		printf("RLIMIT_NOFILE %lu: %lu connections instead of %ld\n", (unsigned long)rl.rlim_cur,
		       (unsigned long)rl.rlim_cur - 64, *n);
		*n = (long)rl.rlim_cur - 64;
	}
	fflush(stdout);
}

static int case_idle(const char *host, const char *port)
{
	long n = opt.count, open_n = 0, refused = 0, bad = 0;
	struct pollfd *pf;
	SSL **ssl;
	static struct reply r;
	double deadline;

	raise_nofile(&n);
	pf = calloc((size_t)n, sizeof(*pf));
	ssl = calloc((size_t)n, sizeof(*ssl));
	if (pf == NULL || ssl == NULL)
		fail("out of memory");
	for (long i = 0; i < n; i++) {
		pf[i].fd = -1;
		if (i % 2) {
			SSL *s = tls_connect(host, port, NULL); /* handshake done, then silence */

			if (s == NULL || !read_msg(s, &r) || r.m.command == CAPF_CMD_RETRY_LATER) {
				refused++; /* closed or RETRY_LATER (connection limit) */
				tls_close(s);
				continue;
			}
			if (r.m.command != CAPF_CMD_AUTH_REQUEST)
				fail("idle client %ld: no AUTH_REQUEST", i);
			ssl[i] = s;
			pf[i].fd = SSL_get_fd(s);
		} else if ((pf[i].fd = tcp_open(host, port, NULL, 0)) < 0) {
			fail("idle client %ld: no connection", i);
		}
		fcntl(pf[i].fd, F_SETFL, fcntl(pf[i].fd, F_GETFL) | O_NONBLOCK);
		pf[i].events = POLLIN;
		open_n++;
	}
	printf("ready\n");
	fflush(stdout);
	deadline = now() + limit_s + 30;
	while (open_n > 0 && now() < deadline) {
		if (poll(pf, (nfds_t)n, 1000) < 0 && errno != EINTR)
			fail("poll: %s", strerror(errno));
		for (long i = 0; i < n; i++) {
			uint8_t buf[4096];
			size_t got = 0;
			int closed = 0;

			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (ssl[i] != NULL) {
				for (;;) {
					if (SSL_read_ex(ssl[i], buf, sizeof(buf), &got) == 1) {
						if (got >= 2 && buf[0] == CAPF_PROTOCOL_ID &&
						    buf[1] == CAPF_CMD_END_SESSION && buf[got - 1] != 7)
							bad++;
						continue;
					}
					closed = SSL_get_error(ssl[i], 0) != SSL_ERROR_WANT_READ;
					ERR_clear_error();
					break;
				}
			} else {
				ssize_t k;

				while ((k = recv(pf[i].fd, buf, sizeof(buf), 0)) > 0)
					;
				closed = k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
			}
			if (closed) {
				if (ssl[i] != NULL)
					tls_close(ssl[i]);
				else
					close(pf[i].fd);
				ssl[i] = NULL;
				pf[i].fd = -1;
				open_n--;
			}
		}
	}
	for (long i = 0; i < n; i++) {
		if (ssl[i] != NULL)
			tls_close(ssl[i]);
		else if (pf[i].fd >= 0)
			close(pf[i].fd);
	}
	free(pf);
	free(ssl);
	if (open_n > 0 || bad > 0) {
		printf("FAIL: idle: %ld of %ld still open, %ld bad END_SESSION\n", open_n, n, bad);
		return 1;
	}
	printf("ok: idle: all %ld silent clients were closed by the server (%ld at once)\n", n, refused);
	return 0;
}

static int case_limit(const char *host, const char *port)
{
	static struct reply r;
	SSL **held = calloc((size_t)opt.count + 1, sizeof(*held));
	char got[64];
	SSL *s;
	int m;

	if (held == NULL)
		fail("out of memory");
	for (long i = 0; i < opt.count; i++) {
		if ((held[i] = tls_connect(host, port, opt.bind)) == NULL || !read_msg(held[i], &r) ||
		    r.m.command != CAPF_CMD_AUTH_REQUEST) {
			printf("FAIL: limit: connection %ld of %ld was not served\n", i + 1, opt.count);
			return 1;
		}
	}
	if ((s = tls_connect(host, port, opt.bind)) == NULL) {
		snprintf(got, sizeof(got), "closed");
		m = 0;
	} else {
		m = read_msg(s, &r);
		describe(m ? &r.m : NULL, got, sizeof(got));
	}
	if (!matches(got, opt.expect)) {
		printf("FAIL: limit: connection %ld from %s: got %s, expected %s\n", opt.count + 1,
		       opt.bind ? opt.bind : "127.0.0.1", got, opt.expect);
		return 1;
	}
	if (m && read_msg(s, &r)) {
		printf("FAIL: limit: data after %s\n", got);
		return 1;
	}
	tls_close(s);
	if (opt.other != NULL) {
		s = tls_connect(host, port, opt.other);
		if (s == NULL || !read_msg(s, &r) || r.m.command != CAPF_CMD_AUTH_REQUEST) {
			printf("FAIL: limit: a connection from %s was not served while %s is at its limit\n",
			       opt.other, opt.bind ? opt.bind : "127.0.0.1");
			return 1;
		}
		tls_close(s);
	}
	for (long i = 0; i < opt.count; i++)
		tls_close(held[i]);
	free(held);
	printf("ok: limit: %ld held, the next one got %s%s\n", opt.count, got,
	       opt.other ? ", another address served" : "");
	return 0;
}

/* poll for input on s for at most secs: 1 readable, 0 not */
static int readable(SSL *s, double secs)
{
	struct pollfd p = { .fd = SSL_get_fd(s), .events = POLLIN };

	return SSL_pending(s) > 0 || poll(&p, 1, (int)(secs * 1000)) > 0;
}

static int case_trickle(const char *host, const char *port)
{
	uint8_t sid[4], head[8], buf[4096];
	SSL *s = start(host, port, opt.bind, sid);
	double t0 = now(), dt;
	const char *end = NULL;
	char endbuf[32];
	long sent = 0;
	size_t got;

	/* a header announcing a 4000-byte body, then body bytes: never a whole message */
	message(head, CAPF_CMD_AUTH_RESPONSE, sid, NULL, 0);
	put_be(head + 6, 4000, 2);
	while (now() - t0 < opt.within + 10) {
		uint8_t b = sent < 8 ? head[sent] : 0x0d;

		if (send_all(s, &b, 1) != 0) {
			end = "closed";
			break;
		}
		sent++;
		if (!readable(s, opt.interval))
			continue;
		if (SSL_read_ex(s, buf, sizeof(buf), &got) != 1) {
			if (SSL_get_error(s, 0) == SSL_ERROR_WANT_READ)
				continue;
			end = "closed";
			break;
		}
		if (got >= 2 && buf[0] == CAPF_PROTOCOL_ID && buf[1] == CAPF_CMD_END_SESSION) {
			if (buf[got - 1] != 7) {
				printf("FAIL: trickle: END_SESSION reason %d (expected 7)\n", buf[got - 1]);
				return 1;
			}
			end = "END_SESSION 7";
			break;
		}
	}
	dt = now() - t0;
	if (end == NULL || dt > opt.within) {
		snprintf(endbuf, sizeof(endbuf), "%s", end ? end : "still open");
		printf("FAIL: trickle: the server kept the session %.1fs (%ld bytes trickled, %s), limit %.1fs\n",
		       dt, sent, endbuf, opt.within);
		return 1;
	}
	printf("ok: trickle: %s after %.1fs and %ld bytes one every %.2fs\n", end, dt, sent, opt.interval);
	tls_close(s);
	return 0;
}

/* A real ClientHello (from a memory BIO): its length. */
static int client_hello(uint8_t *hello, int cap)
{
	BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
	SSL *s = SSL_new(ctx);
	int hl;

	if (in == NULL || out == NULL || s == NULL)
		fail("out of memory");
	SSL_set_bio(s, in, out);
	SSL_set_connect_state(s);
	SSL_do_handshake(s);
	if ((hl = BIO_read(out, hello, cap)) <= 0)
		fail("no ClientHello");
	SSL_free(s);
	ERR_clear_error();
	return hl;
}

static int case_slow_handshake(const char *host, const char *port)
{
	/* a real ClientHello sent one byte at a time */
	uint8_t hello[4096], buf[4096];
	int hl = client_hello(hello, sizeof(hello)), fd;
	long i = 0;
	double t0, dt;
	const char *end = NULL;

	if ((fd = tcp_open(host, port, NULL, 0)) < 0)
		fail("no connection to %s:%s", host, port);
	set_timeout(fd, opt.interval);
	t0 = now();
	while (now() - t0 < opt.within + 10) {
		uint8_t b = i < hl ? hello[i] : 0;
		ssize_t k;

		if (send(fd, &b, 1, MSG_NOSIGNAL) != 1) {
			end = "closed";
			break;
		}
		i++;
		k = recv(fd, buf, sizeof(buf), 0);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			end = "closed";
			break;
		}
	}
	dt = now() - t0;
	close(fd);
	if (end == NULL || dt > opt.within) {
		printf("FAIL: slow-handshake: open after %.1fs (%ld bytes sent), limit %.1fs\n", dt, i,
		       opt.within);
		return 1;
	}
	printf("ok: slow-handshake: closed after %.1fs and %ld bytes\n", dt, i);
	return 0;
}

/* ---- flood ---------------------------------------------------------------------------- */

enum phase { P_FREE, P_HANDSHAKE, P_AUTH, P_HELD };
struct conn {
	SSL *s;
	enum phase phase;
	uint8_t head[8], last[2];
	size_t got; /* bytes of the first message read (up to 8) */
	long sent;
	double next;
};
static volatile sig_atomic_t flood_stop;
static void on_term(int sig)
{
	(void)sig;
	flood_stop = 1;
}

static struct {
	long attempts, held_max, held_total, retry_later, closed, trickled, held;
} st;

static void conn_close(struct conn *c, long *counter)
{
	tls_close(c->s);
	c->s = NULL;
	if (c->phase == P_HELD)
		st.held--;
	c->phase = P_FREE;
	if (counter != NULL)
		(*counter)++;
}

/* 1 opened, 0 failed (try the next one), -1 failed for lack of addresses or descriptors */
static int conn_open(struct conn *c, const char *host, const char *port)
{
	int fd = tcp_open(host, port, opt.bind ? opt.bind : "127.0.0.1", 1);

	if (fd < 0)
		return errno == EADDRNOTAVAIL || errno == EMFILE || errno == ENFILE ? -1 : 0;
	memset(c, 0, sizeof(*c));
	if ((c->s = SSL_new(ctx)) == NULL || SSL_set_fd(c->s, fd) != 1) {
		SSL_free(c->s);
		c->s = NULL;
		close(fd);
		return -1;
	}
	SSL_set_connect_state(c->s);
	c->phase = P_HANDSHAKE;
	st.attempts++;
	return 1;
}

/* Progress on a connection that poll says is ready. */
static void conn_step(struct conn *c)
{
	uint8_t buf[4096];
	size_t n;
	int e;

	if (c->phase == P_HANDSHAKE) {
		if (SSL_do_handshake(c->s) == 1) {
			c->phase = P_AUTH;
		} else if ((e = SSL_get_error(c->s, 0)) != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			conn_close(c, &st.closed);
			return;
		}
		if (c->phase == P_HANDSHAKE)
			return;
	}
	for (;;) {
		if (SSL_read_ex(c->s, buf, sizeof(buf), &n) != 1) {
			e = SSL_get_error(c->s, 0);
			ERR_clear_error();
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
				conn_close(c, &st.closed);
			return;
		}
		for (size_t i = 0; i < n; i++) {
			if (c->phase == P_AUTH && c->got < 8) {
				c->head[c->got++] = buf[i];
				if (c->got < 8)
					continue;
				if (c->head[1] == CAPF_CMD_RETRY_LATER) {
					conn_close(c, &st.retry_later);
					return;
				}
				if (c->head[1] == CAPF_CMD_AUTH_REQUEST) {
					c->phase = P_HELD;
					c->next = now();
					st.held++;
					st.held_total++;
					if (st.held > st.held_max)
						st.held_max = st.held;
				}
				continue;
			}
			if (c->phase == P_HELD && c->last[1] == CAPF_PROTOCOL_ID &&
			    buf[i] == CAPF_CMD_END_SESSION) {
				conn_close(c, &st.closed); /* END_SESSION: the server ended it */
				return;
			}
			c->last[0] = c->last[1];
			c->last[1] = buf[i];
		}
	}
}

/* the trickle: one byte, the header of a 4000-byte AUTH_RESPONSE and then its body */
static void conn_trickle(struct conn *c, double t)
{
	uint8_t b;
	size_t w;
	int e;

	if (c->phase != P_HELD || t < c->next)
		return;
	if (c->sent < 8) {
		uint8_t h[8];

		message(h, CAPF_CMD_AUTH_RESPONSE, c->head + 2, NULL, 0);
		put_be(h + 6, 4000, 2);
		b = h[c->sent];
	} else {
		b = 0x0d;
	}
	if (SSL_write_ex(c->s, &b, 1, &w) == 1) {
		c->sent++;
		st.trickled++;
	} else if ((e = SSL_get_error(c->s, 0)) != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
		ERR_clear_error();
		conn_close(c, &st.closed);
		return;
	}
	c->next = t + opt.interval;
}

/* --rate connections a second: the budget grows with the time since last, up to a second's worth */
static void refill(double *budget, double *last)
{
	double t = now();

	*budget += (t - *last) * opt.rate;
	if (*budget > opt.rate)
		*budget = opt.rate;
	*last = t;
}

static int case_flood(const char *host, const char *port)
{
	long n = opt.count, open_n = 0;
	int r;
	struct conn *c;
	struct pollfd *pf;
	double t0 = now(), stop_at = t0 + opt.duration, budget = 0, last = t0;
	int opened_all = 0;

	raise_nofile(&n);
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	if ((c = calloc((size_t)n, sizeof(*c))) == NULL || (pf = calloc((size_t)n, sizeof(*pf))) == NULL)
		fail("out of memory");
	while (!flood_stop && now() < stop_at) {
		double t;

		refill(&budget, &last);
		open_n = 0;
		for (long i = 0; i < n; i++)
			open_n += c[i].phase != P_FREE;
		for (long i = 0; i < n && open_n < n; i++) {
			if (c[i].phase != P_FREE)
				continue;
			if (opened_all) {
				if (budget < 1)
					break;
				budget -= 1;
			} else if (st.attempts >= n) {
				break;
			}
			if ((r = conn_open(&c[i], host, port)) < 0)
				break;
			open_n += r;
		}
		if (!opened_all && st.attempts >= n) {
			opened_all = 1;
			printf("ready\n");
			fflush(stdout);
		}
		for (long i = 0; i < n; i++) {
			pf[i].fd = c[i].phase == P_FREE ? -1 : SSL_get_fd(c[i].s);
			pf[i].events = POLLIN | (c[i].phase == P_HANDSHAKE ? POLLOUT : 0);
			pf[i].revents = 0;
		}
		if (poll(pf, (nfds_t)n, 50) < 0 && errno != EINTR)
			fail("poll: %s", strerror(errno));
		for (long i = 0; i < n; i++)
			if (c[i].phase != P_FREE && (pf[i].revents != 0 || SSL_pending(c[i].s) > 0))
				conn_step(&c[i]);
		t = now();
		for (long i = 0; i < n; i++)
			conn_trickle(&c[i], t);
	}
	open_n = 0;
	for (long i = 0; i < n; i++)
		open_n += c[i].phase != P_FREE;
	printf("{\"attempts\": %ld, \"held_max\": %ld, \"held_total\": %ld, \"retry_later\": %ld, \"closed\": %ld, "
	       "\"trickled\": %ld, \"open_at_end\": %ld, \"held_at_end\": %ld, \"seconds\": %.1f}\n",
	       st.attempts, st.held_max, st.held_total, st.retry_later, st.closed, st.trickled, open_n, st.held,
	       now() - t0);
	for (long i = 0; i < n; i++)
		if (c[i].phase != P_FREE)
			conn_close(&c[i], NULL);
	free(c);
	free(pf);
	return 0;
}

/* ---- hello-stall, silent ------------------------------------------------------------------ */

static int case_stall(const char *host, const char *port, int hello)
{
	uint8_t ch[4096];
	int chl = hello ? client_hello(ch, sizeof(ch)) : 0, ready = 0;
	long n = opt.count, attempts = 0, closed = 0, open_n = 0;
	int *fds;
	struct pollfd *pf;
	double t0 = now(), stop_at = t0 + opt.duration, budget = 0, last = t0;

	raise_nofile(&n);
	signal(SIGTERM, on_term);
	if ((fds = calloc((size_t)n, sizeof(*fds))) == NULL || (pf = calloc((size_t)n, sizeof(*pf))) == NULL)
		fail("out of memory");
	for (long i = 0; i < n; i++)
		fds[i] = -1;
	while (!flood_stop && now() < stop_at) {
		refill(&budget, &last);
		for (long i = 0; i < n; i++) {
			int fd;

			if (fds[i] >= 0)
				continue;
			if (ready) {
				if (budget < 1)
					break;
				budget -= 1;
			}
			if ((fd = tcp_open(host, port, opt.bind ? opt.bind : "127.0.0.1", 0)) < 0)
				break;
			attempts++;
			if (hello && send(fd, ch, (size_t)chl, MSG_NOSIGNAL) != (ssize_t)chl) {
				close(fd);
				closed++;
				continue;
			}
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
			fds[i] = fd;
		}
		if (!ready && attempts >= n) {
			ready = 1;
			printf("ready\n");
			fflush(stdout);
		}
		for (long i = 0; i < n; i++) {
			pf[i].fd = fds[i];
			pf[i].events = POLLIN;
			pf[i].revents = 0;
		}
		if (poll(pf, (nfds_t)n, 100) < 0 && errno != EINTR)
			fail("poll: %s", strerror(errno));
		for (long i = 0; i < n; i++) {
			uint8_t buf[4096];
			ssize_t k;

			if (fds[i] < 0 || pf[i].revents == 0)
				continue;
			while ((k = recv(fds[i], buf, sizeof(buf), 0)) > 0)
				; /* the server's flight: dropped, never answered */
			if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
				close(fds[i]);
				fds[i] = -1;
				closed++;
			}
		}
	}
	for (long i = 0; i < n; i++)
		if (fds[i] >= 0) {
			open_n++;
			close(fds[i]);
		}
	printf("{\"attempts\": %ld, \"closed\": %ld, \"open_at_end\": %ld, \"seconds\": %.1f}\n", attempts,
	       closed, open_n, now() - t0);
	free(fds);
	free(pf);
	return 0;
}

/* ---- fake-server ------------------------------------------------------------------------ */

static int fake_server(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct pollfd pf[64];
	int n = 1;
	double end = now() + opt.duration;

	if (strlen(path) >= sizeof(sa.sun_path))
		fail("socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	unlink(path);
	if ((pf[0].fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(pf[0].fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		fail("cannot bind %s: %s", path, strerror(errno));
	chmod(path, 0666);
	/* SO_PEERCRED: the credentials at listen() */
	if (opt.uid >= 0 && (setgid((gid_t)opt.uid) != 0 || setuid((uid_t)opt.uid) != 0))
		fail("cannot become uid %ld: %s", opt.uid, strerror(errno));
	if (listen(pf[0].fd, 16) != 0)
		fail("listen: %s", strerror(errno));
	pf[0].events = POLLIN;
	printf("listening\n");
	fflush(stdout);
	while (now() < end) {
		if (poll(pf, (nfds_t)n, 200) <= 0)
			continue;
		for (int i = n - 1; i >= 0; i--) {
			uint8_t buf[65536];
			ssize_t k;

			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (i == 0) {
				int fd = accept4(pf[0].fd, NULL, NULL, SOCK_CLOEXEC);

				if (fd >= 0 && n < 64) {
					pf[n].fd = fd;
					pf[n++].events = POLLIN;
					printf("connection\n");
				} else if (fd >= 0) {
					close(fd);
				}
			} else if ((k = recv(pf[i].fd, buf, sizeof(buf), 0)) > 0) {
				printf("received %zd bytes\n", k);
			} else {
				pf[i].fd = -pf[i].fd - 1; /* peer gone: keep it, stop polling it */
			}
			fflush(stdout);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "expect", required_argument, NULL, 'e' },
						  { "name", required_argument, NULL, 'n' },
						  { "count", required_argument, NULL, 'c' },
						  { "bind", required_argument, NULL, 'b' },
						  { "other-bind", required_argument, NULL, 'o' },
						  { "interval", required_argument, NULL, 'i' },
						  { "within", required_argument, NULL, 'w' },
						  { "duration", required_argument, NULL, 'd' },
						  { "rate", required_argument, NULL, 'r' },
						  { "uid", required_argument, NULL, 'u' },
						  { "delay", required_argument, NULL, 'D' },
						  { "help", no_argument, NULL, 'h' },
						  { NULL, 0, NULL, 0 } };
	static const char *bad_cases[] = { "half-header",       "length-overrun",   "short-body",
					   "wrong-protocol-id", "wrong-session-id", "unknown-command",
					   "garbage",           "huge-body" };
	const char *c, *host = NULL, *port = NULL;
	int o, npos;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		}
	/* CASE and its positional arguments first, then the options */
	if (argc < 2 || argv[1][0] == '-') {
		fputs(usage, stderr);
		return 2;
	}
	c = argv[1];
	if (strncmp(c, "ipc-", 4) == 0)
		return hostile_ipc(c, argc - 2, argv + 2);
	npos = strcmp(c, "fake-server") == 0 ? 1 : 2;
	if (argc < 2 + npos || argv[2][0] == '-' || (npos == 2 && argv[3][0] == '-')) {
		fprintf(stderr, "capf-hostile %s: %s expected (--help)\n", c, npos == 1 ? "PATH" : "HOST PORT");
		return 2;
	}
	host = argv[2];
	port = npos == 2 ? argv[3] : NULL;
	optind = 2 + npos;
	while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (o) {
		case 'e':
			opt.expect = optarg;
			break;
		case 'n':
			opt.name = optarg;
			break;
		case 'c':
			opt.count = atol(optarg);
			break;
		case 'b':
			opt.bind = optarg;
			break;
		case 'o':
			opt.other = optarg;
			break;
		case 'i':
			opt.interval = atof(optarg);
			break;
		case 'w':
			opt.within = atof(optarg);
			break;
		case 'd':
			opt.duration = atof(optarg);
			break;
		case 'r':
			opt.rate = atof(optarg);
			break;
		case 'u':
			opt.uid = atol(optarg);
			break;
		case 'D':
			opt.delay = atof(optarg);
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fprintf(stderr, "capf-hostile: see --help\n");
			return 2;
		}
	}
	if (optind != argc || opt.count < 1 || opt.interval <= 0) {
		fprintf(stderr, "capf-hostile %s: unexpected argument or bad value (--help)\n", c);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(c, "fake-server") == 0)
		return fake_server(host);
	tls_init();
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		if (strcmp(c, bad_cases[i]) == 0)
			return case_bad(host, port, c);
	if (strcmp(c, "plain-garbage") == 0)
		return case_plain_garbage(host, port);
	if (strcmp(c, "split") == 0 || strcmp(c, "unknown-tag") == 0)
		return case_good(host, port, c);
	if (strcmp(c, "keygen-vanish") == 0 || strcmp(c, "keygen-silent") == 0)
		return case_keygen(host, port, strcmp(c, "keygen-silent") == 0);
	if (strcmp(c, "idle") == 0)
		return case_idle(host, port);
	if (strcmp(c, "limit") == 0)
		return case_limit(host, port);
	if (strcmp(c, "trickle") == 0)
		return case_trickle(host, port);
	if (strcmp(c, "slow-handshake") == 0)
		return case_slow_handshake(host, port);
	if (strcmp(c, "flood") == 0)
		return case_flood(host, port);
	if (strcmp(c, "hello-stall") == 0 || strcmp(c, "silent") == 0)
		return case_stall(host, port, strcmp(c, "hello-stall") == 0);
	fprintf(stderr, "capf-hostile: unknown case %s (--help)\n", c);
	return 2;
}
