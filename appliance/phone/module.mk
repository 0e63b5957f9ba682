# appliance/phone: capf-phone, a CAPF client behaving like a phone or Jabber (tests, benchmarks, operators).
PHONE_LIB_SRCS := appliance/phone/crypto.c appliance/phone/session.c appliance/phone/pattern.c \
                  appliance/phone/tls.c appliance/phone/loop.c
PROGRAMS += $(BUILD)/bin/capf-phone
$(BUILD)/bin/capf-phone: $(call objs,appliance/phone/main.c $(PHONE_LIB_SRCS)) \
		$(LIBCODEC) $(LIBCOMMON) $(LIBPOLICY)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBSSL) $(LIBCONFIG) $(LIBPTHREAD)

UNIT_TESTS += $(BUILD)/tests/test_phone
$(BUILD)/tests/test_phone: $(call objs,tests/unit/test_phone.c $(PHONE_LIB_SRCS)) $(LIBCODEC) $(LIBCOMMON) $(LIBPOLICY)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBCMOCKA) $(LIBSSL) $(LIBCONFIG) $(LIBPTHREAD)

# capf-phone against a real capf-frontd (no signer: RETRY_LATER), TLS pinning, usage, load mode
SHELL_TESTS += tests/e2e/phone_frontd.sh
# capf-phone against the whole appliance (scripts/appliance-local): install, fetch, delete, fall-back, load
SHELL_TESTS += tests/e2e/phone_appliance.sh
# enrollments/s of the whole appliance, driven by capf-phone --load (prints figures only)
BENCHES += tests/bench/bench_phone_load.sh
