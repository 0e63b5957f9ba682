/*
 * providers/capfhsm.h: what the parts of the capfhsm provider share. Not for
 * use outside providers/ (the provider's only export is OSSL_provider_init).
 *
 * A key object (struct chsm_key) is what our KEYMGMT hands OpenSSL as keydata.
 * It is either
 *   - a token key: a pkcs11/ object (private or public key) plus its public
 *     half as an EVP_PKEY of the default provider (params, export, verify), or
 *   - a software key: an EVP_PKEY of another provider that OpenSSL asked us to
 *     import or generate (peer keys, ephemeral ECDHE keys when capfhsm is
 *     loaded first); those are passed through, never stored on the token.
 * The private half of a token key never leaves the token: export refuses it.
 *
 * Errors: pkcs11/ returns P11_* with a message; only the dispatch functions
 * turn them into OpenSSL's 1/0 and raise them with chsm_raise().
 */
#ifndef CHSM_PROVIDERS_CAPFHSM_H
#define CHSM_PROVIDERS_CAPFHSM_H

#include <stddef.h>
#include <stdatomic.h>
#include <openssl/core.h>
#include <openssl/err.h>

#include "pkcs11/p11.h"

#define CHSM_PROV_NAME "capfhsm"
/* Properties of our algorithms, and the query that keeps our own internal
 * fetches (hashing, software keys, verification) away from ourselves. */
#define CHSM_PROPS "provider=capfhsm"
#define CHSM_INTERNAL_PROPQ "provider!=capfhsm"
#define CHSM_CFG_MODULE "pkcs11-module-path"
/* "1": this provider's token layer may re-initialise a wedged module
 * (C_Finalize + C_Initialize, see docs/TOKEN.md, "Recovery"). Only for a
 * program in which the provider is the module's only user. */
#define CHSM_CFG_REINIT "capfhsm-reinit-module"
/* Minimum gap between two recoveries of a token, in ms (default 1000). */
#define CHSM_CFG_RECOVER_MS "capfhsm-recover-ms"
/* Sessions per token (default P11_DEFAULT_POOL). */
#define CHSM_CFG_POOL "capfhsm-sessions"
#define CHSM_ERRLEN 256

struct chsm_prov {
	const OSSL_CORE_HANDLE *handle;
	OSSL_LIB_CTX *libctx;           /* child of the core's: hashing, software keys */
	char *module_path;              /* chosen PKCS#11 module */
	char *module_source;            /* where it came from (for messages) */
	int reinit_module;              /* CHSM_CFG_REINIT */
	unsigned recover_ms, pool_size; /* CHSM_CFG_RECOVER_MS, CHSM_CFG_POOL; 0: default */
	struct chsm_tokcache *tokens;
};

enum chsm_keytype { CHSM_KEY_RSA = 1, CHSM_KEY_EC };

#define CHSM_KEY_MAGIC 0x63617066u /* "capf": sanity check on store references */

struct chsm_key {
	unsigned magic;
	atomic_int refs;
	struct chsm_prov *prov;
	enum chsm_keytype type;
	struct p11_object *obj; /* token key, or NULL for a software key */
	int token_private;      /* obj is a CKO_PRIVATE_KEY */
	EVP_PKEY *pkey;         /* token key: public half; software: the key */
	int has;                /* OSSL_KEYMGMT_SELECT_* bits the key holds */
	unsigned bits;
};

/* ---- errors: "capfhsm: <what happened>" as error data on ERR_LIB_PROV ---- */
#define chsm_raise(reason, ...) ERR_raise_data(ERR_LIB_PROV, (reason), "capfhsm: " __VA_ARGS__)

/* ---- provider.c ---- */
/* The token for uri (shared by every key of it, logged in once). */
int chsm_token_get(struct chsm_prov *prov, const struct p11_uri *uri, struct p11_token **tok, char *err,
		   size_t errlen);

/* ---- key.c ---- */
struct chsm_key *chsm_key_new(struct chsm_prov *prov, enum chsm_keytype type);
/* A key object for a token key or public key object; takes its own reference on obj. */
struct chsm_key *chsm_key_from_object(struct chsm_prov *prov, struct p11_object *obj, char *err, size_t errlen);
struct chsm_key *chsm_key_ref(struct chsm_key *k);
void chsm_key_free(struct chsm_key *k);
/* Recomputes k->has and k->bits after k->pkey changed (software keys). */
void chsm_key_refresh(struct chsm_key *k);
const char *chsm_keytype_name(enum chsm_keytype t); /* "RSA", "EC" */

/* ---- dispatch tables ---- */
extern const OSSL_DISPATCH chsm_rsa_keymgmt[];
extern const OSSL_DISPATCH chsm_ec_keymgmt[];
extern const OSSL_DISPATCH chsm_rsa_signature[];
extern const OSSL_DISPATCH chsm_ecdsa_signature[];
extern const OSSL_DISPATCH chsm_store[];

#endif
