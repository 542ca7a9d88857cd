#!/usr/bin/env bash
# bench-scale.sh -- does `check` scale linearly? Time and peak RSS of one
# `check --json` run over 1,000, 10,000 and 100,000 names, and the memory per name.
#
#   cargo build --release                             # first, outside the namespace
#   tests/lab/hermetic.sh tests/lab/bench-scale.sh    # then, inside the lab
#
# The names are sNNNNNN.bench.test: bench.test. exists on two servers (127.0.0.11
# and .12), the names do not, so every name costs the same questions (the walk,
# the chain's TXT at both servers, the three resolvers) and gets CNAME_MISSING.
# Per-name memory is the slope of peak RSS between the 10k and the 100k run;
# per-name time likewise; the last lines say whether issue 19's memory goals are met.
# Exit 0 unless something could not run at all.
# Env: SCALE_SIZES (default "1000 10000 100000"), SCALE_OUT (default /tmp), BENCH_BIN
# (the binary, default target/release/acme-delegate).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN=${BENCH_BIN:-$ROOT/target/release/acme-delegate}
SIZES=${SCALE_SIZES:-"1000 10000 100000"}
OUTDIR=${SCALE_OUT:-/tmp}

[[ -n ${LAB_CONFIG:-} && -s ${LAB_CONFIG:-} ]] || {
    echo "bench-scale.sh: LAB_CONFIG not set -- run me inside the lab: tests/lab/hermetic.sh tests/lab/bench-scale.sh" >&2; exit 2; }
[[ -x $BIN ]] || { echo "bench-scale.sh: $BIN is missing -- run 'cargo build --release' first" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "bench-scale.sh: needs GNU time (apt-get install time)" >&2; exit 2; }

declare -A MS RSS
for n in $SIZES; do
    list="$OUTDIR/acme-delegate-scale-$n.names"
    awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "s%06d.bench.test\n", i }' >"$list"
    echo "bench-scale: check of $n names ..." >&2
    stats=$(mktemp)
    rc=0
    # One process gets them all (--names-from: no command-line limit to raise).
    t0=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$stats" "$BIN" check --config "$LAB_CONFIG" --json --names-from "$list" \
        >"$OUTDIR/acme-delegate-scale-$n.json" || rc=$?
    t1=$(date +%s%N)
    MS[$n]=$(((t1 - t0) / 1000000))
    RSS[$n]=$(tail -n1 "$stats")
    rm -f "$stats" "$list"
    # 0 or 1 is a verdict; anything else means the run did not happen (a figure from it
    # would be a lie): say so and stop.
    ((rc == 0 || rc == 1)) || {
        echo "bench-scale: $BIN exited with status $rc for $n names (an old binary? see $OUTDIR/acme-delegate-scale-$n.json)" >&2
        exit 1
    }
done

printf '\n%-10s %12s %14s %12s\n' "names" "wall ms" "peak RSS KiB" "us/name"
for n in $SIZES; do
    printf '%-10s %12s %14s %12s\n' "$n" "${MS[$n]}" "${RSS[$n]}" "$(awk -v t="${MS[$n]}" -v n="$n" 'BEGIN { printf "%.1f", t * 1000 / n }')"
done
read -r -a s <<<"$SIZES"
if ((${#s[@]} >= 2)); then
    a=${s[-2]} b=${s[-1]}
    awk -v a="$a" -v b="$b" -v ra="${RSS[$a]}" -v rb="${RSS[$b]}" -v ta="${MS[$a]}" -v tb="${MS[$b]}" 'BEGIN {
        printf "\nper name (slope %d -> %d): %.2f KiB peak RSS, %.1f us wall\n", a, b, (rb - ra) / (b - a), (tb - ta) * 1000 / (b - a)
        printf "growth %d -> %d (x%.0f names): wall x%.1f, peak RSS x%.1f\n", a, b, b / a, tb / ta, rb / ra }'
fi
# Issue 19's goals: 10,000 names in at most 64 MB peak RSS, 100,000 in at most 250 MB.
for goal in "10000 64" "100000 250"; do
    read -r n mb <<<"$goal"
    [[ -n ${RSS[$n]:-} ]] || continue
    awk -v n="$n" -v kib="${RSS[$n]}" -v mb="$mb" 'BEGIN {
        printf "goal: %d names in at most %d MB peak RSS: %.1f MB (%s)\n", n, mb, kib / 1024, kib / 1024 <= mb ? "met" : "NOT met" }'
done
exit 0
