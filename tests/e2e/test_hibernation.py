#!/usr/bin/python3
"""
test_hibernation: with --handlers 0:N the handler pool shrinks to no
process when idle while every client socket stays open, and the next
message wakes a handler whose reply reaches the client promptly. With a
minimum above 0 the pool never shrinks below it.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

WAKE_LIMIT = 1.0        # seconds from a ping to its pong when waking


def ping_within(c, cid, limit, what):
    t0 = time.monotonic()
    c.send_json({"type": "ping"})
    msg = c.recv_json(timeout=max(limit, 5.0))
    elapsed = time.monotonic() - t0
    h.expect_eq(msg.get("type"), "pong", "%s: reply type" % what)
    h.expect_eq(msg.get("connectionId"), cid, "%s: connectionId" % what)
    h.expect(elapsed <= limit, "%s: pong after %.3f s (limit %.1f s)"
             % (what, elapsed, limit))


@h.test("hibernation: pool drops to 0 processes, sockets stay open, "
        "pings wake it", timeout=90)
def test_hibernate():
    g = h.Gateway(args=["--handlers", "0:2", "--idle-timeout", "1"])
    clients = [g.ws() for _ in range(3)]
    ids = [h.welcome(c) for c in clients]
    for cycle in (1, 2):
        h.wait_until(lambda: not g.children(), 15,
                     what="cycle %d: no handler process left" % cycle)
        g.expect_alive()
        for k, (c, cid) in enumerate(zip(clients, ids)):
            ping_within(c, cid, WAKE_LIMIT,
                        "cycle %d, client %d" % (cycle, k))
        h.wait_until(g.children, 2,
                     what="cycle %d: a handler process after waking" % cycle)
    for k, c in enumerate(clients):
        h.expect(c.closed is None and not c.dropped,
                 "client %d lost its connection" % k)


@h.test("--handlers 1:2 keeps at least one handler process", timeout=60)
def test_min_one():
    g = h.Gateway(args=["--handlers", "1:2", "--idle-timeout", "1"])
    h.wait_until(g.children, 10, what="a handler process at start")
    with g.ws() as c:
        cid = h.welcome(c)
        for _ in range(5):
            h.expect_eq(c.roundtrip({"type": "ping"}).get("connectionId"),
                        cid, "connectionId")
        # Watch for three idle timeouts: the pool must never be empty.
        end = time.monotonic() + 3.5
        samples = 0
        for _ in range(1000):
            if time.monotonic() >= end:
                break
            samples += 1
            h.expect(g.children(), "no handler process after %.1f s idle"
                     % (3.5 - (end - time.monotonic())))
            time.sleep(0.05)
        h.expect(samples >= 10, "too few samples (%d)" % samples)
        ping_within(c, cid, WAKE_LIMIT, "ping after idling")


@h.test("SIGTERM stops the gateway and all of its handler processes",
        timeout=60)
def test_stop():
    g = h.Gateway(args=["--handlers", "2:2"])
    h.wait_until(lambda: len(g.children()) >= 2, 10,
                 what="two handler processes")
    with g.ws() as c:
        h.welcome(c)
    g.stop()
    h.expect(not g.killed, "gateway ignored SIGTERM for %.0f s"
             % h.Gateway.STOP_TIMEOUT)
    h.expect(not g.leftover, "handler processes outlived the gateway: %s"
             % g.leftover)


if __name__ == "__main__":
    h.run()
