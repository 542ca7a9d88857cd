#!/usr/bin/env bash
# start.sh -- start the loopback DNS-01 CNAME-delegation lab (idempotent).
#
#   knot-root  127.0.0.10:53   fake root zone "."                 (signed)
#   knot-test  127.0.0.11:53   test. + example.test.              (unsigned)
#                              example.test. takes RFC 2136 updates, any type (TSIG acme-update)
#                              + split.test. (copy A) + bench.test.
#                              + unsync.lab. (ns2: never updated, never synced)
#   knot-lab   127.0.0.12:53   lab. + acme.lab. (signed) + DNSSEC fault zones
#                              bogus.lab., nods.lab., expired.lab., badsig.lab.
#                              acme.lab. takes RFC 2136 TXT-only updates (TSIG
#                              acme-update) and any type with key acme-admin
#                              + sfail.lab. (fails to load -> SERVFAIL)
#                              + split.test. (copy B, disagrees with A) + bench.test.
#                              + unsync.lab. (ns1: TXT-only updates, acme-update)
#   blackhole  127.0.0.99:53   tools/blackhole.py: udp+tcp, never answers
#   conflict   127.0.0.98:53   tools/conflict-auth.py: conflict.lab., CNAME+TXT at one owner;
#                              nonaa.lab., data without the AA flag (lame)
#   intercept  127.0.0.86:53   tools/intercept.py: a network that answers DNS itself: NXDOMAIN,
#              127.0.0.85:53   resp. NOERROR/NODATA, for everything, without AA and without SOA
#   (nothing)  127.0.0.97:53   NS of refused.example.test.: nothing listens (port unreachable)
#   quirk-*    127.0.0.87-88,90-96:53 tools/quirk-auth.py fronts of knot-lab, one fault each:
#                              dropedns (.87), crosszone (.88), notcp (.91), formerr (.92), nocase (.93), typenx (.94), serial (.95),
#                              upper (.96), nosoa (.90: strips every SOA, the inside
#                              resolver's stub for walk.lab.)
#   unbound    127.0.0.53:53   recursive resolver, root-hints -> 127.0.0.10,
#                              trust anchor = DS of the fake root
#   unbound2   127.0.0.54:53   same, but keeps negative answers (cache-max-negative-ttl 3600)
#   unbound-inside 127.0.0.55:53  same as unbound, plus a split-horizon override:
#                              _acme-challenge.splithorizon.example.test CNAME sh-inside.acme.lab.
#   pdns       127.0.0.14:53   PowerDNS (pdns-server, gsqlite3 backend): pdns.lab., a provider-hosted
#              127.0.0.14:8081 validation zone delegated from lab. (no DS: insecure), TXT via its
#                              HTTP API (api=yes, key in $LAB_PDNS_KEY_FILE; URL $LAB_PDNS_API)
#   pebble     127.0.0.1:14000 ACME directory https://127.0.0.1:14000/dir
#              127.0.0.1:15000 management (roots: /roots/0)
#
# Everything binds to 127.0.0.0/8 only. Needs root (or CAP_NET_BIND_SERVICE)
# for port 53.  State lives in the run folder ($LAB_RUN_DIR, default ./run
# next to this script): configs, keys, zones, logs/, pids/, env.sh.
#
# Re-running while the lab is fully up does nothing.  If only part of it is
# up (or it is stale), the leftovers are stopped by PID and the lab is
# rebuilt from scratch (fresh DNSSEC keys, fresh TSIG key, fresh CA).
#
# Environment knobs:
#   LAB_RUN_DIR      run folder (default: <script dir>/run)
#   LAB_DNSSEC=0     don't sign, no trust anchor              (default 1)
#   LAB_PEBBLE=0     don't start pebble                       (default 1)
#   LAB_PDNS=0       don't start PowerDNS                     (default 1)
#   LAB_TSIG_SECRET  fixed base64 secret for key acme-update  (default: random)
#   LAB_TSIG_ADMIN_SECRET  same for key acme-admin (hmac-sha512)  (default: random)
#   LAB_TIMEOUT      seconds to wait for each component       (default 20)
#   LAB_BENCH_NAMES  names nNNNN in bench.test. (generated)   (default 1000; bench.sh adds more)
set -euo pipefail

LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUN="${LAB_RUN_DIR:-$LAB_DIR/run}"
DNSSEC="${LAB_DNSSEC:-1}"
WITH_PEBBLE="${LAB_PEBBLE:-1}"
WITH_PDNS="${LAB_PDNS:-1}"
PDNS_IP=127.0.0.14
TIMEOUT="${LAB_TIMEOUT:-20}"
BENCH_NAMES="${LAB_BENCH_NAMES:-1000}"
RESOLVER_IP=127.0.0.53
RESOLVER2_IP=127.0.0.54
INSIDE_IP=127.0.0.55
BLACKHOLE_IP=127.0.0.99
ALG=ecdsap256sha256

QUIRKS=(dropedns:127.0.0.87 crosszone:127.0.0.88 notcp:127.0.0.91 formerr:127.0.0.92 nocase:127.0.0.93 typenx:127.0.0.94 serial:127.0.0.95 upper:127.0.0.96
        nosoa:127.0.0.90)
COMPONENTS=(knot-root knot-test knot-lab blackhole conflict intercept unbound unbound2 unbound-inside)
for q in "${QUIRKS[@]}"; do COMPONENTS+=("quirk-${q%%:*}"); done
[[ $WITH_PEBBLE == 1 ]] && COMPONENTS+=(pebble)
[[ $WITH_PDNS == 1 ]] && COMPONENTS+=(pdns)

T0=$(date +%s.%N)
log() { printf '[lab %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
STARTED=0
cleanup_on_error() {  # if we fail half-way, stop what we started (by PID)
    local rc=$?
    if ((rc != 0 && STARTED)); then
        log "start failed (rc=$rc): stopping the components started so far"
        LAB_RUN_DIR="$RUN" "$LAB_DIR/stop.sh" || true
    fi
}
trap cleanup_on_error EXIT
expected_comm() { case $1 in knot-*) echo knotd ;; unbound*) echo unbound ;; blackhole|conflict|intercept|quirk-*) echo python3 ;; pdns) echo pdns_server ;; *) echo "$1" ;; esac; }
alive() { # component -> true if its PID file names a live (non-zombie) process of the right binary
    local f="$RUN/pids/$1.pid" pid
    [[ -s $f ]] || return 1
    pid=$(cat "$f")
    kill -0 "$pid" 2>/dev/null || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$(expected_comm "$1")" ]] || return 1
    ! grep -q '^[^)]*) Z' "/proc/$pid/stat" 2>/dev/null
}

# --- idempotency -------------------------------------------------------------
if [[ -f $RUN/.lab-run ]]; then
    up=1
    for c in "${COMPONENTS[@]}"; do alive "$c" || up=0; done
    if ((up)); then
        log "lab already running (run dir: $RUN)"
        exit 0
    fi
    log "partial or stale lab in $RUN: stopping leftovers and rebuilding"
    LAB_RUN_DIR="$RUN" "$LAB_DIR/stop.sh"
    rm -rf -- "$RUN"
elif [[ -e $RUN ]] && [[ -n "$(ls -A "$RUN" 2>/dev/null)" ]]; then
    die "$RUN exists, is not empty and has no .lab-run marker; refusing to touch it"
fi

# --- prerequisites -------------------------------------------------------------
for cmd in knotd knotc keymgr kdig knsupdate unbound unbound-checkconf openssl curl ss; do
    command -v "$cmd" >/dev/null || die "missing command: $cmd (apt-get install knot knot-dnsutils unbound openssl curl iproute2)"
done
[[ -x /usr/bin/python3 ]] || die "missing /usr/bin/python3 (apt-get install python3-dnspython python3-cryptography)"
[[ $WITH_PEBBLE == 1 ]] && { command -v pebble >/dev/null || die "missing command: pebble (apt-get install pebble)"; }
[[ $WITH_PDNS == 1 ]] && { [[ -x /usr/sbin/pdns_server ]] && command -v pdnsutil >/dev/null \
    && [[ -f /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql ]] \
    || die "missing PowerDNS (apt-get install pdns-server pdns-backend-sqlite3)"; }

[[ $EUID -eq 0 ]] || log "warning: not root -- binding port 53 needs CAP_NET_BIND_SERVICE (or run inside 'unshare -rn', see lab.md)"

# refuse to start if something else already owns one of our sockets
busy=$(ss -Hlntu 2>/dev/null | awk '{print $5}' \
       | grep -E "^(127\.0\.0\.(10|11|12|14|53|54|55|8[5-8]|9[0-9])|0\.0\.0\.0|\*|\[::\]|\[::1\]):53$|^127\.0\.0\.1:1[45]000$|^127\.0\.0\.14:8081$" | sort -u || true)
[[ -z $busy ]] || die "address(es) already in use: $(echo $busy) -- another lab or a local resolver owns them; stop it, or run the lab inside hermetic.sh"

STARTED=1
mkdir -p "$RUN"/{pids,logs} "$RUN"/knot-{root,test,lab}/{db,zones} "$RUN"/{unbound,unbound2,unbound-inside}
touch "$RUN/.lab-run"

subst() { # template output dir
    sed -e "s|@DIR@|$3|g" -e "s|@SIGN@|$SIGN|g" "$1" > "$2"
}
wait_for() { # timeout description command...
    local t=$1 d=$2; shift 2
    local end=$((SECONDS + t))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < end)) || die "timeout after ${t}s waiting for $d (see $RUN/logs/)"
        sleep 0.1
    done
}
start_bg() { # name command...   (PID of the daemon itself goes to pids/name.pid)
    local name=$1; shift
    setsid "$@" </dev/null >>"$RUN/logs/$name.log" 2>&1 &
    echo $! >"$RUN/pids/$name.pid"
}
aa_soa() { # server zone -> true when the server answers authoritatively
    kdig @"$1" "$2" SOA +norec +tcp +timeout=1 +retry=0 | grep -qi 'flags: qr aa'
}

if [[ $DNSSEC == 1 ]]; then SIGN=on; else SIGN=off; fi

# --- TSIG key for RFC 2136 updates of acme.lab. ---------------------------------
SECRET="${LAB_TSIG_SECRET:-$(keymgr -t acme-update hmac-sha256 | awk '/secret:/{print $2}')}"
[[ -n $SECRET ]] || die "could not generate TSIG secret"
cat >"$RUN/knot-lab/tsig.conf" <<EOF
key:
  - id: acme-update
    algorithm: hmac-sha256
    secret: $SECRET
EOF
cp "$RUN/knot-lab/tsig.conf" "$RUN/knot-test/tsig.conf"           # example.test. takes updates too
echo "hmac-sha256:acme-update:$SECRET" >"$RUN/tsig.kdig"          # kdig/knsupdate -y
cat >"$RUN/tsig.bind.key" <<EOF
key "acme-update" {
    algorithm hmac-sha256;
    secret "$SECRET";
};
EOF
# --- over-privileged TSIG key acme-admin (updates of any type in acme.lab.) --------
ADMIN_SECRET="${LAB_TSIG_ADMIN_SECRET:-$(keymgr -t acme-admin hmac-sha512 | awk '/secret:/{print $2}')}"
[[ -n $ADMIN_SECRET ]] || die "could not generate TSIG secret (acme-admin)"
cat >"$RUN/knot-lab/tsig-admin.conf" <<EOF
key:
  - id: acme-admin
    algorithm: hmac-sha512
    secret: $ADMIN_SECRET
EOF
echo "hmac-sha512:acme-admin:$ADMIN_SECRET" >"$RUN/tsig-admin.kdig"
cat >"$RUN/tsig-admin.bind.key" <<EOF
key "acme-admin" {
    algorithm hmac-sha512;
    secret "$ADMIN_SECRET";
};
EOF
chmod 600 "$RUN/knot-lab/tsig.conf" "$RUN/knot-test/tsig.conf" "$RUN/tsig.kdig" "$RUN/tsig.bind.key" \
          "$RUN/knot-lab/tsig-admin.conf" "$RUN/tsig-admin.kdig" "$RUN/tsig-admin.bind.key"

# --- knot configs + zone files ------------------------------------------------
for i in root test lab; do
    subst "$LAB_DIR/conf/knot-$i.conf.in" "$RUN/knot-$i/knot.conf" "$RUN/knot-$i"
done
cp "$LAB_DIR/zones/root.zone.in" "$RUN/knot-root/zones/root.zone"
cp "$LAB_DIR/zones/test.zone" "$LAB_DIR/zones/example.test.zone" "$LAB_DIR/zones/v6.example.test.zone" "$LAB_DIR/zones/split.test.a.zone" \
   "$LAB_DIR/zones/unsync.lab.zone" "$RUN/knot-test/zones/"
cp "$LAB_DIR/zones/lab.zone.in" "$RUN/knot-lab/zones/lab.zone"
cp "$LAB_DIR/zones/"{notcp,formerr,nocase,typenx,serial,upper,walk,dropedns,crosszone}.lab.zone "$LAB_DIR/zones/nsdel.example.test.zone" \
   "$LAB_DIR/zones/deleg.example.test.zone" \
   "$RUN/knot-lab/zones/"
cp "$LAB_DIR/zones/acme.lab.zone" "$LAB_DIR/zones/bogus.lab.zone" "$LAB_DIR/zones/nods.lab.zone" \
   "$LAB_DIR/zones/sfail.lab.zone" "$LAB_DIR/zones/slow.lab.zone" "$LAB_DIR/zones/split.test.b.zone" \
   "$LAB_DIR/zones/unsync.lab.zone" "$RUN/knot-lab/zones/"

# bench.test. (nNNNN, tools/gen-bench-zone.sh): generated here, not committed
"$LAB_DIR/tools/gen-bench-zone.sh" "$RUN/knot-test/zones/bench.test.zone" "$BENCH_NAMES"
cp "$RUN/knot-test/zones/bench.test.zone" "$RUN/knot-lab/zones/bench.test.zone"

# zones with deliberately broken signatures (served with dnssec-signing: off)
for z in expired badsig; do
    /usr/bin/python3 "$LAB_DIR/tools/presign.py" "$z.lab." "$z" \
        "$RUN/knot-lab/zones/$z.lab.zone" "$RUN/knot-lab/$z.ds" \
        || die "tools/presign.py failed (needs python3-dnspython, python3-cryptography)"
done

ds_of() { # instance zone -> DS (SHA-256 only) of the zone's CSK
    keymgr -c "$RUN/knot-$1/knot.conf" "$2" ds | awk '$5 == 2'
}
if [[ $DNSSEC == 1 ]]; then
    # Pre-generate the CSKs so that the DS records can be put into the parent
    # zone files *before* knotd starts; knotd's automatic policy adopts them.
    for z in lab. acme.lab. bogus.lab. nods.lab.; do
        keymgr -c "$RUN/knot-lab/knot.conf" "$z" generate algorithm=$ALG ksk=yes zsk=yes >/dev/null
    done
    keymgr -c "$RUN/knot-root/knot.conf" . generate algorithm=$ALG ksk=yes zsk=yes >/dev/null
    {
        echo "; --- DS records added by start.sh ---"
        ds_of lab acme.lab.
        # deliberately wrong DS for bogus.lab.: correct key tag/alg, digest altered
        ds_of lab bogus.lab. | awk '{ d = $6; $6 = (substr(d,1,1) == "0" ? "1" : "0") substr(d,2); print }'
        echo "; nods.lab. is signed but intentionally has no DS"
        cat "$RUN/knot-lab/expired.ds" "$RUN/knot-lab/badsig.ds"
    } >>"$RUN/knot-lab/zones/lab.zone"
    { echo "; --- DS record added by start.sh ---"; ds_of lab lab.; } >>"$RUN/knot-root/zones/root.zone"
    ds_of root . >"$RUN/unbound/root.anchor"
    [[ -s $RUN/unbound/root.anchor ]] || die "no DS for the root key"
    ANCHOR="trust-anchor-file: \"$RUN/unbound/root.anchor\""
else
    ANCHOR="# LAB_DNSSEC=0: no trust anchor, nothing is validated"
fi

for i in root test lab; do
    knotc -c "$RUN/knot-$i/knot.conf" conf-check >/dev/null 2>"$RUN/logs/knot-$i.confcheck" \
        || die "knot-$i config invalid: $(cat "$RUN/logs/knot-$i.confcheck")"
done

# --- start knot (children first, root last) + the blackhole ---------------------
start_bg knot-lab  knotd -c "$RUN/knot-lab/knot.conf"
start_bg knot-test knotd -c "$RUN/knot-test/knot.conf"
start_bg knot-root knotd -c "$RUN/knot-root/knot.conf"
start_bg blackhole /usr/bin/python3 "$LAB_DIR/tools/blackhole.py" "$BLACKHOLE_IP" 53
start_bg conflict /usr/bin/python3 "$LAB_DIR/tools/conflict-auth.py" 127.0.0.98 53
start_bg intercept /usr/bin/python3 "$LAB_DIR/tools/intercept.py" 127.0.0.86 127.0.0.85 53
for q in "${QUIRKS[@]}"; do
    start_bg "quirk-${q%%:*}" /usr/bin/python3 "$LAB_DIR/tools/quirk-auth.py" "${q%%:*}" "${q#*:}" 127.0.0.12
done
# (sfail.lab. on 127.0.0.12 is deliberately never ready: its zone fails to load)
for zs in 127.0.0.12:lab. 127.0.0.12:acme.lab. 127.0.0.12:slow.lab. 127.0.0.12:bogus.lab. 127.0.0.12:nods.lab. \
          127.0.0.12:expired.lab. 127.0.0.12:badsig.lab. 127.0.0.12:split.test. 127.0.0.12:bench.test. \
          127.0.0.12:unsync.lab. 127.0.0.12:notcp.lab. 127.0.0.12:formerr.lab. 127.0.0.12:nocase.lab. \
          127.0.0.12:typenx.lab. 127.0.0.12:serial.lab. 127.0.0.12:upper.lab. 127.0.0.12:deleg.example.test. 127.0.0.12:walk.lab. \
          127.0.0.12:_acme-challenge.nsdel.example.test. \
          127.0.0.11:test. 127.0.0.11:example.test. 127.0.0.11:split.test. 127.0.0.11:bench.test. \
          127.0.0.11:unsync.lab. \
          127.0.0.10:.; do
    wait_for "$TIMEOUT" "zone ${zs#*:} on ${zs%%:*}" aa_soa "${zs%%:*}" "${zs#*:}"
done
blackhole_up() {
    ss -Hlnt "sport = :53" | grep -qF "$BLACKHOLE_IP:53" && ss -Hlnu "sport = :53" | grep -qF "$BLACKHOLE_IP:53"
}
wait_for "$TIMEOUT" "blackhole on $BLACKHOLE_IP:53" blackhole_up
wait_for "$TIMEOUT" "conflict-auth on 127.0.0.98:53" aa_soa 127.0.0.98 conflict.lab.
wait_for "$TIMEOUT" "zone v6.example.test. on [::1]:53" aa_soa ::1 v6.example.test.
quirk_soa() { # the quirk front answers (over UDP: notcp has no TCP; no EDNS: formerr)
    kdig @"$1" "$2" SOA +norec +noedns +timeout=1 +retry=0 | grep -q 'status: NOERROR'
}
for q in "${QUIRKS[@]}"; do
    z="${q%%:*}.lab."; [[ ${q%%:*} == nosoa ]] && z=walk.lab.
    wait_for "$TIMEOUT" "quirk-auth ${q%%:*} on ${q#*:}:53" quirk_soa "${q#*:}" "$z"
done
nonaa_soa() { # conflict-auth answers for nonaa.lab. with data but without AA
    local out
    out=$(kdig @127.0.0.98 nonaa.lab. SOA +norec +tcp +timeout=1 +retry=0) || return 1
    grep -q 'status: NOERROR' <<<"$out" && ! grep -qi 'flags: qr aa' <<<"$out" \
        && grep -Eq '^nonaa\.lab\.\s+[0-9]+\s+IN\s+SOA' <<<"$out"
}
wait_for "$TIMEOUT" "conflict-auth (nonaa.lab., no AA) on 127.0.0.98:53" nonaa_soa
intercepted() { # server rcode -> it answers anything with that rcode, without AA
    local out
    out=$(kdig @"$1" com. NS +norec +tcp +timeout=1 +retry=0) || return 1
    grep -q "status: $2" <<<"$out" && ! grep -qi 'flags: qr aa' <<<"$out"
}
wait_for "$TIMEOUT" "intercept (NXDOMAIN) on 127.0.0.86:53" intercepted 127.0.0.86 NXDOMAIN
wait_for "$TIMEOUT" "intercept (NOERROR) on 127.0.0.85:53" intercepted 127.0.0.85 NOERROR
log "knot up (root .10, test .11, lab .12), blackhole up (.99)"

# --- PowerDNS: pdns.lab., written through the HTTP API ---------------------------
if [[ $WITH_PDNS == 1 ]]; then
    P="$RUN/pdns"; mkdir -p "$P"
    PDNS_KEY="${LAB_PDNS_API_KEY:-$(openssl rand -hex 24)}"
    printf '%s\n' "$PDNS_KEY" >"$RUN/pdns.api-key"; chmod 600 "$RUN/pdns.api-key"
    /usr/bin/python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(open(sys.argv[2]).read()); c.commit()' \
        "$P/pdns.sqlite3" /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql
    cat >"$P/pdns.conf" <<EOF
launch=gsqlite3
gsqlite3-database=$P/pdns.sqlite3
local-address=$PDNS_IP
local-port=53
api=yes
api-key=$PDNS_KEY
webserver=yes
webserver-address=$PDNS_IP
webserver-port=8081
webserver-allow-from=127.0.0.0/8
socket-dir=$P
guardian=no
daemon=no
disable-syslog=yes
loglevel=4
EOF
    chmod 600 "$P/pdns.conf"
    pdnsutil --config-dir="$P" create-zone pdns.lab ns1.pdns.lab >>"$RUN/logs/pdns.log" 2>&1 \
        || die "pdnsutil create-zone pdns.lab failed (see $RUN/logs/pdns.log)"
    pdnsutil --config-dir="$P" replace-rrset pdns.lab . SOA 300 \
        "ns1.pdns.lab. hostmaster.pdns.lab. 1 300 60 86400 5" >>"$RUN/logs/pdns.log" 2>&1
    pdnsutil --config-dir="$P" add-record pdns.lab ns1 A 300 "$PDNS_IP" >>"$RUN/logs/pdns.log" 2>&1
    pdnsutil --config-dir="$P" set-meta pdns.lab SOA-EDIT-API DEFAULT >>"$RUN/logs/pdns.log" 2>&1
    start_bg pdns /usr/sbin/pdns_server --config-dir="$P"
    wait_for "$TIMEOUT" "PowerDNS (pdns.lab.) on $PDNS_IP" aa_soa "$PDNS_IP" pdns.lab.
    wait_for "$TIMEOUT" "the PowerDNS API on $PDNS_IP:8081" \
        curl -sf --max-time 2 -H "X-API-Key: $PDNS_KEY" "http://$PDNS_IP:8081/api/v1/servers/localhost/zones/pdns.lab."
    log "PowerDNS up ($PDNS_IP:53, API http://$PDNS_IP:8081)"
fi

# --- unbound x3 (one template) ---------------------------------------------------
# NAME|IP|cache-max-ttl|cache-max-negative-ttl|extra server: lines
SPLIT_OWNER=_acme-challenge.splithorizon.example.test.
INSIDE_LOCAL="local-zone: \"$SPLIT_OWNER\" redirect\n    local-data: \"$SPLIT_OWNER 10 IN CNAME sh-inside.acme.lab.\""
# a filtering inside view: walk.lab. is asked through quirk-auth.py (nosoa, 127.0.0.90),
# which strips every SOA record: an SOA walk from the inside resolver never sees one there
INSIDE_LOCAL="$INSIDE_LOCAL\n    domain-insecure: \"walk.lab.\"\nstub-zone:\n    name: \"walk.lab.\"\n    stub-addr: 127.0.0.90"
UNBOUNDS=(
    "unbound|$RESOLVER_IP|10|1|# no local overrides"
    "unbound2|$RESOLVER2_IP|86400|3600|# public resolver: keeps negative answers (up to the SOA minimum)"
    "unbound-inside|$INSIDE_IP|10|1|$INSIDE_LOCAL"
)
for u in "${UNBOUNDS[@]}"; do
    IFS='|' read -r name ip maxttl negttl local <<<"$u"
    d="$RUN/$name"
    cp "$LAB_DIR/conf/root.hints" "$d/root.hints"
    if [[ $DNSSEC == 1 ]]; then
        [[ $name == unbound ]] || cp "$RUN/unbound/root.anchor" "$d/root.anchor"
        anchor="trust-anchor-file: \"$d/root.anchor\""
    else
        anchor=$ANCHOR
    fi
    sed -e "s|@DIR@|$d|g" -e "s|@ANCHOR@|$anchor|" -e "s|@IP@|$ip|g" \
        -e "s|@MAXTTL@|$maxttl|" -e "s|@NEGTTL@|$negttl|" -e "s|@LOCAL@|$local|" \
        "$LAB_DIR/conf/unbound.conf.in" >"$d/unbound.conf"
    unbound-checkconf "$d/unbound.conf" >"$RUN/logs/$name.confcheck" 2>&1 \
        || die "$name config invalid: $(cat "$RUN/logs/$name.confcheck")"
    start_bg "$name" unbound -d -c "$d/unbound.conf"
done
for ip in $RESOLVER_IP $RESOLVER2_IP $INSIDE_IP; do
    wait_for "$TIMEOUT" "unbound on $ip" \
        bash -c "kdig @$ip . SOA +tcp +timeout=2 +retry=0 | grep -q 'status: NOERROR'"
done
log "unbound up ($RESOLVER_IP:53), unbound2 ($RESOLVER2_IP:53), unbound-inside ($INSIDE_IP:53)"

# --- pebble ---------------------------------------------------------------------
if [[ $WITH_PEBBLE == 1 ]]; then
    P="$RUN/pebble"; mkdir -p "$P"
    cp "$LAB_DIR/conf/pebble-config.json" "$P/"
    # Debian's pebble package ships no test certificates: make a TLS CA + server cert
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$P/ca.key" -out "$P/ca.pem" -days 3650 -subj "/CN=acme-delegate lab pebble TLS CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$P/server.key" -out "$P/server.csr" -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >"$P/server.ext"
    openssl x509 -req -in "$P/server.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial \
        -days 825 -extfile "$P/server.ext" -out "$P/server.pem" 2>/dev/null
    ( cd "$P" && exec env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
          pebble -config pebble-config.json -dnsserver "$RESOLVER_IP:53" ) \
        </dev/null >>"$RUN/logs/pebble.log" 2>&1 &
    echo $! >"$RUN/pids/pebble.pid"
    wait_for "$TIMEOUT" "pebble on 127.0.0.1:14000" \
        curl -sf --max-time 2 --cacert "$P/ca.pem" https://127.0.0.1:14000/dir
    # root of the certificates pebble issues (regenerated on every pebble start)
    curl -sf --max-time 5 --cacert "$P/ca.pem" https://127.0.0.1:15000/roots/0 >"$P/issuer-root.pem" || true
    log "pebble up (https://127.0.0.1:14000/dir)"
fi

# --- sanity: every PID file names the daemon we expect ---------------------------
for c in "${COMPONENTS[@]}"; do
    alive "$c" || die "$c died right after start (see $RUN/logs/$c.log)"
done

cat >"$RUN/env.sh" <<EOF
# source me: environment for clients of the lab
export LAB_RUN_DIR="$RUN"
export LAB_RESOLVER="$RESOLVER_IP:53"
export LAB_ACME_DIRECTORY="https://127.0.0.1:14000/dir"
export LAB_RESOLVER2="$RESOLVER2_IP:53"
export LAB_INSIDE_RESOLVER="$INSIDE_IP:53"
export LAB_CONFIG="\$LAB_RUN_DIR/acme-delegate.toml"
export LAB_TSIG_KDIG="\$LAB_RUN_DIR/tsig.kdig"
export LAB_TSIG_BIND_KEY="\$LAB_RUN_DIR/tsig.bind.key"
export LAB_TSIG_ADMIN_KDIG="\$LAB_RUN_DIR/tsig-admin.kdig"
export LAB_TSIG_ADMIN_BIND_KEY="\$LAB_RUN_DIR/tsig-admin.bind.key"
# PowerDNS (pdns.lab.): API base URL and the file holding its key (0600)
export LAB_PDNS_API="http://$PDNS_IP:8081"
export LAB_PDNS_KEY_FILE="\$LAB_RUN_DIR/pdns.api-key"
# lego (rfc2136 provider)
export RFC2136_NAMESERVER="127.0.0.12:53"
export RFC2136_TSIG_KEY="acme-update."
export RFC2136_TSIG_SECRET="$SECRET"
export RFC2136_TSIG_ALGORITHM="hmac-sha256."
export RFC2136_TTL=1
export LEGO_CA_CERTIFICATES="\$LAB_RUN_DIR/pebble/ca.pem"
# certbot / python requests
export REQUESTS_CA_BUNDLE="\$LAB_RUN_DIR/pebble/ca.pem"
EOF
printf 'nameserver %s\noptions timeout:2 attempts:1\n' "$RESOLVER_IP" >"$RUN/resolv.conf"   # for with-lab-dns.sh
cat >"$RUN/certbot-rfc2136.ini" <<EOF
dns_rfc2136_server = 127.0.0.12
dns_rfc2136_port = 53
dns_rfc2136_name = acme-update.
dns_rfc2136_secret = $SECRET
dns_rfc2136_algorithm = HMAC-SHA256
EOF
chmod 600 "$RUN/certbot-rfc2136.ini"
# acme-delegate's own config for the tests ($LAB_CONFIG)
cat >"$RUN/acme-delegate.toml" <<EOF
roots = ["127.0.0.10:53"]
timeout_ms = 1000
# no per-server cap in the lab: its servers are ours (the polite default is for real providers)
max_qps_per_server = 0
[[resolvers]]
name = "lab-unbound"
address = "$RESOLVER_IP:53"
[[resolvers]]
name = "lab-unbound2"
address = "$RESOLVER2_IP:53"
[system]
servers = ["$INSIDE_IP:53"]
EOF

T1=$(date +%s.%N)
log "lab up in $(awk -v a="$T0" -v b="$T1" 'BEGIN{printf "%.2f", b-a}')s; source $RUN/env.sh"
