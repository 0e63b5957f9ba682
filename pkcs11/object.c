/* pkcs11/object.c: finding objects, reading their attributes and public keys
 * (see p11.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "pkcs11/p11_int.h"

void p11_token_ref_internal(struct p11_token *t);

CK_RV p11_get_attr(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, CK_ATTRIBUTE_TYPE type,
		   unsigned char **val, size_t *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	CK_RV rv;

	*val = NULL;
	*len = 0;
	rv = P11_CALL(f, C_GetAttributeValue, h, oh, &a, 1);
	if (rv != CKR_OK)
		return rv;
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return CKR_ATTRIBUTE_TYPE_INVALID;
	if (a.ulValueLen > P11_ATTR_MAX)
		return CKR_DATA_LEN_RANGE;
	if ((a.pValue = OPENSSL_malloc(a.ulValueLen + 1)) == NULL)
		return CKR_HOST_MEMORY;
	rv = P11_CALL(f, C_GetAttributeValue, h, oh, &a, 1);
	if (rv != CKR_OK) {
		OPENSSL_free(a.pValue);
		return rv;
	}
	((unsigned char *)a.pValue)[a.ulValueLen] = '\0';
	*val = a.pValue;
	*len = a.ulValueLen;
	return CKR_OK;
}

CK_RV p11_find_handles(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, CK_ATTRIBUTE *tmpl, CK_ULONG ntmpl,
		       CK_OBJECT_HANDLE *out, size_t max, size_t *n)
{
	CK_ULONG got;
	CK_RV rv, rv2;

	*n = 0;
	rv = P11_CALL(f, C_FindObjectsInit, h, tmpl, ntmpl);
	if (rv != CKR_OK)
		return rv;
	while (*n < max) {
		CK_ULONG want = max - *n > 64 ? 64 : (CK_ULONG)(max - *n);

		rv = P11_CALL(f, C_FindObjects, h, out + *n, want, &got);
		if (rv != CKR_OK || got == 0)
			break;
		*n += got;
	}
	rv2 = P11_CALL(f, C_FindObjectsFinal, h);
	return rv != CKR_OK ? rv : rv2;
}

int p11_ec_params_nid(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	ASN1_OBJECT *obj;
	int nid;

	if (len > 64 || (obj = d2i_ASN1_OBJECT(NULL, &p, (long)len)) == NULL)
		return NID_undef;
	nid = p == der + len ? OBJ_obj2nid(obj) : NID_undef;
	ASN1_OBJECT_free(obj);
	return nid;
}

unsigned p11_ec_nid_bits(int nid)
{
	switch (nid) {
	case NID_X9_62_prime256v1:
		return 256;
	case NID_secp384r1:
		return 384;
	case NID_secp521r1:
		return 521;
	default:
		return 0;
	}
}

static CK_RV read_ulong(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, CK_ATTRIBUTE_TYPE type,
			CK_ULONG *v)
{
	CK_ATTRIBUTE a = { type, v, sizeof(*v) };

	return P11_CALL(f, C_GetAttributeValue, h, oh, &a, 1);
}

CK_RV p11_object_load(struct p11_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, struct p11_object **out)
{
	struct p11_object *o;
	unsigned char *v;
	size_t len;
	CK_ULONG ul;
	CK_RV rv;

	*out = NULL;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return CKR_HOST_MEMORY;
	atomic_init(&o->refs, 1);
	o->kt = (CK_KEY_TYPE)-1;
	o->nid = NID_undef;
	o->h = oh;
	if ((rv = read_ulong(t->f, h, oh, CKA_CLASS, &o->cls)) != CKR_OK)
		goto fail;
	if (o->cls == CKO_PRIVATE_KEY || o->cls == CKO_PUBLIC_KEY || o->cls == CKO_SECRET_KEY) {
		if ((rv = read_ulong(t->f, h, oh, CKA_KEY_TYPE, &o->kt)) != CKR_OK)
			goto fail;
	}
	rv = p11_get_attr(t->f, h, oh, CKA_ID, &o->id, &o->idlen);
	if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID)
		goto fail;
	rv = p11_get_attr(t->f, h, oh, CKA_LABEL, &v, &o->labellen);
	if (rv == CKR_OK)
		o->label = (char *)v;
	else if (rv != CKR_ATTRIBUTE_TYPE_INVALID)
		goto fail;
	if (o->kt == CKK_RSA) {
		if (read_ulong(t->f, h, oh, CKA_MODULUS_BITS, &ul) == CKR_OK && ul <= 65536) {
			o->bits = (unsigned)ul;
		} else if (p11_get_attr(t->f, h, oh, CKA_MODULUS, &v, &len) == CKR_OK) {
			BIGNUM *bn = BN_bin2bn(v, (int)len, NULL);

			o->bits = bn ? (unsigned)BN_num_bits(bn) : 0;
			BN_free(bn);
			OPENSSL_free(v);
		}
	} else if (o->kt == CKK_EC) {
		if (p11_get_attr(t->f, h, oh, CKA_EC_PARAMS, &v, &len) == CKR_OK) {
			o->nid = p11_ec_params_nid(v, len);
			o->bits = p11_ec_nid_bits(o->nid);
			OPENSSL_free(v);
		}
	}
	o->t = t;
	p11_token_ref_internal(t);
	pthread_mutex_lock(&t->mu);
	o->gen = t->gen;
	pthread_mutex_unlock(&t->mu);
	*out = o;
	return CKR_OK;
fail:
	OPENSSL_free(o->id);
	OPENSSL_free(o->label);
	free(o);
	return rv;
}

struct p11_object *p11_object_ref(struct p11_object *o)
{
	atomic_fetch_add(&o->refs, 1);
	return o;
}

void p11_object_free(struct p11_object *o)
{
	if (o != NULL && atomic_fetch_sub(&o->refs, 1) == 1) {
		p11_token_close(o->t);
		OPENSSL_free(o->id);
		OPENSSL_free(o->label);
		free(o);
	}
}

void p11_objects_free(struct p11_object **objs, size_t n)
{
	for (size_t i = 0; objs != NULL && i < n; i++)
		p11_object_free(objs[i]);
	free(objs);
}

CK_RV p11_object_handle(struct p11_object *o, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *out)
{
	struct p11_token *t = o->t;
	CK_ATTRIBUTE tmpl[3];
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 0;
	unsigned long gen;
	size_t nf;
	CK_RV rv;

	pthread_mutex_lock(&t->mu);
	gen = t->gen;
	if (o->gen == gen) {
		*out = o->h;
		pthread_mutex_unlock(&t->mu);
		return CKR_OK;
	}
	pthread_mutex_unlock(&t->mu);
	tmpl[n++] = (CK_ATTRIBUTE){ CKA_CLASS, &o->cls, sizeof(o->cls) };
	if (o->idlen > 0)
		tmpl[n++] = (CK_ATTRIBUTE){ CKA_ID, o->id, o->idlen };
	if (o->labellen > 0)
		tmpl[n++] = (CK_ATTRIBUTE){ CKA_LABEL, o->label, o->labellen };
	rv = p11_find_handles(t->f, h, tmpl, n, found, 2, &nf);
	if (rv != CKR_OK)
		return rv;
	if (nf != 1)
		return P11_RV_GONE;
	pthread_mutex_lock(&t->mu);
	o->h = found[0];
	o->gen = gen;
	pthread_mutex_unlock(&t->mu);
	*out = found[0];
	return CKR_OK;
}

/* ---- finding ---------------------------------------------------------- */

struct find_arg {
	const struct p11_uri *uri;
	CK_OBJECT_CLASS cls;
	int has_cls;
	size_t max;
	struct p11_object **objs;
	size_t n;
};

static void find_reset(struct find_arg *a)
{
	p11_objects_free(a->objs, a->n);
	a->objs = NULL;
	a->n = 0;
}

static CK_RV find_op(struct p11_token *t, CK_SESSION_HANDLE h, void *arg, const char **fn)
{
	struct find_arg *a = arg;
	CK_ATTRIBUTE tmpl[3];
	CK_OBJECT_HANDLE *hs;
	CK_ULONG n = 0;
	size_t nh;
	CK_RV rv;

	find_reset(a);
	if (a->has_cls)
		tmpl[n++] = (CK_ATTRIBUTE){ CKA_CLASS, &a->cls, sizeof(a->cls) };
	if (a->uri->object != NULL)
		tmpl[n++] = (CK_ATTRIBUTE){ CKA_LABEL, a->uri->object, strlen(a->uri->object) };
	if (a->uri->has_id)
		tmpl[n++] = (CK_ATTRIBUTE){ CKA_ID, a->uri->id, a->uri->idlen };
	if ((hs = calloc(a->max + 1, sizeof(*hs))) == NULL ||
	    (a->objs = calloc(a->max + 1, sizeof(*a->objs))) == NULL) {
		free(hs);
		return CKR_HOST_MEMORY;
	}
	*fn = "C_FindObjects";
	rv = p11_find_handles(t->f, h, tmpl, n, hs, a->max, &nh);
	for (size_t i = 0; rv == CKR_OK && i < nh; i++) {
		*fn = "C_GetAttributeValue";
		rv = p11_object_load(t, h, hs[i], &a->objs[a->n]);
		if (rv == CKR_OBJECT_HANDLE_INVALID)
			rv = CKR_OK; /* deleted meanwhile */
		else if (rv == CKR_OK)
			a->n++;
	}
	free(hs);
	if (rv != CKR_OK)
		find_reset(a);
	return rv;
}

static int uri_class(const struct p11_uri *u, CK_OBJECT_CLASS *cls)
{
	switch (u->type) {
	case P11_TYPE_PRIVATE:
		*cls = CKO_PRIVATE_KEY;
		return 1;
	case P11_TYPE_PUBLIC:
		*cls = CKO_PUBLIC_KEY;
		return 1;
	case P11_TYPE_CERT:
		*cls = CKO_CERTIFICATE;
		return 1;
	case P11_TYPE_SECRET:
		*cls = CKO_SECRET_KEY;
		return 1;
	case P11_TYPE_DATA:
		*cls = CKO_DATA;
		return 1;
	default:
		return 0;
	}
}

int p11_find(struct p11_token *t, const struct p11_uri *uri, size_t max, struct p11_object ***out, size_t *n,
	     char *err, size_t errlen)
{
	struct find_arg a = { .uri = uri, .max = max ? max : 1 };
	int rc;

	*out = NULL;
	*n = 0;
	if (a.max > 4096)
		a.max = 4096;
	a.has_cls = uri_class(uri, &a.cls);
	rc = p11_run(t, find_op, &a, 1, err, errlen);
	if (rc != P11_OK) {
		find_reset(&a);
		return rc;
	}
	*out = a.objs;
	*n = a.n;
	return P11_OK;
}

static const char *class_name(CK_OBJECT_CLASS c)
{
	switch (c) {
	case CKO_PRIVATE_KEY:
		return "private key";
	case CKO_PUBLIC_KEY:
		return "public key";
	case CKO_CERTIFICATE:
		return "certificate";
	case CKO_SECRET_KEY:
		return "secret key";
	case CKO_DATA:
		return "data object";
	default:
		return "object";
	}
}

int p11_find_one(struct p11_token *t, const struct p11_uri *uri, CK_OBJECT_CLASS cls, struct p11_object **out,
		 char *err, size_t errlen)
{
	struct find_arg a = { .uri = uri, .max = 2, .cls = cls, .has_cls = 1 };
	char u[P11_URI_MAX];
	CK_OBJECT_CLASS ucls;
	int rc;

	*out = NULL;
	if (uri_class(uri, &ucls) && ucls != cls)
		return p11_err(P11_ERR, err, errlen, "URI names a %s (type=%s) where a %s is needed",
			       class_name(ucls), p11_uri_type_name(uri->type), class_name(cls));
	if (uri->object == NULL && !uri->has_id)
		return p11_err(P11_ERR, err, errlen, "URI names no object: add object=LABEL or id=%%XX...");
	if ((rc = p11_run(t, find_op, &a, 1, err, errlen)) != P11_OK)
		return rc;
	if (a.n != 1) {
		if (p11_uri_format(uri, 0, u, sizeof(u)) < 0)
			snprintf(u, sizeof(u), "(URI)");
		rc = p11_err(P11_ERR, err, errlen,
			     a.n == 0 ? "token %s: no %s matches %s%s" :
					"token %s: several %ss match %s; add id= or a unique object=",
			     t->label, class_name(cls), u,
			     a.n == 0 && cls == CKO_PRIVATE_KEY && t->pin_file == NULL ?
				     " (private objects need a login: add ?pin-source=file:/path)" :
				     "");
		find_reset(&a);
		return rc;
	}
	*out = a.objs[0];
	free(a.objs);
	return P11_OK;
}

/* ---- accessors -------------------------------------------------------- */

struct p11_token *p11_object_token(const struct p11_object *o)
{
	return o->t;
}
CK_OBJECT_CLASS p11_object_class(const struct p11_object *o)
{
	return o->cls;
}
CK_KEY_TYPE p11_object_key_type(const struct p11_object *o)
{
	return o->kt;
}
const char *p11_object_label(const struct p11_object *o)
{
	return o->label != NULL ? o->label : "";
}
unsigned p11_object_bits(const struct p11_object *o)
{
	return o->bits;
}
int p11_object_curve_nid(const struct p11_object *o)
{
	return o->nid;
}

const unsigned char *p11_object_id(const struct p11_object *o, size_t *len)
{
	*len = o->idlen;
	return o->id;
}

int p11_object_uri(const struct p11_object *o, char *buf, size_t len)
{
	struct p11_uri u;

	memset(&u, 0, sizeof(u));
	u.token = (char *)o->t->label;
	u.serial = (char *)o->t->serial;
	if (o->labellen > 0)
		u.object = o->label;
	if (o->idlen > 0) {
		u.id = (unsigned char *)o->id;
		u.idlen = o->idlen;
		u.has_id = 1;
	}
	switch (o->cls) {
	case CKO_PRIVATE_KEY:
		u.type = P11_TYPE_PRIVATE;
		break;
	case CKO_PUBLIC_KEY:
		u.type = P11_TYPE_PUBLIC;
		break;
	case CKO_CERTIFICATE:
		u.type = P11_TYPE_CERT;
		break;
	case CKO_SECRET_KEY:
		u.type = P11_TYPE_SECRET;
		break;
	case CKO_DATA:
		u.type = P11_TYPE_DATA;
		break;
	default:
		break;
	}
	return p11_uri_format(&u, 0, buf, len);
}

/* ---- attributes -------------------------------------------------------- */

struct attr_arg {
	struct p11_object *o;
	CK_ATTRIBUTE_TYPE type;
	unsigned char *val;
	size_t len;
	CK_RV rv; /* the attribute's own outcome */
};

static CK_RV attr_op(struct p11_token *t, CK_SESSION_HANDLE h, void *arg, const char **fn)
{
	struct attr_arg *a = arg;
	CK_OBJECT_HANDLE oh;
	CK_RV rv;

	*fn = "C_FindObjects";
	if ((rv = p11_object_handle(a->o, h, &oh)) != CKR_OK)
		return rv;
	*fn = "C_GetAttributeValue";
	OPENSSL_free(a->val);
	a->val = NULL;
	rv = p11_get_attr(t->f, h, oh, a->type, &a->val, &a->len);
	a->rv = rv;
	/* An attribute-level refusal is an answer, not a failure of the call. */
	if (rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID)
		return CKR_OK;
	return rv;
}

int p11_object_attr(struct p11_object *o, CK_ATTRIBUTE_TYPE type, unsigned char **val, size_t *len, CK_RV *rvp,
		    char *err, size_t errlen)
{
	struct attr_arg a = { .o = o, .type = type };
	int rc;

	*val = NULL;
	*len = 0;
	rc = p11_run(o->t, attr_op, &a, 1, err, errlen);
	if (rvp != NULL)
		*rvp = rc == P11_OK ? a.rv : CKR_GENERAL_ERROR;
	if (rc != P11_OK) {
		OPENSSL_free(a.val);
		return rc;
	}
	if (a.rv != CKR_OK)
		return p11_err_rv(P11_ERR, err, errlen, o->t, "C_GetAttributeValue", a.rv);
	*val = a.val;
	*len = a.len;
	return P11_OK;
}

int p11_object_bool(struct p11_object *o, CK_ATTRIBUTE_TYPE type, int *val, char *err, size_t errlen)
{
	unsigned char *v;
	size_t len;
	int rc;

	*val = 0;
	if ((rc = p11_object_attr(o, type, &v, &len, NULL, err, errlen)) != P11_OK)
		return rc;
	if (len != sizeof(CK_BBOOL)) {
		OPENSSL_free(v);
		return p11_err(P11_ERR, err, errlen, "token %s: attribute 0x%lx is not a CK_BBOOL", o->t->label,
			       type);
	}
	*val = v[0] != CK_FALSE;
	OPENSSL_free(v);
	return P11_OK;
}

int p11_object_cert_der(struct p11_object *o, unsigned char **der, size_t *len, char *err, size_t errlen)
{
	if (o->cls != CKO_CERTIFICATE)
		return p11_err(P11_ERR, err, errlen, "token %s: object '%s' is not a certificate", o->t->label,
			       o->label);
	return p11_object_attr(o, CKA_VALUE, der, len, NULL, err, errlen);
}

/* ---- public keys ------------------------------------------------------- */

static int pkey_fromdata(OSSL_LIB_CTX *libctx, const char *propq, const char *alg, OSSL_PARAM_BLD *bld,
			 EVP_PKEY **out, char *err, size_t errlen)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(libctx, alg, propq);
	int ok;

	ok = params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
	     EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1;
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	if (!ok)
		return p11_err(P11_ERR, err, errlen,
			       "cannot build the %s public key from the token's "
			       "attributes",
			       alg);
	return P11_OK;
}

static int rsa_pub(OSSL_LIB_CTX *libctx, const char *propq, const unsigned char *n, size_t nlen,
		   const unsigned char *e, size_t elen, EVP_PKEY **out, char *err, size_t errlen)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(e, (int)elen, NULL);
	int rc = P11_ERR;

	if (bld != NULL && bn != NULL && be != NULL &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) == 1)
		rc = pkey_fromdata(libctx, propq, "RSA", bld, out, err, errlen);
	else
		p11_err(P11_ERR, err, errlen, "out of memory");
	BN_free(bn);
	BN_free(be);
	OSSL_PARAM_BLD_free(bld);
	return rc;
}

static int ec_pub(OSSL_LIB_CTX *libctx, const char *propq, int nid, const unsigned char *pt, size_t ptlen,
		  EVP_PKEY **out, char *err, size_t errlen)
{
	size_t fb = (p11_ec_nid_bits(nid) + 7) / 8, rawlen = 1 + 2 * fb;
	const unsigned char *p = pt, *point = NULL;
	ASN1_OCTET_STRING *os;
	OSSL_PARAM_BLD *bld;
	int rc = P11_ERR;

	if (fb == 0)
		return p11_err(P11_ERR, err, errlen, "unsupported EC curve (only P-256, P-384, P-521)");
	/* CKA_EC_POINT is a DER OCTET STRING; some modules return the raw point. */
	os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)ptlen);
	if (os != NULL && p == pt + ptlen && (size_t)ASN1_STRING_length(os) == rawlen) {
		point = ASN1_STRING_get0_data(os);
	} else if (ptlen == rawlen && pt[0] == 0x04) {
		point = pt;
	} else {
		ASN1_OCTET_STRING_free(os);
		return p11_err(P11_ERR, err, errlen,
			       "CKA_EC_POINT is neither a DER OCTET STRING nor an "
			       "uncompressed point of %zu bytes",
			       rawlen);
	}
	if ((bld = OSSL_PARAM_BLD_new()) != NULL &&
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, OBJ_nid2sn(nid), 0) == 1 &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, rawlen) == 1)
		rc = pkey_fromdata(libctx, propq, "EC", bld, out, err, errlen);
	else
		p11_err(P11_ERR, err, errlen, "out of memory");
	OSSL_PARAM_BLD_free(bld);
	ASN1_OCTET_STRING_free(os);
	return rc;
}

struct pub_arg {
	struct p11_object *o;
	OSSL_LIB_CTX *libctx;
	const char *propq;
	EVP_PKEY *pkey;
	char *err;
	size_t errlen;
	int rc; /* outcome of building (P11_ERR with err) */
};

/* Builds the key from object oh's attributes (public key, private key or certificate). */
static CK_RV pub_from(struct p11_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, CK_OBJECT_CLASS cls,
		      struct pub_arg *a, const char **fn)
{
	unsigned char *v1 = NULL, *v2 = NULL;
	size_t l1, l2;
	CK_RV rv;

	*fn = "C_GetAttributeValue";
	if (cls == CKO_CERTIFICATE) {
		const unsigned char *p;
		X509 *x;

		if ((rv = p11_get_attr(t->f, h, oh, CKA_VALUE, &v1, &l1)) != CKR_OK)
			return rv;
		p = v1;
		x = X509_new_ex(a->libctx, a->propq);
		if (x == NULL || d2i_X509(&x, &p, (long)l1) == NULL) {
			a->rc = p11_err(P11_ERR, a->err, a->errlen,
					"token %s: certificate with CKA_ID of "
					"'%s' does not parse",
					t->label, a->o->label);
			X509_free(x);
		} else if ((a->pkey = X509_get_pubkey(x)) == NULL) {
			a->rc = p11_err(P11_ERR, a->err, a->errlen,
					"token %s: certificate public key "
					"unreadable",
					t->label);
			X509_free(x);
		} else {
			X509_free(x);
			a->rc = P11_OK;
		}
		OPENSSL_free(v1);
		return CKR_OK;
	}
	if (a->o->kt == CKK_RSA) {
		if ((rv = p11_get_attr(t->f, h, oh, CKA_MODULUS, &v1, &l1)) != CKR_OK)
			return rv;
		if ((rv = p11_get_attr(t->f, h, oh, CKA_PUBLIC_EXPONENT, &v2, &l2)) != CKR_OK) {
			OPENSSL_free(v1);
			return rv;
		}
		a->rc = rsa_pub(a->libctx, a->propq, v1, l1, v2, l2, &a->pkey, a->err, a->errlen);
	} else if (a->o->kt == CKK_EC) {
		int nid;

		if ((rv = p11_get_attr(t->f, h, oh, CKA_EC_PARAMS, &v1, &l1)) != CKR_OK)
			return rv;
		if ((rv = p11_get_attr(t->f, h, oh, CKA_EC_POINT, &v2, &l2)) != CKR_OK) {
			OPENSSL_free(v1);
			return rv;
		}
		nid = p11_ec_params_nid(v1, l1);
		a->rc = ec_pub(a->libctx, a->propq, nid, v2, l2, &a->pkey, a->err, a->errlen);
	} else {
		a->rc = p11_err(P11_ERR, a->err, a->errlen, "token %s: '%s' is neither an RSA nor an EC key",
				t->label, a->o->label);
	}
	OPENSSL_free(v1);
	OPENSSL_free(v2);
	return CKR_OK;
}

static CK_RV pub_op(struct p11_token *t, CK_SESSION_HANDLE h, void *arg, const char **fn)
{
	struct pub_arg *a = arg;
	struct p11_object *o = a->o;
	CK_OBJECT_HANDLE oh, found[2];
	CK_OBJECT_CLASS classes[2] = { CKO_PUBLIC_KEY, CKO_CERTIFICATE };
	size_t nf;
	CK_RV rv;

	EVP_PKEY_free(a->pkey);
	a->pkey = NULL;
	*fn = "C_FindObjects";
	if ((rv = p11_object_handle(o, h, &oh)) != CKR_OK)
		return rv;
	if (o->cls != CKO_PRIVATE_KEY)
		return pub_from(t, h, oh, o->cls, a, fn);
	for (size_t i = 0; i < NELEM(classes) && o->idlen > 0; i++) {
		CK_ATTRIBUTE tmpl[2] = {
			{ CKA_CLASS, &classes[i], sizeof(classes[i]) },
			{ CKA_ID, o->id, o->idlen },
		};

		*fn = "C_FindObjects";
		if ((rv = p11_find_handles(t->f, h, tmpl, 2, found, 1, &nf)) != CKR_OK)
			return rv;
		if (nf == 1)
			return pub_from(t, h, found[0], classes[i], a, fn);
	}
	if (o->kt == CKK_RSA)
		return pub_from(t, h, oh, CKO_PRIVATE_KEY, a, fn);
	a->rc = p11_err(P11_ERR, a->err, a->errlen,
			"token %s: no public key or certificate with the "
			"CKA_ID of private key '%s'; the public half cannot be found",
			t->label, o->label);
	return CKR_OK;
}

int p11_object_public_key(struct p11_object *o, OSSL_LIB_CTX *libctx, const char *propq, EVP_PKEY **out,
			  char *err, size_t errlen)
{
	struct pub_arg a = { .o = o,
			     .libctx = libctx,
			     .propq = propq,
			     .err = err,
			     .errlen = errlen,
			     .rc = P11_ERR };
	int rc;

	*out = NULL;
	if (o->cls != CKO_PRIVATE_KEY && o->cls != CKO_PUBLIC_KEY && o->cls != CKO_CERTIFICATE)
		return p11_err(P11_ERR, err, errlen, "token %s: '%s' is not a key or certificate", o->t->label,
			       o->label);
	rc = p11_run(o->t, pub_op, &a, 1, err, errlen);
	if (rc == P11_OK && a.rc != P11_OK)
		rc = a.rc;
	if (rc != P11_OK) {
		EVP_PKEY_free(a.pkey);
		return rc;
	}
	*out = a.pkey;
	return P11_OK;
}
