#!/usr/bin/env bash
# capf-token against a throwaway SoftHSM token: init, keygen (every key type),
# list, pubkey, info, and the refusals (existing label/token/file, bad PIN files,
# PINs in URIs, usage errors).
. "$(dirname "$0")/../lib.sh"

B=$BIN/capf-token
D=$T_TMP
check "make_token initialises a token" make_token "$D" CAPFT
PIN=$D/CAPFT.pin
U="pkcs11:token=CAPFT"
UP="?pin-source=file:$PIN"

# --help and usage errors
for c in init keygen list pubkey info; do
  check "$c --help exits 0" "$B" $c --help
  "$B" $c --help >"$D/help" 2>&1
  check_grep "$c --help documents exit codes" "0 success, 1 error, 2 usage" "$D/help"
done
check "--help exits 0" "$B" --help
"$B" >/dev/null 2>&1; check "no command: exit 2" test $? -eq 2
"$B" frobnicate >/dev/null 2>&1; check "unknown command: exit 2" test $? -eq 2
"$B" keygen --uri "$U;object=x$UP" >/dev/null 2>&1; check "keygen without --type: exit 2" test $? -eq 2
"$B" keygen --uri "$U;object=x$UP" --type rsa:1024 >"$D/out" 2>&1; check "keygen rsa:1024: exit 2" test $? -eq 2
check_grep "keygen rsa:1024 says what is allowed" "use rsa:2048, rsa:3072, rsa:4096, ec:P-256" "$D/out"
"$B" keygen --uri "$U;object=x?pin-value=1234" --type ec:P-256 >"$D/out" 2>&1; check "pin-value in URI: exit 2" test $? -eq 2
check_grep "pin-value refusal says to use a file" "pin-value' is refused.*pin-source=file" "$D/out"
"$B" keygen --uri "$U$UP" --type ec:P-256 >"$D/out" 2>&1; check "keygen without object=: exit 2" test $? -eq 2
"$B" keygen --uri "$U;object=x" --type ec:P-256 >"$D/out" 2>&1; check "keygen without pin-source: exit 2" test $? -eq 2
"$B" list --uri "pkcs11:tokn=CAPFT" >"$D/out" 2>&1; check "unknown URI attribute: exit 2" test $? -eq 2
check_grep "unknown attribute is named" "unknown path attribute 'tokn'" "$D/out"
"$B" keygen --uri "$U;object=x$UP" --type ec:P-256 --id 0g >/dev/null 2>&1; check "bad --id: exit 2" test $? -eq 2

# init refusals
"$B" init --module "$SOFTHSM_MODULE" --label CAPFT --so-pin-file "$D/CAPFT.sopin" --pin-file "$PIN" >"$D/out" 2>&1
check "init of an existing label: exit 1" test $? -eq 1
check_grep "init says the token exists" "a token labelled 'CAPFT' already exists" "$D/out"
secret_file "$D/open.pin" 1234; chmod 0644 "$D/open.pin"
"$B" init --module "$SOFTHSM_MODULE" --label OTHER --so-pin-file "$D/open.pin" --pin-file "$PIN" >"$D/out" 2>&1
check "init with a 0644 SO PIN file: exit 1" test $? -eq 1
check_grep "init says chmod 600" "chmod 600" "$D/out"

# keygen, every type but rsa:4096 (slow to generate; tests/integ/test_p11_token.c has it)
for t in rsa:2048 rsa:3072 ec:P-256 ec:P-384 ec:P-521; do
  l=key-${t/:/-}
  check "keygen $t" "$B" keygen --uri "$U;object=$l$UP" --type $t --pubout "$D/$l.pem"
  cp "$T_TMP/last.out" "$D/$l.out"
  check_grep "keygen $t prints the URI without pin-source" "^uri: pkcs11:token=CAPFT;.*object=$l;id=.*type=private$" "$D/$l.out"
  check_nogrep "keygen $t URI has no PIN source" "pin-source" "$D/$l.out"
  check "$t public key is 0644" test "$(stat -c %a "$D/$l.pem")" = 644
  check "$t public key parses" ossl pkey -pubin -in "$D/$l.pem" -noout
  want=$(ossl pkey -pubin -in "$D/$l.pem" -outform DER | sha256sum | cut -d' ' -f1)
  check_grep "$t SPKI SHA-256 matches openssl's" "^spki-sha256: $want$" "$D/$l.out"
done
ossl pkey -pubin -in "$D/key-rsa-3072.pem" -noout -text >"$D/out" 2>&1
check_grep "rsa:3072 is 3072 bits" "Public-Key: \(3072 bit\)" "$D/out"
check_grep "rsa:3072 exponent is 65537" "Exponent: 65537" "$D/out"
ossl pkey -pubin -in "$D/key-ec-P-384.pem" -noout -text >"$D/out" 2>&1
check_grep "ec:P-384 is on secp384r1" "secp384r1|P-384" "$D/out"

# keygen refusals
"$B" keygen --uri "$U;object=key-ec-P-256$UP" --type ec:P-256 >"$D/out" 2>&1
check "keygen of an existing label: exit 1" test $? -eq 1
check_grep "keygen says the label exists" "'key-ec-P-256' already exists" "$D/out"
"$B" keygen --uri "$U;object=fresh$UP" --type ec:P-256 --pubout "$D/key-ec-P-256.pem" >"$D/out" 2>&1
check "keygen onto an existing --pubout: exit 1" test $? -eq 1
check_grep "keygen refuses to overwrite" "exists; refusing to overwrite" "$D/out"
"$B" list --uri "$U;object=fresh$UP" >"$D/out" 2>&1
check_nogrep "no key was generated for the refused --pubout" "fresh" "$D/out"
check "keygen with --id" "$B" keygen --uri "$U;object=with-id$UP" --type ec:P-256 --id 0a0B
check_grep "the given id is in the URI" "id=%0a%0b;" "$T_TMP/last.out"

# list
check "list" "$B" list --uri "$U$UP"
cp "$T_TMP/last.out" "$D/list"
check_grep "list shows a private RSA 3072 key, sensitive, not extractable" "^private +rsa +3072 +yes +no +[0-9a-f]{32} +key-rsa-3072$" "$D/list"
check_grep "list shows a private P-521 key" "^private +ec +P-521 +yes +no .*key-ec-P-521$" "$D/list"
check_grep "list shows public keys" "^public +ec +P-384 .*key-ec-P-384$" "$D/list"
check "list counts 12 objects" test "$(grep -cE '^(private|public) ' "$D/list")" -eq 12
check "list --json" "$B" list --uri "$U$UP" --json
cp "$T_TMP/last.out" "$D/list.json"
check "list --json is JSON" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d)==12; assert all(o["sensitive"] and not o["extractable"] for o in d if o["class"]=="private"); assert any(o["id"]=="0a0b" for o in d)' "$D/list.json"
check "list without PIN shows public objects only" "$B" list --uri "$U"
check_nogrep "no private objects without login" "^private" "$T_TMP/last.out"
check "list filtered by type=private and object" "$B" list --uri "$U;object=key-rsa-2048;type=private$UP"
check "filtered list has one row" test "$(grep -c key-rsa-2048 "$T_TMP/last.out")" -eq 1

# pin-source written in the path (";pin-source=", as many tools write it) works like the query form
PP=";pin-source=file:$PIN"
check "keygen with pin-source in the path" "$B" keygen --uri "$U;object=path-form$PP" --type ec:P-256 --pubout "$D/path-form.pem"
check_grep "path-form keygen prints the URI without pin-source" "^uri: pkcs11:token=CAPFT;.*object=path-form;id=.*type=private$" "$T_TMP/last.out"
check "list with pin-source in the path" "$B" list --uri "$U$PP"
cp "$T_TMP/last.out" "$D/list-path"
check "list with pin-source in the query" "$B" list --uri "$U$UP"
cp "$T_TMP/last.out" "$D/list-query"
check "path and query forms list the same objects" cmp "$D/list-path" "$D/list-query"
check_grep "path form lists the private key it made" "^private +ec +P-256 .*path-form$" "$D/list-path"
check "pubkey of the private key, pin-source first in the path" "$B" pubkey --uri "pkcs11:pin-source=file:$PIN;token=CAPFT;object=path-form;type=private"
cp "$T_TMP/last.out" "$D/path-form.out"
check "its public half equals --pubout" cmp "$D/path-form.out" "$D/path-form.pem"
"$B" list --uri "$U$PP$UP" >"$D/out" 2>&1; check "pin-source in both path and query: exit 2" test $? -eq 2
check_grep "the duplicate is named" "'pin-source' is given both in the path and in the query" "$D/out"
"$B" list --uri "$U;pin-value=1234" >"$D/out" 2>&1; check "pin-value in the path: exit 2" test $? -eq 2
check_grep "path pin-value refusal says to use a file" "pin-value' is refused.*pin-source=file" "$D/out"
"$B" list --uri "$U;pin-source=file:$D/wrong-path.pin" >"$D/out" 2>&1; check "missing path-form PIN file: exit 1" test $? -eq 1
check_grep "missing path-form PIN file is named" "wrong-path.pin" "$D/out"
"$B" info --uri "$U;module-path=/nonexistent3.so" >"$D/out" 2>&1; check "module-path in the path is used: exit 1" test $? -eq 1
check_grep "path-form module is named" "/nonexistent3.so" "$D/out"

# pubkey
check "pubkey of a public key without login" "$B" pubkey --uri "$U;object=key-ec-P-521"
cp "$T_TMP/last.out" "$D/p521.out"
check "pubkey equals keygen's --pubout" cmp "$D/p521.out" "$D/key-ec-P-521.pem"
check "pubkey of the private key (logged in)" "$B" pubkey --uri "$U;object=key-rsa-3072;type=private$UP"
cp "$T_TMP/last.out" "$D/rsa3072.out"
check "private key's public half equals --pubout" cmp "$D/rsa3072.out" "$D/key-rsa-3072.pem"
check "pubkey --out" "$B" pubkey --uri "$U;object=key-ec-P-256" --out "$D/p256.pem"
check "pubkey --out file equals --pubout" cmp "$D/p256.pem" "$D/key-ec-P-256.pem"
check_fails "pubkey --out refuses to overwrite" "$B" pubkey --uri "$U;object=key-ec-P-256" --out "$D/p256.pem"
check_fails "pubkey of a missing key" "$B" pubkey --uri "$U;object=nosuch"

# info
check "info" "$B" info --uri "$U"
check_grep "info shows the label" "^label: +CAPFT$" "$T_TMP/last.out"
check_grep "info shows the PIN state" "^user PIN: +ok$" "$T_TMP/last.out"
check "info --json" "$B" info --uri "$U" --json
cp "$T_TMP/last.out" "$D/info.json"
check "info --json is JSON" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["label"]=="CAPFT" and d["user_pin"]=="ok" and "token-initialized" in d["flags"]' "$D/info.json"
check_fails "info of a missing token" "$B" info --uri "pkcs11:token=NOSUCH"
check_grep "missing token is named" "token=NOSUCH" "$T_TMP/last.out"

# module selection
check "CAPFHSM_MODULE is used" env CAPFHSM_MODULE="$SOFTHSM_MODULE" "$B" info --uri "$U"
check_fails "--module overrides CAPFHSM_MODULE" env CAPFHSM_MODULE="$SOFTHSM_MODULE" "$B" info --uri "$U" --module /nonexistent.so
check_grep "bad module is named" "/nonexistent.so" "$T_TMP/last.out"
check_fails "module-path in the URI is used" "$B" info --uri "$U?module-path=/nonexistent2.so"
check_grep "URI module is named" "/nonexistent2.so" "$T_TMP/last.out"

# PIN files
chmod 0644 "$PIN"
check_fails "a 0644 PIN file is refused" "$B" list --uri "$U$UP"
check_grep "refusal says chmod 600" "mode 0644 .*chmod 600" "$T_TMP/last.out"
chmod 0600 "$PIN"
ln -s "$PIN" "$D/link.pin"
check_fails "a symlinked PIN file is refused" "$B" list --uri "$U?pin-source=file:$D/link.pin"
check_grep "refusal names the symlink" "symbolic link" "$T_TMP/last.out"
secret_file "$D/wrong.pin" 999999
"$B" list --uri "$U?pin-source=file:$D/wrong.pin" >"$D/out" 2>&1
check "a wrong PIN: exit 1" test $? -eq 1
check_grep "wrong PIN is reported clearly" "wrong PIN for token CAPFT \(from file $D/wrong.pin\); not retried" "$D/out"
check "wrong PIN reported once" test "$(grep -c 'wrong PIN' "$D/out")" -eq 1
check_nogrep "the PIN is not printed" "999999" "$D/out"
check "info after a wrong PIN" "$B" info --uri "$U"
check_grep "info shows the failed login" "^user PIN: +count-low$" "$T_TMP/last.out"
check "the right PIN still works" "$B" list --uri "$U$UP"
finish
