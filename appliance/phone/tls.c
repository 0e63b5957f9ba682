/*
 * appliance/phone/tls.c: one CAPF session over TLS, as a phone: TCP connect with
 * a deadline, TLS handshake against the pinned CAPF certificate, then messages
 * read through the incremental reader and written with one SSL_write each.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "appliance/capf/reader.h"
#include "appliance/phone/phone.h"

static void ossl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[200];

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s: %s", what, e ? buf : "failed");
	ERR_clear_error();
}

SSL_CTX *phone_tls_ctx(const char *capf_cert_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL) {
		ossl_err(err, errlen, "TLS context");
		return NULL;
	}
	if (SSL_CTX_load_verify_locations(ctx, capf_cert_file, NULL) != 1) {
		ossl_err(err, errlen, capf_cert_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* the pinned certificate itself is a trust anchor: no chain to a root needed */
	X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
	return ctx;
}

static int connect_to(const char *host, const char *port, int timeout_ms, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC }, *res, *ai;
	int fd = -1, rc;

	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s:%s: %s", host, port, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pfd;
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, timeout_ms) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
				break;
			errno = soerr != 0 ? soerr : ETIMEDOUT;
		}
		snprintf(err, errlen, "connect %s:%s: %s", host, port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0) {
		struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };

		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	} else if (err[0] == '\0') {
		snprintf(err, errlen, "connect %s:%s: no address", host, port);
	}
	return fd;
}

static enum phone_result fail(struct phone_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static enum phone_result fail(struct phone_session *s, const char *fmt, ...)
{
	va_list ap;

	if (s->error[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(s->error, sizeof(s->error), fmt, ap);
		va_end(ap);
	}
	s->result = PHONE_ERROR;
	return PHONE_ERROR;
}

enum phone_result phone_run(SSL_CTX *ctx, const char *host, const char *port, int timeout_ms,
			    struct phone_session *s)
{
	struct capf_reader *rd = NULL;
	SSL *ssl = NULL;
	uint8_t buf[16384];
	char err[256] = "";
	int fd, done = 0;

	fd = connect_to(host, port, timeout_ms, err, sizeof(err));
	if (fd < 0)
		return fail(s, "%s", err);
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1) {
		ossl_err(err, sizeof(err), "TLS");
		fail(s, "%s", err);
		goto out;
	}
	if (SSL_connect(ssl) != 1) {
		long vr = SSL_get_verify_result(ssl);

		if (vr != X509_V_OK)
			snprintf(err, sizeof(err), "TLS: the server's certificate does not match --capf-cert: %s",
				 X509_verify_cert_error_string(vr));
		else
			ossl_err(err, sizeof(err), "TLS handshake");
		fail(s, "%s", err);
		goto out;
	}
	if ((rd = capf_reader_new(0)) == NULL) {
		fail(s, "%s", "out of memory");
		goto out;
	}
	while (!done) {
		int n = SSL_read(ssl, buf, sizeof(buf));
		size_t off = 0, used;

		if (n <= 0) {
			int e = SSL_get_error(ssl, n);

			if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0))
				fail(s, "the server closed the connection %s",
				     capf_reader_pending(rd) ? "in the middle of a message" : "before END_SESSION");
			else if (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK))
				fail(s, "%s", "timeout waiting for the server");
			else {
				ossl_err(err, sizeof(err), "TLS read");
				fail(s, "%s", err);
			}
			goto out;
		}
		while (off < (size_t)n && !done) {
			struct capf_msg m;
			int rc = capf_reader_feed(rd, buf + off, (size_t)n - off, &used, &m, err, sizeof(err));

			off += used;
			if (rc < 0) {
				fail(s, "%s", err);
				goto out;
			}
			if (rc == 0)
				continue;
			rc = phone_session_input(s, &m);
			for (unsigned i = 0; i < s->nout; i++) {
				/* one message, one TLS write */
				if (SSL_write(ssl, s->out[i].buf, (int)s->out[i].len) != (int)s->out[i].len) {
					ossl_err(err, sizeof(err), "TLS write");
					fail(s, "%s", err);
					goto out;
				}
			}
			phone_session_clear_out(s);
			if (rc < 0)
				goto out;
			if (rc == 1)
				done = 1;
		}
	}
	SSL_shutdown(ssl);
out:
	phone_session_clear_out(s);
	capf_reader_free(rd);
	SSL_free(ssl);
	close(fd);
	return s->result;
}
