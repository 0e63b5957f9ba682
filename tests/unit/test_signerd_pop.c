/*
 * tests/unit/test_signerd_pop.c: the CAPF proof of possession as capf-signerd
 * checks it (appliance/signerd/possession.c): whole PKCS#1 v1.5 type-1 blocks
 * over bare digests for RSA, DER ECDSA for EC; accepting and refusing cases,
 * including signatures whose trailing bytes are the right digest but whose
 * padding is not (the weakness of existing implementations).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "appliance/signerd/possession.h"

static EVP_PKEY *rsa_key, *ec_key;
static const unsigned char data[] = "SEP001122334455\0<certificate DER would follow>";

static int setup(void **state)
{
	(void)state;
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return rsa_key != NULL && ec_key != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ec_key);
	return 0;
}

/* Raw RSA private operation on a full block (whatever its padding). */
static size_t rsa_raw(const unsigned char *block, size_t k, unsigned char *sig)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(rsa_key, NULL);
	size_t len = k;

	assert_non_null(c);
	assert_int_equal(EVP_PKEY_sign_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING), 1);
	assert_int_equal(EVP_PKEY_sign(c, sig, &len, block, k), 1);
	EVP_PKEY_CTX_free(c);
	return len;
}

enum variant {
	V_GOOD,       /* 00 01 FF.. 00 || H */
	V_FLIP,       /* good, one signature byte flipped */
	V_PAD_FE,     /* one padding byte FE instead of FF: trailing hash right */
	V_DIGESTINFO, /* standard RSA-SHA-x with DigestInfo: trailing hash right */
	V_SHORT_PAD,  /* 00 01 FF*4 00 junk || H: trailing hash right, padding too short */
	V_WRONG_HASH, /* right padding, digest of other data */
	V_TRUNCATED,  /* signature one byte short */
};

static size_t rsa_sig(enum variant v, const EVP_MD *md, unsigned char *sig)
{
	unsigned char h[EVP_MAX_MD_SIZE], block[512];
	unsigned hl = 0;
	size_t k = (size_t)EVP_PKEY_get_size(rsa_key), n;

	if (v == V_WRONG_HASH)
		EVP_Digest("other", 5, h, &hl, md, NULL);
	else
		EVP_Digest(data, sizeof(data), h, &hl, md, NULL);
	if (v == V_DIGESTINFO) {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(rsa_key, NULL);

		n = k;
		assert_int_equal(EVP_PKEY_sign_init(c), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, md), 1);
		assert_int_equal(EVP_PKEY_sign(c, sig, &n, h, hl), 1);
		EVP_PKEY_CTX_free(c);
		return n;
	}
	block[0] = 0x00;
	block[1] = 0x01;
	memset(block + 2, 0xff, k - 3 - hl);
	block[k - hl - 1] = 0x00;
	memcpy(block + k - hl, h, hl);
	if (v == V_PAD_FE)
		block[5] = 0xfe;
	if (v == V_SHORT_PAD) {
		memset(block + 6, 0x00, k - hl - 6);
		block[6] = 0x00;
		memset(block + 7, 0x5a, k - hl - 7);
	}
	n = rsa_raw(block, k, sig);
	if (v == V_FLIP)
		sig[n / 2] ^= 0x01;
	if (v == V_TRUNCATED)
		n--;
	return n;
}

static void test_rsa_table(void **state)
{
	static const struct {
		enum variant v;
		int sha512;
		int want;
	} rows[] = {
		{ V_GOOD, 0, 0 },        { V_GOOD, 1, 0 },        { V_FLIP, 0, -1 },
		{ V_FLIP, 1, -1 },       { V_PAD_FE, 0, -1 },     { V_PAD_FE, 1, -1 },
		{ V_DIGESTINFO, 0, -1 }, { V_DIGESTINFO, 1, -1 }, { V_SHORT_PAD, 0, -1 },
		{ V_WRONG_HASH, 0, -1 }, { V_WRONG_HASH, 1, -1 }, { V_TRUNCATED, 0, -1 },
	};
	unsigned char sig[512];
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const EVP_MD *md = rows[i].sha512 ? EVP_sha512() : EVP_sha1();
		size_t n = rsa_sig(rows[i].v, md, sig);
		int rc = signerd_pop_verify(rsa_key, md, data, sizeof(data), sig, n, err, sizeof(err));

		if (rc != rows[i].want)
			fail_msg("row %zu (variant %d, sha512 %d): got %d (%s)", i, rows[i].v, rows[i].sha512,
				 rc, err);
	}
}

/* A SHA-1 proof does not pass as a SHA-512 one and vice versa. */
static void test_rsa_digest_mismatch(void **state)
{
	unsigned char sig[512];
	char err[256];
	size_t n;

	(void)state;
	n = rsa_sig(V_GOOD, EVP_sha1(), sig);
	assert_int_equal(signerd_pop_verify(rsa_key, EVP_sha512(), data, sizeof(data), sig, n, err,
					    sizeof(err)),
			 -1);
	n = rsa_sig(V_GOOD, EVP_sha512(), sig);
	assert_int_equal(signerd_pop_verify(rsa_key, EVP_sha1(), data, sizeof(data), sig, n, err, sizeof(err)),
			 -1);
}

static size_t ec_sig(const EVP_MD *md, const unsigned char *d, size_t dl, unsigned char *sig)
{
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned hl = 0;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(ec_key, NULL);
	size_t n = 256;

	EVP_Digest(d, dl, h, &hl, md, NULL);
	assert_int_equal(EVP_PKEY_sign_init(c), 1);
	assert_int_equal(EVP_PKEY_sign(c, sig, &n, h, hl), 1);
	EVP_PKEY_CTX_free(c);
	return n;
}

static void test_ec(void **state)
{
	unsigned char sig[256];
	char err[256];
	size_t n;

	(void)state;
	n = ec_sig(EVP_sha1(), data, sizeof(data), sig);
	assert_int_equal(signerd_pop_verify(ec_key, EVP_sha1(), data, sizeof(data), sig, n, err, sizeof(err)),
			 0);
	n = ec_sig(EVP_sha512(), data, sizeof(data), sig);
	assert_int_equal(signerd_pop_verify(ec_key, EVP_sha512(), data, sizeof(data), sig, n, err, sizeof(err)),
			 0);
	/* other data, flipped byte, wrong digest, wrong key */
	n = ec_sig(EVP_sha1(), (const unsigned char *)"other", 5, sig);
	assert_int_equal(signerd_pop_verify(ec_key, EVP_sha1(), data, sizeof(data), sig, n, err, sizeof(err)),
			 -1);
	n = ec_sig(EVP_sha1(), data, sizeof(data), sig);
	sig[n - 3] ^= 0x40;
	assert_int_equal(signerd_pop_verify(ec_key, EVP_sha1(), data, sizeof(data), sig, n, err, sizeof(err)),
			 -1);
	n = ec_sig(EVP_sha1(), data, sizeof(data), sig);
	assert_int_equal(signerd_pop_verify(ec_key, EVP_sha512(), data, sizeof(data), sig, n, err, sizeof(err)),
			 -1);
	assert_int_equal(signerd_pop_verify(rsa_key, EVP_sha1(), data, sizeof(data), sig, n, err, sizeof(err)),
			 -1);
}

static void test_args(void **state)
{
	unsigned char sig[4] = { 1, 2, 3, 4 };
	char err[256];

	(void)state;
	assert_int_equal(signerd_pop_verify(NULL, EVP_sha1(), data, sizeof(data), sig, 4, err, sizeof(err)),
			 -1);
	assert_int_equal(signerd_pop_verify(rsa_key, NULL, data, sizeof(data), sig, 4, err, sizeof(err)), -1);
	assert_int_equal(signerd_pop_verify(rsa_key, EVP_sha1(), data, sizeof(data), sig, 0, err, sizeof(err)),
			 -1);
	assert_ptr_equal(signerd_pop_md(1), EVP_sha1());
	assert_ptr_equal(signerd_pop_md(2), EVP_sha256());
	assert_ptr_equal(signerd_pop_md(3), EVP_sha512());
	assert_null(signerd_pop_md(0));
	assert_null(signerd_pop_md(4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_table),
		cmocka_unit_test(test_rsa_digest_mismatch),
		cmocka_unit_test(test_ec),
		cmocka_unit_test(test_args),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
