/*
 * tests/unit/policy_pki.h: a software PKI for the policy tests (OpenSSL only, no
 * token): keys, and certificates with every knob a test needs to make them wrong.
 */
#ifndef CAPF_TESTS_POLICY_PKI_H
#define CAPF_TESTS_POLICY_PKI_H

#include <stdbool.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy/config.h"
#include "policy/lsc.h"

/* "RSA:2048", "EC:P-256", "ED25519", "RSA-PSS:2048": a new key (cached per spec;
 * "EC:P-256#2" is another P-256 key). */
EVP_PKEY *pki_key(const char *spec);
/* An RSA public key with the modulus n of a real key of bits and the exponent e
 * (0: 2^256 + 1); add > 0: n + add; add < 0: n made odd and divisible by -add. */
EVP_PKEY *pki_rsa_pub(unsigned bits, unsigned long e, int add);

/* k's DER SubjectPublicKeyInfo (i2d_PUBKEY), cached until exit; *len its length. */
const unsigned char *pki_spki(EVP_PKEY *k, size_t *len);
/* An LSC request for name with k's SubjectPublicKeyInfo. */
struct capf_lsc_input pki_input(const char *name, EVP_PKEY *k, time_t now);

struct pki_cert {
	const char *subject;  /* "/C=US/O=Example/CN=CAPF" */
	X509 *issuer;         /* NULL: self-signed */
	EVP_PKEY *issuer_key; /* NULL: key (self-signed) */
	EVP_PKEY *key;
	time_t not_before, not_after;
	const char *bc; /* "critical,CA:TRUE,pathlen:0"; NULL: none */
	const char *ku; /* "critical,keyCertSign,digitalSignature"; NULL: none */
	bool no_ski;
};
X509 *pki_cert(const struct pki_cert *p);

/* PEM of one or more certificates, malloc'ed, NUL-terminated. */
char *pki_pem(X509 *const *certs, int n, size_t *len);

/* A config with the defaults (no file). */
void pki_conf(struct capf_conf *c);

/* Whether one of the messages in l contains want. */
int pki_errs_have(const struct capf_errlist *l, const char *want);

/* A third-party hierarchy: root (EC P-384) -> intermediate (EC P-256) -> CAPF CA
 * (capf_key_spec; subject C, ST, L, O, OU, CN; CA:TRUE pathlen:0 critical, keyCertSign
 * + digitalSignature critical, SKI, AKI), valid from now - 1 day for capf_days. */
struct pki_world {
	X509 *root, *inter, *capf;
	EVP_PKEY *root_key, *inter_key, *capf_key; /* borrowed from the key cache */
};
void pki_world_make(struct pki_world *w, time_t now, const char *capf_key_spec, long capf_days);
/* The same with other root and intermediate keys: tag "#2" (same names). */
void pki_world_make_tagged(struct pki_world *w, time_t now, const char *capf_key_spec, long capf_days,
			   const char *tag);
/* The same with the intermediate valid until now + inter_days (5000 above). */
void pki_world_make_ex(struct pki_world *w, time_t now, const char *capf_key_spec, long capf_days,
		       const char *tag, long inter_days);
void pki_world_free(struct pki_world *w);
#define PKI_CAPF_SUBJECT "/C=US/ST=California/L=San Jose/O=Example Corp/OU=Voice/CN=CAPF-ca1"

#endif
