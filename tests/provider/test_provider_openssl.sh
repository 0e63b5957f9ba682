#!/usr/bin/env bash
# The capfhsm provider from the stock openssl CLI: self-signed certificates,
# CSRs and raw signatures with token keys (RSA PKCS#1 / PSS, ECDSA), the public
# half on its way out, the private half refused, wrong PINs and modules.
source tests/lib.sh
D=$T_TMP/tok
make_token "$D" T >"$T_TMP/init.log" 2>&1 || { not_ok "make_token"; finish; }
PROV=(-provider-path "$LIB" -provider capfhsm -provider default)
with_env() { ( export "$1"; shift; "$@" ); }
uri() { p11_uri T "$1" "" "${2:-$D/T.pin}"; }

for spec in rsa:2048 ec:P-256 ec:P-384; do
  k=${spec/:/-}
  check "keygen $k" "$BIN/capf-token" keygen --uri "$(uri "$k")" --type "$spec" --pubout "$T_TMP/$k.pub.pem"
done

# Self-signed certificates, verified by the default provider alone.
for k in rsa-2048 ec-P-256 ec-P-384; do
  check "req -x509 $k" ossl req -new -x509 "${PROV[@]}" -key "$(uri "$k")" -subj "/CN=$k" -days 2 -out "$T_TMP/$k.crt"
  check "verify $k" ossl verify -CAfile "$T_TMP/$k.crt" "$T_TMP/$k.crt"
  ossl x509 -in "$T_TMP/$k.crt" -pubkey -noout >"$T_TMP/$k.crtpub.pem"
  check "$k: certificate carries the token's public key" cmp "$T_TMP/$k.pub.pem" "$T_TMP/$k.crtpub.pem"
  ossl x509 -in "$T_TMP/$k.crt" -noout -text >"$T_TMP/$k.txt"
done
check_grep "RSA certificate: sha256WithRSAEncryption" 'Signature Algorithm: sha256WithRSAEncryption' "$T_TMP/rsa-2048.txt"
check_grep "EC certificate: ecdsa-with-SHA256" 'Signature Algorithm: ecdsa-with-SHA256' "$T_TMP/ec-P-256.txt"

# RSA-PSS certificate with SHA-384 and the salt as long as the digest; P-384 with SHA-384.
check "req -x509 RSA-PSS" ossl req -new -x509 "${PROV[@]}" -key "$(uri rsa-2048)" -sha384 \
  -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -subj /CN=pss -out "$T_TMP/pss.crt"
check "verify RSA-PSS" ossl verify -CAfile "$T_TMP/pss.crt" "$T_TMP/pss.crt"
ossl x509 -in "$T_TMP/pss.crt" -noout -text >"$T_TMP/pss.txt"
check_grep "PSS parameters in the certificate" 'Salt Length: 0x30' "$T_TMP/pss.txt"
check "req -x509 P-384 SHA-384" ossl req -new -x509 "${PROV[@]}" -key "$(uri ec-P-384)" -sha384 -subj /CN=e -out "$T_TMP/e384.crt"
check "verify P-384" ossl verify -CAfile "$T_TMP/e384.crt" "$T_TMP/e384.crt"

# pin-source written as a path attribute (the issue's form) works too.
check "req -x509 with ;pin-source= in the path" ossl req -new -x509 "${PROV[@]}" \
  -key "pkcs11:token=T;object=ec-P-256;pin-source=file:$D/T.pin" -subj /CN=path -out "$T_TMP/path.crt"
check "verify it" ossl verify -CAfile "$T_TMP/path.crt" "$T_TMP/path.crt"
check "pkey -pubout, pin-source first in the path" ossl pkey "${PROV[@]}" \
  -in "pkcs11:pin-source=file:$D/T.pin;token=T;object=rsa-2048;type=private" -pubout -out "$T_TMP/path.pub"
check "path form: the token key's public half" cmp "$T_TMP/path.pub" "$T_TMP/rsa-2048.pub.pem"
check "dgst -sign with ;pin-source= in the path" ossl dgst "${PROV[@]}" -sha256 \
  -sign "pkcs11:token=T;object=ec-P-256;pin-source=file:$D/T.pin" -out "$T_TMP/path.sig" "$T_TMP/path.crt"
check "path form signature verifies" ossl dgst -sha256 -verify "$T_TMP/ec-P-256.pub.pem" -signature "$T_TMP/path.sig" "$T_TMP/path.crt"
check_fails "pin-source in both path and query refused" ossl pkey "${PROV[@]}" \
  -in "pkcs11:token=T;object=rsa-2048;pin-source=file:$D/T.pin?pin-source=file:$D/T.pin" -pubout
check_grep "says it is given twice" "capfhsm: .*'pin-source' is given both in the path and in the query" "$T_TMP/last.out"
check_fails "pin-value in the path refused" ossl pkey "${PROV[@]}" -in "pkcs11:token=T;object=rsa-2048;pin-value=1234" -pubout
check_grep "says pin-value is refused" "capfhsm: .*'pin-value' is refused" "$T_TMP/last.out"

# A CSR signed by the token verifies.
check "req -new CSR" ossl req -new "${PROV[@]}" -key "$(uri ec-P-256)" -subj /CN=csr -out "$T_TMP/csr.pem"
check "CSR signature verifies" ossl req -in "$T_TMP/csr.pem" -noout -verify

# Raw signatures with dgst and pkeyutl, verified with the exported public key.
printf 'capf appliance\n' >"$T_TMP/data"
for k in rsa-2048 ec-P-256; do
  check "dgst -sign $k" ossl dgst "${PROV[@]}" -sha512 -sign "$(uri "$k")" -out "$T_TMP/$k.sig" "$T_TMP/data"
  check "dgst -verify $k" ossl dgst -sha512 -verify "$T_TMP/$k.pub.pem" -signature "$T_TMP/$k.sig" "$T_TMP/data"
  printf 'tampered\n' >"$T_TMP/data2"
  check_fails "dgst -verify $k, other data" ossl dgst -sha512 -verify "$T_TMP/$k.pub.pem" -signature "$T_TMP/$k.sig" "$T_TMP/data2"
done
check "pkeyutl PSS sign" ossl pkeyutl "${PROV[@]}" -sign -inkey "$(uri rsa-2048)" -rawin -digest sha256 \
  -pkeyopt rsa_padding_mode:pss -in "$T_TMP/data" -out "$T_TMP/pss.sig"
check "pkeyutl PSS verify (default provider)" ossl pkeyutl -verify -pubin -inkey "$T_TMP/rsa-2048.pub.pem" -rawin -digest sha256 \
  -pkeyopt rsa_padding_mode:pss -in "$T_TMP/data" -sigfile "$T_TMP/pss.sig"

# Objects on the token as OSSL_STORE sees them. capf-token cannot import a
# certificate, so pkcs11-tool writes one as a public object (no login, no PIN).
ossl x509 -in "$T_TMP/ec-P-256.crt" -outform DER -out "$T_TMP/ec.der"
check "write a certificate to the token" pkcs11-tool --module "$SOFTHSM_MODULE" --token-label T \
  --write-object "$T_TMP/ec.der" --type cert --label ec-P-256
check "x509 -in pkcs11: certificate" ossl x509 "${PROV[@]}" -in "pkcs11:token=T;object=ec-P-256;type=cert" -outform DER -out "$T_TMP/tok.der"
check "it is the certificate written" cmp "$T_TMP/ec.der" "$T_TMP/tok.der"
check "storeutl -certs" ossl storeutl "${PROV[@]}" -certs "pkcs11:token=T?pin-source=file:$D/T.pin"
check_grep "storeutl -certs: one certificate" 'Total found: 1' "$T_TMP/last.out"
check_nogrep "storeutl -certs: no keys" '^[0-9]+: (Pkey|Public key)' "$T_TMP/last.out"
check "storeutl -keys" ossl storeutl "${PROV[@]}" -keys "pkcs11:token=T?pin-source=file:$D/T.pin"
check_grep "storeutl -keys: the three private keys" 'Total found: 3' "$T_TMP/last.out"
check "storeutl without login" ossl storeutl "${PROV[@]}" "pkcs11:token=T;object=ec-P-256"
check_grep "without login: public key and certificate" '0: Public key' "$T_TMP/last.out"
check_nogrep "without login: no private key" 'Pkey' "$T_TMP/last.out"
check "storeutl with login: private key first" ossl storeutl "${PROV[@]}" "$(uri ec-P-256)"
check_grep "with login: private key, public key, certificate" 'Total found: 3' "$T_TMP/last.out"
check_grep "with login: 0 is the private key" '^0: Pkey' "$T_TMP/last.out"

# The public half comes out; the private half does not.
check "pkey -pubout" ossl pkey "${PROV[@]}" -in "$(uri rsa-2048)" -pubout -out "$T_TMP/out.pub"
check "pkey -pubout equals capf-token's" cmp "$T_TMP/out.pub" "$T_TMP/rsa-2048.pub.pem"
check_fails "pkey (private PEM) refused" ossl pkey "${PROV[@]}" -in "$(uri rsa-2048)" -out "$T_TMP/priv.pem"
check_grep "says the private half never leaves the token" 'never leaves the token' "$T_TMP/last.out"
check_fails "SHA-1 signature refused" ossl req -new -x509 "${PROV[@]}" -key "$(uri rsa-2048)" -sha1 -subj /CN=x -out "$T_TMP/sha1.crt"
check_grep "says why SHA-1 is refused" 'capfhsm: .*SHA-256' "$T_TMP/last.out"

# Wrong PIN: a message, no key.
secret_file "$T_TMP/wrong.pin" 999999
check_fails "wrong PIN refused" ossl pkey "${PROV[@]}" -in "$(uri rsa-2048 "$T_TMP/wrong.pin")" -pubout
check_grep "wrong PIN: capfhsm message" 'capfhsm: .*(PIN|CKR_PIN)' "$T_TMP/last.out"
cp "$T_TMP/last.out" "$T_TMP/wrongpin.out"
check_fails "no pin-source: no private key" ossl pkey "${PROV[@]}" -in "pkcs11:token=T;object=rsa-2048" -pubout
check_grep "no pin-source: says why" 'not logged in' "$T_TMP/last.out"
check_fails "missing key refused" ossl pkey "${PROV[@]}" -in "$(uri nosuchkey)" -pubout
check_grep "missing key: says so" "capfhsm: no private key on the token matches .*object=nosuchkey" "$T_TMP/last.out"

# The module: from openssl.cnf (pkcs11-module-path), else $CAPFHSM_MODULE, else SoftHSM's default path.
cat >"$T_TMP/bad.cnf" <<CNF
openssl_conf = init
[init]
providers = provs
[provs]
capfhsm = capfhsm_sect
default = default_sect
[capfhsm_sect]
module = $LIB/capfhsm.so
pkcs11-module-path = /nonexistent/libpkcs11.so
activate = 1
[default_sect]
activate = 1
CNF
sed "s|/nonexistent/libpkcs11.so|$SOFTHSM_MODULE|" "$T_TMP/bad.cnf" >"$T_TMP/good.cnf"
check_fails "module from openssl.cnf (missing) used" with_env OPENSSL_CONF="$T_TMP/bad.cnf" \
  with_env CAPFHSM_MODULE="$SOFTHSM_MODULE" ossl pkey -in "$(uri rsa-2048)" -pubout
check_grep "names the configured module" '/nonexistent/libpkcs11.so' "$T_TMP/last.out"
check "module from openssl.cnf (SoftHSM)" with_env OPENSSL_CONF="$T_TMP/good.cnf" \
  with_env CAPFHSM_MODULE=/nonexistent/other.so ossl pkey -in "$(uri rsa-2048)" -pubout
check_fails "module from \$CAPFHSM_MODULE used" with_env CAPFHSM_MODULE=/nonexistent/env.so ossl pkey "${PROV[@]}" -in "$(uri rsa-2048)" -pubout
check_grep "names the module from the environment" '/nonexistent/env.so' "$T_TMP/last.out"
check_fails "module-path in the URI refused" ossl pkey "${PROV[@]}" -in "$(uri rsa-2048)&module-path=/tmp/evil.so" -pubout
check_grep "says where the module comes from" 'pkcs11-module-path' "$T_TMP/last.out"
check_fails "module-path in the URI's path refused" ossl pkey "${PROV[@]}" -in "pkcs11:token=T;object=rsa-2048;module-path=/tmp/evil.so;pin-source=file:$D/T.pin" -pubout
check_grep "path form: says where the module comes from" 'pkcs11-module-path' "$T_TMP/last.out"
# a URI naming the very module the provider is configured with is accepted
check "module-path equal to the configured module accepted" with_env OPENSSL_CONF="$T_TMP/good.cnf" \
  ossl pkey -in "$(uri rsa-2048)&module-path=$SOFTHSM_MODULE" -pubout
check "module-path equal to \$CAPFHSM_MODULE accepted" with_env CAPFHSM_MODULE="$SOFTHSM_MODULE" \
  ossl pkey "${PROV[@]}" -in "$(uri rsa-2048)&module-path=$SOFTHSM_MODULE" -pubout
# the provider's other parameters (what appliance/common/hsm.c hands it from capf.conf)
sed "s|^activate = 1\$|capfhsm-reinit-module = 1\ncapfhsm-recover-ms = 500\ncapfhsm-sessions = 2\nactivate = 1|" \
  "$T_TMP/good.cnf" >"$T_TMP/params.cnf"
check "reinit, recover gap and sessions accepted" with_env OPENSSL_CONF="$T_TMP/params.cnf" \
  ossl pkey -in "$(uri rsa-2048)" -pubout
sed "s|^capfhsm-sessions = 2|capfhsm-sessions = 65|" "$T_TMP/params.cnf" >"$T_TMP/badparams.cnf"
# (the CLI does not print a provider's configuration errors: the provider is just not there)
check_fails "capfhsm-sessions out of range: the provider refuses to start" \
  with_env OPENSSL_CONF="$T_TMP/badparams.cnf" ossl pkey -in "$(uri rsa-2048)" -pubout
check_grep "so nothing can open pkcs11: URIs" 'unregistered scheme.*scheme=pkcs11' "$T_TMP/last.out"
finish
