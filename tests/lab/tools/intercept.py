#!/usr/bin/python3
"""intercept.py -- a network that answers DNS itself (for the lab).

usage: intercept.py NXDOMAIN_ADDRESS NODATA_ADDRESS [PORT]   (default 127.0.0.86 127.0.0.85 53)

Plays a transparent DNS proxy, a captive portal or a filtering middlebox that rewrites
port 53: every question, whatever it is and whoever it is meant for, gets an answer made
up on the spot, WITHOUT the AA bit, with RA set and with no SOA in the authority section:

    NXDOMAIN_ADDRESS   rcode NXDOMAIN, no records      (a captive portal, a filter)
    NODATA_ADDRESS     rcode NOERROR, no records       (NOERROR/NODATA for everything)

Used as the root hints, the resolvers and the system resolver of a test's config, it is
the whole network as acme-delegate sees it (DNS_INTERCEPTED). UDP and TCP. Runs until
SIGTERM. Needs dnspython.
"""
import signal
import socket
import sys
import threading

import dns.flags
import dns.message
import dns.rcode

nx_addr = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.86"
nodata_addr = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.85"
port = int(sys.argv[3]) if len(sys.argv) > 3 else 53
for a in (nx_addr, nodata_addr):
    if not a.startswith("127."):
        sys.exit("intercept.py: refusing to bind a non-loopback address")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def answer(wire, rcode):
    q = dns.message.from_wire(wire)
    r = dns.message.make_response(q)
    r.flags &= ~dns.flags.AA
    r.flags |= dns.flags.RA
    r.set_rcode(rcode)
    return r.to_wire()


def udp_loop(s, rcode):
    while True:
        data, peer = s.recvfrom(4096)
        try:
            s.sendto(answer(data, rcode), peer)
        except Exception:  # a malformed query gets no answer
            pass


def tcp_client(c, rcode):
    with c:
        try:
            while True:
                n = c.recv(2)
                if len(n) < 2:
                    return
                size = int.from_bytes(n, "big")
                data = b""
                while len(data) < size:
                    chunk = c.recv(size - len(data))
                    if not chunk:
                        return
                    data += chunk
                out = answer(data, rcode)
                c.sendall(len(out).to_bytes(2, "big") + out)
        except Exception:
            return


def tcp_loop(t, rcode):
    while True:
        conn, _ = t.accept()
        threading.Thread(target=tcp_client, args=(conn, rcode), daemon=True).start()


for addr, rcode in ((nx_addr, dns.rcode.NXDOMAIN), (nodata_addr, dns.rcode.NOERROR)):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    u.bind((addr, port))
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind((addr, port))
    t.listen(16)
    threading.Thread(target=udp_loop, args=(u, rcode), daemon=True).start()
    threading.Thread(target=tcp_loop, args=(t, rcode), daemon=True).start()
print(f"intercept: NXDOMAIN on {nx_addr}:{port}, NOERROR/NODATA on {nodata_addr}:{port}", flush=True)
threading.Event().wait()
