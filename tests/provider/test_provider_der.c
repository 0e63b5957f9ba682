/*
 * tests/provider/test_provider_der.c: the DER pieces of the capfhsm provider
 * (providers/der.c), without a token. Each encoding is compared with what
 * OpenSSL's default provider writes for the same signature.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "providers/der.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static EVP_PKEY *rsa, *ec;

static int setup(void **state)
{
	rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return rsa != NULL && ec != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	return 0;
}

/* The signature AlgorithmIdentifier OpenSSL writes into a certificate it signs. */
static size_t openssl_algid(EVP_PKEY *key, const char *md, int pss, int saltlen, const char *mgf1,
			    unsigned char *out, size_t outsz)
{
	X509 *x = X509_new();
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	const X509_ALGOR *alg;
	unsigned char *der = NULL;
	int len;

	X509_set_pubkey(x, key);
	assert_int_equal(EVP_DigestSignInit_ex(m, &pctx, md, NULL, NULL, key, NULL), 1);
	if (pss) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen), 1);
		if (mgf1 != NULL)
			assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, mgf1, NULL), 1);
	}
	assert_true(X509_sign_ctx(x, m) > 0);
	X509_get0_signature(NULL, &alg, x);
	len = i2d_X509_ALGOR(alg, &der);
	assert_true(len > 0 && (size_t)len <= outsz);
	memcpy(out, der, (size_t)len);
	OPENSSL_free(der);
	EVP_MD_CTX_free(m);
	X509_free(x);
	return (size_t)len;
}

static const struct {
	const char *name;
	int nid;
} mds[] = {
	{ "SHA256", NID_sha256 },
	{ "SHA384", NID_sha384 },
	{ "SHA512", NID_sha512 },
};

static void test_algid_pkcs1_ecdsa(void **state)
{
	for (size_t i = 0; i < NELEM(mds); i++) {
		unsigned char ours[CHSM_ALGID_MAX], theirs[256];
		char err[256];
		size_t n, m;

		n = chsm_sig_algid(CHSM_SIG_PKCS1, mds[i].nid, 0, 0, ours, sizeof(ours), err, sizeof(err));
		m = openssl_algid(rsa, mds[i].name, 0, 0, NULL, theirs, sizeof(theirs));
		assert_int_equal(n, m);
		assert_memory_equal(ours, theirs, n);

		n = chsm_sig_algid(CHSM_SIG_ECDSA, mds[i].nid, 0, 0, ours, sizeof(ours), err, sizeof(err));
		m = openssl_algid(ec, mds[i].name, 0, 0, NULL, theirs, sizeof(theirs));
		assert_int_equal(n, m);
		assert_memory_equal(ours, theirs, n);
	}
}

static void test_algid_pss(void **state)
{
	/* salt lengths as resolved for a 2048-bit key: digest size, max, and 20 (the DER default, omitted) */
	for (size_t i = 0; i < NELEM(mds); i++) {
		int mdsize = EVP_MD_get_size(EVP_get_digestbyname(mds[i].name));
		int salts[] = { mdsize, 256 - mdsize - 2, 20 };
		const char *mgfs[] = { NULL, "SHA256", "SHA512" };

		for (size_t s = 0; s < NELEM(salts); s++) {
			for (size_t g = 0; g < NELEM(mgfs); g++) {
				unsigned char ours[CHSM_ALGID_MAX], theirs[256];
				char err[256];
				int mgf_nid = mgfs[g] != NULL ? OBJ_sn2nid(mgfs[g]) : mds[i].nid;
				size_t n, m;

				n = chsm_sig_algid(CHSM_SIG_PSS, mds[i].nid, mgf_nid, salts[s], ours,
						   sizeof(ours), err, sizeof(err));
				m = openssl_algid(rsa, mds[i].name, 1, salts[s], mgfs[g], theirs,
						  sizeof(theirs));
				assert_int_not_equal(n, 0);
				assert_int_equal(n, m);
				assert_memory_equal(ours, theirs, n);
			}
		}
	}
}

static void test_algid_refused(void **state)
{
	unsigned char out[CHSM_ALGID_MAX];
	char err[256] = "";

	assert_int_equal(chsm_sig_algid(CHSM_SIG_PKCS1, NID_sha1, 0, 0, out, sizeof(out), err, sizeof(err)), 0);
	assert_non_null(strstr(err, "SHA-256"));
	assert_int_equal(chsm_sig_algid(CHSM_SIG_ECDSA, NID_sha224, 0, 0, out, sizeof(out), err, sizeof(err)),
			 0);
	assert_int_equal(chsm_sig_algid(CHSM_SIG_ECDSA, NID_md5, 0, 0, out, sizeof(out), err, sizeof(err)), 0);
	assert_int_equal(chsm_sig_algid(CHSM_SIG_PSS, NID_sha256, NID_sha1, 32, out, sizeof(out), err,
					sizeof(err)),
			 0);
	assert_non_null(strstr(err, "MGF1"));
	assert_int_equal(chsm_sig_algid(CHSM_SIG_PSS, NID_sha256, NID_sha256, -1, out, sizeof(out), err,
					sizeof(err)),
			 0);
	assert_int_equal(chsm_sig_algid((enum chsm_sig_scheme)99, NID_sha256, 0, 0, out, sizeof(out), err,
					sizeof(err)),
			 0);
	/* too small a buffer */
	assert_int_equal(chsm_sig_algid(CHSM_SIG_PSS, NID_sha256, NID_sha256, 32, out, 10, err, sizeof(err)),
			 0);
	assert_int_equal(chsm_sig_algid(CHSM_SIG_PKCS1, NID_sha256, 0, 0, out, 14, err, sizeof(err)), 0);
	assert_int_equal(chsm_sig_algid(CHSM_SIG_PKCS1, NID_sha256, 0, 0, out, 15, err, sizeof(err)), 15);
}

static void test_digestinfo(void **state)
{
	static const int nids[] = { NID_sha1, NID_sha224, NID_sha256, NID_sha384, NID_sha512 };

	for (size_t i = 0; i < NELEM(nids); i++) {
		unsigned char hash[EVP_MAX_MD_SIZE], mine[128], *der = NULL;
		int hlen = EVP_MD_get_size(EVP_get_digestbynid(nids[i])), len;
		size_t plen;
		const unsigned char *prefix = chsm_digestinfo_prefix(nids[i], &plen);
		X509_SIG *sig = X509_SIG_new();
		X509_ALGOR *alg;
		ASN1_OCTET_STRING *dig;

		memset(hash, 0xa5, sizeof(hash));
		X509_SIG_getm(sig, &alg, &dig);
		assert_int_equal(X509_ALGOR_set0(alg, OBJ_nid2obj(nids[i]), V_ASN1_NULL, NULL), 1);
		assert_int_equal(ASN1_OCTET_STRING_set(dig, hash, hlen), 1);
		len = i2d_X509_SIG(sig, &der);
		assert_non_null(prefix);
		memcpy(mine, prefix, plen);
		memcpy(mine + plen, hash, (size_t)hlen);
		assert_int_equal(plen + (size_t)hlen, len);
		assert_memory_equal(mine, der, (size_t)len);
		OPENSSL_free(der);
		X509_SIG_free(sig);
	}
	assert_null(chsm_digestinfo_prefix(NID_md5, &(size_t){ 0 }));
	assert_null(chsm_digestinfo_prefix(NID_undef, &(size_t){ 0 }));
}

static void test_saltlen(void **state)
{
	static const struct {
		int salt;
		unsigned bits;
		size_t md;
		int want;
	} cases[] = {
		{ RSA_PSS_SALTLEN_DIGEST, 2048, 32, 32 },
		{ RSA_PSS_SALTLEN_DIGEST, 2048, 64, 64 },
		{ RSA_PSS_SALTLEN_MAX, 2048, 32, 222 },
		{ RSA_PSS_SALTLEN_AUTO, 2048, 64, 190 }, /* auto signs with max */
		{ RSA_PSS_SALTLEN_MAX, 3072, 48, 334 },
		{ RSA_PSS_SALTLEN_MAX, 2049, 32, 222 }, /* emLen = ceil((modBits-1)/8) */
		{ RSA_PSS_SALTLEN_MAX, 2050, 32, 223 },
		{ 0, 2048, 32, 0 },
		{ 20, 2048, 32, 20 },
		{ 222, 2048, 32, 222 },
		{ 223, 2048, 32, -1 }, /* does not fit */
		{ 191, 2048, 64, -1 },
		{ -5, 2048, 32, -1 },                    /* not a rule */
		{ RSA_PSS_SALTLEN_DIGEST, 512, 64, -1 }, /* key too small for the hash */
		{ RSA_PSS_SALTLEN_MAX, 0, 32, -1 },
	};

	for (size_t i = 0; i < NELEM(cases); i++) {
		char err[256] = "";
		int got = chsm_pss_saltlen(cases[i].salt, cases[i].bits, cases[i].md, err, sizeof(err));

		if (got != cases[i].want)
			fail_msg("case %zu: salt %d bits %u md %zu: got %d want %d", i, cases[i].salt,
				 cases[i].bits, cases[i].md, got, cases[i].want);
		if (got < 0)
			assert_true(err[0] != '\0');
	}
}

static void test_can_sign(void **state)
{
	assert_true(chsm_md_can_sign(NID_sha256));
	assert_true(chsm_md_can_sign(NID_sha384));
	assert_true(chsm_md_can_sign(NID_sha512));
	assert_false(chsm_md_can_sign(NID_sha1));
	assert_false(chsm_md_can_sign(NID_sha224));
	assert_false(chsm_md_can_sign(NID_md5));
	assert_false(chsm_md_can_sign(NID_undef));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_algid_pkcs1_ecdsa), cmocka_unit_test(test_algid_pss),
		cmocka_unit_test(test_algid_refused),     cmocka_unit_test(test_digestinfo),
		cmocka_unit_test(test_saltlen),           cmocka_unit_test(test_can_sign),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
