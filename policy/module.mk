# policy/: build fragment included by the top-level Makefile (see its header for the variables).
# The policy library: pure functions over data (no sockets, tokens or SQLite).
POLICY_SRCS := $(wildcard policy/*.c)
LIBPOLICY   := $(BUILD)/lib/libcapfpolicy.a
LIBRARIES   += $(LIBPOLICY)
$(LIBPOLICY): $(call objs,$(POLICY_SRCS))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
