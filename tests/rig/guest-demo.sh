# SPDX-License-Identifier: GPL-2.0-or-later
# Rig guest script for the README's main command: binds the rig's devices
# to vfio-pci, then our QEMU boots a Linux guest with the rig's nvme
# assigned, whose own nvme driver writes blocks, reads them back and
# counts its MSI-X interrupts (guest-inner.sh).
set -eu
. "/host$REPO/tests/rig/guest-lib.sh"
. "/host$REPO/tests/rig/guest-inner.sh"

rig_bind_all
rig_chroot_prepare
inner_kvm
for dev in "$VFIO_EDU" "$VFIO_E1000E" "$VFIO_NVME"; do
    rig_bind_vfio status "$dev"
done

echo "demo: our vfio-pci assigns nvme ($VFIO_NVME) to a Linux guest;" \
     "its nvme driver writes, reads back and compares blocks over MSI-X"
inner_guest_tests msix
! grep -q '^not ok' /out/inner-guest.tap
