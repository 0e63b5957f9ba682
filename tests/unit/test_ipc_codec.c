/* tests/unit/test_ipc_codec.c: the signer IPC codec (appliance/ipc). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "appliance/ipc/ipc.h"
#include "appliance/ipc/ipc_int.h" /* the schema tables, to fill every field of every verb */
#include "policy/device.h"

static char err[256];

static const uint16_t all_verbs[] = {
	CAPF_IPC_PING,
	CAPF_IPC_BEGIN,
	CAPF_IPC_ISSUE,
	CAPF_IPC_RESULT,
	CAPF_IPC_ABORT,
	CAPF_IPC_DEVICE_ADD,
	CAPF_IPC_DEVICE_SET,
	CAPF_IPC_DEVICE_SHOW,
	CAPF_IPC_DEVICE_REMOVE,
	CAPF_IPC_DEVICE_LIST,
	CAPF_IPC_DEVICE_RESET_LOCKOUT,
	CAPF_IPC_BULK_BEGIN,
	CAPF_IPC_BULK_ADD,
	CAPF_IPC_BULK_COMMIT,
	CAPF_IPC_BULK_ABORT,
	CAPF_IPC_REPORT,
	CAPF_IPC_CAPF_SHOW,
	CAPF_IPC_CAPF_REGENERATE,
	CAPF_IPC_CAPF_CSR,
	CAPF_IPC_CAPF_IMPORT,
	CAPF_IPC_TLS_ISSUE,
	CAPF_IPC_TRUST_EXPORT,
	CAPF_IPC_AUDIT_VERIFY,
	CAPF_IPC_STATS,
	CAPF_IPC_BACKUP_BEGIN,
	CAPF_IPC_BACKUP_READ,
	CAPF_IPC_BACKUP_END,
	CAPF_IPC_CAPF_ADOPT,
	CAPF_IPC_SESSION_ID,
	CAPF_IPC_DEVICE_CERT,
	CAPF_IPC_DEVICE_HISTORY,
	CAPF_IPC_AUDIT_ROWS,
	CAPF_IPC_AUDIT_CHECKPOINTS,
};

/* A deterministic sample value for a tag, by type. */
static void put_sample(struct capf_ipc_builder *b, uint16_t tag, int response, unsigned k);

static void put_nested(struct capf_ipc_builder *b, uint16_t tag, int response, unsigned k)
{
	const struct ipc_rule *r = ipc_nest_rules(tag);

	assert_int_equal(capf_ipc_nest_begin(b, tag), 0);
	for (; r->tag != 0; r++) {
		const struct ipc_tagdef *t = ipc_tagdef(r->tag);

		if (response && (t->flags & TF_REQUEST_ONLY))
			continue;
		put_sample(b, r->tag, response, k);
	}
	assert_int_equal(capf_ipc_nest_end(b), 0);
}

static uint64_t sample_num(uint16_t tag, unsigned k)
{
	return ((uint64_t)tag << 40) + 0x0102030405ull + k;
}

static void sample_str(char *s, size_t n, uint16_t tag, unsigned k)
{
	snprintf(s, n, "v%u-%u", tag, k);
}

static void put_sample(struct capf_ipc_builder *b, uint16_t tag, int response, unsigned k)
{
	const struct ipc_tagdef *t = ipc_tagdef(tag);
	char s[32];
	uint8_t bytes[40];

	assert_non_null(t);
	switch (t->type) {
	case FT_U8:
		assert_int_equal(capf_ipc_put_u8(b, tag, (uint8_t)((tag + k) % (t->max + 1))), 0);
		break;
	case FT_U32:
		assert_int_equal(capf_ipc_put_u32(b, tag, (uint32_t)sample_num(tag, k)), 0);
		break;
	case FT_U64:
		assert_int_equal(capf_ipc_put_u64(b, tag, sample_num(tag, k)), 0);
		break;
	case FT_I64:
		assert_int_equal(capf_ipc_put_i64(b, tag, -(int64_t)sample_num(tag, k)), 0);
		break;
	case FT_STR:
		sample_str(s, sizeof(s), tag, k);
		assert_int_equal(capf_ipc_put_str(b, tag, s), 0);
		break;
	case FT_BYTES:
		memset(bytes, (int)(tag + k), sizeof(bytes));
		assert_int_equal(capf_ipc_put_bytes(b, tag, bytes, 17 + k), 0);
		break;
	case FT_NEST:
		put_nested(b, tag, response, k);
		break;
	default:
		fail();
	}
}

static void check_sample(const struct capf_ipc_field *f, unsigned k, int response)
{
	const struct ipc_tagdef *t = ipc_tagdef(f->tag);
	char s[64], want[32];

	assert_non_null(t);
	switch (t->type) {
	case FT_U8:
		assert_int_equal(capf_ipc_field_u8(f), (f->tag + k) % (t->max + 1));
		break;
	case FT_U32:
		assert_int_equal(capf_ipc_field_u32(f), (uint32_t)sample_num(f->tag, k));
		break;
	case FT_U64:
		assert_true(capf_ipc_field_u64(f) == sample_num(f->tag, k));
		break;
	case FT_I64:
		assert_true(capf_ipc_field_i64(f) == -(int64_t)sample_num(f->tag, k));
		break;
	case FT_STR:
		assert_int_equal(capf_ipc_field_str(f, s, sizeof(s)), 0);
		sample_str(want, sizeof(want), f->tag, k);
		assert_string_equal(s, want);
		break;
	case FT_BYTES:
		assert_int_equal(f->len, 17 + k);
		for (size_t i = 0; i < f->len; i++)
			assert_int_equal(f->val[i], (uint8_t)(f->tag + k));
		break;
	case FT_NEST: {
		struct capf_ipc_msg sub;
		const struct ipc_rule *r = ipc_nest_rules(f->tag);
		size_t n = 0;

		assert_int_equal(capf_ipc_decode_nested(f, &sub, err, sizeof(err)), 0);
		for (; r->tag != 0; r++)
			if (!(response && (ipc_tagdef(r->tag)->flags & TF_REQUEST_ONLY)))
				n++;
		assert_int_equal(sub.nfields, n);
		for (size_t i = 0; i < sub.nfields; i++)
			check_sample(&sub.fields[i], k, response);
		capf_ipc_msg_free(&sub);
		break;
	}
	default:
		fail();
	}
}

/* Puts every field a rule list allows (repeatable ones twice); returns the count. */
static size_t fill(struct capf_ipc_builder *b, const struct ipc_rule *r, int response)
{
	size_t n = 0;

	for (; r->tag != 0; r++) {
		put_sample(b, r->tag, response, 0);
		n++;
		if (r->flags & RF_REPEAT) {
			put_sample(b, r->tag, response, 1);
			n++;
		}
	}
	return n;
}

static void check_fields(const struct capf_ipc_msg *m, const struct ipc_rule *rules, int response)
{
	for (const struct ipc_rule *r = rules; r->tag != 0; r++) {
		const struct capf_ipc_field *f = capf_ipc_find(m, r->tag, NULL);

		assert_non_null(f);
		check_sample(f, 0, response);
		if (r->flags & RF_REPEAT) {
			f = capf_ipc_find(m, r->tag, f);
			assert_non_null(f);
			check_sample(f, 1, response);
			assert_null(capf_ipc_find(m, r->tag, f));
			assert_int_equal(capf_ipc_count(m, r->tag), 2);
		}
	}
}

static void test_every_verb_roundtrip(void **state)
{
	for (size_t i = 0; i < sizeof(all_verbs) / sizeof(all_verbs[0]); i++) {
		const struct ipc_verbdef *vd = ipc_verbdef(all_verbs[i]);
		struct capf_ipc_builder b, rb;
		struct capf_ipc_msg req, rsp;
		const uint8_t *out;
		uint8_t *copy;
		size_t len, n;
		uint32_t id = 0x10000000u + (uint32_t)i;

		assert_non_null(vd);
		assert_string_not_equal(capf_ipc_verb_name(vd->verb), "UNKNOWN");
		/* request, every allowed field */
		assert_int_equal(capf_ipc_build_request(&b, vd->verb, id), 0);
		n = fill(&b, vd->req, 0);
		if (capf_ipc_build_finish(&b, &out, &len, err, sizeof(err)) != 0)
			fail_msg("%s request: %s", vd->name, err);
		copy = malloc(len);
		memcpy(copy, out, len);
		capf_ipc_builder_free(&b);
		if (capf_ipc_decode_request(&req, copy, len, vd->roles, err, sizeof(err)) != 0)
			fail_msg("%s request decode: %s", vd->name, err);
		assert_int_equal(req.verb, vd->verb);
		assert_int_equal(req.id, id);
		assert_int_equal(req.flags, 0);
		assert_int_equal(req.nfields, n);
		check_fields(&req, vd->req, 0);

		/* OK response with every allowed field */
		assert_int_equal(capf_ipc_build_response(&rb, &req, CAPF_IPC_OK), 0);
		n = 1 + fill(&rb, vd->rsp, 1);
		if (capf_ipc_build_finish(&rb, &out, &len, err, sizeof(err)) != 0)
			fail_msg("%s response: %s", vd->name, err);
		if (capf_ipc_decode_response(&rsp, out, len, vd->verb, id, err, sizeof(err)) != 0)
			fail_msg("%s response decode: %s", vd->name, err);
		assert_int_equal(rsp.flags, CAPF_IPC_FLAG_RESPONSE);
		assert_int_equal(rsp.status, CAPF_IPC_OK);
		assert_int_equal(rsp.nfields, n);
		check_fields(&rsp, vd->rsp, 1);
		capf_ipc_msg_free(&rsp);
		/* echo checks */
		assert_int_equal(capf_ipc_decode_response(&rsp, out, len, vd->verb, id + 1, err, sizeof(err)),
				 CAPF_IPC_E_MISMATCH);
		assert_int_equal(capf_ipc_decode_response(&rsp, out, len, vd->verb ^ 0x8000, id, err,
							  sizeof(err)),
				 CAPF_IPC_E_MISMATCH);
		/* a response is not a request */
		assert_int_equal(capf_ipc_decode_request(&rsp, out, len, vd->roles, err, sizeof(err)),
				 CAPF_IPC_E_VERSION);
		capf_ipc_builder_free(&rb);

		/* REFUSED, RETRY_LATER, ERROR: the verb's required fields are not needed */
		assert_int_equal(capf_ipc_build_response(&rb, &req, CAPF_IPC_REFUSED), 0);
		capf_ipc_put_u8(&rb, CAPF_IPC_T_CAUSE, CAPF_FAIL_INVALID_MIC);
		capf_ipc_put_str(&rb, CAPF_IPC_T_TEXT, "the MIC does not chain to a manufacturing CA");
		assert_int_equal(capf_ipc_build_finish(&rb, &out, &len, err, sizeof(err)), 0);
		assert_int_equal(capf_ipc_decode_response(&rsp, out, len, vd->verb, id, err, sizeof(err)), 0);
		assert_int_equal(rsp.status, CAPF_IPC_REFUSED);
		uint8_t cause;
		assert_int_equal(capf_ipc_get_u8(&rsp, CAPF_IPC_T_CAUSE, &cause), 0);
		assert_int_equal(cause, CAPF_FAIL_INVALID_MIC);
		capf_ipc_msg_free(&rsp);
		capf_ipc_builder_free(&rb);
		assert_int_equal(capf_ipc_build_response(&rb, &req, CAPF_IPC_RETRY_LATER), 0);
		capf_ipc_put_u32(&rb, CAPF_IPC_T_RETRY_DELAY, 30);
		assert_int_equal(capf_ipc_build_finish(&rb, &out, &len, err, sizeof(err)), 0);
		assert_int_equal(capf_ipc_decode_response(&rsp, out, len, vd->verb, id, err, sizeof(err)), 0);
		capf_ipc_msg_free(&rsp);
		capf_ipc_builder_free(&rb);
		assert_int_equal(capf_ipc_build_response(&rb, &req, CAPF_IPC_ERROR), 0);
		capf_ipc_put_str(&rb, CAPF_IPC_T_TEXT, "store: disk full");
		assert_int_equal(capf_ipc_build_finish(&rb, &out, &len, err, sizeof(err)), 0);
		assert_int_equal(capf_ipc_decode_response(&rsp, out, len, vd->verb, id, err, sizeof(err)), 0);
		capf_ipc_msg_free(&rsp);
		capf_ipc_builder_free(&rb);

		capf_ipc_msg_free(&req);
		free(copy);
	}
}

/* The enrollment session the way capf-frontd and capf-signerd use it. */
static void test_enrollment_session(void **state)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg m, alt;
	const struct capf_ipc_field *f;
	const uint8_t *out, *p;
	size_t len, plen;
	char name[65], pw[65];
	uint8_t v8, cert[300];
	uint32_t v32;
	uint64_t token;

	memset(cert, 0x30, sizeof(cert));
	/* BEGIN: a Jabber client (no PASSWORD) and a phone with an empty one */
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_BEGIN, 7), 0);
	capf_ipc_put_str(&b, CAPF_IPC_T_DEVICE_NAME, "SEP58971ECC97C1");
	capf_ipc_put_u32(&b, CAPF_IPC_T_CAPF_SESSION, 0xDEADBEEF);
	capf_ipc_put_str(&b, CAPF_IPC_T_PEER, "192.0.2.10:51234");
	capf_ipc_put_u8(&b, CAPF_IPC_T_CLIENT_VERSION, 3);
	capf_ipc_put_str(&b, CAPF_IPC_T_PASSWORD, "");
	capf_ipc_put_bytes(&b, CAPF_IPC_T_CERT, cert, sizeof(cert));
	capf_ipc_put_u8(&b, CAPF_IPC_T_CERT_TYPE, 2);
	assert_int_equal(capf_ipc_build_finish(&b, &out, &len, err, sizeof(err)), 0);
	assert_int_equal(capf_ipc_decode_request(&m, out, len, CAPF_IPC_ROLE_FRONT, err, sizeof(err)), 0);
	assert_int_equal(capf_ipc_get_str(&m, CAPF_IPC_T_DEVICE_NAME, name, sizeof(name)), 0);
	assert_string_equal(name, "SEP58971ECC97C1");
	assert_int_equal(capf_ipc_get_str(&m, CAPF_IPC_T_PASSWORD, pw, sizeof(pw)), 0);
	assert_string_equal(pw, "");
	assert_int_equal(capf_ipc_get_str(&m, CAPF_IPC_T_DEVICE_NAME, name, 15), -2);
	assert_int_equal(capf_ipc_get_str(&m, CAPF_IPC_T_TEXT, name, sizeof(name)), -1);
	assert_int_equal(capf_ipc_get_u32(&m, CAPF_IPC_T_CAPF_SESSION, &v32), 0);
	assert_int_equal(v32, 0xDEADBEEF);
	assert_int_equal(capf_ipc_get_bytes(&m, CAPF_IPC_T_CERT, &p, &plen), 0);
	assert_int_equal(plen, sizeof(cert));
	assert_int_equal(capf_ipc_get_bytes(&m, CAPF_IPC_T_SUDI_DATA, &p, &plen), -1);
	assert_int_equal(capf_ipc_get_u64(&m, CAPF_IPC_T_TOKEN, &token), -1);

	/* the signer's answer: install, EC P-256 preferred, RSA 2048 backup */
	struct capf_ipc_builder rb;
	struct capf_ipc_msg r;
	assert_int_equal(capf_ipc_build_response(&rb, &m, CAPF_IPC_OK), 0);
	capf_ipc_put_u8(&rb, CAPF_IPC_T_DECISION, CAPF_IPC_DO_INSTALL);
	capf_ipc_put_u64(&rb, CAPF_IPC_T_TOKEN, 0x8877665544332211ull);
	capf_ipc_nest_begin(&rb, CAPF_IPC_T_KEY_ALT);
	capf_ipc_put_u8(&rb, CAPF_IPC_T_KEY_TYPE, CAPF_KEY_EC);
	capf_ipc_put_u8(&rb, CAPF_IPC_T_CURVE, CAPF_CURVE_P256);
	capf_ipc_nest_end(&rb);
	capf_ipc_nest_begin(&rb, CAPF_IPC_T_KEY_ALT);
	capf_ipc_put_u8(&rb, CAPF_IPC_T_KEY_TYPE, CAPF_KEY_RSA);
	capf_ipc_put_u32(&rb, CAPF_IPC_T_RSA_BITS, 2048);
	capf_ipc_nest_end(&rb);
	assert_int_equal(capf_ipc_build_finish(&rb, &out, &len, err, sizeof(err)), 0);
	assert_int_equal(capf_ipc_decode_response(&r, out, len, CAPF_IPC_BEGIN, 7, err, sizeof(err)), 0);
	assert_int_equal(capf_ipc_get_u8(&r, CAPF_IPC_T_DECISION, &v8), 0);
	assert_int_equal(v8, CAPF_IPC_DO_INSTALL);
	assert_int_equal(capf_ipc_get_u64(&r, CAPF_IPC_T_TOKEN, &token), 0);
	assert_true(token == 0x8877665544332211ull);
	assert_int_equal(capf_ipc_count(&r, CAPF_IPC_T_KEY_ALT), 2);
	f = capf_ipc_find(&r, CAPF_IPC_T_KEY_ALT, NULL);
	assert_int_equal(capf_ipc_decode_nested(f, &alt, err, sizeof(err)), 0);
	assert_int_equal(capf_ipc_get_u8(&alt, CAPF_IPC_T_KEY_TYPE, &v8), 0);
	assert_int_equal(v8, CAPF_KEY_EC);
	assert_int_equal(capf_ipc_get_u8(&alt, CAPF_IPC_T_CURVE, &v8), 0);
	assert_int_equal(v8, CAPF_CURVE_P256);
	capf_ipc_msg_free(&alt);
	f = capf_ipc_find(&r, CAPF_IPC_T_KEY_ALT, f);
	assert_int_equal(capf_ipc_decode_nested(f, &alt, err, sizeof(err)), 0);
	assert_int_equal(capf_ipc_get_u32(&alt, CAPF_IPC_T_RSA_BITS, &v32), 0);
	assert_int_equal(v32, 2048);
	struct capf_ipc_msg notnested;
	assert_int_equal(capf_ipc_decode_nested(&alt.fields[0], &notnested, err, sizeof(err)), CAPF_IPC_E_ARG);
	capf_ipc_msg_free(&alt);
	capf_ipc_msg_free(&r);
	capf_ipc_builder_free(&rb);
	capf_ipc_msg_free(&m);
	capf_ipc_builder_free(&b);
}

static void test_roles_and_verbs(void **state)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg m;
	const uint8_t *out;
	size_t len;
	static const uint8_t unknown_verb[] = { 1, 0, 0x09, 0x99, 0, 0, 0, 1 };
	static const uint8_t verb_zero[] = { 1, 0, 0, 0, 0, 0, 0, 1 };

	/* an admin verb on the front socket, a front verb on the admin socket */
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_DEVICE_REMOVE, 1), 0);
	capf_ipc_put_str(&b, CAPF_IPC_T_DEVICE_NAME, "SEP001122334455");
	assert_int_equal(capf_ipc_build_finish(&b, &out, &len, err, sizeof(err)), 0);
	assert_int_equal(capf_ipc_decode_request(&m, out, len, CAPF_IPC_ROLE_FRONT, err, sizeof(err)),
			 CAPF_IPC_E_VERB);
	assert_non_null(strstr(err, "DEVICE_REMOVE"));
	assert_int_equal(capf_ipc_decode_request(&m, out, len, CAPF_IPC_ROLE_ADMIN, err, sizeof(err)), 0);
	capf_ipc_msg_free(&m);
	capf_ipc_builder_free(&b);
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_ABORT, 1), 0);
	capf_ipc_put_u64(&b, CAPF_IPC_T_TOKEN, 5);
	capf_ipc_put_u8(&b, CAPF_IPC_T_CAUSE, CAPF_FAIL_PHONE_COMMUNICATION);
	assert_int_equal(capf_ipc_build_finish(&b, &out, &len, err, sizeof(err)), 0);
	assert_int_equal(capf_ipc_decode_request(&m, out, len, CAPF_IPC_ROLE_ADMIN, err, sizeof(err)),
			 CAPF_IPC_E_VERB);
	assert_int_equal(capf_ipc_decode_request(&m, out, len, CAPF_IPC_ROLE_FRONT, err, sizeof(err)), 0);
	capf_ipc_msg_free(&m);
	capf_ipc_builder_free(&b);
	/* the key process's verbs: never on the front or admin socket */
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_KEY_PROBE, 1), 0);
	capf_ipc_put_u32(&b, CAPF_IPC_T_KEY_SLOT, 1);
	assert_int_equal(capf_ipc_build_finish(&b, &out, &len, err, sizeof(err)), 0);
	assert_int_equal(capf_ipc_decode_request(&m, out, len, CAPF_IPC_ROLE_FRONT | CAPF_IPC_ROLE_ADMIN, err,
						 sizeof(err)),
			 CAPF_IPC_E_VERB);
	assert_int_equal(capf_ipc_decode_request(&m, out, len, CAPF_IPC_ROLE_KEY, err, sizeof(err)), 0);
	capf_ipc_msg_free(&m);
	capf_ipc_builder_free(&b);
	/* PING: every role */
	assert_int_equal(capf_ipc_verb_roles(CAPF_IPC_PING),
			 CAPF_IPC_ROLE_FRONT | CAPF_IPC_ROLE_ADMIN | CAPF_IPC_ROLE_KEY);
	assert_int_equal(capf_ipc_verb_roles(CAPF_IPC_KEY_SIGN), CAPF_IPC_ROLE_KEY);
	assert_int_equal(capf_ipc_verb_roles(CAPF_IPC_BEGIN), CAPF_IPC_ROLE_FRONT);
	assert_int_equal(capf_ipc_verb_roles(CAPF_IPC_STATS), CAPF_IPC_ROLE_ADMIN);
	assert_int_equal(capf_ipc_verb_roles(CAPF_IPC_BACKUP_BEGIN), CAPF_IPC_ROLE_ADMIN);
	assert_int_equal(capf_ipc_verb_roles(CAPF_IPC_BACKUP_READ), CAPF_IPC_ROLE_ADMIN);
	assert_int_equal(capf_ipc_verb_roles(CAPF_IPC_BACKUP_END), CAPF_IPC_ROLE_ADMIN);
	assert_int_equal(capf_ipc_verb_roles(CAPF_IPC_SESSION_ID), CAPF_IPC_ROLE_FRONT);
	assert_string_equal(capf_ipc_verb_name(CAPF_IPC_SESSION_ID), "SESSION_ID");
	assert_int_equal(capf_ipc_verb_roles(0x999), 0);
	/* unknown verbs */
	assert_int_equal(capf_ipc_decode_request(&m, unknown_verb, sizeof(unknown_verb), 3, err, sizeof(err)),
			 CAPF_IPC_E_VERB);
	assert_int_equal(capf_ipc_decode_request(&m, verb_zero, sizeof(verb_zero), 3, err, sizeof(err)),
			 CAPF_IPC_E_VERB);
	assert_int_equal(capf_ipc_build_request(&b, 0x999, 1), CAPF_IPC_E_VERB);
	assert_int_equal(capf_ipc_build_finish(&b, &out, &len, err, sizeof(err)), CAPF_IPC_E_VERB);
	capf_ipc_builder_free(&b);
}

struct raw_case {
	const char *what;
	uint8_t bytes[64];
	size_t len;
	int response;
	int rc;
};

#define HDR(verb, flags) 1, flags, (uint8_t)((verb) >> 8), (uint8_t)(verb), 0, 0, 0, 9

static void test_malformed(void **state)
{
	static const struct raw_case cases[] = {
		{ "empty", { 0 }, 0, 0, CAPF_IPC_E_MALFORMED },
		{ "short header", { 1, 0, 0, 1, 0, 0, 0 }, 7, 0, CAPF_IPC_E_MALFORMED },
		{ "version 2", { 2, 0, 0, 1, 0, 0, 0, 9 }, 8, 0, CAPF_IPC_E_VERSION },
		{ "unknown flag bit", { HDR(CAPF_IPC_PING, 0x02) }, 8, 0, CAPF_IPC_E_VERSION },
		{ "request with the response bit", { HDR(CAPF_IPC_PING, 1) }, 8, 0, CAPF_IPC_E_VERSION },
		{ "stray bytes", { HDR(CAPF_IPC_PING, 0), 0, 3, 0 }, 11, 0, CAPF_IPC_E_MALFORMED },
		{ "field overruns",
		  { HDR(CAPF_IPC_DEVICE_SHOW, 0), 0, 16, 0, 9, 'S', 'E', 'P' },
		  15,
		  0,
		  CAPF_IPC_E_MALFORMED },
		{ "unknown tag", { HDR(CAPF_IPC_PING, 0), 0x12, 0x34, 0, 0 }, 12, 0, CAPF_IPC_E_TAG },
		{ "u8 of 2 bytes", { HDR(CAPF_IPC_ABORT, 0), 0, 2, 0, 2, 0, 1 }, 14, 0, CAPF_IPC_E_FIELD },
		{ "u64 of 4 bytes",
		  { HDR(CAPF_IPC_BULK_ABORT, 0), 0, 71, 0, 4, 0, 0, 0, 1 },
		  16,
		  0,
		  CAPF_IPC_E_FIELD },
		{ "u8 out of range",
		  { HDR(CAPF_IPC_TRUST_EXPORT, 0), 0, 90, 0, 1, 6 },
		  13,
		  0,
		  CAPF_IPC_E_FIELD },
		{ "NUL in a string",
		  { HDR(CAPF_IPC_DEVICE_SHOW, 0), 0, 16, 0, 3, 'A', 0, 'B' },
		  15,
		  0,
		  CAPF_IPC_E_FIELD },
		{ "duplicate field",
		  { HDR(CAPF_IPC_DEVICE_SHOW, 0), 0, 16, 0, 1, 'A', 0, 16, 0, 1, 'B' },
		  18,
		  0,
		  CAPF_IPC_E_DUPLICATE },
		{ "field not allowed for the verb",
		  { HDR(CAPF_IPC_DEVICE_SHOW, 0), 0, 16, 0, 1, 'A', 0, 20, 0, 1, '1' },
		  18,
		  0,
		  CAPF_IPC_E_NOT_ALLOWED },
		{ "required field missing", { HDR(CAPF_IPC_DEVICE_SHOW, 0) }, 8, 0, CAPF_IPC_E_MISSING },
		{ "nested in nested",
		  { HDR(CAPF_IPC_DEVICE_ADD, 0), 0, 48, 0, 4, 0, 48, 0, 0 },
		  16,
		  0,
		  CAPF_IPC_E_NOT_ALLOWED },
		{ "unknown tag in a nest",
		  { HDR(CAPF_IPC_DEVICE_ADD, 0), 0, 48, 0, 4, 0x77, 0, 0, 0 },
		  16,
		  0,
		  CAPF_IPC_E_TAG },
		{ "nest missing its required field",
		  { HDR(CAPF_IPC_DEVICE_ADD, 0), 0, 48, 0, 5, 0, 49, 0, 1, 1 },
		  17,
		  0,
		  CAPF_IPC_E_MISSING },
		{ "nest overruns",
		  { HDR(CAPF_IPC_DEVICE_ADD, 0), 0, 48, 0, 5, 0, 16, 0, 9, 'A' },
		  17,
		  0,
		  CAPF_IPC_E_MALFORMED },
		{ "field of another nest",
		  { HDR(CAPF_IPC_DEVICE_ADD, 0), 0, 48, 0, 10, 0, 16, 0, 1, 'A', 0, 94, 0, 1, 'x' },
		  22,
		  0,
		  CAPF_IPC_E_NOT_ALLOWED },
		{ "response without STATUS", { HDR(CAPF_IPC_PING, 1) }, 8, 1, CAPF_IPC_E_MISSING },
		{ "REFUSED without CAUSE",
		  { HDR(CAPF_IPC_PING, 1), 0, 1, 0, 1, 1 },
		  13,
		  1,
		  CAPF_IPC_E_MISSING },
		{ "RETRY_LATER without delay",
		  { HDR(CAPF_IPC_PING, 1), 0, 1, 0, 1, 2 },
		  13,
		  1,
		  CAPF_IPC_E_MISSING },
		{ "ERROR without TEXT", { HDR(CAPF_IPC_PING, 1), 0, 1, 0, 1, 3 }, 13, 1, CAPF_IPC_E_MISSING },
		{ "status 4", { HDR(CAPF_IPC_PING, 1), 0, 1, 0, 1, 4 }, 13, 1, CAPF_IPC_E_FIELD },
		{ "OK without the verb's required",
		  { HDR(CAPF_IPC_DEVICE_SHOW, 1), 0, 1, 0, 1, 0 },
		  13,
		  1,
		  CAPF_IPC_E_MISSING },
		{ "AUTH_STRING in a response",
		  { HDR(CAPF_IPC_DEVICE_SHOW, 1),
		    0,
		    1,
		    0,
		    1,
		    0,
		    0,
		    48,
		    0,
		    10,
		    0,
		    16,
		    0,
		    1,
		    'A',
		    0,
		    51,
		    0,
		    1,
		    '1' },
		  27,
		  1,
		  CAPF_IPC_E_NOT_ALLOWED },
		{ "two STATUS",
		  { HDR(CAPF_IPC_PING, 1), 0, 1, 0, 1, 0, 0, 1, 0, 1, 0 },
		  18,
		  1,
		  CAPF_IPC_E_DUPLICATE },
		{ "request field in a response",
		  { HDR(CAPF_IPC_DEVICE_SHOW, 1), 0, 1, 0, 1, 1, 0, 2, 0, 1, 1, 0, 16, 0, 1, 'A' },
		  23,
		  1,
		  CAPF_IPC_E_NOT_ALLOWED },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct capf_ipc_msg m;
		int rc;

		err[0] = 0;
		if (cases[i].response) {
			uint16_t verb = (uint16_t)(cases[i].bytes[2] << 8 | cases[i].bytes[3]);
			rc = capf_ipc_decode_response(&m, cases[i].bytes, cases[i].len, verb, 9, err,
						      sizeof(err));
		} else {
			rc = capf_ipc_decode_request(&m, cases[i].bytes, cases[i].len,
						     CAPF_IPC_ROLE_FRONT | CAPF_IPC_ROLE_ADMIN, err,
						     sizeof(err));
		}
		if (rc != cases[i].rc)
			fail_msg("%s: rc %d (%s: %s), expected %d (%s)", cases[i].what, rc,
				 capf_ipc_err_name(rc), err, cases[i].rc, capf_ipc_err_name(cases[i].rc));
		assert_true(err[0] != 0);
		assert_null(m.fields);
		assert_int_equal(m.nfields, 0);
	}
}

static void test_caps(void **state)
{
	static uint8_t buf[CAPF_IPC_MSG_MAX + 16];
	struct capf_ipc_msg m;
	struct capf_ipc_builder b;
	const uint8_t *out;
	size_t len;
	static char big[20000];

	/* larger than 64 KiB: refused before the fields are looked at */
	memset(buf, 0, sizeof(buf));
	buf[0] = 1;
	buf[3] = 1;
	assert_int_equal(capf_ipc_decode_request(&m, buf, CAPF_IPC_MSG_MAX + 1, 3, err, sizeof(err)),
			 CAPF_IPC_E_TOO_BIG);
	/* a length field claiming 65535 bytes with 4 present: refused, nothing allocated */
	static const uint8_t claim[] = { HDR(CAPF_IPC_CAPF_IMPORT, 0), 0, 21, 0xff, 0xff, 1, 2, 3, 4 };
	assert_int_equal(capf_ipc_decode_request(&m, claim, sizeof(claim), 3, err, sizeof(err)),
			 CAPF_IPC_E_MALFORMED);
	assert_null(m.fields);
	/* string caps: DEVICE_NAME 64 ok, 65 refused by the builder and the decoder */
	memset(big, 'N', 65);
	big[65] = 0;
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_DEVICE_SHOW, 1), 0);
	capf_ipc_put_str(&b, CAPF_IPC_T_DEVICE_NAME, big);
	assert_int_equal(capf_ipc_build_finish(&b, &out, &len, err, sizeof(err)), CAPF_IPC_E_FIELD);
	assert_non_null(strstr(err, "at most 64"));
	capf_ipc_builder_free(&b);
	big[64] = 0;
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_DEVICE_SHOW, 1), 0);
	capf_ipc_put_str(&b, CAPF_IPC_T_DEVICE_NAME, big);
	assert_int_equal(capf_ipc_build_finish(&b, &out, &len, err, sizeof(err)), 0);
	capf_ipc_builder_free(&b);
	/* bytes cap: CERT 16384 ok, 16385 refused */
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_CAPF_IMPORT, 1), 0);
	capf_ipc_put_u8(&b, CAPF_IPC_T_CONFIRM, 1);
	capf_ipc_put_bytes(&b, CAPF_IPC_T_CERT, big, 16385);
	assert_int_equal(capf_ipc_build_finish(&b, &out, &len, err, sizeof(err)), CAPF_IPC_E_FIELD);
	capf_ipc_builder_free(&b);
	/* the message cap: chain certificates until it is full */
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_CAPF_IMPORT, 1), 0);
	capf_ipc_put_u8(&b, CAPF_IPC_T_CONFIRM, 1);
	capf_ipc_put_bytes(&b, CAPF_IPC_T_CERT, big, 16384);
	capf_ipc_put_bytes(&b, CAPF_IPC_T_CHAIN_CERT, big, 16384);
	capf_ipc_put_bytes(&b, CAPF_IPC_T_CHAIN_CERT, big, 16384);
	assert_int_equal(capf_ipc_put_bytes(&b, CAPF_IPC_T_CHAIN_CERT, big, 16384), CAPF_IPC_E_TOO_BIG);
	assert_int_equal(capf_ipc_put_u8(&b, CAPF_IPC_T_CONFIRM, 1), CAPF_IPC_E_TOO_BIG); /* sticky */
	assert_int_equal(capf_ipc_build_finish(&b, &out, &len, err, sizeof(err)), CAPF_IPC_E_TOO_BIG);
	capf_ipc_builder_free(&b);
	/* exactly 65536 bytes decodes */
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_CAPF_IMPORT, 1), 0);
	capf_ipc_put_u8(&b, CAPF_IPC_T_CONFIRM, 1);          /* 5 */
	capf_ipc_put_bytes(&b, CAPF_IPC_T_CERT, big, 16384); /* 16388 */
	capf_ipc_put_bytes(&b, CAPF_IPC_T_CHAIN_CERT, big, 16384);
	capf_ipc_put_bytes(&b, CAPF_IPC_T_CHAIN_CERT, big, 16384);
	capf_ipc_put_bytes(&b, CAPF_IPC_T_CHAIN_CERT, big, 65536 - 8 - 5 - 3 * 16388 - 4);
	assert_int_equal(capf_ipc_build_finish(&b, &out, &len, err, sizeof(err)), 0);
	assert_int_equal(len, CAPF_IPC_MSG_MAX);
	assert_int_equal(capf_ipc_decode_request(&m, out, len, CAPF_IPC_ROLE_ADMIN, err, sizeof(err)), 0);
	assert_int_equal(capf_ipc_count(&m, CAPF_IPC_T_CHAIN_CERT), 3);
	capf_ipc_msg_free(&m);
	capf_ipc_builder_free(&b);
}

static void test_builder_misuse(void **state)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg req = { .verb = CAPF_IPC_DEVICE_SHOW, .id = 3 };
	const uint8_t *out;
	size_t len;

	/* wrong type for the tag */
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_DEVICE_SHOW, 1), 0);
	assert_int_equal(capf_ipc_put_u32(&b, CAPF_IPC_T_DEVICE_NAME, 1), CAPF_IPC_E_ARG);
	capf_ipc_builder_free(&b);
	/* unknown tag */
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_DEVICE_SHOW, 1), 0);
	assert_int_equal(capf_ipc_put_u8(&b, 0x7777, 1), CAPF_IPC_E_TAG);
	capf_ipc_builder_free(&b);
	/* nest inside nest, nest left open, end without begin */
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_BULK_ADD, 1), 0);
	capf_ipc_put_u64(&b, CAPF_IPC_T_BULK, 1);
	assert_int_equal(capf_ipc_nest_begin(&b, CAPF_IPC_T_DEVICE), 0);
	assert_int_equal(capf_ipc_nest_begin(&b, CAPF_IPC_T_DEVICE), CAPF_IPC_E_ARG);
	capf_ipc_builder_free(&b);
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_BULK_ADD, 1), 0);
	capf_ipc_put_u64(&b, CAPF_IPC_T_BULK, 1);
	capf_ipc_nest_begin(&b, CAPF_IPC_T_DEVICE);
	capf_ipc_put_str(&b, CAPF_IPC_T_DEVICE_NAME, "SEP001122334455");
	assert_int_equal(capf_ipc_build_finish(&b, &out, &len, err, sizeof(err)), CAPF_IPC_E_ARG);
	assert_non_null(strstr(err, "not ended"));
	capf_ipc_builder_free(&b);
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_BULK_ADD, 1), 0);
	assert_int_equal(capf_ipc_nest_end(&b), CAPF_IPC_E_ARG);
	capf_ipc_builder_free(&b);
	/* the builder refuses what the receiver would: missing field, secret in a response */
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_ISSUE, 1), 0);
	capf_ipc_put_u64(&b, CAPF_IPC_T_TOKEN, 1);
	assert_int_equal(capf_ipc_build_finish(&b, &out, &len, err, sizeof(err)), CAPF_IPC_E_MISSING);
	assert_non_null(strstr(err, "PUBLIC_KEY"));
	capf_ipc_builder_free(&b);
	assert_int_equal(capf_ipc_build_response(&b, &req, CAPF_IPC_OK), 0);
	capf_ipc_nest_begin(&b, CAPF_IPC_T_DEVICE);
	capf_ipc_put_str(&b, CAPF_IPC_T_DEVICE_NAME, "SEP001122334455");
	capf_ipc_put_str(&b, CAPF_IPC_T_AUTH_STRING, "123456");
	capf_ipc_nest_end(&b);
	assert_int_equal(capf_ipc_build_finish(&b, &out, &len, err, sizeof(err)), CAPF_IPC_E_NOT_ALLOWED);
	assert_non_null(strstr(err, "AUTH_STRING"));
	capf_ipc_builder_free(&b);
	/* a field the verb does not allow */
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_PING, 1), 0);
	capf_ipc_put_str(&b, CAPF_IPC_T_PASSWORD, "1234");
	assert_int_equal(capf_ipc_build_finish(&b, &out, &len, err, sizeof(err)), CAPF_IPC_E_NOT_ALLOWED);
	capf_ipc_builder_free(&b);
	/* strings with no value */
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_DEVICE_SHOW, 1), 0);
	assert_int_equal(capf_ipc_put_str(&b, CAPF_IPC_T_DEVICE_NAME, NULL), CAPF_IPC_E_ARG);
	capf_ipc_builder_free(&b);
	capf_ipc_builder_free(&b); /* twice is fine */
}

/* BULK_ADD chunks: as many device records as fit in one message. */
/* A builder's buffer is wiped as far as it was written when it is freed, and the
 * next builder of the thread reuses it: nothing of an authentication string is
 * left in memory, and the second message carries nothing of the first. */
static void test_builder_wipe(void **state)
{
	static const char secret[] = "314159265358979323846264338327950288";
	struct capf_ipc_builder b;
	const uint8_t *buf;
	size_t first;

	(void)state;
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_BEGIN, 1), 0);
	assert_int_equal(capf_ipc_put_str(&b, CAPF_IPC_T_AUTH_STRING, secret), 0);
	assert_non_null(memmem(b.buf, b.len, secret, sizeof(secret) - 1));
	buf = b.buf;
	first = b.len;
	capf_ipc_builder_free(&b);
	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_PING, 2), 0);
	assert_ptr_equal(b.buf, buf); /* the thread's spare */
	assert_true(b.len < first);
	for (size_t i = b.len; i < first; i++)
		assert_int_equal(b.buf[i], 0);
	capf_ipc_builder_free(&b);
}

static void test_bulk_chunk(void **state)
{
	struct capf_ipc_builder b;
	struct capf_ipc_msg m, dev;
	const uint8_t *out;
	size_t len;
	unsigned n = 0;
	char name[32], as[16];

	assert_int_equal(capf_ipc_build_request(&b, CAPF_IPC_BULK_ADD, 42), 0);
	capf_ipc_put_u64(&b, CAPF_IPC_T_BULK, 77);
	for (;;) {
		size_t before = b.len;

		snprintf(name, sizeof(name), "SEP%012X", n);
		snprintf(as, sizeof(as), "%08u", n * 7919u % 100000000u);
		if (CAPF_IPC_MSG_MAX - before < 120)
			break;
		capf_ipc_nest_begin(&b, CAPF_IPC_T_DEVICE);
		capf_ipc_put_str(&b, CAPF_IPC_T_DEVICE_NAME, name);
		capf_ipc_put_u8(&b, CAPF_IPC_T_OPERATION, CAPF_OP_INSTALL);
		capf_ipc_put_u8(&b, CAPF_IPC_T_AUTH_MODE, CAPF_AUTH_STRING);
		capf_ipc_put_str(&b, CAPF_IPC_T_AUTH_STRING, as);
		capf_ipc_put_u8(&b, CAPF_IPC_T_KEY_ORDER, CAPF_KEYORDER_EC_PREFERRED);
		capf_ipc_put_u8(&b, CAPF_IPC_T_CURVE, CAPF_CURVE_P384);
		capf_ipc_put_u32(&b, CAPF_IPC_T_RSA_BITS, 2048);
		capf_ipc_put_i64(&b, CAPF_IPC_T_DEADLINE, 1795000000);
		assert_int_equal(capf_ipc_nest_end(&b), 0);
		n++;
	}
	assert_true(n > 500);
	assert_int_equal(capf_ipc_build_finish(&b, &out, &len, err, sizeof(err)), 0);
	assert_int_equal(capf_ipc_decode_request(&m, out, len, CAPF_IPC_ROLE_ADMIN, err, sizeof(err)), 0);
	assert_int_equal(capf_ipc_count(&m, CAPF_IPC_T_DEVICE), n);
	unsigned k = 0;
	for (const struct capf_ipc_field *f = capf_ipc_find(&m, CAPF_IPC_T_DEVICE, NULL); f;
	     f = capf_ipc_find(&m, CAPF_IPC_T_DEVICE, f), k++) {
		int64_t dl;
		assert_int_equal(capf_ipc_decode_nested(f, &dev, err, sizeof(err)), 0);
		assert_int_equal(capf_ipc_get_str(&dev, CAPF_IPC_T_DEVICE_NAME, name, sizeof(name)), 0);
		snprintf(as, sizeof(as), "SEP%012X", k);
		assert_string_equal(name, as);
		assert_int_equal(capf_ipc_get_i64(&dev, CAPF_IPC_T_DEADLINE, &dl), 0);
		assert_true(dl == 1795000000);
		capf_ipc_msg_free(&dev);
	}
	assert_int_equal(k, n);
	capf_ipc_msg_free(&m);
	capf_ipc_builder_free(&b);
}

static void test_names(void **state)
{
	assert_string_equal(capf_ipc_verb_name(CAPF_IPC_BEGIN), "BEGIN");
	assert_string_equal(capf_ipc_verb_name(CAPF_IPC_DEVICE_RESET_LOCKOUT), "DEVICE_RESET_LOCKOUT");
	assert_string_equal(capf_ipc_verb_name(0x4242), "UNKNOWN");
	assert_string_equal(capf_ipc_tag_name(CAPF_IPC_T_SUDI_DATA), "SUDI_DATA");
	assert_string_equal(capf_ipc_tag_name(9999), "UNKNOWN");
	assert_string_equal(capf_ipc_status_name(CAPF_IPC_RETRY_LATER), "RETRY_LATER");
	assert_string_equal(capf_ipc_decision_name(CAPF_IPC_DO_UNKNOWN_DEVICE), "unknown-device");
	assert_string_equal(capf_ipc_outcome_name(CAPF_IPC_KEYGEN_FAILED), "keygen-failed");
	assert_string_equal(capf_ipc_outcome_name(0), "unknown");
	assert_string_equal(capf_ipc_cert_role_name(CAPF_IPC_CERT_PREVIOUS), "previous");
	assert_string_equal(capf_ipc_trust_target_name(CAPF_IPC_TRUST_8021X), "8021x");
	assert_string_equal(capf_ipc_err_name(CAPF_IPC_E_NOT_ALLOWED), "field not allowed");
	assert_string_equal(capf_ipc_err_name(-100), "unknown error");
	/* every rule list fits the codec's counters (RULES_MAX 32) */
	for (size_t i = 0; i < sizeof(all_verbs) / sizeof(all_verbs[0]); i++) {
		const struct ipc_verbdef *vd = ipc_verbdef(all_verbs[i]);
		size_t n = 0, m = 0;
		while (vd->req[n].tag)
			n++;
		while (vd->rsp[m].tag)
			m++;
		assert_true(n < 32 && m < 32);
	}
	/* every tag of the enum is in the table, once */
	for (unsigned t = 1; t < 200; t++) {
		const struct ipc_tagdef *d = ipc_tagdef((uint16_t)t);
		if (d != NULL) {
			assert_int_equal(d->tag, t);
			if (d->type == FT_NEST)
				assert_non_null(ipc_nest_rules((uint16_t)t));
		}
	}
}

/* The schema tables agree with each other and fit the codec's per-rule counters. */
static void test_schema_check(void **state)
{
	char why[256] = "";

	if (ipc_schema_check(why, sizeof(why)) != 0)
		fail_msg("schema: %s", why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_verb_roundtrip),
		cmocka_unit_test(test_enrollment_session),
		cmocka_unit_test(test_roles_and_verbs),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_builder_misuse),
		cmocka_unit_test(test_builder_wipe),
		cmocka_unit_test(test_bulk_chunk),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_schema_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
