#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The soak (not in CI: SOAK_MINUTES, 30 by default, plus a boot): one rig
# boot in which the inner guest does nvme I/O through our QEMU while a
# second assigned device is unplugged and plugged back every minute.
# QEMU's RSS, open fds and VmLck are sampled each minute; it writes
# tests/soak-results.md (the samples, the inner guest's verdict and the
# soak's) and exits non-zero when a verdict failed.  SOAK_REPORT_ONLY=1
# writes the report again from the last run's output, without a boot.
set -eu

. "$(dirname "$0")/../scripts/config.sh"

SOAK_MINUTES=${SOAK_MINUTES:-30}
OUT=$BUILD/soak
RESULT=$REPO/tests/soak-results.md

if [ -z "${SOAK_REPORT_ONLY:-}" ]; then
    "$REPO/scripts/setup.sh"
    "$REPO/scripts/build.sh"
    {
        printf 'SOAK_MINUTES=%s; export SOAK_MINUTES\n' "$SOAK_MINUTES"
        cat "$REPO/tests/rig/guest-soak.sh"
    } > "$BUILD/guest-soak.sh"
    RIG_TIMEOUT=$((SOAK_MINUTES * 60 + 1500)) \
        "$REPO/tests/rig/run.sh" "$BUILD/guest-soak.sh" "$OUT" || true
fi

{
    echo "# Soak: $SOAK_MINUTES minutes of inner nvme I/O, the edu re-plugged each minute"
    echo
    echo "Run by \`tests/soak.sh\` on $(date -u -r "$OUT/soak.tap" +%Y-%m-%d)," \
         "hw/vfio as of $(git -C "$REPO" log -1 --format=%h -- hw/vfio);" \
         "QEMU's RSS, open fds and VmLck as sampled in the rig each minute."
    echo
    echo '```'
    grep '^INNER: ' "$OUT/inner-soak.console" 2>/dev/null ||
        echo "no verdict of the inner guest"
    echo '```'
    echo
    echo '```'
    cat "$OUT/soak.csv" 2>/dev/null || echo "no samples"
    echo '```'
    echo
    echo '```'
    cat "$OUT/soak.tap" 2>/dev/null || echo "no verdicts"
    echo '```'
} > "$RESULT"
cat "$RESULT"
[ -f "$OUT/soak.tap" ] && ! grep -q '^not ok' "$OUT/soak.tap"
