/*
 * pkcs11/secret.c: token-held secret keys: generation of an HMAC key
 * (CKK_GENERIC_SECRET, sensitive, never extractable, sign/verify only) and
 * HMAC-SHA-256 through C_Sign (CKM_SHA256_HMAC) on pooled sessions (see p11.h).
 */
#include <string.h>
#include <openssl/rand.h>

#include "pkcs11/p11_int.h"

#define HMAC_IN_MAX 4096

struct mac_arg {
	struct p11_object *key;
	const unsigned char *in;
	size_t inlen;
	unsigned char *out;
	CK_ULONG outlen;
};

static CK_RV mac_op(struct p11_token *t, CK_SESSION_HANDLE h, void *arg, const char **fn)
{
	struct mac_arg *a = arg;
	CK_MECHANISM mech = { CKM_SHA256_HMAC, NULL, 0 };
	CK_OBJECT_HANDLE oh;
	CK_RV rv;

	*fn = "C_FindObjects";
	if ((rv = p11_object_handle(a->key, h, &oh)) != CKR_OK)
		return rv;
	*fn = "C_SignInit";
	if ((rv = P11_CALL(t->f, C_SignInit, h, &mech, oh)) != CKR_OK)
		return rv;
	*fn = "C_Sign";
	a->outlen = P11_HMAC_LEN;
	return P11_CALL(t->f, C_Sign, h, (CK_BYTE *)a->in, a->inlen, a->out, &a->outlen);
}

int p11_hmac_sha256(struct p11_object *key, const unsigned char *in, size_t inlen,
		    unsigned char out[P11_HMAC_LEN], char *err, size_t errlen)
{
	struct mac_arg a = { .key = key, .in = in, .inlen = inlen, .out = out };
	int rc;

	if (key->cls != CKO_SECRET_KEY)
		return p11_err(P11_ERR, err, errlen, "token %s: '%s' is not a secret key", key->t->label,
			       p11_object_label(key));
	if (key->kt != CKK_GENERIC_SECRET && key->kt != CKK_SHA256_HMAC)
		return p11_err(P11_ERR, err, errlen,
			       "token %s: '%s' is not a CKK_GENERIC_SECRET or "
			       "CKK_SHA256_HMAC key",
			       key->t->label, p11_object_label(key));
	if (in == NULL || inlen == 0 || inlen > HMAC_IN_MAX)
		return p11_err(P11_ERR, err, errlen, "CKM_SHA256_HMAC: input of %zu bytes (1..%d)", inlen,
			       HMAC_IN_MAX);
	if ((rc = p11_run(key->t, mac_op, &a, 1, err, errlen)) != P11_OK)
		return rc;
	if (a.outlen != P11_HMAC_LEN)
		return p11_err(P11_ERR, err, errlen, "CKM_SHA256_HMAC gave %lu bytes, not %d",
			       (unsigned long)a.outlen, P11_HMAC_LEN);
	return P11_OK;
}

struct sgen_arg {
	const char *label;
	unsigned char id[16];
	int exists, tried;
	CK_RV gen_rv;
	struct p11_object *key;
};

static CK_RV sgen_op(struct p11_token *t, CK_SESSION_HANDLE h, void *arg, const char **fn)
{
	struct sgen_arg *a = arg;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	CK_ULONG vlen = 32;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_MECHANISM mech = { CKM_GENERIC_SECRET_KEY_GEN, NULL, 0 };
	CK_ATTRIBUTE lt = { CKA_LABEL, (void *)a->label, strlen(a->label) };
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &kt, sizeof(kt) },
		{ CKA_VALUE_LEN, &vlen, sizeof(vlen) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_ENCRYPT, &no, sizeof(no) },
		{ CKA_DECRYPT, &no, sizeof(no) },
		{ CKA_WRAP, &no, sizeof(no) },
		{ CKA_UNWRAP, &no, sizeof(no) },
		{ CKA_DERIVE, &no, sizeof(no) },
		{ CKA_LABEL, (void *)a->label, strlen(a->label) },
		{ CKA_ID, a->id, sizeof(a->id) },
	};
	CK_OBJECT_HANDLE found[2], oh;
	size_t nf;
	CK_RV rv;

	if (a->tried) { /* after a fault: find what was generated, never twice */
		CK_ATTRIBUTE q[] = { tmpl[0], tmpl[14], tmpl[15] };

		*fn = "C_GenerateKey";
		if (a->gen_rv != CKR_OK)
			return a->gen_rv;
		*fn = "C_FindObjects";
		if ((rv = p11_find_handles(t->f, h, q, 3, found, 2, &nf)) != CKR_OK)
			return rv;
		if (nf != 1)
			return P11_RV_GONE;
		*fn = "C_GetAttributeValue";
		return p11_object_load(t, h, found[0], &a->key);
	}
	*fn = "C_FindObjects";
	if ((rv = p11_find_handles(t->f, h, &lt, 1, found, 1, &nf)) != CKR_OK)
		return rv;
	if (nf > 0) {
		a->exists = 1;
		return CKR_OK;
	}
	*fn = "C_GenerateKey";
	a->tried = 1;
	rv = P11_CALL(t->f, C_GenerateKey, h, &mech, tmpl, NELEM(tmpl), &oh);
	a->gen_rv = rv;
	if (rv != CKR_OK)
		return rv;
	*fn = "C_GetAttributeValue";
	return p11_object_load(t, h, oh, &a->key);
}

int p11_secret_keygen(struct p11_token *t, const char *label, struct p11_object **key, char *err, size_t errlen)
{
	struct sgen_arg a = { .label = label };
	size_t n = label != NULL ? strlen(label) : 0;
	int rc;

	if (key != NULL)
		*key = NULL;
	if (n == 0 || n > 128)
		return p11_err(P11_ERR, err, errlen, "key label must be 1..128 bytes");
	if (t->pin_file == NULL || !t->rw)
		return p11_err(P11_ERR, err, errlen,
			       "token %s: key generation needs a logged-in, "
			       "read-write token",
			       t->label);
	if (RAND_bytes(a.id, sizeof(a.id)) != 1)
		return p11_err(P11_ERR, err, errlen, "RAND_bytes failed");
	if ((rc = p11_run(t, sgen_op, &a, 1, err, errlen)) != P11_OK)
		return rc;
	if (a.exists)
		return p11_err(P11_ERR, err, errlen,
			       "token %s: an object labelled '%s' already exists; "
			       "choose another label (keys are never overwritten)",
			       t->label, label);
	if (key != NULL)
		*key = a.key;
	else
		p11_object_free(a.key);
	return P11_OK;
}
