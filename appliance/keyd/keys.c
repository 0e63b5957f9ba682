/*
 * appliance/keyd/keys.c: capf-keyd's key slots and its signing verbs. A slot
 * holds one token key opened through capfhsm (a CAPF CA key with its
 * certificate and chain, or the audit key) or, for the HMAC key of
 * authentication strings, a secret key object of the token layer. Every
 * certificate is linted against the policy before the token signs it and
 * verified after; a failure of the token itself answers RETRY_LATER.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "appliance/common/hsm.h"
#include "appliance/common/log.h"
#include "appliance/common/x509.h"
#include "appliance/ipc/ipc.h"
#include "appliance/keyd/keyd.h"
#include "appliance/store/audit_chain.h"
#include "pkcs11/p11.h"
#include "pkcs11/p11_uri.h"
#include "policy/certlint.h"
#include "policy/chain.h"
#include "policy/der.h"
#include "policy/errlist.h"
#include "policy/lsc.h"

#define RETRY_DELAY_S 1

struct slot {
	int used;
	uint32_t id;
	uint8_t cls;           /* enum capf_ipc_key_class */
	EVP_PKEY *key;         /* CA, audit: the token key (capfhsm) */
	EVP_PKEY *pub;         /* its public half (default provider) */
	struct capf_ca *ca;    /* CA with a certificate: certificate + chain */
	struct p11_token *tok; /* HMAC: the token layer's handle */
	struct p11_object *secret;
	char uri[CAPF_CONF_STR_MAX];
};

static struct slot slots[CAPF_KEYD_SLOTS_MAX];
static pthread_rwlock_t slots_lock = PTHREAD_RWLOCK_INITIALIZER;

static void ossl_err(char *buf, size_t len)
{
	capf_ossl_errors(buf, len);
}

static void slot_clear(struct slot *s)
{
	EVP_PKEY_free(s->key);
	EVP_PKEY_free(s->pub);
	capf_ca_free(s->ca);
	if (s->secret != NULL)
		p11_object_free(s->secret);
	if (s->tok != NULL)
		p11_token_close(s->tok);
	memset(s, 0, sizeof(*s));
}

int keyd_keys_init(struct keyd *k, char *err, size_t errlen)
{
	char full[P11_URI_MAX + 1], e[768];
	EVP_PKEY *key = NULL;
	int rc;

	memset(slots, 0, sizeof(slots));
	if (capf_hsm_key_uri(k->hsm, k->conf.token.ca_key_uri, k->conf.token.pin_source, full, sizeof(full), e,
			     sizeof(e)) != 0) {
		snprintf(err, errlen, "token.ca_key_uri: %s", e);
		return -1;
	}
	rc = capf_hsm_load_key(k->hsm, full, &key, e, sizeof(e));
	OPENSSL_cleanse(full, sizeof(full));
	EVP_PKEY_free(key);
	if (rc != 0) {
		snprintf(err, errlen, "opening the token of token.ca_key_uri (%s): %s",
			 k->conf.token.ca_key_uri, e);
		return -1;
	}
	return 0;
}

void keyd_keys_fini(struct keyd *k)
{
	(void)k;
	pthread_rwlock_wrlock(&slots_lock);
	for (size_t i = 0; i < CAPF_KEYD_SLOTS_MAX; i++)
		if (slots[i].used)
			slot_clear(&slots[i]);
	pthread_rwlock_unlock(&slots_lock);
}

/* The slot (read lock held on success: release with slot_put). */
static struct slot *slot_get(uint32_t id)
{
	pthread_rwlock_rdlock(&slots_lock);
	for (size_t i = 0; i < CAPF_KEYD_SLOTS_MAX; i++)
		if (slots[i].used && slots[i].id == id)
			return &slots[i];
	pthread_rwlock_unlock(&slots_lock);
	return NULL;
}

static void slot_put(void)
{
	pthread_rwlock_unlock(&slots_lock);
}

static int reply(const struct capf_ipc_msg *req, struct capf_ipc_builder *resp, int status, const char *fmt,
		 ...) __attribute__((format(printf, 4, 5)));
static int reply(const struct capf_ipc_msg *req, struct capf_ipc_builder *resp, int status, const char *fmt,
		 ...)
{
	char text[1024];
	va_list ap;

	capf_ipc_build_response(resp, req, (uint8_t)status);
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
		capf_ipc_put_str(resp, CAPF_IPC_T_TEXT, text);
	}
	if (status == CAPF_IPC_RETRY_LATER)
		capf_ipc_put_u32(resp, CAPF_IPC_T_RETRY_DELAY, RETRY_DELAY_S);
	return 0;
}

/* One signature over msg with the slot's token key, verified with its public
 * half. 0, or -1 (token: retry) / -2 (does not verify). */
static int sign_data(struct keyd *k, struct slot *s, const unsigned char *msg, size_t mlen, unsigned char *sig,
		     size_t *siglen, char *err, size_t errlen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new(), *v = EVP_MD_CTX_new();
	int rc = -1;

	ERR_clear_error();
	if (m == NULL || v == NULL ||
	    EVP_DigestSignInit_ex(m, NULL, "SHA256", k->libctx, NULL, s->key, NULL) != 1 ||
	    EVP_DigestSign(m, sig, siglen, msg, mlen) != 1) {
		ossl_err(err, errlen);
	} else if (EVP_DigestVerifyInit_ex(v, NULL, "SHA256", NULL, NULL, s->pub, NULL) != 1 ||
		   EVP_DigestVerify(v, sig, *siglen, msg, mlen) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "the signature does not verify with the key's public half");
		rc = -2;
	} else {
		rc = 0;
	}
	EVP_MD_CTX_free(m);
	EVP_MD_CTX_free(v);
	return rc;
}

static int hmac_probe(struct slot *s, char *err, size_t errlen)
{
	static const unsigned char msg[] = "capf-keyd hmac probe";
	unsigned char out[32];

	return p11_hmac_sha256(s->secret, msg, sizeof(msg) - 1, out, err, errlen) == P11_OK ? 0 : -1;
}

static int probe(struct keyd *k, struct slot *s, char *err, size_t errlen)
{
	static const unsigned char msg[] = "capf-keyd token probe";
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);

	if (s->cls == CAPF_IPC_KEYCLASS_HMAC)
		return hmac_probe(s, err, errlen);
	return sign_data(k, s, msg, sizeof(msg) - 1, sig, &siglen, err, errlen);
}

/* The secret key of token.auth_key_uri style URIs: sensitive, never extractable. */
static int open_secret(struct keyd *k, struct slot *s, const char *full, int *down, char *err, size_t errlen)
{
	struct p11_token_opts opts = { 0 };
	struct p11_uri u;
	int sens = 0, extr = 1, rc;

	if (p11_uri_parse(full, &u, err, errlen) != P11_OK)
		return -1;
	opts.module_path = k->conf.token.module[0] != '\0' ? k->conf.token.module : NULL;
	opts.pool_size = 2;
	rc = p11_token_open(&u, &opts, &s->tok, err, errlen);
	if (rc == P11_OK)
		rc = p11_find_one(s->tok, &u, CKO_SECRET_KEY, &s->secret, err, errlen);
	p11_uri_clear(&u);
	if (rc != P11_OK) {
		*down = rc == P11_EDOWN;
		return -1;
	}
	if (p11_object_bool(s->secret, CKA_SENSITIVE, &sens, err, errlen) != P11_OK ||
	    p11_object_bool(s->secret, CKA_EXTRACTABLE, &extr, err, errlen) != P11_OK)
		return -1;
	if (!sens || extr) {
		snprintf(err, errlen,
			 "the key is not sensitive, or extractable: make it with "
			 "CKA_SENSITIVE true and CKA_EXTRACTABLE false");
		return -1;
	}
	return 0;
}

static STACK_OF(X509) * chain_of(const struct capf_ipc_msg *req)
{
	STACK_OF(X509) *chain = sk_X509_new_null();

	for (const struct capf_ipc_field *f = NULL;
	     chain != NULL && (f = capf_ipc_find(req, CAPF_IPC_T_CHAIN_CERT, f)) != NULL;) {
		const unsigned char *p = f->val;
		X509 *x = d2i_X509(NULL, &p, f->len);

		if (x == NULL || p != f->val + f->len || sk_X509_push(chain, x) <= 0) {
			X509_free(x);
			sk_X509_pop_free(chain, X509_free);
			return NULL;
		}
	}
	return chain;
}

static int key_load(struct keyd *k, const struct capf_ipc_msg *req, struct capf_ipc_builder *resp)
{
	struct slot s, *free_slot = NULL;
	char uri[CAPF_CONF_STR_MAX], full[P11_URI_MAX + 1], err[2048] = "", e2[512];
	const uint8_t *der;
	size_t derlen;
	unsigned char *pubder = NULL;
	int down = 0, rc, n = 0;

	memset(&s, 0, sizeof(s));
	capf_ipc_get_u32(req, CAPF_IPC_T_KEY_SLOT, &s.id);
	capf_ipc_get_u8(req, CAPF_IPC_T_KEY_CLASS, &s.cls);
	if (capf_ipc_get_str(req, CAPF_IPC_T_KEY_URI, uri, sizeof(uri)) != 0 || strncmp(uri, "pkcs11:", 7) != 0)
		return reply(req, resp, CAPF_IPC_ERROR, "KEY_URI: not a pkcs11: URI");
	{
		/* the token and the key come from the signer; the module and the PIN
		 * file only from capf.conf */
		struct p11_uri u;
		int foreign;

		if (p11_uri_parse(uri, &u, err, sizeof(err)) != 0)
			return reply(req, resp, CAPF_IPC_ERROR, "KEY_URI: %s", err);
		foreign = u.pin_source != NULL || u.module_path != NULL || u.module_name != NULL;
		p11_uri_clear(&u);
		if (foreign || strstr(uri, "pin-value") != NULL)
			return reply(req, resp, CAPF_IPC_ERROR, "KEY_URI: a PIN, pin-source or module in it");
	}
	snprintf(s.uri, sizeof(s.uri), "%s", uri);
	rc = capf_hsm_key_uri(k->hsm, uri, k->conf.token.pin_source, full, sizeof(full), err, sizeof(err));
	if (rc == 0 && s.cls == CAPF_IPC_KEYCLASS_HMAC) {
		rc = open_secret(k, &s, full, &down, err, sizeof(err));
	} else if (rc == 0) {
		rc = capf_hsm_load_key(k->hsm, full, &s.key, err, sizeof(err));
		down = rc == CAPF_HSM_EDOWN;
	}
	OPENSSL_cleanse(full, sizeof(full));
	if (rc != 0)
		goto fail;
	if (s.key != NULL) {
		/* the public half, in the default provider (verification, lints) */
		n = i2d_PUBKEY(s.key, &pubder);
		if (n > 0) {
			const unsigned char *p = pubder;

			s.pub = d2i_PUBKEY(NULL, &p, n);
		}
		if (s.pub == NULL) {
			ossl_err(e2, sizeof(e2));
			snprintf(err, sizeof(err), "cannot read the key's public half: %s", e2);
			goto fail;
		}
	}
	if (s.cls == CAPF_IPC_KEYCLASS_CA && capf_ipc_get_bytes(req, CAPF_IPC_T_CERT, &der, &derlen) == 0) {
		const unsigned char *p = der;
		X509 *x = d2i_X509(NULL, &p, (long)derlen);
		STACK_OF(X509) *chain = chain_of(req);

		if (x == NULL || chain == NULL ||
		    capf_ca_from_x509(x, chain, time(NULL), &s.ca, e2, sizeof(e2)) != 0) {
			if (x == NULL || chain == NULL)
				snprintf(e2, sizeof(e2), "not DER certificates");
			snprintf(err, sizeof(err), "the CAPF CA certificate: %s", e2);
			s.ca = NULL;
		} else if (EVP_PKEY_eq(X509_get0_pubkey(capf_ca_cert(s.ca)), s.pub) != 1) {
			snprintf(err, sizeof(err),
				 "the key %s does not match the CAPF CA certificate (its "
				 "public key differs)",
				 uri);
		}
		X509_free(x);
		sk_X509_pop_free(chain, X509_free);
		ERR_clear_error();
		if (err[0] != '\0')
			goto fail;
	} else if (s.cls != CAPF_IPC_KEYCLASS_CA && capf_ipc_find(req, CAPF_IPC_T_CERT, NULL) != NULL) {
		snprintf(err, sizeof(err), "a certificate only goes with a CAPF CA key");
		goto fail;
	}
	/* it signs, and the signature verifies */
	if ((rc = probe(k, &s, e2, sizeof(e2))) != 0) {
		down = rc == -1;
		snprintf(err, sizeof(err), "the key %s does not sign: %s", uri, e2);
		goto fail;
	}
	pthread_rwlock_wrlock(&slots_lock);
	for (size_t i = 0; i < CAPF_KEYD_SLOTS_MAX; i++) {
		if (slots[i].used && slots[i].id == s.id) {
			free_slot = NULL;
			snprintf(err, sizeof(err), "slot %u is in use", s.id);
			break;
		}
		if (!slots[i].used && free_slot == NULL)
			free_slot = &slots[i];
	}
	if (free_slot != NULL) {
		s.used = 1;
		*free_slot = s;
	} else if (err[0] == '\0') {
		snprintf(err, sizeof(err), "all %d slots are in use", CAPF_KEYD_SLOTS_MAX);
	}
	pthread_rwlock_unlock(&slots_lock);
	if (free_slot == NULL)
		goto fail;
	capf_log(LOG_INFO, "key_loaded", "slot=%u class=%u uri=%s", s.id, s.cls, s.uri);
	reply(req, resp, CAPF_IPC_OK, NULL);
	if (pubder != NULL)
		capf_ipc_put_bytes(resp, CAPF_IPC_T_PUBLIC_KEY, pubder, (size_t)n);
	OPENSSL_free(pubder);
	return 0;
fail:
	OPENSSL_free(pubder);
	slot_clear(&s);
	ERR_clear_error();
	capf_log(LOG_WARNING, "key_load_failed", "slot=%u uri=%s down=%d error=\"%s\"", s.id, uri, down, err);
	return reply(req, resp, down ? CAPF_IPC_RETRY_LATER : CAPF_IPC_ERROR, "%s", err);
}

static int key_unload(const struct capf_ipc_msg *req, struct capf_ipc_builder *resp)
{
	uint32_t id = 0;

	capf_ipc_get_u32(req, CAPF_IPC_T_KEY_SLOT, &id);
	pthread_rwlock_wrlock(&slots_lock);
	for (size_t i = 0; i < CAPF_KEYD_SLOTS_MAX; i++)
		if (slots[i].used && slots[i].id == id)
			slot_clear(&slots[i]);
	pthread_rwlock_unlock(&slots_lock);
	return reply(req, resp, CAPF_IPC_OK, NULL);
}

/* Whether a slot holds pub with a CAPF CA certificate (slots_lock held). */
static int key_has_cert(EVP_PKEY *pub)
{
	for (size_t i = 0; i < CAPF_KEYD_SLOTS_MAX; i++)
		if (slots[i].used && slots[i].ca != NULL && EVP_PKEY_eq(slots[i].pub, pub) == 1)
			return 1;
	ERR_clear_error();
	return 0;
}

/* The findings of a lint as one line. */
static const char *lint_text(struct capf_errlist *errs, char *buf, size_t len)
{
	return capf_errlist_join(errs, "; ", buf, len);
}

/* A lint refused what the slot was asked to sign (kind: its name in the log):
 * logged, and the findings answered as an error. */
static void lint_refused(const struct slot *s, const char *kind, struct capf_errlist *errs,
			 const struct capf_ipc_msg *req, struct capf_ipc_builder *resp)
{
	char text[900];

	capf_log(LOG_WARNING, "lint_refused", "slot=%u kind=%s findings=\"%s\"", s->id, kind,
		 lint_text(errs, text, sizeof(text)));
	reply(req, resp, CAPF_IPC_ERROR, "refused by the key process's lint: %s", text);
}

/*
 * An LSC, as bytes: the certificate received is linted as it is but unsigned (its
 * inputs read back from it), its TBSCertificate is signed as it is, verified, and the answer is
 * that TBSCertificate with the algorithm it names (the lint checked that it is the
 * one outside too, lsc.digest with the CA's key) and the signature. What is signed
 * is byte for byte what was linted; no object is encoded again.
 */
static int sign_lsc(struct keyd *k, struct slot *s, const struct capf_ipc_msg *req,
		    struct capf_ipc_builder *resp)
{
	struct capf_errlist *errs = capf_errlist_new();
	const uint8_t *der, *tbs, *alg;
	size_t derlen, tbslen, alglen, siglen = 0, outlen = 0, ulen = 0;
	const EVP_MD *md = capf_lsc_digest(&k->conf);
	unsigned char *sig = NULL;
	uint8_t *out = NULL, *u = NULL;
	EVP_MD_CTX *m = NULL, *v = NULL;
	char oe[512];

	if (errs == NULL)
		return reply(req, resp, CAPF_IPC_ERROR, "out of memory");
	if (capf_ipc_get_bytes(req, CAPF_IPC_T_CERT, &der, &derlen) != 0) {
		reply(req, resp, CAPF_IPC_ERROR, "CERT: the unsigned certificate is missing");
		goto out;
	}
	if (capf_der_cert_tbs(der, derlen, &tbs, &tbslen) != 0 ||
	    capf_der_tbs_sigalg(tbs, tbslen, &alg, &alglen) != 0) {
		reply(req, resp, CAPF_IPC_ERROR, "CERT: not a DER certificate");
		goto out;
	}
	/* whatever signature it carries is not ours to keep: linted as unsigned */
	if ((u = capf_der_cert_assemble(tbs, tbslen, alg, alglen, (const uint8_t *)"", 0, &ulen)) == NULL) {
		reply(req, resp, CAPF_IPC_ERROR, "out of memory");
		goto out;
	}
	if (s->ca == NULL)
		capf_errlist_add(errs, "the slot has no CAPF CA certificate");
	else
		capf_lsc_lint_issued_der(&k->conf, s->ca, u, ulen, time(NULL), errs);
	if (capf_errlist_total(errs) > 0) {
		lint_refused(s, "lsc", errs, req, resp);
		goto out;
	}
	ERR_clear_error();
	if ((m = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(m, NULL, EVP_MD_get0_name(md), k->libctx, NULL, s->key, NULL) != 1 ||
	    EVP_DigestSign(m, NULL, &siglen, tbs, tbslen) != 1 || (sig = OPENSSL_malloc(siglen)) == NULL ||
	    EVP_DigestSign(m, sig, &siglen, tbs, tbslen) != 1) {
		ossl_err(oe, sizeof(oe));
		reply(req, resp, CAPF_IPC_RETRY_LATER, "signing with %s failed: %s", s->uri, oe);
		goto out;
	}
	if ((v = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(v, NULL, EVP_MD_get0_name(md), NULL, NULL,
				    X509_get0_pubkey(capf_ca_cert(s->ca)), NULL) != 1 ||
	    EVP_DigestVerify(v, sig, siglen, tbs, tbslen) != 1) {
		ossl_err(oe, sizeof(oe));
		reply(req, resp, CAPF_IPC_ERROR, "the signature made with %s does not verify: %s", s->uri, oe);
		goto out;
	}
	if ((out = capf_der_cert_assemble(tbs, tbslen, alg, alglen, sig, siglen, &outlen)) == NULL) {
		reply(req, resp, CAPF_IPC_ERROR, "cannot encode the signed certificate");
		goto out;
	}
	reply(req, resp, CAPF_IPC_OK, NULL);
	capf_ipc_put_bytes(resp, CAPF_IPC_T_CERT, out, outlen);
out:
	ERR_clear_error();
	free(out);
	free(u);
	OPENSSL_free(sig);
	EVP_MD_CTX_free(m);
	EVP_MD_CTX_free(v);
	capf_errlist_free(errs);
	return 0;
}

/* A TLS server certificate or a CA certificate (kind), as an object. */
static int sign_cert(struct keyd *k, struct slot *s, uint8_t kind, const struct capf_ipc_msg *req,
		     struct capf_ipc_builder *resp)
{
	struct capf_errlist *errs = capf_errlist_new();
	const uint8_t *der;
	size_t derlen;
	const unsigned char *p;
	unsigned char *out = NULL;
	const EVP_MD *md = NULL;
	EVP_MD_CTX *m = NULL;
	X509 *x = NULL;
	EVP_PKEY *vkey = s->pub;
	char oe[512];
	time_t now = time(NULL);
	int lint = 0, n;

	if (errs == NULL)
		return reply(req, resp, CAPF_IPC_ERROR, "out of memory");
	if (capf_ipc_get_bytes(req, CAPF_IPC_T_CERT, &der, &derlen) != 0) {
		reply(req, resp, CAPF_IPC_ERROR, "CERT: the unsigned certificate is missing");
		goto out;
	}
	p = der;
	x = d2i_X509(NULL, &p, (long)derlen);
	if (x == NULL || p != der + derlen) {
		reply(req, resp, CAPF_IPC_ERROR, "CERT: not a DER certificate");
		goto out;
	}
	/* whatever signature it carries is not ours to keep: linted as unsigned */
	{
		const ASN1_BIT_STRING *sig;

		X509_get0_signature(&sig, NULL, x);
		if (sig != NULL)
			ASN1_BIT_STRING_set((ASN1_BIT_STRING *)sig, NULL, 0);
	}
	switch (kind) {
	case CAPF_IPC_SIGN_TLS:
		if (s->ca == NULL)
			capf_errlist_add(errs, "the slot has no CAPF CA certificate");
		else
			lint = capf_tls_lint(s->ca, x, now, errs);
		md = capf_cert_digest_for(s->pub);
		break;
	case CAPF_IPC_SIGN_CA:
		/* a new key's own certificate: never for a key that already has one
		 * (in this slot or another: the active CA's key, loaded again
		 * without its certificate, gets no second one) */
		if (s->ca != NULL || key_has_cert(s->pub))
			capf_errlist_add(errs, "the slot's key already has its CAPF CA certificate");
		else
			lint = capf_cacert_lint(x, s->pub, now, errs);
		md = capf_cert_digest_for(s->pub);
		break;
	}
	if (s->ca != NULL)
		vkey = X509_get0_pubkey(capf_ca_cert(s->ca));
	if (lint != 0 || capf_errlist_total(errs) > 0) {
		lint_refused(s, kind == CAPF_IPC_SIGN_TLS ? "tls" : "ca", errs, req, resp);
		goto out;
	}
	ERR_clear_error();
	if ((m = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(m, NULL, EVP_MD_get0_name(md), k->libctx, NULL, s->key, NULL) != 1 ||
	    X509_sign_ctx(x, m) <= 0) {
		ossl_err(oe, sizeof(oe));
		reply(req, resp, CAPF_IPC_RETRY_LATER, "signing with %s failed: %s", s->uri, oe);
		goto out;
	}
	if (X509_verify(x, vkey) != 1) {
		ossl_err(oe, sizeof(oe));
		reply(req, resp, CAPF_IPC_ERROR, "the signature made with %s does not verify: %s", s->uri, oe);
		goto out;
	}
	if ((n = i2d_X509(x, &out)) <= 0) {
		reply(req, resp, CAPF_IPC_ERROR, "cannot encode the signed certificate");
		goto out;
	}
	reply(req, resp, CAPF_IPC_OK, NULL);
	capf_ipc_put_bytes(resp, CAPF_IPC_T_CERT, out, (size_t)n);
out:
	ERR_clear_error();
	OPENSSL_free(out);
	EVP_MD_CTX_free(m);
	X509_free(x);
	capf_errlist_free(errs);
	return 0;
}

static int sign_csr(struct keyd *k, struct slot *s, const struct capf_ipc_msg *req,
		    struct capf_ipc_builder *resp)
{
	struct capf_errlist *errs = capf_errlist_new();
	const uint8_t *der;
	size_t derlen;
	const unsigned char *p;
	unsigned char *out = NULL;
	EVP_MD_CTX *m = NULL;
	X509_REQ *r = NULL;
	char oe[512];
	int n;

	if (errs == NULL)
		return reply(req, resp, CAPF_IPC_ERROR, "out of memory");
	if (capf_ipc_get_bytes(req, CAPF_IPC_T_CSR, &der, &derlen) != 0 ||
	    (p = der, (r = d2i_X509_REQ(NULL, &p, (long)derlen)) == NULL) || p != der + derlen) {
		reply(req, resp, CAPF_IPC_ERROR, "CSR: not a DER PKCS#10 request");
		goto out;
	}
	if (capf_csr_lint(r, s->pub, errs) != 0) {
		lint_refused(s, "csr", errs, req, resp);
		goto out;
	}
	ERR_clear_error();
	if ((m = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(m, NULL, EVP_MD_get0_name(capf_cert_digest_for(s->pub)), k->libctx, NULL,
				  s->key, NULL) != 1 ||
	    X509_REQ_sign_ctx(r, m) <= 0) {
		ossl_err(oe, sizeof(oe));
		reply(req, resp, CAPF_IPC_RETRY_LATER, "signing the CSR with %s failed: %s", s->uri, oe);
		goto out;
	}
	if (X509_REQ_verify(r, s->pub) != 1 || (n = i2d_X509_REQ(r, &out)) <= 0) {
		ossl_err(oe, sizeof(oe));
		reply(req, resp, CAPF_IPC_ERROR, "the CSR does not verify: %s", oe);
		goto out;
	}
	reply(req, resp, CAPF_IPC_OK, NULL);
	capf_ipc_put_bytes(resp, CAPF_IPC_T_CSR, out, (size_t)n);
out:
	ERR_clear_error();
	OPENSSL_free(out);
	EVP_MD_CTX_free(m);
	X509_REQ_free(r);
	capf_errlist_free(errs);
	return 0;
}

/* An audit checkpoint message: its fixed label and length, nothing else. */
static int sign_checkpoint(struct keyd *k, struct slot *s, const struct capf_ipc_msg *req,
			   struct capf_ipc_builder *resp)
{
	const uint8_t *msg;
	size_t mlen, siglen;
	unsigned char sig[1024];
	char err[512];
	int rc;

	if (capf_ipc_get_bytes(req, CAPF_IPC_T_KEY_DATA, &msg, &mlen) != 0 || mlen != CAPF_AUDIT_CP_MSG_LEN ||
	    memcmp(msg, CAPF_AUDIT_CP_LABEL, sizeof(CAPF_AUDIT_CP_LABEL)) != 0) {
		capf_log(LOG_WARNING, "lint_refused",
			 "slot=%u kind=checkpoint findings=\"not a checkpoint message\"", s->id);
		return reply(req, resp, CAPF_IPC_ERROR,
			     "refused by the key process's lint: KEY_DATA is not "
			     "an audit checkpoint message");
	}
	siglen = sizeof(sig);
	if ((rc = sign_data(k, s, msg, mlen, sig, &siglen, err, sizeof(err))) != 0)
		return reply(req, resp, rc == -1 ? CAPF_IPC_RETRY_LATER : CAPF_IPC_ERROR,
			     "signing with the audit key failed: %s", err);
	reply(req, resp, CAPF_IPC_OK, NULL);
	capf_ipc_put_bytes(resp, CAPF_IPC_T_KEY_SIG, sig, siglen);
	return 0;
}

static int key_sign(struct keyd *k, const struct capf_ipc_msg *req, struct capf_ipc_builder *resp)
{
	uint32_t id = 0;
	uint8_t kind = 0;
	struct slot *s;
	int rc;

	capf_ipc_get_u32(req, CAPF_IPC_T_KEY_SLOT, &id);
	capf_ipc_get_u8(req, CAPF_IPC_T_SIGN_KIND, &kind);
	if ((s = slot_get(id)) == NULL)
		return reply(req, resp, CAPF_IPC_ERROR, "no key in slot %u", id);
	if (kind == CAPF_IPC_SIGN_CHECKPOINT)
		rc = s->cls == CAPF_IPC_KEYCLASS_AUDIT ?
			     sign_checkpoint(k, s, req, resp) :
			     reply(req, resp, CAPF_IPC_ERROR, "only the audit key signs checkpoints");
	else if (s->cls != CAPF_IPC_KEYCLASS_CA)
		rc = reply(req, resp, CAPF_IPC_ERROR, "only a CAPF CA key signs certificates and CSRs");
	else if (kind == CAPF_IPC_SIGN_CSR)
		rc = sign_csr(k, s, req, resp);
	else if (kind >= CAPF_IPC_SIGN_LSC && kind <= CAPF_IPC_SIGN_CA)
		rc = kind == CAPF_IPC_SIGN_LSC ? sign_lsc(k, s, req, resp) : sign_cert(k, s, kind, req, resp);
	else
		rc = reply(req, resp, CAPF_IPC_ERROR, "SIGN_KIND %u: unknown", kind);
	slot_put();
	return rc;
}

static int key_hmac(const struct capf_ipc_msg *req, struct capf_ipc_builder *resp)
{
	uint32_t id = 0;
	const uint8_t *in;
	size_t inlen;
	unsigned char out[32];
	char err[512];
	struct slot *s;
	int rc;

	capf_ipc_get_u32(req, CAPF_IPC_T_KEY_SLOT, &id);
	capf_ipc_get_bytes(req, CAPF_IPC_T_KEY_DATA, &in, &inlen);
	if ((s = slot_get(id)) == NULL)
		return reply(req, resp, CAPF_IPC_ERROR, "no key in slot %u", id);
	if (s->cls != CAPF_IPC_KEYCLASS_HMAC) {
		slot_put();
		return reply(req, resp, CAPF_IPC_ERROR, "slot %u holds no HMAC key", id);
	}
	rc = p11_hmac_sha256(s->secret, in, inlen, out, err, sizeof(err));
	slot_put();
	if (rc != P11_OK)
		return reply(req, resp, CAPF_IPC_RETRY_LATER, "HMAC with the token key failed: %s", err);
	reply(req, resp, CAPF_IPC_OK, NULL);
	capf_ipc_put_bytes(resp, CAPF_IPC_T_KEY_MAC, out, sizeof(out));
	OPENSSL_cleanse(out, sizeof(out));
	return 0;
}

static int key_probe(struct keyd *k, const struct capf_ipc_msg *req, struct capf_ipc_builder *resp)
{
	uint32_t id = 0;
	char err[512];
	struct slot *s;
	int rc;

	capf_ipc_get_u32(req, CAPF_IPC_T_KEY_SLOT, &id);
	if ((s = slot_get(id)) == NULL)
		return reply(req, resp, CAPF_IPC_ERROR, "no key in slot %u", id);
	rc = probe(k, s, err, sizeof(err));
	slot_put();
	if (rc == -1)
		return reply(req, resp, CAPF_IPC_RETRY_LATER, "%s", err);
	if (rc != 0)
		return reply(req, resp, CAPF_IPC_ERROR, "%s", err);
	return reply(req, resp, CAPF_IPC_OK, NULL);
}

int keyd_serve_one(struct keyd *k, const struct capf_ipc_msg *req, struct capf_ipc_builder *resp)
{
	if (req->verb == CAPF_IPC_PING)
		return reply(req, resp, CAPF_IPC_OK, NULL);
	if (k->keygen)
		return keyd_keygen_serve(k, req, resp);
	switch (req->verb) {
	case CAPF_IPC_KEY_LOAD:
		return key_load(k, req, resp);
	case CAPF_IPC_KEY_UNLOAD:
		return key_unload(req, resp);
	case CAPF_IPC_KEY_SIGN:
		return key_sign(k, req, resp);
	case CAPF_IPC_KEY_HMAC:
		return key_hmac(req, resp);
	case CAPF_IPC_KEY_PROBE:
		return key_probe(k, req, resp);
	default:
		return reply(req, resp, CAPF_IPC_ERROR, "%s: not served by the signing key process",
			     capf_ipc_verb_name(req->verb));
	}
}
