#!/usr/bin/python3
"""
test_batch: events that queue up behind an in-flight request of a hot
object go to an SDK handler in batches (it advertises Torpor-Batch), with
the semantics of single events: every connection's replies in its order,
every write counted once, and an event that fails in the middle of a
batch costs only its own connection (1011) and its own write.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

V1 = os.path.join(h.TESTPROGS, "testhandler-v1")
CLIENTS = 20
DEPTH = 30          # messages each client sends back to back


def run_fleet(g, plan):
    """
    plan[i]: the messages client i sends back to back. Returns, per
    client, the list of replies (str) and how it ended (None, or the
    close code).
    """
    replies = [[] for _ in plan]
    with h.Fleet() as fleet:
        conns = [fleet.open(g.ws_url + "/websocket") for _ in plan]
        for c, msgs in zip(conns, plan):
            for m in msgs:
                fleet.send(c, m)
        want = sum(len(p) for p in plan)
        deadline = time.monotonic() + 60
        got = 0
        while got < want and time.monotonic() < deadline:
            if not any(c.open for c in conns):
                break
            for c, kind, data in fleet.poll(0.5):
                if kind == "text":
                    replies[c.index].append(data)
                    got += 1
        return replies, [c.closed[0] if c.closed else None for c in conns]


@h.test("queued events of one object go in batches, each connection's "
        "replies in order, every write counted once")
def test_order_and_count():
    if not os.access(V1, os.X_OK):
        raise AssertionError("check program not built: %s" % V1)
    g = h.Gateway(handler=[V1], static=None, args=["--handlers", "1:1"])
    plan = [["inc"] * DEPTH for _ in range(CLIENTS)]
    replies, closes = run_fleet(g, plan)
    h.expect(all(c is None for c in closes), "closes: %s" % closes)
    seen = []
    for i, rs in enumerate(replies):
        h.expect_eq(len(rs), DEPTH, "replies of client %d" % i)
        ns = [int(r.split()[0][2:]) for r in rs]
        h.expect(ns == sorted(ns), "client %d: replies out of order %s"
                 % (i, ns[:10]))
        seen += ns
    total = CLIENTS * DEPTH
    h.expect_eq(sorted(seen), list(range(1, total + 1)),
                "every inc counted once, none twice")
    batched = g.metric("torpor_batched_events_total")
    h.comment("%d events went in batches (%d messages sent, plus "
              "connects and closes)" % (batched, total))
    h.expect(batched > 0, "no event went in a batch")
    with g.ws() as c:
        c.send_text("get")
        h.expect_eq(c.recv_text(), "n=%d v=1" % total, "stored counter")


@h.test("an event that fails in the middle of a batch closes only its "
        "connection (1011) and loses only its own write")
def test_failure_in_batch():
    if not os.access(V1, os.X_OK):
        raise AssertionError("check program not built: %s" % V1)
    g = h.Gateway(handler=[V1], static=None, args=["--handlers", "1:1"])
    plan = [["inc"] * DEPTH for _ in range(CLIENTS)]
    bad = CLIENTS // 2
    plan[bad] = ["inc"] * 5 + ["fail"] + ["inc"] * 5
    replies, closes = run_fleet(g, plan)
    h.expect_eq(closes[bad], 1011, "close code of the failing client")
    h.expect_eq(len(replies[bad]), 5, "replies before its failure")
    for i, rs in enumerate(replies):
        if i == bad:
            continue
        h.expect(closes[i] is None, "client %d closed %s" % (i, closes[i]))
        h.expect_eq(len(rs), DEPTH, "replies of client %d" % i)
        ns = [int(r.split()[0][2:]) for r in rs]
        h.expect(ns == sorted(ns), "client %d out of order" % i)
    # The failing event's write is gone; the events behind it on its
    # closed connection may or may not have run before the close, so the
    # counter is exact up to those.
    with g.ws() as c:
        c.send_text("get")
        n = int(c.recv_text().split()[0][2:])
    good = (CLIENTS - 1) * DEPTH + 5
    h.expect(good <= n <= good + 5, "stored counter %d, expected %d to %d "
             "(the failed write not counted)" % (n, good, good + 5))
    h.expect(g.metric("torpor_batched_events_total") > 0,
             "no event went in a batch")


if __name__ == "__main__":
    h.run()
