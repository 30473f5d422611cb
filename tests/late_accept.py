#!/usr/bin/env python3
"""late_accept.py PORT DELAY - a scanner whose connects complete late, a
fault a real Rspamd cannot be made to produce.  Listens on 127.0.0.1:PORT
with its accept queue already full, so the kernel drops a client's SYN;
after DELAY seconds it drains the queue, so the client's SYN retransmit
(about 1 s after its connect) gets through.  Each request then gets a
minimal clean reply.  The full queue is fake_upstream.py's stall
listener.  Prints "full" once the queue is full, "served N" per
request; stops by itself after 30 s.
"""
import socket
import sys
import time

from fake_upstream import read_request, stall

REPLY = b'{"action":"no action","score":0.5,"required_score":15}'


def main():
    port, delay = int(sys.argv[1]), float(sys.argv[2])
    ls, *fillers = stall(port)
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
        path, _ = read_request(s.makefile("rb"))
        if path is not None:
            s.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n%s" % (len(REPLY), REPLY))
            served += 1
            print("served", served, flush=True)
        s.close()


if __name__ == "__main__":
    main()
