#!/usr/bin/env bash
# capf-signerd on a real SoftHSM token, real sockets and a real SQLite file, with
# its seccomp allow-list on: --check-config, the root refusal, installs (RSA 2048,
# P-256), every refusal of the evidence checks, the peer check, the front role's
# limits, durability across SIGKILL, and the hardening as seen from outside.
. tests/lib.sh
D=$T_TMP
SD=$BIN/capf-signerd
CL=$PWD/$BUILD/tests/signerd-client
IS_ROOT=0; [ "$(id -u)" = 0 ] && IS_ROOT=1

# ---- the token, the CAPF CA, the manufacturing CA ------------------------
mkdir -p "$D/tok" "$D/state" "$D/mic" "$D/pki"
make_capf_ca "$D" "$D/ca.pem"

# Another key on the token, not the CAPF CA's.
"$BIN/capf-token" keygen --uri "$(p11_uri capf other "" "$PIN")" --type ec:P-256 \
  >"$D/keygen2.log" 2>&1 || { not_ok "keygen other"; cat "$D/keygen2.log"; }

# Manufacturing CA (MIC and SUDI issuer), a MIC and a SUDI certificate; an
# untrusted CA with an "LSC" of its own. (Stock openssl: no provider of ours needed.)
mkca() { # NAME SUBJ
  openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$D/pki/$1.key" -subj "$2" -days 365 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$D/pki/$1.pem" >/dev/null 2>&1
}
mkleaf() { # NAME CA SUBJ KEYALG
  openssl req -new -newkey "$4" -nodes -keyout "$D/pki/$1.key" -subj "$3" -out "$D/pki/$1.csr" >/dev/null 2>&1 &&
  openssl x509 -req -in "$D/pki/$1.csr" -CA "$D/pki/$2.pem" -CAkey "$D/pki/$2.key" -CAcreateserial -days 365 \
    -extfile <(printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n') \
    -out "$D/pki/$1.pem" >/dev/null 2>&1
}
mkca mfg "/O=Test Manufacturing/CN=Test MIC CA"
mkca evil "/O=Example Corp/OU=Voice/CN=CAPF-test"
mkleaf mic mfg "/O=Test Manufacturing/CN=CP-8865-SEP00000000AA01" rsa:2048
mkleaf mic-ec mfg "/O=Test Manufacturing/CN=SEP00000000AA02" ec:<(openssl ecparam -name prime256v1)
mkleaf sudi mfg "/O=Test Manufacturing/CN=SUDI PID:CP-8865 SN:FCH0000XYZ" rsa:2048
mkleaf forged evil "/CN=SEP00000000AA03" rsa:2048
cp "$D/pki/mfg.pem" "$D/mic/mfg.pem"

# ---- users and the configuration ------------------------------------------
signer_user "$D/tok" "$D/state" "$D/mic"
FRONT_UIDS="$(id -u), $SIGNER_UID" signer_conf "$D" "$D/ca.pem" \
  'keys: { rsa_bits = [2048, 3072]; ec_curves = ["P-256", "P-384"]; };' 'auth: { max_failed_attempts = 3; };' \
  "mic: { ca_dir = \"$D/mic\"; };" 'front: { keygen_timeout = 60; retry_delay = 17; };' \
  'signer: { workers = 2; sessions = 4; };'
store() { "${RUN_AS[@]}" "$CL" "$@"; }
enroll() { "$CL" enroll "$FRONT" "$@"; }

# ---- --check-config, --help, root -----------------------------------------
check "--check-config accepts the test config" "$SD" --check-config "$D/capf.conf"
check_grep "--check-config says OK" "capf.conf: OK" "$T_TMP/last.out"
printf 'lsc: { validity_days = 4000; digest = "md5"; };\nbogus = 1;\n' >"$D/bad.conf"
check_fails "--check-config refuses a bad config" "$SD" --check-config "$D/bad.conf"
check_grep "every error: validity_days" "validity_days" "$T_TMP/last.out"
check_grep "every error: digest" "digest" "$T_TMP/last.out"
check_grep "every error: unknown setting" "bogus" "$T_TMP/last.out"
"$SD" --check-config "$D/bad.conf" >/dev/null 2>&1; check "--check-config exits 1 on errors" test $? = 1
check "--help documents the exit codes" "$SD" --help
check_grep "--help: exit status" "Exit status" "$T_TMP/last.out"
if [ $IS_ROOT = 1 ]; then
  "$SD" --config "$D/capf.conf" --foreground >"$D/root.out" 2>&1; rc=$?
  check "refuses to run as root without --user (exit 4)" test $rc = 4
  check_grep "says why" "refusing to run as root" "$D/root.out"
else
  skips 2 "refuses to run as root without --user (needs root)"
fi

# ---- a token key that is not the CAPF CA's ----------------------------------
sed 's/object=capf-ca;type=private/object=other;type=private/' "$D/capf.conf" >"$D/wrongkey.conf"
"$SD" --config "$D/wrongkey.conf" --foreground "${USER_OPT[@]}" >"$D/wrongkey.out" 2>&1; rc=$?
check "a key that does not match the CA certificate: exit 3" test $rc = 3
check_grep "says the key does not match" "does not match the CAPF CA certificate" "$D/wrongkey.out"

# ---- start ------------------------------------------------------------------
PIDS=()
start() { # LOG: the daemon with a leaked fd and a secret in its environment to scrub
  local rc
  exec 7>"$D/leaked-fd"
  CAPF_TEST_SECRET=hunter2 start_signerd "$1" "$FRONT" "$D/capf.conf" --pidfile "$D/signerd.pid"; rc=$?
  exec 7>&-
  return $rc
}
LOG=$D/signerd.log
check "the daemon starts (seccomp on)" start "$LOG"
check_grep "started line" "event=started .*seccomp=1" "$LOG"
check "ping on front.sock" "$CL" ping "$FRONT"
check "--pidfile holds the daemon's pid" test "$(cat "$D/signerd.pid")" = "$SPID"

# ---- hardening, from outside ----------------------------------------------
ST=/proc/$SPID/status
check_grep "NoNewPrivs: 1" '^NoNewPrivs:[[:space:]]+1' "$ST"
check_grep "Seccomp: 2" '^Seccomp:[[:space:]]+2' "$ST"
check_grep "umask 077" '^Umask:[[:space:]]+0077' "$ST"
check_grep "core size 0" '^Max core file size +0 +0 ' "/proc/$SPID/limits"
tr '\0' '\n' <"/proc/$SPID/environ" | grep -v '^$' >"$D/environ.txt"
check_nogrep "environment scrubbed (no CAPF_TEST_SECRET)" "CAPF_TEST_SECRET|hunter2|PATH=|HOME=" "$D/environ.txt"
check_nogrep "no PIN in /proc/PID/environ" "$(cat "$PIN")" "$D/environ.txt"
tr '\0' ' ' <"/proc/$SPID/cmdline" >"$D/cmdline.txt"
check_nogrep "no PIN in /proc/PID/cmdline" "$(cat "$PIN")" "$D/cmdline.txt"
check_nogrep "no PIN in the log" "$(cat "$PIN")" "$LOG"
ls -l "/proc/$SPID/fd/" >"$D/fds.txt" 2>&1
check_nogrep "inherited descriptor closed" "leaked-fd" "$D/fds.txt"
if [ $IS_ROOT = 1 ]; then
  check_grep "runs as capf-signer" "^Uid:[[:space:]]+$SIGNER_UID[[:space:]]+$SIGNER_UID[[:space:]]+$SIGNER_UID" "$ST"
  check_grep "no supplementary groups but its own" "^Groups:[[:space:]]+$(id -g capf-signer)[[:space:]]*$" "$ST"
  # Not dumpable: /proc/PID files belong to root, and its own uid cannot read its memory or environment.
  check "not dumpable: /proc/PID/environ owned by root" test "$(stat -c %u "/proc/$SPID/environ")" = 0
  check_fails "not dumpable: its own uid cannot read /proc/PID/environ" "${RUN_AS[@]}" cat "/proc/$SPID/environ"
  check_fails "not dumpable: its own uid cannot read /proc/PID/mem" "${RUN_AS[@]}" dd if="/proc/$SPID/mem" bs=1 count=1 skip=4096
  check "sockets.dir is 0750" test "$(stat -c %a "$D/run")" = 750
  check "front.sock is 0660, group capf" test "$(stat -c '%a %G' "$FRONT")" = "660 capf"
  check "admin.sock is 0600" test "$(stat -c %a "$ADMIN")" = 600
else
  skips 9 "runs as capf-signer, not dumpable, socket modes and group (needs root)"
fi

# ---- installs ---------------------------------------------------------------
store device-add "$DB" SEP00000000A001 install null --key-order rsa --rsa-bits 2048 >/dev/null
store device-add "$DB" SEP00000000A002 install null --key-order ec --curve P-256 >/dev/null
enroll SEP00000000A001 --out "$D/lsc1.pem" --key-out "$D/lsc1.key" >"$D/e1.out" 2>&1
check_grep "RSA 2048 install: decision" "decision=install" "$D/e1.out"
check_grep "RSA 2048 install: asked for RSA 2048" "key=rsa:2048" "$D/e1.out"
check_grep "RSA 2048 install: issued" "issued serial=" "$D/e1.out"
check_grep "RSA 2048 install: result" "result=ok" "$D/e1.out"
check "RSA LSC verifies against the CAPF CA" openssl verify -x509_strict -CAfile "$D/ca.pem" "$D/lsc1.pem"
check "RSA LSC lint clean" "$CL" lint "$D/capf.conf" "$D/ca.pem" "$D/lsc1.pem" SEP00000000A001
store issuances "$DB" SEP00000000A001 >"$D/i1.out"
check_grep "store has the RSA issuance, delivered" "state=delivered" "$D/i1.out"
check "the stored serial is the issued one" grep -q "serial=$(sed -n 's/issued serial=//p' "$D/e1.out")" "$D/i1.out"
store device-show "$DB" SEP00000000A001 >"$D/d1.out"
check_grep "status Upgrade Success" "status_text=Upgrade Success" "$D/d1.out"
check_grep "operation cleared" "op=none" "$D/d1.out"

enroll SEP00000000A002 --out "$D/lsc2.pem" >"$D/e2.out" 2>&1
check_grep "P-256 install: asked for EC P-256" "key=ec:P-256" "$D/e2.out"
check_grep "P-256 install: result" "result=ok" "$D/e2.out"
check "P-256 LSC verifies against the CAPF CA" openssl verify -x509_strict -CAfile "$D/ca.pem" "$D/lsc2.pem"
check "P-256 LSC lint clean" "$CL" lint "$D/capf.conf" "$D/ca.pem" "$D/lsc2.pem" SEP00000000A002
store device-show "$DB" SEP00000000A002 >"$D/d2.out"
check_grep "P-256: Upgrade Success" "status_text=Upgrade Success" "$D/d2.out"

# nothing pending / unknown device
enroll SEP00000000A001 >"$D/e3.out" 2>&1
check_grep "no pending operation -> nothing" "decision=nothing" "$D/e3.out"
enroll SEP0000000FFFFF >"$D/e4.out" 2>&1
check_grep "unknown device -> unknown" "decision=unknown" "$D/e4.out"

# EC preferred, the phone fails EC: falls back to RSA
store device-add "$DB" SEP00000000A004 install null --key-order ec-rsa --curve P-256 >/dev/null
enroll SEP00000000A004 --keygen-fail-first >"$D/e5.out" 2>&1
check_grep "keygen failed -> next alternative" "fallback=1" "$D/e5.out"
check_grep "fallback install issued" "result=ok" "$D/e5.out"

# deadline passed
store device-add "$DB" SEP00000000A005 install null --deadline-offset -7200 >/dev/null
enroll SEP00000000A005 >"$D/e6.out" 2>&1
check_grep "deadline passed -> refused" "refused cause=8" "$D/e6.out"
store device-show "$DB" SEP00000000A005 >"$D/d6.out"
check_grep "Late/Timedout recorded" "status_text=Upgrade Failed: User Initiated Request Late/Timedout" "$D/d6.out"

# ---- authentication string ------------------------------------------------
secret_file "$D/auth.good" 123456
secret_file "$D/auth.bad" 654321
[ $IS_ROOT = 1 ] && chown capf-signer: "$D/auth.good"
store device-add "$DB" SEP00000000A006 install string --auth-string-file "$D/auth.good" >/dev/null
enroll SEP00000000A006 --password-file "$D/auth.bad" >"$D/e7.out" 2>&1
check_grep "wrong authentication string -> refused" "refused cause=2" "$D/e7.out"
store device-show "$DB" SEP00000000A006 >"$D/d7.out"
check_grep "attempt counted" "attempts=1" "$D/d7.out"
check_grep "Invalid Authentication String recorded" "Invalid Authentication String" "$D/d7.out"
check_nogrep "the authentication string is not logged" "654321|123456" "$LOG"
enroll SEP00000000A006 --password-file "$D/auth.bad" >/dev/null 2>&1
enroll SEP00000000A006 --password-file "$D/auth.bad" >/dev/null 2>&1
enroll SEP00000000A006 --password-file "$D/auth.good" >"$D/e8.out" 2>&1
check_grep "locked out after 3: even the right string is refused" "refused" "$D/e8.out"
store device-show "$DB" SEP00000000A006 >"$D/d8.out"
check_grep "3 attempts counted" "attempts=3" "$D/d8.out"
store device-add "$DB" SEP00000000A007 install string --auth-string-file "$D/auth.good" >/dev/null
enroll SEP00000000A007 --password-file "$D/auth.good" >"$D/e9.out" 2>&1
check_grep "right authentication string -> issued" "result=ok" "$D/e9.out"

# ---- existing certificate: LSC ---------------------------------------------
store device-add "$DB" SEP00000000A001 install lsc-first >/dev/null
enroll SEP00000000A001 --cert "$D/lsc1.pem" --cert-key "$D/lsc1.key" --cert-type lsc \
  --out "$D/lsc10.pem" --key-out "$D/lsc10.key" >"$D/e10.out" 2>&1
check_grep "LSC auth with our own LSC -> issued" "result=ok" "$D/e10.out"
store issuances "$DB" SEP00000000A001 >"$D/i10.out"
check "the renewal has a new serial" test "$(sed -n 's/serial=//p' "$D/i10.out")" != "$(sed -n 's/serial=//p' "$D/i1.out")"

store device-add "$DB" SEP00000000AA03 install lsc-first >/dev/null
enroll SEP00000000AA03 --cert "$D/pki/forged.pem" --cert-key "$D/pki/forged.key" --cert-type lsc >"$D/e11.out" 2>&1
check_grep "LSC from an untrusted issuer -> refused (Invalid LSC)" "refused cause=1" "$D/e11.out"
store device-show "$DB" SEP00000000AA03 >"$D/d11.out"
check_grep "Invalid LSC recorded" "Upgrade Failed: Invalid LSC" "$D/d11.out"

store device-add "$DB" SEP00000000A001 install lsc-first >/dev/null
enroll SEP00000000A001 --cert "$D/lsc10.pem" --cert-key "$D/lsc10.key" --bad-sig flip >"$D/e12.out" 2>&1
check_grep "signature with a flipped byte -> refused" "refused cause=1" "$D/e12.out"
enroll SEP00000000A001 --cert "$D/lsc10.pem" --cert-key "$D/lsc10.key" --bad-sig padding >"$D/e13.out" 2>&1
check_grep "right trailing hash, wrong padding (DigestInfo) -> refused" "refused cause=1" "$D/e13.out"
check_grep "the log says why" "event=refused .*PKCS#1" "$LOG"
store device-add "$DB" SEP00000000A002 install lsc-first >/dev/null
enroll SEP00000000A002 --cert "$D/lsc1.pem" --cert-key "$D/lsc1.key" >"$D/e14.out" 2>&1
check_grep "another device's LSC -> refused" "refused cause=1" "$D/e14.out"

# ---- existing certificate: MIC, and SUDI -------------------------------------
store device-add "$DB" SEP00000000AA01 install mic-first >/dev/null
enroll SEP00000000AA01 --cert "$D/pki/mic.pem" --cert-key "$D/pki/mic.key" --cert-type mic >"$D/e15.out" 2>&1
check_grep "MIC auth with the test manufacturing CA -> issued" "result=ok" "$D/e15.out"
store device-add "$DB" SEP00000000AA02 install mic-first >/dev/null
enroll SEP00000000AA02 --cert "$D/pki/mic-ec.pem" --cert-key "$D/pki/mic-ec.key" --cert-type mic >"$D/e16.out" 2>&1
check_grep "MIC auth with an EC key (ECDSA proofs) -> issued" "result=ok" "$D/e16.out"

store device-add "$DB" SEP00000000A008 install null >/dev/null
enroll SEP00000000A008 --sudi-cert "$D/pki/sudi.pem" --sudi-key "$D/pki/sudi.key" >"$D/e17.out" 2>&1
check_grep "SUDI bound to the signer's session id -> issued" "result=ok" "$D/e17.out"
store device-add "$DB" SEP00000000A009 install null >/dev/null
enroll SEP00000000A009 --sudi-session 0x01020305 \
  --sudi-cert "$D/pki/sudi.pem" --sudi-key "$D/pki/sudi.key" >"$D/e18.out" 2>&1
check_grep "SUDI signed for another session (replay) -> refused" "refused cause=" "$D/e18.out"
check_grep "the log calls it a replay" "event=refused .*replayed" "$LOG"

# ---- freshness: the signer chooses the CAPF session id; replays -----------------
store device-add "$DB" SEP00000000A00E install null >/dev/null
enroll SEP00000000A00E --session 0x01020304 >"$D/f1.out" 2>&1
check_grep "BEGIN with a session id the signer did not choose: connection closed" "closed=1" "$D/f1.out"
check_grep "logged as out of state" "event=out_of_state uid=[0-9]+ pid=[0-9]+ role=front verb=BEGIN needs=session_id" "$LOG"
"$HOSTILE" ipc-forged-issue "$FRONT" >"$D/f1b.out" 2>&1
check_grep "ISSUE naming a session the signer never opened: connection closed" "closed=1" "$D/f1b.out"
check_grep "logged as out of state" "event=out_of_state .*verb=ISSUE needs=install_session" "$LOG"
check "the daemon serves on" "$CL" ping "$FRONT"
# A MIC proof with SUDI, saved as a compromised front end would record it.
store device-add "$DB" SEP00000000AA01 install mic-first >/dev/null
enroll SEP00000000AA01 --cert "$D/pki/mic.pem" --cert-key "$D/pki/mic.key" --cert-type mic \
  --sudi-cert "$D/pki/sudi.pem" --sudi-key "$D/pki/sudi.key" --save-begin "$D/begin.mic" >"$D/f2.out" 2>&1
check_grep "MIC + SUDI bound to the signer's session id -> issued" "result=ok" "$D/f2.out"
store device-add "$DB" SEP00000000AA01 install mic-first >/dev/null
"$HOSTILE" ipc-replay "$FRONT" "$D/begin.mic" >"$D/f3.out" 2>&1
check_grep "the identical BEGIN replayed (same session id, used up) -> connection closed" "closed=1" "$D/f3.out"
"$HOSTILE" ipc-replay "$FRONT" "$D/begin.mic" --fresh-session >"$D/f4.out" 2>&1
check_grep "replayed on a new signer session id -> refused (Invalid MIC: SUDI does not cover it)" "refused cause=3" "$D/f4.out"
cat "$D/f3.out" "$D/f4.out" >"$D/f34.out"
check_nogrep "no decision for a replay" "decision=" "$D/f34.out"
# The phone itself comes back: the same (deterministic RSA) MIC proof, a fresh SUDI signature.
enroll SEP00000000AA01 --cert "$D/pki/mic.pem" --cert-key "$D/pki/mic.key" --cert-type mic \
  --sudi-cert "$D/pki/sudi.pem" --sudi-key "$D/pki/sudi.key" >"$D/f5.out" 2>&1
check_grep "the phone's next session (fresh SUDI, same MIC proof) -> issued" "result=ok" "$D/f5.out"
# That MIC proof without SUDI: no nonce, seen before -> refused by the replay cache.
store device-add "$DB" SEP00000000AA01 install mic-first >/dev/null
enroll SEP00000000AA01 --cert "$D/pki/mic.pem" --cert-key "$D/pki/mic.key" --cert-type mic >"$D/f6.out" 2>&1
check_grep "a MIC proof seen before, without SUDI -> refused (Invalid MIC)" "refused cause=3" "$D/f6.out"
check_grep "the log names the replay" "event=refused .*seen before" "$LOG"
# An ECDSA MIC proof without SUDI (new each time: require_sudi is off here), then its replay.
store device-add "$DB" SEP00000000AA02 install mic-first >/dev/null
enroll SEP00000000AA02 --cert "$D/pki/mic-ec.pem" --cert-key "$D/pki/mic-ec.key" --cert-type mic \
  --save-begin "$D/begin.ec" >"$D/f7.out" 2>&1
check_grep "ECDSA MIC proof, no SUDI, require_sudi off -> issued" "result=ok" "$D/f7.out"
store device-add "$DB" SEP00000000AA02 install mic-first >/dev/null
"$HOSTILE" ipc-replay "$FRONT" "$D/begin.ec" --fresh-session >"$D/f8.out" 2>&1
check_grep "its BEGIN replayed on a new session id -> refused (Invalid MIC)" "refused cause=3" "$D/f8.out"

# ---- By Existing Certificate: only the device's current LSC ----------------------
# SUDI_DATA made with the phone's LSC (not a MIC) while it authenticates with that LSC.
store device-add "$DB" SEP00000000A001 install lsc-first >/dev/null
enroll SEP00000000A001 --cert "$D/lsc10.pem" --cert-key "$D/lsc10.key" --cert-type lsc \
  --sudi-cert "$D/lsc10.pem" --sudi-key "$D/lsc10.key" --out "$D/lsc11.pem" --key-out "$D/lsc11.key" >"$D/g1.out" 2>&1
check_grep "SUDI_DATA signed with the LSC -> issued (not Invalid MIC)" "result=ok" "$D/g1.out"
store device-add "$DB" SEP00000000A001 install lsc-first >/dev/null
enroll SEP00000000A001 --cert "$D/lsc10.pem" --cert-key "$D/lsc10.key" --cert-type lsc >"$D/g2.out" 2>&1
check_grep "the superseded LSC -> refused (Invalid LSC)" "refused cause=1" "$D/g2.out"
check_grep "the log says superseded" "event=refused .*is superseded" "$LOG"
enroll SEP00000000A001 --cert "$D/lsc11.pem" --cert-key "$D/lsc11.key" --cert-type lsc \
  --sudi-cert "$D/pki/forged.pem" --sudi-key "$D/pki/forged.key" >"$D/g3.out" 2>&1
check_grep "SUDI from an untrusted issuer with LSC authentication -> refused (Invalid LSC)" "refused cause=1" "$D/g3.out"
# The device deletes its LSC (Delete operation): that LSC no longer authenticates.
store device-add "$DB" SEP00000000A001 delete null >/dev/null
enroll SEP00000000A001 --outcome deleted >"$D/g4.out" 2>&1
check_grep "delete recorded" "result=ok" "$D/g4.out"
store device-add "$DB" SEP00000000A001 install lsc-first >/dev/null
enroll SEP00000000A001 --cert "$D/lsc11.pem" --cert-key "$D/lsc11.key" --cert-type lsc >"$D/g5.out" 2>&1
check_grep "a deleted LSC -> refused (Invalid LSC)" "refused cause=1" "$D/g5.out"
check_grep "the log says deleted" "event=refused .*is deleted" "$LOG"

# ---- decisions hold until signing: ISSUE re-reads the device ----------------------
store device-add "$DB" SEP00000000A00F install null >/dev/null
rm -f "$D/go"
enroll SEP00000000A00F --wait-before-issue "$D/go" >"$D/h1.out" 2>&1 &
CPID=$!
wait_log 10 "$D/h1.out" waiting=1
store device-add "$DB" SEP00000000A00F none null >/dev/null      # the operator cancels
touch "$D/go"; wait "$CPID"
check_grep "cancelled between BEGIN and ISSUE -> refused at ISSUE" "error text=.*changed during this session" "$D/h1.out"
check_nogrep "nothing issued" "issued serial=" "$D/h1.out"
store issuances "$DB" SEP00000000A00F >"$D/h1.iss"
check_grep "no issuance in the store" "issuance=none" "$D/h1.iss"
check_grep "logged" "event=issue_cancelled device=SEP00000000A00F reason=changed" "$LOG"
# An administrator's change (capfctl over admin.sock) ends the device's open session,
# even one whose decision would still be the same.
store device-add "$DB" SEP00000000A010 install null >/dev/null
rm -f "$D/go"
enroll SEP00000000A010 --wait-before-issue "$D/go" >"$D/h2.out" 2>&1 &
CPID=$!
wait_log 10 "$D/h2.out" waiting=1
"$BIN/capfctl" --socket "$ADMIN" device set SEP00000000A010 --key-order rsa >"$D/h2.ctl" 2>&1
check "capfctl device set answered" test $? = 0
touch "$D/go"; wait "$CPID"
check_grep "a session open during an admin change -> its ISSUE finds no session" "error text=no such session" "$D/h2.out"
check_nogrep "nothing issued after the admin change" "issued serial=" "$D/h2.out"
check_grep "the end of the session is logged" "event=sessions_ended device=SEP00000000A010 sessions=1 reason=admin_change" "$LOG"

# ---- fetch (Troubleshoot), delete, abort -------------------------------------
store device-add "$DB" SEP00000000A002 fetch null >/dev/null
enroll SEP00000000A002 --outcome fetched --fetch-cert "$D/lsc2.pem" >"$D/e20.out" 2>&1
check_grep "fetch: decision" "decision=fetch" "$D/e20.out"
check_grep "fetch: result" "result=ok" "$D/e20.out"
store device-show "$DB" SEP00000000A002 >"$D/d20.out"
check_grep "Troubleshoot Success recorded" "status_text=Troubleshoot Success" "$D/d20.out"
check_grep "the fetched LSC is logged by serial" "event=fetched device=SEP00000000A002 serial=$(openssl x509 -in "$D/lsc2.pem" -noout -serial | cut -d= -f2)" "$LOG"
store device-add "$DB" SEP00000000A002 delete null >/dev/null
enroll SEP00000000A002 --outcome deleted >"$D/e21.out" 2>&1
check_grep "delete: decision" "decision=delete" "$D/e21.out"
store device-show "$DB" SEP00000000A002 >"$D/d21.out"
check_grep "Delete Success recorded" "status_text=Delete Success" "$D/d21.out"
store issuances "$DB" SEP00000000A002 >"$D/i21.out"
check_grep "the device's LSC is marked deleted" "state=deleted" "$D/i21.out"
store device-add "$DB" SEP00000000A00B install null >/dev/null
check "abort: the client exits cleanly" enroll SEP00000000A00B --abort
cp "$T_TMP/last.out" "$D/e22.out"
check_grep "abort answered" "aborted=1" "$D/e22.out"
store device-show "$DB" SEP00000000A00B >"$D/d22.out"
check_grep "abort records Phone Communication Failure" "Upgrade Failed: Phone Communication Failure" "$D/d22.out"

# ---- load with the seccomp filter on: parallel sessions on many connections ----
N=24
for i in $(seq 1 $N); do
  n=$(printf 'SEP0000000B%04d' "$i")
  if [ $((i % 6)) = 0 ]; then store device-add "$DB" "$n" install null --key-order rsa >/dev/null
  else store device-add "$DB" "$n" install null --key-order ec --curve P-256 >/dev/null; fi
done
for i in $(seq 1 $N); do
  enroll "$(printf 'SEP0000000B%04d' "$i")" >"$D/load.$i.out" 2>&1 &
done
wait_clients() { local p; for p in $(jobs -p); do [ "$p" = "$SPID" ] || wait "$p"; done; }
wait_clients
check "$N parallel enrollments all issued" test "$(cat "$D"/load.*.out | grep -c result=ok)" = $N
check "the daemon survived the load" kill -0 "$SPID"

# Saturation: 400 connections send BEGIN at once to 2 workers (queue bound 128):
# every one is answered, the overflow with RETRY_LATER and front.retry_delay.
store device-add "$DB" SEP00000000A00D install null >/dev/null
"$HOSTILE" ipc-burst "$FRONT" SEP00000000A00D 400 >"$D/burst.out" 2>&1
check "saturated: every request answered" grep -qx "closed=0" "$D/burst.out"
check "saturated: nothing but OK and RETRY_LATER" grep -qx "other=0" "$D/burst.out"
check "saturated: the overflow gets RETRY_LATER" grep -qE "^retry_later=[1-9]" "$D/burst.out"
check_grep "saturation logged" "event=saturated" "$LOG"
check "the daemon survived the burst" kill -0 "$SPID"

# ---- the peer check and the front role's limits ------------------------------
check "admin verbs on front.sock: connection closed" bash -c "'$HOSTILE' ipc-raw '$FRONT' 0102 | grep -q closed=1"
check_grep "logged as a protocol error" "event=protocol_error .*role=front" "$LOG"
check "PING answered (the connection works)" bash -c "'$HOSTILE' ipc-raw '$FRONT' 0001 | grep -q closed=0"
check "an unknown verb: connection closed" bash -c "'$HOSTILE' ipc-raw '$FRONT' 7777 | grep -q closed=1"
check "a malformed message: connection closed" bash -c "'$HOSTILE' ipc-raw '$FRONT' 0010 11 | grep -q closed=1"
check "a message over 64 KiB: connection closed" bash -c "'$HOSTILE' ipc-raw '$FRONT' 0010 70000 | grep -q closed=1"
check_grep "the over-long message is logged" "event=protocol_error .*error=too_big len=70000" "$LOG"
check "front verbs on admin.sock: connection closed" bash -c "'$HOSTILE' ipc-raw '$ADMIN' 0010 | grep -q closed=1"
# A peer that sends and never reads: its answers are not waited for, it is dropped.
"$HOSTILE" ipc-unread "$FRONT" 5000 >"$D/unread.out" 2>&1
check_grep "a peer that does not read its answers is dropped" "closed=1" "$D/unread.out"
check_grep "logged as peer_not_reading" "event=peer_not_reading" "$LOG"
check "the daemon serves on" "$CL" ping "$FRONT"
if [ $IS_ROOT = 1 ]; then
  chmod o+x "$D/run"; chmod o+rw "$FRONT"
  check "a uid not allowed on front.sock: connection closed" \
    bash -c "setpriv --reuid nobody --regid nogroup --clear-groups '$CL' ping '$FRONT' | grep -q closed=1"
  check_grep "peer_refused logged with uid and role" "event=peer_refused uid=65534 gid=[0-9]+ pid=[0-9]+ role=front" "$LOG"
  chmod o-x "$D/run"
else
  skips 2 "a uid not allowed on front.sock (needs root: another user)"
fi

# ---- an issuance is durable before the certificate leaves --------------------
store device-add "$DB" SEP00000000A00A install null >/dev/null
"$CL" enroll "$FRONT" SEP00000000A00A --no-result >"$D/e19.out" 2>&1 &
CPID=$!
wait_log 10 "$D/e19.out" holding=1
kill -KILL "$SPID"; wait "$SPID" 2>/dev/null
kill "$CPID" 2>/dev/null; wait "$CPID" 2>/dev/null
SERIAL=$(sed -n 's/issued serial=//p' "$D/e19.out")
check "ISSUE returned a certificate before SIGKILL" test -n "$SERIAL"
# restarted with auth.require_sudi for the certificate modes
sed -i 's/^auth: { max_failed_attempts = 3; };/auth: { max_failed_attempts = 3; require_sudi = ["lsc-first", "mic-first"]; };/' "$D/capf.conf"
check "restarts after SIGKILL" start "$D/signerd2.log"
store issuances "$DB" SEP00000000A00A >"$D/i19.out"
check_grep "the issuance is in the store after SIGKILL" "serial=$SERIAL" "$D/i19.out"
check_grep "recorded as issued (not delivered)" "state=issued" "$D/i19.out"

# ---- auth.require_sudi: certificate proof without fresh SUDI_DATA refused ----------
store device-add "$DB" SEP00000000AA02 install mic-first >/dev/null
enroll SEP00000000AA02 --cert "$D/pki/mic-ec.pem" --cert-key "$D/pki/mic-ec.key" --cert-type mic >"$D/r1.out" 2>&1
check_grep "require_sudi: a valid (fresh ECDSA) MIC proof without SUDI -> refused (Invalid MIC)" "refused cause=3" "$D/r1.out"
check_grep "the log names auth.require_sudi" "event=refused .*auth.require_sudi" "$D/signerd2.log"
enroll SEP00000000AA02 --cert "$D/pki/mic-ec.pem" --cert-key "$D/pki/mic-ec.key" --cert-type mic \
  --sudi-cert "$D/pki/sudi.pem" --sudi-key "$D/pki/sudi.key" >"$D/r2.out" 2>&1
check_grep "require_sudi: with SUDI bound to the signer's session id -> issued" "result=ok" "$D/r2.out"
store device-add "$DB" SEP00000000A011 install null >/dev/null
enroll SEP00000000A011 >"$D/r3.out" 2>&1
check_grep "require_sudi lists only the certificate modes: By Null String still enrolls" "result=ok" "$D/r3.out"

# ---- the token goes away: RETRY_LATER with front.retry_delay ----------------
# (SoftHSM does not come back from a vanished token directory without a
# restart, so this runs last.)
store device-add "$DB" SEP00000000A00C install null --key-order ec >/dev/null
mv "$D/tok/tokens" "$D/tok/tokens.gone"
enroll SEP00000000A00C >"$D/e23.out" 2>&1
mv "$D/tok/tokens.gone" "$D/tok/tokens"
check_grep "token down -> RETRY_LATER with front.retry_delay" "retry_later delay=17" "$D/e23.out"
check_grep "logged as a retryable signing failure" "event=sign_failed device=SEP00000000A00C retry=1" "$D/signerd2.log"
check "still answering while the token is down" "$CL" ping "$FRONT"

# ---- SIGTERM: clean exit ------------------------------------------------------
stop_signerd; rc=$?
check "SIGTERM: exit 0" test $rc = 0
check_grep "stopped line" "event=stopped" "$D/signerd2.log"
check_nogrep "no seccomp violation in the logs" "seccomp_violation" "$LOG"
check_nogrep "no seccomp violation after restart" "seccomp_violation" "$D/signerd2.log"
check "sockets removed on exit" test ! -e "$FRONT"
finish
