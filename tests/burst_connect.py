#!/usr/bin/env python3
"""burst_connect.py PORT N ROUNDS - open N milter connections at once,
ROUNDS times, and time each one's answer to the option negotiation (the
first thing a filter says, before any message or scanner is involved).
Each burst stays open until two later bursts have come, so the filter's
threads are busy with open sessions when the next burst arrives, as with
an MTA's connections that carry several messages each.  Prints one line:
"slowest MS over20 K of TOTAL answered A" (A: connections that got their
answer); exits 1 if any failed or went unanswered (20 s each at most).
"""
import socket
import struct
import sys
import threading
import time


def optneg():
    # version 6, all actions, all protocol steps the filter may drop
    data = b"O" + struct.pack(">III", 6, 0x1FF, 0x1FFFFF)
    return struct.pack(">I", len(data)) + data


def recv_exact(s, n):
    got = b""
    while len(got) < n:
        chunk = s.recv(n - len(got))
        if not chunk:
            raise ConnectionError("closed by the filter")
        got += chunk
    return got


def negotiate(port, times, socks, i):
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        s.sendall(optneg())
        (length,) = struct.unpack(">I", recv_exact(s, 4))
        recv_exact(s, length)
        times[i] = (time.monotonic() - t0) * 1000
        socks[i] = s
    except OSError as e:
        print("connection %d: %s" % (i, e), file=sys.stderr)


def close_all(socks):
    for s in socks:
        if s is not None:
            try:
                s.sendall(struct.pack(">I", 1) + b"Q")
            except OSError:
                pass
            s.close()


def main():
    port, n, rounds = (int(a) for a in sys.argv[1:4])
    held, all_times, failed = [], [], 0
    for _ in range(rounds):
        times, socks = [None] * n, [None] * n
        threads = [threading.Thread(target=negotiate,
                                    args=(port, times, socks, i))
                   for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        failed += sum(1 for x in times if x is None)
        all_times += [x for x in times if x is not None]
        held.append(socks)
        if len(held) > 2:
            close_all(held.pop(0))
        time.sleep(0.2)
    for socks in held:
        close_all(socks)
    slow = sum(1 for x in all_times if x > 20)
    print("slowest %.0f over20 %d of %d answered %d" %
          (max(all_times, default=0), slow, n * rounds, len(all_times)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
