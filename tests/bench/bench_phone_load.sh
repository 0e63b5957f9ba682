#!/usr/bin/env bash
# Enrollment throughput of the whole appliance, driven by capf-phone's load mode:
# a local appliance (scripts/appliance-local), N devices scheduled in one bulk
# transaction, then N phones enrolling C at a time (keys pre-generated before the
# clock starts; RSA keys are shared by the phones, 32 of them). Prints enrollments/s and p50/p90/p99 latency for EC P-256 and RSA 2048.
#   BENCH_PHONES (default 1000), BENCH_CONCURRENCY (default 32)
. tests/lib.sh

N=${BENCH_PHONES:-1000}
C=${BENCH_CONCURRENCY:-32}
D=$T_TMP/app
PORT=$(free_port)
scripts/appliance-local up "$D" --port "$PORT" >"$T_TMP/env" 2>"$T_TMP/up.err" || { tail "$T_TMP/up.err"; exit 1; }
# shellcheck disable=SC1090
. "$T_TMP/env"
trap 'scripts/appliance-local down "$D" >/dev/null 2>&1; t_cleanup' EXIT

rc=0
for kind in ec:P-256 rsa:2048; do
  # RSA key generation is slow on the phone's side: 32 keys, shared round robin
  case $kind in ec:*) order=ec; base=$((0xE00000)); pool=() ;;
                *) order=rsa; base=$((0xF00000)); pool=(--pool-size 32 --reuse-keys) ;; esac
  { echo "name,operation,auth,key_order"
    for i in $(seq 0 $((N - 1))); do printf 'SEP%012X,install,null,%s\n' $((base + i)) "$order"; done
  } >"$T_TMP/devices.csv"
  $CAPFCTL bulk --csv "$T_TMP/devices.csv" >/dev/null || { echo "bulk scheduling failed"; exit 1; }
  echo "-- $N phones, $kind, concurrency $C"
  "$BIN/capf-phone" --host "$CAPF_HOST" --port "$CAPF_PORT" --capf-cert "$CAPF_CERT" --timeout 60 \
    --load "$N" --concurrency "$C" --name-pattern 'SEP%012X' --first "$base" --keys "$kind" "${pool[@]}" 2>&1 || rc=1
done
exit $rc
