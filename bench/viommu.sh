#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The guest IOMMU benchmark: our QEMU against QEMU 7.2's own vfio-pci (the
# peer, bench/build-peer.sh), alternating, in one boot of the rig (Debian's
# kernel, type1).  For each: the guest intel-iommu's map + unmap round
# trips of one page, driven through qtest by bench/vfio-bench.c (each one
# a host map and unmap behind an assigned edu; the same loop with no
# device behind the guest IOMMU is the protocol's floor), and the inner
# Linux guest's 4 KiB direct nvme read and write rates without and with
# the guest IOMMU (intel_iommu=on, strict unmaps).  Writes
# bench/results/viommu.md and viommu-raw.txt.  About 20 minutes warm.
set -eu

. "$(dirname "$0")/../scripts/config.sh"
. "$REPO/bench/lib.sh"

BENCH=$BUILD/bench-viommu
RESULTS=${BENCH_RESULTS:-$REPO/bench/results}
ROUNDS=${BENCH_ROUNDS:-3}
COUNT=${BENCH_COUNT:-1000}
INNER_COUNT=${BENCH_INNER_COUNT:-1024}

log() { echo "bench-viommu: $*"; }
die() { echo "bench-viommu: error: $*" >&2; exit 1; }

bench_against_72 "$BENCH"
sh "$REPO/tests/rig/make-inner-initrd.sh"
mkdir -p "$RESULTS"
{
    echo "BENCH_SET=viommu; ROUNDS=$ROUNDS; DMA_SIZES=''; HUGE_SIZES=''"
    echo "LOOP_SECS=1; COUNT=$COUNT; INNER_COUNT=$INNER_COUNT"
    echo "BENCH_BIN='$BENCH'"
    echo "OURS='$QEMU_BUILD/qemu-system-x86_64'"
    echo "PEER='$BUILD/peer/qemu/build/qemu-system-x86_64'"
    cat "$REPO/bench/guest-bench.sh"
} > "$BENCH/guest.sh"
log "booting the rig: $ROUNDS rounds"
export RIG_TIMEOUT=3600
bench_rig viommu
