#!/usr/bin/env bash
# End-to-end issuance rate of the whole appliance against the raw signing rate of
# its CAPF CA key, measured in the same run on the same token.
#
# A local appliance (scripts/appliance-local: SoftHSM token, RSA-2048 CAPF CA,
# capf-signerd, capf-frontd), BENCH_N devices scheduled in one bulk transaction,
# then capf-phone --load: BENCH_N enrollments, BENCH_C phones at once (RSA-2048
# phone keys pre-generated before the clock, shared round robin). Then, with the
# daemons idle, bench_tokensign signs with the same token key for a few seconds
# (BENCH_SIGN_THREADS threads). Prints LSCs/s, p50/p99 latency, signs/s, the ratio.
#   BENCH_N (2000) BENCH_C (64) BENCH_WORKERS (signer.workers, 16)
#   BENCH_SIGNER_CONNS (capf-frontd --signer-connections, 32) BENCH_SIGN_THREADS (2)
. tests/lib.sh

N=${BENCH_N:-2000}
C=${BENCH_C:-64}
W=${BENCH_WORKERS:-16}
SC=${BENCH_SIGNER_CONNS:-32}
ST=${BENCH_SIGN_THREADS:-2}
D=$T_TMP/app
PORT=$(free_port)
export CAPF_SIGNER_WORKERS=$W CAPF_SIGNER_SESSIONS=$W CAPF_FRONTD_ARGS="--signer-connections $SC"
trap 'scripts/appliance-local down "$D" >/dev/null 2>&1; t_cleanup' EXIT
scripts/appliance-local up "$D" --port "$PORT" >"$T_TMP/env" 2>"$T_TMP/up.err" || { tail "$T_TMP/up.err"; exit 1; }
set -a
# shellcheck disable=SC1090
. "$T_TMP/env"
set +a

base=$((0x600000))
{ echo "name,operation,auth,key_order"
  for i in $(seq 0 $((N - 1))); do printf 'SEP%012X,install,null,rsa\n' $((base + i)); done
} >"$T_TMP/devices.csv"
$CAPFCTL bulk --csv "$T_TMP/devices.csv" >/dev/null || { echo "bench: bulk scheduling failed"; exit 1; }

cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
echo "-- $N enrollments, $C phones at once, RSA-2048 CAPF CA in SoftHSM, signer.workers $W, front->signer connections $SC, $(nproc) cores"
"$BIN/capf-phone" --host "$CAPF_HOST" --port "$CAPF_PORT" --capf-cert "$CAPF_CERT" --timeout 120 \
  --load "$N" --concurrency "$C" --name-pattern 'SEP%012X' --first "$base" --keys rsa:2048 \
  --pool-size 64 --reuse-keys >"$T_TMP/load.out" 2>"$T_TMP/load.err" &
PP=$!
# CPU of each daemon while the phones run (after their keys are made)
while ! grep -q generated "$T_TMP/load.err" 2>/dev/null && kill -0 $PP 2>/dev/null; do sleep 0.1; done
f0=$(cpu "$CAPF_FRONTD_PID"); s0=$(cpu "$CAPF_SIGNERD_PID")
wait $PP
rc=$?
f1=$(cpu "$CAPF_FRONTD_PID"); s1=$(cpu "$CAPF_SIGNERD_PID")
cat "$T_TMP/load.out"
rate=$(sed -n 's/.*enrollments\/s \([0-9.]*\).*/\1/p' "$T_TMP/load.out")
p50=$(sed -n 's/.*p50 \([0-9.]*\).*/\1/p' "$T_TMP/load.out")
p99=$(sed -n 's/.*p99 \([0-9.]*\).*/\1/p' "$T_TMP/load.out")
okn=$(sed -n 's/.*success \([0-9]*\).*/\1/p' "$T_TMP/load.out")
# capf-phone's own CPU per session (it shares the cores with the appliance)
pcpu=$(sed -n 's/.*CPU during the sessions.* \([0-9.]*\) ms per session.*/\1/p' "$T_TMP/load.err")
secs=$(sed -n 's/.*concurrency [0-9]*, \([0-9.]*\) s.*/\1/p' "$T_TMP/load.out")

KEYURI="pkcs11:token=$CAPF_TOKEN_LABEL;object=capf-ca;type=private?pin-source=file:$D/signer/token.pin"
AS_SIGNER=()
[ "$(id -u)" = 0 ] && AS_SIGNER=(setpriv --reuid capf-signer --regid capf-signer --clear-groups)
SOFTHSM2_CONF=$CAPF_SOFTHSM2_CONF "${AS_SIGNER[@]}" "$PWD/$BUILD/tests/bench_tokensign" --provider-dir "$LIB" --uri "$KEYURI" \
  --threads "$ST" --seconds 3 >"$T_TMP/sign.out" 2>&1 || { cat "$T_TMP/sign.out"; exit 1; }
raw=$(sed -n 's/.*signs_per_second=\([0-9.]*\).*/\1/p' "$T_TMP/sign.out")

awk -v r="$rate" -v s="$raw" -v p50="$p50" -v p99="$p99" -v ok="$okn" -v n="$N" -v secs="$secs" \
    -v f=$((f1 - f0)) -v g=$((s1 - s0)) -v st="$ST" -v pc="${pcpu:-0}" 'BEGIN {
  printf "LSCs per second:        %.1f (%d of %d enrolled)\n", r, ok, n
  printf "latency p50 / p99:      %.1f ms / %.1f ms\n", p50, p99
  printf "raw token signing rate: %.1f signatures/s (RSA-2048 PKCS#1, same key, %d threads)\n", s, st
  printf "ratio LSC/s : signs/s:  %.2f (target >= 0.50)\n", r / s
  if (ok > 0 && secs > 0) {
    fm = f * 10 / ok; sm = g * 10 / ok; sign = st * 1000 / s
    printf "CPU per enrollment:     capf-frontd %.2f ms, capf-signerd %.2f ms, capf-phone (simulator) %.2f ms\n", fm, sm, pc
    # all of it runs on the same cores: LSC/s : signs/s cannot exceed this share
    printf "one token signature:    %.2f ms of CPU (%d threads / signs/s); share of all CPU per enrollment %.2f\n", sign, st, sign / (fm + sm + pc)
  }
}'
[ "$rc" = 0 ] && [ "$okn" = "$N" ] || { echo "bench: failed enrollments (capf-phone exit $rc)"; tail -5 "$T_TMP/load.err"; exit 1; }
