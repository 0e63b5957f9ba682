/*
 * policy/der.h: the DER the policy reads itself, without OpenSSL's decoder
 * framework. OpenSSL 3.0 sets up a decoder chain (every key manager, every
 * decoder, under global locks) each time it turns a SubjectPublicKeyInfo into an
 * EVP_PKEY: about 100 us per key, the same for d2i_X509, which decodes the
 * certificate's key too. The issuance path needs neither: it reads the two key
 * types it accepts with the strict parser here, makes the EVP_PKEY from the
 * numbers (EVP_PKEY_fromdata, a few us), and parses certificates it only has to
 * look at with a library context that holds no key managers (no key object built).
 *
 *   capf_spki_parse   the phone's SubjectPublicKeyInfo, exact DER: rsaEncryption
 *                     (NULL parameters) or id-ecPublicKey on P-256/384/521 with an
 *                     uncompressed point; anything else refused with a reason.
 *   capf_spki_pkey    the EVP_PKEY of a parsed key (checks an EC point is on its curve).
 *   capf_spki_set     writes a parsed key into a certificate's X509_PUBKEY, bit for bit.
 *   capf_der_x509     a certificate parsed without building its key (X509_get0_pubkey
 *                     is NULL; everything else readable).
 *   capf_der_cert_tbs the TBSCertificate bytes of a DER certificate (what is signed).
 *   capf_der_tbs_sigalg the signature AlgorithmIdentifier inside a TBSCertificate.
 *   capf_der_cert_assemble a DER certificate from a TBSCertificate, an algorithm and
 *                     a signature (what the key process returns).
 * Pure functions over caller memory; the parse-only library context is created
 * once (thread-safe) and never changes.
 */
#ifndef CAPF_POLICY_DER_H
#define CAPF_POLICY_DER_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy/device.h"

struct capf_spki {
	enum capf_key_type type;
	const uint8_t *n, *e; /* RSA: big-endian, no leading zero octet */
	size_t n_len, e_len;
	unsigned rsa_bits;
	enum capf_curve curve; /* EC */
	const uint8_t *point;  /* EC: 04 || X || Y */
	size_t point_len;
	const uint8_t *bits; /* the subjectPublicKey BIT STRING's content */
	size_t bits_len;
};

/* 0 and *out pointing into der; -1 with a message ("public key ..."). der is the
 * whole input: trailing bytes are refused. */
int capf_spki_parse(const uint8_t *der, size_t len, struct capf_spki *out, char *err, size_t errlen);

/* A new public EVP_PKEY (default library context), NULL on failure (EC: the point is
 * not on the curve). */
EVP_PKEY *capf_spki_pkey(const struct capf_spki *k);

/* Sets pub's algorithm and key bits to k's (no key object is built). 1 or 0. */
int capf_spki_set(X509_PUBKEY *pub, const struct capf_spki *k);

/* The certificate in der[0..len) (all of it), or NULL. */
X509 *capf_der_x509(const uint8_t *der, size_t len);

/* *tbs and *tbs_len: the TBSCertificate element inside a DER certificate, which must
 * be a SEQUENCE of exactly a SEQUENCE (TBSCertificate), a SEQUENCE
 * (signatureAlgorithm) and a BIT STRING (signatureValue). 0 or -1. */
int capf_der_cert_tbs(const uint8_t *der, size_t len, const uint8_t **tbs, size_t *tbs_len);

/* *alg and *alg_len: the signature AlgorithmIdentifier inside a TBSCertificate
 * (after the optional version and the serial number). 0 or -1. */
int capf_der_tbs_sigalg(const uint8_t *tbs, size_t len, const uint8_t **alg, size_t *alg_len);

/* A DER certificate from its parts: SEQUENCE { tbs, alg, BIT STRING (no unused
 * bits) sig }. A new buffer (free()) and *out_len, or NULL. */
uint8_t *capf_der_cert_assemble(const uint8_t *tbs, size_t tbs_len, const uint8_t *alg, size_t alg_len,
				const uint8_t *sig, size_t sig_len, size_t *out_len);

#endif
