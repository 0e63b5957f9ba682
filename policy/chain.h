/*
 * policy/chain.h: the CAPF CA certificate, self-signed or signed by a third-party
 * CA (then with its chain up to the root, PEM). Loading checks that:
 *   - the chain verifies (X509_verify_cert, strict, the chain's self-signed root as
 *     the only trust anchor, at time now);
 *   - the CAPF CA has basicConstraints CA:TRUE (critical) with pathlen 0, keyUsage
 *     keyCertSign and digitalSignature, a subject key identifier, an RSA or EC key;
 *   - it is valid at now (not expired, not yet valid: both errors).
 * Every finding is reported, joined by "; ".
 */
#ifndef CAPF_POLICY_CHAIN_H
#define CAPF_POLICY_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

#define CAPF_CA_PEM_MAX (1024 * 1024) /* certificate or chain file */
#define CAPF_CA_CHAIN_MAX 8           /* certificates in a chain file */

struct capf_ca;

/* The CAPF CA from PEM text (the files capf.conf names, read by
 * appliance/common/conffile.h's capf_ca_load, or an import through capfctl);
 * chain_pem may be NULL. Returns 0 and *out (capf_ca_free). */
int capf_ca_from_pem(const char *cert_pem, size_t cert_len, const char *chain_pem, size_t chain_len, time_t now,
		     struct capf_ca **out, char *err, size_t errlen);

/* The same from parsed certificates; takes its own references (the caller keeps theirs). */
int capf_ca_from_x509(X509 *cert, STACK_OF(X509) * chain, time_t now, struct capf_ca **out, char *err,
		      size_t errlen);

void capf_ca_free(struct capf_ca *ca);

/* Borrowed pointers, valid while ca lives. */
X509 *capf_ca_cert(const struct capf_ca *ca);
STACK_OF(X509) * capf_ca_chain(const struct capf_ca *ca); /* intermediates, root last; empty if self-signed */
X509 *capf_ca_root(const struct capf_ca *ca);             /* the trust anchor (ca cert when self-signed) */
bool capf_ca_self_signed(const struct capf_ca *ca);
time_t capf_ca_not_before(const struct capf_ca *ca);
time_t capf_ca_not_after(const struct capf_ca *ca);
/* The earliest notAfter of the CAPF CA and the certificates above it (its own when
 * self-signed): nothing it signs verifies after that, so no LSC may outlive it. */
time_t capf_ca_chain_not_after(const struct capf_ca *ca);
/* Whole days until notAfter (negative once expired). */
long capf_ca_days_left(const struct capf_ca *ca, time_t now);

/* Verifies a signed certificate (an LSC) up to the root at time now. 0 or -1. */
int capf_ca_verify(const struct capf_ca *ca, X509 *leaf, time_t now, char *err, size_t errlen);

#endif
