/*
 * providers/der.h: the few DER structures the capfhsm provider builds itself,
 * pure functions tested without a token: the DigestInfo prefix that goes in
 * front of a hash for CKM_RSA_PKCS, the signature AlgorithmIdentifier that
 * X509_sign asks for (PKCS#1 v1.5, RSASSA-PSS with its parameters, ECDSA),
 * and the PSS salt-length rules (digest / max / auto).
 *
 * Digests are named by NID; only SHA-256/384/512 may sign (SHA-1 and SHA-224
 * are known so that their prefixes and identifiers can be checked and refused
 * with a clear message rather than silently mishandled).
 */
#ifndef CHSM_PROVIDERS_DER_H
#define CHSM_PROVIDERS_DER_H

#include <stddef.h>

enum chsm_sig_scheme {
	CHSM_SIG_PKCS1 = 1, /* RSASSA-PKCS1-v1_5 */
	CHSM_SIG_PSS,       /* RSASSA-PSS, MGF1 */
	CHSM_SIG_ECDSA,
};

#define CHSM_ALGID_MAX 96 /* largest AlgorithmIdentifier built here */

/* Whether md_nid may be used to make a signature (SHA-256/384/512). */
int chsm_md_can_sign(int md_nid);

/* The DER DigestInfo header for md_nid (to which the hash is appended), or
 * NULL for a digest not known here. */
const unsigned char *chsm_digestinfo_prefix(int md_nid, size_t *len);

/*
 * Resolves a PSS salt length as OpenSSL's parameters give it
 * (RSA_PSS_SALTLEN_DIGEST -1, RSA_PSS_SALTLEN_AUTO -2, RSA_PSS_SALTLEN_MAX -3,
 * or a byte count) into bytes for a signature with a modbits-bit key and an
 * mdsize-byte hash. For signing, "auto" means "max" (as in OpenSSL). Returns
 * the salt length, or -1 when it cannot fit (message in err).
 */
int chsm_pss_saltlen(int saltlen, unsigned modbits, size_t mdsize, char *err, size_t errlen);

/*
 * The AlgorithmIdentifier (DER) of a signature: sha256WithRSAEncryption & co.
 * with NULL parameters; id-RSASSA-PSS with explicit RSASSA-PSS-params (hash,
 * MGF1 with mgf1_nid, salt length; DER defaults omitted); ecdsa-with-SHA256 &
 * co. without parameters. saltlen: resolved byte count (PSS only). Returns the
 * length written to out (at most outsz), or 0 when the combination is not one
 * we sign with (message in err).
 */
size_t chsm_sig_algid(enum chsm_sig_scheme scheme, int md_nid, int mgf1_nid, int saltlen, unsigned char *out,
		      size_t outsz, char *err, size_t errlen);

#endif
