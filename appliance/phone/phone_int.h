/* appliance/phone/phone_int.h: internal to capf-phone. */
#ifndef CAPF_PHONE_INT_H
#define CAPF_PHONE_INT_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

#include "policy/osslerr.h" /* capf_ossl_error_msg: OpenSSL's errors for err */

/* A fresh key: RSA of rsa_bits, or EC on a CAPF curve id. NULL with err. */
EVP_PKEY *phone_keygen(int key_type, unsigned rsa_bits, int curve, char *err, size_t errlen);
/* "rsa:2048" / "ec:P-256" -> parameters; 0 or -1. */
int phone_key_spec(const char *spec, int *key_type, unsigned *rsa_bits, int *curve);

/* A pooled key's SubjectPublicKeyInfo DER, encoded when the pool was filled (valid
 * while the key is); NULL for other keys: encode them. */
const uint8_t *phone_key_spki(EVP_PKEY *key, size_t *len);

#endif
