# appliance/store: capf-signerd's SQLite store (WAL, group commit, audit chain)
# and the authentication-string KDF shared with capfctl.
STORE_SRCS := appliance/store/store.c appliance/store/store_schema.c \
	      appliance/store/store_vfs.c appliance/store/store_audit.c \
	      appliance/store/store_devices.c appliance/store/store_issuances.c \
	      appliance/store/store_certs.c appliance/store/authhash.c \
	      appliance/store/store_backup.c \
	      appliance/store/store_history.c \
	      appliance/store/audit_chain.c appliance/store/store_checkpoint.c
LIBRARIES  += $(LIBSTORE)
$(LIBSTORE): $(call objs,$(STORE_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

# Users link: $(LIBSTORE) $(LIBPOLICY) $(LIBSQLITE) $(LIBCRYPTO) $(LIBPTHREAD)
STORE_LINK := $(LIBSQLITE) $(LIBCRYPTO) $(LIBPTHREAD)

# Tests: authhash needs no database (unit); the store uses real SQLite files.
UNIT_TESTS  += $(BUILD)/tests/test_authhash
INTEG_TESTS += $(BUILD)/tests/test_store
$(BUILD)/tests/test_authhash: $(call objs,tests/unit/test_authhash.c) $(LIBSTORE)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA) $(LIBCRYPTO)
$(BUILD)/tests/test_store: $(call objs,tests/integ/test_store.c) $(LIBSTORE) $(LIBPOLICY)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA) $(STORE_LINK)

# Benchmark: issuance records/s, 1 and 16 threads, group commit vs naive.
BENCH_BINS += $(BUILD)/tests/bench_store
BENCHES    += $(BUILD)/tests/bench_store
$(BUILD)/tests/bench_store: $(call objs,tests/bench/bench_store.c) $(LIBSTORE) $(LIBPOLICY)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(STORE_LINK)

# Authentication strings as a token HMAC (pkcs11/secret.c + authhash.c) on a real SoftHSM token.
INTEG_TESTS += $(BUILD)/tests/test_authmac
$(BUILD)/tests/test_authmac: $(call objs,tests/integ/test_authmac.c) $(LIBSTORE) $(LIBP11)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA) $(LIBCRYPTO) $(LIBDL) $(LIBPTHREAD)

# Benchmark: one authentication string hashed with scrypt (before) and with the
# token's HMAC (after), and what a 10,000-device bulk of unique strings costs.
BENCH_BINS += $(BUILD)/tests/bench_authhash
BENCHES    += $(BUILD)/tests/bench_authhash
$(BUILD)/tests/bench_authhash: $(call objs,tests/bench/bench_authhash.c) $(LIBSTORE) $(LIBP11)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCRYPTO) $(LIBDL) $(LIBPTHREAD)
