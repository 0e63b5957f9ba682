# Shared helpers for shell tests. Source it, call the checks, end with `finish`.
#   check "what" cmd...            passes when cmd exits 0
#   check_fails "what" cmd...      passes when cmd exits non-zero
#   check_grep "what" REGEX FILE   passes when FILE matches REGEX (extended)
#   skip "what" / skips N "what"   a check (N checks) that cannot run here (e.g. needs root): counted
#   make_token DIR LABEL           a throwaway SoftHSM token under DIR (PINs in 0600 files)
#   make_capf_ca DIR CERT          token "capf" under DIR/tok, its key "capf-ca", a CAPF CA in CERT
#   signer_user DIR...             as root: capf-signer owns DIR..., USER_OPT/RUN_AS/SIGNER_UID
#   start_signerd LOG SOCK CONF .. capf-signerd in the background, waits until it has started
#   tp_pki DIR / tp_sign CSR OUT   a third-party root + intermediate; signs a CAPF CA CSR
# The closing line "NAME: N passed, N failed, N skipped" is what tests/run-tests counts.
# As root, when the build tree is out of the service users' reach (a clone under /root),
# BIN and LIB are a staging copy they can read (scripts/stage-build; tests/run-tests makes
# one for the whole run and passes it in CAPF_STAGE).
set -u
T_NAME=$(basename "$0" .sh)
T_PASS=0
T_FAIL=0
T_SKIP=0
T_PIDS=()
BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bin
LIB=$PWD/$BUILD/lib
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/capf-$T_NAME.XXXXXX")
chmod 0755 "$T_TMP"
if [ -z "${CAPF_STAGE:-}" ] && [ "$(id -u)" = 0 ] \
   && ! scripts/stage-build --can-reach nobody "$LIB/capfhsm.so" >/dev/null 2>&1; then
  CAPF_STAGE=$T_TMP/stage
  scripts/stage-build "$PWD/$BUILD" "$CAPF_STAGE" || { echo "$T_NAME: cannot stage $BUILD" >&2; exit 1; }
fi
if [ -n "${CAPF_STAGE:-}" ]; then
  BIN=$CAPF_STAGE/bin
  LIB=$CAPF_STAGE/lib
fi

t_cleanup() {
  local p
  for p in "${T_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${T_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "${KEEP_TMP:-}" ] || rm -rf "$T_TMP"
}
trap t_cleanup EXIT

ok()     { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
not_ok() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $*"; }
skip()   { T_SKIP=$((T_SKIP + 1)); echo "skip - $*"; }
skips()  { T_SKIP=$((T_SKIP + $1)); shift; echo "skip - $* (not run here)"; }   # skips N "what"

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
  echo "$T_NAME: $T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
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

# make_capf_ca DIR CERT: the CAPF CA of the daemon tests. A token "capf" under DIR/tok
# (make_token: user PIN in DIR/tok/capf.pin), an RSA 2048 key "capf-ca" on it, and a
# self-signed CAPF CA certificate with that key through the capfhsm provider in CERT
# (O=Example Corp, OU=Voice, CN=CAPF-test; CA:TRUE pathlen:0, digitalSignature and
# keyCertSign; 3650 days, SHA-256; its request config in DIR/ca.cnf). Sets PIN (the PIN
# file) and KEYURI (the key's URI, no PIN source). A step that fails ends the test:
# not_ok, its log (DIR/init.log, keygen.log, req.log), finish.
make_capf_ca() {
  local dir=$1 cert=$2
  make_token "$dir/tok" capf >"$dir/init.log" 2>&1 || { not_ok "make_token"; cat "$dir/init.log"; finish; }
  PIN=$dir/tok/capf.pin
  KEYURI="pkcs11:token=capf;object=capf-ca;type=private"
  "$BIN/capf-token" keygen --uri "pkcs11:token=capf;object=capf-ca?pin-source=file:$PIN" --type rsa:2048 \
    >"$dir/keygen.log" 2>&1 || { not_ok "keygen"; cat "$dir/keygen.log"; finish; }
  cat >"$dir/ca.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = ext
[dn]
O = Example Corp
OU = Voice
CN = CAPF-test
[ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, digitalSignature, keyCertSign
subjectKeyIdentifier = hash
CNF
  ossl req -x509 -new -provider-path "$LIB" -provider capfhsm -provider default -config "$dir/ca.cnf" \
    -key "$KEYURI?pin-source=file:$PIN" -days 3650 -sha256 -out "$cert" >"$dir/req.log" 2>&1 \
    || { not_ok "CAPF CA certificate"; cat "$dir/req.log"; finish; }
}

# signer_user DIR...: who capf-signerd runs as. As root: the user capf-signer (made by
# scripts/create-users when missing), which then owns DIR... (chown -R); USER_OPT is the
# daemon's option for it (--user capf-signer), RUN_AS a command prefix running as it.
# Not root: both empty, the daemon runs as us. SIGNER_UID is the daemon's uid either way.
signer_user() {
  USER_OPT=()
  RUN_AS=()
  if [ "$(id -u)" = 0 ]; then
    getent passwd capf-signer >/dev/null || scripts/create-users >/dev/null
    SIGNER_UID=$(id -u capf-signer)
    chown -R capf-signer: "$@"
    USER_OPT=(--user capf-signer)
    RUN_AS=(setpriv --reuid capf-signer --regid capf-signer --clear-groups)
  else
    SIGNER_UID=$(id -u)
  fi
}

# start_signerd LOG SOCK CONF [ARG...]: capf-signerd --config CONF --foreground ARG...
# "${USER_OPT[@]}" in the background (stdout and stderr appended to LOG, its pid in SPID,
# killed when the test ends). Returns 0 once SOCK exists and LOG has a new event=started
# line; 1 when the daemon exits first or has not started within 20 s.
start_signerd() {
  local log=$1 sock=$2 conf=$3 before
  shift 3
  before=$(grep -c "event=started" "$log" 2>/dev/null)
  "$BIN/capf-signerd" --config "$conf" --foreground "$@" "${USER_OPT[@]}" >>"$log" 2>&1 &
  SPID=$!
  T_PIDS+=("$SPID")
  for _ in $(seq 1 400); do
    [ -S "$sock" ] && [ "$(grep -c "event=started" "$log")" -gt "${before:-0}" ] && return 0
    kill -0 "$SPID" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# stop_signerd: SIGTERM to the daemon start_signerd started; its exit status.
stop_signerd() { kill -TERM "$SPID" 2>/dev/null; wait "$SPID"; }

# fake_server SOCK OUT [ARG...]: a server on the AF_UNIX SEQPACKET socket SOCK that never
# answers (tests/e2e/capf_hostile.py fake-server; ARG: --uid UID to serve as another
# user) in the background, its output in OUT, its pid in FAKE (killed when the test
# ends). Returns once it listens.
fake_server() {
  local sock=$1 out=$2 py=python3
  shift 2
  [ -x /usr/bin/python3 ] && py=/usr/bin/python3
  "$py" tests/e2e/capf_hostile.py fake-server "$sock" --duration 60 "$@" >"$out" 2>&1 &
  FAKE=$!
  T_PIDS+=("$FAKE")
  for _ in $(seq 100); do grep -q listening "$out" && break; sleep 0.05; done
}

# tp_pki DIR: a third-party PKI made with the stock openssl CLI: DIR/root.pem (TP Root),
# DIR/int.pem (TP Issuing CA, pathlen 1, 3000 days), DIR/chain.pem (intermediate then
# root) and DIR/capf.ext (the CAPF CA profile); tp_sign CSR OUT signs a CAPF CA CSR with
# the intermediate (2000 days).
tp_pki() {
  TP=$1
  ossl req -x509 -new -newkey rsa:2048 -nodes -keyout "$TP/root.key" -subj "/O=Third Party/CN=TP Root" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$TP/root.pem" >/dev/null 2>&1
  ossl req -new -newkey rsa:2048 -nodes -keyout "$TP/int.key" -subj "/O=Third Party/CN=TP Issuing CA" -out "$TP/int.csr" >/dev/null 2>&1
  printf 'basicConstraints=critical,CA:TRUE,pathlen:1\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >"$TP/int.ext"
  ossl x509 -req -in "$TP/int.csr" -CA "$TP/root.pem" -CAkey "$TP/root.key" -CAcreateserial -days 3000 \
    -extfile "$TP/int.ext" -out "$TP/int.pem" >/dev/null 2>&1
  cat "$TP/int.pem" "$TP/root.pem" >"$TP/chain.pem"
  printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,digitalSignature,keyCertSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >"$TP/capf.ext"
}
tp_sign() { ossl x509 -req -in "$1" -CA "$TP/int.pem" -CAkey "$TP/int.key" -CAcreateserial -days 2000 -extfile "$TP/capf.ext" -out "$2" >/dev/null 2>&1; }
