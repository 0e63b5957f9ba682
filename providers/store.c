/*
 * providers/store.c: OSSL_STORE for RFC 7512 pkcs11: URIs. Opening parses the
 * URI only; the first load opens the token (shared, see chsm_token_get), logs
 * in with the PIN from the URI's pin-source file and finds the objects the URI
 * names. Keys are passed to OpenSSL by reference (our KEYMGMT loads them);
 * certificates by value (DER). The expected type (OSSL_STORE_expect) filters.
 */
#include <string.h>
#include <strings.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/proverr.h>
#include <openssl/store.h>

#include "providers/capfhsm.h"

#define STORE_MAX_OBJECTS 1024 /* objects one URI may name (a whole token listing) */

struct storectx {
	struct chsm_prov *prov;
	struct p11_uri uri;
	int expect; /* OSSL_STORE_INFO_* or 0 */
	int searched, failed;
	size_t delivered;
	struct p11_object **objs;
	size_t n, next;
};

static int rank(CK_OBJECT_CLASS cls)
{
	return cls == CKO_PRIVATE_KEY ? 0 : cls == CKO_PUBLIC_KEY ? 1 : cls == CKO_CERTIFICATE ? 2 : 3;
}

static int wanted(const struct storectx *s, CK_OBJECT_CLASS cls)
{
	switch (s->expect) {
	case 0:
		return cls == CKO_PRIVATE_KEY || cls == CKO_PUBLIC_KEY || cls == CKO_CERTIFICATE;
	case OSSL_STORE_INFO_PKEY:
		return cls == CKO_PRIVATE_KEY;
	case OSSL_STORE_INFO_PUBKEY:
		return cls == CKO_PUBLIC_KEY;
	case OSSL_STORE_INFO_CERT:
		return cls == CKO_CERTIFICATE;
	default:
		return 0;
	}
}

static const char *expect_name(int expect)
{
	switch (expect) {
	case OSSL_STORE_INFO_PKEY:
		return "private key";
	case OSSL_STORE_INFO_PUBKEY:
		return "public key";
	case OSSL_STORE_INFO_CERT:
		return "certificate";
	case 0:
		return "key or certificate";
	default:
		return "object of the expected type";
	}
}

static void skip_unwanted(struct storectx *s)
{
	while (s->next < s->n && !wanted(s, p11_object_class(s->objs[s->next])))
		s->next++;
}

static void *store_open(void *provctx, const char *uri)
{
	struct chsm_prov *prov = provctx;
	struct storectx *s;
	char err[CHSM_ERRLEN];

	if (uri == NULL || strncasecmp(uri, "pkcs11:", 7) != 0)
		return NULL;
	if ((s = OPENSSL_zalloc(sizeof(*s))) == NULL)
		return NULL;
	s->prov = prov;
	/* pin-source may be in the query or in the path: the parser takes both. */
	if (p11_uri_parse(uri, &s->uri, err, sizeof(err)) != 0) {
		chsm_raise(ERR_R_PASSED_INVALID_ARGUMENT, "%s", err);
		OPENSSL_free(s);
		return NULL;
	}
	/* The module comes from the provider's configuration, not from a URI. */
	if (s->uri.module_name != NULL ||
	    (s->uri.module_path != NULL && strcmp(s->uri.module_path, prov->module_path) != 0)) {
		chsm_raise(ERR_R_PASSED_INVALID_ARGUMENT,
			   "the URI names a PKCS#11 module other than the one capfhsm uses, %s "
			   "(from %s): set " CHSM_CFG_MODULE " in openssl.cnf, capf.conf's "
			   "token.module or $" P11_MODULE_ENV " instead",
			   prov->module_path, prov->module_source);
		p11_uri_clear(&s->uri);
		OPENSSL_free(s);
		return NULL;
	}
	return s;
}

static const OSSL_PARAM *store_settable_ctx_params(void *provctx)
{
	static const OSSL_PARAM p[] = { OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL), OSSL_PARAM_END };
	return p;
}

static int store_set_ctx_params(void *loaderctx, const OSSL_PARAM params[])
{
	struct storectx *s = loaderctx;
	const OSSL_PARAM *p;

	if (params == NULL)
		return 1;
	if ((p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT)) != NULL) {
		if (!OSSL_PARAM_get_int(p, &s->expect))
			return 0;
		if (s->searched)
			skip_unwanted(s);
	}
	return 1;
}

static int cmp_objs(const void *a, const void *b)
{
	return rank(p11_object_class(*(struct p11_object *const *)a)) -
	       rank(p11_object_class(*(struct p11_object *const *)b));
}

static int search(struct storectx *s)
{
	struct p11_token *tok;
	char err[CHSM_ERRLEN] = "";
	int rc;

	s->searched = 1;
	if ((rc = chsm_token_get(s->prov, &s->uri, &tok, err, sizeof(err))) != P11_OK ||
	    (rc = p11_find(tok, &s->uri, STORE_MAX_OBJECTS, &s->objs, &s->n, err, sizeof(err))) != P11_OK) {
		s->failed = 1;
		chsm_raise(rc == P11_EDOWN || rc == P11_EPIN ? ERR_R_OPERATION_FAIL : PROV_R_NOT_SUPPORTED,
			   "%s", err);
		return 0;
	}
	/* private keys first, then public keys, then certificates (stable enough for us) */
	qsort(s->objs, s->n, sizeof(*s->objs), cmp_objs);
	skip_unwanted(s);
	return 1;
}

static int pass_key(struct storectx *s, struct p11_object *o, OSSL_CALLBACK *cb, void *cbarg)
{
	char err[CHSM_ERRLEN] = "";
	struct chsm_key *k;
	int type = OSSL_OBJECT_PKEY, ok;
	OSSL_PARAM params[5];

	if ((k = chsm_key_from_object(s->prov, o, err, sizeof(err))) == NULL) {
		chsm_raise(PROV_R_NOT_SUPPORTED, "%s", err);
		return 0;
	}
	params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
						     (char *)chsm_keytype_name(k->type), 0);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &k, sizeof(k));
	params[3] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DESC, (char *)p11_object_label(o), 0);
	params[4] = OSSL_PARAM_construct_end();
	ok = cb(params, cbarg);
	chsm_key_free(k); /* the keymgmt took its own reference */
	return ok;
}

static int pass_cert(struct storectx *s, struct p11_object *o, OSSL_CALLBACK *cb, void *cbarg)
{
	char err[CHSM_ERRLEN] = "";
	unsigned char *der = NULL;
	size_t len = 0;
	int type = OSSL_OBJECT_CERT, ok;
	OSSL_PARAM params[4];

	if (p11_object_cert_der(o, &der, &len, err, sizeof(err)) != P11_OK) {
		chsm_raise(PROV_R_NOT_SUPPORTED, "%s", err);
		return 0;
	}
	params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &type);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_DATA, der, len);
	params[2] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DESC, (char *)p11_object_label(o), 0);
	params[3] = OSSL_PARAM_construct_end();
	ok = cb(params, cbarg);
	OPENSSL_free(der);
	return ok;
}

static int store_load(void *loaderctx, OSSL_CALLBACK *object_cb, void *object_cbarg,
		      OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
	struct storectx *s = loaderctx;
	struct p11_object *o;

	/* The PIN only ever comes from the URI's pin-source file: pw_cb is not used. */
	if (!s->searched && !search(s))
		return 0;
	if (s->failed)
		return 0;
	skip_unwanted(s);
	if (s->next >= s->n) {
		if (s->delivered == 0) {
			char buf[P11_URI_MAX + 1] = "";

			s->failed = 1;
			(void)p11_uri_format(&s->uri, 0, buf, sizeof(buf));
			chsm_raise(
				ERR_R_UNSUPPORTED, "no %s on the token matches %s%s", expect_name(s->expect),
				buf,
				s->uri.pin_source == NULL && s->expect != OSSL_STORE_INFO_CERT &&
						s->expect != OSSL_STORE_INFO_PUBKEY ?
					" (no pin-source in the URI, so not logged in: private keys are not visible)" :
					"");
			return 0;
		}
		return 1;
	}
	s->delivered++;
	o = s->objs[s->next++];
	skip_unwanted(s);
	if (p11_object_class(o) == CKO_CERTIFICATE)
		return pass_cert(s, o, object_cb, object_cbarg);
	return pass_key(s, o, object_cb, object_cbarg);
}

static int store_eof(void *loaderctx)
{
	struct storectx *s = loaderctx;

	return s->failed || (s->searched && s->next >= s->n);
}

static int store_close(void *loaderctx)
{
	struct storectx *s = loaderctx;

	if (s == NULL)
		return 1;
	if (s->objs != NULL)
		p11_objects_free(s->objs, s->n);
	p11_uri_clear(&s->uri);
	OPENSSL_free(s);
	return 1;
}

/* Called when OpenSSL wants a key of ours in another provider's keymgmt:
 * only the public half of a public key object may go. */
static int store_export_object(void *loaderctx, const void *reference, size_t size, OSSL_CALLBACK *cb,
			       void *cbarg)
{
	struct chsm_key *k;

	if (reference == NULL || size != sizeof(k))
		return 0;
	memcpy(&k, reference, sizeof(k));
	if (k == NULL || k->magic != CHSM_KEY_MAGIC || k->pkey == NULL)
		return 0;
	if (k->token_private) {
		chsm_raise(ERR_R_UNSUPPORTED, "token private key \"%s\" can only be used through capfhsm",
			   k->obj != NULL ? p11_object_label(k->obj) : "");
		return 0;
	}
	return EVP_PKEY_export(k->pkey, OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS, cb,
			       cbarg);
}

#define F(id, fn)                        \
	{                                \
		id, (void (*)(void))(fn) \
	}
const OSSL_DISPATCH chsm_store[] = { F(OSSL_FUNC_STORE_OPEN, store_open),
				     F(OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, store_settable_ctx_params),
				     F(OSSL_FUNC_STORE_SET_CTX_PARAMS, store_set_ctx_params),
				     F(OSSL_FUNC_STORE_LOAD, store_load),
				     F(OSSL_FUNC_STORE_EOF, store_eof),
				     F(OSSL_FUNC_STORE_CLOSE, store_close),
				     F(OSSL_FUNC_STORE_EXPORT_OBJECT, store_export_object),
				     { 0, NULL } };
