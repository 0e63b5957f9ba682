/*
 * policy/cacert.h: the CAPF CA certificate profile, for the key ceremony and for
 * `capfctl capf regenerate|csr`. Phones (CUCM 14SU2 on) refuse TLS to a CAPF
 * certificate without it:
 *   basicConstraints CA:TRUE, pathlen:0 (critical);
 *   keyUsage digitalSignature, keyCertSign (critical);
 *   subjectKeyIdentifier (SHA-1 of the public key BIT STRING);
 *   authorityKeyIdentifier keyid (self-signed: its own key id).
 * Serial: 128 CSPRNG bits, positive. Builders return unsigned objects; the caller
 * signs with the token key (X509_sign / X509_REQ_sign) and checks the result with
 * capf_ca_from_x509 (policy/chain.h).
 */
#ifndef CAPF_POLICY_CACERT_H
#define CAPF_POLICY_CACERT_H

#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define CAPF_CACERT_DAYS_MAX (30 * 366) /* 30 years */

/* The one subject parser: "/C=US/O=Example Corp/OU=Voice/CN=CAPF-1" (OpenSSL's
 * -subj form, in order; "\/" escapes a slash) or RFC 4514 "CN=CAPF-1,OU=Voice,
 * O=Example Corp,C=US" (the last RDN first; "\," escapes a comma). One attribute
 * per RDN, from C ST L O OU CN emailAddress serialNumber. NULL with err. */
X509_NAME *capf_subject_parse(const char *subject, char *err, size_t errlen);

/* A self-signed CAPF CA certificate for pub, valid from now - 5 minutes for days. */
X509 *capf_cacert_build(OSSL_LIB_CTX *libctx, const X509_NAME *subject, EVP_PKEY *pub, unsigned days,
			time_t now, char *err, size_t errlen);

/* A CSR for pub asking for the same profile (extensionRequest). */
X509_REQ *capf_cacert_build_csr(OSSL_LIB_CTX *libctx, const X509_NAME *subject, EVP_PKEY *pub, char *err,
				size_t errlen);

/* The CAPF TLS certificate (capf-frontd's identity on port 3804), issued by the
 * CAPF CA ca_cert: v3, a 128-bit random serial, valid from now for days (1..
 * CAPF_TLSCERT_DAYS_MAX) but never past not_after_max (the CA and its chain),
 * CA:FALSE, digitalSignature (+ keyEncipherment for RSA), serverAuth, SKI, AKI,
 * and san (OpenSSL's subjectAltName syntax, "" for none). subject must hold a CN.
 * Unsigned: the caller signs it with the CA key. NULL with err. */
#define CAPF_TLSCERT_DAYS_MAX 3650
X509 *capf_tlscert_build(X509 *ca_cert, const X509_NAME *subject, EVP_PKEY *pub, unsigned days,
			 time_t not_after_max, const char *san, time_t now, char *err, size_t errlen);

#endif
