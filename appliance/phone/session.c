/*
 * appliance/phone/session.c: the phone's side of one CAPF session, as a state
 * machine over parsed server messages (see phone.h). Every reply is one
 * complete message in its own buffer, for one TLS write each.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/x509.h>

#include "appliance/capf/evidence.h"
#include "appliance/phone/phone.h"
#include "appliance/phone/phone_int.h"
#include "policy/der.h"

void phone_session_init(struct phone_session *s, const struct phone_config *cfg)
{
	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
}

void phone_session_clear_out(struct phone_session *s)
{
	for (unsigned i = 0; i < s->nout; i++) {
		OPENSSL_cleanse(s->out[i].buf, s->out[i].len);
		free(s->out[i].buf);
		s->out[i].buf = NULL;
	}
	s->nout = 0;
}

void phone_session_free(struct phone_session *s)
{
	phone_session_clear_out(s);
	EVP_PKEY_free(s->key);
	X509_free(s->lsc);
	s->key = NULL;
	s->lsc = NULL;
}

const char *phone_result_name(enum phone_result r)
{
	static const char *const n[] = { "running", "success",     "nothing", "unknown-device",
					 "refused", "retry-later", "error" };

	return (unsigned)r < sizeof(n) / sizeof(n[0]) ? n[r] : "error";
}

int phone_result_exit(enum phone_result r)
{
	switch (r) {
	case PHONE_SUCCESS:
		return PHONE_EXIT_SUCCESS;
	case PHONE_NOTHING:
		return PHONE_EXIT_NOTHING;
	case PHONE_UNKNOWN:
		return PHONE_EXIT_UNKNOWN;
	case PHONE_REFUSED:
		return PHONE_EXIT_REFUSED;
	case PHONE_RETRY:
		return PHONE_EXIT_RETRY;
	default:
		return PHONE_EXIT_ERROR;
	}
}

static int perr(struct phone_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int perr(struct phone_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	s->result = PHONE_ERROR;
	return -1;
}

/* Finishes b into the next output slot. */
static int emit(struct phone_session *s, struct capf_builder *b)
{
	const uint8_t *p;
	size_t len;
	char err[160];

	if (s->nout >= sizeof(s->out) / sizeof(s->out[0]) ||
	    capf_build_finish(b, &p, &len, err, sizeof(err)) != 0) {
		capf_build_free(b);
		return perr(s, "cannot build a reply: %s", s->nout >= 2 ? "too many" : err);
	}
	if ((s->out[s->nout].buf = malloc(len)) == NULL) {
		capf_build_free(b);
		return perr(s, "out of memory");
	}
	memcpy(s->out[s->nout].buf, p, len);
	s->out[s->nout].len = len;
	s->nout++;
	capf_build_free(b);
	return 0;
}

static int reply_reason(struct phone_session *s, uint8_t cmd, uint8_t reason)
{
	struct capf_builder b;

	capf_build_init(&b, cmd, s->session_id, 0);
	capf_build_u8(&b, CAPF_TAG_REASON, reason);
	return emit(s, &b);
}

static int on_auth_request(struct phone_session *s, const struct capf_msg *m)
{
	uint8_t *buf;
	size_t len;
	char err[200];

	if (s->authed)
		return perr(s, "a second AUTH_REQUEST");
	s->session_id = m->session_id;
	if (phone_auth_response(s->cfg, s->session_id, &buf, &len, err, sizeof(err)) != 0)
		return perr(s, "%s", err);
	s->out[s->nout].buf = buf;
	s->out[s->nout].len = len;
	s->nout++;
	s->authed = 1;
	return 0;
}

static int on_keygen(struct phone_session *s, const struct capf_msg *m)
{
	uint8_t kt = CAPF_KEY_RSA, curve = 0;
	uint16_t bits = 0;
	struct capf_builder b;
	char err[200];
	unsigned char *der = NULL, *p;
	const uint8_t *spki;
	size_t spki_len;
	int rc, n, fail;

	s->operation = "install";
	s->keygen_requests++;
	if ((rc = capf_msg_u8(m, CAPF_TAG_KEY_TYPE, &kt, err, sizeof(err))) < 0 ||
	    (rc = capf_msg_u16(m, CAPF_TAG_KEY_SIZE, &bits, err, sizeof(err))) < 0 ||
	    (rc = capf_msg_u8(m, CAPF_TAG_CURVE, &curve, err, sizeof(err))) < 0)
		return perr(s, "KEY_GENERATE_REQUEST: %s", err);
	if (kt == CAPF_KEY_RSA && bits == 0)
		return perr(s, "KEY_GENERATE_REQUEST for RSA without KEY_SIZE");
	if (kt == CAPF_KEY_EC && capf_msg_find(m, CAPF_TAG_CURVE, NULL) == 0)
		return perr(s, "KEY_GENERATE_REQUEST for EC without CURVE");
	fail = (kt == CAPF_KEY_RSA && (s->cfg->fail_keygen & PHONE_FAIL_RSA)) ||
	       (kt == CAPF_KEY_EC && (s->cfg->fail_keygen & PHONE_FAIL_EC)) ||
	       (kt == CAPF_KEY_EC && s->cfg->protocol < 3); /* Jabber: RSA only */
	EVP_PKEY_free(s->key);
	s->key = NULL;
	if (!fail) {
		s->key = phone_keypool_take(s->cfg->pool, kt, bits, curve);
		if (s->key == NULL)
			s->key = phone_keygen(kt, bits, curve, err, sizeof(err));
		fail = s->key == NULL;
	}
	if (s->cfg->send_in_progress) {
		capf_build_init(&b, CAPF_CMD_REQUEST_IN_PROGRESS, s->session_id, 0);
		if (emit(s, &b) != 0)
			return -1;
		s->in_progress_sent++;
	}
	if (fail) {
		/* generation failed: a KEY_GENERATE_RESPONSE with a REASON and no key */
		s->keygen_failed++;
		return reply_reason(s, CAPF_CMD_KEY_GENERATE_RESPONSE, CAPF_REASON_INVALID);
	}
	capf_build_init(&b, CAPF_CMD_KEY_GENERATE_RESPONSE, s->session_id, 0);
	if ((spki = phone_key_spki(s->key, &spki_len)) != NULL) {
		/* a pooled key: encoded before the clock */
		capf_build_put(&b, CAPF_TAG_PUBLIC_KEY, spki, spki_len);
		return emit(s, &b);
	}
	n = i2d_PUBKEY(s->key, NULL);
	if (n <= 0 || (der = malloc((size_t)n)) == NULL) {
		capf_build_free(&b);
		return perr(s, "cannot encode the public key");
	}
	p = der;
	i2d_PUBKEY(s->key, &p);
	capf_build_put(&b, CAPF_TAG_PUBLIC_KEY, der, (size_t)n);
	free(der);
	return emit(s, &b);
}

/* x's SubjectPublicKeyInfo is key's, byte for byte. */
static int same_key(X509 *x, EVP_PKEY *key)
{
	unsigned char *got = NULL, *own = NULL;
	const uint8_t *cached;
	size_t len;
	int glen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &got), olen, same;

	if ((cached = phone_key_spki(key, &len)) == NULL) {
		olen = i2d_PUBKEY(key, &own);
		cached = own;
		len = olen > 0 ? (size_t)olen : 0;
	}
	same = glen > 0 && cached != NULL && (size_t)glen == len && memcmp(got, cached, len) == 0;
	OPENSSL_free(got);
	OPENSSL_free(own);
	return same;
}

static int on_store(struct phone_session *s, const struct capf_msg *m)
{
	struct capf_elem e;
	struct capf_wrapped_cert wc;
	X509 *x;
	char err[200];

	if (capf_msg_find(m, CAPF_TAG_CERTIFICATE, &e) != 1)
		return perr(s, "STORE_CERTIFICATE_REQUEST without exactly one CERTIFICATE");
	if (capf_cert_unwrap(e.val, e.len, &wc, err, sizeof(err)) != 0)
		return perr(s, "STORE_CERTIFICATE_REQUEST: %s", err);
	/* parsed without building its key (policy/der.h): the key is compared as the
	 * SubjectPublicKeyInfo bytes this phone sent */
	if ((x = capf_der_x509(wc.der, wc.der_len)) == NULL) {
		snprintf(s->error, sizeof(s->error), "the stored certificate is not X.509 DER");
		return reply_reason(s, CAPF_CMD_STORE_CERTIFICATE_RESPONSE, CAPF_REASON_INVALID);
	}
	if (s->key == NULL || !same_key(x, s->key)) {
		X509_free(x);
		snprintf(s->error, sizeof(s->error), "the stored certificate is not for the key generated");
		return reply_reason(s, CAPF_CMD_STORE_CERTIFICATE_RESPONSE, CAPF_REASON_INVALID);
	}
	X509_free(s->lsc);
	s->lsc = x;
	return reply_reason(s, CAPF_CMD_STORE_CERTIFICATE_RESPONSE, CAPF_REASON_SUCCESS);
}

static int on_fetch(struct phone_session *s)
{
	struct capf_builder b;
	unsigned char *der = NULL, *p;
	int n;

	s->operation = "fetch";
	if (s->cfg->cert == NULL)
		return reply_reason(s, CAPF_CMD_FETCH_CERTIFICATE_RESPONSE, CAPF_REASON_INVALID);
	n = i2d_X509(s->cfg->cert, NULL);
	if (n <= 0 || (der = malloc((size_t)n)) == NULL)
		return perr(s, "cannot encode the certificate");
	p = der;
	i2d_X509(s->cfg->cert, &p);
	capf_build_init(&b, CAPF_CMD_FETCH_CERTIFICATE_RESPONSE, s->session_id, 0);
	capf_build_u8(&b, CAPF_TAG_REASON, CAPF_REASON_SUCCESS);
	capf_build_cert(&b, s->cfg->auth == PHONE_AUTH_MIC ? CAPF_CERT_MIC : CAPF_CERT_LSC, der, (size_t)n);
	free(der);
	return emit(s, &b);
}

static int on_end(struct phone_session *s, const struct capf_msg *m)
{
	uint8_t reason = CAPF_REASON_INVALID;
	char err[160];
	int rc = capf_msg_u8(m, CAPF_TAG_REASON, &reason, err, sizeof(err));

	if (rc < 0)
		return perr(s, "END_SESSION: %s", err);
	s->end_reason = reason;
	switch (reason) {
	case CAPF_REASON_SUCCESS:
		/* success only when an operation completed on our side */
		s->result = s->operation != NULL ? PHONE_SUCCESS : PHONE_REFUSED;
		if (s->operation != NULL && strcmp(s->operation, "install") == 0 && s->lsc == NULL)
			s->result = PHONE_REFUSED;
		break;
	case CAPF_REASON_NO_ACTION:
		s->result = PHONE_NOTHING;
		break;
	case CAPF_REASON_UNKNOWN_DEVICE:
		s->result = PHONE_UNKNOWN;
		break;
	default:
		s->result = PHONE_REFUSED;
		break;
	}
	return 1;
}

int phone_session_input(struct phone_session *s, const struct capf_msg *m)
{
	char err[160];
	int rc;

	phone_session_clear_out(s);
	if (s->result != PHONE_RUNNING)
		return perr(s, "%s after the end of the session", capf_command_name(m->command));
	/* RETRY_LATER may come first: a server at its connection limit says so right
	 * after the TLS handshake */
	if (m->command != CAPF_CMD_AUTH_REQUEST && m->command != CAPF_CMD_RETRY_LATER && !s->authed)
		return perr(s, "%s before AUTH_REQUEST", capf_command_name(m->command));
	if (s->authed && m->session_id != s->session_id)
		return perr(s, "%s with session id %08x, expected %08x", capf_command_name(m->command),
			    (unsigned)m->session_id, (unsigned)s->session_id);
	switch (m->command) {
	case CAPF_CMD_AUTH_REQUEST:
		return on_auth_request(s, m);
	case CAPF_CMD_KEY_GENERATE_REQUEST:
		return on_keygen(s, m);
	case CAPF_CMD_STORE_CERTIFICATE_REQUEST:
		return on_store(s, m);
	case CAPF_CMD_FETCH_CERTIFICATE_REQUEST:
		return on_fetch(s);
	case CAPF_CMD_DELETE_CERTIFICATE_REQUEST:
		s->operation = "delete";
		return reply_reason(s, CAPF_CMD_DELETE_CERTIFICATE_RESPONSE, CAPF_REASON_SUCCESS);
	case CAPF_CMD_END_SESSION:
		return on_end(s, m);
	case CAPF_CMD_RETRY_LATER:
		rc = capf_msg_uint(m, CAPF_TAG_RETRY_DELAY, &s->retry_delay, err, sizeof(err));
		if (rc < 0)
			return perr(s, "RETRY_LATER: %s", err);
		s->result = PHONE_RETRY;
		return 1;
	default:
		return perr(s, "unexpected %s (command %u)", capf_command_name(m->command), m->command);
	}
}
