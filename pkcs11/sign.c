/* pkcs11/sign.c: raw C_Sign on pooled sessions, ECDSA signature encoding (see p11.h). */
#include <stdlib.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>

#include "pkcs11/p11_int.h"

#define SIGN_IN_MAX 512

size_t p11_sign_size(const struct p11_object *key)
{
	size_t b = (key->bits + 7) / 8;

	if (key->kt == CKK_RSA)
		return b;
	if (key->kt == CKK_EC)
		return 2 * b;
	return 0;
}

struct sign_arg {
	struct p11_object *key;
	CK_MECHANISM mech;
	const unsigned char *in;
	size_t inlen;
	unsigned char *out;
	size_t cap;
	size_t outlen;
};

static CK_RV sign_op(struct p11_token *t, CK_SESSION_HANDLE h, void *arg, const char **fn)
{
	struct sign_arg *a = arg;
	CK_OBJECT_HANDLE oh;
	CK_ULONG len = a->cap;
	CK_RV rv;

	*fn = "C_FindObjects";
	if ((rv = p11_object_handle(a->key, h, &oh)) != CKR_OK)
		return rv;
	*fn = "C_SignInit";
	if ((rv = P11_CALL(t->f, C_SignInit, h, &a->mech, oh)) != CKR_OK)
		return rv;
	*fn = "C_Sign";
	rv = P11_CALL(t->f, C_Sign, h, (CK_BYTE *)a->in, a->inlen, a->out, &len);
	if (rv == CKR_BUFFER_TOO_SMALL) {
		/* The operation is still active: finish it into a scratch buffer. */
		unsigned char *tmp = len <= 4096 ? OPENSSL_malloc(len) : NULL;
		CK_ULONG tl = len;

		(void)P11_CALL(t->f, C_Sign, h, (CK_BYTE *)a->in, a->inlen, tmp, &tl);
		OPENSSL_clear_free(tmp, len);
		return CKR_BUFFER_TOO_SMALL;
	}
	if (rv == CKR_OK)
		a->outlen = len;
	return rv;
}

static const char *mech_name(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_RSA_PKCS:
		return "CKM_RSA_PKCS";
	case CKM_RSA_PKCS_PSS:
		return "CKM_RSA_PKCS_PSS";
	case CKM_ECDSA:
		return "CKM_ECDSA";
	default:
		return "mechanism";
	}
}

int p11_sign(struct p11_object *key, CK_MECHANISM_TYPE mech, const void *params, size_t paramslen,
	     const unsigned char *in, size_t inlen, unsigned char *out, size_t *outlen, char *err,
	     size_t errlen)
{
	struct sign_arg a = { .key = key, .in = in, .inlen = inlen, .out = out };
	struct p11_token *t = key->t;
	size_t need = p11_sign_size(key);
	int rc;

	if (key->cls != CKO_PRIVATE_KEY)
		return p11_err(P11_ERR, err, errlen, "token %s: '%s' is not a private key", t->label,
			       p11_object_label(key));
	switch (mech) {
	case CKM_RSA_PKCS:
	case CKM_RSA_PKCS_PSS:
		if (key->kt != CKK_RSA)
			return p11_err(P11_ERR, err, errlen, "token %s: %s needs an RSA key; '%s' is not one",
				       t->label, mech_name(mech), p11_object_label(key));
		if (mech == CKM_RSA_PKCS_PSS && (params == NULL || paramslen != sizeof(CK_RSA_PKCS_PSS_PARAMS)))
			return p11_err(P11_ERR, err, errlen, "CKM_RSA_PKCS_PSS needs CK_RSA_PKCS_PSS_PARAMS");
		if (mech == CKM_RSA_PKCS && need >= 11 && inlen > need - 11)
			return p11_err(P11_ERR, err, errlen,
				       "CKM_RSA_PKCS: %zu bytes of input; at most %zu "
				       "for this key",
				       inlen, need - 11);
		break;
	case CKM_ECDSA:
		if (key->kt != CKK_EC)
			return p11_err(P11_ERR, err, errlen,
				       "token %s: CKM_ECDSA needs an EC key; '%s' is "
				       "not one",
				       t->label, p11_object_label(key));
		if (params != NULL || paramslen != 0)
			return p11_err(P11_ERR, err, errlen, "CKM_ECDSA takes no parameters");
		break;
	default:
		return p11_err(P11_ERR, err, errlen,
			       "mechanism 0x%lx not supported (CKM_RSA_PKCS, "
			       "CKM_RSA_PKCS_PSS, CKM_ECDSA)",
			       mech);
	}
	if (need == 0)
		return p11_err(P11_ERR, err, errlen, "token %s: size of key '%s' unknown", t->label,
			       p11_object_label(key));
	if (out == NULL) {
		*outlen = need;
		return P11_OK;
	}
	if (*outlen < need)
		return p11_err(P11_ERR, err, errlen, "signature buffer of %zu bytes; %zu needed", *outlen,
			       need);
	if (in == NULL || inlen == 0 || inlen > SIGN_IN_MAX)
		return p11_err(P11_ERR, err, errlen, "%s: input of %zu bytes (1..%d)", mech_name(mech), inlen,
			       SIGN_IN_MAX);
	a.mech.mechanism = mech;
	a.mech.pParameter = (void *)params;
	a.mech.ulParameterLen = params ? paramslen : 0;
	a.cap = *outlen;
	if ((rc = p11_run(t, sign_op, &a, 1, err, errlen)) != P11_OK)
		return rc;
	*outlen = a.outlen;
	return P11_OK;
}

int p11_ecdsa_raw_to_der(const unsigned char *rs, size_t rslen, unsigned char *der, size_t *derlen, char *err,
			 size_t errlen)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p;
	int n, rc = P11_ERR;

	if (rslen == 0 || rslen % 2 != 0 || rslen > 2 * 66)
		return p11_err(P11_ERR, err, errlen,
			       "ECDSA signature of %zu bytes: must be r||s, even, "
			       "at most %d",
			       rslen, 2 * 66);
	if ((sig = ECDSA_SIG_new()) == NULL || (r = BN_bin2bn(rs, (int)(rslen / 2), NULL)) == NULL ||
	    (s = BN_bin2bn(rs + rslen / 2, (int)(rslen / 2), NULL)) == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		p11_err(P11_ERR, err, errlen, "out of memory");
		goto out;
	}
	if ((n = i2d_ECDSA_SIG(sig, NULL)) <= 0 || (size_t)n > *derlen) {
		p11_err(P11_ERR, err, errlen, "ECDSA DER signature needs %d bytes, buffer has %zu", n, *derlen);
		goto out;
	}
	p = der;
	*derlen = (size_t)i2d_ECDSA_SIG(sig, &p);
	rc = P11_OK;
out:
	ECDSA_SIG_free(sig);
	return rc;
}
