# appliance/token: capf-token, the token administration tool (init, keygen, list, pubkey, info).
CAPF_TOKEN := $(BUILD)/bin/capf-token
PROGRAMS   += $(CAPF_TOKEN)
$(CAPF_TOKEN): $(call objs,appliance/token/capf-token.c) $(LIBP11) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCRYPTO) $(LIBDL) $(LIBPTHREAD)
SHELL_TESTS += tests/integ/capf_token.sh
