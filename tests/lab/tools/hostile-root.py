#!/usr/bin/python3
"""hostile-root.py -- a root server (or a whole network) that leads nowhere (for the lab).

usage: hostile-root.py ADDRESS MODE [PORT]     (PORT default 53)

MODE, for every question, whatever it is:
    selfref   a referral to the root itself: `. NS a.root.evil.`, glue `a.root.evil. A
              ADDRESS` (the server refers to itself, upward)
    selfglue  a referral one label down from the question's name... to itself: `<qname>
              NS ns.evil.` with glue `ns.evil. A ADDRESS`
    servfail  rcode SERVFAIL, no records
    refused   rcode REFUSED, no records

Started by a lab test inside tests/lab/hermetic.sh (loopback only), UDP and TCP, until
SIGTERM. Needs dnspython.
"""
import signal
import socket
import sys
import threading

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

addr = sys.argv[1]
mode = sys.argv[2]
port = int(sys.argv[3]) if len(sys.argv) > 3 else 53
if not addr.startswith("127."):
    sys.exit("hostile-root.py: refusing to bind a non-loopback address")
if mode not in ("selfref", "selfglue", "servfail", "refused"):
    sys.exit("hostile-root.py: MODE is selfref, selfglue, servfail or refused")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def answer(wire):
    q = dns.message.from_wire(wire)
    r = dns.message.make_response(q)
    r.flags &= ~dns.flags.AA
    if mode == "servfail":
        r.set_rcode(dns.rcode.SERVFAIL)
    elif mode == "refused":
        r.set_rcode(dns.rcode.REFUSED)
    else:
        if mode == "selfref":
            owner, ns = dns.name.root, dns.name.from_text("a.root.evil.")
        else:
            owner, ns = q.question[0].name, dns.name.from_text("ns.evil.")
        r.authority.append(
            dns.rrset.from_text(owner, 3600, dns.rdataclass.IN, dns.rdatatype.NS, ns.to_text())
        )
        r.additional.append(
            dns.rrset.from_text(ns, 3600, dns.rdataclass.IN, dns.rdatatype.A, addr)
        )
    return r.to_wire()


def udp_loop(s):
    while True:
        data, peer = s.recvfrom(4096)
        try:
            s.sendto(answer(data), peer)
        except Exception:  # a malformed query gets no answer
            pass


def tcp_client(c):
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
                out = answer(data)
                c.sendall(len(out).to_bytes(2, "big") + out)
        except Exception:
            return


def tcp_loop(t):
    while True:
        conn, _ = t.accept()
        threading.Thread(target=tcp_client, args=(conn,), daemon=True).start()


u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((addr, port))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((addr, port))
t.listen(16)
threading.Thread(target=tcp_loop, args=(t,), daemon=True).start()
print("ready", flush=True)
udp_loop(u)
