/*
 * tests/unit/test_policy_der.c: policy/der.h, the strict SubjectPublicKeyInfo parser
 * and the parse-only certificate reading that keep OpenSSL's decoders off the
 * issuance path. Keys made by OpenSSL must parse to the same key; every other
 * encoding of them must be refused with a reason; what parses must re-encode to the
 * very same bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "policy/der.h"
#include "tests/unit/policy_pki.h"

/* One DER element into out (which has room); returns its size. */
static size_t put(uint8_t *out, uint8_t tag, const uint8_t *v, size_t l)
{
	size_t h = 2;

	out[0] = tag;
	if (l < 0x80) {
		out[1] = (uint8_t)l;
	} else if (l < 0x100) {
		out[1] = 0x81;
		out[2] = (uint8_t)l;
		h = 3;
	} else {
		out[1] = 0x82;
		out[2] = (uint8_t)(l >> 8);
		out[3] = (uint8_t)l;
		h = 4;
	}
	memmove(out + h, v, l);
	return h + l;
}

static const uint8_t OID_RSA[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const uint8_t OID_EC[] = { 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t OID_P256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t NUL[] = { 0x05, 0x00 };

/* SEQUENCE { SEQUENCE { alg }, BIT STRING { unused, key } } */
static size_t spki(uint8_t *out, const uint8_t *alg, size_t alen, uint8_t unused, const uint8_t *key,
		   size_t klen)
{
	uint8_t a[64], b[1200], body[1400];
	size_t al = put(a, 0x30, alg, alen), bl, n;

	b[0] = unused;
	memcpy(b + 1, key, klen);
	memcpy(body, a, al);
	bl = put(body + al, 0x03, b, klen + 1);
	n = put(out, 0x30, body, al + bl);
	return n;
}

static size_t rsa_key(uint8_t *out, const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen)
{
	uint8_t ints[1100];
	size_t l = put(ints, 0x02, n, nlen);

	l += put(ints + l, 0x02, e, elen);
	return put(out, 0x30, ints, l);
}

static void refuse(const uint8_t *der, size_t len, const char *why)
{
	struct capf_spki k;
	char err[256] = "";

	if (capf_spki_parse(der, len, &k, err, sizeof(err)) == 0)
		fail_msg("accepted, wanted \"%s\"", why);
	if (strstr(err, why) == NULL)
		fail_msg("want \"%s\", got \"%s\"", why, err);
}

/* What parses re-encodes (capf_spki_set, then OpenSSL's i2d) to the very same bytes. */
static int roundtrip(const uint8_t *der, size_t len)
{
	struct capf_spki k;
	X509_PUBKEY *pub = X509_PUBKEY_new();
	unsigned char *out = NULL;
	char err[256];
	int n, same;

	assert_int_equal(capf_spki_parse(der, len, &k, err, sizeof(err)), 0);
	assert_int_equal(capf_spki_set(pub, &k), 1);
	n = i2d_X509_PUBKEY(pub, &out);
	same = n > 0 && (size_t)n == len && memcmp(out, der, len) == 0;
	OPENSSL_free(out);
	X509_PUBKEY_free(pub);
	return same;
}

static void test_openssl_keys(void **state)
{
	static const struct {
		const char *spec;
		enum capf_key_type type;
		unsigned bits;
		enum capf_curve curve;
	} keys[] = {
		{ "RSA:2048", CAPF_KEY_RSA, 2048, 0 },
		{ "RSA:3072", CAPF_KEY_RSA, 3072, 0 },
		{ "EC:P-256", CAPF_KEY_EC, 0, CAPF_CURVE_P256 },
		{ "EC:P-384", CAPF_KEY_EC, 0, CAPF_CURVE_P384 },
		{ "EC:P-521", CAPF_KEY_EC, 0, CAPF_CURVE_P521 },
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		EVP_PKEY *want = pki_key(keys[i].spec), *got;
		size_t len;
		const unsigned char *der = pki_spki(want, &len);
		struct capf_spki k;
		char err[256];

		assert_int_equal(capf_spki_parse(der, len, &k, err, sizeof(err)), 0);
		assert_int_equal(k.type, keys[i].type);
		if (k.type == CAPF_KEY_RSA) {
			assert_int_equal(k.rsa_bits, keys[i].bits);
			assert_int_equal(k.e_len, 3);
			assert_memory_equal(k.e, "\x01\x00\x01", 3);
		} else {
			assert_int_equal(k.curve, keys[i].curve);
			assert_int_equal(k.point[0], 0x04);
		}
		assert_non_null(got = capf_spki_pkey(&k));
		assert_int_equal(EVP_PKEY_eq(got, want), 1);
		EVP_PKEY_free(got);
		assert_true(roundtrip(der, len));
	}
}

static void test_refusals(void **state)
{
	uint8_t n[257], e[] = { 0x01, 0x00, 0x01 }, key[1100], der[1400], alg[64], pt[65];
	size_t kl, al, len;
	EVP_PKEY *ec = pki_key("EC:P-256");
	const unsigned char *ecder;

	memset(n, 0xc5, sizeof(n));
	n[0] = 0x00; /* positive 2048-bit modulus */
	memcpy(alg, OID_RSA, sizeof(OID_RSA));
	memcpy(alg + sizeof(OID_RSA), NUL, sizeof(NUL));
	al = sizeof(OID_RSA) + sizeof(NUL);

	/* the well-formed one first, so that each refusal below is about its one change */
	kl = rsa_key(key, n, sizeof(n), e, sizeof(e));
	len = spki(der, alg, al, 0, key, kl);
	assert_true(roundtrip(der, len));

	refuse(der, 0, "empty");
	refuse(NULL, 5, "empty");
	refuse(der, len - 1, "not a DER SubjectPublicKeyInfo");
	der[len] = 0;
	refuse(der, len + 1, "1 trailing bytes");
	/* a length in a longer form than needed: 30 82 01 22 -> 30 83 00 01 22 */
	{
		uint8_t l2[1400];

		assert_int_equal(der[1], 0x82);
		l2[0] = 0x30;
		l2[1] = 0x83;
		l2[2] = 0x00;
		memcpy(l2 + 3, der + 2, len - 2);
		refuse(l2, len + 1, "not a DER SubjectPublicKeyInfo");
	}
	/* a BIT STRING with unused bits */
	len = spki(der, alg, al, 1, key, kl);
	refuse(der, len, "unused bits");
	/* rsaEncryption without its NULL */
	len = spki(der, OID_RSA, sizeof(OID_RSA), 0, key, kl);
	refuse(der, len, "without NULL parameters");
	/* a modulus with a zero octet it does not need, a negative one, a trailing INTEGER */
	kl = rsa_key(key, (const uint8_t *)"\x00\x00\xc5\xc5", 4, e, sizeof(e));
	refuse(der, spki(der, alg, al, 0, key, kl), "shortest form");
	kl = rsa_key(key, n + 1, sizeof(n) - 1, e, sizeof(e));
	refuse(der, spki(der, alg, al, 0, key, kl), "positive");
	{
		uint8_t ints[1100];
		size_t l = put(ints, 0x02, n, sizeof(n));

		l += put(ints + l, 0x02, e, sizeof(e));
		l += put(ints + l, 0x02, e, sizeof(e));
		kl = put(key, 0x30, ints, l);
		refuse(der, spki(der, alg, al, 0, key, kl), "RSA modulus and exponent");
	}
	/* another algorithm: Ed25519 */
	refuse(der, spki(der, (const uint8_t *)"\x06\x03\x2b\x65\x70", 5, 0, e, sizeof(e)),
	       "type is not allowed");

	/* EC */
	ecder = pki_spki(ec, &len);
	memcpy(pt, ecder + len - 65, 65);
	assert_int_equal(pt[0], 0x04);
	memcpy(alg, OID_EC, sizeof(OID_EC));
	memcpy(alg + sizeof(OID_EC), OID_P256, sizeof(OID_P256));
	al = sizeof(OID_EC) + sizeof(OID_P256);
	len = spki(der, alg, al, 0, pt, sizeof(pt));
	assert_memory_equal(der, ecder, len);
	assert_true(roundtrip(der, len));
	/* a short length in the long form: 30 59 -> 30 81 59 */
	{
		uint8_t l2[200];

		assert_int_equal(der[1], 0x59);
		l2[0] = 0x30;
		l2[1] = 0x81;
		memcpy(l2 + 2, der + 1, len - 1);
		refuse(l2, len + 1, "not a DER SubjectPublicKeyInfo");
	}
	/* explicit parameters, an unknown curve, no curve */
	{
		uint8_t a2[64];
		size_t l = sizeof(OID_EC);

		memcpy(a2, OID_EC, l);
		l += put(a2 + l, 0x30, (const uint8_t *)"\x02\x01\x01", 3);
		refuse(der, spki(der, a2, l, 0, pt, sizeof(pt)), "explicit curve parameters");
		l = sizeof(OID_EC);
		memcpy(a2 + l, "\x06\x05\x2b\x81\x04\x00\x0a", 7); /* secp256k1 */
		refuse(der, spki(der, a2, l + 7, 0, pt, sizeof(pt)), "unsupported curve");
		refuse(der, spki(der, OID_EC, sizeof(OID_EC), 0, pt, sizeof(pt)), "without a named curve");
	}
	/* a compressed point, a point of the wrong length */
	{
		uint8_t c[33];

		c[0] = 0x02;
		memcpy(c + 1, pt + 1, 32);
		refuse(der, spki(der, alg, al, 0, c, sizeof(c)), "not in uncompressed form");
		refuse(der, spki(der, alg, al, 0, pt, sizeof(pt) - 1), "not a valid point of P-256");
	}
	/* a point off the curve parses (it is well formed) but makes no key */
	{
		struct capf_spki k;
		char err[256];

		pt[64] ^= 0x01;
		len = spki(der, alg, al, 0, pt, sizeof(pt));
		assert_int_equal(capf_spki_parse(der, len, &k, err, sizeof(err)), 0);
		assert_null(capf_spki_pkey(&k));
	}
}

/* Every truncation is refused; every one-byte change either is refused or is again
 * exactly what it re-encodes to (one encoding per key). */
static void test_mutations(void **state)
{
	static const char *const specs[] = { "RSA:2048", "EC:P-384" };

	for (size_t s = 0; s < 2; s++) {
		size_t len;
		const unsigned char *der = pki_spki(pki_key(specs[s]), &len);
		uint8_t m[1024];
		struct capf_spki k;
		char err[256];
		unsigned accepted = 0;

		assert_true(len <= sizeof(m));
		for (size_t cut = 0; cut < len; cut++)
			assert_int_equal(capf_spki_parse(der, cut, &k, err, sizeof(err)), -1);
		for (size_t i = 0; i < len; i++)
			for (unsigned x = 1; x < 256; x <<= 1) {
				memcpy(m, der, len);
				m[i] ^= (uint8_t)x;
				if (capf_spki_parse(m, len, &k, err, sizeof(err)) != 0)
					continue;
				accepted++;
				assert_true(roundtrip(m, len));
			}
		assert_true(accepted > 0); /* changes inside the key's numbers parse */
	}
}

static void test_certificates(void **state)
{
	EVP_PKEY *key = pki_key("RSA:2048");
	struct pki_cert pc = { .subject = "/O=Example/CN=der",
			       .key = key,
			       .not_before = 1700000000,
			       .not_after = 1800000000,
			       .bc = "critical,CA:TRUE,pathlen:0" };
	X509 *x = pki_cert(&pc), *y;
	unsigned char *der = NULL, *tbs = NULL, buf[4096];
	const uint8_t *t;
	size_t tl;
	int len = i2d_X509(x, &der), tlen = i2d_re_X509_tbs(x, &tbs);
	char name[128];

	assert_true(len > 0 && tlen > 0 && (size_t)len < sizeof(buf));
	/* parsed without its key object, everything else there */
	assert_non_null(y = capf_der_x509(der, (size_t)len));
	assert_null(X509_get0_pubkey(y));
	assert_non_null(X509_get0_pubkey_bitstr(y));
	X509_NAME_oneline(X509_get_subject_name(y), name, sizeof(name));
	assert_string_equal(name, "/O=Example/CN=der");
	X509_free(y);
	/* all of it or nothing */
	memcpy(buf, der, (size_t)len);
	buf[len] = 0;
	assert_null(capf_der_x509(buf, (size_t)len + 1));
	assert_null(capf_der_x509(der, (size_t)len - 1));
	assert_null(capf_der_x509(NULL, 10));
	/* the signed part is what OpenSSL encodes as the TBSCertificate */
	assert_int_equal(capf_der_cert_tbs(der, (size_t)len, &t, &tl), 0);
	assert_int_equal(tl, (size_t)tlen);
	assert_memory_equal(t, tbs, tl);
	assert_int_equal(capf_der_cert_tbs(der, (size_t)len - 1, &t, &tl), -1);
	assert_int_equal(capf_der_cert_tbs((const uint8_t *)"\x30\x02\x05\x00", 4, &t, &tl), -1);
	/* the TBSCertificate's algorithm, and the certificate put together again from
	 * its parts is OpenSSL's encoding, byte for byte */
	{
		const uint8_t *a;
		size_t al, ol;
		unsigned char *alg = NULL;
		int alen = i2d_X509_ALGOR(X509_get0_tbs_sigalg(x), &alg);
		const ASN1_BIT_STRING *sig;
		uint8_t *whole;

		assert_int_equal(capf_der_tbs_sigalg(t, tl, &a, &al), 0);
		assert_int_equal(al, (size_t)alen);
		assert_memory_equal(a, alg, al);
		X509_get0_signature(&sig, NULL, x);
		assert_non_null(whole = capf_der_cert_assemble(t, tl, a, al, ASN1_STRING_get0_data(sig),
							       (size_t)ASN1_STRING_length(sig), &ol));
		assert_int_equal(ol, (size_t)len);
		assert_memory_equal(whole, der, ol);
		free(whole);
		OPENSSL_free(alg);
		/* no version (v1), and a version that is not [0] */
		assert_int_equal(capf_der_tbs_sigalg((const uint8_t *)"\x30\x05\x02\x01\x01\x30\x00", 7, &a,
						     &al),
				 0);
		assert_int_equal(al, 2);
		assert_int_equal(capf_der_tbs_sigalg((const uint8_t *)"\x30\x05\x04\x01\x01\x30\x00", 7, &a,
						     &al),
				 -1);
		assert_int_equal(capf_der_tbs_sigalg((const uint8_t *)"\x30\x03\x02\x01\x01", 5, &a, &al), -1);
	}
	/* the three elements of a certificate, and nothing else */
	assert_int_equal(capf_der_cert_tbs((const uint8_t *)"\x30\x06\x30\x00\x30\x00\x03\x00", 8, &t, &tl), 0);
	assert_int_equal(tl, 2);
	assert_int_equal(capf_der_cert_tbs((const uint8_t *)"\x30\x04\x30\x00\x30\x00", 6, &t, &tl), -1);
	assert_int_equal(capf_der_cert_tbs((const uint8_t *)"\x30\x06\x30\x00\x30\x00\x04\x00", 8, &t, &tl),
			 -1);
	assert_int_equal(capf_der_cert_tbs((const uint8_t *)"\x30\x08\x30\x00\x30\x00\x03\x00\x05\x00", 10, &t,
					   &tl),
			 -1);
	OPENSSL_free(der);
	OPENSSL_free(tbs);
	X509_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openssl_keys),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_certificates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
