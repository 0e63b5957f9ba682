# Shared helpers for shell tests. Source it, call the checks, end with `finish`.
#   check "what" cmd...            passes when cmd exits 0
#   check_fails "what" cmd...      passes when cmd exits non-zero
#   check_grep "what" REGEX FILE   passes when FILE matches REGEX (extended)
#   make_token DIR LABEL           a throwaway SoftHSM token under DIR (PINs in 0600 files)
# The closing line "NAME: N passed, N failed" is what tests/run-tests counts.
set -u
T_NAME=$(basename "$0" .sh)
T_PASS=0
T_FAIL=0
T_PIDS=()
BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bin
LIB=$PWD/$BUILD/lib
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/capf-$T_NAME.XXXXXX")
chmod 0755 "$T_TMP"

t_cleanup() {
  local p
  for p in "${T_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${T_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$T_TMP"
}
trap t_cleanup EXIT

ok()     { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
not_ok() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $*"; }

check() {
  local what=$1; shift
  if "$@" >"$T_TMP/last.out" 2>&1; then ok "$what"; else not_ok "$what (exit $?: $*)"; sed 's/^/    /' "$T_TMP/last.out" | tail -20; fi
}
check_fails() {
  local what=$1; shift
  if "$@" >"$T_TMP/last.out" 2>&1; then not_ok "$what (expected failure: $*)"; sed 's/^/    /' "$T_TMP/last.out" | tail -20; else ok "$what"; fi
}
check_grep() {
  local what=$1 re=$2 file=$3
  if grep -qE -- "$re" "$file"; then ok "$what"; else not_ok "$what (no /$re/ in $file)"; sed 's/^/    /' "$file" | tail -20; fi
}
check_nogrep() {
  local what=$1 re=$2 file=$3
  if grep -qE -- "$re" "$file"; then not_ok "$what (/$re/ found in $file)"; grep -nE -- "$re" "$file" | head -5; else ok "$what"; fi
}
finish() {
  echo "$T_NAME: $T_PASS passed, $T_FAIL failed"
  [ "$T_FAIL" -eq 0 ]
  exit $?
}

# A private file holding a secret (created 0600, never on argv).
secret_file() { (umask 077; printf '%s\n' "$2" >"$1"); }

# softhsm_setup DIR: a SoftHSM configuration whose tokens live under DIR.
softhsm_setup() {
  mkdir -p "$1/tokens"
  cat >"$1/softhsm2.conf" <<CONF
directories.tokendir = $1/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
  export SOFTHSM2_CONF=$1/softhsm2.conf
}

# make_token DIR LABEL: initialise a token; user PIN in DIR/LABEL.pin, SO PIN in DIR/LABEL.sopin.
make_token() {
  local dir=$1 label=$2
  softhsm_setup "$dir"
  secret_file "$dir/$label.pin" "$(od -An -N6 -tu2 /dev/urandom | tr -d ' \n')"
  secret_file "$dir/$label.sopin" "$(od -An -N6 -tu2 /dev/urandom | tr -d ' \n')"
  "$BIN/capf-token" init --module "$SOFTHSM_MODULE" --label "$label" \
      --so-pin-file "$dir/$label.sopin" --pin-file "$dir/$label.pin"
}

# ossl ARGS: the stock openssl CLI; under SANITIZE=1 the ASan runtime is preloaded so
# that it can load our instrumented provider.
ossl() {
  if [ "${SANITIZE:-0}" = 1 ]; then
    LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)" \
      ASAN_OPTIONS=detect_leaks=0 openssl "$@"
  else
    openssl "$@"
  fi
}

# bg CMD...: start a background process that is killed when the test ends.
bg() { "$@" & T_PIDS+=($!); }

# free_port: an unused TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
