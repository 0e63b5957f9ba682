/* tests/unit/test_policy_cfgwalk.c: the strict libconfig reader and walker (policy/cfgwalk.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "policy/cfgwalk.h"
#include "tests/unit/policy_pki.h"

static int has(const struct capf_errlist *l, const char *want)
{
	if (pki_errs_have(l, want))
		return 1;
	for (size_t i = 0; i < capf_errlist_count(l); i++)
		fprintf(stderr, "  got: %s\n", capf_errlist_get(l, i));
	return 0;
}

static const struct capf_cfg_key inner[] = {
	{ "label", CONFIG_TYPE_STRING, true },
	{ "days", CONFIG_TYPE_INT, false },
	{ "any", 0, false },
	{ NULL, 0, false },
};
static const struct capf_cfg_key outer[] = {
	{ "key", CONFIG_TYPE_GROUP, true },
	{ "name", CONFIG_TYPE_STRING, true },
	{ NULL, 0, false },
};

struct seen {
	int n;
	char paths[8][64];
};

static void each(void *arg, size_t k, const config_setting_t *s, const char *path)
{
	struct seen *v = arg;

	if (v->n < 8)
		snprintf(v->paths[v->n++], sizeof(v->paths[0]), "%s", path);
}

static int walk(const char *text, struct capf_errlist *e, struct seen *v)
{
	config_t cfg;
	int nerr;
	const config_setting_t *key;

	if (capf_cfg_parse(&cfg, text, strlen(text), 4096, "t.conf", e) != 0)
		return -1;
	nerr = capf_cfg_walk(config_root_setting(&cfg), "", outer, "t.conf", e, each, v);
	key = config_setting_get_member(config_root_setting(&cfg), "key");
	if (key != NULL && config_setting_is_group(key))
		nerr += capf_cfg_walk(key, "key", inner, "t.conf", e, each, v);
	config_destroy(&cfg);
	return nerr;
}

static void test_every_error_named(void **state)
{
	struct capf_errlist *e = capf_errlist_new();
	struct seen v = { 0 };

	assert_int_equal(walk("name = 5;\nkey = {\n  days = \"x\";\n  bogus = 1;\n};\nextra = 1;\n", e, &v), 5);
	assert_true(has(e, "t.conf:1: name: expected a string, found an integer"));
	assert_true(has(e, "t.conf:3: key.days: expected an integer, found a string"));
	assert_true(has(e, "t.conf:4: key.bogus: unknown setting (known in key: label, days, any)"));
	assert_true(has(e, "t.conf:2: key.label: required setting missing"));
	assert_true(has(e, "t.conf:6: extra: unknown setting (known groups: key, name)"));
	/* only the member that passed reached the callback */
	assert_int_equal(v.n, 1);
	assert_string_equal(v.paths[0], "key");
	capf_errlist_free(e);
}

static void test_good_file(void **state)
{
	struct capf_errlist *e = capf_errlist_new();
	struct seen v = { 0 };

	assert_int_equal(walk("name = \"n\";\nkey = { label = \"l\"; days = 5; any = [1, 2]; };\n", e, &v), 0);
	assert_int_equal(capf_errlist_count(e), 0);
	assert_int_equal(v.n, 5);
	assert_string_equal(v.paths[2], "key.label");
	assert_string_equal(v.paths[4], "key.any");
	capf_errlist_clear(e);
	/* a required group missing at the root: no line to name */
	memset(&v, 0, sizeof(v));
	assert_int_equal(walk("name = \"n\";\n", e, &v), 1);
	assert_true(has(e, "t.conf: key: required setting missing"));
	capf_errlist_free(e);
}

static void test_text_refused(void **state)
{
	struct capf_errlist *e = capf_errlist_new();
	config_t cfg;

	assert_int_equal(capf_cfg_parse(&cfg, "a = 1;\0b = 2;", 13, 4096, "t.conf", e), -1);
	assert_true(has(e, "t.conf: contains a NUL byte"));
	assert_int_equal(capf_cfg_parse(&cfg, "a = 1;", 6, 5, "t.conf", e), -1);
	assert_true(has(e, "t.conf: too large (6 bytes, at most 5)"));
	assert_int_equal(capf_cfg_parse(&cfg, "\n @include \"x\"\n", 15, 4096, "t.conf", e), -1);
	assert_true(has(e, "t.conf:2: @include is not allowed"));
	assert_int_equal(capf_cfg_parse(&cfg, "a = 4294967297;", 15, 4096, "t.conf", e), -1);
	assert_true(has(e, "t.conf:1: the integer 4294967297 is too large"));
	assert_int_equal(capf_cfg_parse(&cfg, "a = 1; b = \"2\" c;", 17, 4096, "t.conf", e), -1);
	assert_true(has(e, "t.conf:1: syntax error"));
	/* no conversion between types: 5 stays an integer */
	capf_errlist_clear(e);
	assert_int_equal(capf_cfg_parse(&cfg, "a = 5;", 6, 4096, "t.conf", e), 0);
	assert_int_equal(config_setting_type(config_lookup(&cfg, "a")), CONFIG_TYPE_INT);
	config_destroy(&cfg);
	capf_errlist_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_error_named),
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_text_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
