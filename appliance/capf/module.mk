# appliance/capf + appliance/ipc: the two pure codecs (CAPF wire protocol, signer IPC),
# one archive for both: $(BUILD)/lib/libcapfcodec.a. No OpenSSL, no sockets.
# Link it literally as $(BUILD)/lib/libcapfcodec.a (fragments sorting before this one
# see $(LIBCODEC) empty at parse time).
CODEC_SRCS := $(wildcard appliance/capf/*.c) $(wildcard appliance/ipc/*.c)
LIBCODEC   := $(BUILD)/lib/libcapfcodec.a
LIBRARIES  += $(LIBCODEC)
$(LIBCODEC): $(call objs,$(CODEC_SRCS))
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

UNIT_TESTS += $(BUILD)/tests/test_capf_codec
$(BUILD)/tests/test_capf_codec: $(call objs,tests/unit/test_capf_codec.c) $(LIBCODEC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA)

UNIT_TESTS += $(BUILD)/tests/test_ipc_codec
$(BUILD)/tests/test_ipc_codec: $(call objs,tests/unit/test_ipc_codec.c) $(LIBCODEC)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA)

FUZZERS += fuzz_capf_codec fuzz_ipc_codec
FUZZ_SRCS_fuzz_capf_codec := $(wildcard appliance/capf/*.c)
FUZZ_SRCS_fuzz_ipc_codec := $(wildcard appliance/ipc/*.c)
