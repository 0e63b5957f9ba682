#!/usr/bin/env bash
# The Debian package end to end, as root (skipped otherwise): `make deb` (lintian
# without error), dpkg -i, the layout, systemd-analyze verify/security of the units,
# the first-run sequence of docs/INSTALL.md, both daemons started exactly as the
# units' ExecStart lines say (systemd is not PID 1 in CI: RuntimeDirectory and
# StateDirectory made as the unit would, User=/Group= applied, readiness read from a
# NOTIFY_SOCKET, stderr as a journal stream), a phone enrolled with the installed
# capf-phone, the store backed up and the copy verified (when capfctl has `backup`),
# then dpkg --purge leaves none of the package's files, /etc/capf nor /var/lib/capf.
# Other tests use build/ with explicit provider paths, so the installed copy does
# not change them; the package is purged at the end whatever happens.
. tests/lib.sh
declare -F skips >/dev/null || skips() { shift; echo "skip - $* (not run here)"; }

if [ "$(id -u)" -ne 0 ]; then
  skips 1 "package test: needs root (dpkg -i)"
  finish
fi
# one package test at a time on this machine (it installs system-wide)
mkdir -p /run/lock
exec 9>/run/lock/capf-package-test.lock
flock -w 900 9 || { not_ok "another package test holds /run/lock/capf-package-test.lock"; finish; }
if dpkg-query -W -f='${Status}' capf-appliance 2>/dev/null | grep -q installed; then
  if [ -e /run/lock/capf-package-test.installed ]; then
    dpkg --purge capf-phone capf-appliance >/dev/null 2>&1 || true     # a crashed run's leftovers
  else
    skips 1 "package test: capf-appliance is installed on this machine; not touching it"
    finish
  fi
fi
for d in /etc/capf /var/lib/capf /run/capf; do
  if [ -e "$d" ]; then skips 1 "package test: $d exists on this machine; not touching it"; finish; fi
done

SIGNER_PID= FRONT_PID= NOTIFY_PID= INSTALLED=
pkg_cleanup() {
  local p
  for p in $FRONT_PID $SIGNER_PID $NOTIFY_PID; do kill "$p" 2>/dev/null; done
  for p in $FRONT_PID $SIGNER_PID $NOTIFY_PID; do wait "$p" 2>/dev/null; done
  if [ -n "$INSTALLED" ]; then
    dpkg --purge capf-phone capf-appliance >/dev/null 2>&1
    rm -f /run/lock/capf-package-test.installed
  fi
}
on_exit pkg_cleanup

# ---- build and lint
check "make deb (lintian: no error)" scripts/make-deb
sed 's/^/    /' "$T_TMP/last.out" | grep -E 'lintian:|built:'
version=$(cat VERSION)
arch=$(dpkg --print-architecture)
DEB=build/deb/capf-appliance_${version}_${arch}.deb
PHONE_DEB=build/deb/capf-phone_${version}_${arch}.deb
check "capf-appliance_${version}_${arch}.deb built" test -s "$DEB"
check "its version is VERSION" test "$(dpkg-deb -f "$DEB" Version)" = "$version"
[ -s "$DEB" ] && [ -s "$PHONE_DEB" ] || finish

# ---- install
touch /run/lock/capf-package-test.installed
INSTALLED=1
check "dpkg -i" env DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB" "$PHONE_DEB"
dpkg -L capf-appliance capf-phone >"$T_TMP/files" 2>/dev/null
modules=$(openssl version -m | sed -E 's/^MODULESDIR: "(.*)"$/\1/')
for f in /usr/sbin/capf-signerd /usr/sbin/capf-frontd /usr/bin/capfctl /usr/bin/capf-ceremony \
         /usr/bin/capf-token /usr/bin/capf-phone "$modules/capfhsm.so" \
         /usr/share/bash-completion/completions/capfctl /lib/systemd/system/capf-signerd.service \
         /lib/systemd/system/capf-frontd.service; do
  check "installed: $f" test -e "$f"
done
# Before the first run its settings are valid and only the files the first run makes are
# missing (--check-config also tries every file it names, as capf-signer); after the first
# run it passes whole (below).
capf-signerd --check-config /etc/capf/capf.conf >"$T_TMP/cc0.out" 2>&1
check "the shipped capf.conf: --check-config exits 1 before the first run" test $? = 1
check_grep "  ... it names the PIN file the first run makes" "token.pin_source: /var/lib/capf/token.pin: does not exist" "$T_TMP/cc0.out"
check "  ... and nothing but missing files (no setting refused)" \
  bash -c "! grep -vE 'does not exist|: note: |: not usable \\(see above\\)' '$T_TMP/cc0.out'"
check "/etc/capf/capf.conf is a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' capf-appliance | grep -q ' /etc/capf/capf.conf '"
check "users capf-signer and capf-front, group capf" sh -c 'getent passwd capf-signer && getent passwd capf-front && id -nG capf-signer | grep -qw capf && id -nG capf-front | grep -qw capf'
if command -v man >/dev/null; then
  for m in capf-signerd.8 capf-frontd.8 capfctl.1 capf-ceremony.1 capf-token.1 capf-phone.1 capf.conf.5 capf-appliance.7; do
    check "man page ${m%.*}(${m##*.})" man -w "${m##*.}" "${m%.*}"
  done
else
  check "man pages installed" test "$(grep -c '^/usr/share/man/man[1578]/capf' "$T_TMP/files")" -eq 8
fi

# ---- the units
U=/lib/systemd/system
systemd-analyze verify "$U/capf-signerd.service" "$U/capf-frontd.service" >"$T_TMP/verify.out" 2>&1
check "systemd-analyze verify: clean" test ! -s "$T_TMP/verify.out"
sed 's/^/    /' "$T_TMP/verify.out"
for u in capf-signerd capf-frontd; do
  e=$(systemd-analyze security --offline=yes "$U/$u.service" 2>/dev/null | sed -nE 's/.*Overall exposure level for .*: ([0-9.]+) .*/\1/p')
  echo "    systemd-analyze security $u.service: exposure ${e:-?}"
  check "$u.service exposure ${e:-?} <= 2.0" awk -v e="${e:-99}" 'BEGIN { exit !(e <= 2.0) }'
done

# unit_get UNIT KEY: the value of KEY= in the unit (the last one)
unit_get() { sed -nE "s/^$2=(.*)$/\1/p" "$U/$1.service" | tail -1; }

# ---- first run (docs/INSTALL.md, capf-appliance(7))
PORT=$(free_port)
first_run() {
  install -d -o capf-signer -g capf -m 0700 /var/lib/capf &&
  cp /usr/share/capf-appliance/ceremony.conf /etc/capf/ceremony.conf &&
  runuser -u capf-signer -- capf-ceremony --dir /var/lib/capf /etc/capf/ceremony.conf &&
  install -m 0644 /var/lib/capf/ceremony/capf-ca.pem /etc/capf/capf-ca.pem &&
  echo SOFTHSM2_CONF=/var/lib/capf/softhsm/softhsm2.conf >/etc/capf/token.env &&
  sed -i "s/^  front_uids = \[\];/  front_uids = [ $(id -u capf-front) ];/" /etc/capf/capf.conf &&
  sed -i "s/^  listen = \"0.0.0.0:3804\";/  listen = \"127.0.0.1:$PORT\";/" /etc/capf/capf.conf &&   # the test's port
  capf-signerd --check-config /etc/capf/capf.conf
}
check "first run: ceremony, capf.conf, --check-config" first_run
check_grep "capf.conf: front_uids set" "front_uids = \[ $(id -u capf-front) \]" /etc/capf/capf.conf

# A NOTIFY_SOCKET listener: every datagram, one per line, into FILE.
notify_listen() {
  python3 - "$1" "$2" <<'PY' &
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
open(out + ".bound", "w").close()
while True:
    d = s.recv(4096)
    with open(out, "a") as f:
        f.write(d.decode(errors="replace") + "\n")
PY
  NOTIFY_PID="$NOTIFY_PID $!"
  wait_for 5 test -e "$2.bound"
}

# start_unit NAME: the unit's ExecStart, as its User=/Group=/SupplementaryGroups=, with
# its RuntimeDirectory/StateDirectory, EnvironmentFile and UMask; NOTIFY_SOCKET and a
# JOURNAL_STREAM naming the log file (stderr). Sets STARTED_PID.
start_unit() {
  local u=$1 exec user group rdir rmode sdir smode envf umask_ envs=()
  exec=$(unit_get "$u" ExecStart); user=$(unit_get "$u" User); group=$(unit_get "$u" Group)
  rdir=$(unit_get "$u" RuntimeDirectory); rmode=$(unit_get "$u" RuntimeDirectoryMode)
  sdir=$(unit_get "$u" StateDirectory); smode=$(unit_get "$u" StateDirectoryMode)
  envf=$(unit_get "$u" EnvironmentFile); envf=${envf#-}; umask_=$(unit_get "$u" UMask)
  [ -n "$rdir" ] && install -d -o "$user" -g "${group:-$user}" -m "${rmode:-0755}" "/run/$rdir"
  [ -n "$sdir" ] && install -d -o "$user" -g "${group:-$user}" -m "${smode:-0755}" "/var/lib/$sdir"
  [ -n "$envf" ] && [ -r "$envf" ] && mapfile -t envs < <(grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$envf")
  notify_listen "$T_TMP/$u.notify" "$T_TMP/$u.notified" || return 1
  : >"$T_TMP/$u.log"
  (
    umask "${umask_:-0022}"
    exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "${envs[@]}" \
      NOTIFY_SOCKET="$T_TMP/$u.notify" JOURNAL_STREAM="$(stat -c '%d:%i' "$T_TMP/$u.log")" \
      setpriv --reuid="$user" --regid="${group:-$user}" --init-groups -- $exec \
      </dev/null >>"$T_TMP/$u.log" 2>&1
  ) &
  STARTED_PID=$!
}

check "capf-signerd: started as its unit says" start_unit capf-signerd
SIGNER_PID=$STARTED_PID
check "capf-signerd: READY=1 through NOTIFY_SOCKET" wait_log 60 "$T_TMP/capf-signerd.notified" '^READY=1$'
ids() { awk '/^Uid:/ { u = $2 } /^Gid:/ { g = $2 } END { print u, g }' "/proc/$1/status"; }
check "capf-signerd: runs as capf-signer, group capf" \
  test "$(ids "$SIGNER_PID")" = "$(id -u capf-signer) $(getent group capf | cut -d: -f3)"
check_grep "capf-signerd: journal lines carry <N>, no timestamp" '^<[0-7]>level=[a-z]+ event=started' "$T_TMP/capf-signerd.log"
check_nogrep "capf-signerd: no timestamp on the journal" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$T_TMP/capf-signerd.log"
check "/run/capf: 0750 capf-signer:capf" test "$(stat -c '%a %U %G' /run/capf)" = "750 capf-signer capf"
check "capfctl ping" capfctl ping

tls_setup() {
  (umask 077; openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out /etc/capf/capf-tls.key) &&
  chown capf-front: /etc/capf/capf-tls.key &&
  openssl pkey -in /etc/capf/capf-tls.key -pubout -out /etc/capf/capf-tls.pub.pem &&
  capfctl tls issue --pubkey /etc/capf/capf-tls.pub.pem --out /etc/capf/capf-tls.pem \
    --cn capf.test --dns capf.test --ip 127.0.0.1 --yes &&
  chmod 0644 /etc/capf/capf-tls.pem
}
check "capfctl tls issue" tls_setup

check "capf-frontd: started as its unit says" start_unit capf-frontd
FRONT_PID=$STARTED_PID
check "capf-frontd: READY=1 through NOTIFY_SOCKET" wait_log 30 "$T_TMP/capf-frontd.notified" '^READY=1$'
check "capf-frontd: runs as capf-front" test "$(ids "$FRONT_PID")" = "$(id -u capf-front) $(id -g capf-front)"
check "capf-frontd: NOTIFY_SOCKET gone from its environment" \
  sh -c "! tr '\0' '\n' </proc/$FRONT_PID/environ | grep -q '^NOTIFY_SOCKET='"
check_grep "capf-frontd: journal lines carry <N>" '^<[0-7]>level=[a-z]+ event=started' "$T_TMP/capf-frontd.log"

# ---- a phone, with the installed programs
check "capfctl device add" capfctl device add SEP00112233AABB --op install --auth null --key-order ec-rsa
check "capf-phone enrolls" capf-phone --port "$PORT" --capf-cert /etc/capf/capf-tls.pem \
  --name SEP00112233AABB --out-cert "$T_TMP/lsc.pem" --out-key "$T_TMP/lsc.key"
check "the LSC verifies against the CAPF CA" openssl verify -CAfile /etc/capf/capf-ca.pem "$T_TMP/lsc.pem"
capfctl report --format json >"$T_TMP/report.json" 2>&1
check_grep "report: the phone" 'SEP00112233AABB' "$T_TMP/report.json"

# ---- the provider from OpenSSL's module directory, no -provider-path
provider_cli() {
  runuser -u capf-signer -- env SOFTHSM2_CONF=/var/lib/capf/softhsm/softhsm2.conf \
    openssl req -new -x509 -provider capfhsm -provider default -days 1 -subj /CN=provider-test \
    -key 'pkcs11:token=capf;object=capf-ca;pin-source=file:/var/lib/capf/token.pin' >"$T_TMP/prov.pem" &&
  [ "$(openssl x509 -in "$T_TMP/prov.pem" -noout -pubkey)" = "$(openssl x509 -in /etc/capf/capf-ca.pem -noout -pubkey)" ]
}
check "openssl -provider capfhsm (no -provider-path) signs with the CA key" provider_cli

# ---- backup (capfctl backup, when this capfctl has it)
if capfctl backup --help >/dev/null 2>&1; then
  B=/var/lib/capf/package-test-backup.db
  check "capfctl backup --out" capfctl backup --out "$B"
  check "backup: 0600" test "$(stat -c %a "$B")" = 600
  check "backup: integrity_check ok" test "$(sqlite3 "file:$B?mode=ro" 'PRAGMA integrity_check;')" = ok
  check "backup: holds the phone" test "$(sqlite3 "file:$B?mode=ro" "SELECT count(*) FROM devices WHERE name = 'SEP00112233AABB';")" = 1
else
  skips 4 "capfctl backup: not in this capfctl"
fi

# ---- stop as systemd would (SIGTERM), then purge
kill -TERM "$FRONT_PID" "$SIGNER_PID"
wait "$FRONT_PID"; rc_front=$?
wait "$SIGNER_PID"; rc_signer=$?
FRONT_PID= SIGNER_PID=
check "capf-frontd stops cleanly on SIGTERM" test "$rc_front" = 0
check "capf-signerd stops cleanly on SIGTERM" test "$rc_signer" = 0
check "capf-signerd: STOPPING=1" wait_log 5 "$T_TMP/capf-signerd.notified" '^STOPPING=1$'

check "dpkg --purge" dpkg --purge capf-phone capf-appliance
INSTALLED=
rm -f /run/lock/capf-package-test.installed
left=
while read -r f; do
  [ -d "$f" ] && continue     # directories (/usr/bin, /lib -> usr/lib, ...) are shared
  [ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done <"$T_TMP/files"
check "purge: none of the package's files left${left:+ (left:$left)}" test -z "$left"
for d in /etc/capf /var/lib/capf "$modules/capfhsm.so" /usr/lib/capf-appliance /usr/share/capf-appliance; do
  check "purge: $d gone" test ! -e "$d"
done
check "purge: the users stay (Debian practice)" getent passwd capf-signer capf-front
finish
