/*
 * appliance/frontd/session.c: one phone connection: the non-blocking TLS
 * handshake, the CAPF reader, the write queue (each CAPF message goes out in
 * exactly one SSL_write), the server side of the CAPF flows, and the steps
 * forwarded to the signer (BEGIN, ISSUE, RESULT, ABORT).
 *
 * States and what moves them:
 *   WAITING    --first TLS record complete, a handshake slot-->  HANDSHAKE
 *              (no SSL object before: a silent connection costs the descriptor
 *              and this struct; see front.max_handshakes in frontd.h)
 *   HANDSHAKE  --TLS done-->            SESSID   (the signer chooses the CAPF session id)
 *   SESSID     --session id-->          AUTH     (AUTH_REQUEST sent)
 *   AUTH       --AUTH_RESPONSE-->       BEGIN    (waiting for the signer)
 *   BEGIN      --install-->             KEYGEN   (KEY_GENERATE_REQUEST sent)
 *              --fetch/delete-->        FETCH / DELETE
 *              --nothing/unknown/refused/retry--> CLOSING
 *   KEYGEN     --KEY_GENERATE_RESPONSE with key-->  ISSUE (signer)
 *              --without key-->         RESULT(keygen failed) -> KEYGEN (next) or CLOSING
 *   ISSUE      --LSC-->                 STORE    (STORE_CERTIFICATE_REQUEST sent)
 *   STORE/FETCH/DELETE --response-->    RESULT (signer) -> CLOSING (END_SESSION)
 *   CLOSING: the last message is flushed, close_notify, close.
 * A message the state does not expect, a wrong session id or a framing error
 * ends the session with END_SESSION 7. A session that ends before its outcome
 * was reported ABORTs the signer session.
 *
 * Deadlines, all absolute (bytes that do not complete a CAPF message extend
 * nothing, so a client trickling bytes cannot hold a slot):
 *   the TLS handshake          front.handshake_timeout from connect (waiting
 *                              for a slot included)
 *   each request to the phone  front.idle_timeout from sending it until the
 *                              phone's complete answer (front.keygen_timeout for
 *                              KEY_GENERATE_REQUEST; REQUEST_IN_PROGRESS does
 *                              not extend it); the next request starts the next
 *   each signer step           the pool's request timeout
 *   the last message           CLOSE_GRACE_MS to flush it
 *   the whole session          front.session_timeout from connect
 * A connection accepted at the connection limit (refuse) is told RETRY_LATER as
 * soon as its handshake (REFUSE_HANDSHAKE_MS at most) is done.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "appliance/capf/evidence.h"
#include "appliance/capf/reader.h"
#include "appliance/common/log.h"
#include "appliance/frontd/frontd.h"
#include "policy/osslerr.h"

#define MAX_ALTS 8
#define RX_CAP (256 * 1024) /* bytes a phone may send in one session */
#define TX_CAP (128 * 1024) /* bytes queued for one phone */
#define CLOSE_GRACE_MS 3000 /* to flush the last message */

enum sstate {
	S_HANDSHAKE,
	S_AUTH,
	S_BEGIN,
	S_KEYGEN,
	S_ISSUE,
	S_STORE,
	S_FETCH,
	S_DELETE,
	S_RESULT,
	S_CLOSING,
	S_SESSID,
	S_WAIT,
};

static const char *const state_names[] = {
	"handshake", "auth",   "begin",  "keygen",  "issue",      "store",
	"fetch",     "delete", "result", "closing", "session_id", "waiting",
};

struct outmsg {
	struct outmsg *next;
	size_t len;
	uint8_t data[];
};

struct session {
	struct front_ev ev;
	struct front *f;
	struct session *prev, *next; /* all sessions (live list, then graveyard) */
	SSL *ssl;
	enum sstate st;
	int dead;
	uint32_t events; /* epoll interest now */
	int ssl_wants_write;
	char peer[80];
	char name[2 * CAPF_NAME_MAX + 8]; /* quoted for logs */
	uint32_t sid;
	int sid_signed; /* sid chosen by the signer (SESSION_ID answered) */
	int has_version;
	uint8_t version;
	struct capf_reader *rd;
	struct outmsg *oq_head, *oq_tail;
	size_t oq_bytes;
	size_t rx_total;
	uint64_t deadline, t_start;
	uint64_t end_by; /* the whole session's deadline */
	struct peer *pa; /* counts of the phone's address */
	int refuse;      /* connection limit: RETRY_LATER after the handshake */
	/* WAITING: hello (its ClientHello is in, queued in pa->wq); HANDSHAKE: in
	 * the slot list since t_slot (refuse: no slot) */
	int hello, in_slot;
	struct session *qprev, *qnext;
	uint64_t t_slot;
	/* with the signer */
	struct signer_req *req;
	uint64_t token;
	int token_live; /* a signer session whose outcome is not reported yet */
	uint8_t decision;
	struct capf_keyparam alts[MAX_ALTS];
	unsigned nalts, alt;
	uint8_t outcome;      /* the RESULT being reported */
	const char *end_what; /* for the closing log line */
	unsigned end_reason;
};

static struct session *live;      /* open sessions */
static struct session *graveyard; /* closed, freed after the epoll batch */

static void s_unlink(struct session **head, struct session *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
}

static void s_push(struct session **head, struct session *s)
{
	s->prev = NULL;
	s->next = *head;
	if (*head != NULL)
		(*head)->prev = s;
	*head = s;
}

/* ---- handshake slots and the ClientHellos waiting for one ---- */

static struct session *hs_head, *hs_tail; /* holding a slot, oldest first */
static unsigned nsilent;                  /* WAITING, nothing (complete) received yet */
static uint64_t last_evict_log;

/* The address's held slots (dh) and waiting ClientHellos (dw) change. */
static void demand(struct front *f, struct peer *p, int dh, int dw)
{
	unsigned before = p->handshakes + p->waiting;

	p->handshakes = (unsigned)((int)p->handshakes + dh);
	p->waiting = (unsigned)((int)p->waiting + dw);
	if (before == 0 && p->handshakes + p->waiting != 0)
		f->hs_addrs++;
	else if (before != 0 && p->handshakes + p->waiting == 0)
		f->hs_addrs--;
}

/* A new address in the ring goes just before the cursor: after those waiting. */
static void ring_add(struct front *f, struct peer *p)
{
	if (f->rr == NULL) {
		p->rr_prev = p->rr_next = p;
		f->rr = p;
		return;
	}
	p->rr_next = f->rr;
	p->rr_prev = f->rr->rr_prev;
	p->rr_prev->rr_next = p;
	f->rr->rr_prev = p;
}

static void ring_del(struct front *f, struct peer *p)
{
	if (p->rr_next == p) {
		f->rr = NULL;
	} else {
		p->rr_prev->rr_next = p->rr_next;
		p->rr_next->rr_prev = p->rr_prev;
		if (f->rr == p)
			f->rr = p->rr_next;
	}
	p->rr_prev = p->rr_next = NULL;
}

/* s's ClientHello is in: it waits behind its address's others. */
static void wait_push(struct session *s)
{
	struct peer *p = s->pa;

	s->hello = 1;
	s->qnext = NULL;
	s->qprev = p->wq_tail;
	if (p->wq_tail != NULL)
		p->wq_tail->qnext = s;
	else
		p->wq_head = s;
	p->wq_tail = s;
	if (p->waiting == 0)
		ring_add(s->f, p);
	demand(s->f, p, 0, 1);
	s->f->nwaiting++;
}

static void wait_unlink(struct session *s)
{
	struct peer *p = s->pa;

	if (s->qprev != NULL)
		s->qprev->qnext = s->qnext;
	else
		p->wq_head = s->qnext;
	if (s->qnext != NULL)
		s->qnext->qprev = s->qprev;
	else
		p->wq_tail = s->qprev;
	s->qprev = s->qnext = NULL;
	s->hello = 0;
	demand(s->f, p, 0, -1);
	s->f->nwaiting--;
	if (p->waiting == 0)
		ring_del(s->f, p);
}

static void slot_take(struct session *s, uint64_t now)
{
	struct front *f = s->f;

	s->in_slot = 1;
	s->t_slot = now;
	s->qnext = NULL;
	s->qprev = hs_tail;
	if (hs_tail != NULL)
		hs_tail->qnext = s;
	else
		hs_head = s;
	hs_tail = s;
	demand(f, s->pa, 1, 0);
	if (++f->nhandshakes > f->peak_handshakes)
		f->peak_handshakes = f->nhandshakes;
}

static void slot_release(struct session *s)
{
	if (!s->in_slot)
		return;
	if (s->qprev != NULL)
		s->qprev->qnext = s->qnext;
	else
		hs_head = s->qnext;
	if (s->qnext != NULL)
		s->qnext->qprev = s->qprev;
	else
		hs_tail = s->qprev;
	s->qprev = s->qnext = NULL;
	s->in_slot = 0;
	demand(s->f, s->pa, -1, 0);
	s->f->nhandshakes--;
}

static uint32_t idle_ms(const struct session *s)
{
	return s->f->conf->front.idle_timeout * 1000u;
}

static void set_events(struct session *s)
{
	uint32_t ev = EPOLLIN;

	if (s->oq_head != NULL || s->ssl_wants_write)
		ev |= EPOLLOUT;
	if (ev != s->events) {
		front_ev_mod(s->f, &s->ev, ev);
		s->events = ev;
	}
}

/* Ends the signer side when the outcome was not reported. */
static void signer_abandon(struct session *s, uint8_t cause)
{
	if (s->req != NULL) {
		signer_cancel(s->f->signer, s->req, s->token_live ? s->token : 0, cause);
		s->req = NULL;
		s->token_live = 0;
		return;
	}
	if (s->token_live) {
		struct capf_ipc_builder b;

		capf_ipc_build_request(&b, CAPF_IPC_ABORT, 1);
		capf_ipc_put_u64(&b, CAPF_IPC_T_TOKEN, s->token);
		capf_ipc_put_u8(&b, CAPF_IPC_T_CAUSE, cause);
		if (signer_send_orphan(s->f->signer, &b, CAPF_IPC_ABORT) < 0)
			capf_log(LOG_WARNING, "signer_abort_dropped", "peer=%s device=%s", s->peer, s->name);
		capf_ipc_builder_free(&b);
		s->token_live = 0;
	}
}

static void destroy(struct session *s, const char *why)
{
	if (s->dead)
		return;
	if (s->st != S_CLOSING || s->end_what == NULL)
		capf_log(s->st == S_HANDSHAKE || s->st == S_WAIT ? LOG_DEBUG : LOG_INFO, "session_closed",
			 "peer=%s device=%s state=%s reason=\"%s\" ms=%llu", s->peer,
			 s->name[0] ? s->name : "-", state_names[s->st], why,
			 (unsigned long long)(front_now_ms() - s->t_start));
	signer_abandon(s, CAPF_FAIL_PHONE_COMMUNICATION);
	s->dead = 1;
	front_ev_del(s->f, &s->ev);
	if (s->hello)
		wait_unlink(s);
	else if (s->st == S_WAIT)
		nsilent--;
	slot_release(s);
	if (s->ssl != NULL) {
		SSL_free(s->ssl);
		s->ssl = NULL;
		s->f->nssl--;
	}
	close(s->ev.fd);
	s->ev.fd = -1;
	while (s->oq_head != NULL) {
		struct outmsg *m = s->oq_head;
		s->oq_head = m->next;
		OPENSSL_cleanse(m->data, m->len);
		free(m);
	}
	capf_reader_free(s->rd);
	s->rd = NULL;
	s_unlink(&live, s);
	s_push(&graveyard, s);
	if (s->refuse) {
		s->f->nrefusing--;
		s->pa->refusing--;
	} else {
		s->f->nsessions--;
		s->pa->sessions--;
	}
	peer_release(s->pa);
	s->pa = NULL;
}

void session_reap(void)
{
	while (graveyard != NULL) {
		struct session *s = graveyard;

		s_unlink(&graveyard, s);
		free(s);
	}
}

/* Writes queued messages, each with one SSL_write. Returns -1 when s died. */
static int flush(struct session *s)
{
	while (s->oq_head != NULL) {
		struct outmsg *m = s->oq_head;
		int n, e;

		ERR_clear_error();
		n = SSL_write(s->ssl, m->data, (int)m->len);
		if (n > 0) {
			s->ssl_wants_write = 0;
			s->oq_head = m->next;
			if (s->oq_head == NULL)
				s->oq_tail = NULL;
			s->oq_bytes -= m->len;
			free(m);
			continue;
		}
		e = SSL_get_error(s->ssl, n);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
			s->ssl_wants_write = e == SSL_ERROR_WANT_WRITE;
			return 0;
		}
		destroy(s, "TLS write failed");
		return -1;
	}
	if (s->st == S_CLOSING) {
		SSL_shutdown(s->ssl); /* close_notify, best effort */
		destroy(s, s->end_what != NULL ? s->end_what : "done");
		return -1;
	}
	return 0;
}

/* Queues a built message; the builder is freed. */
static int queue_msg(struct session *s, struct capf_builder *b)
{
	const uint8_t *out;
	size_t len;
	struct outmsg *m;
	char err[160];

	if (capf_build_finish(b, &out, &len, err, sizeof(err)) < 0) {
		capf_log(LOG_ERR, "capf_build_failed", "peer=%s error=\"%s\"", s->peer, err);
		capf_build_free(b);
		return -1;
	}
	if (s->oq_bytes + len > TX_CAP || (m = malloc(sizeof(*m) + len)) == NULL) {
		capf_build_free(b);
		return -1;
	}
	m->next = NULL;
	m->len = len;
	memcpy(m->data, out, len);
	capf_build_free(b);
	if (s->oq_tail != NULL)
		s->oq_tail->next = m;
	else
		s->oq_head = m;
	s->oq_tail = m;
	s->oq_bytes += len;
	return 0;
}

/* The last message: END_SESSION {REASON} or RETRY_LATER {RETRY_DELAY}. */
static void finish(struct session *s, uint8_t command, unsigned value, const char *what)
{
	struct capf_builder b;

	if (s->st == S_CLOSING)
		return;
	capf_build_init(&b, command, s->sid, 0);
	if (command == CAPF_CMD_RETRY_LATER)
		capf_build_retry_delay(&b, value);
	else
		capf_build_u8(&b, CAPF_TAG_REASON, (uint8_t)value);
	s->st = S_CLOSING;
	s->end_what = what;
	s->end_reason = value;
	s->deadline = front_now_ms() + CLOSE_GRACE_MS;
	/* a refusal at the connection limit: counted and logged once a second by main.c */
	capf_log(s->refuse                                                       ? LOG_DEBUG :
		 value == CAPF_REASON_SUCCESS || command == CAPF_CMD_RETRY_LATER ? LOG_INFO :
										   LOG_NOTICE,
		 "session_end", "peer=%s device=%s sent=%s value=%u outcome=\"%s\" ms=%llu", s->peer,
		 s->name[0] ? s->name : "-", capf_command_name(command), value, what,
		 (unsigned long long)(front_now_ms() - s->t_start));
	if (queue_msg(s, &b) < 0) {
		destroy(s, "cannot queue the last message");
		return;
	}
}

static void end_session(struct session *s, unsigned reason, const char *what)
{
	finish(s, CAPF_CMD_END_SESSION, reason, what);
}

static void retry_later(struct session *s, uint32_t delay, const char *what)
{
	finish(s, CAPF_CMD_RETRY_LATER, delay ? delay : s->f->conf->front.retry_delay, what);
}

/* The phone broke the protocol: END_SESSION 7, and the signer session is abandoned. */
static void violation(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(struct session *s, const char *fmt, ...)
{
	char buf[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	capf_log(LOG_WARNING, "protocol_violation", "peer=%s device=%s state=%s error=\"%s\"", s->peer,
		 s->name[0] ? s->name : "-", state_names[s->st], buf);
	signer_abandon(s, CAPF_FAIL_PHONE_COMMUNICATION);
	end_session(s, CAPF_REASON_INVALID, "protocol violation");
}

/* ---- signer steps ---- */

static void on_signer(void *arg, struct signer_req *r, const struct capf_ipc_msg *resp);
static void send_auth_request(struct session *s);

static int submit(struct session *s, struct capf_ipc_builder *b, uint16_t verb, enum sstate next)
{
	struct signer_req *r = signer_submit(s->f->signer, b, verb, on_signer, s);

	capf_ipc_builder_free(b);
	if (r == NULL) {
		unsigned up, busy, queued;

		signer_stats(s->f->signer, &up, &busy, &queued);
		capf_log(LOG_WARNING, "signer_unavailable", "peer=%s device=%s verb=%s up=%u busy=%u queued=%u",
			 s->peer, s->name[0] ? s->name : "-", capf_ipc_verb_name(verb), up, busy, queued);
		if (verb != CAPF_IPC_BEGIN)
			signer_abandon(s, CAPF_FAIL_CA_COMMUNICATION);
		retry_later(s, 0, "signer unavailable");
		return -1;
	}
	s->req = r;
	s->st = next;
	s->deadline = 0; /* the pool times signer requests out */
	return 0;
}

static void send_keygen(struct session *s)
{
	struct capf_builder b;
	const struct capf_keyparam *k;
	char kbuf[32];

	/* protocol 2 (Jabber) knows RSA only: skip EC alternatives */
	while (s->alt < s->nalts && s->alts[s->alt].type != CAPF_KEY_RSA && (!s->has_version || s->version < 3))
		s->alt++;
	if (s->alt >= s->nalts) {
		capf_log(LOG_WARNING, "no_key_alternative", "peer=%s device=%s version=%u", s->peer, s->name,
			 s->version);
		signer_abandon(s, CAPF_FAIL_KEYGEN_FAILED);
		end_session(s, CAPF_REASON_INVALID, "no key type the phone can generate");
		return;
	}
	k = &s->alts[s->alt];
	capf_build_init(&b, CAPF_CMD_KEY_GENERATE_REQUEST, s->sid, 0);
	if (s->has_version && s->version < 3) {
		capf_build_u16(&b, CAPF_TAG_KEY_SIZE, (uint16_t)k->rsa_bits);
	} else if (k->type == CAPF_KEY_RSA) {
		capf_build_u8(&b, CAPF_TAG_KEY_TYPE, CAPF_KEY_RSA);
		capf_build_u16(&b, CAPF_TAG_KEY_SIZE, (uint16_t)k->rsa_bits);
	} else {
		capf_build_u8(&b, CAPF_TAG_KEY_TYPE, CAPF_KEY_EC);
		capf_build_u8(&b, CAPF_TAG_CURVE, (uint8_t)k->curve);
	}
	if (queue_msg(s, &b) < 0) {
		destroy(s, "cannot queue KEY_GENERATE_REQUEST");
		return;
	}
	capf_log(LOG_DEBUG, "keygen_request", "peer=%s device=%s key=\"%s\" alt=%u", s->peer, s->name,
		 capf_keyparam_str(k, kbuf, sizeof(kbuf)), s->alt);
	s->st = S_KEYGEN;
	s->deadline = front_now_ms() + (uint64_t)s->f->conf->front.keygen_timeout * 1000u;
}

static int parse_alt(const struct capf_ipc_field *f, struct capf_keyparam *k)
{
	struct capf_ipc_msg sub;
	char err[160];
	uint8_t kt = 0, curve = 0;
	uint32_t bits = 0;
	int rc = -1;

	memset(&sub, 0, sizeof(sub));
	if (capf_ipc_decode_nested(f, &sub, err, sizeof(err)) < 0)
		goto out;
	if (capf_ipc_get_u8(&sub, CAPF_IPC_T_KEY_TYPE, &kt) < 0)
		goto out;
	memset(k, 0, sizeof(*k));
	if (kt == CAPF_KEY_RSA) {
		if (capf_ipc_get_u32(&sub, CAPF_IPC_T_RSA_BITS, &bits) < 0 || bits < 512 || bits > 65535)
			goto out;
		k->type = CAPF_KEY_RSA;
		k->rsa_bits = bits;
	} else {
		if (capf_ipc_get_u8(&sub, CAPF_IPC_T_CURVE, &curve) < 0)
			goto out;
		k->type = CAPF_KEY_EC;
		k->curve = (enum capf_curve)curve;
	}
	rc = 0;
out:
	capf_ipc_msg_free(&sub);
	return rc;
}

static void send_result(struct session *s, uint8_t outcome, const uint8_t *cert, size_t cert_len)
{
	struct capf_ipc_builder b;

	capf_ipc_build_request(&b, CAPF_IPC_RESULT, 1);
	capf_ipc_put_u64(&b, CAPF_IPC_T_TOKEN, s->token);
	capf_ipc_put_u8(&b, CAPF_IPC_T_OUTCOME, outcome);
	if (outcome == CAPF_IPC_KEYGEN_FAILED)
		capf_ipc_put_u8(&b, CAPF_IPC_T_ALT_INDEX, (uint8_t)s->alt);
	if (cert != NULL)
		capf_ipc_put_bytes(&b, CAPF_IPC_T_CERT, cert, cert_len);
	s->outcome = outcome;
	submit(s, &b, CAPF_IPC_RESULT, S_RESULT);
}

static void begin_answer(struct session *s, const struct capf_ipc_msg *m)
{
	const struct capf_ipc_field *f = NULL;

	if (capf_ipc_get_u8(m, CAPF_IPC_T_DECISION, &s->decision) < 0 ||
	    capf_ipc_get_u64(m, CAPF_IPC_T_TOKEN, &s->token) < 0) {
		end_session(s, CAPF_REASON_INVALID, "signer answer without decision");
		return;
	}
	capf_log(LOG_INFO, "decision", "peer=%s device=%s decision=%s", s->peer, s->name,
		 capf_ipc_decision_name(s->decision));
	switch (s->decision) {
	case CAPF_IPC_DO_INSTALL:
		s->token_live = 1;
		s->nalts = 0;
		while ((f = capf_ipc_find(m, CAPF_IPC_T_KEY_ALT, f)) != NULL && s->nalts < MAX_ALTS) {
			if (parse_alt(f, &s->alts[s->nalts]) < 0) {
				signer_abandon(s, CAPF_FAIL_CA_COMMUNICATION);
				end_session(s, CAPF_REASON_INVALID, "bad key alternative from the signer");
				return;
			}
			s->nalts++;
		}
		s->alt = 0;
		send_keygen(s);
		break;
	case CAPF_IPC_DO_FETCH:
	case CAPF_IPC_DO_DELETE: {
		struct capf_builder b;
		int fetch = s->decision == CAPF_IPC_DO_FETCH;

		s->token_live = 1;
		capf_build_init(&b,
				fetch ? CAPF_CMD_FETCH_CERTIFICATE_REQUEST :
					CAPF_CMD_DELETE_CERTIFICATE_REQUEST,
				s->sid, 0);
		capf_build_u8(&b, CAPF_TAG_CERTIFICATE_TYPE, CAPF_CERT_LSC);
		if (queue_msg(s, &b) < 0) {
			destroy(s, "cannot queue request");
			return;
		}
		s->st = fetch ? S_FETCH : S_DELETE;
		s->deadline = front_now_ms() + idle_ms(s);
		break;
	}
	case CAPF_IPC_DO_NOTHING:
		end_session(s, CAPF_REASON_NO_ACTION, "nothing scheduled");
		break;
	case CAPF_IPC_DO_UNKNOWN_DEVICE:
		end_session(s, CAPF_REASON_UNKNOWN_DEVICE, "unknown device");
		break;
	default:
		end_session(s, CAPF_REASON_INVALID, "unknown decision");
		break;
	}
}

static void issue_answer(struct session *s, const struct capf_ipc_msg *m)
{
	struct capf_builder b;
	const uint8_t *der;
	size_t der_len;

	if (capf_ipc_get_bytes(m, CAPF_IPC_T_CERT, &der, &der_len) < 0 || der_len == 0) {
		signer_abandon(s, CAPF_FAIL_CA_COMMUNICATION);
		end_session(s, CAPF_REASON_INVALID, "signer answer without certificate");
		return;
	}
	capf_build_init(&b, CAPF_CMD_STORE_CERTIFICATE_REQUEST, s->sid, 0);
	capf_build_u8(&b, CAPF_TAG_CERTIFICATE_TYPE, CAPF_CERT_LSC);
	capf_build_cert(&b, CAPF_CERT_LSC, der, der_len);
	if (queue_msg(s, &b) < 0) {
		destroy(s, "cannot queue STORE_CERTIFICATE_REQUEST");
		return;
	}
	capf_log(LOG_DEBUG, "lsc_sent", "peer=%s device=%s bytes=%zu", s->peer, s->name, der_len);
	s->st = S_STORE;
	s->deadline = front_now_ms() + idle_ms(s);
}

static void result_answer(struct session *s, const struct capf_ipc_msg *m)
{
	const char *what = capf_ipc_outcome_name(s->outcome);

	switch (s->outcome) {
	case CAPF_IPC_STORED:
		end_session(s, CAPF_REASON_SUCCESS, "certificate installed");
		return;
	case CAPF_IPC_FETCHED:
		end_session(s, CAPF_REASON_SUCCESS, "certificate fetched");
		return;
	case CAPF_IPC_DELETED:
		end_session(s, CAPF_REASON_SUCCESS, "certificate deleted");
		return;
	case CAPF_IPC_KEYGEN_FAILED: {
		uint8_t next;
		const struct capf_ipc_field *f = capf_ipc_find(m, CAPF_IPC_T_KEY_ALT, NULL);

		if (capf_ipc_get_u8(m, CAPF_IPC_T_ALT_INDEX, &next) == 0) {
			if (f != NULL && next < MAX_ALTS && parse_alt(f, &s->alts[next]) == 0 &&
			    next >= s->nalts)
				s->nalts = next + 1u;
			if (next < s->nalts && next != s->alt) {
				s->token_live = 1;
				s->alt = next;
				send_keygen(s);
				return;
			}
		}
		end_session(s, CAPF_REASON_INVALID, "key generation failed");
		return;
	}
	default:
		end_session(s, CAPF_REASON_INVALID, what);
		return;
	}
}

static void on_signer(void *arg, struct signer_req *r, const struct capf_ipc_msg *resp)
{
	struct session *s = arg;
	enum sstate st = s->st;
	uint32_t delay = 0;
	char text[256] = "";

	(void)r;
	s->req = NULL;
	if (s->dead)
		return;
	if (st == S_SESSID && (resp == NULL || resp->status != CAPF_IPC_OK)) {
		/* no session id from the signer: the phone still gets AUTH_REQUEST
		 * (with our own number) and RETRY_LATER after its AUTH_RESPONSE */
		send_auth_request(s);
		goto out;
	}
	if (resp == NULL) {
		if (st != S_BEGIN)
			signer_abandon(s, CAPF_FAIL_CA_COMMUNICATION);
		retry_later(s, 0, "signer unreachable or timed out");
		goto out;
	}
	if (resp->status != CAPF_IPC_OK) {
		uint8_t cause = 0;

		capf_ipc_get_u8(resp, CAPF_IPC_T_CAUSE, &cause);
		capf_ipc_get_u32(resp, CAPF_IPC_T_RETRY_DELAY, &delay);
		capf_ipc_get_str(resp, CAPF_IPC_T_TEXT, text, sizeof(text));
		capf_log(LOG_NOTICE, "signer_refused",
			 "peer=%s device=%s step=%s status=%s cause=%u text=\"%s\"", s->peer, s->name,
			 state_names[st], capf_ipc_status_name(resp->status), cause, text);
		/* the signer closed its session when it refused */
		s->token_live = 0;
		if (resp->status == CAPF_IPC_RETRY_LATER)
			retry_later(s, delay, "signer asked to retry later");
		else
			end_session(s, CAPF_REASON_INVALID,
				    resp->status == CAPF_IPC_REFUSED ? "refused by the signer" :
								       "signer error");
		goto out;
	}
	switch (st) {
	case S_SESSID: {
		uint32_t sid = 0;

		if (capf_ipc_get_u32(resp, CAPF_IPC_T_CAPF_SESSION, &sid) != 0) {
			end_session(s, CAPF_REASON_INVALID, "signer answer without session id");
			break;
		}
		s->sid = sid;
		s->sid_signed = 1;
		send_auth_request(s);
		break;
	}
	case S_BEGIN:
		begin_answer(s, resp);
		break;
	case S_ISSUE:
		issue_answer(s, resp);
		break;
	case S_RESULT:
		if (s->outcome != CAPF_IPC_KEYGEN_FAILED)
			s->token_live = 0;
		else
			s->token_live = 0; /* re-armed by result_answer when a next alternative follows */
		result_answer(s, resp);
		break;
	default:
		end_session(s, CAPF_REASON_INVALID, "unexpected signer answer");
		break;
	}
out:
	if (!s->dead && flush(s) == 0)
		set_events(s);
}

/* ---- phone messages ---- */

static void on_auth_response(struct session *s, const struct capf_msg *m)
{
	struct capf_auth_response a;
	struct capf_ipc_builder b;
	char err[200];
	int rc;

	memset(&a, 0, sizeof(a));
	rc = capf_auth_response_parse(m, &a, err, sizeof(err));
	if (rc < 0) {
		violation(s, "bad AUTH_RESPONSE: %s", err);
		return;
	}
	capf_log_quote(s->name, sizeof(s->name), a.device_name);
	s->has_version = a.has_version;
	s->version = a.version;
	capf_log(LOG_INFO, "auth_response",
		 "peer=%s device=%s version=%u password=%s cert=%s "
		 "signed=%s sha2=%s sudi=%s unknown_tags=%u",
		 s->peer, s->name, a.has_version ? a.version : 0,
		 !a.has_password     ? "absent" :
		 a.password_len == 0 ? "empty" :
				       "set",
		 a.has_cert ? (a.cert.type == CAPF_CERT_MIC ? "MIC" : "LSC") : "none",
		 a.signed_data ? "yes" : "no", a.has_sha2 ? "yes" : "no", a.has_sudi ? "yes" : "no",
		 a.unknown_tags);

	if (!s->sid_signed) {
		capf_log(LOG_WARNING, "signer_unavailable", "peer=%s device=%s verb=SESSION_ID", s->peer,
			 s->name);
		retry_later(s, 0, "no session id from the signer");
		return;
	}
	capf_ipc_build_request(&b, CAPF_IPC_BEGIN, 1);
	capf_ipc_put_str(&b, CAPF_IPC_T_DEVICE_NAME, a.device_name);
	capf_ipc_put_u32(&b, CAPF_IPC_T_CAPF_SESSION, s->sid);
	capf_ipc_put_str(&b, CAPF_IPC_T_PEER, s->peer);
	if (a.has_version)
		capf_ipc_put_u8(&b, CAPF_IPC_T_CLIENT_VERSION, a.version);
	if (a.has_password)
		capf_ipc_put_str(&b, CAPF_IPC_T_PASSWORD, a.password);
	if (a.has_cert) {
		capf_ipc_put_bytes(&b, CAPF_IPC_T_CERT, a.cert.der, a.cert.der_len);
		capf_ipc_put_u8(&b, CAPF_IPC_T_CERT_TYPE, a.cert.type);
	}
	if (a.signed_data != NULL)
		capf_ipc_put_bytes(&b, CAPF_IPC_T_SIGNED_DATA, a.signed_data, a.signed_data_len);
	if (a.has_sha2) {
		capf_ipc_put_u8(&b, CAPF_IPC_T_SHA2_HASH, a.sha2.hash_id);
		capf_ipc_put_bytes(&b, CAPF_IPC_T_SHA2_SIG, a.sha2.sig, a.sha2.sig_len);
	}
	if (a.has_sudi)
		capf_ipc_put_bytes(&b, CAPF_IPC_T_SUDI_DATA, a.sudi_raw, a.sudi_raw_len);
	if (b.error) {
		char msg[sizeof(b.errmsg)];

		snprintf(msg, sizeof(msg), "%s", b.errmsg);
		capf_ipc_builder_free(&b);
		violation(s, "AUTH_RESPONSE does not fit the signer request: %s", msg);
		return;
	}
	submit(s, &b, CAPF_IPC_BEGIN, S_BEGIN);
}

static void on_keygen_response(struct session *s, const struct capf_msg *m)
{
	struct capf_ipc_builder b;
	const uint8_t *pk = NULL;
	size_t pklen = 0;
	char err[200];
	int rc = capf_msg_bytes(m, CAPF_TAG_PUBLIC_KEY, &pk, &pklen, err, sizeof(err));

	if (rc < 0) {
		violation(s, "bad KEY_GENERATE_RESPONSE: %s", err);
		return;
	}
	if (rc == 0 || pklen == 0) {
		capf_log(LOG_NOTICE, "keygen_failed", "peer=%s device=%s alt=%u", s->peer, s->name, s->alt);
		send_result(s, CAPF_IPC_KEYGEN_FAILED, NULL, 0);
		return;
	}
	if (pklen > 4096) {
		violation(s, "PUBLIC_KEY of %zu bytes (at most 4096)", pklen);
		return;
	}
	capf_ipc_build_request(&b, CAPF_IPC_ISSUE, 1);
	capf_ipc_put_u64(&b, CAPF_IPC_T_TOKEN, s->token);
	capf_ipc_put_bytes(&b, CAPF_IPC_T_PUBLIC_KEY, pk, pklen);
	capf_ipc_put_u8(&b, CAPF_IPC_T_ALT_INDEX, (uint8_t)s->alt);
	submit(s, &b, CAPF_IPC_ISSUE, S_ISSUE);
}

static int reason_of(const struct capf_msg *m, uint8_t *reason)
{
	char err[160];
	int rc = capf_msg_u8(m, CAPF_TAG_REASON, reason, err, sizeof(err));

	if (rc == 0)
		*reason = CAPF_REASON_INVALID;
	return rc < 0 ? -1 : 0;
}

static void on_message(struct session *s, const struct capf_msg *m)
{
	uint8_t reason;

	if (m->session_id != s->sid) {
		violation(s, "wrong session id %08x, expected %08x", (unsigned)m->session_id, (unsigned)s->sid);
		return;
	}
	switch (s->st) {
	case S_AUTH:
		if (m->command == CAPF_CMD_AUTH_RESPONSE) {
			on_auth_response(s, m);
			return;
		}
		break;
	case S_KEYGEN:
		if (m->command == CAPF_CMD_REQUEST_IN_PROGRESS)
			return; /* the key-generation timeout keeps running */
		if (m->command == CAPF_CMD_KEY_GENERATE_RESPONSE) {
			on_keygen_response(s, m);
			return;
		}
		break;
	case S_STORE:
		if (m->command == CAPF_CMD_STORE_CERTIFICATE_RESPONSE) {
			if (reason_of(m, &reason) < 0) {
				violation(s, "bad REASON in %s", "STORE_CERTIFICATE_RESPONSE");
				return;
			}
			send_result(s, reason == CAPF_REASON_SUCCESS ? CAPF_IPC_STORED : CAPF_IPC_STORE_FAILED,
				    NULL, 0);
			return;
		}
		break;
	case S_FETCH:
		if (m->command == CAPF_CMD_FETCH_CERTIFICATE_RESPONSE) {
			struct capf_elem e;
			struct capf_wrapped_cert wc;
			char err[160];

			if (reason_of(m, &reason) < 0) {
				violation(s, "bad REASON in %s", "FETCH_CERTIFICATE_RESPONSE");
				return;
			}
			if (reason == CAPF_REASON_SUCCESS && capf_msg_find(m, CAPF_TAG_CERTIFICATE, &e) == 1) {
				if (capf_cert_unwrap(e.val, e.len, &wc, err, sizeof(err)) < 0) {
					violation(s, "bad CERTIFICATE: %s", err);
					return;
				}
				send_result(s, CAPF_IPC_FETCHED, wc.der, wc.der_len);
			} else {
				send_result(s, CAPF_IPC_FETCH_NONE, NULL, 0);
			}
			return;
		}
		break;
	case S_DELETE:
		if (m->command == CAPF_CMD_DELETE_CERTIFICATE_RESPONSE) {
			if (reason_of(m, &reason) < 0) {
				violation(s, "bad REASON in %s", "DELETE_CERTIFICATE_RESPONSE");
				return;
			}
			send_result(s,
				    reason == CAPF_REASON_SUCCESS ? CAPF_IPC_DELETED : CAPF_IPC_DELETE_FAILED,
				    NULL, 0);
			return;
		}
		break;
	case S_CLOSING:
		return; /* whatever comes after our last message */
	default:
		break;
	}
	violation(s, "unexpected %s", capf_command_name(m->command));
}

static void on_readable(struct session *s)
{
	uint8_t buf[16384];

	for (;;) {
		int n, e;
		const uint8_t *p;
		size_t left;

		ERR_clear_error();
		n = SSL_read(s->ssl, buf, sizeof(buf));
		if (n <= 0) {
			e = SSL_get_error(s->ssl, n);
			if (e == SSL_ERROR_WANT_READ)
				return;
			if (e == SSL_ERROR_WANT_WRITE) {
				s->ssl_wants_write = 1;
				return;
			}
			if (s->st == S_CLOSING)
				destroy(s, s->end_what);
			else
				destroy(s, e == SSL_ERROR_ZERO_RETURN ? "phone closed" :
					   capf_reader_pending(s->rd) ? "phone gone mid-message" :
									"phone gone");
			return;
		}
		s->rx_total += (size_t)n;
		if (s->rx_total > RX_CAP) {
			OPENSSL_cleanse(buf, (size_t)n);
			if (s->st == S_CLOSING)
				destroy(s, "flooding after the last message");
			else
				violation(s, "more than %d bytes in one session", RX_CAP);
			return;
		}
		if (s->st == S_CLOSING) {
			OPENSSL_cleanse(buf, (size_t)n);
			continue; /* drain, ignore */
		}
		p = buf;
		left = (size_t)n;
		while (left > 0 && s->st != S_CLOSING && !s->dead) {
			struct capf_msg m;
			char err[200];
			size_t used = 0;
			int rc = capf_reader_feed(s->rd, p, left, &used, &m, err, sizeof(err));

			if (rc < 0) {
				violation(s, "framing: %s", err);
				break;
			}
			p += used;
			left -= used;
			if (rc == 1)
				on_message(s, &m);
			if (rc == 0 && used == 0)
				break;
		}
		OPENSSL_cleanse(buf, (size_t)n);
		if (s->dead)
			return;
		/* no deadline moves here: only a complete message leads to the next
		 * request, and that request starts its own deadline */
	}
}

static void send_auth_request(struct session *s)
{
	struct capf_builder b;

	capf_build_init(&b, CAPF_CMD_AUTH_REQUEST, s->sid, 0);
	capf_build_u8(&b, CAPF_TAG_VERSION, 3);
	capf_build_u8(&b, CAPF_TAG_AUTH_TYPE, CAPF_AUTHTYPE_PASSWORD);
	if (queue_msg(s, &b) < 0) {
		destroy(s, "cannot queue AUTH_REQUEST");
		return;
	}
	s->st = S_AUTH;
	s->deadline = front_now_ms() + idle_ms(s);
}

/* The CAPF session id comes from the signer (it checks SUDI_DATA against its
 * own number); until it answers, the random one of session_new is only used
 * for a RETRY_LATER. */
static void request_session_id(struct session *s)
{
	struct capf_ipc_builder b;
	struct signer_req *r;

	capf_ipc_build_request(&b, CAPF_IPC_SESSION_ID, 1);
	capf_ipc_put_str(&b, CAPF_IPC_T_PEER, s->peer);
	r = signer_submit(s->f->signer, &b, CAPF_IPC_SESSION_ID, on_signer, s);
	capf_ipc_builder_free(&b);
	if (r == NULL) {
		send_auth_request(s); /* RETRY_LATER after AUTH_RESPONSE */
		return;
	}
	s->req = r;
	s->st = S_SESSID;
	s->deadline = 0; /* the pool times signer requests out */
}

/* Which phones need tls.legacy: TLS below 1.2 or static-RSA key transport. */
static void legacy_note(struct session *s)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(s->ssl);
	int rsa_kx = c != NULL && SSL_CIPHER_get_kx_nid(c) == NID_kx_rsa;

	if (SSL_version(s->ssl) < TLS1_2_VERSION || rsa_kx)
		capf_log(LOG_NOTICE, "legacy_tls", "peer=%s version=%s cipher=%s kx=%s sid=%08x", s->peer,
			 SSL_get_version(s->ssl), c ? SSL_CIPHER_get_name(c) : "none", rsa_kx ? "rsa" : "ecdhe",
			 (unsigned)s->sid);
}

static void handshake(struct session *s)
{
	int n, e;

	ERR_clear_error();
	n = SSL_do_handshake(s->ssl);
	if (n == 1) {
		slot_release(s);
		capf_log(LOG_DEBUG, "tls_established", "peer=%s version=%s cipher=%s sid=%08x", s->peer,
			 SSL_get_version(s->ssl), SSL_get_cipher_name(s->ssl), (unsigned)s->sid);
		legacy_note(s);
		s->ssl_wants_write = 0;
		if (s->refuse)
			retry_later(s, 0, "connection limit");
		else
			request_session_id(s);
		return;
	}
	e = SSL_get_error(s->ssl, n);
	if (e == SSL_ERROR_WANT_READ) {
		s->ssl_wants_write = 0;
		return;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		s->ssl_wants_write = 1;
		return;
	}
	{
		char buf[300];
		int any = ERR_peek_error() != 0;

		capf_log(LOG_NOTICE, "tls_failed", "peer=%s error=\"%s\"", s->peer,
			 any                    ? capf_ossl_errors(buf, sizeof(buf)) :
			 e == SSL_ERROR_SYSCALL ? "connection closed" :
						  "handshake failed");
	}
	destroy(s, "TLS handshake failed");
}

static void start_handshake(struct session *s, uint64_t now);

/* WAITING: the first TLS record (the ClientHello), peeked until it is complete;
 * then the connection waits for a handshake slot (session_admit). */
static void on_first_bytes(struct session *s, uint32_t events)
{
	static uint8_t peek[5 + 16384 + 2048]; /* one TLS record at most */
	ssize_t n;

	if (s->hello) { /* waiting for a slot: only its end matters */
		if (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))
			destroy(s, "phone gone while its ClientHello waited");
		return;
	}
	n = recv(s->ev.fd, peek, sizeof(peek), MSG_PEEK);
	if (n == 0) {
		destroy(s, "closed before a ClientHello");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			destroy(s, "connection error before a ClientHello");
		return;
	}
	/* a handshake record (22): all of it first, so that a ClientHello sent a
	 * byte at a time takes no slot (the next bytes wake us: edge-triggered);
	 * anything else goes to OpenSSL, which refuses it */
	if (peek[0] == 22) {
		size_t need = n >= 5 ? 5 + ((size_t)peek[3] << 8 | peek[4]) : 6;

		if ((size_t)n < need && need <= sizeof(peek))
			return;
	}
	nsilent--;
	/* refused: bounded by REFUSE_SLOTS, no slot; else a free slot and nobody
	 * waiting for one: at once */
	if (s->refuse || (s->f->rr == NULL && s->f->nhandshakes < s->f->max_handshakes)) {
		start_handshake(s, front_now_ms());
		return;
	}
	wait_push(s);
	if (front_ev_mod(s->f, &s->ev, EPOLLRDHUP) < 0) {
		destroy(s, "epoll");
		return;
	}
	s->events = EPOLLRDHUP;
}

void session_event(struct session *s, uint32_t events)
{
	if (s->dead)
		return; /* closed earlier in this batch */
	if (s->st == S_WAIT) {
		on_first_bytes(s, events);
		return;
	}
	if (s->st == S_HANDSHAKE) {
		handshake(s);
		if (s->dead || s->st == S_HANDSHAKE) {
			if (!s->dead)
				set_events(s);
			return;
		}
	}
	if (flush(s) < 0)
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR) || s->ssl_wants_write) {
		on_readable(s);
		if (s->dead)
			return;
		if (flush(s) < 0)
			return;
	}
	set_events(s);
}

/* The ClientHello is in and a slot is s's (or it is being refused): the SSL
 * object, then the handshake as if the socket had just become readable. */
static void start_handshake(struct session *s, uint64_t now)
{
	struct front *f = s->f;

	if (!s->refuse)
		slot_take(s, now);
	s->st = S_HANDSHAKE;
	s->ssl = SSL_new(f->ssl);
	if (s->ssl == NULL) {
		destroy(s, "out of memory for TLS");
		return;
	}
	if (++f->nssl > f->peak_ssl)
		f->peak_ssl = f->nssl;
	if (SSL_set_fd(s->ssl, s->ev.fd) != 1) {
		destroy(s, "out of memory for TLS");
		return;
	}
	SSL_set_accept_state(s->ssl);
	session_event(s, EPOLLIN);
}

void session_admit(struct front *f, uint64_t now)
{
	while (f->rr != NULL && f->nhandshakes < f->max_handshakes) {
		struct peer *p = f->rr;
		struct session *s = p->wq_head;

		f->rr = p->rr_next; /* the next address goes next */
		wait_unlink(s);
		start_handshake(s, now);
	}
}

/* Every slot taken, ClientHellos waiting: an address below its fair share takes
 * the slot of the oldest handshake (held HANDSHAKE_MIN_HOLD_MS at least) of an
 * address above it. At most 64 addresses looked at, 64 evictions, a turn. */
static void evict_for_fairness(struct front *f, uint64_t now)
{
	unsigned looked = 0, evicted = 0;

	while (f->rr != NULL && f->nhandshakes >= f->max_handshakes && looked < 64 && evicted < 64) {
		unsigned fair = f->max_handshakes / (f->hs_addrs ? f->hs_addrs : 1);
		struct peer *p = f->rr;
		struct session *v, *w;

		if (fair == 0)
			fair = 1;
		looked++;
		f->rr = p->rr_next;
		if (p->handshakes >= fair)
			continue;
		for (v = hs_head; v != NULL; v = v->qnext)
			if (v->pa->handshakes > fair && now - v->t_slot >= HANDSHAKE_MIN_HOLD_MS)
				break;
		if (v == NULL)
			return; /* none held long enough yet */
		f->evicted++;
		evicted++;
		if (now - last_evict_log >= 1000) {
			capf_log(LOG_NOTICE, "handshake_evicted",
				 "peer=%s held_ms=%llu from_peer=%u fair_share=%u for=%s evicted=%llu", v->peer,
				 (unsigned long long)(now - v->t_slot), v->pa->handshakes, fair,
				 p->wq_head->peer, f->evicted);
			last_evict_log = now;
		}
		destroy(v, "handshake evicted: its address held more than its share of handshake slots");
		w = p->wq_head;
		wait_unlink(w);
		start_handshake(w, now);
	}
}

void session_log_load(const struct front *f, const char *why)
{
	struct mallinfo2 mi = mallinfo2(); /* the heap: in use, free inside it, mmap'd */

	capf_log(LOG_INFO, "front_load",
		 "why=%s sessions=%u refusing=%u silent=%u hello_waiting=%u handshakes=%u "
		 "max_handshakes=%u ssl=%u handshake_addresses=%u addresses=%u peak_handshakes=%u "
		 "peak_ssl=%u evicted=%llu heap_used_kib=%zu heap_free_kib=%zu mmap_kib=%zu",
		 why, f->nsessions, f->nrefusing, nsilent, f->nwaiting, f->nhandshakes, f->max_handshakes,
		 f->nssl, f->hs_addrs, peer_count(), f->peak_handshakes, f->peak_ssl, f->evicted,
		 mi.uordblks / 1024, mi.fordblks / 1024, mi.hblkhd / 1024);
}

void session_new(struct front *f, int fd, const char *peer, struct peer *pa, int refuse)
{
	struct session *s = calloc(1, sizeof(*s));
	int one = 1;

	if (s == NULL) {
		close(fd);
		peer_release(pa);
		return;
	}
	/* request/response, each message one write: no Nagle delay */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->ev.kind = EV_SESSION;
	s->ev.fd = fd;
	s->f = f;
	s->t_start = front_now_ms();
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	s->rd = capf_reader_new(CAPF_BODY_CAP_DEFAULT);
	if (s->rd == NULL || RAND_bytes((unsigned char *)&s->sid, sizeof(s->sid)) != 1) {
		capf_reader_free(s->rd);
		close(fd);
		free(s);
		peer_release(pa);
		return;
	}
	/* no SSL object before the ClientHello is in (on_first_bytes) */
	s->st = S_WAIT;
	s->deadline = s->t_start + (uint64_t)f->conf->front.handshake_timeout * 1000u;
	if (refuse && s->deadline > s->t_start + REFUSE_HANDSHAKE_MS)
		s->deadline = s->t_start + REFUSE_HANDSHAKE_MS;
	s->end_by = s->t_start + (uint64_t)f->conf->front.session_timeout * 1000u;
	s->events = EPOLLIN | EPOLLET;
	if (front_ev_add(f, &s->ev, EPOLLIN | EPOLLET) < 0) {
		capf_reader_free(s->rd);
		close(fd);
		free(s);
		peer_release(pa);
		return;
	}
	s_push(&live, s);
	nsilent++;
	s->pa = pa;
	s->refuse = refuse;
	if (refuse) {
		f->nrefusing++;
		pa->refusing++;
	} else {
		f->nsessions++;
		if (++pa->sessions > f->peak_per_address)
			f->peak_per_address = pa->sessions;
	}
	capf_log(LOG_DEBUG, "connected", "peer=%s sessions=%u refusing=%u", s->peer, f->nsessions,
		 f->nrefusing);
}

void session_tick(struct front *f, uint64_t now)
{
	struct session *s, *next;

	for (s = live; s != NULL; s = next) {
		next = s->next;
		if (s->st != S_CLOSING && s->st != S_HANDSHAKE && s->st != S_WAIT && now >= s->end_by) {
			capf_log(LOG_NOTICE, "session_deadline", "peer=%s device=%s state=%s seconds=%u",
				 s->peer, s->name[0] ? s->name : "-", state_names[s->st],
				 f->conf->front.session_timeout);
			signer_abandon(s, CAPF_FAIL_PHONE_COMMUNICATION);
			end_session(s, CAPF_REASON_INVALID, "session deadline");
			if (!s->dead && flush(s) == 0)
				set_events(s);
			continue;
		}
		if (s->deadline == 0 || s->deadline > now)
			continue;
		switch (s->st) {
		case S_WAIT:
			destroy(s,
				s->hello ? "handshake timeout (waiting for a slot)" : "no ClientHello in time");
			break;
		case S_HANDSHAKE:
			destroy(s, "handshake timeout");
			break;
		case S_CLOSING:
			destroy(s, "could not deliver the last message in time");
			break;
		case S_KEYGEN:
			capf_log(LOG_NOTICE, "keygen_timeout", "peer=%s device=%s", s->peer, s->name);
			if (s->token_live) {
				struct capf_ipc_builder b;

				capf_ipc_build_request(&b, CAPF_IPC_RESULT, 1);
				capf_ipc_put_u64(&b, CAPF_IPC_T_TOKEN, s->token);
				capf_ipc_put_u8(&b, CAPF_IPC_T_OUTCOME, CAPF_IPC_KEYGEN_TIMEOUT);
				capf_ipc_put_u8(&b, CAPF_IPC_T_ALT_INDEX, (uint8_t)s->alt);
				if (signer_send_orphan(f->signer, &b, CAPF_IPC_RESULT) == 0)
					s->token_live = 0;
				capf_ipc_builder_free(&b);
			}
			end_session(s, CAPF_REASON_INVALID, "key generation timeout");
			if (!s->dead && flush(s) == 0)
				set_events(s);
			break;
		default:
			capf_log(LOG_NOTICE, "idle_timeout", "peer=%s device=%s state=%s", s->peer,
				 s->name[0] ? s->name : "-", state_names[s->st]);
			signer_abandon(s, CAPF_FAIL_PHONE_COMMUNICATION);
			end_session(s, CAPF_REASON_INVALID, "idle timeout");
			if (!s->dead && flush(s) == 0)
				set_events(s);
			break;
		}
	}
	evict_for_fairness(f, now);
}

void session_close_all(struct front *f)
{
	(void)f;
	while (live != NULL)
		destroy(live, "shutting down");
	session_reap();
}
