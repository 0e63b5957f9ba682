/*
 * policy/lsc.h: the Locally Significant Certificate, built unsigned from the policy,
 * the CAPF CA and the phone's key; and a lint, an independent second check that
 * parses the finished certificate back and compares it with the policy. capf-signerd
 * lints the encoding of the unsigned certificate and sends those bytes to the key
 * process, which lints them again (capf_lsc_lint_issued_der), signs them with the
 * digest returned here and verifies the signature.
 *
 * The profile, field by field, and the sequence around the signature:
 * docs/CERTIFICATES.md. All functions are reentrant (no global state).
 */
#ifndef CAPF_POLICY_LSC_H
#define CAPF_POLICY_LSC_H

#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy/chain.h"
#include "policy/config.h"
#include "policy/errlist.h"

struct capf_lsc_input {
	const char *device_name;   /* checked with capf_name_check */
	const unsigned char *spki; /* the phone's PUBLIC_KEY, DER SubjectPublicKeyInfo, as sent; */
	size_t spki_len;           /* it goes into the certificate byte for byte */
	time_t now;
};

/* The unsigned LSC and, in *md, the digest to sign it with. NULL and a message when
 * the request cannot get a certificate (e.g. beyond the CA's notAfter with refuse).
 * The certificate holds the key as the phone's bytes only: X509_get0_pubkey on it is
 * NULL (parse its DER to get an EVP_PKEY). */
X509 *capf_lsc_build(const struct capf_conf *c, const struct capf_ca *ca, const struct capf_lsc_input *in,
		     const EVP_MD **md, char *err, size_t errlen);

/* The digest of lsc.digest (OpenSSL's built-in EVP_MD). */
const EVP_MD *capf_lsc_digest(const struct capf_conf *c);

/* Lints cert (unsigned or signed) for in under the policy: 0 when clean, else -1 and
 * every finding in errs. A signed certificate is also checked for the signature
 * algorithm (lsc.digest with the CA's key type) and the signature (CA public key). */
int capf_lsc_lint(const struct capf_conf *c, const struct capf_ca *ca, const struct capf_lsc_input *in,
		  X509 *cert, struct capf_errlist *errs);
/* The same for a certificate's DER encoding (what is signed or sent): no
 * re-encoding of an object. */
int capf_lsc_lint_der(const struct capf_conf *c, const struct capf_ca *ca, const struct capf_lsc_input *in,
		      const unsigned char *der, size_t len, struct capf_errlist *errs);
/* The same when the caller parsed der already: y must be capf_der_x509(der, len)
 * (NULL: it did not parse), so that what is linted is what is signed. */
int capf_lsc_lint_parsed(const struct capf_conf *c, const struct capf_ca *ca, const struct capf_lsc_input *in,
			 const unsigned char *der, size_t len, X509 *y, struct capf_errlist *errs);

#endif
