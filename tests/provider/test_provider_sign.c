/*
 * tests/provider/test_provider_sign.c: the capfhsm provider against a real
 * SoftHSM token, from C, as capf-signerd uses it: keys opened with
 * OSSL_STORE_open_ex in a library context that loads capfhsm + default.
 * Signatures made through the provider are checked with the public key in a
 * default-provider-only context.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/store.h>
#include <openssl/x509.h>

#include "tests/provider/ptoken.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const specs[] = { "rsa:2048", "rsa:3072", "ec:P-256", "ec:P-384", "ec:P-521" };
static const char *const labels[] = { "rsa-2048", "rsa-3072", "ec-P-256", "ec-P-384", "ec-P-521" };
static const int bits[] = { 2048, 3072, 256, 384, 521 };
static const char *const groups[] = { NULL, NULL, "prime256v1", "secp384r1", "secp521r1" };
static const char *const digests[] = { "SHA256", "SHA384", "SHA512" };

static struct ptoken tok;
static OSSL_LIB_CTX *ctx, *defctx;
static EVP_PKEY *keys[NELEM(specs)], *pubs[NELEM(specs)];

static int is_rsa(size_t i)
{
	return strncmp(specs[i], "rsa", 3) == 0;
}

static void dump_errors(void)
{
	ERR_print_errors_fp(stderr);
}

static int group_setup(void **state)
{
	char err[512], uri[600];

	if (ptoken_make(&tok, "ptest", specs, NELEM(specs), err, sizeof(err)) != 0) {
		fprintf(stderr, "token: %s\n", err);
		return -1;
	}
	if ((ctx = ptoken_libctx(0)) == NULL || (defctx = OSSL_LIB_CTX_new()) == NULL) {
		dump_errors();
		return -1;
	}
	for (size_t i = 0; i < NELEM(specs); i++) {
		ptoken_uri(&tok, labels[i], uri, sizeof(uri));
		if ((keys[i] = ptoken_load(ctx, uri, OSSL_STORE_INFO_PKEY)) == NULL ||
		    (pubs[i] = ptoken_public_copy(defctx, keys[i])) == NULL) {
			fprintf(stderr, "load %s failed\n", uri);
			dump_errors();
			return -1;
		}
	}
	return 0;
}

static int group_teardown(void **state)
{
	for (size_t i = 0; i < NELEM(specs); i++) {
		EVP_PKEY_free(keys[i]);
		EVP_PKEY_free(pubs[i]);
	}
	ptoken_libctx_free(ctx);
	OSSL_LIB_CTX_free(defctx);
	ptoken_remove(&tok);
	return 0;
}

/* pad: 0 (ECDSA / PKCS#1), or RSA_PKCS1_PSS_PADDING with saltlen. */
static int sign(OSSL_LIB_CTX *lctx, EVP_PKEY *key, const char *md, int pad, int saltlen,
		const unsigned char *msg, size_t mlen, unsigned char *sig, size_t *siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	ok = m != NULL && EVP_DigestSignInit_ex(m, &pctx, md, lctx, NULL, key, NULL) == 1;
	if (ok && pad != 0)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, pad) == 1 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen) == 1;
	ok = ok && EVP_DigestSign(m, sig, siglen, msg, mlen) == 1;
	EVP_MD_CTX_free(m);
	if (!ok)
		dump_errors();
	return ok;
}

static int verify(OSSL_LIB_CTX *lctx, EVP_PKEY *pub, const char *md, int pad, int saltlen,
		  const unsigned char *msg, size_t mlen, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int ok;

	ok = m != NULL && EVP_DigestVerifyInit_ex(m, &pctx, md, lctx, NULL, pub, NULL) == 1;
	if (ok && pad != 0)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, pad) == 1 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen) == 1;
	ok = ok && EVP_DigestVerify(m, sig, siglen, msg, mlen) == 1;
	EVP_MD_CTX_free(m);
	ERR_clear_error();
	return ok;
}

/* Every key x digest x scheme: signed through the provider, verified by the
 * default provider; a flipped bit or another message fails. */
static void test_sign_matrix(void **state)
{
	static const unsigned char msg[] = "capf: to be signed";
	struct {
		int pad, saltlen;
	} rsa_modes[] = {
		{ RSA_PKCS1_PADDING, 0 },
		{ RSA_PKCS1_PSS_PADDING, RSA_PSS_SALTLEN_DIGEST },
		{ RSA_PKCS1_PSS_PADDING, RSA_PSS_SALTLEN_MAX },
		{ RSA_PKCS1_PSS_PADDING, 20 },
	};
	int count = 0;

	for (size_t k = 0; k < NELEM(specs); k++) {
		for (size_t d = 0; d < NELEM(digests); d++) {
			size_t nmodes = is_rsa(k) ? NELEM(rsa_modes) : 1;

			for (size_t m = 0; m < nmodes; m++) {
				unsigned char sig[1024];
				size_t siglen = sizeof(sig);
				int pad = is_rsa(k) ? rsa_modes[m].pad : 0;
				int vpad = pad == RSA_PKCS1_PADDING ? 0 : pad;
				int salt = rsa_modes[m].saltlen;

				if (!sign(ctx, keys[k], digests[d], vpad, salt, msg, sizeof(msg), sig, &siglen))
					fail_msg("%s %s pad %d: sign failed", labels[k], digests[d], pad);
				if (!verify(defctx, pubs[k], digests[d], vpad, vpad ? RSA_PSS_SALTLEN_AUTO : 0,
					    msg, sizeof(msg), sig, siglen))
					fail_msg("%s %s pad %d salt %d: does not verify", labels[k], digests[d],
						 pad, salt);
				/* the provider's own verification (software, public half) agrees */
				assert_true(verify(ctx, keys[k], digests[d], vpad, vpad ? salt : 0, msg,
						   sizeof(msg), sig, siglen));
				assert_false(verify(defctx, pubs[k], digests[d], vpad, RSA_PSS_SALTLEN_AUTO,
						    msg, sizeof(msg) - 1, sig, siglen));
				sig[siglen / 2] ^= 0x01;
				assert_false(verify(defctx, pubs[k], digests[d], vpad, RSA_PSS_SALTLEN_AUTO,
						    msg, sizeof(msg), sig, siglen));
				count++;
			}
		}
	}
	assert_int_equal(count, 2 * 3 * 4 + 3 * 3);
}

/* sign_init/sign with a hash computed by the caller. */
static void test_sign_prehashed(void **state)
{
	unsigned char hash[32], sig[1024];

	for (size_t k = 0; k < NELEM(specs); k++) {
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_pkey(ctx, keys[k], NULL);
		EVP_PKEY_CTX *vc = EVP_PKEY_CTX_new_from_pkey(defctx, pubs[k], NULL);
		size_t siglen = sizeof(sig);

		assert_int_equal(EVP_Q_digest(defctx, "SHA256", NULL, "abc", 3, hash, NULL), 1);
		assert_non_null(pc);
		assert_int_equal(EVP_PKEY_sign_init(pc), 1);
		assert_int_equal(EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()), 1);
		assert_int_equal(EVP_PKEY_sign(pc, NULL, &siglen, hash, sizeof(hash)), 1);
		assert_int_equal((int)siglen, EVP_PKEY_get_size(keys[k]));
		siglen = sizeof(sig);
		if (EVP_PKEY_sign(pc, sig, &siglen, hash, sizeof(hash)) != 1) {
			dump_errors();
			fail_msg("%s: prehashed sign", labels[k]);
		}
		/* a hash of the wrong length is refused */
		assert_int_not_equal(EVP_PKEY_sign(pc, sig, &(size_t){ sizeof(sig) }, hash, 20), 1);
		ERR_clear_error();
		assert_int_equal(EVP_PKEY_verify_init(vc), 1);
		assert_int_equal(EVP_PKEY_CTX_set_signature_md(vc, EVP_sha256()), 1);
		assert_int_equal(EVP_PKEY_verify(vc, sig, siglen, hash, sizeof(hash)), 1);
		EVP_PKEY_CTX_free(pc);
		EVP_PKEY_CTX_free(vc);
	}
}

static X509 *make_cert(EVP_PKEY *key, const char *cn)
{
	X509 *x = X509_new_ex(ctx, NULL);
	X509_NAME *n = X509_NAME_new();

	assert_non_null(x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	X509_NAME_free(n);
	return x;
}

/* Re-parse in the default-only context and verify with the subject key. */
static int cert_verifies(X509 *x, EVP_PKEY *pub)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	int len = i2d_X509(x, &der), ok;
	X509 *y = X509_new_ex(defctx, NULL);

	p = der;
	ok = len > 0 && d2i_X509(&y, &p, len) != NULL && X509_verify(y, pub) == 1;
	OPENSSL_free(der);
	X509_free(y);
	return ok;
}

static void test_x509_sign(void **state)
{
	for (size_t k = 0; k < NELEM(specs); k++) {
		for (size_t d = 0; d < NELEM(digests); d++) {
			X509 *x = make_cert(keys[k], labels[k]);
			EVP_MD *md = EVP_MD_fetch(defctx, digests[d], NULL);

			if (X509_sign(x, keys[k], md) <= 0) {
				dump_errors();
				fail_msg("X509_sign %s %s", labels[k], digests[d]);
			}
			assert_true(cert_verifies(x, pubs[k]));
			assert_int_equal(X509_check_private_key(x, keys[k]), 1);
			EVP_MD_free(md);
			X509_free(x);
		}
	}
	/* RSA-PSS certificates (X509_sign_ctx: the AlgorithmIdentifier carries the PSS parameters) */
	for (size_t k = 0; k < 2; k++) {
		X509 *x = make_cert(keys[k], "pss");
		EVP_MD_CTX *m = EVP_MD_CTX_new();
		EVP_PKEY_CTX *pctx = NULL;
		const X509_ALGOR *alg;
		const ASN1_OBJECT *oid;

		assert_int_equal(EVP_DigestSignInit_ex(m, &pctx, "SHA384", ctx, NULL, keys[k], NULL), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 1);
		if (X509_sign_ctx(x, m) <= 0) {
			dump_errors();
			fail_msg("X509_sign_ctx PSS %s", labels[k]);
		}
		X509_get0_signature(NULL, &alg, x);
		X509_ALGOR_get0(&oid, NULL, NULL, alg);
		assert_int_equal(OBJ_obj2nid(oid), NID_rsassaPss);
		assert_true(cert_verifies(x, pubs[k]));
		EVP_MD_CTX_free(m);
		X509_free(x);
	}
}

/* Matching a certificate against the key: right key yes, other key no. */
static void test_match(void **state)
{
	X509 *x = make_cert(keys[0], "m");
	X509 *y = make_cert(keys[2], "m2");

	assert_int_equal(X509_check_private_key(x, keys[0]), 1);
	assert_int_equal(X509_check_private_key(x, keys[1]), 0);
	assert_int_equal(X509_check_private_key(y, keys[2]), 1);
	assert_int_equal(X509_check_private_key(y, keys[3]), 0);
	ERR_clear_error();
	for (size_t k = 0; k < NELEM(specs); k++) {
		assert_int_equal(EVP_PKEY_eq(keys[k], pubs[k]), 1);
		assert_int_equal(EVP_PKEY_eq(pubs[k], keys[k]), 1);
		assert_int_not_equal(EVP_PKEY_eq(keys[k], pubs[(k + 1) % NELEM(specs)]), 1);
	}
	X509_free(x);
	X509_free(y);
}

static void test_key_params(void **state)
{
	for (size_t k = 0; k < NELEM(specs); k++) {
		char name[64];
		size_t len;

		assert_true(EVP_PKEY_is_a(keys[k], is_rsa(k) ? "RSA" : "EC"));
		assert_string_equal(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(keys[k])), "capfhsm");
		assert_int_equal(EVP_PKEY_get_bits(keys[k]), bits[k]);
		assert_int_equal(EVP_PKEY_get_bits(keys[k]), EVP_PKEY_get_bits(pubs[k]));
		assert_int_equal(EVP_PKEY_get_security_bits(keys[k]), EVP_PKEY_get_security_bits(pubs[k]));
		assert_int_equal(EVP_PKEY_get_size(keys[k]), EVP_PKEY_get_size(pubs[k]));
		assert_int_equal(EVP_PKEY_get_default_digest_name(keys[k], name, sizeof(name)), 1);
		assert_string_equal(name, k == 3 ? "SHA384" : k == 4 ? "SHA512" : "SHA256");
		if (is_rsa(k)) {
			BIGNUM *n1 = NULL, *n2 = NULL, *e = NULL;

			assert_int_equal(EVP_PKEY_get_bn_param(keys[k], OSSL_PKEY_PARAM_RSA_N, &n1), 1);
			assert_int_equal(EVP_PKEY_get_bn_param(pubs[k], OSSL_PKEY_PARAM_RSA_N, &n2), 1);
			assert_int_equal(EVP_PKEY_get_bn_param(keys[k], OSSL_PKEY_PARAM_RSA_E, &e), 1);
			assert_int_equal(BN_cmp(n1, n2), 0);
			assert_true(BN_is_word(e, 65537));
			BN_free(n1);
			BN_free(n2);
			BN_free(e);
		} else {
			unsigned char pt[200], pt2[200];
			size_t l2;

			assert_int_equal(EVP_PKEY_get_utf8_string_param(keys[k], OSSL_PKEY_PARAM_GROUP_NAME,
									name, sizeof(name), &len),
					 1);
			assert_string_equal(name, groups[k]);
			assert_int_equal(EVP_PKEY_get_octet_string_param(keys[k],
									 OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
									 sizeof(pt), &len),
					 1);
			assert_int_equal(EVP_PKEY_get_octet_string_param(pubs[k], OSSL_PKEY_PARAM_PUB_KEY, pt2,
									 sizeof(pt2), &l2),
					 1);
			assert_int_equal(len, l2);
			assert_memory_equal(pt, pt2, len);
		}
	}
}

/* The private half cannot be exported; the public half can. */
static void test_no_private_export(void **state)
{
	for (size_t k = 0; k < NELEM(specs); k++) {
		OSSL_PARAM *params = NULL;
		BIO *b = BIO_new(BIO_s_mem());
		unsigned char *der = NULL;

		assert_int_not_equal(EVP_PKEY_todata(keys[k], EVP_PKEY_KEYPAIR, &params), 1);
		assert_null(params);
		assert_int_equal(EVP_PKEY_todata(keys[k], EVP_PKEY_PUBLIC_KEY, &params), 1);
		assert_null(OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_D));
		assert_null(OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PRIV_KEY));
		assert_non_null(
			OSSL_PARAM_locate(params, is_rsa(k) ? OSSL_PKEY_PARAM_RSA_N : OSSL_PKEY_PARAM_PUB_KEY));
		OSSL_PARAM_free(params);
		assert_int_equal(PEM_write_bio_PrivateKey(b, keys[k], NULL, NULL, 0, NULL, NULL), 0);
		assert_true(i2d_PrivateKey(keys[k], &der) <= 0);
		assert_int_equal(PEM_write_bio_PUBKEY(b, keys[k]), 1);
		BIO_free(b);
		OPENSSL_free(der);
		ERR_clear_error();
	}
}

/* EVP_MD_CTX_copy_ex in the middle of a digest-sign: both halves finish. */
static void test_dupctx(void **state)
{
	for (size_t k = 0; k < NELEM(specs); k++) {
		EVP_MD_CTX *a = EVP_MD_CTX_new(), *b = EVP_MD_CTX_new();
		unsigned char sa[1024], sb[1024];
		size_t la = sizeof(sa), lb = sizeof(sb);

		assert_int_equal(EVP_DigestSignInit_ex(a, NULL, "SHA256", ctx, NULL, keys[k], NULL), 1);
		assert_int_equal(EVP_DigestSignUpdate(a, "hello ", 6), 1);
		assert_int_equal(EVP_MD_CTX_copy_ex(b, a), 1);
		assert_int_equal(EVP_DigestSignUpdate(a, "world", 5), 1);
		assert_int_equal(EVP_DigestSignUpdate(b, "there", 5), 1);
		assert_int_equal(EVP_DigestSignFinal(a, NULL, &la), 1);
		assert_int_equal(EVP_DigestSignFinal(a, sa, &la), 1);
		assert_int_equal(EVP_DigestSignFinal(b, sb, &lb), 1);
		/* without EVP_MD_CTX_FLAG_FINALISE, final works on a copy: a second final still works */
		la = sizeof(sa);
		assert_int_equal(EVP_DigestSignFinal(a, sa, &la), 1);
		assert_true(verify(defctx, pubs[k], "SHA256", 0, 0, (const unsigned char *)"hello world", 11,
				   sa, la));
		assert_true(verify(defctx, pubs[k], "SHA256", 0, 0, (const unsigned char *)"hello there", 11,
				   sb, lb));
		EVP_MD_CTX_free(a);
		EVP_MD_CTX_free(b);
	}
}

/* SHA-1 (and other digests) are refused for signing; bad PSS parameters too. */
static void test_refusals(void **state)
{
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned long e;
	char buf[256];

	for (size_t k = 0; k < NELEM(specs); k++) {
		EVP_MD_CTX_reset(m);
		assert_int_not_equal(EVP_DigestSignInit_ex(m, NULL, "SHA1", ctx, NULL, keys[k], NULL), 1);
		e = ERR_peek_last_error();
		assert_int_not_equal(e, 0);
		ERR_clear_error();
	}
	/* a salt that cannot fit a 2048-bit key with SHA-512 */
	EVP_MD_CTX_reset(m);
	assert_int_equal(EVP_DigestSignInit_ex(m, &pctx, "SHA512", ctx, NULL, keys[0], NULL), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 200), 1);
	assert_int_not_equal(EVP_DigestSign(m, sig, &siglen, (const unsigned char *)"x", 1), 1);
	ERR_error_string_n(ERR_peek_last_error(), buf, sizeof(buf));
	ERR_clear_error();
	/* no raw RSA, no OAEP padding for signatures */
	EVP_MD_CTX_reset(m);
	assert_int_equal(EVP_DigestSignInit_ex(m, &pctx, "SHA256", ctx, NULL, keys[0], NULL), 1);
	assert_int_not_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_NO_PADDING), 1);
	ERR_clear_error();
	/* a public key cannot sign */
	EVP_MD_CTX_reset(m);
	{
		char uri[600];
		EVP_PKEY *pub;

		ptoken_uri(&tok, labels[2], uri, sizeof(uri));
		pub = ptoken_load(ctx, uri, OSSL_STORE_INFO_PUBKEY);
		assert_non_null(pub);
		assert_int_equal(EVP_PKEY_eq(pub, pubs[2]), 1);
		assert_int_not_equal(EVP_DigestSignInit_ex(m, NULL, "SHA256", ctx, NULL, pub, NULL), 1);
		EVP_PKEY_free(pub);
		ERR_clear_error();
	}
	EVP_MD_CTX_free(m);
}

/* The provider loaded after the default one: OpenSSL still finds our key
 * manager and signature for token keys. */
static void test_default_first(void **state)
{
	OSSL_LIB_CTX *c2 = ptoken_libctx(1);
	char uri[600];
	unsigned char sig[1024];

	assert_non_null(c2);
	for (size_t k = 0; k < NELEM(specs); k += 2) {
		EVP_PKEY *key;
		size_t siglen = sizeof(sig);

		ptoken_uri(&tok, labels[k], uri, sizeof(uri));
		key = ptoken_load(c2, uri, OSSL_STORE_INFO_PKEY);
		if (key == NULL)
			dump_errors();
		assert_non_null(key);
		assert_string_equal(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(key)), "capfhsm");
		assert_true(sign(c2, key, "SHA256", 0, 0, (const unsigned char *)"m", 1, sig, &siglen));
		assert_true(
			verify(defctx, pubs[k], "SHA256", 0, 0, (const unsigned char *)"m", 1, sig, siglen));
		EVP_PKEY_free(key);
	}
	ptoken_libctx_free(c2);
}

/* Keys OpenSSL makes in a context where capfhsm's key managers come first
 * (ephemeral ECDHE keys, imported peer keys) are software keys passed
 * through to the default provider: they generate, sign, derive and export. */
static void test_software_keys(void **state)
{
	EVP_PKEY *a = EVP_PKEY_Q_keygen(ctx, NULL, "EC", "P-256");
	EVP_PKEY *b = EVP_PKEY_Q_keygen(ctx, NULL, "EC", "P-256");
	EVP_PKEY *r = EVP_PKEY_Q_keygen(ctx, NULL, "RSA", (size_t)2048);
	EVP_PKEY_CTX *dc;
	unsigned char s1[128], s2[128], sig[512];
	size_t l1 = sizeof(s1), l2 = sizeof(s2), siglen = sizeof(sig);
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *fc;
	EVP_PKEY *copy = NULL;

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(r);
	/* made by capfhsm's key managers (loaded first), in software */
	assert_string_equal(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(a)), "capfhsm");
	assert_string_equal(OSSL_PROVIDER_get0_name(EVP_PKEY_get0_provider(r)), "capfhsm");
	/* ECDH both ways */
	dc = EVP_PKEY_CTX_new_from_pkey(ctx, a, NULL);
	assert_int_equal(EVP_PKEY_derive_init(dc), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(dc, b), 1);
	assert_int_equal(EVP_PKEY_derive(dc, s1, &l1), 1);
	EVP_PKEY_CTX_free(dc);
	dc = EVP_PKEY_CTX_new_from_pkey(ctx, b, NULL);
	assert_int_equal(EVP_PKEY_derive_init(dc), 1);
	assert_int_equal(EVP_PKEY_derive_set_peer(dc, a), 1);
	assert_int_equal(EVP_PKEY_derive(dc, s2, &l2), 1);
	EVP_PKEY_CTX_free(dc);
	assert_int_equal(l1, l2);
	assert_memory_equal(s1, s2, l1);
	/* sign with software keys through the same context */
	assert_true(sign(ctx, r, "SHA256", RSA_PKCS1_PSS_PADDING, RSA_PSS_SALTLEN_DIGEST,
			 (const unsigned char *)"s", 1, sig, &siglen));
	assert_true(verify(ctx, r, "SHA256", RSA_PKCS1_PSS_PADDING, RSA_PSS_SALTLEN_AUTO,
			   (const unsigned char *)"s", 1, sig, siglen));
	siglen = sizeof(sig);
	assert_true(sign(ctx, a, "SHA384", 0, 0, (const unsigned char *)"s", 1, sig, &siglen));
	assert_true(verify(ctx, a, "SHA384", 0, 0, (const unsigned char *)"s", 1, sig, siglen));
	/* a software key exports whole and comes back whole */
	assert_int_equal(EVP_PKEY_todata(a, EVP_PKEY_KEYPAIR, &params), 1);
	assert_non_null(OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_PRIV_KEY));
	fc = EVP_PKEY_CTX_new_from_name(ctx, "EC", NULL);
	assert_int_equal(EVP_PKEY_fromdata_init(fc), 1);
	assert_int_equal(EVP_PKEY_fromdata(fc, &copy, EVP_PKEY_KEYPAIR, params), 1);
	assert_int_equal(EVP_PKEY_eq(copy, a), 1);
	assert_int_equal(EVP_PKEY_eq(copy, b), 0);
	EVP_PKEY_CTX_free(fc);
	OSSL_PARAM_free(params);
	EVP_PKEY_free(copy);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(r);
	ERR_clear_error();
}

#define NTHREADS 8
#define PER_THREAD 16

struct job {
	size_t key;
	int bad;
};

static void *signer(void *arg)
{
	struct job *j = arg;
	char msg[64];

	for (int i = 0; i < PER_THREAD; i++) {
		unsigned char sig[1024];
		size_t siglen = sizeof(sig);
		int n = snprintf(msg, sizeof(msg), "thread message %p %d", (void *)j, i);

		if (!sign(ctx, keys[j->key], "SHA256", 0, 0, (unsigned char *)msg, (size_t)n, sig, &siglen) ||
		    !verify(defctx, pubs[j->key], "SHA256", 0, 0, (unsigned char *)msg, (size_t)n, sig, siglen))
			j->bad++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t th[NTHREADS];
	struct job jobs[NTHREADS];

	for (int i = 0; i < NTHREADS; i++) {
		jobs[i].key = i % 2 == 0 ? 0 : 2; /* RSA-2048 and P-256 at once */
		jobs[i].bad = 0;
		assert_int_equal(pthread_create(&th[i], NULL, signer, &jobs[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(jobs[i].bad, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_params),     cmocka_unit_test(test_sign_matrix),
		cmocka_unit_test(test_sign_prehashed), cmocka_unit_test(test_x509_sign),
		cmocka_unit_test(test_match),          cmocka_unit_test(test_no_private_export),
		cmocka_unit_test(test_dupctx),         cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_default_first),  cmocka_unit_test(test_software_keys),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
