#!/usr/bin/env bash
# bench.sh -- acme-delegate `check` against the physical limit (dnsperf) and a kdig loop,
# on the generated names of bench.test. (tools/gen-bench-zone.sh, written by start.sh).
#
#   cargo build --release                       # first, outside the namespace
#   tests/lab/hermetic.sh tests/lab/bench.sh    # then, inside the lab
#
# For each size S in BENCH_SIZES (default "1000 10000"), on names nobody asked before:
# (1) the tool: target/release/acme-delegate check --config CONFIG --json NAME...
#     on S names (nNNNN.bench.test), under /usr/bin/time -v  -> wall ms, peak RSS;
#     CONFIG is $LAB_CONFIG with max_qps_per_server set high (no cap in the lab).
# (2) the floor: dnsperf (-q 64, one process per server, all at once; -q 32 on the one
#     retry when a server dropped queries) sends the questions
#     the tool sends for S *other*, equally cold names: TXT _acme-challenge.NAME at the
#     bench.test. servers (127.0.0.11, 127.0.0.12), TXT NAME.acme.lab (the CNAME target)
#     at the acme.lab. server (127.0.0.12), and TXT _acme-challenge.NAME at each resolver
#     (127.0.0.53, .54, .55)  -> wall ms of the group (and dnsperf's own run time, lost
#     queries). Ratio = tool wall / floor wall.
#     Before (1) and (2) every resolver is asked one fresh name, so both start with the
#     shared zones (., test., bench.test., lab., acme.lab. and its keys) in cache.
#     When dnsperf loses queries (a full receive buffer on an overloaded machine: it then
#     waits for their timeout), the floor is run once more on fresh names.
#     The lab starts with 1,000 bench names: the script generates the rest (reloads knot).
# (3) the kdig loop (as before): a bash loop asking, per name, the questions the tool asked
#     until it learnt to skip the walk's NS question that the chain's TXT answer settles (it
#     now asks 7 per bench name: NS NAME at 127.0.0.11, the TXT questions below and the
#     resolvers), with kdig (10 processes per name) on the first BENCH_N names of (1): for each
#     authoritative server 127.0.0.11 and 127.0.0.12: NS NAME, NS _acme-challenge.NAME,
#     TXT _acme-challenge.NAME (+norec); TXT NAME.acme.lab at 127.0.0.12 (+norec); and
#     TXT _acme-challenge.NAME at each resolver 127.0.0.53, .54, .55 -> ratio kdig/tool.
# (4) the pacing proofs (tests/lab/bench-pacing.sh, unless BENCH_PACING=0): fast by default
#     (paced / unpaced), polite under knot's RRL (time, slipped answers seen, verdicts) and
#     to a server that drops queries above 100 qps (the qps it saw).
# Each size runs BENCH_ROUNDS rounds (default 3), each on fresh names, the order of tool and
# floor swapped each round; the ratio is median check ms / median floor ms over the valid
# rounds (a single 0.3 s or 3 s sample swings by 30 % on a shared 2-core machine).
# Prints one table. Exit 0 unless something could not run at all. Every step is bounded
# (timeout); the whole script stops after BENCH_LIMIT seconds.
# Env: BENCH_BIN (the binary, default target/release/acme-delegate), BENCH_SIZES (default "1000 10000"), BENCH_N (kdig-loop names, default 1000, 0 skips
#      it), BENCH_LIMIT (seconds, default 1800), BENCH_OUT (tool output prefix, default
#      /tmp/acme-delegate-bench: one .json per size).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BIN="${BENCH_BIN:-$ROOT/target/release/acme-delegate}"
SIZES=(${BENCH_SIZES:-1000 10000})
FLOOR_Q=64                                        # dnsperf -q per server (halved on a retry)
KN=${BENCH_N:-1000}
ROUNDS=${BENCH_ROUNDS:-3}
LIMIT=${BENCH_LIMIT:-1800}
OUT=${BENCH_OUT:-/tmp/acme-delegate-bench}
RESOLVERS=(127.0.0.53 127.0.0.54 127.0.0.55)

[[ -n ${LAB_CONFIG:-} && -s ${LAB_CONFIG:-} ]] || {
    echo "bench.sh: LAB_CONFIG not set -- run me inside the lab: tests/lab/hermetic.sh tests/lab/bench.sh" >&2; exit 2; }
[[ -x $BIN ]] || {
    echo "bench.sh: $BIN is missing -- build it first, outside the namespace (which has no network):" >&2
    echo "          cargo build --release" >&2; exit 2; }
for c in dnsperf kdig /usr/bin/time; do
    command -v "$c" >/dev/null || { echo "bench.sh: $c missing (apt-get install dnsperf knot-dnsutils time)" >&2; exit 2; }
done
if [[ ${BENCH_INNER:-} != 1 ]]; then   # bound the whole run
    BENCH_INNER=1 exec timeout --foreground "$LIMIT" bash "${BASH_SOURCE[0]}" "$@"
fi

# --- names: disjoint sets, all cold -----------------------------------------------------------
need=0
for s in "${SIZES[@]}"; do
    [[ $s =~ ^[0-9]+$ ]] && ((s >= 1)) || { echo "bench.sh: BENCH_SIZES must be positive numbers" >&2; exit 2; }
    [[ $ROUNDS =~ ^[0-9]+$ ]] && ((ROUNDS >= 1)) || { echo "bench.sh: BENCH_ROUNDS must be a positive number" >&2; exit 2; }
    need=$((need + 2 * s * ROUNDS))
done
((KN >= 0 && KN <= SIZES[0])) || { echo "bench.sh: BENCH_N must be 0..${SIZES[0]}" >&2; exit 2; }
RETRY=$need; need=$((need + SIZES[-1] * ROUNDS))  # fresh names for a repeated floor per round
WARM=$need; need=$((need + 8 * ROUNDS * ${#SIZES[@]}))  # one fresh warm-up name per timed step
name_of() { printf 'n%04d.bench.test' "$1"; }
have_names() { # both servers of bench.test. serve the last name needed
    local s
    for s in 127.0.0.11 127.0.0.12; do
        kdig @$s +norec +timeout=2 +retry=0 A "$(name_of $((need - 1)))" | grep -q 'status: NOERROR' || return 1
    done
}
if ! have_names; then   # the lab starts with 1,000 names: generate the rest, reload both servers
    echo "bench: bench.test. gets $need names ..." >&2
    zone="$LAB_RUN_DIR/knot-test/zones/bench.test.zone"
    "$ROOT/tests/lab/tools/gen-bench-zone.sh" "$zone" "$need"
    cp "$zone" "$LAB_RUN_DIR/knot-lab/zones/bench.test.zone"
    for k in test lab; do
        timeout 30 knotc -c "$LAB_RUN_DIR/knot-$k/knot.conf" zone-reload bench.test. >/dev/null
    done
    end=$((SECONDS + 60))
    until have_names; do
        ((SECONDS < end)) || { echo "bench.sh: bench.test. did not get $need names within 60 s" >&2; exit 2; }
        sleep 0.2
    done
fi

now_ns() { date +%s%N; }
udp_drops() { # datagrams dropped so far in this namespace because a receive buffer was full
    awk '$1 == "Udp:" { if (h) { print $6; exit } h = 1 }' /proc/net/snmp
}
lab_cpu_ms() { # CPU time (user + system) used so far by the lab's daemons (run/pids/*.pid)
    local f t=0 v
    for f in "$LAB_RUN_DIR"/pids/*.pid; do
        v=$(awk '{ print $14 + $15 }' "/proc/$(cat "$f")/stat" 2>/dev/null) || continue
        t=$((t + v))
    done
    echo $((t * 1000 / $(getconf CLK_TCK)))
}
warm_up() { # one fresh name at every resolver: the shared zones are in cache, the names are not
    local n r
    n="_acme-challenge.$(name_of "$WARM").";
    WARM=$((WARM + 1))
    for r in "${RESOLVERS[@]}"; do kdig @"$r" +timeout=2 +retry=0 TXT "$n" >/dev/null || true; done
}
CONFIG=$(mktemp /tmp/acme-delegate-bench.XXXXXX.toml)
TMP=$(mktemp -d /tmp/acme-delegate-bench.XXXXXX)
trap 'rm -rf "$CONFIG" "$TMP"' EXIT
grep -v '^max_qps_per_server' "$LAB_CONFIG" | sed '1i max_qps_per_server = 1000000' >"$CONFIG"
# (a binary from before the per-server cap does not know the key: then the lab's config)
"$BIN" --config "$CONFIG" >/dev/null 2>&1 || grep -v '^max_qps_per_server' "$LAB_CONFIG" >"$CONFIG"

# tool NAME... -> sets tool_ms, tool_rss (KiB), tool_rc
run_tool() {
    local out=$1; shift
    tool_rc=0
    local t0 t1
    local c0 d0
    c0=$(lab_cpu_ms); d0=$(udp_drops)
    t0=$(now_ns)
    timeout 300 /usr/bin/time -v -o "$TMP/time" "$BIN" check --config "$CONFIG" --json "$@" >"$out" || tool_rc=$?
    t1=$(now_ns)
    tool_ms=$(((t1 - t0) / 1000000))
    tool_servers_cpu=$(($(lab_cpu_ms) - c0))
    tool_drops=$(($(udp_drops) - d0))
    tool_rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$TMP/time")
    tool_cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%d", s * 1000 }' "$TMP/time")
    ((tool_rc == 0 || tool_rc == 1)) || echo "bench: note: acme-delegate exited with status $tool_rc (output in $out)" >&2
}

# floor NAME... -> sets floor_ms, floor_run_ms (dnsperf's own, the slowest server), floor_lost
run_floor() {
    local n f pids=() rc=0 t0 t1
    : >"$TMP/q.auth"; : >"$TMP/q.target"
    for n in "$@"; do
        echo "_acme-challenge.$n. TXT" >>"$TMP/q.auth"
        echo "${n%%.*}.acme.lab. TXT" >>"$TMP/q.target"
    done
    # knot-lab serves bench.test. and acme.lab.: it gets both lists, name by name
    paste -d '\n' "$TMP/q.auth" "$TMP/q.target" >"$TMP/q.12"
    local -a jobs=("127.0.0.11 q.auth" "127.0.0.12 q.12")
    for r in "${RESOLVERS[@]}"; do jobs+=("$r q.auth"); done
    local c0 d0
    c0=$(lab_cpu_ms); d0=$(udp_drops)
    t0=$(now_ns)
    for j in "${jobs[@]}"; do
        set -- $j
        timeout 120 /usr/bin/time -f 'cpu %U %S' -o "$TMP/cpu.$1" \
            dnsperf -s "$1" -d "$TMP/$2" -q "$FLOOR_Q" -n 1 -t 5 -e >"$TMP/dnsperf.$1" 2>&1 &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || rc=$?; done
    t1=$(now_ns)
    floor_ms=$(((t1 - t0) / 1000000))
    floor_servers_cpu=$(($(lab_cpu_ms) - c0))
    floor_drops=$(($(udp_drops) - d0))
    floor_cpu=$(cat "$TMP"/cpu.* | awk '$1 == "cpu" { s += $2 + $3 } END { printf "%d", s * 1000 }')
    ((rc == 0)) || echo "bench: note: a dnsperf ended with status $rc (see $TMP)" >&2
    floor_run_ms=$(cat "$TMP"/dnsperf.* | awk '/Run time \(s\):/ { if ($4 > m) m = $4 } END { printf "%d", m * 1000 }')
    floor_lost=$(cat "$TMP"/dnsperf.* | awk '/Queries lost:/ { s += $3 } END { print s + 0 }')
    floor_sent=$(cat "$TMP"/dnsperf.* | awk '/Queries sent:/ { s += $3 } END { print s + 0 }')
    if ((floor_lost > 0)); then
        echo "bench: note: dnsperf lost $floor_lost queries (per server: $(for f in "$TMP"/dnsperf.*; do
            printf '%s %s ' "${f##*.}" "$(awk '/Queries lost:/ {print $3}' "$f")"; done)); the floor waited for" \
            "their timeout (5 s) and is not valid. UDP receive-buffer drops in the lab: $floor_drops (an overloaded machine)" >&2
    fi
}

echo "bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)" >&2
rows=()
first_names=()
next=0
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
summary=()
for s in "${SIZES[@]}"; do
  r_tool=(); r_floor=(); r_ratio=(); valid=1
  for ((round = 1; round <= ROUNDS; round++)); do
    tool_names=(); floor_names=()
    for ((i = 0; i < s; i++)); do tool_names+=("$(name_of $((next + i)))"); done
    for ((i = 0; i < s; i++)); do floor_names+=("$(name_of $((next + s + i)))"); done
    next=$((next + 2 * s))
    ((${#first_names[@]})) || first=1

    # The order alternates from round to round (tool first, then floor first), so that
    # neither always runs on the warmer (or busier) machine.
    for step in $( ((round % 2 == 1)) && echo "tool floor" || echo "floor tool"); do
      if [[ $step == tool ]]; then
        echo "bench: $s names, round $round/$ROUNDS: acme-delegate check (${tool_names[0]} ..) ..." >&2
        warm_up
        run_tool "$OUT.$s.json" "${tool_names[@]}"
        if ((${first:-0})); then first=0; first_ms=$tool_ms; first_names=("${tool_names[@]}"); fi
      else
        echo "bench: $s names, round $round/$ROUNDS: dnsperf floor (${floor_names[0]} ..) ..." >&2
        warm_up
        run_floor "${floor_names[@]}"
        if ((floor_lost > 0 && RETRY + s <= WARM)); then
            # A server dropped queries at this depth: the fastest lossless floor is the limit,
            # so once more with half as many outstanding queries per server.
            FLOOR_Q=$((FLOOR_Q / 2))
            echo "bench: $s names: dnsperf floor again, on fresh names ($(name_of "$RETRY") ..), -q $FLOOR_Q ..." >&2
            floor_names=()
            for ((i = 0; i < s; i++)); do floor_names+=("$(name_of $((RETRY + i)))"); done
            RETRY=$((RETRY + s))
            warm_up
            run_floor "${floor_names[@]}"
        fi
        floor_q=$FLOOR_Q; FLOOR_Q=64
      fi
    done
    ratio=$(awk -v t="$tool_ms" -v f="$floor_ms" 'BEGIN { if (f > 0) printf "%.2f", t / f; else print "n/a" }')
    if ((floor_lost == 0)); then r_tool+=("$tool_ms"); r_floor+=("$floor_ms"); r_ratio+=("$ratio"); else ratio="$ratio!"; fi
    rows+=("$(printf '%-7s %9s %5s %9s %4s %9s %7s %6s %9s %9s %9s %9s %9s %6s' "$s/$round" "$tool_ms" "$tool_rc" "$floor_ms" "$floor_q" "$floor_run_ms" \
        "$floor_sent" "$floor_lost" "$ratio" "$tool_cpu" "$tool_servers_cpu" "$floor_cpu" "$floor_servers_cpu" "$tool_drops/$floor_drops") \
        $((tool_rss / 1024)) MiB")
  done
  if ((${#r_tool[@]})); then
    mt=$(median "${r_tool[@]}"); mf=$(median "${r_floor[@]}")
    mr=$(awk -v t="$mt" -v f="$mf" 'BEGIN { printf "%.2f", t / f }')
    verdict=$(awk -v r="$mr" 'BEGIN { print (r <= 1.25) ? "met" : "not met" }')
    summary+=("$s names: median check $mt ms / median floor $mf ms = $mr (rounds: ${r_ratio[*]}; goal <= 1.25: $verdict)")
  else
    summary+=("$s names: no valid round (dnsperf lost queries in every one)")
  fi
  [[ ${KEEP_OUTPUT:-} == 1 ]] || [[ $s == "${SIZES[0]}" ]] || rm -f "$OUT.$s.json"
done

# --- the kdig loop ------------------------------------------------------------------------------
kdig_ms=""; kdig_ratio=""
if ((KN > 0)); then
    echo "bench: kdig loop on $KN names, 10 queries per name ..." >&2
    kdig_loop() {
        local name s r
        for name in "$@"; do
            for s in 127.0.0.11 127.0.0.12; do
                kdig @$s +norec +timeout=2 +retry=0 NS "$name" >/dev/null
                kdig @$s +norec +timeout=2 +retry=0 NS "_acme-challenge.$name" >/dev/null
                kdig @$s +norec +timeout=2 +retry=0 TXT "_acme-challenge.$name" >/dev/null
            done
            kdig @127.0.0.12 +norec +timeout=2 +retry=0 TXT "${name%%.*}.acme.lab" >/dev/null
            for r in 127.0.0.53 127.0.0.54 127.0.0.55; do
                kdig @$r +timeout=2 +retry=0 TXT "_acme-challenge.$name" >/dev/null
            done
        done
    }
    export -f kdig_loop
    loop_rc=0
    t0=$(now_ns)
    timeout 600 bash -c 'kdig_loop "$@"' kdig_loop "${first_names[@]:0:KN}" || loop_rc=$?
    t1=$(now_ns)
    kdig_ms=$(((t1 - t0) / 1000000))
    ((loop_rc == 0)) || echo "bench: note: kdig loop ended with status $loop_rc (124 = hit the 600 s limit)" >&2
    kdig_ratio=$(awk -v k="$kdig_ms" -v t="$first_ms" 'BEGIN { if (t > 0) printf "%.1f", k / t; else print "n/a" }')
fi

# --- table ----------------------------------------------------------------------------------------
echo
printf '%-7s %9s %5s %9s %4s %9s %7s %6s %9s %9s %9s %9s %9s %6s  %s\n' names/rd "check ms" exit "floor ms" q "dnsperf" queries lost "ratio" \
    "chk cpu" "srv cpu" "flr cpu" "flr srv" "drops" "check peak RSS"
for r in "${rows[@]}"; do echo "$r"; done
for r in "${summary[@]}"; do echo "ratio: $r"; done
echo "(floor ms: wall time of the dnsperf group, one process per server, q outstanding each (64; 32 when a server"
echo " dropped queries at 64: the fastest lossless floor); dnsperf: its own run time, slowest"
echo " server; ratio: check ms / floor ms; chk cpu / flr cpu: CPU ms of check itself / of the dnsperf processes;"
echo " srv cpu / flr srv: CPU ms of the lab's daemons during check / during the floor; drops: UDP datagrams dropped on full receive buffers in the lab during"
echo " check / the floor; a ratio marked ! is not valid: dnsperf lost queries and waited for their timeout)"
if [[ -n $kdig_ms ]]; then
    echo "kdig loop (the first $KN of the tool's ${SIZES[0]} names, after it, 10 kdig per name): $kdig_ms ms; ratio kdig/tool $kdig_ratio"
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ ${BENCH_PACING:-1} != 0 ]]; then
    BENCH_BIN="$BIN" bash "$ROOT/tests/lab/bench-pacing.sh" || echo "bench: note: bench-pacing.sh could not run (status $?)" >&2
fi
exit 0
