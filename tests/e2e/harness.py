"""
harness: what the end-to-end tests share.

Each test script starts the real gateway (torpor-gateway) on a private
loopback port with a private run directory and store, drives it with real
WebSocket clients (Debian's python3-websocket) or raw sockets, and prints
TAP for automake's TAP driver. Only the standard library and `websocket`
are used.

- Gateway: starts, waits for the port, reports the log, lists the handler
  processes (children of the gateway, from /proc), stops by PID (SIGTERM,
  then SIGKILL) and kills whatever handler it left behind, restarts on the
  same store.
- Client: a WebSocket client whose every receive has a deadline.
- http_request: one raw HTTP exchange over a socket (handshake tests).
- wait_until: poll a condition with a deadline, never a fixed sleep.
- @test / run(): the TAP runner. One "ok"/"not ok" per test function;
  exceptions become "not ok" with the traceback and the gateway log tail as
  TAP comments; a per-test watchdog (SIGALRM) bounds every test; the script
  exits 0 (the TAP driver does the counting).

Environment (set by AM_TESTS_ENVIRONMENT; defaults for a run from an
in-tree build): TORPOR_GATEWAY, TORPOR_PINGPONG, TORPOR_WWW,
TORPOR_TESTPROGS, TORPOR_SRCDIR. TORPOR_E2E_KEEP=1 keeps the temporary
directories (logs, stores) even when every test passed.
"""

import atexit
import base64
import datetime
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

try:
    import websocket
except ImportError:  # the runner reports every test as skipped
    websocket = None

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("TORPOR_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
GATEWAY = os.environ.get("TORPOR_GATEWAY") or os.path.join(
    SRCDIR, "gateway", "torpor-gateway")
PINGPONG = os.environ.get("TORPOR_PINGPONG") or os.path.join(
    SRCDIR, "examples", "pingpong", "pingpong")
WWW = os.environ.get("TORPOR_WWW") or os.path.join(
    SRCDIR, "examples", "pingpong", "www")
TESTPROGS = os.environ.get("TORPOR_TESTPROGS") or os.path.join(
    SRCDIR, "tests", "progs")

HOST = "127.0.0.1"
ROOM = "test-room"
WELCOME_TEXT = "Connected to Hibernatable WebSocket Server"

# Settings of the reference handler that must not leak in from the
# environment of whoever runs the tests; tests pass them explicitly.
APP_ENV = ("HEARTBEAT_INTERVAL_MS", "CONNECTION_TIMEOUT_MS",
           "ALARM_INTERVAL_MS")

UUID4_RE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ISO8601_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|[+-]\d{2}:\d{2})$")

LOG_TAIL_LINES = 40


class GatewayError(AssertionError):
    """The gateway could not be started, or died."""


class Timeout(AssertionError):
    """A deadline passed."""


class Closed(AssertionError):
    """A close frame arrived where something else was expected."""

    def __init__(self, code, reason):
        AssertionError.__init__(
            self, "connection closed by the server: code %s reason %r"
            % (code, reason))
        self.code = code
        self.reason = reason


class Dropped(AssertionError):
    """The TCP connection ended without a close frame."""


class Skip(Exception):
    """Raised by a test to report itself as skipped."""


class TestTimeout(AssertionError):
    """The per-test watchdog fired."""


# --- small assertion helpers (independent of python -O) ------------------

def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def expect_eq(got, want, what):
    if got != want:
        raise AssertionError("%s: expected %r, got %r" % (what, want, got))


def expect_uuid4(s, what="connectionId"):
    expect(isinstance(s, str) and UUID4_RE.match(s),
           "%s is not a lowercase UUIDv4: %r" % (what, s))


def parse_iso8601(s, what="timestamp"):
    """Returns an aware datetime for an ISO-8601 UTC-or-offset timestamp."""
    m = ISO8601_RE.match(s) if isinstance(s, str) else None
    expect(m, "%s is not ISO-8601: %r" % (what, s))
    frac = (m.group(7) or "0")[:6].ljust(6, "0")
    if m.group(8) == "Z":
        tz = datetime.timezone.utc
    else:
        sign = -1 if m.group(8)[0] == "-" else 1
        hh, mm = m.group(8)[1:].split(":")
        tz = datetime.timezone(sign * datetime.timedelta(
            hours=int(hh), minutes=int(mm)))
    try:
        return datetime.datetime(
            int(m.group(1)), int(m.group(2)), int(m.group(3)),
            int(m.group(4)), int(m.group(5)), int(m.group(6)),
            int(frac), tzinfo=tz)
    except ValueError as e:
        raise AssertionError("%s is not a valid date: %r (%s)" % (what, s, e))


def expect_recent_iso8601(s, what="timestamp", slack=300.0):
    """An ISO-8601 timestamp within `slack` seconds of now."""
    ts = parse_iso8601(s, what)
    now = datetime.datetime.now(datetime.timezone.utc)
    delta = abs((now - ts).total_seconds())
    expect(delta <= slack, "%s %r is %.0f s away from now" % (what, s, delta))
    return ts


# --- waiting ---------------------------------------------------------------

def expect_reference_welcome(msg):
    """
    msg is the reference app's welcome frame, exactly: its four keys, the
    fixed text, a UUIDv4 connection id (returned) and heartbeatInterval
    20000.
    """
    expect(isinstance(msg, dict), "welcome is not an object: %r" % (msg,))
    expect_eq(sorted(msg), sorted(
        ["type", "message", "connectionId", "heartbeatInterval"]),
        "welcome keys")
    expect_eq(msg["type"], "welcome", "type")
    expect_eq(msg["message"], WELCOME_TEXT, "message")
    expect_uuid4(msg["connectionId"])
    expect_eq(msg["heartbeatInterval"], 20000, "heartbeatInterval")
    return msg["connectionId"]


def expect_reference_echo(msg, text, cid=None):
    """
    msg is the reference app's echo of text: type, message, a recent
    timestamp, a positive connections count (returned) and, if given,
    the connection id.
    """
    expect(isinstance(msg, dict), "echo is not an object: %r" % (msg,))
    expect_eq(msg.get("type"), "echo", "type")
    expect_eq(msg.get("message"), text, "echo message")
    expect_recent_iso8601(msg.get("timestamp"))
    n = msg.get("connections")
    expect(isinstance(n, int) and not isinstance(n, bool) and n >= 1,
           "connections is not a positive integer: %r" % (n,))
    if cid is not None:
        expect_eq(msg.get("connectionId"), cid, "connectionId")
    return n


def connection_records(gw):
    """The gateway env's connections DB, {id: record}, via mdb_dump."""
    mdb_dump = shutil.which("mdb_dump")
    if mdb_dump is None:
        return None
    out = subprocess.run(
        [mdb_dump, "-p", "-s", "connections",
         os.path.join(gw.store_dir, "gateway")],
        capture_output=True, timeout=10)
    expect(out.returncode == 0, "mdb_dump failed: %r" % out.stderr[-300:])
    lines = out.stdout.decode("utf-8", "replace").splitlines()
    body = lines[lines.index("HEADER=END") + 1:]
    recs = {}
    for i in range(0, len(body) - 1, 2):
        if body[i] == "DATA=END":
            break
        # -p prints printable bytes as they are and others as \hh; the
        # record is JSON with a backslash written as \5c.
        value = re.sub(r"\\([0-9a-f]{2})",
                       lambda m: chr(int(m.group(1), 16)), body[i + 1][1:])
        rec = json.loads(value)
        recs[rec["id"]] = rec
    return recs


def wait_until(cond, timeout, interval=0.05, what=None):
    """
    Calls cond() until it returns something true and returns that, or
    raises Timeout once `timeout` seconds have passed. Exceptions from cond
    propagate.
    """
    deadline = time.monotonic() + timeout
    max_rounds = int(timeout / max(interval, 0.001)) + 10
    for _ in range(max_rounds):
        value = cond()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(interval, left))
    raise Timeout("%s: not true within %.1f s" % (
        what or getattr(cond, "__name__", "condition"), timeout))


# --- /proc -------------------------------------------------------------------

def proc_stat(pid):
    """(state, ppid, starttime) of a process from /proc, or None if gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return None
    rp = data.rfind(b")")
    fields = data[rp + 2:].split()
    if len(fields) < 20:
        return None
    return fields[0].decode(), int(fields[1]), int(fields[19])


def pid_alive(pid, starttime=None):
    """True if pid runs (not a zombie), and is the same process if starttime."""
    st = proc_stat(pid)
    if st is None or st[0] in ("Z", "X"):
        return False
    return starttime is None or st[2] == starttime


def become_subreaper():
    """
    Makes this process the subreaper of its descendants (Linux prctl), so
    that handler processes that outlive their gateway become our children:
    orphans() can then find them, and they are killed and reaped by PID
    even if the gateway spawned them after the last look at its children.
    """
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_child_subreaper = 36
        return libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


SUBREAPER = become_subreaper()


def orphans():
    """
    {pid: starttime} of the running children of this process that are not a
    gateway it started: descendants of a gateway that outlived it. Zombies
    among them are reaped on the way.
    """
    me = os.getpid()
    gateways = {g.proc.pid for g in _gateways if g.proc is not None}
    out = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit() or int(name) in gateways:
            continue
        pid = int(name)
        st = proc_stat(pid)
        if st is None or st[1] != me:
            continue
        if st[0] in ("Z", "X"):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            continue
        out[pid] = st[2]
    return out


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, 0))
        return s.getsockname()[1]
    finally:
        s.close()


# --- the gateway ---------------------------------------------------------------

_gateways = []          # every Gateway created, for cleanup and log tails


class Gateway:
    """
    A torpor-gateway process on a private loopback port.

    handler: argv of the handler (default: the pingpong example).
    args: more gateway options. env: extra environment (HEARTBEAT_INTERVAL_MS
    and friends are removed from the inherited environment first).
    """

    START_TIMEOUT = 15.0
    STOP_TIMEOUT = 10.0
    START_ATTEMPTS = 3

    def __init__(self, handler=None, args=(), env=None,
                 routes=("/websocket=" + ROOM,), static=WWW,
                 log_level="info", start=True, persistent=False):
        self.handler = list(handler) if handler else [PINGPONG]
        self.args = [str(a) for a in args]
        self.extra_env = dict(env or {})
        self.routes = list(routes)
        self.static = static
        self.log_level = log_level
        self.persistent = persistent   # not stopped by the runner per test
        if start:
            check_gateway_binary()
        self.root = tempfile.mkdtemp(prefix="torpor-e2e-")
        self.store_dir = os.path.join(self.root, "store")
        os.mkdir(self.store_dir, 0o700)
        self.proc = None
        self.port = None
        self.run_dir = None            # of the last start
        self.runs = 0
        self.log_path = None
        self.logs = []                 # one log file per start
        self.exit_status = None        # of the last stop
        self.killed = False            # the last stop needed SIGKILL
        self.leftover = []             # handler PIDs alive after the last stop
        self.keep = False              # keep root (logs) after the run
        self._kids = {}                # pid -> starttime of every child seen
        _gateways.append(self)
        if start:
            self.start()

    # -- properties

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def url(self):
        return "http://%s:%d/" % (HOST, self.port)

    @property
    def ws_url(self):
        return "ws://%s:%d" % (HOST, self.port)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # -- start / stop

    def argv(self, port, run_dir):
        argv = [GATEWAY, "--listen", "%s:%d" % (HOST, port),
                "--run-dir", run_dir, "--store", self.store_dir,
                "--log-level", self.log_level]
        for r in self.routes:
            argv += ["--route", r]
        if self.static:
            argv += ["--static", self.static]
        argv += self.args
        # Last, so that the handler's own arguments cannot be mistaken for
        # gateway options.
        argv += ["--handler"] + self.handler
        return argv

    def environ(self):
        env = dict(os.environ)
        for k in APP_ENV:
            env.pop(k, None)
        env.update({k: str(v) for k, v in self.extra_env.items()})
        return env

    def start(self, reuse_run_dir=False):
        """
        Starts the gateway (again, on the same store); waits until ready.
        Each start gets a new run directory, unless reuse_run_dir (then the
        previous one, with whatever a killed gateway left in it).
        """
        expect(not self.alive(), "gateway already running")
        check_gateway_binary()
        last = None
        for attempt in range(self.START_ATTEMPTS):
            self.runs += 1
            self.port = free_port()
            if reuse_run_dir and self.run_dir and os.path.isdir(self.run_dir):
                run_dir = self.run_dir
            else:
                run_dir = os.path.join(self.root, "run%d" % self.runs)
                os.mkdir(run_dir, 0o700)
            self.run_dir = run_dir
            self.log_path = os.path.join(self.root, "gateway%d.log" % self.runs)
            self.logs.append(self.log_path)
            argv = self.argv(self.port, run_dir)
            with open(self.log_path, "wb") as logf:
                logf.write(("# " + " ".join(argv) + "\n").encode())
                logf.flush()
                try:
                    self.proc = subprocess.Popen(
                        argv, stdin=subprocess.DEVNULL, stdout=logf,
                        stderr=logf, env=self.environ(), close_fds=True,
                        cwd=self.root)
                except OSError as e:
                    self.proc = None
                    raise GatewayError("cannot start %s: %s" % (GATEWAY, e))
            try:
                self._wait_ready()
                return self
            except GatewayError as e:
                last = e
                died = self.proc.poll() is not None
                self.stop(timeout=3.0)
                # Someone took the port between free_port() and bind().
                if died and "in use" in self.log_text().lower():
                    continue
                raise
        raise last

    def _wait_ready(self):
        deadline = time.monotonic() + self.START_TIMEOUT
        for _ in range(int(self.START_TIMEOUT / 0.05) + 10):
            rc = self.proc.poll()
            if rc is not None:
                raise GatewayError(
                    "gateway exited during start-up (%s)\n%s"
                    % (describe_status(rc), self.log_tail()))
            try:
                s = socket.create_connection((HOST, self.port), timeout=0.5)
                s.close()
                return
            except OSError:
                pass
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        raise GatewayError(
            "gateway did not accept connections on %s:%d within %.0f s\n%s"
            % (HOST, self.port, self.START_TIMEOUT, self.log_tail()))

    def stop(self, timeout=None):
        """
        SIGTERM by PID, wait, SIGKILL past the deadline; then handler
        processes still alive (after a short grace) are killed by PID and
        listed in self.leftover. Safe to call twice.
        """
        proc = self.proc
        if proc is None:
            return self.exit_status
        timeout = self.STOP_TIMEOUT if timeout is None else timeout
        self.children()                 # remember the current handlers
        self.killed = False
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                try:
                    os.kill(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        self.exit_status = proc.returncode
        self.proc = None
        kids = dict(self._kids)
        self._kids = {}

        def survivors():
            alive = {p: t for p, t in kids.items() if pid_alive(p, t)}
            alive.update(orphans())
            return alive
        # After a clean stop, give handlers a moment to exit on their own;
        # after SIGKILL nobody told them to.
        try:
            wait_until(lambda: not survivors(), 0.0 if self.killed else 3.0,
                       what="handlers exit")
        except Timeout:
            pass
        left = survivors()
        self.leftover = sorted(left)
        for p in self.leftover:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        try:
            wait_until(lambda: not survivors(), 2.0, what="handlers killed")
        except Timeout:
            pass
        return self.exit_status

    def kill9(self):
        """
        kill -9 of the gateway and then of its handler processes, by PID,
        as a crash of the machine's gateway would leave them; then the
        same bookkeeping as stop(). Safe to call when it is not running.
        """
        proc = self.proc
        if proc is None:
            return self.exit_status
        kids = self.children()
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        # Its handlers are ours now (subreaper), or were listed above.
        doomed = {p: t for p, t in self._kids.items() if pid_alive(p, t)}
        doomed.update(orphans())
        for p in set(kids) | set(doomed):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        return self.stop(timeout=1.0)

    def restart(self, env=None, args=None):
        """Stops and starts again on the same store (new port and run dir)."""
        self.stop()
        if env is not None:
            self.extra_env = dict(env)
        if args is not None:
            self.args = [str(a) for a in args]
        return self.start()

    def cleanup(self, keep=False):
        self.stop()
        if not keep and os.path.isdir(self.root):
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- observation

    def children(self):
        """PIDs of the running (non-zombie) processes whose parent is the gateway."""
        pid = self.pid
        if pid is None:
            return []
        out = []
        try:
            names = os.listdir("/proc")
        except OSError:
            return out
        for name in names:
            if not name.isdigit():
                continue
            st = proc_stat(int(name))
            if st is None or st[1] != pid or st[0] in ("Z", "X"):
                continue
            out.append(int(name))
            self._kids[int(name)] = st[2]
        return sorted(out)

    def log_text(self, all_runs=False):
        paths = self.logs if all_runs else self.logs[-1:]
        text = []
        for p in paths:
            try:
                with open(p, "rb") as f:
                    text.append(f.read().decode("utf-8", "replace"))
            except OSError:
                pass
        return "".join(text)

    def log_lines(self, pattern, all_runs=False):
        """The lines of the log that match the regular expression."""
        rx = re.compile(pattern)
        return [ln for ln in self.log_text(all_runs).splitlines()
                if rx.search(ln)]

    def metric(self, name):
        """
        The value of one sample of /metrics, by its full name with labels
        (torpor_closes_total{code="1008"}); 0 when it is not there.
        """
        r = self.http("GET", "/metrics")
        expect_eq(r.status, 200, "GET /metrics")
        for line in r.body.decode("utf-8", "replace").splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return 0.0

    def log_size(self):
        try:
            return os.path.getsize(self.log_path) if self.log_path else 0
        except OSError:
            return 0

    def log_tail(self, n=LOG_TAIL_LINES):
        lines = self.log_text().splitlines()
        head = "--- %s (last %d lines) ---" % (self.log_path, n)
        return "\n".join([head] + lines[-n:])

    def expect_alive(self):
        if not self.alive():
            rc = self.proc.poll() if self.proc else None
            raise GatewayError("gateway is not running (%s)\n%s"
                               % (describe_status(rc), self.log_tail()))

    # -- clients

    def ws(self, path="/websocket", timeout=10.0, **kw):
        return Client(self.ws_url + path, timeout=timeout, **kw)

    def http(self, method="GET", path="/", headers=(), body=b"", timeout=5.0):
        return http_request(self.port, method, path, headers, body, timeout)


def check_gateway_binary():
    if not os.access(GATEWAY, os.X_OK):
        raise GatewayError("gateway binary not found or not executable: %s"
                           % GATEWAY)


def describe_status(rc):
    if rc is None:
        return "still running"
    if rc < 0:
        try:
            return "killed by %s" % signal.Signals(-rc).name
        except ValueError:
            return "killed by signal %d" % -rc
    return "exit status %d" % rc


_shared = {}


def shared_gateway(key="default", **kw):
    """
    One gateway per script for tests that need nothing special. Started on
    first use; if it failed to start, later calls fail at once with the same
    reason instead of waiting again.
    """
    entry = _shared.get(key)
    if entry is None:
        try:
            gw = Gateway(persistent=True, **kw)
            entry = _shared[key] = ("ok", gw)
        except GatewayError as e:
            _shared[key] = ("error", str(e))
            raise
    if entry[0] == "error":
        raise GatewayError("the shared gateway failed to start (in an "
                           "earlier test): %s" % entry[1])
    gw = entry[1]
    gw.expect_alive()
    return gw


# --- WebSocket client ------------------------------------------------------------

_clients = []


class Client:
    """A WebSocket client whose receives all have deadlines."""

    def __init__(self, url, timeout=10.0, header=None):
        self.url = url
        self.closed = None          # (code, reason) once a close frame came
        self.dropped = False
        opts = {"header": list(header)} if header else {}
        try:
            self.ws = websocket.create_connection(
                url, timeout=timeout, skip_utf8_validation=True, **opts)
        except websocket.WebSocketBadStatusException as e:
            raise AssertionError("WebSocket handshake to %s refused: %s"
                                 % (url, e))
        except (OSError, websocket.WebSocketException) as e:
            raise AssertionError("cannot open WebSocket %s: %s: %s"
                                 % (url, type(e).__name__, e))
        _clients.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    # -- sending

    def send_text(self, text):
        self._send(lambda: self.ws.send(text))

    def send_json(self, obj):
        self.send_text(json.dumps(obj))

    def send_binary(self, data):
        self._send(lambda: self.ws.send_binary(data))

    def _send(self, fn):
        if self.closed:
            raise Closed(*self.closed)
        try:
            fn()
        except (OSError, websocket.WebSocketException) as e:
            raise Dropped("send failed on %s: %s: %s"
                          % (self.url, type(e).__name__, e))

    # -- receiving

    def recv(self, timeout=5.0):
        """
        The next data frame as ("text", str) or ("binary", bytes). Raises
        Closed on a close frame, Dropped if the connection ended without
        one, Timeout if nothing came within `timeout` seconds.
        """
        if self.closed:
            raise Closed(*self.closed)
        deadline = time.monotonic() + timeout
        for _ in range(10000):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                self.ws.settimeout(left)
                op, frame = self.ws.recv_data_frame(control_frame=True)
            except websocket.WebSocketTimeoutException:
                break
            except socket.timeout:
                break
            except (websocket.WebSocketConnectionClosedException,
                    ConnectionError) as e:
                self.dropped = True
                raise Dropped("connection ended without a close frame (%s)"
                              % (e,))
            except websocket.WebSocketException as e:
                raise AssertionError("bad frame from the server: %s: %s"
                                     % (type(e).__name__, e))
            if op == websocket.ABNF.OPCODE_CLOSE:
                data = frame.data or b""
                code = int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
                reason = data[2:].decode("utf-8", "replace")
                self.closed = (code, reason)
                raise Closed(code, reason)
            if op == websocket.ABNF.OPCODE_TEXT:
                try:
                    return "text", frame.data.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise AssertionError("text frame is not UTF-8: %s" % e)
            if op == websocket.ABNF.OPCODE_BINARY:
                return "binary", bytes(frame.data)
            # ping / pong: keep waiting
        raise Timeout("no frame from %s within %.1f s" % (self.url, timeout))

    def recv_text(self, timeout=5.0):
        kind, data = self.recv(timeout)
        expect_eq(kind, "text", "frame type")
        return data

    def recv_json(self, timeout=5.0):
        text = self.recv_text(timeout)
        try:
            return json.loads(text)
        except ValueError:
            raise AssertionError("frame is not JSON: %r" % text[:200])

    def expect_close(self, timeout=5.0):
        """Waits for the server's close frame; returns (code, reason)."""
        try:
            kind, data = self.recv(timeout)
        except Closed as e:
            return e.code, e.reason
        except Timeout:
            raise Timeout("no close frame from %s within %.1f s"
                          % (self.url, timeout))
        shown = data[:200] if kind == "text" else data[:64]
        raise AssertionError("expected a close frame, got a %s frame: %r"
                             % (kind, shown))

    def expect_silence(self, timeout):
        """Nothing at all arrives for `timeout` seconds (the socket stays open)."""
        try:
            kind, data = self.recv(timeout)
        except Timeout:
            return
        raise AssertionError("unexpected %s frame: %r" % (kind, data[:200]))

    def roundtrip(self, obj, timeout=5.0):
        self.send_json(obj)
        return self.recv_json(timeout)

    # -- ending

    def close(self, code=1000, timeout=3.0):
        """A clean close: close frame, wait (bounded) for the server's."""
        if self.ws.sock is None:
            return
        if self.closed or self.dropped:
            self.ws.shutdown()
            return
        try:
            self.ws.close(status=code, timeout=timeout)
        except Exception:
            pass
        self.ws.shutdown()

    def drop(self):
        """Ends the TCP connection without a close frame."""
        sock = self.ws.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.ws.shutdown()
        self.dropped = True


def welcome(client, timeout=5.0):
    """Reads the pingpong welcome frame; returns the connection id."""
    msg = client.recv_json(timeout)
    expect(isinstance(msg, dict) and msg.get("type") == "welcome",
           "expected a welcome frame, got %r" % (msg,))
    return msg.get("connectionId")


# --- many clients from one thread ------------------------------------------------

def raise_nofile(want=None):
    """
    Raises this process's soft RLIMIT_NOFILE to `want` (default: the hard
    limit) and returns the new soft limit. Gateways started afterwards
    inherit it.
    """
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if want is None else want
    if hard != resource.RLIM_INFINITY:
        target = min(target, hard)
    if target == resource.RLIM_INFINITY:
        target = 1 << 20
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


class FleetConn:
    """One connection of a Fleet: its index, URL, the websocket object."""

    def __init__(self, index, url, ws):
        self.index = index
        self.url = url
        self.ws = ws
        self.closed = None          # (code, reason) once a close frame came
        self.dropped = None         # why, once it ended without one
        self.user = None            # whatever the test keeps per connection

    @property
    def open(self):
        return self.closed is None and self.dropped is None


class Fleet:
    """
    Many WebSocket clients driven from one thread: websocket-client objects
    whose readiness comes from epoll (selectors; select() stops at fd 1024)
    and whose reads all have a deadline (the socket timeout). Frames are
    small, and websocket-client reads exactly the bytes of the frame it
    parses, so a readable socket means a frame is there (a partial one
    waits at most the socket timeout). Use as a context manager: every
    socket is dropped (no close frame, no waiting) on the way out.
    """

    def __init__(self, timeout=10.0):
        self.timeout = timeout
        self.conns = []
        self.sel = None
        if websocket is not None:
            import selectors
            self.sel = selectors.DefaultSelector()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.drop_all()
        return False

    def __len__(self):
        return len(self.conns)

    def open(self, url):
        """Opens one more connection (handshake done); returns its FleetConn."""
        try:
            ws = websocket.create_connection(
                url, timeout=self.timeout, skip_utf8_validation=True)
        except websocket.WebSocketBadStatusException as e:
            raise AssertionError("WebSocket handshake to %s refused: %s"
                                 % (url, e))
        except (OSError, websocket.WebSocketException) as e:
            raise AssertionError("cannot open WebSocket %s (connection %d): "
                                 "%s: %s" % (url, len(self.conns),
                                            type(e).__name__, e))
        conn = FleetConn(len(self.conns), url, ws)
        self.conns.append(conn)
        self.sel.register(ws.sock, 1, conn)      # 1: selectors.EVENT_READ
        return conn

    def _forget(self, conn):
        try:
            self.sel.unregister(conn.ws.sock)
        except (KeyError, ValueError, AttributeError):
            pass

    def send(self, conn, text):
        """Sends a text frame; False (and conn.dropped set) if that failed."""
        if not conn.open:
            return False
        try:
            conn.ws.send(text)
            return True
        except (OSError, websocket.WebSocketException) as e:
            conn.dropped = "send failed: %s: %s" % (type(e).__name__, e)
            self._forget(conn)
            return False

    def read(self, conn):
        """
        One frame from a connection that is readable: ("text", str),
        ("binary", bytes), ("close", (code, reason)), ("drop", why) or
        (None, None) for a control frame.
        """
        try:
            op, frame = conn.ws.recv_data_frame(control_frame=True)
        except (websocket.WebSocketTimeoutException, socket.timeout):
            conn.dropped = "a partial frame for %.1f s" % self.timeout
            self._forget(conn)
            return "drop", conn.dropped
        except (websocket.WebSocketConnectionClosedException, OSError) as e:
            conn.dropped = "connection ended without a close frame (%s)" % e
            self._forget(conn)
            return "drop", conn.dropped
        except websocket.WebSocketException as e:
            conn.dropped = "bad frame: %s: %s" % (type(e).__name__, e)
            self._forget(conn)
            return "drop", conn.dropped
        if op == websocket.ABNF.OPCODE_CLOSE:
            data = frame.data or b""
            code = int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
            conn.closed = (code, data[2:].decode("utf-8", "replace"))
            self._forget(conn)
            return "close", conn.closed
        if op == websocket.ABNF.OPCODE_TEXT:
            return "text", frame.data.decode("utf-8", "replace")
        if op == websocket.ABNF.OPCODE_BINARY:
            return "binary", bytes(frame.data)
        return None, None

    def poll(self, timeout):
        """
        Waits up to `timeout` seconds for readable connections and reads
        one frame from each: a list of (conn, kind, data) as read() returns
        them (control frames left out).
        """
        out = []
        if not self.sel.get_map():
            time.sleep(max(timeout, 0))
            return out
        for key, _ in self.sel.select(max(timeout, 0)):
            conn = key.data
            kind, data = self.read(conn)
            if kind is not None:
                out.append((conn, kind, data))
        return out

    def drop_all(self):
        """Ends every connection at once, without close frames."""
        for conn in self.conns:
            self._forget(conn)
            sock = conn.ws.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            try:
                conn.ws.shutdown()
            except Exception:
                pass
        if self.sel is not None:
            self.sel.close()
            self.sel = None
            import selectors
            self.sel = selectors.DefaultSelector()
        self.conns = []


# --- third-party servers (nginx, php-fpm) -----------------------------------

class Daemon:
    """
    A foreground server with a master and workers, run in its own temp
    prefix: subclasses start self.proc and set LOG_FILES. Stopped by PID:
    SIGTERM to the master, then SIGKILL to it and to every worker seen.
    """

    LOG_FILES = ("stderr",)

    def __init__(self, prefix_name):
        self.prefix = tempfile.mkdtemp(prefix="torpor-%s-" % prefix_name)
        self.proc = None
        self.kids = {}                 # worker pid -> starttime
        self.keep = False

    def workers(self, proc=None):
        """PIDs of the running workers (children of the master)."""
        proc = proc or self.proc
        out = []
        if proc is None:
            return out
        for name in os.listdir("/proc"):
            if name.isdigit():
                st = proc_stat(int(name))
                if st is not None and st[1] == proc.pid and \
                        st[0] not in ("Z", "X"):
                    out.append(int(name))
                    self.kids[int(name)] = st[2]
        return sorted(out)

    def log_text(self):
        out = []
        for name in self.LOG_FILES:
            try:
                with open(os.path.join(self.prefix, name), "rb") as f:
                    out.append(f.read().decode("utf-8", "replace"))
            except OSError:
                pass
        return "".join(out)[-4000:]

    def stop(self):
        proc, self.proc = self.proc, None
        if proc is not None:
            self.workers(proc)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(timeout=5)
        for pid, start in self.kids.items():
            if pid_alive(pid, start):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        # Workers that outlived the master are ours (subreaper): reap them.
        for pid in self.kids:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        self.kids = {}

    def cleanup(self):
        self.stop()
        if self.keep or os.environ.get("TORPOR_E2E_KEEP") == "1":
            comment("kept: %s" % self.prefix)
        else:
            shutil.rmtree(self.prefix, ignore_errors=True)


# --- raw HTTP ----------------------------------------------------------------------

class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers      # [(name, value)] in order
        self.body = body

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def __repr__(self):
        return "<HTTP %s %s %r>" % (self.status, self.reason, self.headers)


def http_request(port, method="GET", path="/", headers=(), body=b"",
                 timeout=5.0, max_bytes=16 << 20):
    """
    One HTTP/1.1 exchange on a fresh loopback connection. headers: a list
    of (name, value); Host is added unless given. The body is read by
    Content-Length, chunked encoding, or until the server closes; a 101
    returns at the end of the headers.
    """
    names = [k.lower() for k, _ in headers]
    hdrs = list(headers)
    if "host" not in names:
        hdrs.insert(0, ("Host", "%s:%d" % (HOST, port)))
    if body and "content-length" not in names:
        hdrs.append(("Content-Length", str(len(body))))
    req = "%s %s HTTP/1.1\r\n" % (method, path)
    req += "".join("%s: %s\r\n" % (k, v) for k, v in hdrs) + "\r\n"
    deadline = time.monotonic() + timeout
    s = socket.create_connection((HOST, port), timeout=timeout)
    try:
        s.sendall(req.encode("latin-1") + body)
        buf = b""

        def more():
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("HTTP %s %s: no complete response within %.1f s "
                              "(got %r)" % (method, path, timeout, buf[:300]))
            s.settimeout(left)
            try:
                return s.recv(65536)
            except socket.timeout:
                raise Timeout("HTTP %s %s: no complete response within %.1f s "
                              "(got %r)" % (method, path, timeout, buf[:300]))
            except ConnectionResetError:
                return b""

        for _ in range(100000):
            if b"\r\n\r\n" in buf or len(buf) > 65536:
                break
            chunk = more()
            if not chunk:
                break
            buf += chunk
        head, sep, rest = buf.partition(b"\r\n\r\n")
        expect(sep, "HTTP %s %s: no complete response header (got %r)"
               % (method, path, buf[:300]))
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"^HTTP/1\.[01] (\d{3}) ?(.*)$", lines[0])
        expect(m, "bad HTTP status line: %r" % lines[0])
        status, reason = int(m.group(1)), m.group(2)
        resp_headers = []
        for line in lines[1:]:
            k, _, v = line.partition(":")
            resp_headers.append((k.strip(), v.strip()))
        resp = Response(status, reason, resp_headers, b"")
        if status == 101 or 100 <= status < 200 or status in (204, 304) \
                or method == "HEAD":
            return resp
        clen = resp.header("Content-Length")
        chunked = "chunked" in (resp.header("Transfer-Encoding") or "").lower()
        for _ in range(100000):
            if clen is not None and len(rest) >= int(clen):
                rest = rest[:int(clen)]
                break
            if chunked and _chunked_complete(rest):
                break
            if len(rest) > max_bytes:
                break
            chunk = more()
            if not chunk:
                break
            rest += chunk
        resp.body = _unchunk(rest) if chunked else rest
        return resp
    finally:
        s.close()


def _chunked_complete(data):
    return _unchunk(data, strict=True) is not None


def _unchunk(data, strict=False):
    out = b""
    pos = 0
    for _ in range(100000):
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return None if strict else out
        size = int(data[pos:eol].split(b";")[0].strip() or b"0", 16)
        if size == 0:
            return out
        start = eol + 2
        if len(data) < start + size + 2:
            return None if strict else out + data[start:start + size]
        out += data[start:start + size]
        pos = start + size + 2
    return None if strict else out


def ws_handshake_headers(key=None, version="13", extra=()):
    """Headers of a WebSocket upgrade request; key=False leaves the key out."""
    h = [("Upgrade", "websocket"), ("Connection", "Upgrade")]
    if key is None:
        key = base64.b64encode(os.urandom(16)).decode()
    if key is not False:
        h.append(("Sec-WebSocket-Key", key))
    if version is not None:
        h.append(("Sec-WebSocket-Version", version))
    return h + list(extra)


def ws_accept(key):
    guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
    return base64.b64encode(hashlib.sha1((key + guid).encode()).digest()).decode()


# --- the TAP runner --------------------------------------------------------------------

_tests = []


_todo = {}              # test function -> why it is known to fail


def test(name=None, timeout=120, todo=None):
    """
    Registers a test: @test, @test("name") or @test("name", timeout=S).
    todo="why": a known, documented gap; the TAP line carries "# TODO why",
    so a failure counts as expected (XFAIL) and a pass as news (XPASS).
    """
    if callable(name):
        fn = name
        _tests.append((fn.__name__.replace("_", " "), fn, timeout))
        return fn

    def deco(fn):
        _tests.append((name or fn.__name__.replace("_", " "), fn, timeout))
        if todo:
            _todo[fn] = todo
        return fn
    return deco


def skip(reason):
    raise Skip(reason)


def comment(text):
    for line in str(text).splitlines() or [""]:
        print("# " + line)
    sys.stdout.flush()


def _on_alarm(signum, frame):
    raise TestTimeout("test exceeded its time limit (watchdog)")


def _on_term(signum, frame):
    # SystemExit unwinds through every finally and then atexit.
    raise SystemExit(128 + signum)


def _cleanup_all():
    for c in list(_clients):
        try:
            c.drop()
        except Exception:
            pass
    keep = os.environ.get("TORPOR_E2E_KEEP") == "1"
    for gw in list(_gateways):
        try:
            gw.cleanup(keep=keep or gw.keep)
        except Exception:
            pass


atexit.register(_cleanup_all)


def run():
    """Runs every registered test, prints TAP, exits 0."""
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, _on_term)
    signal.signal(signal.SIGHUP, _on_term)
    signal.signal(signal.SIGALRM, _on_alarm)
    print("1..%d" % len(_tests))
    sys.stdout.flush()
    if websocket is None:
        for i, (name, _, _) in enumerate(_tests, 1):
            print("ok %d - %s # SKIP python module websocket "
                  "(Debian python3-websocket) not available to %s"
                  % (i, name, sys.executable))
        sys.exit(0)
    keep = os.environ.get("TORPOR_E2E_KEEP") == "1"
    for i, (name, fn, timeout) in enumerate(_tests, 1):
        gws_before = len(_gateways)
        clients_before = len(_clients)
        sizes = {id(g): (g.log_path, g.log_size()) for g in _gateways}
        result, detail = "ok", None
        started = time.monotonic()
        signal.alarm(int(timeout + 0.999))
        try:
            fn()
        except Skip as e:
            result, detail = "skip", str(e)
        except Exception:
            result, detail = "fail", traceback.format_exc()
        finally:
            signal.alarm(0)
        # Per-test cleanup: its clients, its (non-shared) gateways.
        for c in _clients[clients_before:]:
            try:
                c.close(timeout=1.0)
            except Exception:
                pass
        del _clients[clients_before:]
        new_gws = _gateways[gws_before:]
        for gw in new_gws:
            if not gw.persistent:
                try:
                    gw.stop()
                except Exception:
                    pass
        todo = " # TODO %s" % _todo[fn] if fn in _todo else ""
        if result == "ok":
            print("ok %d - %s%s" % (i, name, todo))
        elif result == "skip":
            print("ok %d - %s # SKIP %s" % (i, name, detail))
        else:
            print("not ok %d - %s%s" % (i, name, todo))
            comment(detail.rstrip())
            for gw in _gateways:
                grew = sizes.get(id(gw)) != (gw.log_path, gw.log_size())
                if gw in new_gws or grew:
                    gw.keep = True
                    if gw.log_path and gw.log_path not in detail:
                        comment(gw.log_tail())
        comment("%.2f s" % (time.monotonic() - started))
    for gw in list(_gateways):
        t0 = time.monotonic()
        gw.cleanup(keep=keep or gw.keep)
        if time.monotonic() - t0 > 2.0:
            comment("stopping %s took %.2f s%s" % (
                gw.log_path, time.monotonic() - t0,
                " (SIGKILL needed)" if gw.killed else ""))
        if keep or gw.keep:
            comment("kept: %s" % gw.root)
    sys.exit(0)
