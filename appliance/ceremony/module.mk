# appliance/ceremony: capf-ceremony, the config-driven key ceremony (scripts/ceremony runs it).
CEREMONY_SRCS := appliance/ceremony/ceremony.c appliance/ceremony/conf.c appliance/ceremony/transcript.c
PROGRAMS      += $(BUILD)/bin/capf-ceremony
SHELL_TESTS   += tests/integ/ceremony.sh
INSTALL_SHARE += scripts/ceremony.example.conf scripts/ceremony.rotate.example.conf

$(BUILD)/bin/capf-ceremony: $(call objs,$(CEREMONY_SRCS)) $(LIBCOMMON) $(LIBPOLICY) $(LIBP11)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCONFIG) $(LIBCRYPTO) $(LIBDL) $(LIBPTHREAD)
