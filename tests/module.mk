# tests/: the harness, shared test helpers and the fuzz/bench plumbing.
# Unit and integration test sources live beside this file (tests/unit, tests/integ,
# tests/e2e) and are registered by the fragment of the module they test.

FUZZ_DIR    := build/fuzz
FUZZ_CC     ?= clang
FUZZ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE $(PKG_CFLAGS)
FUZZ_SECONDS ?= 15
# make fuzz: every target for a budget of executions, FUZZ_RUNS_<name> or FUZZ_RUNS
# (each run also bounded by FUZZ_MAX_SECONDS, see tests/run-fuzz); it prints each
# target's executions and executions per second. The codecs, the config parser and
# the URI parser get 10 million; the public-key decoder, which builds real keys, one.
FUZZ_RUNS ?= 10000000
FUZZ_RUNS_fuzz_pubkey ?= 1000000
# libconfig leaks a token's buffer on some syntax errors (see the target); a leak check
# after each such input scans the whole heap (20 times slower). Leaks are still checked
# when the run ends, and after every input in fuzz-smoke.
FUZZ_FLAGS_fuzz_policy_config := -detect_leaks=0

.PHONY: fuzz-build fuzz-smoke
.SECONDEXPANSION:
fuzz-build: $(addprefix $(FUZZ_DIR)/,$(FUZZERS))
fuzz: fuzz-build
	@$(foreach f,$(FUZZERS),tests/run-fuzz $(f) --runs $(or $(FUZZ_RUNS_$(f)),$(FUZZ_RUNS)) $(FUZZ_FLAGS_$(f)) &&) true

$(FUZZ_DIR)/%: tests/fuzz/%.c $$(FUZZ_SRCS_$$*)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRCS_$*) $(FUZZ_LIBS_$*)

# A short run of every fuzzer from its seed corpus; part of `make check SANITIZE=1`.
fuzz-smoke: fuzz-build
	@for f in $(FUZZERS); do tests/run-fuzz $$f --seconds $(FUZZ_SECONDS) || exit 1; done
SHELL_TESTS += tests/e2e/readme.sh

# capf-hostile: the hostile and odd clients and peers of the tests, one subcommand per case
# (tests/e2e/capf_hostile.c; capf-hostile --help).
HOSTILE := $(BUILD)/tests/capf-hostile
$(HOSTILE): $(call objs,tests/e2e/capf_hostile.c tests/e2e/hostile_ipc.c tests/integ/ipc_client.c) \
	    $(BUILD)/lib/libcapfcodec.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBSSL)
tests: $(HOSTILE)
