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
 *
 * Token-keyed (token.auth_key_uri): HMAC-SHA-256 under a secret key that never
 * leaves the token, over "capf-auth-v1" || salt || string. The token computes
 * it (the caller's struct capf_authhash_mac); without the token nobody can test
 * a guess, so a stolen database cannot be brute-forced offline, and it costs a
 * C_Sign (tens of microseconds) instead of scrypt's ~100 ms.
 *   capf_authhash_make_mac(&h, s, len, &mac, err, sizeof(err));      -> 0 / -1
 *   capf_authhash_verify_mac(&h, typed, len, &mac, err, sizeof(err)); -> 1 / 0 / -1
 * verify_mac checks scrypt records (stored before the key was configured) too;
 * an HMAC record without a mac (NULL) is an error, never a match.
 */
#ifndef CAPF_STORE_AUTHHASH_H
#define CAPF_STORE_AUTHHASH_H

#include <stddef.h>
#include <stdint.h>

#define CAPF_AUTHHASH_KDF_SCRYPT 1 /* stored as "scrypt" */
#define CAPF_AUTHHASH_KDF_HMAC 2   /* HMAC-SHA-256 under a token key; "hmac-sha256" */
#define CAPF_AUTHHASH_SALT_LEN 16
#define CAPF_AUTHHASH_LEN 32
#define CAPF_AUTHHASH_SECRET_MAX 256 /* bytes; Cisco strings are 4-10 digits */

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
	int kdf;                            /* CAPF_AUTHHASH_KDF_* */
	struct capf_authhash_params params; /* scrypt only (HMAC: zero) */
	unsigned char salt[CAPF_AUTHHASH_SALT_LEN];
	unsigned char hash[CAPF_AUTHHASH_LEN];
};

/* Hashes secret[0..len) with a fresh random salt. params NULL: the defaults. */
int capf_authhash_make(struct capf_authhash *out, const char *secret, size_t len,
		       const struct capf_authhash_params *params, char *err, size_t errlen);

/* 1 when secret matches h, 0 when it does not, -1 (err) when h is malformed or
 * its parameters are outside the accepted range. */
int capf_authhash_verify(const struct capf_authhash *h, const char *secret, size_t len, char *err,
			 size_t errlen);

/* The token's HMAC-SHA-256: out = HMAC(key, in[0..inlen)); 0, or -1 with a
 * message (the token is down...). */
struct capf_authhash_mac {
	int (*fn)(void *ctx, const unsigned char *in, size_t inlen, unsigned char out[CAPF_AUTHHASH_LEN],
		  char *err, size_t errlen);
	void *ctx;
};

/* An HMAC record of secret[0..len) with a fresh random salt. */
int capf_authhash_make_mac(struct capf_authhash *out, const char *secret, size_t len,
			   const struct capf_authhash_mac *mac, char *err, size_t errlen);
/* 1 match, 0 no match, -1 error: for scrypt records as capf_authhash_verify;
 * for HMAC records through mac (NULL: -1, the token's key is needed). */
int capf_authhash_verify_mac(const struct capf_authhash *h, const char *secret, size_t len,
			     const struct capf_authhash_mac *mac, char *err, size_t errlen);

/* "scrypt" for CAPF_AUTHHASH_KDF_SCRYPT, "hmac-sha256" for CAPF_AUTHHASH_KDF_HMAC, NULL otherwise; and back (-1 unknown). */
const char *capf_authhash_kdf_name(int kdf);
int capf_authhash_kdf_parse(const char *name);

/* 0 when the parameters are in the accepted range, else -1 with a message. */
int capf_authhash_check_params(const struct capf_authhash_params *p, char *err, size_t errlen);

#endif
