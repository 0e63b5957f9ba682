# appliance/capfctl: the operators' command, a client of capf-signerd's admin.sock.
# Libraries are named literally: fragments sorting after this one (common, ipc,
# store) have not set their variables yet when this one is read.
CAPFCTL_SRCS := $(wildcard appliance/capfctl/*.c)
CAPFCTL      := $(BUILD)/bin/capfctl
PROGRAMS     += $(CAPFCTL)
$(CAPFCTL): $(call objs,$(CAPFCTL_SRCS) appliance/ceremony/transcript.c) $(BUILD)/lib/libcapfcodec.a \
	    $(BUILD)/lib/libcapfcommon.a $(BUILD)/lib/libcapfpolicy.a $(BUILD)/lib/libcapfstore.a \
	    $(BUILD)/lib/libcapfitl.a $(BUILD)/lib/libcapfp11.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCONFIG) $(LIBCRYPTO)

# capfctl and the ADMIN verbs against the real daemon, token and store.
SHELL_TESTS += tests/integ/capfctl.sh
SHELL_TESTS += tests/e2e/backup.sh
# third-party import -> restart -> enroll; ceremony rotation adopted; exports as errors
SHELL_TESTS += tests/integ/capf_rotation.sh
# the same through scripts/appliance-local, both daemons and capf-phone over TLS
SHELL_TESTS += tests/e2e/appliance_rotation.sh
# ... and through p11-kit server + client module, as a network HSM is reached
SHELL_TESTS += tests/e2e/appliance_rotation_p11kit.sh
# issue #13: Troubleshoot, history, list filters, bulk rules, the JSON vocabulary.
SHELL_TESTS += tests/integ/capfctl_devices.sh
