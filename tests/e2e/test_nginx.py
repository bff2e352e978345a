#!/usr/bin/python3
"""
test_nginx: the gateway behind Debian's nginx, configured with
examples/nginx/torpor.conf itself (not a copy): the test only rewrites the
example's `listen 80` lines to a private loopback port and its upstream to
the gateway under test (TCP, or the commented unix-socket line). nginx
runs in the foreground with its own prefix, logs and temporary paths, is
checked to serve the reference app's page and protocol, and the handler
must see the client's address as REMOTE_ADDR: the client connects from
127.0.0.2, nginx from 127.0.0.1, and the gateway trusts 127.0.0.1
(--trust-proxy). Directly, X-Forwarded-For / X-Real-IP from a peer that
is not trusted must be ignored.

nginx and the gateways are stopped by PID. Skipped where nginx is not
installed (Debian package nginx, in scripts/install-deps.sh).
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

EXAMPLE = os.path.join(h.SRCDIR, "examples", "nginx", "torpor.conf")
TESTHANDLER = os.path.join(h.TESTPROGS, "testhandler-v1")
CLIENT_ADDR = "127.0.0.2"       # the client; nginx talks from 127.0.0.1
FORGED = "203.0.113.7"          # what a client claims to be (TEST-NET-3)


def nginx_binary():
    path = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(path, os.X_OK):
        h.skip("nginx is not installed (Debian package nginx; "
               "scripts/install-deps.sh installs it)")
    return path


def rewrite(text, old, new, what):
    """Replaces the one line equal to `old` (indentation kept) by `new`."""
    pat = re.compile(r"^([ \t]*)" + re.escape(old) + r"[ \t]*$", re.M)
    found = pat.findall(text)
    h.expect(len(found) == 1,
             "%s: expected exactly one line '%s' in %s, found %d; the test "
             "rewrites that line" % (what, old, EXAMPLE, len(found)))
    return pat.sub(lambda m: m.group(1) + new if new else "", text)


def example_config(port, upstream):
    """
    examples/nginx/torpor.conf for this run: listening on 127.0.0.1:port,
    proxying to upstream, ("tcp", PORT) or ("unix", PATH).
    """
    with open(EXAMPLE) as f:
        text = f.read()
    text = rewrite(text, "listen 80;", "listen %s:%d;" % (h.HOST, port),
                   "listen")
    text = rewrite(text, "listen [::]:80;", "", "listen (IPv6)")
    if upstream[0] == "tcp":
        text = rewrite(text, "server 127.0.0.1:8788;",
                       "server %s:%d;" % (h.HOST, upstream[1]), "upstream")
    else:
        text = rewrite(text, "server 127.0.0.1:8788;",
                       "# (TCP upstream left out by the test)", "upstream")
        text = rewrite(text, "# server unix:/run/torpor/torpor.sock;",
                       "server unix:%s;" % upstream[1], "unix upstream")
    return text


class Nginx(h.Daemon):
    """
    nginx -p PREFIX -c PREFIX/nginx.conf in the foreground, one worker,
    the example included in http {}. Stopped by PID (SIGTERM, then
    SIGKILL), its workers too.
    """

    START_TIMEOUT = 10.0
    LOG_FILES = ("stderr", "error.log")

    def __init__(self, upstream):
        self.binary = nginx_binary()
        h.Daemon.__init__(self, "nginx")
        os.mkdir(os.path.join(self.prefix, "tmp"))
        self.conf = os.path.join(self.prefix, "nginx.conf")
        self.log = os.path.join(self.prefix, "error.log")
        last = None
        for _ in range(3):
            self.port = h.free_port()
            self.write_conf(upstream)
            try:
                self.start()
                return
            except h.GatewayError as e:
                last = e
                self.stop()
                if "in use" not in self.log_text():
                    break
        self.keep = True
        raise last

    def write_conf(self, upstream):
        p = self.prefix
        with open(os.path.join(p, "torpor.conf"), "w") as f:
            f.write(example_config(self.port, upstream))
        temp = "".join("    %s_temp_path %s/tmp/%s;\n" % (k, p, k)
                       for k in ("client_body", "proxy", "fastcgi",
                                 "uwsgi", "scgi"))
        with open(self.conf, "w") as f:
            # As root, nginx's workers would run as nobody, who cannot
            # enter the tests' 0700 directories.
            if os.geteuid() == 0:
                f.write("user root;\n")
            f.write("worker_processes 1;\n"
                    "events { worker_connections 256; }\n"
                    "http {\n"
                    "    access_log %s/access.log;\n%s"
                    "    include %s/torpor.conf;\n"
                    "}\n" % (p, temp, p))

    def start(self):
        argv = [self.binary, "-p", self.prefix + "/", "-c", self.conf,
                "-e", self.log,
                "-g", "daemon off; pid %s/nginx.pid;" % self.prefix]
        with open(os.path.join(self.prefix, "stderr"), "wb") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=out,
                                         close_fds=True)
        deadline = time.monotonic() + self.START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise h.GatewayError("nginx exited at start (%s):\n%s"
                                     % (h.describe_status(self.proc.poll()),
                                        self.log_text()))
            try:
                socket.create_connection((h.HOST, self.port), 0.5).close()
                self.workers()
                return
            except OSError:
                time.sleep(0.05)
        raise h.GatewayError("nginx did not accept connections on %s:%d "
                             "within %.0f s:\n%s" % (
                                 h.HOST, self.port, self.START_TIMEOUT,
                                 self.log_text()))

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.keep = True
            h.comment("--- nginx log ---\n" + self.log_text())
        self.cleanup()
        return False

    @property
    def ws_url(self):
        return "ws://%s:%d" % (h.HOST, self.port)


class SourceClient(h.Client):
    """
    A harness client whose TCP connection comes from `source`, so that the
    client's address differs from nginx's (127.0.0.1).
    """

    def __init__(self, port, path="/websocket", source=CLIENT_ADDR,
                 header=None, timeout=10.0):
        self.url = "ws://%s:%d%s" % (h.HOST, port, path)
        self.closed = None
        self.dropped = False
        sock = socket.create_connection((h.HOST, port), timeout=timeout,
                                        source_address=(source, 0))
        try:
            self.ws = h.websocket.create_connection(
                self.url, timeout=timeout, skip_utf8_validation=True,
                socket=sock, header=list(header or []))
        except Exception as e:
            sock.close()
            raise AssertionError("cannot open WebSocket %s from %s: %s: %s"
                                 % (self.url, source, type(e).__name__, e))


def forged_headers():
    return ["X-Forwarded-For: %s" % FORGED, "X-Real-IP: %s" % FORGED]


def remote_of(client):
    """Asks the test handler for the REMOTE_ADDR it was given."""
    client.send_text("remote")
    reply = client.recv_text()
    h.expect(reply.startswith("remote="),
             "unexpected reply to 'remote': %r (the test handler answers "
             "remote=ADDR)" % reply)
    return reply[len("remote="):]


def testhandler_gateway(args=()):
    h.expect(os.access(TESTHANDLER, os.X_OK),
             "test handler not built: %s" % TESTHANDLER)
    return h.Gateway(handler=[TESTHANDLER], args=list(args))


class UnixGateway(h.Gateway):
    """A gateway listening on a unix socket (--listen unix:PATH) only."""

    def argv(self, port, run_dir):
        self.sock_path = os.path.join(self.root, "gw.sock")
        argv = h.Gateway.argv(self, port, run_dir)
        i = argv.index("--listen")
        argv[i + 1] = "unix:" + self.sock_path
        return argv

    def _wait_ready(self):
        deadline = time.monotonic() + self.START_TIMEOUT
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise h.GatewayError("gateway exited during start-up (%s)\n%s"
                                     % (h.describe_status(rc),
                                        self.log_tail()))
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.sock_path)
                return
            except OSError:
                time.sleep(0.05)
            finally:
                s.close()
        raise h.GatewayError("gateway did not accept connections on %s "
                             "within %.0f s\n%s" % (
                                 self.sock_path, self.START_TIMEOUT,
                                 self.log_tail()))


def pingpong_protocol(url_base):
    """welcome, ping/pong, heartbeat, echo (JSON and plain text)."""
    with h.Client(url_base + "/websocket") as c:
        cid = h.welcome(c)
        h.expect_uuid4(cid)
        msg = c.roundtrip({"type": "ping"})
        h.expect_eq(msg.get("type"), "pong", "type")
        h.expect_recent_iso8601(msg.get("timestamp"))
        h.expect_eq(msg.get("connectionId"), cid, "connectionId")
        msg = c.roundtrip({"type": "heartbeat"})
        h.expect_eq(msg.get("type"), "heartbeat_ack", "type")
        msg = c.roundtrip({"type": "chat", "message": "through nginx"})
        h.expect_eq(msg.get("type"), "echo", "type")
        h.expect_eq(msg.get("message"), "through nginx", "echo message")
        h.expect_eq(msg.get("connectionId"), cid, "connectionId")
        h.expect(isinstance(msg.get("connections"), int)
                 and msg["connections"] >= 1,
                 "connections: %r" % (msg.get("connections"),))
        c.send_text("plain text")
        msg = c.recv_json()
        h.expect_eq(msg.get("message"), "plain text", "echo of plain text")
        # A larger frame, in both directions.
        big = "x" * 100000
        msg = c.roundtrip({"message": big}, timeout=10.0)
        h.expect_eq(msg.get("message"), big, "echo of 100 kB")


@h.test("nginx (example config, TCP upstream): the web client at /, "
        "426 for a plain GET /websocket", timeout=60)
def test_http_through_nginx():
    nginx_binary()
    gw = h.Gateway()
    with Nginx(("tcp", gw.port)) as ngx:
        r = h.http_request(ngx.port, "GET", "/")
        h.expect_eq(r.status, 200, "GET / status")
        h.expect("text/html" in (r.header("Content-Type") or ""),
                 "GET / Content-Type: %r" % r.header("Content-Type"))
        direct = gw.http("GET", "/")
        h.expect_eq(r.body, direct.body, "page through nginx vs direct")
        r = h.http_request(ngx.port, "GET", "/websocket",
                           [("Connection", "close")])
        h.expect_eq(r.status, 426, "plain GET /websocket status")


@h.test("nginx (example config, TCP upstream): the reference app's "
        "protocol", timeout=60)
def test_pingpong_through_nginx():
    nginx_binary()
    gw = h.Gateway()
    with Nginx(("tcp", gw.port)) as ngx:
        pingpong_protocol(ngx.ws_url)


@h.test("nginx + --trust-proxy 127.0.0.1: REMOTE_ADDR is the client's "
        "(127.0.0.2), not nginx's, not a forged header", timeout=60)
def test_remote_addr_through_nginx():
    nginx_binary()
    gw = testhandler_gateway(["--trust-proxy", "127.0.0.1"])
    with Nginx(("tcp", gw.port)) as ngx:
        with SourceClient(ngx.port) as c:
            h.expect_eq(remote_of(c), CLIENT_ADDR, "REMOTE_ADDR via nginx")
        # nginx (the example) replaces what the client claims.
        with SourceClient(ngx.port, header=forged_headers()) as c:
            h.expect_eq(remote_of(c), CLIENT_ADDR,
                        "REMOTE_ADDR via nginx, client sent X-Forwarded-For "
                        "and X-Real-IP %s" % FORGED)


@h.test("no --trust-proxy: a forged X-Forwarded-For / X-Real-IP is "
        "ignored, REMOTE_ADDR is the peer", timeout=30)
def test_forged_direct_untrusted():
    gw = testhandler_gateway()
    with SourceClient(gw.port) as c:
        h.expect_eq(remote_of(c), CLIENT_ADDR, "REMOTE_ADDR, no headers")
    with SourceClient(gw.port, header=forged_headers()) as c:
        h.expect_eq(remote_of(c), CLIENT_ADDR, "REMOTE_ADDR, forged headers")
    with SourceClient(gw.port, source=h.HOST,
                      header=forged_headers()) as c:
        h.expect_eq(remote_of(c), h.HOST,
                    "REMOTE_ADDR, forged headers from 127.0.0.1")


@h.test("--trust-proxy 127.0.0.1: headers believed from 127.0.0.1 only",
        timeout=30)
def test_trust_only_the_proxy():
    gw = testhandler_gateway(["--trust-proxy", "127.0.0.1"])
    with SourceClient(gw.port, header=forged_headers()) as c:
        h.expect_eq(remote_of(c), CLIENT_ADDR,
                    "REMOTE_ADDR, forged headers from an untrusted peer")
    with SourceClient(gw.port, source=h.HOST,
                      header=["X-Real-IP: 198.51.100.4"]) as c:
        h.expect_eq(remote_of(c), "198.51.100.4",
                    "REMOTE_ADDR from a trusted peer's X-Real-IP")
    with SourceClient(gw.port, source=h.HOST,
                      header=["X-Forwarded-For: %s, 198.51.100.5"
                              % FORGED]) as c:
        h.expect_eq(remote_of(c), "198.51.100.5",
                    "REMOTE_ADDR from a trusted peer's X-Forwarded-For "
                    "(the last entry, the one the proxy added)")


@h.test("nginx (example config, unix-socket upstream) + --listen unix: "
        "--trust-proxy unix: protocol and REMOTE_ADDR", timeout=60)
def test_unix_upstream():
    nginx_binary()
    gw = UnixGateway(args=["--trust-proxy", "unix"])
    with Nginx(("unix", gw.sock_path)) as ngx:
        pingpong_protocol(ngx.ws_url)
    gw.stop()
    h.expect(os.access(TESTHANDLER, os.X_OK),
             "test handler not built: %s" % TESTHANDLER)
    gw = UnixGateway(handler=[TESTHANDLER], args=["--trust-proxy", "unix"])
    with Nginx(("unix", gw.sock_path)) as ngx:
        with SourceClient(ngx.port, header=forged_headers()) as c:
            h.expect_eq(remote_of(c), CLIENT_ADDR,
                        "REMOTE_ADDR via nginx on a unix socket")
        r = h.http_request(ngx.port, "GET", "/")
        h.expect_eq(r.status, 200, "GET / through the unix socket")


if __name__ == "__main__":
    h.run()
