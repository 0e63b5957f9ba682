# appliance/keyd: capf-keyd, capf-signerd's key process: the only process with a
# token session (the signer's supervisor starts it; appliance/keyd/keyd.h).
KEYD_SRCS := appliance/keyd/main.c appliance/keyd/keys.c appliance/keyd/keygen.c \
	     appliance/keyd/sandbox.c
KEYD      := $(BUILD)/bin/capf-keyd
PROGRAMS  += $(KEYD)
$(KEYD): $(call objs,$(KEYD_SRCS)) $(LIBCODEC) $(LIBCOMMON) $(LIBPOLICY) $(LIBP11)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBSECCOMP) $(LIBCONFIG) $(LIBCRYPTO) $(LIBDL) $(LIBPTHREAD)

# Tests: what the key process signs and refuses (a client acting as a compromised
# signer, on a real token), its allow-list, the process split, restarts.
KEYD_CLIENT := $(BUILD)/tests/keyd-client
$(KEYD_CLIENT): $(call objs,tests/integ/keyd_client.c) $(LIBCODEC) $(LIBCOMMON) $(LIBPOLICY)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCONFIG) $(LIBCRYPTO)
tests: $(KEYD_CLIENT)
SHELL_TESTS += tests/integ/keyd.sh
BENCHES     += tests/bench/bench_keyproc.sh
