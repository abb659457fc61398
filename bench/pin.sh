#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The guest RAM pinning rows (issue 29's goals 2, 3 and 5): with 2 GiB of
# guest RAM, QEMU start to the edu's first config read, to its first DMA
# into guest RAM, and the span of the maps; the first QEMU rotating each
# round.  Writes bench/results/pin-NAME.md and pin-NAME-raw.txt.
#
# By default (BENCH_PIN_SET=smp), our QEMU and QEMU 10.0 on type1 and on
# iommufd and QEMU 7.2 on type1, in two boots of the rig kernel (both
# backends): one vCPU (pin-smp1), where pinning and the VM's start share
# it, and two (pin-smp2), where they can overlap and pinning can split.
# About 20 minutes warm.  BENCH_PIN_SMP, BENCH_PIN_QEMUS and BENCH_PIN_TAG
# (appended to the name) narrow it: pin-smp1-ab.md is BENCH_PIN_SMP=1
# BENCH_PIN_QEMUS='OURS PEER' BENCH_PIN_TAG=-ab BENCH_ROUNDS=8.  The
# machine is pc, whose RAM is laid out before the devices come;
# BENCH_PIN_MACHINE=q35 (pin-smp1-q35.md, BENCH_PIN_TAG=-q35) lays it out
# at its first reset, after them.
#
# BENCH_PIN_SET=kernels: ours and 10.0 on iommufd, with guest RAM
# anonymous and in a shared memfd (which a kernel of 6.13 or later maps by
# the file), two vCPUs, on the rig kernel (pin-kernel-rig) and on a newer
# one: LINUX_SRC_PKG from Debian suite BENCH_PIN_SUITE, built by
# tests/rig/build-kernel.sh (pin-kernel-newer).  About 15 minutes warm,
# plus the newer kernel's download and build (15 minutes) on a cold one.
set -eu

. "$(dirname "$0")/../scripts/config.sh"
. "$REPO/bench/lib.sh"

RESULTS=${BENCH_RESULTS:-$REPO/bench/results}
ROUNDS=${BENCH_ROUNDS:-3}
PIN_MB=${BENCH_PIN_MB:-2048}
PIN_MACHINE=${BENCH_PIN_MACHINE:-pc}
RIG_MEM=${RIG_MEM:-6G}
IOMMUFD_ARGS="-object iommufd,id=ifd0 -global vfio-pci.iommufd=ifd0"
export RIG_MEM RIG_TIMEOUT=3600

log() { echo "bench-pin: $*"; }
die() { echo "bench-pin: error: $*" >&2; exit 1; }

# pin_boot NAME KERNEL SMP QEMUS [MEMFD]: one boot, pin-NAME.md
pin_boot() {
    BENCH=$BUILD/bench-pin/$1
    mkdir -p "$BENCH"
    {
        echo "BENCH_SET=pin; ROUNDS=$ROUNDS; PIN_MB=$PIN_MB"
        echo "PIN_MEMFD='${5:-}'; PIN_MACHINE='$PIN_MACHINE'"
        echo "DMA_SIZES=''; HUGE_SIZES=''; LOOP_SECS=1; COUNT=1"
        echo "BENCH_BIN='$BUILD/bench-pin'"
        echo "QEMUS='$4'"
        echo "OURS='$QEMU_BUILD/qemu-system-x86_64'; OURS_IOMMUFD=\$OURS"
        echo "PEER='$BUILD/peer/qemu/build/qemu-system-x86_64'"
        echo "PEER10='$PEER10'; PEER10_IOMMUFD=\$PEER10"
        echo "ARGS_OURS_IOMMUFD='$IOMMUFD_ARGS'"
        echo "ARGS_PEER10_IOMMUFD='$IOMMUFD_ARGS'"
        cat "$REPO/bench/guest-bench.sh"
    } > "$BENCH/guest.sh"
    log "booting $2 with $3 vCPU(s): $ROUNDS rounds"
    RIG_KERNEL=$2
    RIG_SMP=$3
    export RIG_KERNEL RIG_SMP
    bench_rig pin "pin-$1"
}

bench_against_72 "$BUILD/bench-pin"
PEER10=$("$REPO/bench/build-peer10.sh") || die "no QEMU 10.0 peer"
KERNEL=$("$REPO/tests/rig/build-kernel.sh") || die "no rig kernel"
mkdir -p "$RESULTS"
if [ "${BENCH_PIN_SET:-smp}" = kernels ]; then
    NEWER=$(RIG_LINUX_SUITE=${BENCH_PIN_SUITE:-trixie-backports} \
            LINUX_SRC_PKG=${BENCH_PIN_LINUX:-linux-source-7.2} \
            "$REPO/tests/rig/build-kernel.sh") || die "no newer kernel"
    for k in rig:$KERNEL newer:$NEWER; do
        pin_boot "kernel-${k%%:*}" "${k#*:}" 2 "OURS_IOMMUFD PEER10_IOMMUFD" 1
    done
    exit 0
fi
for smp in ${BENCH_PIN_SMP:-1 2}; do
    pin_boot "smp$smp${BENCH_PIN_TAG:-}" "$KERNEL" "$smp" \
        "${BENCH_PIN_QEMUS:-OURS OURS_IOMMUFD PEER PEER10 PEER10_IOMMUFD}"
done
