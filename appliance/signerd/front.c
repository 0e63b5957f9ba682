/*
 * appliance/signerd/front.c: the FRONT role's verbs, one enrollment session at
 * a time per token:
 *   SESSION_ID  the CAPF session id for a new phone connection: chosen here
 *           (random, single use, bound to the front peer, expires), so that a
 *           SUDI signature over it cannot come from an earlier connection;
 *   BEGIN   consume that session id, look the device up, capf_decide, verify
 *           the evidence ourselves (authcheck.c, with the replay cache), open a
 *           session (random u64 token bound to the device and to the front
 *           peer's uid and pid, with an expiry);
 *   ISSUE   re-read the device (operation, mode, lockout, deadline: BEGIN's
 *           decision must still hold), decode the phone's key (the alternative
 *           asked for), build, lint, sign, verify, lint again, record the
 *           issuance durably, then answer the certificate;
 *   RESULT  what the phone answered: status, fall-back to the next key;
 *   ABORT   the front gives up on a session.
 * There is no verb that signs bytes the caller supplies. An administrator's
 * change to a device ends the device's open sessions
 * (signerd_front_device_changed). Expired sessions and session ids are swept by
 * a thread of their own, so that the dispatcher never waits for the store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "appliance/common/log.h"
#include "appliance/common/x509.h"
#include "appliance/signerd/signerd_int.h"
#include "policy/certutil.h"
#include "policy/decide.h"
#include "policy/errlist.h"
#include "policy/der.h"
#include "policy/lsc.h"
#include "policy/pubkey.h"
#include "appliance/capf/evidence.h"
#include "appliance/signerd/replay.h"

#define SESS_BUCKETS 1024
#define SESS_MARGIN 60   /* seconds beyond front.keygen_timeout + idle_timeout */
#define REPLAY_CAP 65536 /* certificate proofs remembered */
#define ENDED_CAP 65536  /* tokens of ended sessions remembered */

struct fsess {
	uint64_t token;
	char device[CAPF_DEVICE_NAME_MAX + 1];
	uid_t uid;
	pid_t pid;
	time_t expires;
	int busy; /* a request of this session is being served */
	enum capf_operation op;
	struct capf_decision d;                 /* install: the alternatives left, in key order */
	unsigned char alt_idx[CAPF_KEYALT_MAX]; /* BEGIN's index of d.keys[i] */
	int issued;
	int ended; /* an administrator changed the device */
	char serial[CAPF_STORE_SERIAL_HEX_MAX + 1];
	char peer_addr[129];
	uint8_t version; /* BEGIN's CLIENT_VERSION, for ISSUE's re-check */
	int sent_password;
	struct fsess *next;
};

/* A CAPF session id handed out by SESSION_ID and not yet used by a BEGIN. */
struct pend {
	uint32_t sid;
	uid_t uid;
	pid_t pid;
	time_t expires;
	struct pend *next;
};

struct signerd_sessions {
	pthread_mutex_t lock;
	struct fsess *b[SESS_BUCKETS];
	unsigned n, max;
	struct pend *pb[SESS_BUCKETS];
	unsigned npend;
	struct signerd_replay *ended; /* tokens of sessions that ended (signerd_front_state_ok) */
	/* the sweeper thread */
	pthread_t sweeper;
	pthread_cond_t wake;
	int started, stopping;
};

static void *sweeper_main(void *arg);

static unsigned bucket(uint64_t t)
{
	return (unsigned)((t ^ (t >> 29)) % SESS_BUCKETS);
}

/* A session leaves the table: its token is remembered as ended. */
static void sess_gone(struct signerd_sessions *s, uint64_t token)
{
	uint8_t key[1][SIGNERD_REPLAY_KEY_LEN];

	memset(key, 0, sizeof(key));
	memcpy(key[0], &token, sizeof(token));
	if (s->ended != NULL)
		signerd_replay_check_add(s->ended, (const uint8_t(*)[SIGNERD_REPLAY_KEY_LEN])key, 0, 1);
}

int signerd_front_init(struct signerd *sd, char *err, size_t errlen)
{
	struct signerd_sessions *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	s->max = sd->conf.front.max_connections;
	if (s->max < 64)
		s->max = 64;
	if (s->max > 200000)
		s->max = 200000;
	signerd_core(sd)->sessions = s;
	if ((signerd_core(sd)->replay = signerd_replay_new(REPLAY_CAP)) == NULL ||
	    (s->ended = signerd_replay_new(ENDED_CAP)) == NULL) {
		snprintf(err, errlen, "out of memory (replay cache)");
		signerd_front_fini(sd);
		return -1;
	}
	if (pthread_create(&s->sweeper, NULL, sweeper_main, sd) != 0) {
		snprintf(err, errlen, "cannot start the session sweeper thread");
		signerd_front_fini(sd);
		return -1;
	}
	s->started = 1;
	return 0;
}

void signerd_front_fini(struct signerd *sd)
{
	struct signerd_sessions *s = signerd_core(sd)->sessions;

	if (s == NULL)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->stopping = 1;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->sweeper, NULL);
	}
	for (unsigned i = 0; i < SESS_BUCKETS; i++) {
		struct fsess *e = s->b[i], *n;
		struct pend *p = s->pb[i], *pn;

		for (; e != NULL; e = n) {
			n = e->next;
			OPENSSL_clear_free(e, sizeof(*e));
		}
		for (; p != NULL; p = pn) {
			pn = p->next;
			free(p);
		}
	}
	signerd_replay_free(signerd_core(sd)->replay);
	signerd_replay_free(s->ended);
	signerd_core(sd)->replay = NULL;
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
	signerd_core(sd)->sessions = NULL;
}

unsigned signerd_front_active(struct signerd *sd)
{
	struct signerd_sessions *s = signerd_core(sd)->sessions;
	unsigned n;

	if (s == NULL)
		return 0;
	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static time_t sess_expiry(struct signerd *sd)
{
	return time(NULL) + (time_t)sd->conf.front.keygen_timeout + (time_t)sd->conf.front.idle_timeout +
	       SESS_MARGIN;
}

/* Inserts a copy of *in with a fresh token; 0 or -1 when the table is full. */
static int sess_add(struct signerd *sd, struct fsess *in)
{
	struct signerd_sessions *s = signerd_core(sd)->sessions;
	struct fsess *e;
	uint64_t t;

	if ((e = malloc(sizeof(*e))) == NULL)
		return -1;
	*e = *in;
	pthread_mutex_lock(&s->lock);
	if (s->n >= s->max) {
		pthread_mutex_unlock(&s->lock);
		OPENSSL_clear_free(e, sizeof(*e));
		return -1;
	}
	for (;;) {
		struct fsess *x;

		if (RAND_bytes((unsigned char *)&t, sizeof(t)) != 1) {
			pthread_mutex_unlock(&s->lock);
			OPENSSL_clear_free(e, sizeof(*e));
			return -1;
		}
		if (t == 0)
			continue;
		for (x = s->b[bucket(t)]; x != NULL && x->token != t; x = x->next)
			;
		if (x == NULL)
			break;
	}
	/* One session per device: a new BEGIN (the phone came back) replaces an
	 * idle earlier one. */
	for (unsigned i = 0; i < SESS_BUCKETS; i++) {
		struct fsess **pp = &s->b[i];

		while (*pp != NULL) {
			struct fsess *x = *pp;

			if (!x->busy && strcmp(x->device, e->device) == 0) {
				*pp = x->next;
				s->n--;
				sess_gone(s, x->token);
				OPENSSL_clear_free(x, sizeof(*x));
				continue;
			}
			pp = &x->next;
		}
	}
	e->token = t;
	e->busy = 0;
	e->next = s->b[bucket(t)];
	s->b[bucket(t)] = e;
	s->n++;
	pthread_mutex_unlock(&s->lock);
	in->token = t;
	return 0;
}

/* Checks a session out for one request: copied into *out and marked busy.
 * 0, -1 unknown/expired/other peer, -2 busy. */
static int sess_take(struct signerd *sd, uint64_t token, const struct signerd_peer *peer, struct fsess *out)
{
	struct signerd_sessions *s = signerd_core(sd)->sessions;
	struct fsess *e;
	int rc = -1;

	pthread_mutex_lock(&s->lock);
	for (e = s->b[bucket(token)]; e != NULL && e->token != token; e = e->next)
		;
	if (e != NULL && !e->ended && e->uid == peer->uid && e->pid == peer->pid && e->expires >= time(NULL)) {
		if (e->busy) {
			rc = -2;
		} else {
			e->busy = 1;
			*out = *e;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Returns a checked-out session: updated from *in (keep != 0) or removed. */
static void sess_give_back(struct signerd *sd, struct fsess *in, int keep)
{
	struct signerd_sessions *s = signerd_core(sd)->sessions;
	struct fsess **pp, *e;

	pthread_mutex_lock(&s->lock);
	for (pp = &s->b[bucket(in->token)]; *pp != NULL && (*pp)->token != in->token; pp = &(*pp)->next)
		;
	if ((e = *pp) != NULL) {
		if (keep && !e->ended) {
			struct fsess *next = e->next;

			*e = *in;
			e->next = next;
			e->busy = 0;
			e->expires = sess_expiry(sd);
		} else {
			*pp = e->next;
			s->n--;
			sess_gone(s, e->token);
			OPENSSL_clear_free(e, sizeof(*e));
		}
	}
	pthread_mutex_unlock(&s->lock);
}

static void set_status(struct signerd *sd, const struct signerd_peer *peer, const char *name,
		       enum capf_status st, enum capf_operation op, enum capf_fail_cause cause, unsigned flags)
{
	struct capf_store_actor who = signerd_actor(peer);
	char err[256], q[300];

	if (capf_store_device_set_status(sd->store, name, st, op, cause, flags, &who, err, sizeof(err)) != 0)
		capf_log(LOG_ERR, "store_failed", "device=%s what=set_status error=%s", name,
			 capf_log_quote(q, sizeof(q), err));
}

/* Sessions the front never finished: Phone Communication Failure (a store
 * write: the sweeper thread calls this, never the dispatcher). Session ids
 * never used by a BEGIN expire too. */
void signerd_front_sweep(struct signerd *sd, time_t now)
{
	struct signerd_sessions *s = signerd_core(sd)->sessions;
	struct fsess *gone = NULL;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < SESS_BUCKETS; i++) {
		struct pend **qq = &s->pb[i];

		while (*qq != NULL) {
			struct pend *q = *qq;

			if (q->expires < now) {
				*qq = q->next;
				s->npend--;
				free(q);
			} else {
				qq = &q->next;
			}
		}
	}
	for (unsigned i = 0; i < SESS_BUCKETS; i++) {
		struct fsess **pp = &s->b[i];

		while (*pp != NULL) {
			struct fsess *e = *pp;

			if (e->expires < now && !e->busy) {
				*pp = e->next;
				s->n--;
				sess_gone(s, e->token);
				e->next = gone;
				gone = e;
			} else {
				pp = &e->next;
			}
		}
	}
	pthread_mutex_unlock(&s->lock);
	while (gone != NULL) {
		struct fsess *e = gone;

		gone = e->next;
		capf_log(LOG_WARNING, "session_expired", "device=%s op=%s issued=%d", e->device,
			 capf_operation_name(e->op), e->issued);
		set_status(sd, NULL, e->device, CAPF_ST_FAILED, e->op, CAPF_FAIL_PHONE_COMMUNICATION, 0);
		OPENSSL_clear_free(e, sizeof(*e));
	}
}

static void *sweeper_main(void *arg)
{
	struct signerd *sd = arg;
	struct signerd_sessions *s = signerd_core(sd)->sessions;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&s->wake, &s->lock, &ts);
		if (s->stopping)
			break;
		pthread_mutex_unlock(&s->lock);
		signerd_front_sweep(sd, time(NULL));
		{
			char cerr[600];

			signerd_checkpoint(sd, 0, cerr, sizeof(cerr)); /* when due; logged on failure */
		}
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* An administrator changed (or removed) the device: BEGIN's decision no longer
 * holds. Idle sessions go at once; one serving a request now goes when it is
 * given back, and ISSUE checks before it records an issuance. */
void signerd_front_device_changed(struct signerd *sd, const char *name)
{
	struct signerd_sessions *s = signerd_core(sd)->sessions;
	unsigned ended = 0;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < SESS_BUCKETS; i++) {
		struct fsess **pp = &s->b[i];

		while (*pp != NULL) {
			struct fsess *e = *pp;

			if (strcasecmp(e->device, name) != 0) {
				pp = &e->next;
				continue;
			}
			ended++;
			if (e->busy) {
				e->ended = 1;
				pp = &e->next;
			} else {
				*pp = e->next;
				s->n--;
				sess_gone(s, e->token);
				OPENSSL_clear_free(e, sizeof(*e));
			}
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (ended)
		capf_log(LOG_NOTICE, "sessions_ended", "device=%s sessions=%u reason=admin_change", name,
			 ended);
}

/* Was the session ended by an administrator since it was taken? */
static int sess_ended(struct signerd *sd, uint64_t token)
{
	struct signerd_sessions *s = signerd_core(sd)->sessions;
	struct fsess *e;
	int r = 1;

	pthread_mutex_lock(&s->lock);
	for (e = s->b[bucket(token)]; e != NULL && e->token != token; e = e->next)
		;
	if (e != NULL)
		r = e->ended;
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* ---- CAPF session ids ---------------------------------------------------- */

static unsigned pbucket(uint32_t sid)
{
	return (unsigned)(sid % SESS_BUCKETS);
}

/* Is sid handed out and not used yet? (locked) A number drawn again after
 * its BEGIN does not let a recorded SUDI signature through: the replay cache
 * holds that signature. */
static int sid_taken(struct signerd_sessions *s, uint32_t sid)
{
	for (struct pend *q = s->pb[pbucket(sid)]; q != NULL; q = q->next)
		if (q->sid == sid)
			return 1;
	return 0;
}

/* A new CAPF session id for peer: 0 with *sid, -1 table full, -2 no randomness. */
static int sid_new(struct signerd *sd, const struct signerd_peer *peer, uint32_t *sid)
{
	struct signerd_sessions *s = signerd_core(sd)->sessions;
	struct pend *q = malloc(sizeof(*q));
	uint32_t v;

	if (q == NULL)
		return -1;
	pthread_mutex_lock(&s->lock);
	/* a connection closed before its BEGIN leaves its id until it expires:
	 * room for a few generations of front.max_connections */
	if (s->npend >= 4 * s->max) {
		pthread_mutex_unlock(&s->lock);
		free(q);
		return -1;
	}
	do {
		if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1) {
			pthread_mutex_unlock(&s->lock);
			free(q);
			return -2;
		}
	} while (v == 0 || sid_taken(s, v));
	q->sid = v;
	q->uid = peer->uid;
	q->pid = peer->pid;
	/* the phone has front.idle_timeout to answer AUTH_REQUEST */
	q->expires = time(NULL) + (time_t)sd->conf.front.idle_timeout + SESS_MARGIN;
	q->next = s->pb[pbucket(v)];
	s->pb[pbucket(v)] = q;
	s->npend++;
	pthread_mutex_unlock(&s->lock);
	*sid = v;
	return 0;
}

/* Uses up a session id this peer was given: 0, or -1 (never handed out,
 * already used, expired, or handed to another peer). */
static int sid_use(struct signerd *sd, const struct signerd_peer *peer, uint32_t sid)
{
	struct signerd_sessions *s = signerd_core(sd)->sessions;
	struct pend **qq, *q;
	int rc = -1;

	pthread_mutex_lock(&s->lock);
	for (qq = &s->pb[pbucket(sid)]; (q = *qq) != NULL; qq = &q->next)
		if (q->sid == sid)
			break;
	if (q != NULL && q->uid == peer->uid && q->pid == peer->pid) {
		*qq = q->next;
		s->npend--;
		if (q->expires >= time(NULL))
			rc = 0;
		free(q);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static int do_session_id(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
			 struct capf_ipc_builder *resp)
{
	uint32_t sid = 0;
	int r = sid_new(sd, peer, &sid);

	if (r == -1) {
		capf_log(LOG_WARNING, "session_ids_full", "front_pid=%ld", (long)peer->pid);
		return signerd_reply(sd, resp, req, CAPF_IPC_RETRY_LATER, 0,
				     "too many phone connections waiting");
	}
	if (r != 0)
		return signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0, "no randomness");
	if (signerd_reply(sd, resp, req, CAPF_IPC_OK, 0, NULL) != 0)
		return -1;
	capf_ipc_put_u32(resp, CAPF_IPC_T_CAPF_SESSION, sid);
	return 0;
}

static enum capf_ipc_decision ipc_decision(enum capf_action a)
{
	switch (a) {
	case CAPF_ACT_INSTALL:
		return CAPF_IPC_DO_INSTALL;
	case CAPF_ACT_FETCH:
		return CAPF_IPC_DO_FETCH;
	case CAPF_ACT_DELETE:
		return CAPF_IPC_DO_DELETE;
	case CAPF_ACT_UNKNOWN:
		return CAPF_IPC_DO_UNKNOWN_DEVICE;
	default:
		return CAPF_IPC_DO_NOTHING;
	}
}

static void put_alt(struct capf_ipc_builder *b, const struct capf_keyparam *k)
{
	capf_ipc_nest_begin(b, CAPF_IPC_T_KEY_ALT);
	capf_ipc_put_u8(b, CAPF_IPC_T_KEY_TYPE, (uint8_t)k->type);
	if (k->type == CAPF_KEY_RSA)
		capf_ipc_put_u32(b, CAPF_IPC_T_RSA_BITS, k->rsa_bits);
	else
		capf_ipc_put_u8(b, CAPF_IPC_T_CURVE, (uint8_t)k->curve);
	capf_ipc_nest_end(b);
}

static int refuse(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
		  struct capf_ipc_builder *resp, const char *device, enum capf_operation op,
		  enum capf_fail_cause cause, int record, const char *why)
{
	char q[600], qc[96], qd[200];

	SIGNERD_STAT_INC(sd, refusals);
	capf_log(LOG_NOTICE, "refused", "verb=%s device=%s op=%s cause=%s recorded=%d why=%s",
		 capf_ipc_verb_name(req->verb), capf_log_quote(qd, sizeof(qd), device), capf_operation_name(op),
		 capf_log_quote(qc, sizeof(qc), capf_fail_cause_cisco(cause)), record,
		 capf_log_quote(q, sizeof(q), why));
	if (record)
		set_status(sd, peer, device, CAPF_ST_FAILED, op, cause, 0);
	return signerd_reply(sd, resp, req, CAPF_IPC_REFUSED, cause, why);
}

static void evidence_from(const struct capf_ipc_msg *req, struct signerd_evidence *ev)
{
	const struct capf_ipc_field *f;
	uint8_t u8;

	memset(ev, 0, sizeof(*ev));
	ev->cert_type = -1;
	ev->sha2_hash = -1;
	capf_ipc_get_u32(req, CAPF_IPC_T_CAPF_SESSION, &ev->capf_session);
	if ((f = capf_ipc_find(req, CAPF_IPC_T_PASSWORD, NULL)) != NULL) {
		ev->has_password = 1;
		ev->password = f->val;
		ev->password_len = f->len;
	}
	capf_ipc_get_bytes(req, CAPF_IPC_T_CERT, &ev->cert, &ev->cert_len);
	if (capf_ipc_get_u8(req, CAPF_IPC_T_CERT_TYPE, &u8) == 0)
		ev->cert_type = u8;
	capf_ipc_get_bytes(req, CAPF_IPC_T_SIGNED_DATA, &ev->signed_data, &ev->signed_len);
	if (capf_ipc_get_u8(req, CAPF_IPC_T_SHA2_HASH, &u8) == 0)
		ev->sha2_hash = u8;
	capf_ipc_get_bytes(req, CAPF_IPC_T_SHA2_SIG, &ev->sha2_sig, &ev->sha2_len);
	if (ev->sha2_sig != NULL && ev->sha2_hash < 0)
		ev->sha2_hash = 3;
	capf_ipc_get_bytes(req, CAPF_IPC_T_SUDI_DATA, &ev->sudi, &ev->sudi_len);
}

static int do_begin(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
		    struct capf_ipc_builder *resp)
{
	struct capf_store_device dev;
	struct capf_store_actor who = signerd_actor(peer);
	struct capf_request cr;
	struct capf_decision d;
	struct signerd_evidence ev;
	struct fsess s;
	enum capf_fail_cause cause;
	char name[CAPF_DEVICE_NAME_MAX + 1], qname[200], addr[129] = "", err[512], why[600];
	uint8_t ver = 0;
	uint32_t sid = 0;
	int rc, have;

	SIGNERD_STAT_INC(sd, begins);
	if (capf_ipc_get_str(req, CAPF_IPC_T_DEVICE_NAME, name, sizeof(name)) != 0)
		return signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0, "BEGIN without DEVICE_NAME");
	capf_ipc_get_str(req, CAPF_IPC_T_PEER, addr, sizeof(addr));
	capf_ipc_get_u8(req, CAPF_IPC_T_CLIENT_VERSION, &ver);
	capf_log_quote(qname, sizeof(qname), name);
	/* The CAPF session id must be one this signer chose for this front (SESSION_ID)
	 * and not used before: a replayed BEGIN carries a used or foreign one. */
	capf_ipc_get_u32(req, CAPF_IPC_T_CAPF_SESSION, &sid);
	if (sid_use(sd, peer, sid) != 0) {
		SIGNERD_STAT_INC(sd, refusals);
		capf_log(LOG_WARNING, "session_id_refused",
			 "device=%s capf_session=%08x front_pid=%ld "
			 "why=\"not a session id this signer handed to this front, or already used\"",
			 qname, (unsigned)sid, (long)peer->pid);
		return signerd_reply(sd, resp, req, CAPF_IPC_REFUSED, CAPF_FAIL_INVALID_CREDENTIALS,
				     "CAPF session id not chosen by the signer for this front end, expired, or "
				     "already used (a replayed BEGIN?)");
	}

	memset(&dev, 0, sizeof(dev));
	rc = capf_store_device_get(sd->store, name, &dev, err, sizeof(err));
	if (rc != CAPF_STORE_OK && rc != CAPF_STORE_NOTFOUND) {
		capf_log(LOG_ERR, "store_failed", "device=%s what=device_get error=%s", qname,
			 capf_log_quote(why, sizeof(why), err));
		return signerd_reply(sd, resp, req,
				     rc == CAPF_STORE_BUSY ? CAPF_IPC_RETRY_LATER : CAPF_IPC_ERROR, 0,
				     "the signer's store is unavailable");
	}
	have = rc == CAPF_STORE_OK;
	memset(&cr, 0, sizeof(cr));
	cr.device_name = name;
	cr.version = ver;
	cr.sent_password = capf_ipc_find(req, CAPF_IPC_T_PASSWORD, NULL) != NULL;
	cr.now = time(NULL);
	capf_decide(&sd->conf, have ? &dev.dev : NULL, &cr, &d);
	capf_log(LOG_INFO, "begin", "device=%s peer_addr=%s version=%u decision=%s auth=%s front_pid=%ld",
		 qname, capf_log_quote(why, sizeof(why), addr), ver, capf_action_name(d.action),
		 have ? capf_auth_mode_name(dev.dev.auth) : "-", (long)peer->pid);
	/* Token down (tokstate.c): the phone comes back later, before it generates a key. */
	if (d.action == CAPF_ACT_INSTALL && !signerd_token_usable(sd)) {
		rc = signerd_reply(sd, resp, req, CAPF_IPC_RETRY_LATER, 0, "the token is unavailable");
		goto out;
	}

	switch (d.action) {
	case CAPF_ACT_REFUSE:
		rc = refuse(sd, peer, req, resp, name, d.status_op, d.cause, have && d.record, d.why);
		goto out;
	case CAPF_ACT_NOTHING:
	case CAPF_ACT_UNKNOWN:
		rc = signerd_reply(sd, resp, req, CAPF_IPC_OK, 0, NULL);
		capf_ipc_put_u8(resp, CAPF_IPC_T_DECISION, (uint8_t)ipc_decision(d.action));
		capf_ipc_put_u64(resp, CAPF_IPC_T_TOKEN, 0);
		goto out;
	default:
		break;
	}

	/* INSTALL / FETCH / DELETE: the evidence first. */
	evidence_from(req, &ev);
	ev.replay_exempt = d.action != CAPF_ACT_INSTALL;
	rc = signerd_auth_check(sd, &dev, d.auth, &ev, &cause, why, sizeof(why));
	if (rc != 0) {
		if (rc == -2) {
			rc = signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0, why);
			goto out;
		}
		if (d.auth == CAPF_AUTH_STRING && cause == CAPF_FAIL_INVALID_AUTH_STRING) {
			unsigned n = 0;

			if (capf_store_device_record_attempt(sd->store, name, &who, &n, err, sizeof(err)) != 0)
				capf_log(LOG_ERR, "store_failed", "device=%s what=record_attempt", qname);
			capf_log(LOG_NOTICE, "auth_failed", "device=%s attempts=%u max=%u%s", qname, n,
				 sd->conf.auth.max_failed_attempts,
				 n >= sd->conf.auth.max_failed_attempts ? " locked_out=1" : "");
		}
		rc = refuse(sd, peer, req, resp, name, dev.dev.op, cause, 1, why);
		goto out;
	}

	memset(&s, 0, sizeof(s));
	snprintf(s.device, sizeof(s.device), "%s", name);
	snprintf(s.peer_addr, sizeof(s.peer_addr), "%s", addr);
	s.uid = peer->uid;
	s.pid = peer->pid;
	s.expires = sess_expiry(sd);
	s.op = dev.dev.op;
	s.d = d;
	s.version = ver;
	s.sent_password = cr.sent_password;
	for (size_t i = 0; i < d.n_keys && i < CAPF_KEYALT_MAX; i++)
		s.alt_idx[i] = (unsigned char)i;
	if (sess_add(sd, &s) != 0) {
		/* the phone may come back with the same (deterministic) proof */
		signerd_replay_remove(signerd_core(sd)->replay,
				      (const uint8_t(*)[SIGNERD_REPLAY_KEY_LEN])ev.replay_keys,
				      ev.n_replay_checked);
		capf_log(LOG_WARNING, "sessions_full", "device=%s", qname);
		rc = signerd_reply(sd, resp, req, CAPF_IPC_RETRY_LATER, 0, "too many enrollment sessions");
		goto out;
	}
	/* durable with the session's next write (the issuance, or its status) */
	signerd_audit_deferred(sd, peer, "enroll_begin", name, "op=%s auth=%s evidence=ok peer_addr=%s",
			       capf_operation_name(s.op), capf_auth_mode_name(d.auth), addr);
	rc = signerd_reply(sd, resp, req, CAPF_IPC_OK, 0, NULL);
	capf_ipc_put_u8(resp, CAPF_IPC_T_DECISION, (uint8_t)ipc_decision(d.action));
	capf_ipc_put_u64(resp, CAPF_IPC_T_TOKEN, s.token);
	if (d.action == CAPF_ACT_INSTALL)
		for (size_t i = 0; i < d.n_keys; i++)
			put_alt(resp, &d.keys[i]);
out:
	OPENSSL_cleanse(&dev.auth, sizeof(dev.auth));
	return rc;
}

/* The serial in hex as the store keeps it: 0 when it fits whole, else -1. */
int signerd_serial_hex(X509 *x, char *out, size_t len)
{
	int n = capf_x509_serial_hex(x, out, len);

	return n >= 0 && (size_t)n < len ? 0 : -1;
}

static int spki_sha256(X509 *x, char out[CAPF_STORE_FP_HEX_LEN + 1])
{
	unsigned char *der = NULL, md[32];
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	unsigned mdlen = 0;

	if (n <= 0)
		return -1;
	if (!EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		OPENSSL_free(der);
		return -1;
	}
	OPENSSL_free(der);
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* The token has a session; stage = what it must be. */
static int take_or_refuse(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
			  struct capf_ipc_builder *resp, struct fsess *s, int *answered)
{
	uint64_t token = 0;
	int r;

	*answered = 0;
	capf_ipc_get_u64(req, CAPF_IPC_T_TOKEN, &token);
	r = sess_take(sd, token, peer, s);
	if (r == 0)
		return 0;
	*answered = 1;
	capf_log(LOG_NOTICE, "session_unknown", "verb=%s busy=%d front_pid=%ld", capf_ipc_verb_name(req->verb),
		 r == -2, (long)peer->pid);
	return signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0,
			     r == -2 ? "the session is busy with another request" :
				       "no such session (unknown, expired or opened by another peer)");
}

/* ISSUE re-reads the device: BEGIN's decision must still hold (operation,
 * authentication mode, lockout, deadline). 0 when it does (nothing answered);
 * 1 when it does not and the answer is in resp; -1 when answering failed. */
static int answered(int rc)
{
	return rc == 0 ? 1 : -1;
}

static int still_holds(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
		       struct capf_ipc_builder *resp, const struct fsess *s)
{
	struct capf_store_device dev;
	struct capf_request cr;
	struct capf_decision d;
	char err[512], q[600];
	int rc;

	memset(&dev, 0, sizeof(dev));
	rc = capf_store_device_get(sd->store, s->device, &dev, err, sizeof(err));
	OPENSSL_cleanse(&dev.auth, sizeof(dev.auth));
	if (rc == CAPF_STORE_NOTFOUND) {
		capf_log(LOG_NOTICE, "issue_cancelled", "device=%s reason=removed", s->device);
		return answered(signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0,
					      "the device was removed during this session"));
	}
	if (rc != CAPF_STORE_OK) {
		capf_log(LOG_ERR, "store_failed", "device=%s what=device_get error=%s", s->device,
			 capf_log_quote(q, sizeof(q), err));
		return answered(signerd_reply(sd, resp, req,
					      rc == CAPF_STORE_BUSY ? CAPF_IPC_RETRY_LATER : CAPF_IPC_ERROR, 0,
					      "the signer's store is unavailable"));
	}
	memset(&cr, 0, sizeof(cr));
	cr.device_name = s->device;
	cr.version = s->version;
	cr.sent_password = s->sent_password;
	cr.now = time(NULL);
	capf_decide(&sd->conf, &dev.dev, &cr, &d);
	if (d.action == CAPF_ACT_REFUSE) /* locked out, deadline passed */
		return answered(refuse(sd, peer, req, resp, s->device, d.status_op, d.cause, d.record, d.why));
	if (d.action != CAPF_ACT_INSTALL || dev.dev.op != CAPF_OP_INSTALL || d.auth != s->d.auth) {
		capf_log(LOG_NOTICE, "issue_cancelled", "device=%s reason=changed op=%s decision=%s auth=%s",
			 s->device, capf_operation_name(dev.dev.op), capf_action_name(d.action),
			 capf_auth_mode_name(dev.dev.auth));
		return answered(signerd_reply(
			sd, resp, req, CAPF_IPC_ERROR, 0,
			"the device's operation or authentication mode changed during this session "
			"(cancelled by an administrator?)"));
	}
	return 0;
}

static int do_issue(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
		    struct capf_ipc_builder *resp)
{
	struct capf_store_actor who = signerd_actor(peer);
	struct capf_store_issuance is;
	struct capf_lsc_input in;
	struct capf_errlist *errs = NULL;
	struct signerd_ca *g = NULL;
	struct fsess s;
	const uint8_t *kder;
	const EVP_MD *md = NULL;
	X509 *x = NULL;
	unsigned char *der = NULL, *tbsder = NULL;
	size_t klen, dlen = 0;
	uint8_t idx = 0;
	char err[1024], pstr[64], q[1100];
	int rc, answered, keep = 1, derlen, tbslen, retry = 0;
	size_t i;

	if ((rc = take_or_refuse(sd, peer, req, resp, &s, &answered)) != 0 || answered)
		return rc;
	if (s.op != CAPF_OP_INSTALL || s.d.action != CAPF_ACT_INSTALL) {
		rc = signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0,
				   "ISSUE in a session that is not an install");
		goto out;
	}
	if (s.issued) {
		rc = signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0,
				   "a certificate was already issued in this session");
		goto out;
	}
	if ((rc = still_holds(sd, peer, req, resp, &s)) != 0) {
		keep = 0;
		rc = rc < 0 ? -1 : 0;
		goto out;
	}
	/* Only the alternative the phone was asked for (the first one left). */
	capf_ipc_get_u8(req, CAPF_IPC_T_ALT_INDEX, &idx);
	i = 0;
	if (s.d.n_keys == 0 || s.alt_idx[0] != idx) {
		rc = signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0,
				   "ALT_INDEX is not the key alternative the phone was asked for");
		goto out;
	}
	capf_ipc_get_bytes(req, CAPF_IPC_T_PUBLIC_KEY, &kder, &klen);
	if (capf_pubkey_validate(&sd->conf, kder, klen, &s.d.keys[i], err, sizeof(err)) != 0) {
		keep = 0;
		rc = refuse(sd, peer, req, resp, s.device, CAPF_OP_INSTALL, CAPF_FAIL_KEYGEN_FAILED, 1, err);
		goto out;
	}
	g = signerd_ca_get(sd);
	memset(&in, 0, sizeof(in));
	in.device_name = s.device;
	in.spki = kder;
	in.spki_len = klen;
	in.now = time(NULL);
	if ((x = capf_lsc_build(&sd->conf, g->ca, &in, &md, err, sizeof(err))) == NULL) {
		keep = 0;
		rc = refuse(sd, peer, req, resp, s.device, CAPF_OP_INSTALL, CAPF_FAIL_CA_REJECTED, 1, err);
		goto out;
	}
	if ((errs = capf_errlist_new()) == NULL) {
		rc = signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0, "out of memory");
		goto out;
	}
	/* One encoding: linted here, sent to the key process (which lints it again,
	 * signs and verifies), and what comes back must be it, byte for byte, with
	 * a signature. The certificate is handled as bytes from here on; x (the
	 * same TBSCertificate) is read for the store's fields. */
	if ((tbslen = i2d_X509(x, &tbsder)) <= 0) {
		rc = signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0, "cannot encode the certificate");
		goto out;
	}
	if (capf_lsc_lint_der(&sd->conf, g->ca, &in, tbsder, (size_t)tbslen, errs) != 0) {
		capf_errlist_join(errs, "; ", err, sizeof(err));
		capf_log(LOG_ERR, "lint_failed", "device=%s stage=unsigned findings=%s", s.device,
			 capf_log_quote(q, sizeof(q), err));
		keep = 0;
		rc = refuse(sd, peer, req, resp, s.device, CAPF_OP_INSTALL, CAPF_FAIL_CA_REJECTED, 1, err);
		goto out;
	}
	if (signerd_ca_sign_der(sd, g, CAPF_IPC_SIGN_LSC, tbsder, (size_t)tbslen, &der, &dlen, &retry, err,
				sizeof(err)) != 0) {
		capf_log(LOG_ERR, "sign_failed", "device=%s retry=%d error=%s", s.device, retry,
			 capf_log_quote(q, sizeof(q), err));
		rc = retry ? signerd_reply(sd, resp, req, CAPF_IPC_RETRY_LATER, 0, "the token is unavailable") :
			     signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0, "signing failed");
		goto out;
	}
	if (dlen > CAPF_STORE_DER_MAX) {
		rc = signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0, "the signed certificate is too long");
		goto out;
	}
	derlen = (int)dlen;
	memset(&is, 0, sizeof(is));
	if (signerd_serial_hex(x, is.serial, sizeof(is.serial)) != 0 || spki_sha256(x, is.spki_sha256) != 0) {
		rc = signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0, "cannot read back the certificate");
		goto out;
	}
	snprintf(is.device, sizeof(is.device), "%s", s.device);
	snprintf(is.issuer_fp, sizeof(is.issuer_fp), "%s", g->fp);
	/* the store records the validity as signed: never a 0 standing for "unreadable" */
	if (capf_asn1_to_time(X509_get0_notBefore(x), &is.not_before) != 0 ||
	    capf_asn1_to_time(X509_get0_notAfter(x), &is.not_after) != 0) {
		rc = signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0,
				   "cannot read back the certificate's validity");
		goto out;
	}
	snprintf(is.peer, sizeof(is.peer), "%s phone:%.64s", signerd_peer_str(peer, pstr, sizeof(pstr)),
		 s.peer_addr);
	is.der = der;
	is.der_len = (size_t)derlen;
	/* An administrator who changed the device while we signed wins. */
	if (sess_ended(sd, s.token)) {
		capf_log(LOG_NOTICE, "issue_cancelled", "device=%s reason=admin_change stage=signed", s.device);
		rc = signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0,
				   "an administrator changed the device during this session");
		goto out;
	}
	/* Durable before the certificate leaves the daemon. */
	if (capf_store_issuance_record(sd->store, &is, &who, err, sizeof(err)) != 0) {
		capf_log(LOG_ERR, "store_failed", "device=%s what=issuance_record serial=%s error=%s", s.device,
			 is.serial, capf_log_quote(q, sizeof(q), err));
		rc = signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0, "the issuance could not be recorded");
		goto out;
	}
	s.issued = 1;
	snprintf(s.serial, sizeof(s.serial), "%s", is.serial);
	SIGNERD_STAT_INC(sd, issued);
	capf_log(LOG_NOTICE, "issued", "device=%s serial=%s issuer=%s alt=%u not_after=%lld peer=%s", s.device,
		 is.serial, g->fp, idx, (long long)is.not_after, capf_log_quote(q, sizeof(q), is.peer));
	rc = signerd_reply(sd, resp, req, CAPF_IPC_OK, 0, NULL);
	capf_ipc_put_bytes(resp, CAPF_IPC_T_CERT, der, (size_t)derlen);
out:
	sess_give_back(sd, &s, keep);
	OPENSSL_free(tbsder);
	free(der);
	X509_free(x);
	capf_errlist_free(errs);
	signerd_ca_put(g);
	return rc;
}

/* Troubleshoot: the certificate the phone returned is checked (it names the
 * device and chains to a CAPF CA, active or previous, or to a manufacturing CA)
 * and kept with the verdict; one that fails is "Troubleshoot Failed". */
static int fetched(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
		   struct capf_ipc_builder *resp, const char *device)
{
	struct capf_store_actor who = signerd_actor(peer);
	struct capf_store_fetched f;
	const uint8_t *der = NULL;
	size_t len = 0;
	X509 *x = NULL;
	char err[512], q[700];

	memset(&f, 0, sizeof(f));
	snprintf(f.device, sizeof(f.device), "%s", device);
	capf_ipc_get_bytes(req, CAPF_IPC_T_CERT, &der, &len);
	if (der == NULL || len == 0 || (x = capf_x509_from_der(der, len)) == NULL) {
		capf_log(LOG_NOTICE, "fetch_refused", "device=%s why=%s", device,
			 der == NULL ? "no_certificate" : "not_one_der_certificate");
		set_status(sd, peer, device, CAPF_ST_FAILED, CAPF_OP_FETCH, CAPF_FAIL_INVALID_LSC, 0);
		return signerd_reply(sd, resp, req, CAPF_IPC_OK, 0, NULL);
	}
	signerd_cert_fp(x, f.fp);
	if (signerd_serial_hex(x, f.serial, sizeof(f.serial)) != 0)
		f.serial[0] = '\0';
	capf_x509_issuer(x, f.issuer, sizeof(f.issuer));
	f.accepted = signerd_fetched_check(sd, device, x, f.issuer_fp, f.reason, sizeof(f.reason)) == 0;
	f.der = (unsigned char *)der;
	f.der_len = len;
	X509_free(x);
	if (capf_store_fetched_record(sd->store, &f, &who, err, sizeof(err)) != 0)
		capf_log(LOG_ERR, "store_failed", "device=%s what=fetched serial=%s error=%s", device, f.serial,
			 capf_log_quote(q, sizeof(q), err));
	capf_log(LOG_NOTICE, f.accepted ? "fetched" : "fetch_refused", "device=%s serial=%s fp=%s why=%s",
		 device, f.serial[0] ? f.serial : "-", f.fp, capf_log_quote(q, sizeof(q), f.reason));
	if (f.accepted)
		set_status(sd, peer, device, CAPF_ST_TROUBLESHOOT_SUCCESS, CAPF_OP_FETCH, CAPF_FAIL_NONE,
			   CAPF_STORE_STATUS_CLEAR_OP);
	else
		set_status(sd, peer, device, CAPF_ST_FAILED, CAPF_OP_FETCH, CAPF_FAIL_INVALID_LSC, 0);
	return signerd_reply(sd, resp, req, CAPF_IPC_OK, 0, NULL);
}

static int do_result(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
		     struct capf_ipc_builder *resp)
{
	struct capf_store_actor who = signerd_actor(peer);
	struct capf_store_issuance last;
	struct fsess s;
	uint8_t outcome = 0, idx = 0;
	char err[512], q[600];
	int rc, answered, keep = 0;

	if ((rc = take_or_refuse(sd, peer, req, resp, &s, &answered)) != 0 || answered)
		return rc;
	capf_ipc_get_u8(req, CAPF_IPC_T_OUTCOME, &outcome);
	capf_log(LOG_INFO, "result", "device=%s op=%s outcome=%s", s.device, capf_operation_name(s.op),
		 capf_ipc_outcome_name(outcome));
	switch (outcome) {
	case CAPF_IPC_STORED:
		if (!s.issued) {
			keep = 1;
			rc = signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0, "stored, but nothing was issued");
			break;
		}
		/* deferred: durable with the status write below, which is waited for */
		if (capf_store_issuance_set_state_deferred(sd->store, s.serial, CAPF_ISS_DELIVERED, &who, err,
							   sizeof(err)) != 0)
			capf_log(LOG_ERR, "store_failed", "device=%s what=delivered serial=%s error=%s",
				 s.device, s.serial, capf_log_quote(q, sizeof(q), err));
		set_status(sd, peer, s.device, CAPF_ST_UPGRADE_SUCCESS, CAPF_OP_INSTALL, CAPF_FAIL_NONE,
			   CAPF_STORE_STATUS_CLEAR_OP);
		capf_log(LOG_NOTICE, "delivered", "device=%s serial=%s", s.device, s.serial);
		rc = signerd_reply(sd, resp, req, CAPF_IPC_OK, 0, NULL);
		break;
	case CAPF_IPC_KEYGEN_FAILED:
	case CAPF_IPC_KEYGEN_TIMEOUT: {
		struct capf_decision next;

		capf_ipc_get_u8(req, CAPF_IPC_T_ALT_INDEX, &idx);
		if (s.d.action != CAPF_ACT_INSTALL || s.issued || s.d.n_keys == 0 ||
		    (outcome == CAPF_IPC_KEYGEN_FAILED && s.alt_idx[0] != idx)) {
			keep = 1;
			rc = signerd_reply(
				sd, resp, req, CAPF_IPC_ERROR, 0,
				"key generation result for an alternative that is not the current one");
			break;
		}
		capf_decide_fallback(&s.d, outcome == CAPF_IPC_KEYGEN_TIMEOUT, &next);
		if (next.action == CAPF_ACT_INSTALL && next.n_keys > 0) {
			memmove(s.alt_idx, s.alt_idx + 1, sizeof(s.alt_idx) - 1);
			s.d = next;
			keep = 1;
			capf_log(LOG_INFO, "keygen_fallback", "device=%s next_alt=%u", s.device, s.alt_idx[0]);
			rc = signerd_reply(sd, resp, req, CAPF_IPC_OK, 0, NULL);
			put_alt(resp, &next.keys[0]);
			capf_ipc_put_u8(resp, CAPF_IPC_T_ALT_INDEX, s.alt_idx[0]);
		} else {
			rc = refuse(sd, peer, req, resp, s.device, CAPF_OP_INSTALL,
				    next.cause != CAPF_FAIL_NONE       ? next.cause :
				    outcome == CAPF_IPC_KEYGEN_TIMEOUT ? CAPF_FAIL_KEYGEN_TIMEOUT :
									 CAPF_FAIL_KEYGEN_FAILED,
				    1, next.why[0] ? next.why : "no key alternative left");
		}
		break;
	}
	case CAPF_IPC_FETCHED:
		if (s.op != CAPF_OP_FETCH) {
			rc = signerd_reply(sd, resp, req, CAPF_IPC_ERROR, 0,
					   "a fetched certificate, but no Troubleshoot was asked");
			break;
		}
		rc = fetched(sd, peer, req, resp, s.device);
		break;
	case CAPF_IPC_DELETED:
		memset(&last, 0, sizeof(last));
		if (capf_store_issuance_latest_for_device(sd->store, s.device, &last, err, sizeof(err)) == 0 &&
		    (last.state == CAPF_ISS_ISSUED || last.state == CAPF_ISS_DELIVERED) &&
		    capf_store_issuance_set_state(sd->store, last.serial, CAPF_ISS_DELETED, &who, err,
						  sizeof(err)) != 0)
			capf_log(LOG_ERR, "store_failed", "device=%s what=deleted serial=%s", s.device,
				 last.serial);
		capf_store_issuance_clear(&last);
		set_status(sd, peer, s.device, CAPF_ST_DELETE_SUCCESS, CAPF_OP_DELETE, CAPF_FAIL_NONE,
			   CAPF_STORE_STATUS_CLEAR_OP);
		rc = signerd_reply(sd, resp, req, CAPF_IPC_OK, 0, NULL);
		break;
	case CAPF_IPC_FETCH_NONE:
	case CAPF_IPC_DELETE_FAILED:
		/* The phone answered, but holds no LSC to fetch or delete: not a
		 * communication failure. */
		set_status(sd, peer, s.device, CAPF_ST_FAILED, s.op, CAPF_FAIL_INVALID_LSC, 0);
		rc = signerd_reply(sd, resp, req, CAPF_IPC_OK, 0, NULL);
		break;
	case CAPF_IPC_STORE_FAILED:
	case CAPF_IPC_COMM_FAILURE:
	default:
		set_status(sd, peer, s.device, CAPF_ST_FAILED, s.op, CAPF_FAIL_PHONE_COMMUNICATION, 0);
		rc = signerd_reply(sd, resp, req, CAPF_IPC_OK, 0, NULL);
		break;
	}
	sess_give_back(sd, &s, keep);
	return rc;
}

static int do_abort(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
		    struct capf_ipc_builder *resp)
{
	struct fsess s;
	uint8_t cause = CAPF_FAIL_PHONE_COMMUNICATION;
	uint64_t token = 0;

	capf_ipc_get_u64(req, CAPF_IPC_T_TOKEN, &token);
	capf_ipc_get_u8(req, CAPF_IPC_T_CAUSE, &cause);
	if (sess_take(sd, token, peer, &s) == 0) {
		if (cause == CAPF_FAIL_NONE)
			cause = CAPF_FAIL_PHONE_COMMUNICATION;
		char qc[96];

		capf_log(LOG_NOTICE, "aborted", "device=%s op=%s cause=%s issued=%d", s.device,
			 capf_operation_name(s.op),
			 capf_log_quote(qc, sizeof(qc), capf_fail_cause_cisco(cause)), s.issued);
		set_status(sd, peer, s.device, CAPF_ST_FAILED, s.op, cause, 0);
		sess_give_back(sd, &s, 0);
	}
	return signerd_reply(sd, resp, req, CAPF_IPC_OK, 0, NULL);
}

/* ---- what dispatch.c's table calls ---------------------------------------- */

int signerd_front_session_id(struct signerd *sd, const struct signerd_peer *peer,
			     const struct capf_ipc_msg *req, struct capf_ipc_builder *resp)
{
	return do_session_id(sd, peer, req, resp);
}

int signerd_front_begin(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
			struct capf_ipc_builder *resp)
{
	return do_begin(sd, peer, req, resp);
}

int signerd_front_issue(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
			struct capf_ipc_builder *resp)
{
	return do_issue(sd, peer, req, resp);
}

int signerd_front_result(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
			 struct capf_ipc_builder *resp)
{
	return do_result(sd, peer, req, resp);
}

int signerd_front_abort(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
			struct capf_ipc_builder *resp)
{
	return do_abort(sd, peer, req, resp);
}

/* Is the request inside the session state its verb needs? A front end that
 * follows the protocol is always inside; a session that ended or expired
 * meanwhile is inside too (its token is remembered) and gets its ordinary
 * answer. 0, or -1 with why. */
int signerd_front_state_ok(struct signerd *sd, const struct signerd_peer *peer, const struct capf_ipc_msg *req,
			   enum signerd_need need, char *why, size_t whylen)
{
	struct signerd_sessions *s = signerd_core(sd)->sessions;
	uint64_t token = 0;
	uint32_t sid = 0;
	uint8_t key[1][SIGNERD_REPLAY_KEY_LEN];
	struct fsess *e;
	struct pend *q;
	int ok = 0;

	switch (need) {
	case SIGNERD_NEED_NOTHING:
		return 0;
	case SIGNERD_NEED_SESSION_ID:
		capf_ipc_get_u32(req, CAPF_IPC_T_CAPF_SESSION, &sid);
		pthread_mutex_lock(&s->lock);
		for (q = s->pb[pbucket(sid)]; q != NULL && q->sid != sid; q = q->next)
			;
		ok = q != NULL && q->uid == peer->uid && q->pid == peer->pid;
		pthread_mutex_unlock(&s->lock);
		if (!ok)
			snprintf(why, whylen,
				 "CAPF_SESSION %08x was not handed to this peer by SESSION_ID, or "
				 "was used already",
				 (unsigned)sid);
		return ok ? 0 : -1;
	case SIGNERD_NEED_SESSION:
	case SIGNERD_NEED_INSTALL_SESSION:
		capf_ipc_get_u64(req, CAPF_IPC_T_TOKEN, &token);
		pthread_mutex_lock(&s->lock);
		for (e = s->b[bucket(token)]; e != NULL && e->token != token; e = e->next)
			;
		if (e != NULL && (e->uid != peer->uid || e->pid != peer->pid)) {
			snprintf(why, whylen, "TOKEN names another peer's session");
		} else if (e != NULL && need == SIGNERD_NEED_INSTALL_SESSION &&
			   (e->d.action != CAPF_ACT_INSTALL || e->issued)) {
			snprintf(why, whylen,
				 "ISSUE in a session that is not an install, or that was issued "
				 "a certificate already");
		} else if (e != NULL) {
			ok = 1;
		}
		pthread_mutex_unlock(&s->lock);
		if (ok || e != NULL)
			return ok ? 0 : -1;
		memset(key, 0, sizeof(key));
		memcpy(key[0], &token, sizeof(token));
		if (token != 0 && signerd_replay_seen(s->ended, (const uint8_t(*)[SIGNERD_REPLAY_KEY_LEN])key))
			return 0; /* ended or expired: the handler answers */
		snprintf(why, whylen, "TOKEN names no session this signer opened");
		return -1;
	}
	snprintf(why, whylen, "unknown state");
	return -1;
}
