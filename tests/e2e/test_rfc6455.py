#!/usr/bin/python3
"""
test_rfc6455: hostile clients, byte by byte. A raw socket client (its own
framing below, not a WebSocket library, which refuses to send broken
frames) breaks one rule of RFC 6455 sections 4, 5 and 7 per case, and the
case checks:

- the close code the RFC names (read from the server's close frame), or
  the HTTP status of the refused handshake;
- that every frame the gateway sent is itself valid (unmasked, RSV 0,
  control payloads <= 125 bytes, close code and UTF-8 reason well formed);
- that the gateway still serves a new client afterwards;
- that a well-behaved client (websocket-client), connected to the same
  object from the first case to the last and pinging every ~100 ms from a
  thread, had every ping answered and was never closed.

Each case tries a few variants of its rule on fresh connections and
reports every variant's outcome as a TAP comment, so that a failing case
says what the gateway did instead (close code, a TCP close or reset
without a close frame, or nothing at all).
"""

import base64
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

websocket = h.websocket

MAX_MESSAGE = 4096          # of the dedicated --max-message gateway
CLOSE_WAIT = 2.0            # seconds to wait for the server's close frame
HTTP_WAIT = 5.0             # seconds to wait for an HTTP answer
SILENT_WAIT = 40.0          # longest wait for a silent client to be dropped

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
OP_NAMES = {OP_CONT: "continuation", OP_TEXT: "text", OP_BINARY: "binary",
            OP_CLOSE: "close", OP_PING: "ping", OP_PONG: "pong"}


# --- framing ----------------------------------------------------------------

def _xor(data, key):
    if not data:
        return b""
    k = (key * (len(data) // 4 + 1))[:len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(
        len(data), "big")


def frame(opcode, payload=b"", fin=True, rsv=0, mask=True, length=None,
          key=None):
    """
    One frame as bytes. rsv: the three RSV bits as a number (4 = RSV1,
    2 = RSV2, 1 = RSV3). length overrides the length written in the
    header (the payload is sent as given).
    """
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0xF)
    m = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, m | 127]) + n.to_bytes(8, "big")
    if mask:
        key = key if key is not None else os.urandom(4)
        return head + key + _xor(payload, key)
    return head + payload


def close_payload(code=None, reason=b""):
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    if code is None:
        return reason
    return code.to_bytes(2, "big") + reason


def trailing(n=40):
    """
    Good frames sent right behind a bad one, in the same write (about
    4 KiB, more than one read of the gateway): the close frame must not
    get lost because the client kept talking.
    """
    return b"".join(frame(OP_TEXT, "after the bad frame %03d " % i + "z" * 76)
                    for i in range(n))


class Frame:
    def __init__(self, fin, rsv, opcode, masked, payload):
        self.fin = fin
        self.rsv = rsv
        self.opcode = opcode
        self.masked = masked
        self.payload = payload

    def __repr__(self):
        p = self.payload
        shown = p[:80].decode("utf-8", "replace") if self.opcode == OP_TEXT \
            else p[:40]
        return "%s%s(%d bytes: %r)" % (
            OP_NAMES.get(self.opcode, "opcode 0x%X" % self.opcode),
            "" if self.fin else " FIN=0", len(p), shown)


def frame_problems(f):
    """What is wrong with a frame the server sent (RFC 6455 5.1-5.5, 7.4)."""
    out = []
    if f.masked:
        out.append("server frame is masked")
    if f.rsv:
        out.append("server frame has RSV bits 0x%x" % f.rsv)
    if f.opcode in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF):
        out.append("server frame has reserved opcode 0x%X" % f.opcode)
    if f.opcode & 8:
        if len(f.payload) > 125:
            out.append("server control frame of %d bytes" % len(f.payload))
        if not f.fin:
            out.append("server control frame with FIN=0")
    if f.opcode == OP_CLOSE:
        if len(f.payload) == 1:
            out.append("server close frame with a 1-byte payload")
        elif len(f.payload) >= 2:
            code = int.from_bytes(f.payload[:2], "big")
            if not valid_close_code(code):
                out.append("server close frame with code %d" % code)
            try:
                f.payload[2:].decode("utf-8")
            except UnicodeDecodeError:
                out.append("server close reason is not UTF-8: %r"
                           % f.payload[2:])
    if f.opcode == OP_TEXT and f.fin:
        try:
            f.payload.decode("utf-8")
        except UnicodeDecodeError:
            out.append("server text frame is not UTF-8")
    return out


def valid_close_code(code):
    """May a peer send this code in a close frame (RFC 6455 7.4)?"""
    if code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011):
        return True
    # 1012-1014 are registered with IANA since; accepting them is fine
    if code in (1012, 1013, 1014):
        return True
    return 3000 <= code <= 4999


class Outcome:
    """How a connection ended after a test sent its bytes."""

    def __init__(self):
        self.kind = None        # close | fin | reset | timeout
        self.code = None        # close code, None for a 0- or 1-byte close
        self.reason = b""
        self.frames = []        # data and control frames before the close
        self.problems = []      # invalid frames the server sent
        self.waited = 0.0
        self.eof_after = None   # seconds from our close reply to EOF

    def describe(self):
        if self.kind == "close":
            if self.code is None:
                s = "close frame without a code (payload %r)" % self.reason
            else:
                s = "close %d %r" % (self.code,
                                     self.reason.decode("utf-8", "replace"))
        elif self.kind == "fin":
            s = "TCP closed (FIN) without a close frame after %.2f s" \
                % self.waited
        elif self.kind == "reset":
            s = "TCP reset without a close frame after %.2f s" % self.waited
        else:
            s = "no close within %.1f s (the frame was accepted)" % self.waited
        if self.frames:
            s += "; before that: %s" % ", ".join(
                repr(f) for f in self.frames[:4])
        if self.problems:
            s += "; INVALID FROM SERVER: %s" % "; ".join(self.problems)
        return s


class RawWS:
    """A WebSocket client over a plain socket that sends whatever it is told."""

    def __init__(self, port, timeout=5.0):
        self.port = port
        self.sock = socket.create_connection((h.HOST, port), timeout=timeout)
        self.buf = b""
        self.eof = None         # "fin" or "reset" once the stream ended
        self.send_error = None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def send(self, data):
        try:
            self.sock.settimeout(5.0)
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError) as e:
            self.send_error = "%s" % type(e).__name__
            return False
        except socket.timeout:
            self.send_error = "send blocked for 5 s (the server stopped reading)"
            return False

    def _fill(self, deadline):
        """Reads more bytes; False at end of stream; raises h.Timeout."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise h.Timeout("deadline")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise h.Timeout("deadline")
        except ConnectionResetError:
            self.eof = "reset"
            return False
        if not data:
            self.eof = "fin"
            return False
        self.buf += data
        return True

    def _need(self, n, deadline):
        for _ in range(1 << 20):
            if len(self.buf) >= n:
                return True
            if not self._fill(deadline):
                return False
        return False

    def _take(self, n):
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def handshake(self, path="/websocket", headers=None, timeout=5.0):
        """A good upgrade; checks 101 and Sec-WebSocket-Accept."""
        key = base64.b64encode(os.urandom(16)).decode()
        hdrs = headers if headers is not None else [
            ("Host", "%s:%d" % (h.HOST, self.port)),
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")]
        req = "GET %s HTTP/1.1\r\n" % path + "".join(
            "%s: %s\r\n" % kv for kv in hdrs) + "\r\n"
        h.expect(self.send(req.encode("latin-1")),
                 "handshake: send failed: %s" % self.send_error)
        deadline = time.monotonic() + timeout
        for _ in range(10000):
            if b"\r\n\r\n" in self.buf:
                break
            try:
                more = self._fill(deadline)
            except h.Timeout:
                raise h.Timeout("handshake: no response within %.1f s"
                                % timeout)
            h.expect(more, "handshake: connection ended (%s): %r"
                     % (self.eof, self.buf[:200]))
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        h.expect(lines[0].startswith("HTTP/1.1 101"),
                 "handshake refused: %r" % lines[0])
        got = None
        for line in lines[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "sec-websocket-accept":
                got = v.strip()
        h.expect_eq(got, h.ws_accept(key), "Sec-WebSocket-Accept")

    def read_frame(self, deadline):
        """The next frame, or None at end of stream; raises h.Timeout."""
        if not self._need(2, deadline):
            return None
        b0, b1 = self.buf[0], self.buf[1]
        n = b1 & 0x7F
        hl = 2 + (2 if n == 126 else 8 if n == 127 else 0) + \
            (4 if b1 & 0x80 else 0)
        if not self._need(hl, deadline):
            return None
        if n == 126:
            n = int.from_bytes(self.buf[2:4], "big")
        elif n == 127:
            n = int.from_bytes(self.buf[2:10], "big")
        if n > (64 << 20):
            raise AssertionError("server frame of %d bytes" % n)
        if not self._need(hl + n, deadline):
            return None
        raw = self._take(hl + n)
        payload = raw[hl:]
        if b1 & 0x80:
            payload = _xor(payload, raw[hl - 4:hl])
        return Frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF,
                     bool(b1 & 0x80), payload)

    def welcome(self, timeout=5.0):
        """Reads frames up to pingpong's welcome (the connect event ran)."""
        deadline = time.monotonic() + timeout
        for _ in range(100):
            try:
                f = self.read_frame(deadline)
            except h.Timeout:
                raise h.Timeout("no welcome frame within %.1f s" % timeout)
            h.expect(f is not None, "connection ended before the welcome "
                     "(%s)" % self.eof)
            if f.opcode == OP_TEXT and b'"welcome"' in f.payload:
                return
        raise AssertionError("no welcome frame")

    def outcome(self, timeout=CLOSE_WAIT, reply=True, wait_eof=0.0):
        """
        Reads until the server's close frame, the end of the stream or
        `timeout` seconds. On a close frame, answers it (reply) and waits
        up to wait_eof seconds for the server to end the TCP connection.
        """
        out = Outcome()
        t0 = time.monotonic()
        deadline = t0 + timeout
        for _ in range(100000):
            try:
                f = self.read_frame(deadline)
            except h.Timeout:
                out.kind = "timeout"
                break
            if f is None:
                out.kind = self.eof
                break
            out.problems += frame_problems(f)
            if f.opcode != OP_CLOSE:
                out.frames.append(f)
                continue
            out.kind = "close"
            if len(f.payload) >= 2:
                out.code = int.from_bytes(f.payload[:2], "big")
                out.reason = f.payload[2:]
            else:
                out.reason = f.payload
            if reply:
                self.send(frame(OP_CLOSE, f.payload[:2]))
            if wait_eof > 0:
                t1 = time.monotonic()
                end = t1 + wait_eof
                try:
                    for _ in range(100000):
                        g = self.read_frame(end)
                        if g is None:
                            out.eof_after = time.monotonic() - t1
                            break
                        out.problems.append("frame after the close: %r" % g)
                except h.Timeout:
                    pass
            break
        out.waited = time.monotonic() - t0
        return out


# --- the well-behaved client ------------------------------------------------

class Watcher:
    """
    A websocket-client connection that sends {"type":"ping"} every ~100 ms
    from a thread and expects each pong within ANSWER_TIMEOUT. Not a
    harness Client: it lives across test cases.
    """

    INTERVAL = 0.1
    ANSWER_TIMEOUT = 5.0
    MAX_PINGS = 30000           # ~50 minutes; the thread always ends

    def __init__(self, gw, label):
        self.label = label
        self.lock = threading.Lock()
        self.sent = 0
        self.answered = 0
        self.failures = []
        self.max_latency = 0.0
        self.stop_ev = threading.Event()
        self.ws = websocket.create_connection(
            gw.ws_url + "/websocket", timeout=10, skip_utf8_validation=True)
        msg = self._recv_json(time.monotonic() + 10)
        h.expect(msg.get("type") == "welcome", "watcher: no welcome: %r"
                 % (msg,))
        self.id = msg.get("connectionId")
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name="watcher-" + label)
        self.thread.start()

    def _recv_json(self, deadline):
        for _ in range(10000):
            left = deadline - time.monotonic()
            if left <= 0:
                raise h.Timeout("no answer")
            self.ws.settimeout(left)
            op, fr = self.ws.recv_data_frame(control_frame=True)
            if op == websocket.ABNF.OPCODE_CLOSE:
                data = fr.data or b""
                code = int.from_bytes(data[:2], "big") if len(data) >= 2 \
                    else 1005
                raise h.Closed(code, data[2:].decode("utf-8", "replace"))
            if op == websocket.ABNF.OPCODE_TEXT:
                return json.loads(fr.data.decode("utf-8"))
        raise h.Timeout("no answer")

    def _fail(self, what):
        with self.lock:
            self.failures.append("%s after %d pings: %s"
                                 % (self.label, self.sent, what))

    def _run(self):
        for _ in range(self.MAX_PINGS):
            if self.stop_ev.is_set():
                return
            t0 = time.monotonic()
            try:
                self.ws.send('{"type":"ping"}')
                with self.lock:
                    self.sent += 1
                deadline = t0 + self.ANSWER_TIMEOUT
                for _ in range(100):
                    msg = self._recv_json(deadline)
                    if msg.get("type") == "pong":
                        break
                if msg.get("type") != "pong" or \
                        msg.get("connectionId") != self.id:
                    self._fail("unexpected answer %r" % (msg,))
                    return
                lat = time.monotonic() - t0
                with self.lock:
                    self.answered += 1
                    self.max_latency = max(self.max_latency, lat)
            except h.Closed as e:
                if not self.stop_ev.is_set():
                    self._fail("closed by the server: %s" % e)
                return
            except (h.Timeout, websocket.WebSocketTimeoutException,
                    socket.timeout):
                if not self.stop_ev.is_set():
                    self._fail("ping not answered within %.1f s"
                               % self.ANSWER_TIMEOUT)
                return
            except Exception as e:  # dropped, bad frame, bad JSON
                if not self.stop_ev.is_set():
                    self._fail("%s: %s" % (type(e).__name__, e))
                return
            self.stop_ev.wait(max(0.0, t0 + self.INTERVAL - time.monotonic()))

    def counts(self):
        with self.lock:
            return self.sent, self.answered, list(self.failures)

    def check(self, min_new=3, timeout=6.0):
        """No failure so far, and min_new more pings answered from now on."""
        _, base, failures = self.counts()
        h.expect(not failures, "the well-behaved client was disturbed: %s"
                 % "; ".join(failures))
        h.expect(self.thread.is_alive(), "watcher %s stopped" % self.label)

        def progressed():
            _, n, f = self.counts()
            if f:
                raise AssertionError("the well-behaved client was disturbed: "
                                     "%s" % "; ".join(f))
            return n >= base + min_new
        h.wait_until(progressed, timeout, what="watcher %s pings answered"
                     % self.label)

    def stop(self):
        self.stop_ev.set()
        self.thread.join(self.ANSWER_TIMEOUT + 2)
        try:
            self.ws.close(timeout=1)
        except Exception:
            pass
        try:
            self.ws.shutdown()
        except Exception:
            pass


_watchers = {}


def _stop_watchers():
    for w in _watchers.values():
        if isinstance(w, Watcher):
            w.stop_ev.set()


def gateway(key="default"):
    """The shared gateway for `key`, with its watcher connected."""
    args = ("--max-message", str(MAX_MESSAGE)) if key == "maxmsg" else ()
    gw = h.shared_gateway(key, args=args)
    w = _watchers.get(key)
    if w is None:
        w = _watchers[key] = Watcher(gw, key)
    h.expect(isinstance(w, Watcher), "no watcher on %s" % key)
    return gw, w


# --- per-case helpers ---------------------------------------------------------

def still_serving(gw):
    """A new well-behaved client gets its welcome and a pong."""
    gw.expect_alive()
    with gw.ws() as c:
        cid = h.welcome(c)
        msg = c.roundtrip({"type": "ping"})
        h.expect_eq(msg.get("type"), "pong", "type of the answer to a ping")
        h.expect_eq(msg.get("connectionId"), cid, "connectionId")


def open_raw(gw):
    raw = RawWS(gw.port)
    raw.handshake()
    raw.welcome()
    return raw


def finish(gw, watcher, results):
    """
    results: [(variant, ok, description)]. Prints them, checks the gateway
    still serves and the watcher saw nothing, then fails with every
    variant that broke the rule.
    """
    for label, ok, desc in results:
        h.comment("%s %s: %s" % ("PASS" if ok else "FAIL", label, desc))
    errors = ["%s: %s" % (label, desc) for label, ok, desc in results
              if not ok]
    try:
        still_serving(gw)
    except AssertionError as e:
        errors.append("gateway no longer serves: %s" % e)
    try:
        watcher.check()
    except AssertionError as e:
        errors.append(str(e))
    h.expect(not errors, "\n".join(errors))


def close_case(key, variants, want, timeout=CLOSE_WAIT):
    """
    variants: [(label, bytes or callable(raw))]; each on a fresh
    connection must end with a close frame carrying code `want`, and
    nothing invalid from the server.
    """
    gw, w = gateway(key)
    results = []
    for label, data in variants:
        raw = open_raw(gw)
        try:
            if callable(data):
                data(raw)
            else:
                raw.send(data)
            out = raw.outcome(timeout)
        finally:
            raw.close()
        ok = out.kind == "close" and out.code == want and not out.problems
        results.append((label, ok, out.describe()))
    finish(gw, w, results)


def expect_echo(raw, text, timeout=5.0):
    """
    Reads up to pingpong's echo of `text` (None: of anything); returns
    (ok, description).
    """
    deadline = time.monotonic() + timeout
    seen = []
    for _ in range(100):
        try:
            f = raw.read_frame(deadline)
        except h.Timeout:
            return False, "no echo within %.1f s (got %r)" % (timeout, seen)
        if f is None:
            return False, "connection ended (%s), got %r" % (raw.eof, seen)
        probs = frame_problems(f)
        if probs:
            return False, "invalid frame from the server: %s" % probs
        if f.opcode == OP_CLOSE:
            code = int.from_bytes(f.payload[:2], "big") \
                if len(f.payload) >= 2 else None
            return False, "closed %s %r" % (code, f.payload[2:])
        if f.opcode != OP_TEXT:
            seen.append(f)
            continue
        try:
            msg = json.loads(f.payload.decode("utf-8"))
        except ValueError:
            return False, "not JSON: %r" % f.payload[:100]
        if msg.get("type") == "echo":
            if text is None:
                return True, "echoed"
            if msg.get("message") == text:
                return True, "echoed (%d bytes)" % len(text.encode("utf-8"))
            return False, "echo of something else: %r" % (
                msg.get("message")[:100],)
        seen.append(f)
    return False, "no echo"


# --- UTF-8 --------------------------------------------------------------------

@h.test("text frame with invalid UTF-8 -> close 1007")
def test_utf8_invalid():
    bad = [("lone continuation byte", b"abc\x80def"),
           ("invalid start byte 0xFF", b"\xff"),
           ("overlong '/' (C0 AF)", b"a\xc0\xafb"),
           ("UTF-16 surrogate (ED A0 80)", b"\xed\xa0\x80"),
           ("above U+10FFFF (F4 90 80 80)", b"\xf4\x90\x80\x80"),
           ("message ends inside a character", b"euro \xe2\x82")]
    close_case("default", [(label, frame(OP_TEXT, p)) for label, p in bad] +
               [("0xFF, then 4 KiB of good frames",
                 frame(OP_TEXT, b"\xff") + trailing())], 1007)


@h.test("valid UTF-8 cut mid-character across fragments is accepted")
def test_utf8_split_valid():
    gw, w = gateway()
    results = []
    text = "split \u20ac and \U0001F600 ok"
    b = text.encode("utf-8")
    i = b.index(b"\xe2") + 1            # after the euro sign's first byte
    j = b.index(b"\xf0") + 2            # inside the 4-byte emoji
    variants = [
        ("3 fragments, cut inside a 3- and a 4-byte sequence",
         frame(OP_TEXT, b[:i], fin=False) + frame(OP_CONT, b[i:j], fin=False)
         + frame(OP_CONT, b[j:])),
        ("one byte per fragment",
         frame(OP_TEXT, b[:1], fin=False) + b"".join(
             frame(OP_CONT, b[k:k + 1], fin=False)
             for k in range(1, len(b) - 1)) + frame(OP_CONT, b[-1:])),
        ("a ping between the fragments",
         frame(OP_TEXT, b[:i], fin=False) + frame(OP_PING, b"mid")
         + frame(OP_CONT, b[i:])),
        ("empty first and last fragments",
         frame(OP_TEXT, b"", fin=False) + frame(OP_CONT, b, fin=False)
         + frame(OP_CONT, b"")),
    ]
    for label, data in variants:
        with open_raw(gw) as raw:
            raw.send(data)
            ok, desc = expect_echo(raw, text)
        results.append((label, ok, desc))
    # binary frames are not UTF-8 checked
    with open_raw(gw) as raw:
        raw.send(frame(OP_BINARY, b"bin \xff\xfe"))
        ok, desc = expect_echo(raw, None)
    results.append(("binary frame with invalid UTF-8 (not checked)", ok, desc))
    finish(gw, w, results)


@h.test("invalid UTF-8 across fragments -> close 1007")
def test_utf8_split_invalid():
    close_case("default", [
        ("sequence started in one fragment, broken in the next",
         frame(OP_TEXT, b"ab\xe2\x82", fin=False) + frame(OP_CONT, b"(cd")),
        ("message ends inside a sequence started earlier",
         frame(OP_TEXT, b"ab\xf0\x9f", fin=False) + frame(OP_CONT, b"\x98")),
        ("invalid byte in a later fragment",
         frame(OP_TEXT, b"fine", fin=False) + frame(OP_CONT, b"ok", fin=False)
         + frame(OP_CONT, b"\xc0\x80")),
    ], 1007)


# --- framing: 1002 ----------------------------------------------------------

@h.test("unmasked client frame -> close 1002")
def test_unmasked():
    close_case("default", [
        ("unmasked text", frame(OP_TEXT, '{"type":"ping"}', mask=False)),
        ("unmasked ping", frame(OP_PING, b"x", mask=False)),
        ("unmasked empty binary", frame(OP_BINARY, b"", mask=False)),
    ], 1002)


@h.test("reserved opcodes 0x3-0x7, 0xB-0xF -> close 1002")
def test_reserved_opcodes():
    close_case("default", [
        ("opcode 0x%X" % op, frame(op, b"hello"))
        for op in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF)] +
        [("opcode 0x3, then 4 KiB of good frames",
          frame(3, b"hello") + trailing())], 1002)


@h.test("RSV1/RSV2/RSV3 without an extension -> close 1002")
def test_rsv_bits():
    close_case("default", [
        ("RSV1 on text", frame(OP_TEXT, "hi", rsv=4)),
        ("RSV2 on text", frame(OP_TEXT, "hi", rsv=2)),
        ("RSV3 on text", frame(OP_TEXT, "hi", rsv=1)),
        ("RSV1 on ping", frame(OP_PING, b"p", rsv=4)),
        ("RSV2, then 4 KiB of good frames",
         frame(OP_TEXT, "hi", rsv=2) + trailing()),
    ], 1002)


@h.test("control frame with a payload over 125 bytes -> close 1002")
def test_control_too_long():
    close_case("default", [
        ("ping of 126 bytes", frame(OP_PING, b"p" * 126)),
        ("pong of 200 bytes", frame(OP_PONG, b"p" * 200)),
        ("close of 126 bytes", frame(OP_CLOSE, close_payload(1000, "r" * 124))),
    ], 1002)


@h.test("fragmented control frame (FIN=0) -> close 1002")
def test_control_fragmented():
    close_case("default", [
        ("ping FIN=0", frame(OP_PING, b"p", fin=False)),
        ("pong FIN=0", frame(OP_PONG, b"p", fin=False)),
        ("close FIN=0", frame(OP_CLOSE, close_payload(1000), fin=False)),
    ], 1002)


@h.test("continuation frame with no message started -> close 1002")
def test_orphan_continuation():
    close_case("default", [
        ("continuation first", frame(OP_CONT, "x")),
        ("continuation FIN=0 first", frame(OP_CONT, "x", fin=False)),
        ("continuation after a complete message",
         frame(OP_TEXT, "whole") + frame(OP_CONT, "x")),
        ("continuation first, then 4 KiB of good frames",
         frame(OP_CONT, "x") + trailing()),
    ], 1002)


@h.test("new data frame while a fragmented message is open -> close 1002")
def test_interleaved_data():
    close_case("default", [
        ("text FIN=0 then text", frame(OP_TEXT, "a", fin=False)
         + frame(OP_TEXT, "b")),
        ("text FIN=0 then binary", frame(OP_TEXT, "a", fin=False)
         + frame(OP_BINARY, b"b")),
        ("binary FIN=0, continuation FIN=0, then text",
         frame(OP_BINARY, b"a", fin=False) + frame(OP_CONT, b"b", fin=False)
         + frame(OP_TEXT, "c")),
    ], 1002)


@h.test("64-bit payload length with the top bit set -> close 1002")
def test_length_msb():
    close_case("default", [
        ("length 2^63 + 5", frame(OP_TEXT, "hello", length=(1 << 63) + 5)),
    ], 1002)


# --- --max-message: 1009 ------------------------------------------------------

@h.test("message over --max-message -> close 1009")
def test_max_message():
    gw, w = gateway("maxmsg")
    results = []
    # at the limit: accepted (guards against an off-by-one)
    text = "a" * MAX_MESSAGE
    with open_raw(gw) as raw:
        raw.send(frame(OP_TEXT, text))
        ok, desc = expect_echo(raw, text)
    results.append(("text of exactly %d bytes accepted" % MAX_MESSAGE, ok, desc))
    over = [
        ("one text frame of %d bytes" % (MAX_MESSAGE + 1),
         frame(OP_TEXT, "b" * (MAX_MESSAGE + 1))),
        ("one binary frame of 64 KiB", frame(OP_BINARY, b"c" * 65536)),
        ("40 fragments of 128 bytes (5120)",
         frame(OP_TEXT, "d" * 128, fin=False) + b"".join(
             frame(OP_CONT, "d" * 128, fin=False) for _ in range(38))
         + frame(OP_CONT, "d" * 128)),
        ("fragments over the limit, final fragment never sent",
         frame(OP_BINARY, b"e" * 1024, fin=False) + b"".join(
             frame(OP_CONT, b"e" * 1024, fin=False) for _ in range(5))),
        ("header announcing 1 GiB, 8 KiB of it sent",
         _announced(1 << 30, 8192)),
    ]
    for label, data in over:
        with open_raw(gw) as raw:
            raw.send(data)
            out = raw.outcome(3.0)
        ok = out.kind == "close" and out.code == 1009 and not out.problems
        results.append((label, ok, out.describe()))
    finish(gw, w, results)


def _announced(length, sent):
    """A masked binary frame header announcing `length`, then `sent` bytes."""
    key = os.urandom(4)
    head = bytes([0x80 | OP_BINARY, 0x80 | 127]) + length.to_bytes(8, "big")
    return head + key + _xor(b"f" * sent, key)


# --- the close handshake ------------------------------------------------------

@h.test("client Close 1000 'bye' is answered, then the server ends TCP")
def test_client_close():
    gw, w = gateway()
    results = []
    for label, payload in [("close 1000 'bye'", close_payload(1000, "bye")),
                           ("close without a payload", b""),
                           ("close 4000 with a UTF-8 reason",
                            close_payload(4000, "au revoir \u20ac"))]:
        with open_raw(gw) as raw:
            raw.send(frame(OP_CLOSE, payload))
            out = raw.outcome(CLOSE_WAIT, reply=False, wait_eof=3.0)
        want = int.from_bytes(payload[:2], "big") if payload else None
        # an empty close may be answered with an empty close or 1000
        code_ok = out.code == want or (want is None and out.code in (None, 1000))
        ok = out.kind == "close" and code_ok and not out.problems and \
            out.eof_after is not None
        desc = out.describe() + (
            "; server ended TCP %.2f s after" % out.eof_after
            if out.eof_after is not None
            else "; server did NOT end TCP within 3 s")
        results.append((label, ok, desc))
    finish(gw, w, results)


@h.test("close frame with a 1-byte payload or an invalid code -> close 1002")
def test_close_invalid():
    variants = [("1-byte close payload", frame(OP_CLOSE, b"\x03"))]
    for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535):
        variants.append(("close code %d" % code,
                         frame(OP_CLOSE, close_payload(code, "x"))))
    variants.append(("close code 1005, then 4 KiB of frames",
                     frame(OP_CLOSE, close_payload(1005)) + trailing()))
    close_case("default", variants, 1002)


@h.test("valid close codes are echoed, not refused")
def test_close_valid_codes():
    gw, w = gateway()
    results = []
    for code in (1001, 1003, 1011, 3000, 4999):
        with open_raw(gw) as raw:
            raw.send(frame(OP_CLOSE, close_payload(code, "ok")))
            out = raw.outcome(CLOSE_WAIT, reply=False)
        ok = out.kind == "close" and out.code == code and not out.problems
        results.append(("close code %d" % code, ok, out.describe()))
    finish(gw, w, results)


@h.test("close reason with invalid UTF-8 -> close 1007")
def test_close_reason_utf8():
    close_case("default", [
        ("reason 0xFF", frame(OP_CLOSE, close_payload(1000, b"\xff"))),
        ("reason ends mid-character",
         frame(OP_CLOSE, close_payload(1000, b"bye \xe2\x82"))),
        ("reason with a surrogate",
         frame(OP_CLOSE, close_payload(1001, b"\xed\xa0\x80"))),
    ], 1007)


# --- the handshake --------------------------------------------------------------

def raw_http(port, data, timeout=HTTP_WAIT, send_timeout=5.0):
    """
    Sends raw request bytes, reads the answer. Returns (outcome, status,
    headers, seconds): outcome is "status" (status set), "fin", "reset",
    "timeout" or "send: ..." when the server stopped the upload.
    """
    t0 = time.monotonic()
    s = socket.create_connection((h.HOST, port), timeout=timeout)
    buf = b""
    sent_err = None
    try:
        try:
            s.settimeout(send_timeout)
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            sent_err = type(e).__name__
        except socket.timeout:
            return ("send blocked %.0f s (server stopped reading)"
                    % send_timeout, None, [], time.monotonic() - t0)
        deadline = t0 + timeout + send_timeout
        result = None
        for _ in range(10000):
            if b"\r\n\r\n" in buf:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                result = "timeout"
                break
            s.settimeout(left)
            try:
                more = s.recv(65536)
            except socket.timeout:
                result = "timeout"
                break
            except ConnectionResetError:
                result = "reset"
                break
            if not more:
                result = "fin"
                break
            buf += more
        took = time.monotonic() - t0
        if buf.startswith(b"HTTP/1."):
            head = buf.partition(b"\r\n\r\n")[0].decode("latin-1")
            lines = head.split("\r\n")
            try:
                status = int(lines[0].split()[1])
            except (IndexError, ValueError):
                status = None
            hdrs = []
            for line in lines[1:]:
                k, _, v = line.partition(":")
                hdrs.append((k.strip().lower(), v.strip()))
            return "status", status, hdrs, took
        if sent_err and result in ("reset", "fin"):
            result += " (upload cut: %s)" % sent_err
        if buf:
            result = "%s after non-HTTP bytes %r" % (result, buf[:60])
        return result, None, [], took
    finally:
        s.close()


def describe_http(res):
    kind, status, hdrs, took = res
    if kind == "status":
        return "HTTP %s (%s) in %.2f s" % (
            status, ", ".join("%s: %s" % kv for kv in hdrs
                              if kv[0] in ("upgrade", "sec-websocket-version",
                                           "connection")) or "-", took)
    names = {"fin": "TCP closed without a response",
             "reset": "TCP reset without a response",
             "timeout": "no response (hang)"}
    base = kind.split(" ", 1)
    text = names.get(base[0], kind)
    if len(base) > 1 and base[0] in names:
        text += " " + base[1]
    return "%s after %.2f s" % (text, took)


def hdr_has(hdrs, name, token):
    for k, v in hdrs:
        if k == name and token.lower() in [t.strip().lower()
                                           for t in v.split(",")]:
            return True
    return False


def upgrade_request(port, path="/websocket", host=True, key="default",
                    version="13", extra=(), line=None):
    if key == "default":
        key = base64.b64encode(os.urandom(16)).decode()
    out = (line if line is not None else "GET %s HTTP/1.1" % path) + "\r\n"
    if host:
        out += "Host: %s:%d\r\n" % (h.HOST, port)
    out += "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    if key is not None:
        out += "Sec-WebSocket-Key: %s\r\n" % key
    if version is not None:
        out += "Sec-WebSocket-Version: %s\r\n" % version
    for k, v in extra:
        out += "%s: %s\r\n" % (k, v)
    return (out + "\r\n").encode("latin-1")


def http_case(variants):
    """variants: [(label, request bytes, check(res) -> bool)]."""
    gw, w = gateway()
    results = []
    for label, data, check in variants:
        res = raw_http(gw.port, data)
        results.append((label, bool(check(res)), describe_http(res)))
    finish(gw, w, results)


def status_is(*codes):
    return lambda res: res[0] == "status" and res[1] in codes


@h.test("malformed request line -> 400")
def test_malformed_request_line():
    gw, _ = gateway()
    p = gw.port
    tail = ("Host: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
            % (h.HOST, p, base64.b64encode(os.urandom(16)).decode()))
    http_case([
        ("no HTTP version ('GET /websocket')",
         ("GET /websocket\r\n" + tail).encode(), status_is(400)),
        ("method only ('GET')", ("GET\r\n" + tail).encode(), status_is(400)),
        ("garbage request line", b"\x01\x02hello there\r\n" + tail.encode(),
         status_is(400)),
        ("HTTP/1.1 with a bad version token ('HTTP/x.y')",
         ("GET /websocket HTTP/x.y\r\n" + tail).encode(), status_is(400)),
        ("unknown method ('BREW')",
         ("BREW /websocket HTTP/1.1\r\n" + tail).encode(),
         status_is(400, 405, 501)),
    ])


@h.test("missing Host -> 400")
def test_missing_host():
    gw, _ = gateway()
    http_case([
        ("upgrade without Host", upgrade_request(gw.port, host=False),
         status_is(400)),
        ("HTTP/1.1 GET / without Host", b"GET / HTTP/1.1\r\n\r\n",
         status_is(400)),
    ])


@h.test("Sec-WebSocket-Version other than 13 -> 426 with "
        "Sec-WebSocket-Version: 13")
def test_bad_version():
    gw, _ = gateway()

    def want426(res):
        return res[0] == "status" and res[1] == 426 and \
            hdr_has(res[2], "sec-websocket-version", "13")

    def missing_ok(res):
        return res[0] == "status" and (res[1] == 400 or want426(res))
    http_case([("version %s" % v, upgrade_request(gw.port, version=v),
                want426) for v in ("8", "12", "14", "1300", "abc")] +
              [("no Sec-WebSocket-Version (400, or 426 with the header)",
                upgrade_request(gw.port, version=None), missing_ok)])


@h.test("missing or malformed Sec-WebSocket-Key -> 400")
def test_bad_key():
    gw, _ = gateway()
    b64 = lambda n: base64.b64encode(os.urandom(n)).decode()  # noqa: E731
    http_case([
        ("no key", upgrade_request(gw.port, key=None), status_is(400)),
        ("empty key", upgrade_request(gw.port, key=""), status_is(400)),
        ("8 bytes base64", upgrade_request(gw.port, key=b64(8)),
         status_is(400)),
        ("20 bytes base64", upgrade_request(gw.port, key=b64(20)),
         status_is(400)),
        ("24 characters, not base64",
         upgrade_request(gw.port, key="!!!!not-base64-at-all!!="),
         status_is(400)),
        ("16 bytes base64 without padding",
         upgrade_request(gw.port, key=b64(16).rstrip("=")), status_is(400)),
    ])


@h.test("plain GET on the route -> 426 with Upgrade: websocket")
def test_plain_get():
    gw, _ = gateway()

    def want(res):
        return res[0] == "status" and res[1] == 426 and \
            hdr_has(res[2], "upgrade", "websocket")
    http_case([
        ("GET /websocket", ("GET /websocket HTTP/1.1\r\nHost: %s:%d\r\n"
                            "Connection: close\r\n\r\n"
                            % (h.HOST, gw.port)).encode(), want),
    ])


@h.test("64 KiB of request headers -> 431 or 400, not a hang")
def test_oversized_headers():
    gw, _ = gateway()
    pads = "".join("X-Pad-%02d: %s\r\n" % (i, "a" * 1000) for i in range(64))
    big = upgrade_request(gw.port, extra=[]).rstrip(b"\r\n") + b"\r\n"
    http_case([
        ("64 headers of 1 KiB", big + pads.encode() + b"\r\n",
         status_is(431, 400)),
        ("one 64 KiB Cookie header",
         big + b"Cookie: c=" + b"x" * 65536 + b"\r\n\r\n",
         status_is(431, 400)),
        ("one 64 KiB request URI",
         ("GET /websocket?%s HTTP/1.1\r\nHost: %s:%d\r\n\r\n"
          % ("q" * 65536, h.HOST, gw.port)).encode(),
         status_is(414, 431, 400)),
    ])


def _has_option(name):
    try:
        out = subprocess.run([h.GATEWAY, "--help"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return ("--" + name).encode() in out


def _time_to_drop(port, first_bytes, limit):
    """Connects, sends first_bytes, waits for the server to end TCP."""
    s = socket.create_connection((h.HOST, port), timeout=5)
    t0 = time.monotonic()
    try:
        if first_bytes:
            s.sendall(first_bytes)
        deadline = t0 + limit
        for _ in range(10000):
            left = deadline - time.monotonic()
            if left <= 0:
                return None, b""
            r, _, _ = select.select([s], [], [], left)
            if not r:
                continue
            try:
                data = s.recv(4096)
            except ConnectionResetError:
                return time.monotonic() - t0, b"(reset)"
            if not data:
                return time.monotonic() - t0, b""
            return time.monotonic() - t0, data
        return None, b""
    finally:
        s.close()


def _trickle(port, limit):
    """Sends a request one byte per second until the server ends TCP."""
    req = ("GET /websocket HTTP/1.1\r\nHost: %s:%d\r\nX-Slow: %s\r\n\r\n"
           % (h.HOST, port, "s" * 200)).encode()
    s = socket.create_connection((h.HOST, port), timeout=5)
    t0 = time.monotonic()
    try:
        for i in range(min(len(req), int(limit) + 1)):
            try:
                s.sendall(req[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                return time.monotonic() - t0, b"(send failed)"
            r, _, _ = select.select([s], [], [], 1.0)
            if r:
                try:
                    data = s.recv(4096)
                except ConnectionResetError:
                    return time.monotonic() - t0, b"(reset)"
                return time.monotonic() - t0, data
        return None, b""
    finally:
        s.close()


@h.test("a client that sends nothing is dropped after the handshake timeout",
        timeout=3 * SILENT_WAIT)
def test_silent_client():
    have = _has_option("handshake-timeout")
    limit, wanted = SILENT_WAIT, None
    if have:
        gw = h.Gateway(args=["--handshake-timeout", "2"])
        w = Watcher(gw, "handshake-timeout")
        wanted = 2.0
    else:
        gw, w = gateway()
    results = []
    probes = [("silent connection", b""),
              ("half a request line, then silence", b"GET /webs"),
              ("headers never finished",
               ("GET /websocket HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket"
                "\r\n" % (h.HOST, gw.port)).encode())]
    probes.append(("a request trickled one byte per second", None))
    out = {}
    threads = []
    for label, data in probes:
        def run(label=label, data=data):
            if data is None:
                out[label] = _trickle(gw.port, limit)
            else:
                out[label] = _time_to_drop(gw.port, data, limit)
        t = threading.Thread(target=run, daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(limit + 10)
    for label, _ in probes:
        took, data = out.get(label, (None, b""))
        if took is None:
            results.append((label, False, "still open after %.0f s" % limit))
            continue
        desc = "dropped after %.1f s%s" % (
            took, (" with %r" % data[:60]) if data else "")
        ok = wanted is None or took <= wanted + 2.0
        results.append((label, ok, desc))
    if not have:
        results.append((
            "--handshake-timeout option", False,
            "torpor-gateway has no --handshake-timeout option; the times "
            "above are libwebsockets' defaults"))
    try:
        finish(gw, w, results)
    finally:
        if have:
            w.stop()


@h.test("the well-behaved clients saw no disturbance during the whole run")
def test_watchers_summary():
    if not _watchers:
        h.skip("no watcher ran")
    errors = []
    for key, w in sorted(_watchers.items()):
        if not isinstance(w, Watcher):
            continue
        sent, answered, failures = w.counts()
        w.stop()
        h.comment("watcher %s: %d pings, %d answered, max latency %.0f ms"
                  % (key, sent, answered, w.max_latency * 1000))
        if failures:
            errors += failures
        if answered < sent - 1:         # the last one may be cut by stop()
            errors.append("watcher %s: %d of %d pings answered"
                          % (key, answered, sent))
    h.expect(not errors, "\n".join(errors))


if __name__ == "__main__":
    import atexit
    atexit.register(_stop_watchers)
    h.run()
