#!/usr/bin/env bash
# bench.sh -- acme-delegate vs. a kdig loop on the 1000 names of bench.test.
#
#   cargo build --release                       # first, outside the namespace
#   tests/lab/hermetic.sh tests/lab/bench.sh    # then, inside the lab
#
# (1) one process: target/release/acme-delegate check --config "$LAB_CONFIG"
#     --json n0000.bench.test ... n0999.bench.test   -> wall time, peak RSS
# (2) a bash loop asking, per name, the questions the tool asks, with kdig
#     (10 processes per name): for each authoritative server 127.0.0.11 and
#     127.0.0.12: NS NAME, NS _acme-challenge.NAME, TXT _acme-challenge.NAME
#     (+norec); TXT NAME.acme.lab at 127.0.0.12 (+norec); and TXT
#     _acme-challenge.NAME at each resolver 127.0.0.53, .54, .55.
# (3) prints a table (tool wall ms, tool peak RSS KiB, kdig-loop wall ms,
#     ratio kdig/tool).  Exit 0 unless something could not run at all.
# Env: BENCH_N (number of names, default 1000), BENCH_OUT (tool output file,
#      default /tmp/acme-delegate-bench.json).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BIN="$ROOT/target/release/acme-delegate"
N=${BENCH_N:-1000}
OUT=${BENCH_OUT:-/tmp/acme-delegate-bench.json}

[[ -n ${LAB_CONFIG:-} && -s ${LAB_CONFIG:-} ]] || {
    echo "bench.sh: LAB_CONFIG not set -- run me inside the lab: tests/lab/hermetic.sh tests/lab/bench.sh" >&2; exit 2; }
[[ -x $BIN ]] || {
    echo "bench.sh: $BIN is missing -- build it first, outside the namespace (which has no network):" >&2
    echo "          cargo build --release" >&2; exit 2; }
((N >= 1 && N <= 1000)) || { echo "bench.sh: BENCH_N must be 1..1000" >&2; exit 2; }

names=()
for ((i = 0; i < N; i++)); do names+=("$(printf 'n%04d.bench.test' "$i")"); done

now_ns() { date +%s%N; }

# --- (1) the tool ------------------------------------------------------------------------
echo "bench: acme-delegate check on $N names ..." >&2
tool_rc=0
if [[ -x /usr/bin/time ]]; then
    rss_file=$(mktemp)
    t0=$(now_ns)
    /usr/bin/time -f %M -o "$rss_file" "$BIN" check --config "$LAB_CONFIG" --json "${names[@]}" >"$OUT" || tool_rc=$?
    t1=$(now_ns)
    tool_rss=$(tail -n1 "$rss_file")
    rm -f "$rss_file"
else
    # no GNU time: sample VmHWM (peak RSS) from /proc while the tool runs
    t0=$(now_ns)
    "$BIN" check --config "$LAB_CONFIG" --json "${names[@]}" >"$OUT" &
    pid=$!
    tool_rss=0
    while kill -0 "$pid" 2>/dev/null; do
        v=$(awk '/^VmHWM:/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
        [[ -n $v ]] && ((v > tool_rss)) && tool_rss=$v
        sleep 0.01
    done
    wait "$pid" || tool_rc=$?
    t1=$(now_ns)
fi
tool_ms=$(((t1 - t0) / 1000000))
((tool_rc == 0)) || echo "bench: note: acme-delegate exited with status $tool_rc (findings or errors; output in $OUT)" >&2

# --- (2) the kdig loop ----------------------------------------------------------------------
echo "bench: kdig loop, 10 queries per name ..." >&2
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
timeout 600 bash -c 'kdig_loop "$@"' kdig_loop "${names[@]}" || loop_rc=$?
t1=$(now_ns)
kdig_ms=$(((t1 - t0) / 1000000))
((loop_rc == 0)) || echo "bench: note: kdig loop ended with status $loop_rc (124 = hit the 600 s limit)" >&2

# --- (3) table ------------------------------------------------------------------------------
ratio=$(awk -v k="$kdig_ms" -v t="$tool_ms" 'BEGIN { if (t > 0) printf "%.1f", k / t; else print "n/a" }')
printf '\n%-28s %12s\n' "metric ($N names)" "value"
printf '%-28s %12s\n' "tool wall ms" "$tool_ms"
printf '%-28s %12s\n' "tool peak RSS KiB" "$tool_rss"
printf '%-28s %12s\n' "kdig-loop wall ms" "$kdig_ms"
printf '%-28s %12s\n' "ratio (kdig/tool)" "$ratio"
exit 0
