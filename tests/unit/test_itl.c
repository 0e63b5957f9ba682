/* tests/unit/test_itl.c: the ITL/CTL TLV codec (appliance/itl). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "appliance/itl/itl.h"

static char err[256];
static uint8_t serial[] = { 0x01, 0x02, 0x03 };
static uint8_t pub[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };
static uint8_t csig[] = { 0xaa, 0xbb, 0xcc, 0xdd };
static uint8_t cert1[] = { 0x30, 0x02, 0x05, 0x00 };
static uint8_t cert2[] = { 0x30, 0x03, 0x04, 0x01, 0x42 };
static uint8_t sig[256];

static struct itl_cert_fields rec(int role, const uint8_t *cert, size_t n)
{
	return (struct itl_cert_fields){
		.role = role,
		.subject = "O=Example;CN=sast",
		.issuer = "CN=issuer",
		.serial = { serial, sizeof(serial) },
		.public_key = { pub, sizeof(pub) },
		.signature = { csig, sizeof(csig) },
		.certificate = { cert, n },
	};
}

static const struct itl_signer signer = {
	.signer_major = 1,
	.signer_minor = 1,
	.signer_name = "O=Example;CN=sast",
	.issuer = "CN=issuer",
	.serial = { serial, sizeof(serial) },
	.hash_alg = ITL_HASH_SHA512,
	.sig_len = 256,
	.filename = "ITLFile.tlv",
	.timestamp = 0x5f000001,
};

/* A signed file of the records given (two by default) into *out. */
static size_t build(uint8_t **out, size_t *sig_at, uint8_t **unsig, size_t *ulen)
{
	struct itl_cert_fields r[2] = { rec(ITL_ROLE_SAST, cert1, sizeof(cert1)),
					rec(ITL_ROLE_CAPF, cert2, sizeof(cert2)) };
	size_t n;

	for (n = 0; n < sizeof(sig); n++)
		sig[n] = (uint8_t)n;
	assert_int_equal(itl_build_unsigned(&signer, r, 2, unsig, ulen, sig_at, err, sizeof(err)), 0);
	assert_int_equal(itl_insert_signature(*unsig, *ulen, *sig_at, sig, sizeof(sig), out, &n, err,
					      sizeof(err)),
			 0);
	return n;
}

static void test_round_trip(void **state)
{
	static struct itl_file f;
	uint8_t *file, *u, *signed_data;
	size_t n, ulen, sig_at, sdlen;

	n = build(&file, &sig_at, &u, &ulen);
	assert_int_equal(n, ulen + 3 + sizeof(sig));
	assert_int_equal(itl_parse(file, n, &f, err, sizeof(err)), 0);
	assert_int_equal(f.h.version_major, 1);
	assert_int_equal(f.h.version_minor, 2);
	assert_int_equal(f.h.length % 4, 0);
	assert_int_equal(f.h.signer_major, 1);
	assert_int_equal(f.h.signer_minor, 1);
	assert_int_equal(f.h.hash_alg, ITL_HASH_SHA512);
	assert_int_equal(f.h.sig_alg, 0);
	assert_int_equal(f.h.sig_modulus, 2); /* 256 bytes: index 2 of 64,128,256,512 */
	assert_int_equal(f.h.timestamp, 0x5f000001);
	assert_int_equal(f.h.sig_offset, sig_at);
	assert_int_equal(f.h.signature.n, sizeof(sig));
	assert_memory_equal(f.h.signature.p, sig, sizeof(sig));
	assert_int_equal(f.h.signer_name.n, strlen("O=Example;CN=sast"));
	assert_memory_equal(f.h.signer_name.p, "O=Example;CN=sast", f.h.signer_name.n);
	assert_memory_equal(f.h.filename.p, "ITLFile.tlv", 11);
	assert_int_equal(f.h.serial.n, sizeof(serial));
	assert_int_equal(f.nrec, 2);
	assert_int_equal(f.r[0].role, ITL_ROLE_SAST);
	assert_int_equal(f.r[1].role, ITL_ROLE_CAPF);
	assert_int_equal(f.r[1].certificate.n, sizeof(cert2));
	assert_memory_equal(f.r[1].certificate.p, cert2, sizeof(cert2));
	assert_memory_equal(f.r[0].public_key.p, pub, sizeof(pub));
	assert_memory_equal(f.r[0].signature.p, csig, sizeof(csig));
	assert_int_equal(f.r[0].offset, f.h.length);
	assert_int_equal(f.r[1].offset + f.r[1].length, n);
	/* what the signature covers is exactly the unsigned file */
	assert_int_equal(itl_signed_data(file, n, &f, &signed_data, &sdlen), 0);
	assert_int_equal(sdlen, ulen);
	assert_memory_equal(signed_data, u, ulen);
	free(signed_data);
	free(file);
	free(u);
}

static void test_lone_record(void **state)
{
	struct itl_cert_fields r = rec(ITL_ROLE_CAPF, cert2, sizeof(cert2));
	uint8_t *file, *u, *one;
	size_t n, ulen, sig_at, onelen;
	static struct itl_file f;

	n = build(&file, &sig_at, &u, &ulen);
	assert_int_equal(itl_parse(file, n, &f, err, sizeof(err)), 0);
	assert_int_equal(itl_build_record(&r, &one, &onelen, err, sizeof(err)), 0);
	/* the record alone is byte for byte the one in the file */
	assert_int_equal(onelen, f.r[1].length);
	assert_memory_equal(one, file + f.r[1].offset, onelen);
	free(one);
	free(file);
	free(u);
}

static void test_truncations(void **state)
{
	static struct itl_file f;
	uint8_t *file, *u;
	size_t n, ulen, sig_at, cut, rec1;

	n = build(&file, &sig_at, &u, &ulen);
	assert_int_equal(itl_parse(file, n, &f, err, sizeof(err)), 0);
	rec1 = f.r[1].offset;
	for (cut = 0; cut < n; cut++) {
		uint8_t *p = malloc(cut ? cut : 1);
		int rc;

		memcpy(p, file, cut);
		rc = itl_parse(p, cut, &f, err, sizeof(err));
		if (cut == rec1) /* a cut between records leaves a shorter valid file */
			assert_int_equal(rc, 0);
		else
			assert_int_equal(rc, -1);
		free(p);
	}
	free(file);
	free(u);
}

static void test_refusals(void **state)
{
	static struct itl_file f;
	uint8_t *file, *u, *p;
	size_t n, ulen, sig_at;

	n = build(&file, &sig_at, &u, &ulen);
	p = malloc(n);
	/* not an ITL at all */
	memcpy(p, file, n);
	p[0] = 2;
	assert_int_equal(itl_parse(p, n, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "HEADER_VERSION"));
	/* a header length past the end */
	memcpy(p, file, n);
	p[8] = 0xff;
	p[9] = 0xff;
	assert_int_equal(itl_parse(p, n, &f, err, sizeof(err)), -1);
	/* an unknown header tag (the signer version's tag) */
	memcpy(p, file, n);
	p[10] = 99;
	assert_int_equal(itl_parse(p, n, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown header tag 99"));
	/* the signer name without its NUL */
	memcpy(p, file, n);
	p[21 + strlen("O=Example;CN=sast")] = 'x';
	assert_int_equal(p[18], 4);
	assert_int_equal(itl_parse(p, n, &f, err, sizeof(err)), -1);
	/* a record length beyond the file */
	assert_int_equal(itl_parse(file, n, &f, err, sizeof(err)), 0);
	memcpy(p, file, n);
	p[f.r[1].offset + 3] = 0xff;
	assert_int_equal(itl_parse(p, n, &f, err, sizeof(err)), -1);
	/* a record without RECORD_LENGTH first */
	assert_int_equal(itl_parse(file, n, &f, err, sizeof(err)), 0);
	memcpy(p, file, n);
	p[f.r[0].offset] = 3;
	assert_int_equal(itl_parse(p, n, &f, err, sizeof(err)), -1);
	/* an unsupported hash algorithm */
	assert_int_equal(itl_parse(file, n, &f, err, sizeof(err)), 0);
	memcpy(p, file, n);
	{
		size_t i;

		for (i = 0; i + 4 <= f.h.length; i++)
			if (p[i] == 8 && p[i + 1] == 0 && p[i + 2] == 1 && p[i + 3] == ITL_HASH_SHA512) {
				p[i + 3] = ITL_HASH_SHA256;
				break;
			}
	}
	assert_int_equal(itl_parse(p, n, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "HASH_ALGORITHM"));
	free(p);
	free(file);
	free(u);
}

static void test_caps(void **state)
{
	static struct itl_cert_fields many[ITL_RECORDS_MAX + 1];
	static struct itl_file f;
	static uint8_t big[70000];
	struct itl_cert_fields r;
	struct itl_signer s = signer;
	uint8_t *u = NULL, *file, *rr;
	size_t i, ulen, sig_at, n, rl;

	for (i = 0; i < ITL_RECORDS_MAX + 1; i++)
		many[i] = rec(ITL_ROLE_CCM, cert1, sizeof(cert1));
	/* too many records: refused when built... */
	assert_int_equal(itl_build_unsigned(&s, many, ITL_RECORDS_MAX + 1, &u, &ulen, &sig_at, err,
					    sizeof(err)),
			 -1);
	/* ...and when parsed (64 built, one more appended) */
	assert_int_equal(itl_build_unsigned(&s, many, ITL_RECORDS_MAX, &u, &ulen, &sig_at, err, sizeof(err)),
			 0);
	assert_int_equal(itl_build_record(&many[0], &rr, &rl, err, sizeof(err)), 0);
	assert_int_equal(itl_insert_signature(u, ulen, sig_at, sig, sizeof(sig), &file, &n, err, sizeof(err)),
			 0);
	assert_int_equal(itl_parse(file, n, &f, err, sizeof(err)), 0);
	assert_int_equal(f.nrec, ITL_RECORDS_MAX);
	file = realloc(file, n + rl);
	memcpy(file + n, rr, rl);
	assert_int_equal(itl_parse(file, n + rl, &f, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 64 records"));
	free(file);
	free(rr);
	free(u);
	/* a field over 65535 bytes cannot be written */
	r = rec(ITL_ROLE_CCM, big, sizeof(big));
	assert_int_equal(itl_build_record(&r, &rr, &rl, err, sizeof(err)), -1);
	/* a file over the cap is refused before parsing */
	assert_int_equal(itl_parse(big, ITL_FILE_MAX + 1, &f, err, sizeof(err)), -1);
	/* signature sizes other than RSA's 512..4096 bits, and unknown roles */
	s.sig_len = 200;
	r = rec(ITL_ROLE_SAST, cert1, sizeof(cert1));
	assert_int_equal(itl_build_unsigned(&s, &r, 1, &u, &ulen, &sig_at, err, sizeof(err)), -1);
	s = signer;
	r.role = 5;
	assert_int_equal(itl_build_unsigned(&s, &r, 1, &u, &ulen, &sig_at, err, sizeof(err)), -1);
}

static void test_roles(void **state)
{
	assert_string_equal(itl_role_name(ITL_ROLE_CCM_TFTP), "CCM+TFTP");
	assert_int_equal(itl_role_from_name("capf"), ITL_ROLE_CAPF);
	assert_int_equal(itl_role_from_name("TVS"), 21);
	assert_int_equal(itl_role_from_name("SAST"), 0);
	assert_int_equal(itl_role_from_name("CA"), -1);
	assert_null(itl_role_name(5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),  cmocka_unit_test(test_lone_record),
		cmocka_unit_test(test_truncations), cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_caps),        cmocka_unit_test(test_roles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
