/*
 * tests/unit/test_signerd_replay.c: the signer's replay cache
 * (appliance/signerd/replay.c): a key seen before is refused, a request that
 * repeats one key of several is refused as a whole and adds nothing, removal,
 * and the bound: the oldest keys make room, the newest stay.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/sha.h>

#include "appliance/signerd/replay.h"

static void key(uint8_t out[SIGNERD_REPLAY_KEY_LEN], unsigned i)
{
	unsigned char in[4] = { (unsigned char)(i >> 24), (unsigned char)(i >> 16), (unsigned char)(i >> 8),
				(unsigned char)i };

	SHA256(in, sizeof(in), out);
}

static void test_seen_before(void **state)
{
	struct signerd_replay *r = signerd_replay_new(8);
	uint8_t k[3][SIGNERD_REPLAY_KEY_LEN];

	(void)state;
	assert_non_null(r);
	key(k[0], 1);
	key(k[1], 2);
	key(k[2], 3);
	assert_int_equal(signerd_replay_check_add(r, k, 2, 2), 0);
	assert_int_equal(signerd_replay_count(r), 2);
	assert_int_equal(signerd_replay_check_add(r, k, 1, 1), 1);
	assert_int_equal(signerd_replay_check_add(r, k + 1, 1, 1), 1);
	/* one new key beside a seen one: refused, the new one not added */
	assert_int_equal(signerd_replay_check_add(r, k + 1, 2, 2), 1);
	assert_int_equal(signerd_replay_count(r), 2);
	assert_int_equal(signerd_replay_check_add(r, k + 2, 1, 1), 0);
	assert_int_equal(signerd_replay_count(r), 3);
	signerd_replay_free(r);
}

static void test_remove(void **state)
{
	struct signerd_replay *r = signerd_replay_new(4);
	uint8_t k[2][SIGNERD_REPLAY_KEY_LEN];

	(void)state;
	key(k[0], 10);
	key(k[1], 11);
	assert_int_equal(signerd_replay_check_add(r, k, 2, 2), 0);
	assert_true(signerd_replay_seen(r, k));
	signerd_replay_remove(r, k, 1);
	assert_false(signerd_replay_seen(r, k));
	assert_int_equal(signerd_replay_count(r), 1);
	assert_int_equal(signerd_replay_check_add(r, k, 1, 1), 0);
	assert_int_equal(signerd_replay_check_add(r, k + 1, 1, 1), 1);
	signerd_replay_free(r);
}

/* Keys added but not checked: a SUDI session's deterministic certificate proof
 * is remembered, yet does not stop the phone's next (fresh) SUDI session. */
static void test_unchecked(void **state)
{
	struct signerd_replay *r = signerd_replay_new(8);
	uint8_t k[3][SIGNERD_REPLAY_KEY_LEN];

	(void)state;
	key(k[0], 20); /* SUDI signature of session 1 */
	key(k[1], 21); /* the MIC proof */
	assert_int_equal(signerd_replay_check_add(r, k, 1, 2), 0);
	key(k[0], 22); /* SUDI signature of session 2, the same MIC proof */
	assert_int_equal(signerd_replay_check_add(r, k, 1, 2), 0);
	assert_int_equal(signerd_replay_count(r), 3);
	/* the MIC proof alone (no SUDI) is checked: seen before */
	assert_int_equal(signerd_replay_check_add(r, k + 1, 1, 1), 1);
	signerd_replay_free(r);
}

static void test_bounded(void **state)
{
	const unsigned cap = 100, total = 1000;
	struct signerd_replay *r = signerd_replay_new(cap);
	uint8_t k[1][SIGNERD_REPLAY_KEY_LEN];

	(void)state;
	for (unsigned i = 0; i < total; i++) {
		key(k[0], i);
		assert_int_equal(signerd_replay_check_add(r, k, 1, 1), 0);
		assert_true(signerd_replay_count(r) <= cap);
	}
	assert_int_equal(signerd_replay_count(r), cap);
	for (unsigned i = total - cap; i < total; i++) {
		key(k[0], i);
		assert_int_equal(signerd_replay_check_add(r, k, 1, 1), 1);
	}
	/* the oldest were evicted */
	key(k[0], 0);
	assert_int_equal(signerd_replay_check_add(r, k, 1, 1), 0);
	signerd_replay_free(r);
	assert_null(signerd_replay_new(0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seen_before),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_unchecked),
		cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
