# tests/: the harness, shared test helpers and the fuzz/bench plumbing.
# Unit and integration test sources live beside this file (tests/unit, tests/integ,
# tests/e2e) and are registered by the fragment of the module they test.

FUZZ_DIR    := build/fuzz
FUZZ_CC     ?= clang
FUZZ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE $(PKG_CFLAGS)
FUZZ_SECONDS ?= 15

.PHONY: fuzz-smoke
.SECONDEXPANSION:
fuzz: $(addprefix $(FUZZ_DIR)/,$(FUZZERS))

$(FUZZ_DIR)/%: tests/fuzz/%.c $$(FUZZ_SRCS_$$*)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRCS_$*) $(FUZZ_LIBS_$*)

# A short run of every fuzzer from its seed corpus; part of `make check SANITIZE=1`.
fuzz-smoke: fuzz
	@for f in $(FUZZERS); do \
	  mkdir -p build/fuzz/corpus/$$f; \
	  seeds=tests/fuzz/corpus/$$f; [ -d $$seeds ] || seeds=; \
	  echo "fuzz $$f: $(FUZZ_SECONDS)s"; \
	  $(FUZZ_DIR)/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
	     build/fuzz/corpus/$$f $$seeds >build/fuzz/$$f.log 2>&1 \
	     || { tail -40 build/fuzz/$$f.log; exit 1; }; \
	  grep -h "^Done" build/fuzz/$$f.log || tail -1 build/fuzz/$$f.log; \
	done
SHELL_TESTS += tests/e2e/readme.sh
