#!/usr/bin/python3
"""
test_alarm_retry: a failed alarm run (the handler answers an error) is
retried after 2 s, 4 s, 8 s ... plus up to a quarter of that at random,
with TORPOR_ALARM_RETRY counting the failed runs before; after
--alarm-retries retries the gateway gives up and says so; a new alarm set
while a retry waits replaces the retry and counts from 0 again.

The test handler (tests/progs/testhandler) appends "alarm OBJECT RETRY 0"
to $TESTHANDLER_LOG for every alarm run and fails the runs whose retry
count is below $ALARM_FAIL_TIMES ("always": every run). A client sets the
alarm with the message "alarm MS".
"""

import datetime
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

V1 = os.path.join(h.TESTPROGS, "testhandler-v1")
QUIET = 3.5             # seconds without a further run, to call it done
SLACK = 0.7             # seconds of scheduling slack on each retry delay

# "2026-01-01T00:00:00.000Z LEVEL func: ..." or "ts=2026-...Z level=..."
STAMP_RE = re.compile(r"^(?:ts=)?(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z ")


def alarm_gateway(fail_times, args=()):
    if not os.access(V1, os.X_OK):
        raise AssertionError("check program not built: %s" % V1)
    g = h.Gateway(handler=[V1], args=args, static=None, start=False)
    g.handler_log = os.path.join(g.root, "handler.log")
    g.extra_env = {"TESTHANDLER_LOG": g.handler_log,
                   "ALARM_FAIL_TIMES": fail_times}
    return g.start()


def alarm_runs(g):
    """[(object, retry)] of the alarm runs the handler logged, in order."""
    try:
        with open(g.handler_log) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for ln in lines:
        w = ln.split()
        if len(w) == 4 and w[0] == "alarm":
            out.append((w[1], int(w[2])))
    return out


def log_times(g, pattern):
    """[(seconds since the epoch, match)] of the gateway log lines matching."""
    rx = re.compile(pattern)
    out = []
    for ln in g.log_text().splitlines():
        m = rx.search(ln)
        s = STAMP_RE.match(ln)
        if m and s:
            t = datetime.datetime.strptime(s.group(1), "%Y-%m-%dT%H:%M:%S.%f")
            out.append((t.replace(tzinfo=datetime.timezone.utc).timestamp(),
                        m))
    return out


def set_alarm(c, ms):
    c.send_text("alarm %d" % ms)
    h.expect_eq(c.recv_text(10), "ok", "reply to 'alarm %d'" % ms)


def wait_runs(g, n, timeout, what):
    return h.wait_until(lambda: len(alarm_runs(g)) >= n and alarm_runs(g),
                        timeout, interval=0.05, what=what)


def expect_no_more(g, n, quiet=QUIET):
    """No alarm run beyond the n-th for `quiet` seconds."""
    end = time.monotonic() + quiet
    for _ in range(int(quiet / 0.1) + 10):
        runs = alarm_runs(g)
        h.expect(len(runs) <= n, "a run too many: %s" % runs)
        if time.monotonic() >= end:
            return
        time.sleep(0.1)


def expect_backoff(g, retries):
    """
    The gateway's "alarm fired ... retry=N" lines are 2 s x 2^(N-1) (+ up
    to 25 %) apart, and its "retry N in D ms" lines announce such delays.
    """
    fired = log_times(g, r"alarm fired object=([^\s\x22]+) retry=(\d+)")
    h.expect_eq([int(m.group(2)) for _, m in fired], list(range(retries + 1)),
                "retry counts in the gateway's 'alarm fired' lines")
    for n in range(1, retries + 1):
        base = 2.0 * 2 ** (n - 1)
        gap = fired[n][0] - fired[n - 1][0]
        h.expect(base - 0.05 <= gap <= base * 1.25 + SLACK,
                 "retry %d came %.2f s after the run before; expected "
                 "%.1f to %.1f s" % (n, gap, base, base * 1.25))
    announced = log_times(g, r"retry (\d+) in (\d+) ms")
    for _, m in announced:
        n, delay = int(m.group(1)), int(m.group(2)) / 1000.0
        base = 2.0 * 2 ** (n - 1)
        h.expect(base <= delay <= base * 1.25 + 0.001,
                 "retry %d announced in %.3f s; expected %.1f to %.1f s"
                 % (n, delay, base, base * 1.25))


@h.test("an alarm that fails twice runs three times: retries 0, 1, 2, "
        "backing off 2 s then 4 s", timeout=60)
def test_fail_twice():
    g = alarm_gateway("2")
    with g.ws() as c:
        set_alarm(c, 200)
        wait_runs(g, 3, 15, "three alarm runs")
        expect_no_more(g, 3)
    h.expect_eq(alarm_runs(g), [(h.ROOM, 0), (h.ROOM, 1), (h.ROOM, 2)],
                "alarm runs (object, retry)")
    expect_backoff(g, 2)
    h.expect(not re.search(r"giving up", g.log_text()),
             "the gateway gave up on an alarm that succeeded")


@h.test("--alarm-retries 2 with an always failing alarm: 3 runs, then "
        "a 'giving up' log line naming the object", timeout=60)
def test_give_up():
    g = alarm_gateway("always", args=["--alarm-retries", "2"])
    with g.ws() as c:
        set_alarm(c, 200)
        h.wait_until(lambda: re.search(
            r"alarm of object %s failed \d+ times, giving up"
            % re.escape(h.ROOM), g.log_text()), 15,
            what="the 'giving up' log line")
        expect_no_more(g, 3)
        # The object still works after its alarm was given up on.
        c.send_text("hello")
        h.expect_eq(c.recv_text(10), "v=1 hello", "reply after giving up")
    h.expect_eq(alarm_runs(g), [(h.ROOM, 0), (h.ROOM, 1), (h.ROOM, 2)],
                "alarm runs (object, retry)")
    line = re.search(r"alarm of object ([^\s\x22]+) failed (\d+) times, "
                     r"giving up",
                     g.log_text())
    h.expect_eq(line.group(1), h.ROOM, "object in the 'giving up' line")
    h.expect_eq(int(line.group(2)), 3, "failures in the 'giving up' line")
    expect_backoff(g, 2)


@h.test("a new alarm set while a failed one waits for its retry replaces "
        "the retry: the next run has retry 0", timeout=60)
def test_new_alarm_replaces_retry():
    g = alarm_gateway("1")
    with g.ws() as c:
        set_alarm(c, 100)
        wait_runs(g, 1, 10, "the first alarm run")
        failed_at = time.monotonic()
        set_alarm(c, 500)
        wait_runs(g, 2, 10, "the run of the new alarm")
        took = time.monotonic() - failed_at
        h.expect(took < 1.9, "the next run came %.2f s after the failure: "
                 "that is the retry's time, not the new alarm's" % took)
        h.expect_eq(alarm_runs(g)[1], (h.ROOM, 0),
                    "the run of the new alarm (object, retry)")
        # It fails too (ALARM_FAIL_TIMES=1 fails retry 0), so one retry
        # follows, and nothing else: the old retry is gone.
        wait_runs(g, 3, 10, "the retry of the new alarm")
        expect_no_more(g, 3)
    h.expect_eq(alarm_runs(g), [(h.ROOM, 0), (h.ROOM, 0), (h.ROOM, 1)],
                "alarm runs (object, retry)")


if __name__ == "__main__":
    h.run()
