#!/usr/bin/env bash
# capfctl against the real capf-signerd (admin.sock) on a real SoftHSM token, a
# real SQLite file and the stock openssl CLI for the third-party PKI: every verb,
# the phone-reset confirmations (exit 4, nothing changed; the daemon refuses
# without CONFIRM too), policy refusals, bulk all-or-nothing, reports, CAPF CA
# regenerate/CSR/import, TLS issuance, trust export, the audit chain, and a
# peer that is not an admin.
. tests/lib.sh
D=$T_TMP
SD=$BIN/capf-signerd
CTL=$BIN/capfctl
CL=$PWD/$BUILD/tests/signerd-client
IS_ROOT=0; [ "$(id -u)" = 0 ] && IS_ROOT=1

# ---- token, CAPF CA (self-signed with the token key through capfhsm) --------
mkdir -p "$D/tok" "$D/state" "$D/ca" "$D/pki" "$D/out"
make_capf_ca "$D" "$D/ca/ca.pem"
cp "$D/ca/ca.pem" "$D/ca-original.pem"
ORIG_FP=$(openssl x509 -in "$D/ca-original.pem" -noout -fingerprint -sha256 | cut -d= -f2)

# ---- users, configuration, start ----------------------------------------------
signer_user "$D/tok" "$D/state" "$D/ca"
signer_conf "$D" "$D/ca/ca.pem" 'keys: { rsa_bits = [2048, 3072]; ec_curves = ["P-256", "P-384"]; };' \
  'signer: { workers = 2; sessions = 2; };'
sd_start
check "capf-signerd is up" test -S "$ADMIN"
[ -S "$ADMIN" ] || { tail -20 "$LOG"; finish; }
# same_certs A B: two `capf show --json` outputs name the same certificates in the same roles
same_certs() { $PY -c '
import json,sys
def key(f):
    d=json.load(open(f)); k=lambda c: c and (c["role"], c["sha256"], c.get("valid_lscs"))
    return (k(d["ca"]), k(d["tls"]), [k(c) for c in d["previous"]], [k(c) for c in d["retired"]])
a,b=key(sys.argv[1]),key(sys.argv[2]); assert a==b, (a,b)' "$1" "$2"; }

# ---- help, exit codes, reachability ---------------------------------------------
check "capfctl --help" "$CTL" --help
check_grep "--help documents exit code 4" "^  4  a change of the CAPF CA" "$T_TMP/last.out"
check_grep "--help documents exit code 3" "^  3  cannot reach" "$T_TMP/last.out"
for cmd in "device" "device add" "device list" "bulk" "report" "capf" "capf show" "capf regenerate" \
           "capf csr" "capf import" "tls" "tls issue" "trust" "trust export" "audit" "audit verify" "stats" "ping"; do
  # shellcheck disable=SC2086
  check "capfctl $cmd --help" "$CTL" $cmd --help
done
"$CTL" bulk --help >"$D/bulk-help.txt"
check_grep "bulk --help: name column" "^  name " "$D/bulk-help.txt"
check_grep "bulk --help: deadline column" "^  deadline " "$D/bulk-help.txt"
check "usage error exits 2" rc 2 "$CTL" device frobnicate
check "unknown option exits 2" rc 2 c device add SEP001122334455 --bogus
check "no daemon: exit 3" rc 3 "$CTL" --socket "$D/nope.sock" ping
check "ping" c ping
check "stats --json" jout "$D/stats.json" c stats --json
check "  ... counters" $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["connections"]>=1 and "issued" in d, d' "$D/stats.json"

# ---- devices ------------------------------------------------------------------------
check "device add" c device add SEP001122334455 --op install --auth null --key-order ec-rsa --curve P-256
check_grep "device add shows Cisco wording" "Install/Upgrade" "$T_TMP/last.out"
check "device show --json" jout "$D/show.json" c device show SEP001122334455 --json
check "device show JSON parses with the settings" $PY -c '
import json,sys; d=json.load(open(sys.argv[1]))
assert d["name"]=="SEP001122334455" and d["operation"]=="install" and d["auth_mode"]=="null", d
assert d["key_order"]=="ec-rsa" and d["curve"]=="P-256" and d["status"]=="Operation Pending", d
assert d["deadline"] is not None and d["has_lsc"] is False, d' "$D/show.json"
check "device add again is refused" rc 1 c device add SEP001122334455
check_grep "  ... saying it exists" "exists already" "$T_TMP/last.out"
secret_file "$D/auth.txt" "12345678"
check "device set --auth string --auth-string-file (0600)" c device set SEP001122334455 --auth string --auth-string-file "$D/auth.txt"
check_grep "  ... By Authentication String" "By Authentication String" "$T_TMP/last.out"
check_nogrep "  ... no string in the answer" "12345678" "$T_TMP/last.out"
printf '87654321\n' >"$D/auth-open.txt"; chmod 0644 "$D/auth-open.txt"
check "an auth-string file readable by others is refused" rc 1 c device set SEP001122334455 --auth-string-file "$D/auth-open.txt"
check_grep "  ... saying chmod 600" "chmod 600" "$T_TMP/last.out"
check "device add --generate-auth-string prints it once" c device add SEP0011223344AA --op install --auth string --generate-auth-string
check_grep "  ... digits" "Authentication string for SEP0011223344AA: [0-9]{4,10}$" "$T_TMP/last.out"
check "--generate-auth-string --auth-string-out FILE" c device set SEP0011223344AA --generate-auth-string --auth-string-out "$D/gen.txt"
check "  ... FILE is 0600" test "$(stat -c %a "$D/gen.txt")" = 600
check_grep "  ... FILE holds digits" "^[0-9]{4,10}$" "$D/gen.txt"
check_nogrep "  ... not printed" "$(cat "$D/gen.txt")" "$T_TMP/last.out"
check "  ... never overwritten" rc 1 c device set SEP0011223344AA --generate-auth-string --auth-string-out "$D/gen.txt"
check "an invalid device name is refused" rc 1 c device add SEP12 --op install
check_grep "  ... with a clear message" "SEP12.*(SEP|hex)" "$T_TMP/last.out"
check "a Jabber name is accepted" c device add CSFJSMITH --op install
NEAR=$(date -u -d '+20 minutes' '+%Y-%m-%d %H:00')
check "a deadline less than an hour ahead is refused" rc 1 c device set CSFJSMITH --op install --deadline "$NEAR"
check_grep "  ... naming the deadline" "Operation Completes By" "$T_TMP/last.out"
check "a bad deadline format is a usage error" rc 2 c device set CSFJSMITH --deadline "tomorrow"
FAR=$(date -u -d '+3 days' '+%Y-%m-%d %H:00')
check "a deadline 3 days ahead is accepted" jout "$D/far.json" c device set CSFJSMITH --op fetch --deadline "$FAR" --json
check "  ... and kept" $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["deadline"]==sys.argv[2].replace(" ","T")+":00Z" and d["operation"]=="fetch", d' "$D/far.json" "$FAR"
check "a key the policy forbids is refused" rc 1 c device set CSFJSMITH --rsa-bits 1024
check "EC Only for a Jabber client is refused" rc 1 c device set CSFJSMITH --key-order ec
check_grep "  ... it cannot generate EC keys" "Jabber client" "$T_TMP/last.out"
# an operation whose deadline is now less than an hour away (written to the store directly)
check "a device whose deadline is 30 minutes away (store)" "${RUN_AS[@]}" "$CL" device-add "$DB" SEP00EE00000001 install null --deadline-offset 1800
check "  ... other settings can still change" jout "$D/ee1.json" c device set SEP00EE00000001 --key-order rsa --json
check "  ... the deadline was left alone" $PY -c 'import json,sys,time,calendar; d=json.load(open(sys.argv[1])); assert d["key_order"]=="rsa" and calendar.timegm(time.strptime(d["deadline"],"%Y-%m-%dT%H:%M:%SZ")) < time.time()+3600, d' "$D/ee1.json"
check "  ... scheduling it again gives it an acceptable deadline" jout "$D/ee2.json" c device set SEP00EE00000001 --op install --json
# (a minute of slack: the signer rounded before the hour turned, the check may run after)
check "  ... (on the hour, at least an hour ahead)" $PY -c 'import json,sys,time,calendar; t=calendar.timegm(time.strptime(json.load(open(sys.argv[1]))["deadline"],"%Y-%m-%dT%H:%M:%SZ")); assert t % 3600 == 0 and t-time.time() >= 3600 - 60, t' "$D/ee2.json"
check "device reset-lockout" c device reset-lockout CSFJSMITH
check "device list --json" jout "$D/list.json" c device list --json
check "  ... four devices" $PY -c 'import json,sys; l=json.load(open(sys.argv[1])); assert sorted(d["name"] for d in l)==["CSFJSMITH","SEP001122334455","SEP0011223344AA","SEP00EE00000001"], l' "$D/list.json"
check "device list --pattern" c device list --pattern 'SEP*'
check_nogrep "  ... only SEP names" "CSFJSMITH" "$T_TMP/last.out"
check "device remove" c device remove CSFJSMITH
check "  ... then show is refused" rc 1 c device show CSFJSMITH
check_grep "  ... no such device" "no such device" "$T_TMP/last.out"

# ---- bulk ------------------------------------------------------------------------
cat >"$D/bad.csv" <<CSV
name,operation,auth,key_order,deadline
SEP00AA00000001,install,null,rsa,$FAR
SEP00AA00000002,install,string,ec,$FAR
SEP12,install,null,rsa,$FAR
SEP00AA00000004,install,null,rsa,$NEAR
CSFJANE,install,null,ec,$FAR
CSV
c device list >"$D/before.txt" 2>&1
check "bulk: a CSV with bad lines is refused" rc 1 c bulk --csv "$D/bad.csv" --unique-auth-strings "$D/bad-strings.csv"
cp "$T_TMP/last.out" "$D/bulk-bad.out"
check_grep "  ... names file:line of the bad name" "bad.csv:4: SEP12" "$D/bulk-bad.out"
check_grep "  ... names file:line of the close deadline" "bad.csv:5: SEP00AA00000004.*Operation Completes By" "$D/bulk-bad.out"
check_grep "  ... names file:line of a key order the device cannot do" "bad.csv:6: CSFJANE.*Jabber" "$D/bulk-bad.out"
check_grep "  ... says nothing changed" "nothing was changed" "$D/bulk-bad.out"
c device list >"$D/after.txt" 2>&1
check "  ... nothing changed" cmp "$D/before.txt" "$D/after.txt"
check "  ... no strings file left behind" test ! -e "$D/bad-strings.csv"
printf 'name,operation,colour\nSEP00AA00000001,install,red\n' >"$D/badcol.csv"
check "bulk: an unknown column is refused" rc 1 c bulk --csv "$D/badcol.csv"
check_grep "  ... with file:line:column" "badcol.csv:1: column 3: unknown column" "$T_TMP/last.out"
printf 'name,operation\nSEP00AA00000001,instal\n' >"$D/badop.csv"
check "bulk: a bad value is refused" rc 1 c bulk --csv "$D/badop.csv"
check_grep "  ... with file:line:column" "badop.csv:2: column 2: operation" "$T_TMP/last.out"
{ echo "name,operation,auth,key_order,rsa_bits,curve,deadline"
  for i in $(seq 10 19); do echo "SEP00BB000000$i,install,string,ec-rsa,2048,P-256,$FAR"; done
  for i in $(seq 20 49); do echo "SEP00BB000000$i,install,null,ec-rsa,2048,P-256,$FAR"; done
  echo "\"SEP00BB00000050\",fetch,null,,,,"; } >"$D/good.csv"
check "bulk: a good CSV is applied, unique strings" c bulk --csv "$D/good.csv" --unique-auth-strings "$D/strings.csv" --progress
check_grep "  ... 41 devices changed" "41 devices changed" "$T_TMP/last.out"
check_grep "  ... progress on stderr" "devices checked" "$T_TMP/last.out"
check "  ... strings file is 0600" test "$(stat -c %a "$D/strings.csv")" = 600
check "  ... 10 rows, distinct strings of digits" $PY -c '
import sys; rows=[l.strip().split(",") for l in open(sys.argv[1])]
assert len(rows)==10, len(rows); s=[r[1] for r in rows]
assert len(set(s))==10 and all(x.isdigit() and 4<=len(x)<=10 for x in s), s' "$D/strings.csv"
check "  ... the strings file is never overwritten" rc 1 c bulk --csv "$D/good.csv" --unique-auth-strings "$D/strings.csv"
check "  ... devices exist with their settings" jout "$D/b33.json" c device show SEP00BB00000013 --json
check "  ... (string, ec-rsa)" $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["auth_mode"]=="string" and d["key_order"]=="ec-rsa", d' "$D/b33.json"
check "bulk --pattern applies to matching devices" c bulk --pattern 'SEP00BB000000[1-2]*' --op fetch --auth null
check_grep "  ... 20 devices" "20 devices changed" "$T_TMP/last.out"
c device show SEP00BB00000015 --json >"$D/p15.json"; c device show SEP00BB00000035 --json >"$D/p35.json"
check "  ... matching one changed" $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["operation"]=="fetch" and d["auth_mode"]=="null", d' "$D/p15.json"
check "  ... other one not" $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["operation"]=="install", d' "$D/p35.json"
check "bulk --pattern refused as a whole (close deadline)" rc 1 c bulk --pattern 'SEP00BB0000004*' --op install --deadline "$NEAR"
check_grep "  ... lists every device" "SEP00BB00000049" "$T_TMP/last.out"

# staged bulk changes go with their connection (8 may be staged at once)
check "bulk: 8 staged changes whose connections close are dropped (BEGIN+ADD, close)" \
  "$HOSTILE" ipc-bulk-abandon "$ADMIN"
check_grep "  ... a ninth BEGIN was refused while they were open" "ninth BULK_BEGIN while 8 are staged: status 2" "$T_TMP/last.out"
check_grep "  ... a new BEGIN succeeds once they closed" "after they closed: status 0" "$T_TMP/last.out"
check_grep "  ... logged" "event=bulk_dropped .*records=1 reason=connection_closed" "$LOG"
check "  ... nothing of them was applied" rc 1 c device show SEP00FF00000003
check "  ... stats --json: bulk_staged 0" jout "$D/stats2.json" c stats --json
check "  ... (json)" $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["bulk_staged"]==0, d' "$D/stats2.json"

{ echo "name,operation"; for i in $(seq 100 549); do printf 'SEP00DD00000%03d,install\n' "$i"; done; } >"$D/many.csv"
check "bulk: 450 devices in chunks" c bulk --csv "$D/many.csv" --progress
check_grep "  ... 450 devices changed" "450 devices changed" "$T_TMP/last.out"
check "device list pages through them all (cursor)" jout "$D/many.json" c device list --pattern 'SEP00DD*' --json
check "  ... 450 distinct, in order" $PY -c 'import json,sys; l=[d["name"] for d in json.load(open(sys.argv[1]))]; assert len(l)==450 and l==sorted(set(l)), len(l)' "$D/many.json"
check "report pages too" jout "$D/many-r.json" c report --pattern 'SEP00DD*' --format json
check "  ... 450 rows" $PY -c 'import json,sys; assert len(json.load(open(sys.argv[1])))==450' "$D/many-r.json"

# ---- an LSC (front verbs, as capf-frontd would), then the report -------------------
check "device for enrollment" c device add SEP00CC00000001 --op install --auth null --key-order rsa
check "enroll SEP00CC00000001 (front.sock)" "$CL" enroll "$FRONT" SEP00CC00000001 --out "$D/lsc1.pem" --key-out "$D/lsc1.key"
check "report (table)" c report
check_grep "  ... the LSC serial and valid state" "SEP00CC00000001 +valid" "$T_TMP/last.out"
check "report --format csv" jout "$D/report.csv" c report --format csv
check_grep "  ... csv header" "^name,lsc_state,lsc_serial,lsc_issuer,lsc_not_after,lsc_days_left,operation,deadline,status,deadline_passed,locked_out$" "$D/report.csv"
check_grep "  ... Cisco status wording" "Upgrade Success" "$D/report.csv"
check "report --format json" jout "$D/report.json" c report --format json
SERIAL=$(openssl x509 -in "$D/lsc1.pem" -noout -serial | cut -d= -f2)
check "  ... parses; fields of the enrolled device" $PY -c '
import json,sys; l=json.load(open(sys.argv[1])); d=[x for x in l if x["name"]=="SEP00CC00000001"][0]
assert d["has_lsc"] and d["lsc_serial"].upper()==sys.argv[2].upper(), d
assert d["lsc_issuer"].lower()==sys.argv[3].replace(":","").lower(), d
assert d["lsc_days_left"]>300 and d["status"]=="Upgrade Success" and d["operation"]=="none", d
assert all("status" in x and "deadline" in x and "operation" in x for x in l)
assert not any(x["name"]=="capf-tls" for x in l)' "$D/report.json" "$SERIAL" "$ORIG_FP"
check "report --issuer FP" jout "$D/r-issuer.json" c report --issuer "$ORIG_FP" --format json
check "  ... only LSCs of that CA" $PY -c 'import json,sys; l=json.load(open(sys.argv[1])); assert [x["name"] for x in l]==["SEP00CC00000001"], [x["name"] for x in l]' "$D/r-issuer.json"
check "report --expiring-within 30" jout "$D/r-exp.json" c report --expiring-within 30 --format json
check "  ... none expiring" $PY -c 'import json,sys; assert json.load(open(sys.argv[1]))==[]' "$D/r-exp.json"
check "report --status pending" jout "$D/r-pend.json" c report --status pending --format json
check "  ... only pending" $PY -c 'import json,sys; l=json.load(open(sys.argv[1])); assert l and all(x["status"]=="Operation Pending" for x in l), [x["status"] for x in l]' "$D/r-pend.json"

# ---- capf show ------------------------------------------------------------------------
check "capf show" c capf show
cp "$T_TMP/last.out" "$D/show1.txt"
check_grep "  ... subject" "Subject: +CN=CAPF-test,OU=Voice,O=Example Corp" "$D/show1.txt"
SHA1=$(openssl x509 -in "$D/ca-original.pem" -noout -fingerprint -sha1 | cut -d= -f2)
check_grep "  ... SHA-1 as in the ITL" "SHA-1: +$SHA1" "$D/show1.txt"
check_grep "  ... SHA-256" "SHA-256: +$ORIG_FP" "$D/show1.txt"
check_grep "  ... key URI" "Key URI: +pkcs11:token=capf;object=capf-ca" "$D/show1.txt"
check_grep "  ... days left" "days left" "$D/show1.txt"
check "capf show --warn-days 4000 warns" c capf show --warn-days 4000
check_grep "  ... WARNING line" "WARNING: this certificate expires in" "$T_TMP/last.out"
check "capf show --json" jout "$D/show1.json" c capf show --json
check "  ... parses" $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ca"]["valid_lscs"]==1 and d["ca"]["sha256"]==sys.argv[2] and d["tls"] is None, d' "$D/show1.json" "$ORIG_FP"

# ---- tls issue --------------------------------------------------------------------------
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/tls.key" 2>/dev/null
ossl pkey -in "$D/tls.key" -pubout -out "$D/tls.pub" 2>/dev/null
check "tls issue without --yes: exit 4" rc 4 c tls issue --pubkey "$D/tls.pub" --cn capf.example.com --out "$D/out/tls.pem"
check_grep "  ... the phone-reset warning" "Every phone resets when the ITL changes" "$T_TMP/last.out"
check "  ... nothing written" test ! -e "$D/out/tls.pem"
check "tls issue --yes" c tls issue --pubkey "$D/tls.pub" --cn capf.example.com --dns capf.example.com --ip 192.0.2.10 --days 365 --out "$D/out/tls.pem" --yes
check "  ... verifies against the CAPF CA" ossl verify -CAfile "$D/ca-original.pem" "$D/out/tls.pem"
ossl x509 -in "$D/out/tls.pem" -noout -text >"$D/tls.txt"
check_grep "  ... serverAuth" "TLS Web Server Authentication" "$D/tls.txt"
check_grep "  ... SAN DNS and IP" "DNS:capf.example.com, IP Address:192.0.2.10" "$D/tls.txt"
check_grep "  ... CN" "Subject: CN = capf.example.com" "$D/tls.txt"
check "  ... recorded in the store" sqlite3 "$DB" "SELECT count(*) FROM issuances WHERE device='capf-tls'"
check_grep "  ... one issuance" "^1$" "$T_TMP/last.out"
ossl req -new -key "$D/tls.key" -subj "/CN=capf2.example.com" -out "$D/tls.csr" 2>/dev/null
# typed confirmation on a terminal (script(1) gives capfctl a tty)
check "tls issue, \"no\" typed on a terminal: exit 4" rc 4 sh -c "printf 'no\\n' | script -qec '$CTL --socket $ADMIN tls issue --csr $D/tls.csr --out $D/out/tls-no.pem' /dev/null"
check_grep "  ... asked" "Type \"yes\" to continue" "$T_TMP/last.out"
check "  ... nothing written" test ! -e "$D/out/tls-no.pem"
check "tls issue --csr, \"yes\" typed on a terminal" sh -c "printf 'yes\\n' | script -qec '$CTL --socket $ADMIN tls issue --csr $D/tls.csr --out $D/out/tls2.pem' /dev/null"
check_grep "  ... subject from the CSR" "capf2.example.com" "$T_TMP/last.out"
check "capf show lists the TLS certificate" c capf show
check_grep "  ... its section" "CAPF TLS certificate" "$T_TMP/last.out"
check_grep "  ... the LSC count excludes the TLS record" "Valid LSCs: +1$" "$T_TMP/last.out"

# ---- trust export -------------------------------------------------------------------------
check "trust export --for itl" c trust export --for itl --out "$D/out/itl.pem"
check "  ... is the TLS certificate" sh -c "openssl x509 -in '$D/out/itl.pem' -noout -subject | grep -q capf2.example.com"
for t in callmanager-trust capf-trust 8021x asa; do
  check "trust export --for $t" c trust export --for "$t" --out "$D/out/$t.pem"
  check "  ... $t holds the CAPF CA" sh -c "openssl x509 -in '$D/out/$t.pem' -noout -fingerprint -sha256 | grep -q '$ORIG_FP'"
  check_grep "  ... $t has a comment header" "^# CAPF CA certificate \(active" "$D/out/$t.pem"
done
check "trust export never overwrites" rc 1 c trust export --for asa --out "$D/out/asa.pem"

# ---- CSR ------------------------------------------------------------------------------------
check "capf csr --out" c capf csr --out "$D/out/capf.csr"
check "  ... signature verifies" ossl req -in "$D/out/capf.csr" -noout -verify
ossl req -in "$D/out/capf.csr" -noout -text >"$D/csr.txt"
check_grep "  ... CA:TRUE, pathlen:0" "CA:TRUE, pathlen:0" "$D/csr.txt"
check_grep "  ... digitalSignature + keyCertSign" "Digital Signature, Certificate Sign" "$D/csr.txt"
check_grep "  ... subject of the current CA" "Subject: O = Example Corp, OU = Voice, CN = CAPF-test" "$D/csr.txt"

# ---- a third-party PKI (software): root, intermediate ------------------------------------------
P=$D/pki
# the intermediate ends before the CAPF CA it signs (1500 < 2000 days): LSCs end with it
tp_pki "$P" 1500
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,digitalSignature,keyCertSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >"$P/nopathlen.ext"
tp_sign "$D/out/capf.csr" "$P/capf-tp.pem"
tp_sign "$D/out/capf.csr" "$P/capf-nopathlen.pem" "$P/nopathlen.ext"
ossl req -new -newkey rsa:2048 -nodes -keyout "$P/other.key" -subj "/O=Example Corp/OU=Voice/CN=CAPF-test" -out "$P/other.csr" >/dev/null 2>&1
tp_sign "$P/other.csr" "$P/capf-otherkey.pem"
c capf show --json >"$D/show-before-import.json"

check "import without --yes: exit 4" rc 4 c capf import "$P/capf-tp.pem" --chain "$P/chain.pem"
check_grep "  ... the warning names the trust stores" "CallManager-trust, CAPF-trust, the 802.1X" "$T_TMP/last.out"
check_grep "  ... and how many phones hold LSCs from the outgoing CA" "1 device holds a valid LSC from the outgoing CAPF CA" "$T_TMP/last.out"
c capf show --json >"$D/show-now.json"
check "  ... nothing changed" same_certs "$D/show-before-import.json" "$D/show-now.json"
check "import of a certificate for another key is refused" rc 1 c capf import "$P/capf-otherkey.pem" --chain "$P/chain.pem" --yes
check_grep "  ... not the token key" "not the CAPF CA key in the token" "$T_TMP/last.out"
check "import of a certificate without pathlen 0 is refused" rc 1 c capf import "$P/capf-nopathlen.pem" --chain "$P/chain.pem" --yes
check_grep "  ... pathlen" "pathlen" "$T_TMP/last.out"
check "import without the chain is refused (does not verify)" rc 1 c capf import "$P/capf-tp.pem" --yes
c capf show --json >"$D/show-now.json"
check "  ... still nothing changed" same_certs "$D/show-before-import.json" "$D/show-now.json"
check "import of the third-party signed certificate" c capf import "$P/capf-tp.pem" --chain "$P/chain.pem" --yes
TP_FP=$(openssl x509 -in "$P/capf-tp.pem" -noout -fingerprint -sha256 | cut -d= -f2)
check "capf show: the imported CA is active with its chain, the old one previous" jout "$D/show-tp.json" c capf show --json
check "  ... (json)" $PY -c '
import json,sys; d=json.load(open(sys.argv[1]))
assert d["ca"]["sha256"]==sys.argv[2] and d["ca"]["chain"]==["CN=TP Issuing CA,O=Third Party","CN=TP Root,O=Third Party"], d["ca"]
assert [p["sha256"] for p in d["previous"]]==[sys.argv[3]] and d["previous"][0]["valid_lscs"]==1, d["previous"]' "$D/show-tp.json" "$TP_FP" "$ORIG_FP"
check "  ... the chain ends before the CA, and capf show says so" $PY -c '
import json,sys; d=json.load(open(sys.argv[1]))["ca"]
assert 1498 <= d["chain_days_left"] <= 1500 and d["days_left"] >= 1998 and d["chain_not_after"] < d["not_after"], d' "$D/show-tp.json"
c capf show >"$D/show-tp.txt"
check_grep "  ... (text)" "Chain ends: .*\(1[45][0-9][0-9] days left\), before this certificate" "$D/show-tp.txt"
check "  ... ca.certificate rewritten" sh -c "openssl x509 -in '$D/ca/ca.pem' -noout -fingerprint -sha256 | grep -q '$TP_FP'"
check "  ... the old file kept as .previous-<fp8>" sh -c "ls '$D/ca/' | grep -q '^ca.pem.previous-$(echo "$ORIG_FP" | tr -d : | cut -c1-8 | tr A-F a-f)\$'"
check "  ... the chain next to it (ca.chain is not configured)" test "$(grep -c 'BEGIN CERTIFICATE' "$D/ca/ca.pem.chain")" = 2
check "LSC trust bundle for CallManager-trust" c trust export --for callmanager-trust --out "$D/out/cm2.pem"
openssl crl2pkcs7 -nocrl -certfile "$D/out/cm2.pem" | openssl pkcs7 -print_certs -noout >"$D/cm2.txt"
check_grep "  ... the imported CAPF CA" "subject=O = Example Corp, OU = Voice, CN = CAPF-test" "$D/cm2.txt"
check_grep "  ... the intermediate" "subject=O = Third Party, CN = TP Issuing CA" "$D/cm2.txt"
check_grep "  ... the root" "subject=O = Third Party, CN = TP Root" "$D/cm2.txt"
check "  ... 4 certificates (new CA, chain of 2, previous CA holding an LSC)" test "$(grep -c 'BEGIN CERTIFICATE' "$D/out/cm2.pem")" = 4
check_grep "  ... the previous CA says why it stays" "keep until the 1 phone holding LSCs from it re-enrolls" "$D/out/cm2.pem"
check "an LSC issued under the imported CA verifies with the bundle" c device add SEP00CC00000002 --op install --auth null --key-order rsa
check "  ... enroll" "$CL" enroll "$FRONT" SEP00CC00000002 --out "$D/lsc2.pem" --key-out "$D/lsc2.key"
check "  ... openssl verify with the exported bundle" ossl verify -CAfile "$P/root.pem" -untrusted "$D/out/cm2.pem" "$D/lsc2.pem"
check "  ... it ends with the intermediate, not 5 years on" test "$(ossl x509 -in "$D/lsc2.pem" -noout -enddate)" = \
  "$(ossl x509 -in "$P/int.pem" -noout -enddate)"
check "  ... files are 0644 (public): ca.certificate, its chain, the previous copy" test \
  "$(stat -c %a "$D/ca/ca.pem" "$D/ca/ca.pem.chain" "$D"/ca/ca.pem.previous-* | sort -u)" = 644

# ---- restart after the import: the store's CA (chain from <ca.certificate>.chain) --------------
check "restart after import: the daemon stops cleanly" stop_signerd
check "  ... and starts again (the imported CA, its chain from ca.pem.chain)" sd_start
[ -S "$ADMIN" ] || { tail -20 "$LOG"; finish; }
check "  ... capf show: the imported CA active with its chain, the original previous" jout "$D/show-tp2.json" c capf show --json
check "  ... (json)" $PY -c '
import json,sys; d=json.load(open(sys.argv[1]))
assert d["ca"]["sha256"]==sys.argv[2] and d["ca"]["chain"]==["CN=TP Issuing CA,O=Third Party","CN=TP Root,O=Third Party"], d["ca"]
assert [p["sha256"] for p in d["previous"]]==[sys.argv[3]], d["previous"]' "$D/show-tp2.json" "$TP_FP" "$ORIG_FP"
check "  ... a new enrollment gets an LSC from the imported CA" c device add SEP00CC00000005 --op install --auth null --key-order rsa
check "  ... enroll" "$CL" enroll "$FRONT" SEP00CC00000005 --out "$D/lsc5.pem"
check "  ... verifies with the third-party chain" ossl verify -CAfile "$P/root.pem" -untrusted "$P/chain.pem" -untrusted "$P/capf-tp.pem" "$D/lsc5.pem"
check "  ... issued by the imported CA" sh -c "openssl x509 -in '$D/lsc5.pem' -noout -issuer | grep -q CAPF-test && openssl verify -partial_chain -CAfile '$P/capf-tp.pem' '$D/lsc5.pem'"
check "  ... an LSC of the original CA still authenticates (lsc-first)" c device set SEP00CC00000001 --op install --auth lsc-first
check "  ... BEGIN with it is accepted" "$CL" enroll "$FRONT" SEP00CC00000001 --cert "$D/lsc1.pem" --cert-key "$D/lsc1.key" --cert-type lsc --abort
check_grep "  ... decision install" "^decision=install" "$T_TMP/last.out"
check_grep "  ... (then aborted)" "^aborted=1" "$T_TMP/last.out"
# control: the same device with a certificate from a CA the daemon does not trust for LSCs
ossl req -new -newkey rsa:2048 -nodes -keyout "$D/stranger.key" -subj "/CN=SEP00CC00000001" -out "$D/stranger.csr" >/dev/null 2>&1
ossl x509 -req -in "$D/stranger.csr" -CA "$P/int.pem" -CAkey "$P/int.key" -CAcreateserial -days 30 -out "$D/stranger.pem" >/dev/null 2>&1
"$CL" enroll "$FRONT" SEP00CC00000001 --cert "$D/stranger.pem" --cert-key "$D/stranger.key" --cert-type lsc --abort >"$D/stranger.out" 2>&1
check_grep "  ... (control) an LSC of a CA that is not a CAPF CA is refused" "^refused cause=" "$D/stranger.out"

# ---- regenerate -------------------------------------------------------------------------------------
c capf show --json >"$D/show-before-regen.json"
check "regenerate without --yes: exit 4" rc 4 c capf regenerate
check_grep "  ... warning" "Every phone resets when the ITL changes" "$T_TMP/last.out"
check_grep "  ... N phones (SEP00CC00000002 and ...05)" "2 devices hold a valid LSC from the outgoing CAPF CA" "$T_TMP/last.out"
check_grep "  ... confirmation hint" "Not confirmed: nothing was changed" "$T_TMP/last.out"
c capf show --json >"$D/show-now.json"
check "  ... nothing changed" same_certs "$D/show-before-regen.json" "$D/show-now.json"
# the daemon refuses without CONFIRM itself (a client that skips capfctl's question; 89: CONFIRM)
check "the daemon refuses REGENERATE with CONFIRM=0" "$HOSTILE" ipc-admin "$ADMIN" 0131 89=u8:0
check_grep "  ... saying nothing changed" "status=1 .*Nothing was changed" "$T_TMP/last.out"
check "the daemon refuses TLS_ISSUE with CONFIRM=0" "$HOSTILE" ipc-admin "$ADMIN" 0134 89=u8:0
c capf show --json >"$D/show-now.json"
check "  ... nothing changed" same_certs "$D/show-before-regen.json" "$D/show-now.json"
check "regenerate --yes --key-type ec:P-256 --days 1000" c capf regenerate --yes --key-type ec:P-256 --days 1000
check_grep "  ... new CA shown" "New CAPF CA certificate" "$T_TMP/last.out"
check "capf show after regenerate" jout "$D/show-regen.json" c capf show --json
check "  ... new EC key, same subject, self-signed; both older CAs previous" $PY -c '
import json,sys; d=json.load(open(sys.argv[1])); ca=d["ca"]
assert ca["key"]=="EC prime256v1" and ca["subject"]=="CN=CAPF-test,OU=Voice,O=Example Corp", ca
assert ca["issuer"]==ca["subject"] and "object=capf-ca-" in ca["key_uri"] and 990 < ca["days_left"] <= 1000, ca
assert sorted(p["sha256"] for p in d["previous"])==sorted([sys.argv[2], sys.argv[3]]), d["previous"]' "$D/show-regen.json" "$TP_FP" "$ORIG_FP"
check "  ... the new key is in the token" jout "$D/objects.txt" "${RUN_AS[@]}" "$BIN/capf-token" list --uri "pkcs11:token=capf?pin-source=file:$PIN"
check_grep "  ... labelled capf-ca-YYYYMMDDhhmmss" "capf-ca-20[0-9]{12}" "$D/objects.txt"
check_grep "  ... private key: sensitive, not extractable" "^private +ec +P-256 +yes +no +[0-9a-f]+ capf-ca-20[0-9]{12}$" "$D/objects.txt"
ossl x509 -in "$D/ca/ca.pem" -noout -text >"$D/regen.txt"
check_grep "  ... ca.certificate: CA:TRUE, pathlen:0 (critical)" "CA:TRUE, pathlen:0" "$D/regen.txt"
check_grep "  ... keyUsage" "Digital Signature, Certificate Sign" "$D/regen.txt"
check_grep "  ... SKI" "Subject Key Identifier" "$D/regen.txt"
check "  ... self-signature verifies" ossl verify -CAfile "$D/ca/ca.pem" "$D/ca/ca.pem"
check "a new LSC is issued by the new CA" c device add SEP00CC00000003 --op install --auth null --key-order rsa
check "  ... enroll" "$CL" enroll "$FRONT" SEP00CC00000003 --out "$D/lsc3.pem"
check "  ... verifies with the new CA" ossl verify -CAfile "$D/ca/ca.pem" "$D/lsc3.pem"
check "trust export --for capf-trust after regenerate" jout "$D/capf-trust3.pem" c trust export --for capf-trust
check "  ... new CA and both previous CAs still holding LSCs" test "$(grep -c '^# Previous CAPF CA' "$D/capf-trust3.pem")" = 2
check "report after regenerate: both older issuers still reported" jout "$D/r-regen.json" c report --format json
check "  ... three LSC issuers" $PY -c 'import json,sys; l=json.load(open(sys.argv[1])); assert len({x["lsc_issuer"] for x in l if x["has_lsc"]})==3, [x["lsc_issuer"] for x in l if x["has_lsc"]]' "$D/r-regen.json"

# ---- restart after regenerate: the store's key URI and certificate, not capf.conf's ----------------
REGEN_FP=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["ca"]["sha256"])' "$D/show-regen.json")
check "restart after regenerate: the daemon stops cleanly" stop_signerd
check "  ... and starts again with the regenerated key (capf.conf still names the old one)" sd_start
[ -S "$ADMIN" ] || { tail -20 "$LOG"; finish; }
check_grep "  ... logged: the key URI from the store" "event=ca_from_store .*key_uri=pkcs11:[^ ]*object=capf-ca-20[0-9]{12}" "$LOG"
check "  ... capf show: the new CA active, the older ones previous" jout "$D/show-restart.json" c capf show --json
check "  ... (json)" $PY -c '
import json,sys; d=json.load(open(sys.argv[1]))
assert d["ca"]["sha256"]==sys.argv[2] and d["ca"]["key"]=="EC prime256v1" and "object=capf-ca-" in d["ca"]["key_uri"], d["ca"]
assert sorted(p["sha256"] for p in d["previous"])==sorted([sys.argv[3], sys.argv[4]]), d["previous"]' "$D/show-restart.json" "$REGEN_FP" "$TP_FP" "$ORIG_FP"
check "  ... a new enrollment gets an LSC from the new CA" c device add SEP00CC00000006 --op install --auth null --key-order rsa
check "  ... enroll" "$CL" enroll "$FRONT" SEP00CC00000006 --out "$D/lsc6.pem"
check "  ... verifies with the new CA" ossl verify -CAfile "$D/ca/ca.pem" "$D/lsc6.pem"
check "  ... not with the original one" sh -c "! openssl verify -CAfile '$D/ca-original.pem' '$D/lsc6.pem' >/dev/null 2>&1"
check "  ... an LSC of the original CA still authenticates (lsc-first)" c device set SEP00CC00000001 --op install --auth lsc-first
check "  ... enroll with it" "$CL" enroll "$FRONT" SEP00CC00000001 --cert "$D/lsc1.pem" --cert-key "$D/lsc1.key" --cert-type lsc --out "$D/lsc1b.pem"
check_grep "  ... issued" "^issued serial=" "$T_TMP/last.out"
check "  ... the new LSC is from the new CA" ossl verify -CAfile "$D/ca/ca.pem" "$D/lsc1b.pem"
check "  ... an LSC of the imported CA authenticates too" c device set SEP00CC00000002 --op install --auth lsc-first
check "  ... enroll with it" "$CL" enroll "$FRONT" SEP00CC00000002 --cert "$D/lsc2.pem" --cert-key "$D/lsc2.key" --cert-type lsc --out "$D/lsc2b.pem"
check "  ... the new LSC is from the new CA" ossl verify -CAfile "$D/ca/ca.pem" "$D/lsc2b.pem"

# ---- ca.certificate and the store disagree ---------------------------------------------------------------
cp -p "$D/ca/ca.pem" "$D/ca-active.pem"
check "a stale ca.certificate (an earlier CA the store knows): stop" stop_signerd
cp "$D/ca-original.pem" "$D/ca/ca.pem"
check "  ... starts with the store's active CA" sd_start
check_grep "  ... warns that the file is stale" "event=ca_file_stale .*file_role=previous" "$LOG"
check "  ... capf show: still the regenerated CA" sh -c "$CTL --socket $ADMIN capf show --json | grep -q '$REGEN_FP'"
check "a ca.certificate the store never knew: stop" stop_signerd
cp "$P/capf-otherkey.pem" "$D/ca/ca.pem"
check "  ... start-up is refused (exit 3)" rc 3 timeout 30 "$SD" --config "$D/capf.conf" --foreground "${USER_OPT[@]}"
check_grep "  ... naming the file and the store's CA" "ca.certificate $D/ca/ca.pem \(SHA-256 [0-9a-f]{64}\) is not the active CAPF CA of the store" "$T_TMP/last.out"
check_grep "  ... saying what to do" "capfctl capf regenerate.*capfctl capf import" "$T_TMP/last.out"
cp -p "$D/ca-active.pem" "$D/ca/ca.pem"
check "  ... with the file put back it starts" sd_start
[ -S "$ADMIN" ] || { tail -20 "$LOG"; finish; }

# ---- audit ---------------------------------------------------------------------------------------------
check "every admin change is audited with uid and role admin" sqlite3 "$DB" "SELECT count(*) FROM audit WHERE role='admin' AND uid=$(id -u)"
check "  ... many rows" test "$(sqlite3 "$DB" "SELECT count(*) FROM audit WHERE role='admin' AND uid=$(id -u)")" -gt 50
check "  ... no authentication string in the database" sh -c "! grep -a -q -e 12345678 -e \"\$(cut -d, -f2 '$D/strings.csv' | head -1)\" '$DB' '$DB-wal'"
check "audit verify passes" c audit verify
check_grep "  ... intact" "intact" "$T_TMP/last.out"
ROW=$(sqlite3 "$DB" "SELECT id FROM audit WHERE role='admin' ORDER BY id LIMIT 1 OFFSET 3")
sqlite3 "$DB" "DROP TRIGGER audit_no_update; UPDATE audit SET detail = detail || ' (edited)' WHERE id = $ROW;" 2>"$D/sqlite.err"
check "audit verify fails after a row was edited" rc 1 c audit verify
check_grep "  ... naming the row" "BROKEN at row $ROW\b" "$T_TMP/last.out"

# ---- peers that are not admins ----------------------------------------------------------------------------
if [ $IS_ROOT = 1 ]; then
  check "the socket's owner (not in admin_uids) is refused by the daemon" rc 1 setpriv --reuid capf-signer --regid capf-signer --clear-groups "$CTL" --socket "$ADMIN" ping
  check_grep "  ... closed without an answer" "closed the connection" "$T_TMP/last.out"
  check "the front user cannot reach admin.sock (exit 3)" rc 3 setpriv --reuid capf-front --regid capf-front --init-groups "$CTL" --socket "$ADMIN" device list
  check_grep "  ... permission denied" "Permission denied" "$T_TMP/last.out"
else
  skips 4 "the daemon's socket owner and the front user refused (needs root: other users)"
fi
check "admin verbs on front.sock are refused (connection closed)" rc 1 "$CTL" --socket "$FRONT" device list
check "the daemon is still up" c ping
finish
