/*
 * tests/e2e/hostile_ipc.c: capf-hostile's ipc-* cases, a compromised capf-frontd on
 * capf-signerd's front.sock (tests/integ/signerd.sh):
 *   ipc-raw SOCK VERBHEX [LEN]        a request header (padded with junk to LEN bytes);
 *                                     prints closed=1 when the daemon closed the connection
 *   ipc-burst SOCK NAME N             N connections send BEGIN at once; counts ok=,
 *                                     retry_later=, other=, closed=
 *   ipc-unread SOCK N                 N PINGs without reading an answer; prints sent= and
 *                                     closed=1 once the daemon dropped us
 *   ipc-forged-issue SOCK             ISSUE with a TOKEN no session has: closed=1
 *   ipc-replay SOCK FILE [--fresh-session]   a BEGIN saved by signerd-client enroll
 *                                     --save-begin sent again, as it was or with a new
 *                                     signer-chosen session id
 * and a client of admin.sock that skips capfctl's checks:
 *   ipc-admin SOCK VERBHEX FIELD...   a request of the verb with the fields given as
 *                                     TAG=u8:N, TAG=str:TEXT or TAG=file:PATH (its bytes);
 *                                     prints status=N text=...; exit 0 when it was refused
 *   ipc-bulk-abandon SOCK             8 connections each stage a bulk change (BULK_BEGIN,
 *                                     BULK_ADD) and stay open: a ninth BULK_BEGIN must get
 *                                     RETRY_LATER; once the 8 close, nothing stays staged
 *                                     (STATS bulk_staged 0) and a new BULK_BEGIN succeeds
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "tests/e2e/hostile.h"
#include "tests/integ/ipc_client.h"

/* A request header for verbhex followed by pad-8 filler bytes (pad 0: just
 * the header): closed=1 when the daemon closed the connection. */
static int cmd_raw(const char *sock, const char *verbhex, size_t total)
{
	unsigned verb = (unsigned)strtoul(verbhex, NULL, 16);
	int fd = sock_connect(sock);
	uint8_t *msg, buf[256];
	ssize_t n;

	if (total < 8)
		total = 8;
	if ((msg = calloc(1, total)) == NULL)
		die("out of memory");
	msg[0] = 1;
	msg[2] = (uint8_t)(verb >> 8);
	msg[3] = (uint8_t)verb;
	msg[7] = 9;
	for (size_t i = 8; i < total; i++)
		msg[i] = 0xA5;
	if (send(fd, msg, total, MSG_NOSIGNAL) != (ssize_t)total) {
		printf("closed=1 send_failed=1\n");
		free(msg);
		return 0;
	}
	free(msg);
	n = recv(fd, buf, sizeof(buf), 0);
	if (n <= 0)
		printf("closed=1\n");
	else
		printf("closed=0 len=%zd\n", n);
	close(fd);
	return 0;
}

/* N connections each send BEGIN for name at once, then every answer is read:
 * prints ok=, retry_later=, other=, closed= counts. */
static int cmd_burst(const char *sock, const char *name, unsigned n)
{
	unsigned ok = 0, retry = 0, other = 0, closed = 0;
	uint8_t *buf = malloc(CAPF_IPC_MSG_MAX);
	int *fds = calloc(n, sizeof(int));
	uint8_t **msgs = calloc(n, sizeof(uint8_t *));
	size_t *lens = calloc(n, sizeof(size_t));

	if (buf == NULL || fds == NULL || msgs == NULL || lens == NULL)
		die("out of memory");
	/* a session id per connection, every BEGIN built: then all sent at once */
	for (unsigned i = 0; i < n; i++) {
		struct capf_ipc_builder b;
		const uint8_t *out;
		char err[256];

		fds[i] = sock_connect(sock);
		capf_ipc_build_request(&b, CAPF_IPC_BEGIN, n + i + 1);
		capf_ipc_put_str(&b, CAPF_IPC_T_DEVICE_NAME, name);
		capf_ipc_put_u8(&b, CAPF_IPC_T_CLIENT_VERSION, 3);
		capf_ipc_put_u32(&b, CAPF_IPC_T_CAPF_SESSION, session_id(fds[i], buf));
		capf_ipc_put_str(&b, CAPF_IPC_T_PEER, "192.0.2.10:51000");
		capf_ipc_put_str(&b, CAPF_IPC_T_PASSWORD, "");
		if (capf_ipc_build_finish(&b, &out, &lens[i], err, sizeof(err)) != 0)
			die("build: %s", err);
		if ((msgs[i] = malloc(lens[i])) == NULL)
			die("out of memory");
		memcpy(msgs[i], out, lens[i]);
		capf_ipc_builder_free(&b);
	}
	for (unsigned i = 0; i < n; i++)
		if (send(fds[i], msgs[i], lens[i], MSG_NOSIGNAL) != (ssize_t)lens[i])
			closed++;
	for (unsigned i = 0; i < n; i++) {
		struct capf_ipc_msg m;
		char err[256];
		ssize_t got = recv(fds[i], buf, CAPF_IPC_MSG_MAX, 0);

		if (got <= 0) {
			closed++;
		} else if (capf_ipc_decode_response(&m, buf, (size_t)got, CAPF_IPC_BEGIN, n + i + 1, err,
						    sizeof(err)) != 0) {
			other++;
		} else {
			if (m.status == CAPF_IPC_OK)
				ok++;
			else if (m.status == CAPF_IPC_RETRY_LATER)
				retry++;
			else
				other++;
			capf_ipc_msg_free(&m);
		}
		close(fds[i]);
	}
	printf("ok=%u\nretry_later=%u\nother=%u\nclosed=%u\n", ok, retry, other, closed);
	for (unsigned i = 0; i < n; i++)
		free(msgs[i]);
	free(msgs);
	free(lens);
	free(fds);
	free(buf);
	return 0;
}

static int cmd_unread(const char *sock, unsigned n)
{
	int fd = sock_connect(sock);
	unsigned sent = 0;
	int closed = 0;

	for (unsigned i = 0; i < n && !closed; i++) {
		struct capf_ipc_builder b;
		const uint8_t *out;
		size_t outlen;
		char err[256];

		capf_ipc_build_request(&b, CAPF_IPC_PING, i + 1);
		if (capf_ipc_build_finish(&b, &out, &outlen, err, sizeof(err)) != 0)
			die("build: %s", err);
		for (int tries = 0;; tries++) {
			ssize_t r = send(fd, out, outlen, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (r == (ssize_t)outlen) {
				sent++;
				break;
			}
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && tries < 200) {
				usleep(10000); /* the daemon is behind (or has stopped reading us) */
				continue;
			}
			closed = r < 0 && errno != EAGAIN && errno != EWOULDBLOCK;
			break;
		}
		capf_ipc_builder_free(&b);
		if (!closed && sent != i + 1)
			break;
	}
	/* whatever was answered before the drop is still queued: drain until EOF */
	if (!closed) {
		uint8_t buf[512];
		struct timeval tv = { 5, 0 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		for (;;) {
			ssize_t r = recv(fd, buf, sizeof(buf), 0);

			if (r == 0) {
				closed = 1;
				break;
			}
			if (r < 0)
				break;
		}
	}
	printf("sent=%u\nclosed=%d\n", sent, closed);
	close(fd);
	return 0;
}

/* ISSUE naming a token the signer never opened (a compromised front end). */
static int cmd_forged_issue(const char *sock)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg m;
	uint8_t *buf = malloc(CAPF_IPC_MSG_MAX), spki[64];
	uint32_t id = next_id++;
	int fd = sock_connect(sock);

	memset(spki, 0x30, sizeof(spki));
	capf_ipc_build_request(&b, CAPF_IPC_ISSUE, id);
	capf_ipc_put_u64(&b, CAPF_IPC_T_TOKEN, 0x0123456789abcdefULL);
	capf_ipc_put_bytes(&b, CAPF_IPC_T_PUBLIC_KEY, spki, sizeof(spki));
	capf_ipc_put_u8(&b, CAPF_IPC_T_ALT_INDEX, 0);
	if (roundtrip(fd, &b, CAPF_IPC_ISSUE, id, buf, &m) != 0) {
		printf("closed=1\n");
	} else {
		printf("closed=0\n");
		print_status(&m);
		capf_ipc_msg_free(&m);
	}
	free(buf);
	close(fd);
	return 0;
}

/* Sends a BEGIN saved by enroll --save-begin on a new connection; fresh: first
 * asks for a new session id and puts it in place of the saved one. */
static int cmd_replay(const char *sock, const char *path, int fresh)
{
	uint8_t *msg = malloc(CAPF_IPC_MSG_MAX), *buf = malloc(CAPF_IPC_MSG_MAX);
	FILE *f = fopen(path, "rb");
	struct capf_ipc_msg m;
	char err[256];
	size_t len;
	ssize_t n;
	int fd = sock_connect(sock);

	if (msg == NULL || buf == NULL || f == NULL)
		die("%s: cannot read", path);
	len = fread(msg, 1, CAPF_IPC_MSG_MAX, f);
	fclose(f);
	if (len < 8)
		die("%s: not a saved request", path);
	if (fresh) {
		uint32_t sid = session_id(fd, buf);
		size_t off = 8;
		int done = 0;

		/* top-level fields: tag(2) len(2) value */
		while (off + 4 <= len && !done) {
			unsigned tag = (unsigned)msg[off] << 8 | msg[off + 1];
			size_t fl = (size_t)msg[off + 2] << 8 | msg[off + 3];

			if (tag == CAPF_IPC_T_CAPF_SESSION && fl == 4) {
				msg[off + 4] = (uint8_t)(sid >> 24);
				msg[off + 5] = (uint8_t)(sid >> 16);
				msg[off + 6] = (uint8_t)(sid >> 8);
				msg[off + 7] = (uint8_t)sid;
				done = 1;
			}
			off += 4 + fl;
		}
		if (!done)
			die("%s: no CAPF_SESSION field", path);
		printf("capf_session=%08x\n", sid);
	}
	if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len || (n = recv(fd, buf, CAPF_IPC_MSG_MAX, 0)) <= 0) {
		printf("closed=1\n");
	} else {
		uint32_t id = (uint32_t)msg[4] << 24 | (uint32_t)msg[5] << 16 | (uint32_t)msg[6] << 8 | msg[7];

		if (capf_ipc_decode_response(&m, buf, (size_t)n, CAPF_IPC_BEGIN, id, err, sizeof(err)) != 0)
			die("decode response: %s", err);
		if (m.status == CAPF_IPC_OK) {
			uint8_t d = 0;

			capf_ipc_get_u8(&m, CAPF_IPC_T_DECISION, &d);
			printf("decision=%s\n", capf_ipc_decision_name(d));
		} else {
			print_status(&m);
		}
		capf_ipc_msg_free(&m);
	}
	free(msg);
	free(buf);
	close(fd);
	return 0;
}

/* A request capfctl would not send (CONFIRM 0, a URI it refuses...): the daemon's own
 * refusal. 0 when it refused (status 1), 1 when it accepted or closed the connection. */
static int cmd_admin(const char *sock, const char *verbhex, int nf, char **fields)
{
	uint16_t verb = (uint16_t)strtoul(verbhex, NULL, 16);
	uint8_t *buf = malloc(CAPF_IPC_MSG_MAX), *file = malloc(CAPF_IPC_MSG_MAX);
	struct capf_ipc_builder b;
	struct capf_ipc_msg m;
	char text[1100] = "";
	uint32_t id = next_id++;
	int fd = sock_connect(sock), refused;

	if (buf == NULL || file == NULL)
		die("out of memory");
	capf_ipc_build_request(&b, verb, id);
	for (int i = 0; i < nf; i++) {
		char *eq = strchr(fields[i], '='), *colon = eq != NULL ? strchr(eq, ':') : NULL;
		uint16_t tag = (uint16_t)strtoul(fields[i], NULL, 10);
		const char *v = colon != NULL ? colon + 1 : NULL;

		if (v == NULL)
			die("field %s: TAG=u8:N, TAG=str:TEXT or TAG=file:PATH", fields[i]);
		if (strncmp(eq + 1, "u8:", 3) == 0) {
			capf_ipc_put_u8(&b, tag, (uint8_t)strtoul(v, NULL, 0));
		} else if (strncmp(eq + 1, "str:", 4) == 0) {
			capf_ipc_put_str(&b, tag, v);
		} else if (strncmp(eq + 1, "file:", 5) == 0) {
			FILE *f = fopen(v, "rb");
			size_t len;

			if (f == NULL)
				die("%s: %s", v, strerror(errno));
			len = fread(file, 1, CAPF_IPC_MSG_MAX, f);
			fclose(f);
			capf_ipc_put_bytes(&b, tag, file, len);
		} else {
			die("field %s: TAG=u8:N, TAG=str:TEXT or TAG=file:PATH", fields[i]);
		}
	}
	if (roundtrip(fd, &b, verb, id, buf, &m) != 0) {
		printf("closed=1\n");
		refused = 0;
	} else {
		capf_ipc_get_str(&m, CAPF_IPC_T_TEXT, text, sizeof(text));
		printf("status=%u text=%s\n", m.status, text);
		refused = m.status == CAPF_IPC_REFUSED;
		capf_ipc_msg_free(&m);
	}
	free(buf);
	free(file);
	close(fd);
	return refused ? 0 : 1;
}

/* The STATS counter name on a new connection to sock; -1 when absent. */
static long long stat_of(const char *sock, const char *name, uint8_t *buf)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg m, sub;
	const struct capf_ipc_field *f = NULL;
	uint32_t id = next_id++;
	long long v = -1;
	char err[256], n[65];
	int fd = sock_connect(sock);

	capf_ipc_build_request(&b, CAPF_IPC_STATS, id);
	if (roundtrip(fd, &b, CAPF_IPC_STATS, id, buf, &m) != 0)
		die("STATS: connection closed");
	while ((f = capf_ipc_find(&m, CAPF_IPC_T_STAT, f)) != NULL) {
		uint64_t u;

		if (capf_ipc_decode_nested(f, &sub, err, sizeof(err)) != 0)
			die("STATS: %s", err);
		if (capf_ipc_get_str(&sub, CAPF_IPC_T_STAT_NAME, n, sizeof(n)) == 0 && strcmp(n, name) == 0 &&
		    capf_ipc_get_u64(&sub, CAPF_IPC_T_STAT_VALUE, &u) == 0)
			v = (long long)u;
		capf_ipc_msg_free(&sub);
	}
	capf_ipc_msg_free(&m);
	close(fd);
	return v;
}

static int staged_becomes(const char *sock, long long want, uint8_t *buf)
{
	for (int i = 0; i < 500; i++) {
		if (stat_of(sock, "bulk_staged", buf) == want)
			return 1;
		usleep(20000);
	}
	return 0;
}

/* BULK_BEGIN on fd: its status, the bulk token in *tok. */
static int bulk_begin(int fd, uint64_t *tok, uint8_t *buf)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg m;
	uint32_t id = next_id++;
	int st;

	capf_ipc_build_request(&b, CAPF_IPC_BULK_BEGIN, id);
	capf_ipc_put_str(&b, CAPF_IPC_T_TEXT, "abandoned by capf-hostile");
	if (roundtrip(fd, &b, CAPF_IPC_BULK_BEGIN, id, buf, &m) != 0)
		die("BULK_BEGIN: connection closed");
	st = m.status;
	*tok = 0;
	capf_ipc_get_u64(&m, CAPF_IPC_T_BULK, tok);
	capf_ipc_msg_free(&m);
	return st;
}

static int cmd_bulk_abandon(const char *sock)
{
	uint8_t *buf = malloc(CAPF_IPC_MSG_MAX);
	int held[8], st, fd;
	uint64_t tok;

	if (buf == NULL)
		die("out of memory");
	if (!staged_becomes(sock, 0, buf)) {
		printf("FAIL: bulk changes staged before the test\n");
		return 1;
	}
	for (int i = 0; i < 8; i++) {
		struct capf_ipc_builder b;
		struct capf_ipc_msg m;
		uint32_t id, count = 0;
		char name[32];

		held[i] = sock_connect(sock);
		if ((st = bulk_begin(held[i], &tok, buf)) != CAPF_IPC_OK) {
			printf("FAIL: BULK_BEGIN %d: status %d\n", i + 1, st);
			return 1;
		}
		id = next_id++;
		snprintf(name, sizeof(name), "SEP00FF0000000%d", i);
		capf_ipc_build_request(&b, CAPF_IPC_BULK_ADD, id);
		capf_ipc_put_u64(&b, CAPF_IPC_T_BULK, tok);
		capf_ipc_nest_begin(&b, CAPF_IPC_T_DEVICE);
		capf_ipc_put_str(&b, CAPF_IPC_T_DEVICE_NAME, name);
		capf_ipc_nest_end(&b);
		if (roundtrip(held[i], &b, CAPF_IPC_BULK_ADD, id, buf, &m) != 0 || m.status != CAPF_IPC_OK ||
		    capf_ipc_get_u32(&m, CAPF_IPC_T_COUNT, &count) != 0 || count != 1) {
			printf("FAIL: BULK_ADD %d refused\n", i + 1);
			return 1;
		}
		capf_ipc_msg_free(&m);
	}
	printf("staged while open: %lld\n", stat_of(sock, "bulk_staged", buf));
	fd = sock_connect(sock);
	printf("a ninth BULK_BEGIN while 8 are staged: status %d\n", st = bulk_begin(fd, &tok, buf));
	close(fd);
	if (st != CAPF_IPC_RETRY_LATER)
		return 1;
	for (int i = 0; i < 8; i++)
		close(held[i]);
	if (!staged_becomes(sock, 0, buf)) {
		printf("FAIL: still staged after the connections closed\n");
		return 1;
	}
	fd = sock_connect(sock);
	printf("BULK_BEGIN on a new connection after they closed: status %d\n", st = bulk_begin(fd, &tok, buf));
	if (st == CAPF_IPC_OK) {
		struct capf_ipc_builder b;
		struct capf_ipc_msg m;
		uint32_t id = next_id++;

		capf_ipc_build_request(&b, CAPF_IPC_BULK_ABORT, id);
		capf_ipc_put_u64(&b, CAPF_IPC_T_BULK, tok);
		if (roundtrip(fd, &b, CAPF_IPC_BULK_ABORT, id, buf, &m) != 0 || m.status != CAPF_IPC_OK)
			st = -1;
		else
			capf_ipc_msg_free(&m);
	}
	close(fd);
	free(buf);
	if (st != CAPF_IPC_OK)
		return 1;
	printf("ok\n");
	return 0;
}

int hostile_ipc(const char *c, int argc, char **argv)
{
	if (strcmp(c, "ipc-bulk-abandon") == 0 && argc == 1)
		return cmd_bulk_abandon(argv[0]);
	if (strcmp(c, "ipc-admin") == 0 && argc >= 2)
		return cmd_admin(argv[0], argv[1], argc - 2, argv + 2);
	if (strcmp(c, "ipc-raw") == 0 && (argc == 2 || argc == 3))
		return cmd_raw(argv[0], argv[1], argc == 3 ? (size_t)strtoul(argv[2], NULL, 10) : 8);
	if (strcmp(c, "ipc-burst") == 0 && argc == 3)
		return cmd_burst(argv[0], argv[1], (unsigned)strtoul(argv[2], NULL, 10));
	if (strcmp(c, "ipc-unread") == 0 && argc == 2)
		return cmd_unread(argv[0], (unsigned)strtoul(argv[1], NULL, 10));
	if (strcmp(c, "ipc-forged-issue") == 0 && argc == 1)
		return cmd_forged_issue(argv[0]);
	if (strcmp(c, "ipc-replay") == 0 &&
	    (argc == 2 || (argc == 3 && strcmp(argv[2], "--fresh-session") == 0)))
		return cmd_replay(argv[0], argv[1], argc == 3);
	fprintf(stderr, "capf-hostile %s: wrong arguments (--help)\n", c);
	return 2;
}
