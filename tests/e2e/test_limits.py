#!/usr/bin/python3
"""
test_limits: each connection-level limit at its boundary. The last
connection allowed is served, the next one gets the documented refusal,
and a client that respects the limits is never disturbed.
"""

import base64
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

V1 = os.path.join(h.TESTPROGS, "testhandler-v1")


def upgrade(port, headers=(), source="127.0.0.1", path="/websocket"):
    """A raw upgrade request from source; returns the status code."""
    key = base64.b64encode(os.urandom(16)).decode()
    req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
           "Sec-WebSocket-Version: 13\r\n" % (path, port, key))
    req += "".join("%s: %s\r\n" % kv for kv in headers) + "\r\n"
    return send_head(port, req, source)


def send_head(port, head, source="127.0.0.1"):
    """Sends a request head; returns the answer's status and the socket."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5,
                                 source_address=(source, 0))
    s.sendall(head.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, s


@h.test("--max-connections-per-ip 2: the third socket from one address "
        "gets 503, another address still connects")
def test_per_ip():
    g = h.Gateway(args=["--max-connections-per-ip", "2"])
    kept = []
    try:
        for i in range(2):
            st, s = upgrade(g.port)
            kept.append(s)
            h.expect_eq(st, 101, "socket %d from 127.0.0.1" % (i + 1))
        st, s = upgrade(g.port)
        s.close()
        h.expect_eq(st, 503, "third socket from 127.0.0.1")
        st, s = upgrade(g.port, source="127.0.0.2")
        kept.append(s)
        h.expect_eq(st, 101, "first socket from 127.0.0.2")
        h.expect("max-connections-per-ip" in g.log_text(), "log line")
        # a slot freed is a slot usable again
        kept.pop(0).close()
        h.wait_until(lambda: upgrade_closed(g.port), 10,
                     what="127.0.0.1 accepted again after a close")
    finally:
        for s in kept:
            s.close()


def silent(port, n, source="127.0.0.1"):
    """n sockets that connect and send nothing (requests in progress)."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5,
                                      source_address=(source, 0))
             for _ in range(n)]
    return socks


@h.test("--max-handshakes 3: with 3 requests in progress a 4th connection "
        "gets 503 at once; one ends, and the next upgrades")
def test_max_handshakes():
    g = h.Gateway(args=["--max-handshakes", "3"])
    socks = silent(g.port, 3)
    try:
        st, s = upgrade(g.port)
        s.close()
        h.expect_eq(st, 503, "4th connection with 3 in progress")
        h.expect("connection refused remote=127.0.0.1 status=503 "
                 "(--max-handshakes)" in g.log_text(), "log line")
        socks.pop().close()
        h.wait_until(lambda: upgrade_closed(g.port), 10,
                     what="an upgrade once a request in progress ended")
    finally:
        for s in socks:
            s.close()
    g.expect_alive()


@h.test("torpor_handshakes counts requests in progress")
def test_handshakes_gauge():
    g = h.Gateway()
    socks = silent(g.port, 2)
    try:
        h.wait_until(lambda: g.metric("torpor_handshakes") == 2, 10,
                     what="torpor_handshakes is 2 with 2 silent sockets")
    finally:
        for s in socks:
            s.close()
    h.wait_until(lambda: g.metric("torpor_handshakes") == 0, 10,
                 what="torpor_handshakes back to 0")


@h.test("--max-connections-per-ip 2 counts requests in progress: two silent "
        "sockets from 127.0.0.1 and its upgrade gets 503, 127.0.0.2 still "
        "upgrades")
def test_per_ip_pending():
    g = h.Gateway(args=["--max-connections-per-ip", "2"])
    socks = silent(g.port, 2)
    try:
        st, s = upgrade(g.port)
        s.close()
        h.expect_eq(st, 503, "upgrade from 127.0.0.1 with 2 silent sockets")
        st, s = upgrade(g.port, source="127.0.0.2")
        s.close()
        h.expect_eq(st, 101, "upgrade from 127.0.0.2")
    finally:
        for s in socks:
            s.close()
    h.wait_until(lambda: upgrade_closed(g.port), 10,
                 what="127.0.0.1 upgrades once its silent sockets closed")


def upgrade_closed(port):
    st, s = upgrade(port)
    s.close()
    return st == 101


@h.test("--max-connections 3: the fourth socket gets 503")
def test_max_connections():
    g = h.Gateway(args=["--max-connections", "3"])
    kept = []
    try:
        for i in range(3):
            st, s = upgrade(g.port)
            kept.append(s)
            h.expect_eq(st, 101, "socket %d" % (i + 1))
        st, s = upgrade(g.port, source="127.0.0.3")
        s.close()
        h.expect_eq(st, 503, "fourth socket")
    finally:
        for s in kept:
            s.close()


@h.test("--allow-origin: a listed Origin upgrades, another or none gets "
        "403")
def test_origin():
    g = h.Gateway(args=["--allow-origin", "https://good.example"])
    st, s = upgrade(g.port, [("Origin", "https://good.example")])
    s.close()
    h.expect_eq(st, 101, "listed origin")
    st, s = upgrade(g.port, [("Origin", "HTTPS://Good.Example")])
    s.close()
    h.expect_eq(st, 101, "listed origin in other case (the man page: "
                "compared without regard to case)")
    st, s = upgrade(g.port, [("Origin", "https://evil.example")])
    s.close()
    h.expect_eq(st, 403, "other origin")
    st, s = upgrade(g.port)
    s.close()
    h.expect_eq(st, 403, "no Origin header")


@h.test("--handshake-timeout 1: a connection that sends nothing is dropped")
def test_handshake_timeout():
    g = h.Gateway(args=["--handshake-timeout", "1"])
    s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
    t0 = time.monotonic()
    try:
        got = s.recv(100)
    except ConnectionResetError:
        got = b""
    took = time.monotonic() - t0
    s.close()
    h.expect_eq(got, b"", "the server closed the silent connection")
    h.expect(took < 8, "dropped after %.1f s (timeout 1 s)" % took)
    with g.ws() as c:
        c.recv_json()


def padded_upgrade(port, total):
    """An upgrade whose request head is exactly total bytes; its status."""
    key = base64.b64encode(os.urandom(16)).decode()
    head = ("GET /websocket HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
            % (port, key))
    pad = total - len(head) - len("X-Pad: \r\n\r\n")
    head += "X-Pad: %s\r\n\r\n" % ("a" * pad)
    h.expect_eq(len(head), total, "request head length")
    status, s = send_head(port, head)
    s.close()
    return status


@h.test("--max-header-bytes 1024: a request head of exactly 1024 bytes "
        "upgrades, 1025 gets 431, the gateway keeps serving")
def test_header_size():
    g = h.Gateway(args=["--max-header-bytes", "1024"])
    h.expect_eq(padded_upgrade(g.port, 1024), 101, "head of 1024 bytes")
    h.expect_eq(padded_upgrade(g.port, 1025), 431, "head of 1025 bytes")
    st, s = upgrade(g.port, [("X-Pad", "a" * 4096)])
    s.close()
    h.expect_eq(st, 431, "4 KiB of headers")
    with g.ws() as c:
        h.welcome(c)
    g.expect_alive()


@h.test("--max-tags 3 and --max-tag-bytes 8: a handler at the limit is "
        "served, one tag more or one byte longer gets 1011")
def test_tags():
    if not os.access(V1, os.X_OK):
        raise AssertionError("check program not built: %s" % V1)
    g = h.Gateway(handler=[V1], static=None,
                  args=["--max-tags", "3", "--max-tag-bytes", "8"])
    with g.ws() as c:
        c.send_text("tags 3 8")
        h.expect_eq(c.recv_text(), "ok", "3 tags of 8 bytes")
    with g.ws() as c:
        c.send_text("tags 4 8")
        h.expect_eq(c.expect_close()[0], 1011, "close code for 4 tags")
    with g.ws() as c:
        c.send_text("tags 1 9")
        h.expect_eq(c.expect_close()[0], 1011, "close code for a 9-byte tag")
    with g.ws() as c:
        c.send_text("get")
        h.expect(c.recv_text().startswith("n="), "still serving")


if __name__ == "__main__":
    h.run()
