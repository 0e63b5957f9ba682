#!/usr/bin/env bash
# Who answers on the signer's sockets. capf-signerd refuses at start-up a sockets
# directory that its group or others may write, or that another user owns; capfctl
# checks, before it sends anything, that admin.sock is served by the owner of a
# directory nobody else may write (SO_PEERCRED): a fake admin.sock served by
# another uid (as root) or put in a group-writable directory gets no request.
# (capf-frontd's same check of front.sock: tests/e2e/frontd_standalone.sh.)
. tests/lib.sh
D=$T_TMP
SD=$BIN/capf-signerd
CTL=$BIN/capfctl
IS_ROOT=0; [ "$(id -u)" = 0 ] && IS_ROOT=1

mkdir -p "$D/tok" "$D/state"
make_capf_ca "$D" "$D/ca.pem"
signer_user "$D/tok" "$D/state"
signer_conf "$D" "$D/ca.pem" 'signer: { workers = 1; sessions = 1; };'
: >"$LOG"

# ---- a sockets directory others could write: refused at start-up ------------
mkdir -p "$D/run"
[ "$IS_ROOT" = 1 ] && chown "$SIGNER_UID" "$D/run"
chmod 0770 "$D/run"
"$SD" --config "$D/capf.conf" --foreground "${USER_OPT[@]}" >"$D/start.out" 2>&1
rc=$?
check "a group-writable sockets.dir: capf-signerd refuses to start (exit 3)" test "$rc" = 3
check_grep "and says why and what to do" "sockets directory $D/run is writable by its group \(mode 0770\).*chmod 0750" \
  "$D/start.out"
check "no socket was made there" test ! -e "$ADMIN"
chmod 0757 "$D/run"
"$SD" --config "$D/capf.conf" --foreground "${USER_OPT[@]}" >"$D/start.out" 2>&1
check "a world-writable one too (exit 3)" test $? = 3
check_grep "naming others" "is writable by others" "$D/start.out"
if [ "$IS_ROOT" = 1 ]; then
  chmod 0750 "$D/run"
  chown root "$D/run"
  "$SD" --config "$D/capf.conf" --foreground "${USER_OPT[@]}" >"$D/start.out" 2>&1
  check "a sockets.dir owned by another user (root): refused (exit 3)" test $? = 3
  check_grep "naming both uids" "owned by uid 0, not by uid $SIGNER_UID" "$D/start.out"
fi
rm -rf "$D/run"

# ---- the real signer: capfctl talks to it ------------------------------------
start_signerd "$LOG" "$ADMIN" "$D/capf.conf"
check "capf-signerd started on a sockets.dir of its own" test -S "$ADMIN"
[ -S "$ADMIN" ] || { tail -20 "$LOG"; finish; }
check "sockets.dir: owned by the signer's uid, 0750" \
  test "$(stat -c '%u %a' "$D/run")" = "$SIGNER_UID 750"
check "capfctl ping: the signer is who owns sockets.dir" "$CTL" --socket "$ADMIN" ping
stop_signerd

# ---- a fake admin.sock --------------------------------------------------------
# fake NAME [--uid UID]: a server on admin.sock that never answers (output in $D/NAME.out)
fake() { local name=$1; shift; fake_server "$ADMIN" "$D/$name.out" "$@"; }
if [ "$IS_ROOT" = 1 ]; then
  # the directory is the signer's and 0750; the socket in it is served by nobody
  fake other-uid --uid "$(id -u nobody)"
  check_grep "a fake admin.sock served by uid nobody" listening "$D/other-uid.out"
  "$CTL" --socket "$ADMIN" ping >"$D/ctl.out" 2>&1
  check "capfctl refuses to talk to it (exit 3)" test $? = 3
  check_grep "and names the uids" "not talking to this server: the server is uid $(id -u nobody) .*not uid $SIGNER_UID that owns the sockets directory \(nor root\)" "$D/ctl.out"
  "$CTL" --socket "$ADMIN" device add SEP001122334455 --op install --auth null >"$D/ctl.out" 2>&1
  check "a change is not sent either (exit 3)" test $? = 3
  check_grep "the fake server saw the connection" connection "$D/other-uid.out"
  check_nogrep "but not one byte of a request" received "$D/other-uid.out"
  kill "$FAKE"; wait "$FAKE" 2>/dev/null
fi
# a group-writable directory: anyone in the group could have put the socket there
chmod 0770 "$D/run"
fake group-writable
check_grep "a fake admin.sock in a group-writable sockets.dir" listening "$D/group-writable.out"
"$CTL" --socket "$ADMIN" ping >"$D/ctl.out" 2>&1
check "capfctl refuses to talk to it (exit 3)" test $? = 3
check_grep "and says why" "sockets directory $D/run is writable by its group" "$D/ctl.out"
check_nogrep "the fake server received nothing" received "$D/group-writable.out"
kill "$FAKE"; wait "$FAKE" 2>/dev/null
chmod 0750 "$D/run"
finish
