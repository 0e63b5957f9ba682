# appliance/common: logging, careful file I/O and process hardening shared by the programs.
COMMON_SRCS := appliance/common/log.c appliance/common/file.c appliance/common/hsm.c \
	       appliance/common/x509.c appliance/common/harden.c \
	       appliance/common/peercred.c
LIBCOMMON   := $(BUILD)/lib/libcapfcommon.a
LIBRARIES   += $(LIBCOMMON)
$(LIBCOMMON): $(call objs,$(COMMON_SRCS))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^
