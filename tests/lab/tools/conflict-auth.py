#!/usr/bin/python3
"""conflict-auth.py -- a deliberately broken authoritative server (for the lab).

usage: conflict-auth.py [ADDRESS [PORT]]      (default 127.0.0.98 53)

Serves the zone conflict.lab. over UDP and TCP and answers every question for a
name below it with a CNAME *and* a TXT at the same owner (illegal: RFC 1034
3.6.2, RFC 2181 10.1), the way a broken provider panel or server does:

    x.conflict.lab.  60 IN CNAME x-label.acme.lab.
    x.conflict.lab.  60 IN TXT   "stale-token-beside-the-cname"

The apex answers SOA and NS normally.

It also serves nonaa.lab., the way a lame server (a forwarder or a cache listed
as NS) does: every question gets NOERROR with data but WITHOUT the AA flag:

    nonaa.lab.    SOA / NS        (apex, SOA/NS questions; other types: NODATA)
    x.nonaa.lab.  60 IN CNAME x-label.acme.lab.   (any question below the apex)

Runs until SIGTERM.  Needs dnspython.
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

addr = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.98"
port = int(sys.argv[2]) if len(sys.argv) > 2 else 53
if not addr.startswith("127."):
    sys.exit("conflict-auth.py: refusing to bind a non-loopback address")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

ZONE = dns.name.from_text("conflict.lab.")
SOA = dns.rrset.from_text(ZONE, 60, "IN", "SOA", "ns1.conflict.lab. hostmaster.conflict.lab. 1 300 60 86400 0")
NS = dns.rrset.from_text(ZONE, 60, "IN", "NS", "ns1.conflict.lab.")
NS_A = dns.rrset.from_text("ns1.conflict.lab.", 60, "IN", "A", addr)

NONAA = dns.name.from_text("nonaa.lab.")
NONAA_SOA = dns.rrset.from_text(NONAA, 60, "IN", "SOA", "ns1.nonaa.lab. hostmaster.nonaa.lab. 1 300 60 86400 0")
NONAA_NS = dns.rrset.from_text(NONAA, 60, "IN", "NS", "ns1.nonaa.lab.")


def answer_nonaa(r, qn, qt):
    """nonaa.lab.: data, but never the AA flag (a lame server)."""
    if qn == NONAA:
        if qt == dns.rdatatype.SOA:
            r.answer.append(NONAA_SOA)
        elif qt == dns.rdatatype.NS:
            r.answer.append(NONAA_NS)
        else:
            r.authority.append(NONAA_SOA)
    else:
        label = qn.relativize(NONAA).to_text()
        r.answer.append(dns.rrset.from_text(qn, 60, "IN", "CNAME", f"{label}-label.acme.lab."))
    return r.to_wire()


def answer(wire):
    q = dns.message.from_wire(wire)
    r = dns.message.make_response(q)
    r.flags &= ~dns.flags.RA
    if not q.question:
        r.set_rcode(dns.rcode.FORMERR)
        return r.to_wire()
    qn, qt = q.question[0].name, q.question[0].rdtype
    if qn.is_subdomain(NONAA):
        return answer_nonaa(r, qn, qt)
    if not qn.is_subdomain(ZONE):
        r.set_rcode(dns.rcode.REFUSED)
        return r.to_wire()
    r.flags |= dns.flags.AA
    if qn == ZONE:
        if qt == dns.rdatatype.SOA:
            r.answer.append(SOA)
        elif qt == dns.rdatatype.NS:
            r.answer.append(NS)
            r.additional.append(NS_A)
        else:
            r.authority.append(SOA)
    elif qn == dns.name.from_text("ns1.conflict.lab.") and qt == dns.rdatatype.A:
        r.answer.append(NS_A)
    else:
        label = qn.relativize(ZONE).to_text()
        r.answer.append(dns.rrset.from_text(qn, 60, "IN", "CNAME", f"{label}-label.acme.lab."))
        r.answer.append(dns.rrset.from_text(qn, 60, "IN", "TXT", '"stale-token-beside-the-cname"'))
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


u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
u.bind((addr, port))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((addr, port))
t.listen(16)
threading.Thread(target=udp_loop, args=(u,), daemon=True).start()
while True:
    conn, _ = t.accept()
    threading.Thread(target=tcp_client, args=(conn,), daemon=True).start()
