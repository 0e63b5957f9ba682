# appliance/signerd: capf-signerd, the hardened signing daemon.
# The ADMIN role's verbs live in appliance/signerd/admin*.c (another owner);
# until they exist, dispatch.c answers admin verbs with ERROR "admin verbs not built".
SIGNERD_ADMIN_SRCS := $(sort $(wildcard appliance/signerd/admin*.c))
SIGNERD_HAVE_ADMIN := $(if $(SIGNERD_ADMIN_SRCS),1,0)
SIGNERD_SRCS := appliance/signerd/main.c appliance/signerd/harden.c appliance/signerd/ca.c \
		appliance/signerd/serve.c appliance/signerd/dispatch.c appliance/signerd/front.c \
		appliance/signerd/authcheck.c appliance/signerd/possession.c appliance/signerd/util.c \
		appliance/signerd/tokstate.c appliance/signerd/checkfiles.c appliance/signerd/replay.c \
		appliance/signerd/authkey.c appliance/signerd/checkpoint.c \
		$(SIGNERD_ADMIN_SRCS)
SIGNERD      := $(BUILD)/bin/capf-signerd
PROGRAMS     += $(SIGNERD)

# dispatch.o is rebuilt when admin sources appear or go (the stamp's name changes).
SIGNERD_STAMP := $(BUILD)/obj/appliance/signerd/.admin-$(SIGNERD_HAVE_ADMIN)
$(BUILD)/obj/appliance/signerd/dispatch.o: override CPPFLAGS += -DSIGNERD_HAVE_ADMIN=$(SIGNERD_HAVE_ADMIN)
$(BUILD)/obj/appliance/signerd/dispatch.o: $(SIGNERD_STAMP)
$(SIGNERD_STAMP):
	@mkdir -p $(dir $@)
	@rm -f $(dir $@).admin-*
	@touch $@

$(SIGNERD): $(call objs,$(SIGNERD_SRCS)) $(BUILD)/lib/libcapfstore.a $(BUILD)/lib/libcapfpolicy.a \
	    $(BUILD)/lib/libcapfcodec.a $(BUILD)/lib/libcapfcommon.a $(BUILD)/lib/libcapfp11.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBSECCOMP) $(LIBCONFIG) $(LIBSQLITE) $(LIBCRYPTO) $(LIBDL) $(LIBPTHREAD)

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
$(SIGNERD_CLIENT): $(call objs,tests/integ/signerd_client.c tests/integ/ipc_client.c) $(BUILD)/lib/libcapfstore.a \
		   $(BUILD)/lib/libcapfpolicy.a $(BUILD)/lib/libcapfcodec.a $(BUILD)/lib/libcapfcommon.a
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
