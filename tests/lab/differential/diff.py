#!/usr/bin/python3
"""diff.py -- differential test of acme-delegate's verdict against a validating resolver.

usage (inside the lab, see tests/lab/differential.sh):
    diff.py --seeds N --first F [--batch B] [--bin PATH]

For every seed a random delegation setup is generated (reproducibly: random.Random(seed)),
served by real authoritative servers (three knotd instances, plus tools/fault-auth.py fronts
for the transport faults) under two generated TLDs of the lab's fake root (dt. unsigned,
ds. signed). Then, in the order a user lives it:

  1. (negcache setups) the CA's resolver is asked first, so that it holds a negative answer;
  2. the tool runs: `acme-delegate check --json NAME` (with a plan naming the target, or
     none), its verdict = exit status 0 and `ok`;
  3. the client writes the TXT where it would: at the plan's target (a plan client), or at
     the end of the CNAME chain as its resolver follows it (a client without a plan that
     follows CNAMEs, like lego), and only when that name is in the validation zone (the
     only zone its key can update);
  4. the truth: the CA's resolver (a validating unbound with its own root hints, no
     forwarding, negative answers kept up to an hour as public resolvers do) is asked
     TXT _acme-challenge.NAME, twice (the second time with the chain in its cache, as
     for an apex + wildcard order or a retry: see truth()); true when both answers hold
     the value.

Verdict and truth must agree. A disagreement is minimised (dimensions set back to their
plain value one at a time while it still disagrees), printed with its zone files and server
faults, and saved in tests/lab/differential/regressions/SEED/ (setup.json + readable zone
files). Every run replays the saved regressions first.

For a sample of seeds (every PEBBLE_EVERY-th), a twin of the setup (same seed, other names)
is issued for real: lego against pebble, whose DNS-01 validation asks the same CA resolver.
The issuance must agree with the unbound truth; where it cannot (see PEBBLE_NOTES), the
reason is printed.

The last line: `differential: N seeds, A agree, D disagree, P pebble-checked`.
"""
import argparse
import base64
import concurrent.futures as cf
import copy
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import dns.update

HERE = os.path.dirname(os.path.abspath(__file__))
LAB = os.path.dirname(HERE)
REGRESSIONS = os.path.join(HERE, "regressions")
RUN = os.environ["LAB_RUN_DIR"]
WORK = os.path.join(RUN, "differential")

ROOT_IP = "127.0.0.10"
K0 = "127.0.3.10"  # the generated TLDs dt. (unsigned) and ds. (signed)
KNOTS = {1: "127.0.3.1", 2: "127.0.3.2", 3: "127.0.3.3"}
CA_RESOLVER = "127.0.0.60"  # the CA's resolver: the truth
CLIENT_RESOLVER = "127.0.0.53"  # the lab resolver: what lego follows CNAMEs with
PEBBLE_DIR = "https://127.0.0.1:14100/dir"
FAULTS = ["plain", "refused", "timeout", "notcp", "noedns", "formerr", "noaa", "trunc",
          "truncnotcp", "xzone", "upper"]
TSIG_NAME = "diff-update."
TSIG_SECRET = base64.b64encode(random.SystemRandom().randbytes(32)).decode()
ADMIN_NAME = "diff-admin."  # publishes the late CNAMEs (negcache); no client holds it
ADMIN_SECRET = base64.b64encode(random.SystemRandom().randbytes(32)).decode()
KEYRING = dns.tsigkeyring.from_text({TSIG_NAME: ("hmac-sha256", TSIG_SECRET),
                                     ADMIN_NAME: ("hmac-sha256", ADMIN_SECRET)})
PROCS = []


def log(msg):
    print(f"[differential {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def front(k, mode):
    """The address of fault-auth's front of knot k with MODE."""
    return f"127.0.5.{k * 16 + FAULTS.index(mode) + 1}"


def addr_of(k, mode):
    return KNOTS[k] if mode == "none" else front(k, mode)


# --- the generator ----------------------------------------------------------------------

def pick(r, weighted):
    total = sum(w for _, w in weighted)
    x = r.random() * total
    for v, w in weighted:
        x -= w
        if x < 0:
            return v
    return weighted[-1][0]


NEUTRAL = {
    "name_kind": "www", "hops": 1, "dname": False, "wildcard": None, "cut": None, "typo": None,
    "shared": False, "stale_txt": False, "negcache": False, "faults.O": ["none"],
    "faults.V": ["none"], "faults.F": ["none"], "faults.C": ["none"], "dnssec.O": "insecure",
    "dnssec.V": "insecure", "dnssec.F": "insecure",
}


def fault_list(r, shared_zone):
    def one():
        if r.random() < 0.72:
            return "none"
        modes = [m for m in FAULTS if m not in ("xzone", "plain")]
        return r.choice(modes + (["xzone"] * 3 if shared_zone else []) + ["plain"])
    out = [one()]
    if r.random() < 0.3:
        out.append(one())
    return out


def generate(seed):
    """The setup of one seed: a dict of dimensions (JSON), reproducible from the seed."""
    r = random.Random(seed)
    s = {"seed": seed}
    s["name_kind"] = pick(r, [("www", 5), ("deep", 2), ("apex", 2), ("wild", 1.5)])
    s["hops"] = pick(r, [(0, 0.6), (1, 8), (2, 3), (3, 1.5)] + [(n, 0.3) for n in range(4, 13)])
    s["hop_zones"] = [r.choice("OFV") for _ in range(12)]
    s["dname"] = r.random() < 0.12
    s["dname_zone"] = r.choice("OF")
    s["wildcard"] = None
    if r.random() < 0.14:
        s["wildcard"] = {"level": r.choice(["name", "zone", "mid"]), "target": r.choice(["T", "V", "O", "F"])}
    s["cut"] = pick(r, [(None, 20), ("parentrec", 1), ("childrec", 1), ("cutv", 1)])
    s["typo"] = pick(r, [(None, 14), ("owner_nodot", 1), ("target_nodot", 1.3), ("case", 1.5),
                         ("wrong_label", 0.8)])
    s["shared"] = r.random() < 0.35
    s["knots"] = {z: r.randint(1, 3) for z in "OVFC"}
    for z in "OVFC":
        s[f"faults.{z}"] = fault_list(r, z == "O" and s["shared"])
    s["faults.C"] = s["faults.C"][:1] if r.random() < 0.5 else ["none"]
    for z in "OVF":
        s[f"dnssec.{z}"] = pick(r, [("insecure", 4), ("secure", 4), ("bogus", 1), ("nods", 1)])
    s["soa_min_o"] = r.choice([300, 3600])
    s["stale_txt"] = r.random() < 0.1
    s["negcache"] = r.random() < 0.07
    s["plan"] = r.random() < 0.65
    return s


class Setup:
    """A setup rendered for one tag: zones (with the knot that serves them), records, the
    name, the plan's target, the client model."""

    def __init__(self, s, tag):
        self.s, self.tag = s, tag
        self.zones = {}  # zone name -> dict(k=knot, ns=[modes], dnssec=..., recs=[lines], min=..)
        self.build()

    def zone(self, key, name, k, faults, dnssec, soa_min):
        self.zones[name] = {"key": key, "k": k, "ns": list(faults), "dnssec": dnssec, "min": soa_min,
                            "recs": []}
        return name

    def add(self, zone, line):
        if self.s["negcache"] and self.late is None and " CNAME " in line:
            self.late = (zone, line)  # the first record of the chain comes late
            return
        self.zones[zone]["recs"].append(line)

    def build(self):
        s, tag = self.s, self.tag
        tld = {z: ("ds." if s[f"dnssec.{z}"] != "insecure" else "dt.") for z in "OVF"}
        kO = s["knots"]["O"]
        kV = kO if s["shared"] else (s["knots"]["V"] if s["knots"]["V"] != kO else kO % 3 + 1)
        kC = kO % 3 + 1
        self.O = self.zone("O", f"{tag}-o.{tld['O']}", kO, s["faults.O"], s["dnssec.O"],
                           3600 if s["negcache"] else s["soa_min_o"])
        self.late = None  # (zone, record): published after the CA's resolver was asked
        # zones where a chain may end keep negative answers 0 s (as acme-dns and validation
        # zones do): the tool's own questions must not decide the truth
        self.F = self.zone("F", f"{tag}-f.{tld['F']}", s["knots"]["F"], s["faults.F"], s["dnssec.F"], 0)
        kind = s["name_kind"]
        host = {"www": f"www.{self.O}", "deep": f"a.b.{self.O}", "apex": self.O, "wild": self.O}[kind]
        self.name = ("*." + host if kind == "wild" else host).rstrip(".")
        self.challenge = f"_acme-challenge.{host}"
        cut = s["cut"]
        if cut in ("parentrec", "childrec") and kind in ("apex", "wild"):
            cut = None
        wildcard = s["wildcard"] if cut != "cutv" else None
        typo = s["typo"]
        hops = s["hops"]
        v_min = 0
        if cut == "cutv":
            # the challenge name is a zone of its own: the validation zone (NS delegation)
            self.V = self.zone("V", self.challenge, kC, s["faults.C"], "insecure", v_min)
            self.target = self.challenge
            hops, wildcard = 0, None
            typo = typo if typo == "case" else None
        else:
            self.V = self.zone("V", f"{tag}-v.{tld['V']}", kV, s["faults.V"], s["dnssec.V"], v_min)
            self.target = f"lbl.{self.V}"
        self.cut, self.wildcard, self.typo, self.hops = cut, wildcard, typo, hops
        # where the name's own records live
        home = self.O
        if cut in ("parentrec", "childrec"):
            home = self.zone("C", host, kC, s["faults.C"], "insecure", 3600 if s["negcache"] else 60)
        if wildcard is None or wildcard["level"] == "name" or kind in ("apex", "wild"):
            self.add(home, f"{host} 60 A 127.0.0.1")
        if cut == "cutv":
            self.add(self.O, f"{host} 60 A 127.0.0.1")
        if s["stale_txt"] and cut != "cutv":
            self.add(self.V, f'{self.target} 1 TXT "stale-token"')
        # the chain
        cname_zone = self.O if cut != "childrec" else home
        if wildcard is not None:
            if wildcard["level"] == "name" or kind in ("apex", "wild"):
                owner = f"*.{host}"
            elif wildcard["level"] == "mid" and kind == "deep":
                owner = f"*.b.{self.O}"
            else:
                owner = f"*.{self.O}"
            wt = {"T": self.target, "V": f"wild.{self.V}", "O": f"wild.{self.O}", "F": f"wild.{self.F}"}[wildcard["target"]]
            self.add(home if owner.endswith(home) else self.O, f"{owner} 60 CNAME {wt}")
        elif hops > 0:
            names = [self.challenge]
            for i in range(1, hops):
                z = {"O": self.O, "F": self.F, "V": self.V}[s["hop_zones"][i - 1]]
                names.append(f"h{i}.{z}")
            last = self.target
            if typo == "wrong_label":
                last = f"lbx.{self.V}"
            if s["dname"]:
                dz = self.O if s["dname_zone"] == "O" else self.F
                self.add(dz, f"dn.{dz} 60 DNAME {self.V}")
                last = last.replace(f".{self.V}", f".dn.{dz}")
            names.append(last)
            for i in range(hops):
                owner, tgt = names[i], names[i + 1]
                z = cname_zone if i == 0 else self.zone_of(owner)
                if typo == "case":
                    tgt = tgt.upper()
                if i == hops - 1 and typo == "target_nodot":
                    tgt = tgt.rstrip(".")  # the zone is appended: a target-side doubling
                if i == 0 and typo == "owner_nodot":
                    owner = owner.rstrip(".")  # the zone is appended: an owner-side doubling
                self.add(z, f"{owner} 60 CNAME {tgt}")
        # the name as the user types it
        self.asked = self.name.upper() if typo == "case" else self.name
        self.challenge_asked = "_acme-challenge." + self.asked.removeprefix("*.") + "."
        self.plan = s["plan"]

    def writable(self, where, zone):
        """Can the client's key write at WHERE (in ZONE)? True, False, or None: not judged.
        With a plan: only in the plan's validation zone. Without one, the client is taken
        to hold keys for the validation zone and the foreign zone (another zone set up for
        it) when the validation zone's update server serves it; a chain that ends in the
        owner's own zone, or in a foreign zone on another server, is not judged (which
        zones a client may write is not a DNS fact), except a doubled name (a target written without
        its trailing dot, the owner's zone appended by the panel), which no key covers."""
        if zone is None:
            return False
        if self.plan:
            return zone == self.V
        if zone == self.V:
            return True
        if self.zones[zone]["key"] == "F":
            # one key, one update server (lego's rfc2136 takes one nameserver): the foreign
            # zone is written only when the validation zone's server serves it too
            return True if self.zones[zone]["k"] == self.zones[self.V]["k"] else None
        head = where[: -len(zone)]
        if any(head.endswith("." + z) or head == z for z in list(self.zones) + ["dt.", "ds."]):
            return False
        return None

    def zone_of(self, name):
        best = None
        for z in self.zones:
            if (name == z or name.endswith("." + z)) and (best is None or len(z) > len(best)):
                best = z
        return best

    def zone_text(self, z):
        d = self.zones[z]
        lines = [f"$ORIGIN {z}", "$TTL 60",
                 f"@ 3600 SOA ns1.{z} hostmaster.{z} 1 300 60 86400 {d['min']}"]
        for i, mode in enumerate(d["ns"], 1):
            lines.append(f"@ 3600 NS ns{i}.{z}")
            lines.append(f"ns{i}.{z} 3600 A {addr_of(d['k'], mode)}")
        # delegations to child zones of this setup (C below O)
        for c, cd in self.zones.items():
            if c != z and c.endswith("." + z) and self.parent_of(c) == z:
                for i, mode in enumerate(cd["ns"], 1):
                    lines.append(f"{c} 3600 NS ns{i}.{c}")
                    lines.append(f"ns{i}.{c} 3600 A {addr_of(cd['k'], mode)}")
        lines += d["recs"]
        return "\n".join(lines) + "\n"

    def parent_of(self, z):
        best = None
        for p in self.zones:
            if z != p and z.endswith("." + p) and (best is None or len(p) > len(best)):
                best = p
        return best

    def describe(self):
        """The setup in words and zone files (what a disagreement prints)."""
        out = [f"name {self.asked}  challenge {self.challenge_asked}  plan target "
               f"{self.target if self.plan else '(no plan: a client that follows the CNAME)'}"]
        for z, d in self.zones.items():
            servers = ", ".join(f"ns{i} {addr_of(d['k'], m)} (knot {d['k']}, fault {m})"
                                for i, m in enumerate(d["ns"], 1))
            out.append(f"; zone {z} dnssec={d['dnssec']} soa-minimum={d['min']} servers: {servers}")
            out.append(self.zone_text(z).rstrip())
        if self.late:
            out.append(f"; published in {self.late[0]} only after the CA's resolver was asked "
                       f"(it caches the NXDOMAIN for the SOA minimum): {self.late[1]}")
        return "\n".join(out)


# --- the lab's servers ---------------------------------------------------------------------

KNOT_CONF = """server:
    rundir: "{dir}"
    listen: {ip}@53
    udp-workers: 2
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: warning
database:
    storage: "{dir}/db"
control:
    listen: "{dir}/knot.sock"
key:
  - id: {tsig}
    algorithm: hmac-sha256
    secret: {secret}
  - id: {admin}
    algorithm: hmac-sha256
    secret: {admin_secret}
acl:
  - id: txt-update
    address: 127.0.0.0/8
    key: {tsig}
    action: update
    update-type: TXT
  - id: admin-update
    address: 127.0.0.0/8
    key: {admin}
    action: update
policy:
  - id: diff
    algorithm: ecdsap256sha256
    single-type-signing: on
    ksk-lifetime: 0
    zsk-lifetime: 0
    dnskey-ttl: 60
    zone-max-ttl: 3600
    propagation-delay: 0
template:
  - id: default
    storage: "{dir}/zones"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    dnssec-policy: diff
zone:
{zones}"""


def knot_dir(k):
    return os.path.join(WORK, f"knot{k}")


def write_knot_conf(k, ip, zones):
    """zones: [(name, signed, updatable)]"""
    d = knot_dir(k)
    os.makedirs(os.path.join(d, "db"), exist_ok=True)
    os.makedirs(os.path.join(d, "zones"), exist_ok=True)
    zl = []
    for z, signed, upd in zones:
        zl.append(f"  - domain: {z}\n    file: {z}zone\n    dnssec-signing: {'on' if signed else 'off'}\n"
                  + ("    acl: [txt-update, admin-update]\n" if upd else "    acl: admin-update\n"))
    body = KNOT_CONF.format(dir=d, ip=ip, tsig=TSIG_NAME.rstrip("."), secret=TSIG_SECRET,
                            admin=ADMIN_NAME.rstrip("."), admin_secret=ADMIN_SECRET, zones="".join(zl))
    if not zl:
        body = body.replace("zone:\n", "")
    with open(os.path.join(d, "knot.conf"), "w") as f:
        f.write(body)


def start(name, args, **kw):
    logf = open(os.path.join(WORK, f"{name}.log"), "ab")
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True, **kw)
    PROCS.append(p)
    return p


def knotc(k, *args):
    conf = os.path.join(knot_dir(k), "knot.conf") if k != "root" else os.path.join(RUN, "knot-root", "knot.conf")
    return subprocess.run(["knotc", "-c", conf, "-t", "20", *args], capture_output=True, text=True, timeout=60)


def query(server, name, rtype, rd=False, timeout=2.0, tcp=False, want_dnssec=False):
    q = dns.message.make_query(name, rtype, want_dnssec=want_dnssec)
    if not rd:
        q.flags &= ~dns.flags.RD
    try:
        if tcp:
            return dns.query.tcp(q, server, timeout=timeout)
        return dns.query.udp(q, server, timeout=timeout, ignore_unexpected=True)
    except Exception:
        return None


def wait_zone(ip, zone, signed, limit=60):
    end = time.time() + limit
    while time.time() < end:
        r = query(ip, zone, "DNSKEY" if signed else "SOA", tcp=True)
        if r is not None and r.rcode() == dns.rcode.NOERROR and r.flags & dns.flags.AA and r.answer:
            return r
        time.sleep(0.05)
    raise RuntimeError(f"zone {zone} not served by {ip} after {limit}s (see {WORK}/*.log)")


def ds_lines(zone, dnskey_answer, bogus):
    out = []
    for rrset in dnskey_answer.answer:
        if rrset.rdtype != dns.rdatatype.DNSKEY:
            continue
        for key in rrset:
            if key.flags & 1:  # SEP (knot's CSK: flags 257)
                ds = dns.dnssec.make_ds(dns.name.from_text(zone), key, "SHA256")
                text = ds.to_text()
                if bogus:
                    parts = text.split()
                    d = parts[3]
                    parts[3] = ("1" if d[0] == "0" else "0") + d[1:]
                    text = " ".join(parts)
                out.append(f"{zone} 3600 DS {text}")
    return out


def start_infrastructure(fronts_only=False):
    os.makedirs(WORK, exist_ok=True)
    # fault fronts: one per (knot, mode)
    with open(os.path.join(WORK, "fronts.conf"), "w") as f:
        for k, ip in KNOTS.items():
            for m in FAULTS:
                f.write(f"{front(k, m)} {ip} {m}\n")
    start("fault-auth", ["/usr/bin/python3", os.path.join(HERE, "fault-auth.py"), os.path.join(WORK, "fronts.conf")])
    # knot 0: the TLDs (ds. signed)
    write_tlds({"dt.": [], "ds.": []})
    write_knot_conf(0, K0, [("dt.", False, False), ("ds.", True, False)])
    start("knot0", ["knotd", "-c", os.path.join(knot_dir(0), "knot.conf")])
    for k, ip in KNOTS.items():
        write_knot_conf(k, ip, [])
        start(f"knot{k}", ["knotd", "-c", os.path.join(knot_dir(k), "knot.conf")])
    wait_zone(K0, "dt.", False)
    dnskey = wait_zone(K0, "ds.", True)
    # the root delegates dt. and ds. (with the DS of ds.)
    cmds = [("zone-begin", "."),
            ("zone-set", ".", "dt.", "3600", "NS", "ns.dt."),
            ("zone-set", ".", "ns.dt.", "3600", "A", K0),
            ("zone-set", ".", "ds.", "3600", "NS", "ns.ds."),
            ("zone-set", ".", "ns.ds.", "3600", "A", K0)]
    for line in ds_lines("ds.", dnskey, False):
        n, ttl, t, *data = line.split()
        cmds.append(("zone-set", ".", n, ttl, t, *data))
    cmds.append(("zone-commit", "."))
    for c in cmds:
        r = knotc("root", *c)
        if r.returncode != 0:
            raise RuntimeError(f"knotc {' '.join(c)}: {r.stdout}{r.stderr}")
    end = time.time() + 20
    while time.time() < end:
        r = query(ROOT_IP, "ds.", "DS")
        if r is not None and any(x.rdtype == dns.rdatatype.DS for x in r.answer):
            break
        time.sleep(0.1)
    else:
        raise RuntimeError("the lab root does not serve the DS of ds.")
    # the CA's resolver: validating, own root hints, no forwarding, negative answers kept
    d = os.path.join(WORK, "unbound-ca")
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(LAB, "conf", "root.hints"), d)
    anchor = os.path.join(RUN, "unbound", "root.anchor")
    tmpl = open(os.path.join(LAB, "conf", "unbound.conf.in")).read()
    conf = (tmpl.replace("@DIR@", d).replace("@IP@", CA_RESOLVER).replace("@MAXTTL@", "86400")
            .replace("@NEGTTL@", "3600").replace("@LOCAL@", "# the CA's resolver")
            .replace("@ANCHOR@", f'trust-anchor-file: "{anchor}"' if os.path.exists(anchor) else "#")
            .replace("verbosity: 1", f"verbosity: {int(os.environ.get('DIFF_UNBOUND_VERBOSITY', '1'))}"))
    with open(os.path.join(d, "unbound.conf"), "w") as f:
        f.write(conf)
    start("unbound-ca", ["unbound", "-d", "-c", os.path.join(d, "unbound.conf")])
    end = time.time() + 20
    while time.time() < end:
        r = query(CA_RESOLVER, ".", "SOA", rd=True, tcp=True)
        if r is not None and r.rcode() == dns.rcode.NOERROR:
            break
        time.sleep(0.1)
    else:
        raise RuntimeError("the CA's unbound did not start")
    # pebble whose DNS-01 validation asks the CA's resolver
    p = os.path.join(WORK, "pebble")
    os.makedirs(p, exist_ok=True)
    for f in ("server.pem", "server.key"):
        shutil.copy(os.path.join(RUN, "pebble", f), p)
    cfg = json.load(open(os.path.join(LAB, "conf", "pebble-config.json")))
    cfg["pebble"]["listenAddress"] = "127.0.0.1:14100"
    cfg["pebble"]["managementListenAddress"] = "127.0.0.1:15100"
    json.dump(cfg, open(os.path.join(p, "pebble-config.json"), "w"))
    env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0", PEBBLE_AUTHZREUSE="0")
    start("pebble", ["pebble", "-config", "pebble-config.json", "-dnsserver", f"{CA_RESOLVER}:53"], cwd=p, env=env)


def write_tlds(tlds):
    d = os.path.join(knot_dir(0), "zones")
    os.makedirs(d, exist_ok=True)
    for tld, lines in tlds.items():
        head = [f"$ORIGIN {tld}", "$TTL 3600", f"@ SOA ns.{tld} hostmaster.{tld} {int(time.time())} 300 60 86400 60",
                f"@ NS ns.{tld}", f"ns.{tld} A {K0}"]
        with open(os.path.join(d, f"{tld}zone"), "w") as f:
            f.write("\n".join(head + lines) + "\n")


def serve(setups):
    """Load every zone of the setups: knots 1-3 first, then the TLD delegations (with DS)."""
    per_knot = {k: [] for k in KNOTS}
    for st in setups:
        for z, d in st.zones.items():
            signed = d["dnssec"] != "insecure"
            per_knot[d["k"]].append((z, signed, d["key"] in ("V", "F")))
            with open(os.path.join(knot_dir(d["k"]), "zones", f"{z}zone"), "w") as f:
                f.write(st.zone_text(z))
    for k, ip in KNOTS.items():
        write_knot_conf(k, ip, per_knot[k])
        r = knotc(k, "reload")
        if r.returncode != 0:
            raise RuntimeError(f"knotc reload knot{k}: {r.stdout}{r.stderr}")
    tlds = {"dt.": [], "ds.": []}
    jobs = []
    with cf.ThreadPoolExecutor(8) as ex:
        for st in setups:
            for z, d in st.zones.items():
                jobs.append((st, z, d, ex.submit(wait_zone, KNOTS[d["k"]], z, d["dnssec"] != "insecure")))
        for st, z, d, fut in jobs:
            ans = fut.result()
            parent = st.parent_of(z)
            if parent is not None:
                continue  # delegated from its parent zone of the setup (written there)
            tld = z.split(".", 1)[1]
            for i, mode in enumerate(d["ns"], 1):
                tlds[tld].append(f"{z} NS ns{i}.{z}")
                tlds[tld].append(f"ns{i}.{z} A {addr_of(d['k'], mode)}")
            if d["dnssec"] in ("secure", "bogus"):
                tlds[tld] += ds_lines(z, ans, d["dnssec"] == "bogus")
    write_tlds(tlds)
    r = knotc(0, "zone-reload", "dt.")
    r2 = knotc(0, "zone-reload", "ds.")
    if r.returncode or r2.returncode:
        raise RuntimeError(f"knotc zone-reload: {r.stdout}{r.stderr}{r2.stdout}{r2.stderr}")
    # wait until the TLDs serve the batch's delegations
    end = time.time() + 30
    for st in setups:
        for z in (st.O, st.V if st.parent_of(st.V) is None else st.O):
            while True:
                r = query(K0, z, "NS")
                if r is not None and any(x.rdtype == dns.rdatatype.NS for x in r.authority):
                    break
                if time.time() > end:
                    raise RuntimeError(f"TLD does not delegate {z}")
                time.sleep(0.05)
    subprocess.run(["unbound-control", "-c", os.path.join(WORK, "unbound-ca", "unbound.conf"), "flush_infra", "all"],
                   capture_output=True, timeout=10)


# --- one setup: verdict, write, truth ------------------------------------------------------

def tool_config():
    p = os.path.join(WORK, "acme-delegate.toml")
    body = f"""roots = ["{ROOT_IP}:53"]
# the defaults (timeout_ms 2000, attempts 2): a CA waits for its resolver too
max_qps_per_server = 0
[[resolvers]]
name = "ca-resolver"
address = "{CA_RESOLVER}:53"
{{CA}}
[system]
enabled = false
"""
    with open(p, "w") as f:
        f.write(body.replace("{CA}", "ca = true"))
    # a binary without the `ca` key refuses the config at load time (exit 2, naming the key)
    probe = subprocess.run([BIN, "--config", p, "check", "--json", "nonexistent.invalid"],
                           capture_output=True, text=True, timeout=60)
    ca = not (probe.returncode == 2 and "ca" in probe.stdout + probe.stderr)
    if not ca:
        with open(p, "w") as f:
            f.write(body.replace("{CA}", "# (this binary has no `ca` key)"))
    log(f"CA resolver marked `ca = true`: {'yes' if ca else 'no (not supported by this binary)'}")
    return p


def write_plan(st, path):
    names = f"""[[names]]
name = "{st.asked.lower()}"
challenge = "{st.challenge_asked.lower()}"
target = "{st.target}"
zone = "{st.O}"
"""
    d = st.zones[st.V]
    body = f"""version = 1
[zone]
kind = "rfc2136"
server = "{KNOTS[d['k']]}:53"
zone = "{st.V}"
key_file = "{os.path.join(WORK, 'tsig.key')}"

{names}"""
    with open(path, "w") as f:
        f.write(body)


def verdict(st):
    cmd = [BIN, "--config", CONFIG]
    if st.plan:
        plan = os.path.join(WORK, "plans", f"{st.tag}.toml")
        write_plan(st, plan)
        cmd += ["--plan", plan]
    cmd += ["check", "--json", st.asked]
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=90, env=dict(os.environ, NO_COLOR="1"))
    except subprocess.TimeoutExpired:
        return {"ok": False, "rc": "timeout", "codes": [], "ms": 90000}
    ms = int((time.time() - t0) * 1000)
    if os.environ.get("DIFF_KEEP"):
        os.makedirs(os.environ["DIFF_KEEP"], exist_ok=True)
        with open(os.path.join(os.environ["DIFF_KEEP"], f"{st.tag}.check.json"), "w") as f:
            f.write(p.stdout)
    codes, ok = [], None
    try:
        doc = json.loads(p.stdout)
        n = doc["names"][0]
        ok = n["ok"]
        codes = [f"{f['code']}:{f['severity']}" for f in n["findings"]]
    except Exception:
        codes = ["(no JSON: " + (p.stderr.strip().splitlines() or ["?"])[-1][:200] + ")"]
    return {"ok": p.returncode == 0 and ok is True, "rc": p.returncode, "json_ok": ok, "codes": codes, "ms": ms}


def follow(name, lego_4_9=False):
    """The end of the CNAME chain as a client's resolver follows it (lego: CNAME questions).
    lego_4_9: stop at an answer that is not NOERROR, as lego 4.9.1 does."""
    cur = dns.name.from_text(name)
    seen = set()
    for _ in range(50):
        # asked again when its resolver does not answer in time (held up by a dead server
        # of the chain, it answers the next question): a client that gave up there would
        # write at an inner hop, a client's transient, not the verdict's (seed 210)
        for _ in range(3):
            r = query(CLIENT_RESOLVER, cur, "CNAME", rd=True, timeout=8)
            if r is not None:
                break
        if os.environ.get("DIFF_DEBUG"):
            log(f"follow {cur}: {r}")
        # knot chases CNAMEs inside its zone even for a CNAME question, so an answer whose
        # chain ends at a name that does not exist yet is NXDOMAIN with the CNAME in it:
        # an ideal follower takes the hop (lego 4.9.1 stops there: see PEBBLE_NOTES)
        if r is None or r.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            break
        if lego_4_9 and r.rcode() != dns.rcode.NOERROR:
            break
        nxt = None
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.CNAME and rrset.name == cur:
                nxt = rrset[0].target
        if nxt is None or nxt in seen:
            break
        seen.add(cur)
        cur = nxt
    return cur.to_text().lower()


def client_writes(st, value):
    """Where the client writes, and whether its key can: (name, written?)."""
    where = st.target if st.plan else follow(st.challenge_asked)
    v = st.zone_of(where)
    can = st.writable(where, v)
    if not can:
        return where, can
    u = dns.update.UpdateMessage(v, keyring=KEYRING, keyname=TSIG_NAME, keyalgorithm="hmac-sha256")
    u.add(where, 1, "TXT", f'"{value}"')
    try:
        r = dns.query.tcp(u, KNOTS[st.zones[v]["k"]], timeout=5)
        if r.rcode() != dns.rcode.NOERROR:
            log(f"{st.tag}: the client's update at {where} failed: {dns.rcode.to_text(r.rcode())}")
        return where, r.rcode() == dns.rcode.NOERROR
    except Exception as e:
        log(f"{st.tag}: the client's update at {where} failed: {e}")
        return where, False


def ask_truth(st, value):
    end = time.time() + 20
    r = None
    while time.time() < end:
        r = query(CA_RESOLVER, st.challenge_asked, "TXT", rd=True, timeout=15)
        if r is not None:
            break
    if os.environ.get("DIFF_DEBUG"):
        log(f"truth {st.challenge_asked}: {r}")
    if r is None:
        return False, "no answer"
    for rrset in r.answer:
        if rrset.rdtype == dns.rdatatype.TXT:
            for rd in rrset:
                if b"".join(rd.strings).decode(errors="replace") == value:
                    return True, "TXT found"
    return False, dns.rcode.to_text(r.rcode())


def truth(st, value):
    """The CA's resolver is asked twice, the second time once the TXT (TTL 1 s) has expired
    from its cache while the CNAMEs (TTL 60 s) have not: a CA asks again for an order of
    the apex and its wildcard (one challenge name, two validations), for a retry, or from a
    second perspective behind the same resolver. The TXT must be found both times. What a
    resolver answers may depend on its cache: unbound restarts its query at every CNAME it
    holds in its cache and gives up after 11 restarts, while a cold cache with QNAME
    minimisation counts fewer (differential seeds 212 and 607). Returns (found, why,
    found the first time)."""
    first, why = ask_truth(st, value)
    if not first:
        return False, why, False
    time.sleep(2.1)
    second, why2 = ask_truth(st, value)
    if second:
        return True, why, True
    return False, f"{why2} when asked again, the chain in its cache (found the first time)", True


def publish_late(st):
    """negcache: the CA's resolver is asked before the first CNAME is published."""
    if st.late is None:
        return
    query(CA_RESOLVER, st.challenge_asked, "TXT", rd=True, timeout=15)
    zone, line = st.late
    owner, ttl, rtype, data = line.split()
    u = dns.update.UpdateMessage(zone, keyring=KEYRING, keyname=ADMIN_NAME, keyalgorithm="hmac-sha256")
    u.add(owner if owner.endswith(".") else owner + "." + zone, int(ttl), rtype, data)
    r = dns.query.tcp(u, KNOTS[st.zones[zone]["k"]], timeout=5)
    if r.rcode() != dns.rcode.NOERROR:
        log(f"{st.tag}: publishing {line} failed: {dns.rcode.to_text(r.rcode())}")


def run_one(st):
    publish_late(st)
    v = verdict(st)
    value = f"token-{st.tag}"
    where, wrote = client_writes(st, value)
    # what the tool's questions cached expires before the CA asks (the TXT TTLs are 1 s);
    # a negative answer cached before (negcache) stays: its TTL is the SOA minimum, 3600 s
    time.sleep(2.1)  # (unbound serves a 1 s record until the next whole second ends)
    if wrote is None:
        return {"tag": st.tag, "seed": st.s["seed"], "verdict": v, "truth": None, "where": where,
                "wrote": None, "agree": True, "judged": False,
                "truth_why": f"not judged: the chain ends at {where}, outside the zones the client's key is known to cover"}
    ok, why, first = truth(st, value) if wrote else (False, "the client could not write", False)
    return {"tag": st.tag, "seed": st.s["seed"], "verdict": v, "truth": ok, "truth_why": why,
            "truth_first": first, "where": where, "wrote": wrote, "agree": v["ok"] == ok, "judged": True}


def lego(st):
    """A real issuance for the setup (its twin): lego + pebble; True when issued."""
    tmp = tempfile.mkdtemp(dir=WORK, prefix=f"lego-{st.tag}-")
    env = dict(os.environ, LEGO_CA_CERTIFICATES=os.path.join(RUN, "pebble", "ca.pem"))
    vk = KNOTS[st.zones[st.V]["k"]]
    if st.plan:
        # a plan client: writes at the plan's target (lego's exec provider + hook)
        env.update(EXEC_PATH=os.path.join(HERE, "plan-hook.sh"), DIFF_TARGET=st.target, DIFF_ZONE=st.V,
                   DIFF_SERVER=vk, DIFF_TSIG=f"hmac-sha256:{TSIG_NAME.rstrip('.')}:{TSIG_SECRET}",
                   EXEC_PROPAGATION_TIMEOUT="10", EXEC_POLLING_INTERVAL="1")
        provider = "exec"
    else:
        env.update(RFC2136_NAMESERVER=f"{vk}:53", RFC2136_TSIG_KEY=TSIG_NAME,
                   RFC2136_TSIG_SECRET=TSIG_SECRET, RFC2136_TSIG_ALGORITHM="hmac-sha256.", RFC2136_TTL="1",
                   RFC2136_PROPAGATION_TIMEOUT="10", RFC2136_POLLING_INTERVAL="1")
        provider = "rfc2136"
    cmd = ["lego", "--server", PEBBLE_DIR, "--email", "admin@example.test", "--accept-tos", "--path",
           os.path.join(tmp, "lego"), "--dns", provider, "--dns.resolvers", f"{CLIENT_RESOLVER}:53",
           "--dns.disable-cp", "--domains", st.asked.lower(), "run"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        rc, out = 124, "timeout"
    with open(os.path.join(tmp, "lego.log"), "w") as f:
        f.write(out)
    if rc == 0:
        shutil.rmtree(tmp, ignore_errors=True)
    return rc == 0, out.strip().splitlines()[-1][-300:] if out.strip() else ""


# Where lego + pebble may differ from the unbound truth, and why (checked per twin):
PEBBLE_NOTES = {
    "lego_4_9": "lego 4.9.1 stops following the CNAME chain at an answer that is not NOERROR; "
                "knot chases CNAMEs inside its zone even for a CNAME question, so where the chain "
                "ends at a name that does not exist yet the answer is NXDOMAIN and lego writes "
                "at an inner hop ({lego}) instead of the end ({ideal})",
}


def run_twin(st):
    publish_late(st)
    verdict(st)  # the same questions the tool asks (and caches they fill) before the client runs
    time.sleep(2.1)  # as for the truth: what the tool cached for 1 s has expired
    st.why_differs = None
    if not st.plan:
        ideal, lego_end = follow(st.challenge_asked), follow(st.challenge_asked, lego_4_9=True)
        if ideal != lego_end:
            st.why_differs = PEBBLE_NOTES["lego_4_9"].format(lego=lego_end, ideal=ideal)
    return lego(st)


# --- batches, minimisation, regressions ------------------------------------------------------

def run_batch(cases, twins=()):
    """cases: [(setup-dict, tag)] -> results; twins: [(setup-dict, tag)] -> pebble results."""
    setups = [Setup(s, tag) for s, tag in cases]
    twin_setups = [Setup(s, tag) for s, tag in twins]
    t0 = time.time()
    serve(setups + twin_setups)
    log(f"served {len(setups) + len(twin_setups)} setups in {time.time() - t0:.1f}s")
    with cf.ThreadPoolExecutor(PARALLEL) as ex:
        futs = [ex.submit(run_one, st) for st in setups]
        tfuts = [ex.submit(run_twin, st) for st in twin_setups]
        results = [f.result() for f in futs]
        tresults = [f.result() for f in tfuts]
    for st, r in zip(setups, results):
        r["setup"] = st
    for st, t in zip(twin_setups, tresults):
        st.pebble = t
    return results, twin_setups


def candidates(s):
    out = []
    for k, v in NEUTRAL.items():
        if s.get(k) != v:
            c = copy.deepcopy(s)
            c[k] = v
            out.append((k, c))
    if s["hops"] > 2:
        c = copy.deepcopy(s)
        c["hops"] = s["hops"] // 2
        out.append(("hops/2", c))
    return out


def minimise(res):
    """Greedy: set dimensions back to plain while the setup still disagrees."""
    current = {r["seed"]: (copy.deepcopy(r["setup"].s), r) for r in res}
    open_ = set(current)
    for rnd in range(8):
        if not open_:
            break
        cases, owners = [], []
        for seed in sorted(open_):
            for i, (k, c) in enumerate(candidates(current[seed][0])):
                cases.append((c, f"m{rnd}x{i}s{seed}"))
                owners.append((seed, k))
        if not cases:
            break
        results, _ = run_batch(cases)
        progressed = set()
        for (seed, k), r in zip(owners, results):
            if seed in progressed:
                continue
            if not r["agree"] and r["verdict"]["ok"] == current[seed][1]["verdict"]["ok"]:
                current[seed] = (r["setup"].s, r)
                progressed.add(seed)
        open_ = progressed
    return {seed: r for seed, (_, r) in current.items()}


MIN_PER_CLASS = int(os.environ.get("DIFF_MIN_PER_CLASS", "2"))
MIN_MAX = int(os.environ.get("DIFF_MIN_MAX", "12"))


def class_key(r):
    """Disagreements of one class: the same verdict, error codes and truth."""
    errors = " ".join(sorted({c for c in r["verdict"]["codes"] if c.endswith(":error")}))
    return (r["verdict"]["ok"], errors or "(no error)", r["truth_why"])


def save_regression(r):
    st = r["setup"]
    d = os.path.join(REGRESSIONS, str(st.s["seed"]))
    if os.path.exists(d):
        return d
    os.makedirs(d)
    json.dump(st.s, open(os.path.join(d, "setup.json"), "w"), indent=1, sort_keys=True)
    with open(os.path.join(d, "README"), "w") as f:
        f.write(report_text(r) + "\n")
    return d


def report_text(r):
    st, v = r["setup"], r["verdict"]
    return (f"seed {st.s['seed']}: acme-delegate says {'works' if v['ok'] else 'fails'} (exit {v['rc']}, "
            f"ok {v.get('json_ok')}, findings {' '.join(v['codes']) or '-'}); the CA's resolver: "
            f"{'finds the TXT' if r['truth'] else 'does not find it (' + r['truth_why'] + ')'}; "
            f"the client wrote at {r['where']} ({'written' if r['wrote'] else 'not written'})\n"
            + st.describe())


def self_test(n=300):
    """The generator is reproducible and every zone it renders parses (before any server
    starts): a broken generator fails here, not as a flood of disagreements."""
    import dns.zone
    seen_dims = set()
    for seed in range(1, n + 1):
        a, b = generate(seed), generate(seed)
        assert a == b, f"seed {seed}: the generator is not reproducible"
        st = Setup(json.loads(json.dumps(a)), f"t{seed}")
        for z in st.zones:
            try:
                dns.zone.from_text(st.zone_text(z), origin=z, relativize=False, check_origin=True)
            except Exception as e:
                raise AssertionError(f"seed {seed}: zone {z} does not parse: {e}\n{st.zone_text(z)}")
        assert st.challenge_asked.lower().startswith("_acme-challenge."), st.challenge_asked
        for k in ("wildcard", "cut", "typo", "dname", "negcache", "stale_txt", "shared", "plan"):
            if a[k]:
                seen_dims.add(k if k not in ("cut", "typo") else f"{k}={a[k]}")
        seen_dims |= {f"fault={m}" for z in "OVFC" for m in a[f"faults.{z}"]}
        seen_dims |= {f"dnssec={a[f'dnssec.{z}']}" for z in "OVF"}
        seen_dims.add(f"hops={a['hops']}")
    want = {"wildcard", "dname", "negcache", "stale_txt", "shared", "plan", "cut=parentrec", "cut=childrec",
            "cut=cutv", "typo=owner_nodot", "typo=target_nodot", "typo=case", "typo=wrong_label",
            "dnssec=secure", "dnssec=bogus", "dnssec=nods", "hops=0", "hops=12"} | {f"fault={m}" for m in FAULTS}
    missing = want - seen_dims
    assert not missing, f"the first {n} seeds never generate: {sorted(missing)}"


def main():
    global BIN, CONFIG, PARALLEL
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--first", type=int, default=1)
    ap.add_argument("--batch", type=int, default=int(os.environ.get("DIFF_BATCH", "50")))
    ap.add_argument("--bin", required=True)
    ap.add_argument("--no-regressions", action="store_true")
    a = ap.parse_args()
    self_test()
    BIN = a.bin
    PARALLEL = int(os.environ.get("DIFF_PARALLEL", "12"))
    pebble_every = int(os.environ.get("PEBBLE_EVERY", "10"))
    if os.path.exists(WORK):
        shutil.rmtree(WORK)
    os.makedirs(os.path.join(WORK, "plans"))
    with open(os.path.join(WORK, "tsig.key"), "w") as f:
        f.write(f'key "{TSIG_NAME.rstrip(".")}" {{\n    algorithm hmac-sha256;\n    secret "{TSIG_SECRET}";\n}};\n')
    os.chmod(os.path.join(WORK, "tsig.key"), 0o600)
    t0 = time.time()
    start_infrastructure()
    CONFIG = tool_config()
    log(f"servers up in {time.time() - t0:.1f}s")
    replay = []
    if not a.no_regressions and os.environ.get("DIFF_SHARD", "0") == "0" and os.path.isdir(REGRESSIONS):
        only = {x for x in os.environ.get("DIFF_ONLY", "").split(",") if x}
        for d in sorted(os.listdir(REGRESSIONS)):
            if only and d not in only:
                continue
            f = os.path.join(REGRESSIONS, d, "setup.json")
            if os.path.exists(f):
                replay.append((json.load(open(f)), f"r{d}"))
    seeds = list(range(a.first, a.first + a.seeds))
    all_results, twins = [], []
    batches = [replay] if replay else []
    batches += [[(generate(s), f"s{s}") for s in seeds[i:i + a.batch]] for i in range(0, len(seeds), a.batch)]
    for b in batches:
        tw = [(s, t + "p") for s, t in b if pebble_every and s["seed"] % pebble_every == 3 and not t.startswith("r")]
        tb = time.time()
        res, tws = run_batch(b, tw)
        all_results += res
        twins += tws
        d = sum(1 for r in res if not r["agree"])
        log(f"batch of {len(b)} (+{len(tw)} issued): {d} disagree, {time.time() - tb:.1f}s")
    # A regression folder with an OPEN file is a disagreement known and not yet fixed (the
    # file says why): it is replayed and printed every run, and counted apart, not in D.
    def open_reason(r):
        f = os.path.join(REGRESSIONS, r["tag"][1:], "OPEN")
        return open(f).read().strip() if r["tag"].startswith("r") and os.path.exists(f) else None
    known = [r for r in all_results if not r["agree"] and open_reason(r)]
    for r in all_results:
        if r["agree"] and open_reason(r):
            print(f"\nregression {r['seed']} is marked OPEN but agrees now: remove its OPEN file")
    bad = [r for r in all_results if not r["agree"] and not open_reason(r)]
    # A disagreement is confirmed by running its setup once more, afresh (new zone names,
    # the same dimensions). The tool and the truth both look at live servers, some of them
    # built to time out, on a loaded machine: a setup whose fresh run agrees is a timing
    # flake (of the truth as often as of the tool; see FLAKY below), printed with both
    # results and counted apart from D. One that disagrees again is a disagreement.
    flaky = []
    if bad and os.environ.get("DIFF_CONFIRM", "1") != "0":
        log(f"confirming {len(bad)} disagreement(s) on a fresh copy of each setup")
        again, _ = run_batch([(copy.deepcopy(r["setup"].s), "c" + r["tag"]) for r in bad])
        flaky = [(r, r2) for r, r2 in zip(bad, again) if r2["agree"]]
        flaky_tags = {r["tag"] for r, _ in flaky}
        bad = [r for r in bad if r["tag"] not in flaky_tags]
    new = [r for r in bad if not r["tag"].startswith("r")]
    # minimise (and save) a few of each class: the rest of a class is printed as found
    per_class, chosen = {}, []
    for r in new:
        key = class_key(r)
        if per_class.get(key, 0) < MIN_PER_CLASS and len(chosen) < MIN_MAX:
            per_class[key] = per_class.get(key, 0) + 1
            chosen.append(r)
    mins = {}
    if chosen:
        log(f"minimising {len(chosen)} of {len(new)} disagreement(s)")
        mins = minimise(chosen)
    for r in new:
        print(f"\nDISAGREE {report_text(r) if r['seed'] not in mins else report_text(r).splitlines()[0]}")
        if r["seed"] in mins:
            m = mins[r["seed"]]
            print(f"minimised:\n{report_text(m)}")
            print(f"saved: {save_regression(m)}")
    for r in bad:
        if r["tag"].startswith("r"):
            print(f"\nDISAGREE (regression {r['seed']}) {report_text(r)}")
    for r, r2 in flaky:
        print(f"\nFLAKY (agreed when run again afresh) {report_text(r).splitlines()[0]}\n"
              f"  run again: {report_text(r2).splitlines()[0]}")
    for r in known:
        print(f"\nKNOWN OPEN (regression {r['seed']}: {open_reason(r)}) {report_text(r).splitlines()[0]}")
    # pebble vs the unbound truth
    by_tag = {r["tag"]: r for r in all_results}
    for r, r2 in flaky:
        by_tag[r["tag"]] = r2  # pebble is compared with the truth of the run that agreed
    pebble_bad = pebble_same = pebble_explained = pebble_unjudged = 0
    for st in twins:
        r = by_tag[st.tag[:-1]]
        issued, why = st.pebble
        if not r["judged"]:
            pebble_unjudged += 1
            print(f"pebble not compared: seed {st.s['seed']}: {r['truth_why']}")
            continue
        if issued and not r["truth"] and r.get("truth_first") and not st.why_differs:
            st.why_differs = ("pebble validates once, against a cold cache; the CA's resolver found the "
                              "TXT at the first question and not at the second (see truth())")
        if (not issued and r["truth"] and not st.why_differs and "Error retrieving TXT records" in why
                and "i/o timeout" in why):
            st.why_differs = ("pebble's own DNS lookup timed out (lego: i/o timeout) before the CA's "
                              "resolver answered, on a setup whose servers time out; the truth asks with a "
                              "longer wait and found the TXT: a timing difference of pebble's client, not a verdict")
        if issued != r["truth"] and st.why_differs:
            pebble_explained += 1
            print(f"pebble differs, explained: seed {st.s['seed']}: lego+pebble "
                  f"{'issued' if issued else 'failed'}, unbound truth {r['truth']}: {st.why_differs}")
            continue
        same = issued == r["truth"]
        if not same:
            pebble_bad += 1
        else:
            pebble_same += 1
        print(f"pebble {'agrees' if same else 'DIFFERS'}: seed {st.s['seed']}: lego+pebble "
              f"{'issued' if issued else 'failed'}, unbound truth {r['truth']} ({r['truth_why']}); "
              f"client {'plan' if st.plan else 'follow'}{'' if same else '; lego: ' + why}")
    classes = {}
    for r in bad:
        classes.setdefault(class_key(r), []).append(r["seed"])
    for (ok, key, why), s in sorted(classes.items(), key=lambda x: -len(x[1])):
        print(f"class: tool says {'works' if ok else 'fails'} [{key}], the CA's resolver "
              f"{'finds the TXT' if why == 'TXT found' else why} x{len(s)}: seeds {s[:10]}")
    unjudged = sum(1 for r in all_results if not r["judged"])
    n = len(all_results)
    dis = len(bad) + pebble_bad
    agree = n - len(bad) - len(known) - unjudged - len(flaky)
    print(f"({len(replay)} regressions replayed, {len(known)} known open, {len(flaky)} flaky, {unjudged} not judged, "
          f"{pebble_bad} pebble differences; {time.time() - t0:.0f}s)")
    summary = os.environ.get("DIFF_SUMMARY")
    if summary:
        # a shard of a parallel run (differential.sh with DIFF_JOBS): its figures, for the
        # one closing line differential.sh prints over all shards
        with open(summary, "w") as f:
            json.dump({"seeds": n, "agree": agree, "disagree": dis, "pebble": len(twins),
                       "known": len(known), "flaky": len(flaky), "unjudged": unjudged, "replayed": len(replay),
                       "pebble_agree": pebble_same, "pebble_explained": pebble_explained,
                       "pebble_unjudged": pebble_unjudged, "pebble_differ": pebble_bad,
                       "seconds": round(time.time() - t0)}, f)
        print(f"differential shard: {n} seeds, {agree} agree, {dis} disagree, {len(twins)} pebble-checked")
    else:
        print(f"differential: {n} seeds, {agree} agree, {dis} disagree, {len(twins)} pebble-checked")
    return 0 if dis == 0 else 1


def keep_logs():
    """DIFF_KEEP=DIR: copy the run's logs (the CA's unbound, knots, fault fronts) there."""
    keep = os.environ.get("DIFF_KEEP")
    if not keep or not os.path.isdir(WORK):
        return
    os.makedirs(keep, exist_ok=True)
    for dirpath, _, files in os.walk(WORK):
        for f in files:
            if f.endswith(".log"):
                rel = os.path.relpath(os.path.join(dirpath, f), WORK).replace(os.sep, "_")
                shutil.copy(os.path.join(dirpath, f), os.path.join(keep, rel))


def stop_all():
    for p in PROCS:
        if p.poll() is None:
            p.terminate()
    for p in PROCS:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        rc = main()
    finally:
        keep_logs()
        stop_all()
    sys.exit(rc)
