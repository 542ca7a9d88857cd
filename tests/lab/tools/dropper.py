#!/usr/bin/python3
"""dropper.py -- a DNS server that drops half its queries once it sees too many (for the lab).

usage: dropper.py ADDRESS UPSTREAM LIMIT [STATS]    e.g. dropper.py 127.0.0.120 127.0.0.53 100

Listens on ADDRESS:53 (UDP only) and forwards every query it keeps to UPSTREAM:53 (a lab
resolver or authoritative server), relaying the answer back. It counts the queries that
arrived in the last second; while that count is above LIMIT, each new query is dropped with
probability 1/2 (no answer at all), as an overloaded server or a rate-limiting firewall
does. Once a second it writes one line to STATS (default: stdout):
    <seconds since start> <queries received in that second> <dropped> <answered>
Single-threaded (one select loop, no thread per query). Runs until SIGTERM. Binds loopback
addresses only.
"""
import collections
import random
import select
import signal
import socket
import sys
import time

if len(sys.argv) not in (4, 5):
    sys.exit("usage: dropper.py ADDRESS UPSTREAM LIMIT [STATS]")
addr, upstream, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
stats = open(sys.argv[4], "a", buffering=1) if len(sys.argv) == 5 else sys.stdout
if not addr.startswith("127.") or not upstream.startswith("127."):
    sys.exit("dropper.py: refusing to use a non-loopback address")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
front.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
front.bind((addr, 53))
back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
back.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
back.bind(("127.0.0.1", 0))

arrivals = collections.deque()  # arrival times of the last second
pending = {}  # upstream id -> (client, client id bytes, time)
next_id = 0
start = time.monotonic()
second = 0
counts = [0, 0, 0]  # received, dropped, answered in the current second


def flush(now):
    global second, counts
    while now - start >= second + 1:
        print(f"{second} {counts[0]} {counts[1]} {counts[2]}", file=stats)
        second += 1
        counts = [0, 0, 0]


while True:
    ready, _, _ = select.select([front, back], [], [], 0.2)
    now = time.monotonic()
    flush(now)
    if front in ready:
        wire, client = front.recvfrom(65535)
        if len(wire) >= 12:
            arrivals.append(now)
            while arrivals and now - arrivals[0] > 1.0:
                arrivals.popleft()
            counts[0] += 1
            if len(arrivals) > limit and random.random() < 0.5:
                counts[1] += 1
            else:
                next_id = (next_id + 1) & 0xFFFF
                pending[next_id] = (client, wire[:2], now)
                back.sendto(next_id.to_bytes(2, "big") + wire[2:], (upstream, 53))
    if back in ready:
        wire, _ = back.recvfrom(65535)
        if len(wire) >= 12:
            entry = pending.pop(int.from_bytes(wire[:2], "big"), None)
            if entry is not None:
                client, cid, _ = entry
                front.sendto(cid + wire[2:], client)
                counts[2] += 1
    if len(pending) > 20000:  # forget upstream questions that never came back
        for k in [k for k, v in pending.items() if now - v[2] > 5][:10000]:
            del pending[k]
