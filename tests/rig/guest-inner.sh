# SPDX-License-Identifier: GPL-2.0-or-later
# Rig guest step (sourced after guest-lib.sh and rig_bind_all,
# rig_chroot_prepare): our QEMU boots the inner guest built by
# make-inner-initrd.sh with the rig's nvme assigned by our vfio-pci, and a
# real Linux nvme driver writes, reads back and compares blocks on it.
#
#   inner_kvm                        the inner guests below (but the
#                                    hammer's) on the rig's KVM, where
#                                    it runs a guest
#   inner_guest_tests [VARIANT...]   msix (default), intx (the inner
#                                    kernel gets pci=nomsi; after msix,
#                                    msix's guest rebinds its driver with
#                                    MSI off instead of booting), iommufd
#                                    (MSI-X, the device on the iommufd
#                                    backend, QEMU given only fds of
#                                    /dev/iommu and the cdev, as libvirt
#                                    does) and/or viommu (MSI-X, behind our
#                                    QEMU's intel-iommu, which the inner
#                                    kernel runs: intel_iommu=on, strict
#                                    unmaps; on an iommufd object with
#                                    INNER_IOMMUFD=1); TAP to /out/$INNER_TAP
#                                    (inner-guest.tap), consoles in /out;
#                                    the variant INNER_VMEM names also has
#                                    a virtio-mem device the host resizes
#   inner_remove_test                the host removes the nvme while the
#                                    inner guest reads it (inner-remove.tap)
#   inner_hammer_test                the rig's edu, -smp 2 on multi-threaded
#                                    TCG: BAR0 hammered by one vCPU while the
#                                    other toggles Memory Space Enable
#                                    (inner-hammer.tap)

INNER_TIMEOUT=${INNER_TIMEOUT:-480}
# INNER_APPEND adds to the inner kernel's command line; INNER_NO_TRACE=1
# boots without our trace events (bench/viommu.sh, for any QEMU);
# INNER_WRAP runs QEMU under a command, e.g. "gdb -batch -ex run -ex bt
# --args" to see where it crashed; INNER_FAST_KERNEL (the rig kernel, where
# it is built) boots the hammer and display guests in half the time, as
# they need no driver of Debian's.
# Another QEMU (Debian's /usr/bin/qemu-system-x86_64) for comparisons.
INNER_QEMU=${INNER_QEMU:-$BUILD/qemu/build/qemu-system-x86_64}
# INNER_ACCEL: the inner guests' accelerator (inner_kvm sets it), TCG
# where unset.

# inner_kvm: the inner guests run on the rig's KVM (rig_kvm_load) when a
# guest runs on it there: our QEMU with SeaBIOS alone for 3 s, no error.
# Else they stay on TCG and the log says why; INNER_ACCEL=tcg keeps TCG.
# On KVM our QEMU wires the interrupts through KVM's irqfds, as on a host.
inner_kvm() {
    [ "${INNER_ACCEL:-}" != tcg ] || return 0
    if ! rig_kvm_load; then
        rig_log "inner guests on TCG: the rig has no /dev/kvm"
        return 0
    fi
    _in_rc=0
    rig_in_chroot timeout 3 "$INNER_QEMU" -accel kvm -M q35 -nodefaults \
        -display none -no-reboot > /run/inner-kvm.log 2>&1 || _in_rc=$?
    # Still running when the 3 s were up
    if grep -q 'terminating on signal' /run/inner-kvm.log &&
       ! grep -v 'terminating on signal' /run/inner-kvm.log | grep -q .; then
        export INNER_ACCEL=kvm
        rig_log "inner guests on the rig's KVM"
    else
        rig_log "inner guests on TCG: a guest on the rig's KVM failed" \
            "($_in_rc): $(cat /run/inner-kvm.log)"
    fi
}

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
    [ "$1:${INNER_INTX_PHASE:-}" != msix:1 ] ||
        _in_append="$_in_append inner_then=intx"
    _in_append="$_in_append ${INNER_APPEND:-}"
    _in_trace="-trace vfio_* -trace -vfio_bar_read -trace -vfio_bar_write
               -trace -vfio_pci_read_config"
    [ -z "${INNER_NO_TRACE:-}" ] || _in_trace=""
    _in_dev="vfio-pci,host=$VFIO_NVME"
    _in_obj=""
    _in_cpus="-accel ${INNER_ACCEL:-tcg} -smp 1"
    _in_mem=256
    _in_kernel=$BUILD/rig/inner-vmlinuz
    _in_timeout=$INNER_TIMEOUT
    # The MSI-X table and PBA in a BAR of their own: nvme's BAR0 mmap'd whole
    [ "$1" != msix-reloc ] || _in_dev="$_in_dev,x-msix-relocation=auto"
    if [ "$1" = remove ]; then
        _in_obj="-device pcie-root-port,id=rp1,chassis=1"
        _in_dev="vfio-pci,host=$VFIO_NVME,bus=rp1"
        _in_append="$_in_append inner_mode=remove"
    fi
    if [ "$1" = soak ]; then
        _in_obj="-device pcie-root-port,id=rp1,chassis=1
                 -device vfio-pci,host=$VFIO_EDU,id=edu,bus=rp1
                 -qmp unix:/run/soak.qmp,server=on,wait=off"
        _in_append="$_in_append inner_mode=soak inner_count=$INNER_SOAK_S"
        _in_trace=""
    fi
    if [ "$1" = hammer ]; then
        _in_cpus="-accel tcg,thread=multi -smp 2"
        _in_dev="vfio-pci,host=$VFIO_EDU"
        _in_append="$_in_append inner_mode=hammer inner_count=$INNER_HAMMER_COUNT"
        _in_append="$_in_append inner_seconds=$INNER_HAMMER_SECONDS"
        _in_trace="-trace vfio_fast_path_swap"
        _in_kernel=${INNER_FAST_KERNEL:-$_in_kernel}
        _in_timeout=$INNER_HAMMER_TIMEOUT
    fi
    if [ "$1" = viommu ]; then
        _in_append="$_in_append intel_iommu=on iommu.strict=1"
        _in_obj="-device intel-iommu,caching-mode=on"
        if [ -n "${INNER_IOMMUFD:-}" ]; then
            _in_obj="$_in_obj -object iommufd,id=ifd0"
            _in_dev="$_in_dev,iommufd=ifd0"
        fi
    fi
    _in_display=none
    case $1 in
    vga-x|vga)
        _in_kernel=${INNER_FAST_KERNEL:-$_in_kernel}
        _in_dev="vfio-pci,host=$VFIO_VGA"
        # SeaBIOS's boot menu prompt keeps its text on screen for 8 s
        [ "$1" = vga ] || _in_dev="$_in_dev,x-vga=on,romfile=$DISPLAY_VGABIOS" \
            _in_obj="-boot menu=on,splash-time=8000"
        _in_append="$_in_append inner_mode=vga"
        ;;
    vgpu)
        # The rig kernel: mdpy-fb and bochs-drm are built in
        _in_kernel=$RIG_KERNEL
        _in_dev="vfio-pci,sysfsdev=/sys/bus/mdev/devices/$VFIO_MDPY,display=on,id=mdpy"
        # SeaBIOS's boot menu prompt keeps ramfb's text on screen for 8 s
        _in_obj="-device vfio-pci-nohotplug,sysfsdev=/sys/bus/mdev/devices/$VFIO_MBOCHS,display=on,ramfb=on,xres=1024,yres=768,id=mbochs
                 -qmp unix:/run/inner-vgpu.qmp,server=on,wait=off
                 -boot menu=on,splash-time=8000"
        _in_append="$_in_append inner_mode=display"
        # mbochs's dma-bufs need OpenGL: the rig kernel's vgem is its GPU
        # (guest-display.sh says why it is off by default)
        [ "${VFIO_EGL_DMABUF:-}" != 1 ] ||
            _in_display=egl-headless,rendernode=/dev/dri/renderD128
        ;;
    esac
    if [ "$1" = iommufd ]; then
        _in_cdev=$(ls "/sys/bus/pci/devices/$VFIO_NVME/vfio-dev")
        _in_obj="-object iommufd,id=ifd0,fd=3"
        _in_dev="vfio-pci,fd=4,iommufd=ifd0"
    fi
    _in_wrap=${INNER_WRAP:-}
    [ "$1" != "${INNER_VMEM:-}" ] || inner_vmem_args "$1"
    _in_start=$(date +%s)
    echo "inner: booting the inner guest ($1, $_in_cpus) with -device $_in_dev"
    _in_rc=0
    # fd= for the iommufd variant: the fds QEMU inherits (3 and 4)
    [ "$1" != iommufd ] ||
        exec 3<>/dev/iommu 4<>"/dev/vfio/devices/$_in_cdev"
    # Per-access events would make the trace huge; keep the rest.
    set -f
    # shellcheck disable=SC2086
    rig_in_chroot timeout "$_in_timeout" $_in_wrap "$INNER_QEMU" \
        -nodefaults -machine q35 $_in_cpus -m "$_in_mem" \
        -display "$_in_display" -no-reboot -serial "file:/run/inner-$1.console" \
        -msg timestamp=on \
        -kernel "$_in_kernel" -initrd "$BUILD/rig/inner-initrd.gz" \
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

# inner_boot, and once more when the inner kernel died before its /init
inner_boot_retried() {
    inner_boot "$1"
    if inner_early_crash "$1"; then
        echo "inner: $1: the inner kernel died before its /init; booting again"
        mv "/out/inner-$1.console" "/out/inner-$1.first-boot.console"
        inner_boot "$1"
    fi
}

# The msix variant's boot went on with the intx one (INNER_INTX_PHASE=1,
# inner_then=intx): the intx variant's console is what came after
# "phase intx", and its QEMU's exit is the msix variant's.
inner_intx_phase() {
    sed -n '/^INNER: phase intx/,$p' /out/inner-msix.console \
        > /out/inner-intx.console 2>/dev/null || true
    cp /out/inner-msix.rc /out/inner-intx.rc 2>/dev/null ||
        echo 1 > /out/inner-intx.rc
    cp /out/inner-msix.log /out/inner-intx.log 2>/dev/null || true
}

inner_guest_variant() {
    RIG_TAP_FAILED=0
    if [ "$1:${INNER_INTX_PHASE:-}" = intx:1 ]; then
        inner_intx_phase
    elif [ "$1" = "${INNER_VMEM:-}" ]; then
        # Not the last boot's "ready"
        rm -f "$RIG_HOST/run/inner-$1.console"
        inner_boot_retried "$1" &
        _in_bgv=$!
        inner_vmem_drive "$1" "$_in_bgv"
        wait "$_in_bgv" || true
    else
        inner_boot_retried "$1"
    fi
    grep '^INNER: ' "/out/inner-$1.console" 2>/dev/null || true
    case $1 in
    msix|iommufd|viommu|msix-reloc) _in_irq="PCI-MSIX" ;;
    intx) _in_irq="IO-APIC (INTx, pci=nomsi)" ;;
    esac
    [ "$1:${INNER_INTX_PHASE:-}" != intx:1 ] ||
        _in_irq="IO-APIC (INTx, the driver bound again with MSI off)"
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
    if [ "${INNER_ACCEL:-tcg}" = kvm ]; then
        rig_tap "$_in_t: the interrupts went through KVM's irqfds" \
            inner_irq_path "$1"
    else
        rig_tap_skip "$_in_t: the interrupts went through KVM's irqfds" \
            "the inner guests run on TCG here"
    fi
    rig_tap "$_in_t: PASS" inner_seen "$1" '^INNER: PASS'
    [ "$1" != viommu ] || inner_viommu_checks
    [ "$1" != msix-reloc ] || inner_reloc_checks
    [ "$1" != "${INNER_VMEM:-}" ] || inner_vmem_checks
    if [ "$RIG_TAP_FAILED" = 1 ]; then
        rig_tap_note "last 30 lines of the inner console ($1):"
        rig_tap_note "$(tail -n 30 "/out/inner-$1.console" 2>/dev/null)"
        rig_tap_note "$(tail -n 5 "/out/inner-$1.log")"
    fi
}

# inner_irq_path VARIANT: on KVM each vector was wired to the guest
# through a KVM irqfd, none through our QEMU's handler, and INTx went
# through an irqfd and its resamplefd in the end (before the firmware
# routes the pin it goes through QEMU: docs/vfio-pci.rst's INTx); the
# intx phase's are in the msix variant's trace
inner_irq_path() {
    _in_re='vfio_msi_path .* via'
    [ "$1" != intx ] || _in_re='vfio_intx_path .* INTx via'
    _in_tr=/out/inner-$1.trace
    [ "$1:${INNER_INTX_PHASE:-}" != intx:1 ] || _in_tr=/out/inner-msix.trace
    grep "$_in_re" "$_in_tr" > /run/inner-irq-paths 2>/dev/null || return 1
    rig_tap_note "$(sed 's/^[^:]*:vfio/vfio/' /run/inner-irq-paths | sort | uniq -c)"
    if [ "$1" = intx ]; then
        tail -n 1 /run/inner-irq-paths | grep -q 'via kvm$'
    else
        ! grep -q 'via userspace' /run/inner-irq-paths
    fi
}

# x-msix-relocation=auto: the table went to a new BAR, and the BAR it left
# is one mmap from its start to its end.
inner_reloc_checks() {
    _in_tr=/out/inner-msix-reloc.trace
    _in_t=vfio-pci/rig/inner/msix-reloc
    rig_tap "$_in_t: the MSI-X table and PBA moved to a BAR of their own" \
        grep -q 'vfio_msix_relocated .*moved to BAR 2' "$_in_tr"
    read -r _in_lo _in_hi _in_flags \
        < "/sys/bus/pci/devices/$VFIO_NVME/resource"
    _in_size=$(printf "0x%x" $((_in_hi - _in_lo + 1)))
    rig_tap "$_in_t: nvme's BAR0 is one mmap of all its $_in_size bytes" \
        grep -q "vfio_bar_mmap .*BAR 0 mmap at 0x0 size $_in_size" "$_in_tr"
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

INNER_HAMMER_COUNT=${INNER_HAMMER_COUNT:-1000}
INNER_HAMMER_SECONDS=${INNER_HAMMER_SECONDS:-30}
INNER_HAMMER_MIN=${INNER_HAMMER_MIN:-100}
INNER_HAMMER_TIMEOUT=${INNER_HAMMER_TIMEOUT:-300}

# The BAR mmaps under two vCPUs (multi-threaded TCG): the inner guest's
# bar-hammer toggles the edu's Memory Space Enable INNER_HAMMER_COUNT
# times while its other vCPU hammers BAR0; our QEMU runs on to the end.
# The toggles also stop after INNER_HAMMER_SECONDS (1000 take about 30 s
# here): how soon the toggling vCPU gets the BQL from the hammering one
# depends on the host's load, and the test must not depend on it.
inner_hammer_toggles() {
    sed -n 's/^INNER: hammer ok: \([0-9]*\) toggles.*/\1/p' \
        /out/inner-hammer.console 2>/dev/null | tail -n 1
}

# The inner guest hung after its toggles (1 in 4 runs or so, seen in both
# boots; bar-hammer.c says what is known) while QEMU ran on: the swaps
# are all in the trace, no result line came, and QEMU was alive to take
# the timeout's SIGTERM and exit by itself (0 or 124; a crash is 128 up).
inner_hammer_hung() {
    case $(cat /out/inner-hammer.rc 2>/dev/null) in 0|124) ;; *) return 1 ;; esac &&
        ! inner_seen hammer '^INNER: hammer ' &&
        [ "$(inner_hammer_swaps)" -ge $((2 * INNER_HAMMER_MIN)) ]
}

inner_hammer_swaps() {
    grep -c 'vfio_fast_path_swap' /out/inner-hammer.trace 2>/dev/null || true
}

inner_hammer_ran_on() {
    inner_finished hammer && return 0
    inner_hammer_hung || return 1
    rig_tap_note "the inner guest hung after its toggles (known, see" \
        "tests/rig/bar-hammer.c); QEMU ran on until the timeout stopped it"
}

inner_hammer_toggled() {
    _in_toggles=$(inner_hammer_toggles)
    if [ -z "$_in_toggles" ] && inner_hammer_hung; then
        _in_toggles=$(($(inner_hammer_swaps) / 2))
    fi
    [ "${_in_toggles:-0}" -ge "$INNER_HAMMER_MIN" ]
}

# Each toggle takes the mmaps away and brings them back: two swaps
inner_hammer_counts() {
    _in_swaps=$(inner_hammer_swaps)
    echo "inner: hammer: $_in_swaps swaps of the BAR mmaps"
    [ "$_in_swaps" -ge $((2 * ${_in_toggles:-1})) ]
}

inner_hammer_test() {
    rig_tap_plan inner-hammer.tap 3
    inner_boot_retried hammer
    grep '^INNER: ' /out/inner-hammer.console 2>/dev/null || true
    _in_t="vfio-pci/rig/inner/hammer"
    rig_tap "$_in_t: QEMU ran on until the guest powered off" \
        inner_hammer_ran_on
    rig_tap "$_in_t: at least $INNER_HAMMER_MIN toggles of Memory Space Enable" \
        inner_hammer_toggled
    rig_tap "$_in_t: the mmaps left and came back with decoding" \
        inner_hammer_counts
    _in_note=$(grep '^INNER: hammer: ' /out/inner-hammer.console 2>/dev/null) ||
        true
    [ -z "$_in_note" ] || rig_tap_note "$_in_note"
    if [ "$RIG_TAP_FAILED" = 1 ]; then
        rig_tap_note "last 30 lines of the inner console (hammer):"
        rig_tap_note "$(tail -n 30 /out/inner-hammer.console 2>/dev/null)"
        rig_tap_note "$(tail -n 5 /out/inner-hammer.log)"
    fi
}

# The pid of the inner QEMU that runs (busybox has no pgrep)
inner_qemu_pid() {
    for _in_p in /proc/[0-9]*; do
        if [ "$(cat "$_in_p/comm" 2>/dev/null)" = qemu-system-x86 ]; then
            echo "${_in_p#/proc/}"
            return 0
        fi
    done
    return 1
}

# inner_no_group_fd PID GROUP: the process runs and holds no fd of
# /dev/vfio/GROUP
inner_no_group_fd() {
    [ -n "$1" ] && [ -d "/proc/$1/fd" ] &&
        ! ls -l "/proc/$1/fd" | grep -q "/dev/vfio/$2\$"
}

# inner_wait_for VARIANT REGEX [PID]: waits (up to 600 s) for the running
# inner guest VARIANT to say REGEX, and no longer once PID (the shell that
# boots it) has ended; its console so far is in /out meanwhile
inner_wait_for() {
    _in_i=0
    until grep -q "$2" "$RIG_HOST/run/inner-$1.console" 2>/dev/null; do
        [ $_in_i -lt 600 ] || return 1
        [ -z "${3:-}" ] || kill -0 "$3" 2>/dev/null || return 1
        [ $((_in_i % 10)) != 0 ] ||
            cp "$RIG_HOST/run/inner-$1.console" /out/ 2>/dev/null || true
        sleep 1
        _in_i=$((_in_i + 1))
    done
}

# The kernel detached the group with its last device, and the IOMMU's maps
# with it: QEMU has nothing to undo, and says no error of it.
inner_remove_quiet() {
    ! grep 'failed to unmap\|error disconnecting' /out/inner-remove.log
}

# The host takes the nvme back (its sysfs remove) while the inner guest
# reads it: the kernel's request reaches our QEMU, the inner guest's ACPI
# hot-plug lets the device go, the removal returns, and QEMU runs on
# without an fd of the group.  Last in a boot: the nvme is rescanned and
# bound back to vfio-pci.  An inner kernel that dies before its /init
# boots again (inner_boot_retried); the wait ends with the last boot.
inner_remove_test() {
    rig_tap_plan inner-remove.tap 5
    _in_t="vfio-pci/rig/inner/remove"
    _in_group=$(basename "$(readlink "/sys/bus/pci/devices/$VFIO_NVME/iommu_group")")
    inner_boot_retried remove &
    _in_bg=$!
    inner_wait_for remove '^INNER: remove: I/O running' "$_in_bg" ||
        rig_log "error: the inner guest's I/O never started"
    _in_qemu=$(inner_qemu_pid || true)
    _in_rm=0
    timeout 120 sh -c "echo 1 > /sys/bus/pci/devices/$VFIO_NVME/remove" ||
        _in_rm=$?
    rig_tap "$_in_t: the host's removal of the device returned" \
        [ "$_in_rm" = 0 ]
    rig_tap "$_in_t: QEMU holds no fd of group $_in_group any more" \
        inner_no_group_fd "$_in_qemu" "$_in_group"
    wait "$_in_bg" || true
    rig_tap "$_in_t: the inner guest saw its disk leave" \
        inner_seen remove '^INNER: remove: the disk left'
    rig_tap "$_in_t: QEMU ran on until the guest powered off" \
        inner_finished remove
    rig_tap "$_in_t: QEMU's teardown found the group detached, no error" \
        inner_remove_quiet
    if [ "$RIG_TAP_FAILED" = 1 ]; then
        rig_tap_note "last 30 lines of the inner console (remove):"
        rig_tap_note "$(tail -n 30 /out/inner-remove.console 2>/dev/null)"
        rig_tap_note "$(tail -n 5 /out/inner-remove.log)"
    fi
    echo 1 > /sys/bus/pci/rescan
    rig_bind_vfio bind "$VFIO_NVME" ||
        rig_log "error: cannot bind $VFIO_NVME back to vfio-pci"
}

# INNER_VMEM names the variant whose inner guest also has a virtio-mem
# device next to the nvme (on iommufd in the iommufd variant): after its
# nvme checks the host grows the device to 64 MiB, resizes it 16 times a
# second apart, asks for more than QEMU's locked memory limit lets it
# pin, then shrinks it to nothing, the guest's direct reads running.  Each
# plugged block is a map of its own, made on plug and gone on unplug, and
# the pinned memory follows; the refused plug is said once; the nvme's I/O
# passes at each size, a direct read landing in the plugged memory.
INNER_VMEM_MIB=$((1 << 20))

# inner_vmem_args VARIANT: inner_boot's arguments for it.  QEMU without
# CAP_IPC_LOCK, its memlock room for the boot RAM, its ROMs and 64 MiB
# more, not for 192 MiB.  Whole paths: the rig's busybox would run its own
# applets by name.
inner_vmem_args() {
    _in_mem="256M,slots=1,maxmem=1G"
    _in_obj="$_in_obj -object memory-backend-ram,id=vmem0,size=512M
             -device virtio-mem-pci,id=vm0,memdev=vmem0,block-size=2M
             -qmp unix:/run/inner-$1.qmp,server=on,wait=off"
    _in_append="$_in_append inner_vmem=1 memhp_default_state=online_movable"
    _in_wrap="/usr/bin/setpriv --bounding-set -ipc_lock --inh-caps -ipc_lock
              /usr/bin/prlimit --memlock=$(((256 + 16 + 64 + 32) * INNER_VMEM_MIB))"
    _in_timeout=$((INNER_TIMEOUT + 300))
}

inner_vmem_qmp() {
    rig_in_chroot python3 "$REPO/tests/rig/qmp.py" "/run/inner-$_in_vv.qmp" \
        "$@"
}

# How often the guest said its MemTotal settled at MIB more than at first
inner_vmem_lines() {
    grep -c "^INNER: vmem: at $((_in_base + $1)) MiB" \
        "$RIG_HOST/run/inner-$_in_vv.console" || true
}

# The arguments of a resize to MIB
inner_vmem_set() {
    echo "{\"path\": \"vm0\", \"property\": \"requested-size\",
          \"value\": $(($1 * INNER_VMEM_MIB))}"
}

inner_vmem_resize() {
    _in_before=$(inner_vmem_lines "$1")
    inner_vmem_qmp qom-set "$(inner_vmem_set "$1")" > /dev/null
}

# The plugged size in MiB, and what the inner QEMU pins in KiB
inner_vmem_size() {
    echo $(($(inner_vmem_qmp qom-get '{"path": "vm0", "property": "size"}') /
            INNER_VMEM_MIB))
}

inner_vmem_pinned() {
    awk -v f="$_in_pin:" '$1 == f { print $2 }' "/proc/$_in_qemu/status"
}

# inner_vmem_at MIB: after the last resize the guest's MemTotal settled
# at its base plus MIB, as much plugged, and what QEMU pins grew by as
# much since the start
inner_vmem_at() {
    _in_i=0
    until [ "$(inner_vmem_lines "$1")" -gt "$_in_before" ]; do
        [ $_in_i -lt 600 ] && kill -0 "$_in_bg" 2>/dev/null || return 1
        sleep 1
        _in_i=$((_in_i + 1))
    done
    _in_size=$(inner_vmem_size)
    _in_grew=$(($(inner_vmem_pinned) - _in_pinned0))
    echo "inner: vmem: $_in_size MiB plugged, $_in_pin grew $_in_grew KiB"
    [ "$_in_size" = "$1" ] && [ "$_in_grew" = $(($1 * 1024)) ]
}

# 16 resizes between 0 and 64 MiB a second apart (one QMP connection):
# the guest's driver unplugs and plugs as fast as it can, faster than the
# resizes come, its reads running; 64 MiB plugged and pinned after
inner_vmem_storm() {
    set --
    for _in_k in 1 2 3 4 5 6 7 8; do
        set -- "$@" qom-set "$(inner_vmem_set 0)" sleep 1 \
            qom-set "$(inner_vmem_set 64)" sleep 1
    done
    inner_vmem_qmp "$@" > /dev/null || return 1
    _in_i=0
    until [ "$(inner_vmem_size)" = 64 ] &&
          [ $(($(inner_vmem_pinned) - _in_pinned0)) = 65536 ]; do
        [ $_in_i -lt 120 ] && kill -0 "$_in_bg" 2>/dev/null || return 1
        sleep 2
        _in_i=$((_in_i + 1))
    done
    echo "inner: vmem: after the storm 64 MiB plugged, $_in_pin grew 64 MiB"
}

# Past the limit: the refusal said once; what is plugged (64 MiB, or more
# where a whole request of the guest's fitted) is what is pinned
inner_vmem_limited() {
    _in_i=0
    until grep -q 'cannot map the block' "/out/inner-$_in_vv.log"; do
        [ $_in_i -lt 120 ] || return 1
        sleep 1
        _in_i=$((_in_i + 1))
    done
    sleep 5
    _in_size=$(inner_vmem_size)
    _in_grew=$(($(inner_vmem_pinned) - _in_pinned0))
    echo "inner: vmem: asked for 192 MiB: $_in_size MiB plugged," \
        "$_in_pin grew $_in_grew KiB"
    [ "$_in_size" -ge 64 ] && [ "$_in_size" -lt 192 ] &&
        [ "$_in_grew" = $((_in_size * 1024)) ] &&
        [ "$(grep -c 'cannot map the block' "/out/inner-$_in_vv.log")" = 1 ]
}

# The most blocks mapped at once were the 64 MiB step's 32, and after the
# last unplug none was left (the RAM-discard trace events count them)
inner_vmem_maps_undone() {
    _in_tr=/out/inner-$_in_vv.trace
    _in_most=$(sed -n 's/.*vfio_ram_discard_populate .*, \([0-9]*\) blocks mapped$/\1/p' \
               "$_in_tr" | sort -n | tail -n 1)
    _in_last=$(grep 'vfio_ram_discard_' "$_in_tr" | tail -n 1)
    echo "inner: vmem: at most ${_in_most:-no} blocks mapped; last: $_in_last"
    [ "${_in_most:-0}" = 32 ] && echo "$_in_last" | grep -q ', 0 blocks mapped$'
}

# At 64 MiB plugged the direct read DMA'd into plugged memory, the I/O
# passed again once all was unplugged, and no read beside it all failed
inner_vmem_io_passed() {
    inner_seen "$_in_vv" "^INNER: vmem: at $((_in_base + 64)) MiB: io ok, direct read: [1-9][0-9]* of 256 pages above" &&
        inner_seen "$_in_vv" "^INNER: vmem: at $_in_base MiB: io ok" &&
        inner_seen "$_in_vv" "^INNER: vmem: [0-9]* reads beside it all, 0 failed"
}

# inner_vmem_drive VARIANT PID: the resizes, while PID boots VARIANT in
# the background, and their checks (4 TAP lines)
inner_vmem_drive() {
    _in_vv=$1
    _in_bg=$2
    _in_t=vfio-pci/rig/inner/$1/virtio-mem
    _in_pin=VmLck
    [ -z "${INNER_IOMMUFD:-}" ] || _in_pin=VmPin
    inner_wait_for "$1" '^INNER: vmem: ready' "$2" ||
        rig_log "error: the inner guest never got ready for virtio-mem"
    _in_base=$(sed -n 's/^INNER: vmem: ready, MemTotal \([0-9]*\) MiB.*/\1/p' \
               "$RIG_HOST/run/inner-$1.console")
    _in_base=${_in_base:-0}
    _in_qemu=$(inner_qemu_pid || true)
    _in_pinned0=$(inner_vmem_pinned)
    inner_vmem_resize 64
    rig_tap "$_in_t: 64 MiB plugged, as many mapped and pinned" \
        inner_vmem_at 64
    rig_tap "$_in_t: 16 resizes a second apart: 64 MiB plugged after" \
        inner_vmem_storm
    inner_vmem_resize 192
    rig_tap "$_in_t: past RLIMIT_MEMLOCK the plug is refused, said once" \
        inner_vmem_limited
    inner_vmem_resize 0
    rig_tap "$_in_t: all unplugged, nothing pinned for it any more" \
        inner_vmem_at 0
}

# After the guest of inner_vmem_drive powered off (2 TAP lines)
inner_vmem_checks() {
    _in_t=vfio-pci/rig/inner/$_in_vv/virtio-mem
    rig_tap "$_in_t: the nvme's I/O passed at each size, in plugged memory" \
        inner_vmem_io_passed
    rig_tap "$_in_t: every block map was undone" inner_vmem_maps_undone
}

inner_guest_tests() {
    [ $# -gt 0 ] || set -- msix
    _in_n=0
    # One boot for both: intx after msix, in the same inner guest
    INNER_INTX_PHASE=0
    for _in_v in "$@"; do
        case $_in_v:$INNER_INTX_PHASE in
        msix:0) INNER_INTX_PHASE=msix ;;
        intx:msix) INNER_INTX_PHASE=1 ;;
        esac
        _in_n=$((_in_n + 7))
        [ "$_in_v" != viommu ] || _in_n=$((_in_n + 2))
        [ "$_in_v" != msix-reloc ] || _in_n=$((_in_n + 2))
        [ "$_in_v" != "${INNER_VMEM:-}" ] || _in_n=$((_in_n + 6))
    done
    rig_tap_plan "${INNER_TAP:-inner-guest.tap}" "$_in_n"
    for _in_v in "$@"; do
        inner_guest_variant "$_in_v"
    done
}
