# appliance/common: logging, careful file I/O and process hardening shared by the programs.
COMMON_SRCS := appliance/common/log.c appliance/common/file.c appliance/common/hsm.c \
	       appliance/common/x509.c appliance/common/harden.c appliance/common/sdnotify.c \
	       appliance/common/version.c appliance/common/peercred.c \
	       appliance/common/conffile.c appliance/common/argnum.c
LIBRARIES   += $(LIBCOMMON)
$(LIBCOMMON): $(call objs,$(COMMON_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

# appliance/common/hsm.c on a real SoftHSM token (through the capfhsm provider).
INTEG_TESTS += $(BUILD)/tests/test_hsm
$(BUILD)/tests/test_hsm: $(BUILD)/obj/tests/integ/test_hsm.o $(BUILD)/obj/tests/provider/ptoken.o \
		$(LIBCOMMON) $(LIBPOLICY) $(LIBP11) | $(CAPFHSM)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA) $(LIBCRYPTO) $(LIBDL) $(LIBPTHREAD)

# Tests: numbers from a command line.
UNIT_TESTS  += $(BUILD)/tests/test_argnum
$(BUILD)/tests/test_argnum: $(call objs,tests/unit/test_argnum.c) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA)

# Tests: the sd_notify datagram and journal-aware log lines (real sockets, files).
UNIT_TESTS  += $(BUILD)/tests/test_sdnotify
$(BUILD)/tests/test_sdnotify: $(call objs,tests/unit/test_sdnotify.c) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA)
# the version string: the top-level VERSION file, compiled into version.o only (its own
# rule, so that CPPFLAGS given on the command line do not drop the define)
$(BUILD)/obj/appliance/common/version.o: appliance/common/version.c VERSION
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DCAPF_VERSION='"$(CAPF_VERSION)"' $(CFLAGS) -c -o $@ $<
SHELL_TESTS += tests/integ/version.sh

# capf_file_read and capf_conf_load on real files: caps, directories, a FIFO refused without hanging.
UNIT_TESTS  += $(BUILD)/tests/test_file
$(BUILD)/tests/test_file: $(call objs,tests/unit/test_file.c tests/unit/policy_pki.c) $(LIBCOMMON) \
		$(BUILD)/lib/libcapfpolicy.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA) $(LIBCONFIG) $(LIBCRYPTO)
