#!/usr/bin/env bash
# The audit trail that root cannot rewrite, and authentication strings
# that a stolen database does not give away. Against a whole appliance
# (scripts/appliance-local: its first run creates the audit key and the HMAC key):
#  - every admin change is covered by a checkpoint signed by the audit key;
#    `capfctl audit verify --pubkey` checks them with the exported public key;
#  - the attack: drop the trigger, edit a row, recompute every hash and the head
#    with sqlite3 (what root can do): the unkeyed check says "intact", the
#    signed one names the checkpoint that no longer matches and the first bad row;
#  - deleted checkpoints, a forged signature, another public key: all reported;
#  - `capfctl audit show` (--json schema, RFC 3339 UTC, --device, --since);
#  - strings are stored as a 48-byte HMAC (no scrypt columns), a wrong string is
#    refused, the right one enrolls.
. tests/lib.sh
. tests/e2e/appliance_lib.sh

# rows the front end appends (no admin change) are signed within checkpoint_interval
export CAPF_CONF_EXTRA='audit = { checkpoint_rows = 1000000; checkpoint_interval = 2; };'
check "appliance-local up (first run: ceremony with audit and HMAC keys)" app_up
DB=$APP/signer/db/capf.db
PUB=$CAPF_AUDIT_PUBKEY
O=$T_TMP/out
mkdir -p "$O"
check "the audit public key was exported beside the CA certificate" test -s "$PUB"
check "it is a public key" openssl pkey -pubin -in "$PUB" -noout

secret_file "$T_TMP/s1" 73591
secret_file "$T_TMP/bad" 11111
check "device with an authentication string" "${CTL[@]}" device add SEP00000000A001 --op install \
  --auth string --auth-string-file "$T_TMP/s1"
check "a second device" "${CTL[@]}" device add SEP00000000A002 --op install --auth null
check "a third change" "${CTL[@]}" device set SEP00000000A002 --op none

# ---- the HMAC in the store
"$PY" - "$DB" >"$O/auth.txt" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
kdf, h, mac = db.execute("SELECT auth_kdf, auth_hash, auth_mac FROM devices WHERE name='SEP00000000A001'").fetchone()
print("kdf=%s hash=%s mac=%d" % (kdf, h, len(mac) if mac else 0))
PY
check_grep "the string is stored as salt+HMAC (48 bytes), no scrypt hash" "^kdf=None hash=None mac=48$" "$O/auth.txt"
phone_rc 12 "a wrong authentication string is refused" --name SEP00000000A001 --auth string \
  --auth-string-file "$T_TMP/bad"
phone_rc 0 "the right one enrolls (checked by the token's HMAC)" --name SEP00000000A001 --auth string \
  --auth-string-file "$T_TMP/s1"

# ---- signed checkpoints
unsigned_rows() {
  "${CTL[@]}" audit verify --pubkey "$PUB" --json 2>/dev/null | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["unsigned_rows"])'
}
signed_soon() {   # the enrollment's rows: signed by the interval checkpoint (2 s)
  for _ in 1 2 3 4 5 6 7 8 9 10; do [ "$(unsigned_rows)" = 0 ] && return 0; sleep 1; done
  return 1
}
check "the enrollment's rows are signed within audit.checkpoint_interval" signed_soon
check_grep "  ...by a checkpoint that was due, not forced" "event=audit_checkpoint .*forced=0" \
  "$APP/logs/signerd.log"
check "audit verify --pubkey: intact" "${CTL[@]}" audit verify --pubkey "$PUB"
"${CTL[@]}" audit verify --pubkey "$PUB" --json >"$O/v.json" 2>&1
"$PY" - "$O/v.json" >"$O/v.txt" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
print("schema=%s intact=%s signed=%s rows=%s cps=%s" % (v["schema"], v["intact"],
      v["last_signed_row"] >= 6, v["rows"] >= 6, v["checkpoints"] >= 3))
PY
check_grep "verify --json: schema, intact, the admin changes signed" \
  "^schema=1 intact=True signed=True rows=True cps=True$" "$O/v.txt"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$O/other.key" 2>/dev/null
openssl pkey -in "$O/other.key" -pubout -out "$O/other.pub" 2>/dev/null
check_fails "another public key: refused" "${CTL[@]}" audit verify --pubkey "$O/other.pub"
check_grep "  ...naming the checkpoint not signed by it" "checkpoint 1 .*not signed by this public key" \
  "$T_TMP/last.out"
check_fails "a file that is no public key: refused" "${CTL[@]}" audit verify --pubkey "$DB"

# ---- a long trail (more than one page of rows, and more than capfctl's first buffers)
{ echo "name,operation,auth"
  for ((i = 0; i < 9000; i++)); do printf 'SEP%012X,install,string\n' $((0xC00000 + i)); done; } >"$O/bulk.csv"
check "a bulk of 9,000 devices with unique strings" "${CTL[@]}" bulk --csv "$O/bulk.csv" \
  --unique-auth-strings "$O/strings.csv"
check "audit verify --pubkey over 9,000 more rows: intact, the bulk signed" \
  "${CTL[@]}" audit verify --pubkey "$PUB"
check_grep "  ...up to its last row" "rows 1\.\.([0-9]{4,}) are signed" "$T_TMP/last.out"

# ---- audit show
"${CTL[@]}" audit show --json >"$O/show.json" 2>&1
"$PY" - "$O/show.json" >"$O/show.txt" <<'PY'
import json, re, sys
s = json.load(open(sys.argv[1]))
rows = s["rows"]
ok_time = all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["time"]) for r in rows)
ids = [r["id"] for r in rows]
print("schema=%s times=%s ordered=%s add=%s" % (s["schema"], ok_time, ids == sorted(ids) and ids[0] == 1,
      any(r["action"] == "device.add" and r["subject"] == "SEP00000000A002" for r in rows)))
PY
check_grep "audit show --json: schema, RFC 3339 UTC times, every row" \
  "^schema=1 times=True ordered=True add=True$" "$O/show.txt"
"${CTL[@]}" audit show --device sep00000000a002 >"$O/dev.txt" 2>&1
check_grep "audit show --device: that device's rows" "device.update +SEP00000000A002" "$O/dev.txt"
check_nogrep "  ...and no other device's" "SEP00000000A001" "$O/dev.txt"
"${CTL[@]}" audit show --since 2999-01-01 --json >"$O/since.json" 2>&1
check_grep "audit show --since the future: no rows" '"rows": \[\]' "$O/since.json"
check_fails "audit show --since garbage: usage error" "${CTL[@]}" audit show --since yesterday

# ---- the attack: what root can do with sqlite3 on the database
cat >"$T_TMP/rewrite.py" <<'PY'
# Drops the trigger, edits one row, recomputes every hash from there and the head.
import hashlib, sqlite3, struct, sys
db = sqlite3.connect(sys.argv[1])
target = int(sys.argv[2])
db.execute("DROP TRIGGER IF EXISTS audit_no_update")
db.execute("UPDATE audit SET detail = ? WHERE id = ?", ("op=none auth=null (rewritten)", target))
def lp(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b
prev = b"\0" * 32
for (i, t, uid, role, action, subject, detail) in db.execute(
        "SELECT id, time, uid, role, action, subject, detail FROM audit ORDER BY id").fetchall():
    h = hashlib.sha256(prev + struct.pack(">qqq", i, t, uid) + lp(role) + lp(action) + lp(subject)
                       + lp(detail)).digest()
    db.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev, h, i))
    prev, last = h, i
db.execute("UPDATE meta SET value = ? WHERE key = 'capf.audit_head'", ("%d %s" % (last, prev.hex()),))
db.commit()
print(target)
PY
ROW=$("$PY" - "$DB" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT id FROM audit WHERE action='device.add' AND subject='SEP00000000A002'").fetchone()[0])
PY
)
check "root rewrites row $ROW and recomputes every hash and the head" "$PY" "$T_TMP/rewrite.py" "$DB" "$ROW"
check "the unkeyed chain check is fooled (says intact): what a bare hash chain cannot see" \
  "${CTL[@]}" audit verify
check_fails "audit verify --pubkey detects the rewrite" "${CTL[@]}" audit verify --pubkey "$PUB"
cp "$T_TMP/last.out" "$O/attack.txt"
check_grep "  ...naming the checkpoint that no longer matches" \
  "checkpoint [0-9]+ \(row [0-9]+, signed .*\) no longer matches the trail" "$O/attack.txt"
"${CTL[@]}" audit verify --pubkey "$PUB" --json >"$O/attack.json" 2>/dev/null
"$PY" - "$O/attack.json" "$ROW" >"$O/attack.res" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
row = int(sys.argv[2])
print("intact=%s first_bad_row=%s bad_checkpoint_set=%s in_range=%s" % (v["intact"], v["first_bad_row"] == row,
      v["bad_checkpoint"] is not None, v["bad_rows"][0] <= row <= v["bad_rows"][1]))
PY
check_grep "  ...and the first bad row is the edited one, inside bad_rows (JSON)" \
  "^intact=False first_bad_row=True bad_checkpoint_set=True in_range=True$" "$O/attack.res"

# ---- removing the evidence: every checkpoint deleted
"$PY" - "$DB" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("DROP TRIGGER IF EXISTS audit_checkpoints_no_delete")
db.execute("DELETE FROM audit_checkpoints")
db.commit()
PY
check_fails "checkpoints deleted: verify --pubkey fails" "${CTL[@]}" audit verify --pubkey "$PUB"
check_grep "  ...saying nothing is signed" "no signed checkpoint" "$T_TMP/last.out"
finish
