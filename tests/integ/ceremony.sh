#!/usr/bin/env bash
# The key ceremony: the example config runs on a fresh SoftHSM token, every output
# verifies against the token key, and a second run refuses to overwrite anything.
. tests/lib.sh
D=$T_TMP/run
mkdir -p "$D"
EX=scripts/ceremony.example.conf
CER=(scripts/ceremony --provider-path "$LIB" --dir "$D")

check "the example config validates" "${CER[@]}" --check "$EX"
check "the ceremony runs" "${CER[@]}" "$EX"
cp "$T_TMP/last.out" "$T_TMP/run1.out"
export SOFTHSM2_CONF=$D/signer/softhsm/softhsm2.conf

for f in signer/token.pin signer/token.sopin; do
  check "$f is 0600" test "$(stat -c %a "$D/$f")" = 600
done
check_nogrep "no PIN in the transcript" "$(cat "$D/signer/token.pin")" "$D/ceremony/transcript.txt"
check_nogrep "no PIN on stdout" "$(cat "$D/signer/token.pin")" "$T_TMP/run1.out"

ossl x509 -in "$D/ceremony/capf-ca.pem" -noout -text >"$T_TMP/cert.txt" 2>&1
check_grep "basicConstraints critical" 'X509v3 Basic Constraints: critical' "$T_TMP/cert.txt"
check_grep "CA:TRUE, pathlen:0" 'CA:TRUE, pathlen:0' "$T_TMP/cert.txt"
check_grep "keyUsage critical" 'X509v3 Key Usage: critical' "$T_TMP/cert.txt"
check_grep "digitalSignature, keyCertSign" 'Digital Signature, Certificate Sign' "$T_TMP/cert.txt"
check_grep "subject from the config" 'Subject: C = US, O = Example Corp, OU = Voice, CN = CAPF-development' "$T_TMP/cert.txt"
check_grep "sha256 signature" 'Signature Algorithm: sha256WithRSAEncryption' "$T_TMP/cert.txt"
check "the certificate verifies as its own root" ossl verify -x509_strict -CAfile "$D/ceremony/capf-ca.pem" "$D/ceremony/capf-ca.pem"
check "the certificate carries the public key written" \
  cmp <(ossl x509 -in "$D/ceremony/capf-ca.pem" -noout -pubkey) "$D/ceremony/capf-ca.pub.pem"

# The transcript: operators, steps, and the SHA-256 of each artifact as it is on disk.
T=$D/ceremony/transcript.txt
check_grep "transcript names the operators" 'operator: Witness: B. Auditor' "$T"
check_grep "transcript records the key generation" 'step: generated rsa:2048 key "capf-ca"' "$T"
check_grep "transcript says the key is not extractable" 'CKA_EXTRACTABLE=false' "$T"
check_grep "transcript completed" '^result: completed' "$T"
for f in ceremony/capf-ca.pem ceremony/capf-ca.pub.pem; do
  sum=$(sha256sum "$D/$f" | cut -d' ' -f1)
  check_grep "transcript has the SHA-256 of $f" "^  $sum  " "$T"
done

# The key is in the token, private, and cannot be read out.
check "capf-token lists the key" "$BIN/capf-token" list --uri "pkcs11:token=capf?pin-source=file:$D/signer/token.pin" --json
check_grep "the private key is sensitive and not extractable" '"sensitive": *true.*"extractable": *false|"extractable": *false.*"sensitive": *true' "$T_TMP/last.out"

# The audit key and the HMAC key of authentication strings.
check_grep "transcript records the audit key" 'step: generated ec:P-256 audit key "capf-audit"' "$T"
check_grep "  ...verified against the exported public key" 'audit-key signature verifies with .*capf-audit.pub.pem' "$T"
ossl pkey -pubin -in "$D/ceremony/capf-audit.pub.pem" -noout -text >"$T_TMP/audit.txt" 2>&1
check_grep "the audit public key is an EC P-256 public key" 'ASN1 OID: prime256v1' "$T_TMP/audit.txt"
check_grep "transcript records the HMAC key" 'generic secret key "capf-auth"' "$T"
check_grep "  ...sensitive, not extractable, HMAC works" 'CKA_EXTRACTABLE=false; CKM_SHA256_HMAC works' "$T"
sum=$(sha256sum "$D/ceremony/capf-audit.pub.pem" | cut -d' ' -f1)
check_grep "transcript has the SHA-256 of the audit public key" "^  $sum  " "$T"
check "capf-token sees the secret key" "$BIN/capf-token" list --uri "pkcs11:token=capf;object=capf-auth?pin-source=file:$D/signer/token.pin" --json
check_grep "  ...sensitive and not extractable" '"sensitive": *true.*"extractable": *false|"extractable": *false.*"sensitive": *true' "$T_TMP/last.out"

# A second run changes nothing.
before=$(find "$D" -type f -exec sha256sum {} + | sort)
check_fails "a second run refuses" "${CER[@]}" "$EX"
check_grep "it says which file exists" 'already exists; a ceremony never overwrites' "$T_TMP/last.out"
after=$(find "$D" -type f -exec sha256sum {} + | sort)
check "nothing changed on disk" test "$before" = "$after"

# Only the transcript in the way: the token still refuses the existing key label.
rm "$D/ceremony/transcript.txt" "$D/ceremony/capf-ca.pem" "$D/ceremony/capf-ca.pub.pem" \
  "$D/ceremony/capf-audit.pub.pem"
sed -e 's/init = true;/init = false;/' -e '/softhsm_dir/d' -e '/so_pin_file/d' "$EX" >"$T_TMP/again.conf"
check_fails "an existing key label is refused" "${CER[@]}" "$T_TMP/again.conf"
check_grep "the label is named" 'capf-ca' "$T_TMP/last.out"
check_grep "the failure is in the transcript" '^result: FAILED' "$D/ceremony/transcript.txt"

# A CSR for a third-party CA, with an EC key on the same token.
sed -e 's/init = true;/init = false;/' -e '/softhsm_dir/d' -e '/so_pin_file/d' \
    -e 's/label = "capf-ca";/label = "capf-ca-2";/' -e 's/type = "rsa:2048"/type = "ec:P-384"/' \
    -e 's/label = "capf-audit";/label = "capf-audit-2";/' -e 's/label = "capf-auth";/label = "capf-auth-2";/' \
    -e 's|ceremony/|csr/|g' -e 's/^  certificate = {/  csr = {/' -e '/days = 3650;/d' "$EX" >"$T_TMP/csr.conf"
check "a CSR ceremony runs" "${CER[@]}" "$T_TMP/csr.conf"
check "the CSR verifies" ossl req -in "$D/csr/capf-ca.pem" -noout -verify
ossl req -in "$D/csr/capf-ca.pem" -noout -text >"$T_TMP/csr.txt" 2>&1
check_grep "the CSR asks for CA:TRUE, pathlen:0" 'CA:TRUE, pathlen:0' "$T_TMP/csr.txt"
check_grep "the CSR asks for keyCertSign" 'Digital Signature, Certificate Sign' "$T_TMP/csr.txt"

# ---- nothing generated before the early checks; no orphan key after a late failure --------
SPY=$PWD/$BUILD/tests/libp11spy.so
TOKLIST=(env -u P11SPY_REFUSE_SIGN -u P11SPY_REFUSE_DESTROY "$BIN/capf-token" list --json
         --uri "pkcs11:token=capf?pin-source=file:$D/signer/token.pin")
# rot.conf LABEL DIR: a rotation ceremony in the existing token, through the spy module
rotconf() {
  sed -e 's/init = true;/init = false;/' -e '/softhsm_dir/d' -e '/so_pin_file/d' \
      -e "s/label = \"capf-ca\";/label = \"$1\";/" -e "s|ceremony/|$2/|g" \
      -e "s|module = \"/usr/lib/softhsm/libsofthsm2.so\";|module = \"$SPY\";|" "$EX"
}
"${TOKLIST[@]}" >"$T_TMP/objs-before.json" 2>&1
rotconf capf-ca-late late >"$T_TMP/late.conf"
check "a rotation ceremony through another module validates" "${CER[@]}" --check "$T_TMP/late.conf"
check_fails "a ceremony that fails after the key generation (the token refuses to sign)" \
  env P11SPY_REFUSE_SIGN=1 "${CER[@]}" "$T_TMP/late.conf"
check_grep "  ... says the key was destroyed" 'new key pair "capf-ca-late" was destroyed' "$T_TMP/last.out"
check_grep "  ... the transcript records the generation" 'step: generated rsa:2048 key "capf-ca-late"' "$D/late/transcript.txt"
check_grep "  ... and the destruction" 'was destroyed: nothing is left in the token' "$D/late/transcript.txt"
check_grep "  ... and the failure" '^result: FAILED' "$D/late/transcript.txt"
"${TOKLIST[@]}" >"$T_TMP/objs-late.json" 2>&1
check_nogrep "  ... no object labelled capf-ca-late is left in the token" 'capf-ca-late' "$T_TMP/objs-late.json"
check "  ... the token holds what it held before" cmp "$T_TMP/objs-before.json" "$T_TMP/objs-late.json"
check "  ... no public key file of a key that is gone" test ! -e "$D/late/capf-ca.pub.pem"

rotconf capf-ca-stuck stuck >"$T_TMP/stuck.conf"
check_fails "a late failure where the token refuses to destroy the key" \
  env P11SPY_REFUSE_SIGN=1 P11SPY_REFUSE_DESTROY=1 "${CER[@]}" "$T_TMP/stuck.conf"
check_grep "  ... the error names the key left behind" 'refused to destroy the new key pair "capf-ca-stuck".*left in token "capf"' "$T_TMP/last.out"
check_grep "  ... and why (the token's answer)" 'CKR_ACTION_PROHIBITED' "$T_TMP/last.out"
check_grep "  ... so does the transcript" 'LEFT IN THE TOKEN: .*"capf-ca-stuck"' "$D/stuck/transcript.txt"
"${TOKLIST[@]}" >"$T_TMP/objs-stuck.json" 2>&1
check_grep "  ... (it is there indeed)" 'capf-ca-stuck' "$T_TMP/objs-stuck.json"

# early checks: each fails before the transcript, the token or any key
rotconf capf-ca-early early >"$T_TMP/early.conf"
: >"$D/notadir"
sed -e "s|public_key = \"early/capf-ca.pub.pem\"|public_key = \"notadir/capf-ca.pub.pem\"|" "$T_TMP/early.conf" >"$T_TMP/early1.conf"
check_fails "an output under a file that is not a folder is refused" "${CER[@]}" "$T_TMP/early1.conf"
check_grep "  ... named" 'notadir is not a folder' "$T_TMP/last.out"
sed -e "s|module = \"$SPY\"|module = \"$D/no-such-module.so\"|" "$T_TMP/early.conf" >"$T_TMP/early2.conf"
check_fails "a module that does not exist is refused" "${CER[@]}" "$T_TMP/early2.conf"
check_grep "  ... named as token.module" 'no-such-module.so .token.module.: No such file' "$T_TMP/last.out"
check_fails "a provider folder without capfhsm.so is refused" scripts/ceremony --provider-path "$D" --dir "$D" "$T_TMP/early.conf"
check_grep "  ... before anything is generated" 'FAILED: loading the capfhsm provider' "$D/early/transcript.txt"
check_nogrep "  ... (no key generation in the transcript)" 'generated' "$D/early/transcript.txt"
rm -rf "$D/early"
rotconf capf-ca taken >"$T_TMP/taken.conf"
check_fails "a label already in the token is refused before the key generation" "${CER[@]}" "$T_TMP/taken.conf"
check_grep "  ... the transcript says so" "FAILED: key label: .*'capf-ca' already exists" "$D/taken/transcript.txt"
check_nogrep "  ... and generated nothing" 'step: generated' "$D/taken/transcript.txt"
"${TOKLIST[@]}" >"$T_TMP/objs-end.json" 2>&1
check "  ... the token holds only what it held (and the stuck key)" test \
  "$(grep -c '"label"' "$T_TMP/objs-end.json")" = "$(( $(grep -c '"label"' "$T_TMP/objs-before.json") + 2 ))"

# Strict configuration errors name file, line and setting.
printf 'ceremony = {\n  name = "x";\n  operators = ["a"];\n  transcript = "t";\n  bogus = 1;\n  token = { label = "t"; pin_file = "p"; };\n  key = { label = "k"; type = "rsa:1024"; public_key = "k.pem"; };\n  certificate = { subject = "/CN=x"; out = "c.pem"; days = 0; };\n};\n' >"$T_TMP/bad.conf"
check_fails "a bad config is refused" "${CER[@]}" --check "$T_TMP/bad.conf"
check_grep "unknown setting named with its line" 'bad.conf:5: ceremony.bogus: unknown setting' "$T_TMP/last.out"
check_grep "bad key type named with its line" 'bad.conf:7: ceremony.key.type: "rsa:1024" not allowed' "$T_TMP/last.out"
check_grep "out-of-range days named" 'bad.conf:8: ceremony.certificate.days: 0 out of range' "$T_TMP/last.out"
printf '@include "/etc/passwd"\nceremony = {};\n' >"$T_TMP/inc.conf"
check_fails "@include is refused" "${CER[@]}" --check "$T_TMP/inc.conf"
check_grep "@include message" '@include is not allowed' "$T_TMP/last.out"
finish
