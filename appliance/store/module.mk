# appliance/store: capf-signerd's SQLite store (WAL, group commit, audit chain)
# and the authentication-string KDF shared with capfctl.
STORE_SRCS := appliance/store/store.c appliance/store/store_schema.c \
	      appliance/store/store_vfs.c appliance/store/store_audit.c \
	      appliance/store/store_devices.c appliance/store/store_issuances.c \
	      appliance/store/store_certs.c appliance/store/authhash.c
LIBSTORE   := $(BUILD)/lib/libcapfstore.a
LIBRARIES  += $(LIBSTORE)
$(LIBSTORE): $(call objs,$(STORE_SRCS))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# Users link: $(LIBSTORE) $(LIBPOLICY) $(LIBSQLITE) $(LIBCRYPTO) $(LIBPTHREAD)
STORE_LINK := $(LIBSQLITE) $(LIBCRYPTO) $(LIBPTHREAD)
