# appliance/capf + appliance/ipc: the two pure codecs (CAPF wire protocol, signer IPC),
# one archive for both: $(LIBCODEC). No OpenSSL, no sockets.
CAPF_CODEC_SRCS := appliance/capf/evidence.c appliance/capf/msg.c appliance/capf/proto.c \
		   appliance/capf/reader.c
IPC_CODEC_SRCS  := appliance/ipc/ipc_codec.c appliance/ipc/ipc_schema.c
CODEC_SRCS := $(CAPF_CODEC_SRCS) $(IPC_CODEC_SRCS)
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
FUZZ_SRCS_fuzz_capf_codec := $(CAPF_CODEC_SRCS)
FUZZ_SRCS_fuzz_ipc_codec := $(IPC_CODEC_SRCS)
