#!/usr/bin/env bash
# capf-frontd alone (no signer behind it): command line and privileges, the TLS
# identity checks, TLS versions and suites, RETRY_LATER while the signer is
# unreachable, and hostile clients (framing errors, silence, garbage, 300 idle
# clients) that must each get END_SESSION 7 or a closed connection while the
# server keeps answering everyone else. The connection limits (RETRY_LATER at
# max_connections and max_per_address, another address still served), absolute
# deadlines (a byte trickle extends nothing; the TLS handshake; the whole session
# against a signer that never answers), the environment scrub, and a front.sock
# served by another uid or in a group-writable directory (never sent anything).
. tests/lib.sh

FRONTD=$BIN/capf-frontd
H=$HOSTILE
D=$T_TMP
mkdir -p "$D/run"
chmod 0755 "$D/run"

# a throwaway TLS identity (the real one comes from the CAPF CA: see appliance_*.sh)
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/key.pem" \
  -out "$D/cert.pem" -subj /CN=capf-tls-test -days 2 >/dev/null 2>&1
chmod 0600 "$D/key.pem"
RUN_AS=()
if [ "$(id -u)" = 0 ]; then
  RUN_AS=(--user nobody)
  chown nobody "$D/key.pem"
fi
conf() {
  cat >"$D/capf.conf" <<EOF
tls = { certificate = "$D/cert.pem"; key = "$D/key.pem"; $1 };
sockets = { dir = "$D/run"; };
front = { handshake_timeout = 2; idle_timeout = 3; max_connections = ${2:-1000}; ${3:-} };
EOF
}
conf "" 1000 "max_per_address = 1000;"

check "--help exits 0" "$FRONTD" --help
check_fails "no --config is a usage error" "$FRONTD" --foreground
"$FRONTD" --config "$D/capf.conf" --listen nowhere --foreground "${RUN_AS[@]}" 2>"$D/err"
check "a bad --listen exits 2" test $? = 2
if [ "$(id -u)" = 0 ]; then
  "$FRONTD" --config "$D/capf.conf" --listen 127.0.0.1:1 --foreground 2>"$D/err"
  check "root without --user exits 2" test $? = 2
  check_grep "and says why" "refusing to run as root" "$D/err"
else
  skips 2 "root without --user exits 2 (needs root)"
fi
chmod 0644 "$D/key.pem"
"$FRONTD" --config "$D/capf.conf" --listen "127.0.0.1:$(free_port)" --foreground "${RUN_AS[@]}" 2>"$D/err"
check "a key file readable by others is refused (exit 3)" test $? = 3
check_grep "and the message says what to do" "chmod 0600" "$D/err"
chmod 0600 "$D/key.pem"
echo 'front = { idle_timeout = "x"; };' >"$D/bad.conf"
"$FRONTD" --config "$D/bad.conf" --foreground "${RUN_AS[@]}" 2>"$D/err"
check "a bad capf.conf exits 2" test $? = 2
check_grep "naming file and setting" "bad.conf:1: front.idle_timeout" "$D/err"
echo 'front = { listen = "localhost:3804"; };' >"$D/bad.conf"
"$FRONTD" --config "$D/bad.conf" --foreground "${RUN_AS[@]}" 2>"$D/err"
check "a bad front.listen exits 2" test $? = 2
check_grep "naming file, setting and what is allowed" \
  'bad.conf:1: front.listen: "localhost:3804" is not allowed \(expected a numeric address and a port 1\.\.65535' "$D/err"

# start [OPTIONS]: on a free port given with --listen; start_on [OPTIONS]: as given
start() {
  PORT=$(free_port)
  start_on --listen "127.0.0.1:$PORT" "$@"
}
start_on() {
  start_frontd "$D/frontd.log" "$D/capf.conf" "${RUN_AS[@]}" "$@"
  check_grep "capf-frontd started" "event=started" "$D/frontd.log"
}
stop() {
  proc_stop "$FPID" 30 || not_ok "capf-frontd did not exit within 30 s of SIGTERM"
  wait "$FPID"
  check "exit status 0 after SIGTERM (no leak under ASan)" test $? = 0
}

CAPF_TEST_SECRET=s3cr3t-in-env start
if [ "$(id -u)" = 0 ]; then
  check "it dropped to the --user" test "$(stat -c %U /proc/"$FPID")" = nobody
  tr '\0' '\n' </proc/"$FPID"/environ >"$D/environ"
  check_nogrep "its environment was scrubbed" "CAPF_TEST_SECRET|s3cr3t" "$D/environ"
else
  skips 2 "it dropped to the --user, its environment was scrubbed (need root)"
fi
check "not dumpable, no core" grep -q '^Max core file size *0' /proc/"$FPID"/limits
check "seccomp filter on" grep -qE '^Seccomp:[[:space:]]+2' /proc/"$FPID"/status
check "no new privileges" grep -qE '^NoNewPrivs:[[:space:]]+1' /proc/"$FPID"/status

# TLS: 1.2 and 1.3, ECDHE only, no client certificate asked, 1.1 refused by default
for v in tls1_2 tls1_3; do
  echo Q | ossl s_client -connect "127.0.0.1:$PORT" -"$v" >"$D/s_client.out" 2>&1
  check_grep "$v handshake" "Cipher is (ECDHE|TLS_)" "$D/s_client.out"
done
check_nogrep "no client certificate requested" "Acceptable client certificate CA names" "$D/s_client.out"
check_fails "TLS 1.1 refused by default" bash -c "echo Q | openssl s_client -connect 127.0.0.1:$PORT -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' 2>&1 | grep -q 'Cipher is ECDHE'"
check_fails "static RSA suites refused" bash -c "echo Q | openssl s_client -connect 127.0.0.1:$PORT -tls1_2 -cipher AES128-GCM-SHA256 2>&1 | grep -q 'Cipher is AES'"

# the signer is not running: phones are told to retry later
check "signer unreachable: RETRY_LATER {RETRY_DELAY 60}" "$H" split 127.0.0.1 "$PORT" --expect RETRY_LATER:60
check "unknown element tags are skipped" "$H" unknown-tag 127.0.0.1 "$PORT" --expect RETRY_LATER
check_grep "logged as signer_unavailable" "event=signer_unavailable" "$D/frontd.log"

# all at once (two of them wait for the idle timeout)
hostile_cases 127.0.0.1 "$PORT" "$D"

# 300 silent clients; meanwhile others are still served at once
"$H" idle 127.0.0.1 "$PORT" --count 300 >"$D/idle.out" 2>&1 &
IPID=$!
wait_log 20 "$D/idle.out" '^ready' "$IPID"
check_grep "300 silent clients connected" "^ready" "$D/idle.out"
check "served while 300 clients hang" "$H" split 127.0.0.1 "$PORT" --expect RETRY_LATER
check "served byte by byte while they hang" "$H" wrong-session-id 127.0.0.1 "$PORT"
wait $IPID
check "every silent client was closed by the server" test $? = 0
check "capf-frontd survived all of it" kill -0 "$FPID"
check_nogrep "no seccomp violation" "seccomp_violation" "$D/frontd.log"
check_nogrep "the PASSWORD never reaches the log" "password=[^aes ]|PASSWORD=" "$D/frontd.log"
stop

# max_connections: beyond it, RETRY_LATER or closed at once; the server goes on
conf "" 5
start
"$H" idle 127.0.0.1 "$PORT" --count 10 >"$D/idle2.out" 2>&1 &
IPID=$!
wait $IPID
check "beyond max_connections: RETRY_LATER or closed, never hanging" test $? = 0
check_grep "connection limit logged" "event=connection_limit" "$D/frontd.log"
check "served again once the silent ones are gone" "$H" split 127.0.0.1 "$PORT" --expect RETRY_LATER
check "at max_connections (5 held) the next phone is told RETRY_LATER {RETRY_DELAY 60}" \
  "$H" limit 127.0.0.1 "$PORT" --count 5 --expect RETRY_LATER:60
check_grep "logged as the max_connections limit" "event=connection_limit .*limit=max_connections" "$D/frontd.log"
stop

# front.max_per_address: one address cannot take every slot; deadlines that a
# trickle of bytes does not move
conf "" 1000 "max_per_address = 3;"
start
check_grep "max_per_address in the started line" "event=started .*max_per_address=3 " "$D/frontd.log"
check "3 held from 127.0.0.1: the 4th is told RETRY_LATER 60, 127.0.0.2 is still served" \
  "$H" limit 127.0.0.1 "$PORT" --count 3 --expect RETRY_LATER:60 --other-bind 127.0.0.2
check_grep "logged as the per-address limit" "event=connection_limit peer=127.0.0.1:[0-9]+ limit=max_per_address" \
  "$D/frontd.log"
check "a byte every 0.25 s never completing a message: ended at idle_timeout (3 s), not extended" \
  "$H" trickle 127.0.0.1 "$PORT" --interval 0.25 --within 5.5
check_grep "logged as an idle timeout" "event=idle_timeout .*state=auth" "$D/frontd.log"
check "a ClientHello one byte every 0.2 s: closed at handshake_timeout (2 s)" \
  "$H" slow-handshake 127.0.0.1 "$PORT" --interval 0.2 --within 4.5
stop

# front.sock: capf-frontd sends nothing to a server that is not the owner of a
# sockets.dir nobody else may write (SO_PEERCRED); the phones are told RETRY_LATER
# fake NAME [ARGS]: a front.sock that never answers (its output in $D/NAME.out)
fake() { local name=$1; shift; fake_server "$D/run/front.sock" "$D/$name.out" "$@"; }
unfake() { kill "$FAKE"; wait "$FAKE" 2>/dev/null; rm -f "$D/run/front.sock"; }
conf "" 1000 "keygen_timeout = 10; session_timeout = 30;"
if [ "$(id -u)" = 0 ]; then
  fake other-uid --uid "$(id -u daemon)"
  start
  check "a front.sock served by uid daemon: the phone is told RETRY_LATER" \
    "$H" split 127.0.0.1 "$PORT" --expect RETRY_LATER
  check_grep "capf-frontd logged signer_not_trusted with both uids" \
    "event=signer_not_trusted .*the server is uid $(id -u daemon) .*not uid 0 that owns" "$D/frontd.log"
  check_grep "the fake server saw connections" connection "$D/other-uid.out"
  check_nogrep "but received nothing" received "$D/other-uid.out"
  stop
  unfake
fi
chmod 0775 "$D/run"
fake group-writable
start
check "a front.sock in a group-writable sockets.dir: the phone is told RETRY_LATER" \
  "$H" split 127.0.0.1 "$PORT" --expect RETRY_LATER
check_grep "capf-frontd logged signer_not_trusted" \
  "event=signer_not_trusted .*sockets directory $D/run is writable by its group" "$D/frontd.log"
check_nogrep "the fake server received nothing" received "$D/group-writable.out"
stop
unfake
chmod 0755 "$D/run"
# the whole session's deadline (front.session_timeout 30 s) with a signer that takes
# requests and never answers: the first is SESSION_ID, asked before AUTH_REQUEST (the
# pool's own timeout, also 30 s, may end the SESSION_ID wait first: state auth)
fake stalled
start
CAPF_HOSTILE_TIMEOUT=45 "$H" split 127.0.0.1 "$PORT" --delay 1.5 --expect END_SESSION:7 >"$D/stalled-phone.out" 2>&1
check "a signer that never answers: END_SESSION 7 at the session deadline ($(cat "$D/stalled-phone.out"))" test $? = 0
check_grep "the trusted fake signer got the request" received "$D/stalled.out"
check_grep "logged as session_deadline after 30 s" "event=session_deadline .*state=(session_id|auth) seconds=30" "$D/frontd.log"
check_grep "the session ended by it" "outcome=\"session deadline\" ms=(29[0-9]{3}|3[0-9]{4})" "$D/frontd.log"
stop
unfake

# tls.min_version = "1.0": old phones' versions accepted (security level 0)
conf 'min_version = "1.0";'
start
echo Q | openssl s_client -connect "127.0.0.1:$PORT" -tls1 -cipher 'DEFAULT:@SECLEVEL=0' >"$D/s_client.out" 2>&1
check_grep "TLS 1.0 when tls.min_version asks for it" "Protocol *: TLSv1$|TLSv1, Cipher" "$D/s_client.out"
stop

# tls.legacy (phones offering only TLSv1 with AES256-SHA:AES128-SHA): refused at
# start-up with this EC key and with a pkcs11: key (no RSA decryption in the token)
conf 'legacy = true;'
"$FRONTD" --config "$D/capf.conf" --listen "127.0.0.1:$(free_port)" --foreground "${RUN_AS[@]}" >"$D/err" 2>&1
check "tls.legacy with an EC key: start-up refused (exit 3)" test $? = 3
check_grep "... saying it needs an RSA key" "tls.legacy = true needs an RSA TLS key .*is EC" "$D/err"
cat >"$D/p11.conf" <<EOF
tls = { certificate = "$D/cert.pem"; key = "pkcs11:token=capf;object=capf-tls"; legacy = true; };
sockets = { dir = "$D/run"; };
EOF
"$FRONTD" --config "$D/p11.conf" --listen "127.0.0.1:$(free_port)" --foreground "${RUN_AS[@]}" >"$D/err" 2>&1
check "tls.legacy with a pkcs11: key: refused (exit 2)" test $? = 2
check_grep "... static RSA needs an RSA decryption the token does not offer" \
  "p11.conf:1: tls.legacy: needs the TLS key in a file: static-RSA key transport needs an RSA decryption" "$D/err"
# with an RSA key: TLS 1.0 and static RSA, each such handshake logged; modern ones too
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$D/rsa.key" -out "$D/rsa.pem" -subj /CN=capf-tls-rsa \
  -days 2 >/dev/null 2>&1
chmod 0600 "$D/rsa.key"
[ "$(id -u)" = 0 ] && chown nobody "$D/rsa.key"
cp "$D/cert.pem" "$D/ec.pem"; cp "$D/rsa.pem" "$D/cert.pem"
mv "$D/key.pem" "$D/ec.key"; mv "$D/rsa.key" "$D/key.pem"
conf 'legacy = true;'
start
check_grep "tls_legacy=1 in the started line" "event=started .*tls_min=1.0 tls_legacy=1 " "$D/frontd.log"
echo Q | openssl s_client -connect "127.0.0.1:$PORT" -tls1 -cipher 'AES256-SHA:AES128-SHA:@SECLEVEL=0' \
  >"$D/s_client.out" 2>&1
check_grep "tls.legacy: TLS 1.0 with static-RSA AES-SHA" "Cipher *: AES(128|256)-SHA$" "$D/s_client.out"
echo Q | openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 -cipher AES128-SHA >"$D/s_client.out" 2>&1
check_grep "tls.legacy: TLS 1.2 with static-RSA AES128-SHA" "Cipher *: AES128-SHA$" "$D/s_client.out"
echo Q | openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 >"$D/s_client.out" 2>&1
check_grep "tls.legacy: a modern client still gets ECDHE" "Cipher *: ECDHE-RSA-AES256-GCM-SHA384$" "$D/s_client.out"
sleep 0.3
check_grep "the TLS 1.0 phone logged as legacy_tls" \
  "event=legacy_tls peer=127\.0\.0\.1:[0-9]+ version=TLSv1 cipher=AES(128|256)-SHA kx=rsa" "$D/frontd.log"
check_grep "the static-RSA TLS 1.2 one too" "event=legacy_tls .*version=TLSv1.2 cipher=AES128-SHA kx=rsa" "$D/frontd.log"
check "the modern one is not" test "$(grep -c event=legacy_tls "$D/frontd.log")" = 2
stop
# the same RSA key without tls.legacy: no static RSA, no TLS 1.0
conf ''
start
echo Q | openssl s_client -connect "127.0.0.1:$PORT" -tls1 -cipher 'AES256-SHA:AES128-SHA:@SECLEVEL=0' \
  >"$D/s_client.out" 2>&1
check_nogrep "without tls.legacy: the TLSv1 AES256-SHA:AES128-SHA phone gets no session" \
  "Cipher *: AES|Cipher is AES" "$D/s_client.out"
echo Q | openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 -cipher AES128-SHA:AES256-SHA >"$D/s_client.out" 2>&1
check_nogrep "... nor a TLS 1.2 static-RSA one" "Cipher *: AES|Cipher is AES" "$D/s_client.out"
stop
cp "$D/ec.pem" "$D/cert.pem"; mv "$D/key.pem" "$D/rsa.key"; mv "$D/ec.key" "$D/key.pem"
check_grep "clean stop on SIGTERM" "event=stopping" "$D/frontd.log"

# the address from front.listen of capf.conf, and --listen over it
PORT=$(free_port)
conf "" 1000 "listen = \"127.0.0.1:$PORT\";"
start_on
check_grep "without --listen: front.listen" "event=started listen=127.0.0.1:$PORT " "$D/frontd.log"
echo Q | ossl s_client -connect "127.0.0.1:$PORT" -tls1_3 >"$D/s_client.out" 2>&1
check_grep "TLS answered on front.listen's port" "Cipher is TLS_" "$D/s_client.out"
stop
CONF_PORT=$PORT
PORT=$(free_port)
[ "$PORT" != "$CONF_PORT" ] || PORT=$(free_port)
check "--listen names another port than front.listen" test "$PORT" != "$CONF_PORT"
start_on --listen "127.0.0.1:$PORT"
check_grep "--listen overrides front.listen" "event=started listen=127.0.0.1:$PORT " "$D/frontd.log"
echo Q | ossl s_client -connect "127.0.0.1:$PORT" -tls1_3 >"$D/s_client.out" 2>&1
check_grep "TLS answered on --listen's port" "Cipher is TLS_" "$D/s_client.out"
stop

# the TLS key on a token (pkcs11: URI, capfhsm in its own library context); the key is
# loaded before the drop to --user, the token files stay readable by that user
make_token "$D/tok" fronttls >/dev/null
check "a P-256 TLS key in the token" "$BIN/capf-token" keygen \
  --uri "pkcs11:token=fronttls;object=tls?pin-source=file:$D/tok/fronttls.pin" --type ec:P-256
KURI="pkcs11:token=fronttls;object=tls;type=private?pin-source=file:$D/tok/fronttls.pin"
check "its certificate, signed through capfhsm" ossl req -new -x509 -provider-path "$LIB" -provider capfhsm \
  -provider default -key "$KURI" -subj /CN=capf-tls-token -days 2 -out "$D/tokcert.pem"
[ "$(id -u)" = 0 ] && chown -R nobody "$D/tok/tokens"
cat >"$D/capf.conf" <<EOF
tls = { certificate = "$D/tokcert.pem"; key = "$KURI"; };
sockets = { dir = "$D/run"; };
EOF
start
echo Q | ossl s_client -connect "127.0.0.1:$PORT" -tls1_3 >"$D/s_client.out" 2>&1
check_grep "TLS 1.3 with the token key" "Cipher is TLS_" "$D/s_client.out"
check_grep "presenting the token key's certificate" "subject=CN ?= ?capf-tls-token" "$D/s_client.out"
echo Q | ossl s_client -connect "127.0.0.1:$PORT" -tls1_2 >"$D/s_client.out" 2>&1
check_grep "TLS 1.2 (ECDHE-ECDSA) with the token key" "Cipher is ECDHE-ECDSA" "$D/s_client.out"
check "and CAPF is spoken" "$H" split 127.0.0.1 "$PORT" --expect RETRY_LATER
check "one signer_unreachable line per outage" test "$(grep -c event=signer_unreachable "$D/frontd.log")" = 1
stop
echo 'tls = { certificate = "/nonexistent.pem"; key = "/nonexistent.key"; };' >"$D/capf.conf"
"$FRONTD" --config "$D/capf.conf" --listen "127.0.0.1:$(free_port)" --foreground "${RUN_AS[@]}" 2>"$D/err"
check "a missing certificate: exit 3" test $? = 3
check_grep "naming the setting" "tls.certificate" "$D/err"

finish
