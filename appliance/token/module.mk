# appliance/token: capf-token, the token administration tool (init, keygen, list, pubkey, info).
CAPF_TOKEN := $(BUILD)/bin/capf-token
PROGRAMS   += $(CAPF_TOKEN)
$(CAPF_TOKEN): $(call objs,appliance/token/capf-token.c) $(BUILD)/lib/libcapfp11.a $(BUILD)/lib/libcapfcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCRYPTO) $(LIBDL) $(LIBPTHREAD)
SHELL_TESTS += tests/integ/capf_token.sh
