#!/usr/bin/env python3
"""late_accept.py PORT DELAY - a scanner whose connects complete late, a
fault a real Rspamd cannot be made to produce.  Listens on 127.0.0.1:PORT
with its accept queue already full, so the kernel drops a client's SYN;
after DELAY seconds it drains the queue, so the client's SYN retransmit
(about 1 s after its connect) gets through.  Each request then gets a
minimal clean reply.  Prints "full" once the queue is full, "served N" per
request; stops by itself after 30 s.
"""
import socket
import sys
import time

REPLY = b'{"action":"no action","score":0.5,"required_score":15}'


def read_request(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            return False
        rest += chunk
    return True


def main():
    port, delay = int(sys.argv[1]), float(sys.argv[2])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(0)
    # Linux queues backlog + 1 connections; past that a SYN is dropped.
    fillers = []
    for _ in range(2):
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(c)
    mine = {c.getsockname()[1] for c in fillers}
    print("full", flush=True)
    time.sleep(delay)
    ls.settimeout(1)
    served = 0
    end = time.time() + 30
    while time.time() < end:
        try:
            s, addr = ls.accept()
        except socket.timeout:
            continue
        if addr[1] in mine:
            continue
        s.settimeout(5)
        if read_request(s):
            s.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (len(REPLY), REPLY))
            served += 1
            print("served", served, flush=True)
        s.close()


if __name__ == "__main__":
    main()
