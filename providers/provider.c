/*
 * providers/provider.c: the capfhsm provider's entry point: OSSL_provider_init,
 * provider parameters, configuration (which PKCS#11 module), the algorithm
 * tables (registered statically, before any key is loaded: TLS contexts are
 * made first), and the per-provider cache of open tokens.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/proverr.h>

#include "providers/capfhsm.h"

#define CHSM_VERSION "1.0"

/* ---- token cache -------------------------------------------------------- */

/* One entry per (module, token, pin-source): every key of a token shares its
 * sessions and its login. A wrong PIN is remembered and never tried again by
 * this provider instance (tokens lock after a few failures). */
struct tokentry {
	struct tokentry *next;
	char *key;
	struct p11_token *tok; /* NULL after a PIN failure */
	char msg[CHSM_ERRLEN];
};

struct chsm_tokcache {
	pthread_mutex_t lock;
	struct tokentry *head;
};

static char *token_key(const char *module, const struct p11_uri *uri, char *err, size_t errlen)
{
	struct p11_uri t;
	char buf[P11_URI_MAX + 1];
	char *key = NULL;

	if (p11_uri_copy(&t, uri, err, errlen) != 0)
		return NULL;
	/* only what selects the token and logs in */
	free(t.object); /* p11_uri_copy allocates with malloc */
	t.object = NULL;
	free(t.id);
	t.id = NULL;
	t.idlen = 0;
	t.has_id = 0;
	t.type = P11_TYPE_ANY;
	if (p11_uri_format(&t, 1, buf, sizeof(buf)) != 0)
		snprintf(err, errlen, "pkcs11 URI too long");
	else if ((key = OPENSSL_zalloc(strlen(module) + strlen(buf) + 2)) != NULL)
		sprintf(key, "%s\n%s", module, buf);
	p11_uri_clear(&t);
	return key;
}

int chsm_token_get(struct chsm_prov *prov, const struct p11_uri *uri, struct p11_token **tok, char *err,
		   size_t errlen)
{
	struct chsm_tokcache *c = prov->tokens;
	struct p11_token_opts opts = { .module_path = prov->module_path,
				       .reinit_module = prov->reinit_module,
				       .recover_ms = prov->recover_ms,
				       .pool_size = prov->pool_size };
	struct tokentry *e;
	char *key;
	int rc;

	*tok = NULL;
	if ((key = token_key(prov->module_path, uri, err, errlen)) == NULL)
		return P11_ERR;
	pthread_mutex_lock(&c->lock);
	for (e = c->head; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			break;
	if (e != NULL) {
		OPENSSL_free(key);
		if (e->tok == NULL) {
			snprintf(err, errlen, "%s (not retried: fix the PIN file and restart)", e->msg);
			pthread_mutex_unlock(&c->lock);
			return P11_EPIN;
		}
		*tok = e->tok;
		pthread_mutex_unlock(&c->lock);
		return P11_OK;
	}
	rc = p11_token_open(uri, &opts, tok, err, errlen);
	if (rc == P11_OK || rc == P11_EPIN) {
		if ((e = OPENSSL_zalloc(sizeof(*e))) == NULL) {
			if (*tok != NULL)
				p11_token_close(*tok);
			*tok = NULL;
			OPENSSL_free(key);
			pthread_mutex_unlock(&c->lock);
			snprintf(err, errlen, "out of memory");
			return P11_ERR;
		}
		e->key = key;
		e->tok = rc == P11_OK ? *tok : NULL;
		snprintf(e->msg, sizeof(e->msg), "%s", err);
		e->next = c->head;
		c->head = e;
	} else {
		OPENSSL_free(key);
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static void tokcache_free(struct chsm_tokcache *c)
{
	struct tokentry *e, *n;

	if (c == NULL)
		return;
	/* At exit (teardown from OPENSSL_cleanup) the token layer knows that the
	 * process is exiting: closing only frees memory, no Cryptoki call. */
	for (e = c->head; e != NULL; e = n) {
		n = e->next;
		if (e->tok != NULL)
			p11_token_close(e->tok);
		OPENSSL_free(e->key);
		OPENSSL_free(e);
	}
	pthread_mutex_destroy(&c->lock);
	OPENSSL_free(c);
}

/* ---- algorithms --------------------------------------------------------- */

static const OSSL_ALGORITHM keymgmt_algs[] = { { "RSA:rsaEncryption:1.2.840.113549.1.1.1", CHSM_PROPS,
						 chsm_rsa_keymgmt, "RSA keys on a PKCS#11 token (capfhsm)" },
					       { "EC:id-ecPublicKey:1.2.840.10045.2.1", CHSM_PROPS,
						 chsm_ec_keymgmt, "EC keys on a PKCS#11 token (capfhsm)" },
					       { NULL, NULL, NULL, NULL } };

static const OSSL_ALGORITHM signature_algs[] = {
	{ "RSA:rsaEncryption:1.2.840.113549.1.1.1", CHSM_PROPS, chsm_rsa_signature,
	  "RSA PKCS#1 v1.5 and PSS signatures by a PKCS#11 token (capfhsm)" },
	{ "ECDSA", CHSM_PROPS, chsm_ecdsa_signature, "ECDSA signatures by a PKCS#11 token (capfhsm)" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM store_algs[] = {
	{ "pkcs11", CHSM_PROPS, chsm_store, "RFC 7512 pkcs11: URIs (capfhsm)" }, { NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM *prov_query(void *provctx, int op, int *no_cache)
{
	*no_cache = 0;
	switch (op) {
	case OSSL_OP_KEYMGMT:
		return keymgmt_algs;
	case OSSL_OP_SIGNATURE:
		return signature_algs;
	case OSSL_OP_STORE:
		return store_algs;
	default:
		return NULL;
	}
}

/* ---- TLS groups --------------------------------------------------------- */
/*
 * libssl (3.0) keeps a TLS group only when the first "EC" key manager it
 * fetches comes from a provider that declares the group. When capfhsm is
 * loaded before the default provider that is ours, so we declare the NIST
 * curves; their ephemeral keys are made in software (kmgmt.c) and the key
 * exchange itself is the default provider's ECDH.
 */
struct tls_group {
	const char *name, *internal;
	unsigned int id;
	unsigned int secbits;
};

static const struct tls_group tls_groups[] = {
	{ "secp256r1", "prime256v1", 23, 128 }, { "P-256", "prime256v1", 23, 128 },
	{ "secp384r1", "secp384r1", 24, 192 },  { "P-384", "secp384r1", 24, 192 },
	{ "secp521r1", "secp521r1", 25, 256 },  { "P-521", "secp521r1", 25, 256 },
};

static int prov_get_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb, void *arg)
{
	if (capability == NULL || OPENSSL_strcasecmp(capability, "TLS-GROUP") != 0)
		return 0;
	for (size_t i = 0; i < sizeof(tls_groups) / sizeof(tls_groups[0]); i++) {
		const struct tls_group *g = &tls_groups[i];
		unsigned int id = g->id, secbits = g->secbits;
		int mintls = 0x0301, maxtls = 0, mindtls = 0xfeff, maxdtls = 0; /* TLS 1.0+, DTLS 1.0+ */
		OSSL_PARAM p[] = { OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME, (char *)g->name, 0),
				   OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_NAME_INTERNAL,
							  (char *)g->internal, 0),
				   OSSL_PARAM_utf8_string(OSSL_CAPABILITY_TLS_GROUP_ALG, "EC", 0),
				   OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_ID, &id),
				   OSSL_PARAM_uint(OSSL_CAPABILITY_TLS_GROUP_SECURITY_BITS, &secbits),
				   OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_TLS, &mintls),
				   OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_TLS, &maxtls),
				   OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MIN_DTLS, &mindtls),
				   OSSL_PARAM_int(OSSL_CAPABILITY_TLS_GROUP_MAX_DTLS, &maxdtls),
				   OSSL_PARAM_END };
		if (!cb(p, arg))
			return 0;
	}
	return 1;
}

/* ---- provider parameters ------------------------------------------------ */

static const OSSL_PARAM *prov_gettable_params(void *provctx)
{
	static const OSSL_PARAM p[] = { OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_NAME, NULL, 0),
					OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_VERSION, NULL, 0),
					OSSL_PARAM_utf8_ptr(OSSL_PROV_PARAM_BUILDINFO, NULL, 0),
					OSSL_PARAM_int(OSSL_PROV_PARAM_STATUS, NULL), OSSL_PARAM_END };
	return p;
}

static int prov_get_params(void *provctx, OSSL_PARAM params[])
{
	OSSL_PARAM *p;

	if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME)) != NULL &&
	    !OSSL_PARAM_set_utf8_ptr(p, "capfhsm: PKCS#11 token keys for capf-appliance"))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION)) != NULL &&
	    !OSSL_PARAM_set_utf8_ptr(p, CHSM_VERSION))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO)) != NULL &&
	    !OSSL_PARAM_set_utf8_ptr(p, OPENSSL_VERSION_TEXT))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS)) != NULL && !OSSL_PARAM_set_int(p, 1))
		return 0;
	return 1;
}

static void prov_teardown(void *provctx)
{
	struct chsm_prov *prov = provctx;

	if (prov == NULL)
		return;
	tokcache_free(prov->tokens);
	OSSL_LIB_CTX_free(prov->libctx);
	OPENSSL_free(prov->module_path);
	OPENSSL_free(prov->module_source);
	OPENSSL_free(prov);
}

static const OSSL_DISPATCH prov_dispatch[] = {
	{ OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))prov_teardown },
	{ OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))prov_gettable_params },
	{ OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))prov_get_params },
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))prov_query },
	{ OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))prov_get_capabilities },
	{ 0, NULL }
};

/* An unsigned provider parameter ("" or absent: 0). */
static int conf_uint(const char *name, const char *v, unsigned max, unsigned *out)
{
	char *end;
	unsigned long n;

	*out = 0;
	if (v == NULL || *v == '\0')
		return 1;
	n = strtoul(v, &end, 10);
	if (*end != '\0' || n > max) {
		chsm_raise(ERR_R_PASSED_INVALID_ARGUMENT, "%s = \"%s\": expected 0..%u", name, v, max);
		return 0;
	}
	*out = (unsigned)n;
	return 1;
}

/*
 * The provider's configuration: what the application handed the library
 * context (its openssl.cnf section, or the configuration appliance/common/hsm.c
 * loads from capf.conf). The module: pkcs11-module-path, else $CAPFHSM_MODULE,
 * else the SoftHSM default.
 */
static int read_config(struct chsm_prov *prov, const OSSL_DISPATCH *in)
{
	OSSL_FUNC_core_get_params_fn *get_params = NULL;
	const char *cfg = NULL, *reinit = NULL, *recover = NULL, *pool = NULL, *path, *src;

	for (; in->function_id != 0; in++)
		if (in->function_id == OSSL_FUNC_CORE_GET_PARAMS)
			get_params = OSSL_FUNC_core_get_params(in);
	if (get_params != NULL) {
		OSSL_PARAM p[] = { OSSL_PARAM_utf8_ptr(CHSM_CFG_MODULE, (char **)&cfg, 0),
				   OSSL_PARAM_utf8_ptr(CHSM_CFG_REINIT, (char **)&reinit, 0),
				   OSSL_PARAM_utf8_ptr(CHSM_CFG_RECOVER_MS, (char **)&recover, 0),
				   OSSL_PARAM_utf8_ptr(CHSM_CFG_POOL, (char **)&pool, 0), OSSL_PARAM_END };
		if (!get_params(prov->handle, p))
			cfg = reinit = recover = pool = NULL;
	}
	if (cfg != NULL && *cfg != '\0') {
		path = cfg;
		src = "the provider configuration's " CHSM_CFG_MODULE;
	} else if ((path = secure_getenv(P11_MODULE_ENV)) != NULL && *path != '\0') {
		src = "$" P11_MODULE_ENV;
	} else {
		path = P11_DEFAULT_MODULE;
		src = "default";
	}
	if (path[0] != '/') {
		chsm_raise(ERR_R_PASSED_INVALID_ARGUMENT,
			   "PKCS#11 module \"%s\" (from %s) is not an absolute path", path, src);
		return 0;
	}
	prov->reinit_module = reinit != NULL && (strcmp(reinit, "1") == 0 || strcmp(reinit, "yes") == 0);
	if (!conf_uint(CHSM_CFG_RECOVER_MS, recover, 600000, &prov->recover_ms) ||
	    !conf_uint(CHSM_CFG_POOL, pool, P11_MAX_POOL, &prov->pool_size))
		return 0;
	prov->module_path = OPENSSL_strdup(path);
	prov->module_source = OPENSSL_strdup(src);
	return prov->module_path != NULL && prov->module_source != NULL;
}

/*
 * The one export besides OSSL_provider_init: the application's log for the
 * token layer's events (recovery, module re-initialisation, refused PIN),
 * found with dlsym by appliance/common/hsm.c. fn NULL: discard (the default).
 * Process-wide, like the layer's state.
 */
__attribute__((visibility("default"))) void capfhsm_set_log_fn(p11_log_fn *fn, void *arg);
void capfhsm_set_log_fn(p11_log_fn *fn, void *arg)
{
	p11_set_log_fn(fn, arg);
}

__attribute__((visibility("default"))) int OSSL_provider_init(const OSSL_CORE_HANDLE *handle,
							      const OSSL_DISPATCH *in,
							      const OSSL_DISPATCH **out, void **provctx)
{
	struct chsm_prov *prov;

	if ((prov = OPENSSL_zalloc(sizeof(*prov))) == NULL)
		return 0;
	prov->handle = handle;
	if ((prov->tokens = OPENSSL_zalloc(sizeof(*prov->tokens))) == NULL)
		goto fail;
	pthread_mutex_init(&prov->tokens->lock, NULL);
	if (!read_config(prov, in))
		goto fail;
	/* The provider is a guest in the application's process: the module it
	 * loads may also be used by the application (or by another copy of the
	 * token layer), which C_Finalize would pull from under it. Our copy of
	 * the layer never finalizes, unless the application said that the
	 * provider is the module's only user (CHSM_CFG_REINIT); exit is handled
	 * by the layer (p11.h). */
	p11_set_finalize(prov->reinit_module);
	/* Hashing and software keys happen in a child of the core's library
	 * context: we never load ourselves into (or rely on) the default one. */
	if ((prov->libctx = OSSL_LIB_CTX_new_child(handle, in)) == NULL) {
		chsm_raise(ERR_R_INIT_FAIL, "cannot create a child library context");
		goto fail;
	}
	*out = prov_dispatch;
	*provctx = prov;
	return 1;
fail:
	prov_teardown(prov);
	return 0;
}
