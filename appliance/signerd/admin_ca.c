/*
 * appliance/signerd/admin_ca.c: changing the CAPF CA through the admin socket:
 * CAPF_REGENERATE (a new key inside the token and a new self-signed
 * certificate) and CAPF_IMPORT (a third-party signed certificate for the token
 * key), and CAPF_ADOPT (a key a ceremony made in the token, with its
 * certificate). All refuse without CONFIRM = 1 (capfctl asks the operator after the
 * phone-reset warning; this check does not trust it). The store is the record
 * of which CA is active (capf_certs, key URI and chain included); ca.certificate
 * and its chain are exports for operators (a restart does not read them; a
 * failure to write them is answered as EXPORT_ERROR), the old one kept as .previous-<fp8>
 * (certificates are public: 0644, so that operators and the front end read them).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "appliance/common/file.h"
#include "appliance/common/log.h"
#include "appliance/common/x509.h"
#include "appliance/signerd/admin.h"
#include "policy/cacert.h"
#include "policy/certlint.h"
#include "policy/pubkey.h"
#include "policy/chain.h"

#define CA_DAYS_DEFAULT 3650
#define CA_DAYS_MAX 9125

/* ---- files --------------------------------------------------------------- */

static int pem_of(X509 *x, STACK_OF(X509) * chain, char **out, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int i, ok = b != NULL;

	if (ok && x)
		ok = PEM_write_bio_X509(b, x) == 1;
	for (i = 0; ok && chain && i < sk_X509_num(chain); i++)
		ok = PEM_write_bio_X509(b, sk_X509_value(chain, i)) == 1;
	if (!ok) {
		BIO_free(b);
		return -1;
	}
	n = BIO_get_mem_data(b, &p);
	*out = malloc((size_t)n + 1);
	if (*out == NULL) {
		BIO_free(b);
		return -1;
	}
	memcpy(*out, p, (size_t)n);
	(*out)[n] = '\0';
	*len = (size_t)n;
	BIO_free(b);
	return 0;
}

int admin_ca_files_write(struct signerd *sd, X509 *cert, STACK_OF(X509) * chain, char *err, size_t errlen)
{
	const char *path = sd->conf.ca.certificate;
	unsigned char *old = NULL;
	size_t oldlen = 0, len;
	char *pem = NULL, e[512], keep[CAPF_CONF_STR_MAX + 32], chainpath[CAPF_CONF_STR_MAX + 8];
	int rc = -1;

	if (path[0] == '\0')
		return 0;
	/* keep the outgoing certificate next to it: <path>.previous-<fp8> */
	if (capf_file_read(path, CAPF_CA_PEM_MAX, &old, &oldlen, e, sizeof(e)) == 0) {
		BIO *b = BIO_new_mem_buf(old, (int)oldlen);
		X509 *ox = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
		char fp[SIGNERD_FP_HEX_LEN + 1];

		ERR_clear_error();
		if (ox && signerd_cert_fp(ox, fp) == 0) {
			snprintf(keep, sizeof(keep), "%s.previous-%.8s", path, fp);
			if (capf_file_create(keep, 0644, old, oldlen, e, sizeof(e)) != 0 &&
			    access(keep, F_OK) != 0) {
				snprintf(err, errlen, "cannot keep the outgoing CA certificate: %s", e);
				X509_free(ox);
				BIO_free(b);
				goto out;
			}
		}
		X509_free(ox);
		BIO_free(b);
	}
	if (pem_of(cert, NULL, &pem, &len) != 0) {
		snprintf(err, errlen, "cannot encode the certificate");
		goto out;
	}
	if (capf_file_replace(path, 0644, pem, len, e, sizeof(e)) != 0) {
		snprintf(err, errlen, "%s", e);
		goto out;
	}
	free(pem);
	pem = NULL;
	if (sd->conf.ca.chain[0])
		snprintf(chainpath, sizeof(chainpath), "%s", sd->conf.ca.chain);
	else
		snprintf(chainpath, sizeof(chainpath), "%s.chain", path);
	if (chain && sk_X509_num(chain) > 0) {
		if (pem_of(NULL, chain, &pem, &len) != 0 ||
		    capf_file_replace(chainpath, 0644, pem, len, e, sizeof(e)) != 0) {
			snprintf(err, errlen, "%s: %s", chainpath, e);
			goto out;
		}
	} else if (!sd->conf.ca.chain[0] && unlink(chainpath) != 0 && errno != ENOENT) {
		/* a self-signed CA has no chain: the export of the one before goes */
		snprintf(err, errlen, "%s (the chain of the CA before): cannot remove it: %s", chainpath,
			 strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(pem);
	free(old);
	return rc;
}

/* ---- publishing a new CA --------------------------------------------------- */

/* Records nca as the active CA in the store, with its chain and key URI (a
 * restart needs no file). 0, or a store code (CAPF_STORE_ERROR when encoding
 * failed) with err. Does not take nca. */
static int record_ca(struct admin_req *a, struct signerd_ca *nca, char *err, size_t errlen)
{
	X509 *x = capf_ca_cert(nca->ca);
	struct capf_store_cert sc;
	unsigned char *der = NULL;
	int n, rc;

	memset(&sc, 0, sizeof(sc));
	if ((n = i2d_X509(x, &der)) <= 0) {
		snprintf(err, errlen, "cannot encode the new CAPF CA certificate");
		return CAPF_STORE_ERROR;
	}
	snprintf(sc.fp, sizeof(sc.fp), "%s", nca->fp);
	sc.role = CAPF_CERT_ACTIVE;
	sc.der = der;
	sc.der_len = (size_t)n;
	snprintf(sc.key_uri, sizeof(sc.key_uri), "%s", nca->key_uri);
	sc.not_after = capf_ca_not_after(nca->ca);
	if (signerd_chain_der(capf_ca_chain(nca->ca), &sc.chain, &sc.chain_len) != 0) {
		OPENSSL_free(der);
		snprintf(err, errlen, "cannot encode the new CAPF CA chain");
		return CAPF_STORE_ERROR;
	}
	rc = capf_store_cert_add(a->sd->store, &sc, &a->who, err, errlen);
	if (rc == CAPF_STORE_EXISTS &&
	    (rc = capf_store_cert_set_chain(a->sd->store, nca->fp, sc.chain, sc.chain_len, &a->who, err,
					    errlen)) == 0)
		rc = capf_store_cert_set_role(a->sd->store, nca->fp, CAPF_CERT_ACTIVE, &a->who, err, errlen);
	OPENSSL_free(der);
	free(sc.chain);
	return rc;
}

/* nca is recorded (record_ca): writes the export files, swaps it in, audits;
 * answers with the new CAPF_CERT (and EXPORT_ERROR). Takes nca. */
static int publish_recorded(struct admin_req *a, struct signerd_ca *nca, const char *action, const char *old_fp,
			    long old_lscs)
{
	X509 *x = capf_ca_cert(nca->ca);
	STACK_OF(X509) * chain;
	char key_uri[CAPF_CONF_STR_MAX];
	char ferr[768] = "";

	/* The files are exports: the store is the record. A failure to write
	 * one is an error the operator sees (EXPORT_ERROR), not only a log line. */
	if (admin_ca_files_write(a->sd, x, capf_ca_chain(nca->ca), ferr, sizeof(ferr)) != 0)
		capf_log(LOG_ERR, "ca_export_failed", "path=%s uid=%u why=\"%s\"", a->sd->conf.ca.certificate,
			 (unsigned)geteuid(), ferr);
	signerd_audit(a->sd, a->peer, action, nca->fp, "key_uri=%s previous=%s previous_valid_lscs=%ld",
		      nca->key_uri, old_fp ? old_fp : "none", old_lscs);
	/* what the answer needs, before the daemon takes nca */
	snprintf(key_uri, sizeof(key_uri), "%s", nca->key_uri);
	X509_up_ref(x);
	chain = X509_chain_up_ref(capf_ca_chain(nca->ca));
	signerd_ca_replace(a->sd, nca);
	if (admin_ok(a) == 0) {
		admin_put_cert(a, CAPF_IPC_CERT_ACTIVE, x, 0, key_uri, chain);
		if (ferr[0]) {
			char t[2048];

			snprintf(t, sizeof(t),
				 "the CA is active (recorded in the store, with its chain) but "
				 "its export %s was not written by capf-signerd (uid %u): %s; a restart "
				 "does not need it; export it with `capfctl trust export` or make the "
				 "folder writable by the signer's user",
				 a->sd->conf.ca.certificate, (unsigned)geteuid(), ferr);
			t[1023] = '\0';
			capf_ipc_put_str(a->resp, CAPF_IPC_T_EXPORT_ERROR, t);
		}
	}
	X509_free(x);
	sk_X509_pop_free(chain, X509_free);
	return 0;
}

/* record_ca then publish_recorded. Takes nca. */
static int publish(struct admin_req *a, struct signerd_ca *nca, const char *action, const char *old_fp,
		   long old_lscs)
{
	char err[768];
	int rc;

	if ((rc = record_ca(a, nca, err, sizeof(err))) != 0) {
		signerd_ca_put(nca);
		return admin_store_fail(a, rc, err);
	}
	return publish_recorded(a, nca, action, old_fp, old_lscs);
}

/* ---- CAPF_REGENERATE --------------------------------------------------------- */

int admin_capf_regenerate(struct admin_req *a)
{
	struct signerd *sd = a->sd;
	struct signerd_ca *g = NULL, *nca;
	struct signerd_keygen *kg = NULL;
	struct capf_ca *ca = NULL;
	X509_NAME *name = NULL;
	EVP_PKEY *pub = NULL;
	X509 *x = NULL, *signed_x;
	char err[1024], msg[1400], base[64], label[80] = "", uri[CAPF_CONF_STR_MAX] = "", subj[1025],
					     old_fp[SIGNERD_FP_HEX_LEN + 1];
	uint8_t kt = CAPF_KEY_RSA, curve = CAPF_CURVE_P256;
	uint32_t bits = 2048, days = CA_DAYS_DEFAULT, slot = 0;
	time_t now = time(NULL);
	struct tm tm;
	long old_lscs;
	int retry = 0, rc = 0;

	if (admin_need_confirm(a, "Regenerating the CAPF CA") != 0)
		return 0;
	if ((g = signerd_ca_get(sd)) == NULL)
		return admin_error(a, "no active CAPF CA");
	snprintf(old_fp, sizeof(old_fp), "%s", g->fp);
	old_lscs = admin_valid_lscs(sd, g->fp);
	if (capf_ipc_get_u8(a->req, CAPF_IPC_T_KEY_TYPE, &kt) == 0) {
		if (kt == CAPF_KEY_RSA) {
			if (capf_ipc_get_u32(a->req, CAPF_IPC_T_RSA_BITS, &bits) != 0)
				bits = 2048;
			if (bits != 2048 && bits != 3072 && bits != 4096) {
				rc = admin_refuse(a, "RSA %u: the CAPF CA key is RSA 2048, 3072 or 4096", bits);
				goto out;
			}
		} else if (capf_ipc_get_u8(a->req, CAPF_IPC_T_CURVE, &curve) != 0) {
			curve = CAPF_CURVE_P256;
		}
	} else {
		/* the same kind of key as now */
		EVP_PKEY *cur = X509_get0_pubkey(capf_ca_cert(g->ca));
		struct capf_keyparam kp;

		if (cur != NULL && capf_pubkey_param(cur, &kp) == 0) {
			kt = (uint8_t)kp.type;
			bits = kp.type == CAPF_KEY_RSA ? kp.rsa_bits : 0;
			curve = kp.type == CAPF_KEY_EC ? (uint8_t)kp.curve : CAPF_CURVE_P256;
		}
		ERR_clear_error();
	}
	if (capf_ipc_get_u32(a->req, CAPF_IPC_T_VALIDITY_DAYS, &days) == 0 &&
	    (days < 1 || days > CA_DAYS_MAX)) {
		rc = admin_refuse(a, "validity: 1..%u days", CA_DAYS_MAX);
		goto out;
	}
	if (capf_ipc_get_str(a->req, CAPF_IPC_T_SUBJECT, subj, sizeof(subj)) == 0) {
		if ((name = capf_subject_parse(subj, err, sizeof(err))) == NULL) {
			rc = admin_refuse(a, "%s", err);
			goto out;
		}
	} else if ((name = X509_NAME_dup(X509_get_subject_name(capf_ca_cert(g->ca)))) == NULL) {
		rc = admin_error(a, "out of memory");
		goto out;
	}

	/* the key, inside the token: a one-shot key process generates it */
	if ((kg = signerd_keygen_open(sd, err, sizeof(err))) == NULL) {
		rc = admin_error(a, "key generation: %s", err);
		goto out;
	}
	gmtime_r(&now, &tm);
	strftime(base, sizeof(base), "capf-ca-%Y%m%d%H%M%S", &tm);
	if (signerd_keygen_generate(kg, kt, kt == CAPF_KEY_RSA ? bits : 0, curve, base, uri, sizeof(uri), label,
				    sizeof(label), &pub, &retry, err, sizeof(err)) != 0) {
		rc = retry ? admin_retry(a, err) : admin_error(a, "generating the new CAPF CA key: %s", err);
		goto out;
	}
	/* the new key in a slot of its own, without a certificate yet */
	if (signerd_key_load(sd, CAPF_IPC_KEYCLASS_CA, uri, NULL, NULL, &slot, NULL, &retry, err,
			     sizeof(err)) != 0) {
		snprintf(msg, sizeof(msg), "opening the new key: %s", err);
		goto undo;
	}

	/* the self-signed certificate: policy's CA profile */
	if ((x = capf_cacert_build(NULL, name, pub, days, now, err, sizeof(err))) == NULL) {
		snprintf(msg, sizeof(msg), "building the CAPF CA certificate: %s", err);
		goto undo;
	}
	if (capf_cert_preset_sigalg(x, pub, capf_cert_digest_for(pub)) != 0) {
		snprintf(msg, sizeof(msg), "the new key's type cannot sign a certificate");
		goto undo;
	}
	if ((signed_x = signerd_key_sign_cert(sd, slot, CAPF_IPC_SIGN_CA, x, &retry, err, sizeof(err))) ==
	    NULL) {
		snprintf(msg, sizeof(msg), "%s", err);
		goto undo;
	}
	X509_free(x);
	x = signed_x;
	if (X509_verify(x, pub) != 1) {
		capf_ossl_errors(err, sizeof(err));
		snprintf(msg, sizeof(msg), "the new CAPF CA certificate does not verify: %s", err);
		goto undo;
	}
	if (capf_ca_from_x509(x, NULL, time(NULL), &ca, err, sizeof(err)) != 0) {
		snprintf(msg, sizeof(msg), "the new CAPF CA certificate fails the policy: %s", err);
		goto undo;
	}
	signerd_key_unload(sd, slot);
	slot = 0;
	nca = signerd_ca_new(sd, ca, uri, &retry, err, sizeof(err));
	ca = NULL;
	if (nca == NULL) {
		snprintf(msg, sizeof(msg), "%s", err);
		goto undo;
	}
	/* the store last: failing there, the new key still goes */
	if (record_ca(a, nca, err, sizeof(err)) != 0) {
		signerd_ca_put(nca);
		snprintf(msg, sizeof(msg), "recording the new CAPF CA in the store: %s", err);
		goto undo;
	}
	capf_log(LOG_NOTICE, "ca_regenerated", "fp=%s key_uri=%s previous=%s uid=%u", nca->fp, uri, old_fp,
		 (unsigned)a->peer->uid);
	rc = publish_recorded(a, nca, "capf.regenerate", old_fp, old_lscs);
	goto out;
undo:
	/* a step after the key generation failed: the new key goes, or is named */
	if (slot != 0)
		signerd_key_unload(sd, slot);
	slot = 0;
	if (signerd_keygen_destroy(kg, uri, err, sizeof(err)) == 0) {
		capf_log(LOG_WARNING, "ca_regenerate_failed", "label=%s key=destroyed why=\"%s\"", label, msg);
		rc = admin_error(a, "%s (the new key %s was destroyed; nothing changed)", msg, label);
	} else {
		capf_log(LOG_ERR, "ca_regenerate_failed",
			 "label=%s key=left_in_token uri=%s why=\"%s\" "
			 "destroy=\"%s\"",
			 label, uri, msg, err);
		rc = admin_error(a,
				 "%s; the token refused to destroy the new key %s (%s): it is left "
				 "in the token unused, remove it by hand",
				 msg, uri[0] ? uri : label, err);
	}
out:
	if (slot != 0)
		signerd_key_unload(sd, slot);
	signerd_keygen_close(kg);
	capf_ca_free(ca);
	EVP_PKEY_free(pub);
	X509_free(x);
	X509_NAME_free(name);
	signerd_ca_put(g);
	return rc;
}

/* ---- CAPF_IMPORT -------------------------------------------------------------- */

/* The CERT and CHAIN_CERT* of an import or adoption, and the active CA (which
 * CERT must not be). 0 with *x, *chain, *g, fp filled (the caller frees them),
 * or 1 with the refusal answered and *rc its return value (nothing to free). */
static int req_ca_cert(struct admin_req *a, X509 **x, STACK_OF(X509) * *chain, struct signerd_ca **g,
		       char fp[SIGNERD_FP_HEX_LEN + 1], int *rc)
{
	const struct capf_ipc_field *f = NULL;
	const uint8_t *p;
	size_t n;

	*x = NULL;
	*chain = NULL;
	*g = NULL;
	fp[0] = '\0';
	if (capf_ipc_get_bytes(a->req, CAPF_IPC_T_CERT, &p, &n) != 0 ||
	    (*x = capf_x509_from_der(p, n)) == NULL) {
		*rc = admin_refuse(a, "the certificate does not parse (DER X.509 expected)");
		return 1;
	}
	if ((*chain = sk_X509_new_null()) == NULL) {
		*rc = admin_error(a, "out of memory");
		goto fail;
	}
	while ((f = capf_ipc_find(a->req, CAPF_IPC_T_CHAIN_CERT, f)) != NULL) {
		X509 *cx = capf_x509_from_der(f->val, f->len);

		if (cx == NULL || sk_X509_push(*chain, cx) <= 0) {
			X509_free(cx);
			*rc = admin_refuse(a, "a chain certificate does not parse");
			goto fail;
		}
	}
	if ((*g = signerd_ca_get(a->sd)) == NULL) {
		*rc = admin_error(a, "no active CAPF CA");
		goto fail;
	}
	if (signerd_cert_fp(*x, fp) == 0 && strcasecmp(fp, (*g)->fp) == 0) {
		*rc = admin_refuse(a, "this certificate is the active CAPF CA already");
		goto fail;
	}
	return 0;
fail:
	signerd_ca_put(*g);
	sk_X509_pop_free(*chain, X509_free);
	X509_free(*x);
	*g = NULL;
	*chain = NULL;
	*x = NULL;
	return 1;
}

int admin_capf_import(struct admin_req *a)
{
	struct signerd_ca *g = NULL, *nca;
	STACK_OF(X509) *chain = NULL;
	struct capf_ca *ca = NULL;
	X509 *x = NULL;
	char err[1024], fp[SIGNERD_FP_HEX_LEN + 1], old_fp[SIGNERD_FP_HEX_LEN + 1];
	long old_lscs;
	int retry = 0, rc;

	if (admin_need_confirm(a, "Importing a CAPF CA certificate") != 0)
		return 0;
	if (req_ca_cert(a, &x, &chain, &g, fp, &rc) != 0)
		return rc;
	/* the key first: the clearest refusal for a certificate of another key */
	if (EVP_PKEY_eq(X509_get0_pubkey(x), X509_get0_pubkey(capf_ca_cert(g->ca))) != 1) {
		ERR_clear_error();
		signerd_audit(a->sd, a->peer, "refused", "capf.import", "fp=%s: not the token key", fp);
		rc = admin_refuse(a,
				  "the certificate's public key is not the CAPF CA key in "
				  "the token (%s); import the certificate issued for the CSR from "
				  "`capfctl capf csr`",
				  g->key_uri);
		goto out;
	}
	if (capf_ca_from_x509(x, chain, time(NULL), &ca, err, sizeof(err)) != 0) {
		signerd_audit(a->sd, a->peer, "refused", "capf.import", "fp=%s: %s", fp, err);
		rc = admin_refuse(a, "%s", err);
		goto out;
	}
	nca = signerd_ca_new(a->sd, ca, g->key_uri, &retry, err, sizeof(err));
	ca = NULL;
	if (nca == NULL) {
		rc = retry ? admin_retry(a, err) : admin_refuse(a, "%s", err);
		goto out;
	}
	snprintf(old_fp, sizeof(old_fp), "%s", g->fp);
	old_lscs = admin_valid_lscs(a->sd, g->fp);
	capf_log(LOG_NOTICE, "ca_imported", "fp=%s key_uri=%s previous=%s chain=%d uid=%u", nca->fp,
		 nca->key_uri, old_fp, sk_X509_num(chain), (unsigned)a->peer->uid);
	rc = publish(a, nca, "capf.import", old_fp, old_lscs);
out:
	capf_ca_free(ca);
	sk_X509_pop_free(chain, X509_free);
	X509_free(x);
	signerd_ca_put(g);
	return rc;
}

/* ---- CAPF_ADOPT --------------------------------------------------------------- */

/*
 * A key made outside the daemon (a ceremony in the production token) with its
 * certificate (self-signed, or a third party's for the ceremony's CSR, with
 * the chain): KEY_URI names the key, CERT its certificate. The key must open
 * through capfhsm and match the certificate; the certificate must pass the
 * CAPF CA checks with its chain. It becomes active, the old CA previous.
 */
int admin_capf_adopt(struct admin_req *a)
{
	struct signerd_ca *g = NULL, *nca;
	STACK_OF(X509) *chain = NULL;
	struct capf_ca *ca = NULL;
	X509 *x = NULL;
	char err[1024], uri[CAPF_CONF_STR_MAX], fp[SIGNERD_FP_HEX_LEN + 1] = "", old_fp[SIGNERD_FP_HEX_LEN + 1];
	long old_lscs;
	int retry = 0, rc;

	if (admin_need_confirm(a, "Adopting a CAPF CA key and certificate") != 0)
		return 0;
	if (capf_ipc_get_str(a->req, CAPF_IPC_T_KEY_URI, uri, sizeof(uri)) != 0 ||
	    strncmp(uri, "pkcs11:", 7) != 0)
		return admin_refuse(a, "KEY_URI: a pkcs11: URI of the new CAPF CA key is needed");
	/* the token, the key: yes; a module to load or a PIN file to read: only
	 * capf.conf's (the key process refuses them too, and parses the URI) */
	if (strcasestr(uri, "pin-") != NULL || strcasestr(uri, "module-") != NULL)
		return admin_refuse(a, "KEY_URI: no PIN, pin-source or module in the URI (the daemon "
				       "uses token.module and token.pin_source)");
	if (req_ca_cert(a, &x, &chain, &g, fp, &rc) != 0)
		return rc;
	if (capf_ca_from_x509(x, chain, time(NULL), &ca, err, sizeof(err)) != 0) {
		signerd_audit(a->sd, a->peer, "refused", "capf.adopt", "fp=%s: %s", fp, err);
		rc = admin_refuse(a, "%s", err);
		goto out;
	}
	/* the key process opens the key, checks it matches the certificate and that
	 * it signs (a fresh signature, verified) */
	nca = signerd_ca_new(a->sd, ca, uri, &retry, err, sizeof(err));
	ca = NULL;
	if (nca == NULL) {
		signerd_audit(a->sd, a->peer, "refused", "capf.adopt", "fp=%s key_uri=%s: %s", fp, uri, err);
		rc = retry ? admin_retry(a, err) : admin_refuse(a, "the key %s: %s", uri, err);
		goto out;
	}
	snprintf(old_fp, sizeof(old_fp), "%s", g->fp);
	old_lscs = admin_valid_lscs(a->sd, g->fp);
	capf_log(LOG_NOTICE, "ca_adopted", "fp=%s key_uri=%s previous=%s chain=%d uid=%u", nca->fp,
		 nca->key_uri, old_fp, sk_X509_num(chain), (unsigned)a->peer->uid);
	rc = publish(a, nca, "capf.adopt", old_fp, old_lscs);
out:
	capf_ca_free(ca);
	sk_X509_pop_free(chain, X509_free);
	X509_free(x);
	signerd_ca_put(g);
	return rc;
}
