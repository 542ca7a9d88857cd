#!/usr/bin/env bash
# differential.sh [SEEDS] [FIRST_SEED] -- the verdict against the CA's resolver (issue 15).
#
# Generates SEEDS random delegation setups (default 200, seeds FIRST_SEED.., default 1),
# serves each in the lab (knot + tools fault fronts under the lab's fake root), runs
# `acme-delegate check --json` on it, lets the client write the TXT where it would, and asks
# a validating unbound configured like a CA's resolver whether it finds the TXT. The verdict
# and that truth must agree; a sample is also issued for real (lego + pebble). Saved
# regressions (differential/regressions/SEED/) are replayed first. See differential/diff.py.
#
# Run from anywhere; starts the lab itself through hermetic.sh (as test.sh does). The last
# line is `differential: N seeds, A agree, D disagree, P pebble-checked`; exit 0 only
# when D = 0.
# Environment: ACME_DELEGATE_BIN (default target/release, else target/debug, else built),
# DIFF_BATCH (setups served at once, 50), DIFF_PARALLEL (setups checked at once, 12),
# PEBBLE_EVERY (every Nth seed is issued for real, 10; 0 = none), DIFF_TIMEOUT (s, 3600).
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
    exec "$LAB_DIR/hermetic.sh" "$LAB_DIR/differential.sh" "$SEEDS" "$FIRST"
fi
BIN=${ACME_DELEGATE_BIN:-$ROOT/target/debug/acme-delegate}
exec timeout "${DIFF_TIMEOUT:-3600}" /usr/bin/python3 "$LAB_DIR/differential/diff.py" \
    --seeds "$SEEDS" --first "$FIRST" --bin "$BIN"
