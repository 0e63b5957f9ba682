/*
 * policy/certlint.h: lints for every certificate the CAPF CA key signs, applied
 * by the key process (capf-keyd) to what capf-signerd hands it, so that a
 * compromised signer still cannot have an arbitrary certificate signed:
 *
 *   capf_lsc_lint_issued   an LSC, its inputs read back from the certificate
 *                          itself (device name from the last CN, the key as
 *                          encoded, the time from notBefore), then capf_lsc_lint
 *   capf_tls_lint          the front end's TLS server certificate under the CA
 *   capf_cacert_lint       a self-signed CAPF CA certificate for the given key
 *   capf_csr_lint          a CSR for the given key
 *
 * Pure functions: no I/O, no token. 0 when clean, else -1 and every finding in
 * errs (which may be NULL).
 */
#ifndef CAPF_POLICY_CERTLINT_H
#define CAPF_POLICY_CERTLINT_H

#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy/chain.h"
#include "policy/config.h"
#include "policy/errlist.h"

/* How far the certificate's times may be from the lint's clock (seconds). */
#define CAPF_LINT_CLOCK_SLACK 300

int capf_lsc_lint_issued(const struct capf_conf *c, const struct capf_ca *ca, X509 *cert, time_t now,
			 struct capf_errlist *errs);
/* The same on a certificate's DER: the bytes themselves are linted. */
int capf_lsc_lint_issued_der(const struct capf_conf *c, const struct capf_ca *ca, const unsigned char *der,
			     size_t len, time_t now, struct capf_errlist *errs);
int capf_tls_lint(const struct capf_ca *ca, X509 *cert, time_t now, struct capf_errlist *errs);
int capf_cacert_lint(X509 *cert, EVP_PKEY *key, time_t now, struct capf_errlist *errs);
int capf_csr_lint(X509_REQ *req, EVP_PKEY *key, struct capf_errlist *errs);

/*
 * Writes the signature algorithm X509_sign will write (signer's key type with md,
 * PKCS#1 v1.5 for RSA) into both AlgorithmIdentifiers of x, so that the unsigned
 * certificate can be encoded, linted and handed to the key process. 0 or -1.
 */
int capf_cert_preset_sigalg(X509 *x, EVP_PKEY *signer, const EVP_MD *md);
/* The same for a CSR (its one AlgorithmIdentifier). */
int capf_req_preset_sigalg(X509_REQ *r, EVP_PKEY *signer, const EVP_MD *md);
/* The digest for certificates (not LSCs) a key signs: SHA-256, SHA-384 for EC
 * P-384, SHA-512 for P-521. */
const EVP_MD *capf_cert_digest_for(EVP_PKEY *signer);

#endif
