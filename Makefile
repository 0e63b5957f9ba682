# capf-appliance: plain make, no generator.
#
#   make                 build everything into build/
#   make check           install missing Debian packages, build, run every test
#   make check SANITIZE=1  the same under ASan+UBSan (build/asan/), plus a short fuzz run
#   make bench           benchmarks; they print their figures
#   make fuzz            libFuzzer targets (clang) into build/fuzz/, each run for its budget (tests/module.mk)
#   make format          rewrite the C sources in the project's style (.clang-format)
#   make format-check    list the C sources not in that style (part of make check)
#   make demo            run the appliance on its defaults and enroll a simulated phone
#   make install PREFIX=/usr/local DESTDIR=
#   make deb             the Debian packages into build/deb/ (scripts/make-deb; docs/INSTALL.md)
#   make clean
#
# Each top-level folder contributes a module.mk fragment; this file holds only
# the shared flags, the project's library names, the generic compile rule and the
# top-level targets. Fragments list their sources explicitly (no $(wildcard)): a
# new .c file is built when a fragment names it. docs/HACKING.md explains how to
# add a program, a library or a test.

SANITIZE ?= 0
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
# one version for every program and the package (appliance/common/version.c)
CAPF_VERSION := $(shell cat VERSION)

ifeq ($(SANITIZE),1)
BUILD    ?= build/asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT      := -O1
else
BUILD    ?= build
SANFLAGS :=
OPT      := -O2
endif

PKG_CFLAGS := $(shell pkg-config --cflags libcrypto libssl libconfig sqlite3 libseccomp cmocka 2>/dev/null) \
              -I/usr/include/p11-kit-1
# The project's own flags (hardening, -Werror) come first; CPPFLAGS, CFLAGS and
# LDFLAGS given in the environment or on the command line (dpkg-buildflags) are
# appended to them, never in their place: `override` keeps a command-line
# value from replacing the whole variable.
CAPF_CPPFLAGS := -I. -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 $(PKG_CFLAGS) -MMD -MP
CAPF_CFLAGS   := -std=c11 $(OPT) -g -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes \
                 -Wno-unused-parameter -fstack-protector-strong -fPIC -fvisibility=hidden $(SANFLAGS)
CAPF_LDFLAGS  := -pie -Wl,-z,relro,-z,now -Wl,--as-needed $(SANFLAGS)
USER_LDFLAGS  := $(LDFLAGS)
override CPPFLAGS := $(CAPF_CPPFLAGS) $(CPPFLAGS)
override CFLAGS   := $(CAPF_CFLAGS) $(CFLAGS)
override LDFLAGS  := $(CAPF_LDFLAGS) $(USER_LDFLAGS)
SOFLAGS  := -shared -Wl,-z,relro,-z,now -Wl,-z,defs $(SANFLAGS) $(USER_LDFLAGS)

LIBCRYPTO := -lcrypto
LIBSSL    := -lssl -lcrypto
LIBCONFIG := -lconfig
LIBSQLITE := -lsqlite3
LIBSECCOMP:= -lseccomp
LIBCMOCKA := -lcmocka
LIBDL     := -ldl
LIBPTHREAD:= -pthread

# The project's own libraries, declared here so that every fragment can name them
# whatever order the fragments are read in (each fragment adds its rule).
LIBP11    := $(BUILD)/lib/libcapfp11.a
CAPFHSM   := $(BUILD)/lib/capfhsm.so
LIBPOLICY := $(BUILD)/lib/libcapfpolicy.a
LIBCODEC  := $(BUILD)/lib/libcapfcodec.a
LIBCOMMON := $(BUILD)/lib/libcapfcommon.a
LIBSTORE  := $(BUILD)/lib/libcapfstore.a
LIBITL    := $(BUILD)/lib/libcapfitl.a

# objs(SRCS): object files for a list of sources
objs = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

# Filled by the module fragments.
PROGRAMS    :=	# build/bin/...
LIBRARIES   :=	# build/lib/...
UNIT_TESTS  :=	# cmocka binaries, no token needed
INTEG_TESTS :=	# binaries needing a SoftHSM token / sockets / SQLite files
SHELL_TESTS :=	# tests/*.sh scripts, run after all binaries are built
BENCH_BINS  :=	# binaries only `make bench` builds
BENCHES     :=	# benchmark commands
FUZZERS     :=	# libFuzzer target names (tests/fuzz/NAME.c)
INSTALL_SHARE :=	# files `make install` puts in share/capf-appliance

.PHONY: all check bench fuzz demo install clean deps tests deb format format-check
all:

include pkcs11/module.mk
include providers/module.mk
include policy/module.mk
include appliance/module.mk
include tests/module.mk
include dist/module.mk

all: $(LIBRARIES) $(PROGRAMS)
tests: all $(UNIT_TESTS) $(INTEG_TESTS)

deps:
	@scripts/install-deps

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

check: deps
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory tests
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/run-tests $(UNIT_TESTS) $(INTEG_TESTS) $(SHELL_TESTS)
ifeq ($(SANITIZE),1)
	@$(MAKE) --no-print-directory fuzz-smoke
endif

bench: deps all $(BENCH_BINS)
	@BUILD=$(BUILD) tests/run-bench $(BENCHES)

demo: deps all
	@BUILD=$(BUILD) scripts/demo

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/capf-appliance $(DESTDIR)$(PREFIX)/share/capf-appliance
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(BUILD)/lib/capfhsm.so $(DESTDIR)$(PREFIX)/lib/capf-appliance/
	for f in $(INSTALL_SHARE); do install -m 0644 $$f $(DESTDIR)$(PREFIX)/share/capf-appliance/; done

clean:
	rm -rf build

# The code style: every C source and header of the project (no generated or
# third-party C in the tree; build/ and the fuzz corpora are not searched).
# scripts/format-check explains .clang-format-pending.
CLANG_FORMAT  ?= clang-format
FORMAT_DIRS   := pkcs11 providers policy appliance tests
FORMAT_SRCS    = $(shell find $(FORMAT_DIRS) -path tests/fuzz/corpus -prune -o -type f \
		   \( -name '*.c' -o -name '*.h' \) -print | LC_ALL=C sort)
format:
	$(CLANG_FORMAT) -i --style=file $(FORMAT_SRCS)
format-check:
	@CLANG_FORMAT=$(CLANG_FORMAT) scripts/format-check $(FORMAT_SRCS)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
