# SPDX-License-Identifier: GPL-2.0-or-later
# Rig guest step (sourced after guest-lib.sh, whose rig_qtest it uses, and
# qtest-tap.sh): SR-IOV, last, as it changes the rig's second
# nvme for good.  Its physical function (VFIO_NVME_PF, on vfio-pci until
# now for the tests that assign a PF) goes to the rig kernel's nvme
# driver, as a host's PF does; vfio-pci-test's nvme-vf tests (VFIO_SRIOV=1)
# then enable and online a virtual function and assign it.
#
#   sriov_tests   TAP to /out/vfio-pci-sriov.tap

# The PF on the nvme driver, its controller up: /sys/.../nvme/nvmeN.
sriov_pf_to_nvme() {
    _sr_pf=/sys/bus/pci/devices/$VFIO_NVME_PF
    rig_bind_vfio unbind "$VFIO_NVME_PF" || return 1
    for _sr_m in nvme-auth nvme-core nvme; do
        grep -q "^$(echo "$_sr_m" | tr - _) " /proc/modules ||
            insmod "/mods/$_sr_m.ko" || return 1
    done
    [ -e "$_sr_pf/driver" ] ||
        echo "$VFIO_NVME_PF" > /sys/bus/pci/drivers/nvme/bind || return 1
    for _sr_i in $(seq 100); do
        ls "$_sr_pf/nvme/" 2>/dev/null | grep -q '^nvme' && return 0
        sleep 0.1
    done
    return 1
}

sriov_tests() {
    if ! sriov_pf_to_nvme; then
        rig_log "error: the SR-IOV PF $VFIO_NVME_PF did not come up on nvme"
        echo "not ok - rig: the SR-IOV PF did not come up on nvme" \
            > /out/vfio-pci-sriov.tap
        return 1
    fi
    rig_log "running vfio-pci-test's SR-IOV tests (PF $VFIO_NVME_PF on nvme)"
    VFIO_SRIOV=1
    export VFIO_SRIOV
    qtest_tap /out/vfio-pci-sriov.tap rig_qtest vfio-pci-test
    unset VFIO_SRIOV
    ! grep -q '^not ok' /out/vfio-pci-sriov.tap
}
