/* pkcs11/token.c: opening a token from a URI, login with a PIN from a file,
 * the session pool and fault recovery (see p11.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <openssl/crypto.h>

#include "pkcs11/p11_int.h"
#include "pkcs11/p11_pin.h"

/*
 * PIN files that a token refused, process-wide: a token opened again (the
 * provider opens one per store) must not try the same wrong PIN again. A PIN
 * file counts as the same while its inode, size and mtime are unchanged; once
 * the operator fixes it, one new attempt is allowed.
 */
struct pin_fail {
	char serial[17];
	char label[33];
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};
static pthread_mutex_t pinfail_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pin_fail pinfails[16];
static size_t npinfails;

/* The key of the PIN file that was read (p11_pin_read's fstat of it). */
static void pin_fail_key(const struct p11_token *t, const struct stat *st, struct pin_fail *k)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->serial, sizeof(k->serial), "%s", t->serial);
	snprintf(k->label, sizeof(k->label), "%s", t->label);
	k->dev = st->st_dev;
	k->ino = st->st_ino;
	k->size = st->st_size;
	k->mtime = st->st_mtim;
}

static int pin_fail_known(const struct pin_fail *k)
{
	int found = 0;

	pthread_mutex_lock(&pinfail_mu);
	for (size_t i = 0; i < npinfails && !found; i++)
		found = memcmp(&pinfails[i], k, sizeof(*k)) == 0;
	pthread_mutex_unlock(&pinfail_mu);
	return found;
}

static void pin_fail_remember(const struct pin_fail *k)
{
	pthread_mutex_lock(&pinfail_mu);
	if (npinfails == NELEM(pinfails)) {
		memmove(&pinfails[0], &pinfails[1], sizeof(pinfails) - sizeof(pinfails[0]));
		npinfails--;
	}
	pinfails[npinfails++] = *k;
	pthread_mutex_unlock(&pinfail_mu);
}

/* Logs in as CKU_USER on session h. Called with t->mu held or before t is shared. */
static int token_login(struct p11_token *t, CK_SESSION_HANDLE h, char *err, size_t errlen)
{
	char pin[P11_PIN_MAX + 1];
	struct pin_fail key;
	struct stat st;
	size_t pinlen;
	CK_RV rv;

	t->login_rv = CKR_OK;
	if (t->pin_file == NULL)
		return P11_OK;
	if (t->pin_failed)
		return p11_err(P11_EPIN, err, errlen, "%s", t->pin_msg);
	/* the file read is the file judged: its identity comes from the same descriptor */
	if (p11_pin_read(t->pin_file, pin, sizeof(pin), &pinlen, &st, err, errlen) < 0)
		return P11_ERR;
	pin_fail_key(t, &st, &key);
	if (pin_fail_known(&key)) {
		OPENSSL_cleanse(pin, sizeof(pin));
		t->pin_failed = 1;
		snprintf(t->pin_msg, sizeof(t->pin_msg),
			 "wrong PIN for token %s (from file %s): this file "
			 "was already refused in this process; not retried: tokens lock after a few "
			 "failures; fix the file",
			 t->label, t->pin_file);
		return p11_err(P11_EPIN, err, errlen, "%s", t->pin_msg);
	}
	rv = P11_CALL(t->f, C_Login, h, CKU_USER, (CK_UTF8CHAR *)pin, (CK_ULONG)pinlen);
	OPENSSL_cleanse(pin, sizeof(pin));
	t->login_rv = rv;
	switch (rv) {
	case CKR_OK:
	case CKR_USER_ALREADY_LOGGED_IN:
		return P11_OK;
	case CKR_PIN_INCORRECT:
		t->pin_failed = 1;
		pin_fail_remember(&key);
		snprintf(t->pin_msg, sizeof(t->pin_msg),
			 "wrong PIN for token %s (from file %s); not "
			 "retried: tokens lock after a few failures",
			 t->label, t->pin_file);
		p11_log(LOG_ERR, "%s", t->pin_msg);
		return p11_err(P11_EPIN, err, errlen, "%s", t->pin_msg);
	case CKR_PIN_LOCKED:
		t->pin_failed = 1;
		snprintf(t->pin_msg, sizeof(t->pin_msg),
			 "token %s: the user PIN is locked (C_Login: "
			 "CKR_PIN_LOCKED); the security officer must reset it (C_InitPIN)",
			 t->label);
		p11_log(LOG_ERR, "%s", t->pin_msg);
		return p11_err(P11_EPIN, err, errlen, "%s", t->pin_msg);
	case CKR_PIN_EXPIRED:
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
		t->pin_failed = 1;
		p11_err_rv(P11_EPIN, t->pin_msg, sizeof(t->pin_msg), t, "C_Login", rv);
		return p11_err(P11_EPIN, err, errlen, "%s (PIN from file %s; not retried)", t->pin_msg,
			       t->pin_file);
	default:
		return p11_err_rv(p11_rv_is_fault(rv) ? P11_EDOWN : P11_ERR, err, errlen, t, "C_Login", rv);
	}
}

static CK_RV open_session(struct p11_token *t, CK_SESSION_HANDLE *h)
{
	CK_FLAGS fl = CKF_SERIAL_SESSION | (t->rw ? CKF_RW_SESSION : 0);

	return P11_CALL(t->f, C_OpenSession, t->slot, fl, NULL, NULL, h);
}

static long ms_since(const struct timespec *a)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - a->tv_sec) * 1000L + (now.tv_nsec - a->tv_nsec) / 1000000L;
}

/* Failures of C_OpenSession or C_Login (never a PIN failure) after which the
 * module itself may be wedged: SoftHSM 2.6 answers CKR_GENERAL_ERROR to every
 * C_Login once its token directory was gone, until C_Finalize/C_Initialize. */
static int module_wedged(CK_RV rv)
{
	switch (rv) {
	case CKR_GENERAL_ERROR:
	case CKR_DEVICE_ERROR:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_DEVICE_REMOVED:
	case CKR_SLOT_ID_INVALID:
	case CKR_CRYPTOKI_NOT_INITIALIZED:
		return 1;
	default:
		return 0;
	}
}

/* After a module re-initialisation: the slot of our token (same serial and
 * label), which the module may have numbered anew. Called with t->mu and a
 * use of the module held. */
static CK_RV reslot(struct p11_token *t)
{
	CK_SLOT_ID *slots;
	CK_ULONG n;
	CK_TOKEN_INFO ti;
	char serial[17], label[33];
	CK_RV rv;

	rv = P11_CALL(t->f, C_GetTokenInfo, t->slot, &ti);
	if (rv == CKR_OK) {
		p11_trim(serial, sizeof(serial), ti.serialNumber, sizeof(ti.serialNumber));
		p11_trim(label, sizeof(label), ti.label, sizeof(ti.label));
		if (strcmp(serial, t->serial) == 0 && strcmp(label, t->label) == 0)
			return CKR_OK;
	} else if (rv != CKR_SLOT_ID_INVALID && rv != CKR_TOKEN_NOT_PRESENT) {
		return rv;
	}
	if ((rv = p11_slot_list(t->f, &slots, &n)) != CKR_OK)
		return rv;
	for (CK_ULONG i = 0; i < n; i++) {
		if (P11_CALL(t->f, C_GetTokenInfo, slots[i], &ti) != CKR_OK)
			continue;
		p11_trim(serial, sizeof(serial), ti.serialNumber, sizeof(ti.serialNumber));
		p11_trim(label, sizeof(label), ti.label, sizeof(ti.label));
		if (strcmp(serial, t->serial) == 0 && strcmp(label, t->label) == 0) {
			t->slot = slots[i];
			free(slots);
			return CKR_OK;
		}
	}
	free(slots);
	return CKR_TOKEN_NOT_PRESENT;
}

/*
 * Re-opens the token after a fault: every idle session is closed, sessions
 * in use are replaced when they come back (their generation is old), object
 * handles are re-found on next use. A new session is opened and logged in.
 * When the module was re-initialised since our sessions were opened (another
 * epoch), they are gone: forgotten, never closed (their handles may name
 * someone else's sessions now). Called with t->mu and a use of the module held.
 */
static int recover_locked(struct p11_token *t, const char *why, char *err, size_t errlen)
{
	unsigned long epoch = atomic_load(&t->mod->epoch);
	const char *fn = "C_OpenSession";
	CK_SESSION_HANDLE h;
	CK_RV rv;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t->last_recover);
	t->recovered_before = 1;
	t->gen++;
	t->open_rv = CKR_OK;
	t->login_rv = CKR_OK;
	p11_log(LOG_WARNING, "token %s: fault (%s); re-opening sessions and logging in again", t->label, why);
	for (unsigned i = 0; i < t->npool; i++) {
		struct p11_sess *s = &t->pool[i];

		if (s->open && !s->busy) {
			if (t->epoch == epoch)
				(void)P11_CALL(t->f, C_CloseSession, s->h);
			s->open = 0;
		}
	}
	rv = CKR_OK;
	if (t->epoch != epoch) {
		fn = "C_GetTokenInfo";
		if ((rv = reslot(t)) == CKR_OK)
			t->epoch = epoch;
	}
	if (rv == CKR_OK) {
		fn = "C_OpenSession";
		rv = open_session(t, &h);
	}
	if (rv != CKR_OK) {
		t->down = 1;
		t->open_rv = rv;
		t->open_fn = fn;
		p11_rv_msg(t->down_msg, sizeof(t->down_msg), fn, rv);
		p11_log(LOG_ERR, "token %s: re-initialisation failed: %s; token is down", t->label,
			t->down_msg);
		return p11_err(P11_EDOWN, err, errlen, "token %s is down (%s); retry later", t->label,
			       t->down_msg);
	}
	rc = token_login(t, h, err, errlen);
	if (rc != P11_OK) {
		(void)P11_CALL(t->f, C_CloseSession, h);
		if (rc == P11_EPIN)
			return rc;
		t->down = 1;
		snprintf(t->down_msg, sizeof(t->down_msg), "%s", err);
		p11_log(LOG_ERR, "token %s: re-initialisation failed: %s; token is down", t->label, err);
		return p11_err(P11_EDOWN, err, errlen, "token %s is down (%s); retry later", t->label,
			       t->down_msg);
	}
	/* Keep the logged-in session in the pool. */
	for (unsigned i = 0; i < t->npool; i++) {
		struct p11_sess *s = &t->pool[i];

		if (!s->busy && !s->open) {
			s->h = h;
			s->open = 1;
			s->gen = t->gen;
			h = CK_INVALID_HANDLE;
			break;
		}
	}
	if (h != CK_INVALID_HANDLE)
		(void)P11_CALL(t->f, C_CloseSession, h);
	t->down = 0;
	t->recoveries++;
	p11_log(LOG_NOTICE, "token %s: recovered (recovery %lu)", t->label, t->recoveries);
	pthread_cond_broadcast(&t->cv);
	return P11_OK;
}

/*
 * A recovery, and when it failed because the module itself seems wedged (not
 * a PIN failure, not a PIN file problem) one module re-initialisation and a
 * second attempt. Called with t->mu held and no use of the module.
 */
static int recover_full(struct p11_token *t, const char *why, char *err, size_t errlen)
{
	char msg[256], why2[300];
	CK_RV wedged;
	int rc;

	p11_module_use(t->mod);
	rc = recover_locked(t, why, err, errlen);
	p11_module_unuse(t->mod);
	if (rc != P11_EDOWN || t->pin_failed)
		return rc;
	wedged = module_wedged(t->open_rv) ? t->open_rv : module_wedged(t->login_rv) ? t->login_rv : CKR_OK;
	if (wedged == CKR_OK || !t->reinit_ok)
		return rc;
	p11_rv_msg(why2, sizeof(why2), t->open_rv != CKR_OK ? t->open_fn : "C_Login", wedged);
	if (p11_module_reinit(t->mod, t->label, why2, msg, sizeof(msg)) != 0) {
		p11_log(LOG_WARNING, "token %s: module not re-initialised: %s", t->label, msg);
		snprintf(t->down_msg, sizeof(t->down_msg), "%.120s; %.120s", why2, msg);
		return p11_err(P11_EDOWN, err, errlen, "token %s is down (%s); retry later", t->label,
			       t->down_msg);
	}
	t->reinits++;
	p11_module_use(t->mod);
	rc = recover_locked(t, "PKCS#11 module re-initialised", err, errlen);
	p11_module_unuse(t->mod);
	return rc;
}

/* Whether a recovery may run now (rate limit). Called with t->mu held. */
static int may_recover(const struct p11_token *t)
{
	return !t->recovered_before || ms_since(&t->last_recover) >= (long)t->recover_ms;
}

static int exiting_err(struct p11_token *t, char *err, size_t errlen)
{
	return p11_err(P11_EDOWN, err, errlen,
		       "token %s: the process is exiting: the PKCS#11 module "
		       "is not called any more",
		       t->label);
}

static int down_err(struct p11_token *t, char *err, size_t errlen)
{
	return p11_err(P11_EDOWN, err, errlen,
		       "token %s is down (%s); re-initialisation is "
		       "attempted at most every %u ms; retry later",
		       t->label, t->down_msg, t->recover_ms);
}

/* Takes an idle session, (re)opening it when stale. On success the caller
 * holds a use of the module until sess_put. */
static int sess_get(struct p11_token *t, struct p11_sess **out, char *err, size_t errlen)
{
	struct p11_sess *s = NULL;
	CK_RV rv;
	int rc;

	pthread_mutex_lock(&t->mu);
	for (;;) {
		if (p11_exiting()) {
			rc = exiting_err(t, err, errlen);
			goto out;
		}
		if (t->pin_failed) {
			rc = p11_err(P11_EPIN, err, errlen, "%s", t->pin_msg);
			goto out;
		}
		if (t->down) {
			if (!may_recover(t)) {
				rc = down_err(t, err, errlen);
				goto out;
			}
			char why[300];

			snprintf(why, sizeof(why), "still down: %s", t->down_msg);
			if ((rc = recover_full(t, why, err, errlen)) != P11_OK)
				goto out;
		}
		for (unsigned i = 0; i < t->npool && s == NULL; i++)
			if (!t->pool[i].busy)
				s = &t->pool[i];
		if (s != NULL)
			break;
		pthread_cond_wait(&t->cv, &t->mu);
	}
	p11_module_use(t->mod);
	if (t->epoch != atomic_load(&t->mod->epoch)) {
		/* The module was re-initialised (for another token): our sessions
		 * and our login are gone. Not a fault of ours: no rate limit. */
		p11_module_unuse(t->mod);
		if ((rc = recover_full(t, "the PKCS#11 module was re-initialised", err, errlen)) != P11_OK)
			goto out;
		pthread_mutex_unlock(&t->mu);
		return sess_get(t, out, err, errlen);
	}
	s->busy = 1;
	if (!s->open || s->gen != t->gen) {
		if (s->open)
			(void)P11_CALL(t->f, C_CloseSession, s->h);
		s->open = 0;
		rv = open_session(t, &s->h);
		if (rv != CKR_OK) {
			s->busy = 0;
			p11_module_unuse(t->mod);
			pthread_cond_signal(&t->cv);
			if (p11_rv_is_fault(rv) && may_recover(t)) {
				char why[256];

				p11_rv_msg(why, sizeof(why), "C_OpenSession", rv);
				if ((rc = recover_full(t, why, err, errlen)) != P11_OK)
					goto out;
				pthread_mutex_unlock(&t->mu);
				return sess_get(t, out, err, errlen);
			}
			rc = p11_err_rv(p11_rv_is_fault(rv) ? P11_EDOWN : P11_ERR, err, errlen, t,
					"C_OpenSession", rv);
			goto out;
		}
		s->open = 1;
		s->gen = t->gen;
	}
	*out = s;
	rc = P11_OK;
out:
	pthread_mutex_unlock(&t->mu);
	return rc;
}

/* Gives a session back. Operations leave no operation active on it (they
 * finish or cancel what they start); it is not closed, because closing the
 * last session of a token logs the application out. */
static void sess_put(struct p11_token *t, struct p11_sess *s)
{
	pthread_mutex_lock(&t->mu);
	s->busy = 0;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	p11_module_unuse(t->mod);
}

/*
 * Gives back a session whose operation failed half-way: it is never handed
 * out again as it is (an operation may still be active on it, or the module
 * may have left it in a state nobody can see). A fresh session replaces it,
 * opened before the old one is closed so that the token keeps its login
 * (closing the last session logs the application out); when none can be
 * opened the slot is left closed and sess_get opens one on next use.
 */
static void sess_discard(struct p11_token *t, struct p11_sess *s)
{
	CK_SESSION_HANDLE h2;
	CK_RV rv;

	pthread_mutex_lock(&t->mu);
	if (s->open && s->gen == t->gen && t->epoch == atomic_load(&t->mod->epoch)) {
		rv = open_session(t, &h2);
		(void)P11_CALL(t->f, C_CloseSession, s->h);
		s->open = rv == CKR_OK;
		if (rv == CKR_OK)
			s->h = h2;
		t->discarded++;
	}
	s->busy = 0;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	p11_module_unuse(t->mod);
}

/* After op failed with a fault in generation gen: recover unless someone did already. */
static int recover(struct p11_token *t, unsigned long gen, const char *fn, CK_RV rv, char *err, size_t errlen)
{
	char why[256];
	int rc;

	pthread_mutex_lock(&t->mu);
	if (t->pin_failed) {
		rc = p11_err(P11_EPIN, err, errlen, "%s", t->pin_msg);
	} else if (t->gen != gen && !t->down) {
		rc = P11_OK; /* another thread recovered since our session was opened */
	} else if (rv == CKR_USER_NOT_LOGGED_IN && t->pin_file == NULL) {
		char m[256];

		rc = p11_err(P11_ERR, err, errlen, "token %s: %s; the URI has no pin-source", t->label,
			     p11_rv_msg(m, sizeof(m), fn, rv));
	} else if (!may_recover(t)) {
		t->down = 1;
		p11_rv_msg(t->down_msg, sizeof(t->down_msg), fn, rv);
		rc = down_err(t, err, errlen);
	} else {
		p11_rv_msg(why, sizeof(why), fn, rv);
		rc = recover_full(t, why, err, errlen);
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

/*
 * The key an operation used is not found once its sessions were re-opened. A
 * module whose view of the token went stale looks exactly like this: SoftHSM
 * re-reads its token directory only in C_Initialize, and another user of the
 * module in the process keeps the token logged in, so no login fails to show
 * it. One module re-initialisation and a recovery, rate-limited like every
 * recovery; a key that was really deleted stays gone.
 */
static int recover_gone(struct p11_token *t, unsigned long gen, char *err, size_t errlen)
{
	char msg[256];
	int rc;

	pthread_mutex_lock(&t->mu);
	if (t->gen != gen && !t->down) {
		rc = P11_OK; /* another thread recovered since: look again */
	} else if (!t->reinit_ok || t->pin_failed || !may_recover(t)) {
		rc = p11_err(P11_ERR, err, errlen,
			     "token %s: the object is no longer on the token "
			     "(or no longer unique); open it again",
			     t->label);
	} else if (p11_module_reinit(t->mod, t->label, "a key is no longer found on the token", msg,
				     sizeof(msg)) != 0) {
		rc = p11_err(P11_ERR, err, errlen,
			     "token %s: the object is no longer on the token "
			     "(or no longer unique), and %s",
			     t->label, msg);
	} else {
		t->reinits++;
		p11_module_use(t->mod);
		rc = recover_locked(t, "PKCS#11 module re-initialised: a key was no longer found", err, errlen);
		p11_module_unuse(t->mod);
	}
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int p11_run(struct p11_token *t, p11_op_fn *op, void *arg, int retry, char *err, size_t errlen)
{
	for (int attempt = 0;; attempt++) {
		struct p11_sess *s;
		const char *fn = "?";
		unsigned long gen;
		CK_RV rv;
		int rc;

		if ((rc = sess_get(t, &s, err, errlen)) != P11_OK)
			return rc;
		gen = s->gen;
		rv = op(t, s->h, arg, &fn);
		if (rv == CKR_OK)
			sess_put(t, s);
		else
			sess_discard(t, s);
		if (rv == CKR_OK)
			return P11_OK;
		if (p11_exiting())
			return exiting_err(t, err, errlen);
		if (rv == P11_RV_GONE) {
			if (!retry || attempt > 0)
				return p11_err(P11_ERR, err, errlen,
					       "token %s: the object is no longer on the "
					       "token (or no longer unique); open it again",
					       t->label);
			if ((rc = recover_gone(t, gen, err, errlen)) != P11_OK)
				return rc;
			continue;
		}
		if (!p11_rv_is_fault(rv))
			return p11_err_rv(P11_ERR, err, errlen, t, fn, rv);
		if (!retry || attempt > 0) {
			p11_err_rv(P11_EDOWN, err, errlen, t, fn, rv);
			if (attempt > 0)
				p11_log(LOG_ERR, "%s (after re-initialisation)", err);
			return P11_EDOWN;
		}
		if ((rc = recover(t, gen, fn, rv, err, errlen)) != P11_OK)
			return rc;
	}
}

/* ---- opening ---------------------------------------------------------- */

static int match(const char *want, const unsigned char *have, size_t len)
{
	char buf[65];

	if (want == NULL)
		return 1;
	p11_trim(buf, sizeof(buf), have, len);
	return strcmp(want, buf) == 0;
}

static int match_library(CK_FUNCTION_LIST *f, const struct p11_uri *u)
{
	CK_INFO info;
	char ver[32];

	if (u->library_manufacturer == NULL && u->library_description == NULL && u->library_version == NULL)
		return 1;
	if (P11_CALL(f, C_GetInfo, &info) != CKR_OK)
		return 0;
	if (!match(u->library_manufacturer, info.manufacturerID, sizeof(info.manufacturerID)) ||
	    !match(u->library_description, info.libraryDescription, sizeof(info.libraryDescription)))
		return 0;
	if (u->library_version == NULL)
		return 1;
	snprintf(ver, sizeof(ver), "%u.%u", info.libraryVersion.major, info.libraryVersion.minor);
	if (strchr(u->library_version, '.') == NULL)
		snprintf(ver, sizeof(ver), "%u", info.libraryVersion.major);
	return strcmp(ver, u->library_version) == 0;
}

/* Once the process is exiting only our memory is released: the sessions die
 * with the process (P11_CALL does not call the module any more). */
static void token_free(struct p11_token *t)
{
	if (t == NULL)
		return;
	if (t->mod != NULL && t->pool != NULL && !p11_exiting()) {
		p11_module_use(t->mod);
		/* Sessions of an older epoch died with a re-initialisation: their
		 * handles may be someone else's sessions now. */
		for (unsigned i = 0; i < t->npool && t->epoch == atomic_load(&t->mod->epoch); i++)
			if (t->pool[i].open)
				(void)P11_CALL(t->f, C_CloseSession, t->pool[i].h);
		p11_module_unuse(t->mod);
	}
	free(t->pool);
	free(t->pin_file);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	p11_module_unref(t->mod);
	free(t);
}

void p11_token_close(struct p11_token *t)
{
	if (t != NULL && atomic_fetch_sub(&t->refs, 1) == 1)
		token_free(t);
}

/* Exposed to object.c through p11_object_free. */
void p11_token_ref_internal(struct p11_token *t);
void p11_token_ref_internal(struct p11_token *t)
{
	atomic_fetch_add(&t->refs, 1);
}

static int find_slot(struct p11_token *t, const struct p11_uri *u, char *err, size_t errlen)
{
	CK_SLOT_ID *slots = NULL, found = 0;
	CK_ULONG n = 0;
	CK_RV rv;
	int nfound = 0, rc = P11_ERR;

	if ((rv = p11_slot_list(t->f, &slots, &n)) != CKR_OK)
		return p11_err_rv(P11_ERR, err, errlen, NULL, "C_GetSlotList", rv);
	for (CK_ULONG i = 0; i < n; i++) {
		CK_SLOT_INFO si;
		CK_TOKEN_INFO ti;

		if (u->has_slot_id && u->slot_id != slots[i])
			continue;
		if (P11_CALL(t->f, C_GetSlotInfo, slots[i], &si) != CKR_OK ||
		    !match(u->slot_description, si.slotDescription, sizeof(si.slotDescription)) ||
		    !match(u->slot_manufacturer, si.manufacturerID, sizeof(si.manufacturerID)))
			continue;
		if (P11_CALL(t->f, C_GetTokenInfo, slots[i], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		if (!match(u->token, ti.label, sizeof(ti.label)) ||
		    !match(u->manufacturer, ti.manufacturerID, sizeof(ti.manufacturerID)) ||
		    !match(u->model, ti.model, sizeof(ti.model)) ||
		    !match(u->serial, ti.serialNumber, sizeof(ti.serialNumber)))
			continue;
		if (nfound++ == 0) {
			found = slots[i];
			p11_trim(t->label, sizeof(t->label), ti.label, sizeof(ti.label));
			p11_trim(t->serial, sizeof(t->serial), ti.serialNumber, sizeof(ti.serialNumber));
		}
	}
	free(slots);
	if (nfound == 0) {
		rc = p11_err(P11_ERR, err, errlen, "no initialised token matches the URI%s%s%s in module %s",
			     u->token ? " (token=" : "", u->token ? u->token : "", u->token ? ")" : "",
			     t->mod->path);
	} else if (nfound > 1) {
		rc = p11_err(P11_ERR, err, errlen,
			     "%d tokens match the URI in module %s; name one with "
			     "token= or serial=",
			     nfound, t->mod->path);
	} else {
		t->slot = found;
		rc = P11_OK;
	}
	return rc;
}

/* The module calls of p11_token_open, with a use of the module held. */
static int open_locked(struct p11_token *t, const struct p11_uri *uri, char *err, size_t errlen)
{
	CK_SESSION_HANDLE h;
	CK_RV rv;
	int rc;

	if (!match_library(t->f, uri))
		return p11_err(P11_ERR, err, errlen, "module %s does not match the URI's library-* attributes",
			       t->mod->path);
	if ((rc = find_slot(t, uri, err, errlen)) != P11_OK)
		return rc;
	rv = open_session(t, &h);
	if (rv != CKR_OK)
		return p11_err_rv(p11_rv_is_fault(rv) ? P11_EDOWN : P11_ERR, err, errlen, t, "C_OpenSession",
				  rv);
	t->pool[0].h = h;
	t->pool[0].open = 1;
	t->pool[0].gen = t->gen;
	return token_login(t, h, err, errlen);
}

int p11_token_open(const struct p11_uri *uri, const struct p11_token_opts *opts, struct p11_token **out,
		   char *err, size_t errlen)
{
	static const struct p11_token_opts defaults;
	struct p11_token *t;
	int rc;

	*out = NULL;
	if (opts == NULL)
		opts = &defaults;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return p11_err(P11_ERR, err, errlen, "out of memory");
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	atomic_init(&t->refs, 1);
	t->npool = opts->pool_size ? opts->pool_size : P11_DEFAULT_POOL;
	if (t->npool > P11_MAX_POOL)
		t->npool = P11_MAX_POOL;
	t->recover_ms = opts->recover_ms ? opts->recover_ms : 1000;
	t->rw = opts->rw;
	t->reinit_ok = opts->reinit_module != 0;
	t->gen = 1;
	if ((t->pool = calloc(t->npool, sizeof(*t->pool))) == NULL) {
		rc = p11_err(P11_ERR, err, errlen, "out of memory");
		goto fail;
	}
	if (uri->pin_source != NULL && !opts->no_login && (t->pin_file = strdup(uri->pin_source)) == NULL) {
		rc = p11_err(P11_ERR, err, errlen, "out of memory");
		goto fail;
	}
	if ((rc = p11_module_load(p11_module_choose(opts->module_path, uri), &t->mod, err, errlen)) != P11_OK)
		goto fail;
	t->f = t->mod->f;
	p11_module_use(t->mod);
	t->epoch = atomic_load(&t->mod->epoch);
	rc = open_locked(t, uri, err, errlen);
	p11_module_unuse(t->mod);
	if (rc != P11_OK)
		goto fail;
	*out = t;
	return P11_OK;
fail:
	token_free(t);
	return rc;
}

CK_SLOT_ID p11_token_slot(const struct p11_token *t)
{
	return t->slot;
}

struct p11_module *p11_token_module(const struct p11_token *t)
{
	return t->mod;
}

const char *p11_token_label(const struct p11_token *t)
{
	return t->label;
}

int p11_token_info(struct p11_token *t, CK_TOKEN_INFO *info, char *err, size_t errlen)
{
	CK_RV rv;

	p11_module_use(t->mod);
	rv = P11_CALL(t->f, C_GetTokenInfo, t->slot, info);
	p11_module_unuse(t->mod);
	if (rv != CKR_OK && p11_exiting())
		return exiting_err(t, err, errlen);
	if (rv != CKR_OK)
		return p11_err_rv(p11_rv_is_fault(rv) ? P11_EDOWN : P11_ERR, err, errlen, t, "C_GetTokenInfo",
				  rv);
	return P11_OK;
}

int p11_token_is_down(struct p11_token *t)
{
	int down;

	pthread_mutex_lock(&t->mu);
	down = t->down || t->pin_failed;
	pthread_mutex_unlock(&t->mu);
	return down;
}

unsigned long p11_token_discarded(struct p11_token *t)
{
	unsigned long n;

	pthread_mutex_lock(&t->mu);
	n = t->discarded;
	pthread_mutex_unlock(&t->mu);
	return n;
}

unsigned long p11_token_recoveries(struct p11_token *t)
{
	unsigned long n;

	pthread_mutex_lock(&t->mu);
	n = t->recoveries;
	pthread_mutex_unlock(&t->mu);
	return n;
}
