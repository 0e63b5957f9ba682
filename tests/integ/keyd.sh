#!/usr/bin/env bash
# capf-keyd, capf-signerd's key process, on a real SoftHSM token: the lints it
# applies to what a (compromised) signer asks it to sign, its allow-list killing
# it on forbidden calls, the process split as /proc shows it (the key process has
# the token's module and no store; the signer has the store and the sockets and no
# token), and the restart after it is killed mid-service.
. tests/lib.sh
D=$T_TMP
CL=$PWD/$BUILD/tests/signerd-client
KC=$PWD/$BUILD/tests/keyd-client

mkdir -p "$D/tok" "$D/state"
make_capf_ca "$D" "$D/ca.pem"
# a new key with no certificate yet (what a regenerate makes)
NEWURI="pkcs11:token=capf;object=capf-new;type=private"
"$BIN/capf-token" keygen --uri "pkcs11:token=capf;object=capf-new?pin-source=file:$PIN" --type ec:P-256 \
  >"$D/keygen-new.log" 2>&1 || { not_ok "keygen capf-new"; cat "$D/keygen-new.log"; }
signer_user "$D/tok" "$D/state"
cat >"$D/capf.conf" <<CONF
token: { module = "$SOFTHSM_MODULE"; ca_key_uri = "$KEYURI"; pin_source = "$PIN"; };
ca: { certificate = "$D/ca.pem"; };
sockets: { dir = "$D/run"; front_uids = [$(id -u), $SIGNER_UID]; admin_uids = [$(id -u)]; };
store: { path = "$D/state/capf.db"; };
signer: { workers = 2; sessions = 2; };
CONF
chmod 0644 "$D/capf.conf"
FRONT=$D/run/front.sock
DB=$D/state/capf.db
store() { "${RUN_AS[@]}" "$CL" "$@"; }

# ---- what the key process signs, and what it refuses ---------------------------
"${RUN_AS[@]}" "$KC" "$BIN/capf-keyd" "$D/capf.conf" "$D/ca.pem" "$KEYURI" "$NEWURI" >"$D/kc.out" 2>"$D/kc.err"
check "keyd-client ran" test $? = 0
case_is() { # NAME WANT WHAT
  if grep -q "^CASE $1: $2" "$D/kc.out"; then ok "$3"; else not_ok "$3 ($(grep "^CASE $1:" "$D/kc.out"))"; fi
}
case_is lsc OK "a policy-built LSC: signed, verifies with the CA key"
case_is lsc-ca-true REFUSED "an LSC with CA:TRUE: refused by the lint"
case_is lsc-100-years REFUSED "an LSC valid for 100 years: refused"
case_is lsc-codesigning REFUSED "an LSC with codeSigning: refused"
case_is lsc-other-issuer REFUSED "an LSC naming another issuer: refused"
case_is lsc-backdated REFUSED "an LSC backdated 30 days: refused"
case_is tls OK "the front end's TLS certificate: signed"
case_is tls-ca-true REFUSED "a CA certificate as TLS: refused"
case_is lsc-kind-for-tls REFUSED "a TLS certificate as an LSC: refused"
case_is ca-other-key REFUSED "a CA certificate for another key: refused"
case_is ca-own-key OK "a self-signed CA certificate for the slot's own new key: signed"
case_is ca-slot-with-cert REFUSED "a CA certificate with the active CA's key: refused"
case_is ca-active-key-again REFUSED "...also when that key is loaded again without its certificate"
case_is checkpoint-with-ca-key ERROR "the CA key signs no audit checkpoint"
case_is no-such-slot ERROR "an unknown slot: error"
check_grep "the key process ends when its channel closes" "^EXIT 0" "$D/kc.out"

# ---- its allow-list kills it ------------------------------------------------------
# (a sanitizer build lets the ASan runtime open files, map memory and signal: those
# calls are allowed there, and not tested)
for call in open-write open-create exec-map mprotect-exec socket-inet unlink execve setrlimit kill-parent; do
  case "${SANITIZE:-0}:$call" in
    1:open-write|1:open-create|1:exec-map|1:mprotect-exec|1:kill-parent)
      skip "forbidden $call (allowed for the sanitizer runtime in this build)"; continue ;;
  esac
  "$BIN/capf-keyd" --seccomp-selftest "$call" >/dev/null 2>&1
  rc=$?
  check "forbidden $call: killed by SIGSYS (exit $rc)" test "$rc" = 159
done
"$BIN/capf-keyd" --seccomp-selftest open-read >/dev/null 2>&1
check "an allowed call (read-only open) is not stopped" test $? = 0

# ---- the processes as /proc shows them ---------------------------------------------
: >"$D/signerd.log"
if ! start_signerd "$D/signerd.log" "$FRONT" "$D/capf.conf"; then
  not_ok "capf-signerd starts"; cat "$D/signerd.log"; finish
fi
ok "capf-signerd starts"
children() { ps -o pid= --ppid "$1" | tr -d ' '; }
keyd_pid() { # the capf-keyd under the signer's supervisor
  local s k
  for s in $(children "$SPID"); do
    for k in $(children "$s"); do
      [ "$(cat /proc/$k/comm 2>/dev/null)" = capf-keyd ] && { echo "$k"; return 0; }
    done
  done
  return 1
}
SUP=$(children "$SPID" | head -1)
KP=$(keyd_pid)
check "a supervisor child (capf-keyd-sup)" test "$(cat /proc/$SUP/comm 2>/dev/null)" = capf-keyd-sup
check "a key process under it" test -n "$KP"
check_grep "key process: seccomp filter active" "^Seccomp:[[:space:]]+2" "/proc/$KP/status"
check_grep "key process: no new privileges" "^NoNewPrivs:[[:space:]]+1" "/proc/$KP/status"
# the daemons are not dumpable: their maps and descriptors are readable by root only
if [ "$(id -u)" = 0 ]; then
  check_grep "key process: the token's module is mapped" "libsofthsm2" "/proc/$KP/maps"
  check_nogrep "key process: no SQLite" "libsqlite3" "/proc/$KP/maps"
  ls -l /proc/$KP/fd >"$D/kp.fd" 2>&1
  check_nogrep "key process: the store is not open" "capf.db" "$D/kp.fd"
  check_nogrep "key process: no listening socket of the signer" "run/(front|admin).sock" "$D/kp.fd"
  check_nogrep "signer: no token module mapped" "libsofthsm2" "/proc/$SPID/maps"
  check_nogrep "signer: no capfhsm provider mapped" "capfhsm" "/proc/$SPID/maps"
  ls -l /proc/$SPID/fd >"$D/sd.fd" 2>&1
  check_grep "signer: the store is open" "capf.db" "$D/sd.fd"
else
  skips 8 "the key process's and the signer's maps and descriptors (not dumpable: root only)"
fi
check_grep "signer: seccomp filter active" "^Seccomp:[[:space:]]+2" "/proc/$SPID/status"
check "the signer has no PKCS#11 code linked" bash -c "! nm -D --defined-only '$BIN/capf-signerd' 2>/dev/null | grep -q ' p11_' && ! nm '$BIN/capf-signerd' 2>/dev/null | grep -q ' p11_token_open'"

store device-add "$DB" SEP00000000B001 install null --key-order rsa --rsa-bits 2048 >/dev/null
"$CL" enroll "$FRONT" SEP00000000B001 --out "$D/lsc1.pem" >"$D/e1.out" 2>&1
check_grep "an enrollment through the key process" "result=ok" "$D/e1.out"
check "its LSC verifies" openssl verify -x509_strict -CAfile "$D/ca.pem" "$D/lsc1.pem"

# ---- kill the key process: the supervisor starts another ---------------------------
kill -KILL "$KP"
NEW=
for _ in $(seq 1 100); do
  NEW=$(keyd_pid) && [ -n "$NEW" ] && [ "$NEW" != "$KP" ] && grep -q "key_process_ready generation=2" "$D/signerd.log" && break
  sleep 0.1
done
check "a new key process after SIGKILL" test -n "$NEW" -a "$NEW" != "$KP"
check_grep "the death is logged" "event=key_process_died .*signal=9" "$D/signerd.log"
check_grep "the new one is ready (generation 2)" "event=key_process_ready generation=2" "$D/signerd.log"
check_grep "it runs under its filter too" "^Seccomp:[[:space:]]+2" "/proc/$NEW/status"
store device-add "$DB" SEP00000000B002 install null --key-order rsa --rsa-bits 2048 >/dev/null
ok_after=0
for _ in $(seq 1 20); do
  "$CL" enroll "$FRONT" SEP00000000B002 --out "$D/lsc2.pem" >"$D/e2.out" 2>&1
  grep -q "result=ok" "$D/e2.out" && { ok_after=1; break; }
  sleep 0.5
done
check "enrollments go on with the new key process" test $ok_after = 1
check "its LSC verifies" openssl verify -x509_strict -CAfile "$D/ca.pem" "$D/lsc2.pem"

# killed while a phone waits for its certificate: RETRY_LATER, never a wrong answer
store device-add "$DB" SEP00000000B003 install null --key-order rsa --rsa-bits 2048 >/dev/null
NEW=$(keyd_pid)
kill -STOP "$NEW"
for _ in $(seq 1 50); do [ "$(awk '{print $3}' "/proc/$NEW/stat" 2>/dev/null)" = T ] && break; sleep 0.05; done
"$CL" enroll "$FRONT" SEP00000000B003 --out "$D/lsc3.pem" >"$D/e3.out" 2>&1 &
EP=$!
sleep 1
kill -KILL "$NEW"
wait "$EP"
check_grep "a request in flight when it died: RETRY_LATER" "retry_later" "$D/e3.out"
check_nogrep "no seccomp violation in the signer" "seccomp_violation" "$D/signerd.log"
for _ in $(seq 1 50); do LAST=$(keyd_pid) && break; sleep 0.1; done
stop_signerd
check "the signer stops cleanly" test $? = 0
gone() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
for _ in $(seq 1 30); do gone "$SUP" && gone "${LAST:-0}" && break; sleep 0.1; done
check "the supervisor is gone with the signer" gone "$SUP"
check "no key process left behind" gone "${LAST:-0}"
finish
