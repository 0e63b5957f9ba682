#!/usr/bin/env bash
# capf-phone against a real capf-frontd with no signer behind it: TLS pinned to the
# CAPF certificate (the leaf itself, or the CA that issued it; anything else refused),
# AUTH_RESPONSE in every authentication mode accepted by the front end, which answers
# RETRY_LATER (signer unreachable); exit codes, --json, the 0600 rule for the
# authentication string file, usage errors, and the load mode's figures.
. tests/lib.sh

PHONE=$BIN/capf-phone
FRONTD=$BIN/capf-frontd
D=$T_TMP
mkdir -p "$D/run"
chmod 0755 "$D/run"

# a CAPF CA and the front end's TLS certificate issued by it; a stranger
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/ca.key" \
  -out "$D/ca.pem" -subj /CN=capf-ca-test -days 2 >/dev/null 2>&1
ossl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/key.pem" \
  -out "$D/tls.csr" -subj /CN=capf-tls-test >/dev/null 2>&1
ossl x509 -req -in "$D/tls.csr" -CA "$D/ca.pem" -CAkey "$D/ca.key" -CAcreateserial \
  -out "$D/cert.pem" -days 2 >/dev/null 2>&1
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/other.key" \
  -out "$D/other.pem" -subj /CN=capf-tls-test -days 2 >/dev/null 2>&1
# a MIC for certificate authentication
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$D/mic.key" -out "$D/mic.pem" \
  -subj /CN=SEP001122334455 -days 2 >/dev/null 2>&1
chmod 0600 "$D/key.pem"
RUN_AS=()
if [ "$(id -u)" = 0 ]; then
  RUN_AS=(--user nobody)
  chown nobody "$D/key.pem"
fi
cat >"$D/capf.conf" <<CONF
tls = { certificate = "$D/cert.pem"; key = "$D/key.pem"; };
sockets = { dir = "$D/run"; };
front = { handshake_timeout = 5; idle_timeout = 5; };
CONF

PORT=$(free_port)
"$FRONTD" --config "$D/capf.conf" --listen "127.0.0.1:$PORT" --foreground "${RUN_AS[@]}" \
  >"$D/frontd.log" 2>&1 &
FPID=$!
T_PIDS+=("$FPID")
for _ in $(seq 200); do grep -q event=started "$D/frontd.log" && break; kill -0 "$FPID" || break; sleep 0.05; done
check_grep "capf-frontd started" "event=started" "$D/frontd.log"

P=("$PHONE" --host 127.0.0.1 --port "$PORT" --timeout 10)

# usage
check "--help exits 0" "$PHONE" --help
"$PHONE" --name SEP001122334455 >"$D/out" 2>&1
check "no --capf-cert: exit 2" test $? = 2
check_grep "and says what is missing" "capf-cert is required" "$D/out"
"${P[@]}" --capf-cert "$D/cert.pem" --name SEP001122334455 --protocol 2 --auth string \
  --auth-string-file /nonexistent >"$D/out" 2>&1
check "--protocol 2 with --auth string: exit 2" test $? = 2
"${P[@]}" --capf-cert "$D/cert.pem" --load 3 >"$D/out" 2>&1
check "--load without --name-pattern: exit 2" test $? = 2
"${P[@]}" --capf-cert "$D/cert.pem" --load 3 --name-pattern 'SEP%s' >"$D/out" 2>&1
check "a pattern with %s is refused: exit 2" test $? = 2

# pinned to the TLS certificate itself, or to the CA that issued it
for pin in cert.pem ca.pem; do
  "${P[@]}" --capf-cert "$D/$pin" --name SEP001122334455 --json >"$D/out" 2>&1
  check "pinned to $pin: the server answers RETRY_LATER (exit 13)" test $? = 13
  check_grep "and the delay is printed" "retry in [0-9]+ s" "$D/out"
  check_grep "JSON summary" '^\{"device":"SEP001122334455","result":"retry-later","exit":13' "$D/out"
done
"${P[@]}" --capf-cert "$D/cert.pem" --name SEP001122334455 --tls-max 1.2 >"$D/out" 2>&1
check "over TLS 1.2, as older phones: exit 13" test $? = 13
"${P[@]}" --capf-cert "$D/other.pem" --name SEP001122334455 >"$D/out" 2>&1
check "a server certificate that is not the pinned one: exit 1" test $? = 1
check_grep "and it says so" "does not match --capf-cert" "$D/out"

# authentication modes
secret_file "$D/as" 12345678
chmod 0644 "$D/as"
"${P[@]}" --capf-cert "$D/cert.pem" --name SEP001122334455 --auth string --auth-string-file "$D/as" >"$D/out" 2>&1
check "an authentication string file readable by others: exit 2" test $? = 2
check_grep "with the fix" "chmod 600" "$D/out"
chmod 0600 "$D/as"
"${P[@]}" --capf-cert "$D/cert.pem" --name SEP001122334455 --auth string --auth-string-file "$D/as" >"$D/out" 2>&1
check "--auth string: AUTH_RESPONSE accepted (exit 13)" test $? = 13
"${P[@]}" --capf-cert "$D/cert.pem" --name SEP001122334455 --auth mic --cert "$D/mic.pem" --key "$D/mic.key" \
  --sudi-cert "$D/mic.pem" --sudi-key "$D/mic.key" >"$D/out" 2>&1
check "--auth mic with SUDI: AUTH_RESPONSE accepted (exit 13)" test $? = 13
"${P[@]}" --capf-cert "$D/cert.pem" --name CSFJSMITH --protocol 2 >"$D/out" 2>&1
check "Jabber (protocol 2, no PASSWORD): accepted (exit 13)" test $? = 13
"${P[@]}" --capf-cert "$D/cert.pem" --name SEP001122334455 --auth mic --cert "$D/mic.pem" --key "$D/other.key" >"$D/out" 2>&1
check "a key that does not match --cert: exit 2" test $? = 2
check_nogrep "the authentication string never reaches the front end's log" "12345678" "$D/frontd.log"

# load mode: figures printed; every session ended in RETRY_LATER, so it exits 1
"${P[@]}" --capf-cert "$D/cert.pem" --load 24 --concurrency 4 --name-pattern 'SEP%012X' --first 4096 \
  --keys ec:P-256 --pool-size 2 --reuse-keys --json >"$D/load.out" 2>"$D/load.err"
check "load mode: exit 1 when sessions did not succeed" test $? = 1
check_grep "load mode: rate and latency line" "enrollments/s [0-9.]+ +latency ms p50" "$D/load.out"
check_grep "load mode: all 24 sessions told to retry" "retry-later 24" "$D/load.out"
check_grep "load mode: JSON" '"sessions":24,"concurrency":4,.*"retry_later":24' "$D/load.out"
check_grep "keys generated before the clock" "generated in" "$D/load.err"
check "capf-frontd survived" kill -0 "$FPID"
finish
