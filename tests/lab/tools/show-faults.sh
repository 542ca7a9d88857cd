#!/usr/bin/env bash
# show-faults.sh -- query every deliberate fault through the lab resolver
# (unbound, 127.0.0.53; some entries name another server: unbound2 .54,
# unbound-inside .55, the authoritative servers .11/.12 with +norec, or the
# blackhole .99) and print status, flags, EDE and answer records.
# Usage: tools/show-faults.sh [-v]    (-v: full kdig output)
set -uo pipefail
RESOLVER=${LAB_RESOLVER_IP:-127.0.0.53}
full=0; [[ ${1:-} == -v ]] && full=1
names=(
  "TXT _acme-challenge.www.example.test"             # good delegation
  "TXT _acme-challenge.broken.example.test"          # CNAME -> non-existent target
  "TXT _acme-challenge.stale.example.test"           # CNAME + stale TXT (soft zone)
  "TXT _acme-challenge.api.example.test"             # only the doubled name exists
  "TXT _acme-challenge.api.example.test.example.test"
  "TXT _acme-challenge.www.example.test.example.test"
  "CAA caa.example.test"                             # CAA forbids the lab CA
  "TXT _acme-challenge.nocname.example.test"         # no record at all
  "TXT _acme-challenge.chain.example.test"           # two-hop chain
  "TXT _acme-challenge.loop.example.test"            # CNAME loop
  "TXT _acme-challenge.lamehost.example.test"        # lame delegation (REFUSED)
  "TXT _acme-challenge.wrongtype.example.test"       # target has A, no TXT
  "TXT _acme-challenge.bogus.example.test"           # DS mismatch
  "TXT _acme-challenge.expired.example.test"         # expired RRSIGs
  "TXT _acme-challenge.badsig.example.test"          # signature does not verify
  "TXT _acme-challenge.nods.example.test"            # signed child, no DS (insecure)
  "TXT _acme-challenge.long.example.test"            # 9 CNAME hops (resolves)
  "TXT _acme-challenge.toolong.example.test"         # 33 CNAME hops (SERVFAIL)
  "TXT _acme-challenge.undelegated.example.test"     # CNAME into non-existent nowhere.lab.
  "TXT _acme-challenge.servfail.example.test"        # target zone sfail.lab. SERVFAILs
  "TXT _acme-challenge.splithorizon.example.test"    # public answer: sh-label.acme.lab.
  "TXT _acme-challenge.splithorizon.example.test 127.0.0.55"  # inside: sh-inside.acme.lab.
  "TXT _acme-challenge.negcache.example.test"        # no record (negative answer)
  "TXT _acme-challenge.negcache.example.test 127.0.0.54"      # cached for 300 s there
  "TXT _acme-challenge.www.split.test 127.0.0.11 +norec"      # auth copy A: www-label
  "TXT _acme-challenge.www.split.test 127.0.0.12 +norec"      # auth copy B: old-label
  "TXT _acme-challenge.n0000.bench.test"             # benchmark zone
  "TXT x.sfail.lab 127.0.0.12 +norec"                # auth SERVFAIL (zone not loaded)
  "TXT x.dead.example.test 127.0.0.99 +norec"        # blackhole: times out (2 s)
)
for q in "${names[@]}"; do
    set -- $q
    server=${3:-$RESOLVER}
    extra=(); [[ -n ${4:-} ]] && extra=("$4")
    tmo=5; [[ $server == 127.0.0.99 ]] && tmo=2
    echo "### kdig @$server $1 $2 +edns ${extra[*]}"
    t0=$(date +%s%N)
    out=$(kdig @"$server" "$1" "$2" +edns "${extra[@]}" +timeout=$tmo +retry=0 2>&1)
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    if ((full)); then echo "$out"; else
        echo "$out" | grep -E 'status:|^;; Flags|^;; EDE|^[^;].*\sIN\s|ERROR|WARNING' | sed 's/; id: [0-9]*//'
    fi
    echo "(${ms} ms)"; echo
done
