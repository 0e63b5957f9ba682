#!/usr/bin/env bash
# scripts/appliance-local as a new operator meets it: status/down create nothing, what up
# prints survives eval with awkward paths, a daemon that dies at start-up is reported at
# once with its log, as root the daemons run from DIR/stage and a DIR out of their users'
# reach is refused with the reason (and nothing is loosened or created).
. tests/lib.sh
LOCAL=$PWD/scripts/appliance-local
export BUILD

# ---- status and down create nothing ------------------------------------------
NO=$T_TMP/none/inst
"$LOCAL" status "$NO" >"$T_TMP/st.out" 2>&1; rc=$?
check "status of a missing DIR exits 3" test "$rc" = 3
check_grep "  ... and says there is no instance" "no instance" "$T_TMP/st.out"
check "down of a missing DIR exits 0" "$LOCAL" down "$NO"
check_fails "  ... neither created DIR nor its parent" test -e "$T_TMP/none"
check_fails "an unknown command is a usage error" "$LOCAL" start "$NO"
check_fails "  ... and creates nothing" test -e "$T_TMP/none"

# ---- up in a directory whose name needs quoting --------------------------------
A="$T_TMP/inst a'b\$c"
port=$(free_port)
CAPF_READY_TIMEOUT=60 "$LOCAL" up "$A" --port "$port" >"$T_TMP/up.env" 2>"$T_TMP/up.err"
check "up in \"inst a'b\$c\" exits 0" test $? = 0
( set -eu; eval "$(cat "$T_TMP/up.env")"; test "$CAPF_CERT" = "$A/front/capf-tls.pem"; test -s "$CAPF_CERT"
  eval "$CAPFCTL ping" ) >"$T_TMP/eval.out" 2>&1
check "the printed lines eval to the right paths; eval \"\$CAPFCTL ping\" reaches the daemon" test $? = 0
sed 's/^/    /' "$T_TMP/eval.out" | tail -3
check "every line is NAME=VALUE" bash -c "! grep -vqE '^[A-Z][A-Z0-9_]*=' '$T_TMP/up.env'"
"$LOCAL" status "$A" >"$T_TMP/st.out"
check "status: both running" test "$(grep -c ': running' "$T_TMP/st.out")" = 2
if [ "$(id -u)" = 0 ]; then
  spid=$(cat "$A/pids/signerd.pid") fpid=$(cat "$A/pids/frontd.pid")
  check "as root capf-signerd runs from DIR/stage" test "$(readlink "/proc/$spid/exe")" = "$A/stage/bin/capf-signerd"
  check "as root capf-frontd runs from DIR/stage" test "$(readlink "/proc/$fpid/exe")" = "$A/stage/bin/capf-frontd"
  check "  ... next to its capfhsm.so, identical to the build's" cmp "$A/stage/lib/capfhsm.so" "$PWD/$BUILD/lib/capfhsm.so"
  check "  ... which its users cannot change" test "$(stat -c '%U %a' "$A/stage/bin/capf-signerd")" = "root 755"
else
  skips 4 "the daemons run from DIR/stage (as root only)"
fi
check "down stops both" "$LOCAL" down "$A"
"$LOCAL" status "$A" >"$T_TMP/st.out"
check "status: both stopped afterwards" test "$(grep -c ': stopped' "$T_TMP/st.out")" = 2

# ---- a daemon that dies at start-up is reported at once, with its log ------------
cp "$A/capf.conf" "$T_TMP/capf.conf.good"
echo 'no_such_group = { x = 1; };' >>"$A/capf.conf"
t0=$(date +%s%N)
CAPF_READY_TIMEOUT=60 "$LOCAL" up "$A" >"$T_TMP/up.out" 2>"$T_TMP/up.err"; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "    (capf-signerd's failure reported after ${ms} ms; the ready timeout was 60 s)"
check "a capf-signerd that exits at start-up: up exits 1" test "$rc" = 1
check "  ... without waiting for the ready timeout" test "$ms" -lt 30000
check_grep "  ... says it exited" "capf-signerd exited at start-up" "$T_TMP/up.err"
check_grep "  ... and shows its last log lines (the reason)" "\\| .*no_such_group: unknown setting" "$T_TMP/up.err"
check "  ... and prints no environment" test ! -s "$T_TMP/up.out"
cp "$T_TMP/capf.conf.good" "$A/capf.conf"
t0=$(date +%s%N)
CAPF_READY_TIMEOUT=60 CAPF_FRONTD_ARGS="--signer-connections 100000" "$LOCAL" up "$A" >"$T_TMP/up.out" 2>"$T_TMP/up.err"; rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "    (capf-frontd's failure reported after ${ms} ms)"
check "a capf-frontd that exits at start-up: up exits 1" test "$rc" = 1
check "  ... without waiting for the ready timeout" test "$ms" -lt 30000
check_grep "  ... says it exited and shows why" "\\| .*signer-connections" "$T_TMP/up.err"
"$LOCAL" down "$A"

# ---- as root: a DIR the daemons' users cannot reach is refused, nothing changed ----
if [ "$(id -u)" = 0 ]; then
  P=$T_TMP/private
  mkdir -m 0700 "$P"
  "$LOCAL" up "$P/inst" >"$T_TMP/up.out" 2>"$T_TMP/up.err"; rc=$?
  check "up in a DIR under a 0700 folder: exit 1" test "$rc" = 1
  check_grep "  ... names the user and the folder that stops it" "capf-signer cannot enter $P \\(drwx------ root:root\\)" "$T_TMP/up.err"
  check_grep "  ... and says what to do" "Choose a directory they can enter" "$T_TMP/up.err"
  check "  ... the folder's mode is unchanged" test "$(stat -c %a "$P")" = 700
  check_fails "  ... and DIR was not created" test -e "$P/inst"
else
  skips 5 "a DIR the daemons' users cannot reach is refused (as root only: as a user both run as you)"
fi
finish
