#!/usr/bin/python3
"""
test_php: the reference app written for PHP-FPM (examples/php/pingpong.php)
behind the real gateway in external mode (--handler-addr unix:SOCK).

Each test starts Debian's php-fpm in the foreground with the example's own
configuration, examples/php/php-fpm.conf, unchanged: its prefix (-p), hence
its socket, pid file and log, in the test's temporary directory; the app's
timings come from php-fpm's environment (the pool's env[...] lines). Then a
gateway with --route /websocket=test-room --handler-addr unix:SOCK, and the
reference app's protocol through both. php-fpm (master and workers) is
stopped by PID, before the gateway: the harness kills leftover children of
the test as handlers that outlived their gateway, and php-fpm is one.

php-fpm finds the script to run only in the FastCGI param SCRIPT_FILENAME
(it answers 404 "Primary script unknown" without it), which the gateway
sends with --handler-param SCRIPT_FILENAME=PATH.

Skipped where php-fpm is not installed (Debian php8.2-fpm, in
scripts/install-deps.sh).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

# realpath: php-fpm finds no script behind a path with ".." (VPATH builds)
EXAMPLE_DIR = os.path.realpath(os.path.join(h.SRCDIR, "examples", "php"))
SCRIPT = os.path.join(EXAMPLE_DIR, "pingpong.php")
CONF = os.path.join(EXAMPLE_DIR, "php-fpm.conf")
FAST = {"CONNECTION_TIMEOUT_MS": "1500", "ALARM_INTERVAL_MS": "500",
        "HEARTBEAT_INTERVAL_MS": "300"}


SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin",
                             "/usr/local/sbin"])


def php_fpm_binary():
    """php-fpm8.2 (Debian 12), else another php-fpmX.Y, else php-fpm."""
    names = ["php-fpm8.2"]
    for d in SBIN_PATH.split(os.pathsep):
        try:
            names += sorted((n for n in os.listdir(d)
                             if re.match(r"^php-fpm\d+\.\d+$", n)),
                            reverse=True)
        except OSError:
            pass
    for name in names + ["php-fpm"]:
        found = shutil.which(name, path=SBIN_PATH)
        if found:
            return found
    h.skip("php-fpm is not installed (Debian package php8.2-fpm; "
           "scripts/install-deps.sh installs it)")


# --- php-fpm ---------------------------------------------------------------

class PhpFpm(h.Daemon):
    """
    php-fpm -F -y examples/php/php-fpm.conf -p PREFIX (plus -R as root,
    whose workers then stay root and can read the gateway's 0700 store).
    env: the app's settings, put into php-fpm's environment. Stopped by
    PID: SIGTERM to the master, then SIGKILL to whatever is left.
    """

    START_TIMEOUT = 15.0
    LOG_FILES = ("stderr", "php-fpm.log")

    def __init__(self, env=None):
        self.binary = php_fpm_binary()
        h.expect(os.path.isfile(CONF), "example config missing: %s" % CONF)
        h.expect(os.path.isfile(SCRIPT), "example script missing: %s"
                 % SCRIPT)
        h.Daemon.__init__(self, "php")
        self.sock = os.path.join(self.prefix, "php.sock")
        self.log = os.path.join(self.prefix, "php-fpm.log")
        environ = dict(os.environ)
        for k in h.APP_ENV:
            environ.pop(k, None)
        environ.update({k: str(v) for k, v in (env or {}).items()})
        argv = [self.binary, "-F", "-y", CONF, "-p", self.prefix]
        if os.geteuid() == 0:
            argv.append("-R")
        with open(os.path.join(self.prefix, "stderr"), "wb") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=out, env=environ,
                                         close_fds=True, cwd=self.prefix)
        try:
            h.wait_until(self._ready, self.START_TIMEOUT,
                         what="php-fpm ready on %s" % self.sock)
        except h.Timeout:
            self.keep = True
            self.stop()
            raise h.GatewayError("php-fpm did not start:\n" + self.log_text())

    def _ready(self):
        if self.proc.poll() is not None:
            raise h.GatewayError("php-fpm exited at start (%s):\n%s" % (
                h.describe_status(self.proc.poll()), self.log_text()))
        return (os.path.exists(self.sock) and
                "ready to handle connections" in self.log_text())


class ExternalGateway(h.Gateway):
    """A gateway with --handler-addr unix:SOCK instead of --handler."""

    def __init__(self, addr, extra_args=(), **kw):
        self.handler_addr = addr
        args = ["--handler-addr", "unix:" + addr] + list(extra_args)
        h.Gateway.__init__(self, args=args, **kw)

    def argv(self, port, run_dir):
        argv = h.Gateway.argv(self, port, run_dir)
        return argv[:argv.index("--handler")]


class PhpApp:
    """
    php-fpm with the example config, the gateway in front of it. Use as a
    context manager: php-fpm is stopped on the way out; the runner stops
    the gateway after the test.
    """

    def __init__(self, env=None, gateway_args=()):
        self.fpm = PhpFpm(env)
        try:
            args = list(gateway_args) + [
                "--handler-param", "SCRIPT_FILENAME=" + SCRIPT]
            self.gw = ExternalGateway(self.fpm.sock, extra_args=args)
        except BaseException:
            self.close()
            raise

    def close(self, failed=False):
        if failed:
            self.fpm.keep = True
            h.comment("--- php-fpm log (%s) ---\n%s" % (
                self.fpm.prefix, self.fpm.log_text()))
        self.fpm.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close(failed=exc_type is not None)
        return False

    def ws(self, **kw):
        return self.gw.ws(**kw)


# --- helpers ---------------------------------------------------------------------

def expect_stamped(msg, kind, cid):
    h.expect_eq(msg.get("type"), kind, "type")
    h.expect_eq(sorted(msg), ["connectionId", "timestamp", "type"],
                "%s keys" % kind)
    ts = msg.get("timestamp")
    h.expect_recent_iso8601(ts)
    h.expect(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", ts or ""),
             "timestamp is not toISOString's form: %r" % (ts,))
    h.expect_eq(msg.get("connectionId"), cid, "connectionId")


def alarm_fired_lines(text, obj=h.ROOM):
    return [line for line in text.splitlines()
            if "alarm fired" in line and "object=%s" % obj in line]


# --- tests -------------------------------------------------------------------------

@h.test("pingpong.php passes php -l (the PHP CLI)")
def test_lint():
    php = shutil.which("php") or shutil.which("php8.2")
    if php is None:
        h.skip("the PHP CLI is not installed (Debian package php8.2-cli)")
    out = subprocess.run([php, "-l", SCRIPT], capture_output=True,
                         timeout=30)
    h.expect(out.returncode == 0, "php -l %s: %s" % (
        SCRIPT, (out.stdout + out.stderr).decode("utf-8", "replace")))


@h.test("welcome: exact shape, UUIDv4 id, heartbeatInterval 20000; "
        "the attachment is set", timeout=60)
def test_welcome():
    with PhpApp() as app:
        with app.ws() as c:
            cid = h.expect_reference_welcome(c.recv_json())
            # An event after the connect: its attachment change is applied.
            c.roundtrip({"type": "ping"})
            recs = h.connection_records(app.gw)
            if recs is None:
                h.comment("mdb_dump not installed: attachment not checked")
                return
            h.expect(cid in recs, "connection %s not in the gateway env: %r"
                     % (cid, list(recs)))
            att = json.loads(recs[cid].get("attachment") or "null")
            h.expect(isinstance(att, dict), "attachment: %r" % (att,))
            h.expect_eq(sorted(att), ["connectedAt", "connectionId",
                                      "lastPing"], "attachment keys")
            h.expect_eq(att["connectionId"], cid, "attachment connectionId")
            now = time.time() * 1000
            for k in ("connectedAt", "lastPing"):
                h.expect(isinstance(att[k], int) and
                         abs(att[k] - now) < 60000,
                         "attachment %s is not a recent ms time: %r"
                         % (k, att[k]))
            h.expect(att["lastPing"] >= att["connectedAt"],
                     "lastPing before connectedAt: %r" % (att,))


@h.test("ping -> pong, heartbeat -> heartbeat_ack; extra fields ignored",
        timeout=60)
def test_ping_heartbeat():
    with PhpApp() as app:
        with app.ws() as c:
            cid = h.welcome(c)
            expect_stamped(c.roundtrip({"type": "ping"}), "pong", cid)
            expect_stamped(c.roundtrip({"type": "heartbeat"}),
                           "heartbeat_ack", cid)
            expect_stamped(c.roundtrip({"type": "ping", "extra": 1,
                                        "nested": {"a": [1]}}), "pong", cid)
            expect_stamped(c.roundtrip({"type": "heartbeat", "x": None}),
                           "heartbeat_ack", cid)
            h.expect_reference_echo(c.roundtrip({"type": "something-else",
                                     "message": "x"}), "x", cid)


@h.test("echo: message field, connections = the object's open sockets",
        timeout=60)
def test_echo_counts():
    with PhpApp() as app:
        a = app.ws()
        cid = h.welcome(a)

        def count():
            return h.expect_reference_echo(a.roundtrip({"message": "count"}), "count",
                               cid)

        h.expect_eq(count(), 1, "connections with one client")
        b = app.ws()
        h.welcome(b)
        c = app.ws()
        h.welcome(c)
        h.expect_eq(count(), 3, "connections with three clients")
        b.close()
        h.wait_until(lambda: count() == 2, 10,
                     what="count drops to 2 after a clean close")
        c.drop()
        h.wait_until(lambda: count() == 1, 10,
                     what="count drops to 1 after a dropped connection")


@h.test("raw text echoed when there is no usable message field", timeout=60)
def test_raw_echo():
    cases = [
        ("non-JSON text", "hello, world"),
        ("JSON array", "[1,2,3]"),
        ("JSON number", "42"),
        ("JSON without message", '{"foo":"bar","n":1}'),
        ("empty message", '{"message":""}'),
        ("non-string message", '{"message":5}'),
        ("JSON string", '"just a string"'),
        ("trailing garbage", '{"type":"ping"} x'),
        ("unicode text", "h\u00e9llo \u2603 \U0001F600"),
        ("slashes and controls", "a/b\\c\t\"q\"\u2028"),
    ]
    with PhpApp() as app:
        with app.ws() as c:
            cid = h.welcome(c)
            for what, text in cases:
                c.send_text(text)
                msg = c.recv_json()
                try:
                    h.expect_reference_echo(msg, text, cid)
                except AssertionError as e:
                    raise AssertionError("%s %r: %s" % (what, text, e))


@h.test("binary frames are decoded as UTF-8 (TextDecoder); replies are text",
        timeout=60)
def test_binary():
    with PhpApp() as app:
        with app.ws() as c:
            cid = h.welcome(c)
            c.send_binary(b'{"type":"ping"}')
            kind, data = c.recv()
            h.expect_eq(kind, "text", "reply frame type to a binary ping")
            expect_stamped(json.loads(data), "pong", cid)
            text = "h\u00e9llo \u2603"
            c.send_binary(('{"message":"%s"}' % text).encode("utf-8"))
            kind, data = c.recv()
            h.expect_eq(kind, "text", "reply frame type to a binary message")
            h.expect_reference_echo(json.loads(data), text, cid)
            # A BOM is dropped; each invalid sequence becomes one U+FFFD.
            cases = [
                (b"\xef\xbb\xbfbom", "bom"),
                (b"a\xffb", "a\ufffdb"),
                (b"a\xe2\x82b", "a\ufffdb"),
                (b"\xf0\x9f\x98", "\ufffd"),
                (b"\xed\xa0\x80", "\ufffd\ufffd\ufffd"),
            ]
            for raw, want in cases:
                c.send_binary(raw)
                kind, data = c.recv()
                h.expect_eq(kind, "text", "reply frame type")
                try:
                    h.expect_reference_echo(json.loads(data), want, cid)
                except AssertionError as e:
                    raise AssertionError("binary %r: %s" % (raw, e))


@h.test("100 back-to-back messages in order; a 900 KiB message intact",
        timeout=90)
def test_order_and_size():
    n = 100
    with PhpApp() as app:
        with app.ws() as c:
            cid = h.welcome(c)
            for i in range(n):
                c.send_json({"message": "seq-%d" % i})
            for i in range(n):
                try:
                    h.expect_reference_echo(c.recv_json(timeout=15), "seq-%d" % i, cid)
                except AssertionError as e:
                    raise AssertionError("reply %d of %d: %s" % (i, n, e))
            text = "big:" + "0123456789abcdef" * (900 * 64)
            c.send_text(text)
            msg = c.recv_json(timeout=30)
            h.expect_eq(msg.get("type"), "echo", "type")
            h.expect(msg.get("message") == text,
                     "the 900 KiB message came back different (%r chars)"
                     % len(msg.get("message") or ""))


@h.test("alarm: a silent client is closed (1000, \"Connection timeout\"), "
        "a heartbeating one stays open; the alarm stops with the last "
        "socket", timeout=90)
def test_stale_close():
    with PhpApp(env=FAST) as app:
        active = app.ws()
        t0 = time.monotonic()
        silent = app.ws()
        msg = active.recv_json()
        h.expect_eq(msg.get("type"), "welcome", "first frame")
        h.expect_eq(msg.get("heartbeatInterval"), 300,
                    "heartbeatInterval (php-fpm's env[] reaches the script)")
        acid = msg.get("connectionId")
        h.welcome(silent)
        close = closed_at = None
        for _ in range(100):
            now = time.monotonic()
            if now >= t0 + 6.0 or (now >= t0 + 5.0 and close is not None):
                break
            ack = active.roundtrip({"type": "heartbeat"}, timeout=3)
            expect_stamped(ack, "heartbeat_ack", acid)
            if close is None:
                try:
                    silent.expect_silence(0.3)
                except h.Closed as e:
                    close = (e.code, e.reason)
                    closed_at = time.monotonic() - t0
            else:
                time.sleep(0.3)
        h.expect(close is not None, "silent client not closed within 6 s\n"
                 + app.gw.log_tail())
        h.expect_eq(close, (1000, "Connection timeout"), "silent client's close")
        h.expect(closed_at >= 1.4, "silent client closed too early (%.2f s, "
                 "timeout 1.5 s)" % closed_at)
        expect_stamped(active.roundtrip({"type": "ping"}), "pong", acid)
        h.expect(alarm_fired_lines(app.gw.log_text()),
                 "no 'alarm fired' line in the gateway log")
        # The last socket goes: the next alarm finds none and clears itself.
        active.close()
        time.sleep(1.5)
        before = len(alarm_fired_lines(app.gw.log_text()))
        time.sleep(1.5)
        after = len(alarm_fired_lines(app.gw.log_text()))
        h.expect_eq(after, before, "alarms fired with no socket left "
                    "(the alarm should have been cleared)")


@h.test("a failing script (bad setting) fails the event: close 1011",
        timeout=60)
def test_failure():
    with PhpApp(env={"HEARTBEAT_INTERVAL_MS": "soon"}) as app:
        c = app.ws()
        code, _ = c.expect_close(timeout=10)
        h.expect_eq(code, 1011, "close code after a failed connect")
        h.wait_until(lambda: "HEARTBEAT_INTERVAL_MS" in app.gw.log_text(),
                     5, what="the script's error in the gateway log")


@h.test("scale to zero: php-fpm has no worker while idle, the socket stays "
        "open, the next message is answered", timeout=90)
def test_scale_to_zero():
    # The gateway closes FastCGI connections idle for 1 s; php-fpm's
    # ondemand pool (the example's process_idle_timeout, 10 s) then lets
    # the freed workers go.
    with PhpApp(gateway_args=["--idle-timeout", "1"]) as app:
        with app.ws() as c:
            cid = h.welcome(c)
            expect_stamped(c.roundtrip({"type": "ping"}), "pong", cid)
            h.expect(app.fpm.workers(), "no php-fpm worker after a request")
            h.wait_until(lambda: not app.fpm.workers(), 30, interval=0.25,
                         what="php-fpm down to zero workers")
            expect_stamped(c.roundtrip({"type": "ping"}, timeout=10),
                           "pong", cid)
            h.expect(app.fpm.workers(), "no php-fpm worker after waking up")


if __name__ == "__main__":
    h.run()
