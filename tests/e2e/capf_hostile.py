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
  limit              --count N connections held (AUTH_REQUEST received), then one more
                     from the same address must get --expect (RETRY_LATER[:DELAY]) and
                     one from --other-bind ADDR must still be served (AUTH_REQUEST)
  trickle            after AUTH_REQUEST, a message that never completes, one byte every
                     --interval s: the server must end the session (END_SESSION 7 or
                     close) within --within s, although bytes keep coming
  slow-handshake     the TLS ClientHello one byte every --interval s: the server must
                     close within --within s
  flood              --count connections from --bind ADDR (default 127.0.0.1) for
                     --duration s: each one held after the handshake trickles a message
                     that never completes (one byte every --interval s); every one the
                     server ends is opened again (at most --rate connections/s). Prints
                     "ready" once the first --count were opened, and at the end a JSON
                     line: attempts, held_max (held at once), held_total, retry_later,
                     closed (by the server before or after the handshake); SIGTERM ends
                     it early (with the figures)
  fake-server PATH   (no HOST PORT) an AF_UNIX SOCK_SEQPACKET server on PATH, listening
                     as --uid UID when given (bound first, as root); prints "listening",
                     then "connection" and "received N bytes" as they come; never answers;
                     stops after --duration s
Options: --bind ADDR (source address of the connections), --other-bind ADDR, --interval S,
--within S, --duration S, --rate N, --uid UID, --delay S (split, unknown-tag: wait that long
after AUTH_REQUEST).
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


def connect(host, port, bind=None):
    s = socket.create_connection((host, port), timeout=LIMIT,
                                 source_address=(bind, 0) if bind else None)
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


def case_good(host, port, case, name, expect, delay=0.0):
    s, sid = start(host, port)
    time.sleep(delay)
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
            if m is None or m[0] == 16:
                refused += 1                     # closed or RETRY_LATER (connection limit)
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


def case_limit(host, port, n, expect, bind, other):
    held = []
    for i in range(n):
        s = connect(host, port, bind)
        m = read_msg(s)
        if m is None or m[0] != 1:
            print("FAIL: limit: connection %d of %d was not served (%s)" %
                  (i + 1, n, "closed" if m is None else CMD.get(m[0], m[0])))
            return 1
        held.append(s)
    s = connect(host, port, bind)
    m = read_msg(s)
    got = "closed" if m is None else CMD.get(m[0], str(m[0]))
    v = None if m is None else value_of(m[0], m[2])
    want_cmd, _, want_val = expect.partition(":")
    if got != want_cmd or (want_val and str(v) != want_val):
        print("FAIL: limit: connection %d from %s: got %s %s, expected %s" % (n + 1, bind, got, v, expect))
        return 1
    if m is not None and read_msg(s) is not None:
        print("FAIL: limit: data after %s" % got)
        return 1
    s.close()
    if other:
        s = connect(host, port, other)
        m = read_msg(s)
        if m is None or m[0] != 1:
            print("FAIL: limit: a connection from %s was not served while %s is at its limit" % (other, bind))
            return 1
        s.close()
    for s in held:
        s.close()
    print("ok: limit: %d held, the next one got %s %s%s" % (n, got, "" if v is None else v,
          ", another address served" if other else ""))
    return 0


def case_trickle(host, port, interval, within, bind):
    s, sid = start(host, port) if bind is None else start_from(host, port, bind)
    t0 = time.time()
    s.settimeout(interval)
    # a header announcing a 4000-byte body, then body bytes: never a whole message
    data = bytes([0x55, 2]) + sid + struct.pack(">H", 4000) + b"\x0d" * 4000
    sent = 0
    end = None
    while time.time() - t0 < within + 10:
        try:
            s.sendall(data[sent:sent + 1])
            sent += 1
        except OSError:
            end = "closed"
            break
        try:
            got = s.recv(4096)
        except (socket.timeout, ssl.SSLWantReadError):
            continue
        except (OSError, ssl.SSLError):
            end = "closed"
            break
        if not got:
            end = "closed"
            break
        if got[0:1] == b"\x55" and got[1] == 15:
            end = "END_SESSION %d" % got[-1]
            if got[-1] != 7:
                print("FAIL: trickle: END_SESSION reason %d (expected 7)" % got[-1])
                return 1
            break
    dt = time.time() - t0
    if end is None or dt > within:
        print("FAIL: trickle: the server kept the session %.1fs (%d bytes trickled, %s), limit %.1fs" %
              (dt, sent, end or "still open", within))
        return 1
    print("ok: trickle: %s after %.1fs and %d bytes one every %.2fs" % (end, dt, sent, interval))
    return 0


def start_from(host, port, bind):
    s = connect(host, port, bind)
    m = read_msg(s)
    if m is None or m[0] != 1:
        raise SystemExit("FAIL: no AUTH_REQUEST")
    return s, m[1]


def case_slow_handshake(host, port, interval, within):
    # a real ClientHello, from a memory BIO, sent one byte at a time
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = tls_ctx().wrap_bio(inc, out)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    raw = socket.create_connection((host, port), timeout=interval)
    t0 = time.time()
    i = 0
    end = None
    while time.time() - t0 < within + 10:
        try:
            raw.sendall(hello[i % len(hello):i % len(hello) + 1] if i < len(hello) else b"\x00")
            i += 1
            if not raw.recv(4096):
                end = "closed"
                break
        except socket.timeout:
            continue
        except OSError:
            end = "closed"
            break
    dt = time.time() - t0
    if end is None or dt > within:
        print("FAIL: slow-handshake: open after %.1fs (%d bytes sent), limit %.1fs" % (dt, i, within))
        return 1
    print("ok: slow-handshake: closed after %.1fs and %d bytes" % (dt, i))
    return 0


def case_flood(host, port, n, interval, duration, rate, bind):
    """Connections that are each held as long as the server lets them, re-opened."""
    import errno as _errno
    import json
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = n + 64
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
        except (ValueError, OSError):
            pass
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft < want:
            print("flood: RLIMIT_NOFILE %d: %d connections instead of %d" % (soft, soft - 64, n), flush=True)
            n = soft - 64
    sel = selectors.DefaultSelector()
    conns = {}              # fd -> state dict
    st = {"attempts": 0, "held_max": 0, "held_total": 0, "retry_later": 0, "closed": 0, "trickled": 0}
    held = 0
    t0 = time.time()
    stop = t0 + duration
    ctx = tls_ctx()
    budget, last = 0.0, t0
    opened_all = False
    import signal

    def on_term(signum, frame):
        nonlocal stop
        stop = 0            # SIGTERM: the figures now

    signal.signal(signal.SIGTERM, on_term)

    def close(c, why):
        nonlocal held
        try:
            sel.unregister(c["sock"])
        except (KeyError, ValueError):
            pass
        c["sock"].close()
        conns.pop(c["fd"], None)
        if c["held"]:
            held -= 1
        if why:
            st[why] += 1

    def open_one():
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setblocking(False)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            raw.bind((bind, 0))
            raw.connect((host, port))
        except BlockingIOError:
            pass
        except OSError as e:
            raw.close()
            return e.errno not in (_errno.EADDRNOTAVAIL, _errno.EMFILE, _errno.ENFILE)
        s = ctx.wrap_socket(raw, do_handshake_on_connect=False)
        c = {"sock": s, "fd": s.fileno(), "phase": "hs", "held": False, "buf": b"", "next": 0.0,
             "sid": b"", "sent": 0}
        conns[c["fd"]] = c
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
        st["attempts"] += 1
        return True

    while time.time() < stop:
        now = time.time()
        budget = min(budget + (now - last) * rate, float(rate))
        last = now
        if not opened_all:
            while len(conns) < n and st["attempts"] < n:
                if not open_one():
                    break
            if st["attempts"] >= n:
                opened_all = True
                print("ready", flush=True)
        else:
            while len(conns) < n and budget >= 1:
                budget -= 1
                if not open_one():
                    break
        for key, ev in sel.select(timeout=0.05):
            c = key.data
            s = c["sock"]
            if c["fd"] not in conns:
                continue
            try:
                if c["phase"] == "hs":
                    s.do_handshake()
                    c["phase"] = "auth"
                    sel.modify(s, selectors.EVENT_READ, c)
                    continue
                data = s.recv(4096)
                if not data:
                    close(c, "closed")
                    continue
                c["buf"] += data
                if c["phase"] == "auth" and len(c["buf"]) >= 8:
                    cmd = c["buf"][1]
                    if cmd == 16:
                        close(c, "retry_later")
                        continue
                    if cmd == 1:
                        c["phase"] = "held"
                        c["held"] = True
                        c["sid"] = c["buf"][2:6]
                        c["next"] = time.time()
                        held += 1
                        st["held_total"] += 1
                        st["held_max"] = max(st["held_max"], held)
                        continue
                if c["phase"] == "held" and c["buf"][-8:].find(b"\x55\x0f") >= 0:
                    close(c, "closed")      # END_SESSION: the server ended it
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                continue
            except (OSError, ssl.SSLError, ValueError):
                close(c, "closed")
        # the trickle: one byte per held connection every interval
        now = time.time()
        for c in list(conns.values()):
            if c["held"] and now >= c["next"]:
                msg = bytes([0x55, 2]) + c["sid"] + struct.pack(">H", 4000)
                b = msg[c["sent"]:c["sent"] + 1] if c["sent"] < len(msg) else b"\x0d"
                try:
                    c["sock"].send(b)
                    c["sent"] += 1
                    st["trickled"] += 1
                except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                    pass
                except (OSError, ssl.SSLError, ValueError):
                    close(c, "closed")
                    continue
                c["next"] = now + interval
    st["open_at_end"] = len(conns)
    st["held_at_end"] = held
    st["seconds"] = round(time.time() - t0, 1)
    for c in list(conns.values()):
        close(c, None)
    print(json.dumps(st), flush=True)
    return 0


def case_fake_server(path, uid, duration):
    """A SEQPACKET server nobody should talk to: it never answers."""
    if os.path.lexists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(path)
    os.chmod(path, 0o666)
    if uid is not None:
        os.setgid(uid)
        os.setuid(uid)          # SO_PEERCRED: the credentials at listen()
    srv.listen(16)
    print("listening", flush=True)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ, None)
    end = time.time() + duration
    keep = []
    while time.time() < end:
        for key, _ in sel.select(timeout=0.2):
            if key.data is None:
                c, _ = srv.accept()
                keep.append(c)
                print("connection", flush=True)
                sel.register(c, selectors.EVENT_READ, 1)
            else:
                try:
                    data = key.fileobj.recv(65536)
                except OSError:
                    data = b""
                if data:
                    print("received %d bytes" % len(data), flush=True)
                else:
                    sel.unregister(key.fileobj)
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "fake-server":
        argv = [argv[0], "", "0", "fake-server", argv[2]] + argv[3:]
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    host, port, case = argv[1], int(argv[2]), argv[3]
    # option: (name, type)
    options = {"--expect": ("expect", str), "--name": ("name", str), "--count": ("count", int),
               "--bind": ("bind", str), "--other-bind": ("other", str), "--interval": ("interval", float),
               "--within": ("within", float), "--duration": ("duration", float), "--rate": ("rate", float),
               "--uid": ("uid", int), "--delay": ("delay", float)}
    o = {"expect": "END_SESSION:9", "name": "SEP0000DEADBEEF", "count": 300, "bind": None, "other": None,
         "interval": 0.5, "within": 10.0, "duration": 20.0, "rate": 200.0, "uid": None, "delay": 0.0}
    rest = argv[4:]
    path = None
    if case == "fake-server":
        path, rest = rest[0], rest[1:]
    while rest:
        if rest[0] not in options or len(rest) < 2:
            print("unknown option or missing value: %s" % rest[0], file=sys.stderr)
            return 2
        key, conv = options[rest[0]]
        o[key] = conv(rest[1])
        rest = rest[2:]
    expect, name, count, bind, other = o["expect"], o["name"], o["count"], o["bind"], o["other"]
    interval, within, duration, rate, uid, delay = (o["interval"], o["within"], o["duration"], o["rate"],
                                                    o["uid"], o["delay"])
    if case == "fake-server":
        return case_fake_server(path, uid, duration)
    if case == "limit":
        return case_limit(host, port, count, expect, bind, other)
    if case == "trickle":
        return case_trickle(host, port, interval, within, bind)
    if case == "slow-handshake":
        return case_slow_handshake(host, port, interval, within)
    if case == "flood":
        return case_flood(host, port, count, interval, duration, rate, bind or "127.0.0.1")
    if case in ("half-header", "length-overrun", "short-body", "wrong-protocol-id", "wrong-session-id",
                "unknown-command", "garbage", "huge-body"):
        return case_bad(host, port, case)
    if case == "plain-garbage":
        return case_plain_garbage(host, port)
    if case in ("split", "unknown-tag"):
        return case_good(host, port, case, name, expect, delay)
    if case == "idle":
        return case_idle(host, port, count)
    print("unknown case %s" % case, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
