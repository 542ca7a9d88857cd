#!/usr/bin/python3
"""blackhole.py -- a DNS "server" that never answers (for the lab).

usage: blackhole.py [ADDRESS [PORT]]      (default 127.0.0.99 53)

Binds UDP and TCP on ADDRESS:PORT.  UDP datagrams are read and dropped.  TCP
connections are accepted and held open; whatever the client sends is read and
discarded, nothing is ever written.  So a query to the address really times
out (instead of getting ICMP port unreachable / TCP RST).  Runs in the
foreground until SIGTERM/SIGINT.  Started and stopped by start.sh/stop.sh.
"""
import selectors
import signal
import socket
import sys

addr = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.99"
port = int(sys.argv[2]) if len(sys.argv) > 2 else 53
if not addr.startswith("127."):
    sys.exit("blackhole.py: refusing to bind a non-loopback address")

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

sel = selectors.DefaultSelector()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
udp.bind((addr, port))
udp.setblocking(False)
sel.register(udp, selectors.EVENT_READ, "udp")
tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind((addr, port))
tcp.listen(64)
tcp.setblocking(False)
sel.register(tcp, selectors.EVENT_READ, "listen")
print(f"blackhole listening on {addr}:{port} (udp+tcp), never answering", flush=True)

MAX_CONNS = 256
conns = []
while True:
    for key, _ in sel.select():
        sock = key.fileobj
        if key.data == "udp":
            try:
                while True:
                    sock.recvfrom(65535)          # read and drop
            except BlockingIOError:
                pass
        elif key.data == "listen":
            try:
                c, _peer = sock.accept()
            except BlockingIOError:
                continue
            c.setblocking(False)
            if len(conns) >= MAX_CONNS:           # bound resources: drop the oldest
                old = conns.pop(0)
                sel.unregister(old)
                old.close()
            conns.append(c)
            sel.register(c, selectors.EVENT_READ, "conn")
        else:
            try:
                data = sock.recv(65535)           # read and discard
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:                          # peer closed (or reset)
                sel.unregister(sock)
                conns.remove(sock)
                sock.close()
