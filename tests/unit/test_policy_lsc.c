/* tests/unit/test_policy_lsc.c: the LSC, field by field for RSA and EC phones; the
 * validity at the CA's end (truncate / refuse); the lint catching each tampering. */
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
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "policy/chain.h"
#include "policy/lsc.h"
#include "tests/unit/policy_pki.h"

#define NOW ((time_t)1790000000)
#define DEV "SEP58971ECC97C1"

static struct capf_conf conf;
static struct pki_world world;
static struct capf_ca *ca;

static int setup(void **state)
{
	char err[1024];

	pki_world_make(&world, NOW, "RSA:2048", 3650);
	if (capf_ca_from_x509(world.capf, NULL, NOW, &ca, err, sizeof(err)) == 0)
		return -1; /* a third-party CA needs its chain */
	STACK_OF(X509) *chain = sk_X509_new_null();
	sk_X509_push(chain, world.inter);
	sk_X509_push(chain, world.root);
	if (capf_ca_from_x509(world.capf, chain, NOW, &ca, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	sk_X509_free(chain);
	return 0;
}

static int teardown(void **state)
{
	capf_ca_free(ca);
	pki_world_free(&world);
	return 0;
}

static time_t t_of(const ASN1_TIME *a)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(a, &tm), 1);
	return timegm(&tm);
}

static X509 *build(struct capf_ca *c, const char *spec, time_t now, const EVP_MD **md)
{
	struct capf_lsc_input in = pki_input(DEV, pki_key(spec), now);
	char err[512];
	X509 *x = capf_lsc_build(&conf, c, &in, md, err, sizeof(err));

	if (x == NULL)
		fprintf(stderr, "build: %s\n", err);
	assert_non_null(x);
	return x;
}

static void check_fields(const char *spec, int rsa)
{
	const EVP_MD *md = NULL;
	X509 *x = build(ca, spec, NOW, &md);
	const X509_NAME *sub = X509_get_subject_name(x);
	static const int want_nids[] = { NID_countryName,      NID_stateOrProvinceName,    NID_localityName,
					 NID_organizationName, NID_organizationalUnitName, NID_commonName };
	static const char *const want_vals[] = { "US", "California", "San Jose", "Example Corp", "Voice", DEV };
	BIGNUM *serial;
	int crit = -1;

	assert_ptr_equal(md, EVP_sha256());
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	/* serial: positive, 128 CSPRNG bits */
	serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	assert_false(BN_is_negative(serial));
	assert_true(BN_num_bits(serial) <= 128 && BN_num_bits(serial) > 96);
	BN_free(serial);
	/* subject: the CA's C, ST, L, O, OU in its order, then CN; never the CA's CN */
	assert_int_equal(X509_NAME_entry_count(sub), 6);
	for (int i = 0; i < 6; i++) {
		const X509_NAME_ENTRY *e = X509_NAME_get_entry(sub, i);
		const ASN1_STRING *v = X509_NAME_ENTRY_get_data(e);
		assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)), want_nids[i]);
		assert_int_equal(ASN1_STRING_length(v), strlen(want_vals[i]));
		assert_memory_equal(ASN1_STRING_get0_data(v), want_vals[i], strlen(want_vals[i]));
	}
	/* issuer: the CAPF CA's subject, not its issuer */
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(world.capf)), 0);
	assert_int_not_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_issuer_name(world.capf)), 0);
	/* validity */
	assert_int_equal(t_of(X509_get0_notBefore(x)), NOW - 300);
	assert_int_equal(t_of(X509_get0_notAfter(x)), NOW - 300 + 1825L * 86400);
	/* the key: the phone's SubjectPublicKeyInfo, byte for byte, and the same key once parsed */
	{
		unsigned char *got = NULL, *der = NULL;
		int glen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &got), dlen = i2d_X509(x, &der);
		size_t wlen;
		const unsigned char *want = pki_spki(pki_key(spec), &wlen), *p = der;
		X509 *y = d2i_X509(NULL, &p, dlen);

		assert_true(glen > 0 && (size_t)glen == wlen && memcmp(got, want, wlen) == 0);
		assert_non_null(y);
		assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(y), pki_key(spec)), 1);
		X509_free(y);
		OPENSSL_free(der);
		OPENSSL_free(got);
	}
	/* extensions: exactly these, in this order */
	{
		static const int nids[] = { NID_basic_constraints,
					    NID_key_usage,
					    NID_ext_key_usage,
					    NID_subject_key_identifier,
					    NID_authority_key_identifier,
					    NID_subject_alt_name };
		static const int crits[] = { 1, 1, 0, 0, 0, 0 };
		assert_int_equal(X509_get_ext_count(x), 6);
		for (int i = 0; i < 6; i++) {
			X509_EXTENSION *ex = X509_get_ext(x, i);
			assert_int_equal(OBJ_obj2nid(X509_EXTENSION_get_object(ex)), nids[i]);
			assert_int_equal(X509_EXTENSION_get_critical(ex), crits[i]);
		}
	}
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(bc->ca, 0);
	assert_null(bc->pathlen);
	assert_int_equal(crit, 1);
	BASIC_CONSTRAINTS_free(bc);
	/* basicConstraints CA:FALSE is encoded as an empty SEQUENCE (DER: default omitted) */
	{
		X509_EXTENSION *ex = X509_get_ext(x, 0);
		const ASN1_OCTET_STRING *v = X509_EXTENSION_get_data(ex);
		assert_int_equal(ASN1_STRING_length(v), 2);
		assert_memory_equal(ASN1_STRING_get0_data(v), "\x30\x00", 2);
	}
	assert_int_equal(X509_get_key_usage(x),
			 rsa ? (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT) : KU_DIGITAL_SIGNATURE);
	{
		EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(x, NID_ext_key_usage, NULL, NULL);
		char oid[64];
		assert_int_equal(sk_ASN1_OBJECT_num(eku), 3);
		assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)), NID_server_auth);
		assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 1)), NID_client_auth);
		OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku, 2), 1);
		assert_string_equal(oid, "1.3.6.1.5.5.7.3.5");
		sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	}
	{ /* SKI = SHA-1 of the subjectPublicKey BIT STRING (computed here from the DER) */
		unsigned char *spki = NULL, md1[SHA_DIGEST_LENGTH];
		int len = i2d_PUBKEY(pki_key(spec), &spki);
		const unsigned char *p = spki;
		X509_PUBKEY *xp = d2i_X509_PUBKEY(NULL, &p, len);
		const unsigned char *bits;
		int blen;
		assert_int_equal(X509_PUBKEY_get0_param(NULL, &bits, &blen, NULL, xp), 1);
		SHA1(bits, (size_t)blen, md1);
		const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
		assert_int_equal(ASN1_STRING_length(ski), 20);
		assert_memory_equal(ASN1_STRING_get0_data(ski), md1, 20);
		X509_PUBKEY_free(xp);
		OPENSSL_free(spki);
	}
	{ /* AKI: keyid only, = the CA's SKI */
		AUTHORITY_KEYID *aki = X509_get_ext_d2i(x, NID_authority_key_identifier, NULL, NULL);
		assert_non_null(aki->keyid);
		assert_null(aki->issuer);
		assert_null(aki->serial);
		assert_int_equal(ASN1_OCTET_STRING_cmp(aki->keyid, X509_get0_subject_key_id(world.capf)), 0);
		AUTHORITY_KEYID_free(aki);
	}
	{ /* SAN: URI = device name, nothing else */
		GENERAL_NAMES *san = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
		assert_int_equal(sk_GENERAL_NAME_num(san), 1);
		GENERAL_NAME *g = sk_GENERAL_NAME_value(san, 0);
		assert_int_equal(g->type, GEN_URI);
		assert_int_equal(ASN1_STRING_length(g->d.uniformResourceIdentifier), strlen(DEV));
		assert_memory_equal(ASN1_STRING_get0_data(g->d.uniformResourceIdentifier), DEV, strlen(DEV));
		GENERAL_NAMES_free(san);
	}
	/* not signed yet; the algorithm is the one X509_sign will write */
	{
		const ASN1_BIT_STRING *sig;
		const X509_ALGOR *alg;
		X509_get0_signature(&sig, &alg, x);
		assert_int_equal(ASN1_STRING_length(sig), 0);
		assert_int_equal(OBJ_obj2nid(alg->algorithm), NID_sha256WithRSAEncryption);
	}
	X509_free(x);
}

static void test_fields_rsa(void **state)
{
	capf_conf_defaults(&conf);
	check_fields("RSA:2048", 1);
	check_fields("RSA:3072", 1);
}

static void test_fields_ec(void **state)
{
	capf_conf_defaults(&conf);
	check_fields("EC:P-256", 0);
	check_fields("EC:P-384", 0);
	check_fields("EC:P-521", 0);
}

static void test_options(void **state)
{
	const EVP_MD *md;
	X509 *x;
	char buf[256];

	capf_conf_defaults(&conf);
	conf.lsc.copy_subject = CAPF_SUBJ_O;
	conf.lsc.digest = CAPF_DIGEST_SHA512;
	conf.lsc.backdate_seconds = 0;
	conf.lsc.validity_days = 30;
	x = build(ca, "EC:P-256", NOW, &md);
	assert_ptr_equal(md, EVP_sha512());
	X509_NAME_oneline(X509_get_subject_name(x), buf, sizeof(buf));
	assert_string_equal(buf, "/O=Example Corp/CN=" DEV);
	assert_int_equal(t_of(X509_get0_notBefore(x)), NOW);
	assert_int_equal(t_of(X509_get0_notAfter(x)), NOW + 30 * 86400);
	assert_int_equal(capf_lsc_lint(&conf, ca,
				       (struct capf_lsc_input[]){ pki_input(DEV, pki_key("EC:P-256"), NOW) }, x,
				       NULL),
			 0);
	X509_free(x);
	conf.lsc.copy_subject = 0;
	x = build(ca, "EC:P-256", NOW, &md);
	X509_NAME_oneline(X509_get_subject_name(x), buf, sizeof(buf));
	assert_string_equal(buf, "/CN=" DEV);
	X509_free(x);
	/* Jabber names too */
	{
		char err[256];
		struct capf_lsc_input in = pki_input("CSFjsmith.2", pki_key("RSA:2048"), NOW);
		x = capf_lsc_build(&conf, ca, &in, &md, err, sizeof(err));
		assert_non_null(x);
		assert_int_equal(capf_lsc_lint(&conf, ca, &in, x, NULL), 0);
		X509_free(x);
		/* names and keys the policy refuses */
		in.device_name = "SEP58971ecc97c1";
		assert_null(capf_lsc_build(&conf, ca, &in, &md, err, sizeof(err)));
		assert_non_null(strstr(err, "uppercase hexadecimal"));
		in.device_name = DEV;
		in.spki = pki_spki(pki_key("RSA:1024"), &in.spki_len);
		assert_null(capf_lsc_build(&conf, ca, &in, &md, err, sizeof(err)));
		assert_non_null(strstr(err, "RSA 1024-bit keys are not allowed"));
		in.spki = NULL;
		assert_null(capf_lsc_build(&conf, ca, &in, &md, err, sizeof(err)));
		assert_non_null(strstr(err, "public key is empty"));
	}
}

/* Serials: the configured size, positive, never repeated, at most 20 octets. */
static void test_serials(void **state)
{
	static const unsigned sizes[] = { 64, 128, 159 };
	const EVP_MD *md;

	capf_conf_defaults(&conf);
	for (size_t s = 0; s < 3; s++) {
		BIGNUM *prev[64] = { NULL };
		int top = 0;
		conf.lsc.serial_bits = sizes[s];
		for (int i = 0; i < 64; i++) {
			X509 *x = build(ca, "EC:P-256", NOW, &md);
			const ASN1_INTEGER *a = X509_get0_serialNumber(x);
			BIGNUM *bn = ASN1_INTEGER_to_BN(a, NULL);
			assert_int_equal(ASN1_STRING_type(a), V_ASN1_INTEGER);
			assert_true(ASN1_STRING_length(a) <= 20);
			assert_true(BN_num_bits(bn) <= (int)sizes[s] && BN_num_bits(bn) > (int)sizes[s] - 32);
			top += BN_num_bits(bn) == (int)sizes[s];
			for (int j = 0; j < i; j++)
				assert_int_not_equal(BN_cmp(prev[j], bn), 0);
			prev[i] = bn;
			assert_int_equal(capf_lsc_lint(&conf, ca,
						       (struct capf_lsc_input[]){
							       pki_input(DEV, pki_key("EC:P-256"), NOW) },
						       x, NULL),
					 0);
			X509_free(x);
		}
		/* the top bit is random, not forced: about half have it (P(miss all) = 2^-64) */
		assert_true(top > 0 && top < 64);
		for (int i = 0; i < 64; i++)
			BN_free(prev[i]);
	}
}

/* The CA's end: truncate or refuse; the CA's start; an expired CA. */
/* The CAPF CA of a third-party world, with its chain, loaded at NOW. */
static struct capf_ca *world_ca(struct pki_world *w)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	struct capf_ca *c = NULL;
	char err[512];

	sk_X509_push(chain, w->inter);
	sk_X509_push(chain, w->root);
	if (capf_ca_from_x509(w->capf, chain, NOW, &c, err, sizeof(err)) != 0)
		fail_msg("capf_ca_from_x509: %s", err);
	sk_X509_free(chain);
	return c;
}

static void test_ca_bounds(void **state)
{
	struct pki_world w;
	struct capf_ca *short_ca;
	const EVP_MD *md;
	char err[512];
	X509 *x;
	struct capf_lsc_input in = pki_input(DEV, pki_key("EC:P-256"), NOW);

	pki_world_make(&w, NOW, "EC:P-256", 100); /* CA valid NOW - 1 day .. NOW + 100 days */
	short_ca = world_ca(&w);

	capf_conf_defaults(&conf);
	x = capf_lsc_build(&conf, short_ca, &in, &md, err, sizeof(err));
	assert_non_null(x);
	assert_int_equal(t_of(X509_get0_notAfter(x)), capf_ca_not_after(short_ca));
	assert_int_equal(t_of(X509_get0_notAfter(x)), NOW + 100 * 86400);
	assert_int_equal(capf_lsc_lint(&conf, short_ca, &in, x, NULL), 0);
	X509_free(x);
	/* exactly at the CA's end: not truncated, fine in both modes */
	conf.lsc.validity_days = 100;
	conf.lsc.backdate_seconds = 0;
	conf.lsc.beyond_ca = CAPF_BEYOND_CA_REFUSE;
	x = capf_lsc_build(&conf, short_ca, &in, &md, err, sizeof(err));
	assert_non_null(x);
	assert_int_equal(capf_lsc_lint(&conf, short_ca, &in, x, NULL), 0);
	X509_free(x);
	/* one day more: refused, with a message that says what to do */
	conf.lsc.validity_days = 101;
	assert_null(capf_lsc_build(&conf, short_ca, &in, &md, err, sizeof(err)));
	assert_non_null(strstr(err, "lsc.beyond_ca = refuse"));
	assert_non_null(strstr(err, "after the CAPF CA certificate expires"));
	assert_non_null(strstr(err, DEV));
	/* the lint agrees: a truncated LSC is wrong under refuse */
	conf.lsc.beyond_ca = CAPF_BEYOND_CA_TRUNCATE;
	x = capf_lsc_build(&conf, short_ca, &in, &md, err, sizeof(err));
	assert_non_null(x);
	conf.lsc.beyond_ca = CAPF_BEYOND_CA_REFUSE;
	assert_int_equal(capf_lsc_lint(&conf, short_ca, &in, x, NULL), -1);
	X509_free(x);
	/* notBefore never before the CA's notBefore */
	capf_conf_defaults(&conf);
	conf.lsc.backdate_seconds = 86400;
	in.now = NOW - 86400 + 60; /* the CA started 60 s ago */
	x = capf_lsc_build(&conf, short_ca, &in, &md, err, sizeof(err));
	assert_non_null(x);
	assert_int_equal(t_of(X509_get0_notBefore(x)), capf_ca_not_before(short_ca));
	assert_int_equal(capf_lsc_lint(&conf, short_ca, &in, x, NULL), 0);
	X509_free(x);
	/* an expired CA, a CA not yet valid: nothing */
	in.now = NOW + 101 * 86400;
	assert_null(capf_lsc_build(&conf, short_ca, &in, &md, err, sizeof(err)));
	assert_non_null(strstr(err, "expired"));
	in.now = NOW - 2 * 86400;
	assert_null(capf_lsc_build(&conf, short_ca, &in, &md, err, sizeof(err)));
	assert_non_null(strstr(err, "not yet valid"));
	capf_ca_free(short_ca);
	pki_world_free(&w);
}

/* ---- lint: each tampering is caught ---- */

static void replace_ext(X509 *x, int nid, void *value, int crit)
{
	int idx = X509_get_ext_by_NID(x, nid, -1);

	if (idx >= 0)
		X509_EXTENSION_free(X509_delete_ext(x, idx));
	assert_int_equal(X509_add1_ext_i2d(x, nid, value, crit, X509V3_ADD_APPEND), 1);
}

static void t_extra_ext(X509 *x, struct capf_lsc_input *in)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, world.capf, x, NULL, NULL, 0);
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, NID_netscape_comment, "hello");
	X509_add_ext(x, ex, -1);
	X509_EXTENSION_free(ex);
}
static void t_wrong_issuer(X509 *x, struct capf_lsc_input *in)
{
	X509_set_issuer_name(x, X509_get_subject_name(world.root));
}
static void t_issuer_of_ca(X509 *x, struct capf_lsc_input *in)
{
	/* the classic mistake: the CA's own issuer */
	X509_set_issuer_name(x, X509_get_issuer_name(world.capf));
}
static void t_wrong_aki(X509 *x, struct capf_lsc_input *in)
{
	AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
	aki->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(world.inter));
	replace_ext(x, NID_authority_key_identifier, aki, 0);
	AUTHORITY_KEYID_free(aki);
}
static void t_aki_with_issuer(X509 *x, struct capf_lsc_input *in)
{
	AUTHORITY_KEYID *aki = AUTHORITY_KEYID_new();
	aki->keyid = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(world.capf));
	aki->serial = ASN1_INTEGER_dup(X509_get0_serialNumber(world.capf));
	replace_ext(x, NID_authority_key_identifier, aki, 0);
	AUTHORITY_KEYID_free(aki);
}
static void t_bc_noncritical(X509 *x, struct capf_lsc_input *in)
{
	X509_EXTENSION_set_critical(X509_get_ext(x, X509_get_ext_by_NID(x, NID_basic_constraints, -1)), 0);
}
static void t_bc_ca(X509 *x, struct capf_lsc_input *in)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	bc->ca = 0xff;
	replace_ext(x, NID_basic_constraints, bc, 1);
	BASIC_CONSTRAINTS_free(bc);
}
static void t_serial_small(X509 *x, struct capf_lsc_input *in)
{
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
}
static void t_serial_big(X509 *x, struct capf_lsc_input *in)
{
	BIGNUM *bn = BN_new();
	BN_rand(bn, 136, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
}
static void t_serial_negative(X509 *x, struct capf_lsc_input *in)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	BN_set_negative(bn, 1);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
}
static void t_serial_zero(X509 *x, struct capf_lsc_input *in)
{
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0);
}
static EVP_PKEY *swapped;
static void swap_key(X509 *x, struct capf_lsc_input *in, EVP_PKEY *k)
{
	X509_set_pubkey(x, k);
	in->spki = pki_spki(k, &in->spki_len);
}
static void t_weak_rsa(X509 *x, struct capf_lsc_input *in)
{
	swap_key(x, in, pki_key("RSA:1024"));
}
static void t_rsa_e3(X509 *x, struct capf_lsc_input *in)
{
	swap_key(x, in, swapped = pki_rsa_pub(2048, 3, 0));
}
static void t_rsa_even(X509 *x, struct capf_lsc_input *in)
{
	swap_key(x, in, swapped = pki_rsa_pub(2048, 65537, 1));
}
static void t_rsa_e_even(X509 *x, struct capf_lsc_input *in)
{
	swap_key(x, in, swapped = pki_rsa_pub(2048, 65536, 0));
}
static void t_wrong_curve(X509 *x, struct capf_lsc_input *in)
{
	swap_key(x, in, pki_key("EC:P-384"));
}
static void t_other_key(X509 *x, struct capf_lsc_input *in)
{
	X509_set_pubkey(x, pki_key("EC:P-256#other"));
}
static void t_wrong_cn(X509 *x, struct capf_lsc_input *in)
{
	X509_NAME *n = X509_NAME_dup(X509_get_subject_name(x));
	X509_NAME_ENTRY *e = X509_NAME_delete_entry(n, X509_NAME_entry_count(n) - 1);
	X509_NAME_ENTRY_free(e);
	X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_ASC, (const unsigned char *)"SEP000000000000",
				   -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
}
static void t_two_cns(X509 *x, struct capf_lsc_input *in)
{
	X509_NAME *n = X509_NAME_dup(X509_get_subject_name(x));
	X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_UTF8STRING, (const unsigned char *)DEV, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
}
static void t_missing_copied(X509 *x, struct capf_lsc_input *in)
{
	X509_NAME *n = X509_NAME_dup(X509_get_subject_name(x));
	X509_NAME_ENTRY_free(X509_NAME_delete_entry(n, 0));
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
}
static void t_wrong_san(X509 *x, struct capf_lsc_input *in)
{
	GENERAL_NAMES *san = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *s = ASN1_IA5STRING_new();
	ASN1_STRING_set(s, "SEP000000000000", -1);
	GENERAL_NAME_set0_value(g, GEN_DNS, s);
	sk_GENERAL_NAME_push(san, g);
	replace_ext(x, NID_subject_alt_name, san, 0);
	GENERAL_NAMES_free(san);
}
static void t_ku_extra(X509 *x, struct capf_lsc_input *in)
{
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	ASN1_BIT_STRING_set_bit(ku, 0, 1);
	ASN1_BIT_STRING_set_bit(ku, 2, 1);
	ASN1_BIT_STRING_set_bit(ku, 5, 1); /* keyCertSign */
	replace_ext(x, NID_key_usage, ku, 1);
	ASN1_BIT_STRING_free(ku);
}
static void t_ku_noncritical(X509 *x, struct capf_lsc_input *in)
{
	X509_EXTENSION_set_critical(X509_get_ext(x, X509_get_ext_by_NID(x, NID_key_usage, -1)), 0);
}
static void t_eku_missing_ipsec(X509 *x, struct capf_lsc_input *in)
{
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth));
	sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth));
	replace_ext(x, NID_ext_key_usage, eku, 0);
	sk_ASN1_OBJECT_free(eku);
}
static void t_wrong_ski(X509 *x, struct capf_lsc_input *in)
{
	ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_dup(X509_get0_subject_key_id(world.capf));
	replace_ext(x, NID_subject_key_identifier, s, 0);
	ASN1_OCTET_STRING_free(s);
}
static void t_no_san(X509 *x, struct capf_lsc_input *in)
{
	X509_EXTENSION_free(X509_delete_ext(x, X509_get_ext_by_NID(x, NID_subject_alt_name, -1)));
}
static void t_dup_ext(X509 *x, struct capf_lsc_input *in)
{
	X509_EXTENSION *ex = X509_EXTENSION_dup(X509_get_ext(x, X509_get_ext_by_NID(x, NID_ext_key_usage, -1)));
	X509_add_ext(x, ex, -1);
	X509_EXTENSION_free(ex);
}
static void t_long_validity(X509 *x, struct capf_lsc_input *in)
{
	ASN1_TIME_set(X509_getm_notAfter(x), in->now + 1900L * 86400);
}
static void t_short_validity(X509 *x, struct capf_lsc_input *in)
{
	ASN1_TIME_set(X509_getm_notAfter(x), in->now + 10L * 86400);
}
static void t_backdated(X509 *x, struct capf_lsc_input *in)
{
	ASN1_TIME_set(X509_getm_notBefore(x), in->now - 30L * 86400);
}
static void t_generalized_time(X509 *x, struct capf_lsc_input *in)
{
	time_t t = t_of(X509_get0_notBefore(x));
	ASN1_TIME *g = ASN1_TIME_new();
	ASN1_GENERALIZEDTIME_set(g, t);
	X509_set1_notBefore(x, g);
	ASN1_TIME_free(g);
}
static void t_version1(X509 *x, struct capf_lsc_input *in)
{
	X509_set_version(x, X509_VERSION_1);
}
static void t_other_device(X509 *x, struct capf_lsc_input *in)
{
	in->device_name = "SEP000000000000";
}
static void t_signed_wrong_key(X509 *x, struct capf_lsc_input *in)
{
	X509_sign(x, pki_key("RSA:2048#other"), EVP_sha256());
}
static void t_signed_sha1(X509 *x, struct capf_lsc_input *in)
{
	X509_sign(x, world.capf_key, EVP_sha1());
}
static void t_signed_sha512(X509 *x, struct capf_lsc_input *in)
{
	X509_sign(x, world.capf_key, EVP_sha512());
}

struct tamper {
	const char *name;
	const char *spec; /* the phone's key */
	void (*fn)(X509 *, struct capf_lsc_input *);
	const char *finding;
};

static const struct tamper tampers[] = {
	{ "extra extension", "EC:P-256", t_extra_ext,
	  "extensions: unexpected extension 2.16.840.1.113730.1.13" },
	{ "wrong issuer", "EC:P-256", t_wrong_issuer, "issuer: not the CAPF CA certificate's subject" },
	{ "issuer of the CA", "EC:P-256", t_issuer_of_ca, "issuer: not the CAPF CA certificate's subject" },
	{ "wrong AKI", "EC:P-256", t_wrong_aki,
	  "authorityKeyIdentifier: not the CAPF CA's subjectKeyIdentifier" },
	{ "AKI with serial", "EC:P-256", t_aki_with_issuer,
	  "authorityKeyIdentifier: must hold the key identifier only" },
	{ "basicConstraints not critical", "EC:P-256", t_bc_noncritical, "Basic Constraints must be critical" },
	{ "basicConstraints CA:TRUE", "EC:P-256", t_bc_ca, "basicConstraints: must be CA:FALSE" },
	{ "serial 1", "EC:P-256", t_serial_small, "serial: 1 bits long, expected 128" },
	{ "serial 136 bits", "EC:P-256", t_serial_big, "serial: 136 bits long, expected 128" },
	{ "serial negative", "EC:P-256", t_serial_negative, "serial: negative" },
	{ "serial zero", "EC:P-256", t_serial_zero, "serial: zero" },
	{ "weak RSA key", "RSA:2048", t_weak_rsa, "RSA modulus of 1024 bits is not allowed" },
	{ "RSA e = 3", "RSA:2048", t_rsa_e3, "RSA exponent not allowed" },
	{ "RSA e even", "RSA:2048", t_rsa_e_even, "RSA exponent not allowed" },
	{ "RSA modulus even", "RSA:2048", t_rsa_even, "RSA modulus is even or tiny" },
	{ "wrong curve", "EC:P-256", t_wrong_curve, "EC curve secp384r1 is not allowed" },
	{ "not the phone's key", "EC:P-256", t_other_key, "public key: not the key the phone sent" },
	{ "wrong CN", "EC:P-256", t_wrong_cn, "subject: the last attribute is not CN = " DEV },
	{ "two CNs", "EC:P-256", t_two_cns, "subject: 2 common names" },
	{ "copied attribute missing", "EC:P-256", t_missing_copied, "subject:" },
	{ "SAN not the URI", "EC:P-256", t_wrong_san, "subjectAltName: must be exactly URI:" DEV },
	{ "SAN missing", "EC:P-256", t_no_san, "X509v3 Subject Alternative Name is missing" },
	{ "extension twice", "EC:P-256", t_dup_ext, "X509v3 Extended Key Usage appears more than once" },
	{ "keyUsage keyCertSign", "RSA:2048", t_ku_extra,
	  "keyUsage: must be exactly digitalSignature, keyEncipherment" },
	{ "keyUsage keyEncipherment on EC", "EC:P-256", t_ku_extra,
	  "keyUsage: must be exactly digitalSignature" },
	{ "keyUsage not critical", "EC:P-256", t_ku_noncritical, "Key Usage must be critical" },
	{ "EKU without ipsecEndSystem", "EC:P-256", t_eku_missing_ipsec, "extendedKeyUsage: must be exactly" },
	{ "wrong SKI", "EC:P-256", t_wrong_ski, "subjectKeyIdentifier: not the SHA-1 of the public key" },
	{ "validity too long", "EC:P-256", t_long_validity, "validity: longer than lsc.validity_days" },
	{ "validity cut short", "EC:P-256", t_short_validity, "validity: notAfter is" },
	{ "backdated a month", "EC:P-256", t_backdated,
	  "validity: notBefore is -2592000 s from now, expected -300" },
	{ "GeneralizedTime before 2050", "EC:P-256", t_generalized_time,
	  "notBefore: encoded as GeneralizedTime" },
	{ "version 1", "EC:P-256", t_version1, "version: not 3" },
	{ "another device", "EC:P-256", t_other_device, "subjectAltName: must be exactly URI:SEP000000000000" },
	{ "signed by another key", "EC:P-256", t_signed_wrong_key,
	  "signature: does not verify with the CAPF CA's public key" },
	{ "signed with SHA-1", "EC:P-256", t_signed_sha1, "signature: algorithm is not sha256" },
	{ "signed with SHA-512", "RSA:2048", t_signed_sha512, "signature: algorithm is not sha256" },
};

/* A third-party intermediate that ends before the CAPF CA: no LSC outlives the chain. */
static void test_chain_bounds(void **state)
{
	struct pki_world w;
	struct capf_ca *ca2;
	const EVP_MD *md;
	char err[512];
	X509 *x;
	struct capf_lsc_input in = pki_input(DEV, pki_key("RSA:2048"), NOW);

	pki_world_make_ex(&w, NOW, "EC:P-256", 3650, "", 100); /* intermediate ends NOW + 100 days */
	ca2 = world_ca(&w);
	assert_int_equal(capf_ca_not_after(ca2), NOW + 3650L * 86400);
	assert_int_equal(capf_ca_chain_not_after(ca2), NOW + 100L * 86400);

	/* truncate: the LSC ends with the intermediate, and the lint agrees */
	capf_conf_defaults(&conf);
	x = capf_lsc_build(&conf, ca2, &in, &md, err, sizeof(err));
	assert_non_null(x);
	assert_int_equal(t_of(X509_get0_notAfter(x)), NOW + 100L * 86400);
	assert_int_equal(capf_lsc_lint(&conf, ca2, &in, x, NULL), 0);
	assert_true(X509_sign(x, w.capf_key, md) > 0);
	assert_int_equal(capf_lsc_lint(&conf, ca2, &in, x, NULL), 0);
	assert_int_equal(capf_ca_verify(ca2, x, NOW, err, sizeof(err)), 0);
	/* an LSC that outlives the intermediate (as a CA-only bound would make it) is a finding */
	ASN1_TIME_set(X509_getm_notAfter(x), NOW + 1825L * 86400 - 300);
	{
		struct capf_errlist *e = capf_errlist_new();
		char buf[2048];

		assert_int_equal(capf_lsc_lint(&conf, ca2, &in, x, e), -1);
		assert_non_null(strstr(capf_errlist_join(e, "; ", buf, sizeof(buf)),
				       "notAfter is after the CAPF CA's notAfter (or its chain's)"));
		capf_errlist_free(e);
	}
	X509_free(x);
	/* refuse: no LSC, and the message says it is the chain */
	conf.lsc.beyond_ca = CAPF_BEYOND_CA_REFUSE;
	assert_null(capf_lsc_build(&conf, ca2, &in, &md, err, sizeof(err)));
	assert_non_null(strstr(err, "after a certificate above the CAPF CA (its chain) expires"));
	/* once the intermediate has expired, nothing is issued even though the CA is valid */
	capf_conf_defaults(&conf);
	in.now = NOW + 101L * 86400;
	assert_null(capf_lsc_build(&conf, ca2, &in, &md, err, sizeof(err)));
	assert_non_null(strstr(err, "a certificate above the CAPF CA (its chain) is expired"));
	capf_ca_free(ca2);
	pki_world_free(&w);
}

static void test_lint_clean(void **state)
{
	static const char *const specs[] = { "RSA:2048", "RSA:3072", "EC:P-256", "EC:P-384", "EC:P-521" };
	struct capf_errlist *e = capf_errlist_new();
	char buf[2048];

	capf_conf_defaults(&conf);
	for (size_t i = 0; i < 5; i++) {
		struct capf_lsc_input in = pki_input(DEV, pki_key(specs[i]), NOW);
		const EVP_MD *md;
		X509 *x = build(ca, specs[i], NOW, &md);
		if (capf_lsc_lint(&conf, ca, &in, x, e) != 0)
			fprintf(stderr, "%s: %s\n", specs[i], capf_errlist_join(e, "; ", buf, sizeof(buf)));
		assert_int_equal(capf_errlist_count(e), 0);
		assert_true(X509_sign(x, world.capf_key, md) > 0);
		assert_int_equal(capf_lsc_lint(&conf, ca, &in, x, e), 0);
		X509_free(x);
	}
	capf_errlist_free(e);
}

static void test_lint_tampering(void **state)
{
	struct capf_errlist *e = capf_errlist_new();
	int failures = 0;
	char buf[4096];

	for (size_t i = 0; i < sizeof(tampers) / sizeof(tampers[0]); i++) {
		const struct tamper *t = &tampers[i];
		struct capf_lsc_input in = pki_input(DEV, pki_key(t->spec), NOW);
		const EVP_MD *md;
		X509 *x;
		int r;

		capf_conf_defaults(&conf);
		conf.keys.ec_curves = 1u << CAPF_CURVE_P256; /* for "wrong curve" */
		x = build(ca, t->spec, NOW, &md);
		/* clean before */
		swapped = NULL;
		t->fn(x, &in);
		capf_errlist_clear(e);
		r = capf_lsc_lint(&conf, ca, &in, x, e);
		if (r != -1 || !pki_errs_have(e, t->finding)) {
			fprintf(stderr, "%s: want \"%s\", got r=%d: %s\n", t->name, t->finding, r,
				capf_errlist_join(e, " | ", buf, sizeof(buf)));
			failures++;
		}
		EVP_PKEY_free(swapped);
		X509_free(x);
	}
	assert_int_equal(failures, 0);
	capf_errlist_free(e);
}

/* A certificate with several faults gets every finding. */
static void test_lint_all_findings(void **state)
{
	struct capf_errlist *e = capf_errlist_new();
	struct capf_lsc_input in = pki_input(DEV, pki_key("EC:P-256"), NOW);
	const EVP_MD *md;
	X509 *x;

	capf_conf_defaults(&conf);
	x = build(ca, "EC:P-256", NOW, &md);
	t_extra_ext(x, &in);
	t_wrong_issuer(x, &in);
	t_serial_small(x, &in);
	t_bc_noncritical(x, &in);
	assert_int_equal(capf_lsc_lint(&conf, ca, &in, x, e), -1);
	assert_true(pki_errs_have(e, "unexpected extension"));
	assert_true(pki_errs_have(e, "issuer: not the CAPF CA"));
	assert_true(pki_errs_have(e, "serial: 1 bits long"));
	assert_true(pki_errs_have(e, "Basic Constraints must be critical"));
	assert_int_equal(capf_errlist_count(e), 4);
	X509_free(x);
	capf_errlist_free(e);
	/* nothing to lint */
	assert_int_equal(capf_lsc_lint(&conf, ca, &in, NULL, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields_rsa),        cmocka_unit_test(test_fields_ec),
		cmocka_unit_test(test_options),           cmocka_unit_test(test_serials),
		cmocka_unit_test(test_ca_bounds),         cmocka_unit_test(test_chain_bounds),
		cmocka_unit_test(test_lint_clean),        cmocka_unit_test(test_lint_tampering),
		cmocka_unit_test(test_lint_all_findings),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
