#!/usr/bin/env bash
# check-scenarios.sh -- assert that the lab's acme-delegate scenarios answer
# as documented (a self-test of the lab, not of acme-delegate).  Run it in a
# fresh lab:  tests/lab/hermetic.sh tests/lab/tools/check-scenarios.sh
# It writes into the zones (RFC 2136), so run it last / in its own lab.
# Exit status 0 = all passed.
set -uo pipefail
LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="${LAB_RUN_DIR:-$LAB_DIR/run}"
[[ -s $RUN/env.sh ]] || { echo "lab not started ($RUN/env.sh missing)" >&2; exit 1; }
# shellcheck disable=SC1091
source "$RUN/env.sh"
fail=0
ok()  { printf 'ok   %s\n' "$1"; }
bad() { printf 'FAIL %s\n' "$1"; [[ -n ${2:-} ]] && printf '%s\n' "$2" | sed 's/^/     | /'; fail=1; }
# expect DESCRIPTION REGEX kdig-args...   (REGEX is an extended regexp over the full output)
expect() {
    local d=$1 re=$2 out; shift 2
    out=$(kdig "$@" +timeout=3 +retry=0 2>&1)
    if grep -Eq -- "$re" <<<"$out"; then ok "$d"; else bad "$d" "$out"; fi
}
count_cnames() { kdig "$@" +timeout=3 +retry=0 2>/dev/null | grep -cE '\sIN\s+CNAME\s'; }
upd() { # server zone keyfile op... -> prints knsupdate output; rc of knsupdate
    local server=$1 zone=$2 key=$3; shift 3
    { echo "server $server 53"; echo "zone $zone"; printf '%s\n' "$@"; echo send; echo answer; } \
        | timeout 10 knsupdate -t 3 -r 0 -y "$(cat "$key")" 2>&1
}

# --- authoritative answers ----------------------------------------------------
expect "sfail.lab: 127.0.0.12 SERVFAIL (zone not loaded)" 'status: SERVFAIL' @127.0.0.12 TXT x.sfail.lab +norec
expect "split.test: 127.0.0.11 -> www-label" 'CNAME\s+www-label\.acme\.lab\.' @127.0.0.11 TXT _acme-challenge.www.split.test +norec
expect "split.test: 127.0.0.12 -> old-label" 'CNAME\s+old-label\.acme\.lab\.' @127.0.0.12 TXT _acme-challenge.www.split.test +norec
expect "split.test: serial 1 on .11"  'SOA\s+ns1\.split\.test\. hostmaster\.split\.test\. 1 ' @127.0.0.11 SOA split.test +norec
expect "split.test: serial 2 on .12"  'SOA\s+ns1\.split\.test\. hostmaster\.split\.test\. 2 ' @127.0.0.12 SOA split.test +norec
for s in 127.0.0.11 127.0.0.12; do
    expect "bench.test on $s: _acme-challenge.n0999 -> n0999.acme.lab" 'CNAME\s+n0999\.acme\.lab\.' @$s TXT _acme-challenge.n0999.bench.test +norec
    expect "bench.test on $s: n0000 A" 'n0000\.bench\.test\.\s+[0-9]+\s+IN\s+A\s+127\.0\.0\.1' @$s A n0000.bench.test +norec
done
expect "test. delegates split.test to 2 servers" 'ns2\.split\.test\.' @127.0.0.11 NS split.test +norec
# (127.0.0.12 itself answers SERVFAIL for sfail.lab., so read the delegation from lab.'s zone)
out=$(knotc -c "$RUN/knot-lab/knot.conf" zone-read lab. sfail.lab. 2>&1)
grep -Eq 'sfail\.lab\.\s+[0-9]+\s+NS\s+ns1\.sfail\.lab\.' <<<"$out" && ! grep -q ' DS ' <<<"$out" \
    && ok "lab. delegates sfail.lab. (NS, no DS)" || bad "lab. delegates sfail.lab. (NS, no DS)" "$out"
expect "example.test SOA minimum 300" 'SOA\s+ns1\.example\.test\. hostmaster\.example\.test\. [0-9]+ 300 60 86400 300' @127.0.0.11 SOA example.test +norec
t0=$(date +%s%N)
out=$(kdig @127.0.0.99 TXT x.dead.example.test +norec +timeout=1 +retry=0 2>&1)
grep -q 'response timeout' <<<"$out" && ok "blackhole 127.0.0.99 (udp) times out" || bad "blackhole 127.0.0.99 (udp) times out" "$out"
out=$(kdig @127.0.0.99 TXT x.dead.example.test +norec +tcp +timeout=1 +retry=0 2>&1)
grep -q 'response timeout' <<<"$out" && ok "blackhole 127.0.0.99 (tcp) times out" || bad "blackhole 127.0.0.99 (tcp) times out" "$out"

# --- resolvers ------------------------------------------------------------------
n=$(count_cnames @127.0.0.53 TXT _acme-challenge.long.example.test)
[[ $n == 9 ]] && ok "long: 9 CNAMEs via 127.0.0.53" || bad "long: 9 CNAMEs via 127.0.0.53 (got $n)"
n=$(count_cnames @127.0.0.53 TXT _acme-challenge.long.example.test +tcp)
[[ $n == 9 ]] && ok "long: 9 CNAMEs via 127.0.0.53 (warm cache)" || bad "long: 9 CNAMEs via 127.0.0.53, warm (got $n)"
expect "toolong: 127.0.0.54 cold: NXDOMAIN" 'status: NXDOMAIN' @127.0.0.54 TXT _acme-challenge.toolong.example.test +tcp
expect "toolong: 127.0.0.54 warm: SERVFAIL (max restarts)" 'status: SERVFAIL' @127.0.0.54 TXT _acme-challenge.toolong.example.test +tcp
expect "undelegated: NXDOMAIN, SOA lab." 'status: NXDOMAIN' @127.0.0.53 TXT _acme-challenge.undelegated.example.test
expect "servfail: SERVFAIL via 127.0.0.53" 'status: SERVFAIL' @127.0.0.53 TXT _acme-challenge.servfail.example.test
expect "splithorizon: public -> sh-label (127.0.0.53)" 'CNAME\s+sh-label\.acme\.lab\.' @127.0.0.53 TXT _acme-challenge.splithorizon.example.test
expect "splithorizon: public -> sh-label (127.0.0.54)" 'CNAME\s+sh-label\.acme\.lab\.' @127.0.0.54 TXT _acme-challenge.splithorizon.example.test
expect "splithorizon: inside -> sh-inside (127.0.0.55)" 'CNAME\s+sh-inside\.acme\.lab\.' @127.0.0.55 TXT _acme-challenge.splithorizon.example.test
expect "inside resolver resolves the rest normally" 'CNAME\s+www-label\.acme\.lab\.' @127.0.0.55 TXT _acme-challenge.www.example.test
t0=$(date +%s%N)
out=$(kdig @127.0.0.53 TXT _acme-challenge.deadhost.example.test +timeout=2 +retry=0 2>&1)
grep -Eq 'response timeout|status: SERVFAIL' <<<"$out" && ok "deadhost: no answer / SERVFAIL via 127.0.0.53 ($(( ($(date +%s%N) - t0) / 1000000 )) ms)" \
    || bad "deadhost: no answer via 127.0.0.53" "$out"

# --- negative caching + RFC 2136 into example.test ------------------------------------
expect "negcache: NXDOMAIN via 127.0.0.54 (now cached 300 s)" 'example\.test\.\s+300\s+IN\s+SOA' @127.0.0.54 TXT _acme-challenge.negcache.example.test
expect "negcache: NXDOMAIN via 127.0.0.53 (cached 1 s)" 'example\.test\.\s+1\s+IN\s+SOA' @127.0.0.53 TXT _acme-challenge.negcache.example.test
out=$(upd 127.0.0.11 example.test. "$LAB_TSIG_KDIG" "update add _acme-challenge.negcache.example.test. 60 CNAME negcache-label.acme.lab.")
grep -q 'status: NOERROR' <<<"$out" && ok "RFC 2136 CNAME into example.test (acme-update)" || bad "RFC 2136 CNAME into example.test (acme-update)" "$out"
out=$(upd 127.0.0.11 example.test. "$LAB_TSIG_KDIG" "update add txt-upd.example.test. 60 TXT \"hello\"")
grep -q 'status: NOERROR' <<<"$out" && ok "RFC 2136 TXT into example.test (acme-update)" || bad "RFC 2136 TXT into example.test (acme-update)" "$out"
expect "negcache: 127.0.0.11 now has the CNAME" 'CNAME\s+negcache-label\.acme\.lab\.' @127.0.0.11 TXT _acme-challenge.negcache.example.test +norec
expect "negcache: 127.0.0.54 still NXDOMAIN (negative cache)" 'status: NXDOMAIN' @127.0.0.54 TXT _acme-challenge.negcache.example.test
end=$((SECONDS + 4)); seen=0
while ((SECONDS < end)); do
    kdig @127.0.0.53 TXT _acme-challenge.negcache.example.test +timeout=2 +retry=0 | grep -q 'CNAME.*negcache-label' && { seen=1; break; }
    sleep 0.2
done
((seen)) && ok "negcache: 127.0.0.53 sees the CNAME within ~2 s" || bad "negcache: 127.0.0.53 sees the CNAME within ~2 s"
out=$(printf 'server 127.0.0.11 53\nzone example.test.\nupdate add unsigned.example.test. 60 TXT "x"\nsend\nanswer\n' | timeout 10 knsupdate -t 3 -r 0 2>&1)
grep -q 'NOTAUTH' <<<"$out" && ok "unsigned update into example.test refused" || bad "unsigned update into example.test refused" "$out"

# --- keys on acme.lab -----------------------------------------------------------------
out=$(upd 127.0.0.12 acme.lab. "$LAB_TSIG_KDIG" "update add cname-upd.acme.lab. 60 CNAME www-label.acme.lab.")
grep -q 'status: NOERROR' <<<"$out" && bad "acme-update may NOT add a CNAME to acme.lab" "$out" || ok "acme-update may not add a CNAME to acme.lab (TXT-only)"
out=$(upd 127.0.0.12 acme.lab. "$LAB_TSIG_ADMIN_KDIG" "update add admin-cname.acme.lab. 60 CNAME www-label.acme.lab." "update add admin-a.acme.lab. 60 A 127.0.0.1")
grep -q 'status: NOERROR' <<<"$out" && ok "acme-admin (hmac-sha512) may add CNAME + A to acme.lab" || bad "acme-admin may add CNAME + A to acme.lab" "$out"
expect "acme-admin's CNAME is served" 'CNAME\s+www-label\.acme\.lab\.' @127.0.0.12 CNAME admin-cname.acme.lab +norec
out=$(upd 127.0.0.12 acme.lab. "$LAB_TSIG_ADMIN_KDIG" "update add admin-txt.acme.lab. 60 TXT \"x\"")
grep -q 'status: NOERROR' <<<"$out" && ok "acme-admin may add TXT to acme.lab" || bad "acme-admin may add TXT to acme.lab" "$out"
grep -q '^key "acme-admin"' "$LAB_TSIG_ADMIN_BIND_KEY" && grep -q '^hmac-sha512:acme-admin:' "$LAB_TSIG_ADMIN_KDIG" \
    && ok "tsig-admin.kdig / tsig-admin.bind.key written" || bad "tsig-admin.kdig / tsig-admin.bind.key written"

# --- config for the tool --------------------------------------------------------------
[[ -s $LAB_CONFIG ]] && grep -q '127.0.0.55:53' "$LAB_CONFIG" && ok "LAB_CONFIG written ($LAB_CONFIG)" || bad "LAB_CONFIG written"
for v in LAB_RESOLVER LAB_RESOLVER2 LAB_INSIDE_RESOLVER LAB_CONFIG LAB_TSIG_KDIG LAB_TSIG_ADMIN_KDIG; do
    [[ -n ${!v:-} ]] || bad "env.sh exports $v"
done
exit $fail
