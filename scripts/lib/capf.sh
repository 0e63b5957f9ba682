# scripts/lib/capf.sh: the shell helpers scripts/ and tests/ share (bash). Source it
# from a script's own folder (". "$here/lib/capf.sh"", tests: tests/lib.sh does);
# it only defines functions and CAPF_ROOT (the tree it belongs to), sets no shell
# options and runs nothing.
#
#   wait_for SECONDS CMD...        runs CMD (output discarded) every 50 ms until it
#                                  succeeds: 0; 1 when SECONDS passed first
#   wait_log SECONDS FILE REGEX [PID]   until FILE has a line matching REGEX (grep -E): 0;
#                                  1 after SECONDS, or as soon as PID is no longer running
#   log_count FILE REGEX           how many lines of FILE match REGEX (0 for no FILE)
#   proc_alive PID / proc_dead PID a process that runs (an exited one not reaped yet is dead)
#   proc_stop PID [SECONDS]        SIGTERM; SIGKILL when it still runs SECONDS (default 10)
#                                  later; 1 when it needed SIGKILL. A child's status: `wait PID`
#   pid_of PIDFILE                 the pid in PIDFILE, nothing when there is none
#   daemon_start LOG CMD...        CMD in the background, stdin /dev/null, stdout and stderr
#                                  appended to LOG; its pid in DAEMON_PID
#   daemon_wait_started SECONDS LOG PID [BEFORE]
#                                  until LOG has more than BEFORE (default 0) lines with
#                                  event=started (what capf-signerd and capf-frontd log once
#                                  they serve): 0; 1 when PID exited first or after SECONDS
#   p11_uri TOKEN [OBJECT [TYPE [PINFILE]]]
#                                  an RFC 7512 URI: pkcs11:token=T;object=O;type=TY?pin-source=file:P
#                                  (empty arguments left out)
#   free_port                      an unused TCP port on 127.0.0.1
#   system_python                  /usr/bin/python3 when there is one (a pyenv shim costs a
#                                  second per start), else python3 from PATH
#   make_tmpdir NAME               a new folder NAME.XXXXXX under TMPDIR (/tmp), mode 0755
#                                  (the daemons' users must enter it)
#   on_exit CMD...                 CMD runs when the shell exits, the last registered first
#                                  (a failing one does not stop the others); the EXIT trap is
#                                  this list's: a script sets no other
#   appliance_down DIR             scripts/appliance-local down DIR, quietly, never failing
#   stage_needed BUILD_DIR         0 when we are root and CAPF_STAGE is not set, and the daemons'
#                                  users cannot read BUILD_DIR/lib/capfhsm.so (a clone under /root):
#                                  the programs must then be staged (scripts/stage-build)

CAPF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

wait_for() {
  local limit=$(( $1 * 20 )) i=0
  shift
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -ge "$limit" ] && return 1
    sleep 0.05
  done
}

log_count() {
  local n
  n=$(grep -cE -- "$2" "$1" 2>/dev/null) || true
  printf '%s\n' "${n:-0}"
}

_capf_log_or_gone() { grep -qE -- "$2" "$1" 2>/dev/null || { [ -n "${3:-}" ] && proc_dead "$3"; }; }
wait_log() {
  wait_for "$1" _capf_log_or_gone "$2" "$3" "${4:-}" && grep -qE -- "$3" "$2" 2>/dev/null
}

proc_alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  local st
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}
proc_dead() { ! proc_alive "$1"; }

proc_stop() {
  local pid=$1 secs=${2:-10}
  proc_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait_for "$secs" proc_dead "$pid" && return 0
  kill -KILL "$pid" 2>/dev/null || true
  wait_for 5 proc_dead "$pid" || true
  return 1
}

pid_of() { [ -s "$1" ] && cat "$1" || true; }

daemon_start() {
  local log=$1
  shift
  "$@" </dev/null >>"$log" 2>&1 &
  DAEMON_PID=$!
}

_capf_started_or_gone() { [ "$(log_count "$1" event=started)" -gt "$3" ] || proc_dead "$2"; }
daemon_wait_started() {
  local secs=$1 log=$2 pid=$3 before=${4:-0}
  wait_for "$secs" _capf_started_or_gone "$log" "$pid" "$before" || true
  [ "$(log_count "$log" event=started)" -gt "$before" ] && proc_alive "$pid"
}

p11_uri() {
  local u="pkcs11:token=$1"
  [ -n "${2:-}" ] && u="$u;object=$2"
  [ -n "${3:-}" ] && u="$u;type=$3"
  [ -n "${4:-}" ] && u="$u?pin-source=file:$4"
  printf '%s\n' "$u"
}

free_port() {
  "$(system_python)" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

system_python() { command -v /usr/bin/python3 || command -v python3; }

make_tmpdir() {
  local d
  d=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || return 1
  chmod 0755 "$d"
  printf '%s\n' "$d"
}

CAPF_EXIT_CMDS=()
_capf_run_exit() {
  local i
  for ((i = ${#CAPF_EXIT_CMDS[@]} - 1; i >= 0; i--)); do
    eval "${CAPF_EXIT_CMDS[i]}" || true
  done
}
on_exit() {
  CAPF_EXIT_CMDS+=("$(printf '%q ' "$@")")
  trap _capf_run_exit EXIT
}

stage_needed() {
  [ -z "${CAPF_STAGE:-}" ] && [ "$(id -u)" = 0 ] \
    && ! "$CAPF_ROOT/scripts/stage-build" --can-reach nobody "$1/lib/capfhsm.so" >/dev/null 2>&1
}

appliance_down() { "$CAPF_ROOT/scripts/appliance-local" down "$1" >/dev/null 2>&1 || true; }
