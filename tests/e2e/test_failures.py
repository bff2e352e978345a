#!/usr/bin/python3
"""
test_failures: handlers that crash, fail, answer garbage or hang
(tests/progs/badhandler). The affected connection gets close 1011, other
connections and later clients are still served (the pool replaces broken
processes), and the gateway itself stays up.
"""

import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

BADHANDLER = os.path.join(h.TESTPROGS, "badhandler")


def bad_gateway(mode, args=()):
    if not os.access(BADHANDLER, os.X_OK):
        raise AssertionError("check program not built: %s" % BADHANDLER)
    return h.Gateway(handler=[BADHANDLER, mode], args=args, static=None)


def connect(g):
    c = g.ws()
    text = c.recv_text(timeout=10)
    h.expect_eq(text, "welcome", "badhandler's connect reply")
    return c


def expect_echo(c, text, timeout=10):
    c.send_text(text)
    h.expect_eq(c.recv_text(timeout=timeout), text, "echo")


def expect_serving(g, echo=True):
    """The gateway is up, accepts a new client, and (echo) answers it."""
    g.expect_alive()
    with connect(g) as c:
        if echo:
            expect_echo(c, "still there")
    g.expect_alive()


def expect_1011(c, payload, timeout=15):
    c.send_text(payload)
    code, reason = c.expect_close(timeout=timeout)
    h.expect_eq(code, 1011, "close code after %r (reason %r)"
                % (payload, reason))


@h.test("handler abort() mid-request: 1011, the object keeps working",
        timeout=90)
def test_crash():
    g = bad_gateway("crash-on-message")
    a = connect(g)
    b = connect(g)
    expect_echo(a, "before")
    expect_echo(b, "before")
    expect_1011(a, "crash")
    # The next message for the same object needs a new process.
    expect_echo(b, "after the crash", timeout=15)
    expect_serving(g)
    # A second crash is handled the same way.
    c = connect(g)
    expect_1011(c, "crash")
    expect_echo(b, "after the second crash", timeout=15)
    expect_serving(g)


@h.test("handler answers Status 500: 1011, gateway still serving",
        timeout=60)
def test_status500():
    g = bad_gateway("status500")
    a = connect(g)
    b = connect(g)
    expect_1011(a, "anything")
    b.expect_silence(0.5)       # the other client is not closed with it
    expect_1011(b, "anything")
    expect_serving(g, echo=False)


@h.test("handler writes a non-CGI response: 1011, gateway still serving",
        timeout=60)
def test_garbage():
    g = bad_gateway("garbage")
    a = connect(g)
    b = connect(g)
    expect_1011(a, "anything")
    b.expect_silence(0.5)
    expect_1011(b, "again")
    expect_serving(g, echo=False)


@h.test("handler writes bytes that are not FastCGI records: 1011, "
        "gateway still serving", timeout=60)
def test_garbage_records():
    g = bad_gateway("garbage-records")
    a = connect(g)
    expect_1011(a, "anything")
    b = connect(g)
    expect_1011(b, "again")
    expect_serving(g, echo=False)


@h.test("handler exceeds --event-timeout: 1011, the object keeps working",
        timeout=90)
def test_slow():
    g = bad_gateway("slow", args=["--event-timeout", "1"])
    a = connect(g)
    b = connect(g)
    expect_1011(a, "slow", timeout=15)
    expect_echo(b, "after the timeout", timeout=15)
    expect_serving(g)


@h.test("external mode, FastCGI server unreachable: the connect fails "
        "at once with 1011, the gateway logs why and keeps serving")
def test_external_down():
    empty = tempfile.mkdtemp(prefix="torpor-none-")
    try:
        sock = os.path.join(empty, "x.sock")     # nobody listens there
        g = h.Gateway(args=["--handler-addr", "unix:" + sock], static=None)
        for _ in range(2):
            with g.ws() as c:
                code, _ = c.expect_close(timeout=5)
                h.expect_eq(code, 1011, "close code")
        h.expect("cannot connect to the FastCGI server" in g.log_text(),
                 "the log says why")
        g.expect_alive()
    finally:
        shutil.rmtree(empty, ignore_errors=True)


if __name__ == "__main__":
    h.run()
