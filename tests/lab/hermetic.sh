#!/usr/bin/env bash
# hermetic.sh CMD [ARGS...]
# Start the lab and run CMD inside a private network namespace that has only
# a loopback interface.  Nothing can leave the machine, port 53 needs no real
# root, and the lab can't clash with a resolver already bound on the host
# (e.g. systemd-resolved on 127.0.0.53) or with other labs running in
# parallel.
#   * tries `unshare --user --map-root-user --net` (works without root when
#     unprivileged user namespaces are enabled, the Debian 12 default);
#   * if that is not possible and we are root, falls back to `unshare --net`.
# Inside: `ip link set lo up`, start.sh, then CMD runs with LAB_RUN_DIR
# exported and run/env.sh sourced (all LAB_* variables, LAB_CONFIG, ...).
# The lab is stopped (by PID) and its run folder removed when CMD exits;
# CMD's exit status is returned.
#   ./hermetic.sh tools/smoke-test.sh
#   ./hermetic.sh cargo test --offline
set -euo pipefail
LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SELF="$LAB_DIR/hermetic.sh"
[[ $# -gt 0 ]] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }

if [[ ${LAB_IN_NETNS:-} != 1 ]]; then
    command -v unshare >/dev/null || { echo "hermetic.sh: unshare missing (apt-get install util-linux)" >&2; exit 2; }
    if unshare --user --map-root-user --net true 2>/dev/null; then
        exec unshare --user --map-root-user --net env LAB_IN_NETNS=1 bash "$SELF" "$@"
    elif [[ $EUID -eq 0 ]] && unshare --net true 2>/dev/null; then
        echo "hermetic.sh: user namespaces unavailable; using 'unshare --net' as root" >&2
        exec unshare --net env LAB_IN_NETNS=1 bash "$SELF" "$@"
    else
        echo "hermetic.sh: cannot create a network namespace (unprivileged user namespaces are" \
             "disabled and we are not root; try: sysctl kernel.unprivileged_userns_clone=1)" >&2
        exit 2
    fi
fi

# --- inside the private network namespace ---------------------------------------
# sanity: the only interface we may use is lo
ip link set lo up
TMP_PARENT=""
if [[ -z ${LAB_RUN_DIR:-} ]]; then
    TMP_PARENT=$(mktemp -d "${TMPDIR:-/tmp}/acme-delegate-lab.XXXXXX")
    export LAB_RUN_DIR="$TMP_PARENT/run"
fi
cleanup() {
    "$LAB_DIR/stop.sh" --purge || true
    [[ -n $TMP_PARENT ]] && rmdir "$TMP_PARENT" 2>/dev/null
    true
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
"$LAB_DIR/start.sh"
# shellcheck disable=SC1091
source "$LAB_RUN_DIR/env.sh"
set +e
"$@"
rc=$?
exit $rc
