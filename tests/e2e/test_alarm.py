#!/usr/bin/python3
"""
test_alarm: the reference app's alarm closes sockets that went silent, and
an object's alarm is durable: it fires after a gateway restart on the same
store.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

FAST = {"CONNECTION_TIMEOUT_MS": "1500", "ALARM_INTERVAL_MS": "500",
        "HEARTBEAT_INTERVAL_MS": "300"}


def alarm_fired_lines(text, obj=h.ROOM):
    """Log lines saying an alarm of obj fired ("alarm", obj and "fire")."""
    out = []
    for line in text.splitlines():
        low = line.lower()
        if "alarm" in low and obj in low and "fire" in low:
            out.append(line)
    return out


@h.test("a silent client is closed (1000, \"Connection timeout\"); "
        "a heartbeating one stays open", timeout=60)
def test_timeout():
    g = h.Gateway(env=FAST)
    active = g.ws()
    t0 = time.monotonic()
    silent = g.ws()
    msg = active.recv_json()
    h.expect_eq(msg.get("type"), "welcome", "first frame")
    h.expect_eq(msg.get("heartbeatInterval"), 300,
                "heartbeatInterval (HEARTBEAT_INTERVAL_MS reaches the handler)")
    acid = msg.get("connectionId")
    h.welcome(silent)
    closed_at = None
    close = None
    # Heartbeat every 300 ms for 5 s; meanwhile watch the silent client.
    end = t0 + 5.0
    for _ in range(100):
        now = time.monotonic()
        if now >= end and close is not None:
            break
        if now >= t0 + 6.0:
            break
        ack = active.roundtrip({"type": "heartbeat"}, timeout=3)
        h.expect_eq(ack.get("type"), "heartbeat_ack", "heartbeat reply")
        h.expect_eq(ack.get("connectionId"), acid, "connectionId")
        if close is None:
            try:
                silent.expect_silence(0.3)
            except h.Closed as e:
                close = (e.code, e.reason)
                closed_at = time.monotonic() - t0
        else:
            time.sleep(0.3)
    h.expect(close is not None, "silent client not closed within 6 s")
    h.expect_eq(close, (1000, "Connection timeout"), "silent client's close")
    h.expect(closed_at >= 1.4, "silent client closed too early (%.2f s, "
             "timeout 1.5 s)" % closed_at)
    h.expect(time.monotonic() - t0 >= 5.0, "heartbeating stopped early")
    msg = active.roundtrip({"type": "ping"})
    h.expect_eq(msg.get("type"), "pong", "heartbeating client after 5 s")


def arm_then_stop(g, interval_ms):
    """
    Connects a silent client (the connect arms the alarm at about now +
    interval), stops the gateway; returns the wall time the alarm is due.
    """
    with g.ws() as c:
        h.welcome(c)
        due = time.time() + interval_ms / 1000.0
    # A gateway slow to honour SIGTERM is killed: the alarm must survive
    # that too (test_hibernation checks the clean stop itself).
    g.stop(timeout=1.5)
    if g.killed:
        h.comment("gateway did not stop on SIGTERM within 1.5 s; killed")
    fired = alarm_fired_lines(g.log_text())
    h.expect(not fired, "the alarm fired before the gateway stopped; "
             "cannot test durability (%r)" % fired[:2])
    h.expect(time.time() < due, "stopping the gateway took until after the "
             "alarm was due; cannot test durability")
    return due


@h.test("an armed alarm fires after a restart on the same store (log)",
        timeout=60)
def test_alarm_restart_log():
    g = h.Gateway(env={"ALARM_INTERVAL_MS": "6000"})
    due = arm_then_stop(g, 6000)
    # After the restart nothing may arm a new alarm: no client connects
    # until the old one fired, and the interval is long anyway.
    g.restart(env={"ALARM_INTERVAL_MS": "600000"})
    left = max(0.0, due - time.time())
    lines = h.wait_until(lambda: alarm_fired_lines(g.log_text()), left + 6.0,
                         interval=0.1,
                         what="log line: alarm of %s fired after the restart"
                         % h.ROOM)
    h.comment("alarm after restart: %s" % lines[0])
    with g.ws() as c:
        h.welcome(c)


@h.test("an armed alarm survives a restart: it closes a stale socket",
        timeout=60)
def test_alarm_restart_effect():
    interval = 8000
    g = h.Gateway(env={"ALARM_INTERVAL_MS": str(interval)})
    due = arm_then_stop(g, interval)
    # With a 10 min interval, only the alarm armed before the restart can
    # fire within the deadline; it finds this client silent past 300 ms.
    g.restart(env={"ALARM_INTERVAL_MS": "600000",
                   "CONNECTION_TIMEOUT_MS": "300"})
    c = g.ws()
    h.welcome(c)
    margin = due - time.time()
    if margin < 1.0:
        h.skip("restart took too long (alarm due in %.2f s) to observe it"
               % margin)
    code, reason = c.expect_close(timeout=margin + 6.0)
    h.expect_eq((code, reason), (1000, "Connection timeout"), "close")


if __name__ == "__main__":
    h.run()
