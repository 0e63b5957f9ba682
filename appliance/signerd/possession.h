/*
 * appliance/signerd/possession.h: the CAPF proof of possession of a phone's key
 * (CAPF-PROTOCOL.md, "Authentication evidence"), checked in full:
 *   RSA: sig^e mod n must be exactly the PKCS#1 v1.5 type-1 block
 *        00 01 FF..FF 00 || H(data)   (the bare digest, no DigestInfo; at least
 *        8 bytes of FF; the signature exactly as long as the modulus);
 *        not merely "ends with the digest".
 *   EC:  a DER ECDSA-Sig-Value over H(data).
 * Pure (no token, no store): tested alone in tests/unit/test_signerd_pop.c.
 */
#ifndef CAPF_SIGNERD_POSSESSION_H
#define CAPF_SIGNERD_POSSESSION_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>

/* 0 when sig proves possession of pk's private key over data hashed with md,
 * -1 with a message otherwise. */
int signerd_pop_verify(EVP_PKEY *pk, const EVP_MD *md, const unsigned char *data, size_t len,
		       const unsigned char *sig, size_t siglen, char *err, size_t errlen);

/* The digest of a CAPF hash id (1 SHA-1, 2 SHA-256, 3 SHA-512), NULL otherwise. */
const EVP_MD *signerd_pop_md(unsigned hash_id);

#endif
