#!/usr/bin/python3
"""
test_handshake: the HTTP side of the WebSocket upgrade, over raw sockets:
what the gateway answers to requests that are not (good) upgrades, and that
it keeps serving good clients after them.
"""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


V1 = os.path.join(h.TESTPROGS, "testhandler-v1")


def gw():
    return h.shared_gateway()


def read_until_closed(s, timeout=5.0):
    """Everything the server sends until it closes; fails after timeout."""
    data = b""
    deadline = time.monotonic() + timeout
    for _ in range(100000):
        left = deadline - time.monotonic()
        h.expect(left > 0, "the server did not close within %.1f s (got "
                 "%r)" % (timeout, data[:200]))
        s.settimeout(left)
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def masked_text(text):
    """One masked client text frame (payload under 126 bytes)."""
    payload = text.encode()
    key = os.urandom(4)
    return bytes([0x81, 0x80 | len(payload)]) + key + bytes(
        b ^ key[i % 4] for i, b in enumerate(payload))


def header_has(resp, name, token):
    value = resp.header(name)
    return value is not None and token.lower() in [
        t.strip().lower() for t in value.split(",")]


@h.test("plain GET /websocket (no upgrade) -> 426 with Upgrade: websocket")
def test_no_upgrade():
    r = gw().http("GET", "/websocket", [("Connection", "close")])
    h.expect_eq(r.status, 426, "status")
    h.expect(header_has(r, "Upgrade", "websocket"),
             "no 'Upgrade: websocket' header in %r" % r.headers)


@h.test("upgrade without Sec-WebSocket-Key -> 400")
def test_no_key():
    r = gw().http("GET", "/websocket", h.ws_handshake_headers(key=False))
    h.expect_eq(r.status, 400, "status")


@h.test("Sec-WebSocket-Version: 8 -> 426 with Sec-WebSocket-Version: 13")
def test_bad_version():
    r = gw().http("GET", "/websocket", h.ws_handshake_headers(version="8"))
    h.expect_eq(r.status, 426, "status")
    h.expect(header_has(r, "Sec-WebSocket-Version", "13"),
             "no 'Sec-WebSocket-Version: 13' header in %r" % r.headers)


@h.test("upgrade on an unrouted path -> 404")
def test_unrouted():
    r = gw().http("GET", "/no-such-route", h.ws_handshake_headers())
    h.expect_eq(r.status, 404, "status")


@h.test("a good raw handshake -> 101 with the right Sec-WebSocket-Accept")
def test_good_raw():
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    r = gw().http("GET", "/websocket", h.ws_handshake_headers(key=key))
    h.expect_eq(r.status, 101, "status")
    h.expect(header_has(r, "Upgrade", "websocket"),
             "no 'Upgrade: websocket' in %r" % r.headers)
    h.expect_eq(r.header("Sec-WebSocket-Accept"), h.ws_accept(key),
                "Sec-WebSocket-Accept")


@h.test("plain HTTP: HEAD has the length and no body, POST gets 405, "
        "paths leaving --static get 404, every answer ends the connection")
def test_plain_http():
    g = gw()
    page = g.http("GET", "/")
    h.expect_eq(page.status, 200, "GET / status")
    r = g.http("HEAD", "/")
    h.expect_eq(r.status, 200, "HEAD / status")
    h.expect_eq(r.header("Content-Length"), str(len(page.body)),
                "HEAD / Content-Length")
    r = g.http("POST", "/", body=b"x")
    h.expect_eq(r.status, 405, "POST / status")
    h.expect(header_has(r, "Allow", "GET"), "405 without Allow: %r"
             % r.headers)
    up = "/.." * 12
    for path in (up + "/etc/passwd", up.replace("..", "%2e%2e") +
                 "/etc/passwd", up.replace("/", "%2f")[3:] + "%2fetc%2fpasswd",
                 "/nothing-here.html"):
        r = g.http("GET", path)
        h.expect(r.status in (400, 404), "GET %s: status %d, body %r"
                 % (path, r.status, r.body[:80]))
        h.expect(b"root:" not in r.body, "GET %s served /etc/passwd" % path)
    # Keep-alive asked for, one answer given, then the server closes.
    s = socket.create_connection(("127.0.0.1", g.port), timeout=5)
    try:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive"
                  b"\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = read_until_closed(s)
    finally:
        s.close()
    h.expect_eq(data.count(b"HTTP/1.1 200 "), 1, "answers on one connection")
    h.expect(b"\r\nConnection: close\r\n" in data,
             "no Connection: close in %r" % data[:300])


@h.test("frames sent right behind the upgrade request are not lost")
def test_frames_behind_upgrade():
    g = gw()
    req = "GET /websocket HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % g.port
    req += "".join("%s: %s\r\n" % kv for kv in h.ws_handshake_headers())
    s = socket.create_connection(("127.0.0.1", g.port), timeout=5)
    try:
        s.sendall(req.encode() + b"\r\n" +
                  masked_text(json.dumps({"type": "ping"})))
        data = b""
        deadline = time.monotonic() + 5
        for _ in range(1000):
            if data.count(b"\x81") >= 2 and b"pong" in data:
                break
            h.expect(time.monotonic() < deadline,
                     "no pong within 5 s: %r" % data[:400])
            data += s.recv(65536)
    finally:
        s.close()
    h.expect(data.startswith(b"HTTP/1.1 101 "), "status line: %r"
             % data[:40])
    h.expect(b"welcome" in data and b"pong" in data,
             "welcome then pong expected: %r" % data[:400])


@h.test("the upgrade request's headers reach the handler as HTTP_* "
        "params: repeated ones joined, '_' names and Proxy left out")
def test_header_params():
    if not os.access(V1, os.X_OK):
        raise AssertionError("check program not built: %s" % V1)
    names = ["HTTP_X_CUSTOM", "HTTP_X_TWICE", "HTTP_USER_AGENT",
             "HTTP_X_UNDER_SCORE", "HTTP_PROXY", "HTTP_HOST"]
    g = h.Gateway(handler=[V1], static=None)
    c = g.ws(header=["X-Show-Params: " + ",".join(names),
                     "X-Custom: hello there", "X-Twice: a", "X-Twice: b",
                     "X_Under_Score: sneaky", "Proxy: http://127.0.0.9:1",
                     "User-Agent: torpor-test/1"])
    got = dict(line.split("=", 1)
               for line in c.recv_text(timeout=10).splitlines())
    h.expect_eq(got.get("HTTP_X_CUSTOM"), "hello there", "HTTP_X_CUSTOM")
    h.expect_eq(got.get("HTTP_X_TWICE"), "a, b", "HTTP_X_TWICE (joined)")
    h.expect_eq(got.get("HTTP_USER_AGENT"), "torpor-test/1",
                "HTTP_USER_AGENT")
    h.expect_eq(got.get("HTTP_X_UNDER_SCORE"), "(none)",
                "a header named with '_' is left out")
    h.expect_eq(got.get("HTTP_PROXY"), "(none)", "Proxy is left out")
    h.expect_eq(got.get("HTTP_HOST"), "127.0.0.1:%d" % g.port, "HTTP_HOST")
    c.close()
    g.expect_alive()


@h.test("--subprotocol: the first offered one that is allowed is chosen, "
        "named in the 101 and given to the handler; none offered, none "
        "named")
def test_subprotocol():
    if not os.access(V1, os.X_OK):
        raise AssertionError("check program not built: %s" % V1)
    g = h.Gateway(handler=[V1], static=None,
                  args=["--subprotocol", "chat.v2", "--subprotocol",
                        "chat.v1"])
    cases = [("x.v9, chat.v1, chat.v2", "chat.v1"), ("chat.v2", "chat.v2"),
             ("x.v9", None), (None, None)]
    for offer, want in cases:
        extra = [] if offer is None else [("Sec-WebSocket-Protocol", offer)]
        r = g.http("GET", "/websocket", h.ws_handshake_headers(extra=extra))
        h.expect_eq(r.status, 101, "status for offer %r" % offer)
        h.expect_eq(r.header("Sec-WebSocket-Protocol"), want,
                    "subprotocol answered to offer %r" % offer)
    c = g.ws(header=["X-Show-Params: TORPOR_SUBPROTOCOL",
                     "Sec-WebSocket-Protocol: x.v9, chat.v2"])
    h.expect_eq(c.recv_text(timeout=10).strip(),
                "TORPOR_SUBPROTOCOL=chat.v2", "the handler's param")
    c.close()
    g.expect_alive()


@h.test("the gateway still serves a good client afterwards")
def test_still_serving():
    g = gw()
    with g.ws() as c:
        cid = h.welcome(c)
        h.expect_uuid4(cid)
        msg = c.roundtrip({"type": "ping"})
        h.expect_eq(msg.get("type"), "pong", "type")
        h.expect_eq(msg.get("connectionId"), cid, "connectionId")
    g.expect_alive()


if __name__ == "__main__":
    h.run()
