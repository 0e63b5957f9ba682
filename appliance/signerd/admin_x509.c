/*
 * appliance/signerd/admin_x509.c: certificate plumbing for the admin verbs
 * (regenerate, CSR, TLS issuance): extensions, serials, signing with a token
 * key in the daemon's library context.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "appliance/common/x509.h"
#include "appliance/signerd/admin.h"

int
admin_x509_ext(X509 *x, X509 *issuer, X509_REQ *req, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, req, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

int
admin_x509_serial(X509 *x)
{
	unsigned char r[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	r[0] &= 0x7f;           /* positive */
	r[0] |= 0x40;           /* full 127 bits: never short, never zero */
	bn = BN_bin2bn(r, sizeof(r), NULL);
	ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

const EVP_MD *
admin_digest_for(EVP_PKEY *key)
{
	int bits = EVP_PKEY_get_bits(key);

	if (EVP_PKEY_is_a(key, "EC")) {
		if (bits > 384)
			return EVP_sha512();
		if (bits > 256)
			return EVP_sha384();
	}
	return EVP_sha256();
}

static EVP_MD_CTX *
sign_ctx(struct signerd *sd, EVP_PKEY *key, char *err, size_t errlen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	char oe[512];

	ERR_clear_error();
	if (m == NULL || !EVP_DigestSignInit_ex(m, NULL, EVP_MD_get0_name(admin_digest_for(key)),
						 sd->libctx, NULL, key, NULL)) {
		capf_ossl_errors(oe, sizeof(oe));
		snprintf(err, errlen, "cannot sign with the token key: %s", oe);
		EVP_MD_CTX_free(m);
		return NULL;
	}
	return m;
}

int
admin_sign_x509(struct signerd *sd, X509 *x, EVP_PKEY *key, char *err, size_t errlen)
{
	EVP_MD_CTX *m = sign_ctx(sd, key, err, errlen);
	char oe[512];
	int rc = -1;

	if (m == NULL)
		return -1;
	if (X509_sign_ctx(x, m) <= 0) {
		capf_ossl_errors(oe, sizeof(oe));
		snprintf(err, errlen, "signing the certificate with the token key failed: %s", oe);
	} else {
		rc = 0;
	}
	EVP_MD_CTX_free(m);
	return rc;
}

int
admin_sign_req(struct signerd *sd, X509_REQ *r, EVP_PKEY *key, char *err, size_t errlen)
{
	EVP_MD_CTX *m = sign_ctx(sd, key, err, errlen);
	char oe[512];
	int rc = -1;

	if (m == NULL)
		return -1;
	if (X509_REQ_sign_ctx(r, m) <= 0) {
		capf_ossl_errors(oe, sizeof(oe));
		snprintf(err, errlen, "signing the CSR with the token key failed: %s", oe);
	} else {
		rc = 0;
	}
	EVP_MD_CTX_free(m);
	return rc;
}
