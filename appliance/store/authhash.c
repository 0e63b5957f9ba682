/* appliance/store/authhash.c: scrypt hashing of authentication strings (see authhash.h). */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "appliance/store/authhash.h"

#define MAX_MEM (1024ull * 1024 * 1024)

static void seterr(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

const char *capf_authhash_kdf_name(int kdf)
{
	return kdf == CAPF_AUTHHASH_KDF_SCRYPT ? "scrypt" :
	       kdf == CAPF_AUTHHASH_KDF_HMAC   ? "hmac-sha256" :
						 NULL;
}

int capf_authhash_kdf_parse(const char *name)
{
	if (name == NULL)
		return -1;
	return strcmp(name, "scrypt") == 0      ? CAPF_AUTHHASH_KDF_SCRYPT :
	       strcmp(name, "hmac-sha256") == 0 ? CAPF_AUTHHASH_KDF_HMAC :
						  -1;
}

int capf_authhash_check_params(const struct capf_authhash_params *p, char *err, size_t errlen)
{
	char msg[200];

	if (p == NULL) {
		seterr(err, errlen, "authhash: no scrypt parameters");
		return -1;
	}
	if (p->n < 1024 || p->n > (1u << 20) || (p->n & (p->n - 1)) != 0) {
		snprintf(msg, sizeof(msg),
			 "authhash: scrypt N=%llu is not a power of two "
			 "between 1024 and 1048576",
			 (unsigned long long)p->n);
		seterr(err, errlen, msg);
		return -1;
	}
	if (p->r < 1 || p->r > 32 || p->p < 1 || p->p > 16) {
		snprintf(msg, sizeof(msg),
			 "authhash: scrypt r=%u p=%u out of range "
			 "(r 1..32, p 1..16)",
			 p->r, p->p);
		seterr(err, errlen, msg);
		return -1;
	}
	if (128ull * p->n * p->r * p->p > MAX_MEM) {
		seterr(err, errlen, "authhash: scrypt parameters need more than 1 GiB");
		return -1;
	}
	return 0;
}

static int derive(const struct capf_authhash_params *pp, const unsigned char *salt, const char *secret,
		  size_t len, unsigned char out[CAPF_AUTHHASH_LEN], char *err, size_t errlen)
{
	/* scrypt's own working set is 128*N*r*p (V) plus 256*r*p (B and XY). */
	uint64_t mem = 128ull * pp->n * pp->r * pp->p + 256ull * pp->r * pp->p + 4096;

	if (EVP_PBE_scrypt(len > 0 ? secret : "", len, salt, CAPF_AUTHHASH_SALT_LEN, pp->n, pp->r, pp->p, mem,
			   out, CAPF_AUTHHASH_LEN) != 1) {
		seterr(err, errlen, "authhash: scrypt failed (out of memory?)");
		return -1;
	}
	return 0;
}

int capf_authhash_make(struct capf_authhash *out, const char *secret, size_t len,
		       const struct capf_authhash_params *params, char *err, size_t errlen)
{
	struct capf_authhash_params def = { CAPF_AUTHHASH_DEFAULT_N, CAPF_AUTHHASH_DEFAULT_R,
					    CAPF_AUTHHASH_DEFAULT_P };

	if (out == NULL || (secret == NULL && len > 0)) {
		seterr(err, errlen, "authhash: missing argument");
		return -1;
	}
	if (len > CAPF_AUTHHASH_SECRET_MAX) {
		seterr(err, errlen, "authhash: authentication string longer than 256 bytes");
		return -1;
	}
	if (params == NULL)
		params = &def;
	if (capf_authhash_check_params(params, err, errlen) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->kdf = CAPF_AUTHHASH_KDF_SCRYPT;
	out->params = *params;
	if (RAND_bytes(out->salt, sizeof(out->salt)) != 1) {
		seterr(err, errlen, "authhash: no random bytes for the salt");
		return -1;
	}
	if (derive(params, out->salt, secret, len, out->hash, err, errlen) < 0) {
		OPENSSL_cleanse(out, sizeof(*out));
		return -1;
	}
	return 0;
}

#define MAC_LABEL "capf-auth-v1"

/* HMAC(key, MAC_LABEL || salt || secret) through the token. */
static int mac_of(const struct capf_authhash_mac *mac, const unsigned char *salt, const char *secret,
		  size_t len, unsigned char out[CAPF_AUTHHASH_LEN], char *err, size_t errlen)
{
	unsigned char in[sizeof(MAC_LABEL) - 1 + CAPF_AUTHHASH_SALT_LEN + CAPF_AUTHHASH_SECRET_MAX];
	size_t n = 0;
	int rc;

	memcpy(in, MAC_LABEL, sizeof(MAC_LABEL) - 1);
	n += sizeof(MAC_LABEL) - 1;
	memcpy(in + n, salt, CAPF_AUTHHASH_SALT_LEN);
	n += CAPF_AUTHHASH_SALT_LEN;
	if (len > 0)
		memcpy(in + n, secret, len);
	n += len;
	rc = mac->fn(mac->ctx, in, n, out, err, errlen);
	OPENSSL_cleanse(in, sizeof(in));
	return rc == 0 ? 0 : -1;
}

int capf_authhash_make_mac(struct capf_authhash *out, const char *secret, size_t len,
			   const struct capf_authhash_mac *mac, char *err, size_t errlen)
{
	if (out == NULL || mac == NULL || mac->fn == NULL || (secret == NULL && len > 0)) {
		seterr(err, errlen, "authhash: missing argument");
		return -1;
	}
	if (len > CAPF_AUTHHASH_SECRET_MAX) {
		seterr(err, errlen, "authhash: authentication string longer than 256 bytes");
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->kdf = CAPF_AUTHHASH_KDF_HMAC;
	if (RAND_bytes(out->salt, sizeof(out->salt)) != 1) {
		seterr(err, errlen, "authhash: no random bytes for the salt");
		return -1;
	}
	if (mac_of(mac, out->salt, secret, len, out->hash, err, errlen) < 0) {
		OPENSSL_cleanse(out, sizeof(*out));
		return -1;
	}
	return 0;
}

int capf_authhash_verify(const struct capf_authhash *h, const char *secret, size_t len, char *err,
			 size_t errlen)
{
	return capf_authhash_verify_mac(h, secret, len, NULL, err, errlen);
}

int capf_authhash_verify_mac(const struct capf_authhash *h, const char *secret, size_t len,
			     const struct capf_authhash_mac *mac, char *err, size_t errlen)
{
	unsigned char got[CAPF_AUTHHASH_LEN];
	int match;

	if (h == NULL || (secret == NULL && len > 0)) {
		seterr(err, errlen, "authhash: missing argument");
		return -1;
	}
	if (h->kdf == CAPF_AUTHHASH_KDF_HMAC) {
		if (mac == NULL || mac->fn == NULL) {
			seterr(err, errlen,
			       "authhash: the string is stored as an HMAC under the "
			       "token's key (token.auth_key_uri): it cannot be checked without it");
			return -1;
		}
		if (len > CAPF_AUTHHASH_SECRET_MAX)
			return 0;
		if (mac_of(mac, h->salt, secret, len, got, err, errlen) < 0)
			return -1;
		match = CRYPTO_memcmp(got, h->hash, sizeof(got)) == 0;
		OPENSSL_cleanse(got, sizeof(got));
		return match;
	}
	if (h->kdf != CAPF_AUTHHASH_KDF_SCRYPT) {
		seterr(err, errlen, "authhash: stored hash uses an unknown KDF");
		return -1;
	}
	if (capf_authhash_check_params(&h->params, err, errlen) < 0)
		return -1;
	if (len > CAPF_AUTHHASH_SECRET_MAX)
		return 0; /* cannot have been set: a plain mismatch */
	if (derive(&h->params, h->salt, secret, len, got, err, errlen) < 0)
		return -1;
	match = CRYPTO_memcmp(got, h->hash, sizeof(got)) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	return match;
}
