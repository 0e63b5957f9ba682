/* tests/unit/test_capf_codec.c: the CAPF wire codec (appliance/capf). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "appliance/capf/evidence.h"
#include "appliance/capf/msg.h"
#include "appliance/capf/proto.h"
#include "appliance/capf/reader.h"

static char err[256];

/* A fake certificate: one DER SEQUENCE of n content bytes (long form when n >= 128). */
static size_t fake_der(uint8_t *out, size_t n, uint8_t fill)
{
	size_t h;

	out[0] = 0x30;
	if (n < 128) {
		out[1] = (uint8_t)n;
		h = 2;
	} else if (n < 256) {
		out[1] = 0x81;
		out[2] = (uint8_t)n;
		h = 3;
	} else {
		out[1] = 0x82;
		out[2] = (uint8_t)(n >> 8);
		out[3] = (uint8_t)n;
		h = 4;
	}
	memset(out + h, fill, n);
	return h + n;
}

/* Builds a message into a malloc'd copy. */
static uint8_t *finish(struct capf_builder *b, size_t *len)
{
	const uint8_t *p;
	uint8_t *copy;

	assert_int_equal(capf_build_finish(b, &p, len, err, sizeof(err)), 0);
	copy = malloc(*len);
	assert_non_null(copy);
	memcpy(copy, p, *len);
	capf_build_free(b);
	return copy;
}

static uint8_t *auth_response(size_t *len, int with_password, const char *password, int with_cert)
{
	struct capf_builder b;
	uint8_t der[600], sig[256], sudi[300];
	size_t dlen = fake_der(der, 500, 0xAB), slen = fake_der(sudi, 200, 0xCD);

	memset(sig, 0x5A, sizeof(sig));
	assert_int_equal(capf_build_init(&b, CAPF_CMD_AUTH_RESPONSE, 0x01020304, 0), 0);
	assert_int_equal(capf_build_u8(&b, CAPF_TAG_REASON, CAPF_REASON_SUCCESS), 0);
	assert_int_equal(capf_build_u8(&b, CAPF_TAG_VERSION, with_password ? 3 : 2), 0);
	assert_int_equal(capf_build_cstr(&b, CAPF_TAG_DEVICE_NAME, "SEP58971ECC97C1", CAPF_NAME_MAX), 0);
	if (with_password)
		assert_int_equal(capf_build_cstr(&b, CAPF_TAG_PASSWORD, password, CAPF_PASSWORD_MAX), 0);
	if (with_cert) {
		assert_int_equal(capf_build_cert(&b, CAPF_CERT_MIC, der, dlen), 0);
		assert_int_equal(capf_build_put(&b, CAPF_TAG_SIGNED_DATA, sig, 256), 0);
		assert_int_equal(capf_build_sha2(&b, CAPF_HASH_SHA512, sig, 128), 0);
		assert_int_equal(capf_build_sudi(&b, sudi, slen, sig, 64, sig, 256), 0);
	}
	return finish(&b, len);
}

static void test_names(void **state)
{
	assert_string_equal(capf_command_name(CAPF_CMD_AUTH_REQUEST), "AUTH_REQUEST");
	assert_string_equal(capf_command_name(CAPF_CMD_SIGN_CERTIFICATE_RESPONSE), "SIGN_CERTIFICATE_RESPONSE");
	assert_string_equal(capf_command_name(0), "UNKNOWN");
	assert_string_equal(capf_command_name(200), "UNKNOWN");
	assert_string_equal(capf_tag_name(CAPF_TAG_DEVICE_NAME), "DEVICE_NAME");
	assert_string_equal(capf_tag_name(14), "UNKNOWN");
	assert_int_equal(capf_tag_known(CAPF_TAG_SHA2_SIGNED_DATA), 1);
	assert_int_equal(capf_tag_known(15), 0);
	assert_int_equal(capf_tag_known(255), 0);
	assert_string_equal(capf_reason_name(9), "UNKNOWN_DEVICE");
	assert_string_equal(capf_hash_name(3), "SHA-512");
	assert_string_equal(capf_key_type_name(CAPF_KEY_EC), "EC");
	assert_string_equal(capf_wire_curve_name(CAPF_CURVE_P521), "P-521");
	assert_string_equal(capf_auth_type_name(CAPF_AUTHTYPE_MIC), "MIC");
	assert_string_equal(capf_err_name(CAPF_E_OVERRUN), "element overruns the body");
}

/* Every server command with its typical elements, built and parsed back. */
static void test_roundtrip_server_messages(void **state)
{
	struct {
		uint8_t cmd;
		uint8_t tags[4];
	} cases[] = {
		{ CAPF_CMD_AUTH_REQUEST, { CAPF_TAG_VERSION, CAPF_TAG_AUTH_TYPE } },
		{ CAPF_CMD_KEY_GENERATE_REQUEST, { CAPF_TAG_KEY_TYPE, CAPF_TAG_KEY_SIZE } },
		{ CAPF_CMD_KEY_GENERATE_REQUEST, { CAPF_TAG_KEY_TYPE, CAPF_TAG_CURVE } },
		{ CAPF_CMD_STORE_CERTIFICATE_REQUEST, { CAPF_TAG_CERTIFICATE_TYPE, CAPF_TAG_CERTIFICATE } },
		{ CAPF_CMD_FETCH_CERTIFICATE_REQUEST, { 0 } },
		{ CAPF_CMD_DELETE_CERTIFICATE_REQUEST, { 0 } },
		{ CAPF_CMD_END_SESSION, { CAPF_TAG_REASON } },
		{ CAPF_CMD_RETRY_LATER, { CAPF_TAG_RETRY_DELAY } },
		{ CAPF_CMD_REQUEST_IN_PROGRESS, { 0 } },
		{ CAPF_CMD_KEY_GENERATE_RESPONSE, { CAPF_TAG_PUBLIC_KEY } },
		{ CAPF_CMD_STORE_CERTIFICATE_RESPONSE, { CAPF_TAG_REASON } },
		{ CAPF_CMD_FETCH_CERTIFICATE_RESPONSE, { CAPF_TAG_REASON, CAPF_TAG_CERTIFICATE } },
		{ CAPF_CMD_DELETE_CERTIFICATE_RESPONSE, { CAPF_TAG_REASON } },
		{ 99, { CAPF_TAG_REASON_INFO } }, /* unknown command: returned as such */
	};
	uint8_t der[1200];
	size_t dlen = fake_der(der, 1100, 0x11);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct capf_builder b;
		struct capf_msg m;
		struct capf_elem e;
		uint8_t *buf;
		size_t len, used;
		unsigned n = 0;

		assert_int_equal(capf_build_init(&b, cases[i].cmd, 0xA0B0C0D0u + (uint32_t)i, 0), 0);
		for (int t = 0; t < 4 && cases[i].tags[t]; t++, n++) {
			switch (cases[i].tags[t]) {
			case CAPF_TAG_KEY_SIZE:
				assert_int_equal(capf_build_u16(&b, CAPF_TAG_KEY_SIZE, 2048), 0);
				break;
			case CAPF_TAG_RETRY_DELAY:
				assert_int_equal(capf_build_retry_delay(&b, 90), 0);
				break;
			case CAPF_TAG_CERTIFICATE:
				assert_int_equal(capf_build_cert(&b, CAPF_CERT_LSC, der, dlen), 0);
				break;
			case CAPF_TAG_PUBLIC_KEY:
				assert_int_equal(capf_build_put(&b, CAPF_TAG_PUBLIC_KEY, der, 300), 0);
				break;
			case CAPF_TAG_REASON_INFO:
				assert_int_equal(capf_build_cstr(&b, CAPF_TAG_REASON_INFO, "text",
								 CAPF_TEXT_MAX),
						 0);
				break;
			default:
				assert_int_equal(capf_build_u8(&b, cases[i].tags[t], (uint8_t)(t + 1)), 0);
			}
		}
		buf = finish(&b, &len);
		assert_int_equal(capf_msg_parse(&m, buf, len, 0, NULL, err, sizeof(err)), 0);
		assert_int_equal(m.command, cases[i].cmd);
		assert_int_equal(m.session_id, 0xA0B0C0D0u + (uint32_t)i);
		assert_int_equal(m.body_len, len - CAPF_HEADER_LEN);
		assert_int_equal(m.nelem, n);
		assert_int_equal(m.unknown_tags, 0);
		assert_int_equal(capf_msg_parse(&m, buf, len, 0, &used, err, sizeof(err)), 0);
		assert_int_equal(used, len);
		for (int t = 0; t < 4 && cases[i].tags[t]; t++)
			assert_int_equal(capf_msg_find(&m, cases[i].tags[t], &e), 1);
		if (capf_msg_find(&m, CAPF_TAG_KEY_SIZE, &e)) {
			uint16_t v;
			assert_int_equal(capf_elem_u16(&e, &v, err, sizeof(err)), 0);
			assert_int_equal(v, 2048);
		}
		if (capf_msg_find(&m, CAPF_TAG_RETRY_DELAY, &e)) {
			uint32_t v;
			assert_int_equal(e.len, 4);
			assert_int_equal(capf_msg_uint(&m, CAPF_TAG_RETRY_DELAY, &v, err, sizeof(err)), 1);
			assert_int_equal(v, 90);
		}
		if (capf_msg_find(&m, CAPF_TAG_CERTIFICATE, &e)) {
			struct capf_wrapped_cert c;
			assert_int_equal(capf_cert_unwrap(e.val, e.len, &c, err, sizeof(err)), 0);
			assert_int_equal(c.type, CAPF_CERT_LSC);
			assert_int_equal(c.marker, 1);
			assert_int_equal(c.pad, 0);
			assert_int_equal(c.der_len, dlen);
			assert_memory_equal(c.der, der, dlen);
		}
		free(buf);
	}
}

static void test_wire_bytes(void **state)
{
	/* AUTH_REQUEST {VERSION 3, AUTH_TYPE 1}, session 0x11223344: exact bytes. */
	static const uint8_t want[] = { 0x55, 0x01, 0x11, 0x22, 0x33, 0x44, 0x00, 0x08,
					0x07, 0x00, 0x01, 0x03, 0x08, 0x00, 0x01, 0x01 };
	struct capf_builder b;
	uint8_t *buf;
	size_t len;

	assert_int_equal(capf_build_init(&b, CAPF_CMD_AUTH_REQUEST, 0x11223344, 0), 0);
	capf_build_u8(&b, CAPF_TAG_VERSION, 3);
	capf_build_u8(&b, CAPF_TAG_AUTH_TYPE, CAPF_AUTHTYPE_PASSWORD);
	buf = finish(&b, &len);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	free(buf);
}

static void test_auth_response_full(void **state)
{
	struct capf_auth_response a;
	struct capf_msg m;
	size_t len;
	uint8_t *buf = auth_response(&len, 1, "123456", 1);

	assert_int_equal(capf_msg_parse(&m, buf, len, CAPF_BODY_CAP_DEFAULT, NULL, err, sizeof(err)), 0);
	assert_int_equal(m.command, CAPF_CMD_AUTH_RESPONSE);
	assert_int_equal(capf_auth_response_parse(&m, &a, err, sizeof(err)), 0);
	assert_true(a.has_reason && a.reason == CAPF_REASON_SUCCESS);
	assert_true(a.has_version && a.version == 3);
	assert_string_equal(a.device_name, "SEP58971ECC97C1");
	assert_int_equal(a.device_name_len, 15);
	assert_true(a.has_password);
	assert_string_equal(a.password, "123456");
	assert_int_equal(a.password_len, 6);
	assert_true(a.has_cert);
	assert_int_equal(a.cert.type, CAPF_CERT_MIC);
	assert_int_equal(a.cert.der_len, 504);
	assert_int_equal(a.signed_data_len, 256);
	assert_true(a.has_sha2);
	assert_int_equal(a.sha2.hash_id, CAPF_HASH_SHA512);
	assert_int_equal(a.sha2.sig_len, 128);
	assert_true(a.has_sudi);
	assert_int_equal(a.sudi.cert_len, 203);
	assert_int_equal(a.sudi.sig_len[CAPF_HASH_SHA1], 64);
	assert_int_equal(a.sudi.sig_len[CAPF_HASH_SHA512], 256);
	assert_null(a.sudi.sig[CAPF_HASH_SHA256]);
	assert_non_null(a.sudi_raw);
	assert_int_equal(a.sudi_raw_len, 3 + 203 + 3 + 64 + 3 + 256);
	assert_int_equal(a.unknown_tags, 0);
	free(buf);
}

static void test_auth_response_null_and_jabber(void **state)
{
	struct capf_auth_response a;
	struct capf_msg m;
	size_t len;
	uint8_t *buf;

	/* By Null String: PASSWORD is a lone NUL */
	buf = auth_response(&len, 1, "", 0);
	assert_int_equal(capf_msg_parse(&m, buf, len, 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(capf_auth_response_parse(&m, &a, err, sizeof(err)), 0);
	assert_true(a.has_password);
	assert_int_equal(a.password_len, 0);
	assert_string_equal(a.password, "");
	assert_false(a.has_cert);
	assert_null(a.signed_data);
	free(buf);

	/* Jabber: VERSION 2, no PASSWORD element at all */
	buf = auth_response(&len, 0, NULL, 0);
	assert_int_equal(capf_msg_parse(&m, buf, len, 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(capf_auth_response_parse(&m, &a, err, sizeof(err)), 0);
	assert_false(a.has_password);
	assert_null(a.password);
	assert_int_equal(a.version, 2);
	free(buf);
}

/* Raw message from a body: header computed. */
static size_t raw(uint8_t *out, uint8_t cmd, const uint8_t *body, size_t blen)
{
	out[0] = 0x55;
	out[1] = cmd;
	out[2] = 0;
	out[3] = 0;
	out[4] = 0;
	out[5] = 7;
	out[6] = (uint8_t)(blen >> 8);
	out[7] = (uint8_t)blen;
	memcpy(out + 8, body, blen);
	return 8 + blen;
}

static void test_auth_response_refused(void **state)
{
	static const struct {
		const char *what;
		uint8_t body[48];
		size_t blen;
		int rc;
	} cases[] = {
		{ "no DEVICE_NAME", { 1, 0, 1, 1 }, 4, CAPF_E_MISSING },
		{ "unterminated DEVICE_NAME", { 13, 0, 3, 'S', 'E', 'P' }, 6, CAPF_E_ELEMENT },
		{ "interior NUL in DEVICE_NAME", { 13, 0, 4, 'S', 0, 'P', 0 }, 7, CAPF_E_ELEMENT },
		{ "empty DEVICE_NAME", { 13, 0, 1, 0 }, 4, CAPF_E_ELEMENT },
		{ "zero-length DEVICE_NAME", { 13, 0, 0 }, 3, CAPF_E_ELEMENT },
		{ "duplicate DEVICE_NAME", { 13, 0, 2, 'A', 0, 13, 0, 2, 'B', 0 }, 10, CAPF_E_DUPLICATE },
		{ "duplicate PASSWORD",
		  { 13, 0, 2, 'A', 0, 11, 0, 1, 0, 11, 0, 2, '1', 0 },
		  14,
		  CAPF_E_DUPLICATE },
		{ "unterminated PASSWORD", { 13, 0, 2, 'A', 0, 11, 0, 2, '1', '2' }, 10, CAPF_E_ELEMENT },
		{ "REASON of 2 bytes", { 13, 0, 2, 'A', 0, 1, 0, 2, 0, 1 }, 10, CAPF_E_ELEMENT },
		{ "VERSION of 0 bytes", { 13, 0, 2, 'A', 0, 7, 0, 0 }, 8, CAPF_E_ELEMENT },
		{ "empty SIGNED_DATA", { 13, 0, 2, 'A', 0, 6, 0, 0 }, 8, CAPF_E_ELEMENT },
		{ "CERTIFICATE too short", { 13, 0, 2, 'A', 0, 4, 0, 3, 1, 0, 2 }, 11, CAPF_E_ELEMENT },
		{ "SHA2 length mismatch", { 13, 0, 2, 'A', 0, 20, 0, 5, 3, 0, 3, 1, 1 }, 13, CAPF_E_ELEMENT },
		{ "SUDI without signature",
		  { 13, 0, 2, 'A', 0, 16, 0, 5, 0, 0, 2, 0x30, 0 },
		  13,
		  CAPF_E_ELEMENT },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[64];
		struct capf_msg m;
		struct capf_auth_response a;
		size_t len = raw(buf, CAPF_CMD_AUTH_RESPONSE, cases[i].body, cases[i].blen);

		assert_int_equal(capf_msg_parse(&m, buf, len, 0, NULL, err, sizeof(err)), 0);
		err[0] = 0;
		int rc = capf_auth_response_parse(&m, &a, err, sizeof(err));
		if (rc != cases[i].rc)
			fail_msg("%s: rc %d (%s), expected %d", cases[i].what, rc, err, cases[i].rc);
		assert_true(err[0] != 0);
		assert_int_equal(a.has_password, 0); /* nothing half-filled */
	}
}

static void test_name_length_cap(void **state)
{
	uint8_t body[3 + 66], buf[100];
	struct capf_msg m;
	struct capf_auth_response a;
	size_t len;

	/* 64 bytes + NUL: accepted */
	body[0] = 13;
	body[1] = 0;
	body[2] = 65;
	memset(body + 3, 'N', 64);
	body[3 + 64] = 0;
	len = raw(buf, CAPF_CMD_AUTH_RESPONSE, body, 3 + 65);
	assert_int_equal(capf_msg_parse(&m, buf, len, 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(capf_auth_response_parse(&m, &a, err, sizeof(err)), 0);
	assert_int_equal(a.device_name_len, 64);
	/* 65 bytes + NUL: refused */
	body[2] = 66;
	memset(body + 3, 'N', 65);
	body[3 + 65] = 0;
	len = raw(buf, CAPF_CMD_AUTH_RESPONSE, body, 3 + 66);
	assert_int_equal(capf_msg_parse(&m, buf, len, 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(capf_auth_response_parse(&m, &a, err, sizeof(err)), CAPF_E_ELEMENT);
	assert_non_null(strstr(err, "at most 64"));
}

static void test_framing_errors(void **state)
{
	static const struct {
		const char *what;
		uint8_t bytes[24];
		size_t len;
		size_t cap;
		int rc;
	} cases[] = {
		{ "empty", { 0 }, 0, 0, CAPF_E_TRUNCATED },
		{ "truncated header", { 0x55, 1, 0, 0, 0, 1, 0 }, 7, 0, CAPF_E_TRUNCATED },
		{ "wrong protocol id", { 0x56, 1, 0, 0, 0, 1, 0, 0 }, 8, 0, CAPF_E_PROTO_ID },
		{ "wrong protocol id, short", { 0x00 }, 1, 0, CAPF_E_PROTO_ID },
		{ "body shorter than announced",
		  { 0x55, 1, 0, 0, 0, 1, 0, 4, 7, 0, 1 },
		  11,
		  0,
		  CAPF_E_TRUNCATED },
		{ "body beyond the cap", { 0x55, 2, 0, 0, 0, 1, 0x40, 0x01 }, 8, 16384, CAPF_E_TOO_BIG },
		{ "element overrunning the body",
		  { 0x55, 2, 0, 0, 0, 1, 0, 4, 7, 0, 2, 3 },
		  12,
		  0,
		  CAPF_E_OVERRUN },
		{ "stray byte after elements",
		  { 0x55, 2, 0, 0, 0, 1, 0, 5, 7, 0, 1, 3, 9 },
		  13,
		  0,
		  CAPF_E_OVERRUN },
		{ "two stray bytes", { 0x55, 2, 0, 0, 0, 1, 0, 2, 7, 0 }, 10, 0, CAPF_E_OVERRUN },
		{ "element length 0xffff",
		  { 0x55, 2, 0, 0, 0, 1, 0, 3, 13, 0xff, 0xff },
		  11,
		  0,
		  CAPF_E_OVERRUN },
		{ "trailing bytes", { 0x55, 15, 0, 0, 0, 1, 0, 4, 1, 0, 1, 0, 0x55 }, 13, 0, CAPF_E_TRAILING },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct capf_msg m;
		int rc;

		err[0] = 0;
		rc = capf_msg_parse(&m, cases[i].bytes, cases[i].len, cases[i].cap, NULL, err, sizeof(err));
		if (rc != cases[i].rc)
			fail_msg("%s: rc %d (%s), expected %d", cases[i].what, rc, err, cases[i].rc);
		assert_true(err[0] != 0);
	}
}

static void test_caps(void **state)
{
	struct capf_builder b;
	struct capf_msg m;
	static uint8_t big[70000];
	uint8_t *buf;
	size_t len;

	/* exactly the cap: accepted; one more: refused, by builder and parser */
	assert_int_equal(capf_build_init(&b, CAPF_CMD_KEY_GENERATE_RESPONSE, 1, 16384), 0);
	assert_int_equal(capf_build_put(&b, CAPF_TAG_PUBLIC_KEY, big, 16384 - 3), 0);
	buf = finish(&b, &len);
	assert_int_equal(capf_msg_parse(&m, buf, len, 16384, NULL, err, sizeof(err)), 0);
	free(buf);
	assert_int_equal(capf_build_init(&b, CAPF_CMD_KEY_GENERATE_RESPONSE, 1, 16384), 0);
	assert_int_equal(capf_build_put(&b, CAPF_TAG_PUBLIC_KEY, big, 16384 - 2), CAPF_E_ARG);
	/* sticky */
	assert_int_equal(capf_build_u8(&b, CAPF_TAG_REASON, 1), CAPF_E_ARG);
	assert_int_equal(capf_build_finish(&b, (const uint8_t **)&buf, &len, err, sizeof(err)), CAPF_E_ARG);
	assert_non_null(strstr(err, "PUBLIC_KEY"));
	capf_build_free(&b);
	/* the format's maximum, 65535 */
	assert_int_equal(capf_build_init(&b, CAPF_CMD_KEY_GENERATE_RESPONSE, 1, 0), 0);
	assert_int_equal(capf_build_put(&b, CAPF_TAG_PUBLIC_KEY, big, 65532), 0);
	assert_int_equal(capf_build_u8(&b, CAPF_TAG_REASON, 1), CAPF_E_ARG);
	capf_build_free(&b);
	assert_int_equal(capf_build_init(&b, CAPF_CMD_KEY_GENERATE_RESPONSE, 1, 0), 0);
	assert_int_equal(capf_build_put(&b, CAPF_TAG_PUBLIC_KEY, big, 65532), 0);
	buf = finish(&b, &len);
	assert_int_equal(len, 8 + 65535);
	assert_int_equal(capf_msg_parse(&m, buf, len, 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(capf_msg_parse(&m, buf, len, 65534, NULL, err, sizeof(err)), CAPF_E_TOO_BIG);
	free(buf);
	/* string caps */
	assert_int_equal(capf_build_init(&b, CAPF_CMD_AUTH_RESPONSE, 1, 0), 0);
	assert_int_equal(capf_build_cstr(&b, CAPF_TAG_PASSWORD, "12345678901", 10), CAPF_E_ARG);
	capf_build_free(&b);
	assert_int_equal(capf_build_init(&b, CAPF_CMD_AUTH_RESPONSE, 1, 0), 0);
	assert_int_equal(capf_build_cert(&b, CAPF_CERT_LSC, big, 0), CAPF_E_ARG);
	capf_build_free(&b);
	assert_int_equal(capf_build_init(&b, CAPF_CMD_AUTH_RESPONSE, 1, 0), 0);
	assert_int_equal(capf_build_sha2(&b, 3, big, CAPF_SIG_MAX + 1), CAPF_E_ARG);
	capf_build_free(&b);
}

static void test_unknown_tags(void **state)
{
	/* AUTH_RESPONSE with unknown tags 14, 99, 255 around the known ones */
	static const uint8_t body[] = {
		99, 0, 3, 1, 2, 3,   13, 0, 4, 'C', 'S', 'F', 0, 14, 0,
		0,  7, 0, 1, 2, 255, 0,  1, 0, 8,   0,   1,   3, /* known, not used by AUTH_RESPONSE: ignored */
	};
	uint8_t buf[64];
	struct capf_msg m;
	struct capf_auth_response a;
	struct capf_elem e;
	size_t len = raw(buf, CAPF_CMD_AUTH_RESPONSE, body, sizeof(body)), pos = 0;
	unsigned n = 0;

	assert_int_equal(capf_msg_parse(&m, buf, len, 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(m.nelem, 6);
	assert_int_equal(m.unknown_tags, 3);
	while (capf_msg_next(&m, &pos, &e))
		n++;
	assert_int_equal(n, 6);
	assert_int_equal(capf_msg_find(&m, 99, &e), 1);
	assert_int_equal(e.len, 3);
	assert_int_equal(e.val[2], 3);
	assert_int_equal(capf_auth_response_parse(&m, &a, err, sizeof(err)), 0);
	assert_string_equal(a.device_name, "CSF");
	assert_int_equal(a.version, 2);
	assert_int_equal(a.unknown_tags, 3);
	assert_false(a.has_password);
}

static void test_typed_getters(void **state)
{
	static const uint8_t body[] = {
		12, 0, 1, 30,                  /* RETRY_DELAY as 1 byte */
		10, 0, 2, 0x08, 0x00,          /* KEY_SIZE 2048 */
		1,  0, 1, 1,    1,    0, 1, 7, /* REASON twice */
		18, 0, 3, 1,    2,    3,       /* CURVE of 3 bytes */
		2,  0, 3, 'a',  'b',  0,       /* REASON_INFO */
	};
	uint8_t buf[64];
	struct capf_msg m;
	struct capf_elem e = { CAPF_TAG_RETRY_DELAY, 0, NULL };
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	const char *s;
	size_t slen;
	const uint8_t *p;
	size_t plen;
	size_t len = raw(buf, CAPF_CMD_RETRY_LATER, body, sizeof(body));

	assert_int_equal(capf_msg_parse(&m, buf, len, 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(capf_msg_uint(&m, CAPF_TAG_RETRY_DELAY, &v32, err, sizeof(err)), 1);
	assert_int_equal(v32, 30);
	assert_int_equal(capf_msg_u16(&m, CAPF_TAG_KEY_SIZE, &v16, err, sizeof(err)), 1);
	assert_int_equal(v16, 2048);
	assert_int_equal(capf_msg_uint(&m, CAPF_TAG_KEY_SIZE, &v32, err, sizeof(err)), 1);
	assert_int_equal(v32, 2048);
	assert_int_equal(capf_msg_u8(&m, CAPF_TAG_KEY_SIZE, &v8, err, sizeof(err)), CAPF_E_ELEMENT);
	assert_int_equal(capf_msg_u8(&m, CAPF_TAG_REASON, &v8, err, sizeof(err)), CAPF_E_DUPLICATE);
	assert_int_equal(capf_msg_u8(&m, CAPF_TAG_CURVE, &v8, err, sizeof(err)), CAPF_E_ELEMENT);
	assert_int_equal(capf_msg_uint(&m, CAPF_TAG_CURVE, &v32, err, sizeof(err)), CAPF_E_ELEMENT);
	assert_int_equal(capf_msg_u8(&m, CAPF_TAG_KEY_TYPE, &v8, err, sizeof(err)), 0);
	assert_int_equal(capf_msg_cstr(&m, CAPF_TAG_REASON_INFO, 10, &s, &slen, err, sizeof(err)), 1);
	assert_string_equal(s, "ab");
	assert_int_equal(capf_msg_cstr(&m, CAPF_TAG_REASON_INFO, 1, &s, &slen, err, sizeof(err)),
			 CAPF_E_ELEMENT);
	assert_int_equal(capf_msg_bytes(&m, CAPF_TAG_CURVE, &p, &plen, err, sizeof(err)), 1);
	assert_int_equal(plen, 3);
	assert_int_equal(capf_msg_bytes(&m, CAPF_TAG_PUBLIC_KEY, &p, &plen, err, sizeof(err)), 0);
	/* RETRY_DELAY in 2 and 4 bytes; 3 refused */
	uint8_t two[2] = { 1, 0 }, four[4] = { 0, 1, 0, 0 }, three[3] = { 0, 0, 1 };
	e.val = two;
	e.len = 2;
	assert_int_equal(capf_elem_uint(&e, &v32, err, sizeof(err)), 0);
	assert_int_equal(v32, 256);
	e.val = four;
	e.len = 4;
	assert_int_equal(capf_elem_uint(&e, &v32, err, sizeof(err)), 0);
	assert_int_equal(v32, 65536);
	e.val = three;
	e.len = 3;
	assert_int_equal(capf_elem_uint(&e, &v32, err, sizeof(err)), CAPF_E_ELEMENT);
}

static void test_wrapped_cert(void **state)
{
	uint8_t der[400], val[420];
	struct capf_wrapped_cert c;
	size_t dlen = fake_der(der, 300, 0x42);

	/* encode by hand per the spec, decode */
	val[0] = 1;
	val[1] = (uint8_t)((dlen + 2) >> 8);
	val[2] = (uint8_t)(dlen + 2);
	val[3] = 0;
	val[4] = CAPF_CERT_LSC;
	memcpy(val + 5, der, dlen);
	assert_int_equal(capf_cert_unwrap(val, dlen + 5, &c, err, sizeof(err)), 0);
	assert_int_equal(c.der_len, dlen);
	assert_ptr_equal(c.der, val + 5);
	assert_int_equal(c.type, CAPF_CERT_LSC);
	/* the length field does not match */
	val[2]++;
	assert_int_equal(capf_cert_unwrap(val, dlen + 5, &c, err, sizeof(err)), CAPF_E_ELEMENT);
	val[2]--;
	/* truncated value: both checks fail */
	assert_int_equal(capf_cert_unwrap(val, dlen + 4, &c, err, sizeof(err)), CAPF_E_ELEMENT);
	/* DER not a single SEQUENCE */
	val[5] = 0x31;
	assert_int_equal(capf_cert_unwrap(val, dlen + 5, &c, err, sizeof(err)), CAPF_E_ELEMENT);
	val[5] = 0x30;
	val[7]++; /* DER length one more than present */
	assert_int_equal(capf_cert_unwrap(val, dlen + 5, &c, err, sizeof(err)), CAPF_E_ELEMENT);
	val[7]--;
	assert_int_equal(capf_cert_unwrap(val, 6, &c, err, sizeof(err)), CAPF_E_ELEMENT);
	/* short-form DER */
	dlen = fake_der(der, 10, 1);
	val[1] = 0;
	val[2] = (uint8_t)(dlen + 2);
	memcpy(val + 5, der, dlen);
	assert_int_equal(capf_cert_unwrap(val, dlen + 5, &c, err, sizeof(err)), 0);
	assert_int_equal(c.der_len, 12);
}

static void test_sha2(void **state)
{
	uint8_t v[3 + 300];
	struct capf_sha2_sig s;

	v[0] = 3;
	v[1] = 1;
	v[2] = 0;
	memset(v + 3, 7, 256);
	assert_int_equal(capf_sha2_parse(v, 259, &s, err, sizeof(err)), 0);
	assert_int_equal(s.hash_id, 3);
	assert_int_equal(s.sig_len, 256);
	assert_int_equal(capf_sha2_parse(v, 258, &s, err, sizeof(err)), CAPF_E_ELEMENT);
	assert_int_equal(capf_sha2_parse(v, 260, &s, err, sizeof(err)), CAPF_E_ELEMENT);
	assert_int_equal(capf_sha2_parse(v, 3, &s, err, sizeof(err)), CAPF_E_ELEMENT);
	v[1] = 0x04; /* 1025 bytes: above the cap */
	v[2] = 0x01;
	static uint8_t big[3 + 1025];
	memcpy(big, v, 3);
	assert_int_equal(capf_sha2_parse(big, sizeof(big), &s, err, sizeof(err)), CAPF_E_ELEMENT);
}

static size_t sudi_part(uint8_t *p, uint8_t id, const uint8_t *v, size_t n)
{
	p[0] = id;
	p[1] = (uint8_t)(n >> 8);
	p[2] = (uint8_t)n;
	memcpy(p + 3, v, n);
	return 3 + n;
}

static void test_sudi(void **state)
{
	uint8_t cert[300], sig[256], v[1200], sd[400];
	size_t clen = fake_der(cert, 250, 0x99), n;
	struct capf_sudi s;

	memset(sig, 0x33, sizeof(sig));
	n = sudi_part(v, 0, cert, clen);
	n += sudi_part(v + n, 1, sig, 256);
	n += sudi_part(v + n, 3, sig, 128);
	assert_int_equal(capf_sudi_parse(v, n, &s, err, sizeof(err)), 0);
	assert_int_equal(s.cert_len, clen);
	assert_memory_equal(s.cert, cert, clen);
	assert_int_equal(s.sig_len[1], 256);
	assert_int_equal(s.sig_len[3], 128);
	assert_null(s.sig[2]);
	assert_int_equal(s.unknown_parts, 0);

	/* an unknown part is skipped */
	size_t n2 = n + sudi_part(v + n, 9, sig, 5);
	assert_int_equal(capf_sudi_parse(v, n2, &s, err, sizeof(err)), 0);
	assert_int_equal(s.unknown_parts, 1);

	/* malformed */
	assert_int_equal(capf_sudi_parse(v, n - 1, &s, err, sizeof(err)), CAPF_E_ELEMENT);    /* overrun */
	assert_int_equal(capf_sudi_parse(v, n + 2, &s, err, sizeof(err)), CAPF_E_ELEMENT);    /* stray */
	assert_int_equal(capf_sudi_parse(v, 3 + clen, &s, err, sizeof(err)), CAPF_E_ELEMENT); /* no sig */
	assert_non_null(strstr(err, "no signature"));
	assert_int_equal(capf_sudi_parse(v + 3 + clen, n - 3 - clen, &s, err, sizeof(err)),
			 CAPF_E_ELEMENT); /* no cert */
	assert_non_null(strstr(err, "no certificate"));
	assert_int_equal(capf_sudi_parse(v, 0, &s, err, sizeof(err)), CAPF_E_ELEMENT);
	n2 = n + sudi_part(v + n, 1, sig, 10); /* dup sig */
	assert_int_equal(capf_sudi_parse(v, n2, &s, err, sizeof(err)), CAPF_E_ELEMENT);
	n2 = n + sudi_part(v + n, 0, cert, clen); /* dup cert */
	assert_int_equal(capf_sudi_parse(v, n2, &s, err, sizeof(err)), CAPF_E_ELEMENT);
	n2 = sudi_part(v, 0, cert, clen - 1); /* bad DER */
	n2 += sudi_part(v + n2, 1, sig, 10);
	assert_int_equal(capf_sudi_parse(v, n2, &s, err, sizeof(err)), CAPF_E_ELEMENT);
	n2 = sudi_part(v, 0, cert, clen); /* empty sig */
	n2 += sudi_part(v + n2, 3, sig, 0);
	assert_int_equal(capf_sudi_parse(v, n2, &s, err, sizeof(err)), CAPF_E_ELEMENT);

	/* the signed data: session id little-endian, then the certificate */
	assert_int_equal(capf_sudi_signed_data(0x01020304, cert, clen, sd, sizeof(sd)), (int)(4 + clen));
	assert_int_equal(sd[0], 4);
	assert_int_equal(sd[3], 1);
	assert_memory_equal(sd + 4, cert, clen);
	assert_int_equal(capf_sudi_signed_data(1, cert, clen, sd, clen + 3), CAPF_E_ARG);

	/* builder output parses back */
	struct capf_builder b;
	struct capf_msg m;
	struct capf_elem e;
	uint8_t *buf;
	size_t len;
	assert_int_equal(capf_build_init(&b, CAPF_CMD_AUTH_RESPONSE, 5, 0), 0);
	assert_int_equal(capf_build_sudi(&b, cert, clen, NULL, 0, sig, 200), 0);
	buf = finish(&b, &len);
	assert_int_equal(capf_msg_parse(&m, buf, len, 0, NULL, err, sizeof(err)), 0);
	assert_int_equal(capf_msg_find(&m, CAPF_TAG_SUDI_DATA, &e), 1);
	assert_int_equal(capf_sudi_parse(e.val, e.len, &s, err, sizeof(err)), 0);
	assert_null(s.sig[1]);
	assert_int_equal(s.sig_len[3], 200);
	free(buf);
	assert_int_equal(capf_build_init(&b, CAPF_CMD_AUTH_RESPONSE, 5, 0), 0);
	assert_int_equal(capf_build_sudi(&b, cert, clen, NULL, 0, NULL, 0), CAPF_E_ARG);
	capf_build_free(&b);
}

/* A stream of several messages, fed in pieces of the given sizes. */
static void feed_stream(const uint8_t *stream, size_t total, const size_t *msg_lens, size_t nmsg,
			size_t (*piece)(size_t i))
{
	struct capf_reader *r = capf_reader_new(0);
	struct capf_msg m;
	size_t off = 0, got = 0, i = 0, expect_off = 0;

	assert_non_null(r);
	while (off < total) {
		size_t n = piece(i++), used;

		if (n > total - off)
			n = total - off;
		const uint8_t *p = stream + off;
		off += n;
		while (n > 0) {
			int rc = capf_reader_feed(r, p, n, &used, &m, err, sizeof(err));

			assert_true(rc >= 0);
			assert_true(used <= n);
			p += used;
			n -= used;
			if (rc == 1) {
				assert_true(got < nmsg);
				assert_int_equal(m.body_len + CAPF_HEADER_LEN, msg_lens[got]);
				assert_memory_equal(m.body, stream + expect_off + CAPF_HEADER_LEN, m.body_len);
				assert_int_equal(m.session_id, 1000 + got);
				assert_int_equal(capf_reader_pending(r), 0);
				expect_off += msg_lens[got];
				got++;
			} else {
				assert_int_equal(n, 0);
			}
		}
	}
	assert_int_equal(got, nmsg);
	assert_int_equal(capf_reader_pending(r), 0);
	assert_int_equal(capf_reader_want(r), CAPF_HEADER_LEN);
	capf_reader_free(r);
}

static size_t piece_one(size_t i)
{
	return 1;
}
static size_t piece_all(size_t i)
{
	return 1u << 20;
}
static size_t piece_random(size_t i)
{
	return (size_t)(rand() % 23);
}
static size_t piece_seven(size_t i)
{
	return 7;
}

static void test_reader_splits(void **state)
{
	uint8_t *stream = NULL;
	size_t total = 0, lens[6];
	uint8_t der[2000];
	size_t dlen = fake_der(der, 1800, 0x77);

	for (int k = 0; k < 6; k++) {
		struct capf_builder b;
		uint8_t *buf;

		assert_int_equal(capf_build_init(&b, (uint8_t)(k + 1), 1000 + (uint32_t)k, 0), 0);
		if (k == 1)
			capf_build_cert(&b, CAPF_CERT_LSC, der, dlen);
		if (k == 2)
			capf_build_cstr(&b, CAPF_TAG_DEVICE_NAME, "SEP001122334455", 64);
		if (k != 4) /* k == 4: empty body */
			capf_build_u8(&b, CAPF_TAG_REASON, 1);
		buf = finish(&b, &lens[k]);
		stream = realloc(stream, total + lens[k]);
		assert_non_null(stream);
		memcpy(stream + total, buf, lens[k]);
		total += lens[k];
		free(buf);
	}
	feed_stream(stream, total, lens, 6, piece_one);
	feed_stream(stream, total, lens, 6, piece_all);
	feed_stream(stream, total, lens, 6, piece_seven);
	srand(12345);
	for (int k = 0; k < 200; k++)
		feed_stream(stream, total, lens, 6, piece_random);
	free(stream);
}

static void test_reader_errors(void **state)
{
	struct capf_reader *r;
	struct capf_msg m;
	size_t used;
	static const uint8_t bad_id[] = { 0x54, 1, 0, 0, 0, 1, 0, 0 };
	static const uint8_t too_big[] = { 0x55, 2, 0, 0, 0, 1, 0x40, 0x01, 0, 0 };
	static const uint8_t overrun[] = { 0x55, 2, 0, 0, 0, 1, 0, 4, 13, 0, 5, 'A' };
	static const uint8_t ok[] = { 0x55, 15, 0, 0, 0, 1, 0, 4, 1, 0, 1, 0 };

	/* wrong protocol id: detected on the first byte */
	r = capf_reader_new(0);
	assert_int_equal(capf_reader_feed(r, bad_id, 1, &used, &m, err, sizeof(err)), CAPF_E_PROTO_ID);
	assert_int_equal(capf_reader_feed(r, ok, sizeof(ok), &used, &m, err, sizeof(err)), CAPF_E_PROTO_ID);
	assert_int_equal(used, 0);
	capf_reader_free(r);

	/* body beyond the cap: detected with the header, before the body arrives */
	r = capf_reader_new(16384);
	assert_int_equal(capf_reader_feed(r, too_big, 7, &used, &m, err, sizeof(err)), 0);
	assert_int_equal(capf_reader_want(r), 1);
	assert_int_equal(capf_reader_feed(r, too_big + 7, 3, &used, &m, err, sizeof(err)), CAPF_E_TOO_BIG);
	assert_int_equal(used, 1);
	assert_non_null(strstr(err, "16384"));
	capf_reader_free(r);

	/* element overrunning the body */
	r = capf_reader_new(0);
	assert_int_equal(capf_reader_feed(r, overrun, sizeof(overrun), &used, &m, err, sizeof(err)),
			 CAPF_E_OVERRUN);
	capf_reader_free(r);

	/* truncation: what is pending when the peer closes */
	r = capf_reader_new(0);
	assert_int_equal(capf_reader_feed(r, ok, 5, &used, &m, err, sizeof(err)), 0);
	assert_int_equal(capf_reader_pending(r), 5);
	assert_int_equal(capf_reader_want(r), 3);
	assert_int_equal(capf_reader_feed(r, ok + 5, 4, &used, &m, err, sizeof(err)), 0);
	assert_int_equal(capf_reader_want(r), 3);
	assert_int_equal(capf_reader_feed(r, ok + 9, 3, &used, &m, err, sizeof(err)), 1);
	assert_int_equal(m.command, CAPF_CMD_END_SESSION);
	assert_int_equal(capf_reader_pending(r), 0);
	assert_int_equal(capf_reader_feed(r, ok, 0, &used, &m, err, sizeof(err)), 0);
	capf_reader_free(r);
	capf_reader_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_roundtrip_server_messages),
		cmocka_unit_test(test_wire_bytes),
		cmocka_unit_test(test_auth_response_full),
		cmocka_unit_test(test_auth_response_null_and_jabber),
		cmocka_unit_test(test_auth_response_refused),
		cmocka_unit_test(test_name_length_cap),
		cmocka_unit_test(test_framing_errors),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_unknown_tags),
		cmocka_unit_test(test_typed_getters),
		cmocka_unit_test(test_wrapped_cert),
		cmocka_unit_test(test_sha2),
		cmocka_unit_test(test_sudi),
		cmocka_unit_test(test_reader_splits),
		cmocka_unit_test(test_reader_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
