# appliance/frontd: capf-frontd, the network-facing CAPF server (TLS, epoll, no CA key).
FRONTD_SRCS := appliance/frontd/main.c appliance/frontd/session.c appliance/frontd/signer.c \
               appliance/frontd/tls.c appliance/frontd/sandbox.c appliance/frontd/peers.c
FRONTD      := $(BUILD)/bin/capf-frontd
PROGRAMS    += $(FRONTD)
$(FRONTD): $(call objs,$(FRONTD_SRCS)) $(LIBCODEC) $(LIBCOMMON) $(LIBPOLICY) $(LIBP11)
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
# --max-handshakes: silent connections hold no SSL object; stalled ClientHellos from four
# addresses are evicted for phones from a fifth.
SHELL_TESTS += tests/e2e/frontd_handshakes.sh
# Issue #14's figures: CPU per LSC of each process vs one token signature, latency at
# 64 and 512 phones, a 10,000-phone burst and peak RSS, bulk/report/list over 100,000
# devices; RSA-2048 and EC P-256 CAPF CA.
BENCHES     += tests/bench/bench_capacity.sh
