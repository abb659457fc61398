#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The virtio-mem benchmark: VM start with an assigned edu next to a 1 GiB
# virtio-mem device, our QEMU against QEMU 7.2's own vfio-pci (the peer,
# bench/build-peer.sh), alternating which goes first, in one boot of the
# rig (Debian's kernel, type1); the same start without the virtio-mem
# device beside it.  Writes bench/results/vmem.md and vmem-raw.txt.
set -eu

. "$(dirname "$0")/../scripts/config.sh"
. "$REPO/bench/lib.sh"

BENCH=$BUILD/bench-vmem
RESULTS=${BENCH_RESULTS:-$REPO/bench/results}
ROUNDS=${BENCH_ROUNDS:-5}

log() { echo "bench-vmem: $*"; }
die() { echo "bench-vmem: error: $*" >&2; exit 1; }

bench_against_72 "$BENCH"
mkdir -p "$RESULTS"
{
    echo "BENCH_SET=vmem; ROUNDS=$ROUNDS; DMA_SIZES=''; HUGE_SIZES=''"
    echo "LOOP_SECS=1; COUNT=1"
    echo "BENCH_BIN='$BENCH'"
    echo "OURS='$QEMU_BUILD/qemu-system-x86_64'"
    echo "PEER='$BUILD/peer/qemu/build/qemu-system-x86_64'"
    cat "$REPO/bench/guest-bench.sh"
} > "$BENCH/guest.sh"
log "booting the rig: $ROUNDS rounds"
bench_rig vmem
