/* appliance/signerd/possession.c: see possession.h. */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include "appliance/signerd/possession.h"

#define POP_RSA_MAX 1024 /* bytes of modulus: 8192 bits */

const EVP_MD *signerd_pop_md(unsigned hash_id)
{
	switch (hash_id) {
	case 1:
		return EVP_sha1();
	case 2:
		return EVP_sha256();
	case 3:
		return EVP_sha512();
	default:
		return NULL;
	}
}

static int pop_rsa(EVP_PKEY *pk, const unsigned char *h, size_t hlen, const unsigned char *sig, size_t siglen,
		   char *err, size_t errlen)
{
	unsigned char em[POP_RSA_MAX], want[POP_RSA_MAX];
	size_t k = (size_t)EVP_PKEY_get_size(pk), emlen = sizeof(em);
	EVP_PKEY_CTX *ctx;
	int ok;

	if (k == 0 || k > POP_RSA_MAX) {
		snprintf(err, errlen, "RSA key of %zu bytes not supported", k);
		return -1;
	}
	if (siglen != k) {
		snprintf(err, errlen, "signature is %zu bytes, the modulus %zu", siglen, k);
		return -1;
	}
	if (k < hlen + 11) {
		snprintf(err, errlen, "RSA key too small for a %zu-byte digest", hlen);
		return -1;
	}
	if ((ctx = EVP_PKEY_CTX_new(pk, NULL)) == NULL)
		return snprintf(err, errlen, "out of memory"), -1;
	ok = EVP_PKEY_verify_recover_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
	     EVP_PKEY_verify_recover(ctx, em, &emlen, sig, siglen) == 1;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	if (!ok) {
		snprintf(err, errlen, "RSA public operation failed (signature out of range)");
		return -1;
	}
	if (emlen != k) {
		snprintf(err, errlen, "recovered block is %zu bytes, expected %zu", emlen, k);
		return -1;
	}
	/* 00 01 FF..FF 00 || H */
	want[0] = 0x00;
	want[1] = 0x01;
	memset(want + 2, 0xff, k - 3 - hlen);
	want[k - hlen - 1] = 0x00;
	memcpy(want + k - hlen, h, hlen);
	ok = CRYPTO_memcmp(em, want, k) == 0;
	OPENSSL_cleanse(em, sizeof(em));
	if (!ok) {
		snprintf(err, errlen,
			 "the signature is not a PKCS#1 v1.5 type-1 block over the expected digest");
		return -1;
	}
	return 0;
}

static int pop_ec(EVP_PKEY *pk, const unsigned char *h, size_t hlen, const unsigned char *sig, size_t siglen,
		  char *err, size_t errlen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
	int ok;

	if (ctx == NULL)
		return snprintf(err, errlen, "out of memory"), -1;
	ok = EVP_PKEY_verify_init(ctx) == 1 && EVP_PKEY_verify(ctx, sig, siglen, h, hlen) == 1;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	if (!ok) {
		snprintf(err, errlen, "the ECDSA signature does not verify");
		return -1;
	}
	return 0;
}

int signerd_pop_verify(EVP_PKEY *pk, const EVP_MD *md, const unsigned char *data, size_t len,
		       const unsigned char *sig, size_t siglen, char *err, size_t errlen)
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned int hlen = 0;

	if (pk == NULL || md == NULL || sig == NULL || siglen == 0) {
		snprintf(err, errlen, "no key, digest or signature");
		return -1;
	}
	if (!EVP_Digest(data, len, h, &hlen, md, NULL)) {
		snprintf(err, errlen, "digest failed");
		return -1;
	}
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		return pop_rsa(pk, h, hlen, sig, siglen, err, errlen);
	case EVP_PKEY_EC:
		return pop_ec(pk, h, hlen, sig, siglen, err, errlen);
	default:
		snprintf(err, errlen, "the certificate's key is neither RSA nor EC");
		return -1;
	}
}
