#!/usr/bin/env bash
# The key process's cost: the full-stack issuance rate before (the signer signed in
# its own process) and after (capf-keyd signs, one more hop per LSC), measured in the
# same run on the same machine, alternating, with the base's tests/bench/bench_appliance.sh
# (the 64-phone run of the time; the same script measures both trees).
#   BENCH_KEYPROC_BASE  the commit before the key process (default: the parent of the
#                       commit that added appliance/keyd/)
#   BENCH_KEYPROC_N     enrollments per run (1000)   BENCH_KEYPROC_ROUNDS (2)
# Prints the LSCs/s of each run, the mean of each side and the change (the goal: the
# rate falls by at most 10%). Needs the git history (a clone, not an export).
. tests/lib.sh

N=${BENCH_KEYPROC_N:-1000}
ROUNDS=${BENCH_KEYPROC_ROUNDS:-2}
first=$(git log --diff-filter=A --format=%H -- appliance/keyd/keyd.h 2>/dev/null | tail -1)
BASE=${BENCH_KEYPROC_BASE:-${first:+$first^}}
if [ -z "$BASE" ] || ! git rev-parse --verify -q "$BASE^{commit}" >/dev/null; then
  echo "bench_keyproc: no base commit (not a git clone with history, or BENCH_KEYPROC_BASE unknown): skipped"
  exit 0
fi
W=$T_TMP/base
trap 'git worktree remove --force "$W" >/dev/null 2>&1; t_cleanup' EXIT
git worktree add -q --detach "$W" "$BASE" || { echo "bench_keyproc: git worktree add failed"; exit 1; }
echo "-- building the base $(git rev-parse --short "$BASE") (the signer signs in its own process)"
make -C "$W" -j"$(nproc)" all tests "$BUILD/tests/bench_tokensign" >"$T_TMP/base-build.log" 2>&1 ||
  { tail "$T_TMP/base-build.log"; exit 1; }
make -j"$(nproc)" all "$BUILD/tests/bench_tokensign" >"$T_TMP/head-build.log" 2>&1 || { tail "$T_TMP/head-build.log"; exit 1; }

run() { # DIR LABEL: one run of the base's bench_appliance.sh in DIR's tree, its LSCs/s
  local out=$T_TMP/$2.out
  (cd "$1" && BENCH_N=$N bash "$W/tests/bench/bench_appliance.sh") >"$out" 2>&1
  sed -n 's/^LSCs per second: *\([0-9.]*\).*/\1/p' "$out"
}
before=() after=()
for r in $(seq 1 "$ROUNDS"); do
  b=$(run "$W" "before$r"); a=$(run "$PWD" "after$r")
  echo "round $r: before ${b:-failed} LSCs/s, after ${a:-failed} LSCs/s"
  [ -n "$b" ] && before+=("$b"); [ -n "$a" ] && after+=("$a")
  grep -h "latency p50" "$T_TMP/before$r.out" "$T_TMP/after$r.out" | sed 's/^/   /'
done
[ ${#before[@]} -gt 0 ] && [ ${#after[@]} -gt 0 ] || { echo "bench_keyproc: a run failed"; for f in "$T_TMP"/*.out; do tail -n 5 "$f"; done; exit 1; }
printf '%s\n' "${before[@]}" >"$T_TMP/b"; printf '%s\n' "${after[@]}" >"$T_TMP/a"
awk 'FNR == 1 { f++ } f == 1 { b += $1; nb++ } f == 2 { a += $1; na++ }
  END { mb = b / nb; ma = a / na
        printf "full-stack issuance, mean of %d runs each: before %.1f LSCs/s, after %.1f LSCs/s: %+.1f%% (goal: no worse than -10%%)\n", nb, mb, ma, (ma - mb) * 100 / mb }' \
  "$T_TMP/b" "$T_TMP/a"
