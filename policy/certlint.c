/*
 * policy/certlint.c: the lints of policy/certlint.h. Each looks at the
 * certificate as encoded (it is parsed back from its DER first), never at how
 * the caller built it.
 */
#include <string.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "policy/cacert.h"
#include "policy/certlint.h"
#include "policy/der.h"
#include "policy/device.h"
#include "policy/lsc.h"

#define ERR(...) capf_errlist_add(errs, __VA_ARGS__)

static int time_of(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* cert re-parsed from its own encoding (NULL when it does not parse back). */
static X509 *reparse(X509 *cert)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	X509 *y = NULL;
	int len = i2d_X509(cert, &der);

	if (len > 0) {
		p = der;
		y = d2i_X509(NULL, &p, len);
		if (y != NULL && p != der + len) {
			X509_free(y);
			y = NULL;
		}
	}
	OPENSSL_free(der);
	ERR_clear_error();
	return y;
}

static void lint_serial(X509 *y, struct capf_errlist *errs)
{
	const ASN1_INTEGER *s = X509_get0_serialNumber(y);
	BIGNUM *bn = s != NULL ? ASN1_INTEGER_to_BN(s, NULL) : NULL;

	if (bn == NULL)
		ERR("serial: unreadable");
	else if (BN_is_negative(bn) || BN_is_zero(bn))
		ERR("serial: not positive");
	else if (BN_num_bytes(bn) > 20)
		ERR("serial: longer than 20 octets");
	BN_free(bn);
}

static int same_name(const X509_NAME *a, const X509_NAME *b)
{
	return a != NULL && b != NULL && X509_NAME_cmp(a, b) == 0;
}

static int key_equal(EVP_PKEY *a, EVP_PKEY *b)
{
	unsigned char *da = NULL, *db = NULL;
	int la, lb, eq;

	if (a == NULL || b == NULL)
		return 0;
	la = i2d_PUBKEY(a, &da);
	lb = i2d_PUBKEY(b, &db);
	eq = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;
	OPENSSL_free(da);
	OPENSSL_free(db);
	ERR_clear_error();
	return eq;
}

/* notBefore/notAfter readable, ordered, notBefore near now. */
static int lint_times(X509 *y, time_t now, time_t *nb, time_t *na, struct capf_errlist *errs)
{
	if (time_of(X509_get0_notBefore(y), nb) != 0 || time_of(X509_get0_notAfter(y), na) != 0) {
		ERR("validity: unreadable");
		return -1;
	}
	if (*na <= *nb)
		ERR("validity: notAfter is not after notBefore");
	if (*nb > now + CAPF_LINT_CLOCK_SLACK || *nb < now - 86400)
		ERR("validity: notBefore is %lld s from now (the signer's clock is %d s away at most)",
		    (long long)(*nb - now), CAPF_LINT_CLOCK_SLACK);
	return 0;
}

/* The LSC lint of der (cert: der parsed by capf_der_x509), its inputs read back
 * from cert. */
static int lsc_issued(const struct capf_conf *c, const struct capf_ca *ca, X509 *cert, const unsigned char *der,
		      size_t len, time_t now, struct capf_errlist *errs)
{
	struct capf_lsc_input in;
	unsigned char *spki = NULL;
	char name[CAPF_DEVICE_NAME_MAX + 1] = "";
	X509_NAME *subj;
	time_t nb;
	int i, n, r;

	if (cert == NULL || ca == NULL) {
		ERR("lint: nothing to check");
		return -1;
	}
	/* the device: the last CN of the subject */
	subj = X509_get_subject_name(cert);
	i = -1;
	for (int j; (j = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0;)
		i = j;
	if (i < 0 ||
	    ASN1_STRING_length(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i))) > CAPF_DEVICE_NAME_MAX) {
		ERR("subject: no device name (CN) of at most %d characters", CAPF_DEVICE_NAME_MAX);
		return -1;
	}
	{
		const ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));

		memcpy(name, ASN1_STRING_get0_data(cn), (size_t)ASN1_STRING_length(cn));
		name[ASN1_STRING_length(cn)] = '\0';
		if (strlen(name) != (size_t)ASN1_STRING_length(cn)) {
			ERR("subject: NUL inside the device name");
			return -1;
		}
	}
	if ((n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &spki)) <= 0) {
		ERR("public key: unreadable");
		return -1;
	}
	/* the time the builder used: notBefore + lsc.backdate_seconds, unless the
	 * CA's notBefore clamped it; either way within the slack of our clock */
	memset(&in, 0, sizeof(in));
	in.device_name = name;
	in.spki = spki;
	in.spki_len = (size_t)n;
	in.now = now;
	if (time_of(X509_get0_notBefore(cert), &nb) == 0 && nb > capf_ca_not_before(ca)) {
		time_t t = nb + (time_t)c->lsc.backdate_seconds;

		if (t >= now - CAPF_LINT_CLOCK_SLACK && t <= now + CAPF_LINT_CLOCK_SLACK)
			in.now = t;
	}
	r = capf_lsc_lint_parsed(c, ca, &in, der, len, cert, errs);
	OPENSSL_free(spki);
	return r;
}

int capf_lsc_lint_issued_der(const struct capf_conf *c, const struct capf_ca *ca, const unsigned char *der,
			     size_t len, time_t now, struct capf_errlist *errs)
{
	X509 *x = capf_der_x509(der, len);
	int r;

	if (x == NULL) {
		ERR("lint: not a DER certificate");
		return -1;
	}
	r = lsc_issued(c, ca, x, der, len, now, errs);
	X509_free(x);
	return r;
}

int capf_lsc_lint_issued(const struct capf_conf *c, const struct capf_ca *ca, X509 *cert, time_t now,
			 struct capf_errlist *errs)
{
	unsigned char *der = NULL;
	int n, r;

	if (cert == NULL || (n = i2d_X509(cert, &der)) <= 0) {
		ERR("lint: nothing to check");
		return -1;
	}
	/* its encoding, parsed back: the lint reads bytes, not the object */
	r = capf_lsc_lint_issued_der(c, ca, der, (size_t)n, now, errs);
	OPENSSL_free(der);
	return r;
}

/* What the TLS and CA lints check first: cert (NULL: an argument is missing) parsed
 * back from its encoding, version 3, its serial, a subject. The parsed copy, or
 * NULL when there is nothing to lint. */
static X509 *lint_open(X509 *cert, struct capf_errlist *errs)
{
	X509 *y;

	if (cert == NULL) {
		ERR("lint: nothing to check");
		return NULL;
	}
	if ((y = reparse(cert)) == NULL) {
		ERR("lint: the encoding does not parse back");
		return NULL;
	}
	if (X509_get_version(y) != X509_VERSION_3)
		ERR("version: not 3");
	lint_serial(y, errs);
	if (X509_NAME_entry_count(X509_get_subject_name(y)) == 0)
		ERR("subject: empty");
	return y;
}

static int tls_lint_run(const struct capf_ca *ca, X509 *cert, time_t now, struct capf_errlist *errs)
{
	size_t before = capf_errlist_total(errs);
	X509 *y, *cacert = ca != NULL ? capf_ca_cert(ca) : NULL;
	const ASN1_OCTET_STRING *aki, *ski;
	time_t nb, na;
	uint32_t ex;

	if ((y = lint_open(cacert != NULL ? cert : NULL, errs)) == NULL)
		return -1;
	if (!same_name(X509_get_issuer_name(y), X509_get_subject_name(cacert)))
		ERR("issuer: not the CAPF CA certificate's subject");
	if (lint_times(y, now, &nb, &na, errs) == 0 && na > capf_ca_chain_not_after(ca))
		ERR("validity: notAfter is after the CAPF CA's notAfter (or its chain's)");
	ex = X509_get_extension_flags(y);
	if (!(ex & EXFLAG_BCONS) || (ex & EXFLAG_CA))
		ERR("basicConstraints: must be present with CA:FALSE");
	if (!(ex & EXFLAG_KUSAGE) || (X509_get_key_usage(y) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)))
		ERR("keyUsage: must be present, without keyCertSign or cRLSign");
	if (!(ex & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(y) & XKU_SSL_SERVER) ||
	    (X509_get_extended_key_usage(y) & XKU_ANYEKU))
		ERR("extendedKeyUsage: must name serverAuth and not anyExtendedKeyUsage");
	aki = X509_get0_authority_key_id(y);
	ski = X509_get0_subject_key_id(cacert);
	if (aki == NULL || ski == NULL || ASN1_OCTET_STRING_cmp(aki, ski) != 0)
		ERR("authorityKeyIdentifier: not the CAPF CA's subjectKeyIdentifier");
	if (X509_get_pathlen(y) >= 0 || X509_get_ext_by_NID(y, NID_name_constraints, -1) >= 0)
		ERR("extensions: pathLenConstraint or nameConstraints in an end-entity certificate");
	X509_free(y);
	return capf_errlist_total(errs) != before ? -1 : 0;
}

int capf_tls_lint(const struct capf_ca *ca, X509 *cert, time_t now, struct capf_errlist *errs)
{
	struct capf_errlist *own, *e = capf_errlist_use(errs, &own);
	int r = e != NULL ? tls_lint_run(ca, cert, now, e) : -1;

	capf_errlist_free(own);
	return r;
}

static int cacert_lint_run(X509 *cert, EVP_PKEY *key, time_t now, struct capf_errlist *errs)
{
	size_t before = capf_errlist_total(errs);
	time_t nb, na;
	uint32_t ex;
	X509 *y;

	if ((y = lint_open(key != NULL ? cert : NULL, errs)) == NULL)
		return -1;
	if (!same_name(X509_get_issuer_name(y), X509_get_subject_name(y)))
		ERR("issuer: a CAPF CA certificate the key signs itself names itself as issuer");
	if (!key_equal(X509_get0_pubkey(y), key))
		ERR("public key: not the key that signs it");
	if (lint_times(y, now, &nb, &na, errs) == 0 && na - nb > (time_t)CAPF_CACERT_DAYS_MAX * 86400)
		ERR("validity: longer than %d days", CAPF_CACERT_DAYS_MAX);
	ex = X509_get_extension_flags(y);
	if (!(ex & EXFLAG_BCONS) || !(ex & EXFLAG_CA))
		ERR("basicConstraints: must be present with CA:TRUE");
	if (!(ex & EXFLAG_KUSAGE) || !(X509_get_key_usage(y) & KU_KEY_CERT_SIGN))
		ERR("keyUsage: must be present with keyCertSign");
	X509_free(y);
	return capf_errlist_total(errs) != before ? -1 : 0;
}

int capf_cacert_lint(X509 *cert, EVP_PKEY *key, time_t now, struct capf_errlist *errs)
{
	struct capf_errlist *own, *e = capf_errlist_use(errs, &own);
	int r = e != NULL ? cacert_lint_run(cert, key, now, e) : -1;

	capf_errlist_free(own);
	return r;
}

static int csr_lint_run(X509_REQ *req, EVP_PKEY *key, struct capf_errlist *errs)
{
	size_t before = capf_errlist_total(errs);
	EVP_PKEY *pk;

	if (req == NULL || key == NULL) {
		ERR("lint: nothing to check");
		return -1;
	}
	pk = X509_REQ_get0_pubkey(req);
	if (!key_equal(pk, key))
		ERR("public key: not the key that signs the request");
	if (X509_NAME_entry_count(X509_REQ_get_subject_name(req)) == 0)
		ERR("subject: empty");
	ERR_clear_error();
	return capf_errlist_total(errs) != before ? -1 : 0;
}

int capf_csr_lint(X509_REQ *req, EVP_PKEY *key, struct capf_errlist *errs)
{
	struct capf_errlist *own, *e = capf_errlist_use(errs, &own);
	int r = e != NULL ? csr_lint_run(req, key, e) : -1;

	capf_errlist_free(own);
	return r;
}

/* The signature algorithm's OID and parameter type for signer's key with md. */
static int sigalg_of(EVP_PKEY *signer, const EVP_MD *md, int *signid, int *ptype)
{
	int pknid = signer != NULL ? EVP_PKEY_get_base_id(signer) : NID_undef;

	*ptype = pknid == EVP_PKEY_RSA ? V_ASN1_NULL : V_ASN1_UNDEF;
	if ((pknid != EVP_PKEY_RSA && pknid != EVP_PKEY_EC) ||
	    !OBJ_find_sigid_by_algs(signid, EVP_MD_get_type(md), pknid))
		return -1;
	return 0;
}

int capf_req_preset_sigalg(X509_REQ *r, EVP_PKEY *signer, const EVP_MD *md)
{
	const X509_ALGOR *alg = NULL;
	int signid, ptype;

	if (sigalg_of(signer, md, &signid, &ptype) != 0)
		return -1;
	X509_REQ_get0_signature(r, NULL, &alg);
	return X509_ALGOR_set0((X509_ALGOR *)alg, OBJ_nid2obj(signid), ptype, NULL) ? 0 : -1;
}

int capf_cert_preset_sigalg(X509 *x, EVP_PKEY *signer, const EVP_MD *md)
{
	const X509_ALGOR *outer = NULL;
	int signid, ptype;

	if (sigalg_of(signer, md, &signid, &ptype) != 0)
		return -1;
	X509_get0_signature(NULL, &outer, x);
	/* X509_sign overwrites these same two fields; nothing else is touched */
	if (!X509_ALGOR_set0((X509_ALGOR *)X509_get0_tbs_sigalg(x), OBJ_nid2obj(signid), ptype, NULL) ||
	    !X509_ALGOR_set0((X509_ALGOR *)outer, OBJ_nid2obj(signid), ptype, NULL))
		return -1;
	return 0;
}

const EVP_MD *capf_cert_digest_for(EVP_PKEY *signer)
{
	int bits = EVP_PKEY_get_bits(signer);

	if (EVP_PKEY_is_a(signer, "EC")) {
		if (bits > 384)
			return EVP_sha512();
		if (bits > 256)
			return EVP_sha384();
	}
	return EVP_sha256();
}
