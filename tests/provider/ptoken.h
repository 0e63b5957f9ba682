/*
 * tests/provider/ptoken.h: throwaway SoftHSM tokens and a capfhsm library
 * context for the provider's tests and benchmark. The token is made in a
 * forked child through pkcs11/ (as capf-token does), so that the test process
 * itself only ever talks to the token through the provider.
 */
#ifndef CAPF_TESTS_PTOKEN_H
#define CAPF_TESTS_PTOKEN_H

#include <stddef.h>
#include <openssl/types.h>

struct ptoken {
	char dir[256]; /* temp dir: softhsm2.conf, tokens/, PIN files */
	char label[32];
	char pin_file[300];
};

/* Makes dir, its softhsm2.conf (exported as SOFTHSM2_CONF), 0600 PIN files and
 * a token labelled label holding one key pair per spec ("rsa:2048", "ec:P-256"),
 * each labelled as its spec with ':' turned into '-'. 0 or -1 (err says why). */
int ptoken_make(struct ptoken *t, const char *label, const char *const *specs, size_t nspecs, char *err,
		size_t errlen);
/* Removes the temp dir (unless $KEEP_TMP is set). */
void ptoken_remove(struct ptoken *t);

/* The URI of key object label, with the PIN file. */
void ptoken_uri(const struct ptoken *t, const char *object, char *buf, size_t len);

/* A library context with capfhsm (from $BUILD/lib) and default loaded, in that
 * order, or the other when default_first. NULL on failure (OpenSSL's errors). */
OSSL_LIB_CTX *ptoken_libctx(int default_first);
void ptoken_libctx_free(OSSL_LIB_CTX *ctx);

/* Loads the one private key (expect PKEY) or public key the URI names. */
EVP_PKEY *ptoken_load(OSSL_LIB_CTX *ctx, const char *uri, int expect);

/* The public half of pkey re-made in a default-provider-only context. */
EVP_PKEY *ptoken_public_copy(OSSL_LIB_CTX *defctx, const EVP_PKEY *pkey);

#endif
