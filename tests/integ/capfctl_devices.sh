#!/usr/bin/env bash
# What a CUCM administrator does with devices, against the real
# capf-signerd on a real SoftHSM token and SQLite store, phones played by
# signerd-client on front.sock: Troubleshoot checks and keeps the fetched
# certificate (a self-signed one and another device's LSC refused, the device's
# LSC and a MIC accepted, `device cert` prints them), `device history` after
# install/fetch/delete/refusal, every `device list` filter, case-insensitive names,
# "locked out" and "deadline passed" in words, --expiring-within agreeing with DAYS,
# bulk --dry-run / every error in one pass / --progress / the auth_string column
# rule, and the JSON vocabulary (schema, RFC 3339 times, CSV names = JSON names).
. tests/lib.sh
D=$T_TMP
CTL=$BIN/capfctl
CL=$PWD/$BUILD/tests/signerd-client

mkdir -p "$D/tok" "$D/state" "$D/ca" "$D/mic" "$D/out"
make_capf_ca "$D" "$D/ca/ca.pem"
CA_FP=$(openssl x509 -in "$D/ca/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f')
# a manufacturing CA (mic.ca_dir) and a MIC for SEP00AA00000001 (Cisco style CN)
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$D/out/mfg.key" -out "$D/mic/mfg.pem" \
  -subj "/O=Test Manufacturer/CN=Test Manufacturing CA" -days 30 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" >/dev/null 2>&1
ossl req -new -newkey rsa:2048 -nodes -keyout "$D/out/mic.key" -out "$D/out/mic.csr" \
  -subj "/O=Test Manufacturer/CN=CP-8865-SEP00AA00000001" >/dev/null 2>&1
ossl x509 -req -in "$D/out/mic.csr" -CA "$D/mic/mfg.pem" -CAkey "$D/out/mfg.key" -CAcreateserial \
  -days 30 -out "$D/out/mic.pem" >/dev/null 2>&1
MFG_FP=$(openssl x509 -in "$D/mic/mfg.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr 'A-F' 'a-f')
# a self-signed certificate naming the device: not an LSC of ours
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$D/out/self.key" -out "$D/out/self.pem" \
  -subj "/CN=SEP00AA00000001" -days 30 >/dev/null 2>&1

signer_user "$D/tok" "$D/state" "$D/ca" "$D/mic"
signer_conf "$D" "$D/ca/ca.pem" 'keys: { rsa_bits = [2048, 3072]; ec_curves = ["P-256", "P-384"]; };' \
  'auth: { max_failed_attempts = 2; };' "mic: { ca_dir = \"$D/mic\"; };" 'signer: { workers = 2; sessions = 4; };'
sd_start
check "capf-signerd is up" test -S "$ADMIN"
[ -S "$ADMIN" ] || { tail -20 "$D/signerd.log"; finish; }
enroll() { "$CL" enroll "$FRONT" "$@"; }
store() { "${RUN_AS[@]}" "$CL" "$@"; }
# names FILE: the sorted device names of a `device list --json` / report JSON array
names() { $PY -c 'import json,sys; print(",".join(sorted(d["name"] for d in json.load(open(sys.argv[1])))))' "$1"; }
# list_is WHAT WANT ARGS...: `device list ARGS --json` names exactly WANT (comma-separated, sorted)
list_is() {
  local what=$1 want=$2 got; shift 2
  if ! c device list "$@" --json >"$D/l.json" 2>"$D/l.err"; then not_ok "$what (exit: $(cat "$D/l.err"))"; return; fi
  got=$(names "$D/l.json")
  if [ "$got" = "$want" ]; then ok "$what"; else not_ok "$what: got [$got], want [$want]"; fi
}
# rc_is CODE CMD...: passes when CMD exits with CODE (its output in last.out via check)
rc_is() { local want=$1; shift; "$@"; local got=$?; [ "$got" = "$want" ] || { echo "exit $got, wanted $want"; return 1; }; }
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }

for cmd in "device cert" "device history" "device list"; do
  # shellcheck disable=SC2086
  check "capfctl $cmd --help" "$CTL" $cmd --help
done

# ---- names are case-insensitive (upper-cased on input) -----------------------------
check "device add with a lower-case name" c device add sep00aa00000001 --op install --auth null --key-order rsa
check_grep "  ... stored upper-case" "^Device Name: +SEP00AA00000001$" "$T_TMP/last.out"
check "device show sep... finds SEP..." c device show sep00aa00000001
check "device list --pattern in lower case" c device list --pattern 'sep00aa*'
check_grep "  ... lists it" "^SEP00AA00000001 " "$T_TMP/last.out"
check "device set UNKNOWN is refused" rc_is 1 c device set SEP00AA0000FFFF --op none
check_grep "  ... naming the device (not an empty name)" "SEP00AA0000FFFF: no such device" "$T_TMP/last.out"

# ---- install, then Troubleshoot -----------------------------------------------------
check "enroll SEP00AA00000001 (install)" enroll SEP00AA00000001 --out "$D/out/lsc1.pem" --key-out "$D/out/lsc1.key"
check "device add SEP00AA00000002 (lsc-first, EC)" c device add SEP00AA00000002 --op install --auth lsc-first --key-order ec --curve P-256
check "  ... its first LSC with the null string" c device set SEP00AA00000002 --auth null
check "enroll SEP00AA00000002" enroll SEP00AA00000002 --out "$D/out/lsc2.pem" --key-out "$D/out/lsc2.key"
check "  ... back to lsc-first" c device set SEP00AA00000002 --auth lsc-first
check "device cert --lsc prints the current LSC" jout "$D/out/c-lsc.pem" c device cert SEP00AA00000001 --lsc
check "  ... the one issued" test "$(fp "$D/out/c-lsc.pem")" = "$(fp "$D/out/lsc1.pem")"
check "device cert before any Troubleshoot is refused" rc_is 1 c device cert SEP00AA00000001
check_grep "  ... saying how to get one" "no certificate was fetched.*--op fetch" "$T_TMP/last.out"

# a self-signed certificate naming the device: refused, kept, printed
check "schedule Troubleshoot" c device set SEP00AA00000001 --op fetch
enroll SEP00AA00000001 --outcome fetched --fetch-cert "$D/out/self.pem" >"$D/out/f1.out" 2>&1
check_grep "fetch (self-signed): the phone's part ends normally" "result=ok" "$D/out/f1.out"
check "device show" c device show SEP00AA00000001
check_grep "  ... Troubleshoot Failed" "Certificate Operation Status: Troubleshoot Failed: Invalid LSC" "$T_TMP/last.out"
check_grep "  ... with the reason" "^Last Troubleshoot: .*refused: the certificate chains neither to a CAPF CA" "$T_TMP/last.out"
check "device cert (fetched): the refused certificate is kept" jout "$D/out/c-self.pem" c device cert SEP00AA00000001 --fetched
check "  ... it is the self-signed one" test "$(fp "$D/out/c-self.pem")" = "$(fp "$D/out/self.pem")"
check_grep "  ... with the verdict and the reason" "refused: the certificate chains neither to a CAPF CA" "$D/out/c-self.pem.err"
check_grep "the signer logged the refusal" "event=fetch_refused device=SEP00AA00000001" "$D/signerd.log"

# another device's LSC (a CAPF CA's, but not naming this device): refused
check "schedule Troubleshoot" c device set SEP00AA00000001 --op fetch
enroll SEP00AA00000001 --outcome fetched --fetch-cert "$D/out/lsc2.pem" >/dev/null 2>&1
check "device cert" jout "$D/out/c-other.pem" c device cert SEP00AA00000001
check_grep "another device's LSC is refused: it does not name the device" "refused: .*does not name SEP00AA00000001" "$D/out/c-other.pem.err"

# its own LSC: Troubleshoot Success, stored and printed, --out FILE
check "schedule Troubleshoot" c device set SEP00AA00000001 --op fetch
enroll SEP00AA00000001 --outcome fetched --fetch-cert "$D/out/lsc1.pem" >/dev/null 2>&1
check "device show" c device show SEP00AA00000001
check_grep "  ... Troubleshoot Success" "Certificate Operation Status: Troubleshoot Success" "$T_TMP/last.out"
check "device cert --out FILE" c device cert SEP00AA00000001 --out "$D/out/fetched.pem"
check_grep "  ... accepted as an LSC of a CAPF CA" "accepted: an LSC from a CAPF CA naming the device" "$T_TMP/last.out"
check_grep "  ... issued by our CAPF CA" "^Issuer: .*CN=CAPF-test.*\\(SHA-256 $CA_FP\\)" "$T_TMP/last.out"
check "  ... the file holds the LSC the phone returned" test "$(fp "$D/out/fetched.pem")" = "$(fp "$D/out/lsc1.pem")"
check "  ... which openssl reads" ossl verify -CAfile "$D/ca/ca.pem" "$D/out/fetched.pem"

# a MIC (manufacturing CA, CN "CP-8865-<name>"): accepted
check "schedule Troubleshoot" c device set SEP00AA00000001 --op fetch
enroll SEP00AA00000001 --outcome fetched --fetch-cert "$D/out/mic.pem" >/dev/null 2>&1
check "device cert (a MIC)" jout "$D/out/c-mic.pem" c device cert SEP00AA00000001
check_grep "  ... accepted as a MIC" "accepted: a MIC from a manufacturing CA" "$D/out/c-mic.pem.err"
check "  ... the MIC itself" test "$(fp "$D/out/c-mic.pem")" = "$(fp "$D/out/mic.pem")"

# ---- delete, then the history -------------------------------------------------------------
check "schedule Delete" c device set SEP00AA00000001 --op delete
enroll SEP00AA00000001 --outcome deleted >/dev/null 2>&1
check "device show" c device show SEP00AA00000001
check_grep "  ... Delete Success" "Delete Success" "$T_TMP/last.out"
check "device cert --lsc after the delete is refused" rc_is 1 c device cert SEP00AA00000001 --lsc
check "  ... a phone answering Delete without an LSC" c device set SEP00AA00000001 --op delete
enroll SEP00AA00000001 --outcome delete-failed >/dev/null 2>&1
check "device show" c device show SEP00AA00000001
check_grep "  ... is Delete Failed: Invalid LSC, not a communication failure" "Delete Failed: Invalid LSC" "$T_TMP/last.out"

SERIAL1=$(openssl x509 -in "$D/out/lsc1.pem" -noout -serial | cut -d= -f2)
check "device history --json" jout "$D/h1.json" c device history sep00aa00000001 --json
check "  ... install, delivery, 4 fetches with their verdicts, delete, in order" $PY -c '
import json,sys,re
h=json.load(open(sys.argv[1])); serial=sys.argv[2].upper(); fp=sys.argv[3]
assert h["schema"]==1 and h["name"]=="SEP00AA00000001", h
ev=h["events"]; kinds=[e["event"] for e in ev]
t=re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
assert all(t.match(e["time"]) for e in ev), ev
assert [e["time"] for e in ev]==sorted(e["time"] for e in ev)
iss=[e for e in ev if e["event"]=="issued"]
assert len(iss)==1 and iss[0]["lsc_serial"].upper()==serial and iss[0]["lsc_issuer"]==fp, iss
assert re.match(r"^issued \(not after \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)$", iss[0]["outcome"]), iss
assert any(e["event"]=="delivered" and e["lsc_serial"].upper()==serial for e in ev), kinds
f=[e for e in ev if e["event"]=="fetched"]
assert [x["outcome"].split(":")[0] for x in f]==["refused","refused","accepted","accepted"], f
assert "chains neither" in f[0]["outcome"] and "does not name" in f[1]["outcome"], f
assert f[2]["lsc_serial"].upper()==serial and f[2]["lsc_issuer"]==fp, f[2]
assert f[0]["lsc_issuer"] is None and f[0]["issuer"]=="CN=SEP00AA00000001", f[0]
assert f[3]["lsc_issuer"]==sys.argv[4] and "Test Manufacturing CA" in f[3]["issuer"], f[3]
d=[e for e in ev if e["event"]=="deleted"]
assert len(d)==1 and d[0]["lsc_serial"].upper()==serial and d[0]["lsc_issuer"]==fp, d
order=[k for k in kinds if k in ("issued","fetched","deleted")]
assert order==["issued","fetched","fetched","fetched","fetched","deleted"], order
assert any(e["outcome"]=="Troubleshoot Failed: Invalid LSC" for e in ev), kinds
assert any(e["outcome"]=="Delete Failed: Invalid LSC" for e in ev), kinds
assert all(e["actor"] for e in ev)' "$D/h1.json" "$SERIAL1" "$CA_FP" "$MFG_FP"
check "device history (table)" c device history SEP00AA00000001
check_grep "  ... a table" "^TIME +EVENT +SERIAL +ISSUER +OUTCOME" "$T_TMP/last.out"
check_grep "  ... the issuance by serial" " issued +$SERIAL1 " "$T_TMP/last.out"

# ---- a refusal, a lockout, a passed deadline ------------------------------------------
secret_file "$D/out/a3" 48151623
secret_file "$D/out/wrong" 11112222
check "device add SEP00AA00000003 (authentication string)" c device add SEP00AA00000003 --op install --auth string --auth-string-file "$D/out/a3" --key-order rsa
for i in 1 2; do
  enroll SEP00AA00000003 --password-file "$D/out/wrong" >"$D/out/w$i.out" 2>&1
  check_grep "wrong string $i: refused" "refused cause=" "$D/out/w$i.out"
done
check "device show (locked out)" c device show SEP00AA00000003
check_grep "  ... says Locked Out in words" "^Locked Out: +yes" "$T_TMP/last.out"
check_grep "  ... and how to clear it" "locked out: clear it with .capfctl device reset-lockout" "$T_TMP/last.out"
check "device show --json (locked out)" jout "$D/s3.json" c device show SEP00AA00000003 --json
check "  ... locked_out true, deadline_passed false" $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["locked_out"] is True and d["deadline_passed"] is False and d["failed_attempts"]==2, d' "$D/s3.json"
check "report" c report
check_grep "  ... the report says locked out" "^SEP00AA00000003 .*; locked out" "$T_TMP/last.out"
check "device history (refusals)" jout "$D/h3.json" c device history SEP00AA00000003 --json
check "  ... two refusals" $PY -c 'import json,sys; e=json.load(open(sys.argv[1]))["events"]; r=[x for x in e if x["event"]=="refused"]; assert len(r)>=2 and any("Invalid Authentication String" in x["outcome"] for x in r), e' "$D/h3.json"

check "a device whose deadline passed two hours ago (store)" store device-add "$DB" SEP00AA00000004 install null --deadline-offset -7200
check "device show (deadline passed)" c device show SEP00AA00000004
check_grep "  ... says Deadline Passed in words" "^Deadline Passed: +yes" "$T_TMP/last.out"
check "report" c report
check_grep "  ... the report says deadline passed" "^SEP00AA00000004 .*Operation Pending; deadline passed" "$T_TMP/last.out"
check "report --format json" jout "$D/r.json" c report --format json
check "  ... deadline_passed and locked_out per device" $PY -c '
import json,sys; l={d["name"]:d for d in json.load(open(sys.argv[1]))}
assert l["SEP00AA00000004"]["deadline_passed"] and not l["SEP00AA00000004"]["locked_out"]
assert l["SEP00AA00000003"]["locked_out"] and not l["SEP00AA00000003"]["deadline_passed"]
assert not l["SEP00AA00000002"]["locked_out"] and not l["SEP00AA00000002"]["deadline_passed"]' "$D/r.json"

# ---- every list filter -------------------------------------------------------------------
check "device add SEP00AA00000005 (mic-first, ec-rsa, fetch)" c device add SEP00AA00000005 --op fetch --auth mic-first --key-order ec-rsa
list_is "no filter: all five" SEP00AA00000001,SEP00AA00000002,SEP00AA00000003,SEP00AA00000004,SEP00AA00000005
list_is "--status pending" SEP00AA00000004,SEP00AA00000005 --status pending
list_is "--status twice (either)" SEP00AA00000001,SEP00AA00000002,SEP00AA00000003 --status upgrade-success --status failed
# (SEP00AA00000001: Delete Failed, its delete still pending; 3: refused twice, its install pending)
list_is "--status failed" SEP00AA00000001,SEP00AA00000003 --status failed
list_is "--op install" SEP00AA00000003,SEP00AA00000004 --op install
list_is "--op fetch" SEP00AA00000005 --op fetch
list_is "--op none" SEP00AA00000002 --op none
list_is "--op delete" SEP00AA00000001 --op delete
list_is "--auth string" SEP00AA00000003 --auth string
list_is "--auth lsc-first" SEP00AA00000002 --auth lsc-first
list_is "--auth mic-first" SEP00AA00000005 --auth mic-first
list_is "--key-order ec" SEP00AA00000002 --key-order ec
list_is "--key-order ec-rsa" SEP00AA00000005 --key-order ec-rsa
list_is "--key-order rsa --auth null" SEP00AA00000001,SEP00AA00000004 --key-order rsa --auth null
list_is "--no-lsc" SEP00AA00000001,SEP00AA00000003,SEP00AA00000004,SEP00AA00000005 --no-lsc
list_is "--deadline-passed" SEP00AA00000004 --deadline-passed
list_is "--locked-out" SEP00AA00000003 --locked-out
list_is "--locked-out --deadline-passed: none" "" --locked-out --deadline-passed
list_is "--pattern and --no-lsc" SEP00AA00000004,SEP00AA00000005 --pattern 'sep00aa0000000[45]' --no-lsc
check "an unknown --status is a usage error" rc_is 2 c device list --status nonsense
check "device reset-lockout" c device reset-lockout sep00aa00000003
list_is "--locked-out after reset-lockout: none" "" --locked-out
# the table: the STATUS column is where the header says, for lsc-first too
c device list >"$D/list.txt" 2>/dev/null
check "device list (table): five rows" test "$(grep -c '^SEP' "$D/list.txt")" = 5
check "  ... STATUS aligned under its header for every row" awk '
NR==1 { col = index($0, "STATUS"); next }
/^SEP/ { if (substr($0, col - 1, 1) != " " || substr($0, col, 1) == " ") bad = 1 }
END { exit bad }' "$D/list.txt"

# ---- --expiring-within and DAYS agree ----------------------------------------------------
DAYS=$($PY -c 'import json,sys; print([d for d in json.load(open(sys.argv[1])) if d["name"]=="SEP00AA00000002"][0]["lsc_days_left"])' "$D/r.json")
check "the LSC has $DAYS days left" test "$DAYS" -gt 1
check "report --expiring-within $DAYS" jout "$D/e1.json" c report --expiring-within "$DAYS" --format json
check "  ... includes the LSC with DAYS $DAYS" test "$(names "$D/e1.json")" = SEP00AA00000002
check "report --expiring-within $((DAYS - 1))" jout "$D/e2.json" c report --expiring-within $((DAYS - 1)) --format json
check "  ... excludes it" test "$(names "$D/e2.json")" = ""
c report --expiring-within "$DAYS" >"$D/e3.txt" 2>/dev/null
check "report --expiring-within $DAYS (table): its DAYS column says $DAYS" awk -v d="$DAYS" '/^SEP00AA00000002 / { for (i = 1; i <= NF; i++) if ($i == d) f = 1 } END { exit !f }' "$D/e3.txt"

# ---- bulk -------------------------------------------------------------------------------------
check "bulk --pattern --dry-run --unique-auth-strings" c bulk --pattern 'SEP00AA0000000[45]' --op install --auth string --unique-auth-strings "$D/out/strings.csv" --dry-run
check "  ... wrote no strings file" test ! -e "$D/out/strings.csv"
check "  ... changed nothing" c device show SEP00AA00000005 --json
check_grep "  ... (still mic-first)" '"auth_mode": "mic-first"' "$T_TMP/last.out"
cat >"$D/out/bad.csv" <<'CSV'
name,operation,auth,key_order,rsa_bits
SEP00AA00000010,install,null,rsa,2048
SEP00AA00000011,frobnicate,null,ec-rsa,99999
SEP00AA00000012,install,null,rsa,1024
CSV
check "bulk --csv with errors on two lines" rc_is 1 c bulk --csv "$D/out/bad.csv"
check_grep "  ... line 3: the operation" "bad.csv:3: column 2: operation" "$T_TMP/last.out"
check_grep "  ... line 3: the RSA size too (every error of the line)" "bad.csv:3: column 5: rsa_bits" "$T_TMP/last.out"
check_grep "  ... line 4: the policy's refusal, in the same pass" "bad.csv:4: SEP00AA00000012: " "$T_TMP/last.out"
check_nogrep "  ... nothing about the good line" "bad.csv:2:" "$T_TMP/last.out"
check "  ... nothing was added" rc_is 1 c device show SEP00AA00000010
printf 'name,operation,key_order\nSEP00AA00000010,install,rsa\nsep00aa00000011,install,rsa\n' >"$D/out/ok.csv"
check "bulk --csv --progress (stderr not a terminal)" jout "$D/out/prog" c bulk --csv "$D/out/ok.csv" --progress
check_grep "  ... progress on stderr" "^bulk: 2/2 devices checked" "$D/out/prog.err"
check "  ... the lower-case name was upper-cased" c device show SEP00AA00000011
check "bulk --csv without --progress" jout "$D/out/noprog" c bulk --csv "$D/out/ok.csv"
check_nogrep "  ... no progress lines" "devices checked" "$D/out/noprog.err"
printf 'name,operation,auth,auth_string\nSEP00AA00000020,install,string,27182818\n' >"$D/out/strings-open.csv"
chmod 0644 "$D/out/strings-open.csv"
check "an auth_string column in a 0644 file is refused" rc_is 1 c bulk --csv "$D/out/strings-open.csv"
check_grep "  ... saying why" "must be owned by you and mode 0600" "$T_TMP/last.out"
check "  ... nothing was added" rc_is 1 c device show SEP00AA00000020
cp "$D/out/strings-open.csv" "$D/out/strings-0600.csv"; chmod 0600 "$D/out/strings-0600.csv"
check "the same file with mode 0600 is accepted" c bulk --csv "$D/out/strings-0600.csv"
secret_file "$D/out/a20" 27182818
check "  ... and the phone authenticates with that string" enroll SEP00AA00000020 --password-file "$D/out/a20" --out "$D/out/lsc20.pem" --key-out "$D/out/lsc20.key"
check_nogrep "  ... no string in the daemon's log" "27182818" "$D/signerd.log"

# ---- a long history comes in pages (200 events or 56 KB a response)
for i in $(seq 1 110); do
  c device set SEP00AA00000010 --key-order ec-rsa >/dev/null 2>&1 && c device set SEP00AA00000010 --key-order rsa >/dev/null 2>&1 || break
done
check "device history of 220+ events" jout "$D/h10.json" c device history SEP00AA00000010 --json
check "  ... every change, once, in order (pages joined)" $PY -c '
import json,sys; e=json.load(open(sys.argv[1]))["events"]
ch=[x for x in e if x["event"]=="changed"]
assert len(ch)==221, len(ch)      # the second bulk run, then 220 changes
assert [x["time"] for x in e]==sorted(x["time"] for x in e)
ko=[("key_order=ec-rsa" in x["outcome"]) for x in ch[1:]]
assert ko==[True,False]*110, ko[:6]' "$D/h10.json"

# ---- one JSON vocabulary --------------------------------------------------------------------
c device show SEP00AA00000002 --json >"$D/j-show.json"
c device list --json >"$D/j-list.json"
c report --format json >"$D/j-report.json"
c report --format csv >"$D/j-report.csv"
c capf show --json >"$D/j-capf.json"
c stats --json >"$D/j-stats.json"
c audit verify --json >"$D/j-audit.json"
c device history SEP00AA00000002 --json >"$D/j-hist.json"
check "every JSON output carries schema 1 and RFC 3339 UTC times" $PY - "$D" <<'PY'
import json, re, sys, csv
d = sys.argv[1]
t = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
def times(o, keys):
    for k in keys:
        v = o.get(k)
        assert v is None or t.match(v), (k, v)
show = json.load(open(d + "/j-show.json"))
assert show["schema"] == 1
for f in ("j-list.json", "j-report.json"):
    l = json.load(open(d + "/" + f))
    assert l and all(x["schema"] == 1 for x in l), f
    for x in l:
        times(x, ("deadline", "last_seen", "lsc_not_after"))
        assert set(x) == set(show), (f, set(x) ^ set(show))     # the same names everywhere
times(show, ("deadline", "last_seen", "lsc_not_after"))
assert t.match(show["lsc_not_after"]) and isinstance(show["lsc_days_left"], int)
capf = json.load(open(d + "/j-capf.json"))
assert capf["schema"] == 1 and capf["ca"]["schema"] == 1
times(capf["ca"], ("not_before", "not_after", "chain_not_after"))
assert json.load(open(d + "/j-stats.json"))["schema"] == 1
assert json.load(open(d + "/j-audit.json"))["schema"] == 1
h = json.load(open(d + "/j-hist.json"))
assert h["schema"] == 1 and h["events"] and all(t.match(e["time"]) for e in h["events"])
# the CSV's columns are JSON names with the same values
rows = list(csv.DictReader(open(d + "/j-report.csv")))
rep = {x["name"]: x for x in json.load(open(d + "/j-report.json"))}
assert rows and all(k in show for k in rows[0]), rows[0].keys()
for r in rows:
    j = rep[r["name"]]
    for k, v in r.items():
        jv = j[k]
        jv = "" if jv is None else ("true" if jv is True else "false" if jv is False else str(jv))
        assert v == jv, (r["name"], k, v, jv)
PY
check_nogrep "no sanitizer report in the daemon's log" "AddressSanitizer|runtime error|LeakSanitizer" "$D/signerd.log"
finish
