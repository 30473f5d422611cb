#!/usr/bin/env python3
"""fake_upstream.py BASE_PORT - a misbehaving Rspamd, for faults a real one
cannot be made to produce.  Listens on 127.0.0.1 only, one port per fault:

  BASE+0  slow:    reads the request, then waits 30 s before answering
  BASE+1  garbage: 200 OK with a body that is not JSON
  BASE+2  reset:   starts a 200 reply, then resets the connection
  BASE+3  error:   500 Internal Server Error
  BASE+4  stall:   a listener that never accepts, its queue already full:
                   a connect to it neither completes nor fails (the kernel
                   drops the SYN) until the client gives up
  BASE+5  open:    a clean reply that says "Connection: close", then the
                   connection is kept open for 3 s all the same
  BASE+6  deep:    a valid reply ("no action") whose "milter" member holds
                   arrays nested 2040 deep in all, just under jansson's
                   parsing depth limit (2048): too deep for scanmilter's
                   own builder, so jansson parses it, as deep as it goes

Every request is logged to stdout as "PORT MODE PATH LENGTH" so a test can
count what reached it.  Stops by itself after an hour at most.
"""
import socket
import socketserver
import struct
import sys
import threading
import time

MODES = ["slow", "garbage", "reset", "error"]
LIFETIME = 3600


def read_request(f):
    """Request line, headers and body (Content-Length) from a stream."""
    line = f.readline(65536)
    if not line:
        return None, 0
    parts = line.split()
    path = parts[1].decode("latin-1") if len(parts) > 1 else "?"
    length = 0
    while True:
        h = f.readline(65536)
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    remaining = length
    while remaining > 0:
        chunk = f.read(min(remaining, 65536))
        if not chunk:
            break
        remaining -= len(chunk)
    return path, length


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        mode = self.server.mode
        while True:
            path, length = read_request(self.rfile)
            if path is None:
                return
            print(self.server.server_address[1], mode, path, length, flush=True)
            if path == "/ping" and mode != "error":
                self.send(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\npong\r\n")
                continue
            getattr(self, "do_" + mode)()
            if mode in ("reset", "slow", "open"):
                return

    def send(self, data):
        self.wfile.write(data)
        self.wfile.flush()

    def do_slow(self):
        time.sleep(30)
        body = b'{"action":"no action","score":0}'
        self.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    def do_garbage(self):
        body = b"<html>this is not the JSON you are looking for\x00\xff"
        self.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    def do_reset(self):
        self.send(b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n{\"action\":\"no ac")
        # SO_LINGER 0: close sends RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.connection.close()

    def do_open(self):
        body = b'{"action":"no action","score":0.5,"required_score":15}'
        self.send(b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        time.sleep(3)

    def do_deep(self):
        d = 2038  # + the reply and "milter" objects: 2040 deep
        body = (b'{"action":"no action","score":0.5,"required_score":15,'
                b'"milter":{"x":' + b"[" * d + b"1" + b"]" * d + b"}}")
        self.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    def do_error(self):
        body = b"Internal Server Error"
        self.send(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: %d\r\n\r\n%s"
                  % (len(body), body))


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def stall(port):
    """The stall listener and the connections that fill its queue: Linux
    queues backlog + 1 of them, and a SYN past that is dropped."""
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(0)
    fillers = []
    for _ in range(2):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(c)
    return [ls] + fillers


def main():
    base = int(sys.argv[1])
    for i, mode in enumerate(MODES):
        srv = Server(("127.0.0.1", base + i), Handler)
        srv.mode = mode
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    kept = stall(base + len(MODES))
    srv = Server(("127.0.0.1", base + len(MODES) + 1), Handler)
    srv.mode = "open"
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    srv = Server(("127.0.0.1", base + len(MODES) + 2), Handler)
    srv.mode = "deep"
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    time.sleep(LIFETIME)
    del kept


if __name__ == "__main__":
    main()
