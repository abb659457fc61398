# SPDX-License-Identifier: GPL-2.0-or-later
#
# Helpers for rig guest scripts (sourced; busybox sh, in the rig guest,
# before chroot).  tests/rig/run.sh sets REPO and BUILD at the top of the
# guest script; the host root is at /host.
#
#   rig_bind_all        check the rig's devices and bind them to vfio-pci;
#                       exports VFIO_EDU, VFIO_E1000E, VFIO_NVME, VFIO_XHCI,
#                       VFIO_RP_NIC0, VFIO_RP_NVME, VFIO_NVME_PF, VFIO_WDT,
#                       VFIO_VGA (the rig's std VGA, for x-vga)
#   rig_chroot_prepare  make /host usable as a chroot (idempotent)
#   rig_nvme_driver     load the host's nvme driver
#   rig_kvm_load        load KVM (on the rig's emulated SVM)
#   rig_in_chroot CMD   run CMD in the host root; exported variables pass
#                       through, with TMPDIR=/run and a standard PATH
#   rig_qtest NAME ARGS run our qtest NAME in the host root, with VFIO_RIG=1
#   rig_qtests PREFIX NAME...  qtests to TAP files /out/PREFIXNAME.tap
#   rig_tap_plan FILE N start the TAP file /out/FILE with a plan of N tests
#   rig_tap DESC CMD    run CMD; add "ok"/"not ok" DESC to the TAP file
#                       (a failure sets RIG_TAP_FAILED=1, never stops sh -e)
#   rig_tap_note TEXT   add TEXT (every line) to the TAP file as comments
#   rig_tap_skip DESC WHY  add "ok ... # SKIP WHY": a test that cannot run here
#   rig_outer NAME JSON the rig's own QEMU runs the QMP command JSON ("@DIR@"
#                       in it is /out, as the host sees it); its reply is
#                       in /out/requests/NAME.reply.  Fails after 120 s.

: "${REPO:?REPO not set: run guest scripts through tests/rig/run.sh}"
RIG_HOST=/host
# Devices of the rig, as tests/rig/run.sh places them: VAR=BDF=VENDOR:DEVICE.
RIG_DEVICES="VFIO_VGA=0000:00:01.0=1234:1111
 VFIO_EDU=0000:00:02.0=1234:11e8
 VFIO_E1000E=0000:00:03.0=8086:10d3
 VFIO_NVME=0000:00:04.0=1b36:0010
 VFIO_XHCI=0000:00:05.0=1033:0194
 VFIO_RP_NIC0=0000:01:00.0=8086:10d3
 VFIO_RP_NVME=0000:01:00.1=1b36:0010
 VFIO_NVME_PF=0000:00:09.0=1b36:0010
 VFIO_WDT=0000:00:0a.0=8086:25ab"

rig_log() { echo "rig: $*"; }

# scripts/bind-vfio.sh of this clone, run from outside the chroot.
rig_bind_vfio() { sh "$RIG_HOST$REPO/scripts/bind-vfio.sh" "$@"; }

# rig_check_id BDF VENDOR:DEVICE
rig_check_id() {
    _rig_d=/sys/bus/pci/devices/$1
    if [ ! -e "$_rig_d" ]; then
        rig_log "error: no device at $1"
        return 1
    fi
    _rig_id=$(sed 's/^0x//' "$_rig_d/vendor"):$(sed 's/^0x//' "$_rig_d/device")
    if [ "$_rig_id" != "$2" ]; then
        rig_log "error: $1 is $_rig_id, expected $2"
        return 1
    fi
}

rig_bind_all() {
    for _rig_x in $RIG_DEVICES; do
        _rig_r=${_rig_x#*=}
        rig_check_id "${_rig_r%%=*}" "${_rig_r#*=}" || return 1
    done
    for _rig_x in $RIG_DEVICES; do
        _rig_r=${_rig_x#*=}
        rig_bind_vfio bind "${_rig_r%%=*}" || return 1
    done
    for _rig_x in $RIG_DEVICES; do
        _rig_r=${_rig_x#*=}
        export "${_rig_x%%=*}=${_rig_r%%=*}"
    done
}

# rig_insmod MODULE...: loads the initrd's modules that are not loaded yet
rig_insmod() {
    for _rig_m in "$@"; do
        grep -q "^$(echo "$_rig_m" | tr - _) " /proc/modules ||
            insmod "/mods/$_rig_m.ko" || return 1
    done
}

# The host's nvme driver (its modules are in the initrd, not loaded at boot)
rig_nvme_driver() { rig_insmod nvme-auth nvme-core nvme; }

# KVM in the rig: the rig's TCG emulates AMD's SVM with nested paging, and
# KVM on it runs an inner guest six times faster than TCG inside TCG does.
# Debian's kernel has it as modules (kvm-amd wants ccp's SEV symbols), the
# rig kernel built in.  Fails where /dev/kvm is still missing.
rig_kvm_load() {
    [ -e /dev/kvm ] || [ ! -e /proc/modules ] || rig_insmod kvm ccp kvm-amd
    [ -e /dev/kvm ]
}

rig_mounted() { grep -q " $1 " /proc/mounts; }

# rig_mount DIR MOUNT-ARGS...: mounts unless DIR is a mount point already.
rig_mount() {
    _rig_dir=$1
    shift
    rig_mounted "$_rig_dir" || mount "$@" "$_rig_dir"
}

rig_chroot_prepare() {
    rig_mount "$RIG_HOST/proc" -o bind /proc
    rig_mount "$RIG_HOST/sys" -o bind /sys
    rig_mount "$RIG_HOST/dev" -o bind /dev
    mkdir -p "$RIG_HOST/dev/pts"
    rig_mount "$RIG_HOST/dev/pts" -t devpts devpts
    rig_mount "$RIG_HOST/run" -t tmpfs tmpfs
    # bind-vfio.sh's records, so that it can restore from inside too.
    mkdir -p /run/bind-vfio "$RIG_HOST/run/bind-vfio"
    rig_mount "$RIG_HOST/run/bind-vfio" -o bind /run/bind-vfio
}

rig_in_chroot() {
    TMPDIR=/run HOME=/run \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        chroot "$RIG_HOST" "$@"
}

rig_qtest() {
    rig_in_chroot env VFIO_RIG=1 QTEST_QEMU_BINARY=./qemu-system-x86_64 \
        sh -c 'cd "$1" && t=$2 && shift 2 && \
               exec timeout 600 "./tests/qtest/$t" "$@"' \
        sh "$BUILD/qemu/build" "$@"
}

# rig_qtests PREFIX NAME...: each qtest NAME to /out/PREFIXNAME.tap
# (qtest_tap, tests/qtest-tap.sh); fails when any test of them failed
rig_qtests() {
    _rig_p=$1
    shift
    _rig_rc=0
    for _rig_t in "$@"; do
        echo "rig: running $_rig_t${VFIO_BACKEND:+ on $VFIO_BACKEND}"
        qtest_tap "/out/$_rig_p$_rig_t.tap" rig_qtest "$_rig_t"
        ! grep -q '^not ok' "/out/$_rig_p$_rig_t.tap" || _rig_rc=1
    done
    return $_rig_rc
}

rig_tap_plan() {
    RIG_TAP=/out/$1
    RIG_TAP_N=0
    RIG_TAP_FAILED=0
    echo "1..$2" > "$RIG_TAP"
}

rig_tap() {
    _rig_desc=$1
    shift
    RIG_TAP_N=$((RIG_TAP_N + 1))
    if "$@"; then
        echo "ok $RIG_TAP_N - $_rig_desc" | tee -a "$RIG_TAP"
        return 0
    fi
    echo "not ok $RIG_TAP_N - $_rig_desc" | tee -a "$RIG_TAP"
    RIG_TAP_FAILED=1
}

rig_tap_note() { printf '%s\n' "$*" | sed 's/^/# /' | tee -a "$RIG_TAP"; }

rig_tap_skip() {
    RIG_TAP_N=$((RIG_TAP_N + 1))
    echo "ok $RIG_TAP_N - $1 # SKIP $2" | tee -a "$RIG_TAP"
}

rig_outer() {
    mkdir -p /out/requests
    printf '%s\n' "$2" > "/out/requests/$1.tmp"
    mv "/out/requests/$1.tmp" "/out/requests/$1.json"
    _rig_n=0
    while [ ! -f "/out/requests/$1.reply" ]; do
        _rig_n=$((_rig_n + 1))
        [ "$_rig_n" -lt 600 ] || { rig_log "error: no reply to $1"; return 1; }
        sleep 0.2
    done
    ! grep -q '"error"' "/out/requests/$1.reply"
}
