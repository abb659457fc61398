#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The iommufd rows of the benchmarks: realize, device_add and DMA mapping of
# 256 MiB to 2 GiB of guest RAM, for our QEMU on type1 (OURS), our QEMU on
# iommufd (OURS_IOMMUFD) and upstream QEMU 10.0 on iommufd (PEER10,
# bench/build-peer10.sh), side by side in one boot of the rig kernel
# (tests/rig/build-kernel.sh), which has both backends.  Runs on a fresh
# Debian 12 machine as root, like bench/run.sh; writes
# bench/results/iommufd.md and iommufd-raw.txt.  About 15 minutes warm,
# plus the peer's build (5 minutes) on a cold machine.
set -eu

. "$(dirname "$0")/../scripts/config.sh"
. "$REPO/bench/lib.sh"

BENCH=$BUILD/bench-iommufd
RESULTS=${BENCH_RESULTS:-$REPO/bench/results}
ROUNDS=${BENCH_ROUNDS:-5}
DMA_SIZES=${BENCH_DMA_SIZES:-256 1024 2048}
RIG_MEM=${RIG_MEM:-6G}
export RIG_MEM
IOMMUFD_ARGS="-object iommufd,id=ifd0 -global vfio-pci.iommufd=ifd0"

log() { echo "bench-iommufd: $*"; }
die() { echo "bench-iommufd: error: $*" >&2; exit 1; }

"$REPO/scripts/setup.sh"
"$REPO/scripts/build.sh"
PEER10=$("$REPO/bench/build-peer10.sh") || die "no QEMU 10.0 peer"
KERNEL=$("$REPO/tests/rig/build-kernel.sh") || die "no rig kernel"
bench_client "$BENCH"
mkdir -p "$RESULTS"
{
    echo "BENCH_SET=iommufd; ROUNDS=$ROUNDS; DMA_SIZES='$DMA_SIZES'"
    echo "HUGE_SIZES=''; LOOP_SECS=1; COUNT=1; BENCH_BIN='$BENCH'"
    echo "QEMUS='OURS OURS_IOMMUFD PEER10'"
    echo "OURS='$QEMU_BUILD/qemu-system-x86_64'"
    echo "OURS_IOMMUFD='$QEMU_BUILD/qemu-system-x86_64'"
    echo "PEER10='$PEER10'; PEER=\$PEER10"
    echo "ARGS_OURS_IOMMUFD='$IOMMUFD_ARGS'; ARGS_PEER10='$IOMMUFD_ARGS'"
    cat "$REPO/bench/guest-bench.sh"
} > "$BENCH/guest.sh"
log "booting the rig kernel: $ROUNDS rounds (RIG_MEM=$RIG_MEM)"
export RIG_KERNEL=$KERNEL RIG_TIMEOUT=3600
bench_rig iommufd
