#!/usr/bin/env bash
# bench-pacing.sh -- the three proofs of the adaptive pacing per server (issue 19;
# docs/config.md "Pacing"), in the lab, on one binary:
#
#   cargo build --release                               # first, outside the namespace
#   tests/lab/hermetic.sh tests/lab/bench-pacing.sh     # then, inside the lab
#   (tests/lab/bench.sh runs it at its end unless BENCH_PACING=0)
#
# (a) fast by default: `check` of 1,000 cold names (paNNNN.bench.test) with the default
#     config (the lab's roots and resolvers, every other key at its default) against
#     1,000 other cold names (pbNNNN) with the pacing off (ACME_DELEGATE_PACING=off):
#     ratio paced / unpaced, the goal is <= 1.3. PACING_ROUNDS (default 5) pairs, each run on
#     fresh names, the order swapped each round; the ratio of the medians.
# (b) polite under RRL: knot-lab (127.0.0.12, the validation-zone server: acme.lab.,
#     and a copy of bench.test.) gets knot's mod-rrl, 20 responses per second, slip 2 (the
#     lab's resolvers, 127.0.0.53-55, are whitelisted: the proof is about us). `check` of
#     the 1,000 bench names (their targets are NXDOMAIN in acme.lab.: one RRL bucket) with
#     and without it: every name must get the same verdict (ok and finding codes), with
#     no SERVER_TIMEOUT; prints the time and the slipped answers the tool saw (its debug
#     log of dns::pacing) and how many answers knot slipped or dropped.
# (c) polite to a dropping server: tools/dropper.py on 127.0.0.120, in front of unbound,
#     drops half its queries once it sees more than 100 per second. `check` of the
#     1,000 bench names with it as the only resolver: the queries per second it saw, each
#     second, and the largest after the first 5 s (goal: about 100); the verdicts must be
#     those of the same check with unbound asked directly.
# Exit 0 unless something could not run at all. Every step is bounded (timeout).
# Env: BENCH_BIN (default target/release/acme-delegate), PACING_N (names, default 1000),
# PACING_PARTS (which proofs to run, default abc; e.g. c for the dropper alone). Part (c)
# also prints the pacing's cuts (the window and the rate each set) from the debug log.
# PACING_KEEP=DIR keeps the reports, logs and the dropper's per-second counts there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN=${BENCH_BIN:-$ROOT/target/release/acme-delegate}
N=${PACING_N:-1000}
PARTS=${PACING_PARTS:-abc}
ROUNDS=${PACING_ROUNDS:-5}
DROPPER_IP=127.0.0.120
[[ -n ${LAB_CONFIG:-} && -s ${LAB_CONFIG:-} && -n ${LAB_RUN_DIR:-} ]] || {
    echo "bench-pacing.sh: LAB_CONFIG not set -- run me inside the lab: tests/lab/hermetic.sh tests/lab/bench-pacing.sh" >&2; exit 2; }
[[ -x $BIN ]] || { echo "bench-pacing.sh: $BIN is missing -- run 'cargo build --release' first" >&2; exit 2; }
((N >= 1 && N <= 1000)) || { echo "bench-pacing.sh: PACING_N must be 1..1000 (the lab's bench names)" >&2; exit 2; }
log() { printf 'bench-pacing: %s\n' "$*" >&2; }
TMP=$(mktemp -d /tmp/acme-delegate-pacing.XXXXXX)
KNOT_CONF="$LAB_RUN_DIR/knot-lab/knot.conf"
DROPPER_PID=""
cleanup() {
    [[ -z $DROPPER_PID ]] || kill "$DROPPER_PID" 2>/dev/null || true
    if [[ -f $TMP/knot.conf.orig ]]; then
        cp "$TMP/knot.conf.orig" "$KNOT_CONF"
        timeout 30 knotc -c "$KNOT_CONF" reload >/dev/null 2>&1 || true
    fi
    [[ -z ${PACING_KEEP:-} ]] || { mkdir -p "$PACING_KEEP" && cp -r "$TMP"/. "$PACING_KEEP"/; }
    rm -rf "$TMP"
}
trap cleanup EXIT
now_ns() { date +%s%N; }
names() { # PREFIX -> N names PREFIXnnnn.bench.test
    awk -v n="$N" -v p="$1" 'BEGIN { for (i = 0; i < n; i++) printf "%s%04d.bench.test\n", p, i }'
}
# check CONFIG NAMESFILE OUT [ENV...] -> ms, rc; the pacing's debug log in OUT.log
check() {
    local cfg=$1 list=$2 out=$3; shift 3
    local t0 t1
    rc=0
    t0=$(now_ns)
    env ACME_DELEGATE_LOG=acme_delegate::dns::pacing=debug "$@" timeout 600 \
        "$BIN" check --config "$cfg" --json --names-from "$list" >"$out" 2>"$out.log" || rc=$?
    t1=$(now_ns)
    ms=$(((t1 - t0) / 1000000))
    ((rc == 0 || rc == 1)) || log "note: check exited with status $rc (see $out, $out.log)"
}
verdicts() { # JSON -> one line per name: name ok codes...
    python3 -c '
import json, sys
for n in json.load(open(sys.argv[1]))["names"]:
    print(n["name"], n["ok"], " ".join(sorted(f["code"] for f in n["findings"])))' "$1"
}
compare() { # A.json B.json -> sets differ (names whose verdict differs), timeouts (SERVER_TIMEOUT in B)
    differ=$(diff <(verdicts "$1") <(verdicts "$2") | grep -c '^>' || true)
    timeouts=$(verdicts "$2" | grep -c 'SERVER_TIMEOUT' || true)
}

# The lab's roots and resolvers, everything else at its default.
grep -Ev '^(timeout_ms|max_qps_per_server|attempts|max_inflight)' "$LAB_CONFIG" >"$TMP/default.toml"
names n >"$TMP/n.names"   # the bench names of (b) and (c)

# --- (a) fast by default ---------------------------------------------------------------------
if [[ $PARTS == *a* ]]; then
# Runs of ~0.1-0.3 s swing by tens of ms on a shared machine: ROUNDS pairs (paced and off
# in turn, the order swapped each round, fresh cold names each run), medians compared.
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
a_p=(); a_o=(); a_cuts=0
for ((r = 0; r < ROUNDS; r++)); do
    names "pa${r}x" >"$TMP/pa.names"; names "pb${r}x" >"$TMP/pb.names"
    for turn in $( ((r % 2 == 0)) && echo "paced off" || echo "off paced"); do
        if [[ $turn == paced ]]; then
            log "(a) round $((r + 1))/$ROUNDS: $N cold names, paced (default config) ..."
            check "$TMP/default.toml" "$TMP/pa.names" "$TMP/a-paced.json"; a_p+=("$ms")
            a_cuts=$((a_cuts + $(grep -c 'pacing cut' "$TMP/a-paced.json.log" || true)))
        else
            log "(a) round $((r + 1))/$ROUNDS: $N other cold names, pacing off ..."
            check "$TMP/default.toml" "$TMP/pb.names" "$TMP/a-off.json" ACME_DELEGATE_PACING=off; a_o+=("$ms")
        fi
    done
done
a_paced=$(median "${a_p[@]}"); a_off=$(median "${a_o[@]}")
a_ratio=$(awk -v p="$a_paced" -v o="$a_off" 'BEGIN { printf "%.2f", p / o }')

fi

# --- (b) polite under RRL ----------------------------------------------------------------------
if [[ $PARTS == *b* ]]; then
log "(b) $N bench names without RRL ..."
check "$TMP/default.toml" "$TMP/n.names" "$TMP/b-plain.json"; b_plain=$ms
cp "$KNOT_CONF" "$TMP/knot.conf.orig"
awk '
    /^template:/ && !done {
        print "mod-rrl:"
        print "  - id: bench"
        print "    rate-limit: 20"
        print "    slip: 2"
        print "    whitelist: [ 127.0.0.53, 127.0.0.54, 127.0.0.55 ]"
        print ""
        tmpl = 1
    }
    { print }
    tmpl && /^  - id: default/ { print "    global-module: mod-rrl/bench"; tmpl = 0; done = 1 }
' "$TMP/knot.conf.orig" >"$KNOT_CONF"
timeout 30 knotc -c "$KNOT_CONF" reload >/dev/null || { log "knotc reload with mod-rrl failed"; exit 2; }
sleep 1
# Is RRL on? 300 NXDOMAIN questions at once from here (a bucket holds 4 s of tokens):
# some must come back truncated.
for i in $(seq 1 300); do
    kdig @127.0.0.12 +norec +ignore +retry=0 +timeout=1 TXT "rrlprobe$i.acme.lab" >"$TMP/probe.$i" 2>&1 &
done
wait
tc=$(cat "$TMP"/probe.* | grep -ciE 'flags:[a-z ]* tc' || true)
rm -f "$TMP"/probe.*
log "(b) RRL probe: $tc NXDOMAIN answers were slipped (truncated) of 300"
((tc > 0)) || { log "mod-rrl does not seem to be on (no slipped answer to the probe)"; exit 2; }
sleep 2
log "(b) $N bench names with RRL (20/s, slip 2) on 127.0.0.12 ..."
check "$TMP/default.toml" "$TMP/n.names" "$TMP/b-rrl.json"; b_rrl=$ms
b_slips=$(grep -c 'slipped answer' "$TMP/b-rrl.json.log" || true)
b_cuts=$(grep -c 'pacing cut' "$TMP/b-rrl.json.log" || true)
compare "$TMP/b-plain.json" "$TMP/b-rrl.json"; b_differ=$differ; b_timeouts=$timeouts
cp "$TMP/knot.conf.orig" "$KNOT_CONF"; rm -f "$TMP/knot.conf.orig"
timeout 30 knotc -c "$KNOT_CONF" reload >/dev/null || log "note: knotc reload without mod-rrl failed"

fi

# --- (c) polite to a dropping server -------------------------------------------------------------
if [[ $PARTS == *c* ]]; then
{
    grep -E '^roots' "$LAB_CONFIG"
    printf '[[resolvers]]\nname = "lab-unbound"\naddress = "127.0.0.53:53"\n[system]\nenabled = false\n'
} >"$TMP/direct.toml"
sed "s/127.0.0.53:53/$DROPPER_IP:53/; s/lab-unbound/dropper/" "$TMP/direct.toml" >"$TMP/dropper.toml"
log "(c) $N bench names, unbound asked directly ..."
check "$TMP/direct.toml" "$TMP/n.names" "$TMP/c-direct.json"; c_direct=$ms
python3 "$ROOT/tests/lab/tools/dropper.py" "$DROPPER_IP" 127.0.0.53 100 "$TMP/dropper.stats" &
DROPPER_PID=$!
for _ in $(seq 50); do
    kdig @$DROPPER_IP +timeout=1 +retry=0 SOA bench.test. 2>/dev/null | grep -q NOERROR && break
    sleep 0.1
done
sleep 1.5   # the probes leave its one-second window
log "(c) $N bench names through the dropper (drops half above 100 qps) ..."
check "$TMP/dropper.toml" "$TMP/n.names" "$TMP/c-dropper.json"; c_dropper=$ms
sleep 1.2; kill "$DROPPER_PID"; wait "$DROPPER_PID" 2>/dev/null || true; DROPPER_PID=""
compare "$TMP/c-direct.json" "$TMP/c-dropper.json"; c_differ=$differ; c_timeouts=$timeouts
c_cuts=$(grep 'pacing cut' "$TMP/c-dropper.json.log" | sed -E 's/\x1b\[[0-9;]*m//g' |
    grep -oE 'window=[0-9.]+|rate=[^ ]+' | paste -d' ' - - | awk '{ printf "%s%s", sep, $0; sep = "; " }')
c_losses=$(grep -c 'Lost' "$TMP/c-dropper.json.log" || true)
# per second while the check ran: received (the qps we sent), dropped
c_series=$(awk '$2 > 0 { printf "%s%d", sep, $2; sep = " " }' "$TMP/dropper.stats")
read -r c_max c_mean c_dropped c_total < <(awk '$2 > 0 { s++; tot += $2; d += $3; if (s > 5) { if ($2 > m) m = $2; t += $2; k++ } }
    END { printf "%d %.0f %d %d\n", m, (k ? t / k : 0), d, tot }' "$TMP/dropper.stats")

fi

echo
echo "pacing (issue 19), $N names each:"
[[ $PARTS != *a* ]] || printf '(a) fast by default: paced %s ms, pacing off %s ms (medians of %s runs each: paced %s, off %s): ratio %s (goal <= 1.3); cuts %s\n' "$a_paced" "$a_off" "$ROUNDS" "${a_p[*]}" "${a_o[*]}" "$a_ratio" "$a_cuts"
[[ $PARTS != *b* ]] || printf '(b) RRL 20/s slip 2 on 127.0.0.12: %s ms (without RRL %s ms); slipped answers seen %s; cuts %s;\n' "$b_rrl" "$b_plain" "$b_slips" "$b_cuts"
[[ $PARTS != *b* ]] || printf '    names whose verdict differs from the run without RRL: %s; SERVER_TIMEOUT findings: %s (goal 0 and 0)\n' "$b_differ" "$b_timeouts"
[[ $PARTS != *c* ]] || printf '(c) dropper (half dropped above 100 qps): %s ms (direct %s ms); qps it saw per second: %s\n' "$c_dropper" "$c_direct" "$c_series"
[[ $PARTS != *c* ]] || printf '    after the first 5 s: max %s qps, mean %s qps (goal about 100); dropped %s of %s; verdicts differing from direct: %s (goal 0), SERVER_TIMEOUT %s\n' \
    "$c_max" "$c_mean" "$c_dropped" "$c_total" "$c_differ" "$c_timeouts"
[[ $PARTS != *c* ]] || printf '    cuts (window, rate): %s\n' "$c_cuts"
exit 0
