#!/usr/bin/env bash
# Drives the TUI under tmux against the lab: the wizard for an RFC 2136 zone up to the live
# poll (the exact CNAME must be on screen), then the troubleshooter; q must leave a clean
# terminal. Run inside the lab's namespace:
#   cargo build && tests/lab/hermetic.sh tests/tui/smoke.sh
# Screens are saved in $OUT (default: a temp dir) as .txt (text) and .ansi (with colour).
set -euo pipefail
BIN=${BIN:-$PWD/target/debug/acme-delegate}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
rm -f "$OUT/plan.toml"
T=(tmux -L "tuismoke$$" -f /dev/null)
trap '"${T[@]}" kill-server 2>/dev/null || true' EXIT

shot() { "${T[@]}" capture-pane -p -t t > "$OUT/$1.txt"; "${T[@]}" capture-pane -p -e -N -t t > "$OUT/$1.ansi"; }
wait_for() { # TEXT [TRIES]: poll the pane for TEXT (10 per second)
    for _ in $(seq 1 "${2:-100}"); do
        "${T[@]}" capture-pane -p -t t | grep -qF -- "$1" && return 0
        sleep 0.1
    done
    echo "FAIL: no '$1' on screen:" >&2
    "${T[@]}" capture-pane -p -t t >&2
    exit 1
}
keys() { "${T[@]}" send-keys -t t "$@"; }

start() { # ARGS...: the example binary in an 80x24 pane; its exit status lands in $OUT/exit
    rm -f "$OUT/exit"
    "${T[@]}" new-session -d -s t -x 80 -y 24 \
        "ACME_DELEGATE_CONFIG=$LAB_CONFIG $BIN $*; echo \$? > $OUT/exit; echo TUI-EXITED; sleep 60"
    "${T[@]}" set-option -t t escape-time 0 >/dev/null
}

# --- the wizard ------------------------------------------------------------------------
start wizard --plan "$OUT/plan.toml"
wait_for "1 Names"
keys -l "www.example.test bad_name"
wait_for "contains '_'"
keys BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace Enter
wait_for "Validation zone"
keys Down Enter
keys -l "127.0.0.12:53"; keys Tab
keys -l "acme.lab"; keys Tab Tab
keys -l "$LAB_TSIG_BIND_KEY"
shot zone-form
keys Enter
wait_for "zone set up" 300
shot zone-done
grep -q "scope probe" "$OUT/zone-done.txt"
keys Enter
wait_for "CNAME records to publish"
shot cname
grep -qE "name +_acme-challenge.www.example.test\." "$OUT/cname.txt"
grep -qE "target +www-example-test-[0-9a-f]{6}\.acme\.lab\." "$OUT/cname.txt"
test -s "$OUT/plan.toml"
keys c
wait_for "copied the record for www.example.test via"
keys Enter
wait_for "vantage point"
wait_for "ago:" 300
shot poll
# The CNAME in the lab points elsewhere: the red cell opens its finding.
keys Enter
wait_for "Fix:"
shot poll-finding
keys Escape
# q: the plan was saved, so no question; the terminal comes back clean.
keys q
wait_for "TUI-EXITED" 100
shot after-wizard
grep -q "TUI-EXITED" "$OUT/after-wizard.txt"
! grep -q "Live poll" "$OUT/after-wizard.txt"
"${T[@]}" kill-session -t t

# --- the whole wizard: publish the CNAME, the grid turns green, the proof passes -------
rm -f "$OUT/plan.toml"
start wizard --plan "$OUT/plan.toml"
wait_for "1 Names"
keys -l "tui.example.test"; keys Enter
wait_for "Validation zone"
keys Down Enter
keys -l "127.0.0.12:53"; keys Tab
keys -l "acme.lab"; keys Tab Tab
keys -l "$LAB_TSIG_BIND_KEY"; keys Enter
wait_for "zone set up" 300
keys Enter
wait_for "CNAME records to publish"
shot cname-tui
target=$(grep -oE "target +tui-example-test-[0-9a-f]{6}\.acme\.lab\." "$OUT/cname-tui.txt" | awk '{print $2}')
[[ -n $target ]]
# Publish it in the production zone, as the user would in their DNS panel.
timeout 10 knsupdate -t 5 -y "$(cat "$LAB_TSIG_KDIG")" <<EOF2
server 127.0.0.11 53
zone example.test.
update add _acme-challenge.tui.example.test. 60 CNAME $target
send
EOF2
keys Enter
wait_for "works from every vantage point" 300
wait_for "Enter publishes the test TXT" 100
shot proof-ready
grep -q "works from every vantage point" "$OUT/proof-ready.txt"
keys Enter
wait_for "proof passed" 600
shot proof-passed
keys Enter
wait_for "Issuing client"
keys Space Enter
wait_for "no files:" 100
shot client
keys n
wait_for "The delegation is set up"
shot done
grep -q "check --wait" "$OUT/done.txt"
keys q
wait_for "TUI-EXITED" 100
"${T[@]}" kill-session -t t

# --- the troubleshooter ----------------------------------------------------------------
start troubleshoot undelegated.example.test
wait_for "Troubleshoot: 1 name"
wait_for "checked" 300
shot troubleshoot
grep -q "TARGET_ZONE_UNDELEGATED" "$OUT/troubleshoot.txt"
keys Enter
wait_for "Fix:"
shot troubleshoot-finding
keys Escape q
wait_for "TUI-EXITED" 100
"${T[@]}" kill-session -t t
echo "tui smoke: ok (screens in $OUT)"
