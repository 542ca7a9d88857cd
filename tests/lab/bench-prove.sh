#!/usr/bin/env bash
# bench-prove.sh -- `prove` of 100 names through RFC 2136 (acme.lab. on 127.0.0.12, key
# acme-update), in the lab: plan the names, publish their CNAMEs in example.test. (one
# knsupdate), then time `prove --json` three times, 2 s apart (the goal of issue 19: below
# 1 s).
#
#   cargo build --release                             # first, outside the namespace
#   tests/lab/hermetic.sh tests/lab/bench-prove.sh    # then, inside the lab
# Env: BENCH_BIN (default target/release/acme-delegate), PROVE_N (default 100).
# Exit 0 unless something could not run at all.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN=${BENCH_BIN:-$ROOT/target/release/acme-delegate}
N=${PROVE_N:-100}
[[ -n ${LAB_CONFIG:-} && -s ${LAB_CONFIG:-} ]] || {
    echo "bench-prove.sh: LAB_CONFIG not set -- run me inside the lab: tests/lab/hermetic.sh tests/lab/bench-prove.sh" >&2; exit 2; }
[[ -x $BIN ]] || { echo "bench-prove.sh: $BIN is missing -- run 'cargo build --release' first" >&2; exit 2; }
TMP=$(mktemp -d /tmp/acme-delegate-prove.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
export XDG_CONFIG_HOME="$TMP/config" XDG_DATA_HOME="$TMP/data"
tag=$RANDOM
names=()
for ((i = 0; i < N; i++)); do names+=("pr$tag-$i.example.test"); done
timeout 120 "$BIN" --config "$LAB_CONFIG" plan --plan "$TMP/plan.toml" --json --zone rfc2136 \
    --server 127.0.0.12:53 --key-file "$LAB_TSIG_BIND_KEY" --domain acme.lab "${names[@]}" >"$TMP/plan.json" || true
python3 -c '
import json, sys
for n in json.load(open(sys.argv[1]))["names"]:
    print("update add _acme-challenge.%s. 60 CNAME %s" % (n["name"], n["target"]))' "$TMP/plan.json" >"$TMP/updates"
[[ $(wc -l <"$TMP/updates") == "$N" ]] || { echo "bench-prove.sh: the plan has not $N names (see $TMP/plan.json)" >&2; exit 2; }
{ echo "server 127.0.0.11 53"; echo "zone example.test."; cat "$TMP/updates"; echo "send"; } >"$TMP/nsupdate"
timeout 30 knsupdate -t 5 -y "$(cat "$LAB_TSIG_KDIG")" "$TMP/nsupdate"
for run in 1 2 3; do
    # The same names each run: the resolvers keep the last run's token (TTL 1 s) until it
    # expires, and prove rightly waits until they see the new one. Wait that out first, so
    # each run measures a proof, not the cache.
    ((run == 1)) || sleep 2
    rc=0
    t0=$(date +%s%N)
    timeout 120 "$BIN" --config "$LAB_CONFIG" prove --plan "$TMP/plan.toml" --json --timeout 30 >"$TMP/prove.json" 2>"$TMP/prove.err" || rc=$?
    t1=$(date +%s%N)
    ok=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
names = d.get("names", [])
print(sum(1 for n in names if n.get("ok")), len(names))' "$TMP/prove.json" 2>/dev/null || echo "? ?")
    echo "prove of $N names through RFC 2136, run $run: $(((t1 - t0) / 1000000)) ms, exit $rc, proved (ok/total): $ok"
done
exit 0
