/* tests/unit/test_policy_certutil.c: subjects, times and serials of every certificate profile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/x509.h>

#include "policy/cacert.h"
#include "policy/certutil.h"
#include "tests/unit/policy_pki.h"

static void test_times(void **state)
{
	ASN1_TIME *t = ASN1_TIME_new();
	X509 *x = X509_new();
	time_t v = 42;

	assert_int_equal(capf_asn1_to_time(NULL, &v), -1);
	assert_int_equal(v, 42);
	/* not a time: refused, nothing written (it used to read as 0, 1970) */
	assert_int_equal(ASN1_STRING_set(t, "not a time", 10), 1);
	assert_int_equal(capf_asn1_to_time(t, &v), -1);
	assert_int_equal(v, 42);
	assert_int_equal(ASN1_TIME_set_string(t, "20491231235959Z"), 1);
	assert_int_equal(capf_asn1_to_time(t, &v), 0);
	assert_int_equal(v, 2524607999);
	assert_int_equal(ASN1_TIME_set_string(t, "19691231235959Z"), 1);
	assert_int_equal(capf_asn1_to_time(t, &v), 0);
	assert_int_equal(v, -1);
	/* both ways: UTCTime through 2049, GeneralizedTime from 2050 */
	assert_int_equal(capf_cert_set_validity(x, 1700000000, 2524608000), 1);
	assert_int_equal(ASN1_STRING_type(X509_get0_notBefore(x)), V_ASN1_UTCTIME);
	assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(x)), V_ASN1_GENERALIZEDTIME);
	assert_int_equal(capf_asn1_to_time(X509_get0_notBefore(x), &v), 0);
	assert_int_equal(v, 1700000000);
	assert_int_equal(capf_asn1_to_time(X509_get0_notAfter(x), &v), 0);
	assert_int_equal(v, 2524608000);
	ASN1_TIME_free(t);
	X509_free(x);
}

struct script {
	const unsigned char *bytes;
	size_t len, off;
	int calls;
};

/* A random source that replays fixed bytes. */
static int replay(void *arg, unsigned char *buf, size_t n)
{
	struct script *s = arg;

	s->calls++;
	if (s->off + n > s->len)
		return 0;
	memcpy(buf, s->bytes + s->off, n);
	s->off += n;
	return 1;
}

static void test_serial(void **state)
{
	static const unsigned char bytes[] = {
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* too small: drawn again */
		0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, /* 64 bits: kept whole */
	};
	struct script s = { bytes, sizeof(bytes), 0, 0 };
	ASN1_INTEGER *a = ASN1_INTEGER_new();
	BIGNUM *bn;
	char *hex;

	assert_int_equal(capf_serial_random(a, 64, replay, &s), 1);
	assert_int_equal(s.calls, 2);
	bn = ASN1_INTEGER_to_BN(a, NULL);
	hex = BN_bn2hex(bn);
	assert_string_equal(hex, "FF01020304050607");
	OPENSSL_free(hex);
	BN_free(bn);
	/* 127 bits: the top bit of 16 bytes is masked off */
	{
		static const unsigned char ff[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
						      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
		struct script s2 = { ff, sizeof(ff), 0, 0 };

		assert_int_equal(capf_serial_random(a, 127, replay, &s2), 1);
		bn = ASN1_INTEGER_to_BN(a, NULL);
		assert_int_equal(BN_num_bits(bn), 127);
		BN_free(bn);
	}
	/* a failing source, sizes out of range */
	s.off = s.len;
	assert_int_equal(capf_serial_random(a, 64, replay, &s), 0);
	assert_int_equal(capf_serial_random(a, 63, NULL, NULL), 0);
	assert_int_equal(capf_serial_random(a, 160, NULL, NULL), 0);
	/* the CSPRNG */
	assert_int_equal(capf_serial_random(a, 128, NULL, NULL), 1);
	ASN1_INTEGER_free(a);
}

static void expect_name(const char *in, const char *want)
{
	char err[256] = "", buf[256];
	X509_NAME *n = capf_subject_parse(in, err, sizeof(err));

	if (n == NULL)
		fail_msg("%s: %s", in, err);
	X509_NAME_oneline(n, buf, sizeof(buf));
	assert_string_equal(buf, want);
	X509_NAME_free(n);
}

static void expect_refused(const char *in, const char *why)
{
	char err[256] = "";

	assert_null(capf_subject_parse(in, err, sizeof(err)));
	if (strstr(err, why) == NULL)
		fail_msg("%s: got \"%s\", want \"%s\"", in, err, why);
}

static void test_subject(void **state)
{
	/* both forms give the same name */
	expect_name("/C=US/O=Example Corp/OU=Voice/CN=CAPF-1", "/C=US/O=Example Corp/OU=Voice/CN=CAPF-1");
	expect_name("CN=CAPF-1,OU=Voice,O=Example Corp,C=US", "/C=US/O=Example Corp/OU=Voice/CN=CAPF-1");
	expect_name("CN=CAPF-1, O=Example", "/O=Example/CN=CAPF-1");
	expect_name("/O=A\\/B/CN=x/", "/O=A\\/B/CN=x");
	expect_name("CN=a\\,b", "/CN=a,b");
	expect_refused("", "empty");
	expect_refused("/", "empty");
	expect_refused("CN=x,FOO=y", "attribute \"FOO\" not allowed");
	expect_refused("/C=USA/CN=x", "two-letter country code");
	expect_refused("CN=x+OU=y", "multi-valued");
	expect_refused("CN=x,,O=y", "is not ATTR=value");
}

/* The TLS certificate's profile: extensions, validity capped by the issuer, a signature that verifies. */
static void test_tlscert(void **state)
{
	const time_t now = 1790000000;
	struct pki_world w;
	EVP_PKEY *k = pki_key("EC:P-256"), *r = pki_key("RSA:2048");
	X509_NAME *n = capf_subject_parse("CN=capf.example.com", NULL, 0),
		  *nocn = capf_subject_parse("/O=x", NULL, 0);
	char err[256];
	time_t nb, na;
	X509 *x;
	int crit;
	ASN1_BIT_STRING *ku;

	pki_world_make(&w, now, "EC:P-256", 365);
	assert_null(capf_tlscert_build(w.capf, nocn, k, 30, now + 86400 * 365, "", now, err, sizeof(err)));
	assert_non_null(strstr(err, "CN"));
	assert_null(capf_tlscert_build(w.capf, n, k, 0, now + 86400 * 365, "", now, err, sizeof(err)));
	assert_non_null(x = capf_tlscert_build(w.capf, n, k, 3650, now + 86400 * 365, "DNS:capf.example.com",
					       now, err, sizeof(err)));
	assert_int_equal(capf_asn1_to_time(X509_get0_notBefore(x), &nb), 0);
	assert_int_equal(capf_asn1_to_time(X509_get0_notAfter(x), &na), 0);
	assert_int_equal(nb, now);
	assert_int_equal(na, now + 86400 * 365); /* capped by the issuer */
	assert_true(X509_sign(x, w.capf_key, EVP_sha256()) > 0);
	assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 1);
	assert_non_null(X509_get0_authority_key_id(x));
	GENERAL_NAMES_free(X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL));
	assert_int_equal(X509_get_ext_by_NID(x, NID_subject_alt_name, -1) >= 0, 1);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(w.capf)), 1);
	ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	assert_true(crit && ASN1_BIT_STRING_get_bit(ku, 0) && !ASN1_BIT_STRING_get_bit(ku, 2));
	ASN1_BIT_STRING_free(ku);
	X509_free(x);
	/* RSA: keyEncipherment too */
	assert_non_null(x = capf_tlscert_build(w.capf, n, r, 30, now + 86400 * 365, "", now, err, sizeof(err)));
	ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	assert_true(ASN1_BIT_STRING_get_bit(ku, 2));
	assert_int_equal(X509_get_ext_by_NID(x, NID_subject_alt_name, -1), -1);
	ASN1_BIT_STRING_free(ku);
	X509_free(x);
	X509_NAME_free(n);
	X509_NAME_free(nocn);
	pki_world_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_subject),
		cmocka_unit_test(test_tlscert),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
