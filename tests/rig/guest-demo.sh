# SPDX-License-Identifier: GPL-2.0-or-later
# Rig guest script for the README's main command: binds the rig's devices
# to vfio-pci and shows our QEMU driving the assigned edu device.
set -eu
. "/host$REPO/tests/rig/guest-lib.sh"

rig_bind_all
rig_chroot_prepare
for dev in "$VFIO_EDU" "$VFIO_E1000E" "$VFIO_NVME"; do
    rig_bind_vfio status "$dev"
done

echo "demo: our vfio-pci assigns edu ($VFIO_EDU): identity, MMIO, MSI, DMA"
rig_in_chroot env VFIO_RIG=1 QTEST_QEMU_BINARY=./qemu-system-x86_64 \
    sh -c 'cd "$1/qemu/build" && exec timeout 300 ./tests/qtest/vfio-pci-test \
           --verbose -p /x86_64/vfio-pci/rig/edu' sh "$BUILD"
