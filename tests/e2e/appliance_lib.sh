# Helpers for the end-to-end tests of the whole appliance (source after tests/lib.sh).
#   app_up [ARGS]      scripts/appliance-local up $T_TMP/app on a free port; sets its variables
#                      (CAPF_E2E_HSM=p11-kit: the token through p11-kit's server and client module)
#   app_down           stops both daemons (also done at exit)
#   phone ARGS...      capf-phone against the instance (pinned to CAPF_CERT)
#   phone_rc RC WHAT ARGS...   runs capf-phone and checks its exit code
#   check_status NAME STATUS   the device's status in `capfctl report --format json`
#   mk_pki / mk_mic NAME       a manufacturing CA and a MIC for NAME signed by it
APP=$T_TMP/app
LOCAL=$PWD/scripts/appliance-local

app_down() { appliance_down "$APP"; }
on_exit app_down

app_up() {
  [ -n "${APP_PORT:-}" ] || APP_PORT=$(free_port)
  if ! BUILD=$BUILD "$LOCAL" up "$APP" --port "$APP_PORT" ${CAPF_E2E_HSM:+--hsm "$CAPF_E2E_HSM"} "$@" \
       >"$T_TMP/up.env" 2>"$T_TMP/up.err"; then
    cat "$T_TMP/up.err" >&2
    for f in "$APP"/logs/*.log; do echo "== $f" >&2; tail -n 15 "$f" >&2; done
    return 1
  fi
  set -a
  # shellcheck disable=SC1090
  . "$T_TMP/up.env"
  set +a
  read -r -a CTL <<<"$CAPFCTL"
}

phone() { "$BIN/capf-phone" --host "$CAPF_HOST" --port "$CAPF_PORT" --capf-cert "$CAPF_CERT" --timeout 60 "$@"; }

phone_rc() {
  local want=$1 what=$2 rc; shift 2
  phone "$@" >"$T_TMP/phone.out" 2>&1
  rc=$?
  if [ "$rc" = "$want" ]; then
    ok "$what"
  else
    not_ok "$what (capf-phone exit $rc, expected $want)"
    sed 's/^/    /' "$T_TMP/phone.out" | tail -8
    tail -n 4 "$APP/logs/frontd.log" "$APP/logs/signerd.log" | sed 's/^/    /'
  fi
}

status_of() {
  "${CTL[@]}" report --format json 2>/dev/null | "$PY" -c '
import json, sys
for d in json.load(sys.stdin):
    if d["name"] == sys.argv[1]:
        print(d["status"])
' "$1"
}

check_status() {
  local got
  got=$(status_of "$1")
  if [ "$got" = "$2" ]; then ok "$1: report says \"$2\""; else not_ok "$1: report says \"$got\", expected \"$2\""; fi
}

# check_lsc NAME PEM KEYDESC: the LSC chains to the CAPF CA, names the device, has the key asked for
check_lsc() {
  local n=$1 pem=$2 want=$3
  check "$n: LSC verifies against the CAPF CA" ossl verify -CAfile "$CAPF_CA_CERT" "$pem"
  ossl x509 -in "$pem" -noout -subject -text >"$T_TMP/lsc.txt" 2>&1
  check_grep "$n: subject CN is the device name" "subject=.*CN *= *$n\$" "$T_TMP/lsc.txt"
  check_grep "$n: key is $want" "$want" "$T_TMP/lsc.txt"
}

mk_pki() {
  mkdir -p "$T_TMP/pki"
  ossl req -x509 -newkey rsa:2048 -nodes -keyout "$T_TMP/pki/mfg.key" -out "$T_TMP/pki/mfg.pem" \
    -subj "/O=Test Manufacturer/CN=Test Manufacturing CA" -days 30 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1
}

mk_mic() {
  local n=$1 spec=${2:-rsa:2048}
  ossl req -new -newkey "$spec" -nodes -keyout "$T_TMP/pki/$n.mic.key" -out "$T_TMP/pki/$n.csr" \
    -subj "/O=Test Manufacturer/CN=$n" >/dev/null 2>&1
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >"$T_TMP/pki/ext"
  ossl x509 -req -in "$T_TMP/pki/$n.csr" -CA "$T_TMP/pki/mfg.pem" -CAkey "$T_TMP/pki/mfg.key" \
    -CAcreateserial -days 30 -out "$T_TMP/pki/$n.mic.pem" -extfile "$T_TMP/pki/ext" >/dev/null 2>&1
  chmod 0600 "$T_TMP/pki/$n.mic.key"
}
