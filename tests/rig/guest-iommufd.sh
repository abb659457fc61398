# SPDX-License-Identifier: GPL-2.0-or-later
# Rig guest script for the boot of the rig kernel (tests/rig/build-kernel.sh:
# IOMMUFD, vfio cdevs, the mdev samples): the device qtests again with every
# device on an iommufd object (VFIO_BACKEND=iommufd), the iommufd and mdev
# qtests, and the inner Linux guest's nvme I/O with the device and
# /dev/iommu passed to QEMU as fds, and behind our QEMU's intel-iommu
# (the inner kernel's own IOMMU on, the nvme on an iommufd object), the
# BAR hammer's inner guest on two vCPUs (guest-inner.sh), the vGPU displays (guest-display.sh, and libvirt's mdev display), and
# last the rig's host removing the nvme while the inner guest reads it.
# TAP in /out, as guest-qtests.sh.
set -eu
. "/host$REPO/tests/rig/guest-lib.sh"
. "/host$REPO/tests/rig/guest-inner.sh"
. "/host$REPO/tests/rig/guest-migration.sh"
. "/host$REPO/tests/rig/guest-display.sh"
. "/host$REPO/tests/rig/guest-libvirt.sh"
. "/host$REPO/tests/rig/guest-sriov.sh"
. "/host$REPO/tests/qtest-tap.sh"

# The device tests that also run on the legacy backend in the other boot
IOMMUFD_QTESTS=${IOMMUFD_QTESTS-"vfio-pci-test vfio-pci-hotplug-test
 vfio-pci-errors-test vfio-pci-reset-test vfio-pci-fuzz-test
 vfio-pci-hardening-test vfio-pci-express-test vfio-pci-viommu-test
 vfio-pci-memory-test"}
# Any UUIDs: the mtty instances of the mdev and migration tests
MDEV_UUID=8ab6c1c6-1f3c-4e56-9d0c-2f6f1b7e6d01
MIG_SRC_UUID=3f0f5a6e-6c1d-4c55-9a7e-2b1c0d9e8f01
MIG_DST_UUID=3f0f5a6e-6c1d-4c55-9a7e-2b1c0d9e8f02
MIG_OTHER_UUID=3f0f5a6e-6c1d-4c55-9a7e-2b1c0d9e8f03
MDPY_UUID=5d7f2a10-3c4b-4e8f-9a1d-6b2c3d4e5f01
MBOCHS_UUID=5d7f2a10-3c4b-4e8f-9a1d-6b2c3d4e5f02

# The qtests' cases for this kernel (rig_qtest passes it through)
export VFIO_IOMMUFD=1

# mdev_create UUID TYPE VAR: an mdev of TYPE (mtty-1: one port, mtty-2:
# two; mdpy-vga: a 640x480 region display; mbochs-medium: 16 MiB, dma-buf
# display up to 1920x1440), named to the qtests in VAR
mdev_create() {
    [ -d "/sys/bus/mdev/devices/$1" ] ||
        echo "$1" > "/sys/class/mdev_bus/${2%%-*}/mdev_supported_types/$2/create" ||
        return 1
    export "$3=$1"
}

mdevs_create() {
    mdev_create "$MDEV_UUID" mtty-1 VFIO_MDEV &&
        mdev_create "$MIG_SRC_UUID" mtty-1 VFIO_MIG_SRC &&
        mdev_create "$MIG_DST_UUID" mtty-1 VFIO_MIG_DST &&
        mdev_create "$MIG_OTHER_UUID" mtty-2 VFIO_MIG_OTHER &&
        mdev_create "$MDPY_UUID" mdpy-vga VFIO_MDPY &&
        mdev_create "$MBOCHS_UUID" mbochs-medium VFIO_MBOCHS
}

rig_bind_all
rig_chroot_prepare
inner_kvm
[ -e /dev/iommu ] || rig_log "error: this kernel has no /dev/iommu"
rc=0

INNER_TAP=iommufd-inner-guest.tap
# The iommufd variant's inner guest also has virtio-mem next to the nvme
INNER_IOMMUFD=1 INNER_VMEM=iommufd inner_guest_tests iommufd viommu
! grep -q '^not ok' /out/iommufd-inner-guest.tap || rc=1
# Here rather than in the boot of Debian's kernel, which has more to do
INNER_FAST_KERNEL=$RIG_KERNEL inner_hammer_test
! grep -q '^not ok' /out/inner-hammer.tap || rc=1

export VFIO_BACKEND=iommufd
# The fuzzing reaches nothing of the backend once the device is up: the
# two boots share it, half of each case's accesses here from a seed of
# their own, half in the other boot (guest-qtests.sh)
export VFIO_FUZZ_PERCENT=50 VFIO_FUZZ_SEED=0x5eed1fd0
rig_qtests iommufd- $IOMMUFD_QTESTS || rc=1
# A VF token on the cdev path: what this kernel makes of it
vf_token_tests || rc=1
unset VFIO_BACKEND VFIO_FUZZ_PERCENT VFIO_FUZZ_SEED

# Legacy-backend qtests that the boot of Debian's kernel, which has more
# to do, leaves to this one (tests/run.sh puts LEGACY_QTESTS in front)
rig_qtests "" ${LEGACY_QTESTS:-} || rc=1

mdevs_create || rig_log "error: cannot create the mtty mdevs"
# One device back on its host driver, for the error that says so
rig_bind_vfio restore "$VFIO_E1000E"
export VFIO_HOST_BOUND=$VFIO_E1000E
rig_qtests "" vfio-pci-iommufd-test vfio-pci-mdev-test \
    vfio-pci-migration-test vfio-pci-display-test || rc=1
rig_bind_vfio bind "$VFIO_E1000E"

# The vGPUs' screens: real guest drivers, then libvirt's XML for them
display_vgpu_tests
! grep -q '^not ok' /out/inner-vgpu.tap || rc=1
libvirt_mdev_display_tests
! grep -q '^not ok' /out/libvirt-mdev-display.tap || rc=1

# Migration with mtty's own DMA logging tracking its dirty pages
export VFIO_BACKEND=iommufd
rig_qtests iommufd- vfio-pci-migration-test || rc=1
unset VFIO_BACKEND

inner_migration_tests
! grep -q '^not ok' /out/inner-migration.tap || rc=1

# Last: it takes the nvme away from the rig (and rescans it back)
inner_remove_test
! grep -q '^not ok' /out/inner-remove.tap || rc=1
exit $rc
