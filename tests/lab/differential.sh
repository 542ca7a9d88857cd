#!/usr/bin/env bash
# differential.sh [SEEDS] [FIRST_SEED] -- the verdict against the CA's resolver (issue 15).
#
# Generates SEEDS random delegation setups (default 200, seeds FIRST_SEED.., default 1),
# serves each in the lab (knot + tools fault fronts under the lab's fake root), runs
# `acme-delegate check --json` on it, lets the client write the TXT where it would, and asks
# a validating unbound configured like a CA's resolver whether it finds the TXT. The verdict
# and that truth must agree; a sample is also issued for real (lego + pebble). Saved
# regressions (differential/regressions/SEED/) are replayed first. See differential/diff.py.
# A pebble result that differs from the truth counts in D unless it is explained and printed
# so: pebble validating once against a cold cache, lego stopping at a non-NOERROR answer, or
# pebble's own DNS lookup timing out (lego: "i/o timeout") on a setup whose servers time out.
#
# Run from anywhere; starts the lab itself through hermetic.sh (as test.sh does). The last
# line is `differential: N seeds, A agree, D disagree, P pebble-checked`; exit 0 only
# when D = 0.
# Environment: ACME_DELEGATE_BIN (default target/release, else target/debug, else built),
# DIFF_BATCH (setups served at once, 50), DIFF_PARALLEL (setups checked at once, 12),
# PEBBLE_EVERY (every Nth seed is issued for real, 10; 0 = none), DIFF_TIMEOUT (s, 3600),
# DIFF_JOBS (N > 1: the seeds are split into N ranges, each run in a lab of its own, in its
# own network namespace, at once; the regressions are replayed by the first; the closing
# line then sums the shards), DIFF_ONLY (regressions to replay, e.g. 212,607; all when
# unset), DIFF_KEEP (a folder to copy the run's server logs to), DIFF_UNBOUND_VERBOSITY
# (the CA resolver's log verbosity, 1), DIFF_DEBUG (print every answer the oracle reads),
# DIFF_CONFIRM (0: a disagreeing setup is not run again; by default each is run once more
# afresh, and one that then agrees is printed FLAKY with both results, counted apart from D).
set -euo pipefail
LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$LAB_DIR/../.." && pwd)"
SEEDS=${1:-200}
FIRST=${2:-1}
[[ $SEEDS =~ ^[0-9]+$ && $FIRST =~ ^[0-9]+$ ]] || { echo "usage: $0 [SEEDS] [FIRST_SEED]" >&2; exit 2; }

if [[ -z ${LAB_RUN_DIR:-} || ${LAB_IN_NETNS:-} != 1 ]]; then
    # outside the lab: pick (or build) the binary, then run inside hermetic.sh
    BIN=${ACME_DELEGATE_BIN:-}
    if [[ -z $BIN ]]; then
        if [[ -x $ROOT/target/release/acme-delegate ]]; then BIN=$ROOT/target/release/acme-delegate
        else
            [[ -x $ROOT/target/debug/acme-delegate ]] || (cd "$ROOT" && timeout 1800 cargo build --offline --bin acme-delegate)
            BIN=$ROOT/target/debug/acme-delegate
        fi
    fi
    export ACME_DELEGATE_BIN=$BIN
    JOBS=${DIFF_JOBS:-1}
    [[ $JOBS =~ ^[1-9][0-9]*$ ]] || { echo "differential.sh: DIFF_JOBS must be a number >= 1, not '$JOBS'" >&2; exit 2; }
    if ((JOBS > SEEDS)); then JOBS=$((SEEDS > 0 ? SEEDS : 1)); fi
    if ((JOBS == 1)); then
        exec "$LAB_DIR/hermetic.sh" "$LAB_DIR/differential.sh" "$SEEDS" "$FIRST"
    fi
    # N labs at once, each in its own namespace, each with a contiguous range of seeds
    SHARDS=$(mktemp -d "${TMPDIR:-/tmp}/differential-shards.XXXXXX")
    pids=()
    cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done; rm -rf "$SHARDS"; }
    trap cleanup EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT
    per=$(((SEEDS + JOBS - 1) / JOBS))
    for ((k = 0; k < JOBS; k++)); do
        n=$((SEEDS - k * per))
        if ((n > per)); then n=$per; fi
        ((n > 0)) || continue
        DIFF_SHARD=$k DIFF_SUMMARY="$SHARDS/$k.json" "$LAB_DIR/hermetic.sh" "$LAB_DIR/differential.sh" \
            "$n" "$((FIRST + k * per))" >"$SHARDS/$k.out" 2> >(sed -u "s/^/[shard $k] /" >&2) &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
    pids=()
    for ((k = 0; k < JOBS; k++)); do
        if [[ -f $SHARDS/$k.out ]]; then grep -v '^differential shard: ' "$SHARDS/$k.out" || true; fi
    done
    rc=0
    /usr/bin/python3 - "$SHARDS" "$JOBS" "$SEEDS" <<'PY' || rc=$?
import json, os, sys
d, jobs, seeds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = -(-seeds // jobs)
t = {}
missing = []
for k in range(jobs):
    if seeds - k * per <= 0:
        continue
    f = os.path.join(d, f"{k}.json")
    if not os.path.exists(f):
        missing.append(k)
        continue
    for key, v in json.load(open(f)).items():
        t[key] = max(t.get(key, 0), v) if key == "seconds" else t.get(key, 0) + v
g = lambda key: t.get(key, 0)
print(f"({jobs} shards, {g('replayed')} regressions replayed, {g('known')} known open, {g('flaky')} flaky, {g('unjudged')} not judged; "
      f"pebble: {g('pebble_agree')} agree, {g('pebble_explained')} differ explained, {g('pebble_unjudged')} not compared, "
      f"{g('pebble_differ')} differ; slowest shard {g('seconds')}s)")
if missing:
    print(f"differential.sh: shard(s) {missing} ended without a result (see their output above)")
dis = g("disagree") + len(missing)
print(f"differential: {g('seeds')} seeds, {g('agree')} agree, {dis} disagree, {g('pebble')} pebble-checked")
sys.exit(0 if dis == 0 else 1)
PY
    exit "$rc"
fi
BIN=${ACME_DELEGATE_BIN:-$ROOT/target/debug/acme-delegate}
exec timeout "${DIFF_TIMEOUT:-3600}" /usr/bin/python3 "$LAB_DIR/differential/diff.py" \
    --seeds "$SEEDS" --first "$FIRST" --bin "$BIN"
