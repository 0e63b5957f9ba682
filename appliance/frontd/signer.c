/*
 * appliance/frontd/signer.c: the bounded pool of connections to capf-signerd's
 * front.sock (AF_UNIX SOCK_SEQPACKET), driven from the epoll loop.
 *
 * Each connection carries at most one request at a time; its request id is
 * assigned here (per connection, never 0) and the answer must echo verb and id
 * (capf_ipc_decode_response). Requests that find every connection busy wait in
 * one FIFO of at most queue_max entries; beyond that the pool is saturated and
 * signer_submit fails at once (the phone gets RETRY_LATER). A connection that
 * breaks, answers garbage or exceeds the request timeout is closed, its request
 * fails, and it is reconnected with exponential backoff (100 ms .. 5 s).
 * Before a connection is used, its server must be the owner of sockets.dir, a
 * directory group and others cannot write (SO_PEERCRED): a front.sock someone
 * else put there gets nothing (logged as signer_not_trusted, retried every 5 s).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "appliance/common/log.h"
#include "appliance/common/peercred.h"
#include "appliance/frontd/frontd.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct sconn;

struct signer_req {
	struct signer_req *next; /* queue link */
	uint8_t *buf;
	size_t len;
	uint16_t verb;
	uint32_t id;
	signer_done_fn done; /* NULL: orphan (ABORT, late RESULT) or cancelled */
	void *arg;
	int cancelled;
	uint64_t abort_token; /* ABORT this once answered (cancelled requests) */
	uint8_t abort_cause;
	uint64_t deadline; /* queued or in flight: give up after this */
};

struct sconn {
	struct front_ev ev; /* ev.fd -1 while down */
	struct signer_pool *pool;
	unsigned idx;
	struct signer_req *cur; /* in flight (or waiting for EPOLLOUT) */
	int unsent;             /* cur not yet accepted by send() */
	uint64_t retry_at;
	unsigned backoff;
	uint32_t next_id;
};

struct signer_pool {
	struct front *f;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sconn *c;
	unsigned n;
	struct signer_req *qhead, *qtail;
	unsigned qlen, qmax;
	unsigned timeout_ms;
	uint8_t *rbuf;
	int warned;     /* "unreachable" logged for this outage */
	int distrusted; /* "not trusted" logged: a server of the wrong uid */
};

static void req_free(struct signer_req *r)
{
	if (r == NULL)
		return;
	/* BEGIN carries a PASSWORD */
	OPENSSL_clear_free(r->buf, r->len);
	free(r);
}

static unsigned pool_up(const struct signer_pool *p)
{
	unsigned up = 0;

	for (unsigned i = 0; i < p->n; i++)
		up += p->c[i].ev.fd >= 0;
	return up;
}

static void send_abort(struct signer_pool *p, uint64_t token, uint8_t cause)
{
	struct capf_ipc_builder b;

	if (token == 0)
		return;
	capf_ipc_build_request(&b, CAPF_IPC_ABORT, 1);
	capf_ipc_put_u64(&b, CAPF_IPC_T_TOKEN, token);
	capf_ipc_put_u8(&b, CAPF_IPC_T_CAUSE, cause);
	if (signer_send_orphan(p, &b, CAPF_IPC_ABORT) < 0)
		capf_log(LOG_WARNING, "signer_abort_dropped", "token=%016llx cause=%u",
			 (unsigned long long)token, cause);
	capf_ipc_builder_free(&b);
}

/* r is finished (answer in resp, or NULL): tell its owner, or ABORT what it
 * left open when the owner went away. Frees r. */
static void req_complete(struct signer_pool *p, struct signer_req *r, const struct capf_ipc_msg *resp)
{
	if (r->done != NULL && !r->cancelled) {
		r->done(r->arg, r, resp);
	} else if (r->cancelled && resp != NULL) {
		uint64_t tok = r->abort_token;

		if (tok == 0 && r->verb == CAPF_IPC_BEGIN && resp->status == CAPF_IPC_OK) {
			uint8_t d = 0;
			capf_ipc_get_u8(resp, CAPF_IPC_T_DECISION, &d);
			if (d == CAPF_IPC_DO_INSTALL || d == CAPF_IPC_DO_FETCH || d == CAPF_IPC_DO_DELETE)
				capf_ipc_get_u64(resp, CAPF_IPC_T_TOKEN, &tok);
		}
		if (resp->status == CAPF_IPC_OK)
			send_abort(p, tok, r->abort_cause);
	}
	req_free(r);
}

static void conn_down(struct sconn *c, const char *why)
{
	struct signer_pool *p = c->pool;
	struct signer_req *r = c->cur;
	uint64_t now = front_now_ms();

	if (c->ev.fd >= 0) {
		front_ev_del(p->f, &c->ev);
		close(c->ev.fd);
		c->ev.fd = -1;
		capf_log(LOG_WARNING, "signer_disconnected", "conn=%u reason=\"%s\"", c->idx, why);
	}
	c->cur = NULL;
	c->unsent = 0;
	c->backoff = c->backoff == 0                 ? BACKOFF_MIN_MS :
		     c->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
						       c->backoff * 2;
	c->retry_at = now + c->backoff;
	if (r != NULL)
		req_complete(p, r, NULL);
}

static int conn_up(struct sconn *c)
{
	struct signer_pool *p = c->pool;
	struct sockaddr_un sa;
	char err[400];
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, p->path, strlen(p->path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		c->backoff = c->backoff == 0                 ? BACKOFF_MIN_MS :
			     c->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
							       c->backoff * 2;
		c->retry_at = front_now_ms() + c->backoff;
		if (!p->warned && pool_up(p) == 0)
			capf_log(LOG_WARNING, "signer_unreachable", "socket=%s error=\"%s\" retry_ms=%u",
				 p->path, strerror(e), c->backoff);
		p->warned |= pool_up(p) == 0;
		return -1;
	}
	/* before anything is sent: the server must be the owner of sockets.dir */
	if (capf_sock_server_check(fd, p->path, err, sizeof(err)) != 0) {
		close(fd);
		c->backoff = BACKOFF_MAX_MS;
		c->retry_at = front_now_ms() + c->backoff;
		if (!p->distrusted)
			capf_log(LOG_ERR, "signer_not_trusted", "socket=%s error=\"%s\" retry_ms=%u", p->path,
				 err, c->backoff);
		p->distrusted = 1;
		return -1;
	}
	p->distrusted = 0;
	c->ev.fd = fd;
	if (front_ev_add(p->f, &c->ev, EPOLLIN) < 0) {
		close(fd);
		c->ev.fd = -1;
		return -1;
	}
	c->backoff = 0;
	if (p->warned)
		capf_log(LOG_NOTICE, "signer_reachable", "socket=%s", p->path);
	p->warned = 0;
	capf_log(LOG_DEBUG, "signer_connected", "conn=%u socket=%s", c->idx, p->path);
	return 0;
}

/* Puts r on the wire on the idle connection c. */
static void conn_send(struct sconn *c, struct signer_req *r)
{
	struct signer_pool *p = c->pool;
	ssize_t n;

	if (++c->next_id == 0)
		c->next_id = 1;
	r->id = c->next_id;
	r->buf[4] = (uint8_t)(r->id >> 24);
	r->buf[5] = (uint8_t)(r->id >> 16);
	r->buf[6] = (uint8_t)(r->id >> 8);
	r->buf[7] = (uint8_t)r->id;
	r->deadline = front_now_ms() + p->timeout_ms;
	c->cur = r;
	n = send(c->ev.fd, r->buf, r->len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == (ssize_t)r->len) {
		c->unsent = 0;
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		c->unsent = 1;
		front_ev_mod(p->f, &c->ev, EPOLLIN | EPOLLOUT);
		return;
	}
	conn_down(c, n < 0 ? strerror(errno) : "short send");
}

/* Hands queued requests to idle connections. */
static void pump(struct signer_pool *p)
{
	for (unsigned i = 0; i < p->n && p->qhead != NULL; i++) {
		struct sconn *c = &p->c[i];
		struct signer_req *r;

		if (c->ev.fd < 0 || c->cur != NULL)
			continue;
		r = p->qhead;
		p->qhead = r->next;
		if (p->qhead == NULL)
			p->qtail = NULL;
		p->qlen--;
		r->next = NULL;
		conn_send(c, r);
	}
}

static void fail_queue(struct signer_pool *p)
{
	while (p->qhead != NULL) {
		struct signer_req *r = p->qhead;

		p->qhead = r->next;
		if (p->qhead == NULL)
			p->qtail = NULL;
		p->qlen--;
		req_complete(p, r, NULL);
	}
}

struct signer_pool *signer_pool_new(struct front *f, const char *sock_path, unsigned nconn, unsigned queue_max,
				    unsigned timeout_ms)
{
	struct signer_pool *p;

	if (strlen(sock_path) >= sizeof(p->path) || nconn == 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->f = f;
	snprintf(p->path, sizeof(p->path), "%s", sock_path);
	p->n = nconn;
	p->qmax = queue_max;
	p->timeout_ms = timeout_ms;
	p->c = calloc(nconn, sizeof(*p->c));
	p->rbuf = malloc(CAPF_IPC_MSG_MAX);
	if (p->c == NULL || p->rbuf == NULL) {
		free(p->c);
		free(p->rbuf);
		free(p);
		return NULL;
	}
	for (unsigned i = 0; i < nconn; i++) {
		p->c[i].ev.kind = EV_SIGNER;
		p->c[i].ev.fd = -1;
		p->c[i].pool = p;
		p->c[i].idx = i;
	}
	for (unsigned i = 0; i < nconn; i++)
		if (conn_up(&p->c[i]) < 0)
			break; /* the signer is not there yet: the tick retries */
	return p;
}

void signer_pool_free(struct signer_pool *p)
{
	if (p == NULL)
		return;
	for (unsigned i = 0; i < p->n; i++) {
		struct sconn *c = &p->c[i];

		if (c->ev.fd >= 0) {
			front_ev_del(p->f, &c->ev);
			close(c->ev.fd);
			c->ev.fd = -1;
		}
		req_free(c->cur);
		c->cur = NULL;
	}
	while (p->qhead != NULL) {
		struct signer_req *r = p->qhead;
		p->qhead = r->next;
		req_free(r);
	}
	OPENSSL_cleanse(p->rbuf, CAPF_IPC_MSG_MAX);
	free(p->rbuf);
	free(p->c);
	free(p);
}

static struct signer_req *enqueue(struct signer_pool *p, struct capf_ipc_builder *b, uint16_t verb,
				  signer_done_fn done, void *arg)
{
	const uint8_t *msg;
	size_t len;
	char err[160];
	struct signer_req *r;
	uint64_t now = front_now_ms();

	if (capf_ipc_build_finish(b, &msg, &len, err, sizeof(err)) < 0) {
		capf_log(LOG_ERR, "signer_request_invalid", "verb=%s error=\"%s\"", capf_ipc_verb_name(verb),
			 err);
		return NULL;
	}
	if (len < CAPF_IPC_HEADER_LEN)
		return NULL;
	/* someone must be able to take it: try the connections that are due */
	if (pool_up(p) == 0) {
		for (unsigned i = 0; i < p->n; i++)
			if (p->c[i].ev.fd < 0 && p->c[i].retry_at <= now)
				conn_up(&p->c[i]);
		if (pool_up(p) == 0)
			return NULL;
	}
	if (p->qlen >= p->qmax) {
		int idle = 0;
		for (unsigned i = 0; i < p->n; i++)
			idle |= p->c[i].ev.fd >= 0 && p->c[i].cur == NULL;
		if (!idle)
			return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL || (r->buf = malloc(len)) == NULL) {
		free(r);
		return NULL;
	}
	memcpy(r->buf, msg, len);
	r->len = len;
	r->verb = verb;
	r->done = done;
	r->arg = arg;
	r->deadline = now + p->timeout_ms;
	if (p->qtail != NULL)
		p->qtail->next = r;
	else
		p->qhead = r;
	p->qtail = r;
	p->qlen++;
	pump(p);
	return r;
}

struct signer_req *signer_submit(struct signer_pool *p, struct capf_ipc_builder *b, uint16_t verb,
				 signer_done_fn done, void *arg)
{
	return enqueue(p, b, verb, done, arg);
}

int signer_send_orphan(struct signer_pool *p, struct capf_ipc_builder *b, uint16_t verb)
{
	return enqueue(p, b, verb, NULL, NULL) != NULL ? 0 : -1;
}

void signer_cancel(struct signer_pool *p, struct signer_req *r, uint64_t abort_token, uint8_t cause)
{
	struct signer_req **pp, *prev = NULL;

	if (r == NULL)
		return;
	/* still queued: never sent, nothing to undo */
	for (pp = &p->qhead; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp != r)
			continue;
		*pp = r->next;
		if (p->qtail == r)
			p->qtail = prev;
		p->qlen--;
		/* an unsent BEGIN opened nothing; an unsent ISSUE/RESULT left a session open */
		if (abort_token != 0)
			send_abort(p, abort_token, cause);
		req_free(r);
		return;
	}
	r->cancelled = 1;
	r->done = NULL;
	r->abort_token = abort_token;
	r->abort_cause = cause;
}

static void conn_read(struct sconn *c)
{
	struct signer_pool *p = c->pool;
	struct capf_ipc_msg m;
	struct signer_req *r;
	char err[200];
	ssize_t n;

	n = recv(c->ev.fd, p->rbuf, CAPF_IPC_MSG_MAX, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		conn_down(c, n == 0 ? "closed by the signer" : strerror(errno));
		return;
	}
	if (n > CAPF_IPC_MSG_MAX) {
		conn_down(c, "message above 64 KiB");
		return;
	}
	r = c->cur;
	if (r == NULL || c->unsent) {
		conn_down(c, "answer without a request");
		return;
	}
	memset(&m, 0, sizeof(m));
	if (capf_ipc_decode_response(&m, p->rbuf, (size_t)n, r->verb, r->id, err, sizeof(err)) < 0) {
		capf_log(LOG_ERR, "signer_bad_answer", "conn=%u verb=%s error=\"%s\"", c->idx,
			 capf_ipc_verb_name(r->verb), err);
		capf_ipc_msg_free(&m);
		conn_down(c, "malformed answer");
		return;
	}
	c->cur = NULL;
	req_complete(p, r, &m);
	capf_ipc_msg_free(&m);
	OPENSSL_cleanse(p->rbuf, (size_t)n);
	pump(p);
}

void signer_event(struct signer_pool *p, struct front_ev *ev, uint32_t events)
{
	struct sconn *c = (struct sconn *)(void *)ev;

	if (c->ev.fd < 0)
		return; /* stale event for a connection closed in this batch */
	if ((events & EPOLLOUT) && c->unsent && c->cur != NULL) {
		ssize_t n = send(c->ev.fd, c->cur->buf, c->cur->len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n == (ssize_t)c->cur->len) {
			c->unsent = 0;
			front_ev_mod(p->f, &c->ev, EPOLLIN);
		} else if (!(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
			conn_down(c, n < 0 ? strerror(errno) : "short send");
			pump(p);
			return;
		}
	}
	if (events & EPOLLIN)
		conn_read(c);
	else if (events & (EPOLLERR | EPOLLHUP))
		conn_down(c, "hang-up");
	if (pool_up(p) == 0)
		fail_queue(p);
	pump(p);
}

void signer_tick(struct signer_pool *p, uint64_t now)
{
	for (unsigned i = 0; i < p->n; i++) {
		struct sconn *c = &p->c[i];

		if (c->ev.fd >= 0 && c->cur != NULL && c->cur->deadline <= now) {
			capf_log(LOG_ERR, "signer_timeout", "conn=%u verb=%s timeout_ms=%u", c->idx,
				 capf_ipc_verb_name(c->cur->verb), p->timeout_ms);
			conn_down(c, "request timed out");
		}
		if (c->ev.fd < 0 && c->retry_at <= now)
			conn_up(c);
	}
	/* queued too long */
	while (p->qhead != NULL && p->qhead->deadline <= now) {
		struct signer_req *r = p->qhead;

		p->qhead = r->next;
		if (p->qhead == NULL)
			p->qtail = NULL;
		p->qlen--;
		req_complete(p, r, NULL);
	}
	if (pool_up(p) == 0)
		fail_queue(p);
	pump(p);
}

void signer_stats(const struct signer_pool *p, unsigned *up, unsigned *busy, unsigned *queued)
{
	unsigned u = 0, b = 0;

	for (unsigned i = 0; i < p->n; i++) {
		u += p->c[i].ev.fd >= 0;
		b += p->c[i].cur != NULL;
	}
	*up = u;
	*busy = b;
	*queued = p->qlen;
}
