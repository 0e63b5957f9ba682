/* providers/key.c: key objects shared by the store, keymgmt and signature code (see capfhsm.h). */
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/proverr.h>

#include "providers/capfhsm.h"

const char *chsm_keytype_name(enum chsm_keytype t)
{
	return t == CHSM_KEY_RSA ? "RSA" : t == CHSM_KEY_EC ? "EC" : "?";
}

struct chsm_key *chsm_key_new(struct chsm_prov *prov, enum chsm_keytype type)
{
	struct chsm_key *k;

	if ((k = OPENSSL_zalloc(sizeof(*k))) == NULL)
		return NULL;
	k->magic = CHSM_KEY_MAGIC;
	atomic_init(&k->refs, 1);
	k->prov = prov;
	k->type = type;
	if (type == CHSM_KEY_RSA) /* RSA has no domain parameters: like OpenSSL's, "has" them */
		k->has = OSSL_KEYMGMT_SELECT_ALL_PARAMETERS;
	return k;
}

struct chsm_key *chsm_key_ref(struct chsm_key *k)
{
	if (k != NULL)
		atomic_fetch_add(&k->refs, 1);
	return k;
}

void chsm_key_free(struct chsm_key *k)
{
	if (k == NULL || atomic_fetch_sub(&k->refs, 1) != 1)
		return;
	EVP_PKEY_free(k->pkey);
	if (k->obj != NULL)
		p11_object_free(k->obj);
	k->magic = 0;
	OPENSSL_free(k);
}

void chsm_key_refresh(struct chsm_key *k)
{
	OSSL_PARAM *params = NULL;

	k->has = k->type == CHSM_KEY_RSA ? OSSL_KEYMGMT_SELECT_ALL_PARAMETERS : 0;
	k->bits = 0;
	if (k->pkey == NULL)
		return;
	k->bits = (unsigned)EVP_PKEY_get_bits(k->pkey);
	if (EVP_PKEY_todata(k->pkey, EVP_PKEY_KEYPAIR, &params) != 1) {
		ERR_clear_error();
		if (EVP_PKEY_todata(k->pkey, EVP_PKEY_KEY_PARAMETERS, &params) != 1) {
			ERR_clear_error();
			return;
		}
	}
	if (k->type == CHSM_KEY_RSA) {
		if (OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_N) != NULL)
			k->has |= OSSL_KEYMGMT_SELECT_PUBLIC_KEY;
		if (OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_D) != NULL)
			k->has |= OSSL_KEYMGMT_SELECT_PRIVATE_KEY;
	} else {
		if (OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_GROUP_NAME) != NULL)
			k->has |= OSSL_KEYMGMT_SELECT_ALL_PARAMETERS;
		if (OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PUB_KEY) != NULL)
			k->has |= OSSL_KEYMGMT_SELECT_PUBLIC_KEY;
		if (OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PRIV_KEY) != NULL)
			k->has |= OSSL_KEYMGMT_SELECT_PRIVATE_KEY;
	}
	for (OSSL_PARAM *q = params; q->key != NULL; q++) /* may hold a software private key */
		if (q->data != NULL)
			OPENSSL_cleanse(q->data, q->data_size);
	OSSL_PARAM_free(params);
}

struct chsm_key *chsm_key_from_object(struct chsm_prov *prov, struct p11_object *obj, char *err, size_t errlen)
{
	CK_OBJECT_CLASS cls = p11_object_class(obj);
	CK_KEY_TYPE kt = p11_object_key_type(obj);
	struct chsm_key *k;
	enum chsm_keytype type;

	if (cls != CKO_PRIVATE_KEY && cls != CKO_PUBLIC_KEY) {
		snprintf(err, errlen, "object \"%s\" is not a key", p11_object_label(obj));
		return NULL;
	}
	if (kt == CKK_RSA) {
		type = CHSM_KEY_RSA;
	} else if (kt == CKK_EC) {
		type = CHSM_KEY_EC;
	} else {
		snprintf(err, errlen, "key \"%s\": only RSA and EC keys are supported", p11_object_label(obj));
		return NULL;
	}
	if ((k = chsm_key_new(prov, type)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (p11_object_public_key(obj, prov->libctx, CHSM_INTERNAL_PROPQ, &k->pkey, err, errlen) != P11_OK) {
		chsm_key_free(k);
		return NULL;
	}
	k->obj = p11_object_ref(obj);
	k->token_private = cls == CKO_PRIVATE_KEY;
	k->bits = (unsigned)EVP_PKEY_get_bits(k->pkey);
	k->has = OSSL_KEYMGMT_SELECT_ALL;
	if (!k->token_private)
		k->has &= ~OSSL_KEYMGMT_SELECT_PRIVATE_KEY;
	return k;
}
