#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# usage: tests/rig/run.sh GUEST_SCRIPT [OUTDIR]
#
# Boots the rig (a Linux guest under TCG with an emulated intel-iommu and
# edu, e1000e, nvme and nec-usb-xhci devices at 00:02.0 to 00:05.0, and an
# e1000e (PM reset only) and an nvme (FLR) as functions 01:00.0 and 01:00.1
# behind a root port at 00:06.0: one bus, one IOMMU group, for bus resets
# (the port is a 5 GT/s one, as QEMU 7.2's faster root ports never report
# their link active again after a secondary bus reset, and Linux gives up
# on a bus reset of those); an nvme with SR-IOV at 00:09.0; an i6300esb at
# 00:0a.0, whose 16-byte BAR is smaller than a page) and runs
# GUEST_SCRIPT in it as /out/guest.sh under busybox sh, before any chroot.
# run.sh puts three lines in front of the script:
#     REPO='/path/of/this/clone'; BUILD='/path/of/build'; RIG_KERNEL='...'
#     export REPO BUILD RIG_KERNEL
# so a guest script starts with
#     . "/host$REPO/tests/rig/guest-lib.sh"
# The host root is at /host (read-only); OUTDIR is at /out (writable).
#
# OUTDIR (default $BUILD/rig/out, emptied first) ends up with guest.sh,
# guest.log (its output), guest.rc (its exit code) and console.log (guest
# console and outer QEMU messages).  Exits with the guest script's code, or
# 2 if it never finished (panic, hang, RIG_TIMEOUT seconds, default 2400:
# a boot takes 1100-1200 s here, and half as long again on a loaded host).
# RIG_MEM sets the guest's memory (default 4G); RIG_KERNEL boots another
# kernel than Debian's, e.g. the one of tests/rig/build-kernel.sh;
# RIG_NVME_IMG is the nvme's backing file (default $BUILD/rig/nvme.img);
# RIG_EXTRA adds arguments (devices) to the rig's QEMU and RIG_SMP sets its
# vCPUs (default 1): bench/scale.sh's.
# The rig's own QEMU answers QMP commands that the guest script leaves in
# /out/requests (rig_outer in guest-lib.sh; tests/rig/qmp.py serve): a
# screendump of the rig's std VGA, say.
set -eu

REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/scripts/config.sh"

RIG=$BUILD/rig
RIG_TIMEOUT=${RIG_TIMEOUT:-2400}
RIG_MEM=${RIG_MEM:-4G}
RIG_SMP=${RIG_SMP:-1}
# The nvme's backing file: two rigs that run at once need one each
RIG_NVME_IMG=${RIG_NVME_IMG:-$RIG/nvme.img}

log() { echo "rig: $*" >&2; }
die() { echo "rig: error: $*" >&2; exit 2; }

nvme_image() {
    [ -f "$RIG_NVME_IMG" ] && return 0
    truncate -s 64M "$RIG_NVME_IMG.tmp" && mv "$RIG_NVME_IMG.tmp" "$RIG_NVME_IMG"
}

prepare_out() {
    if [ -d "$OUT" ] && [ -n "$(ls -A "$OUT")" ] && [ ! -f "$OUT/guest.sh" ]; then
        die "$OUT is not empty and not a rig output directory; not emptying it"
    fi
    rm -rf "$OUT"
    mkdir -p "$OUT"
    OUT=$(cd "$OUT" && pwd)
    {
        echo "REPO='$REPO'; BUILD='$BUILD'; RIG_KERNEL='${RIG_KERNEL:-}'"
        echo "export REPO BUILD RIG_KERNEL"
        echo "# --- $GUEST ---"
        cat "$GUEST"
    } > "$OUT/guest.sh"
}

boot() {
    qmp=$RIG/qmp-$$.sock
    python3 "$REPO/tests/rig/qmp.py" "$qmp" serve "$OUT" \
        > "$OUT/qmp-serve.log" 2>&1 &
    set -- "$KERNEL_DIR"/boot/vmlinuz-*
    kernel=${RIG_KERNEL:-$1}
    [ -f "$kernel" ] || die "no guest kernel in $KERNEL_DIR (run scripts/setup.sh)"
    timeout -k 10 "$RIG_TIMEOUT" qemu-system-x86_64 \
        -M q35 -accel tcg -cpu max -smp "$RIG_SMP" -m "$RIG_MEM" \
        -display none -serial stdio -monitor none -no-reboot \
        -qmp unix:"$qmp",server=on,wait=off \
        -device intel-iommu,intremap=on,caching-mode=on \
        -device edu,addr=02.0 \
        -netdev user,id=n0,restrict=on -device e1000e,netdev=n0,addr=03.0 \
        -drive file="$RIG_NVME_IMG",if=none,id=nvm,format=raw \
        -device nvme,serial=deadbeef,drive=nvm,addr=04.0 \
        -device nec-usb-xhci,addr=05.0,msi=on,msix=on \
        -device pcie-root-port,id=rp1,chassis=1,slot=1,addr=06.0,x-speed=5 \
        -device e1000e,bus=rp1,addr=00.0,multifunction=on \
        -device nvme,serial=r00t,bus=rp1,addr=00.1 \
        -device i6300esb,addr=0a.0 \
        -device nvme-subsys,id=nvsub \
        -device nvme,serial=5eed,subsys=nvsub,addr=09.0,sriov_max_vfs=1,sriov_vq_flexible=2,sriov_vi_flexible=1,max_ioqpairs=4,msix_qsize=4 \
        -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
        -virtfs local,path="$OUT",mount_tag=out,security_model=none \
        ${RIG_EXTRA:-} \
        -kernel "$kernel" -initrd "$RIG/initrd.gz" \
        -append "console=ttyS0 intel_iommu=on panic=-1" \
        < /dev/null > "$OUT/console.log" 2>&1 || true
    wait
    rm -f "$qmp"
}

report() {
    rc=$(cat "$OUT/guest.rc" 2>/dev/null || true)
    case $rc in
    ''|*[!0-9]*)
        log "the guest did not finish (panic, hang or ${RIG_TIMEOUT}s timeout)"
        echo "--- last 60 lines of $OUT/console.log ---"
        tail -n 60 "$OUT/console.log" 2>/dev/null || true
        echo "--- last 60 lines of $OUT/guest.log ---"
        tail -n 60 "$OUT/guest.log" 2>/dev/null || true
        exit 2 ;;
    esac
    cat "$OUT/guest.log"
    log "guest script exited $rc after $(($(date +%s) - START))s (output in $OUT)"
    exit "$rc"
}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    die "usage: tests/rig/run.sh GUEST_SCRIPT [OUTDIR]"
fi
GUEST=$1
OUT=${2:-$RIG/out}
[ -f "$GUEST" ] || die "no such guest script: $GUEST"
START=$(date +%s)
mkdir -p "$RIG"
sh "$REPO/tests/rig/make-initrd.sh" >&2
sh "$REPO/tests/rig/make-inner-initrd.sh" >&2
nvme_image
prepare_out
boot
report
