/* tests/integ/ipc_client.c: the IPC client of the test peers (see ipc_client.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/integ/ipc_client.h"

uint32_t next_id = 1;
const char *save_begin; /* signerd-client enroll --save-begin */

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

int sock_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die("connect: %s", strerror(errno));
	return fd;
}

/* Sends b's request and decodes the response into *m (buf keeps the bytes).
 * Returns 0, or 1 when the daemon closed the connection. */
int roundtrip(int fd, struct capf_ipc_builder *b, uint16_t verb, uint32_t id, uint8_t *buf,
	      struct capf_ipc_msg *m)
{
	const uint8_t *out;
	size_t outlen;
	ssize_t n;
	char err[256];
	int rc;

	if (capf_ipc_build_finish(b, &out, &outlen, err, sizeof(err)) != 0)
		die("build: %s", err);
	if (verb == CAPF_IPC_BEGIN && save_begin != NULL) {
		FILE *f = fopen(save_begin, "wb");

		if (f == NULL || fwrite(out, 1, outlen, f) != outlen || fclose(f) != 0)
			die("%s: cannot write", save_begin);
	}
	if (send(fd, out, outlen, MSG_NOSIGNAL) != (ssize_t)outlen) {
		capf_ipc_builder_free(b);
		return 1;
	}
	capf_ipc_builder_free(b);
	n = recv(fd, buf, CAPF_IPC_MSG_MAX, 0);
	if (n <= 0)
		return 1;
	if ((rc = capf_ipc_decode_response(m, buf, (size_t)n, verb, id, err, sizeof(err))) != 0)
		die("decode response: %s", err);
	return 0;
}

void print_status(const struct capf_ipc_msg *m)
{
	char text[1100] = "";
	uint8_t cause = 0;
	uint32_t delay = 0;

	capf_ipc_get_str(m, CAPF_IPC_T_TEXT, text, sizeof(text));
	switch (m->status) {
	case CAPF_IPC_REFUSED:
		capf_ipc_get_u8(m, CAPF_IPC_T_CAUSE, &cause);
		printf("refused cause=%u text=%s\n", cause, text);
		break;
	case CAPF_IPC_RETRY_LATER:
		capf_ipc_get_u32(m, CAPF_IPC_T_RETRY_DELAY, &delay);
		printf("retry_later delay=%u\n", delay);
		break;
	case CAPF_IPC_ERROR:
		printf("error text=%s\n", text);
		break;
	default:
		break;
	}
}

/* SESSION_ID on fd: the CAPF session id the signer chose; exits on failure. */
uint32_t session_id(int fd, uint8_t *buf)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg m;
	uint32_t id = next_id++, sid = 0;

	capf_ipc_build_request(&b, CAPF_IPC_SESSION_ID, id);
	capf_ipc_put_str(&b, CAPF_IPC_T_PEER, "192.0.2.10:51000");
	if (roundtrip(fd, &b, CAPF_IPC_SESSION_ID, id, buf, &m) != 0) {
		printf("closed=1\n");
		exit(1);
	}
	if (m.status != CAPF_IPC_OK || capf_ipc_get_u32(&m, CAPF_IPC_T_CAPF_SESSION, &sid) != 0) {
		print_status(&m);
		exit(1);
	}
	capf_ipc_msg_free(&m);
	return sid;
}
