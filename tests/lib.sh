# Shared helpers for shell tests. Source it, call the checks, end with `finish`.
#   check "what" cmd...            passes when cmd exits 0
#   check_fails "what" cmd...      passes when cmd exits non-zero
#   check_grep "what" REGEX FILE   passes when FILE matches REGEX (extended)
#   skip "what" / skips N "what"   a check (N checks) that cannot run here (e.g. needs root): counted
#   make_token DIR LABEL           a throwaway SoftHSM token under DIR (PINs in 0600 files)
#   make_capf_ca DIR CERT          token "capf" under DIR/tok, its key "capf-ca", a CAPF CA in CERT
#   signer_user DIR...             as root: capf-signer owns DIR..., USER_OPT/RUN_AS/SIGNER_UID
#   start_signerd LOG SOCK CONF .. capf-signerd in the background, waits until it has started
#   start_frontd LOG CONF ARG...   the same for capf-frontd
#   tp_pki DIR / tp_sign CSR OUT   a third-party root + intermediate; signs a CAPF CA CSR
#   HOSTILE / hostile_cases HOST PORT OUTDIR   capf-hostile (the hostile peers); its bad-input cases
#   signer_conf DIR CA [LINE...]   DIR/capf.conf for make_capf_ca's key; sd_start, sd_restart, c
#   rc CODE CMD... / jout FILE CMD...   exit code check; CMD's stdout into FILE
# Waiting, processes, URIs, ports, cleanup at exit: scripts/lib/capf.sh (sourced here).
# The closing line "NAME: N passed, N failed, N skipped" is what tests/run-tests counts.
# As root, when the build tree is out of the service users' reach (a clone under /root),
# BIN and LIB are a staging copy they can read (scripts/stage-build; tests/run-tests makes
# one for the whole run and passes it in CAPF_STAGE).
set -u
. "$PWD/scripts/lib/capf.sh"
T_NAME=$(basename "$0" .sh)
T_PASS=0
T_FAIL=0
T_SKIP=0
T_PIDS=()
BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bin
LIB=$PWD/$BUILD/lib
SOFTHSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
PY=$(system_python)
HOSTILE=$PWD/$BUILD/tests/capf-hostile     # tests/e2e/capf_hostile.c, capf-hostile --help
T_TMP=$(make_tmpdir "capf-$T_NAME")
if stage_needed "$PWD/$BUILD"; then
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
on_exit t_cleanup

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
  KEYURI=$(p11_uri capf capf-ca private)
  "$BIN/capf-token" keygen --uri "$(p11_uri capf capf-ca "" "$PIN")" --type rsa:2048 \
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
  before=$(log_count "$log" event=started)
  daemon_start "$log" "$BIN/capf-signerd" --config "$conf" --foreground "$@" "${USER_OPT[@]}"
  SPID=$DAEMON_PID
  T_PIDS+=("$SPID")
  daemon_wait_started 20 "$log" "$SPID" "$before" && [ -S "$sock" ]
}

# stop_signerd: SIGTERM to the daemon start_signerd started; its exit status.
stop_signerd() { kill -TERM "$SPID" 2>/dev/null; wait "$SPID"; }

# start_frontd LOG CONF [ARG...]: capf-frontd --config CONF --foreground ARG... in the
# background (LOG emptied first, then its stdout and stderr; its pid in FPID, killed when
# the test ends). 0 once it logged event=started; 1 when it exited first or after 10 s.
start_frontd() {
  local log=$1 conf=$2
  shift 2
  : >"$log"
  daemon_start "$log" "$BIN/capf-frontd" --config "$conf" --foreground "$@"
  FPID=$DAEMON_PID
  T_PIDS+=("$FPID")
  daemon_wait_started 10 "$log" "$FPID"
}

# fake_server SOCK OUT [ARG...]: a server on the AF_UNIX SEQPACKET socket SOCK that never
# answers (capf-hostile fake-server, tests/e2e/capf_hostile.c; ARG: --uid UID to serve as another
# user) in the background, its output in OUT, its pid in FAKE (killed when the test
# ends). Returns once it listens.
fake_server() {
  local sock=$1 out=$2
  shift 2
  "$HOSTILE" fake-server "$sock" --duration 60 "$@" >"$out" 2>&1 &
  FAKE=$!
  T_PIDS+=("$FAKE")
  wait_log 5 "$out" listening "$FAKE"
}

# tp_pki DIR [DAYS]: a third-party PKI made with the stock openssl CLI: DIR/root.pem (TP Root),
# DIR/int.pem (TP Issuing CA, pathlen 1, DAYS days: default 3000), DIR/chain.pem (intermediate
# then root) and DIR/capf.ext (the CAPF CA profile); tp_sign CSR OUT [EXTFILE] signs a CAPF CA
# CSR with the intermediate (2000 days; EXTFILE: another profile than DIR/capf.ext).
tp_pki() {
  TP=$1
  ossl req -x509 -new -newkey rsa:2048 -nodes -keyout "$TP/root.key" -subj "/O=Third Party/CN=TP Root" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$TP/root.pem" >/dev/null 2>&1
  ossl req -new -newkey rsa:2048 -nodes -keyout "$TP/int.key" -subj "/O=Third Party/CN=TP Issuing CA" -out "$TP/int.csr" >/dev/null 2>&1
  printf 'basicConstraints=critical,CA:TRUE,pathlen:1\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >"$TP/int.ext"
  ossl x509 -req -in "$TP/int.csr" -CA "$TP/root.pem" -CAkey "$TP/root.key" -CAcreateserial -days "${2:-3000}" \
    -extfile "$TP/int.ext" -out "$TP/int.pem" >/dev/null 2>&1
  cat "$TP/int.pem" "$TP/root.pem" >"$TP/chain.pem"
  printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,digitalSignature,keyCertSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >"$TP/capf.ext"
}
tp_sign() {
  ossl x509 -req -in "$1" -CA "$TP/int.pem" -CAkey "$TP/int.key" -CAcreateserial -days 2000 \
    -extfile "${3:-$TP/capf.ext}" -out "$2" >/dev/null 2>&1
}

# signer_conf DIR CA_CERT [LINE...]: DIR/capf.conf for the capf-signerd of an integration
# test, on make_capf_ca's token (KEYURI, PIN): the CAPF CA certificate CA_CERT, the sockets
# in DIR/run (front.sock for FRONT_UIDS, default our uid; admin.sock for our uid), the store
# DIR/state/capf.db, then each LINE (more groups: keys, signer, auth, mic...). Sets ADMIN,
# FRONT, DB and LOG (DIR/signerd.log); then sd_start starts the daemon (start_signerd; 0
# once it serves), sd_restart stops and starts it, and c runs $BIN/capfctl on ADMIN.
signer_conf() {
  local dir=$1 ca=$2
  shift 2
  {
    echo "token: { module = \"$SOFTHSM_MODULE\"; ca_key_uri = \"$KEYURI\"; pin_source = \"$PIN\"; };"
    echo "ca: { certificate = \"$ca\"; };"
    echo "sockets: { dir = \"$dir/run\"; front_uids = [${FRONT_UIDS:-$(id -u)}]; admin_uids = [$(id -u)]; };"
    echo "store: { path = \"$dir/state/capf.db\"; };"
    printf '%s\n' "$@"
  } >"$dir/capf.conf"
  SIGNER_DIR=$dir
  ADMIN=$dir/run/admin.sock
  FRONT=$dir/run/front.sock
  DB=$dir/state/capf.db
  LOG=$dir/signerd.log
}
sd_start() { start_signerd "$LOG" "$ADMIN" "$SIGNER_DIR/capf.conf" "$@"; }
sd_restart() { stop_signerd; sd_start; }
c() { "$BIN/capfctl" --socket "$ADMIN" "$@"; }

# rc CODE CMD...: passes when CMD exits with CODE (its output shown either way).
rc() {
  local want=$1 got
  shift
  "$@" >"$T_TMP/rc.out" 2>&1
  got=$?
  cat "$T_TMP/rc.out"
  [ "$got" = "$want" ] || { echo "exit $got, wanted $want"; return 1; }
}
# jout FILE CMD...: CMD's stdout into FILE, its stderr into FILE.err (and shown); CMD's status.
jout() { local f=$1 r; shift; "$@" >"$f" 2>"$f.err"; r=$?; cat "$f.err"; return $r; }

# hostile_cases HOST PORT OUTDIR: capf-hostile's nine bad-input cases at once against HOST:PORT
# (two wait for the idle timeout; each bounded to 30 s), one check each: END_SESSION 7 or a
# closed connection. Each case's line in OUTDIR/hostile-CASE.out.
hostile_cases() {
  local host=$1 port=$2 out=$3 c
  local -A pid
  local cases=(half-header length-overrun short-body wrong-protocol-id wrong-session-id unknown-command garbage
               huge-body plain-garbage)
  for c in "${cases[@]}"; do
    timeout 30 "$HOSTILE" "$c" "$host" "$port" >"$out/hostile-$c.out" 2>&1 &
    pid[$c]=$!
  done
  for c in "${cases[@]}"; do
    wait "${pid[$c]}"
    check "hostile: $c: END_SESSION 7 or closed ($(cat "$out/hostile-$c.out"))" test $? = 0
  done
}
