#!/usr/bin/env bash
# capf-frontd's handshake slots (issue #14: memory in a burst, without undoing #11's
# guarantee that hostile clients cannot starve honest phones), against the whole
# appliance (real token, real TLS), with front.max_handshakes = 32:
#  - a silent connection holds no SSL object (front_load, logged on SIGUSR1: silent=N ssl=0),
#    nor one sending its ClientHello a byte at a time (closed at handshake_timeout);
#  - 100 phones from one address at once, three times the slots: every one enrolls, at
#    most 32 handshakes at once;
#  - four addresses, 60 connections each (7.5 times the slots), send a ClientHello and
#    stall, every one the server closes opened again, beside 200 silent connections from
#    four more: phones from another address still all enroll within a deadline shorter
#    than handshake_timeout (so they could not have waited for the stalled handshakes to
#    time out): stalled handshakes were evicted, never more than 32 at once.
. tests/lib.sh
. tests/e2e/appliance_lib.sh

H=$HOSTILE
# handshake_timeout 30 s, the phones' own deadline 20 s: without eviction a phone whose
# ClientHello waits behind the stalled ones would fail
# (max_per_address 128: the burst's 100 phones from one address are all served)
export CAPF_HANDSHAKE_TIMEOUT=30 CAPF_IDLE_TIMEOUT=20 CAPF_KEYGEN_TIMEOUT=30 CAPF_MAX_CONNECTIONS=2000 \
  CAPF_MAX_PER_ADDRESS=128 CAPF_MAX_HANDSHAKES=32
check "appliance-local up" app_up
[ -n "${CAPF_PORT:-}" ] || finish
check_grep "capf.conf sets front.max_handshakes" "max_handshakes = 32;" "$APP/capf.conf"
check_grep "capf-frontd started with 32 handshake slots" "event=started .*max_handshakes=32 " "$APP/logs/frontd.log"

check_fails "--max-handshakes 0 is a usage error" "$BIN/capf-frontd" --config "$APP/capf.conf" --max-handshakes 0
"$BIN/capf-frontd" --config "$APP/capf.conf" --max-handshakes x >"$T_TMP/usage.out" 2>&1
check "--max-handshakes x: exit 2" test $? = 2
check_grep "naming the option and its range" "max-handshakes x: expected 1..1000000" "$T_TMP/usage.out"
"$BIN/capf-frontd" --help >"$T_TMP/help.out" 2>&1
check_grep "--help documents it" "max-handshakes N" "$T_TMP/help.out"

# load TAG: SIGUSR1, then the newest event=front_load line into $T_TMP/load.TAG
load() {
  local n i
  n=$(grep -c 'event=front_load' "$APP/logs/frontd.log")
  kill -USR1 "$CAPF_FRONTD_PID"
  for i in $(seq 100); do
    [ "$(grep -c 'event=front_load' "$APP/logs/frontd.log")" -gt "$n" ] && break
    sleep 0.1
  done
  grep 'event=front_load' "$APP/logs/frontd.log" | tail -n 1 >"$T_TMP/load.$1"
  sed 's/^/    /' "$T_TMP/load.$1"
}
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$T_TMP/load.$2"; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$CAPF_FRONTD_PID/status"; }

schedule() { # schedule BASE N
  { echo "name,operation,auth,key_order"
    for i in $(seq 0 $(($2 - 1))); do printf 'SEP%012X,install,null,ec\n' $(($1 + i)); done
  } >"$T_TMP/devices.csv"
  "${CTL[@]}" bulk --csv "$T_TMP/devices.csv" >"$T_TMP/bulk.out" 2>&1
}
enrolled() { tail -n 1 "$1" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["success"])' 2>/dev/null || echo 0; }

# 1. silent connections: a descriptor each, no SSL object
rss0=$(rss)
pids=()
for a in 21 22 23 24; do
  "$H" silent "$CAPF_HOST" "$CAPF_PORT" --bind 127.0.0.$a --count 50 --duration 300 >"$T_TMP/silent.$a" 2>&1 &
  pids+=($!)
  T_PIDS+=($!)
done
for i in 0 1 2 3; do wait_log 30 "$T_TMP/silent.$((21 + i))" '^ready' "${pids[$i]}"; done
# and a ClientHello a byte every 0.2 s (it never completes before handshake_timeout)
"$H" slow-handshake "$CAPF_HOST" "$CAPF_PORT" --interval 0.2 --within 40 >"$T_TMP/slow.out" 2>&1 &
SLOW=$!
T_PIDS+=($!)
sleep 2
load silent
rss1=$(rss)
check_grep "200 silent connections and a ClientHello trickled: counted, no SSL object, no handshake slot" \
  " silent=201 hello_waiting=0 handshakes=0 max_handshakes=32 ssl=0 " "$T_TMP/load.silent"
echo "    capf-frontd VmRSS ${rss0} kB before, ${rss1} kB with the 200 silent connections"

# 2. a burst from one address: three times the slots
base=$((0x5B0000))
check "100 phones scheduled" schedule $base 100
timeout 300 "$BIN/capf-phone" --host "$CAPF_HOST" --port "$CAPF_PORT" --bind 127.0.0.3 --capf-cert "$CAPF_CERT" \
  --timeout 120 --load 100 --concurrency 100 --name-pattern 'SEP%012X' --first $base --keys ec:P-256 \
  --retry-later 5 --json >"$T_TMP/burst.out" 2>"$T_TMP/burst.err"
ok_n=$(enrolled "$T_TMP/burst.out")
check "100 phones at once with 32 slots: all enrolled ($ok_n)" test "$ok_n" = 100
[ "$ok_n" = 100 ] || { tail -n 5 "$T_TMP/burst.out" "$T_TMP/burst.err"; grep -E 'level=(notice|warning|err)' "$APP/logs/frontd.log" | tail -n 5; }
load burst
check "at most 32 handshakes at once ($(field peak_handshakes burst))" test "$(field peak_handshakes burst)" -le 32
check "the silent ones still hold no SSL object" test "$(field ssl burst)" = 0

# 3. stalled ClientHellos from four addresses, phones from a fifth
spids=()
for a in 11 12 13 14; do
  "$H" hello-stall "$CAPF_HOST" "$CAPF_PORT" --bind 127.0.0.$a --count 60 --duration 300 --rate 100 \
    >"$T_TMP/stall.$a" 2>&1 &
  spids+=($!)
  T_PIDS+=($!)
done
for i in 0 1 2 3; do wait_log 30 "$T_TMP/stall.$((11 + i))" '^ready' "${spids[$i]}"; done
sleep 3 # every slot stalled now, the rest waiting
load stalled
check "every slot taken by a stalled handshake ($(field handshakes stalled) of 32)" \
  test "$(field handshakes stalled)" = 32
check "the other ClientHellos wait without an SSL object ($(field hello_waiting stalled) waiting, $(field ssl stalled) SSL objects)" \
  test "$(field hello_waiting stalled)" -ge 100 -a "$(field ssl stalled)" -le 32

base=$((base + 100))
check "40 phones scheduled" schedule $base 40
timeout 300 "$BIN/capf-phone" --host "$CAPF_HOST" --port "$CAPF_PORT" --bind 127.0.0.2 --capf-cert "$CAPF_CERT" \
  --timeout 20 --load 40 --concurrency 8 --name-pattern 'SEP%012X' --first $base --keys ec:P-256 \
  --json >"$T_TMP/load.out" 2>"$T_TMP/load.err"
ok_n=$(enrolled "$T_TMP/load.out")
check "all 40 phones enrolled within 20 s each beside the stalled handshakes ($ok_n)" test "$ok_n" = 40
for p in "${spids[@]}"; do check "the staller was still running all along" kill -0 "$p"; done
load attacked
check "stalled handshakes were evicted for the phones ($(field evicted attacked))" test "$(field evicted attacked)" -ge 1
check_grep "logged as event=handshake_evicted" "event=handshake_evicted peer=127\.0\.0\.1[1-4]:" "$APP/logs/frontd.log"
check "never more than 32 handshakes at once ($(field peak_handshakes attacked))" \
  test "$(field peak_handshakes attacked)" -le 32
for p in "${spids[@]}" "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
wait "$SLOW"
src=$?
check "the trickled ClientHello was closed at handshake_timeout ($(cat "$T_TMP/slow.out"))" \
  test "$src" = 0
cat "$T_TMP"/stall.1? | grep attempts | sed 's/^/    staller: /'
check "capf-frontd survived" kill -0 "$CAPF_FRONTD_PID"
app_down
check_grep "the stopping line reports the counts" "event=front_load why=stopping " "$APP/logs/frontd.log"
check_nogrep "no crash, sanitizer report or seccomp violation" \
  "AddressSanitizer|LeakSanitizer|runtime error|Segmentation|seccomp_violation" "$APP/logs/frontd.log"
finish
