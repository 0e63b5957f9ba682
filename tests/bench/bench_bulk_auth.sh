#!/usr/bin/env bash
# A bulk of devices with unique authentication strings, end to end (capfctl bulk
# --csv --unique-auth-strings against a local appliance), before and after issue
# #12's change: strings stored with scrypt (token.auth_key_uri unset) and as the
# token's HMAC (the appliance-local default). The scrypt run uses fewer devices and
# is scaled to BENCH_BULK_N; the HMAC run does all of them. Prints the figures.
#   BENCH_BULK_N (10000) BENCH_BULK_SCRYPT_N (40)
. tests/lib.sh

N=${BENCH_BULK_N:-10000}
NS=${BENCH_BULK_SCRYPT_N:-40}
D=$T_TMP/app
PORT=$(free_port)
trap 'scripts/appliance-local down "$D" >/dev/null 2>&1; t_cleanup' EXIT
up() { scripts/appliance-local up "$D" --port "$PORT" >"$T_TMP/env" 2>"$T_TMP/up.err" || { tail "$T_TMP/up.err"; exit 1; }; }
up
set -a
# shellcheck disable=SC1090
. "$T_TMP/env"
set +a
read -r -a CTL <<<"$CAPFCTL"

csv() {         # csv FILE COUNT BASE
  { echo "name,operation,auth"
    for ((i = 0; i < $2; i++)); do printf 'SEP%012X,install,string\n' $(($3 + i)); done; } >"$1"
}
ms() { date +%s%3N; }
run_bulk() {    # run_bulk COUNT BASE -> elapsed ms on stdout
  local f=$T_TMP/bulk-$2.csv out=$T_TMP/strings-$2.csv t0 t1
  csv "$f" "$1" "$2"
  t0=$(ms)
  "${CTL[@]}" bulk --csv "$f" --unique-auth-strings "$out" >"$T_TMP/bulk.out" 2>&1 || { cat "$T_TMP/bulk.out" >&2; return 1; }
  t1=$(ms)
  [ "$(grep -c '^SEP' "$out")" -eq "$1" ] || { echo "bench_bulk_auth: $out does not hold $1 strings" >&2; return 1; }
  echo $((t1 - t0))
}

after=$(run_bulk "$N" $((0xA00000))) || exit 1
t0=$(ms)
"${CTL[@]}" audit verify --pubkey "$CAPF_AUDIT_PUBKEY" >"$T_TMP/verify.out" 2>&1 || { cat "$T_TMP/verify.out"; exit 1; }
verify_ms=$(( $(ms) - t0 ))
# before: the same appliance with the strings stored by scrypt
sed -i '/^  auth_key_uri = /d' "$D/capf.conf"
scripts/appliance-local down "$D" >/dev/null 2>&1
up
before=$(run_bulk "$NS" $((0xB00000))) || exit 1
grep -q 'storage=scrypt' "$D/logs/signerd.log" || { echo "bench_bulk_auth: the signer did not fall back to scrypt" >&2; exit 1; }
awk -v n="$N" -v ns="$NS" -v a="$after" -v b="$before" 'BEGIN {
  printf "bulk with unique authentication strings, end to end (capfctl bulk --csv --unique-auth-strings):\n"
  printf "  before (scrypt): %d devices in %.1f s = %.1f ms/device -> %d devices: %.0f s (%.1f min)\n", ns, b / 1000, b / ns, n, b / ns * n / 1000, b / ns * n / 60000
  printf "  after (token HMAC): %d devices in %.1f s = %.2f ms/device\n", n, a / 1000, a / n
}'
echo "  audit verify --pubkey over the resulting trail (every row recomputed, checkpoints checked): ${verify_ms} ms"
