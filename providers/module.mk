# providers/: build fragment included by the top-level Makefile (see its header for the variables).
# capfhsm.so: the OpenSSL 3 provider (STORE for pkcs11: URIs, KEYMGMT RSA/EC,
# SIGNATURE RSA PKCS#1 v1.5 / PSS and ECDSA) over the token layer in pkcs11/.
CAPFHSM_SRCS := providers/provider.c providers/key.c providers/store.c providers/kmgmt.c \
                providers/signature.c providers/der.c
CAPFHSM      := $(BUILD)/lib/capfhsm.so
LIBRARIES    += $(CAPFHSM)

$(CAPFHSM): $(call objs,$(CAPFHSM_SRCS)) $(BUILD)/lib/libcapfp11.a
	@mkdir -p $(dir $@)
	$(CC) $(SOFLAGS) -o $@ $(call objs,$(CAPFHSM_SRCS)) $(BUILD)/lib/libcapfp11.a $(LIBCRYPTO) $(LIBPTHREAD) $(LIBDL)
