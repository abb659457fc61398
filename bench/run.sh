#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# usage: bench/run.sh
#
# The benchmark command: sets up and builds ours (scripts/setup.sh,
# scripts/build.sh) and the peer, QEMU 7.2's own vfio-pci
# (bench/build-peer.sh), builds the client, the raw-VFIO program and the
# vCPU loop, boots the rig once and runs both QEMUs alternately for
# BENCH_ROUNDS rounds (default 5) on the same devices, then writes
# bench/results/results.md and results.png (bench/report.py).
set -eu

. "$(dirname "$0")/../scripts/config.sh"

BENCH=$BUILD/bench
RESULTS=${BENCH_RESULTS:-$REPO/bench/results}
ROUNDS=${BENCH_ROUNDS:-5}
DMA_SIZES=${BENCH_DMA_SIZES:-256 1024 2048}
HUGE_SIZES=${BENCH_HUGE_SIZES:-1024}
LOOP_SECS=${BENCH_LOOP_SECS:-1}
COUNT=${BENCH_COUNT:-300}
# 2 GiB of pinned inner guest RAM plus the rest: more than the rig's 4G.
RIG_MEM=${RIG_MEM:-6G}
export RIG_MEM

log() { echo "bench: $*"; }
die() { echo "bench: error: $*" >&2; exit 1; }

CFLAGS="-O2 -Wall -Wextra -Wno-unused-parameter -Werror"

tools() {
    mkdir -p "$BENCH"
    # shellcheck disable=SC2086
    gcc $CFLAGS -o "$BENCH/vfio-bench" "$REPO/bench/vfio-bench.c"
    # shellcheck disable=SC2086
    gcc $CFLAGS -o "$BENCH/raw-vfio" "$REPO/bench/raw-vfio.c"
    as --32 -o "$BENCH/bar-loop.o" "$REPO/bench/bar-loop.S"
    objcopy -O binary -j .text "$BENCH/bar-loop.o" "$BENCH/bar-loop.bin"
    [ "$(wc -c < "$BENCH/bar-loop.bin")" = 65536 ] ||
        die "bar-loop.bin is not 64 KiB"
}

guest_script() {
    {
        echo "ROUNDS=$ROUNDS; DMA_SIZES='$DMA_SIZES'; HUGE_SIZES='$HUGE_SIZES'"
        echo "LOOP_SECS=$LOOP_SECS"
        echo "COUNT=$COUNT; BENCH_BIN='$BENCH'"
        echo "OURS='$QEMU_BUILD/qemu-system-x86_64'"
        echo "PEER='$BUILD/peer/qemu/build/qemu-system-x86_64'"
        cat "$REPO/bench/guest-bench.sh"
    } > "$BENCH/guest.sh"
}

# The commit measured, and whether hw/vfio differed from it.
commit() {
    c=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
    git -C "$REPO" diff --quiet HEAD -- hw/vfio include/hw/vfio 2>/dev/null ||
        c="$c with uncommitted hw/vfio changes"
    echo "$c"
}

machine() {
    cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)
    {
        echo "host_cpu $cpu"
        echo "host_cores $(nproc)"
        echo "host_kernel $(uname -r)"
        echo "rig_qemu $(qemu-system-x86_64 --version | head -n 1)"
        echo "rig_mem $RIG_MEM"
        echo "commit $(commit)"
        echo "gcc $(gcc --version | head -n 1)"
    } > "$BENCH/host.txt"
}

START=$(date +%s)
"$REPO/scripts/setup.sh"
"$REPO/scripts/build.sh"
"$REPO/bench/build-peer.sh"
tools
guest_script
machine
log "booting the rig: $ROUNDS rounds (RIG_MEM=$RIG_MEM)"
rc=0
"$REPO/tests/rig/run.sh" "$BENCH/guest.sh" "$BENCH/rig" \
    > "$BENCH/rig.log" 2>&1 || rc=$?
tail -n 20 "$BENCH/rig.log"
[ -s "$BENCH/rig/results.txt" ] ||
    die "the rig produced no results (rig exit $rc)"
mkdir -p "$RESULTS"
# Debian's python3, which has Debian's matplotlib (not one earlier on PATH)
/usr/bin/python3 "$REPO/bench/report.py" "$BENCH" "$RESULTS"
log "done in $(($(date +%s) - START))s: $RESULTS/results.md"
[ "$rc" = 0 ] || die "some benchmark runs failed (rig exit $rc)"
