/* tests/unit/test_phone.c: capf-phone's pieces: name patterns, proof-of-possession
 * signatures, AUTH_RESPONSE, and the session state machine against a scripted server. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "appliance/capf/evidence.h"
#include "appliance/capf/msg.h"
#include "appliance/phone/phone.h"
#include "appliance/phone/phone_int.h"

static char err[300];
static EVP_PKEY *rsa_key, *ec_key, *ca_key;

static X509 *make_cert(EVP_PKEY *subject, const char *cn)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_NAME_free(n);
	n = X509_NAME_new();
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Test CAPF", -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_NAME_free(n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, subject);
	assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
	return x;
}

static int setup(void **state)
{
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return rsa_key && ec_key && ca_key ? 0 : -1;
}

static int teardown(void **state)
{
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(ca_key);
	return 0;
}

static void test_pattern(void **state)
{
	static const struct {
		const char *pat;
		unsigned long n;
		const char *want; /* NULL: refused */
	} cases[] = {
		{ "SEP%012X", 0x1A2B, "SEP000000001A2B" },
		{ "CSFUSER%u", 42, "CSFUSER42" },
		{ "TAB%05d-x", 7, "TAB00007-x" },
		{ "BOT%x%%", 255, "BOTff%" },
		{ "SEP%6X", 10, "SEP     A" },
		{ "SEP", 1, NULL },
		{ "SEP%X%X", 1, NULL },
		{ "SEP%s", 1, NULL },
		{ "SEP%n", 1, NULL },
		{ "SEP%999X", 1, NULL },
		{ "%", 1, NULL },
		{ "SEP%-5X", 1, NULL },
	};
	char buf[80];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct phone_pattern p;
		int rc = phone_pattern_parse(&p, cases[i].pat, err, sizeof(err));

		if (cases[i].want == NULL) {
			if (rc == 0)
				fail_msg("pattern %s accepted", cases[i].pat);
			continue;
		}
		if (rc != 0)
			fail_msg("pattern %s: %s", cases[i].pat, err);
		assert_int_equal(phone_pattern_format(&p, cases[i].n, buf, sizeof(buf)), 0);
		assert_string_equal(buf, cases[i].want);
	}
	struct phone_pattern p;
	assert_int_equal(phone_pattern_parse(&p, "SEP%012X", err, sizeof(err)), 0);
	assert_int_equal(phone_pattern_format(&p, 1, buf, 10), -1);
}

/* The RSA signature is PKCS#1 type 1 over the bare digest: recovering it gives the digest alone. */
static void check_rsa_bare(EVP_PKEY *k, const EVP_MD *md, const uint8_t *data, size_t len, const uint8_t *sig,
			   size_t siglen)
{
	unsigned char dg[64], rec[512];
	unsigned int dlen;
	size_t rlen = sizeof(rec);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);

	EVP_Digest(data, len, dg, &dlen, md, NULL);
	assert_int_equal(siglen, (size_t)EVP_PKEY_get_size(k));
	assert_true(EVP_PKEY_verify_recover_init(c) > 0);
	assert_true(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) > 0);
	assert_true(EVP_PKEY_verify_recover(c, rec, &rlen, sig, siglen) > 0);
	assert_int_equal(rlen, dlen); /* no DigestInfo */
	assert_memory_equal(rec, dg, dlen);
	EVP_PKEY_CTX_free(c);
}

static void check_ec(EVP_PKEY *k, const EVP_MD *md, const uint8_t *data, size_t len, const uint8_t *sig,
		     size_t siglen)
{
	unsigned char dg[64];
	unsigned int dlen;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);

	EVP_Digest(data, len, dg, &dlen, md, NULL);
	assert_true(EVP_PKEY_verify_init(c) > 0);
	assert_int_equal(EVP_PKEY_verify(c, sig, siglen, dg, dlen), 1);
	dg[0] ^= 1;
	assert_int_not_equal(EVP_PKEY_verify(c, sig, siglen, dg, dlen), 1);
	EVP_PKEY_CTX_free(c);
}

static void test_sign(void **state)
{
	static const uint8_t data[] = "SEP001122334455\0certificate";
	uint8_t *sig;
	size_t siglen;

	assert_int_equal(phone_sign(rsa_key, CAPF_HASH_SHA1, data, sizeof(data), &sig, &siglen, err,
				    sizeof(err)),
			 0);
	check_rsa_bare(rsa_key, EVP_sha1(), data, sizeof(data), sig, siglen);
	free(sig);
	assert_int_equal(phone_sign(rsa_key, CAPF_HASH_SHA512, data, sizeof(data), &sig, &siglen, err,
				    sizeof(err)),
			 0);
	check_rsa_bare(rsa_key, EVP_sha512(), data, sizeof(data), sig, siglen);
	free(sig);
	assert_int_equal(phone_sign(ec_key, CAPF_HASH_SHA1, data, sizeof(data), &sig, &siglen, err,
				    sizeof(err)),
			 0);
	check_ec(ec_key, EVP_sha1(), data, sizeof(data), sig, siglen);
	free(sig);
	assert_int_equal(phone_sign(ec_key, CAPF_HASH_SHA512, data, sizeof(data), &sig, &siglen, err,
				    sizeof(err)),
			 0);
	check_ec(ec_key, EVP_sha512(), data, sizeof(data), sig, siglen);
	free(sig);
	assert_int_equal(phone_sign(ec_key, 9, data, sizeof(data), &sig, &siglen, err, sizeof(err)), -1);
}

static uint8_t *der_of(X509 *x, size_t *len)
{
	int n = i2d_X509(x, NULL);
	uint8_t *d = malloc((size_t)n), *p = d;

	i2d_X509(x, &p);
	*len = (size_t)n;
	return d;
}

static void test_auth_response(void **state)
{
	X509 *lsc = make_cert(rsa_key, "SEP001122334455"), *mic = make_cert(ec_key, "SEP001122334455");
	X509 *sudi = make_cert(ec_key, "SUDI");
	struct {
		int protocol;
		enum phone_auth auth;
		X509 *cert;
		EVP_PKEY *key;
		int with_sudi;
	} cases[] = {
		{ 3, PHONE_AUTH_NULL, NULL, NULL, 0 },  { 3, PHONE_AUTH_STRING, NULL, NULL, 0 },
		{ 3, PHONE_AUTH_LSC, lsc, rsa_key, 1 }, { 3, PHONE_AUTH_MIC, mic, ec_key, 0 },
		{ 2, PHONE_AUTH_NULL, NULL, NULL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct phone_config cfg = { .name = "SEP001122334455",
					    .protocol = cases[i].protocol,
					    .auth = cases[i].auth,
					    .auth_string = "1234567",
					    .cert = cases[i].cert,
					    .cert_key = cases[i].key };
		struct capf_msg m;
		struct capf_auth_response a;
		uint8_t *buf;
		size_t len;

		if (cases[i].with_sudi) {
			cfg.sudi_cert = sudi;
			cfg.sudi_key = ec_key;
		}
		assert_int_equal(phone_auth_response(&cfg, 0xCAFE0001, &buf, &len, err, sizeof(err)), 0);
		assert_int_equal(capf_msg_parse(&m, buf, len, CAPF_BODY_CAP_DEFAULT, NULL, err, sizeof(err)),
				 0);
		assert_int_equal(m.command, CAPF_CMD_AUTH_RESPONSE);
		assert_int_equal(m.session_id, 0xCAFE0001);
		assert_int_equal(capf_auth_response_parse(&m, &a, err, sizeof(err)), 0);
		assert_string_equal(a.device_name, "SEP001122334455");
		assert_int_equal(a.version, cases[i].protocol);
		assert_int_equal(a.reason, CAPF_REASON_SUCCESS);
		if (cases[i].protocol == 2) {
			assert_false(a.has_password);
		} else {
			assert_true(a.has_password);
			assert_string_equal(a.password, cases[i].auth == PHONE_AUTH_STRING ? "1234567" : "");
		}
		assert_int_equal(a.has_cert, cases[i].cert != NULL);
		if (cases[i].cert != NULL) {
			size_t dlen, n = strlen(cfg.name) + 1;
			uint8_t *der = der_of(cases[i].cert, &dlen), *data = malloc(n + dlen);

			assert_int_equal(a.cert.type,
					 cases[i].auth == PHONE_AUTH_LSC ? CAPF_CERT_LSC : CAPF_CERT_MIC);
			assert_int_equal(a.cert.der_len, dlen);
			assert_memory_equal(a.cert.der, der, dlen);
			memcpy(data, cfg.name, n);
			memcpy(data + n, der, dlen);
			assert_true(a.has_sha2);
			assert_int_equal(a.sha2.hash_id, CAPF_HASH_SHA512);
			if (cases[i].key == rsa_key) {
				check_rsa_bare(rsa_key, EVP_sha1(), data, n + dlen, a.signed_data,
					       a.signed_data_len);
				check_rsa_bare(rsa_key, EVP_sha512(), data, n + dlen, a.sha2.sig,
					       a.sha2.sig_len);
			} else {
				check_ec(ec_key, EVP_sha1(), data, n + dlen, a.signed_data, a.signed_data_len);
				check_ec(ec_key, EVP_sha512(), data, n + dlen, a.sha2.sig, a.sha2.sig_len);
			}
			free(der);
			free(data);
		} else {
			assert_null(a.signed_data);
		}
		assert_int_equal(a.has_sudi, cases[i].with_sudi);
		if (cases[i].with_sudi) {
			size_t dlen;
			uint8_t *der = der_of(sudi, &dlen), sd[2048];
			int n = capf_sudi_signed_data(0xCAFE0001, der, dlen, sd, sizeof(sd));

			assert_int_equal(sd[0], 0x01); /* little-endian session id */
			assert_int_equal(sd[3], 0xCA);
			assert_memory_equal(a.sudi.cert, der, dlen);
			check_ec(ec_key, EVP_sha1(), sd, (size_t)n, a.sudi.sig[CAPF_HASH_SHA1],
				 a.sudi.sig_len[CAPF_HASH_SHA1]);
			check_ec(ec_key, EVP_sha512(), sd, (size_t)n, a.sudi.sig[CAPF_HASH_SHA512],
				 a.sudi.sig_len[CAPF_HASH_SHA512]);
			free(der);
		}
		free(buf);
	}
	X509_free(lsc);
	X509_free(mic);
	X509_free(sudi);
}

/* Scripted server side */
static struct capf_builder sb;

static void srv(uint8_t cmd, uint32_t sid)
{
	assert_int_equal(capf_build_init(&sb, cmd, sid, 0), 0);
}

/* Delivers the built server message to the session; returns the session's rc. */
static int deliver(struct phone_session *s)
{
	const uint8_t *p;
	size_t len;
	struct capf_msg m;
	int rc;

	assert_int_equal(capf_build_finish(&sb, &p, &len, err, sizeof(err)), 0);
	assert_int_equal(capf_msg_parse(&m, p, len, 0, NULL, err, sizeof(err)), 0);
	rc = phone_session_input(s, &m);
	capf_build_free(&sb);
	return rc;
}

/* The i-th reply of the phone, parsed (points into the session's buffer). */
static void reply(struct phone_session *s, unsigned i, uint8_t cmd, struct capf_msg *m)
{
	assert_true(i < s->nout);
	assert_int_equal(capf_msg_parse(m, s->out[i].buf, s->out[i].len, 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(m->command, cmd);
}

static void start(struct phone_session *s, const struct phone_config *cfg, uint32_t sid)
{
	struct capf_msg m;

	phone_session_init(s, cfg);
	srv(CAPF_CMD_AUTH_REQUEST, sid);
	capf_build_u8(&sb, CAPF_TAG_VERSION, 3);
	capf_build_u8(&sb, CAPF_TAG_AUTH_TYPE, CAPF_AUTHTYPE_PASSWORD);
	assert_int_equal(deliver(s), 0);
	assert_int_equal(s->nout, 1);
	reply(s, 0, CAPF_CMD_AUTH_RESPONSE, &m);
	assert_int_equal(m.session_id, sid);
}

static void keygen(struct phone_session *s, uint32_t sid, int ec, unsigned bits_or_curve)
{
	srv(CAPF_CMD_KEY_GENERATE_REQUEST, sid);
	capf_build_u8(&sb, CAPF_TAG_KEY_TYPE, ec ? CAPF_KEY_EC : CAPF_KEY_RSA);
	if (ec)
		capf_build_u8(&sb, CAPF_TAG_CURVE, (uint8_t)bits_or_curve);
	else
		capf_build_u16(&sb, CAPF_TAG_KEY_SIZE, (uint16_t)bits_or_curve);
	assert_int_equal(deliver(s), 0);
}

static void store(struct phone_session *s, uint32_t sid, EVP_PKEY *subject, uint8_t want_reason)
{
	X509 *x = make_cert(subject, "SEP001122334455");
	size_t dlen;
	uint8_t *der = der_of(x, &dlen), r;
	struct capf_msg m;

	srv(CAPF_CMD_STORE_CERTIFICATE_REQUEST, sid);
	capf_build_u8(&sb, CAPF_TAG_CERTIFICATE_TYPE, CAPF_CERT_LSC);
	capf_build_cert(&sb, CAPF_CERT_LSC, der, dlen);
	assert_int_equal(deliver(s), 0);
	reply(s, 0, CAPF_CMD_STORE_CERTIFICATE_RESPONSE, &m);
	assert_int_equal(capf_msg_u8(&m, CAPF_TAG_REASON, &r, err, sizeof(err)), 1);
	assert_int_equal(r, want_reason);
	free(der);
	X509_free(x);
}

static int end(struct phone_session *s, uint32_t sid, uint8_t reason)
{
	srv(CAPF_CMD_END_SESSION, sid);
	capf_build_u8(&sb, CAPF_TAG_REASON, reason);
	return deliver(s);
}

/* The public key in KEY_GENERATE_RESPONSE is the session's key. */
static void check_pubkey(struct phone_session *s, unsigned i)
{
	struct capf_msg m;
	const uint8_t *p;
	size_t len;
	EVP_PKEY *pub;
	const unsigned char *q;

	reply(s, i, CAPF_CMD_KEY_GENERATE_RESPONSE, &m);
	assert_int_equal(capf_msg_bytes(&m, CAPF_TAG_PUBLIC_KEY, &p, &len, err, sizeof(err)), 1);
	q = p;
	pub = d2i_PUBKEY(NULL, &q, (long)len);
	assert_non_null(pub);
	assert_int_equal(EVP_PKEY_eq(pub, s->key), 1);
	EVP_PKEY_free(pub);
}

static void test_install_rsa_and_ec(void **state)
{
	struct phone_config cfg = { .name = "SEP001122334455", .protocol = 3 };
	struct phone_session s;
	struct capf_msg m;

	/* RSA */
	start(&s, &cfg, 0x1111);
	keygen(&s, 0x1111, 0, 1024);
	assert_int_equal(s.nout, 1);
	check_pubkey(&s, 0);
	assert_true(EVP_PKEY_is_a(s.key, "RSA"));
	assert_int_equal(EVP_PKEY_get_bits(s.key), 1024);
	store(&s, 0x1111, s.key, CAPF_REASON_SUCCESS);
	assert_non_null(s.lsc);
	assert_int_equal(end(&s, 0x1111, CAPF_REASON_SUCCESS), 1);
	assert_int_equal(s.result, PHONE_SUCCESS);
	assert_int_equal(phone_result_exit(s.result), 0);
	assert_string_equal(s.operation, "install");
	phone_session_free(&s);

	/* EC P-384 with REQUEST_IN_PROGRESS first */
	cfg.send_in_progress = 1;
	start(&s, &cfg, 0x2222);
	keygen(&s, 0x2222, 1, CAPF_CURVE_P384);
	assert_int_equal(s.nout, 2);
	reply(&s, 0, CAPF_CMD_REQUEST_IN_PROGRESS, &m);
	assert_int_equal(m.body_len, 0);
	check_pubkey(&s, 1);
	assert_true(EVP_PKEY_is_a(s.key, "EC"));
	assert_int_equal(EVP_PKEY_get_bits(s.key), 384);
	store(&s, 0x2222, s.key, CAPF_REASON_SUCCESS);
	assert_int_equal(end(&s, 0x2222, CAPF_REASON_SUCCESS), 1);
	assert_int_equal(s.result, PHONE_SUCCESS);
	phone_session_free(&s);
}

static void test_keygen_fallback_and_jabber(void **state)
{
	struct phone_config cfg = { .name = "SEP001122334455", .protocol = 3, .fail_keygen = PHONE_FAIL_EC };
	struct phone_session s;
	struct capf_msg m;
	uint8_t r;

	start(&s, &cfg, 5);
	keygen(&s, 5, 1, CAPF_CURVE_P256);
	reply(&s, 0, CAPF_CMD_KEY_GENERATE_RESPONSE, &m);
	assert_int_equal(capf_msg_find(&m, CAPF_TAG_PUBLIC_KEY, NULL), 0);
	assert_int_equal(capf_msg_u8(&m, CAPF_TAG_REASON, &r, err, sizeof(err)), 1);
	assert_int_equal(r, CAPF_REASON_INVALID);
	assert_null(s.key);
	keygen(&s, 5, 0, 1024); /* the server falls back to RSA */
	check_pubkey(&s, 0);
	assert_int_equal(s.keygen_requests, 2);
	assert_int_equal(s.keygen_failed, 1);
	phone_session_free(&s);

	/* Jabber cannot do EC */
	struct phone_config jab = { .name = "CSFJSMITH", .protocol = 2 };
	start(&s, &jab, 6);
	keygen(&s, 6, 1, CAPF_CURVE_P256);
	reply(&s, 0, CAPF_CMD_KEY_GENERATE_RESPONSE, &m);
	assert_int_equal(capf_msg_find(&m, CAPF_TAG_PUBLIC_KEY, NULL), 0);
	/* a request carrying only KEY_SIZE means RSA */
	srv(CAPF_CMD_KEY_GENERATE_REQUEST, 6);
	capf_build_u16(&sb, CAPF_TAG_KEY_SIZE, 1024);
	assert_int_equal(deliver(&s), 0);
	check_pubkey(&s, 0);
	assert_true(EVP_PKEY_is_a(s.key, "RSA"));
	phone_session_free(&s);
}

static void test_store_wrong_key(void **state)
{
	struct phone_config cfg = { .name = "SEP001122334455", .protocol = 3 };
	struct phone_session s;

	start(&s, &cfg, 7);
	keygen(&s, 7, 1, CAPF_CURVE_P256);
	store(&s, 7, rsa_key, CAPF_REASON_INVALID); /* certificate for another key */
	assert_null(s.lsc);
	assert_non_null(strstr(s.error, "not for the key"));
	assert_int_equal(end(&s, 7, CAPF_REASON_SUCCESS), 1);
	assert_int_equal(s.result, PHONE_REFUSED); /* nothing stored: not a success */
	phone_session_free(&s);
}

static void test_fetch_delete(void **state)
{
	X509 *lsc = make_cert(ec_key, "SEP001122334455");
	struct phone_config none = { .name = "SEP001122334455", .protocol = 3 };
	struct phone_config with = { .name = "SEP001122334455",
				     .protocol = 3,
				     .cert = lsc,
				     .cert_key = ec_key,
				     .auth = PHONE_AUTH_LSC };
	struct phone_session s;
	struct capf_msg m;
	struct capf_elem e;
	struct capf_wrapped_cert wc;
	uint8_t r;
	size_t dlen;
	uint8_t *der = der_of(lsc, &dlen);

	start(&s, &none, 8);
	srv(CAPF_CMD_FETCH_CERTIFICATE_REQUEST, 8);
	assert_int_equal(deliver(&s), 0);
	reply(&s, 0, CAPF_CMD_FETCH_CERTIFICATE_RESPONSE, &m);
	assert_int_equal(capf_msg_u8(&m, CAPF_TAG_REASON, &r, err, sizeof(err)), 1);
	assert_int_equal(r, CAPF_REASON_INVALID);
	assert_int_equal(capf_msg_find(&m, CAPF_TAG_CERTIFICATE, NULL), 0);
	assert_int_equal(end(&s, 8, CAPF_REASON_SUCCESS), 1);
	assert_int_equal(s.result, PHONE_SUCCESS);
	phone_session_free(&s);

	start(&s, &with, 9);
	srv(CAPF_CMD_FETCH_CERTIFICATE_REQUEST, 9);
	assert_int_equal(deliver(&s), 0);
	reply(&s, 0, CAPF_CMD_FETCH_CERTIFICATE_RESPONSE, &m);
	assert_int_equal(capf_msg_u8(&m, CAPF_TAG_REASON, &r, err, sizeof(err)), 1);
	assert_int_equal(r, CAPF_REASON_SUCCESS);
	assert_int_equal(capf_msg_find(&m, CAPF_TAG_CERTIFICATE, &e), 1);
	assert_int_equal(capf_cert_unwrap(e.val, e.len, &wc, err, sizeof(err)), 0);
	assert_int_equal(wc.der_len, dlen);
	assert_memory_equal(wc.der, der, dlen);
	phone_session_free(&s);

	start(&s, &with, 10);
	srv(CAPF_CMD_DELETE_CERTIFICATE_REQUEST, 10);
	assert_int_equal(deliver(&s), 0);
	reply(&s, 0, CAPF_CMD_DELETE_CERTIFICATE_RESPONSE, &m);
	assert_int_equal(capf_msg_u8(&m, CAPF_TAG_REASON, &r, err, sizeof(err)), 1);
	assert_int_equal(r, CAPF_REASON_SUCCESS);
	assert_int_equal(end(&s, 10, CAPF_REASON_SUCCESS), 1);
	assert_int_equal(s.result, PHONE_SUCCESS);
	assert_string_equal(s.operation, "delete");
	phone_session_free(&s);
	free(der);
	X509_free(lsc);
}

static void test_endings(void **state)
{
	struct phone_config cfg = { .name = "SEP001122334455", .protocol = 3 };
	struct phone_session s;
	static const struct {
		uint8_t reason;
		enum phone_result want;
		int exit;
	} cases[] = {
		{ CAPF_REASON_NO_ACTION, PHONE_NOTHING, PHONE_EXIT_NOTHING },
		{ CAPF_REASON_UNKNOWN_DEVICE, PHONE_UNKNOWN, PHONE_EXIT_UNKNOWN },
		{ CAPF_REASON_INVALID, PHONE_REFUSED, PHONE_EXIT_REFUSED },
		{ CAPF_REASON_SUCCESS, PHONE_REFUSED, PHONE_EXIT_REFUSED }, /* success with no operation */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		start(&s, &cfg, 11);
		assert_int_equal(end(&s, 11, cases[i].reason), 1);
		assert_int_equal(s.result, cases[i].want);
		assert_int_equal(phone_result_exit(s.result), cases[i].exit);
		assert_int_equal(s.end_reason, cases[i].reason);
		phone_session_free(&s);
	}
	/* RETRY_LATER with a 2-byte and a 4-byte delay */
	start(&s, &cfg, 12);
	srv(CAPF_CMD_RETRY_LATER, 12);
	capf_build_u16(&sb, CAPF_TAG_RETRY_DELAY, 45);
	assert_int_equal(deliver(&s), 1);
	assert_int_equal(s.result, PHONE_RETRY);
	assert_int_equal(s.retry_delay, 45);
	assert_int_equal(phone_result_exit(s.result), PHONE_EXIT_RETRY);
	phone_session_free(&s);
	start(&s, &cfg, 12);
	srv(CAPF_CMD_RETRY_LATER, 12);
	capf_build_retry_delay(&sb, 70000);
	assert_int_equal(deliver(&s), 1);
	assert_int_equal(s.retry_delay, 70000);
	phone_session_free(&s);
	/* RETRY_LATER as the first message (a server at its connection limit) */
	phone_session_init(&s, &cfg);
	srv(CAPF_CMD_RETRY_LATER, 0x1234);
	capf_build_retry_delay(&sb, 60);
	assert_int_equal(deliver(&s), 1);
	assert_int_equal(s.result, PHONE_RETRY);
	assert_int_equal(s.retry_delay, 60);
	phone_session_free(&s);
}

static void test_protocol_errors(void **state)
{
	struct phone_config cfg = { .name = "SEP001122334455", .protocol = 3 };
	struct phone_session s;

	/* a command before AUTH_REQUEST */
	phone_session_init(&s, &cfg);
	srv(CAPF_CMD_KEY_GENERATE_REQUEST, 1);
	capf_build_u16(&sb, CAPF_TAG_KEY_SIZE, 2048);
	assert_int_equal(deliver(&s), -1);
	assert_int_equal(s.result, PHONE_ERROR);
	assert_non_null(strstr(s.error, "before AUTH_REQUEST"));
	phone_session_free(&s);
	/* a different session id */
	start(&s, &cfg, 1);
	srv(CAPF_CMD_DELETE_CERTIFICATE_REQUEST, 2);
	assert_int_equal(deliver(&s), -1);
	assert_non_null(strstr(s.error, "session id"));
	phone_session_free(&s);
	/* a second AUTH_REQUEST, an unknown command, RSA without KEY_SIZE, a bad CERTIFICATE */
	start(&s, &cfg, 1);
	srv(CAPF_CMD_AUTH_REQUEST, 1);
	assert_int_equal(deliver(&s), -1);
	phone_session_free(&s);
	start(&s, &cfg, 1);
	srv(99, 1);
	assert_int_equal(deliver(&s), -1);
	assert_non_null(strstr(s.error, "unexpected"));
	phone_session_free(&s);
	start(&s, &cfg, 1);
	srv(CAPF_CMD_KEY_GENERATE_REQUEST, 1);
	capf_build_u8(&sb, CAPF_TAG_KEY_TYPE, CAPF_KEY_RSA);
	assert_int_equal(deliver(&s), -1);
	phone_session_free(&s);
	start(&s, &cfg, 1);
	srv(CAPF_CMD_STORE_CERTIFICATE_REQUEST, 1);
	capf_build_put(&sb, CAPF_TAG_CERTIFICATE, "\x01\x00\x09\x00\x01\x30\x01", 7);
	assert_int_equal(deliver(&s), -1);
	phone_session_free(&s);
	/* nothing after the end */
	start(&s, &cfg, 1);
	assert_int_equal(end(&s, 1, 0), 1);
	srv(CAPF_CMD_END_SESSION, 1);
	assert_int_equal(deliver(&s), -1);
	phone_session_free(&s);
}

struct fill_arg {
	struct phone_keypool *p;
	int rc;
};

static void *fill_thread(void *arg)
{
	struct fill_arg *a = arg;
	char e[200];

	a->rc = phone_keypool_fill(a->p, "ec:P-256", 25, e, sizeof(e));
	return NULL;
}

/* Several threads fill one pool at once (the load mode does): every key is there once. */
static void test_keypool_threads(void **state)
{
	struct phone_keypool *p = phone_keypool_new();
	struct fill_arg a[4];
	pthread_t t[4];
	EVP_PKEY *k;
	unsigned n = 0;

	for (int i = 0; i < 4; i++) {
		a[i].p = p;
		assert_int_equal(pthread_create(&t[i], NULL, fill_thread, &a[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].rc, 0);
	}
	while ((k = phone_keypool_take(p, CAPF_KEY_EC, 0, CAPF_CURVE_P256)) != NULL) {
		EVP_PKEY_free(k);
		n++;
	}
	assert_int_equal(n, 100);
	phone_keypool_free(p);
}

/* --keys: "rsa:BITS" with BITS digits only, 512..8192; "ec:" and a curve name */
static void test_key_spec(void **state)
{
	static const char *const bad[] = { "rsa:",      "rsa:+2048", "rsa: 2048", "rsa:-2048",
					   "rsa:2048x", "rsa:511",   "rsa:8193",  "rsa:99999999999999999999",
					   "ec:",       "ec:P-999",  "dsa:1024",  "",
					   "RSA:2048" };
	int kt = -1, curve = -1;
	unsigned bits = 0;

	(void)state;
	assert_int_equal(phone_key_spec("rsa:2048", &kt, &bits, &curve), 0);
	assert_int_equal(kt, CAPF_KEY_RSA);
	assert_int_equal(bits, 2048);
	assert_int_equal(phone_key_spec("rsa:512", &kt, &bits, &curve), 0);
	assert_int_equal(phone_key_spec("rsa:8192", &kt, &bits, &curve), 0);
	assert_int_equal(bits, 8192);
	assert_int_equal(phone_key_spec("ec:P-384", &kt, &bits, &curve), 0);
	assert_int_equal(kt, CAPF_KEY_EC);
	assert_int_equal(curve, CAPF_CURVE_P384);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (phone_key_spec(bad[i], &kt, &bits, &curve) != -1)
			fail_msg("key spec \"%s\" was accepted", bad[i]);
}

static void test_keypool(void **state)
{
	struct phone_keypool *p = phone_keypool_new();
	EVP_PKEY *a, *b, *c;

	assert_non_null(p);
	assert_int_equal(phone_keypool_fill(p, "ec:P-256", 2, err, sizeof(err)), 0);
	assert_int_equal(phone_keypool_fill(p, "rsa:1024", 1, err, sizeof(err)), 0);
	assert_int_equal(phone_keypool_fill(p, "dsa:1024", 1, err, sizeof(err)), -1);
	assert_int_equal(phone_keypool_fill(p, "ec:P-999", 1, err, sizeof(err)), -1);
	assert_null(phone_keypool_take(p, CAPF_KEY_EC, 0, CAPF_CURVE_P384));
	assert_null(phone_keypool_take(p, CAPF_KEY_RSA, 2048, 0));
	a = phone_keypool_take(p, CAPF_KEY_EC, 0, CAPF_CURVE_P256);
	b = phone_keypool_take(p, CAPF_KEY_EC, 0, CAPF_CURVE_P256);
	c = phone_keypool_take(p, CAPF_KEY_EC, 0, CAPF_CURVE_P256);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(c);
	assert_int_not_equal(EVP_PKEY_eq(a, b), 1);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	phone_keypool_reuse(p, 1);
	a = phone_keypool_take(p, CAPF_KEY_RSA, 1024, 0);
	b = phone_keypool_take(p, CAPF_KEY_RSA, 1024, 0);
	assert_ptr_equal(a, b);
	/* a pooled key carries its SubjectPublicKeyInfo, encoded when the pool was filled */
	const uint8_t *spki;
	unsigned char *der = NULL;
	size_t spki_len = 0;
	int der_len = i2d_PUBKEY(a, &der);
	assert_non_null(spki = phone_key_spki(a, &spki_len));
	assert_int_equal(spki_len, (size_t)der_len);
	assert_memory_equal(spki, der, spki_len);
	OPENSSL_free(der);
	assert_null(phone_key_spki(ec_key, &spki_len)); /* not from a pool */
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);

	/* the session takes pooled keys */
	struct phone_config cfg = { .name = "SEP001122334455", .protocol = 3, .pool = p };
	struct phone_session s;
	start(&s, &cfg, 3);
	keygen(&s, 3, 0, 1024);
	check_pubkey(&s, 0);
	phone_session_free(&s);
	phone_keypool_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pattern),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_auth_response),
		cmocka_unit_test(test_install_rsa_and_ec),
		cmocka_unit_test(test_keygen_fallback_and_jabber),
		cmocka_unit_test(test_store_wrong_key),
		cmocka_unit_test(test_fetch_delete),
		cmocka_unit_test(test_endings),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_key_spec),
		cmocka_unit_test(test_keypool),
		cmocka_unit_test(test_keypool_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
