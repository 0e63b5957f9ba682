# providers/: build fragment included by the top-level Makefile (see its header for the variables).
# capfhsm.so: the OpenSSL 3 provider (STORE for pkcs11: URIs, KEYMGMT RSA/EC,
# SIGNATURE RSA PKCS#1 v1.5 / PSS and ECDSA) over the token layer in pkcs11/.
CAPFHSM_SRCS := providers/provider.c providers/key.c providers/store.c providers/kmgmt.c \
                providers/signature.c providers/der.c
LIBRARIES    += $(CAPFHSM)

$(CAPFHSM): $(call objs,$(CAPFHSM_SRCS)) $(LIBP11)
	@mkdir -p $(dir $@)
	$(CC) $(SOFLAGS) -o $@ $(call objs,$(CAPFHSM_SRCS)) $(LIBP11) $(LIBCRYPTO) $(LIBPTHREAD) $(LIBDL)

# Tests: an integration binary on a real SoftHSM token (C, through OSSL_STORE),
# a unit test of the DER pieces, and shell tests with the stock openssl CLI.
PTEST_LIB := $(BUILD)/obj/tests/provider/ptoken.o
INTEG_TESTS += $(BUILD)/tests/test_provider_sign
$(BUILD)/tests/test_provider_sign: $(BUILD)/obj/tests/provider/test_provider_sign.o $(PTEST_LIB) $(LIBP11) | $(CAPFHSM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA) $(LIBCRYPTO) $(LIBDL) $(LIBPTHREAD)

# capfhsm in a host with its own OpenSSL allocator (CRYPTO_set_mem_functions).
INTEG_TESTS += $(BUILD)/tests/test_provider_alloc
$(BUILD)/tests/test_provider_alloc: $(BUILD)/obj/tests/provider/test_provider_alloc.o $(PTEST_LIB) $(BUILD)/lib/libcapfp11.a | $(CAPFHSM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA) $(LIBCRYPTO) $(LIBDL) $(LIBPTHREAD)

UNIT_TESTS += $(BUILD)/tests/test_provider_der
$(BUILD)/tests/test_provider_der: $(BUILD)/obj/tests/provider/test_provider_der.o $(BUILD)/obj/providers/der.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA) $(LIBCRYPTO)

SHELL_TESTS += tests/provider/test_provider_openssl.sh tests/provider/test_provider_tls.sh

# make bench: signatures/s through capfhsm vs OpenSSL in memory (RSA-2048, P-256; 1 thread and one per core).
BENCH_BINS += $(BUILD)/tests/bench_provider
BENCHES    += $(BUILD)/tests/bench_provider
$(BUILD)/tests/bench_provider: $(BUILD)/obj/tests/provider/bench_provider.o $(PTEST_LIB) $(LIBP11) | $(CAPFHSM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCRYPTO) $(LIBDL) $(LIBPTHREAD)
