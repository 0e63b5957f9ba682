#!/usr/bin/env python3
"""Hostile and odd CAPF clients for the end-to-end tests of capf-frontd.

    capf_hostile.py HOST PORT CASE [--expect CMD[:VALUE]] [--name NAME] [--count N]

Each case exits 0 when the server behaved: it answered the bad input with a clean
END_SESSION (REASON 7) or closed the connection, within the time limit, and for
the cases that must work (split, unknown-tag) with the answer --expect names
(e.g. END_SESSION:9, RETRY_LATER). It prints one line saying what happened.

Cases:
  half-header        5 of the 8 header bytes, then silence (idle timeout)
  length-overrun     a header announcing 200 body bytes, 20 sent, then silence
  short-body         a body whose element runs past the body length (framing)
  wrong-protocol-id  first byte 0x56
  wrong-session-id   AUTH_RESPONSE with a session id the server did not choose
  unknown-command    command 99 in place of AUTH_RESPONSE
  garbage            random bytes inside TLS
  plain-garbage      random bytes, no TLS at all
  huge-body          a header announcing a 65535-byte body (above the cap)
  split              a valid AUTH_RESPONSE sent one byte per TLS record
  unknown-tag        a valid AUTH_RESPONSE with unknown element tags (must be skipped)
  idle N             N clients (half plain TCP, half after the TLS handshake) that say
                     nothing; prints "ready" when all are connected, then waits until
                     the server closed every one (or sent END_SESSION)
"""
import os
import selectors
import socket
import ssl
import struct
import sys
import time

CMD = {1: "AUTH_REQUEST", 2: "AUTH_RESPONSE", 3: "KEY_GENERATE_REQUEST", 9: "STORE_CERTIFICATE_REQUEST",
       11: "FETCH_CERTIFICATE_REQUEST", 13: "DELETE_CERTIFICATE_REQUEST", 15: "END_SESSION",
       16: "RETRY_LATER"}
LIMIT = float(os.environ.get("CAPF_HOSTILE_TIMEOUT", "20"))


_CTX = None


def tls_ctx():
    global _CTX
    if _CTX is None:
        _CTX = make_ctx()
    return _CTX


def make_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ca = os.environ.get("CAPF_CA_CERT")
    if ca:
        ctx.load_verify_locations(ca)        # the TLS certificate must chain to the CAPF CA
    else:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connect(host, port):
    s = socket.create_connection((host, port), timeout=LIMIT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # one TLS record per byte, really
    return tls_ctx().wrap_socket(s)


def elem(tag, val):
    return bytes([tag]) + struct.pack(">H", len(val)) + val


def message(cmd, sid, body):
    return bytes([0x55, cmd]) + sid + struct.pack(">H", len(body)) + body


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        try:
            chunk = s.recv(n - len(buf))
        except (ConnectionResetError, ssl.SSLError, OSError):
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def read_msg(s):
    """(cmd, sid, {tag: value}) or None when the server closed the connection."""
    h = recv_exact(s, 8)
    if h is None:
        return None
    if h[0] != 0x55:
        raise SystemExit("FAIL: server sent protocol id %#x" % h[0])
    n = struct.unpack(">H", h[6:8])[0]
    body = recv_exact(s, n) if n else b""
    if body is None:
        raise SystemExit("FAIL: server message truncated")
    els, i = {}, 0
    while i < len(body):
        t, ln = body[i], struct.unpack(">H", body[i + 1:i + 3])[0]
        els[t] = body[i + 3:i + 3 + ln]
        i += 3 + ln
    return h[1], h[2:6], els


def value_of(cmd, els):
    if cmd == 15 and 1 in els:
        return els[1][0]
    if cmd == 16 and 12 in els:
        return int.from_bytes(els[12], "big")
    return None


def auth_response(sid, name, extra=b""):
    body = (elem(1, b"\x01") + elem(7, b"\x03") + extra + elem(13, name.encode() + b"\x00")
            + elem(11, b"\x00"))
    return message(2, sid, body)


def expect_end_or_close(s, what):
    """The server must answer with END_SESSION 7 (possibly after nothing) or close."""
    t0 = time.time()
    while True:
        m = read_msg(s)
        if m is None:
            print("ok: %s: connection closed by the server after %.1fs" % (what, time.time() - t0))
            return 0
        cmd, _, els = m
        if cmd == 15:
            v = value_of(cmd, els)
            if v != 7:
                print("FAIL: %s: END_SESSION reason %s (expected 7)" % (what, v))
                return 1
            if read_msg(s) is not None:
                print("FAIL: %s: data after END_SESSION" % what)
                return 1
            print("ok: %s: END_SESSION 7 then close after %.1fs" % (what, time.time() - t0))
            return 0
        print("FAIL: %s: unexpected %s" % (what, CMD.get(cmd, cmd)))
        return 1


def start(host, port):
    s = connect(host, port)
    m = read_msg(s)
    if m is None or m[0] != 1:
        raise SystemExit("FAIL: no AUTH_REQUEST")
    cmd, sid, els = m
    if els.get(7) != b"\x03" or 8 not in els:
        raise SystemExit("FAIL: AUTH_REQUEST without VERSION 3 / AUTH_TYPE: %r" % els)
    return s, sid


def case_bad(host, port, case):
    s, sid = start(host, port)
    if case == "half-header":
        s.sendall(bytes([0x55, 2]) + sid[:3])
    elif case == "length-overrun":
        s.sendall(bytes([0x55, 2]) + sid + struct.pack(">H", 200) + b"\x0d\x00\x05SEP00" + b"x" * 12)
    elif case == "short-body":
        s.sendall(message(2, sid, elem(13, b"SEP001122334455\x00")[:-4] + b"\x07\x00\x10"))
    elif case == "wrong-protocol-id":
        s.sendall(bytes([0x56]) + auth_response(sid, "SEP001122334455")[1:])
    elif case == "wrong-session-id":
        bad = bytes(b ^ 0xFF for b in sid)
        s.sendall(auth_response(bad, "SEP001122334455"))
    elif case == "unknown-command":
        s.sendall(message(99, sid, elem(1, b"\x01")))
    elif case == "garbage":
        s.sendall(os.urandom(3000))
    elif case == "huge-body":
        s.sendall(bytes([0x55, 2]) + sid + b"\xff\xff" + b"\x00" * 100)
    rc = expect_end_or_close(s, case)
    s.close()
    return rc


def case_plain_garbage(host, port):
    s = socket.create_connection((host, port), timeout=LIMIT)
    s.sendall(os.urandom(600))
    t0 = time.time()
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    print("ok: plain-garbage: closed after %.1fs" % (time.time() - t0))
    return 0


def case_good(host, port, case, name, expect):
    s, sid = start(host, port)
    if case == "split":
        for b in auth_response(sid, name):
            s.sendall(bytes([b]))           # one TLS record per byte
    else:
        extra = elem(99, b"future") + elem(250, b"") + elem(14, b"\x01\x02")
        s.sendall(auth_response(sid, name, extra))
    m = read_msg(s)
    if m is None:
        print("FAIL: %s: closed without an answer" % case)
        return 1
    cmd, rsid, els = m
    got = CMD.get(cmd, str(cmd))
    v = value_of(cmd, els)
    if rsid != sid:
        print("FAIL: %s: answer with another session id" % case)
        return 1
    want_cmd, _, want_val = expect.partition(":")
    if got != want_cmd or (want_val and str(v) != want_val):
        print("FAIL: %s: got %s %s, expected %s" % (case, got, v, expect))
        return 1
    print("ok: %s: %s %s" % (case, got, "" if v is None else v))
    s.close()
    return 0


def case_idle(host, port, n):
    sel = selectors.DefaultSelector()
    socks = []
    refused = 0
    open_ = set()
    for i in range(n):
        raw = socket.create_connection((host, port), timeout=LIMIT)
        if i % 2:
            try:
                s = tls_ctx().wrap_socket(raw)   # handshake done, then silence
                m = read_msg(s)
            except (OSError, ssl.SSLError):
                m = None
            if m is None:
                refused += 1                     # closed at once (connection limit)
                raw.close()
                continue
            if m[0] != 1:
                print("FAIL: idle client %d: no AUTH_REQUEST" % i)
                return 1
            s.setblocking(False)
        else:
            s = raw
            s.setblocking(False)
        socks.append(s)
        open_.add(i)
        sel.register(s, selectors.EVENT_READ, i)
    print("ready", flush=True)
    deadline = time.time() + LIMIT + 30
    bad = 0
    while open_ and time.time() < deadline:
        for key, _ in sel.select(timeout=1):
            s, i = key.fileobj, key.data
            try:
                if isinstance(s, ssl.SSLSocket):
                    data = s.recv(65536)
                    if data and data[0:1] == b"\x55" and data[1] == 15 and data[-1] != 7:
                        bad += 1
                    if data:
                        continue
                else:
                    if s.recv(65536):
                        continue
            except ssl.SSLWantReadError:
                continue
            except (OSError, ssl.SSLError):
                pass
            sel.unregister(s)
            s.close()
            open_.discard(i)
    if open_ or bad:
        print("FAIL: idle: %d of %d still open, %d bad END_SESSION" % (len(open_), n, bad))
        return 1
    print("ok: idle: all %d silent clients were closed by the server (%d at once)" % (n, refused))
    return 0


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    host, port, case = argv[1], int(argv[2]), argv[3]
    expect, name, count = "END_SESSION:9", "SEP0000DEADBEEF", 300
    rest = argv[4:]
    while rest:
        if rest[0] == "--expect":
            expect = rest[1]
        elif rest[0] == "--name":
            name = rest[1]
        elif rest[0] == "--count":
            count = int(rest[1])
        else:
            print("unknown option %s" % rest[0], file=sys.stderr)
            return 2
        rest = rest[2:]
    if case in ("half-header", "length-overrun", "short-body", "wrong-protocol-id", "wrong-session-id",
                "unknown-command", "garbage", "huge-body"):
        return case_bad(host, port, case)
    if case == "plain-garbage":
        return case_plain_garbage(host, port)
    if case in ("split", "unknown-tag"):
        return case_good(host, port, case, name, expect)
    if case == "idle":
        return case_idle(host, port, count)
    print("unknown case %s" % case, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
