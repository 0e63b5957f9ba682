#!/usr/bin/env bash
# Issue #14's figures, for an RSA-2048 and an EC P-256 CAPF CA (SoftHSM token):
#  - efficiency: the CPU of one raw token signature of the CA key (bench_tokensign,
#    through capfhsm, getrusage) over the appliance's CPU per LSC: capf-frontd's and
#    capf-signerd's whole process tree (every living process below them, read from
#    /proc/PID/stat utime+stime at the start and the end of the run, plus the
#    cutime+cstime of children that exited meanwhile), per process; at 64 and 512
#    phones at once (capf-phone --load, RSA-2048 phone keys made before the clock),
#    p50/p99 latency, failures (must be 0);
#  - where that CPU goes: perf record on both daemons during the 64-phone run, the
#    top shared objects and symbols (when perf can run here; else it says so);
#  - a burst: BENCH_BURST phones (10000) connect at once, as after a CAPF change;
#    those told RETRY_LATER wait the delay (front.retry_delay 30 s here, jittered
#    down to 15 s by capf-phone --retry-later) and come back;
#    none may fail; the peak RSS (VmHWM) of capf-frontd and of every process of
#    capf-signerd's tree;
#  - (RSA run) capfctl bulk of BENCH_BULK_UNIQUE (10000) devices with unique
#    authentication strings; the store filled to BENCH_STORE_N (100000) devices by
#    capfctl bulk; then `capfctl report` and `capfctl device list` with a filter over it.
# Targets (issue #14) are printed next to the figures; nothing is asserted but
# failed enrollments. The machine's other load makes every figure noisy.
#   BENCH_CAS ("rsa:2048 ec:P-256") BENCH_N64 (1500) BENCH_N512 (2000)
#   BENCH_BURST (10000; BENCH_BURST_EC, 3000, for the CAs after the first)
#   BENCH_BULK_UNIQUE (10000) BENCH_STORE_N (100000)
#   BENCH_WORKERS (signer.workers, 16: the default) BENCH_SIGNER_CONNS (frontd --signer-connections, 32)
#   BENCH_PERF (1: profile with perf when it runs here; 0: no)
#   BENCH_ONLY (unset: everything; else some of "64 512 burst bulk": only those parts,
#     e.g. BENCH_ONLY=burst for capf-frontd's peak RSS without the rest)
. tests/lib.sh

CAS=${BENCH_CAS:-rsa:2048 ec:P-256}
N64=${BENCH_N64:-1500}
N512=${BENCH_N512:-2000}
NB=${BENCH_BURST:-10000}
NBE=${BENCH_BURST_EC:-3000}     # the burst with the CAs after the first (bounds make bench's time)
NU=${BENCH_BULK_UNIQUE:-10000}
NS=${BENCH_STORE_N:-100000}
W=${BENCH_WORKERS:-16}
SC=${BENCH_SIGNER_CONNS:-32}
PERF=${BENCH_PERF:-1}
ONLY=${BENCH_ONLY:-}
for o in $ONLY; do
  case $o in 64 | 512 | burst | bulk) ;; *) echo "bench_capacity: BENCH_ONLY: $o: expected 64, 512, burst or bulk"; exit 2 ;; esac
done
part() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
HZ=$(getconf CLK_TCK)
D=
rc=0

ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge $((NB + 200)) ] || ulimit -n $((NB * 2 + 1000)) 2>/dev/null ||
  echo "bench_capacity: RLIMIT_NOFILE $(ulimit -n) is below the burst's $NB phones: raise it (ulimit -Hn)"
down() { [ -z "$D" ] || scripts/appliance-local down "$D" >/dev/null 2>&1; }
trap 'down; t_cleanup' EXIT
ms() { date +%s%3N; }

# tree_stat ROOT: "pid comm cpu_ticks child_ticks" for ROOT and every process below it
tree_stat() {
  local f l rest
  for f in /proc/[0-9]*/stat; do
    { read -r l <"$f"; } 2>/dev/null || continue
    rest=${l##*) }
    l=${l#* (}
    l=${l%) *}
    printf '%s %s %s\n' "${f//[^0-9]/}" "${l// /_}" "$rest"
  done | awk -v root="$1" '{
      pid = $1; comm[pid] = $2; ppid[pid] = $4; cpu[pid] = $14 + $15; ch[pid] = $16 + $17 }
    END {
      for (p in comm) {
        q = p
        for (d = 0; d < 64 && q != "" && q != root && q != 0 && q != 1; d++) q = ppid[q]
        if (q == root) print p, comm[p], cpu[p], ch[p]
      } }'
}

# hwm ROOT: "comm:pid VmHWM_kB" for ROOT's tree
hwm() {
  local p c
  tree_stat "$1" | while read -r p c _ _; do
    printf '%s:%s %s\n' "$c" "$p" "$(awk '/^VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null)"
  done
}

# schedule BASE COUNT: COUNT devices SEP<BASE+i> with an install by null string (RSA keys)
schedule() {
  { echo "name,operation,auth,key_order"
    awk -v b="$1" -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "SEP%012X,install,null,rsa\n", b + i }'
  } >"$T_TMP/devices.csv"
  "${CTL[@]}" bulk --csv "$T_TMP/devices.csv" >"$T_TMP/bulk.out" 2>&1 ||
    { echo "bench_capacity: bulk scheduling failed"; tail -3 "$T_TMP/bulk.out"; return 1; }
}

# load LABEL BASE N CONC [extra capf-phone options]: one run; prints its figures
load() {
  local label=$1 base=$2 n=$3 c=$4 pp t0f t1f t0s t1s prc
  shift 4
  schedule "$base" "$n" || return 1
  local sb=""
  case $label in 64 | 512) sign_ms 1 && sb=$SIGN_MS ;; esac
  # the daemons' first sample before the phones start: they are idle while capf-phone
  # makes its keys, and a sample taken once the sessions run would miss their start
  tree_stat "$CAPF_FRONTD_PID" >"$T_TMP/f0"; tree_stat "$CAPF_SIGNERD_PID" >"$T_TMP/s0"
  "$BIN/capf-phone" --host "$CAPF_HOST" --port "$CAPF_PORT" --capf-cert "$CAPF_CERT" --timeout 300 \
    --load "$n" --concurrency "$c" --name-pattern 'SEP%012X' --first "$base" --keys rsa:2048 \
    --pool-size 16 --reuse-keys "$@" >"$T_TMP/load.out" 2>"$T_TMP/load.err" &
  pp=$!
  while ! grep -q generated "$T_TMP/load.err" 2>/dev/null && kill -0 $pp 2>/dev/null; do sleep 0.05; done
  if [ "$label" = 64 ] && [ "$PERF" = 1 ] && [ -n "$PERF_OK" ]; then
    # 5 s of the run, DWARF call graphs (the system libraries have no frame pointers)
    perf record -F 250 --call-graph dwarf,16384 -o "$T_TMP/perf-$KIND.data" \
      -p "$(tree_stat "$CAPF_FRONTD_PID" | awk '{print $1}' | paste -sd,),$(tree_stat "$CAPF_SIGNERD_PID" | awk '{print $1}' | paste -sd,)" \
      -- sleep 5 >/dev/null 2>"$T_TMP/perf.err" &
    PERF_PID=$!
  fi
  wait $pp
  prc=$?
  tree_stat "$CAPF_FRONTD_PID" >"$T_TMP/f1"; tree_stat "$CAPF_SIGNERD_PID" >"$T_TMP/s1"
  if [ -n "$sb" ] && sign_ms 1; then
    echo "    one raw token signature just before and after this run: $sb and $SIGN_MS ms of CPU"
    SIGN_MS=$(awk -v a="$sb" -v b="$SIGN_MS" 'BEGIN { printf "%.3f", (a + b) / 2 }')
  fi
  if [ -n "${PERF_PID:-}" ]; then wait "$PERF_PID" 2>/dev/null; PERF_PID=; fi
  local ok p50 p99 secs rate retried
  ok=$(sed -n 's/.*success \([0-9]*\).*/\1/p' "$T_TMP/load.out")
  p50=$(sed -n 's/.*p50 \([0-9.]*\).*/\1/p' "$T_TMP/load.out")
  p99=$(sed -n 's/.*p99 \([0-9.]*\).*/\1/p' "$T_TMP/load.out")
  rate=$(sed -n 's/.*enrollments\/s \([0-9.]*\).*/\1/p' "$T_TMP/load.out")
  secs=$(sed -n 's/.*concurrency [0-9]*, \([0-9.]*\) s.*/\1/p' "$T_TMP/load.out")
  retried=$(sed -n 's/.*RETRY_LATER answers retried \([0-9]*\).*/\1/p' "$T_TMP/load.out")
  # CPU per LSC of every process, from the two samples (ticks -> ms)
  cpu_per() {   # cpu_per BEFORE AFTER ROOTPID
    awk -v ok="${ok:-0}" -v hz="$HZ" -v root="$3" '
      FNR == NR { b[$1] = $3; if ($1 == root) bc = $4; next }
      { d = $3 - ($1 in b ? b[$1] : 0); if ($1 == root) d += $4 - bc
        name = ($1 == root ? $2 : (($2 == "capf-signerd") ? "signerd-child" : $2))
        t[name] += d; all += d }
      END { for (n in t) printf "%s %.3f\n", n, ok ? t[n] * 1000 / hz / ok : 0
            printf "TOTAL %.3f\n", ok ? all * 1000 / hz / ok : 0 }' "$1" "$2"
  }
  cpu_per "$T_TMP/f0" "$T_TMP/f1" "$CAPF_FRONTD_PID" >"$T_TMP/fcpu"
  cpu_per "$T_TMP/s0" "$T_TMP/s1" "$CAPF_SIGNERD_PID" >"$T_TMP/scpu"
  local ft st per
  ft=$(awk '$1 == "TOTAL" {print $2}' "$T_TMP/fcpu")
  st=$(awk '$1 == "TOTAL" {print $2}' "$T_TMP/scpu")
  per=$( { grep -v TOTAL "$T_TMP/fcpu"; grep -v TOTAL "$T_TMP/scpu"; } | sort | awk '{printf "%s%s %.2f ms", s, $1, $2; s = ", "}')
  echo "  $label phones at once: $ok of $n enrolled in ${secs:-?} s (${rate:-0} LSC/s), latency p50 ${p50:-?} ms p99 ${p99:-?} ms${retried:+, RETRY_LATER retried $retried}"
  echo "    CPU per LSC: $per"
  awk -v f="$ft" -v s="$st" -v sig="$SIGN_MS" -v l="$label" 'BEGIN {
    printf "    appliance CPU per LSC %.2f ms (frontd %.2f + signer tree %.2f); one token signature %.3f ms; efficiency %.2f (target >= 0.50)\n",
      f + s, f, s, sig, ((f + s) > 0 ? sig / (f + s) : 0) }'
  [ "$label" = 64 ] && awk -v p="${p99:-999999}" 'BEGIN { printf "    p99 at 64 phones %.1f ms (target <= 100 ms): %s\n", p, p <= 100 ? "met" : "not met" }'
  # The phones run on the same cores: with both CPUs per LSC, Little's law bounds the
  # mean latency of C phones at once from below (C / the most LSCs/s the cores allow).
  drv=$(sed -n 's/.*CPU during the sessions:.* \([0-9.]*\) ms per session.*/\1/p' "$T_TMP/load.err")
  [ "$label" = 64 ] && [ -n "$drv" ] && awk -v f="$ft" -v s="$st" -v d="$drv" -v n="$(nproc)" -v c="$c" 'BEGIN {
    if (f + s + d <= 0) exit
    r = n * 1000 / (f + s + d)
    printf "    the phones'"'"' own CPU %.2f ms per session on the same %d cores: at most %.0f LSC/s here, so the mean latency of %d phones at once is at least %.0f ms\n", d, n, r, c, c * 1000 / r }'
  if [ "$prc" != 0 ] || [ "${ok:-0}" != "$n" ]; then
    echo "  bench_capacity: FAILED enrollments in the $label run (capf-phone exit $prc)"; grep -E 'first failure|success' "$T_TMP/load.out"; tail -3 "$T_TMP/load.err"
    return 1
  fi
}

perf_report() {
  local comm share
  [ -f "$T_TMP/perf-$KIND.data" ] || return 0
  echo "  where the CPU goes (perf, 5 s of the 64-phone run; % of each process's own samples):"
  perf report -i "$T_TMP/perf-$KIND.data" --stdio --no-children --sort comm,dso 2>/dev/null |
    awk '/^ +[0-9.]+%/ { p = $1 + 0; t[$2] += p; l[$2, ++n[$2]] = $3; v[$2, n[$2]] = p }
      END { for (c in t) { s = ""; for (i = 1; i <= n[c]; i++) if (v[c, i] * 100 / t[c] >= 0.5)
              s = s sprintf("%s%s %.1f%%", i > 1 ? ", " : "", l[c, i], v[c, i] * 100 / t[c])
            printf "    %s (%.0f%% of the samples) by library: %s\n", c, t[c], s } }' >"$T_TMP/perf-dso"
  cat "$T_TMP/perf-dso"
  for comm in capf-frontd capf-signerd capf-keyd; do
    share=$(sed -n "s/^    $comm (\([0-9]*\)% of the samples).*/\1/p" "$T_TMP/perf-dso")
    [ -n "$share" ] && [ "$share" -gt 0 ] || continue
    # inclusive time of the appliance's own functions and the libraries' entry points
    perf report -i "$T_TMP/perf-$KIND.data" --stdio --children --comm "$comm" --sort sym -g none 2>/dev/null |
      awk -v c="$comm" -v sh="$share" '/^ +[0-9.]+%/ && $4 !~ /^0x/ && $3 != "[k]" && $4 !~ /^(clone3|start_thread|_start|main|__libc_start|run|serve_one|worker_main|__GI_|___pthread|__pthread|lll_|futex|__futex)/ && n < 18 {
          l = l sprintf("%s%s %.0f%%", n++ ? ", " : "", $4, $1 * 100 / sh) }
        END { if (n) printf "    %s, inclusive: %s\n", c, l }' | fold -s -w 110 | sed '2,$s/^/      /'
  done
  perf_floor
}

# What this design cannot do without, on this token, from the 64-phone run's profile:
# the token's own work inside capf-keyd (p11_sign: C_SignInit and C_Sign on a session of
# the pool, the path bench_tokensign's raw signature takes too; SoftHSM runs in the
# process) and capf-frontd's TLS handshakes (its handshake step, SSL_do_handshake),
# each a share of its process's samples times that process's CPU per LSC. With
# everything else free, efficiency could reach no more than the raw signature over
# their sum; what the 0.5 target leaves for the rest is printed beside it.
perf_floor() {
  local pct
  pct() {   # pct COMM SYM...: % of COMM's own samples that have one of SYM on the stack
    perf report -i "$T_TMP/perf-$KIND.data" --stdio --no-children --comm "$1" --sort comm -g none 2>/dev/null |
      awk '/^ +[0-9.]+%/ { t += $1 } END { print t + 0 }' >"$T_TMP/pct-all"
    perf report -i "$T_TMP/perf-$KIND.data" --stdio --children --comm "$1" --sort sym -g none 2>/dev/null |
      awk -v all="$(cat "$T_TMP/pct-all")" -v syms="${*:2}" 'BEGIN { n = split(syms, w, " "); for (i = 1; i <= n; i++) want[w[i]] = 1 }
        /^ +[0-9.]+%/ && ($4 in want) && !seen[$4]++ { s += $1 }
        END { printf "%.4f\n", (all > 0 ? s / all : 0) }'
  }
  local kms fms kp fp
  kms=$(awk '$1 == "capf-keyd" {print $2}' "$T_TMP/scpu")
  fms=$(awk '$1 == "capf-frontd" {print $2}' "$T_TMP/fcpu")
  [ -n "$kms" ] && [ -n "$fms" ] || return 0
  kp=$(pct capf-keyd p11_sign)
  fp=$(pct capf-frontd handshake)
  awk -v kms="$kms" -v fms="$fms" -v kp="$kp" -v fp="$fp" -v sig="$SIGN_MS" -v ft="$(awk '$1 == "TOTAL" {print $2}' "$T_TMP/fcpu")" \
    -v st="$(awk '$1 == "TOTAL" {print $2}' "$T_TMP/scpu")" 'BEGIN {
    tok = kms * kp; hs = fms * fp; fl = tok + hs
    if (fl <= 0 || sig <= 0) exit
    printf "    the floor here: the token inside capf-keyd (p11_sign, %.0f%% of it) %.2f ms per LSC, capf-frontd'"'"'s TLS handshakes (%.0f%% of it) %.2f ms;\n", kp * 100, tok, fp * 100, hs
    printf "      with everything else free, efficiency at most %.2f; the rest of the appliance takes %.2f ms per LSC now, ", sig / fl, ft + st - fl
    if (2 * sig > fl) printf "and 0.5 would leave it %.2f ms\n", 2 * sig - fl
    else printf "and no rest could reach 0.5 (the floor alone is %.1f signatures)\n", fl / sig }'
}

# sign_ms SECONDS: one raw token signature's CPU (bench_tokensign, one thread) into
# SIGN_MS. The host's speed drifts by a third from minute to minute here, so each
# run's efficiency uses the mean of a measurement just before and one just after it.
sign_ms() {
  SOFTHSM2_CONF=$CAPF_SOFTHSM2_CONF "${AS_SIGNER[@]}" "$PWD/$BUILD/tests/bench_tokensign" --provider-dir "$LIB" \
    --uri "$KEYURI" --threads 1 --seconds "$1" >"$T_TMP/sign.out" 2>&1 || { cat "$T_TMP/sign.out"; return 1; }
  SIGN_MS=$(sed -n 's/.*cpu_ms_per_sign=\([0-9.]*\).*/\1/p' "$T_TMP/sign.out")
}

PERF_OK=
if [ "$PERF" = 1 ]; then
  if command -v perf >/dev/null && perf record -o "$T_TMP/perf-probe.data" -- true >/dev/null 2>&1; then
    PERF_OK=1
  else
    echo "perf cannot run here (not installed: apt-get install linux-perf, or perf_event_paranoid / container limits): no profile"
  fi
fi

base=$((0x700000))
for KIND in $CAS; do
  D=$T_TMP/app-${KIND//[:]/-}
  PORT=$(free_port)
  export CAPF_CA_KEY_TYPE=$KIND CAPF_SIGNER_WORKERS=$W CAPF_SIGNER_SESSIONS=$W \
    CAPF_MAX_CONNECTIONS=$((NB + 1000)) CAPF_MAX_PER_ADDRESS=$((NB + 1000)) CAPF_RETRY_DELAY=30 \
    CAPF_HANDSHAKE_TIMEOUT=300 CAPF_FRONTD_ARGS="--signer-connections $SC"
  scripts/appliance-local up "$D" --port "$PORT" >"$T_TMP/env" 2>"$T_TMP/up.err" || { tail "$T_TMP/up.err"; exit 1; }
  set -a
  # shellcheck disable=SC1090
  . "$T_TMP/env"
  set +a
  read -r -a CTL <<<"$CAPFCTL"
  KEYURI="pkcs11:token=$CAPF_TOKEN_LABEL;object=capf-ca;type=private?pin-source=file:$D/signer/token.pin"
  AS_SIGNER=()
  [ "$(id -u)" = 0 ] && AS_SIGNER=(setpriv --reuid capf-signer --regid capf-signer --clear-groups)
  sign_ms 2 || exit 1
  echo "-- CAPF CA $KIND in SoftHSM; signer.workers $W, front->signer connections $SC, $(nproc) cores (shared: figures are noisy)"
  echo "  one raw token signature of the CA key: $SIGN_MS ms of CPU ($(sed -n 's/.*signs_per_second=\([0-9.]*\).*/\1/p' "$T_TMP/sign.out") signatures/s, 1 thread)"
  if part 64; then
    load 64 $base "$N64" 64 || rc=1
    base=$((base + N64))
    perf_report
  fi
  if part 512; then
    load 512 $base "$N512" 512 || rc=1
    base=$((base + N512))
  fi
  if part burst; then
    nb=$NB
    [ "$KIND" = "${CAS%% *}" ] || nb=$NBE
    load "burst of $nb" $base "$nb" "$nb" --retry-later 30 || rc=1
    base=$((base + nb))
    echo "    peak RSS (VmHWM) after the burst:"
    { hwm "$CAPF_FRONTD_PID"; hwm "$CAPF_SIGNERD_PID"; } | awk -v f="$CAPF_FRONTD_PID" -v s="$CAPF_SIGNERD_PID" '{
        split($1, a, ":"); mb = $2 / 1024
        t = a[2] == f ? " (target <= 256 MiB: " (mb <= 256 ? "met" : "not met") ")" : a[2] == s ? " (target <= 64 MiB: " (mb <= 64 ? "met" : "not met") ")" : ""
        printf "      %s %.1f MiB%s\n", $1, mb, t }'
    # what capf-frontd held at once: its event=front_load line (logged on SIGUSR1)
    n0=$(grep -c 'event=front_load' "$D/logs/frontd.log" 2>/dev/null)
    kill -USR1 "$CAPF_FRONTD_PID" 2>/dev/null
    for _ in $(seq 50); do
      [ "$(grep -c 'event=front_load' "$D/logs/frontd.log" 2>/dev/null)" -gt "${n0:-0}" ] && break
      sleep 0.1
    done
    grep 'event=front_load' "$D/logs/frontd.log" 2>/dev/null | tail -n 1 |
      sed -n 's/.*max_handshakes=\([0-9]*\) .*peak_handshakes=\([0-9]*\) peak_ssl=\([0-9]*\) evicted=\([0-9]*\).*/      capf-frontd held at most \2 TLS handshakes (--max-handshakes \1) and \3 SSL objects at once (\4 handshakes evicted)/p'
  fi

  if [ "$KIND" = "${CAS%% *}" ] && part bulk; then
    # bulk with unique authentication strings
    { echo "name,operation,auth"
      awk -v b=$base -v n="$NU" 'BEGIN { for (i = 0; i < n; i++) printf "SEP%012X,install,string\n", b + i }'
    } >"$T_TMP/unique.csv"
    base=$((base + NU))
    t0=$(ms)
    if "${CTL[@]}" bulk --csv "$T_TMP/unique.csv" --unique-auth-strings "$T_TMP/strings.csv" >"$T_TMP/bulk.out" 2>&1; then
      t1=$(ms)
      awk -v n="$NU" -v t=$((t1 - t0)) 'BEGIN { printf "  capfctl bulk, %d devices with unique authentication strings: %.1f s (target < 60 s: %s)\n", n, t / 1000, t < 60000 ? "met" : "not met" }'
    else
      echo "  bench_capacity: bulk --unique-auth-strings failed"; tail -3 "$T_TMP/bulk.out"; rc=1
    fi
    # the store up to NS devices, through capfctl bulk
    more=$((NS - N64 - N512 - NB - NU))
    if [ "$more" -gt 0 ]; then
      t0=$(ms)
      { echo "name,operation,auth,key_order"
        awk -v b=$((0x900000)) -v n="$more" 'BEGIN { for (i = 0; i < n; i++) printf "SEP%012X,%s,null,ec-rsa\n", b + i, i % 3 ? "none" : "install" }'
      } >"$T_TMP/fill.csv"
      "${CTL[@]}" bulk --csv "$T_TMP/fill.csv" >"$T_TMP/bulk.out" 2>&1 || { echo "  bench_capacity: filling the store failed"; tail -3 "$T_TMP/bulk.out"; rc=1; }
      echo "  capfctl bulk of $more more devices (store: $NS devices): $(( ($(ms) - t0) )) ms"
    fi
    for q in "report --format csv" "report --format json" "report --status pending" \
             "device list --op install" "device list --status upgrade-success --json" \
             "device list --pattern SEP00000090*" "device list --no-lsc --op install"; do
      read -r -a qa <<<"$q"
      t0=$(ms)
      if "${CTL[@]}" "${qa[@]}" >"$T_TMP/q.out" 2>&1; then
        t=$(( $(ms) - t0 ))
        case $q in report*) tgt=2000 ;; *) tgt=1000 ;; esac
        awk -v q="$q" -v t="$t" -v g="$tgt" -v l="$(wc -l <"$T_TMP/q.out")" -v n="$NS" 'BEGIN {
          printf "  capfctl %s over %d devices: %d ms, %d lines (target < %d ms: %s)\n", q, n, t, l, g, t < g ? "met" : "not met" }'
      else
        echo "  bench_capacity: capfctl $q failed"; tail -3 "$T_TMP/q.out"; rc=1
      fi
    done
  fi
  down
  D=
done
exit $rc
