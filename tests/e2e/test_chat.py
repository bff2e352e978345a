#!/usr/bin/python3
"""
test_chat: the chat example (examples/chat) behind the real gateway, with
rooms at /rooms/* (one object per room): rooms are isolated, joins and
leaves are announced, a message reaches everyone in the room exactly once,
the last 50 messages are kept for newcomers (also across a gateway
restart), /who lists the room, bad nicknames fall back to guest-XXXX, bad
input gets an error frame, and bad room names get HTTP 400.
"""

import os
import re
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

CHAT = os.environ.get("TORPOR_CHAT") or os.path.join(
    h.SRCDIR, "examples", "chat", "chat")
ROUTE = "/rooms/*"
HISTORY = 50
GUEST_RE = re.compile(r"^guest-[0-9a-f]{4}$")


def chat_gateway(**kw):
    if not os.access(CHAT, os.X_OK):
        raise AssertionError("chat example not built: %s" % CHAT)
    return h.Gateway(handler=[CHAT], routes=[ROUTE], static=None, **kw)


def gw():
    if not os.access(CHAT, os.X_OK):
        raise AssertionError("chat example not built: %s" % CHAT)
    return h.shared_gateway("chat", handler=[CHAT], routes=[ROUTE],
                            static=None)


def room_name(what):
    """A room of its own for each test, so tests cannot see each other."""
    return "%s-%s" % (what, uuid.uuid4().hex[:8])


def join(g, room, nick=None, query=None):
    """Connects; returns (client, welcome)."""
    path = "/rooms/" + room
    if query is not None:
        path += "?" + query
    elif nick is not None:
        path += "?nick=" + nick
    c = g.ws(path)
    msg = c.recv_json(timeout=10)
    h.expect(isinstance(msg, dict) and msg.get("type") == "welcome",
             "expected a welcome, got %r" % (msg,))
    h.expect_eq(msg.get("room"), room, "welcome room")
    h.expect(isinstance(msg.get("history"), list),
             "welcome history is not a list: %r" % (msg,))
    if nick is not None and query is None:
        h.expect_eq(msg.get("nick"), nick, "welcome nick")
    return c, msg


def expect_type(c, type_, timeout=5.0):
    msg = c.recv_json(timeout)
    h.expect(isinstance(msg, dict) and msg.get("type") == type_,
             "expected a %r frame, got %r" % (type_, msg))
    return msg


def expect_message(c, nick, text, timeout=5.0):
    msg = expect_type(c, "message", timeout)
    h.expect_eq(sorted(msg), ["from", "text", "ts", "type"], "message keys")
    h.expect_eq(msg["from"], nick, "message from")
    h.expect_eq(msg["text"], text, "message text")
    ts = msg["ts"]
    h.expect(isinstance(ts, int) and not isinstance(ts, bool)
             and abs(ts - time.time() * 1000) < 300000,
             "ts is not a recent time in ms: %r" % (ts,))
    return msg


def expect_error(c, payload, binary=False):
    if binary:
        c.send_binary(payload)
    else:
        c.send_text(payload)
    msg = expect_type(c, "error")
    h.expect(isinstance(msg.get("message"), str) and msg["message"],
             "error without a message: %r" % (msg,))
    return msg


def say(c, text):
    c.send_json({"type": "say", "text": text})


@h.test("rooms are isolated: a message stays in its room")
def test_rooms_isolated():
    g = gw()
    r1, r2 = room_name("iso1"), room_name("iso2")
    a, _ = join(g, r1, "alice")
    b, _ = join(g, r2, "bob")
    say(a, "in room one")
    expect_message(a, "alice", "in room one")
    b.expect_silence(0.5)
    say(b, "in room two")
    expect_message(b, "bob", "in room two")
    a.expect_silence(0.5)
    # A newcomer of room two sees room two's history only.
    c, welcome = join(g, r2, "carol")
    h.expect_eq([m["text"] for m in welcome["history"]], ["in room two"],
                "history of room two")
    expect_type(b, "join")
    a.expect_silence(0.3)


@h.test("join and leave are announced to the others, not to the newcomer")
def test_join_leave():
    g = gw()
    room = room_name("jl")
    a, _ = join(g, room, "alice")
    b, _ = join(g, room, "bob")
    h.expect_eq(expect_type(a, "join"), {"type": "join", "nick": "bob"},
                "join notice")
    b.expect_silence(0.5)           # no join notice about itself
    c, _ = join(g, room, "carol")
    for x in (a, b):
        h.expect_eq(expect_type(x, "join"),
                    {"type": "join", "nick": "carol"}, "join notice")
    c.expect_silence(0.3)
    b.close()
    for x in (a, c):
        h.expect_eq(expect_type(x, "leave"),
                    {"type": "leave", "nick": "bob"}, "leave notice")
    # A dropped connection (no close frame) is announced too.
    c.drop()
    h.expect_eq(expect_type(a, "leave"), {"type": "leave", "nick": "carol"},
                "leave notice after a drop")
    a.expect_silence(0.3)


@h.test("a message reaches everyone in the room, the sender too, once each")
def test_broadcast_once():
    g = gw()
    room = room_name("bc")
    nicks = ["alice", "bob", "carol", "dave"]
    clients = []
    for n in nicks:
        c, _ = join(g, room, n)
        for other in clients:
            expect_type(other, "join")
        clients.append(c)
    say(clients[1], "hello, room")
    stamps = set()
    for c in clients:
        stamps.add(expect_message(c, "bob", "hello, room")["ts"])
    h.expect_eq(len(stamps), 1, "one message (one ts) for everybody")
    for c in clients:
        c.expect_silence(0.4)       # exactly once
    # Unicode and JSON specials travel unchanged.
    text = "caf\u00e9 \u2603 \"quoted\" \\ <b>not html</b>"
    say(clients[3], text)
    for c in clients:
        expect_message(c, "dave", text)


@h.test("a newcomer gets the last 50 of 60 messages, oldest first",
        timeout=120)
def test_history():
    g = gw()
    room = room_name("hist")
    a, welcome = join(g, room, "alice")
    h.expect_eq(welcome["history"], [], "history of a new room")
    for i in range(60):
        say(a, "message %d" % i)
        expect_message(a, "alice", "message %d" % i)
    b, welcome = join(g, room, "bob")
    hist = welcome["history"]
    h.expect_eq(len(hist), HISTORY, "history length")
    h.expect_eq([m.get("text") for m in hist],
                ["message %d" % i for i in range(10, 60)],
                "history texts, in order")
    for m in hist:
        h.expect_eq(m.get("type"), "message", "history item type")
        h.expect_eq(m.get("from"), "alice", "history item from")
    ts = [m["ts"] for m in hist]
    h.expect_eq(ts, sorted(ts), "history timestamps in order")
    expect_type(a, "join")
    # The history keeps moving: one more message drops the oldest.
    say(b, "message 60")
    expect_message(a, "bob", "message 60")
    expect_message(b, "bob", "message 60")
    c, welcome = join(g, room, "carol")
    h.expect_eq([m["text"] for m in welcome["history"]],
                ["message %d" % i for i in range(11, 61)],
                "history after one more message")


@h.test("history survives a gateway restart and hibernation", timeout=90)
def test_history_restart():
    g = chat_gateway(args=["--handlers", "0:1", "--idle-timeout", "1"])
    room = room_name("keep")
    a, _ = join(g, room, "alice")
    for i in range(3):
        say(a, "kept %d" % i)
        expect_message(a, "alice", "kept %d" % i)
    a.close()
    # The pool drops to zero; the next join starts a handler again.
    h.wait_until(lambda: not g.children(), 15, what="pool at 0 processes")
    b, welcome = join(g, room, "bob")
    h.expect_eq([m["text"] for m in welcome["history"]],
                ["kept 0", "kept 1", "kept 2"], "history after hibernation")
    b.close()
    g.restart()
    c, welcome = join(g, room, "carol")
    h.expect_eq([m["text"] for m in welcome["history"]],
                ["kept 0", "kept 1", "kept 2"], "history after a restart")


@h.test("a newcomer gets nothing before its welcome, and no message twice",
        timeout=90)
def test_join_during_traffic():
    g = gw()
    for attempt in range(5):
        room = room_name("race")
        a, _ = join(g, room, "alice")
        n = 40
        for i in range(n):
            say(a, "burst %d" % i)
        # Connects while alice's messages are still queued for the room.
        b = g.ws("/rooms/%s?nick=bob" % room)
        first = b.recv_json(timeout=10)
        h.expect_eq(first.get("type"), "welcome",
                    "first frame of a newcomer (attempt %d)" % attempt)
        seen = [m["text"] for m in first["history"]]
        for _ in range(n - len(seen)):
            seen.append(expect_type(b, "message")["text"])
        h.expect_eq(seen, ["burst %d" % i for i in range(n)],
                    "history then live messages, each once, in order")
        b.expect_silence(0.3)
        # alice hears bob join somewhere in her own burst, once.
        got = [a.recv_json() for _ in range(n + 1)]
        h.expect_eq([m for m in got if m.get("type") == "join"],
                    [{"type": "join", "nick": "bob"}], "join notices")
        h.expect_eq([m.get("text") for m in got if m.get("type") != "join"],
                    ["burst %d" % i for i in range(n)], "alice's burst")
        a.expect_silence(0.2)
        a.close()
        b.close()


@h.test("/who lists the room's nicknames to the sender only")
def test_who():
    g = gw()
    room = room_name("who")
    a, _ = join(g, room, "carol")
    b, _ = join(g, room, "alice")
    expect_type(a, "join")
    c, _ = join(g, room, query="nick=no%20spaces")
    guest = None
    for x in (a, b):
        guest = expect_type(x, "join")["nick"]
    h.expect(GUEST_RE.match(guest), "fallback nick: %r" % guest)
    want = sorted(["carol", "alice", guest])
    for cmd in ("/who", " /who\n", '{"type":"who"}'):
        b.send_text(cmd)
        msg = expect_type(b, "who")
        h.expect_eq(msg, {"type": "who", "nicks": want}, "who after %r" % cmd)
    say(b, "/who")
    h.expect_eq(expect_type(b, "who")["nicks"], want, "who through say")
    a.expect_silence(0.3)           # nobody else hears it
    c.expect_silence(0.1)
    c.close()
    expect_type(a, "leave")
    expect_type(b, "leave")
    b.send_text("/who")
    h.expect_eq(expect_type(b, "who")["nicks"], ["alice", "carol"],
                "who after a leave")


@h.test("a missing or bad nickname falls back to guest-XXXX")
def test_bad_nick():
    g = gw()
    room = room_name("nick")
    bad = [None, "", "nick=", "nick=" + "x" * 33, "nick=a%20b",
           "nick=a+b", "nick=%C3%A9", "nick=a.b", "nick=a:b",
           "nick=%3Cb%3E"]
    # Not here: "nick=%00x" and "nick=%4" never reach the handler
    # (libwebsockets drops or refuses the request), and "nick=a,b" reads
    # as "a" while the gateway joins query parameters with ','.
    for q in bad:
        c, welcome = join(g, room, query=q)
        h.expect(GUEST_RE.match(welcome.get("nick") or ""),
                 "query %r: nick %r is not guest-XXXX"
                 % (q, welcome.get("nick")))
        say(c, "hi")
        # Only c is in the room now: the others closed before.
        h.expect_eq(expect_type(c, "message")["from"], welcome["nick"],
                    "from of a guest's message")
        c.close()
    good = [("nick=" + "x" * 32, "x" * 32), ("nick=A-b_9", "A-b_9"),
            ("a=1&nick=zed&nick=other", "zed"), ("nick=%41bc", "Abc")]
    for q, want in good:
        c, welcome = join(g, room, query=q)
        h.expect_eq(welcome["nick"], want, "nick from %r" % q)
        c.close()


@h.test("invalid input gets an error frame; the connection stays usable")
def test_invalid_input():
    g = gw()
    room = room_name("bad")
    a, _ = join(g, room, "alice")
    b, _ = join(g, room, "bob")
    expect_type(a, "join")
    for payload in ("not json", "{", '{"type":"say","text":"x"} trailing',
                    "[1,2]", "42", '"say"', "{}", '{"type":42}',
                    '{"type":"shout","text":"x"}', '{"type":"say"}',
                    '{"type":"say","text":""}', '{"type":"say","text":7}',
                    '{"type":"say","text":"%s"}' % ("y" * 2001), ""):
        expect_error(b, payload)
    expect_error(b, b'{"type":"who"}', binary=True)
    a.expect_silence(0.3)           # errors go to the sender only
    say(b, "still here")
    expect_message(a, "bob", "still here")
    expect_message(b, "bob", "still here")
    say(b, "z" * 2000)
    expect_message(b, "bob", "z" * 2000)


@h.test("bad room names get HTTP 400 before the upgrade")
def test_bad_room():
    g = gw()
    for path in ("/rooms/" + "r" * 129, "/rooms/" + "r" * 300, "/rooms/",
                 "/rooms/a/b", "/rooms/a%20b"):
        r = g.http("GET", path, h.ws_handshake_headers())
        h.expect_eq(r.status, 400, "status for %s" % path[:40])
    # libwebsockets folds dot segments before routing ("/rooms/.." is
    # "/"), so these are refused as another path; never upgraded.
    for path in ("/rooms/..", "/rooms/."):
        r = g.http("GET", path, h.ws_handshake_headers())
        h.expect(r.status in (400, 404), "status for %s: %d"
                 % (path, r.status))
    # The longest valid name (128 bytes, --max-object-name) is a room.
    name = "r" * 128
    r = g.http("GET", "/rooms/" + name, h.ws_handshake_headers())
    h.expect_eq(r.status, 101, "status for a 128-byte room name")
    c, welcome = join(g, name, "alice")
    h.expect_eq(welcome["nick"], "alice", "nick in the longest room")


if __name__ == "__main__":
    h.run()
