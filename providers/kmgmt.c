/*
 * providers/kmgmt.c: KEYMGMT for RSA and EC. Token keys answer from their
 * public half (BITS, SECURITY_BITS and MAX_SIZE together, N/E, GROUP_NAME,
 * the encoded point...), say has(PRIVATE_KEY) for private key objects, and
 * export only the public half so that certificates can be matched against
 * them. Software keys (imported peer keys, generated ephemeral keys) are
 * passed through to the provider that holds them.
 */
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/proverr.h>

#include "providers/capfhsm.h"

/* ---- lifetime ----------------------------------------------------------- */

static void *rsa_new(void *provctx)
{
	return chsm_key_new(provctx, CHSM_KEY_RSA);
}
static void *ec_new(void *provctx)
{
	return chsm_key_new(provctx, CHSM_KEY_EC);
}
static void km_free(void *keydata)
{
	chsm_key_free(keydata);
}

/* reference: a struct chsm_key * made by our store (store.c). */
static void *km_load(const void *reference, size_t size, enum chsm_keytype type)
{
	struct chsm_key *k;

	if (reference == NULL || size != sizeof(k)) {
		chsm_raise(ERR_R_PASSED_INVALID_ARGUMENT, "not a capfhsm key reference");
		return NULL;
	}
	memcpy(&k, reference, sizeof(k));
	if (k == NULL || k->magic != CHSM_KEY_MAGIC || k->type != type) {
		chsm_raise(ERR_R_PASSED_INVALID_ARGUMENT, "not a capfhsm %s key reference",
			   chsm_keytype_name(type));
		return NULL;
	}
	return chsm_key_ref(k);
}
static void *rsa_load(const void *r, size_t n)
{
	return km_load(r, n, CHSM_KEY_RSA);
}
static void *ec_load(const void *r, size_t n)
{
	return km_load(r, n, CHSM_KEY_EC);
}

static void *km_dup(const void *keydata, int selection)
{
	const struct chsm_key *src = keydata;
	struct chsm_key *k;

	if (src == NULL || (k = chsm_key_new(src->prov, src->type)) == NULL)
		return NULL;
	if (src->obj != NULL && (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) {
		/* the public half of a token key never changes: share it */
		k->obj = p11_object_ref(src->obj);
		k->token_private = src->token_private;
		if (src->pkey != NULL && EVP_PKEY_up_ref(src->pkey))
			k->pkey = src->pkey;
		k->has = src->has;
		k->bits = src->bits;
	} else if (src->pkey != NULL) {
		if ((k->pkey = EVP_PKEY_dup(src->pkey)) == NULL) {
			chsm_key_free(k);
			return NULL;
		}
		chsm_key_refresh(k);
		if (src->obj != NULL)
			k->has &= ~OSSL_KEYMGMT_SELECT_PRIVATE_KEY;
	}
	return k;
}

/* ---- questions ---------------------------------------------------------- */

static int km_has(const void *keydata, int selection)
{
	const struct chsm_key *k = keydata;
	int want = selection & (OSSL_KEYMGMT_SELECT_KEYPAIR | OSSL_KEYMGMT_SELECT_ALL_PARAMETERS);

	if (k == NULL)
		return 0;
	return (want & ~k->has) == 0;
}

static int km_match(const void *a, const void *b, int selection)
{
	const struct chsm_key *k1 = a, *k2 = b;

	if (k1 == NULL || k2 == NULL || k1->type != k2->type)
		return 0;
	if (k1->obj != NULL && k1->obj == k2->obj)
		return 1;
	if (k1->pkey == NULL || k2->pkey == NULL)
		return 0;
	/* Token keys are compared by their public half: a certificate matches
	 * the private key whose public key it carries. */
	if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0)
		return EVP_PKEY_eq(k1->pkey, k2->pkey) == 1;
	if ((selection & OSSL_KEYMGMT_SELECT_ALL_PARAMETERS) != 0)
		return EVP_PKEY_parameters_eq(k1->pkey, k2->pkey) == 1;
	return 1;
}

static int km_validate(const void *keydata, int selection, int checktype)
{
	const struct chsm_key *k = keydata;
	EVP_PKEY_CTX *pctx;
	int ok = 1;

	if (k == NULL || !km_has(k, selection))
		return 0;
	if (k->pkey == NULL || (selection & OSSL_KEYMGMT_SELECT_KEYPAIR) == 0)
		return 1;
	if ((pctx = EVP_PKEY_CTX_new_from_pkey(k->prov->libctx, k->pkey, CHSM_INTERNAL_PROPQ)) == NULL)
		return 0;
	/* a token's private key cannot be checked from here; its public half can */
	if (k->obj == NULL && (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0)
		ok = EVP_PKEY_check(pctx) == 1;
	else
		ok = EVP_PKEY_public_check(pctx) == 1;
	EVP_PKEY_CTX_free(pctx);
	return ok;
}

static const char *default_digest(const struct chsm_key *k)
{
	if (k->type == CHSM_KEY_EC && k->bits > 384)
		return "SHA512";
	if (k->type == CHSM_KEY_EC && k->bits > 256)
		return "SHA384";
	return "SHA256";
}

static int km_get_params(void *keydata, OSSL_PARAM params[])
{
	struct chsm_key *k = keydata;
	OSSL_PARAM *p;

	if (k == NULL)
		return 0;
	if (k->pkey != NULL && !EVP_PKEY_get_params(k->pkey, params)) {
		chsm_raise(ERR_R_OPERATION_FAIL, "cannot read the parameters of the %s key",
			   chsm_keytype_name(k->type));
		return 0;
	}
	if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_DEFAULT_DIGEST)) != NULL &&
	    !OSSL_PARAM_set_utf8_string(p, default_digest(k)))
		return 0;
	return 1;
}

static const OSSL_PARAM *rsa_gettable_params(void *provctx)
{
	static const OSSL_PARAM p[] = { OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
					OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
					OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
					OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
					OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
					OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
					OSSL_PARAM_END };
	return p;
}

static const OSSL_PARAM *ec_gettable_params(void *provctx)
{
	static const OSSL_PARAM p[] = { OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
					OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
					OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
					OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
					OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
					OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
					OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
					OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_X, NULL, 0),
					OSSL_PARAM_BN(OSSL_PKEY_PARAM_EC_PUB_Y, NULL, 0),
					OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
					OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL,
							       0),
					OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_FIELD_TYPE, NULL, 0),
					OSSL_PARAM_END };
	return p;
}

static int km_set_params(void *keydata, const OSSL_PARAM params[])
{
	struct chsm_key *k = keydata;

	if (k == NULL)
		return 0;
	if (params == NULL || params[0].key == NULL)
		return 1;
	if (k->obj != NULL) {
		chsm_raise(ERR_R_UNSUPPORTED, "a token key cannot be changed (%s)", params[0].key);
		return 0;
	}
	if (k->pkey == NULL || !EVP_PKEY_set_params(k->pkey, (OSSL_PARAM *)params))
		return 0;
	chsm_key_refresh(k);
	return 1;
}

static const OSSL_PARAM *rsa_settable_params(void *provctx)
{
	static const OSSL_PARAM p[] = { OSSL_PARAM_END };
	return p;
}

static const OSSL_PARAM *ec_settable_params(void *provctx)
{
	static const OSSL_PARAM p[] = {
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0), OSSL_PARAM_END
	};
	return p;
}

static const char *rsa_query_operation_name(int op)
{
	return "RSA";
}

static const char *ec_query_operation_name(int op)
{
	switch (op) {
	case OSSL_OP_SIGNATURE:
		return "ECDSA";
	case OSSL_OP_KEYEXCH:
		return "ECDH";
	default:
		return NULL;
	}
}

/* ---- import / export ---------------------------------------------------- */

static int km_import(void *keydata, int selection, const OSSL_PARAM params[])
{
	struct chsm_key *k = keydata;
	EVP_PKEY_CTX *pctx;
	EVP_PKEY *pkey = NULL;

	if (k == NULL)
		return 0;
	if (k->obj != NULL) {
		chsm_raise(ERR_R_UNSUPPORTED, "cannot import into a token key");
		return 0;
	}
	pctx = EVP_PKEY_CTX_new_from_name(k->prov->libctx, chsm_keytype_name(k->type), CHSM_INTERNAL_PROPQ);
	if (pctx == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, &pkey, selection, (OSSL_PARAM *)params) != 1) {
		EVP_PKEY_CTX_free(pctx);
		return 0;
	}
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(k->pkey);
	k->pkey = pkey;
	chsm_key_refresh(k);
	return 1;
}

static int km_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
	struct chsm_key *k = keydata;

	if (k == NULL || k->pkey == NULL)
		return 0;
	if (k->obj != NULL && (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) {
		chsm_raise(ERR_R_UNSUPPORTED, "the private half of token key \"%s\" never leaves the token",
			   p11_object_label(k->obj));
		return 0;
	}
	return EVP_PKEY_export(k->pkey, selection, cb, cbarg);
}

#define RSA_KEY_TYPES \
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0), OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0)
#define RSA_PRIV_TYPES                                                                                      \
	OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_D, NULL, 0), OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_FACTOR1, NULL, 0), \
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_FACTOR2, NULL, 0),                                        \
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_EXPONENT1, NULL, 0),                                      \
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_EXPONENT2, NULL, 0),                                      \
		OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_COEFFICIENT1, NULL, 0)
#define EC_PARAM_TYPES                                                                       \
	OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),                         \
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),                \
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0), \
		OSSL_PARAM_int(OSSL_PKEY_PARAM_USE_COFACTOR_ECDH, NULL)
#define EC_KEY_TYPES OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0)
#define EC_PRIV_TYPES OSSL_PARAM_BN(OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0)

/* What may come in (software keys, of any part) and go out (with
 * export refusing the private half of token keys at run time). */
static const OSSL_PARAM *rsa_types(int selection)
{
	static const OSSL_PARAM pub[] = { RSA_KEY_TYPES, OSSL_PARAM_END };
	static const OSSL_PARAM all[] = { RSA_KEY_TYPES, RSA_PRIV_TYPES, OSSL_PARAM_END };
	static const OSSL_PARAM none[] = { OSSL_PARAM_END };

	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0)
		return all;
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0)
		return pub;
	return none;
}

static const OSSL_PARAM *ec_types(int selection)
{
	static const OSSL_PARAM params[] = { EC_PARAM_TYPES, OSSL_PARAM_END };
	static const OSSL_PARAM pub[] = { EC_PARAM_TYPES, EC_KEY_TYPES, OSSL_PARAM_END };
	static const OSSL_PARAM all[] = { EC_PARAM_TYPES, EC_KEY_TYPES, EC_PRIV_TYPES, OSSL_PARAM_END };

	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0)
		return all;
	if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0)
		return pub;
	return params;
}

/* ---- generation: software only ------------------------------------------ */
/*
 * Keys are made on the token by capf-token (pkcs11/). This generator only
 * exists because OpenSSL picks the first provider with an "EC" key manager
 * for TLS ephemeral (ECDHE) keys and peer keys: when capfhsm is loaded first
 * that is us, and those keys must be made in software by the provider that
 * will use them (the default provider), exactly as without capfhsm.
 */
struct km_gen {
	struct chsm_prov *prov;
	enum chsm_keytype type;
	int selection;
	EVP_PKEY_CTX *pctx;
};

static int gen_start(struct km_gen *g, EVP_PKEY *templ)
{
	EVP_PKEY_CTX_free(g->pctx);
	if (templ != NULL)
		g->pctx = EVP_PKEY_CTX_new_from_pkey(g->prov->libctx, templ, CHSM_INTERNAL_PROPQ);
	else
		g->pctx = EVP_PKEY_CTX_new_from_name(g->prov->libctx, chsm_keytype_name(g->type),
						     CHSM_INTERNAL_PROPQ);
	if (g->pctx == NULL)
		return 0;
	if ((g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0)
		return EVP_PKEY_keygen_init(g->pctx) == 1;
	return EVP_PKEY_paramgen_init(g->pctx) == 1;
}

static void gen_cleanup(void *genctx)
{
	struct km_gen *g = genctx;

	if (g == NULL)
		return;
	EVP_PKEY_CTX_free(g->pctx);
	OPENSSL_free(g);
}

static int gen_set_params(void *genctx, const OSSL_PARAM params[])
{
	struct km_gen *g = genctx;

	if (params == NULL || params[0].key == NULL)
		return 1;
	return EVP_PKEY_CTX_set_params(g->pctx, params) == 1;
}

static void *gen_init(void *provctx, int selection, const OSSL_PARAM params[], enum chsm_keytype type)
{
	struct km_gen *g;

	if ((g = OPENSSL_zalloc(sizeof(*g))) == NULL)
		return NULL;
	g->prov = provctx;
	g->type = type;
	g->selection = selection;
	if (!gen_start(g, NULL) || !gen_set_params(g, params)) {
		gen_cleanup(g);
		return NULL;
	}
	return g;
}
static void *rsa_gen_init(void *p, int s, const OSSL_PARAM pa[])
{
	return gen_init(p, s, pa, CHSM_KEY_RSA);
}
static void *ec_gen_init(void *p, int s, const OSSL_PARAM pa[])
{
	return gen_init(p, s, pa, CHSM_KEY_EC);
}

static int gen_set_template(void *genctx, void *templ)
{
	struct km_gen *g = genctx;
	struct chsm_key *t = templ;

	if (t == NULL || t->pkey == NULL || t->type != g->type)
		return 0;
	return gen_start(g, t->pkey);
}

static const OSSL_PARAM *rsa_gen_settable(void *genctx, void *provctx)
{
	static const OSSL_PARAM p[] = { OSSL_PARAM_size_t(OSSL_PKEY_PARAM_RSA_BITS, NULL),
					OSSL_PARAM_size_t(OSSL_PKEY_PARAM_RSA_PRIMES, NULL),
					OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0), OSSL_PARAM_END };
	return p;
}

static const OSSL_PARAM *ec_gen_settable(void *genctx, void *provctx)
{
	static const OSSL_PARAM p[] = {
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0), OSSL_PARAM_END
	};
	return p;
}

static void *gen_generate(void *genctx, OSSL_CALLBACK *cb, void *cbarg)
{
	struct km_gen *g = genctx;
	struct chsm_key *k;
	EVP_PKEY *pkey = NULL;

	if (EVP_PKEY_generate(g->pctx, &pkey) != 1)
		return NULL;
	if ((k = chsm_key_new(g->prov, g->type)) == NULL) {
		EVP_PKEY_free(pkey);
		return NULL;
	}
	k->pkey = pkey;
	chsm_key_refresh(k);
	return k;
}

/* ---- dispatch ----------------------------------------------------------- */

#define F(id, fn)                        \
	{                                \
		id, (void (*)(void))(fn) \
	}

const OSSL_DISPATCH chsm_rsa_keymgmt[] = { F(OSSL_FUNC_KEYMGMT_NEW, rsa_new),
					   F(OSSL_FUNC_KEYMGMT_FREE, km_free),
					   F(OSSL_FUNC_KEYMGMT_LOAD, rsa_load),
					   F(OSSL_FUNC_KEYMGMT_DUP, km_dup),
					   F(OSSL_FUNC_KEYMGMT_HAS, km_has),
					   F(OSSL_FUNC_KEYMGMT_MATCH, km_match),
					   F(OSSL_FUNC_KEYMGMT_VALIDATE, km_validate),
					   F(OSSL_FUNC_KEYMGMT_GET_PARAMS, km_get_params),
					   F(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, rsa_gettable_params),
					   F(OSSL_FUNC_KEYMGMT_SET_PARAMS, km_set_params),
					   F(OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, rsa_settable_params),
					   F(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, rsa_query_operation_name),
					   F(OSSL_FUNC_KEYMGMT_IMPORT, km_import),
					   F(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, rsa_types),
					   F(OSSL_FUNC_KEYMGMT_EXPORT, km_export),
					   F(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, rsa_types),
					   F(OSSL_FUNC_KEYMGMT_GEN_INIT, rsa_gen_init),
					   F(OSSL_FUNC_KEYMGMT_GEN_SET_TEMPLATE, gen_set_template),
					   F(OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, gen_set_params),
					   F(OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, rsa_gen_settable),
					   F(OSSL_FUNC_KEYMGMT_GEN, gen_generate),
					   F(OSSL_FUNC_KEYMGMT_GEN_CLEANUP, gen_cleanup),
					   { 0, NULL } };

const OSSL_DISPATCH chsm_ec_keymgmt[] = { F(OSSL_FUNC_KEYMGMT_NEW, ec_new),
					  F(OSSL_FUNC_KEYMGMT_FREE, km_free),
					  F(OSSL_FUNC_KEYMGMT_LOAD, ec_load),
					  F(OSSL_FUNC_KEYMGMT_DUP, km_dup),
					  F(OSSL_FUNC_KEYMGMT_HAS, km_has),
					  F(OSSL_FUNC_KEYMGMT_MATCH, km_match),
					  F(OSSL_FUNC_KEYMGMT_VALIDATE, km_validate),
					  F(OSSL_FUNC_KEYMGMT_GET_PARAMS, km_get_params),
					  F(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, ec_gettable_params),
					  F(OSSL_FUNC_KEYMGMT_SET_PARAMS, km_set_params),
					  F(OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, ec_settable_params),
					  F(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, ec_query_operation_name),
					  F(OSSL_FUNC_KEYMGMT_IMPORT, km_import),
					  F(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, ec_types),
					  F(OSSL_FUNC_KEYMGMT_EXPORT, km_export),
					  F(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, ec_types),
					  F(OSSL_FUNC_KEYMGMT_GEN_INIT, ec_gen_init),
					  F(OSSL_FUNC_KEYMGMT_GEN_SET_TEMPLATE, gen_set_template),
					  F(OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS, gen_set_params),
					  F(OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS, ec_gen_settable),
					  F(OSSL_FUNC_KEYMGMT_GEN, gen_generate),
					  F(OSSL_FUNC_KEYMGMT_GEN_CLEANUP, gen_cleanup),
					  { 0, NULL } };
