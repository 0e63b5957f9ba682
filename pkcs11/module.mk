# pkcs11/: build fragment included by the top-level Makefile (see its header for the variables).
# libcapfp11.a: the token layer (Cryptoki over dlopen, pkcs11: URIs, PIN files,
# session pool, fault recovery). Public headers: pkcs11/p11.h, p11_uri.h, p11_pin.h.
# Link users with: $(LIBP11) $(LIBCRYPTO) $(LIBDL) $(LIBPTHREAD)
P11_SRCS := pkcs11/destroy.c pkcs11/keygen.c pkcs11/module.c pkcs11/object.c pkcs11/pin.c \
	    pkcs11/rv.c pkcs11/secret.c pkcs11/sign.c pkcs11/token.c pkcs11/uri.c
LIBRARIES += $(LIBP11)
$(LIBP11): $(call objs,$(P11_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

# Tests: units (no token) and integration (real SoftHSM tokens in temp dirs).
# (A static pattern rule: its objects are named targets, so make keeps them.)
P11_UNITS := test_p11_uri test_p11_pin test_p11_misc
UNIT_TESTS += $(addprefix $(BUILD)/tests/,$(P11_UNITS))
$(addprefix $(BUILD)/tests/,$(P11_UNITS)): $(BUILD)/tests/test_p11_%: $(BUILD)/obj/tests/unit/test_p11_%.o $(LIBP11)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA) $(LIBCRYPTO) $(LIBDL) $(LIBPTHREAD)

# Integration: a real SoftHSM token, loaded through a C_Login-counting pass-through.
P11_SPY := $(BUILD)/tests/libp11spy.so
INTEG_TESTS += $(BUILD)/tests/test_p11_token
$(P11_SPY): $(BUILD)/obj/tests/integ/p11spy.o
	@mkdir -p $(dir $@)
	$(CC) $(SOFLAGS) -o $@ $^ $(LIBDL) $(LIBPTHREAD)
$(BUILD)/tests/test_p11_token: $(BUILD)/obj/tests/integ/test_p11_token.o $(LIBP11) | $(P11_SPY)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA) $(LIBCRYPTO) $(LIBDL) $(LIBPTHREAD)

# Fuzzing: the URI parser (pure).
FUZZERS += p11_uri
FUZZ_SRCS_p11_uri := pkcs11/uri.c

# Benchmark: raw p11_sign throughput over the session pool, 1..8 threads.
BENCH_BINS += $(BUILD)/tests/bench_p11_sign
BENCHES    += $(BUILD)/tests/bench_p11_sign
$(BUILD)/tests/bench_p11_sign: $(BUILD)/obj/tests/bench/bench_p11_sign.o $(LIBP11)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCRYPTO) $(LIBDL) $(LIBPTHREAD)
