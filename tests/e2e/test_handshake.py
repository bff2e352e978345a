#!/usr/bin/python3
"""
test_handshake: the HTTP side of the WebSocket upgrade, over raw sockets:
what the gateway answers to requests that are not (good) upgrades, and that
it keeps serving good clients after them.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def gw():
    return h.shared_gateway()


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
