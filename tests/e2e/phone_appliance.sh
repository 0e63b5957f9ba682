#!/usr/bin/env bash
# capf-phone against the whole appliance (scripts/appliance-local: SoftHSM token,
# capf-signerd, capf-frontd): every operation a phone sees, end to end.
#   install (EC, null string) -> an LSC that verifies against the CAPF CA, key 0600
#   nothing pending -> exit 10; unknown device -> exit 11
#   re-enrollment authenticated by that LSC, EC generation failing -> RSA fall-back
#   re-enrollment with SUDI_DATA made with the LSC; a superseded LSC refused
#   fetch (Troubleshoot), delete; authentication string wrong (refused) then right;
#   a Jabber client (protocol 2, RSA only); small load runs (default threads, one
#   event loop, three), all successful.
. tests/lib.sh

D=$T_TMP/app
PORT=$(free_port)
if ! scripts/appliance-local up "$D" --port "$PORT" >"$T_TMP/env" 2>"$T_TMP/up.err"; then
  not_ok "appliance-local up ($(tail -3 "$T_TMP/up.err"))"
  finish
fi
ok "appliance up"
# shellcheck disable=SC1090
. "$T_TMP/env"
on_exit appliance_down "$D"

W=$T_TMP/w
mkdir -p "$W"
chmod 0700 "$W"
PH=("$BIN/capf-phone" --host "$CAPF_HOST" --port "$CAPF_PORT" --capf-cert "$CAPF_CERT" --timeout 20)
ctl() { $CAPFCTL "$@" >>"$T_TMP/ctl.log" 2>&1; }
N=SEP00AABBCC0001

check "device scheduled for install" ctl device add $N --op install --auth null --key-order ec
"${PH[@]}" --name $N --out-cert "$W/lsc.pem" --out-key "$W/lsc.key" --json >"$W/out" 2>&1
check "install: exit 0" test $? = 0
check_grep "JSON: success with an EC key" '"result":"success".*"key":"EC prime256v1"' "$W/out"
check "the LSC verifies against the CAPF CA" ossl verify -CAfile "$CAPF_CA_CERT" "$W/lsc.pem"
check "the LSC is for the key written" bash -c "cmp <(openssl x509 -in '$W/lsc.pem' -noout -pubkey) <(openssl pkey -in '$W/lsc.key' -pubout)"
check "the key file is 0600" test "$(stat -c %a "$W/lsc.key")" = 600

"${PH[@]}" --name $N >"$W/out" 2>&1
check "nothing pending: exit 10" test $? = 10
"${PH[@]}" --name SEP00AABBCCFFFF >"$W/out" 2>&1
check "unknown device: exit 11" test $? = 11

check "re-enrollment by LSC, EC preferred RSA backup" ctl device set $N --op install --auth lsc-first --key-order ec-rsa
"${PH[@]}" --name $N --auth lsc --cert "$W/lsc.pem" --key "$W/lsc.key" --fail-keygen ec --send-in-progress \
  --out-cert "$W/lsc2.pem" --out-key "$W/lsc2.key" >"$W/out" 2>&1
check "authenticated by the LSC, EC failed, RSA fall-back: exit 0" test $? = 0
check_grep "the new LSC has an RSA key" "key RSA [0-9]+" "$W/out"
check_grep "one key generation failed on purpose" "1 key generation\(s\) failed" "$W/out"

# SUDI_DATA made with the LSC itself (as some clients do), bound to the signer's session id
check "re-enrollment by LSC with SUDI made with that LSC" ctl device set $N --op install --auth lsc-first --key-order ec
"${PH[@]}" --name $N --auth lsc --cert "$W/lsc2.pem" --key "$W/lsc2.key" \
  --sudi-cert "$W/lsc2.pem" --sudi-key "$W/lsc2.key" --out-cert "$W/lsc3.pem" --out-key "$W/lsc3.key" >"$W/out" 2>&1
check "LSC-signed SUDI_DATA: exit 0 (not Invalid MIC)" test $? = 0
check "an LSC superseded twice no longer authenticates" ctl device set $N --op install --auth lsc-first
"${PH[@]}" --name $N --auth lsc --cert "$W/lsc.pem" --key "$W/lsc.key" >"$W/out" 2>&1
check "the superseded LSC: refused, exit 12" test $? = 12
check "fetch scheduled" ctl device set $N --op fetch
"${PH[@]}" --name $N --auth lsc --cert "$W/lsc3.pem" --key "$W/lsc3.key" >"$W/out" 2>&1
check "fetch: exit 0" test $? = 0
check "delete scheduled" ctl device set $N --op delete
"${PH[@]}" --name $N --auth lsc --cert "$W/lsc3.pem" --key "$W/lsc3.key" >"$W/out" 2>&1
check "delete: exit 0" test $? = 0
check_grep "operation delete" "operation delete" "$W/out"

secret_file "$W/as" 24681357
secret_file "$W/bad" 11111111
check "install by authentication string" ctl device add SEP00AABBCC0002 --op install --auth string --auth-string-file "$W/as"
"${PH[@]}" --name SEP00AABBCC0002 --auth string --auth-string-file "$W/bad" >"$W/out" 2>&1
check "a wrong authentication string: refused, exit 12" test $? = 12
"${PH[@]}" --name SEP00AABBCC0002 --auth string --auth-string-file "$W/as" >"$W/out" 2>&1
check "the right one: exit 0" test $? = 0

check "a Jabber client scheduled (EC preferred)" ctl device add CSFPHONETEST --op install --auth null --key-order ec-rsa
"${PH[@]}" --name CSFPHONETEST --protocol 2 >"$W/out" 2>&1
check "Jabber (protocol 2): enrolled with RSA, exit 0" test $? = 0
check_grep "RSA key for Jabber" "key RSA" "$W/out"

{ echo "name,operation,auth,key_order"; for i in $(seq 0 23); do printf 'SEP%012X,install,null,ec\n' $((0xB00000 + i)); done; } >"$W/load.csv"
check "24 devices scheduled in bulk" ctl bulk --csv "$W/load.csv"
"${PH[@]}" --load 24 --concurrency 8 --name-pattern 'SEP%012X' --first $((0xB00000)) --keys ec:P-256 --json \
  >"$W/load.out" 2>&1
check "load: 24 enrollments, exit 0" test $? = 0
check_grep "load: figures printed" "enrollments/s [0-9.]+ +latency ms p50" "$W/load.out"
check_grep "load: 24 successes" '"success":24,.*"failures":0' "$W/load.out"

# one event loop for all (--threads 1), then three loops sharing 5 sessions unevenly
for t in "1 6 $((0xB10000))" "3 5 $((0xB20000))"; do
  set -- $t
  { echo "name,operation,auth,key_order"; for i in $(seq 0 23); do printf 'SEP%012X,install,null,ec\n' $(($3 + i)); done; } >"$W/load.csv"
  check "24 more devices scheduled" ctl bulk --csv "$W/load.csv"
  timeout 120 "${PH[@]}" --load 24 --concurrency "$2" --threads "$1" --name-pattern 'SEP%012X' --first "$3" \
    --keys ec:P-256 --json >"$W/load.out" 2>&1
  check "load, --threads $1 --concurrency $2: exit 0" test $? = 0
  check_grep "load, --threads $1 --concurrency $2: 24 successes" '"success":24,.*"failures":0' "$W/load.out"
done
finish
