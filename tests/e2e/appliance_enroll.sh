#!/usr/bin/env bash
# The whole appliance (scripts/appliance-local: ceremony, capf-signerd, capf-frontd) and
# capf-phone: Install/Upgrade in every authentication mode and key type. Each LSC must
# verify against the CAPF CA and `capfctl report` must show Cisco's status.
#   null string x RSA 2048, RSA 4096 (one: slow key generation), P-256, P-384
#   string (right and wrong), LSC re-enrollment with the first LSC, MIC from a test
#   manufacturing CA, EC preferred with RSA backup when the phone cannot make EC keys,
#   key generation failure, REQUEST_IN_PROGRESS, SUDI data.
. tests/lib.sh
. tests/e2e/appliance_lib.sh

export CAPF_IDLE_TIMEOUT=10 CAPF_KEYGEN_TIMEOUT=60
mk_pki
check "appliance-local up" app_up
if [ "${CAPF_E2E_HSM:-softhsm}" = p11-kit ]; then
  check_grep "token.module is p11-kit's client module" 'module = ".*p11-kit-client.so"' "$APP/capf.conf"
  check_grep "token.env names the server" 'P11_KIT_SERVER_ADDRESS=unix:path=' "$APP/capf.conf"
  check "the p11-kit server runs" kill -0 "$CAPF_P11KIT_PID"
fi
mkdir -p "$T_TMP/out"
O=$T_TMP/out

# the TLS certificate phones check is issued by the CAPF CA; the LSC issuer is the CA
check "CAPF_CERT chains to CAPF_CA_CERT" ossl verify -CAfile "$CAPF_CA_CERT" "$CAPF_CERT"
check "both in the trust bundle" test "$(grep -c 'BEGIN CERTIFICATE' "$CAPF_TRUST_BUNDLE")" -ge 2
# capf-frontd sends its certificate without the self-signed CAPF CA (the client's trust
# anchor), and a client that trusts only the CA still verifies it
echo Q | ossl s_client -connect "$CAPF_HOST:$CAPF_PORT" -showcerts -CAfile "$CAPF_CA_CERT" -verify_return_error \
  >"$T_TMP/s_client.out" 2>&1
check "TLS: one certificate sent" test "$(grep -c 'BEGIN CERTIFICATE' "$T_TMP/s_client.out")" = 1
check_grep "TLS: it verifies with the CAPF CA alone" "Verify return code: 0 \(ok\)" "$T_TMP/s_client.out"

# ---- By Null String, every key type
add() { "${CTL[@]}" device add "$@" >"$T_TMP/ctl.out" 2>&1 || { cat "$T_TMP/ctl.out"; return 1; }; }
check "schedule null/RSA 2048" add SEP0000000A2048 --op install --auth null --key-order rsa --rsa-bits 2048
check "schedule null/RSA 4096" add SEP0000000A4096 --op install --auth null --key-order rsa --rsa-bits 4096
check "schedule null/P-256" add SEP0000000AE256 --op install --auth null --key-order ec --curve P-256
check "schedule null/P-384" add SEP0000000AE384 --op install --auth null --key-order ec --curve P-384
check_status SEP0000000A2048 "Operation Pending"

phone_rc 0 "null/RSA 2048 enrolls" --name SEP0000000A2048 --out-cert "$O/a2048.pem" --out-key "$O/a2048.key"
check_lsc SEP0000000A2048 "$O/a2048.pem" "Public-Key: \(2048 bit\)"
check_status SEP0000000A2048 "Upgrade Success"
phone_rc 0 "null/RSA 4096 enrolls (with REQUEST_IN_PROGRESS)" --name SEP0000000A4096 --send-in-progress \
  --out-cert "$O/a4096.pem" --out-key "$O/a4096.key"
check_lsc SEP0000000A4096 "$O/a4096.pem" "Public-Key: \(4096 bit\)"
check_status SEP0000000A4096 "Upgrade Success"
phone_rc 0 "null/P-256 enrolls" --name SEP0000000AE256 --out-cert "$O/e256.pem" --out-key "$O/e256.key"
check_lsc SEP0000000AE256 "$O/e256.pem" "NIST CURVE: P-256"
phone_rc 0 "null/P-384 enrolls" --name SEP0000000AE384 --out-cert "$O/e384.pem" --out-key "$O/e384.key"
check_lsc SEP0000000AE384 "$O/e384.pem" "NIST CURVE: P-384"
check_status SEP0000000AE384 "Upgrade Success"
phone_rc 10 "an LSC is issued once: the next visit finds nothing scheduled" --name SEP0000000A2048

# ---- By Authentication String
secret_file "$T_TMP/as.good" 8675309
secret_file "$T_TMP/as.bad" 1234567
check "schedule string/P-256" add SEP0000000B0256 --op install --auth string --auth-string-file "$T_TMP/as.good" \
  --key-order ec --curve P-256
phone_rc 12 "a wrong authentication string is refused (END_SESSION 7)" --name SEP0000000B0256 \
  --auth string --auth-string-file "$T_TMP/as.bad"
check_status SEP0000000B0256 "Upgrade Failed: Invalid Authentication String"
phone_rc 0 "the right string enrolls" --name SEP0000000B0256 --auth string --auth-string-file "$T_TMP/as.good" \
  --out-cert "$O/b256.pem" --out-key "$O/b256.key"
check_lsc SEP0000000B0256 "$O/b256.pem" "NIST CURVE: P-256"
check_status SEP0000000B0256 "Upgrade Success"
check_nogrep "the string never reaches a log" "8675309|1234567" "$APP/logs/frontd.log"
check_nogrep "nor the signer's" "8675309|1234567" "$APP/logs/signerd.log"

# ---- By Existing Certificate: the LSC of the first install (re-enrollment)
check "reschedule with lsc-first/RSA 2048" "${CTL[@]}" device set SEP0000000A2048 --op install --auth lsc-first
phone_rc 12 "re-enrollment without the LSC is refused" --name SEP0000000A2048
phone_rc 0 "re-enrollment with the LSC and its key" --name SEP0000000A2048 --auth lsc --cert "$O/a2048.pem" \
  --key "$O/a2048.key" --out-cert "$O/a2048b.pem" --out-key "$O/a2048b.key"
check_lsc SEP0000000A2048 "$O/a2048b.pem" "Public-Key: \(2048 bit\)"
check "a new LSC (new serial)" test "$(ossl x509 -in "$O/a2048.pem" -noout -serial)" != \
  "$(ossl x509 -in "$O/a2048b.pem" -noout -serial)"
check_status SEP0000000A2048 "Upgrade Success"

# ---- By Existing Certificate: a MIC from a manufacturing CA in mic.ca_dir
mk_mic SEP0000000C0384 ec:<(ossl ecparam -name prime256v1) 2>/dev/null || mk_mic SEP0000000C0384
mk_mic SEP0000000C2048
cp "$T_TMP/pki/mfg.pem" "$APP/mic-ca/mfg.pem"
chmod 0644 "$APP/mic-ca/mfg.pem"
check "restart to load the manufacturing CA" bash -c "'$LOCAL' down '$APP' && true"
check "appliance-local up again (reuses DIR)" app_up
check "schedule mic-first/P-384" add SEP0000000C0384 --op install --auth mic-first --key-order ec --curve P-384
check "schedule mic-first/RSA 2048" add SEP0000000C2048 --op install --auth mic-first --key-order rsa
phone_rc 0 "MIC authentication (EC MIC) enrolls" --name SEP0000000C0384 --auth mic \
  --cert "$T_TMP/pki/SEP0000000C0384.mic.pem" --key "$T_TMP/pki/SEP0000000C0384.mic.key" --out-cert "$O/c384.pem" --out-key "$O/c384.key"
check_lsc SEP0000000C0384 "$O/c384.pem" "NIST CURVE: P-384"
phone_rc 0 "MIC authentication (RSA MIC, with SUDI) enrolls" --name SEP0000000C2048 --auth mic \
  --cert "$T_TMP/pki/SEP0000000C2048.mic.pem" --key "$T_TMP/pki/SEP0000000C2048.mic.key" \
  --sudi-cert "$T_TMP/pki/SEP0000000C2048.mic.pem" --sudi-key "$T_TMP/pki/SEP0000000C2048.mic.key" \
  --out-cert "$O/c2048.pem" --out-key "$O/c2048.key"
check_lsc SEP0000000C2048 "$O/c2048.pem" "Public-Key: \(2048 bit\)"
check_status SEP0000000C2048 "Upgrade Success"
# a MIC that no manufacturing CA issued
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$T_TMP/pki/forged.key" -out "$T_TMP/pki/forged.pem" \
  -subj /CN=SEP0000000C9999 -days 2 >/dev/null 2>&1
check "schedule mic-first for the forger" add SEP0000000C9999 --op install --auth mic-first
phone_rc 12 "a self-signed MIC is refused" --name SEP0000000C9999 --auth mic --cert "$T_TMP/pki/forged.pem" \
  --key "$T_TMP/pki/forged.key"
check_status SEP0000000C9999 "Upgrade Failed: Invalid MIC"

# ---- key order fall-back and key generation failure
check "schedule ec-rsa" add SEP0000000D0001 --op install --auth null --key-order ec-rsa --curve P-256
phone_rc 0 "EC Preferred RSA Backup: EC fails, RSA enrolls" --name SEP0000000D0001 --fail-keygen ec \
  --out-cert "$O/d1.pem" --out-key "$O/d1.key"
check_lsc SEP0000000D0001 "$O/d1.pem" "Public-Key: \(2048 bit\)"
check "schedule ec only" add SEP0000000D0002 --op install --auth null --key-order ec --curve P-256
phone_rc 12 "EC Only and the phone cannot: END_SESSION 7" --name SEP0000000D0002 --fail-keygen ec
check_status SEP0000000D0002 "Upgrade Failed: Key Generation Failed"

check_nogrep "no protocol violation by a well-behaved phone" "event=protocol_violation" "$APP/logs/frontd.log"
check "capf-frontd still running" kill -0 "$CAPF_FRONTD_PID"
check "capf-signerd still running" kill -0 "$CAPF_SIGNERD_PID"
finish
