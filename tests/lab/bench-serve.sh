#!/usr/bin/env bash
# bench-serve.sh -- the exporter (`acme-delegate serve`) under a fleet's load: N bench names
# (nNNNN.bench.test, default 10,000), probed as Prometheus would, 100 names per probe, 8
# probes at once; then the same names again (answered from the results, within their TTL).
#
#   cargo build --release                            # first, outside the namespace
#   tests/lab/hermetic.sh tests/lab/bench-serve.sh   # then, inside the lab
#
# Prints: the wall time of each pass, the exporter's peak and current RSS (VmHWM, VmRSS),
# its own counters (names checked / reused) and the memory per name.
# Env: BENCH_BIN (default target/release/acme-delegate), BENCH_NAMES (default 10000),
#      BENCH_LIMIT (seconds for the whole script, default 600).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${BENCH_BIN:-$ROOT/target/release/acme-delegate}"
N=${BENCH_NAMES:-10000}
LIMIT=${BENCH_LIMIT:-600}
PER_PROBE=100
PARALLEL=8

[[ -n ${LAB_CONFIG:-} && -s ${LAB_CONFIG:-} ]] || {
    echo "bench-serve.sh: LAB_CONFIG not set -- run me inside the lab: tests/lab/hermetic.sh tests/lab/bench-serve.sh" >&2; exit 2; }
[[ -x $BIN ]] || { echo "bench-serve.sh: $BIN is missing -- cargo build --release first" >&2; exit 2; }
for c in curl kdig knotc; do command -v "$c" >/dev/null || { echo "bench-serve.sh: $c missing" >&2; exit 2; }; done
[[ $N =~ ^[0-9]+$ ]] && ((N >= PER_PROBE)) || { echo "bench-serve.sh: BENCH_NAMES must be a number >= $PER_PROBE" >&2; exit 2; }
if [[ ${BENCH_INNER:-} != 1 ]]; then   # bound the whole run
    BENCH_INNER=1 exec timeout --foreground "$LIMIT" bash "${BASH_SOURCE[0]}" "$@"
fi

name_of() { printf 'n%04d.bench.test' "$1"; }
have_names() {
    local s
    for s in 127.0.0.11 127.0.0.12; do
        kdig @$s +norec +timeout=2 +retry=0 A "$(name_of $((N - 1)))" | grep -q 'status: NOERROR' || return 1
    done
}
if ! have_names; then   # the lab starts with 1,000 names: generate the rest, reload both servers
    echo "bench-serve: bench.test. gets $N names ..." >&2
    zone="$LAB_RUN_DIR/knot-test/zones/bench.test.zone"
    "$ROOT/tests/lab/tools/gen-bench-zone.sh" "$zone" "$N"
    cp "$zone" "$LAB_RUN_DIR/knot-lab/zones/bench.test.zone"
    for k in test lab; do
        timeout 30 knotc -c "$LAB_RUN_DIR/knot-$k/knot.conf" zone-reload bench.test. >/dev/null
    done
    end=$((SECONDS + 60))
    until have_names; do
        ((SECONDS < end)) || { echo "bench-serve.sh: bench.test. did not get $N names within 60 s" >&2; exit 2; }
        sleep 0.2
    done
fi

TMP=$(mktemp -d /tmp/acme-delegate-bench-serve.XXXXXX)
PORT=$((20000 + RANDOM % 20000))
"$BIN" --config "$LAB_CONFIG" serve --listen "127.0.0.1:$PORT" --vantage-label bench --max-age 600 \
    --max-names "$PER_PROBE" 2>"$TMP/serve.log" &
PID=$!
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -rf "$TMP"' EXIT
end=$((SECONDS + 20))
until curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null; do
    ((SECONDS < end)) || { echo "bench-serve.sh: serve did not start: $(cat "$TMP/serve.log")" >&2; exit 2; }
    sleep 0.1
done
idle_kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status")

# One line per probe: name=n0000.bench.test&name=n0001.bench.test...
for ((i = 0; i < N; i += PER_PROBE)); do
    q=""
    for ((j = i; j < i + PER_PROBE && j < N; j++)); do q+="${q:+&}name=$(name_of "$j")"; done
    echo "$q"
done >"$TMP/probes"

pass() { # wall ms of one pass over every probe; each answer saved
    local t0 t1
    t0=$(date +%s%N)
    xargs -P "$PARALLEL" -I{} curl -sf -o /dev/null -w '%{http_code}\n' \
        -H 'X-Prometheus-Scrape-Timeout-Seconds: 60' "http://127.0.0.1:$PORT/probe?{}" \
        <"$TMP/probes" >"$TMP/codes"
    t1=$(date +%s%N)
    local bad
    bad=$(grep -cv '^200$' "$TMP/codes" || true)
    ((bad == 0)) || echo "bench-serve: $bad probes did not answer 200" >&2
    echo $(((t1 - t0) / 1000000))
}
first_ms=$(pass)
hwm_kib=$(awk '/^VmHWM:/ { print $2 }' "/proc/$PID/status")
second_ms=$(pass)
rss_kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status")
metrics=$(curl -sf "http://127.0.0.1:$PORT/metrics")
checked=$(awk -F' ' '/^acme_delegate_exporter_names_total\{source="checked"/ { print $2 }' <<<"$metrics")
reused=$(awk -F' ' '/^acme_delegate_exporter_names_total\{source="reused"/ { print $2 }' <<<"$metrics")
timeouts=$(awk -F' ' '/^acme_delegate_exporter_probe_errors_total\{reason="timeout"/ { print $2 }' <<<"$metrics")
sample=$(curl -sf "http://127.0.0.1:$PORT/probe?name=$(name_of 0)" | grep '^acme_delegate_ok')

echo "names $N, $PER_PROBE per probe, $PARALLEL probes at once ($BIN)"
echo "first pass (checked):        $first_ms ms"
echo "second pass (reused):        $second_ms ms"
echo "names checked $checked, reused $reused, probe timeouts $timeouts; $sample"
echo "RSS idle $((idle_kib / 1024)) MiB, peak $((hwm_kib / 1024)) MiB, after both passes $((rss_kib / 1024)) MiB;" \
    "$(((rss_kib - idle_kib) * 1024 / N)) bytes per name kept"
