#!/usr/bin/env bash
# The TUI under load: the live poll of 1,000 names (bench.test: half of them with the
# expected target, half expecting another, so the poll never ends), in a 120x40 tmux
# pane, while keys arrive. Reports key-to-frame latency (p50, p99), the first frame and
# the peak RSS, from ACME_DELEGATE_TUI_TRACE and /usr/bin/time.
#
#   cargo build --release && tests/lab/hermetic.sh tests/tui/bench.sh
#
# Env: BIN (default target/release/acme-delegate), KEYS (default 300).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN=${BIN:-$ROOT/target/release/acme-delegate}
KEYS=${KEYS:-300}
: "${LAB_CONFIG:?run me inside tests/lab/hermetic.sh}"
W=$(mktemp -d)
T=(tmux -L "tuibench$$" -f /dev/null)
trap '"${T[@]}" kill-server 2>/dev/null || true; rm -rf "$W"' EXIT
{
    printf 'version = 1\n\n[zone]\nkind = "rfc2136"\nserver = "127.0.0.12:53"\nzone = "acme.lab."\nkey_file = "%s"\n' "$LAB_TSIG_BIND_KEY"
    for i in $(seq 0 999); do
        i=$(printf "%04d" "$i")
        t="n$i.acme.lab."
        ((10#$i % 2)) && t="other-n$i.acme.lab."
        printf '\n[[names]]\nname = "n%s.bench.test"\nchallenge = "_acme-challenge.n%s.bench.test."\ntarget = "%s"\nzone = "bench.test."\n' "$i" "$i" "$t"
    done
} >"$W/plan.toml"
"${T[@]}" new-session -d -s t -x 120 -y 40 \
    "cd '$W' && ACME_DELEGATE_TUI_TRACE='$W/trace' XDG_CONFIG_HOME='$W/x' XDG_DATA_HOME='$W/x' \
     /usr/bin/time -v -o '$W/time' '$BIN' --config '$LAB_CONFIG' --plan '$W/plan.toml' wizard; sleep 60"
"${T[@]}" set-option -t t escape-time 0 >/dev/null
for _ in $(seq 1 300); do
    "${T[@]}" capture-pane -p -t t | grep -q "round 2:" && break
    sleep 0.1
done
"${T[@]}" capture-pane -p -t t | grep -q "round 2:" || { echo "bench: the poll did not get going" >&2; "${T[@]}" capture-pane -p -t t >&2; exit 1; }
for i in $(seq 1 "$KEYS"); do
    case $((i % 10)) in
        3) k=Right ;; 6) k=Left ;; 9) k=PageDown ;; *) k=Down ;;
    esac
    "${T[@]}" send-keys -t t "$k"
    sleep 0.03
done
sleep 1
"${T[@]}" capture-pane -p -t t >"$W/screen"
"${T[@]}" send-keys -t t q
for _ in $(seq 1 100); do [[ -s $W/time ]] && break; sleep 0.1; done
first=$(awk '$1 == "first-frame" { print $2; exit }' "$W/trace")
exec_ms=$(awk '$1 == "first-frame-since-exec" { print $2; exit }' "$W/trace")
awk '$1 == "key" { print $2 }' "$W/trace" | sort -n >"$W/keys"
n=$(wc -l <"$W/keys")
pct() { awk -v p="$1" -v n="$n" 'NR == int((n - 1) * p / 100) + 1 { print; exit }' "$W/keys"; }
rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$W/time")
head -4 "$W/screen"
echo "names: 1000 (500 right, 500 wrong target); keys sent: $KEYS, framed: $n"
echo "first frame: ${first} ms after the session starts, ${exec_ms} ms after exec"
echo "key-to-frame: p50 $(pct 50) ms, p99 $(pct 99) ms, max $(tail -1 "$W/keys") ms"
echo "peak RSS: $((rss / 1024)) MiB ($rss KiB)"
