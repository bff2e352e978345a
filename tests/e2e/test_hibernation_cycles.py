#!/usr/bin/python3
"""
test_hibernation_cycles: many idle connections survive repeated
hibernation. 1,000 connections (10,000 with TORPOR_LONG=1) spread over 10
objects, --handlers 0:2 --idle-timeout 1. Each cycle waits for the pool to
shrink to no process (no child of the gateway), checks that nothing was
closed meanwhile, then sends one message on every connection at once: the
pool wakes and every connection gets its own reply. Five cycles. The wake
latency (first reply) and the reply latencies (p50, p99) are reported as
TAP comments.

The sockets are driven from one thread (harness.Fleet: epoll, deadlines),
and the test raises its RLIMIT_NOFILE to the hard limit first (the gateway
inherits it).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

LONG = os.environ.get("TORPOR_LONG") == "1"
CONNECTIONS = 10000 if LONG else 1000
CYCLES = 5
ROOMS = 10
V1 = os.path.join(h.TESTPROGS, "testhandler-v1")
REPLY_TIMEOUT = 120.0 if LONG else 30.0


def pct(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1,
                             int(len(sorted_values) * p))]


def wake_one(fleet, c, cycle):
    """One message to a hibernating pool; returns its reply latency."""
    text = "c%d k%d" % (c.index, cycle)
    t0 = time.monotonic()
    h.expect(fleet.send(c, text), "cycle %d: send on connection %d failed: "
             "%s" % (cycle, c.index, c.dropped))
    for _ in range(10 ** 6):
        left = t0 + 15 - time.monotonic()
        h.expect(left > 0, "cycle %d: no reply to the waking message within "
                 "15 s" % cycle)
        for c2, kind, data in fleet.poll(min(left, 0.5)):
            h.expect(c2 is c and (kind, data) == ("text", "v=1 " + text),
                     "cycle %d: waking message: connection %d got %s %r"
                     % (cycle, c2.index, kind, data))
            return time.monotonic() - t0
    raise AssertionError("unreachable")


@h.test("%d idle connections, %d hibernation cycles: the pool drops to 0, "
        "one message per connection wakes it, every reply arrives, no "
        "connection lost" % (CONNECTIONS, CYCLES),
        timeout=900 if LONG else 180)
def test_cycles():
    if not os.access(V1, os.X_OK):
        raise AssertionError("check program not built: %s" % V1)
    limit = h.raise_nofile()
    if limit < CONNECTIONS + 200:
        h.skip("RLIMIT_NOFILE is %d, %d connections need more"
               % (limit, CONNECTIONS))
    g = h.Gateway(handler=[V1], static=None, routes=["/rooms/*"],
                  args=["--handlers", "0:2", "--idle-timeout", "1"])
    with h.Fleet(timeout=10.0) as fleet:
        t0 = time.monotonic()
        for i in range(CONNECTIONS):
            fleet.open("%s/rooms/h%d" % (g.ws_url, i % ROOMS))
        h.comment("%d connections opened in %.1f s"
                  % (CONNECTIONS, time.monotonic() - t0))
        wakes = []
        for cycle in range(1, CYCLES + 1):
            t_idle = time.monotonic()
            h.wait_until(lambda: not g.children(), 30, interval=0.1,
                         what="cycle %d: no handler process left" % cycle)
            idle_s = time.monotonic() - t_idle
            g.expect_alive()
            stray = fleet.poll(0)
            h.expect(not stray, "cycle %d: frames or closes while idle: %s"
                     % (cycle, [(c.index, k, d) for c, k, d in stray[:5]]))
            lost = [c.index for c in fleet.conns if not c.open]
            h.expect(not lost, "cycle %d: %d connections lost while idle, "
                     "e.g. %s" % (cycle, len(lost), lost[:10]))

            wake_s = wake_one(fleet, fleet.conns[0], cycle)
            wakes.append(wake_s)
            want = {}
            sent_at = {}
            started = time.monotonic()
            for c in fleet.conns[1:]:
                want[c.index] = "c%d k%d" % (c.index, cycle)
                sent_at[c.index] = time.monotonic()
                h.expect(fleet.send(c, want[c.index]),
                         "cycle %d: send on connection %d failed: %s"
                         % (cycle, c.index, c.dropped))
            sent_s = time.monotonic() - started
            latencies = []
            first = None
            problems = []
            deadline = started + REPLY_TIMEOUT
            for _ in range(10 ** 7):
                if not want or time.monotonic() > deadline:
                    break
                for c, kind, data in fleet.poll(0.1):
                    expected = want.pop(c.index, None)
                    if kind != "text" or data != "v=1 " + str(expected):
                        problems.append("connection %d: expected 'v=1 %s', "
                                        "got %s %r" % (c.index, expected,
                                                       kind, data))
                    else:
                        now = time.monotonic()
                        first = first or now - started
                        latencies.append(now - sent_at[c.index])
            h.expect(not problems, "cycle %d: %d problems, e.g.:\n%s"
                     % (cycle, len(problems), "\n".join(problems[:10])))
            h.expect(not want, "cycle %d: %d replies missing after %.0f s, "
                     "e.g. connections %s" % (cycle, len(want),
                                              REPLY_TIMEOUT,
                                              sorted(want)[:10]))
            latencies.sort()
            h.comment("cycle %d: pool at 0 after %.1f s; %d messages sent "
                      "in %.0f ms; wake from 0 (one message) %.1f ms; then "
                      "first reply %.1f ms after the burst began; reply "
                      "latency p50 %.1f ms, p99 %.1f ms, max %.1f ms"
                      % (cycle, idle_s, CONNECTIONS - 1, 1000 * sent_s,
                         1000 * wake_s, 1000 * first,
                         1000 * pct(latencies, 0.5),
                         1000 * pct(latencies, 0.99), 1000 * latencies[-1]))
        lost = [c.index for c in fleet.conns if not c.open]
        h.expect(not lost, "%d connections lost, e.g. %s"
                 % (len(lost), lost[:10]))
    g.expect_alive()
    h.comment("wake from 0 over %d cycles: %s ms" % (
        CYCLES, ", ".join("%.1f" % (1000 * w) for w in wakes)))


if __name__ == "__main__":
    h.run()
