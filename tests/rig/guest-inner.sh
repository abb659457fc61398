# SPDX-License-Identifier: GPL-2.0-or-later
# Rig guest step (sourced after guest-lib.sh and rig_bind_all,
# rig_chroot_prepare): our QEMU boots the inner guest built by
# make-inner-initrd.sh with the rig's nvme assigned by our vfio-pci, and a
# real Linux nvme driver writes, reads back and compares blocks on it.
#
#   inner_guest_tests [VARIANT...]   msix (default), intx (the inner
#                                    kernel gets pci=nomsi), iommufd
#                                    (MSI-X, the device on the iommufd
#                                    backend, QEMU given only fds of
#                                    /dev/iommu and the cdev, as libvirt
#                                    does) and/or viommu (MSI-X, behind our
#                                    QEMU's intel-iommu, which the inner
#                                    kernel runs: intel_iommu=on, strict
#                                    unmaps; on an iommufd object with
#                                    INNER_IOMMUFD=1); TAP to /out/$INNER_TAP
#                                    (inner-guest.tap), consoles in /out

INNER_TIMEOUT=${INNER_TIMEOUT:-480}
# INNER_APPEND adds to the inner kernel's command line; INNER_NO_TRACE=1
# boots without our trace events (bench/viommu.sh, for any QEMU).
# Another QEMU (Debian's /usr/bin/qemu-system-x86_64) for comparisons.
INNER_QEMU=${INNER_QEMU:-$BUILD/qemu/build/qemu-system-x86_64}

# inner_boot VARIANT: runs the inner guest; its serial console, stderr,
# exit code and vfio trace end up in /out/inner-VARIANT.{console,log,rc,trace}.
# no_timer_check: under TCG in TCG the kernel's IO-APIC timer check can
# take too long and panic.
inner_boot() {
    # The iommufd and viommu variants' guests see what the msix one sees
    _in_irq=msix
    [ "$1" != intx ] || _in_irq=intx
    _in_append="console=ttyS0 panic=-1 no_timer_check inner_irq=$_in_irq"
    [ "$1" = intx ] && _in_append="$_in_append pci=nomsi"
    _in_append="$_in_append ${INNER_APPEND:-}"
    _in_trace="-trace vfio_* -trace -vfio_bar_read -trace -vfio_bar_write
               -trace -vfio_pci_read_config"
    [ -z "${INNER_NO_TRACE:-}" ] || _in_trace=""
    _in_dev="vfio-pci,host=$VFIO_NVME"
    _in_obj=""
    if [ "$1" = viommu ]; then
        _in_append="$_in_append intel_iommu=on iommu.strict=1"
        _in_obj="-device intel-iommu,caching-mode=on"
        if [ -n "${INNER_IOMMUFD:-}" ]; then
            _in_obj="$_in_obj -object iommufd,id=ifd0"
            _in_dev="$_in_dev,iommufd=ifd0"
        fi
    fi
    if [ "$1" = iommufd ]; then
        _in_cdev=$(ls "/sys/bus/pci/devices/$VFIO_NVME/vfio-dev")
        _in_obj="-object iommufd,id=ifd0,fd=3"
        _in_dev="vfio-pci,fd=4,iommufd=ifd0"
    fi
    _in_start=$(date +%s)
    echo "inner: booting the inner guest ($1) with -device $_in_dev"
    _in_rc=0
    # fd= for the iommufd variant: the fds QEMU inherits (3 and 4)
    [ "$1" != iommufd ] ||
        exec 3<>/dev/iommu 4<>"/dev/vfio/devices/$_in_cdev"
    # Per-access events would make the trace huge; keep the rest.
    set -f
    # shellcheck disable=SC2086
    rig_in_chroot timeout "$INNER_TIMEOUT" "$INNER_QEMU" \
        -nodefaults -machine q35 -accel tcg -smp 1 -m 256 \
        -display none -no-reboot -serial "file:/run/inner-$1.console" \
        -msg timestamp=on \
        -kernel "$BUILD/rig/inner-vmlinuz" -initrd "$BUILD/rig/inner-initrd.gz" \
        -append "$_in_append" \
        $_in_obj -device "$_in_dev" \
        $_in_trace -D "/run/inner-$1.trace" > "/out/inner-$1.log" 2>&1 ||
        _in_rc=$?
    set +f
    [ "$1" != iommufd ] || exec 3<&- 4<&-
    echo "$_in_rc" > "/out/inner-$1.rc"
    cp "$RIG_HOST/run/inner-$1.console" "$RIG_HOST/run/inner-$1.trace" /out/ || true
    echo "inner: $1: qemu exited $_in_rc after $(($(date +%s) - _in_start))s"
}

# inner_seen VARIANT REGEX: the inner console has a line matching REGEX.
inner_seen() { grep -q "$2" "/out/inner-$1.console" 2>/dev/null; }

# The inner guest reached its verdict and QEMU exited by itself.
inner_finished() {
    [ "$(cat "/out/inner-$1.rc")" = 0 ] && inner_seen "$1" '^INNER: \(PASS\|FAIL\)'
}

# The inner kernel died before its /init ran, so before the nvme driver or
# anything of ours but the firmware's PCI scan touched the device: the rare
# early-boot crashes of a kernel under TCG inside TCG (double fault,
# text_poke_early).
inner_early_crash() {
    ! inner_seen "$1" '^INNER: init at' &&
        inner_seen "$1" 'Kernel panic\|double fault\|Oops'
}

inner_guest_variant() {
    RIG_TAP_FAILED=0
    inner_boot "$1"
    if inner_early_crash "$1"; then
        echo "inner: $1: the inner kernel died before its /init; booting again"
        mv "/out/inner-$1.console" "/out/inner-$1.first-boot.console"
        inner_boot "$1"
    fi
    grep '^INNER: ' "/out/inner-$1.console" 2>/dev/null || true
    case $1 in
    msix|iommufd|viommu) _in_irq="PCI-MSIX" ;;
    intx) _in_irq="IO-APIC (INTx, pci=nomsi)" ;;
    esac
    _in_t="vfio-pci/rig/inner/$1"
    rig_tap "$_in_t: the inner guest reached its verdict and powered off" \
        inner_finished "$1"
    rig_tap "$_in_t: the inner nvme driver found \"QEMU NVMe Ctrl\"" \
        inner_seen "$1" '^INNER: model=QEMU NVMe Ctrl'
    rig_tap "$_in_t: the inner guest has the nvme's 4 KiB of config space" \
        inner_seen "$1" '^INNER: config ok'
    rig_tap "$_in_t: blocks written, caches dropped, read back equal" \
        inner_seen "$1" '^INNER: io ok'
    rig_tap "$_in_t: nvme interrupts counting on $_in_irq" \
        inner_seen "$1" '^INNER: irq ok'
    rig_tap "$_in_t: PASS" inner_seen "$1" '^INNER: PASS'
    [ "$1" != viommu ] || inner_viommu_checks
    if [ "$RIG_TAP_FAILED" = 1 ]; then
        rig_tap_note "last 30 lines of the inner console ($1):"
        rig_tap_note "$(tail -n 30 "/out/inner-$1.console" 2>/dev/null)"
        rig_tap_note "$(tail -n 5 "/out/inner-$1.log")"
    fi
}

# inner_trace_count REGEX: the lines of the viommu variant's trace matching
inner_trace_count() { grep -c "$1" /out/inner-viommu.trace 2>/dev/null || true; }

inner_viommu_counts() {
    _in_maps=$(inner_trace_count 'vfio_viommu_map ')
    _in_unmaps=$(inner_trace_count 'vfio_viommu_unmap ')
    _in_failed=$(inner_trace_count 'vfio_viommu_map_failed')
    echo "inner: viommu: $_in_maps host maps, $_in_unmaps unmaps," \
        "$_in_failed failed"
    [ "$_in_maps" -gt 0 ] && [ "$_in_unmaps" -gt 0 ] && [ "$_in_failed" = 0 ]
}

# The host maps followed the inner kernel's: its IOMMU on (the IOMMU
# region's notifier registered), each DMA map made and unmapped again
inner_viommu_checks() {
    _in_t="vfio-pci/rig/inner/viommu"
    rig_tap "$_in_t: the inner kernel turned its IOMMU on in front of the nvme" \
        grep -q 'vfio_viommu_region_add' /out/inner-viommu.trace
    rig_tap "$_in_t: host maps and unmaps followed the inner kernel's" \
        inner_viommu_counts
}

inner_guest_tests() {
    [ $# -gt 0 ] || set -- msix
    _in_n=0
    for _in_v in "$@"; do
        _in_n=$((_in_n + 6))
        [ "$_in_v" != viommu ] || _in_n=$((_in_n + 2))
    done
    rig_tap_plan "${INNER_TAP:-inner-guest.tap}" "$_in_n"
    for _in_v in "$@"; do
        inner_guest_variant "$_in_v"
    done
}
