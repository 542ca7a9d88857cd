#!/usr/bin/env bash
# plan-hook.sh -- lego `exec` provider hook for the differential test: a client that writes
# the TXT at the plan's target (as acme-dns clients and acme-delegate's own hook do), not
# where the CNAME chain ends.  lego calls: plan-hook.sh present|cleanup FQDN VALUE
# Environment: DIFF_TARGET (the plan's target), DIFF_ZONE, DIFF_SERVER, DIFF_TSIG (kdig -y form).
set -euo pipefail
mode=${1:?present|cleanup}
value=${3:?value}
case $mode in
    present) op="update add $DIFF_TARGET 1 TXT \"$value\"" ;;
    cleanup) op="update delete $DIFF_TARGET TXT \"$value\"" ;;
    *) exit 0 ;;
esac
timeout 10 knsupdate -t 3 -r 1 -y "$DIFF_TSIG" <<EOF2
server $DIFF_SERVER 53
zone $DIFF_ZONE
$op
send
EOF2
