#!/usr/bin/env bash
# The ITL (ITLFile.tlv): the ceremony makes a SAST key and certificate in the token,
# `capfctl itl build` signs a file with it through capfhsm, and this test reads the file
# back INDEPENDENTLY of the codec (a Python parser written from certutils' tlvfile
# format, the signature checked by the stock openssl CLI with the SAST public key):
# version, header, record count, each record's role and certificate bytes, signature.
# Then `itl show` on good, tampered and truncated files, the refusals of `itl build`,
# and `itl record` against the real capf-signerd: the CAPF record of its TLS certificate.
. tests/lib.sh
D=$T_TMP/run
mkdir -p "$D/in" "$D/out"
CTL=$BIN/capfctl
CER=(scripts/ceremony --provider-path "$LIB" --dir "$D")

# ---- the token: CAPF CA ceremony, then the SAST ceremony in the same token ---------
check "CAPF CA ceremony" "${CER[@]}" scripts/ceremony.example.conf
export SOFTHSM2_CONF=$D/signer/softhsm/softhsm2.conf
check "SAST ceremony (scripts/ceremony.sast.example.conf) validates" "${CER[@]}" --check scripts/ceremony.sast.example.conf
check "SAST ceremony runs in the existing token" "${CER[@]}" scripts/ceremony.sast.example.conf
SAST=$D/ceremony/itl-sast.pem
PIN=$D/signer/token.pin
SKEY="pkcs11:token=capf;object=itl-sast;type=private"
check "the SAST key is in the token, not extractable" "$BIN/capf-token" list --uri "pkcs11:token=capf?pin-source=file:$PIN" --json
check_grep "  ... itl-sast listed" '"itl-sast"' "$T_TMP/last.out"

# ---- the other certificates: a CCM (EC) and a TFTP (RSA) server ----------------------
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$D/in/ccm.key" \
  -subj "/O=Example Corp/CN=cucm.example.com" -days 30 -out "$D/in/ccm.pem" 2>/dev/null
ossl req -x509 -newkey rsa:2048 -nodes -keyout "$D/in/tftp.key" \
  -subj "/O=Example; Corp, Inc/CN=tftp.example.com/emailAddress=ops@example.com" -days 30 -outform DER \
  -out "$D/in/tftp.der" 2>/dev/null
CONF=$D/capf.conf
cat >"$CONF" <<CONF
token: { module = "$SOFTHSM_MODULE"; ca_key_uri = "pkcs11:token=capf;object=capf-ca;type=private"; pin_source = "$PIN"; };
ca: { certificate = "$D/ceremony/capf-ca.pem"; };
sockets: { dir = "$D/sock"; front_uids = [$(id -u)]; admin_uids = [$(id -u)]; };
store: { path = "$D/state/capf.db"; };
CONF
mkdir -p "$D/state"

# verify FILE DIGEST ROLE:CERT...: the independent check of a built file
verify() {
  local file=$1 digest=$2; shift 2
  $PY - "$file" "$D/sig.bin" "$D/signed.bin" "$digest" "$@" >"$T_TMP/py.out" 2>&1 <<'PYEOF' || { cat "$T_TMP/py.out"; return 1; }
import struct, subprocess, sys
data = open(sys.argv[1], "rb").read()
sigf, signedf, digest, want = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
ROLES = {"SAST": 0, "CCM": 1, "CCM+TFTP": 2, "TFTP": 3, "CAPF": 4, "APP-SERVER": 7, "TVS": 21}
def tlv(i):
    t, n = struct.unpack_from(">BH", data, i)
    assert i + 3 + n <= len(data), ("TLV past the end", i)
    return t, data[i + 3:i + 3 + n], i + 3 + n
t, v, i = tlv(0)
assert t == 1 and v == b"\x01\x02", ("HEADER_VERSION", t, v)
t, v, i = tlv(i)
assert t == 2 and len(v) == 2, "HEADER_LENGTH"
hlen = struct.unpack(">H", v)[0]
assert hlen % 4 == 0 and hlen <= len(data), hlen
hdr, sig_at, sig = {}, None, None
while i < hlen:
    if data[i] == 13:                       # padding
        i += 1; continue
    t, n = struct.unpack_from(">BH", data, i)
    if t in (3, 7, 9):                      # containers: members follow
        end = i + 3 + n; i += 3; hdr.setdefault("containers", []).append((t, n, end)); continue
    t, v, j = tlv(i)
    assert t not in hdr, ("header tag twice", t)
    hdr[t] = v
    if t == 12:
        sig_at, sig = i, v
    i = j
assert i == hlen, (i, hlen)
for t, n, end in hdr["containers"]:
    assert end <= hlen, ("container past the header", t)
import os
sv = os.environ.get("SIGNER_VERSION", "1.0").split(".")
assert hdr[28] == bytes([int(sv[0]), int(sv[1])]), ("signer version", hdr[28])
assert hdr[8] == bytes([1 if digest == "sha1" else 3]), ("hash algorithm", hdr[8])
assert hdr[10] == b"\x00" and hdr[11] == b"\x02", "RSA, 2048-bit modulus"
assert len(sig) == 256, len(sig)
assert hdr[14] == b"ITLFile.tlv\x00", hdr[14]
assert hdr[4].endswith(b"\x00") and b"CN=ITL-SAST-development" in hdr[4], hdr[4]
recs = []
while i < len(data):
    start = i
    t, v, i = tlv(i)
    assert t == 1 and len(v) == 2, ("RECORD_LENGTH", start)
    end = start + struct.unpack(">H", v)[0]
    assert end <= len(data)
    r = {}
    while i < end:
        t, v, i = tlv(i)
        assert t not in r, ("record tag twice", t)
        r[t] = v
    assert i == end
    recs.append(r)
assert len(recs) == len(want), (len(recs), want)
for r, w in zip(recs, want):
    role, cert = w.split(":", 1)
    der = subprocess.run(["openssl", "x509", "-in", cert, "-inform", "DER" if cert.endswith(".der") else "PEM",
                          "-outform", "DER"], capture_output=True, check=True).stdout
    assert struct.unpack(">H", r[4])[0] == ROLES[role], (role, r[4])
    assert r[9] == der, ("certificate bytes differ", role, cert)
    serial = int(subprocess.run(["openssl", "x509", "-in", cert, "-inform", "DER" if cert.endswith(".der") else "PEM",
                                 "-noout", "-serial"], capture_output=True, check=True, text=True).stdout.split("=")[1], 16)
    assert int.from_bytes(r[6], "big") == serial, ("serial", role)
    assert r[3].endswith(b"\x00") and r[5].endswith(b"\x00"), "names NUL-terminated"
assert int.from_bytes(hdr[5], "big") == int.from_bytes(recs[0][6], "big"), "the header names the SAST record's serial"
open(sigf, "wb").write(sig)
open(signedf, "wb").write(data[:sig_at] + data[sig_at + 3 + len(sig):])
print("parsed:", len(recs), "records")
PYEOF
  ossl x509 -in "$SAST" -noout -pubkey >"$D/sast.pub"
  ossl dgst "-$digest" -verify "$D/sast.pub" -signature "$D/sig.bin" "$D/signed.bin"
}

# ---- itl build + the independent check ---------------------------------------------
check "itl build (SAST from the token, CCM, TFTP, TVS)" "$CTL" --config "$CONF" itl build --sast-key "$SKEY" \
  --sast-cert "$SAST" --record CCM:"$D/in/ccm.pem" --record TFTP:"$D/in/tftp.der" --record tvs:"$D/in/ccm.pem" \
  --out "$D/out/ITLFile.tlv"
check_grep "  ... the phone-reset warning" "^WARNING: every phone that downloads a changed ITL resets" "$T_TMP/last.out"
check "  ... parsed independently: header, 4 records, roles, certificate bytes; signature verifies (openssl, SHA-512)" \
  verify "$D/out/ITLFile.tlv" sha512 SAST:"$SAST" CCM:"$D/in/ccm.pem" TFTP:"$D/in/tftp.der" TVS:"$D/in/ccm.pem"
check_grep "  ... openssl says Verified OK" "^Verified OK" "$T_TMP/last.out"
# the same check must fail on a file whose record was changed after signing
cp "$D/out/ITLFile.tlv" "$D/out/tampered.tlv"
$PY -c 'import sys; p=sys.argv[1]; d=bytearray(open(p,"rb").read()); d[-20]^=1; open(p,"wb").write(d)' "$D/out/tampered.tlv"
check_fails "  ... the independent check refuses a tampered file" \
  verify "$D/out/tampered.tlv" sha512 SAST:"$SAST" CCM:"$D/in/ccm.pem" TFTP:"$D/in/tftp.der" TVS:"$D/in/ccm.pem"

mkdir -p "$D/out/v11"
check "itl build --signer-version 1.1, PIN from capf.conf's token.pin_source" "$CTL" --config "$CONF" itl build \
  --sast-key "$SKEY" --sast-cert "$SAST" --record CCM+TFTP:"$D/in/ccm.pem" --signer-version 1.1 --out "$D/out/v11/ITLFile.tlv"
verify11() { SIGNER_VERSION=1.1 verify "$@"; }
check "  ... parsed independently, signature verifies" verify11 "$D/out/v11/ITLFile.tlv" sha512 SAST:"$SAST" CCM+TFTP:"$D/in/ccm.pem"
check_fails "itl build --signer-version 2.0 refused" "$CTL" itl build --sast-key "$SKEY" --sast-cert "$SAST" --signer-version 2.0 --out "$D/out/v2.tlv"

# ---- itl show ----------------------------------------------------------------------
check "itl show" "$CTL" itl show "$D/out/ITLFile.tlv"
check_grep "  ... four records" "^Records: +4$" "$T_TMP/last.out"
check_grep "  ... signature valid" "^Signature: +valid" "$T_TMP/last.out"
check_grep "  ... the TVS record" "Role: +TVS \(21\)" "$T_TMP/last.out"
check "itl show --json" sh -c "'$CTL' itl show --json '$D/out/ITLFile.tlv' >'$D/show.json'"
check "  ... fields" $PY -c '
import json, subprocess, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == 1 and d["version"] == "1.2" and d["digest"] == "sha512" and d["signature_valid"] is True, d
assert [r["role_name"] for r in d["records"]] == ["SAST", "CCM", "TFTP", "TVS"], d["records"]
fp = subprocess.run(["openssl", "x509", "-in", sys.argv[2], "-noout", "-fingerprint", "-sha256"],
                    capture_output=True, text=True, check=True).stdout.strip().split("=")[1]
assert d["records"][1]["sha256"] == fp, (d["records"][1]["sha256"], fp)
# names as tlvfile writes them: attributes in order, ";" between, RFC 4514 escapes, OIDs without a short name dotted
assert d["records"][2]["subject"] == r"O=Example\; Corp\, Inc;CN=tftp.example.com;1.2.840.113549.1.9.1=ops@example.com", d["records"][2]["subject"]
assert d["signer_name"] == "C=US;O=Example Corp;OU=Voice;CN=ITL-SAST-development", d["signer_name"]
assert d["timestamp"].endswith("Z") and d["filename"] == "ITLFile.tlv"' "$D/show.json" "$D/in/ccm.pem"
check "itl show: a tampered file: exit 1" sh -c "'$CTL' itl show '$D/out/tampered.tlv'; [ \$? = 1 ]"
check_grep "  ... the signature does not verify" "signature does not verify" "$T_TMP/last.out"
head -c 300 "$D/out/ITLFile.tlv" >"$D/out/short.tlv"
check_fails "itl show: a truncated file" "$CTL" itl show "$D/out/short.tlv"
check_grep "  ... says why" "short.tlv: HEADER_LENGTH [0-9]+ outside the file \\(300 bytes\\)" "$T_TMP/last.out"
head -c "$(($(stat -c %s "$D/out/ITLFile.tlv") - 10))" "$D/out/ITLFile.tlv" >"$D/out/short2.tlv"
check_fails "itl show: a file cut inside its last record" "$CTL" itl show "$D/out/short2.tlv"
check_grep "  ... says where" "short2.tlv: offset [0-9]+: RECORD_LENGTH [0-9]+ outside the file" "$T_TMP/last.out"
check_fails "itl show: not an ITL" "$CTL" itl show "$D/in/ccm.pem"
check_grep "  ... says so" "not an ITL/CTL file" "$T_TMP/last.out"

# ---- the other direction: a file written by an independent builder (tlvfile's layout,
# SHA-1 as older CUCM files, signed by the stock openssl CLI with a file key) is read
ossl req -x509 -newkey rsa:1024 -nodes -keyout "$D/in/sast1.key" -subj "/CN=SAST-file" -days 30 \
  -out "$D/in/sast1.pem" 2>/dev/null
mkpy() {  # mkpy OUT DIGEST: the file, signed with sast1.key
  $PY - "$1" "$2" "$D/in/sast1.pem" "$D/in/sast1.key" "$D/in/ccm.pem" <<'PYEOF'
import struct, subprocess, sys
out, digest, sast, key, ccm = sys.argv[1:]
def der(c): return subprocess.run(["openssl", "x509", "-in", c, "-outform", "DER"], capture_output=True, check=True).stdout
def serial(c):
    v = int(subprocess.run(["openssl", "x509", "-in", c, "-noout", "-serial"], capture_output=True, check=True,
                           text=True).stdout.split("=")[1], 16)
    return v.to_bytes((v.bit_length() + 7) // 8, "big")
T = lambda t, v: struct.pack(">BH", t, len(v)) + v
siglen = 128
h = T(1, b"\x01\x02") + T(2, b"\x00\x00") + T(28, b"\x01\x00")
info = T(4, b"CN=SAST-file\x00") + T(5, serial(sast)) + T(6, b"CN=SAST-file\x00")
h += struct.pack(">BH", 3, len(info)) + info
h += struct.pack(">BH", 7, 15) + T(8, bytes([1 if digest == "sha1" else 3])) + struct.pack(">BH", 9, 8) + T(10, b"\x00") + T(11, b"\x01")
sig_at = len(h)
h += T(14, b"ITLFile.tlv\x00") + T(15, struct.pack(">I", 1700000000))
while (len(h) + 3 + siglen) % 4: h += b"\x0d"
h = h[:8] + struct.pack(">H", len(h) + 3 + siglen) + h[10:]
def rec(role, c):
    body = T(3, b"CN=x\x00") + T(4, struct.pack(">H", role)) + T(5, b"CN=x\x00") + T(6, serial(c)) + T(7, b"k") + T(8, b"s") + T(9, der(c))
    return T(1, struct.pack(">H", 5 + len(body))) + body
data = h + rec(0, sast) + rec(1, ccm)
open(out + ".unsigned", "wb").write(data)
sig = subprocess.run(["openssl", "dgst", "-" + digest, "-sign", key, out + ".unsigned"], capture_output=True, check=True).stdout
assert len(sig) == siglen
open(out, "wb").write(data[:sig_at] + T(12, sig) + data[sig_at:])
PYEOF
}
check "an independently written SHA-1 file" mkpy "$D/out/other-sha1.tlv" sha1
check "  ... itl show reads and verifies it" "$CTL" itl show --json "$D/out/other-sha1.tlv"
check_grep "  ... SHA-1, signature valid, 2 records" '"digest": "sha1".*"signature_valid": true.*"role_name": "SAST".*"role_name": "CCM"' "$T_TMP/last.out"
check "an independently written SHA-512 file" mkpy "$D/out/other-sha512.tlv" sha512
check "  ... itl show verifies it" "$CTL" itl show "$D/out/other-sha512.tlv"
$PY -c 'import sys; p=sys.argv[1]; d=bytearray(open(p,"rb").read()); d[-5]^=1; open(p,"wb").write(d)' "$D/out/other-sha512.tlv"
check_fails "  ... and refuses it once one certificate byte changed" "$CTL" itl show "$D/out/other-sha512.tlv"

# ---- itl build refusals ------------------------------------------------------------
check_fails "itl build: the SAST certificate is not the key's" "$CTL" --config "$CONF" itl build --sast-key "$SKEY" \
  --sast-cert "$D/in/ccm.pem" --out "$D/out/x.tlv"
check_grep "  ... named" "is not the certificate of the SAST key" "$T_TMP/last.out"
check_fails "itl build: the same certificate twice in one role" "$CTL" --config "$CONF" itl build \
  --sast-key "$SKEY" --sast-cert "$SAST" --out "$D/out/x.tlv" \
  --record CCM:"$D/in/ccm.pem" --record CCM:"$D/in/ccm.pem"
check_grep "  ... refused" "already in the file as CCM" "$T_TMP/last.out"
check "an EC key in the token" "$BIN/capf-token" keygen --uri "pkcs11:token=capf;object=ec-key?pin-source=file:$PIN" --type ec:P-256
check_fails "itl build: an EC key cannot sign an ITL" "$CTL" --config "$CONF" itl build \
  --sast-key "pkcs11:token=capf;object=ec-key;type=private" --sast-cert "$D/in/ccm.pem" --out "$D/out/x.tlv"
check_grep "  ... RSA only" "the SAST key is not RSA" "$T_TMP/last.out"
check "  ... nothing written" test ! -e "$D/out/x.tlv"
check_fails "itl build: an existing file is never overwritten" "$CTL" --config "$CONF" itl build --sast-key "$SKEY" \
  --sast-cert "$SAST" --out "$D/out/ITLFile.tlv"
check "  ... the file is unchanged" verify "$D/out/ITLFile.tlv" sha512 SAST:"$SAST" CCM:"$D/in/ccm.pem" TFTP:"$D/in/tftp.der" TVS:"$D/in/ccm.pem"
check "itl build: an unknown role: exit 2" sh -c "'$CTL' itl build --sast-key x --sast-cert x --out x --record CA:x; [ \$? = 2 ]"
check_grep "  ... lists the roles" "role CA: SAST, CCM" "$T_TMP/last.out"
check_fails "itl build: a key that is not in the token" "$CTL" --config "$CONF" itl build \
  --sast-key "pkcs11:token=capf;object=nothere;type=private" --sast-cert "$SAST" --out "$D/out/y.tlv"
check_grep "  ... says it is the SAST key" "the SAST key: " "$T_TMP/last.out"
for cmd in "itl" "itl build" "itl show" "itl record"; do
  # shellcheck disable=SC2086
  check "capfctl $cmd --help" "$CTL" $cmd --help
done
check_grep "  ... the roles documented" "CCM\+TFTP, TFTP, CAPF, APP-SERVER or TVS" "$T_TMP/last.out"

# ---- itl record against capf-signerd -------------------------------------------------
check "itl record without capf-signerd: exit 3" sh -c "'$CTL' --socket '$D/sock/admin.sock' itl record --out '$D/out/none.bin'; [ \$? = 3 ]"
signer_user "$D/signer" "$D/state" "$D/ceremony"
start_signerd "$D/signerd.log" "$D/sock/admin.sock" "$CONF"
check "capf-signerd is up" test -S "$D/sock/admin.sock"
c() { "$CTL" --socket "$D/sock/admin.sock" "$@"; }
check_fails "itl record before any TLS certificate" c itl record --out "$D/out/rec0.bin"
ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$D/tls.key" 2>/dev/null
ossl pkey -in "$D/tls.key" -pubout -out "$D/tls.pub" 2>/dev/null
check "tls issue" c tls issue --pubkey "$D/tls.pub" --cn capf.example.com --out "$D/out/tls.pem" --yes
check "itl record" c itl record --out "$D/out/capf-record.bin"
check_grep "  ... the phone-reset warning" "Every phone resets when the ITL changes" "$T_TMP/last.out"
check "  ... the record is the CAPF TLS certificate's (role 4, its DER)" $PY -c '
import struct, subprocess, sys
d = open(sys.argv[1], "rb").read()
t, n, length = struct.unpack_from(">BHH", d, 0)
assert t == 1 and n == 2 and length == len(d), (t, n, length, len(d))
i, r = 5, {}
while i < len(d):
    t, n = struct.unpack_from(">BH", d, i); r[t] = d[i + 3:i + 3 + n]; i += 3 + n
der = subprocess.run(["openssl", "x509", "-in", sys.argv[2], "-outform", "DER"], capture_output=True, check=True).stdout
assert struct.unpack(">H", r[4])[0] == 4 and r[9] == der' "$D/out/capf-record.bin" "$D/out/tls.pem"
check "trust export --for itl" c trust export --for itl --out "$D/out/capf-tls.pem"
# the token's PIN file now belongs to capf-signer: capfhsm wants one of our own (0600)
secret_file "$D/my.pin" "$(cat "$PIN")"
mkdir -p "$D/out/with-capf"
check "itl build with the CAPF record (pin-source in the URI)" "$CTL" itl build --sast-key "$SKEY?pin-source=file:$D/my.pin" \
  --sast-cert "$SAST" --record CCM:"$D/in/ccm.pem" --record CAPF:"$D/out/capf-tls.pem" --out "$D/out/with-capf/ITLFile.tlv"
check "  ... parsed independently, signature verifies" verify "$D/out/with-capf/ITLFile.tlv" sha512 \
  SAST:"$SAST" CCM:"$D/in/ccm.pem" CAPF:"$D/out/tls.pem"
check "  ... its CAPF record is byte for byte the one itl record wrote" $PY -c '
import sys
f, r = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
assert f.endswith(r), "the CAPF record (last) differs from itl record"' "$D/out/with-capf/ITLFile.tlv" "$D/out/capf-record.bin"
stop_signerd
finish
