#!/usr/bin/python3
"""fault-auth.py -- programmable authoritative fronts with transport faults (differential lab).

usage: fault-auth.py CONFIG

CONFIG has one line per front:  ADDRESS UPSTREAM MODE   (e.g. "127.0.5.17 127.0.3.1 refused").
Each front listens on ADDRESS:53 (UDP, and TCP unless the mode says otherwise), forwards
every question to the real authoritative server UPSTREAM:53 (a knotd of the differential
lab) and passes the answer back with one fault:

  plain       no fault (a second address of the same server)
  refused     every question gets REFUSED (a server that does not host the zone)
  timeout     never answers (UDP dropped; TCP accepted and left hanging)
  notcp       UDP only: no TCP listener
  noedns      queries carrying EDNS (an OPT record) are dropped; plain queries work
  formerr     queries carrying EDNS get FORMERR without OPT; plain queries work
  noaa        answers lose the AA flag (a lame server: a forwarder listed as NS)
  trunc       every UDP answer is truncated (TC, empty); TCP answers in full
  truncnotcp  every UDP answer is truncated and there is no TCP: no usable answer
  xzone       cross-zone answers, as PowerDNS with resolve-across-zones=yes: when the
              answer ends in a CNAME to a name in another zone the same upstream serves,
              that zone's records for the target are appended to the answer
  upper       CNAME targets in answers are written in capitals

Runs until SIGTERM. Binds loopback addresses only. Needs dnspython.
"""
import signal
import socket
import sys
import threading
import time

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdatatype

MODES = {"plain", "refused", "timeout", "notcp", "noedns", "formerr", "noaa", "trunc",
         "truncnotcp", "xzone", "upper"}
NO_TCP = {"notcp", "truncnotcp"}

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def ask(upstream, wire):
    """The upstream's raw answer (UDP, then TCP when truncated); None on failure."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            s.sendto(wire, (upstream, 53))
            out, _ = s.recvfrom(65535)
        if out[2] & 0x02:
            with socket.create_connection((upstream, 53), timeout=2) as t:
                t.sendall(len(wire).to_bytes(2, "big") + wire)
                n = int.from_bytes(recv_exact(t, 2), "big")
                out = recv_exact(t, n)
        return out
    except OSError:
        return None


def recv_exact(c, n):
    data = b""
    while len(data) < n:
        chunk = c.recv(n - len(data))
        if not chunk:
            raise OSError("closed")
        data += chunk
    return data


def cross_zone(upstream, q, out):
    """Append the records of the chain's end from the upstream's other zones."""
    r = dns.message.from_wire(out)
    if r.rcode() != dns.rcode.NOERROR or not q.question:
        return out
    qt = q.question[0].rdtype
    name = q.question[0].name
    for _ in range(8):
        nxt = None
        for rrset in r.answer:
            if rrset.name == name and rrset.rdtype == dns.rdatatype.CNAME:
                nxt = rrset[0].target
        if nxt is None:
            break
        if any(x.name == nxt for x in r.answer):
            name = nxt
            continue
        sub = dns.message.make_query(nxt, qt, want_dnssec=q.want_dnssec() if q.edns >= 0 else False,
                                     use_edns=q.edns >= 0)
        sub.flags &= ~dns.flags.RD
        raw = ask(upstream, sub.to_wire())
        if raw is None:
            break
        s = dns.message.from_wire(raw)
        if not s.flags & dns.flags.AA or s.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            break
        r.answer.extend(s.answer)
        if s.rcode() == dns.rcode.NXDOMAIN:
            r.set_rcode(dns.rcode.NXDOMAIN)
            r.authority = s.authority
        name = nxt
    return r.to_wire()


def answer(upstream, mode, wire, tcp):
    """The front's answer to one query, or None for no answer."""
    q = dns.message.from_wire(wire)
    if mode == "timeout":
        return None
    if mode == "refused":
        r = dns.message.make_response(q)
        r.flags &= ~(dns.flags.AA | dns.flags.RA)
        r.set_rcode(dns.rcode.REFUSED)
        return r.to_wire()
    if mode == "noedns" and q.edns >= 0:
        return None
    if mode == "formerr" and q.edns >= 0:
        r = dns.message.make_response(q)
        r.use_edns(False)
        r.set_rcode(dns.rcode.FORMERR)
        r.flags &= ~dns.flags.RA
        return r.to_wire()
    if mode in ("trunc", "truncnotcp") and not tcp:
        r = dns.message.make_response(q)
        r.flags |= dns.flags.TC | dns.flags.AA
        return r.to_wire()
    out = ask(upstream, wire)
    if out is None:
        return None
    if q.opcode() != dns.opcode.QUERY:
        return out
    if mode == "noaa":
        r = dns.message.from_wire(out)
        r.flags &= ~dns.flags.AA
        return r.to_wire()
    if mode == "xzone":
        return cross_zone(upstream, q, out)
    if mode == "upper":
        r = dns.message.from_wire(out)
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.CNAME:
                items = [rd.replace(target=dns.name.from_text(rd.target.to_text().upper())) for rd in rrset]
                rrset.clear()
                for rd in items:
                    rrset.add(rd)
        return r.to_wire()
    return out


def udp_loop(s, upstream, mode):
    while True:
        data, peer = s.recvfrom(4096)
        try:
            out = answer(upstream, mode, data, False)
            if out is not None:
                s.sendto(out, peer)
        except Exception:  # a query we cannot parse gets no answer
            pass


def tcp_client(c, upstream, mode):
    with c:
        c.settimeout(30)
        try:
            while True:
                n = int.from_bytes(recv_exact(c, 2), "big")
                out = answer(upstream, mode, recv_exact(c, n), True)
                if out is None:
                    time.sleep(10)  # hold the connection: the client waits for its timeout
                    return
                c.sendall(len(out).to_bytes(2, "big") + out)
        except Exception:
            return


def tcp_loop(t, upstream, mode):
    while True:
        conn, _ = t.accept()
        threading.Thread(target=tcp_client, args=(conn, upstream, mode), daemon=True).start()


def main():
    fronts = []
    for line in open(sys.argv[1]):
        if line.strip() and not line.startswith("#"):
            addr, upstream, mode = line.split()
            if not addr.startswith("127.") or not upstream.startswith("127."):
                sys.exit("fault-auth.py: refusing a non-loopback address")
            if mode not in MODES:
                sys.exit(f"fault-auth.py: unknown mode {mode}")
            fronts.append((addr, upstream, mode))
    for addr, upstream, mode in fronts:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        u.bind((addr, 53))
        threading.Thread(target=udp_loop, args=(u, upstream, mode), daemon=True).start()
        if mode not in NO_TCP:
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind((addr, 53))
            t.listen(64)
            threading.Thread(target=tcp_loop, args=(t, upstream, mode), daemon=True).start()
    print(f"fault-auth: {len(fronts)} fronts up", flush=True)
    while True:
        time.sleep(3600)


main()
