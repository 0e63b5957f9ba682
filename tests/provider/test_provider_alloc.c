/*
 * tests/provider/test_provider_alloc.c: capfhsm in a host that gives OpenSSL its
 * own allocator (CRYPTO_set_mem_functions). Every block OpenSSL hands out carries
 * a header here, so memory the provider got from malloc() and gives back through
 * OPENSSL_free() (or the reverse) is caught at once instead of corrupting the heap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/store.h>

#include "tests/provider/ptoken.h"

#define MAGIC 0x6d656d21u
#define HDR 16

static int mismatches;

static void *hdr_malloc(size_t n, const char *file, int line)
{
	unsigned char *p = malloc(n + HDR);

	if (p == NULL)
		return NULL;
	*(uint32_t *)p = MAGIC;
	return p + HDR;
}

static void hdr_free(void *ptr, const char *file, int line)
{
	unsigned char *p = ptr;

	if (p == NULL)
		return;
	if (*(uint32_t *)(p - HDR) != MAGIC) {
		/* not one of ours: leak it rather than corrupt the heap, and count it */
		fprintf(stderr, "OPENSSL_free of memory OpenSSL did not allocate (%s:%d)\n", file, line);
		mismatches++;
		return;
	}
	*(uint32_t *)(p - HDR) = 0;
	free(p - HDR);
}

static void *hdr_realloc(void *ptr, size_t n, const char *file, int line)
{
	unsigned char *p = ptr, *q;

	if (p == NULL)
		return hdr_malloc(n, file, line);
	if (*(uint32_t *)(p - HDR) != MAGIC) {
		fprintf(stderr, "OPENSSL_realloc of memory OpenSSL did not allocate (%s:%d)\n", file, line);
		mismatches++;
		return NULL;
	}
	if ((q = realloc(p - HDR, n + HDR)) == NULL)
		return NULL;
	return q + HDR;
}

static void own_allocator_opens_and_signs(void **state)
{
	static const char *const specs[] = { "ec:P-256" };
	static const unsigned char msg[] = "to be signed";
	unsigned char sig[256];
	size_t siglen = sizeof(sig);
	struct ptoken tok;
	char err[512], uri[600];
	OSSL_LIB_CTX *ctx;
	EVP_PKEY *key;
	EVP_MD_CTX *md;

	if (ptoken_make(&tok, "palloc", specs, 1, err, sizeof(err)) != 0)
		fail_msg("token: %s", err);
	assert_non_null(ctx = ptoken_libctx(0));
	/* the URI names an object: the token cache key drops it (p11_uri_copy memory) */
	ptoken_uri(&tok, "ec-P-256", uri, sizeof(uri));
	assert_non_null(key = ptoken_load(ctx, uri, OSSL_STORE_INFO_PKEY));
	assert_non_null(md = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestSignInit_ex(md, NULL, "SHA256", ctx, NULL, key, NULL), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen, msg, sizeof(msg)), 1);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	ptoken_libctx_free(ctx);
	ptoken_remove(&tok);
	assert_int_equal(mismatches, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(own_allocator_opens_and_signs),
	};

	/* before OpenSSL allocates anything */
	if (!CRYPTO_set_mem_functions(hdr_malloc, hdr_realloc, hdr_free)) {
		fprintf(stderr, "CRYPTO_set_mem_functions refused (OpenSSL allocated already)\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
