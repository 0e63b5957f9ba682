/* tests/unit/test_policy_chain.c: the CAPF CA certificate, self-signed or under a
 * third-party root, and an LSC signed by it verifying up to that root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "policy/chain.h"
#include "policy/lsc.h"
#include "policy/pubkey.h"
#include "tests/unit/policy_pki.h"

#define NOW ((time_t)1790000000)

static struct capf_conf conf;

static struct capf_ca *load(X509 *cert, X509 *const *chain, int n, time_t now, char *err, size_t errlen)
{
	size_t clen, chlen = 0;
	char *c = pki_pem(&cert, 1, &clen), *ch = n > 0 ? pki_pem(chain, n, &chlen) : NULL;
	struct capf_ca *ca = NULL;

	err[0] = '\0';
	if (capf_ca_from_pem(c, clen, ch, chlen, now, &ca, err, errlen) != 0)
		ca = NULL;
	free(c);
	free(ch);
	return ca;
}

/* Issue an LSC with the policy, sign it with the CAPF CA key, check it end to end. */
static void issue_and_verify(struct capf_ca *ca, EVP_PKEY *ca_key, X509 *root, const char *phone_spec)
{
	struct capf_lsc_input in = pki_input("SEP001122334455", pki_key(phone_spec), NOW);
	struct capf_errlist *e = capf_errlist_new();
	const EVP_MD *md = NULL;
	char err[512];
	X509 *lsc;

	lsc = capf_lsc_build(&conf, ca, &in, &md, err, sizeof(err));
	if (lsc == NULL)
		fprintf(stderr, "build: %s\n", err);
	assert_non_null(lsc);
	assert_int_equal(capf_lsc_lint(&conf, ca, &in, lsc, e), 0);
	assert_true(X509_sign(lsc, ca_key, md) > 0);
	if (capf_lsc_lint(&conf, ca, &in, lsc, e) != 0)
		fprintf(stderr, "lint: %s\n", capf_errlist_join(e, "; ", err, sizeof(err)));
	assert_int_equal(capf_errlist_count(e), 0);
	if (capf_ca_verify(ca, lsc, NOW, err, sizeof(err)) != 0)
		fprintf(stderr, "verify: %s\n", err);
	assert_int_equal(capf_ca_verify(ca, lsc, NOW, err, sizeof(err)), 0);

	/* and independently, with OpenSSL alone, on the bytes a phone receives: the root as
	 * the only trust anchor */
	{
		unsigned char *der = NULL;
		int len = i2d_X509(lsc, &der);
		const unsigned char *p = der;
		X509 *wire = d2i_X509(NULL, &p, len);
		X509_STORE *st = X509_STORE_new();
		X509_STORE_CTX *ctx = X509_STORE_CTX_new();
		STACK_OF(X509) *untrusted = sk_X509_new_null();
		STACK_OF(X509) *chain = capf_ca_chain(ca);

		sk_X509_push(untrusted, capf_ca_cert(ca));
		for (int i = 0; i < sk_X509_num(chain); i++)
			if (sk_X509_value(chain, i) != root)
				sk_X509_push(untrusted, sk_X509_value(chain, i));
		X509_STORE_add_cert(st, root);
		assert_non_null(wire);
		X509_STORE_CTX_init(ctx, st, wire, untrusted);
		X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), NOW);
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
		int ok = X509_verify_cert(ctx);
		if (ok != 1)
			fprintf(stderr, "X509_verify_cert: %s\n",
				X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		assert_int_equal(ok, 1);
		/* issuer is the CAPF CA's subject, not its issuer */
		assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(lsc),
					       X509_get_subject_name(capf_ca_cert(ca))),
				 0);
		X509_STORE_CTX_free(ctx);
		X509_STORE_free(st);
		sk_X509_free(untrusted);
		X509_free(wire);
		OPENSSL_free(der);
	}
	/* later than the CA allows: refused */
	assert_int_equal(capf_ca_verify(ca, lsc, capf_ca_not_after(ca) + 86400, err, sizeof(err)), -1);
	X509_free(lsc);
	capf_errlist_free(e);
}

static void test_third_party(void **state)
{
	struct pki_world w;
	struct capf_ca *ca;
	char err[1024];

	capf_conf_defaults(&conf);
	pki_world_make(&w, NOW, "RSA:2048", 3650);
	{
		X509 *chain[] = { w.inter, w.root };
		ca = load(w.capf, chain, 2, NOW, err, sizeof(err));
		if (ca == NULL)
			fprintf(stderr, "%s\n", err);
		assert_non_null(ca);
	}
	assert_false(capf_ca_self_signed(ca));
	assert_ptr_equal(capf_ca_root(ca), sk_X509_value(capf_ca_chain(ca), 1));
	assert_int_equal(X509_cmp(capf_ca_root(ca), w.root), 0);
	assert_int_equal(sk_X509_num(capf_ca_chain(ca)), 2);
	assert_int_equal(capf_ca_days_left(ca, NOW), 3650);
	assert_int_equal(capf_ca_days_left(ca, capf_ca_not_after(ca) + 1), -1);
	issue_and_verify(ca, w.capf_key, w.root, "RSA:2048");
	issue_and_verify(ca, w.capf_key, w.root, "EC:P-256");
	capf_ca_free(ca);

	/* the chain file in the other order: root first */
	{
		X509 *chain[] = { w.root, w.inter };
		ca = load(w.capf, chain, 2, NOW, err, sizeof(err));
		assert_non_null(ca);
		assert_int_equal(X509_cmp(capf_ca_root(ca), w.root), 0);
		capf_ca_free(ca);
	}
	pki_world_free(&w);

	/* an EC CAPF CA with sha384 */
	pki_world_make(&w, NOW, "EC:P-384", 3650);
	conf.lsc.digest = CAPF_DIGEST_SHA384;
	{
		X509 *chain[] = { w.inter, w.root };
		ca = load(w.capf, chain, 2, NOW, err, sizeof(err));
		assert_non_null(ca);
	}
	issue_and_verify(ca, w.capf_key, w.root, "RSA:2048");
	issue_and_verify(ca, w.capf_key, w.root, "EC:P-384");
	capf_ca_free(ca);
	pki_world_free(&w);
}

static void test_from_pem(void **state)
{
	struct pki_world w;
	struct capf_ca *ca = NULL;
	char err[1024];
	X509 *chain[2];
	size_t len, chlen;
	char *pem, *chpem;

	pki_world_make(&w, NOW, "EC:P-256", 3650);
	chain[0] = w.inter;
	chain[1] = w.root;
	pem = pki_pem(&w.capf, 1, &len);
	/* without its chain, a third-party signed CA does not load */
	assert_int_equal(capf_ca_from_pem(pem, len, NULL, 0, NOW, &ca, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not self-signed, and no chain was given"));
	chpem = pki_pem(chain, 2, &chlen);
	assert_int_equal(capf_ca_from_pem(pem, len, chpem, chlen, NOW, &ca, err, sizeof(err)), 0);
	assert_int_equal(capf_ca_days_left(ca, NOW), 3650);
	capf_ca_free(ca);
	/* text that holds no certificate */
	assert_int_equal(capf_ca_from_pem("not PEM", 7, NULL, 0, NOW, &ca, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no PEM certificate found"));
	free(pem);
	free(chpem);
	pki_world_free(&w);
}

static void test_self_signed(void **state)
{
	struct pki_cert p = {
		.subject = "/O=Example/OU=Voice/CN=CAPF-self",
		.key = pki_key("EC:P-256"),
		.not_before = NOW - 3600,
		.not_after = NOW + 86400L * 3650,
		.bc = "critical,CA:TRUE,pathlen:0",
		.ku = "critical,keyCertSign,digitalSignature",
	};
	X509 *x = pki_cert(&p);
	struct capf_ca *ca;
	char err[1024];

	capf_conf_defaults(&conf);
	ca = load(x, NULL, 0, NOW, err, sizeof(err));
	if (ca == NULL)
		fprintf(stderr, "%s\n", err);
	assert_non_null(ca);
	assert_true(capf_ca_self_signed(ca));
	assert_ptr_equal(capf_ca_root(ca), capf_ca_cert(ca));
	assert_int_equal(sk_X509_num(capf_ca_chain(ca)), 0);
	issue_and_verify(ca, p.key, x, "EC:P-256");
	issue_and_verify(ca, p.key, x, "RSA:2048");
	capf_ca_free(ca);
	/* a self-signed CA given with a chain */
	{
		struct pki_world w;
		X509 *chain[] = { NULL };
		pki_world_make(&w, NOW, "EC:P-256", 100);
		chain[0] = w.root;
		assert_null(load(x, chain, 1, NOW, err, sizeof(err)));
		assert_non_null(strstr(err, "self-signed, but a chain was given"));
		pki_world_free(&w);
	}
	X509_free(x);
}

/* CAPF CA certificates that must be refused, and why. */
struct bad_ca {
	const char *bc, *ku;
	long nb_days, na_days; /* relative to NOW */
	int no_ski;
	const char *err;
};

static const struct bad_ca bad_cas[] = {
	{ "critical,CA:TRUE,pathlen:0", "critical,keyCertSign,digitalSignature", -1, 365, 0, NULL },
	{ "critical,CA:TRUE,pathlen:0", "critical,keyCertSign,digitalSignature", -400, -1, 0,
	  "expired 1 days ago" },
	{ "critical,CA:TRUE,pathlen:0", "critical,keyCertSign,digitalSignature", 2, 365, 0, "not yet valid" },
	{ "critical,CA:TRUE,pathlen:0", "critical,digitalSignature", -1, 365, 0, "keyUsage lacks keyCertSign" },
	{ "critical,CA:TRUE,pathlen:0", "critical,keyCertSign", -1, 365, 0, "keyUsage lacks digitalSignature" },
	{ "critical,CA:TRUE,pathlen:0", NULL, -1, 365, 0, "has no keyUsage" },
	{ "critical,CA:TRUE", "critical,keyCertSign,digitalSignature", -1, 365, 0, "lacks pathlen:0" },
	{ "critical,CA:TRUE,pathlen:1", "critical,keyCertSign,digitalSignature", -1, 365, 0,
	  "lacks pathlen:0" },
	{ "CA:TRUE,pathlen:0", "critical,keyCertSign,digitalSignature", -1, 365, 0,
	  "basicConstraints is not critical" },
	{ "critical,CA:FALSE", "critical,keyCertSign,digitalSignature", -1, 365, 0,
	  "lacks basicConstraints CA:TRUE" },
	{ NULL, "critical,keyCertSign,digitalSignature", -1, 365, 0, "lacks basicConstraints CA:TRUE" },
	{ "critical,CA:TRUE,pathlen:0", "critical,keyCertSign,digitalSignature", -1, 365, 1,
	  "no subjectKeyIdentifier" },
};

static void test_bad_cas(void **state)
{
	struct pki_world w;
	int failures = 0;
	char err[2048];

	pki_world_make(&w, NOW, "EC:P-256", 100);
	for (size_t i = 0; i < sizeof(bad_cas) / sizeof(bad_cas[0]); i++) {
		const struct bad_ca *t = &bad_cas[i];
		/* self-signed, and under the third-party root */
		for (int third = 0; third < 2; third++) {
			struct pki_cert p = {
				.subject = PKI_CAPF_SUBJECT,
				.key = pki_key("EC:P-256"),
				.issuer = third ? w.inter : NULL,
				.issuer_key = third ? w.inter_key : NULL,
				.not_before = NOW + 86400 * t->nb_days,
				.not_after = NOW + 86400 * t->na_days,
				.bc = t->bc,
				.ku = t->ku,
				.no_ski = t->no_ski,
			};
			X509 *x = pki_cert(&p);
			X509 *chain[] = { w.inter, w.root };
			struct capf_ca *ca = load(x, chain, third ? 2 : 0, NOW, err, sizeof(err));

			if (t->err == NULL ? ca == NULL : (ca != NULL || strstr(err, t->err) == NULL)) {
				fprintf(stderr, "case %zu (%s): want %s, got %s\n", i,
					third ? "third-party" : "self-signed", t->err ? t->err : "OK",
					ca ? "OK" : err);
				failures++;
			}
			capf_ca_free(ca);
			X509_free(x);
		}
	}
	assert_int_equal(failures, 0);
	pki_world_free(&w);
}

static void test_bad_chains(void **state)
{
	struct pki_world w, other;
	char err[2048];

	pki_world_make(&w, NOW, "EC:P-256", 100);
	pki_world_make_tagged(&other, NOW, "EC:P-256#2", 100, "#2");
	{ /* no root in the chain */
		X509 *chain[] = { w.inter };
		assert_null(load(w.capf, chain, 1, NOW, err, sizeof(err)));
		assert_non_null(strstr(err, "no root (self-signed) certificate"));
	}
	{ /* another hierarchy's root (same names, other keys) */
		X509 *chain[] = { other.inter, other.root };
		assert_null(load(w.capf, chain, 2, NOW, err, sizeof(err)));
		assert_non_null(strstr(err, "does not verify"));
	}
	{ /* the intermediate missing */
		X509 *chain[] = { w.root };
		assert_null(load(w.capf, chain, 1, NOW, err, sizeof(err)));
		assert_non_null(strstr(err, "does not verify"));
	}
	{ /* two roots */
		X509 *chain[] = { w.inter, w.root, other.root };
		assert_null(load(w.capf, chain, 3, NOW, err, sizeof(err)));
		assert_non_null(strstr(err, "more than one self-signed"));
	}
	{ /* the CA outlives... no: the intermediate expired */
		assert_null(
			load(w.capf, (X509 *[]){ w.inter, w.root }, 2, NOW + 86400L * 6000, err, sizeof(err)));
		assert_non_null(strstr(err, "expired"));
	}
	{ /* not PEM */
		struct capf_ca *ca = NULL;
		assert_int_equal(capf_ca_from_pem("hello", 5, NULL, 0, NOW, &ca, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "no PEM certificate"));
		assert_int_equal(
			capf_ca_from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 60,
					 NULL, 0, NOW, &ca, err, sizeof(err)),
			-1);
		assert_non_null(strstr(err, "malformed"));
	}
	{ /* an LSC of one hierarchy does not verify under the other */
		struct capf_ca *ca = load(w.capf, (X509 *[]){ w.inter, w.root }, 2, NOW, err, sizeof(err));
		struct capf_ca *oca =
			load(other.capf, (X509 *[]){ other.inter, other.root }, 2, NOW, err, sizeof(err));
		struct capf_lsc_input in = pki_input("SEP001122334455", pki_key("EC:P-256"), NOW);
		const EVP_MD *md;
		X509 *lsc;

		capf_conf_defaults(&conf);
		assert_non_null(ca);
		assert_non_null(oca);
		lsc = capf_lsc_build(&conf, ca, &in, &md, err, sizeof(err));
		assert_non_null(lsc);
		assert_true(X509_sign(lsc, w.capf_key, md) > 0);
		assert_int_equal(capf_ca_verify(ca, lsc, NOW, err, sizeof(err)), 0);
		assert_int_equal(capf_ca_verify(oca, lsc, NOW, err, sizeof(err)), -1);
		X509_free(lsc);
		capf_ca_free(ca);
		capf_ca_free(oca);
	}
	pki_world_free(&w);
	pki_world_free(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_third_party), cmocka_unit_test(test_from_pem),
		cmocka_unit_test(test_self_signed), cmocka_unit_test(test_bad_cas),
		cmocka_unit_test(test_bad_chains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
