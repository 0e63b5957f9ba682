/*
 * appliance/common/hsm.h: token keys through the capfhsm provider, the one way the
 * programs (capf-signerd, capf-frontd with a pkcs11: tls.key, capf-ceremony) open a
 * private key, and the only code that loads capfhsm into a library context.
 *
 * A capf_hsm is an own OSSL_LIB_CTX (never OpenSSL's global default context:
 * SoftHSM itself uses that one and would recurse into the provider) configured
 * the way an openssl.cnf would: the default provider, then capfhsm with its
 * configuration (pkcs11-module-path = capf.conf's token.module, and whether it
 * may re-initialise the module, see providers/capfhsm.h). So the provider takes
 * its module from capf.conf, else $CAPFHSM_MODULE, else SoftHSM's path.
 *
 * The provider is searched in o->provider_dir when given, else next to the
 * program: <dir of /proc/self/exe>/../lib, then ../lib/capf-appliance.
 *
 * o->log receives the provider's token events (recovery, module
 * re-initialisation, refused PIN), never a PIN; it may be called from any
 * thread with the token layer's locks held (it must not call back into it).
 */
#ifndef CAPF_COMMON_HSM_H
#define CAPF_COMMON_HSM_H

#include <stddef.h>
#include <openssl/types.h>

struct capf_hsm;

typedef void capf_hsm_log_fn(void *arg, int level, const char *msg);

struct capf_hsm_opts {
	const char *provider_dir; /* NULL or "": search next to the program */
	const char *module;       /* token.module; NULL or "": $CAPFHSM_MODULE, else SoftHSM's */
	int reinit_module;        /* the provider is the module's only user in this process:
					 * it may C_Finalize + C_Initialize a wedged module */
	unsigned recover_ms;      /* minimum gap between recoveries (0: 1000) */
	unsigned sessions;        /* token sessions per token (0: the provider's default) */
	capf_hsm_log_fn *log;     /* NULL: the provider's events are discarded */
	void *log_arg;
};

/* A capf_hsm_log_fn for the programs: capf_log(level, "token_event", "msg=...").
 * arg unused. */
void capf_hsm_log(void *arg, int level, const char *msg);

int capf_hsm_open(const struct capf_hsm_opts *o, struct capf_hsm **out, char *err, size_t errlen);
void capf_hsm_close(struct capf_hsm *h);
OSSL_LIB_CTX *capf_hsm_libctx(const struct capf_hsm *h);

/* The module the provider was configured with ("" when it chooses: $CAPFHSM_MODULE
 * or SoftHSM's). */
const char *capf_hsm_module(const struct capf_hsm *h);

/*
 * uri with pin-source (pin_source, "" none) and module-path (the configured
 * module) added when it has none, into out. A pkcs11: URI only.
 */
int capf_hsm_key_uri(const struct capf_hsm *h, const char *uri, const char *pin_source, char *out, size_t len,
		     char *err, size_t errlen);

/* Opens the private key a "pkcs11:" URI names (a file path works too, through the
 * default provider's file store). Exactly one private key must match.
 * Returns 0, -1 (bad URI, no such key, several keys), or -2 when the token is
 * unavailable (down, re-initialising, login refused): retry later. */
#define CAPF_HSM_EDOWN (-2)
int capf_hsm_load_key(struct capf_hsm *h, const char *uri, EVP_PKEY **out, char *err, size_t errlen);

/* The provider directory that would be used (for messages). */
const char *capf_hsm_provider_dir(const struct capf_hsm *h);

#endif
