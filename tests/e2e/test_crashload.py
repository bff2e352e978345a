#!/usr/bin/python3
"""
test_crashload: kill -9 of a random handler process every second under
load. Each client talks to its own object ("/rooms/cN"), in closed loop:
it sends "inc" and waits for "n=K v=1" (its K-th increment: nothing lost,
nothing applied twice) before the next. With --durability full every
event waits for an fsync, so the handler processes (--handlers 2:4) are
busy most of the time and a random kill usually hits one mid-request.
A kill affects only the connection whose event was in flight in the
killed process: it gets close 1011, and the gateway logs one
"mid-request" line for it (or "write to the handler failed", when the
process died as the request was being written). So: the 1011 closes seen by clients equal the
"mid-request" lines, name the same objects, no client sees any other close,
every other client gets every reply, and the gateway stays up.

A client closed with 1011 is replaced by a new one on a new object, so the
load holds. TORPOR_LONG=1 (make check-long): kills for 60 s.

A second test kills an idle handler and sends the next message at once:
no event was in flight, so nobody may get 1011.
"""

import os
import random
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

LONG = os.environ.get("TORPOR_LONG") == "1"
CLIENTS = 50
KILL_SECONDS = 60 if LONG else 6
WARMUP = 1.0
TAIL = 1.0
DRAIN = 15.0
V1 = os.path.join(h.TESTPROGS, "testhandler-v1")

# How a kill mid-request shows: the process died, closed the socket, or
# was gone when the gateway wrote the request to it.
MID_CAUSES = (r"(handler closed the connection mid-request|handler died "
              r"mid-request|write to the handler failed)")
MID_RE = re.compile(r"handler pid=(\d+): " + MID_CAUSES)
# \x22: a double quote (logfmt quotes the message)
FAIL_RE = re.compile(r"object=([^\s\x22]+) event=([^\s\x22]+) "
                     r"connection=([^\s\x22]+): " + MID_CAUSES)


class Load:
    def __init__(self, g, fleet):
        self.g = g
        self.fleet = fleet
        self.sending = True
        self.next_room = 0
        self.replies = 0
        self.closed_1011 = []       # rooms of the connections closed 1011
        self.problems = []

    def add(self):
        room = "c%d" % self.next_room
        self.next_room += 1
        c = self.fleet.open("%s/rooms/%s" % (self.g.ws_url, room))
        c.user = {"room": room, "k": 0, "want": None}
        self.send(c)
        return c

    def send(self, c):
        u = c.user
        u["k"] += 1
        u["want"] = "n=%d v=1" % u["k"]
        self.fleet.send(c, "inc")

    def outstanding(self):
        return [c for c in self.fleet.conns
                if c.open and c.user["want"] is not None]

    def step(self, timeout):
        for c, kind, data in self.fleet.poll(timeout):
            u = c.user
            if kind == "close" and data[0] == 1011:
                self.closed_1011.append(u["room"])
                if self.sending:
                    self.add()
                continue
            if kind in ("close", "drop"):
                self.problems.append("connection %d (%s) %s: %r"
                                     % (c.index, u["room"], kind, data))
                continue
            if kind != "text" or data != u["want"]:
                self.problems.append("connection %d (%s): expected "
                                     "%r, got %s %r"
                                     % (c.index, u["room"], u["want"],
                                        kind, data[:100]))
                continue
            self.replies += 1
            u["want"] = None
            if self.sending:
                self.send(c)


@h.test("kill -9 of a random handler every second for %d s under load: "
        "1011 closes = mid-request log lines, nobody else affected"
        % KILL_SECONDS, timeout=KILL_SECONDS + 120)
def test_kill_under_load():
    h.raise_nofile()
    if not os.access(V1, os.X_OK):
        raise AssertionError("check program not built: %s" % V1)
    g = h.Gateway(handler=[V1], args=["--handlers", "2:4", "--durability",
                                      "full"],
                  static=None, routes=["/rooms/*"])
    rng = random.Random(os.getpid())
    kills = []                  # PIDs killed
    with h.Fleet(timeout=10.0) as fleet:
        load = Load(g, fleet)
        for _ in range(CLIENTS):
            load.add()
        started = time.monotonic()
        next_kill = started + WARMUP
        stop_at = next_kill + KILL_SECONDS + TAIL
        for _ in range(10 ** 8):
            now = time.monotonic()
            if now >= stop_at or len(load.problems) > 50:
                break
            if now >= next_kill and len(kills) < KILL_SECONDS:
                kids = g.children()
                if kids:
                    pid = rng.choice(kids)
                    try:
                        os.kill(pid, signal.SIGKILL)
                        kills.append(pid)
                    except ProcessLookupError:
                        pass
                next_kill += 1.0
            load.step(min(0.05, max(0.0, next_kill - now)))
        load.sending = False
        drain_until = time.monotonic() + DRAIN
        for _ in range(10 ** 6):
            if not load.outstanding() or time.monotonic() > drain_until:
                break
            load.step(0.1)
        missing = load.outstanding()
        elapsed = time.monotonic() - started
        g.expect_alive()

        # The log lines of the last failures may trail the close frames.
        def log_counts():
            text = g.log_text()
            return (len(MID_RE.findall(text)),
                    [m.group(1) for m in FAIL_RE.finditer(text)],
                    FAIL_RE.findall(text))
        try:
            h.wait_until(lambda: log_counts()[0] >= len(load.closed_1011),
                         5, what="mid-request lines for every 1011")
        except h.Timeout:
            pass
        mid, failed_objects, failures = log_counts()
        h.comment("%d replies in %.1f s, %d kills, %d closes 1011, %d "
                  "mid-request log lines"
                  % (load.replies, elapsed, len(kills),
                     len(load.closed_1011), mid))
        h.expect(not load.problems, "%d problems, the first ones:\n%s"
                 % (len(load.problems), "\n".join(load.problems[:20])))
        h.expect(not missing, "%d replies missing %.0f s after the load "
                 "stopped, e.g. %s" % (len(missing), DRAIN,
                                       [(c.user["room"], c.user["want"])
                                        for c in missing[:5]]))
        h.expect_eq(len(kills), KILL_SECONDS, "kills done")
        h.expect(load.closed_1011, "no kill hit a busy handler (%d kills)"
                 % len(kills))
        h.expect_eq(len(load.closed_1011), mid,
                    "closes 1011 seen by clients vs 'mid-request' log lines")
        h.expect_eq(sorted(failed_objects), sorted(load.closed_1011),
                    "objects of the failed events vs objects of the "
                    "clients closed 1011")
        others = [f for f in failures if f[1] not in ("message", "connect")]
        h.expect(not others, "failures of other events: %s" % others[:5])
        h.expect(len(load.closed_1011) <= len(kills),
                 "%d closes 1011 for %d kills" % (len(load.closed_1011),
                                                  len(kills)))
        # Still serving, with a fresh client on a fresh object.
        c = load.add()
        for _ in range(200):
            load.step(0.05)
            if c.user["want"] is None or not c.open:
                break
        h.expect(c.open and c.user["want"] is None,
                 "a new client got no reply after the kills (%s %s)"
                 % (c.closed, c.dropped))
    g.expect_alive()


def dead(pid):
    """The process has exited: a zombie not reaped yet, or gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


@h.test("kill -9 of an idle handler affects no connection: the next "
        "message is answered (30 rounds)", timeout=60)
def test_kill_idle():
    """
    No event is in flight when the process dies, so nobody may get 1011,
    even when the next event comes before the gateway noticed the death:
    the gateway checks the kept connection before it writes a request.
    The test waits until the kernel has finished killing the process (it
    is a zombie or gone): a request written while the process is still
    being torn down may have been read, so failing it (1011) is right.
    """
    if not os.access(V1, os.X_OK):
        raise AssertionError("check program not built: %s" % V1)
    g = h.Gateway(handler=[V1], args=["--handlers", "1:1"], static=None)
    with g.ws() as c:
        for i in range(1, 31):
            c.send_text("inc")
            h.expect_eq(c.recv_text(10), "n=%d v=1" % i, "round %d: inc" % i)
            pids = g.children()
            h.expect(pids, "round %d: no handler process" % i)
            for p in pids:
                os.kill(p, signal.SIGKILL)
            h.wait_until(lambda: all(dead(p) for p in pids), 5,
                         what="round %d: killed handlers exited" % i)
            c.send_text("get")
            try:
                got = c.recv_text(15)
            except h.Closed as e:
                raise AssertionError(
                    "round %d: the message sent right after kill -9 of the "
                    "idle handler(s) %s got close %s %r instead of a reply"
                    % (i, pids, e.code, e.reason))
            h.expect_eq(got, "n=%d v=1" % i, "round %d: get" % i)
    g.expect_alive()


if __name__ == "__main__":
    h.run()
