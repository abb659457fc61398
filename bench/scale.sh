#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The scale rows: MSI-X bring-up of an nvme with 2048 vectors (QEMU's nvme,
# msix_qsize=2048), VM start with 1 to 16 SR-IOV VFs of one nvme, and
# device_add of the 16 in a row; our QEMU, QEMU 7.2's own vfio-pci (the
# peer, bench/build-peer.sh) and QEMU 10.0's (bench/build-peer10.sh), the
# first rotating each round, in one boot of the rig (Debian's kernel,
# type1).  The rig gets 12 vCPUs here: x86 has some 200 interrupt vectors
# per CPU for devices, and each MSI-X vector the host wires takes one.
# Writes bench/results/scale.md and scale-raw.txt.
set -eu

. "$(dirname "$0")/../scripts/config.sh"
. "$REPO/bench/lib.sh"

BENCH=$BUILD/bench-scale
RESULTS=${BENCH_RESULTS:-$REPO/bench/results}
ROUNDS=${BENCH_ROUNDS:-3}
SCALE_MSIX=0000:00:0b.0
SCALE_PF=0000:00:0c.0
# The PF's 16 VFs take the functions after it, 0c.1 to 0e.0
RIG_EXTRA="-device nvme,serial=5ca1e,addr=0b.0,msix_qsize=2048
 -device nvme-subsys,id=nvsub16
 -device nvme,serial=5ca1f,subsys=nvsub16,addr=0c.0,sriov_max_vfs=16,sriov_vq_flexible=32,sriov_vi_flexible=16,max_ioqpairs=34,msix_qsize=17"
RIG_SMP=${RIG_SMP:-12}
export RIG_EXTRA RIG_SMP

log() { echo "bench-scale: $*"; }
die() { echo "bench-scale: error: $*" >&2; exit 1; }

bench_against_72 "$BENCH"
PEER10=$("$REPO/bench/build-peer10.sh") || die "no QEMU 10.0 peer"
mkdir -p "$RESULTS"
{
    echo "BENCH_SET=scale; ROUNDS=$ROUNDS; DMA_SIZES=''; HUGE_SIZES=''"
    echo "LOOP_SECS=1; COUNT=1; BENCH_BIN='$BENCH'"
    echo "SCALE_MSIX=$SCALE_MSIX; SCALE_PF=$SCALE_PF"
    echo "QEMUS='OURS PEER PEER10'"
    echo "OURS='$QEMU_BUILD/qemu-system-x86_64'"
    echo "PEER='$BUILD/peer/qemu/build/qemu-system-x86_64'"
    echo "PEER10='$PEER10'"
    cat "$REPO/bench/guest-bench.sh"
} > "$BENCH/guest.sh"
log "booting the rig with $RIG_SMP vCPUs: $ROUNDS rounds"
export RIG_TIMEOUT=5400
bench_rig scale
