#!/usr/bin/env bash
# README.md's commands, as written: every ```sh block is run, in order, from the top of
# the clone, each in its own bash with -e (a failing command fails its block). The only
# changes: `make check` is not run again (this test runs inside it); `make` keeps this
# run's SANITIZE; build/ is this run's $BUILD; the instance folder D=/tmp/capf-dev becomes
# a private one, whose port is chosen free beforehand (appliance-local keeps DIR/port).
# Also: the README points at nothing outside the repository, and every file it names exists.
. tests/lib.sh
R=$T_TMP/readme
mkdir -p "$R"
export BUILD SANITIZE="${SANITIZE:-0}"

python3 - README.md "$R" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
blocks = re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M)
for i, b in enumerate(blocks):
    open(f"{sys.argv[2]}/block{i}.sh", "w").write(b)
PY
n=$(ls "$R"/block*.sh 2>/dev/null | wc -l)
check "README.md has runnable sh blocks" test "$n" -ge 3

D=$T_TMP/dev
mkdir -p "$D"
on_exit appliance_down "$D"
free_port >"$D/port"
for f in "$R"/block*.sh; do
  b=$(basename "$f" .sh)
  grep -qxF 'D=/tmp/capf-dev' "$f" && uses_d=1 || uses_d=0
  sed -e "s|^D=/tmp/capf-dev\$|D=$D|" \
      -e 's|^make check\b.*|: "make check: this test runs inside it"|' \
      -e "s|\\bbuild/bin/|$BUILD/bin/|g; s|-provider-path build/lib|-provider-path $LIB|g" "$f" >"$R/$b.run"
  {
    echo 'set -eo pipefail'
    echo 'make() { command make --no-print-directory SANITIZE="$SANITIZE" "$@"; }'
    # under SANITIZE=1 the stock openssl needs the ASan runtime to load our provider
    echo 'openssl() { if [ "$SANITIZE" = 1 ]; then LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" ASAN_OPTIONS=detect_leaks=0 command openssl "$@"; else command openssl "$@"; fi; }'
    cat "$R/$b.run"
  } >"$R/$b.full"
  first=$(grep -m1 -vE '^\s*(#|$)' "$f")
  if bash -x "$R/$b.full" >"$R/$b.out" 2>&1; then
    ok "README block $b ($first ...) runs as written"
  else
    not_ok "README block $b ($first ...) fails"
    tail -25 "$R/$b.out" | sed 's/^/    /'
  fi
  [ "$uses_d" = 1 ] && cp "$R/$b.out" "$R/instance.out"
done
# what the blocks did
check_grep "make demo enrolled its phone and verified the LSC" "lsc.pem: OK" "$R/block0.out"
check_grep "the instance block's phone got an LSC" "SEP58971ECC97C1: success" "$R/instance.out"
check_grep "  ... which verifies against the CAPF CA" "lsc.pem: OK" "$R/instance.out"
check_grep "  ... the backup was written and checked" "audit chain is intact" "$R/instance.out"
check "  ... and the instance is down afterwards" bash -c "! scripts/appliance-local status '$D' >/dev/null"

# the README stays inside the repository
check_nogrep "README.md points at nothing outside the repository" '\.\./' README.md
for f in $(grep -oE '`(docs|appliance|policy|scripts|tests)/[A-Za-z0-9_./-]+`' README.md | tr -d '`' | sort -u); do
  check "README names $f, which exists" test -e "$f"
done
for f in docs/*.md; do
  check_nogrep "$f points at nothing outside the repository" '\]\(\.\./\.\./|/work/|\.\./shared' "$f"
done
finish
