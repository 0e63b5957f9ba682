#!/usr/bin/env bash
# The token holding the CAPF CA key goes away under load and comes back: the
# appliance must survive it without a restart and lose nothing.
#   p11-kit:  the instance reaches its token through `p11-kit server` and the client
#             module (scripts/appliance-local up --hsm p11-kit); the server is killed
#             (its whole process group), kept down OUTAGE_DOWN seconds, started again.
#   tokendir: SoftHSM loaded directly; its token directory is moved away for
#             OUTAGE_DOWN seconds and back (SoftHSM then needs C_Finalize/C_Initialize).
# Meanwhile capf-phone --load enrolls batches of phones continuously. Checked: phones
# that came during the outage were told RETRY_LATER, at BEGIN (counted); ping shows the
# token down, then up; enrollments resume with the same capf-signerd process; every LSC
# the signer issued is in the store, and the phones' successes are exactly those. Then,
# with no phone enrolling, the signer's health check alone finds the token gone and back.
# Printed: RETRY_LATER counts and the time from the token's return to the first LSC.
#   OUTAGE_KINDS (default "p11-kit tokendir"), OUTAGE_DOWN seconds (default 3; the
#   benchmark uses 10), OUTAGE_RESUME_MAX seconds to wait for enrollments (default 30).
. tests/lib.sh
. tests/e2e/appliance_lib.sh

KINDS=${OUTAGE_KINDS:-p11-kit tokendir}
all_down() { local a; for a in "$T_TMP"/app-*; do [ -d "$a" ] && appliance_down "$a"; done; }
on_exit all_down
DOWN=${OUTAGE_DOWN:-3}
RESUME_MAX=${OUTAGE_RESUME_MAX:-30}
NDEV=3000
BATCH=10
export CAPF_IDLE_TIMEOUT=10 CAPF_KEYGEN_TIMEOUT=60

now() { date +%s.%N; }

# load FIRST STOPFILE OUT: batches of BATCH phones, 4 at a time, each batch the next
# device names, until STOPFILE exists or the devices run out; one JSON line per batch
load() {
  local first=$1 stop=$2 out=$3 i=0
  while [ ! -e "$stop" ] && [ $(( (i + 1) * BATCH )) -le "$NDEV" ]; do
    phone --load "$BATCH" --concurrency 4 --name-pattern 'SEP%012X' --first $((first + i * BATCH)) \
      --keys ec:P-256 --json --quiet >>"$out" 2>>"$out.err" || true
    i=$((i + 1))
    sleep 0.2
  done
}

# sum FIELD FILE: the field summed over the JSON lines
sum() { "$PY" -c 'import json,sys; print(sum(json.loads(l)[sys.argv[1]] for l in open(sys.argv[2]) if l.startswith("{")))' "$1" "$2"; }

# first_issued_after T LOG: seconds from T (Unix time) to the first event=issued after it
first_issued_after() {
  "$PY" - "$1" "$2" <<'PY'
import sys, datetime
t = float(sys.argv[1])
for line in open(sys.argv[2]):
    if "event=issued" not in line:
        continue
    ts = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
    ts = ts.replace(tzinfo=datetime.timezone.utc).timestamp()
    if ts >= t:
        print("%.2f" % (ts - t))
        break
else:
    print("none")
PY
}

outage() {
  local kind=$1 base=$2 w=$T_TMP/$1 pid t_down t_back resumed stat ret_begin
  mkdir -p "$w"
  APP=$T_TMP/app-$kind APP_PORT=
  if [ "$kind" = p11-kit ]; then
    check "$kind: appliance-local up --hsm p11-kit" app_up --hsm p11-kit || return
  else
    check "$kind: appliance-local up (SoftHSM)" app_up || return
  fi
  pid=$CAPF_SIGNERD_PID
  { echo "name,operation,auth,key_order"
    for i in $(seq 0 $((NDEV - 1))); do printf 'SEP%012X,install,null,ec\n' $((base + i)); done
  } >"$w/devices.csv"
  check "$kind: $NDEV devices scheduled" "${CTL[@]}" bulk --csv "$w/devices.csv"
  "${CTL[@]}" ping >"$w/ping.up0" 2>&1
  check_grep "$kind: ping says the token is up" "token up" "$w/ping.up0"

  load "$base" "$w/stop" "$w/load.json" &
  local loader=$!
  # enrollments run before the outage
  local i=0
  until [ -s "$w/load.json" ] && [ "$(sum success "$w/load.json")" -gt 0 ]; do
    i=$((i + 1)); [ $i -gt 600 ] && break; sleep 0.05
  done
  check "$kind: enrollments before the outage" test "$(sum success "$w/load.json")" -gt 0

  t_down=$(now)
  if [ "$kind" = p11-kit ]; then
    check "$kind: p11-kit server killed" "$LOCAL" hsm-stop "$APP"
  else
    check "$kind: token directory moved away" mv "$APP/signer/softhsm/tokens" "$APP/signer/softhsm/tokens.away"
  fi
  # a phone must find the token gone before ping can say so
  i=0
  while :; do
    "${CTL[@]}" ping >"$w/ping.down" 2>&1
    grep -q "token DOWN" "$w/ping.down" && break
    i=$((i + 1)); [ $i -gt 200 ] && break
    sleep 0.05
  done
  check_grep "$kind: ping says the token is down" "token DOWN" "$w/ping.down"
  check "$kind: ping exits 1 while the token is down" test "$(
    "${CTL[@]}" ping >/dev/null 2>&1; echo $?)" = 1
  sleep "$DOWN"
  local before_back
  before_back=$(sum retry_later "$w/load.json")
  if [ "$kind" = p11-kit ]; then
    check "$kind: p11-kit server started again" "$LOCAL" hsm-start "$APP"
  else
    check "$kind: token directory back" mv "$APP/signer/softhsm/tokens.away" "$APP/signer/softhsm/tokens"
  fi
  t_back=$(now)
  # enrollments resume without a restart
  i=0 resumed=none
  while :; do
    resumed=$(first_issued_after "$t_back" "$APP/logs/signerd.log")
    [ "$resumed" != none ] && break
    i=$((i + 1)); [ $i -gt $((RESUME_MAX * 10)) ] && break
    sleep 0.1
  done
  check "$kind: enrollments resume after the token is back (first LSC after ${resumed} s)" \
    test "$resumed" != none
  sleep 1
  touch "$w/stop"
  wait "$loader"
  check "$kind: the same capf-signerd (no restart)" test "$(cat "$APP/pids/signerd.pid")" = "$pid"
  check "$kind: capf-signerd still running" kill -0 "$pid"
  "${CTL[@]}" ping >"$w/ping.up1" 2>&1
  check_grep "$kind: ping says the token is up again" "token up" "$w/ping.up1"

  local ok rl err
  ok=$(sum success "$w/load.json") rl=$(sum retry_later "$w/load.json") err=$(sum error "$w/load.json")
  check "$kind: phones during the outage got RETRY_LATER ($before_back by the token's return, $rl in all)" \
    test "$before_back" -gt 0
  check "$kind: no phone failed otherwise ($err errors)" test "$err" = 0
  "${CTL[@]}" stats --json >"$w/stats.json" 2>&1
  stat() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$w/stats.json" "$1"; }
  ret_begin=$(stat token_retry_later)
  check "$kind: RETRY_LATER came at BEGIN, before key generation ($ret_begin)" test "$ret_begin" -gt 0
  check "$kind: one outage, one recovery" test "$(stat token_outages)/$(stat token_recoveries)" = 1/1
  check "$kind: token_up = 1" test "$(stat token_up)" = 1
  check_grep "$kind: the outage is logged" "event=token_down" "$APP/logs/signerd.log"
  check_grep "$kind: the recovery is logged" "event=token_up down_ms=" "$APP/logs/signerd.log"
  check_grep "$kind: the provider's recovery reaches the log" "event=token_event msg=.*recovered" \
    "$APP/logs/signerd.log"

  # nothing lost: every LSC the signer issued is the device's LSC in the store
  grep -o 'event=issued device=[^ ]* serial=[^ ]*' "$APP/logs/signerd.log" \
    | sed 's/event=issued device=//; s/ serial=/ /' | sort >"$w/issued.txt"
  "${CTL[@]}" report --format json 2>/dev/null | "$PY" -c '
import json, sys
for d in json.load(sys.stdin):
    if d.get("has_lsc"):
        print(d["name"], d["lsc_serial"])' | sort >"$w/stored.txt"
  check "$kind: the phones' successes ($ok) are the LSCs issued" test "$(wc -l <"$w/issued.txt")" = "$ok"
  check "$kind: every issued LSC is in the store" cmp "$w/issued.txt" "$w/stored.txt"
  check "$kind: no seccomp violation" sh -c "! grep -q seccomp_violation '$APP/logs/signerd.log'"
  if [ "$kind" = tokendir ]; then
    # no phone enrolling: the signer's own health check finds the outage, so that the
    # next phone is told RETRY_LATER at BEGIN, and finds the token back
    mv "$APP/signer/softhsm/tokens" "$APP/signer/softhsm/tokens.away"
    i=0
    until "${CTL[@]}" ping >"$w/ping.idle" 2>&1; grep -q "token DOWN" "$w/ping.idle"; do
      i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1
    done
    check_grep "$kind: idle: the health check finds the token gone" "token DOWN" "$w/ping.idle"
    mv "$APP/signer/softhsm/tokens.away" "$APP/signer/softhsm/tokens"
    i=0
    until "${CTL[@]}" ping >"$w/ping.idle" 2>&1; do
      i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1
    done
    check_grep "$kind: idle: and back" "token up" "$w/ping.idle"
  fi
  echo "# $kind: outage ${DOWN} s: RETRY_LATER $rl (by the token's return $before_back, at BEGIN $ret_begin); first enrollment ${resumed} s after the token was back; issued $ok"
  "$LOCAL" down "$APP" >/dev/null 2>&1
}

base=$((0xD00000))
for kind in $KINDS; do
  outage "$kind" "$base"
  base=$((base + 0x10000))
done
finish
