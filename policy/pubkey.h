/*
 * policy/pubkey.h: the public key a phone sends in PUBLIC_KEY (DER
 * SubjectPublicKeyInfo), decoded strictly (policy/der.h): exact DER (one encoding
 * only), nothing trailing, rsaEncryption or id-ecPublicKey on a named curve only,
 * size or curve allowed by the policy and equal to what the phone was asked for.
 * RSA: modulus odd, of an allowed size, no factor below 1000; exponent odd,
 * 3 < e < 2^256. EC: uncompressed point on the curve, not infinity
 * (EVP_PKEY_public_check_quick: on the curve, not infinity;
 * enough for the prime-order curves allowed). Pure; fuzzed (tests/fuzz/fuzz_pubkey.c).
 */
#ifndef CAPF_POLICY_PUBKEY_H
#define CAPF_POLICY_PUBKEY_H

#include <stddef.h>
#include <openssl/evp.h>

#include "policy/config.h"
#include "policy/device.h"

#define CAPF_PUBKEY_DER_MAX 2048 /* a 4096-bit RSA SPKI is 550 bytes */

/* want: the key the phone was asked for (NULL: anything the policy allows).
 * Returns a new EVP_PKEY (EVP_PKEY_free) or NULL with a message. */
EVP_PKEY *capf_pubkey_decode(const struct capf_conf *c, const unsigned char *der, size_t len,
			     const struct capf_keyparam *want, char *err, size_t errlen);

/* The same checks without the key object (an RSA key is checked from its
 * bytes): 0, or -1 with a message. */
int capf_pubkey_validate(const struct capf_conf *c, const unsigned char *der, size_t len,
			 const struct capf_keyparam *want, char *err, size_t errlen);

/* The checks above on a key already decoded. 0 or -1 with a message. */
int capf_pubkey_check(const struct capf_conf *c, EVP_PKEY *pk, const struct capf_keyparam *want, char *err,
		      size_t errlen);

/* Type and size/curve of pk. 0, or -1 when it is neither RSA nor a supported curve. */
int capf_pubkey_param(EVP_PKEY *pk, struct capf_keyparam *out);

#endif
