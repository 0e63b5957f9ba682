# policy/: build fragment included by the top-level Makefile (see its header for the variables).
# The policy library: pure functions over data (no sockets, tokens or SQLite).
POLICY_SRCS := policy/cacert.c policy/chain.c policy/config.c policy/decide.c policy/der.c \
	       policy/device.c policy/errlist.c policy/lsc_build.c policy/lsc_lint.c policy/names.c \
	       policy/pubkey.c policy/schedule.c policy/certlint.c policy/certutil.c policy/cfgwalk.c \
	       policy/osslerr.c
LIBRARIES   += $(LIBPOLICY)
$(LIBPOLICY): $(call objs,$(POLICY_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

# Unit tests (cmocka, no token): build/tests/test_policy_NAME from tests/unit/test_policy_NAME.c
# (a static pattern rule: its objects are named targets, so make keeps them)
POLICY_TESTS := config names decide pubkey chain lsc der certlint osslerr cfgwalk certutil
POLICY_TEST_BINS := $(patsubst %,$(BUILD)/tests/test_policy_%,$(POLICY_TESTS))
UNIT_TESTS   += $(POLICY_TEST_BINS)
$(POLICY_TEST_BINS): $(BUILD)/tests/test_policy_%: $(BUILD)/obj/tests/unit/test_policy_%.o \
		$(BUILD)/obj/tests/unit/policy_pki.o $(LIBPOLICY)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA) $(LIBCONFIG) $(LIBCRYPTO)

# Fuzzers: the config parser on arbitrary text, the phone public-key decoder.
POLICY_FUZZ_BASE := policy/config.c policy/cfgwalk.c policy/errlist.c policy/device.c
FUZZERS += fuzz_policy_config fuzz_pubkey
FUZZ_SRCS_fuzz_policy_config := $(POLICY_FUZZ_BASE)
FUZZ_LIBS_fuzz_policy_config := -lconfig -lcrypto
FUZZ_SRCS_fuzz_pubkey := policy/pubkey.c policy/der.c $(POLICY_FUZZ_BASE)
FUZZ_LIBS_fuzz_pubkey := -lcrypto -lconfig

# Benchmark: the policy's cost per issuance (prints figures).
BENCH_BINS += $(BUILD)/tests/bench_policy
BENCHES    += $(BUILD)/tests/bench_policy
$(BUILD)/tests/bench_policy: $(BUILD)/obj/tests/bench/bench_policy.o $(BUILD)/obj/tests/unit/policy_pki.o $(LIBPOLICY)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCONFIG) $(LIBCRYPTO)
INSTALL_SHARE += policy/capf.conf.example
