#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The migration benchmark: the inner Linux guest of the migration test
# (tests/rig/guest-migration.sh: a counter through an mtty serial port) is
# migrated mid-stream between two QEMUs of one kind, each with its own
# mtty instance, for our QEMU (OURS, type1) and upstream QEMU 10.0 (PEER10,
# bench/build-peer10.sh, its own vfio-pci), alternating, in one boot of the
# rig kernel (the only one with mtty).  query-migrate gives the total time,
# the downtime and the RAM sent; the device state's bytes come from our
# vfio_save_complete trace (pre-copy and stop-copy) and from QEMU 10.0's
# query-migrate "vfio" field.  Writes bench/results/migration.md and
# migration-raw.txt.  About 15 minutes warm, plus the peer's build.
set -eu

. "$(dirname "$0")/../scripts/config.sh"
. "$REPO/bench/lib.sh"

BENCH=$BUILD/bench-migration
RESULTS=${BENCH_RESULTS:-$REPO/bench/results}
ROUNDS=${BENCH_ROUNDS:-3}

log() { echo "bench-migration: $*"; }
die() { echo "bench-migration: error: $*" >&2; exit 1; }

"$REPO/scripts/setup.sh"
"$REPO/scripts/build.sh"
PEER10=$("$REPO/bench/build-peer10.sh") || die "no QEMU 10.0 peer"
KERNEL=$("$REPO/tests/rig/build-kernel.sh") || die "no rig kernel"
sh "$REPO/tests/rig/make-inner-initrd.sh"
mkdir -p "$BENCH" "$RESULTS"
{
    echo "ROUNDS=$ROUNDS"
    echo "OURS='$QEMU_BUILD/qemu-system-x86_64'; PEER10='$PEER10'"
    cat "$REPO/bench/guest-migration-bench.sh"
} > "$BENCH/guest.sh"
log "booting the rig kernel: $ROUNDS rounds"
export RIG_KERNEL=$KERNEL RIG_TIMEOUT=3600
bench_rig migration
