#!/usr/bin/python3
"""
test_replay: connections open when the gateway stopped get their close
event at the next start, and alarms survive the stop.

A gateway with the test handler has 10 open connections (each has been
answered once) and a pending alarm. Then the gateway stops:
(a) kill -9 (with its handlers), and the alarm's time passes while it is
    down: at the next start on the same store and run dir, the alarm fires
    at once and the handler gets exactly 10 "close" events, code 1006,
    clean 0, for 10 distinct connection ids (the ones the gateway logs as
    "close replay"), none before the kill; a further restart replays
    nothing again.
(b) SIGTERM: the same 10 close events at the next start, and the alarm,
    still in the future at that start, fires on time.
And, apart: an alarm whose "ok" the client has received survives a kill -9
of the gateway that comes right after that reply.

The test handler appends "close ID CODE CLEAN" and "alarm OBJECT RETRY 0"
lines to $TESTHANDLER_LOG.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

V1 = os.path.join(h.TESTPROGS, "testhandler-v1")
CONNECTIONS = 10
ALARM_MS = 3000


def replay_gateway():
    if not os.access(V1, os.X_OK):
        raise AssertionError("check program not built: %s" % V1)
    g = h.Gateway(handler=[V1], static=None, start=False)
    g.handler_log = os.path.join(g.root, "handler.log")
    g.extra_env = {"TESTHANDLER_LOG": g.handler_log}
    return g.start()


def handler_events(g):
    """(closes [(id, code, clean)], alarms [(object, retry)]) so far."""
    try:
        with open(g.handler_log) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        lines = []
    closes, alarms = [], []
    for ln in lines:
        w = ln.split()
        if len(w) == 4 and w[0] == "close":
            closes.append((w[1], int(w[2]), int(w[3])))
        elif len(w) == 4 and w[0] == "alarm":
            alarms.append((w[1], int(w[2])))
    return closes, alarms


def open_clients(g):
    clients = []
    for k in range(CONNECTIONS):
        c = g.ws()
        c.send_text("hello %d" % k)
        h.expect_eq(c.recv_text(10), "v=1 hello %d" % k, "reply to client %d"
                    % k)
        clients.append(c)
    set_at = time.monotonic()
    clients[0].send_text("alarm %d" % ALARM_MS)
    h.expect_eq(clients[0].recv_text(10), "ok", "reply to 'alarm %d'"
                % ALARM_MS)
    closes, alarms = handler_events(g)
    h.expect(not closes and not alarms, "handler events before the stop: "
             "%s %s" % (closes, alarms))
    return clients, set_at


def expect_replay(g, closes_before=0):
    """Waits for the 10 replayed closes; checks them against the log."""
    h.wait_until(lambda: len(handler_events(g)[0]) >= closes_before
                 + CONNECTIONS, 15,
                 what="%d close events after the restart" % CONNECTIONS)
    # Give a duplicate the time to show up.
    time.sleep(0.5)
    closes = handler_events(g)[0][closes_before:]
    h.expect_eq(len(closes), CONNECTIONS, "close events after the restart")
    ids = [cid for (cid, _, _) in closes]
    for cid in ids:
        h.expect_uuid4(cid, "connection id of a replayed close")
    h.expect_eq(len(set(ids)), CONNECTIONS, "distinct connection ids")
    h.expect_eq({(code, clean) for (_, code, clean) in closes}, {(1006, 0)},
                "(code, clean) of the replayed closes")
    logged = re.findall(r"close replay object=([^\s\x22]+) "
                        r"connection=([^\s\x22]+)",
                        g.log_text())
    h.expect_eq(sorted(logged), sorted((h.ROOM, cid) for cid in ids),
                "the gateway's 'close replay' lines")
    return ids


@h.test("an alarm acknowledged to the client survives a kill -9 of the "
        "gateway right after the reply", timeout=60)
def test_alarm_survives_immediate_kill():
    """
    The client got "ok" for "alarm MS": the alarm is an acknowledged write
    and must not depend on the gateway living until its next env write.
    """
    g = replay_gateway()
    with g.ws() as c:
        c.send_text("alarm 500")
        h.expect_eq(c.recv_text(10), "ok", "reply to 'alarm 500'")
        g.kill9()
        c.drop()
    g.start(reuse_run_dir=True)
    try:
        h.wait_until(lambda: handler_events(g)[1], 5,
                     what="the alarm set just before the kill")
    except h.Timeout:
        raise AssertionError("the alarm acknowledged just before kill -9 "
                             "never fired after the restart (lost)")
    h.expect_eq(handler_events(g)[1], [(h.ROOM, 0)], "alarm runs")


@h.test("kill -9 with 10 open connections and a pending alarm: at the "
        "next start the alarm fires and 10 closes (1006, clean 0) are "
        "replayed, once", timeout=90)
def test_replay_after_kill():
    g = replay_gateway()
    clients, set_at = open_clients(g)
    # The records reach the gateway env on its next write (a tick at the
    # latest); an immediate kill is test_alarm_survives_immediate_kill's
    # business.
    h.wait_until(lambda: len(h.connection_records(g) or {}) >= CONNECTIONS,
                 5, what="the %d connection records in the gateway env"
                 % CONNECTIONS)
    g.kill9()
    for c in clients:
        c.drop()
    h.expect(not g.leftover, "handlers survived kill -9: %s" % g.leftover)
    # Let the alarm's time pass while the gateway is down.
    h.wait_until(lambda: time.monotonic() >= set_at + ALARM_MS / 1000.0
                 + 0.3, ALARM_MS / 1000.0 + 5, what="the alarm's time")
    h.expect(not handler_events(g)[0], "close events while the gateway "
             "was down")
    g.start(reuse_run_dir=True)
    started = time.monotonic()
    h.wait_until(lambda: handler_events(g)[1], 10,
                 what="the alarm that was due while the gateway was down")
    fired = time.monotonic() - started
    h.expect(fired < 3.0, "the overdue alarm fired %.1f s after the start"
             % fired)
    expect_replay(g)
    h.expect_eq(handler_events(g)[1], [(h.ROOM, 0)], "alarm runs")
    # Replayed once: a clean restart with nobody connected replays nothing.
    g.stop()
    g.start(reuse_run_dir=True)
    with g.ws() as c:
        c.send_text("after")
        h.expect_eq(c.recv_text(10), "v=1 after", "reply after the restarts")
        # A replay would have been queued on the object before this message.
        closes, alarms = handler_events(g)
        h.expect_eq(len(closes), CONNECTIONS, "close events after one more "
                    "restart")
        h.expect_eq(len(alarms), 1, "alarm runs after one more restart")


@h.test("SIGTERM with 10 open connections and a pending alarm: each client "
        "gets close 1001, at the next start 10 closes (1006, clean 0) are "
        "replayed and the alarm fires on time", timeout=90)
def test_replay_after_stop():
    g = replay_gateway()
    clients, set_at = open_clients(g)
    g.stop()
    h.expect(not g.killed, "the gateway ignored SIGTERM")
    # Checked last, so that a crash on the way out does not hide the rest.
    stop_status = g.exit_status
    seen = []
    for c in clients:
        try:
            code, reason = c.expect_close(timeout=1.0)
            seen.append(code)
        except AssertionError as e:
            seen.append(type(e).__name__)
        c.drop()
    h.comment("clients saw at the stop: %s" % sorted(set(map(str, seen))))
    h.expect_eq(seen, [1001] * len(clients), "close codes the clients got "
                "at the stop (1001 going away)")
    h.expect(not handler_events(g)[0], "close events at the stop (they are "
             "for the next start): %s" % (handler_events(g)[0],))
    g.start(reuse_run_dir=True)
    expect_replay(g)
    left = set_at + ALARM_MS / 1000.0 - time.monotonic()
    h.expect(left > 0.3, "the restart took too long to see the alarm wait "
             "(%.1f s left)" % left)
    h.expect(not handler_events(g)[1], "the alarm fired %.1f s early"
             % left)
    h.wait_until(lambda: handler_events(g)[1], left + 5,
                 what="the alarm after the restart")
    late = time.monotonic() - (set_at + ALARM_MS / 1000.0)
    h.expect(late > -0.2, "the alarm fired %.2f s early" % -late)
    h.expect(late < 2.0, "the alarm fired %.2f s late" % late)
    h.expect_eq(handler_events(g)[1], [(h.ROOM, 0)], "alarm runs")
    h.expect(stop_status == 0, "the gateway's exit after SIGTERM: %s (log: "
             "%s)" % (h.describe_status(stop_status), g.logs[0]))


if __name__ == "__main__":
    h.run()
