/* tests/unit/test_p11_uri.c: pkcs11: URI parsing, accepted and refused (table-driven). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pkcs11/p11_uri.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_full(void **state)
{
	struct p11_uri u;
	char err[256];

	assert_int_equal(p11_uri_parse("pkcs11:token=CAPF%20CA;manufacturer=SoftHSM%20project;"
				       "model=SoftHSM%20v2;serial=0123abcd;object=capf-ca;id=%01%00%ff;"
				       "type=private;slot-id=42;slot-description=s%3bd;slot-manufacturer=m;"
				       "library-manufacturer=lm;library-description=ld;library-version=2.6"
				       "?pin-source=file:/etc/capf/pin&module-path=/usr/lib/softhsm/"
				       "libsofthsm2.so&module-name=softhsm2",
				       &u, err, sizeof(err)),
			 0);
	assert_string_equal(u.token, "CAPF CA");
	assert_string_equal(u.manufacturer, "SoftHSM project");
	assert_string_equal(u.model, "SoftHSM v2");
	assert_string_equal(u.serial, "0123abcd");
	assert_string_equal(u.object, "capf-ca");
	assert_true(u.has_id);
	assert_int_equal(u.idlen, 3);
	assert_memory_equal(u.id, "\x01\x00\xff", 3);
	assert_int_equal(u.type, P11_TYPE_PRIVATE);
	assert_true(u.has_slot_id);
	assert_int_equal(u.slot_id, 42);
	assert_string_equal(u.slot_description, "s;d");
	assert_string_equal(u.slot_manufacturer, "m");
	assert_string_equal(u.library_manufacturer, "lm");
	assert_string_equal(u.library_description, "ld");
	assert_string_equal(u.library_version, "2.6");
	assert_string_equal(u.pin_source, "/etc/capf/pin");
	assert_string_equal(u.module_path, "/usr/lib/softhsm/libsofthsm2.so");
	assert_string_equal(u.module_name, "softhsm2");
	p11_uri_clear(&u);
	assert_null(u.token);
}

/* Accepted URIs and one field each to check. */
static const struct {
	const char *uri;
	const char *token, *object, *pin;
	enum p11_uri_type type;
} good[] = {
	{ "pkcs11:", NULL, NULL, NULL, P11_TYPE_ANY },
	{ "PKCS11:token=A", "A", NULL, NULL, P11_TYPE_ANY },
	{ "pkcs11:token=A;object=k", "A", "k", NULL, P11_TYPE_ANY },
	{ "pkcs11:object=a%2Fb%3Fc", NULL, "a/b?c", NULL, P11_TYPE_ANY },
	{ "pkcs11:object=k;type=public", NULL, "k", NULL, P11_TYPE_PUBLIC },
	{ "pkcs11:type=cert", NULL, NULL, NULL, P11_TYPE_CERT },
	{ "pkcs11:type=secret-key", NULL, NULL, NULL, P11_TYPE_SECRET },
	{ "pkcs11:type=data", NULL, NULL, NULL, P11_TYPE_DATA },
	{ "pkcs11:token=T?pin-source=/abs/pin", "T", NULL, "/abs/pin", P11_TYPE_ANY },
	{ "pkcs11:token=T?pin-source=file:/abs/pin", "T", NULL, "/abs/pin", P11_TYPE_ANY },
	{ "pkcs11:token=T?pin-source=file:///abs/pin", "T", NULL, "/abs/pin", P11_TYPE_ANY },
	{ "pkcs11:token=T?pin-source=file:%2Fp%20q", "T", NULL, "/p q", P11_TYPE_ANY },
	{ "pkcs11:?pin-source=/x", NULL, NULL, "/x", P11_TYPE_ANY },
	/* pin-source as a path attribute (how many tools write it) */
	{ "pkcs11:pin-source=/x", NULL, NULL, "/x", P11_TYPE_ANY },
	{ "pkcs11:token=T;object=K;pin-source=file:/path/pin", "T", "K", "/path/pin", P11_TYPE_ANY },
	{ "pkcs11:pin-source=file:/p;token=T;type=cert", "T", NULL, "/p", P11_TYPE_CERT },
	{ "pkcs11:token=T;pin-source=file:///abs/pin?module-path=/m.so", "T", NULL, "/abs/pin", P11_TYPE_ANY },
	{ "pkcs11:token=T;module-path=/m.so?pin-source=/p", "T", NULL, "/p", P11_TYPE_ANY },
};

static void test_good(void **state)
{
	for (size_t i = 0; i < NELEM(good); i++) {
		struct p11_uri u;
		char err[256] = "";

		if (p11_uri_parse(good[i].uri, &u, err, sizeof(err)) != 0)
			fail_msg("%s: refused: %s", good[i].uri, err);
		if (good[i].token)
			assert_string_equal(u.token, good[i].token);
		else
			assert_null(u.token);
		if (good[i].object)
			assert_string_equal(u.object, good[i].object);
		else
			assert_null(u.object);
		if (good[i].pin)
			assert_string_equal(u.pin_source, good[i].pin);
		else
			assert_null(u.pin_source);
		assert_int_equal(u.type, good[i].type);
		p11_uri_clear(&u);
	}
}

/* Refused URIs and a piece of the message that must be there (the attribute). */
static const struct {
	const char *uri;
	const char *msg;
} bad[] = {
	{ "", "must start with 'pkcs11:'" },
	{ "pkcs12:token=A", "must start with 'pkcs11:'" },
	{ "token=A", "must start with 'pkcs11:'" },
	{ "pkcs11:token=A?pin-value=1234", "'pin-value' is refused" },
	{ "pkcs11:token=A;pin-value=1234", "'pin-value' is refused" },
	{ "pkcs11:pin-value=", "'pin-value' is refused" },
	{ "pkcs11:token=A%2", "attribute 'token': truncated percent-escape" },
	{ "pkcs11:token=A%", "attribute 'token': truncated percent-escape" },
	{ "pkcs11:object=%zz", "attribute 'object': bad percent-escape" },
	{ "pkcs11:object=%g1", "attribute 'object': bad percent-escape" },
	{ "pkcs11:object=a%00b", "attribute 'object': NUL byte" },
	{ "pkcs11:token=%00", "attribute 'token': NUL byte" },
	{ "pkcs11:object=a b", "attribute 'object': raw byte 0x20" },
	{ "pkcs11:object=a\tb", "attribute 'object': raw byte 0x09" },
	{ "pkcs11:object=\xc3\xa9", "attribute 'object': raw byte 0xc3" },
	{ "pkcs11:token=A;token=B", "attribute 'token' appears twice" },
	{ "pkcs11:id=%01;id=%02", "attribute 'id' appears twice" },
	{ "pkcs11:token=A?pin-source=/a&pin-source=/b", "attribute 'pin-source' appears twice" },
	{ "pkcs11:token=", "attribute 'token' has an empty value" },
	{ "pkcs11:object=", "attribute 'object' has an empty value" },
	{ "pkcs11:id=", "attribute 'id' has an empty value" },
	{ "pkcs11:token=A?pin-source=", "attribute 'pin-source' has an empty value" },
	{ "pkcs11:token", "attribute 'token' has no '=value'" },
	{ "pkcs11:foo=bar", "unknown path attribute 'foo' (allowed: token," },
	{ "pkcs11:Token=A", "unknown path attribute 'Token'" },
	{ "pkcs11:token=A?foo=bar", "unknown query attribute 'foo' (allowed: pin-source" },
	{ "pkcs11:token=A;;object=b", "empty attribute" },
	{ "pkcs11:token=A;", "empty attribute (trailing ';')" },
	{ "pkcs11:;token=A", "empty attribute" },
	{ "pkcs11:token=A?", "empty query" },
	{ "pkcs11:token=A?pin-source=/a&", "empty attribute (trailing '&')" },
	{ "pkcs11:type=secret", "attribute 'type': 'secret' is not one of private, public, cert" },
	{ "pkcs11:type=PRIVATE", "attribute 'type'" },
	{ "pkcs11:slot-id=abc", "attribute 'slot-id': 'abc' is not a decimal number" },
	{ "pkcs11:slot-id=-1", "attribute 'slot-id': '-1' is not a decimal number" },
	{ "pkcs11:slot-id=+1", "attribute 'slot-id'" },
	{ "pkcs11:slot-id=12x", "attribute 'slot-id': '12x' is not a decimal number" },
	{ "pkcs11:slot-id=99999999999999999999999",
	  "attribute 'slot-id': '99999999999999999999999' is out of range" },
	{ "pkcs11:token=A?pin-source=relative/pin",
	  "attribute 'pin-source': 'relative/pin' is not an absolute path" },
	{ "pkcs11:token=A?pin-source=file:relative",
	  "attribute 'pin-source': 'relative' is not an absolute path" },
	{ "pkcs11:token=A?pin-source=file://host/pin", "attribute 'pin-source': a file URI with a host" },
	{ "pkcs11:token=A?pin-source=https://x/pin", "attribute 'pin-source': only file:" },
	{ "pkcs11:token=A?pin-source=env:PIN", "attribute 'pin-source': only file:" },
	{ "pkcs11:token=A?module-path=libsofthsm2.so",
	  "attribute 'module-path': 'libsofthsm2.so' is not an absolute path" },
	{ "pkcs11:token=A?token=B", "attribute 'token' belongs in the path" },
	{ "pkcs11:token=A?object=k", "attribute 'object' belongs in the path" },
	/* the same query attribute in the path and in the query, or twice in the path */
	{ "pkcs11:token=A;pin-source=/a?pin-source=/b",
	  "attribute 'pin-source' is given both in the path and in the query" },
	{ "pkcs11:token=A;pin-source=/a?pin-source=/a",
	  "attribute 'pin-source' is given both in the path and in the query" },
	{ "pkcs11:module-path=/m.so?pin-source=/p&module-path=/m.so",
	  "attribute 'module-path' is given both in the path and in the query" },
	{ "pkcs11:module-name=m?module-name=m",
	  "attribute 'module-name' is given both in the path and in the query" },
	{ "pkcs11:pin-source=/a;token=A;pin-source=/b", "attribute 'pin-source' appears twice" },
	/* the path form is checked like the query form */
	{ "pkcs11:token=A;pin-source=", "attribute 'pin-source' has an empty value" },
	{ "pkcs11:token=A;pin-source", "attribute 'pin-source' has no '=value'" },
	{ "pkcs11:token=A;pin-source=relative/pin",
	  "attribute 'pin-source': 'relative/pin' is not an absolute path" },
	{ "pkcs11:token=A;pin-source=file://host/pin", "attribute 'pin-source': a file URI with a host" },
	{ "pkcs11:token=A;pin-source=env:PIN", "attribute 'pin-source': only file:" },
	{ "pkcs11:token=A;pin-source=/a%00b", "attribute 'pin-source': NUL byte" },
	{ "pkcs11:token=A;module-path=libsofthsm2.so",
	  "attribute 'module-path': 'libsofthsm2.so' is not an absolute path" },
	{ "pkcs11:token=A;pin-source=/p?pin-value=1234", "'pin-value' is refused" },
	{ "pkcs11:pin-value=1234;pin-source=/p", "'pin-value' is refused" },
	{ "pkcs11:token=A#frag", "fragment" },
};

static void test_bad(void **state)
{
	for (size_t i = 0; i < NELEM(bad); i++) {
		struct p11_uri u;
		char err[512] = "";

		if (p11_uri_parse(bad[i].uri, &u, err, sizeof(err)) == 0)
			fail_msg("%s: accepted", bad[i].uri);
		if (strstr(err, bad[i].msg) == NULL)
			fail_msg("%s: message '%s' lacks '%s'", bad[i].uri, err, bad[i].msg);
		/* Refused URIs leave nothing allocated. */
		assert_null(u.token);
		assert_null(u.id);
	}
}

static void test_lengths(void **state)
{
	char *s = malloc(P11_URI_MAX + 64), err[256];
	struct p11_uri u;
	size_t n;

	/* A value of exactly P11_URI_MAX_VALUE bytes is fine, one more is not. */
	n = (size_t)sprintf(s, "pkcs11:object=");
	memset(s + n, 'a', P11_URI_MAX_VALUE);
	s[n + P11_URI_MAX_VALUE] = '\0';
	assert_int_equal(p11_uri_parse(s, &u, err, sizeof(err)), 0);
	assert_int_equal(strlen(u.object), P11_URI_MAX_VALUE);
	p11_uri_clear(&u);
	strcat(s, "a");
	assert_int_equal(p11_uri_parse(s, &u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "attribute 'object': value longer than 255 bytes"));
	/* Percent-escapes count as one byte each. */
	n = (size_t)sprintf(s, "pkcs11:id=");
	for (int i = 0; i < P11_URI_MAX_VALUE; i++)
		n += (size_t)sprintf(s + n, "%%%02x", i & 0xff);
	assert_int_equal(p11_uri_parse(s, &u, err, sizeof(err)), 0);
	assert_int_equal(u.idlen, P11_URI_MAX_VALUE);
	assert_int_equal(u.id[0], 0);
	p11_uri_clear(&u);
	/* The whole URI is capped. */
	n = (size_t)sprintf(s, "pkcs11:token=a");
	memset(s + n, 'b', P11_URI_MAX + 10 - n);
	s[P11_URI_MAX + 10] = '\0';
	assert_int_equal(p11_uri_parse(s, &u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than 4096 bytes"));
	free(s);
	/* A long unknown attribute name is cut in the message. */
	assert_int_equal(p11_uri_parse("pkcs11:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1", &u, err,
				       sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "unknown path attribute"));
	assert_int_equal(p11_uri_parse(NULL, &u, err, sizeof(err)), -1);
}

static void test_format_roundtrip(void **state)
{
	static const char *in[] = {
		"pkcs11:token=CAPF%20CA;object=k%3b1;id=%00%01%ff;type=private",
		"pkcs11:token=T;serial=1;slot-id=7;object=x?pin-source=file:/a%20b/pin&module-path=/m.so",
		"pkcs11:", "pkcs11:?pin-source=//n", /* found by the fuzzer: must not turn into a host */
	};
	for (size_t i = 0; i < NELEM(in); i++) {
		struct p11_uri a, b;
		char err[256], out[1024], out2[1024];

		assert_int_equal(p11_uri_parse(in[i], &a, err, sizeof(err)), 0);
		assert_int_equal(p11_uri_format(&a, 1, out, sizeof(out)), 0);
		if (p11_uri_parse(out, &b, err, sizeof(err)) != 0)
			fail_msg("%s -> %s: %s", in[i], out, err);
		assert_int_equal(p11_uri_format(&b, 1, out2, sizeof(out2)), 0);
		assert_string_equal(out, out2);
		assert_int_equal(a.idlen, b.idlen);
		if (a.idlen)
			assert_memory_equal(a.id, b.id, a.idlen);
		/* Without the query: no pin-source. */
		assert_int_equal(p11_uri_format(&a, 0, out, sizeof(out)), 0);
		assert_null(strstr(out, "pin-source"));
		/* Too small a buffer is an error, not a truncated URI. */
		assert_int_equal(p11_uri_format(&a, 1, out, 4), -1);
		p11_uri_clear(&a);
		p11_uri_clear(&b);
	}
	/* found by the fuzzer: a bare pin-source path written back as "file://" + path must
	 * still fit a value (255 bytes), so the longest path accepted is 248 bytes */
	{
		char uri[400], out[1024], err[256];
		struct p11_uri a;

		for (int len = 247; len <= 250; len++) {
			int n = snprintf(uri, sizeof(uri), "pkcs11:?pin-source=//");

			memset(uri + n, 'p', (size_t)len - 2);
			uri[n + len - 2] = '\0';
			if (len <= 248) {
				assert_int_equal(p11_uri_parse(uri, &a, err, sizeof(err)), 0);
				assert_int_equal(p11_uri_format(&a, 1, out, sizeof(out)), 0);
				p11_uri_clear(&a);
				assert_int_equal(p11_uri_parse(out, &a, err, sizeof(err)), 0);
				p11_uri_clear(&a);
			} else {
				assert_int_equal(p11_uri_parse(uri, &a, err, sizeof(err)), -1);
				assert_non_null(strstr(err, "longer than 248 bytes"));
			}
		}
	}
}

/* pin-source, module-path and module-name in the path parse to exactly what the
 * RFC 7512 query form gives. */
static const struct {
	const char *path_form, *query_form;
} same[] = {
	{ "pkcs11:token=T;object=K;pin-source=file:/path/pin",
	  "pkcs11:token=T;object=K?pin-source=file:/path/pin" },
	{ "pkcs11:pin-source=/p;token=T", "pkcs11:token=T?pin-source=/p" },
	{ "pkcs11:token=T;pin-source=file:%2Fa%20b;module-path=/m.so;module-name=softhsm2;id=%01",
	  "pkcs11:token=T;id=%01?module-name=softhsm2&module-path=/m.so&pin-source=file:/a%20b" },
	{ "pkcs11:token=T;pin-source=/p?module-path=/m.so", "pkcs11:token=T?module-path=/m.so&pin-source=/p" },
};

static void test_path_form(void **state)
{
	for (size_t i = 0; i < NELEM(same); i++) {
		struct p11_uri a, b;
		char err[256] = "", fa[1024], fb[1024];

		if (p11_uri_parse(same[i].path_form, &a, err, sizeof(err)) != 0)
			fail_msg("%s: refused: %s", same[i].path_form, err);
		if (p11_uri_parse(same[i].query_form, &b, err, sizeof(err)) != 0)
			fail_msg("%s: refused: %s", same[i].query_form, err);
		assert_non_null(a.pin_source);
		assert_string_equal(a.pin_source, b.pin_source);
		if (b.module_path)
			assert_string_equal(a.module_path, b.module_path);
		else
			assert_null(a.module_path);
		if (b.module_name)
			assert_string_equal(a.module_name, b.module_name);
		else
			assert_null(a.module_name);
		assert_string_equal(a.token, b.token);
		assert_int_equal(a.has_id, b.has_id);
		assert_int_equal(a.idlen, b.idlen);
		/* Every field: both write the same URI, in the RFC 7512 form. */
		assert_int_equal(p11_uri_format(&a, 1, fa, sizeof(fa)), 0);
		assert_int_equal(p11_uri_format(&b, 1, fb, sizeof(fb)), 0);
		assert_string_equal(fa, fb);
		assert_non_null(strstr(fa, "?pin-source=file:"));
		assert_int_equal(p11_uri_format(&a, 0, fa, sizeof(fa)), 0);
		assert_null(strstr(fa, "pin-source"));
		assert_null(strstr(fa, "module-"));
		p11_uri_clear(&a);
		p11_uri_clear(&b);
	}
}

static void test_copy(void **state)
{
	struct p11_uri a, b;
	char err[256];

	assert_int_equal(p11_uri_parse("pkcs11:token=T;id=%02%03;type=cert?pin-source=/p", &a, err,
				       sizeof(err)),
			 0);
	assert_int_equal(p11_uri_copy(&b, &a, err, sizeof(err)), 0);
	p11_uri_clear(&a);
	assert_string_equal(b.token, "T");
	assert_string_equal(b.pin_source, "/p");
	assert_int_equal(b.idlen, 2);
	assert_memory_equal(b.id, "\x02\x03", 2);
	assert_int_equal(b.type, P11_TYPE_CERT);
	p11_uri_clear(&b);
	assert_string_equal(p11_uri_type_name(P11_TYPE_SECRET), "secret-key");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_format_roundtrip),
		cmocka_unit_test(test_path_form),
		cmocka_unit_test(test_copy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
