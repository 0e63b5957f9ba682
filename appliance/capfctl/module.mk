# appliance/capfctl: the operators' command, a client of capf-signerd's admin.sock.
# Libraries are named literally: fragments sorting after this one (common, ipc,
# store) have not set their variables yet when this one is read.
CAPFCTL_SRCS := $(wildcard appliance/capfctl/*.c)
CAPFCTL      := $(BUILD)/bin/capfctl
PROGRAMS     += $(CAPFCTL)
$(CAPFCTL): $(call objs,$(CAPFCTL_SRCS)) $(BUILD)/lib/libcapfcodec.a \
	    $(BUILD)/lib/libcapfcommon.a $(BUILD)/lib/libcapfpolicy.a \
	    $(BUILD)/lib/libcapfitl.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCONFIG) $(LIBCRYPTO)

# capfctl and the ADMIN verbs against the real daemon, token and store.
SHELL_TESTS += tests/integ/capfctl.sh
