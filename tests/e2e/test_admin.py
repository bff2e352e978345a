#!/usr/bin/python3
"""
test_admin: /metrics (Prometheus text) and /status (JSON) count what the
gateway did and are served only to --admin-allow peers; --log-format json
writes one JSON object per log line.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def gateway_lines(g):
    """The gateway's own log lines (the harness adds '# command' lines)."""
    return [ln for ln in g.log_text().splitlines()
            if ln.strip() and not ln.startswith("# ")]


def metric(text, name, labels=""):
    """The value of one sample, or None."""
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)),
                  text, re.M)
    return float(m.group(1)) if m else None


@h.test("/metrics counts events, closes and latency in Prometheus format")
def test_metrics():
    g = h.Gateway()
    with g.ws() as c:
        c.recv_json()
        for _ in range(3):
            c.roundtrip({"type": "ping"})
        r = g.http(path="/metrics")
        h.expect_eq(r.status, 200, "status of /metrics")
        h.expect("text/plain" in (r.header("Content-Type") or ""),
                 "content type %r" % r.header("Content-Type"))
        text = r.body.decode()
        h.expect_eq(metric(text, "torpor_connections"), 1.0, "open sockets")
        h.expect_eq(metric(text, "torpor_events_total", '{type="connect"}'),
                    1.0, "connect events")
        h.expect_eq(metric(text, "torpor_events_total", '{type="message"}'),
                    3.0, "message events")
        h.expect_eq(metric(text, "torpor_handler_latency_seconds_count"),
                    4.0, "answered requests")
        h.expect(re.search(r"^# TYPE torpor_handler_latency_seconds "
                           r"histogram$", text, re.M), "histogram TYPE line")
        h.expect(metric(text, "torpor_handler_processes",
                        '{generation="1",state="serving"}') >= 1,
                 "handler processes of generation 1")
    # the close reaches the counters once the handler answered it
    h.wait_until(lambda: metric(g.http(path="/metrics").body.decode(),
                                "torpor_closes_total", '{code="1000"}') == 1,
                 10, what="a 1000 close counted")


@h.test("/status is JSON with connections, handlers and event counts")
def test_status():
    g = h.Gateway()
    with g.ws() as c:
        c.recv_json()
        c.roundtrip({"type": "ping"})
        r = g.http(path="/status")
        h.expect_eq(r.status, 200, "status of /status")
        st = json.loads(r.body)
        h.expect_eq(st["connections"], 1, "connections")
        h.expect_eq(st["events"]["message"], 1, "message events")
        h.expect_eq(st["durability"], "none", "durability")
        h.expect_eq(st["handlers"]["generation"], 1, "generation")


@h.test("admin pages are refused (403) to peers not in --admin-allow")
def test_admin_allow():
    g = h.Gateway(args=["--admin-allow", "127.0.0.9"])
    for path in ("/metrics", "/status"):
        r = g.http(path=path)
        h.expect_eq(r.status, 403, "status of %s from 127.0.0.1" % path)
    h.expect("not in --admin-allow" in g.log_text(), "a log line says why")


@h.test("--log-format json: every log line is a JSON object with ts, "
        "level, func and msg")
def test_log_json():
    g = h.Gateway(args=["--log-format", "json"])
    with g.ws() as c:
        c.recv_json()
    g.stop()
    lines = gateway_lines(g)
    h.expect(len(lines) >= 2, "some log lines")
    for ln in lines:
        obj = json.loads(ln)
        h.expect(set(obj) == {"ts", "level", "func", "msg"},
                 "keys of %r" % ln)
    h.expect(any("listening on" in json.loads(ln)["msg"] for ln in lines),
             "the start-up line is there")


@h.test("text log lines are key=value with a timestamp and a level")
def test_log_text():
    g = h.Gateway()
    g.stop()
    lines = gateway_lines(g)
    h.expect(len(lines) >= 2, "some log lines")
    for ln in lines:
        h.expect(re.match(r'^ts=\S+Z level=(debug|info|warn|error) '
                          r'func=\w+ msg=".*"$', ln), "line %r" % ln)


if __name__ == "__main__":
    h.run()
