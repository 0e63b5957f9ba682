# appliance/frontd: capf-frontd, the network-facing CAPF server (TLS, epoll, no CA key).
FRONTD_SRCS := appliance/frontd/main.c appliance/frontd/session.c appliance/frontd/signer.c \
               appliance/frontd/tls.c appliance/frontd/sandbox.c appliance/frontd/peers.c
FRONTD      := $(BUILD)/bin/capf-frontd
PROGRAMS    += $(FRONTD)
$(FRONTD): $(call objs,$(FRONTD_SRCS)) $(BUILD)/lib/libcapfcodec.a $(BUILD)/lib/libcapfcommon.a \
           $(BUILD)/lib/libcapfpolicy.a $(BUILD)/lib/libcapfp11.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBSSL) $(LIBCONFIG) $(LIBSECCOMP) $(LIBDL) $(LIBPTHREAD)
SHELL_TESTS += tests/e2e/frontd_standalone.sh

# The raw signing rate of a token key (the ceiling for the end-to-end benchmark).
BENCH_BINS  += $(BUILD)/tests/bench_tokensign
$(BUILD)/tests/bench_tokensign: $(call objs,tests/bench/bench_tokensign.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCRYPTO) $(LIBPTHREAD)
SHELL_TESTS += tests/e2e/appliance_enroll.sh tests/e2e/appliance_enroll_p11kit.sh
SHELL_TESTS += tests/e2e/appliance_ops.sh
# Phones with older TLS stacks: tls.legacy, an RSA TLS key, capf-phone --tls-version 1.0.
SHELL_TESTS += tests/e2e/appliance_legacy_tls.sh
SHELL_TESTS += tests/e2e/appliance_local.sh
# 4,000 trickling connections from one address while 960 phones enroll from another.
SHELL_TESTS += tests/e2e/appliance_starve.sh
# The whole appliance: LSCs/s and latency vs the raw signing rate of the token key.
BENCHES     += tests/bench/bench_appliance.sh
