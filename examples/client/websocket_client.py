#!/usr/bin/python3
"""websocket_client.py - a command-line client for torpor's pingpong example.

Usage: websocket_client.py URL      (e.g. ws://localhost:8080/websocket)

Prints every message the server sends, one per line, on stdout; status
lines go to stderr. Sends {"type":"heartbeat"} every heartbeatInterval ms
(taken from the server's welcome; 20 s until then). Reads commands from
stdin, one per line:

    ping    sends {"type":"ping"}
    quit    closes the connection (1000) and exits with status 0
    other   sent as a text frame, as typed

stdin need not be a terminal: at end of input the client waits until every
frame it sent has been answered (or nothing arrived for a couple of
seconds), then closes cleanly and exits 0.

One thread and one select() loop over stdin and the socket: the socket is
only ever read from one place, so closing never races a reader.

Needs websocket-client 1.x (Debian: python3-websocket), hence the shebang:
Debian's interpreter has the module even when the python3 on PATH has not.
"""

import argparse
import json
import os
import select
import ssl
import sys
import time

try:
    import websocket
except ImportError:
    sys.exit("websocket_client.py: the websocket-client module is missing "
             "(Debian: apt install python3-websocket)")

DEFAULT_HEARTBEAT = 20.0    # seconds, until the welcome says otherwise
GRACE = 2.0                 # seconds without a frame before giving up at EOF
NORMAL_CLOSES = (1000, 1001)


def status(text):
    print(text, file=sys.stderr, flush=True)


class Client:
    def __init__(self, ws):
        self.ws = ws
        self.heartbeat = DEFAULT_HEARTBEAT
        self.next_heartbeat = time.monotonic() + self.heartbeat
        self.unanswered = 1         # frames owed to us; first the welcome
        self.last_frame = time.monotonic()
        self.stdin_open = True
        self.pending = b""          # a partial stdin line

    def send(self, text):
        self.ws.send(text)
        self.unanswered += 1

    def send_json(self, obj):
        self.send(json.dumps(obj, separators=(",", ":")))

    def close(self):
        # close() sends 1000 and reads until the server's close frame; we
        # are the only reader, so nothing else consumes that frame.
        self.ws.close(status=websocket.STATUS_NORMAL)

    def readable(self):
        """
        Waits for the socket, stdin (whose lines it runs) or the next
        timer; True when the socket has data, counting bytes TLS already
        decrypted, which select() cannot see.
        """
        sock = self.ws.sock
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        fds = [sock] + ([0] if self.stdin_open else [])
        ready, _, _ = select.select(fds, [], [], self.timeout())
        if 0 in ready:
            self.read_stdin()
        return sock in ready

    def timeout(self):
        wait = self.next_heartbeat - time.monotonic()
        if not self.stdin_open:
            wait = min(wait, self.last_frame + GRACE - time.monotonic())
        return max(0.0, wait)

    def read_stdin(self):
        """Runs the complete lines read so far; 'quit' raises Quit."""
        data = os.read(0, 65536)
        if not data:
            self.stdin_open = False
            if self.pending:
                self.command(self.pending)
                self.pending = b""
            return
        lines = (self.pending + data).split(b"\n")
        self.pending = lines.pop()
        for line in lines:
            self.command(line)

    def command(self, raw):
        line = raw.decode("utf-8", errors="replace").rstrip("\r")
        word = line.strip()
        if word == "quit":
            raise Quit()
        if word == "ping":
            self.send_json({"type": "ping"})
        else:
            self.send(line)

    def receive(self):
        """Handles one frame; returns a close code when the server closed."""
        opcode, frame = self.ws.recv_data_frame(True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = 1005
            reason = ""
            if len(frame.data) >= 2:
                code = int.from_bytes(frame.data[:2], "big")
                reason = frame.data[2:].decode("utf-8", errors="replace")
            status("connection closed by server: %d %s" % (code, reason))
            self.ws.shutdown()
            return code
        if opcode not in (websocket.ABNF.OPCODE_TEXT,
                          websocket.ABNF.OPCODE_BINARY):
            return None
        text = frame.data.decode("utf-8", errors="replace")
        if opcode == websocket.ABNF.OPCODE_BINARY:
            text = "[binary] " + text
        print(text, flush=True)
        self.last_frame = time.monotonic()
        self.unanswered -= 1
        self.note_welcome(text)
        return None

    def note_welcome(self, text):
        try:
            msg = json.loads(text)
        except ValueError:
            return
        if not isinstance(msg, dict) or msg.get("type") != "welcome":
            return
        ms = msg.get("heartbeatInterval")
        if isinstance(ms, (int, float)) and not isinstance(ms, bool) \
                and ms > 0:
            self.heartbeat = ms / 1000.0
            self.next_heartbeat = time.monotonic() + self.heartbeat

    def run(self):
        """Returns the exit status."""
        while True:
            if self.readable():
                code = self.receive()
                if code is not None:
                    return 0 if code in NORMAL_CLOSES else 1
            now = time.monotonic()
            if now >= self.next_heartbeat:
                self.send_json({"type": "heartbeat"})
                self.next_heartbeat = now + self.heartbeat
            if not self.stdin_open and (self.unanswered <= 0 or
                                        now >= self.last_frame + GRACE):
                self.close()
                return 0


class Quit(Exception):
    pass


def main():
    parser = argparse.ArgumentParser(
        description="Talk to torpor's pingpong example from a terminal or "
                    "a pipe: 'ping', 'quit', or any text.")
    parser.add_argument("url", help="e.g. ws://localhost:8080/websocket")
    args = parser.parse_args()

    try:
        ws = websocket.create_connection(args.url, timeout=10)
    except (OSError, websocket.WebSocketException, ValueError) as e:
        status("cannot connect to %s: %s" % (args.url, e))
        return 1
    ws.settimeout(30)
    status("connected to %s" % args.url)
    if sys.stdin.isatty():
        status("commands: ping, quit, or any text to echo")

    client = Client(ws)
    try:
        return client.run()
    except Quit:
        client.close()
        return 0
    except KeyboardInterrupt:
        client.close()
        return 130
    except BrokenPipeError:
        # stdout went away (e.g. piped into head): nobody is listening.
        client.close()
        return 0
    except (OSError, websocket.WebSocketException) as e:
        status("connection lost: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
