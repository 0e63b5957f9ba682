/*
 * appliance/phone/loop.c: capf-phone's event-driven session driver. A few
 * threads (capf-phone: one per online CPU by default), each running an epoll
 * loop over its share of the concurrent sessions: non-blocking connect,
 * non-blocking TLS (SSL_connect, SSL_read and SSL_write return WANT_READ or
 * WANT_WRITE and the loop waits for that), the incremental capf_reader fed
 * exactly the bytes it still needs (so nothing is left over between messages),
 * and phone_session_input() answering each message; each reply is written with
 * one SSL_write, retried with the same buffer when it would block. A session's
 * deadline covers connect, handshake and the whole exchange: each loop turn
 * waits no longer than the nearest deadline and fails the sessions past it.
 * When a session ends, its slot starts the next one until all are started; with
 * retry_max_ms, a session told RETRY_LATER waits in its slot and connects again.
 * The host is resolved once per run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "appliance/capf/reader.h"
#include "appliance/phone/phone.h"
#include "appliance/phone/phone_int.h"

enum conn_state {
	C_IDLE = 0,  /* no session in this slot */
	C_CONNECT,   /* TCP connect in progress */
	C_HANDSHAKE, /* TLS handshake */
	C_SESSION,   /* CAPF messages */
	C_END,       /* over: report and close */
	C_WAIT,      /* told RETRY_LATER: starts again at its deadline */
};

struct conn {
	enum conn_state state;
	unsigned long idx;
	char name[CAPF_NAME_MAX + 1];
	struct phone_config cfg;
	struct phone_session s;
	const struct addrinfo *ai; /* the address being tried */
	int fd;
	uint32_t events; /* registered with epoll; 0: not registered */
	SSL *ssl;
	struct capf_reader *rd;
	unsigned wi;         /* the next s.out[] to write */
	int rc;              /* phone_session_input's answer, acted on once written */
	double t0, deadline; /* ms, CLOCK_MONOTONIC */
	double first_t0;     /* the first attempt's start (RETRY_LATER retried) */
	unsigned seed;       /* the retry delay's jitter */
};

struct run {
	const struct phone_load *l;
	struct addrinfo *addrs;
	char gai_err[200];
	atomic_ulong next; /* the next session to start */
};

struct worker {
	struct run *r;
	struct conn *conns;
	unsigned nconns;
	int ep;
	int started; /* a thread of its own */
	pthread_t th;
	char err[200]; /* why the loop stopped early */
	uint8_t buf[16384];
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void fail(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The session failed: the first message stays (the state machine's own, if any). */
static void fail(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	if (c->s.error[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(c->s.error, sizeof(c->s.error), fmt, ap);
		va_end(ap);
	}
	c->s.result = PHONE_ERROR;
	c->state = C_END;
}

/* Waits for events (EPOLLIN or EPOLLOUT) on the connection's socket. */
static void watch(struct worker *w, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (c->events == events)
		return;
	if (epoll_ctl(w->ep, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) != 0) {
		fail(c, "epoll_ctl: %s", strerror(errno));
		return;
	}
	c->events = events;
}

static void close_fd(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
	c->events = 0;
}

/* Reads and answers messages until the socket would block or the session ends. */
static void session_io(struct worker *w, struct conn *c)
{
	struct phone_session *s = &c->s;
	char err[256];

	for (;;) {
		struct capf_msg m;
		size_t want, used;
		int n, e, rc;

		/* the replies to the last message in order, one SSL_write each */
		while (c->wi < s->nout) {
			ERR_clear_error();
			n = SSL_write(c->ssl, s->out[c->wi].buf, (int)s->out[c->wi].len);
			if (n == (int)s->out[c->wi].len) {
				c->wi++;
				continue;
			}
			e = n <= 0 ? SSL_get_error(c->ssl, n) : SSL_ERROR_SSL;
			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				/* the same SSL_write, same buffer, once the socket allows */
				watch(w, c, e == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN);
				return;
			}
			capf_ossl_error_msg(err, sizeof(err), "TLS write");
			fail(c, "%s", err);
			return;
		}
		phone_session_clear_out(s);
		c->wi = 0;
		if (c->rc < 0) { /* s->error says why */
			fail(c, "%s", "protocol error");
			return;
		}
		if (c->rc == 1) {
			SSL_shutdown(c->ssl);
			c->state = C_END;
			return;
		}
		/* no more than the reader needs: a read never goes past the end of a message */
		want = capf_reader_want(c->rd);
		if (want > sizeof(w->buf))
			want = sizeof(w->buf);
		ERR_clear_error();
		errno = 0;
		n = SSL_read(c->ssl, w->buf, (int)want);
		if (n <= 0) {
			e = SSL_get_error(c->ssl, n);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				watch(w, c, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
				return;
			}
			if (e == SSL_ERROR_ZERO_RETURN ||
			    (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0))
				fail(c, "the server closed the connection %s",
				     capf_reader_pending(c->rd) ? "in the middle of a message" :
								  "before END_SESSION");
			else if (e == SSL_ERROR_SYSCALL && errno != 0)
				fail(c, "TLS read: %s", strerror(errno));
			else {
				capf_ossl_error_msg(err, sizeof(err), "TLS read");
				fail(c, "%s", err);
			}
			return;
		}
		rc = capf_reader_feed(c->rd, w->buf, (size_t)n, &used, &m, err, sizeof(err));
		if (rc < 0) {
			fail(c, "%s", err);
			return;
		}
		if (rc == 0)
			continue;
		if (used != (size_t)n) { /* cannot happen: we read what the reader wanted */
			fail(c, "%s", "bytes after the end of a message");
			return;
		}
		c->rc = phone_session_input(s, &m);
	}
}

static void handshake(struct worker *w, struct conn *c)
{
	char err[256];
	long vr;
	int n, e;

	ERR_clear_error();
	errno = 0;
	n = SSL_connect(c->ssl);
	if (n == 1) {
		if ((c->rd = capf_reader_new(0)) == NULL) {
			fail(c, "%s", "out of memory");
			return;
		}
		c->state = C_SESSION;
		session_io(w, c);
		return;
	}
	e = SSL_get_error(c->ssl, n);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		watch(w, c, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
		return;
	}
	vr = SSL_get_verify_result(c->ssl);
	if (vr != X509_V_OK)
		snprintf(err, sizeof(err), "TLS: the server's certificate does not match --capf-cert: %s",
			 X509_verify_cert_error_string(vr));
	else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
		snprintf(err, sizeof(err), "TLS handshake: %s",
			 errno != 0 ? strerror(errno) : "the server closed the connection");
	else
		capf_ossl_error_msg(err, sizeof(err), "TLS handshake");
	fail(c, "%s", err);
}

static void tls_start(struct worker *w, struct conn *c)
{
	char err[256];

	c->s.error[0] = '\0'; /* an earlier address's failure */
	if ((c->ssl = SSL_new(w->r->l->ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		capf_ossl_error_msg(err, sizeof(err), "TLS");
		fail(c, "%s", err);
		return;
	}
	c->state = C_HANDSHAKE;
	handshake(w, c);
}

/* --bind: the numeric source address (of the family connected to), any port. */
static int bind_source(int fd, int family, const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		sl = sizeof(struct sockaddr_in);
		if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) != 1) {
			errno = EAFNOSUPPORT;
			return -1;
		}
	} else if (family == AF_INET6) {
		sl = sizeof(struct sockaddr_in6);
		if (inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *)&ss)->sin6_addr) != 1) {
			errno = EAFNOSUPPORT;
			return -1;
		}
	} else {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return bind(fd, (struct sockaddr *)&ss, sl);
}

/* Connects to c->ai or, failing that, to the next addresses. */
static void tcp_connect(struct worker *w, struct conn *c)
{
	const struct phone_load *l = w->r->l;

	for (; c->ai != NULL; c->ai = c->ai->ai_next) {
		const struct addrinfo *ai = c->ai;

		c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (c->fd >= 0 && l->bind != NULL && bind_source(c->fd, ai->ai_family, l->bind) != 0) {
			snprintf(c->s.error, sizeof(c->s.error), "bind %s: %s", l->bind, strerror(errno));
			close_fd(c);
			continue;
		}
		if (c->fd >= 0 && connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			tls_start(w, c);
			return;
		}
		if (c->fd >= 0 && errno == EINPROGRESS) {
			c->state = C_CONNECT;
			watch(w, c, EPOLLOUT);
			return;
		}
		snprintf(c->s.error, sizeof(c->s.error), "connect %s:%s: %s", l->host, l->port,
			 strerror(errno));
		close_fd(c);
	}
	fail(c, "connect %s:%s: no address", l->host, l->port);
}

/* The socket is ready: carry the session on. */
static void conn_event(struct worker *w, struct conn *c)
{
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	switch (c->state) {
	case C_CONNECT:
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
			soerr = errno;
		if (soerr == 0) {
			tls_start(w, c);
			return;
		}
		snprintf(c->s.error, sizeof(c->s.error), "connect %s:%s: %s", w->r->l->host, w->r->l->port,
			 strerror(soerr));
		close_fd(c);
		c->ai = c->ai->ai_next;
		tcp_connect(w, c);
		return;
	case C_HANDSHAKE:
		handshake(w, c);
		return;
	case C_SESSION:
		session_io(w, c);
		return;
	default:
		return;
	}
}

static void conn_timeout(struct worker *w, struct conn *c)
{
	const struct phone_load *l = w->r->l;
	int sec = l->timeout_ms / 1000;

	switch (c->state) {
	case C_CONNECT:
		c->s.error[0] = '\0';
		fail(c, "connect %s:%s: %s (--timeout %d s)", l->host, l->port, strerror(ETIMEDOUT), sec);
		break;
	case C_HANDSHAKE:
		fail(c, "TLS handshake: timeout waiting for the server (--timeout %d s)", sec);
		break;
	default:
		fail(c, "timeout waiting for the server (--timeout %d s for the whole session)", sec);
		break;
	}
}

/* Reports the session that ended and frees the slot, or, told RETRY_LATER with
 * l->retry_max_ms, keeps the slot waiting for the next attempt. */
static void conn_end(struct worker *w, struct conn *c)
{
	const struct phone_load *l = w->r->l;

	phone_session_clear_out(&c->s);
	capf_reader_free(c->rd);
	c->rd = NULL;
	SSL_free(c->ssl);
	c->ssl = NULL;
	close_fd(c);
	ERR_clear_error();
	if (c->s.result == PHONE_RUNNING)
		fail(c, "%s", "the session ended without a result");
	if (c->s.result == PHONE_RETRY && l->retry_max_ms > 0) {
		double d = (double)c->s.retry_delay * 1e3;

		if (d > l->retry_max_ms)
			d = l->retry_max_ms;
		d = d / 2 + d / 2 * (double)rand_r(&c->seed) / RAND_MAX;
		if (now_ms() + d >= c->first_t0 + l->timeout_ms)
			goto report; /* no time left: RETRY_LATER is its result */
		if (l->retries != NULL)
			atomic_fetch_add(l->retries, 1);
		phone_session_free(&c->s);
		c->state = C_WAIT;
		c->deadline = now_ms() + d;
		return;
	}
report:
	l->done(l->arg, c->idx, &c->s, now_ms() - c->first_t0);
	phone_session_free(&c->s);
	c->state = C_IDLE;
}

/* The wait after RETRY_LATER is over: the same device connects again. */
static void conn_retry(struct worker *w, struct conn *c)
{
	const struct phone_load *l = w->r->l;

	phone_session_init(&c->s, &c->cfg);
	c->wi = 0;
	c->rc = 0;
	c->t0 = now_ms();
	c->deadline = c->t0 + l->timeout_ms;
	if ((c->ai = w->r->addrs) == NULL) {
		fail(c, "%s", w->r->gai_err);
		return;
	}
	tcp_connect(w, c);
}

/* Starts the next session in an idle slot; -1 when every session has been started. */
static int conn_start(struct worker *w, struct conn *c)
{
	struct run *r = w->r;
	const struct phone_load *l = r->l;
	unsigned long i = atomic_fetch_add(&r->next, 1);

	if (i >= l->count)
		return -1;
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->idx = i;
	c->cfg = *l->cfg;
	c->cfg.name = c->name;
	phone_session_init(&c->s, &c->cfg);
	c->t0 = c->first_t0 = now_ms();
	c->seed = (unsigned)i * 2654435761u;
	c->deadline = c->t0 + l->timeout_ms;
	if (l->pattern == NULL)
		snprintf(c->name, sizeof(c->name), "%s", l->cfg->name);
	else if (phone_pattern_format(l->pattern, l->first + i, c->name, sizeof(c->name)) != 0) {
		fail(c, "the name pattern makes more than %d bytes of %lu", CAPF_NAME_MAX, l->first + i);
		return 0;
	}
	if ((c->ai = r->addrs) == NULL) {
		fail(c, "%s", r->gai_err);
		return 0;
	}
	tcp_connect(w, c);
	return 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event ev[64];
	int more = 1;

	for (;;) {
		unsigned active = 0;
		double next = 0, t;
		int n, wait_ms;

		/* idle slots take the next sessions (one that ends at once is reported here) */
		for (unsigned i = 0; more && i < w->nconns; i++) {
			struct conn *c = &w->conns[i];

			while (more && c->state == C_IDLE) {
				if (conn_start(w, c) != 0)
					more = 0;
				else if (c->state == C_END)
					conn_end(w, c);
			}
		}
		for (unsigned i = 0; i < w->nconns; i++) {
			if (w->conns[i].state == C_IDLE)
				continue;
			if (active++ == 0 || w->conns[i].deadline < next)
				next = w->conns[i].deadline;
		}
		if (active == 0)
			break;
		t = next - now_ms();
		wait_ms = t <= 0 ? 0 : (int)t + 1;
		n = epoll_wait(w->ep, ev, (int)(sizeof(ev) / sizeof(ev[0])), wait_ms);
		if (n < 0 && errno != EINTR) {
			snprintf(w->err, sizeof(w->err), "epoll_wait: %s", strerror(errno));
			for (unsigned i = 0; i < w->nconns; i++)
				if (w->conns[i].state != C_IDLE) {
					if (w->conns[i].state == C_WAIT)
						phone_session_init(&w->conns[i].s, &w->conns[i].cfg);
					fail(&w->conns[i], "%s", w->err);
					conn_end(w, &w->conns[i]);
				}
			break;
		}
		for (int k = 0; k < n; k++) {
			struct conn *c = ev[k].data.ptr;

			conn_event(w, c);
			if (c->state == C_END)
				conn_end(w, c);
		}
		t = now_ms();
		for (unsigned i = 0; i < w->nconns; i++) {
			struct conn *c = &w->conns[i];

			if (c->state == C_WAIT && t >= c->deadline) {
				conn_retry(w, c);
				if (c->state == C_END)
					conn_end(w, c);
			} else if (c->state != C_IDLE && c->state != C_WAIT && t >= c->deadline) {
				conn_timeout(w, c);
				conn_end(w, c);
			}
		}
	}
	return NULL;
}

int phone_load_run(const struct phone_load *l, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC };
	struct run r;
	struct worker *w = NULL;
	struct conn *conns = NULL;
	unsigned nt, off = 0;
	int rc = -1, grc;

	if (l->count == 0 || l->concurrency == 0 || l->timeout_ms <= 0 || l->done == NULL) {
		snprintf(err, errlen, "phone_load_run: sessions, concurrency, timeout and done are required");
		return -1;
	}
	nt = l->threads == 0 ? 1 : l->threads;
	if (nt > l->concurrency)
		nt = l->concurrency;
	memset(&r, 0, sizeof(r));
	r.l = l;
	atomic_init(&r.next, 0);
	/* once per run; when it fails, every session fails with its message */
	if ((grc = getaddrinfo(l->host, l->port, &hints, &r.addrs)) != 0) {
		snprintf(r.gai_err, sizeof(r.gai_err), "%s:%s: %s", l->host, l->port, gai_strerror(grc));
		r.addrs = NULL;
	}
	w = calloc(nt, sizeof(*w));
	conns = calloc(l->concurrency, sizeof(*conns));
	if (w == NULL || conns == NULL) {
		snprintf(err, errlen, "out of memory for %u sessions", l->concurrency);
		goto out;
	}
	for (unsigned t = 0; t < nt; t++) {
		w[t].ep = -1;
		w[t].r = &r;
		w[t].conns = conns + off;
		w[t].nconns = l->concurrency / nt + (t < l->concurrency % nt);
		off += w[t].nconns;
		if ((w[t].ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
			snprintf(err, errlen, "epoll_create1: %s", strerror(errno));
			goto out;
		}
	}
	/* the calling thread runs the first share */
	for (unsigned t = 1; t < nt; t++) {
		if ((grc = pthread_create(&w[t].th, NULL, worker_main, &w[t])) != 0) {
			snprintf(w[t].err, sizeof(w[t].err), "cannot start a thread: %s", strerror(grc));
			continue;
		}
		w[t].started = 1;
	}
	worker_main(&w[0]);
	rc = 0;
	for (unsigned t = 0; t < nt; t++) {
		if (w[t].started)
			pthread_join(w[t].th, NULL);
		if (w[t].err[0] != '\0' && rc == 0) {
			snprintf(err, errlen, "%s", w[t].err);
			rc = -1;
		}
	}
	if (rc == 0 && atomic_load(&r.next) < l->count) {
		snprintf(err, errlen, "only %lu of %lu sessions were started",
			 (unsigned long)atomic_load(&r.next), l->count);
		rc = -1;
	}
out:
	for (unsigned t = 0; w != NULL && t < nt; t++)
		if (w[t].ep >= 0)
			close(w[t].ep);
	free(w);
	free(conns);
	if (r.addrs != NULL)
		freeaddrinfo(r.addrs);
	return rc;
}
