#!/usr/bin/python3
"""
test_pingpong: the reference application (examples/pingpong) behind the
real gateway must behave like the Durable Object it replaces
(DESIGN.md, "The reference application").
"""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def gw():
    return h.shared_gateway()


@h.test("welcome frame: exact shape, UUIDv4 id, heartbeatInterval 20000")
def test_welcome():
    with gw().ws() as c:
        h.expect_reference_welcome(c.recv_json())


@h.test("connection ids are unique across 20 connections")
def test_unique_ids():
    g = gw()
    ids = []
    for _ in range(20):
        c = g.ws()
        cid = h.welcome(c)
        h.expect_uuid4(cid)
        ids.append(cid)
    h.expect_eq(len(set(ids)), 20, "distinct ids among 20 connections")


@h.test("ping -> pong with ISO-8601 timestamp and the same connectionId")
def test_ping():
    with gw().ws() as c:
        cid = h.welcome(c)
        msg = c.roundtrip({"type": "ping"})
        h.expect_eq(msg.get("type"), "pong", "type")
        h.expect_recent_iso8601(msg.get("timestamp"))
        h.expect_eq(msg.get("connectionId"), cid, "connectionId")


@h.test("heartbeat -> heartbeat_ack")
def test_heartbeat():
    with gw().ws() as c:
        cid = h.welcome(c)
        msg = c.roundtrip({"type": "heartbeat"})
        h.expect_eq(msg.get("type"), "heartbeat_ack", "type")
        h.expect_recent_iso8601(msg.get("timestamp"))
        h.expect_eq(msg.get("connectionId"), cid, "connectionId")


@h.test("{\"message\":\"hi\"} -> echo with message and connections")
def test_echo():
    with gw().ws() as c:
        cid = h.welcome(c)
        h.expect_reference_echo(c.roundtrip({"message": "hi"}), "hi", cid)


@h.test("connections count follows opens, clean closes and dropped sockets",
        timeout=60)
def test_counts():
    g = h.Gateway()     # its own gateway: nobody else's sockets count
    a = g.ws()
    cid = h.welcome(a)

    def count():
        return h.expect_reference_echo(a.roundtrip({"message": "count"}), "count", cid)

    h.expect_eq(count(), 1, "connections with one client")
    b = g.ws()
    h.welcome(b)
    h.expect_eq(count(), 2, "connections after a second client opened")
    c = g.ws()
    h.welcome(c)
    h.expect_eq(count(), 3, "connections after a third client opened")
    b.close()
    h.wait_until(lambda: count() == 2, 10,
                 what="count drops to 2 after a clean close")
    c.drop()
    h.wait_until(lambda: count() == 1, 10,
                 what="count drops to 1 after a dropped TCP connection")
    d = g.ws()
    h.welcome(d)
    h.expect_eq(count(), 2, "connections after a new client opened")


@h.test("raw text echoed when there is no usable message field")
def test_raw_echo():
    cases = [
        ("non-JSON text", "hello, world"),
        ("JSON array", "[1,2,3]"),
        ("JSON number", "42"),
        ("JSON without message", '{"foo":"bar","n":1}'),
        ("empty message", '{"message":""}'),
        ("JSON string", '"just a string"'),
        ("unicode text", "h\u00e9llo \u2603 \U0001F600"),
    ]
    with gw().ws() as c:
        cid = h.welcome(c)
        for what, text in cases:
            c.send_text(text)
            msg = c.recv_json()
            try:
                h.expect_reference_echo(msg, text, cid)
            except AssertionError as e:
                raise AssertionError("%s %r: %s" % (what, text, e))


@h.test("extra fields are ignored")
def test_extra_fields():
    with gw().ws() as c:
        cid = h.welcome(c)
        msg = c.roundtrip({"type": "ping", "extra": 1, "nested": {"a": [1]}})
        h.expect_eq(msg.get("type"), "pong", "ping with extra fields")
        h.expect_eq(msg.get("connectionId"), cid, "connectionId")
        msg = c.roundtrip({"type": "heartbeat", "x": None})
        h.expect_eq(msg.get("type"), "heartbeat_ack",
                    "heartbeat with extra fields")
        h.expect_reference_echo(c.roundtrip({"message": "hi", "foo": "bar", "n": [1, 2]}),
                    "hi", cid)
        h.expect_reference_echo(c.roundtrip({"type": "something-else", "message": "x"}),
                    "x", cid)


@h.test("binary frames are decoded as UTF-8; replies are text frames")
def test_binary():
    with gw().ws() as c:
        cid = h.welcome(c)
        c.send_binary(b'{"type":"ping"}')
        kind, data = c.recv()
        h.expect_eq(kind, "text", "reply frame type to a binary ping")
        msg = json.loads(data)
        h.expect_eq(msg.get("type"), "pong", "reply to a binary ping")
        h.expect_eq(msg.get("connectionId"), cid, "connectionId")
        text = "h\u00e9llo \u2603"
        c.send_binary(('{"message":"%s"}' % text).encode("utf-8"))
        kind, data = c.recv()
        h.expect_eq(kind, "text", "reply frame type to a binary message")
        h.expect_reference_echo(json.loads(data), text, cid)


@h.test("200 back-to-back messages answered in order", timeout=60)
def test_pipelined():
    n = 200
    with gw().ws() as c:
        cid = h.welcome(c)
        for i in range(n):
            c.send_json({"message": "seq-%d" % i})
        for i in range(n):
            msg = c.recv_json(timeout=15)
            try:
                h.expect_reference_echo(msg, "seq-%d" % i, cid)
            except AssertionError as e:
                raise AssertionError("reply %d of %d: %s" % (i, n, e))


@h.test("50 concurrent clients x 20 round trips", timeout=120)
def test_concurrent():
    nclients, rounds = 50, 20
    errors = []
    done = []
    lock = threading.Lock()
    g = gw()

    def client(k):
        c = None
        try:
            c = h.Client(g.ws_url + "/websocket", timeout=20)
            cid = h.welcome(c, timeout=20)
            for j in range(rounds):
                if j % 5 == 4:
                    msg = c.roundtrip({"type": "ping"}, timeout=20)
                    h.expect_eq(msg.get("type"), "pong", "type")
                    h.expect_eq(msg.get("connectionId"), cid, "connectionId")
                else:
                    text = "c%d-r%d" % (k, j)
                    h.expect_reference_echo(c.roundtrip({"message": text}, timeout=20),
                                text, cid)
            with lock:
                done.append(k)
        except Exception as e:
            with lock:
                errors.append("client %d: %s: %s" % (k, type(e).__name__, e))
        finally:
            if c is not None:
                c.close(timeout=2)

    threads = [threading.Thread(target=client, args=(k,), daemon=True)
               for k in range(nclients)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 90
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = sum(1 for t in threads if t.is_alive())
    h.expect(not errors, "%d clients failed, first: %s"
             % (len(errors), errors[:3]))
    h.expect(stuck == 0, "%d clients still running after 90 s" % stuck)
    h.expect_eq(len(done), nclients, "clients that completed")


@h.test("a 900 KiB text message is echoed intact", timeout=60)
def test_large():
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    size = 900 * 1024
    text = "big:" + (alphabet * (size // len(alphabet) + 1))[:size - 4]
    with gw().ws() as c:
        cid = h.welcome(c)
        c.send_text(text)
        msg = c.recv_json(timeout=30)
        h.expect_eq(msg.get("type"), "echo", "type")
        got = msg.get("message")
        h.expect(isinstance(got, str), "message is not a string")
        h.expect_eq(len(got), len(text), "echoed length")
        h.expect(got == text, "echoed text differs from what was sent")
        h.expect_eq(msg.get("connectionId"), cid, "connectionId")


@h.test("GET / serves the web client as text/html")
def test_index():
    r = gw().http("GET", "/", [("Connection", "close")])
    h.expect_eq(r.status, 200, "status of GET /")
    ctype = (r.header("Content-Type") or "").lower()
    h.expect(ctype.startswith("text/html"), "Content-Type is %r" % ctype)
    body = r.body.decode("utf-8", "replace").lower()
    h.expect("<html" in body, "body has no <html: %r" % body[:200])
    h.expect("websocket" in body,
             "body does not look like the web client: %r" % body[:200])


@h.test("the log shows the start-up line; the gateway is still running")
def test_log():
    g = gw()
    line = "listening on http://%s:%d/" % (h.HOST, g.port)
    h.wait_until(lambda: line in g.log_text(), 5, what="start-up line in log")
    g.expect_alive()


if __name__ == "__main__":
    h.run()
