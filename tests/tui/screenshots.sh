#!/usr/bin/env bash
# Makes the README's pictures from the real program in the lab: the wizard's live poll
# and the troubleshooter, each in an 80x24 tmux pane, captured with its colours
# (capture-pane -e), turned into HTML (aha) and photographed (headless chromium).
#
#   cargo build && tests/lab/hermetic.sh tests/tui/screenshots.sh
#
# Needs tmux, aha, chromium and fonts-dejavu-core (apt-get install them; they are not in
# the test command's package list: only tmux is, for tests/tui_lab.rs).
# Writes docs/img/tui-poll.png, docs/img/tui-done.png and docs/img/tui-troubleshoot.png
# (OUT=DIR to change).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN=${BIN:-$ROOT/target/debug/acme-delegate}
OUT=${OUT:-$ROOT/docs/img}
: "${LAB_CONFIG:?run me inside tests/lab/hermetic.sh}"
for tool in tmux aha chromium; do
    command -v "$tool" >/dev/null || { echo "screenshots.sh: $tool missing (apt-get install $tool)" >&2; exit 2; }
done
mkdir -p "$OUT"
WORK=$(mktemp -d)
T=(tmux -L "shots-poll-$$" -f /dev/null)
trap 'tmux -L "shots-poll-$$" kill-server 2>/dev/null; tmux -L "shots-trouble-$$" kill-server 2>/dev/null; rm -rf "$WORK"' EXIT
export XDG_CONFIG_HOME="$WORK/xdg/config" XDG_DATA_HOME="$WORK/xdg/data"
unset NO_COLOR

wait_for() { # TEXT [SECONDS]: poll the pane for TEXT
    local end=$((SECONDS + ${2:-30}))
    while ((SECONDS < end)); do
        "${T[@]}" capture-pane -p -t t | grep -qF -- "$1" && return 0
        sleep 0.2
    done
    echo "screenshots.sh: no '$1' on screen:" >&2
    "${T[@]}" capture-pane -p -t t >&2
    exit 1
}

start() { # ARGS...: the binary in an 80x24 pane, in colour
    "${T[@]}" new-session -d -s t -x 80 -y 24 \
        "cd '$WORK' && TERM=xterm-256color COLORTERM=truecolor '$BIN' --config '$LAB_CONFIG' $*; sleep 60"
    "${T[@]}" set-option -t t escape-time 0 >/dev/null
}

shot() { # NAME: the pane as a PNG in $OUT
    "${T[@]}" capture-pane -p -e -N -t t >"$WORK/$1.ansi"
    aha --black --title "acme-delegate" \
        --style 'margin:0;padding:6px;font-family:DejaVu Sans Mono;font-size:14px;line-height:normal' \
        <"$WORK/$1.ansi" >"$WORK/$1.html"
    timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --force-device-scale-factor=2 --window-size=690,420 \
        --screenshot="$OUT/$1.png" "file://$WORK/$1.html" >/dev/null 2>&1
    echo "wrote $OUT/$1.png"
}

# --- the live poll: three names, two CNAMEs published, one not yet -------------------
names=(shop.example.test blog.example.test mail.example.test)
"$BIN" --config "$LAB_CONFIG" plan --plan "$WORK/plan.toml" --json --zone rfc2136 \
    --server 127.0.0.12:53 --key-file "$LAB_TSIG_BIND_KEY" --domain acme.lab \
    "${names[@]}" >"$WORK/plan.json"
for n in "${names[@]:0:2}"; do
    target=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([x["target"] for x in d["names"] if x["name"]==sys.argv[2]][0])' "$WORK/plan.json" "$n")
    timeout 10 knsupdate -t 5 -y "$(cat "$LAB_TSIG_KDIG")" <<EOF
server 127.0.0.11 53
zone example.test.
update add _acme-challenge.$n. 60 CNAME $target
send
EOF
done
start --plan "$WORK/plan.toml" wizard
wait_for "round 2:" 60
"${T[@]}" send-keys -t t Down Down
sleep 0.5
shot tui-poll
# --- the Done screen: the poll and the proof skipped with one name still red, lego's
# files written: what was verified and what was not, and what to run next.
"${T[@]}" send-keys -t t n
wait_for "Enter publishes the test TXT" 20
"${T[@]}" send-keys -t t n
wait_for "Issuing client" 10
"${T[@]}" send-keys -t t Space Enter
wait_for "Enter writes them" 30
"${T[@]}" send-keys -t t Enter
wait_for "The delegation is not verified." 30
sleep 0.3
shot tui-done
"${T[@]}" kill-server
T=(tmux -L "shots-trouble-$$" -f /dev/null)

# --- the troubleshooter on broken lab names ----------------------------------------------
start troubleshoot undelegated.example.test staletxt.example.test inzone.example.test \
    caa.example.test www.example.test
wait_for "checked" 90
shot tui-troubleshoot
