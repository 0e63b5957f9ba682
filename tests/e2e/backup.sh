#!/usr/bin/env bash
# capfctl backup --out FILE against a running appliance: copies taken while phones
# enroll are consistent, complete (as of their moment), 0600, integrity-checked and
# audit-verified; a store whose audit chain was tampered with gives no backup; existing
# files are never replaced and a failure leaves nothing behind; only admin uids may ask;
# a copy restores (the daemon starts on it, the chain is intact, the devices are there).
. tests/lib.sh
. tests/e2e/appliance_lib.sh

check "appliance-local up" app_up || finish
ctl() { "${CTL[@]}" "$@"; }
DB=$APP/signer/db/capf.db
B=$T_TMP/backups
mkdir -m 0700 "$B"
AS_SIGNER=()
[ "$(id -u)" = 0 ] && AS_SIGNER=(setpriv --reuid capf-signer --regid capf-signer --clear-groups)
count_in() { sqlite3 -readonly "$1" "$2" 2>/dev/null; }

# ---- backups while phones enroll ---------------------------------------------
N=160
{ echo "name,operation,auth,key_order"; for i in $(seq 0 $((N - 1))); do printf 'SEP%012X,install,null,ec\n' $((0xBA0000 + i)); done; } >"$T_TMP/load.csv"
check "$N devices scheduled in bulk" ctl bulk --csv "$T_TMP/load.csv"
"$BIN/capf-phone" --host "$CAPF_HOST" --port "$CAPF_PORT" --capf-cert "$CAPF_CERT" --timeout 60 \
  --load $N --concurrency 8 --name-pattern 'SEP%012X' --first $((0xBA0000)) --keys ec:P-256 --json \
  >"$T_TMP/load.out" 2>&1 &
LOAD=$!
T_PIDS+=("$LOAD")
during=0
for i in 1 2 3 4; do
  ctl backup --out "$B/during-$i.db" --json >"$T_TMP/b$i.json" 2>"$T_TMP/b$i.err" || { not_ok "backup $i during the load"; cat "$T_TMP/b$i.err"; continue; }
  kill -0 "$LOAD" 2>/dev/null && during=$((during + 1))
done
wait "$LOAD"
check "the load itself: exit 0 (every enrollment succeeded while backups ran)" test $? = 0
check_grep "  ... $N successes" "\"success\":$N,.*\"failures\":0" "$T_TMP/load.out"
echo "    ($during of 4 backups finished while the load was still running)"
check "at least one backup was taken while phones were enrolling" test "$during" -ge 1
for i in 1 2 3 4; do
  f=$B/during-$i.db
  [ -s "$f" ] || { not_ok "backup $i exists"; continue; }
  check "backup $i: mode 0600, owned by the caller" test "$(stat -c '%a %u' "$f")" = "600 $(id -u)"
  check "backup $i: SQLite integrity_check says ok (checked here again)" test "$(count_in "$f" 'PRAGMA integrity_check')" = ok
  check "backup $i: one file (rollback journal, no -wal needed)" test "$(count_in "$f" 'PRAGMA journal_mode')" = delete
  check "backup $i: every scheduled device is in it" test "$(count_in "$f" "SELECT count(*) FROM devices WHERE name LIKE 'SEP000000BA%'")" = $N
  # consistent: a device marked Upgrade Success (2) has its current LSC recorded in the same copy
  check "backup $i: every successful device's LSC is in it" test "$(count_in "$f" \
    "SELECT count(*) FROM devices d WHERE d.name LIKE 'SEP000000BA%' AND d.status = 2 AND NOT EXISTS (SELECT 1 FROM issuances i WHERE i.device = d.name AND i.state IN ('issued','delivered'))")" = 0
  echo "    (backup $i: $(count_in "$f" "SELECT count(*) FROM devices WHERE name LIKE 'SEP000000BA%' AND status = 2") of $N enrolled at its moment)"
  check "backup $i: the JSON names the file, its size and SHA-256" \
    "$PY" -c 'import json,sys,hashlib,os; d=json.load(open(sys.argv[1])); assert d["file"]==sys.argv[2] and d["bytes"]==os.path.getsize(sys.argv[2]) and d["sha256"]==hashlib.sha256(open(sys.argv[2],"rb").read()).hexdigest() and d["audit_rows"]>0, d' "$T_TMP/b$i.json" "$f"
done
ls "$B" >"$T_TMP/ls.out"
check_nogrep "no partial file left next to the backups" "partial" "$T_TMP/ls.out"
ls -a "$APP/signer/db" >"$T_TMP/ls.out" 2>/dev/null || "${AS_SIGNER[@]}" ls -a "$APP/signer/db" >"$T_TMP/ls.out"
check_nogrep "no snapshot left beside the store" "backup" "$T_TMP/ls.out"
check "the daemon logged each backup" test "$(grep -c 'event=backup ' "$APP/logs/signerd.log")" -ge 4
check "and audited it (admin action \"backup\")" test "$("${AS_SIGNER[@]}" sqlite3 -readonly "$DB" "SELECT count(*) FROM audit WHERE action='backup'")" -ge 4

# ---- the final copy equals the store --------------------------------------------
check "a backup after the load" ctl backup --out "$B/after.db"
check_grep "  ... says what it checked" "integrity check; its audit chain is intact" "$T_TMP/last.out"
check "  ... all $N LSCs are in it" test "$(count_in "$B/after.db" "SELECT count(*) FROM devices WHERE name LIKE 'SEP000000BA%' AND status = 2")" = $N

# ---- refusals: nothing replaced, nothing left ---------------------------------
echo keep >"$T_TMP/exists.db"
check_fails "an existing FILE is refused" ctl backup --out "$T_TMP/exists.db"
check_grep "  ... saying so" "exists: choose a new file" "$T_TMP/last.out"
check "  ... and left as it was" test "$(cat "$T_TMP/exists.db")" = keep
"${CTL[@]}" backup >"$T_TMP/u.out" 2>&1
check "no --out: usage error (exit 2)" test $? = 2
check_fails "a FILE in a missing folder: refused" ctl backup --out "$T_TMP/nope/x.db"
check "  ... nothing created" test ! -e "$T_TMP/nope"
if [ "$(id -u)" = 0 ]; then
  setpriv --reuid capf-front --regid capf-front --clear-groups "${CTL[@]}" backup --out "/tmp/capf-front-backup.$$" >"$T_TMP/f.out" 2>&1
  rc=$?
  check "capf-front (not an admin uid) gets no backup (exit 3: cannot reach the admin socket)" test "$rc" = 3
  check "  ... and no file" test ! -e "/tmp/capf-front-backup.$$"
else
  skips 2 "another uid gets no backup (needs root to be another user)"
fi

# ---- tampering: a store whose audit chain is broken gives no backup ------------
app_down
cp "$DB" "$T_TMP/db.before-tamper"
"${AS_SIGNER[@]}" sqlite3 "$DB" "DROP TRIGGER audit_no_update; UPDATE audit SET detail = detail || ' (edited)' WHERE id = 3;" 2>"$T_TMP/sq.err"
check "the audit trail edited behind the daemon's back" test $? = 0
check "appliance-local up (on the tampered store)" app_up
ctl backup --out "$B/tampered.db" >"$T_TMP/t.out" 2>&1
check "backup of a tampered store: exit 1" test $? = 1
check_grep "  ... because the audit chain of the copy is broken" "audit chain .* is broken \\(row 3\\)" "$T_TMP/t.out"
check "  ... and no FILE" test ! -e "$B/tampered.db"
ls "$B" >"$T_TMP/ls.out"
check_nogrep "  ... nor a partial one" "partial" "$T_TMP/ls.out"
"${AS_SIGNER[@]}" ls -a "$APP/signer/db" >"$T_TMP/ls.out"
check_nogrep "  ... nor a snapshot beside the store" "backup" "$T_TMP/ls.out"
check_grep "  ... the daemon logged why" "event=backup_failed" "$APP/logs/signerd.log"

# ---- restore: stop, put the copy in store.path, start ------------------------------
app_down
"${AS_SIGNER[@]}" rm -f "$DB" "$DB-wal" "$DB-shm"
install -m 0600 "$B/after.db" "$DB"
[ "$(id -u)" = 0 ] && chown capf-signer: "$DB"
check "appliance-local up on the restored copy" app_up
check "  ... the audit chain is intact" ctl audit verify
check "  ... the devices are back" test "$(ctl device list --json | "$PY" -c 'import json,sys; print(sum(1 for d in json.load(sys.stdin) if d["name"].startswith("SEP000000BA")))')" = $N
check "  ... a backup of the restored store works" ctl backup --out "$B/restored.db"
app_down
check_grep "capf-signerd stopped cleanly" "event=stopped status=0" "$APP/logs/signerd.log"
check_nogrep "no sanitizer or leak report in capf-signerd's log" "LeakSanitizer|AddressSanitizer|runtime error" \
  "$APP/logs/signerd.log"
finish
