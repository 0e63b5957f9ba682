/* tests/unit/test_policy_pubkey.c: strict decoding of the phone's PUBLIC_KEY. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy/pubkey.h"
#include "tests/unit/policy_pki.h"

static struct capf_conf conf;

static unsigned char *der_of(EVP_PKEY *k, int *len)
{
	unsigned char *d = NULL;

	*len = i2d_PUBKEY(k, &d);
	assert_true(*len > 0);
	return d;
}

/* decode: NULL expected when err_sub != NULL (and err must contain it) */
static void expect(const unsigned char *der, size_t len, const struct capf_keyparam *want, const char *err_sub)
{
	char err[256] = "", verr[256] = "";
	EVP_PKEY *k = capf_pubkey_decode(&conf, der, len, want, err, sizeof(err));

	/* validate (no key object for RSA) says the same, in the same words */
	assert_int_equal(capf_pubkey_validate(&conf, der, len, want, verr, sizeof(verr)), k != NULL ? 0 : -1);
	if (k == NULL)
		assert_string_equal(verr, err);
	if (err_sub == NULL) {
		if (k == NULL)
			fprintf(stderr, "refused: %s\n", err);
		assert_non_null(k);
	} else {
		if (k != NULL || strstr(err, err_sub) == NULL)
			fprintf(stderr, "want \"%s\", got %s: %s\n", err_sub, k ? "accepted" : "refused", err);
		assert_null(k);
		assert_non_null(strstr(err, err_sub));
	}
	EVP_PKEY_free(k);
}

static const struct capf_keyparam RSA2048 = { .type = CAPF_KEY_RSA, .rsa_bits = 2048 };
static const struct capf_keyparam RSA3072 = { .type = CAPF_KEY_RSA, .rsa_bits = 3072 };
static const struct capf_keyparam RSA1024 = { .type = CAPF_KEY_RSA, .rsa_bits = 1024 };
static const struct capf_keyparam P256 = { .type = CAPF_KEY_EC, .curve = CAPF_CURVE_P256 };
static const struct capf_keyparam P384 = { .type = CAPF_KEY_EC, .curve = CAPF_CURVE_P384 };
static const struct capf_keyparam P521 = { .type = CAPF_KEY_EC, .curve = CAPF_CURVE_P521 };

static void test_accept(void **state)
{
	static const struct {
		const char *spec;
		const struct capf_keyparam *kp;
	} ok[] = {
		{ "RSA:2048", &RSA2048 }, { "RSA:3072", &RSA3072 }, { "EC:P-256", &P256 },
		{ "EC:P-384", &P384 },    { "EC:P-521", &P521 },
	};
	struct capf_keyparam got;
	int len;

	capf_conf_defaults(&conf);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		unsigned char *d = der_of(pki_key(ok[i].spec), &len);
		char err[256];
		EVP_PKEY *k;

		expect(d, (size_t)len, NULL, NULL);
		k = capf_pubkey_decode(&conf, d, (size_t)len, ok[i].kp, err, sizeof(err));
		assert_non_null(k);
		assert_int_equal(capf_pubkey_param(k, &got), 0);
		assert_int_equal(got.type, ok[i].kp->type);
		if (got.type == CAPF_KEY_RSA)
			assert_int_equal(got.rsa_bits, ok[i].kp->rsa_bits);
		else
			assert_int_equal(got.curve, ok[i].kp->curve);
		assert_int_equal(EVP_PKEY_eq(k, pki_key(ok[i].spec)), 1);
		EVP_PKEY_free(k);
		OPENSSL_free(d);
	}
}

/* The phone must send what it was asked for. */
static void test_want(void **state)
{
	int len;
	unsigned char *rsa = der_of(pki_key("RSA:2048"), &len);
	int elen;
	unsigned char *ec = der_of(pki_key("EC:P-384"), &elen);

	capf_conf_defaults(&conf);
	expect(rsa, (size_t)len, &RSA3072, "sent an RSA 2048-bit key, but was asked for RSA 3072");
	expect(rsa, (size_t)len, &P256, "sent an RSA 2048-bit key, but was asked for EC P-256");
	expect(ec, (size_t)elen, &P256, "sent an EC P-384 key, but was asked for EC P-256");
	expect(ec, (size_t)elen, &RSA2048, "sent an EC P-384 key, but was asked for RSA 2048");
	expect(ec, (size_t)elen, &P384, NULL);
	/* and what the policy allows */
	conf.keys.ec_curves = 1u << CAPF_CURVE_P256;
	expect(ec, (size_t)elen, NULL, "EC curve P-384 is not allowed by the policy");
	conf.keys.n_rsa_bits = 1;
	conf.keys.rsa_bits[0] = 3072;
	expect(rsa, (size_t)len, NULL, "RSA 2048-bit keys are not allowed by the policy");
	OPENSSL_free(rsa);
	OPENSSL_free(ec);
}

static void test_weak_rsa(void **state)
{
	int len;
	unsigned char *d = der_of(pki_key("RSA:1024"), &len);

	capf_conf_defaults(&conf);
	expect(d, (size_t)len, NULL, "RSA 1024-bit keys are not allowed by the policy (keys.rsa_bits)");
	expect(d, (size_t)len, &RSA1024, "RSA 1024-bit keys are not allowed");
	conf.keys.rsa_bits[conf.keys.n_rsa_bits++] = 1024; /* keys.allow_weak_rsa */
	conf.keys.allow_weak_rsa = true;
	expect(d, (size_t)len, &RSA1024, NULL);
	OPENSSL_free(d);
}

static void test_odd_rsa(void **state)
{
	static const struct {
		unsigned long e;
		int add;
		const char *err;
	} cases[] = {
		{ 65537, 0, NULL },
		{ 17, 0, NULL },
		{ 5, 0, NULL },
		{ 3, 0, "RSA public exponent is not allowed" },
		{ 65536, 0, "RSA public exponent is not allowed" },
		{ 0, 0, "RSA public exponent is not allowed" }, /* 2^256 + 1 */
		{ 65537, 1, "RSA modulus is even" },
		{ 65537, -3, "RSA modulus has the small factor 3" },
		{ 65537, -997, "RSA modulus has the small factor" },
	};

	capf_conf_defaults(&conf);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EVP_PKEY *k = pki_rsa_pub(2048, cases[i].e, cases[i].add);
		int len;
		unsigned char *d = der_of(k, &len);
		expect(d, (size_t)len, &RSA2048, cases[i].err);
		OPENSSL_free(d);
		EVP_PKEY_free(k);
	}
}

static void test_encoding(void **state)
{
	int len;
	unsigned char *d = der_of(pki_key("EC:P-256"), &len);
	unsigned char buf[4096];
	char err[256];

	capf_conf_defaults(&conf);
	/* trailing bytes */
	memcpy(buf, d, (size_t)len);
	buf[len] = 0;
	expect(buf, (size_t)len + 1, NULL, "1 trailing bytes");
	/* truncated */
	expect(d, (size_t)len - 1, NULL, "not a DER SubjectPublicKeyInfo");
	/* a non-minimal length: 30 59 -> 30 81 59 */
	assert_int_equal(d[0], 0x30);
	assert_int_equal(d[1], 0x59);
	buf[0] = 0x30;
	buf[1] = 0x81;
	memcpy(buf + 2, d + 1, (size_t)len - 1);
	{
		EVP_PKEY *k = capf_pubkey_decode(&conf, buf, (size_t)len + 1, NULL, err, sizeof(err));
		assert_null(k);
	}
	/* a flipped byte in the point: not on the curve */
	memcpy(buf, d, (size_t)len);
	buf[len - 1] ^= 0x01;
	assert_null(capf_pubkey_decode(&conf, buf, (size_t)len, NULL, err, sizeof(err)));
	/* empty, NULL, too large, garbage */
	expect(d, 0, NULL, "empty");
	expect(NULL, 10, NULL, "empty");
	memset(buf, 0x30, sizeof(buf));
	expect(buf, CAPF_PUBKEY_DER_MAX + 1, NULL, "at most 2048");
	expect((const unsigned char *)"hello", 5, NULL, "not a DER SubjectPublicKeyInfo");
	OPENSSL_free(d);
}

static void test_ec_forms(void **state)
{
	EVP_PKEY *k = EVP_PKEY_dup(pki_key("EC:P-256"));
	int len;
	unsigned char *d;

	capf_conf_defaults(&conf);
	/* compressed point */
	assert_int_equal(EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
							OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED),
			 1);
	d = der_of(k, &len);
	expect(d, (size_t)len, NULL, "not in uncompressed form");
	OPENSSL_free(d);
	EVP_PKEY_free(k);
	/* explicit parameters */
	k = EVP_PKEY_dup(pki_key("EC:P-256"));
	assert_int_equal(EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_ENCODING,
							OSSL_PKEY_EC_ENCODING_EXPLICIT),
			 1);
	d = der_of(k, &len);
	{
		char err[256];
		EVP_PKEY *r = capf_pubkey_decode(&conf, d, (size_t)len, NULL, err, sizeof(err));
		if (r != NULL)
			fprintf(stderr, "explicit accepted\n");
		assert_null(r);
		fprintf(stderr, "explicit: %s\n", err);
	}
	OPENSSL_free(d);
	EVP_PKEY_free(k);
	/* a curve we do not do */
	k = EVP_EC_gen("secp256k1");
	d = der_of(k, &len);
	expect(d, (size_t)len, NULL, "unsupported curve");
	OPENSSL_free(d);
	EVP_PKEY_free(k);
}

static void test_other_types(void **state)
{
	static const char *const specs[] = { "ED25519", "RSA-PSS:2048" };
	int len;

	capf_conf_defaults(&conf);
	for (size_t i = 0; i < 2; i++) {
		unsigned char *d = der_of(pki_key(specs[i]), &len);
		expect(d, (size_t)len, NULL, "type is not allowed");
		OPENSSL_free(d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept),      cmocka_unit_test(test_want),
		cmocka_unit_test(test_weak_rsa),    cmocka_unit_test(test_odd_rsa),
		cmocka_unit_test(test_encoding),    cmocka_unit_test(test_ec_forms),
		cmocka_unit_test(test_other_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
