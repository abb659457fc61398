# SPDX-License-Identifier: GPL-2.0-or-later
# Rig guest script (run through tests/rig/run.sh): binds the rig's devices
# to vfio-pci and runs the rig tests of Debian's kernel against them,
# leaving TAP in /out: a real Linux guest (on the rig's KVM) driving the
# assigned nvme with MSI-X and then with INTx (guest-inner.sh), our qtests
# (RIG_QTESTS: tests/run.sh leaves two to the rig kernel's boot), the
# inner guest's display drivers on the
# rig's std VGA (guest-display.sh), bind-vfio.sh, our package installed and
# run by libvirt as Debian ships it (guest-debian-host.sh), then the VF token and an SR-IOV VF (guest-sriov.sh).
set -eu
. "/host$REPO/tests/rig/guest-lib.sh"
. "/host$REPO/tests/rig/guest-ich9.sh"
. "/host$REPO/tests/rig/guest-libvirt.sh"
. "/host$REPO/tests/rig/guest-debian-host.sh"
. "/host$REPO/tests/rig/guest-inner.sh"
. "/host$REPO/tests/rig/guest-display.sh"
. "/host$REPO/tests/rig/guest-sriov.sh"
. "/host$REPO/tests/qtest-tap.sh"

rig_bind_all
rig_ich9_setup || rig_log "error: cannot set up the ICH9 group"
rig_chroot_prepare
ls -l /dev/vfio
inner_kvm

# First, while the rig's nvme is as fresh as a host's: QEMU's emulated
# nvme keeps state across users (an MSI-X vector marked in use when an
# earlier user enabled the controller with MSI-X on and reset it with
# MSI-X off), which hid lost admin-queue interrupts when this ran last.
# msix-reloc's inner guest also has virtio-mem next to the nvme
INNER_VMEM=msix-reloc inner_guest_tests msix intx msix-reloc

rc=0
# Half of the fuzzing, the other half in the rig kernel's boot
export VFIO_FUZZ_PERCENT=50
rig_qtests "" $RIG_QTESTS || rc=1
unset VFIO_FUZZ_PERCENT
# After the qtests: the inner bochs-drm leaves the VGA out of text mode
display_vga_tests
! grep -q '^not ok' /out/inner-vga.tap || rc=1
echo "rig: running bind-vfio-rig-test"
sh "/host$REPO/tests/rig/bind-vfio-rig-test.sh" "/host$REPO/scripts/bind-vfio.sh" \
    > /out/bind-vfio-rig.tap 2>&1 || rc=1
rig_ich9_restore
debian_host_tests || true
vf_token_tests || rc=1
sriov_tests || rc=1
exit $rc
