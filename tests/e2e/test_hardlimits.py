#!/usr/bin/python3
"""
test_hardlimits: the limits of issue 4, item 2, under load and at their
boundaries, with tests/progs/testhandler-v1 ("flood N SIZE" broadcasts N
frames of SIZE bytes to the whole object, "attach N" sets an attachment
of N bytes, anything else is answered "v=1 TEXT").

- slow reader: a raw socket client that completes the handshake and then
  never reads, on an object whose other client keeps asking for
  broadcasts, with --send-queue 64K. The slow reader is closed with 1008
  (seen in the gateway log and in /metrics, since a client that does not
  read may never see the close frame), the gateway's RSS stays bounded,
  and the other client gets every frame, in order.
- ping flood: a client that never reads sends pings; their pongs count
  against --send-queue, or its output stalls: it is closed with 1008.
- --send-timeout: a client that stops reading is dropped once its output
  has made no progress for that long; one that reads slowly is not.
- flood: a raw socket client sends as fast as it can (up to 100,000
  messages, for at most 3 s) without reading, with --object-queue 16.
  Another client of the same object still gets each reply within a
  deadline while the object's queue is not empty, /metrics counts as many
  resumes as pauses, the log says so at most once a second, and the
  flooding client eventually gets a reply to every message, in order.
- --max-attachment: exactly N bytes are accepted, N+1 closes with 1011.
- --max-object-name: a name of exactly the limit upgrades (101), one
  byte more gets 400, on a prefix route.
"""

import base64
import select
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

V1 = os.path.join(h.TESTPROGS, "testhandler-v1")
ROUTE = "/obj/*"

OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x2, 0x8, 0x9, 0xA


def handler_gateway(args=(), routes=(ROUTE,), env=None, start=True):
    if not os.access(V1, os.X_OK):
        raise AssertionError("check program not built: %s" % V1)
    return h.Gateway(handler=[V1], args=args, static=None, routes=routes,
                     env=env, start=start)


def no_quarantine_env():
    """
    Environment for a gateway whose RSS is measured: under
    --enable-sanitizers, ASan keeps freed memory in a quarantine (256 MiB
    by default) that would look like growth; without it, RSS is the
    gateway's own. Harmless for a build without ASan.
    """
    opts = os.environ.get("ASAN_OPTIONS", "")
    extra = "quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
    return {"ASAN_OPTIONS": opts + ":" + extra if opts else extra}


# --- a raw WebSocket client -------------------------------------------------

def _mask(data, key):
    if not data:
        return b""
    k = (key * (len(data) // 4 + 1))[:len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(k, "big")).to_bytes(
        len(data), "big")


def text_frame(text, opcode=0x1):
    """One masked, final text frame (or opcode), as a client sends it."""
    payload = text.encode("utf-8")
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x81, 0x80 | 127]) + n.to_bytes(8, "big")
    key = os.urandom(4)
    return head + key + _mask(payload, key)


class RawWS:
    """
    A WebSocket client on a plain socket: it reads only when told to, so
    it can stop reading altogether. rcvbuf: SO_RCVBUF set before connect
    (a small one turns off the kernel's receive-buffer autotuning).
    """

    def __init__(self, port, path, rcvbuf=None, timeout=10.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((h.HOST, port))
        self.buf = b""
        self.eof = False
        key = base64.b64encode(os.urandom(16)).decode()
        req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n" % (path, h.HOST, port, key))
        self.sock.sendall(req.encode())
        deadline = time.monotonic() + timeout
        # Only the response header: a byte more could be a frame.
        for _ in range(65536):
            if b"\r\n\r\n" in self.buf:
                break
            self._fill(deadline)
            if self.eof:
                break
        head, sep, rest = self.buf.partition(b"\r\n\r\n")
        h.expect(sep and head.startswith(b"HTTP/1.1 101"),
                 "raw upgrade of %s: %r" % (path, head[:200]))
        h.expect(h.ws_accept(key).encode() in head,
                 "raw upgrade of %s: Sec-WebSocket-Accept" % path)
        self.buf = rest

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise h.Timeout("raw client: nothing within the deadline")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(1 << 20)
        except socket.timeout:
            raise h.Timeout("raw client: nothing within the deadline")
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
        self.buf += chunk

    def _need(self, n, deadline):
        for _ in range(1 << 20):
            if len(self.buf) >= n:
                return True
            if self.eof:
                return False
            self._fill(deadline)
        return False

    def read_frame(self, deadline):
        """(opcode, payload) of the next frame, or (None, None) at EOF."""
        if not self._need(2, deadline):
            return None, None
        b0, b1 = self.buf[0], self.buf[1]
        n, pos = b1 & 0x7F, 2
        if n == 126:
            if not self._need(4, deadline):
                return None, None
            n, pos = int.from_bytes(self.buf[2:4], "big"), 4
        elif n == 127:
            if not self._need(10, deadline):
                return None, None
            n, pos = int.from_bytes(self.buf[2:10], "big"), 10
        h.expect(not b1 & 0x80, "the server sent a masked frame")
        if not self._need(pos + n, deadline):
            return None, None
        payload = self.buf[pos:pos + n]
        self.buf = self.buf[pos + n:]
        return b0 & 0x0F, payload

    def read_data(self, deadline):
        """The next text or binary payload; Closed/Dropped otherwise."""
        for _ in range(1 << 20):
            op, payload = self.read_frame(deadline)
            if op is None:
                raise h.Dropped("raw client: EOF without a close frame")
            if op == OP_CLOSE:
                code = int.from_bytes(payload[:2], "big") \
                    if len(payload) >= 2 else 1005
                raise h.Closed(code, payload[2:].decode("utf-8", "replace"))
            if op in (OP_TEXT, OP_BINARY):
                return payload
        raise h.Timeout("raw client: no data frame")


# --- helpers -----------------------------------------------------------------

def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def expect_reply(c, text, what, timeout=5.0):
    c.send_text(text)
    try:
        got = c.recv_text(timeout=timeout)
    except h.Closed as e:
        raise AssertionError("%s: closed with %s (%r)" % (what, e.code,
                                                         e.reason))
    h.expect_eq(got, "v=1 " + text, what)


def flood_frames(c, n, size, what, timeout=10.0):
    """Reads the n frames of one "flood n size" and checks each."""
    for i in range(n):
        try:
            got = c.recv_text(timeout=timeout)
        except h.Closed as e:
            raise AssertionError("%s: frame %d of %d: closed with %s (%r)"
                                 % (what, i, n, e.code, e.reason))
        except h.Timeout:
            raise AssertionError("%s: frame %d of %d did not come within "
                                 "%.0f s" % (what, i, n, timeout))
        prefix = "%d/%d " % (i, n)
        h.expect(len(got) == size and got.startswith(prefix),
                 "%s: frame %d: %d bytes starting %r (want %d bytes "
                 "starting %r)" % (what, i, len(got), got[:16], size, prefix))


# --- slow reader -------------------------------------------------------------

SEND_QUEUE = 64 * 1024
FLOOD_N, FLOOD_SIZE = 8, 4096       # 32 KiB a round: under --send-queue
MAX_ROUNDS = 400                    # 12.5 MiB: far past any socket buffer
ROUNDS_AFTER = 30                   # rounds after the slow reader's close
RSS_SLACK_KIB = 4 * 1024


@h.test("slow reader (never reads, --send-queue 64K): closed with 1008, "
        "RSS bounded, the other clients get every frame", timeout=240)
def test_slow_reader():
    g = handler_gateway(["--send-queue", "64K"], env=no_quarantine_env(),
                        start=False)
    events = os.path.join(g.root, "handler-events")
    g.extra_env["TESTHANDLER_LOG"] = events
    g.start()
    good = g.ws("/obj/room")
    other = g.ws("/obj/elsewhere")
    # Warm-up with the good client alone, then the baseline.
    for r in range(5):
        good.send_text("flood %d %d" % (FLOOD_N, FLOOD_SIZE))
        flood_frames(good, FLOOD_N, FLOOD_SIZE, "warm-up round %d" % r)
    base = vm_rss_kib(g.pid)
    slow = RawWS(g.port, "/obj/room", rcvbuf=4096)
    expect_reply(good, "after the slow reader's connect", "good client")
    closed_at = None
    peak = base
    rounds = 0
    try:
        for rounds in range(1, MAX_ROUNDS + 1):
            good.send_text("flood %d %d" % (FLOOD_N, FLOOD_SIZE))
            flood_frames(good, FLOOD_N, FLOOD_SIZE, "round %d" % rounds)
            peak = max(peak, vm_rss_kib(g.pid))
            if closed_at is None and g.log_lines(r"send queue over"):
                closed_at = rounds
            if closed_at is not None and rounds >= closed_at + ROUNDS_AFTER:
                break
            if rounds % 20 == 0:
                expect_reply(other, "other object, round %d" % rounds,
                             "client of another object")
        h.comment("slow reader closed after round %s of %d; VmRSS %d KiB "
                  "at the start, peak %d KiB (+%d KiB)"
                  % (closed_at, rounds, base, peak, peak - base))
        lines = g.log_lines(r"level=warn .*connection [0-9a-f-]+: send "
                          r"queue over %d bytes .*closing 1008" % SEND_QUEUE)
        h.expect(lines, "no log line says the slow reader was closed with "
                 "1008 after %d rounds of %d KiB\n%s"
                 % (rounds, FLOOD_N * FLOOD_SIZE // 1024, g.log_tail()))
        h.comment(lines[0])
        slow_id = re.search(r"connection ([0-9a-f-]+):", lines[0]).group(1)
        h.expect_eq(len(lines), 1, "send-queue closes logged (only the "
                    "slow reader)")
        closes = h.wait_until(
            lambda: g.metric('torpor_closes_total{code="1008"}'), 5,
            what='torpor_closes_total{code="1008"} counts the close')
        h.expect_eq(closes, 1.0, 'torpor_closes_total{code="1008"}')
        h.expect(peak - base <= RSS_SLACK_KIB,
                 "gateway VmRSS grew by %d KiB (from %d to %d KiB); bound "
                 "%d KiB" % (peak - base, base, peak, RSS_SLACK_KIB))
        # The well-behaved clients are still served and were never closed.
        expect_reply(good, "good client at the end", "good client")
        expect_reply(other, "other object at the end", "other object")
        h.wait_until(lambda: g.metric("torpor_connections") == 2, 10,
                     what="torpor_connections back to 2 (the slow reader "
                     "is gone)")
        # The handler hears of it: the close event carries 1008
        # (PROTOCOL.md 3.2, TORPOR_CLOSE_CODE).
        def closed_event():
            try:
                with open(events) as f:
                    return [ln.split() for ln in f
                            if ln.startswith("close " + slow_id + " ")]
            except OSError:
                return []
        ev = h.wait_until(closed_event, 10,
                          what="the handler's close event of the slow "
                          "reader")
        h.expect_eq(ev[0][2], "1008", "TORPOR_CLOSE_CODE of the slow "
                    "reader's close event")
        # What the slow reader finds once it reads: the frames that fit
        # its buffers, then (maybe) the close frame, then the end.
        got, code = 0, None
        deadline = time.monotonic() + 15
        try:
            for _ in range(100000):
                slow.read_data(deadline)
                got += 1
        except h.Closed as e:
            code = e.code
        except (h.Dropped, h.Timeout):
            pass
        h.comment("the slow reader read %d frames, then %s" % (
            got, "close %s" % code if code else
            ("EOF" if slow.eof else "nothing more")))
        h.expect(code in (None, 1008), "slow reader's close code %s" % code)
        h.expect(code is not None or slow.eof,
                 "the slow reader's connection did not end")
        g.expect_alive()
    finally:
        slow.close()


# --- flood -------------------------------------------------------------------

FLOOD_SECONDS = 3.0          # the flooder sends for this long ...
FLOOD_MAX = 100000           # ... or this many messages (replies < 2 MiB)
FLOOD_CHUNK = 500            # messages per sendall()
PROBE_DEADLINE = 5.0
MIN_PROBES_UNDER_LOAD = 5


def send_for(sock, data, seconds, stop):
    """
    Sends data over and over for at most `seconds`, never cutting a frame
    in two (a blocked send waits, bounded), until stop() is true or the
    gateway stops taking bytes. Returns the bytes sent.
    """
    deadline = time.monotonic() + seconds
    pending, sent = b"", 0
    for i in range(1000000):
        if time.monotonic() >= deadline or (i % 32 == 0 and stop()):
            break
        if not pending:
            pending = data
        _, w, _ = select.select([], [sock], [], 0.2)
        if not w:
            continue
        try:
            n = sock.send(pending)
        except OSError:
            break
        pending = pending[n:]
        sent += n
    return sent


@h.test("ping flood from a client that never reads (--send-queue 16K, "
        "--send-timeout 2): it is closed (1008) one way or the other, the "
        "others are served", timeout=120)
def test_ping_flood():
    g = handler_gateway(["--send-queue", "16K", "--send-timeout", "2"])
    other = g.ws("/obj/room")
    expect_reply(other, "before the ping flood", "other client")
    flooder = RawWS(g.port, "/obj/room", rcvbuf=4096)
    flooder.sock.setblocking(False)
    gone = lambda: g.log_lines(r"connection [0-9a-f-]+: (send queue over "
                             r"16384 bytes|no output progress)")
    sent = send_for(flooder.sock, text_frame("p" * 125, opcode=0x9) * 64,
                    10, gone)
    # Its pongs overflow the queue (1008), or, once lws holds a write the
    # kernel will not take, the gateway stops reading its pings and the
    # output stalls (--send-timeout): which comes first is a race.
    lines = h.wait_until(gone, 10, what="the ping flooder's close line")
    h.comment("%d bytes of pings sent; %s" % (sent, lines[0]))
    h.wait_until(lambda: g.metric('torpor_closes_total{code="1008"}') == 1,
                 10, what='torpor_closes_total{code="1008"} is 1')
    flooder.sock.close()
    expect_reply(other, "after the ping flood", "other client")
    g.expect_alive()


@h.test("--send-timeout 2: a client that stops reading under a 6 MiB "
        "broadcast is dropped 2-5 s later (close event 1008); one that reads "
        "slowly but steadily for longer is not", timeout=120)
def test_send_timeout():
    g = handler_gateway(["--send-queue", "64M", "--send-timeout", "2"])
    # Steady: 100 frames of 64 KiB read one per 50 ms (about 5 s), so the
    # output stays backed up past 2 s, but moves all the time.
    steady = RawWS(g.port, "/obj/steady", rcvbuf=4096)
    steady.sock.sendall(text_frame("flood 100 65536"))
    deadline = time.monotonic() + 60
    t0 = time.monotonic()
    for i in range(100):
        try:
            got = steady.read_data(deadline)
        except (h.Closed, h.Dropped) as e:
            raise AssertionError("steady reader: frame %d of 100: %s: %s"
                                 % (i, type(e).__name__, e))
        h.expect(len(got) == 65536, "steady reader: frame %d is %d bytes"
                 % (i, len(got)))
        time.sleep(0.05)
    took = time.monotonic() - t0
    h.comment("steady reader: 100 frames of 64 KiB in %.1f s" % took)
    h.expect(took > 4, "the steady reader took only %.1f s: the test did "
             "not keep output backed up past --send-timeout" % took)
    h.expect(not g.log_lines(r"no output progress"), "a client that reads "
             "was dropped: %s" % g.log_lines(r"no output progress"))
    # Stuck: asks for the same and never reads.
    stuck = RawWS(g.port, "/obj/stuck", rcvbuf=4096)
    stuck.sock.sendall(text_frame("flood 100 65536"))
    t0 = time.monotonic()
    lines = h.wait_until(lambda: g.log_lines(r"level=warn .*connection [0-9a-f-]+: no output progress for 2 s "
        r"\(client not reading\), dropped"), 15,
        what="the stuck client's drop line")
    took = time.monotonic() - t0
    h.comment("stuck reader dropped after %.1f s: %s" % (took, lines[0]))
    h.expect(2.0 <= took <= 6.0, "dropped %.1f s after its request; "
             "--send-timeout 2" % took)
    h.wait_until(lambda: g.metric('torpor_errors_total{kind="send_timeout"}')
                 == 1, 5, what="torpor_errors_total{kind=send_timeout} is 1")
    h.expect_eq(g.metric('torpor_closes_total{code="1008"}'), 1.0,
                "1008 closes (the stuck one)")
    stuck.sock.close()
    g.expect_alive()


@h.test("flood (one client sends 100,000 messages without reading, "
        "--object-queue 16): the other client is answered in time, reading "
        "pauses and resumes, no message lost", timeout=180)
def test_flood():
    g = handler_gateway(["--object-queue", "16"])
    other = g.ws("/obj/room")
    flooder = RawWS(g.port, "/obj/room")
    flooder.sock.sendall(text_frame("hello"))
    h.expect_eq(flooder.read_data(time.monotonic() + 10), b"v=1 hello",
                "flooder's first reply")
    expect_reply(other, "before the flood", "other client")

    sent = {"n": 0, "error": None, "took": None}

    def send_all():
        t0 = time.monotonic()
        try:
            flooder.sock.settimeout(60)
            for chunk in range(FLOOD_MAX // FLOOD_CHUNK):
                if time.monotonic() - t0 >= FLOOD_SECONDS:
                    break
                base = chunk * FLOOD_CHUNK
                flooder.sock.sendall(b"".join(
                    text_frame("m%06d" % (base + i))
                    for i in range(FLOOD_CHUNK)))
                sent["n"] = base + FLOOD_CHUNK
        except OSError as e:
            sent["error"] = e
        sent["took"] = time.monotonic() - t0

    sender = threading.Thread(target=send_all, daemon=True)
    sender.start()
    latencies = []          # (events queued after it, seconds taken)
    quiet = 0
    try:
        # Probes while the flood goes on, each with a deadline, until the
        # flooder has sent everything and the object's queue is empty.
        for probe in range(1, 10001):
            t = time.monotonic()
            expect_reply(other, "probe %d" % probe,
                         "other client's probe %d during the flood" % probe,
                         timeout=PROBE_DEADLINE)
            queued = g.metric("torpor_queued_events")
            latencies.append((queued, time.monotonic() - t))
            if not sender.is_alive() and queued == 0:
                quiet += 1
                if quiet >= 3:
                    break
            else:
                quiet = 0
            time.sleep(0.02)
        sender.join(60)
        h.expect(not sender.is_alive(), "the flooder's send did not finish")
        h.expect(sent["error"] is None, "flooder's send failed after %d "
                 "messages: %s" % (sent["n"], sent["error"]))
        total = sent["n"]
        # Probes answered while the object still had events queued were
        # answered under load.
        under_load = sum(1 for queued, _ in latencies if queued > 0)
        h.comment("%d messages sent in %.2f s; %d probes, %d of them "
                  "answered during the flood, slowest reply %.3f s"
                  % (total, sent["took"], len(latencies), under_load,
                     max(took for _, took in latencies)))
        h.expect(under_load >= MIN_PROBES_UNDER_LOAD,
                 "only %d probes were answered during the flood"
                 % under_load)
        # Reading stops at the bound, not at the end of the read that hit
        # it: a 4 KiB read of this flood holds hundreds of messages.
        most = max(queued for queued, _ in latencies)
        h.comment("most events seen queued: %d (--object-queue 16)" % most)
        h.expect(most <= 16 + 2, "%d events queued for the object, "
                 "--object-queue 16" % most)
        # Every message of the flood gets its reply, in order.
        deadline = time.monotonic() + 90
        for i in range(total):
            try:
                got = flooder.read_data(deadline)
            except (h.Closed, h.Dropped, h.Timeout) as e:
                raise AssertionError("flooder: reply %d of %d: %s"
                                     % (i, total, e))
            want = ("v=1 m%06d" % i).encode()
            h.expect(got == want, "flooder: reply %d is %r, want %r"
                     % (i, got[:40], want))
        pauses = g.metric("torpor_flow_pauses_total")
        resumes = g.metric("torpor_flow_resumes_total")
        lines = g.log_lines(r"object room queue=\d+: reading paused \(\d+ "
                          r"times? since the last such line")
        h.comment("reading paused %d times, resumed %d times; %d log lines"
                  % (pauses, resumes, len(lines)))
        h.expect(pauses > 0, "torpor_flow_pauses_total is 0")
        h.expect_eq(resumes, pauses, "resumes per pause")
        h.expect(lines, "no \"reading paused\" line in the log")
        h.expect(len(lines) <= sent["took"] + 30, "%d pause lines in the "
                 "log: more than one a second" % len(lines))
        h.expect_eq(g.metric('torpor_closes_total{code="1008"}'), 0.0,
                    "1008 closes")
        expect_reply(other, "after the flood", "other client")
        g.expect_alive()
    finally:
        flooder.close()


# --- --max-attachment --------------------------------------------------------

@h.test("--max-attachment: exactly N bytes are set, N+1 closes with 1011 "
        "(N = 2048, and the default 16 KiB)", timeout=90)
def test_max_attachment():
    for n, args in ((2048, ["--max-attachment", "2048"]), (16384, [])):
        g = handler_gateway(args)
        bystander = g.ws("/obj/room")
        with g.ws("/obj/room") as c:
            c.send_text("attach %d" % n)
            h.expect_eq(c.recv_text(timeout=10), "ok",
                        "attachment of exactly %d bytes" % n)
            expect_reply(c, "still open", "after the %d-byte attachment" % n)
        with g.ws("/obj/room") as c:
            c.send_text("attach %d" % (n + 1))
            try:
                kind, data = c.recv(timeout=10)
            except h.Closed as e:
                h.expect_eq(e.code, 1011, "close code for an attachment of "
                            "%d bytes (limit %d)" % (n + 1, n))
            else:
                raise AssertionError("attachment of %d bytes (limit %d): "
                                     "got %s %r, want close 1011"
                                     % (n + 1, n, kind, data[:40]))
        h.expect(g.log_lines(r"level=warn .*object=room event=message "
                           r"connection=[0-9a-f-]+: attachment too large"),
                 "no log line names the attachment as the cause\n%s"
                 % g.log_tail())
        expect_reply(bystander, "bystander after the 1011",
                     "the other client of the object (limit %d)" % n)
        g.stop()


# --- --max-object-name -------------------------------------------------------

def upgrade_status(port, path):
    r = h.http_request(port, "GET", path, headers=h.ws_handshake_headers())
    return r.status


@h.test("--max-object-name on a prefix route: a name of exactly the limit "
        "gets 101, one byte more 400 (limit 16, and the default 128)",
        timeout=60)
def test_max_object_name():
    for n, args in ((16, ["--max-object-name", "16"]), (128, [])):
        g = handler_gateway(args, routes=("/rooms/*",))
        at = "/rooms/" + "n" * n
        over = "/rooms/" + "o" * (n + 1)
        h.expect_eq(upgrade_status(g.port, at), 101,
                    "upgrade with a %d-byte object name (limit %d)" % (n, n))
        h.expect_eq(upgrade_status(g.port, over), 400,
                    "upgrade with a %d-byte object name (limit %d)"
                    % (n + 1, n))
        h.expect(g.log_lines(r"upgrade refused path=%s status=400"
                           % re.escape(over)),
                 "no log line for the refused name\n%s" % g.log_tail())
        with g.ws(at) as c:
            expect_reply(c, "in the longest room",
                         "a client of the %d-byte object" % n)
        g.stop()


if __name__ == "__main__":
    h.run()
