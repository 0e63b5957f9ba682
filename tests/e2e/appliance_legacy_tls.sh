#!/usr/bin/env bash
# Phones with older TLS stacks: Cisco phones whose TLS offers only TLSv1
# with AES256-SHA:AES128-SHA (RSA key transport, no ECDHE). An appliance made with
# `appliance-local up --tls-legacy` (RSA-2048 TLS key certified by the CAPF CA,
# tls.legacy = true): such a phone (capf-phone --tls-version 1.0 --ciphers ...)
# enrolls, its LSC verifies and capf-frontd logs it as event=legacy_tls; a modern phone
# still enrolls (ECDHE, not logged). The same appliance with tls.legacy off: the old
# phone's handshake fails, a TLS 1.2 static-RSA one too, the modern phone enrolls.
. tests/lib.sh
. tests/e2e/appliance_lib.sh

export CAPF_IDLE_TIMEOUT=10 CAPF_KEYGEN_TIMEOUT=60
check "appliance-local up --tls-legacy" app_up --tls-legacy
O=$T_TMP/out
mkdir -p "$O"
FLOG=$APP/logs/frontd.log
OLD=(--tls-version 1.0 --ciphers AES256-SHA:AES128-SHA)

ossl x509 -in "$CAPF_CERT" -noout -text >"$T_TMP/tls.txt" 2>&1
check_grep "the front end's TLS certificate has an RSA-2048 key" "Public-Key: \(2048 bit\)" "$T_TMP/tls.txt"
check_grep "... with keyEncipherment (static-RSA key transport)" "Key Encipherment" "$T_TMP/tls.txt"
check "... issued by the CAPF CA" ossl verify -CAfile "$CAPF_CA_CERT" "$CAPF_CERT"
check_grep "capf.conf: tls.legacy = true" "^  legacy = true;" "$APP/capf.conf"
check_grep "capf-frontd started in legacy mode" "event=started .*tls_min=1.0 tls_legacy=1 " "$FLOG"
check_fails "--tls-key ec on that directory is refused" env BUILD="$BUILD" "$LOCAL" up "$APP" --tls-key ec

add() { "${CTL[@]}" device add "$@" >"$T_TMP/ctl.out" 2>&1 || { cat "$T_TMP/ctl.out"; return 1; }; }
check "schedule the old phone" add SEP00000001E6A1 --op install --auth null --key-order rsa --rsa-bits 2048
check "schedule a modern phone" add SEP00000001E6A2 --op install --auth null --key-order ec --curve P-256

phone_rc 0 "a TLSv1 AES256-SHA:AES128-SHA phone enrolls" --name SEP00000001E6A1 "${OLD[@]}" \
  --out-cert "$O/old.pem" --out-key "$O/old.key"
check_lsc SEP00000001E6A1 "$O/old.pem" "Public-Key: \(2048 bit\)"
check_status SEP00000001E6A1 "Upgrade Success"
sleep 0.3
check_grep "capf-frontd logs it: event=legacy_tls, TLSv1, static RSA" \
  "event=legacy_tls peer=127\.0\.0\.1:[0-9]+ version=TLSv1 cipher=AES(128|256)-SHA kx=rsa" "$FLOG"
peer=$(grep -oE 'event=legacy_tls peer=[^ ]+' "$FLOG" | head -1 | sed 's/.*peer=//')
check_grep "... and that peer is the old phone" "peer=$peer device=SEP00000001E6A1 " "$FLOG"

phone_rc 0 "a modern phone still enrolls in legacy mode" --name SEP00000001E6A2 \
  --out-cert "$O/new.pem" --out-key "$O/new.key"
check_lsc SEP00000001E6A2 "$O/new.pem" "NIST CURVE: P-256"
sleep 0.3
check "... and is not logged as legacy" test "$(grep -c event=legacy_tls "$FLOG")" = 1

# tls.legacy off (min_version back to 1.2): the same old phone cannot finish a handshake
proc_stop "$CAPF_FRONTD_PID"
sed -i -e '/^  legacy = true;$/d' -e 's/^  min_version = "1.0";$/  min_version = "1.2";/' "$APP/capf.conf"
check_nogrep "capf.conf: tls.legacy removed" "^ *legacy =" "$APP/capf.conf"
check "capf-frontd restarted without legacy" app_up
check_grep "... tls_legacy=0" "event=started .*tls_min=1.2 tls_legacy=0 " "$FLOG"
BUILD=$BUILD "$LOCAL" up "$APP" --tls-legacy >"$T_TMP/up2.out" 2>&1
check "up --tls-legacy on a folder without it is refused (exit 1)" test $? = 1
check_grep "... saying so" "was made without --tls-legacy" "$T_TMP/up2.out"
check "schedule the old phone again" add SEP00000001E6A3 --op install --auth null --key-order rsa --rsa-bits 2048
phone_rc 1 "without tls.legacy the TLSv1 AES256-SHA:AES128-SHA phone is refused" --name SEP00000001E6A3 "${OLD[@]}"
check_grep "... its handshake failed" "TLS|handshake|SSL" "$T_TMP/phone.out"
phone_rc 1 "... a TLS 1.2 static-RSA phone too" --name SEP00000001E6A3 --tls-version 1.2 --ciphers AES256-SHA:AES128-SHA
sleep 0.3
check_grep "capf-frontd logs the failed handshakes" "event=tls_failed peer=127\.0\.0\.1:" "$FLOG"
check_nogrep "... and no legacy session" "event=legacy_tls" "$FLOG"
check_status SEP00000001E6A3 "Operation Pending"
phone_rc 0 "the same device enrolls with a modern TLS stack" --name SEP00000001E6A3 \
  --out-cert "$O/third.pem" --out-key "$O/third.key"
check_lsc SEP00000001E6A3 "$O/third.pem" "Public-Key: \(2048 bit\)"

# capf-phone's options
phone_rc 2 "capf-phone --tls-version 1.4 is a usage error" --name SEP00000001E6A3 --tls-version 1.4
check_grep "... naming the versions" "--tls-version must be 1.0, 1.1, 1.2 or 1.3" "$T_TMP/phone.out"
phone_rc 2 "capf-phone --ciphers with no cipher OpenSSL knows is a usage error" --name SEP00000001E6A3 \
  --ciphers NO-SUCH-CIPHER
check_grep "... saying so" "--ciphers NO-SUCH-CIPHER: no cipher OpenSSL knows" "$T_TMP/phone.out"
"$BIN/capf-phone" --help >"$T_TMP/help.out" 2>&1
check_grep "capf-phone --help documents --tls-version and --ciphers" "--tls-version V.*" "$T_TMP/help.out"
check_grep "... --ciphers" "--ciphers LIST" "$T_TMP/help.out"

check "capf-frontd still running" kill -0 "$CAPF_FRONTD_PID"
finish
