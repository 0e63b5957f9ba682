/*
 * appliance/common/hsm.h: token keys through the capfhsm provider, the one way the
 * programs use a private key. A capf_hsm is an own OSSL_LIB_CTX with the capfhsm and
 * default providers loaded (never OpenSSL's global default context: SoftHSM itself
 * uses that one and would recurse into the provider).
 *
 * The provider is searched in dir when given, else next to the program:
 * <dir of /proc/self/exe>/../lib, then ../lib/capf-appliance (an installed tree).
 */
#ifndef CAPF_COMMON_HSM_H
#define CAPF_COMMON_HSM_H

#include <stddef.h>
#include <openssl/types.h>

struct capf_hsm;

int capf_hsm_open(const char *provider_dir, struct capf_hsm **out, char *err, size_t errlen);
void capf_hsm_close(struct capf_hsm *h);
OSSL_LIB_CTX *capf_hsm_libctx(const struct capf_hsm *h);

/* Opens the private key a "pkcs11:" URI names (a file path works too, through the
 * default provider's file store). Exactly one private key must match. */
int capf_hsm_load_key(struct capf_hsm *h, const char *uri, EVP_PKEY **out, char *err, size_t errlen);

/* The provider directory that would be used (for messages). */
const char *capf_hsm_provider_dir(const struct capf_hsm *h);

#endif
