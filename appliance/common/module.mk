# appliance/common: logging, careful file I/O and process hardening shared by the programs.
COMMON_SRCS := appliance/common/log.c appliance/common/file.c appliance/common/hsm.c \
	       appliance/common/x509.c appliance/common/harden.c appliance/common/sdnotify.c
LIBCOMMON   := $(BUILD)/lib/libcapfcommon.a
LIBRARIES   += $(LIBCOMMON)
$(LIBCOMMON): $(call objs,$(COMMON_SRCS))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# appliance/common/hsm.c on a real SoftHSM token (through the capfhsm provider).
INTEG_TESTS += $(BUILD)/tests/test_hsm
$(BUILD)/tests/test_hsm: $(BUILD)/obj/tests/integ/test_hsm.o $(BUILD)/obj/tests/provider/ptoken.o \
		$(LIBCOMMON) $(BUILD)/lib/libcapfp11.a | $(BUILD)/lib/capfhsm.so
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA) $(LIBCRYPTO) $(LIBDL) $(LIBPTHREAD)

# Tests: the sd_notify datagram and journal-aware log lines (real sockets, files).
UNIT_TESTS  += $(BUILD)/tests/test_sdnotify
$(BUILD)/tests/test_sdnotify: $(call objs,tests/unit/test_sdnotify.c) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA)
