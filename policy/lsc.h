/*
 * policy/lsc.h: the Locally Significant Certificate, built unsigned from the policy,
 * the CAPF CA and the phone's key; and a lint, an independent second check that
 * parses the finished certificate back and compares it with the policy. The daemon
 * signs (X509_sign with the token key and the digest returned here) only when the
 * lint of the unsigned certificate passed, and lints the signed one again.
 *
 * The profile (CAPF-PROTOCOL.md, "The certificate phones expect"):
 *   version 3; serial: lsc.serial_bits CSPRNG bits (RAND_bytes), positive, drawn
 *   again while below 2^(serial_bits - 32) (so zero never occurs and the lint can tell
 *   a short serial), at most 20 octets;
 *   subject: the copied CAPF CA attributes (lsc.copy_subject), in the CA's order, then
 *   CN = device name; issuer: the CAPF CA certificate's subject;
 *   notBefore = max(now - lsc.backdate_seconds, CA notBefore);
 *   notAfter = notBefore + lsc.validity_days, or the CA's notAfter when that is earlier
 *   (lsc.beyond_ca = truncate; refuse: no certificate), where the CA's notAfter is the
 *   earliest of its chain's (capf_ca_chain_not_after);
 *   extensions, in this order and no other: basicConstraints CA:FALSE (critical),
 *   keyUsage (critical) digitalSignature + keyEncipherment (RSA) or digitalSignature (EC),
 *   extendedKeyUsage serverAuth, clientAuth, ipsecEndSystem (not critical),
 *   subjectKeyIdentifier = SHA-1 of the subjectPublicKey BIT STRING (RFC 5280 4.2.1.2 (1)),
 *   authorityKeyIdentifier keyid = the CA's subjectKeyIdentifier,
 *   subjectAltName URI = device name.
 *
 * The daemon's sequence (policy calls in brackets):
 *   key = [capf_pubkey_decode](conf, PUBLIC_KEY, &decision.keys[i])  -- the key asked for?
 *   x   = [capf_lsc_build](conf, ca, &in, &md)            -- unsigned, algorithms preset
 *   [capf_lsc_lint](conf, ca, &in, x, errs) == 0          -- else refuse, log every finding
 *   X509_sign(x, token_key, md)                           -- the only token use
 *   [capf_lsc_lint](conf, ca, &in, x, errs) == 0          -- again, now with the signature
 *   record the issuance, then send it.
 * (The CAPF CA's own chain is verified when it is loaded, capf_ca_load; the lint
 * verifies the LSC's signature with the CA's key, so nothing above it is redone.)
 * Neither build nor lint makes OpenSSL decode or encode a key through its decoder
 * framework (policy/der.h): that alone cost about 0.5 ms per issuance.
 * All functions are reentrant (no global state); X509 objects are not shared.
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
	const char *device_name;    /* checked with capf_name_check */
	const unsigned char *spki;  /* the phone's PUBLIC_KEY, DER SubjectPublicKeyInfo, as sent; */
	size_t spki_len;            /* it goes into the certificate byte for byte */
	time_t now;
};

/* The unsigned LSC and, in *md, the digest to sign it with. NULL and a message when
 * the request cannot get a certificate (e.g. beyond the CA's notAfter with refuse).
 * The certificate holds the key as the phone's bytes only: X509_get0_pubkey on it is
 * NULL (parse its DER to get an EVP_PKEY). */
X509 *capf_lsc_build(const struct capf_conf *c, const struct capf_ca *ca,
		     const struct capf_lsc_input *in, const EVP_MD **md, char *err, size_t errlen);

/* The digest of lsc.digest (OpenSSL's built-in EVP_MD). */
const EVP_MD *capf_lsc_digest(const struct capf_conf *c);

/* Lints cert (unsigned or signed) for in under the policy: 0 when clean, else -1 and
 * every finding in errs. A signed certificate is also checked for the signature
 * algorithm (lsc.digest with the CA's key type) and the signature (CA public key). */
int capf_lsc_lint(const struct capf_conf *c, const struct capf_ca *ca,
		  const struct capf_lsc_input *in, X509 *cert, struct capf_errlist *errs);

#endif
