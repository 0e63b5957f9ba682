/*
 * pkcs11/p11.h: the token layer. Everything the appliance does with a PKCS#11
 * token goes through here: load a module, open a token named by a pkcs11: URI
 * and log in with a PIN read from a file, find keys and certificates, generate
 * key pairs inside the token, and sign (raw C_Sign, one operation per session,
 * from a pool of sessions so that threads sign in parallel).
 *
 * Conventions: functions return P11_OK (0) or a negative P11_E* and write a
 * message for people into err (e.g. "C_Sign: CKR_DEVICE_ERROR (token device
 * error)"). Nothing here prints; events (fault recovery, and with tracing on
 * every Cryptoki call) go to the callback set with p11_set_log_fn.
 * All functions taking a token or object are thread-safe.
 *
 * Why Cryptoki and not libp11, module lifetime, process exit, failed
 * operations and fault recovery (with opts.reinit_module: set it only when
 * this copy of the layer is the module's only user in the process):
 * docs/TOKEN.md.
 *
 * Processes that fork: open tokens in the process that uses them, after the
 * fork (a child may not use its parent's Cryptoki sessions).
 * The log callback may be called with the layer's locks held: it must not
 * call back into this layer.
 */
#ifndef CAPF_P11_H
#define CAPF_P11_H

#include <stddef.h>
#include <p11-kit/pkcs11.h>
#include <openssl/types.h>

#include "pkcs11/p11_uri.h"

/* Return codes. */
#define P11_OK 0
#define P11_ERR (-1)   /* bad request, not found, config error: do not retry */
#define P11_EDOWN (-2) /* token down or re-initialising: retry later */
#define P11_EPIN (-3)  /* wrong or locked PIN: operator action needed, never retried */

#define P11_DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define P11_MODULE_ENV "CAPFHSM_MODULE"
#define P11_DEFAULT_POOL 8
#define P11_MAX_POOL 64
#define P11_PIN_MAX 256 /* bytes in a PIN file (after the newline is stripped) */

/* ---- logging ---------------------------------------------------------- */

/* level: syslog LOG_ERR..LOG_DEBUG. msg has no trailing newline and never a PIN. */
typedef void p11_log_fn(void *arg, int level, const char *msg);

/* Process-wide. fn NULL: discard. */
void p11_set_log_fn(p11_log_fn *fn, void *arg);
/* Trace every Cryptoki call (name, session, CK_RV) at LOG_DEBUG. */
void p11_set_trace(int on);
/* Whether the last module reference calls C_Finalize (default 1). */
void p11_set_finalize(int on);
/* The process is exiting: never call a module again (see "Process exit"
 * above). Async-signal-safe (one atomic store); irreversible. */
void p11_set_exiting(void);

/* ---- CK_RV ------------------------------------------------------------ */

const char *p11_rv_name(CK_RV rv); /* "CKR_DEVICE_ERROR", or "CKR_0x..." (static buffer per thread) */
const char *p11_rv_text(CK_RV rv); /* "token device error" */
/* Writes "FN: CKR_NAME (text)" into buf. Returns buf. */
const char *p11_rv_msg(char *buf, size_t len, const char *fn, CK_RV rv);
/* Whether rv is a token fault that re-opening sessions may cure. */
int p11_rv_is_fault(CK_RV rv);

/* ---- modules ---------------------------------------------------------- */

struct p11_module;

/* Loads (or takes another reference on) the module at path. */
int p11_module_load(const char *path, struct p11_module **out, char *err, size_t errlen);
void p11_module_unref(struct p11_module *m);
CK_FUNCTION_LIST *p11_module_functions(const struct p11_module *m);
const char *p11_module_path(const struct p11_module *m);

/* Which module to use: override if not NULL, else the URI's module-path, else
 * $CAPFHSM_MODULE, else P11_DEFAULT_MODULE. */
const char *p11_module_choose(const char *override, const struct p11_uri *uri);

/* ---- tokens ----------------------------------------------------------- */

struct p11_token;

struct p11_token_opts {
	const char *module_path; /* overrides the URI (see p11_module_choose) */
	unsigned pool_size;      /* sessions; 0: P11_DEFAULT_POOL, capped at P11_MAX_POOL */
	unsigned recover_ms;     /* minimum gap between recoveries; 0: 1000 */
	int rw;                  /* read-write sessions (needed for keygen) */
	int no_login;            /* do not log in even when the URI has pin-source */
	int reinit_module;       /* may re-initialise a wedged module: see "Recovery" */
};

/*
 * Opens the one token the URI's token attributes select (error when none or
 * several match), opens a session and, when the URI has pin-source (and
 * !opts->no_login), logs in as CKU_USER with the PIN from that file.
 * opts may be NULL. A wrong PIN returns P11_EPIN and is never retried by this
 * token: further logins are refused until it is closed and opened again.
 */
int p11_token_open(const struct p11_uri *uri, const struct p11_token_opts *opts, struct p11_token **out,
		   char *err, size_t errlen);
/* Drops the caller's reference (objects hold their own). */
void p11_token_close(struct p11_token *t);

CK_SLOT_ID p11_token_slot(const struct p11_token *t);
struct p11_module *p11_token_module(const struct p11_token *t); /* borrowed */
const char *p11_token_label(const struct p11_token *t);         /* trimmed label */
/* Fresh C_GetTokenInfo. */
int p11_token_info(struct p11_token *t, CK_TOKEN_INFO *info, char *err, size_t errlen);
/* 1 while the token is down (the last recovery failed, or a wrong PIN). */
int p11_token_is_down(struct p11_token *t);
/* Number of successful fault recoveries so far. */
unsigned long p11_token_recoveries(struct p11_token *t);
/* Sessions discarded so far: a session whose operation failed (any CK_RV but
 * CKR_OK) is never returned to the pool; a fresh one replaces it. */
unsigned long p11_token_discarded(struct p11_token *t);

/*
 * Initialises a token (capf-token init): C_InitToken on the first slot whose
 * token is not initialised (refused when a token labelled label already
 * exists), then SO login and C_InitPIN. PINs from files (see p11_pin_read).
 */
int p11_token_init(const char *module_path, const char *label, const char *so_pin_file, const char *pin_file,
		   CK_SLOT_ID *slot_out, char *err, size_t errlen);

/* ---- objects ---------------------------------------------------------- */

struct p11_object;

/*
 * Finds the objects the URI's object attributes (object=, id=, type=) select;
 * with neither, every object the session can see. Private keys, public keys,
 * certificates (also secret keys and data with type=). At most max objects;
 * *out is an array of *n references the caller releases with p11_objects_free.
 */
int p11_find(struct p11_token *t, const struct p11_uri *uri, size_t max, struct p11_object ***out, size_t *n,
	     char *err, size_t errlen);
void p11_objects_free(struct p11_object **objs, size_t n);

/* Exactly one object of class cls (CKO_PRIVATE_KEY...) matching the URI;
 * error when none or several. */
int p11_find_one(struct p11_token *t, const struct p11_uri *uri, CK_OBJECT_CLASS cls, struct p11_object **out,
		 char *err, size_t errlen);

struct p11_object *p11_object_ref(struct p11_object *o);
void p11_object_free(struct p11_object *o);

struct p11_token *p11_object_token(const struct p11_object *o); /* borrowed */
CK_OBJECT_CLASS p11_object_class(const struct p11_object *o);
CK_KEY_TYPE p11_object_key_type(const struct p11_object *o); /* CKK_RSA, CKK_EC, or (CK_KEY_TYPE)-1 */
const char *p11_object_label(const struct p11_object *o);    /* "" when none */
const unsigned char *p11_object_id(const struct p11_object *o, size_t *len);
/* Key size in bits (RSA modulus, EC field); 0 for others. */
unsigned p11_object_bits(const struct p11_object *o);
/* NID of an EC key's curve (NID_X9_62_prime256v1...), NID_undef otherwise. */
int p11_object_curve_nid(const struct p11_object *o);
/* The object as a URI (token, object, id, type; no query). */
int p11_object_uri(const struct p11_object *o, char *buf, size_t len);

/*
 * The public key of a key or certificate object. For a private key: the public
 * key object with the same CKA_ID, else a certificate with the same CKA_ID, else
 * (RSA) the private key's own CKA_MODULUS/CKA_PUBLIC_EXPONENT. libctx/propq
 * name where the EVP_PKEY is created (NULL: default).
 */
int p11_object_public_key(struct p11_object *o, OSSL_LIB_CTX *libctx, const char *propq, EVP_PKEY **out,
			  char *err, size_t errlen);

/* A certificate object's CKA_VALUE (DER); *der freed with OPENSSL_free. */
int p11_object_cert_der(struct p11_object *o, unsigned char **der, size_t *len, char *err, size_t errlen);

/* Reads one attribute. *rv gets the CK_RV of C_GetAttributeValue (e.g.
 * CKR_ATTRIBUTE_SENSITIVE); *val is freed with OPENSSL_free. */
int p11_object_attr(struct p11_object *o, CK_ATTRIBUTE_TYPE type, unsigned char **val, size_t *len, CK_RV *rv,
		    char *err, size_t errlen);
/* A CK_BBOOL attribute: *val 0 or 1. */
int p11_object_bool(struct p11_object *o, CK_ATTRIBUTE_TYPE type, int *val, char *err, size_t errlen);

/* ---- signing ---------------------------------------------------------- */

/* Largest signature of the key in bytes (RSA: modulus; ECDSA raw r||s: 2 * field). */
size_t p11_sign_size(const struct p11_object *key);

/*
 * One C_SignInit + C_Sign on a pooled session. mech: CKM_RSA_PKCS (in is
 * DigestInfo || hash), CKM_RSA_PKCS_PSS (params: CK_RSA_PKCS_PSS_PARAMS, in is
 * the hash) or CKM_ECDSA (in is the hash, out raw r||s). out NULL: *outlen gets
 * p11_sign_size. Otherwise *outlen is out's capacity (at least p11_sign_size)
 * and gets the signature length. On a token fault the sessions are re-opened
 * (rate-limited) and the operation retried once; P11_EDOWN when that fails.
 */
int p11_sign(struct p11_object *key, CK_MECHANISM_TYPE mech, const void *params, size_t paramslen,
	     const unsigned char *in, size_t inlen, unsigned char *out, size_t *outlen, char *err,
	     size_t errlen);

/* Raw r||s (rslen even, at most 2*66 bytes) to DER ECDSA-Sig-Value. *derlen
 * is der's capacity on entry (P11_ECDSA_DER_MAX is always enough). */
#define P11_ECDSA_DER_MAX (2 * (66 + 1 + 3) + 3)
int p11_ecdsa_raw_to_der(const unsigned char *rs, size_t rslen, unsigned char *der, size_t *derlen, char *err,
			 size_t errlen);

/* ---- key generation ---------------------------------------------------- */

struct p11_keyspec {
	CK_KEY_TYPE type; /* CKK_RSA or CKK_EC */
	unsigned bits;    /* RSA: 2048, 3072, 4096 */
	int curve_nid;    /* EC: NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1 */
};

/* "rsa:2048" "rsa:3072" "rsa:4096" "ec:P-256" "ec:P-384" "ec:P-521". */
int p11_keyspec_parse(const char *s, struct p11_keyspec *spec, char *err, size_t errlen);

/*
 * Generates a key pair inside the token (needs a logged-in, rw token): private
 * key CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, !CKA_EXTRACTABLE, CKA_SIGN only;
 * public key CKA_TOKEN, CKA_VERIFY; both with label and CKA_ID (id NULL: 16
 * random bytes). Refuses a label any object already has. *priv: the new
 * private key (may be NULL when not wanted).
 */
int p11_keygen(struct p11_token *t, const struct p11_keyspec *spec, const char *label, const unsigned char *id,
	       size_t idlen, struct p11_object **priv, char *err, size_t errlen);

/* Whether any object of the token has CKA_LABEL label (checked before a key
 * generation, so that nothing is generated when the label is taken). */
int p11_label_in_use(struct p11_token *t, const char *label, int *in_use, char *err, size_t errlen);

/*
 * Destroys a key pair p11_keygen made: the private key priv and the public key
 * with its CKA_ID (a generation whose later steps failed). P11_OK, or the
 * token's refusal in err (e.g. CKR_ACTION_PROHIBITED: the caller then names
 * the key as left behind).
 */
int p11_keypair_destroy(struct p11_object *priv, char *err, size_t errlen);

/* ---- secret keys (pkcs11/secret.c) ------------------------------------- */

#define P11_HMAC_LEN 32

/*
 * Generates a 256-bit CKK_GENERIC_SECRET key inside the token (logged-in, rw):
 * CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, !CKA_EXTRACTABLE, CKA_SIGN and
 * CKA_VERIFY only, a random 16-byte CKA_ID. Refuses a label any object has.
 */
int p11_secret_keygen(struct p11_token *t, const char *label, struct p11_object **key, char *err,
		      size_t errlen);

/* out = HMAC-SHA-256 (C_Sign with CKM_SHA256_HMAC) of in[0..inlen) (1..4096
 * bytes) under a CKK_GENERIC_SECRET or CKK_SHA256_HMAC key; one pooled session,
 * recovered and retried once like p11_sign. */
int p11_hmac_sha256(struct p11_object *key, const unsigned char *in, size_t inlen,
		    unsigned char out[P11_HMAC_LEN], char *err, size_t errlen);

#endif
