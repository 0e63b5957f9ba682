# appliance/itl: the ITL/CTL TLV codec (ITLFile.tlv), pure; used by capfctl.
ITL_SRCS := appliance/itl/itl.c
LIBRARIES += $(LIBITL)
$(LIBITL): $(call objs,$(ITL_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

UNIT_TESTS += $(BUILD)/tests/test_itl
$(BUILD)/tests/test_itl: $(call objs,tests/unit/test_itl.c) $(LIBITL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA)

FUZZERS += fuzz_itl
FUZZ_SRCS_fuzz_itl := $(ITL_SRCS)

# capfctl itl build|show|record with a SAST key from a real SoftHSM token, checked by an
# independent parser and the openssl CLI.
SHELL_TESTS += tests/integ/itl.sh
