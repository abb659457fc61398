# SPDX-License-Identifier: GPL-2.0-or-later
# Rig guest step (sourced after guest-lib.sh, whose rig_qtest it uses, and
# qtest-tap.sh): SR-IOV, last, as it changes the rig's second
# nvme for good.  Its physical function (VFIO_NVME_PF, on vfio-pci until
# now for the tests that assign a PF) goes to the rig kernel's nvme
# driver, as a host's PF does; vfio-pci-test's nvme-vf tests (VFIO_SRIOV=1)
# then enable and online a virtual function and assign it.
#
#   sriov_tests     TAP to /out/vfio-pci-sriov.tap
#   vf_token_tests  TAP to /out/vfio-pci-vf-token.tap (before sriov_tests)

# The PF on the nvme driver, its controller up: /sys/.../nvme/nvmeN.
sriov_pf_to_nvme() {
    _sr_pf=/sys/bus/pci/devices/$VFIO_NVME_PF
    rig_bind_vfio unbind "$VFIO_NVME_PF" || return 1
    rig_nvme_driver || return 1
    [ -e "$_sr_pf/driver" ] ||
        echo "$VFIO_NVME_PF" > /sys/bus/pci/drivers/nvme/bind || return 1
    for _sr_i in $(seq 100); do
        ls "$_sr_pf/nvme/" 2>/dev/null | grep -q '^nvme' && return 0
        sleep 0.1
    done
    return 1
}

# The VF token: vfio-pci-test's vf-token cases (VFIO_VF_TOKEN=1) with the
# PF left on vfio-pci, where rig_bind_all put it, and vfio-pci's
# enable_sriov on, for the cases' own VF.  Then the VF goes and
# enable_sriov is as it was, for sriov_tests (the PF to nvme).  The PF's
# token lives on in the kernel; nothing after this reads it.  On the rig
# kernel's boot the cdev case runs instead (VFIO_BACKEND=iommufd).
vf_token_tests() {
    _vt_param=/sys/module/vfio_pci/parameters/enable_sriov
    _vt_pf=/sys/bus/pci/devices/$VFIO_NVME_PF
    _vt_tap=/out/${VFIO_BACKEND:+$VFIO_BACKEND-}vfio-pci-vf-token.tap
    _vt_drv=$(readlink "$_vt_pf/driver" 2>/dev/null) || true
    if [ ! -w "$_vt_param" ] || [ "${_vt_drv##*/}" != vfio-pci ]; then
        rig_log "error: no vfio_pci enable_sriov, or the PF $VFIO_NVME_PF" \
            "is on ${_vt_drv##*/}, not vfio-pci"
        echo "not ok - rig: the VF token's PF is not ready" > "$_vt_tap"
        return 1
    fi
    _vt_was=$(cat "$_vt_param")
    echo Y > "$_vt_param"
    rig_log "running vfio-pci-test's VF token cases (PF $VFIO_NVME_PF on" \
        "vfio-pci, enable_sriov)"
    VFIO_VF_TOKEN=1
    export VFIO_VF_TOKEN
    qtest_tap "$_vt_tap" rig_qtest vfio-pci-test
    unset VFIO_VF_TOKEN
    # What vf-remove did, unless the test binary died before it
    [ "$(cat "$_vt_pf/sriov_numvfs")" = 0 ] ||
        echo 0 > "$_vt_pf/sriov_numvfs" || rig_log "error: the VF stays"
    echo "$_vt_was" > "$_vt_param"
    ! grep -q '^not ok' "$_vt_tap"
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
