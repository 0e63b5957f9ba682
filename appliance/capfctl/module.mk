# appliance/capfctl: the operators' command, a client of capf-signerd's admin.sock.
CAPFCTL_SRCS := appliance/capfctl/main.c appliance/capfctl/conn.c appliance/capfctl/util.c \
		appliance/capfctl/audit.c appliance/capfctl/audit_signed.c appliance/capfctl/backup.c \
		appliance/capfctl/bulk.c appliance/capfctl/capf.c appliance/capfctl/certinfo.c \
		appliance/capfctl/device.c appliance/capfctl/device_fields.c \
		appliance/capfctl/device_history.c appliance/capfctl/itl.c appliance/capfctl/report.c \
		appliance/capfctl/tls.c appliance/capfctl/trust.c
CAPFCTL      := $(BUILD)/bin/capfctl
PROGRAMS     += $(CAPFCTL)
$(CAPFCTL): $(call objs,$(CAPFCTL_SRCS) appliance/ceremony/transcript.c) $(LIBCODEC) \
	    $(LIBCOMMON) $(LIBPOLICY) $(LIBSTORE) $(LIBITL) $(LIBP11)
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
# Troubleshoot, history, list filters, bulk rules, the JSON vocabulary.
SHELL_TESTS += tests/integ/capfctl_devices.sh
