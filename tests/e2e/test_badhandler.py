#!/usr/bin/python3
"""
test_badhandler: handlers that answer wrongly (issue 4, item 3), with
tests/progs/badhandler in the modes that misbehave on the message "bad"
only and echo anything else.

Every case runs the same scenario on a gateway with a prefix route, so
that there are two objects: clients A and B on object "one", client C on
object "two". A sends "bad"; then

- the gateway logs the cause (a warn line naming the object, the event
  and what was wrong with the answer);
- A, and only A, is closed with 1011;
- B (same object) and C (other object) were not disturbed: nothing
  arrived for them, and their next message is echoed;
- the gateway carries on: still running, a new client of object "one" is
  served, /metrics counts the 1011 close.

An answer that comes after the handler wrote to FastCGI's error stream
is one of these failures by default (--handler-stderr fail); with
--handler-stderr log it is a good answer: applied (A gets its echo and
stays open), the line logged at warn level.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

BADHANDLER = os.path.join(h.TESTPROGS, "badhandler")
ROUTE = "/obj/*"

# What the FastCGI error stream and fd 2 lines of mode "stderr" say
# (STDERR_LINE, STDERR_FD2_LINE in tests/progs/badhandler.c).
STDERR_LINE = "badhandler: a warning on the FastCGI error stream"
STDERR_FD2_LINE = "badhandler: a warning on file descriptor 2"


def bad_gateway(mode, args=()):
    if not os.access(BADHANDLER, os.X_OK):
        raise AssertionError("check program not built: %s" % BADHANDLER)
    return h.Gateway(handler=[BADHANDLER, mode], args=args, static=None,
                     routes=(ROUTE,))


def connect(g, obj):
    c = g.ws("/obj/" + obj)
    h.expect_eq(c.recv_text(timeout=10), "welcome",
                "badhandler's connect reply on object %s" % obj)
    return c


def expect_echo(c, text, what, timeout=10):
    c.send_text(text)
    try:
        got = c.recv_text(timeout=timeout)
    except h.Closed as e:
        raise AssertionError("%s: closed with %s (%r) instead of an echo "
                             "of %r" % (what, e.code, e.reason, text))
    h.expect_eq(got, text, "%s: echo" % what)


def expect_log(g, pattern, what, timeout=5.0):
    """Waits until a log line matches pattern; returns the lines."""
    try:
        return h.wait_until(lambda: g.log_lines(pattern), timeout,
                            what=what)
    except h.Timeout:
        raise AssertionError("%s: no log line matches %r\n%s"
                             % (what, pattern, g.log_tail()))


def expect_killed(g, cause):
    """The process named in the "handler pid=N: CAUSE" line is gone."""
    lines = expect_log(g, r"level=warn .*handler pid=\d+: " + cause,
                       "the failing process is named in the log")
    pid = int(re.search(r"handler pid=(\d+):", lines[0]).group(1))
    h.wait_until(lambda: not h.pid_alive(pid), 5,
                 what="handler pid %d killed" % pid)


def misbehave(mode, cause, args=(), close_timeout=15):
    """
    The scenario of the module docstring. cause: a regular expression
    for what was wrong, as the gateway words it in its failure line
    "object=one event=message connection=ID: CAUSE".
    """
    g = bad_gateway(mode, args)
    a = connect(g, "one")
    b = connect(g, "one")
    c = connect(g, "two")
    for who, cl in (("A", a), ("B", b), ("C", c)):
        expect_echo(cl, "hello from " + who, "%s before" % who)
    closes_before = g.metric('torpor_closes_total{code="1011"}')

    a.send_text("bad")
    try:
        kind, data = a.recv(timeout=close_timeout)
    except h.Closed as e:
        h.expect_eq(e.code, 1011, "A's close code after %s (reason %r)"
                    % (mode, e.reason))
    else:
        raise AssertionError("%s: A got a %s frame %r instead of a close "
                             "1011" % (mode, kind, data[:200]))

    lines = expect_log(
        g, r"level=warn .*object=one event=message connection=[0-9a-f-]+: "
        + cause, "%s: the failure and its cause are logged" % mode)
    h.comment("%s: %s" % (mode, lines[0]))

    # Only A: B and C saw nothing, and are served.
    b.expect_silence(0.3)
    c.expect_silence(0.3)
    expect_echo(b, "B after A's 1011", "B (same object)")
    expect_echo(c, "C after A's 1011", "C (other object)")

    # The gateway carries on: a new client of the same object is served,
    # and does not get A's failed answer.
    g.expect_alive()
    with connect(g, "one") as d:
        expect_echo(d, "D after A's 1011", "D (new, same object)")
    expect_echo(b, "B once more", "B (same object), later")
    h.wait_until(lambda: g.metric('torpor_closes_total{code="1011"}')
                 >= closes_before + 1, 5,
                 what="torpor_closes_total{code=\"1011\"} counts A's close")
    g.expect_alive()
    return g


@h.test("truncated answer (half a header section, then END_REQUEST): "
        "logged, 1011 for that connection only", timeout=90)
def test_truncated():
    misbehave("truncated", r"header section not ended by an empty line")


@h.test("oversized answer (64 KiB body, --max-response 4K): logged, "
        "1011 for that connection only", timeout=90)
def test_oversized():
    g = misbehave("oversized", r"response over --max-response",
                  args=["--max-response", "4K"])
    # The process that went over was killed (PROTOCOL.md 5.3).
    expect_killed(g, r"response over --max-response")


@h.test("invalid header \"Status: abc\": logged, 1011 for that "
        "connection only", timeout=90)
def test_bad_status():
    misbehave("bad-status", r"Status does not start with a 3-digit code")


@h.test("invalid header line without a colon: logged, 1011 for that "
        "connection only", timeout=90)
def test_no_colon():
    misbehave("no-colon", r"header line without ':'")


@h.test("invalid header \"Torpor-Close: 99999\": logged, 1011 for that "
        "connection only", timeout=90)
def test_bad_close():
    misbehave("bad-close", r"Torpor-Close code is not 1000 or 3000-4999")


@h.test("invalid actions JSON: logged, 1011 for that connection only, "
        "none of its actions applied", timeout=90)
def test_bad_actions():
    misbehave("bad-actions", r"actions body is not a JSON array")


@h.test("silent handler (no answer past --event-timeout 1): logged, "
        "1011 for that connection only", timeout=90)
def test_silent():
    g = misbehave("silent", r"event timeout", args=["--event-timeout", "1"])
    expect_killed(g, r"event timeout")


@h.test("answer after the handler wrote to FastCGI's stderr: logged, "
        "1011 for that connection only", timeout=90)
def test_stderr_fails():
    g = misbehave("stderr", r"the handler wrote to FastCGI's stderr during "
                  r"the request")
    expect_log(g, r"level=warn .*stderr: " + re.escape(STDERR_LINE),
               "the FastCGI stderr line itself is logged at warn level")


@h.test("--handler-stderr log: the answer after stderr is applied, the "
        "line logged at warn level, nobody closed", timeout=60)
def test_stderr_logged():
    g = bad_gateway("stderr", ["--handler-stderr", "log"])
    a = connect(g, "one")
    b = connect(g, "one")
    c = connect(g, "two")
    closes_before = g.metric('torpor_closes_total{code="1011"}')
    # The answer to "bad" is a plain echo, sent after the stderr lines.
    expect_echo(a, "bad", "A's answer after its stderr line")
    lines = expect_log(g, r"level=warn .*stderr: " + re.escape(STDERR_LINE),
                       "the FastCGI stderr line is logged at warn level")
    h.comment("stderr: %s" % lines[0])
    # fd 2 of a spawned handler is the gateway's: the line is in its log
    # as written.
    expect_log(g, re.escape(STDERR_FD2_LINE),
               "the handler's fd-2 line is in the gateway log")
    h.expect(not g.log_lines(r"object=one event=message connection="),
             "no failure logged for an answer after stderr: %r"
             % g.log_lines(r"object=one event=message connection="))
    expect_echo(a, "A still open", "A after its stderr answer")
    expect_echo(b, "B unaffected", "B (same object)")
    expect_echo(c, "C unaffected", "C (other object)")
    h.expect_eq(g.metric('torpor_closes_total{code="1011"}'),
                closes_before, "1011 closes")
    g.expect_alive()


if __name__ == "__main__":
    h.run()
