#!/usr/bin/env bash
# The whole appliance (scripts/appliance-local, both daemons, capf-phone over TLS):
# a third-party signed CAPF CA imported, the appliance restarted, phones enrolled
# against root + intermediate + CAPF CA; then a rotation by ceremony in the
# appliance's own token (no init, no SO PIN) adopted with `capfctl capf adopt`, a
# restart, phones enrolled against the new CA, and a phone holding an LSC of the
# previous CA re-enrolling with it (lsc-first).
. tests/lib.sh
. tests/e2e/appliance_lib.sh

check "appliance-local up" app_up
[ -S "$CAPF_ADMIN_SOCKET" ] || finish
O=$T_TMP/out
P=$T_TMP/pki
mkdir -p "$O" "$P"
add() { "${CTL[@]}" device add "$@" >"$T_TMP/ctl.out" 2>&1 || { cat "$T_TMP/ctl.out"; return 1; }; }
active_fp() { "${CTL[@]}" capf show --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["ca"]["sha256"])'; }
fp_of() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }
restart() { app_down; app_up; }

# ---- the third party: root -> intermediate ------------------------------------------------------
tp_pki "$P"

check "schedule install (original CA)" add SEP0000000F0001 --op install --auth null --key-order rsa
phone_rc 0 "enroll under the original CA" --name SEP0000000F0001 --out-cert "$O/f1.pem" --out-key "$O/f1.key"

# ---- import, restart, enroll ----------------------------------------------------------------------
check "capf csr" "${CTL[@]}" capf csr --out "$O/capf.csr"
tp_sign "$O/capf.csr" "$P/capf-tp.pem"
# exit 0, or 1 when ca.certificate's folder is not the signer's to write (then it says so)
"${CTL[@]}" capf import "$P/capf-tp.pem" --chain "$P/chain.pem" --yes >"$T_TMP/import.out" 2>&1
rc=$?
check "capf import of the third-party signed CA (exit $rc)" test "$rc" = 0 -o "$rc" = 1
[ "$rc" = 1 ] && check_grep "  ... exit 1 only for an export it could not write" "capf import: error: the CA is active" "$T_TMP/import.out"
check "  ... active" test "$(active_fp)" = "$(fp_of "$P/capf-tp.pem")"
check "restart the appliance" restart
check "  ... the imported CA is still active" test "$(active_fp)" = "$(fp_of "$P/capf-tp.pem")"
check "schedule install (imported CA)" add SEP0000000F0002 --op install --auth null --key-order ec --curve P-256
phone_rc 0 "enroll after the restart" --name SEP0000000F0002 --out-cert "$O/f2.pem" --out-key "$O/f2.key"
check "  ... the LSC verifies against root + intermediate + CAPF CA" \
  ossl verify -x509_strict -CAfile "$P/root.pem" -untrusted "$P/int.pem" -untrusted "$P/capf-tp.pem" "$O/f2.pem"

# ---- rotation by ceremony in the appliance's token, adopted --------------------------------------
# run by the token's owner (the PIN reader accepts only its owner's PIN file)
R=$T_TMP/rot
mkdir -p "$R"
# the ceremony reaches the token the way the signer does: SoftHSM directly, or (CAPF_E2E_HSM=
# p11-kit) the client module talking to the appliance's p11-kit server
CER_MODULE=$SOFTHSM_MODULE CER_ENV=()
if [ "${CAPF_E2E_HSM:-softhsm}" = p11-kit ]; then
  CER_MODULE=$(sed -n 's/^ *module = "\(.*p11-kit-client.so\)";/\1/p' "$APP/capf.conf")
  CER_ENV=(P11_KIT_SERVER_ADDRESS="unix:path=$APP/p11kit/capf.sock")
  check "p11-kit: token.module is the client module" test -n "$CER_MODULE"
fi
RUNAS=()
if [ "$(id -u)" = 0 ]; then chown capf-signer: "$R"; RUNAS=(setpriv --reuid capf-signer --regid capf-signer --clear-groups); fi
cat >"$R/rotate.conf" <<CONF
ceremony = {
  name = "e2e-rotation";
  operators = [ "Operator: e2e" ];
  transcript = "rotation/transcript.txt";
  token = { module = "$CER_MODULE"; label = "capf"; pin_file = "$APP/signer/token.pin"; init = false; };
  key = { label = "capf-ca-rotated"; type = "rsa:2048"; public_key = "rotation/capf-ca-rotated.pub.pem"; };
  csr = { subject = "/O=Example Corp/OU=Voice/CN=CAPF-rotated"; digest = "sha256"; out = "rotation/capf-ca-rotated.csr"; };
};
CONF
# the wrapper copied where the token's owner can read it (a clone in a 0700 home is not)
install -m 0755 scripts/ceremony "$R/ceremony"
[ ${#RUNAS[@]} -gt 0 ] && chown capf-signer: "$R/ceremony"
check "the rotation ceremony in the appliance's token" "${RUNAS[@]}" env SOFTHSM2_CONF="$APP/signer/softhsm/softhsm2.conf" CAPF_CEREMONY="$BIN/capf-ceremony" "${CER_ENV[@]}" \
  "$R/ceremony" --provider-path "$LIB" --dir "$R" "$R/rotate.conf"
KEY=$(sed -n 's/.*`capfctl capf adopt --key-uri`: //p' "$R/rotation/transcript.txt")
tp_sign "$R/rotation/capf-ca-rotated.csr" "$P/capf-rotated.pem"
"${CTL[@]}" capf adopt --key-uri "$KEY" --cert "$P/capf-rotated.pem" --chain "$P/chain.pem" </dev/null >"$T_TMP/adopt0.out" 2>&1
check "adopt without --yes: exit 4" test $? = 4
check "  ... nothing changed" test "$(active_fp)" = "$(fp_of "$P/capf-tp.pem")"
"${CTL[@]}" capf adopt --key-uri "$KEY" --cert "$P/capf-rotated.pem" --chain "$P/chain.pem" --yes >"$T_TMP/adopt.out" 2>&1
rc=$?
check "capf adopt (exit $rc)" test "$rc" = 0 -o "$rc" = 1
check "  ... the ceremony's key is active" test "$(active_fp)" = "$(fp_of "$P/capf-rotated.pem")"
check "restart the appliance" restart
check "  ... still active" test "$(active_fp)" = "$(fp_of "$P/capf-rotated.pem")"
check "schedule install (adopted CA)" add SEP0000000F0003 --op install --auth null --key-order rsa
phone_rc 0 "enroll against the adopted CA" --name SEP0000000F0003 --out-cert "$O/f3.pem" --out-key "$O/f3.key"
check "  ... root + intermediate + adopted CA" \
  ossl verify -x509_strict -CAfile "$P/root.pem" -untrusted "$P/int.pem" -untrusted "$P/capf-rotated.pem" "$O/f3.pem"
check "a phone with an LSC of the imported (now previous) CA re-enrolls with it" \
  "${CTL[@]}" device set SEP0000000F0002 --op install --auth lsc-first
phone_rc 0 "  ... authenticated by its LSC" --name SEP0000000F0002 --auth lsc --cert "$O/f2.pem" --key "$O/f2.key" --out-cert "$O/f2b.pem" --out-key "$O/f2b.key"
check "  ... its new LSC is from the adopted CA" \
  ossl verify -x509_strict -CAfile "$P/root.pem" -untrusted "$P/int.pem" -untrusted "$P/capf-rotated.pem" "$O/f2b.pem"
check "and one of the original CA too" "${CTL[@]}" device set SEP0000000F0001 --op install --auth lsc-first
phone_rc 0 "  ... authenticated by its LSC" --name SEP0000000F0001 --auth lsc --cert "$O/f1.pem" --key "$O/f1.key"
finish
