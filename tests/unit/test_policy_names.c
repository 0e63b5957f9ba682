/* tests/unit/test_policy_names.c: device names, authentication strings, deadlines and
 * the other settings an administrator schedules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "policy/names.h"
#include "policy/schedule.h"

static struct capf_conf conf;

struct name_case {
	const char *name;
	int sep, jabber; /* config */
	unsigned max;    /* devices.max_name_length */
	int ok;          /* 0: refused */
	enum capf_device_kind kind;
	const char *err; /* substring when refused */
};

static const struct name_case names[] = {
	{ "SEP58971ECC97C1", 1, 1, 15, 1, CAPF_DEVKIND_SEP, NULL },
	{ "SEP001122334455", 1, 1, 15, 1, CAPF_DEVKIND_SEP, NULL },
	{ "SEP58971ecc97c1", 1, 1, 15, 0, 0, "not an uppercase hexadecimal digit" },
	{ "SEP58971ECC97C", 1, 1, 15, 0, 0, "exactly 12" },
	{ "SEP58971ECC97C12", 1, 1, 64, 0, 0, "exactly 12" },
	{ "SEP58971ECC97G1", 1, 1, 15, 0, 0, "character 14 is not an uppercase hexadecimal" },
	{ "SEP58971ECC97C1", 0, 1, 15, 0, 0, "SEP devices are disabled" },
	{ "SEP\n11223344556", 1, 1, 15, 0, 0,
	  "device name SEP?11223344556: character 4" }, /* no raw control bytes in messages */
	{ "sep58971ECC97C1", 1, 1, 15, 0, 0, "must start with" },
	{ "CSFJSMITH", 1, 1, 15, 1, CAPF_DEVKIND_JABBER, NULL },
	{ "BOTjsmith", 1, 1, 15, 1, CAPF_DEVKIND_JABBER, NULL },
	{ "TCTj.smith-2_x", 1, 1, 15, 1, CAPF_DEVKIND_JABBER, NULL },
	{ "TABA", 1, 1, 15, 1, CAPF_DEVKIND_JABBER, NULL },
	{ "CSF", 1, 1, 15, 0, 0, "followed by 1 to 12 characters" },
	{ "CSFABCDEFGHIJKL", 1, 1, 15, 1, CAPF_DEVKIND_JABBER, NULL }, /* 15 */
	{ "CSFABCDEFGHIJKLM", 1, 1, 15, 0, 0, "followed by 1 to 12" }, /* 16 */
	{ "CSFABCDEFGHIJKLM", 1, 1, 16, 1, CAPF_DEVKIND_JABBER, NULL },
	{ "CSFJ SMITH", 1, 1, 15, 0, 0, "character 5 is not allowed in a Jabber name" },
	{ "CSFJ/SMITH", 1, 1, 15, 0, 0, "is not allowed in a Jabber name" },
	{ "CSFJ\xc3\xa9", 1, 1, 15, 0, 0, "is not allowed in a Jabber name" },
	{ "CSFJSMITH", 1, 0, 15, 0, 0, "Jabber devices are disabled" },
	{ "csfJSMITH", 1, 1, 15, 0, 0, "must start with" },
	{ "ATA001122334455", 1, 1, 15, 0, 0, "must start with SEP, CSF, BOT, TCT or TAB" },
	{ "", 1, 1, 15, 0, 0, "empty" },
	{ "CSFAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 1, 1, 64, 0, 0,
	  "longer than 64" },
};

static void test_names(void **state)
{
	int failures = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct name_case *t = &names[i];
		enum capf_device_kind kind = 0;
		char err[256] = "";
		int r;

		capf_conf_defaults(&conf);
		conf.devices.sep = t->sep;
		conf.devices.jabber = t->jabber;
		conf.devices.max_name_length = t->max;
		r = capf_name_check(&conf, t->name, &kind, err, sizeof(err));
		if (t->ok ? (r != 0 || kind != t->kind) : (r != -1 || strstr(err, t->err) == NULL)) {
			fprintf(stderr, "case %zu (%s): r=%d kind=%d err=%s\n", i, t->name, r, kind, err);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

struct auth_case {
	const char *s;
	unsigned min, max;
	int digits;
	int ok;
	const char *err;
};

static const struct auth_case auths[] = {
	{ "1234", 4, 10, 1, 1, NULL },
	{ "1234567890", 4, 10, 1, 1, NULL },
	{ "123", 4, 10, 1, 0, "must be 4 to 10 digits long" },
	{ "12345678901", 4, 10, 1, 0, "must be 4 to 10 digits long" },
	{ "", 4, 10, 1, 0, "must be 4 to 10" },
	{ "12a4", 4, 10, 1, 0, "character 3 is not allowed (allowed: digits 0-9" },
	{ "12 4", 4, 10, 0, 0, "character 3 is not allowed (allowed: printable ASCII without spaces)" },
	{ "ab#4", 4, 10, 0, 1, NULL },
	{ "123456", 6, 6, 1, 1, NULL },
	{ "12345", 6, 6, 1, 0, "must be 6 to 6" },
};

static void test_auth_strings(void **state)
{
	int failures = 0;
	char err[256];

	for (size_t i = 0; i < sizeof(auths) / sizeof(auths[0]); i++) {
		const struct auth_case *t = &auths[i];
		int r;

		capf_conf_defaults(&conf);
		conf.auth.string_min = t->min;
		conf.auth.string_max = t->max;
		conf.auth.digits_only = t->digits;
		err[0] = '\0';
		r = capf_auth_string_check(&conf, t->s, err, sizeof(err));
		if (t->ok ? r != 0 : (r != -1 || strstr(err, t->err) == NULL)) {
			fprintf(stderr, "case %zu (%s): r=%d err=%s\n", i, t->s, r, err);
			failures++;
		}
		/* the message never quotes the string */
		if (r != 0 && t->s[0] != '\0' && strstr(err, t->s) != NULL) {
			fprintf(stderr, "case %zu: message quotes the secret: %s\n", i, err);
			failures++;
		}
	}
	assert_int_equal(capf_auth_string_check(&conf, NULL, err, sizeof(err)), -1);
	assert_int_equal(failures, 0);
}

static void test_auth_generate(void **state)
{
	char a[11], b[11], err[128], small[10];
	unsigned counts[10] = { 0 };

	capf_conf_defaults(&conf);
	assert_int_equal(capf_auth_string_generate(&conf, a, sizeof(a), err, sizeof(err)), 0);
	assert_int_equal(strlen(a), 10);
	assert_int_equal(capf_auth_string_check(&conf, a, err, sizeof(err)), 0);
	assert_int_equal(capf_auth_string_generate(&conf, b, sizeof(b), err, sizeof(err)), 0);
	assert_string_not_equal(a, b); /* 1 in 10^10 */
	assert_int_equal(capf_auth_string_generate(&conf, small, sizeof(small), err, sizeof(err)), -1);
	/* every digit shows up (10000 digits: the chance one is missing is ~1e-456) */
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(capf_auth_string_generate(&conf, a, sizeof(a), err, sizeof(err)), 0);
		for (int j = 0; j < 10; j++)
			counts[a[j] - '0']++;
	}
	for (int d = 0; d < 10; d++)
		assert_true(counts[d] > 0);
	/* also valid when non-digits are allowed */
	conf.auth.digits_only = false;
	conf.auth.string_min = conf.auth.string_max = 6;
	assert_int_equal(capf_auth_string_generate(&conf, a, sizeof(a), err, sizeof(err)), 0);
	assert_int_equal(strlen(a), 6);
	assert_int_equal(capf_auth_string_check(&conf, a, err, sizeof(err)), 0);
}

#define NOW ((time_t)1790000000) /* 2026-09-21 ... UTC, not on an hour */

static void test_deadline(void **state)
{
	time_t r = 0, d;
	char err[256];

	capf_conf_defaults(&conf);
	assert_true(NOW % 3600 != 0);
	d = capf_deadline_default(&conf, NOW);
	assert_int_equal(d % 3600, 0);
	assert_true(d >= NOW + 10 * 86400 && d < NOW + 10 * 86400 + 3600);
	assert_int_equal(capf_deadline_check(&conf, d, NOW, &r, err, sizeof(err)), 0);
	assert_int_equal(r, d);
	/* rounded up to the hour */
	assert_int_equal(capf_deadline_check(&conf, NOW + 2 * 3600, NOW, &r, err, sizeof(err)), 0);
	assert_int_equal(r % 3600, 0);
	assert_true(r >= NOW + 2 * 3600 && r < NOW + 3 * 3600);
	/* at least one hour ahead: exactly one hour (after rounding) passes, less fails */
	assert_int_equal(capf_deadline_check(&conf, NOW + 3600, NOW, &r, err, sizeof(err)), 0);
	assert_int_equal(capf_deadline_check(&conf, NOW + 60, NOW, &r, err, sizeof(err)) == 0,
			 (NOW + 60 + 3599) / 3600 * 3600 >= NOW + 3600);
	{
		time_t base = NOW - NOW % 3600; /* on the hour */
		assert_int_equal(capf_deadline_check(&conf, base + 3599, base, &r, err, sizeof(err)), 0);
		assert_int_equal(r, base + 3600);
		assert_int_equal(capf_deadline_check(&conf, base, base, &r, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "at least 1 hour in the future (deadline.min_lead_hours)"));
	}
	assert_int_equal(capf_deadline_check(&conf, NOW - 86400, NOW, &r, err, sizeof(err)), -1);
	assert_int_equal(capf_deadline_check(&conf, 0, NOW, &r, err, sizeof(err)), -1);
	/* at most max_days */
	assert_int_equal(capf_deadline_check(&conf, NOW + 364 * 86400, NOW, &r, err, sizeof(err)), 0);
	assert_int_equal(capf_deadline_check(&conf, NOW + 366 * 86400, NOW, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at most 365 days"));
	assert_int_equal(capf_deadline_check(&conf, (time_t)INT64_MAX, NOW, &r, err, sizeof(err)), -1);
	assert_int_equal(capf_deadline_check(&conf, (time_t)INT64_MIN, NOW, &r, err, sizeof(err)), -1);
	conf.deadline.min_lead_hours = 24;
	assert_int_equal(capf_deadline_check(&conf, NOW + 23 * 3600, NOW, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at least 24 hours"));
	assert_int_equal(capf_deadline_check(&conf, NOW + 25 * 3600, NOW, &r, err, sizeof(err)), 0);
}

static void test_keys(void **state)
{
	char err[256];

	capf_conf_defaults(&conf);
	assert_int_equal(capf_keys_check(&conf, CAPF_KEYORDER_RSA_ONLY, 0, CAPF_CURVE_P256, err, sizeof(err)),
			 0);
	assert_int_equal(capf_keys_check(&conf, CAPF_KEYORDER_RSA_ONLY, 4096, CAPF_CURVE_P256, err,
					 sizeof(err)),
			 0);
	assert_int_equal(capf_keys_check(&conf, CAPF_KEYORDER_RSA_ONLY, 1024, CAPF_CURVE_P256, err,
					 sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "RSA 1024 bits is not allowed"));
	assert_int_equal(capf_keys_check(&conf, CAPF_KEYORDER_EC_ONLY, 1024, CAPF_CURVE_P521, err, sizeof(err)),
			 0);
	conf.keys.ec_curves = 1u << CAPF_CURVE_P256;
	assert_int_equal(capf_keys_check(&conf, CAPF_KEYORDER_EC_ONLY, 0, CAPF_CURVE_P384, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "curve P-384 is not allowed"));
	assert_int_equal(capf_keys_check(&conf, CAPF_KEYORDER_EC_PREFERRED, 0, CAPF_CURVE_P384, err,
					 sizeof(err)),
			 -1);
	assert_int_equal(capf_keys_check(&conf, CAPF_KEYORDER_EC_PREFERRED, 3072, CAPF_CURVE_P256, err,
					 sizeof(err)),
			 0);
	assert_int_equal(capf_keys_check(&conf, CAPF_KEYORDER_EC_PREFERRED, 1024, CAPF_CURVE_P256, err,
					 sizeof(err)),
			 -1);
	assert_int_equal(capf_keys_check(&conf, (enum capf_key_order)7, 0, CAPF_CURVE_P256, err, sizeof(err)),
			 -1);
}

static void test_device_settings(void **state)
{
	struct capf_device d;
	char err[256];

	capf_conf_defaults(&conf);
	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "SEP001122334455");
	d.op = CAPF_OP_INSTALL;
	d.auth = CAPF_AUTH_STRING;
	d.key_order = CAPF_KEYORDER_EC_PREFERRED;
	d.curve = CAPF_CURVE_P384;
	d.deadline = capf_deadline_default(&conf, NOW);
	assert_int_equal(capf_device_settings_check(&conf, &d, NOW, err, sizeof(err)), 0);
	d.deadline += 60;
	assert_int_equal(capf_device_settings_check(&conf, &d, NOW, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "full hour"));
	d.deadline = NOW - NOW % 3600;
	assert_int_equal(capf_device_settings_check(&conf, &d, NOW, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "at least 1 hour"));
	d.op = CAPF_OP_NONE; /* no operation: no deadline */
	d.deadline = 0;
	assert_int_equal(capf_device_settings_check(&conf, &d, NOW, err, sizeof(err)), 0);
	d.op = (enum capf_operation)9;
	assert_int_equal(capf_device_settings_check(&conf, &d, NOW, err, sizeof(err)), -1);
	d.op = CAPF_OP_NONE;
	d.auth = (enum capf_auth_mode)9;
	assert_int_equal(capf_device_settings_check(&conf, &d, NOW, err, sizeof(err)), -1);
	d.auth = CAPF_AUTH_NULL;
	d.rsa_bits = 1024;
	assert_int_equal(capf_device_settings_check(&conf, &d, NOW, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "RSA 1024"));
	d.rsa_bits = 0;
	/* Jabber cannot do EC Only; EC Preferred is fine (it gets RSA) */
	snprintf(d.name, sizeof(d.name), "CSFJSMITH");
	assert_int_equal(capf_device_settings_check(&conf, &d, NOW, err, sizeof(err)), 0);
	d.key_order = CAPF_KEYORDER_EC_ONLY;
	assert_int_equal(capf_device_settings_check(&conf, &d, NOW, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot generate EC keys"));
	snprintf(d.name, sizeof(d.name), "SEP00112233445");
	assert_int_equal(capf_device_settings_check(&conf, &d, NOW, err, sizeof(err)), -1);
	memset(d.name, 'A', sizeof(d.name)); /* not terminated */
	assert_int_equal(capf_device_settings_check(&conf, &d, NOW, err, sizeof(err)), -1);
}

static const struct capf_device_change NOCHANGE = {
	.op = -1,
	.auth = -1,
	.key_order = -1,
	.curve = -1,
	.rsa_bits = -1,
};

/* The one merge of an administrator's change into a device (capf_device_merge). */
static void test_device_merge(void **state)
{
	struct capf_device_change chg = NOCHANGE;
	enum capf_auth_string_use use;
	struct capf_device d, d2;
	char err[256];

	capf_conf_defaults(&conf);
	/* a new device: the policy's defaults, nothing pending */
	assert_int_equal(capf_device_merge(&conf, "SEP001122334455", &chg, NULL, false, NOW, &d, &use, err,
					   sizeof(err)),
			 0);
	assert_string_equal(d.name, "SEP001122334455");
	assert_int_equal(d.op, CAPF_OP_NONE);
	assert_int_equal(d.key_order, conf.keys.default_key_order);
	assert_int_equal(use, CAPF_AUTHSTR_CLEAR);
	/* an operation: pending, with the default deadline */
	chg.op = CAPF_OP_INSTALL;
	assert_int_equal(capf_device_merge(&conf, d.name, &chg, &d, false, NOW, &d2, &use, err, sizeof(err)),
			 0);
	assert_int_equal(d2.status, CAPF_ST_PENDING);
	assert_int_equal(d2.deadline, capf_deadline_default(&conf, NOW));
	/* the same operation an hour later keeps its deadline */
	assert_int_equal(capf_device_merge(&conf, d.name, &chg, &d2, false, NOW + 3600, &d, &use, err,
					   sizeof(err)),
			 0);
	assert_int_equal(d.deadline, d2.deadline);
	/* a deadline without an operation is refused */
	chg = NOCHANGE;
	chg.op = CAPF_OP_NONE;
	chg.has_deadline = true;
	chg.deadline = NOW + 86400;
	assert_int_equal(capf_device_merge(&conf, d.name, &chg, &d, false, NOW, &d2, &use, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "needs a pending operation"));
	/* By Authentication String: a new string, the stored one, or refused */
	chg = NOCHANGE;
	chg.auth = CAPF_AUTH_STRING;
	assert_int_equal(capf_device_merge(&conf, d.name, &chg, &d, false, NOW, &d2, &use, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "needs a string"));
	assert_int_equal(capf_device_merge(&conf, d.name, &chg, &d, true, NOW, &d2, &use, err, sizeof(err)), 0);
	assert_int_equal(use, CAPF_AUTHSTR_KEEP);
	chg.has_auth_string = true;
	assert_int_equal(capf_device_merge(&conf, d.name, &chg, &d, true, NOW, &d2, &use, err, sizeof(err)), 0);
	assert_int_equal(use, CAPF_AUTHSTR_NEW);
	chg.auth = CAPF_AUTH_NULL;
	assert_int_equal(capf_device_merge(&conf, d.name, &chg, &d, true, NOW, &d2, &use, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "only used with By Authentication String"));
	/* a near deadline the change does not touch is not judged again */
	chg = NOCHANGE;
	chg.key_order = CAPF_KEYORDER_RSA_ONLY;
	assert_int_equal(capf_device_merge(&conf, d.name, &chg, &d, false, d.deadline - 60, &d2, &use, err,
					   sizeof(err)),
			 0);
	/* a bad name */
	assert_int_equal(capf_device_merge(&conf, "SEP1", &NOCHANGE, NULL, false, NOW, &d2, &use, err,
					   sizeof(err)),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),         cmocka_unit_test(test_auth_strings),
		cmocka_unit_test(test_auth_generate), cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_keys),          cmocka_unit_test(test_device_settings),
		cmocka_unit_test(test_device_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
