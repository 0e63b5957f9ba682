/*
 * policy/lsc_lint.c: the second, independent check of an LSC before (and after) it is
 * signed. It encodes the certificate, parses the bytes back into a fresh object
 * (policy/der.h: without building key objects) and compares every field with what
 * the policy says it must be. It shares no code with the builder (lsc_build.c) nor
 * with the key decoder (pubkey.c, der.h's SubjectPublicKeyInfo parser): the key is
 * compared byte for byte with what the phone sent and read with OpenSSL's ASN.1.
 */
#include <stdio.h>
#include <limits.h>
#include <string.h>
#include <time.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "policy/certutil.h"
#include "policy/der.h"
#include "policy/lsc.h"

#define ERR(...) capf_errlist_add(errs, __VA_ARGS__)

static const struct {
	unsigned bit;
	int nid;
} subj_nids[] = {
	{ CAPF_SUBJ_O, NID_organizationName }, { CAPF_SUBJ_OU, NID_organizationalUnitName },
	{ CAPF_SUBJ_L, NID_localityName },     { CAPF_SUBJ_ST, NID_stateOrProvinceName },
	{ CAPF_SUBJ_C, NID_countryName },
};

static int der_equal_names(const X509_NAME *a, const X509_NAME *b)
{
	unsigned char *da = NULL, *db = NULL;
	int la = i2d_X509_NAME(a, &da), lb = i2d_X509_NAME(b, &db);
	int eq = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;

	OPENSSL_free(da);
	OPENSSL_free(db);
	return eq;
}

static int copied(const struct capf_conf *c, int nid)
{
	for (size_t i = 0; i < sizeof(subj_nids) / sizeof(subj_nids[0]); i++)
		if (subj_nids[i].nid == nid)
			return (c->lsc.copy_subject & subj_nids[i].bit) != 0;
	return 0;
}

static void lint_serial(const struct capf_conf *c, X509 *y, struct capf_errlist *errs)
{
	const ASN1_INTEGER *s = X509_get0_serialNumber(y);
	BIGNUM *bn;
	int bits;

	if (ASN1_STRING_type(s) != V_ASN1_INTEGER) {
		ERR("serial: negative (must be positive)");
		return;
	}
	if (ASN1_STRING_length(s) > 20)
		ERR("serial: %d octets (RFC 5280 allows at most 20)", ASN1_STRING_length(s));
	if ((bn = ASN1_INTEGER_to_BN(s, NULL)) == NULL) {
		ERR("serial: unreadable");
		return;
	}
	bits = BN_num_bits(bn);
	if (BN_is_zero(bn))
		ERR("serial: zero (must be positive)");
	else if (bits > (int)c->lsc.serial_bits || bits <= (int)c->lsc.serial_bits - 32)
		ERR("serial: %d bits long, expected %u CSPRNG bits (lsc.serial_bits; more than %u)", bits,
		    c->lsc.serial_bits, c->lsc.serial_bits - 32);
	BN_free(bn);
}

static void lint_subject(const struct capf_conf *c, X509 *ca, X509 *y, const char *name,
			 struct capf_errlist *errs)
{
	const X509_NAME *cas = X509_get_subject_name(ca), *sub = X509_get_subject_name(y);
	int n = X509_NAME_entry_count(sub), k = 0, cn = 0;

	/* the copied CA attributes, in the CA's order */
	for (int i = 0; i < X509_NAME_entry_count(cas); i++) {
		const X509_NAME_ENTRY *ce = X509_NAME_get_entry(cas, i), *le;
		int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(ce));

		if (!copied(c, nid))
			continue;
		if (k >= n) {
			ERR("subject: %s of the CAPF CA is missing (lsc.copy_subject)", OBJ_nid2sn(nid));
			k++;
			continue;
		}
		le = X509_NAME_get_entry(sub, k++);
		if (OBJ_cmp(X509_NAME_ENTRY_get_object(le), X509_NAME_ENTRY_get_object(ce)) != 0 ||
		    ASN1_STRING_cmp(X509_NAME_ENTRY_get_data(le), X509_NAME_ENTRY_get_data(ce)) != 0)
			ERR("subject: attribute %d is not the CAPF CA's %s", k, OBJ_nid2sn(nid));
	}
	for (int i = 0; i < n; i++)
		if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(sub, i))) == NID_commonName)
			cn++;
	if (cn != 1)
		ERR("subject: %d common names (expected exactly one, the device name)", cn);
	if (n != k + 1) {
		ERR("subject: %d attributes, expected %d (the copied CA attributes and CN)", n, k + 1);
		return;
	}
	const X509_NAME_ENTRY *last = X509_NAME_get_entry(sub, n - 1);
	const ASN1_STRING *v = X509_NAME_ENTRY_get_data(last);
	if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(last)) != NID_commonName ||
	    ASN1_STRING_type(v) != V_ASN1_UTF8STRING || (size_t)ASN1_STRING_length(v) != strlen(name) ||
	    memcmp(ASN1_STRING_get0_data(v), name, strlen(name)) != 0)
		ERR("subject: the last attribute is not CN = %s (UTF8String)", name);
}

static void lint_time_type(const ASN1_TIME *t, time_t v, const char *what, struct capf_errlist *errs)
{
	struct tm tm;
	int want;

	if (gmtime_r(&v, &tm) == NULL)
		return;
	want = tm.tm_year + 1900 < 2050 ? V_ASN1_UTCTIME : V_ASN1_GENERALIZEDTIME;
	if (ASN1_STRING_type(t) != want)
		ERR("%s: encoded as %s, RFC 5280 wants %s", what,
		    ASN1_STRING_type(t) == V_ASN1_UTCTIME ? "UTCTime" : "GeneralizedTime",
		    want == V_ASN1_UTCTIME ? "UTCTime" : "GeneralizedTime");
}

static void lint_validity(const struct capf_conf *c, const struct capf_ca *ca, X509 *y, time_t now,
			  struct capf_errlist *errs)
{
	time_t nb, na, ca_nb, ca_na, want_nb, full;

	if (capf_asn1_to_time(X509_get0_notBefore(y), &nb) < 0 ||
	    capf_asn1_to_time(X509_get0_notAfter(y), &na) < 0 ||
	    capf_asn1_to_time(X509_get0_notBefore(capf_ca_cert(ca)), &ca_nb) < 0 ||
	    capf_asn1_to_time(X509_get0_notAfter(capf_ca_cert(ca)), &ca_na) < 0) {
		ERR("validity: unreadable");
		return;
	}
	/* the end of the chain counts: read from the certificates above the CA here */
	for (int i = 0; i < sk_X509_num(capf_ca_chain(ca)); i++) {
		time_t t;

		if (capf_asn1_to_time(X509_get0_notAfter(sk_X509_value(capf_ca_chain(ca), i)), &t) < 0) {
			ERR("validity: unreadable");
			return;
		}
		if (t < ca_na)
			ca_na = t;
	}
	lint_time_type(X509_get0_notBefore(y), nb, "notBefore", errs);
	lint_time_type(X509_get0_notAfter(y), na, "notAfter", errs);
	want_nb = now - (time_t)c->lsc.backdate_seconds > ca_nb ? now - (time_t)c->lsc.backdate_seconds : ca_nb;
	if (nb != want_nb)
		ERR("validity: notBefore is %lld s from now, expected %lld (lsc.backdate_seconds = %u)",
		    (long long)(nb - now), (long long)(want_nb - now), c->lsc.backdate_seconds);
	if (nb < ca_nb)
		ERR("validity: notBefore precedes the CAPF CA's notBefore");
	if (na > ca_na)
		ERR("validity: notAfter is after the CAPF CA's notAfter (or its chain's)");
	if (na <= now || na <= nb)
		ERR("validity: notAfter is not in the future");
	full = nb + (time_t)c->lsc.validity_days * 86400;
	if (na > full)
		ERR("validity: longer than lsc.validity_days = %u", c->lsc.validity_days);
	else if (na < full && !(c->lsc.beyond_ca == CAPF_BEYOND_CA_TRUNCATE && na == ca_na))
		ERR("validity: notAfter is %lld s before notBefore + lsc.validity_days, and not the CAPF CA's "
		    "(or its chain's) notAfter (lsc.beyond_ca = %s)",
		    (long long)(full - na), capf_beyond_ca_name(c->lsc.beyond_ca));
}

/* The key type of y's SubjectPublicKeyInfo (NID_rsaEncryption, ...), NID_undef. */
static int key_nid(X509 *y)
{
	const ASN1_OBJECT *alg = NULL;

	if (!X509_PUBKEY_get0_param((ASN1_OBJECT **)&alg, NULL, NULL, NULL, X509_get_X509_PUBKEY(y)))
		return NID_undef;
	return OBJ_obj2nid(alg);
}

static void lint_rsa(const struct capf_conf *c, const unsigned char *kb, int kblen, struct capf_errlist *errs)
{
	const unsigned char *p = kb;
	STACK_OF(ASN1_TYPE) *seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, kblen);
	ASN1_TYPE *tn = sk_ASN1_TYPE_value(seq, 0), *te = sk_ASN1_TYPE_value(seq, 1);
	BIGNUM *n = NULL, *e = NULL;

	if (seq == NULL || p != kb + kblen || sk_ASN1_TYPE_num(seq) != 2 || tn->type != V_ASN1_INTEGER ||
	    te->type != V_ASN1_INTEGER || (n = ASN1_INTEGER_to_BN(tn->value.integer, NULL)) == NULL ||
	    (e = ASN1_INTEGER_to_BN(te->value.integer, NULL)) == NULL) {
		ERR("public key: RSA parameters unreadable");
		goto out;
	}
	int bits = BN_num_bits(n), allowed = 0;
	for (size_t i = 0; i < c->keys.n_rsa_bits; i++)
		allowed |= c->keys.rsa_bits[i] == (unsigned)bits;
	if (!allowed)
		ERR("public key: RSA modulus of %d bits is not allowed (keys.rsa_bits)", bits);
	if (!BN_is_odd(n) || bits < 512)
		ERR("public key: RSA modulus is even or tiny");
	/* odd and at least 3 bits long: e >= 5 */
	if (!BN_is_odd(e) || BN_num_bits(e) > 256 || BN_num_bits(e) < 3)
		ERR("public key: RSA exponent not allowed (odd, 3 < e < 2^256)");
out:
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	BN_free(n);
	BN_free(e);
}

static void lint_ec(const struct capf_conf *c, const X509_ALGOR *alg, const unsigned char *kb, int kblen,
		    struct capf_errlist *errs)
{
	const void *pval = NULL;
	int ptype = V_ASN1_UNDEF, nid;
	const char *grp;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pk = NULL;
	OSSL_PARAM params[3];

	X509_ALGOR_get0(NULL, &ptype, &pval, alg);
	if (ptype != V_ASN1_OBJECT || (nid = OBJ_obj2nid(pval)) == NID_undef) {
		ERR("public key: EC curve unreadable (explicit parameters?)");
		return;
	}
	grp = OBJ_nid2sn(nid);
	if (!((nid == NID_X9_62_prime256v1 && (c->keys.ec_curves & (1u << CAPF_CURVE_P256))) ||
	      (nid == NID_secp384r1 && (c->keys.ec_curves & (1u << CAPF_CURVE_P384))) ||
	      (nid == NID_secp521r1 && (c->keys.ec_curves & (1u << CAPF_CURVE_P521)))))
		ERR("public key: EC curve %s is not allowed (keys.ec_curves)", grp);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)grp, 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)kb, (size_t)kblen);
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		ERR("public key: EC point is not valid on %s", grp);
		goto out;
	}
	EVP_PKEY_CTX_free(ctx);
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL || EVP_PKEY_public_check_quick(ctx) != 1)
		ERR("public key: EC point is not valid on %s", grp);
out:
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
}

/*
 * The key: the very bytes the phone sent, then checked on its own terms (not
 * through pubkey.c): read with OpenSSL's generic ASN.1 parser, no key decoder.
 */
static void lint_key(const struct capf_conf *c, X509 *y, const struct capf_lsc_input *in,
		     struct capf_errlist *errs)
{
	X509_PUBKEY *pub = X509_get_X509_PUBKEY(y);
	const unsigned char *kb = NULL;
	unsigned char *spki = NULL;
	X509_ALGOR *alg = NULL;
	int kblen = 0, len = i2d_X509_PUBKEY(pub, &spki);

	if (len <= 0 || !X509_PUBKEY_get0_param(NULL, &kb, &kblen, &alg, pub)) {
		ERR("public key: unreadable");
		OPENSSL_free(spki);
		return;
	}
	if (in->spki == NULL || (size_t)len != in->spki_len || memcmp(spki, in->spki, in->spki_len) != 0)
		ERR("public key: not the key the phone sent");
	OPENSSL_free(spki);
	switch (key_nid(y)) {
	case NID_rsaEncryption:
		lint_rsa(c, kb, kblen, errs);
		break;
	case NID_X9_62_id_ecPublicKey:
		lint_ec(c, alg, kb, kblen, errs);
		break;
	default:
		ERR("public key: neither rsaEncryption nor id-ecPublicKey");
	}
}

static void lint_extensions(X509 *ca, X509 *y, const char *name, struct capf_errlist *errs)
{
	static const struct {
		int nid;
		int critical;
	} want[] = {
		{ NID_basic_constraints, 1 },
		{ NID_key_usage, 1 },
		{ NID_ext_key_usage, 0 },
		{ NID_subject_key_identifier, 0 },
		{ NID_authority_key_identifier, 0 },
		{ NID_subject_alt_name, 0 },
	};
	int seen[6] = { 0 };
	int n = X509_get_ext_count(y), rsa = key_nid(y) == NID_rsaEncryption;

	for (int i = 0; i < n; i++) {
		X509_EXTENSION *ex = X509_get_ext(y, i);
		int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ex)), k;
		char oid[80];

		for (k = 0; k < 6; k++)
			if (want[k].nid == nid)
				break;
		if (k == 6) {
			OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ex), 1);
			ERR("extensions: unexpected extension %s%s%s%s", oid, nid != NID_undef ? " (" : "",
			    nid != NID_undef ? OBJ_nid2ln(nid) : "", nid != NID_undef ? ")" : "");
			continue;
		}
		if (seen[k]++)
			ERR("extensions: %s appears more than once", OBJ_nid2ln(nid));
		if (X509_EXTENSION_get_critical(ex) != want[k].critical)
			ERR("extensions: %s must %sbe critical", OBJ_nid2ln(nid),
			    want[k].critical ? "" : "not ");
	}
	for (int k = 0; k < 6; k++)
		if (!seen[k])
			ERR("extensions: %s is missing", OBJ_nid2ln(want[k].nid));

	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(y, NID_basic_constraints, NULL, NULL);
	if (seen[0] == 1 && (bc == NULL || bc->ca || bc->pathlen != NULL))
		ERR("basicConstraints: must be CA:FALSE without pathlen");
	BASIC_CONSTRAINTS_free(bc);

	ASN1_BIT_STRING *ku = X509_get_ext_d2i(y, NID_key_usage, NULL, NULL);
	if (seen[1] == 1) {
		int bad = ku == NULL;
		for (int b = 0; !bad && b < 9; b++) {
			int want_bit = b == 0 || (b == 2 && rsa);
			bad = ASN1_BIT_STRING_get_bit(ku, b) != want_bit;
		}
		if (bad)
			ERR("keyUsage: must be exactly %s",
			    rsa ? "digitalSignature, keyEncipherment" : "digitalSignature");
	}
	ASN1_BIT_STRING_free(ku);

	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(y, NID_ext_key_usage, NULL, NULL);
	if (seen[2] == 1) {
		int got = 0, bad = eku == NULL || sk_ASN1_OBJECT_num(eku) != 3;
		for (int i = 0; !bad && i < 3; i++) {
			int nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
			int bit = nid == NID_server_auth    ? 1 :
				  nid == NID_client_auth    ? 2 :
				  nid == NID_ipsecEndSystem ? 4 :
							      0;
			bad = bit == 0 || (got & bit);
			got |= bit;
		}
		if (bad)
			ERR("extendedKeyUsage: must be exactly serverAuth, clientAuth, ipsecEndSystem");
	}
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);

	ASN1_OCTET_STRING *ski = X509_get_ext_d2i(y, NID_subject_key_identifier, NULL, NULL);
	if (seen[3] == 1) {
		const ASN1_BIT_STRING *bits = X509_get0_pubkey_bitstr(y);
		unsigned char md[SHA_DIGEST_LENGTH];
		if (ski == NULL || bits == NULL ||
		    SHA1(ASN1_STRING_get0_data(bits), (size_t)ASN1_STRING_length(bits), md) == NULL ||
		    ASN1_STRING_length(ski) != SHA_DIGEST_LENGTH ||
		    memcmp(ASN1_STRING_get0_data(ski), md, sizeof(md)) != 0)
			ERR("subjectKeyIdentifier: not the SHA-1 of the public key (RFC 5280 method 1)");
	}
	ASN1_OCTET_STRING_free(ski);

	AUTHORITY_KEYID *aki = X509_get_ext_d2i(y, NID_authority_key_identifier, NULL, NULL);
	if (seen[4] == 1) {
		const ASN1_OCTET_STRING *caski = X509_get0_subject_key_id(ca);
		if (aki == NULL || aki->keyid == NULL || aki->issuer != NULL || aki->serial != NULL)
			ERR("authorityKeyIdentifier: must hold the key identifier only");
		else if (caski == NULL || ASN1_OCTET_STRING_cmp(aki->keyid, caski) != 0)
			ERR("authorityKeyIdentifier: not the CAPF CA's subjectKeyIdentifier");
	}
	AUTHORITY_KEYID_free(aki);

	GENERAL_NAMES *san = X509_get_ext_d2i(y, NID_subject_alt_name, NULL, NULL);
	if (seen[5] == 1) {
		GENERAL_NAME *g =
			san != NULL && sk_GENERAL_NAME_num(san) == 1 ? sk_GENERAL_NAME_value(san, 0) : NULL;
		if (g == NULL || g->type != GEN_URI ||
		    (size_t)ASN1_STRING_length(g->d.uniformResourceIdentifier) != strlen(name) ||
		    memcmp(ASN1_STRING_get0_data(g->d.uniformResourceIdentifier), name, strlen(name)) != 0)
			ERR("subjectAltName: must be exactly URI:%s", name);
	}
	GENERAL_NAMES_free(san);
}

/* X509_verify over the bytes: the TBSCertificate inside der with the CA's key. */
static int verify_bytes(EVP_PKEY *capub, int mdnid, const unsigned char *der, size_t len,
			const ASN1_BIT_STRING *sig)
{
	const uint8_t *tbs;
	size_t tbs_len;
	EVP_MD_CTX *m;
	int ok;

	if (capub == NULL || mdnid == NID_undef || (sig->flags & 0x7) != 0 ||
	    capf_der_cert_tbs(der, len, &tbs, &tbs_len) != 0 || (m = EVP_MD_CTX_new()) == NULL)
		return 0;
	ok = EVP_DigestVerifyInit_ex(m, NULL, OBJ_nid2sn(mdnid), NULL, NULL, capub, NULL) == 1 &&
	     EVP_DigestVerify(m, ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig), tbs, tbs_len) ==
		     1;
	EVP_MD_CTX_free(m);
	return ok;
}

static void lint_signature(const struct capf_conf *c, X509 *ca, X509 *y, const unsigned char *der, size_t len,
			   struct capf_errlist *errs)
{
	const ASN1_BIT_STRING *sig;
	const X509_ALGOR *outer;
	const X509_ALGOR *inner = X509_get0_tbs_sigalg(y);
	EVP_PKEY *capub = X509_get0_pubkey(ca);
	int want_md = c->lsc.digest == CAPF_DIGEST_SHA384 ? NID_sha384 :
		      c->lsc.digest == CAPF_DIGEST_SHA512 ? NID_sha512 :
							    NID_sha256;
	int want_pk = capub != NULL ? EVP_PKEY_get_base_id(capub) : NID_undef;
	int mdnid = NID_undef, pknid = NID_undef;

	X509_get0_signature(&sig, &outer, y);
	if (X509_ALGOR_cmp(inner, outer) != 0)
		ERR("signature: the algorithm inside the certificate differs from the one outside");
	if (!OBJ_find_sigid_algs(OBJ_obj2nid(inner->algorithm), &mdnid, &pknid) || mdnid != want_md ||
	    pknid != want_pk)
		ERR("signature: algorithm is not %s with the CAPF CA's key type (lsc.digest)",
		    capf_digest_name(c->lsc.digest));
	if (sig != NULL && ASN1_STRING_length(sig) > 0 && !verify_bytes(capub, mdnid, der, len, sig))
		ERR("signature: does not verify with the CAPF CA's public key");
}

/* Everything below looks at the bytes: y is der parsed (capf_der_x509), never a
 * builder's object. */
static int lint_der(const struct capf_conf *c, const struct capf_ca *ca, const struct capf_lsc_input *in,
		    const unsigned char *der, int len, X509 *y, struct capf_errlist *errs)
{
	X509 *cacert = capf_ca_cert(ca);
	size_t before = capf_errlist_total(errs);

	if (der == NULL || len <= 0 || in == NULL || in->device_name == NULL) {
		ERR("lint: nothing to check");
		return -1;
	}
	if (y == NULL) {
		ERR("lint: the encoding does not parse back");
		return -1;
	}
	if (X509_get_version(y) != X509_VERSION_3)
		ERR("version: not 3");
	lint_serial(c, y, errs);
	lint_signature(c, cacert, y, der, (size_t)len, errs);
	if (!der_equal_names(X509_get_issuer_name(y), X509_get_subject_name(cacert)))
		ERR("issuer: not the CAPF CA certificate's subject");
	lint_subject(c, cacert, y, in->device_name, errs);
	lint_validity(c, ca, y, in->now, errs);
	lint_key(c, y, in, errs);
	lint_extensions(cacert, y, in->device_name, errs);
	if (X509_get0_subject_key_id(cacert) == NULL)
		ERR("issuer: the CAPF CA certificate has no subjectKeyIdentifier");
	return capf_errlist_total(errs) != before ? -1 : 0;
}

int capf_lsc_lint_parsed(const struct capf_conf *c, const struct capf_ca *ca, const struct capf_lsc_input *in,
			 const unsigned char *der, size_t len, X509 *y, struct capf_errlist *errs)
{
	struct capf_errlist *own, *e = capf_errlist_use(errs, &own);
	int r = e != NULL ? lint_der(c, ca, in, der, len > INT_MAX ? -1 : (int)len, y, e) : -1;

	capf_errlist_free(own);
	return r;
}

int capf_lsc_lint_der(const struct capf_conf *c, const struct capf_ca *ca, const struct capf_lsc_input *in,
		      const unsigned char *der, size_t len, struct capf_errlist *errs)
{
	X509 *y = der != NULL ? capf_der_x509(der, len) : NULL;
	int r = capf_lsc_lint_parsed(c, ca, in, der, len, y, errs);

	X509_free(y);
	return r;
}

int capf_lsc_lint(const struct capf_conf *c, const struct capf_ca *ca, const struct capf_lsc_input *in,
		  X509 *cert, struct capf_errlist *errs)
{
	unsigned char *der = NULL;
	int len, r;

	/* the encoding, parsed back by the lint */
	if (cert == NULL || (len = i2d_X509(cert, &der)) <= 0) {
		capf_errlist_add(errs, cert == NULL ? "lint: nothing to check" :
						      "lint: the certificate cannot be encoded");
		return -1;
	}
	r = capf_lsc_lint_der(c, ca, in, der, (size_t)len, errs);
	OPENSSL_free(der);
	return r;
}
