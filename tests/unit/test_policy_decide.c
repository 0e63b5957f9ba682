/* tests/unit/test_policy_decide.c: what a phone gets after AUTH_RESPONSE, for every key
 * order x protocol version x operation x deadline/lockout, and the key fallback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "policy/decide.h"

#define NOW ((time_t)1790000000)

static struct capf_conf conf;

static struct capf_device dev(const char *name, enum capf_operation op, enum capf_key_order ko)
{
	struct capf_device d;

	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "%s", name);
	d.op = op;
	d.auth = CAPF_AUTH_NULL;
	d.key_order = ko;
	d.rsa_bits = 0;
	d.curve = CAPF_CURVE_P384;
	d.deadline = op == CAPF_OP_NONE ? 0 : NOW + 3600;
	return d;
}

static const struct capf_keyparam EC384 = { .type = CAPF_KEY_EC, .curve = CAPF_CURVE_P384 };
static const struct capf_keyparam RSA2048 = { .type = CAPF_KEY_RSA, .rsa_bits = 2048 };

/* key order x version -> alternatives (or refusal) */
struct ko_case {
	enum capf_key_order ko;
	unsigned version;
	size_t n;
	const struct capf_keyparam *k0, *k1;
	enum capf_fail_cause cause; /* when n == 0 */
	const char *why;
};

static const struct ko_case ko_cases[] = {
	{ CAPF_KEYORDER_RSA_ONLY, 3, 1, &RSA2048, NULL, 0, NULL },
	{ CAPF_KEYORDER_RSA_ONLY, 2, 1, &RSA2048, NULL, 0, NULL },
	{ CAPF_KEYORDER_EC_ONLY, 3, 1, &EC384, NULL, 0, NULL },
	{ CAPF_KEYORDER_EC_ONLY, 2, 0, NULL, NULL, CAPF_FAIL_KEYGEN_FAILED, "cannot generate EC keys" },
	{ CAPF_KEYORDER_EC_PREFERRED, 3, 2, &EC384, &RSA2048, 0, NULL },
	{ CAPF_KEYORDER_EC_PREFERRED, 2, 1, &RSA2048, NULL, 0, NULL },
	{ CAPF_KEYORDER_EC_PREFERRED, 4, 2, &EC384, &RSA2048, 0, NULL }, /* > 3 as 3 */
	{ CAPF_KEYORDER_EC_ONLY, 1, 0, NULL, NULL, CAPF_FAIL_KEYGEN_FAILED, "cannot generate EC keys" },
};

static int same_key(const struct capf_keyparam *a, const struct capf_keyparam *b)
{
	return a->type == b->type &&
	       (a->type == CAPF_KEY_RSA ? a->rsa_bits == b->rsa_bits : a->curve == b->curve);
}

/* The whole matrix: key order x version x operation x {in time, late, locked out}. */
static void test_matrix(void **state)
{
	static const enum capf_operation ops[] = { CAPF_OP_NONE, CAPF_OP_INSTALL, CAPF_OP_DELETE,
						   CAPF_OP_FETCH };
	int failures = 0, n = 0;

	capf_conf_defaults(&conf);
	for (size_t k = 0; k < sizeof(ko_cases) / sizeof(ko_cases[0]); k++)
		for (size_t o = 0; o < 4; o++)
			for (int cond = 0; cond < 3; cond++) {
				const struct ko_case *t = &ko_cases[k];
				const char *name = t->version >= 3 ? "SEP001122334455" : "CSFJSMITH";
				struct capf_device d = dev(name, ops[o], t->ko);
				struct capf_request q = { .device_name = name,
							  .version = t->version,
							  .sent_password = t->version >= 3,
							  .now = NOW };
				struct capf_decision r;
				enum capf_action want;
				int ok;

				if (cond == 1)
					q.now = d.deadline + 1; /* late */
				if (cond == 2)
					d.failed_attempts = conf.auth.max_failed_attempts;
				capf_decide(&conf, &d, &q, &r);
				n++;
				if (ops[o] == CAPF_OP_NONE) {
					ok = r.action == CAPF_ACT_NOTHING && r.reason == 0 && !r.record;
				} else if (cond == 1) {
					ok = r.action == CAPF_ACT_REFUSE && r.reason == 7 && r.record &&
					     r.cause == CAPF_FAIL_LATE && r.status_op == ops[o];
				} else if (cond == 2) {
					ok = r.action == CAPF_ACT_REFUSE && r.reason == 7 && r.record &&
					     r.cause == CAPF_FAIL_INVALID_CREDENTIALS &&
					     strstr(r.why, "locked out") != NULL;
				} else if (ops[o] != CAPF_OP_INSTALL) {
					want = ops[o] == CAPF_OP_DELETE ? CAPF_ACT_DELETE : CAPF_ACT_FETCH;
					ok = r.action == want && r.auth == CAPF_AUTH_NULL && r.n_keys == 0;
				} else if (t->n == 0) {
					ok = r.action == CAPF_ACT_REFUSE && r.reason == 7 && r.record &&
					     r.cause == t->cause && r.status_op == CAPF_OP_INSTALL &&
					     strstr(r.why, t->why) != NULL;
				} else {
					ok = r.action == CAPF_ACT_INSTALL && r.n_keys == t->n &&
					     same_key(&r.keys[0], t->k0) &&
					     (t->n < 2 || same_key(&r.keys[1], t->k1));
				}
				if (!ok) {
					fprintf(stderr,
						"ko=%d v=%u op=%d cond=%d: action=%s reason=%u n_keys=%zu cause=%d why=%s\n",
						t->ko, t->version, ops[o], cond, capf_action_name(r.action),
						r.reason, r.n_keys, r.cause, r.why);
					failures++;
				}
			}
	assert_int_equal(n, 8 * 4 * 3);
	assert_int_equal(failures, 0);
}

static void test_unknown_and_names(void **state)
{
	struct capf_request q = { .device_name = "SEP001122334455", .version = 3, .now = NOW };
	struct capf_device d = dev("SEP001122334455", CAPF_OP_INSTALL, CAPF_KEYORDER_RSA_ONLY);
	struct capf_decision r;

	capf_conf_defaults(&conf);
	assert_int_equal(capf_decide(&conf, NULL, &q, &r), CAPF_ACT_UNKNOWN);
	assert_int_equal(r.reason, 9);
	assert_false(r.record);
	q.device_name = "SEP00112233445Z";
	assert_int_equal(capf_decide(&conf, &d, &q, &r), CAPF_ACT_REFUSE);
	assert_int_equal(r.reason, 7);
	assert_false(r.record);
	q.device_name = NULL;
	assert_int_equal(capf_decide(&conf, &d, &q, &r), CAPF_ACT_REFUSE);
	/* Jabber disabled by the policy */
	conf.devices.jabber = false;
	q.device_name = "CSFJSMITH";
	assert_int_equal(capf_decide(&conf, NULL, &q, &r), CAPF_ACT_REFUSE);
	assert_non_null(strstr(r.why, "Jabber devices are disabled"));
	conf.devices.jabber = true;
	/* version 0 */
	q.device_name = "SEP001122334455";
	q.version = 0;
	assert_int_equal(capf_decide(&conf, &d, &q, &r), CAPF_ACT_REFUSE);
	assert_false(r.record);
	/* a deadline of 0 means none; exactly at the deadline is still in time */
	q.version = 3;
	d.deadline = 0;
	assert_int_equal(capf_decide(&conf, &d, &q, &r), CAPF_ACT_INSTALL);
	d.deadline = NOW;
	assert_int_equal(capf_decide(&conf, &d, &q, &r), CAPF_ACT_INSTALL);
	d.deadline = NOW - 1;
	assert_int_equal(capf_decide(&conf, &d, &q, &r), CAPF_ACT_REFUSE);
	assert_int_equal(r.cause, CAPF_FAIL_LATE);
	assert_string_equal(capf_fail_cause_cisco(r.cause), "User Initiated Request Late/Timedout");
	/* one below the lockout limit passes */
	d.deadline = 0;
	d.failed_attempts = conf.auth.max_failed_attempts - 1;
	assert_int_equal(capf_decide(&conf, &d, &q, &r), CAPF_ACT_INSTALL);
	assert_false(capf_locked_out(&conf, &d));
	d.failed_attempts++;
	assert_true(capf_locked_out(&conf, &d));
}

/* Authentication modes: which evidence, and the PASSWORD element. */
static void test_auth_modes(void **state)
{
	static const struct {
		enum capf_auth_mode mode;
		int sent_password;
		enum capf_action want;
		enum capf_fail_cause cause;
	} cases[] = {
		{ CAPF_AUTH_NULL, 1, CAPF_ACT_INSTALL, 0 },
		{ CAPF_AUTH_NULL, 0, CAPF_ACT_INSTALL, 0 }, /* Jabber sends none */
		{ CAPF_AUTH_STRING, 1, CAPF_ACT_INSTALL, 0 },
		{ CAPF_AUTH_STRING, 0, CAPF_ACT_REFUSE, CAPF_FAIL_INVALID_AUTH_STRING },
		{ CAPF_AUTH_LSC_FIRST, 0, CAPF_ACT_INSTALL, 0 },
		{ CAPF_AUTH_MIC_FIRST, 0, CAPF_ACT_INSTALL, 0 },
		{ (enum capf_auth_mode)7, 1, CAPF_ACT_REFUSE, CAPF_FAIL_INVALID_CREDENTIALS },
	};
	struct capf_decision r;

	capf_conf_defaults(&conf);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct capf_device d = dev("SEP001122334455", CAPF_OP_INSTALL, CAPF_KEYORDER_RSA_ONLY);
		struct capf_request q = { .device_name = d.name,
					  .version = 3,
					  .now = NOW,
					  .sent_password = cases[i].sent_password };
		d.auth = cases[i].mode;
		assert_int_equal(capf_decide(&conf, &d, &q, &r), cases[i].want);
		if (cases[i].want == CAPF_ACT_REFUSE) {
			assert_true(r.record);
			assert_int_equal(r.cause, cases[i].cause);
		} else
			assert_int_equal(r.auth, cases[i].mode);
	}
	/* lockout causes follow the mode */
	assert_int_equal(capf_auth_fail_cause(CAPF_AUTH_STRING), CAPF_FAIL_INVALID_AUTH_STRING);
	assert_int_equal(capf_auth_fail_cause(CAPF_AUTH_LSC_FIRST), CAPF_FAIL_INVALID_LSC);
	assert_int_equal(capf_auth_fail_cause(CAPF_AUTH_MIC_FIRST), CAPF_FAIL_INVALID_MIC);
	assert_int_equal(capf_auth_fail_cause(CAPF_AUTH_NULL), CAPF_FAIL_INVALID_CREDENTIALS);
	{
		struct capf_device d = dev("SEP001122334455", CAPF_OP_DELETE, CAPF_KEYORDER_RSA_ONLY);
		struct capf_request q = { .device_name = d.name, .version = 3, .now = NOW, .sent_password = 1 };
		char buf[128];
		d.auth = CAPF_AUTH_STRING;
		d.failed_attempts = 99;
		capf_decide(&conf, &d, &q, &r);
		assert_int_equal(r.cause, CAPF_FAIL_INVALID_AUTH_STRING);
		d.status = CAPF_ST_FAILED;
		d.status_op = r.status_op;
		d.cause = r.cause;
		assert_string_equal(capf_status_cisco(&d, buf, sizeof(buf)),
				    "Delete Failed: Invalid Authentication String");
	}
}

/* Sizes and curves: the device's own, the policy's default, and what the policy forbids. */
static void test_key_params(void **state)
{
	struct capf_device d = dev("SEP001122334455", CAPF_OP_INSTALL, CAPF_KEYORDER_EC_PREFERRED);
	struct capf_request q = { .device_name = d.name, .version = 3, .now = NOW, .sent_password = 1 };
	struct capf_decision r;

	capf_conf_defaults(&conf);
	d.rsa_bits = 4096;
	d.curve = CAPF_CURVE_P521;
	assert_int_equal(capf_decide(&conf, &d, &q, &r), CAPF_ACT_INSTALL);
	assert_int_equal(r.n_keys, 2);
	assert_int_equal(r.keys[0].type, CAPF_KEY_EC);
	assert_int_equal(r.keys[0].curve, CAPF_CURVE_P521);
	assert_int_equal(r.keys[1].rsa_bits, 4096);
	/* the policy changed since: P-521 dropped, RSA backup remains */
	conf.keys.ec_curves = 1u << CAPF_CURVE_P256;
	assert_int_equal(capf_decide(&conf, &d, &q, &r), CAPF_ACT_INSTALL);
	assert_int_equal(r.n_keys, 1);
	assert_int_equal(r.keys[0].type, CAPF_KEY_RSA);
	/* and 4096 dropped too: refused, CA Rejected */
	conf.keys.n_rsa_bits = 1; /* [2048] */
	assert_int_equal(capf_decide(&conf, &d, &q, &r), CAPF_ACT_REFUSE);
	assert_int_equal(r.cause, CAPF_FAIL_CA_REJECTED);
	assert_non_null(strstr(r.why, "not allowed by the policy"));
	/* rsa_bits 0: the policy's default */
	d.rsa_bits = 0;
	d.key_order = CAPF_KEYORDER_RSA_ONLY;
	conf.keys.default_rsa_bits = 2048;
	assert_int_equal(capf_decide(&conf, &d, &q, &r), CAPF_ACT_INSTALL);
	assert_int_equal(r.keys[0].rsa_bits, 2048);
	/* EC Only on a curve the policy no longer allows */
	d.key_order = CAPF_KEYORDER_EC_ONLY;
	assert_int_equal(capf_decide(&conf, &d, &q, &r), CAPF_ACT_REFUSE);
	assert_int_equal(r.cause, CAPF_FAIL_CA_REJECTED);
	d.key_order = (enum capf_key_order)5;
	assert_int_equal(capf_decide(&conf, &d, &q, &r), CAPF_ACT_REFUSE);
}

static void test_fallback(void **state)
{
	struct capf_device d = dev("SEP001122334455", CAPF_OP_INSTALL, CAPF_KEYORDER_EC_PREFERRED);
	struct capf_request q = { .device_name = d.name, .version = 3, .now = NOW, .sent_password = 1 };
	struct capf_decision r, n1, n2;

	capf_conf_defaults(&conf);
	assert_int_equal(capf_decide(&conf, &d, &q, &r), CAPF_ACT_INSTALL);
	assert_int_equal(r.n_keys, 2);
	/* EC failed: RSA next */
	assert_int_equal(capf_decide_fallback(&r, false, &n1), CAPF_ACT_INSTALL);
	assert_int_equal(n1.n_keys, 1);
	assert_true(same_key(&n1.keys[0], &RSA2048));
	assert_int_equal(n1.auth, r.auth);
	/* RSA failed too: Key Generation Failed / Timeout */
	assert_int_equal(capf_decide_fallback(&n1, false, &n2), CAPF_ACT_REFUSE);
	assert_true(n2.record);
	assert_int_equal(n2.status_op, CAPF_OP_INSTALL);
	assert_int_equal(n2.cause, CAPF_FAIL_KEYGEN_FAILED);
	assert_int_equal(n2.n_keys, 0);
	assert_int_equal(capf_decide_fallback(&n1, true, &n2), CAPF_ACT_REFUSE);
	assert_int_equal(n2.cause, CAPF_FAIL_KEYGEN_TIMEOUT);
	/* RSA Only: no fallback */
	d.key_order = CAPF_KEYORDER_RSA_ONLY;
	capf_decide(&conf, &d, &q, &r);
	assert_int_equal(capf_decide_fallback(&r, false, &n1), CAPF_ACT_REFUSE);
	assert_int_equal(n1.cause, CAPF_FAIL_KEYGEN_FAILED);
	/* not an install: refused without recording */
	d.op = CAPF_OP_FETCH;
	capf_decide(&conf, &d, &q, &r);
	assert_int_equal(capf_decide_fallback(&r, false, &n1), CAPF_ACT_REFUSE);
	assert_false(n1.record);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matrix),     cmocka_unit_test(test_unknown_and_names),
		cmocka_unit_test(test_auth_modes), cmocka_unit_test(test_key_params),
		cmocka_unit_test(test_fallback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
