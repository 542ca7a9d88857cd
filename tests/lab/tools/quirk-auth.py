#!/usr/bin/python3
"""quirk-auth.py -- an authoritative server with one deliberate fault (for the lab).

usage: quirk-auth.py MODE ADDRESS UPSTREAM      e.g. quirk-auth.py notcp 127.0.0.91 127.0.0.12

Every question is forwarded to the real authoritative server UPSTREAM (knot-lab, port 53,
which holds the zone and takes the RFC 2136 updates), and the answer is passed back with
one fault, chosen by MODE:

  notcp    answers over UDP only: no TCP listener (a truncated answer cannot be fetched)
  formerr  a query with EDNS (an OPT record) gets FORMERR without OPT; plain queries work
  nocase   does not preserve the case of the query name (0x20): the question section of
           the answer is lower-cased
  typenx   like acme-dns: any question below the zone apex (except at ns1) for a type
           other than TXT gets NXDOMAIN (with the zone's SOA), even where a TXT exists
  serial   the SOA serial in every answer is the real one + 1000 (a copy whose serial
           differs from its sibling server's, with the same content)
  upper    every CNAME target in an answer is written in capitals, as a DNS panel may
           publish it (knot itself lower-cases names in record data)
  nosoa    every SOA record is taken out of every answer (a filtering server in front of
           walk.lab., for the inside resolver's stub zone): no SOA is ever seen, not even
           in a negative answer
  dropedns drops every query with EDNS (an OPT record), over UDP and TCP: no answer at
           all; plain queries work (a server that looks dead to EDNS clients)
  crosszone answers across zones, as PowerDNS does with resolve-across-zones=yes: when
           an answer ends in a CNAME to a name outside the zone, the TXT
           "cross-zone-token" is added at that target (out-of-bailiwick data)

Runs until SIGTERM.  Needs dnspython.  Binds loopback addresses only.
"""
import signal
import socket
import sys
import threading

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype
import dns.rrset

MODES = ("notcp", "formerr", "nocase", "typenx", "serial", "upper", "nosoa", "dropedns", "crosszone")
if len(sys.argv) != 4 or sys.argv[1] not in MODES:
    sys.exit(f"usage: quirk-auth.py {{{'|'.join(MODES)}}} ADDRESS UPSTREAM")
mode, addr, upstream = sys.argv[1:4]
if not addr.startswith("127.") or not upstream.startswith("127."):
    sys.exit("quirk-auth.py: refusing to use a non-loopback address")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
ZONE = dns.name.from_text(f"{mode}.lab.")


def ask_upstream(wire):
    """The upstream's raw answer to the raw query (UDP, then TCP when truncated)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        s.sendto(wire, (upstream, 53))
        out, _ = s.recvfrom(65535)
    if out[2] & 0x02:  # TC
        with socket.create_connection((upstream, 53), timeout=2) as t:
            t.sendall(len(wire).to_bytes(2, "big") + wire)
            n = int.from_bytes(t.recv(2), "big")
            out = b""
            while len(out) < n:
                chunk = t.recv(n - len(out))
                if not chunk:
                    break
                out += chunk
    return out


def answer(wire):
    q = dns.message.from_wire(wire)
    if q.opcode() != dns.opcode.QUERY or not q.question:
        return ask_upstream(wire)
    qn, qt = q.question[0].name, q.question[0].rdtype
    if mode == "dropedns" and q.edns >= 0:
        return None
    if mode == "formerr" and q.edns >= 0:
        r = dns.message.make_response(q)
        r.use_edns(False)
        r.set_rcode(dns.rcode.FORMERR)
        r.flags &= ~dns.flags.RA
        return r.to_wire()
    if mode == "nocase":
        q.question[0].name = dns.name.from_text(qn.to_text().lower())
        # the id and flags stay; only the name's case changes
        wire = q.to_wire()
    out = ask_upstream(wire)
    if mode == "nocase":
        return out  # the upstream echoes the lower-cased name
    ns_host = qn.labels[0].lower() == b"ns1"  # acme-dns answers for its own NS name
    if mode == "typenx" and qt != dns.rdatatype.TXT and qn != ZONE and qn.is_subdomain(ZONE) and not ns_host:
        r = dns.message.from_wire(out)
        if r.rcode() == dns.rcode.NOERROR:
            r.answer = []
            r.set_rcode(dns.rcode.NXDOMAIN)
            return r.to_wire()
        return out
    if mode == "upper":
        r = dns.message.from_wire(out)
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.CNAME:
                items = [rd.replace(target=dns.name.from_text(rd.target.to_text().upper())) for rd in rrset]
                rrset.clear()
                for rd in items:
                    rrset.add(rd)
        return r.to_wire()
    if mode == "crosszone":
        r = dns.message.from_wire(out)
        ends = [rd.target for rrset in r.answer if rrset.rdtype == dns.rdatatype.CNAME for rd in rrset]
        if ends and not ends[-1].is_subdomain(ZONE):
            r.answer.append(dns.rrset.from_text(ends[-1], 60, "IN", "TXT", '"cross-zone-token"'))
        return r.to_wire()
    if mode == "nosoa":
        r = dns.message.from_wire(out)
        r.answer = [x for x in r.answer if x.rdtype != dns.rdatatype.SOA]
        r.authority = [x for x in r.authority if x.rdtype != dns.rdatatype.SOA]
        return r.to_wire()
    if mode == "serial":
        r = dns.message.from_wire(out)
        for section in (r.answer, r.authority):
            for rrset in section:
                if rrset.rdtype == dns.rdatatype.SOA:
                    items = [rd.replace(serial=rd.serial + 1000) for rd in rrset]
                    rrset.clear()
                    for rd in items:
                        rrset.add(rd)
        return r.to_wire()
    return out


def udp_loop(s):
    while True:
        data, peer = s.recvfrom(4096)
        try:
            out = answer(data)
            if out is not None:
                s.sendto(out, peer)
        except Exception:  # no answer to a query we cannot handle
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
                if out is None:
                    continue
                c.sendall(len(out).to_bytes(2, "big") + out)
        except Exception:
            return


u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
u.bind((addr, 53))
if mode == "notcp":
    udp_loop(u)
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((addr, 53))
t.listen(16)
threading.Thread(target=udp_loop, args=(u,), daemon=True).start()
while True:
    conn, _ = t.accept()
    threading.Thread(target=tcp_client, args=(conn,), daemon=True).start()
