/*
 * appliance/store/authhash.h: the one implementation of authentication-string
 * hashing, shared by capfctl-side code and capf-signerd. scrypt (OpenSSL) over
 * the string with a 16-byte random salt; the parameters travel with the hash so
 * they can be raised later without breaking stored rows. The store keeps only
 * this struct, never the string. Comparison is constant-time (CRYPTO_memcmp).
 *
 *   struct capf_authhash h;
 *   capf_authhash_make(&h, s, strlen(s), NULL, err, sizeof(err));  -> 0 / -1
 *   capf_authhash_verify(&h, typed, typed_len, err, sizeof(err));  -> 1 match, 0 no, -1 error
 *
 * The caller wipes its own copy of the string (OPENSSL_cleanse) after the call.
 */
#ifndef CAPF_STORE_AUTHHASH_H
#define CAPF_STORE_AUTHHASH_H

#include <stddef.h>
#include <stdint.h>

#define CAPF_AUTHHASH_KDF_SCRYPT 1      /* the only KDF so far; stored as "scrypt" */
#define CAPF_AUTHHASH_SALT_LEN   16
#define CAPF_AUTHHASH_LEN        32
#define CAPF_AUTHHASH_SECRET_MAX 256    /* bytes; Cisco strings are 4-10 digits */

/* scrypt cost. Accepted range (make and verify): N a power of two in
 * [2^10, 2^20], r in [1, 32], p in [1, 16], 128*N*r*p <= 1 GiB. */
struct capf_authhash_params {
	uint64_t n;
	uint32_t r;
	uint32_t p;
};

/* Defaults used when params is NULL: N=2^15, r=8, p=1 (32 MiB, tens of ms). */
#define CAPF_AUTHHASH_DEFAULT_N 32768u
#define CAPF_AUTHHASH_DEFAULT_R 8u
#define CAPF_AUTHHASH_DEFAULT_P 1u

struct capf_authhash {
	int kdf;                                /* CAPF_AUTHHASH_KDF_SCRYPT */
	struct capf_authhash_params params;
	unsigned char salt[CAPF_AUTHHASH_SALT_LEN];
	unsigned char hash[CAPF_AUTHHASH_LEN];
};

/* Hashes secret[0..len) with a fresh random salt. params NULL: the defaults. */
int capf_authhash_make(struct capf_authhash *out, const char *secret, size_t len,
		       const struct capf_authhash_params *params, char *err, size_t errlen);

/* 1 when secret matches h, 0 when it does not, -1 (err) when h is malformed or
 * its parameters are outside the accepted range. */
int capf_authhash_verify(const struct capf_authhash *h, const char *secret, size_t len,
			 char *err, size_t errlen);

/* "scrypt" for CAPF_AUTHHASH_KDF_SCRYPT, NULL otherwise; and back (-1 unknown). */
const char *capf_authhash_kdf_name(int kdf);
int capf_authhash_kdf_parse(const char *name);

/* 0 when the parameters are in the accepted range, else -1 with a message. */
int capf_authhash_check_params(const struct capf_authhash_params *p, char *err, size_t errlen);

#endif
