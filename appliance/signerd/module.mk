# appliance/signerd: capf-signerd, the hardened signing daemon.
# The ADMIN role's verbs (admin.c's table and the files it dispatches to).
SIGNERD_ADMIN_SRCS := appliance/signerd/admin.c appliance/signerd/admin_audit.c \
		      appliance/signerd/admin_backup.c appliance/signerd/admin_bulk.c \
		      appliance/signerd/admin_ca.c appliance/signerd/admin_capf.c \
		      appliance/signerd/admin_devices.c appliance/signerd/admin_history.c \
		      appliance/signerd/admin_tls.c
SIGNERD_SRCS := appliance/signerd/main.c appliance/signerd/harden.c appliance/signerd/ca.c \
		appliance/signerd/serve.c appliance/signerd/dispatch.c appliance/signerd/front.c \
		appliance/signerd/authcheck.c appliance/signerd/possession.c appliance/signerd/util.c \
		appliance/signerd/tokstate.c appliance/signerd/checkfiles.c appliance/signerd/replay.c \
		appliance/signerd/authkey.c appliance/signerd/checkpoint.c \
		appliance/signerd/keyproc.c appliance/signerd/keyops.c \
		$(SIGNERD_ADMIN_SRCS)
SIGNERD      := $(BUILD)/bin/capf-signerd
PROGRAMS     += $(SIGNERD)

# No PKCS#11 code in the signer: libcapfp11 is not linked (capf-keyd holds the token).
$(SIGNERD): $(call objs,$(SIGNERD_SRCS)) $(LIBSTORE) $(LIBCODEC) $(LIBCOMMON) $(LIBPOLICY) | $(BUILD)/bin/capf-keyd
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LIBSECCOMP) $(LIBCONFIG) $(LIBSQLITE) $(LIBCRYPTO) $(LIBPTHREAD)

# Tests: the possession check alone (cmocka), and the daemon on a real token,
# real sockets and a real SQLite file (tests/integ/signerd.sh with its client).
UNIT_TESTS  += $(BUILD)/tests/test_signerd_pop
$(BUILD)/tests/test_signerd_pop: $(call objs,tests/unit/test_signerd_pop.c appliance/signerd/possession.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA) $(LIBCRYPTO)

UNIT_TESTS  += $(BUILD)/tests/test_signerd_replay
$(BUILD)/tests/test_signerd_replay: $(call objs,tests/unit/test_signerd_replay.c appliance/signerd/replay.c)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA) $(LIBCRYPTO) $(LIBPTHREAD)

# The integration tests' client (front verbs through the IPC codec, store access).
SIGNERD_CLIENT := $(BUILD)/tests/signerd-client
$(SIGNERD_CLIENT): $(call objs,tests/integ/signerd_client.c tests/integ/ipc_client.c) $(LIBSTORE) \
		   $(LIBCODEC) $(LIBCOMMON) $(LIBPOLICY)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCONFIG) $(LIBSQLITE) $(LIBCRYPTO) $(LIBPTHREAD)
tests: $(SIGNERD_CLIENT)
SHELL_TESTS += tests/integ/signerd.sh

# The CAPF CA's token gone under load and back (p11-kit server killed; SoftHSM's
# token directory moved away): RETRY_LATER at BEGIN, recovery without a restart,
# nothing lost. The benchmark keeps it down 10 s and prints the recovery figures.
SHELL_TESTS += tests/e2e/token_outage.sh
BENCHES     += tests/bench/bench_token_outage.sh
# sockets.dir refused when others may write it; capfctl checks who serves admin.sock.
SHELL_TESTS += tests/integ/sockets_trust.sh
SHELL_TESTS += tests/e2e/audit_signed.sh
BENCHES     += tests/bench/bench_bulk_auth.sh
