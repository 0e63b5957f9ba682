/* tests/unit/test_policy_certlint.c: the key process's lints (policy/certlint.h) on
 * software certificates: an LSC read back from itself, the TLS server profile, the
 * self-signed CA profile, CSRs; each tampering refused, each genuine one clean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "policy/certlint.h"
#include "policy/chain.h"
#include "policy/lsc.h"
#include "tests/unit/policy_pki.h"

#define DEV "SEP58971ECC97C1"

static struct capf_conf conf;
static struct pki_world world;
static struct capf_ca *ca;
static time_t now;

static int setup(void **state)
{
	char err[1024];
	STACK_OF(X509) *chain = sk_X509_new_null();

	(void)state;
	now = time(NULL);
	pki_conf(&conf);
	pki_world_make(&world, now, "RSA:2048", 3650);
	sk_X509_push(chain, world.inter);
	sk_X509_push(chain, world.root);
	if (capf_ca_from_x509(world.capf, chain, now, &ca, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	sk_X509_free(chain);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	capf_ca_free(ca);
	pki_world_free(&world);
	return 0;
}

/* x re-encoded with its changes (a throwaway signature encodes the TBS again). */
static X509 *reencode(X509 *x)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	X509 *y;
	int n;

	assert_true(X509_sign(x, pki_key("EC:P-256#9"), EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	p = der;
	y = d2i_X509(NULL, &p, n);
	OPENSSL_free(der);
	assert_non_null(y);
	return y;
}

static void set_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int at;

	while ((at = X509_get_ext_by_NID(x, nid, -1)) >= 0)
		X509_EXTENSION_free(X509_delete_ext(x, at));
	if (value == NULL)
		return;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

static X509 *lsc(void)
{
	struct capf_lsc_input in = pki_input(DEV, pki_key("RSA:2048"), now);
	const EVP_MD *md;
	char err[256];
	X509 *x = capf_lsc_build(&conf, ca, &in, &md, err, sizeof(err));

	assert_non_null(x);
	return x;
}

static int lint_lsc(X509 *x)
{
	struct capf_errlist *errs = capf_errlist_new();
	int r = capf_lsc_lint_issued(&conf, ca, x, now, errs);

	capf_errlist_free(errs);
	return r;
}

static void test_lsc(void **state)
{
	X509 *x = lsc(), *y;

	(void)state;
	assert_int_equal(lint_lsc(x), 0);
	/* a minute later (the key process's clock): still the same certificate */
	assert_int_equal(capf_lsc_lint_issued(&conf, ca, x, now + 60, NULL), 0);
	y = X509_dup(x);
	set_ext(y, capf_ca_cert(ca), NID_basic_constraints, "critical,CA:TRUE");
	X509 *z = reencode(y);
	assert_int_equal(lint_lsc(z), -1);
	X509_free(y);
	X509_free(z);
	y = X509_dup(x);
	ASN1_TIME_set(X509_getm_notAfter(y), now + 100L * 366 * 86400);
	z = reencode(y);
	assert_int_equal(lint_lsc(z), -1);
	X509_free(y);
	X509_free(z);
	y = X509_dup(x);
	ASN1_TIME_set(X509_getm_notBefore(y), now - 30L * 86400);
	z = reencode(y);
	assert_int_equal(lint_lsc(z), -1);
	X509_free(y);
	X509_free(z);
	/* the name checked too: a CN that is no device name */
	y = X509_dup(x);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(y), "CN", MBSTRING_ASC,
				   (const unsigned char *)"*.example.com", -1, -1, 0);
	z = reencode(y);
	assert_int_equal(lint_lsc(z), -1);
	X509_free(y);
	X509_free(z);
	X509_free(x);
}

/* The key process's entry point: the bytes, parsed once. Same verdicts as the
 * object's; anything that is not exactly one certificate refused with a reason. */
static void test_lsc_der(void **state)
{
	X509 *x = lsc(), *y;
	unsigned char *der = NULL, *bad;
	struct capf_errlist *errs = capf_errlist_new();
	char text[512];
	int n = i2d_X509(x, &der);

	(void)state;
	assert_true(n > 0);
	assert_int_equal(capf_lsc_lint_issued_der(&conf, ca, der, (size_t)n, now, errs), 0);
	assert_int_equal(capf_errlist_total(errs), 0);
	/* a byte more, a byte less, garbage */
	assert_non_null(bad = malloc((size_t)n + 1));
	memcpy(bad, der, (size_t)n);
	bad[n] = 0;
	assert_int_equal(capf_lsc_lint_issued_der(&conf, ca, bad, (size_t)n + 1, now, errs), -1);
	assert_int_equal(capf_lsc_lint_issued_der(&conf, ca, der, (size_t)n - 1, now, errs), -1);
	memset(bad, 0x30, (size_t)n);
	assert_int_equal(capf_lsc_lint_issued_der(&conf, ca, bad, (size_t)n, now, errs), -1);
	assert_string_equal(
		capf_errlist_join(errs, "; ", text, sizeof(text)),
		"lint: not a DER certificate; lint: not a DER certificate; lint: not a DER certificate");
	/* a certificate the policy refuses: the same findings as through the object */
	{
		struct capf_errlist *obj = capf_errlist_new();
		char t2[512];
		X509 *z;

		y = X509_dup(x);
		set_ext(y, capf_ca_cert(ca), NID_basic_constraints, "critical,CA:TRUE");
		z = reencode(y);
		X509_free(y);
		y = z;
		OPENSSL_free(der);
		der = NULL;
		assert_true((n = i2d_X509(y, &der)) > 0);
		capf_errlist_clear(errs);
		assert_int_equal(capf_lsc_lint_issued_der(&conf, ca, der, (size_t)n, now, errs), -1);
		assert_int_equal(capf_lsc_lint_issued(&conf, ca, y, now, obj), -1);
		assert_true(capf_errlist_total(errs) > 0);
		assert_string_equal(capf_errlist_join(errs, "; ", text, sizeof(text)),
				    capf_errlist_join(obj, "; ", t2, sizeof(t2)));
		assert_non_null(strstr(text, "basicConstraints"));
		capf_errlist_free(obj);
	}
	/* and capf_lsc_lint_parsed without a parse: refused, not crashed */
	{
		struct capf_lsc_input in = pki_input(DEV, pki_key("RSA:2048"), now);

		capf_errlist_clear(errs);
		assert_int_equal(capf_lsc_lint_parsed(&conf, ca, &in, der, (size_t)n, NULL, errs), -1);
		assert_string_equal(capf_errlist_join(errs, "; ", text, sizeof(text)),
				    "lint: the encoding does not parse back");
	}
	free(bad);
	OPENSSL_free(der);
	X509_free(y);
	X509_free(x);
	capf_errlist_free(errs);
}

static X509 *tls(int ca_true, const char *eku, int days)
{
	X509 *x = X509_new();
	X509 *cacert = capf_ca_cert(ca);
	BIGNUM *bn = BN_new();

	X509_set_version(x, 2);
	BN_set_word(bn, 123456789);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)"capf.example.com", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(cacert));
	ASN1_TIME_set(X509_getm_notBefore(x), now);
	ASN1_TIME_set(X509_getm_notAfter(x), now + (time_t)days * 86400);
	X509_set_pubkey(x, pki_key("EC:P-256"));
	set_ext(x, cacert, NID_basic_constraints, ca_true ? "critical,CA:TRUE" : "critical,CA:FALSE");
	set_ext(x, cacert, NID_key_usage, ca_true ? "critical,keyCertSign" : "critical,digitalSignature");
	set_ext(x, cacert, NID_ext_key_usage, eku);
	set_ext(x, cacert, NID_subject_key_identifier, "hash");
	set_ext(x, cacert, NID_authority_key_identifier, "keyid:always");
	X509 *y = reencode(x);
	X509_free(x);
	return y;
}

static void test_tls(void **state)
{
	X509 *x;

	(void)state;
	x = tls(0, "serverAuth", 365);
	assert_int_equal(capf_tls_lint(ca, x, now, NULL), 0);
	X509_free(x);
	x = tls(1, "serverAuth", 365);
	assert_int_equal(capf_tls_lint(ca, x, now, NULL), -1);
	X509_free(x);
	x = tls(0, "clientAuth", 365);
	assert_int_equal(capf_tls_lint(ca, x, now, NULL), -1);
	X509_free(x);
	x = tls(0, "serverAuth", 20000); /* beyond the CA */
	assert_int_equal(capf_tls_lint(ca, x, now, NULL), -1);
	X509_free(x);
	x = tls(0, "serverAuth", 365);
	assert_int_equal(capf_tls_lint(ca, x, now + 2 * 86400, NULL), -1); /* stale notBefore */
	X509_free(x);
}

static void test_cacert(void **state)
{
	EVP_PKEY *k = pki_key("EC:P-256#3");
	struct pki_cert p = {
		.subject = "/O=Example Corp/CN=CAPF-new",
		.key = k,
		.not_before = now,
		.not_after = now + 3650L * 86400,
		.bc = "critical,CA:TRUE,pathlen:0",
		.ku = "critical,keyCertSign,digitalSignature",
	};
	X509 *x = pki_cert(&p);

	(void)state;
	assert_int_equal(capf_cacert_lint(x, k, now, NULL), 0);
	assert_int_equal(capf_cacert_lint(x, pki_key("EC:P-256#4"), now, NULL), -1); /* another key */
	X509_free(x);
	p.bc = "critical,CA:FALSE";
	x = pki_cert(&p);
	assert_int_equal(capf_cacert_lint(x, k, now, NULL), -1);
	X509_free(x);
	p.bc = "critical,CA:TRUE,pathlen:0";
	p.issuer = world.capf;
	p.issuer_key = world.capf_key;
	x = pki_cert(&p); /* issued by another: not self-signed */
	assert_int_equal(capf_cacert_lint(x, k, now, NULL), -1);
	X509_free(x);
}

static void test_csr(void **state)
{
	X509_REQ *r = X509_REQ_new();
	EVP_PKEY *k = pki_key("RSA:2048");

	(void)state;
	X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_ASC,
				   (const unsigned char *)"CAPF-x", -1, -1, 0);
	X509_REQ_set_pubkey(r, k);
	assert_int_equal(capf_req_preset_sigalg(r, k, EVP_sha256()), 0);
	assert_int_equal(capf_csr_lint(r, k, NULL), 0);
	assert_int_equal(capf_csr_lint(r, pki_key("EC:P-256"), NULL), -1);
	X509_REQ_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lsc),    cmocka_unit_test(test_lsc_der), cmocka_unit_test(test_tls),
		cmocka_unit_test(test_cacert), cmocka_unit_test(test_csr),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
