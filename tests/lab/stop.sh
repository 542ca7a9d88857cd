#!/usr/bin/env bash
# stop.sh -- stop the loopback DNS-01 lab by PID (never by process name).
#   stop.sh           stop all daemons listed in <run>/pids/*.pid
#   stop.sh --purge   ... and delete the run folder
# Run folder: $LAB_RUN_DIR, default ./run next to this script.
set -uo pipefail

LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUN="${LAB_RUN_DIR:-$LAB_DIR/run}"
PURGE=0; [[ ${1:-} == --purge ]] && PURGE=1

log() { printf '[lab %s] %s\n' "$(date +%T)" "$*" >&2; }

expected_comm() {
    case $1 in
        knot-*) echo knotd ;;
        unbound|unbound2|unbound-inside) echo unbound ;;
        blackhole|conflict|intercept|quirk-*) echo python3 ;;
        pebble) echo pebble ;;
        pdns) echo pdns_server ;;
        *) echo "" ;;
    esac
}

if [[ -d $RUN/pids ]]; then
    # 1) send SIGTERM to every daemon we started (knotd needs ~2 s to exit,
    #    so signal them all first and wait afterwards)
    declare -A victims=()
    # Every daemon with a PID file, the servers behind others last (knot). A fixed list
    # here once missed intercept, quirk-dropedns and quirk-crosszone: they outlived every
    # lab and held the pipes of whoever started it open (test.sh's differential hung).
    names=()
    for f in "$RUN"/pids/*.pid; do
        [[ -e $f ]] || continue
        n=$(basename "$f" .pid)
        [[ $n == knot-* ]] || names+=("$n")
    done
    names+=(knot-root knot-test knot-lab)
    for name in "${names[@]}"; do
        f="$RUN/pids/$name.pid"
        [[ -s $f ]] || continue
        pid=$(cat "$f")
        if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
            comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
            if [[ $comm != "$(expected_comm "$name")" ]]; then
                log "$name: PID $pid is now '$comm', not ours -- not killing it"
                rm -f "$f"
                continue
            fi
            kill -TERM "$pid" 2>/dev/null && victims[$name]=$pid
        else
            rm -f "$f"
        fi
    done
    # 2) wait up to 10 s for all of them, then SIGKILL the stragglers
    for _ in $(seq 1 100); do
        left=0
        for name in "${!victims[@]}"; do kill -0 "${victims[$name]}" 2>/dev/null && left=1; done
        ((left)) || break
        sleep 0.1
    done
    for name in "${!victims[@]}"; do
        pid=${victims[$name]}
        if kill -0 "$pid" 2>/dev/null; then
            log "$name: PID $pid ignored SIGTERM, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null
        fi
        log "stopped $name (PID $pid)"
        rm -f "$RUN/pids/$name.pid"
    done
else
    log "no run folder at $RUN -- nothing to stop"
fi

if ((PURGE)) && [[ -f $RUN/.lab-run ]]; then
    rm -rf -- "$RUN"
    log "removed $RUN"
fi
exit 0
