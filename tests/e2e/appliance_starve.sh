#!/usr/bin/env bash
# One client cannot starve the front end (timings compressed to fit a test):
# 4,000 connections from 127.0.0.1, each one the server lets through the TLS handshake
# trickling a CAPF message that never completes (a byte a second, faster than the idle
# timeout of 5 s), each one the server ends opened again, while legitimate phones from
# 127.0.0.2 enroll (capf-phone --load --bind). At least 99% of them must enroll; the
# attacker never holds more than front.max_per_address (64) connections at once.
#   STARVE_PHONES (default 960), STARVE_CONNECTIONS (default 4000)
. tests/lib.sh
. tests/e2e/appliance_lib.sh

N=${STARVE_PHONES:-960}
A=${STARVE_CONNECTIONS:-4000}
H=$HOSTILE
# max_connections 1000, fewer than the attacker's connections: without the per-address
# cap, or with an idle timer that each byte restarts, it would hold every slot
export CAPF_IDLE_TIMEOUT=5 CAPF_HANDSHAKE_TIMEOUT=5 CAPF_KEYGEN_TIMEOUT=30 CAPF_MAX_CONNECTIONS=1000
check "appliance-local up" app_up
[ -n "${CAPF_PORT:-}" ] || finish

base=$((0x5A0000))
{ echo "name,operation,auth,key_order"
  for i in $(seq 0 $((N - 1))); do printf 'SEP%012X,install,null,ec\n' $((base + i)); done
} >"$T_TMP/devices.csv"
check "$N phones scheduled (one bulk transaction)" "${CTL[@]}" bulk --csv "$T_TMP/devices.csv"

# the attacker: its own descriptors raised to what it needs (it says so when it cannot)
"$H" flood "$CAPF_HOST" "$CAPF_PORT" --count "$A" --interval 1 --duration 300 --rate 300 \
  --bind 127.0.0.1 >"$T_TMP/flood.out" 2>&1 &
FLOOD=$!
T_PIDS+=("$FLOOD")
wait_log 30 "$T_TMP/flood.out" '^ready' "$FLOOD"
check_grep "the attacker opened its $A connections" "^ready" "$T_TMP/flood.out"
sleep 2         # let it settle: slots held, the rest refused
check_grep "the front end holds it at max_per_address" \
  "event=connection_limit peer=127\.0\.0\.1:[0-9]+ limit=max_per_address max_connections=1000 max_per_address=64 " \
  "$APP/logs/frontd.log"

# the phones, meanwhile, from another address
timeout 300 "$BIN/capf-phone" --host "$CAPF_HOST" --port "$CAPF_PORT" --bind 127.0.0.2 --capf-cert "$CAPF_CERT" \
  --timeout 60 --load "$N" --concurrency 16 --name-pattern 'SEP%012X' --first "$base" --keys ec:P-256 \
  --json >"$T_TMP/load.out" 2>"$T_TMP/load.err"
check "capf-phone --load ran to its end" test $? -le 1
check "the attacker was still running all along" kill -0 "$FLOOD"
# the phones may all be done before the first trickled session reaches its idle deadline
# (5 s): the attacker stays until the front end has ended one that way (at most 20 s)
wait_log 20 "$APP/logs/frontd.log" "event=idle_timeout peer=127\.0\.0\.1:"
kill -TERM "$FLOOD"
wait "$FLOOD"
tail -n 1 "$T_TMP/flood.out" >"$T_TMP/flood.json"
cat "$T_TMP/load.out" "$T_TMP/flood.json"

ok_n=$(tail -n 1 "$T_TMP/load.out" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["success"])' 2>/dev/null || echo 0)
check "at least 99% of the $N phones enrolled during the trickle ($ok_n)" test "$((ok_n * 100))" -ge "$((N * 99))"
read -r attempts held_max held_total retry <<<"$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["attempts"], d["held_max"], d["held_total"], d["retry_later"])' "$T_TMP/flood.json" 2>/dev/null)"
check "the attacker made at least $A connections (${attempts:-?})" test "${attempts:-0}" -ge "$A"
check "it was served (${held_total:-?} sessions trickled in all): the attack was real" test "${held_total:-0}" -ge 64
check "and was told RETRY_LATER at the limit (${retry:-?} times)" test "${retry:-0}" -ge 1
check_grep "the trickled sessions ended at their idle deadline" "event=idle_timeout peer=127\.0\.0\.1:" \
  "$APP/logs/frontd.log"
check "capf-frontd survived" kill -0 "$CAPF_FRONTD_PID"
# how many it held at once: the front end's own count (the attacker's view lags the
# closes it has not read yet), in its stopping line
app_down
peak=$(sed -n 's/.*event=stopping .*peak_per_address=\([0-9]*\).*/\1/p' "$APP/logs/frontd.log" | tail -n 1)
check "the attacker never had more than 64 connections served at once (${peak:-?}; its own view: ${held_max:-?})" \
  test "${peak:-999}" -le 64
check_nogrep "no crash, sanitizer report or seccomp violation" \
  "AddressSanitizer|LeakSanitizer|runtime error|Segmentation|seccomp_violation" "$APP/logs/frontd.log"
echo "starvation: $ok_n of $N phones enrolled; attacker: ${attempts:-?} connections, at most ${peak:-?} held at once (${held_max:-?} in its own view), ${held_total:-?} held in all, ${retry:-?} told RETRY_LATER"
finish
