#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The guest RAM pinning rows (issue 29's goals 2 and 3): with 2 GiB of
# guest RAM, QEMU start to the edu's first config read, to its first DMA
# into guest RAM, and the span of the maps; our QEMU and QEMU 10.0 on
# type1 and on iommufd, QEMU 7.2 on type1, the first rotating each round.
# Two boots of the rig kernel (both backends): one vCPU, where pinning and
# the VM's start share it, and two, where they can overlap and pinning can
# split.  Writes bench/results/pin-smp1.md, pin-smp2.md and their raw
# lines.  About 20 minutes warm.
set -eu

. "$(dirname "$0")/../scripts/config.sh"
. "$REPO/bench/lib.sh"

RESULTS=${BENCH_RESULTS:-$REPO/bench/results}
ROUNDS=${BENCH_ROUNDS:-3}
PIN_MB=${BENCH_PIN_MB:-2048}
RIG_MEM=${RIG_MEM:-6G}
IOMMUFD_ARGS="-object iommufd,id=ifd0 -global vfio-pci.iommufd=ifd0"
export RIG_MEM

log() { echo "bench-pin: $*"; }
die() { echo "bench-pin: error: $*" >&2; exit 1; }

bench_against_72 "$BUILD/bench-pin"
PEER10=$("$REPO/bench/build-peer10.sh") || die "no QEMU 10.0 peer"
KERNEL=$("$REPO/tests/rig/build-kernel.sh") || die "no rig kernel"
mkdir -p "$RESULTS"
export RIG_KERNEL=$KERNEL RIG_TIMEOUT=3600
for RIG_SMP in ${BENCH_PIN_SMP:-1 2}; do
    export RIG_SMP
    BENCH=$BUILD/bench-pin/smp$RIG_SMP
    mkdir -p "$BENCH"
    {
        echo "BENCH_SET=pin; ROUNDS=$ROUNDS; PIN_MB=$PIN_MB"
        echo "DMA_SIZES=''; HUGE_SIZES=''; LOOP_SECS=1; COUNT=1"
        echo "BENCH_BIN='$BUILD/bench-pin'"
        echo "QEMUS='OURS OURS_IOMMUFD PEER PEER10 PEER10_IOMMUFD'"
        echo "OURS='$QEMU_BUILD/qemu-system-x86_64'; OURS_IOMMUFD=\$OURS"
        echo "PEER='$BUILD/peer/qemu/build/qemu-system-x86_64'"
        echo "PEER10='$PEER10'; PEER10_IOMMUFD=\$PEER10"
        echo "ARGS_OURS_IOMMUFD='$IOMMUFD_ARGS'"
        echo "ARGS_PEER10_IOMMUFD='$IOMMUFD_ARGS'"
        cat "$REPO/bench/guest-bench.sh"
    } > "$BENCH/guest.sh"
    log "booting the rig kernel with $RIG_SMP vCPU(s): $ROUNDS rounds"
    bench_rig pin "pin-smp$RIG_SMP"
done
