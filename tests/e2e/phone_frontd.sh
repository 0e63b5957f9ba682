#!/usr/bin/env bash
# capf-phone against a real capf-frontd with no signer behind it: TLS pinned to the
# CAPF certificate (the leaf itself, or the CA that issued it; anything else refused),
# AUTH_RESPONSE in every authentication mode accepted by the front end, which answers
# RETRY_LATER (signer unreachable); exit codes, --json, the 0600 rule for the
# authentication string file, usage errors, and the load mode's figures (--retry-later:
# phones coming back after RETRY_LATER until their --timeout); its event
# loops (--threads 1, more threads than sessions at a time, uneven shares), and
# failures counted without a hang: nothing listening, a front end at its connection
# limit (a second capf-frontd at max_connections 1: RETRY_LATER to every phone, also
# from --bind 127.0.0.2), a stopped front end
# (--timeout expiring in the handshake, in load mode and for one session).
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
start_frontd "$D/frontd.log" "$D/capf.conf" --listen "127.0.0.1:$PORT" "${RUN_AS[@]}"
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
  check_grep "JSON summary" '^\{"schema":1,"name":"SEP001122334455","result":"retry-later","exit":13' "$D/out"
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
check_grep "its own CPU during the sessions" "CPU during the sessions: [0-9.]+ s user, [0-9.]+ s system, [0-9.]+ ms per session" "$D/load.err"

# --retry-later: a phone told RETRY_LATER comes back after the delay (capped, jittered),
# until --timeout from its first connect is over; then RETRY_LATER is its result
timeout 60 "${P[@]}" --capf-cert "$D/cert.pem" --load 4 --concurrency 4 --timeout 3 --retry-later 1 \
  --name-pattern 'SEP%012X' --first 4096 --keys ec:P-256 --pool-size 1 --reuse-keys --json >"$D/retry.out" 2>&1
check "--retry-later: exit 1 when the server never stops saying RETRY_LATER" test $? = 1
check_grep "--retry-later: the 4 phones came back (at least 2 tries each in 3 s) and ended told to retry" \
  '"sessions":4,.*"retry_later":4,"error":0,"failures":4,"retried":([89]|[1-9][0-9]+),' "$D/retry.out"
check_grep "--retry-later: printed" "RETRY_LATER answers retried [0-9]+" "$D/retry.out"
"$PHONE" --capf-cert "$D/cert.pem" --name SEP001122334455 --retry-later 5 >"$D/out" 2>&1
check "--retry-later without --load: exit 2" test $? = 2

# the event loops: one thread for all, more threads than sessions at a time (one each)
L=("${P[@]}" --capf-cert "$D/cert.pem" --name-pattern 'SEP%012X' --keys ec:P-256 --pool-size 2 --reuse-keys)
for t in "1 6" "8 3" "3 5"; do
  set -- $t
  timeout 60 "${L[@]}" --load 24 --concurrency "$2" --threads "$1" --json >"$D/load.out" 2>"$D/load.err"
  check "load, $1 thread(s) for $2 sessions at a time: exit 1 (all told to retry)" test $? = 1
  check_grep "load, --threads $1 --concurrency $2: all 24 sessions told to retry" \
    '"sessions":24,"concurrency":'"$2"',.*"retry_later":24,"error":0' "$D/load.out"
done
"${L[@]}" --load 2 --threads 0 >"$D/out" 2>&1
check "--threads 0: exit 2" test $? = 2
check_grep "--help documents --threads" "--threads T" <("$PHONE" --help)

# nothing listening: every session fails at connect, counted, first failure named
DEAD=$(free_port)
timeout 60 "$PHONE" --host 127.0.0.1 --port "$DEAD" --capf-cert "$D/cert.pem" --load 20 --concurrency 4 \
  --name-pattern 'SEP%012X' --keys ec:P-256 --pool-size 1 --reuse-keys >"$D/dead.out" 2>&1
check "load against a closed port: exit 1, no hang" test $? = 1
check_grep "load against a closed port: 20 errors" "success 0 .* error 20" "$D/dead.out"
check_grep "and the first failure says why" "first failure: SEP[0-9A-F]{12}: connect 127.0.0.1:$DEAD: Connection refused" "$D/dead.out"

# a front end at its connection limit: a second capf-frontd limited to one connection,
# held by an idle TCP client (its handshake deadline is far away); every phone is told
# RETRY_LATER (a few at a time per address; beyond that they would be closed at once)
mkdir -p "$D/run2"
chmod 0755 "$D/run2"
cat >"$D/full.conf" <<CONF
tls = { certificate = "$D/cert.pem"; key = "$D/key.pem"; };
sockets = { dir = "$D/run2"; };
front = { handshake_timeout = 60; idle_timeout = 60; max_connections = 1; };
CONF
PORT2=$(free_port)
F1=$FPID
start_frontd "$D/full.log" "$D/full.conf" --listen "127.0.0.1:$PORT2" "${RUN_AS[@]}"
FPID=$F1
check_grep "a second capf-frontd (max_connections 1) started" "event=started" "$D/full.log"
exec 3<>"/dev/tcp/127.0.0.1/$PORT2"
timeout 60 "$PHONE" --host 127.0.0.1 --port "$PORT2" --capf-cert "$D/cert.pem" --load 16 --concurrency 4 \
  --threads 2 --name-pattern 'SEP%012X' --keys ec:P-256 --pool-size 1 --reuse-keys --json >"$D/full.out" 2>&1
check "load against a server at its connection limit: exit 1, no hang" test $? = 1
check_grep "all 16 sessions were told RETRY_LATER" '"sessions":16,.*"success":0,.*"retry_later":16,"error":0' "$D/full.out"
check_grep "the front end logged the connection limit" "event=connection_limit .*limit=max_connections" "$D/full.log"
timeout 60 "$PHONE" --host 127.0.0.1 --port "$PORT2" --bind 127.0.0.2 --capf-cert "$D/cert.pem" \
  --name SEP001122334455 >"$D/full1.out" 2>&1
check "one phone from --bind 127.0.0.2: exit 13 (retry later)" test $? = 13
check_grep "it says when to retry" "retry in 60 s" "$D/full1.out"
"$PHONE" --bind nowhere --capf-cert "$D/cert.pem" --name SEP001122334455 >"$D/out" 2>&1
check "--bind with a name: exit 2" test $? = 2
check_grep "and says a numeric address is needed" "--bind expects a numeric IPv4 or IPv6 address" "$D/out"
exec 3<&-

# a stalled front end (stopped): connections wait in its backlog, the handshake never
# comes; each session ends at its --timeout, the run ends, the counts are right
kill -STOP "$FPID"
timeout 60 "$PHONE" --host 127.0.0.1 --port "$PORT" --capf-cert "$D/cert.pem" --timeout 1 --load 8 \
  --concurrency 4 --name-pattern 'SEP%012X' --keys ec:P-256 --pool-size 1 --reuse-keys >"$D/stall.out" 2>&1
rc=$?
timeout 30 "$PHONE" --host 127.0.0.1 --port "$PORT" --capf-cert "$D/cert.pem" --timeout 1 \
  --name SEP001122334455 >"$D/stall1.out" 2>&1
rc1=$?
kill -CONT "$FPID"
check "load against a stalled server: exit 1 once every session timed out (no hang)" test "$rc" = 1
check_grep "8 errors, nothing else" "success 0  nothing 0  unknown 0  refused 0  retry-later 0  error 8" "$D/stall.out"
check_grep "the first failure is the timeout" "first failure: SEP[0-9A-F]{12}: TLS handshake: timeout .*--timeout 1 s" "$D/stall.out"
check "one session against a stalled server: exit 1 at its --timeout" test "$rc1" = 1
check_grep "and it says timeout" "timeout waiting for the server" "$D/stall1.out"
"${L[@]}" --load 4 --concurrency 2 >"$D/load.out" 2>&1
check_grep "the front end serves again once resumed" "retry-later 4" "$D/load.out"
check "capf-frontd survived" kill -0 "$FPID"
finish
