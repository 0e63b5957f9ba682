#!/usr/bin/env bash
# The whole appliance: the other flows and the refusals. Troubleshoot (fetch) and
# Delete, Jabber (protocol 2, CSF name, RSA only), deadline passed, unknown device,
# nothing scheduled; the signer going away and coming back (RETRY_LATER, reconnect),
# a phone vanishing mid-operation (ABORT), hostile clients and 300 silent ones while
# a real enrollment succeeds.
. tests/lib.sh
. tests/e2e/appliance_lib.sh

export CAPF_IDLE_TIMEOUT=4 CAPF_HANDSHAKE_TIMEOUT=3 CAPF_KEYGEN_TIMEOUT=10
check "appliance-local up" app_up
check "status: both running" "$LOCAL" status "$APP"
O=$T_TMP/out
mkdir -p "$O"
add() { "${CTL[@]}" device add "$@" >"$T_TMP/ctl.out" 2>&1 || { cat "$T_TMP/ctl.out"; return 1; }; }
H=$HOSTILE

# ---- an LSC to fetch and delete
check "schedule install" add SEP0000000E0001 --op install --auth null --key-order ec --curve P-256
phone_rc 0 "install" --name SEP0000000E0001 --out-cert "$O/e1.pem" --out-key "$O/e1.key"
check "schedule Troubleshoot (fetch)" "${CTL[@]}" device set SEP0000000E0001 --op fetch
phone_rc 0 "fetch: the phone returns its LSC" --name SEP0000000E0001 --cert "$O/e1.pem" --key "$O/e1.key"
check_status SEP0000000E0001 "Troubleshoot Success"
check "schedule Delete" "${CTL[@]}" device set SEP0000000E0001 --op delete
phone_rc 0 "delete" --name SEP0000000E0001 --cert "$O/e1.pem" --key "$O/e1.key"
check_status SEP0000000E0001 "Delete Success"
phone_rc 10 "nothing scheduled: END_SESSION 0" --name SEP0000000E0001
check "a device with no operation" add SEP0000000E0002
phone_rc 10 "No Pending Operation: END_SESSION 0" --name SEP0000000E0002
phone_rc 11 "unknown device: END_SESSION 9" --name SEP0000000EFFFF

# ---- Jabber: protocol 2, no PASSWORD, KEY_GENERATE_REQUEST with KEY_SIZE only
check "schedule a Jabber client (EC preferred: it must get RSA)" add CSFJSMITH --op install --auth null \
  --key-order ec-rsa
phone_rc 0 "Jabber (protocol 2) enrolls" --name CSFJSMITH --protocol 2 --out-cert "$O/jabber.pem" \
  --out-key "$O/jabber.key"
check "Jabber LSC verifies against the CAPF CA" ossl verify -CAfile "$CAPF_CA_CERT" "$O/jabber.pem"
check "Jabber LSC is RSA" bash -c "openssl x509 -in '$O/jabber.pem' -noout -text | grep -q 'rsaEncryption'"
check_status CSFJSMITH "Upgrade Success"

# ---- deadline passed ("Operation Completes By" in the past: edited in the store while stopped)
check "schedule with a deadline" add SEP0000000E0003 --op install --auth null
app_down
DB=$APP/signer/db/capf.db
RUN_AS=()
[ "$(id -u)" = 0 ] && RUN_AS=(setpriv --reuid capf-signer --regid capf-signer --clear-groups)
check "move the deadline into the past" "${RUN_AS[@]}" sqlite3 "$DB" \
  "UPDATE devices SET deadline = strftime('%s','now') - 7200 WHERE name = 'SEP0000000E0003';"
check "appliance-local up (restart)" app_up
phone_rc 12 "late: END_SESSION 7" --name SEP0000000E0003
check_status SEP0000000E0003 "Upgrade Failed: User Initiated Request Late/Timedout"

# ---- hostile clients against the full stack
check "split byte by byte: still answered (unknown device: END_SESSION 9)" \
  "$H" split "$CAPF_HOST" "$CAPF_PORT" --name SEP0000000EEEEE --expect END_SESSION:9
check "unknown element tags skipped (No Pending Operation: END_SESSION 0)" \
  "$H" unknown-tag "$CAPF_HOST" "$CAPF_PORT" --name SEP0000000E0002 --expect END_SESSION:0
hostile_cases "$CAPF_HOST" "$CAPF_PORT" "$O"

# ---- 300 silent clients (64 held, the rest refused); a real enrollment succeeds while they hang
check "schedule install" add SEP0000000E0004 --op install --auth null --key-order rsa
"$H" idle "$CAPF_HOST" "$CAPF_PORT" --count 300 >"$O/idle.out" 2>&1 &
IPID=$!
wait_log 20 "$O/idle.out" '^ready' "$IPID"
check_grep "300 silent clients connected" "^ready" "$O/idle.out"
# (from another address: 127.0.0.1 is at its front.max_per_address with them)
phone_rc 0 "a real enrollment while they hang" --bind 127.0.0.2 --name SEP0000000E0004 --out-cert "$O/e4.pem" \
  --out-key "$O/e4.key"
check "its LSC verifies" ossl verify -CAfile "$CAPF_CA_CERT" "$O/e4.pem"
wait $IPID
check "every silent client got END_SESSION 7 or was closed ($(cat "$O/idle.out" | tail -1))" test $? = 0

# ---- a phone that vanishes while it generates its key: ABORT to the signer
check "schedule install" add SEP0000000E0005 --op install --auth null --key-order rsa
check "the phone vanished after KEY_GENERATE_REQUEST" "$H" keygen-vanish "$CAPF_HOST" "$CAPF_PORT" --name SEP0000000E0005
wait_log 5 "$APP/logs/signerd.log" 'event=abort.*SEP0000000E0005|SEP0000000E0005.*abort'
check_grep "the signer was told (ABORT)" "abort.*SEP0000000E0005|SEP0000000E0005.*abort" "$APP/logs/signerd.log"
check_status SEP0000000E0005 "Upgrade Failed: Phone Communication Failure"

# ---- a phone that never answers KEY_GENERATE_REQUEST: key generation timeout (10 s here)
check "reschedule" "${CTL[@]}" device set SEP0000000E0005 --op install
check "keygen timeout: END_SESSION 7 then close" "$H" keygen-silent "$CAPF_HOST" "$CAPF_PORT" --name SEP0000000E0005
check_status SEP0000000E0005 "Upgrade Failed: Key Generation Timeout"

# ---- the signer goes away: RETRY_LATER; it comes back: served again (reconnect)
check "schedule install" add SEP0000000E0006 --op install --auth null --key-order ec --curve P-256
SPID=$CAPF_SIGNERD_PID
n0=$(grep -c 'event=stopped' "$APP/logs/signerd.log")
kill "$SPID"
signer_stopped() { [ "$(log_count "$APP/logs/signerd.log" event=stopped)" -gt "$n0" ]; }
wait_for 10 signer_stopped
phone_rc 13 "signer down: RETRY_LATER" --name SEP0000000E0006
check_grep "front end logged it" "event=signer_(unavailable|disconnected)" "$APP/logs/frontd.log"
check "appliance-local up starts the signer again" app_up
check "capf-frontd was not restarted" test "$(cat "$APP/pids/frontd.pid")" = "$CAPF_FRONTD_PID"
ok_after=0
for _ in $(seq 40); do
  if phone --name SEP0000000E0006 --out-cert "$O/e6.pem" --out-key "$O/e6.key" >"$T_TMP/phone.out" 2>&1; then
    ok_after=1; break
  fi
  sleep 0.25
done
check "the front end reconnected to the signer: enrollment succeeds" test $ok_after = 1
check_status SEP0000000E0006 "Upgrade Success"

check "capf-frontd survived everything" kill -0 "$CAPF_FRONTD_PID"
check_nogrep "no crash, sanitizer report or seccomp violation in the logs" \
  "AddressSanitizer|runtime error|Segmentation|seccomp_violation" "$APP/logs/frontd.log"
"$LOCAL" down "$APP"
"$LOCAL" status "$APP" >"$T_TMP/status.out"
check "status after down: exit 3" test $? = 3
check_grep "status says stopped" "capf-frontd: stopped" "$T_TMP/status.out"
check_grep "capf-frontd stopped cleanly" "event=stopping" "$APP/logs/frontd.log"
check_nogrep "no sanitizer or leak report at exit" "LeakSanitizer|AddressSanitizer|runtime error" \
  "$APP/logs/frontd.log"
finish
