#!/usr/bin/env bash
# openssl s_server with a token key through capfhsm, answering openssl s_client
# over TLS 1.2 (ECDHE suites only) and TLS 1.3, with an RSA key (RSA-PSS in
# TLS 1.3) and an ECDSA key; the client verifies the server's certificate.
source tests/lib.sh
D=$T_TMP/tok
make_token "$D" T >"$T_TMP/init.log" 2>&1 || { not_ok "make_token"; finish; }
PROV=(-provider-path "$LIB" -provider capfhsm -provider default)
uri() { p11_uri T "$1" "" "$D/T.pin"; }

for spec in rsa:2048 ec:P-256; do
  k=${spec/:/-}
  check "keygen $k" "$BIN/capf-token" keygen --uri "$(uri "$k")" --type "$spec"
  check "certificate for $k" ossl req -new -x509 "${PROV[@]}" -key "$(uri "$k")" -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost -days 2 -out "$T_TMP/$k.crt"
done

# handshake KEY VERSION GROUPS: one server, one client; the client's output in $T_TMP/client.out.
handshake() {
  local k=$1 v=$2 groups=$3 port log=$T_TMP/server.$1.$2.$3.log
  port=$(free_port)
  bg ossl s_server "${PROV[@]}" -accept "127.0.0.1:$port" -naccept 1 -www -cert "$T_TMP/$k.crt" -key "$(uri "$k")" \
     -cipher 'ECDHE:!aNULL' -ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384 >"$log" 2>&1
  if ! wait_log 20 "$log" '^ACCEPT'; then
    echo "server did not start:"; cat "$log"; return 1
  fi
  echo Q | timeout 20 openssl s_client -connect "127.0.0.1:$port" "-$v" -groups "$groups" -CAfile "$T_TMP/$k.crt" \
     -verify_return_error -verify_hostname localhost >"$T_TMP/client.out" 2>&1
}

# key, protocol, client groups (P-256 alone forces an ECDHE key made through capfhsm's EC key manager)
for combo in "rsa-2048 tls1_2 P-256" "rsa-2048 tls1_3 X25519:P-256" "rsa-2048 tls1_3 P-256" \
             "ec-P-256 tls1_2 X25519:P-256" "ec-P-256 tls1_2 P-256" "ec-P-256 tls1_3 P-256"; do
  read -r k v g <<<"$combo"
  what="$k $v $g"
  check "handshake $what" handshake "$k" "$v" "$g"
  check_grep "$what: client verified the server" 'Verify return code: 0 \(ok\)' "$T_TMP/client.out"
  if [ $v = tls1_2 ]; then
    check_grep "$what: TLS 1.2 with an ECDHE suite" 'New, TLSv1\.2, Cipher is ECDHE-' "$T_TMP/client.out"
  else
    check_grep "$what: TLS 1.3" 'New, TLSv1\.3, Cipher is TLS_' "$T_TMP/client.out"
  fi
  if [ $k = rsa-2048 ] && [ $v = tls1_3 ]; then
    check_grep "$what: RSA-PSS signature" 'Peer signature type: RSA-PSS' "$T_TMP/client.out"
  fi
  if [ $k = ec-P-256 ]; then
    check_grep "$what: ECDSA signature" 'Peer signature type: ECDSA' "$T_TMP/client.out"
  fi
  if [ $g = P-256 ]; then
    check_grep "$what: P-256 key exchange" 'Server Temp Key: ECDH, (P-256|prime256v1)' "$T_TMP/client.out"
  fi
done

# A certificate that does not belong to the key: the server refuses to start.
check_fails "s_server refuses a certificate of another key" ossl s_server "${PROV[@]}" -accept 127.0.0.1:0 \
  -naccept 1 -cert "$T_TMP/rsa-2048.crt" -key "$(uri ec-P-256)"
check_grep "says the key does not match" 'key values mismatch|does not match|check_private_key' "$T_TMP/last.out"
finish
