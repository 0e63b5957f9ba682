/*
 * appliance/capfctl/conn.c: the admin.sock connection. One request, one
 * response; the response must echo the request's verb and id (the codec
 * checks) or capfctl gives up. Before anything is sent, the server must be the
 * owner of the socket's directory, which group and others cannot write
 * (SO_PEERCRED): a socket someone else put in place gets nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "appliance/capfctl/capfctl.h"
#include "appliance/common/peercred.h"
#include "policy/device.h"

int ctl_connect(struct ctl *c)
{
	struct sockaddr_un sa;
	char err[512];

	if (c->fd >= 0)
		return CTL_OK;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(c->socket_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: socket path too long: %s\n", c->prog, c->socket_path);
		return CTL_USAGE;
	}
	memcpy(sa.sun_path, c->socket_path, strlen(c->socket_path) + 1);
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		fprintf(stderr, "%s: socket: %s\n", c->prog, strerror(errno));
		return CTL_UNREACHABLE;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		fprintf(stderr, "%s: cannot reach capf-signerd at %s: %s%s\n", c->prog, c->socket_path,
			strerror(e),
			e == EACCES                      ? " (is your user allowed to use the admin socket?)" :
			e == ENOENT || e == ECONNREFUSED ? " (is capf-signerd running? --socket PATH)" :
							   "");
		close(c->fd);
		c->fd = -1;
		return CTL_UNREACHABLE;
	}
	if (capf_sock_server_check(c->fd, c->socket_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s: not talking to this server: %s\n", c->prog, c->socket_path, err);
		close(c->fd);
		c->fd = -1;
		return CTL_UNREACHABLE;
	}
	return CTL_OK;
}

void ctl_close(struct ctl *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int ctl_begin(struct ctl *c, struct capf_ipc_builder *b, uint16_t verb)
{
	memset(b, 0, sizeof(*b));
	return capf_ipc_build_request(b, verb, ++c->next_id);
}

void ctl_reply_free(struct ctl_reply *r)
{
	capf_ipc_msg_free(&r->msg);
	free(r->buf);
	r->buf = NULL;
}

void ctl_print_refusal(const struct capf_ipc_msg *m, const char *what)
{
	char text[1100] = "";
	uint8_t cause;

	capf_ipc_get_str(m, CAPF_IPC_T_TEXT, text, sizeof(text));
	if (m->status == CAPF_IPC_RETRY_LATER) {
		uint32_t d = 0;

		capf_ipc_get_u32(m, CAPF_IPC_T_RETRY_DELAY, &d);
		fprintf(stderr, "%s: the signer is busy or the token is down; retry in %u s%s%s\n", what, d,
			text[0] ? ": " : "", text);
		return;
	}
	if (text[0] == '\0' && capf_ipc_get_u8(m, CAPF_IPC_T_CAUSE, &cause) == 0 && cause != CAPF_FAIL_NONE)
		snprintf(text, sizeof(text), "%s", capf_fail_cause_cisco(cause));
	fprintf(stderr, "%s: %s: %s\n", what, m->status == CAPF_IPC_REFUSED ? "refused" : "failed",
		text[0] ? text : "(no reason given)");
}

int ctl_call_raw(struct ctl *c, struct capf_ipc_builder *b, const char *what, struct ctl_reply *r)
{
	const uint8_t *out;
	size_t outlen;
	char err[256];
	uint16_t verb;
	uint32_t id;
	ssize_t n;
	int rc;

	memset(r, 0, sizeof(*r));
	if (capf_ipc_build_finish(b, &out, &outlen, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: cannot build the request: %s\n", what, err);
		capf_ipc_builder_free(b);
		return CTL_FAILED;
	}
	verb = (uint16_t)(out[2] << 8 | out[3]);
	id = (uint32_t)out[4] << 24 | (uint32_t)out[5] << 16 | (uint32_t)out[6] << 8 | out[7];
	if ((rc = ctl_connect(c)) != CTL_OK) {
		capf_ipc_builder_free(b);
		return rc;
	}
	n = send(c->fd, out, outlen, MSG_NOSIGNAL);
	capf_ipc_builder_free(b); /* wipes: it may hold an authentication string */
	if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
		/* connected, then dropped at once: the daemon's peer check */
		fprintf(stderr,
			"%s: capf-signerd closed the connection without an answer (is your "
			"user allowed to use the admin socket?)\n",
			what);
		ctl_close(c);
		return CTL_FAILED;
	}
	if (n < 0 || (size_t)n != outlen) {
		fprintf(stderr, "%s: send to %s: %s\n", what, c->socket_path,
			n < 0 ? strerror(errno) : "short write");
		ctl_close(c);
		return CTL_UNREACHABLE;
	}
	r->buf = malloc(CAPF_IPC_MSG_MAX);
	if (r->buf == NULL) {
		fprintf(stderr, "%s: out of memory\n", what);
		return CTL_FAILED;
	}
	do
		n = recv(c->fd, r->buf, CAPF_IPC_MSG_MAX, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		fprintf(stderr, "%s: capf-signerd closed the connection without an answer%s%s\n", what,
			n < 0 ? ": " : "",
			n < 0 ? strerror(errno) : " (is your user allowed to use the admin socket?)");
		ctl_close(c);
		ctl_reply_free(r);
		return CTL_FAILED;
	}
	if ((size_t)n > CAPF_IPC_MSG_MAX) {
		fprintf(stderr, "%s: answer larger than %u bytes\n", what, CAPF_IPC_MSG_MAX);
		ctl_close(c);
		ctl_reply_free(r);
		return CTL_FAILED;
	}
	rc = capf_ipc_decode_response(&r->msg, r->buf, (size_t)n, verb, id, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "%s: malformed answer from capf-signerd (%s): %s\n", what,
			capf_ipc_err_name(rc), err);
		ctl_close(c);
		ctl_reply_free(r);
		return CTL_FAILED;
	}
	return CTL_OK;
}

int ctl_call(struct ctl *c, struct capf_ipc_builder *b, const char *what, struct ctl_reply *r)
{
	int rc = ctl_call_raw(c, b, what, r);

	if (rc != CTL_OK)
		return rc;
	if (r->msg.status != CAPF_IPC_OK) {
		ctl_print_refusal(&r->msg, what);
		ctl_reply_free(r);
		return CTL_FAILED;
	}
	return CTL_OK;
}
