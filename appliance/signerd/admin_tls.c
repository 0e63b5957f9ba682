/*
 * appliance/signerd/admin_tls.c: TLS_ISSUE, the front end's TLS certificate
 * (port 3804, the ITL's CAPF record) issued by the CAPF CA. The daemon builds
 * every byte it signs: only the public key (checked, or taken from a CSR whose
 * signature verifies) and the names come from the request. Recorded in the
 * store as an issuance under ADMIN_TLS_DEVICE, before it leaves the daemon.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "appliance/common/log.h"
#include "appliance/common/x509.h"
#include "appliance/signerd/admin.h"
#include "policy/cacert.h"
#include "policy/certlint.h"
#include "policy/chain.h"

#define TLS_DAYS_DEFAULT 825
#define TLS_SAN_MAX 16

static int key_ok(EVP_PKEY *k, char *err, size_t errlen)
{
	char group[64];
	size_t gl;

	if (EVP_PKEY_is_a(k, "RSA")) {
		if (EVP_PKEY_get_bits(k) < 2048 || EVP_PKEY_get_bits(k) > 8192) {
			snprintf(err, errlen,
				 "RSA %d: the TLS key must be RSA 2048..8192 or EC "
				 "P-256/384/521",
				 EVP_PKEY_get_bits(k));
			return -1;
		}
		return 0;
	}
	if (EVP_PKEY_is_a(k, "EC") &&
	    EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group), &gl) == 1 &&
	    (strcmp(group, "prime256v1") == 0 || strcmp(group, "secp384r1") == 0 ||
	     strcmp(group, "secp521r1") == 0))
		return 0;
	snprintf(err, errlen, "the TLS key must be RSA 2048..8192 or EC P-256/384/521");
	return -1;
}

static int dns_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' &&
		    !(s[i] == '*' && i == 0 && s[1] == '.'))
			return 0;
	return 1;
}

static int ip_ok(const char *s)
{
	ASN1_OCTET_STRING *o;

	if (strlen(s) > 45 || strpbrk(s, ", ") != NULL)
		return 0;
	o = a2i_IPADDRESS(s);
	ASN1_OCTET_STRING_free(o);
	ERR_clear_error();
	return o != NULL;
}

/* "DNS:a,IP:b" from the request; "" when none. -1 on a bad name. */
static int san_string(struct admin_req *a, char *out, size_t len, char *err, size_t errlen)
{
	const struct capf_ipc_field *f = NULL;
	char v[256];
	size_t used = 0;
	int n = 0, pass;

	out[0] = '\0';
	for (pass = 0; pass < 2; pass++) {
		uint16_t tag = pass == 0 ? CAPF_IPC_T_SAN_DNS : CAPF_IPC_T_SAN_IP;

		f = NULL;
		while ((f = capf_ipc_find(a->req, tag, f)) != NULL) {
			if (capf_ipc_field_str(f, v, sizeof(v)) != 0 || !(pass == 0 ? dns_ok(v) : ip_ok(v))) {
				snprintf(err, errlen, "subjectAltName: \"%.64s\" is not a valid %s", v,
					 pass == 0 ? "DNS name" : "IP address");
				return -1;
			}
			if (++n > TLS_SAN_MAX) {
				snprintf(err, errlen, "subjectAltName: at most %d names", TLS_SAN_MAX);
				return -1;
			}
			used += (size_t)snprintf(out + used, len - used, "%s%s:%s", used ? "," : "",
						 pass == 0 ? "DNS" : "IP", v);
			if (used >= len) {
				snprintf(err, errlen, "subjectAltName: too long");
				return -1;
			}
		}
	}
	return 0;
}

static int spki_sha256_hex(EVP_PKEY *k, char out[CAPF_STORE_FP_HEX_LEN + 1])
{
	unsigned char *der = NULL, md[32];
	int n = i2d_PUBKEY(k, &der), i;

	if (n <= 0 || EVP_Digest(der, (size_t)n, md, NULL, EVP_sha256(), NULL) != 1) {
		OPENSSL_free(der);
		return -1;
	}
	OPENSSL_free(der);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* Records x (issued by g) under ADMIN_TLS_DEVICE. */
static int record(struct admin_req *a, const struct signerd_ca *g, X509 *x, EVP_PKEY *pub, char *err,
		  size_t errlen)
{
	struct capf_store_device dev;
	struct capf_store_issuance is;
	unsigned char *der = NULL;
	int n, rc;

	/* the bookkeeping row the issuances hang on (not a phone, never listed) */
	memset(&dev, 0, sizeof(dev));
	snprintf(dev.dev.name, sizeof(dev.dev.name), "%s", ADMIN_TLS_DEVICE);
	rc = capf_store_device_put(a->sd->store, &dev, CAPF_STORE_PUT_NEW, NULL, err, errlen);
	if (rc != 0 && rc != CAPF_STORE_EXISTS)
		return rc;
	memset(&is, 0, sizeof(is));
	n = capf_x509_serial_hex(x, is.serial, sizeof(is.serial));
	if (n < 0 || n > CAPF_STORE_SERIAL_HEX_MAX) {
		snprintf(err, errlen, "serial");
		return CAPF_STORE_ERROR;
	}
	snprintf(is.device, sizeof(is.device), "%s", ADMIN_TLS_DEVICE);
	snprintf(is.issuer_fp, sizeof(is.issuer_fp), "%s", g->fp);
	if (spki_sha256_hex(pub, is.spki_sha256) != 0 || (n = i2d_X509(x, &der)) <= 0) {
		OPENSSL_free(der);
		snprintf(err, errlen, "cannot encode the certificate");
		return CAPF_STORE_ERROR;
	}
	is.not_before = capf_x509_not_before(x);
	is.not_after = capf_x509_not_after(x);
	signerd_peer_str(a->peer, is.peer, sizeof(is.peer));
	is.der = der;
	is.der_len = (size_t)n;
	rc = capf_store_issuance_record(a->sd->store, &is, &a->who, err, errlen);
	OPENSSL_free(der);
	return rc;
}

int admin_tls_issue(struct admin_req *a)
{
	struct signerd *sd = a->sd;
	struct signerd_ca *g = NULL;
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	EVP_PKEY *pub = NULL;
	X509 *x = NULL, *cacert;
	const uint8_t *p;
	size_t n;
	char err[1024], subj[1025], san[4096];
	uint32_t days = TLS_DAYS_DEFAULT;
	time_t now = time(NULL);
	int rc = 0, retry = 0, i;
	unsigned char *der = NULL;
	int derlen;

	if (admin_need_confirm(a, "Issuing a new CAPF TLS certificate") != 0)
		return 0;
	if (capf_ipc_get_bytes(a->req, CAPF_IPC_T_PUBLIC_KEY, &p, &n) == 0) {
		const unsigned char *q = p;

		if (capf_ipc_find(a->req, CAPF_IPC_T_CSR, NULL))
			return admin_refuse(a, "give a public key or a CSR, not both");
		pub = d2i_PUBKEY(NULL, &q, (long)n);
		if (pub == NULL || q != p + n) {
			rc = admin_refuse(a, "the public key does not parse (DER SubjectPublicKeyInfo)");
			goto out;
		}
	} else if (capf_ipc_get_bytes(a->req, CAPF_IPC_T_CSR, &p, &n) == 0) {
		const unsigned char *q = p;

		req = d2i_X509_REQ(NULL, &q, (long)n);
		if (req == NULL || q != p + n || (pub = X509_REQ_get_pubkey(req)) == NULL) {
			rc = admin_refuse(a, "the CSR does not parse (DER PKCS#10)");
			goto out;
		}
		if (X509_REQ_verify(req, pub) != 1) {
			rc = admin_refuse(a, "the CSR's signature does not verify with its own key");
			goto out;
		}
	} else {
		return admin_refuse(a, "a public key or a CSR is required");
	}
	ERR_clear_error();
	if (key_ok(pub, err, sizeof(err)) != 0) {
		rc = admin_refuse(a, "%s", err);
		goto out;
	}
	if (capf_ipc_get_str(a->req, CAPF_IPC_T_SUBJECT, subj, sizeof(subj)) == 0) {
		if ((name = capf_subject_parse(subj, err, sizeof(err))) == NULL) {
			rc = admin_refuse(a, "%s", err);
			goto out;
		}
	} else if (req != NULL) {
		name = X509_NAME_dup(X509_REQ_get_subject_name(req));
	}
	if (name == NULL || X509_NAME_get_index_by_NID(name, NID_commonName, -1) < 0) {
		rc = admin_refuse(a, "the TLS certificate needs a subject with a CN (--cn, or in the CSR)");
		goto out;
	}
	if (capf_ipc_get_u32(a->req, CAPF_IPC_T_VALIDITY_DAYS, &days) == 0 &&
	    (days < 1 || days > CAPF_TLSCERT_DAYS_MAX)) {
		rc = admin_refuse(a, "validity: 1..%d days", CAPF_TLSCERT_DAYS_MAX);
		goto out;
	}
	if (san_string(a, san, sizeof(san), err, sizeof(err)) != 0) {
		rc = admin_refuse(a, "%s", err);
		goto out;
	}
	if ((g = signerd_ca_get(sd)) == NULL) {
		rc = admin_error(a, "no active CAPF CA");
		goto out;
	}
	cacert = capf_ca_cert(g->ca);
	/* the profile is policy's; never beyond the issuer and its chain */
	if ((x = capf_tlscert_build(cacert, name, pub, days, capf_ca_chain_not_after(g->ca), san, now, err,
				    sizeof(err))) == NULL) {
		rc = admin_error(a, "building the TLS certificate: %s", err);
		goto out;
	}
	if (capf_cert_preset_sigalg(x, X509_get0_pubkey(cacert),
				    capf_cert_digest_for(X509_get0_pubkey(cacert))) != 0) {
		rc = admin_error(a, "the CAPF CA's key type cannot sign");
		goto out;
	}
	{
		X509 *signed_x = signerd_ca_sign(sd, g, CAPF_IPC_SIGN_TLS, x, &retry, err, sizeof(err));

		if (signed_x == NULL) {
			rc = retry ? admin_retry(a, err) : admin_error(a, "%s", err);
			goto out;
		}
		X509_free(x);
		x = signed_x;
	}
	if (capf_ca_verify(g->ca, x, time(NULL), err, sizeof(err)) != 0) {
		rc = admin_error(a, "the TLS certificate does not verify up to the root: %s", err);
		goto out;
	}
	if ((rc = record(a, g, x, pub, err, sizeof(err))) != 0) {
		rc = admin_store_fail(a, rc, err);
		goto out;
	}
	{
		char fp[SIGNERD_FP_HEX_LEN + 1] = "";

		signerd_cert_fp(x, fp);
		signerd_audit(sd, a->peer, "tls.issue", fp, "subject=%s ca=%s days=%u",
			      capf_x509_subject(x, subj, sizeof(subj)), g->fp, days);
		capf_log(LOG_NOTICE, "tls_issued", "fp=%s ca=%s uid=%u", fp, g->fp, (unsigned)a->peer->uid);
	}
	if ((derlen = i2d_X509(x, &der)) <= 0) {
		rc = admin_error(a, "cannot encode the certificate");
		goto out;
	}
	if ((rc = admin_ok(a)) != 0)
		goto out;
	capf_ipc_put_bytes(a->resp, CAPF_IPC_T_CERT, der, (size_t)derlen);
	OPENSSL_free(der);
	der = NULL;
	/* the chain a TLS server presents: the CAPF CA, then its issuers */
	if ((derlen = i2d_X509(cacert, &der)) > 0)
		capf_ipc_put_bytes(a->resp, CAPF_IPC_T_CHAIN_CERT, der, (size_t)derlen);
	OPENSSL_free(der);
	der = NULL;
	for (i = 0; i < sk_X509_num(capf_ca_chain(g->ca)); i++) {
		X509 *cx = sk_X509_value(capf_ca_chain(g->ca), i);

		if (X509_check_issued(cx, cx) == X509_V_OK)
			break; /* the root stays out of the served chain */
		if ((derlen = i2d_X509(cx, &der)) > 0)
			capf_ipc_put_bytes(a->resp, CAPF_IPC_T_CHAIN_CERT, der, (size_t)derlen);
		OPENSSL_free(der);
		der = NULL;
	}
out:
	OPENSSL_free(der);
	X509_free(x);
	X509_NAME_free(name);
	X509_REQ_free(req);
	EVP_PKEY_free(pub);
	signerd_ca_put(g);
	return rc;
}
