#!/usr/bin/python3
"""
test_durability: an acknowledged write is never lost to a crash.

The test handler keeps a counter per object: "inc" increments it and
replies "n=N v=1", "get" replies with it. After every acknowledged "inc"
the handler process is killed -9 (and, in a second variant, the gateway
with its handlers, then started again on the same store): the next "get"
must return the last acknowledged value, never less (a lost write) and
never more (an event applied twice). Ten rounds each, in `full` and
`group` durability, and in `none`, whose promise is the same for a
process crash.
"""

import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

V1 = os.path.join(h.TESTPROGS, "testhandler-v1")
ROUNDS = 10
N_RE = re.compile(r"^n=(\d+) v=1$")


def counter_gateway(mode, args=()):
    if not os.access(V1, os.X_OK):
        raise AssertionError("check program not built: %s" % V1)
    return h.Gateway(handler=[V1], static=None,
                     args=["--durability", mode] + list(args))


def ask(c, text, what):
    c.send_text(text)
    reply = c.recv_text(15)
    m = N_RE.match(reply)
    h.expect(m, "%s: reply to %r is %r" % (what, text, reply))
    return int(m.group(1))


def expect_counter(got, acked, what):
    h.expect(got >= acked, "%s: the counter is %d, behind the last "
             "acknowledged value %d (a lost write)" % (what, got, acked))
    h.expect_eq(got, acked, "%s: the counter (more than acknowledged: an "
                "event applied twice?)" % what)


def reaped(g, pid):
    """The gateway logged that it reaped pid."""
    return re.search(r"handler (stopped pid=%d |pid=%d (killed|exited))"
                     % (pid, pid), g.log_text() + " ")


def kill_handlers(g):
    """
    kill -9 of every handler process, then waits until the gateway has
    reaped them: a request the gateway sends to a process it does not yet
    know is dead is another matter (test_crashload's idle-kill test).
    """
    pids = g.children()
    h.expect(pids, "no handler process to kill")
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    h.wait_until(lambda: all(reaped(g, p) for p in pids), 5,
                 what="the gateway reaps the killed handlers %s" % pids)
    return pids


def handler_kill_rounds(mode):
    g = counter_gateway(mode, args=["--handlers", "1:2"])
    with g.ws() as c:
        acked = ask(c, "get", "before the first round")
        h.expect_eq(acked, 0, "the counter of a new store")
        for i in range(1, ROUNDS + 1):
            acked = ask(c, "inc", "round %d" % i)
            h.expect_eq(acked, i, "round %d: the counter after inc" % i)
            kill_handlers(g)
            expect_counter(ask(c, "get", "round %d, after kill -9 of the "
                               "handlers" % i), acked, "round %d" % i)
        h.expect(c.closed is None and not c.dropped,
                 "the client lost its connection")
    g.expect_alive()


def gateway_kill_rounds(mode):
    g = counter_gateway(mode)
    acked = 0
    for i in range(1, ROUNDS + 1):
        c = g.ws()
        expect_counter(ask(c, "get", "round %d, after the restart" % i),
                       acked, "round %d" % i)
        acked = ask(c, "inc", "round %d" % i)
        h.expect_eq(acked, i, "round %d: the counter after inc" % i)
        g.kill9()
        c.drop()
        g.start()
    with g.ws() as c:
        expect_counter(ask(c, "get", "after the last restart"), acked,
                       "after the last restart")


@h.test("durability full: kill -9 of the handler after each acknowledged "
        "inc loses nothing", timeout=90)
def test_full_handler_kill():
    handler_kill_rounds("full")


@h.test("durability full: kill -9 of the gateway after each acknowledged "
        "inc loses nothing", timeout=90)
def test_full_gateway_kill():
    gateway_kill_rounds("full")


@h.test("durability group: kill -9 of the handler after each acknowledged "
        "inc loses nothing", timeout=90)
def test_group_handler_kill():
    handler_kill_rounds("group")


@h.test("durability group: kill -9 of the gateway after each acknowledged "
        "inc loses nothing", timeout=90)
def test_group_gateway_kill():
    gateway_kill_rounds("group")


@h.test("durability none: a process crash loses nothing either "
        "(handler and gateway kill -9)", timeout=90)
def test_none_kills():
    handler_kill_rounds("none")
    gateway_kill_rounds("none")


if __name__ == "__main__":
    h.run()
