#!/usr/bin/python3
"""
test_reload: hot swap of the handler binary under load.

(a) Clients in closed loop (each sends "seq-K" and waits for "v=X seq-K"
    before the next) while the handler at a path in the test's directory is
    replaced S times, alternately by testhandler-v2 and -v1 (copy to a
    temporary name, rename over the path, `torpor-gateway --reload`). No
    socket may be closed, no reply lost or out of order; once a reload has
    returned, every later message is answered by the new version. A few
    more clients pipeline "inc" on one shared object: the counter values
    they see must be unique and increasing, which fails if two events of an
    object ever run at once across generations.
(b) A reload to a program that exits at once fails: `--reload` exits
    non-zero, the old generation keeps answering, the log says why; a good
    reload afterwards still works.
(c) A reload to a program that never answers fails after --reload-timeout
    and the candidate is killed.

TORPOR_LONG=1 (make check-long): 60 s of load and 50 swaps.
"""

import bisect
import collections
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

LONG = os.environ.get("TORPOR_LONG") == "1"
CLIENTS = 200                   # closed-loop "seq" clients
INC_CLIENTS = 8                 # pipelined "inc" clients on one object
INC_DEPTH = 4                   # their messages in flight each
ROOMS = 50                      # seq clients share rooms 4 by 4
SWAPS = 50 if LONG else 20
SWAP_GAP = 1.0 if LONG else 0.5  # seconds between a reload and the next
WARMUP = 1.0
TAIL = 2.0 if LONG else 1.5     # load after the last swap
DRAIN = 15.0                    # for the last replies
V1 = os.path.join(h.TESTPROGS, "testhandler-v1")
V2 = os.path.join(h.TESTPROGS, "testhandler-v2")
VERSION_OF = {V1: 1, V2: 2}

SEQ_RE = re.compile(r"^v=(\d+) (seq-\d+)$")
INC_RE = re.compile(r"^n=(\d+) v=(\d+)$")


def install(src, path):
    """Puts a program at path atomically: copy, then rename over it."""
    tmp = path + ".new"
    shutil.copyfile(src, tmp)
    os.chmod(tmp, 0o755)
    os.rename(tmp, path)


def write_script(path, text):
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o755)
    os.rename(tmp, path)


def handler_gateway(args=()):
    """A gateway whose handler is a copy of testhandler-v1 in its directory."""
    for p in (V1, V2):
        if not os.access(p, os.X_OK):
            raise AssertionError("check program not built: %s" % p)
    g = h.Gateway(handler=["/nonexistent"], args=args, static=None,
                  routes=["/rooms/*"], start=False)
    path = os.path.join(g.root, "handler")
    install(V1, path)
    g.handler = [path]
    g.start()
    return g, path


def reload(g, timeout=60):
    """Runs torpor-gateway --reload; returns (status, stdout, stderr)."""
    try:
        r = subprocess.run(
            [h.GATEWAY, "--reload", "--run-dir", g.run_dir],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "", "--reload did not return within %d s" % timeout
    return (r.returncode, r.stdout.decode("utf-8", "replace").strip(),
            r.stderr.decode("utf-8", "replace").strip())


def generations_of(g):
    """{pid: generation} from the log's "handler started" lines."""
    out = {}
    for ln in g.log_lines(r"handler started pid=\d+ generation=\d+"):
        m = re.search(r"pid=(\d+) generation=(\d+)", ln)
        out[int(m.group(1))] = int(m.group(2))
    return out


class Swapper:
    """
    Swaps the handler SWAPS times, SWAP_GAP apart, from the load's own
    thread: step() installs the next binary and starts `--reload` without
    waiting, and notes when it has returned. Each swap is marked with the
    load's send counter at its start and at its observed end, so whether
    a message was sent before, during or after a reload is exact program
    order, not a timestamp another thread could have delayed.
    """

    def __init__(self, g, path, load):
        self.g = g
        self.path = path
        self.load = load
        self.swaps = []     # (t0, t1, version, status, out, err, mark0, mark1)
        self.proc = None
        self.cur = None
        self.next_at = time.monotonic() + WARMUP
        self.done = False

    def step(self, now):
        if self.done:
            return
        if self.proc is None:
            if now < self.next_at:
                return
            i = len(self.swaps)
            src = V2 if i % 2 == 0 else V1
            install(src, self.path)
            self.cur = (time.monotonic(), VERSION_OF[src], self.load.sends)
            self.proc = subprocess.Popen(
                [h.GATEWAY, "--reload", "--run-dir", self.g.run_dir],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE)
            return
        status = self.proc.poll()
        if status is None:
            if now - self.cur[0] > 60:
                self.proc.kill()
                self.proc.wait()
                self.swaps.append((self.cur[0], now, self.cur[1], None, "",
                                   "--reload still running after 60 s",
                                   self.cur[2], self.load.sends))
                self.done = True
            return
        mark1 = self.load.sends
        t1 = time.monotonic()
        out, err = self.proc.communicate()
        self.proc = None
        self.swaps.append((self.cur[0], t1, self.cur[1], status,
                           out.decode("utf-8", "replace").strip(),
                           err.decode("utf-8", "replace").strip(),
                           self.cur[2], mark1))
        self.next_at = t1 + SWAP_GAP
        if status != 0 or len(self.swaps) == SWAPS:
            self.done = True

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        self.done = True


class Load:
    """The closed-loop clients and what they saw."""

    def __init__(self, g, fleet):
        self.g = g
        self.fleet = fleet
        self.sending = True
        self.replies = []       # (t_send, t_recv, version, send number)
        self.sends = 0          # seq messages sent so far
        self.problems = []
        self.closes = 0
        self.inc_ns = []        # every n the inc clients got
        self.inc_sent = 0
        self.inc_got = 0

    def problem(self, text):
        self.problems.append(text)

    def open(self):
        for i in range(CLIENTS):
            c = self.fleet.open("%s/rooms/r%d" % (self.g.ws_url, i % ROOMS))
            c.user = {"kind": "seq", "k": 0, "t": None, "want": None}
        for i in range(INC_CLIENTS):
            c = self.fleet.open("%s/rooms/counter" % self.g.ws_url)
            c.user = {"kind": "inc", "pending": collections.deque(),
                      "last": 0}

    def kick(self):
        for c in self.fleet.conns:
            if c.user["kind"] == "seq":
                self.send_seq(c)
            else:
                for _ in range(INC_DEPTH):
                    self.send_inc(c)

    def send_seq(self, c):
        u = c.user
        u["k"] += 1
        u["want"] = "seq-%d" % u["k"]
        u["t"] = time.monotonic()
        u["n"] = self.sends
        self.sends += 1
        self.fleet.send(c, u["want"])

    def send_inc(self, c):
        c.user["pending"].append(time.monotonic())
        self.inc_sent += 1
        self.fleet.send(c, "inc")

    def outstanding(self):
        n = 0
        for c in self.fleet.conns:
            if not c.open:
                continue
            if c.user["kind"] == "seq":
                n += c.user["want"] is not None
            else:
                n += len(c.user["pending"])
        return n

    def step(self, timeout):
        for c, kind, data in self.fleet.poll(timeout):
            now = time.monotonic()
            u = c.user
            if kind in ("close", "drop"):
                self.closes += 1
                self.problem("connection %d (%s) %s: %r"
                             % (c.index, c.url, kind, data))
                continue
            if kind != "text":
                self.problem("connection %d: a %s frame" % (c.index, kind))
                continue
            if u["kind"] == "seq":
                m = SEQ_RE.match(data)
                if not m or m.group(2) != u["want"]:
                    self.problem("connection %d: expected 'v=X %s', got %r"
                                 % (c.index, u["want"], data[:100]))
                    continue
                self.replies.append((u["t"], now, int(m.group(1)), u["n"]))
                u["want"] = None
                if self.sending:
                    self.send_seq(c)
            else:
                m = INC_RE.match(data)
                if not m or not u["pending"]:
                    self.problem("inc connection %d: unexpected %r"
                                 % (c.index, data[:100]))
                    continue
                u["pending"].popleft()
                self.inc_got += 1
                n = int(m.group(1))
                if n <= u["last"]:
                    self.problem("inc connection %d: n=%d after n=%d "
                                 "(out of order)" % (c.index, n, u["last"]))
                u["last"] = n
                self.inc_ns.append(n)
                if self.sending:
                    self.send_inc(c)


def check_windows(replies, swaps):
    """
    Replies to messages sent after reload i had returned and before reload
    i+1 started (by send number) must come from reload i's version.
    Returns (violations, replies in the last window).
    """
    bad = []
    last_window = 0
    by_number = sorted(replies, key=lambda r: r[3])
    numbers = [r[3] for r in by_number]
    for i, sw in enumerate(swaps):
        ver, mark1 = sw[2], sw[7]
        end = swaps[i + 1][6] if i + 1 < len(swaps) else float("inf")
        k = bisect.bisect_left(numbers, mark1)
        for (ts, tr, v, n) in by_number[k:]:
            if n >= end:
                break
            if v != ver:
                bad.append((i + 1, ver, v, n - mark1, round(ts - sw[1], 4)))
            if end == float("inf"):
                last_window += 1
    return bad, last_window


@h.test("hot swap under load: %d clients, %d swaps: no close, no lost or "
        "reordered reply, the version changes" % (CLIENTS, SWAPS),
        timeout=300 if LONG else 150)
def test_swap_under_load():
    h.raise_nofile()
    g, path = handler_gateway(args=["--handlers", "2:4"])
    with h.Fleet(timeout=10.0) as fleet:
        load = Load(g, fleet)
        load.open()
        swapper = Swapper(g, path, load)
        started = time.monotonic()
        load.kick()
        limit = started + WARMUP + SWAPS * (SWAP_GAP + 5.0) + 30.0
        tail_from = None
        try:
            for _ in range(10 ** 8):
                now = time.monotonic()
                swapper.step(now)
                if tail_from is None and swapper.done:
                    tail_from = now
                if tail_from is not None and now - tail_from >= TAIL:
                    break
                if now > limit:
                    load.problem("the swaps did not finish in %.0f s"
                                 % (limit - started))
                    break
                load.step(0.01 if swapper.proc is not None else 0.05)
                if len(load.problems) > 50:
                    break
        finally:
            swapper.stop()
        load.sending = False
        loop_s = time.monotonic() - started
        drain_until = time.monotonic() + DRAIN
        for _ in range(10 ** 6):
            if not load.outstanding() or time.monotonic() > drain_until:
                break
            load.step(0.1)
        missing = load.outstanding()
        g.expect_alive()

        swaps = swapper.swaps
        for i, (_, _, _, status, out, err, _, _) in enumerate(swaps):
            h.expect(status == 0, "reload %d of %d: --reload exited %s: "
                     "%s %s" % (i + 1, SWAPS, status, out, err))
        h.expect_eq(len(swaps), SWAPS, "reloads done")
        for (_, _, ver, _, out, _, _, _) in swaps:
            h.expect(re.match(r"^torpor-gateway: reload: ok \d+ generation "
                              r"\d+ serving, \d+ processes$", out),
                     "--reload output: %r" % out)

        durations = [sw[1] - sw[0] for sw in swaps]
        t_first, t_last = swaps[0][0], swaps[-1][1]
        during = [tr - ts for (ts, tr, _, _) in load.replies
                  if t_first <= ts <= t_last]
        lat = sorted(tr - ts for (ts, tr, _, _) in load.replies)
        h.comment("%d seq replies + %d inc replies in %.1f s (%.0f msg/s)"
                  % (len(load.replies), load.inc_got, loop_s,
                     (len(load.replies) + load.inc_got) / loop_s))
        h.comment("reload took %.0f ms on average, %.0f ms at most"
                  % (1000 * sum(durations) / len(durations),
                     1000 * max(durations)))
        if lat:
            h.comment("latency p50 %.1f ms, p99 %.1f ms, max %.1f ms"
                      % (1000 * lat[len(lat) // 2],
                         1000 * lat[int(len(lat) * 0.99)], 1000 * lat[-1]))
        h.comment("max latency during swaps: %.1f ms"
                  % (1000 * max(during) if during else float("nan")))

        h.expect(not load.problems, "%d problems, the first ones:\n%s"
                 % (len(load.problems), "\n".join(load.problems[:20])))
        h.expect_eq(load.closes, 0, "WebSocket closes")
        h.expect_eq(missing, 0, "replies still missing %.0f s after the "
                    "load stopped" % DRAIN)
        h.expect_eq(load.inc_got, load.inc_sent, "inc replies")
        seen = {v for (_, _, v, _) in load.replies}
        h.expect(seen >= {1, 2}, "versions seen by clients: %s" % sorted(seen))
        bad, last_window = check_windows(load.replies, swaps)
        h.expect(not bad, "%d replies from the old version after a reload "
                 "had returned; first (swap, want, got, sends after, s "
                 "after): %s"
                 % (len(bad), bad[:5]))
        h.expect(last_window > 0, "no reply after the last swap")
        # One object, one event at a time, whatever the generation.
        dup = [n for n, k in collections.Counter(load.inc_ns).items() if k > 1]
        h.expect(not dup, "counter values seen twice (two events of one "
                 "object ran at once?): %s" % sorted(dup)[:10])
        with h.Fleet() as check:
            c = check.open("%s/rooms/counter" % g.ws_url)
            check.send(c, "get")
            got = None
            for _ in range(100):
                for _, kind, data in check.poll(0.1):
                    got = (kind, data)
                if got:
                    break
            h.expect_eq(got, ("text", "n=%d v=%d"
                              % (load.inc_got, swaps[-1][2])),
                        "the counter after every inc")

        served = g.log_lines(r"reload: generation \d+ serving with \d+ "
                              r"processes; generation \d+: \d+ processes")
        h.expect_eq(len(served), SWAPS, "reload lines in the log")
        last_gen = int(re.search(r"generation (\d+) serving",
                                 served[-1]).group(1))

        def only_last_generation():
            gens = generations_of(g)
            return all(gens.get(p) == last_gen for p in g.children())
        h.wait_until(only_last_generation, 10,
                     what="only generation %d processes left" % last_gen)


@h.test("reload to a program that exits at once fails; the old "
        "generation keeps serving", timeout=60)
def test_reload_exits():
    g, path = handler_gateway()
    with g.ws("/rooms/a") as c:
        c.send_text("one")
        h.expect_eq(c.recv_text(10), "v=1 one", "reply before the reload")
        write_script(path, "#!/bin/sh\nexit 3\n")
        status, out, err = reload(g)
        h.expect(status not in (0, None), "--reload exited %s (stdout %r, "
                 "stderr %r); expected a failure" % (status, out, err))
        h.expect(err, "--reload failed without a reason on stderr")
        h.comment("--reload said: %s" % err)
        c.send_text("two")
        h.expect_eq(c.recv_text(10), "v=1 two", "reply after the failed "
                    "reload")
        h.expect(g.log_lines(r"reload: generation \d+ failed \(pid=\d+\): "
                              r".*; generation \d+ keeps serving with \d+ "
                              r"processes"),
                 "no 'reload: generation N failed' line in the log")
        # The pool is not stuck: a good reload still works.
        install(V2, path)
        status, out, err = reload(g)
        h.expect_eq(status, 0, "--reload to v2 after the failure (%s)" % err)
        c.send_text("three")
        h.expect_eq(c.recv_text(10), "v=2 three", "reply after the good "
                    "reload")
        h.expect(c.closed is None and not c.dropped, "the client lost its "
                 "connection")
    g.expect_alive()


@h.test("reload to a program that never answers fails after "
        "--reload-timeout and the candidate is killed", timeout=60)
def test_reload_silent():
    g, path = handler_gateway(args=["--reload-timeout", "1"])
    with g.ws("/rooms/b") as c:
        c.send_text("one")
        h.expect_eq(c.recv_text(10), "v=1 one", "reply before the reload")
        before = set(g.children())
        write_script(path, "#!/bin/sh\nexec sleep 60\n")
        t0 = time.monotonic()
        status, out, err = reload(g)
        took = time.monotonic() - t0
        h.expect(status not in (0, None), "--reload exited %s (stdout %r, "
                 "stderr %r); expected a failure" % (status, out, err))
        h.comment("--reload said after %.1f s: %s" % (took, err))
        h.expect(took < 8, "--reload took %.1f s with --reload-timeout 1"
                 % took)
        c.send_text("two")
        h.expect_eq(c.recv_text(10), "v=1 two", "reply after the failed "
                    "reload")
        h.expect(g.log_lines(r"reload: generation \d+ failed"),
                 "no 'reload: generation N failed' line in the log")
        h.wait_until(lambda: set(g.children()) <= before, 5,
                     what="the silent candidate is gone")
    g.expect_alive()


if __name__ == "__main__":
    h.run()
