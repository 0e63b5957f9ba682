#!/usr/bin/env bash
# Third-party PKI and CAPF CA rotation that survive restarts, against the real
# capf-signerd, a real SoftHSM token and a real SQLite store:
#   - `capfctl capf import` of a CAPF CA signed by a third-party intermediate, with
#     ca.certificate in a folder the signer may NOT write: the change is made and
#     recorded with its chain in the store, the failed export is an error capfctl
#     reports (exit 1); a restart takes the CA and chain from the store (before the
#     chain was stored it needed the chain file the signer could not write, and the
#     restart failed); the LSC verifies against root + intermediate + CAPF CA;
#   - rotation by ceremony in the existing token (no init, no SO PIN): a CSR signed
#     by the third party, `capfctl capf adopt` (warning + counts, exit 4 without
#     --yes), enroll against the new CA, old LSCs still accepted (previous CAs are
#     trusted for LSC authentication); a second ceremony's self-signed key adopted
#     too; a restart keeps the adopted key; refusals change nothing;
#   - `capfctl capf regenerate --transcript` in the ceremony's transcript form;
#   - `capf-signerd --check-config`: module, PIN file, certificate, store folder, as
#     the user the daemon runs as, each problem named with its setting and file.
. tests/lib.sh
D=$T_TMP
CTL=$BIN/capfctl
CL=$PWD/$BUILD/tests/signerd-client

mkdir -p "$D/tok" "$D/state" "$D/ca" "$D/pki" "$D/out"
make_capf_ca "$D" "$D/ca/ca.pem"
ORIG_FP=$(openssl x509 -in "$D/ca/ca.pem" -noout -fingerprint -sha256 | cut -d= -f2)
signer_user "$D/tok" "$D/state"
# ca.certificate's folder: not writable by the signer's user
if [ "$(id -u)" = 0 ]; then chown root: "$D/ca"; chmod 0755 "$D/ca"; else chmod 0555 "$D/ca"; fi
signer_conf "$D" "$D/ca/ca.pem" 'keys: { rsa_bits = [2048, 3072]; ec_curves = ["P-256", "P-384"]; };' \
  'signer: { workers = 2; sessions = 2; };'
active_fp() { c capf show --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["ca"]["sha256"])'; }
fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
# enroll NAME: a new device enrolls; its LSC in $D/NAME.pem, key in $D/NAME.key
enroll() {
  c device add "$1" --op install --auth null --key-order rsa >/dev/null &&
    "$CL" enroll "$FRONT" "$1" --out "$D/$1.pem" --key-out "$D/$1.key"
}
# lsc_auth NAME: NAME's LSC still authenticates it (lsc-first, BEGIN accepted, aborted).
# The LSC also signs SUDI_DATA over the signer's fresh session id: the same LSC proof
# alone is accepted once only (the replay cache), and this checks it more than once.
lsc_auth() {
  c device set "$1" --op install --auth lsc-first >/dev/null &&
    "$CL" enroll "$FRONT" "$1" --cert "$D/$1.pem" --cert-key "$D/$1.key" --cert-type lsc \
      --sudi-cert "$D/$1.pem" --sudi-key "$D/$1.key" --abort >"$D/auth.out" 2>&1 &&
    grep -q "^decision=install" "$D/auth.out"
}
check "capfctl capf adopt --help" "$CTL" capf adopt --help
check_grep "  ... documents adopt" "adopt --key-uri URI --cert CERT" "$T_TMP/last.out"
check_grep "  ... and the export error" "exits 1" "$T_TMP/last.out"
check "capfctl capf adopt without --key-uri: usage error" rc 2 "$CTL" --socket /nonexistent capf adopt --cert "$D/ca/ca.pem"

# ---- --check-config: the files and folders, as the user the daemon runs as -----------------------
SD=$BIN/capf-signerd
check "--check-config: the test configuration is usable by the signer's user" "$SD" --check-config "$D/capf.conf" "${USER_OPT[@]}"
check_grep "  ... OK" "capf.conf: OK" "$T_TMP/last.out"
check_grep "  ... and notes that the exports cannot be written there" "note: ca.certificate's folder $D/ca is not writable" "$T_TMP/last.out"
mkdir -p "$D/cc"
(umask 077; cp "$PIN" "$D/cc/unreadable.pin"); chmod 0000 "$D/cc/unreadable.pin"
(umask 022; cp "$PIN" "$D/cc/open.pin"); chmod 0644 "$D/cc/open.pin"
[ "$(id -u)" = 0 ] && chown capf-signer: "$D/cc/open.pin"
mkdir -p "$D/cc/ro"; chmod 0555 "$D/cc/ro"
sed -e "s|module = \"$SOFTHSM_MODULE\"|module = \"$D/cc/vendor-p11.so\"|" -e "s|pin_source = \"$PIN\"|pin_source = \"$D/cc/unreadable.pin\"|" \
    -e "s|certificate = \"$D/ca/ca.pem\"|certificate = \"$D/cc/missing.pem\"|" -e "s|path = \"$D/state/capf.db\"|path = \"$D/cc/ro/capf.db\"|" \
    "$D/capf.conf" >"$D/cc/bad.conf"
"$SD" --check-config "$D/cc/bad.conf" "${USER_OPT[@]}" >"$D/cc/bad.out" 2>&1
check "--check-config with unusable files: exit 1" test $? = 1
check_grep "  ... the module, by setting and file" "token.module: $D/cc/vendor-p11.so: does not exist" "$D/cc/bad.out"
if [ "$(id -u)" = 0 ] || [ ! -r "$D/cc/unreadable.pin" ]; then
  check_grep "  ... the PIN file the signer cannot read" "token.pin_source: $D/cc/unreadable.pin: cannot be read \(Permission denied\)" "$D/cc/bad.out"
fi
check_grep "  ... the certificate" "ca.certificate: $D/cc/missing.pem: does not exist" "$D/cc/bad.out"
if [ "$(id -u)" = 0 ] || [ ! -w "$D/cc/ro" ]; then
  check_grep "  ... the store's folder" "store.path \(its folder\): $D/cc/ro: is not writable" "$D/cc/bad.out"
fi
check_grep "  ... as whom" "checked as $(id -un "$SIGNER_UID") \(uid $SIGNER_UID\)" "$D/cc/bad.out"
sed -e "s|pin_source = \"$PIN\"|pin_source = \"$D/cc/open.pin\"|" "$D/capf.conf" >"$D/cc/open.conf"
check_fails "--check-config: a PIN file others may read is refused" "$SD" --check-config "$D/cc/open.conf" "${USER_OPT[@]}"
check_grep "  ... says chmod 0600" "token.pin_source: $D/cc/open.pin: holds a PIN but is mode 0644" "$T_TMP/last.out"
mkdir -p "$D/cc/sock"; chmod 0777 "$D/cc/sock"
sed -e "s|dir = \"$D/run\"|dir = \"$D/cc/sock\"|" "$D/capf.conf" >"$D/cc/sock.conf"
check_fails "--check-config: a sockets.dir others may write is refused" "$SD" --check-config "$D/cc/sock.conf" "${USER_OPT[@]}"
check_grep "  ... named" "sockets.dir: $D/cc/sock: is (writable by others|not writable)" "$T_TMP/last.out"
chmod 0750 "$D/cc/sock"
[ "$(id -u)" = 0 ] && check "  ... a root-owned 0750 one is fine when started as root (it binds as root)" \
  "$SD" --check-config "$D/cc/sock.conf" "${USER_OPT[@]}"
if [ "$(id -u)" = 0 ]; then
  (umask 077; cp "$PIN" "$D/cc/root.pin")       # root's, 0600: the signer's PIN reader refuses it
  sed -e "s|pin_source = \"$PIN\"|pin_source = \"$D/cc/root.pin\"|" "$D/capf.conf" >"$D/cc/owner.conf"
  check_fails "--check-config: a PIN file of another owner is refused" "$SD" --check-config "$D/cc/owner.conf" "${USER_OPT[@]}"
  check_grep "  ... says whose it is" "token.pin_source: $D/cc/root.pin: (cannot be read|is owned by uid 0)" "$T_TMP/last.out"
fi

sd_start
check "capf-signerd is up" test -S "$ADMIN"
[ -S "$ADMIN" ] || { tail -20 "$LOG"; finish; }
check "a phone enrolls under the original CA" enroll SEP00DD00000001

# ---- the third party: root -> intermediate -> CAPF CA ------------------------------------------
P=$D/pki
tp_pki "$P"

# ---- import, the export cannot be written, restart, enroll --------------------------------------
check "capf csr" c capf csr --out "$D/out/capf.csr"
tp_sign "$D/out/capf.csr" "$P/capf-tp.pem"
TP_FP=$(fp_of "$P/capf-tp.pem")
check "import with ca.certificate's folder not writable by the signer: exit 1" rc 1 c capf import "$P/capf-tp.pem" --chain "$P/chain.pem" --yes
check_grep "  ... capfctl reports the export as an error" "capf import: error: the CA is active .* its export $D/ca/ca.pem was not written" "$T_TMP/last.out"
check_grep "  ... and says why (the signer's uid and the file)" "not written by capf-signerd \(uid $SIGNER_UID\)" "$T_TMP/last.out"
check "  ... but the CA is active (the store is the record)" test "$(active_fp)" = "$TP_FP"
check "  ... the file on disk is still the original (an export the signer could not write)" test "$(fp_of "$D/ca/ca.pem")" = "$ORIG_FP"
check "  ... no chain file next to it" test ! -e "$D/ca/ca.pem.chain"
check_grep "  ... the log says so too" "event=ca_export_failed" "$LOG"
check "restart after the import: the daemon stops" stop_signerd
check "  ... and starts again, needing no file it could not write" sd_start
[ -S "$ADMIN" ] || { tail -20 "$LOG"; finish; }
check "  ... the imported CA is active" test "$(active_fp)" = "$TP_FP"
check "  ... with its chain (from the store)" sh -c "'$CTL' --socket '$ADMIN' capf show --json | grep -q 'TP Issuing CA'"
check "a phone enrolls after the restart" enroll SEP00DD00000002
check "  ... its LSC verifies against root + intermediate + CAPF CA" \
  ossl verify -x509_strict -CAfile "$P/root.pem" -untrusted "$P/int.pem" -untrusted "$P/capf-tp.pem" "$D/SEP00DD00000002.pem"
check "  ... (control) not without the intermediate" rc 2 ossl verify -CAfile "$P/root.pem" -untrusted "$P/capf-tp.pem" "$D/SEP00DD00000002.pem"
check "  ... the LSC of the original CA still authenticates its phone" lsc_auth SEP00DD00000001

# from here the signer may write its exports
if [ "$(id -u)" = 0 ]; then chown capf-signer: "$D/ca"; else chmod 0755 "$D/ca"; fi

# ---- rotation by ceremony: a CSR in the existing token, the third party signs it ---------------
mkdir -p "$D/cer1/signer"
cp "$PIN" "$D/cer1/signer/token.pin"; chmod 0600 "$D/cer1/signer/token.pin"
sed -e "s|/usr/lib/softhsm/libsofthsm2.so|$SOFTHSM_MODULE|" scripts/ceremony.rotate.example.conf >"$D/cer1/rotate.conf"
CER=(scripts/ceremony --provider-path "$LIB")
check "the rotation example validates (existing token: no init, no SO PIN)" "${CER[@]}" --check --dir "$D/cer1" "$D/cer1/rotate.conf"
check_grep "  ... it uses the token, it does not initialise one" 'use token "capf"' "$T_TMP/last.out"
check "the rotation ceremony runs in the token the signer uses" "${CER[@]}" --dir "$D/cer1" "$D/cer1/rotate.conf"
[ "$(id -u)" = 0 ] && chown -R capf-signer: "$D/tok"        # the ceremony ran as root
TR1=$D/cer1/rotation/transcript.txt
check_grep "  ... the transcript: completed" '^result: completed' "$TR1"
check_nogrep "  ... no token initialisation" 'initialised' "$TR1"
KEY2=$(sed -n 's/.*key URI for capf.conf or `capfctl capf adopt --key-uri`: //p' "$TR1")
check "  ... the transcript gives the key URI" test "$KEY2" = "pkcs11:token=capf;object=capf-ca-2027;type=private"
tp_sign "$D/cer1/rotation/capf-ca-2027.csr" "$P/capf-2027.pem"
NEW_FP=$(fp_of "$P/capf-2027.pem")
check "adopt without --yes: exit 4" rc 4 c capf adopt --key-uri "$KEY2" --cert "$P/capf-2027.pem" --chain "$P/chain.pem"
check_grep "  ... the phone-reset warning" "Every phone resets when the ITL changes" "$T_TMP/last.out"
check_grep "  ... with the count of LSCs under the outgoing CA" "1 device holds a valid LSC from the outgoing CAPF CA" "$T_TMP/last.out"
check "  ... nothing changed" test "$(active_fp)" = "$TP_FP"
check "adopt a certificate that is not the key's: refused" rc 1 c capf adopt --key-uri "$KEYURI" --cert "$P/capf-2027.pem" --chain "$P/chain.pem" --yes
check_grep "  ... says the key does not match" "does not match" "$T_TMP/last.out"
check "adopt without the chain: refused" rc 1 c capf adopt --key-uri "$KEY2" --cert "$P/capf-2027.pem" --yes
check "adopt a key that is not in the token: refused" rc 1 c capf adopt --key-uri "pkcs11:token=capf;object=no-such-key;type=private" --cert "$P/capf-2027.pem" --chain "$P/chain.pem" --yes
check "adopt with a PIN in the URI: refused by capfctl" rc 2 c capf adopt --key-uri "$KEY2?pin-value=1234" --cert "$P/capf-2027.pem" --yes
# the daemon's own refusal (a client that skips capfctl's checks): a module to load
# (ADOPT 0x0160 with CONFIRM 89, KEY_URI 97, CERT 21)
openssl x509 -in "$P/capf-2027.pem" -outform DER -out "$D/capf-2027.der"
"$HOSTILE" ipc-admin "$ADMIN" 0160 89=u8:1 "97=str:$KEY2?module-path=/tmp/evil.so" "21=file:$D/capf-2027.der" \
  >"$D/adopt-raw.out" 2>&1
check_grep "adopt with a module-path in the URI: refused by the daemon" '^status=1 .*no PIN, pin-source or module' "$D/adopt-raw.out"
check "  ... still nothing changed" test "$(active_fp)" = "$TP_FP"
check "adopt the ceremony's key with the third party's certificate" c capf adopt --key-uri "$KEY2" --cert "$P/capf-2027.pem" --chain "$P/chain.pem" --yes
check "  ... it is active" test "$(active_fp)" = "$NEW_FP"
c capf show --json >"$D/show-adopt.json"
check "  ... the imported CA is previous, with its LSC count" $PY -c '
import json,sys; d=json.load(open(sys.argv[1]))
assert d["ca"]["key_uri"].startswith("pkcs11:token=capf;object=capf-ca-2027"), d["ca"]
prev={p["sha256"]: p for p in d["previous"]}
assert sys.argv[2] in prev and prev[sys.argv[2]]["valid_lscs"]==1 and sys.argv[3] in prev, prev' "$D/show-adopt.json" "$TP_FP" "$ORIG_FP"
check "  ... exported this time (the folder is writable)" test "$(fp_of "$D/ca/ca.pem")" = "$NEW_FP"
check "  ... with its chain" test "$(grep -c 'BEGIN CERTIFICATE' "$D/ca/ca.pem.chain")" = 2
check "  ... the previous third-party CA keeps its chain (from the store)" $PY -c '
import json,sys; d=json.load(open(sys.argv[1]))
p=[x for x in d["previous"] if x["sha256"]==sys.argv[2]][0]
assert p["chain"]==["CN=TP Issuing CA,O=Third Party","CN=TP Root,O=Third Party"], p' "$D/show-adopt.json" "$TP_FP"
check "trust export for CallManager-trust" c trust export --for callmanager-trust --out "$D/out/cm.pem"
check "  ... new CA, its intermediate and root once, the two previous CAs: 5 certificates" \
  test "$(grep -c 'BEGIN CERTIFICATE' "$D/out/cm.pem")" = 5
# verify_with_bundle BUNDLE LSC: the LSC verifies to the third party's root with the
# bundle's certificates as the chain. The bundle also holds the original self-signed CA,
# with the same subject and key as the third-party signed one: OpenSSL may take it as the
# issuer and stop there (error 19), so the self-signed ones are left out of the chain.
verify_with_bundle() {
  local f
  rm -f "$D"/out/cm-*.pem "$D/out/chain-of-bundle.pem"
  awk -v d="$D/out" '/BEGIN CERT/{n++} {print > (d "/cm-" n ".pem")}' "$1"
  for f in "$D"/out/cm-*.pem; do
    [ "$(ossl x509 -in "$f" -noout -subject | cut -d= -f2-)" = "$(ossl x509 -in "$f" -noout -issuer | cut -d= -f2-)" ] ||
      cat "$f" >>"$D/out/chain-of-bundle.pem"
  done
  ossl verify -CAfile "$P/root.pem" -untrusted "$D/out/chain-of-bundle.pem" "$2"
}
check "  ... LSCs of the previous third-party CA verify with the bundle" \
  verify_with_bundle "$D/out/cm.pem" "$D/SEP00DD00000002.pem"
check "a phone enrolls against the adopted CA" enroll SEP00DD00000003
check "  ... root + intermediate + adopted CA" \
  ossl verify -x509_strict -CAfile "$P/root.pem" -untrusted "$P/int.pem" -untrusted "$P/capf-2027.pem" "$D/SEP00DD00000003.pem"
check "  ... issued with the new key (not the old CA's)" rc 2 ossl verify -partial_chain -CAfile "$P/capf-tp.pem" "$D/SEP00DD00000003.pem"
check "old LSCs still authenticate: the imported CA's" lsc_auth SEP00DD00000002
check "  ... and the original CA's" lsc_auth SEP00DD00000001

# ---- a second ceremony: a self-signed certificate, adopted; restarts keep it --------------------
sed -e 's/capf-ca-2027/capf-ca-2028/g' -e 's/^  csr = {/  certificate = { days = 3650;/' \
    -e 's|capf-ca-2028.csr|capf-ca-2028.pem|' -e 's|rotation/|rotation2/|g' "$D/cer1/rotate.conf" >"$D/cer1/rotate2.conf"
check "a second rotation ceremony (self-signed)" "${CER[@]}" --dir "$D/cer1" "$D/cer1/rotate2.conf"
[ "$(id -u)" = 0 ] && chown -R capf-signer: "$D/tok"
KEY3=$(sed -n 's/.*key URI for capf.conf or `capfctl capf adopt --key-uri`: //p' "$D/cer1/rotation2/transcript.txt")
check "adopt the second ceremony's key and certificate" c capf adopt --key-uri "$KEY3" --cert "$D/cer1/rotation2/capf-ca-2028.pem" --yes
check "  ... active" test "$(active_fp)" = "$(fp_of "$D/cer1/rotation2/capf-ca-2028.pem")"
check "  ... the stale chain export is gone (self-signed)" test ! -e "$D/ca/ca.pem.chain"
check "restart after the adoption" sd_restart
[ -S "$ADMIN" ] || { tail -20 "$LOG"; finish; }
check "  ... the adopted CA is still active" test "$(active_fp)" = "$(fp_of "$D/cer1/rotation2/capf-ca-2028.pem")"
check "  ... a phone enrolls" enroll SEP00DD00000004
check "  ... under the second ceremony's CA" ossl verify -x509_strict -CAfile "$D/cer1/rotation2/capf-ca-2028.pem" "$D/SEP00DD00000004.pem"
check "  ... the first adopted CA's LSC still authenticates" lsc_auth SEP00DD00000003

# ---- regenerate, with its transcript ----------------------------------------------------------
before=$(active_fp)
: >"$D/out/exists.txt"
check "regenerate --transcript to an existing file: refused before any change" rc 1 c capf regenerate --transcript "$D/out/exists.txt" --yes
check_grep "  ... before the warning and the question" '^capfctl capf regenerate: --transcript .*already exists' "$T_TMP/last.out"
check_nogrep "  ... (no warning printed)" 'WARNING' "$T_TMP/last.out"
check "  ... nothing changed" test "$(active_fp)" = "$before"
check "regenerate --transcript" c capf regenerate --transcript "$D/out/regen.txt" --yes
RT=$D/out/regen.txt
check_grep "  ... transcript: what it is" 'capf-appliance CAPF CA regenerate' "$RT"
check_grep "  ... who ran it" '^[0-9TZ:-]+ run by: uid ' "$RT"
check_grep "  ... the key generated in the token" 'step: generated the new CAPF CA key inside the token: pkcs11:token=capf;.*object=capf-ca-2' "$RT"
check_grep "  ... the certificate's SHA-256" "artifact: certificate sha256=$(active_fp | tr -d :)" "$RT"
check_grep "  ... completed" '^result: completed' "$RT"
check "  ... a phone enrolls under the regenerated CA" enroll SEP00DD00000005
check "  ... the LSC of the ceremony's CA still authenticates" lsc_auth SEP00DD00000004

# ---- regenerate failing after its key generation: the new key is destroyed ------------------------
# Another process holds the store's write lock longer than the store waits (5 s): the
# key is made, recording the CA fails, the key pair must go.
objs() { "${RUN_AS[@]}" env SOFTHSM2_CONF="$SOFTHSM2_CONF" "$BIN/capf-token" list --json \
           --uri "pkcs11:token=capf?pin-source=file:$PIN" | grep -o '"label": *"[^"]*"' | sort; }
objs >"$D/objs-before.txt"
before=$(active_fp)
rm -f "$D/state/locked" "$D/state/release"
# holds the write lock until told (at most 30 s)
"${RUN_AS[@]}" $PY -c 'import os,sqlite3,time,sys
c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
for _ in range(600):
    if os.path.exists(sys.argv[3]): break
    time.sleep(0.05)
c.execute("ROLLBACK")' "$D/state/capf.db" "$D/state/locked" "$D/state/release" &
LOCKER=$!
wait_for 5 test -e "$D/state/locked"
check "regenerate while the store cannot be written: exit 1" rc 1 c capf regenerate --yes
: >"$D/state/release"
check_grep "  ... the error says the new key was destroyed" 'recording the new CAPF CA in the store: .*the new key capf-ca-[0-9-]+ was destroyed; nothing changed' "$T_TMP/last.out"
wait "$LOCKER"
check "  ... the CA did not change" test "$(active_fp)" = "$before"
objs >"$D/objs-after.txt"
check "  ... and the token holds exactly the objects it held before" cmp "$D/objs-before.txt" "$D/objs-after.txt"
check_grep "  ... the log says so" 'event=ca_regenerate_failed .*key=destroyed' "$LOG"
finish
