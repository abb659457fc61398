#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds the rig guest's initramfs, $BUILD/rig/initrd.gz: static busybox,
# the VFIO and 9p modules of the unpacked Debian kernel in $KERNEL_DIR (and
# aer_inject, with which tests inject AER errors into the rig's devices;
# overlay, loaded when a test needs a writable view of the host root; mdev,
# for the mtty module built for this kernel; KVM, for the inner guests),
# and an /init that mounts the host root read-only at /host and the results
# share at /out, runs /out/guest.sh and powers off.  Does nothing when the
# initrd is newer than this script.
set -eu

REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/scripts/config.sh"
. "$REPO/tests/rig/initrd-lib.sh"

OUT=$BUILD/rig/initrd.gz
# Load order matters: each module needs the ones before it.
MODULES="virt/lib/irqbypass drivers/vfio/vfio drivers/vfio/vfio_iommu_type1
 drivers/vfio/pci/vfio-pci-core drivers/vfio/pci/vfio-pci fs/netfs/netfs
 net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p drivers/pci/pcie/aer_inject
 drivers/nvme/common/nvme-auth drivers/nvme/host/nvme-core drivers/nvme/host/nvme
 fs/overlayfs/overlay drivers/vfio/mdev/mdev arch/x86/kvm/kvm
 drivers/crypto/ccp/ccp arch/x86/kvm/kvm-amd"

log() { echo "make-initrd: $*"; }
die() { echo "make-initrd: error: $*" >&2; exit 1; }


write_init() {
    cat <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
# The rig kernel of the iommufd tests (tests/rig/build-kernel.sh) has it
# all built in, and no module support.
[ -e /proc/modules ] &&
for m in irqbypass vfio vfio_iommu_type1 vfio-pci-core vfio-pci netfs 9pnet 9pnet_virtio 9p \
    aer_inject; do
    insmod /mods/$m.ko || echo "RIG: insmod $m failed"
done
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /host ||
    echo "RIG: mounting the host root failed"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 out /out ||
    echo "RIG: mounting /out failed"
echo "RIG: booted $(cut -d' ' -f1 /proc/uptime)s"
rc=0
sh /out/guest.sh > /out/guest.log 2>&1 || rc=$?
echo $rc > /out/guest.rc
sync
echo "RIG: guest.sh exited $rc at $(cut -d' ' -f1 /proc/uptime)s"
poweroff -f
EOF
}

build() {
    v=$(kernel_version)
    m=$KERNEL_DIR/lib/modules/$v/kernel
    d=$(mktemp -d)
    trap 'rm -rf "$d"' EXIT
    initrd_root "$d" host out run
    for x in $MODULES; do
        xz -dc "$m/$x.ko.xz" > "$d/mods/${x##*/}.ko" || die "missing module $x.ko.xz"
    done
    write_init > "$d"/init
    initrd_pack "$d" "$OUT"
    log "built $OUT (kernel $v)"
}

initrd_fresh "$OUT" || build
