/*
 * policy/lsc_build.c: builds the unsigned LSC (the profile: docs/CERTIFICATES.md). The lint
 * (lsc_lint.c) checks the result independently; keep the two apart.
 */
#include <stdio.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "policy/certutil.h"
#include "policy/der.h"
#include "policy/certlint.h"
#include "policy/lsc.h"
#include "policy/names.h"
#include "policy/pubkey.h"

static const struct {
	unsigned bit;
	int nid;
} copy_nids[] = {
	{ CAPF_SUBJ_O, NID_organizationName }, { CAPF_SUBJ_OU, NID_organizationalUnitName },
	{ CAPF_SUBJ_L, NID_localityName },     { CAPF_SUBJ_ST, NID_stateOrProvinceName },
	{ CAPF_SUBJ_C, NID_countryName },
};

const EVP_MD *capf_lsc_digest(const struct capf_conf *c)
{
	switch (c->lsc.digest) {
	case CAPF_DIGEST_SHA384:
		return EVP_sha384();
	case CAPF_DIGEST_SHA512:
		return EVP_sha512();
	case CAPF_DIGEST_SHA256:
	default:
		return EVP_sha256();
	}
}

static int set_subject(X509 *x, const struct capf_conf *c, X509 *ca, const char *name)
{
	const X509_NAME *cas = X509_get_subject_name(ca);
	X509_NAME *n = X509_NAME_new();
	int ok = 0;

	if (n == NULL)
		return 0;
	for (int i = 0; i < X509_NAME_entry_count(cas); i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(cas, i);
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
		for (size_t k = 0; k < sizeof(copy_nids) / sizeof(copy_nids[0]); k++)
			if (copy_nids[k].nid == nid && (c->lsc.copy_subject & copy_nids[k].bit) &&
			    !X509_NAME_add_entry(n, e, -1, 0))
				goto out;
	}
	if (!X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_UTF8STRING, (const unsigned char *)name,
					(int)strlen(name), -1, 0))
		goto out;
	ok = X509_set_subject_name(x, n);
out:
	X509_NAME_free(n);
	return ok;
}

static int add_extensions(X509 *x, X509 *ca, int rsa, const char *name)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	ASN1_OCTET_STRING *ski = ASN1_OCTET_STRING_new();
	AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
	GENERAL_NAMES *san = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *uri = ASN1_IA5STRING_new();
	const ASN1_OCTET_STRING *ca_ski = X509_get0_subject_key_id(ca);
	const unsigned char *pkbits;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	int pklen, ok = 0;

	if (bc == NULL || ku == NULL || eku == NULL || ski == NULL || aki == NULL || san == NULL ||
	    gn == NULL || uri == NULL || ca_ski == NULL)
		goto out;
	/* basicConstraints CA:FALSE, critical */
	bc->ca = 0;
	if (!X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1, X509V3_ADD_APPEND))
		goto out;
	/* keyUsage, critical: bit 0 digitalSignature, bit 2 keyEncipherment (RSA) */
	if (!ASN1_BIT_STRING_set_bit(ku, 0, 1) || (rsa && !ASN1_BIT_STRING_set_bit(ku, 2, 1)) ||
	    !X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_APPEND))
		goto out;
	/* extendedKeyUsage serverAuth, clientAuth, ipsecEndSystem */
	if (!sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)) ||
	    !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)) ||
	    !sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_ipsecEndSystem)) ||
	    !X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_APPEND))
		goto out;
	/* subjectKeyIdentifier: SHA-1 of the subjectPublicKey BIT STRING */
	if (!X509_PUBKEY_get0_param(NULL, &pkbits, &pklen, NULL, X509_get_X509_PUBKEY(x)) ||
	    !EVP_Digest(pkbits, (size_t)pklen, md, &mdlen, EVP_sha1(), NULL) ||
	    !ASN1_OCTET_STRING_set(ski, md, (int)mdlen) ||
	    !X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0, X509V3_ADD_APPEND))
		goto out;
	/* authorityKeyIdentifier: keyid only, the CA's subjectKeyIdentifier */
	if ((aki->keyid = ASN1_OCTET_STRING_dup(ca_ski)) == NULL ||
	    !X509_add1_ext_i2d(x, NID_authority_key_identifier, aki, 0, X509V3_ADD_APPEND))
		goto out;
	/* subjectAltName URI = device name */
	if (!ASN1_STRING_set(uri, name, (int)strlen(name)))
		goto out;
	GENERAL_NAME_set0_value(gn, GEN_URI, uri);
	uri = NULL;
	if (!sk_GENERAL_NAME_push(san, gn))
		goto out;
	gn = NULL;
	ok = X509_add1_ext_i2d(x, NID_subject_alt_name, san, 0, X509V3_ADD_APPEND);
out:
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	sk_ASN1_OBJECT_free(eku); /* the objects are static */
	ASN1_OCTET_STRING_free(ski);
	AUTHORITY_KEYID_free(aki);
	GENERAL_NAMES_free(san);
	GENERAL_NAME_free(gn);
	ASN1_IA5STRING_free(uri);
	return ok;
}

static void fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "%lld", (long long)t);
}

X509 *capf_lsc_build(const struct capf_conf *c, const struct capf_ca *ca, const struct capf_lsc_input *in,
		     const EVP_MD **md, char *err, size_t errlen)
{
	X509 *cacert = capf_ca_cert(ca), *x = NULL;
	struct capf_spki k;
	/* the chain's end, not only the CA's: an LSC is no use once its issuer's issuer expired */
	time_t ca_nb = capf_ca_not_before(ca), ca_na = capf_ca_chain_not_after(ca);
	time_t nb, na, now = in->now;
	const char *what = ca_na < capf_ca_not_after(ca) ? "a certificate above the CAPF CA (its chain)" :
							   "the CAPF CA certificate";
	char e2[256], t1[40], t2[40];

	if (capf_name_check(c, in->device_name, NULL, e2, sizeof(e2)) < 0) {
		snprintf(err, errlen, "%s", e2);
		return NULL;
	}
	if (capf_pubkey_validate(c, in->spki, in->spki_len, NULL, e2, sizeof(e2)) != 0 ||
	    capf_spki_parse(in->spki, in->spki_len, &k, e2, sizeof(e2)) != 0) {
		snprintf(err, errlen, "%s: %s", in->device_name, e2);
		goto fail;
	}
	if (X509_get0_subject_key_id(cacert) == NULL) {
		snprintf(err, errlen, "the CAPF CA certificate has no subjectKeyIdentifier");
		goto fail;
	}
	if (now < ca_nb || now > ca_na) {
		snprintf(err, errlen, "%s: %s is %s; no LSC can be issued", in->device_name,
			 now < ca_nb ? "the CAPF CA certificate" : what,
			 now < ca_nb ? "not yet valid" : "expired");
		goto fail;
	}
	nb = now - (time_t)c->lsc.backdate_seconds;
	if (nb < ca_nb)
		nb = ca_nb;
	na = nb + (time_t)c->lsc.validity_days * 86400;
	if (na > ca_na) {
		if (c->lsc.beyond_ca == CAPF_BEYOND_CA_REFUSE) {
			fmt_time(na, t1, sizeof(t1));
			fmt_time(ca_na, t2, sizeof(t2));
			snprintf(err, errlen,
				 "%s: refused: an LSC valid %u days would end %s, after %s "
				 "expires (%s), and lsc.beyond_ca = refuse; renew the CAPF CA "
				 "certificate, lower lsc.validity_days or set lsc.beyond_ca = truncate",
				 in->device_name, c->lsc.validity_days, t1, what, t2);
			goto fail;
		}
		na = ca_na;
	}
	if ((x = X509_new()) == NULL || !X509_set_version(x, X509_VERSION_3) ||
	    !capf_serial_random(X509_get_serialNumber(x), c->lsc.serial_bits, NULL, NULL) ||
	    !set_subject(x, c, cacert, in->device_name) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(cacert)) || !capf_cert_set_validity(x, nb, na) ||
	    !capf_spki_set(X509_get_X509_PUBKEY(x), &k) ||
	    !add_extensions(x, cacert, k.type == CAPF_KEY_RSA, in->device_name)) {
		snprintf(err, errlen,
			 "%s: cannot build the certificate (out of memory or random generator failure)",
			 in->device_name);
		goto fail;
	}
	if (capf_cert_preset_sigalg(x, X509_get0_pubkey(cacert), capf_lsc_digest(c)) != 0) {
		snprintf(err, errlen, "%s: the CAPF CA key cannot sign with %s", in->device_name,
			 capf_digest_name(c->lsc.digest));
		goto fail;
	}
	if (md != NULL)
		*md = capf_lsc_digest(c);
	return x;
fail:
	X509_free(x);
	return NULL;
}
