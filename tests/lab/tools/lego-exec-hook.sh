#!/usr/bin/env bash
# lego-exec-hook.sh -- lego's `exec` DNS provider hook for the verdict test
# (tests/verdict_lab.rs): a delegated client that holds a TXT-only key for the
# validation server only.
#   EXEC_PATH=tools/lego-exec-hook.sh LEGO_DISABLE_CNAME_SUPPORT=true lego --dns exec ...
# lego calls it as `present FQDN VALUE` / `cleanup FQDN VALUE` with FQDN =
# _acme-challenge.<name>. The hook follows the whole CNAME chain through the lab
# resolver (127.0.0.53, the resolver pebble uses), finds the zone of the end by an SOA
# lookup there (answer or authority section), and sends the RFC 2136 update for that
# zone to the validation server 127.0.0.12 with the acme-update key (TXT only). Where
# that server or key may not write (the production zone, a dead or missing zone), the
# update fails and so does the issuance: the same as for a real delegated client.
set -euo pipefail
LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="${LAB_RUN_DIR:-$LAB_DIR/run}"
RESOLVER=127.0.0.53
mode=${1:?present|cleanup}
name=${2:?fqdn}
value=${3:?value}
target=$name
for _ in $(seq 1 40); do
    next=$(kdig @$RESOLVER CNAME "$target" +short +timeout=2 +retry=0 | tail -n1)
    [[ -n $next && $next != "$target" ]] || break
    target=$next
done
zone=$(kdig @$RESOLVER SOA "$target" +timeout=2 +retry=0 +noall +answer +authority \
       | awk '$4 == "SOA" {print $1; exit}')
[[ -n $zone ]] || { echo "cannot find the zone of $target" >&2; exit 1; }
case $mode in
    present) op="update add $target 1 TXT \"$value\"" ;;
    cleanup) op="update delete $target TXT \"$value\"" ;;
    *) exit 0 ;;
esac
timeout 10 knsupdate -t 3 -r 0 -y "$(cat "$RUN/tsig.kdig")" <<EOF2
server 127.0.0.12 53
zone $zone
$op
send
EOF2
# The CA's resolver never sees a client's own lookups; here both use 127.0.0.53, so
# forget what this hook's lookups put in its cache (a type-dependent NXDOMAIN at the
# target, say), and let any other negative answer (kept 1 s there) expire.
if [[ $mode == present ]]; then
    for c in "flush_zone $target" flush_negative; do
        unbound-control -c "$RUN/unbound/unbound.conf" $c >/dev/null 2>&1 || true
    done
    sleep 1.2
fi
echo "$mode: $name -> $target (zone $zone)" >&2
